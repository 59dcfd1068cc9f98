/// What the aggregator precomputes from a `KPIModel` once: per table, which KPIs it is the fact of
/// and which join it; per KPI, the fact columns of its anchor. The hot path then never looks at
/// names. A class: the aggregator holds one reference, so reading it per event retains one object
/// instead of copying a struct of arrays.
final class ModelPlan: Sendable {
    struct TablePlan: Sendable {
        /// KPIs whose `from` is this table.
        var factKPIs: [Int] = []
        /// KPIs that join this table (their cached group resolutions depend on its rows).
        var lookupKPIs: [Int] = []
        /// Columns other tables match against (a join's `matchColumn`): indexed by value.
        var matchSlots: [Int] = []
        var isLookup: Bool { !lookupKPIs.isEmpty }
        var isFact: Bool { !factKPIs.isEmpty }
    }

    struct KPIPlan: Sendable {
        /// Fact columns read by joins hanging from the fact, by group keys and by the join filter.
        var anchorSlots: [Int]
        /// No joins and no groups: every row lands in the single group `[]`, no lookup needed, so
        /// contributions go straight to the group (no per-anchor sums are kept).
        var isDirect: Bool
        var rowFilter: Expr?
        var aggregates: [Aggregate]
        var windowed: Bool
        /// Column names of the fact table, for messages.
        var factColumns: [String]
    }

    let model: KPIModel
    let tables: [TablePlan]
    let kpis: [KPIPlan]

    init(model: KPIModel) {
        self.model = model
        var tables = Array(repeating: TablePlan(), count: model.tables.count)
        var kpis: [KPIPlan] = []
        for (k, kpi) in model.kpis.enumerated() {
            tables[kpi.fact].factKPIs.append(k)
            var anchor = Set<Int>()
            for join in kpi.joins {
                if !tables[join.table].lookupKPIs.contains(k) { tables[join.table].lookupKPIs.append(k) }
                if !tables[join.table].matchSlots.contains(join.matchColumn) { tables[join.table].matchSlots.append(join.matchColumn) }
                if join.parent == 0 { anchor.insert(join.parentColumn) }
            }
            var refs: [ColumnRef] = []
            for g in kpi.groups { g.collectColumns(into: &refs) }
            kpi.joinFilter?.collectColumns(into: &refs)
            for r in refs where r.alias == 0 { anchor.insert(r.slot) }
            kpis.append(KPIPlan(anchorSlots: anchor.sorted(), isDirect: kpi.joins.isEmpty && kpi.groups.isEmpty && kpi.joinFilter == nil,
                                rowFilter: kpi.rowFilter, aggregates: kpi.aggregates, windowed: kpi.windowed,
                                factColumns: model.tables[kpi.fact].columns))
        }
        self.tables = tables
        self.kpis = kpis
    }
}

extension Expr {
    /// Every column the expression reads, in order of appearance (repeats included).
    public func collectColumns(into refs: inout [ColumnRef]) {
        switch self {
        case .column(let r, _): refs.append(r)
        case .literal: break
        case .unary(_, let e): e.collectColumns(into: &refs)
        case .binary(_, let a, let b): a.collectColumns(into: &refs); b.collectColumns(into: &refs)
        case .isNull(let e, _): e.collectColumns(into: &refs)
        case .coalesce(let list): for e in list { e.collectColumns(into: &refs) }
        case .caseWhen(let branches, let otherwise):
            for b in branches { b.condition.collectColumns(into: &refs); b.value.collectColumns(into: &refs) }
            otherwise?.collectColumns(into: &refs)
        case .inList(let e, let list, _): e.collectColumns(into: &refs); for x in list { x.collectColumns(into: &refs) }
        }
    }
}

/// The rows of a table some KPI joins, shared by all partitions (like the legacy product dimension),
/// with an index from each matched column's value to the rows holding it.
struct LookupTable: Sendable {
    var rows: [RowKey: [Cell]] = [:]
    /// Per matched slot (position in `ModelPlan.TablePlan.matchSlots`): value → keys of the rows holding it.
    var indexes: [[RowKey: [RowKey]]]

    init(matchSlots: Int) { indexes = Array(repeating: [:], count: matchSlots) }

    /// Replaces (or, with nil, deletes) a row; false when nothing a KPI reads changed.
    mutating func set(_ key: RowKey, _ cells: [Cell]?, matchSlots: [Int]) -> Bool {
        let old = rows[key]
        if old == cells { return false }
        for (i, slot) in matchSlots.enumerated() {
            if let old, slot < old.count, let v = old[slot].rowKey, var keys = indexes[i][v] {
                keys.removeAll { $0 == key }
                indexes[i][v] = keys.isEmpty ? nil : keys
            }
            if let cells, slot < cells.count, let v = cells[slot].rowKey { indexes[i][v, default: []].append(key) }
        }
        rows[key] = cells
        return true
    }

