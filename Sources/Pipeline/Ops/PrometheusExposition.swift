import Metrics

/// Everything `/metrics` shows besides the engine's snapshot, read from the integrations' own
/// published state (each behind its own small lock, never the engine's).
package struct OpsReport: Sendable {
    package var connect: ConnectHealthReport?
    package var reconciliation: Reconciliation?
    /// nil when the integration is not configured (then no `_up` series is written).
    package var redis: ServiceStatus?
    package var warehouse: ServiceStatus?
    /// nil without `--schema-registry`.
    package var schemaRegistry: SchemaRegistryMetrics?

    package init(
        connect: ConnectHealthReport? = nil, reconciliation: Reconciliation? = nil, redis: ServiceStatus? = nil,
        warehouse: ServiceStatus? = nil, schemaRegistry: SchemaRegistryMetrics? = nil
    ) {
        self.connect = connect
        self.reconciliation = reconciliation
        self.redis = redis
        self.warehouse = warehouse
        self.schemaRegistry = schemaRegistry
    }
}

/// A partition held because its next message needs a schema id the registry has not answered yet.
package struct SchemaWait: Sendable, Hashable {
    package var schemaID: Int32
    /// "" and -1 when the asker did not say.
    package var topic: String
    package var partition: Int32
    package var sinceMs: Int64
    package init(schemaID: Int32, topic: String, partition: Int32, sinceMs: Int64) {
        self.schemaID = schemaID
        self.topic = topic
        self.partition = partition
        self.sinceMs = sinceMs
    }
}

/// The schema registry client's state as `/metrics` shows it (`SchemaRegistryClient.metrics`).
package struct SchemaRegistryMetrics: Sendable, Hashable {
    /// False while an id is awaited and the registry does not answer.
    package var up: Bool
    /// Schema ids held in memory (fetched this run or loaded from the state directory's cache).
    package var schemasKnown: Int
    package var fetched: Int
    package var fromCache: Int
    package var fetchErrors: Int64
    package var waits: [SchemaWait]
    package init(up: Bool, schemasKnown: Int, fetched: Int, fromCache: Int, fetchErrors: Int64, waits: [SchemaWait]) {
        self.up = up
        self.schemasKnown = schemasKnown
        self.fetched = fetched
        self.fromCache = fromCache
        self.fetchErrors = fetchErrors
        self.waits = waits
    }
}

