import Metrics
import Pipeline

/// Everything a frame shows besides the model: the inputs of a pure render.
struct DashboardFrame: Sendable {
    var snapshot: RunSnapshot? { didSet { scopeConnectors() } }
    var nowMs: Int64
    var title: String = "cdctop"
    var redis: ServiceStatus = .off
    var redisToggleAvailable = false
    var warehouse: ServiceStatus = .off
    var history: HistoryData?
    var reconciliation: Reconciliation?
    /// Kafka Connect connectors and tasks (`--connect`); nil when not configured.
    var connect: ConnectHealthReport? { didSet { scopeConnectors() } }
    /// `connect`'s connectors split by the topics this run watches, kept in step with `snapshot` and
    /// `connect`: the status line, Overview and Connections share one split a frame.
    private(set) var connectScope = ConnectScope()
    var lag = LagTracker()
    /// Schema and subject/version of a Confluent-framed message's schema id (see `RawMessageView`).
    var schemaDetails: @Sendable (_ id: Int32, _ askSubjects: Bool) -> SchemaDetails = RawMessageView.noRegistry
    var themeName = "dark"
    var glyphs = Glyphs.unicode
    /// When the display was frozen with `p`.
    var pausedAtMs: Int64?
    /// Every service followed (Kafka first): state, last error, attempts, next retry.
    var connections: [ConnectionEntry] = []
    /// Per-second events/s, lag and freshness for the trend charts.
    var trends = TrendHistory()
    /// Alerts pending, firing and resolved; nil when the rules are off.
    var alerts: AlertPanel?
    /// How `--alertmanager` delivery goes; nil without it.
    var alertDelivery: ServiceStatus?

    init(snapshot: RunSnapshot?, nowMs: Int64) {
        self.snapshot = snapshot
        self.nowMs = nowMs
    }

    private mutating func scopeConnectors() {
        guard let connect else {
            connectScope = ConnectScope()
            return
        }
        let topics = snapshot?.consumer.topics ?? []
        let (watched, others) = connect.scoped(toTopics: topics)
        connectScope = ConnectScope(watchedTopics: topics, watched: watched, others: others)
    }
}

/// The topics this run watches (its assigned partitions') and the Connect worker's connectors split by
/// them: those writing the watched topics, and the worker's others.
struct ConnectScope: Sendable {
    var watchedTopics: [String] = []
    var watched: [ConnectorHealth] = []
    var others: [ConnectorHealth] = []
}

/// Draws the whole screen from (model, frame) into a buffer. No curses here: tests call this directly.
enum DashboardRenderer {
    static let minimumWidth = 60
    static let minimumHeight = 16

