import Foundation
import Metrics
import Pipeline
import Synchronization

/// One external service as read right now: a name people know, what it points at, and its status.
struct ServiceProbe: Sendable, Equatable {
    /// "kafka", "redis", "warehouse", "source", "replication_slots", "connect" (also the JSON key).
    var name: String
    /// Brokers or URL (credentials left out by the callers).
    var target: String
    var status: ServiceStatus
}

/// One service as the Connections panel, `--log` and `--json` show it: its state, since when, the last
/// error verbatim (kept after it recovers), attempts and the next retry.
struct ConnectionEntry: Sendable, Equatable {
    var name: String
    var target: String
    var status: ServiceStatus
    /// When the state last changed (ms since epoch).
    var sinceMs: Int64
    /// The last failure, verbatim; stays after the service recovers, so a flapping link is explained.
    var lastError: String?
    var lastErrorAtMs: Int64 = 0
    /// Failed attempts since the service last worked: the service's own count, else the failures seen here.
    var attempts: Int = 0
    /// Next retry (ms since epoch); 0 when unknown (librdkafka retries on its own).
    var nextRetryAtMs: Int64 = 0

    var title: String {
        switch name {
        case "kafka": "Kafka"
        case "redis": "Redis"
        case "warehouse": "PostgreSQL warehouse"
        case "source": "PostgreSQL source"
        case "replication_slots": "Replication slots"
        case "connect": "Kafka Connect"
        default: name
        }
    }

    /// `"kafka":{"state","target","detail","error","attempts","next_retry_ms","since_ms","last_error_ms"}`.
    func json() -> String {
        var t = "{\"state\":\"\(status.state.rawValue)\",\"target\":"
        JSONText.appendQuoted(target, to: &t)
        t += ",\"detail\":"
        JSONText.appendQuoted(status.detail, to: &t)
        t += ",\"error\":" + (lastError.map(JSONText.quoted) ?? "null")
        t +=
            ",\"attempts\":\(attempts),\"next_retry_ms\":\(nextRetryAtMs),\"since_ms\":\(sinceMs),\"last_error_ms\":\(lastErrorAtMs)}"
        return t
    }
}

/// Follows the services between frames (or headless lines): remembers errors, counts attempts and says
/// what changed, one timestamped line per change for `--log`.
struct ConnectionBoard: Sendable {
    private(set) var entries: [ConnectionEntry] = []

    /// Takes the statuses seen at `nowMs`; returns what changed, as log lines (without the timestamp).
    mutating func update(_ probes: [ServiceProbe], nowMs: Int64) -> [String] {
        var lines: [String] = []
        var next: [ConnectionEntry] = []
        for probe in probes {
            let status = probe.status
            let currentError = status.error ?? (status.state == .error ? status.detail : nil)
            guard var e = entries.first(where: { $0.name == probe.name }) else {
                var e = ConnectionEntry(name: probe.name, target: probe.target, status: status, sinceMs: nowMs)
                if let currentError {
                    e.lastError = currentError
                    e.lastErrorAtMs = nowMs
                    e.attempts = max(status.attempts, status.state == .ok ? 0 : 1)
                }
                e.nextRetryAtMs = status.nextRetryAtMs
                lines.append(
                    "\(probe.name): \(status.state.rawValue) \(probe.target)" + (currentError.map { ": \($0)" } ?? ""))
                next.append(e)
                continue
            }
            let previous = e.status
            let attemptsBefore = e.attempts
            e.target = probe.target
            if previous.state != status.state {
                let was = Format.age(nowMs - e.sinceMs)
                e.sinceMs = nowMs
                var line = "\(probe.name): \(previous.state.rawValue) -> \(status.state.rawValue) after \(was)"
                if status.state != .ok, let currentError { line += ": \(currentError)" }
                lines.append(line)
            }
            let newFailure =
                currentError != nil
                && (currentError != e.lastError || status.attempts > e.attempts
                    || (previous.state == .ok && status.state != .ok))
            if let currentError, newFailure, status.state != .ok {
                if currentError != e.lastError, previous.state == status.state {
                    lines.append("\(probe.name): error: \(currentError)")
                }
                e.lastError = currentError
                e.lastErrorAtMs = nowMs
                e.attempts = status.attempts > 0 ? status.attempts : e.attempts + 1
            } else if status.attempts > 0 {
                e.attempts = status.attempts
            }
            if status.state == .ok { e.attempts = 0 }
            if e.attempts > attemptsBefore, attemptsBefore > 0, status.nextRetryAtMs > 0, status.state != .ok {
                lines.append(
                    "\(probe.name): attempt \(e.attempts) failed, retry at \(Format.clock(status.nextRetryAtMs)) UTC")
            }
            e.nextRetryAtMs = status.state == .ok ? 0 : status.nextRetryAtMs
            e.status = status
            next.append(e)
        }
        entries = next
        return lines
    }

