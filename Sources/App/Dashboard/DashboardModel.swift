import Metrics

/// A key press, decoded from curses (or built by tests).
enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace
    case resize
    case interrupt  // Ctrl-C
    /// A left click at a screen cell, and the wheel.
    case click(x: Int, y: Int)
    case wheelUp, wheelDown
}

/// What the run loop must do after a key, beyond redrawing.
enum DashboardAction: Equatable, Sendable {
    case none, quit, togglePause, cycleTheme, toggleRedis, reloadHistory
    /// A one-line answer for the footer (an unknown `:` command…).
    case notice(String)
    /// `e` / `:export [csv|json]`: write the current view's rows to a file in the working directory.
    case export(ExportFormat)
    /// `Y`: copy the selected event's raw value to the terminal's clipboard (OSC 52).
    case copyEvent
}

enum ExportFormat: String, Sendable, Equatable {
    case csv, json
}

/// Sort columns of the Lag view, in `s` order.
enum LagSort: Int, CaseIterable, Sendable {
    case topic, lag, committedLag, lagSeconds, verdict

    var title: String {
        switch self {
        case .topic: "topic"
        case .lag: "lag"
        case .committedLag: "group lag"
        case .lagSeconds: "lag s"
        case .verdict: "verdict"
        }
    }

    /// The column index in the Lag view's full column list.
    var column: Int {
        switch self {
        case .topic: 0
        case .lag: 5
        case .committedLag: 6
        case .lagSeconds: 7
        case .verdict: 9
        }
    }
}

/// Sort columns of the Tables view, in `s` order.
enum TableSort: Int, CaseIterable, Sendable {
    case name, total, rate, last, malformed

    var title: String {
        switch self {
        case .name: "table"
        case .total: "changes"
        case .rate: "ev/s"
        case .last: "last change"
        case .malformed: "malformed"
        }
    }
}

enum DashboardView: Int, CaseIterable, Sendable {
    case overview = 1
    case tables, categories, lag, history
    case alerts
    case latency
    /// A model profile's KPIs (`[kpi.NAME]` written as SQL): every KPI, its groups and values.
    case kpis
    /// Snapshot progress per connector and table (issue 22).
    case snapshot
    /// Events/s, lag and freshness over 5 min / 1 h / 1 day (key 0).
    case trends

    /// The key that opens the view: 1-9, then 0 for the tenth.
    var key: String { rawValue == 10 ? "0" : String(rawValue) }
    /// The view a key opens (`1`-`9`, `0`), if any.
    static func opened(byKey key: String) -> DashboardView? { allCases.first { $0.key == key } }

    var title: String {
        switch self {
        case .overview: "Overview"
        case .tables: "Tables"
        case .categories: "Categories"
        case .lag: "Lag"
        case .history: "History"
        case .alerts: "Alerts"
        case .latency: "Latency"
        case .kpis: "KPIs"
        case .snapshot: "Snapshot"
        case .trends: "Trends"
        }
    }
}

/// Sort columns of the KPIs view (their number depends on the KPIs: one per aggregate).
enum KPISort {
    static let group = 0
    static let window = 1
    static let firstValue = 2

    static func title(_ column: Int) -> String {
        switch column {
        case group: "group"
        case window: "window"
        case firstValue: "1st value"
        case firstValue + 1: "2nd value"
        case firstValue + 2: "3rd value"
        default: "\(column - firstValue + 1)th value"
        }
    }
}

/// Columns of the Categories view, in `s` order.
enum CategoryColumn: Int, CaseIterable, Sendable {
    case name, window, lastFiveMinutes, total, share

    var title: String {
        switch self {
        case .name: "category"
        case .window: "window"
        case .lastFiveMinutes: "last 5m"
        case .total: "total"
        case .share: "share"
        }
    }
}

