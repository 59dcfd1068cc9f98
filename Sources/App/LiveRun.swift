import ArgumentParser
import Foundation
import Metrics
import Pipeline

/// Output and integration options shared by `watch` and `demo`.
struct LiveOptions: ParsableArguments {
    @Flag(help: "No dashboard: print a summary line (or, with --json, one result object) per snapshot.")
    var headless = false

    @Flag(help: "With --headless: print one JSON result object per line at each snapshot.")
    var json = false

    @Option(help: "With --headless: milliseconds between printed snapshots.")
    var interval: Int = 1000

    @Option(help: "Dashboard theme: dark, light, high-contrast, mono, or a theme file.")
    var theme: String = "dark"

    @Option(
        name: .customLong("themes-dir"),
        help: ArgumentHelp(
            "Folder of .theme files (default: themes/ next to the executable, else the built-ins).", valueName: "dir"))
    var themesDir: String?

    @Option(
        help: ArgumentHelp(
            "Append a timestamped log here: service state changes, errors verbatim, retries, checkpoints, alerts, malformed messages, schema changes, lag caught up/behind (and librdkafka's own messages while the dashboard runs).",
            valueName: "file"))
    var log: String?

    @Option(
        help:
            "Mirror the KPIs to Redis, e.g. redis://127.0.0.1:6379/0 or redis://USER:@host:6379/0 for an ACL user (toggle with m). Give the password with --redis-password-file or $REDISCLI_AUTH, not in the URL (ps shows the command line)."
    )
    var redis: String?

    @Option(
        name: .customLong("redis-password-file"),
        help: ArgumentHelp(
            "File whose first line is the Redis password (default: $REDISCLI_AUTH, as redis-cli reads it); used when the --redis URL has none.",
            valueName: "file"))
    var redisPasswordFile: String?

    @Option(help: "Redis key prefix (default cdctop:<pipeline>).")
    var redisPrefix: String?

    @Option(
        help:
            "Name of this pipeline in Redis keys, warehouse rows and the default --state directory (default: the profile's name, e.g. shop)."
    )
    var pipeline: String?

    @Option(help: "PostgreSQL warehouse URL: closed windows are written there and History reads it.")
    var warehouse: String?

    @Option(
        help:
            "Source PostgreSQL URL (the OLTP database): running totals are reconciled against it, its logical replication slots are watched (retained WAL, active, idle since), and the row estimates of tables being snapshotted come from it (view 9)."
    )
    var source: String?

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz) from a thread of its own, e.g. 127.0.0.1:9464 (https with --web-config's tls_server_config).",
            valueName: "host:port"))
    var metrics: String?

    @Option(
        name: .customLong("web-config"),
        help: ArgumentHelp(
            "Prometheus exporter web config for --metrics: basic_auth_users with bcrypt hashes, and tls_server_config (cert_file, key_file, client_ca_file, client_auth_type, min_version, max_version) for https; certificate files are reloaded when they change.",
            valueName: "file"))
    var webConfig: String?

    @Option(
        help: ArgumentHelp(
            "Alertmanager base URL (e.g. http://127.0.0.1:9093): firing and resolved alerts are posted to its v2 API; rules and thresholds in the profile's [alerts].",
            valueName: "url"))
    var alertmanager: String?

    @Option(
        name: .customLong("alert-exec"),
        help: ArgumentHelp(
            "Run this shell command once per fired or resolved alert, with the alert as JSON on stdin (at most 4 at a time).",
            valueName: "cmd"))
    var alertExec: String?

    @OptionGroup var alertmanagerHTTP: AlertmanagerHTTPOptions

    func validate() throws {
        if let alertExec, alertExec.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--alert-exec needs a command, e.g. --alert-exec 'cat >> alerts.jsonl'")
        }
        try alertmanagerHTTP.validate(url: alertmanager)
        if json && !headless { throw ValidationError("--json needs --headless (the dashboard is interactive)") }
        if interval < 50 { throw ValidationError("--interval must be at least 50 ms") }
        if let metrics { do { _ = try MetricsServer.parse(metrics) } catch { throw ValidationError("\(error)") } }
        if let webConfig {
            guard metrics != nil else { throw ValidationError("--web-config needs --metrics HOST:PORT") }
            do { _ = try MetricsWebConfig.load(path: webConfig) } catch { throw ValidationError("\(error)") }
        }
    }
}

