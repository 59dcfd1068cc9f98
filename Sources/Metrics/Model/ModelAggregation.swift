/// A model profile's KPIs, kept by the same aggregator shell as the built-in shop KPIs (partitions,
/// watermark, windows, eviction, change tracking), with the same semantics (DESIGN.md):
/// - a fact row's contribution to each KPI is remembered under its row key (Debezium's record key,
///   composite included): an update retracts the remembered contribution and adds the new one, a
///   delete retracts it; `before` images are used only for rows never seen (REPLICA IDENTITY DEFAULT
///   sends placeholders);
/// - contributions are summed per anchor (the fact columns that joins and groups read); an anchor's
///   groups come from its lookup chain, resolved when first seen and again whenever a row of a
///   joined table changes, moving its sums (totals and held windows) exactly. An anchor whose chain
///   misses a row is unresolved until that row arrives: the result does not depend on the order in
///   which topics and partitions are read;
/// - every expression is evaluated before anything changes: an event that fails changes nothing and
///   is reported (the engine counts it as malformed, with the reason).
extension WindowedAggregator {
    /// Applies one event of a model table (`event.role == .model`), whose rows carry their key (the
    /// record key, or the profile's key columns). Returns nil, or why it was not applied (counted as
    /// malformed by the caller). `offset` as in `apply`.
    package mutating func applyModel(_ event: ChangeEvent, partitionKey: Int64 = 0, offset: Int64? = nil) -> String? {
        if let offset, !admit(partitionKey: partitionKey, offset: offset) { return nil }
        guard let plan = modelPlan, event.modelTable >= 0, Int(event.modelTable) < plan.tables.count else {
            return "table \(event.table) is not in the profile's model"
        }
        let t = Int(event.modelTable)
        let p = partition(partitionKey)
        if parts[p].model == nil { parts[p].model = ModelPartition(plan: plan) }
        guard WindowedAggregator.commitTimeRange.contains(event.commitTimeMs) else {
            refused += 1
            return nil
        }
        if event.op == .truncate { return applyModelTruncate(event, table: t, p: p) }
        if event.op == .tombstone { return nil }
        guard let key = event.after?.key ?? event.before?.key else {
            return "\(event.table): the row has no key (no record key, and no key columns in the profile)"
        }
        let tablePlan = plan.tables[t]
        let remembered: [Cell]? =
            tablePlan.isFact ? parts[p].model!.factRows[t][key] : tablePlan.isLookup ? lookups[t].rows[key] : nil

        // The row as it was and as it is now.
        var old = remembered
        /// Known only from a before image: never in our totals, so only its window is corrected.
        var oldFromImage = false
        var new: [Cell]? = nil
        var unmatchedUpdate = false
        switch event.op {
        case .create, .read, .update:
            guard let after = event.after else { return nil }
            new = WindowedAggregator.filled(after.cells, from: remembered)
            if remembered == nil && event.op == .update {
                if let image = event.before?.cells, WindowedAggregator.isComplete(image) {
                    old = image
                    oldFromImage = true
                } else {
                    unmatchedUpdate = true
                }
            }
        case .delete:
            break
        case .truncate, .tombstone:
            return nil
        }

        // Every contribution is computed before anything changes.
        // The aggregator's scratch list, taken for this event (no array allocated per event).
        var contributions = modelContributionScratch
        modelContributionScratch = []
        contributions.removeAll(keepingCapacity: true)
        defer {
            contributions.removeAll(keepingCapacity: true)
            modelContributionScratch = contributions
        }
        var eventVolume = ExactDecimal.zero
        var volumeOverflow = false
        // The most places of any value: adding the magnitudes can normalise places away (2.5e-37 × 4 = 1e-36).
        var eventPlaces = 0
        for k in tablePlan.factKPIs {
            do throws(EvalError) {
                let o = try old.map { row throws(EvalError) in try modelContribution(k, row: row) } ?? nil
                let n = try new.map { row throws(EvalError) in try modelContribution(k, row: row) } ?? nil
                let aggregates = plan.kpis[k].aggregates.count
                for side in 0..<2 {
                    guard let c = side == 0 ? o : n else { continue }
                    for a in 0..<aggregates {
                        let m = c.sum(a)
                        guard !m.isZero else { continue }
                        eventPlaces = max(eventPlaces, Int(m.scale))
                        guard let v = eventVolume.adding(m.magnitude)?.adding(m.magnitude) else {
                            volumeOverflow = true
                            continue
                        }
                        eventVolume = v
                    }
                }
                contributions.append((k, o, n))
            } catch {
                return "kpi.\(plan.model.kpis[k].name): \(error.message)"
            }
        }
        guard !volumeOverflow, admitModelVolume(eventVolume, places: eventPlaces) else {
            refused += 1
            return nil
        }

        let inWindows = noteAppliedEvent(event, windowed: tablePlan.isFact)
        let window = inWindows ? windowFor(event.commitTimeMs, p: p) : nil

        if tablePlan.isFact {
            switch event.op {
            case .create:
                if remembered != nil { keyCollisions += 1 }
            case .update:
                if unmatchedUpdate { unmatched += 1 }
            case .delete:
                if remembered == nil {
                    unmatched += 1
                    if let image = event.before?.cells, WindowedAggregator.looksLikePlaceholder(image) {
                        placeholderDeletes += 1
                    }
                }
            default: break
            }
            // An update of a row never seen counts in the totals, not in a window: its old value is unknown.
            let newInWindow = !unmatchedUpdate
            for (k, o, n) in contributions {
                let w = plan.kpis[k].windowed ? window : nil
                if let o { addContribution(k, p: p, o, sign: -1, window: w, totals: !oldFromImage) }
                if let n { addContribution(k, p: p, n, sign: 1, window: newInWindow ? w : nil, totals: true) }
            }
            parts[p].model!.factRows[t][key] = new
        }
        if tablePlan.isLookup {
            let value: [Cell]? = event.op == .delete ? nil : new
            let change = lookups[t].set(key, value, matchSlots: tablePlan.matchSlots, readSlots: tablePlan.readSlots)
            if change.readChanged { markDependents(table: t, change.old, value) }
        }
        return nil
    }