    static func render(_ model: DashboardModel, _ frame: DashboardFrame, width: Int, height: Int) -> (
        ScreenBuffer, ListLayout
    ) {
        var buffer = ScreenBuffer(width: width, height: height)
        var layout = ListLayout()
        let g = frame.glyphs
        guard width >= minimumWidth, height >= minimumHeight else {
            let lines = [
                "terminal too small: \(width)×\(height)", "cdctop needs at least \(minimumWidth)×\(minimumHeight)",
                "q quits",
            ]
            for (i, l) in lines.enumerated() {
                buffer.put(
                    l, in: Rect(x: 0, y: height / 2 - 1 + i, width: width, height: 1),
                    style: i == 0 ? Style(.warn, bold: true) : .dim, align: .center, ellipsis: g.ellipsis)
            }
            if g == .ascii { buffer.makeASCII() }
            return (buffer, layout)
        }
        titleBar(&buffer, model, frame)
        tabs(&buffer, model, frame)
        statusLine(&buffer, frame, y: height - 2)
        footer(&buffer, model, frame, y: height - 1)
        let body = Rect(x: 0, y: 2, width: width, height: height - 4)
        if ConnectionsView.waitingForData(frame.snapshot), model.view != .history {
            // Nothing arrived yet: say what is tried and why it fails instead of a screen of zeros.
            ConnectionsView.connectingScreen(&buffer, body, frame)
        } else if let snapshot = frame.snapshot {
            switch model.view {
            case .overview: OverviewView.render(&buffer, body, snapshot, frame)
            case .tables: layout = TablesView.render(&buffer, body, model, snapshot, frame)
            case .categories: layout = CategoriesView.render(&buffer, body, model, snapshot, frame)
            case .lag: layout = LagView.render(&buffer, body, model, snapshot, frame)
            case .history: layout = HistoryView.render(&buffer, body, model, snapshot, frame)
            case .alerts: layout = AlertsView.render(&buffer, body, model, frame)
            case .latency: layout = LatencyView.render(&buffer, body, model, snapshot, frame)
            case .kpis: layout = KPIsView.render(&buffer, body, model, snapshot, frame)
            case .snapshot: layout = SnapshotView.render(&buffer, body, model, snapshot, frame)
            case .trends: layout = TrendsView.render(&buffer, body, model, snapshot, frame)
            }
        } else {
            buffer.put(
                "waiting for the first snapshot from the engine…", in: body.row(body.height / 2),
                style: .dim, align: .center, ellipsis: g.ellipsis)
        }
        if model.showConnections { ConnectionsView.overlay(&buffer, body, frame) }
        if model.showHelp {
            HelpOverlay.render(
                &buffer, Rect(x: 0, y: 1, width: width, height: height - 1), frame, scroll: model.helpScroll)
        }
        if g == .ascii { buffer.makeASCII() }
        layout.screenWidth = width
        layout.nowMs = frame.nowMs
        layout.tableNames = frame.snapshot?.diagnostics.tables.map(\.table) ?? []
        layout.serviceFailing = frame.connections.contains { shown($0.status).failing }
        return (buffer, layout)
    }

    static func titleBar(_ b: inout ScreenBuffer, _ model: DashboardModel, _ frame: DashboardFrame) {
        let bar = Style(.accent, reverse: true)
        b.fill(Rect(x: 0, y: 0, width: b.width, height: 1), style: bar)
        let separator = frame.glyphs == .ascii ? " | " : " │ "
        let g = frame.glyphs
        var clock = Format.clock(frame.nowMs) + " UTC "
        if let at = frame.pausedAtMs { clock = "PAUSED since \(Format.clock(at))" + separator + clock }
        // The profile that computes the KPIs, always named: `profile northwind`, `profile shop (default)`.
        let profile = frame.snapshot.map(profileLabel)
        // Where the user is comes first: when room is short the run's title gives way, then the word
        // "profile", and only then the breadcrumbs.
        let crumbs = model.breadcrumb.joined(separator: g.crumb)
        let head = " cdctop " + g.crumb.trimmingSpaces + " "
        func fits(_ title: String?, _ label: String?) -> Bool {
            let left =
                DisplayWidth.of(head) + (title.map { DisplayWidth.of($0) + DisplayWidth.of(g.crumb) } ?? 0)
                + DisplayWidth.of(crumbs)
            let right = DisplayWidth.of(clock) + (label.map { DisplayWidth.of($0) + DisplayWidth.of(separator) } ?? 0)
            return left + 2 + right <= b.width
        }
        var title: String? = frame.title
        var label = profile?.text
        if !fits(title, label) {
            let room =
                b.width - 2 - DisplayWidth.of(clock)
                - (label.map { DisplayWidth.of($0) + DisplayWidth.of(separator) } ?? 0)
                - DisplayWidth.of(head) - DisplayWidth.of(g.crumb) - DisplayWidth.of(crumbs)
            title = room >= 8 ? DisplayWidth.truncate(frame.title, to: room, ellipsis: g.ellipsis) : nil
        }
        if !fits(title, label), let short = profile?.short {
            title = nil
            label = short
        }
        let right = (label.map { $0 + separator } ?? "") + clock
        let rightX = b.width - DisplayWidth.of(right)
        var x = rightX
        if let label {
            x = b.put(label, x: x, y: 0, style: profile?.warn == true ? Style(.warn, bold: true, reverse: true) : bar)
            x = b.put(separator, x: x, y: 0, style: bar)
        }
        b.put(clock, x: x, y: 0, style: frame.pausedAtMs != nil ? Style(.warn, bold: true, reverse: true) : bar)
        let left = head + (title.map { $0 + g.crumb } ?? "") + crumbs
        b.put(DisplayWidth.truncate(left, to: rightX - 2, ellipsis: g.ellipsis), x: 0, y: 0, style: bar.bolded)
    }

