import Foundation
import Metrics
import TestSupport
import Testing

@testable import App

#if canImport(Glibc)
    import Glibc
#endif

/// `cdctop attach` against a real `cdctop watch --redis` (the shared broker and redis-server of
/// scripts/test): the viewer's figures equal the writer's `--json`, on screen under tmux and in the
/// viewer's own `--json`; once the writer stops, the title says so and the age of its last write grows.
@Suite(.serialized, .tags(.tmux)) struct AttachE2ETests {
    @Test func attachShowsTheWritersNumbersAndItsAge() throws {
        guard Shell.run("command -v tmux").status == 0 else {
            Issue.record("tmux is not installed")
            return
        }
        guard let binary = cdctopBinary() else {
            Issue.record("cdctop binary not found next to the test bundle; run `swift build` first")
            return
        }
        guard let broker = TestServices.environment("CDCTOP_TEST_BROKERS"),
            let redis = TestServices.environment("CDCTOP_TEST_REDIS")
        else {
            Issue.record("CDCTOP_TEST_BROKERS and CDCTOP_TEST_REDIS must be set: run the tests with scripts/test")
            return
        }
        let tag = "attach\(getpid())x\(Int.random(in: 0..<1_000_000))"
        let directory = NSTemporaryDirectory() + tag
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let count = 600
        let generated = Shell.run("\(binary) generate --brokers \(broker) --prefix \(tag) --count \(count) --max")
        try #require(generated.status == 0, "generate failed: \(generated.output)")

        // The writer: a real watch with --redis, printing its --json result 5 times a second.
        let redisPrefix = "cdctop-test:\(tag)"
        let writerOutput = directory + "/writer.jsonl"
        _ = FileManager.default.createFile(atPath: writerOutput, contents: nil)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: binary)
        writer.arguments = [
            "watch", "--brokers", broker, "--topics", "^\(tag)\\.public\\..*", "--group", tag, "--state", "none",
            "--headless", "--json", "--interval", "200", "--redis", redis, "--redis-prefix", redisPrefix,
        ]
        writer.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: writerOutput))
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        defer {
            if writer.isRunning {
                writer.terminate()
                writer.waitUntilExit()
            }
        }

        // The writer has read everything when its last lines stop changing at `count` messages or more.
        func writerLines() -> [[String: Any]] {
            let text = (try? String(contentsOfFile: writerOutput, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        func settled() -> [String: Any]? {
            let lines = writerLines().suffix(4)
            guard lines.count == 4, let last = lines.last, let messages = last["messages"] as? Int, messages >= count
            else { return nil }
            return lines.allSatisfy { ($0["messages"] as? Int) == messages } ? last : nil
        }
        var final: [String: Any]?
        for _ in 0..<600 where final == nil {
            final = settled()
            if final == nil { usleep(100_000) }
        }
        let writerResult = try #require(
            final,
            "the writer never settled; its last line: \(writerLines().last.map { "\($0["messages"] ?? "?")" } ?? "none")"
        )

        // The viewer's --json (one read of the mirror) equals the writer's result.
        let viewer = Shell.run(
            "\(binary) attach --redis \(redis) --prefix \(redisPrefix) --headless --json --seconds 1")
        let viewerLine = try #require(
            viewer.output.split(separator: "\n").first { $0.hasPrefix("{") }, "attach printed no JSON: \(viewer.output)"
        )
        let viewerResult = try #require(try JSONSerialization.jsonObject(with: Data(viewerLine.utf8)) as? [String: Any])
        for key in ["messages", "totals", "windows", "window_ms", "malformed", "dropped"] {
            #expect(
                NSDictionary(dictionary: [key: viewerResult[key] ?? NSNull()]).isEqual(to: [
                    key: writerResult[key] ?? NSNull()
                ]),
                "\(key): viewer \(viewerResult[key] ?? "nil") ≠ writer \(writerResult[key] ?? "nil")")
        }

        // On screen: the dashboard of the viewer shows the writer's totals and names it.
        let totals = try #require(writerResult["totals"] as? [String: Any])
        let revenueText = try #require(totals["revenue"] as? String)
        let revenue = Format.money(try #require(Money(decimalText: revenueText)))
        let txCount = Format.count(Int64(try #require(totals["tx_count"] as? Int)))
        let tmux = Tmux(socket: "cdctop-attach-\(getpid())")
        defer { tmux.run("kill-server") }
        let started = tmux.run(
            "new-session -d -s e2e -x 140 -y 36 \"sh -c 'env -u NO_COLOR \(binary) attach --redis \(redis) --prefix \(redisPrefix); echo CDCTOP-EXIT=\\$?; exec sleep 120'\""
        )
        #expect(started.status == 0, "tmux new-session failed: \(started.output)")
        let screen = tmux.waitFor("the writer's totals on the viewer's Overview", timeoutMs: 20_000) {
            $0.contains("Total revenue") && $0.contains(revenue) && $0.contains(txCount)
                && $0.contains("viewer of pid \(writer.processIdentifier)")
        }
        #expect(screen.contains("Redis mirror ● ok"), "\(screen)")

        // The writer stops: the viewer keeps the figures, says there is no writer, and its age grows.
        writer.terminate()
        writer.waitUntilExit()
        func age(_ screen: String) -> Double? {
            guard let range = screen.range(of: "no writer · last write ") else { return nil }
            let number = screen[range.upperBound...].prefix { $0.isNumber || $0 == "." }
            return Double(number)
        }
        let stopped = tmux.waitFor("the viewer noticing the writer is gone", timeoutMs: 20_000) { age($0) != nil }
        let firstAge = try #require(age(stopped))
        let older = tmux.waitFor("the writer's age growing", timeoutMs: 20_000) { (age($0) ?? 0) >= firstAge + 2 }
        #expect(older.contains(revenue), "the last figures stay on screen:\n\(older)")
        #expect(older.contains("Redis mirror ● stalled") && older.contains("Kafka ○ off"), "\(older)")
        tmux.send("q")
        tmux.waitFor(text: "CDCTOP-EXIT=0")
    }
}
