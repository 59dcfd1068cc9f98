import Foundation
import TestSupport
import Testing

@testable import App

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the real `cdctop demo` in a detached tmux session (100×30, TERM=screen inside tmux), drives it with
/// keys like a user, reads the pane, and checks that quitting gives a clean shell back.
/// `CDCTOP_E2E_COMMAND` can replace `demo` (e.g. `ui-preview` with `cdctop-dev` put in place of cdctop) while developing the UI.
@Suite(.serialized, .tags(.tmux)) struct DashboardE2ETests {
    @Test func demoDashboardUnderTmux() throws {
        guard Shell.run("command -v tmux").status == 0 else {
            Issue.record(
                "tmux is not installed: apt-get install tmux (scripts/test needs it for the dashboard end-to-end test)")
            return
        }
        guard let binary = cdctopBinary() else {
            Issue.record(
                "cdctop binary not found next to the test bundle \(CommandLine.arguments[0]); run `swift build` first")
            return
        }
        let command = getenv("CDCTOP_E2E_COMMAND").map { String(cString: $0) } ?? "demo"
        let tmux = Tmux(socket: "cdctop-e2e-\(getpid())")
        defer { tmux.run("kill-server") }
        let started = tmux.run(
            "new-session -d -s e2e -x 100 -y 30 \"sh -c 'env -u NO_COLOR \(binary) \(command); echo CDCTOP-EXIT=\\$?; exec sleep 120'\""
        )
        #expect(started.status == 0, "tmux new-session failed: \(started.output)")

        let overview = tmux.waitFor("the Overview with numbers", timeoutMs: 20_000) {
            $0.contains("1 Overview") && $0.contains("Total revenue") && $0.contains("Kafka")
        }
        #expect(
            overview.contains("Window revenue") && overview.contains("Freshness") && overview.contains("Top categories")
        )

        // Tables → one table's recent changes → one event → back twice.
        tmux.send("2")
        tmux.waitFor("a CDC table row", timeoutMs: 15_000) {
            $0.contains("CDC tables") && !$0.contains("no CDC tables seen yet")
        }
        // An Enter that races the list's first frame (no row selected yet) opens nothing, as it would
        // for a person, who presses it again: so does the test, before it expects the drill-down.
        for _ in 0..<3 {
            tmux.send("Enter")
            var waited = 0
            while !Self.isChangeList(tmux.screen()) && waited < 3_000 {
                usleep(100_000)
                waited += 100
            }
            if Self.isChangeList(tmux.screen()) { break }
        }
        tmux.waitFor("a list of changes") { Self.isChangeList($0) }
        tmux.send("Enter")
        let event = tmux.screen()
        if !event.contains("no recent changes kept") {
            tmux.waitFor("the event's before/after") {
                $0.contains("   commit ") && $0.contains("   position ") && $0.contains("after")
            }
        }
        tmux.send("Escape", "Escape")
        tmux.waitFor("the tables list again") { $0.contains("CDC tables") && !Self.isChangeList($0) }

        // Categories: sort by the next column, filter, clear.
        tmux.send("3")
        tmux.waitFor(text: "sorted by total desc")
        tmux.send("s")
        tmux.waitFor(text: "sorted by share desc")
        tmux.send("/", "o")
        tmux.waitFor(text: "filter: /o")
        tmux.send("Enter")
        tmux.waitFor(text: "filter /o:")
        tmux.send("Escape")
        tmux.waitFor("the filter cleared") { !$0.contains("filter /o") }

        // Pause freezes, resuming reports what happened meanwhile.
        tmux.send("p")
        tmux.waitFor(text: "PAUSED since")
        usleep(1_200_000)
        tmux.send("p")
        tmux.waitFor(text: "resumed after")

        // Theme, help, Lag, History. (swift test sets NO_COLOR for its children; the session above unsets it.)
        tmux.send("t")
        tmux.waitFor(text: "theme light")
        tmux.send("?")
        tmux.waitFor("the help overlay") {
            $0.contains("Keys · cdctop") && $0.contains("Redis mirror on-off") && $0.contains("pause the display")
        }
        tmux.send("Escape")
        tmux.waitFor("the help closed") { !$0.contains("Keys · cdctop") }
        tmux.send("4")
        tmux.waitFor(text: "sorted by topic")
        tmux.send("5")
        tmux.waitFor("the History view") { $0.contains("History") && $0.contains("Reconciliation") }

        // Quit: the shell gets a normal screen back and cdctop exits 0.
        tmux.send("q")
        let after = tmux.waitFor(text: "CDCTOP-EXIT=")
        #expect(after.contains("CDCTOP-EXIT=0"), "cdctop did not exit with status 0:\n\(after)")
        #expect(!after.contains("1 Overview"), "the dashboard is still on screen after quitting:\n\(after)")
        let modes = tmux.run("display-message -p -t e2e '#{alternate_on} #{cursor_flag}'").output
        #expect(
            modes.trimmingCharacters() == "0 1", "terminal not restored (alternate screen, cursor visible): \(modes)")
    }
}

