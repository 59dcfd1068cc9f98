import ArgumentParser
import Foundation
import Metrics
import Pipeline

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure decode + aggregate throughput, from memory and end to end from a broker.",
        discussion: """
        Generates the shop workload with schemas enabled (about 3 KB per
        message, like Debezium's JsonConverter output), then reports
        events/s, MB/s, CPU seconds and peak RSS for:
          memory  decode + aggregate from an in-memory copy (one core);
          raw     librdkafka reading the same topics with no decoding
                  (the ceiling), with --brokers;
          e2e     the engine reading, decoding and aggregating them,
                  with --brokers.
        Every run checks its result against the generator's ground truth.
        scripts/bench starts a Tansu broker, runs this with --brokers and
        stops the broker.
        """)

    @Option(help: "Messages to generate.")
    var messages: Int = 1_000_000

    @Option(help: "Brokers for the raw and end-to-end runs (e.g. a Tansu broker); memory only when absent.")
    var brokers: String?

    @Option(help: "Repeat the memory run this many times and report the fastest (CPU-bound figure).")
    var repeats: Int = 3

    @Option(help: "Partitions per topic for the broker runs.")
    var partitions: Int32 = 4

    @Option(name: .customLong("checkpoint-interval"), help: ArgumentHelp("Seconds between checkpoints in the durable-state run.", valueName: "s"))
    var checkpointSeconds: Double = 1

    @OptionGroup var kafka: KafkaPropertyOptions

    func run() throws {
        print("generating \(messages) messages…")
        let t0 = Date()
        let workload = ShopWorkload(config: ShopWorkloadConfig(seed: 7, products: 200, customers: 5000,
                                                               snapshotTransactions: 1000, commitsPerSecond: 500))
        var corpus = Corpus()
        var batch: [GeneratedMessage] = []
        // Whole database transactions only, so the ground truth covers exactly what is kept.
        while corpus.count < messages {
            batch.removeAll(keepingCapacity: true)
            workload.next(into: &batch)
            for m in batch { corpus.append(m, partitions: partitions) }
        }
        let truth = workload.groundTruth
        let cut = truth.messages != Int64(corpus.count)
        print(String(format: "generated %d messages, %.1f MB (avg %d B/message) in %.1f s",
                     corpus.count, Double(corpus.bytes) / 1e6, corpus.bytes / max(1, corpus.count),
                     Date().timeIntervalSince(t0)))

        // 1. Decode + aggregate from memory, on this thread only.
        var best: Measure.Figures? = nil
        for run in 1...max(1, repeats) {
            let core = EngineCore(profile: .shop)
            let m0 = Measure.start()
            corpus.feed(core)
            let figures = m0.stop(messages: corpus.count, bytes: corpus.bytes)
            if best == nil || figures.threadCPU < best!.threadCPU { best = figures }
            if run == 1 && !cut { reportComparison(core.result, truth) }
            if run == 1 { for m in core.recentMalformed.prefix(5) { print("    malformed \(m.position): \(m.reason)") } }
        }
        let memory = best!
        print(memory.line("memory (decode+aggregate), best of \(max(1, repeats))"))
        print(String(format: "  per CPU second: %.0f MB/s, %.0f events/s", Double(memory.bytes) / 1e6 / memory.cpu,
                     Double(memory.messages) / memory.cpu))

        // 2. The same with durable state: incremental checkpoints every few seconds on their own
        //    thread, then a restart that loads the state.
        try measureDurableState(corpus: corpus, memory: memory, truth: cut ? nil : truth)

        guard let brokers else {
            print("(pass --brokers HOST:PORT for the raw librdkafka and end-to-end figures)")
            return
        }
        let props = try kafka.dictionary()
        let prefix = "bench\(Int(Date().timeIntervalSince1970))"
        let producer = try KafkaProducer(brokers: brokers, properties: props)
        let p0 = Measure.start()
        try corpus.produce(to: producer, prefix: prefix)
        try producer.flush(timeoutMs: 120_000)
        print(p0.stop(messages: corpus.count, bytes: corpus.bytes).line("produce"))
        let topics = corpus.topics.map { $0.replacingOccurrences(of: "shop.", with: "\(prefix).") }

        // 2. Raw read: librdkafka only.
        var consumerProps = props
        consumerProps["session.timeout.ms"] = consumerProps["session.timeout.ms"] ?? "6000"
        let raw = try KafkaConsumer(config: KafkaConsumerConfig(brokers: brokers, groupID: "\(prefix)-raw", topics: topics, properties: consumerProps))
        let r0 = Measure.start()
        var mb = MessageBatch()
        var read = 0, readBytes = 0
        while read < corpus.count {
            try raw.poll(into: &mb, maxMessages: 10_000, timeoutMs: 200)
            read += mb.records.count
            readBytes += mb.byteCount
            if r0.elapsed > 600 { throw RunError("raw read stalled at \(read)/\(corpus.count) messages") }
        }
        let rawFigures = r0.stop(messages: read, bytes: readBytes)
        raw.close()
        print(rawFigures.line("raw librdkafka read"))

        // 3. End to end: the engine until caught up.
        var options = EngineOptions(consumer: KafkaConsumerConfig(brokers: brokers, groupID: "\(prefix)-e2e", topics: topics, properties: consumerProps), profile: .shop)
        options.stopWhenCaughtUp = true
        options.snapshotIntervalMs = 1000
        let engine = try Engine(options: options)
        let e0 = Measure.start()
        try engine.runHere()
        let snapshot = engine.snapshots.value
        let e2e = e0.stop(messages: Int(snapshot?.result.messages ?? 0), bytes: corpus.bytes)
        print(e2e.line("end to end (engine)"))
        if let s = snapshot, !cut { reportComparison(s.result, truth) }
        print(String(format: "  end to end / raw read rate: %.0f%%", 100 * e2e.eventsPerSecond / max(1, rawFigures.eventsPerSecond)))
    }
}