    /// Every model sum is bounded by `modelVolume` (the magnitudes of every delta applied, twice) and
    /// held at no more than `modelVolume.scale` places: while that volume fits Int128 at that scale
    /// with room to spare, no sum, and no alignment of two sums, can overflow. False (the event is
    /// refused, changing nothing) when this one would break the bound. `places`: the most places of the
    /// values behind `delta`, which its normalised sum may no longer show.
    mutating func admitModelVolume(_ delta: ExactDecimal, places: Int = 0) -> Bool {
        guard !delta.isZero else { return true }
        guard let total = modelVolume.adding(delta) else { return false }
        let scale = max(Int(total.scale), modelVolumeScale, Int(delta.scale), places)
        guard let units = total.units(atScale: scale), units <= Int128.max / 8 else { return false }
        modelVolume = total
        modelVolumeScale = scale
        return true
    }

    /// Unavailable (TOASTed, unchanged) values taken from the remembered row.
    static func filled(_ cells: [Cell], from remembered: [Cell]?) -> [Cell] {
        guard let remembered, cells.contains(.unavailable) else { return cells }
        var out = cells
        for i in out.indices where out[i] == .unavailable && i < remembered.count { out[i] = remembered[i] }
        return out
    }

    static func isComplete(_ cells: [Cell]) -> Bool {
        !cells.isEmpty && !cells.contains(.missing) && !cells.contains(.unavailable)
    }

    /// A before image of REPLICA IDENTITY DEFAULT: the key, and nulls or zero-like placeholders for
    /// every other column (Debezium fills non-null columns with 0 or "").
    static func looksLikePlaceholder(_ cells: [Cell]) -> Bool {
        var blanks = 0
        for c in cells {
            switch c {
            case .null, .missing, .unavailable: blanks += 1
            case .int(0), .bool(false): blanks += 1
            case .decimal(let d) where d.isZero: blanks += 1
            case .text(""): blanks += 1
            default: break
            }
        }
        return blanks > 0 && blanks >= cells.count - 2
    }

    /// Counts an applied event on its table and moves the watermark; true when it counts in a window
    /// (`windowed`: its table's events do, it is not a snapshot read, and not from the future). A commit
    /// time far in the future must not drag the watermark there (that would evict every window): such
    /// an event counts in the totals and is dropped from the windows. Shared by both forms of profile.
    @inline(__always)
    mutating func noteAppliedEvent(_ event: ChangeEvent, windowed: Bool) -> Bool {
        applied += 1
        let t = stats(for: event.table, role: event.role)
        tables[t].opCounts[Int(event.op.rawValue)] += 1
        let fromTheFuture = futureLimitMs.map { event.commitTimeMs > $0 } ?? false
        if !fromTheFuture {
            if event.commitTimeMs > tables[t].lastCommitTimeMs { tables[t].lastCommitTimeMs = event.commitTimeMs }
            if event.commitTimeMs > maxCommitTimeMs { maxCommitTimeMs = event.commitTimeMs }
            // `lastPart` is the event's partition (`apply` and `applyModel` just looked it up).
            if progress.noteTime(event.commitTimeMs, partitionKey: partitionKeys[lastPart]) { evictExpiredWindows() }
        }
        let counts = windowed && !event.isSnapshot
        if counts && fromTheFuture { dropped += 1 }
        return counts && !fromTheFuture
    }

