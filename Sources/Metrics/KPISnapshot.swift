/// Health of one external service as the dashboard's status bar shows it.
public struct ServiceStatus: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case off, connecting, ok, paused, error
        /// Connected, but the service answers nothing (a frozen broker, a firewall that drops packets).
        case stalled
    }
    public var state: State
    /// One line for humans: broker list, last error, next retry…
    public var detail: String

    public init(_ state: State, _ detail: String = "") { self.state = state; self.detail = detail }
    public static let off = ServiceStatus(.off)

    // MARK: connection detail (issue #13: errors in full) — the Connections panel, --log and --json read these.
    /// The last failure, verbatim (no retry countdown appended); nil when the service never failed.
    public var error: String?
    /// Consecutive failed attempts (connects, polls, writes) since the service last worked; 0 when it works.
    public var attempts: Int = 0
    /// Wall time (ms since epoch) of the next retry; 0 when none is scheduled or the client retries on its own.
    public var nextRetryAtMs: Int64 = 0

    public init(_ state: State, _ detail: String, error: String?, attempts: Int = 0, nextRetryAtMs: Int64 = 0) {
        self.state = state; self.detail = detail; self.error = error; self.attempts = attempts; self.nextRetryAtMs = nextRetryAtMs
    }
}

/// The durable state's health, as the status bar and `--json` show it.
public struct StateStatus: Sendable, Hashable {
    /// The state directory; nil with `--state none` (in memory only).
    public var directory: String?
    /// Wall time of the last durable checkpoint (ms since epoch); 0 before the first.
    public var lastCheckpointMs: Int64 = 0
    public var checkpoints: Int64 = 0
    /// The last checkpoint failure, verbatim; nil when the last one succeeded.
    public var lastError: String?
    /// What the start restored, e.g. "restored 250,112 keys at offsets shop.public.transaction[0]@4012 …".
    public var restored: String?
    /// A viewer: another process (this pid) writes the directory; this one read its latest checkpoint
    /// and writes nothing (`lastCheckpointMs` is that checkpoint's time).
    public var viewerOfPID: Int32?

    public init(directory: String? = nil) { self.directory = directory }
    public static let none = StateStatus()
}

/// Per-table counters by op, for the Tables view.
public struct TableStats: Sendable, Hashable {
    public var table: String
    public var role: TableRole
    /// Indexed by `ChangeOp.rawValue` (c u d r t tombstone).
    public var opCounts: [Int64]
    public var malformed: Int64
    /// Highest commit time seen for this table (ms since epoch), 0 if none.
    public var lastCommitTimeMs: Int64
    /// Events per second over the last few seconds of wall time.
    public var eventsPerSecond: Double

    public init(table: String, role: TableRole) {
        self.table = table; self.role = role
        self.opCounts = Array(repeating: 0, count: ChangeOp.allCases.count)
        self.malformed = 0; self.lastCommitTimeMs = 0; self.eventsPerSecond = 0
    }

    public func count(_ op: ChangeOp) -> Int64 { opCounts[Int(op.rawValue)] }
    public var total: Int64 { opCounts.reduce(0, +) }
}

/// A message that could not be decoded: kept, counted and shown, never a crash.
public struct MalformedRecord: Sendable, Hashable {
    public var position: EventPosition
    public var reason: String
    public init(position: EventPosition, reason: String) { self.position = position; self.reason = reason }
}

/// One schema change (DDL) Debezium reported, as the Tables view and `--json` show it.
public struct SchemaChangeRecord: Sendable, Hashable {
    /// The table it touched (the last part of Debezium's table id); the database name when it named none.
    public var table: String
    /// The database (MySQL) it ran in; the same table name in two databases counts under one name,
    /// as the profile's tables do.
    public var database: String
    public var ddl: String
    /// Commit time of the DDL (`source.ts_ms`), ms since epoch; 0 when unknown.
    public var commitTimeMs: Int64
    public var position: EventPosition

