import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// Issue 22 item 5, on a real broker: cdctop reads a fresh topic to its end, the broker restarts empty
/// and the topic comes back with fewer messages, and the running engine notices that the end fell below
/// what it had read: in the snapshot, in `/metrics` and as the CdcOffsetsBackwards alert.
///
/// The test runs its own Tansu (the binary scripts/deps installed, memory storage, a port of its own) so it
/// can restart it; the shared one (CDCTOP_TEST_BROKERS) is never touched. Deleting and recreating a topic
/// on the shared broker instead crashes librdkafka 2.16's consumer (a NULL topic name in its metadata cache
/// after the topic id changed, `rd_kafka_metadata_cache_find`), so that path cannot be tested in-process.
@Suite("Offsets that go backwards while running, on Tansu", .serialized, .tags(.kafka))
struct OffsetRegressionTansuTests {
    @Test("a broker restarted empty under a running engine is flagged, counted, exported and alerted")
    func brokerRestartedEmptyUnderTheEngine() throws {
        guard TestServices.environment("CDCTOP_TEST_BROKERS") != nil else {
            Issue.record(
                "CDCTOP_TEST_BROKERS is not set: run scripts/services up tansu and source .run/env (LD_LIBRARY_PATH=$CDCTOP_RDKAFKA_216)"
            )
            return
        }
        var broker = try PrivateTansu()
        defer { broker.stop() }
        let brokers = broker.address
        let run = UInt32.random(in: 0...UInt32.max)
        let topic = "obk\(run).public.transaction"
        try TopicAdmin.create(topic, partitions: 1, brokers: brokers)
        let producer = try KafkaProducer(brokers: brokers)
        func produce(_ n: Int) throws {
            for i in 0..<n {
                let value = Array("{\"n\":\(i)}".utf8)
                try value.withUnsafeBytes { try producer.produce(topic: topic, partition: 0, key: nil, value: $0) }
            }
            try producer.flush(timeoutMs: 30_000)
        }
        try produce(30)
        #expect(producer.deliveryFailures == 0)

        let options = EngineOptions(
            consumer: KafkaConsumerConfig(
                brokers: brokers, groupID: "obk-\(run)", topics: [topic],
                properties: ["session.timeout.ms": "6000"]), profile: .shop)
        let engine = try Engine(options: options)
        engine.start()
        defer { engine.stop() }
        func partition0(_ s: RunSnapshot?) -> PartitionLag? {
            s?.consumer.partitions.first { $0.topic == topic && $0.partition == 0 }
        }
        /// Waits (bounded, not timed) for a snapshot that satisfies `condition`; nil if the engine stopped or 60 s passed.
        func waitFor(_ condition: (RunSnapshot) -> Bool) -> RunSnapshot? {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && engine.error == nil {
                if let s = engine.snapshots.value, condition(s) { return s }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return nil
        }

        // Read to its end: position 30, end 30.
        let caughtUp = try #require(
            waitFor { partition0($0).map { $0.position == 30 && $0.highWatermark == 30 } ?? false },
            "the engine did not read the 30 messages (error: \(String(describing: engine.error)))")
        // Reading normally for longer than the confirmation time never counts as backwards.
        let steadyFrom = caughtUp.takenAtMs
        let steady = try #require(waitFor { $0.takenAtMs >= steadyFrom + 3_000 })
        #expect(steady.consumer.offsetRegressions.isEmpty, "\(steady.consumer.offsetRegressions)")

        // The broker restarts empty; the topic comes back holding 5 messages, below the 30 cdctop read.
        broker.stop()
        broker = try PrivateTansu(port: broker.port)
        try TopicAdmin.create(topic, partitions: 1, brokers: brokers)
        try produce(5)
        let flagged = try #require(
            waitFor { !$0.consumer.offsetRegressions.isEmpty },
            "no regression detected (engine error: \(String(describing: engine.error)); last: \(String(describing: partition0(engine.snapshots.value))))"
        )
        let regression = try #require(flagged.consumer.offsetRegressions.regression(topic: topic, partition: 0))
        #expect(regression.kind == .backwards)
        #expect(regression.position == 30 && regression.end == 5 && regression.messages == 25, "\(regression)")
        #expect(regression.ongoing)
        #expect(flagged.consumer.offsetRegressions.backwardsCount["\(topic)[0]"] == 1)
        #expect(engine.error == nil, "detected while running, the engine still runs")

