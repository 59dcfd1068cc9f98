import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `cdctop demo --log` under tmux for 100 s, long enough for the demo's downstream group (demo-jdbc-sink) to
/// read slowly and then stop (from 50 s and 90 s into its cycle), which once ran it past the mock cluster's
/// retention: offset-out-of-range resets filled the log (109 of 116 lines). The log must hold cdctop's
/// own lines only: no offset reset, and no librdkafka line below warning.
@Suite(.serialized, .tags(.tmux)) struct DemoLogE2ETests {
    static let seconds = 100

    @Test func demoLogHoldsNoLibrdkafkaNoise() throws {
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
        let logPath = NSTemporaryDirectory() + "cdctop-demo-log-\(getpid()).log"
        unlink(logPath)
        defer { unlink(logPath) }
        let tmux = Tmux.privateServer("cdctop-demo-log")
        defer { tmux.stop() }
        #expect(tmux.start("env -u NO_COLOR \(binary) demo --log \(logPath)", width: 120, height: 40))
        tmux.waitFor("the Overview with numbers", timeoutMs: 30_000) {
            $0.contains("Total revenue") && $0.contains("Kafka")
        }
        tmux.send("4")

        // The sink's lag on the line-item topic, sampled while it reads slowly and while it stops.
        var largestSinkLag: Int64 = 0
        var lastScreen = ""
        let start = Date()
        while Date().timeIntervalSince(start) < Double(Self.seconds) {
            lastScreen = tmux.screen()
            if lastScreen.contains("CDCTOP-EXIT=") { break }  // ended early: the expectations below say why
            for line in lastScreen.split(separator: "\n")
            where line.contains("demo-jdbc-sink") && line.contains("transactiondetail") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "│" })
                if fields.count >= 7, let lag = Int64(fields[6].replacingOccurrences(of: ",", with: "")) {
                    largestSinkLag = max(largestSinkLag, lag)
                }
            }
            usleep(1_000_000)
        }
        tmux.send("q")
        let exit = tmux.waitFor("the demo to quit", timeoutMs: 60_000) { $0.contains("CDCTOP-EXIT=") }
        #expect(exit.contains("CDCTOP-EXIT=0"), "the pane shows:\n\(exit)")
        // The scenario happened: the sink fell well behind (a second of the line-item topic is ~90 messages a partition).
        #expect(largestSinkLag >= 300, "demo-jdbc-sink never fell behind; last Lag view:\n\(lastScreen)")

        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        let lines = log.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains(" first data: ") }, "the demo never read data; log:\n\(log)")
        for line in lines {
            let lowered = line.lowercased()
            #expect(
                !lowered.contains("offset reset") && !lowered.contains("out of range")
                    && !lowered.contains("deleted before it read"), "offset out of range in the demo: \(line)")
            // librdkafka's own format (`%LEVEL|time|FAC|…`, its default logger) or an echo of its log at notice,
            // info or debug: never in the log without -X debug.
            #expect(
                !(line.hasPrefix("%") && line.dropFirst().first.map { "567".contains($0) } == true),
                "librdkafka noise: \(line)")
            #expect(
                !line.contains("librdkafka[5]") && !line.contains("librdkafka[6]") && !line.contains("librdkafka[7]"),
                "librdkafka noise: \(line)")
        }
        // Every line is cdctop's own: a timestamp first (librdkafka's warnings too, as `kafka: librdkafka warning …`).
        let foreign = lines.filter { !$0.hasPrefix("20") }
        #expect(foreign.isEmpty, "lines not written by cdctop: \(foreign.prefix(5))")
    }
}
