import Foundation
import Metrics

/// A second `cdctop watch` on a state directory another cdctop writes: it starts from the writer's
/// latest checkpoint, read-only, and reads on in memory with a consumer group of its own that it never
/// commits to. It writes nothing (no state, no offsets, no sink) and stays a viewer if the writer exits:
/// taking the directory over silently would make two processes believe they own it.
package struct StateViewer: Sendable {
    /// The process writing the directory (0 when its lock file names none).
    package var writerPID: Int32
    /// What was restored from the writer's checkpoint.
    package var summary: RestoreSummary
    /// The state as snapshots show it: the directory, what was restored, `viewerOfPID`.
    package var status: StateStatus
    /// The viewer's consumer: a group of its own (`<group>-viewer-<pid>`), auto-commit off.
    package var consumer: KafkaConsumerConfig

    package enum Opened: Sendable {
        /// Nobody holds the directory (or viewing was not asked for): open it as its writer.
        case writable
        case viewer(StateViewer)
    }

    /// Views the directory when another process holds it and `viewWhenInUse` allows; `.writable` otherwise.
    /// The checkpoint is loaded into `core` in one read transaction and the file is closed again at once.
    package static func open(
        _ state: StateOptions, profile: KPIProfile, consumer: KafkaConsumerConfig, into core: some CheckpointedEngine
    ) throws -> Opened {
        guard state.viewWhenInUse, let writer = StateStore.lockHolder(directory: state.directory) else {
            return .writable
        }
        let store = try StateStore(
            viewing: state.directory,
            identity: StateIdentity(profile: profile, topics: consumer.topics),
            writerPID: writer)
        defer { store.close() }
        let summary = try store.load(into: core)
        var status = StateStatus(directory: state.directory)
        status.viewerOfPID = writer
        status.writerGroup = consumer.groupID
        status.restored = summary.text
        status.lastCheckpointMs = summary.isFresh ? 0 : summary.checkpointedAtMs
        var own = consumer
        own.groupID = viewerGroup(of: consumer.groupID)
        // Belt and braces: the engine stores no offset as a viewer, and nothing could commit one anyway.
        own.properties["enable.auto.commit"] = "false"
        return .viewer(StateViewer(writerPID: writer, summary: summary, status: status, consumer: own))
    }

    /// `cdctop` → `cdctop-viewer-4243`: never the writer's group, so its committed offsets stay the writer's.
    package static func viewerGroup(of group: String) -> String { "\(group)-viewer-\(getpid())" }
}
