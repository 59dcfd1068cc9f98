import Foundation
import Metrics

/// The first messages of each topic, read from the earliest offset (`cdctop profile init/check`).
package struct MessageSample: Sendable {
    package var messages: [OwnedMessage] = []
    /// Topics in the order first seen in recordings; sorted by name when read from Kafka.
    package var topics: [String] = []
    /// Topics read to their end before the per-topic limit: the sample holds every row they carry.
    package var completeTopics: Set<String> = []
    /// Where the messages came from, for the report ("recording x.jsonl", "brokers h:9092").
    package var source: String = ""
    /// Things worth saying about the reading itself (a timeout, topics skipped).
    package var notes: [String] = []
    package var perTopicLimit: Int = 0
    /// Schemas of the Confluent-framed (Avro) keys and values, by schema id (`resolveSchemas`).
    package var schemas: [Int32: RegisteredSchema] = [:]
    package init() {}

    package func count(ofTopic topic: String) -> Int { messages.reduce(0) { $0 + ($1.topic == topic ? 1 : 0) } }
}

package struct SamplingError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Reads a bounded sample of messages per topic, from recordings or from Kafka.
package enum ProfileSampler {
    /// Messages of recordings (kcat -J, kcat's tab form, or cdctop's own lines), at most `perTopic`
    /// per topic, in file order. `topics` (names, or regexes starting with ^) narrows them; nil keeps all.
    package static func fromRecordings(_ paths: [String], topics: [String]?, perTopic: Int) throws -> MessageSample {
        let matcher = try topics.map { try TopicMatcher($0) }
        var sample = MessageSample()
        sample.perTopicLimit = perTopic
        sample.source = (paths.count == 1 ? "recording " : "recordings ") + paths.joined(separator: ", ")
        var counts: [String: Int] = [:]
        var truncated = Set<String>()
        var skipped = Set<String>()
        for path in paths {
            let scanner: RecordingScanner
            do { scanner = try RecordingScanner(path: path, chunkSize: 1 << 20) } catch let e as RecordingError {
                throw SamplingError(e.description)
            }
            let batch = scanner.makeBatch()
            var names: [String] = []
            do {
                while try scanner.fill(batch) {
                    names += batch.newTopics
                    // Schema lines (`cdctop record` of Avro topics): the recording decodes without a registry.
                    for line in batch.schemas {
                        if let known = sample.schemas[line.id],
                            known.text != line.text || known.schemaType != line.schemaType
                        {
                            throw SamplingError(
                                "\(path):\(line.line): schema id \(line.id) is defined again with a different schema: "
                                    + "these recordings come from different schema registries; sample them one at a time"
                            )
                        }
                        sample.schemas[line.id] = RegisteredSchema(
                            id: line.id, schemaType: line.schemaType, text: line.text, subjects: [])
                    }
                    for e in batch.entries {
                        let topic = names[Int(e.topic)]
                        if let matcher, !matcher.matches(topic) {
                            skipped.insert(topic)
                            continue
                        }
                        let n = counts[topic, default: 0]
                        if n == 0 { sample.topics.append(topic) }
                        if n >= perTopic {
                            truncated.insert(topic)
                            continue
                        }
                        counts[topic] = n + 1
                        sample.messages.append(
                            OwnedMessage(
                                topic: topic, partition: e.partition, offset: e.offset, timestampMs: e.timestampMs,
                                key: batch.key(e).map { Array($0) }, value: batch.value(e).map { Array($0) }))
                    }
                }
            } catch let e as RecordingError { throw SamplingError(e.description) }
        }
        sample.completeTopics = Set(sample.topics).subtracting(truncated)
        if !skipped.isEmpty {
            sample.notes.append("\(skipped.count) topic(s) of the recording not matched by --topics were left out")
        }
        return sample
    }

    /// Messages of the matched topics from their earliest offsets, at most `perTopic` per topic: a
    /// throwaway consumer group that commits nothing; stops once every partition reached its end (or
    /// its topic has enough), or after `timeoutSeconds` (the sample is then what was read, with a note).
    package static func fromKafka(
        brokers: String, topics: [String], properties: [String: String], perTopic: Int,
        timeoutSeconds: Double
    ) throws -> MessageSample {
        var props = properties
        props["enable.auto.commit"] = "false"
        if props["session.timeout.ms"] == nil { props["session.timeout.ms"] = "6000" }
        let group = "cdctop-profile-\(getpid())-\(Int(Date().timeIntervalSince1970))"
        let consumer: KafkaConsumer
        do {
            var config = KafkaConsumerConfig(brokers: brokers, groupID: group, topics: topics, properties: props)
            config.metadataRefreshMs = 500
            config.committedQueryIntervalMs = 3_600_000
            consumer = try KafkaConsumer(config: config)
        } catch { throw SamplingError("\(error)") }
        defer { consumer.close() }
        var sample = MessageSample()
        sample.perTopicLimit = perTopic
        sample.source = "brokers \(brokers)"
        var counts: [String: Int] = [:]
        var next: [String: Int64] = [:]
        var atEnd = Set<String>()
        var truncated = Set<String>()
        var batch = MessageBatch()
        let start = WallClock.monotonicSeconds()
        func id(_ topic: String, _ p: Int32) -> String { "\(topic)\u{1F}\(p)" }
        while true {
            do { try consumer.poll(into: &batch, maxMessages: 5_000, timeoutMs: 200) } catch {
                throw SamplingError("\(error)")
            }
            for i in batch.records.indices {
                let r = batch.records[i]
                let topic = batch.topics[Int(r.topicIndex)]
                let pid = id(topic, r.partition)
                next[pid] = r.offset + 1
                atEnd.remove(pid)
                let n = counts[topic, default: 0]
                if n == 0 && !sample.topics.contains(topic) { sample.topics.append(topic) }
                if n >= perTopic {
                    truncated.insert(topic)
                    continue
                }
                counts[topic] = n + 1
                sample.messages.append(
                    OwnedMessage(
                        topic: topic, partition: r.partition, offset: r.offset, timestampMs: r.timestampMs,
                        key: batch.key(i), value: batch.value(i)))
            }
            for eof in batch.partitionEOFs {
                let topic = batch.topics[Int(eof.topicIndex)]
                let pid = id(topic, eof.partition)
                if eof.offset >= next[pid, default: 0] { atEnd.insert(pid) }
            }
            let assigned = consumer.partitionStates()
            if !assigned.isEmpty
                && assigned.allSatisfy({
                    atEnd.contains(id($0.topic, $0.partition)) || counts[$0.topic, default: 0] >= perTopic
                })
            {
                for p in assigned where !sample.topics.contains(p.topic) { sample.topics.append(p.topic) }
                break
            }
            if WallClock.monotonicSeconds() - start >= timeoutSeconds {
                if assigned.isEmpty {
                    let why = consumer.metadataError ?? consumer.lastError
                    throw SamplingError(
                        "no partition of \(topics.joined(separator: ",")) found on \(brokers) within \(Int(timeoutSeconds)) s"
                            + (why.map { " (\($0))" } ?? "") + ": check --brokers and --topics (a regex starts with ^)")
                }
                let open = assigned.filter {
                    !atEnd.contains(id($0.topic, $0.partition)) && counts[$0.topic, default: 0] < perTopic
                }
                sample.notes.append(
                    "stopped after \(Int(timeoutSeconds)) s (--timeout) with \(open.count) partition(s) not read to their end: the sample is partial"
                )
                for p in open { truncated.insert(p.topic) }
                for p in assigned where !sample.topics.contains(p.topic) { sample.topics.append(p.topic) }
                break
            }
        }
        sample.completeTopics = Set(sample.topics).subtracting(truncated)
        // Which topic a consumer fetches first varies from run to run: sorted, reports compare.
        sample.topics.sort()
        return sample
    }
}
