/// A key press, decoded from curses (or built by tests).
enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace
    case resize
    case interrupt // Ctrl-C
}

/// What the run loop must do after a key, beyond redrawing.
enum DashboardAction: Equatable, Sendable {
    case none, quit, togglePause, cycleTheme, toggleRedis, reloadHistory
}

enum DashboardView: Int, CaseIterable, Sendable {
    case overview = 1, tables, categories, lag, history
    case alerts
    case latency

    var title: String {
        switch self {
        case .overview: "Overview"
        case .tables: "Tables"
        case .categories: "Categories"
        case .lag: "Lag"
        case .history: "History"
        case .alerts: "Alerts"
        case .latency: "Latency"
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
}

/// Everything the user chose: view, drill-down, selection, sort, filter, pause, overlays.
/// Pure state; `handle(_:)` is the whole key map and is unit-tested without a terminal.
struct DashboardModel: Equatable, Sendable {
    enum TablesLevel: Equatable, Sendable { case list, changes, event }

    var view: DashboardView = .overview
    var showHelp = false
    var paused = false

    var tablesLevel: TablesLevel = .list
    var openTable: String?
    var openChange: String?

    var categorySort: CategoryColumn = .total
    var sortDescending = true
    var filter = ""
    var editingFilter = false

    var historyDetail = false
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
        if view == .categories, !filter.isEmpty { parts.append("/" + filter) }
        return parts
    }

    mutating func handle(_ key: Key) -> DashboardAction {
        if key == .interrupt { return .quit }
        if key == .resize { return .none }
        if editingFilter { editFilter(key); return .none }
        if showHelp {
            showHelp = false
            return key == .char("q") ? .quit : .none
        }
        switch key {
        case .char("q"): return .quit
        case .char("?"): showHelp = true
        case .char("p"): return .togglePause
        case .char("t"): return .cycleTheme
        case .char("m"): return .toggleRedis
        case .char("r") where view == .history: return .reloadHistory
        case .char(let c) where c.wholeNumberValue.map({ (1...DashboardView.allCases.count).contains($0) }) ?? false:
            if let v = DashboardView(rawValue: c.wholeNumberValue ?? 0) { view = v }
        case .tab: view = DashboardView(rawValue: view.rawValue % DashboardView.allCases.count + 1) ?? .overview
        case .backTab:
            let n = DashboardView.allCases.count
            view = DashboardView(rawValue: (view.rawValue + n - 2) % n + 1) ?? .overview
        case .up, .char("k"): move(by: -1)
        case .down, .char("j"): move(by: 1)
        case .pageUp: move(by: -max(1, layout.pageSize))
        case .pageDown: move(by: max(1, layout.pageSize))
        case .home, .char("g"): move(to: 0)
        case .end, .char("G"): move(to: layout.count - 1)
        case .enter, .right, .char("l"): drillIn()
        case .escape, .left, .char("h"), .backspace: goBack()
        case .char("s") where view == .categories:
            categorySort = CategoryColumn(rawValue: (categorySort.rawValue + 1) % CategoryColumn.allCases.count) ?? .total
            sortDescending = categorySort != .name
        case .char("S") where view == .categories: sortDescending.toggle()
        case .char("/") where view == .categories: editingFilter = true
        default: break
        }
        return .none
    }

    private mutating func editFilter(_ key: Key) {
        switch key {
        case .enter: editingFilter = false
        case .escape: editingFilter = false; filter = ""
        case .backspace: if !filter.isEmpty { filter.removeLast() }
        case .char(let c) where !(c.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false): filter.append(c)
        default: return
        }
        selection["categories"] = 0
    }

    private mutating func move(by delta: Int) { move(to: selectedIndex + delta) }

    private mutating func move(to index: Int) {
        selectedIndex = max(0, min(index, layout.count - 1))
    }

    private mutating func drillIn() {
        switch view {
        case .tables:
            switch tablesLevel {
            case .list:
                guard let id = layout.selectedID else { return }
                openTable = id; tablesLevel = .changes
                selection["changes:" + id] = 0
            case .changes:
                guard let id = layout.selectedID else { return }
                openChange = id; tablesLevel = .event
                selection["event"] = 0
            case .event: break
            }
        case .history:
            guard !historyDetail, let id = layout.selectedID else { return }
            openDay = id; historyDetail = true; selection["day"] = 0
        default: break
        }
    }

    private mutating func goBack() {
        switch view {
        case .tables:
            switch tablesLevel {
            case .event: tablesLevel = .changes; openChange = nil
            case .changes: tablesLevel = .list; openTable = nil
            case .list: break
            }
        case .history: historyDetail = false; openDay = nil
        case .categories: filter = ""
        default: break
        }
    }

    mutating func flash(_ text: String, nowMs: Int64, forMs: Int64 = 4_000) {
        message = text; messageUntilMs = nowMs + forMs
    }

    /// Clears an expired notice; true when something changed (so the screen must redraw).
    mutating func expireMessage(nowMs: Int64) -> Bool {
        guard message != nil, nowMs >= messageUntilMs else { return false }
        message = nil
        return true
    }
}
