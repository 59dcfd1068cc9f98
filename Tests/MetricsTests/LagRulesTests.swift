import Foundation
import Metrics
import Testing

/// Issue 22 item 6: one verdict definition (`LagRules`) for cdctop's own partitions and other groups.
@Suite struct LagRulesTests {
    static let window: Int64 = 120_000

    /// Another group sampled every 5 s: `lags[i]` messages behind, committed at `committed[i]`, the oldest
    /// unread `ageMs[i]` old; through the monitor's own window trimming.
    static func groupVerdicts(committed: [Int64], lags: [Int64], ageMs: [Int64], groupEmpty: Bool = false)
        -> [LagVerdict]
    {
        var samples: [GroupLagSample] = []
        var out: [LagVerdict] = []
        for i in committed.indices {
            GroupLagRules.append(
                GroupLagSample(atMs: Int64(i + 1) * 5_000, committed: committed[i], lag: lags[i], lagMs: ageMs[i]),
                to: &samples, windowMs: window)
            out.append(GroupLagRules.verdict(samples, groupEmpty: groupEmpty, windowMs: window))
        }
        return out
    }

    @Test("three partitions with the same lag get the same verdict, whatever the lag did before")
    func equalLagEqualVerdict() {
        // 40 samples (200 s), each group committing as it goes; all three end 500 messages, 4 s behind.
        let n = 40
        let committed = (0..<n).map { Int64($0) * 100 }
        let rising = (0..<n).map { Int64(100 + $0 * 400 / (n - 1)) }  // 100 → 500
        let falling = (0..<n).map { Int64(900 - $0 * 400 / (n - 1)) }  // 900 → 500
        let flat = [Int64](repeating: 500, count: n)
        let age = [Int64](repeating: 4_000, count: n)
        let verdicts = [rising, falling, flat].map {
            Self.groupVerdicts(committed: committed, lags: $0, ageMs: age).last!
        }
        // The old rule ("lag grew over the window") called the first LAGGING and the others OK.
        #expect(verdicts == [.ok, .ok, .ok], "\(verdicts)")
        // Far behind in messages and seconds for the whole window: LAGGING, for all three alike.
        let far = [rising, falling, flat].map { lags in
            Self.groupVerdicts(
                committed: committed, lags: lags.map { $0 * 100 }, ageMs: [Int64](repeating: 600_000, count: n)
            ).last!
        }
        #expect(far == [.lagging, .lagging, .lagging], "\(far)")
    }

    @Test("a group that caught up is OK at once, though its lag grew since the start of the window")
    func caughtUpGoesBackToOK() {
        let n = 40
        var committed = (0..<n).map { Int64($0) * 10 }
        var lags = (0..<n).map { $0 == 0 ? Int64(2) : 50_000 + Int64($0) * 100 }
        var ages = (0..<n).map { $0 == 0 ? Int64(100) : 900_000 }
        #expect(Self.groupVerdicts(committed: committed, lags: lags, ageMs: ages).last == .lagging)
        // It catches up: 3 messages behind (steady traffic), 200 ms old. The window still holds the bad samples.
        committed.append(60_000)
        lags.append(3)
        ages.append(200)
        #expect(Self.groupVerdicts(committed: committed, lags: lags, ageMs: ages).last == .ok)
        // Fully caught up (no lag): OK as well, even for a group with no member.
        committed.append(60_010)
        lags.append(0)
        ages.append(0)
        #expect(Self.groupVerdicts(committed: committed, lags: lags, ageMs: ages, groupEmpty: true).last == .ok)
    }