    /// `profile northwind`, `profile shop (default)`; `warn` when the implicit default fits none of the topics.
    static func profileLabel(_ s: RunSnapshot) -> (text: String, short: String, warn: Bool) {
        let name = s.kpis.profile.name
        guard !name.isEmpty else { return ("profile ?", "?", false) }
        let short = name + (s.kpis.profile.isImplicitDefault ? " (default)" : "")
        return s.kpis.profile.noProfileForTopics
            ? ("profile " + short + " fits no topic", short + " fits no topic", true)
            : ("profile " + short, short, false)
    }

    /// Where each tab is drawn on row 1 (mouse clicks use the same ranges). Labels touch when a gap
    /// between them would not fit (80 columns hold seven tabs that way).
    static func tabRanges(width: Int = 200, current: DashboardView? = nil) -> [(view: DashboardView, range: Range<Int>)]
    {
        let labels = tabLabels(width: width, current: current)
        let gap = labels.reduce(1) { $0 + DisplayWidth.of($1) + 1 } <= width ? 1 : 0
        var x = 1
        return zip(DashboardView.allCases, labels).map { v, label in
            let w = DisplayWidth.of(label)
            defer { x += w + gap }
            return (v, x..<(x + w))
        }
    }

    /// " 1 Overview " for every view when they fit side by side; then " 1 Overview" (the next label's
    /// space parts them); on a narrow terminal only the current view keeps its title and the others
    /// show their number (every view stays one key or click away).
    static func tabLabels(width: Int, current: DashboardView?) -> [String] {
        let full = DashboardView.allCases.map { " \($0.key) \($0.title) " }
        if full.reduce(1, { $0 + DisplayWidth.of($1) }) <= width { return full }
        let compact = DashboardView.allCases.map {
            $0 == current ? " \($0.key) \($0.title) " : " \($0.key) \($0.title)"
        }
        if compact.reduce(1, { $0 + DisplayWidth.of($1) }) <= width { return compact }
        return DashboardView.allCases.map { $0 == current ? " \($0.key) \($0.title) " : " \($0.key) " }
    }

    static func tabs(_ b: inout ScreenBuffer, _ model: DashboardModel, _ frame: DashboardFrame) {
        var x = 1
        let labels = tabLabels(width: b.width, current: model.view)
        for ((v, range), label) in zip(tabRanges(width: b.width, current: model.view), labels) {
            x =
                b.put(
                    label, x: range.lowerBound, y: 1,
                    style: v == model.view ? Style(.accent, bold: true, reverse: true) : .dim) + 1
        }
        let themeText = "theme \(frame.themeName)"
        if x + DisplayWidth.of(themeText) + 1 < b.width {
            b.put(themeText, x: b.width - DisplayWidth.of(themeText) - 1, y: 1, style: .dim)
        }
    }

    /// librdkafka's "127.0.0.1:9/bootstrap: Connect to …" without the broker it names (the Kafka target is
    /// known): the words that say what failed come first.
    static func withoutBrokerPrefix(_ text: String) -> String {
        guard let colon = text.range(of: ": ") else { return text }
        let head = text[..<colon.lowerBound]
        guard head.contains("/"), !head.contains(" ") else { return text }
        return String(text[colon.upperBound...])
    }

    /// How the status bar shows a service: a second mirror waiting for the first to stop is on standby by
    /// design (it takes over when the other stops), not a failure.
    static func shown(_ s: ServiceStatus) -> (label: String, style: Style, failing: Bool) {
        if s.state == .error, isStandby(s) { return ("standby", .warn, false) }
        return (s.state.rawValue, serviceStyle(s), s.state == .error || s.state == .stalled)
    }

