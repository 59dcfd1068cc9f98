import Metrics

@testable import App
@testable import Pipeline

/// Golden screens from the REAL engine: generated shop messages (fixed seed and clock) go through
/// EngineCore exactly as `watch` feeds them, and the snapshot is the one EngineCore builds (windows,
/// totals, tables, recent changes). Only what Kafka itself would report (offsets, high watermarks,
/// connection state) is filled in here, from the offsets the messages were given.
enum EngineFixture {
    struct Built {
        var snapshot: RunSnapshot
        var nowMs: Int64
        var lag: LagTracker
    }

    /// 12,000 messages over 3 partitions per topic; the last partition of transactiondetail is 300
    /// messages behind (its high watermark is ahead of its position).
    static let built: Built = {
        let core = EngineCore(profile: .shop)
        core.captureRecentChanges = true
        let workload = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: 13, products: 24, customers: 60, snapshotTransactions: 20,
                commitsPerSecond: 8))
        var out: [GeneratedMessage] = []
        while out.count < 12_000 { workload.next(into: &out) }
        var next: [String: [Int64]] = [:]
        for m in out {
            // By key, as Kafka's default partitioner does: one key's changes stay in order.
            let partition = Int32(m.key.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF } % 3)
            var offsets = next[m.topic, default: [0, 0, 0]]
            let offset = offsets[Int(partition)]
            offsets[Int(partition)] += 1
            next[m.topic] = offsets
            core.ingest(
                topic: m.topic, partition: partition, offset: offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
        // A live engine publishes several snapshots a second and decodes a bounded number of recent changes
        // for display in each: by the time anyone looks, it has decoded them all.
        for sequence in 1..<42 { _ = core.snapshot(sequence: UInt64(sequence), takenAtMs: 0) }
        var s = core.snapshot(sequence: 42, takenAtMs: 0)
        let nowMs = s.kpis.maxCommitTimeMs + 400
        s.takenAtMs = nowMs
        s.consumer.kafka = ServiceStatus(.ok, "127.0.0.1:9092")
        s.state = StateStatus(directory: "/var/lib/cdctop/shop")
        s.state.lastCheckpointMs = nowMs - 2_000
        s.state.checkpoints = 9
        for topic in next.keys.sorted() {
            let slot = core.decoder.slot(forTopic: topic)
            for p in 0..<3 {
                let consumed = next[topic]![p]
                let behind: Int64 = topic.hasSuffix("transactiondetail") && p == 2 ? 300 : 0
                s.consumer.partitions.append(
                    PartitionLag(
                        topic: topic, partition: Int32(p), committed: max(0, consumed - 50), position: consumed,
                        highWatermark: consumed + behind,
                        lastCommitTimeMs: core.lastCommitTimeByPartition[
                            EngineCore.partitionKey(slot: slot, partition: Int32(p))] ?? 0,
                        reachedEnd: behind == 0))
            }
        }
        // Rates as the engine computes them: two samples 5 s apart.
        var samples: [Engine.RateSample] = []
        var first = s
        Engine.fillRates(
            &first.kpis, tables: &first.diagnostics.tables, samples: &samples, nowMs: nowMs - 5_000,
            messages: core.messages - 2_000, bytes: core.bytes - 2_000_000)
        samples[0].saleCreates = max(0, samples[0].saleCreates - 200)
        samples[0].tables = samples[0].tables.mapValues { max(0, $0 - 500) }
        Engine.fillRates(
            &s.kpis, tables: &s.diagnostics.tables, samples: &samples, nowMs: nowMs, messages: core.messages,
            bytes: core.bytes)
        var lag = LagTracker()
        for t in stride(from: 30, through: 0, by: -1) {
            let at = nowMs - Int64(t) * 1_000
            lag.record(
                s.consumer.partitions.map { p in
                    var p = p
                    // The lagging partition: position stuck 300 behind for the whole window.
                    if p.highWatermark > p.position { p.highWatermark = p.position + 300 }
                    p.lastCommitTimeMs = p.highWatermark > p.position ? at - 40_000 : p.lastCommitTimeMs
                    return p
                }, atMs: at)
        }
        return Built(snapshot: s, nowMs: nowMs, lag: lag)
    }()

    static func frame(glyphs: Glyphs = .unicode) -> DashboardFrame {
        var f = DashboardFrame(snapshot: built.snapshot, nowMs: built.nowMs)
        f.title = "engine fixture"
        f.glyphs = glyphs
        f.lag = built.lag
        return f
    }
}