    @Test("a Kafka Connect sink whose lag saws up between commits every 60 s is never LAGGING, STALLED or STOPPED")
    func sawtoothSinkIsOK() {
        // 100 messages a second; committed up to the last full minute: lag climbs to 6000 and its age to 60 s.
        let times = (1...120).map { Int64($0) * 5_000 }
        let high = times.map { $0 / 10 }
        let committed = times.map { ($0 / 60_000) * 6_000 }
        let lags = zip(high, committed).map { $0 - $1 }
        let ages = times.map { $0 % 60_000 + 100 }
        let verdicts = Self.groupVerdicts(committed: committed, lags: lags, ageMs: ages)
        #expect(
            !verdicts.contains(.lagging) && !verdicts.contains(.stalled) && !verdicts.contains(.stopped),
            "\(Set(verdicts))")
    }

    @Test("the order of the rules: OK, STOPPED (no member), UNKNOWN, STALLED/STOPPED over the window, LAGGING")
    func rulesInOrder() {
        let rules = LagRules.otherGroup(LagThresholds(messages: 10, seconds: 1, samples: 2), windowMs: 10_000)
        func s(_ at: Int64, _ consumed: Int64, _ lag: Int64, _ ageMs: Int64 = 5_000) -> LagSample {
            LagSample(atMs: at, consumed: consumed, lag: lag, lagMs: ageMs)
        }
        #expect(rules.verdict([]) == .unknown)
        #expect(rules.verdict([s(0, 5, 0)], groupEmpty: true) == .ok)
        #expect(rules.verdict([s(0, 5, 3)], groupEmpty: true) == .stopped)
        #expect(rules.verdict([s(0, 5, 3)]) == .unknown)
        #expect(rules.verdict([s(0, 5, 3), s(9_999, 5, 3)]) == .unknown, "not moved, but not for a whole window yet")
        #expect(rules.verdict([s(0, 5, 3), s(10_000, 5, 3)]) == .stalled)
        #expect(rules.verdict([s(0, 5, 3), s(10_000, 5, 9)]) == .stopped)
        #expect(rules.verdict([s(0, 5, 30), s(10_000, 8, 40)]) == .lagging)
        #expect(rules.verdict([s(0, 5, 30), s(10_000, 8, 40, 900)]) == .ok, "not old enough")
        #expect(rules.verdict([s(0, 5, 3), s(10_000, 8, 9)]) == .ok, "grew, but below the thresholds")
        // cdctop's own rules are the same function with its own window: 5 s before any verdict, 30 s to stall.
        let own = LagRules.ownConsumer(LagThresholds())
        #expect(own.verdict((0...4).map { s(Int64($0) * 1_000, 0, 500) }) == .unknown)
        #expect(own.verdict((0...30).map { s(Int64($0) * 1_000, 0, 500) }) == .stalled)
        #expect(own.verdict((0...30).map { s(Int64($0) * 1_000, Int64($0), 5_000, 60_000) }) == .lagging)
    }
}

/// Issue 22 item 5: a partition whose end falls below cdctop's position, or whose log start passes it.
@Suite struct OffsetRegressionTests {
    static let t0: Int64 = 1_800_000_000_000
    static func p(position: Int64, end: Int64, logStart: Int64 = 0, partition: Int32 = 0) -> PartitionLag {
        PartitionLag(
            topic: "shop.public.orders", partition: partition, committed: position, position: position,
            highWatermark: end, logStart: logStart)
    }

    @Test("the end falling below the position is confirmed after 2 s, counted once per episode, and stays listed")
    func endBelowPosition() throws {
        var d = OffsetRegressionDetector()
        for i in 0..<10 { d.observe([Self.p(position: 36 + Int64(i), end: 46)], nowMs: Self.t0 + Int64(i) * 500) }
        #expect(d.report.isEmpty, "reading up to the end is not a regression")
        // The broker restarted empty: end 0 below position 46. A blip shorter than 2 s does not count…
        d.observe([Self.p(position: 46, end: 0)], nowMs: Self.t0 + 10_000)
        d.observe([Self.p(position: 46, end: 46)], nowMs: Self.t0 + 10_500)
        d.observe([Self.p(position: 46, end: 0)], nowMs: Self.t0 + 11_000)
        d.observe([Self.p(position: 46, end: 0)], nowMs: Self.t0 + 12_500)
        #expect(d.report.isEmpty)
        // …one that lasts does.
        d.observe([Self.p(position: 46, end: 2)], nowMs: Self.t0 + 13_000)
        let r = try #require(d.report.regression(topic: "shop.public.orders", partition: 0))
        #expect(r.kind == .backwards && r.position == 46 && r.end == 2 && r.messages == 44 && r.ongoing)
        #expect(r.sinceMs == Self.t0 + 11_000 && r.detectedAtMs == Self.t0 + 13_000)
        #expect(r.summary.contains("went backwards") && r.summary.contains("below offset 46"))
        #expect(d.report.backwardsCount["shop.public.orders[0]"] == 1 && d.report.backwardsTotal == 1)
        d.observe([Self.p(position: 46, end: 10)], nowMs: Self.t0 + 14_000)
        #expect(d.report.backwardsTotal == 1 && d.report.regressions.first?.end == 10, "the same episode, kept current")
        // New messages carry the end past the position: no longer ongoing, still listed (the totals stay wrong).
        d.observe([Self.p(position: 60, end: 60)], nowMs: Self.t0 + 20_000)
        #expect(d.report.regressions.count == 1 && d.report.regressions.first?.ongoing == false)
        // A second episode counts again.
        d.observe([Self.p(position: 60, end: 0)], nowMs: Self.t0 + 30_000)
        d.observe([Self.p(position: 60, end: 0)], nowMs: Self.t0 + 32_000)
        #expect(d.report.backwardsTotal == 2 && d.report.regressions.first?.ongoing == true)
        let json = d.report.json()
        #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) != nil, "\(json)")
        #expect(json.contains("\"backwards\":2") && json.contains("--state-reset"))
    }

