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

        Offsets are committed to the consumer group only after events are
        applied; a restart resumes there. The dashboard keeps running while
        Kafka is unreachable (librdkafka reconnects). Use -X
        fetch.wait.max.ms=50 for lower latency on quiet topics.
        """)

    @Option(help: "Bootstrap brokers, comma-separated.")
    var brokers: String

    @Option(help: "Topics, comma-separated; a name starting with ^ is a regex (e.g. '^shop\\.public\\..*').")
    var topics: String

    @Option(help: "Consumer group id.")
    var group: String = "cdctop"

    @Option(help: ArgumentHelp(
        "Kafka Connect REST URL (e.g. http://127.0.0.1:8083): shows each connector's and task's state; with the heartbeat topic subscribed too (e.g. --topics '^(shop\\.public\\..*|__debezium-heartbeat\\.shop)$') a quiet table is told apart from a dead connector.",
        valueName: "url"))
    var connect: String?

    @Option(name: .customLong("connect-interval"), help: ArgumentHelp("Seconds between Kafka Connect polls.", valueName: "s"))
    var connectInterval: Double = 2

    @Flag(help: "With --headless: exit with the final result once every assigned partition reached its end.")
    var untilCaughtUp = false

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var live: LiveOptions
    @OptionGroup var kafka: KafkaPropertyOptions

    func validate() throws {
        if untilCaughtUp && !live.headless { throw ValidationError("--until-caught-up needs --headless") }
        if let connect {
            do { _ = try HTTPEndpoint(parsing: connect) } catch { throw ValidationError("--connect: \(error)") }
        }
        if !(connectInterval >= 0.1 && connectInterval <= 3600) { throw ValidationError("--connect-interval must be between 0.1 and 3600 seconds") }
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
        let engine = try Engine(options: options)
        let integrations = try Integrations(options: live, profile: profile)
        engine.onSnapshot = { integrations.offer($0) }
        integrations.start()
        defer { integrations.stop() }
        let connectMonitor = try connect.map { try ConnectHealthMonitor(url: $0, everySeconds: connectInterval) }
        connectMonitor?.start()
        defer { connectMonitor?.stop() }
        if untilCaughtUp {
            let interrupted = InterruptFlag(onInterrupt: { })
            engine.start()
            while !interrupted.isRaised {
                if engine.snapshots.value?.caughtUp == true || engine.error != nil { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            engine.stop()
            if let e = engine.error { throw e }
            guard let s = engine.snapshots.value else { throw ExitCode.failure }
            print(headlessLine(s, json: live.json, connect: connectMonitor.map { $0.poll() }))
            return
        }
        engine.start()
        defer { engine.stop() }
        try runLive(engine: engine, options: live, integrations: integrations, title: "watch \(brokers)", seconds: nil,
                    connect: connectMonitor)
    }
}
