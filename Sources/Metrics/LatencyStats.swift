/// Where the time of a change goes, per table: the three clocks a Debezium event carries plus
/// cdctop's own receive time give three hops. Each hop keeps a log-bucketed histogram per 10-s
/// slot in a ring covering the last minute: recording is an index computation and an increment,
/// no allocation on the hot path; quantiles are read at snapshot time.
package enum LatencyHop: Int, Sendable, CaseIterable, Hashable {
    /// Source commit (`source.ts_ms`) → Debezium processed it (envelope `ts_ms`).
    case sourceToDebezium = 0
    /// Debezium → the Kafka record's timestamp.
    case debeziumToKafka = 1
    /// Kafka record timestamp → cdctop received the message (wall time).
    case kafkaToCdctop = 2

    /// The label used in JSON and Prometheus.
    package var label: String {
        switch self {
        case .sourceToDebezium: "source_debezium"
        case .debeziumToKafka: "debezium_kafka"
        case .kafkaToCdctop: "kafka_cdctop"
        }
    }

    /// The short header of the Latency view.
    package var title: String {
        switch self {
        case .sourceToDebezium: "source→debezium"
        case .debeziumToKafka: "debezium→kafka"
        case .kafkaToCdctop: "kafka→cdctop"
        }
    }
}

/// A histogram of non-negative millisecond durations with bounded relative error: values below 16
/// are exact, above that each power of two is split into 8 buckets (a bucket's width is at most
/// 1/8 of its lower bound, so its midpoint is within 1/16 of any value in it).
package struct LatencyHistogram: Sendable, Hashable {
    package static let exactBelow: UInt64 = 16
    static let subBuckets = 8
    /// Values are clamped to 2^40 ms (about 35 years): enough for any real clock difference.
    static let maxExponent = 40
    package static let bucketCount = Int(exactBelow) + (maxExponent - 4 + 1) * subBuckets

    package private(set) var counts: [UInt32]
    package private(set) var total: UInt64 = 0

    package init() { counts = Array(repeating: 0, count: LatencyHistogram.bucketCount) }

    @inline(__always)
    package static func bucket(of value: UInt64) -> Int {
        if value < exactBelow { return Int(value) }
        let clamped = min(value, (UInt64(1) << UInt64(maxExponent + 1)) - 1)
        let exponent = 63 - clamped.leadingZeroBitCount  // ≥ 4
        let sub = Int((clamped >> UInt64(exponent - 3)) & 7)
        return Int(exactBelow) + (exponent - 4) * subBuckets + sub
    }

    /// The smallest value in a bucket, and its width.
    package static func bounds(of bucket: Int) -> (lower: UInt64, width: UInt64) {
        if bucket < Int(exactBelow) { return (UInt64(bucket), 1) }
        let exponent = (bucket - Int(exactBelow)) / subBuckets + 4
        let sub = UInt64((bucket - Int(exactBelow)) % subBuckets)
        let width = UInt64(1) << UInt64(exponent - 3)
        return ((8 + sub) * width, width)
    }

    /// The value reported for a bucket: exact below 16, else the middle of the bucket.
    package static func representative(of bucket: Int) -> Int64 {
        let (lower, width) = bounds(of: bucket)
        return Int64(lower + width / 2)
    }

    @inline(__always)
    package mutating func record(_ valueMs: UInt64) {
        counts[LatencyHistogram.bucket(of: valueMs)] &+= 1
        total &+= 1
    }

    /// Adds raw bucket counts (as many as `bucketCount`).
    mutating func add(_ raw: ArraySlice<UInt32>) {
        var i = 0
        for c in raw {
            counts[i] &+= c
            total &+= UInt64(c)
            i += 1
        }
    }

    /// The nearest-rank quantile (`q` in 0…1): the bucket holding the ⌈q·n⌉-th smallest value; nil when empty.
    package func quantile(_ q: Double) -> Int64? {
        guard total > 0 else { return nil }
        let rank = max(1, UInt64((q * Double(total)).rounded(.up)))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += UInt64(c)
            if seen >= rank { return LatencyHistogram.representative(of: i) }
        }
        return LatencyHistogram.representative(of: counts.count - 1)
    }
}

