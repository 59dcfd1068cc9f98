@testable import App
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 24 under tmux, as a user drives it: follow / freeze under a fast stream, the `:` command line's
/// answers and completion, every view at 60×16, 80×24 and 200×60, and an export read back and compared
/// with `--json`. Each test starts its own tmux server and stops it (and what runs in it) by its socket.
@Suite(.serialized) struct DashboardFollowE2ETests {
    /// A tmux server of our own (its socket name), one session `s`.
    struct Pane {
        let socket = "cdctop-follow-\(getpid())-\(Int.random(in: 0..<1_000_000))"

        @discardableResult
        func tmux(_ arguments: String) -> (status: Int32, output: String) { Self.sh("tmux -L \(socket) \(arguments)") }

        static func sh(_ command: String) -> (status: Int32, output: String) {
            guard let pipe = popen(command + " 2>&1", "r") else { return (-1, "popen failed") }
            var data = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 4_096)
            while true {
                let n = fread(&chunk, 1, chunk.count, pipe)
                if n <= 0 { break }
                data += chunk[0..<n]
            }
            let status = pclose(pipe)
            return (status == -1 ? -1 : (status >> 8) & 0xFF, String(decoding: data, as: UTF8.self))
        }

        func start(_ command: String, width: Int, height: Int, directory: String = "/tmp") -> Bool {
            let quoted = command.replacingOccurrences(of: "'", with: "'\\''")
            return tmux("new-session -d -s s -x \(width) -y \(height) -c \(directory) \"sh -c '\(quoted); echo CDCTOP-EXIT=\\$?; exec sleep 300'\"").status == 0
        }

        func keys(_ keys: String...) {
            for k in keys {
                let r = tmux("send-keys -t s \(k)")
                #expect(r.status == 0, "tmux send-keys \(k) failed: \(r.output)")
            }
        }
        /// Literal text (no key names).
        func type(_ text: String) {
            let r = tmux("send-keys -t s -l '\(text)'")
            #expect(r.status == 0, "tmux send-keys -l \(text) failed: \(r.output)")
        }
        func screen() -> String { tmux("capture-pane -p -t s").output }
        func stop() { tmux("kill-server") }

        /// Polls the pane until `condition` holds or `timeoutMs` passes; no expectation (for retries).
        func poll(timeoutMs: Int, _ condition: (String) -> Bool) -> Bool {
            var waited = 0
            while waited < timeoutMs {
                if condition(screen()) { return true }
                usleep(100_000); waited += 100
            }
            return condition(screen())
        }

