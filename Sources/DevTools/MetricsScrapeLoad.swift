import App
import Foundation
import Metrics
import Pipeline
import Synchronization

/// `bench --metrics`: serves `/metrics` from an engine's snapshots and scrapes it every second from
/// a thread of its own, like a Prometheus would, timing each scrape (render + HTTP on loopback).
final class MetricsScrapeLoad: Sendable {
    let server: MetricsServer
    private let scrapes = Mutex<(stopped: Bool, times: [Double], bytes: Int)>((false, [], 0))
    private let done = DispatchSemaphore(value: 0)

    init(address: String, snapshots: Latest<RunSnapshot>) throws {
        do {
            server = try MetricsServer(
                address: address,
                render: {
                    PrometheusExposition.render(snapshots.value, ops: OpsReport(), nowMs: WallClock.nowMs())
                })
        } catch { throw RunError("\(error)") }
    }

    func start() {
        server.start()
        let scrape = CurlHTTP.Request(url: "http://127.0.0.1:\(server.port)/metrics")
        let thread = Thread { [self] in
            while !scrapes.withLock({ $0.stopped }) {
                let t0 = Date()
                if let r = try? CurlHTTP.perform(scrape) {
                    let took = Date().timeIntervalSince(t0)
                    let bytes = r.body.count
                    scrapes.withLock {
                        $0.times.append(took)
                        $0.bytes = bytes
                    }
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
        scrapes.withLock { $0.stopped = true }
        done.wait()
        server.stop()
        let (sorted, bytes) = scrapes.withLock { ($0.times.sorted(), $0.bytes) }
        guard !sorted.isEmpty else { return "no scrape completed" }
        return String(
            format: "%d scrapes of /metrics (1/s), median %.2f ms, max %.2f ms, %.1f KB each",
            sorted.count, sorted[sorted.count / 2] * 1000, sorted.last! * 1000, Double(bytes) / 1024)
    }
}
