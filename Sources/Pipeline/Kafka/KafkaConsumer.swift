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
    /// The partition's log start as last seen in a fetch response (Fetch v5+; -1 when not reported).
    public var lowWatermark: Int64

    public init(topic: String, partition: Int32, committed: Int64, position: Int64, highWatermark: Int64,
                lowWatermark: Int64 = -1) {
        self.topic = topic
        self.partition = partition
        self.committed = committed
        self.position = position
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }

    /// Messages not yet committed, when both ends are known.
    public var lag: Int64? {
        guard highWatermark >= 0 else { return nil }
        return max(0, highWatermark - max(committed, 0))
    }
}

/// A consumer over librdkafka that assigns itself EVERY partition of the matched topics (no
/// consumer-group split: two viewers each see everything), starting each partition where the
/// caller says (a checkpoint's offsets) or at its earliest offset. A background thread refreshes
/// metadata every `metadataRefreshMs`, so a new topic matching a ^regex, or a new partition, is
/// read within seconds, and asks the broker for the group's committed offsets (a blocking call
/// that must not run on the polling thread). Offsets are still committed to the group so Kafka
/// tools see cdctop's lag.
///
/// Polling, storing and committing happen on ONE thread (the engine's); `close()` and `wakeUp()`
/// may be called from any thread.
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
    /// Where each partition starts when first assigned (next offset to read); absent: earliest.
    private let startOffsets: [KafkaClientState.TopicPartition: Int64]
    private let matcher: TopicMatcher
    /// Written by the metadata thread, read by the polling thread.
    private let discovery = Mutex<Discovery>(Discovery())
    private var metadataThread: Thread?
    private let metadataStop = DispatchSemaphore(value: 0)
    private let metadataDone = DispatchSemaphore(value: 0)

    struct Discovery {
        var partitions: [KafkaClientState.TopicPartition] = []
        var generation = 0
        var committed: [KafkaClientState.TopicPartition: Int64] = [:]
        var lastMetadataError: String?
        /// Topics named exactly in --topics that the last metadata did not list.
        var missingTopics: [String] = []
    }
    private var assignedGeneration = -1
    private var offsetResetFailure: KafkaError?

    public let config: KafkaConsumerConfig

    /// Creates the consumer; partitions are assigned as metadata finds them. `startOffsets` gives the
    /// next offset to read per partition (e.g. from a checkpoint); others start at their earliest.
    /// A bad property or regex throws a KafkaError with the reason.
    public init(config: KafkaConsumerConfig, startOffsets: [(topic: String, partition: Int32, nextOffset: Int64)] = []) throws {
        guard !config.topics.isEmpty else {
            throw KafkaError(code: .configuration,
                             message: "no Kafka topics to subscribe to: pass --topics (a name, or a regex starting with ^)")
        }
        self.config = config
        self.matcher = try TopicMatcher(config.topics)
        var starts: [KafkaClientState.TopicPartition: Int64] = [:]
        for s in startOffsets { starts[.init(topic: s.topic, partition: s.partition)] = s.nextOffset }
        self.startOffsets = starts
        let state = KafkaClientState(echoLogToStandardError: config.properties["debug"] != nil)
        state.brokers = config.brokers
        // A healthy broker answers a fetch within fetch.wait.max.ms (500 ms by default): silence well past
        // that, with requests waiting, is a stalled broker (a frozen process, a firewall that drops).
        let fetchWaitMs = config.properties["fetch.wait.max.ms"].flatMap { Int64($0) } ?? 500
        state.stallAfterMicroseconds = max(Self.stallAfterSeconds * 1_000_000, (fetchWaitMs + 5_000) * 1_000)
        self.state = state
        var properties = config.librdkafkaProperties
        // The statistics tell a stalled broker apart (per broker: requests waiting, time since the last byte).
        if config.properties["statistics.interval.ms"] == nil { properties.append(("statistics.interval.ms", "1000")) }
        let configuration = try KafkaConfigurationHandle(properties)
        rd_kafka_conf_set_opaque(configuration.pointer, state.opaquePointer)
        rd_kafka_conf_set_error_cb(configuration.pointer, kafkaClassifyingErrorCallback)
        rd_kafka_conf_set_log_cb(configuration.pointer, kafkaLogToStateCallback)
        rd_kafka_conf_set_stats_cb(configuration.pointer, kafkaStatisticsToStateCallback)
        let handle = try configuration.makeClient(RD_KAFKA_CONSUMER, role: "consumer")
        // One queue for messages and errors, so one poll serves them all.
        rd_kafka_poll_set_consumer(handle)
        let queue = rd_kafka_queue_get_consumer(handle)
        self.handle = handle
        self.consumerQueue = queue
        messageBufferCapacity = 1024
        messageBuffer = .allocate(capacity: messageBufferCapacity)
        startMetadataThread()
    }

    // MARK: partition discovery (metadata thread)

    private func startMetadataThread() {
        let thread = Thread { [self] in
            var lastCommittedQuery = 0.0
            while true {
                refreshMetadata()
                let now = WallClock.monotonicSeconds()
                if now - lastCommittedQuery >= Double(config.committedQueryIntervalMs) / 1000 {
                    lastCommittedQuery = now
                    refreshCommitted()
                }
                if metadataStop.wait(timeout: .now() + .milliseconds(config.metadataRefreshMs)) == .success { break }
            }
            metadataDone.signal()
        }
        thread.name = "cdctop-kafka-metadata"
        metadataThread = thread
        thread.start()
    }

    /// Asks the cluster for every topic and keeps the partitions of those that match.
    private func refreshMetadata() {
        guard let handle else { return }
        let found: [KafkaClientState.TopicPartition]
        // close() waits for this call: a short bound keeps quitting prompt when the broker does not answer
        // (a failed listing is simply tried again at the next refresh).
        switch matchingPartitions(handle, matcher: matcher, timeoutMs: Self.blockingCallTimeoutMs) {
        case .success(let partitions): found = partitions
        case .failure(let error):
            discovery.withLock { $0.lastMetadataError = error.message }
            return
        }
        let listed = Set(found.map(\.topic))
        let missing = matcher.exactNames.filter { !listed.contains($0) }.sorted()
        discovery.withLock { d in
            d.lastMetadataError = nil
            d.missingTopics = missing
            if d.partitions != found { d.partitions = found; d.generation += 1 }
        }
    }

    /// The group's committed offsets, for the Lag view (blocking: this thread only).
    private func refreshCommitted() {
        let assignment = state.assignment
        guard !assignment.isEmpty, let handle else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(assignment.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in assignment { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
        let result = rd_kafka_committed(handle, list, Self.blockingCallTimeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        var committed: [KafkaClientState.TopicPartition: Int64] = [:]
        for index in 0 ..< Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            committed[.init(topic: String(cString: element.topic), partition: element.partition)] = element.offset
        }
        discovery.withLock { $0.committed = committed }
    }

    /// Assigns partitions the metadata thread found since the last call (polling thread, handle locked).
    private func assignNewPartitions(_ handle: OpaquePointer) {
        let (generation, partitions) = discovery.withLock { ($0.generation, $0.partitions) }
        guard generation != assignedGeneration else { return }
        let assigned = Set(state.assignment)
        let new = partitions.filter { !assigned.contains($0) }
        if !new.isEmpty {
            let list = rd_kafka_topic_partition_list_new(Int32(new.count))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for tp in new {
                let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)
                element?.pointee.offset = startOffsets[tp] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
            }
            if let error = rd_kafka_incremental_assign(handle, list) {
                state.recordError(KafkaError.consuming(error, while: "assigning new partitions").message, fatal: false)
                return
            }
            state.assign(new, incremental: true)
        }
        assignedGeneration = generation
    }

    deinit {
        close()
        messageBuffer.deallocate()
    }

    /// The bound of the metadata thread's blocking calls (listing topics, committed offsets), which close() waits for.
    static let blockingCallTimeoutMs: Int32 = 2_000

    /// How long a broker may keep requests waiting without a byte back before it counts as stalled (at least).
    public static let stallAfterSeconds: Int64 = 10

    /// A fault that stopped the consumer (with its fix); else the last non-fatal broker error (e.g. "all brokers
    /// are down"), cleared after a poll delivers messages; else the --topics names the cluster does not list.
    public var lastError: String? {
        // After a fault that needs a fix the consumer stops: its one line, with the fix, is what to show.
        if let fault = state.faultNeedingFix { return fault.message }
        if let error = state.lastError { return error }
        let missing = discovery.withLock { $0.missingTopics }
        guard !missing.isEmpty else { return nil }
        return Self.unknownTopicsText(missing, brokers: config.brokers)
    }

    /// One line for topics named in --topics that the cluster does not list, with the fix.
    public static func unknownTopicsText(_ topics: [String], brokers: String) -> String {
        let names = topics.count == 1 ? "topic \(topics[0]) does not exist" : "topics \(topics.joined(separator: ", ")) do not exist"
        return "\(names) on \(brokers) (or this principal may not describe \(topics.count == 1 ? "it" : "them")). "
            + KafkaError.unknownTopicFix
    }

    /// "no response from HOST:PORT for 12 s (2 requests waiting)" while a broker that took the connection
    /// answers nothing (from librdkafka's statistics, once a second); nil otherwise.
    public var stall: String? { state.stall }
    /// Client errors reported so far (failed connection attempts included).
    public var errorCount: Int { state.errorCount }
    /// The last warning librdkafka logged (its log never goes to the terminal unless -X debug is set).
    public var lastLogLine: String? { state.lastLog }

    /// Fills `batch` (clearing it first) with up to `maxMessages` messages, waiting at most `timeoutMs`
    /// for the first. Partition EOFs go to `batch.partitionEOFs`; non-fatal errors to `lastError`.
    public func poll(into batch: inout MessageBatch, maxMessages: Int, timeoutMs: Int32) throws {
        batch.removeAll()
        handleLock.lock()
        defer { handleLock.unlock() }
        // close() may be waiting for this lock: a poll after it began must not wait out its timeout.
        let isClosing = closeLock.withLock { closing }
        guard !isClosing, let handle, let consumerQueue else {
            throw KafkaError(code: .closed, message: "polling Kafka: the consumer is closed")
        }
        assignNewPartitions(handle)
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
        // Wrong credentials, a refused ACL, a failed TLS handshake: retrying cannot help, so stop and say what to fix.
        if let fault = state.faultNeedingFix { throw fault }
        if let failure = offsetResetFailure {
            offsetResetFailure = nil
            throw failure
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
        if error == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || error == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE {
            // The start offset lies outside the partition: its log was deleted (the topic recreated, or
            // retention removed messages never read). Reading on would silently skip or re-count data.
            let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
            let partition = message.pointee.partition
            let start = startOffsets[.init(topic: topic, partition: partition)]
            offsetResetFailure = KafkaError(code: .init(error), message:
                "\(topic)[\(partition)]: offset \(start.map(String.init) ?? "(earliest)") is no longer in the partition (\(String(cString: rd_kafka_err2str(error)))): "
                + "the topic was deleted and recreated, or retention removed messages before cdctop read them. "
                + "The saved state no longer matches the topic; rebuild it from the earliest offsets with --state-reset",
                isFatal: true)
            return true
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
        state.recordError(text, fatal: error == RD_KAFKA_RESP_ERR__FATAL, code: error)
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

    /// Stores explicit next offsets (e.g. those a durable checkpoint covers); librdkafka commits them
    /// to the group on its auto-commit timer and on close. Partitions not assigned are skipped.
    public func storeOffsets(_ offsets: [(topic: String, partition: Int32, nextOffset: Int64)]) {
        guard !offsets.isEmpty else { return }
        handleLock.lock()
        defer { handleLock.unlock() }
        guard let handle else { return }
        let assigned = Set(state.assignment)
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        var any = false
        for entry in offsets where assigned.contains(.init(topic: entry.topic, partition: entry.partition)) {
            rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition)?.pointee.offset = entry.nextOffset
            any = true
        }
        guard any else { return }
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
            throw KafkaError(code: .closed, message: "committing Kafka offsets: the consumer is closed")
        }
        // Refused credentials or TLS: the broker cannot be reached, and waiting for the coordinator only delays the exit.
        if let fault = state.faultNeedingFix { throw fault }
        let result = rd_kafka_commit(handle, nil, 0)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError.response(result, while: "committing Kafka offsets for group \(config.groupID)")
        }
    }

    /// Per assigned partition: the group's committed offset (as the metadata thread last read it),
    /// this consumer's position, and the high watermark cached from fetch responses. Never blocks on
    /// the broker.
    public func partitionStates() -> [PartitionProgress] {
        let assignment = state.assignment
        guard !assignment.isEmpty else { return [] }
        let committed = discovery.withLock { $0.committed }
        handleLock.lock()
        defer { handleLock.unlock() }
        guard let handle else { return [] }

        let positions = rd_kafka_topic_partition_list_new(Int32(assignment.count))!
        defer { rd_kafka_topic_partition_list_destroy(positions) }
        for partition in assignment { rd_kafka_topic_partition_list_add(positions, partition.topic, partition.partition) }
        _ = rd_kafka_position(handle, positions)

        var states: [PartitionProgress] = []
        states.reserveCapacity(assignment.count)
        for (index, partition) in assignment.enumerated() {
            var low: Int64 = -1
            var high: Int64 = -1
            if rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
                != RD_KAFKA_RESP_ERR_NO_ERROR {
                high = -1
                low = -1
            }
            let position = positions.pointee.elems[index].offset
            states.append(PartitionProgress(topic: partition.topic, partition: partition.partition,
                                            committed: Self.known(committed[partition] ?? -1),
                                            position: Self.known(position), highWatermark: Self.known(high),
                                            lowWatermark: Self.known(low)))
        }
        return states
    }

    /// The last failure to list topics, if the latest attempt failed.
    public var metadataError: String? { discovery.withLock { $0.lastMetadataError } }

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
        if metadataThread != nil {
            metadataStop.signal()
            metadataDone.wait()
            metadataThread = nil
        }
        handleLock.lock()
        defer { handleLock.unlock() }
        teardown()
    }

    private func teardown() {
        guard let handle else { return }
        // After refused credentials or TLS nothing can be committed or left: closing would wait for a
        // coordinator that refuses us.
        let faulted = state.faultNeedingFix != nil
        if !faulted { _ = rd_kafka_consumer_close(handle) }
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue) }
        if faulted { rd_kafka_destroy_flags(handle, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)) } else { rd_kafka_destroy(handle) }
        self.consumerQueue = nil
        self.handle = nil
    }
}