    /// The Redis mirror's "another cdctop (host:pid) mirrors PREFIX" refusal: the designed standby of a second writer.
    static func isStandby(_ s: ServiceStatus) -> Bool {
        let text = s.error ?? s.detail
        return text.contains("another cdctop") && text.contains(" mirrors ")
    }

    static func serviceStyle(_ s: ServiceStatus) -> Style {
        switch s.state {
        case .ok: .good
        case .connecting, .paused: .warn
        case .error, .stalled: Style(.bad, bold: true)
        case .off: .dim
        }
    }

    /// Connect's REST state combined with the newest Debezium heartbeat the engine has seen.
    static func connectStatus(_ report: ConnectHealthReport, _ frame: DashboardFrame) -> ServiceStatus {
        report.status(
            lastHeartbeatMs: frame.snapshot?.kpis.lastHeartbeatMs ?? 0, nowMs: frame.nowMs,
            watchedTopics: frame.connectScope.watchedTopics)
    }

    static func statusLine(_ b: inout ScreenBuffer, _ frame: DashboardFrame, y: Int) {
        let g = frame.glyphs
        var x = 1
        let kafka = frame.snapshot?.consumer.kafka ?? ServiceStatus(.connecting)
        let narrow = b.width < 100
        var services: [(String, ServiceStatus)] = [
            ("Kafka", kafka), (narrow ? "Redis" : "Redis mirror", frame.redis),
            ("Warehouse", frame.warehouse),
        ]
        if let connect = frame.connect { services.append(("Connect", connectStatus(connect, frame))) }
        // A failing service's error needs the room more than a narrow line needs "Warehouse ○ off".
        if b.width < 120, services.contains(where: { shown($0.1).failing }) {
            services.removeAll { $0.1.state == .off }
        }
        let boardNames = [
            "Kafka": "kafka", "Redis": "redis", "Redis mirror": "redis", "Warehouse": "warehouse", "Connect": "connect",
        ]
        let state = frame.snapshot.map { stateIndicator($0.state, nowMs: frame.nowMs, narrow: narrow) }
        // Details share what the names, states and counters leave, so the line never runs off the edge.
        // Narrow and failing: the error takes the room of the state and alerts indicators (the Tables
        // view and the Alerts view still show them).
        let errorFirst = b.width < 100 && services.contains { shown($0.1).failing }
        let stateWidth =
            errorFirst
            ? 0
            // " │ " + "state " + the mark and a space, then the label (as drawn below).
            : (state.map { DisplayWidth.of($0.label) + 11 } ?? 0)
                + (frame.alerts.map { alertsIndicatorWidth($0, glyphs: g) } ?? 0)
                + (frame.alerts != nil && frame.snapshot?.state.viewerOfPID != nil && !narrow
                    ? DisplayWidth.of(viewerAlertsNote(glyphs: g)) : 0)
        let baseWidth =
            services.reduce(0) { $0 + DisplayWidth.of($1.0) + 3 + shown($1.1).label.count } + 3 * (services.count - 1)
            + stateWidth
        // A failing service's newest error, with its age, comes first: that is what is read in an incident.
        let failing = services.filter { shown($0.1).failing }.count
        let quietDetails = services.filter { !$0.1.detail.isEmpty && $0.1.state != .off && !shown($0.1).failing }.count
        let countersReserve = failing > 0 ? (b.width >= 120 ? 16 : 0) : b.width >= 160 ? 100 : b.width >= 120 ? 60 : 24
        let spare = b.width - 2 - baseWidth - countersReserve
        let errorBudget = failing == 0 ? 0 : spare / failing - 1
        let detailBudget = failing > 0 || quietDetails == 0 || b.width < 120 ? 0 : min(28, spare / quietDetails - 1)
        for (i, (name, status)) in services.enumerated() {
            if i > 0 { x = b.put(" \(g.vertical) ", x: x, y: y, style: .border) }
            x = b.put(name + " ", x: x, y: y, style: .text)
            let look = shown(status)
            let mark = status.state == .off ? (g == .ascii ? "o" : "○") : String(g.dot)
            x = b.put(mark + " " + look.label, x: x, y: y, style: look.style)
            if look.failing, errorBudget >= 6 {
                // "error 12s: Connect to ipv4#127.0.0.1:9 failed…": the newest error and how old it is; Enter or `c` shows it whole.
                let entry = frame.connections.first { $0.name == boardNames[name] }
                let text = withoutBrokerPrefix(entry?.lastError ?? status.error ?? status.detail)
                let age =
                    (entry?.lastErrorAtMs ?? 0) > 0 ? " " + Format.age(frame.nowMs - (entry?.lastErrorAtMs ?? 0)) : ""
                let line = text.isEmpty ? age : age + ": " + text
                x = b.put(DisplayWidth.truncate(line, to: errorBudget, ellipsis: g.ellipsis), x: x, y: y, style: .warn)
            } else if !status.detail.isEmpty, status.state != .off, detailBudget >= 8 {
                x = b.put(
                    " " + DisplayWidth.truncate(status.detail, to: detailBudget, ellipsis: g.ellipsis), x: x, y: y,
                    style: look.failing ? .warn : .dim)
            }
        }
        if let state, !errorFirst {
            // The durable state: `state ● 3.0s ago` after a checkpoint, `state ○ none` in memory only, red on error.
            x = b.put(" \(g.vertical) ", x: x, y: y, style: .border)
            x = b.put("state ", x: x, y: y, style: .text)
            let mark = state.on ? String(g.dot) : (g == .ascii ? "o" : "○")
            x = b.put(mark + " " + state.label, x: x, y: y, style: state.style)
            if let error = frame.snapshot?.state.lastError, b.width >= 120 {
                x = b.put(" " + DisplayWidth.truncate(error, to: 28, ellipsis: g.ellipsis), x: x, y: y, style: .bad)
            }
        }
        // Whole or not at all: a cut one left a dangling " │ " at 60 columns.
        if let alerts = frame.alerts, !errorFirst, b.width - x > alertsIndicatorWidth(alerts, glyphs: g) {
            x = alertsIndicator(&b, alerts, x: x, y: y, glyphs: g)
            // A viewer evaluates the rules but sends nothing (`--alertmanager`, `--alert-exec`): the writer does.
            if frame.snapshot?.state.viewerOfPID != nil, !narrow {
                x = b.put(viewerAlertsNote(glyphs: g), x: x, y: y, style: .dim)
            }
        }
        if let s = frame.snapshot {
            // Counters by priority: problems that happened first, then the message count, then zeros when there is room.
            let items = counters(s, short: true)
            let separator = g == .ascii ? " - " : " · "
            let budget = b.width - x - 4
            var chosen = Set<Int>()
            var used = 0
            func fits(_ i: Int) -> Bool {
                let w = DisplayWidth.of(items[i].text) + (chosen.isEmpty ? 0 : separator.count)
                return used + w <= budget
            }
            func take(_ i: Int) {
                used += DisplayWidth.of(items[i].text) + (chosen.isEmpty ? 0 : separator.count)
                chosen.insert(i)
            }
            let byPriority = items.indices.sorted { items[$0].priority < items[$1].priority }
            for i in byPriority where items[i].value != 0 && items[i].problem && fits(i) { take(i) }
            if let m = items.firstIndex(where: { $0.name == "msgs" }), fits(m) { take(m) }
            for i in byPriority where !chosen.contains(i) && items[i].value != 0 && fits(i) { take(i) }
            if b.width >= 100 { for i in byPriority where !chosen.contains(i) && fits(i) { take(i) } }
            var cx = b.width - 1 - used
            for (n, i) in chosen.sorted().enumerated() {
                if n > 0 { cx = b.put(separator, x: cx, y: y, style: .dim) }
                cx = b.put(items[i].text, x: cx, y: y, style: items[i].problem && items[i].value != 0 ? .warn : .dim)
            }
        }
    }

