import Foundation
import Metrics
import Pipeline
import Synchronization
import TestSupport
import Testing

/// Alert delivery against a real Alertmanager (`CDCTOP_TEST_ALERTMANAGER`, started by
/// `scripts/services up alertmanager`) and a real `--alert-exec` command. The facts (a connector's
/// REST state) are plain values set by the test; everything after the evaluator is the real path.
@Suite(.serialized, .tags(.alertmanager)) struct AlertDeliveryTests {
    static func alertmanagerURL() throws -> String {
        guard let url = TestServices.environment("CDCTOP_TEST_ALERTMANAGER"), !url.isEmpty else {
            throw AlertTestServiceMissing(
                "CDCTOP_TEST_ALERTMANAGER is not set: run `bash scripts/services up alertmanager && source .run/env` (scripts/test does)"
            )
        }
        return url
    }

    /// Alerts Alertmanager lists as active for `connector` (its API leaves out resolved ones).
    static func activeAlerts(_ url: String, connector: String) throws -> [[String: Any]] {
        let filter = "connector%3D%22\(connector)%22"
        let response = try HTTPService.alertmanager(url: url).perform("/api/v2/alerts?filter=\(filter)")
        #expect(response.status == 200)
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]]) ?? []
    }

    @Test func connectorFailedFiresThenResolvesInAlertmanagerAndExec() throws {
        let url = try Self.alertmanagerURL()
        let connector = "test-\(UUID().uuidString.prefix(8))"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdctop-alert-exec-\(connector)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("alerts.jsonl").path

        let report = Mutex(
            ConnectHealthReport(
                connectors: [
                    ConnectorHealth(
                        name: connector, state: .running,
                        tasks: [
                            ConnectTaskHealth(
                                id: 0, state: .failed,
                                traceFirstLine: "org.apache.kafka.connect.errors.ConnectException: test")
                        ])
                ],
                checkedAtMs: 1, url: "test"))
        let clock = Atomic<Int64>(WallClock.nowMs())
        var rules = AlertRules()
        rules.forMs[.connectorFailed] = 2_000
        rules.keepFiringForMs = 1_000
        let logged = Mutex<[String]>([])
        let sender = try AlertmanagerSender(
            url: url, pipeline: "alert-test", resendMs: 1_000, log: { l in logged.withLock { $0.append(l) } })
        let exec = AlertExecRunner(command: "cat >> '\(out)'", log: { l in logged.withLock { $0.append(l) } })
        let monitor = AlertMonitor(
            rules: rules, pipeline: "alert-test",
            inputs: AlertInputs(snapshot: { nil }, connect: { report.withLock { $0 } }),
            alertmanager: sender, exec: exec, clock: { clock.load(ordering: .relaxed) })
        sender.start()
        exec.start()
        defer {
            sender.stop()
            exec.stop()
        }

        // Pending for `for` (2 s): nothing reaches Alertmanager.
        #expect(monitor.evaluateNow().isEmpty)
        clock.add(1_999, ordering: .relaxed)
        #expect(monitor.evaluateNow().isEmpty)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try Self.activeAlerts(url, connector: connector).isEmpty)

        clock.add(1, ordering: .relaxed)
        #expect(monitor.evaluateNow().map(\.change) == [.fired])
        var listed: [[String: Any]] = []
        #expect(
            try poll(seconds: 10, every: 0.1) {
                listed = try Self.activeAlerts(url, connector: connector)
                return !listed.isEmpty
            })
        let labels = listed.first?["labels"] as? [String: String] ?? [:]
        #expect(
            labels["alertname"] == "CdcConnectorFailed" && labels["pipeline"] == "alert-test"
                && labels["severity"] == "critical")
        #expect(
            (listed.first?["annotations"] as? [String: String])?["summary"]?.contains("ConnectException: test") == true)
        #expect((listed.first?["status"] as? [String: Any])?["state"] as? String == "active")

        // Re-sent while firing (resend 1 s): more posts, still one alert (de-duplicated by labels).
        let postsBefore = sender.counts.posts
        #expect(poll(seconds: 5, every: 0.1) { sender.counts.posts >= postsBefore + 2 })
        #expect(try Self.activeAlerts(url, connector: connector).count == 1)

        // Fixed: resolves after keep_firing_for (1 s), once.
        report.withLock { $0.connectors[0].tasks[0] = ConnectTaskHealth(id: 0, state: .running) }
        clock.add(500, ordering: .relaxed)
        #expect(monitor.evaluateNow().isEmpty)
        clock.add(500, ordering: .relaxed)
        #expect(monitor.evaluateNow().map(\.change) == [.resolved])
        clock.add(5_000, ordering: .relaxed)
        #expect(monitor.evaluateNow().isEmpty)
        #expect(try poll(seconds: 10, every: 0.1) { try Self.activeAlerts(url, connector: connector).isEmpty })

        // --alert-exec got one JSON object per transition, in order.
        var lines: [String] = []
        #expect(
            poll(seconds: 10, every: 0.1) {
                lines = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").map(
                    String.init)
                return lines.count >= 2
            })
        #expect(lines.count == 2)
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.map { $0["status"] as? String } == ["firing", "resolved"])
        #expect(objects.allSatisfy { ($0["labels"] as? [String: String])?["connector"] == connector })
        #expect(objects.last?["endsAt"] != nil && objects.first?["endsAt"] == nil)
        #expect(exec.counts.failed == 0)
        #expect(sender.counts.failures == 0, "\(logged.withLock { $0 })")
    }

    /// A firing alert tells Alertmanager how long to keep it (3 resend intervals): it stays active while
    /// re-sent, whatever Alertmanager's resolve_timeout, and Alertmanager resolves it by itself once cdctop
    /// stops sending (a cdctop that died does not leave an alert firing forever).
    @Test func firingAlertCarriesEndsAtThreeResendIntervalsAhead() throws {
        let url = try Self.alertmanagerURL()
        let connector = "ends-\(UUID().uuidString.prefix(8))"
        let sender = try AlertmanagerSender(url: url, pipeline: "alert-test", resendMs: 1_000)
        var rules = AlertRules()
        rules.forMs[.connectorFailed] = 0
        var e = AlertEvaluator(rules: rules)
        var facts = AlertFacts(nowMs: WallClock.nowMs())
        facts.connectors = [.init(name: connector, state: "FAILED")]
        sender.update(transitions: e.evaluate(facts), firing: e.firing)
        let before = WallClock.nowMs()
        #expect(sender.sendNow())
        let after = WallClock.nowMs()
        let listed = try Self.activeAlerts(url, connector: connector)
        #expect(listed.count == 1)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let endsAt = (listed.first?["endsAt"] as? String).flatMap { formatter.date(from: $0) }
        let endsAtMs = Int64(((endsAt?.timeIntervalSince1970 ?? 0) * 1000).rounded())
        #expect(
            endsAtMs >= before + 3_000 - 1 && endsAtMs <= after + 3_000 + 1,
            "endsAt \(String(describing: listed.first?["endsAt"]))")
        // Not re-sent (the sender's thread never started): Alertmanager resolves it after endsAt.
        #expect(try poll(seconds: 10, every: 0.1) { try Self.activeAlerts(url, connector: connector).isEmpty })
        #expect(WallClock.nowMs() >= before + 3_000)
    }

    @Test func unreachableAlertmanagerIsReportedAndRetriedWithoutBlockingTheCaller() throws {
        // A port nothing listens on: bind one, note it, close it.
        let port = try freePort()
        let logged = Mutex<[String]>([])
        let sender = try AlertmanagerSender(
            url: "http://127.0.0.1:\(port)", pipeline: "t", log: { l in logged.withLock { $0.append(l) } })
        sender.start()
        defer { sender.stop() }
        var e = AlertEvaluator(
            rules: {
                var r = AlertRules()
                r.forMs[.reconciliationDrift] = 0
                return r
            }())
        var facts = AlertFacts(nowMs: WallClock.nowMs())
        facts.reconciliation = .drift
        let transitions = e.evaluate(facts)
        let started = Date()
        sender.update(transitions: transitions, firing: e.firing)
        #expect(Date().timeIntervalSince(started) < 0.5)
        // Attempts go on in the background (capped backoff from 1 s), each one counted and logged.
        #expect(poll(seconds: 10, every: 0.1) { sender.counts.failures >= 2 })
        #expect(sender.status.state == .error)
        #expect(sender.status.detail.contains("cannot connect"))
        #expect(logged.withLock { $0.first?.contains("retrying") ?? false })
    }
}

