import Foundation
import Metrics

/// Options for a live engine reading Kafka.
public struct EngineOptions: Sendable {
    public var consumer: KafkaConsumerConfig
    public var profile: KPIProfile
    /// How often a snapshot is published (the dashboard wants ~200 ms, headless output 1 s).
    public var snapshotIntervalMs: Int = 200
    /// How often committed offsets are asked from the broker for the Lag view.
    public var committedQueryIntervalMs: Int = 3_000
    /// Keep copies of recent changes for the dashboard's drill-down.
    public var captureRecentChanges = false
    /// Stop once every assigned partition reached its end (partition EOF), e.g. `--until-caught-up`.
    public var stopWhenCaughtUp = false
    /// Give up waiting for a partition assignment after this long when stopping at the end.
    public var assignmentTimeoutMs: Int = 60_000

    public init(consumer: KafkaConsumerConfig, profile: KPIProfile) {
        self.consumer = consumer; self.profile = profile
    }
}

/// The live engine: one thread that polls Kafka in batches, decodes and aggregates, stores
/// offsets only after events are applied, and publishes `KPISnapshot`s into a coalescing mailbox.
/// Everyone else (dashboard, Redis mirror, warehouse sink, JSON output) reads snapshots only.
public final class Engine: @unchecked Sendable {
    public let options: EngineOptions
    /// The latest snapshot; readers never block the engine.
    public let snapshots = Latest<KPISnapshot>()
    /// Called on the engine thread after each publish; must return quickly (hand off, don't do I/O).
    public var onSnapshot: (@Sendable (KPISnapshot) -> Void)?

    private let core: EngineCore
    private let consumer: KafkaConsumer
    private let stopRequested = Mutex<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?
    private let failure = Mutex<Error?>(nil)

    // Engine-thread state.
    private var slotsByTopicIndex: [Int] = []
    private var atEnd: Set<Int64> = []
    /// Next offset to read per partition, to tell a stale EOF (older than records in the same batch) apart.
    private var nextOffset: [Int64: Int64] = [:]
    private var seenPartitions: Set<Int64> = []
    private var sequence: UInt64 = 0
    private var rateSamples: [(ms: Int64, messages: Int64, bytes: Int64, tables: [String: Int64])] = []
    private var lastCommittedQueryMs: Int64 = 0
    private var assignedPartitions = 0

    public init(options: EngineOptions) throws {
        self.options = options
        self.core = EngineCore(profile: options.profile)
        core.captureRecentChanges = options.captureRecentChanges
        self.consumer = try KafkaConsumer(config: options.consumer)
    }

