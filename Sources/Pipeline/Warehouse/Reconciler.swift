import Metrics
import Synchronization

/// Compares the engine's running totals with `count(*)`/`sum(amount)` on the source (OLTP) database.
///
/// It does not cry wolf under load: a comparison runs only when the consumer is caught up
/// (`snapshot.caughtUp`, `totalLag == 0`) and no event arrived for `quietSeconds`; otherwise the
/// verdict is `.waiting` with the lag. A difference must also be seen twice in a row, with no event
/// consumed in between, before it is reported as drift — a row committed on the source but still in
/// flight through Debezium shows up once and then is consumed.
public final class Reconciler: Sendable {
    public let saleTable: String
    public let amountColumn: String
    public let everySeconds: Double
    public let quietSeconds: Double
    private let sourceURL: String
    private let worker: WarehouseWorkerThread
    private let state = Mutex(ReconcilerState())

    /// What the reconciler needs from a snapshot (not the whole snapshot: no large copies kept).
    struct EngineView: Equatable {
        var txCount: Int64
        var revenue: Money
        var messages: Int64
        var lag: Int64
        var caughtUp: Bool
    }

    struct ReconcilerState {
        var engine: EngineView?
        /// Monotonic time of the last change of the engine's counters.
        var lastChangeMonotonicMs: Int64 = 0
        var reconciliation: Reconciliation?
        /// A difference seen once, waiting for confirmation: engine view and when it was first seen.
        var suspectedDrift: (engine: EngineView, sinceMs: Int64)?
        var status = ServiceStatus(.connecting, "reconcile: not started")
    }

    public init(sourceURL: String, saleTable: String, amountColumn: String, everySeconds: Double = 10,
                quietSeconds: Double = 1) {
        self.sourceURL = sourceURL; self.saleTable = saleTable; self.amountColumn = amountColumn
        self.everySeconds = max(0.05, everySeconds); self.quietSeconds = max(0, quietSeconds)
        self.worker = WarehouseWorkerThread(name: "cdctop-reconciler")
    }

    deinit { worker.stop(waitSeconds: 1) }

    public func start() { worker.start { [weak self] in self?.run() } }
    public func stop() { worker.stop() }
    /// Compares as soon as possible instead of waiting for the period.
    public func checkNow() { worker.wake() }

    /// Keeps the totals and lag of the latest snapshot; cheap, never blocks on I/O.
    public func offer(_ snapshot: KPISnapshot) {
        let view = EngineView(txCount: snapshot.result.totals.txCount, revenue: snapshot.result.totals.revenue,
                              messages: snapshot.result.messages, lag: snapshot.totalLag, caughtUp: snapshot.caughtUp)
        state.withLock { state in
            if let old = state.engine, old.messages == view.messages, old.txCount == view.txCount,
               old.revenue == view.revenue {
                state.engine = view
                return
            }
            state.engine = view
            state.lastChangeMonotonicMs = WallClock.monotonicMs()
        }
    }

    public var reconciliation: Reconciliation? { state.withLock { $0.reconciliation } }
    public var status: ServiceStatus { state.withLock { $0.status } }

    // MARK: - Worker

    private func run() {
        var connection: PostgresConnection?
        var countSQL: String?
        var backoff = ReconnectBackoff()
        while !worker.isStopping {
            do {
                if connection == nil {
                    state.withLock { $0.status = ServiceStatus(.connecting, "reconcile: connecting to source") }
                    let fresh = try PostgresConnection(sourceURL, applicationName: "cdctop reconciler")
                    // Identifiers come from the profile; quote them, never splice them raw.
                    countSQL = "SELECT count(*), coalesce(sum(\(try fresh.quoteQualifiedIdentifier(amountColumn))), 0)::text FROM \(try fresh.quoteQualifiedIdentifier(saleTable))"
                    connection = fresh
                }
                let nextDelay = try checkOnce(connection!, sql: countSQL!)
                backoff.reset()
                worker.sleep(seconds: nextDelay)
            } catch {
                if !(connection?.isConnected ?? false) { connection = nil }
                let delay = error.isRetriable ? backoff.nextDelay() : everySeconds
                state.withLock {
                    $0.status = ServiceStatus(.error, "reconcile: \(error.shortDescription); retry in \(WallClock.secondsText(delay))")
                }
                worker.sleep(seconds: delay)
            }
        }
    }

