import Synchronization

/// Daily figures from the warehouse for the History view.
public struct DayFigure: Sendable, Hashable {
    /// Calendar day in UTC, `YYYY-MM-DD`.
    public var day: String
    public var txCount: Int64
    public var revenue: Money
    /// Revenue per category that day (drill-down); may be empty when the query gives none.
    public var categoryRevenue: [String: Money]

    public init(day: String, txCount: Int64, revenue: Money, categoryRevenue: [String: Money] = [:]) {
        self.day = day; self.txCount = txCount; self.revenue = revenue; self.categoryRevenue = categoryRevenue
    }
}

public struct HistoryData: Sendable, Hashable {
    /// Oldest first.
    public var days: [DayFigure]
    public var loadedAtMs: Int64
    public init(days: [DayFigure], loadedAtMs: Int64) { self.days = days; self.loadedAtMs = loadedAtMs }
}

/// Outcome of comparing the engine's running totals with the source database.
public struct Reconciliation: Sendable, Hashable {
    public enum Verdict: String, Sendable, Hashable { case unknown, agree, drift, waiting }
    public var verdict: Verdict
    public var engineTxCount: Int64
    public var sourceTxCount: Int64
    public var engineRevenue: Money
    public var sourceRevenue: Money
    /// When the current verdict started (ms since epoch).
    public var sinceMs: Int64
    /// When the last comparison ran (ms since epoch).
    public var checkedAtMs: Int64
    /// Consumer lag (messages) when the comparison ran.
    public var lagAtCheck: Int64
    public var detail: String
    /// Every KPI value (and group) on which cdctop and the source disagreed at the last comparison
    /// (the first few); empty when they agree.
    public var differences: [KPIDifference] = []

    public init(verdict: Verdict, engineTxCount: Int64 = 0, sourceTxCount: Int64 = 0, engineRevenue: Money = .zero,
                sourceRevenue: Money = .zero, sinceMs: Int64 = 0, checkedAtMs: Int64 = 0, lagAtCheck: Int64 = 0,
                detail: String = "") {
        self.verdict = verdict; self.engineTxCount = engineTxCount; self.sourceTxCount = sourceTxCount
        self.engineRevenue = engineRevenue; self.sourceRevenue = sourceRevenue; self.sinceMs = sinceMs
        self.checkedAtMs = checkedAtMs; self.lagAtCheck = lagAtCheck; self.detail = detail
    }
}

/// One value on which cdctop and the source database disagree: a KPI's aggregate in one group.
public struct KPIDifference: Sendable, Hashable, CustomStringConvertible {
    /// The KPI's name in the profile (`category_sales`), or `transactions`/`revenue`/`category_sales`
    /// for the built-in shop form.
    public var kpi: String
    /// The group's values as `KPIColumns.groupText` prints them (null as the profile's label); empty
    /// for an ungrouped KPI.
    public var group: [String]
    /// The aggregate's output column (`sum(d.quantity)`, or its `as` name).
    public var column: String
    /// cdctop's value and the source's, as exact text (`0` for a group one side does not have;
    /// `null` for an average of no rows).
    public var engine: String
    public var source: String

    public init(kpi: String, group: [String], column: String, engine: String, source: String) {
        self.kpi = kpi; self.group = group; self.column = column; self.engine = engine; self.source = source
    }

    /// `category_sales [Beverages] sum(…): cdctop 244.8, source 245.8`.
    public var description: String {
        let g = group.isEmpty ? "" : " [" + group.joined(separator: ", ") + "]"
        return "\(kpi)\(g) \(column): cdctop \(engine), source \(source)"
    }
}

/// A coalescing mailbox: writers replace the value, readers take the latest. Never a growing
/// queue, so a slow reader (Redis, the screen) never holds up the engine.
public final class Latest<Value: Sendable>: Sendable {
    private let state: Mutex<(value: Value?, version: UInt64)>

    public init(_ value: Value? = nil) { state = Mutex((value, value == nil ? 0 : 1)) }

    public func publish(_ value: Value) {
        state.withLock { $0 = (value, $0.version &+ 1) }
    }

    public var value: Value? { state.withLock { $0.value } }

    /// The value and a version that changes on every publish (to skip work when nothing changed).
    public var versioned: (value: Value?, version: UInt64) { state.withLock { ($0.value, $0.version) } }
}
