import ArgumentParser
import Foundation
import Metrics
import Pipeline

/// `cdctop attach`: the dashboard, read-only, on what a running `cdctop watch --redis` mirrors.
/// Reads no Kafka; each viewer reads Redis on its own connection, so the writer pays nothing per viewer.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Open the dashboard read-only on what a running cdctop mirrors into Redis (no Kafka needed).",
        discussion: """
            Start the writer with `cdctop watch … --redis URL`; any number of colleagues then run \
            `cdctop attach --redis URL --pipeline P`, each on its own Redis connection (the writer never learns of them).
            The viewer shows the mirrored totals, windows, categories, counters and lag per partition. The title \
            says whose figures they are and how old (`viewer of pid 4242 · 0.4 s ago`); when the writer stops it \
            says `no writer · last write 12 s ago` and the Redis slot turns "stalled".
            Not mirrored, so not shown: recent changes per table, a model profile's KPIs, alerts, latency. \
            `m` (the writer's toggle) does not apply.
            """)

    @OptionGroup var mirror: MirrorSourceOptions

    @Option(help: "Milliseconds between reads of the mirror.")
    var interval: Int = 500

    @Flag(help: "No dashboard: print a summary line (or, with --json, one result object) per read.")
    var headless = false

    @Flag(help: "With --headless: print one JSON result object per line.")
    var json = false

    @Option(help: "With --headless: stop after this many seconds.")
    var seconds: Int?

    @Option(help: "Dashboard theme: dark, light, high-contrast, mono, or a theme file.")
    var theme: String = "dark"

    @Option(name: .customLong("themes-dir"), help: ArgumentHelp("Folder of .theme files.", valueName: "dir"))
    var themesDir: String?

    @Option(help: ArgumentHelp("Append a timestamped log here (service state changes…).", valueName: "file"))
    var log: String?

    func validate() throws {
        if interval < 50 { throw ValidationError("--interval must be at least 50 ms") }
        if json && !headless { throw ValidationError("--json needs --headless (the dashboard is interactive)") }
    }

    func run() throws {
        let url = try mirror.url()
        let keyPrefix = mirror.keyPrefix
        let poller = MirrorPoller(reader: MirrorReader(url: url, prefix: keyPrefix), intervalMs: interval)
        if headless {
            let deadline = seconds.map { Date().addingTimeInterval(TimeInterval($0)) }
            var lastPrinted: UInt64 = 0
            while deadline.map({ Date() < $0 }) ?? true {
                do {
                    let view = try poller.reader.read()
                    let s = view.snapshot()
                    if !view.state.isEmpty, s.sequence != lastPrinted {
                        lastPrinted = s.sequence
                        print(
                            json
                                ? headlessLine(s, json: true, connect: nil)
                                : "\(view.status(nowMs: WallClock.nowMs()).detail) · "
                                    + headlessLine(s, json: false, connect: nil))
                        fflush(nil)
                    }
                } catch {
                    FileHandle.standardError.write(Data("cdctop attach: \(error)\n".utf8))
                }
                Thread.sleep(forTimeInterval: Double(interval) / 1000)
            }
            return
        }
        poller.start()
        defer { poller.stop() }
        var sources = DashboardSources(snapshot: { poller.latest.value?.snapshot })
        sources.title = "attach \(keyPrefix)"
        sources.kafkaTarget = "(read by the writer; this viewer reads \(url))"
        sources.redisStatus = { poller.status(nowMs: WallClock.nowMs()) }
        // The writer and the age of its last write, in the title: seen first, and ticking once a second.
        sources.liveTitle = { poller.title(nowMs: WallClock.nowMs()) }
        try Dashboard.run(
            sources: sources, options: DashboardOptions(themeName: theme, logPath: log, themesDirectory: themesDir))
    }
}

/// Reads the mirror every `intervalMs` on a thread of its own, so the dashboard never waits on Redis.
final class MirrorPoller: Sendable {
    struct Reading: Sendable {
        var view: MirrorView?
        var snapshot: RunSnapshot?
        var error: String?
    }
    let reader: MirrorReader
    let intervalMs: Int
    let latest = Latest<Reading>()
    private let stopped = Latest<Bool>(false)

    init(reader: MirrorReader, intervalMs: Int) {
        self.reader = reader
        self.intervalMs = intervalMs
    }

    func start() {
        let thread = Thread { [self] in
            while self.stopped.value != true {
                let previous = self.latest.value
                do {
                    let view = try self.reader.read()
                    self.latest.publish(
                        Reading(
                            view: view, snapshot: view.state.isEmpty ? previous?.snapshot : view.snapshot(), error: nil)
                    )
                } catch {
                    // Keep the last figures on screen; the status bar says Redis failed.
                    self.latest.publish(Reading(view: previous?.view, snapshot: previous?.snapshot, error: "\(error)"))
                }
                Thread.sleep(forTimeInterval: Double(self.intervalMs) / 1000)
            }
        }
        thread.name = "cdctop-attach"
        thread.start()
    }

    func stop() { stopped.publish(true) }

    func title(nowMs: Int64) -> String {
        guard let view = latest.value?.view else { return "viewer: reading \(reader.prefix)" }
        return view.title(nowMs: nowMs)
    }

    /// The Redis slot of the status bar: the writer and its age, or the read error.
    func status(nowMs: Int64) -> ServiceStatus {
        guard let reading = latest.value else {
            return ServiceStatus(.connecting, "reading \(reader.prefix) at \(reader.url)")
        }
        if let error = reading.error {
            return ServiceStatus(.error, "reading \(reader.url): \(error)", error: error)
        }
        return reading.view?.status(nowMs: nowMs) ?? ServiceStatus(.connecting, "reading \(reader.prefix)")
    }
}