/// Redis mirror, warehouse sink, history and reconciliation: whatever the options turn on.
final class Integrations: Sendable {
    let mirror: RedisMirror?
    let sink: WarehouseSink?
    let history: HistoryLoader?
    let reconciler: Reconciler?
    /// The source's logical replication slots, read every few seconds (`--source` on PostgreSQL).
    let slots: ReplicationSlotMonitor?
    /// Row estimates of the tables being snapshotted, read from the source while a snapshot runs (`--source`).
    let snapshotEstimates: SnapshotEstimateMonitor?
    let sourceURL: String?
    let warehouseURL: String?
    /// The name alerts, Redis keys and warehouse rows carry.
    let pipeline: String
    /// `--schema-registry` (watch): shown among the services.
    let schemaRegistry: SchemaRegistryClient?

    /// With durable state the warehouse is fed from checkpoints (`offerDurable`), never from live
    /// snapshots: a crash then never leaves a window in the warehouse that the state lost.
    let sinkFromCheckpoints: Bool

    /// `defaultPipeline` replaces the profile's name when `--pipeline` is not given; `synthetic` marks the
    /// warehouse rows as generated (demo), so they never pass for real data.
    /// `viewer`: a read-only viewer of another cdctop's state (`watch` on a busy directory): History still
    /// reads the warehouse, but nothing is written to it (the writer does).
    init(
        options: LiveOptions, profile: KPIProfile, sinkFromCheckpoints: Bool = false, defaultPipeline: String? = nil,
        synthetic: Bool = false, viewer: Bool = false, schemaRegistry: SchemaRegistryClient? = nil
    ) throws {
        self.sinkFromCheckpoints = sinkFromCheckpoints
        self.schemaRegistry = schemaRegistry
        let pipeline = options.pipeline ?? defaultPipeline ?? profile.name
        self.pipeline = pipeline
        if let url = options.redis {
            let parsed = try RedisURL(parsing: url).resolvingPassword(
                file: options.redisPasswordFile,
                environment: ProcessInfo.processInfo.environment)
            mirror = RedisMirror(
                url: parsed, prefix: options.redisPrefix ?? "cdctop:\(pipeline)",
                pipelineName: pipeline, profileName: profile.name)
        } else {
            mirror = nil
        }
        if let url = options.warehouse {
            sink = viewer ? nil : WarehouseSink(url: url, pipeline: pipeline, synthetic: synthetic)
            let query =
                profile.historySQL.map { HistoryQuery(sql: $0, categorySQL: profile.historyCategorySQL) } ?? .default
            history = HistoryLoader(url: url, pipeline: pipeline, query: query)
        } else {
            sink = nil
            history = nil
        }
        sourceURL = options.source
        warehouseURL = options.warehouse
        if let url = options.source {
            // Every KPI of a model profile, or the shop form's sale totals and category sales.
            reconciler = Reconciler(sourceURL: url, profile: profile)
        } else {
            reconciler = nil
        }
        if let url = options.source, !url.lowercased().hasPrefix("mysql") {
            slots = ReplicationSlotMonitor(sourceURL: url, target: redactedURL(url))
        } else {
            slots = nil
        }
        snapshotEstimates = options.source.map { SnapshotEstimateMonitor(sourceURL: $0) }
    }

    func start() {
        mirror?.start()
        sink?.start()
        history?.start()
        reconciler?.start()
        slots?.start()
        snapshotEstimates?.start()
    }

    func offer(_ s: KPISnapshot) {
        mirror?.offer(s)
        reconciler?.offer(s)
        if !sinkFromCheckpoints { sink?.offer(s) }
    }

    /// A snapshot whose state a checkpoint made durable.
    func offerDurable(_ s: KPISnapshot?) {
        if sinkFromCheckpoints, let s { sink?.offer(s) }
    }

    func stop() {
        mirror?.stop()
        sink?.stop()
        history?.stop()
        reconciler?.stop()
        slots?.stop()
        snapshotEstimates?.stop()
    }

