/// What the aggregator precomputes from a `KPIModel` once: per table, which KPIs it is the fact of
/// and which join it; per KPI, the fact columns of its anchor. The hot path then never looks at
/// names. A class: the aggregator holds one reference, so reading it per event retains one object
/// instead of copying a struct of arrays.
final class ModelPlan: Sendable {
    /// Classes, not structs: the hot path reads a table's or a KPI's plan once per event, and a struct
    /// of arrays copied out of an array retains every array in it.
    final class TablePlan: Sendable {
        /// KPIs whose `from` is this table.
        let factKPIs: [Int]
        /// KPIs that join this table (their cached group resolutions depend on its rows).
        let lookupKPIs: [Int]
        /// Columns other tables match against (a join's `matchColumn`): indexed by value.
        let matchSlots: [Int]
        /// Columns some KPI's resolution reads from this table's rows (matched columns, columns later
        /// joins start from, columns of groups and join filters): a change of any other column moves
        /// no anchor, so it re-resolves nothing.
        let readSlots: [Int]
        var isLookup: Bool { !lookupKPIs.isEmpty }
        var isFact: Bool { !factKPIs.isEmpty }

        init(factKPIs: [Int], lookupKPIs: [Int], matchSlots: [Int], readSlots: [Int]) {
            self.factKPIs = factKPIs; self.lookupKPIs = lookupKPIs; self.matchSlots = matchSlots; self.readSlots = readSlots
        }
    }

    final class KPIPlan: Sendable {
        /// Fact columns read by joins hanging from the fact, by group keys and by the join filter.
        let anchorSlots: [Int]
        /// No joins and no groups: every row lands in the single group `[]`, no lookup needed, so
        /// contributions go straight to the group (no per-anchor sums are kept).
        let isDirect: Bool
        let rowFilter: Expr?
        let aggregates: [Aggregate]
        let windowed: Bool
        /// Column names of the fact table, for messages.
        let factColumns: [String]
        /// Per join: the position of its matched column in its table's `matchSlots` (its lookup index).
        let joinMatchIndexes: [Int]

        init(anchorSlots: [Int], isDirect: Bool, rowFilter: Expr?, aggregates: [Aggregate], windowed: Bool, factColumns: [String],
             joinMatchIndexes: [Int]) {
            self.anchorSlots = anchorSlots; self.isDirect = isDirect; self.rowFilter = rowFilter
            self.aggregates = aggregates; self.windowed = windowed; self.factColumns = factColumns
            self.joinMatchIndexes = joinMatchIndexes
        }
    }

    let model: KPIModel
    let tables: [TablePlan]
    let kpis: [KPIPlan]

