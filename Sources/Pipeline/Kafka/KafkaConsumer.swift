import CRdKafka
import Foundation

/// Where one assigned partition stands. Offsets are -1 when not known (yet).
public struct PartitionProgress: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    /// The group's committed offset (the next offset to read after a restart).
    public var committed: Int64
    /// The next offset this consumer will hand out.
    public var position: Int64
    /// The end of the partition as last seen in a fetch response.
    public var highWatermark: Int64

    public init(topic: String, partition: Int32, committed: Int64, position: Int64, highWatermark: Int64) {
        self.topic = topic
        self.partition = partition
        self.committed = committed
        self.position = position
        self.highWatermark = highWatermark
    }

    /// Messages not yet committed, when both ends are known.
    public var lag: Int64? {
        guard highWatermark >= 0 else { return nil }
        return max(0, highWatermark - max(committed, 0))
    }
}

/// A group consumer over librdkafka. Polling, storing and committing happen on ONE thread (the
/// engine's); `close()` and `wakeUp()` may be called from any thread.
public final class KafkaConsumer: @unchecked Sendable {
    private let state: KafkaClientState
    /// Held while librdkafka's handle is in use so `close()` from another thread waits for the poll.
    private let handleLock = NSLock()
    private var handle: OpaquePointer?
    private var consumerQueue: OpaquePointer?
    private let closeLock = NSLock()
    private var closing = false

    // Topic table: indexes are stable for the consumer's life; lookups compare the C name, no allocation.
    private var topicNames: [String] = []
    private var topicCNames: [[CChar]] = []
    private var topicIndexByHandle: [OpaquePointer: Int32] = [:]

    private var messageBuffer: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    private var messageBufferCapacity: Int
    private var storeScratch: [(topicIndex: Int32, partition: Int32, offset: Int64)] = []
    private var lastCommitted: [KafkaClientState.TopicPartition: Int64] = [:]

    public let config: KafkaConsumerConfig

