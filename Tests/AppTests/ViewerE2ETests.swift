import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 24 item 9: a second `cdctop watch` on a state directory another cdctop writes runs as a viewer.
/// On a Tansu of the test's own, under live traffic from `cdctop generate --rate`: a writer `watch --headless
/// --json` on a state directory, then a viewer on the same directory mid-stream. Checked: the viewer says so
/// (stderr, `--json`'s `state.viewer_of_pid`, the dashboard's title and status bar under tmux); once both read
/// to the end, the viewer's KPIs equal the writer's and the generator's ground truth; after the writer exits
/// the viewer reads on as a viewer and leaves every file of the directory as the writer left it (SHA-256);
/// the writer's group keeps the offsets the writer committed (its lag is exactly what only the viewer read),
/// the viewer's own group has none; the writer's restart on its directory, and the viewer, equal a
/// from-scratch read of all the topics. Refusals: --state-reset, --redis and --no-viewer on a busy directory.
@Suite("A second watch on a busy state directory is a viewer", .serialized, .tags(.tmux))
struct ViewerE2ETests {
    /// The fields `cdctop generate --print-truth` shares with `--json` (as scripts/state-chaos.py compares them).
    static let kpiFields = ["window_ms", "messages", "windows", "totals", "malformed", "dropped"]

    /// A `watch` in the background, its stdout and stderr in files of the test's directory.
    final class Watch {
        let process = Process()
        let stdoutPath: String, stderrPath: String
        var pid: Int32 { process.processIdentifier }

        init(_ binary: String, _ arguments: [String], directory: String, name: String) throws {
            stdoutPath = "\(directory)/\(name).out"
            stderrPath = "\(directory)/\(name).err"
            _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            try process.run()
        }