    public init(table: String, database: String = "", ddl: String, commitTimeMs: Int64, position: EventPosition) {
        self.table = table; self.database = database; self.ddl = ddl; self.commitTimeMs = commitTimeMs; self.position = position
    }
}

/// One recent change of a table, with its raw value so the dashboard can decode the full
/// before/after images on demand (the hot path only extracts the profile's columns).
public struct RecentChange: Sendable, Hashable {
    public var position: EventPosition
    public var op: ChangeOp
    public var key: String
    public var commitTimeMs: Int64
    public var value: [UInt8]?

    public init(position: EventPosition, op: ChangeOp, key: String, commitTimeMs: Int64, value: [UInt8]?) {
        self.position = position; self.op = op; self.key = key; self.commitTimeMs = commitTimeMs; self.value = value
    }

    /// The value was larger than the engine keeps per change (its bytes are not kept; `value` is nil).
    public var tooLarge = false
    /// Schema ids of a Confluent-framed (Avro) value and key, and the framed key's bytes, for the raw view.
    public var valueSchemaID: Int32? = nil
    public var keySchemaID: Int32? = nil
    public var framedKey: [UInt8]? = nil
    /// The before/after images decoded for display by the engine (typed cells: decimals at their column's
    /// scale, binary as bytes); nil when not decoded (an Avro schema not at hand, not a Debezium change).
    public var decoded: ChangeDescription? = nil
}

/// Consumer progress on one topic-partition; lag = highWatermark − committed (or position).
public struct PartitionLag: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    /// Next offset the group will resume from; -1 when nothing is committed yet.
    public var committed: Int64
    /// Next offset this consumer will read; -1 when unknown.
    public var position: Int64
    /// End of the partition as last reported by the broker; -1 when unknown.
    public var highWatermark: Int64
    /// Oldest offset the partition still holds (its log start), as last reported; -1 when unknown.
    public var logStart: Int64
    /// Commit time of the last event consumed from this partition (ms), 0 if none.
    public var lastCommitTimeMs: Int64
    /// True once the consumer reached the end of the partition at least once.
    public var reachedEnd: Bool

    public init(topic: String, partition: Int32, committed: Int64 = -1, position: Int64 = -1,
                highWatermark: Int64 = -1, lastCommitTimeMs: Int64 = 0, reachedEnd: Bool = false, logStart: Int64 = -1) {
        self.topic = topic; self.partition = partition; self.committed = committed
        self.position = position; self.highWatermark = highWatermark
        self.lastCommitTimeMs = lastCommitTimeMs; self.reachedEnd = reachedEnd; self.logStart = logStart
    }

    /// Messages between what was consumed and the end of the partition.
    public var lag: Int64 {
        guard highWatermark >= 0 else { return 0 }
        let consumed = position >= 0 ? position : max(committed, 0)
        return max(0, highWatermark - consumed)
    }

    /// Lag of the group's committed offset (what kafka-ui and Burrow show): end − committed; 0 when unknown.
    public var committedLag: Int64 {
        guard highWatermark >= 0 else { return 0 }
        return max(0, highWatermark - max(committed, 0))
    }
}

/// The active profile, as the dashboard header and `--json` name it, and what its KPIs met so far.
public struct ProfileStatus: Sendable, Hashable {
    public var name: String = ""
    /// No `--profile` was given: the built-in shop profile computes KPIs only if the topics carry its tables.
    public var isImplicitDefault = false
    /// KPIs written as SQL (`[kpi.NAME]`), not the built-in sale/line-item/dimension form.
    public var isModel = false
    /// Events of tables the profile reads have arrived.
    public var profileTablesSeen = false
    /// Events of other tables have arrived.
    public var otherTablesSeen = false
    /// Creates for a key that was already alive: two rows claim one identity (a wrong key override?).
    public var keyCollisions: Int64 = 0
    /// Deletes of rows never seen whose before image held only the key and placeholders: the table
    /// needs REPLICA IDENTITY FULL (or cdctop must see its rows from the snapshot on).
    public var placeholderDeletes: Int64 = 0
    public init() {}

