import Foundation
import Metrics
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Posts alerts to Alertmanager's v2 API (`POST /api/v2/alerts`) from its own thread: each fired or
/// resolved alert at once, every firing alert again every `resendMs`, and on failure the same batch
/// again with a capped backoff. A firing alert carries endsAt = now + 3 × `resendMs` (as Prometheus
/// does), so Alertmanager keeps it while cdctop re-sends, whatever its resolve_timeout, and resolves it
/// by itself if cdctop stops sending. Alertmanager de-duplicates by labels, so re-sending is safe.
package final class AlertmanagerSender: Sendable {
    package let service: HTTPService
    package let pipeline: String
    package let resendMs: Int64
    private let worker = WorkerThread(name: "cdctop-alertmanager")
    private let log: @Sendable (String) -> Void
    /// Wall time after which a post in flight is abandoned (set by `stop()`: the last delivery gets its
    /// chance, a hanging Alertmanager does not hold up the exit).
    private let abandonAfterMs = Atomic<Int64>(.max)

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

    package init(
        service: HTTPService, pipeline: String, resendMs: Int64 = 60_000,
        log: @escaping @Sendable (String) -> Void = AlertLog.stderr
    ) {
        self.service = service
        self.pipeline = pipeline
        self.resendMs = max(1_000, resendMs)
        self.log = log
    }

    /// `url` is Alertmanager's base URL, e.g. http://127.0.0.1:9093 (https:// verified with the system CA
    /// store or `caFile`); credentials from `authFile` or `$CDCTOP_ALERTMANAGER_AUTH`.
    package convenience init(
        url: String, pipeline: String, resendMs: Int64 = 60_000, authFile: String? = nil, caFile: String? = nil,
        log: @escaping @Sendable (String) -> Void = AlertLog.stderr
    ) throws(CurlHTTPError) {
        self.init(
            service: try .alertmanager(url: url, authFile: authFile, caFile: caFile), pipeline: pipeline,
            resendMs: resendMs, log: log)
    }

    deinit { worker.stop(waitSeconds: 1) }

    package func start() { worker.start { [weak self] in self?.run() } }

    /// How long `stop()` lets the last delivery (or a post in flight) run before abandoning it.
    package static let stopGraceMs: Int64 = 3_000

    /// Stops the thread after one last attempt to deliver what changed, abandoned after `stopGraceMs`.
    package func stop() {
        abandonAfterMs.store(WallClock.nowMs() + Self.stopGraceMs, ordering: .relaxed)
        worker.stop(waitSeconds: Double(Self.stopGraceMs) / 1000 + 2)
    }

    /// Delivery state for the dashboard: ok after a successful post, error with the reason after a failed one.
    package var status: ServiceStatus { state.withLock { $0.status } }
    package var counts: (posts: Int64, failures: Int64) { state.withLock { ($0.posts, $0.failures) } }

    /// Called by the monitor after an evaluation that changed something.
    package func update(transitions: [AlertTransition], firing: [Alert]) {
        state.withLock { s in
            s.firing = Dictionary(firing.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
            for t in transitions where t.change == .resolved { s.resolved[t.alert.key] = t.alert }
            for t in transitions where t.change == .fired { s.resolved[t.alert.key] = nil }
            s.changed = true
        }
        worker.wake()
    }

    /// How long Alertmanager keeps a firing alert after a post: three resend intervals.
    package var firingValidityMs: Int64 { 3 * resendMs }

    /// The JSON array one post sends at `nowMs`.
    func batch(nowMs: Int64 = WallClock.nowMs()) -> (body: String, resolvedKeys: [AlertKey], count: Int) {
        state.withLock { s in
            let alerts = s.firing.values.sorted { $0.key < $1.key } + s.resolved.values.sorted { $0.key < $1.key }
            let endsAt = nowMs + firingValidityMs
            return (
                "[" + alerts.map { $0.json(pipeline: pipeline, firingEndsAtMs: endsAt) }.joined(separator: ",") + "]",
                Array(s.resolved.keys), alerts.count
            )
        }
    }

    /// One post of everything firing or newly resolved; true when Alertmanager accepted it.
    @discardableResult
    package func sendNow() -> Bool {
        let now = WallClock.nowMs()
        let (body, resolvedKeys, count) = batch(nowMs: now)
        do throws(CurlHTTPError) {
            let response = try service.perform(
                "/api/v2/alerts", method: "POST", jsonBody: Array(body.utf8),
                cancelled: { WallClock.nowMs() > self.abandonAfterMs.load(ordering: .relaxed) })
            guard response.status == 200 else {
                throw CurlHTTPError(
                    kind: .status,
                    message:
                        "Alertmanager at \(service) answered HTTP \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))",
                    advice: "is --alertmanager Alertmanager's base URL (v2 API)?")
            }
            state.withLock { s in
                for key in resolvedKeys { s.resolved[key] = nil }
                s.lastSentMs = now
                s.posts += 1
                s.status = ServiceStatus(
                    .ok, "alertmanager: \(count) alert\(count == 1 ? "" : "s") sent \(TimeText.clock(ms: now))")
            }
            return true
        } catch {
            let failures = state.withLock { s in
                s.failures += 1
                s.changed = true
                s.status = ServiceStatus(.error, "alertmanager: \(error.message)")
                return s.failures
            }
            log(
                "alertmanager: post of \(count) alert(s) failed (\(failures) failures so far): \(error.description); retrying"
            )
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
                if sendNow() {
                    backoff.reset()
                } else if !stopping {
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

extension HTTPService {
    /// Alertmanager at `--alertmanager URL`, with `--alertmanager-auth-file` / `$CDCTOP_ALERTMANAGER_AUTH` and `--alertmanager-ca`.
    package static func alertmanager(url: String, authFile: String? = nil, caFile: String? = nil) throws(CurlHTTPError)
        -> HTTPService
    {
        try HTTPService(
            url: url, name: "Alertmanager", option: "--alertmanager", example: "http://127.0.0.1:9093",
            credentials: try HTTPCredentials.load(file: authFile, option: "--alertmanager"), caFile: caFile)
    }
}

/// Runs `--alert-exec CMD` (through `/bin/sh -c`) once per fired or resolved alert, with the alert's JSON
/// on stdin. At most `maxConcurrent` run at once, and the commands of one alert one after the other, in
/// order (its "resolved" never overtakes its "fired"); further ones queue (up to `queueLimit`, then the
/// oldest is dropped and logged). A command that fails or runs over `timeoutSeconds` is logged, never
/// retried; one that overstays gets SIGTERM, then SIGKILL after `killGraceSeconds`, and so does every
/// process it started in its process group (`notify.sh &`).
package final class AlertExecRunner: Sendable {
    package let command: String
    package let maxConcurrent: Int
    package let queueLimit: Int
    package let timeoutSeconds: Double
    package let killGraceSeconds: Double
    private let log: @Sendable (String) -> Void
    private let worker = WorkerThread(name: "cdctop-alert-exec")
    private struct Job {
        var key: String
        var json: String
    }
    private struct State {
        var queue: [Job] = []
        /// Alert keys with a command running: their next command waits.
        var inFlight: Set<String> = []
        var running = 0
        var started: Int64 = 0
        var failed: Int64 = 0
        var dropped: Int64 = 0
    }
    private let state = Mutex(State())
    /// Held while a run makes its descriptors and spawns its child (see `runOne`).
    private static let spawning = Mutex(())

    package init(
        command: String, maxConcurrent: Int = 4, queueLimit: Int = 256, timeoutSeconds: Double = 30,
        killGraceSeconds: Double = 2, log: @escaping @Sendable (String) -> Void = AlertLog.stderr
    ) {
        self.command = command
        self.maxConcurrent = max(1, maxConcurrent)
        self.queueLimit = max(1, queueLimit)
        self.timeoutSeconds = timeoutSeconds
        self.killGraceSeconds = max(0, killGraceSeconds)
        self.log = log
    }

    deinit { worker.stop(waitSeconds: 1) }

    package func start() { worker.start { [weak self] in self?.run() } }

    /// Stops after starting what is queued and waits (bounded) for the running commands.
    package func stop() {
        worker.stop(waitSeconds: timeoutSeconds + killGraceSeconds + 2)
    }

    package var counts: (started: Int64, failed: Int64, dropped: Int64) {
        state.withLock { ($0.started, $0.failed, $0.dropped) }
    }

    /// Queues one run with `json` on stdin. Runs with the same `key` (an alert's identity) never overlap
    /// and start in submission order.
    package func submit(_ json: String, key: String) {
        let dropped = state.withLock { s -> Bool in
            s.queue.append(Job(key: key, json: json))
            guard s.queue.count > queueLimit else { return false }
            s.queue.removeFirst()
            s.dropped += 1
            return true
        }
        if dropped { log("alert-exec: more than \(queueLimit) alerts waiting for '\(command)'; dropped the oldest") }
        worker.wake()
    }

    private func run() {
        while true {
            let job = state.withLock { s -> Job? in
                guard s.running < maxConcurrent, let i = s.queue.firstIndex(where: { !s.inFlight.contains($0.key) })
                else { return nil }
                let job = s.queue.remove(at: i)
                s.inFlight.insert(job.key)
                s.running += 1
                return job
            }
            guard let job else {
                if worker.isStopping {
                    if state.withLock({ $0.queue.isEmpty && $0.running == 0 }) { break }
                    Thread.sleep(forTimeInterval: 0.02)  // stop() no longer lets sleep() wait
                } else {
                    worker.sleep(seconds: 1)  // woken by submit() and by the end of a command
                }
                continue
            }
            Thread.detachNewThread { [self] in
                runOne(job.json)
                state.withLock { s in
                    s.running -= 1
                    s.inFlight.remove(job.key)
                }
                worker.wake()
            }
        }
    }

    private func fail(_ message: String) {
        state.withLock { $0.failed += 1 }
        log("alert-exec: " + message)
    }

    /// One run, on its own thread. The child gets a clean signal mask and default SIGPIPE (cdctop ignores
    /// it), its own process group, stdin from a pipe, stdout to /dev/null and stderr to an unlinked
    /// temporary file: a background grandchild keeping stderr open blocks nothing here.
    private func runOne(_ json: String) {
        state.withLock { $0.started += 1 }
        // A command that exits without reading stdin makes our write raise SIGPIPE on this thread: blocked
        // here, it stays pending and dies with the thread, and the write just fails with EPIPE.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)

        // The descriptors are made and marked close-on-exec, and the child spawned, under one lock: a
        // concurrent run must not pass our pipe's write end to its child (our child would never see EOF).
        var stdinPipe: [Int32] = [-1, -1]
        var errorFile: Int32 = -1
        defer { if errorFile >= 0 { close(errorFile) } }
        let spawnedOrPipeError = Self.spawning.withLock { _ -> Result<Result<pid_t, SpawnError>, SpawnError> in
            guard pipe(&stdinPipe) == 0 else { return .failure(SpawnError(code: errno)) }
            for fd in stdinPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            var template = Array((NSTemporaryDirectory() + "/cdctop-alert-exec-XXXXXX").utf8CString)
            errorFile = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if errorFile >= 0 {
                _ = fcntl(errorFile, F_SETFD, FD_CLOEXEC)
                template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            }

            var files = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&files)
            defer { posix_spawn_file_actions_destroy(&files) }
            posix_spawn_file_actions_adddup2(&files, stdinPipe[0], 0)
            posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0)
            if errorFile >= 0 {
                posix_spawn_file_actions_adddup2(&files, errorFile, 2)
            } else {
                posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0)
            }
            let spawned = spawnChild(
                "/bin/sh", arguments: ["/bin/sh", "-c", command], files: &files, newProcessGroup: true)
            close(stdinPipe[0])
            return .success(spawned)
        }
        let spawned: Result<pid_t, SpawnError>
        switch spawnedOrPipeError {
        case .success(let result): spawned = result
        case .failure(let pipeError):
            fail("cannot create a pipe for '\(command)': \(pipeError.message)")
            return
        }
        let pid: pid_t
        switch spawned {
        case .success(let child): pid = child
        case .failure(let error):
            close(stdinPipe[1])
            fail("cannot start /bin/sh -c '\(command)': \(error.message)")
            return
        }

        let deadline = Date().addingTimeInterval(timeoutSeconds)
        // Never blocks: a command that does not read a large alert is cut off by the deadline.
        _ = fcntl(stdinPipe[1], F_SETFL, fcntl(stdinPipe[1], F_GETFL) | O_NONBLOCK)
        let bytes = Array((json + "\n").utf8)
        var written = 0
        while written < bytes.count && Date() < deadline {
            let n = bytes.withUnsafeBytes { write(stdinPipe[1], $0.baseAddress! + written, bytes.count - written) }
            if n > 0 {
                written += n
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                var p = pollfd(fd: stdinPipe[1], events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 50)
                continue
            }
            break  // EPIPE: the command exited or closed stdin without reading; not an error of ours
        }
        close(stdinPipe[1])

        var status: Int32 = 0
        var timedOut = false
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR {
                fail("'\(command)': waitpid failed: \(String(cString: strerror(errno)))")
                return
            }
            if Date() >= deadline {
                timedOut = true
                kill(-pid, SIGTERM)
                let killAt = Date().addingTimeInterval(killGraceSeconds)
                while waitpid(pid, &status, WNOHANG) == 0 && Date() < killAt { usleep(20_000) }
                // Whatever is left of its process group (a shell ignoring SIGTERM, `sleep &`) is killed.
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(20_000)
        }
        if timedOut {
            fail("'\(command)' still running after \(Int(timeoutSeconds)) s; killed it and its process group")
            return
        }
        let signalNumber = status & 0x7f
        let exitCode = (status >> 8) & 0xff
        guard signalNumber != 0 || exitCode != 0 else { return }
        var errorBytes = [UInt8](repeating: 0, count: 300)
        let got = errorFile >= 0 ? errorBytes.withUnsafeMutableBytes { pread(errorFile, $0.baseAddress, 300, 0) } : 0
        let errorText = String(decoding: errorBytes.prefix(max(0, got)), as: UTF8.self)
        fail(
            "'\(command)' "
                + (signalNumber != 0 ? "was killed by signal \(signalNumber)" : "exited with status \(exitCode)")
                + ": \(errorText)")
    }
}

package enum AlertLog {
    /// Default log: one line on stderr (the dashboard sends stderr to `--log`, or discards it).
    package static let stderr: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(("cdctop: alerts: " + line + "\n").utf8))
    }
}
