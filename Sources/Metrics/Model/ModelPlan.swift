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
            self.factKPIs = factKPIs
            self.lookupKPIs = lookupKPIs
            self.matchSlots = matchSlots
            self.readSlots = readSlots
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
        /// Per aggregate: its kind and argument (read per row without copying each `Aggregate` and
        /// its name), and the argument's shape when a fast path evaluates it (`FastMeasure`).
        let aggregateKinds: [AggregateKind]
        let aggregateArguments: [Expr?]
        let fastArguments: [FastMeasure]
        /// The row filter's shape when it is `column <op> number` (`d.quantity > 0`): no tree walk.
        let fastFilter: FastFilter?
        /// The compiled KPI's joins, groups and join filter, held here so that resolving an anchor
        /// reads them from this class instead of copying the whole `CompiledKPI` out of the model.
        let joins: [JoinStep]
        let groups: [Expr]
        let joinFilter: Expr?

        init(
            anchorSlots: [Int], isDirect: Bool, rowFilter: Expr?, aggregates: [Aggregate], windowed: Bool,
            factColumns: [String],
            joinMatchIndexes: [Int], joins: [JoinStep] = [], groups: [Expr] = [], joinFilter: Expr? = nil
        ) {
            self.anchorSlots = anchorSlots
            self.isDirect = isDirect
            self.rowFilter = rowFilter
            self.aggregates = aggregates
            self.windowed = windowed
            self.factColumns = factColumns
            self.joinMatchIndexes = joinMatchIndexes
            self.joins = joins
            self.groups = groups
            self.joinFilter = joinFilter
            aggregateKinds = aggregates.map(\.kind)
            aggregateArguments = aggregates.map(\.argument)
            fastArguments = aggregates.map { FastMeasure($0.argument) }
            fastFilter = rowFilter.flatMap { FastFilter($0) }
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
                if !matchSlots[join.table].contains(join.matchColumn) {
                    matchSlots[join.table].append(join.matchColumn)
                }
                readSlots[join.table].insert(join.matchColumn)
                if join.parent == 0 { anchor.insert(join.parentColumn) }
            }
            var refs: [ColumnRef] = []
            for g in kpi.groups { g.collectColumns(into: &refs) }
            kpi.joinFilter?.collectColumns(into: &refs)
            for r in refs where r.alias == 0 { anchor.insert(r.slot) }
            // Columns of joined rows read by later joins, groups and the join filter (alias j + 1 is join j's table).
            for join in kpi.joins where join.parent > 0 {
                readSlots[kpi.joins[join.parent - 1].table].insert(join.parentColumn)
            }
            for r in refs where r.alias > 0 && r.alias <= kpi.joins.count {
                readSlots[kpi.joins[r.alias - 1].table].insert(r.slot)
            }
            kpis.append(
                KPIPlan(
                    anchorSlots: anchor.sorted(),
                    isDirect: kpi.joins.isEmpty && kpi.groups.isEmpty && kpi.joinFilter == nil,
                    rowFilter: kpi.rowFilter, aggregates: kpi.aggregates, windowed: kpi.windowed,
                    factColumns: model.tables[kpi.fact].columns,
                    // Positions never move: matchSlots only grow at the end.
                    joinMatchIndexes: kpi.joins.map { matchSlots[$0.table].firstIndex(of: $0.matchColumn)! },
                    joins: kpi.joins, groups: kpi.groups, joinFilter: kpi.joinFilter))
        }
        self.tables = (0..<count).map {
            TablePlan(
                factKPIs: factKPIs[$0], lookupKPIs: lookupKPIs[$0], matchSlots: matchSlots[$0],
                readSlots: readSlots[$0].sorted())
        }
        self.kpis = kpis
    }
}

