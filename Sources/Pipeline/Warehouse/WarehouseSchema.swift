import Foundation
import Metrics

/// Creates, checks, writes and reads cdctop's own warehouse tables (`WarehouseTables`, in Output/, says
/// what they hold).
package enum WarehouseSchema {
    package static let schemaName = "cdctop"

    /// Creates the schema and tables if they are missing, in one transaction.
    package static func initialize(_ connection: PostgresConnection) throws(WarehouseError) {
        try connection.transaction { () throws(WarehouseError) in
            for sql in WarehouseTables.statements { try connection.execute(sql) }
        }
    }

    /// True when `cdctop.kpi_window` has the `synthetic` marker column (warehouses initialised by an older
    /// cdctop do not until `warehouse init` or `warehouse seed` upgrades them).
    package static func hasSyntheticMarker(_ connection: PostgresConnection) throws(WarehouseError) -> Bool {
        let rows = try connection.execute(
            """
            SELECT count(*) FROM information_schema.columns
            WHERE table_schema = 'cdctop' AND table_name = 'kpi_window' AND column_name = 'synthetic'
            """)
        return rows.rows.first?.first ?? nil == "1"
    }

    /// True when both tables exist (and the role can see them).
    package static func isInitialized(_ connection: PostgresConnection) throws(WarehouseError) -> Bool {
        let rows = try connection.execute(
            "SELECT to_regclass('cdctop.kpi_window') IS NOT NULL AND to_regclass('cdctop.kpi_category_window') IS NOT NULL"
        )
        return rows.rows.first?.first ?? nil == "t"
    }

    /// True when `cdctop.kpi_group_window` exists (warehouses initialised before model profiles lack it
    /// until `warehouse init` runs again; only model profiles with windowed KPIs need it).
    package static func hasKPIGroupTable(_ connection: PostgresConnection) throws(WarehouseError) -> Bool {
        let rows = try connection.execute("SELECT to_regclass('cdctop.kpi_group_window') IS NOT NULL")
        return rows.rows.first?.first ?? nil == "t"
    }

    // MARK: - Writing windows

    /// Upserts `windows` and replaces their category rows, in one transaction: three statements per batch.
    /// Rewriting the same window again gives the same rows, so a retry after a lost COMMIT reply never
    /// duplicates anything. `synthetic` sets the marker column (seed and demo: true; real windows: false);
    /// nil leaves it out, for warehouses without the column (see `hasSyntheticMarker`).
    /// With a model profile's `kpiColumns`, the windowed KPIs' rows in `cdctop.kpi_group_window` are
    /// replaced too (two more statements); the built-in shop form (no columns) writes what it always did.
    package static func write(
        _ windows: [WindowResult], pipeline: String, windowMs: Int64, synthetic: Bool? = nil,
        kpiColumns: [KPIColumns] = [],
        on connection: PostgresConnection
    ) throws(WarehouseError) {
        guard !windows.isEmpty else { return }
        let rows = WarehouseTables.windowRows(windows)
        let starts = PostgresArrayLiteral.integers(rows.starts)
        let counts = PostgresArrayLiteral.integers(rows.txCounts)
        let revenues = PostgresArrayLiteral.decimals(rows.revenues)
        try connection.transaction { () throws(WarehouseError) in
            if let synthetic {
                try connection.execute(
                    WarehouseTables.upsertMarkedWindowsSQL,
                    [
                        pipeline, String(windowMs), starts, counts, revenues,
                        synthetic ? "true" : "false",
                    ])
            } else {
                try connection.execute(
                    WarehouseTables.upsertWindowsSQL, [pipeline, String(windowMs), starts, counts, revenues])
            }
            try connection.execute(WarehouseTables.deleteCategoriesSQL, [pipeline, starts])
            if !rows.categoryStarts.isEmpty {
                try connection.execute(
                    WarehouseTables.insertCategoriesSQL,
                    [
                        pipeline,
                        PostgresArrayLiteral.integers(rows.categoryStarts),
                        PostgresArrayLiteral.texts(rows.categories),
                        PostgresArrayLiteral.decimals(rows.categoryRevenues),
                    ])
            }
            if kpiColumns.contains(where: \.windowed) {
                try connection.execute(WarehouseTables.deleteKPIGroupsSQL, [pipeline, starts])
                let groups = WarehouseTables.kpiGroupRows(windows, kpiColumns)
                if !groups.starts.isEmpty {
                    try connection.execute(
                        WarehouseTables.insertKPIGroupsSQL,
                        [
                            pipeline,
                            PostgresArrayLiteral.integers(groups.starts),
                            PostgresArrayLiteral.texts(groups.kpis),
                            PostgresArrayLiteral.texts(groups.groups),
                            PostgresArrayLiteral.texts(groups.aggregates),
                            PostgresArrayLiteral.decimals(groups.values),
                            PostgresArrayLiteral.integers(groups.rows),
                        ])
                }
            }
        }
    }

    /// One row of `cdctop.kpi_group_window`, as read back.
    package struct KPIGroupRow: Sendable, Hashable, CustomStringConvertible {
        package var windowStartMs: Int64
        package var kpi: String
        package var group: [String]
        package var aggregate: String
        /// Exact decimal text as PostgreSQL prints the numeric; nil for null.
        package var value: String?
        package var rows: Int64
        package init(windowStartMs: Int64, kpi: String, group: [String], aggregate: String, value: String?, rows: Int64)
        {
            self.windowStartMs = windowStartMs
            self.kpi = kpi
            self.group = group
            self.aggregate = aggregate
            self.value = value
            self.rows = rows
        }
        package var description: String {
            "\(windowStartMs) \(kpi) \(group) \(aggregate)=\(value ?? "null") rows \(rows)"
        }
    }

    /// The rows `write` would store for `windows` (what the table should hold), sorted as `readKPIGroups` reads.
    package static func expectedKPIGroups(_ windows: [WindowResult], kpiColumns: [KPIColumns]) -> [KPIGroupRow] {
        let r = WarehouseTables.kpiGroupRows(windows, kpiColumns)
        var out: [KPIGroupRow] = []
        for i in r.starts.indices {
            let group = (try? JSONSerialization.jsonObject(with: Data(r.groups[i].utf8))) as? [String] ?? []
            out.append(
                KPIGroupRow(
                    windowStartMs: r.starts[i], kpi: r.kpis[i], group: group, aggregate: r.aggregates[i],
                    value: r.values[i] == "NULL" ? nil : r.values[i], rows: r.rows[i]))
        }
        return out.sorted(by: KPIGroupRow.precedes)
    }

    /// The stored `kpi_group_window` rows of a pipeline, by window, KPI, group, aggregate.
    package static func readKPIGroups(pipeline: String, on connection: PostgresConnection) throws(WarehouseError)
        -> [KPIGroupRow]
    {
        let sql = """
            SELECT (extract(epoch FROM window_start) * 1000)::bigint, kpi, array_to_json(grp)::text, aggregate, value::text, rows
            FROM cdctop.kpi_group_window WHERE pipeline = $1
            """
        var out: [KPIGroupRow] = []
        for row in try connection.execute(sql, [pipeline]).rows {
            let group = (try? JSONSerialization.jsonObject(with: Data((row[2] ?? "[]").utf8))) as? [String] ?? []
            out.append(
                KPIGroupRow(
                    windowStartMs: try integer(row[0], sql: sql), kpi: row[1] ?? "", group: group,
                    aggregate: row[3] ?? "", value: row[4], rows: try integer(row[5], sql: sql)))
        }
        return out.sorted(by: KPIGroupRow.precedes)
    }

    /// Takes the pipeline's writer lock (a session-level advisory lock) on `connection`. Returns nil when
    /// taken, or a description of the session that holds it ("PostgreSQL backend pid 123, cdctop warehouse sink, from local").
    package static func lockPipeline(_ pipeline: String, on connection: PostgresConnection) throws(WarehouseError)
        -> String?
    {
        let key = "cdctop.kpi_window:\(pipeline)"
        let taken = try connection.execute("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", [key])
        if taken.rows.first?.first ?? nil == "t" { return nil }
        let holderSQL = """
            SELECT a.pid, a.application_name, coalesce(host(a.client_addr), 'local')
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted
              AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)
            LIMIT 1
            """
        guard let row = (try? connection.execute(holderSQL, [key]))?.rows.first else { return "another session" }
        return "PostgreSQL backend pid \(row[0] ?? "?"), \(row[1] ?? "?"), from \(row[2] ?? "?")"
    }

    // MARK: - Reading windows back (tests, `cdctop warehouse status`)

    /// The stored windows of a pipeline, oldest first, as the engine's values.
    package static func readWindows(pipeline: String, on connection: PostgresConnection) throws(WarehouseError)
        -> [WindowResult]
    {
        let windowSQL = """
            SELECT (extract(epoch FROM window_start) * 1000)::bigint, tx_count, revenue::text
            FROM cdctop.kpi_window WHERE pipeline = $1 ORDER BY window_start
            """
        let categorySQL = """
            SELECT (extract(epoch FROM window_start) * 1000)::bigint, category, revenue::text
            FROM cdctop.kpi_category_window WHERE pipeline = $1 ORDER BY window_start, category
            """
        let windowRows = try connection.execute(windowSQL, [pipeline])
        let categoryRows = try connection.execute(categorySQL, [pipeline])
        var categories: [Int64: [String: Money]] = [:]
        for row in categoryRows.rows {
            let start = try integer(row[0], sql: categorySQL)
            categories[start, default: [:]][row[1] ?? ""] = try money(row[2], sql: categorySQL)
        }
        var windows: [WindowResult] = []
        windows.reserveCapacity(windowRows.count)
        for row in windowRows.rows {
            let start = try integer(row[0], sql: windowSQL)
            windows.append(
                WindowResult(
                    windowStartMs: start, txCount: try integer(row[1], sql: windowSQL),
                    revenue: try money(row[2], sql: windowSQL),
                    categoryRevenue: categories[start] ?? [:]))
        }
        return windows
    }

    static func integer(_ text: String?, sql: String) throws(WarehouseError) -> Int64 {
        guard let text else { return 0 }
        if let v = Int64(text) { return v }
        // sum() over numeric columns of a custom query comes back as "12" or "12.0".
        if let m = Money(decimalText: text), m.units % Money.unitsPerWhole == 0 {
            return Int64(m.units / Money.unitsPerWhole)
        }
        throw WarehouseError(
            kind: .badResult, message: "expected a whole number, got \"\(text)\"", sql: sql,
            advice: "the count column of the query must be an integer")
    }

    static func money(_ text: String?, sql: String) throws(WarehouseError) -> Money {
        guard let text else { return .zero }
        if let m = Money(decimalText: text) { return m }
        throw WarehouseError(
            kind: .badResult, message: "expected a decimal amount, got \"\(text)\"", sql: sql,
            advice: "the revenue column of the query must be numeric")
    }
}

