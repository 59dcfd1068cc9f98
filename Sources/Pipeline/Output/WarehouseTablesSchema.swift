/// The warehouse tables `warehouse init` creates in schema `cdctop` and the sink writes: per table its columns,
/// with the SQL type `WarehouseTables.statements` declares. docs/outputs/warehouse.md is generated from this;
/// WarehouseTablesSchemaTests runs `warehouse init` on a real PostgreSQL and fails on a column the database has
/// and this lacks, or this has and the database lacks (name or type).
package enum WarehouseTablesSchema {
    package static let sections: [OutputSection] = [
        OutputSection(
            "cdctop.kpi_window",
            about:
                "One row per closed window, upserted on `(pipeline, window_start)` and rewritten by late corrections.",
            fields: [
                OutputField(
                    "pipeline", type: "text", help: "The pipeline (profile name unless --pipeline).",
                    source: "WarehouseSink pipeline"),
                OutputField(
                    "window_start", type: "timestamptz", help: "Start of the window.",
                    source: "WindowResult.windowStartMs"),
                OutputField(
                    "window_ms", type: "bigint", unit: "ms", help: "Length of the window.",
                    source: "KPIResult.windowMs"),
                OutputField(
                    "tx_count", type: "bigint", help: "Net transactions of the window.", source: "WindowResult.txCount"),
                OutputField(
                    "revenue", type: "numeric", unit: "money", help: "Net revenue of the window, exact.",
                    source: "WindowResult.revenue"),
                OutputField(
                    "updated_at", type: "timestamptz", help: "When cdctop last wrote the row.", source: "now()"),
                OutputField(
                    "synthetic", type: "boolean",
                    help: "Written by `warehouse seed` or `cdctop demo`, not real data.",
                    source: "WarehouseSeed, DemoHistorySeeder"),
            ]),
        OutputSection(
            "cdctop.kpi_category_window",
            about: "Net line-item revenue per category of each window; replaced with its window.",
            fields: [
                OutputField("pipeline", type: "text", help: "As in kpi_window.", source: "WarehouseSink pipeline"),
                OutputField(
                    "window_start", type: "timestamptz", help: "As in kpi_window.",
                    source: "WindowResult.windowStartMs"),
                OutputField(
                    "category", type: "text", help: "The category's name.", source: "WindowResult.categoryRevenue"),
                OutputField(
                    "revenue", type: "numeric", unit: "money", help: "Its net sales in the window, exact.",
                    source: "WindowResult.categoryRevenue"),
            ]),
        OutputSection(
            "cdctop.kpi_group_window",
            about: """
                A model profile's windowed KPIs (not those with `windows = false`): one row per group and aggregate \
                of each closed window, primary key `(pipeline, window_start, kpi, grp, aggregate)`.
                """,
            fields: [
                OutputField("pipeline", type: "text", help: "As in kpi_window.", source: "WarehouseSink pipeline"),
                OutputField(
                    "window_start", type: "timestamptz", help: "As in kpi_window.",
                    source: "WindowResult.windowStartMs"),
                OutputField("kpi", type: "text", help: "The KPI's name.", source: "KPIColumns.name"),
                OutputField(
                    "grp", type: "text[]",
                    help: "The group's values as shown (`'{}'` ungrouped, a null as the profile's `uncategorized`).",
                    source: "KPIColumns.groupText"),
                OutputField(
                    "aggregate", type: "text", help: "The aggregate's label, e.g. `sum(quantity)`.",
                    source: "KPIOutput.aggregateLabels"),
                OutputField(
                    "value", type: "numeric",
                    help:
                        "Net value in the window, exact: counts whole, sums with the places they need, averages to 9 places, null for an average of no rows.",
                    source: "KPIColumns.valueText"),
                OutputField(
                    "rows", type: "bigint", help: "Rows the value covers.", source: "KPIAccum"),
            ]),
    ]

    /// docs/outputs/warehouse.md.
    package static let document = OutputSchema(
        file: "warehouse.md", title: "PostgreSQL warehouse tables",
        intro: """
            The tables `cdctop warehouse init` creates (idempotent) and `--warehouse URL` writes, one transaction \
            per batch, every query parameterised. See docs/interfaces.md, "PostgreSQL warehouse".
            """,
        sections: sections)
}