    /// A row's contribution to KPI `k`, or nil when the row fails the KPI's filter.
    func modelContribution(_ k: Int, row: [Cell]) throws(EvalError) -> KPIContribution? {
        let plan = modelPlan!
        let kpi = plan.kpis[k]
        let cell: (ColumnRef) -> Cell = { $0.alias == 0 && $0.slot < row.count ? row[$0.slot] : .missing }
        if let filter = kpi.rowFilter {
            // (`??` would not do: its autoclosure rethrows an untyped error.)
            let passes: Bool
            if let fast = kpi.fastFilter?.holds(row) {
                passes = fast
            } else {
                passes = try ExprEvaluator.holds(filter, cell: cell)
            }
            if !passes { return nil }
        }
        var out = KPIContribution(anchor: try Self.anchorKey(kpi, row: row))
        for i in 0..<kpi.aggregateKinds.count {
            let bit = UInt64(1) << UInt64(i)
            guard let argument = kpi.aggregateArguments[i] else {
                out.appendSum(i, .zero)
                out.counted |= bit
                continue
            }
            switch kpi.aggregateKinds[i] {
            case .countRows, .count:
                let isNull = try ExprEvaluator.evaluate(argument, cell: cell) == .null
                out.appendSum(i, .zero)
                if !isNull { out.counted |= bit }
            case .sum, .avg:
                // Numbers (numeric text too) are summed exactly at the places they have; anything else is an error.
                var value = Self.fastNumber(kpi.fastArguments[i], row: row)
                if value == nil { value = try ExprEvaluator.evaluateNumber(argument, cell: cell) }
                if let d = value {
                    guard d.magnitude <= ExactDecimal.maxMeasure else {
                        throw EvalError(
                            "\(kpi.aggregates[i].name) is \(d) on this row, beyond 10^18, the largest value cdctop sums"
                        )
                    }
                    out.appendSum(i, d)
                    out.counted |= bit
                } else {
                    out.appendSum(i, .zero)
                }
            }
        }
        return out
    }

    /// An aggregate argument's value by its fast path (`FastMeasure`); nil when the evaluator must
    /// decide (a null, a non-numeric cell, an overflow: it gives the same value or the same error).
    @inline(__always)
    static func fastNumber(_ shape: FastMeasure, row: [Cell]) -> ExactDecimal? {
        switch shape {
        case .column(let s):
            return s < row.count ? ExprEvaluator.plainNumber(row[s]) : nil
        case .product(let a, let b):
            guard a < row.count, b < row.count, let x = ExprEvaluator.plainNumber(row[a]),
                let y = ExprEvaluator.plainNumber(row[b])
            else { return nil }
            return ExprEvaluator.product(x, y)
        case .general:
            return nil
        }
    }

    /// The row's anchor for a KPI: a one-column integer anchor without an array.
    @inline(__always)
    static func anchorKey(_ kpi: ModelPlan.KPIPlan, row: [Cell]) throws(EvalError) -> AnchorKey {
        let slots = kpi.anchorSlots
        if slots.count == 1, slots[0] < row.count, case .int(let v) = row[slots[0]] { return .int(v) }
        var anchor: [Cell] = []
        if !slots.isEmpty {
            anchor.reserveCapacity(slots.count)
            for s in slots {
                let c = s < row.count ? row[s] : .missing
                if c == .missing || c == .unavailable {
                    throw EvalError(
                        "column \(kpi.factColumns[s]) is \(c == .missing ? "not in the row image" : "unavailable (unchanged TOASTed value)")"
                    )
                }
                anchor.append(c)
            }
        }
        return AnchorKey(anchor)
    }

