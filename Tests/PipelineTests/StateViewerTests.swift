import Foundation
import Metrics
import Testing

@testable import Pipeline

/// A viewer of a state directory another process writes (`StateStore(viewing:)`, issue 24 item 9): it loads
/// one whole checkpoint, never a torn one, while the writer keeps committing; it finds the writer by its
/// lock; it writes nothing.
@Suite("State viewer: the latest checkpoint, read-only")
struct StateViewerTests {
    let identity = StateIdentity(profile: .shop, topics: ["^shop\\.public\\..*"])

    /// The generator's messages with per-topic offsets (one partition per topic is enough here).
    static func messages(_ count: Int) -> [GeneratedMessage] {
        let workload = ShopWorkload(config: ShopWorkloadConfig(seed: 31, malformedEvery: 0))
        var out: [GeneratedMessage] = []
        while out.count < count { workload.next(into: &out) }
        return out
    }

    /// What the writer thread shares with the test: each checkpoint's result, and whether it is done.
    final class Written: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [Int64: KPIResult] = [:]
        private var finished = false
        func record(_ r: KPIResult) { lock.withLock { results[r.messages] = r } }
        func result(messages: Int64) -> KPIResult? { lock.withLock { results[messages] } }
        func finish() { lock.withLock { finished = true } }
        var isFinished: Bool { lock.withLock { finished } }
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "cdctop-viewer-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("each load while the writer commits equals the writer's state at one of its checkpoints")
    func consistentWhileWriting() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let messages = Self.messages(30_000)
        let store = try StateStore(directory: directory, identity: identity)
        defer { store.close() }
        let writerCore = EngineCore(profile: .shop)
        _ = try store.load(into: writerCore)
        writerCore.journaling = true
        // messages applied → the result at that checkpoint, as the writer had it.
        let written = Written()
        // The writer's core is used by the writer thread alone until it finishes.
        nonisolated(unsafe) let threadCore = writerCore
        let writer = Thread { [messages] in
            var offsets: [String: Int64] = [:]
            for (i, m) in messages.enumerated() {
                let offset = offsets[m.topic, default: 0]
                offsets[m.topic] = offset + 1
                threadCore.ingest(
                    topic: m.topic, partition: 0, offset: offset, timestampMs: m.timestampMs, key: m.key, value: m.value
                )
                if (i + 1) % 1_500 == 0 || i == messages.count - 1 {
                    // Recorded before the write commits: a viewer may see it as soon as it is committed.
                    written.record(threadCore.result)
                    try? store.write(Checkpoint.take(from: threadCore, nowMs: Int64(i)))
                }
            }
            written.finish()
        }
        writer.start()
        var loads = 0
        var nonEmpty = 0
        while !written.isFinished || loads < 3 {
            #expect(
                StateStore.lockHolder(directory: directory) == getpid(), "the writer holds the lock and names its pid")
            let viewer: StateStore
            do { viewer = try StateStore(viewing: directory, identity: identity, writerPID: getpid()) } catch {
                Issue.record("the viewer could not open the state: \(error)")
                break
            }
            let core = EngineCore(profile: .shop)
            let summary = try viewer.load(into: core)
            viewer.close()
            loads += 1
            guard !summary.isFresh else { continue }
            nonEmpty += 1
            let expected = written.result(messages: core.result.messages)
            #expect(
                expected != nil && core.result == expected,
                "load \(loads): \(core.result.messages) messages is no checkpoint the writer wrote whole")
        }
        while !written.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        #expect(nonEmpty >= 1, "no load saw a checkpoint")
        // After the last checkpoint, a viewer sees exactly the writer's final state.
        let viewer = try StateStore(viewing: directory, identity: identity, writerPID: getpid())
        let last = EngineCore(profile: .shop)
        _ = try viewer.load(into: last)
        viewer.close()
        #expect(last.result == writerCore.result)
    }

    @Test("a viewer writes nothing: its write is refused and the files stay byte for byte")
    func writesNothing() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try StateStore(directory: directory, identity: identity)
        let core = EngineCore(profile: .shop)
        _ = try store.load(into: core)
        core.journaling = true
        for (i, m) in Self.messages(3_000).enumerated() {
            core.ingest(
                topic: m.topic, partition: 0, offset: Int64(i), timestampMs: m.timestampMs, key: m.key, value: m.value)
        }
        try store.write(Checkpoint.take(from: core, nowMs: 1))
        func files() throws -> [String: Data] {
            var out: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: directory) where !name.hasSuffix("-shm") {
                out[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
            }
            return out
        }
        let before = try files()
        let viewer = try StateStore(viewing: directory, identity: identity, writerPID: getpid())
        let viewed = EngineCore(profile: .shop)
        _ = try viewer.load(into: viewed)
        #expect(viewed.result == core.result)
        #expect(throws: StateError.self) { try viewer.write(Checkpoint.take(from: viewed, nowMs: 2)) }
        viewer.close()
        #expect(try files() == before, "the viewer changed a file of the state directory")
        store.close()
        #expect(StateStore.lockHolder(directory: directory) == nil, "no lock once the writer closed")
        let missing = directory + "/nothing-here"
        #expect(
            StateStore.lockHolder(directory: missing) == nil && !FileManager.default.fileExists(atPath: missing),
            "probing a directory creates nothing")
    }
}
