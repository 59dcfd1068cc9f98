import CNcursesw
import Metrics
import Pipeline
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What the dashboard reads. Every closure is called on the dashboard's (main) thread a few times a second
/// and must return at once (read a `Latest<T>`, never do I/O).
package struct DashboardSources: Sendable {
    /// Latest engine snapshot (coalesced); redraws happen when its `sequence` changes.
    var snapshot: @Sendable () -> RunSnapshot?
    package var redisStatus: @Sendable () -> ServiceStatus = { .off }
    /// `m` calls this; nil shows the mirror as "off" and `m` explains it is not available.
    package var toggleRedis: (@Sendable () -> Void)? = nil
    package var warehouseStatus: @Sendable () -> ServiceStatus = { .off }
    package var history: @Sendable () -> HistoryData? = { nil }
    /// `r` in History calls this.
    package var reloadHistory: (@Sendable () -> Void)? = nil
    package var reconciliation: @Sendable () -> Reconciliation? = { nil }
    /// Kafka Connect health (`--connect URL`); nil hides the Connect status and panel.
    var connectHealth: (@Sendable () -> ConnectHealthReport)? = nil
    /// Schemas and subjects of Avro messages for the drill-down (`SchemaDetailsLookup.details`: never waits).
    var schemaDetails: @Sendable (_ id: Int32, _ askSubjects: Bool) -> SchemaDetails = RawMessageView.noRegistry
    /// The Alerts panel (pending, firing, resolved); nil when the alert rules are off.
    var alerts: (@Sendable () -> AlertPanel)? = nil
    /// `--alertmanager` delivery state; nil without it.
    var alertDelivery: (@Sendable () -> ServiceStatus)? = nil
    /// Shown in the title bar, e.g. "demo (mock cluster)" or the broker list.
    package var title: String = "cdctop"
    /// A title that changes while running (`cdctop attach`: the writer and its age); nil uses `title`.
    var liveTitle: (@Sendable () -> String)? = nil
    /// What Kafka is reached at (the broker list), for the Connections panel and the connecting screen.
    var kafkaTarget: String = ""
    /// The other configured services (Redis, warehouse, source, Connect), for the Connections panel and `--log`.
    var services: @Sendable () -> [ServiceProbe] = { [] }
    /// When the Lag view says LAGGING (the profile's `[lag]`).
    var lagThresholds = LagThresholds()

    package init(snapshot: @escaping @Sendable () -> RunSnapshot?) { self.snapshot = snapshot }
}

package struct DashboardOptions: Sendable {
    /// Theme file name without `.theme` (dark, light, high-contrast, mono, or one of yours).
    var themeName: String = "dark"
    /// Where stderr goes while the dashboard runs (librdkafka logs…); nil discards it.
    var logPath: String?
    /// Folder of `.theme` files; nil looks for `themes/` up from the executable, then uses built-ins.
    var themesDirectory: String?

    package init(themeName: String = "dark", logPath: String? = nil, themesDirectory: String? = nil) {
        self.themeName = themeName
        self.logPath = logPath
        self.themesDirectory = themesDirectory
    }
}

/// Set by SIGINT/SIGTERM; the loop sees it within one input timeout and leaves through the normal path.
private let quitSignalCount = Atomic<Int>(0)

private func onQuitSignal(_ signal: Int32) {
    let (_, count) = quitSignalCount.add(1, ordering: .relaxed)
    if count > 1 {
        // A second signal while the loop is stuck: restore the terminal and die the default way.
        endwin()
        Glibc.signal(signal, SIG_DFL)
        raise(signal)
    }
}