    /// Creates the consumer and subscribes. A bad property throws a KafkaError with librdkafka's text.
    public init(config: KafkaConsumerConfig) throws {
        guard !config.topics.isEmpty else {
            throw KafkaError(code: KafkaError.configurationCode,
                             message: "no Kafka topics to subscribe to: pass --topics (a name, or a regex starting with ^)")
        }
        self.config = config
        let state = KafkaClientState(echoLogToStandardError: config.properties["debug"] != nil)
        self.state = state
        let configuration = try KafkaConfigurationHandle(config.librdkafkaProperties)
        rd_kafka_conf_set_opaque(configuration.pointer, state.opaquePointer)
        rd_kafka_conf_set_rebalance_cb(configuration.pointer, kafkaRebalanceCallback)
        rd_kafka_conf_set_error_cb(configuration.pointer, kafkaErrorToStateCallback)
        rd_kafka_conf_set_log_cb(configuration.pointer, kafkaLogToStateCallback)
        let handle = try configuration.makeClient(RD_KAFKA_CONSUMER, role: "consumer")
        // One queue for messages, rebalances and errors, so one poll serves them all.
        rd_kafka_poll_set_consumer(handle)
        let queue = rd_kafka_queue_get_consumer(handle)
        self.handle = handle
        self.consumerQueue = queue
        messageBufferCapacity = 1024
        messageBuffer = .allocate(capacity: messageBufferCapacity)

        let list = rd_kafka_topic_partition_list_new(Int32(config.topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in config.topics {
            rd_kafka_topic_partition_list_add(list, topic, -1)  // RD_KAFKA_PARTITION_UA
        }
        let result = rd_kafka_subscribe(handle, list)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            let error = KafkaError.response(result, while: "subscribing to \(config.topics.joined(separator: ","))",
                                            hint: "Check the topic names and regex patterns passed with --topics")
            teardown()
            throw error
        }
    }

    deinit {
        close()
        messageBuffer.deallocate()
    }

    /// The last non-fatal broker error (e.g. "all brokers are down"); cleared after a poll delivers messages.
    public var lastError: String? { state.lastError }
    /// The last warning librdkafka logged (its log never goes to the terminal unless -X debug is set).
    public var lastLogLine: String? { state.lastLog }

    /// Fills `batch` (clearing it first) with up to `maxMessages` messages, waiting at most `timeoutMs`
    /// for the first. Partition EOFs go to `batch.partitionEOFs`; non-fatal errors to `lastError`.
    public func poll(into batch: inout MessageBatch, maxMessages: Int, timeoutMs: Int32) throws {
        batch.removeAll()
        handleLock.lock()
        defer { handleLock.unlock() }
        guard let handle, let consumerQueue else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY.rawValue, message: "polling Kafka: the consumer is closed")
        }
        if maxMessages > messageBufferCapacity {
            messageBuffer.deallocate()
            messageBufferCapacity = maxMessages
            messageBuffer = .allocate(capacity: messageBufferCapacity)
        }
        var sawError = false
        if let first = rd_kafka_consumer_poll(handle, timeoutMs) {
            sawError = take(first, into: &batch) || sawError
            if maxMessages > 1 {
                // The rest of what is already fetched, without waiting.
                let count = rd_kafka_consume_batch_queue(consumerQueue, 0, messageBuffer, maxMessages - 1)
                if count > 0 {
                    for index in 0 ..< count {
                        if let message = messageBuffer[index] {
                            sawError = take(message, into: &batch) || sawError
                        }
                    }
                }
            }
        }
        if batch.topics.count != topicNames.count { batch.topics = topicNames }
        if state.fatalRaised {
            throw KafkaError.fatal(of: handle, while: "consuming from Kafka")
        }
        if let rebalanceError = state.takeRebalanceError() {
            if rebalanceError.isFatal { throw rebalanceError }
            state.recordError(rebalanceError.message, fatal: false)
            sawError = true
        }
        if !sawError && !batch.records.isEmpty { state.clearError() }
    }

    /// Copies one message into the batch and destroys it. Returns true if it was an error.
    private func take(_ message: UnsafeMutablePointer<rd_kafka_message_t>, into batch: inout MessageBatch) -> Bool {
        defer { rd_kafka_message_destroy(message) }
        let error = message.pointee.err
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            batch.append(topicIndex: topicIndex(for: message.pointee.rkt), partition: message.pointee.partition,
                         offset: message.pointee.offset, timestampMs: rd_kafka_message_timestamp(message, nil),
                         key: UnsafeRawPointer(message.pointee.key), keyLength: message.pointee.key_len,
                         value: UnsafeRawPointer(message.pointee.payload), valueLength: message.pointee.len)
            return false
        }
        if error == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            batch.partitionEOFs.append((topicIndex(for: message.pointee.rkt), message.pointee.partition,
                                        message.pointee.offset))
            return false
        }
        // Consumer errors carry their text in the payload.
        var text = String(cString: rd_kafka_err2str(error))
        if let payload = message.pointee.payload, message.pointee.len > 0 {
            let bytes = UnsafeRawBufferPointer(start: payload, count: message.pointee.len)
            text = String(decoding: bytes, as: UTF8.self)
        }
        if let topic = message.pointee.rkt {
            text = "\(String(cString: rd_kafka_topic_name(topic)))[\(message.pointee.partition)]: \(text)"
        }
        state.recordError(text, fatal: error == RD_KAFKA_RESP_ERR__FATAL)
        return true
    }

    private func topicIndex(for topic: OpaquePointer?) -> Int32 {
        guard let topic else { return -1 }
        let name = rd_kafka_topic_name(topic)!
        if let index = topicIndexByHandle[topic], strcmp(name, topicCNames[Int(index)]) == 0 {
            return index
        }
        // A new topic handle (or a reused address): resolve by name.
        let nameString = String(cString: name)
        let index: Int32
        if let existing = topicNames.firstIndex(of: nameString) {
            index = Int32(existing)
        } else {
            index = Int32(topicNames.count)
            topicNames.append(nameString)
            topicCNames.append(Array(nameString.utf8CString))
        }
        topicIndexByHandle[topic] = index
        return index
    }

    /// Stores offset+1 of the last record of each partition in `batch`; librdkafka commits stored
    /// offsets on its auto-commit timer, on revoke and on close.
    public func storeOffsets(of batch: MessageBatch) {
        guard !batch.records.isEmpty else { return }
        storeScratch.removeAll(keepingCapacity: true)
        for record in batch.records {
            if let slot = storeScratch.firstIndex(where: { $0.topicIndex == record.topicIndex && $0.partition == record.partition }) {
                storeScratch[slot].offset = max(storeScratch[slot].offset, record.offset)
            } else {
                storeScratch.append((record.topicIndex, record.partition, record.offset))
            }
        }
        handleLock.lock()
        defer { handleLock.unlock() }
        guard let handle else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(storeScratch.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for entry in storeScratch {
            let element = rd_kafka_topic_partition_list_add(list, batch.topics[Int(entry.topicIndex)], entry.partition)
            element?.pointee.offset = entry.offset + 1
        }
        // A partition revoked meanwhile refuses the store; its new owner re-reads from the last commit.
        let result = rd_kafka_offsets_store(handle, list)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__STATE {
            state.recordError("storing offsets: \(String(cString: rd_kafka_err2str(result)))", fatal: false)
        }
    }

    /// Commits the stored offsets now (blocking).
    public func commitSync() throws {
        handleLock.lock()
        defer { handleLock.unlock() }
        guard let handle else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY.rawValue, message: "committing Kafka offsets: the consumer is closed")
        }
        let result = rd_kafka_commit(handle, nil, 0)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError.response(result, while: "committing Kafka offsets for group \(config.groupID)")
        }
    }

    /// Per assigned partition: committed offset (asked from the broker only when `queryCommitted`,
    /// blocking up to `committedTimeoutMs`; otherwise the last answer), position, and the high
    /// watermark cached from fetch responses.
    public func partitionStates(queryCommitted: Bool, committedTimeoutMs: Int32 = 1000) -> [PartitionProgress] {
        let assignment = state.assignment
        guard !assignment.isEmpty else { return [] }
        handleLock.lock()
        defer { handleLock.unlock() }
        guard let handle else { return [] }

        let positions = rd_kafka_topic_partition_list_new(Int32(assignment.count))!
        defer { rd_kafka_topic_partition_list_destroy(positions) }
        for partition in assignment { rd_kafka_topic_partition_list_add(positions, partition.topic, partition.partition) }
        _ = rd_kafka_position(handle, positions)

        if queryCommitted {
            let committed = rd_kafka_topic_partition_list_new(Int32(assignment.count))!
            defer { rd_kafka_topic_partition_list_destroy(committed) }
            for partition in assignment { rd_kafka_topic_partition_list_add(committed, partition.topic, partition.partition) }
            let result = rd_kafka_committed(handle, committed, committedTimeoutMs)
            if result == RD_KAFKA_RESP_ERR_NO_ERROR {
                for index in 0 ..< Int(committed.pointee.cnt) {
                    let element = committed.pointee.elems[index]
                    guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                    lastCommitted[assignment[index]] = element.offset
                }
            } else {
                state.recordError("reading committed offsets: \(String(cString: rd_kafka_err2str(result)))", fatal: false)
            }
        }

        var states: [PartitionProgress] = []
        states.reserveCapacity(assignment.count)
        for (index, partition) in assignment.enumerated() {
            var low: Int64 = -1
            var high: Int64 = -1
            if rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
                != RD_KAFKA_RESP_ERR_NO_ERROR {
                high = -1
            }
            let position = positions.pointee.elems[index].offset
            states.append(PartitionProgress(topic: partition.topic, partition: partition.partition,
                                            committed: Self.known(lastCommitted[partition] ?? -1),
                                            position: Self.known(position), highWatermark: Self.known(high)))
        }
        return states
    }

    /// librdkafka's logical offsets (INVALID, END, ...) are negative: report them as -1, "unknown".
    private static func known(_ offset: Int64) -> Int64 { offset >= 0 ? offset : -1 }

    /// Makes a poll that is waiting return now (e.g. to quit or pause promptly).
    public func wakeUp() {
        closeLock.lock()
        defer { closeLock.unlock() }
        if !closing, let consumerQueue { rd_kafka_queue_yield(consumerQueue) }
    }

    /// Leaves the group (committing stored offsets) and frees the handle. Idempotent.
    public func close() {
        closeLock.lock()
        if closing {
            closeLock.unlock()
            return
        }
        closing = true
        // Only the closer destroys the queue, later, so it is still valid here.
        if let consumerQueue { rd_kafka_queue_yield(consumerQueue) }
        closeLock.unlock()
        handleLock.lock()
        defer { handleLock.unlock() }
        teardown()
    }

    private func teardown() {
        guard let handle else { return }
        _ = rd_kafka_consumer_close(handle)
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue) }
        rd_kafka_destroy(handle)
        self.consumerQueue = nil
        self.handle = nil
    }
}