    /// Adds (sign 1) or retracts (sign -1) a contribution: to its anchor, to the anchor's groups
    /// (or the unresolved sums) in the totals when `totals`, and in `window` when given.
    mutating func addContribution(_ k: Int, p: Int, _ c: KPIContribution, sign: Int64, window: Int64?, totals: Bool) {
        if modelPlan!.kpis[k].isDirect {
            // No joins, no groups: the one group `[]` (id 0), whose sums never move; no anchor is kept.
            if totals { parts[p].model!.kpis[k].groupTotals.add(0, c, sign: sign) }
            if let w = window { addToModelWindow(w, p: p, k: k, group: 0, c, sign: sign) }
            return
        }
        // One hash of the anchor per contribution; then its sums and its groups' are updated by id.
        let id = anchorID(k, p: p, c.anchor)
        let horizon = horizonStart
        let group = Self.updateAnchor(
            &parts[p].model!.kpis[k], id, c, sign: sign, window: window, totals: totals, horizon: horizon)
        if group >= 0 {
            if totals { parts[p].model!.kpis[k].groupTotals.add(Int(group), c, sign: sign) }
            if let w = window { addToModelWindow(w, p: p, k: k, group: group, c, sign: sign) }
        } else if group == KPIPartition.unresolved {
            if totals { parts[p].model!.kpis[k].unresolved.add(c, sign: sign) }
            if let w = window { markChanged(w, p: p) }
        } else if group == KPIPartition.manyGroups, let groups = parts[p].model!.kpis[k].anchorGroupLists[Int32(id)] {
            for g in groups {
                if totals { parts[p].model!.kpis[k].groupTotals.add(Int(g), c, sign: sign) }
                if let w = window { addToModelWindow(w, p: p, k: k, group: g, c, sign: sign) }
            }
        }
    }

    /// The anchor's id in partition `p`, interned (and resolved) when new.
    @inline(__always)
    mutating func anchorID(_ k: Int, p: Int, _ key: AnchorKey) -> Int {
        if let id = parts[p].model!.kpis[k].anchorID(key) { return id }
        return addResolvedAnchor(k, p: p, key)
    }

    /// A new anchor of KPI `k` in partition `p`: interned, resolved, and registered under every
    /// (join, value) its resolution looked up. Allocates nothing per anchor beyond its share of the
    /// partition's flat arrays (the resolution works in `modelResolveScratch`).
    @inline(never)
    mutating func addResolvedAnchor(_ k: Int, p: Int, _ key: AnchorKey) -> Int {
        var scratch = modelResolveScratch
        modelResolveScratch = ModelResolveScratch()
        defer { modelResolveScratch = scratch }
        let resolution = resolve(k, anchor: key, scratch: &scratch)
        let room = max(scratch.deps.count, modelPlan!.kpis[k].joins.count)
        let id = parts[p].model!.kpis[k].addAnchor(key, depRoom: room)
        parts[p].model!.kpis[k].setGroups(id, resolution)
        parts[p].model!.kpis[k].setDeps(id, scratch.deps)
        register(k, AnchorRef(partition: partitionKeys[p], id: Int32(id)), scratch.deps)
        return id
    }

    /// Adds a contribution to an anchor's sums; returns the anchor's group (or `KPIPartition.unresolved`, …).
    @inline(__always)
    private static func updateAnchor(
        _ state: inout KPIPartition, _ id: Int, _ c: KPIContribution, sign: Int64, window: Int64?, totals: Bool,
        horizon: Int64
    ) -> Int32 {
        if totals { state.anchorTotals.add(id, c, sign: sign) }
        if let w = window {
            let e = state.windowEntry(anchor: id, start: w, horizon: horizon)
            state.windowSums.add(e, c, sign: sign)
        }
        return state.anchorGroup[id]
    }

    /// Adds a contribution to group `group`'s sums in window `w` of partition `p` (by id: no hash of the group's cells).
    private mutating func addToModelWindow(_ w: Int64, p: Int, k: Int, group: Int32, _ c: KPIContribution, sign: Int64)
    {
        let plan = modelPlan!
        mutateWindow(w, p: p) { accum in
            if accum.modelSums.isEmpty { accum.modelSums = Self.emptyModelSums(plan) }
            accum.modelSums[k].add(group: Int(group), c, sign: sign)
        }
    }

    /// Adds an anchor's window sums to group `group`'s in window `w` (a lookup change moving the anchor).
    private mutating func addToModelWindow(_ w: Int64, p: Int, k: Int, group: Int32, _ sums: KPIAccum, sign: Int64) {
        let plan = modelPlan!
        mutateWindow(w, p: p) { accum in
            if accum.modelSums.isEmpty { accum.modelSums = Self.emptyModelSums(plan) }
            accum.modelSums[k].add(group: Int(group), sums, sign: sign)
        }
    }