extension BenchCommand {
    /// Decode + aggregate with checkpoints to a SQLite state in a temporary directory, every
    /// `checkpointSeconds` at batch boundaries (as `watch` does), then the restart time, the state's
    /// size on disk and the engine's memory per live key.
    func measureDurableState(corpus: Corpus, memory: Measure.Figures, truth: KPIResult?) throws {
        let directory = NSTemporaryDirectory() + "cdctop-bench-state-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StateIdentity(profile: .shop, topics: corpus.topics)
        struct Run { var core: EngineCore; var engineCPU: Double; var figures: Measure.Figures; var checkpoints: Int64; var exit: Double; var rssMB: Double }
        var best: Run?
        // As many runs as the memory figure had, best kept: the two figures are compared like for like.
        for _ in 1 ... max(1, repeats) {
            let rssBefore = Measure.currentRSSMB()
            let core = EngineCore(profile: .shop)
            let store = try StateStore(directory: directory, identity: identity, reset: true)
            _ = try store.load(into: core)
            core.journaling = true
            let checkpointer = Checkpointer(store: store)
            let m0 = Measure.start()
            var lastCheckpoint = Date()
            corpus.feed(core, batch: 5_000) {
                if Date().timeIntervalSince(lastCheckpoint) >= checkpointSeconds && checkpointer.isIdle {
                    lastCheckpoint = Date()
                    checkpointer.submit(Checkpoint.take(from: core, nowMs: WallClock.nowMs(), recycling: checkpointer.takeRecycled()),
                                        snapshot: nil)
                }
            }
            // The engine's share: everything up to here ran on this thread except the checkpoint writes.
            let engineCPU = Measure.threadCPUSeconds() - m0.threadCPU
            let flushStarted = Date()
            checkpointer.flush(Checkpoint.take(from: core, nowMs: WallClock.nowMs()), snapshot: nil)
            let run = Run(core: core, engineCPU: engineCPU, figures: m0.stop(messages: corpus.count, bytes: corpus.bytes),
                          checkpoints: checkpointer.status.checkpoints, exit: Date().timeIntervalSince(flushStarted),
                          rssMB: Measure.currentRSSMB() - rssBefore)
            store.close()
            if best == nil || run.engineCPU < best!.engineCPU { best = run }
        }
        let run = best!
        let core = run.core
        print(run.figures.line("memory + durable state (checkpoint every \(checkpointSeconds) s), best of \(max(1, repeats))"))
        print(String(format: "  %d checkpoints; engine thread %.2f CPU s = %.0f events/s per CPU second, %.1f%% of the memory run's rate; other threads (checkpoint writer) %.2f CPU s; exit checkpoint %.2f s",
                     run.checkpoints, run.engineCPU, Double(corpus.count) / run.engineCPU,
                     100 * memory.threadCPU / run.engineCPU, max(0, run.figures.cpu - run.figures.threadCPU), run.exit))
        if let truth { reportComparison(core.result, truth) }
        let keys = core.withAggregator { $0.liveKeys }
        let reopened = try StateStore(directory: directory, identity: identity)
        let size = reopened.sizeOnDisk
        print(String(format: "  state: %d live keys, %d windows; on disk %.1f MB (%.0f B/key); engine RSS %.0f MB (%.0f B/key)",
                     keys, core.result.windows.count, Double(size) / 1e6, Double(size) / Double(max(1, keys)),
                     run.rssMB, run.rssMB * 1_048_576 / Double(max(1, keys))))
        reopened.close()

        let r0 = Date()
        let again = try StateStore(directory: directory, identity: identity)
        let restored = EngineCore(profile: .shop)
        let summary = try again.load(into: restored)
        let restart = Date().timeIntervalSince(r0)
        print(String(format: "  restart: open + integrity check + load %d keys and %d windows in %.2f s; equals the live state: %@",
                     summary.keys, summary.windows, restart, restored.result == core.result ? "yes" : "NO"))
        again.close()
    }
}

