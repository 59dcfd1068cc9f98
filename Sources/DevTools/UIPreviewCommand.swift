import App
import ArgumentParser
import DevSupport
import Metrics
import Pipeline
import Synchronization

/// `cdctop-dev ui-preview`: the dashboard on synthetic, animated snapshots, to look at the UI without Kafka.
struct UIPreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui-preview",
        abstract: "Show the dashboard on synthetic data (for developing the UI).")

    @Option(help: "Colour theme: a file name in themes/ without .theme (dark, light, high-contrast, mono).")
    var theme = "dark"

    @Option(help: "Write logs (and anything printed to stderr) to this file while the dashboard runs.")
    var log: String?

    @Option(help: "Folder of .theme files.")
    var themesDir: String?

    @Option(help: "Synthetic events per second.")
    var rate = 2_000

    @Flag(help: "Show a fake warehouse with 14 days of history and a reconciliation.")
    var warehouse = false

    @Option(
        help:
            "Which profile the synthetic data has: shop (the implicit default, fitting the topics), northwind (KPIs written as SQL, view 8), unknown (the default meeting tables it does not know)."
    )
    var profile: PreviewData.Variant = .shop

    func run() throws {
        let latest = Latest<RunSnapshot>()
        let mirrorOn = Atomic<Bool>(true)
        let stop = Atomic<Bool>(false)
        let rate = self.rate
        let startMs = WallClock.nowMs()
        let variant = profile
        latest.publish(PreviewData.snapshot(atMs: startMs, startMs: startMs, rate: rate, sequence: 1, variant: variant))
        let producer = Task.detached {
            var sequence: UInt64 = 1
            while !stop.load(ordering: .relaxed) {
                try? await Task.sleep(for: .milliseconds(250))
                sequence += 1
                latest.publish(
                    PreviewData.snapshot(
                        atMs: WallClock.nowMs(), startMs: startMs, rate: rate, sequence: sequence, variant: variant))
            }
        }
        defer {
            stop.store(true, ordering: .relaxed)
            producer.cancel()
        }
        var sources = DashboardSources(snapshot: { latest.value })
        sources.title = "ui-preview (synthetic data)"
        sources.redisStatus = {
            mirrorOn.load(ordering: .relaxed)
                ? ServiceStatus(.ok, "127.0.0.1:6379") : ServiceStatus(.paused, "toggled off")
        }
        sources.toggleRedis = { _ = mirrorOn.logicalXor(true, ordering: .relaxed) }
        if warehouse {
            sources.warehouseStatus = { ServiceStatus(.ok, "postgresql://127.0.0.1/cdctop") }
            sources.history = { PreviewData.history(nowMs: startMs) }
            sources.reconciliation = { PreviewData.reconciliation(latest.value, nowMs: startMs) }
            sources.reloadHistory = {}
        }
        try Dashboard.run(
            sources: sources, options: DashboardOptions(themeName: theme, logPath: log, themesDirectory: themesDir))
    }
}

extension PreviewData.Variant: ExpressibleByArgument {}