/// Median and p99 of one hop over the last minute.
package struct HopLatency: Sendable, Hashable {
    package var count: Int64
    package var p50Ms: Int64
    package var p99Ms: Int64
    /// Events whose later clock was before the earlier one (clock skew): counted as 0 ms.
    package var negative: Int64
    /// Since the start (not only the last minute): events and the sum of their durations (ms), as a
    /// Prometheus summary's `_count` and `_sum`.
    package var totalCount: Int64
    package var totalSumMs: Int64
    package init(
        count: Int64 = 0, p50Ms: Int64 = 0, p99Ms: Int64 = 0, negative: Int64 = 0, totalCount: Int64 = 0,
        totalSumMs: Int64 = 0
    ) {
        self.count = count
        self.p50Ms = p50Ms
        self.p99Ms = p99Ms
        self.negative = negative
        self.totalCount = totalCount
        self.totalSumMs = totalSumMs
    }
}

/// The latency split of one table over the last minute, indexed by `LatencyHop.rawValue`.
package struct TableLatency: Sendable, Hashable {
    package var table: String
    package var hops: [HopLatency]
    package init(table: String, hops: [HopLatency]) {
        self.table = table
        self.hops = hops
    }
    package func hop(_ h: LatencyHop) -> HopLatency { hops[h.rawValue] }
}

/// Per-table rings of per-slot histograms. Owned by the engine thread (not thread-safe).
/// One flat array of counts, laid out [table][hop][slot][bucket]: recording touches one counter.
package struct LatencyStats: Sendable {
    package static let slotMs: Int64 = 10_000
    /// Six 10-s slots: the current one and the five before it (50–60 s of history).
    package static let slotCount = 6
    /// More tables than this are not tracked (the aggregator caps tables too).
    package static let maxTables = 256
    static let hopCount = LatencyHop.allCases.count
    static let perSlot = LatencyHistogram.bucketCount
    static let perTable = hopCount * slotCount * perSlot

    private var tableNames: [String] = []
    private var indexByTable: [String: Int] = [:]
    private var counts: [UInt32] = []
    /// [table][hop][slot]: events whose later clock was before the earlier one (clock skew).
    private var negatives: [Int64] = []
    /// [table][slot]: the slot number (time / slotMs) each ring position holds.
    private var slotNumbers: [Int64] = []
    /// [table][hop]: since the start.
    private var totalCounts: [Int64] = []
    private var totalSumsMs: [Int64] = []
    /// The table of the last call and its index: tables come in runs, so the dictionary is rarely asked.
    private var lastTable: String = ""
    private var lastIndex: Int = -1

    package init() {}

    @inline(__always)
    private mutating func index(of table: String) -> Int? {
        if lastIndex >= 0 && table == lastTable { return lastIndex }
        if let i = indexByTable[table] {
            lastTable = table
            lastIndex = i
            return i
        }
        guard tableNames.count < LatencyStats.maxTables else { return nil }
        let i = tableNames.count
        tableNames.append(table)
        indexByTable[table] = i
        counts.append(contentsOf: repeatElement(0, count: LatencyStats.perTable))
        negatives.append(contentsOf: repeatElement(0, count: LatencyStats.hopCount * LatencyStats.slotCount))
        slotNumbers.append(contentsOf: repeatElement(.min, count: LatencyStats.slotCount))
        totalCounts.append(contentsOf: repeatElement(0, count: LatencyStats.hopCount))
        totalSumsMs.append(contentsOf: repeatElement(0, count: LatencyStats.hopCount))
        lastTable = table
        lastIndex = i
        return i
    }

    /// Events read from a startup backlog since the start: their kafka→cdctop hop is how old the backlog
    /// was, not how slow the consumer is, so it is counted here and kept out of the histograms.
    package private(set) var backlogEvents: Int64 = 0

    /// Records one event's clocks (ms since epoch; 0 = unknown, that hop is skipped). `backlog`: the event
    /// was read while its partition was still catching up (not yet read to its end once since it was
    /// assigned); its two hops before Kafka are recorded, its kafka→cdctop hop is not.
    package mutating func record(
        table: String, sourceMs: Int64, debeziumMs: Int64, kafkaMs: Int64, receivedMs: Int64,
        backlog: Bool = false
    ) {
        guard receivedMs > 0, let t = index(of: table) else { return }
        let slotNumber = receivedMs / LatencyStats.slotMs
        let position = Int(slotNumber % Int64(LatencyStats.slotCount))
        if slotNumbers[t * LatencyStats.slotCount + position] != slotNumber {
            slotNumbers[t * LatencyStats.slotCount + position] = slotNumber
            for h in 0..<LatencyStats.hopCount {
                let base = ((t * LatencyStats.hopCount + h) * LatencyStats.slotCount + position) * LatencyStats.perSlot
                for b in base..<(base + LatencyStats.perSlot) { counts[b] = 0 }
                negatives[(t * LatencyStats.hopCount + h) * LatencyStats.slotCount + position] = 0
            }
        }
        note(t, .sourceToDebezium, position, sourceMs, debeziumMs)
        note(t, .debeziumToKafka, position, debeziumMs, kafkaMs)
        if backlog { backlogEvents &+= 1 } else { note(t, .kafkaToCdctop, position, kafkaMs, receivedMs) }
    }

    @inline(__always)
    private mutating func note(_ t: Int, _ hop: LatencyHop, _ position: Int, _ from: Int64, _ to: Int64) {
        guard from > 0, to > 0 else { return }
        let d = to &- from
        let row = (t * LatencyStats.hopCount + hop.rawValue) * LatencyStats.slotCount + position
        if d < 0 { negatives[row] += 1 }
        let clamped = max(0, d)
        counts[row * LatencyStats.perSlot + LatencyHistogram.bucket(of: UInt64(clamped))] &+= 1
        let total = t * LatencyStats.hopCount + hop.rawValue
        totalCounts[total] &+= 1
        // Saturates instead of wrapping: a negative `_sum` would be a lie Prometheus cannot detect.
        let (sum, overflow) = totalSumsMs[total].addingReportingOverflow(clamped)
        totalSumsMs[total] = overflow ? Int64.max : sum
    }

    /// Median and p99 per table and hop over the slots of the last minute before `nowMs` (count 0 when
    /// nothing came in that minute), plus the totals since the start. Sorted by table.
    package func summary(nowMs: Int64) -> [TableLatency] {
        let current = nowMs / LatencyStats.slotMs
        var out: [TableLatency] = []
        for (t, name) in tableNames.enumerated() {
            var hops: [HopLatency] = []
            for h in 0..<LatencyStats.hopCount {
                var merged = LatencyHistogram()
                var negative: Int64 = 0
                for p in 0..<LatencyStats.slotCount {
                    let n = slotNumbers[t * LatencyStats.slotCount + p]
                    guard n <= current && n > current - Int64(LatencyStats.slotCount) else { continue }
                    let row = (t * LatencyStats.hopCount + h) * LatencyStats.slotCount + p
                    merged.add(counts[(row * LatencyStats.perSlot)..<((row + 1) * LatencyStats.perSlot)])
                    negative += negatives[row]
                }
                hops.append(
                    HopLatency(
                        count: Int64(merged.total), p50Ms: merged.quantile(0.5) ?? 0,
                        p99Ms: merged.quantile(0.99) ?? 0, negative: negative,
                        totalCount: totalCounts[t * LatencyStats.hopCount + h],
                        totalSumMs: totalSumsMs[t * LatencyStats.hopCount + h]))
            }
            out.append(TableLatency(table: name, hops: hops))
        }
        return out.sorted { $0.table < $1.table }
    }
}

