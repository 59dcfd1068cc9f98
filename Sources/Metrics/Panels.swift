import Synchronization

/// Daily figures from the warehouse for the History view.
package struct DayFigure: Sendable, Hashable {
    /// Calendar day in UTC, `YYYY-MM-DD`.
    package var day: String
    package var txCount: Int64
    package var revenue: Money
    /// Revenue per category that day (drill-down); may be empty when the query gives none.
    package var categoryRevenue: [String: Money]

    package init(day: String, txCount: Int64, revenue: Money, categoryRevenue: [String: Money] = [:]) {
        self.day = day
        self.txCount = txCount
        self.revenue = revenue
        self.categoryRevenue = categoryRevenue
    }
}

package struct HistoryData: Sendable, Hashable {
    /// Oldest first.
    package var days: [DayFigure]
    package var loadedAtMs: Int64
    package init(days: [DayFigure], loadedAtMs: Int64) {
        self.days = days
        self.loadedAtMs = loadedAtMs
    }
}

/// Outcome of comparing the engine's running totals with the source database.
package struct Reconciliation: Sendable, Hashable {
    package enum Verdict: String, Sendable, Hashable { case unknown, agree, drift, waiting }
    package var verdict: Verdict
    package var engineTxCount: Int64
    package var sourceTxCount: Int64
    package var engineRevenue: Money
    package var sourceRevenue: Money
    /// When the current verdict started (ms since epoch).
    package var sinceMs: Int64
    /// When the last comparison ran (ms since epoch).
    package var checkedAtMs: Int64
    /// Consumer lag (messages) when the comparison ran.
    package var lagAtCheck: Int64
    package var detail: String
    /// Every KPI value (and group) on which cdctop and the source disagreed at the last comparison
    /// (the first few); empty when they agree.
    package var differences: [KPIDifference] = []

    package init(
        verdict: Verdict, engineTxCount: Int64 = 0, sourceTxCount: Int64 = 0, engineRevenue: Money = .zero,
        sourceRevenue: Money = .zero, sinceMs: Int64 = 0, checkedAtMs: Int64 = 0, lagAtCheck: Int64 = 0,
        detail: String = ""
    ) {
        self.verdict = verdict
        self.engineTxCount = engineTxCount
        self.sourceTxCount = sourceTxCount
        self.engineRevenue = engineRevenue
        self.sourceRevenue = sourceRevenue
        self.sinceMs = sinceMs
        self.checkedAtMs = checkedAtMs
        self.lagAtCheck = lagAtCheck
        self.detail = detail
    }
}

/// One value on which cdctop and the source database disagree: a KPI's aggregate in one group.
package struct KPIDifference: Sendable, Hashable, CustomStringConvertible {
    /// The KPI's name in the profile (`category_sales`), or `transactions`/`revenue`/`category_sales`
    /// for the built-in shop form.
    package var kpi: String
    /// The group's values as `KPIColumns.groupText` prints them (null as the profile's label); empty
    /// for an ungrouped KPI.
    package var group: [String]
    /// The aggregate's output column (`sum(d.quantity)`, or its `as` name).
    package var column: String
    /// cdctop's value and the source's, as exact text (`0` for a group one side does not have;
    /// `null` for an average of no rows).
    package var engine: String
    package var source: String

    package init(kpi: String, group: [String], column: String, engine: String, source: String) {
        self.kpi = kpi
        self.group = group
        self.column = column
        self.engine = engine
        self.source = source
    }

    /// `category_sales [Beverages] sum(…): cdctop 244.8, source 245.8`.
    package var description: String {
        let g = group.isEmpty ? "" : " [" + group.joined(separator: ", ") + "]"
        return "\(kpi)\(g) \(column): cdctop \(engine), source \(source)"
    }
}

/// A coalescing mailbox: writers replace the value, readers take the latest. Never a growing
/// queue, so a slow reader (Redis, the screen) never holds up the engine.
package final class Latest<Value: Sendable>: Sendable {
    private let state: Mutex<(value: Value?, version: UInt64)>

    package init(_ value: Value? = nil) { state = Mutex((value, value == nil ? 0 : 1)) }

    package func publish(_ value: Value) {
        state.withLock { $0 = (value, $0.version &+ 1) }
    }

    package var value: Value? { state.withLock { $0.value } }

    /// The value and a version that changes on every publish (to skip work when nothing changed).
    package var versioned: (value: Value?, version: UInt64) { state.withLock { ($0.value, $0.version) } }
}