    mutating func removeAll() {
        rows.removeAll()
        for i in indexes.indices { indexes[i].removeAll() }
    }

    /// Rows whose matched column `slotIndex` (position in `matchSlots`) holds `value`.
    func find(_ slotIndex: Int, _ value: RowKey) -> [[Cell]] {
        guard let keys = indexes[slotIndex][value] else { return [] }
        return keys.compactMap { rows[$0] }
    }
}

/// One source partition's share of the model's state (see `WindowedAggregator.PartitionState`).
struct ModelPartition: Sendable {
    /// Remembered fact rows per model table (empty for tables that are no KPI's fact): the old
    /// contribution of an update or delete is computed from them, not from `before` (REPLICA
    /// IDENTITY DEFAULT sends placeholders there).
    var factRows: [[RowKey: [Cell]]]
    var kpis: [KPIPartition]

    init(plan: ModelPlan) {
        factRows = Array(repeating: [:], count: plan.model.tables.count)
        kpis = plan.model.kpis.map { KPIPartition(aggregates: $0.aggregates.count) }
    }
}

struct AnchorState: Sendable {
    var total: KPIAccum
    /// Per window start, ascending: what the anchor's rows changed in that window (moved with the
    /// anchor when a lookup changes its groups; windows older than the horizon are dropped lazily).
    /// A short array, not a dictionary: most anchors touch one or two windows, the newest last.
    var windows: AnchorWindows = AnchorWindows()
    /// Groups the anchor resolved to when last resolved; nil while a row of its chain is missing.
    var groups: [[Cell]]?
    /// The (join, value) pairs its resolution looked up: a change of a joined row holding one of these
    /// values re-resolves this anchor, and no other.
    var deps: [ModelDependency]
}

/// An anchor's window sums, sorted by window start.
struct AnchorWindows: Sendable, Sequence {
    private(set) var starts: [Int64] = []
    private(set) var accums: [KPIAccum] = []

    var count: Int { starts.count }

    /// Adds to window `start`'s sums (created at zero); the newest windows are found first.
    mutating func update(_ start: Int64, aggregates: Int, _ body: (inout KPIAccum) -> Void) {
        var i = starts.count
        while i > 0 && starts[i - 1] > start { i -= 1 }
        if i > 0 && starts[i - 1] == start { body(&accums[i - 1]); return }
        starts.insert(start, at: i)
        accums.insert(KPIAccum(aggregates: aggregates), at: i)
        body(&accums[i])
    }

    /// Forgets windows starting before `horizon`.
    mutating func drop(before horizon: Int64) {
        guard let first = starts.first, first < horizon else { return }
        let cut = starts.firstIndex { $0 >= horizon } ?? starts.count
        starts.removeFirst(cut)
        accums.removeFirst(cut)
    }

    func makeIterator() -> Zip2Sequence<[Int64], [KPIAccum]>.Iterator { zip(starts, accums).makeIterator() }
}

/// Anchors that looked up one (join, value): almost always one, so no set is allocated for it.
enum AnchorRefs: Sendable {
    case one(AnchorRef)
    case many(Set<AnchorRef>)

    mutating func insert(_ ref: AnchorRef) {
        switch self {
        case .one(let r): if r != ref { self = .many([r, ref]) }
        case .many(var set): set.insert(ref); self = .many(set)
        }
    }

    /// False when nothing is left.
    mutating func remove(_ ref: AnchorRef) -> Bool {
        switch self {
        case .one(let r): return r != ref
        case .many(var set):
            set.remove(ref)
            if set.count == 1 { self = .one(set.first!) } else { self = .many(set) }
            return !set.isEmpty
        }
    }

    func forEach(_ body: (AnchorRef) -> Void) {
        switch self {
        case .one(let r): body(r)
        case .many(let set): set.forEach(body)
        }
    }
}

/// A lookup a resolution made: join `join` of a KPI, matching `value` (found or not).
struct ModelDependency: Hashable, Sendable {
    var join: Int32
    var value: RowKey
}

/// An anchor of a KPI, wherever it is held: the partition's key and the anchor's cells.
struct AnchorRef: Hashable, Sendable {
    var partition: Int64
    var anchor: [Cell]
}

struct KPIPartition: Sendable {
    var anchors: [[Cell]: AnchorState] = [:]
    /// Totals by group: the sum of the anchors resolved to each group.
    var groups: [[Cell]: KPIAccum] = [:]
    /// Totals of anchors whose chain is not resolved yet.
    var unresolved: KPIAccum
    let aggregates: Int

    init(aggregates: Int) { self.aggregates = aggregates; unresolved = KPIAccum(aggregates: aggregates) }
}
