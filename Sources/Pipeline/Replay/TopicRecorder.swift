import CRdKafka
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

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
