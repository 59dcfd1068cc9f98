import Metrics
import Testing

@testable import App

@Suite struct DashboardModelTests {
    @Test func viewSwitchingWithDigitsTabAndBackTab() {
        var m = DashboardModel()
        #expect(m.handle(.char("3")) == .none && m.view == .categories)
        _ = m.handle(.tab)
        #expect(m.view == .lag)
        _ = m.handle(.tab)
        _ = m.handle(.tab)
        #expect(m.view == .alerts)
        _ = m.handle(.tab)
        #expect(m.view == .latency)
        _ = m.handle(.tab)
        #expect(m.view == .kpis)
        _ = m.handle(.tab)
        #expect(m.view == .snapshot)
        _ = m.handle(.tab)
        #expect(m.view == .trends)
        _ = m.handle(.tab)
        #expect(m.view == .overview)
        _ = m.handle(.backTab)
        #expect(m.view == .trends)
        _ = m.handle(.backTab)
        #expect(m.view == .snapshot)
        _ = m.handle(.backTab)
        #expect(m.view == .kpis)
        _ = m.handle(.backTab)
        #expect(m.view == .latency)
        _ = m.handle(.backTab)
        #expect(m.view == .alerts)
        _ = m.handle(.char("6"))
        #expect(m.view == .alerts)
        _ = m.handle(.char("7"))
        #expect(m.view == .latency)
        _ = m.handle(.char("8"))
        #expect(m.view == .kpis)
        _ = m.handle(.char("9"))
        #expect(m.view == .snapshot)
        _ = m.handle(.char("0"))
        #expect(m.view == .trends)
    }

    @Test func quitPauseThemeMirrorActions() {
        var m = DashboardModel()
        #expect(m.handle(.char("q")) == .quit)
        #expect(m.handle(.interrupt) == .quit)
        #expect(m.handle(.char("p")) == .togglePause)
        #expect(m.handle(.char("t")) == .cycleTheme)
        #expect(m.handle(.char("m")) == .toggleRedis)
        #expect(m.handle(.char("r")) == .none)  // only in History
        m.view = .history
        #expect(m.handle(.char("r")) == .reloadHistory)
    }

    @Test func helpOverlayOpensAndAnyKeyClosesButQStillQuits() {
        var m = DashboardModel()
        _ = m.handle(.char("?"))
        #expect(m.showHelp)
        #expect(m.handle(.char("2")) == .none)
        #expect(!m.showHelp && m.view == .overview)  // the key only closed the overlay
        _ = m.handle(.char("?"))
        #expect(m.handle(.char("q")) == .quit)
    }

    @Test func movementClampsToTheListAndPages() {
        var m = DashboardModel()
        m.view = .categories
        m.layout = ListLayout(count: 30, pageSize: 10)
        _ = m.handle(.down)
        _ = m.handle(.char("j"))
        #expect(m.selectedIndex == 2)
        _ = m.handle(.pageDown)
        #expect(m.selectedIndex == 12)
        _ = m.handle(.end)
        #expect(m.selectedIndex == 29)
        _ = m.handle(.down)
        #expect(m.selectedIndex == 29)
        _ = m.handle(.pageUp)
        _ = m.handle(.char("k"))
        #expect(m.selectedIndex == 18)
        _ = m.handle(.home)
        _ = m.handle(.up)
        #expect(m.selectedIndex == 0)
    }

    @Test func tablesDrillInToChangesAndEventThenBack() {
        var m = DashboardModel()
        Fixture.press([.char("2"), .down, .down, .enter], on: &m)
        #expect(m.tablesLevel == .changes && m.openTable == "transaction")
        Fixture.press([.down, .enter], on: &m)
        #expect(m.tablesLevel == .event)
        #expect(m.openChange?.hasPrefix("shop.public.transaction[") == true)
        #expect(m.breadcrumb.first == "Tables" && m.breadcrumb.count == 3)
        Fixture.press([.escape], on: &m)
        #expect(m.tablesLevel == .changes)
        Fixture.press([.char("h")], on: &m)
        #expect(m.tablesLevel == .list && m.openTable == nil)
        Fixture.press([.char("l")], on: &m)
        #expect(m.openTable == "transaction")
    }

    @Test func categoriesSortCyclesColumnsAndFilterEditsText() {
        var m = DashboardModel()
        m.view = .categories
        #expect(m.categorySort == .total && m.sortDescending)
        _ = m.handle(.char("s"))
        #expect(m.categorySort == .share)
        _ = m.handle(.char("s"))
        #expect(m.categorySort == .name && !m.sortDescending)
        _ = m.handle(.char("S"))
        #expect(m.categorySort == .name && m.sortDescending)
        _ = m.handle(.char("/"))
        #expect(m.editingFilter)
        for c in "boq" { _ = m.handle(.char(c)) }  // q is text while editing, not quit
        _ = m.handle(.backspace)
        #expect(m.filter == "bo" && m.editingFilter)
        _ = m.handle(.enter)
        #expect(!m.editingFilter && m.filter == "bo")
        _ = m.handle(.escape)
        #expect(m.filter.isEmpty)
        _ = m.handle(.char("/"))
        _ = m.handle(.char("x"))
        _ = m.handle(.escape)
        #expect(m.filter.isEmpty && !m.editingFilter)
    }

