import ArgumentParser
import Foundation
import Metrics
import Pipeline
import Synchronization

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run cdctop on a built-in shop workload: no external service needed.",
        discussion: """
            Starts librdkafka's in-process mock cluster, creates the four shop
            topics (3 partitions each) and produces realistic Debezium traffic
            into them: a snapshot of products, customers and existing orders,
            then new orders with line items, status updates, partial refunds,
            cancellations with tombstones and price changes. cdctop consumes it
            like any cluster. A second consumer group, demo-jdbc-sink, stands for a
            downstream sink: it falls behind and catches up in a two-minute cycle,
            and the Lag view shows it as --lag-groups would.

            Examples:
              cdctop demo                                 # the dashboard
              cdctop demo --headless --seconds 10 --json  # JSON each second
              cdctop demo --rate 10000                    # heavier traffic
              cdctop demo --redis redis://127.0.0.1:6379/0 --warehouse URL
              cdctop demo --profile profiles/shop-chain.toml   # KPIs written as SQL (view 8)

            Redis keys and warehouse rows go to the pipeline 'demo' (--pipeline to
            change it), the one `cdctop warehouse seed` fills with history by default;
            warehouse rows are marked synthetic. With --warehouse the demo first
            writes the last 30 days of history for that pipeline at its own --rate
            and --seed (what the generator makes a day at that rate, with a weekly
            shape), unless the pipeline holds real windows; today is the live run.
            """)

    @Option(
        help: "Messages per second the generator produces (with --warehouse, the seeded history is a day of this rate)."
    )
    var rate: Int = WarehouseSeed.demoMessagesPerSecond

    @Option(help: "Stop after this many seconds (default: until q / Ctrl-C).")
    var seconds: Int?

    @Option(help: "Generator seed (same seed, same orders).")
    var seed: UInt64 = WarehouseSeed.demoGeneratorSeed

    @Option(
        help: ArgumentHelp(
            "KPI profile for the shop's topics: a TOML file, e.g. profiles/shop-sql.toml or profiles/shop-chain.toml (KPIs written as SQL, view 8), or a built-in name (default: shop).",
            valueName: "file|name"))
    var profile: String?

    @OptionGroup var live: LiveOptions

    func validate() throws {
        if rate < 1 || rate > 1_000_000 { throw ValidationError("--rate must be between 1 and 1000000") }
        if let s = seconds, s < 1 { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        // Never torn down: rd_kafka_mock_cluster_destroy waits on the mock brokers' timed waits, which made
        // 2 of 3 quits take 1.2 s after the terminal was already restored. The process exit frees it.
        _ = Unmanaged.passRetained(cluster)
        let workload = ShopWorkload(config: ShopWorkloadConfig(seed: seed, useWallClock: true))
        for topic in workload.topics { try cluster.createTopic(topic, partitions: 3) }
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers)
        let generator = DemoGenerator(workload: workload, producer: producer, rate: rate)
        generator.start()
        defer { generator.stop() }

        let profile = try ProfileOptions(profile: profile ?? "shop").load()
        var options = EngineOptions(
            consumer: KafkaConsumerConfig(
                brokers: cluster.bootstrapServers, groupID: "cdctop-demo", topics: workload.topics,
                // The mock cluster answers a fetch only when fetch.wait.max.ms (500 ms by default) runs out, where a
                // real broker answers as soon as data arrives: a shorter wait keeps the Latency view's Kafka → cdctop
                // hop close to what a real cluster shows.
                properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000", "fetch.wait.max.ms": "50"]),
            profile: profile)
        options.snapshotIntervalMs = live.headless ? min(live.interval, 1000) : 200
        options.captureRecentChanges = !live.headless
        let engine = try Engine(options: options)
        // Generated traffic: its own pipeline ('demo', where `warehouse seed` writes history by default),
        // marked synthetic in the warehouse, so it never mixes with a real 'shop' pipeline.
        let integrations = try Integrations(
            options: live, profile: profile, defaultPipeline: WarehouseSeed.defaultPipeline,
            synthetic: true)
        engine.onSnapshot = { integrations.offer($0) }
        let history = DemoHistorySeeder(
            url: live.warehouse, pipeline: integrations.pipeline, rate: rate, generatorSeed: seed,
            reload: { integrations.history?.reload() })
        history?.start()
        defer { history?.wait() }
        // The warehouse sink reports a missing schema as an error: give the seeder a moment to create it.
        history?.waitForSchema(seconds: 3)
        integrations.start()
        defer { integrations.stop() }
        // A downstream consumer (what a JDBC sink connector would be) that falls behind and catches up,
        // watched as `--lag-groups` watches a real one: the Lag view's "other groups" section.
        let sink = try DemoSink(brokers: cluster.bootstrapServers, topics: workload.topics, rate: rate)
        sink.start()
        defer { sink.stop() }
        let groupLag: GroupLagMonitor
        do {
            groupLag = try GroupLagMonitor(
                brokers: cluster.bootstrapServers, groups: [DemoSink.group], topics: workload.topics,
                everySeconds: 5)
        } catch { throw RunError("\(error)") }
        groupLag.start()
        defer { groupLag.stop() }
        let operations = Operations(engine: engine, integrations: integrations, connect: nil, groupLag: groupLag)
        let metricsServer = try operations.startMetricsServer(live.metrics, webConfig: live.webConfig)
        defer { metricsServer?.stop() }
        engine.start()
        defer { engine.stop() }
        try runLive(
            operations, options: live,
            title: "demo · mock cluster \(cluster.bootstrapServers) · \(rate) msg/s", seconds: seconds,
            joining: "still joining the mock cluster… the first assignment takes about 3 s")
    }
}

