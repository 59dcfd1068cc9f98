import Metrics
import Synchronization

/// The queries behind the History view. Both take `$1` = number of days (int) and `$2` = pipeline (text);
/// a query may ignore either (parameter types are sent, so an unused one is not an error).
///
/// - `sql` returns one row per day: `(day, tx_count, revenue)`, `day` as a date or `YYYY-MM-DD` text.
/// - `categorySQL` (optional) returns `(day, category, revenue)` for the drill-down.
///
/// For a warehouse with its own fact table, e.g. `fact_sales(day date, category text, revenue numeric,
/// transactions bigint)`, a profile would set:
/// ```
/// sql         = "SELECT day, sum(transactions), sum(revenue) FROM fact_sales
///                WHERE day > current_date - $1::int GROUP BY day ORDER BY day"
/// categorySQL = "SELECT day, category, sum(revenue) FROM fact_sales
///                WHERE day > current_date - $1::int GROUP BY 1, 2 ORDER BY 1, 2"
/// ```
package struct HistoryQuery: Sendable, Hashable {
    package var sql: String
    package var categorySQL: String?

    package init(sql: String, categorySQL: String? = nil) {
        self.sql = sql
        self.categorySQL = categorySQL
    }

    /// cdctop's own schema: the last `$1` UTC days (today included) of pipeline `$2`.
    package static let `default` = HistoryQuery(
        sql: """
            SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                   sum(tx_count)::bigint AS tx_count, sum(revenue) AS revenue
            FROM cdctop.kpi_window
            WHERE pipeline = $2
              AND window_start >= (date_trunc('day', now() AT TIME ZONE 'UTC') - ($1::int - 1) * interval '1 day') AT TIME ZONE 'UTC'
            GROUP BY 1 ORDER BY 1
            """,
        categorySQL: """
            SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, category, sum(revenue) AS revenue
            FROM cdctop.kpi_category_window
            WHERE pipeline = $2
              AND window_start >= (date_trunc('day', now() AT TIME ZONE 'UTC') - ($1::int - 1) * interval '1 day') AT TIME ZONE 'UTC'
            GROUP BY 1, 2 ORDER BY 1, 2
            """)

    static let parameterTypes: [UInt32] = [23, 25]  // int4, text

    /// Runs the queries once on `connection` and returns days oldest first.
    package func load(
        days: Int, pipeline: String, on connection: PostgresConnection,
        nowMs: Int64? = nil
    ) throws(WarehouseError) -> HistoryData {
        let parameters: [String?] = [String(days), pipeline]
        let dayRows = try connection.execute(sql, parameters, types: HistoryQuery.parameterTypes)
        guard dayRows.columnNames.count >= 3 else {
            throw WarehouseError(
                kind: .badResult,
                message:
                    "the history query returns \(dayRows.columnNames.count) columns, expected (day, tx_count, revenue)",
                sql: sql, advice: "fix the history query in the profile")
        }
        var figures: [String: DayFigure] = [:]
        for row in dayRows.rows {
            guard let day = row[0].map(HistoryQuery.dayText) else { continue }
            figures[day] = DayFigure(
                day: day,
                txCount: try WarehouseSchema.integer(row[1], sql: sql),
                revenue: try WarehouseSchema.money(row[2], sql: sql))
        }
        if let categorySQL {
            let categoryRows = try connection.execute(categorySQL, parameters, types: HistoryQuery.parameterTypes)
            guard categoryRows.columnNames.count >= 3 else {
                throw WarehouseError(
                    kind: .badResult,
                    message:
                        "the category history query returns \(categoryRows.columnNames.count) columns, expected (day, category, revenue)",
                    sql: categorySQL, advice: "fix the category history query in the profile")
            }
            for row in categoryRows.rows {
                guard let day = row[0].map(HistoryQuery.dayText), figures[day] != nil else { continue }
                let amount = try WarehouseSchema.money(row[2], sql: categorySQL)
                figures[day]!.categoryRevenue[row[1] ?? "", default: .zero] += amount
            }
        }
        let days = figures.keys.sorted().map { figures[$0]! }
        return HistoryData(days: days, loadedAtMs: nowMs ?? WallClock.nowMs())
    }

    /// `2024-05-01`, `2024-05-01 00:00:00+00` → `2024-05-01`.
    static func dayText(_ value: String) -> String { String(value.prefix(10)) }
}

/// Loads the History view's days on its own thread and connection: at start, every
/// `reloadEverySeconds`, and when `reload()` is called (a key in the dashboard).
package final class HistoryLoader: Sendable {
    package let pipeline: String
    package let days: Int
    package let query: HistoryQuery
    package let reloadEverySeconds: Double
    private let url: String
    private let worker: WorkerThread
    private let state = Mutex<(history: HistoryData?, status: ServiceStatus, lastError: WarehouseError?)>(
        (nil, ServiceStatus(.connecting, "history: not loaded yet"), nil))

    package init(
        url: String, pipeline: String, days: Int = 30, query: HistoryQuery = .default,
        reloadEverySeconds: Double = 60
    ) {
        self.url = url
        self.pipeline = pipeline
        self.days = max(1, days)
        self.query = query
        self.reloadEverySeconds = max(0.05, reloadEverySeconds)
        self.worker = WorkerThread(name: "cdctop-warehouse-history")
    }

    deinit { worker.stop(waitSeconds: 1) }

    package func start() { worker.start { [weak self] in self?.run() } }
    package func stop() { worker.stop() }
    /// Reloads now (returns at once; the result appears in `history`).
    package func reload() { worker.wake() }

    package var history: HistoryData? { state.withLock { $0.history } }
    package var status: ServiceStatus { state.withLock { $0.status } }
    package var lastError: WarehouseError? { state.withLock { $0.lastError } }

    private func run() {
        var connection: PostgresConnection?
        var backoff = ReconnectBackoff()
        while !worker.isStopping {
            do {
                if connection == nil {
                    state.withLock { $0.status = ServiceStatus(.connecting, "history: connecting") }
                    let fresh = try PostgresConnection(url, applicationName: "cdctop history")
                    // Custom queries may return dates; ISO keeps them YYYY-MM-DD.
                    try fresh.execute("SET DateStyle = ISO")
                    connection = fresh
                }
                let data = try query.load(days: days, pipeline: pipeline, on: connection!)
                state.withLock {
                    $0.history = data
                    $0.lastError = nil
                    $0.status = ServiceStatus(.ok, "history: \(data.days.count) days loaded")
                }
                backoff.reset()
                worker.sleep(seconds: reloadEverySeconds)
            } catch {
                if !(connection?.isConnected ?? false) { connection = nil }
                // A missing schema or a bad query will not fix itself quickly: retry at the reload pace.
                let delay = error.isRetriable ? backoff.nextDelay() : reloadEverySeconds
                state.withLock {
                    $0.lastError = error
                    $0.status = ServiceStatus(
                        .error, "history: \(error.shortDescription); retry in \(WallClock.secondsText(delay))")
                }
                worker.sleep(seconds: delay)
            }
        }
    }
}
