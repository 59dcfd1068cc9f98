import Metrics
import Testing

@testable import App

/// What the screens say about the profile: its name in the header, no zeros for KPIs nobody
/// computes, the KPIs view of a model profile, and hints about unmatched deletes and key collisions.
@Suite struct ProfileViewsTests {
    static func screen(_ keys: [Key], _ frame: DashboardFrame, width: Int = 80, height: Int = 24) -> String {
        var model = DashboardModel()
        Fixture.press(keys, on: &model, frame: frame, width: width, height: height)
        return Fixture.render(model, frame, width: width, height: height).0.text
    }

    @Test func theHeaderNamesTheProfile() {
        #expect(Self.screen([], Fixture.frame()).split(separator: "\n")[0].contains("profile shop (default)"))
        #expect(
            Self.screen([], Fixture.frame(variant: .northwind)).split(separator: "\n")[0].contains("profile northwind"))
        #expect(
            Self.screen([.char("2")], Fixture.frame(variant: .unknown)).split(separator: "\n")[0].contains(
                "profile shop (default) fits no topic"))
        // At 60 columns too, with a long title giving way before the breadcrumbs.
        var frame = Fixture.frame(variant: .northwind)
        frame.title = "watch broker-1.example.com:9092,broker-2.example.com:9092"
        let top = String(Self.screen([.char("8")], frame, width: 60, height: 16).split(separator: "\n")[0])
        #expect(top.contains("profile northwind") && top.contains("› KPIs"))
    }

    @Test func noProfileForTheTopicsShowsNoKPIZerosAndSaysHowToMakeOne() {
        let text = Self.screen([], Fixture.frame(variant: .unknown))
        #expect(text.contains("No profile for these topics"))
        #expect(text.contains("cdctop profile init --brokers … --topics …"))
        #expect(text.contains("--profile FILE"))
        #expect(!text.contains("0.00"))
        #expect(text.contains("Events/s") && text.contains("Total lag"))
        #expect(Self.screen([.char("3")], Fixture.frame(variant: .unknown)).contains("no profile for these topics"))
        // The other views work as they do.
        #expect(Self.screen([.char("2")], Fixture.frame(variant: .unknown)).contains("ledger_entries"))
    }

    @Test func aModelProfileWithoutTheBuiltInKPIsSaysNotInProfile() {
        var frame = Fixture.frame(variant: .northwind)
        var s = frame.snapshot!
        // Keep only KPIs of the user's own: no transactions, revenue or category_sales.
        let keep = s.kpis.result.kpiColumns.indices.filter {
            !["transactions", "revenue", "category_sales"].contains(s.kpis.result.kpiColumns[$0].name)
        }
        s.kpis.result.kpiColumns = keep.map { s.kpis.result.kpiColumns[$0] }
        s.kpis.result.totals.kpis = keep.map { s.kpis.result.totals.kpis[$0] }
        for i in s.kpis.result.windows.indices {
            s.kpis.result.windows[i].kpis = keep.map { s.kpis.result.windows[i].kpis[$0] }
        }
        s.kpis.result.totals = TotalsResult()
        s.kpis.result.totals.kpis = keep.map { frame.snapshot!.kpis.result.totals.kpis[$0] }
        frame.snapshot = s
        let text = Self.screen([], frame)
        #expect(text.contains("not in profile"))
        #expect(text.contains("revenue not in profile"))
        #expect(text.contains("category_sales not in profile"))
        #expect(!text.contains("0.00"))
        let kpis = Self.screen([.char("8")], frame)
        #expect(kpis.contains("units = sum(quantity)") && !kpis.contains("revenue ="))
    }

    @Test func theKPIsViewListsEveryKPIWithItsGroupsSortsAndFilters() {
        let frame = Fixture.frame(variant: .northwind)
        let text = Self.screen([.char("8")], frame, width: 120, height: 60)
        for name in [
            "transactions = count(*)", "revenue = sum(", "category_sales = sum(", "units = sum(quantity)",
            "freight_by_shipper = count(*) · sum(o.freight) · avg(o.freight) by company_name (totals only)",
            "open_orders",
        ] {
            #expect(text.contains(name), "missing \(name)")
        }
        #expect(text.contains("12 rows wait for a lookup row"))
        #expect(text.contains("(none)"))
        let s = frame.snapshot!
        // Values are the exact text of valueText; groups sorted by the first value, descending.
        let sales = KPIsView.lines(DashboardModel(), s, nowMs: Fixture.nowMs).filter {
            $0.kind == .group && $0.kpi == 2
        }
        let totals = sales.map { ExactDecimal.parse($0.values[0])! }
        #expect(totals == totals.sorted(by: >))
        #expect(sales.first?.label == "  Beverages")
        var model = DashboardModel()
        model.view = .kpis
        model.layout.sortColumns = 5
        _ = model.handle(.char("s"))
        #expect(model.kpiSort == 3 && model.kpiSortDescending)
        _ = model.handle(.char("s"))
        #expect(model.kpiSort == 4)
        _ = model.handle(.char("s"))
        #expect(model.kpiSort == KPISort.group && !model.kpiSortDescending)
        _ = model.handle(.char("s"))
        #expect(model.kpiSort == KPISort.window && model.kpiSortDescending)
        _ = model.handle(.char("S"))
        #expect(!model.kpiSortDescending)
        let byName = KPIsView.lines(model, s, nowMs: Fixture.nowMs)
        #expect(!byName.isEmpty)
        // `/` keeps the KPIs whose name matches, and the groups that match in the others.
        let filtered = Self.screen([.char("8"), .char("/"), .char("s"), .char("e"), .char("a"), .enter], frame)
        #expect(filtered.contains("Seafood") && !filtered.contains("Beverages") && filtered.contains("/sea: 2 match"))
        #expect(model.run(command: "kpis") == .none && model.view == .kpis)
    }

    @Test func aProfileWithoutSQLKPIsPointsToTheNorthwindExample() {
        let text = Self.screen([.char("8")], Fixture.frame())
        #expect(text.contains("KPIs written as SQL") && text.contains("profiles/northwind.toml"))
    }

    @Test func unmatchedHintsNamePlaceholderDeletesAndKeyCollisions() {
        var s = Fixture.snapshot
        s.kpis.unmatched = 9
        s.kpis.profile.placeholderDeletes = 5
        s.kpis.profile.keyCollisions = 2
        let hints = TablesView.unmatchedHints(s, glyphs: .unicode)
        #expect(
            hints[0].contains("deletes 5") && hints[0].contains("REPLICA IDENTITY FULL")
                && hints[0].contains("from the snapshot on"))
        #expect(hints[1].contains("unmatched 4 more") && hints[1].contains("snapshot?"))
        #expect(hints[2].contains("2 creates for keys already alive: check the table's key"))
        s.kpis.profile = ProfileStatus()
        #expect(
            TablesView.unmatchedHints(s, glyphs: .unicode) == [
                "unmatched 9 — started after the snapshot? changes to rows cdctop never saw"
            ])
        let wrapped = TablesView.wrap(String(repeating: "word ", count: 30), width: 40)
        #expect(wrapped.count > 1 && wrapped.allSatisfy { DisplayWidth.of($0) <= 40 } && wrapped[1].hasPrefix("  "))
    }
}