    /// The implicit default met only tables it does not know: it has no business KPIs for these topics.
    public var noProfileForTopics: Bool { isImplicitDefault && !profileTablesSeen && otherTablesSeen }
}

/// An immutable picture of everything the engine knows, published a few times a second and
/// on window close. Every consumer (dashboard, Redis mirror, warehouse sink) reads only this.
public struct KPISnapshot: Sendable {
    /// Monotonic sequence number: a consumer can skip a snapshot it has already seen.
    public var sequence: UInt64 = 0
    /// Wall time this snapshot was taken (ms since epoch).
    public var takenAtMs: Int64 = 0
    public var profileName: String = ""
    /// Which profile computes the KPIs and whether it fits the topics read.
    public var profile = ProfileStatus()
    /// Windows held in memory (sorted by start), totals, message/malformed/dropped counters.
    public var result: KPIResult
    /// Windows whose end the watermark has passed; rewritten only by late corrections.
    public var finalWindowStarts: Set<Int64> = []
    /// Highest commit time seen minus allowed lateness.
    public var watermarkMs: Int64 = 0
    /// Highest commit time seen (freshness = now − this).
    public var maxCommitTimeMs: Int64 = 0
    public var lateCorrections: Int64 = 0
    public var tombstones: Int64 = 0
    /// Line items waiting for their product's dimension row (count, net amount).
    public var parkedLineItems: Int64 = 0
    public var parkedRevenue: Money = .zero
    public var eventsPerSecond: Double = 0
    /// New transactions (creates of the sale table) per second over the last few seconds of wall time.
    public var txPerSecond: Double = 0
    public var bytesPerSecond: Double = 0
    public var tables: [TableStats] = []
    public var recentMalformed: [MalformedRecord] = []
    /// Most recent changes per table, newest last.
    public var recentChanges: [String: [RecentChange]] = [:]
    public var partitions: [PartitionLag] = []
    public var kafka: ServiceStatus = .off
    /// True once every assigned partition has reached its end at least once.
    public var caughtUp: Bool = false
    /// Newest Debezium heartbeat seen (`__debezium-heartbeat.*` topics), ms since epoch; 0 if none.
    /// A recent heartbeat with no changes means a quiet table, not a dead connector.
    public var lastHeartbeatMs: Int64 = 0
    public var heartbeats: Int64 = 0

    /// Messages of a redelivered offset (at or below the last applied one of its partition): ignored.
    public var duplicates: Int64 = 0
    /// Updates or deletes of a key cdctop never saw (started after the snapshot?).
    public var unmatched: Int64 = 0
    /// Messages of tables or ops the profile does not use (and non-Debezium topics).
    public var ignored: Int64 = 0
    /// Events refused because applying them would overflow a sum (counted, never trapped).
    public var refused: Int64 = 0
    /// Where the durable state lives and how its checkpoints go.
    public var state: StateStatus = .none
    /// Schema changes (DDL messages of Debezium's schema-change topic) per table, since this run started.
    public var schemaChanges: [String: Int64] = [:]
    /// The latest schema changes, oldest first (at most `recentDDLKept` of the engine).
    public var recentDDL: [SchemaChangeRecord] = []
    /// DDL messages of a connector's initial snapshot (DROP/CREATE of the schema as it was): counted, not listed.
    public var snapshotDDL: Int64 = 0

