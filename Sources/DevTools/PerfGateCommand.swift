import App
import ArgumentParser
import CAllocCounter
import Foundation
import Metrics
import Pipeline

/// `cdctop-dev perf-gate`: heap allocations per message on the hot paths, against limits kept in the
/// repository (perf-gate.toml). A count, not a time: a busy machine cannot move it, while a change or
/// a compiler upgrade that undoes a hot-path trick ("read through inout", events filled in place,
/// no per-message String) adds allocations per message and fails the gate.
struct PerfGateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf-gate",
        abstract:
            "Fail when the decoder, aggregator or replay reader allocate more per message than perf-gate.toml allows.",
        discussion: """
            Generates the shop workload (Debezium JSON with schemas), then counts the heap allocations the
            calling thread makes (cdctop-dev's malloc counts them) in:
              decoder        DebeziumDecoder.decode(into:), second pass (steady state: caches warm)
              aggregator     WindowedAggregator.apply of the decoded events, from an empty state
              engine         EngineCore.ingest (decode + aggregate, as the engine runs), from empty
              replay_reader  RecordingReplay without decoding, over a kcat -J recording, one thread
            Measure a release build (scripts/perf-gate does): the limits are for optimised code.
            Exit status 1 names every path over its limit.
            """)

    @Option(help: ArgumentHelp("Limits file.", valueName: "file"))
    var thresholds = "perf-gate.toml"

    @Option(help: "Messages to generate (default: the limits file's `messages`, else 20000).")
    var messages: Int?

    @Flag(help: "Print the measured figures in the limits file's form (to update it after a deliberate change).")
    var printFigures = false

    func run() throws {
        let limits = try GateLimits(path: thresholds)
        let count = messages ?? limits.messages ?? 20_000
        try AllocationCount.checkCounting()

        let workload = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: 7, products: 200, customers: 5_000,
                snapshotTransactions: 1_000, commitsPerSecond: 500))
        var corpus: [GeneratedMessage] = []
        var batch: [GeneratedMessage] = []
        while corpus.count < count {
            batch.removeAll(keepingCapacity: true)
            workload.next(into: &batch)
            corpus.append(contentsOf: batch)
        }
        let n = Double(corpus.count)
        var figures: [(name: String, perMessage: Double)] = []

        // Decoder: one pass to warm its per-topic caches, the second one counted.
        let decoder = DebeziumDecoder(profile: .shop)
        let slots = corpus.map { decoder.slot(forTopic: $0.topic) }
        var events: [ChangeEvent] = []
        events.reserveCapacity(corpus.count)
        var event = ChangeEvent(table: "", role: .other, op: .create, before: nil, after: nil, commitTimeMs: 0)
        for (i, m) in corpus.enumerated() {
            let other = withOptionalBytes(m.value) { decoder.decode(slot: slots[i], value: $0, into: &event) }
            if other == nil { events.append(event) }
        }
        let decodeCount = AllocationCount.measure {
            for (i, m) in corpus.enumerated() {
                _ = withOptionalBytes(m.value) { decoder.decode(slot: slots[i], value: $0, into: &event) }
            }
        }
        figures.append(("decoder", Double(decodeCount) / n))

        // Aggregator: the decoded events applied to an empty state (growth included: it is the same every run).
        let aggregatorCore = EngineCore(profile: .shop)
        let aggregateCount = AllocationCount.measure {
            for (offset, e) in events.enumerated() {
                aggregatorCore.withAggregator { $0.apply(e, partitionKey: 1, offset: Int64(offset)) }
            }
        }
        figures.append(("aggregator", Double(aggregateCount) / Double(max(1, events.count))))

        // The engine's path: decode + aggregate per message, from an empty state.
        let engine = EngineCore(profile: .shop)
        let engineSlots = corpus.map { engine.decoder.slot(forTopic: $0.topic) }
        var offsets: [Int: Int64] = [:]
        let offsetOf: [Int64] = corpus.indices.map { i in
            let o = offsets[engineSlots[i], default: 0]
            offsets[engineSlots[i]] = o + 1
            return o
        }
        let engineCount = AllocationCount.measure {
            for (i, m) in corpus.enumerated() {
                m.key.withUnsafeBytes { key in
                    _ = withOptionalBytes(m.value) { value in
                        engine.ingest(
                            slot: engineSlots[i], partition: 0, offset: offsetOf[i], timestampMs: 0, key: key,
                            value: value)
                    }
                }
            }
        }
        figures.append(("engine", Double(engineCount) / n))

        // Replay reader: a kcat -J recording read and parsed on this thread, without decoding.
        let directory = NSTemporaryDirectory() + "cdctop-perf-gate-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/recording.json"
        let writer = try KcatRecordingWriter(path: path, partitions: 1)
        for m in corpus { try writer.write(m) }
        try writer.flush()
        let replay = RecordingReplay(core: EngineCore(profile: .shop))
        replay.batches = 1
        replay.decode = false
        var replayError: Error?
        let replayCount = AllocationCount.measure {
            do { try replay.replay(path: path) } catch { replayError = error }
        }
        if let replayError { throw RunError("perf-gate: replaying its own recording failed: \(replayError)") }
        guard replay.messages == Int64(corpus.count) else {
            throw RunError(
                "perf-gate: the replay read \(replay.messages) of \(corpus.count) messages; the recording or the reader is broken"
            )
        }
        figures.append(("replay_reader", Double(replayCount) / n))

        try report(figures, limits: limits, messages: corpus.count)
    }

    func report(_ figures: [(name: String, perMessage: Double)], limits: GateLimits, messages: Int) throws {
        print("perf-gate: heap allocations per message, \(messages) shop messages (limits: \(thresholds))")
        var failures: [String] = []
        for (name, value) in figures {
            guard let limit = limits.maxAllocationsPerMessage[name] else {
                failures.append("\(name): no limit in \(thresholds) ([max_allocations_per_message] \(name) = …)")
                continue
            }
            let verdict = value <= limit ? "ok" : "REGRESSED"
            print(
                "  " + name.padding(toLength: 14, withPad: " ", startingAt: 0)
                    + String(format: "%9.4f per message   limit %9.4f   %@", value, limit, verdict))
            if value > limit {
                failures.append(
                    String(format: "%@ allocates %.4f times per message, over its limit of %.4f", name, value, limit))
            }
        }
        if printFigures {
            print("[max_allocations_per_message]")
            for (name, value) in figures { print(String(format: "%@ = %.4f", name, value)) }
        }
        guard failures.isEmpty else {
            var text = "perf-gate FAILED:\n" + failures.map { "  - " + $0 }.joined(separator: "\n")
            text +=
                "\n  A change (or a compiler upgrade) added heap allocations on a hot path: find the new allocation "
                + "(e.g. valgrind --tool=massif, or heaptrack, on `cdctop-dev perf-gate`) and remove it. If the new cost is "
                + "deliberate, raise the limit in \(thresholds) in the same commit and say why."
            throw RunError(text)
        }
        print("perf-gate: ok")
    }
}

