import CRdKafka
import Foundation
import Metrics
import Synchronization

/// `--lag-groups`: asks the cluster every few seconds, on its own thread, for the committed offsets
/// of the pipeline's OTHER consumer groups (one librdkafka consumer per group with that group.id,
/// that never subscribes nor commits: `rd_kafka_committed` only), the partitions' watermarks, and
/// the timestamp of the message at each committed offset (read by a separate probe consumer that
/// assigns that offset and never commits), so lag is shown in messages and in seconds.
public final class GroupLagMonitor: @unchecked Sendable {
    public let brokers: String
    public let everySeconds: Double
    /// Samples kept per partition for the verdict (the sliding window is about this × everySeconds).
    public static let windowSamples = 6
    private let groupNames: [String]
    private let groupPatterns: [NSRegularExpression]
    private let matcher: TopicMatcher
    private let properties: [String: String]
    private let latest = Mutex(GroupLagReport())
    private let worker = WarehouseWorkerThread(name: "cdctop-lag-groups")
    /// Held during a round and while the handles are destroyed: a round never uses a destroyed handle.
    private let roundLock = NSLock()

    // Owned by the worker thread.
    private var lookups: [String: OpaquePointer] = [:]
    private var probe: OpaquePointer?
    private var history: [String: [GroupLagSample]] = [:]

    /// `groups`: names, or regexes starting with ^ (matched against the cluster's group list).
    /// `topics`: the pipeline's topics (names or ^regexes), whose partitions are watched.
    public init(brokers: String, groups: [String], topics: [String], properties: [String: String] = [:],
                everySeconds: Double = 5) throws {
        guard !groups.isEmpty else {
            throw KafkaError(code: KafkaError.configurationCode, message: "--lag-groups: name at least one consumer group (e.g. --lag-groups jdbc-sink,spark)")
        }
        var names: [String] = [], patterns: [NSRegularExpression] = []
        for g in groups {
            if g.hasPrefix("^") {
                do { patterns.append(try NSRegularExpression(pattern: g)) } catch {
                    throw KafkaError(code: KafkaError.configurationCode, message: "--lag-groups: '\(g)' is not a valid regular expression")
                }
            } else { names.append(g) }
        }
        self.brokers = brokers; self.groupNames = names; self.groupPatterns = patterns
        self.matcher = try TopicMatcher(topics)
        self.properties = properties
        self.everySeconds = everySeconds
    }

    public func start() {
        worker.start { [weak self] in
            while let self, !self.worker.isStopping {
                self.round()
                self.worker.sleep(seconds: self.everySeconds)
            }
        }
    }

    public func stop() {
        worker.stop(waitSeconds: 30)
        roundLock.withLock {
            for (_, h) in lookups { rd_kafka_destroy(h) }
            lookups = [:]
            if let probe { rd_kafka_consumer_close(probe); rd_kafka_destroy(probe) }
            probe = nil
        }
    }

    public var report: GroupLagReport { latest.withLock { $0 } }

    /// Runs one round now on the caller's thread (tests), and returns what it found.
    @discardableResult
    public func pollNow() -> GroupLagReport {
        round()
        return report
    }

