import Foundation
import Metrics

/// Mirrors the latest `RunSnapshot` into Redis from its own thread and its own connection.
///
/// The engine calls `offer` (O(1): it replaces the one pending snapshot and signals), the dashboard
/// reads `status`; neither ever waits on Redis. The writer thread wakes on a condition variable,
/// writes at most `maxWritesPerSecond` times a second, and only the windows that changed. When Redis
/// is down, killed or restarted empty, it reconnects with capped exponential backoff and rewrites
/// the whole current state. Paused: no writes, except `P:meta` state=paused once.
package final class RedisMirror: Sendable {
    package let url: RedisURL
    package let keys: RedisKeys
    private let mailbox: MirrorMailbox
    private let worker: MirrorWorker

    package init(
        url: RedisURL, prefix: String, pipelineName: String, profileName: String,
        windowTTLSeconds: Int = 86400, version: String = CDCTopVersion.current,
        maxWritesPerSecond: Double = 10, firstRetryDelaySeconds: Double = 0.25,
        maxRetryDelaySeconds: Double = 8
    ) {
        self.url = url
        self.keys = RedisKeys(prefix: prefix)
        let mailbox = MirrorMailbox()
        self.mailbox = mailbox
        self.worker = MirrorWorker(
            url: url, keys: keys, mailbox: mailbox,
            identity: MirrorIdentity(
                pipelineName: pipelineName, profileName: profileName, version: version,
                startedAtMs: WallClock.nowMs(), windowTTLSeconds: windowTTLSeconds),
            minimumWriteInterval: 1 / max(maxWritesPerSecond, 0.1),
            firstRetryDelay: firstRetryDelaySeconds,
            maxRetryDelay: max(maxRetryDelaySeconds, firstRetryDelaySeconds))
    }

    /// The thread holds the worker, not the mirror, so dropping the mirror stops its thread.
    deinit { stop() }

    /// Starts the writer thread (once); returns at once, even when Redis is unreachable.
    package func start() {
        let shouldStart = mailbox.locked { m -> Bool in
            guard !m.started else { return false }
            m.started = true
            m.phase = .connecting
            return true
        }
        guard shouldStart else { return }
        let thread = Thread { [worker] in worker.run() }
        thread.name = "cdctop-redis"
        thread.start()
    }

    /// Replaces the pending snapshot (never queues) and wakes the writer. Never blocks on I/O.
    package func offer(_ snapshot: RunSnapshot) {
        mailbox.condition.lock()
        mailbox.pending = snapshot
        mailbox.pendingVersion &+= 1
        mailbox.condition.signal()
        mailbox.condition.unlock()
    }

    package func setPaused(_ paused: Bool) {
        mailbox.locked { m in
            guard m.paused != paused else { return }
            m.paused = paused
            m.condition.signal()
        }
    }

    package func togglePaused() {
        mailbox.locked { m in
            m.paused.toggle()
            m.condition.signal()
        }
    }

    package var isPaused: Bool { mailbox.locked { $0.paused } }

    /// Snapshots written to Redis so far.
    package var writes: Int { mailbox.locked { $0.writes } }

    /// For the status bar: connecting / ok with the write rate / paused / error with the next retry.
    package var status: ServiceStatus {
        let now = WallClock.monotonicSeconds()
        return mailbox.locked { m -> ServiceStatus in
            switch m.phase {
            case .idle: return .off
            case .connecting:
                // A retry keeps saying why it retries (another writer, a refused password…).
                return ServiceStatus(
                    .connecting, "connecting to redis \(url)\(m.lastError.map { " · last: \($0)" } ?? "")",
                    error: m.lastError)
            case .ok:
                if m.paused {
                    let note = m.lastError.map { " · \($0)" } ?? ""
                    return ServiceStatus(.paused, "redis \(url) paused: readers see \(keys.meta) state=paused\(note)")
                }
                let rate = m.writeRate(now: now)
                var detail = "redis \(url) · \(String(format: "%.1f", rate)) writes/s · \(m.writes) written"
                if m.lastWriteMs > 0 { detail += " · last \(String(format: "%.1f", m.lastWriteMs)) ms" }
                return ServiceStatus(.ok, detail, error: m.lastError)
            case .error(let message, let retryAt):
                let wait = max(0, retryAt - now)
                let when =
                    wait < 0.05
                    ? "retrying now"
                    : "retry in \(wait < 10 ? String(format: "%.1f", wait) : String(Int(wait.rounded()))) s"
                return ServiceStatus(
                    m.paused ? .paused : .error, "\(message) · \(when)", error: message,
                    attempts: m.failedAttempts, nextRetryAtMs: WallClock.nowMs() + Int64(wait * 1000))
            }
        }
    }

    /// Stops the writer thread and waits for it; idempotent. The connection closes with it.
    package func stop() {
        mailbox.condition.lock()
        guard mailbox.started, !mailbox.finished else {
            mailbox.condition.unlock()
            return
        }
        mailbox.stopRequested = true
        mailbox.condition.broadcast()
        while !mailbox.finished { mailbox.condition.wait() }
        mailbox.phase = .idle
        mailbox.condition.unlock()
    }
}

