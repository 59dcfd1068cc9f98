/// Health of one external service as the dashboard's status bar shows it.
package struct ServiceStatus: Sendable, Hashable {
    package enum State: String, Sendable, Hashable {
        case off, connecting, ok, paused, error
        /// Connected, but the service answers nothing (a frozen broker, a firewall that drops packets).
        case stalled
    }
    package var state: State
    /// One line for humans: broker list, last error, next retry…
    package var detail: String

    package init(_ state: State, _ detail: String = "") {
        self.state = state
        self.detail = detail
    }
    package static let off = ServiceStatus(.off)

    // MARK: connection detail (issue #13: errors in full) — the Connections panel, --log and --json read these.
    /// The last failure, verbatim (no retry countdown appended); nil when the service never failed.
    package var error: String?
    /// Consecutive failed attempts (connects, polls, writes) since the service last worked; 0 when it works.
    package var attempts: Int = 0
    /// Wall time (ms since epoch) of the next retry; 0 when none is scheduled or the client retries on its own.
    package var nextRetryAtMs: Int64 = 0

    package init(_ state: State, _ detail: String, error: String?, attempts: Int = 0, nextRetryAtMs: Int64 = 0) {
        self.state = state
        self.detail = detail
        self.error = error
        self.attempts = attempts
        self.nextRetryAtMs = nextRetryAtMs
    }
}

/// The durable state's health, as the status bar and `--json` show it.
package struct StateStatus: Sendable, Hashable {
    /// The state directory; nil with `--state none` (in memory only).
    package var directory: String?
    /// Wall time of the last durable checkpoint (ms since epoch); 0 before the first.
    package var lastCheckpointMs: Int64 = 0
    package var checkpoints: Int64 = 0
    /// The last checkpoint failure, verbatim; nil when the last one succeeded.
    package var lastError: String?
    /// What the start restored, e.g. "restored 250,112 keys at offsets shop.public.transaction[0]@4012 …".
    package var restored: String?
    /// A viewer: another process (this pid) writes the directory; this one read its latest checkpoint
    /// and writes nothing (`lastCheckpointMs` is that checkpoint's time).
    package var viewerOfPID: Int32?
    /// A viewer's writer's consumer group: the Lag view shows its committed offsets (the viewer's own
    /// group never commits).
    package var writerGroup: String?

    package init(directory: String? = nil) { self.directory = directory }
    package static let none = StateStatus()
}

/// Per-table counters by op, for the Tables view.
package struct TableStats: Sendable, Hashable {
    package var table: String
    package var role: TableRole
    /// Indexed by `ChangeOp.rawValue` (c u d r t tombstone).
    package var opCounts: [Int64]
    package var malformed: Int64
    /// Highest commit time seen for this table (ms since epoch), 0 if none.
    package var lastCommitTimeMs: Int64
    /// Events per second over the last few seconds of wall time.
    package var eventsPerSecond: Double

    package init(table: String, role: TableRole) {
        self.table = table
        self.role = role
        self.opCounts = Array(repeating: 0, count: ChangeOp.allCases.count)
        self.malformed = 0
        self.lastCommitTimeMs = 0
        self.eventsPerSecond = 0
    }

    package func count(_ op: ChangeOp) -> Int64 { opCounts[Int(op.rawValue)] }
    package var total: Int64 { opCounts.reduce(0, +) }
}

/// A message that could not be decoded: kept, counted and shown, never a crash.
package struct MalformedRecord: Sendable, Hashable {
    package var position: EventPosition
    package var reason: String
    package init(position: EventPosition, reason: String) {
        self.position = position
        self.reason = reason
    }
}

/// One schema change (DDL) Debezium reported, as the Tables view and `--json` show it.
package struct SchemaChangeRecord: Sendable, Hashable {
    /// The table it touched (the last part of Debezium's table id); the database name when it named none.
    package var table: String
    /// The database (MySQL) it ran in; the same table name in two databases counts under one name,
    /// as the profile's tables do.
    package var database: String
    package var ddl: String
    /// Commit time of the DDL (`source.ts_ms`), ms since epoch; 0 when unknown.
    package var commitTimeMs: Int64
    package var position: EventPosition

    package init(table: String, database: String = "", ddl: String, commitTimeMs: Int64, position: EventPosition) {
        self.table = table
        self.database = database
        self.ddl = ddl
        self.commitTimeMs = commitTimeMs
        self.position = position
    }
}