    /// One step; returns how long to sleep before the next.
    private func checkOnce(_ connection: PostgresConnection, sql: String) throws(WarehouseError) -> Double {
        let recheck = min(everySeconds, max(quietSeconds, 0.2))
        let (before, quietForMs) = state.withLock { ($0.engine, WallClock.monotonicMs() - $0.lastChangeMonotonicMs) }
        guard let before else {
            publish(.unknown, engine: nil, source: nil, lag: 0, detail: "waiting for the engine's first snapshot")
            return recheck
        }
        if before.lag > 0 || !before.caughtUp {
            let detail = before.lag > 0 ? "consumer lag \(before.lag) messages: compare when caught up"
                                        : "consumer not caught up yet"
            publish(.waiting, engine: before, source: nil, lag: before.lag, detail: detail)
            return recheck
        }
        if Double(quietForMs) < quietSeconds * 1000 {
            publish(.waiting, engine: before, source: nil, lag: 0, detail: "events still arriving")
            return recheck
        }
        let rows = try connection.execute(sql)
        guard let row = rows.rows.first, row.count >= 2 else {
            throw WarehouseError(kind: .badResult, message: "count query returned no row", sql: sql, advice: "")
        }
        let sourceCount = try WarehouseSchema.integer(row[0], sql: sql)
        let sourceRevenue = try WarehouseSchema.money(row[1], sql: sql)
        let after = state.withLock { $0.engine }
        guard let after, after == before else {
            publish(.waiting, engine: after ?? before, source: (sourceCount, sourceRevenue), lag: after?.lag ?? 0,
                    detail: "events arrived during the check")
            return recheck
        }
        let agrees = sourceCount == after.txCount && sourceRevenue == after.revenue
        if agrees {
            state.withLock { $0.suspectedDrift = nil }
            publish(.agree, engine: after, source: (sourceCount, sourceRevenue), lag: 0,
                    detail: "source and engine agree: \(sourceCount) transactions, \(sourceRevenue.formatted())")
            return everySeconds
        }
        let nowMs = WallClock.nowMs()
        let confirmedSince: Int64? = state.withLock { state in
            if let suspected = state.suspectedDrift, suspected.engine == after { return suspected.sinceMs }
            state.suspectedDrift = (after, nowMs)
            return nil
        }
        let drift = "source \(sourceCount) transactions / \(sourceRevenue.formatted()), engine \(after.txCount) / \(after.revenue.formatted()): "
            + "off by \(sourceCount - after.txCount) transactions, \((sourceRevenue - after.revenue).formatted())"
        guard let since = confirmedSince else {
            // First sighting: keep the previous verdict, re-check after the quiet period.
            state.withLock { state in
                if var current = state.reconciliation {
                    current.detail = "re-checking a difference: " + drift
                    state.reconciliation = current
                }
            }
            return recheck
        }
        publish(.drift, engine: after, source: (sourceCount, sourceRevenue), lag: 0, detail: drift, since: since)
        return everySeconds
    }

    private func publish(_ verdict: Reconciliation.Verdict, engine: EngineView?, source: (Int64, Money)?,
                         lag: Int64, detail: String, since: Int64? = nil) {
        let nowMs = WallClock.nowMs()
        state.withLock { state in
            let previous = state.reconciliation
            let sinceMs = previous?.verdict == verdict ? previous!.sinceMs : (since ?? nowMs)
            state.reconciliation = Reconciliation(
                verdict: verdict,
                engineTxCount: engine?.txCount ?? 0,
                sourceTxCount: source?.0 ?? previous?.sourceTxCount ?? 0,
                engineRevenue: engine?.revenue ?? .zero,
                sourceRevenue: source?.1 ?? previous?.sourceRevenue ?? .zero,
                sinceMs: sinceMs, checkedAtMs: nowMs, lagAtCheck: lag, detail: detail)
            let stateKind: ServiceStatus.State = verdict == .drift ? .error : .ok
            state.status = ServiceStatus(stateKind, "reconcile: \(verdict.rawValue), \(detail)")
        }
    }
}
