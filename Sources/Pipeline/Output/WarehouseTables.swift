import Metrics

/// cdctop's own warehouse tables, created by `cdctop warehouse init` (idempotent: safe to run again): their
/// DDL, the SQL that writes them and the rows a window becomes. `WarehouseTablesSchema` declares the columns
/// (docs/outputs/warehouse.md); `WarehouseTablesSchemaTests` checks both against a real PostgreSQL.
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
package enum WarehouseTables {
    package static let statements: [String] = [
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

    /// The `kpi_window` and `kpi_category_window` rows of `windows`, column by column (money as exact text).
    static func windowRows(_ windows: [WindowResult]) -> (
        starts: [Int64], txCounts: [Int64], revenues: [String], categoryStarts: [Int64], categories: [String],
        categoryRevenues: [String]
    ) {
        var out:
            (
                starts: [Int64], txCounts: [Int64], revenues: [String], categoryStarts: [Int64], categories: [String],
                categoryRevenues: [String]
            ) = ([], [], [], [], [], [])
        for window in windows {
            out.starts.append(window.windowStartMs)
            out.txCounts.append(window.txCount)
            out.revenues.append(window.revenue.formatted())
            for (name, revenue) in window.categoryRevenue {
                out.categoryStarts.append(window.windowStartMs)
                out.categories.append(name)
                out.categoryRevenues.append(revenue.formatted())
            }
        }
        return out
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

}
