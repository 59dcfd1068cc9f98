import Foundation
import Metrics
import Pipeline
import Testing

@testable import App

/// Issue 24: follow / freeze of change lists, the `:` command line that answers, Esc order, export,
/// OSC 52, unique short names, chart labels, the status bar's errors.
@Suite struct DashboardFollowCommandTests {
    static let table = "transaction"

    /// A frame whose `transaction` changes are `count` made-up changes at offsets `first…`, the table's
    /// change count `total`: what the engine's ring would hold after that many arrived.
    static func frame(first: Int64, count: Int, total: Int64) -> DashboardFrame {
        var f = Fixture.frame()
        var s = f.snapshot!
        s.diagnostics.recentChanges[table] = (0..<Int64(count)).map { i in
            let offset = first + i
            let value = Array("{\"op\":\"c\",\"ts_ms\":\(Fixture.nowMs),\"after\":{\"id\":\(offset)}}".utf8)
            return RecentChange(
                position: EventPosition(topic: "shop.public.transaction", partition: 0, offset: offset),
                op: .create, key: "{\"id\":\(offset)}", commitTimeMs: Fixture.nowMs, value: value)
        }
        if let i = s.diagnostics.tables.firstIndex(where: { $0.table == table }) {
            s.diagnostics.tables[i].opCounts = Array(repeating: 0, count: ChangeOp.allCases.count)
            s.diagnostics.tables[i].opCounts[Int(ChangeOp.create.rawValue)] = total
        }
        f.snapshot = s
        return f
    }

    static func screen(_ m: DashboardModel, _ f: DashboardFrame, width: Int = 100, height: Int = 30) -> String {
        Fixture.render(m, f, width: width, height: height).0.text
    }

    @Test func changesFollowTheNewestUntilFrozenThenKeepTheirRowsAfterTheRingDropsThem() {
        var m = DashboardModel()
        m.layout.tableNames = [Self.table, "product"]
        #expect(m.run(command: "table " + Self.table) == .none)
        var f = Self.frame(first: 0, count: 50, total: 50)
        // Following: the newest (offset 49) is on top and selected; the title says so.
        var (buffer, layout) = Fixture.render(m, f, width: 100, height: 30)
        m.adopt(layout)
        var text = buffer.text
        #expect(text.contains("FOLLOWING newest"))
        #expect(layout.selectedID == "p0@49" || layout.selectedChange?.position.offset == 49)
        // New changes arrive: the cursor stays on the newest.
        f = Self.frame(first: 10, count: 50, total: 60)
        (buffer, layout) = Fixture.render(m, f, width: 100, height: 30)
        m.adopt(layout)
        #expect(layout.selectedChange?.position.offset == 59)

        // ↓ freezes and moves to the next older row (offset 58).
        _ = m.handle(.down)
        #expect(m.frozenChanges["changes:" + Self.table] != nil)
        (buffer, layout) = Fixture.render(m, f, width: 100, height: 30)
        m.adopt(layout)
        #expect(layout.selectedChange?.position.offset == 58)
        // 3,000 more arrive: the ring (here 50) holds none of the frozen rows any more.
        f = Self.frame(first: 3_010, count: 50, total: 3_060)
        (buffer, layout) = Fixture.render(m, f, width: 100, height: 30)
        m.adopt(layout)
        text = buffer.text
        #expect(layout.selectedChange?.position.offset == 58, "the frozen cursor stays on its event")
        #expect(text.contains("FROZEN at") && text.contains("3,000 new"), "\(text)")
        #expect(text.contains("p0@58") && text.contains("p0@57") && !text.contains("p0@3059"))
        // Enter opens the frozen event although the engine no longer keeps it.
        _ = m.handle(.enter)
        #expect(m.tablesLevel == .event && m.openedEvent?.position.offset == 58)
        _ = m.handle(.escape)
        // f follows again: the newest on top.
        _ = m.handle(.char("f"))
        (buffer, layout) = Fixture.render(m, f, width: 100, height: 30)
        #expect(layout.selectedChange?.position.offset == 3_059)
        #expect(buffer.text.contains("FOLLOWING"))
    }