/// The writer thread's side: decides under the mailbox lock, does Redis I/O outside it.
final class MirrorWorker: Sendable {
    let url: RedisURL
    let keys: RedisKeys
    let mailbox: MirrorMailbox
    let identity: MirrorIdentity
    let minimumWriteInterval: Double
    let firstRetryDelay: Double
    let maxRetryDelay: Double

    init(
        url: RedisURL, keys: RedisKeys, mailbox: MirrorMailbox, identity: MirrorIdentity,
        minimumWriteInterval: Double, firstRetryDelay: Double, maxRetryDelay: Double
    ) {
        self.url = url
        self.keys = keys
        self.mailbox = mailbox
        self.identity = identity
        self.minimumWriteInterval = minimumWriteInterval
        self.firstRetryDelay = firstRetryDelay
        self.maxRetryDelay = maxRetryDelay
    }

    enum Action {
        case connect
        case writePaused
        case write(RunSnapshot, version: UInt64, full: Bool)
        case exit
        /// Renews the writer key with nothing to write.
        case renew
    }

    func run() {
        var writer: RedisSnapshotWriter?
        var writtenVersion: UInt64 = 0
        var pausedMetaWritten = false
        var wasPaused = false
        var backoff = ReconnectBackoff(initialSeconds: firstRetryDelay, maximumSeconds: maxRetryDelay)
        var nextConnectAt = 0.0
        var nextWriteAt = 0.0
        // The writer key is renewed well before it expires even with nothing to write (paused, or no new
        // snapshot): an idle mirror must not let a second cdctop take its prefix while it still runs.
        var renewAt = 0.0
        let renewInterval = Double(MirrorWorker.writerTTLMs) / 3000

        while true {
            // Decide under the lock, act outside it: offer() and status never wait on I/O.
            mailbox.condition.lock()
            var action = Action.exit
            while true {
                if mailbox.stopRequested {
                    action = .exit
                    break
                }
                let now = WallClock.monotonicSeconds()
                var deadline: Double?
                if writer == nil {
                    if now >= nextConnectAt {
                        action = .connect
                        break
                    }
                    deadline = nextConnectAt
                } else if now >= renewAt {
                    action = .renew
                    break
                } else if mailbox.paused {
                    if !pausedMetaWritten {
                        action = .writePaused
                        break
                    }
                } else if mailbox.pending != nil && (mailbox.pendingVersion != writtenVersion || wasPaused) {
                    if now >= nextWriteAt {
                        action = .write(mailbox.pending!, version: mailbox.pendingVersion, full: wasPaused)
                        break
                    }
                    deadline = nextWriteAt
                }
                if writer != nil { deadline = min(deadline ?? renewAt, renewAt) }
                if let deadline {
                    _ = mailbox.condition.wait(until: Date(timeIntervalSinceNow: max(0.001, deadline - now)))
                } else {
                    mailbox.condition.wait()
                }
            }
            mailbox.condition.unlock()

            switch action {
            case .exit:
                writer?.releaseWriter(token: writerToken)
                writer = nil
                mailbox.locked { m in
                    m.finished = true
                    m.condition.broadcast()
                }
                return
            case .connect:
                do {
                    let connection = try RedisConnection(url: url)
                    let w = RedisSnapshotWriter(connection: connection, keys: keys, identity: identity)
                    try claim(w)
                    let paused = mailbox.locked { $0.paused }
                    try w.writeMeta(paused: paused, nowMs: WallClock.nowMs())
                    writer = w
                    renewAt = WallClock.monotonicSeconds() + renewInterval
                    pausedMetaWritten = paused
                    wasPaused = paused
                    backoff.reset()
                    mailbox.locked { m in
                        m.phase = .ok
                        m.lastError = nil
                        m.failedAttempts = 0
                    }
                } catch {
                    failed(error, backoff: &backoff, nextConnectAt: &nextConnectAt)
                }
            case .renew:
                do {
                    try claim(writer!)
                    renewAt = WallClock.monotonicSeconds() + renewInterval
                } catch {
                    writer = nil
                    failed(error, backoff: &backoff, nextConnectAt: &nextConnectAt)
                }
            case .writePaused:
                do {
                    try writer!.writeMeta(paused: true, nowMs: WallClock.nowMs())
                    pausedMetaWritten = true
                    wasPaused = true
                } catch {
                    writer = nil
                    failed(error, backoff: &backoff, nextConnectAt: &nextConnectAt)
                }
            case .write(let snapshot, let version, let full):
                let started = WallClock.monotonicSeconds()
                do {
                    if full { writer!.forgetWritten() }
                    try claim(writer!)
                    try writer!.write(snapshot, nowMs: WallClock.nowMs())
                    let done = WallClock.monotonicSeconds()
                    renewAt = started + renewInterval
                    writtenVersion = version
                    wasPaused = false
                    pausedMetaWritten = false
                    nextWriteAt = started + minimumWriteInterval
                    mailbox.locked { m in m.recordWrite(at: done, durationMs: (done - started) * 1000) }
                } catch {
                    writer = nil
                    failed(error, backoff: &backoff, nextConnectAt: &nextConnectAt)
                }
            }
        }
    }