/// What the last render found on screen, so keys can clamp and drill into what the user sees.
struct ListLayout: Equatable, Sendable {
    var count: Int = 0
    var pageSize: Int = 10
    /// Identity of the selected row (table name, event position, day), for drill-down.
    var selectedID: String?
    /// Where the cursor was drawn, and in which list (views that follow a row's identity set these).
    var selectedIndex: Int?
    var listID: String?
    /// The selected recent change (Tables › changes), copied when opened.
    var selectedChange: RecentChange?
    /// Screen row of the list's first visible row (mouse clicks); nil when the view has no clickable list.
    var rowsTop: Int?
    /// The terminal's width at that render (where the tabs were drawn).
    var screenWidth: Int = 200
    /// How many columns `s` cycles through, when the view's columns depend on the data (KPIs).
    var sortColumns: Int = 0
    /// A table's recent changes as the engine kept them (oldest first), and the table's change count at
    /// that render: what `f` (or a cursor move) freezes. The array is shared with the snapshot, not copied.
    var keptChanges: [RecentChange]?
    var keptTotal: Int64 = 0
    /// Table names of the snapshot (the `:` command line completes and checks them).
    var tableNames: [String] = []
    /// Some service is in error: Enter on a view with nothing to open shows the Connections panel.
    var serviceFailing = false
    var nowMs: Int64 = 0
}

/// A change list held still (`f`, or moving the cursor): the rows as they were, however many arrive after.
struct FrozenChanges: Equatable, Sendable {
    /// The kept changes at the moment of freezing, oldest first (a copy: the ring may drop them later).
    var kept: [RecentChange]
    /// The table's change count then: the difference to the live count is "N new".
    var total: Int64
    var atMs: Int64
}

/// Everything the user chose: view, drill-down, selection, sort, filter, pause, overlays.
/// Pure state; `handle(_:)` is the whole key map and is unit-tested without a terminal.
struct DashboardModel: Equatable, Sendable {
    enum TablesLevel: Equatable, Sendable { case list, changes, event }

    var view: DashboardView = .overview
    var showHelp = false
    /// The Connections panel (`c`): every service's state, last error in full, attempts, next retry.
    var showConnections = false
    var paused = false

    var tablesLevel: TablesLevel = .list
    var openTable: String?
    var openChange: String?

    var categorySort: CategoryColumn = .total
    var sortDescending = true
    var lagSort: LagSort = .topic
    var lagSortDescending = false
    var tableSort: TableSort = .name
    var tableSortDescending = false
    /// KPIs view: 0 the group, 1 the current window's first value, 2 + i the total of aggregate i.
    var kpiSort = KPISort.firstValue
    var kpiSortDescending = true
    /// Filter text per list ("categories", "lag", "tables", "changes:<table>"), typed after `/`.
    var filters: [String: String] = [:]
    var editingFilter = false
    /// The `:` command line being typed (`:lag`, `:table transaction`, `:q`).
    var command = ""
    var editingCommand = false
    /// Commands run, oldest first (↑/↓ while typing recall them), and where ↑ has got to.
    var commandHistory: [String] = []
    var historyPosition: Int?
    /// What Tab found when it could not complete alone (the choices), shown after the command line.
    var commandHint: String?
    /// Change lists held still, by list id ("changes:<table>"); a list not in here follows the newest.
    var frozenChanges: [String: FrozenChanges] = [:]
    /// Lines the help overlay is scrolled down by (↑/↓ scroll it, any other key closes it).
    var helpScroll = 0

    /// The event opened from a table's recent changes: a copy, so it stays whatever the engine keeps.
    var openedEvent: RecentChange?
    /// `y` in the event view: the raw message (JSON, or Avro rendered as JSON with its schema id) instead of the before/after table.
    var showRawEvent = false

    /// The filter of the current list (empty when it has none).
    var filter: String {
        get { filterKey.map { filters[$0, default: ""] } ?? "" }
        set { if let k = filterKey { filters[k] = newValue.isEmpty ? nil : newValue } }
    }

    /// Which lists take `/`.
    var filterKey: String? {
        switch view {
        case .categories: "categories"
        case .lag: "lag"
        case .kpis: "kpis"
        case .tables: tablesLevel == .list ? "tables" : tablesLevel == .changes ? "changes:" + (openTable ?? "") : nil
        default: nil
        }
    }

    /// The identity of the selected row per list: the cursor follows it as rows move (htop follows a PID).
    var selectedIDs: [String: String] = [:]

    /// The selected row of `list` among `ids` (as drawn): the remembered identity when it is still
    /// there, else the remembered index, clamped.
    func resolvedSelection(_ list: String, ids: [String]) -> Int {
        if let id = selectedIDs[list], let i = ids.firstIndex(of: id) { return i }
        return min(selection[list] ?? 0, max(0, ids.count - 1))
    }

