import Metrics
import Synchronization

/// A connector's or task's state as Kafka Connect's REST API reports it.
package enum ConnectState: String, Sendable, Hashable, CaseIterable {
    case running = "RUNNING"
    case paused = "PAUSED"
    case stopped = "STOPPED"
    case failed = "FAILED"
    case unassigned = "UNASSIGNED"
    case restarting = "RESTARTING"
    case unknown = "UNKNOWN"

    init(reported: String?) { self = reported.flatMap { ConnectState(rawValue: $0.uppercased()) } ?? .unknown }

    /// Higher is worse: the connector's overall state is its worst part.
    var severity: Int {
        switch self {
        case .running: 0
        case .restarting, .unassigned: 1
        case .unknown: 2
        case .paused, .stopped: 3
        case .failed: 4
        }
    }
}

package struct ConnectTaskHealth: Sendable, Hashable {
    package var id: Int
    package var state: ConnectState
    package var workerID: String
    /// First line of the Java stack trace of a FAILED task (the exception and its message).
    package var traceFirstLine: String?

    package init(id: Int, state: ConnectState, workerID: String = "", traceFirstLine: String? = nil) {
        self.id = id
        self.state = state
        self.workerID = workerID
        self.traceFirstLine = traceFirstLine
    }
}

/// One connector of `GET /connectors?expand=status`.
package struct ConnectorHealth: Sendable, Hashable {
    package var name: String
    package var state: ConnectState
    package var workerID: String
    package var traceFirstLine: String?
    package var tasks: [ConnectTaskHealth]
    /// The connector's `topic.prefix` (Debezium 2+; `database.server.name` before), from its config
    /// (`expand=info`); nil for connectors that name no prefix (sinks, other sources).
    package var topicPrefix: String?

    package init(
        name: String, state: ConnectState, workerID: String = "", traceFirstLine: String? = nil,
        tasks: [ConnectTaskHealth] = [], topicPrefix: String? = nil
    ) {
        self.name = name
        self.state = state
        self.workerID = workerID
        self.traceFirstLine = traceFirstLine
        self.tasks = tasks
        self.topicPrefix = topicPrefix
    }

    /// True when this connector writes `topic`: Debezium names its topics `<prefix>.<schema>.<table>`
    /// (and `<prefix>.transaction`, `<prefix>` for schema changes), its heartbeats `__debezium-heartbeat.<prefix>`.
    package func produces(topic: String) -> Bool {
        guard let prefix = topicPrefix, !prefix.isEmpty else { return false }
        return topic == prefix || topic.hasPrefix(prefix + ".") || topic == "__debezium-heartbeat." + prefix
    }

    /// The worst of the connector and its tasks; a RUNNING connector without tasks is UNASSIGNED
    /// (nothing is capturing).
    package var overallState: ConnectState {
        var worst = state
        for task in tasks where task.state.severity > worst.severity { worst = task.state }
        if worst == .running && tasks.isEmpty { return .unassigned }
        return worst
    }

    /// Why it is failing, if it is: the first trace line of the connector or of its first failed task.
    package var failureReason: String? {
        if state == .failed, let trace = traceFirstLine { return trace }
        if let task = tasks.first(where: { $0.state == .failed }) {
            return "task \(task.id): " + (task.traceFirstLine ?? "FAILED (no trace)")
        }
        return nil
    }

    /// "shop RUNNING 1/1", "shop PAUSED", "shop FAILED task 0: org.postgresql.util.PSQLException: …".
    package var summary: String {
        let overall = overallState
        let running = tasks.filter { $0.state == .running }.count
        var text = "\(name) \(overall.rawValue)"
        if overall == .running || overall == .unassigned || overall == .restarting {
            text += " \(running)/\(tasks.count)"
        }
        if overall == .failed, let reason = failureReason { text += " \(reason)" }
        return text
    }
}