/// Assigns synchronously (eager or cooperative, as the group's protocol says) and commits stored
/// offsets before giving partitions up, so the next owner does not re-read applied events.
private let kafkaRebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { handle, code, partitions, opaque in
    guard let handle, let opaque else { return }
    let state = Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
    let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) == "COOPERATIVE" } ?? false
    var list: [KafkaClientState.TopicPartition] = []
    if let partitions {
        for index in 0 ..< Int(partitions.pointee.cnt) {
            let element = partitions.pointee.elems[index]
            list.append(.init(topic: String(cString: element.topic), partition: element.partition))
        }
    }
    switch code {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_assign(handle, partitions) {
                state.recordRebalanceError(.consuming(error, while: "taking over assigned partitions"))
            } else {
                state.assign(list, incremental: true)
            }
        } else {
            let result = rd_kafka_assign(handle, partitions)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                state.recordRebalanceError(.response(result, while: "taking over assigned partitions"))
            } else {
                state.assign(list, incremental: false)
            }
        }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        if rd_kafka_assignment_lost(handle) == 0 {
            let result = rd_kafka_commit(handle, nil, 0)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET {
                state.recordError("committing offsets on revoke: \(String(cString: rd_kafka_err2str(result)))", fatal: false)
            }
        }
        if cooperative {
            if let error = rd_kafka_incremental_unassign(handle, partitions) {
                state.recordRebalanceError(.consuming(error, while: "giving up revoked partitions"))
            }
        } else {
            _ = rd_kafka_assign(handle, nil)
        }
        state.unassign(list, incremental: cooperative)
    default:
        _ = rd_kafka_assign(handle, nil)
        state.unassign(list, incremental: false)
        state.recordError("rebalance failed: \(String(cString: rd_kafka_err2str(code)))", fatal: false)
    }
}
