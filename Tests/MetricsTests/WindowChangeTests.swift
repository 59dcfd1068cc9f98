import Metrics
import Testing

/// The aggregator keeps its merged windows, the final ones and the list of what changed as events
/// arrive (so a snapshot costs what changed). These tests compare that bookkeeping with answers
/// computed from scratch: a fresh aggregator fed the same events, and the definition of final.
@Suite("Window results, final windows and window changes are kept incrementally")
struct WindowChangeTests {
    /// A small deterministic generator (xorshift), so a failure replays the same events.
    struct Rng {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    enum Step {
        case event(ChangeEvent, partition: Int64)
        case drop(Int64)
    }

    /// Orders, line items and category changes over a few partitions, with time moving forward
    /// (evicting old windows), late events into final windows, and now and then a dropped partition.
    static func steps(seed: UInt64, count: Int) -> [Step] {
        var rng = Rng(state: seed)
        var t: Int64 = 1_700_000_000_000
        var steps: [Step] = []
        for i in 0..<count {
            t += Int64(rng.next(4_000))
            let late = rng.next(10) == 0 ? Int64(rng.next(200_000)) : 0
            let at = t - late
            let id = Int64(rng.next(300))
            let partition = Int64(rng.next(3))
            switch rng.next(10) {
            case 0..<4:
                steps.append(
                    .event(
                        Shop.sale(
                            rng.next(4) == 0 ? .update : .create, id: id, after: Int64(100 + rng.next(900)), at: at),
                        partition: partition))
            case 4..<8:
                steps.append(
                    .event(
                        Shop.line(
                            .create, id: id, product: Int64(rng.next(20)), qty: Int64(1 + rng.next(3)),
                            cents: Int64(50 + rng.next(500)), at: at), partition: partition))
            case 8:
                steps.append(.event(Shop.sale(.delete, id: id, before: 100, at: at), partition: partition))
            default:
                if i % 97 == 0 {
                    steps.append(.drop(partition))
                } else {
                    steps.append(
                        .event(
                            Shop.product(.update, id: Int64(rng.next(20)), category: "c\(rng.next(4))", at: at),
                            partition: 9))
                }
            }
        }
        return steps
    }

    /// Ten minutes of retention, so the events evict windows as time moves on.
    static var profile: KPIProfile {
        var p = Shop.profile
        p.retentionMs = 600_000
        return p
    }

    static func apply(_ step: Step, to a: inout WindowedAggregator) {
        switch step {
        case .event(let e, let p): a.apply(e, partitionKey: p)
        case .drop(let p): a.dropPartition(p)
        }
    }

    @Test(
        "after every few events: results equal a fresh computation, finals follow the watermark, unchanged windows are left out of the changes",
        arguments: [UInt64(1), 7, 42])
    func incrementalEqualsFromScratch(seed: UInt64) {
        let steps = Self.steps(seed: seed, count: 1_500)
        var live = WindowedAggregator(profile: Self.profile)
        var previous: [Int64: (WindowResult, Bool)] = [:]
        var rng = Rng(state: seed &+ 99)
        var applied = 0
        var checks = 0
        while applied < steps.count {
            let n = 1 + rng.next(40)
            for step in steps[applied..<min(steps.count, applied + n)] { Self.apply(step, to: &live) }
            applied = min(steps.count, applied + n)

            var fresh = WindowedAggregator(profile: Self.profile)
            for step in steps[..<applied] { Self.apply(step, to: &fresh) }
            let results = live.windowResults
            #expect(results == fresh.windowResults)
            #expect(live.finalStarts == Set(results.map(\.windowStartMs).filter { live.isFinal(windowStart: $0) }))

            let changed = live.takeWindowChanges() ?? []
            for w in results {
                let isFinal = live.finalStarts.contains(w.windowStartMs)
                if let (before, wasFinal) = previous[w.windowStartMs], before == w, wasFinal == isFinal { continue }
                #expect(
                    changed.contains(w.windowStartMs),
                    "window \(w.windowStartMs) changed (or became final) but is not listed")
            }
            previous = Dictionary(
                uniqueKeysWithValues: results.map {
                    ($0.windowStartMs, ($0, live.finalStarts.contains($0.windowStartMs)))
                })
            checks += 1
        }
        #expect(checks > 50)
        #expect(live.lateCorrections > 0 && !live.finalStarts.isEmpty)
    }

