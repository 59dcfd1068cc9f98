import Foundation
import Metrics
import Pipeline

/// One headless line: the JSON result or the summary, plus Kafka Connect health when `--connect` is given
/// (JSON: `"connect":[{"name","state","connector_state","tasks","error"}]`, `"connect_error"`, `"heartbeats"`,
/// `"last_heartbeat_ms"` added to the result object; text: `connect shop RUNNING 1/1 · heartbeat 1s ago`).
/// JSON lines also carry `"schema_changes":{table:n}`, `"recent_ddl":[{"table","db","ddl","ts_ms"}]` (newest last) and
/// `"snapshot_ddl":n` (DDL of a connector's initial snapshot: the schema as it was, not a change).
/// With the alert rules on, JSON lines carry `"alerts"` (`AlertPanel.json()`) and text lines end with `alerts N firing`.
/// With `--source` on PostgreSQL: `"replication_slots":[…]` (`ReplicationSlotReport.json`), `"replication_slots_checked_ms"`
/// and `"replication_slots_error"`.
/// JSON lines always end with the engine's counters and the durable state (see `appendCounters`).
func headlessLine(
    _ s: RunSnapshot, json: Bool, connect: ConnectHealthReport?, alerts: AlertPanel? = nil,
    services: ConnectionBoard? = nil
) -> String {
    if json {
        var text = s.kpis.result.json()
        guard text.hasSuffix("}") else { return text }
        text.removeLast()
        appendLagAndServices(s, services: services, to: &text)
        if let connect {
            text += ",\"connect\":\(connect.json(watchedTopics: ConnectionsView.watchedTopics(s)))"
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
        for (i, d) in s.diagnostics.recentDDL.suffix(recentDDLInJSON).enumerated() {
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
        text += ",\"snapshots\":" + s.kpis.snapshots.json(nowMs: WallClock.nowMs())
        if let slots = s.integrations.replicationSlots {
            text += ",\"replication_slots\":" + slots.json(nowMs: WallClock.nowMs())
            text += ",\"replication_slots_checked_ms\":\(slots.checkedAtMs),\"replication_slots_error\":"
            text += slots.error.map(JSONText.quoted) ?? "null"
        }
        appendCounters(s, to: &text)
        appendOperations(s, to: &text)
        return text + "}"
    }
    let alertsText = alerts.map { $0.firingCount > 0 ? "  alerts \($0.firingCount) firing" : "" } ?? ""
    let failing = services.map(failingServicesText) ?? ""
    guard let connect else { return summaryLine(s) + failing + alertsText }
    let status = connect.status(
        lastHeartbeatMs: s.kpis.lastHeartbeatMs, nowMs: WallClock.nowMs(),
        watchedTopics: ConnectionsView.watchedTopics(s))
    return summaryLine(s) + failing + "  " + status.detail + " [\(status.state.rawValue)]" + alertsText
}

/// Text lines name each failing service besides Kafka (which `summaryLine` shows) and Connect (shown after)
/// with its error: `  redis error (connecting to redis://…: Connection refused)`.
func failingServicesText(_ board: ConnectionBoard) -> String {
    var text = ""
    for e in board.entries where e.name != "kafka" && e.name != "connect" {
        let failing =
            e.status.state == .error || e.status.state == .stalled
            || (e.status.state == .connecting && e.status.error != nil)
        guard failing else { continue }
        text += "  \(e.name) \(e.status.state.rawValue) (\(RunOutcome.oneLine(e.status.error ?? e.status.detail)))"
    }
    return text
}

/// How many schema changes `--json` lists in `recent_ddl` (the newest).
let recentDDLInJSON = 10

/// How many malformed messages `--json` lists in `recent_malformed` (the newest).
let recentMalformedInJSON = 5

/// The counters `KPIResult.json()` does not carry, appended after its fields (which stay as they are:
/// ground-truth comparisons read them): `"late_corrections","duplicates","unmatched","ignored","refused",
/// "tombstones","malformed_by_table":{table:n},"recent_malformed":[{"topic","partition","offset","reason"}],
/// "state":{"dir","last_checkpoint_ms","checkpoints","error","restored","viewer_of_pid"},"profile":{"name","implicit_default","sql_kpis",
/// "applies","key_collisions","placeholder_deletes"},"ts_ms"`.
func appendCounters(_ s: RunSnapshot, to text: inout String) {
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
        ",\"ignored\":\(s.kpis.ignored),\"refused\":\(s.kpis.refused),\"tombstones\":\(s.kpis.tombstones),\"malformed_by_table\":{"
    for (i, t) in s.diagnostics.tables.sorted(by: { $0.table < $1.table }).enumerated() {
        if i > 0 { text += "," }
        JSONText.appendQuoted(t.table, to: &text)
        text += ":\(t.malformed)"
    }
    text += "},\"recent_malformed\":["
    for (i, m) in s.diagnostics.recentMalformed.suffix(recentMalformedInJSON).enumerated() {
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

/// `"lag":{"known","total","committed_total","caught_up","partitions":[…]}` and `"services":{"kafka":{…},…}`
/// (see docs/interfaces.md, "`--json` result"). Without a board (a one-off line) the services come from the snapshot alone.
func appendLagAndServices(_ s: RunSnapshot, services: ConnectionBoard?, to text: inout String) {
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
    var board = services ?? ConnectionBoard()
    if services == nil {
        _ = board.update([ServiceProbe(name: "kafka", target: "", status: s.consumer.kafka)], nowMs: s.takenAtMs)
    }
    text += ",\"services\":" + board.json()
}
