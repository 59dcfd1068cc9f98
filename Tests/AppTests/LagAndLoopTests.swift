import Metrics
import Synchronization
import Testing

@testable import App

@Suite struct LagTrackerTests {
    static let baseMs: Int64 = 1_763_899_200_000

    /// `commitAgeMs`: how old the newest consumed commit is at each sample.
    func partition(position: Int64, end: Int64, atMs: Int64 = 0, commitAgeMs: Int64 = 0) -> PartitionLag {
        PartitionLag(
            topic: "t", partition: 0, committed: position, position: position, highWatermark: end,
            lastCommitTimeMs: commitAgeMs > 0 ? atMs - commitAgeMs : 0)
    }

    func verdict(
        _ samples: [(position: Int64, end: Int64)], commitAgeMs: Int64 = 60_000,
        thresholds: LagThresholds = LagThresholds()
    ) -> LagVerdict {
        var tracker = LagTracker()
        tracker.thresholds = thresholds
        for (i, s) in samples.enumerated() {
            let t = Self.baseMs + Int64(i) * 1_000
            tracker.record([partition(position: s.position, end: s.end, atMs: t, commitAgeMs: commitAgeMs)], atMs: t)
        }
        let last = samples.last!
        let t = Self.baseMs + Int64(samples.count - 1) * 1_000
        return tracker.insight(
            for: partition(position: last.position, end: last.end, atMs: t, commitAgeMs: commitAgeMs), nowMs: t
        ).verdict
    }

    @Test func laggingNeedsMessagesAndSecondsForEverySampleOfTheDebounce() {
        // 90k behind and the newest consumed commit a minute old, for 10 samples: LAGGING.
        #expect(verdict((0..<10).map { (position: Int64($0) * 1_000, end: 100_000) }) == .lagging)
        // The same lag with fresh commits (a burst being drained, 200 ms behind in time): OK.
        #expect(verdict((0..<10).map { (position: Int64($0) * 1_000, end: 100_000) }, commitAgeMs: 200) == .ok)
        // A small lag of old commits (a quiet dimension table, 1 message 397 ms… or 1 minute behind): OK.
        #expect(verdict((0..<10).map { (position: Int64($0) * 10, end: Int64($0) * 10 + 1) }) == .ok)
        // Above the thresholds for 4 samples only, below before: not yet (samples = 5).
        let burst = (0..<10).map { i -> (position: Int64, end: Int64) in
            (position: Int64(i) * 1_000, end: Int64(i) * 1_000 + (i >= 6 ? 5_000 : 10))
        }
        #expect(verdict(burst) == .ok)
        #expect(verdict(burst + [(position: 10_000, end: 15_000)]) == .lagging)
        // The thresholds come from the profile.
        #expect(
            verdict(
                (0..<10).map { (position: Int64($0) * 1_000, end: 100_000) },
                thresholds: LagThresholds(messages: 200_000, seconds: 10, samples: 5)) == .ok)
        // No progress with lag over the whole 30 s window: STALLED (cdctop runs: never STOPPED); not moved
        // for less than the window, or too few samples: not known yet ("…"); no lag: OK.
        #expect(verdict((0...30).map { _ in (position: 500, end: 900) }) == .stalled)
        #expect(verdict((0...30).map { (position: 500, end: 900 + Int64($0)) }) == .stalled)
        #expect(verdict((0..<10).map { _ in (position: 500, end: 900) }) == .unknown)
        #expect(verdict((0..<3).map { _ in (position: 500, end: 900) }) == .unknown)
        #expect(verdict((0..<3).map { _ in (position: 900, end: 900) }) == .ok)
    }

    @Test func profileLagSectionIsReadAndChecked() throws {
        let base = "name = \"x\"\n[sale]\ntable = \"t\"\nkey = \"id\"\namount = \"a\"\n"
        let p = try KPIProfile(
            tomlText: base + "[lag]\nlagging_messages = 50\nlagging_seconds = 3\nsamples = 2\n", file: "x.toml")
        #expect(p.lag == LagThresholds(messages: 50, seconds: 3, samples: 2))
        #expect(try KPIProfile(tomlText: base, file: "x.toml").lag == LagThresholds())
        #expect(throws: (any Error).self) { try KPIProfile(tomlText: base + "[lag]\nsamples = 0\n", file: "x.toml") }
        #expect(throws: (any Error).self) {
            try KPIProfile(tomlText: base + "[lag]\nlaging_messages = 1\n", file: "x.toml")
        }
    }

    @Test func trendKeepsOneSamplePerSecondAndIsBounded() {
        var tracker = LagTracker()
        for i in 0..<500 { tracker.record([partition(position: 0, end: Int64(i))], atMs: Int64(i) * 250) }
        let trend = tracker.insight(for: partition(position: 0, end: 499), nowMs: 125_000).trend
        #expect(trend.count == 120)
        #expect((tracker.samples["t[0]"]?.count ?? 0) <= 32)
    }
}

