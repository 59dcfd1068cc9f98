import Metrics
import Synchronization

/// Compares the engine's running totals with the source (OLTP) database.
///
/// - A model profile (`[kpi.NAME] sql = "…"`): every KPI, each group included, with the KPI's own query
///   printed back from the compiled model (`ReconcileSQL`), float columns read exactly as Debezium
///   sends them; the differences name the KPI, the group and both values (`differences`).
/// - The built-in shop form: `count(*)`/`sum(amount)` of the sale table as before, plus the category
///   sales (line items joined to the dimension) when the profile has them and the source has the tables.
///
/// It does not cry wolf under load: a comparison runs only when the consumer is caught up
/// (`snapshot.caughtUp`, `totalLag == 0`) and no event arrived for `quietSeconds`; otherwise the
/// verdict is `.waiting` with the lag. A difference must also be seen twice in a row, with no event
/// consumed in between, before it is reported as drift — a row committed on the source but still in
/// flight through Debezium shows up once and then is consumed.
package final class Reconciler: Sendable {
    package let saleTable: String
    package let amountColumn: String
    package let everySeconds: Double
    package let quietSeconds: Double
    private let sourceURL: String
    private let mode: Mode
    private let worker: WorkerThread
    private let state = Mutex(ReconcilerState())

    /// At most this many differences are kept (the first ones, in KPI and group order).
    package static let maxDifferences = 100

    enum Mode: Sendable {
        case legacy(lineItem: KPIProfile.LineItemTable?, dimension: KPIProfile.DimensionTable?, uncategorized: String)
        case model(KPIModel, columns: [KPIColumns], overrides: [String: String])
    }

    /// What the reconciler needs from a snapshot. The KPI values are copy-on-write references, not copies;
    /// equality reads the counters only (every consumed event moves `messages`).
    struct EngineView: Equatable {
        var txCount: Int64
        var revenue: Money
        var messages: Int64
        var lag: Int64
        var caughtUp: Bool
        var kpis: [KPIValues] = []
        var categories: [String: Money] = [:]

        static func == (a: EngineView, b: EngineView) -> Bool {
            a.txCount == b.txCount && a.revenue == b.revenue && a.messages == b.messages && a.lag == b.lag
                && a.caughtUp == b.caughtUp
        }
    }

    /// The queries of one connection, built from the source's catalog when it connects.
    struct Plan {
        var types: SourceColumnTypes
        var totalsSQL: String?
        var categorySQL: String?
        var queries: [ReconcileQuery] = []
        /// KPIs whose query the source refused (name: reason), left out of the comparison.
        var skipped: [(String, String)] = []
    }

    struct ReconcilerState {
        var engine: EngineView?
        /// Monotonic time of the last change of the engine's counters.
        var lastChangeMonotonicMs: Int64 = 0
        var reconciliation: Reconciliation?
        var differences: [KPIDifference] = []
        var queries: [ReconcileQuery] = []
        /// A difference seen once, waiting for confirmation: engine view and when it was first seen.
        var suspectedDrift: (engine: EngineView, sinceMs: Int64)?
        var status = ServiceStatus(.connecting, "reconcile: not started")
    }

    /// The built-in shop form, sale table only: `count(*)` and `sum(amount)`.
    package convenience init(
        sourceURL: String, saleTable: String, amountColumn: String, everySeconds: Double = 10,
        quietSeconds: Double = 1
    ) {
        self.init(
            sourceURL: sourceURL, saleTable: saleTable, amountColumn: amountColumn,
            mode: .legacy(lineItem: nil, dimension: nil, uncategorized: "uncategorized"),
            everySeconds: everySeconds, quietSeconds: quietSeconds)
    }

    /// Reconciles what the profile defines: every KPI of a model profile, or the shop form's sale
    /// totals and category sales. `overrides` (KPI name → SQL) replaces a model KPI's generated query;
    /// it must return the KPI's group columns, then one column per aggregate.
    package convenience init(
        sourceURL: String, profile: KPIProfile, overrides: [String: String] = [:],
        everySeconds: Double = 10, quietSeconds: Double = 1
    ) {
        let mode: Mode
        if let model = profile.model {
            mode = .model(
                model, columns: model.kpis.map { KPIColumns($0, nullLabel: profile.uncategorized) },
                overrides: overrides)
        } else {
            mode = .legacy(
                lineItem: profile.lineItem, dimension: profile.dimension, uncategorized: profile.uncategorized)
        }
        self.init(
            sourceURL: sourceURL, saleTable: profile.sale.table, amountColumn: profile.sale.amount, mode: mode,
            everySeconds: everySeconds, quietSeconds: quietSeconds)
    }

    private init(
        sourceURL: String, saleTable: String, amountColumn: String, mode: Mode, everySeconds: Double,
        quietSeconds: Double
    ) {
        self.sourceURL = sourceURL
        self.saleTable = saleTable
        self.amountColumn = amountColumn
        self.mode = mode
        self.everySeconds = max(0.05, everySeconds)
        self.quietSeconds = max(0, quietSeconds)
        self.worker = WorkerThread(name: "cdctop-reconciler")
    }

    deinit { worker.stop(waitSeconds: 1) }

    package func start() { worker.start { [weak self] in self?.run() } }
    package func stop() { worker.stop() }
    /// Compares as soon as possible instead of waiting for the period.
    package func checkNow() { worker.wake() }

    /// Keeps the totals and lag of the latest snapshot; cheap, never blocks on I/O.
    package func offer(_ snapshot: RunSnapshot) {
        let totals = snapshot.kpis.result.totals
        let view = EngineView(
            txCount: totals.txCount, revenue: totals.revenue, messages: snapshot.kpis.result.messages,
            lag: snapshot.consumer.totalLag, caughtUp: snapshot.consumer.caughtUp, kpis: totals.kpis,
            categories: totals.categoryRevenue)
        state.withLock { state in
            if let old = state.engine, old.messages == view.messages, old.txCount == view.txCount,
                old.revenue == view.revenue
            {
                state.engine = view
                return
            }
            state.engine = view
            state.lastChangeMonotonicMs = WallClock.monotonicMs()
        }
    }

    package var reconciliation: Reconciliation? { state.withLock { $0.reconciliation } }
    package var status: ServiceStatus { state.withLock { $0.status } }
    /// The differences of the last comparison that ran (first `maxDifferences`, in KPI and group order);
    /// empty when it agreed. While a drift is being confirmed these are the suspected ones.
    package var differences: [KPIDifference] { state.withLock { $0.differences } }
    /// The queries in use on the current connection (model profiles; empty before it connects).
    package var queries: [ReconcileQuery] { state.withLock { $0.queries } }

    // MARK: - Worker

    private func run() {
        var connection: PostgresConnection?
        var plan: Plan?
        var backoff = ReconnectBackoff()
        while !worker.isStopping {
            do {
                if connection == nil {
                    state.withLock { $0.status = ServiceStatus(.connecting, "reconcile: connecting to source") }
                    let fresh = try PostgresConnection(sourceURL, applicationName: "cdctop reconciler")
                    plan = try makePlan(fresh)
                    connection = fresh
                }
                let nextDelay = try checkOnce(connection!, plan: plan!)
                backoff.reset()
                worker.sleep(seconds: nextDelay)
            } catch {
                if !(connection?.isConnected ?? false) { connection = nil }
                let delay = error.isRetriable ? backoff.nextDelay() : everySeconds
                state.withLock {
                    $0.status = ServiceStatus(
                        .error, "reconcile: \(error.shortDescription); retry in \(WallClock.secondsText(delay))")
                }
                worker.sleep(seconds: delay)
            }
        }
    }

    /// Reads the column types of the tables involved and builds the queries; a model KPI whose query the
    /// source refuses (EXPLAIN fails: a table or column it does not have) is left out and named.
    func makePlan(_ connection: PostgresConnection) throws(WarehouseError) -> Plan {
        switch mode {
        case .legacy(let lineItem, let dimension, let uncategorized):
            var tables = [saleTable]
            if let lineItem, let dimension { tables += [lineItem.table, dimension.table] }
            let types = SourceColumnTypes(
                rows: try connection.execute(SourceColumnTypes.catalogQuery(tables: tables, dialect: .postgres)).rows)
            var plan = Plan(types: types)
            plan.totalsSQL = ReconcileSQL.legacyTotals(saleTable: saleTable, amount: amountColumn, types: types)
            if let lineItem, let dimension, types.hasTable(lineItem.table), types.hasTable(dimension.table) {
                plan.categorySQL = ReconcileSQL.legacyCategories(
                    lineItem: lineItem, dimension: dimension, uncategorized: uncategorized, types: types)
            }
            return plan
        case .model(let model, _, let overrides):
            let sql = SourceColumnTypes.catalogQuery(tables: ReconcileSQL.tables(of: model), dialect: .postgres)
            let types = SourceColumnTypes(rows: try connection.execute(sql).rows)
            var plan = Plan(types: types)
            for q in ReconcileSQL.queries(for: model, types: types, dialect: .postgres, overrides: overrides) {
                do {
                    _ = try connection.execute("EXPLAIN " + q.sql)
                    plan.queries.append(q)
                } catch {
                    if error.isRetriable { throw error }
                    plan.skipped.append((q.name, error.message))
                }
            }
            let queries = plan.queries
            state.withLock { $0.queries = queries }
            if plan.queries.isEmpty {
                let why = plan.skipped.first.map { "\($0.0): \($0.1)" } ?? "the profile has no KPIs"
                throw WarehouseError(
                    kind: .query, message: "no KPI query runs on the source (\(why))",
                    advice: "is --source the database the profile's tables are captured from?")
            }
            return plan
        }
    }

    /// What the source says, read in one snapshot of the source database.
    struct SourceFigures {
        var txCount: Int64 = 0
        var revenue: Money = .zero
        /// Model: rows per query (index in `Plan.queries`); legacy: the category rows.
        var rows: [[[String?]]] = []
    }

    private func readSource(_ connection: PostgresConnection, plan: Plan) throws(WarehouseError) -> SourceFigures {
        var figures = SourceFigures()
        try connection.transaction { () throws(WarehouseError) in
            // One snapshot for every query: the KPIs of one check see the same rows.
            try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if let sql = plan.totalsSQL {
                let rows = try connection.execute(sql)
                guard let row = rows.rows.first, row.count >= 2 else {
                    throw WarehouseError(kind: .badResult, message: "count query returned no row", sql: sql, advice: "")
                }
                figures.txCount = try WarehouseSchema.integer(row[0], sql: sql)
                figures.revenue = try WarehouseSchema.money(row[1], sql: sql)
            }
            if let sql = plan.categorySQL { figures.rows.append(try connection.execute(sql).rows) }
            for q in plan.queries { figures.rows.append(try connection.execute(q.sql).rows) }
        }
        return figures
    }

    /// The outcome of comparing one engine view with the source figures.
    struct Comparison {
        var sourceTx: Int64
        var sourceRevenue: Money
        var differences: [KPIDifference]
        var kpis: Int
        var groups: Int
        /// Legacy only: the sale totals agree (the category sales may still differ).
        var totalsAgree: Bool
    }

    func compare(_ engine: EngineView, _ figures: SourceFigures, plan: Plan) throws(WarehouseError) -> Comparison {
        switch mode {
        case .legacy(_, _, let uncategorized):
            var c = Comparison(
                sourceTx: figures.txCount, sourceRevenue: figures.revenue, differences: [], kpis: 1, groups: 1,
                totalsAgree: figures.txCount == engine.txCount && figures.revenue == engine.revenue)
            if let sql = plan.categorySQL, let rows = figures.rows.first {
                let (groups, differences) = try ReconcileCompare.compareCategories(
                    engine: engine.categories, rows: rows,
                    uncategorized: uncategorized, sql: sql)
                c.differences = differences
                c.kpis += 1
                c.groups += groups
            }
            return c
        case .model(let model, let columns, _):
            var c = Comparison(
                sourceTx: 0, sourceRevenue: .zero, differences: [], kpis: 0, groups: 0, totalsAgree: true)
            for (i, q) in plan.queries.enumerated() {
                let rows = figures.rows[i]
                let values = q.kpi < engine.kpis.count ? engine.kpis[q.kpi] : KPIValues()
                let (groups, differences) = try ReconcileCompare.compare(
                    q, columns: columns[q.kpi], engine: values, rows: rows)
                c.kpis += 1
                c.groups += groups
                c.differences += differences
                // The built-in tiles' figures, from the source's rows of their KPIs.
                if q.groupCount == 0, let row = rows.first, !row.isEmpty, q.kinds.count >= 1 {
                    // As the engine derives its tiles: a count, or a sum (whole transactions / money at 9 places).
                    let value = row[0].flatMap { ExactDecimal.parse($0) } ?? .zero
                    if q.kpi == model.transactions {
                        c.sourceTx =
                            q.kinds[0] == .sum
                            ? Int64(clamping: value.roundedMoney.units / Money.unitsPerWhole)
                            : Int64(row[0] ?? "0") ?? 0
                    } else if q.kpi == model.revenue {
                        c.sourceRevenue = value.roundedMoney
                    }
                }
            }
            return c
        }
    }

    /// One step; returns how long to sleep before the next.
    private func checkOnce(_ connection: PostgresConnection, plan: Plan) throws(WarehouseError) -> Double {
        let recheck = min(everySeconds, max(quietSeconds, 0.2))
        let (before, quietForMs) = state.withLock { ($0.engine, WallClock.monotonicMs() - $0.lastChangeMonotonicMs) }
        guard let before else {
            publish(.unknown, engine: nil, source: nil, lag: 0, detail: "waiting for the engine's first snapshot")
            return recheck
        }
        if before.lag > 0 || !before.caughtUp {
            let detail =
                before.lag > 0
                ? "consumer lag \(before.lag) messages: compare when caught up"
                : "consumer not caught up yet"
            publish(.waiting, engine: before, source: nil, lag: before.lag, detail: detail)
            return recheck
        }
        if Double(quietForMs) < quietSeconds * 1000 {
            publish(.waiting, engine: before, source: nil, lag: 0, detail: "events still arriving")
            return recheck
        }
        let figures = try readSource(connection, plan: plan)
        let after = state.withLock { $0.engine }
        guard let after, after == before else {
            let legacy: (Int64, Money)? = if case .legacy = mode { (figures.txCount, figures.revenue) } else { nil }
            publish(
                .waiting, engine: after ?? before, source: legacy, lag: after?.lag ?? 0,
                detail: "events arrived during the check")
            return recheck
        }
        let c = try compare(after, figures, plan: plan)
        let source = (c.sourceTx, c.sourceRevenue)
        let skipped = plan.skipped.isEmpty ? "" : "; not checked: " + plan.skipped.map(\.0).joined(separator: ", ")
        let kept = Array(c.differences.prefix(Reconciler.maxDifferences))
        if c.totalsAgree && c.differences.isEmpty {
            state.withLock {
                $0.suspectedDrift = nil
                $0.differences = []
            }
            let detail: String
            switch mode {
            case .legacy:
                detail =
                    "source and engine agree: \(c.sourceTx) transactions, \(c.sourceRevenue.formatted())"
                    + (plan.categorySQL == nil ? "" : ", \(c.groups - 1) categories")
            case .model:
                detail = "source and engine agree: \(c.kpis) KPIs, \(c.groups) groups" + skipped
            }
            publish(.agree, engine: after, source: source, lag: 0, detail: detail)
            return everySeconds
        }
        let nowMs = WallClock.nowMs()
        let confirmedSince: Int64? = state.withLock { state in
            state.differences = kept
            if let suspected = state.suspectedDrift, suspected.engine == after { return suspected.sinceMs }
            state.suspectedDrift = (after, nowMs)
            return nil
        }
        var parts: [String] = []
        if !c.totalsAgree {
            parts.append(
                "source \(c.sourceTx) transactions / \(c.sourceRevenue.formatted()), engine \(after.txCount) / \(after.revenue.formatted()): "
                    + "off by \(c.sourceTx - after.txCount) transactions, \((c.sourceRevenue - after.revenue).formatted())"
            )
        }
        if let first = c.differences.first {
            parts.append(first.description + (c.differences.count > 1 ? " (+\(c.differences.count - 1) more)" : ""))
        }
        let drift = parts.joined(separator: "; ") + skipped
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
        publish(.drift, engine: after, source: source, lag: 0, detail: drift, since: since)
        return everySeconds
    }

    private func publish(
        _ verdict: Reconciliation.Verdict, engine: EngineView?, source: (Int64, Money)?,
        lag: Int64, detail: String, since: Int64? = nil
    ) {
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
            if verdict == .drift { state.reconciliation!.differences = Array(state.differences.prefix(20)) }
            let stateKind: ServiceStatus.State = verdict == .drift ? .error : .ok
            state.status = ServiceStatus(stateKind, "reconcile: \(verdict.rawValue), \(detail)")
        }
    }
}
