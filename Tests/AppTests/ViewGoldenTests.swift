import DevSupport
import Testing

@testable import App

#if canImport(Glibc)
    import Glibc
#endif

/// Each view rendered from the fixed fixture, compared with its golden, Tests/Fixtures/goldens/NAME.txt.
/// On a mismatch the actual screen is written to /tmp/cdctop-golden/NAME.txt; after checking it by eye,
/// `python3 Tests/AppTests/update_goldens.py` copies those files over the goldens (see GoldenScreens).
@Suite struct ViewGoldenTests {
    static let cases: [(name: String, keys: [Key], history: Bool, glyphs: Glyphs)] = [
        ("overview", [], false, .unicode),
        ("tables", [.char("2")], false, .unicode),
        ("changes", [.char("2"), .down, .down, .enter], false, .unicode),
        ("event", [.char("2"), .down, .down, .enter, .down, .enter], false, .unicode),
        ("categories", [.char("3")], false, .unicode),
        (
            "categories-sorted-filtered", [.char("3"), .char("s"), .char("s"), .char("/"), .char("o"), .enter], false,
            .unicode
        ),
        ("lag", [.char("4")], false, .unicode),
        ("history-off", [.char("5")], false, .unicode),
        ("history", [.char("5")], true, .unicode),
        ("history-day", [.char("5"), .down, .enter], true, .unicode),
        ("help", [.char("?")], false, .unicode),
        ("overview-ascii", [], false, .ascii),
    ]

    /// The same views fed by the real engine's snapshot (EngineFixture), so a bug in building the
    /// snapshot (windows, tables, recent changes, rates) fails them too.
    static let engineCases: [(name: String, keys: [Key], glyphs: Glyphs, width: Int, height: Int)] = [
        ("engine-overview", [], .unicode, 80, 24),
        ("engine-overview-120", [], .unicode, 120, 40),
        ("engine-tables", [.char("2")], .unicode, 80, 24),
        ("engine-changes", [.char("2"), .down, .down, .enter], .unicode, 100, 30),
        (
            "engine-changes-filtered",
            [.char("2"), .down, .down, .enter, .char("/"), .char("o"), .char("p"), .char(":"), .char("u"), .enter],
            .unicode, 100, 30
        ),
        ("engine-event", [.char("2"), .down, .down, .enter, .down, .enter], .unicode, 100, 30),
        ("engine-event-raw", [.char("2"), .down, .down, .enter, .down, .enter, .char("y")], .unicode, 100, 30),
        ("engine-categories", [.char("3")], .unicode, 80, 24),
        ("engine-lag", [.char("4")], .unicode, 120, 30),
        ("engine-lag-narrow", [.char("4")], .unicode, 60, 16),
        ("engine-lag-sorted", [.char("4"), .char("s")], .unicode, 100, 24),
        ("engine-overview-ascii", [], .ascii, 80, 24),
    ]

    /// Profiles other than the fitting shop default: a model profile's KPIs (view 8) and Overview, the
    /// implicit default on topics it does not know (no KPIs, how to make a profile), the KPIs view without SQL KPIs.
    static let profileCases: [(name: String, keys: [Key], variant: PreviewData.Variant, width: Int, height: Int)] = [
        ("kpis", [.char("8")], .northwind, 80, 24),
        ("kpis-120", [.char("8")], .northwind, 120, 40),
        (
            "kpis-sorted-filtered",
            [.char("8"), .char("s"), .char("s"), .char("s"), .char("/"), .char("e"), .char("r"), .enter], .northwind,
            80, 24
        ),
        ("kpis-shop", [.char("8")], .shop, 80, 24),
        ("overview-northwind", [], .northwind, 80, 24),
        ("overview-no-profile", [], .unknown, 80, 24),
        ("overview-no-profile-120", [], .unknown, 120, 40),
        ("kpis-no-profile", [.char("8")], .unknown, 80, 24),
        ("tables-northwind", [.char("2")], .northwind, 100, 30),
    ]

    @Test(arguments: profileCases.map(\.name))
    func profileViewMatchesGolden(_ name: String) throws {
        let c = Self.profileCases.first { $0.name == name }!
        let frame = Fixture.frame(variant: c.variant)
        var model = DashboardModel()
        Fixture.press(c.keys, on: &model, frame: frame, width: c.width, height: c.height)
        let screen = Fixture.render(model, frame, width: c.width, height: c.height).0.text
        let mismatch = GoldenScreens.mismatch(name, screen)
        #expect(mismatch == nil, "\(mismatch ?? "")")
    }

    @Test(arguments: engineCases.map(\.name))
    func engineViewMatchesGolden(_ name: String) throws {
        let c = Self.engineCases.first { $0.name == name }!
        let frame = EngineFixture.frame(glyphs: c.glyphs)
        var model = DashboardModel()
        for key in c.keys {
            model.adopt(DashboardRenderer.render(model, frame, width: c.width, height: c.height).1)
            _ = model.handle(key)
        }
        let screen = DashboardRenderer.render(model, frame, width: c.width, height: c.height).0.text
        let mismatch = GoldenScreens.mismatch(name, screen)
        #expect(mismatch == nil, "\(mismatch ?? "")")
    }

    @Test(arguments: cases.map(\.name))
    func viewMatchesGolden(_ name: String) throws {
        let c = Self.cases.first { $0.name == name }!
        let frame = Fixture.frame(history: c.history, glyphs: c.glyphs)
        var model = DashboardModel()
        Fixture.press(c.keys, on: &model, frame: frame)
        let screen = Fixture.render(model, frame).0.text
        let mismatch = GoldenScreens.mismatch(name, screen)
        #expect(mismatch == nil, "\(mismatch ?? "")")
    }

    @Test func tooSmallTerminalSaysSo() {
        let screen = Fixture.render(DashboardModel(), Fixture.frame(), width: 40, height: 10).0.text
        #expect(screen.contains("terminal too small: 40×10"))
        #expect(screen.contains("at least 60×16"))
    }

    @Test func largeTerminalUsesTheRoomForTablesOnTheOverview() {
        let screen = Fixture.render(DashboardModel(), Fixture.frame(), width: 200, height: 60).0
        #expect(screen.text.contains("Tables (2 for details)"))
        #expect(screen.text.contains("transactiondetail"))
        #expect(screen.line(58).contains("late 17") && screen.line(58).contains("127.0.0.1:9092"))
    }

    @Test func everyHelpKeyIsHandledByTheModel() {
        // Keys named in the help overlay change the model or return an action (none is a dead key).
        let keys: [Key] = [
            .char("1"), .tab, .backTab, .up, .down, .char("j"), .char("k"), .pageUp, .pageDown, .home, .end,
            .char("g"), .char("G"), .enter, .right, .char("l"), .escape, .left, .char("h"), .backspace,
            .char("s"), .char("S"), .char("/"), .char("p"), .char("t"), .char("m"), .char("r"), .char("?"), .char("q"),
        ]
        let drillIn: Set<Key> = [.enter, .right, .char("l")]
        let back: Set<Key> = [.escape, .left, .char("h"), .backspace]
        for key in keys {
            var model = DashboardModel()
            model.view =
                key == .char("r") ? .history : drillIn.contains(key) || back.contains(key) ? .tables : .categories
            if back.contains(key) {
                model.tablesLevel = .changes
                model.openTable = "x"
            }
            model.layout = ListLayout(count: 20, pageSize: 5, selectedID: "x")
            model.selection["categories"] = 3
            let before = model
            let action = model.handle(key)
            #expect(action != .none || model != before, "key \(key) did nothing")
        }
    }
}