extension AlertDeliveryTests {
    /// Alertmanager is down when an alert fires and when another resolves; once it starts (an instance
    /// this test runs on the port the sender was given), both reach it in one post: the resolve was kept.
    @Test func alertsWaitForAlertmanagerToComeUp() throws {
        guard
            let executable = ["/usr/bin/prometheus-alertmanager", "/usr/local/bin/prometheus-alertmanager"]
                .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw AlertTestServiceMissing("prometheus-alertmanager is not installed: run scripts/deps")
        }
        let port = try freePort()
        let logged = Mutex<[String]>([])
        let sender = try AlertmanagerSender(
            url: "http://127.0.0.1:\(port)", pipeline: "t", resendMs: 1_000,
            log: { l in logged.withLock { $0.append(l) } })
        sender.start()
        defer { sender.stop() }
        let connector = "late-\(UUID().uuidString.prefix(8))"
        var rules = AlertRules()
        rules.forMs[.connectorFailed] = 0
        rules.forMs[.reconciliationDrift] = 0
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        let t = WallClock.nowMs()
        var facts = AlertFacts(nowMs: t)
        facts.reconciliation = .drift
        facts.connectors = [.init(name: connector, state: "FAILED")]
        sender.update(transitions: e.evaluate(facts), firing: e.firing)
        facts.nowMs = t + 1_000
        facts.reconciliation = .agree
        let resolved = e.evaluate(facts)
        #expect(resolved.map(\.change) == [.resolved])
        sender.update(transitions: resolved, firing: e.firing)
        #expect(poll(seconds: 10, every: 0.1) { sender.counts.failures >= 1 })
        #expect(sender.counts.posts == 0)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cdctop-am-\(port)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "route:\n  receiver: tests\nreceivers:\n  - name: tests\n".write(
            to: directory.appendingPathComponent("am.yml"), atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: executable)
        server.arguments = [
            "--config.file=\(directory.path)/am.yml", "--storage.path=\(directory.path)",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }

        // The backoff is capped at 30 s; the first retry after the server is up delivers both.
        #expect(poll(seconds: 45, every: 0.1) { sender.counts.posts >= 1 })
        #expect(sender.status.state == .ok)
        #expect(sender.status.detail.hasPrefix("alertmanager: 2 alerts sent"), "\(sender.status.detail)")
        let active = try Self.activeAlerts("http://127.0.0.1:\(port)", connector: connector)
        #expect(
            active.count == 1 && (active.first?["labels"] as? [String: String])?["alertname"] == "CdcConnectorFailed")
        // The next resend carries only what still fires.
        let posts = sender.counts.posts
        #expect(poll(seconds: 5, every: 0.1) { sender.counts.posts > posts })
        #expect(sender.status.detail.hasPrefix("alertmanager: 1 alert sent"), "\(sender.status.detail)")
    }

}