    /// Takes what the render found (the row under the cursor) as the selection to follow.
    mutating func adopt(_ layout: ListLayout) {
        self.layout = layout
        guard let list = layout.listID, let index = layout.selectedIndex else { return }
        selection[list] = index
        if let id = layout.selectedID { selectedIDs[list] = id }
    }

    var historyDetail = false
    /// How far back the Trends view looks (`w` cycles 5 min, 1 h, 1 day).
    var trendSpan = TrendSpan.fiveMinutes
    var openDay: String?

    /// Selected row per list (view and drill-down level).
    var selection: [String: Int] = [:]
    var layout = ListLayout()

    /// A one-line notice in the footer (theme changed, what happened while paused…), until `messageUntilMs`.
    var message: String?
    var messageUntilMs: Int64 = 0

    /// The list the arrows currently move in.
    var listID: String {
        switch view {
        case .overview: "overview"
        case .tables:
            switch tablesLevel {
            case .list: "tables"
            case .changes: "changes:" + (openTable ?? "")
            case .event: "event"
            }
        case .categories: "categories"
        case .lag: "lag"
        case .history: historyDetail ? "day" : "history"
        case .alerts: "alerts"
        case .latency: "latency"
        case .kpis: "kpis"
        case .snapshot: "snapshot"
        case .trends: TrendsView.listID
        }
    }

    var selectedIndex: Int {
        get { selection[listID] ?? 0 }
        set { selection[listID] = newValue }
    }

    /// Breadcrumb parts for the title bar.
    var breadcrumb: [String] {
        var parts = [view.title]
        if view == .tables {
            if tablesLevel != .list, let t = openTable { parts.append(t) }
            if tablesLevel == .event, let c = openChange {
                parts.append(c.lastIndex(of: "[").map { "event " + c[$0...] } ?? c)
            }
        }
        if view == .history, historyDetail, let d = openDay { parts.append(d) }
        if view == .categories || view == .kpis, !filter.isEmpty { parts.append("/" + filter) }
        return parts
    }