/// What the last poll of a Kafka Connect worker found.
package struct ConnectHealthReport: Sendable, Hashable {
    /// Sorted by name.
    package var connectors: [ConnectorHealth]
    /// Wall time of the last successful poll (ms since epoch); 0 before the first.
    package var checkedAtMs: Int64
    /// Why the last poll failed (unreachable worker, bad answer); nil when it succeeded.
    package var pollError: String?
    /// The REST URL polled, for messages.
    package var url: String

    package init(connectors: [ConnectorHealth] = [], checkedAtMs: Int64 = 0, pollError: String? = nil, url: String = "")
    {
        self.connectors = connectors
        self.checkedAtMs = checkedAtMs
        self.pollError = pollError
        self.url = url
    }

    /// The connectors that write any of `topics` (the ones cdctop watches), and the worker's others.
    /// With no topic known yet (nothing assigned), every connector counts as watched.
    package func scoped(toTopics topics: [String]) -> (watched: [ConnectorHealth], others: [ConnectorHealth]) {
        guard !topics.isEmpty else { return (connectors, []) }
        var watched: [ConnectorHealth] = []
        var others: [ConnectorHealth] = []
        for c in connectors {
            if topics.contains(where: c.produces(topic:)) { watched.append(c) } else { others.append(c) }
        }
        return (watched, others)
    }

    /// The worst connector state, `.unknown` when there is none or the worker cannot be reached.
    package var overallState: ConnectState {
        if pollError != nil || connectors.isEmpty { return .unknown }
        return connectors.map(\.overallState).max(by: { $0.severity < $1.severity }) ?? .unknown
    }

    /// One status-bar entry, combining the REST state with Debezium heartbeats: a RUNNING connector
    /// whose heartbeats stopped is as dead as a FAILED one, and a table without changes but with fresh
    /// heartbeats is just quiet. `lastHeartbeatMs` 0 means no heartbeat topic is followed.
    /// With `watchedTopics`, only the connectors writing them decide the state and are named; the
    /// worker's others are counted (a failed connector of another pipeline is not this one's outage).
    package func status(
        lastHeartbeatMs: Int64, nowMs: Int64, heartbeatStaleAfterMs: Int64 = 30_000,
        watchedTopics: [String] = []
    ) -> ServiceStatus {
        if let pollError {
            return ServiceStatus(checkedAtMs == 0 ? .connecting : .error, "connect: \(pollError)", error: pollError)
        }
        if checkedAtMs == 0 { return ServiceStatus(.connecting, "connect: polling \(url)") }
        if connectors.isEmpty { return ServiceStatus(.error, "connect: no connectors on \(url)") }
        var (shown, others) = scoped(toTopics: watchedTopics)
        // None writes the watched topics (renamed topics, a prefix set elsewhere): all of them are named.
        if shown.isEmpty { (shown, others) = (connectors, []) }
        var text = shown.map(\.summary).joined(separator: ", ")
        if !others.isEmpty {
            text += " (+\(others.count) other connector\(others.count == 1 ? "" : "s") on this worker)"
        }
        let worst = shown.map(\.overallState).max(by: { $0.severity < $1.severity }) ?? .unknown
        var heartbeat = ""
        var state: ServiceStatus.State
        switch worst {
        case .running: state = .ok
        case .paused, .stopped: state = .paused
        case .restarting, .unassigned, .unknown: state = .connecting
        case .failed: state = .error
        }
        if lastHeartbeatMs > 0 {
            let age = max(0, nowMs - lastHeartbeatMs)
            heartbeat = " · heartbeat \(TimeText.duration(ms: age)) ago"
            if state == .ok && age > heartbeatStaleAfterMs {
                state = .error
                heartbeat += " (stale: connector stuck?)"
            }
        }
        return ServiceStatus(state, "connect: \(text)\(heartbeat)")
    }

    /// `[{"name":"shop","state":"RUNNING","tasks":["RUNNING"],"error":null,"topic_prefix":"shop","watched":true}]`
    /// for headless JSON output, the connectors writing `watchedTopics` first (`watched` is true for every
    /// connector when no topic is given).
    package func json(watchedTopics: [String] = []) -> String {
        let (watched, others) = scoped(toTopics: watchedTopics)
        var out = "["
        for (i, c) in (watched + others).enumerated() {
            if i > 0 { out += "," }
            out +=
                "{\"name\":\(Self.quoted(c.name)),\"state\":\"\(c.overallState.rawValue)\",\"connector_state\":\"\(c.state.rawValue)\",\"tasks\":["
            out += c.tasks.map { "\"\($0.state.rawValue)\"" }.joined(separator: ",")
            out += "],\"error\":\(c.failureReason.map(Self.quoted) ?? "null")"
            out += ",\"topic_prefix\":\(c.topicPrefix.map(Self.quoted) ?? "null"),\"watched\":\(i < watched.count)}"
        }
        return out + "]"
    }

    static func quoted(_ s: String) -> String { JSONText.quoted(s) }
}