    /// One engine counter for the status line and the Tables view.
    struct Counter {
        var name: String
        var value: Int64
        /// Something went wrong (malformed, refused, dropped, unmatched): shown first and highlighted.
        var problem: Bool
        /// Lower shows first when room is short.
        var priority: Int
        var text: String { "\(name) \(Format.count(value))" }
    }

    /// Every counter the engine keeps, in display order. `short` uses the status line's short names.
    static func counters(_ s: RunSnapshot, short: Bool) -> [Counter] {
        [
            Counter(name: "msgs", value: s.kpis.result.messages, problem: false, priority: 9),
            Counter(name: "malformed", value: s.kpis.result.malformed, problem: true, priority: 1),
            Counter(name: "refused", value: s.kpis.refused, problem: true, priority: 0),
            Counter(name: "dropped", value: s.kpis.result.dropped, problem: true, priority: 2),
            Counter(
                name: short ? "late" : "late corrections", value: s.kpis.lateCorrections, problem: false, priority: 5),
            Counter(name: short ? "dup" : "duplicates", value: s.kpis.duplicates, problem: false, priority: 4),
            Counter(name: "unmatched", value: s.kpis.unmatched, problem: true, priority: 3),
            Counter(name: "ignored", value: s.kpis.ignored, problem: false, priority: 7),
            Counter(name: "parked", value: s.kpis.parkedLineItems, problem: false, priority: 6),
        ]
    }

