import Metrics
import Pipeline

/// How far back a trend chart looks (`w` cycles them in the Trends view).
enum TrendSpan: Int, CaseIterable, Sendable {
    case fiveMinutes, hour, day

    /// The rollup tier that holds the span: its bucket size and how many buckets cover it.
    var bucketMs: Int64 {
        switch self {
        case .fiveMinutes: 1_000
        case .hour: 10_000
        case .day: 300_000
        }
    }

    var bucketCount: Int {
        switch self {
        case .fiveMinutes: 300
        case .hour: 360
        case .day: 288
        }
    }

    var title: String {
        switch self {
        case .fiveMinutes: "5 min"
        case .hour: "1 h"
        case .day: "1 day"
        }
    }

    var next: TrendSpan { TrendSpan(rawValue: (rawValue + 1) % TrendSpan.allCases.count) ?? .fiveMinutes }
}

/// What the seconds folded into one bucket add up to. Rates are kept as a count and the time it covers
/// (exact at every rollup: the bucket's rate is events ÷ covered time); lag and freshness keep the worst
/// (max) second, since a peak is what an incident needs to see.
struct TrendBucket: Sendable, Hashable {
    /// Start of the bucket (a multiple of the tier's bucket size); `empty` when nothing was folded in.
    var startMs: Int64 = TrendBucket.empty
    /// Seconds sampled into the bucket.
    var samples: Int32 = 0
    /// Events counted between the previous sample and each sample folded in, and the time that spans.
    var events: Int64 = 0
    var coveredMs: Int64 = 0
    /// Largest total lag in messages; -1 while every sample had it unknown (Kafka not connected).
    var lagMax: Int64 = -1
    /// Largest age of the oldest unread commit (lag in time), ms.
    var lagMsMax: Int64 = 0
    /// Largest age of the newest commit seen (freshness), ms; -1 while no commit was seen.
    var freshnessMsMax: Int64 = -1

    static let empty = Int64.min

    var isEmpty: Bool { startMs == TrendBucket.empty }
    /// Events per second over the bucket; nil when no time was covered.
    var eventsPerSecond: Double? { coveredMs > 0 ? Double(events) * 1_000 / Double(coveredMs) : nil }

    mutating func fold(_ s: TrendSecond) {
        samples += 1
        events += s.events
        coveredMs += s.coveredMs
        lagMax = max(lagMax, s.lag)
        lagMsMax = max(lagMsMax, s.lagMs)
        freshnessMsMax = max(freshnessMsMax, s.freshnessMs)
    }

    /// Two buckets as one (several buckets drawn in one chart column): the same rules as `fold`.
    mutating func merge(_ o: TrendBucket) {
        guard !o.isEmpty else { return }
        if isEmpty {
            self = o
            return
        }
        samples += o.samples
        events += o.events
        coveredMs += o.coveredMs
        lagMax = max(lagMax, o.lagMax)
        lagMsMax = max(lagMsMax, o.lagMsMax)
        freshnessMsMax = max(freshnessMsMax, o.freshnessMsMax)
    }
}

/// One second's sample, as fed to every tier.
struct TrendSecond: Sendable, Hashable {
    var atMs: Int64
    /// Events since the previous sample, and the time since it.
    var events: Int64
    var coveredMs: Int64
    var lag: Int64
    var lagMs: Int64
    var freshnessMs: Int64
}

/// A fixed ring of buckets of one size: the bucket of time t sits in slot (t / size) mod count, so
/// wrap-around needs no bookkeeping and a slot still holding an older bucket reads as empty.
struct TrendRing: Sendable, Hashable {
    let bucketMs: Int64
    private(set) var buckets: [TrendBucket]

    init(bucketMs: Int64, count: Int) {
        self.bucketMs = bucketMs
        buckets = Array(repeating: TrendBucket(), count: count)
    }

    mutating func fold(_ s: TrendSecond) {
        let start = s.atMs - s.atMs % bucketMs
        let slot = Int((s.atMs / bucketMs) % Int64(buckets.count))
        if buckets[slot].startMs != start { buckets[slot] = TrendBucket(startMs: start) }
        buckets[slot].fold(s)
    }

    /// The bucket starting at `startMs`, or an empty one when the ring holds none (never sampled, or overwritten).
    func bucket(startingAt startMs: Int64) -> TrendBucket {
        guard startMs >= 0 else { return TrendBucket() }
        let slot = Int((startMs / bucketMs) % Int64(buckets.count))
        return buckets[slot].startMs == startMs ? buckets[slot] : TrendBucket()
    }

    /// The `count` buckets that end with the one holding `nowMs`, oldest first (empty where nothing was sampled).
    func window(endingAt nowMs: Int64) -> [TrendBucket] {
        let last = nowMs - nowMs % bucketMs
        return (0..<buckets.count).map { bucket(startingAt: last - Int64(buckets.count - 1 - $0) * bucketMs) }
    }
}