/// Issue 22 items 5 and 6 in the Lag view: offsets that went backwards said first and in red, with the
/// advice; other groups' log start and the messages deleted before they read them.
@Suite struct LagViewRegressionTests {
    @Test func offsetsThatWentBackwardsAreRedWithTheAdvice() throws {
        var f = Fixture.frame()
        let p = try #require(f.snapshot?.consumer.partitions.first)
        var detector = OffsetRegressionDetector()
        var gone = p
        gone.position = 46
        gone.highWatermark = 0
        detector.observe([gone], nowMs: Fixture.nowMs - 3_000)
        detector.observe([gone], nowMs: Fixture.nowMs - 1_000)
        f.snapshot?.consumer.offsetRegressions = detector.report
        if let i = f.snapshot?.consumer.partitions.firstIndex(where: {
            $0.topic == p.topic && $0.partition == p.partition
        }) {
            f.snapshot?.consumer.partitions[i] = gone
        }
        var model = DashboardModel()
        _ = model.handle(.char("4"))
        let (buffer, _) = Fixture.render(model, f, width: 140, height: 36)
        let screen = buffer.text
        #expect(screen.contains("Offsets went backwards: 1 times"), "\(screen)")
        #expect(screen.contains("\(p.topic)[\(p.partition)] went backwards: its end fell to 0, below offset 46"))
        #expect(screen.contains("--state-reset"))
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        let y = try #require(lines.firstIndex { $0.contains("BACKWARDS") }, "no BACKWARDS verdict in\n\(screen)")
        let x = DisplayWidth.of(String(lines[y].prefix(upTo: lines[y].range(of: "BACKWARDS")!.lowerBound)))
        #expect(buffer[x, y].style.role == .bad, "the verdict is red")
        // Without a regression: no banner, no BACKWARDS.
        let plain = Fixture.render(model, Fixture.frame(), width: 140, height: 36).0.text
        #expect(!plain.contains("went backwards") && !plain.contains("BACKWARDS"))
    }

    @Test func otherGroupsShowTheLogStartAndMessagesDeletedUnread() {
        var f = Fixture.frame()
        var report = GroupLagReport()
        report.checkedAtMs = Fixture.nowMs
        report.groups = [
            GroupLagSummary(
                group: "jdbc-sink", verdict: .lagging, totalLag: 800, maxLagMs: 61_000, state: "Stable", members: 1)
        ]
        report.groups[0].deletedUnread = 200
        report.partitions = [
            GroupPartitionLag(
                group: "jdbc-sink", topic: "shop.public.transaction", partition: 0, committed: 100,
                highWatermark: 900, lag: 800, lagMs: 61_000, verdict: .lagging, logStart: 300, deletedUnread: 200)
        ]
        f.snapshot?.integrations.groupLag = report
        var model = DashboardModel()
        _ = model.handle(.char("4"))
        let screen = Fixture.render(model, f, width: 140, height: 40).0.text
        #expect(
            screen.contains(
                "jdbc-sink lost 200 messages deleted before it read them (shop.public.transaction[0]: log start 300 > committed 100)"
            ), "\(screen)")
        #expect(screen.contains("log start"))
        let row =
            screen.split(separator: "\n").first {
                $0.contains("jdbc-sink") && $0.contains("LAGGING") && $0.contains("900")
            }.map(String.init) ?? ""
        for figure in ["300", "100", "900", "800", "LAGGING"] {
            #expect(row.contains(figure), "\(figure) missing in: \(row)")
        }
    }
}