    /// `alerts ● 2 firing` (red) or `alerts ○ none` in the status bar.
    static func alertsIndicator(_ b: inout ScreenBuffer, _ alerts: AlertPanel, x: Int, y: Int, glyphs g: Glyphs) -> Int
    {
        let parts = alertsIndicatorParts(alerts, glyphs: g)
        var x = b.put(parts.separator, x: x, y: y, style: .border)
        x = b.put(parts.name, x: x, y: y, style: .text)
        return b.put(parts.state, x: x, y: y, style: parts.style)
    }

    /// The indicator's texts (separator, name, state) and the state's style: one source for drawing and measuring.
    static func alertsIndicatorParts(_ alerts: AlertPanel, glyphs g: Glyphs) -> (
        separator: String, name: String, state: String, style: Style
    ) {
        let (separator, name) = (" \(g.vertical) ", "alerts ")
        if alerts.firingCount > 0 {
            return (separator, name, "\(g.dot) \(alerts.firingCount) firing", Style(.bad, bold: true))
        }
        if !alerts.active.isEmpty { return (separator, name, "\(g.dot) \(alerts.active.count) pending", .warn) }
        return (separator, name, (g == .ascii ? "o" : "○") + " none", .dim)
    }

    /// The columns `alertsIndicator` draws.
    static func alertsIndicatorWidth(_ alerts: AlertPanel, glyphs g: Glyphs) -> Int {
        let parts = alertsIndicatorParts(alerts, glyphs: g)
        return DisplayWidth.of(parts.separator) + DisplayWidth.of(parts.name) + DisplayWidth.of(parts.state)
    }

    /// After the alerts indicator of a viewer (not at narrow widths): it evaluates the rules, the writer sends them.
    static func viewerAlertsNote(glyphs g: Glyphs) -> String { (g == .ascii ? " - " : " · ") + "sent by the writer" }

    /// The durable state as the status bar shows it.
    /// `narrow`: a viewer's label is just "viewer", so the alerts indicator still fits at 80 columns (the title
    /// and the Tables view name the writer's pid).
    static func stateIndicator(_ state: StateStatus, nowMs: Int64, narrow: Bool = false) -> (
        label: String, on: Bool, style: Style
    ) {
        guard state.directory != nil else { return ("none", false, .dim) }
        // A second watch on a busy directory: it writes nothing, and says whose state it started from.
        if let writer = state.viewerOfPID {
            return (narrow ? "viewer" : "viewer of pid \(writer) (state read-only)", true, Style(.accent, bold: true))
        }
        if state.lastError != nil { return ("error", true, Style(.bad, bold: true)) }
        if state.lastCheckpointMs <= 0 { return ("no checkpoint yet", true, .warn) }
        return (Format.age(nowMs - state.lastCheckpointMs) + " ago", true, .good)
    }