    func entry(_ name: String) -> ConnectionEntry? { entries.first { $0.name == name } }

    /// `"services":{"kafka":{…},"redis":{…}}` (only the configured ones).
    func json() -> String {
        "{" + entries.map { "\"\($0.name)\":" + $0.json() }.joined(separator: ",") + "}"
    }
}

/// Snapshot events worth a line in `--log` besides the services: checkpoints, state errors, malformed
/// messages, schema changes, the first data.
struct SnapshotEventLog: Sendable {
    private var checkpoints: Int64 = -1
    private var stateError: String?
    private var malformed: Int64 = 0
    private var ddl: Int = 0
    private var sawData = false
    private var caughtUp = false

    mutating func lines(_ s: RunSnapshot) -> [String] {
        var out: [String] = []
        if checkpoints >= 0, s.state.checkpoints > checkpoints {
            out.append(
                "checkpoint #\(s.state.checkpoints) saved to \(s.state.directory ?? "?") (msgs \(s.kpis.result.messages))"
            )
        }
        checkpoints = s.state.checkpoints
        if s.state.lastError != stateError {
            out.append(s.state.lastError.map { "state: checkpoint failed: \($0)" } ?? "state: checkpoints work again")
            stateError = s.state.lastError
        }
        if !sawData, s.kpis.result.messages > 0 {
            sawData = true
            out.append(
                "first data: \(s.consumer.partitions.count) partition(s) assigned, \(s.kpis.result.messages) msgs read")
        }
        if s.kpis.result.malformed > malformed {
            let fresh = Int(min(Int64(s.diagnostics.recentMalformed.count), s.kpis.result.malformed - malformed))
            for m in s.diagnostics.recentMalformed.suffix(fresh) {
                out.append("malformed: \(m.position.topic)[\(m.position.partition)]@\(m.position.offset): \(m.reason)")
            }
            malformed = s.kpis.result.malformed
        }
        let seenDDL = s.diagnostics.schemaChanges.values.reduce(0, +)
        if Int(seenDDL) > ddl {
            for d in s.diagnostics.recentDDL.suffix(Int(seenDDL) - ddl) {
                out.append("schema change on \(d.table): \(d.ddl)")
            }
            ddl = Int(seenDDL)
        }
        let lagKnown = s.consumer.kafka.state == .ok && !s.consumer.partitions.isEmpty
        let nowCaughtUp = lagKnown && s.lagCaughtUp
        if lagKnown, nowCaughtUp != caughtUp {
            out.append(
                nowCaughtUp
                    ? "lag: caught up (\(s.consumer.totalLag) msgs behind)"
                    : "lag: behind by \(s.consumer.totalLag) msgs")
            caughtUp = nowCaughtUp
        }
        return out
    }
}

/// Appends timestamped lines to the `--log` file (one writer; lines never interleave).
final class RunLog: Sendable {
    /// Held while a line is written, so lines never interleave.
    private let output: Mutex<FileHandle?>
    let enabled: Bool

    /// Opens `path` for appending; nil path logs nothing.
    init(path: String?) throws {
        guard let path else {
            output = Mutex(nil)
            enabled = false
            return
        }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw RunError("--log \(path): cannot create the file (does the folder exist and is it writable?)")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw RunError("--log \(path): cannot open the file for writing")
        }
        h.seekToEndOfFile()
        output = Mutex(h)
        enabled = true
    }

    func write(_ line: String, nowMs: Int64 = WallClock.nowMs()) {
        guard enabled else { return }
        let text = RunLog.timestamp(nowMs) + " " + line + "\n"
        output.withLock { $0?.write(Data(text.utf8)) }
    }

    /// `2026-11-26T02:56:23.123Z`.
    static func timestamp(_ ms: Int64) -> String {
        let seconds = ms / 1000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
    }

    deinit { output.withLock { try? $0?.close() } }
}

/// Alert transitions for `--log`: one line when an alert turns pending, firing or resolved.
struct AlertLog: Sendable {
    private var phases: [AlertKey: Alert.Phase] = [:]

    mutating func lines(_ panel: AlertPanel?) -> [String] {
        guard let panel else { return [] }
        var out: [String] = []
        var seen: [AlertKey: Alert.Phase] = [:]
        for a in panel.active {
            seen[a.key] = a.phase
            if phases[a.key] != a.phase { out.append("alert \(a.phase.rawValue): \(a.key.description): \(a.summary)") }
        }
        for (key, phase) in phases where seen[key] == nil && phase == .firing {
            out.append("alert resolved: \(key.description)")
        }
        phases = seen
        return out
    }
}
