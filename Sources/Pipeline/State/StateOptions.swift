/// Where the durable state lives and how often it is checkpointed.
package struct StateOptions: Sendable {
    package var directory: String
    /// Delete any saved state first and rebuild from the earliest offsets.
    package var reset = false
    package var checkpointIntervalMs: Int = 5_000
    /// Checkpoint early once this many changes wait (bounds the journal's memory).
    package var maxPendingChanges: Int = 400_000
    /// When another process holds the directory: start from its latest checkpoint read-only and read on
    /// in memory (a viewer: `Engine.viewerOfPID`), instead of failing with `StateError.locked`.
    package var viewWhenInUse = false

    package init(directory: String) { self.directory = directory }
}