    @Test("a log start past the position counts the messages deleted unread, and more as it moves on")
    func deletedUnread() throws {
        var d = OffsetRegressionDetector()
        d.observe(
            [Self.p(position: 100, end: 900, logStart: 300), Self.p(position: 5, end: 9, partition: 1)], nowMs: Self.t0)
        d.observe(
            [Self.p(position: 100, end: 900, logStart: 300), Self.p(position: 5, end: 9, partition: 1)],
            nowMs: Self.t0 + 2_000)
        let r = try #require(d.report.regression(topic: "shop.public.orders", partition: 0))
        #expect(r.kind == .deletedUnread && r.messages == 200)
        #expect(d.report.regression(topic: "shop.public.orders", partition: 1) == nil)
        d.observe([Self.p(position: 100, end: 950, logStart: 350)], nowMs: Self.t0 + 3_000)
        #expect(d.report.deletedUnreadTotal == 250 && d.report.backwardsTotal == 0)
        #expect(d.report.json().contains("\"deleted_unread\":250"))
    }

    @Test("unknown offsets (-1) are never a regression")
    func unknownOffsets() {
        var d = OffsetRegressionDetector(confirmMs: 0)
        d.observe(
            [Self.p(position: -1, end: 0), Self.p(position: 50, end: -1, logStart: -1, partition: 1)], nowMs: Self.t0)
        d.observe(
            [Self.p(position: -1, end: 0), Self.p(position: 50, end: -1, logStart: -1, partition: 1)],
            nowMs: Self.t0 + 1)
        #expect(d.report.isEmpty)
    }
}

/// Other groups' lag (item 6): end − committed, with messages deleted before the group read them.
@Suite struct GroupDeletedUnreadTests {
    @Test("lag counts from the committed offset, not from the log start; deletion below it is reported")
    func lagFromCommitted() {
        #expect(GroupPartitionLag.lag(committed: 100, logStart: 300, end: 900) == (lag: 800, deletedUnread: 200))
        #expect(GroupPartitionLag.lag(committed: 400, logStart: 300, end: 900) == (lag: 500, deletedUnread: 0))
        #expect(GroupPartitionLag.lag(committed: -1, logStart: 300, end: 900) == (lag: 600, deletedUnread: 0))
        #expect(GroupPartitionLag.lag(committed: 10, logStart: -1, end: -1) == (lag: 0, deletedUnread: 0))
        var report = GroupLagReport()
        report.groups = [
            GroupLagSummary(
                group: "jdbc-sink", verdict: .lagging, totalLag: 800, maxLagMs: 1_000, state: "Stable", members: 1)
        ]
        report.groups[0].deletedUnread = 200
        report.partitions = [
            GroupPartitionLag(
                group: "jdbc-sink", topic: "t", partition: 0, committed: 100, highWatermark: 900, lag: 800,
                lagMs: 1_000, verdict: .lagging, logStart: 300, deletedUnread: 200)
        ]
        let json = report.json()
        #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) != nil, "\(json)")
        #expect(json.contains("\"log_start\":300") && json.contains("\"deleted_unread\":200"))
    }
}