    @Test func escClearsTheFilterBeforeLeavingTheChanges() {
        var m = DashboardModel()
        m.layout.tableNames = [Self.table, "product"]
        #expect(m.run(command: "table " + Self.table) == .none)
        m.filters["changes:" + Self.table] = "op:c"
        _ = m.handle(.escape)
        #expect(m.tablesLevel == .changes && m.filter.isEmpty)
        _ = m.handle(.escape)
        #expect(m.tablesLevel == .list)
    }

    @Test func tableCommandNamesCloseMatchesAndAmbiguities() {
        var m = DashboardModel()
        m.layout.tableNames = ["transaction", "transactiondetail", "product", "category"]
        guard case .notice(let nope) = m.run(command: "table nope") else {
            Issue.record("no notice for :table nope")
            return
        }
        #expect(nope.hasPrefix("no table 'nope'; tables: transaction, transactiondetail, product, category"))
        guard case .notice(let tran) = m.run(command: "table tran") else {
            Issue.record("no notice for :table tran")
            return
        }
        #expect(tran.contains("ambiguous") && tran.contains("transaction, transactiondetail"))
        guard case .notice(let typo) = m.run(command: "table prodct") else {
            Issue.record("no notice for a typo")
            return
        }
        #expect(typo == "no table 'prodct'; did you mean: product")
        #expect(m.view == .overview, "no empty view opened for an unknown table")
        #expect(m.run(command: "table Product") == .none && m.openTable == "product" && m.tablesLevel == .changes)
        #expect(m.run(command: "table transaction") == .none && m.openTable == "transaction")
        #expect(m.run(command: "table transactiond") == .none && m.openTable == "transactiondetail")
    }

    @Test func ambiguousViewPrefixListsTheChoices() {
        var m = DashboardModel()
        #expect(m.run(command: "la") == .notice(":la is ambiguous: :lag or :latency"))
        #expect(m.view == .overview)
        #expect(m.run(command: "lag") == .none && m.view == .lag)
        #expect(m.run(command: "lat") == .none && m.view == .latency)
        let n = DashboardView.allCases.count
        #expect(m.run(command: "\(n + 1)") == .notice("no view \(n + 1): views are 0-9"))
        guard case .notice(let typo) = m.run(command: "categores") else {
            Issue.record("no notice")
            return
        }
        #expect(typo.contains("did you mean :categories?"))
    }

    @Test func tabCompletesCommandsTablesAndColumnsAndHistoryRecalls() {
        var m = DashboardModel()
        m.layout.tableNames = ["transaction", "transactiondetail", "product"]
        Fixture.press([], on: &m)
        _ = m.handle(.char(":"))
        for c in "ta" { _ = m.handle(.char(c)) }
        _ = m.handle(.tab)
        // Two commands start with "ta": Tab completes what they share and lists them.
        #expect(m.command == "table" && m.commandHint == "tables  table", "\(m.command) \(m.commandHint ?? "-")")
        for c in " tr" { _ = m.handle(.char(c)) }
        _ = m.handle(.tab)
        #expect(m.command == "table transaction" && m.commandHint == "transaction  transactiondetail")
        _ = m.handle(.tab)
        #expect(m.command == "table transaction")
        m.command = "table pr"
        _ = m.handle(.tab)
        #expect(m.command == "table product" && m.commandHint == nil)
        #expect(m.handle(.enter) == .none && m.openTable == "product")
        // Columns: `:sort` in Categories completes the Categories columns.
        m.view = .categories
        _ = m.handle(.char(":"))
        m.command = "sort la"
        _ = m.handle(.tab)
        #expect(m.command == "sort last 5m")
        #expect(m.handle(.enter) == .none && m.categorySort == .lastFiveMinutes)
        // ↑ recalls the newest command first, ↓ walks back to an empty line.
        _ = m.handle(.char(":"))
        _ = m.handle(.up)
        #expect(m.command == "sort last 5m")
        _ = m.handle(.up)
        #expect(m.command == "table product")
        _ = m.handle(.down)
        #expect(m.command == "sort last 5m")
        _ = m.handle(.down)
        #expect(m.command == "")
        _ = m.handle(.escape)
    }

