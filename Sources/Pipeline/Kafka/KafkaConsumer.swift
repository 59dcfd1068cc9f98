import CRdKafka
import Foundation
import Synchronization

/// Where one assigned partition stands. Offsets are -1 when not known (yet).
package struct PartitionProgress: Sendable, Equatable {
    package var topic: String
    package var partition: Int32
    /// The group's committed offset (the next offset to read after a restart).
    package var committed: Int64
    /// The next offset this consumer will hand out.
    package var position: Int64
    /// The end of the partition as last seen in a fetch response.
    package var highWatermark: Int64
    /// The partition's log start as last seen in a fetch response (Fetch v5+; -1 when not reported).
    package var lowWatermark: Int64

    package init(
        topic: String, partition: Int32, committed: Int64, position: Int64, highWatermark: Int64,
        lowWatermark: Int64 = -1
    ) {
        self.topic = topic
        self.partition = partition
        self.committed = committed
        self.position = position
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }

    /// Messages not yet committed, when both ends are known.
    package var lag: Int64? {
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
package final class KafkaConsumer: Sendable {
    private let state: KafkaClientState
    /// The polling thread's state, held for a whole poll so `close()` from another thread waits for it.
    private let polling: Mutex<Polling>
    /// Apart from `polling`, so that `wakeUp()` and `close()` reach a poll that is waiting; also the metadata
    /// thread's client. nil once `close()` began. Whoever took a reference to the client keeps it alive.
    private let closing: Mutex<KafkaClient?>

    fileprivate struct Polling {
        var client: KafkaClient?
        // Topic table: indexes are stable for the consumer's life; lookups compare the C name, no allocation.
        var topicNames: [String] = []
        var topicCNames: [[CChar]] = []
        var topicIndexByHandle: [OpaquePointer: Int32] = [:]
        /// The last message's topic handle and index: fetches come in runs of one topic, so most messages skip the hash.
        var lastTopicHandle: OpaquePointer? = nil
        var lastTopicIndex: Int32 = -1
        /// Freed in the consumer's `deinit`.
        var messageBuffer: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
        var messageBufferCapacity: Int
        var storeScratch: [(topicIndex: Int32, partition: Int32, offset: Int64)] = []
        /// Each partition's last offset in the batch being polled (see `appendEndsReachedByFetch`).
        var lastOffsetScratch: [(topicIndex: Int32, partition: Int32, offset: Int64)] = []
        var assignedGeneration = -1
        var offsetResetFailure: KafkaError?
    }

    /// Where each partition starts when first assigned (next offset to read); absent: earliest.
    private let startOffsets: [KafkaClientState.TopicPartition: Int64]
    private let matcher: TopicMatcher
    /// Written by the metadata thread, read by the polling thread.
    private let discovery = Mutex<Discovery>(Discovery())
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
    package let config: KafkaConsumerConfig

    /// Creates the consumer; partitions are assigned as metadata finds them. `startOffsets` gives the
    /// next offset to read per partition (e.g. from a checkpoint); others start at their earliest.
    /// A bad property or regex throws a KafkaError with the reason.
    package init(config: KafkaConsumerConfig, startOffsets: [(topic: String, partition: Int32, nextOffset: Int64)] = [])
        throws
    {
        guard !config.topics.isEmpty else {
            throw KafkaError(
                code: .configuration,
                message: "no Kafka topics to subscribe to: pass --topics (a name, or a regex starting with ^)")
        }
        self.config = config
        self.matcher = try TopicMatcher(config.topics)
        var starts: [KafkaClientState.TopicPartition: Int64] = [:]
        for s in startOffsets { starts[.init(topic: s.topic, partition: s.partition)] = s.nextOffset }
        self.startOffsets = starts
        let state = KafkaClientState(echoLogToStandardError: config.properties["debug"] != nil)
        state.brokers = config.brokers
        // A healthy broker answers a fetch within fetch.wait.max.ms (1 s by default): silence well past
        // that, with requests waiting, is a stalled broker (a frozen process, a firewall that drops).
        let fetchWaitMs =
            config.properties["fetch.wait.max.ms"].flatMap { Int64($0) }
            ?? Int64(KafkaConsumerConfig.fetchWaitMaxMs)
        state.stallAfterMicroseconds = max(Self.stallAfterSeconds * 1_000_000, (fetchWaitMs + 5_000) * 1_000)
        self.state = state
        var properties = config.librdkafkaProperties
        // The statistics tell a stalled broker apart (per broker: requests waiting, time since the last byte).
        if config.properties["statistics.interval.ms"] == nil { properties.append(("statistics.interval.ms", "1000")) }
        let configuration = try KafkaConfigurationHandle(properties)
        rd_kafka_conf_set_error_cb(configuration.pointer, kafkaClassifyingErrorCallback)
        rd_kafka_conf_set_stats_cb(configuration.pointer, kafkaStatisticsToStateCallback)
        // One queue for messages and errors, so one poll serves them all.
        let client = try KafkaClient(
            configuration, type: RD_KAFKA_CONSUMER, role: "consumer", callbackState: state,
            pollsConsumerQueue: true)
        closing = Mutex(client)
        let capacity = 1024
        polling = Mutex(
            Polling(client: client, messageBuffer: .allocate(capacity: capacity), messageBufferCapacity: capacity))
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
        thread.start()
    }

    /// Asks the cluster for every topic and keeps the partitions of those that match.
    private func refreshMetadata() {
        guard let client = closing.withLock({ $0 }) else { return }
        let found: [KafkaClientState.TopicPartition]
        // close() waits for this call: a short bound keeps quitting prompt when the broker does not answer
        // (a failed listing is simply tried again at the next refresh); while no broker is up, closing or a
        // fault retrying cannot fix (refused credentials) ends the wait within 100 ms.
        switch matchingPartitions(
            client, matcher: matcher, timeoutMs: Self.blockingCallTimeoutMs,
            stopWaiting: { state.faultNeedingFix != nil || closing.withLock { $0 == nil } })
        {
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
            if d.partitions != found {
                d.partitions = found
                d.generation += 1
            }
        }
    }

    /// The group's committed offsets, for the Lag view (blocking: this thread only).
    private func refreshCommitted() {
        let assignment = state.assignment
        guard !assignment.isEmpty, let client = closing.withLock({ $0 }) else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(assignment.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in assignment { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
        let result = client.withHandle { rd_kafka_committed($0, list, Self.blockingCallTimeoutMs) }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        var committed: [KafkaClientState.TopicPartition: Int64] = [:]
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            committed[.init(topic: String(cString: element.topic), partition: element.partition)] = element.offset
        }
        discovery.withLock { $0.committed = committed }
    }

    /// Assigns partitions the metadata thread found since the last call (polling thread, `polling` held).
    private func assignNewPartitions(_ handle: OpaquePointer, assignedGeneration: inout Int) {
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
        polling.withLock { $0.messageBuffer.deallocate() }
    }

    /// The bound of the metadata thread's blocking calls (listing topics, committed offsets), which close() waits for.
    static let blockingCallTimeoutMs: Int32 = 2_000

    /// How long a broker may keep requests waiting without a byte back before it counts as stalled (at least).
    package static let stallAfterSeconds: Int64 = 10

    /// A fault that stopped the consumer (with its fix); else the last non-fatal broker error (e.g. "all brokers
    /// are down"), cleared after a poll delivers messages; else the --topics names the cluster does not list.
    package var lastError: String? {
        // After a fault that needs a fix the consumer stops: its one line, with the fix, is what to show.
        if let fault = state.faultNeedingFix { return fault.message }
        if let error = state.lastError { return error }
        let missing = discovery.withLock { $0.missingTopics }
        guard !missing.isEmpty else { return nil }
        return Self.unknownTopicsText(missing, brokers: config.brokers)
    }

    /// One line for topics named in --topics that the cluster does not list, with the fix.
    package static func unknownTopicsText(_ topics: [String], brokers: String) -> String {
        let names =
            topics.count == 1
            ? "topic \(topics[0]) does not exist" : "topics \(topics.joined(separator: ", ")) do not exist"
        return "\(names) on \(brokers) (or this principal may not describe \(topics.count == 1 ? "it" : "them")). "
            + KafkaError.unknownTopicFix
    }

    /// "no response from HOST:PORT for 12 s (2 requests waiting)" while a broker that took the connection
    /// answers nothing (from librdkafka's statistics, once a second); nil otherwise.
    package var stall: String? { state.stall }
    /// Requests sent to the brokers so far by type, from the statistics (to keep cdctop light on the broker).
    package var brokerRequests: KafkaRequestCounts { state.requests }
    /// Client errors reported so far (failed connection attempts included).
    package var errorCount: Int { state.errorCount }
    /// The last warning librdkafka logged (its log never goes to the terminal unless -X debug is set).
    package var lastLogLine: String? { state.lastLog }

    /// Fills `batch` (clearing it first) with up to `maxMessages` messages, waiting at most `timeoutMs`
    /// for the first. Partitions read to their end go to `batch.partitionEOFs`; non-fatal errors to `lastError`.
    package func poll(into batch: inout MessageBatch, maxMessages: Int, timeoutMs: Int32) throws {
        batch.removeAll()
        try polling.withLock { polling in
            // close() may be waiting for this lock: a poll after it began must not wait out its timeout.
            let isClosing = closing.withLock { $0 == nil }
            guard !isClosing, let client = polling.client else {
                throw KafkaError(code: .closed, message: "polling Kafka: the consumer is closed")
            }
            try client.withHandle { handle in
                try poll(
                    handle, client: client, into: &batch, maxMessages: maxMessages, timeoutMs: timeoutMs,
                    polling: &polling)
            }
        }
    }

    private func poll(
        _ handle: OpaquePointer, client: KafkaClient, into batch: inout MessageBatch, maxMessages: Int,
        timeoutMs: Int32, polling: inout Polling
    ) throws {
        assignNewPartitions(handle, assignedGeneration: &polling.assignedGeneration)
        if maxMessages > polling.messageBufferCapacity {
            polling.messageBuffer.deallocate()
            polling.messageBufferCapacity = maxMessages
            polling.messageBuffer = .allocate(capacity: maxMessages)
        }
        var sawError = false
        if let first = rd_kafka_consumer_poll(handle, timeoutMs) {
            sawError = take(first, into: &batch, polling: &polling) || sawError
            if maxMessages > 1 {
                // The rest of what is already fetched, without waiting.
                let buffer = polling.messageBuffer
                let count = client.withConsumerQueue { rd_kafka_consume_batch_queue($0, 0, buffer, maxMessages - 1) }
                if count > 0 {
                    for index in 0..<count {
                        if let message = buffer[index] {
                            sawError = take(message, into: &batch, polling: &polling) || sawError
                        }
                    }
                }
            }
        }
        if !batch.records.isEmpty { appendEndsReachedByFetch(handle, into: &batch, polling: &polling) }
        if batch.topics.count != polling.topicNames.count { batch.topics = polling.topicNames }
        if state.fatalRaised {
            throw client.fatalError(while: "consuming from Kafka")
        }
        // Wrong credentials, a refused ACL, a failed TLS handshake: retrying cannot help, so stop and say what to fix.
        if let fault = state.faultNeedingFix { throw fault }
        if let failure = polling.offsetResetFailure {
            polling.offsetResetFailure = nil
            throw failure
        }
        if !sawError && !batch.records.isEmpty { state.clearError() }
    }

    /// A fetch waits for data (`fetch.wait.max.ms`), so on a partition that keeps growing, even by one Debezium
    /// heartbeat a second, every fetch returns a message and librdkafka never reports the partition's EOF. A
    /// partition whose position (past its last message in this batch, and past the transaction markers after it,
    /// which librdkafka consumes without handing them out) reached the high watermark of the latest fetch response
    /// (librdkafka's cached watermark, updated before that response's messages are queued) was read to its end as
    /// of that fetch, which is all an EOF says: report it as one, at that position.
    private func appendEndsReachedByFetch(
        _ handle: OpaquePointer, into batch: inout MessageBatch, polling: inout Polling
    ) {
        polling.lastOffsetScratch.removeAll(keepingCapacity: true)
        var previous: (topicIndex: Int32, partition: Int32) = (-1, -1)
        for record in batch.records where record.topicIndex >= 0 {
            // Fetches come in runs of one partition: one search per run, not per message.
            if record.topicIndex == previous.topicIndex && record.partition == previous.partition {
                polling.lastOffsetScratch[polling.lastOffsetScratch.count - 1].offset = record.offset
                continue
            }
            previous = (record.topicIndex, record.partition)
            if let earlier = polling.lastOffsetScratch.firstIndex(where: {
                $0.topicIndex == record.topicIndex && $0.partition == record.partition
            }) {
                polling.lastOffsetScratch.remove(at: earlier)
            }
            polling.lastOffsetScratch.append((record.topicIndex, record.partition, record.offset))
        }
        guard let positions = rd_kafka_topic_partition_list_new(Int32(polling.lastOffsetScratch.count)) else { return }
        defer { rd_kafka_topic_partition_list_destroy(positions) }
        for last in polling.lastOffsetScratch {
            polling.topicCNames[Int(last.topicIndex)].withUnsafeBufferPointer { name in
                _ = rd_kafka_topic_partition_list_add(positions, name.baseAddress, last.partition)
            }
        }
        _ = rd_kafka_position(handle, positions)
        for (index, last) in polling.lastOffsetScratch.enumerated() {
            var low: Int64 = -1
            var high: Int64 = -1
            let result = polling.topicCNames[Int(last.topicIndex)].withUnsafeBufferPointer { name in
                rd_kafka_get_watermark_offsets(handle, name.baseAddress, last.partition, &low, &high)
            }
            let reached = max(last.offset + 1, positions.pointee.elems[index].offset)
            if result == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 && reached >= high {
                batch.partitionEOFs.append((last.topicIndex, last.partition, reached))
            }
        }
    }

    /// Copies one message into the batch and destroys it. Returns true if it was an error.
    private func take(
        _ message: UnsafeMutablePointer<rd_kafka_message_t>, into batch: inout MessageBatch,
        polling: inout Polling
    ) -> Bool {
        defer { rd_kafka_message_destroy(message) }
        let error = message.pointee.err
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            batch.append(
                topicIndex: polling.topicIndex(for: message.pointee.rkt), partition: message.pointee.partition,
                offset: message.pointee.offset, timestampMs: rd_kafka_message_timestamp(message, nil),
                key: UnsafeRawPointer(message.pointee.key), keyLength: message.pointee.key_len,
                value: UnsafeRawPointer(message.pointee.payload), valueLength: message.pointee.len)
            return false
        }
        if error == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            batch.partitionEOFs.append(
                (
                    polling.topicIndex(for: message.pointee.rkt), message.pointee.partition,
                    message.pointee.offset
                ))
            return false
        }
        if error == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || error == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE {
            // The start offset lies outside the partition: its log was deleted (the topic recreated, or
            // retention removed messages never read). Reading on would silently skip or re-count data.
            let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
            let partition = message.pointee.partition
            let start = startOffsets[.init(topic: topic, partition: partition)]
            polling.offsetResetFailure = KafkaError(
                code: .init(error),
                message:
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

    /// Stores offset+1 of the last record of each partition in `batch`; librdkafka commits stored
    /// offsets on its auto-commit timer, on revoke and on close.
    package func storeOffsets(of batch: MessageBatch) {
        guard !batch.records.isEmpty else { return }
        polling.withLock { polling in
            polling.storeScratch.removeAll(keepingCapacity: true)
            for record in batch.records {
                if let slot = polling.storeScratch.firstIndex(where: {
                    $0.topicIndex == record.topicIndex && $0.partition == record.partition
                }) {
                    polling.storeScratch[slot].offset = max(polling.storeScratch[slot].offset, record.offset)
                } else {
                    polling.storeScratch.append((record.topicIndex, record.partition, record.offset))
                }
            }
            guard let client = polling.client else { return }
            let list = rd_kafka_topic_partition_list_new(Int32(polling.storeScratch.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for entry in polling.storeScratch {
                let element = rd_kafka_topic_partition_list_add(
                    list, batch.topics[Int(entry.topicIndex)], entry.partition)
                element?.pointee.offset = entry.offset + 1
            }
            // A partition revoked meanwhile refuses the store; its new owner re-reads from the last commit.
            let result = client.withHandle { rd_kafka_offsets_store($0, list) }
            if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__STATE {
                state.recordError("storing offsets: \(String(cString: rd_kafka_err2str(result)))", fatal: false)
            }
        }
    }

    /// Stores explicit next offsets (e.g. those a durable checkpoint covers); librdkafka commits them
    /// to the group on its auto-commit timer and on close. Partitions not assigned are skipped.
    package func storeOffsets(_ offsets: [(topic: String, partition: Int32, nextOffset: Int64)]) {
        guard !offsets.isEmpty else { return }
        polling.withLock { polling in
            guard let client = polling.client else { return }
            store(offsets, client: client)
        }
    }

    private func store(_ offsets: [(topic: String, partition: Int32, nextOffset: Int64)], client: KafkaClient) {
        let assigned = Set(state.assignment)
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        var any = false
        for entry in offsets where assigned.contains(.init(topic: entry.topic, partition: entry.partition)) {
            rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition)?.pointee.offset = entry.nextOffset
            any = true
        }
        guard any else { return }
        let result = client.withHandle { rd_kafka_offsets_store($0, list) }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__STATE {
            state.recordError("storing offsets: \(String(cString: rd_kafka_err2str(result)))", fatal: false)
        }
    }

    /// Commits the stored offsets now (blocking).
    package func commitSync() throws {
        try polling.withLock { polling in
            guard let client = polling.client else {
                throw KafkaError(code: .closed, message: "committing Kafka offsets: the consumer is closed")
            }
            // Refused credentials or TLS: the broker cannot be reached, and waiting for the coordinator only delays the exit.
            if let fault = state.faultNeedingFix { throw fault }
            let result = client.withHandle { rd_kafka_commit($0, nil, 0) }
            if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET {
                throw KafkaError.response(result, while: "committing Kafka offsets for group \(config.groupID)")
            }
        }
    }

    /// Per assigned partition: the group's committed offset (as the metadata thread last read it),
    /// this consumer's position, and the high watermark cached from fetch responses. Never blocks on
    /// the broker.
    package func partitionStates() -> [PartitionProgress] {
        let assignment = state.assignment
        guard !assignment.isEmpty else { return [] }
        let committed = discovery.withLock { $0.committed }
        return polling.withLock { polling in
            guard let client = polling.client else { return [] }
            return client.withHandle { partitionStates($0, assignment: assignment, committed: committed) }
        }
    }

    private func partitionStates(
        _ handle: OpaquePointer, assignment: [KafkaClientState.TopicPartition],
        committed: [KafkaClientState.TopicPartition: Int64]
    ) -> [PartitionProgress] {
        let positions = rd_kafka_topic_partition_list_new(Int32(assignment.count))!
        defer { rd_kafka_topic_partition_list_destroy(positions) }
        for partition in assignment {
            rd_kafka_topic_partition_list_add(positions, partition.topic, partition.partition)
        }
        _ = rd_kafka_position(handle, positions)

        var states: [PartitionProgress] = []
        states.reserveCapacity(assignment.count)
        for (index, partition) in assignment.enumerated() {
            var low: Int64 = -1
            var high: Int64 = -1
            if rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
                != RD_KAFKA_RESP_ERR_NO_ERROR
            {
                high = -1
                low = -1
            }
            let position = positions.pointee.elems[index].offset
            states.append(
                PartitionProgress(
                    topic: partition.topic, partition: partition.partition,
                    committed: Self.known(committed[partition] ?? -1),
                    position: Self.known(position), highWatermark: Self.known(high),
                    lowWatermark: Self.known(low)))
        }
        return states
    }

    /// The last failure to list topics, if the latest attempt failed.
    package var metadataError: String? { discovery.withLock { $0.lastMetadataError } }

    /// librdkafka's logical offsets (INVALID, END, ...) are negative: report them as -1, "unknown".
    private static func known(_ offset: Int64) -> Int64 { offset >= 0 ? offset : -1 }

    /// Makes a poll that is waiting return now (e.g. to quit or pause promptly).
    package func wakeUp() {
        closing.withLock { $0?.wakeConsumerQueue() }
    }

    /// Leaves the group (committing stored offsets) and frees the handle. Idempotent.
    package func close() {
        // Only the first close() takes the client.
        let client: KafkaClient? = closing.withLock { client in
            defer { client = nil }
            return client
        }
        guard let client else { return }
        client.wakeConsumerQueue()
        // The metadata thread was started by init, and only the first close() gets here.
        metadataStop.signal()
        metadataDone.wait()
        polling.withLock { polling in
            // After refused credentials or TLS nothing can be committed or left: closing would wait for a
            // coordinator that refuses us.
            if state.faultNeedingFix != nil {
                client.skipConsumerCloseOnDestroy()
            } else {
                client.withHandle { _ = rd_kafka_consumer_close($0) }
            }
            polling.client = nil
        }
        // `client` is the last reference: the queue and the handle are destroyed (KafkaClient.deinit) as it goes.
    }
}

extension KafkaConsumer.Polling {
    /// The topic's index in the batch's table; a known handle is checked by its C name, without allocating.
    fileprivate mutating func topicIndex(for topic: OpaquePointer?) -> Int32 {
        guard let topic else { return -1 }
        let name = rd_kafka_topic_name(topic)!
        if topic == lastTopicHandle && strcmp(name, topicCNames[Int(lastTopicIndex)]) == 0 { return lastTopicIndex }
        if let index = topicIndexByHandle[topic], strcmp(name, topicCNames[Int(index)]) == 0 {
            lastTopicHandle = topic
            lastTopicIndex = index
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
        lastTopicHandle = topic
        lastTopicIndex = index
        return index
    }
}

/// `--topics` (and `--lag-groups`): exact names, and regexes for entries starting with `^` (matched
/// anywhere in the name after the anchor, as librdkafka's subscriptions do).
struct TopicMatcher: Sendable {
    private let names: Set<String>
    private let patterns: [NSRegularExpression]

    /// `invalidPattern`: the error text for an entry that is not a valid regex.
    init(
        _ topics: [String],
        invalidPattern: (String) -> String = {
            "--topics: '\($0)' is not a valid regular expression. Escape dots as \\. (e.g. '^shop\\.public\\..*')"
        }
    ) throws {
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
        self.names = names
        self.patterns = patterns
    }

    /// The entries that are plain names (not patterns): each must exist.
    var exactNames: Set<String> { names }

    func matches(_ topic: String) -> Bool {
        if names.contains(topic) { return true }
        let range = NSRange(topic.startIndex..., in: topic)
        return patterns.contains { $0.firstMatch(in: topic, range: range) != nil }
    }
}
