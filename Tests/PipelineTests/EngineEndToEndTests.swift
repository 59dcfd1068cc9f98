import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// The generator's ground truth versus the engine, through memory, the mock cluster and a real broker.
@Suite("Engine end to end against the generator's ground truth", .serialized, .tags(.kafka))
struct EngineEndToEndTests {
    static func workload(_ n: Int, prefix: String = "shop", malformedEvery: Int = 0, seed: UInt64 = 11) -> (
        messages: [GeneratedMessage], truth: KPIResult, topics: [String]
    ) {
        let w = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: seed, topicPrefix: prefix, products: 30, customers: 50,
                snapshotTransactions: 20, commitsPerSecond: 5, malformedEvery: malformedEvery))
        var out: [GeneratedMessage] = []
        while out.count < n { w.next(into: &out) }
        return (out, w.groundTruth, w.topics)
    }

    @Test("in memory, in any partition interleaving, to the cent")
    func inMemoryAnyOrder() {
        let (messages, truth, _) = Self.workload(4000, malformedEvery: 97)
        #expect(truth.malformed > 0)
        // Partition like Kafka (by key), then read partitions in different interleavings.
        var partitions: [String: [(Int64, GeneratedMessage)]] = [:]
        for m in messages {
            let p = KcatRecording.murmur2Partition(key: m.key, partitions: 3)
            let k = "\(m.topic)/\(p)"
            partitions[k, default: []].append((Int64(partitions[k]?.count ?? 0), m))
        }
        var results = Set<String>()
        for order in 0..<4 {
            let core = EngineCore(profile: .shop)
            var queues = partitions.keys.sorted().map { ($0, ArraySlice(partitions[$0]!)) }
            if order % 2 == 1 { queues.reverse() }
            var turn = 0
            while queues.contains(where: { !$0.1.isEmpty }) {
                turn += 1
                for i in queues.indices where !queues[i].1.isEmpty {
                    // Uneven speeds: some partitions deliver several messages per turn.
                    let take = order >= 2 ? 1 + (i + turn) % 5 : 50
                    for _ in 0..<take {
                        guard let (offset, m) = queues[i].1.popFirst() else { break }
                        let p = Int32(queues[i].0.split(separator: "/").last!)!
                        core.ingest(topic: m.topic, partition: p, offset: offset, key: m.key, value: m.value)
                    }
                }
            }
            #expect(core.result == truth, "order \(order)")
            results.insert(core.result.json())
        }
        #expect(results.count == 1)
        #expect(truth.windows.count > 3)
    }

    @Test("through librdkafka's mock cluster with a consumer group")
    func mockCluster() throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        let (messages, truth, topics) = Self.workload(2500)
        for t in topics { try cluster.createTopic(t, partitions: 3) }
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers)
        for m in messages { try producer.produce(topic: m.topic, key: m.key, value: m.value) }
        try producer.flush(timeoutMs: 10_000)
        let result = try Self.runUntilCaughtUp(brokers: cluster.bootstrapServers, topics: topics, group: "mock-e2e")
        #expect(result == truth)
    }

    @Test("through a real Tansu broker started by scripts/test")
    func tansuBroker() throws {
        guard let brokers = TestServices.environment("CDCTOP_TEST_BROKERS") else {
            Issue.record("CDCTOP_TEST_BROKERS is not set: run the tests with scripts/test, which starts Tansu")
            return
        }
        let prefix = "e2e\(UInt32.random(in: 0...UInt32.max))"
        let (messages, truth, _) = Self.workload(6000, prefix: prefix, malformedEvery: 500)
        let producer = try KafkaProducer(brokers: brokers)
        for m in messages { try producer.produce(topic: m.topic, key: m.key, value: m.value) }
        try producer.flush(timeoutMs: 30_000)
        #expect(producer.deliveryFailures == 0)
        // Regex subscription, as a user would write it.
        let result = try Self.runUntilCaughtUp(
            brokers: brokers, topics: ["^\(prefix)\\.public\\..*"], group: "\(prefix)-g")
        #expect(result == truth)
        #expect(result.malformed == truth.malformed && result.malformed > 0)
    }

    static func runUntilCaughtUp(brokers: String, topics: [String], group: String) throws -> KPIResult {
        var options = EngineOptions(
            consumer: KafkaConsumerConfig(
                brokers: brokers, groupID: group, topics: topics,
                properties: ["session.timeout.ms": "6000"]), profile: .shop)
        options.stopWhenCaughtUp = true
        options.assignmentTimeoutMs = 60_000
        let engine = try Engine(options: options)
        try engine.runHere()
        let snapshot = try #require(engine.snapshots.value)
        #expect(snapshot.consumer.caughtUp)
        return snapshot.kpis.result
    }
}
