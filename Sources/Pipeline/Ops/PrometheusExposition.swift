import Metrics

/// Everything `/metrics` shows besides the engine's snapshot, read from the integrations' own
/// published state (each behind its own small lock, never the engine's).
public struct OpsReport: Sendable {
    public var connect: ConnectHealthReport?
    public var reconciliation: Reconciliation?
    /// nil when the integration is not configured (then no `_up` series is written).
    public var redis: ServiceStatus?
    public var warehouse: ServiceStatus?

    public init(connect: ConnectHealthReport? = nil, reconciliation: Reconciliation? = nil, redis: ServiceStatus? = nil,
                warehouse: ServiceStatus? = nil) {
        self.connect = connect; self.reconciliation = reconciliation; self.redis = redis; self.warehouse = warehouse
    }
}

/// Renders the Prometheus text exposition format, version 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/). Money is a float gauge here;
/// the exact decimal strings stay in JSON and Redis. A model profile's KPIs (`cdctop_kpi`) are
/// written as their exact text, which Prometheus parses as a float.
public enum PrometheusExposition {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// At most this many label values per family for data-driven labels (categories): bounded series.
    public static let maxCategories = 1_000

    public static func render(_ s: KPISnapshot?, ops: OpsReport, nowMs: Int64) -> String {
        var w = Writer()
        w.family("cdctop_up", .gauge, "1 while cdctop runs and has published a snapshot of the engine.")
        w.sample("cdctop_up", [], s == nil ? 0 : 1)
        guard let s else { return w.text }
        w.family("cdctop_snapshot_age_seconds", .gauge, "Seconds since the engine published the snapshot this scrape shows.")
        w.sample("cdctop_snapshot_age_seconds", [], seconds(nowMs - s.takenAtMs))

        // KPIs
        let r = s.result
        w.family("cdctop_messages_total", .counter, "Kafka messages read, tombstones and malformed ones included.")
        w.sample("cdctop_messages_total", [], Double(r.messages))
        w.family("cdctop_kpi_transactions", .gauge, "Running total of transactions (creates minus deletes, snapshot reads included).")
        w.sample("cdctop_kpi_transactions", [], Double(r.totals.txCount))
        w.family("cdctop_kpi_revenue", .gauge, "Running total of revenue (float; the exact decimal is in --json and Redis).")
        w.sample("cdctop_kpi_revenue", [], r.totals.revenue.approximateDouble)
        w.family("cdctop_kpi_category_revenue", .gauge, "Running net line-item sales per product category (float).")
        for name in r.totals.categoryRevenue.keys.sorted().prefix(maxCategories) {
            w.sample("cdctop_kpi_category_revenue", [("category", name)], r.totals.categoryRevenue[name]!.approximateDouble)
        }
        if !r.kpiColumns.isEmpty { renderModelKPIs(r, into: &w) }
        w.family("cdctop_window_seconds", .gauge, "Length of a tumbling KPI window.")
        w.sample("cdctop_window_seconds", [], seconds(r.windowMs))
        if let current = r.windows.last {
            w.family("cdctop_window_start_timestamp_seconds", .gauge, "Start of the current (latest) window, Unix time.")
            w.sample("cdctop_window_start_timestamp_seconds", [], seconds(current.windowStartMs))
            w.family("cdctop_window_transactions", .gauge, "Net transactions committed in the current window.")
            w.sample("cdctop_window_transactions", [], Double(current.txCount))
            w.family("cdctop_window_revenue", .gauge, "Net revenue committed in the current window (float).")
            w.sample("cdctop_window_revenue", [], current.revenue.approximateDouble)
            w.family("cdctop_window_category_revenue", .gauge, "Net line-item sales per category in the current window (float).")
            for name in current.categoryRevenue.keys.sorted().prefix(maxCategories) {
                w.sample("cdctop_window_category_revenue", [("category", name)], current.categoryRevenue[name]!.approximateDouble)
            }
        }

        // Events and problems
        w.family("cdctop_events_total", .counter, "Change events applied, per table and Debezium op (c u d r t tombstone).")
        for t in s.tables {
            for op in ChangeOp.allCases where t.count(op) > 0 {
                w.sample("cdctop_events_total", [("table", t.table), ("op", op.code)], Double(t.count(op)))
            }
        }
        w.family("cdctop_table_malformed_total", .counter, "Malformed messages per table.")
        for t in s.tables where t.malformed > 0 {
            w.sample("cdctop_table_malformed_total", [("table", t.table)], Double(t.malformed))
        }
        let counters: [(String, String, Int64)] = [
            ("cdctop_malformed_total", "Messages that could not be decoded (kept, counted, never applied).", r.malformed),
            ("cdctop_dropped_total", "Events dropped because a column the profile needs was missing.", r.dropped),
            ("cdctop_late_corrections_total", "Events that changed a window the watermark had already closed.", s.lateCorrections),
            ("cdctop_duplicates_total", "Redelivered messages (offset at or below the last applied one), ignored.", s.duplicates),
            ("cdctop_unmatched_total", "Updates or deletes of a key cdctop never saw.", s.unmatched),
            ("cdctop_refused_total", "Events refused because applying them would overflow a sum.", s.refused),
            ("cdctop_ignored_total", "Messages of tables or ops the profile does not use.", s.ignored),
            ("cdctop_tombstones_total", "Kafka tombstones (null values after deletes).", s.tombstones),
            ("cdctop_heartbeats_total", "Debezium heartbeat messages.", s.heartbeats),
            ("cdctop_schema_change_snapshot_total", "DDL messages of connectors' initial snapshots.", s.snapshotDDL),
        ]
        for (name, help, value) in counters {
            w.family(name, .counter, help)
            w.sample(name, [], Double(value))
        }
        w.family("cdctop_schema_changes_total", .counter, "Schema changes (DDL) per table since this run started.")
        for table in s.schemaChanges.keys.sorted() {
            w.sample("cdctop_schema_changes_total", [("table", table)], Double(s.schemaChanges[table]!))
        }
        w.family("cdctop_parked_line_items", .gauge, "Line items waiting for their product's dimension row.")
        w.sample("cdctop_parked_line_items", [], Double(s.parkedLineItems))

        // Freshness and lag
        if s.maxCommitTimeMs > 0 {
            w.family("cdctop_last_commit_timestamp_seconds", .gauge, "Newest source commit time seen, Unix time.")
            w.sample("cdctop_last_commit_timestamp_seconds", [], seconds(s.maxCommitTimeMs))
        }
        w.family("cdctop_caught_up", .gauge, "1 once every assigned partition reached its end at least once.")
        w.sample("cdctop_caught_up", [], s.caughtUp ? 1 : 0)
        w.family("cdctop_partition_lag_messages", .gauge, "Messages between cdctop's position and the end of the partition.")
        for p in s.partitions {
            w.sample("cdctop_partition_lag_messages", partitionLabels(p), Double(p.lag))
        }
        w.family("cdctop_partition_lag_seconds", .gauge, "Age of the last event read from a partition that still has lag (0 when none).")
        for p in s.partitions {
            let lagMs = p.lag > 0 && p.lastCommitTimeMs > 0 ? max(0, nowMs - p.lastCommitTimeMs) : 0
            w.sample("cdctop_partition_lag_seconds", partitionLabels(p), seconds(lagMs))
        }
        w.family("cdctop_partition_high_watermark", .gauge, "End offset of the partition as last reported by the broker (-1 unknown).")
        for p in s.partitions { w.sample("cdctop_partition_high_watermark", partitionLabels(p), Double(p.highWatermark)) }
        w.family("cdctop_partition_committed_offset", .gauge, "Offset committed to cdctop's group (-1 none).")
        for p in s.partitions { w.sample("cdctop_partition_committed_offset", partitionLabels(p), Double(p.committed)) }

        // Services
        w.family("cdctop_kafka_up", .gauge, "1 when the Kafka consumer has partitions and no error.")
        w.sample("cdctop_kafka_up", [], s.kafka.state == .ok ? 1 : 0)
        if let redis = ops.redis {
            w.family("cdctop_redis_up", .gauge, "1 when the Redis mirror writes (0 paused, connecting or failing).")
            w.sample("cdctop_redis_up", [], redis.state == .ok ? 1 : 0)
        }
        if let warehouse = ops.warehouse {
            w.family("cdctop_warehouse_up", .gauge, "1 when the PostgreSQL warehouse sink writes.")
            w.sample("cdctop_warehouse_up", [], warehouse.state == .ok ? 1 : 0)
        }
        if s.lastHeartbeatMs > 0 {
            w.family("cdctop_heartbeat_age_seconds", .gauge, "Seconds since the newest Debezium heartbeat.")
            w.sample("cdctop_heartbeat_age_seconds", [], seconds(max(0, nowMs - s.lastHeartbeatMs)))
        }
        if let connect = ops.connect {
            w.family("cdctop_connect_up", .gauge, "1 when the last Kafka Connect REST poll succeeded.")
            w.sample("cdctop_connect_up", [], connect.pollError == nil && connect.checkedAtMs > 0 ? 1 : 0)
            w.family("cdctop_connector_state", .gauge, "1 for a connector's current state (Kafka Connect REST), 0 for the others.")
            for c in connect.connectors {
                for state in ConnectState.allCases {
                    w.sample("cdctop_connector_state", [("connector", c.name), ("state", state.rawValue)], c.state == state ? 1 : 0)
                }
            }
            w.family("cdctop_connector_task_state", .gauge, "1 for a task's current state, 0 for the others.")
            for c in connect.connectors {
                for t in c.tasks {
                    for state in ConnectState.allCases {
                        w.sample("cdctop_connector_task_state", [("connector", c.name), ("task", String(t.id)), ("state", state.rawValue)],
                                 t.state == state ? 1 : 0)
                    }
                }
            }
        }
        if let rec = ops.reconciliation {
            w.family("cdctop_reconciliation_verdict", .gauge, "1 for the current verdict of cdctop's totals against the source database.")
            for v in [Reconciliation.Verdict.unknown, .agree, .drift, .waiting] {
                w.sample("cdctop_reconciliation_verdict", [("verdict", v.rawValue)], rec.verdict == v ? 1 : 0)
            }
            w.family("cdctop_reconciliation_checked_timestamp_seconds", .gauge, "When the last reconciliation ran, Unix time.")
            w.sample("cdctop_reconciliation_checked_timestamp_seconds", [], seconds(rec.checkedAtMs))
        }
        if s.state.directory != nil {
            w.family("cdctop_state_checkpoints_total", .counter, "Durable state checkpoints written.")
            w.sample("cdctop_state_checkpoints_total", [], Double(s.state.checkpoints))
            if s.state.lastCheckpointMs > 0 {
                w.family("cdctop_state_checkpoint_age_seconds", .gauge, "Seconds since the last durable checkpoint.")
                w.sample("cdctop_state_checkpoint_age_seconds", [], seconds(max(0, nowMs - s.state.lastCheckpointMs)))
            }
            w.family("cdctop_state_checkpoint_failing", .gauge, "1 when the last checkpoint failed.")
            w.sample("cdctop_state_checkpoint_failing", [], s.state.lastError == nil ? 0 : 1)
        }

        // Latency split: a summary whose quantiles cover the last minute and whose _sum/_count run since the start.
        w.family("cdctop_latency_seconds", .summary,
                 "Per table, each hop of a change: source_debezium (source.ts_ms to the envelope ts_ms), debezium_kafka (to the Kafka record timestamp), kafka_cdctop (to receipt by cdctop). Quantiles 0.5 and 0.99 over the last minute.")
        for t in s.latency {
            for hop in LatencyHop.allCases where t.hop(hop).totalCount > 0 {
                let h = t.hop(hop)
                let labels = [("table", t.table), ("hop", hop.label)]
                if h.count > 0 {
                    w.sample("cdctop_latency_seconds", labels + [("quantile", "0.5")], seconds(h.p50Ms))
                    w.sample("cdctop_latency_seconds", labels + [("quantile", "0.99")], seconds(h.p99Ms))
                }
                w.sample("cdctop_latency_seconds_sum", labels, seconds(h.totalSumMs))
                w.sample("cdctop_latency_seconds_count", labels, Double(h.totalCount))
            }
        }

        if let groups = s.groupLag { renderGroupLag(groups, into: &w) }
        return w.text
    }

