import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Snapshot progress across a restart (issue 22, item 1): the read counts and the notification log are
/// saved with each checkpoint, so a cdctop killed mid-snapshot continues its rows read, start, rate and
/// tables done exactly, neither losing the rows read before nor counting twice those redelivered.
@Suite struct SnapshotProgressRestoreTests {
    static let start: Int64 = 1_796_635_678_600
    // Not a table the notifications name (those are another connector's): a run of its own, from rows alone.
    static let rowsTopic = "snaprows.public.orders"
    static let notesTopic = "snapexp.notifications"
    static let rows = 6_000

    /// The messages of a 6,000-row snapshot on two partitions (row i on partition i % 2, made at 3 rows
    /// per 2 ms with the pace halving after the first 4,000, the last marked), interleaved with the six
    /// real notifications of another connector, in the order one consumer would read them.
    static func messages() throws -> [OwnedMessage] {
        var out: [OwnedMessage] = []
        var offsets: [Int32: Int64] = [0: 0, 1: 0]
        let notes = try SnapshotNotificationTests.notificationLines()
        for i in 0..<rows {
            let at = start + (i < 4_000 ? Int64(i) * 2 / 3 : 2_666 + Int64(i - 4_000) * 4 / 3)
            let marker = i == 0 ? "first" : i == rows - 1 ? "last" : "true"
            let p = Int32(i % 2)
            out.append(
                OwnedMessage(
                    topic: rowsTopic, partition: p, offset: offsets[p]!, timestampMs: at, key: nil,
                    value: SnapshotNotificationTests.row(id: i, marker: marker, tsMs: at)))
            offsets[p]! += 1
            if i % 1_000 == 999, i / 1_000 < notes.count {
                let n = i / 1_000
                out.append(
                    OwnedMessage(
                        topic: notesTopic, partition: 0, offset: Int64(n), timestampMs: at, key: nil,
                        value: Array(notes[n].utf8)))
            }
        }
        return out
    }

    static func feed(_ core: EngineCore, _ messages: some Sequence<OwnedMessage>) {
        for m in messages {
            core.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
    }

    static func rowsRun(_ report: SnapshotProgressReport) -> ConnectorSnapshotProgress? {
        report.snapshots.first { $0.connector == "snaprows" }
    }

    @Test func aKilledRunContinuesItsSnapshotProgressExactly() throws {
        let directory = NSTemporaryDirectory() + "cdctop-snapshot-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StateIdentity(profile: .shop, topics: ["^snap.*"])
        let all = try Self.messages()
        // The independent count: distinct snapshot rows among the messages up to a point.
        func rowsAmong(_ prefix: ArraySlice<OwnedMessage>) -> Int64 {
            Int64(prefix.filter { $0.topic == Self.rowsTopic }.count)
        }

        let uninterrupted = EngineCore(profile: .shop)
        Self.feed(uninterrupted, all)
        let expected = uninterrupted.snapshotProgress()
        #expect(Self.rowsRun(expected)?.rowsRead == Int64(Self.rows) && Self.rowsRun(expected)?.phase == .completed)

        // First run: 2,500 messages checkpointed, 1,500 more read, then killed (nothing written at exit).
        let first = EngineCore(profile: .shop)
        let store = try StateStore(directory: directory, identity: identity)
        _ = try store.load(into: first)
        first.journaling = true
        Self.feed(first, all[..<2_500])
        let atCheckpoint = first.snapshotProgress()
        #expect(Self.rowsRun(atCheckpoint)?.rowsRead == rowsAmong(all[..<2_500]))
        #expect(atCheckpoint.notificationsRead == 2)
        try store.write(Checkpoint.take(from: first, nowMs: Self.start + 2_000))
        // An unchanged progress is not written again.
        let idle = Checkpoint.take(from: first, nowMs: Self.start + 2_100)
        #expect(idle.snapshotReads == nil && idle.snapshotNotifications == nil)
        try store.write(idle)
        Self.feed(first, all[2_500..<4_000])
        #expect(Self.rowsRun(first.snapshotProgress())?.rowsRead == rowsAmong(all[..<4_000]))
        store.close()

        // Second run: the checkpoint's progress as it was, start, rate, tables and notifications included.
        let second = EngineCore(profile: .shop)
        let reopened = try StateStore(directory: directory, identity: identity)
        defer { reopened.close() }
        _ = try reopened.load(into: second)
        #expect(second.snapshotProgress() == atCheckpoint)
        let restoredRun = try #require(Self.rowsRun(second.snapshotProgress()))
        #expect(restoredRun.startedAtMs == Self.start && restoredRun.rowsPerSecond != nil)
        // Kafka redelivers from the group's older commit (offset 0 here): what the checkpoint covered is
        // refused, what was lost with the process is read again.
        Self.feed(second, all[..<3_000])
        #expect(Self.rowsRun(second.snapshotProgress())?.rowsRead == rowsAmong(all[..<3_000]))
        Self.feed(second, all)
        let finished = second.snapshotProgress()
        #expect(Self.rowsRun(finished)?.rowsRead == Int64(Self.rows))
        #expect(finished == expected)
    }

    @Test func aStateSavedBeforeSnapshotProgressWasSavedStillLoads() throws {
        let directory = NSTemporaryDirectory() + "cdctop-snapshot-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StateIdentity(profile: .shop, topics: ["^snap.*"])
        let all = try Self.messages()
        let first = EngineCore(profile: .shop)
        let store = try StateStore(directory: directory, identity: identity)
        _ = try store.load(into: first)
        first.journaling = true
        Self.feed(first, all[..<2_500])
        try store.write(Checkpoint.take(from: first, nowMs: Self.start + 2_000))
        store.close()
        // What a cdctop of the previous version wrote: no snapshot_progress table at all.
        let database = try SQLiteDatabase(path: directory + "/state.db")
        try database.execute("DROP TABLE snapshot_progress")
        database.close()

        let second = EngineCore(profile: .shop)
        let reopened = try StateStore(directory: directory, identity: identity)
        defer { reopened.close() }
        let summary = try reopened.load(into: second)
        #expect(!summary.isFresh && second.messages == 2_500)
        #expect(second.snapshotProgress().isEmpty)
        // It continues from the saved offsets (nothing counted twice), the earlier rows unknown.
        Self.feed(second, all)
        #expect(
            Self.rowsRun(second.snapshotProgress())?.rowsRead
                == Int64(all[2_500...].filter { $0.topic == Self.rowsTopic }.count))
    }

    @Test func aDamagedOrUnknownSavedProgressIsReportedNotGuessed() throws {
        var tracker = SnapshotReadTracker()
        tracker.note(slot: 0, marker: .first, atMs: Self.start, receivedAtMs: Self.start)
        let saved = try #require(tracker.encodeIfChanged { _ in Self.rowsTopic })
        var restored = SnapshotReadTracker()
        try restored.restore(saved) { _ in 3 }
        #expect(restored.bySlot.count == 4 && restored.bySlot[3][0] == tracker.bySlot[0][0])
        #expect(throws: SnapshotStateError.self) { try restored.restore(Array(saved.dropLast(3))) { _ in 0 } }
        var future = saved
        future[8 + 22] = UInt8(ascii: "9")  // "cdctop-snapshot-reads-9": a later format
        #expect(throws: SnapshotStateError.self) { try restored.restore(future) { _ in 0 } }
    }
}