    private func makeConsumer(group: String) throws -> OpaquePointer {
        var list: [(String, String)] = [
            ("bootstrap.servers", brokers), ("group.id", group),
            ("enable.auto.commit", "false"), ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "true"), ("auto.offset.reset", "earliest"),
        ]
        list += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let configuration = try KafkaConfigurationHandle(list)
        return try configuration.makeClient(RD_KAFKA_CONSUMER, role: "lag-groups consumer")
    }

    private func round() {
        roundLock.lock()
        defer { roundLock.unlock() }
        let now = WallClock.nowMs()
        var report = GroupLagReport()
        report.checkedAtMs = now
        do {
            if probe == nil {
                // The probe's group is never joined nor committed to: it only reads one message per partition.
                probe = try makeConsumer(group: "cdctop-lag-probe-\(getpid())")
            }
            let probe = probe!
            let partitions = try listPartitions(probe)
            let listed = listGroups(probe)
            var groups = groupNames
            for (name, _) in listed.sorted(by: { $0.key < $1.key }) where !groups.contains(name) {
                let range = NSRange(name.startIndex..., in: name)
                if groupPatterns.contains(where: { $0.firstMatch(in: name, range: range) != nil }) { groups.append(name) }
            }
            var watermarks: [KafkaClientState.TopicPartition: (low: Int64, high: Int64)] = [:]
            for tp in partitions {
                var low: Int64 = -1, high: Int64 = -1
                if rd_kafka_query_watermark_offsets(probe, tp.topic, tp.partition, &low, &high, 5_000) == RD_KAFKA_RESP_ERR_NO_ERROR {
                    watermarks[tp] = (low, high)
                }
            }
            for group in groups {
                var summary = GroupLagSummary(group: group, verdict: .unknown, totalLag: 0, maxLagMs: 0,
                                              state: listed[group]?.state ?? "", members: listed[group]?.members ?? 0)
                do {
                    let committed = try committedOffsets(group: group, partitions: partitions)
                    let groupEmpty = listed[group].map { $0.members == 0 } ?? false
                    // A group reads the topics it committed offsets on; the others are not its lag.
                    let topicsRead = Set(committed.filter { $0.value >= 0 }.keys.map(\.topic))
                    let starts: [(KafkaClientState.TopicPartition, Int64)] = partitions.compactMap { tp in
                        guard topicsRead.contains(tp.topic), let w = watermarks[tp] else { return nil }
                        return (tp, max(committed[tp] ?? -1, w.low))
                    }
                    let fetched = probeFetch(starts, probe: probe)
                    var rows: [GroupPartitionLag] = []
                    for (tp, start) in starts {
                        // The end as a fetch reports it, when it is further than ListOffsets said (some
                        // Kafka-compatible brokers answer ListOffsets with a batch's base offset + 1).
                        let high = max(watermarks[tp]?.high ?? -1, fetched[tp]?.high ?? -1)
                        let lag = max(0, high - start)
                        var row = GroupPartitionLag(group: group, topic: tp.topic, partition: tp.partition, committed: committed[tp] ?? -1,
                                                    highWatermark: high, lag: lag, lagMs: 0, verdict: .unknown)
                        if lag > 0, let ts = fetched[tp]?.timestampMs, ts > 0 { row.lagMs = max(0, now - ts) }
                        rows.append(row)
                    }
                    for i in rows.indices {
                        let tp = KafkaClientState.TopicPartition(topic: rows[i].topic, partition: rows[i].partition)
                        let key = "\(group)\u{0}\(tp.topic)\u{0}\(tp.partition)"
                        var samples = history[key] ?? []
                        samples.append(GroupLagSample(atMs: now, committed: rows[i].committed, lag: rows[i].lag))
                        if samples.count > GroupLagMonitor.windowSamples { samples.removeFirst(samples.count - GroupLagMonitor.windowSamples) }
                        history[key] = samples
                        rows[i].verdict = GroupLagRules.verdict(samples, groupEmpty: groupEmpty)
                    }
                    summary.totalLag = rows.reduce(0) { $0 + $1.lag }
                    summary.maxLagMs = rows.map(\.lagMs).max() ?? 0
                    summary.verdict = rows.map(\.verdict).max(by: { $0.severity < $1.severity }) ?? .unknown
                    if rows.isEmpty { summary.error = "no committed offset on the watched topics" }
                    report.partitions += rows
                } catch {
                    summary.error = "\(error)"
                }
                report.groups.append(summary)
            }
        } catch {
            report.error = "\(error)"
        }
        report.partitions.sort { ($0.group, $0.topic, $0.partition) < ($1.group, $1.topic, $1.partition) }
        latest.withLock { $0 = report }
    }

    private func listPartitions(_ handle: OpaquePointer) throws -> [KafkaClientState.TopicPartition] {
        var metadata: UnsafePointer<rd_kafka_metadata_t>?
        let result = rd_kafka_metadata(handle, 1, nil, &metadata, 5_000)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code: result.rawValue, message: "listing topics on \(brokers): \(String(cString: rd_kafka_err2str(result)))")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var found: [KafkaClientState.TopicPartition] = []
        for t in 0 ..< Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[t]
            guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, let cName = topic.topic else { continue }
            let name = String(cString: cName)
            guard matcher.matches(name) else { continue }
            for p in 0 ..< Int(topic.partition_cnt) { found.append(.init(topic: name, partition: topic.partitions[p].id)) }
        }
        return found.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    /// Groups the cluster knows, with their state and member count (empty when the broker cannot list them).
    private func listGroups(_ handle: OpaquePointer) -> [String: (state: String, members: Int)] {
        var list: UnsafePointer<rd_kafka_group_list>?
        guard rd_kafka_list_groups(handle, nil, &list, 5_000) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [:] }
        defer { rd_kafka_group_list_destroy(list) }
        var out: [String: (String, Int)] = [:]
        for i in 0 ..< Int(list.pointee.group_cnt) {
            let g = list.pointee.groups[i]
            guard g.err == RD_KAFKA_RESP_ERR_NO_ERROR, let name = g.group else { continue }
            out[String(cString: name)] = (g.state.map { String(cString: $0) } ?? "", Int(g.member_cnt))
        }
        return out
    }

    private func committedOffsets(group: String, partitions: [KafkaClientState.TopicPartition]) throws -> [KafkaClientState.TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let handle: OpaquePointer
        if let h = lookups[group] { handle = h } else { handle = try makeConsumer(group: group); lookups[group] = handle }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in partitions { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition) }
        let result = rd_kafka_committed(handle, list, 5_000)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: result.rawValue, message: "committed offsets of group \(group): \(String(cString: rd_kafka_err2str(result)))")
        }
        var out: [KafkaClientState.TopicPartition: Int64] = [:]
        for i in 0 ..< Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            guard e.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            out[.init(topic: String(cString: e.topic), partition: e.partition)] = e.offset >= 0 ? e.offset : -1
        }
        return out
    }

    /// Reads, from each partition, the message at the given offset (its timestamp: how old the oldest
    /// unread message is) and the end of the partition as the fetch reports it; the probe assigns
    /// those offsets and never commits. Bounded at about 2 s per round.
    private func probeFetch(_ wanted: [(KafkaClientState.TopicPartition, Int64)],
                            probe: OpaquePointer) -> [KafkaClientState.TopicPartition: (timestampMs: Int64?, high: Int64)] {
        var out: [KafkaClientState.TopicPartition: (timestampMs: Int64?, high: Int64)] = [:]
        guard !wanted.isEmpty else { return out }
        let list = rd_kafka_topic_partition_list_new(Int32(wanted.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in wanted { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = offset }
        guard rd_kafka_assign(probe, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return out }
        defer { rd_kafka_assign(probe, nil) }
        var pending = Dictionary(wanted.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        let deadline = WallClock.nowMs() + 2_000
        while !pending.isEmpty && WallClock.nowMs() < deadline {
            guard let message = rd_kafka_consumer_poll(probe, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard let rkt = message.pointee.rkt else { continue }
            let tp = KafkaClientState.TopicPartition(topic: String(cString: rd_kafka_topic_name(rkt)), partition: message.pointee.partition)
            guard pending[tp] != nil else { continue }
            var timestamp: Int64? = nil
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                let ts = rd_kafka_message_timestamp(message, &type)
                timestamp = ts > 0 ? ts : nil
            } else if message.pointee.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                continue
            }
            var low: Int64 = -1, high: Int64 = -1
            rd_kafka_get_watermark_offsets(probe, tp.topic, tp.partition, &low, &high)
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { high = max(high, message.pointee.offset) }
            out[tp] = (timestamp, high)
            pending[tp] = nil
        }
        return out
    }

    /// Commits offsets for a group without joining it (what `kafka-consumer-groups --reset-offsets` does);
    /// for tests that play another consumer group.
    public static func commit(brokers: String, group: String, offsets: [(topic: String, partition: Int32, nextOffset: Int64)],
                              properties: [String: String] = [:]) throws {
        var list: [(String, String)] = [("bootstrap.servers", brokers), ("group.id", group), ("enable.auto.commit", "false")]
        list += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let handle = try KafkaConfigurationHandle(list).makeClient(RD_KAFKA_CONSUMER, role: "offset committer")
        defer { rd_kafka_destroy(handle) }
        let partitions = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(partitions) }
        for o in offsets { rd_kafka_topic_partition_list_add(partitions, o.topic, o.partition).pointee.offset = o.nextOffset }
        let result = rd_kafka_commit(handle, partitions, 0)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: result.rawValue, message: "committing offsets of group \(group): \(String(cString: rd_kafka_err2str(result)))")
        }
    }
}