    /// At most this many groups per model KPI in `cdctop_kpi` (the largest by the KPI's first value);
    /// the rest are counted in `cdctop_kpi_groups_omitted`, so a high-cardinality `group by` cannot
    /// blow up a scrape.
    public static let maxKPIGroups = 1_000

    /// A model profile's KPIs over the current state: `cdctop_kpi{kpi,aggregate[,group]}` with the exact
    /// value text (Prometheus parses decimals; counts are integers; an average of no rows is NaN),
    /// `cdctop_kpi_unresolved_rows{kpi}` and `cdctop_kpi_groups_omitted{kpi}`. A multi-column group is
    /// its values joined with "|"; an ungrouped KPI has no `group` label.
    static func renderModelKPIs(_ r: KPIResult, into w: inout Writer) {
        w.family("cdctop_kpi", .gauge,
                 "A model profile's KPI over the current state, per aggregate and group (exact value; group values joined with |).")
        var unresolved: [(String, Int64)] = []
        var omitted: [(String, Int)] = []
        for (k, columns) in r.kpiColumns.enumerated() {
            let values = k < r.totals.kpis.count ? r.totals.kpis[k] : KPIValues()
            let aggregates = KPIOutput.aggregateLabels(columns)
            let grouped = !columns.groupNames.isEmpty
            // Groups as their label text, merged when two only differ as cells (an integer 1 and a text "1").
            var byLabel: [String: KPIAccum] = [:]
            for (group, accum) in values.groups {
                let label = columns.groupText(group).joined(separator: "|")
                if byLabel[label] == nil { byLabel[label] = accum } else { byLabel[label]!.add(accum) }
            }
            var rows = byLabel.map { (label: $0.key, accum: $0.value) }
            if rows.count > maxKPIGroups {
                let keyed = rows.map { (row: $0, key: KPIOutput.rankValue(columns, $0.accum)) }
                // Largest first value first (an average of no rows last), then by label: the same groups every scrape.
                rows = keyed.sorted { a, b in
                    switch (a.key, b.key) {
                    case let (x?, y?) where x != y: return x > y
                    case (.some, nil): return true
                    case (nil, .some): return false
                    default: return a.row.label < b.row.label
                    }
                }.prefix(maxKPIGroups).map(\.row)
            }
            rows.sort { $0.label < $1.label }
            for row in rows {
                for (i, aggregate) in aggregates.enumerated() {
                    var labels = [("kpi", columns.name), ("aggregate", aggregate)]
                    if grouped { labels.append(("group", row.label)) }
                    let text = columns.valueText(row.accum, i)
                    w.sample("cdctop_kpi", labels, text: text == "null" ? "NaN" : text)
                }
            }
            unresolved.append((columns.name, values.unresolvedRows))
            omitted.append((columns.name, byLabel.count - rows.count))
        }
        w.family("cdctop_kpi_unresolved_rows", .gauge,
                 "Rows of a model KPI kept aside because a row their joins need has not arrived yet.")
        for (name, n) in unresolved { w.sample("cdctop_kpi_unresolved_rows", [("kpi", name)], Double(n)) }
        w.family("cdctop_kpi_groups_omitted", .gauge,
                 "Groups of a model KPI left out of cdctop_kpi (only the \(maxKPIGroups) largest by its first value are exported).")
        for (name, n) in omitted { w.sample("cdctop_kpi_groups_omitted", [("kpi", name)], Double(n)) }
    }