    @Test func aStaleErrorClearsOnTheNextCommand() {
        var loop = DashboardLoop(
            sources: DashboardSources(snapshot: { Fixture.snapshot }), glyphs: .unicode, themeName: "dark")
        for k: Key in [.char(":"), .char("x"), .char("y"), .char("z"), .enter] {
            _ = loop.handle(k, nowMs: Fixture.nowMs)
        }
        #expect(loop.model.message?.hasPrefix("unknown command :xyz") == true)
        _ = loop.handle(.char(":"), nowMs: Fixture.nowMs + 100)
        #expect(loop.model.message == nil)
    }

    @Test func shortenedNamesNeverReadTheSame() {
        let names = ["shop.public.transaction", "shop.public.transactiondetail", "shop.public.product"]
        for width in 8...22 {
            let short = Format.middleUnique(names, width)
            #expect(Set(short).count == names.count, "width \(width): \(short)")
            #expect(short.allSatisfy { DisplayWidth.of($0) <= width })
        }
        // Where the even cut already differs nothing changes.
        #expect(
            Format.middleUnique(["transactiondetail", "product"], 12) == [
                Format.middle("transactiondetail", 12), "product",
            ])
    }

    @Test func chartTimeLabelsNeverOverlap() {
        for width in 12...40 {
            var b = ScreenBuffer(width: width, height: 4)
            Widgets.timeChart(
                &b, Rect(x: 0, y: 0, width: width, height: 4), values: [1, 2, 3, 4], glyphs: .unicode,
                scaleLabel: Format.short, firstLabel: { _ in "09:10:00" }, lastLabel: "09:11:00")
            let row = b.line(3)
            // Either both labels with room between them, or only the last one: never "0909:11".
            #expect(!row.contains("0909") && !row.contains("00:0"), "width \(width): '\(row)'")
            #expect(row.contains("09:11:00"))
        }
    }

    @Test func statusBarShowsTheNewestErrorWithItsAgeAndStandbyIsNotAnError() {
        var f = Fixture.frame()
        var s = f.snapshot!
        s.consumer.kafka = ServiceStatus(
            .error, "Connect to ipv4#127.0.0.1:9 failed: Connection refused",
            error: "Connect to ipv4#127.0.0.1:9 failed: Connection refused")
        f.snapshot = s
        f.connections = [
            ConnectionEntry(
                name: "kafka", target: "127.0.0.1:9", status: s.consumer.kafka, sinceMs: Fixture.nowMs - 60_000,
                lastError: "Connect to ipv4#127.0.0.1:9 failed: Connection refused",
                lastErrorAtMs: Fixture.nowMs - 12_000)
        ]
        f.redis = ServiceStatus(
            .error, "another cdctop (host:42) mirrors cdctop: give this one its own --redis-prefix or --pipeline")
        for width in [80, 100, 160] {
            let bar = Fixture.render(DashboardModel(), f, width: width, height: 24).0.line(22)
            #expect(bar.contains("Kafka ● error 12.0s: Connect to ipv4#127"), "width \(width): \(bar)")
            #expect(
                bar.contains("standby") && !bar.contains("Redis ● error") && !bar.contains("mirror ● error"),
                "width \(width): \(bar)")
        }
        // Enter on the Overview (nothing to open) shows the error whole.
        var m = DashboardModel()
        m.adopt(Fixture.render(m, f).1)
        _ = m.handle(.enter)
        #expect(m.showConnections)
    }

    @Test func exportWritesTheTablesRowsAsCSVAndJSON() throws {
        var m = DashboardModel()
        m.view = .tables
        let f = Fixture.frame()
        let t = try #require(DashboardExport.table(m, f))
        let s = f.snapshot!
        #expect(t.rows.count == s.diagnostics.tables.count)
        let csv = DashboardExport.csv(t)
        let lines = csv.split(separator: "\r\n")
        #expect(lines.first == "table,c,u,d,r,t,tombstones,total,events_per_second,last_commit_ms,malformed")
        for stats in s.diagnostics.tables {
            #expect(
                lines.contains {
                    $0.hasPrefix(
                        "\(stats.table),\(stats.count(.create)),\(stats.count(.update)),\(stats.count(.delete)),")
                })
        }
        let json = DashboardExport.json(t)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(parsed.count == s.diagnostics.tables.count)
        #expect(parsed.first?["table"] as? String == TablesView.sortedTables(s).first?.table)
        // Views without rows say so instead of writing an empty file.
        m.view = .overview
        #expect(
            DashboardExport.write(m, f, format: .csv, nowMs: Fixture.nowMs).hasPrefix("Overview has no rows to export"))
    }

    @Test func osc52CarriesTheBase64OfTheBytes() {
        let bytes = Array("{\"id\":1}".utf8)
        let seq = Clipboard.osc52(bytes)
        let text = String(decoding: seq, as: UTF8.self)
        #expect(text == "\u{1B}]52;c;" + Data(bytes).base64EncodedString() + "\u{07}")
        for n in 0..<7 {
            let b = Array(repeating: UInt8(0xF0 &+ UInt8(n)), count: n)
            #expect(
                String(
                    decoding: b.withUnsafeBytes { raw in
                        var out: [UInt8] = []
                        JSONBytes.appendBase64(raw, to: &out)
                        return out
                    }, as: UTF8.self) == Data(b).base64EncodedString())
        }
    }

    @Test func helpOverlayScrollsOnAShortTerminal() {
        var m = DashboardModel()
        _ = m.handle(.char("?"))
        let first = Fixture.render(m, Fixture.frame(), width: 60, height: 16).0.text
        #expect(first.contains("scroll"))
        #expect(!first.contains("this help"))
        for _ in 0..<30 { _ = m.handle(.down) }
        #expect(m.showHelp)
        let last = Fixture.render(m, Fixture.frame(), width: 60, height: 16).0.text
        #expect(last.contains("6 alerts ([alerts] in profile)"), "\(last)")
        _ = m.handle(.char("x"))
        #expect(!m.showHelp)
    }
}