/// Counts the calling thread's heap allocations (CAllocCounter's malloc, linked into cdctop-dev).
enum AllocationCount {
    static func measure(_ body: () -> Void) -> UInt64 {
        cdctop_alloc_counting_begin()
        body()
        return cdctop_alloc_counting_end()
    }

    /// A gate whose counter counts nothing passes everything: allocating 1,000 objects must count at least 1,000.
    static func checkCounting() throws {
        final class Probe { var value = 0 }
        var kept: [Probe] = []
        kept.reserveCapacity(1_000)
        let counted = measure {
            for i in 0..<1_000 {
                let p = Probe()
                p.value = i
                kept.append(p)
            }
        }
        guard counted >= 1_000, kept.count == 1_000 else {
            throw RunError(
                "perf-gate: the allocation counter saw \(counted) of 1000 allocations; cdctop-dev's malloc is not the one in use (was it linked statically, or run under a preloaded allocator?)"
            )
        }
    }
}

/// perf-gate.toml: `messages = N` and a `[max_allocations_per_message]` table of `name = number`.
struct GateLimits {
    var messages: Int?
    var maxAllocationsPerMessage: [String: Double] = [:]

    init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw RunError(
                "perf-gate: cannot read the limits file \(path); run from the repository root or pass --thresholds FILE"
            )
        }
        var section = ""
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line =
                rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw RunError("perf-gate: \(path):\(number + 1): expected `name = number`, got '\(line)'")
            }
            switch section {
            case "": if parts[0] == "messages" { messages = Int(value) }
            case "max_allocations_per_message": maxAllocationsPerMessage[parts[0]] = value
            default: throw RunError("perf-gate: \(path):\(number + 1): unknown section [\(section)]")
            }
        }
    }
}

/// Bytes of an optional array as an optional buffer (a tombstone's value is nil).
func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
