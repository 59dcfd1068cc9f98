import Foundation
import Metrics
import Testing

@testable import Pipeline

/// A generated workload placed on partitions as Kafka would place it (same key, same partition),
/// with offsets per partition.
private struct PlacedMessage {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: [UInt8]
    var value: [UInt8]?
    var timestampMs: Int64
}

private func placedWorkload(count: Int, seed: UInt64, partitions: Int32 = 3) -> (
    messages: [PlacedMessage], truth: KPIResult
) {
    let workload = ShopWorkload(config: ShopWorkloadConfig(seed: seed, malformedEvery: 997))
    var generated: [GeneratedMessage] = []
    while generated.count < count { workload.next(into: &generated) }
    var next: [String: Int64] = [:]
    let placed = generated.map { m -> PlacedMessage in
        var h: UInt32 = 2_166_136_261
        for b in m.key { h = (h ^ UInt32(b)) &* 16_777_619 }
        let partition = Int32(h % UInt32(partitions))
        let name = "\(m.topic)#\(partition)"
        let offset = next[name, default: 0]
        next[name] = offset + 1
        return PlacedMessage(
            topic: m.topic, partition: partition, offset: offset, key: m.key, value: m.value, timestampMs: m.timestampMs
        )
    }
    return (placed, workload.groundTruth)
}

private func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "cdctop-state-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private struct Outcome: Equatable {
    var result: KPIResult
    var tombstones: Int64
    var duplicates: Int64
    var unmatched: Int64
    var lateCorrections: Int64
    var tables: [TableStats]

    init(_ core: EngineCore) {
        result = core.result
        tombstones = core.tombstones
        duplicates = core.aggregator.duplicates
        unmatched = core.aggregator.unmatched
        lateCorrections = core.aggregator.lateCorrections
        tables = core.aggregator.tables.sorted { $0.table < $1.table }.map {
            var t = $0
            t.eventsPerSecond = 0
            return t
        }
    }
}

@Suite("Durable state: checkpoints and restarts")
struct StateStoreTests {
    let topics = ["^shop\\.public\\..*"]
    var identity: StateIdentity { StateIdentity(profile: .shop, topics: topics) }