struct AlertTestServiceMissing: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// SIGPIPEs that reached the process while `AlertExecRunnerTests` watched (a handler instead of death).
private let processSIGPIPEs = Atomic<Int>(0)

/// `--alert-exec` with commands that misbehave: none may kill cdctop, block the runner, or reorder an
/// alert's transitions.
@Suite(.serialized) struct AlertExecRunnerTests {
    static func alert(_ status: String, _ subject: String, padding: Int = 0) -> String {
        "{\"status\":\"\(status)\",\"labels\":{\"alertname\":\"CdcConnectorFailed\",\"connector\":\"\(subject)\"},\"pad\":\"\(String(repeating: "x", count: padding))\"}"
    }

    /// `--alert-exec 'exit 0'` (or `logger -t cdctop alert`) does not read stdin: writing the alert to it
    /// raised SIGPIPE, which killed cdctop (exit 141). Alerts larger than a pipe's buffer make the write
    /// certain to meet the closed pipe. A counting handler stands in for death while the test runs.
    @Test func commandsThatDoNotReadStdinNeitherKillNorFail() {
        let previous = signal(SIGPIPE) { _ in processSIGPIPEs.add(1, ordering: .relaxed) }
        defer { signal(SIGPIPE, previous) }
        let logged = Mutex<[String]>([])
        let exec = AlertExecRunner(command: "exit 0", log: { l in logged.withLock { $0.append(l) } })
        exec.start()
        let before = processSIGPIPEs.load(ordering: .relaxed)
        for i in 0..<20 { exec.submit(Self.alert("firing", "c\(i)", padding: 200_000), key: "c\(i)") }
        exec.stop()
        #expect(exec.counts.started == 20)
        #expect(exec.counts.failed == 0, "\(logged.withLock { $0 })")
        #expect(
            processSIGPIPEs.load(ordering: .relaxed) == before,
            "a SIGPIPE reached the process: without a handler, cdctop dies")
    }

    /// `notify.sh &` keeps stderr open after the shell exits: reading stderr to its end blocked the runner
    /// for as long as the background job lived.
    @Test func aBackgroundJobHoldingStderrDoesNotBlock() {
        let logged = Mutex<[String]>([])
        let exec = AlertExecRunner(
            command: "echo boom >&2; sleep 20 & exit 3", log: { l in logged.withLock { $0.append(l) } })
        exec.start()
        defer { exec.stop() }
        exec.submit(Self.alert("firing", "bg"), key: "bg")
        #expect(poll(seconds: 10) { exec.counts.failed == 1 }, "the runner waited for the background job")
        let line = logged.withLock { $0.first ?? "" }
        #expect(line.contains("exited with status 3") && line.contains("boom"), "\(line)")
    }

    /// A command ignoring SIGTERM (and its children) is killed with SIGKILL after the grace period,
    /// its whole process group with it.
    @Test func aCommandIgnoringSIGTERMIsKilledWithItsGroup() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cdctop-exec-kill-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pidFile = dir.appendingPathComponent("child.pid").path
        let logged = Mutex<[String]>([])
        let exec = AlertExecRunner(
            command: "trap '' TERM; sleep 60 & echo $! > '\(pidFile)'; wait; wait", timeoutSeconds: 1,
            killGraceSeconds: 0.5, log: { l in logged.withLock { $0.append(l) } })
        exec.start()
        defer { exec.stop() }
        exec.submit(Self.alert("firing", "stuck"), key: "stuck")
        #expect(poll(seconds: 10) { exec.counts.failed == 1 }, "the runner hung on a command ignoring SIGTERM")
        #expect(
            logged.withLock { $0.first?.contains("killed it and its process group") ?? false },
            "\(logged.withLock { $0 })")
        let childPid = try #require(
            Int32(
                ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").trimmingCharacters(
                    in: .whitespacesAndNewlines)))
        // Gone, or a zombie waiting for its new parent to reap it: either way no longer running.
        #expect(
            poll(seconds: 5) {
                guard let stat = try? String(contentsOfFile: "/proc/\(childPid)/stat", encoding: .utf8) else {
                    return true
                }
                return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true
            }, "the background sleep \(childPid) survived")
    }

    /// The "resolved" of an alert must not overtake its "fired", even when the first run is slower;
    /// another alert's command is not held up meanwhile.
    @Test func oneAlertsCommandsRunInOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cdctop-exec-order-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let exec = AlertExecRunner(
            command: "read line; case \"$line\" in *firing*) sleep 1;; esac; echo \"$line\" >> '\(out)'")
        exec.start()
        exec.submit(Self.alert("firing", "a"), key: "a")
        exec.submit(Self.alert("resolved", "a"), key: "a")
        exec.submit(Self.alert("resolved", "b"), key: "b")
        exec.stop()
        let lines = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n")
        let statuses = lines.compactMap { line -> String? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let labels = o["labels"] as? [String: String]
            else { return nil }
            return "\(labels["connector"] ?? "?") \(o["status"] as? String ?? "?")"
        }
        #expect(statuses == ["b resolved", "a firing", "a resolved"], "\(statuses)")
        #expect(exec.counts.failed == 0)
    }
}