    /// The configured services besides Kafka, as the Connections panel, `--log` and `--json` show them.
    func probes(connect: ConnectHealthMonitor?, lastHeartbeatMs: Int64, watchedTopics: [String] = []) -> [ServiceProbe]
    {
        var out: [ServiceProbe] = []
        if let mirror { out.append(ServiceProbe(name: "redis", target: "\(mirror.url)", status: mirror.status)) }
        if let sink {
            out.append(ServiceProbe(name: "warehouse", target: redactedURL(warehouseURL ?? ""), status: sink.status))
        }
        if let reconciler, let url = sourceURL {
            out.append(ServiceProbe(name: "source", target: redactedURL(url), status: reconciler.status))
        }
        if let slots { out.append(ServiceProbe(name: "replication_slots", target: slots.target, status: slots.status)) }
        if let schemaRegistry {
            out.append(
                ServiceProbe(name: "schema_registry", target: schemaRegistry.target, status: schemaRegistry.status))
        }
        if let connect {
            let report = connect.report
            out.append(
                ServiceProbe(
                    name: "connect", target: report.url,
                    status: report.status(
                        lastHeartbeatMs: lastHeartbeatMs, nowMs: WallClock.nowMs(), watchedTopics: watchedTopics)))
        }
        return out
    }
}

/// A URL without its password (`postgres://u:secret@h/db` → `postgres://u:***@h/db`), for screens and logs.
func redactedURL(_ url: String) -> String {
    // Also `?password=…` and libpq's `password=…` keyword form.
    PostgresConnection.redactedConnectionString(url)
}

/// Feeds the board Kafka's and the other services' state, and logs each change it reports.
func logServiceChanges(
    _ board: inout ConnectionBoard, _ log: RunLog, kafkaTarget: String, snapshot: KPISnapshot?,
    integrations: Integrations, connect: ConnectHealthMonitor?, nowMs: Int64 = WallClock.nowMs()
) {
    let probes =
        [ServiceProbe(name: "kafka", target: kafkaTarget, status: snapshot?.kafka ?? ServiceStatus(.connecting))]
        + integrations.probes(
            connect: connect, lastHeartbeatMs: snapshot?.lastHeartbeatMs ?? 0,
            watchedTopics: ConnectionsView.watchedTopics(snapshot))
    for line in board.update(probes, nowMs: nowMs) { log.write(line, nowMs: nowMs) }
}

