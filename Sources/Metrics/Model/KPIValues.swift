/// Sums of one KPI for one group (or for the whole KPI when it has no `group by`), per aggregate.
/// Everything is exact: sums are `ExactDecimal` (as many places as the values have, up to 38; the
/// aggregator's volume bound keeps every sum within Int128), counts are integers; `avg` is kept as
/// its sum and count and divided only when shown.
package struct KPIAccum: Sendable, Hashable {
    /// Rows contributing (net: a window can hold negative counts after deletes).
    package var rows: Int64 = 0
    /// Per aggregate: the sum of its argument (sum, avg); zero for counts.
    package var sums: [ExactDecimal]
    /// Per aggregate: rows whose argument is not null (count(*): every row).
    package var counts: [Int64]

    package init(aggregates: Int) {
        sums = Array(repeating: .zero, count: aggregates)
        counts = Array(repeating: 0, count: aggregates)
    }

    package var isZero: Bool { rows == 0 && sums.allSatisfy(\.isZero) && counts.allSatisfy { $0 == 0 } }

    mutating func add(_ c: KPIContribution, sign: Int64) {
        rows += sign
        for i in sums.indices {
            if c.counted & (1 << UInt64(i)) != 0 { counts[i] += sign }
            let v = c.sum(i)
            if !v.isZero { sums[i] = (sign > 0 ? sums[i].adding(v) : sums[i].subtracting(v)) ?? sums[i] }
        }
    }

    package mutating func add(_ other: KPIAccum, sign: Int64 = 1) {
        rows += sign * other.rows
        for i in sums.indices {
            counts[i] += sign * other.counts[i]
            if !other.sums[i].isZero {
                sums[i] = (sign > 0 ? sums[i].adding(other.sums[i]) : sums[i].subtracting(other.sums[i])) ?? sums[i]
            }
        }
    }
}

/// One fact row's contribution to one KPI, computed before anything changes (an event whose
/// expressions fail changes nothing).
struct KPIContribution: Sendable {
    /// The fact columns the KPI's joins and groups read (see `CompiledKPI`): rows with the same
    /// anchor always land in the same groups.
    var anchor: AnchorKey
    /// Per aggregate, its sum: the first two inline (no array allocated per contribution for the
    /// common KPI of one or two aggregates), the rest in `moreSums`.
    private var firstSum: ExactDecimal = .zero
    private var secondSum: ExactDecimal = .zero
    private var moreSums: [ExactDecimal] = []
    /// Bit i: aggregate i counts this row (its argument is not null; count(*) always). A KPI has at most 64.
    var counted: UInt64 = 0

    init(anchor: AnchorKey) { self.anchor = anchor }

    @inline(__always)
    func sum(_ i: Int) -> ExactDecimal { i == 0 ? firstSum : i == 1 ? secondSum : moreSums[i - 2] }

    /// Sets aggregate `i`'s sum; every aggregate is set once, in order.
    mutating func appendSum(_ i: Int, _ value: ExactDecimal) {
        switch i {
        case 0: firstSum = value
        case 1: secondSum = value
        default: moreSums.append(value)
        }
    }
}

/// A KPI's values: one accumulator per group (`[]` is the only group of an ungrouped KPI).
package struct KPIValues: Sendable, Hashable {
    package var groups: [[Cell]: KPIAccum]
    /// Rows whose lookup chain cannot be resolved yet (a row it needs has not arrived): kept aside
    /// and attributed when it comes. Totals only.
    package var unresolvedRows: Int64 = 0
    package init(groups: [[Cell]: KPIAccum] = [:], unresolvedRows: Int64 = 0) {
        self.groups = groups
        self.unresolvedRows = unresolvedRows
    }

    /// The accumulator of an ungrouped KPI.
    package var ungrouped: KPIAccum? { groups[[]] }
}

/// Names of a KPI's output columns, for printing values without the whole model.
package struct KPIColumns: Sendable, Hashable {
    package var name: String
    package var groupNames: [String]
    package var aggregateNames: [String]
    package var aggregateKinds: [AggregateKind]
    package var windowed: Bool
    /// How a null group value is shown (the profile's `uncategorized`).
    package var nullLabel: String

    package init(_ kpi: CompiledKPI, nullLabel: String) {
        self.nullLabel = nullLabel
        name = kpi.name
        groupNames = kpi.groupNames
        aggregateNames = kpi.aggregates.map(\.name)
        aggregateKinds = kpi.aggregates.map(\.kind)
        windowed = kpi.windowed
    }

    /// The value of aggregate `i` as exact text: counts as integers, sums with the places they need,
    /// averages rounded half away from zero to 9 places ("null" for an average of no rows).
    package func valueText(_ accum: KPIAccum, _ i: Int) -> String {
        switch aggregateKinds[i] {
        case .countRows, .count: return String(accum.counts[i])
        case .sum: return accum.sums[i].description
        case .avg:
            let n = accum.counts[i]
            guard n != 0 else { return "null" }
            return KPIColumns.average(accum.sums[i], n)?.description ?? "null"
        }
    }

    /// `sum / count` at 9 places, rounded half away from zero.
    package static func average(_ sum: ExactDecimal, _ count: Int64) -> ExactDecimal? {
        sum.divided(by: count, places: 9).flatMap { ExactDecimal(units: $0.units, scale: Int($0.scale)) }
    }

    package func groupText(_ group: [Cell]) -> [String] { group.map { KPIColumns.groupText($0, nullLabel: nullLabel) } }

    /// A group value as people read it; null as the profile's label for it.
    package static func groupText(_ cell: Cell, nullLabel: String) -> String {
        switch cell {
        case .null, .missing, .unavailable: nullLabel
        default: cell.description
        }
    }
}
