import Foundation
import Metrics
import Pipeline

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

    func offer(_ s: RunSnapshot) {
        mirror?.offer(s)
        reconciler?.offer(s)
        if !sinkFromCheckpoints { sink?.offer(s) }
    }

    /// A snapshot whose state a checkpoint made durable.
    func offerDurable(_ s: RunSnapshot?) {
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
    _ board: inout ConnectionBoard, _ log: RunLog, kafkaTarget: String, snapshot: RunSnapshot?,
    integrations: Integrations, connect: ConnectHealthMonitor?, nowMs: Int64 = WallClock.nowMs()
) {
    let probes =
        [
            ServiceProbe(
                name: "kafka", target: kafkaTarget, status: snapshot?.consumer.kafka ?? ServiceStatus(.connecting))
        ]
        + integrations.probes(
            connect: connect, lastHeartbeatMs: snapshot?.kpis.lastHeartbeatMs ?? 0,
            watchedTopics: snapshot?.consumer.topics ?? [])
    for line in board.update(probes, nowMs: nowMs) { log.write(line, nowMs: nowMs) }
}
