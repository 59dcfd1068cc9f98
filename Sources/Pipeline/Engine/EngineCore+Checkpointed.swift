import Metrics

/// The state store takes checkpoints from, and loads saved state into, the engine's core.
extension EngineCore: CheckpointedEngine {
    package var heldTransactions: (transactions: Int, events: Int) {
        (transactionBuffer?.openCount ?? 0, transactionBuffer?.bufferedEvents ?? 0)
    }
}
