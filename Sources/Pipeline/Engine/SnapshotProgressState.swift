import Metrics

// Snapshot progress in the durable state (issue 22, item 1). The read counts change only for messages
// the aggregator admitted (`apply` runs after `admit`), so the counts saved with a checkpoint cover
// exactly its offsets: a message redelivered after a restart (SIGKILL included) is refused by the
// restored offsets and not counted twice, and one read after the checkpoint but lost with the process
// is read and counted again.

extension EngineCore {
    /// The snapshot read counts and notification log for a checkpoint, each nil when unchanged since
    /// the previous checkpoint (checkpoints are written in order, so the file keeps the last copy).
    package func takeSnapshotProgressState() -> (reads: [UInt8]?, notifications: [UInt8]?) {
        let decoder = self.decoder
        return (snapshotReads.encodeIfChanged { decoder.topic(ofSlot: $0) }, snapshotNotifications.encodeIfChanged())
    }

    /// Puts back what a checkpoint saved (nil: not saved, as in a state written before cdctop saved
    /// snapshot progress). Called after the held transactions are restored: the saved counts already
    /// include their messages.
    package func restoreSnapshotProgress(reads: [UInt8]?, notifications: [UInt8]?) throws(SnapshotStateError) {
        if let reads {
            let decoder = self.decoder
            try snapshotReads.restore(reads) { decoder.slot(forTopic: $0) }
        }
        if let notifications { try snapshotNotifications.restore(notifications) }
    }
}