    @Test func historyEnterOpensADay() {
        var m = DashboardModel()
        let frame = Fixture.frame(history: true)
        Fixture.press([.char("5"), .down, .enter], on: &m, frame: frame)
        #expect(m.historyDetail && m.openDay == "2025-11-22")
        Fixture.press([.escape], on: &m, frame: frame)
        #expect(!m.historyDetail)
    }

    @Test func messagesExpire() {
        var m = DashboardModel()
        m.flash("hello", nowMs: 1_000, forMs: 500)
        #expect(!m.expireMessage(nowMs: 1_400) && m.message == "hello")
        #expect(m.expireMessage(nowMs: 1_500) && m.message == nil)
    }
}

@Suite struct NavigationTests {
    @Test func commandLineJumpsOpensATableAndQuits() {
        var m = DashboardModel()
        m.layout.tableNames = ["transaction", "product"]  // what the last render saw: `:table` checks names against it
        func type(_ text: String) -> DashboardAction {
            _ = m.handle(.char(":"))
            for c in text { _ = m.handle(.char(c)) }
            return m.handle(.enter)
        }
        #expect(type("lag") == .none && m.view == .lag)
        #expect(type("2") == .none && m.view == .tables)
        #expect(
            type("table transaction") == .none && m.view == .tables && m.tablesLevel == .changes
                && m.openTable == "transaction")
        #expect(type("connections") == .none && m.showConnections)
        if case .notice(let text) = type("frobnicate") {
            #expect(text.contains("unknown command :frobnicate") && text.contains(":table NAME"))
        } else {
            Issue.record("an unknown command must explain itself")
        }
        #expect(type("q") == .quit)
        // Esc leaves the command line without running it.
        _ = m.handle(.char(":"))
        _ = m.handle(.char("h"))
        _ = m.handle(.escape)
        #expect(!m.editingCommand && m.view == .tables)
    }

    @Test func clickSelectsARowThenOpensItAndClicksOnTabsSwitchView() {
        var m = DashboardModel()
        m.view = .tables
        m.adopt(
            ListLayout(count: 4, pageSize: 10, selectedID: "customer", selectedIndex: 0, listID: "tables", rowsTop: 5))
        _ = m.handle(.click(x: 10, y: 7))
        #expect(m.selectedIndex == 2 && m.tablesLevel == .list)
        m.layout.selectedID = "transaction"
        _ = m.handle(.click(x: 10, y: 7))
        #expect(m.tablesLevel == .changes && m.openTable == "transaction")
        let lag = DashboardRenderer.tabRanges().first { $0.view == .lag }!.range
        _ = m.handle(.click(x: lag.lowerBound, y: 1))
        #expect(m.view == .lag)
        // Below the list, or past its last row: nothing.
        m.adopt(ListLayout(count: 2, pageSize: 10, selectedIndex: 0, listID: "lag", rowsTop: 5))
        _ = m.handle(.click(x: 3, y: 9))
        #expect(m.selectedIndex == 0)
        _ = m.handle(.wheelDown)
        #expect(m.selectedIndex == 1)
    }

    @Test func theSelectionFollowsItsRowAndEachListKeepsItsFilter() {
        var m = DashboardModel()
        m.view = .lag
        m.selectedIDs["lag"] = "t[2]"
        m.selection["lag"] = 0
        #expect(m.resolvedSelection("lag", ids: ["t[0]", "t[1]", "t[2]"]) == 2)
        // Gone from the list: the remembered index, clamped.
        #expect(m.resolvedSelection("lag", ids: ["t[0]"]) == 0)
        _ = m.handle(.char("/"))
        _ = m.handle(.char("x"))
        _ = m.handle(.enter)
        m.view = .categories
        #expect(m.filter == "")
        m.view = .lag
        #expect(m.filter == "x")
        _ = m.handle(.escape)
        #expect(m.filter == "")
    }

    @Test func changeFilterMatchesOpsAndKeys() {
        func change(_ op: ChangeOp, _ key: String) -> RecentChange {
            RecentChange(
                position: EventPosition(topic: "t", partition: 0, offset: 1), op: op, key: key, commitTimeMs: 0,
                value: nil)
        }
        let f = TablesView.ChangeFilter("op:u,d 42")
        #expect(f.matches(change(.update, "1420")) && f.matches(change(.delete, "42")))
        #expect(!f.matches(change(.create, "42")) && !f.matches(change(.update, "7")))
        #expect(TablesView.ChangeFilter("").matches(change(.read, "x")))
    }

    @Test func asciiBuffersHaveNoOtherCharacters() {
        var b = ScreenBuffer(width: 20, height: 2)
        b.put("a · b … ● → 家電", x: 0, y: 0)
        b.makeASCII()
        #expect(b.line(0).allSatisfy { $0.isASCII })
        #expect(b.line(0).hasPrefix("a - b ~ * > ?"))
    }
}