    @Test("a restart from any checkpoint, any number of times, equals an uninterrupted run")
    func crashAndRestartEqualsUninterrupted() throws {
        let (messages, truth) = placedWorkload(count: 24_000, seed: 11)
        let reference = EngineCore(profile: .shop)
        for m in messages {
            reference.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
        #expect(reference.result == truth, "the uninterrupted run itself equals the generator's ground truth")

        var rng = SeededRandom(seed: 5)
        for round in 0..<3 {
            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var index = 0
            var crashes = 0
            var finished = false
            while !finished {
                // A new process: open the state, load it, resume every partition at its checkpoint.
                let store = try StateStore(directory: directory, identity: identity)
                let core = EngineCore(profile: .shop)
                let summary = try store.load(into: core)
                #expect(summary.isFresh == (crashes == 0))
                core.journaling = true
                var resume: [String: Int64] = [:]
                for p in summary.partitions { resume["\(p.topic)#\(p.partition)"] = p.nextOffset }
                // Kafka hands out each partition from its resume offset; the global order stays the generator's.
                index = 0
                let crashAt = crashes < 4 ? Int(rng.nextUInt64() % UInt64(messages.count)) : Int.max
                var sinceCheckpoint = 0
                var recycled: StateChanges?
                while index < messages.count {
                    let m = messages[index]
                    index += 1
                    if m.offset < resume["\(m.topic)#\(m.partition)", default: 0] { continue }
                    core.ingest(
                        topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs,
                        key: m.key, value: m.value)
                    sinceCheckpoint += 1
                    if sinceCheckpoint >= 500 + Int(rng.nextUInt64() % 3_000) {
                        // As the engine does: the journal reuses the memory of the one written before.
                        let checkpoint = Checkpoint.take(from: core, nowMs: Int64(index), recycling: recycled)
                        recycled = nil
                        try store.write(checkpoint)
                        recycled = checkpoint.changes
                        sinceCheckpoint = 0
                    }
                    if index == crashAt { break }  // SIGKILL: whatever was not checkpointed is lost
                }
                if index >= messages.count && crashAt == Int.max {
                    try store.write(Checkpoint.take(from: core, nowMs: Int64(index)))
                    #expect(Outcome(core) == Outcome(reference), "round \(round): after \(crashes) crashes")
                    finished = true
                } else if index >= messages.count {
                    crashes += 1  // the crash point fell after the end: crash at the end instead
                } else {
                    crashes += 1
                }
                store.close()
            }
            // And a restart after the last clean checkpoint loads exactly the final state.
            let store = try StateStore(directory: directory, identity: identity)
            let restored = EngineCore(profile: .shop)
            let summary = try store.load(into: restored)
            #expect(Outcome(restored) == Outcome(reference))
            #expect(summary.keys > 0 && summary.text.hasPrefix("restored "))
            store.close()
        }
    }

    @Test("line items parked across a restart get their categories, per window, when the product rows arrive")
    func parkedLineItemsAcrossARestart() throws {
        let (messages, truth) = placedWorkload(count: 12_000, seed: 21)
        let isProduct = { (m: PlacedMessage) in m.topic.hasSuffix(".product") }
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try StateStore(directory: directory, identity: identity)
            let core = EngineCore(profile: .shop)
            _ = try store.load(into: core)
            core.journaling = true
            for m in messages where !isProduct(m) {
                core.ingest(
                    topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                    value: m.value)
            }
            try store.write(Checkpoint.take(from: core, nowMs: 1))
            store.close()
        }
        let store = try StateStore(directory: directory, identity: identity)
        defer { store.close() }
        let core = EngineCore(profile: .shop)
        _ = try store.load(into: core)
        for m in messages where isProduct(m) {
            core.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
        #expect(core.result == truth)
        #expect(core.result.windows.contains { !$0.categoryRevenue.isEmpty })
    }

    @Test("a dropped partition takes its contributions with it, in memory and in the saved state")
    func droppedPartitionLeavesNoTrace() throws {
        let (messages, _) = placedWorkload(count: 9_000, seed: 8)
        let dropped = (topic: "shop.public.transaction", partition: Int32(1))
        let isDropped = { (m: PlacedMessage) in m.topic == dropped.topic && m.partition == dropped.partition }
        // Without that partition from the start (the dimension, product rows, is shared and kept).
        let without = EngineCore(profile: .shop)
        for m in messages where !isDropped(m) {
            without.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try StateStore(directory: directory, identity: identity)
        let core = EngineCore(profile: .shop)
        _ = try store.load(into: core)
        core.journaling = true
        // Half is saved before the drop; the rest is still in the journal when the partition goes.
        for (i, m) in messages.enumerated() {
            core.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
            if i == messages.count / 2 { try store.write(Checkpoint.take(from: core, nowMs: 1)) }
        }
        #expect(core.result.totals != without.result.totals, "the partition holds sales")
        let key = core.partitionKey(topic: dropped.topic, partition: dropped.partition)
        core.withAggregator { $0.dropPartition(key) }
        #expect(core.result.totals == without.result.totals)
        #expect(core.result.windows == without.result.windows)
        try store.write(Checkpoint.take(from: core, nowMs: 2))
        store.close()

        let reopened = try StateStore(directory: directory, identity: identity)
        defer { reopened.close() }
        let restored = EngineCore(profile: .shop)
        let summary = try reopened.load(into: restored)
        #expect(!summary.partitions.contains { $0.topic == dropped.topic && $0.partition == dropped.partition })
        #expect(restored.result.totals == without.result.totals)
        #expect(restored.result.windows == without.result.windows)
    }

    @Test("a torn or truncated state file is named and refused, never used")
    func truncatedFileIsRefused() throws {
        let (messages, _) = placedWorkload(count: 6_000, seed: 3)
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try StateStore(directory: directory, identity: identity)
            let core = EngineCore(profile: .shop)
            _ = try store.load(into: core)
            core.journaling = true
            for m in messages {
                core.ingest(
                    topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                    value: m.value)
            }
            try store.write(Checkpoint.take(from: core, nowMs: 1))
            store.close()
        }
        // Fold the WAL into the file, then cut the file in half.
        let path = directory + "/state.db"
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [path, "PRAGMA wal_checkpoint(TRUNCATE);"]
        try sqlite.run()
        sqlite.waitUntilExit()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 8_192)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()

        do {
            let store = try StateStore(directory: directory, identity: identity)
            _ = try store.load(into: EngineCore(profile: .shop))
            Issue.record("a truncated state file was used")
        } catch let error as StateError {
            #expect(error.kind == .corrupt)
            #expect(error.message.contains(path) && error.message.contains("--state-reset"), "\(error.message)")
        }
        // --state-reset starts afresh.
        let store = try StateStore(directory: directory, identity: identity, reset: true)
        #expect(try store.load(into: EngineCore(profile: .shop)).isFresh)
        store.close()
    }

    @Test("a file that is not a state database is refused")
    func garbageFileIsRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("this is not sqlite, just text that happens to be here\n".utf8).write(
            to: URL(fileURLWithPath: directory + "/state.db"))
        #expect(throws: StateError.self) { _ = try StateStore(directory: directory, identity: identity) }
        try Data().write(to: URL(fileURLWithPath: directory + "/state.db"))
        do {
            _ = try StateStore(directory: directory, identity: identity)
            Issue.record("an empty state file was used")
        } catch let error as StateError {
            #expect(error.kind == .corrupt && error.message.contains("empty"), "\(error.message)")
        }
    }

    @Test("one process per state directory; the refusal names the holder's pid")
    func secondOpenIsRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try StateStore(directory: directory, identity: identity)
        // flock is per open file description: a second open in this process conflicts like another process would.
        do {
            _ = try StateStore(directory: directory, identity: identity)
            Issue.record("the same state directory was opened twice")
        } catch let error as StateError {
            #expect(error.kind == .locked)
            #expect(error.message.contains("pid \(getpid())") && error.message.contains("--state"), "\(error.message)")
        }
        first.close()
        let again = try StateStore(directory: directory, identity: identity)
        again.close()
    }

    @Test("a state built by another profile or other topics is refused")
    func otherProfileOrTopicsIsRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try StateStore(directory: directory, identity: identity).close()
        do {
            _ = try StateStore(directory: directory, identity: StateIdentity(profile: .samples, topics: topics))
            Issue.record("a state of another profile was used")
        } catch let error as StateError {
            #expect(error.kind == .mismatch && error.message.contains("profile"), "\(error.message)")
        }
        do {
            _ = try StateStore(directory: directory, identity: StateIdentity(profile: .shop, topics: ["other"]))
            Issue.record("a state of other topics was used")
        } catch let error as StateError {
            #expect(error.kind == .mismatch && error.message.contains("topics"), "\(error.message)")
        }
    }
}