extension Expr {
    /// Every column the expression reads, in order of appearance (repeats included).
    package func collectColumns(into refs: inout [ColumnRef]) {
        switch self {
        case .column(let r, _): refs.append(r)
        case .literal: break
        case .unary(_, let e): e.collectColumns(into: &refs)
        case .binary(_, let a, let b):
            a.collectColumns(into: &refs)
            b.collectColumns(into: &refs)
        case .isNull(let e, _): e.collectColumns(into: &refs)
        case .coalesce(let list): for e in list { e.collectColumns(into: &refs) }
        case .caseWhen(let branches, let otherwise):
            for b in branches {
                b.condition.collectColumns(into: &refs)
                b.value.collectColumns(into: &refs)
            }
            otherwise?.collectColumns(into: &refs)
        case .inList(let e, let list, _):
            e.collectColumns(into: &refs)
            for x in list { x.collectColumns(into: &refs) }
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

    /// Replaces (or, with nil, deletes) a row. Returns the row it replaced and whether the change
    /// can move an anchor: the row was inserted or deleted, or one of `readSlots` changed (a change
    /// of any other column re-resolves nothing).
    mutating func set(_ key: RowKey, _ cells: [Cell]?, matchSlots: [Int], readSlots: [Int]) -> (
        readChanged: Bool, old: [Cell]?
    ) {
        let old = rows[key]
        if old == cells { return (false, old) }
        var readChanged = true
        if let old, let cells {
            readChanged = false
            for s in readSlots where (s < old.count ? old[s] : .missing) != (s < cells.count ? cells[s] : .missing) {
                readChanged = true
                break
            }
        }
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
        return (readChanged, old)
    }

    mutating func removeAll() {
        rows.removeAll()
        for i in indexes.indices {
            indexes[i].removeAll()
            identity[i] = true
        }
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
        for k in keys {
            if let row = rows[k] {
                body(row)
                found = true
            }
        }
        return found
    }

    /// Rows whose matched column `slotIndex` holds `value`.
    func find(_ slotIndex: Int, slot: Int, _ value: RowKey) -> [[Cell]] {
        var out: [[Cell]] = []
        _ = forEachMatch(slotIndex, slot: slot, value) { out.append($0) }
        return out
    }
}

/// An aggregate argument of a common shape, read straight from the fact row: a column, or the
/// product of two (`quantity * unit_price`). Evaluated only on integer and decimal cells, with the
/// evaluator's own arithmetic; any other cell (null included, for a column alone: `evaluate` says
/// what is wrong with it) and any overflow go through `ExprEvaluator`, so results and messages are
/// the same either way.
enum FastMeasure: Sendable {
    case column(Int)
    case product(Int, Int)
    case general

    init(_ e: Expr?) {
        switch e {
        case .column(let r, _)? where r.alias == 0: self = .column(r.slot)
        case .binary(.multiply, .column(let a, _), .column(let b, _))? where a.alias == 0 && b.alias == 0:
            self = .product(a.slot, b.slot)
        default: self = .general
        }
    }
}

/// A row filter `column <op> number` (alias 0), evaluated on integer and decimal cells without
/// walking the expression; any other cell goes through `ExprEvaluator.holds`.
struct FastFilter: Sendable {
    let op: BinaryOperator
    let slot: Int
    let literal: ExactDecimal

    init?(_ e: Expr) {
        guard case .binary(let op, .column(let r, _), .literal(let c)) = e, r.alias == 0,
            [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual].contains(op),
            let literal = ExprEvaluator.plainNumber(c)
        else { return nil }
        self.op = op
        self.slot = r.slot
        self.literal = literal
    }

    /// Nil when the cell is not a number (the evaluator decides).
    @inline(__always)
    func holds(_ row: [Cell]) -> Bool? {
        guard slot < row.count, let x = ExprEvaluator.plainNumber(row[slot]) else { return nil }
        return ExprEvaluator.holds(op, x, literal)
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

/// A KPI's anchor as the hot path holds it: a one-column integer anchor (the common case, a foreign
/// key) needs no array. Always built through `init(_:)`, so one anchor has one form.
enum AnchorKey: Hashable, Sendable {
    case int(Int64)
    case cells([Cell])

    init(_ cells: [Cell]) {
        if cells.count == 1, case .int(let v) = cells[0] { self = .int(v) } else { self = .cells(cells) }
    }

    var cells: [Cell] {
        switch self {
        case .int(let v): [.int(v)]
        case .cells(let c): c
        }
    }
}

/// Sums of many accumulators in flat arrays, by index (an anchor's, a group's, a window entry's, a
/// window's group's): an update is integer-indexed arithmetic, with no array allocated per accumulator.
struct FlatAccums: Sendable, Hashable {
    let aggregates: Int
    private(set) var rows: [Int64] = []
    /// Aggregate `a` of accumulator `i` at `i * aggregates + a`.
    private(set) var sums: [ExactDecimal] = []
    private(set) var counts: [Int64] = []

    init(aggregates: Int) { self.aggregates = aggregates }

    var count: Int { rows.count }

    /// Accumulators up to index `n - 1` exist (new ones at zero).
    mutating func grow(to n: Int) {
        guard n > rows.count else { return }
        let more = n - rows.count
        if more == 1 {
            // One new anchor or window entry at a time, the hot case: plain appends.
            rows.append(0)
            for _ in 0..<aggregates {
                sums.append(.zero)
                counts.append(0)
            }
            return
        }
        rows.append(contentsOf: repeatElement(0, count: more))
        sums.append(contentsOf: repeatElement(.zero, count: more * aggregates))
        counts.append(contentsOf: repeatElement(0, count: more * aggregates))
    }

    /// Adds to accumulator `i`, creating it (and those before it) at zero when the arrays are shorter.
    @inline(__always)
    mutating func addGrowing(_ i: Int, _ c: KPIContribution, sign: Int64) {
        if i >= rows.count { grow(to: i + 1) }
        add(i, c, sign: sign)
    }

    mutating func addGrowing(_ i: Int, _ other: KPIAccum, sign: Int64 = 1) {
        if i >= rows.count { grow(to: i + 1) }
        add(i, other, sign: sign)
    }

    @inline(__always)
    mutating func add(_ i: Int, _ c: KPIContribution, sign: Int64) {
        rows[i] += sign
        let base = i * aggregates
        for a in 0..<aggregates {
            if c.counted & (1 << UInt64(a)) != 0 { counts[base + a] += sign }
            let v = c.sum(a)
            if !v.isZero {
                sums[base + a] = (sign > 0 ? sums[base + a].adding(v) : sums[base + a].subtracting(v)) ?? sums[base + a]
            }
        }
    }

    mutating func add(_ i: Int, _ other: KPIAccum, sign: Int64 = 1) {
        rows[i] += sign * other.rows
        let base = i * aggregates
        for a in 0..<aggregates {
            counts[base + a] += sign * other.counts[a]
            let v = other.sums[a]
            if !v.isZero {
                sums[base + a] = (sign > 0 ? sums[base + a].adding(v) : sums[base + a].subtracting(v)) ?? sums[base + a]
            }
        }
    }

    func accum(_ i: Int) -> KPIAccum {
        var out = KPIAccum(aggregates: aggregates)
        out.rows = rows[i]
        let base = i * aggregates
        for a in 0..<aggregates {
            out.sums[a] = sums[base + a]
            out.counts[a] = counts[base + a]
        }
        return out
    }

    func isZero(_ i: Int) -> Bool {
        guard rows[i] == 0 else { return false }
        let base = i * aggregates
        for a in 0..<aggregates where !sums[base + a].isZero || counts[base + a] != 0 { return false }
        return true
    }

    mutating func clear(_ i: Int) {
        rows[i] = 0
        let base = i * aggregates
        for a in 0..<aggregates {
            sums[base + a] = .zero
            counts[base + a] = 0
        }
    }
}

/// One KPI's sums in one window of one partition, by the partition's group id. The first `denseLimit` ids are
/// indexed directly (a chain's categories: no hash at all); ids above it go through a slot map, so a KPI grouped
/// by something with many values (100k customers) holds only the groups a window touched, not every group the
/// partition has seen, in every held window.
struct WindowGroupSums: Sendable, Hashable {
    static let denseLimit = 1_024
    private var dense: FlatAccums
    private var sparse: FlatAccums
    private var sparseSlot: [Int32: Int32] = [:]
    private var sparseGroups: [Int32] = []

    init(aggregates: Int) {
        dense = FlatAccums(aggregates: aggregates)
        sparse = FlatAccums(aggregates: aggregates)
    }

    @inline(__always) private mutating func slot(_ group: Int) -> Int {
        if let s = sparseSlot[Int32(group)] { return Int(s) }
        let s = sparseGroups.count
        sparseGroups.append(Int32(group))
        sparseSlot[Int32(group)] = Int32(s)
        return s
    }

    @inline(__always)
    mutating func add(group: Int, _ c: KPIContribution, sign: Int64) {
        if group < Self.denseLimit {
            dense.addGrowing(group, c, sign: sign)
        } else {
            sparse.addGrowing(slot(group), c, sign: sign)
        }
    }

    mutating func add(group: Int, _ other: KPIAccum, sign: Int64 = 1) {
        if group < Self.denseLimit {
            dense.addGrowing(group, other, sign: sign)
        } else {
            sparse.addGrowing(slot(group), other, sign: sign)
        }
    }

    /// The group's sums, or nil when it holds nothing in this window.
    func accum(group: Int) -> KPIAccum? {
        if group < Self.denseLimit {
            return group < dense.count && !dense.isZero(group) ? dense.accum(group) : nil
        }
        guard let s = sparseSlot[Int32(group)], !sparse.isZero(Int(s)) else { return nil }
        return sparse.accum(Int(s))
    }

    /// Every group holding something, with its sums.
    func forEachNonZero(_ body: (Int, KPIAccum) -> Void) {
        for g in 0..<dense.count where !dense.isZero(g) { body(g, dense.accum(g)) }
        for s in 0..<sparse.count where !sparse.isZero(s) { body(Int(sparseGroups[s]), sparse.accum(s)) }
    }
}

/// An anchor of a KPI, wherever it is held: the partition's key and the anchor's id there.
struct AnchorRef: Hashable, Sendable {
    var partition: Int64
    var id: Int32
}

/// One KPI's state in one partition. Anchors and groups are interned as dense ids (one hash per
/// anchor key, when a contribution arrives); their sums live in flat arrays indexed by id, so a fact
/// update costs one lookup and then integer-indexed arithmetic. Anchors are never removed (as
/// before): an anchor back at zero keeps its id, and its resolution.
struct KPIPartition: Sendable {
    let aggregates: Int

    // Anchors, by id.
    /// One-column integer anchors' ids (Fibonacci-hashed), other anchors' ids (hashed cells).
    var anchorIntIDs = RowKeyMap<Int32>(filler: -1)
    var anchorOtherIDs: [[Cell]: Int32] = [:]
    var anchorKeys: [AnchorKey] = []
    var anchorTotals: FlatAccums
    /// The group the anchor resolved to when last resolved (a group id), or one of `unresolved`,
    /// `noGroup`, `manyGroups` (then `anchorGroupLists` holds them).
    var anchorGroup: [Int32] = []
    var anchorGroupLists: [Int32: [Int32]] = [:]
    static let unresolved: Int32 = -1
    static let noGroup: Int32 = -2
    static let manyGroups: Int32 = -3
    /// The (join, value) pairs each anchor's resolution looked up, as a range of `depPool`: a change
    /// of a joined row holding one of these values re-resolves this anchor, and no other. Each anchor
    /// reserves room for its chain's length, so a re-resolution rewrites its range in place.
    var depPool: [ModelDependency] = []
    var anchorDepStart: [Int32] = []
    var anchorDepCount: [Int32] = []
    var anchorDepRoom: [Int32] = []

    // Each anchor's window sums (moved with the anchor when a lookup changes its groups): a chain of
    // entries per anchor, newest first (most updates hit the head); entries older than the horizon are
    // dropped when a newer one is added, and reused.
    var anchorNewestWindow: [Int32] = []
    var windowStarts: [Int64] = []
    var windowNext: [Int32] = []
    var windowSums: FlatAccums
    var freeWindows: [Int32] = []

    // Groups, by id. `[]` (the only group of an ungrouped KPI) is id 0.
    var groupIDs: [[Cell]: Int32] = [:]
    /// Groups of one column, by their cell: found without building a one-cell array.
    var singleGroupIDs: [Cell: Int32] = [:]
    var groupCells: [[Cell]] = []
    /// Totals by group: the sum of the anchors resolved to each group.
    var groupTotals: FlatAccums
    /// Totals of anchors whose chain is not resolved yet.
    var unresolved: KPIAccum

    init(aggregates: Int) {
        self.aggregates = aggregates
        unresolved = KPIAccum(aggregates: aggregates)
        anchorTotals = FlatAccums(aggregates: aggregates)
        windowSums = FlatAccums(aggregates: aggregates)
        groupTotals = FlatAccums(aggregates: aggregates)
        _ = groupID([])
    }

    var anchorCount: Int { anchorKeys.count }

    @inline(__always)
    func anchorID(_ key: AnchorKey) -> Int? {
        switch key {
        case .int(let v): anchorIntIDs[.int(v)].map { Int($0) }
        case .cells(let c): anchorOtherIDs[c].map { Int($0) }
        }
    }

    /// A new anchor at zero, unresolved, with room for `depRoom` dependencies.
    mutating func addAnchor(_ key: AnchorKey, depRoom: Int) -> Int {
        let id = anchorKeys.count
        switch key {
        case .int(let v): anchorIntIDs[.int(v)] = Int32(id)
        case .cells(let c): anchorOtherIDs[c] = Int32(id)
        }
        anchorKeys.append(key)
        anchorTotals.grow(to: id + 1)
        anchorGroup.append(Self.unresolved)
        anchorNewestWindow.append(-1)
        anchorDepStart.append(Int32(depPool.count))
        anchorDepCount.append(0)
        anchorDepRoom.append(Int32(depRoom))
        for _ in 0..<depRoom { depPool.append(ModelDependency(join: -1, value: .int(0))) }
        return id
    }

    func deps(_ id: Int) -> ArraySlice<ModelDependency> {
        let start = Int(anchorDepStart[id])
        return depPool[start..<start + Int(anchorDepCount[id])]
    }

    /// Whether the anchor's dependencies are `deps` (no copy of them).
    func depsEqual(_ id: Int, _ deps: [ModelDependency]) -> Bool {
        guard Int(anchorDepCount[id]) == deps.count else { return false }
        let start = Int(anchorDepStart[id])
        for (i, d) in deps.enumerated() where depPool[start + i] != d { return false }
        return true
    }

    mutating func setDeps(_ id: Int, _ deps: [ModelDependency]) {
        if deps.count > Int(anchorDepRoom[id]) {
            // Rare (a many-to-many join found more rows): a new range; the old one is left unused.
            anchorDepStart[id] = Int32(depPool.count)
            anchorDepRoom[id] = Int32(deps.count)
            depPool.append(contentsOf: deps)
        } else {
            let start = Int(anchorDepStart[id])
            for (i, d) in deps.enumerated() { depPool[start + i] = d }
        }
        anchorDepCount[id] = Int32(deps.count)
    }

    mutating func groupID(_ cells: [Cell]) -> Int32 {
        // One-column groups live in `singleGroupIDs` only, whichever way they arrive.
        if cells.count == 1 { return groupID(single: cells[0]) }
        if let g = groupIDs[cells] { return g }
        let g = Int32(groupCells.count)
        groupIDs[cells] = g
        groupCells.append(cells)
        groupTotals.grow(to: groupCells.count)
        return g
    }

    mutating func groupID(single cell: Cell) -> Int32 {
        if let g = singleGroupIDs[cell] { return g }
        let g = Int32(groupCells.count)
        singleGroupIDs[cell] = g
        groupCells.append([cell])
        groupTotals.grow(to: groupCells.count)
        return g
    }

    /// A resolution as the anchor stores it.
    mutating func setGroups(_ id: Int, _ resolution: AnchorResolution) {
        // (A hash of the id only when the anchor had a list to drop.)
        if anchorGroup[id] == Self.manyGroups { anchorGroupLists[Int32(id)] = nil }
        switch resolution {
        case .unresolved: anchorGroup[id] = Self.unresolved
        case .none: anchorGroup[id] = Self.noGroup
        case .single(let cell): anchorGroup[id] = groupID(single: cell)
        case .one(let cells): anchorGroup[id] = groupID(cells)
        case .many(let groups):
            anchorGroup[id] = Self.manyGroups
            anchorGroupLists[Int32(id)] = groups.map { groupID($0) }
        }
    }

    /// Whether the anchor is in the same groups as `group`/`list` (`anchorGroup` and, for many groups,
    /// the list it held): a re-resolution that lands where it was moves nothing.
    func sameGroups(_ id: Int, as group: Int32, _ list: [Int32]?) -> Bool {
        guard anchorGroup[id] == group else { return false }
        return group != Self.manyGroups || anchorGroupLists[Int32(id)] == list
    }

    /// The anchor's groups as ids; nil while unresolved.
    func groups(_ id: Int) -> [Int32]? {
        let g = anchorGroup[id]
        return Self.groupList(g, g == Self.manyGroups ? anchorGroupLists[Int32(id)] : nil)
    }

    /// Groups as ids from an `anchorGroup` value and, for many groups, its list; nil for unresolved.
    static func groupList(_ g: Int32, _ list: [Int32]?) -> [Int32]? {
        if g >= 0 { return [g] }
        switch g {
        case unresolved: return nil
        case manyGroups: return list ?? []
        default: return []
        }
    }

    /// The entry of the anchor's sums in window `start` (created at zero).
    @inline(__always)
    mutating func windowEntry(anchor id: Int, start: Int64, horizon: Int64) -> Int {
        var previous: Int32 = -1
        var e = anchorNewestWindow[id]
        while e >= 0 && windowStarts[Int(e)] > start {
            previous = e
            e = windowNext[Int(e)]
        }
        if e >= 0 && windowStarts[Int(e)] == start { return Int(e) }
        let n: Int
        if let free = freeWindows.popLast() {
            n = Int(free)
            windowStarts[n] = start
            windowNext[n] = e
            windowSums.clear(n)
        } else {
            n = windowStarts.count
            windowStarts.append(start)
            windowNext.append(e)
            windowSums.grow(to: n + 1)
        }
        if previous < 0 { anchorNewestWindow[id] = Int32(n) } else { windowNext[Int(previous)] = Int32(n) }
        if horizon != .min && start >= horizon { dropWindows(anchor: id, before: horizon) }
        return n
    }

    /// Forgets the anchor's window sums older than `horizon` (evicted windows).
    mutating func dropWindows(anchor id: Int, before horizon: Int64) {
        var previous: Int32 = -1
        var e = anchorNewestWindow[id]
        while e >= 0 && windowStarts[Int(e)] >= horizon {
            previous = e
            e = windowNext[Int(e)]
        }
        guard e >= 0 else { return }
        if previous < 0 { anchorNewestWindow[id] = -1 } else { windowNext[Int(previous)] = -1 }
        while e >= 0 {
            freeWindows.append(e)
            e = windowNext[Int(e)]
        }
    }

    /// The anchor's window entries (start, entry index), newest first.
    func forEachWindow(anchor id: Int, _ body: (Int64, Int) -> Void) {
        var e = anchorNewestWindow[id]
        while e >= 0 {
            body(windowStarts[Int(e)], Int(e))
            e = windowNext[Int(e)]
        }
    }
}

/// Per KPI: the anchors that looked up each (join, value) when last resolved, so that a change of a
/// joined row re-resolves those anchors and no other. Per join, value → a list of anchors threaded
/// through one pool of nodes: integer values (the common case) are found without SipHash
/// (`RowKeyMap`), and a value thousands of anchors share (a customer's orders) costs one 16-byte
/// node per anchor, with no set to grow and rehash.
struct ModelDependents: Sendable {
    private struct Node: Sendable {
        var ref: AnchorRef
        var next: Int32
    }
    /// Per join (grown on first use): value → its list's first node.
    private var heads: [RowKeyMap<Int32>] = []
    private var nodes: [Node] = []
    /// Removed nodes, chained through `next`: reused before the pool grows.
    private var freeNode: Int32 = -1

    /// Notes that `ref` looked up `d`. Each registration is removed once (`remove`), so a resolution's
    /// dependencies (distinct by construction) are registered once each.
    mutating func insert(_ d: ModelDependency, _ ref: AnchorRef) {
        let j = Int(d.join)
        while heads.count <= j { heads.append(RowKeyMap(filler: -1)) }
        let node = Node(ref: ref, next: heads[j][d.value] ?? -1)
        let n: Int32
        if freeNode >= 0 {
            n = freeNode
            freeNode = nodes[Int(n)].next
            nodes[Int(n)] = node
        } else {
            n = Int32(nodes.count)
            nodes.append(node)
        }
        heads[j][d.value] = n
    }

    /// Forgets one registration of `ref` under `d`. O(anchors sharing the value): only a resolution
    /// whose dependencies changed calls it (a reference re-pointed, a chain completed).
    mutating func remove(_ d: ModelDependency, _ ref: AnchorRef) {
        let j = Int(d.join)
        guard j < heads.count, let head = heads[j][d.value] else { return }
        var previous: Int32 = -1
        var n = head
        while n >= 0 && nodes[Int(n)].ref != ref {
            previous = n
            n = nodes[Int(n)].next
        }
        guard n >= 0 else { return }
        let next = nodes[Int(n)].next
        if previous >= 0 {
            nodes[Int(previous)].next = next
        } else if next >= 0 {
            heads[j][d.value] = next
        } else {
            heads[j].removeValue(forKey: d.value)
        }
        nodes[Int(n)].next = freeNode
        freeNode = n
    }

    /// Calls `body` with every anchor registered under `d`.
    func forEach(_ d: ModelDependency, _ body: (AnchorRef) -> Void) {
        let j = Int(d.join)
        guard j < heads.count, var n = heads[j][d.value] else { return }
        while n >= 0 {
            body(nodes[Int(n)].ref)
            n = nodes[Int(n)].next
        }
    }
}

/// `resolve`'s working storage, kept by the aggregator between calls so that resolving an anchor
/// allocates nothing: the joined row of each alias, and the (join, value) pairs looked up.
struct ModelResolveScratch: Sendable {
    var rows: [[Cell]?] = []
    var deps: [ModelDependency] = []
}

/// Where an anchor lands through its KPI's joins (see `WindowedAggregator.resolve`).
enum AnchorResolution {
    /// A row the chain needs has not arrived.
    case unresolved
    /// In no group: an inner join met a null reference, or the join filter excludes it.
    case none
    /// One group of one column (the common chain `… group by c.city`): no array for it.
    case single(Cell)
    /// One group of any other number of columns (`[]` for a KPI without `group by`).
    case one([Cell])
    /// Several groups (a many-to-many link table), every combination's.
    case many([[Cell]])
}

/// A lookup a resolution made: join `join` of a KPI, matching `value` (found or not).
struct ModelDependency: Hashable, Sendable {
    var join: Int32
    var value: RowKey
}
