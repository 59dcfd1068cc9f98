import CRdKafka
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes recordings in cdctop's binary-safe line form (see `RecordingReader`): one
/// `{"topic":…,"partition":…,"offset":…,"ts":…,"key_b64":…,"value_b64":…}` line per message, base64
/// of the exact bytes (null for a null key or a tombstone), and a `{"schema_id":N,"schema":"…"}` line
/// before the first message that uses schema id N. Buffered; `-` is standard output.
package final class RecordingWriter {
    package let path: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private var schemaIDs = Set<Int32>()
    package private(set) var messagesWritten: Int64 = 0
    package private(set) var schemasWritten = 0
    package private(set) var bytesWritten: Int64 = 0

    /// Creates (or truncates) `path`; `-` writes to standard output.
    package init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = STDOUT_FILENO
            ownsDescriptor = false
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw RecordingError(
                    file: path, line: 0,
                    reason:
                        "cannot create the recording: \(String(cString: strerror(errno))); check the folder exists and is writable"
                )
            }
            ownsDescriptor = true
        }
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        try? flush()
        if ownsDescriptor { close(fd) }
    }

    /// True once the schema line of `id` was written.
    package func hasSchema(id: Int32) -> Bool { schemaIDs.contains(id) }

    /// `{"schema_id":N,"schema":"…"}` (with `"schema_type"` unless AVRO), once per id.
    package func writeSchema(id: Int32, schemaType: String = "AVRO", text: String) throws {
        guard schemaIDs.insert(id).inserted else { return }
        buffer.appendASCII(#"{"schema_id":"#)
        buffer.appendDecimal(Int64(id))
        if schemaType != "AVRO" {
            buffer.appendASCII(#","schema_type":"#)
            buffer.appendJSONString(schemaType)
        }
        buffer.appendASCII(#","schema":"#)
        buffer.appendJSONString(text)
        buffer.appendASCII("}\n")
        schemasWritten += 1
        try flushIfFull()
    }

    /// One message. `topicJSON` is the topic as a quoted JSON string (see `quotedTopic`).
    package func writeMessage(
        topicJSON: [UInt8], partition: Int32, offset: Int64, timestampMs: Int64,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?
    ) throws {
        buffer.appendASCII(#"{"topic":"#)
        buffer.append(contentsOf: topicJSON)
        buffer.appendASCII(#","partition":"#)
        buffer.appendDecimal(Int64(partition))
        buffer.appendASCII(#","offset":"#)
        buffer.appendDecimal(offset)
        buffer.appendASCII(#","ts":"#)
        buffer.appendDecimal(timestampMs)
        buffer.appendASCII(#","key_b64":"#)
        appendBase64String(key)
        buffer.appendASCII(#","value_b64":"#)
        appendBase64String(value)
        buffer.appendASCII("}\n")
        messagesWritten += 1
        try flushIfFull()
    }

    package func writeMessage(
        topic: String, partition: Int32, offset: Int64, timestampMs: Int64, key: [UInt8]?, value: [UInt8]?
    ) throws {
        func withOptional<R>(_ a: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
            guard let a else { return try body(nil) }
            return try a.withUnsafeBytes { try body($0) }
        }
        try withOptional(key) { k in
            try withOptional(value) { v in
                try writeMessage(
                    topicJSON: RecordingWriter.quotedTopic(topic), partition: partition, offset: offset,
                    timestampMs: timestampMs, key: k, value: v)
            }
        }
    }

    /// A topic name as the JSON string a line carries (computed once per topic by callers).
    package static func quotedTopic(_ topic: String) -> [UInt8] {
        var out: [UInt8] = []
        out.appendJSONString(topic)
        return out
    }

    private func appendBase64String(_ bytes: UnsafeRawBufferPointer?) {
        guard let bytes else {
            buffer.appendASCII("null")
            return
        }
        buffer.append(UInt8(ascii: "\""))
        JSONBytes.appendBase64(bytes, to: &buffer)
        buffer.append(UInt8(ascii: "\""))
    }

    private func flushIfFull() throws { if buffer.count >= 1 << 20 { try flush() } }

    /// Writes out what is buffered (the file then holds whole lines only).
    package func flush() throws {
        var at = 0
        try buffer.withUnsafeBytes { all in
            while at < all.count {
                let n = write(fd, all.baseAddress! + at, all.count - at)
                if n > 0 {
                    at += n
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                throw RecordingError(
                    file: path, line: 0, reason: "cannot write the recording: \(String(cString: strerror(errno)))")
            }
        }
        bytesWritten += Int64(at)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// What `cdctop record` reads and when it stops.
package struct RecordOptions: Sendable {
    package var consumer: KafkaConsumerConfig
    /// Every message the partitions still hold; false: only messages that arrive after the start
    /// (as kafka-console-consumer without --from-beginning).
    package var fromBeginning = false
    /// Stop once every partition reached its end (partition EOF after its last message).
    package var untilEnd = false
    /// Stop after this many messages.
    package var maxMessages: Int64?
    /// With `untilEnd`: give up when no partition of the topics is found within this time.
    package var assignmentTimeoutMs = 60_000
    /// How long a schema id is retried while the registry does not answer before the recording goes
    /// on without that schema (the message itself is always written).
    package var schemaWaitSeconds = 10.0

    package init(consumer: KafkaConsumerConfig) { self.consumer = consumer }
}

/// Where a recording stands.
package struct RecordProgress: Sendable {
    package var messages: Int64 = 0
    package var bytesWritten: Int64 = 0
    package var schemas = 0
    package var partitions = 0
    /// Schema ids whose schema could not be fetched, with the registry's answer: such a recording
    /// needs `--schema-registry` or `--schemas` to replay.
    package var missingSchemas: [Int32: String] = [:]
    /// Every partition reached its end (with `untilEnd`).
    package var reachedEnd = false
}

/// `cdctop record`: reads topics with the project's consumer (every partition, no group split,
/// nothing committed) and writes each message, byte for byte, in the binary-safe form. With a
/// registry, the schema of each Confluent-framed key and value id is embedded once, before the first
/// message that uses it, so the recording replays without the registry.
package final class TopicRecorder {
    package let options: RecordOptions
    package let writer: RecordingWriter
    package let registry: SchemaRegistryClient?
    /// Warnings (a schema that could not be fetched) as they happen.
    package var onNote: (String) -> Void = { _ in }
    private var progress = RecordProgress()

    package init(options: RecordOptions, writer: RecordingWriter, registry: SchemaRegistryClient?) {
        self.options = options
        self.writer = writer
        self.registry = registry
    }

    private struct PartitionID: Hashable {
        var topic: String
        var partition: Int32
    }

    /// Records until `shouldStop()`, `maxMessages` or (with `untilEnd`) the end of every partition;
    /// `onProgress` is called about once a second. The writer is flushed before it returns.
    package func run(shouldStop: () -> Bool, onProgress: (RecordProgress) -> Void = { _ in }) throws -> RecordProgress {
        var starts: [(topic: String, partition: Int32, nextOffset: Int64)] = []
        if !options.fromBeginning {
            // The partitions that exist now start at their end; topics created later are read whole (all new).
            let found = try kafkaTopicPartitions(
                brokers: options.consumer.brokers, topics: options.consumer.topics,
                properties: options.consumer.properties, timeoutMs: 10_000)
            for (topic, count) in found {
                for p in 0..<count { starts.append((topic, p, Int64(RD_KAFKA_OFFSET_END))) }
            }
        }
        let consumer = try KafkaConsumer(config: options.consumer, startOffsets: starts)
        defer { consumer.close() }
        var batch = MessageBatch()
        var topicJSON: [[UInt8]] = []
        var atEnd = Set<PartitionID>()
        var nextOffset: [PartitionID: Int64] = [:]
        let startMs = WallClock.nowMs()
        var lastFlushMs = startMs
        var lastProgressMs = startMs
        var done = false
        while !done && !shouldStop() {
            if let max = options.maxMessages, progress.messages >= max { break }
            try consumer.poll(into: &batch, maxMessages: 5_000, timeoutMs: 100)
            while topicJSON.count < batch.topics.count {
                topicJSON.append(RecordingWriter.quotedTopic(batch.topics[topicJSON.count]))
            }
            var run: PartitionID?
            for i in batch.records.indices {
                if let max = options.maxMessages, progress.messages >= max {
                    done = true
                    break
                }
                let r = batch.records[i]
                try batch.withKey(i) { key in
                    try batch.withValue(i) { value in
                        if registry != nil {
                            try embedSchema(of: key, shouldStop: shouldStop)
                            try embedSchema(of: value, shouldStop: shouldStop)
                        }
                        try writer.writeMessage(
                            topicJSON: topicJSON[Int(r.topicIndex)], partition: r.partition, offset: r.offset,
                            timestampMs: r.timestampMs, key: key, value: value)
                    }
                }
                progress.messages += 1
                // Fetches come in runs of one partition: bookkeeping per run.
                if run?.partition != r.partition || run?.topic != batch.topics[Int(r.topicIndex)] {
                    run = PartitionID(topic: batch.topics[Int(r.topicIndex)], partition: r.partition)
                    atEnd.remove(run!)
                }
                nextOffset[run!] = r.offset + 1
            }
            for eof in batch.partitionEOFs where eof.topicIndex >= 0 {
                let id = PartitionID(topic: batch.topics[Int(eof.topicIndex)], partition: eof.partition)
                // An EOF older than records of the same batch is stale.
                if eof.offset >= nextOffset[id, default: 0] { atEnd.insert(id) }
            }
            let now = WallClock.nowMs()
            if options.untilEnd {
                let assigned = consumer.partitionStates()
                progress.partitions = assigned.count
                if !assigned.isEmpty
                    && assigned.allSatisfy({ atEnd.contains(PartitionID(topic: $0.topic, partition: $0.partition)) })
                {
                    progress.reachedEnd = true
                    done = true
                } else if assigned.isEmpty && now - startMs > Int64(options.assignmentTimeoutMs) {
                    throw KafkaError(
                        code: .noPartitions,
                        message:
                            "no partition of \(options.consumer.topics.joined(separator: ",")) was found within \(options.assignmentTimeoutMs / 1000) s: check --topics and --brokers"
                            + (consumer.metadataError.map { " (\($0))" } ?? ""))
                }
            }
            // Whole lines reach the file a few times a second, so it can be followed while recording.
            if now - lastFlushMs >= 200 {
                try writer.flush()
                lastFlushMs = now
            }
            if now - lastProgressMs >= 1_000 {
                lastProgressMs = now
                if !options.untilEnd { progress.partitions = consumer.partitionStates().count }
                progress.bytesWritten = writer.bytesWritten
                progress.schemas = writer.schemasWritten
                onProgress(progress)
            }
        }
        try writer.flush()
        progress.bytesWritten = writer.bytesWritten
        progress.schemas = writer.schemasWritten
        if !options.untilEnd { progress.partitions = consumer.partitionStates().count }
        return progress
    }

    /// Writes the schema line of a Confluent-framed key or value the first time its id is seen.
    private func embedSchema(of bytes: UnsafeRawBufferPointer?, shouldStop: () -> Bool) throws {
        guard let registry, let bytes, let id = AvroWire.schemaID(bytes) else { return }
        guard !writer.hasSchema(id: id), progress.missingSchemas[id] == nil else { return }
        let deadline = WallClock.monotonicSeconds() + options.schemaWaitSeconds
        var pause = 0.2
        while true {
            do {
                let schema = try registry.fetch(id: id)
                try writer.writeSchema(id: id, schemaType: schema.schemaType, text: schema.text)
                return
            } catch let error as SchemaRegistryError {
                if shouldStop() || WallClock.monotonicSeconds() + pause > deadline {
                    progress.missingSchemas[id] = error.message
                    onNote(
                        "schema id \(id) could not be fetched (\(error.message)): the recording goes on without it; "
                            + "replay it with --schema-registry URL or --schemas DIR")
                    return
                }
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 2)
            }
        }
    }
}
