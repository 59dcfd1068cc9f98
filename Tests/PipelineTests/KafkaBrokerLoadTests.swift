import Foundation
import TestSupport
import Testing

@testable import Pipeline

/// cdctop must be light on the broker it watches (issue 22). A caught-up consumer used to fetch again as soon as
/// one message arrived: on a partition that keeps growing that was hundreds of Fetch requests a minute, and the
/// broker (Tansu) spent more CPU answering them than the Debezium snapshot being watched, which it slowed 2.4×.
/// The counts come from librdkafka's own statistics (`brokers.*.req`), per statistics report: counts, not times.
@Suite("Kafka broker load: requests a caught-up consumer sends", .serialized, .tags(.kafka))
struct KafkaBrokerLoadTests {
    /// Statistics reports (one a second) over which the requests are counted.
    static let reportsCounted = 8
    /// Messages produced between two polls of 2 ms (about 230 bytes each).
    static let messagesPerStep = 8

    @Test("a caught-up consumer on a growing topic sends a few fetches per statistics report, not one per message")
    func caughtUpConsumerFetchesSparingly() throws {
        guard let brokers = TestServices.environment("CDCTOP_TEST_BROKERS") else {
            Issue.record("CDCTOP_TEST_BROKERS is not set: run the tests with scripts/test, which starts Tansu")
            return
        }
        let topic = "brokerload\(UInt32.random(in: 0...UInt32.max)).public.items"
        let producer = try KafkaProducer(brokers: brokers)
        let backlog = 2_000
        for i in 0..<backlog { try producer.produce(topic: topic, key: Array("k\(i)".utf8), value: Self.value(i)) }
        try producer.flush(timeoutMs: 30_000)
        #expect(producer.deliveryFailures == 0)

        let consumer = try KafkaConsumer(
            config: KafkaConsumerConfig(
                brokers: brokers, groupID: "\(topic)-g", topics: [topic],
                properties: ["session.timeout.ms": "6000"]))
        defer { consumer.close() }
        var batch = MessageBatch()
        var received = 0
        var polls = 0
        // Catch up on the backlog first: while a backlog is read, every fetch returns data at once.
        while received < backlog && polls < 3_000 {
            try consumer.poll(into: &batch, maxMessages: 512, timeoutMs: 100)
            received += batch.records.count
            polls += 1
        }
        try #require(received == backlog, "read \(received) of \(backlog) messages: \(consumer.lastError ?? "")")

        // Then keep the topic growing, a few messages every few milliseconds, as a busy source does (well under
        // 1 MB a second), and count the fetches the caught-up consumer sends over a number of statistics reports.
        var produced = backlog
        // Each partition's next offset to read, and the ends reported while the topic kept growing.
        var nextOffset: [Int32: Int64] = [:]
        var endsReported = 0
        var endsAhead: [String] = []
        func trickle() throws {
            for _ in 0..<Self.messagesPerStep {
                try producer.produce(topic: topic, key: Array("k\(produced)".utf8), value: Self.value(produced))
                produced += 1
            }
            try consumer.poll(into: &batch, maxMessages: 512, timeoutMs: 2)
            received += batch.records.count
            for record in batch.records { nextOffset[record.partition] = record.offset + 1 }
            for end in batch.partitionEOFs where end.offset >= nextOffset[end.partition, default: 0] {
                endsReported += 1
                if end.offset != nextOffset[end.partition, default: 0] {
                    endsAhead.append(
                        "partition \(end.partition): end \(end.offset), read to \(nextOffset[end.partition, default: 0])"
                    )
                }
            }
            consumer.storeOffsets(of: batch)  // as the engine does: auto-commit sends them every 5 s
        }
        let start = consumer.brokerRequests.reports
        while consumer.brokerRequests.reports == start && polls < 20_000 {
            try trickle()
            polls += 1
        }
        let before = consumer.brokerRequests
        let receivedBefore = received
        while consumer.brokerRequests.reports < before.reports + Self.reportsCounted && polls < 60_000 {
            try trickle()
            polls += 1
        }
        let after = consumer.brokerRequests
        let reports = after.reports - before.reports
        try #require(reports >= Self.reportsCounted, "only \(reports) statistics reports arrived")
        let fetches = after["Fetch"] - before["Fetch"]
        // A fetch that waits returns data every time on a topic that keeps growing, so librdkafka's EOF never
        // comes: the consumer still reports each partition's end when it took everything the latest fetch saw
        // (--until-caught-up and the watermark need it; without it a heartbeat topic never catches up).
        #expect(endsReported >= reports / 2, "\(endsReported) ends reported over \(reports) statistics reports")
        #expect(endsAhead.isEmpty, "an end was reported beyond what was read: \(endsAhead.prefix(3))")
        // The consumer kept reading what was produced: the count below is of a consumer at work.
        #expect(received - receivedBefore > 100)
        #expect(fetches >= 1)
        // The group coordinator's requests are counted too (the Lag view asks for committed offsets every 3 s).
        #expect(after["OffsetFetch"] - before["OffsetFetch"] >= 1)
        // fetch.min.bytes 1 MB, fetch.wait.max.ms 1000: about one a report. Fetching as soon as a message is there
        // (the old default, fetch.min.bytes 1) sent 12 a report (96 over 8).
        #expect(
            fetches <= Int64(4 * reports),
            "\(fetches) Fetch requests over \(reports) statistics reports: a caught-up consumer fetches per message again"
        )
        // Nothing else per message either: every request type stays within a few a report.
        for (type, count) in after.byType {
            let sent = count - before[type]
            #expect(sent <= Int64(4 * reports), "\(sent) \(type) requests over \(reports) statistics reports")
        }
    }

    @Test("a partition written in transactions (commit markers after the messages) is reported at its end too")
    func endsAreReportedPastTransactionMarkers() throws {
        guard let brokers = TestServices.environment("CDCTOP_TEST_BROKERS") else {
            Issue.record("CDCTOP_TEST_BROKERS is not set: run the tests with scripts/test, which starts Tansu")
            return
        }
        // As Debezium with exactly-once source support writes: each message in its own transaction, so the offset
        // after the last message a consumer receives is a commit marker, and its last offset + 1 never reaches the end.
        let topic = "brokerloadtx\(UInt32.random(in: 0...UInt32.max)).public.items"
        try TopicAdmin.create(topic, partitions: 1, brokers: brokers)
        let producer = try KafkaProducer(brokers: brokers, properties: ["transactional.id": "\(topic)-tx"])
        var produced = 0
        func produceOne() throws {
            try producer.inTransaction {
                try producer.produce(topic: topic, key: Array("k".utf8), value: Self.value(produced))
            }
            produced += 1
        }
        for _ in 0..<20 { try produceOne() }

        let consumer = try KafkaConsumer(
            config: KafkaConsumerConfig(
                brokers: brokers, groupID: "\(topic)-g", topics: [topic],
                properties: ["session.timeout.ms": "6000", "auto.offset.reset": "earliest"]))
        defer { consumer.close() }
        var batch = MessageBatch()
        var received = 0
        var lastOffset: Int64 = -1
        var endsReported = 0
        var endsAtTheLastMessage = 0
        let deadline = ContinuousClock.now + .seconds(60)
        // The topic keeps growing, a transaction every few polls, so the fetch that waits always returns data.
        var polls = 0
        while endsReported < 3 && ContinuousClock.now < deadline {
            if polls % 25 == 0 { try produceOne() }
            try consumer.poll(into: &batch, maxMessages: 512, timeoutMs: 20)
            polls += 1
            received += batch.records.count
            if let last = batch.records.last { lastOffset = last.offset }
            for end in batch.partitionEOFs where end.offset > lastOffset {
                endsReported += 1
                if end.offset == lastOffset + 1 { endsAtTheLastMessage += 1 }
            }
        }
        #expect(received >= 20, "read \(received) of \(produced) messages: \(consumer.lastError ?? "")")
        // Each message is followed by its commit marker: an end is where the marker was passed, not at the message.
        #expect(endsReported >= 3, "\(endsReported) ends reported after \(received) messages in transactions")
        #expect(endsAtTheLastMessage == 0, "\(endsAtTheLastMessage) ends at the last message's offset + 1")
    }

    static func value(_ i: Int) -> [UInt8] {
        Array("{\"id\":\(i),\"payload\":\"\(String(repeating: "x", count: 200))\"}".utf8)
    }
}
