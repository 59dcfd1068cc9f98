import CRdKafka
import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// Issue 23 item 3: faults are classified. A broker that takes connections but answers nothing is
/// "stalled" (from librdkafka's statistics), not "ok"; wrong credentials stop the consumer with the fix
/// instead of retrying; a --topics name that does not exist is one clear line.
@Suite("Kafka faults: stalled brokers, refused credentials, unknown topics", .serialized)
struct KafkaFaultTests {
    // MARK: the statistics, read without a broker

    /// A statistics report in librdkafka's shape (STATISTICS.md), with one broker as given.
    static func statistics(
        state: String, waiting: Int, rxIdleSeconds: Double, stateAgeSeconds: Double = 100,
        source: String = "learned"
    ) -> [UInt8] {
        let text = """
            {"name":"rdkafka#consumer-1","type":"consumer","ts":123,"brokers":{ "127.0.0.1:9092/1": {"name":"127.0.0.1:9092/1","nodeid":1,\
            "nodename":"127.0.0.1:9092","source":"\(source)","state":"\(state)","stateage":\(Int64(stateAgeSeconds * 1e6)),\
            "outbuf_cnt":0,"waitresp_cnt":\(waiting),"req_timeouts":0,"rxidle":\(Int64(rxIdleSeconds * 1e6)),\
            "rtt":{"min":1,"max":2,"avg":1},"toppars":{"t-0":{"topic":"t {quoted \\"}\\" brace}","partition":0}}},\
             ":0/internal":{"name":":0/internal","nodeid":-1,"source":"internal","state":"UP","waitresp_cnt":9,"rxidle":-1,"stateage":999000000}},\
            "topics":{"t":{"partitions":{"0":{"fetch_state":"active"}}}}}
            """
        return Array(text.utf8)
    }

    static func health(_ bytes: [UInt8], stallAfterSeconds: Int64 = 10) -> BrokerHealth? {
        bytes.withUnsafeBytes { BrokerHealth(statistics: $0, stallAfterMicroseconds: stallAfterSeconds * 1_000_000) }
    }

