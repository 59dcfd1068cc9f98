import Foundation
import Metrics
import Synchronization

/// Posts alerts to Alertmanager's v2 API (`POST /api/v2/alerts`) from its own thread: each fired or
/// resolved alert at once, every firing alert again every `resendMs` (Alertmanager drops an alert it
/// has not heard of for its resolve_timeout), and on failure the same batch again with a capped backoff.
/// Alertmanager de-duplicates by labels, so re-sending is safe.
public final class AlertmanagerSender: Sendable {
    public let endpoint: HTTPEndpoint
    public let pipeline: String
    public let resendMs: Int64
    private let worker = WarehouseWorkerThread(name: "cdctop-alertmanager")
    private let log: @Sendable (String) -> Void

    private struct State {
        var firing: [AlertKey: Alert] = [:]
        /// Resolved alerts not yet delivered (a resolve must reach Alertmanager even after failures).
        var resolved: [AlertKey: Alert] = [:]
        var changed = false
        var lastSentMs: Int64 = 0
        var status = ServiceStatus(.connecting, "alertmanager: nothing sent yet")
        var posts: Int64 = 0
        var failures: Int64 = 0
    }
    private let state = Mutex(State())

    /// `url` is Alertmanager's base URL, e.g. http://127.0.0.1:9093.
    public init(url: String, pipeline: String, resendMs: Int64 = 60_000,
                log: @escaping @Sendable (String) -> Void = AlertLog.stderr) throws(HTTPGetError) {
        do throws(HTTPGetError) {
            endpoint = try HTTPEndpoint(parsing: url)
        } catch {
            throw HTTPGetError("--alertmanager \(url): \(error.message)", advice: "give Alertmanager's URL as http://host:port, e.g. http://127.0.0.1:9093")
        }
        self.pipeline = pipeline; self.resendMs = max(1_000, resendMs); self.log = log
    }

    deinit { worker.stop(waitSeconds: 1) }

    public func start() { worker.start { [weak self] in self?.run() } }

    /// Stops the thread after one last attempt to deliver what changed (bounded by the socket timeouts).
    public func stop() {
        worker.stop(waitSeconds: 8)
    }

    /// Delivery state for the dashboard: ok after a successful post, error with the reason after a failed one.
    public var status: ServiceStatus { state.withLock { $0.status } }
    public var counts: (posts: Int64, failures: Int64) { state.withLock { ($0.posts, $0.failures) } }

    /// Called by the monitor after an evaluation that changed something.
    public func update(transitions: [AlertTransition], firing: [Alert]) {
        state.withLock { s in
            s.firing = Dictionary(firing.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
            for t in transitions where t.change == .resolved { s.resolved[t.alert.key] = t.alert }
            for t in transitions where t.change == .fired { s.resolved[t.alert.key] = nil }
            s.changed = true
        }
        worker.wake()
    }

    /// The JSON array one post sends.
    func batch() -> (body: String, resolvedKeys: [AlertKey], count: Int) {
        state.withLock { s in
            let alerts = s.firing.values.sorted { $0.key < $1.key } + s.resolved.values.sorted { $0.key < $1.key }
            return ("[" + alerts.map { $0.json(pipeline: pipeline) }.joined(separator: ",") + "]", Array(s.resolved.keys), alerts.count)
        }
    }

    /// One post of everything firing or newly resolved; true when Alertmanager accepted it.
    @discardableResult
    public func sendNow() -> Bool {
        let (body, resolvedKeys, count) = batch()
        let now = WallClock.nowMs()
        do throws(HTTPGetError) {
            let response = try HTTPGet.fetch(endpoint, path: "/api/v2/alerts", jsonBody: Array(body.utf8), timeoutSeconds: 3)
            guard response.status == 200 else {
                throw HTTPGetError("Alertmanager at \(endpoint) answered HTTP \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))",
                                   advice: "is --alertmanager Alertmanager's base URL (v2 API)?")
            }
            state.withLock { s in
                for key in resolvedKeys { s.resolved[key] = nil }
                s.lastSentMs = now; s.posts += 1
                s.status = ServiceStatus(.ok, "alertmanager: \(count) alert\(count == 1 ? "" : "s") sent \(TimeText.clock(ms: now))")
            }
            return true
        } catch {
            let failures = state.withLock { s in
                s.failures += 1; s.changed = true
                s.status = ServiceStatus(.error, "alertmanager: \(error.message)")
                return s.failures
            }
            log("alertmanager: post of \(count) alert(s) failed (\(failures) failures so far): \(error.description); retrying")
            return false
        }
    }

    private func run() {
        var backoff = ReconnectBackoff(initialSeconds: 1, maximumSeconds: 30)
        while true {
            let stopping = worker.isStopping
            let now = WallClock.nowMs()
            let (due, anything) = state.withLock { s -> (Bool, Bool) in
                let anything = !s.firing.isEmpty || !s.resolved.isEmpty
                let due = s.changed || (!s.firing.isEmpty && now - s.lastSentMs >= resendMs)
                if due { s.changed = false }
                return (due, anything)
            }
            if due && anything {
                if sendNow() { backoff.reset() } else if !stopping {
                    worker.sleep(seconds: backoff.nextDelay())
                    continue
                }
            }
            if stopping { return }
            let waitMs = state.withLock { s in s.firing.isEmpty ? resendMs : max(50, s.lastSentMs + resendMs - now) }
            // A stop wakes this; the next pass still delivers what changed (a resolve just before quitting).
            worker.sleep(seconds: Double(waitMs) / 1000)
        }
    }
}

/// Runs `--alert-exec CMD` (through `/bin/sh -c`) once per fired or resolved alert, with the alert's JSON
/// on stdin. At most `maxConcurrent` run at once; further ones queue (up to `queueLimit`, then the oldest
/// is dropped and logged). A command that fails or runs over `timeoutSeconds` is logged, never retried.
public final class AlertExecRunner: Sendable {
    public let command: String
    public let maxConcurrent: Int
    public let queueLimit: Int
    public let timeoutSeconds: Double
    private let log: @Sendable (String) -> Void
    private let worker = WarehouseWorkerThread(name: "cdctop-alert-exec")
    private let slots: DispatchSemaphore
    private let running = DispatchGroup()
    private struct State { var queue: [String] = []; var started: Int64 = 0; var failed: Int64 = 0; var dropped: Int64 = 0 }
    private let state = Mutex(State())

