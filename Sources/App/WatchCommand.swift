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
        tools see cdctop's lag. The dashboard keeps running while Kafka is
        unreachable (librdkafka reconnects). Use -X fetch.wait.max.ms=50 for
        lower latency on quiet topics.
        """)

    @Option(help: "Bootstrap brokers, comma-separated.")
    var brokers: String

    @Option(help: "Topics, comma-separated; a name starting with ^ is a regex (e.g. '^shop\\.public\\..*').")
    var topics: String

    @Option(help: "Consumer group the offsets are committed to (for Kafka tools' lag; cdctop reads from its state).")
    var group: String = "cdctop"

    @Option(help: ArgumentHelp(
        "Durable state directory (default $XDG_STATE_HOME/cdctop/<pipeline>, i.e. ~/.local/state/cdctop/<pipeline>); 'none' keeps state in memory only and reads everything again on each start.",
        valueName: "dir|none"))
    var state: String?

    @Flag(name: .customLong("state-reset"), help: "Delete the saved state (and its cache of registry schemas) first and rebuild it from the earliest offsets.")
    var stateReset = false

    @Option(name: .customLong("checkpoint-interval"), help: ArgumentHelp("Seconds between state checkpoints.", valueName: "s"))
    var checkpointInterval: Double = 5

    @Option(help: ArgumentHelp(
        "Kafka Connect REST URL (e.g. http://127.0.0.1:8083): shows each connector's and task's state; with the heartbeat topic subscribed too (e.g. --topics '^(shop\\.public\\..*|__debezium-heartbeat\\.shop)$') a quiet table is told apart from a dead connector.",
        valueName: "url"))
    var connect: String?

    @Option(name: .customLong("connect-interval"), help: ArgumentHelp("Seconds between Kafka Connect polls.", valueName: "s"))
    var connectInterval: Double = 2

    @Option(name: .customLong("lag-groups"), help: ArgumentHelp(
        "Also watch the lag of these OTHER consumer groups of the pipeline (comma-separated; a name starting with ^ is a regex over the cluster's groups): log start, committed offset, lag (end − committed) in messages and seconds, messages deleted before the group read them, and a verdict by the same rules as cdctop's own over a 120-s window (OK, LAGGING, STALLED, STOPPED), in the Lag view, --json (lag_groups) and --metrics. At most 50 groups.",
        valueName: "groups"))
    var lagGroups: String?

    @Option(name: .customLong("lag-groups-interval"), help: ArgumentHelp("Seconds between --lag-groups queries.", valueName: "s"))
    var lagGroupsInterval: Double = 5

    @Flag(help: "With --headless: exit with the final result once every assigned partition reached its end.")
    var untilCaughtUp = false

    @Option(help: ArgumentHelp("With --until-caught-up: give up after this many seconds, print the partial result and exit non-zero with the reason.", valueName: "s"))
    var timeout: Double?

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var live: LiveOptions
    @OptionGroup var kafka: KafkaPropertyOptions
    @OptionGroup var registry: SchemaRegistryOptions
    @OptionGroup var connectHTTP: ConnectHTTPOptions

    func validate() throws {
        if untilCaughtUp && !live.headless { throw ValidationError("--until-caught-up needs --headless") }
        if let timeout, !(timeout > 0) || !untilCaughtUp { throw ValidationError("--timeout needs --until-caught-up and a positive number of seconds") }
        try connectHTTP.validate(url: connect)
        if !(connectInterval >= 0.1 && connectInterval <= 3600) { throw ValidationError("--connect-interval must be between 0.1 and 3600 seconds") }
        if !(checkpointInterval >= 0.1 && checkpointInterval <= 3600) { throw ValidationError("--checkpoint-interval must be between 0.1 and 3600 seconds") }
        if !(lagGroupsInterval >= 0.5 && lagGroupsInterval <= 3600) { throw ValidationError("--lag-groups-interval must be between 0.5 and 3600 seconds") }
        if stateReset && state == "none" { throw ValidationError("--state-reset needs a state directory, not --state none") }
    }

    /// `--state`, or the default under $XDG_STATE_HOME; nil for `none`.
    func stateDirectory(pipeline: String) -> String? {
        if let state { return state == "none" ? nil : state }
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".local/state")
        return ((base as NSString).appendingPathComponent("cdctop") as NSString).appendingPathComponent(pipeline)
    }

    func run() throws {
        let profile = try profileOptions.load()
        let topicList = topics.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var options = EngineOptions(consumer: KafkaConsumerConfig(brokers: brokers, groupID: group, topics: topicList,
                                                                  properties: try kafka.dictionary()),
                                    profile: profile)
        options.snapshotIntervalMs = live.headless ? min(live.interval, 1000) : 200
        options.captureRecentChanges = !live.headless
        options.stopWhenCaughtUp = untilCaughtUp
        if let directory = stateDirectory(pipeline: live.pipeline ?? profile.name) {
            var stateOptions = StateOptions(directory: directory)
            stateOptions.reset = stateReset
            stateOptions.checkpointIntervalMs = Int(checkpointInterval * 1000)
            options.state = stateOptions
        }
        // Schemas of Avro topics, cached in <state dir>/schemas (a restart decodes known ids with the registry down).
        // --state-reset forgets them too: ids are only unique within one registry, and the reset may
        // come with another one (or a registry rebuilt from scratch, which hands the same ids out again).
        let schemaCache = options.state.map { ($0.directory as NSString).appendingPathComponent("schemas") }
        if stateReset, let schemaCache { try? FileManager.default.removeItem(atPath: schemaCache) }
        options.schemaRegistry = try registry.client(cacheDirectory: schemaCache)
        let engine: Engine
        do { engine = try Engine(options: options) } catch let error as StateError { throw RunError("\(error)") }
        if let summary = engine.restoreSummary, live.headless || untilCaughtUp {
            printError("cdctop: state \(options.state?.directory ?? ""): \(summary.text)")
        }
        let integrations = try Integrations(options: live, profile: profile, sinkFromCheckpoints: engine.checkpointer != nil)
        integrations.schemaRegistry = options.schemaRegistry
        engine.onSnapshot = { integrations.offer($0) }
        engine.checkpointer?.onDurable = { integrations.offerDurable($0) }
        integrations.start()
        defer { integrations.stop() }
        let connectMonitor = try connect.map { try ConnectHealthMonitor(url: $0, everySeconds: connectInterval, authFile: connectHTTP.authFile, caFile: connectHTTP.caFile) }
        connectMonitor?.start()
        defer { connectMonitor?.stop() }
        let groupLag = try lagGroups.map { text -> GroupLagMonitor in
            let groups = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            do {
                return try GroupLagMonitor(brokers: brokers, groups: groups, topics: topicList, properties: try kafka.dictionary(),
                                           everySeconds: lagGroupsInterval, thresholds: profile.lag)
            } catch { throw RunError("\(error)") }
        }
        groupLag?.start()
        defer { groupLag?.stop() }
        let operations = Operations(engine: engine, integrations: integrations, connect: connectMonitor, groupLag: groupLag)
        let metricsServer = try operations.startMetricsServer(live.metrics)
        defer { metricsServer?.stop() }
        if untilCaughtUp {
            let interrupted = InterruptFlag(onInterrupt: { })
            let deadline = timeout.map { Date().addingTimeInterval($0) }
            var timedOut = false
            let log = try RunLog(path: live.log)
            log.write("start: --until-caught-up watch \(brokers)")
            var board = ConnectionBoard()
            var events = SnapshotEventLog()
            var lastSequence: UInt64 = 0
            engine.start()
            while !interrupted.isRaised {
                let snap = engine.snapshots.value
                logServiceChanges(&board, log, kafkaTarget: brokers, snapshot: snap, integrations: integrations, connect: connectMonitor)
                if let snap, snap.sequence != lastSequence { lastSequence = snap.sequence; for line in events.lines(snap) { log.write(line) } }
                if snap?.caughtUp == true || engine.error != nil { break }
                if let deadline, Date() >= deadline { timedOut = true; break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            engine.stop()
            if let e = engine.error { throw e }
            guard let s = operations.snapshot() else { throw ExitCode.failure }
            print(headlessLine(s, json: live.json, connect: connectMonitor.map { $0.poll() }, services: board))
            if timedOut && !s.caughtUp {
                let kafka = board.entry("kafka")
                var why = s.kafka.state == .error ? "Kafka: \(s.kafka.detail)"
                    : s.partitions.isEmpty ? "no partition of \(topics) was found" : "lag \(s.totalLag) messages"
                if s.kafka.state != .error, let error = kafka?.lastError { why += "; last Kafka error: \(error)" }
                if let attempts = kafka?.attempts, attempts > 0 { why += "; \(attempts) failed attempts" }
                log.write("timeout: not caught up after \(timeout ?? 0) s (\(why))")
                printError("cdctop: not caught up after \(timeout ?? 0) s (\(why)): the result above is partial")
                throw ExitCode(3)
            }
            if interrupted.isRaised && !s.caughtUp {
                printError("cdctop: interrupted before catching up: the result above is partial")
                throw ExitCode(130)
            }
            return
        }
        engine.start()
        defer { engine.stop() }
        try runLive(operations, options: live, title: "watch \(brokers)", seconds: nil,
                    joining: "connecting to \(brokers), no partition yet")
    }
}
