import Foundation
import Metrics
import Pipeline

/// Operations (issue #12): the Prometheus endpoint, other groups' lag, the latency split.
/// What the engine does not publish itself (other groups' lag) is added to each snapshot here.
struct Operations: Sendable {
    let engine: Engine
    let integrations: Integrations
    let connect: ConnectHealthMonitor?
    let groupLag: GroupLagMonitor?

    /// The join at the edge: the engine's latest snapshot (its KPIs, its consumer's progress, its state
    /// store's status, its diagnostics) with what the app's integrations observe beside it, and the source's
    /// row estimates applied to the engine's snapshot progress.
    func snapshot() -> RunSnapshot? {
        guard var s = engine.snapshots.value else { return nil }
        s.integrations = IntegrationReports(groupLag: groupLag?.report, replicationSlots: integrations.slots?.report)
        // A viewer's own group never commits: every output shows the writer's group's committed offsets.
        if let writer = s.state.writerGroup {
            s.consumer.adoptCommitted(ofGroup: writer, from: s.integrations.groupLag)
        }
        if let estimates = integrations.snapshotEstimates {
            estimates.want(s.kpis.snapshots.tablesWanted)
            s.kpis.snapshots.applyEstimates(estimates.estimates.mapValues { ($0.rows, $0.source) })
        }
        return s
    }

    /// Rendered on the metrics thread from copies: the engine's mailbox and each integration's status are
    /// read under their own short locks, none of which the engine holds while it works.
    func renderMetrics() -> String {
        let ops = OpsReport(
            connect: connect?.report, reconciliation: integrations.reconciler?.reconciliation,
            redis: integrations.mirror?.status, warehouse: integrations.sink?.status,
            schemaRegistry: integrations.schemaRegistry?.metrics)
        return PrometheusExposition.render(snapshot(), ops: ops, nowMs: WallClock.nowMs())
    }

    /// `/healthz`: 200 while the engine runs without a fatal error.
    func health() -> (ok: Bool, detail: String) {
        if let e = engine.error { return (false, "engine stopped: \(e)") }
        guard let s = engine.snapshots.value else { return (false, "starting: no snapshot yet") }
        return (true, "ok: kafka \(s.consumer.kafka.state.rawValue), \(s.kpis.result.messages) messages")
    }

    /// Binds `--metrics` (a taken port is an error here, before the dashboard starts) and serves it.
    func startMetricsServer(_ address: String?, webConfig: String? = nil) throws -> MetricsServer? {
        guard let address else { return nil }
        let server: MetricsServer
        do {
            let web = try webConfig.map { path throws(MetricsServerError) in try MetricsWebConfig.load(path: path) }
            server = try MetricsServer(
                address: address, render: { self.renderMetrics() }, healthy: { self.health() }, webConfig: web)
        } catch { throw RunError("\(error)") }
        server.start()
        return server
    }
}
