import Foundation
import TestSupport
import Testing

@testable import App

#if canImport(Glibc)
    import Glibc
#endif

/// The real `cdctop demo` under tmux: `0` opens Trends, whose charts fill with the demo's traffic and
/// carry their scales (y: top, middle, 0 with units; x: clock times) at 80×24, 60×16 and 200×60;
/// `w` switches the span and the title says so.
@Suite(.serialized, .tags(.tmux)) struct TrendsE2ETests {
    /// A time label under a chart: HH:MM:SS (`seconds`) or HH:MM.
    static func hasClockLabel(_ line: Substring, seconds: Bool) -> Bool {
        line.split(separator: " ").contains { w in
            w.count == (seconds ? 8 : 5)
                && w.enumerated().allSatisfy { i, c in i == 2 || i == 5 ? c == ":" : c.isNumber }
        }
    }

    /// The events/s chart has drawn bars, a y axis with `/s` and clock times under it.
    static func chartIsReadable(_ screen: String, seconds: Bool = true) -> Bool {
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        let bars = "▁▂▃▄▅▆▇█"
        return screen.contains("Events/s") && lines.contains { $0.contains("/s│") }
            && lines.contains { $0.contains { bars.contains($0) } }
            && lines.contains { hasClockLabel($0, seconds: seconds) }
    }

    @Test(.timeLimit(.minutes(3))) func trendsViewFillsWithAxesAtEverySize() throws {
        guard Shell.run("command -v tmux").status == 0 else {
            Issue.record(
                "tmux is not installed: apt-get install tmux (scripts/test needs it for the dashboard end-to-end tests)"
            )
            return
        }
        guard let binary = cdctopBinary() else {
            Issue.record(
                "cdctop binary not found next to the test bundle \(CommandLine.arguments[0]); run `swift build` first")
            return
        }
        let pane = Tmux.privateServer("cdctop-trends", session: "s")
        defer { pane.stop() }
        #expect(pane.start("env -u NO_COLOR LANG=C.UTF-8 \(binary) demo --rate 200", width: 80, height: 24))
        pane.waitFor("the Overview", timeoutMs: 30_000) { $0.contains("Total revenue") }
        pane.send("0")
        let first = pane.waitFor("a Trends chart with axes at 80×24", timeoutMs: 20_000) { Self.chartIsReadable($0) }
        #expect(
            first.contains("Trends › pipeline (all tables) · last 5 min"),
            "the title names the scope and span:\n\(first)")
        #expect(first.contains("Lag") && first.contains("Freshness"))
        for (width, height) in [(60, 16), (200, 60)] {
            pane.run("resize-window -t s -x \(width) -y \(height)")
            let screen = pane.waitFor("a Trends chart with axes at \(width)×\(height)", timeoutMs: 15_000) {
                Self.chartIsReadable($0) && $0.split(separator: "\n").count >= height - 1
            }
            #expect(!screen.contains("terminal too small"))
            #expect(screen.split(separator: "\n").allSatisfy { DisplayWidth.of($0) <= width })
        }
        // 200×60 lists the scopes; ↓ picks the first table, `w` the hour.
        pane.send("Down")
        pane.waitFor("a table chosen", timeoutMs: 10_000) {
            !$0.contains("pipeline (all tables) ·") && $0.contains("Trends › ")
        }
        pane.send("w")
        pane.waitFor("the hour's chart with HH:MM times", timeoutMs: 15_000) {
            $0.contains("last 1 h") && Self.chartIsReadable($0, seconds: false)
        }
        pane.send("q")
        pane.waitFor("a clean exit", timeoutMs: 15_000) { $0.contains("CDCTOP-EXIT=0") }
    }
}