    static func renderGroupLag(_ report: GroupLagReport, into w: inout Writer) {
        w.family("cdctop_group_lag_messages", .gauge, "Other consumer groups (--lag-groups): high watermark minus committed offset.")
        for p in report.partitions {
            w.sample("cdctop_group_lag_messages", groupLabels(p), Double(p.lag))
        }
        w.family("cdctop_group_lag_seconds", .gauge, "Other consumer groups: age of the message at the committed offset (0 when no lag).")
        for p in report.partitions {
            w.sample("cdctop_group_lag_seconds", groupLabels(p), seconds(p.lagMs))
        }
        w.family("cdctop_group_committed_offset", .gauge, "Other consumer groups: committed offset (-1 none).")
        for p in report.partitions {
            w.sample("cdctop_group_committed_offset", groupLabels(p), Double(p.committed))
        }
        w.family("cdctop_group_status", .gauge, "Other consumer groups: 1 for the group's current verdict (OK, LAGGING, STALLED, STOPPED), 0 for the others.")
        for g in report.groups {
            for v in GroupLagVerdict.allCases {
                w.sample("cdctop_group_status", [("group", g.group), ("status", v.rawValue)], g.verdict == v ? 1 : 0)
            }
        }
        w.family("cdctop_group_unwatched_groups", .gauge, "Groups a --lag-groups regex matched beyond the 50 watched (not watched, no series).")
        w.sample("cdctop_group_unwatched_groups", [], Double(report.unwatchedGroups))
    }

