/// Snapshot progress (issue 22, item 1): per connector and table, rows read, the table's estimated
/// rows, percent, rate, ETA, tables done of total, start and end — for initial and incremental snapshots.
///
/// Two inputs, joined here (pure, no I/O):
/// - the snapshot rows themselves (`op` r, `source.snapshot`), counted per topic by `SnapshotReadTracker`
///   on the engine thread;
/// - Debezium's notifications (`notification.enabled.channels=sink`), kept by `SnapshotNotificationLog`:
///   which tables a snapshot covers, when each scan starts and completes (with its row count), and
///   whether the snapshot completed or was aborted. On a topic of several partitions they arrive out of
///   order, so they are folded in order of their own `timestamp`.
/// Estimates (PostgreSQL `pg_class.reltuples`, MySQL `information_schema.tables.table_rows`) come from
/// the app's poller of `--source` and are filled in with `SnapshotProgressReport.applyEstimates`.

/// `source.snapshot` of a change event, as Debezium writes it.
package enum SnapshotRowMarker: UInt8, Sendable, Hashable {
    /// Absent or "false": a streamed change.
    case none = 0
    /// "true" (or a value this version does not know): a row of an initial snapshot.
    case inProgress
    /// "first": the first row of the whole snapshot.
    case first
    /// "first_in_data_collection": the first row of a table.
    case firstInCollection
    /// "last_in_data_collection": the last row of a table (that table's scan is complete).
    case lastInCollection
    /// "last": the last row of the whole snapshot.
    case last
    /// "incremental": a row of an incremental (signalled) snapshot; Debezium marks no last row there.
    case incremental

    /// From the text of `source.snapshot`.
    package init(text: String) {
        switch text {
        case "false", "": self = .none
        case "first": self = .first
        case "first_in_data_collection": self = .firstInCollection
        case "last_in_data_collection": self = .lastInCollection
        case "last": self = .last
        case "incremental": self = .incremental
        default: self = .inProgress
        }
    }
}

package enum SnapshotKind: String, Sendable, Hashable, Comparable {
    case initial, incremental
    package static func < (a: SnapshotKind, b: SnapshotKind) -> Bool { a == .initial && b == .incremental }
}