    mutating func handle(_ key: Key) -> DashboardAction {
        if key == .interrupt { return .quit }
        if key == .resize { return .none }
        if editingFilter {
            editFilter(key)
            return .none
        }
        if editingCommand { return editCommand(key) }
        if showHelp {
            switch key {
            case .down, .char("j"), .wheelDown:
                helpScroll = min(helpScroll + 1, HelpOverlay.lines.count + HelpOverlay.notes.count)
            case .up, .char("k"), .wheelUp: helpScroll = max(0, helpScroll - 1)
            case .pageDown, .char(" "):
                helpScroll = min(helpScroll + 10, HelpOverlay.lines.count + HelpOverlay.notes.count)
            case .pageUp: helpScroll = max(0, helpScroll - 10)
            default:
                showHelp = false
                helpScroll = 0
                return key == .char("q") ? .quit : .none
            }
            return .none
        }
        if showConnections, key == .escape || key == .char("c") || key == .enter {
            showConnections = false
            return .none
        }
        if isChangesList {
            switch key {
            case .char("f"):
                if frozenChanges[listID] != nil { follow() } else { freeze() }
                return .none
            case .up, .char("k"), .wheelUp, .pageUp, .home, .char("g"):
                break  // toward the newest: a following list stays at the top
            case .down, .char("j"), .wheelDown, .pageDown, .end, .char("G"), .click:
                if frozenChanges[listID] == nil { freeze() }
            default: break
            }
        }
        switch key {
        case .char("q"): return .quit
        case .char("?"): showHelp = true
        case .char("c"): showConnections = true
        case .char("p"): return .togglePause
        case .char("t"): return .cycleTheme
        case .char("m"): return .toggleRedis
        case .char("r") where view == .history: return .reloadHistory
        case .char(let c) where DashboardView.opened(byKey: String(c)) != nil:
            view = DashboardView.opened(byKey: String(c))!
        case .char("w") where view == .trends: trendSpan = trendSpan.next
        case .tab: view = DashboardView(rawValue: view.rawValue % DashboardView.allCases.count + 1) ?? .overview
        case .backTab:
            let n = DashboardView.allCases.count
            view = DashboardView(rawValue: (view.rawValue + n - 2) % n + 1) ?? .overview
        case .click(let x, let y): click(x: x, y: y)
        case .wheelUp: move(by: -1)
        case .wheelDown: move(by: 1)
        case .up, .char("k"): move(by: -1)
        case .down, .char("j"): move(by: 1)
        case .pageUp: move(by: -max(1, layout.pageSize))
        case .pageDown: move(by: max(1, layout.pageSize))
        case .home, .char("g"): move(to: 0)
        case .end, .char("G"): move(to: layout.count - 1)
        case .enter where layout.serviceFailing && !hasDrillDown: showConnections = true
        case .enter, .right, .char("l"): drillIn()
        case .escape, .left, .char("h"), .backspace: goBack()
        case .char("s") where view == .categories:
            categorySort =
                CategoryColumn(rawValue: (categorySort.rawValue + 1) % CategoryColumn.allCases.count) ?? .total
            sortDescending = categorySort != .name
        case .char("S") where view == .categories: sortDescending.toggle()
        case .char("s") where view == .lag:
            lagSort = LagSort(rawValue: (lagSort.rawValue + 1) % LagSort.allCases.count) ?? .topic
            lagSortDescending = lagSort != .topic
        case .char("S") where view == .lag: lagSortDescending.toggle()
        case .char("s") where view == .tables && tablesLevel == .list:
            tableSort = TableSort(rawValue: (tableSort.rawValue + 1) % TableSort.allCases.count) ?? .name
            tableSortDescending = tableSort != .name && tableSort != .last
        case .char("S") where view == .tables && tablesLevel == .list: tableSortDescending.toggle()
        case .char("s") where view == .kpis:
            kpiSort = (kpiSort + 1) % max(KPISort.firstValue + 1, layout.sortColumns)
            kpiSortDescending = kpiSort != KPISort.group
        case .char("S") where view == .kpis: kpiSortDescending.toggle()
        case .char("/") where filterKey != nil: editingFilter = true
        case .char(":"):
            editingCommand = true
            command = ""
            commandHint = nil
            historyPosition = nil
            // A notice from an earlier command is stale once the next one starts.
            message = nil
        case .char("y") where view == .tables && tablesLevel == .event: showRawEvent.toggle()
        case .char("Y") where view == .tables && tablesLevel != .list: return .copyEvent
        case .char("e"): return .export(.csv)
        case .char("E"): return .export(.json)
        default: break
        }
        return .none
    }

    private mutating func editFilter(_ key: Key) {
        switch key {
        case .enter: editingFilter = false
        case .escape:
            editingFilter = false
            filter = ""
        case .backspace: if !filter.isEmpty { filter.removeLast() }
        case .char(let c) where !(c.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false): filter.append(c)
        default: return
        }
        // The cursor keeps its row when it still matches, else goes to the first match.
        selection[listID] = 0
    }

    /// `:` commands: a view by name or number, `table NAME`, `connections`, `help`, `q`.
    private mutating func editCommand(_ key: Key) -> DashboardAction {
        switch key {
        case .escape:
            editingCommand = false
            command = ""
            commandHint = nil
        case .backspace:
            if command.isEmpty { editingCommand = false } else { command.removeLast() }
            commandHint = nil
        case .tab:
            let completion = CommandPrompt.complete(command, tables: layout.tableNames, columns: sortColumnNames)
            command = completion.text
            commandHint = completion.choices.count > 1 ? completion.choices.joined(separator: "  ") : nil
        case .up, .down:
            guard !commandHistory.isEmpty else { break }
            let last = commandHistory.count - 1
            if key == .up {
                historyPosition = max(0, (historyPosition ?? commandHistory.count) - 1)
            } else if let p = historyPosition {
                historyPosition = p < last ? p + 1 : nil
            }
            command = historyPosition.map { commandHistory[$0] } ?? ""
            commandHint = nil
        case .char(let c) where !(c.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false):
            command.append(c)
            commandHint = nil
        case .enter:
            editingCommand = false
            commandHint = nil
            let text = command.trimmingSpaces
            if !text.isEmpty, commandHistory.last != text { commandHistory.append(text) }
            if commandHistory.count > 100 { commandHistory.removeFirst(commandHistory.count - 100) }
            historyPosition = nil
            return run(command: text)
        default: break
        }
        return .none
    }