    @Test("a broker up with requests waiting and nothing received past the limit is stalled, else not")
    func stalledFromStatistics() throws {
        let stalled = try #require(Self.health(Self.statistics(state: "UP", waiting: 2, rxIdleSeconds: 12.4)))
        #expect(stalled.anyUp)
        #expect(stalled.stall == "no response from 127.0.0.1:9092 for over 10 s, requests waiting", "\(stalled)")
        // Long-poll fetches answered within the limit: fine.
        #expect(Self.health(Self.statistics(state: "UP", waiting: 2, rxIdleSeconds: 0.4))?.stall == nil)
        // Silent but nothing asked (an idle broker that leads no assigned partition): fine.
        #expect(Self.health(Self.statistics(state: "UP", waiting: 0, rxIdleSeconds: 300))?.stall == nil)
        // The internal broker (which never answers over the network) is not a broker to watch.
        let internalOnly = Self.health(Self.statistics(state: "DOWN", waiting: 0, rxIdleSeconds: 0))
        #expect(internalOnly?.stall == nil && internalOnly?.anyUp == false)
        // A connection taken but never answered (a frozen broker's kernel backlog, a TLS client on a plaintext port).
        let connecting = try #require(
            Self.health(Self.statistics(state: "APIVERSION_QUERY", waiting: 1, rxIdleSeconds: -1, stateAgeSeconds: 31)))
        #expect(connecting.stall == "no answer from 127.0.0.1:9092 for over 30 s while connecting (apiversion_query)")
        let tls = Self.health(
            Self.statistics(state: "SSL_HANDSHAKE", waiting: 0, rxIdleSeconds: -1, stateAgeSeconds: 15))
        #expect(
            tls?.stall?.hasSuffix("is it a TLS listener? security.protocol=SSL needs one") == true,
            "\(String(describing: tls))")
        #expect(
            Self.health(Self.statistics(state: "APIVERSION_QUERY", waiting: 1, rxIdleSeconds: -1, stateAgeSeconds: 2))?
                .stall == nil)
        // Not JSON, or no brokers object: nothing to say.
        #expect(Self.health(Array("{\"ts\":1}".utf8)) == nil)
        #expect(Self.health(Array("garbage".utf8)) == nil)
    }

    @Test("the stall text changes a few times during a long stall, not every second")
    func stallSteps() {
        #expect(BrokerHealth.step(10_900_000) == 10)
        #expect(BrokerHealth.step(19_000_000) == 10)
        #expect(BrokerHealth.step(45_000_000) == 30)
        #expect(BrokerHealth.step(700_000_000) == 600)
        #expect(BrokerHealth.step(7_300_000_000) == 7_200)
    }

    @Test("librdkafka's codes are classified: credentials, ACLs and TLS need a fix, the network does not")
    func classification() {
        #expect(
            KafkaError.fault(of: RD_KAFKA_RESP_ERR__AUTHENTICATION, text: "SASL authentication error")
                == .authentication)
        #expect(KafkaError.fault(of: RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, text: "") == .authentication)
        #expect(KafkaError.fault(of: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, text: "") == .authorization)
        #expect(KafkaError.fault(of: RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, text: "") == .authorization)
        #expect(KafkaError.fault(of: RD_KAFKA_RESP_ERR__SSL, text: "") == .tls)
        #expect(
            KafkaError.fault(
                of: RD_KAFKA_RESP_ERR__TRANSPORT,
                text: "ssl://h:9093/1: SSL handshake failed: certificate verify failed") == .tls)
        #expect(KafkaError.fault(of: RD_KAFKA_RESP_ERR__TRANSPORT, text: "Connection refused") == .transient)
        #expect(KafkaError.fault(of: RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, text: "") == .transient)
        #expect(KafkaError.fault(of: RD_KAFKA_RESP_ERR__TIMED_OUT, text: "") == .transient)
        #expect(!KafkaError.Fault.transient.needsFix && KafkaError.Fault.authentication.needsFix)
        #expect(KafkaError(code: .configuration, message: "x").fault == .configuration)
    }

    @Test(
        "one auth failure (a broker restarting) is not enough to stop; a second in a row is, and a broker up resets the count"
    )
    func faultNeedsRepeats() {
        let state = KafkaClientState(echoLogToStandardError: false)
        state.brokers = "b:9092"
        state.recordError(
            "SASL authentication error: Authentication failed", fatal: false, code: RD_KAFKA_RESP_ERR__AUTHENTICATION)
        #expect(state.faultNeedingFix == nil)
        // A broker got through: the earlier failure was not the settings.
        Self.statistics(state: "UP", waiting: 0, rxIdleSeconds: 0).withUnsafeBytes { state.recordStatistics($0) }
        state.recordError("Connection refused", fatal: false, code: RD_KAFKA_RESP_ERR__TRANSPORT)
        state.recordError(
            "SASL authentication error: Authentication failed", fatal: false, code: RD_KAFKA_RESP_ERR__AUTHENTICATION)
        #expect(state.faultNeedingFix == nil)
        state.recordError(
            "SASL authentication error: Authentication failed", fatal: false, code: RD_KAFKA_RESP_ERR__AUTHENTICATION)
        let fault = state.faultNeedingFix
        #expect(fault?.fault == .authentication)
        #expect(
            fault?.message.hasPrefix(
                "SASL authentication error: Authentication failed. Kafka at b:9092 refused the credentials") == true,
            "\(String(describing: fault))")
    }

    // MARK: on a real broker of the test's own

    /// Produces `values` messages numbered from `from` to partition 0 of `topic`.
    static func produce(_ topic: String, count: Int, from: Int = 0, on producer: KafkaProducer) throws {
        for i in from..<from + count {
            try producer.produce(topic: topic, key: nil, value: Array("{\"n\":\(i)}".utf8))
        }
        try producer.flush(timeoutMs: 30_000)
    }

    /// Waits (bounded) for a snapshot that satisfies `condition`; nil if the engine stopped or `seconds` passed.
    static func waitFor(_ engine: Engine, seconds: Double = 60, _ condition: (RunSnapshot) -> Bool) -> RunSnapshot? {
        var found: RunSnapshot?
        _ = poll(seconds: seconds) {
            if engine.error != nil { return true }
            if let s = engine.snapshots.value, condition(s) {
                found = s
                return true
            }
            return false
        }
        return found
    }

    @Test("a frozen broker (SIGSTOP) turns Kafka 'stalled' within seconds, 'ok' after SIGCONT, and nothing is lost")
    func frozenBrokerIsStalled() throws {
        let broker = try OwnTansu()
        let topic = "stall\(UInt32.random(in: 0...UInt32.max)).public.transaction"
        try broker.createTopic(topic)
        let producer = try KafkaProducer(brokers: broker.address)
        try Self.produce(topic, count: 100, on: producer)

        let options = EngineOptions(
            consumer: KafkaConsumerConfig(brokers: broker.address, groupID: "stall-\(broker.port)", topics: [topic]),
            profile: .shop)
        let engine = try Engine(options: options)
        engine.start()
        defer { engine.stop() }
        func partition(_ s: RunSnapshot) -> PartitionLag? { s.consumer.partitions.first { $0.topic == topic } }
        let read = try #require(
            Self.waitFor(engine) { s in partition(s).map { $0.position == 100 && $0.highWatermark == 100 } ?? false },
            "the engine did not read the 100 messages (error: \(String(describing: engine.error)))")
        #expect(read.consumer.kafka.state == .ok)

        broker.freeze()
        let frozenAt = Date()
        let stalled = Self.waitFor(engine, seconds: 45) { $0.consumer.kafka.state == .stalled }
        let detectedAfter = Date().timeIntervalSince(frozenAt)
        broker.thaw()
        let s = try #require(
            stalled,
            "Kafka never showed stalled while the broker was frozen (last: \(String(describing: engine.snapshots.value?.consumer.kafka)))"
        )
        #expect(
            s.consumer.kafka.detail.hasPrefix("no response from \(broker.address) for over 10 s"),
            "\(s.consumer.kafka.detail)")
        #expect(
            s.consumer.kafka.error == s.consumer.kafka.detail, "the Connections panel and --log keep the stall's text")
        let metrics = PrometheusExposition.render(s, ops: OpsReport(), nowMs: s.takenAtMs)
        #expect(metrics.contains("\ncdctop_kafka_stalled 1\n") && metrics.contains("\ncdctop_kafka_up 0\n"))
        print("stalled detected \(String(format: "%.1f", detectedAfter)) s after SIGSTOP")

        // Thawed: it answers again, and what was produced since is read, each message once.
        try Self.produce(topic, count: 50, from: 100, on: producer)
        let recovered = try #require(
            Self.waitFor(engine) { s in
                s.consumer.kafka.state == .ok
                    && (partition(s).map { $0.position == 150 && $0.highWatermark == 150 } ?? false)
            }, "no recovery after SIGCONT (last: \(String(describing: engine.snapshots.value?.consumer.kafka)))")
        #expect(recovered.kpis.result.messages == 150, "read \(recovered.kpis.result.messages) of 150")
        #expect(
            PrometheusExposition.render(recovered, ops: OpsReport(), nowMs: recovered.takenAtMs).contains(
                "\ncdctop_kafka_stalled 0\n"))
        #expect(engine.error == nil)
    }

    @Test("a --topics name the cluster does not list: Kafka error naming it, the other topics read, no retry storm")
    func unknownTopic() throws {
        let broker = try OwnTansu()
        let topic = "unk\(UInt32.random(in: 0...UInt32.max)).public.transaction"
        let missing = topic.replacingOccurrences(of: ".transaction", with: ".nosuchtable")
        try broker.createTopic(topic)
        let producer = try KafkaProducer(brokers: broker.address)
        try Self.produce(topic, count: 20, on: producer)
        let options = EngineOptions(
            consumer: KafkaConsumerConfig(
                brokers: broker.address, groupID: "unk-\(broker.port)",
                topics: [topic, missing]), profile: .shop)
        let engine = try Engine(options: options)
        engine.start()
        defer { engine.stop() }
        let s = try #require(
            Self.waitFor(engine) { $0.kpis.result.messages == 20 && $0.consumer.kafka.state == .error },
            "last: \(String(describing: engine.snapshots.value?.consumer.kafka))")
        #expect(
            s.consumer.kafka.detail.hasPrefix("topic \(missing) does not exist on \(broker.address)"),
            "\(s.consumer.kafka.detail)")
        #expect(s.consumer.kafka.detail.contains("Check --topics"))
        // Listing topics is not a failed attempt: no count climbing while the topic is missing.
        let later = try #require(Self.waitFor(engine) { $0.takenAtMs >= s.takenAtMs + 5_000 })
        #expect(later.consumer.kafka.attempts == 0, "\(later.consumer.kafka)")
        #expect(engine.error == nil, "an unknown topic does not stop the others")
    }

    @Test("a SASL mechanism the broker does not offer stops the consumer with the fix (Tansu: no SASL users)")
    func refusedMechanism() throws {
        let broker = try OwnTansu()
        let topic = "sasl\(UInt32.random(in: 0...UInt32.max)).public.transaction"
        try broker.createTopic(topic)
        let properties = [
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": "nobody", "sasl.password": "pw-8d1f",
        ]
        let options = EngineOptions(
            consumer: KafkaConsumerConfig(
                brokers: broker.address, groupID: "sasl-\(broker.port)",
                topics: [topic], properties: properties), profile: .shop)
        let engine = try Engine(options: options)
        let started = Date()
        engine.start()
        defer { engine.stop() }
        _ = poll(seconds: 60) { engine.error != nil }
        let error = try #require(
            engine.error as? KafkaError,
            "the consumer kept retrying: \(String(describing: engine.snapshots.value?.consumer.kafka))")
        print("refused after \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(error.message)")
        #expect(error.fault == .authentication)
        #expect(
            error.message.contains("SCRAM-SHA-512") && error.message.contains("refused the credentials"),
            "\(error.message)")
        #expect(!error.message.contains("pw-8d1f"))
    }
}
