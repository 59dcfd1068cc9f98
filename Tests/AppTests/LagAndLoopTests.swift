@testable import App
import Metrics
import Synchronization
import Testing

@Suite struct LagTrackerTests {
    func partition(position: Int64, end: Int64) -> PartitionLag {
        PartitionLag(topic: "t", partition: 0, committed: position, position: position, highWatermark: end)
    }

    func verdict(_ samples: [(position: Int64, end: Int64)]) -> LagVerdict {
        var tracker = LagTracker()
        for (i, s) in samples.enumerated() { tracker.record([partition(position: s.position, end: s.end)], atMs: Int64(i) * 1_000) }
        let last = samples.last!
        return tracker.insight(for: partition(position: last.position, end: last.end), nowMs: Int64(samples.count - 1) * 1_000).verdict
    }

    @Test func verdictsComeFromProgressNotAThreshold() {
        // A big lag consumed fast (10k left at 10k/s) is fine; the same lag drained slowly is not.
        #expect(verdict((0..<10).map { (position: Int64($0) * 10_000, end: 100_000) }) == .ok)
        #expect(verdict((0..<10).map { (position: Int64($0) * 1_000, end: 100_000) }) == .lagging)
        #expect(verdict((0..<10).map { (position: Int64($0) * 1_000, end: Int64($0) * 1_000 + 500) }) == .ok)
        #expect(verdict((0..<10).map { _ in (position: 500, end: 900) }) == .stalled)
        #expect(verdict((0..<10).map { (position: Int64($0) * 100, end: Int64($0) * 400) }) == .lagging)
        #expect(verdict((0..<3).map { _ in (position: 500, end: 900) }) == .warmingUp)
        #expect(verdict((0..<3).map { _ in (position: 900, end: 900) }) == .ok)
    }

    @Test func trendKeepsOneSamplePerSecondAndIsBounded() {
        var tracker = LagTracker()
        for i in 0..<500 { tracker.record([partition(position: 0, end: Int64(i))], atMs: Int64(i) * 250) }
        let trend = tracker.insight(for: partition(position: 0, end: 499), nowMs: 125_000).trend
        #expect(trend.count == 120)
        #expect((tracker.samples["t[0]"]?.count ?? 0) <= 32)
    }
}

@Suite struct DashboardLoopTests {
    final class Box: Sendable {
        let latest = Latest<KPISnapshot>()
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
        second.result.messages += 5_000
        second.result.totals.txCount += 40
        second.result.totals.revenue += Money(cents: 12_345)
        box.latest.publish(second)
        let stillPaused = loop.frameIfNeeded(nowMs: t + 2_000, width: 80, height: 24)!
        #expect(stillPaused.text.contains(Format.count(first.result.messages)) && !stillPaused.text.contains(Format.count(second.result.messages)))
        _ = loop.handle(.char("p"), nowMs: t + 3_000)
        let resumed = loop.frameIfNeeded(nowMs: t + 3_010, width: 80, height: 24)!
        #expect(resumed.line(23).contains("resumed after 2s: +5,000 msgs, +40 tx, revenue +123.45 while paused"))
        #expect(resumed.text.contains(Format.count(second.result.messages)))
        _ = loop.handle(.char("m"), nowMs: t + 4_000)
        #expect(box.toggles.load(ordering: .relaxed) == 1)
    }

    @Test func framesOnlyWhenSomethingChangedAndAtMostFivePerSecond() {
        let box = Box()
        var loop = DashboardLoop(sources: DashboardSources(snapshot: { box.latest.value }), glyphs: .unicode, themeName: "dark")
        var s = Fixture.snapshot
        box.latest.publish(s)
        let t = Fixture.nowMs
        #expect(loop.frameIfNeeded(nowMs: t, width: 80, height: 24) != nil)
        #expect(loop.frameIfNeeded(nowMs: t + 100, width: 80, height: 24) == nil) // nothing new
        s.sequence += 1; box.latest.publish(s)
        #expect(loop.frameIfNeeded(nowMs: t + 150, width: 80, height: 24) == nil) // too soon
        #expect(loop.frameIfNeeded(nowMs: t + 200, width: 80, height: 24) != nil)
        _ = loop.handle(.char("2"), nowMs: t + 210)
        #expect(loop.frameIfNeeded(nowMs: t + 220, width: 80, height: 24) != nil) // keys draw at once
        #expect(loop.frameIfNeeded(nowMs: t + 999, width: 80, height: 24) == nil)
        #expect(loop.frameIfNeeded(nowMs: t + 1_000, width: 80, height: 24) != nil) // the clock ticked
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