    /// ":overview … :snapshot (or 1-9), :table NAME, …, :q": from the names `:` takes, so a new view or verb is listed.
    static let commandHelp: String = {
        let arguments = ["table": " NAME", "sort": " COLUMN", "export": " [csv|json]"]
        let views = CommandPrompt.viewNames.map { ":" + $0 }.joined(separator: " ") + " (or 0-9)"
        let verbs = CommandPrompt.verbs.map { ":" + ($0 == "quit" ? "q" : $0) + (arguments[$0] ?? "") }
        return ([views] + verbs).joined(separator: ", ")
    }()

    /// Column names `:sort` takes in the current view.
    var sortColumnNames: [String] {
        switch view {
        case .tables where tablesLevel == .list: TableSort.allCases.map(\.title)
        case .categories: CategoryColumn.allCases.map(\.title)
        case .lag: LagSort.allCases.map(\.title)
        default: []
        }
    }

    mutating func run(command text: String) -> DashboardAction {
        let words = text.split(separator: " ").map(String.init)
        guard let verb = words.first?.lowercased() else { return .none }
        let argument = words.dropFirst().joined(separator: " ")
        if let n = Int(verb) {
            guard let v = DashboardView.opened(byKey: verb) else { return .notice("no view \(n): views are 0-9") }
            view = v
            return .none
        }
        switch verb {
        case "q", "quit", "q!": return .quit
        case "help", "h":
            showHelp = true
            return .none
        case "connections", "conn", "c":
            showConnections = true
            return .none
        case "export":
            switch argument.lowercased() {
            case "", "csv": return .export(.csv)
            case "json": return .export(.json)
            default: return .notice("export writes csv or json: :export csv, :export json")
            }
        case "follow", "freeze":
            guard isChangesList else {
                return .notice(":\(verb) works in a table's recent changes (:table NAME first)")
            }
            if verb == "follow" { follow() } else if frozenChanges[listID] == nil { freeze() }
            return .none
        case "sort":
            return sort(by: argument)
        case "table", "t",
            "tables" where verb != "tables" || !argument.isEmpty:
            guard !argument.isEmpty else { return .notice("usage: :table NAME (e.g. :table transaction)") }
            switch CommandPrompt.resolve(argument, among: layout.tableNames) {
            case .found(let name):
                view = .tables
                openTable = name
                tablesLevel = .changes
                openedEvent = nil
                return .none
            case .ambiguous(let names):
                return .notice("table '\(argument)' is ambiguous: \(CommandPrompt.list(names))")
            case .none(let close):
                if layout.tableNames.isEmpty { return .notice("no table '\(argument)': no CDC table seen yet") }
                return .notice(
                    "no table '\(argument)'; \(close.isEmpty ? "tables" : "did you mean"): \(CommandPrompt.list(close.isEmpty ? layout.tableNames : close))"
                )
            }
        default: break
        }
        guard argument.isEmpty else { return .notice("unknown command :\(text) — try \(DashboardModel.commandHelp)") }
        switch CommandPrompt.resolve(verb, among: CommandPrompt.viewNames) {
        case .found(let name):
            guard let v = DashboardView.allCases.first(where: { $0.title.lowercased() == name }) else { return .none }
            view = v
            if v == .tables {
                tablesLevel = .list
                openTable = nil
            }
            return .none
        case .ambiguous(let names):
            return .notice(":\(verb) is ambiguous: \(names.map { ":" + $0 }.joined(separator: " or "))")
        case .none(let close):
            let hint =
                close.isEmpty
                ? "try \(DashboardModel.commandHelp)"
                : "did you mean \(close.map { ":" + $0 }.joined(separator: " or "))?"
            return .notice("unknown command :\(text) — \(hint)")
        }
    }

