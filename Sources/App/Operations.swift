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

    /// The engine's latest snapshot with the other groups' lag filled in.
    func snapshot() -> KPISnapshot? {
        guard var s = engine.snapshots.value else { return nil }
        if let groupLag { s.groupLag = groupLag.report }
        if let slots = integrations.slots { s.replicationSlots = slots.report }
        return s
    }

    /// Rendered on the metrics thread from copies: the engine's mailbox and each integration's status are
    /// read under their own short locks, none of which the engine holds while it works.
    func renderMetrics() -> String {
        let ops = OpsReport(connect: connect?.report, reconciliation: integrations.reconciler?.reconciliation,
                            redis: integrations.mirror?.status, warehouse: integrations.sink?.status,
                            schemaRegistry: integrations.schemaRegistry?.metrics)
        return PrometheusExposition.render(snapshot(), ops: ops, nowMs: WallClock.nowMs())
    }

    /// `/healthz`: 200 while the engine runs without a fatal error.
    func health() -> (ok: Bool, detail: String) {
        if let e = engine.error { return (false, "engine stopped: \(e)") }
        guard let s = engine.snapshots.value else { return (false, "starting: no snapshot yet") }
        return (true, "ok: kafka \(s.kafka.state.rawValue), \(s.result.messages) messages")
    }

    /// Binds `--metrics` (a taken port is an error here, before the dashboard starts) and serves it.
    func startMetricsServer(_ address: String?) throws -> MetricsServer? {
        guard let address else { return nil }
        let server: MetricsServer
        do {
            server = try MetricsServer(address: address, render: { self.renderMetrics() }, healthy: { self.health() })
        } catch { throw RunError("\(error)") }
        server.start()
        return server
    }
}

/// `"latency":{table:{hop:{"p50_ms","p99_ms","count","negative"}}}` and, with `--lag-groups`,
/// `"lag_groups":[…]` (see `GroupLagReport.json()`), appended to headless JSON lines.
func appendOperations(_ s: KPISnapshot, to text: inout String) {
    text += ",\"latency\":{"
    for (i, t) in s.latency.enumerated() {
        if i > 0 { text += "," }
        JSONText.appendQuoted(t.table, to: &text)
        text += ":{"
        for (j, hop) in LatencyHop.allCases.enumerated() {
            if j > 0 { text += "," }
            let h = t.hop(hop)
            text += "\"\(hop.label)\":{\"p50_ms\":\(h.p50Ms),\"p99_ms\":\(h.p99Ms),\"count\":\(h.count),\"negative\":\(h.negative)}"
        }
        text += "}"
    }
    text += "}"
    if let g = s.groupLag { text += ",\"lag_groups\":" + g.json() + ",\"lag_groups_unwatched\":\(g.unwatchedGroups)" }
}

/// `bench --metrics`: serves `/metrics` from an engine's snapshots and scrapes it every second from
/// a thread of its own, like a Prometheus would, timing each scrape (render + HTTP on loopback).
final class MetricsScrapeLoad: @unchecked Sendable {
    let server: MetricsServer
    private let lock = NSLock()
    private var stopped = false
    private var times: [Double] = []
    private var bytes = 0
    private let done = DispatchSemaphore(value: 0)

    init(address: String, snapshots: Latest<KPISnapshot>) throws {
        do {
            server = try MetricsServer(address: address, render: {
                PrometheusExposition.render(snapshots.value, ops: OpsReport(), nowMs: WallClock.nowMs())
            })
        } catch { throw RunError("\(error)") }
    }

    func start() {
        server.start()
        let scrape = CurlHTTP.Request(url: "http://127.0.0.1:\(server.port)/metrics")
        let thread = Thread { [self] in
            while !lock.withLock({ stopped }) {
                let t0 = Date()
                if let r = try? CurlHTTP.perform(scrape) {
                    let took = Date().timeIntervalSince(t0)
                    lock.withLock { times.append(took); bytes = r.body.count }
                }
                Thread.sleep(forTimeInterval: max(0, 1 - Date().timeIntervalSince(t0)))
            }
            done.signal()
        }
        thread.name = "cdctop-bench-scraper"
        thread.start()
    }

    /// Stops scraping and serving; returns "N scrapes, median X ms, max Y ms, Z KB each".
    func stop() -> String {
        lock.withLock { stopped = true }
        done.wait()
        server.stop()
        let sorted = lock.withLock { times.sorted() }
        guard !sorted.isEmpty else { return "no scrape completed" }
        return String(format: "%d scrapes of /metrics (1/s), median %.2f ms, max %.2f ms, %.1f KB each",
                      sorted.count, sorted[sorted.count / 2] * 1000, sorted.last! * 1000, Double(lock.withLock { bytes }) / 1024)
    }
}
