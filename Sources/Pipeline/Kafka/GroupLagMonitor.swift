import CRdKafka
import Foundation
import Metrics
import Synchronization

/// `--lag-groups`: asks the cluster every few seconds, on its own thread, for the committed offsets
/// of the pipeline's OTHER consumer groups (at most `maxGroups`; one librdkafka consumer per group with that group.id,
/// that never subscribes nor commits: `rd_kafka_committed` only), the partitions' watermarks, and
/// the timestamp of the message at each committed offset (read by a separate probe consumer that
/// assigns that offset and never commits), so lag is shown in messages and in seconds.
package final class GroupLagMonitor: Sendable {
    package let brokers: String
    package let everySeconds: Double
    /// The verdict's sliding window: a committed offset that did not move is only STALLED or STOPPED
    /// after this long. At least 120 s (and 6 queries): Kafka Connect commits a sink's offsets every
    /// 60 s (offset.flush.interval.ms), so a shorter window calls a healthy sink stuck half the time.
    package let windowMs: Int64
    package static let defaultWindowSeconds: Double = 120
    /// The verdict rules: cdctop's own (`LagRules`), with this window.
    package let rules: LagRules
    /// At most this many groups are watched (each costs a librdkafka handle, its threads and sockets,
    /// and Prometheus series); a regex matching more is cut here, in name order, and the rest counted.
    package static let maxGroups = 50
    /// A whole round (every group) gives up after this long, so a slow or unreachable broker neither
    /// piles up rounds nor holds a quit for minutes; the groups not asked are reported as errors.
    package static let roundBudgetMs: Int64 = 60_000
    private let groupNames: [String]
    /// The `^regex` entries of `--lag-groups`, matched against the cluster's group list.
    private let groupPatterns: TopicMatcher
    private let matcher: TopicMatcher
    private let properties: [String: String]
    private let latest = Mutex(GroupLagReport())
    private let worker = WorkerThread(name: "cdctop-lag-groups")
    /// Held for a whole round (the worker's, or `pollNow`'s): what one round leaves for the next.
    private let rounds = Mutex(RoundState())

    private struct RoundState {
        var lookups: [String: KafkaClient] = [:]
        var probe: KafkaClient?
        /// Lag samples over the verdict's window, by group and partition.
        var history: [String: [KafkaClientState.TopicPartition: [GroupLagSample]]] = [:]
        /// Groups the regexes matched at the last successful listing, in name order.
        var matchedByPattern: [String] = []
        /// The unwatched count last logged (logged again only when it changes).
        var loggedUnwatched = 0

        /// Leaves the probe's (never joined) group and frees every handle.
        mutating func releaseClients() {
            lookups = [:]
            probe?.withHandle { _ = rd_kafka_consumer_close($0) }
            probe = nil
        }
    }

    /// `groups`: names, or regexes starting with ^ (matched against the cluster's group list); a name
    /// given twice is watched once. `topics`: the pipeline's topics (names or ^regexes), whose partitions
    /// are watched. `windowSeconds`: the verdict's window (see `windowMs`; tests shorten it). `thresholds`:
    /// LAGGING's messages, seconds and samples, the same as cdctop's own (the profile's `[lag]`).
    package init(
        brokers: String, groups: [String], topics: [String], properties: [String: String] = [:],
        everySeconds: Double = 5, windowSeconds: Double = GroupLagMonitor.defaultWindowSeconds,
        thresholds: LagThresholds = LagThresholds()
    ) throws {
        guard !groups.isEmpty else {
            throw KafkaError(
                code: .configuration,
                message: "--lag-groups: name at least one consumer group (e.g. --lag-groups jdbc-sink,spark)")
        }
        var names: [String] = []
        for g in groups where !g.hasPrefix("^") && !names.contains(g) { names.append(g) }
        self.groupPatterns = try TopicMatcher(
            groups.filter { $0.hasPrefix("^") },
            invalidPattern: { "--lag-groups: '\($0)' is not a valid regular expression" })
        self.brokers = brokers
        self.groupNames = names
        self.matcher = try TopicMatcher(topics)
        self.properties = properties
        self.everySeconds = everySeconds
        self.windowMs = Int64((max(windowSeconds, 6 * everySeconds) * 1000).rounded())
        self.rules = LagRules.otherGroup(thresholds, windowMs: windowMs)
    }

    package func start() {
        worker.start { [weak self, worker, everySeconds] in
            while !worker.isStopping {
                // The monitor is held only during a round, never while sleeping: dropping it ends the thread.
                do {
                    guard let monitor = self else { return }
                    monitor.round()
                }
                worker.sleep(seconds: everySeconds)
            }
        }
    }

    /// A round in progress notices the stop between two broker calls (each bounded at 5 s).
    package func stop() {
        worker.stop(waitSeconds: 8)
        // A round still running frees the handles itself when it ends (it sees the stop).
        _ = rounds.withLockIfAvailable { $0.releaseClients() }
    }

    /// No round runs here (a round holds the monitor): stop the thread without waiting for it (this may
    /// be the thread itself, which exits at its next check) and free the handles.
    deinit {
        worker.stop(waitSeconds: 0)
        rounds.withLock { $0.releaseClients() }
    }

    package var report: GroupLagReport { latest.withLock { $0 } }

    /// Runs one round now on the caller's thread (tests), and returns what it found.
    @discardableResult
    package func pollNow() -> GroupLagReport {
        round()
        return report
    }

    /// The settings of a monitor consumer, applied in order (a later key wins): the user's `-X`
    /// properties first (security, timeouts), then the keys that keep the monitor read-only and
    /// working, which `-X` must not change (`-X group.id=…` or `enable.auto.commit=true` would otherwise
    /// make the probe commit its positions into a real group).
    static func consumerSettings(brokers: String, group: String, properties: [String: String]) -> [(String, String)] {
        [("bootstrap.servers", brokers)]
            + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            + [
                ("group.id", group), ("enable.auto.commit", "false"), ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "true"), ("auto.offset.reset", "earliest"),
            ]
    }

    private func makeConsumer(group: String) throws -> KafkaClient {
        let configuration = try KafkaConfigurationHandle(
            Self.consumerSettings(brokers: brokers, group: group, properties: properties))
        return try KafkaClient(configuration, type: RD_KAFKA_CONSUMER, role: "lag-groups consumer")
    }

    /// Milliseconds a broker call may take now: at most 5 s, never past the round's deadline.
    private func callTimeout(_ deadlineMs: Int64) -> Int32 {
        Int32(clamping: max(1, min(5_000, deadlineMs - WallClock.nowMs())))
    }

    /// The round must end now: the monitor stops, or the round used its budget.
    private func mustEndRound(_ deadlineMs: Int64) -> Bool { worker.isStopping || WallClock.nowMs() >= deadlineMs }

    private func round() {
        rounds.withLock { round(&$0) }
    }

    private func round(_ r: inout RoundState) {
        // After stop() the handles go with the round that was still running when it came.
        defer { if worker.isStopping { r.releaseClients() } }
        let now = WallClock.nowMs()
        let deadline = now + Self.roundBudgetMs
        var report = GroupLagReport()
        report.checkedAtMs = now
        do {
            if r.probe == nil {
                // The probe's group is never joined nor committed to: it only reads one message per partition.
                r.probe = try makeConsumer(group: "cdctop-lag-probe-\(getpid())")
            }
            let probe = r.probe!
            let partitions = try listPartitions(probe, timeoutMs: callTimeout(deadline))
            let listing = mustEndRound(deadline) ? nil : listGroups(probe, timeoutMs: callTimeout(deadline))
            let listed = listing ?? [:]
            if let listing {
                r.matchedByPattern = listing.keys.sorted().filter { groupPatterns.matches($0) }
            }
            // A failed listing keeps the groups the regexes matched last time (and their history).
            var groups = groupNames
            for name in r.matchedByPattern where !groups.contains(name) { groups.append(name) }
            if groups.count > Self.maxGroups {
                report.unwatchedGroups = groups.count - Self.maxGroups
                groups.removeLast(groups.count - Self.maxGroups)
            }
            if report.unwatchedGroups != r.loggedUnwatched {
                r.loggedUnwatched = report.unwatchedGroups
                if r.loggedUnwatched > 0 {
                    FileHandle.standardError.write(
                        Data(
                            "cdctop: --lag-groups matches \(r.loggedUnwatched) more groups than the \(Self.maxGroups) watched (the first \(Self.maxGroups) by name); narrow the regex to choose\n"
                                .utf8))
                }
            }
            forget(allBut: Set(groups), in: &r)
            var watermarks: [KafkaClientState.TopicPartition: (low: Int64, high: Int64)] = [:]
            for tp in partitions {
                if mustEndRound(deadline) { break }
                var low: Int64 = -1
                var high: Int64 = -1
                let timeoutMs = callTimeout(deadline)
                if probe.withHandle({
                    rd_kafka_query_watermark_offsets($0, tp.topic, tp.partition, &low, &high, timeoutMs)
                }) == RD_KAFKA_RESP_ERR_NO_ERROR {
                    watermarks[tp] = (low, high)
                }
            }
            for group in groups {
                var summary = GroupLagSummary(
                    group: group, verdict: .unknown, totalLag: 0, maxLagMs: 0,
                    state: listed[group]?.state ?? "", members: listed[group]?.members ?? 0)
                if worker.isStopping { return }
                if WallClock.nowMs() >= deadline {
                    // Not asked this round: an error, so its alert holds rather than resolves.
                    summary.error =
                        "not asked: this round ran out of its \(Self.roundBudgetMs / 1000) s (is the broker slow or unreachable?)"
                    report.groups.append(summary)
                    continue
                }
                do {
                    let committed = try committedOffsets(
                        group: group, partitions: partitions, timeoutMs: callTimeout(deadline),
                        lookups: &r.lookups)
                    let groupEmpty = listed[group].map { $0.members == 0 } ?? false
                    // A group reads the topics it committed offsets on; the others are not its lag.
                    let topicsRead = Set(committed.filter { $0.value >= 0 }.keys.map(\.topic))
                    let starts: [(KafkaClientState.TopicPartition, Int64)] = partitions.compactMap { tp in
                        guard topicsRead.contains(tp.topic), let w = watermarks[tp] else { return nil }
                        return (tp, max(committed[tp] ?? -1, w.low))
                    }
                    let fetched = probeFetch(starts, probe: probe, deadlineMs: deadline)
                    var rows: [GroupPartitionLag] = []
                    for (tp, _) in starts {
                        // The end as a fetch reports it, when it is further than ListOffsets said (some
                        // Kafka-compatible brokers answer ListOffsets with a batch's base offset + 1).
                        let high = max(watermarks[tp]?.high ?? -1, fetched[tp]?.high ?? -1)
                        let logStart = watermarks[tp]?.low ?? -1
                        let (lag, deletedUnread) = GroupPartitionLag.lag(
                            committed: committed[tp] ?? -1, logStart: logStart, end: high)
                        var row = GroupPartitionLag(
                            group: group, topic: tp.topic, partition: tp.partition, committed: committed[tp] ?? -1,
                            highWatermark: high, lag: lag, lagMs: 0, verdict: .unknown,
                            logStart: logStart, deletedUnread: deletedUnread)
                        if lag > 0, let ts = fetched[tp]?.timestampMs, ts > 0 { row.lagMs = max(0, now - ts) }
                        var samples = r.history[group]?[tp] ?? []
                        GroupLagRules.append(
                            GroupLagSample(atMs: now, committed: row.committed, lag: row.lag, lagMs: row.lagMs),
                            to: &samples, windowMs: windowMs)
                        r.history[group, default: [:]][tp] = samples
                        row.verdict = rules.verdict(samples, groupEmpty: groupEmpty)
                        rows.append(row)
                    }
                    summary.totalLag = rows.reduce(0) { $0 + $1.lag }
                    summary.deletedUnread = rows.reduce(0) { $0 + $1.deletedUnread }
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

    /// Frees the handle and the history of every group no longer selected (a regex's group that went away,
    /// or one cut by `maxGroups`): neither handles nor samples pile up over a long run.
    private func forget(allBut selected: Set<String>, in r: inout RoundState) {
        r.lookups = r.lookups.filter { selected.contains($0.key) }
        r.history = r.history.filter { selected.contains($0.key) }
    }

    /// Consumer handles held for other groups' committed offsets (for tests: bounded by `maxGroups`).
    var lookupHandleCount: Int { rounds.withLock { $0.lookups.count } }

    private func listPartitions(_ client: KafkaClient, timeoutMs: Int32) throws -> [KafkaClientState.TopicPartition] {
        switch matchingPartitions(client, matcher: matcher, timeoutMs: timeoutMs) {
        case .success(let partitions): return partitions
        case .failure(var error):
            error.message = "\(error.message) on \(brokers)"
            throw error
        }
    }

    /// Groups the cluster knows, with their state and member count (nil when the broker cannot list them).
    private func listGroups(_ client: KafkaClient, timeoutMs: Int32) -> [String: (state: String, members: Int)]? {
        var list: UnsafePointer<rd_kafka_group_list>?
        guard client.withHandle({ rd_kafka_list_groups($0, nil, &list, timeoutMs) }) == RD_KAFKA_RESP_ERR_NO_ERROR,
            let list
        else { return nil }
        defer { rd_kafka_group_list_destroy(list) }
        var out: [String: (String, Int)] = [:]
        for i in 0..<Int(list.pointee.group_cnt) {
            let g = list.pointee.groups[i]
            guard g.err == RD_KAFKA_RESP_ERR_NO_ERROR, let name = g.group else { continue }
            out[String(cString: name)] = (g.state.map { String(cString: $0) } ?? "", Int(g.member_cnt))
        }
        return out
    }

    private func committedOffsets(
        group: String, partitions: [KafkaClientState.TopicPartition],
        timeoutMs: Int32, lookups: inout [String: KafkaClient]
    ) throws -> [KafkaClientState.TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let client: KafkaClient
        if let existing = lookups[group] {
            client = existing
        } else {
            client = try makeConsumer(group: group)
            lookups[group] = client
        }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in partitions { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition) }
        let result = client.withHandle { rd_kafka_committed($0, list, timeoutMs) }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(
                code: .init(result),
                message: "committed offsets of group \(group): \(String(cString: rd_kafka_err2str(result)))")
        }
        var out: [KafkaClientState.TopicPartition: Int64] = [:]
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            guard e.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            out[.init(topic: String(cString: e.topic), partition: e.partition)] = e.offset >= 0 ? e.offset : -1
        }
        return out
    }

    /// Reads, from each partition, the message at the given offset (its timestamp: how old the oldest
    /// unread message is) and the end of the partition as the fetch reports it; the probe assigns
    /// those offsets and never commits. Bounded at about 2 s per group, and by the round's deadline.
    private func probeFetch(
        _ wanted: [(KafkaClientState.TopicPartition, Int64)], probe client: KafkaClient,
        deadlineMs: Int64
    ) -> [KafkaClientState.TopicPartition: (timestampMs: Int64?, high: Int64)] {
        client.withHandle { probeFetch(wanted, probe: $0, deadlineMs: deadlineMs) }
    }

    private func probeFetch(
        _ wanted: [(KafkaClientState.TopicPartition, Int64)], probe: OpaquePointer,
        deadlineMs: Int64
    ) -> [KafkaClientState.TopicPartition: (timestampMs: Int64?, high: Int64)] {
        var out: [KafkaClientState.TopicPartition: (timestampMs: Int64?, high: Int64)] = [:]
        guard !wanted.isEmpty else { return out }
        let list = rd_kafka_topic_partition_list_new(Int32(wanted.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in wanted {
            rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = offset
        }
        guard rd_kafka_assign(probe, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return out }
        defer { rd_kafka_assign(probe, nil) }
        var pending = Dictionary(wanted.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        let deadline = min(deadlineMs, WallClock.nowMs() + 2_000)
        while !pending.isEmpty && WallClock.nowMs() < deadline && !worker.isStopping {
            guard let message = rd_kafka_consumer_poll(probe, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard let rkt = message.pointee.rkt else { continue }
            let tp = KafkaClientState.TopicPartition(
                topic: String(cString: rd_kafka_topic_name(rkt)), partition: message.pointee.partition)
            guard pending[tp] != nil else { continue }
            var timestamp: Int64? = nil
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                let ts = rd_kafka_message_timestamp(message, &type)
                timestamp = ts > 0 ? ts : nil
            } else if message.pointee.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                continue
            }
            var low: Int64 = -1
            var high: Int64 = -1
            rd_kafka_get_watermark_offsets(probe, tp.topic, tp.partition, &low, &high)
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { high = max(high, message.pointee.offset) }
            out[tp] = (timestamp, high)
            pending[tp] = nil
        }
        return out
    }

    /// Commits offsets for a group without joining it (what `kafka-consumer-groups --reset-offsets` does);
    /// for tests that play another consumer group.
    package static func commit(
        brokers: String, group: String, offsets: [(topic: String, partition: Int32, nextOffset: Int64)],
        properties: [String: String] = [:]
    ) throws {
        let list =
            [("bootstrap.servers", brokers)] + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            + [("group.id", group), ("enable.auto.commit", "false")]
        let client = try KafkaClient(KafkaConfigurationHandle(list), type: RD_KAFKA_CONSUMER, role: "offset committer")
        let partitions = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(partitions) }
        for o in offsets {
            rd_kafka_topic_partition_list_add(partitions, o.topic, o.partition).pointee.offset = o.nextOffset
        }
        let result = client.withHandle { rd_kafka_commit($0, partitions, 0) }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(
                code: .init(result),
                message: "committing offsets of group \(group): \(String(cString: rd_kafka_err2str(result)))")
        }
    }
}
