import Foundation
import Metrics

/// cdctop's own warehouse tables, created by `cdctop warehouse init` (idempotent: safe to run again).
///
/// ```
/// cdctop.kpi_window            one row per closed window of a pipeline
///   pipeline     text          name of the cdctop pipeline (the KPI profile, or 'seed' style names)
///   window_start timestamptz   start of the tumbling window (UTC)
///   window_ms    bigint        window length (30 000 for live windows; the seed writes hour windows)
///   tx_count     bigint        net transactions (creates − deletes) committed in the window
///   revenue      numeric       net revenue, exact (no scale limit: cdctop money is exact)
///   updated_at   timestamptz   last write; a late correction rewrites the row
///   synthetic    boolean       true when `warehouse seed` or `cdctop demo` wrote the row (not real data);
///                              added by `warehouse init`/`seed` to older warehouses (ADD COLUMN IF NOT EXISTS)
///   PRIMARY KEY (pipeline, window_start)
///
/// cdctop.kpi_category_window   net line-item revenue per category of a window
///   pipeline, window_start     → cdctop.kpi_window (ON DELETE CASCADE)
///   category     text
///   revenue      numeric
///   PRIMARY KEY (pipeline, window_start, category)
///
/// cdctop.kpi_group_window      a model profile's windowed KPIs: net value per group and aggregate of a window
///   pipeline, window_start     → cdctop.kpi_window (ON DELETE CASCADE)
///   kpi          text          the KPI's name ([kpi.NAME] in the profile)
///   grp          text[]        the group's values as shown (null as the profile's `uncategorized`); '{}' ungrouped
///   aggregate    text          the aggregate's name (its alias, or its text: 'sum(quantity)'); a repeated name gets ' #2'
///   value        numeric       exact: counts whole, sums with the places they need, averages to 9 places;
///                              null for an average of no rows
///   rows         bigint        net rows of the group in the window
///   PRIMARY KEY (pipeline, window_start, kpi, grp, aggregate)
/// ```
package enum WarehouseSchema {
    package static let schemaName = "cdctop"

    static let statements: [String] = [
        "CREATE SCHEMA IF NOT EXISTS cdctop",
        """
        CREATE TABLE IF NOT EXISTS cdctop.kpi_window (
            pipeline     text        NOT NULL,
            window_start timestamptz NOT NULL,
            window_ms    bigint      NOT NULL DEFAULT 30000,
            tx_count     bigint      NOT NULL,
            revenue      numeric     NOT NULL,
            updated_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (pipeline, window_start)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS cdctop.kpi_category_window (
            pipeline     text        NOT NULL,
            window_start timestamptz NOT NULL,
            category     text        NOT NULL,
            revenue      numeric     NOT NULL,
            PRIMARY KEY (pipeline, window_start, category),
            FOREIGN KEY (pipeline, window_start) REFERENCES cdctop.kpi_window (pipeline, window_start) ON DELETE CASCADE
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS cdctop.kpi_group_window (
            pipeline     text        NOT NULL,
            window_start timestamptz NOT NULL,
            kpi          text        NOT NULL,
            grp          text[]      NOT NULL,
            aggregate    text        NOT NULL,
            value        numeric,
            rows         bigint      NOT NULL,
            PRIMARY KEY (pipeline, window_start, kpi, grp, aggregate),
            FOREIGN KEY (pipeline, window_start) REFERENCES cdctop.kpi_window (pipeline, window_start) ON DELETE CASCADE
        )
        """,
        // Upgrade of warehouses created before the marker existed: their rows count as real.
        "ALTER TABLE cdctop.kpi_window ADD COLUMN IF NOT EXISTS synthetic boolean NOT NULL DEFAULT false",
        "COMMENT ON TABLE cdctop.kpi_window IS 'cdctop: KPIs of each closed event-time window, rewritten by late corrections'",
        "COMMENT ON COLUMN cdctop.kpi_window.synthetic IS 'cdctop: written by warehouse seed or cdctop demo, not real data'",
        "COMMENT ON TABLE cdctop.kpi_category_window IS 'cdctop: net line-item revenue per category of each window'",
        "COMMENT ON TABLE cdctop.kpi_group_window IS 'cdctop: net value per group and aggregate of a model profile''s windowed KPIs, per window'",
    ]

    /// Creates the schema and tables if they are missing, in one transaction.
    package static func initialize(_ connection: PostgresConnection) throws(WarehouseError) {
        try connection.transaction { () throws(WarehouseError) in
            for sql in statements { try connection.execute(sql) }
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

    /// Every INSERT the sink and the seeder run: WarehouseTablesSchemaTests checks their columns against
    /// `WarehouseTablesSchema` (Output/).
    package static let insertStatements = [
        upsertWindowsSQL, upsertMarkedWindowsSQL, insertCategoriesSQL, insertKPIGroupsSQL,
    ]

    static let upsertWindowsSQL = """
        INSERT INTO cdctop.kpi_window (pipeline, window_start, window_ms, tx_count, revenue, updated_at)
        SELECT $1, timestamptz 'epoch' + w.start_ms * interval '1 millisecond', $2, w.tx_count, w.revenue, now()
        FROM unnest($3::bigint[], $4::bigint[], $5::numeric[]) AS w(start_ms, tx_count, revenue)
        ON CONFLICT (pipeline, window_start) DO UPDATE
        SET window_ms = excluded.window_ms, tx_count = excluded.tx_count, revenue = excluded.revenue,
            updated_at = excluded.updated_at
        """
    /// The same upsert, also setting the marker: a real window that replaces a seeded one becomes real.
    static let upsertMarkedWindowsSQL = """
        INSERT INTO cdctop.kpi_window (pipeline, window_start, window_ms, tx_count, revenue, updated_at, synthetic)
        SELECT $1, timestamptz 'epoch' + w.start_ms * interval '1 millisecond', $2, w.tx_count, w.revenue, now(), $6
        FROM unnest($3::bigint[], $4::bigint[], $5::numeric[]) AS w(start_ms, tx_count, revenue)
        ON CONFLICT (pipeline, window_start) DO UPDATE
        SET window_ms = excluded.window_ms, tx_count = excluded.tx_count, revenue = excluded.revenue,
            updated_at = excluded.updated_at, synthetic = excluded.synthetic
        """
    static let deleteCategoriesSQL = """
        DELETE FROM cdctop.kpi_category_window
        WHERE pipeline = $1
          AND window_start IN (SELECT timestamptz 'epoch' + s * interval '1 millisecond' FROM unnest($2::bigint[]) AS s)
        """
    static let insertCategoriesSQL = """
        INSERT INTO cdctop.kpi_category_window (pipeline, window_start, category, revenue)
        SELECT $1, timestamptz 'epoch' + c.start_ms * interval '1 millisecond', c.category, c.revenue
        FROM unnest($2::bigint[], $3::text[], $4::numeric[]) AS c(start_ms, category, revenue)
        """

    static let deleteKPIGroupsSQL = """
        DELETE FROM cdctop.kpi_group_window
        WHERE pipeline = $1
          AND window_start IN (SELECT timestamptz 'epoch' + s * interval '1 millisecond' FROM unnest($2::bigint[]) AS s)
        """
    /// Groups travel as JSON arrays of text (a `text[]` per row cannot go through `unnest`).
    static let insertKPIGroupsSQL = """
        INSERT INTO cdctop.kpi_group_window (pipeline, window_start, kpi, grp, aggregate, value, rows)
        SELECT $1, timestamptz 'epoch' + g.start_ms * interval '1 millisecond', g.kpi,
               ARRAY(SELECT jsonb_array_elements_text(g.grp::jsonb)), g.aggregate, g.value, g.rows
        FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::bigint[])
             AS g(start_ms, kpi, grp, aggregate, value, rows)
        """

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
        let starts = PostgresArrayLiteral.integers(windows.lazy.map(\.windowStartMs))
        let counts = PostgresArrayLiteral.integers(windows.lazy.map(\.txCount))
        let revenues = PostgresArrayLiteral.decimals(windows.lazy.map { $0.revenue.formatted() })
        var categoryStarts: [Int64] = []
        var categoryNames: [String] = []
        var categoryRevenues: [String] = []
        for window in windows {
            for (name, revenue) in window.categoryRevenue {
                categoryStarts.append(window.windowStartMs)
                categoryNames.append(name)
                categoryRevenues.append(revenue.formatted())
            }
        }
        try connection.transaction { () throws(WarehouseError) in
            if let synthetic {
                try connection.execute(
                    upsertMarkedWindowsSQL,
                    [
                        pipeline, String(windowMs), starts, counts, revenues,
                        synthetic ? "true" : "false",
                    ])
            } else {
                try connection.execute(upsertWindowsSQL, [pipeline, String(windowMs), starts, counts, revenues])
            }
            try connection.execute(deleteCategoriesSQL, [pipeline, starts])
            if !categoryStarts.isEmpty {
                try connection.execute(
                    insertCategoriesSQL,
                    [
                        pipeline,
                        PostgresArrayLiteral.integers(categoryStarts),
                        PostgresArrayLiteral.texts(categoryNames),
                        PostgresArrayLiteral.decimals(categoryRevenues),
                    ])
            }
            if kpiColumns.contains(where: \.windowed) {
                try connection.execute(deleteKPIGroupsSQL, [pipeline, starts])
                let rows = kpiGroupRows(windows, kpiColumns)
                if !rows.starts.isEmpty {
                    try connection.execute(
                        insertKPIGroupsSQL,
                        [
                            pipeline,
                            PostgresArrayLiteral.integers(rows.starts),
                            PostgresArrayLiteral.texts(rows.kpis),
                            PostgresArrayLiteral.texts(rows.groups),
                            PostgresArrayLiteral.texts(rows.aggregates),
                            PostgresArrayLiteral.decimals(rows.values),
                            PostgresArrayLiteral.integers(rows.rows),
                        ])
                }
            }
        }
    }

    /// The `kpi_group_window` rows of `windows`, column by column: one per window, windowed KPI, group
    /// and aggregate. Groups that print the same are one row; values are the exact text (`NULL` for an
    /// average of no rows).
    static func kpiGroupRows(_ windows: [WindowResult], _ kpiColumns: [KPIColumns])
        -> (starts: [Int64], kpis: [String], groups: [String], aggregates: [String], values: [String], rows: [Int64])
    {
        var out:
            (starts: [Int64], kpis: [String], groups: [String], aggregates: [String], values: [String], rows: [Int64]) =
                ([], [], [], [], [], [])
        let labels = kpiColumns.map(KPIOutput.aggregateLabels)
        for window in windows {
            for (k, columns) in kpiColumns.enumerated() where columns.windowed && k < window.kpis.count {
                for row in KPIOutput.groupRows(columns, window.kpis[k]) {
                    let group = "[" + row.text.map(JSONText.quoted).joined(separator: ",") + "]"
                    for (i, aggregate) in labels[k].enumerated() {
                        let text = columns.valueText(row.accum, i)
                        out.starts.append(window.windowStartMs)
                        out.kpis.append(columns.name)
                        out.groups.append(group)
                        out.aggregates.append(aggregate)
                        out.values.append(text == "null" ? "NULL" : text)
                        out.rows.append(row.accum.rows)
                    }
                }
            }
        }
        return out
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
        let r = kpiGroupRows(windows, kpiColumns)
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
