import Foundation
import Testing

@testable import Pipeline

/// Tests of the librdkafka layer on librdkafka's in-process mock cluster (no external service).
@Suite struct KafkaTests {
    /// What one test consumer saw, keyed by (topic, partition, offset) so duplicates show up.
    struct Seen {
        var records: [String: (key: [UInt8]?, value: [UInt8]?, timestampMs: Int64)] = [:]
        var duplicates = 0
        var topics = Set<String>()
        var endOffsets: [String: Int64] = [:]  // "topic/partition" -> offset at EOF
        var batches = 0

        static func id(_ topic: String, _ partition: Int32, _ offset: Int64) -> String {
            "\(topic)/\(partition)@\(offset)"
        }
    }

    static let groupProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]

    /// Polls until `done` holds or `seconds` pass, storing offsets of every batch like the engine does.
    static func consume(
        _ consumer: KafkaConsumer, seconds: Double = 30, storing: Bool = true,
        until done: (Seen) -> Bool
    ) throws -> Seen {
        var seen = Seen()
        var batch = MessageBatch()
        let deadline = Date().addingTimeInterval(seconds)
        while !done(seen) && Date() < deadline {
            try consumer.poll(into: &batch, maxMessages: 64, timeoutMs: 100)
            if !batch.records.isEmpty { seen.batches += 1 }
            for i in batch.records.indices {
                let record = batch.records[i]
                let topic = batch.topics[Int(record.topicIndex)]
                seen.topics.insert(topic)
                let id = Seen.id(topic, record.partition, record.offset)
                if seen.records[id] != nil { seen.duplicates += 1 }
                seen.records[id] = (batch.key(i), batch.value(i), record.timestampMs)
            }
            for eof in batch.partitionEOFs {
                seen.endOffsets["\(batch.topics[Int(eof.topicIndex)])/\(eof.partition)"] = eof.offset
            }
            if storing { consumer.storeOffsets(of: batch) }
        }
        return seen
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func everyMessageArrivesExactlyOnceWithTombstonesAndPartitionEOF() throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("shop.public.orders", partitions: 3)
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers)
        var expected: [String: [UInt8]?] = [:]  // key -> value (nil = tombstone)
        let count = 300
        for i in 0..<count {
            let key = "order-\(i)"
            let value: [UInt8]? = i % 10 == 9 ? nil : Self.bytes("{\"id\":\(i)}")
            expected[key] = value
            try producer.produce(topic: "shop.public.orders", key: Self.bytes(key), value: value)
        }
        try producer.flush(timeoutMs: 10_000)
        #expect(producer.deliveryFailures == 0)

        let consumer = try KafkaConsumer(
            config: KafkaConsumerConfig(
                brokers: cluster.bootstrapServers, groupID: "exactly-once-test", topics: ["shop.public.orders"],
                properties: Self.groupProperties))
        defer { consumer.close() }
        let seen = try Self.consume(consumer) { $0.records.count >= count && $0.endOffsets.count == 3 }

        #expect(
            seen.records.count == count,
            "expected \(count) records, got \(seen.records.count); lastError: \(consumer.lastError ?? "none")")
        #expect(seen.duplicates == 0)
        #expect(seen.endOffsets.count == 3, "EOF per partition, got \(seen.endOffsets)")
        #expect(seen.endOffsets.values.reduce(0, +) == Int64(count))
        // Offsets of each partition are contiguous up to its EOF offset.
        for (partitionName, end) in seen.endOffsets {
            let parts = partitionName.split(separator: "/")
            for offset in 0..<end {
                #expect(
                    seen.records[Seen.id(String(parts[0]), Int32(parts[1])!, offset)] != nil,
                    "missing \(partitionName)@\(offset)")
            }
        }
        var tombstones = 0
        var byKey: [String: [UInt8]?] = [:]
        for record in seen.records.values {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            byKey[key] = record.value
            if record.value == nil { tombstones += 1 }
            #expect(record.timestampMs > 1_600_000_000_000, "producer CreateTime expected")
        }
        #expect(tombstones == count / 10)
        #expect(byKey.count == count)
        for (key, value) in expected { #expect(byKey[key] == .some(value), "value of \(key)") }

        let states = consumer.partitionStates()
        #expect(states.count == 3)
        #expect(states.map(\.highWatermark).reduce(0, +) == Int64(count), "\(states)")
        for state in states {
            #expect(state.position == state.highWatermark, "consumed to the end: \(state)")
            #expect(seen.endOffsets["\(state.topic)/\(state.partition)"] == state.highWatermark)
        }
    }

    @Test("start offsets decide where a consumer resumes; stored offsets still reach the group for Kafka tools")
    func startOffsetsDecideWhereAConsumerResumes() throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("shop.public.customers", partitions: 3)
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers)
        for i in 0..<90 {
            try producer.produce(
                topic: "shop.public.customers", key: Self.bytes("c\(i)"), value: Self.bytes("first-\(i)"))
        }
        try producer.flush(timeoutMs: 10_000)

        var config = KafkaConsumerConfig(
            brokers: cluster.bootstrapServers, groupID: "resume-test",
            topics: ["shop.public.customers"], properties: Self.groupProperties)
        config.committedQueryIntervalMs = 200
        let first = try KafkaConsumer(config: config)
        let firstSeen = try Self.consume(first) { $0.records.count >= 90 && $0.endOffsets.count == 3 }
        #expect(firstSeen.records.count == 90)
        try first.commitSync()
        // The metadata thread reads the group's committed offsets back (the Lag view's "committed").
        let deadline = Date().addingTimeInterval(10)
        var committed = first.partitionStates()
        while committed.map(\.committed).reduce(0, +) != 90 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            committed = first.partitionStates()
        }
        #expect(committed.map(\.committed).reduce(0, +) == 90, "committed offsets: \(committed)")
        let resume = committed.map { ($0.topic, $0.partition, $0.position) }
        first.close()
        first.close()  // idempotent

        for i in 0..<30 {
            try producer.produce(
                topic: "shop.public.customers", key: Self.bytes("c\(i)"), value: Self.bytes("second-\(i)"))
        }
        try producer.flush(timeoutMs: 10_000)

        let second = try KafkaConsumer(config: config, startOffsets: resume)
        defer { second.close() }
        let secondSeen = try Self.consume(second) { $0.records.count >= 30 && $0.endOffsets.count == 3 }
        #expect(secondSeen.records.count == 30, "nothing re-read, nothing missed: got \(secondSeen.records.count)")
        for record in secondSeen.records.values {
            #expect(String(decoding: record.value ?? [], as: UTF8.self).hasPrefix("second-"))
        }
        #expect(secondSeen.endOffsets.values.reduce(0, +) == 120)

        // Without start offsets a consumer of the same group reads everything: the group never decides.
        let fresh = try KafkaConsumer(config: config)
        defer { fresh.close() }
        let freshSeen = try Self.consume(fresh) { $0.records.count >= 120 && $0.endOffsets.count == 3 }
        #expect(freshSeen.records.count == 120)
    }

    @Test("two consumers of one group each read every partition (no group split)")
    func twoViewersEachSeeEverything() throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("shop.public.orders", partitions: 4)
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers)
        for i in 0..<200 {
            try producer.produce(topic: "shop.public.orders", key: Self.bytes("o\(i)"), value: Self.bytes("\(i)"))
        }
        try producer.flush(timeoutMs: 10_000)
        let config = KafkaConsumerConfig(
            brokers: cluster.bootstrapServers, groupID: "same-group",
            topics: ["shop.public.orders"], properties: Self.groupProperties)
        let a = try KafkaConsumer(config: config)
        let b = try KafkaConsumer(config: config)
        defer {
            a.close()
            b.close()
        }
        let seenA = try Self.consume(a) { $0.records.count >= 200 && $0.endOffsets.count == 4 }
        let seenB = try Self.consume(b) { $0.records.count >= 200 && $0.endOffsets.count == 4 }
        #expect(seenA.records.count == 200 && seenB.records.count == 200)
        #expect(a.partitionStates().count == 4 && b.partitionStates().count == 4)
    }

    @Test("a new topic matching a regex is read within seconds")
    func newTopicOnRegexIsPickedUp() throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("shop.public.orders", partitions: 1)
        var config = KafkaConsumerConfig(
            brokers: cluster.bootstrapServers, groupID: "regex-new",
            topics: ["^shop\\.public\\..*"], properties: Self.groupProperties)
        config.metadataRefreshMs = 300
        let consumer = try KafkaConsumer(config: config)
        defer { consumer.close() }
        _ = try Self.consume(consumer, seconds: 10) { $0.endOffsets.count == 1 }
        try cluster.createTopic("shop.public.refunds", partitions: 2)
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers)
        for i in 0..<10 {
            try producer.produce(topic: "shop.public.refunds", key: Self.bytes("r\(i)"), value: Self.bytes("\(i)"))
        }
        try producer.flush(timeoutMs: 10_000)
        let started = Date()
        let seen = try Self.consume(consumer, seconds: 15) { $0.records.count >= 10 }
        #expect(
            seen.records.count == 10 && seen.topics == ["shop.public.refunds"],
            "after \(Date().timeIntervalSince(started)) s: \(seen.records.count) records, lastError \(consumer.lastError ?? "none")"
        )
    }

    @Test("a start offset beyond the partition's end is an error that names it, never a silent jump")
    func startOffsetBeyondTheEndIsAnError() throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("shop.public.orders", partitions: 1)
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers)
        for i in 0..<5 {
            try producer.produce(topic: "shop.public.orders", key: Self.bytes("o\(i)"), value: Self.bytes("\(i)"))
        }
        try producer.flush(timeoutMs: 10_000)
        let consumer = try KafkaConsumer(
            config: KafkaConsumerConfig(
                brokers: cluster.bootstrapServers, groupID: "beyond",
                topics: ["shop.public.orders"], properties: Self.groupProperties),
            startOffsets: [("shop.public.orders", 0, 5_000)])
        defer { consumer.close() }
        var batch = MessageBatch()
        var thrown: KafkaError?
        let deadline = Date().addingTimeInterval(20)
        while thrown == nil && Date() < deadline {
            do { try consumer.poll(into: &batch, maxMessages: 64, timeoutMs: 100) } catch let e as KafkaError {
                thrown = e
            }
            #expect(batch.records.isEmpty, "nothing may be read from a partition whose offset is gone")
        }
        let error = try #require(thrown)
        #expect(
            error.message.contains("shop.public.orders[0]") && error.message.contains("--state-reset"),
            "\(error.message)")
    }

    @Test func regexSubscriptionPicksOnlyMatchingTopics() throws {
        let cluster = try MockKafkaCluster()
        let topics: [(String, Int32)] = [("shop.orders", 2), ("shop.customers", 1), ("other.orders", 1), ("shopx", 1)]
        for (name, partitions) in topics { try cluster.createTopic(name, partitions: partitions) }
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers)
        for (name, _) in topics {
            for i in 0..<5 {
                try producer.produce(topic: name, key: Self.bytes("k\(i)"), value: Self.bytes("\(name)-\(i)"))
            }
        }
        try producer.flush(timeoutMs: 10_000)

        let listed = try kafkaTopicPartitions(
            brokers: cluster.bootstrapServers, topics: ["^shop\\..*"],
            properties: [:], timeoutMs: 5000)
        #expect(listed == ["shop.orders": 2, "shop.customers": 1])
        let all = try kafkaTopicPartitions(brokers: cluster.bootstrapServers, properties: [:], timeoutMs: 5000)
        #expect(all["shopx"] == 1 && all["other.orders"] == 1)

        let consumer = try KafkaConsumer(
            config: KafkaConsumerConfig(
                brokers: cluster.bootstrapServers, groupID: "regex-test", topics: ["^shop\\..*"],
                properties: Self.groupProperties))
        defer { consumer.close() }
        let seen = try Self.consume(consumer) { $0.records.count >= 10 && $0.endOffsets.count == 3 }
        // A little longer, so a wrongly matched topic would have time to show up.
        let more = try Self.consume(consumer, seconds: 1) { _ in false }
        #expect(seen.topics == ["shop.orders", "shop.customers"])
        #expect(seen.records.count == 10)
        #expect(more.records.isEmpty)
        #expect(Set(consumer.partitionStates().map(\.topic)) == ["shop.orders", "shop.customers"])
    }

    @Test func badPropertyThrowsLibrdkafkasOwnText() throws {
        let config = KafkaConsumerConfig(
            brokers: "127.0.0.1:1", groupID: "g", topics: ["t"],
            properties: ["no.such.property": "1"])
        do {
            _ = try KafkaConsumer(config: config)
            Issue.record("a consumer with an unknown property was created")
        } catch let error as KafkaError {
            #expect(error.code == .configuration)
            #expect(error.message.contains("No such configuration property"), "\(error.message)")
            #expect(error.message.contains("no.such.property"))
        }
        #expect(throws: KafkaError.self) {
            try KafkaProducer(brokers: "127.0.0.1:1", properties: ["acks": "sometimes"])
        }
        #expect(throws: KafkaError.self) {
            try KafkaConsumer(config: KafkaConsumerConfig(brokers: "127.0.0.1:1", groupID: "g", topics: []))
        }
    }

    @Test func deliveryToAMissingPartitionFailsTheFlush() throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("shop.public.items", partitions: 1)
        let producer = try KafkaProducer(brokers: cluster.bootstrapServers, properties: ["message.timeout.ms": "3000"])
        var failed = false
        do {
            try Self.bytes("k").withUnsafeBytes { key in
                try producer.produce(topic: "shop.public.items", partition: 7, key: key, value: nil)
            }
            try producer.flush(timeoutMs: 10_000)
        } catch let error as KafkaError {
            failed = true
            #expect(!error.message.isEmpty)
        }
        #expect(failed, "producing to partition 7 of a 1-partition topic must fail")
    }

    @Test func pollAfterCloseThrowsAndCloseWakesAWaitingPoll() throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("idle", partitions: 1)
        let consumer = try KafkaConsumer(
            config: KafkaConsumerConfig(
                brokers: cluster.bootstrapServers, groupID: "close-test", topics: ["idle"],
                properties: Self.groupProperties))
        let started = Date()
        let closer = Thread {
            Thread.sleep(forTimeInterval: 0.3)
            consumer.close()
        }
        closer.start()
        var batch = MessageBatch()
        var pollError: KafkaError?
        while Date().timeIntervalSince(started) < 400 {
            do { try consumer.poll(into: &batch, maxMessages: 10, timeoutMs: 150_000) } catch let error as KafkaError {
                pollError = error
                break
            }
        }
        #expect(pollError != nil)
        // Leaving the group takes seconds (more on a loaded machine); waiting out the 150 s poll would take far longer.
        #expect(Date().timeIntervalSince(started) < 120, "close() must wake the waiting poll, not wait out its timeout")
    }

    @Test func unreachableBrokerIsALastErrorNotAThrow() throws {
        // Port 1 on loopback refuses connections: librdkafka reports it as a non-fatal error.
        let consumer = try KafkaConsumer(
            config: KafkaConsumerConfig(
                brokers: "127.0.0.1:1", groupID: "down-test", topics: ["t"], properties: ["reconnect.backoff.ms": "100"]
            ))
        defer { consumer.close() }
        var batch = MessageBatch()
        let deadline = Date().addingTimeInterval(10)
        while consumer.lastError == nil && Date() < deadline {
            try consumer.poll(into: &batch, maxMessages: 10, timeoutMs: 200)
        }
        let text = try #require(consumer.lastError, "expected a broker error to be kept for the status bar")
        #expect(
            text.contains("127.0.0.1:1") || text.lowercased().contains("down") || text.lowercased().contains("refused"),
            "\(text)")
        #expect(consumer.partitionStates().isEmpty)
    }

    @Test func messageBatchKeepsNullsApartFromEmptyBytes() {
        var batch = MessageBatch()
        let key: [UInt8] = [1, 2, 3]
        key.withUnsafeBytes { keyBytes in
            batch.append(
                topicIndex: 0, partition: 1, offset: 5, timestampMs: 9, key: keyBytes.baseAddress, keyLength: 3,
                value: nil, valueLength: 0)
        }
        let empty: [UInt8] = [0]
        empty.withUnsafeBytes { bytes in
            batch.append(
                topicIndex: 0, partition: 1, offset: 6, timestampMs: 9, key: nil, keyLength: 0,
                value: bytes.baseAddress, valueLength: 0)
        }
        #expect(batch.key(0) == [1, 2, 3])
        #expect(batch.value(0) == nil)
        #expect(batch.records[0].isTombstone)
        #expect(batch.key(1) == nil)
        #expect(batch.value(1) == [])
        #expect(batch.byteCount == 3)
        let capacity = batch.arena.capacity
        batch.removeAll()
        #expect(batch.records.isEmpty && batch.arena.isEmpty)
        #expect(batch.arena.capacity == capacity)
    }
}