        // /metrics: the counter, per partition.
        let metrics = PrometheusExposition.render(flagged, ops: OpsReport(), nowMs: flagged.takenAtMs)
        #expect(metrics.contains("cdctop_offsets_backwards_total{topic=\"\(topic)\",partition=\"0\"} 1"))
        // --json carries it.
        let json = flagged.consumer.offsetRegressions.json()
        #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) != nil)
        #expect(json.contains("\"kind\":\"backwards\"") && json.contains("--state-reset"))
        // The default rule fires at once (critical), naming the topic and the advice.
        var evaluator = AlertEvaluator(rules: .defaults)
        let fired = evaluator.evaluate(AlertFacts(snapshot: flagged, nowMs: flagged.takenAtMs))
        let alert = try #require(fired.first { $0.alert.key == AlertKey(.offsetsBackwards, topic) })
        #expect(alert.change == .fired && AlertKind.offsetsBackwards.severity == "critical")
        #expect(alert.alert.summary.contains("went backwards") && alert.alert.summary.contains("--state-reset"))

        // More messages bring the end past the old position: no longer ongoing, still listed and counted once.
        try produce(40)
        let refilled = try #require(
            waitFor { $0.consumer.offsetRegressions.regression(topic: topic, partition: 0)?.ongoing == false })
        #expect(refilled.consumer.offsetRegressions.backwardsCount["\(topic)[0]"] == 1)
        #expect(
            evaluator.evaluate(AlertFacts(snapshot: refilled, nowMs: refilled.takenAtMs + 60_000)).isEmpty,
            "the alert stays firing: the totals are still wrong")
    }
}

/// Creates and lists topics with the broker's own tool (`tansu topic create|list`, installed by
/// scripts/deps in .run/bin): librdkafka 2.16's admin client crashed in its metadata cache on Tansu.
enum TopicAdmin {
    static func url(_ brokers: String) -> String {
        "tcp://" + (brokers.split(separator: ",").first.map(String.init) ?? brokers)
    }

    static let tansu = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".run/bin/tansu").path

    static func create(_ topic: String, partitions: Int32, brokers: String) throws {
        try run(
            ["topic", "create", "--broker", url(brokers), "--partitions", String(partitions), topic],
            tolerating: "already exists")
    }

    static func list(brokers: String) throws {
        try run(["topic", "list", "--broker", url(brokers)], tolerating: nil)
    }

    private static func run(_ arguments: [String], tolerating: String?) throws {
        let (status, text) = try runProgram(tansu, arguments, timeoutSeconds: 10)
        guard status == 0 || tolerating.map({ text.contains($0) }) == true else {
            throw KafkaError(
                code: .configuration, message: "tansu \(arguments.joined(separator: " ")) failed (\(status)): \(text)")
        }
    }
}

/// A Tansu broker of the test's own (memory storage) on a free loopback port, stopped by its pid.
struct PrivateTansu {
    let port: Int
    private let process: Process
    var address: String { "127.0.0.1:\(port)" }

    init(port: Int? = nil) throws {
        // A port the kernel just handed out, not a random one: a random port in the ephemeral range can be
        // the local end of another connection, and then the broker cannot bind it.
        let port = try port ?? freePort()
        self.port = port
        process = Process()
        process.executableURL = URL(fileURLWithPath: TopicAdmin.tansu)
        process.arguments = [
            "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url",
            "tcp://127.0.0.1:\(port)",
            "--storage-engine", "memory://tansu/",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when the topic tool gets an answer (bounded: 50 tries).
        for _ in 0..<50 {
            if (try? TopicAdmin.list(brokers: "127.0.0.1:\(port)")) != nil { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        stop()
        throw KafkaError(code: .configuration, message: "the test's Tansu on port \(port) did not answer (port taken?)")
    }

    /// SIGKILL: Tansu does not stop on SIGTERM while clients are connected (and "restarted empty" is the point).
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