@Suite struct DashboardLoopTests {
    final class Box: Sendable {
        let latest = Latest<RunSnapshot>()
        let toggles = Atomic<Int>(0)
    }

    @Test func pauseFreezesTheScreenAndResumingSaysWhatChanged() {
        let box = Box()
        var sources = DashboardSources(snapshot: { box.latest.value })
        sources.toggleRedis = { box.toggles.add(1, ordering: .relaxed) }
        var loop = DashboardLoop(sources: sources, glyphs: .unicode, themeName: "dark")
        var first = Fixture.snapshot
        first.sequence = 1
        box.latest.publish(first)
        let t = Fixture.nowMs
        let before = loop.frameIfNeeded(nowMs: t, width: 80, height: 24)
        #expect(before != nil)
        _ = loop.handle(.char("p"), nowMs: t + 10)
        let paused = loop.frameIfNeeded(nowMs: t + 20, width: 80, height: 24)!
        #expect(paused.line(0).contains("PAUSED since 12:00:00"))
        var second = first
        second.sequence = 2
        second.kpis.result.messages += 5_000
        second.kpis.result.totals.txCount += 40
        second.kpis.result.totals.revenue += Money(cents: 12_345)
        box.latest.publish(second)
        let stillPaused = loop.frameIfNeeded(nowMs: t + 2_000, width: 80, height: 24)!
        #expect(
            stillPaused.text.contains(Format.count(first.kpis.result.messages))
                && !stillPaused.text.contains(Format.count(second.kpis.result.messages)))
        _ = loop.handle(.char("p"), nowMs: t + 3_000)
        let resumed = loop.frameIfNeeded(nowMs: t + 3_010, width: 80, height: 24)!
        #expect(resumed.line(23).contains("resumed after 2s: +5,000 msgs, +40 tx, revenue +123.45 while paused"))
        #expect(resumed.text.contains(Format.count(second.kpis.result.messages)))
        _ = loop.handle(.char("m"), nowMs: t + 4_000)
        #expect(box.toggles.load(ordering: .relaxed) == 1)
    }

    @Test func framesOnlyWhenSomethingChangedAndAtMostFivePerSecond() {
        let box = Box()
        var loop = DashboardLoop(
            sources: DashboardSources(snapshot: { box.latest.value }), glyphs: .unicode, themeName: "dark")
        var s = Fixture.snapshot
        box.latest.publish(s)
        let t = Fixture.nowMs
        #expect(loop.frameIfNeeded(nowMs: t, width: 80, height: 24) != nil)
        #expect(loop.frameIfNeeded(nowMs: t + 100, width: 80, height: 24) == nil)  // nothing new
        s.sequence += 1
        box.latest.publish(s)
        #expect(loop.frameIfNeeded(nowMs: t + 150, width: 80, height: 24) == nil)  // too soon
        #expect(loop.frameIfNeeded(nowMs: t + 200, width: 80, height: 24) != nil)
        _ = loop.handle(.char("2"), nowMs: t + 210)
        #expect(loop.frameIfNeeded(nowMs: t + 220, width: 80, height: 24) != nil)  // keys draw at once
        #expect(loop.frameIfNeeded(nowMs: t + 999, width: 80, height: 24) == nil)
        #expect(loop.frameIfNeeded(nowMs: t + 1_000, width: 80, height: 24) != nil)  // the clock ticked
    }

    @Test func mirrorAndReloadWithoutServicesExplainThemselves() {
        var loop = DashboardLoop(sources: DashboardSources(snapshot: { nil }), glyphs: .unicode, themeName: "dark")
        _ = loop.handle(.char("m"), nowMs: 0)
        #expect(loop.model.message?.contains("not configured") == true)
        _ = loop.handle(.char("5"), nowMs: 0)
        _ = loop.handle(.char("r"), nowMs: 0)
        #expect(loop.model.message?.contains("--warehouse") == true)
        let screen = loop.frameIfNeeded(nowMs: 10, width: 80, height: 24)!
        #expect(screen.text.contains("waiting for the first snapshot"))
    }
}