package enum ConnectStatusParser {
    /// Parses the body of `GET /connectors?expand=status&expand=info`:
    /// `{"NAME":{"status":{"name","connector":{"state","worker_id","trace"?},"tasks":[{"id","state","worker_id","trace"?}]},
    /// "info":{"config":{"topic.prefix",…}}?}}` (`info` optional).
    package static func parseExpandedStatus(_ text: String) throws(CurlHTTPError) -> [ConnectorHealth] {
        guard let document = JSONValue.parse(text), case .object(let members) = document else {
            throw CurlHTTPError(
                kind: .answer,
                message: "Kafka Connect answered something that is not a JSON object: \(text.prefix(120))",
                advice: "is --connect the worker's REST URL (e.g. http://127.0.0.1:8083)?")
        }
        var connectors: [ConnectorHealth] = []
        for member in members {
            guard let status = member.value["status"] else {
                throw CurlHTTPError(
                    kind: .answer, message: "Kafka Connect's answer has no status for \(member.key)",
                    advice: "this worker may be older than Kafka 2.3 (no ?expand=status)")
            }
            var connector = parseStatus(status, name: member.key)
            // `expand=info` adds the config: its topic prefix tells which topics the connector writes.
            if let config = member.value["info"]?["config"] {
                connector.topicPrefix = (config["topic.prefix"] ?? config["database.server.name"])?.stringValue
            }
            connectors.append(connector)
        }
        return connectors.sorted { $0.name < $1.name }
    }

    /// Parses one `GET /connectors/NAME/status` object.
    package static func parseStatus(_ status: JSONValue, name: String) -> ConnectorHealth {
        let connector = status["connector"]
        var tasks: [ConnectTaskHealth] = []
        if case .array(let items)? = status["tasks"] {
            for item in items {
                tasks.append(
                    ConnectTaskHealth(
                        id: Int(item["id"]?.int64Value ?? -1),
                        state: ConnectState(reported: item["state"]?.stringValue),
                        workerID: item["worker_id"]?.stringValue ?? "",
                        traceFirstLine: firstLine(item["trace"]?.stringValue)))
            }
        }
        return ConnectorHealth(
            name: status["name"]?.stringValue ?? name,
            state: ConnectState(reported: connector?["state"]?.stringValue),
            workerID: connector?["worker_id"]?.stringValue ?? "",
            traceFirstLine: firstLine(connector?["trace"]?.stringValue),
            tasks: tasks.sorted { $0.id < $1.id })
    }

    static func firstLine(_ trace: String?) -> String? {
        guard let trace else { return nil }
        let line = trace.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? trace
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}

extension HTTPService {
    /// Kafka Connect's REST API at `--connect URL`, with `--connect-auth-file` / `$CDCTOP_CONNECT_AUTH` and `--connect-ca`.
    package static func kafkaConnect(url: String, authFile: String? = nil, caFile: String? = nil) throws(CurlHTTPError)
        -> HTTPService
    {
        try HTTPService(
            url: url, name: "the Kafka Connect worker", option: "--connect", example: "http://127.0.0.1:8083",
            credentials: try HTTPCredentials.load(file: authFile, option: "--connect"), caFile: caFile)
    }
}

/// Polls a Kafka Connect worker's REST API on its own thread and keeps the latest report; readers
/// (the dashboard, headless output) never wait on the network.
package final class ConnectHealthMonitor: Sendable {
    package let service: HTTPService
    package let everySeconds: Double
    private let worker: WorkerThread
    private let latest: Mutex<ConnectHealthReport>

    package init(service: HTTPService, everySeconds: Double = 2) {
        self.service = service
        self.everySeconds = max(0.1, everySeconds)
        worker = WorkerThread(name: "cdctop-connect-health")
        latest = Mutex(ConnectHealthReport(url: service.description))
    }

    /// `url` is the worker's REST URL, e.g. http://127.0.0.1:8083 (https:// verified with the system CA
    /// store or `caFile`); credentials from `authFile` or `$CDCTOP_CONNECT_AUTH`.
    package convenience init(url: String, everySeconds: Double = 2, authFile: String? = nil, caFile: String? = nil)
        throws(CurlHTTPError)
    {
        self.init(service: try .kafkaConnect(url: url, authFile: authFile, caFile: caFile), everySeconds: everySeconds)
    }

    deinit { worker.stop(waitSeconds: 1) }

    package func start() { worker.start { [weak self] in self?.run() } }
    /// Stops the thread; a poll in flight is abandoned (within 0.1 s).
    package func stop() { worker.stop() }
    /// Polls at once instead of waiting for the period.
    package func pollNow() { worker.wake() }

    package var report: ConnectHealthReport { latest.withLock { $0 } }

    /// One poll, on the caller's thread (blocking, bounded by the service's timeout; ended early by `stop()`).
    package func poll() -> ConnectHealthReport {
        var report = latest.withLock { $0 }
        let worker = self.worker
        do throws(CurlHTTPError) {
            let response = try service.perform(
                "/connectors?expand=status&expand=info", cancelled: { worker.isStopping })
            let body = response.text
            guard response.status == 200 else {
                throw CurlHTTPError(
                    kind: .status, message: "HTTP \(response.status) from \(service)/connectors: \(body.prefix(200))",
                    advice: "is --connect the Kafka Connect REST URL?")
            }
            report.connectors = try ConnectStatusParser.parseExpandedStatus(body)
            report.checkedAtMs = WallClock.nowMs()
            report.pollError = nil
        } catch {
            // A poll cut off by stop() leaves the last report as it was.
            if error.kind == .cancelled { return report }
            report.pollError = error.description
        }
        let result = report
        latest.withLock { $0 = result }
        return result
    }

    private func run() {
        while !worker.isStopping {
            _ = poll()
            worker.sleep(seconds: everySeconds)
        }
    }
}
