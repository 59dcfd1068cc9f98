/// The Redis mirror's key layout (version `RedisKeys.layoutVersion`): per key its type and fields, `P` the
/// prefix (default `cdctop:<pipeline>`). docs/outputs/redis.md is generated from this; RedisLayoutSchemaTests
/// mirrors a snapshot to a real Redis and fails on a key or hash field written and not here, or here and not
/// written. Change the layout only with `RedisKeys.layoutVersion`.
package enum RedisLayoutSchema {
    /// Key pattern → "its Redis type: what it holds" and its fields (hash fields, or the members or value).
    package static let sections: [OutputSection] = [
        OutputSection(
            "P:meta", about: "hash: Who writes this prefix and how; written on connect, pause and resume.",
            fields: [
                OutputField(
                    "state", type: "text", unit: "", help: "on or paused (`m` in the dashboard).",
                    source: "RedisMirror paused flag"),
                OutputField(
                    "paused_at_ms", type: "integer", unit: "Unix ms",
                    help: "When the mirror was paused; absent while on.", source: "RedisSnapshotWriter.writeMeta"),
                OutputField(
                    "version", type: "text", unit: "", help: "cdctop's version.", source: "MirrorIdentity.version"),
                OutputField(
                    "layout", type: "integer", unit: "", help: "This layout's version (1); a reader refuses others.",
                    source: "RedisKeys.layoutVersion"),
                OutputField(
                    "pipeline", type: "text", unit: "",
                    help: "The pipeline name (the profile's name unless --pipeline).",
                    source: "MirrorIdentity.pipelineName"),
                OutputField(
                    "profile", type: "text", unit: "", help: "The profile's name.", source: "MirrorIdentity.profileName"
                ),
                OutputField(
                    "started_at_ms", type: "integer", unit: "Unix ms", help: "When this cdctop started.",
                    source: "MirrorIdentity.startedAtMs"),
                OutputField(
                    "updated_at_ms", type: "integer", unit: "Unix ms", help: "The last write.",
                    source: "RedisSnapshotWriter"),
                OutputField(
                    "window_ttl_s", type: "integer", unit: "seconds", help: "TTL of the window hashes.",
                    source: "MirrorIdentity.windowTTLSeconds"),
            ]),
        OutputSection(
            "P:kpi",
            about:
                "hash: The latest snapshot's totals, current window, rates, lag and every counter (`RedisLayout.kpiFields`).",
            fields: [
                OutputField(
                    "total_tx_count", type: "integer", unit: "", help: "Running total of transactions.",
                    source: "KPIState.result.totals.txCount"),
                OutputField(
                    "total_revenue", type: "decimal text", unit: "money", help: "Running total of revenue, exact.",
                    source: "KPIState.result.totals.revenue"),
                OutputField(
                    "window_start_ms", type: "integer", unit: "Unix ms",
                    help: "Start of the current (latest) window; absent before the first window.",
                    source: "KPIState.result.windows.last.windowStartMs"),
                OutputField(
                    "window_tx_count", type: "integer", unit: "", help: "Net transactions of the current window.",
                    source: "KPIState.result.windows.last.txCount"),
                OutputField(
                    "window_revenue", type: "decimal text", unit: "money",
                    help: "Net revenue of the current window, exact.", source: "KPIState.result.windows.last.revenue"
                ),
                OutputField(
                    "window_ms", type: "integer", unit: "ms", help: "Length of a window.",
                    source: "KPIState.result.windowMs"),
                OutputField(
                    "events_per_second", type: "decimal text", unit: "1/s",
                    help: "Change events per second, one decimal.", source: "KPIState.eventsPerSecond"),
                OutputField(
                    "bytes_per_second", type: "integer", unit: "bytes/s", help: "Bytes read per second.",
                    source: "KPIState.bytesPerSecond"),
                OutputField(
                    "lag", type: "integer", unit: "", help: "Total lag in messages over the assigned partitions.",
                    source: "ConsumerProgress.totalLag"),
                OutputField(
                    "caught_up", type: "0/1", unit: "",
                    help: "1 once every assigned partition reached its end at least once.",
                    source: "ConsumerProgress.caughtUp"),
                OutputField(
                    "last_commit_ms", type: "integer", unit: "Unix ms", help: "Newest source commit time seen.",
                    source: "KPIState.maxCommitTimeMs"),
                OutputField(
                    "watermark_ms", type: "integer", unit: "Unix ms", help: "The watermark.",
                    source: "KPIState.watermarkMs"),
                OutputField(
                    "messages", type: "integer", unit: "", help: "Kafka messages read.",
                    source: "KPIState.result.messages"),
                OutputField(
                    "malformed", type: "integer", unit: "", help: "Malformed messages.",
                    source: "KPIState.result.malformed"),
                OutputField(
                    "malformed:<table>", type: "integer", unit: "", help: "One table's malformed messages.",
                    source: "EngineDiagnostics.tables[].malformed"),
                OutputField(
                    "last_malformed_position", type: "text", unit: "",
                    help: "`topic[partition]@offset` of the newest malformed message; absent with none.",
                    source: "EngineDiagnostics.recentMalformed.last"),
                OutputField(
                    "last_malformed_reason", type: "text", unit: "", help: "What was wrong with it.",
                    source: "EngineDiagnostics.recentMalformed.last"),
                OutputField(
                    "dropped", type: "integer", unit: "",
                    help: "Events counted in no window: older than every window held, or from the future.",
                    source: "KPIState.result.dropped"),
                OutputField(
                    "late_corrections", type: "integer", unit: "", help: "Events that changed a closed window.",
                    source: "KPIState.lateCorrections"),
                OutputField(
                    "duplicates", type: "integer", unit: "", help: "Redelivered messages, ignored.",
                    source: "KPIState.duplicates"),
                OutputField(
                    "unmatched", type: "integer", unit: "", help: "Updates or deletes of a key never seen.",
                    source: "KPIState.unmatched"),
                OutputField(
                    "ignored", type: "integer", unit: "", help: "Messages of tables or ops the profile does not use.",
                    source: "KPIState.ignored"),
                OutputField(
                    "refused", type: "integer", unit: "", help: "Events refused because a sum would overflow.",
                    source: "KPIState.refused"),
                OutputField(
                    "heartbeats", type: "integer", unit: "", help: "Debezium heartbeats.",
                    source: "KPIState.heartbeats"),
                OutputField(
                    "tombstones", type: "integer", unit: "", help: "Kafka tombstones.", source: "KPIState.tombstones"
                ),
                OutputField(
                    "parked_line_items", type: "integer", unit: "",
                    help: "Line items waiting for their product's dimension row.", source: "KPIState.parkedLineItems"
                ),
                OutputField(
                    "parked_revenue", type: "decimal text", unit: "money", help: "Their revenue, exact.",
                    source: "KPIState.parkedRevenue"),
                OutputField(
                    "state_dir", type: "text", unit: "", help: "The durable state directory; absent with --state none.",
                    source: "StateStatus.directory"),
                OutputField(
                    "state_last_checkpoint_ms", type: "integer", unit: "Unix ms", help: "The last checkpoint (0 none).",
                    source: "StateStatus.lastCheckpointMs"),
                OutputField(
                    "state_checkpoints", type: "integer", unit: "", help: "Checkpoints written.",
                    source: "StateStatus.checkpoints"),
                OutputField(
                    "state_error", type: "text", unit: "", help: "The last checkpoint error; absent with none.",
                    source: "StateStatus.lastError"),
                OutputField(
                    "state_restored", type: "text", unit: "", help: "What the start restored; absent if nothing.",
                    source: "StateStatus.restored"),
                OutputField(
                    "sequence", type: "integer", unit: "", help: "The snapshot's sequence number.",
                    source: "RunSnapshot.sequence"),
                OutputField(
                    "snapshot_at_ms", type: "integer", unit: "Unix ms", help: "When the engine published the snapshot.",
                    source: "RunSnapshot.takenAtMs"),
                OutputField(
                    "updated_at_ms", type: "integer", unit: "Unix ms", help: "When the mirror wrote it.",
                    source: "RedisSnapshotWriter"),
            ]),
        OutputSection(
            "P:window:<window_start_ms>", about: "hash, TTL 24 h: One window; rewritten when a late event corrects it.",
            fields: [
                OutputField(
                    "tx_count", type: "integer", unit: "", help: "Net transactions of the window.",
                    source: "WindowResult.txCount"),
                OutputField(
                    "revenue", type: "decimal text", unit: "money", help: "Net revenue of the window, exact.",
                    source: "WindowResult.revenue"),
                OutputField(
                    "final", type: "0/1", unit: "", help: "1 once the watermark passed the window's end.",
                    source: "KPIState.watermarkMs"),
                OutputField(
                    "cat:<category>", type: "decimal text", unit: "money",
                    help: "One category's net sales in the window, exact.", source: "WindowResult.categoryRevenue"),
                OutputField(
                    "kpi:<NAME>", type: "JSON text", unit: "",
                    help: "A windowed model KPI's net values in the window: `[{\"group\":[…],\"values\":[…]}]`.",
                    source: "KPIOutput.windowJSON"),
            ]),
        OutputSection(
            "P:windows", about: "sorted set: Index of the window hashes.",
            fields: [
                OutputField(
                    "<window_start_ms>", type: "member", unit: "",
                    help: "A window's start; its score is the same number.", source: "KPIState.result.windows")
            ]),
        OutputSection(
            "P:categories", about: "sorted set: Total revenue per category, for top-N.",
            fields: [
                OutputField(
                    "<category>", type: "member", unit: "",
                    help:
                        "A category; its score is its total revenue as a double (the exact value is in `P:category_revenue`).",
                    source: "KPIState.result.totals.categoryRevenue")
            ]),
        OutputSection(
            "P:category_revenue", about: "hash: Exact total revenue per category.",
            fields: [
                OutputField(
                    "<category>", type: "decimal text", unit: "money", help: "One category's running net sales, exact.",
                    source: "KPIState.result.totals.categoryRevenue")
            ]),
        OutputSection(
            "P:lag", about: "hash: Lag per assigned partition.",
            fields: [
                OutputField(
                    "<topic>:<partition>", type: "integer", unit: "",
                    help: "Messages between cdctop's position and the partition's end.",
                    source: "ConsumerProgress.partitions[].lag")
            ]),
        OutputSection(
            "P:kpis", about: "hash: Model profiles only; only the KPIs whose totals changed are written again.",
            fields: [
                OutputField(
                    "<NAME>", type: "JSON text", unit: "",
                    help:
                        "A KPI's totals, the object `--json` prints under `\"kpis\"`: `{\"group_by\",\"aggregates\",\"totals\":[{\"group\",\"values\"}],\"unresolved_rows\"}`.",
                    source: "KPIOutput.totalsJSON")
            ]),
        OutputSection(
            "P:updates", about: "channel: Published after each write.",
            fields: [
                OutputField(
                    "message", type: "JSON text", unit: "",
                    help:
                        "`{\"sequence\",\"updated_at_ms\",\"full\",\"windows\":[changed starts]}`, or `{\"state\":\"paused\"|\"on\",\"updated_at_ms\"}`.",
                    source: "RedisSnapshotWriter")
            ]),
        OutputSection(
            "P:writer",
            about: "string, TTL 10 s: The one mirror writing this prefix (claimed and renewed by one Lua script).",
            fields: [
                OutputField(
                    "value", type: "text", unit: "", help: "`host:pid:tag` of the writer.",
                    source: "MirrorWorker.writerToken")
            ]),
    ]

    /// docs/outputs/redis.md.
    package static let document = OutputSchema(
        file: "redis.md", title: "Redis mirror layout",
        intro: """
            What `--redis URL` writes under the prefix `P` (default `cdctop:<pipeline>`), in one `MULTI`/`EXEC` per \
            snapshot. Money is exact decimal text; times are milliseconds since the epoch. Readers: \
            `cdctop redis-check`, `cdctop attach`, your scripts (docs/interfaces.md, "Redis mirror").
            """,
        sections: sections)
}
