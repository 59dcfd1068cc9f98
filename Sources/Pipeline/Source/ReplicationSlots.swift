import Metrics
import Synchronization

/// A PostgreSQL WAL position (`pg_lsn`): printed as two hex halves, `16/B374D848`.
package struct WALPosition: Sendable, Hashable, Comparable {
    package var value: UInt64
    package init(_ value: UInt64) { self.value = value }

    /// Parses `pg_lsn` text; nil for anything else.
    package init?(text: String) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, let high = UInt32(halves[0], radix: 16), let low = UInt32(halves[1], radix: 16) else {
            return nil
        }
        value = UInt64(high) << 32 | UInt64(low)
    }

    package static func < (a: WALPosition, b: WALPosition) -> Bool { a.value < b.value }
}

/// What cdctop remembers of each slot between readings: the server says where a slot stands, not when
/// it last moved. Pure: the caller gives the time.
struct ReplicationSlotTracker {
    struct Memory {
        var confirmed: String?
        var lastAdvanceMs: Int64
        var advanceSeen: Bool
        var inactiveSinceMs: Int64
    }
    private(set) var memory: [String: Memory] = [:]

    /// Fills in `lastAdvanceMs`, `advanceSeen` and (unless the server said) `inactiveSinceMs` of each slot
    /// read at `nowMs`; forgets slots that are gone.
    mutating func note(_ slots: inout [ReplicationSlot], nowMs: Int64) {
        var next: [String: Memory] = [:]
        for i in slots.indices {
            let slot = slots[i]
            var m =
                memory[slot.name]
                ?? Memory(
                    confirmed: slot.confirmedFlushLSN, lastAdvanceMs: nowMs, advanceSeen: false,
                    inactiveSinceMs: 0)
            // Any change counts as a move (a slot dropped and created again under the same name goes back).
            if slot.confirmedFlushLSN != m.confirmed {
                m.confirmed = slot.confirmedFlushLSN
                m.lastAdvanceMs = nowMs
                m.advanceSeen = true
            }
            if slot.active {
                m.inactiveSinceMs = 0
            } else if m.inactiveSinceMs == 0 {
                m.inactiveSinceMs = nowMs
            }
            slots[i].lastAdvanceMs = m.lastAdvanceMs
            slots[i].advanceSeen = m.advanceSeen
            if !slot.active, !slot.inactiveSinceExact { slots[i].inactiveSinceMs = m.inactiveSinceMs }
            if slot.active { slots[i].inactiveSinceMs = 0 }
            next[slot.name] = m
        }
        memory = next
    }
}

/// Reads every logical replication slot of the source PostgreSQL over its own libpq connection, which
/// it opens on first use and again after the server went away. Not thread-safe: one owner (the
/// monitor's thread, or a test), like `PostgresConnection`.
package final class ReplicationSlotReader {
    private let url: String
    private var connection: PostgresConnection?
    private var query = ""
    private var serverVersion = 0
    private var tracker = ReplicationSlotTracker()

    package init(url: String) { self.url = url }

    /// The slots now, with the retained WAL measured against the server's current position in the same
    /// statement. `nowMs` stamps the reading (tests pass their own clock).
    package func read(nowMs: Int64 = WallClock.nowMs()) throws(WarehouseError) -> ReplicationSlotReport {
        do throws(WarehouseError) {
            let connection = try connected()
            let rows = try connection.execute(query)
            var report = ReplicationSlotReport()
            report.serverVersion = serverVersion
            report.checkedAtMs = nowMs
            var slots: [ReplicationSlot] = []
            for row in rows.rows {
                guard row.count == 13 else {
                    throw WarehouseError(
                        kind: .badResult,
                        message: "pg_replication_slots query returned \(row.count) columns, expected 13",
                        sql: query, advice: "")
                }
                report.currentLSN = row[11] ?? ""
                guard let name = row[0] else { continue }  // no slot: the one row only carries the current position
                let inactiveSince = row[12].flatMap { Int64($0) }
                slots.append(
                    ReplicationSlot(
                        name: name, plugin: row[1] ?? "", database: row[2] ?? "", active: row[3] == "t",
                        activePID: row[4].flatMap { Int32($0) },
                        confirmedFlushLSN: row[5], restartLSN: row[6],
                        retainedBytes: row[7].flatMap { Int64($0) }.map { max(0, $0) },
                        restartRetainedBytes: row[8].flatMap { Int64($0) }.map { max(0, $0) },
                        walStatus: row[9], safeWALSizeBytes: row[10].flatMap { Int64($0) },
                        lastAdvanceMs: nowMs, inactiveSinceMs: inactiveSince ?? 0,
                        inactiveSinceExact: inactiveSince != nil))
            }
            tracker.note(&slots, nowMs: nowMs)
            report.slots = slots
            return report
        } catch {
            if !(connection?.isConnected ?? false) { connection = nil }
            throw error
        }
    }

    private func connected() throws(WarehouseError) -> PostgresConnection {
        if let connection { return connection }
        let fresh = try PostgresConnection(url, applicationName: "cdctop replication slots")
        let versionText = try fresh.execute("SELECT current_setting('server_version_num')").rows.first?.first ?? nil
        let version = versionText.flatMap { Int($0) } ?? 0
        guard version >= 100_000 else {
            throw WarehouseError(
                kind: .query, message: "PostgreSQL \(version) has no pg_current_wal_lsn()",
                advice: "cdctop reads replication slots on PostgreSQL 10 or newer")
        }
        serverVersion = version
        query = ReplicationSlotReader.slotQuery(serverVersion: version)
        connection = fresh
        return fresh
    }

    /// One statement: every logical slot with its positions and the WAL it holds, measured from the
    /// server's current position (the replay position on a standby, where logical slots exist since 16);
    /// with no slot, one row of NULLs that still carries the current position. Columns the server does not
    /// have yet are NULL: `wal_status`, `safe_wal_size` (13), `inactive_since` (17).
    static func slotQuery(serverVersion: Int) -> String {
        let walStatus = serverVersion >= 130_000 ? "s.wal_status::text" : "NULL::text"
        let safeSize = serverVersion >= 130_000 ? "s.safe_wal_size::bigint" : "NULL::bigint"
        let inactiveSince =
            serverVersion >= 170_000
            ? "(extract(epoch FROM s.inactive_since) * 1000)::bigint" : "NULL::bigint"
        return """
            WITH now_at AS (
                SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn)
            SELECT s.slot_name::text, s.plugin::text, s.database::text, s.active, s.active_pid,
                   s.confirmed_flush_lsn::text, s.restart_lsn::text,
                   pg_wal_lsn_diff(n.lsn, s.confirmed_flush_lsn)::bigint,
                   pg_wal_lsn_diff(n.lsn, s.restart_lsn)::bigint,
                   \(walStatus), \(safeSize), n.lsn::text, \(inactiveSince)
            FROM now_at n LEFT JOIN pg_replication_slots s ON s.slot_type = 'logical'
            ORDER BY s.slot_name
            """
    }
}