/// Runs a started engine until quit: the dashboard, or headless output.
/// `joining`: what to print instead of a line of zeros while the consumer has not joined its group yet
/// (e.g. "still joining the mock cluster…"); in `--json` mode it goes to stderr and no JSON line is printed.
func runLive(
    _ operations: Operations, options: LiveOptions, title: String,
    seconds: Int?, joining: String? = nil
) throws {
    let engine = operations.engine
    let integrations = operations.integrations
    let connect = operations.connect
    let log = try RunLog(path: options.log)
    let kafkaTarget = engine.options.consumer.brokers
    let alerts = try startAlerts(operations, options: options)
    defer { alerts?.stop() }
    if options.headless {
        log.write("start: headless\(options.json ? " --json" : "") \(title)")
        var board = ConnectionBoard()
        var events = SnapshotEventLog()
        var alertLog = AlertLog()
        let interrupted = InterruptFlag()
        let started = Date()
        let deadline = seconds.map { Date().addingTimeInterval(TimeInterval($0)) }
        var lastPrinted: UInt64 = 0
        var nextPrint = Date()
        while true {
            let done = interrupted.isRaised || (deadline.map { Date() >= $0 } ?? false) || engine.error != nil
            let snap = operations.snapshot()
            let nowMs = WallClock.nowMs()
            logServiceChanges(
                &board, log, kafkaTarget: kafkaTarget, snapshot: snap, integrations: integrations, connect: connect,
                nowMs: nowMs)
            if let s = snap, Date() >= nextPrint || done, s.sequence != lastPrinted {
                lastPrinted = s.sequence
                nextPrint = Date().addingTimeInterval(Double(options.interval) / 1000)
                for line in events.lines(s) + alertLog.lines(alerts?.panel.value) { log.write(line, nowMs: nowMs) }
                if let joining, stillJoining(s) {
                    let kafka = board.entry("kafka")
                    var note =
                        "\(joining) (\(TimeText.duration(ms: Int64(Date().timeIntervalSince(started) * 1000))) so far"
                    if let kafka, kafka.attempts > 0 { note += ", attempt \(kafka.attempts)" }
                    note += ", \(s.kafka.detail))"
                    if let error = kafka?.lastError, error != s.kafka.detail { note += ", last error: \(error)" }
                    // JSON lines keep coming (services.kafka.state says "connecting"); the note goes to stderr.
                    if options.json {
                        printError(note)
                        print(
                            headlessLine(
                                s, json: true, connect: connect?.report, alerts: alerts?.panel.value, services: board))
                    } else {
                        print(note)
                    }
                } else {
                    print(
                        headlessLine(
                            s, json: options.json, connect: connect?.report, alerts: alerts?.panel.value,
                            services: board))
                }
                fflush(nil)
            }
            if done { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        if let e = engine.error {
            log.write("stopped: \(e)")
            throw e
        }
        log.write("quit")
        return
    }
    let integ = integrations
    var sources = DashboardSources(snapshot: { operations.snapshot() })
    sources.title = title
    sources.kafkaTarget = kafkaTarget
    sources.lagThresholds = engine.options.profile.lag
    sources.services = {
        let s = engine.snapshots.value
        return integ.probes(
            connect: connect, lastHeartbeatMs: s?.lastHeartbeatMs ?? 0, watchedTopics: ConnectionsView.watchedTopics(s))
    }
    if let mirror = integ.mirror {
        sources.redisStatus = { mirror.status }
        sources.toggleRedis = { mirror.togglePaused() }
    }
    if let sink = integ.sink { sources.warehouseStatus = { sink.status } }
    if let history = integ.history {
        sources.history = { history.history }
        sources.reloadHistory = { history.reload() }
    }
    if let reconciler = integ.reconciler { sources.reconciliation = { reconciler.reconciliation } }
    if let connect { sources.connectHealth = { connect.report } }
    if let alerts {
        sources.alerts = { alerts.panel.value ?? AlertPanel() }
        if let delivery = alerts.alertmanager { sources.alertDelivery = { delivery.status } }
    }
    let profileScale = engine.options.profile.defaultDecimalScale
    sources.describeChange = { ChangeDescription.decode(value: $0, defaultDecimalScale: profileScale) }
    // Subjects/versions of Avro schema ids for the raw view: asked in the background, only when shown.
    let schemaDetails = integ.schemaRegistry.map { SchemaDetailsLookup(registry: $0) }
    defer { schemaDetails?.stop() }
    if let schemaDetails { sources.schemaDetails = { schemaDetails.details(id: $0, askSubjects: $1) } }
    try Dashboard.run(
        sources: sources,
        options: DashboardOptions(
            themeName: options.theme, logPath: options.log,
            themesDirectory: options.themesDir))
}

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
    _ s: KPISnapshot, json: Bool, connect: ConnectHealthReport?, alerts: AlertPanel? = nil,
    services: ConnectionBoard? = nil
) -> String {
    if json {
        var text = s.result.json()
        guard text.hasSuffix("}") else { return text }
        text.removeLast()
        appendLagAndServices(s, services: services, to: &text)
        if let connect {
            text += ",\"connect\":\(connect.json(watchedTopics: ConnectionsView.watchedTopics(s)))"
            if let error = connect.pollError { text += ",\"connect_error\":\(JSONText.quoted(error))" }
            text += ",\"heartbeats\":\(s.heartbeats),\"last_heartbeat_ms\":\(s.lastHeartbeatMs)"
        }
        // Schema changes (DDL on Debezium's schema-change topic): per table, and the latest few.
        text += ",\"schema_changes\":{"
        for (i, table) in s.schemaChanges.keys.sorted().enumerated() {
            if i > 0 { text += "," }
            JSONText.appendQuoted(table, to: &text)
            text += ":\(s.schemaChanges[table]!)"
        }
        text += "},\"recent_ddl\":["
        for (i, d) in s.recentDDL.suffix(recentDDLInJSON).enumerated() {
            if i > 0 { text += "," }
            text += "{\"table\":"
            JSONText.appendQuoted(d.table, to: &text)
            text += ",\"db\":"
            JSONText.appendQuoted(d.database, to: &text)
            text += ",\"ddl\":"
            JSONText.appendQuoted(d.ddl, to: &text)
            text += ",\"ts_ms\":\(d.commitTimeMs)}"
        }
        text += "],\"snapshot_ddl\":\(s.snapshotDDL)"
        if let alerts { text += ",\"alerts\":" + alerts.json() }
        text += ",\"snapshots\":" + s.snapshots.json(nowMs: WallClock.nowMs())
        if let slots = s.replicationSlots {
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
        lastHeartbeatMs: s.lastHeartbeatMs, nowMs: WallClock.nowMs(), watchedTopics: ConnectionsView.watchedTopics(s))
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
func appendCounters(_ s: KPISnapshot, to text: inout String) {
    text += ",\"late_corrections\":\(s.lateCorrections),\"duplicates\":\(s.duplicates),\"unmatched\":\(s.unmatched)"
    // Issue 22: the watermark (heartbeats move it on a quiet source), the commit the pipeline is idle since
    // (null while the newest window can change), and a startup backlog (null once read to the end).
    text +=
        ",\"watermark_ms\":\(s.watermarkMs),\"idle_since_ms\":\(s.idleSinceMs.map(String.init) ?? "null"),\"backlog\":"
    text +=
        s.backlog.map {
            "{\"partitions\":\($0.partitions),\"messages\":\($0.messages),\"oldest_ms\":\($0.reachedMs),\"events_read\":\($0.eventsRead)}"
        } ?? "null"
    text += ",\"ignored\":\(s.ignored),\"refused\":\(s.refused),\"tombstones\":\(s.tombstones),\"malformed_by_table\":{"
    for (i, t) in s.tables.sorted(by: { $0.table < $1.table }).enumerated() {
        if i > 0 { text += "," }
        JSONText.appendQuoted(t.table, to: &text)
        text += ":\(t.malformed)"
    }
    text += "},\"recent_malformed\":["
    for (i, m) in s.recentMalformed.suffix(recentMalformedInJSON).enumerated() {
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
    let p = s.profile
    text +=
        ",\"profile\":{\"name\":\(JSONText.quoted(p.name)),\"implicit_default\":\(p.isImplicitDefault),\"sql_kpis\":\(p.isModel)"
    text +=
        ",\"applies\":\(!p.noProfileForTopics),\"key_collisions\":\(p.keyCollisions),\"placeholder_deletes\":\(p.placeholderDeletes)}"
    // `--transactions complete` only (see TransactionStatus.json).
    if let t = s.transactions { text += ",\"transactions\":" + t.json() }
    text += ",\"ts_ms\":\(s.takenAtMs)"
}

/// `"lag":{"known","total","committed_total","caught_up","partitions":[…]}` and `"services":{"kafka":{…},…}`
/// (see docs/interfaces.md, "`--json` result"). Without a board (a one-off line) the services come from the snapshot alone.
func appendLagAndServices(_ s: KPISnapshot, services: ConnectionBoard?, to text: inout String) {
    let known = s.lagKnown
    let committedTotal = s.totalCommittedLag
    text += ",\"lag\":{\"known\":\(known),\"total\":\(known ? String(s.totalLag) : "null")"
    text += ",\"committed_total\":\(known ? String(committedTotal) : "null")"
    text += ",\"caught_up\":\(known && s.lagCaughtUp),\"partitions\":["
    for (i, p) in s.partitions.enumerated() {
        if i > 0 { text += "," }
        text += "{\"topic\":"
        JSONText.appendQuoted(p.topic, to: &text)
        text += ",\"partition\":\(p.partition),\"position\":\(p.position),\"committed\":\(p.committed)"
        text +=
            ",\"log_start\":\(p.logStart),\"high_watermark\":\(p.highWatermark),\"lag\":\(p.lag),\"committed_lag\":\(p.committedLag)}"
    }
    text += "],\"offsets_backwards\":" + s.offsetRegressions.json() + "}"
    var board = services ?? ConnectionBoard()
    if services == nil {
        _ = board.update([ServiceProbe(name: "kafka", target: "", status: s.kafka)], nowMs: s.takenAtMs)
    }
    text += ",\"services\":" + board.json()
}

/// True while the consumer has no partition and has read nothing: a line of zeros would look like data.
func stillJoining(_ s: KPISnapshot) -> Bool {
    // Assigned but no end offset known yet is still joining too: the first fetch has not answered.
    s.result.messages == 0 && s.kafka.state != .error
        && (s.partitions.isEmpty || s.partitions.allSatisfy { $0.highWatermark < 0 })
}