        @discardableResult
        func wait(_ what: String, timeoutMs: Int = 15_000, _ condition: (String) -> Bool) -> String {
            var waited = 0
            var last = screen()
            while !condition(last) && waited < timeoutMs {
                usleep(100_000); waited += 100
                last = screen()
            }
            #expect(condition(last), "timed out waiting for \(what); the pane shows:\n\(last)")
            return last
        }
    }

    static func binary() -> String? {
        var directory = CommandLine.arguments[0]
        for _ in 0..<4 {
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
            if access(directory + "/cdctop", X_OK) == 0 { return directory + "/cdctop" }
        }
        return nil
    }

    static func prerequisites() -> String? {
        guard Pane.sh("command -v tmux").status == 0 else {
            Issue.record("tmux is not installed: apt-get install tmux (the dashboard end-to-end tests need it)")
            return nil
        }
        guard let b = binary() else {
            Issue.record("cdctop binary not found next to the test bundle \(CommandLine.arguments[0]); run `swift build` first")
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
        let pane = Pane()
        defer { pane.stop() }
        #expect(pane.start("env -u NO_COLOR \(binary) demo --rate 500", width: 120, height: 30))
        pane.wait("the Overview", timeoutMs: 30_000) { $0.contains("Total revenue") && $0.contains("Kafka ● ok") }

        // Every table seen first (the demo's first changes come from two tables only).
        pane.keys("2")
        pane.wait("all four tables") { $0.contains("transactiondetail") && $0.contains("customer") }
        // `:table` answers: an unknown name lists the tables, an ambiguous prefix its choices. The first
        // keys can race the dashboard's start (as for a person, who types again): up to three tries.
        for _ in 0..<3 {
            pane.keys(":"); pane.type("table nope"); pane.keys("Enter")
            if pane.poll(timeoutMs: 3_000, { $0.contains("no table 'nope'") }) { break }
            pane.keys("Escape")
        }
        pane.wait("the unknown-table error") { $0.contains("no table 'nope'; tables: ") && $0.contains("transactiondetail") }
        pane.keys(":")
        pane.wait("the stale error cleared by the next command") { !$0.contains("no table 'nope'") }
        pane.type("table tran"); pane.keys("Enter")
        pane.wait("the ambiguous-table error") { $0.contains("table 'tran' is ambiguous: transaction, transactiondetail") }
        pane.keys(":"); pane.type("la"); pane.keys("Enter")
        pane.wait("the ambiguous view prefix") { $0.contains(":la is ambiguous: :lag or :latency") }
        // Tab completes `tran` to what both share and lists them, then the unique `transactiond`.
        pane.keys(":"); pane.type("table tran"); pane.keys("Tab")
        pane.wait("Tab's choices") { $0.contains(":table transaction") && $0.contains("Tab: transaction  transactiondetail") }
        pane.keys("Escape")
        pane.keys(":"); pane.type("tab"); pane.keys("Tab")
        pane.wait("Tab completing tab to table") { $0.contains(":table█") && $0.contains("Tab: tables  table") }
        pane.type(" tran"); pane.keys("Tab", "Enter")
        var screen = pane.wait("the changes of transaction, following") { $0.contains("transaction · FOLLOWING newest") }

        // Following: the top row changes as changes arrive.
        let firstTop = Self.changeRows(screen).first
        screen = pane.wait("a newer change on top") { Self.changeRows($0).first != firstTop && Self.changeRows($0).count > 5 }

        // ↓ freezes: the rows stay while thousands arrive, more than the 2,048 the engine keeps per table.
        pane.keys("j")
        screen = pane.wait("the frozen list") { $0.contains("FROZEN at") }
        let frozenRows = Self.changeRows(screen)
        #expect(frozenRows.count > 5)
        screen = pane.wait("more than 2,048 new changes while frozen", timeoutMs: 120_000) { (Self.newCount($0) ?? 0) > 2_100 }
        #expect(Self.changeRows(screen) == frozenRows, "the frozen rows moved:\n\(screen)")
        // Y copies the selected event's JSON through OSC 52: tmux (set-clipboard on) keeps it as its buffer.
        pane.tmux("set -g set-clipboard on")
        pane.keys("Y")
        pane.wait("the copy's toast") { $0.contains("copied the event's JSON") }
        let key = frozenRows[1].split(separator: " ").filter { !$0.isEmpty && $0 != "│" }.dropFirst(2).first.map(String.init) ?? "?"
        let clipboard = pane.tmux("show-buffer").output
        #expect(clipboard.hasPrefix("{") && clipboard.contains("\"transaction_id\":\(key)"), "clipboard: \(clipboard.prefix(300))")
        // The selected (second) row opens although the engine has dropped it.
        let selected = frozenRows[1]
        // "p0@948" in the list is "shop.public.transaction[0]@948" in the event's title.
        let position = selected.split(separator: " ").first { $0.hasPrefix("p") && $0.contains("@") }.map { "[" + $0.dropFirst().replacingOccurrences(of: "@", with: "]@") } ?? "?"
        pane.keys("Enter")
        pane.wait("the frozen event \(position) opened") { $0.contains("position shop.public.transaction" + position) }
        pane.keys("Escape")
        screen = pane.wait("back in the frozen list") { $0.contains("FROZEN at") }
        #expect(Self.changeRows(screen) == frozenRows)
        // f follows again.
        pane.keys("f")
        pane.wait("following again") { $0.contains("FOLLOWING newest") && Self.changeRows($0).first != frozenRows.first }
        pane.keys("q")
        pane.wait("a clean exit", timeoutMs: 15_000) { $0.contains("CDCTOP-EXIT=0") }
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
    ]

    @Test(.timeLimit(.minutes(3))) func everyViewAtEverySizeKeepsItsNameAndKeyColumn() throws {
        guard let binary = Self.prerequisites() else { return }
        let pane = Pane()
        defer { pane.stop() }
        #expect(pane.start("env -u NO_COLOR \(binary) demo --rate 200", width: 200, height: 60))
        pane.wait("the Overview", timeoutMs: 30_000) { $0.contains("Total revenue") && $0.contains("Kafka ● ok") }
        for (width, height) in [(60, 16), (80, 24), (200, 60)] {
            pane.tmux("resize-window -t s -x \(width) -y \(height)")
            for v in Self.mustShow {
                pane.keys(v.key)
                let screen = pane.wait("view \(v.view) at \(width)×\(height)") { s in
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
        pane.keys("q")
        pane.wait("a clean exit", timeoutMs: 15_000) { $0.contains("CDCTOP-EXIT=0") }
    }

    @Test(.timeLimit(.minutes(4))) func exportReadBackEqualsTheJSONResult() throws {
        guard let binary = Self.prerequisites() else { return }
        guard let brokers = getenv("CDCTOP_TEST_BROKERS").map({ String(cString: $0) }) else {
            Issue.record("CDCTOP_TEST_BROKERS is not set: run scripts/services up tansu and source .run/env")
            return
        }
        let prefix = "dashexport\(getpid())x\(Int.random(in: 0..<100_000))"
        let generated = Pane.sh("\(binary) generate --brokers \(brokers) --prefix \(prefix) --count 3000 --seed 24")
        #expect(generated.status == 0, "generate failed: \(generated.output)")
        let topics = "'^\(prefix)\\..*'"
        let headless = Pane.sh("\(binary) watch --brokers \(brokers) --topics \(topics) --group \(prefix)-json --state none "
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
        let pane = Pane()
        defer { pane.stop() }
        #expect(pane.start("env -u NO_COLOR \(binary) watch --brokers \(brokers) --topics \(topics) --group \(prefix)-ui --state none",
                           width: 140, height: 40, directory: directory))
        // Caught up when the status bar counts as many messages as the headless run read.
        let messages = try #require(result["messages"] as? Int)
        pane.wait("all \(messages) messages read", timeoutMs: 60_000) { $0.contains("msgs " + Format.count(messages)) }
        pane.keys("3")
        pane.wait("the categories") { $0.contains("electronics") }
        pane.keys("E")
        let toast = pane.wait("the export's toast") { $0.contains("exported ") && $0.contains(".json in ") }
        #expect(toast.contains(directory) || toast.contains("…"))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("cdctop-categories-") }
        let file = try #require(files.first, "no export file in \(directory)")
        #expect(toast.contains(file) || toast.contains("cdctop-categories-"))
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
            as? [[String: Any]])
        var exported: [String: String] = [:]
        for row in rows { if let name = row["category"] as? String, let total = row["total"] as? String { exported[name] = total } }
        #expect(exported == categories, "export \(exported) vs --json \(categories)")
        pane.keys("q")
        pane.wait("a clean exit", timeoutMs: 15_000) { $0.contains("CDCTOP-EXIT=0") }
    }
}
