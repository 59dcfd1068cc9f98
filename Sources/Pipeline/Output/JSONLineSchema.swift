/// The `--json` line of `watch`/`demo`/`attach --headless`: every key path a line can carry, in the order
/// a line writes them. `a[]` is an element of the array `a`; `<table>` stands for a key named after data. An
/// object whose keys are not listed here (`alerts`, `connect`, `snapshots`…) is documented where its own `json()`
/// is. docs/outputs/json.md is generated from this; JSONLineSchemaTests (AppTests) writes a line with every
/// optional part and fails on a key path in the line and not here, or here and not in the line.
package enum JSONLineSchema {
    package static let fields: [OutputField] = [
        OutputField(
            "window_ms", type: "integer", unit: "ms", help: "Length of a tumbling window.", source: "KPIResult.windowMs"
        ),
        OutputField(
            "messages", type: "integer", unit: "", help: "Kafka messages read, tombstones and malformed ones included.",
            source: "KPIResult.messages"),
        OutputField(
            "windows", type: "array", unit: "", help: "Windows held, sorted by start.", source: "KPIResult.windows"),
        OutputField(
            "windows[].window_start_ms", type: "integer", unit: "Unix ms", help: "Start of the window (epoch-aligned).",
            source: "WindowResult.windowStartMs"),
        OutputField(
            "windows[].tx_count", type: "integer", unit: "",
            help: "Net transactions committed in the window (creates minus deletes).", source: "WindowResult.txCount"),
        OutputField(
            "windows[].revenue", type: "string", unit: "money", help: "Net revenue of the window, exact decimal text.",
            source: "WindowResult.revenue"),
        OutputField(
            "windows[].category_revenue", type: "object", unit: "",
            help: "Net line-item sales per category in the window; categories that net to zero are left out.",
            source: "WindowResult.categoryRevenue"),
        OutputField(
            "windows[].category_revenue.<category>", type: "string", unit: "money",
            help: "One category's net sales, exact decimal text; keys sorted by name.",
            source: "WindowResult.categoryRevenue"),
        OutputField(
            "totals", type: "object", unit: "",
            help: "Running totals, snapshot reads included: what count(*)/sum(amount) on the source says.",
            source: "KPIResult.totals"),
        OutputField(
            "totals.tx_count", type: "integer", unit: "", help: "Running total of transactions.",
            source: "TotalsResult.txCount"),
        OutputField(
            "totals.revenue", type: "string", unit: "money", help: "Running total of revenue, exact decimal text.",
            source: "TotalsResult.revenue"),
        OutputField(
            "totals.category_revenue", type: "object", unit: "", help: "Running net sales per category.",
            source: "TotalsResult.categoryRevenue"),
        OutputField(
            "totals.category_revenue.<category>", type: "string", unit: "money",
            help: "One category's running net sales, exact decimal text.", source: "TotalsResult.categoryRevenue"),
        OutputField(
            "malformed", type: "integer", unit: "",
            help: "Messages that could not be decoded (kept, counted, never applied).", source: "KPIResult.malformed"),
        OutputField(
            "dropped", type: "integer", unit: "",
            help:
                "Events counted in no window: older than every window held, or from the future (counted, never silently lost).",
            source: "KPIResult.dropped"),
        OutputField(
            "kpis", type: "object", unit: "",
            help:
                "Model profiles only: per KPI name its totals, `{\"group_by\",\"aggregates\",\"totals\":[{\"group\",\"values\"}],\"unresolved_rows\"}` (KPIOutput.totalsJSON; the same object as Redis `P:kpis`).",
            source: "KPIResult.kpiColumns, totals.kpis"),
        OutputField(
            "lag", type: "object", unit: "", help: "cdctop's own lag (issue 13).", source: "ConsumerProgress.partitions"
        ),
        OutputField(
            "lag.known", type: "boolean", unit: "",
            help: "False while Kafka is not connected or no partition is assigned: the lag is unknown, not zero.",
            source: "ConsumerProgress.lagKnown"),
        OutputField(
            "lag.total", type: "integer or null", unit: "",
            help: "Sum of end minus position over the partitions; null while unknown.",
            source: "ConsumerProgress.totalLag"),
        OutputField(
            "lag.committed_total", type: "integer or null", unit: "",
            help: "Sum of end minus the group's committed offset; null while unknown.",
            source: "ConsumerProgress.totalCommittedLag"),
        OutputField(
            "lag.caught_up", type: "boolean", unit: "",
            help: "Known and at most max(100, one second of events) behind.", source: "RunSnapshot.lagCaughtUp"),
        OutputField(
            "lag.partitions", type: "array", unit: "", help: "One object per assigned partition.",
            source: "ConsumerProgress.partitions"),
        OutputField("lag.partitions[].topic", type: "string", unit: "", help: "Topic.", source: "PartitionLag.topic"),
        OutputField(
            "lag.partitions[].partition", type: "integer", unit: "", help: "Partition.",
            source: "PartitionLag.partition"),
        OutputField(
            "lag.partitions[].position", type: "integer", unit: "offset", help: "Next offset cdctop reads.",
            source: "PartitionLag.position"),
        OutputField(
            "lag.partitions[].committed", type: "integer", unit: "offset",
            help: "The group's committed offset (-1 none).", source: "PartitionLag.committed"),
        OutputField(
            "lag.partitions[].log_start", type: "integer", unit: "offset", help: "First retained offset (-1 unknown).",
            source: "PartitionLag.logStart"),
        OutputField(
            "lag.partitions[].high_watermark", type: "integer", unit: "offset",
            help: "End offset as last reported by the broker (-1 unknown).", source: "PartitionLag.highWatermark"),
        OutputField(
            "lag.partitions[].lag", type: "integer", unit: "", help: "End minus position: what cdctop has not read.",
            source: "PartitionLag.lag"),
        OutputField(
            "lag.partitions[].committed_lag", type: "integer", unit: "",
            help: "End minus committed: what kafka-ui and Burrow show.", source: "PartitionLag.committedLag"),
        OutputField(
            "lag.offsets_backwards", type: "array", unit: "",
            help:
                "Partitions whose end fell below what cdctop had read, or whose log start passed it (docs/dashboard.md, \"Lag\").",
            source: "OffsetRegressionLog.json"),
        OutputField(
            "services", type: "object", unit: "",
            help: "Kafka and each configured service (redis, warehouse, source, connect, replication_slots).",
            source: "ConnectionBoard.json"),
        OutputField(
            "services.<service>", type: "object", unit: "", help: "One service's connection state.",
            source: "ConnectionEntry"),
        OutputField(
            "services.<service>.state", type: "string", unit: "",
            help: "off, connecting, ok, paused, error or stalled.", source: "ConnectionEntry.status.state"),
        OutputField(
            "services.<service>.target", type: "string", unit: "",
            help: "What it connects to; passwords in URLs show as ***.", source: "ConnectionEntry.target"),
        OutputField(
            "services.<service>.detail", type: "string", unit: "", help: "The status line's detail.",
            source: "ConnectionEntry.status.detail"),
        OutputField(
            "services.<service>.error", type: "string or null", unit: "",
            help: "The last failure verbatim, kept after it recovers.", source: "ConnectionEntry.lastError"),
        OutputField(
            "services.<service>.attempts", type: "integer", unit: "", help: "Failures since it last worked.",
            source: "ConnectionEntry.attempts"),
        OutputField(
            "services.<service>.next_retry_ms", type: "integer", unit: "Unix ms",
            help: "Next retry (0 when none is scheduled, or for Kafka, whose client reconnects by itself).",
            source: "ConnectionEntry.nextRetryAtMs"),
        OutputField(
            "services.<service>.since_ms", type: "integer", unit: "Unix ms", help: "When the state last changed.",
            source: "ConnectionEntry.sinceMs"),
        OutputField(
            "services.<service>.last_error_ms", type: "integer", unit: "Unix ms",
            help: "When the last error was seen (0 none).", source: "ConnectionEntry.lastErrorAtMs"),
        OutputField(
            "connect", type: "array", unit: "",
            help:
                "With --connect: the Kafka Connect connectors, `[{\"name\",\"state\",\"connector_state\",\"tasks\",\"error\",\"topic_prefix\",\"watched\"}]`, watched ones first.",
            source: "ConnectHealthReport.json"),
        OutputField(
            "connect_error", type: "string", unit: "", help: "With --connect, when the last REST poll failed: why.",
            source: "ConnectHealthReport.pollError"),
        OutputField(
            "heartbeats", type: "integer", unit: "", help: "With --connect: Debezium heartbeat messages read.",
            source: "KPIState.heartbeats"),
        OutputField(
            "last_heartbeat_ms", type: "integer", unit: "Unix ms",
            help: "With --connect: the newest heartbeat (0 none).", source: "KPIState.lastHeartbeatMs"),
        OutputField(
            "schema_changes", type: "object", unit: "",
            help: "Schema changes (DDL on Debezium's schema-change topic) per table.",
            source: "EngineDiagnostics.schemaChanges"),
        OutputField(
            "schema_changes.<table>", type: "integer", unit: "", help: "One table's schema changes.",
            source: "EngineDiagnostics.schemaChanges"),
        OutputField(
            "recent_ddl", type: "array", unit: "", help: "The newest 10 schema changes, newest last.",
            source: "EngineDiagnostics.recentDDL"),
        OutputField("recent_ddl[].table", type: "string", unit: "", help: "Table.", source: "DDLRecord.table"),
        OutputField("recent_ddl[].db", type: "string", unit: "", help: "Database.", source: "DDLRecord.database"),
        OutputField("recent_ddl[].ddl", type: "string", unit: "", help: "The DDL statement.", source: "DDLRecord.ddl"),
        OutputField(
            "recent_ddl[].ts_ms", type: "integer", unit: "Unix ms", help: "Its commit time.",
            source: "DDLRecord.commitTimeMs"),
        OutputField(
            "snapshot_ddl", type: "integer", unit: "",
            help: "DDL of connectors' initial snapshots (the schema as it was, not a change).",
            source: "EngineDiagnostics.snapshotDDL"),
        OutputField(
            "alerts", type: "object", unit: "",
            help: "Unless the profile turns the alert rules off: the alert panel (docs/operations.md, \"Alerts\").",
            source: "AlertPanel.json"),
        OutputField(
            "snapshots", type: "array", unit: "", help: "Snapshot progress per connector and kind (issue 22).",
            source: "SnapshotProgressReport.json"),
        OutputField(
            "replication_slots", type: "array", unit: "",
            help:
                "With --source on PostgreSQL: one object per logical slot (docs/operations.md, \"Replication slots\").",
            source: "ReplicationSlotReport.json"),
        OutputField(
            "replication_slots_checked_ms", type: "integer", unit: "Unix ms",
            help: "With --source on PostgreSQL: when the slots were last read.",
            source: "ReplicationSlotReport.checkedAtMs"),
        OutputField(
            "replication_slots_error", type: "string or null", unit: "",
            help: "With --source on PostgreSQL: why the last reading failed.", source: "ReplicationSlotReport.error"),
        OutputField(
            "late_corrections", type: "integer", unit: "",
            help: "Events that changed a window the watermark had already closed.",
            source: "KPIState.lateCorrections"),
        OutputField(
            "duplicates", type: "integer", unit: "",
            help: "Redelivered messages (offset at or below the last applied one), ignored.",
            source: "KPIState.duplicates"),
        OutputField(
            "unmatched", type: "integer", unit: "", help: "Updates or deletes of a key cdctop never saw.",
            source: "KPIState.unmatched"),
        OutputField(
            "watermark_ms", type: "integer", unit: "Unix ms",
            help: "The watermark: event time read by every partition still being read, minus the allowed lateness.",
            source: "KPIState.watermarkMs"),
        OutputField(
            "idle_since_ms", type: "integer or null", unit: "Unix ms",
            help: "The newest commit once the watermark closed its window (a quiet source); null while it can change.",
            source: "KPIState.idleSinceMs"),
        OutputField(
            "backlog", type: "object or null", unit: "",
            help: "While a startup backlog is read; null once every partition was read to its end.",
            source: "ConsumerProgress.backlog"),
        OutputField(
            "backlog.partitions", type: "integer", unit: "", help: "Partitions still reading their backlog.",
            source: "ConsumerProgress.backlog.partitions"),
        OutputField(
            "backlog.messages", type: "integer", unit: "", help: "Backlog messages still unread.",
            source: "ConsumerProgress.backlog.messages"),
        OutputField(
            "backlog.oldest_ms", type: "integer", unit: "Unix ms", help: "The event time the backlog has reached.",
            source: "ConsumerProgress.backlog.reachedMs"),
        OutputField(
            "backlog.events_read", type: "integer", unit: "", help: "Backlog events read so far.",
            source: "ConsumerProgress.backlog.eventsRead"),
        OutputField(
            "ignored", type: "integer", unit: "", help: "Messages of tables or ops the profile does not use.",
            source: "KPIState.ignored"),
        OutputField(
            "refused", type: "integer", unit: "", help: "Events refused because applying them would overflow a sum.",
            source: "KPIState.refused"),
        OutputField(
            "tombstones", type: "integer", unit: "", help: "Kafka tombstones (null values after deletes).",
            source: "KPIState.tombstones"),
        OutputField(
            "parked_line_items", type: "integer", unit: "",
            help: "Line items waiting for their product's dimension row (counted once it arrives).",
            source: "KPIState.parkedLineItems"),
        OutputField(
            "parked_revenue", type: "string", unit: "money", help: "Their revenue, exact decimal text.",
            source: "KPIState.parkedRevenue"),
        OutputField(
            "malformed_by_table", type: "object", unit: "", help: "Malformed messages per table.",
            source: "EngineDiagnostics.tables[].malformed"),
        OutputField(
            "malformed_by_table.<table>", type: "integer", unit: "", help: "One table's malformed messages.",
            source: "EngineDiagnostics.tables[].malformed"),
        OutputField(
            "recent_malformed", type: "array", unit: "", help: "The newest 5 malformed messages.",
            source: "EngineDiagnostics.recentMalformed"),
        OutputField(
            "recent_malformed[].topic", type: "string", unit: "", help: "Topic.",
            source: "MalformedRecord.position.topic"),
        OutputField(
            "recent_malformed[].partition", type: "integer", unit: "", help: "Partition.",
            source: "MalformedRecord.position.partition"),
        OutputField(
            "recent_malformed[].offset", type: "integer", unit: "offset", help: "Offset.",
            source: "MalformedRecord.position.offset"),
        OutputField(
            "recent_malformed[].reason", type: "string", unit: "", help: "What was wrong with it.",
            source: "MalformedRecord.reason"),
        OutputField(
            "state", type: "object", unit: "", help: "The durable state (docs/operations.md, \"Durable state\").",
            source: "RunSnapshot.state"),
        OutputField(
            "state.dir", type: "string or null", unit: "", help: "The state directory; null with --state none.",
            source: "StateStatus.directory"),
        OutputField(
            "state.last_checkpoint_ms", type: "integer", unit: "Unix ms", help: "The last checkpoint (0 none).",
            source: "StateStatus.lastCheckpointMs"),
        OutputField(
            "state.checkpoints", type: "integer", unit: "", help: "Checkpoints written.",
            source: "StateStatus.checkpoints"),
        OutputField(
            "state.error", type: "string or null", unit: "", help: "The last checkpoint error.",
            source: "StateStatus.lastError"),
        OutputField(
            "state.restored", type: "string or null", unit: "", help: "What the start restored.",
            source: "StateStatus.restored"),
        OutputField(
            "state.viewer_of_pid", type: "integer or null", unit: "",
            help: "The process writing `dir` when this one only views it.", source: "StateStatus.viewerOfPID"),
        OutputField(
            "profile", type: "object", unit: "", help: "The KPI profile in use.", source: "KPIState.profile"),
        OutputField("profile.name", type: "string", unit: "", help: "Its name.", source: "ProfileStatus.name"),
        OutputField(
            "profile.implicit_default", type: "boolean", unit: "",
            help: "True when no profile was given and the built-in shop profile applies.",
            source: "ProfileStatus.isImplicitDefault"),
        OutputField(
            "profile.sql_kpis", type: "boolean", unit: "", help: "True for a model (SQL KPI) profile.",
            source: "ProfileStatus.isModel"),
        OutputField(
            "profile.applies", type: "boolean", unit: "", help: "False when the profile names none of the topics read.",
            source: "ProfileStatus.noProfileForTopics"),
        OutputField(
            "profile.key_collisions", type: "integer", unit: "", help: "Rows whose record keys collided.",
            source: "ProfileStatus.keyCollisions"),
        OutputField(
            "profile.placeholder_deletes", type: "integer", unit: "",
            help: "Deletes whose before image held placeholders.", source: "ProfileStatus.placeholderDeletes"),
        OutputField(
            "transactions", type: "object", unit: "",
            help: "With --transactions complete: what is held back and what was released unfinished.",
            source: "TransactionStatus.json"),
        OutputField(
            "ts_ms", type: "integer", unit: "Unix ms", help: "Wall time of the line.", source: "RunSnapshot.takenAtMs"),
        OutputField(
            "latency", type: "object", unit: "",
            help: "Per table and hop, over the last minute (docs/interfaces.md, \"Where latency goes\").",
            source: "EngineDiagnostics.latency"),
        OutputField("latency.<table>", type: "object", unit: "", help: "One table's hops.", source: "TableLatency"),
        OutputField(
            "latency.<table>.<hop>", type: "object", unit: "", help: "source_debezium, debezium_kafka or kafka_cdctop.",
            source: "TableLatency.hop(_)"),
        OutputField(
            "latency.<table>.<hop>.p50_ms", type: "integer", unit: "ms", help: "Median over the last minute.",
            source: "HopLatency.p50Ms"),
        OutputField(
            "latency.<table>.<hop>.p99_ms", type: "integer", unit: "ms", help: "99th percentile over the last minute.",
            source: "HopLatency.p99Ms"),
        OutputField(
            "latency.<table>.<hop>.count", type: "integer", unit: "", help: "Changes measured over the last minute.",
            source: "HopLatency.count"),
        OutputField(
            "latency.<table>.<hop>.negative", type: "integer", unit: "",
            help: "A later clock before an earlier one (clock skew), counted as 0 ms.", source: "HopLatency.negative"),
        OutputField(
            "lag_groups", type: "array", unit: "",
            help:
                "With --lag-groups: other consumer groups, `[{\"group\",\"status\",\"state\",\"members\",\"lag\",\"lag_seconds\",\"error\",\"partitions\":[…]}]`.",
            source: "GroupLagReport.json"),
        OutputField(
            "lag_groups_unwatched", type: "integer", unit: "",
            help: "With --lag-groups: matching groups beyond the 50 watched.", source: "GroupLagReport.unwatchedGroups"),
        OutputField(
            "outcome", type: "object", unit: "",
            help: "With --until-caught-up, on the last line only (docs/operations.md, \"Exit codes\").",
            source: "RunOutcome.json"),
        OutputField(
            "outcome.result", type: "string", unit: "",
            help: "caught_up, partial, timed_out, interrupted, refused or failed.", source: "RunOutcome.result"),
        OutputField(
            "outcome.exit_code", type: "integer", unit: "", help: "The process's exit status.",
            source: "RunOutcome.result.exitCode"),
        OutputField(
            "outcome.reasons", type: "array", unit: "", help: "Why, one line each.", source: "RunOutcome.reasons"),
    ]

    /// docs/outputs/json.md.
    package static let document = OutputSchema(
        file: "json.md", title: "`--json`: the headless line",
        intro: """
            One JSON object per line, printed by `watch`/`demo` in headless mode at each snapshot (`--interval` ms) \
            and by `attach --headless --json` from the mirrored figures. Decimals are exact strings; times are \
            milliseconds since the epoch; windows are sorted by start and categories by name. The fields up to \
            `dropped` (and `kpis`) are `KPIResult.json()`: `replay --json` and `generate --print-truth` print them \
            alone, byte for byte. `a[].b` is key `b` of each element of array `a`; `<table>` is a key named after \
            data. See docs/interfaces.md, "`--json` result", for the rules behind each field.
            """,
        sections: [OutputSection("", about: "", fields: fields)])
}