/// Polls the source's replication slots every few seconds on a thread of its own (libpq blocks; the
/// engine and the screen never wait on it), reconnecting with a backoff while the source is away.
/// `report` and `status` are copies taken under a short lock.
package final class ReplicationSlotMonitor: Sendable {
    package let everySeconds: Double
    /// Where it reads, without the password (for the Connections panel).
    package let target: String
    private let url: String
    private let worker: WorkerThread
    private let state = Mutex<(report: ReplicationSlotReport?, status: ServiceStatus)>(
        (nil, ServiceStatus(.connecting, "replication slots: not read yet")))

    package init(sourceURL: String, target: String, everySeconds: Double = 5) {
        self.url = sourceURL
        self.target = target
        self.everySeconds = max(0.05, everySeconds)
        self.worker = WorkerThread(name: "cdctop-slots")
    }

    deinit { worker.stop(waitSeconds: 1) }

    package func start() { worker.start { [weak self] in self?.run() } }
    package func stop() { worker.stop() }
    /// Reads as soon as possible instead of waiting for the period.
    package func pollNow() { worker.wake() }

    /// The last reading (with `error` set while the source cannot be read); nil before the first attempt.
    package var report: ReplicationSlotReport? { state.withLock { $0.report } }
    package var status: ServiceStatus { state.withLock { $0.status } }

    private func run() {
        let reader = ReplicationSlotReader(url: url)
        var backoff = ReconnectBackoff(initialSeconds: 1, maximumSeconds: 30)
        while !worker.isStopping {
            do {
                let report = try reader.read()
                backoff.reset()
                let held = report.slots.reduce(Int64(0)) { $0 + ($1.judgedRetainedBytes ?? 0) }
                let detail =
                    report.slots.isEmpty
                    ? "no logical replication slot on the source"
                    : "\(report.slots.count) logical slot\(report.slots.count == 1 ? "" : "s"), \(ReplicationSlotReport.bytesText(held)) of WAL retained"
                state.withLock { $0 = (report, ServiceStatus(.ok, detail)) }
                worker.sleep(seconds: everySeconds)
            } catch {
                // Retriable (the source away): back off; a human must act otherwise, so ask again slowly.
                let delay = error.isRetriable ? backoff.nextDelay() : max(everySeconds, ReconnectBackoff.slowSeconds)
                let attempts = max(backoff.attempts, 1)
                let message = error.shortDescription
                let retryAt = WallClock.nowMs() + Int64(delay * 1000)
                state.withLock { s in
                    var report = s.report ?? ReplicationSlotReport()
                    report.error = message
                    s.report = report
                    s.status = ServiceStatus(
                        .error, "replication slots: \(message); retry in \(WallClock.secondsText(delay))",
                        error: message, attempts: attempts, nextRetryAtMs: retryAt)
                }
                worker.sleep(seconds: delay)
            }
        }
    }
}
