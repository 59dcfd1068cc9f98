import CSQLite
import Foundation
import Metrics
import Synchronization

/// What a state directory was built for. A state is only ever loaded by the same profile, topics
/// and format: anything else would mix numbers that do not belong together.
package struct StateIdentity: Sendable, Hashable {
    package static let formatVersion = 1
    /// Every profile setting that changes the numbers, as text (compared verbatim).
    package var profile: String
    /// The `--topics` list as given (names and ^regexes).
    package var topics: String

    package init(profile: KPIProfile, topics: [String]) {
        let p = profile
        var parts = ["name=\(p.name)", "sale=\(p.sale.table).\(p.sale.key).\(p.sale.amount)"]
        if let l = p.lineItem {
            parts.append("lineitem=\(l.table).\(l.key).\(l.quantity).\(l.unitPrice).\(l.productKey)")
        }
        if let d = p.dimension { parts.append("dimension=\(d.table).\(d.key).\(d.category)") }
        parts += [
            "scale=\(p.defaultDecimalScale)", "window_ms=\(p.windowMs)", "lateness_ms=\(p.allowedLatenessMs)",
            "retention_ms=\(p.retentionMs)", "uncategorized=\(p.uncategorized)",
        ]
        if let model = p.model {
            // The KPIs as compiled (their SQL and table options): another model means other numbers.
            parts += model.tables.map {
                "table=\($0.name) key=\($0.keyColumns?.joined(separator: ",") ?? "(record key)") topics=\($0.topicPattern ?? "")"
            }
            parts += model.kpis.map { "kpi=\($0.name) windows=\($0.windowed) sql=\($0.sql)" }
        }
        self.profile = parts.joined(separator: " ")
        self.topics = topics.joined(separator: ",")
    }
}

/// A state directory that cannot be used, with what to do about it.
package struct StateError: Error, CustomStringConvertible, Sendable {
    package enum Kind: Sendable { case locked, corrupt, mismatch, io, topicChanged }
    package var kind: Kind
    package var message: String
    package var description: String { message }

    static func corrupt(_ path: String, _ detail: String) -> StateError {
        StateError(
            kind: .corrupt,
            message: "the state file \(path) is damaged (\(detail)); it is not used. "
                + "Rebuild it from the earliest offsets with --state-reset (cdctop re-reads the topics), "
                + "or move the directory aside to keep it for inspection")
    }
}

/// One partition's position in a checkpoint.
package struct PartitionCheckpoint: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
    /// The next offset to read: one past the last message applied.
    package var nextOffset: Int64
    /// Commit time of the last event applied from it (ms), 0 if none.
    package var lastCommitTimeMs: Int64
    package var partitionKey: Int64
}

/// A topic-partition by name, as the state file keys it.
package struct PartitionName: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
}

/// Everything one checkpoint writes, taken at a batch boundary on the engine thread and written
/// on the checkpoint thread: the changes since the previous one, every counter, and the offsets
/// they reflect, in one transaction.
package struct Checkpoint: Sendable {
    package var changes: StateChanges
    package var aggregator: AggregatorCounters
    package var engine: EngineCounters
    package var partitions: [PartitionCheckpoint]
    /// Partitions dropped since the previous checkpoint (revoked or moved): their rows go.
    package var droppedPartitions: [PartitionName] = []
    /// Live keys after these changes, checked against the rows on load (a torn file shows here).
    package var liveSales: Int
    package var liveLineItems: Int
    package var takenAtMs: Int64
    /// A model profile's state, whole (see `WindowedAggregator.encodeModelState`); empty otherwise.
    package var modelState: [UInt8] = []
    /// `--transactions complete`: the transactions held back, with their messages' bytes (see
    /// `TransactionBuffer.encode`); empty when nothing is held. Their offsets are in `partitions`
    /// already: a restart decodes them from here, not from Kafka.
    package var transactions: [UInt8] = []
    /// Snapshot progress (see `EngineCore.takeSnapshotProgressState`): nil where unchanged since the previous checkpoint.
    package var snapshotReads: [UInt8]?
    package var snapshotNotifications: [UInt8]?

    /// Takes the changes from `core` (resetting its journal) with everything else needed.
    /// `recycled`: a written checkpoint's changes, whose memory the new journal reuses.
    package static func take(
        from core: some CheckpointedEngine, nowMs: Int64, recycling recycled: StateChanges? = nil
    ) -> Checkpoint {
        let changes = core.takeChanges(recycling: recycled)
        var partitions: [PartitionCheckpoint] = []
        var sales = 0
        var lineItems = 0
        core.withAggregator { a in
            for entry in a.partitionOffsets {
                let tp = core.topicPartition(ofKey: entry.partitionKey)
                partitions.append(
                    PartitionCheckpoint(
                        topic: tp.topic, partition: tp.partition, nextOffset: entry.lastOffset + 1,
                        lastCommitTimeMs: core.lastCommitTimeByPartition[entry.partitionKey] ?? 0,
                        partitionKey: entry.partitionKey))
            }
            let counts = a.liveKeyCounts
            sales = counts.sales
            lineItems = counts.lineItems
        }
        let dropped = changes.droppedPartitions.map { key in
            let tp = core.topicPartition(ofKey: key)
            return PartitionName(topic: tp.topic, partition: tp.partition)
        }
        var checkpoint = Checkpoint(
            changes: changes, aggregator: core.withAggregator { $0.counters }, engine: core.counters,
            partitions: partitions, droppedPartitions: dropped, liveSales: sales, liveLineItems: lineItems,
            takenAtMs: nowMs)
        if core.profile.model != nil {
            checkpoint.modelState = core.withAggregator { a in a.encodeModelState { core.topicPartition(ofKey: $0) } }
        }
        checkpoint.transactions = core.encodeTransactions(nowMs: nowMs)
        (checkpoint.snapshotReads, checkpoint.snapshotNotifications) = core.takeSnapshotProgressState()
        return checkpoint
    }
}