    /// A window's model sums before its first contribution: no group yet for any KPI.
    static func emptyModelSums(_ plan: ModelPlan) -> [WindowGroupSums] {
        plan.kpis.map { WindowGroupSums(aggregates: $0.aggregates.count) }
    }

    /// Where an anchor lands through its KPI's joins: its group, several through a many-to-many link
    /// table, none when a null reference or the join filter excludes it, unresolved when a row the
    /// chain needs has not arrived. `scratch.deps` receives every (join, value) looked up, the missing
    /// one included; `scratch.rows` is working storage, left empty.
    func resolve(_ k: Int, anchor: AnchorKey, scratch: inout ModelResolveScratch) -> AnchorResolution {
        scratch.deps.removeAll(keepingCapacity: true)
        let kpiPlan = modelPlan!.kpis[k]
        if kpiPlan.isDirect { return .one([]) }
        // The common shape first: a chain of many-to-one joins, one row per alias, no combinations.
        // `rows[a - 1]` is alias a's row; alias 0, the fact, is read from the anchor.
        scratch.rows.removeAll(keepingCapacity: true)
        defer { scratch.rows.removeAll(keepingCapacity: true) }
        for (j, join) in kpiPlan.joins.enumerated() {
            let reference: Cell?
            if join.parent == 0 {
                reference = Self.anchorCell(kpiPlan, anchor, slot: join.parentColumn)
            } else {
                reference = scratch.rows[join.parent - 1].map { $0[join.parentColumn] }
            }
            guard let value = reference?.rowKey else {
                // A null reference: `join` drops the row (as SQL does), `left join` gives nulls.
                if join.isLeft {
                    scratch.rows.append(nil)
                    continue
                }
                return .none
            }
            let dependency = ModelDependency(join: Int32(j), value: value)
            if !scratch.deps.contains(dependency) { scratch.deps.append(dependency) }
            var found = 0
            var match: [Cell]? = nil
            _ = lookups[join.table].forEachMatch(kpiPlan.joinMatchIndexes[j], slot: join.matchColumn, value) { row in
                found += 1
                match = row
            }
            if found == 0 { return .unresolved }
            if found > 1 { return resolveCombinations(k, anchor: anchor, deps: &scratch.deps) }
            scratch.rows.append(match)
        }
        // (Read in place: a copy of `rows` alive at the `defer` would make its clearing reallocate.)
        func cell(_ ref: ColumnRef) -> Cell {
            if ref.alias == 0 { return Self.anchorCell(kpiPlan, anchor, slot: ref.slot) }
            guard ref.alias <= scratch.rows.count, let row = scratch.rows[ref.alias - 1] else { return .null }
            return ref.slot < row.count ? row[ref.slot] : .missing
        }
        guard Self.passesJoinFilter(kpiPlan, cell: cell) else { return .none }
        switch kpiPlan.groups.count {
        case 0: return .one([])
        case 1: return .single(Self.groupCell(kpiPlan.groups[0], cell: cell))
        default: return .one(kpiPlan.groups.map { Self.groupCell($0, cell: cell) })
        }
    }

    /// A fact column as the anchor knows it (`.missing` for a column outside the anchor, which no
    /// join, group or join filter reads).
    @inline(__always)
    static func anchorCell(_ kpiPlan: ModelPlan.KPIPlan, _ anchor: AnchorKey, slot: Int) -> Cell {
        switch anchor {
        case .int(let v):
            return kpiPlan.anchorSlots.count == 1 && kpiPlan.anchorSlots[0] == slot ? .int(v) : .missing
        case .cells(let cells):
            guard let i = kpiPlan.anchorSlots.firstIndex(of: slot), i < cells.count else { return .missing }
            return cells[i]
        }
    }

    /// Whether the KPI's join filter (if any) keeps this combination of rows; an error excludes it.
    static func passesJoinFilter(_ kpi: ModelPlan.KPIPlan, cell: (ColumnRef) -> Cell) -> Bool {
        guard let filter = kpi.joinFilter else { return true }
        guard let v = try? ExprEvaluator.evaluate(filter, cell: cell) else { return false }
        return ExprEvaluator.isTrue(v)
    }