    /// `:sort NAME` in Tables, Categories and Lag: that column, in its natural direction.
    private mutating func sort(by name: String) -> DashboardAction {
        let names = sortColumnNames
        guard !names.isEmpty else { return .notice(":sort works in Tables, Categories and Lag") }
        guard !name.isEmpty else { return .notice("usage: :sort COLUMN — \(CommandPrompt.list(names))") }
        let chosen: String
        switch CommandPrompt.resolve(name, among: names) {
        case .found(let n): chosen = n
        case .ambiguous(let n): return .notice("column '\(name)' is ambiguous: \(CommandPrompt.list(n))")
        case .none: return .notice("no column '\(name)'; columns: \(CommandPrompt.list(names))")
        }
        switch view {
        case .tables:
            if let c = TableSort.allCases.first(where: { $0.title == chosen }) {
                tableSort = c
                tableSortDescending = c != .name && c != .last
            }
        case .categories:
            if let c = CategoryColumn.allCases.first(where: { $0.title == chosen }) {
                categorySort = c
                sortDescending = c != .name
            }
        case .lag:
            if let c = LagSort.allCases.first(where: { $0.title == chosen }) {
                lagSort = c
                lagSortDescending = c != .topic
            }
        default: break
        }
        return .none
    }

    /// A table's recent changes are on screen (follow / freeze apply).
    var isChangesList: Bool { view == .tables && tablesLevel == .changes }

    /// Enter opens something here (else, with a service failing, it opens the Connections panel).
    var hasDrillDown: Bool {
        switch view {
        case .tables: tablesLevel != .event
        case .history: !historyDetail
        default: false
        }
    }

    /// Holds the current change list still: a copy of what is kept now, so rows stay after the ring drops them.
    mutating func freeze() {
        guard isChangesList, let kept = layout.keptChanges else { return }
        frozenChanges[listID] = FrozenChanges(kept: kept, total: layout.keptTotal, atMs: layout.nowMs)
    }

    /// Back to following the newest change (the cursor on the top row).
    mutating func follow() {
        frozenChanges[listID] = nil
        selection[listID] = 0
        selectedIDs[listID] = nil
    }

    /// A click on a tab switches view; on a list row selects it, and on the selected row opens it.
    private mutating func click(x: Int, y: Int) {
        if y == 1,
            let v = DashboardRenderer.tabRanges(width: layout.screenWidth, current: view).first(where: {
                $0.range.contains(x)
            })?.view
        {
            view = v
            return
        }
        guard let top = layout.rowsTop, y >= top, y < top + layout.pageSize else { return }
        let first = max(0, selectedIndex - layout.pageSize + 1)
        let index = first + (y - top)
        guard index < layout.count else { return }
        if index == selectedIndex { drillIn() } else { move(to: index) }
    }

    private mutating func move(by delta: Int) { move(to: selectedIndex + delta) }

    private mutating func move(to index: Int) {
        selectedIndex = max(0, min(index, layout.count - 1))
        // The user moved: follow the row now under the cursor (the next render records it).
        selectedIDs[listID] = nil
    }

    private mutating func drillIn() {
        switch view {
        case .tables:
            switch tablesLevel {
            case .list:
                guard let id = layout.selectedID else { return }
                openTable = id
                tablesLevel = .changes
                selection["changes:" + id] = 0
            case .changes:
                guard let id = layout.selectedID else { return }
                openChange = id
                tablesLevel = .event
                openedEvent = layout.selectedChange
                showRawEvent = false
                selection["event"] = 0
            case .event: break
            }
        case .history:
            guard !historyDetail, let id = layout.selectedID else { return }
            openDay = id
            historyDetail = true
            selection["day"] = 0
        default: break
        }
    }

    private mutating func goBack() {
        switch view {
        case .tables:
            switch tablesLevel {
            case .event:
                tablesLevel = .changes
                openChange = nil
                openedEvent = nil
                showRawEvent = false
            case .changes:
                // Esc clears a filter before it leaves the list.
                if !filter.isEmpty {
                    filter = ""
                    return
                }
                frozenChanges[listID] = nil
                tablesLevel = .list
                openTable = nil
            case .list: filter = ""
            }
        case .history:
            historyDetail = false
            openDay = nil
        case .categories, .lag, .kpis: filter = ""
        default: break
        }
    }

    mutating func flash(_ text: String, nowMs: Int64, forMs: Int64 = 4_000) {
        message = text
        messageUntilMs = nowMs + forMs
    }

    /// Clears an expired notice; true when something changed (so the screen must redraw).
    mutating func expireMessage(nowMs: Int64) -> Bool {
        guard message != nil, nowMs >= messageUntilMs else { return false }
        message = nil
        return true
    }
}