/// Renders the Prometheus text exposition format, version 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/). Money is a float gauge here;
/// the exact decimal strings stay in JSON and Redis. A model profile's KPIs (`cdctop_kpi`) are
/// written as their exact text, which Prometheus parses as a float.
package enum PrometheusExposition {
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// At most this many label values per family for data-driven labels (categories): bounded series.
    package static let maxCategories = 1_000

    package static func render(_ s: KPISnapshot?, ops: OpsReport, nowMs: Int64) -> String {
        var w = Writer()
        w.single(
            "cdctop_up", .gauge, "1 while cdctop runs and has published a snapshot of the engine.", s == nil ? 0 : 1)
        guard let s else { return w.text }
        w.single(
            "cdctop_snapshot_age_seconds", .gauge, "Seconds since the engine published the snapshot this scrape shows.",
            seconds(nowMs - s.takenAtMs))

        // KPIs
        let r = s.result
        w.single(
            "cdctop_messages_total", .counter, "Kafka messages read, tombstones and malformed ones included.",
            Double(r.messages))
        w.single(
            "cdctop_kpi_transactions", .gauge,
            "Running total of transactions (creates minus deletes, snapshot reads included).", Double(r.totals.txCount))
        w.single(
            "cdctop_kpi_revenue", .gauge,
            "Running total of revenue (float; the exact decimal is in --json and Redis).",
            r.totals.revenue.approximateDouble)
        w.family("cdctop_kpi_category_revenue", .gauge, "Running net line-item sales per product category (float).")
        for name in r.totals.categoryRevenue.keys.sorted().prefix(maxCategories) {
            w.sample(
                "cdctop_kpi_category_revenue", [("category", name)], r.totals.categoryRevenue[name]!.approximateDouble)
        }
        if !r.kpiColumns.isEmpty { renderModelKPIs(r, into: &w) }
        w.single("cdctop_window_seconds", .gauge, "Length of a tumbling KPI window.", seconds(r.windowMs))
        if let current = r.windows.last {
            w.single(
                "cdctop_window_start_timestamp_seconds", .gauge, "Start of the current (latest) window, Unix time.",
                seconds(current.windowStartMs))
            w.single(
                "cdctop_window_transactions", .gauge, "Net transactions committed in the current window.",
                Double(current.txCount))
            w.single(
                "cdctop_window_revenue", .gauge, "Net revenue committed in the current window (float).",
                current.revenue.approximateDouble)
            w.family(
                "cdctop_window_category_revenue", .gauge,
                "Net line-item sales per category in the current window (float).")
            for name in current.categoryRevenue.keys.sorted().prefix(maxCategories) {
                w.sample(
                    "cdctop_window_category_revenue", [("category", name)],
                    current.categoryRevenue[name]!.approximateDouble)
            }
        }

        // Events and problems
        w.family(
            "cdctop_events_total", .counter, "Change events applied, per table and Debezium op (c u d r t tombstone).")
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
            (
                "cdctop_malformed_total", "Messages that could not be decoded (kept, counted, never applied).",
                r.malformed
            ),
            ("cdctop_dropped_total", "Events dropped because a column the profile needs was missing.", r.dropped),
            (
                "cdctop_late_corrections_total", "Events that changed a window the watermark had already closed.",
                s.lateCorrections
            ),
            (
                "cdctop_duplicates_total", "Redelivered messages (offset at or below the last applied one), ignored.",
                s.duplicates
            ),
            ("cdctop_unmatched_total", "Updates or deletes of a key cdctop never saw.", s.unmatched),
            ("cdctop_refused_total", "Events refused because applying them would overflow a sum.", s.refused),
            ("cdctop_ignored_total", "Messages of tables or ops the profile does not use.", s.ignored),
            ("cdctop_tombstones_total", "Kafka tombstones (null values after deletes).", s.tombstones),
            ("cdctop_heartbeats_total", "Debezium heartbeat messages.", s.heartbeats),
            ("cdctop_schema_change_snapshot_total", "DDL messages of connectors' initial snapshots.", s.snapshotDDL),
        ]
        for (name, help, value) in counters {
            w.single(name, .counter, help, Double(value))
        }
        w.family("cdctop_schema_changes_total", .counter, "Schema changes (DDL) per table since this run started.")
        for table in s.schemaChanges.keys.sorted() {
            w.sample("cdctop_schema_changes_total", [("table", table)], Double(s.schemaChanges[table]!))
        }
        w.single(
            "cdctop_parked_line_items", .gauge, "Line items waiting for their product's dimension row.",
            Double(s.parkedLineItems))

        // Freshness and lag
        if s.maxCommitTimeMs > 0 {
            w.single(
                "cdctop_last_commit_timestamp_seconds", .gauge, "Newest source commit time seen, Unix time.",
                seconds(s.maxCommitTimeMs))
        }
        if s.watermarkMs > 0 {
            w.single(
                "cdctop_watermark_timestamp_seconds", .gauge,
                "The watermark (event time read by every partition still being read, heartbeats included, minus the allowed lateness), Unix time.",
                seconds(s.watermarkMs))
        }
        w.single(
            "cdctop_idle", .gauge,
            "1 when the window of the newest commit is closed: the source is quiet (heartbeats moved the watermark past it).",
            s.idleSinceMs == nil ? 0 : 1)
        w.single(
            "cdctop_backlog_messages", .gauge,
            "Messages of a startup backlog still unread (0 once every partition was read to its end).",
            Double(s.backlog?.messages ?? 0))
        w.single(
            "cdctop_caught_up", .gauge, "1 once every assigned partition reached its end at least once.",
            s.caughtUp ? 1 : 0)
        w.family(
            "cdctop_partition_lag_messages", .gauge, "Messages between cdctop's position and the end of the partition.")
        for p in s.partitions {
            w.sample("cdctop_partition_lag_messages", partitionLabels(p), Double(p.lag))
        }
        w.family(
            "cdctop_partition_lag_seconds", .gauge,
            "Age of the last event read from a partition that still has lag (0 when none).")
        for p in s.partitions {
            let lagMs = p.lag > 0 && p.lastCommitTimeMs > 0 ? max(0, nowMs - p.lastCommitTimeMs) : 0
            w.sample("cdctop_partition_lag_seconds", partitionLabels(p), seconds(lagMs))
        }
        w.family(
            "cdctop_partition_high_watermark", .gauge,
            "End offset of the partition as last reported by the broker (-1 unknown).")
        for p in s.partitions {
            w.sample("cdctop_partition_high_watermark", partitionLabels(p), Double(p.highWatermark))
        }
        w.family("cdctop_partition_committed_offset", .gauge, "Offset committed to cdctop's group (-1 none).")
        for p in s.partitions { w.sample("cdctop_partition_committed_offset", partitionLabels(p), Double(p.committed)) }
        renderOffsetRegressions(s, into: &w)
        if let t = s.transactions { renderTransactions(t, into: &w) }

        // Services
        w.single(
            "cdctop_kafka_up", .gauge, "1 when the Kafka consumer has partitions and no error.",
            s.kafka.state == .ok ? 1 : 0)
        w.single(
            "cdctop_kafka_stalled", .gauge,
            "1 while a broker holds cdctop's requests without answering (connected, nothing arrives).",
            s.kafka.state == .stalled ? 1 : 0)
        if let redis = ops.redis {
            w.single(
                "cdctop_redis_up", .gauge, "1 when the Redis mirror writes (0 paused, connecting or failing).",
                redis.state == .ok ? 1 : 0)
        }
        if let warehouse = ops.warehouse {
            w.single(
                "cdctop_warehouse_up", .gauge, "1 when the PostgreSQL warehouse sink writes.",
                warehouse.state == .ok ? 1 : 0)
        }
        if let registry = ops.schemaRegistry { renderSchemaRegistry(registry, nowMs: nowMs, into: &w) }
        if s.lastHeartbeatMs > 0 {
            w.single(
                "cdctop_heartbeat_age_seconds", .gauge, "Seconds since the newest Debezium heartbeat.",
                seconds(max(0, nowMs - s.lastHeartbeatMs)))
        }
        if let connect = ops.connect {
            w.single(
                "cdctop_connect_up", .gauge,
                "1 when the last Kafka Connect REST poll succeeded.",
                connect.pollError == nil && connect.checkedAtMs > 0 ? 1 : 0)
            w.family(
                "cdctop_connector_state", .gauge,
                "1 for a connector's current state (Kafka Connect REST), 0 for the others.")
            for c in connect.connectors {
                for state in ConnectState.allCases {
                    w.sample(
                        "cdctop_connector_state", [("connector", c.name), ("state", state.rawValue)],
                        c.state == state ? 1 : 0)
                }
            }
            w.family("cdctop_connector_task_state", .gauge, "1 for a task's current state, 0 for the others.")
            for c in connect.connectors {
                for t in c.tasks {
                    for state in ConnectState.allCases {
                        w.sample(
                            "cdctop_connector_task_state",
                            [("connector", c.name), ("task", String(t.id)), ("state", state.rawValue)],
                            t.state == state ? 1 : 0)
                    }
                }
            }
        }
        if let rec = ops.reconciliation {
            w.family(
                "cdctop_reconciliation_verdict", .gauge,
                "1 for the current verdict of cdctop's totals against the source database.")
            for v in [Reconciliation.Verdict.unknown, .agree, .drift, .waiting] {
                w.sample("cdctop_reconciliation_verdict", [("verdict", v.rawValue)], rec.verdict == v ? 1 : 0)
            }
            w.single(
                "cdctop_reconciliation_checked_timestamp_seconds", .gauge,
                "When the last reconciliation ran, Unix time.", seconds(rec.checkedAtMs))
        }
        // A viewer (`viewer_of_pid`) writes no checkpoint: the writer's own /metrics tells its age.
        if s.state.directory != nil && s.state.viewerOfPID == nil {
            w.single(
                "cdctop_state_checkpoints_total", .counter, "Durable state checkpoints written.",
                Double(s.state.checkpoints))
            if s.state.lastCheckpointMs > 0 {
                w.single(
                    "cdctop_state_checkpoint_age_seconds", .gauge,
                    "Seconds since the last durable checkpoint.", seconds(max(0, nowMs - s.state.lastCheckpointMs)))
            }
            w.single(
                "cdctop_state_checkpoint_failing", .gauge, "1 when the last checkpoint failed.",
                s.state.lastError == nil ? 0 : 1)
        }

        // Latency split: a summary whose quantiles cover the last minute and whose _sum/_count run since the start.
        w.family(
            "cdctop_latency_seconds", .summary,
            "Per table, each hop of a change: source_debezium (source.ts_ms to the envelope ts_ms), debezium_kafka (to the Kafka record timestamp), kafka_cdctop (to receipt by cdctop). Quantiles 0.5 and 0.99 over the last minute."
        )
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
        if let slots = s.replicationSlots { renderReplicationSlots(slots, nowMs: nowMs, into: &w) }
        renderSnapshots(s.snapshots, nowMs: nowMs, into: &w)
        return w.text
    }

    /// `--source` on PostgreSQL: each logical replication slot's retained WAL, whether a consumer is
    /// attached and how long its confirmed position has stood still (the values of the last good reading).
    static func renderReplicationSlots(_ r: ReplicationSlotReport, nowMs: Int64, into w: inout Writer) {
        w.single(
            "cdctop_replication_slots_up", .gauge,
            "1 when the last reading of the source's replication slots worked.",
            r.error == nil && r.checkedAtMs > 0 ? 1 : 0)
        guard r.checkedAtMs > 0 else { return }
        w.family(
            "cdctop_replication_slot_retained_wal_bytes", .gauge,
            "WAL a logical slot makes the source keep beyond what its consumer confirmed: current WAL position minus confirmed_flush_lsn."
        )
        for slot in r.slots {
            if let bytes = slot.retainedBytes {
                w.sample("cdctop_replication_slot_retained_wal_bytes", [("slot", slot.name)], Double(bytes))
            }
        }
        w.family(
            "cdctop_replication_slot_restart_retained_wal_bytes", .gauge,
            "WAL the source cannot recycle because of a logical slot: current WAL position minus restart_lsn.")
        for slot in r.slots {
            if let bytes = slot.restartRetainedBytes {
                w.sample("cdctop_replication_slot_restart_retained_wal_bytes", [("slot", slot.name)], Double(bytes))
            }
        }
        w.family("cdctop_replication_slot_active", .gauge, "1 while a consumer (walsender) is attached to the slot.")
        for slot in r.slots { w.sample("cdctop_replication_slot_active", [("slot", slot.name)], slot.active ? 1 : 0) }
        w.family(
            "cdctop_replication_slot_seconds_since_advance", .gauge,
            "Seconds since the slot's confirmed_flush_lsn last moved (since cdctop first saw the slot, if it has not seen it move)."
        )
        for slot in r.slots {
            w.sample(
                "cdctop_replication_slot_seconds_since_advance", [("slot", slot.name)],
                slot.secondsSinceAdvance(nowMs: nowMs))
        }
        w.family(
            "cdctop_replication_slot_safe_wal_size_bytes", .gauge,
            "Bytes of WAL that can still be written before the slot loses WAL it needs (PostgreSQL 13+, only with max_slot_wal_keep_size)."
        )
        for slot in r.slots {
            if let bytes = slot.safeWALSizeBytes {
                w.sample("cdctop_replication_slot_safe_wal_size_bytes", [("slot", slot.name)], Double(bytes))
            }
        }
    }

    /// At most this many groups per model KPI in `cdctop_kpi` (the largest by the KPI's first value);
    /// the rest are counted in `cdctop_kpi_groups_omitted`, so a high-cardinality `group by` cannot
    /// blow up a scrape.
    package static let maxKPIGroups = 1_000

    /// A model profile's KPIs over the current state: `cdctop_kpi{kpi,aggregate[,group]}` with the exact
    /// value text (Prometheus parses decimals; counts are integers; an average of no rows is NaN),
    /// `cdctop_kpi_unresolved_rows{kpi}` and `cdctop_kpi_groups_omitted{kpi}`. A multi-column group is
    /// its values joined with "|"; an ungrouped KPI has no `group` label.
    static func renderModelKPIs(_ r: KPIResult, into w: inout Writer) {
        w.family(
            "cdctop_kpi", .gauge,
            "A model profile's KPI over the current state, per aggregate and group (exact value; group values joined with |)."
        )
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
        w.family(
            "cdctop_kpi_unresolved_rows", .gauge,
            "Rows of a model KPI kept aside because a row their joins need has not arrived yet.")
        for (name, n) in unresolved { w.sample("cdctop_kpi_unresolved_rows", [("kpi", name)], Double(n)) }
        w.family(
            "cdctop_kpi_groups_omitted", .gauge,
            "Groups of a model KPI left out of cdctop_kpi (only the \(maxKPIGroups) largest by its first value are exported)."
        )
        for (name, n) in omitted { w.sample("cdctop_kpi_groups_omitted", [("kpi", name)], Double(n)) }
    }

    /// `--schema-registry`: reachability, the schema ids held, fetch errors, and each partition held
    /// waiting for an id (with the id and how long it has waited).
    static func renderSchemaRegistry(_ r: SchemaRegistryMetrics, nowMs: Int64, into w: inout Writer) {
        w.single(
            "cdctop_schema_registry_up", .gauge,
            "1 unless a schema id is awaited and the schema registry does not answer.", r.up ? 1 : 0)
        w.single(
            "cdctop_schema_registry_schemas_cached", .gauge,
            "Schema ids held in memory (fetched, or loaded from the state directory's cache).", Double(r.schemasKnown))
        w.single(
            "cdctop_schema_registry_fetches_total", .counter, "Schema ids fetched from the registry by this run.",
            Double(r.fetched))
        w.single(
            "cdctop_schema_registry_fetch_errors_total", .counter,
            "Failed attempts to fetch a schema id (every URL tried, none answered).", Double(r.fetchErrors))
        w.single(
            "cdctop_schema_registry_waiting_partitions", .gauge,
            "Partitions paused because their next message needs a schema id the registry has not given yet.",
            Double(r.waits.count))
        w.family(
            "cdctop_schema_registry_wait_seconds", .gauge,
            "Seconds a paused partition has waited for the schema id it needs.")
        for wait in r.waits {
            w.sample(
                "cdctop_schema_registry_wait_seconds",
                [("topic", wait.topic), ("partition", String(wait.partition)), ("schema_id", String(wait.schemaID))],
                seconds(max(0, nowMs - wait.sinceMs)))
        }
    }

    static func renderGroupLag(_ report: GroupLagReport, into w: inout Writer) {
        w.family(
            "cdctop_group_lag_messages", .gauge,
            "Other consumer groups (--lag-groups): high watermark minus committed offset.")
        for p in report.partitions {
            w.sample("cdctop_group_lag_messages", groupLabels(p), Double(p.lag))
        }
        w.family(
            "cdctop_group_lag_seconds", .gauge,
            "Other consumer groups: age of the message at the committed offset (0 when no lag).")
        for p in report.partitions {
            w.sample("cdctop_group_lag_seconds", groupLabels(p), seconds(p.lagMs))
        }
        w.family("cdctop_group_committed_offset", .gauge, "Other consumer groups: committed offset (-1 none).")
        for p in report.partitions {
            w.sample("cdctop_group_committed_offset", groupLabels(p), Double(p.committed))
        }
        w.family(
            "cdctop_group_log_start", .gauge,
            "Other consumer groups' partitions: oldest offset the partition still holds (-1 unknown).")
        for p in report.partitions { w.sample("cdctop_group_log_start", groupLabels(p), Double(p.logStart)) }
        w.family(
            "cdctop_group_deleted_unread_messages", .gauge,
            "Other consumer groups: messages deleted before the group read them (log start minus committed offset, when above it)."
        )
        for p in report.partitions {
            w.sample("cdctop_group_deleted_unread_messages", groupLabels(p), Double(p.deletedUnread))
        }
        w.family(
            "cdctop_group_status", .gauge,
            "Other consumer groups: 1 for the group's current verdict (OK, LAGGING, STALLED, STOPPED), 0 for the others."
        )
        for g in report.groups {
            for v in GroupLagVerdict.allCases {
                w.sample("cdctop_group_status", [("group", g.group), ("status", v.rawValue)], g.verdict == v ? 1 : 0)
            }
        }
        w.single(
            "cdctop_group_unwatched_groups", .gauge,
            "Groups a --lag-groups regex matched beyond the 50 watched (not watched, no series).",
            Double(report.unwatchedGroups))
    }

    /// Offsets that went backwards and messages deleted unread, per partition (0 for the healthy ones, so
    /// `increase()` sees the first one), and each partition's log start.
    static func renderOffsetRegressions(_ s: KPISnapshot, into w: inout Writer) {
        let r = s.offsetRegressions
        w.family(
            "cdctop_partition_log_start", .gauge,
            "Oldest offset the partition still holds, as last reported by the broker (-1 unknown).")
        for p in s.partitions { w.sample("cdctop_partition_log_start", partitionLabels(p), Double(p.logStart)) }
        w.family(
            "cdctop_offsets_backwards_total", .counter,
            "Times a partition's end fell below the offset cdctop had read (broker restarted empty, topic recreated): its totals no longer match; restart with --state-reset."
        )
        for p in s.partitions {
            w.sample(
                "cdctop_offsets_backwards_total", partitionLabels(p),
                Double(r.backwardsCount["\(p.topic)[\(p.partition)]"] ?? 0))
        }
        w.family(
            "cdctop_messages_deleted_unread_total", .counter,
            "Messages deleted (retention, compaction) before cdctop read them: the partition's log start passed its position."
        )
        for p in s.partitions {
            w.sample(
                "cdctop_messages_deleted_unread_total", partitionLabels(p),
                Double(r.deletedUnreadMessages["\(p.topic)[\(p.partition)]"] ?? 0))
        }
    }

    /// `--transactions complete`: what is held back from the KPIs and what was released unfinished.
    static func renderTransactions(_ t: TransactionStatus, into w: inout Writer) {
        w.single(
            "cdctop_transactions_open", .gauge,
            "Source transactions seen and not yet released into the KPIs (--transactions complete).", Double(t.open))
        w.single(
            "cdctop_transactions_oldest_open_seconds", .gauge,
            "Wall time since the oldest open transaction was first seen (0 with none open).", seconds(t.oldestAgeMs))
        w.single(
            "cdctop_transactions_buffered_events", .gauge, "Change events held back until their transaction is whole.",
            Double(t.bufferedEvents))
        w.single(
            "cdctop_transactions_waiting_ratio", .gauge,
            "Share of the transactional change events read that no KPI includes yet (0-1).", t.waitingShare)
        w.family(
            "cdctop_transactions_released_total", .counter,
            "Transactions released into the KPIs, by outcome: whole, timed_out (open longer than --transaction-timeout), evicted (the buffer was full)."
        )
        w.sample("cdctop_transactions_released_total", [("outcome", "whole")], Double(t.completed))
        w.sample("cdctop_transactions_released_total", [("outcome", "timed_out")], Double(t.timedOut))
        w.sample("cdctop_transactions_released_total", [("outcome", "evicted")], Double(t.evicted))
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

        /// A family of one unlabelled sample: HELP, TYPE and the sample.
        mutating func single(_ name: String, _ kind: Kind, _ help: String, _ value: Double) {
            family(name, kind, help)
            sample(name, [], value)
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