    /// A group expression's value as a group cell (an error or a missing column groups as null).
    static func groupCell(_ e: Expr, cell: (ColumnRef) -> Cell) -> Cell {
        switch (try? ExprEvaluator.evaluate(e, cell: cell)) ?? .null {
        case .null: .null
        case .number(let d): d.int64.map { Cell.int($0) } ?? .decimal(d)
        case .text(let s): .text(s)
        case .bool(let b): .bool(b)
        }
    }

    /// The fact row as far as the anchor knows it.
    private func factRow(_ kpiPlan: ModelPlan.KPIPlan, anchor: AnchorKey) -> [Cell] {
        (0..<kpiPlan.factColumns.count).map { Self.anchorCell(kpiPlan, anchor, slot: $0) }
    }

    /// The group of one combination of rows (one per alias), or nil when the join filter excludes it.
    private func groupOf(_ k: Int, _ combination: [[Cell]?]) -> [Cell]? {
        let kpi = modelPlan!.kpis[k]
        let cell: (ColumnRef) -> Cell = { ref in
            guard ref.alias < combination.count, let row = combination[ref.alias] else { return .null }
            return ref.slot < row.count ? row[ref.slot] : .missing
        }
        guard Self.passesJoinFilter(kpi, cell: cell) else { return nil }
        return kpi.groups.map { Self.groupCell($0, cell: cell) }
    }

    /// `resolve` where some join matches several rows (a many-to-many link table): every combination.
    private func resolveCombinations(_ k: Int, anchor: AnchorKey, deps: inout [ModelDependency]) -> AnchorResolution {
        let plan = modelPlan!
        let kpiPlan = plan.kpis[k]
        var combinations: [[[Cell]?]] = [[factRow(kpiPlan, anchor: anchor)]]
        for (j, join) in kpiPlan.joins.enumerated() {
            var next: [[[Cell]?]] = []
            for combination in combinations {
                guard let parent = combination[join.parent], let value = parent[join.parentColumn].rowKey else {
                    if join.isLeft { next.append(combination + [nil]) }
                    continue
                }
                let dependency = ModelDependency(join: Int32(j), value: value)
                if !deps.contains(dependency) { deps.append(dependency) }
                let matches = lookups[join.table].find(kpiPlan.joinMatchIndexes[j], slot: join.matchColumn, value)
                if matches.isEmpty { return .unresolved }
                for m in matches { next.append(combination + [m]) }
            }
            combinations = next
        }
        let groups = combinations.compactMap { groupOf(k, $0) }
        switch groups.count {
        case 0: return .none
        case 1: return .one(groups[0])
        default: return .many(groups)
        }
    }

    /// Re-resolves the anchors a joined row's change made stale, moving their sums. Runs before
    /// results are read: O(anchors that reach a changed row), not O(anchors).
    mutating func refreshModelResolutions() {
        guard modelStale else { return }
        modelStale = false
        var scratch = modelResolveScratch
        modelResolveScratch = ModelResolveScratch()
        defer { modelResolveScratch = scratch }
        for k in modelDirty.indices where !modelDirty[k].isEmpty {
            let dirty = modelDirty[k]
            modelDirty[k] = []
            for ref in dirty {
                let id = Int(ref.id)
                guard let p = partIndex[ref.partition], parts[p].model != nil, id < parts[p].model!.kpis[k].anchorCount
                else { continue }
                let resolution = resolve(k, anchor: parts[p].model!.kpis[k].anchorKeys[id], scratch: &scratch)
                let beforeGroup = parts[p].model!.kpis[k].anchorGroup[id]
                let beforeList =
                    beforeGroup == KPIPartition.manyGroups ? parts[p].model!.kpis[k].anchorGroupLists[Int32(id)] : nil
                parts[p].model!.kpis[k].setGroups(id, resolution)
                // Most re-resolutions (an order's status changed, a row re-saved) land where they were.
                if !parts[p].model!.kpis[k].sameGroups(id, as: beforeGroup, beforeList) {
                    let before = KPIPartition.groupList(beforeGroup, beforeList)
                    move(id, k: k, p: p, from: before, to: parts[p].model!.kpis[k].groups(id))
                }
                if !parts[p].model!.kpis[k].depsEqual(id, scratch.deps) {
                    // Only what changed is unregistered and registered (a customer's list is long).
                    let oldDeps = Array(parts[p].model!.kpis[k].deps(id))
                    unregister(k, ref, oldDeps.filter { !scratch.deps.contains($0) })
                    register(k, ref, scratch.deps.filter { !oldDeps.contains($0) })
                    parts[p].model!.kpis[k].setDeps(id, scratch.deps)
                }
            }
        }
    }

