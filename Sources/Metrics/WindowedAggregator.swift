/// Exact, CDC-correct KPIs in tumbling event-time windows.
///
/// Semantics (DESIGN.md, "Semantics the numbers must obey"):
/// - Event time is the commit time; windows are `windowMs` wide, aligned to the epoch.
/// - Watermark = highest commit time seen − allowed lateness; a window is final once the
///   watermark passes its end. Events for a final window still held correct it (late
///   correction); events older than everything held are counted as dropped from the windows
///   but still update the running totals, so nothing is silently lost.
/// - Creates add a row's contribution, updates retract the old and add the new, deletes retract.
///   The old contribution is the one remembered for the primary key; `before` is used only when
///   nothing is remembered (REPLICA IDENTITY DEFAULT sends placeholder values in `before`).
/// - Snapshot reads load state and running totals, never a window.
/// - Truncate retracts every row of the table in the truncate's window.
/// - Line items are attributed to their product's *current* category: sales are kept per
///   product, and when a product's category appears (parking) or changes, its sums move.
///   That makes the result independent of how topics interleave. Deleting a product keeps
///   its last category, so past sales stay attributed.
/// - Redelivered messages (same partition, offset ≤ last applied) are ignored.
///
/// State is kept per source partition (`PartitionState`): per-key contributions and partial
/// windows belong to the partition their events came from; only the product → category
/// dimension and the watermark are shared. Results are the sum over partitions, so a partition's
/// state can be saved, restored, dropped or moved on its own. With `journaling` on, every change
/// is also recorded in `changes` so a checkpoint writes only what changed (`takeChanges()`).
///
/// Arithmetic never traps: every money value must lie within `Money.maxMagnitude`, and an event
/// whose deltas could push any sum past half of Int128's range is refused (counted in `refused`).
package struct WindowedAggregator: Sendable {
    package let profile: KPIProfile
    package var windowMs: Int64 { profile.windowMs }

    /// Commit times outside 1970…9999 are refused: window arithmetic stays far from Int64's edges.
    package static let commitTimeRange: ClosedRange<Int64> = 0...253_402_300_799_999

    package struct WindowAccum: Sendable, Hashable {
        package var txCount: Int64 = 0
        package var revenue: Money = .zero
        package var categoryRevenue: [String: Money] = [:]
        /// A model profile's KPI sums in this window from this partition, by KPI index, then by the
        /// partition's group id (`KPIPartition.groupCells`): an update is indexed, not hashed by cells.
        var modelSums: [WindowGroupSums] = []
        package init(txCount: Int64 = 0, revenue: Money = .zero) {
            self.txCount = txCount
            self.revenue = revenue
        }
    }

    /// A live line item (the aggregator holds one per live key: its size is most of the state's memory).
    package struct LineItem: Sendable, Hashable {
        package private(set) var product: RowKey?
        package private(set) var quantity: Int64
        package private(set) var unitPrice: Money
        /// quantity × unit price. Not stored (16 bytes less per live line item): the initializer checked
        /// that the product fits, and the fields never change after it.
        @inline(__always) package var amount: Money { Money(units: unitPrice.units &* Int128(quantity)) }

        /// Nil when quantity × unit price overflows or lies beyond `Money.maxMagnitude`.
        package init?(product: RowKey?, quantity: Int64, unitPrice: Money) {
            guard unitPrice.isInRange, unitPrice.multipliedChecked(by: quantity) != nil else { return nil }
            self.product = product
            self.quantity = quantity
            self.unitPrice = unitPrice
        }

        /// For values the failable initializer already checked (read back from `StoredLineItem`).
        init(checked product: RowKey?, quantity: Int64, unitPrice: Money) {
            self.product = product
            self.quantity = quantity
            self.unitPrice = unitPrice
        }
    }

    /// A live line item as the per-key map holds it: the product interned as a number and the price
    /// split in two words, so it needs 8-byte alignment and 32 bytes (a `LineItem` takes 48).
    struct StoredLineItem: Sendable {
        var priceLow: UInt64
        var priceHigh: Int64
        var quantity: Int64
        /// Index in `productRefKeys`; -1 for no product.
        var productRef: Int32
        static let none = StoredLineItem(priceLow: 0, priceHigh: 0, quantity: 0, productRef: -1)
    }

    package struct ProductSales: Sendable, Hashable {
        package var total: Money = .zero
        package var lineItems: Int64 = 0
        package var windows: [Int64: Money] = [:]
        /// The oldest key of `windows` (Int64.max when empty): expired sums are dropped in O(1) checks.
        package var oldestWindow: Int64 = .max
        /// Listed in its partition's `journaledProducts` since the last `takeChanges()`, with the
        /// windows changed since then: a flag and a short list instead of two hashed-set inserts per sale.
        var journaled = false
        var journaledWindows: [Int64] = []
        package init(total: Money = .zero, lineItems: Int64 = 0) {
            self.total = total
            self.lineItems = lineItems
        }
    }

    /// Everything one source partition contributed.
    struct PartitionState: Sendable {
        var sales = RowKeyMap<Money>(filler: .zero)
        var lineItems = RowKeyMap<StoredLineItem>(filler: .none)
        var products = RowKeyMap<ProductSales>(filler: ProductSales())
        /// By window start (as `.int`): a cheap hash, looked up once or twice per event.
        var windows = RowKeyMap<WindowAccum>(filler: WindowAccum())
        var totalRevenue: Money = .zero
        var totalCategory: [String: Money] = [:]
        /// Line items (and their net amount) of products whose category is not known yet, kept as
        /// they change so a snapshot never scans the products.
        var parkedLineItems: Int64 = 0
        var parkedAmount: Money = .zero
        /// Offset of the last message admitted from this partition; -1 before the first.
        var lastOffset: Int64 = -1
        /// Windows changed since the last `takeChanges()` (the last one noted is cached: most
        /// events of a run hit the same window).
        var changedWindows: Set<Int64> = []
        var lastChangedWindow: Int64 = .min
        /// Products changed since the last `takeChanges()` (each once: see `ProductSales.journaled`),
        /// resolved to their current values, with their changed windows, when the changes are taken.
        /// A product sells many times between checkpoints; one journal entry per sale made the journal
        /// most of the state's memory.
        var journaledProducts: [RowKey] = []
        /// Sale and line-item keys changed since the last `takeChanges()`, in order (a key may repeat);
        /// their current values (or their absence: deleted) are read when the changes are taken.
        var journaledSales = RowKeyList()
        var journaledLineItems = RowKeyList()
        /// A model profile's rows and sums (nil until its first model event).
        var model: ModelPartition?
    }

    // Partitions, by key (any stable number per topic-partition, see `EngineCore.partitionKey`).
    var parts: [PartitionState] = []
    package private(set) var partitionKeys: [Int64] = []
    var partIndex: [Int64: Int] = [:]
    var lastPart = -1

    // Shared by all partitions: the dimension, the watermark and the windows' horizon.
    var productCategory = RowKeyMap<String>(filler: "")
    /// Products referenced by live line items, interned (see `StoredLineItem`). Only grows, like
    /// `productCategory`: a product is a dimension row, not an event.
    var productRefs = RowKeyMap<Int32>(filler: -1)
    var productRefKeys: [RowKey] = []
    /// Windows starting before this were evicted; events for them are dropped from windows.
    package internal(set) var horizonStart: Int64 = .min
    /// The newest commit time applied (what the dashboard calls "last change"); the watermark is made
    /// of `progress`, not of this.
    package internal(set) var maxCommitTimeMs: Int64 = .min
    /// How far in event time every partition still being read has got, heartbeats included: the
    /// watermark plus the allowed lateness (see `ReadProgress` for the rule).
    package internal(set) var progress = ReadProgress()

    /// Window starts held by any partition, ascending, and beside each its result merged over
    /// partitions. Merged results are rebuilt only for windows changed since the last
    /// `windowResults` (`staleMerged`), so reading the windows costs what changed, not what is held.
    var heldStarts: [Int64] = []
    var heldResults: [WindowResult] = []
    var staleMerged: Set<Int64> = []
    var lastStaleMerged: Int64 = .min
    /// Held windows the watermark has passed (start < `finalBeforeMs`), kept as windows become
    /// final or are evicted, so a snapshot shares it instead of rebuilding it.
    package internal(set) var finalStarts: Set<Int64> = []
    /// `windowStart(of: watermarkMs)`: every window starting before it is final.
    var finalBeforeMs: Int64 = .min
    /// Windows whose merged result changed or that became final since the last `takeWindowChanges()`.
    var windowChanges: Set<Int64> = []
    /// False after a restore: what changed since the last `takeWindowChanges()` is unknown.
    var windowChangesKnown = true

    // Counters.
    package internal(set) var lateCorrections: Int64 = 0
    package internal(set) var dropped: Int64 = 0
    package internal(set) var duplicates: Int64 = 0
    /// Updates/deletes for keys never seen, with no usable `before` (consumer started mid-stream).
    package internal(set) var unmatched: Int64 = 0
    /// Events refused: a value out of range, a commit time outside 1970…9999, or a sum that would overflow.
    package internal(set) var refused: Int64 = 0
    package internal(set) var applied: Int64 = 0
    /// An upper bound of |any sum| (the magnitudes of every delta applied so far); kept below
    /// `volumeLimit` so that no sum can overflow.
    package internal(set) var volume: Int128 = 0
    static let volumeLimit: Int128 = Int128.max / 2
    var tableIndex: [String: Int] = [:]
    package internal(set) var tables: [TableStats] = []
    /// The two tables seen last (events of two topics usually interleave: orders and their line items).
    var lastStatsIndex = -1
    var previousStatsIndex = -1

    /// Record every change in `changes` for incremental checkpoints.
    package var journaling = false
    /// Commit times after this (ms) are treated as clock errors: kept in the totals, dropped from the
    /// windows, and never moving the watermark. The engine sets it from the wall clock (now + 1 day);
    /// nil (the default, and for deterministic replays of old data) means no limit.
    package var futureLimitMs: Int64?
    package static let futureToleranceMs: Int64 = 24 * 3_600_000
    package internal(set) var changes = StateChanges()

    // A model profile (`profile.model`): its plan, the joined tables' rows, and per KPI a counter
    // bumped whenever a row it joins changes (anchors resolved before it are re-resolved lazily).
    let modelPlan: ModelPlan?
    var lookups: [LookupTable] = []
    /// Per KPI: which anchors looked up which (join, value) when last resolved, and the anchors a
    /// joined row's change has made stale since (re-resolved before results are read).
    var modelDependents: [[ModelDependency: AnchorRefs]] = []
    var modelDirty: [Set<AnchorRef>] = []
    var modelStale = false
    /// `applyModel`'s per-event list of contributions, kept to reuse its storage (empty between events).
    var modelContributionScratch: [(kpi: Int, old: KPIContribution?, new: KPIContribution?)] = []
    /// The model's overflow bound (see `admitModelVolume`), saved with the model state.
    var modelVolume = ExactDecimal.zero
    var modelVolumeScale = 0
    /// Creates for a key that is already alive (not a snapshot re-read): two rows claim one identity.
    package internal(set) var keyCollisions: Int64 = 0
    /// Unmatched deletes whose before image holds only the key and placeholders (REPLICA IDENTITY DEFAULT).
    package internal(set) var placeholderDeletes: Int64 = 0

    package init(profile: KPIProfile) {
        self.profile = profile
        if let model = profile.model {
            let plan = ModelPlan(model: model)
            modelPlan = plan
            lookups = plan.tables.map { LookupTable(matchSlots: $0.matchSlots.count) }
            modelDependents = Array(repeating: [:], count: model.kpis.count)
            modelDirty = Array(repeating: [], count: model.kpis.count)
        } else {
            modelPlan = nil
        }
    }

    /// An event is late when the watermark of the data read before it had already closed its window.
    package var watermarkMs: Int64 {
        progress.clockMs == .min ? .min : progress.clockMs - profile.allowedLatenessMs
    }

    // MARK: read progress (the watermark's input: issue 22)

    /// The partition was assigned: it holds the watermark back until it reports its end.
    package mutating func noteAssigned(partitionKey: Int64) { progress.noteAssigned(partitionKey: partitionKey) }

    /// Messages of the partition are being read; more may follow until it reports its end.
    package mutating func noteReading(partitionKey: Int64) { progress.noteReading(partitionKey: partitionKey) }

    /// The partition has been read to its end: it no longer holds the watermark back.
    package mutating func noteReachedEnd(partitionKey: Int64) {
        if progress.noteReachedEnd(partitionKey: partitionKey) { evictExpiredWindows() }
    }

    /// A Debezium heartbeat read from `partitionKey`: its time moves the watermark once every
    /// partition behind has been read to its end (see `ReadProgress`). Heartbeats from the future
    /// (`futureLimitMs`) are clock errors and move nothing.
    package mutating func noteHeartbeat(atMs: Int64, partitionKey: Int64) {
        if let limit = futureLimitMs, atMs > limit { return }
        guard WindowedAggregator.commitTimeRange.contains(atMs) else { return }
        if progress.noteTime(atMs, partitionKey: partitionKey) { evictExpiredWindows() }
    }

    @inline(__always) package func windowStart(of timeMs: Int64) -> Int64 {
        let r = timeMs % windowMs
        return r >= 0 ? timeMs - r : timeMs - r - windowMs
    }

    // MARK: partitions

    @inline(__always) mutating func partition(_ key: Int64) -> Int {
        if lastPart >= 0 && partitionKeys[lastPart] == key { return lastPart }
        // Events of several partitions interleave: a scan of a few keys beats hashing one.
        if partitionKeys.count <= 16 {
            if let i = partitionKeys.firstIndex(of: key) {
                lastPart = i
                return i
            }
        } else if let i = partIndex[key] {
            lastPart = i
            return i
        }
        parts.append(PartitionState())
        partitionKeys.append(key)
        partIndex[key] = parts.count - 1
        lastPart = parts.count - 1
        return lastPart
    }

    /// Offset of the last message admitted from a partition, -1 if none.
    package func lastOffset(partitionKey: Int64) -> Int64 {
        partIndex[partitionKey].map { parts[$0].lastOffset } ?? -1
    }

    /// Records that the message at `offset` of a partition is being applied. False (and counted
    /// as a duplicate) when it is a redelivery: at or below the last admitted offset.
    package mutating func admit(partitionKey: Int64, offset: Int64) -> Bool {
        let p = partition(partitionKey)
        if offset <= parts[p].lastOffset {
            duplicates += 1
            return false
        }
        parts[p].lastOffset = offset
        return true
    }

    /// Forgets everything a partition contributed (it was revoked, or moved to another process).
    /// The shared dimension stays; windows held by no partition any more disappear from results.
    package mutating func dropPartition(_ key: Int64) {
        guard let i = partIndex[key] else { return }
        let dropped = parts[i].windows
        dropped.forEach { w, _ in if case .int(let start) = w { markMergedStale(start) } }
        parts.remove(at: i)
        partitionKeys.remove(at: i)
        let clockMoved = progress.forget(partitionKey: key)
        partIndex = Dictionary(uniqueKeysWithValues: partitionKeys.enumerated().map { ($1, $0) })
        lastPart = -1
        if clockMoved { evictExpiredWindows() }
        // Its journal of changed keys, products and windows went with it: nothing it recorded is written.
        if journaling { changes.droppedPartitions.append(key) }
    }

    // MARK: applying events

    /// Applies one event. `partitionKey` identifies its topic-partition (any stable number) and
    /// `offset` its position there; an offset at or below the last applied one is a redelivery.
    /// Pass `offset: nil` when the caller already admitted the message (or has no positions).
    package mutating func apply(_ event: ChangeEvent, partitionKey: Int64 = 0, offset: Int64? = nil) {
        if let offset, !admit(partitionKey: partitionKey, offset: offset) { return }
        if event.role == .model {
            _ = applyModel(event, partitionKey: partitionKey)
            return
        }
        let p = partition(partitionKey)
        // What the key contributes now: looked up once, before anything changes (a refused event changes nothing).
        var rememberedSale: Money?
        var rememberedItem: LineItem?
        if event.op != .truncate, let key = event.after?.key ?? event.before?.key {
            switch event.role {
            // Read through `inout`: a plain read of `parts[p]` copied the whole partition state per event.
            case .sale: rememberedSale = Self.sale(key, in: &parts[p])
            case .lineItem:
                if let stored = Self.lineItem(key, in: &parts[p]) { rememberedItem = lineItem(stored: stored) }
            case .dimension, .other, .model: break
            }
        }
        guard WindowedAggregator.commitTimeRange.contains(event.commitTimeMs),
            let eventVolume = volumeBound(of: event, rememberedSale: rememberedSale, rememberedItem: rememberedItem),
            eventVolume <= WindowedAggregator.volumeLimit - volume
        else {
            refused += 1
            return
        }
        volume += eventVolume
        let inWindows = noteAppliedEvent(event, windowed: event.role == .sale || event.role == .lineItem)

        switch event.role {
        case .sale:
            applySale(
                event, p: p, window: inWindows ? windowFor(event.commitTimeMs, p: p) : nil, remembered: rememberedSale)
        case .lineItem:
            applyLineItem(
                event, p: p, window: inWindows ? windowFor(event.commitTimeMs, p: p) : nil, remembered: rememberedItem)
        case .dimension: applyDimension(event)
        case .other, .model: break
        }
    }

    /// An upper bound of how much this event can move any one sum, or nil when one of its values is
    /// out of range. Each sum moves by at most a few of the event's values (the new and the old
    /// contribution, in a window and in a total), so twice their magnitudes bounds it; a truncate
    /// retracts at most everything applied before, which `volume` bounds.
    private func volumeBound(of e: ChangeEvent, rememberedSale: Money?, rememberedItem: LineItem?) -> Int128? {
        func magnitude(_ m: Money?) -> Int128? {
            guard let m else { return 0 }
            guard m.isInRange else { return nil }
            return m.units.magnitude > UInt128(Int128.max) ? nil : Int128(m.units.magnitude)
        }
        if e.op == .truncate {
            // Every held contribution of the table is retracted: a sum moves by at most what the
            // table's totals hold (sales), or what its products' totals hold (line items, per
            // category and window). Truncates are rare, so this O(products) pass is fine.
            var held: Int128 = 0
            for part in parts {
                switch e.role {
                case .sale: held += Int128(part.totalRevenue.units.magnitude)
                case .lineItem: part.products.forEach { _, sales in held += Int128(sales.total.units.magnitude) }
                case .dimension, .other, .model: break
                }
            }
            return 2 * held
        }
        switch e.role {
        case .sale:
            guard let a = magnitude(e.after?.amount.value), let b = magnitude(e.before?.amount.value),
                let r = magnitude(rememberedSale)
            else { return nil }
            return 2 * (a + b + r)
        case .lineItem:
            var total: Int128 = 0
            func add(_ row: Row?) -> Bool {
                guard let row else { return true }
                if let q = row.quantity.value, let price = row.unitPrice.value {
                    guard let item = LineItem(product: nil, quantity: q, unitPrice: price) else { return false }
                    total += Int128(item.amount.units.magnitude)
                } else if let price = row.unitPrice.value, !price.isInRange {
                    return false
                }
                return true
            }
            guard add(e.after), add(e.before) else { return nil }
            if let remembered = rememberedItem { total += Int128(remembered.amount.units.magnitude) }
            // An update with an unavailable (TOASTed) column combines remembered and new values.
            if let remembered = rememberedItem, e.op == .update {
                let q = e.after?.quantity.value ?? remembered.quantity
                let price = e.after?.unitPrice.value ?? remembered.unitPrice
                guard let item = LineItem(product: nil, quantity: q, unitPrice: price) else { return nil }
                total += Int128(item.amount.units.magnitude)
            }
            return 2 * total
        case .dimension, .other, .model:
            return 0
        }
    }

    /// Counts a tombstone, an ignored or a malformed message against its table.
    package mutating func noteTombstone(table: String) {
        let t = stats(for: table, role: profile.role(ofTable: table))
        tables[t].opCounts[Int(ChangeOp.tombstone.rawValue)] += 1
    }

    package mutating func noteMalformed(table: String) {
        let t = stats(for: table, role: profile.role(ofTable: table))
        tables[t].malformed += 1
    }

    /// Distinct tables counted one by one; beyond, a topic full of made-up `source.table` names is
    /// counted under `otherTables` instead of growing memory without bound.
    package static let maxTables = 1_000
    package static let otherTables = "(other tables)"

    mutating func stats(for table: String, role: TableRole) -> Int {
        // Events of one topic share one String: comparing with the last two tables is cheaper than
        // hashing, and lengths first tell a different table apart without comparing its bytes.
        @inline(__always) func isTable(_ i: Int) -> Bool {
            i >= 0 && tables[i].table.utf8.count == table.utf8.count && tables[i].table == table
        }
        if isTable(lastStatsIndex) { return lastStatsIndex }
        if isTable(previousStatsIndex) {
            swap(&lastStatsIndex, &previousStatsIndex)
            return lastStatsIndex
        }
        if let i = tableIndex[table] {
            previousStatsIndex = lastStatsIndex
            lastStatsIndex = i
            return i
        }
        if tables.count >= WindowedAggregator.maxTables && role == .other {
            if let i = tableIndex[WindowedAggregator.otherTables] { return i }
            tables.append(TableStats(table: WindowedAggregator.otherTables, role: .other))
            tableIndex[WindowedAggregator.otherTables] = tables.count - 1
            return tables.count - 1
        }
        tables.append(TableStats(table: table, role: role))
        tableIndex[table] = tables.count - 1
        return tables.count - 1
    }

    /// The window start to count an event in, or nil when that window was already evicted (dropped).
    mutating func windowFor(_ commitTimeMs: Int64, p: Int) -> Int64? {
        let start = windowStart(of: commitTimeMs)
        if start < horizonStart {
            dropped += 1
            return nil
        }
        if parts[p].windows[.int(start)] == nil {
            parts[p].windows[.int(start)] = WindowAccum()
            holdWindow(start)
            // Saved even while it holds nothing but parked line items: their category arrives later.
            markChanged(start, p: p)
        }
        if watermarkMs >= start + windowMs { lateCorrections += 1 }
        return start
    }

    /// The index of `start` in `heldStarts`, or where it would be inserted.
    @inline(__always) func heldIndex(of start: Int64) -> Int {
        var lo = 0
        var hi = heldStarts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if heldStarts[mid] < start { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private mutating func holdWindow(_ start: Int64) {
        // An empty result until the next refresh merges it (the caller marks it changed).
        let placeholder = WindowResult(windowStartMs: start, txCount: 0, revenue: .zero, categoryRevenue: [:])
        if let last = heldStarts.last, last >= start {
            let i = heldIndex(of: start)
            if i < heldStarts.count && heldStarts[i] == start { return }
            heldStarts.insert(start, at: i)
            heldResults.insert(placeholder, at: i)
        } else {
            heldStarts.append(start)
            heldResults.append(placeholder)
        }
        if start < finalBeforeMs { finalStarts.insert(start) }
    }

    /// Marks the windows the watermark has just passed as final: O(windows that became final).
    private mutating func advanceFinalBoundary() {
        guard progress.clockMs != .min else { return }
        let boundary = windowStart(of: watermarkMs)
        guard boundary > finalBeforeMs else { return }
        var i = finalBeforeMs == .min ? 0 : heldIndex(of: finalBeforeMs)
        while i < heldStarts.count && heldStarts[i] < boundary {
            finalStarts.insert(heldStarts[i])
            windowChanges.insert(heldStarts[i])
            i += 1
        }
        finalBeforeMs = boundary
    }

    /// Rebuilds the final windows from the watermark (after a restore).
    mutating func rebuildFinalWindows() {
        // The saved state keeps the newest commit time, not the read progress: the watermark restarts there.
        if maxCommitTimeMs != .min { progress.restore(clockMs: maxCommitTimeMs) }
        finalBeforeMs = progress.clockMs == .min ? .min : windowStart(of: watermarkMs)
        let boundary = finalBeforeMs
        finalStarts = Set(heldStarts.lazy.filter { $0 < boundary })
    }

    /// Windows whose result changed, or that became final, since the last call (the snapshot
    /// passes them on so the warehouse sink compares only those). Nil when that is unknown (the
    /// first call after a restore): compare every window.
    package mutating func takeWindowChanges() -> Set<Int64>? {
        refreshMergedWindows()
        let changed = windowChanges
        windowChanges = []
        defer { windowChangesKnown = true }
        return windowChangesKnown ? changed : nil
    }

    mutating func evictExpiredWindows() {
        let (h, overflow) = watermarkMs.subtractingReportingOverflow(profile.retentionMs)
        let newHorizon = overflow ? Int64.min : windowStart(of: h)
        advanceFinalBoundary()
        guard newHorizon > horizonStart else { return }
        horizonStart = newHorizon
        guard let first = heldStarts.first, first < newHorizon else { return }
        let cut = heldStarts.firstIndex(where: { $0 >= newHorizon }) ?? heldStarts.count
        let expired = heldStarts[..<cut]
        for w in expired {
            staleMerged.remove(w)
            finalStarts.remove(w)
            windowChanges.remove(w)
        }
        heldStarts.removeFirst(cut)
        heldResults.removeFirst(cut)
        for p in parts.indices {
            for w in expired {
                parts[p].windows[.int(w)] = nil
                parts[p].changedWindows.remove(w)
            }
        }
        // Products' expired window sums are dropped lazily, when the product is next touched (see
        // `addLineAmount`): eviction costs O(windows expired), not O(products).
        lastStaleMerged = .min
        for p in parts.indices { parts[p].lastChangedWindow = .min }
    }

    // MARK: change tracking

    @inline(__always) mutating func markMergedStale(_ w: Int64) {
        if w != lastStaleMerged {
            staleMerged.insert(w)
            lastStaleMerged = w
        }
    }

    @inline(__always) mutating func markChanged(_ w: Int64, p: Int) {
        markMergedStale(w)
        if journaling && w != parts[p].lastChangedWindow {
            parts[p].changedWindows.insert(w)
            parts[p].lastChangedWindow = w
        }
    }

    /// One hash lookup per window update (the window exists: `windowFor` created it).
    @inline(__always) mutating func mutateWindow(_ start: Int64, p: Int, _ body: (inout WindowAccum) -> Void) {
        body(&parts[p].windows[.int(start), default: WindowAccum()])
        markChanged(start, p: p)
    }

    // MARK: sales

    /// `remembered` is the key's current amount (looked up by `apply`).
    private mutating func applySale(_ e: ChangeEvent, p: Int, window: Int64?, remembered: Money?) {
        switch e.op {
        case .create, .read:
            guard let after = e.after, let key = after.key else { return }
            guard let amount = after.amount.value else { return }
            parts[p].totalRevenue += amount
            parts[p].sales[key] = amount
            if let old = remembered {
                // Re-created or re-snapshotted row: an update of what we knew.
                parts[p].totalRevenue -= old
                if let w = window { mutateWindow(w, p: p) { $0.revenue += amount - old } }
            } else if let w = window {
                mutateWindow(w, p: p) {
                    $0.txCount += 1
                    $0.revenue += amount
                }
            }
            journalSale(p, key)
        case .update:
            guard let after = e.after, let key = after.key ?? e.before?.key else { return }
            let old = remembered ?? e.before?.amount.value
            let new: Money? = after.amount.value ?? (after.amount == .unavailable ? old : nil)
            guard let new else { return }
            if remembered == nil { unmatched += 1 }
            parts[p].sales[key] = new
            if let remembered { parts[p].totalRevenue -= remembered }
            parts[p].totalRevenue += new
            journalSale(p, key)
            if let old, let w = window { mutateWindow(w, p: p) { $0.revenue += new - old } }
        case .delete:
            guard let key = e.before?.key else { return }
            if let old = parts[p].sales.removeValue(forKey: key) {
                parts[p].totalRevenue -= old
                journalSale(p, key)
                if let w = window {
                    mutateWindow(w, p: p) {
                        $0.txCount -= 1
                        $0.revenue -= old
                    }
                }
            } else {
                unmatched += 1
                if let w = window, let old = e.before?.amount.value {
                    mutateWindow(w, p: p) {
                        $0.txCount -= 1
                        $0.revenue -= old
                    }
                }
            }
        case .truncate:
            // A truncate empties the table everywhere, whichever partition carried it; its window
            // (in the partition that carried it) records the retraction.
            var count: Int64 = 0
            var revenue = Money.zero
            for q in parts.indices {
                count += Int64(parts[q].sales.count)
                revenue += parts[q].totalRevenue
                if journaling {
                    let held = parts[q].sales
                    held.forEach { key, _ in journalSale(q, key) }
                }
                parts[q].sales.removeAll(keepingCapacity: true)
                parts[q].totalRevenue = .zero
            }
            if let w = window {
                mutateWindow(w, p: p) {
                    $0.txCount -= count
                    $0.revenue -= revenue
                }
            }
        case .tombstone:
            break
        }
    }

    @inline(__always) private mutating func journalSale(_ p: Int, _ key: RowKey) {
        if journaling { parts[p].journaledSales.append(key) }
    }

    // MARK: line items

    /// `remembered` is the key's current line item (looked up by `apply`).
    private mutating func applyLineItem(_ e: ChangeEvent, p: Int, window: Int64?, remembered: LineItem?) {
        switch e.op {
        case .create, .read, .update:
            guard let after = e.after, let key = after.key ?? e.before?.key else { return }
            let imaged = e.op == .update ? e.before.flatMap { lineItem(from: $0, fallback: nil) } : nil
            guard let item = lineItem(from: after, fallback: remembered ?? imaged) else { return }
            if let remembered {
                addLineAmount(-remembered.amount, product: remembered.product, p: p, window: window, items: -1)
            } else if let imaged {
                // Known only from its before image: its old value was never in our totals.
                addLineAmountWindowOnly(-imaged.amount, product: imaged.product, p: p, window: window)
            } else if e.op == .update {
                unmatched += 1
            }
            parts[p].lineItems[key] = store(item)
            journalLineItem(p, key)
            let countsInWindow = remembered != nil || imaged != nil || e.op != .update
            addLineAmount(item.amount, product: item.product, p: p, window: countsInWindow ? window : nil, items: 1)
        case .delete:
            guard let before = e.before, let key = before.key else { return }
            if let stored = parts[p].lineItems.removeValue(forKey: key) {
                let old = lineItem(stored: stored)
                journalLineItem(p, key)
                addLineAmount(-old.amount, product: old.product, p: p, window: window, items: -1)
            } else {
                unmatched += 1
                if let old = lineItem(from: before, fallback: nil) {
                    addLineAmountWindowOnly(-old.amount, product: old.product, p: p, window: window)
                }
            }
        case .truncate:
            for q in parts.indices {
                let items = parts[q].lineItems
                parts[q].lineItems.removeAll(keepingCapacity: true)
                items.forEach { key, stored in
                    let item = lineItem(stored: stored)
                    journalLineItem(q, key)
                    // The retraction lands in the truncate's window, in the partition that carried it;
                    // the product sums of the partition that held the item lose it.
                    addLineAmount(-item.amount, product: item.product, p: q, window: nil, items: -1)
                    if let w = window { addLineAmountWindowOnly(-item.amount, product: item.product, p: p, window: w) }
                }
            }
        case .tombstone:
            break
        }
    }

    @inline(__always) private mutating func journalLineItem(_ p: Int, _ key: RowKey) {
        if journaling { parts[p].journaledLineItems.append(key) }
    }

    @inline(__always) private static func sale(_ key: RowKey, in part: inout PartitionState) -> Money? {
        part.sales[key]
    }
    @inline(__always) private static func lineItem(_ key: RowKey, in part: inout PartitionState) -> StoredLineItem? {
        part.lineItems[key]
    }

    /// Interns the item's product and packs it for the per-key map.
    @inline(__always) mutating func store(_ item: LineItem) -> StoredLineItem {
        var ref: Int32 = -1
        if let product = item.product {
            if let known = productRefs[product] {
                ref = known
            } else {
                // 2^31 distinct products would need over 48 GB of keys first: no overflow in practice.
                ref = Int32(truncatingIfNeeded: productRefKeys.count)
                productRefKeys.append(product)
                productRefs[product] = ref
            }
        }
        let units = item.unitPrice.units
        return StoredLineItem(
            priceLow: UInt64(truncatingIfNeeded: units), priceHigh: Int64(truncatingIfNeeded: units >> 64),
            quantity: item.quantity, productRef: ref)
    }

    @inline(__always) func lineItem(stored s: StoredLineItem) -> LineItem {
        LineItem(
            checked: s.productRef < 0 ? nil : productRefKeys[Int(s.productRef)], quantity: s.quantity,
            unitPrice: Money(units: Int128(s.priceHigh) << 64 | Int128(s.priceLow)))
    }

    private func lineItem(from row: Row, fallback: LineItem?) -> LineItem? {
        let quantity = row.quantity.value ?? (row.quantity == .unavailable ? fallback?.quantity : nil)
        let price = row.unitPrice.value ?? (row.unitPrice == .unavailable ? fallback?.unitPrice : nil)
        guard let quantity, let price else { return nil }
        let product: RowKey?
        switch row.reference {
        case .value(let p): product = p
        case .unavailable, .missing: product = fallback?.product
        case .null: product = nil
        }
        return LineItem(product: product, quantity: quantity, unitPrice: price)
    }

    /// Adds `amount` to a product's sales (running total, and its window when given), and to its
    /// category when known. Line items without a product count as uncategorised.
    private mutating func addLineAmount(_ amount: Money, product: RowKey?, p: Int, window: Int64?, items: Int64) {
        let key = product ?? .text("")
        let horizon = horizonStart
        let journal = journaling
        if updateProduct(&parts[p].products[key, default: ProductSales()]) { parts[p].journaledProducts.append(key) }
        /// True when the product is journaled for the first time since the last checkpoint.
        func updateProduct(_ sales: inout ProductSales) -> Bool {
            sales.total += amount
            sales.lineItems += items
            if sales.oldestWindow < horizon {
                sales.windows = sales.windows.filter { $0.key >= horizon }
                sales.oldestWindow = sales.windows.keys.min() ?? .max
            }
            if let w = window {
                sales.windows[w, default: .zero] += amount
                if w < sales.oldestWindow { sales.oldestWindow = w }
            }
            return journal && Self.journal(&sales, window: window)
        }
        if let category = category(of: key) {
            parts[p].totalCategory[category, default: .zero] += amount
            if let w = window { mutateWindow(w, p: p) { $0.categoryRevenue[category, default: .zero] += amount } }
        } else {
            parts[p].parkedLineItems += items
            parts[p].parkedAmount += amount
        }
    }

    /// A retraction for a line item we never counted: it changes its window, not the totals.
    private mutating func addLineAmountWindowOnly(_ amount: Money, product: RowKey?, p: Int, window: Int64?) {
        guard let w = window else { return }
        let key = product ?? .text("")
        let journal = journaling
        if updateProduct(&parts[p].products[key, default: ProductSales()]) { parts[p].journaledProducts.append(key) }
        func updateProduct(_ sales: inout ProductSales) -> Bool {
            sales.windows[w, default: .zero] += amount
            if w < sales.oldestWindow { sales.oldestWindow = w }
            return journal && Self.journal(&sales, window: w)
        }
        if let category = category(of: key) {
            mutateWindow(w, p: p) { $0.categoryRevenue[category, default: .zero] += amount }
        } else {
            markChanged(w, p: p)
        }
    }

    /// Notes a product's change (and its window's) for the next checkpoint; true when the product
    /// was not journaled yet (the caller lists it).
    @inline(__always) private static func journal(_ sales: inout ProductSales, window: Int64?) -> Bool {
        if let w = window, !sales.journaledWindows.contains(w) { sales.journaledWindows.append(w) }
        if sales.journaled { return false }
        sales.journaled = true
        return true
    }

    func category(of product: RowKey) -> String? {
        if case .text(let s) = product, s.isEmpty { return profile.uncategorized }
        return productCategory[product]
    }

    // MARK: dimension

    private mutating func applyDimension(_ e: ChangeEvent) {
        switch e.op {
        case .create, .read, .update:
            guard let after = e.after, let key = after.key else { return }
            let category: String
            switch after.category {
            case .value(let s): category = s.isEmpty ? profile.uncategorized : s
            case .null, .missing: category = profile.uncategorized
            case .unavailable: return
            }
            setCategory(category, for: key)
        case .delete, .truncate, .tombstone:
            break  // keep the last category: past sales stay attributed
        }
    }

    private mutating func setCategory(_ category: String, for product: RowKey) {
        let old = productCategory[product]
        productCategory[product] = category
        guard old != category else { return }
        if journaling { changes.categories.append(.init(product: product, category: category)) }
        for p in parts.indices {
            guard let sales = parts[p].products[product] else { continue }
            if let old {
                parts[p].totalCategory[old, default: .zero] -= sales.total
            } else {
                parts[p].parkedLineItems -= sales.lineItems
                parts[p].parkedAmount -= sales.total
            }
            parts[p].totalCategory[category, default: .zero] += sales.total
            for (w, m) in sales.windows where parts[p].windows[.int(w)] != nil {
                mutateWindow(w, p: p) { accum in
                    if let old { accum.categoryRevenue[old, default: .zero] -= m }
                    accum.categoryRevenue[category, default: .zero] += m
                }
            }
        }
    }

    // MARK: results

    package var totals: TotalsResult {
        if modelPlan != nil {
            let values = modelTotals()
            let builtins = modelBuiltins(values)
            var t = TotalsResult(txCount: builtins.tx, revenue: builtins.revenue, categoryRevenue: builtins.categories)
            t.kpis = values
            return t
        }
        var count: Int64 = 0
        var revenue = Money.zero
        var categories: [String: Money] = [:]
        for part in parts {
            count += Int64(part.sales.count)
            revenue += part.totalRevenue
            for (c, m) in part.totalCategory { categories[c, default: .zero] += m }
        }
        return TotalsResult(txCount: count, revenue: revenue, categoryRevenue: categories.filter { !$0.value.isZero })
    }

    /// Windows held, sorted by start, zero category entries left out. Only windows changed since
    /// the last call are merged again over partitions.
    package var windowResults: [WindowResult] {
        mutating get {
            refreshMergedWindows()
            return heldResults
        }
    }

    private mutating func refreshMergedWindows() {
        refreshModelResolutions()
        guard !staleMerged.isEmpty else { return }
        var orphaned: [Int] = []
        for w in staleMerged {
            let i = heldIndex(of: w)
            guard i < heldStarts.count && heldStarts[i] == w else { continue }
            windowChanges.insert(w)
            if let merged = merge(window: w) { heldResults[i] = merged } else { orphaned.append(i) }
        }
        staleMerged.removeAll(keepingCapacity: true)
        lastStaleMerged = .min
        // Held by no partition any more (after a drop): gone from the results.
        for i in orphaned.sorted(by: >) {
            finalStarts.remove(heldStarts[i])
            heldStarts.remove(at: i)
            heldResults.remove(at: i)
        }
    }

    private func merge(window w: Int64) -> WindowResult? {
        var found = false
        var tx: Int64 = 0
        var revenue = Money.zero
        var categories: [String: Money] = [:]
        for part in parts {
            guard let accum = part.windows[.int(w)] else { continue }
            found = true
            tx += accum.txCount
            revenue += accum.revenue
            if categories.isEmpty {
                categories = accum.categoryRevenue
            } else {
                for (c, m) in accum.categoryRevenue { categories[c, default: .zero] += m }
            }
        }
        guard found else { return nil }
        if modelPlan != nil {
            let values = modelWindow(w)
            let builtins = modelBuiltins(values)
            var result = WindowResult(
                windowStartMs: w, txCount: builtins.tx, revenue: builtins.revenue, categoryRevenue: builtins.categories)
            result.kpis = values
            return result
        }
        return WindowResult(
            windowStartMs: w, txCount: tx, revenue: revenue, categoryRevenue: categories.filter { !$0.value.isZero })
    }

    package func isFinal(windowStart start: Int64) -> Bool { watermarkMs >= start + windowMs }

    /// Line items whose product has no known category yet, and their net amount. O(partitions).
    package var parked: (lineItems: Int64, amount: Money) {
        if modelPlan != nil { return modelParked() }
        var count: Int64 = 0
        var amount = Money.zero
        for part in parts {
            count += part.parkedLineItems
            amount += part.parkedAmount
        }
        return (count, amount)
    }

    /// Live primary keys held (sales and line items), over all partitions.
    package var liveKeys: Int {
        if modelPlan != nil { return modelLiveKeys }
        return parts.reduce(0) { $0 + $1.sales.count + $1.lineItems.count }
    }

    package mutating func result(messages: Int64, malformed: Int64) -> KPIResult {
        refreshModelResolutions()
        var result = KPIResult(
            windowMs: windowMs, messages: messages, windows: windowResults, totals: totals,
            malformed: malformed, dropped: dropped)
        result.kpiColumns = kpiColumns
        return result
    }
}
