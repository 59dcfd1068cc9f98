import CRdKafka
import Foundation
import Synchronization

/// A producer over librdkafka, for the synthetic workload generator and tests.
/// Thread-safe; each call is short (librdkafka queues and sends in the background).
package final class KafkaProducer: Sendable {
    private let state: KafkaClientState
    private let client: KafkaClient
    /// Held for each call: the topic handles and counters are shared by every caller.
    private let producing = Mutex(Producing())

    private struct Producing {
        var topics: [String: KafkaTopic] = [:]
        var producedSincePoll = 0
        var failuresReported = 0
    }

    /// Defaults: linger.ms=5, large batches, acks=all, murmur2_random partitioner (Java's, so keys
    /// land where Debezium's would); `properties` (-X) are applied last.
    package init(brokers: String, properties: [String: String] = [:]) throws {
        let state = KafkaClientState(echoLogToStandardError: properties["debug"] != nil)
        self.state = state
        var list: [(String, String)] = [
            ("bootstrap.servers", brokers),
            ("linger.ms", "5"),
            ("batch.num.messages", "10000"),
            ("batch.size", "1000000"),
            ("acks", "all"),
            ("partitioner", "murmur2_random"),
            ("statistics.interval.ms", "0"),
        ]
        list += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let configuration = try KafkaConfigurationHandle(list)
        rd_kafka_conf_set_dr_msg_cb(configuration.pointer, kafkaDeliveryReportCallback)
        rd_kafka_conf_set_error_cb(configuration.pointer, kafkaErrorToStateCallback)
        client = try KafkaClient(configuration, type: RD_KAFKA_PRODUCER, role: "producer", callbackState: state)
    }

    /// Messages whose delivery failed, counted by the delivery report callback.
    package var deliveryFailures: Int { state.deliveryFailures }
    /// The last non-fatal client error (e.g. "all brokers are down").
    package var lastError: String? { state.lastError }

    /// Queues one message; librdkafka copies key and value. A nil value is a tombstone; a nil
    /// partition lets the partitioner choose by key. When the local queue is full it serves
    /// delivery reports and retries (for up to about 10 s) instead of failing.
    package func produce(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?
    ) throws {
        try producing.withLock { producing in
            let kafkaTopic = try self.topic(topic, in: &producing)
            // A present-but-empty buffer may have no base address; librdkafka must still see non-NULL.
            let keyPointer = key.map { $0.baseAddress ?? UnsafeRawPointer(emptyBytes) }
            let valuePointer = value.map {
                UnsafeMutableRawPointer(mutating: $0.baseAddress ?? UnsafeRawPointer(emptyBytes))
            }
            var waits = 0
            while kafkaTopic.withHandle({
                rd_kafka_produce(
                    $0, partition ?? -1, 0x2,  // RD_KAFKA_MSG_F_COPY
                    valuePointer, value?.count ?? 0, keyPointer, key?.count ?? 0, nil)
            }) != 0 {
                let error = rd_kafka_last_error()
                if error == RD_KAFKA_RESP_ERR__QUEUE_FULL && waits < 200 {
                    waits += 1
                    client.withHandle { _ = rd_kafka_poll($0, 50) }
                    continue
                }
                if error == RD_KAFKA_RESP_ERR__FATAL {
                    throw client.fatalError(while: "producing to \(topic)")
                }
                throw KafkaError.response(error, while: "producing to \(topic)")
            }
            producing.producedSincePoll += 1
            if producing.producedSincePoll >= 1000 {
                producing.producedSincePoll = 0
                client.withHandle { _ = rd_kafka_poll($0, 0) }  // serve delivery reports now and then
            }
        }
    }

    /// Convenience form; a nil value is a tombstone.
    package func produce(topic: String, key: [UInt8]?, value: [UInt8]?) throws {
        func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
            guard let bytes else { return try body(nil) }
            return try bytes.withUnsafeBytes { try body($0) }
        }
        try withOptionalBytes(key) { keyBuffer in
            try withOptionalBytes(value) { valueBuffer in
                try produce(topic: topic, partition: nil, key: keyBuffer, value: valueBuffer)
            }
        }
    }

    /// Waits until every queued message is delivered. Throws if messages remain after the timeout or
    /// if any delivery failed since the last flush.
    package func flush(timeoutMs: Int32) throws {
        try producing.withLock { producing in
            let (result, remaining) = client.withHandle { handle in
                (rd_kafka_flush(handle, timeoutMs), rd_kafka_outq_len(handle))
            }
            if result != RD_KAFKA_RESP_ERR_NO_ERROR || remaining > 0 {
                let reason = state.lastError.map { " (last error: \($0))" } ?? ""
                throw KafkaError(
                    code: .init(result),
                    message:
                        "flushing the Kafka producer: \(remaining) messages still undelivered after \(timeoutMs) ms\(reason). "
                        + "Check that the broker is reachable", isRetriable: true)
            }
            let failures = state.deliveryFailures
            if failures > producing.failuresReported {
                let newFailures = failures - producing.failuresReported
                producing.failuresReported = failures
                throw KafkaError(
                    code: .init(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT),
                    message: "\(newFailures) Kafka messages failed delivery; last: \(state.lastDeliveryError ?? "?"). "
                        + "Check the broker and the topic")
            }
        }
    }

    /// Produces what `body` queues as one Kafka transaction, as a Debezium connector with exactly-once source
    /// support does: the partitions then hold a commit marker after the messages, which takes an offset and which
    /// consumers never receive. Needs `transactional.id` in `properties`; the first call initialises transactions.
    package func inTransaction(timeoutMs: Int32 = 30_000, _ body: () throws -> Void) throws {
        try client.withHandle { handle in
            try transactionsInitialised.withLock { initialised in
                guard !initialised else { return }
                try Self.check(rd_kafka_init_transactions(handle, timeoutMs), while: "initialising Kafka transactions")
                initialised = true
            }
            try Self.check(rd_kafka_begin_transaction(handle), while: "beginning a Kafka transaction")
        }
        try body()
        try client.withHandle { handle in
            try Self.check(rd_kafka_commit_transaction(handle, timeoutMs), while: "committing a Kafka transaction")
        }
    }

    private let transactionsInitialised = Mutex(false)

    /// Throws (and frees) a transaction call's error.
    private static func check(_ error: OpaquePointer?, while action: String) throws {
        guard let error else { return }
        defer { rd_kafka_error_destroy(error) }
        throw KafkaError(
            code: .init(rd_kafka_error_code(error)),
            message:
                "\(action): \(String(cString: rd_kafka_error_string(error))). Check transactional.id and the broker")
    }

    private func topic(_ topic: String, in producing: inout Producing) throws -> KafkaTopic {
        if let existing = producing.topics[topic] { return existing }
        guard let created = KafkaTopic(topic, on: client) else {
            throw KafkaError.response(
                rd_kafka_last_error(), while: "opening topic \(topic) for producing",
                hint: "Check the topic name")
        }
        producing.topics[topic] = created
        return created
    }
}

/// Stands in for the data of an empty (not null) key or value.
nonisolated(unsafe) private let emptyBytes = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

private let kafkaDeliveryReportCallback:
    @convention(c) (
        OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?
    ) -> Void = { _, message, opaque in
        guard let message, let opaque, message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        let state = Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
        state.recordDeliveryFailure(
            "\(topic)[\(message.pointee.partition)]: \(String(cString: rd_kafka_err2str(message.pointee.err)))")
    }
