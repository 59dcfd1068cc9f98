import Foundation
import Metrics
import Synchronization

// Snapshot progress (issue 22, item 1): the source's row estimates. Debezium's notifications are read by
// Debezium/SnapshotNotificationParser.swift; the model and its joins are in Metrics/SnapshotProgress.swift.

/// The source's row estimates of the tables being snapshotted (`--source`): PostgreSQL
/// `pg_class.reltuples` (a `count(*)` instead, once per table, where the table was never analyzed and
/// reltuples is -1), MySQL/MariaDB `information_schema.tables.table_rows` (through the `mariadb`/`mysql`
/// command-line client, as `generate --mysql` does). Read every `everySeconds` on a thread of its own,
/// only while some snapshot is running, with a backoff while the source is away. Keys: `schema.table`
/// (PostgreSQL) or `database.table` (MySQL), as Debezium names collections.
package final class SnapshotEstimateMonitor: Sendable {
    package let everySeconds: Double
    private let url: String
    private let worker: WorkerThread
    private struct State {
        var wanted = Set<String>()
        var estimates: [String: SnapshotEstimate] = [:]
        var status = ServiceStatus(.off, "snapshot estimates: no snapshot running")
    }
    private let state = Mutex(State())

    package init(sourceURL: String, everySeconds: Double = 5) {
        self.url = sourceURL
        self.everySeconds = max(0.05, everySeconds)
        self.worker = WorkerThread(name: "cdctop-snapshot-estimates")
    }

    deinit { worker.stop(waitSeconds: 1) }

    package func start() { worker.start { [weak self] in self?.run() } }
    package func stop() { worker.stop() }

    /// The tables of the snapshots running now (the app calls this with every snapshot it builds).
    package func want(_ tables: Set<String>) {
        let grew = state.withLock { s -> Bool in
            let grew = !tables.isSubset(of: s.wanted)
            s.wanted = tables
            return grew
        }
        if grew { worker.wake() }
    }

    package var estimates: [String: SnapshotEstimate] { state.withLock { $0.estimates } }
    package var status: ServiceStatus { state.withLock { $0.status } }

    private func run() {
        let reader = SnapshotEstimateReader(url: url)
        var backoff = ReconnectBackoff(initialSeconds: 1, maximumSeconds: 30)
        while !worker.isStopping {
            let wanted = state.withLock { $0.wanted }
            if wanted.isEmpty {
                worker.sleep(seconds: everySeconds)
                continue
            }
            do {
                let read = try reader.read(wanted: wanted)
                backoff.reset()
                state.withLock { s in
                    s.estimates.merge(read) { _, new in new }
                    s.status = ServiceStatus(.ok, "snapshot estimates: \(read.count) of \(wanted.count) tables")
                }
                worker.sleep(seconds: everySeconds)
            } catch {
                let delay = backoff.nextDelay()
                state.withLock {
                    $0.status = ServiceStatus(
                        .error, "snapshot estimates: \(error); retry in \(WallClock.secondsText(delay))")
                }
                worker.sleep(seconds: delay)
            }
        }
    }
}

/// A table's estimated rows and where the number came from.
package struct SnapshotEstimate: Sendable, Hashable {
    package var rows: Int64
    /// "pg_class.reltuples", "count(*)" or "information_schema.tables".
    package var source: String
    package init(rows: Int64, source: String) {
        self.rows = rows
        self.source = source
    }
}

/// One connection to the source (libpq, or the MySQL command-line client); one owner (the monitor's thread).
final class SnapshotEstimateReader {
    struct Failure: Error, CustomStringConvertible { var description: String }
    private let url: String
    private let isMySQL: Bool
    private var postgres: PostgresConnection?
    private var mysql: MySQLClientSession?
    /// Tables counted with `count(*)` (never analyzed): counted once per run, the count kept.
    private var counted: [String: Int64] = [:]

    init(url: String) {
        self.url = url
        let lower = url.lowercased()
        isMySQL = lower.hasPrefix("mysql://") || lower.hasPrefix("mariadb://")
    }

    func read(wanted: Set<String>) throws -> [String: SnapshotEstimate] {
        isMySQL ? try readMySQL(wanted: wanted) : try readPostgres(wanted: wanted)
    }

    private func readPostgres(wanted: Set<String>) throws -> [String: SnapshotEstimate] {
        do {
            let connection: PostgresConnection
            if let postgres {
                connection = postgres
            } else {
                connection = try PostgresConnection(url, applicationName: "cdctop snapshot estimates")
                postgres = connection
            }
            let names = wanted.sorted()
            // One statement for every wanted table; `to_regclass` is NULL for a name that is not a table here.
            let rows = try connection.execute(
                """
                SELECT w.name, c.reltuples::bigint
                FROM unnest($1::text[]) AS w(name) JOIN pg_class c ON c.oid = to_regclass(w.name)
                """,
                [
                    "{"
                        + names.map {
                            "\""
                                + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
                                    of: "\"", with: "\\\"") + "\""
                        }.joined(separator: ",") + "}"
                ])
            var out: [String: SnapshotEstimate] = [:]
            for row in rows.rows {
                guard row.count == 2, let name = row[0], let text = row[1], let rows = Int64(text) else { continue }
                if rows >= 0 {
                    out[name] = SnapshotEstimate(rows: rows, source: "pg_class.reltuples")
                } else if let n = counted[name] {
                    out[name] = SnapshotEstimate(rows: n, source: "count(*)")
                } else {
                    // Never analyzed (reltuples -1): count once; a snapshot is a one-off, so is this scan.
                    let quoted = name.split(separator: ".").map {
                        "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                    }.joined(separator: ".")
                    if let text = try connection.execute("SELECT count(*) FROM \(quoted)").rows.first?.first ?? nil,
                        let n = Int64(text)
                    {
                        counted[name] = n
                        out[name] = SnapshotEstimate(rows: n, source: "count(*)")
                    }
                }
            }
            return out
        } catch {
            if !(postgres?.isConnected ?? false) { postgres = nil }
            throw Failure(description: error.shortDescription)
        }
    }

    private func readMySQL(wanted: Set<String>) throws -> [String: SnapshotEstimate] {
        do throws(MySQLSourceError) {
            let session: MySQLClientSession
            if let mysql {
                session = mysql
            } else {
                session = try MySQLClientSession(try MySQLURL(url))
                mysql = session
            }
            // `run` ends the batch with a statement of its own: without the `;` the two ran as one and failed.
            let rows = try session.run(
                """
                SELECT CONCAT(table_schema, '.', table_name), table_rows FROM information_schema.tables
                WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys');
                """)
            var out: [String: SnapshotEstimate] = [:]
            for row in rows where row.count == 2 && wanted.contains(row[0]) {
                if let n = Int64(row[1]) {
                    out[row[0]] = SnapshotEstimate(rows: n, source: "information_schema.tables")
                }
            }
            return out
        } catch {
            mysql = nil
            throw Failure(description: "\(error)")
        }
    }
}
