import Metrics

/// The engine's own counters, saved with every checkpoint.
package struct EngineCounters: Sendable, Hashable {
    package var messages: Int64 = 0
    package var malformed: Int64 = 0
    package var tombstones: Int64 = 0
    package var heartbeats: Int64 = 0
    package var ignored: Int64 = 0
    package var bytes: Int64 = 0
    package var lastHeartbeatMs: Int64 = 0
    package var schemaChangeMessages: Int64 = 0
    package var snapshotDDL: Int64 = 0
    package var schemaChanges: [String: Int64] = [:]
    package init() {}

    /// One message more, of `bytes` bytes (one mutation: one exclusivity check in `ingest`).
    @inline(__always) mutating func countMessage(bytes count: Int64) {
        messages += 1
        bytes += count
    }
}

/// The engine as the state store sees it: what a checkpoint takes from it and what a load restores into
/// it. `EngineCore` conforms (Engine/); declared here so State/ needs nothing from Engine/, which uses
/// the store, the checkpointer and the viewer.
package protocol CheckpointedEngine: AnyObject {
    var profile: KPIProfile { get }
    var counters: EngineCounters { get }
    var lastCommitTimeByPartition: [Int64: Int64] { get }
    /// Transactions held back by `--transactions complete` and their events (0, 0 without it).
    var heldTransactions: (transactions: Int, events: Int) { get }
    func takeChanges(recycling recycled: StateChanges?) -> StateChanges
    func withAggregator<R>(_ body: (inout WindowedAggregator) throws -> R) rethrows -> R
    func topicPartition(ofKey key: Int64) -> (topic: String, partition: Int32)
    func partitionKey(topic: String, partition: Int32) -> Int64
    func restore(counters c: EngineCounters)
    func restoreLastCommitTime(partitionKey: Int64, _ ms: Int64)
    func encodeTransactions(nowMs: Int64) -> [UInt8]
    func restoreTransactions(_ bytes: [UInt8], nowMs: Int64) throws
    func takeSnapshotProgressState() -> (reads: [UInt8]?, notifications: [UInt8]?)
    func restoreSnapshotProgress(reads: [UInt8]?, notifications: [UInt8]?) throws
}
