/// One polled batch; reused between polls so steady state allocates nothing per message.
/// Keys and values are copied into one arena before the librdkafka messages are destroyed.
package struct MessageBatch: Sendable {
    package struct Record: Sendable {
        package var topicIndex: Int32
        package var partition: Int32
        package var offset: Int64
        /// Milliseconds since the epoch, or -1 when the broker gave none.
        package var timestampMs: Int64
        package var keyStart: Int32
        /// -1 means a null key.
        package var keyCount: Int32
        package var valueStart: Int32
        /// -1 means a null value (a tombstone).
        package var valueCount: Int32

        package init(
            topicIndex: Int32, partition: Int32, offset: Int64, timestampMs: Int64,
            keyStart: Int32, keyCount: Int32, valueStart: Int32, valueCount: Int32
        ) {
            self.topicIndex = topicIndex
            self.partition = partition
            self.offset = offset
            self.timestampMs = timestampMs
            self.keyStart = keyStart
            self.keyCount = keyCount
            self.valueStart = valueStart
            self.valueCount = valueCount
        }

        package var isTombstone: Bool { valueCount < 0 }
    }

    package var arena: [UInt8]
    package var records: [Record]
    /// Topic names by index; indexes are stable for the consumer's life.
    package var topics: [String]
    /// Partitions read to their end in this poll, up to `offset`: librdkafka's EOF events, and partitions whose
    /// last message reached the high watermark of the latest fetch (`KafkaConsumer.appendEndsReachedByFetch`).
    package var partitionEOFs: [(topicIndex: Int32, partition: Int32, offset: Int64)]

    package init() {
        arena = []
        records = []
        topics = []
        partitionEOFs = []
    }

    /// Empties the batch but keeps its capacity (and the topic table).
    package mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
        partitionEOFs.removeAll(keepingCapacity: true)
    }

    package var count: Int { records.count }
    package var isEmpty: Bool { records.isEmpty }

    /// Total key and value bytes.
    package var byteCount: Int { arena.count }

    package func topic(of index: Int) -> String { topics[Int(records[index].topicIndex)] }

    /// The key of record `i`, nil when the key is null. The buffer is valid only inside `body`.
    package func withKey<R>(_ i: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let record = records[i]
        return try withArenaSlice(start: record.keyStart, count: record.keyCount, body)
    }

    /// The value of record `i`, nil for a tombstone. The buffer is valid only inside `body`.
    package func withValue<R>(_ i: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let record = records[i]
        return try withArenaSlice(start: record.valueStart, count: record.valueCount, body)
    }

    /// Key bytes as an array (for tests and tools; allocates).
    package func key(_ i: Int) -> [UInt8]? { withKey(i) { $0.map { Array($0) } } }
    /// Value bytes as an array (for tests and tools; allocates).
    package func value(_ i: Int) -> [UInt8]? { withValue(i) { $0.map { Array($0) } } }

    private func withArenaSlice<R>(
        start: Int32, count: Int32,
        _ body: (UnsafeRawBufferPointer?) throws -> R
    ) rethrows -> R {
        if count < 0 { return try body(nil) }
        return try arena.withUnsafeBytes { bytes in
            try body(UnsafeRawBufferPointer(rebasing: bytes[Int(start)..<Int(start) + Int(count)]))
        }
    }

    /// Appends one record, copying its key and value into the arena.
    mutating func append(
        topicIndex: Int32, partition: Int32, offset: Int64, timestampMs: Int64,
        key: UnsafeRawPointer?, keyLength: Int, value: UnsafeRawPointer?, valueLength: Int
    ) {
        let keyStart = Int32(truncatingIfNeeded: arena.count)
        let keyCount: Int32
        if let key {
            arena.append(
                contentsOf: UnsafeBufferPointer(start: key.assumingMemoryBound(to: UInt8.self), count: keyLength))
            keyCount = Int32(truncatingIfNeeded: keyLength)
        } else {
            keyCount = -1
        }
        let valueStart = Int32(truncatingIfNeeded: arena.count)
        let valueCount: Int32
        if let value {
            arena.append(
                contentsOf: UnsafeBufferPointer(start: value.assumingMemoryBound(to: UInt8.self), count: valueLength))
            valueCount = Int32(truncatingIfNeeded: valueLength)
        } else {
            valueCount = -1
        }
        records.append(
            Record(
                topicIndex: topicIndex, partition: partition, offset: offset, timestampMs: timestampMs,
                keyStart: keyStart, keyCount: keyCount, valueStart: valueStart, valueCount: valueCount))
    }
}