    /// Marks stale the anchors that looked up a joined row's old or new values.
    mutating func markDependents(table t: Int, _ old: [Cell]?, _ new: [Cell]?) {
        guard let plan = modelPlan else { return }
        for k in plan.tables[t].lookupKPIs {
            for (j, join) in plan.kpis[k].joins.enumerated() where join.table == t {
                // No `[old, new]` array per change; an unchanged matched value is looked up once.
                let oldValue = old.flatMap { join.matchColumn < $0.count ? $0[join.matchColumn].rowKey : nil }
                let newValue = new.flatMap { join.matchColumn < $0.count ? $0[join.matchColumn].rowKey : nil }
                if let oldValue { markDependents(k, join: j, oldValue) }
                if let newValue, newValue != oldValue { markDependents(k, join: j, newValue) }
            }
        }
        modelStale = true
    }

    /// Marks stale the anchors of KPI `k` that looked up `value` through join `j`.
    private mutating func markDependents(_ k: Int, join j: Int, _ value: RowKey) {
        let dependents = modelDependents[k]
        dependents.forEach(ModelDependency(join: Int32(j), value: value)) { modelDirty[k].insert($0) }
    }

    mutating func register(_ k: Int, _ ref: AnchorRef, _ deps: [ModelDependency]) {
        for d in deps { modelDependents[k].insert(d, ref) }
    }

    mutating func unregister(_ k: Int, _ ref: AnchorRef, _ deps: [ModelDependency]) {
        for d in deps { modelDependents[k].remove(d, ref) }
    }

    /// Moves an anchor's total and held window sums from its old groups (nil: the unresolved sums) to its new ones.
    private mutating func move(_ id: Int, k: Int, p: Int, from oldGroups: [Int32]?, to newGroups: [Int32]?) {
        let total = parts[p].model!.kpis[k].anchorTotals.accum(id)
        var windows: [(Int64, KPIAccum)] = []
        parts[p].model!.kpis[k].forEachWindow(anchor: id) { w, e in
            if w >= horizonStart && parts[p].windows[.int(w)] != nil {
                windows.append((w, parts[p].model!.kpis[k].windowSums.accum(e)))
            }
        }
        for (groups, sign) in [(oldGroups, Int64(-1)), (newGroups, Int64(1))] {
            if let groups {
                for g in groups {
                    parts[p].model!.kpis[k].groupTotals.add(Int(g), total, sign: sign)
                    for (w, accum) in windows { addToModelWindow(w, p: p, k: k, group: g, accum, sign: sign) }
                }
            } else {
                parts[p].model!.kpis[k].unresolved.add(total, sign: sign)
                for (w, _) in windows { markChanged(w, p: p) }
            }
        }
    }

    /// A truncate empties the table everywhere, whichever partition carried it; its window (in the
    /// partition that carried it) records the retraction.
    private mutating func applyModelTruncate(_ event: ChangeEvent, table t: Int, p: Int) -> String? {
        let plan = modelPlan!
        let tablePlan = plan.tables[t]
        // Every held contribution is retracted: a sum moves by at most what the table's groups hold.
        var held = ExactDecimal.zero
        for part in parts {
            guard let m = part.model else { continue }
            for k in tablePlan.factKPIs {
                for s in m.kpis[k].groupTotals.sums { held = held.adding(s.magnitude)?.adding(s.magnitude) ?? held }
            }
        }
        guard admitModelVolume(held) else {
            refused += 1
            return nil
        }
        let inWindows = noteAppliedEvent(event, windowed: tablePlan.isFact)
        let window = inWindows ? windowFor(event.commitTimeMs, p: p) : nil
        if tablePlan.isFact {
            for q in parts.indices {
                guard let rows = parts[q].model?.factRows[t] else { continue }
                rows.forEach { _, row in
                    for k in tablePlan.factKPIs {
                        guard let c = try? modelContribution(k, row: row) else { continue }
                        addContribution(k, p: q, c, sign: -1, window: nil, totals: true)
                        if let w = window, plan.model.kpis[k].windowed {
                            addContribution(k, p: p, c, sign: -1, window: w, totals: false)
                        }
                    }
                }
                parts[q].model!.factRows[t].removeAll()
            }
        }
        if tablePlan.isLookup {
            lookups[t].removeAll()
            // Rare: every anchor of the KPIs joining the table is looked at again.
            for k in tablePlan.lookupKPIs {
                for q in parts.indices {
                    for id in 0..<(parts[q].model?.kpis[k].anchorCount ?? 0) {
                        modelDirty[k].insert(AnchorRef(partition: partitionKeys[q], id: Int32(id)))
                    }
                }
            }
            modelStale = true
        }
        return nil
    }