/// One Debezium notification about a snapshot (`aggregate_type` "Initial Snapshot" or "Incremental Snapshot").
package struct SnapshotNotification: Sendable, Hashable {
    package var id: String
    /// STARTED, IN_PROGRESS, TABLE_SCAN_COMPLETED, COMPLETED, ABORTED, SKIPPED, PAUSED, RESUMED.
    package var type: String
    package var kind: SnapshotKind
    /// `additional_data.connector_name` (the Kafka Connect connector's name).
    package var connector: String
    /// `additional_data` as sent (all values are strings).
    package var data: [String: String]
    /// When Debezium created it (ms since epoch).
    package var timestampMs: Int64

    package init(
        id: String, type: String, kind: SnapshotKind, connector: String, data: [String: String], timestampMs: Int64
    ) {
        self.id = id
        self.type = type
        self.kind = kind
        self.connector = connector
        self.data = data
        self.timestampMs = timestampMs
    }

    /// Order of types sent in the same millisecond (STARTED before IN_PROGRESS before a scan's end before the end).
    var typeRank: Int {
        switch type {
        case "STARTED": 0
        case "RESUMED": 1
        case "IN_PROGRESS": 2
        case "TABLE_SCAN_COMPLETED": 3
        case "PAUSED": 4
        default: 5
        }
    }

    /// `data_collections` ("public.items,public.small"; Debezium also writes ", " between names).
    var collections: [String] {
        (data["data_collections"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter {
            !$0.isEmpty
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}

/// Every snapshot notification read (deduplicated by id), kept in the order Debezium created them.
package struct SnapshotNotificationLog: Sendable {
    package private(set) var notifications: [SnapshotNotification] = []
    private var ids = Set<String>()
    /// Notifications added, and that count when the checkpoint last saved the log (see `encodeIfChanged`).
    package internal(set) var changeCount: Int64 = 0
    var savedChangeCount: Int64 = 0
    /// Oldest dropped beyond this (a pipeline that snapshots again and again).
    package static let kept = 2000

    package init() {}

    /// Adds one, in timestamp order (messages of several partitions arrive out of order).
    package mutating func add(_ n: SnapshotNotification) {
        guard ids.insert(n.id + "/" + n.type).inserted else { return }
        changeCount += 1
        let key = (n.timestampMs, n.typeRank)
        var i = notifications.endIndex
        while i > 0, (notifications[i - 1].timestampMs, notifications[i - 1].typeRank) > key { i -= 1 }
        notifications.insert(n, at: i)
        if notifications.count > Self.kept {
            let gone = notifications.removeFirst()
            ids.remove(gone.id + "/" + gone.type)
        }
    }
}

/// Snapshot rows counted per topic on the engine thread: an array indexed by the decoder's topic slot,
/// touched once per snapshot row (no allocation once the slot is known).
package struct SnapshotReadTracker: Sendable {
    package struct Reads: Sendable, Hashable {
        package var rows: Int64 = 0
        /// Debezium's processing time (envelope `ts_ms`) of the first and last row read.
        package var firstAtMs: Int64 = 0
        package var lastAtMs: Int64 = 0
        /// Wall time cdctop received the last row (the stall alert's clock); the event time in replays.
        package var lastReceivedAtMs: Int64 = 0
        /// The table's last row (`last_in_data_collection` or `last`) was read.
        package var tableDone = false
        /// The whole snapshot's last row (`last`) was read on this topic.
        package var snapshotDone = false
        /// Rows by when Debezium made them, since the table's first row: `historyBuckets` buckets of
        /// `bucketSeconds` each from second `historyStart`. Rows read from a topic's partitions in any
        /// order land where they were made. When a row lands past the last bucket, neighbours merge and
        /// the width doubles: a whole table's pace in a fixed size, at least 1/32 of its time fine.
        package var historyStart: Int64 = 0
        package var bucketSeconds: Int64 = 1
        package var buckets: [Int64] = []
    }
    package static let historyBuckets = 64
    /// The rate's window is half the table's time so far, but not under this.
    package static let shortestRateWindowSeconds: Int64 = 3

    /// [slot][0: initial, 1: incremental]
    package private(set) var bySlot: [[Reads]] = []
    /// Rows noted, and that count when the checkpoint last saved them (see `encodeIfChanged`).
    package internal(set) var changeCount: Int64 = 0
    var savedChangeCount: Int64 = 0

    package init() {}

    /// One snapshot row of the topic in `slot`. `atMs`: Debezium's time for the row (envelope `ts_ms`,
    /// else the commit time); `receivedAtMs`: when cdctop received it (0: unknown, then `atMs`).
    @inline(__always)
    package mutating func note(slot: Int, marker: SnapshotRowMarker, atMs: Int64, receivedAtMs: Int64) {
        if slot >= bySlot.count { grow(to: slot) }
        changeCount &+= 1
        let k = marker == .incremental ? 1 : 0
        bySlot[slot][k].count(marker: marker, atMs: atMs, receivedAtMs: receivedAtMs > 0 ? receivedAtMs : atMs)
    }

    @inline(never)
    private mutating func grow(to slot: Int) {
        while bySlot.count <= slot { bySlot.append([Reads(), Reads()]) }
    }

    /// A restored topic's counts (see `restore`).
    mutating func place(slot: Int, kind: Int, _ reads: Reads) {
        if slot >= bySlot.count { grow(to: slot) }
        bySlot[slot][kind] = reads
    }
}

extension SnapshotReadTracker.Reads {
    @inline(__always)
    mutating func count(marker: SnapshotRowMarker, atMs: Int64, receivedAtMs: Int64) {
        // A row Debezium made after the table's last one: a new run of this table. Rows made before it
        // still arrive after it from the topic's other partitions, and count.
        if tableDone && atMs > lastAtMs { restart() }
        if rows == 0 || atMs < firstAtMs { firstAtMs = atMs }
        rows += 1
        lastAtMs = max(lastAtMs, atMs)
        lastReceivedAtMs = max(lastReceivedAtMs, receivedAtMs)
        if marker == .lastInCollection || marker == .last { tableDone = true }
        if marker == .last { snapshotDone = true }
        let second = atMs / 1000
        if buckets.isEmpty { startHistory(at: second) }
        // A row made before the first one read (another partition's): counted in the first bucket.
        var index = Int(max(0, second - historyStart) / bucketSeconds)
        if index >= SnapshotReadTracker.historyBuckets {
            widenHistory(toHold: second)
            index = Int((second - historyStart) / bucketSeconds)
        }
        buckets[index] += 1
    }

    @inline(never)
    mutating func restart() { self = SnapshotReadTracker.Reads() }

    @inline(never)
    mutating func startHistory(at second: Int64) {
        historyStart = second
        bucketSeconds = 1
        buckets = Array(repeating: 0, count: SnapshotReadTracker.historyBuckets)
    }

    /// Merges neighbouring buckets (doubling their width) until `second` falls in the last one or before.
    @inline(never)
    mutating func widenHistory(toHold second: Int64) {
        let n = SnapshotReadTracker.historyBuckets
        while (second - historyStart) / bucketSeconds >= Int64(n) {
            for i in 0..<n / 2 { buckets[i] = buckets[2 * i] + buckets[2 * i + 1] }
            for i in n / 2..<n { buckets[i] = 0 }
            bucketSeconds *= 2
        }
    }

    /// Rows made in the whole seconds [from, to) of Debezium's time; a bucket partly inside counts in
    /// proportion (rows taken as even within it).
    func rowsMade(from: Int64, to: Int64) -> Double {
        var total = 0.0
        for (i, rows) in buckets.enumerated() where rows > 0 {
            let start = historyStart + Int64(i) * bucketSeconds
            let overlap = min(to, start + bucketSeconds) - max(from, start)
            if overlap > 0 { total += Double(rows) * Double(overlap) / Double(bucketSeconds) }
        }
        return total
    }

    /// Rows per second over the latest half of the time the table has been read (at least 3 s), in
    /// whole seconds of Debezium's time before the newest row's (the newest second is still filling, the
    /// first one began mid-second). Half, not a fixed window: Debezium fills its queue and the producer's
    /// buffers at full speed first (30,000 rows in 6 s, then 2,000 rows/s on the stack), which the half
    /// leaves out once the table has been read twice that long, and the pace then drifts with the
    /// machine's load, which a long window smooths and a short one chases. Chosen on recorded snapshots
    /// (Tests/Fixtures/snapshot-pace; docs/operations.md has the figures): fitting a trend to a falling pace
    /// removed the bias there but multiplied the spread. A table read in under that:
    /// its rows over its span. nil with less than a second of rows.
    func rate() -> Double? {
        guard rows > 0, lastAtMs > firstAtMs else { return nil }
        let newest = lastAtMs / 1000
        let first = historyStart + 1
        let window = max(SnapshotReadTracker.shortestRateWindowSeconds, (newest - first + 1) / 2)
        let from = max(newest - window, first)
        guard from < newest else {
            return lastAtMs - firstAtMs >= 1000 ? Double(rows) * 1000 / Double(lastAtMs - firstAtMs) : nil
        }
        return rowsMade(from: from, to: newest) / Double(newest - from)
    }
}

/// One table of one snapshot.
package struct TableSnapshotProgress: Sendable, Hashable {
    package enum State: String, Sendable, Hashable { case waiting, running, done, aborted }
    /// As Debezium names the collection (`public.items`, MySQL `shop.orders`), else the topic's name
    /// without its prefix.
    package var table: String
    package var topic: String?
    package var state: State
    /// Rows read so far: the snapshot rows cdctop read, or Debezium's own count once the scan completed.
    package var rowsRead: Int64
    /// The source's estimate (`--source`), or Debezium's count once the scan completed; nil: unknown.
    package var rowsEstimated: Int64?
    /// Where the estimate came from: "pg_class.reltuples", "count(*)", "information_schema.tables", "scan".
    package var estimateSource: String?
    /// Debezium's times (ms since epoch); 0 when not known.
    package var startedAtMs: Int64
    package var endedAtMs: Int64
    /// Rows per second over the latest half of the table's time so far (Debezium's clock); nil until a
    /// second of rows was read.
    package var rowsPerSecond: Double?
    /// Wall time cdctop last saw a row of it.
    package var lastRowReceivedAtMs: Int64
    /// Debezium's time of the newest row read (the moment the rate and ETA are measured at); 0 if none.
    package var lastRowAtMs: Int64 = 0

    package init(
        table: String, topic: String? = nil, state: State, rowsRead: Int64 = 0, rowsEstimated: Int64? = nil,
        estimateSource: String? = nil, startedAtMs: Int64 = 0, endedAtMs: Int64 = 0, rowsPerSecond: Double? = nil,
        lastRowReceivedAtMs: Int64 = 0
    ) {
        self.table = table
        self.topic = topic
        self.state = state
        self.rowsRead = rowsRead
        self.rowsEstimated = rowsEstimated
        self.estimateSource = estimateSource
        self.startedAtMs = startedAtMs
        self.endedAtMs = endedAtMs
        self.rowsPerSecond = rowsPerSecond
        self.lastRowReceivedAtMs = lastRowReceivedAtMs
    }

    /// 0…100; 100 once done; nil without an estimate. Below 100 until the scan completed, however far
    /// past an old estimate the rows went.
    package var percent: Double? {
        if state == .done { return 100 }
        guard let e = rowsEstimated, e > 0 else { return rowsEstimated == 0 && state != .waiting ? 99.9 : nil }
        return min(99.9, Double(rowsRead) * 100 / Double(e))
    }

    /// Rows still to read (0 once done); nil without an estimate.
    package var rowsRemaining: Int64? {
        if state == .done { return 0 }
        return rowsEstimated.map { max(0, $0 - rowsRead) }
    }

    /// Seconds left at the current rate; nil without an estimate or a rate.
    package var etaSeconds: Double? {
        if state == .done { return 0 }
        guard let remaining = rowsRemaining, let r = rowsPerSecond, r > 0 else { return nil }
        return Double(remaining) / r
    }
}

/// One snapshot of one connector.
package struct ConnectorSnapshotProgress: Sendable, Hashable {
    package enum Phase: String, Sendable, Hashable { case running, paused, completed, aborted, skipped }
    /// The connector's name (notifications), else the topic prefix of its rows.
    package var connector: String
    package var kind: SnapshotKind
    package var phase: Phase
    /// "notifications" (Debezium's notification topic) or "events" (the `op` r rows alone).
    package var source: String
    package var startedAtMs: Int64
    package var endedAtMs: Int64
    /// Every table the snapshot covers, in Debezium's order (notifications), else those seen so far.
    package var tables: [TableSnapshotProgress]
    /// How many tables it covers; nil while unknown (rows alone name a table only once it starts).
    package var tablesTotal: Int?
    /// Whether the end can be seen: false for an incremental snapshot without notifications (Debezium
    /// marks no last row there), which therefore never counts as stalled.
    package var endDetectable: Bool
    /// Latest activity cdctop saw (wall time of a row, or a notification's time).
    package var lastActivityMs: Int64

    package init(
        connector: String, kind: SnapshotKind, phase: Phase, source: String, startedAtMs: Int64 = 0,
        endedAtMs: Int64 = 0,
        tables: [TableSnapshotProgress] = [], tablesTotal: Int? = nil, endDetectable: Bool = true,
        lastActivityMs: Int64 = 0
    ) {
        self.connector = connector
        self.kind = kind
        self.phase = phase
        self.source = source
        self.startedAtMs = startedAtMs
        self.endedAtMs = endedAtMs
        self.tables = tables
        self.tablesTotal = tablesTotal
        self.endDetectable = endDetectable
        self.lastActivityMs = lastActivityMs
    }

    package var tablesDone: Int { tables.filter { $0.state == .done }.count }
    package var rowsRead: Int64 { tables.reduce(0) { $0 + $1.rowsRead } }
    /// Sum of every table's estimate; nil unless all tables of a known total have one.
    package var rowsEstimated: Int64? {
        guard tablesTotal == tables.count else { return nil }
        var sum: Int64 = 0
        for t in tables {
            guard let e = t.state == .done ? t.rowsRead : t.rowsEstimated else { return nil }
            sum += e
        }
        return sum
    }
    package var rowsRemaining: Int64? {
        guard tablesTotal == tables.count else { return nil }
        var sum: Int64 = 0
        for t in tables {
            guard let r = t.rowsRemaining else { return nil }
            sum += r
        }
        return sum
    }
    package var percent: Double? {
        if phase == .completed { return 100 }
        guard let e = rowsEstimated, e > 0 else { return nil }
        return min(99.9, Double(rowsRead) * 100 / Double(e))
    }
    /// The rate of the tables being read now (Debezium reads one table at a time by default).
    package var rowsPerSecond: Double? {
        let running = tables.filter { $0.state == .running }.compactMap(\.rowsPerSecond)
        return running.isEmpty ? nil : running.reduce(0, +)
    }
    /// Seconds until every table is read, at the current rate; 0 once completed.
    package var etaSeconds: Double? {
        if phase == .completed { return 0 }
        guard phase == .running, let remaining = rowsRemaining, let r = rowsPerSecond, r > 0 else { return nil }
        return Double(remaining) / r
    }

    /// Running, with no new row or notification for `stalledMs` (only where the end can be seen). From
    /// rows alone, only while a table is part-read: when every table seen is done, the snapshot's last
    /// row may be on a topic cdctop does not read.
    package func stalled(nowMs: Int64, stalledMs: Int64) -> Bool {
        phase == .running && endDetectable && lastActivityMs > 0 && nowMs - lastActivityMs > stalledMs
            && (source == "notifications" || tables.contains { $0.state == .running })
    }
}

/// Every snapshot seen this run, newest last per connector.
package struct SnapshotProgressReport: Sendable, Hashable {
    /// Sorted by (connector, kind, startedAtMs), as `build` leaves them.
    package var snapshots: [ConnectorSnapshotProgress] = []
    /// Notifications read (snapshot ones), for the panel's "from notifications" note.
    package var notificationsRead: Int = 0
    package init() {}

    package var isEmpty: Bool { snapshots.isEmpty }
    /// Snapshots still running (or paused).
    package var active: [ConnectorSnapshotProgress] { snapshots.filter { $0.phase == .running || $0.phase == .paused } }
    /// The latest run of each connector and kind, in (connector, kind) order: the last of each group of `snapshots`.
    package var latestRuns: [ConnectorSnapshotProgress] {
        var out: [ConnectorSnapshotProgress] = []
        for s in snapshots {
            if let last = out.last, last.connector == s.connector, last.kind == s.kind {
                out[out.count - 1] = s
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// Tables whose estimate the source should be asked for: those of snapshots not finished.
    package var tablesWanted: Set<String> {
        var out = Set<String>()
        for s in snapshots where s.phase == .running || s.phase == .paused {
            for t in s.tables where t.state != .done { out.insert(t.table) }
        }
        return out
    }

    /// Fills in the source's estimates (by collection name, `schema.table`), where Debezium's count is not known.
    package mutating func applyEstimates(_ estimates: [String: (rows: Int64, source: String)]) {
        guard !estimates.isEmpty else { return }
        for i in snapshots.indices {
            for j in snapshots[i].tables.indices where snapshots[i].tables[j].state != .done {
                if let e = estimates[snapshots[i].tables[j].table] {
                    snapshots[i].tables[j].rowsEstimated = e.rows
                    snapshots[i].tables[j].estimateSource = e.source
                }
            }
        }
    }

    // MARK: building

    /// A table's rows as the engine counted them, named.
    package struct TopicReads: Sendable {
        /// The topic's prefix (`topic.prefix`, the part before the first dot) and the rest (the collection).
        package var prefix: String
        package var collection: String
        package var topic: String
        package var kind: SnapshotKind
        package var reads: SnapshotReadTracker.Reads
        package init(topic: String, kind: SnapshotKind, reads: SnapshotReadTracker.Reads) {
            self.topic = topic
            self.kind = kind
            self.reads = reads
            if let dot = topic.firstIndex(of: ".") {
                prefix = String(topic[..<dot])
                collection = String(topic[topic.index(after: dot)...])
            } else {
                prefix = topic
                collection = topic
            }
        }
    }

    /// Joins notifications (folded in timestamp order) and counted rows. Rows of a table a notification
    /// run names are that run's; the rest form runs of their own per topic prefix ("events").
    package static func build(notifications: [SnapshotNotification], reads: [TopicReads]) -> SnapshotProgressReport {
        var report = SnapshotProgressReport()
        report.notificationsRead = notifications.count
        var used = Set<Int>()
        // Notification runs, per (connector, kind): a STARTED (or the first one seen) opens a run.
        var runs: [ConnectorSnapshotProgress] = []
        var openRun: [String: Int] = [:]
        for n in notifications {
            let key = n.connector + "\u{0}" + n.kind.rawValue
            var index = openRun[key]
            if n.type == "STARTED" || index == nil
                || isFinished(runs[index!].phase) && n.type != "TABLE_SCAN_COMPLETED" && n.type != "COMPLETED"
                    && n.type != "ABORTED"
            {
                runs.append(
                    ConnectorSnapshotProgress(
                        connector: n.connector, kind: n.kind, phase: .running, source: "notifications",
                        startedAtMs: n.timestampMs))
                index = runs.count - 1
                openRun[key] = index
            }
            fold(n, into: &runs[index!])
        }
        for i in runs.indices {
            var run = runs[i]
            for j in run.tables.indices {
                let name = run.tables[j].table
                // The rows of this table: same collection and kind, preferring the connector's own prefix.
                let candidates = reads.indices.filter {
                    !used.contains($0) && reads[$0].collection == name && reads[$0].kind == run.kind
                }
                guard let r = candidates.first(where: { reads[$0].prefix == run.connector }) ?? candidates.first else {
                    continue
                }
                // Only rows of this run: read after it started (a second, cdctop-side margin for clocks).
                let reads = reads[r]
                guard reads.reads.lastAtMs + 1000 >= run.startedAtMs else { continue }
                used.insert(r)
                merge(reads, into: &run.tables[j])
                run.lastActivityMs = max(run.lastActivityMs, reads.reads.lastReceivedAtMs)
            }
            runs[i] = run
        }
        // Rows no notification named: one run per prefix and kind.
        var eventRuns: [String: ConnectorSnapshotProgress] = [:]
        var order: [String] = []
        for (i, r) in reads.enumerated() where !used.contains(i) && r.reads.rows > 0 {
            let key = r.prefix + "\u{0}" + r.kind.rawValue
            if eventRuns[key] == nil {
                eventRuns[key] = ConnectorSnapshotProgress(
                    connector: r.prefix, kind: r.kind, phase: .running, source: "events",
                    endDetectable: r.kind == .initial)
                order.append(key)
            }
            var table = TableSnapshotProgress(table: r.collection, topic: r.topic, state: .waiting)
            merge(r, into: &table)
            eventRuns[key]!.tables.append(table)
            eventRuns[key]!.lastActivityMs = max(eventRuns[key]!.lastActivityMs, r.reads.lastReceivedAtMs)
            if r.reads.snapshotDone { eventRuns[key]!.phase = .completed }
        }
        for key in order {
            var run = eventRuns[key]!
            run.tables.sort { ($0.startedAtMs, $0.table) < ($1.startedAtMs, $1.table) }
            run.startedAtMs = run.tables.map(\.startedAtMs).filter { $0 > 0 }.min() ?? 0
            if run.phase == .completed {
                // The last row of the snapshot: every table it covered has been seen.
                run.tablesTotal = run.tables.count
                run.endedAtMs = run.tables.map(\.endedAtMs).max() ?? 0
                for j in run.tables.indices { run.tables[j].state = .done }
            }
            runs.append(run)
        }
        report.snapshots = runs.sorted {
            ($0.connector, $0.kind, $0.startedAtMs) < ($1.connector, $1.kind, $1.startedAtMs)
        }
        return report
    }

    private static func isFinished(_ p: ConnectorSnapshotProgress.Phase) -> Bool {
        p == .completed || p == .aborted || p == .skipped
    }

    private static func tableIndex(_ name: String, in run: inout ConnectorSnapshotProgress) -> Int {
        if let i = run.tables.firstIndex(where: { $0.table == name }) { return i }
        run.tables.append(TableSnapshotProgress(table: name, state: .waiting))
        return run.tables.count - 1
    }

    static func fold(_ n: SnapshotNotification, into run: inout ConnectorSnapshotProgress) {
        run.lastActivityMs = max(run.lastActivityMs, n.timestampMs)
        let collections = n.collections
        if !collections.isEmpty {
            for c in collections { _ = tableIndex(c, in: &run) }
            run.tablesTotal = max(run.tablesTotal ?? 0, run.tables.count)
        }
        switch n.type {
        case "STARTED":
            run.phase = .running
            run.startedAtMs = n.timestampMs
        case "IN_PROGRESS", "RESUMED":
            if run.phase == .paused || n.type == "RESUMED" { run.phase = .running }
            if let current = n.data["current_collection_in_progress"], !current.isEmpty {
                let i = tableIndex(current, in: &run)
                if run.tables[i].state == .waiting {
                    run.tables[i].state = .running
                    run.tables[i].startedAtMs = n.timestampMs
                }
                // Debezium scans one table at a time: one in progress means the earlier ones are done.
                for j in 0..<i where run.tables[j].state == .running { run.tables[j].state = .done }
            }
        case "TABLE_SCAN_COMPLETED":
            let name = n.data["scanned_collection"] ?? n.data["data_collection"] ?? ""
            guard !name.isEmpty else { break }
            let i = tableIndex(name, in: &run)
            let ok = (n.data["status"] ?? "SUCCEEDED") == "SUCCEEDED"
            run.tables[i].state = ok ? .done : .aborted
            run.tables[i].endedAtMs = n.timestampMs
            if let rows = n.data["total_rows_scanned"].flatMap({ Int64($0) }) {
                run.tables[i].rowsRead = max(run.tables[i].rowsRead, rows)
                run.tables[i].rowsEstimated = rows
                run.tables[i].estimateSource = "scan"
            }
        case "PAUSED":
            run.phase = .paused
        case "COMPLETED":
            run.phase = .completed
            run.endedAtMs = n.timestampMs
            for j in run.tables.indices where run.tables[j].state == .running { run.tables[j].state = .done }
            if run.tablesTotal == nil { run.tablesTotal = run.tables.count }
        case "ABORTED", "STOPPED":
            run.phase = .aborted
            run.endedAtMs = n.timestampMs
            for j in run.tables.indices where run.tables[j].state == .running { run.tables[j].state = .aborted }
        case "SKIPPED":
            run.phase = .skipped
            run.endedAtMs = n.timestampMs
        default:
            break
        }
    }

    static func merge(_ r: TopicReads, into t: inout TableSnapshotProgress) {
        let reads = r.reads
        t.topic = r.topic
        if t.state != .done || t.rowsRead < reads.rows { t.rowsRead = max(t.rowsRead, reads.rows) }
        if t.startedAtMs == 0 || (reads.firstAtMs > 0 && reads.firstAtMs < t.startedAtMs) {
            t.startedAtMs = reads.firstAtMs
        }
        t.lastRowReceivedAtMs = reads.lastReceivedAtMs
        t.lastRowAtMs = reads.lastAtMs
        if reads.tableDone {
            t.state = .done
            if t.endedAtMs == 0 { t.endedAtMs = reads.lastAtMs }
        } else if t.state == .waiting, reads.rows > 0 {
            t.state = .running
        }
        if t.state == .running { t.rowsPerSecond = reads.rate() }
        if t.state == .done, t.startedAtMs > 0, t.endedAtMs > t.startedAtMs {
            t.rowsPerSecond = Double(t.rowsRead) * 1000 / Double(t.endedAtMs - t.startedAtMs)
        }
    }

    // MARK: output

    /// `[{"connector","kind","phase","source","started_ms","ended_ms","tables_total","tables_done","rows_read",
    /// "rows_estimated","percent","rows_per_second","eta_seconds","idle_seconds","tables":[{"table","topic","state",
    /// "rows_read","rows_estimated","estimate_source","percent","rows_per_second","eta_seconds","started_ms","ended_ms","last_row_ms"}]}]`,
    /// null where unknown.
    package func json(nowMs: Int64) -> String {
        func num(_ v: Double?) -> String {
            guard let v, v.isFinite else { return "null" }
            return String(Double((v * 10).rounded()) / 10)
        }
        func int(_ v: Int64?) -> String { v.map(String.init) ?? "null" }
        var out = "["
        for (i, s) in snapshots.enumerated() {
            if i > 0 { out += "," }
            out +=
                "{\"connector\":\(JSONText.quoted(s.connector)),\"kind\":\"\(s.kind.rawValue)\",\"phase\":\"\(s.phase.rawValue)\""
            out +=
                ",\"source\":\"\(s.source)\",\"started_ms\":\(s.startedAtMs),\"ended_ms\":\(s.endedAtMs == 0 ? "null" : String(s.endedAtMs))"
            out += ",\"tables_total\":\(s.tablesTotal.map(String.init) ?? "null"),\"tables_done\":\(s.tablesDone)"
            out +=
                ",\"rows_read\":\(s.rowsRead),\"rows_estimated\":\(int(s.rowsEstimated)),\"percent\":\(num(s.percent))"
            out += ",\"rows_per_second\":\(num(s.rowsPerSecond)),\"eta_seconds\":\(num(s.etaSeconds))"
            let idle =
                s.phase == .running && s.lastActivityMs > 0 ? Double(max(0, nowMs - s.lastActivityMs)) / 1000 : nil
            out += ",\"idle_seconds\":\(num(idle)),\"tables\":["
            for (j, t) in s.tables.enumerated() {
                if j > 0 { out += "," }
                out +=
                    "{\"table\":\(JSONText.quoted(t.table)),\"topic\":\(t.topic.map(JSONText.quoted) ?? "null"),\"state\":\"\(t.state.rawValue)\""
                out += ",\"rows_read\":\(t.rowsRead),\"rows_estimated\":\(int(t.rowsEstimated))"
                out +=
                    ",\"estimate_source\":\(t.estimateSource.map(JSONText.quoted) ?? "null"),\"percent\":\(num(t.percent))"
                out += ",\"rows_per_second\":\(num(t.rowsPerSecond)),\"eta_seconds\":\(num(t.etaSeconds))"
                out +=
                    ",\"started_ms\":\(t.startedAtMs == 0 ? "null" : String(t.startedAtMs)),\"ended_ms\":\(t.endedAtMs == 0 ? "null" : String(t.endedAtMs))"
                out += ",\"last_row_ms\":\(t.lastRowAtMs == 0 ? "null" : String(t.lastRowAtMs))}"
            }
            out += "]}"
        }
        return out + "]"
    }
}