/// One recent change of a table, with its raw value so the dashboard can decode the full
/// before/after images on demand (the hot path only extracts the profile's columns).
package struct RecentChange: Sendable, Hashable {
    package var position: EventPosition
    package var op: ChangeOp
    package var key: String
    package var commitTimeMs: Int64
    package var value: [UInt8]?

    package init(position: EventPosition, op: ChangeOp, key: String, commitTimeMs: Int64, value: [UInt8]?) {
        self.position = position
        self.op = op
        self.key = key
        self.commitTimeMs = commitTimeMs
        self.value = value
    }

    /// The value was larger than the engine keeps per change (its bytes are not kept; `value` is nil).
    package var tooLarge = false
    /// Schema ids of a Confluent-framed (Avro) value and key, and the framed key's bytes, for the raw view.
    package var valueSchemaID: Int32? = nil
    package var keySchemaID: Int32? = nil
    package var framedKey: [UInt8]? = nil
    /// The before/after images decoded for display by the engine (typed cells: decimals at their column's
    /// scale, binary as bytes); nil until decoded (the engine decodes a bounded number per snapshot, and an
    /// Avro value waits for its schema) or when it cannot be (`undecodable` says why). The dashboard never
    /// decodes: it shows this or says why not.
    package var decoded: ChangeDescription? = nil
    /// Why the engine could not decode the value for display (not a Debezium change, bytes that do not
    /// follow their Avro schema); nil while it is decoded or not yet tried.
    package var undecodable: String? = nil
}

/// Consumer progress on one topic-partition; lag = highWatermark − committed (or position).
package struct PartitionLag: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
    /// Next offset the group will resume from; -1 when nothing is committed yet.
    package var committed: Int64
    /// Next offset this consumer will read; -1 when unknown.
    package var position: Int64
    /// End of the partition as last reported by the broker; -1 when unknown.
    package var highWatermark: Int64
    /// Oldest offset the partition still holds (its log start), as last reported; -1 when unknown.
    package var logStart: Int64
    /// Commit time of the last event consumed from this partition (ms), 0 if none.
    package var lastCommitTimeMs: Int64
    /// True once the consumer reached the end of the partition at least once.
    package var reachedEnd: Bool

    package init(
        topic: String, partition: Int32, committed: Int64 = -1, position: Int64 = -1,
        highWatermark: Int64 = -1, lastCommitTimeMs: Int64 = 0, reachedEnd: Bool = false, logStart: Int64 = -1
    ) {
        self.topic = topic
        self.partition = partition
        self.committed = committed
        self.position = position
        self.highWatermark = highWatermark
        self.lastCommitTimeMs = lastCommitTimeMs
        self.reachedEnd = reachedEnd
        self.logStart = logStart
    }

    /// Messages between what was consumed and the end of the partition.
    package var lag: Int64 {
        guard highWatermark >= 0 else { return 0 }
        let consumed = position >= 0 ? position : max(committed, 0)
        return max(0, highWatermark - consumed)
    }

    /// Lag of the group's committed offset (what kafka-ui and Burrow show): end − committed; 0 when unknown.
    package var committedLag: Int64 {
        guard highWatermark >= 0 else { return 0 }
        return max(0, highWatermark - max(committed, 0))
    }
}

/// The active profile, as the dashboard header and `--json` name it, and what its KPIs met so far.
package struct ProfileStatus: Sendable, Hashable {
    package var name: String = ""
    /// No `--profile` was given: the built-in shop profile computes KPIs only if the topics carry its tables.
    package var isImplicitDefault = false
    /// KPIs written as SQL (`[kpi.NAME]`), not the built-in sale/line-item/dimension form.
    package var isModel = false
    /// Events of tables the profile reads have arrived.
    package var profileTablesSeen = false
    /// Events of other tables have arrived.
    package var otherTablesSeen = false
    /// Creates for a key that was already alive: two rows claim one identity (a wrong key override?).
    package var keyCollisions: Int64 = 0
    /// Deletes of rows never seen whose before image held only the key and placeholders: the table
    /// needs REPLICA IDENTITY FULL (or cdctop must see its rows from the snapshot on).
    package var placeholderDeletes: Int64 = 0
    package init() {}

    /// The implicit default met only tables it does not know: it has no business KPIs for these topics.
    package var noProfileForTopics: Bool { isImplicitDefault && !profileTablesSeen && otherTablesSeen }
}