/// A startup backlog being read (issue 22): what is reported instead of consumer latency while the
/// consumer catches up.
package struct BacklogProgress: Sendable, Hashable {
    /// Partitions not yet read to their end once since they were assigned.
    package var partitions: Int
    /// The lowest commit time reached among them (0 when none has read a change yet): the oldest
    /// change not yet read is about this old.
    package var reachedMs: Int64
    /// Messages still unread in them (end − position, where known; 0 when the ends are not known yet).
    package var messages: Int64
    /// Events read from the backlog so far (kept out of the kafka→cdctop latency).
    package var eventsRead: Int64
    package init(partitions: Int, reachedMs: Int64, messages: Int64 = 0, eventsRead: Int64 = 0) {
        self.partitions = partitions
        self.reachedMs = reachedMs
        self.messages = messages
        self.eventsRead = eventsRead
    }

    /// "catching up: 12,345 messages, oldest 3h 12m ago" (the age from `reachedMs`, when known).
    package func line(nowMs: Int64) -> String {
        var digits = String(messages)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        var text = "catching up: \(digits + grouped) message\(messages == 1 ? "" : "s")"
        if reachedMs > 0 { text += ", oldest \(TimeText.duration(ms: max(0, nowMs - reachedMs))) ago" }
        return text
    }
}
