import Metrics
import Testing

/// Issue 22, "idle is not behind": the watermark is made of what was read (partitions still being read
/// hold it back, heartbeats move it on a quiet source), and "late" is measured against it.
@Suite("Watermark from read progress and heartbeats")
struct ReadProgressTests {
    /// 10 s into a 30-s window.
    let t0: Int64 = 1_700_000_020_000
    var w0: Int64 { t0 - 10_000 }
    let lateness = KPIProfile.shop.allowedLatenessMs
    let orders: Int64 = 1, lines: Int64 = 2, heartbeat: Int64 = 3

    @Test("a heartbeat closes the last window on a quiet source within one interval plus the lateness")
    func heartbeatClosesTheLastWindow() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.sale(.create, id: 1, after: 500, at: t0), partitionKey: orders)
        #expect(!a.isFinal(windowStart: w0))
        // Heartbeats every second after the last change: the window closes with the first at or after end + lateness.
        var closedAt: Int64?
        for ts in stride(from: t0 + 1_000, through: t0 + 60_000, by: 1_000) {
            a.noteHeartbeat(atMs: ts, partitionKey: heartbeat)
            if closedAt == nil, a.isFinal(windowStart: w0) { closedAt = ts }
        }
        #expect(closedAt == w0 + 30_000 + lateness)
        #expect(a.watermarkMs == t0 + 60_000 - lateness)
        // The newest commit is still the last change (freshness), not the heartbeat.
        #expect(a.maxCommitTimeMs == t0)
        // An older heartbeat never moves the watermark back.
        a.noteHeartbeat(atMs: t0, partitionKey: heartbeat)
        #expect(a.watermarkMs == t0 + 60_000 - lateness)
    }

    @Test("a heartbeat read while a data partition is behind waits until every partition was read to its end")
    func heartbeatWaitsForDataPartitions() {
        var a = WindowedAggregator(profile: Shop.profile)
        for pk in [orders, heartbeat] { a.noteAssigned(partitionKey: pk) }
        a.noteReading(partitionKey: heartbeat)
        a.noteHeartbeat(atMs: t0 + 120_000, partitionKey: heartbeat)
        a.noteReachedEnd(partitionKey: heartbeat)
        // The orders partition has not been read yet: nothing is known about its event times.
        #expect(a.watermarkMs == .min)
        a.noteReading(partitionKey: orders)
        a.apply(Shop.sale(.create, id: 1, after: 500, at: t0), partitionKey: orders)
        #expect(!a.isFinal(windowStart: w0))
        a.noteReachedEnd(partitionKey: orders)
        // Now everything sent before the heartbeat has been read: its time moves the watermark.
        #expect(a.watermarkMs == t0 + 120_000 - lateness)
        #expect(a.isFinal(windowStart: w0))
    }

    /// Ten minutes of orders and their line items, two events per second on each topic.
    func history() -> (orders: [ChangeEvent], lines: [ChangeEvent]) {
        var o: [ChangeEvent] = []
        var l: [ChangeEvent] = []
        for i in 0..<1_200 {
            let ts = t0 + Int64(i) * 500
            o.append(Shop.sale(.create, id: Int64(i), after: 100 + Int64(i % 7), at: ts))
            l.append(Shop.line(.create, id: Int64(i), product: Int64(i % 3), qty: 1 + Int64(i % 2), cents: 250, at: ts))
        }
        return (o, l)
    }

    @Test("reading complete history topic by topic counts no late corrections, and the windows equal commit order")
    func catchUpCountsNoLateCorrections() {
        let (o, l) = history()
        // Ground truth: every event in commit-time order, nothing late by construction.
        var truth = WindowedAggregator(profile: Shop.profile)
        for i in o.indices {
            truth.apply(o[i], partitionKey: orders)
            truth.apply(l[i], partitionKey: lines)
        }
        #expect(truth.lateCorrections == 0)

        // A catch-up read as a consumer does it: one topic well ahead of the other, in fetch-sized runs.
        func read(registered: Bool) -> WindowedAggregator {
            var a = WindowedAggregator(profile: Shop.profile)
            if registered { for pk in [orders, lines] { a.noteAssigned(partitionKey: pk) } }
            var i = 0
            var j = 0
            while i < o.count || j < l.count {
                if i < o.count {
                    if registered { a.noteReading(partitionKey: orders) }
                    for e in o[i..<min(o.count, i + 500)] { a.apply(e, partitionKey: orders) }
                    i += 500
                    if registered && i >= o.count { a.noteReachedEnd(partitionKey: orders) }
                }
                if registered { a.noteReading(partitionKey: lines) }
                for e in l[j..<min(l.count, j + 100)] { a.apply(e, partitionKey: lines) }
                j += 100
                if registered && j >= l.count { a.noteReachedEnd(partitionKey: lines) }
            }
            return a
        }
        var caughtUp = read(registered: true)
        #expect(caughtUp.lateCorrections == 0)
        #expect(caughtUp.windowResults == truth.windowResults)
        #expect(caughtUp.totals == truth.totals)
        // Once both are read to their end the watermark is the newest commit's, as live: every window but the last is final.
        #expect(caughtUp.watermarkMs == truth.watermarkMs)
        #expect(caughtUp.finalStarts == truth.finalStarts)
        // Without the read positions (the old rule: the newest commit of any topic) the same read counts
        // the line items as late: the test can tell the two apart.
        var unregistered = read(registered: false)
        #expect(unregistered.lateCorrections > 100)
        // Exactness never depended on it: the same windows either way.
        #expect(unregistered.windowResults == truth.windowResults)
    }

    @Test("an event is late when the data read before it had closed its window, and it still corrects the window")
    func lateEventsStillCorrect() {
        var a = WindowedAggregator(profile: Shop.profile)
        for pk in [orders, lines] { a.noteAssigned(partitionKey: pk) }
        a.noteReading(partitionKey: orders)
        a.apply(Shop.sale(.create, id: 1, after: 500, at: t0), partitionKey: orders)
        a.noteReachedEnd(partitionKey: lines)  // an empty topic: at its end at once
        a.apply(Shop.sale(.create, id: 2, after: 700, at: t0 + 100_000), partitionKey: orders)
        a.noteReachedEnd(partitionKey: orders)
        #expect(a.isFinal(windowStart: w0))
        // Live now: a change for the closed window arrives (the producer reordered it, or a slow transaction).
        a.noteReading(partitionKey: lines)
        a.apply(Shop.sale(.create, id: 3, after: 40, at: t0 + 1), partitionKey: lines)
        #expect(a.lateCorrections == 1)
        let w = a.windowResults.first { $0.windowStartMs == w0 }
        #expect(w?.txCount == 2 && w?.revenue == Money(cents: 540))
        #expect(a.dropped == 0)
    }

    @Test("a partition that falls behind with an old time never moves the watermark back")
    func watermarkIsMonotone() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.sale(.create, id: 1, after: 500, at: t0 + 100_000), partitionKey: orders)
        a.apply(Shop.sale(.create, id: 2, after: 500, at: t0), partitionKey: lines)
        let before = a.watermarkMs
        #expect(before == t0 + 100_000 - lateness)
        a.noteReading(partitionKey: lines)
        #expect(a.watermarkMs == before)
        a.apply(Shop.sale(.create, id: 3, after: 500, at: t0 + 200_000), partitionKey: orders)
        // Held by the lines partition, which is being read and has reached t0 only.
        #expect(a.watermarkMs == before)
        a.apply(Shop.sale(.create, id: 4, after: 500, at: t0 + 150_000), partitionKey: lines)
        #expect(a.watermarkMs == t0 + 150_000 - lateness)
        a.noteReachedEnd(partitionKey: lines)
        #expect(a.watermarkMs == t0 + 200_000 - lateness)
    }

    @Test("catching up: from assignment until the first end; backlog events stay out of the consumer latency")
    func backlogIsNotLatency() {
        var p = ReadProgress()
        p.noteAssigned(partitionKey: orders)
        p.noteAssigned(partitionKey: lines)
        #expect(p.isCatchingUp(partitionKey: orders) && p.catchingUpCount == 2)
        #expect(p.backlogReachedMs == 0)
        _ = p.noteTime(t0, partitionKey: orders)
        _ = p.noteTime(t0 + 5_000, partitionKey: lines)
        #expect(p.backlogReachedMs == t0)
        p.noteReachedEnd(partitionKey: orders)
        #expect(!p.isCatchingUp(partitionKey: orders) && p.isCatchingUp(partitionKey: lines))
        #expect(p.backlogReachedMs == t0 + 5_000)
        // Reading again later (live traffic) is not catching up.
        p.noteReading(partitionKey: orders)
        #expect(!p.isCatchingUp(partitionKey: orders))
        p.noteReachedEnd(partitionKey: lines)
        #expect(p.backlogReachedMs == nil && p.catchingUpCount == 0)

        var stats = LatencyStats()
        let now = t0 + 3_600_000
        // An hour-old backlog, then one live event 40 ms after Kafka.
        for i in 0..<100 {
            stats.record(
                table: "t", sourceMs: t0 + Int64(i), debeziumMs: t0 + Int64(i) + 5, kafkaMs: t0 + Int64(i) + 8,
                receivedMs: now, backlog: true)
        }
        stats.record(
            table: "t", sourceMs: now - 60, debeziumMs: now - 50, kafkaMs: now - 40, receivedMs: now, backlog: false)
        let t = stats.summary(nowMs: now)[0]
        #expect(stats.backlogEvents == 100)
        // a histogram bucket holding 40 ms
        #expect(t.hop(.kafkaToCdctop).count == 1 && (36...44).contains(t.hop(.kafkaToCdctop).p99Ms))
        // The hops before Kafka are the pipeline's own, backlog or not.
        #expect(t.hop(.sourceToDebezium).count == 101)
        let line = BacklogProgress(partitions: 1, reachedMs: t0, messages: 12_345).line(nowMs: t0 + 3_720_000)
        #expect(line == "catching up: 12,345 messages, oldest 1h02m ago")
    }

    @Test(
        "without read positions (replays, benchmarks) the watermark is the newest commit minus the lateness, as before")
    func withoutPositionsAsBefore() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.sale(.create, id: 1, after: 500, at: t0 + 50_000), partitionKey: orders)
        a.apply(Shop.sale(.create, id: 2, after: 500, at: t0), partitionKey: lines)
        #expect(a.watermarkMs == t0 + 50_000 - lateness)
        #expect(a.lateCorrections == 1)
    }
}

