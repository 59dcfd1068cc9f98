import Metrics

/// The headless `--json` line (`watch --json`, `attach --json`): one object per snapshot. Every key is declared
/// in `JSONLineSchema` and documented in docs/outputs/json.md; `JSONLineSchemaTests` fails when the two differ.
/// The object starts with `KPIResult.json()`'s fields (ground-truth comparisons and `replay --json` read them),
/// then lag and services, Kafka Connect (with `--connect`), schema changes, alerts (with the rules on),
/// snapshot progress, replication slots (with `--source` on PostgreSQL), the engine's counters and the
/// durable state, and the latency split and other groups' lag.
package enum JSONLine {
    /// How many schema changes the line lists in `recent_ddl` (the newest).
    package static let recentDDLListed = 10
    /// How many malformed messages the line lists in `recent_malformed` (the newest).
    package static let recentMalformedListed = 5

    /// `servicesJSON` is `"services"`'s object, from the app's connection board (which follows every service
    /// the run uses); `nowMs` dates the snapshot progress and replication slots.
    package static func encode(
        _ s: RunSnapshot, connect: ConnectHealthReport?, alerts: AlertPanel?, servicesJSON: String, nowMs: Int64
    ) -> String {
        var text = s.kpis.result.json()
        guard text.hasSuffix("}") else { return text }
        text.removeLast()
        appendLag(s, to: &text)
        text += ",\"services\":" + servicesJSON
        if let connect {
            text += ",\"connect\":\(connect.json(watchedTopics: s.consumer.topics))"
            if let error = connect.pollError { text += ",\"connect_error\":\(JSONText.quoted(error))" }
            text += ",\"heartbeats\":\(s.kpis.heartbeats),\"last_heartbeat_ms\":\(s.kpis.lastHeartbeatMs)"
        }
        // Schema changes (DDL on Debezium's schema-change topic): per table, and the latest few.
        text += ",\"schema_changes\":{"
        for (i, table) in s.diagnostics.schemaChanges.keys.sorted().enumerated() {
            if i > 0 { text += "," }
            JSONText.appendQuoted(table, to: &text)
            text += ":\(s.diagnostics.schemaChanges[table]!)"
        }
        text += "},\"recent_ddl\":["
        for (i, d) in s.diagnostics.recentDDL.suffix(recentDDLListed).enumerated() {
            if i > 0 { text += "," }
            text += "{\"table\":"
            JSONText.appendQuoted(d.table, to: &text)
            text += ",\"db\":"
            JSONText.appendQuoted(d.database, to: &text)
            text += ",\"ddl\":"
            JSONText.appendQuoted(d.ddl, to: &text)
            text += ",\"ts_ms\":\(d.commitTimeMs)}"
        }
        text += "],\"snapshot_ddl\":\(s.diagnostics.snapshotDDL)"
        if let alerts { text += ",\"alerts\":" + alerts.json() }
        text += ",\"snapshots\":" + s.kpis.snapshots.json(nowMs: nowMs)
        if let slots = s.integrations.replicationSlots {
            text += ",\"replication_slots\":" + slots.json(nowMs: nowMs)
            text += ",\"replication_slots_checked_ms\":\(slots.checkedAtMs),\"replication_slots_error\":"
            text += slots.error.map(JSONText.quoted) ?? "null"
        }
        appendCounters(s, to: &text)
        appendOperations(s, to: &text)
        return text + "}"
    }

    /// The counters `KPIResult.json()` does not carry, appended after its fields (which stay as they are:
    /// ground-truth comparisons read them): `"late_corrections","duplicates","unmatched","ignored","refused",
    /// "tombstones","parked_line_items","parked_revenue","malformed_by_table":{table:n},"recent_malformed":[{"topic","partition","offset","reason"}],
    /// "state":{"dir","last_checkpoint_ms","checkpoints","error","restored","viewer_of_pid"},"profile":{"name","implicit_default","sql_kpis",
    /// "applies","key_collisions","placeholder_deletes"},"ts_ms"`.
    static func appendCounters(_ s: RunSnapshot, to text: inout String) {
        text +=
            ",\"late_corrections\":\(s.kpis.lateCorrections),\"duplicates\":\(s.kpis.duplicates),\"unmatched\":\(s.kpis.unmatched)"
        // Issue 22: the watermark (heartbeats move it on a quiet source), the commit the pipeline is idle since
        // (null while the newest window can change), and a startup backlog (null once read to the end).
        text +=
            ",\"watermark_ms\":\(s.kpis.watermarkMs),\"idle_since_ms\":\(s.kpis.idleSinceMs.map(String.init) ?? "null"),\"backlog\":"
        text +=
            s.consumer.backlog.map {
                "{\"partitions\":\($0.partitions),\"messages\":\($0.messages),\"oldest_ms\":\($0.reachedMs),\"events_read\":\($0.eventsRead)}"
            } ?? "null"
        text +=
            ",\"ignored\":\(s.kpis.ignored),\"refused\":\(s.kpis.refused),\"tombstones\":\(s.kpis.tombstones),\"parked_line_items\":\(s.kpis.parkedLineItems),\"parked_revenue\":\"\(s.kpis.parkedRevenue.formatted())\",\"malformed_by_table\":{"
        for (i, t) in s.diagnostics.tables.sorted(by: { $0.table < $1.table }).enumerated() {
            if i > 0 { text += "," }
            JSONText.appendQuoted(t.table, to: &text)
            text += ":\(t.malformed)"
        }
        text += "},\"recent_malformed\":["
        for (i, m) in s.diagnostics.recentMalformed.suffix(recentMalformedListed).enumerated() {
            if i > 0 { text += "," }
            text += "{\"topic\":"
            JSONText.appendQuoted(m.position.topic, to: &text)
            text += ",\"partition\":\(m.position.partition),\"offset\":\(m.position.offset),\"reason\":"
            JSONText.appendQuoted(m.reason, to: &text)
            text += "}"
        }
        func optional(_ value: String?) -> String { value.map(JSONText.quoted) ?? "null" }
        let state = s.state
        text += "],\"state\":{\"dir\":\(optional(state.directory)),\"last_checkpoint_ms\":\(state.lastCheckpointMs)"
        text +=
            ",\"checkpoints\":\(state.checkpoints),\"error\":\(optional(state.lastError)),\"restored\":\(optional(state.restored))"
        text += ",\"viewer_of_pid\":\(state.viewerOfPID.map(String.init) ?? "null")}"
        let p = s.kpis.profile
        text +=
            ",\"profile\":{\"name\":\(JSONText.quoted(p.name)),\"implicit_default\":\(p.isImplicitDefault),\"sql_kpis\":\(p.isModel)"
        text +=
            ",\"applies\":\(!p.noProfileForTopics),\"key_collisions\":\(p.keyCollisions),\"placeholder_deletes\":\(p.placeholderDeletes)}"
        // `--transactions complete` only (see TransactionStatus.json).
        if let t = s.kpis.transactions { text += ",\"transactions\":" + t.json() }
        text += ",\"ts_ms\":\(s.takenAtMs)"
    }

    /// `"lag":{"known","total","committed_total","caught_up","partitions":[…],"offsets_backwards":{…}}`.
    static func appendLag(_ s: RunSnapshot, to text: inout String) {
        let known = s.consumer.lagKnown
        let committedTotal = s.consumer.totalCommittedLag
        text += ",\"lag\":{\"known\":\(known),\"total\":\(known ? String(s.consumer.totalLag) : "null")"
        text += ",\"committed_total\":\(known ? String(committedTotal) : "null")"
        text += ",\"caught_up\":\(known && s.lagCaughtUp),\"partitions\":["
        for (i, p) in s.consumer.partitions.enumerated() {
            if i > 0 { text += "," }
            text += "{\"topic\":"
            JSONText.appendQuoted(p.topic, to: &text)
            text += ",\"partition\":\(p.partition),\"position\":\(p.position),\"committed\":\(p.committed)"
            text +=
                ",\"log_start\":\(p.logStart),\"high_watermark\":\(p.highWatermark),\"lag\":\(p.lag),\"committed_lag\":\(p.committedLag)}"
        }
        text += "],\"offsets_backwards\":" + s.consumer.offsetRegressions.json() + "}"
    }

    /// `"latency":{table:{hop:{"p50_ms","p99_ms","count","negative"}}}` and, with `--lag-groups`,
    /// `"lag_groups":[…]` (see `GroupLagReport.json()`), appended to headless JSON lines.
    static func appendOperations(_ s: RunSnapshot, to text: inout String) {
        text += ",\"latency\":{"
        for (i, t) in s.diagnostics.latency.enumerated() {
            if i > 0 { text += "," }
            JSONText.appendQuoted(t.table, to: &text)
            text += ":{"
            for (j, hop) in LatencyHop.allCases.enumerated() {
                if j > 0 { text += "," }
                let h = t.hop(hop)
                text +=
                    "\"\(hop.label)\":{\"p50_ms\":\(h.p50Ms),\"p99_ms\":\(h.p99Ms),\"count\":\(h.count),\"negative\":\(h.negative)}"
            }
            text += "}"
        }
        text += "}"
        if let g = s.integrations.groupLag {
            text += ",\"lag_groups\":" + g.json() + ",\"lag_groups_unwatched\":\(g.unwatchedGroups)"
        }
    }
}