@Suite struct DeletePlaceholderTests {
    typealias F = ChangeDescription.Field

    @Test func aKeyOnlyDeleteShowsNotSentInsteadOfZeros() {
        let d = ChangeDescription(
            op: .delete, table: "transactiondetail", commitTimeMs: 0,
            before: [
                F(name: "id", value: "17"), F(name: "unit_price", value: "0.0"),
                F(name: "quantity", value: "0"), F(name: "note", value: "null"),
            ], after: nil)
        #expect(TablesView.placeholderColumns(d) == ["unit_price", "quantity", "note"])
        #expect(TablesView.summary(d, glyphs: .unicode) == "id=17 (other columns not sent: REPLICA IDENTITY DEFAULT)")
        // A full before image (REPLICA IDENTITY FULL) is the row's values.
        let full = ChangeDescription(
            op: .delete, table: "transactiondetail", commitTimeMs: 0,
            before: [
                F(name: "id", value: "17"), F(name: "unit_price", value: "12.5000"),
                F(name: "quantity", value: "3"), F(name: "note", value: "null"),
            ], after: nil)
        #expect(TablesView.placeholderColumns(full).isEmpty)
        #expect(TablesView.summary(full, glyphs: .unicode) == "id=17 unit_price=12.5000 quantity=3 note=null")
    }
}