/// The incremental minimum (a count of the behind partitions at the lowest time, rescanned only when the
/// last of them moves on) against a model that scans every partition after every step.
@Suite("Watermark from read progress: the incremental minimum equals a full scan")
struct ReadProgressScanModelTests {
    @Test("random assignments, reads, ends, revocations and times", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func incrementalMinimumEqualsAFullScan(seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        var progress = ReadProgress()
        var times: [Int64: Int64] = [:]
        var behind: Set<Int64> = []
        var known: Set<Int64> = []
        var maxTime = Int64.min
        var clock = Int64.min
        for step in 0..<20_000 {
            let key = Int64(next(12))
            switch next(10) {
            case 0:
                if !known.contains(key) { behind.insert(key) }
                known.insert(key)
                progress.noteAssigned(partitionKey: key)
            case 1:
                known.insert(key)
                behind.insert(key)
                progress.noteReading(partitionKey: key)
            case 2:
                known.insert(key)
                behind.remove(key)
                progress.noteReachedEnd(partitionKey: key)
            case 3:
                behind.remove(key)
                progress.forget(partitionKey: key)
            default:
                // Times move forward slowly, with ties, so several partitions often share the minimum.
                let time = Int64(step / 50 + next(4))
                known.insert(key)
                times[key] = max(times[key] ?? .min, time)
                maxTime = max(maxTime, time)
                _ = progress.noteTime(time, partitionKey: key)
            }
            let candidate = behind.isEmpty ? maxTime : behind.map { times[$0] ?? .min }.min()!
            clock = max(clock, candidate)
            #expect(progress.clockMs == clock, "step \(step): \(progress.clockMs) != \(clock)")
            if progress.clockMs != clock { return }
        }
    }
}