/// What one pipeline has in the warehouse (`cdctop warehouse status`).
package struct WarehousePipelineSummary: Sendable, Hashable {
    package var pipeline: String
    package var windows: Int64
    package var categoryRows: Int64
    package var firstWindowStart: String
    package var lastWindowStart: String
    package var lastUpdated: String
    package var txCount: Int64
    package var revenue: Money
    /// Windows written by `warehouse seed` or `cdctop demo` (0 on warehouses without the marker).
    package var syntheticWindows: Int64 = 0
}

extension WarehouseSchema {
    package static func summaries(on connection: PostgresConnection) throws(WarehouseError)
        -> [WarehousePipelineSummary]
    {
        let synthetic = try hasSyntheticMarker(connection) ? "count(*) FILTER (WHERE w.synthetic)" : "0"
        let sql = """
            SELECT w.pipeline, count(*),
                   (SELECT count(*) FROM cdctop.kpi_category_window c WHERE c.pipeline = w.pipeline),
                   to_char(min(w.window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                   to_char(max(w.window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                   to_char(max(w.updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                   sum(w.tx_count)::bigint, sum(w.revenue)::text, \(synthetic)
            FROM cdctop.kpi_window w GROUP BY w.pipeline ORDER BY w.pipeline
            """
        var out: [WarehousePipelineSummary] = []
        for row in try connection.execute(sql).rows {
            out.append(
                WarehousePipelineSummary(
                    pipeline: row[0] ?? "", windows: try integer(row[1], sql: sql),
                    categoryRows: try integer(row[2], sql: sql),
                    firstWindowStart: row[3] ?? "", lastWindowStart: row[4] ?? "", lastUpdated: row[5] ?? "",
                    txCount: try integer(row[6], sql: sql), revenue: try money(row[7], sql: sql),
                    syntheticWindows: try integer(row[8], sql: sql)))
        }
        return out
    }
}

extension WarehouseSchema.KPIGroupRow {
    static func precedes(_ a: Self, _ b: Self) -> Bool {
        if a.windowStartMs != b.windowStartMs { return a.windowStartMs < b.windowStartMs }
        if a.kpi != b.kpi { return a.kpi < b.kpi }
        if a.group != b.group { return a.group.lexicographicallyPrecedes(b.group) }
        return a.aggregate < b.aggregate
    }
}