extension DashboardE2ETests {
    /// `cdctop watch` against a broker that is not there: the connecting screen names the broker, the
    /// attempt and librdkafka's error verbatim; `c` opens the Connections panel; `--log` has it all.
    @Test func deadBrokerShowsTheConnectingScreenAndTheErrorPanel() throws {
        guard Shell.run("command -v tmux").status == 0 else {
            Issue.record("tmux is not installed: apt-get install tmux")
            return
        }
        guard let binary = cdctopBinary() else {
            Issue.record("cdctop binary not found; run `swift build` first")
            return
        }
        let log = "/tmp/cdctop-e2e-dead-\(getpid()).log"
        unlink(log)
        defer { unlink(log) }
        let tmux = Tmux(socket: "cdctop-e2e-dead-\(getpid())")
        defer { tmux.run("kill-server") }
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let command = "\(binary) watch --brokers 127.0.0.1:1 --topics shop.public.transaction --state none --log \(log)"
        let started = tmux.run(
            "new-session -d -s e2e -x 100 -y 30 \"sh -c '\(command); echo CDCTOP-EXIT=\\$?; exec sleep 120'\"")
        #expect(started.status == 0, "tmux new-session failed: \(started.output)")
        let connecting = tmux.waitFor("the connecting screen with librdkafka's error", timeoutMs: 15_000) {
            $0.contains("Connecting to Kafka 127.0.0.1:1") && $0.contains("Connection refused")
                && $0.contains("attempt")
        }
        #expect(
            !connecting.contains("Total revenue"), "a screen of zeros instead of the connecting screen:\n\(connecting)")
        #expect(connecting.contains("c connections"))
        tmux.send("c")
        tmux.waitFor("the Connections panel") {
            $0.contains("Connections · c or Esc closes") && $0.contains("Kafka 127.0.0.1:1  error for")
        }
        tmux.send("c")
        tmux.waitFor("the panel closed") { !$0.contains("Connections · c or Esc closes") }
        tmux.send("q")
        tmux.waitFor(text: "CDCTOP-EXIT=0")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let logged = ["kafka: ", "error", "Connection refused", " quit"].allSatisfy { text.contains($0) }
        #expect(logged, "the --log file lacks the state change or the error:\n\(text)")
        #expect(
            text.split(separator: "\n").allSatisfy { $0.first?.isNumber == true || $0.first == "\t" },
            "a log line without a timestamp:\n\(text)")
    }
}

extension DashboardE2ETests {
    /// The demo under tmux: the cursor in a table's recent changes stays on its event while new changes
    /// push the list down, Enter opens that very event, and it stays open; a mouse click on a tab and on
    /// a row works (X10 mouse reports typed into the pane, as a terminal sends them).
    /// A pane line (with escapes) that turns reverse video on: `ESC[7m`, `ESC[0;7m`, `ESC[1;7m`…
    /// A table's list of changes: its title says whether it follows the newest or is frozen.
    static func isChangeList(_ screen: String) -> Bool {
        screen.contains("FOLLOWING newest") || screen.contains(" · FROZEN at ")
    }

    static func isReversed(_ line: Substring) -> Bool {
        line.range(of: "\u{1b}\\[([0-9]+;)*7m", options: .regularExpression) != nil
    }