/// A run's picture, joined at the edge from each producer's own value: the engine's KPIs, the consumer's
/// progress, the state store's status, the engine's diagnostics and the app's integrations. Each part is
/// built by the one type that owns its facts; a consumer (dashboard, `--json`, `/metrics`, Redis mirror,
/// warehouse sink, alerts) reads the parts it needs and nothing writes into another producer's part.
package struct RunSnapshot: Sendable {
    /// Monotonic sequence number: a consumer can skip a snapshot it has already seen.
    package var sequence: UInt64 = 0
    /// Wall time this snapshot was taken (ms since epoch).
    package var takenAtMs: Int64 = 0
    /// The engine's KPI state: result, windows, watermark and counters (`EngineCore.kpiState`).
    package var kpis: KPIState
    /// The Kafka consumer's progress: partitions, Kafka's status, backlog (`Engine.consumerProgress`).
    package var consumer = ConsumerProgress()
    /// Where the durable state lives and how its checkpoints go (`Checkpointer.status`).
    package var state: StateStatus = .none
    /// What the engine keeps to explain itself: per-table counters, recent changes, malformed messages,
    /// DDL, latency (`EngineCore.diagnostics`).
    package var diagnostics = EngineDiagnostics()
    /// What the app's integrations observe beside the engine (other groups' lag, replication slots).
    package var integrations = IntegrationReports()

    package init(kpis: KPIState) { self.kpis = kpis }
    package init(result: KPIResult) { self.kpis = KPIState(result: result) }

    /// At most about a second of traffic (and never less than 100 messages) behind: "caught up" from the
    /// lag itself, not from every partition reaching its end at once, which steady traffic never shows.
    package var lagCaughtUp: Bool { consumer.totalLag <= max(100, Int64(kpis.eventsPerSecond)) }
}

/// The engine's KPI state: what the aggregator computed and the counters of how it got there.
package struct KPIState: Sendable {
    /// Which profile computes the KPIs and whether it fits the topics read.
    package var profile = ProfileStatus()
    /// Windows held in memory (sorted by start), totals, message/malformed/dropped counters.
    package var result: KPIResult
    /// Windows whose end the watermark has passed; rewritten only by late corrections.
    package var finalWindowStarts: Set<Int64> = []
    /// Highest commit time seen minus allowed lateness.
    package var watermarkMs: Int64 = 0
    /// Highest commit time seen (freshness = now − this).
    package var maxCommitTimeMs: Int64 = 0
    package var lateCorrections: Int64 = 0
    package var tombstones: Int64 = 0
    /// Line items waiting for their product's dimension row (count, net amount).
    package var parkedLineItems: Int64 = 0
    package var parkedRevenue: Money = .zero
    package var eventsPerSecond: Double = 0
    /// New transactions (creates of the sale table) per second over the last few seconds of wall time.
    package var txPerSecond: Double = 0
    package var bytesPerSecond: Double = 0
    /// Newest Debezium heartbeat seen (`__debezium-heartbeat.*` topics), ms since epoch; 0 if none.
    /// A recent heartbeat with no changes means a quiet table, not a dead connector.
    package var lastHeartbeatMs: Int64 = 0
    package var heartbeats: Int64 = 0
    /// Messages of a redelivered offset (at or below the last applied one of its partition): ignored.
    package var duplicates: Int64 = 0
    /// Updates or deletes of a key cdctop never saw (started after the snapshot?).
    package var unmatched: Int64 = 0
    /// Messages of tables or ops the profile does not use (and non-Debezium topics).
    package var ignored: Int64 = 0
    /// Events refused because applying them would overflow a sum (counted, never trapped).
    package var refused: Int64 = 0
    /// Snapshot progress per connector and table (rows `op` r and Debezium's notifications); the app
    /// adds the source's row estimates (`--source`) at the edge.
    package var snapshots = SnapshotProgressReport()
    /// `--transactions complete`: open transactions, events held back, whole and timed-out ones; nil as read.
    package var transactions: TransactionStatus? = nil
    // MARK: perf (#11): what changed since earlier snapshots, so consumers compare only that.
    /// Windows whose result changed, or that became final, per snapshot over the last few dozen
    /// snapshots: a consumer that saw snapshot N compares only `windowChanges.changes(since: N)`.
    /// Empty (compare everything) for a snapshot made by hand.
    package var windowChanges = WindowChangeLog()

    package init(result: KPIResult) { self.result = result }

    /// The window containing `timeMs`, if it is held.
    package func window(containing timeMs: Int64) -> WindowResult? {
        result.window(startingAt: timeMs - TimeText.floorMod(timeMs, result.windowMs))
    }
}

