import Metrics
import Synchronization

/// Writes final windows to `cdctop.kpi_window` / `kpi_category_window` (and a model profile's windowed
/// KPIs to `kpi_group_window`) on its own thread and connection.
///
/// The engine calls `offer(_:)` with every snapshot; the sink keeps, per window start, what it last wrote
/// and what is pending. A window is queued when it is final and differs from what was written; a late
/// correction of a window still pending replaces the pending value (the queue does not grow). The queue
/// is bounded: when it is full, further windows are not queued but also not marked written, so the next
/// snapshot (or the sink itself, once the queue drains) offers them again — nothing is lost while the
/// engine still holds the window, and upserts on (pipeline, window_start) mean nothing is duplicated.
package final class WarehouseSink: Sendable {
    package let pipeline: String
    /// Rows are marked `synthetic` (cdctop demo's generated traffic), so `warehouse seed` may replace them.
    package let synthetic: Bool
    package let maxBacklogWindows: Int
    /// Windows per transaction.
    package let batchSize: Int
    private let url: String
    private let worker: WorkerThread
    private let state = Mutex(SinkState())

    struct SinkState {
        /// What the warehouse holds, as far as this sink knows (confirmed by COMMIT).
        var written: [Int64: WindowResult] = [:]
        /// Final windows new or changed since written, waiting for the worker.
        var pending: [Int64: WindowResult] = [:]
        var windowMs: Int64 = 30_000
        var windowsWritten = 0
        var rewrites = 0
        /// The sequence of the last snapshot compared: the next one is compared only on the windows
        /// its change log says changed since then.
        var lastOffered: UInt64?
        /// The latest snapshot that had windows left out because the backlog was full.
        var deferredSnapshot: RunSnapshot?
        var deferredWindows = 0
        var status = ServiceStatus(.connecting, "warehouse: not started")
        var lastError: WarehouseError?
        /// The warehouse has the `synthetic` column (older ones do not until `warehouse init` upgrades them).
        var hasMarker = false
        /// A model profile's KPIs (from the snapshots): their windowed ones go to `kpi_group_window`.
        /// A window's KPI values are part of `WindowResult`, so a correction of a KPI alone is a change.
        var kpiColumns: [KPIColumns] = []
        /// The warehouse has `cdctop.kpi_group_window` (older ones do not until `warehouse init`).
        var hasKPIGroupTable = false
    }

    package init(
        url: String, pipeline: String, synthetic: Bool = false, maxBacklogWindows: Int = 10_000, batchSize: Int = 500
    ) {
        self.url = url
        self.pipeline = pipeline
        self.synthetic = synthetic
        self.maxBacklogWindows = max(1, maxBacklogWindows)
        self.batchSize = max(1, batchSize)
        self.worker = WorkerThread(name: "cdctop-warehouse-sink")
    }

    deinit { worker.stop(waitSeconds: 1) }

    /// Starts the writer thread. It keeps the sink alive until `stop()`: call it on every exit path.
    package func start() {
        worker.start { [weak self] in self?.run() }
    }

    /// Stops the thread after one last write of what is pending, if the connection is up.
    package func stop() { worker.stop(waitSeconds: 8) }

    /// Takes the final windows of `snapshot` that are new or changed since written. Never blocks on I/O:
    /// a short critical section compares values, then the worker is woken.
    package func offer(_ snapshot: RunSnapshot) {
        guard !snapshot.kpis.finalWindowStarts.isEmpty else { return }
        let queued = state.withLock { state in
            queueChanges(of: snapshot, into: &state)
        }
        if queued { worker.wake() }
    }

    package var status: ServiceStatus { state.withLock { $0.status } }
    package var backlog: Int { state.withLock { $0.pending.count + $0.deferredWindows } }
    /// Window rows upserted so far (a rewrite counts again).
    package var windowsWritten: Int { state.withLock { $0.windowsWritten } }
    /// Rewrites of windows already written (late corrections).
    package var rewrites: Int { state.withLock { $0.rewrites } }
    package var lastError: WarehouseError? { state.withLock { $0.lastError } }

    // MARK: - Queue

    /// Returns true when something was queued. Compares only the windows changed since the snapshot
    /// offered last when the snapshot's change log reaches back to it (O(windows changed)); otherwise,
    /// or while windows are deferred, every final window.
    private func queueChanges(of snapshot: RunSnapshot, into state: inout SinkState) -> Bool {
        state.windowMs = snapshot.kpis.result.windowMs
        if state.kpiColumns != snapshot.kpis.result.kpiColumns { state.kpiColumns = snapshot.kpis.result.kpiColumns }
        let finals = snapshot.kpis.finalWindowStarts
        let changed =
            state.deferredSnapshot == nil
            ? state.lastOffered.flatMap { snapshot.kpis.windowChanges.changes(since: $0) } : nil
        state.lastOffered = snapshot.sequence
        var queued = false
        var deferred = 0
        func consider(_ window: WindowResult) {
            let start = window.windowStartMs
            if let pending = state.pending[start] {
                if pending != window {
                    state.pending[start] = window
                    queued = true
                }
                return
            }
            if state.written[start] == window { return }
            if state.pending.count >= maxBacklogWindows {
                deferred += 1
                return
            }
            state.pending[start] = window
            queued = true
        }
        if let changed {
            for start in changed where finals.contains(start) {
                if let window = snapshot.kpis.result.window(startingAt: start) { consider(window) }
            }
        } else {
            for window in snapshot.kpis.result.windows where finals.contains(window.windowStartMs) { consider(window) }
        }
        state.deferredWindows = deferred
        state.deferredSnapshot = deferred > 0 ? snapshot : nil
        // Forget windows the engine no longer holds, so memory follows the engine's retention.
        if let oldest = snapshot.kpis.result.windows.first?.windowStartMs,
            state.written.count > snapshot.kpis.result.windows.count + batchSize
        {
            state.written = state.written.filter { $0.key >= oldest }
        }
        return queued
    }

    private func takeBatch() -> [WindowResult] {
        state.withLock { state in
            if state.pending.count < maxBacklogWindows, let snapshot = state.deferredSnapshot {
                _ = queueChanges(of: snapshot, into: &state)
            }
            guard !state.pending.isEmpty else { return [] }
            // Oldest first: after an outage the warehouse fills in order.
            let starts = state.pending.keys.sorted().prefix(batchSize)
            return starts.map { state.pending[$0]! }
        }
    }

    private func acknowledge(_ batch: [WindowResult]) {
        state.withLock { state in
            for window in batch {
                let start = window.windowStartMs
                if state.written[start] != nil { state.rewrites += 1 }
                state.written[start] = window
                // A correction that arrived while this batch was in flight stays pending.
                if state.pending[start] == window { state.pending[start] = nil }
            }
            state.windowsWritten += batch.count
            state.lastError = nil
            state.status = ServiceStatus(.ok, okDetail(state))
        }
    }

    private func okDetail(_ state: SinkState) -> String {
        "warehouse: \(state.windowsWritten) windows written, backlog \(state.pending.count + state.deferredWindows)"
    }

    private func setStatus(_ make: (SinkState) -> ServiceStatus) {
        state.withLock { $0.status = make($0) }
    }

    // MARK: - Worker

    private func run() {
        var connection: PostgresConnection?
        var backoff = ReconnectBackoff()
        while !worker.isStopping {
            let batch = takeBatch()
            do {
                // Connect before there is anything to write, so a wrong URL or a missing schema shows at once.
                if connection == nil { connection = try connect() }
                if batch.isEmpty {
                    setStatus { ServiceStatus(.ok, okDetail($0)) }
                    worker.sleep(seconds: 1)
                    continue
                }
                try write(batch, on: connection!)
                backoff.reset()
            } catch {
                connection = nil
                // A wrong password or CA stays wrong until someone acts: retry slowly (the advice says so).
                let delay = backoff.nextDelay(needsPerson: error.needsPerson)
                state.withLock { state in
                    state.lastError = error
                    state.status = ServiceStatus(
                        .error,
                        "warehouse: \(error.shortDescription); backlog \(state.pending.count + state.deferredWindows), retry in \(WallClock.secondsText(delay))",
                        error: "\(error)", attempts: backoff.attempts,
                        nextRetryAtMs: WallClock.nowMs() + Int64(delay * 1000))
                }
                worker.sleep(seconds: delay)
            }
        }
        // One last flush so a clean shutdown leaves the warehouse equal to the engine; only over a live
        // connection, so quitting while PostgreSQL is down does not wait for a connect timeout.
        guard let connection, connection.isConnected else { return }
        var rest = takeBatch()
        while !rest.isEmpty, (try? write(rest, on: connection)) != nil {
            rest = takeBatch()
        }
    }

    private func connect() throws(WarehouseError) -> PostgresConnection {
        // A retry keeps saying why it retries: "connecting" alone would hide the error until it failed again.
        setStatus { state in
            let backlog = state.pending.count + state.deferredWindows
            return ServiceStatus(
                .connecting,
                state.lastError.map { "warehouse: reconnecting after: \($0.shortDescription); backlog \(backlog)" }
                    ?? "warehouse: connecting, backlog \(backlog)")
        }
        let connection = try PostgresConnection(url, applicationName: "cdctop warehouse sink")
        guard try WarehouseSchema.isInitialized(connection) else {
            throw WarehouseError(
                kind: .missingSchema,
                message: "tables cdctop.kpi_window / kpi_category_window not found on \(connection.endpoint)",
                advice: "run `cdctop warehouse init --warehouse URL` to create the cdctop schema")
        }
        let hasMarker = try WarehouseSchema.hasSyntheticMarker(connection)
        let hasKPIGroupTable = try WarehouseSchema.hasKPIGroupTable(connection)
        state.withLock {
            $0.hasMarker = hasMarker
            $0.hasKPIGroupTable = hasKPIGroupTable
        }
        // One writer per pipeline: two viewers at different positions would overwrite each other's windows.
        // The session lock goes with the connection, so a crashed writer frees it at once.
        if let holder = try WarehouseSchema.lockPipeline(pipeline, on: connection) {
            throw WarehouseError(
                kind: .busy,
                message: "another cdctop (\(holder)) is writing pipeline '\(pipeline)' on \(connection.endpoint)",
                advice:
                    "give this run its own --pipeline NAME, or leave out --warehouse; this one takes over when the other stops"
            )
        }
        return connection
    }

    private func write(_ batch: [WindowResult], on connection: PostgresConnection) throws(WarehouseError) {
        let (windowMs, hasMarker, kpiColumns, hasKPIGroupTable) = state.withLock {
            ($0.windowMs, $0.hasMarker, $0.kpiColumns, $0.hasKPIGroupTable)
        }
        if kpiColumns.contains(where: \.windowed), !hasKPIGroupTable {
            throw WarehouseError(
                kind: .missingSchema,
                message:
                    "table cdctop.kpi_group_window not found on \(connection.endpoint) (the profile has windowed model KPIs)",
                advice: "run `cdctop warehouse init --warehouse URL` again to add it (idempotent)")
        }
        // Real windows clear the marker, so one that replaces a seeded row counts as real from then on.
        try WarehouseSchema.write(
            batch, pipeline: pipeline, windowMs: windowMs, synthetic: hasMarker ? synthetic : nil,
            kpiColumns: kpiColumns, on: connection)
        acknowledge(batch)
    }
}