    static func groupLabels(_ p: GroupPartitionLag) -> [(String, String)] {
        [("group", p.group), ("topic", p.topic), ("partition", String(p.partition))]
    }

    static func partitionLabels(_ p: PartitionLag) -> [(String, String)] {
        [("topic", p.topic), ("partition", String(p.partition))]
    }

    static func seconds(_ ms: Int64) -> Double { Double(ms) / 1000 }

    enum Kind: String { case counter, gauge, summary }

    /// Writes families and samples; a family's HELP and TYPE come once, before its samples.
    struct Writer {
        var text = ""

        mutating func family(_ name: String, _ kind: Kind, _ help: String) {
            text += "# HELP \(name) "
            for c in help.unicodeScalars {
                switch c {
                case "\\": text += "\\\\"
                case "\n": text += "\\n"
                default: text.unicodeScalars.append(c)
                }
            }
            text += "\n# TYPE \(name) \(kind.rawValue)\n"
        }

        mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
            sample(name, labels, text: PrometheusExposition.format(value))
        }

        /// A sample whose value is already text in the format's float syntax (an exact decimal, `NaN`).
        mutating func sample(_ name: String, _ labels: [(String, String)], text value: String) {
            text += name
            if !labels.isEmpty {
                text += "{"
                for (i, (key, value)) in labels.enumerated() {
                    if i > 0 { text += "," }
                    text += key
                    text += "=\""
                    PrometheusExposition.appendEscapedLabelValue(value, to: &text)
                    text += "\""
                }
                text += "}"
            }
            text += " "
            text += value
            text += "\n"
        }
    }

    /// Label values escape backslash, double quote and line feed (the format's only escapes).
    static func appendEscapedLabelValue(_ value: String, to text: inout String) {
        for c in value.unicodeScalars {
            switch c {
            case "\\": text += "\\\\"
            case "\"": text += "\\\""
            case "\n": text += "\\n"
            default: text.unicodeScalars.append(c)
            }
        }
    }

    /// Go-style float text: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