        var lines: [[String: Any]] {
            let text = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        /// The last line once 3 in a row show `messages` (the result no longer moves).
        func settled(at messages: Int) -> [String: Any]? {
            let last = lines.suffix(3)
            guard last.count == 3, last.allSatisfy({ ($0["messages"] as? Int) == messages }) else { return nil }
            return last.last
        }

        /// SIGTERM (a clean exit: the writer saves its last checkpoint and commits), then waits.
        func stop() {
            guard process.isRunning else { return }
            kill(pid, SIGTERM)
            process.waitUntilExit()
        }
        deinit {
            if process.isRunning {
                kill(pid, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    /// Field by field, as JSON values: "" when equal, else what differs.
    static func differences(_ a: [String: Any], _ b: [String: Any], fields: [String] = kpiFields) -> String {
        fields.filter { !NSDictionary(dictionary: [$0: a[$0] ?? NSNull()]).isEqual(to: [$0: b[$0] ?? NSNull()]) }
            .map { "\($0): \(a[$0] ?? "absent") ≠ \(b[$0] ?? "absent")" }.joined(separator: "; ")
    }

    /// SHA-256, size and time of every file under `directory` (sha256sum and stat): the viewer must leave all
    /// of them as they were.
    static func digests(_ directory: String) throws -> String {
        let run = Shell.run(
            "cd '\(directory)' && find . -type f | sort | xargs sha256sum && find . -type f | sort | xargs stat -c '%n %s %Y'"
        )
        try #require(run.status == 0 && !run.output.isEmpty, "sha256sum failed: \(run.output)")
        return run.output
    }

    @Test func viewerEqualsWriterAndGroundTruthAndWritesNothing() throws {
        let binary = try #require(
            cdctopBinary(), "cdctop binary not found next to the test bundle; run `swift build` first")
        let broker = try OwnTansu()
        defer { broker.stop() }
        let tag = "vw\(UInt32.random(in: 0...UInt32.max))"
        let work = NSTemporaryDirectory() + "cdctop-\(tag)"
        let state = work + "/state"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let topics = "^\(tag)\\.public\\..*"
        let common = ["watch", "--brokers", broker.address, "--topics", topics, "--group", tag]

        // Live traffic with wall-clock commit times; its ground truth comes at the end.
        let generator = try Watch(
            binary,
            [
                "generate", "--brokers", broker.address, "--prefix", tag, "--rate", "400",
                "--count", "5000", "--print-truth",
            ], directory: work, name: "generate")
        defer { generator.stop() }
        let writer = try Watch(
            binary,
            common + [
                "--state", state, "--checkpoint-interval", "0.5", "--headless", "--json",
                "--interval", "200",
            ], directory: work, name: "writer")
        defer { writer.stop() }
        // The viewer starts mid-stream, from a checkpoint that holds something.
        let checkpointed = poll(seconds: 60, every: 0.1) {
            guard let last = writer.lines.last, let saved = last["state"] as? [String: Any] else { return false }
            return (saved["checkpoints"] as? Int ?? 0) >= 1 && (last["messages"] as? Int ?? 0) >= 400
        }
        try #require(checkpointed, "the writer saved no checkpoint: \(writer.stderr)")

        // What a viewer refuses on a busy directory, before touching anything.
        let busy = "in use by another cdctop (pid \(writer.pid))"
        for (flag, why) in [
            (["--state-reset"], "would delete the state it is writing"),
            (["--redis", "redis://127.0.0.1:1/0"], "does not write the Redis mirror"),
            (["--no-viewer"], "--no-viewer"),
        ] {
            let refused = try runCapturing(
                binary,
                common + ["--state", state, "--headless", "--json", "--until-caught-up", "--timeout", "30"] + flag)
            #expect(
                refused.status == 1 && refused.stderr.contains(busy) && refused.stderr.contains(why),
                "\(flag): \(refused.status) \(refused.stderr)")
        }

        let viewer = try Watch(
            binary, common + ["--state", state, "--headless", "--json", "--interval", "200"], directory: work,
            name: "viewer")
        defer { viewer.stop() }
        let announced = poll(seconds: 30, every: 0.1) {
            viewer.stderr.contains("running as a viewer") && !viewer.lines.isEmpty
        }
        #expect(announced, "the viewer did not say it is one: \(viewer.stderr)")
        #expect(
            viewer.stderr.contains("in use by pid \(writer.pid)") && viewer.stderr.contains(": restored "),
            "\(viewer.stderr)")
        let viewerState = try #require(viewer.lines.last?["state"] as? [String: Any])
        #expect(
            viewerState["viewer_of_pid"] as? Int == Int(writer.pid) && viewerState["checkpoints"] as? Int == 0,
            "\(viewerState)")
        #expect((writer.lines.last?["state"] as? [String: Any])?["viewer_of_pid"] is NSNull, "the writer is no viewer")

        // The dashboard of a second viewer names the writer in its title and its status bar.
        let tmux = Tmux.privateServer("cdctop-viewer")
        defer { tmux.stop() }
        // Through a script: the topic pattern's backslashes pass through no further quoting.
        let script = work + "/dashboard.sh"
        try
            ("exec env -u NO_COLOR '\(binary)' "
            + (common + ["--state", state]).map { "'\($0)'" }.joined(separator: " ") + "\n")
            .write(toFile: script, atomically: true, encoding: .utf8)
        #expect(tmux.start("sh \(script)", width: 160, height: 40))
        let screen = tmux.waitFor("the viewer marker on the dashboard", timeoutMs: 30_000) {
            $0.contains("viewer of pid \(writer.pid) (state read-only) · watch")
                && $0.contains("state ● viewer of pid \(writer.pid) (state read-only)")
        }
        #expect(screen.contains("viewer of pid \(writer.pid)"), "\(screen)")
        // Its Lag view: the committed offsets and group lag of the writer's group (the viewer's own never
        // commits), said in the title once the cluster answered.
        tmux.send("4")
        let lag = tmux.waitFor("the writer's group in the viewer's Lag view", timeoutMs: 30_000) {
            $0.contains("(writer's group \(tag) ") && !$0.contains("(writer's group \(tag) …)")
        }
        #expect(lag.contains("(writer's group \(tag) "), "\(lag)")
        tmux.send("q")
        tmux.waitFor(text: "CDCTOP-EXIT=0", timeoutMs: 15_000)

        // Both read to the end of the generator's messages: equal to each other and to its truth.
        generator.process.waitUntilExit()
        #expect(generator.process.terminationStatus == 0, "\(generator.stderr)")
        let truthLine = try #require(
            (try String(contentsOfFile: generator.stdoutPath, encoding: .utf8)).split(separator: "\n").last)
        let truth = try #require(try JSONSerialization.jsonObject(with: Data(truthLine.utf8)) as? [String: Any])
        let total = try #require(truth["messages"] as? Int)
        var writerFinal: [String: Any]?
        var viewerFinal: [String: Any]?
        _ = poll(seconds: 120, every: 0.2) {
            writerFinal = writer.settled(at: total)
            viewerFinal = viewer.settled(at: total)
            return writerFinal != nil && viewerFinal != nil
        }
        let writerResult = try #require(
            writerFinal, "the writer never read \(total) messages: \(writer.lines.last?["messages"] ?? "none")")
        let viewerResult = try #require(
            viewerFinal, "the viewer never read \(total) messages: \(viewer.lines.last?["messages"] ?? "none")")
        #expect(Self.differences(viewerResult, writerResult) == "", "viewer vs writer")
        #expect(Self.differences(viewerResult, truth) == "", "viewer vs truth")
        #expect(Self.differences(writerResult, truth) == "", "writer vs truth")

        // The writer exits (its last checkpoint and offsets saved); the viewer stays a viewer and writes nothing.
        writer.stop()
        #expect(writer.process.terminationStatus == 0, "\(writer.stderr)")
        let before = try Self.digests(state)
        let more = try runCapturing(
            binary,
            [
                "generate", "--brokers", broker.address, "--prefix", tag, "--rate", "1000",
                "--count", "800", "--seed", "7",
            ])
        #expect(more.status == 0, "\(more.stderr)")
        let words = more.stderr.split(whereSeparator: { $0 == " " || $0 == "\n" })
        let added = try #require(words.lastIndex(of: "generated").flatMap { Int(words[$0 + 1]) }, "\(more.stderr)")
        var viewerLater: [String: Any]?
        _ = poll(seconds: 60, every: 0.2) {
            viewerLater = viewer.settled(at: total + added)
            return viewerLater != nil
        }
        let viewerAfter = try #require(
            viewerLater,
            "the viewer stopped reading once the writer exited: \(viewer.lines.last?["messages"] ?? "none")")
        #expect(
            (viewerAfter["state"] as? [String: Any])?["viewer_of_pid"] as? Int == Int(writer.pid),
            "it did not take the directory over")
        viewer.stop()
        #expect(viewer.process.terminationStatus == 0, "\(viewer.stderr)")
        let after = try Self.digests(state)
        #expect(after == before, "the viewer changed the state directory: \(before) → \(after)")

        // The writer's group kept the writer's offsets: its lag is exactly what only the viewer read. The
        // viewer's own group committed nothing.
        let viewerGroup = "\(tag)-viewer-\(viewer.pid)"
        let probe = try Watch(
            binary,
            [
                "watch", "--brokers", broker.address, "--topics", topics, "--group", "\(tag)-probe", "--state", "none",
                "--headless", "--json", "--interval", "300", "--lag-groups", "\(tag),\(viewerGroup)",
                "--lag-groups-interval", "0.5",
            ], directory: work, name: "probe")
        defer { probe.stop() }
        var groups: [[String: Any]] = []
        _ = poll(seconds: 60, every: 0.2) {
            groups = (probe.lines.last?["lag_groups"] as? [[String: Any]]) ?? []
            return groups.contains { $0["group"] as? String == tag && !(($0["partitions"] as? [Any]) ?? []).isEmpty }
        }
        probe.stop()
        let writerGroup = try #require(
            groups.first { $0["group"] as? String == tag }, "no lag for group \(tag): \(groups)")
        #expect(
            writerGroup["lag"] as? Int == added,
            "group \(tag): lag \(writerGroup["lag"] ?? "?"), expected the \(added) messages only the viewer read")
        let viewerCommitted =
            (groups.first { $0["group"] as? String == viewerGroup }?["partitions"] as? [[String: Any]] ?? [])
            .filter { ($0["committed"] as? Int ?? -1) >= 0 }
        #expect(viewerCommitted.isEmpty, "the viewer committed offsets to \(viewerGroup): \(viewerCommitted)")

        // The writer's restart on its untouched directory, the viewer and a from-scratch read agree.
        let restarted = try runCapturing(
            binary, common + ["--state", state, "--headless", "--json", "--until-caught-up", "--timeout", "120"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(restarted.stderr.contains(": restored ") && !restarted.stderr.contains("viewer"), "\(restarted.stderr)")
        let scratch = try runCapturing(
            binary,
            [
                "watch", "--brokers", broker.address, "--topics", topics, "--group", "\(tag)-scratch",
                "--state", "none", "--headless", "--json", "--until-caught-up", "--timeout", "120",
            ])
        #expect(scratch.status == 0, "\(scratch.stderr)")
        func last(_ run: ProgramRun) throws -> [String: Any] {
            let line = try #require(run.stdout.split(separator: "\n").last, "\(run.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let restartResult = try last(restarted)
        let scratchResult = try last(scratch)
        #expect(scratchResult["messages"] as? Int == total + added)
        #expect(Self.differences(restartResult, scratchResult) == "", "the writer's restart vs a from-scratch read")
        #expect(Self.differences(viewerAfter, scratchResult) == "", "the viewer vs a from-scratch read")
    }
}
