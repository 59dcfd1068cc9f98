import Foundation
import TestSupport
import Testing

@testable import App

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 24 under tmux, as a user drives it: follow / freeze under a fast stream, the `:` command line's
/// answers and completion, every view at 60×16, 80×24 and 200×60, and an export read back and compared
/// with `--json`. Each test starts its own tmux server and stops it (and what runs in it) by its socket.
@Suite(.serialized) struct DashboardFollowE2ETests {
    /// A tmux server of our own, one session `s`.
    static func pane() -> Tmux { Tmux.privateServer("cdctop-follow", session: "s") }

    static func prerequisites() -> String? {
        guard Shell.run("command -v tmux").status == 0 else {
            Issue.record("tmux is not installed: apt-get install tmux (the dashboard end-to-end tests need it)")
            return nil
        }
        guard let b = cdctopBinary() else {
            Issue.record(
                "cdctop binary not found next to the test bundle \(CommandLine.arguments[0]); run `swift build` first")
            return nil
        }
        return b
    }

    /// "FROZEN at 09:39:14 · 408 new" → 408.
    static func newCount(_ screen: String) -> Int? {
        guard let r = screen.range(of: " new · f follows") else { return nil }
        let head = screen[..<r.lowerBound]
        let digits = head.reversed().prefix { $0.isNumber || $0 == "," }.reversed().filter(\.isNumber)
        return Int(String(digits))
    }

    /// The change rows of the list (lines that start with a commit time inside the box).
    static func changeRows(_ screen: String) -> [String] {
        screen.split(separator: "\n").map(String.init).filter { line in
            let t = line.drop { $0 == "│" }
            return t.count > 8 && t.prefix(8).filter({ $0 == ":" }).count == 2 && t.prefix(2).allSatisfy(\.isNumber)
        }
    }