    public init(command: String, maxConcurrent: Int = 4, queueLimit: Int = 256, timeoutSeconds: Double = 30,
                log: @escaping @Sendable (String) -> Void = AlertLog.stderr) {
        self.command = command; self.maxConcurrent = max(1, maxConcurrent); self.queueLimit = max(1, queueLimit)
        self.timeoutSeconds = timeoutSeconds; self.log = log
        slots = DispatchSemaphore(value: max(1, maxConcurrent))
    }

    deinit { worker.stop(waitSeconds: 1) }

    public func start() { worker.start { [weak self] in self?.run() } }

    /// Stops after starting what is queued and waits (bounded) for the running commands.
    public func stop() {
        worker.stop(waitSeconds: timeoutSeconds + 2)
    }

    public var counts: (started: Int64, failed: Int64, dropped: Int64) { state.withLock { ($0.started, $0.failed, $0.dropped) } }

    public func submit(_ json: String) {
        let dropped = state.withLock { s -> Bool in
            s.queue.append(json)
            guard s.queue.count > queueLimit else { return false }
            s.queue.removeFirst(); s.dropped += 1
            return true
        }
        if dropped { log("alert-exec: more than \(queueLimit) alerts waiting for '\(command)'; dropped the oldest") }
        worker.wake()
    }

    private func run() {
        while true {
            let job = state.withLock { s -> String? in s.queue.isEmpty ? nil : s.queue.removeFirst() }
            guard let job else {
                if worker.isStopping { break }
                worker.sleep(seconds: 1)
                continue
            }
            slots.wait()
            running.enter()
            let slots = self.slots, running = self.running
            Thread.detachNewThread { [self] in
                runOne(job)
                slots.signal()
                running.leave()
            }
        }
        _ = running.wait(timeout: .now() + .milliseconds(Int(timeoutSeconds * 1000) + 1000))
    }

    private func runOne(_ json: String) {
        state.withLock { $0.started += 1 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            state.withLock { $0.failed += 1 }
            log("alert-exec: cannot start /bin/sh -c '\(command)': \(error)")
            return
        }
        // A command that does not read its stdin must not block us: a write error is ignored.
        try? stdin.fileHandleForWriting.write(contentsOf: Array((json + "\n").utf8))
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            state.withLock { $0.failed += 1 }
            log("alert-exec: '\(command)' still running after \(Int(timeoutSeconds)) s; terminated")
            return
        }
        let errorText = String(decoding: (try? stderr.fileHandleForReading.readToEnd()) ?? Data(), as: UTF8.self)
        if process.terminationStatus != 0 {
            state.withLock { $0.failed += 1 }
            log("alert-exec: '\(command)' exited with status \(process.terminationStatus): \(errorText.prefix(300))")
        }
    }
}

public enum AlertLog {
    /// Default log: one line on stderr (the dashboard sends stderr to `--log`, or discards it).
    public static let stderr: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(("cdctop: alerts: " + line + "\n").utf8))
    }
}
