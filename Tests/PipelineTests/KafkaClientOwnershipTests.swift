import CRdKafka
import Foundation
import Testing

@testable import Pipeline

/// The owning types of librdkafka handles: what keeps a handle (and what its callbacks write into)
/// alive, and what frees it. No broker is needed: an unreachable address is enough to make a client.
@Suite("KafkaClientOwnership")
struct KafkaClientOwnershipTests {
    private static let nowhere = [("bootstrap.servers", "127.0.0.1:9"), ("log_level", "0")]

    @Test("a client keeps its callback state alive until the handle is destroyed, then releases it")
    func clientHoldsCallbackState() throws {
        weak var weakState: KafkaClientState?
        weak var weakClient: KafkaClient?
        do {
            let state = KafkaClientState(echoLogToStandardError: false)
            weakState = state
            let client = try KafkaClient(
                KafkaConfigurationHandle(Self.nowhere), type: RD_KAFKA_PRODUCER, role: "test producer",
                callbackState: state)
            weakClient = client
            // The opaque pointer librdkafka hands the callbacks is this state.
            let opaque = client.withHandle { rd_kafka_opaque($0) }
            #expect(opaque == state.opaquePointer)
        }
        // Only the client held the state: it is gone with the client.
        #expect(weakClient == nil)
        #expect(weakState == nil)
    }

    @Test("a topic handle keeps its client alive: the client is destroyed after its last topic")
    func topicHoldsClient() throws {
        weak var weakClient: KafkaClient?
        var topic: KafkaTopic?
        do {
            let client = try KafkaClient(
                KafkaConfigurationHandle(Self.nowhere), type: RD_KAFKA_PRODUCER, role: "test producer")
            weakClient = client
            topic = KafkaTopic("ownership-test", on: client)
            #expect(topic != nil)
        }
        #expect(weakClient != nil, "the topic must keep its client")
        let name = topic?.withHandle { String(cString: rd_kafka_topic_name($0)) }
        #expect(name == "ownership-test")
        topic = nil
        #expect(weakClient == nil)
    }

    @Test(
        "a consumer made with pollsConsumerQueue has a queue; close() frees the client it shared with the metadata thread"
    )
    func consumerClosesItsClient() throws {
        var config = KafkaConsumerConfig(
            brokers: "127.0.0.1:9", groupID: "cdctop-ownership-test", topics: ["t"],
            properties: ["log_level": "0"])
        config.metadataRefreshMs = 50
        let consumer = try KafkaConsumer(config: config)
        consumer.wakeUp()
        consumer.close()
        consumer.close()  // idempotent
        var batch = MessageBatch()
        #expect(throws: KafkaError.self) { try consumer.poll(into: &batch, maxMessages: 10, timeoutMs: 0) }
        #expect(throws: KafkaError.self) { try consumer.commitSync() }
        #expect(consumer.partitionStates().isEmpty)
    }

    @Test(
        "a GroupLagMonitor dropped while its thread runs is freed (its deinit stops the thread and frees the handles)")
    func droppedMonitorIsFreed() throws {
        weak var weakMonitor: GroupLagMonitor?
        do {
            let monitor = try GroupLagMonitor(
                brokers: "127.0.0.1:9", groups: ["jdbc-sink"], topics: ["t"],
                properties: ["log_level": "0"], everySeconds: 0.2)
            weakMonitor = monitor
            monitor.start()
        }
        // A round in progress holds the monitor until its current broker call (at most 5 s) returns.
        let deadline = Date().addingTimeInterval(60)
        while weakMonitor != nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(weakMonitor == nil, "the monitor's own thread kept it alive")
    }
}