/// The demo's downstream consumer group (`demo-jdbc-sink`): it reads the shop topics in a 2-minute cycle
/// (keeping up for 50 s, then a third of the produced rate for 40 s, then nothing for 30 s) and commits
/// through librdkafka's auto-commit, so the other groups' lag has something to show.
///
/// The mock cluster keeps only about 5 MB per partition (librdkafka's mock log; at the default rate
/// under 20 s of the line-item topic), so a sink 20 s or more behind would have its next messages deleted
/// under it: offset-out-of-range resets, and the lag monitor's "messages were deleted before it read
/// them". So whatever the phase, it reads at full speed while any partition's position is in the older
/// half of what the partition still holds, until every one is in the newest quarter again.
final class DemoSink: Sendable {
    static let group = "demo-jdbc-sink"
    private let consumer: KafkaConsumer
    private let rate: Int
    private let stopped = Mutex<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(brokers: String, topics: [String], rate: Int) throws {
        do {
            consumer = try KafkaConsumer(
                config: KafkaConsumerConfig(brokers: brokers, groupID: Self.group, topics: topics))
        } catch { throw RunError("starting the demo's sink consumer: \(error)") }
        self.rate = rate
    }

    func start() {
        let t = Thread { [self] in
            self.loop()
            self.done.signal()
        }
        t.name = "cdctop-demo-sink"
        t.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
        done.wait()
        consumer.close()
    }

    /// Whether a partition's position is too close to the start of its retained log: true when in the older
    /// half, false when in the newest quarter, `wasGuarding` in between (so it does not flap).
    static func mustCatchUp(_ partitions: [PartitionProgress], wasGuarding: Bool) -> Bool {
        var anyInOlderHalf = false
        var allInNewestQuarter = true
        for p in partitions where p.lowWatermark > 0 && p.position >= 0 && p.highWatermark > p.lowWatermark {
            let held = p.highWatermark - p.lowWatermark
            let ahead = p.position - p.lowWatermark
            if ahead * 2 < held { anyInOlderHalf = true }
            if ahead * 4 < held * 3 { allInNewestQuarter = false }
        }
        return anyInOlderHalf || (wasGuarding && !allInNewestQuarter)
    }

    private func loop() {
        var batch = MessageBatch()
        let start = Date()
        var guarding = false
        var lastCheck = Date.distantPast
        while !stopped.withLock({ $0 }) {
            if Date().timeIntervalSince(lastCheck) >= 0.5 {
                lastCheck = Date()
                guarding = Self.mustCatchUp(consumer.partitionStates(), wasGuarding: guarding)
            }
            let phase = Date().timeIntervalSince(start).truncatingRemainder(dividingBy: 120)
            let perSecond = guarding || phase < 50 ? 1_000_000 : phase < 90 ? max(1, rate / 3) : 0
            guard perSecond > 0 else {
                Thread.sleep(forTimeInterval: 0.1)
                continue
            }
            let tick = Date()
            try? consumer.poll(into: &batch, maxMessages: max(1, perSecond / 10), timeoutMs: 100)
            consumer.storeOffsets(of: batch)
            let rest = 0.1 - Date().timeIntervalSince(tick)
            if perSecond < 1_000_000, rest > 0 { Thread.sleep(forTimeInterval: rest) }
        }
    }
}

