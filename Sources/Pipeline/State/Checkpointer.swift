import Dispatch
import Metrics
import Synchronization

/// Writes checkpoints on its own thread so the engine never waits on the disk. The engine hands
/// one over at a batch boundary only when the previous one is done (`isIdle`); a checkpoint that
/// failed (disk full, say) is kept and written again before the next, so no change is ever lost
/// from the file: deltas apply in order.
package final class Checkpointer: @unchecked Sendable {
    package let store: StateStore
    private let queue = DispatchQueue(label: "cdctop-checkpoint", qos: .utility)
    private let state = Mutex<Progress>(Progress())

    struct Progress {
        var busy = false
        var pending: [Checkpoint] = []
        var status = StateStatus()
        /// Offsets covered by the last durable checkpoint, not yet handed to the consumer.
        var durableOffsets: [PartitionCheckpoint]?
        /// The last written checkpoint's changes, handed back to the engine to reuse their memory.
        var recycled: StateChanges?
    }

    /// Called on the checkpoint thread after each durable write, with the snapshot taken at the
    /// same batch boundary (the warehouse writes from it: it never sees state a crash could lose).
    package var onDurable: (@Sendable (RunSnapshot?) -> Void)?

    package init(store: StateStore) {
        self.store = store
        state.withLock { $0.status = StateStatus(directory: store.directory) }
    }

    package var isIdle: Bool { state.withLock { !$0.busy && $0.pending.isEmpty } }
    package var status: StateStatus { state.withLock { $0.status } }

    /// Records what the start restored; the restored checkpoint counts as the last one until a new one is written.
    package func noteRestored(_ summary: RestoreSummary) {
        state.withLock { p in
            p.status.restored = summary.text
            if !summary.isFresh { p.status.lastCheckpointMs = summary.checkpointedAtMs }
        }
    }

    /// Offsets the file now covers (once per durable checkpoint), for committing to the group.
    package func takeDurableOffsets() -> [PartitionCheckpoint]? {
        state.withLock { p in
            defer { p.durableOffsets = nil }
            return p.durableOffsets
        }
    }

    /// Queues a checkpoint for the checkpoint thread.
    package func submit(_ checkpoint: Checkpoint, snapshot: RunSnapshot?) {
        state.withLock {
            $0.pending.append(checkpoint)
            $0.busy = true
        }
        queue.async { [self] in drain(snapshot: snapshot) }
    }

    /// Writes what is pending on the calling thread's behalf and waits (clean exit).
    package func flush(_ checkpoint: Checkpoint?, snapshot: RunSnapshot?) {
        if let checkpoint {
            state.withLock {
                $0.pending.append(checkpoint)
                $0.busy = true
            }
        }
        queue.sync { drain(snapshot: snapshot) }
    }

    private func drain(snapshot: RunSnapshot?) {
        while let next = state.withLock({ $0.pending.first }) {
            do {
                try store.write(next)
                state.withLock { p in
                    p.pending.removeFirst()
                    p.status.lastCheckpointMs = WallClock.nowMs()
                    p.status.checkpoints += 1
                    p.status.lastError = nil
                    p.durableOffsets = next.partitions
                }
                // Emptied here, on this thread: the sale and line-item lists are freed as soon as they
                // are written instead of being held until the next checkpoint.
                var written = next.changes
                written.clearKeepingCapacity()
                state.withLock { $0.recycled = written }
            } catch {
                // Kept for the next attempt (the engine submits again at its next interval).
                state.withLock { p in
                    p.status.lastError = "\(error)"
                    p.busy = false
                }
                return
            }
        }
        state.withLock { $0.busy = false }
        onDurable?(snapshot)
    }

    /// Blocks until the checkpoint in flight is written (or failed).
    package func waitUntilWritten() { queue.sync {} }

    /// Retries a failed checkpoint (the engine calls this at its checkpoint interval).
    package func retryPending() {
        let hasPending = state.withLock { p -> Bool in
            guard !p.busy, !p.pending.isEmpty else { return false }
            p.busy = true
            return true
        }
        if hasPending { queue.async { [self] in drain(snapshot: nil) } }
    }

    /// Takes the last written journal back (nil if none is free), for `Checkpoint.take(recycling:)`.
    package func takeRecycled() -> StateChanges? {
        state.withLock { p in
            defer { p.recycled = nil }
            return p.recycled
        }
    }

    package var hasPendingFailure: Bool { state.withLock { !$0.busy && !$0.pending.isEmpty } }
}