    init(model: KPIModel) {
        self.model = model
        let count = model.tables.count
        var factKPIs = Array(repeating: [Int](), count: count)
        var lookupKPIs = Array(repeating: [Int](), count: count)
        var matchSlots = Array(repeating: [Int](), count: count)
        var readSlots = Array(repeating: Set<Int>(), count: count)
        var kpis: [KPIPlan] = []
        for (k, kpi) in model.kpis.enumerated() {
            factKPIs[kpi.fact].append(k)
            var anchor = Set<Int>()
            for join in kpi.joins {
                if !lookupKPIs[join.table].contains(k) { lookupKPIs[join.table].append(k) }
                if !matchSlots[join.table].contains(join.matchColumn) { matchSlots[join.table].append(join.matchColumn) }
                readSlots[join.table].insert(join.matchColumn)
                if join.parent == 0 { anchor.insert(join.parentColumn) }
            }
            var refs: [ColumnRef] = []
            for g in kpi.groups { g.collectColumns(into: &refs) }
            kpi.joinFilter?.collectColumns(into: &refs)
            for r in refs where r.alias == 0 { anchor.insert(r.slot) }
            // Columns of joined rows read by later joins, groups and the join filter (alias j + 1 is join j's table).
            for join in kpi.joins where join.parent > 0 { readSlots[kpi.joins[join.parent - 1].table].insert(join.parentColumn) }
            for r in refs where r.alias > 0 && r.alias <= kpi.joins.count { readSlots[kpi.joins[r.alias - 1].table].insert(r.slot) }
            kpis.append(KPIPlan(anchorSlots: anchor.sorted(), isDirect: kpi.joins.isEmpty && kpi.groups.isEmpty && kpi.joinFilter == nil,
                                rowFilter: kpi.rowFilter, aggregates: kpi.aggregates, windowed: kpi.windowed,
                                factColumns: model.tables[kpi.fact].columns,
                                // Positions never move: matchSlots only grow at the end.
                                joinMatchIndexes: kpi.joins.map { matchSlots[$0.table].firstIndex(of: $0.matchColumn)! }))
        }
        self.tables = (0..<count).map {
            TablePlan(factKPIs: factKPIs[$0], lookupKPIs: lookupKPIs[$0], matchSlots: matchSlots[$0], readSlots: readSlots[$0].sorted())
        }
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
///
/// Almost every join matches a foreign key to its table's primary key, so a matched column's value
/// is the row's own key: while that holds for every row (`identity`), the rows themselves are the
/// index and no second map is kept. The first row where it does not (a join on a non-key column)
/// builds that column's index from the rows, once.
struct LookupTable: Sendable {
    var rows = RowKeyMap<[Cell]>(filler: [])
    /// Per matched slot (position in `ModelPlan.TablePlan.matchSlots`): value → keys of the rows holding it;
    /// empty while `identity[i]`.
    var indexes: [[RowKey: [RowKey]]]
    /// Per matched slot: every row so far holds its own key in that column.
    var identity: [Bool]

    init(matchSlots: Int) {
        indexes = Array(repeating: [:], count: matchSlots)
        identity = Array(repeating: true, count: matchSlots)
    }

    /// Replaces (or, with nil, deletes) a row; false when nothing a KPI reads changed.
    mutating func set(_ key: RowKey, _ cells: [Cell]?, matchSlots: [Int]) -> Bool {
        let old = rows[key]
        if old == cells { return false }
        for (i, slot) in matchSlots.enumerated() {
            if identity[i] {
                // A null matched value has no entry either way; a value that is not the row's key ends identity.
                guard let cells, slot < cells.count, let v = cells[slot].rowKey, v != key else { continue }
                identity[i] = false
                rows.forEach { k, row in
                    if slot < row.count, let v = row[slot].rowKey { indexes[i][v, default: []].append(k) }
                }
            }
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
        for i in indexes.indices { indexes[i].removeAll(); identity[i] = true }
    }

    /// Calls `body` with each row whose matched column `slotIndex` (position in `matchSlots`, the
    /// table's column `slot`) holds `value`; false when there is none.
    @inline(__always)
    func forEachMatch(_ slotIndex: Int, slot: Int, _ value: RowKey, _ body: ([Cell]) -> Void) -> Bool {
        if identity[slotIndex] {
            guard let row = rows[value], slot < row.count, row[slot].rowKey == value else { return false }
            body(row)
            return true
        }
        guard let keys = indexes[slotIndex][value] else { return false }
        var found = false
        for k in keys { if let row = rows[k] { body(row); found = true } }
        return found
    }

    /// Rows whose matched column `slotIndex` holds `value`.
    func find(_ slotIndex: Int, slot: Int, _ value: RowKey) -> [[Cell]] {
        var out: [[Cell]] = []
        _ = forEachMatch(slotIndex, slot: slot, value) { out.append($0) }
        return out
    }
}

/// One source partition's share of the model's state (see `WindowedAggregator.PartitionState`).
struct ModelPartition: Sendable {
    /// Remembered fact rows per model table (empty for tables that are no KPI's fact): the old
    /// contribution of an update or delete is computed from them, not from `before` (REPLICA
    /// IDENTITY DEFAULT sends placeholders there).
    var factRows: [RowKeyMap<[Cell]>]
    var kpis: [KPIPartition]

    init(plan: ModelPlan) {
        factRows = Array(repeating: RowKeyMap(filler: []), count: plan.model.tables.count)
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

    // The set is taken out of `self` before it is changed: while the enum still holds it, the set's
    // storage is shared and every insert would copy it whole (quadratic in a customer's orders).
    mutating func insert(_ ref: AnchorRef) {
        switch self {
        case .one(let r): if r != ref { self = .many([r, ref]) }
        case .many(var set):
            self = .one(ref)
            set.insert(ref)
            self = .many(set)
        }
    }

    /// False when nothing is left.
    mutating func remove(_ ref: AnchorRef) -> Bool {
        switch self {
        case .one(let r): return r != ref
        case .many(var set):
            self = .one(ref)
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