/// Produces the shop workload into the mock cluster at a steady rate on its own thread.
final class DemoGenerator: @unchecked Sendable {
    private let workload: ShopWorkload
    private let producer: KafkaProducer
    private let rate: Int
    private let stopped = Mutex<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(workload: ShopWorkload, producer: KafkaProducer, rate: Int) {
        self.workload = workload
        self.producer = producer
        self.rate = rate
    }

    func start() {
        let t = Thread { [self] in
            self.loop()
            self.done.signal()
        }
        t.name = "cdctop-demo-generator"
        t.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
        done.wait()
        try? producer.flush(timeoutMs: 2000)
    }

    private func loop() {
        // Generated at the pacer's rate (commit time = now), then each message produced once the time
        // Debezium stamped on it (`ts_ms`, 20–80 ms after the commit) has come, as a real connector does:
        // otherwise the Latency view would see Kafka's timestamp before Debezium's.
        var waiting: [GeneratedMessage] = []  // oldest first; [next...] not produced yet
        var next = 0
        let pacer = Pacer(perSecond: Double(rate))
        var generated = 0
        while !stopped.withLock({ $0 }) {
            let due = pacer.due
            while generated < due {
                let before = waiting.count
                workload.next(into: &waiting)
                guard waiting.count > before else { break }
                generated += waiting.count - before
            }
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            while next < waiting.count, waiting[next].timestampMs <= nowMs {
                let m = waiting[next]
                next += 1
                try? producer.produce(topic: m.topic, key: m.key, value: m.value)
            }
            if next >= 4_096 {
                waiting.removeFirst(next)
                next = 0
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}

/// `demo --warehouse`: writes the pipeline's last `days` days of history at the demo's own rate and seed
/// (`WarehouseSeed`), on its own thread so the dashboard does not wait, then asks History to reload.
/// Skipped, with one line on stderr (the --log file under the dashboard), when the pipeline holds real windows.
final class DemoHistorySeeder: Sendable {
    static let days = 30
    private let url: String
    private let pipeline: String
    private let rate: Int
    private let generatorSeed: UInt64
    private let reload: @Sendable () -> Void
    private let done = DispatchSemaphore(value: 0)
    private let schemaReady = DispatchSemaphore(value: 0)

    init?(url: String?, pipeline: String, rate: Int, generatorSeed: UInt64, reload: @escaping @Sendable () -> Void) {
        guard let url else { return nil }
        self.url = url
        self.pipeline = pipeline
        self.rate = rate
        self.generatorSeed = generatorSeed
        self.reload = reload
    }

    func start() {
        let thread = Thread { [self] in
            defer { done.signal() }
            do throws(WarehouseError) {
                defer { schemaReady.signal() }
                let connection = try PostgresConnection(url, applicationName: "cdctop demo")
                try WarehouseSchema.initialize(connection)
                schemaReady.signal()
                let model = DemoRateModel.measure(messagesPerSecond: rate, generatorSeed: generatorSeed)
                try WarehouseSeed.seed(pipeline: pipeline, days: Self.days, on: connection, model: model)
                reload()
            } catch {
                let text =
                    error.kind == .wouldOverwrite
                    ? "demo: history not seeded: \(error.message)"
                    : "demo: history not seeded (\(error.message)); the demo runs on, History shows what the warehouse holds"
                FileHandle.standardError.write(Data("\(text)\n".utf8))
            }
        }
        thread.name = "cdctop-demo-history"
        thread.start()
    }

    /// Waits until the schema exists (or creating it failed), at most `seconds`.
    func waitForSchema(seconds: Double) { _ = schemaReady.wait(timeout: .now() + seconds) }

    /// Waits for the seeding to end (it is short; the process must not exit mid-write).
    func wait() { done.wait() }
}
