/// Every family `/metrics` serves, in the order a scrape shows them. The exposition writes a family (its HELP
/// and TYPE lines) and its samples only through these values, and docs/outputs/prometheus.md is generated from
/// `all`, so the encoder and the document cannot disagree (OutputSchemaTests checks the document and that every
/// family here is served). `type` is the Prometheus TYPE; `labels` are in the order a sample writes them.
package enum PrometheusSchema {
    package static let up = OutputField(
        "cdctop_up", type: "gauge", unit: "0/1", labels: [],
        help: "1 while cdctop runs and has published a snapshot of the engine.",
        source: "whether the engine has published a RunSnapshot")
    package static let snapshotAgeSeconds = OutputField(
        "cdctop_snapshot_age_seconds", type: "gauge", unit: "seconds", labels: [],
        help: "Seconds since the engine published the snapshot this scrape shows.",
        source: "now - RunSnapshot.takenAtMs")
    package static let messagesTotal = OutputField(
        "cdctop_messages_total", type: "counter", unit: "", labels: [],
        help: "Kafka messages read, tombstones and malformed ones included.",
        source: "KPIState.result.messages")
    package static let kpiTransactions = OutputField(
        "cdctop_kpi_transactions", type: "gauge", unit: "", labels: [],
        help: "Running total of transactions (creates minus deletes, snapshot reads included).",
        source: "KPIState.result.totals.txCount")
    package static let kpiRevenue = OutputField(
        "cdctop_kpi_revenue", type: "gauge", unit: "money (float)", labels: [],
        help: "Running total of revenue (float; the exact decimal is in --json and Redis).",
        source: "KPIState.result.totals.revenue")
    package static let kpiCategoryRevenue = OutputField(
        "cdctop_kpi_category_revenue", type: "gauge", unit: "money (float)", labels: ["category"],
        help: "Running net line-item sales per product category (float).",
        source: "KPIState.result.totals.categoryRevenue")
    package static let windowSeconds = OutputField(
        "cdctop_window_seconds", type: "gauge", unit: "seconds", labels: [],
        help: "Length of a tumbling KPI window.",
        source: "KPIState.result.windowMs")
    package static let windowStartTimestampSeconds = OutputField(
        "cdctop_window_start_timestamp_seconds", type: "gauge", unit: "Unix seconds", labels: [],
        help: "Start of the current (latest) window, Unix time.",
        source: "KPIState.result.windows.last.windowStartMs")
    package static let windowTransactions = OutputField(
        "cdctop_window_transactions", type: "gauge", unit: "", labels: [],
        help: "Net transactions committed in the current window.",
        source: "KPIState.result.windows.last.txCount")
    package static let windowRevenue = OutputField(
        "cdctop_window_revenue", type: "gauge", unit: "money (float)", labels: [],
        help: "Net revenue committed in the current window (float).",
        source: "KPIState.result.windows.last.revenue")
    package static let windowCategoryRevenue = OutputField(
        "cdctop_window_category_revenue", type: "gauge", unit: "money (float)", labels: ["category"],
        help: "Net line-item sales per category in the current window (float).",
        source: "KPIState.result.windows.last.categoryRevenue")
    package static let eventsTotal = OutputField(
        "cdctop_events_total", type: "counter", unit: "", labels: ["table", "op"],
        help: "Change events applied, per table and Debezium op (c u d r t tombstone).",
        source: "EngineDiagnostics.tables[].count(op), ops with a count above 0")
    package static let tableMalformedTotal = OutputField(
        "cdctop_table_malformed_total", type: "counter", unit: "", labels: ["table"],
        help: "Malformed messages per table.",
        source: "EngineDiagnostics.tables[].malformed")
    package static let malformedTotal = OutputField(
        "cdctop_malformed_total", type: "counter", unit: "", labels: [],
        help: "Messages that could not be decoded (kept, counted, never applied).",
        source: "KPIState.result.malformed")
    package static let droppedTotal = OutputField(
        "cdctop_dropped_total", type: "counter", unit: "", labels: [],
        help:
            "Events kept out of the windows (commit time older than every window held, or a day ahead of this clock); still in the totals.",
        source: "KPIState.result.dropped")
    package static let lateCorrectionsTotal = OutputField(
        "cdctop_late_corrections_total", type: "counter", unit: "", labels: [],
        help: "Events that changed a window the watermark had already closed.",
        source: "KPIState.lateCorrections")
    package static let duplicatesTotal = OutputField(
        "cdctop_duplicates_total", type: "counter", unit: "", labels: [],
        help: "Redelivered messages (offset at or below the last applied one), ignored.",
        source: "KPIState.duplicates")
    package static let unmatchedTotal = OutputField(
        "cdctop_unmatched_total", type: "counter", unit: "", labels: [],
        help: "Updates or deletes of a key cdctop never saw.",
        source: "KPIState.unmatched")
    package static let refusedTotal = OutputField(
        "cdctop_refused_total", type: "counter", unit: "", labels: [],
        help: "Events refused because applying them would overflow a sum.",
        source: "KPIState.refused")
    package static let ignoredTotal = OutputField(
        "cdctop_ignored_total", type: "counter", unit: "", labels: [],
        help: "Messages of tables or ops the profile does not use.",
        source: "KPIState.ignored")
    package static let tombstonesTotal = OutputField(
        "cdctop_tombstones_total", type: "counter", unit: "", labels: [],
        help: "Kafka tombstones (null values after deletes).",
        source: "KPIState.tombstones")
    package static let heartbeatsTotal = OutputField(
        "cdctop_heartbeats_total", type: "counter", unit: "", labels: [],
        help: "Debezium heartbeat messages.",
        source: "KPIState.heartbeats")
    package static let schemaChangeSnapshotTotal = OutputField(
        "cdctop_schema_change_snapshot_total", type: "counter", unit: "", labels: [],
        help: "DDL messages of connectors' initial snapshots.",
        source: "EngineDiagnostics.snapshotDDL")
    package static let schemaChangesTotal = OutputField(
        "cdctop_schema_changes_total", type: "counter", unit: "", labels: ["table"],
        help: "Schema changes (DDL) per table since this run started.",
        source: "EngineDiagnostics.schemaChanges")
    package static let parkedLineItems = OutputField(
        "cdctop_parked_line_items", type: "gauge", unit: "", labels: [],
        help: "Line items waiting for their product's dimension row.",
        source: "KPIState.parkedLineItems")
    package static let lastCommitTimestampSeconds = OutputField(
        "cdctop_last_commit_timestamp_seconds", type: "gauge", unit: "Unix seconds", labels: [],
        help: "Newest source commit time seen, Unix time.",
        source: "KPIState.maxCommitTimeMs")
    package static let watermarkTimestampSeconds = OutputField(
        "cdctop_watermark_timestamp_seconds", type: "gauge", unit: "Unix seconds", labels: [],
        help:
            "The watermark (event time read by every partition still being read, heartbeats included, minus the allowed lateness), Unix time.",
        source: "KPIState.watermarkMs")
    package static let idle = OutputField(
        "cdctop_idle", type: "gauge", unit: "0/1", labels: [],
        help:
            "1 when the window of the newest commit is closed: the source is quiet (heartbeats moved the watermark past it).",
        source: "KPIState.idleSinceMs != nil")
    package static let backlogMessages = OutputField(
        "cdctop_backlog_messages", type: "gauge", unit: "", labels: [],
        help: "Messages of a startup backlog still unread (0 once every partition was read to its end).",
        source: "ConsumerProgress.backlog?.messages ?? 0")
    package static let caughtUp = OutputField(
        "cdctop_caught_up", type: "gauge", unit: "0/1", labels: [],
        help: "1 once every assigned partition reached its end at least once.",
        source: "ConsumerProgress.caughtUp")
    package static let partitionLagMessages = OutputField(
        "cdctop_partition_lag_messages", type: "gauge", unit: "", labels: ["topic", "partition"],
        help: "Messages between cdctop's position and the end of the partition.",
        source: "ConsumerProgress.partitions[].lag")
    package static let partitionLagSeconds = OutputField(
        "cdctop_partition_lag_seconds", type: "gauge", unit: "seconds", labels: ["topic", "partition"],
        help: "Age of the last event read from a partition that still has lag (0 when none).",
        source: "ConsumerProgress.partitions[].lagMs(nowMs:)")
    package static let partitionHighWatermark = OutputField(
        "cdctop_partition_high_watermark", type: "gauge", unit: "", labels: ["topic", "partition"],
        help: "End offset of the partition as last reported by the broker (-1 unknown).",
        source: "ConsumerProgress.partitions[].highWatermark")
    package static let partitionCommittedOffset = OutputField(
        "cdctop_partition_committed_offset", type: "gauge", unit: "", labels: ["topic", "partition"],
        help: "Offset committed to cdctop's group (-1 none).",
        source: "ConsumerProgress.partitions[].committed")
    package static let kafkaUp = OutputField(
        "cdctop_kafka_up", type: "gauge", unit: "0/1", labels: [],
        help: "1 when the Kafka consumer has partitions and no error.",
        source: "ConsumerProgress.kafka.state")
    package static let kafkaStalled = OutputField(
        "cdctop_kafka_stalled", type: "gauge", unit: "0/1", labels: [],
        help: "1 while a broker holds cdctop's requests without answering (connected, nothing arrives).",
        source: "ConsumerProgress.kafka.state == .stalled")
    package static let redisUp = OutputField(
        "cdctop_redis_up", type: "gauge", unit: "0/1", labels: [],
        help: "1 when the Redis mirror writes (0 paused, connecting or failing).",
        source: "OpsReport.redis.state")
    package static let warehouseUp = OutputField(
        "cdctop_warehouse_up", type: "gauge", unit: "0/1", labels: [],
        help: "1 when the PostgreSQL warehouse sink writes.",
        source: "OpsReport.warehouse.state")
    package static let heartbeatAgeSeconds = OutputField(
        "cdctop_heartbeat_age_seconds", type: "gauge", unit: "seconds", labels: [],
        help: "Seconds since the newest Debezium heartbeat.",
        source: "now - KPIState.lastHeartbeatMs")
    package static let connectUp = OutputField(
        "cdctop_connect_up", type: "gauge", unit: "0/1", labels: [],
        help: "1 when the last Kafka Connect REST poll succeeded.",
        source: "OpsReport.connect: polled, no pollError")
    package static let connectorState = OutputField(
        "cdctop_connector_state", type: "gauge", unit: "0/1", labels: ["connector", "state"],
        help: "1 for a connector's current state (Kafka Connect REST), 0 for the others.",
        source: "OpsReport.connect.connectors[].state")
    package static let connectorTaskState = OutputField(
        "cdctop_connector_task_state", type: "gauge", unit: "0/1", labels: ["connector", "task", "state"],
        help: "1 for a task's current state, 0 for the others.",
        source: "OpsReport.connect.connectors[].tasks[].state")
    package static let reconciliationVerdict = OutputField(
        "cdctop_reconciliation_verdict", type: "gauge", unit: "0/1", labels: ["verdict"],
        help: "1 for the current verdict of cdctop's totals against the source database.",
        source: "OpsReport.reconciliation.verdict")
    package static let reconciliationCheckedTimestampSeconds = OutputField(
        "cdctop_reconciliation_checked_timestamp_seconds", type: "gauge", unit: "Unix seconds", labels: [],
        help: "When the last reconciliation ran, Unix time.",
        source: "OpsReport.reconciliation.checkedAtMs")
    package static let stateCheckpointsTotal = OutputField(
        "cdctop_state_checkpoints_total", type: "counter", unit: "", labels: [],
        help: "Durable state checkpoints written.",
        source: "StateStatus.checkpoints")
    package static let stateCheckpointAgeSeconds = OutputField(
        "cdctop_state_checkpoint_age_seconds", type: "gauge", unit: "seconds", labels: [],
        help: "Seconds since the last durable checkpoint.",
        source: "now - StateStatus.lastCheckpointMs")
    package static let stateCheckpointFailing = OutputField(
        "cdctop_state_checkpoint_failing", type: "gauge", unit: "0/1", labels: [],
        help: "1 when the last checkpoint failed.",
        source: "StateStatus.lastError == nil")
    package static let latencySeconds = OutputField(
        "cdctop_latency_seconds", type: "summary", unit: "seconds", labels: ["table", "hop", "quantile"],
        help:
            "Per table, each hop of a change: source_debezium (source.ts_ms to the envelope ts_ms), debezium_kafka (to the Kafka record timestamp), kafka_cdctop (to receipt by cdctop). Quantiles 0.5 and 0.99 over the last minute.",
        source: "EngineDiagnostics.latency[].hop(_): p50Ms, p99Ms, totalSumMs, totalCount")
    package static let replicationSlotsUp = OutputField(
        "cdctop_replication_slots_up", type: "gauge", unit: "0/1", labels: [],
        help: "1 when the last reading of the source's replication slots worked.",
        source: "IntegrationReports.replicationSlots: read, no error")
    package static let replicationSlotRetainedWalBytes = OutputField(
        "cdctop_replication_slot_retained_wal_bytes", type: "gauge", unit: "bytes", labels: ["slot"],
        help:
            "WAL a logical slot makes the source keep beyond what its consumer confirmed: current WAL position minus confirmed_flush_lsn.",
        source: "IntegrationReports.replicationSlots.slots[].retainedBytes")
    package static let replicationSlotRestartRetainedWalBytes = OutputField(
        "cdctop_replication_slot_restart_retained_wal_bytes", type: "gauge", unit: "bytes", labels: ["slot"],
        help: "WAL the source cannot recycle because of a logical slot: current WAL position minus restart_lsn.",
        source: "IntegrationReports.replicationSlots.slots[].restartRetainedBytes")
    package static let replicationSlotActive = OutputField(
        "cdctop_replication_slot_active", type: "gauge", unit: "0/1", labels: ["slot"],
        help: "1 while a consumer (walsender) is attached to the slot.",
        source: "IntegrationReports.replicationSlots.slots[].active")
    package static let replicationSlotSecondsSinceAdvance = OutputField(
        "cdctop_replication_slot_seconds_since_advance", type: "gauge", unit: "seconds", labels: ["slot"],
        help:
            "Seconds since the slot's confirmed_flush_lsn last moved (since cdctop first saw the slot, if it has not seen it move).",
        source: "IntegrationReports.replicationSlots.slots[].secondsSinceAdvance")
    package static let replicationSlotSafeWalSizeBytes = OutputField(
        "cdctop_replication_slot_safe_wal_size_bytes", type: "gauge", unit: "bytes", labels: ["slot"],
        help:
            "Bytes of WAL that can still be written before the slot loses WAL it needs (PostgreSQL 13+, only with max_slot_wal_keep_size).",
        source: "IntegrationReports.replicationSlots.slots[].safeWALSizeBytes")
    package static let kpi = OutputField(
        "cdctop_kpi", type: "gauge", unit: "", labels: ["kpi", "aggregate", "group"],
        help:
            "A model profile's KPI over the current state, per aggregate and group (exact value; group values joined with |).",
        source: "KPIState.result.totals.kpis, KPIColumns.valueText")
    package static let kpiUnresolvedRows = OutputField(
        "cdctop_kpi_unresolved_rows", type: "gauge", unit: "", labels: ["kpi"],
        help: "Rows of a model KPI kept aside because a row their joins need has not arrived yet.",
        source: "KPIState.result.totals.kpis[].unresolvedRows")
    package static let kpiGroupsOmitted = OutputField(
        "cdctop_kpi_groups_omitted", type: "gauge", unit: "", labels: ["kpi"],
        help:
            "Groups of a model KPI left out of cdctop_kpi (only the \(PrometheusExposition.maxKPIGroups) largest by its first value are exported).",
        source: "KPIState.result.totals.kpis: groups beyond maxKPIGroups")
    package static let schemaRegistryUp = OutputField(
        "cdctop_schema_registry_up", type: "gauge", unit: "0/1", labels: [],
        help: "1 unless a schema id is awaited and the schema registry does not answer.",
        source: "OpsReport.schemaRegistry.up")
    package static let schemaRegistrySchemasCached = OutputField(
        "cdctop_schema_registry_schemas_cached", type: "gauge", unit: "", labels: [],
        help: "Schema ids held in memory (fetched, or loaded from the state directory's cache).",
        source: "OpsReport.schemaRegistry.schemasKnown")
    package static let schemaRegistryFetchesTotal = OutputField(
        "cdctop_schema_registry_fetches_total", type: "counter", unit: "", labels: [],
        help: "Schema ids fetched from the registry by this run.",
        source: "OpsReport.schemaRegistry.fetched")
    package static let schemaRegistryFetchErrorsTotal = OutputField(
        "cdctop_schema_registry_fetch_errors_total", type: "counter", unit: "", labels: [],
        help: "Failed attempts to fetch a schema id (every URL tried, none answered).",
        source: "OpsReport.schemaRegistry.fetchErrors")
    package static let schemaRegistryWaitingPartitions = OutputField(
        "cdctop_schema_registry_waiting_partitions", type: "gauge", unit: "", labels: [],
        help: "Partitions paused because their next message needs a schema id the registry has not given yet.",
        source: "OpsReport.schemaRegistry.waits.count")
    package static let schemaRegistryWaitSeconds = OutputField(
        "cdctop_schema_registry_wait_seconds", type: "gauge", unit: "seconds",
        labels: ["topic", "partition", "schema_id"],
        help: "Seconds a paused partition has waited for the schema id it needs.",
        source: "now - OpsReport.schemaRegistry.waits[].sinceMs")
    package static let groupLagMessages = OutputField(
        "cdctop_group_lag_messages", type: "gauge", unit: "", labels: ["group", "topic", "partition"],
        help: "Other consumer groups (--lag-groups): high watermark minus committed offset.",
        source: "IntegrationReports.groupLag.partitions[].lag")
    package static let groupLagSeconds = OutputField(
        "cdctop_group_lag_seconds", type: "gauge", unit: "seconds", labels: ["group", "topic", "partition"],
        help: "Other consumer groups: age of the message at the committed offset (0 when no lag).",
        source: "IntegrationReports.groupLag.partitions[].lagMs")
    package static let groupCommittedOffset = OutputField(
        "cdctop_group_committed_offset", type: "gauge", unit: "", labels: ["group", "topic", "partition"],
        help: "Other consumer groups: committed offset (-1 none).",
        source: "IntegrationReports.groupLag.partitions[].committed")
    package static let groupLogStart = OutputField(
        "cdctop_group_log_start", type: "gauge", unit: "", labels: ["group", "topic", "partition"],
        help: "Other consumer groups' partitions: oldest offset the partition still holds (-1 unknown).",
        source: "IntegrationReports.groupLag.partitions[].logStart")
    package static let groupDeletedUnreadMessages = OutputField(
        "cdctop_group_deleted_unread_messages", type: "gauge", unit: "", labels: ["group", "topic", "partition"],
        help:
            "Other consumer groups: messages deleted before the group read them (log start minus committed offset, when above it).",
        source: "IntegrationReports.groupLag.partitions[].deletedUnread")
    package static let groupStatus = OutputField(
        "cdctop_group_status", type: "gauge", unit: "", labels: ["group", "status"],
        help:
            "Other consumer groups: 1 for the group's current verdict (OK, LAGGING, STALLED, STOPPED), 0 for the others.",
        source: "IntegrationReports.groupLag.groups[].verdict")
    package static let groupUnwatchedGroups = OutputField(
        "cdctop_group_unwatched_groups", type: "gauge", unit: "", labels: [],
        help: "Groups a --lag-groups regex matched beyond the 50 watched (not watched, no series).",
        source: "IntegrationReports.groupLag.unwatchedGroups")
    package static let partitionLogStart = OutputField(
        "cdctop_partition_log_start", type: "gauge", unit: "", labels: ["topic", "partition"],
        help: "Oldest offset the partition still holds, as last reported by the broker (-1 unknown).",
        source: "ConsumerProgress.partitions[].logStart")
    package static let offsetsBackwardsTotal = OutputField(
        "cdctop_offsets_backwards_total", type: "counter", unit: "", labels: ["topic", "partition"],
        help:
            "Times a partition's end fell below the offset cdctop had read (broker restarted empty, topic recreated): its totals no longer match; restart with --state-reset.",
        source: "ConsumerProgress.offsetRegressions.backwardsCount")
    package static let messagesDeletedUnreadTotal = OutputField(
        "cdctop_messages_deleted_unread_total", type: "counter", unit: "", labels: ["topic", "partition"],
        help:
            "Messages deleted (retention, compaction) before cdctop read them: the partition's log start passed its position.",
        source: "ConsumerProgress.offsetRegressions.deletedUnreadMessages")
    package static let transactionsOpen = OutputField(
        "cdctop_transactions_open", type: "gauge", unit: "", labels: [],
        help: "Source transactions seen and not yet released into the KPIs (--transactions complete).",
        source: "KPIState.transactions.open")
    package static let transactionsOldestOpenSeconds = OutputField(
        "cdctop_transactions_oldest_open_seconds", type: "gauge", unit: "seconds", labels: [],
        help: "Wall time since the oldest open transaction was first seen (0 with none open).",
        source: "KPIState.transactions.oldestAgeMs")
    package static let transactionsBufferedEvents = OutputField(
        "cdctop_transactions_buffered_events", type: "gauge", unit: "", labels: [],
        help: "Change events held back until their transaction is whole.",
        source: "KPIState.transactions.bufferedEvents")
    package static let transactionsWaitingRatio = OutputField(
        "cdctop_transactions_waiting_ratio", type: "gauge", unit: "ratio 0-1", labels: [],
        help: "Share of the transactional change events read that no KPI includes yet (0-1).",
        source: "KPIState.transactions.waitingShare")
    package static let transactionsReleasedTotal = OutputField(
        "cdctop_transactions_released_total", type: "counter", unit: "", labels: ["outcome"],
        help:
            "Transactions released into the KPIs, by outcome: whole, timed_out (open longer than --transaction-timeout), evicted (the buffer was full).",
        source: "KPIState.transactions.completed, timedOut, evicted")
    package static let snapshotRowsRead = OutputField(
        "cdctop_snapshot_rows_read", type: "gauge", unit: "", labels: ["connector", "kind", "table"],
        help: "Rows of a table's snapshot read so far (op r rows, or Debezium's count once its scan completed).",
        source: "KPIState.snapshots.latestRuns[].tables[].rowsRead")
    package static let snapshotRowsEstimated = OutputField(
        "cdctop_snapshot_rows_estimated", type: "gauge", unit: "", labels: ["connector", "kind", "table"],
        help:
            "A table's estimated rows (source statistics with --source, or Debezium's count once scanned); absent while unknown.",
        source: "KPIState.snapshots.latestRuns[].tables[].rowsEstimated")
    package static let snapshotTableComplete = OutputField(
        "cdctop_snapshot_table_complete", type: "gauge", unit: "0/1", labels: ["connector", "kind", "table"],
        help: "1 once a table's snapshot scan completed.",
        source: "KPIState.snapshots.latestRuns[].tables[].state")
    package static let snapshotRowsPerSecond = OutputField(
        "cdctop_snapshot_rows_per_second", type: "gauge", unit: "", labels: ["connector", "kind", "table"],
        help:
            "Rows per second of a table being snapshotted (over the latest half of its time so far, on Debezium's clock).",
        source: "KPIState.snapshots.latestRuns[].tables[].rowsPerSecond")
    package static let snapshotComplete = OutputField(
        "cdctop_snapshot_complete", type: "gauge", unit: "0/1", labels: ["connector", "kind"],
        help: "1 once the connector's snapshot completed (COMPLETED, or its last row read).",
        source: "KPIState.snapshots.latestRuns[].phase")
    package static let snapshotRunning = OutputField(
        "cdctop_snapshot_running", type: "gauge", unit: "0/1", labels: ["connector", "kind"],
        help: "1 while the connector's snapshot runs (or is paused).",
        source: "KPIState.snapshots.latestRuns[].phase")
    package static let snapshotTablesDone = OutputField(
        "cdctop_snapshot_tables_done", type: "gauge", unit: "", labels: ["connector", "kind"],
        help: "Tables of the snapshot whose scan completed.",
        source: "KPIState.snapshots.latestRuns[].tablesDone")
    package static let snapshotTablesInScope = OutputField(
        "cdctop_snapshot_tables_in_scope", type: "gauge", unit: "", labels: ["connector", "kind"],
        help: "Tables the snapshot covers; absent while unknown (rows alone name a table only once it starts).",
        source: "KPIState.snapshots.latestRuns[].tablesTotal")
    package static let snapshotEtaSeconds = OutputField(
        "cdctop_snapshot_eta_seconds", type: "gauge", unit: "seconds", labels: ["connector", "kind"],
        help: "Seconds until the snapshot completes at the current rate; absent without estimates.",
        source: "KPIState.snapshots.latestRuns[].etaSeconds")
    package static let snapshotIdleSeconds = OutputField(
        "cdctop_snapshot_idle_seconds", type: "gauge", unit: "seconds", labels: ["connector", "kind"],
        help: "Seconds since a running snapshot's last row or notification (CdcSnapshotStalled).",
        source: "KPIState.snapshots.latestRuns[].lastActivityMs")

    package static let all: [OutputField] = [
        up, snapshotAgeSeconds, messagesTotal, kpiTransactions, kpiRevenue, kpiCategoryRevenue, windowSeconds,
        windowStartTimestampSeconds, windowTransactions, windowRevenue, windowCategoryRevenue, eventsTotal,
        tableMalformedTotal, malformedTotal, droppedTotal, lateCorrectionsTotal, duplicatesTotal, unmatchedTotal,
        refusedTotal, ignoredTotal, tombstonesTotal, heartbeatsTotal, schemaChangeSnapshotTotal, schemaChangesTotal,
        parkedLineItems, lastCommitTimestampSeconds, watermarkTimestampSeconds, idle, backlogMessages, caughtUp,
        partitionLagMessages, partitionLagSeconds, partitionHighWatermark, partitionCommittedOffset, kafkaUp,
        kafkaStalled, redisUp, warehouseUp, heartbeatAgeSeconds, connectUp, connectorState, connectorTaskState,
        reconciliationVerdict, reconciliationCheckedTimestampSeconds, stateCheckpointsTotal, stateCheckpointAgeSeconds,
        stateCheckpointFailing, latencySeconds, replicationSlotsUp, replicationSlotRetainedWalBytes,
        replicationSlotRestartRetainedWalBytes, replicationSlotActive, replicationSlotSecondsSinceAdvance,
        replicationSlotSafeWalSizeBytes, kpi, kpiUnresolvedRows, kpiGroupsOmitted, schemaRegistryUp,
        schemaRegistrySchemasCached, schemaRegistryFetchesTotal, schemaRegistryFetchErrorsTotal,
        schemaRegistryWaitingPartitions, schemaRegistryWaitSeconds, groupLagMessages, groupLagSeconds,
        groupCommittedOffset, groupLogStart, groupDeletedUnreadMessages, groupStatus, groupUnwatchedGroups,
        partitionLogStart, offsetsBackwardsTotal, messagesDeletedUnreadTotal, transactionsOpen,
        transactionsOldestOpenSeconds, transactionsBufferedEvents, transactionsWaitingRatio, transactionsReleasedTotal,
        snapshotRowsRead, snapshotRowsEstimated, snapshotTableComplete, snapshotRowsPerSecond, snapshotComplete,
        snapshotRunning, snapshotTablesDone, snapshotTablesInScope, snapshotEtaSeconds, snapshotIdleSeconds,
    ]
}

extension PrometheusSchema {
    /// docs/outputs/prometheus.md.
    package static let document = OutputSchema(
        file: "prometheus.md", title: "`/metrics`: Prometheus families",
        intro: """
            Every family `cdctop watch|demo --metrics HOST:PORT` serves at `GET /metrics` (text format 0.0.4), in \
            the order a scrape shows them. A family whose data is absent (no `--connect`, no model profile, no \
            window yet) is left out of a scrape; `cdctop_latency_seconds` also has `_sum` and `_count` series. \
            Label values are escaped; see docs/interfaces.md, "Operations", for caps and the scrape config.
            """,
        sections: [OutputSection("", about: "", fields: all)])
}
