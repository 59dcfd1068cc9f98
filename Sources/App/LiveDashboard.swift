import Foundation
import Metrics
import Pipeline

/// The dashboard run: wires the engine, the integrations, Connect health and the alerts into the
/// dashboard's sources (closures it calls from the main thread) and runs it until quit.
func runDashboard(_ operations: Operations, options: LiveOptions, title: String, alerts: AlertMonitor?) throws {
    let engine = operations.engine
    let connect = operations.connect
    let kafkaTarget = engine.options.consumer.brokers
    let integ = operations.integrations
    var sources = DashboardSources(snapshot: { operations.snapshot() })
    sources.title = title
    sources.kafkaTarget = kafkaTarget
    sources.lagThresholds = engine.options.profile.lag
    sources.services = {
        let s = engine.snapshots.value
        return integ.probes(
            connect: connect, lastHeartbeatMs: s?.kpis.lastHeartbeatMs ?? 0,
            watchedTopics: s?.consumer.topics ?? [])
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