/// Says whether a result equals the ground truth, and where it first differs when not.
func reportComparison(_ result: KPIResult, _ truth: KPIResult) {
    guard result != truth else { print("  result equals ground truth: yes"); return }
    print("  result equals ground truth: NO")
    print("    messages \(result.messages) vs \(truth.messages), malformed \(result.malformed) vs \(truth.malformed), dropped \(result.dropped) vs \(truth.dropped), windows \(result.windows.count) vs \(truth.windows.count)")
    if result.totals != truth.totals {
        print("    totals: tx \(result.totals.txCount) vs \(truth.totals.txCount), revenue \(result.totals.revenue) vs \(truth.totals.revenue)")
    }
    if let i = result.windows.indices.first(where: { $0 < truth.windows.count && result.windows[$0] != truth.windows[$0] }) {
        let (a, b) = (result.windows[i], truth.windows[i])
        print("    first differing window \(a.windowStartMs)/\(b.windowStartMs): tx \(a.txCount) vs \(b.txCount), revenue \(a.revenue) vs \(b.revenue)")
        for c in Set(a.categoryRevenue.keys).union(b.categoryRevenue.keys).sorted() where a.categoryRevenue[c] != b.categoryRevenue[c] {
            print("      \(c): \(a.categoryRevenue[c]?.formatted() ?? "-") vs \(b.categoryRevenue[c]?.formatted() ?? "-")")
        }
    }
}

/// All generated messages in one arena, as they would sit in fetch buffers.
struct Corpus {
    struct Entry { var topic: Int32; var partition: Int32; var offset: Int64; var key: Range<Int>; var value: Range<Int>? }
    var arena: [UInt8] = []
    var entries: [Entry] = []
    var topics: [String] = []
    var nextOffset: [String: Int64] = [:]
    var bytes = 0
    var count: Int { entries.count }