    @Test func cursorHoldsStillAndMouseClicksWork() throws {
        guard Shell.run("command -v tmux").status == 0 else {
            Issue.record("tmux is not installed: apt-get install tmux")
            return
        }
        guard let binary = cdctopBinary() else {
            Issue.record("cdctop binary not found; run `swift build` first")
            return
        }
        let tmux = Tmux(socket: "cdctop-e2e-cursor-\(getpid())")
        defer { tmux.run("kill-server") }
        let started = tmux.run(
            "new-session -d -s e2e -x 100 -y 30 \"sh -c '\(binary) demo; echo CDCTOP-EXIT=\\$?; exec sleep 120'\"")
        #expect(started.status == 0, "tmux new-session failed: \(started.output)")
        tmux.waitFor("the Overview with data", timeoutMs: 20_000) { $0.contains("Total revenue") }
        tmux.send("2")
        tmux.waitFor("the tables", timeoutMs: 15_000) { $0.contains("transaction") && $0.contains("CDC tables") }
        tmux.send(":", "t", "a", "b", "l", "e", "Space", "t", "r", "a", "n", "s", "a", "c", "t", "i", "o", "n", "Enter")
        tmux.waitFor("a page of recent changes") {
            $0.contains("transaction · FOLLOWING newest") && $0.components(separatedBy: "@").count > 8
        }
        tmux.send("Down", "Down", "Down")
        usleep(300_000)
        // The selected row is drawn in reverse video: find it in the pane's escape sequences.
        func selectedPosition() -> String? {
            let lines = tmux.run("capture-pane -e -p -t e2e").output.split(separator: "\n")
            guard let line = lines.first(where: { Self.isReversed($0) && $0.contains("@") }) else { return nil }
            let plain = line.replacingOccurrences(of: "\u{1b}\\[[0-9;]*m", with: "", options: .regularExpression)
            return plain.split(separator: " ").first { $0.hasPrefix("p") && $0.contains("@") }.map(String.init)
        }
        let before = try #require(
            selectedPosition(),
            "no selected row found:\n\(tmux.run("capture-pane -e -p -t e2e").output.debugDescription)")
        // Wait until newer changes arrived (the title counts what is kept; the demo writes 400 msgs/s).
        func kept(_ screen: String) -> String? {
            screen.components(separatedBy: "transaction · ").dropFirst().first?.components(separatedBy: " kept").first
        }
        let keptBefore = kept(tmux.screen())
        tmux.waitFor("newer changes") { kept($0) != keptBefore }
        usleep(500_000)
        #expect(selectedPosition() == before, "the cursor left its event \(before):\n\(tmux.screen())")
        tmux.send("Enter")
        let event = tmux.waitFor("the event that was under the cursor") {
            $0.contains("position shop.public.transaction[")
        }
        let position = before.dropFirst()  // "0@123" from "p0@123"
        let partition = position.split(separator: "@")[0]
        let offset = position.split(separator: "@")[1]
        #expect(event.contains("transaction[\(partition)]@\(offset)"), "opened another event than \(before):\n\(event)")
        usleep(1_500_000)
        #expect(tmux.screen().contains("transaction[\(partition)]@\(offset)"), "the opened event did not stay")
        tmux.send("y")
        tmux.waitFor(text: "raw JSON value")
        // One key at a time, as a person types: ESC followed at once by more bytes reads as Alt+key.
        tmux.send("y")
        tmux.waitFor("the decoded event again") {
            !$0.contains("raw JSON value") && $0.contains("position shop.public.transaction[")
        }
        tmux.send("Escape")
        tmux.waitFor("a list of changes") { Self.isChangeList($0) }
        tmux.send("Escape")
        tmux.waitFor("the tables list") { $0.contains("CDC tables") && !Self.isChangeList($0) }

        // Mouse: a press and release on "4 Lag" (row 1), then on the third partition row.
        func click(x: Int, y: Int) {
            func cell(_ v: Int) -> String { String(UnicodeScalar(UInt8(32 + v + 1))) }
            // ESC [ M, button (32 press, 35 release), column and row + 33; single-quoted for sh.
            tmux.run("send-keys -t e2e -l '\u{1b}[M \(cell(x))\(cell(y))'")
            tmux.run("send-keys -t e2e -l '\u{1b}[M#\(cell(x))\(cell(y))'")
        }
        // Where the tab bar of this 100-column pane, with the Tables view current, puts "4 Lag".
        let lagTab = DashboardRenderer.tabRanges(width: 100, current: .tables).first { $0.view == .lag }!.range
        click(x: lagTab.lowerBound + 2, y: 1)
        tmux.waitFor(text: "sorted by topic")
        click(x: 10, y: 7)  // (row 6 would encode as a single quote)
        tmux.waitFor("the clicked row selected") { _ in
            Self.isReversed(tmux.run("capture-pane -e -p -t e2e").output.split(separator: "\n")[7])
        }
        tmux.send("q")
        tmux.waitFor(text: "CDCTOP-EXIT=0")
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