/// `--topics` (and `--lag-groups`): exact names, and regexes for entries starting with `^` (matched
/// anywhere in the name after the anchor, as librdkafka's subscriptions do).
struct TopicMatcher: @unchecked Sendable {
    private let names: Set<String>
    private let patterns: [NSRegularExpression]

    /// `invalidPattern`: the error text for an entry that is not a valid regex.
    init(_ topics: [String], invalidPattern: (String) -> String = {
        "--topics: '\($0)' is not a valid regular expression. Escape dots as \\. (e.g. '^shop\\.public\\..*')"
    }) throws {
        var names = Set<String>()
        var patterns: [NSRegularExpression] = []
        for topic in topics {
            if topic.hasPrefix("^") {
                do { patterns.append(try NSRegularExpression(pattern: topic)) } catch {
                    throw KafkaError(code: .configuration, message: invalidPattern(topic))
                }
            } else {
                names.insert(topic)
            }
        }
        self.names = names; self.patterns = patterns
    }

    /// The entries that are plain names (not patterns): each must exist.
    var exactNames: Set<String> { names }

    func matches(_ topic: String) -> Bool {
        if names.contains(topic) { return true }
        let range = NSRange(topic.startIndex..., in: topic)
        return patterns.contains { $0.firstMatch(in: topic, range: range) != nil }
    }
}

import Synchronization
