import Foundation
import Metrics
import Synchronization

/// Options for a live engine reading Kafka.
package struct EngineOptions: Sendable {
    package var consumer: KafkaConsumerConfig
    package var profile: KPIProfile
    /// How often a snapshot is published (the dashboard wants ~200 ms, headless output 1 s).
    package var snapshotIntervalMs: Int = 200
    /// Keep copies of recent changes for the dashboard's drill-down.
    package var captureRecentChanges = false
    /// Stop once every assigned partition reached its end (partition EOF), e.g. `--until-caught-up`.
    package var stopWhenCaughtUp = false
    /// Give up waiting for a partition assignment after this long when stopping at the end.
    package var assignmentTimeoutMs: Int = 60_000
    /// Durable state; nil keeps everything in memory (a restart reads every partition again).
    package var state: StateOptions?
    /// `--schema-registry`: schemas of Confluent-framed (Avro) messages; nil: such messages are malformed.
    package var schemaRegistry: SchemaRegistryClient?
    /// `--transactions complete`: KPIs over whole transactions only; nil applies events as read.
    package var transactions: TransactionHolding?

    package init(consumer: KafkaConsumerConfig, profile: KPIProfile) {
        self.consumer = consumer
        self.profile = profile
    }
}

/// The live engine: one thread that polls Kafka in batches, decodes and aggregates, stores
/// offsets only after events are applied, and publishes `RunSnapshot`s into a coalescing mailbox.
/// Everyone else (dashboard, Redis mirror, warehouse sink, JSON output) reads snapshots only.
package final class Engine: @unchecked Sendable {
    // @unchecked: a type that owns a thread: the engine-thread state below is touched only by that thread,
    // `onSnapshot` and `thread` only by the owner that calls start() and stop(); shared state is in Mutexes.
    package let options: EngineOptions
    /// The latest snapshot; readers never block the engine.
    package let snapshots = Latest<RunSnapshot>()
    /// Called on the engine thread after each publish; must return quickly (hand off, don't do I/O).
    package var onSnapshot: (@Sendable (RunSnapshot) -> Void)?

    private let core: EngineCore
    private let consumer: KafkaConsumer
    /// Writes checkpoints off the engine thread; nil with no durable state.
    package let checkpointer: Checkpointer?
    /// What the start restored ("restored N keys at offsets …"), nil without durable state.
    package let restoreSummary: RestoreSummary?
    /// A viewer (`StateOptions.viewWhenInUse`): the pid writing the state directory. The viewer writes
    /// nothing: no checkpoint, no offset stored or committed (its consumer has a group of its own).
    package var viewerOfPID: Int32? { viewerState?.viewerOfPID }
    private let viewerState: StateStatus?
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
    /// Ends and log starts that move past what was read, while running (issue 22).
    private var offsetRegressions = OffsetRegressionDetector()
    private var rateSamples: [RateSample] = []
    private var assignedPartitions = 0
    /// Kafka's last failure, verbatim, kept after it recovers (the Connections panel shows it).
    private var lastKafkaError: String?
    private var kafkaErrorsWhenLastOk = 0
    private var lastCheckpointMs: Int64 = 0
    /// Restored partitions whose saved offset was not yet checked against the broker's end.
    private var unverifiedStarts: [String: Int64] = [:]

    /// Opens (and locks) the state directory and loads it before connecting, so the first snapshot
    /// already shows the restored numbers. Throws `StateError` for a locked, damaged or foreign state.
    package init(options: EngineOptions) throws {
        self.options = options
        self.core = EngineCore(profile: options.profile)
        core.captureRecentChanges = options.captureRecentChanges
        core.schemaSource = options.schemaRegistry
        if let t = options.transactions {
            core.holdTransactions(timeoutMs: t.timeoutMs, maxBufferedEvents: t.maxBufferedEvents)
        }
        var starts: [(topic: String, partition: Int32, nextOffset: Int64)] = []
        var consumerConfig = options.consumer
        var restored: RestoreSummary?
        if let stateOptions = options.state,
            case .viewer(let viewer) = try StateViewer.open(
                stateOptions, profile: options.profile, consumer: options.consumer, into: core)
        {
            self.viewerState = viewer.status
            self.checkpointer = nil
            self.restoreSummary = viewer.summary
            restored = viewer.summary
            consumerConfig = viewer.consumer
        } else if let stateOptions = options.state {
            self.viewerState = nil
            let store = try StateStore(
                directory: stateOptions.directory,
                identity: StateIdentity(profile: options.profile, topics: options.consumer.topics),
                reset: stateOptions.reset)
            let summary = try store.load(into: core)
            core.journaling = true
            let checkpointer = Checkpointer(store: store)
            checkpointer.noteRestored(summary)
            self.checkpointer = checkpointer
            self.restoreSummary = summary
            restored = summary
        } else {
            self.viewerState = nil
            self.checkpointer = nil
            self.restoreSummary = nil
        }
        if let summary = restored {
            starts = summary.partitions.map { ($0.topic, $0.partition, $0.nextOffset) }
            for p in summary.partitions { unverifiedStarts["\(p.topic)\u{0}\(p.partition)"] = p.nextOffset }
        }
        self.consumer = try KafkaConsumer(config: consumerConfig, startOffsets: starts)
    }

    /// Runs the engine on its own thread.
    package func start() {
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
    package func runHere() throws {
        runLoop()
        if let e = failure.withLock({ $0 }) { throw e }
    }

    /// Asks the loop to stop, waits for it, commits stored offsets and closes the consumer.
    package func stop() {
        stopRequested.withLock { $0 = true }
        options.schemaRegistry?.cancelWaits()
        if thread != nil {
            finished.wait()
            thread = nil
        }
    }

    package var error: Error? { failure.withLock { $0 } }
    package var isStopRequested: Bool { stopRequested.withLock { $0 } }

    private func runLoop() {
        var batch = MessageBatch()
        let startMs = WallClock.nowMs()
        var lastSnapshotMs: Int64 = 0
        lastCheckpointMs = startMs
        defer {
            // Clean exit: one last checkpoint, then the offsets it covers go to the group.
            if let checkpointer {
                let final = Checkpoint.take(from: core, nowMs: WallClock.nowMs())
                checkpointer.flush(final, snapshot: makeSnapshot(nowMs: WallClock.nowMs()))
                if let durable = checkpointer.takeDurableOffsets() {
                    consumer.storeOffsets(durable.map { ($0.topic, $0.partition, $0.nextOffset) })
                }
            }
            if viewerOfPID == nil { try? consumer.commitSync() }
            publishSnapshot(nowMs: WallClock.nowMs())
            consumer.close()
            // Closing the last connection folds the write-ahead log into the state file.
            checkpointer?.store.close()
        }
        // The restored numbers show at once, before Kafka answers.
        publishSnapshot(nowMs: startMs)
        if options.schemaRegistry != nil {
            // While the registry is awaited the loop stands still: snapshots keep coming (the status says why).
            core.whileAwaitingSchema = { [unowned self] in
                let now = WallClock.nowMs()
                if now - lastSnapshotMs >= Int64(options.snapshotIntervalMs) {
                    lastSnapshotMs = now
                    publishSnapshot(nowMs: now)
                }
            }
        }
        while !stopRequested.withLock({ $0 }) {
            do {
                try consumer.poll(into: &batch, maxMessages: 5_000, timeoutMs: 100)
            } catch {
                failure.withLock { $0 = error }
                return
            }
            let now = WallClock.nowMs()
            core.noteWallClock(nowMs: now)
            core.receivedAtMs = now
            // One look at the assignment per batch, shared by both uses below (nil: not needed this batch).
            var assigned: [PartitionProgress]? = nil
            if options.transactions != nil {
                // END's tables are waited for only when read: the topics assigned (none yet: nothing is judged).
                let states = consumer.partitionStates()
                assigned = states
                noteReadTopics(states)
                core.expireTransactions(nowMs: now)
            }
            // Until every partition was read to its end once, each new one must hold the watermark from
            // the first batch on (not from the next snapshot): register the assignment before applying.
            if registeredAssignment == 0 || core.aggregator.progress.catchingUpCount > 0 {
                noteAssignment(assigned ?? consumer.partitionStates())
            }
            // false: stopped while a schema was awaited; nothing from that message on is applied or stored.
            guard apply(batch) else { return }
            if let checkpointer {
                // Only offsets a durable checkpoint covers are committed to the group.
                if let durable = checkpointer.takeDurableOffsets() {
                    consumer.storeOffsets(durable.map { ($0.topic, $0.partition, $0.nextOffset) })
                }
                maybeCheckpoint(checkpointer, nowMs: now)
            } else if !batch.records.isEmpty && viewerOfPID == nil {
                consumer.storeOffsets(of: batch)
            }
            // `now < lastSnapshotMs`: the wall clock went back; without it nothing is published until it catches up.
            if now - lastSnapshotMs >= Int64(options.snapshotIntervalMs) || now < lastSnapshotMs {
                lastSnapshotMs = now
                publishSnapshot(nowMs: now)
            }
            if let failure = verifyRestoredOffsets() {
                self.failure.withLock { $0 = failure }
                return
            }
            if options.stopWhenCaughtUp {
                if isCaughtUp() { return }
                if seenPartitions.isEmpty && assignedPartitions == 0
                    && now - startMs > Int64(options.assignmentTimeoutMs)
                {
                    failure.withLock {
                        $0 = KafkaError(
                            code: .noPartitions,
                            message:
                                "no partition was assigned within \(options.assignmentTimeoutMs / 1000) s: check --topics (\(options.consumer.topics.joined(separator: ","))) and --brokers"
                        )
                    }
                    return
                }
            }
        }
    }

    /// At a batch boundary: hands the changes since the last checkpoint to the checkpoint thread
    /// when the interval passed (or many changes wait) and the previous checkpoint is done.
    private func maybeCheckpoint(_ checkpointer: Checkpointer, nowMs: Int64) {
        guard let stateOptions = options.state else { return }
        let due =
            // clock went back
            nowMs - lastCheckpointMs >= Int64(stateOptions.checkpointIntervalMs) || nowMs < lastCheckpointMs
            || core.aggregator.pendingChangeCount >= stateOptions.maxPendingChanges
        guard due else { return }
        if checkpointer.hasPendingFailure {
            lastCheckpointMs = nowMs
            checkpointer.retryPending()
            return
        }
        if !checkpointer.isIdle {
            // The writer is behind (a slow disk): rather than let the journal grow without bound, wait.
            guard core.aggregator.pendingChangeCount >= 4 * stateOptions.maxPendingChanges else { return }
            checkpointer.waitUntilWritten()
            if checkpointer.hasPendingFailure { return }
        }
        lastCheckpointMs = nowMs
        checkpointer.submit(
            Checkpoint.take(from: core, nowMs: nowMs, recycling: checkpointer.takeRecycled()),
            snapshot: makeSnapshot(nowMs: nowMs))
    }

    /// A partition restored at offset N whose end is now below N was deleted and recreated (or
    /// truncated): the saved state no longer describes it. Checked once per partition, when the
    /// broker first reports its end.
    private func verifyRestoredOffsets() -> StateError? {
        guard !unverifiedStarts.isEmpty else { return nil }
        for p in consumer.partitionStates() where p.highWatermark >= 0 {
            let name = "\(p.topic)\u{0}\(p.partition)"
            guard let start = unverifiedStarts.removeValue(forKey: name) else { continue }
            if start > p.highWatermark {
                return StateError(
                    kind: .topicChanged,
                    message:
                        "\(p.topic)[\(p.partition)] ends at offset \(p.highWatermark), but the saved state has read it up to \(start): "
                        + "the topic was deleted and recreated since the checkpoint (or its log was cut). The state no longer matches it; "
                        + "rebuild from the earliest offsets with --state-reset, or use another --state DIR")
            }
        }
        return nil
    }

    private func slot(forTopicIndex i: Int32, in batch: MessageBatch) -> Int {
        let index = Int(i)
        while slotsByTopicIndex.count <= index { slotsByTopicIndex.append(-1) }
        if slotsByTopicIndex[index] < 0 { slotsByTopicIndex[index] = core.decoder.slot(forTopic: batch.topics[index]) }
        return slotsByTopicIndex[index]
    }

    private func apply(_ batch: MessageBatch) -> Bool {
        // Fetches arrive in runs of one partition: bookkeeping per run, not per message.
        var runKey: Int64 = -1
        var runNext: Int64 = 0
        for i in batch.records.indices {
            let r = batch.records[i]
            let slot = slot(forTopicIndex: r.topicIndex, in: batch)
            let pk = EngineCore.partitionKey(slot: slot, partition: r.partition)
            // More of this partition may follow until its end: meanwhile it holds the watermark back (issue 22).
            if pk != runKey { core.noteReading(partitionKey: pk) }
            let applied = batch.withKey(i) { key in
                batch.withValue(i) { value in
                    core.ingest(
                        slot: slot, partition: r.partition, offset: r.offset, timestampMs: r.timestampMs,
                        key: key, value: value)
                }
            }
            guard applied else { return false }
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
            if eof.offset >= nextOffset[pk, default: 0] {
                atEnd.insert(pk)
                core.noteReachedEnd(partitionKey: pk)
            }
        }
        return true
    }

    /// Assigned partitions registered with the engine's read progress (issue 22): a new one holds the
    /// watermark back, and counts as backlog, until it reports its end.
    private var registeredAssignment = 0
    private func noteAssignment(_ assigned: [PartitionProgress]) {
        guard assigned.count != registeredAssignment else { return }
        registeredAssignment = assigned.count
        for p in assigned {
            core.noteAssigned(
                partitionKey: EngineCore.partitionKey(
                    slot: core.decoder.slot(forTopic: p.topic), partition: p.partition))
        }
    }

    /// The topics last given to `core.noteReadTopics`: it is told only when the assignment's topics change.
    private var readTopics: Set<String> = []
    private func noteReadTopics(_ assigned: [PartitionProgress]) {
        let topics = Set(assigned.map(\.topic))
        guard !topics.isEmpty, topics != readTopics else { return }
        readTopics = topics
        core.noteReadTopics(Array(topics))
    }

    /// Every assigned partition has reported EOF since its last message.
    private func isCaughtUp() -> Bool {
        let assigned = consumer.partitionStates()
        guard !assigned.isEmpty else { return false }
        for p in assigned {
            let slot = core.decoder.slot(forTopic: p.topic)
            if !atEnd.contains(EngineCore.partitionKey(slot: slot, partition: p.partition)) { return false }
        }
        return true
    }

    private func publishSnapshot(nowMs: Int64) {
        let s = makeSnapshot(nowMs: nowMs)
        snapshots.publish(s)
        onSnapshot?(s)
    }

    private func makeSnapshot(nowMs: Int64) -> RunSnapshot {
        sequence += 1
        var s = core.snapshot(sequence: sequence, takenAtMs: nowMs)
        s.state = checkpointer?.status ?? viewerState ?? .none
        s.consumer = consumerProgress(nowMs: nowMs, backlog: s.consumer.backlog)
        Engine.fillRates(
            &s.kpis, tables: &s.diagnostics.tables, samples: &rateSamples, nowMs: nowMs, messages: core.messages,
            bytes: core.bytes)
        return s
    }

    /// The consumer's progress: each assigned partition's offsets and end, Kafka's status, whether the
    /// read caught up, and how much of the startup backlog (`backlog`, the core's read progress) is left.
    private func consumerProgress(nowMs: Int64, backlog: BacklogProgress?) -> ConsumerProgress {
        var c = ConsumerProgress()
        let progress = consumer.partitionStates()
        assignedPartitions = progress.count
        noteAssignment(progress)
        c.partitions = progress.map { p in
            let slot = core.decoder.slot(forTopic: p.topic)
            let pk = EngineCore.partitionKey(slot: slot, partition: p.partition)
            // Until librdkafka reports a position (after its first fetch), what was applied is the position:
            // a restored partition is not "behind by everything".
            let applied = core.aggregator.lastOffset(partitionKey: pk)
            let position = p.position >= 0 ? p.position : (applied >= 0 ? applied + 1 : -1)
            return PartitionLag(
                topic: p.topic, partition: p.partition, committed: p.committed, position: position,
                highWatermark: p.highWatermark,
                lastCommitTimeMs: core.lastCommitTimeByPartition[pk] ?? 0,
                reachedEnd: atEnd.contains(pk), logStart: p.lowWatermark)
        }
        c.partitions.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        offsetRegressions.observe(c.partitions, nowMs: nowMs)
        c.offsetRegressions = offsetRegressions.report
        c.caughtUp = !c.partitions.isEmpty && c.partitions.allSatisfy(\.reachedEnd)
        c.backlog = backlog
        if c.backlog != nil {
            c.backlog!.messages = c.partitions.reduce(0) { sum, p in
                p.reachedEnd || p.highWatermark < 0 || p.position < 0 ? sum : sum + max(0, p.highWatermark - p.position)
            }
        }
        let stall = consumer.stall
        let currentError = stall ?? consumer.lastError ?? (c.partitions.isEmpty ? consumer.metadataError : nil)
        if let currentError { lastKafkaError = currentError }
        if let stall {
            c.kafka = ServiceStatus(.stalled, stall)
        } else if let e = consumer.lastError {
            c.kafka = ServiceStatus(.error, e)
        } else if c.partitions.isEmpty {
            c.kafka = ServiceStatus(
                .connecting,
                consumer.metadataError ?? "listing topics matching \(options.consumer.topics.joined(separator: ","))")
        } else {
            c.kafka = ServiceStatus(.ok, options.consumer.brokers)
        }
        // Attempts: client errors since Kafka last worked (librdkafka reconnects on its own, so no retry time).
        let errors = consumer.errorCount
        if c.kafka.state == .ok { kafkaErrorsWhenLastOk = errors }
        c.kafka.error = lastKafkaError
        c.kafka.attempts = c.kafka.state == .ok ? 0 : max(0, errors - kafkaErrorsWhenLastOk)
        return c
    }

    struct RateSample {
        var ms: Int64, messages: Int64, bytes: Int64, tables: [String: Int64]
        /// Creates of the sale table so far: new transactions.
        var saleCreates: Int64
    }

    /// Rates over the last ~5 s of wall time (a sliding window of the samples kept between snapshots).
    static func fillRates(
        _ s: inout KPIState, tables stats: inout [TableStats], samples: inout [RateSample], nowMs: Int64,
        messages: Int64, bytes: Int64
    ) {
        var tables: [String: Int64] = [:]
        for t in stats { tables[t.table] = t.total }
        let creates = stats.first { $0.role == .sale }?.count(.create) ?? 0
        samples.append(RateSample(ms: nowMs, messages: messages, bytes: bytes, tables: tables, saleCreates: creates))
        while samples.count > 2, nowMs - samples[1].ms >= 5_000 { samples.removeFirst() }
        guard let first = samples.first, nowMs > first.ms else { return }
        let seconds = Double(nowMs - first.ms) / 1000
        s.eventsPerSecond = Double(messages - first.messages) / seconds
        s.bytesPerSecond = Double(bytes - first.bytes) / seconds
        s.txPerSecond = Double(creates - first.saleCreates) / seconds
        for i in stats.indices {
            let before = first.tables[stats[i].table] ?? 0
            stats[i].eventsPerSecond = Double(stats[i].total - before) / seconds
        }
    }
}