    @Test("after a restore the final windows follow the restored watermark and the first changes are unknown")
    func restoreRebuildsFinalWindows() {
        var live = WindowedAggregator(profile: Shop.profile)
        let t0: Int64 = 1_700_000_010_000
        for i in 0..<50 {
            live.apply(Shop.sale(.create, id: Int64(i), after: 100 + Int64(i), at: t0 + Int64(i) * 20_000))
        }
        let results = live.windowResults

        var restored = WindowedAggregator(profile: Shop.profile)
        restored.restore(counters: live.counters)
        for w in results {
            restored.restoreWindow(partition: 0, windowStart: w.windowStartMs, txCount: w.txCount, revenue: w.revenue)
        }
        restored.finishRestore()
        #expect(restored.windowResults == results)
        #expect(restored.finalStarts == live.finalStarts)
        #expect(restored.finalStarts == Set(results.map(\.windowStartMs).filter { restored.isFinal(windowStart: $0) }))
        #expect(restored.finalStarts.count > 30)
        #expect(restored.takeWindowChanges() == nil)
        #expect(restored.takeWindowChanges() == [])
        // Time moves on: the window that closes is listed as changed and final.
        let open = results.last!.windowStartMs
        restored.apply(Shop.sale(.create, id: 999, after: 5, at: open + 60_000))
        _ = restored.windowResults
        #expect(restored.finalStarts.contains(open))
        #expect(restored.takeWindowChanges()?.contains(open) == true)
    }

    @Test("a quiet stretch lists nothing, and a late correction lists only its window")
    func onlyWhatChanged() {
        var a = WindowedAggregator(profile: Shop.profile)
        let t0: Int64 = 1_700_000_010_000
        for i in 0..<200 { a.apply(Shop.sale(.create, id: Int64(i), after: 100, at: t0 + Int64(i) * 30_000)) }
        _ = a.windowResults
        _ = a.takeWindowChanges()
        #expect(a.takeWindowChanges() == [])
        // A late update of an order in a window long final.
        a.apply(Shop.sale(.update, id: 10, after: 250, at: t0 + 10 * 30_000 + 5))
        _ = a.windowResults
        #expect(a.takeWindowChanges() == [t0 + 10 * 30_000])
    }
}

@Suite("The window change log answers for any recent snapshot")
struct WindowChangeLogTests {
    @Test("changes since a snapshot are the union of the later entries; too old or unknown is nil")
    func unionAndReach() {
        var log = WindowChangeLog()
        log.record(sequence: 1, since: nil, changed: nil)  // the first snapshot: a new chain
        #expect(log.changes(since: 1) == [])
        log.record(sequence: 2, since: 1, changed: [10, 20])
        log.record(sequence: 3, since: 2, changed: [20, 30])
        #expect(log.changes(since: 1) == [10, 20, 30])
        #expect(log.changes(since: 2) == [20, 30])
        #expect(log.changes(since: 3) == [])
        #expect(log.changes(since: 0) == nil)
        // A snapshot taken out of the chain (changes since one the log does not end with) starts afresh.
        log.record(sequence: 5, since: 4, changed: [40])
        #expect(log.changes(since: 1) == nil)
        #expect(log.changes(since: 4) == [40])
        // A restore (changes unknown) forgets everything before.
        log.record(sequence: 6, since: 5, changed: nil)
        #expect(log.changes(since: 5) == nil)
        #expect(log.changes(since: 6) == [])
        // Only the last `kept` snapshots are kept.
        for n in 7...7 + UInt64(WindowChangeLog.kept) { log.record(sequence: n, since: n - 1, changed: [Int64(n)]) }
        #expect(log.changes(since: 6) == nil)
        #expect(
            log.changes(since: 7 + UInt64(WindowChangeLog.kept) - 2) == [
                Int64(7 + WindowChangeLog.kept - 1), Int64(7 + WindowChangeLog.kept),
            ])
        #expect(log.entries.count == WindowChangeLog.kept)
    }
}