    // MARK: operations (issue #12: latency split, other groups' lag)
    /// Median and p99 of each hop (source → Debezium → Kafka → cdctop) per table over the last minute.
    public var latency: [TableLatency] = []
    /// A startup backlog still being read (nil once every partition was read to its end once): reported
    /// as backlog, not as consumer latency (issue 22).
    public var backlog: BacklogProgress? = nil
    /// Other consumer groups' lag (`--lag-groups`): not the engine's; the app fills it in from the monitor.
    public var groupLag: GroupLagReport? = nil
    /// cdctop's own partitions whose end fell below what it had read, or whose log start passed it
    /// (`OffsetRegressionDetector`, fed by the engine with every snapshot's watermarks).
    public var offsetRegressions = OffsetRegressionReport()
    /// The source's logical replication slots (`--source` on PostgreSQL): not the engine's; the app fills it in.
    public var replicationSlots: ReplicationSlotReport? = nil
    /// Snapshot progress per connector and table (rows `op` r and Debezium's notifications); the app
    /// adds the source's row estimates (`--source`).
    public var snapshots = SnapshotProgressReport()
    /// `--transactions complete`: open transactions, events held back, whole and timed-out ones; nil as read.
    public var transactions: TransactionStatus? = nil

    // MARK: perf (#11): what changed since earlier snapshots, so consumers compare only that.
    /// Windows whose result changed, or that became final, per snapshot over the last few dozen
    /// snapshots: a consumer that saw snapshot N compares only `windowChanges.changes(since: N)`.
    /// Empty (compare everything) for a snapshot made by hand.
    public var windowChanges = WindowChangeLog()

    public init(result: KPIResult) { self.result = result }

    public var totalLag: Int64 { partitions.reduce(0) { $0 + $1.lag } }
    public var totalCommittedLag: Int64 { partitions.reduce(0) { $0 + $1.committedLag } }

    /// Kafka answers, partitions are assigned and every end offset is known: the lag is a number
    /// (with Kafka down or nothing assigned it is unknown, not zero).
    public var lagKnown: Bool { kafka.state == .ok && !partitions.isEmpty && partitions.allSatisfy { $0.highWatermark >= 0 } }
    /// At most about a second of traffic (and never less than 100 messages) behind: "caught up" from the
    /// lag itself, not from every partition reaching its end at once, which steady traffic never shows.
    public var lagCaughtUp: Bool { totalLag <= max(100, Int64(eventsPerSecond)) }

    /// The window containing `timeMs`, if it is held.
    public func window(containing timeMs: Int64) -> WindowResult? {
        result.window(startingAt: timeMs - TimeText.floorMod(timeMs, result.windowMs))
    }
}

// MARK: perf (#11): window changes per snapshot.

/// The windows each recent snapshot changed, so a consumer that skips snapshots (the warehouse sink
/// fed only at checkpoints) still compares only what changed since the one it saw.
public struct WindowChangeLog: Sendable {
    public struct Entry: Sendable {
        /// The snapshot's sequence number.
        public var sequence: UInt64
        /// Windows changed, or become final, since the snapshot before it.
        public var changed: Set<Int64>
    }
    /// Oldest first, at most `kept`.
    public private(set) var entries: [Entry] = []
    /// The snapshot the oldest entry's changes are relative to; nil when nothing is known.
    public private(set) var base: UInt64?
    public static let kept = 64

    public init() {}

    /// Records snapshot `sequence` with the windows changed since snapshot `previous` (nil: unknown,
    /// e.g. the first snapshot or one after a restore; the log starts afresh).
    public mutating func record(sequence: UInt64, since previous: UInt64?, changed: Set<Int64>?) {
        guard let previous, let changed else { entries = []; base = sequence; return }
        if previous != (entries.last?.sequence ?? base) { entries = []; base = previous }
        entries.append(Entry(sequence: sequence, changed: changed))
        if entries.count > WindowChangeLog.kept { base = entries.removeFirst().sequence }
    }

    /// Windows changed (or become final) after snapshot `sequence` up to the latest, or nil when
    /// the log does not reach back to it: then compare every window.
    public func changes(since sequence: UInt64) -> Set<Int64>? {
        let from: Int
        if sequence == base { from = 0 } else {
            guard let i = entries.firstIndex(where: { $0.sequence == sequence }) else { return nil }
            from = i + 1
        }
        var all = Set<Int64>()
        for entry in entries[from...] { all.formUnion(entry.changed) }
        return all
    }
}