    @Test(.timeLimit(.minutes(4))) func followAndFreezeUnderAFastStreamAndTheCommandLine() throws {
        guard let binary = Self.prerequisites() else { return }
        let pane = Self.pane()
        defer { pane.stop() }
        #expect(pane.start("env -u NO_COLOR \(binary) demo --rate 500", width: 120, height: 30))
        pane.waitFor("the Overview", timeoutMs: 30_000) { $0.contains("Total revenue") && $0.contains("Kafka ● ok") }

        // Every table seen first (the demo's first changes come from two tables only).
        pane.send("2")
        pane.waitFor("all four tables", timeoutMs: 15_000) {
            $0.contains("transactiondetail") && $0.contains("customer")
        }
        // `:table` answers: an unknown name lists the tables, an ambiguous prefix its choices. The first
        // keys can race the dashboard's start (as for a person, who types again): up to three tries.
        for _ in 0..<3 {
            pane.send(":")
            pane.type("table nope")
            pane.send("Enter")
            if pane.poll(timeoutMs: 3_000, { $0.contains("no table 'nope'") }) { break }
            pane.send("Escape")
        }
        pane.waitFor("the unknown-table error", timeoutMs: 15_000) {
            $0.contains("no table 'nope'; tables: ") && $0.contains("transactiondetail")
        }
        pane.send(":")
        pane.waitFor("the stale error cleared by the next command", timeoutMs: 15_000) {
            !$0.contains("no table 'nope'")
        }
        pane.type("table tran")
        pane.send("Enter")
        pane.waitFor("the ambiguous-table error", timeoutMs: 15_000) {
            $0.contains("table 'tran' is ambiguous: transaction, transactiondetail")
        }
        pane.send(":")
        pane.type("la")
        pane.send("Enter")
        pane.waitFor("the ambiguous view prefix", timeoutMs: 15_000) {
            $0.contains(":la is ambiguous: :lag or :latency")
        }
        // Tab completes `tran` to what both share and lists them, then the unique `transactiond`.
        pane.send(":")
        pane.type("table tran")
        pane.send("Tab")
        pane.waitFor("Tab's choices", timeoutMs: 15_000) {
            $0.contains(":table transaction") && $0.contains("Tab: transaction  transactiondetail")
        }
        pane.send("Escape")
        pane.send(":")
        pane.type("tab")
        pane.send("Tab")
        pane.waitFor("Tab completing tab to table", timeoutMs: 15_000) {
            $0.contains(":table█") && $0.contains("Tab: tables  table")
        }
        pane.type(" tran")
        pane.send("Tab", "Enter")
        var screen = pane.waitFor("the changes of transaction, following", timeoutMs: 15_000) {
            $0.contains("transaction · FOLLOWING newest")
        }

        // Following: the top row changes as changes arrive.
        let firstTop = Self.changeRows(screen).first
        screen = pane.waitFor("a newer change on top", timeoutMs: 15_000) {
            Self.changeRows($0).first != firstTop && Self.changeRows($0).count > 5
        }

        // ↓ freezes: the rows stay while thousands arrive, more than the 2,048 the engine keeps per table.
        pane.send("j")
        screen = pane.waitFor("the frozen list", timeoutMs: 15_000) { $0.contains("FROZEN at") }
        let frozenRows = Self.changeRows(screen)
        #expect(frozenRows.count > 5)
        screen = pane.waitFor("more than 2,048 new changes while frozen", timeoutMs: 120_000) {
            (Self.newCount($0) ?? 0) > 2_100
        }
        #expect(Self.changeRows(screen) == frozenRows, "the frozen rows moved:\n\(screen)")
        // Y copies the selected event's JSON through OSC 52: tmux (set-clipboard on) keeps it as its buffer.
        pane.run("set -g set-clipboard on")
        pane.send("Y")
        pane.waitFor("the copy's toast", timeoutMs: 15_000) { $0.contains("copied the event's JSON") }
        let key =
            frozenRows[1].split(separator: " ").filter { !$0.isEmpty && $0 != "│" }.dropFirst(2).first.map(String.init)
            ?? "?"
        let clipboard = pane.run("show-buffer").output
        #expect(
            clipboard.hasPrefix("{") && clipboard.contains("\"transaction_id\":\(key)"),
            "clipboard: \(clipboard.prefix(300))")
        // The selected (second) row opens although the engine has dropped it.
        let selected = frozenRows[1]
        // "p0@948" in the list is "shop.public.transaction[0]@948" in the event's title.
        let position =
            selected.split(separator: " ").first { $0.hasPrefix("p") && $0.contains("@") }.map {
                "[" + $0.dropFirst().replacingOccurrences(of: "@", with: "]@")
            } ?? "?"
        pane.send("Enter")
        pane.waitFor("the frozen event \(position) opened", timeoutMs: 15_000) {
            $0.contains("position shop.public.transaction" + position)
        }
        pane.send("Escape")
        screen = pane.waitFor("back in the frozen list", timeoutMs: 15_000) { $0.contains("FROZEN at") }
        #expect(Self.changeRows(screen) == frozenRows)
        // f follows again.
        pane.send("f")
        pane.waitFor("following again", timeoutMs: 15_000) {
            $0.contains("FOLLOWING newest") && Self.changeRows($0).first != frozenRows.first
        }
        pane.send("q")
        pane.waitFor("a clean exit", timeoutMs: 15_000) { $0.contains("CDCTOP-EXIT=0") }
    }

    /// What each view must show at every size: its name in the tab bar and title, and its key column.
    static let mustShow: [(key: String, view: String, texts: [String])] = [
        ("1", "Overview", ["Top categories"]),
        ("2", "Tables", ["table", "transaction"]),
        ("3", "Categories", ["category", "total", "share", "electronics"]),
        ("4", "Lag", ["topic", "lag", "customer"]),
        ("5", "History", ["History"]),
        ("6", "Alerts", ["Alerts"]),
        ("7", "Latency", ["table", "transaction"]),
        ("8", "KPIs", ["KPIs"]),
        ("0", "Trends", ["Events/s"]),
    ]

    @Test(.timeLimit(.minutes(3))) func everyViewAtEverySizeKeepsItsNameAndKeyColumn() throws {
        guard let binary = Self.prerequisites() else { return }
        let pane = Self.pane()
        defer { pane.stop() }
        #expect(pane.start("env -u NO_COLOR \(binary) demo --rate 200", width: 200, height: 60))
        pane.waitFor("the Overview", timeoutMs: 30_000) { $0.contains("Total revenue") && $0.contains("Kafka ● ok") }
        for (width, height) in [(60, 16), (80, 24), (200, 60)] {
            pane.run("resize-window -t s -x \(width) -y \(height)")
            for v in Self.mustShow {
                pane.send(v.key)
                let screen = pane.waitFor("view \(v.view) at \(width)×\(height)", timeoutMs: 15_000) { s in
                    let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
                    guard lines.count >= 2 else { return false }
                    // The view's name whole in the title (never "Overv…") and on its tab.
                    return lines[0].contains("› " + v.view) && lines[1].contains(v.key + " " + v.view)
                        && v.texts.allSatisfy { s.contains($0) }
                }
                #expect(!screen.contains("terminal too small"))
                #expect(screen.split(separator: "\n").allSatisfy { DisplayWidth.of($0) <= width })
            }
        }
        pane.send("q")
        pane.waitFor("a clean exit", timeoutMs: 15_000) { $0.contains("CDCTOP-EXIT=0") }
    }

    @Test(.timeLimit(.minutes(4))) func exportReadBackEqualsTheJSONResult() throws {
        guard let binary = Self.prerequisites() else { return }
        guard let brokers = getenv("CDCTOP_TEST_BROKERS").map({ String(cString: $0) }) else {
            Issue.record("CDCTOP_TEST_BROKERS is not set: run scripts/services up tansu and source .run/env")
            return
        }
        let prefix = "dashexport\(getpid())x\(Int.random(in: 0..<100_000))"
        let generated = Shell.run("\(binary) generate --brokers \(brokers) --prefix \(prefix) --count 3000 --seed 24")
        #expect(generated.status == 0, "generate failed: \(generated.output)")
        let topics = "'^\(prefix)\\..*'"
        let headless = Shell.run(
            "\(binary) watch --brokers \(brokers) --topics \(topics) --group \(prefix)-json --state none "
                + "--headless --json --until-caught-up --timeout 120 2>/dev/null")
        #expect(headless.status == 0, "headless run failed: \(headless.output)")
        let lastLine = headless.output.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "{}"
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        let totals = try #require(result["totals"] as? [String: Any])
        let categories = try #require(totals["category_revenue"] as? [String: String])
        #expect(!categories.isEmpty)

        let directory = "/tmp/" + prefix
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pane = Self.pane()
        defer { pane.stop() }
        #expect(
            pane.start(
                "env -u NO_COLOR \(binary) watch --brokers \(brokers) --topics \(topics) --group \(prefix)-ui --state none",
                width: 140, height: 40, directory: directory))
        // Caught up when the status bar counts as many messages as the headless run read.
        let messages = try #require(result["messages"] as? Int)
        pane.waitFor("all \(messages) messages read", timeoutMs: 60_000) {
            $0.contains("msgs " + Format.count(messages))
        }
        pane.send("3")
        pane.waitFor("the categories", timeoutMs: 15_000) { $0.contains("electronics") }
        pane.send("E")
        let toast = pane.waitFor("the export's toast", timeoutMs: 15_000) {
            $0.contains("exported ") && $0.contains(".json in ")
        }
        #expect(toast.contains(directory) || toast.contains("…"))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix("cdctop-categories-")
        }
        let file = try #require(files.first, "no export file in \(directory)")
        #expect(toast.contains(file) || toast.contains("cdctop-categories-"))
        let rows = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
                as? [[String: Any]])
        var exported: [String: String] = [:]
        for row in rows {
            if let name = row["category"] as? String, let total = row["total"] as? String { exported[name] = total }
        }
        #expect(exported == categories, "export \(exported) vs --json \(categories)")
        pane.send("q")
        pane.waitFor("a clean exit", timeoutMs: 15_000) { $0.contains("CDCTOP-EXIT=0") }
    }
}