    // MARK: results

    /// Totals of every KPI, merged over partitions.
    func modelTotals() -> [KPIValues] {
        guard let plan = modelPlan else { return [] }
        var out = plan.model.kpis.map { _ in KPIValues() }
        for part in parts {
            guard let m = part.model else { continue }
            for k in out.indices {
                let kpi = m.kpis[k]
                for g in kpi.groupCells.indices where !kpi.groupTotals.isZero(g) {
                    let cells = kpi.groupCells[g]
                    let accum = kpi.groupTotals.accum(g)
                    if out[k].groups[cells] == nil {
                        out[k].groups[cells] = accum
                    } else {
                        out[k].groups[cells]!.add(accum)
                    }
                }
                out[k].unresolvedRows += kpi.unresolved.rows
            }
        }
        for k in out.indices { out[k].groups = out[k].groups.filter { !$0.value.isZero } }
        return out
    }

    /// Window `w`'s KPIs merged over partitions (what `merge(window:)` adds for a model profile):
    /// each partition's group ids are turned into the groups' cells here, once per window merge.
    func modelWindow(_ w: Int64) -> [KPIValues] {
        guard let plan = modelPlan else { return [] }
        var out = plan.model.kpis.map { _ in KPIValues() }
        for part in parts {
            guard let m = part.model, let accum = part.windows[.int(w)], !accum.modelSums.isEmpty else { continue }
            for k in out.indices {
                let groupCells = m.kpis[k].groupCells
                accum.modelSums[k].forEachNonZero { g, a in
                    let cells = groupCells[g]
                    if out[k].groups[cells] == nil { out[k].groups[cells] = a } else { out[k].groups[cells]!.add(a) }
                }
            }
        }
        for k in out.indices { out[k].groups = out[k].groups.filter { !$0.value.isZero } }
        return out
    }

    /// The built-in tiles from the model's `transactions`, `revenue` and `category_sales` KPIs.
    func modelBuiltins(_ values: [KPIValues]) -> (tx: Int64, revenue: Money, categories: [String: Money]) {
        guard let model = modelPlan?.model else { return (0, .zero, [:]) }
        var tx: Int64 = 0
        var revenue = Money.zero
        var categories: [String: Money] = [:]
        if let k = model.transactions, let a = values[k].ungrouped {
            tx =
                model.kpis[k].aggregates[0].kind == .sum
                ? Int64(clamping: a.sums[0].rounded(places: 0)?.units ?? 0) : a.counts[0]
        }
        // The tiles show money at 9 places; the KPI itself (`kpis` in --json) keeps every place.
        if let k = model.revenue, let a = values[k].ungrouped { revenue = a.sums[0].roundedMoney }
        if let k = model.categorySales {
            let isSum = model.kpis[k].aggregates[0].kind == .sum
            for (g, a) in values[k].groups {
                let name = KPIColumns.groupText(g.first ?? .null, nullLabel: profile.uncategorized)
                categories[name, default: .zero] += isSum ? a.sums[0].roundedMoney : Money(whole: a.counts[0])
            }
            categories = categories.filter { !$0.value.isZero }
        }
        return (tx, revenue, categories)
    }

    /// Rows of the category KPI whose chain is not resolved yet, and their sum.
    func modelParked() -> (lineItems: Int64, amount: Money) {
        guard let k = modelPlan?.model.categorySales else { return (0, .zero) }
        var rows: Int64 = 0
        var amount = Money.zero
        for part in parts {
            if let m = part.model {
                rows += m.kpis[k].unresolved.rows
                amount += m.kpis[k].unresolved.sums[0].roundedMoney
            }
        }
        return (rows, amount)
    }

    /// Rows remembered: fact rows per partition and joined rows.
    var modelLiveKeys: Int {
        parts.reduce(0) { $0 + ($1.model?.factRows.reduce(0) { $0 + $1.count } ?? 0) }
            + lookups.reduce(0) { $0 + $1.rows.count }
    }

    /// Output column names of each KPI.
    package var kpiColumns: [KPIColumns] {
        modelPlan?.model.kpis.map { KPIColumns($0, nullLabel: profile.uncategorized) } ?? []
    }
}