    static func footer(_ b: inout ScreenBuffer, _ model: DashboardModel, _ frame: DashboardFrame, y: Int) {
        let row = Rect(x: 0, y: y, width: b.width, height: 1)
        let cursor = frame.glyphs == .ascii ? "_" : "█"
        if model.editingFilter {
            let hint = model.view == .tables && model.tablesLevel == .changes ? "key text, op:c op:u op:d op:r; " : ""
            var text = " filter: /" + model.filter + cursor + "   (\(hint)Enter keep · Esc clear)"
            if frame.glyphs == .ascii { text = text.replacingAll("·", with: "-") }
            b.put(text, in: row, style: Style(.accent, bold: true), ellipsis: frame.glyphs.ellipsis)
            return
        }
        if model.editingCommand {
            let help =
                model.commandHint.map { "Tab: " + $0 }
                ?? "(Tab completes, ↑↓ history, Esc cancels; \(DashboardModel.commandHelp.replacingAll(" (or 0-9)", with: "")))"
            var text = " :" + model.command + cursor + "   " + help
            if frame.glyphs == .ascii { text = text.replacingAll("↑↓", with: "Up/Down") }
            if frame.glyphs == .ascii { text = text.replacingAll("·", with: "-") }
            b.put(text, in: row, style: Style(.accent, bold: true), ellipsis: frame.glyphs.ellipsis)
            return
        }
        if let message = model.message {
            b.put(" " + message, in: row, style: Style(.warn, bold: true), ellipsis: frame.glyphs.ellipsis)
            return
        }
        var hints: [(String, String)] = [("?", "help"), ("q", "quit"), ("0-9/Tab", "views")]
        // A service in trouble: the key that explains it comes first.
        if frame.connections.contains(where: {
            $0.status.state == .error || $0.status.state == .connecting || $0.status.state == .stalled
        }) || model.showConnections {
            hints.insert(("c", model.showConnections ? "close connections" : "connections"), at: 0)
        }
        switch model.view {
        case .overview: break
        case .tables:
            hints += [("↑↓", "move")]
            if model.tablesLevel != .event { hints.append(("Enter", "open")) }
            if model.tablesLevel == .changes {
                hints.append(("f", model.frozenChanges[model.listID] == nil ? "freeze" : "follow"))
            }
            if model.tablesLevel == .list { hints.append(("s/S", "sort")) }
            if model.tablesLevel != .event { hints.append(("/", "filter")) }
            if model.tablesLevel == .event { hints.append(("y", model.showRawEvent ? "table" : "raw JSON")) }
            if model.tablesLevel != .list { hints.append(("Esc", "back")) }
        case .categories: hints += [("↑↓", "move"), ("s/S", "sort"), ("/", "filter")]
        case .lag: hints += [("↑↓", "move"), ("s/S", "sort"), ("/", "filter")]
        case .history: hints += [("↑↓", "move"), ("Enter", "day"), ("r", "reload")]
        case .alerts: hints += [("↑↓", "move")]
        case .latency, .snapshot: hints += [("↑↓", "move")]
        case .trends: hints += [("↑↓", "table"), ("w", model.trendSpan.next.title)]
        case .kpis where frame.snapshot?.kpis.profile.isModel ?? false:
            hints += [("↑↓", "move"), ("s/S", "sort"), ("/", "filter")]
        case .kpis: break
        }
        hints += [("p", model.paused ? "resume" : "pause"), ("t", "theme"), ("m", "mirror"), (":", "command")]
        var x = 1
        for (key, label) in hints {
            let k = frame.glyphs == .ascii ? key.replacingAll("↑↓", with: "j/k") : key
            guard x + DisplayWidth.of(k) + DisplayWidth.of(label) + 2 < b.width else { break }
            x = b.put(k, x: x, y: y, style: Style(.accent, bold: true))
            x = b.put(" " + label + "  ", x: x, y: y, style: .dim)
        }
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        let t = Array(target)
        guard !t.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            var j = i
            var k = 0
            while k < t.count, j < endIndex, self[j] == t[k] {
                j = index(after: j)
                k += 1
            }
            if k == t.count { return i..<j }
            i = index(after: i)
        }
        return nil
    }
}