/// The three tiers of one series (the pipeline, or one table): 5 min of seconds, 1 h of 10 s, 1 day of 5 min.
struct TrendTiers: Sendable, Hashable {
    var rings = TrendSpan.allCases.map { TrendRing(bucketMs: $0.bucketMs, count: $0.bucketCount) }
    /// The event count at the previous sample (the next sample counts from it); nil before the first.
    var lastCount: Int64?
    var lastAtMs: Int64 = 0

    /// Folds one second into every tier; `count` is the running event count (its difference is the events).
    mutating func record(count: Int64, atMs: Int64, lag: Int64, lagMs: Int64, freshnessMs: Int64) {
        var events: Int64 = 0
        var covered: Int64 = 0
        // A count that went down was reset (a restored or replaced engine): counting starts again from it.
        if let last = lastCount, count >= last, atMs > lastAtMs {
            events = count - last
            covered = atMs - lastAtMs
        }
        lastCount = count
        lastAtMs = atMs
        let second = TrendSecond(
            atMs: atMs, events: events, coveredMs: covered, lag: lag, lagMs: lagMs, freshnessMs: freshnessMs)
        for i in rings.indices { rings[i].fold(second) }
    }
}

/// Events/s, lag (messages and seconds) and freshness over the last 5 minutes, hour and day, for the
/// whole pipeline and per table: sampled at most once a second from the snapshots the dashboard
/// receives (not while drawing), in fixed rings (about 50 kB a series), so memory never grows with time.
struct TrendHistory: Sendable {
    /// The pipeline's series.
    private(set) var pipeline = TrendTiers()
    /// Each table's series, created the first time the table appears (at most `maximumTables`).
    private(set) var tables: [String: TrendTiers] = [:]
    static let maximumTables = 128
    private var lastSecond: Int64 = -1
    /// Table name of each topic seen (the Debezium topic's last part), so a sample computes no names.
    private var tableOfTopic: [String: String] = [:]

    /// Samples `s` when its second has not been sampled yet (snapshots arrive several times a second).
    mutating func record(_ s: RunSnapshot, atMs now: Int64) {
        guard now / 1_000 != lastSecond else { return }
        lastSecond = now / 1_000
        let known = s.consumer.kafka.state == .ok && !s.consumer.partitions.isEmpty
        // One walk over the partitions: the pipeline's oldest unread commit and each table's lag.
        var lagMs: Int64 = 0
        var byTable: [String: (lag: Int64, lagMs: Int64)] = [:]
        for p in s.consumer.partitions {
            let behindMs = p.lag > 0 && p.lastCommitTimeMs > 0 ? now - p.lastCommitTimeMs : 0
            lagMs = max(lagMs, behindMs)
            let table = tableName(ofTopic: p.topic)
            let sofar = byTable[table] ?? (0, 0)
            byTable[table] = (sofar.lag + max(0, p.lag), max(sofar.lagMs, behindMs))
        }
        pipeline.record(
            count: s.kpis.result.messages, atMs: now, lag: known ? s.consumer.totalLag : -1, lagMs: max(0, lagMs),
            freshnessMs: s.kpis.maxCommitTimeMs > 0 ? max(0, now - s.kpis.maxCommitTimeMs) : -1)
        for t in s.diagnostics.tables {
            if tables[t.table] == nil {
                guard tables.count < TrendHistory.maximumTables else { continue }
                tables[t.table] = TrendTiers()
            }
            let partitions = byTable[t.table]
            tables[t.table]!.record(
                count: t.total, atMs: now, lag: known ? partitions?.lag ?? 0 : -1,
                lagMs: max(0, partitions?.lagMs ?? 0),
                freshnessMs: t.lastCommitTimeMs > 0 ? max(0, now - t.lastCommitTimeMs) : -1)
        }
    }

    private mutating func tableName(ofTopic topic: String) -> String {
        if let known = tableOfTopic[topic] { return known }
        let name = DebeziumTopicName.table(of: topic)
        if tableOfTopic.count < 4 * TrendHistory.maximumTables { tableOfTopic[topic] = name }
        return name
    }

    /// No new table gets a series any more.
    var isFull: Bool { tables.count >= TrendHistory.maximumTables }

    /// The series of `table` (nil: the pipeline's).
    func series(_ table: String?) -> TrendTiers? { table.map { tables[$0] } ?? pipeline }

    /// Seconds sampled into the 5-minute tier, oldest first: what the Lag view's small charts draw.
    var samples: [Sample] {
        pipeline.rings[0].buckets.filter { !$0.isEmpty }.sorted { $0.startMs < $1.startMs }.map {
            Sample(
                atMs: $0.startMs, eventsPerSecond: $0.eventsPerSecond ?? 0, lag: $0.lagMax,
                lagSecondsMax: Double($0.lagMsMax) / 1_000, freshnessSeconds: Double(max(0, $0.freshnessMsMax)) / 1_000)
        }
    }

    struct Sample: Sendable, Hashable {
        var atMs: Int64
        var eventsPerSecond: Double
        /// -1 while the lag is unknown (Kafka not connected).
        var lag: Int64
        var lagSecondsMax: Double
        var freshnessSeconds: Double
    }
}
