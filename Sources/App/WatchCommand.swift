import ArgumentParser
import Foundation
import Metrics
import Pipeline

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch Debezium topics on a Kafka cluster.",
        discussion: """
            Examples:
              cdctop watch --brokers 127.0.0.1:9092 --topics '^shop\\.public\\..*'
              cdctop watch --brokers b1:9092,b2:9092 --group cdctop-ops \\
                --topics shop.public.transaction,shop.public.product \\
                --profile my-schema.toml \\
                -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN
              cdctop watch --brokers … --topics … \\
                --headless --json --until-caught-up > result.json

            cdctop reads every partition of the matched topics itself (two viewers
            never split a pipeline) and keeps its whole state (per-key
            contributions, windows, counters) in --state DIR, checkpointed with
            the offsets it reflects every few seconds and on exit. A restart, even
            after kill -9, loads the state and resumes at those offsets: the
            numbers equal an uninterrupted run's. With no state yet it reads from
            the earliest offsets. Offsets are also committed to --group, so Kafka
            tools see cdctop's lag. A second watch on a state directory another
            cdctop writes runs as a viewer of it: it starts from that cdctop's
            latest checkpoint, read-only, reads on in memory with a consumer group
            of its own, writes nothing (no state, no offsets, no Redis, no
            warehouse) and stays a viewer if the writer exits; --state-reset or
            --redis on a busy directory is refused, and --no-viewer refuses
            instead of viewing. The dashboard keeps running while Kafka is
            unreachable (librdkafka reconnects); a broker that takes connections
            but answers nothing for 10 s shows as "stalled". Wrong credentials,
            a refused ACL or a failed TLS handshake stop cdctop with one line
            saying what to fix instead of retrying. A fetch waits up to 1 s for
            1 MB, to stay light on the broker; use -X fetch.wait.max.ms=50
            for lower latency on quiet topics.

            Exit codes (docs/operations.md, "Exit codes"):
              0    caught up (--until-caught-up): every partition read to its end,
                   the state saved and every sink written; or quit normally
              1    stopped on an error (the reason on stderr)
              2    caught up, but the result is not durable or not delivered:
                   the state could not be saved, or Redis/the warehouse failed
              3    timed out before catching up (--timeout, default 600 s)
              4    Kafka refused (headless): credentials, ACLs, TLS, or (with
                   --until-caught-up) a --topics name that does not exist;
                   retrying will not help
              64   bad command line
              130  interrupted (SIGINT or SIGTERM) before catching up
            With --until-caught-up the reasons are on stderr and in the JSON
            result's "outcome" object.
            """)

    @Option(help: "Bootstrap brokers, comma-separated.")
    var brokers: String

    @Option(help: "Topics, comma-separated; a name starting with ^ is a regex (e.g. '^shop\\.public\\..*').")
    var topics: String

    @Option(help: "Consumer group the offsets are committed to (for Kafka tools' lag; cdctop reads from its state).")
    var group: String = "cdctop"

    @Option(
        help: ArgumentHelp(
            "Durable state directory (default $XDG_STATE_HOME/cdctop/<pipeline>, i.e. ~/.local/state/cdctop/<pipeline>); 'none' keeps state in memory only and reads everything again on each start.",
            valueName: "dir|none"))
    var state: String?

    @Flag(
        name: .customLong("state-reset"),
        help:
            "Delete the saved state (and its cache of registry schemas) first and rebuild it from the earliest offsets."
    )
    var stateReset = false

    @Flag(
        name: .customLong("no-viewer"),
        help:
            "When another cdctop writes the state directory, fail instead of running as a read-only viewer of its latest checkpoint."
    )
    var noViewer = false

    @Option(
        name: .customLong("checkpoint-interval"),
        help: ArgumentHelp("Seconds between state checkpoints.", valueName: "s"))
    var checkpointInterval: Double = 5

    @Option(
        help: ArgumentHelp(
            "Kafka Connect REST URL (e.g. http://127.0.0.1:8083): shows each connector's and task's state, those whose topic.prefix writes the watched topics first (the worker's others below them); with the heartbeat topic subscribed too (e.g. --topics '^(shop\\.public\\..*|__debezium-heartbeat\\.shop)$') a quiet table is told apart from a dead connector, and heartbeats close the last window on a quiet source.",
            valueName: "url"))
    var connect: String?

    @Option(
        name: .customLong("connect-interval"),
        help: ArgumentHelp("Seconds between Kafka Connect polls.", valueName: "s"))
    var connectInterval: Double = 2

    @Option(
        name: .customLong("lag-groups"),
        help: ArgumentHelp(
            "Also watch the lag of these OTHER consumer groups of the pipeline (comma-separated; a name starting with ^ is a regex over the cluster's groups): log start, committed offset, lag (end − committed) in messages and seconds, messages deleted before the group read them, and a verdict by the same rules as cdctop's own over a 120-s window (OK, LAGGING, STALLED, STOPPED), in the Lag view, --json (lag_groups) and --metrics. At most 50 groups. A viewer (a second watch on a busy state directory) always watches the writer's --group, whose committed offsets its Lag view shows.",
            valueName: "groups"))
    var lagGroups: String?

    @Option(
        name: .customLong("lag-groups-interval"),
        help: ArgumentHelp("Seconds between --lag-groups queries.", valueName: "s"))
    var lagGroupsInterval: Double = 5

    @Flag(help: "With --headless: exit with the final result once every assigned partition reached its end.")
    var untilCaughtUp = false

    @Option(
        help: ArgumentHelp(
            "With --until-caught-up: give up after this many seconds, print the partial result and exit 3 with the reason (default 600, or $\(WatchCommand.timeoutVariable); 0: wait as long as it takes).",
            valueName: "s"))
    var timeout: Double?

    /// `--until-caught-up` gives up after this long unless `--timeout` (or the variable) says otherwise.
    static let defaultTimeoutSeconds: Double = 600
    static let timeoutVariable = "CDCTOP_UNTIL_CAUGHT_UP_TIMEOUT"

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var live: LiveOptions
    @OptionGroup var kafka: KafkaPropertyOptions
    @OptionGroup var registry: SchemaRegistryOptions
    @OptionGroup var connectHTTP: ConnectHTTPOptions
    @OptionGroup var transactionOptions: TransactionOptions

    func validate() throws {
        if untilCaughtUp && !live.headless { throw ValidationError("--until-caught-up needs --headless") }
        if let timeout, !(timeout >= 0) || !untilCaughtUp {
            throw ValidationError("--timeout needs --until-caught-up and a number of seconds (0: no limit)")
        }
        if untilCaughtUp, timeout == nil, let text = ProcessInfo.processInfo.environment[Self.timeoutVariable],
            !(Double(text).map { $0 >= 0 } ?? false)
        {
            throw ValidationError("$\(Self.timeoutVariable)=\(text): expected a number of seconds (0: no limit)")
        }
        try connectHTTP.validate(url: connect)
        if !(connectInterval >= 0.1 && connectInterval <= 3600) {
            throw ValidationError("--connect-interval must be between 0.1 and 3600 seconds")
        }
        if !(checkpointInterval >= 0.1 && checkpointInterval <= 3600) {
            throw ValidationError("--checkpoint-interval must be between 0.1 and 3600 seconds")
        }
        if !(lagGroupsInterval >= 0.5 && lagGroupsInterval <= 3600) {
            throw ValidationError("--lag-groups-interval must be between 0.5 and 3600 seconds")
        }
        if stateReset && state == "none" {
            throw ValidationError("--state-reset needs a state directory, not --state none")
        }
    }

    /// `--state`, or the default under $XDG_STATE_HOME; nil for `none`.
    func stateDirectory(pipeline: String) -> String? {
        if let state { return state == "none" ? nil : state }
        let environment = ProcessInfo.processInfo.environment
        let base =
            environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".local/state")
        return ((base as NSString).appendingPathComponent("cdctop") as NSString).appendingPathComponent(pipeline)
    }

    func run() throws {
        let profile = try profileOptions.load()
        let topicList = topics.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        var options = EngineOptions(
            consumer: KafkaConsumerConfig(
                brokers: brokers, groupID: group, topics: topicList,
                properties: try kafka.dictionary()),
            profile: profile)
        options.snapshotIntervalMs = live.headless ? min(live.interval, 1000) : 200
        options.captureRecentChanges = !live.headless
        options.stopWhenCaughtUp = untilCaughtUp
        options.transactions = transactionOptions.holding
        let timeLimit = untilCaughtUp ? effectiveTimeout() : nil
        // The time limit decides when to give up waiting for partitions, not the engine's own 60 s.
        if untilCaughtUp { options.assignmentTimeoutMs = timeLimit.map { Int($0 * 1000) + 60_000 } ?? Int(Int32.max) }
        // A viewer leaves the writer's directory alone, its schema cache included.
        var viewing = false
        if let directory = stateDirectory(pipeline: live.pipeline ?? profile.name) {
            var stateOptions = StateOptions(directory: directory)
            stateOptions.reset = stateReset
            stateOptions.checkpointIntervalMs = Int(checkpointInterval * 1000)
            // Refused before anything is touched (--state-reset would delete the schema cache below).
            let writer = StateStore.lockHolder(directory: directory)
            if let writer, let refusal = busyStateRefusal(directory: directory, writer: writer) {
                throw RunError(refusal)
            }
            stateOptions.viewWhenInUse = !noViewer
            viewing = writer != nil
            options.state = stateOptions
        }
        // Schemas of Avro topics, cached in <state dir>/schemas (a restart decodes known ids with the registry down).
        // --state-reset forgets them too: ids are only unique within one registry, and the reset may
        // come with another one (or a registry rebuilt from scratch, which hands the same ids out again).
        let schemaCache =
            viewing ? nil : options.state.map { ($0.directory as NSString).appendingPathComponent("schemas") }
        if stateReset, let schemaCache { try? FileManager.default.removeItem(atPath: schemaCache) }
        options.schemaRegistry = try registry.client(cacheDirectory: schemaCache)
        let engine: Engine
        do { engine = try Engine(options: options) } catch let error as StateError { throw RunError("\(error)") }
        if let writer = engine.viewerOfPID, live.headless || untilCaughtUp {
            printError(
                "cdctop: the state directory \(options.state?.directory ?? "") is in use by pid \(writer): running as a viewer of it "
                    + "(started from its latest checkpoint, opened read-only; reading on in memory; writing no state, no offsets, no Redis, no warehouse)"
            )
        }
        if let summary = engine.restoreSummary, live.headless || untilCaughtUp {
            printError("cdctop: state \(options.state?.directory ?? ""): \(summary.text)")
        }
        let integrations = try Integrations(
            options: live, profile: profile, sinkFromCheckpoints: engine.checkpointer != nil,
            viewer: engine.viewerOfPID != nil, schemaRegistry: options.schemaRegistry)
        engine.onSnapshot = { integrations.offer($0) }
        engine.checkpointer?.onDurable = { integrations.offerDurable($0) }
        integrations.start()
        defer { integrations.stop() }
        let connectMonitor = try connect.map {
            try ConnectHealthMonitor(
                url: $0, everySeconds: connectInterval, authFile: connectHTTP.authFile, caFile: connectHTTP.caFile)
        }
        connectMonitor?.start()
        defer { connectMonitor?.stop() }
        // A viewer's own group never commits: its Lag view shows the writer's group's offsets, asked here.
        let writerGroup = engine.viewerOfPID != nil ? group : nil
        let groupLag = try (lagGroups ?? writerGroup).map { text -> GroupLagMonitor in
            var groups = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            if let writerGroup, !groups.contains(writerGroup) { groups.append(writerGroup) }
            do {
                return try GroupLagMonitor(
                    brokers: brokers, groups: groups, topics: topicList, properties: try kafka.dictionary(),
                    everySeconds: lagGroupsInterval, thresholds: profile.lag)
            } catch { throw RunError("\(error)") }
        }
        groupLag?.start()
        defer { groupLag?.stop() }
        let operations = Operations(
            engine: engine, integrations: integrations, connect: connectMonitor, groupLag: groupLag)
        let metricsServer = try operations.startMetricsServer(live.metrics, webConfig: live.webConfig)
        defer { metricsServer?.stop() }
        if untilCaughtUp {
            try runUntilCaughtUp(
                engine: engine, operations: operations, integrations: integrations,
                connectMonitor: connectMonitor, topicList: topicList, timeLimit: timeLimit)
            return
        }
        engine.start()
        defer { engine.stop() }
        do {
            // The viewer's marker first: a narrow title bar cuts from the end.
            let title =
                engine.viewerOfPID.map { "viewer of pid \($0) (state read-only) · watch \(brokers)" }
                ?? "watch \(brokers)"
            try runLive(
                operations, options: live, title: title, seconds: nil,
                joining: "connecting to \(brokers), no partition yet")
        } catch let error as KafkaError where error.fault.needsFix {
            printError("cdctop: \(error.message)")
            throw ExitCode(RunOutcome.Result.refused.exitCode)
        }
    }

    /// Why a run on a directory another cdctop (`writer`) writes cannot view it instead, and what to do; nil: it can.
    func busyStateRefusal(directory: String, writer: Int32) -> String? {
        let busy = "the state directory \(directory) is in use by another cdctop (pid \(writer))"
        if stateReset {
            return "\(busy): --state-reset would delete the state it is writing. Stop that cdctop first, "
                + "or rebuild into a directory of your own with --state DIR --state-reset"
        }
        if live.redis != nil {
            return "\(busy), so this watch could only view it read-only, and a viewer does not write the Redis mirror. "
                + "Drop --redis to view it, look at what that cdctop mirrors with cdctop attach --redis URL, "
                + "or give this run its own --state DIR"
        }
        if noViewer {
            return "\(busy) (--no-viewer: not started as a read-only viewer). Give this run its own --state DIR, "
                + "or drop --no-viewer to view that cdctop's state read-only"
        }
        return nil
    }

    /// `--timeout`, else the variable, else 10 minutes; nil for no limit (0).
    func effectiveTimeout() -> Double? {
        let seconds =
            timeout ?? ProcessInfo.processInfo.environment[Self.timeoutVariable].flatMap(Double.init)
            ?? Self.defaultTimeoutSeconds
        return seconds > 0 ? seconds : nil
    }

    /// `--headless --until-caught-up`: reads to the end, waits for the sinks, prints the result with its
    /// outcome and exits with the outcome's code (see the table in the help).
    private func runUntilCaughtUp(
        engine: Engine, operations: Operations, integrations: Integrations,
        connectMonitor: ConnectHealthMonitor?, topicList: [String], timeLimit: Double?
    ) throws {
        let interrupted = InterruptFlag(onInterrupt: {})
        let deadline = timeLimit.map { Date().addingTimeInterval($0) }
        let log = try RunLog(path: live.log)
        log.write("start: --until-caught-up watch \(brokers)")
        var board = ConnectionBoard()
        var events = SnapshotEventLog()
        var lastSequence: UInt64 = 0
        var outcome = RunOutcome()

        // A topic named in --topics that does not exist can never be caught up on: say so now, not at the deadline.
        var refusedListing: KafkaError?
        if let missing = missingNamedTopics(topicList, deadline: deadline, refused: &refusedListing), !missing.isEmpty {
            outcome.result = .refused
            outcome.reasons.append(KafkaConsumer.unknownTopicsText(missing, brokers: brokers))
        } else if let refusedListing {
            // Refused credentials or TLS: the consumer would only be refused again (more attempts at the broker).
            outcome.result = .refused
            outcome.reasons.append(refusedListing.message)
        } else {
            engine.start()
            while !interrupted.isRaised {
                let snap = engine.snapshots.value
                logServiceChanges(
                    &board, log, kafkaTarget: brokers, snapshot: snap, integrations: integrations,
                    connect: connectMonitor)
                if let snap, snap.sequence != lastSequence {
                    lastSequence = snap.sequence
                    for line in events.lines(snap) { log.write(line) }
                }
                if snap?.consumer.caughtUp == true || engine.error != nil { break }
                if let deadline, Date() >= deadline {
                    outcome.result = .timedOut
                    break
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            if interrupted.isRaised { outcome.result = .interrupted }
        }
        // Stops reading, saves the final checkpoint and offers the final snapshot to the sinks.
        engine.stop()
        if let error = engine.error {
            let refused = (error as? KafkaError)?.fault.needsFix == true
            outcome.result = refused ? .refused : .failed
            outcome.reasons.append((error as? KafkaError)?.message ?? "\(error)")
        }
        guard let s = operations.snapshot() else {
            // Stopped before the engine published anything (e.g. a topic that does not exist): the outcome alone.
            if outcome.result == .caughtUp {
                outcome.result = .failed
                outcome.reasons.append("no result was produced")
            }
            if live.json {
                print("{\"outcome\":\(outcome.json())}")
                fflush(nil)
            }
            printError("cdctop: \(outcome.result.text)")
            for reason in outcome.reasons { printError("  \(reason)") }
            throw ExitCode(outcome.result.exitCode)
        }
        if s.consumer.caughtUp && (outcome.result == .timedOut || outcome.result == .interrupted) {
            outcome.result = .caughtUp
        }
        outcome.reasons += undeliveredReasons(s, integrations: integrations)
        if outcome.result == .caughtUp && !outcome.reasons.isEmpty { outcome.result = .partial }
        if outcome.result == .timedOut {
            let kafka = board.entry("kafka")
            var why =
                s.consumer.kafka.state == .error || s.consumer.kafka.state == .stalled
                ? "Kafka: \(s.consumer.kafka.detail)"
                : s.consumer.partitions.isEmpty
                    ? "no partition of \(topics) was found"
                    : s.consumer.lagKnown ? "lag \(s.consumer.totalLag) messages" : "lag unknown"
            if s.consumer.kafka.state == .ok || s.consumer.kafka.state == .connecting, let error = kafka?.lastError {
                why += "; last Kafka error: \(error)"
            }
            if let attempts = kafka?.attempts, attempts > 0 { why += "; \(attempts) failed attempts" }
            outcome.reasons.insert("not caught up after \(RunOutcome.seconds(timeLimit ?? 0)) s (\(why))", at: 0)
        } else if outcome.result == .interrupted {
            outcome.reasons.insert(
                "interrupted before catching up"
                    + (s.consumer.lagKnown ? " (lag \(s.consumer.totalLag) messages)" : ""), at: 0)
        }
        logServiceChanges(
            &board, log, kafkaTarget: brokers, snapshot: s, integrations: integrations, connect: connectMonitor)
        var line = headlessLine(s, json: live.json, connect: connectMonitor.map { $0.poll() }, services: board)
        if live.json, line.hasSuffix("}") {
            line.removeLast()
            line += ",\"outcome\":" + outcome.json() + "}"
        }
        print(line)
        fflush(nil)
        for reason in outcome.reasons { log.write("\(outcome.result.rawValue): \(reason)") }
        if outcome.result != .caughtUp {
            let partial = outcome.result == .refused || outcome.result == .failed ? "" : ": the result above is partial"
            printError("cdctop: \(outcome.result.text)\(partial)")
            for reason in outcome.reasons { printError("  \(RunOutcome.oneLine(reason))") }
            throw ExitCode(outcome.result.exitCode)
        }
    }

    /// Named topics (not ^patterns) the cluster does not list; nil when the cluster could not be asked in time
    /// (the run then says why it cannot catch up, at the deadline).
    /// `refused`: set when the cluster refused the credentials or TLS (a fault retrying cannot fix).
    private func missingNamedTopics(_ topicList: [String], deadline: Date?, refused: inout KafkaError?) -> [String]? {
        let named = topicList.filter { !$0.hasPrefix("^") }
        guard !named.isEmpty else { return [] }
        let budgetMs = deadline.map { max(200, min(5_000, Int32($0.timeIntervalSinceNow * 500))) } ?? 5_000
        let listed: [String: Int32]
        do {
            listed = try kafkaTopicPartitions(
                brokers: brokers, properties: (try? kafka.dictionary()) ?? [:], timeoutMs: budgetMs)
        } catch {
            // A bad property is not a refusal: the consumer reports it (exit 1).
            if let error = error as? KafkaError, [.authentication, .authorization, .tls].contains(error.fault) {
                refused = error
            }
            return nil
        }
        return named.filter { listed[$0] == nil }
    }

    /// Why a result read to its end is still not safe to rely on: the state not saved, a sink that did not write.
    /// Waits (at most ~5 s per sink) for the final snapshot to reach Redis and for the warehouse's last write.
    private func undeliveredReasons(_ s: RunSnapshot, integrations: Integrations) -> [String] {
        var reasons: [String] = []
        if let directory = s.state.directory, s.state.viewerOfPID == nil {
            if let error = s.state.lastError {
                reasons.append("state \(directory) not saved: \(error)")
            } else if s.state.checkpoints == 0 {
                reasons.append("state \(directory): no checkpoint was saved")
            }
        }
        if let mirror = integrations.mirror {
            // The final snapshot is offered again, twice: a write seen after the first offer may be an older
            // snapshot's that was in flight, but the write after that one takes what is pending, the final one.
            let writesBefore = mirror.writes
            let giveUp = Date().addingTimeInterval(5)
            var status = mirror.status
            var offered = 0
            while Date() < giveUp {
                status = mirror.status
                if status.state == .error || (status.state == .connecting && status.error != nil) { break }
                if status.state == .ok && mirror.writes >= writesBefore + 2 { break }
                if offered < 2 && mirror.writes >= writesBefore + offered {
                    mirror.offer(s)
                    offered += 1
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            if !(status.state == .ok && mirror.writes >= writesBefore + 2) {
                reasons.append(
                    "redis mirror \(mirror.url): the final result was not written: \(status.error ?? status.detail)")
            }
        }
        if let sink = integrations.sink {
            // Stopping writes what is pending (waiting up to 8 s); what is left was not written.
            sink.stop()
            let status = sink.status
            if sink.backlog > 0 {
                reasons.append("warehouse: \(sink.backlog) window(s) not written: \(status.error ?? status.detail)")
            } else if status.state == .error {
                reasons.append("warehouse: \(status.error ?? status.detail)")
            }
        }
        return reasons
    }
}

/// How a `--until-caught-up` run ended: the exit code and, in the JSON result, `"outcome":{"result","exit_code","reasons"}`.
struct RunOutcome {
    enum Result: String {
        case caughtUp = "caught_up"
        case partial
        case timedOut = "timed_out"
        case interrupted, refused, failed

        var exitCode: Int32 {
            switch self {
            case .caughtUp: 0
            case .failed: 1
            case .partial: 2
            case .timedOut: 3
            case .refused: 4
            case .interrupted: 130
            }
        }

        var text: String {
            switch self {
            case .caughtUp: "caught up"
            case .partial: "caught up, but the result is not durable or not delivered"
            case .timedOut: "timed out before catching up"
            case .interrupted: "interrupted before catching up"
            case .refused: "Kafka refused: fix the settings below, retrying will not help"
            case .failed: "stopped on an error"
            }
        }
    }

    var result = Result.caughtUp
    var reasons: [String] = []

    func json() -> String {
        "{\"result\":\"\(result.rawValue)\",\"exit_code\":\(result.exitCode),\"reasons\":["
            + reasons.map(JSONText.quoted).joined(separator: ",") + "]}"
    }

    /// libpq's messages span lines: one reason, one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    /// 2.5 → "2.5", 600 → "600".
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