    /// Runs the engine on its own thread.
    public func start() {
        let t = Thread { [self] in
            self.runLoop()
            self.finished.signal()
        }
        t.name = "cdctop-engine"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Runs the engine on the calling thread until stopped or caught up; rethrows a fatal error.
    public func runHere() throws {
        runLoop()
        if let e = failure.withLock({ $0 }) { throw e }
    }

    /// Asks the loop to stop, waits for it, commits stored offsets and closes the consumer.
    public func stop() {
        stopRequested.withLock { $0 = true }
        if thread != nil { finished.wait(); thread = nil }
    }

    public var error: Error? { failure.withLock { $0 } }
    public var isStopRequested: Bool { stopRequested.withLock { $0 } }

    private func runLoop() {
        var batch = MessageBatch()
        let startMs = WallClock.nowMs()
        var lastSnapshotMs: Int64 = 0
        defer {
            try? consumer.commitSync()
            publishSnapshot(nowMs: WallClock.nowMs(), queryCommitted: true)
            consumer.close()
        }
        while !stopRequested.withLock({ $0 }) {
            do {
                try consumer.poll(into: &batch, maxMessages: 5_000, timeoutMs: 100)
            } catch {
                failure.withLock { $0 = error }
                return
            }
            apply(batch)
            if !batch.records.isEmpty { consumer.storeOffsets(of: batch) }
            let now = WallClock.nowMs()
            if now - lastSnapshotMs >= Int64(options.snapshotIntervalMs) {
                lastSnapshotMs = now
                let query = now - lastCommittedQueryMs >= Int64(options.committedQueryIntervalMs)
                if query { lastCommittedQueryMs = now }
                publishSnapshot(nowMs: now, queryCommitted: query)
                core.resetCaptureBudget()
            }
            if options.stopWhenCaughtUp {
                if isCaughtUp() { return }
                if seenPartitions.isEmpty && assignedPartitions == 0 && now - startMs > Int64(options.assignmentTimeoutMs) {
                    failure.withLock {
                        $0 = KafkaError(code: -1, message: "no partition was assigned within \(options.assignmentTimeoutMs / 1000) s: check --topics (\(options.consumer.topics.joined(separator: ","))) and --brokers")
                    }
                    return
                }
            }
        }
    }

    private func slot(forTopicIndex i: Int32, in batch: MessageBatch) -> Int {
        let index = Int(i)
        while slotsByTopicIndex.count <= index { slotsByTopicIndex.append(-1) }
        if slotsByTopicIndex[index] < 0 { slotsByTopicIndex[index] = core.decoder.slot(forTopic: batch.topics[index]) }
        return slotsByTopicIndex[index]
    }

    private func apply(_ batch: MessageBatch) {
        // Fetches arrive in runs of one partition: bookkeeping per run, not per message.
        var runKey: Int64 = -1
        var runNext: Int64 = 0
        for i in batch.records.indices {
            let r = batch.records[i]
            let slot = slot(forTopicIndex: r.topicIndex, in: batch)
            batch.withKey(i) { key in
                batch.withValue(i) { value in
                    core.ingest(slot: slot, partition: r.partition, offset: r.offset, timestampMs: r.timestampMs,
                                key: key, value: value)
                }
            }
            let pk = EngineCore.partitionKey(slot: slot, partition: r.partition)
            if pk != runKey {
                if runKey >= 0 { nextOffset[runKey] = runNext }
                runKey = pk
                atEnd.remove(pk)
                seenPartitions.insert(pk)
            }
            runNext = r.offset + 1
        }
        if runKey >= 0 { nextOffset[runKey] = runNext }
        for eof in batch.partitionEOFs {
            let slot = slot(forTopicIndex: eof.topicIndex, in: batch)
            let pk = EngineCore.partitionKey(slot: slot, partition: eof.partition)
            seenPartitions.insert(pk)
            // Records and EOFs come in separate lists: an EOF before this batch's records is stale.
            if eof.offset >= nextOffset[pk, default: 0] { atEnd.insert(pk) }
        }
    }

    /// Every assigned partition has reported EOF since its last message.
    private func isCaughtUp() -> Bool {
        let assigned = consumer.partitionStates(queryCommitted: false)
        guard !assigned.isEmpty else { return false }
        for p in assigned {
            let slot = core.decoder.slot(forTopic: p.topic)
            if !atEnd.contains(EngineCore.partitionKey(slot: slot, partition: p.partition)) { return false }
        }
        return true
    }

    private func publishSnapshot(nowMs: Int64, queryCommitted: Bool) {
        sequence += 1
        var s = core.snapshot(sequence: sequence, takenAtMs: nowMs)
        // Between queries the consumer reports the committed offsets it last fetched.
        let progress = consumer.partitionStates(queryCommitted: queryCommitted)
        assignedPartitions = progress.count
        s.partitions = progress.map { p in
            let slot = core.decoder.slot(forTopic: p.topic)
            let pk = EngineCore.partitionKey(slot: slot, partition: p.partition)
            return PartitionLag(topic: p.topic, partition: p.partition, committed: p.committed, position: p.position,
                                highWatermark: p.highWatermark,
                                lastCommitTimeMs: core.lastCommitTimeByPartition[pk] ?? 0,
                                reachedEnd: atEnd.contains(pk))
        }
        s.partitions.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        s.caughtUp = !s.partitions.isEmpty && s.partitions.allSatisfy(\.reachedEnd)
        if let e = consumer.lastError { s.kafka = ServiceStatus(.error, e) }
        else if s.partitions.isEmpty { s.kafka = ServiceStatus(.connecting, "waiting for partition assignment") }
        else { s.kafka = ServiceStatus(.ok, options.consumer.brokers) }
        Engine.fillRates(&s, samples: &rateSamples, nowMs: nowMs, messages: core.messages, bytes: core.bytes)
        snapshots.publish(s)
        onSnapshot?(s)
    }

    /// Rates over the last ~5 s of wall time, from the samples kept between snapshots.
    static func fillRates(_ s: inout KPISnapshot, samples: inout [(ms: Int64, messages: Int64, bytes: Int64, tables: [String: Int64])],
                          nowMs: Int64, messages: Int64, bytes: Int64) {
        var tables: [String: Int64] = [:]
        for t in s.tables { tables[t.table] = t.total }
        samples.append((nowMs, messages, bytes, tables))
        while samples.count > 2, nowMs - samples[1].ms >= 5_000 { samples.removeFirst() }
        guard let first = samples.first, nowMs > first.ms else { return }
        let seconds = Double(nowMs - first.ms) / 1000
        s.eventsPerSecond = Double(messages - first.messages) / seconds
        s.bytesPerSecond = Double(bytes - first.bytes) / seconds
        for i in s.tables.indices {
            let before = first.tables[s.tables[i].table] ?? 0
            s.tables[i].eventsPerSecond = Double(s.tables[i].total - before) / seconds
        }
    }
}

import Synchronization
