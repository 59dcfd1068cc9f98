import Metrics
import Pipeline
import Testing

@testable import App

/// The engine keeps every change of the last `perTable` per table, by offset, newest last, complete.
@Suite struct RecentChangesTests {
    /// Feeds generated shop messages through the real EngineCore, one partition per topic, offsets 0…;
    /// returns the core and, per topic, the offsets and ops it was given (the independent truth).
    static func feed(
        count: Int, core: EngineCore, workload: ShopWorkload, offsets: inout [String: Int64],
        truth: inout [String: [(offset: Int64, value: [UInt8]?)]]
    ) {
        var out: [GeneratedMessage] = []
        while out.count < count { workload.next(into: &out) }
        for m in out {
            let offset = offsets[m.topic, default: 0]
            offsets[m.topic] = offset + 1
            core.ingest(
                topic: m.topic, partition: 0, offset: offset, timestampMs: m.timestampMs, key: m.key, value: m.value)
            truth[m.topic, default: []].append((offset, m.value))
        }
    }

    @Test func everyChangeIsKeptNewestLastUpToTheRingAndSnapshotsAreIncremental() throws {
        let core = EngineCore(profile: .shop)
        core.captureRecentChanges = true
        let workload = ShopWorkload(
            config: ShopWorkloadConfig(seed: 9, products: 30, customers: 60, snapshotTransactions: 10))
        var offsets: [String: Int64] = [:]
        var truth: [String: [(offset: Int64, value: [UInt8]?)]] = [:]
        Self.feed(count: 1_000, core: core, workload: workload, offsets: &offsets, truth: &truth)
        let early = core.snapshot(sequence: 1, takenAtMs: 0)
        Self.feed(count: 12_000, core: core, workload: workload, offsets: &offsets, truth: &truth)
        let late = core.snapshot(sequence: 2, takenAtMs: 0)
        let topic = workload.topic(of: .transactiondetail)
        // Changes are the messages with a value (tombstones are not changes).
        let expected = truth[topic]!.filter { $0.value != nil }
        #expect(
            expected.count > EngineCore.recentChangesPerTable,
            "the fixture must overflow the ring (\(expected.count) changes)")
        let kept = try #require(late.diagnostics.recentChanges["transactiondetail"])
        #expect(kept.count == EngineCore.recentChangesPerTable)
        // Complete and in order: exactly the newest `perTable` offsets, oldest first, with their bytes.
        #expect(kept.map(\.position.offset) == expected.suffix(EngineCore.recentChangesPerTable).map(\.offset))
        #expect(kept.last?.value == expected.last?.value)
        #expect(kept.allSatisfy { $0.position.topic == topic && $0.key != "?" })
        // The earlier snapshot is untouched by later captures (its lists are copies, not the ring).
        let earlyKept = try #require(early.diagnostics.recentChanges["transactiondetail"])
        let earlyExpected = Array(truth[topic]!.filter { $0.value != nil }.prefix(earlyKept.count))
        #expect(earlyKept.map(\.position.offset) == earlyExpected.map(\.offset))
        #expect(earlyKept.map(\.value) == earlyExpected.map(\.value))
    }

    @Test func withoutCaptureNothingIsKept() {
        let core = EngineCore(profile: .shop)
        let workload = ShopWorkload(config: ShopWorkloadConfig(seed: 9))
        var offsets: [String: Int64] = [:]
        var truth: [String: [(offset: Int64, value: [UInt8]?)]] = [:]
        Self.feed(count: 500, core: core, workload: workload, offsets: &offsets, truth: &truth)
        #expect(core.snapshot(sequence: 1, takenAtMs: 0).diagnostics.recentChanges.isEmpty)
    }
}

/// Prints what capturing every change costs on the engine thread (no timed assertion: figures only).
/// `swift test --filter captureCostBenchmark` (debug build: compare the two figures, not absolutes).
@Suite struct RecentChangesBenchmark {
    @Test func captureCostBenchmark() {
        let workload = ShopWorkload(
            config: ShopWorkloadConfig(seed: 3, products: 40, customers: 200, snapshotTransactions: 0))
        var out: [GeneratedMessage] = []
        while out.count < 60_000 { workload.next(into: &out) }
        func run(capture: Bool) -> (nsPerMessage: Double, kept: Int) {
            let core = EngineCore(profile: .shop)
            core.captureRecentChanges = capture
            var offsets: [String: Int64] = [:]
            let start = ContinuousClock.now
            for m in out {
                let o = offsets[m.topic, default: 0]
                offsets[m.topic] = o + 1
                core.ingest(
                    topic: m.topic, partition: 0, offset: o, timestampMs: m.timestampMs, key: m.key, value: m.value)
            }
            let elapsed = ContinuousClock.now - start
            let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            return (
                ns / Double(out.count),
                core.snapshot(sequence: 1, takenAtMs: 0).diagnostics.recentChanges.values.reduce(0) { $0 + $1.count }
            )
        }
        _ = run(capture: true)  // warm-up
        let off = run(capture: false)
        let on = run(capture: true)
        print(
            "recent-change capture: \(out.count) msgs, off \(Int(off.nsPerMessage)) ns/msg, on \(Int(on.nsPerMessage)) ns/msg (+\(Int(on.nsPerMessage - off.nsPerMessage)) ns), \(on.kept) changes kept"
        )
        #expect(on.kept > 0 && off.kept == 0)
    }
}
