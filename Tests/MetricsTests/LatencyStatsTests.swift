import Metrics
import Testing

@Suite("Latency split: histogram quantiles and the one-minute ring")
struct LatencyStatsTests {
    /// Nearest rank, as `LatencyHistogram.quantile` defines it: the ⌈q·n⌉-th smallest.
    static func exactQuantile(_ sorted: [UInt64], _ q: Double) -> UInt64 {
        let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
        return sorted[rank - 1]
    }

    /// Any value is within 1/16 of its bucket's midpoint (exact below 16).
    static func withinBucketError(_ estimate: Int64, _ truth: UInt64) -> Bool {
        abs(estimate - Int64(truth)) <= Int64(truth / 16) + (truth < 16 ? 0 : 1)
    }

    @Test("quantiles of random data match the exact sorted truth within the bucket error", arguments: [1, 2, 3, 4, 5])
    func quantilesAgainstSortedTruth(seed: UInt64) {
        var random = SplitMix(seed: seed)
        for shape in 0..<3 {
            var h = LatencyHistogram()
            var values: [UInt64] = []
            let n = 1 + Int(random.next() % 20_000)
            for _ in 0..<n {
                let v: UInt64 =
                    switch shape {
                    case 0: random.next() % 100  // small, mostly exact buckets
                    case 1: random.next() % 120_000  // uniform up to 2 minutes
                    default: UInt64(1) << (random.next() % 30) + random.next() % 1000  // heavy tail over decades
                    }
                values.append(v)
                h.record(v)
            }
            values.sort()
            #expect(h.total == UInt64(n))
            for q in [0.01, 0.5, 0.9, 0.99, 1.0] {
                let truth = Self.exactQuantile(values, q)
                let estimate = h.quantile(q)!
                #expect(
                    Self.withinBucketError(estimate, truth),
                    "shape \(shape) q \(q): estimate \(estimate), truth \(truth), n \(n)")
            }
        }
    }

    @Test("bucket bounds tile the value range: every value falls in the bucket whose bounds hold it")
    func bucketBounds() {
        var random = SplitMix(seed: 9)
        for _ in 0..<100_000 {
            let v = random.next() % (UInt64(1) << 40)
            let b = LatencyHistogram.bucket(of: v)
            let (lower, width) = LatencyHistogram.bounds(of: b)
            #expect(v >= lower && v < lower + width, "\(v) in bucket \(b) [\(lower), \(lower + width))")
        }
        #expect(LatencyHistogram.bucket(of: .max) == LatencyHistogram.bucketCount - 1)
        #expect(LatencyHistogram().quantile(0.5) == nil)
    }

    @Test("each hop is the difference of its two clocks; unknown clocks skip the hop; skew is counted")
    func hops() {
        var stats = LatencyStats()
        let now: Int64 = 1_800_000_000_000
        stats.record(table: "t", sourceMs: now - 900, debeziumMs: now - 700, kafkaMs: now - 690, receivedMs: now)
        stats.record(table: "t", sourceMs: now - 900, debeziumMs: 0, kafkaMs: now - 5, receivedMs: now)
        stats.record(table: "u", sourceMs: now, debeziumMs: now - 3, kafkaMs: now - 1, receivedMs: now)
        let summary = stats.summary(nowMs: now)
        #expect(summary.map(\.table) == ["t", "u"])
        let t = summary[0]
        #expect(
            t.hop(.sourceToDebezium)
                == HopLatency(count: 1, p50Ms: 200, p99Ms: 200, negative: 0, totalCount: 1, totalSumMs: 200))
        #expect(t.hop(.debeziumToKafka).count == 1 && t.hop(.debeziumToKafka).p50Ms == 10)
        #expect(t.hop(.kafkaToCdctop).count == 2 && t.hop(.kafkaToCdctop).totalSumMs == 690 + 5)
        let u = summary[1]
        #expect(u.hop(.sourceToDebezium).negative == 1 && u.hop(.sourceToDebezium).p50Ms == 0)
    }

    @Test("the ring forgets what is older than a minute, the totals do not")
    func ringExpiry() {
        var stats = LatencyStats()
        let start: Int64 = 1_800_000_000_000
        for i in 0..<100 {
            stats.record(table: "t", sourceMs: 0, debeziumMs: 0, kafkaMs: start - 1000, receivedMs: start + Int64(i))
        }
        // 30 s later: still inside the minute.
        stats.record(table: "t", sourceMs: 0, debeziumMs: 0, kafkaMs: start + 30_000 - 10, receivedMs: start + 30_000)
        var hop = stats.summary(nowMs: start + 30_000)[0].hop(.kafkaToCdctop)
        #expect(hop.count == 101 && hop.p50Ms > 900)
        // 70 s after the first batch: only the later event is in the minute.
        hop = stats.summary(nowMs: start + 70_000)[0].hop(.kafkaToCdctop)
        #expect(hop.count == 1 && hop.p50Ms == 10 && hop.totalCount == 101)
        // A slot reused after a full turn of the ring starts empty.
        stats.record(table: "t", sourceMs: 0, debeziumMs: 0, kafkaMs: start + 60_000 - 3, receivedMs: start + 60_000)
        hop = stats.summary(nowMs: start + 60_000)[0].hop(.kafkaToCdctop)
        #expect(hop.count == 2, "the slot of start + 60 s held start's 100 events; they must be gone")
    }
    @Test("the since-start sum saturates at Int64.max instead of wrapping negative")
    func sumSaturates() {
        var stats = LatencyStats()
        // Clocks far apart (a bad source.ts_ms that is still a valid time): three of these overflow Int64.
        let huge: Int64 = 1 << 62
        for _ in 0..<3 { stats.record(table: "t", sourceMs: 1, debeziumMs: huge, kafkaMs: 0, receivedMs: huge) }
        let hop = stats.summary(nowMs: huge)[0].hop(.sourceToDebezium)
        #expect(hop.totalCount == 3)
        #expect(
            hop.totalSumMs == Int64.max,
            "3 × (2^62 − 1) does not fit in Int64: the sum must stop at Int64.max, never go negative")
    }
}