package enum Dashboard {
    /// Runs the dashboard on the calling (main) thread until the user quits (q, Ctrl-C, SIGTERM).
    /// Throws before touching the screen for an unknown or broken theme, an unusable terminal or log path.
    package static func run(sources: DashboardSources, options: DashboardOptions) throws {
        let library = ThemeLibrary(directory: options.themesDirectory)
        let noColor = (getenv("NO_COLOR").map { String(cString: $0) } ?? "").isEmpty == false
        let themeNames = library.names
        var theme = try library.load(options.themeName)
        let mono = try library.load("mono")

        let redirect = try StderrRedirect(logPath: options.logPath)
        let terminal = try CursesTerminal(colorsAllowed: !noColor)
        defer { terminal.close() }
        quitSignalCount.store(0, ordering: .relaxed)
        cdctop_install_crash_handlers()
        cdctop_install_quit_handler { onQuitSignal($0) }
        defer {
            cdctop_restore_quit_handler()
            cdctop_restore_crash_handlers()
        }
        let term = getenv("TERM").map { String(cString: $0) } ?? "(unset)"
        redirect.log(
            "start: TERM=\(term) colours=\(terminal.colors) utf8=\(terminal.isUTF8) theme=\(theme.name) NO_COLOR=\(noColor)",
            nowMs: WallClock.nowMs())
        terminal.apply(terminal.colors >= 8 ? theme : mono)

        // NO_COLOR (or a terminal without colours) draws with the mono look: the tab bar says so.
        let shownTheme = noColor ? "none (NO_COLOR)" : terminal.colors < 8 ? "mono" : theme.name
        var loop = DashboardLoop(sources: sources, glyphs: terminal.isUTF8 ? .unicode : .ascii, themeName: shownTheme)
        func flushLog() {
            guard !loop.pendingLog.isEmpty else { return }
            let now = WallClock.nowMs()
            for line in loop.pendingLog { redirect.log(line, nowMs: now) }
            loop.pendingLog.removeAll()
        }
        while quitSignalCount.load(ordering: .relaxed) == 0 {
            var action = DashboardAction.none
            // Wait for a key at most 100 ms, then drain whatever else is queued without waiting.
            var key = terminal.readKey(timeoutMs: 100)
            while let k = key {
                if k == .resize { terminal.invalidate() }
                action = loop.handle(k, nowMs: WallClock.nowMs())
                if action == .quit { break }
                // The next queued key (Enter after 2) must see the list this key brought up.
                let (width, height) = terminal.size
                loop.model.adopt(loop.render(nowMs: WallClock.nowMs(), width: width, height: height).1)
                if action == .cycleTheme {
                    redirect.log(
                        "key t: cycling theme from \(theme.name) (colours \(terminal.colors), NO_COLOR \(noColor))",
                        nowMs: WallClock.nowMs())
                    if noColor || terminal.colors < 8 {
                        loop.model.flash(
                            noColor ? "NO_COLOR is set: colours stay off" : "this terminal has no colours",
                            nowMs: WallClock.nowMs())
                    } else {
                        let next = themeNames[((themeNames.firstIndex(of: theme.name) ?? -1) + 1) % themeNames.count]
                        do {
                            theme = try library.load(next)
                            terminal.apply(theme)
                            loop.themeName = theme.name
                            loop.model.flash("theme \(theme.name)", nowMs: WallClock.nowMs())
                        } catch {
                            loop.model.flash("\(error)", nowMs: WallClock.nowMs(), forMs: 10_000)
                            redirect.log("theme: \(error)", nowMs: WallClock.nowMs())
                        }
                    }
                    loop.dirty = true
                }
                key = terminal.readKey(timeoutMs: 0)
            }
            if action == .quit { break }
            let (width, height) = terminal.size
            if let buffer = loop.frameIfNeeded(nowMs: WallClock.nowMs(), width: width, height: height) {
                terminal.draw(buffer)
            }
            if !loop.pendingTerminalOutput.isEmpty {
                // After curses has drawn: the sequence moves no cursor, so the screen stays as drawn.
                loop.pendingTerminalOutput.withUnsafeBytes { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                loop.pendingTerminalOutput.removeAll()
            }
            flushLog()
        }
        flushLog()
        redirect.log("quit", nowMs: WallClock.nowMs())
    }
}

/// The dashboard's state machine between terminal and sources, without curses (tests drive it directly):
/// keys → model and actions; snapshots → lag history, pause; decides when a new frame is worth drawing.
struct DashboardLoop {
    let sources: DashboardSources
    var model = DashboardModel()
    var glyphs: Glyphs
    var themeName: String
    var lag = LagTracker()
    var trends = TrendHistory()
    var dirty = true
    /// Frames at most every `minimumFrameIntervalMs` (5 per second), unless a key asks for one.
    var minimumFrameIntervalMs: Int64 = 200
    private var lastSequence: UInt64?
    private var live: RunSnapshot?
    private var frozen: (snapshot: RunSnapshot?, lag: LagTracker, atMs: Int64, trends: TrendHistory)?
    private var lastFrameMs: Int64 = 0
    private var lastSecond: Int64 = -1
    private var keyPressed = false
    private var lastServices: [ServiceStatus] = []
    private var lastConnect: ConnectHealthReport?
    /// Services followed between frames: errors kept, attempts counted, changes logged.
    private(set) var board = ConnectionBoard()
    private var events = SnapshotEventLog()
    private var alertLog = AlertLog()
    /// Lines for `--log` (state changes, errors, retries, checkpoints…), drained by the run loop.
    var pendingLog: [String] = []
    /// Bytes for the terminal itself (an OSC 52 clipboard copy), written by the run loop after a frame.
    var pendingTerminalOutput: [UInt8] = []

    init(sources: DashboardSources, glyphs: Glyphs, themeName: String) {
        self.sources = sources
        self.glyphs = glyphs
        self.themeName = themeName
        lag.thresholds = sources.lagThresholds
    }

    mutating func handle(_ key: Key, nowMs: Int64) -> DashboardAction {
        let action = model.handle(key)
        keyPressed = true
        dirty = true
        switch action {
        case .togglePause:
            if let f = frozen {
                model.paused = false
                frozen = nil
                model.flash(
                    DashboardLoop.changesWhilePaused(from: f.snapshot, to: live, seconds: (nowMs - f.atMs) / 1_000),
                    nowMs: nowMs, forMs: 8_000)
            } else {
                model.paused = true
                frozen = (live, lag, nowMs, trends)
            }
        case .toggleRedis:
            if let toggle = sources.toggleRedis {
                // The mirror was paused before the toggle: it is on now, and the other way round.
                let wasPaused = sources.redisStatus().state == .paused
                toggle()
                model.flash(wasPaused ? "Redis mirror on" : "Redis mirror off (m turns it back on)", nowMs: nowMs)
            } else {
                model.flash("Redis mirror is not configured (start with --redis redis://HOST:PORT)", nowMs: nowMs)
            }
        case .notice(let text):
            model.flash(text, nowMs: nowMs, forMs: 8_000)
        case .export(let format):
            let text = DashboardExport.write(model, frame(nowMs: nowMs), format: format, nowMs: nowMs)
            pendingLog.append(text)
            model.flash(text, nowMs: nowMs, forMs: 10_000)
        case .copyEvent:
            let change = model.tablesLevel == .event ? model.openedEvent : model.layout.selectedChange
            guard let change, let value = change.value else {
                model.flash("nothing to copy: no event selected, or it has no value (tombstone)", nowMs: nowMs)
                break
            }
            let framed = change.valueSchemaID != nil || change.keySchemaID != nil
            let json =
                framed
                ? RawMessageView.lines(
                    change, value: value, frame: frame(nowMs: nowMs), width: 1_000_000, glyphs: glyphs
                ).map(\.text).joined(separator: "\n")
                : String(decoding: value, as: UTF8.self)
            pendingTerminalOutput += Clipboard.osc52(Array(json.utf8))
            model.flash(
                "copied the event's JSON (\(Format.count(json.utf8.count)) bytes) to the clipboard with OSC 52 (if the terminal allows it)",
                nowMs: nowMs)
        case .reloadHistory:
            if let reload = sources.reloadHistory {
                reload()
                model.flash("reloading history from the warehouse…", nowMs: nowMs)
            } else {
                model.flash("no warehouse: start cdctop with --warehouse URL", nowMs: nowMs)
            }
        default: break
        }
        return action
    }

    static func changesWhilePaused(from old: RunSnapshot?, to new: RunSnapshot?, seconds: Int64) -> String {
        guard let new else { return "resumed" }
        let messages = new.kpis.result.messages - (old?.kpis.result.messages ?? 0)
        let tx = new.kpis.result.totals.txCount - (old?.kpis.result.totals.txCount ?? 0)
        let revenue = new.kpis.result.totals.revenue - (old?.kpis.result.totals.revenue ?? .zero)
        return
            "resumed after \(seconds)s: +\(Format.count(messages)) msgs, +\(Format.count(tx)) tx, revenue +\(Format.money(revenue)) while paused"
    }

    /// Polls the sources and returns a frame when something visible changed (new snapshot, key, service
    /// status, the clock's second, notice expiry) and the frame rate allows it.
    mutating func frameIfNeeded(nowMs: Int64, width: Int, height: Int) -> ScreenBuffer? {
        if let s = sources.snapshot(), s.sequence != lastSequence {
            lastSequence = s.sequence
            live = s
            lag.record(s.consumer.partitions, atMs: nowMs)
            trends.record(s, atMs: nowMs)
            pendingLog += events.lines(s)
            if !model.paused { dirty = true }
        }
        let probes =
            [
                ServiceProbe(
                    name: "kafka", target: sources.kafkaTarget,
                    status: live?.consumer.kafka ?? ServiceStatus(.connecting, "waiting for the engine"))
            ]
            + sources.services()
        pendingLog += alertLog.lines(sources.alerts?())
        let changes = board.update(probes, nowMs: nowMs)
        if !changes.isEmpty {
            pendingLog += changes
            dirty = true
        }
        let services = [sources.redisStatus(), sources.warehouseStatus()]
        if services != lastServices {
            lastServices = services
            dirty = true
        }
        if let connect = sources.connectHealth?(), connect != lastConnect {
            lastConnect = connect
            dirty = true
        }
        if nowMs / 1_000 != lastSecond {
            lastSecond = nowMs / 1_000
            dirty = true
        }
        if model.expireMessage(nowMs: nowMs) { dirty = true }
        guard dirty, keyPressed || nowMs - lastFrameMs >= minimumFrameIntervalMs else { return nil }
        let (buffer, layout) = render(nowMs: nowMs, width: width, height: height)
        model.adopt(layout)
        dirty = false
        keyPressed = false
        lastFrameMs = nowMs
        return buffer
    }

    func frame(nowMs: Int64) -> DashboardFrame {
        var f = DashboardFrame(snapshot: frozen.map { $0.snapshot } ?? live, nowMs: frozen?.atMs ?? nowMs)
        f.title = sources.liveTitle?() ?? sources.title
        f.redis = lastServices.first ?? .off
        f.redisToggleAvailable = sources.toggleRedis != nil
        f.warehouse = lastServices.count > 1 ? lastServices[1] : .off
        f.history = sources.history()
        f.reconciliation = sources.reconciliation()
        f.connect = lastConnect ?? sources.connectHealth?()
        f.lag = frozen?.lag ?? lag
        f.trends = frozen?.trends ?? trends
        f.schemaDetails = sources.schemaDetails
        f.themeName = themeName
        f.glyphs = glyphs
        f.pausedAtMs = frozen?.atMs
        f.connections = board.entries
        f.alerts = sources.alerts?()
        f.alertDelivery = sources.alertDelivery?()
        return f
    }

    func render(nowMs: Int64, width: Int, height: Int) -> (ScreenBuffer, ListLayout) {
        var (buffer, layout) = DashboardRenderer.render(model, frame(nowMs: nowMs), width: width, height: height)
        // The title clock keeps ticking while paused, so it is clear the program is alive.
        if frozen != nil, width >= DashboardRenderer.minimumWidth, height >= DashboardRenderer.minimumHeight {
            let clock = Format.clock(nowMs) + " UTC "
            buffer.put(clock, x: width - DisplayWidth.of(clock), y: 0, style: Style(.warn, bold: true, reverse: true))
        }
        return (buffer, layout)
    }
}