    /// One mirror per prefix: `host:pid:tag` of this mirror, renewed with every write.
    let writerToken = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UInt32.random(in: 0 ... .max))"
    static let writerTTLMs = 10_000

    /// Throws when another mirror holds the prefix (it retries, and takes over once the other stops).
    func claim(_ writer: RedisSnapshotWriter) throws {
        if let holder = try writer.claimWriter(token: writerToken, ttlMs: MirrorWorker.writerTTLMs) {
            throw RedisError(
                .server,
                "another cdctop (\(holder)) mirrors \(keys.prefix): give this one its own --redis-prefix or --pipeline")
        }
    }

    /// Records the error for the status bar and schedules the next connection attempt.
    func failed(_ error: any Error, backoff: inout ReconnectBackoff, nextConnectAt: inout Double) {
        var message = (error as? RedisError)?.message ?? "\(error)"
        // A wrong password or a port that is not Redis stays wrong until someone acts: retry slowly, and say so.
        let needsPerson = (error as? RedisError).map { !$0.isRetriable } ?? false
        let retryDelay = backoff.nextDelay(needsPerson: needsPerson)
        if needsPerson { message += " (not retried fast: next try in \(Int(retryDelay)) s)" }
        let retryAt = WallClock.monotonicSeconds() + retryDelay
        nextConnectAt = retryAt
        let attempts = backoff.attempts
        mailbox.locked { m in
            m.phase = .error(message, retryAt: retryAt)
            m.lastError = message
            m.failedAttempts = attempts
        }
    }

}

/// The state shared by the caller's threads and the writer thread. Every field is guarded by
/// `condition`'s lock, hence `@unchecked Sendable`.
final class MirrorMailbox: @unchecked Sendable {
    enum Phase: Equatable {
        case idle, connecting, ok
        case error(String, retryAt: Double)
    }

    let condition = NSCondition()
    var pending: RunSnapshot?
    var pendingVersion: UInt64 = 0
    var paused = false
    var started = false
    var stopRequested = false
    var finished = false
    var phase = Phase.idle
    var lastError: String?
    /// Failed connects or writes since the last successful write (the Connections panel's "attempts").
    var failedAttempts = 0
    var writes = 0
    var lastWriteMs = 0.0
    /// Monotonic times of the last writes, a fixed ring: the rate costs no allocation.
    private var recentWrites = [Double](repeating: 0, count: 32)
    private var recentIndex = 0

    func locked<T>(_ body: (MirrorMailbox) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(self)
    }

    func recordWrite(at time: Double, durationMs: Double) {
        writes += 1
        lastWriteMs = durationMs
        recentWrites[recentIndex] = time
        recentIndex = (recentIndex + 1) % recentWrites.count
    }

    /// Writes per second over the last 3 s.
    func writeRate(now: Double) -> Double {
        let span = 3.0
        let n = recentWrites.reduce(0) { $0 + ($1 > 0 && now - $1 <= span ? 1 : 0) }
        return Double(n) / span
    }
}

extension RedisMirror {
    /// Deletes every key under `prefix:` (SCAN, never KEYS); returns how many. For tests and benchmarks.
    @discardableResult
    package static func clear(url: RedisURL, prefix: String) throws -> Int {
        let connection = try RedisConnection(url: url)
        var escaped = ""
        for c in prefix {
            if "*?[]\\".contains(c) { escaped.append("\\") }
            escaped.append(c)
        }
        var cursor = "0"
        var deleted = 0
        repeat {
            let reply = try connection.command("SCAN", cursor, "MATCH", escaped + ":*", "COUNT", "1000")
            let parts = reply.elements
            guard parts.count == 2, let next = parts[0].text else { break }
            cursor = next
            let found = parts[1].elements.compactMap(\.text)
            if !found.isEmpty { deleted += Int(try connection.command(["DEL"] + found).integer ?? 0) }
        } while cursor != "0"
        return deleted
    }
}