/// The Kafka consumer's progress, as the engine's poll loop sees it.
package struct ConsumerProgress: Sendable {
    package var partitions: [PartitionLag] = []
    package var kafka: ServiceStatus = .off
    /// True once every assigned partition has reached its end at least once.
    package var caughtUp: Bool = false
    /// A startup backlog still being read (nil once every partition was read to its end once): reported
    /// as backlog, not as consumer latency (issue 22).
    package var backlog: BacklogProgress? = nil
    /// Partitions whose end fell below what was read, or whose log start passed it
    /// (`OffsetRegressionDetector`, fed with every snapshot's watermarks).
    package var offsetRegressions = OffsetRegressionReport()

    package init() {}

    /// The topics read, each once, in partition order.
    package var topics: [String] {
        var seen = Set<String>()
        return partitions.compactMap { seen.insert($0.topic).inserted ? $0.topic : nil }
    }

    /// A viewer (a second `watch` on a busy state directory) commits nothing: its committed offsets are the
    /// writer's group's, as the cluster reports them (`--lag-groups` asks for that group). Unknown (-1) until
    /// the report has them. Returns whether it had any.
    @discardableResult
    package mutating func adoptCommitted(ofGroup group: String, from report: GroupLagReport?) -> Bool {
        var theirs: [String: Int64] = [:]
        for p in report?.partitions ?? [] where p.group == group {
            theirs["\(p.topic)\u{0}\(p.partition)"] = p.committed
        }
        for i in partitions.indices {
            partitions[i].committed = theirs["\(partitions[i].topic)\u{0}\(partitions[i].partition)"] ?? -1
        }
        return !theirs.isEmpty
    }

    package var totalLag: Int64 { partitions.reduce(0) { $0 + $1.lag } }
    package var totalCommittedLag: Int64 { partitions.reduce(0) { $0 + $1.committedLag } }

    /// Kafka answers, partitions are assigned and every end offset is known: the lag is a number
    /// (with Kafka down or nothing assigned it is unknown, not zero).
    package var lagKnown: Bool {
        kafka.state == .ok && !partitions.isEmpty && partitions.allSatisfy { $0.highWatermark >= 0 }
    }
}

/// What the engine keeps to explain itself: where events went, what failed, what changed.
package struct EngineDiagnostics: Sendable {
    /// Per-table counters by op and rate, sorted by table.
    package var tables: [TableStats] = []
    package var recentMalformed: [MalformedRecord] = []
    /// Most recent changes per table, newest last, decoded for display by the engine.
    package var recentChanges: [String: [RecentChange]] = [:]
    /// Schema changes (DDL messages of Debezium's schema-change topic) per table, since this run started.
    package var schemaChanges: [String: Int64] = [:]
    /// The latest schema changes, oldest first (at most `recentDDLKept` of the engine).
    package var recentDDL: [SchemaChangeRecord] = []
    /// DDL messages of a connector's initial snapshot (DROP/CREATE of the schema as it was): counted, not listed.
    package var snapshotDDL: Int64 = 0
    /// Median and p99 of each hop (source → Debezium → Kafka → cdctop) per table over the last minute.
    package var latency: [TableLatency] = []

    package init() {}
}

/// What the app's integrations observe beside the engine; nil where the integration is off.
package struct IntegrationReports: Sendable {
    /// Other consumer groups' lag (`--lag-groups`).
    package var groupLag: GroupLagReport? = nil
    /// The source's logical replication slots (`--source` on PostgreSQL).
    package var replicationSlots: ReplicationSlotReport? = nil

    package init(groupLag: GroupLagReport? = nil, replicationSlots: ReplicationSlotReport? = nil) {
        self.groupLag = groupLag
        self.replicationSlots = replicationSlots
    }
}

// MARK: perf (#11): window changes per snapshot.

/// The windows each recent snapshot changed, so a consumer that skips snapshots (the warehouse sink
/// fed only at checkpoints) still compares only what changed since the one it saw.
package struct WindowChangeLog: Sendable {
    package struct Entry: Sendable {
        /// The snapshot's sequence number.
        package var sequence: UInt64
        /// Windows changed, or become final, since the snapshot before it.
        package var changed: Set<Int64>
    }
    /// Oldest first, at most `kept`.
    package private(set) var entries: [Entry] = []
    /// The snapshot the oldest entry's changes are relative to; nil when nothing is known.
    package private(set) var base: UInt64?
    package static let kept = 64

    package init() {}

    /// Records snapshot `sequence` with the windows changed since snapshot `previous` (nil: unknown,
    /// e.g. the first snapshot or one after a restore; the log starts afresh).
    package mutating func record(sequence: UInt64, since previous: UInt64?, changed: Set<Int64>?) {
        guard let previous, let changed else {
            entries = []
            base = sequence
            return
        }
        if previous != (entries.last?.sequence ?? base) {
            entries = []
            base = previous
        }
        entries.append(Entry(sequence: sequence, changed: changed))
        if entries.count > WindowChangeLog.kept { base = entries.removeFirst().sequence }
    }

    /// Windows changed (or become final) after snapshot `sequence` up to the latest, or nil when
    /// the log does not reach back to it: then compare every window.
    package func changes(since sequence: UInt64) -> Set<Int64>? {
        let from: Int
        if sequence == base {
            from = 0
        } else {
            guard let i = entries.firstIndex(where: { $0.sequence == sequence }) else { return nil }
            from = i + 1
        }
        var all = Set<Int64>()
        for entry in entries[from...] { all.formUnion(entry.changed) }
        return all
    }
}
