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
///
/// Cut on its seams: this file holds the shared state and the results; AggregatorPartitionState.swift
/// one partition's state and how partitions are found; AggregatorAppliers.swift how each change moves
/// the state; HeldWindows.swift the held-window index; AggregatorJournal.swift what changed since the
/// last checkpoint; AggregatorState.swift the counters, saving and restoring; model profiles apply in
/// Model/ModelAggregation.swift.
package struct WindowedAggregator: Sendable {
    package let profile: KPIProfile
    package var windowMs: Int64 { profile.windowMs }

    /// Commit times outside 1970…9999 are refused: window arithmetic stays far from Int64's edges.
    package static let commitTimeRange: ClosedRange<Int64> = 0...253_402_300_799_999

    // Partitions, by key (any stable number per topic-partition, see `EngineCore.partitionKey`); their
    // state is `PartitionState` (AggregatorPartitionState.swift).
    var parts: [PartitionState] = []
    package internal(set) var partitionKeys: [Int64] = []
    var partIndex: [Int64: Int] = [:]
    var lastPart = -1

    // Shared by all partitions: the dimension, the watermark and the windows' horizon.
    /// Each product's category, as its index in `categoryNames`: the sums per category are arrays by that
    /// index, so a line item adds to its category's total and window sum without hashing the name (two
    /// String-keyed lookups per line item were 9% of the Avro path's instructions).
    var productCategory = RowKeyMap<Int32>(filler: -1)
    /// Categories by index (only grows, like `productCategory`); the profile's uncategorized name is 0.
    var categoryNames: [String] = []
    var categoryIndexByName: [String: Int32] = [:]
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

    /// The windows held by any partition, merged over partitions, and which are final (HeldWindows.swift).
    var held = HeldWindows()
    /// Held windows the watermark has passed, kept as windows become final or are evicted, so a snapshot
    /// shares it instead of rebuilding it.
    package var finalStarts: Set<Int64> { held.finalStarts }

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
    var modelDependents: [ModelDependents] = []
    var modelResolveScratch = ModelResolveScratch()
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
        categoryNames = [profile.uncategorized]
        categoryIndexByName = [profile.uncategorized: 0]
        if let model = profile.model {
            let plan = ModelPlan(model: model)
            modelPlan = plan
            lookups = plan.tables.map { LookupTable(matchSlots: $0.matchSlots.count) }
            modelDependents = Array(repeating: ModelDependents(), count: model.kpis.count)
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
            for (c, m) in part.categoryTotals.enumerated() { categories[categoryNames[c], default: .zero] += m }
        }
        return TotalsResult(txCount: count, revenue: revenue, categoryRevenue: categories.filter { !$0.value.isZero })
    }

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