    mutating func append(_ m: GeneratedMessage, partitions: Int32) {
        var t = topics.firstIndex(of: m.topic)
        if t == nil { topics.append(m.topic); t = topics.count - 1 }
        let partition = KcatRecording.murmur2Partition(key: m.key, partitions: partitions)
        let pk = "\(m.topic)/\(partition)"
        let offset = nextOffset[pk, default: 0]
        nextOffset[pk] = offset + 1
        let k = arena.count..<(arena.count + m.key.count)
        arena.append(contentsOf: m.key)
        var v: Range<Int>? = nil
        if let value = m.value { v = arena.count..<(arena.count + value.count); arena.append(contentsOf: value) }
        bytes += m.key.count + (m.value?.count ?? 0)
        entries.append(Entry(topic: Int32(t!), partition: partition, offset: offset, key: k, value: v))
    }

    func feed(_ core: EngineCore) {
        let slots = topics.map { core.decoder.slot(forTopic: $0) }
        arena.withUnsafeBytes { all in
            for e in entries {
                let key = UnsafeRawBufferPointer(rebasing: all[e.key])
                let value = e.value.map { UnsafeRawBufferPointer(rebasing: all[$0]) }
                core.ingest(slot: slots[Int(e.topic)], partition: e.partition, offset: e.offset, timestampMs: 0, key: key, value: value)
            }
        }
    }

    /// Feeds in batches, calling `betweenBatches` at each batch boundary (where checkpoints go).
    func feed(_ core: EngineCore, batch: Int, betweenBatches: () -> Void) {
        let slots = topics.map { core.decoder.slot(forTopic: $0) }
        arena.withUnsafeBytes { all in
            var start = 0
            while start < entries.count {
                for e in entries[start ..< min(entries.count, start + batch)] {
                    let key = UnsafeRawBufferPointer(rebasing: all[e.key])
                    let value = e.value.map { UnsafeRawBufferPointer(rebasing: all[$0]) }
                    core.ingest(slot: slots[Int(e.topic)], partition: e.partition, offset: e.offset, timestampMs: 0, key: key, value: value)
                }
                start += batch
                betweenBatches()
            }
        }
    }

    func produce(to producer: KafkaProducer, prefix: String) throws {
        let names = topics.map { $0.replacingOccurrences(of: "shop.", with: "\(prefix).") }
        try arena.withUnsafeBytes { all in
            for e in entries {
                try producer.produce(topic: names[Int(e.topic)], partition: e.partition,
                                     key: UnsafeRawBufferPointer(rebasing: all[e.key]),
                                     value: e.value.map { UnsafeRawBufferPointer(rebasing: all[$0]) })
            }
        }
    }
}

/// Wall time, CPU time (user+system, whole process) and peak RSS around a run.
struct Measure {
    let wall: Date
    let cpu: Double
    let threadCPU: Double

    /// CPU time of the calling thread only (the engine's share, without helper threads).
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Resident memory now (not the peak), from /proc/self/statm.
    static func currentRSSMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    static func start() -> Measure { Measure(wall: Date(), cpu: ProcessFigures.cpuSeconds(), threadCPU: threadCPUSeconds()) }
    var elapsed: Double { Date().timeIntervalSince(wall) }

    struct Figures {
        var messages: Int, bytes: Int, seconds: Double, cpu: Double, peakRSSMB: Double, threadCPU: Double = 0
        var eventsPerSecond: Double { Double(messages) / max(seconds, 1e-9) }
        var megabytesPerSecond: Double { Double(bytes) / 1e6 / max(seconds, 1e-9) }
        func line(_ label: String) -> String {
            String(format: "%@: %d msgs in %.2f s = %.0f events/s, %.0f MB/s, CPU %.2f s, peak RSS %.0f MB",
                   label, messages, seconds, eventsPerSecond, megabytesPerSecond, cpu, peakRSSMB)
        }
    }

    func stop(messages: Int, bytes: Int) -> Figures {
        Figures(messages: messages, bytes: bytes, seconds: elapsed, cpu: ProcessFigures.cpuSeconds() - cpu, peakRSSMB: ProcessFigures.peakRSSMB(),
                threadCPU: Measure.threadCPUSeconds() - threadCPU)
    }
}