/// What loading a state found.
package struct RestoreSummary: Sendable {
    package var keys: Int
    package var windows: Int
    package var partitions: [PartitionCheckpoint]
    package var seconds: Double
    package var checkpointedAtMs: Int64
    /// True when the directory held no state yet (a first run).
    package var isFresh: Bool
    /// `--transactions complete`: transactions (and their change events) held back at the checkpoint.
    package var heldTransactions = 0
    package var heldEvents = 0

    /// "restored 250,112 keys and 120 windows at offsets shop.public.transaction[0]@4012, … (0.41 s)"
    package var text: String {
        if isFresh { return "no saved state yet: reading every partition from its earliest offset" }
        let offsets = partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
            .map { "\($0.topic)[\($0.partition)]@\($0.nextOffset)" }
        let shown =
            offsets.count > 6
            ? offsets.prefix(6).joined(separator: ", ") + ", … (\(offsets.count) partitions)"
            : offsets.joined(separator: ", ")
        return "restored \(keys) keys and \(windows) windows at offsets \(shown.isEmpty ? "(none)" : shown) "
            + "in \(String(format: "%.2f", seconds)) s"
            + (heldTransactions > 0 ? ", \(heldTransactions) open transactions held back (\(heldEvents) events)" : "")
    }
}

/// The durable state of one pipeline: a SQLite database (WAL) in a directory that one process
/// holds at a time (an flock'd `lock` file naming its pid); any number of viewers may read its
/// latest checkpoint meanwhile (`init(viewing:)`). Each checkpoint is one transaction
/// holding the changed keys and windows, every counter, and the offsets they reflect, so a crash
/// at any moment leaves the previous checkpoint whole.
///
/// Layout (inspect with `sqlite3 DIR/state.db`): `meta` (identity and counters), `partitions`
/// (topic, partition, next offset), and per partition `sales`, `line_items`, `products`,
/// `product_windows`, `windows`; the shared `categories`; `table_stats`. Money is stored as
/// integer units of 10^-9 (text beyond 64 bits).
package final class StateStore: @unchecked Sendable {
    package let directory: String
    package let databasePath: String
    private let identity: StateIdentity
    private var lockDescriptor: Int32 = -1
    private var db: SQLiteDatabase?
    /// (topic, partition) → row id in `partitions`.
    private var partitionIDs: [String: Int64] = [:]
    private var writtenHorizon: Int64 = .min
    /// The file may hold transactions from `--transactions complete` (until a checkpoint with none clears them).
    private var transactionsSaved = true
    /// Serialises writes (the checkpoint thread) with close (any thread).
    private let lock = Mutex<Void>(())
    /// The pid of the process that writes the directory, when this store only views it.
    package let viewerOfPID: Int32?

    static let applicationID: Int32 = 0x6364_6374  // "cdct"

    /// Opens (creating if needed) and locks the state directory. `reset` deletes any saved state first.
    package init(directory: String, identity: StateIdentity, reset: Bool = false) throws {
        self.directory = directory
        self.databasePath = (directory as NSString).appendingPathComponent("state.db")
        self.identity = identity
        self.viewerOfPID = nil
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StateError(
                kind: .io,
                message: "cannot create the state directory \(directory): \(error.localizedDescription). "
                    + "Choose another with --state DIR, or --state none to keep state in memory only")
        }
        try takeLock()
        if reset {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }
        }
        try open()
    }

    /// Opens the latest checkpoint of a directory another process (`writerPID`) holds, read-only and
    /// without its lock: the writer is never blocked nor written to. `load(into:)` then reads one
    /// consistent checkpoint (one SQLite read transaction: WAL readers see the last committed one).
    package init(viewing directory: String, identity: StateIdentity, writerPID: Int32) throws {
        self.directory = directory
        self.databasePath = (directory as NSString).appendingPathComponent("state.db")
        self.identity = identity
        self.viewerOfPID = writerPID
        try openForViewing()
    }

    deinit { close() }

    package func close() {
        lock.withLock { _ in
            db?.close()
            db = nil
            if lockDescriptor >= 0 {
                Foundation.close(lockDescriptor)
                lockDescriptor = -1
            }
        }
    }

    // MARK: locking

    private func takeLock() throws {
        let path = (directory as NSString).appendingPathComponent("lock")
        let fd = Foundation.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StateError(kind: .io, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        if !Self.lock(fd) {
            let holder = Self.pidText(fd) ?? "?"
            Foundation.close(fd)
            throw StateError(
                kind: .locked,
                message: "the state directory \(directory) is in use by another cdctop (pid \(holder)). "
                    + "Give this run its own state with --state DIR, or watch without saving state with --state none "
                    + "(to only look at it: cdctop attach --redis URL, if that cdctop mirrors to Redis)")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        lockDescriptor = fd
    }

    /// Takes `fd`'s exclusive lock without waiting on another process. When the lock file names this process, the
    /// holder is a copy of a descriptor this process already closed, kept by a child forked at that moment (by any
    /// thread, e.g. to run a tool) until its exec closes it: that clears within milliseconds, so wait up to 1 s.
    private static func lock(_ fd: Int32) -> Bool {
        for attempt in 0..<50 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK, attempt < 49, pidText(fd) == String(getpid()) else { return false }
            usleep(20_000)
        }
        return false
    }

    /// The pid of the process holding `directory`'s lock (0 when its lock file names none), or nil when
    /// no process holds it. Creates nothing: a directory or lock file that does not exist is not in use.
    package static func lockHolder(directory: String) -> Int32? {
        let path = (directory as NSString).appendingPathComponent("lock")
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Foundation.close(fd) }
        // A shared lock is refused only while a writer holds its exclusive one; taken, it is let go at once.
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return nil
        }
        return pidText(fd).flatMap { Int32($0) } ?? 0
    }

    /// The pid a lock file names (its first line), or nil when it is empty.
    private static func pidText(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SQLite's page cache. A checkpoint touches pages all over the key tables, but the OS page
    /// cache holds them too: 8 MB instead of 64 MB saves ~56 MB of RSS for a little checkpoint
    /// CPU (`cdctop bench` prints both).
    static let pageCacheKiB = 8_192

    // MARK: schema

    private func open() throws {
        let existed = FileManager.default.fileExists(atPath: databasePath)
        let sizeBefore = (try? FileManager.default.attributesOfItem(atPath: databasePath)[.size] as? Int) ?? 0
        if existed && sizeBefore == 0 {
            throw StateError.corrupt(databasePath, "the file is empty")
        }
        let database: SQLiteDatabase
        do {
            database = try SQLiteDatabase(path: databasePath)
            try database.execute(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-\(StateStore.pageCacheKiB);")
            let appID = try database.rows("PRAGMA application_id").first?.first?.integer ?? 0
            if existed && appID != Int64(StateStore.applicationID) {
                throw StateError.corrupt(databasePath, "it is not a cdctop state file")
            }
            let check = try database.rows("PRAGMA quick_check").first?.first?.text ?? "no answer"
            guard check == "ok" else { throw StateError.corrupt(databasePath, "integrity check: \(check)") }
            if !existed {
                try database.execute(
                    """
                    BEGIN;
                    PRAGMA application_id=\(StateStore.applicationID);
                    CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS partitions(pid INTEGER PRIMARY KEY, topic TEXT NOT NULL, partition INTEGER NOT NULL,
                        next_offset INTEGER NOT NULL, last_commit_ms INTEGER NOT NULL, UNIQUE(topic, partition));
                    CREATE TABLE IF NOT EXISTS sales(pid INTEGER NOT NULL, key NOT NULL, amount NOT NULL,
                        PRIMARY KEY(pid, key)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS line_items(pid INTEGER NOT NULL, key NOT NULL, product, quantity INTEGER NOT NULL,
                        unit_price NOT NULL, PRIMARY KEY(pid, key)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS products(pid INTEGER NOT NULL, product NOT NULL, total NOT NULL,
                        line_items INTEGER NOT NULL, PRIMARY KEY(pid, product)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS product_windows(pid INTEGER NOT NULL, product NOT NULL, window_start INTEGER NOT NULL,
                        amount NOT NULL, PRIMARY KEY(pid, product, window_start)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS windows(pid INTEGER NOT NULL, window_start INTEGER NOT NULL, tx_count INTEGER NOT NULL,
                        revenue NOT NULL, PRIMARY KEY(pid, window_start)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS categories(product PRIMARY KEY, category TEXT NOT NULL) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS table_stats(name TEXT PRIMARY KEY, role INTEGER NOT NULL, op_counts TEXT NOT NULL,
                        malformed INTEGER NOT NULL, last_commit_ms INTEGER NOT NULL) WITHOUT ROWID;
                    INSERT OR REPLACE INTO meta VALUES ('format_version', \(StateIdentity.formatVersion));
                    INSERT OR REPLACE INTO meta VALUES ('created_ms', \(WallClock.nowMs()));
                    """)
                // The identity goes in the same transaction: a file is a whole cdctop state or none.
                try setMeta(database, "profile", identity.profile)
                try setMeta(database, "topics", identity.topics)
                try database.execute("COMMIT")
            }
        } catch let error as SQLiteError where error.isCorruption {
            throw StateError.corrupt(databasePath, error.message)
        }
        // Expiring windows deletes by start: without this index that is a scan of every product's windows.
        try database.execute(
            """
            CREATE INDEX IF NOT EXISTS product_windows_by_start ON product_windows(window_start);
            CREATE TABLE IF NOT EXISTS schema_change_counts(name TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS model_state(id INTEGER PRIMARY KEY, state BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS transaction_buffer(id INTEGER PRIMARY KEY, state BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS snapshot_progress(id INTEGER PRIMARY KEY, state BLOB NOT NULL);
            """)
        db = database
        try checkIdentity(database)
    }

    /// A viewer's connection: read-only, no schema changes, no integrity scan (the writer checked the file
    /// when it opened it, and a viewer must start at once).
    private func openForViewing() throws {
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw StateError(
                kind: .io,
                message: "the state directory \(directory) is in use by another cdctop (pid \(viewerOfPID ?? 0)) "
                    + "but holds no state file yet; try again in a few seconds, or watch with your own --state DIR")
        }
        do {
            let database = try SQLiteDatabase(path: databasePath, readOnly: true)
            let appID = try database.rows("PRAGMA application_id").first?.first?.integer ?? 0
            guard appID == Int64(StateStore.applicationID) else {
                throw StateError.corrupt(databasePath, "it is not a cdctop state file")
            }
            try checkIdentity(database)
            db = database
        } catch let error as SQLiteError {
            if error.isCorruption { throw StateError.corrupt(databasePath, error.message) }
            throw StateError(
                kind: .io,
                message: "cannot read the state \(databasePath) written by pid \(viewerOfPID ?? 0): \(error.message). "
                    + "Check that this user may read the directory, or watch with your own --state DIR")
        }
    }

    private func setMeta(_ database: SQLiteDatabase, _ key: String, _ value: String) throws {
        let s = try database.statement("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)")
        s.bind(1, key)
        s.bind(2, value)
        try s.run()
    }

    private func meta(_ database: SQLiteDatabase) throws -> [String: SQLiteDatabase.Value] {
        var out: [String: SQLiteDatabase.Value] = [:]
        for row in try database.rows("SELECT key, value FROM meta") {
            if let key = row[0].text { out[key] = row[1] }
        }
        return out
    }

    private func checkIdentity(_ database: SQLiteDatabase) throws {
        let m = try meta(database)
        guard let version = m["format_version"]?.integer else {
            throw StateError.corrupt(databasePath, "it holds no format version")
        }
        let advice =
            "Use another state directory (--state DIR), or rebuild this one from the earliest offsets with --state-reset"
        guard version == Int64(StateIdentity.formatVersion) else {
            throw StateError(
                kind: .mismatch,
                message:
                    "the state in \(directory) has format \(version); this cdctop reads format \(StateIdentity.formatVersion). \(advice)"
            )
        }
        if let saved = m["profile"]?.text, saved != identity.profile {
            throw StateError(
                kind: .mismatch,
                message:
                    "the state in \(directory) was built with another profile (\(saved)); this run uses \(identity.profile). \(advice)"
            )
        }
        if let saved = m["topics"]?.text, saved != identity.topics {
            throw StateError(
                kind: .mismatch,
                message:
                    "the state in \(directory) was built from topics '\(saved)'; this run reads '\(identity.topics)'. \(advice)"
            )
        }
    }

    // MARK: loading

    /// Loads the saved state into a fresh engine core. Throws a `StateError` naming the file when
    /// the state is damaged; never loads part of one.
    package func load(into core: some CheckpointedEngine) throws -> RestoreSummary {
        let started = WallClock.monotonicSeconds()
        guard let db else { throw StateError(kind: .io, message: "the state store is closed") }
        // One read transaction: every table from the same checkpoint, even while a writer commits the next.
        try db.execute("BEGIN")
        defer { try? db.execute("ROLLBACK") }
        do {
            let m = try meta(db)
            var partitions: [PartitionCheckpoint] = []
            var keyOfPID: [Int64: Int64] = [:]
            try db.statement("SELECT pid, topic, partition, next_offset, last_commit_ms FROM partitions").forEachRow {
                row in
                let topic = row.text(1)
                let partition = Int32(truncatingIfNeeded: row.int64(2))
                let key = core.partitionKey(topic: topic, partition: partition)
                keyOfPID[row.int64(0)] = key
                partitionIDs["\(topic)\u{0}\(partition)"] = row.int64(0)
                partitions.append(
                    PartitionCheckpoint(
                        topic: topic, partition: partition, nextOffset: row.int64(3),
                        lastCommitTimeMs: row.int64(4), partitionKey: key))
            }
            guard m["checkpoint_ms"] != nil else {
                if !partitions.isEmpty {
                    throw StateError.corrupt(databasePath, "partitions saved without a checkpoint")
                }
                return RestoreSummary(
                    keys: 0, windows: 0, partitions: [], seconds: 0, checkpointedAtMs: 0, isFresh: true)
            }
            func partitionKey(_ pid: Int64) throws -> Int64 {
                guard let key = keyOfPID[pid] else {
                    throw StateError.corrupt(databasePath, "a row names unknown partition \(pid)")
                }
                return key
            }
            func units(_ row: SQLiteDatabase.Row, _ i: Int32, _ what: String) throws -> Money {
                guard let u = row.units(i) else { throw StateError.corrupt(databasePath, "\(what) is not an amount") }
                return Money(units: u)
            }
            func key(_ row: SQLiteDatabase.Row, _ i: Int32, _ what: String) throws -> RowKey {
                guard let k = row.key(i) else { throw StateError.corrupt(databasePath, "\(what) is not a key") }
                return k
            }
            var counters = AggregatorCounters()
            counters.maxCommitTimeMs = m["max_commit_ms"]?.integer ?? .min
            counters.horizonStart = m["horizon_start"]?.integer ?? .min
            counters.lateCorrections = m["late_corrections"]?.integer ?? 0
            counters.dropped = m["dropped"]?.integer ?? 0
            counters.duplicates = m["duplicates"]?.integer ?? 0
            counters.unmatched = m["unmatched"]?.integer ?? 0
            counters.refused = m["refused"]?.integer ?? 0
            counters.applied = m["applied"]?.integer ?? 0
            counters.volume = m["volume"]?.text.flatMap { Int128($0) } ?? 0
            try db.statement("SELECT name, role, op_counts, malformed, last_commit_ms FROM table_stats ORDER BY name")
                .forEachRow { row in
                    var t = TableStats(
                        table: row.text(0), role: TableRole(rawValue: UInt8(truncatingIfNeeded: row.int64(1))) ?? .other
                    )
                    let counts = row.text(2).split(separator: ",").compactMap { Int64($0) }
                    guard counts.count == t.opCounts.count else {
                        throw StateError.corrupt(databasePath, "table_stats for \(t.table) is malformed")
                    }
                    t.opCounts = counts
                    t.malformed = row.int64(3)
                    t.lastCommitTimeMs = row.int64(4)
                    counters.tables.append(t)
                }
            var engine = EngineCounters()
            engine.messages = m["messages"]?.integer ?? 0
            engine.malformed = m["malformed"]?.integer ?? 0
            engine.tombstones = m["tombstones"]?.integer ?? 0
            engine.heartbeats = m["heartbeats"]?.integer ?? 0
            engine.ignored = m["ignored"]?.integer ?? 0
            engine.bytes = m["bytes"]?.integer ?? 0
            engine.lastHeartbeatMs = m["last_heartbeat_ms"]?.integer ?? 0
            engine.schemaChangeMessages = m["schema_change_messages"]?.integer ?? 0
            engine.snapshotDDL = m["snapshot_ddl"]?.integer ?? 0
            try db.statement("SELECT name, count FROM schema_change_counts").forEachRow { row in
                engine.schemaChanges[row.text(0)] = row.int64(1)
            }

            var sales = 0
            var lineItems = 0
            var windowStarts = Set<Int64>()
            try core.withAggregator { a in
                a.restore(counters: counters)
                for p in partitions { a.restorePartition(p.partitionKey, lastOffset: p.nextOffset - 1) }
                try db.statement("SELECT pid, key, amount FROM sales").forEachRow { row in
                    a.restoreSale(
                        partition: try partitionKey(row.int64(0)), key: try key(row, 1, "a sale key"),
                        amount: try units(row, 2, "a sale amount"))
                    sales += 1
                }
                try db.statement("SELECT pid, key, product, quantity, unit_price FROM line_items").forEachRow { row in
                    let product: RowKey? = row.isNull(2) ? nil : try key(row, 2, "a product key")
                    guard
                        let item = WindowedAggregator.LineItem(
                            product: product, quantity: row.int64(3),
                            unitPrice: try units(row, 4, "a unit price"))
                    else {
                        throw StateError.corrupt(databasePath, "a line item's amount is out of range")
                    }
                    a.restoreLineItem(
                        partition: try partitionKey(row.int64(0)), key: try key(row, 1, "a line item key"), item: item)
                    lineItems += 1
                }
                try db.statement("SELECT pid, product, total, line_items FROM products").forEachRow { row in
                    a.restoreProduct(
                        partition: try partitionKey(row.int64(0)), product: try key(row, 1, "a product key"),
                        total: try units(row, 2, "a product total"), lineItems: row.int64(3))
                }
                try db.statement("SELECT pid, product, window_start, amount FROM product_windows").forEachRow { row in
                    a.restoreProductWindow(
                        partition: try partitionKey(row.int64(0)), product: try key(row, 1, "a product key"),
                        windowStart: row.int64(2), amount: try units(row, 3, "a product window amount"))
                }
                try db.statement("SELECT pid, window_start, tx_count, revenue FROM windows").forEachRow { row in
                    a.restoreWindow(
                        partition: try partitionKey(row.int64(0)), windowStart: row.int64(1),
                        txCount: row.int64(2), revenue: try units(row, 3, "a window's revenue"))
                    windowStarts.insert(row.int64(1))
                }
                try db.statement("SELECT product, category FROM categories").forEachRow { row in
                    a.restoreCategory(product: try key(row, 0, "a product key"), category: row.text(1))
                }
                if core.profile.model != nil {
                    try db.statement("SELECT state FROM model_state WHERE id = 1").forEachRow { row in
                        do {
                            try a.restoreModelState(row.blob(0)) { core.partitionKey(topic: $0, partition: $1) }
                        } catch {
                            throw StateError.corrupt(databasePath, "the model state is damaged: \(error)")
                        }
                    }
                }
                a.finishRestore()
            }
            // Counts written with the checkpoint: rows missing from a torn file show up here.
            if let expected = m["live_sales"]?.integer, expected != Int64(sales) {
                throw StateError.corrupt(databasePath, "\(sales) sales rows where the checkpoint recorded \(expected)")
            }
            if let expected = m["live_line_items"]?.integer, expected != Int64(lineItems) {
                throw StateError.corrupt(
                    databasePath, "\(lineItems) line-item rows where the checkpoint recorded \(expected)")
            }
            core.restore(counters: engine)
            for p in partitions { core.restoreLastCommitTime(partitionKey: p.partitionKey, p.lastCommitTimeMs) }
            // Transactions held back (`--transactions complete`), after the aggregator: a run that does
            // not hold them applies them now.
            try db.statement("SELECT state FROM transaction_buffer WHERE id = 1").forEachRow { row in
                do {
                    try core.restoreTransactions(row.blob(0), nowMs: WallClock.nowMs())
                } catch {
                    throw StateError.corrupt(databasePath, "the held transactions are damaged: \(error)")
                }
            }
            // Snapshot progress (1: read counts, 2: notifications), after the held transactions; none in older
            // states (a viewer's read-only connection to an older writer's file has not even the table).
            var snapshotState: [Int64: [UInt8]] = [:]
            if try !db.rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshot_progress'").isEmpty {
                try db.statement("SELECT id, state FROM snapshot_progress").forEachRow { row in
                    snapshotState[row.int64(0)] = row.blob(1)
                }
            }
            do {
                try core.restoreSnapshotProgress(reads: snapshotState[1], notifications: snapshotState[2])
            } catch {
                throw StateError.corrupt(databasePath, "the saved snapshot progress is damaged: \(error)")
            }
            writtenHorizon = counters.horizonStart
            // A model profile's rows are in its model state, not in the sales and line-item tables.
            let keys = core.profile.model != nil ? core.withAggregator { $0.liveKeys } : sales + lineItems
            var summary = RestoreSummary(
                keys: keys, windows: windowStarts.count, partitions: partitions,
                seconds: WallClock.monotonicSeconds() - started,
                checkpointedAtMs: m["checkpoint_ms"]?.integer ?? 0, isFresh: false)
            (summary.heldTransactions, summary.heldEvents) = core.heldTransactions
            return summary
        } catch let error as SQLiteError where error.isCorruption {
            throw StateError.corrupt(databasePath, error.message)
        }
    }

    // MARK: writing

    /// Writes one checkpoint in one transaction (called on the checkpoint thread).
    package func write(_ checkpoint: Checkpoint) throws {
        if let writer = viewerOfPID {
            throw StateError(
                kind: .io,
                message: "this cdctop only views the state in \(directory) (pid \(writer) writes it): nothing is saved")
        }
        try lock.withLock { _ in
            guard let db else { throw StateError(kind: .io, message: "the state store is closed") }
            try db.execute("BEGIN IMMEDIATE")
            do {
                try write(checkpoint, to: db)
                try db.execute("COMMIT")
                // Expired windows are deleted once per horizon step, not with every checkpoint.
                writtenHorizon = max(writtenHorizon, checkpoint.changes.horizonStart)
            } catch {
                try? db.execute("ROLLBACK")
                if let e = error as? SQLiteError, e.isCorruption { throw StateError.corrupt(databasePath, e.message) }
                throw error
            }
        }
    }

    private func write(_ c: Checkpoint, to db: SQLiteDatabase) throws {
        var pidOfKey: [Int64: Int64] = [:]
        let upsertPartition = try db.statement(
            """
            INSERT INTO partitions(topic, partition, next_offset, last_commit_ms) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT(topic, partition) DO UPDATE SET next_offset = excluded.next_offset, last_commit_ms = excluded.last_commit_ms
            """)
        let findPartition = try db.statement("SELECT pid FROM partitions WHERE topic = ?1 AND partition = ?2")
        for dropped in c.droppedPartitions {
            // Dropped before this checkpoint: its rows, whatever was written for it earlier, go first.
            findPartition.bind(1, dropped.topic)
            findPartition.bind(2, Int64(dropped.partition))
            var found: Int64?
            try findPartition.forEachRow { found = $0.int64(0) }
            partitionIDs["\(dropped.topic)\u{0}\(dropped.partition)"] = nil
            guard let id = found else { continue }
            for table in ["sales", "line_items", "products", "product_windows", "windows", "partitions"] {
                let s = try db.statement("DELETE FROM \(table) WHERE pid = ?1")
                s.bind(1, id)
                try s.run()
            }
        }

        for p in c.partitions {
            upsertPartition.bind(1, p.topic)
            upsertPartition.bind(2, Int64(p.partition))
            upsertPartition.bind(3, p.nextOffset)
            upsertPartition.bind(4, p.lastCommitTimeMs)
            try upsertPartition.run()
            let name = "\(p.topic)\u{0}\(p.partition)"
            if let pid = partitionIDs[name] {
                pidOfKey[p.partitionKey] = pid
                continue
            }
            findPartition.bind(1, p.topic)
            findPartition.bind(2, Int64(p.partition))
            var found: Int64?
            try findPartition.forEachRow { found = $0.int64(0) }
            guard let pid = found else {
                throw StateError(kind: .io, message: "partition \(p.topic)[\(p.partition)] was not saved")
            }
            partitionIDs[name] = pid
            pidOfKey[p.partitionKey] = pid
        }
        // Entries come grouped by partition: the last one found answers most lookups.
        var lastKey = Int64.min
        var lastPid: Int64 = 0
        func pid(_ key: Int64) throws -> Int64 {
            if key == lastKey && key != .min { return lastPid }
            guard let pid = pidOfKey[key] else {
                throw StateError(kind: .io, message: "a change names partition key \(key) without an offset")
            }
            lastKey = key
            lastPid = pid
            return pid
        }
        let ch = c.changes
        // Every entry of a sale or line-item key carries the key's value when the changes were taken
        // (`takeChanges` reads them from the maps): all are written as they come, in any order, with
        // no deduplication (it cost the writer more than the repeated upserts it saved). Products
        // and product windows are listed once each.
        let putSale = try db.statement("INSERT OR REPLACE INTO sales(pid, key, amount) VALUES (?1, ?2, ?3)")
        let deleteSale = try db.statement("DELETE FROM sales WHERE pid = ?1 AND key = ?2")
        for e in ch.sales {
            if let amount = e.amount {
                putSale.bind(1, try pid(e.partition))
                putSale.bind(2, key: e.key)
                putSale.bind(3, units: amount.units)
                try putSale.run()
            } else {
                deleteSale.bind(1, try pid(e.partition))
                deleteSale.bind(2, key: e.key)
                try deleteSale.run()
            }
        }
        let putItem = try db.statement(
            "INSERT OR REPLACE INTO line_items(pid, key, product, quantity, unit_price) VALUES (?1, ?2, ?3, ?4, ?5)")
        let deleteItem = try db.statement("DELETE FROM line_items WHERE pid = ?1 AND key = ?2")
        for e in ch.lineItems {
            if let item = e.item {
                putItem.bind(1, try pid(e.partition))
                putItem.bind(2, key: e.key)
                if let product = item.product { putItem.bind(3, key: product) } else { putItem.bindNull(3) }
                putItem.bind(4, item.quantity)
                putItem.bind(5, units: item.unitPrice.units)
                try putItem.run()
            } else {
                deleteItem.bind(1, try pid(e.partition))
                deleteItem.bind(2, key: e.key)
                try deleteItem.run()
            }
        }
        let putProduct = try db.statement(
            "INSERT OR REPLACE INTO products(pid, product, total, line_items) VALUES (?1, ?2, ?3, ?4)")
        for e in ch.products {
            putProduct.bind(1, try pid(e.partition))
            putProduct.bind(2, key: e.product)
            putProduct.bind(3, units: e.total.units)
            putProduct.bind(4, e.lineItems)
            try putProduct.run()
        }
        let putProductWindow = try db.statement(
            "INSERT OR REPLACE INTO product_windows(pid, product, window_start, amount) VALUES (?1, ?2, ?3, ?4)")
        for e in ch.productWindows where e.windowStart >= ch.horizonStart {
            putProductWindow.bind(1, try pid(e.partition))
            putProductWindow.bind(2, key: e.product)
            putProductWindow.bind(3, e.windowStart)
            putProductWindow.bind(4, units: e.amount.units)
            try putProductWindow.run()
        }
        let putWindow = try db.statement(
            "INSERT OR REPLACE INTO windows(pid, window_start, tx_count, revenue) VALUES (?1, ?2, ?3, ?4)")
        for e in ch.windows where e.windowStart >= ch.horizonStart {
            putWindow.bind(1, try pid(e.partition))
            putWindow.bind(2, e.windowStart)
            putWindow.bind(3, e.txCount)
            putWindow.bind(4, units: e.revenue.units)
            try putWindow.run()
        }
        let putCategory = try db.statement("INSERT OR REPLACE INTO categories(product, category) VALUES (?1, ?2)")
        for e in ch.categories {
            putCategory.bind(1, key: e.product)
            putCategory.bind(2, e.category)
            try putCategory.run()
        }
        if ch.horizonStart > writtenHorizon {
            for table in ["windows", "product_windows"] {
                let s = try db.statement("DELETE FROM \(table) WHERE window_start < ?1")
                s.bind(1, ch.horizonStart)
                try s.run()
            }
        }

        let a = c.aggregator
        let e = c.engine
        let putMeta = try db.statement("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)")
        for (key, value) in [
            ("max_commit_ms", a.maxCommitTimeMs), ("horizon_start", a.horizonStart),
            ("late_corrections", a.lateCorrections), ("dropped", a.dropped), ("duplicates", a.duplicates),
            ("unmatched", a.unmatched), ("refused", a.refused), ("applied", a.applied),
            ("messages", e.messages), ("malformed", e.malformed), ("tombstones", e.tombstones),
            ("heartbeats", e.heartbeats), ("ignored", e.ignored), ("bytes", e.bytes),
            ("last_heartbeat_ms", e.lastHeartbeatMs), ("schema_change_messages", e.schemaChangeMessages),
            ("snapshot_ddl", e.snapshotDDL), ("live_sales", Int64(c.liveSales)),
            ("live_line_items", Int64(c.liveLineItems)), ("checkpoint_ms", c.takenAtMs),
        ] {
            putMeta.bind(1, key)
            putMeta.bind(2, value)
            try putMeta.run()
        }
        putMeta.bind(1, "volume")
        putMeta.bind(2, String(a.volume))
        try putMeta.run()
        if !c.transactions.isEmpty {
            let putHeld = try db.statement("INSERT OR REPLACE INTO transaction_buffer(id, state) VALUES (1, ?1)")
            putHeld.bind(1, blob: c.transactions)
            try putHeld.run()
            transactionsSaved = true
        } else if transactionsSaved {
            try db.execute("DELETE FROM transaction_buffer")
            transactionsSaved = false
        }
        for (id, blob) in [(Int64(1), c.snapshotReads), (2, c.snapshotNotifications)] {
            guard let blob else { continue }
            let putSnapshot = try db.statement("INSERT OR REPLACE INTO snapshot_progress(id, state) VALUES (?1, ?2)")
            putSnapshot.bind(1, id)
            putSnapshot.bind(2, blob: blob)
            try putSnapshot.run()
        }
        if !c.modelState.isEmpty {
            let putModel = try db.statement("INSERT OR REPLACE INTO model_state(id, state) VALUES (1, ?1)")
            putModel.bind(1, blob: c.modelState)
            try putModel.run()
        }
        try db.execute("DELETE FROM schema_change_counts")
        let putSchemaChanges = try db.statement("INSERT INTO schema_change_counts(name, count) VALUES (?1, ?2)")
        for (table, count) in e.schemaChanges {
            putSchemaChanges.bind(1, table)
            putSchemaChanges.bind(2, count)
            try putSchemaChanges.run()
        }
        try db.execute("DELETE FROM table_stats")
        let putStats = try db.statement(
            "INSERT INTO table_stats(name, role, op_counts, malformed, last_commit_ms) VALUES (?1, ?2, ?3, ?4, ?5)")
        for t in a.tables {
            putStats.bind(1, t.table)
            putStats.bind(2, Int64(t.role.rawValue))
            putStats.bind(3, t.opCounts.map(String.init).joined(separator: ","))
            putStats.bind(4, t.malformed)
            putStats.bind(5, t.lastCommitTimeMs)
            try putStats.run()
        }
    }

    /// Size of the state files on disk (database plus write-ahead log), in bytes.
    package var sizeOnDisk: Int64 {
        ["", "-wal"].reduce(0) { total, suffix in
            total
                + Int64((try? FileManager.default.attributesOfItem(atPath: databasePath + suffix)[.size] as? Int) ?? 0)
        }
    }
}
