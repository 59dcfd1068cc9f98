import App
import ArgumentParser
import CMalloc
import Foundation
import Metrics
import Pipeline
import Synchronization

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
                      (the ceiling), before and after e2e, with --brokers;
              e2e     the engine reading, decoding and aggregating them,
                      with --brokers.
            The memory line gives the best of --repeats runs and, beside it, the
            first run of the process (maps growing from empty) with its page
            faults; the durable-state run adds the state's size on disk, its
            resident memory and the heap it holds per live key.
            Every run checks its result against the generator's ground truth.
            With --avro the same rows in Confluent Avro form (about 180 B per
            message) are measured beside JSON from memory, and with --brokers
            and --schema-registry also raw and end to end from the broker (the
            schemas are registered there; the engine fetches them as `watch`
            does). -X applies to both readers: on small messages librdkafka's
            fetch.queue.backoff.ms (1 s by default) idles a reader that falls
            behind, so -X fetch.queue.backoff.ms=10 shows the engine's own rate.
            scripts/bench starts a Tansu broker (and, with --avro, the test
            stand-in registry), runs this with --brokers and stops them.
            """)

    @Option(help: "Messages to generate.")
    var messages: Int = 1_000_000

    @Option(help: "Brokers for the raw and end-to-end runs (e.g. a Tansu broker); memory only when absent.")
    var brokers: String?

    @Option(help: "Repeat the memory run this many times and report the fastest (CPU-bound figure).")
    var repeats: Int = 3

    @Option(help: "Partitions per topic for the broker runs.")
    var partitions: Int32 = 4

    @Option(
        name: .customLong("checkpoint-interval"),
        help: ArgumentHelp("Seconds between checkpoints in the durable-state run.", valueName: "s"))
    var checkpointSeconds: Double = 1

    @Flag(
        help:
            "Instead: how the engine's per-event cost, snapshot time and warehouse-sink comparison grow with the state held (windows, products, live keys)."
    )
    var scale = false

    @Option(
        help: ArgumentHelp(
            "Operations cost: also time the memory run with the latency split on, and serve /metrics here during the end-to-end run, scraped every second (e.g. 127.0.0.1:9464).",
            valueName: "host:port"))
    var metrics: String?

    @Option(
        help: ArgumentHelp(
            "Instead: decode + aggregate the shop workload from memory with this profile (e.g. profiles/shop-sql.toml, the shop written as SQL KPIs), checked against the ground truth when it defines the shop's KPIs; prints the rate, the heap per live key and the heap allocations per message.",
            valueName: "file"))
    var profile: String?

    @Flag(
        help:
            "Instead: decode + aggregate the shop workload from memory in Confluent Avro form (keys and values, as Debezium's AvroConverter writes them) beside the same messages as JSON; both checked against the ground truth. With --brokers (and --schema-registry): the Avro topics' raw librdkafka and end-to-end read rates too."
    )
    var avro = false

    @Flag(help: "With --avro: leave out the JSON runs (to count the Avro path's instructions alone).")
    var avroOnly = false

    @OptionGroup var kafka: KafkaPropertyOptions

    @OptionGroup var registry: SchemaRegistryOptions

    func validate() throws {
        if registry.schemaRegistry != nil && !avro {
            throw ValidationError("--schema-registry only applies with --avro")
        }
        if avro && brokers != nil && registry.schemaRegistry == nil {
            throw ValidationError(
                "--avro with --brokers needs --schema-registry URL: the schemas are registered there and the engine's end-to-end run fetches them (scripts/bench --avro starts a test stand-in)"
            )
        }
    }

    func run() throws {
        if scale { return ScaleBenchmark.run() }
        if avro { return try measureAvro() }
        if let profile { return try measureProfile(path: profile) }
        print("generating \(messages) messages…")
        let t0 = Date()
        let (workload, corpus) = shopCorpus()
        let truth = workload.groundTruth
        let cut = truth.messages != Int64(corpus.count)
        print(
            String(
                format: "generated %d messages, %.1f MB (avg %d B/message) in %.1f s",
                corpus.count, Double(corpus.bytes) / 1e6, corpus.bytes / max(1, corpus.count),
                Date().timeIntervalSince(t0)))

        // 1. Decode + aggregate from memory, on this thread only.
        var best: Measure.Figures? = nil
        var first: Measure.Figures? = nil
        for run in 1...max(1, repeats) {
            let core = EngineCore(profile: .shop)
            let m0 = Measure.start()
            corpus.feed(core)
            let figures = m0.stop(messages: corpus.count, bytes: corpus.bytes)
            if best == nil || figures.threadCPU < best!.threadCPU { best = figures }
            if run == 1 { first = figures }
            if run == 1 && !cut { reportComparison(core.result, truth) }
            if run == 1 {
                for m in core.recentMalformed.prefix(5) { print("    malformed \(m.position): \(m.reason)") }
            }
        }
        let memory = best!
        print(memory.line("memory (decode+aggregate), best of \(max(1, repeats))"))
        print(
            String(
                format: "  per CPU second: %.0f MB/s, %.0f events/s", Double(memory.bytes) / 1e6 / memory.cpu,
                Double(memory.messages) / memory.cpu))
        print(
            String(
                format: "  first run: %.0f MB/s per CPU second; %d page faults, kernel %.2f CPU s",
                Double(first!.bytes) / 1e6 / first!.cpu,
                first!.faults, first!.systemCPU))
        if metrics != nil { measureLatencySplit(corpus: corpus, memory: memory) }

        // 2. The same with durable state: incremental checkpoints every few seconds on their own
        //    thread, then a restart that loads the state.
        try measureDurableState(corpus: corpus, memory: memory, truth: cut ? nil : truth)

        guard let brokers else {
            print("(pass --brokers HOST:PORT for the raw librdkafka and end-to-end figures)")
            return
        }
        try measureBroker(corpus: corpus, truth: cut ? nil : truth, brokers: brokers, registry: nil)
    }

    /// Produces the corpus to fresh topics, then reads them back twice: with a raw librdkafka consumer
    /// that only counts bytes (the ceiling), and with the engine (decode + aggregate, Avro through
    /// `registry`); prints both rates and their ratio.
    func measureBroker(corpus: Corpus, truth: KPIResult?, brokers: String, registry: SchemaRegistryClient?) throws {
        let props = try kafka.dictionary()
        let prefix = "bench\(Int(Date().timeIntervalSince1970))"
        let producer = try KafkaProducer(brokers: brokers, properties: props)
        let p0 = Measure.start()
        try corpus.produce(to: producer, prefix: prefix)
        try producer.flush(timeoutMs: 120_000)
        print(p0.stop(messages: corpus.count, bytes: corpus.bytes).line("produce"))
        let topics = corpus.topics.map { $0.replacingOccurrences(of: "shop.", with: "\(prefix).") }

        // Raw read: librdkafka only, touching nothing but the bytes' count; before and after the
        // engine's run (a fresh group each time), so the order of the runs does not favour either.
        var consumerProps = props
        consumerProps["session.timeout.ms"] = consumerProps["session.timeout.ms"] ?? "6000"
        func rawRead(_ group: String) throws -> Measure.Figures {
            let raw = try KafkaConsumer(
                config: KafkaConsumerConfig(brokers: brokers, groupID: group, topics: topics, properties: consumerProps)
            )
            let r0 = Measure.start()
            var mb = MessageBatch()
            var read = 0
            var readBytes = 0
            // Like the engine's `--until-caught-up`, the raw reader stops once every partition reported
            // its end (not at a message count it could not know), so both wait for the same last fetch.
            var ended = Set<Int64>()
            let partitionCount = corpus.topics.count * Int(partitions)
            while read < corpus.count || ended.count < partitionCount {
                try raw.poll(into: &mb, maxMessages: 10_000, timeoutMs: 200)
                read += mb.records.count
                readBytes += mb.byteCount
                for eof in mb.partitionEOFs { ended.insert(Int64(eof.topicIndex) << 32 | Int64(eof.partition)) }
                if r0.elapsed > 600 { throw RunError("raw read stalled at \(read)/\(corpus.count) messages") }
            }
            // Closing (leaving the group) is timed too, as the engine's run includes its own close.
            raw.close()
            return r0.stop(messages: read, bytes: readBytes)
        }
        let rawBefore = try rawRead("\(prefix)-raw")
        print(rawBefore.line("raw librdkafka read"))

        // End to end: the engine (decode + aggregate) until caught up.
        var options = EngineOptions(
            consumer: KafkaConsumerConfig(
                brokers: brokers, groupID: "\(prefix)-e2e", topics: topics, properties: consumerProps), profile: .shop)
        options.stopWhenCaughtUp = true
        options.schemaRegistry = registry
        options.snapshotIntervalMs = 250
        let engine = try Engine(options: options)
        let scrapes = try metrics.map { try MetricsScrapeLoad(address: $0, snapshots: engine.snapshots) }
        scrapes?.start()
        // When the first and the last message were applied (from the snapshots, once a second): what
        // joining the group costs apart from reading.
        let timeline = SnapshotTimeline()
        engine.onSnapshot = { s in timeline.note(messages: s.kpis.result.messages) }
        let e0 = Measure.start()
        try engine.runHere()
        if let scrapes { print("  " + scrapes.stop()) }
        let snapshot = engine.snapshots.value
        let e2e = e0.stop(messages: Int(snapshot?.kpis.result.messages ?? 0), bytes: corpus.bytes)
        print(e2e.line("end to end (engine)"))
        let seen = timeline.seen
        if let first = seen.first, let last = seen.last {
            print(
                String(
                    format: "  first events seen by %.2f s, the last by %.2f s (snapshots every %.2f s)",
                    first.timeIntervalSince(e0.wall), last.timeIntervalSince(e0.wall),
                    Double(options.snapshotIntervalMs) / 1000))
        }
        if let s = snapshot, let truth { reportComparison(s.kpis.result, truth) }
        let rawAfter = try rawRead("\(prefix)-raw-after")
        print(rawAfter.line("raw librdkafka read again, after the engine"))
        let rawBest = max(rawBefore.eventsPerSecond, rawAfter.eventsPerSecond)
        print(
            String(
                format:
                    "  end to end / raw read rate: %.0f%% (of the faster raw read; %.0f%% of the first, %.0f%% of the second)",
                100 * e2e.eventsPerSecond / max(1, rawBest),
                100 * e2e.eventsPerSecond / max(1, rawBefore.eventsPerSecond),
                100 * e2e.eventsPerSecond / max(1, rawAfter.eventsPerSecond)))
    }
}

extension BenchCommand {
    /// The memory run again with the latency split recorded (as live runs do: `watch` and `demo` set the receive time).
    func measureLatencySplit(corpus: Corpus, memory: Measure.Figures) {
        var best: Measure.Figures? = nil
        for _ in 1...max(1, repeats) {
            let core = EngineCore(profile: .shop)
            core.receivedAtMs = WallClock.nowMs()
            let m0 = Measure.start()
            corpus.feed(core)
            let figures = m0.stop(messages: corpus.count, bytes: corpus.bytes)
            if best == nil || figures.threadCPU < best!.threadCPU { best = figures }
        }
        print(best!.line("memory with the latency split on, best of \(max(1, repeats))"))
        print(
            String(
                format: "  latency split cost: %+.1f%% thread CPU (%.3f s vs %.3f s)",
                100 * (best!.threadCPU / memory.threadCPU - 1), best!.threadCPU, memory.threadCPU))
    }

    /// Decode + aggregate with checkpoints to a SQLite state in a temporary directory, every
    /// `checkpointSeconds` at batch boundaries (as `watch` does), then the restart time, the state's
    /// size on disk and the engine's memory per live key.
    func measureDurableState(corpus: Corpus, memory: Measure.Figures, truth: KPIResult?) throws {
        let directory = NSTemporaryDirectory() + "cdctop-bench-state-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StateIdentity(profile: .shop, topics: corpus.topics)
        struct Run {
            var core: EngineCore
            var engineCPU: Double
            var figures: Measure.Figures
            var checkpoints: Int64
            var exit: Double
            var rssMB: Double
            var heapMB: Double
        }
        var best: Run?
        var firstRunRSS: Double?
        var firstRunHeap = 0.0
        // As many runs as the memory figure had, best kept: the two figures are compared like for like.
        for _ in 1...max(1, repeats) {
            let rssBefore = Measure.currentRSSMB()
            let heapBefore = Measure.heapInUseMB()
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
                    checkpointer.submit(
                        Checkpoint.take(from: core, nowMs: WallClock.nowMs(), recycling: checkpointer.takeRecycled()),
                        snapshot: nil)
                }
            }
            // The engine's share: everything up to here ran on this thread except the checkpoint writes.
            let engineCPU = Measure.threadCPUSeconds() - m0.threadCPU
            let flushStarted = Date()
            checkpointer.flush(Checkpoint.take(from: core, nowMs: WallClock.nowMs()), snapshot: nil)
            let run = Run(
                core: core, engineCPU: engineCPU, figures: m0.stop(messages: corpus.count, bytes: corpus.bytes),
                checkpoints: checkpointer.status.checkpoints, exit: Date().timeIntervalSince(flushStarted),
                rssMB: Measure.currentRSSMB() - rssBefore, heapMB: Measure.heapInUseMB() - heapBefore)
            store.close()
            // Memory is measured on the first run only: later runs reuse what the earlier ones freed.
            if firstRunRSS == nil {
                firstRunRSS = run.rssMB
                firstRunHeap = run.heapMB
            }
            if best == nil || run.engineCPU < best!.engineCPU { best = run }
        }
        let run = best!
        let stateRSS = firstRunRSS ?? run.rssMB
        let core = run.core
        print(
            run.figures.line(
                "memory + durable state (checkpoint every \(checkpointSeconds) s), best of \(max(1, repeats))"))
        print(
            String(
                format:
                    "  %d checkpoints; engine thread %.2f CPU s = %.0f events/s per CPU second, %.1f%% of the memory run's rate; other threads (checkpoint writer) %.2f CPU s; exit checkpoint %.2f s",
                run.checkpoints, run.engineCPU, Double(corpus.count) / run.engineCPU,
                100 * memory.threadCPU / run.engineCPU, max(0, run.figures.cpu - run.figures.threadCPU), run.exit))
        if let truth { reportComparison(core.result, truth) }
        let keys = core.withAggregator { $0.liveKeys }
        let reopened = try StateStore(directory: directory, identity: identity)
        let size = reopened.sizeOnDisk
        print(
            String(
                format:
                    "  state: %d live keys, %d windows; on disk %.1f MB (%.0f B/key); engine RSS %.0f MB (%.0f B/key), heap in use %.0f MB (%.0f B/key), first run",
                keys, core.result.windows.count, Double(size) / 1e6, Double(size) / Double(max(1, keys)),
                stateRSS, stateRSS * 1_048_576 / Double(max(1, keys)), firstRunHeap,
                firstRunHeap * 1_048_576 / Double(max(1, keys))))
        reopened.close()

        let r0 = Date()
        let again = try StateStore(directory: directory, identity: identity)
        let restored = EngineCore(profile: .shop)
        let summary = try again.load(into: restored)
        let restart = Date().timeIntervalSince(r0)
        print(
            String(
                format:
                    "  restart: open + integrity check + load %d keys and %d windows in %.2f s; equals the live state: %@",
                summary.keys, summary.windows, restart, restored.result == core.result ? "yes" : "NO"))
        again.close()
    }
}

/// Says whether a result equals the ground truth, and where it first differs when not.
func reportComparison(_ result: KPIResult, _ truth: KPIResult) {
    // The generator's truth has the built-in fields only: a SQL profile's own KPIs are not compared.
    var result = result
    result.kpiColumns = []
    result.totals.kpis = []
    for i in result.windows.indices { result.windows[i].kpis = [] }
    guard result != truth else {
        print("  result equals ground truth: yes")
        return
    }
    print("  result equals ground truth: NO")
    print(
        "    messages \(result.messages) vs \(truth.messages), malformed \(result.malformed) vs \(truth.malformed), dropped \(result.dropped) vs \(truth.dropped), windows \(result.windows.count) vs \(truth.windows.count)"
    )
    if result.totals != truth.totals {
        print(
            "    totals: tx \(result.totals.txCount) vs \(truth.totals.txCount), revenue \(result.totals.revenue) vs \(truth.totals.revenue)"
        )
    }
    if let i = result.windows.indices.first(where: {
        $0 < truth.windows.count && result.windows[$0] != truth.windows[$0]
    }) {
        let (a, b) = (result.windows[i], truth.windows[i])
        print(
            "    first differing window \(a.windowStartMs)/\(b.windowStartMs): tx \(a.txCount) vs \(b.txCount), revenue \(a.revenue) vs \(b.revenue)"
        )
        for c in Set(a.categoryRevenue.keys).union(b.categoryRevenue.keys).sorted()
        where a.categoryRevenue[c] != b.categoryRevenue[c] {
            print(
                "      \(c): \(a.categoryRevenue[c]?.formatted() ?? "-") vs \(b.categoryRevenue[c]?.formatted() ?? "-")"
            )
        }
    }
}

/// When a run's snapshots first and last showed more messages (written on the engine thread).
final class SnapshotTimeline: Sendable {
    private let state = Mutex<(first: Date?, last: Date?, count: Int64)>((nil, nil, 0))
    func note(messages: Int64) {
        state.withLock { state in
            if messages > 0 && state.first == nil { state.first = Date() }
            if messages > state.count {
                state.last = Date()
                state.count = messages
            }
        }
    }
    var seen: (first: Date?, last: Date?) { state.withLock { ($0.first, $0.last) } }
}

/// All generated messages in one arena, as they would sit in fetch buffers.
extension BenchCommand {
    /// The benchmark's shop workload, whole database transactions only (so the ground truth covers
    /// exactly what is kept), until `messages`; `each` sees every message too.
    func shopCorpus(_ each: (GeneratedMessage) -> Void = { _ in }) -> (ShopWorkload, Corpus) {
        let workload = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: 7, products: 200, customers: 5000,
                snapshotTransactions: 1000, commitsPerSecond: 500))
        var corpus = Corpus()
        var batch: [GeneratedMessage] = []
        while corpus.count < messages {
            batch.removeAll(keepingCapacity: true)
            workload.next(into: &batch)
            for m in batch {
                corpus.append(m, partitions: partitions)
                each(m)
            }
        }
        return (workload, corpus)
    }

    /// `--profile FILE`: the memory run of the shop workload with another profile (a model profile's
    /// engine), best of `repeats`, with the first run's heap held per live key.
    func measureProfile(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let profile = try KPIProfile(tomlText: text, file: path)
        let (workload, corpus) = shopCorpus()
        let truth = workload.groundTruth
        print(
            String(
                format: "profile %@ (%@): %d messages, %.1f MB", path,
                profile.model == nil ? "built-in form" : "SQL KPIs",
                corpus.count, Double(corpus.bytes) / 1e6))
        var best: Measure.Figures? = nil
        for run in 1...max(1, repeats) {
            let heap0 = Measure.heapInUseMB()
            let core = EngineCore(profile: profile)
            let m0 = Measure.start()
            // The first run also counts this thread's heap allocations (a counter bump per malloc: it
            // costs nothing measurable, and the best run is almost never the first, whose maps grow).
            let allocations = run == 1 ? AllocationCount.measure { corpus.feed(core) } : nil
            if allocations == nil { corpus.feed(core) }
            let figures = m0.stop(messages: corpus.count, bytes: corpus.bytes)
            if best == nil || figures.threadCPU < best!.threadCPU { best = figures }
            if let allocations {
                print(
                    String(
                        format: "  heap allocations: %.4f per message (first run, maps growing from empty)",
                        Double(allocations) / Double(max(1, corpus.count))))
            }
            if run == 1 {
                let result = core.result
                if profile.model == nil || (profile.model?.transactions != nil && profile.model?.categorySales != nil) {
                    reportComparison(result, truth)
                }
                for m in core.recentMalformed.prefix(5) { print("    malformed \(m.position): \(m.reason)") }
                let keys = core.aggregator.liveKeys
                print(
                    String(
                        format:
                            "  state: %d live keys, %.0f MB of heap, %.0f B per live key (everything the engine holds)",
                        keys, Measure.heapInUseMB() - heap0,
                        (Measure.heapInUseMB() - heap0) * 1e6 / Double(max(1, keys))))
            }
        }
        let memory = best!
        print(memory.line("memory (decode+aggregate), best of \(max(1, repeats))"))
        print(
            String(
                format: "  per CPU second: %.0f MB/s, %.0f events/s", Double(memory.bytes) / 1e6 / memory.cpu,
                Double(memory.messages) / memory.cpu))
    }
}

extension BenchCommand {
    /// `--avro`: the same messages as JSON and as Avro, each decoded and aggregated from memory.
    func measureAvro() throws {
        // From memory the schemas come from memory; for the broker runs from the registry, as live.
        let client = try registry.client(cacheDirectory: nil)
        let memorySchemas = InMemorySchemaSource()
        let schemas: ConfluentSchemaSource = client ?? memorySchemas
        let encoder = AvroShopEncoder { subject, text in
            guard let client else { return memorySchemas.register(text) }
            do { return try client.register(subject: subject, schema: text) } catch {
                throw RunError("schema registry: \(error)")
            }
        }
        var avroCorpus = Corpus()
        var encodeError: Error?
        let (workload, json) = shopCorpus { m in
            do { avroCorpus.append(try encoder.encode(m), partitions: partitions) } catch { encodeError = error }
        }
        if let encodeError { throw encodeError }
        let truth = workload.groundTruth
        var rates: [Double] = []
        let formats = avroOnly ? [("Avro", avroCorpus)] : [("JSON", json), ("Avro", avroCorpus)]
        for (name, corpus) in formats {
            print(
                String(
                    format: "%@: %d messages, %.1f MB (avg %d B/message)", name, corpus.count,
                    Double(corpus.bytes) / 1e6,
                    corpus.bytes / max(1, corpus.count)))
            var best: Measure.Figures? = nil
            for run in 1...max(1, repeats) {
                let core = EngineCore(profile: .shop)
                core.schemaSource = schemas
                let m0 = Measure.start()
                corpus.feed(core)
                let figures = m0.stop(messages: corpus.count, bytes: corpus.bytes)
                if best == nil || figures.threadCPU < best!.threadCPU { best = figures }
                if run == 1 { reportComparison(core.result, truth) }
            }
            print(best!.line("\(name) decode+aggregate, best of \(max(1, repeats))"))
            print(
                String(
                    format: "  per CPU second: %.0f events/s, %.0f MB/s", Double(best!.messages) / best!.cpu,
                    Double(best!.bytes) / 1e6 / best!.cpu))
            rates.append(Double(best!.messages) / best!.cpu)
        }
        if rates.count == 2 {
            print(String(format: "Avro / JSON events per CPU second: %.2f", rates[1] / rates[0]))
        }
        guard let brokers, let client else { return }
        print(
            "Avro topics through the broker (\(avroCorpus.count) messages, \(avroCorpus.bytes / max(1, avroCorpus.count)) B/message):"
        )
        try measureBroker(corpus: avroCorpus, truth: truth, brokers: brokers, registry: client)
    }
}

struct Corpus {
    struct Entry {
        var topic: Int32
        var partition: Int32
        var offset: Int64
        var key: Range<Int>
        var value: Range<Int>?
    }
    var arena: [UInt8] = []
    var entries: [Entry] = []
    var topics: [String] = []
    var nextOffset: [String: Int64] = [:]
    var bytes = 0
    var count: Int { entries.count }

    mutating func append(_ m: GeneratedMessage, partitions: Int32) {
        var t = topics.firstIndex(of: m.topic)
        if t == nil {
            topics.append(m.topic)
            t = topics.count - 1
        }
        let partition = KcatRecording.murmur2Partition(key: m.key, partitions: partitions)
        let pk = "\(m.topic)/\(partition)"
        let offset = nextOffset[pk, default: 0]
        nextOffset[pk] = offset + 1
        let k = arena.count..<(arena.count + m.key.count)
        arena.append(contentsOf: m.key)
        var v: Range<Int>? = nil
        if let value = m.value {
            v = arena.count..<(arena.count + value.count)
            arena.append(contentsOf: value)
        }
        bytes += m.key.count + (m.value?.count ?? 0)
        entries.append(Entry(topic: Int32(t!), partition: partition, offset: offset, key: k, value: v))
    }

    func feed(_ core: EngineCore) {
        let slots = topics.map { core.decoder.slot(forTopic: $0) }
        arena.withUnsafeBytes { all in
            for e in entries {
                let key = UnsafeRawBufferPointer(rebasing: all[e.key])
                let value = e.value.map { UnsafeRawBufferPointer(rebasing: all[$0]) }
                core.ingest(
                    slot: slots[Int(e.topic)], partition: e.partition, offset: e.offset, timestampMs: 0, key: key,
                    value: value)
            }
        }
    }

    /// Feeds in batches, calling `betweenBatches` at each batch boundary (where checkpoints go).
    func feed(_ core: EngineCore, batch: Int, betweenBatches: () -> Void) {
        let slots = topics.map { core.decoder.slot(forTopic: $0) }
        arena.withUnsafeBytes { all in
            var start = 0
            while start < entries.count {
                for e in entries[start..<min(entries.count, start + batch)] {
                    let key = UnsafeRawBufferPointer(rebasing: all[e.key])
                    let value = e.value.map { UnsafeRawBufferPointer(rebasing: all[$0]) }
                    core.ingest(
                        slot: slots[Int(e.topic)], partition: e.partition, offset: e.offset, timestampMs: 0, key: key,
                        value: value)
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
                try producer.produce(
                    topic: names[Int(e.topic)], partition: e.partition,
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
    let faults: Int
    let systemCPU: Double

    /// CPU time of the calling thread only (the engine's share, without helper threads).
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Bytes malloc has handed out and not had back (heap and mmapped blocks): what the program holds,
    /// unlike RSS, which also counts freed memory malloc keeps and misses memory reused from earlier runs.
    static func heapInUseMB() -> Double {
        let info = mallinfo2()
        return Double(info.uordblks + info.hblkhd) / 1_048_576
    }

    /// Resident memory now (not the peak), from /proc/self/statm.
    static func currentRSSMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    static func start() -> Measure {
        Measure(
            wall: Date(), cpu: ProcessFigures.cpuSeconds(), threadCPU: threadCPUSeconds(),
            faults: ProcessFigures.minorFaults(), systemCPU: ProcessFigures.systemCPUSeconds())
    }
    var elapsed: Double { Date().timeIntervalSince(wall) }

    struct Figures {
        var messages: Int, bytes: Int, seconds: Double, cpu: Double, peakRSSMB: Double, threadCPU: Double = 0
        /// Minor page faults and kernel CPU seconds during the run (memory the state grew into).
        var faults = 0, systemCPU = 0.0
        var eventsPerSecond: Double { Double(messages) / max(seconds, 1e-9) }
        var megabytesPerSecond: Double { Double(bytes) / 1e6 / max(seconds, 1e-9) }
        func line(_ label: String) -> String {
            String(
                format: "%@: %d msgs in %.2f s = %.0f events/s, %.0f MB/s, CPU %.2f s, peak RSS %.0f MB",
                label, messages, seconds, eventsPerSecond, megabytesPerSecond, cpu, peakRSSMB)
        }
    }

    func stop(messages: Int, bytes: Int) -> Figures {
        Figures(
            messages: messages, bytes: bytes, seconds: elapsed, cpu: ProcessFigures.cpuSeconds() - cpu,
            peakRSSMB: ProcessFigures.peakRSSMB(),
            threadCPU: Measure.threadCPUSeconds() - threadCPU, faults: ProcessFigures.minorFaults() - faults,
            systemCPU: ProcessFigures.systemCPUSeconds() - systemCPU)
    }
}

/// `cdctop-dev bench --scale`: the aggregator with a given amount of state already held (windows in
/// retention, products, live keys), then a steady stream of new orders, line items and updates in
/// the newest window. Prints events/s of that stream and the time of a snapshot taken every 1,000
/// events (the engine takes about five a second), and of a warehouse sink's `offer` of it (its
/// comparison under the lock; no connection). Flat columns mean costs follow what changed, not
/// what is held. Times are thread CPU, not wall. Synthetic events (no decoding), so only the aggregator and snapshot are measured.
enum ScaleBenchmark {
    struct Size {
        var windows: Int
        var products: Int
        var keys: Int
    }

    static func run() {
        let sizes = [
            Size(windows: 120, products: 1_000, keys: 10_000),
            Size(windows: 2_880, products: 1_000, keys: 10_000),
            Size(windows: 120, products: 100_000, keys: 10_000),
            Size(windows: 120, products: 1_000, keys: 1_000_000),
            Size(windows: 2_880, products: 100_000, keys: 1_000_000),
        ]
        print(
            "windows held  products  live keys |  events/s  snapshot median  p99        sink offer | heap of the state")
        var rss: [Double] = []
        for size in sizes {
            // Heap in use, not RSS: RSS misses memory that malloc kept from the previous size and reuses.
            let heap0 = Measure.heapInUseMB()
            let core = EngineCore(profile: .shop)
            let start: Int64 = 1_795_000_000_000
            var offset: Int64 = 0
            func apply(_ e: ChangeEvent, partition: Int64) {
                core.withAggregator { $0.apply(e, partitionKey: partition, offset: offset) }
                offset += 1
            }
            // Products and their categories.
            for p in 0..<size.products {
                var row = Row(key: .int(Int64(p)))
                row.category = .value("category \(p % 20)")
                apply(
                    ChangeEvent(
                        table: "product", role: .dimension, op: .read, before: nil, after: row, commitTimeMs: start),
                    partition: 1)
            }
            // Live keys (orders and their line items) spread over the windows held.
            let span = Int64(size.windows) * 30_000
            for k in 0..<size.keys {
                let t = start + Int64(k) * span / Int64(size.keys)
                var order = Row(key: .int(Int64(k)))
                order.amount = .value(Money(cents: Int64(100 + k % 9_000)))
                apply(
                    ChangeEvent(
                        table: "transaction", role: .sale, op: .create, before: nil, after: order, commitTimeMs: t),
                    partition: 2)
                var item = Row(key: .int(Int64(k)))
                item.quantity = .value(Int64(1 + k % 3))
                item.unitPrice = .value(Money(cents: Int64(100 + k % 500)))
                item.reference = .value(.int(Int64(k % size.products)))
                apply(
                    ChangeEvent(
                        table: "transactiondetail", role: .lineItem, op: .create, before: nil, after: item,
                        commitTimeMs: t), partition: 3)
            }
            _ = core.snapshot(sequence: 0, takenAtMs: 0)
            let stateRSS = Measure.heapInUseMB() - heap0
            // The steady stream: new orders with a line item, and updates of recent orders, in the newest window.
            let now = start + span
            var next = Int64(size.keys)
            var snapshotTimes: [Double] = []
            var offerTimes: [Double] = []
            // The published snapshot stays alive until the next one (as the dashboard and mirrors hold
            // it), so whatever the aggregator shares with it is copied on write, as in a real run.
            var published: RunSnapshot?
            // A warehouse sink with no connection: `offer` does its comparison under the lock, as live.
            let sink = WarehouseSink(url: "postgresql://127.0.0.1:1/none", pipeline: "bench-scale")
            let events = 200_000
            let cpu0 = Measure.threadCPUSeconds()
            var snapshotCPU = 0.0
            for i in 0..<events / 3 {
                let t = now + Int64(i) / 10
                var order = Row(key: .int(next))
                order.amount = .value(Money(cents: 4_999))
                apply(
                    ChangeEvent(
                        table: "transaction", role: .sale, op: .create, before: nil, after: order, commitTimeMs: t),
                    partition: 2)
                var item = Row(key: .int(next))
                item.quantity = .value(2)
                item.unitPrice = .value(Money(cents: 1_250))
                item.reference = .value(.int(next % Int64(size.products)))
                apply(
                    ChangeEvent(
                        table: "transactiondetail", role: .lineItem, op: .create, before: nil, after: item,
                        commitTimeMs: t), partition: 3)
                var updated = Row(key: .int(next - 1))
                updated.amount = .value(Money(cents: 5_099))
                apply(
                    ChangeEvent(
                        table: "transaction", role: .sale, op: .update, before: nil, after: updated, commitTimeMs: t),
                    partition: 2)
                next += 1
                if i % 333 == 0 {
                    let s0 = Measure.threadCPUSeconds()
                    published = core.snapshot(sequence: UInt64(i + 1), takenAtMs: t)
                    let took = Measure.threadCPUSeconds() - s0
                    sink.offer(published!)
                    let offered = Measure.threadCPUSeconds() - s0 - took
                    snapshotCPU += took + offered
                    snapshotTimes.append(took * 1000)
                    offerTimes.append(offered * 1000)
                }
            }
            let applyCPU = Measure.threadCPUSeconds() - cpu0 - snapshotCPU
            _ = published
            snapshotTimes.sort()
            offerTimes.sort()
            let median = snapshotTimes[snapshotTimes.count / 2]
            let p99 = snapshotTimes[min(snapshotTimes.count - 1, snapshotTimes.count * 99 / 100)]
            let offerMedian = offerTimes[offerTimes.count / 2]
            print(
                String(
                    format: "%12d  %8d  %9d | %9.0f  %12.3f ms  %6.3f ms  %9.3f ms | %5.0f MB",
                    size.windows, size.products, size.keys, Double(events) / applyCPU, median, p99, offerMedian,
                    stateRSS))
            rss.append(stateRSS)
        }
        // Marginal memory, from pairs of rows that differ in one size only.
        func per(_ a: Int, _ b: Int, _ count: Int) -> Double { max(0, rss[b] - rss[a]) * 1_048_576 / Double(count) }
        print(
            String(
                format:
                    "heap: %.0f B per held window (with 1,000 products selling in it), %.0f B per product, %.0f B per live key (an order or a line item)",
                per(0, 1, sizes[1].windows - sizes[0].windows), per(0, 2, sizes[2].products - sizes[0].products),
                per(0, 3, 2 * (sizes[3].keys - sizes[0].keys))))
    }
}
