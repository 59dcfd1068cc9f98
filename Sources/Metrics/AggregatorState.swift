/// What changed in a `WindowedAggregator` since the last `takeChanges()`: the rows an incremental
/// checkpoint writes, at their values when the changes were taken. A sale or line-item key may be
/// listed more than once, always with the same value; products and product windows are listed once.
package struct StateChanges: Sendable {
    package struct SaleChange: Sendable, Hashable {
        package var partition: Int64
        package var key: RowKey
        /// Nil: the key was deleted.
        package var amount: Money?
    }
    package struct LineItemChange: Sendable, Hashable {
        package var partition: Int64
        package var key: RowKey
        /// Nil: the key was deleted.
        package var item: WindowedAggregator.LineItem?
    }
    package struct ProductChange: Sendable, Hashable {
        package var partition: Int64
        package var product: RowKey
        package var total: Money
        package var lineItems: Int64
    }
    package struct ProductWindowChange: Sendable, Hashable {
        package var partition: Int64
        package var product: RowKey
        package var windowStart: Int64
        package var amount: Money
    }
    package struct WindowChange: Sendable, Hashable {
        package var partition: Int64
        package var windowStart: Int64
        package var txCount: Int64
        package var revenue: Money
    }
    package struct CategoryChange: Sendable, Hashable {
        package var product: RowKey
        package var category: String
    }

    package var sales: [SaleChange] = []
    package var lineItems: [LineItemChange] = []
    package var products: [ProductChange] = []
    package var productWindows: [ProductWindowChange] = []
    /// Current values of the windows changed (resolved when the changes are taken).
    package var windows: [WindowChange] = []
    package var categories: [CategoryChange] = []
    /// Windows (and product windows) starting before this are gone.
    package var horizonStart: Int64 = .min
    /// Partitions whose whole state is gone.
    package var droppedPartitions: [Int64] = []

    package init() {}

    /// Empties every list, keeping the memory of all but the sale and line-item lists: those are
    /// filled at once, sized exactly, when the changes are taken, and are the largest (tens of MB
    /// at 400k changes), so they are not held between checkpoints.
    package mutating func clearKeepingCapacity() {
        sales = []
        lineItems = []
        products.removeAll(keepingCapacity: true)
        productWindows.removeAll(keepingCapacity: true)
        windows.removeAll(keepingCapacity: true)
        categories.removeAll(keepingCapacity: true)
        droppedPartitions.removeAll(keepingCapacity: true)
        horizonStart = .min
    }

    /// Rows recorded (a checkpoint is due early when this grows large).
    package var count: Int {
        sales.count + lineItems.count + products.count + productWindows.count + windows.count + categories.count
    }
}

/// The aggregator's counters and shared scalars, saved whole with every checkpoint.
package struct AggregatorCounters: Sendable, Hashable {
    package var maxCommitTimeMs: Int64 = .min
    package var horizonStart: Int64 = .min
    package var lateCorrections: Int64 = 0
    package var dropped: Int64 = 0
    package var duplicates: Int64 = 0
    package var unmatched: Int64 = 0
    package var refused: Int64 = 0
    package var applied: Int64 = 0
    package var volume: Int128 = 0
    package var tables: [TableStats] = []
    package init() {}
}

extension WindowedAggregator {
    /// Hands over the changes recorded since the last call (with the current values of the windows,
    /// products and product windows that changed) and starts recording afresh. O(changes), never O(state).
    ///
    /// `recycled` (an earlier `StateChanges` already written) gives its arrays' memory back to the
    /// journal: a fresh journal every few seconds would page-fault in tens of megabytes on the hot thread.
    package mutating func takeChanges(recycling recycled: StateChanges? = nil) -> StateChanges {
        var taken = changes
        if var reuse = recycled {
            reuse.clearKeepingCapacity()
            changes = reuse
        } else {
            changes = StateChanges()
        }
        taken.horizonStart = horizonStart
        // Sale and line-item keys at their current values: a key journaled twice is written twice
        // with the same value, and one gone from its map was deleted. Sized once: growing these
        // lists by doubling page-faulted tens of megabytes on the engine thread.
        taken.sales.reserveCapacity(parts.reduce(0) { $0 + $1.journaledSales.count })
        taken.lineItems.reserveCapacity(parts.reduce(0) { $0 + $1.journaledLineItems.count })
        for p in parts.indices {
            let partition = partitionKeys[p]
            parts[p].journaledSales.forEach { key in
                taken.sales.append(.init(partition: partition, key: key, amount: parts[p].sales[key]))
            }
            parts[p].journaledLineItems.forEach { key in
                // No `.map(lineItem(stored:))`: a partially applied method boxes a copy of the aggregator per call.
                var item: LineItem?
                if let stored = parts[p].lineItems[key] { item = lineItem(stored: stored) }
                taken.lineItems.append(.init(partition: partition, key: key, item: item))
            }
            parts[p].journaledSales.removeAll(keepingCapacity: true)
            parts[p].journaledLineItems.removeAll(keepingCapacity: true)
        }
        for p in parts.indices where !parts[p].changedWindows.isEmpty {
            for w in parts[p].changedWindows {
                guard let accum = parts[p].windows[.int(w)] else { continue }
                taken.windows.append(
                    .init(
                        partition: partitionKeys[p], windowStart: w,
                        txCount: accum.txCount, revenue: accum.revenue))
            }
            parts[p].changedWindows.removeAll(keepingCapacity: true)
            parts[p].lastChangedWindow = .min
        }
        // Products and product windows, at their current values (expired product windows are
        // covered by `horizonStart`).
        for p in parts.indices {
            let partition = partitionKeys[p]
            for product in parts[p].journaledProducts {
                guard var sales = parts[p].products[product] else { continue }
                taken.products.append(
                    .init(partition: partition, product: product, total: sales.total, lineItems: sales.lineItems))
                for w in sales.journaledWindows where w >= horizonStart {
                    guard let amount = sales.windows[w] else { continue }
                    taken.productWindows.append(
                        .init(partition: partition, product: product, windowStart: w, amount: amount))
                }
                sales.journaled = false
                sales.journaledWindows.removeAll(keepingCapacity: true)
                parts[p].products[product] = sales
            }
            parts[p].journaledProducts.removeAll(keepingCapacity: true)
        }
        return taken
    }

    /// Changes recorded since the last `takeChanges()` (an early checkpoint is due when it grows large).
    package var pendingChangeCount: Int {
        parts.reduce(changes.count) {
            $0 + $1.journaledSales.count + $1.journaledLineItems.count + $1.changedWindows.count
                + $1.journaledProducts.count
        }
    }

    package var counters: AggregatorCounters {
        var c = AggregatorCounters()
        c.maxCommitTimeMs = maxCommitTimeMs
        c.horizonStart = horizonStart
        c.lateCorrections = lateCorrections
        c.dropped = dropped
        c.duplicates = duplicates
        c.unmatched = unmatched
        c.refused = refused
        c.applied = applied
        c.volume = volume
        c.tables = tables
        return c
    }

    /// Live sales and line-item keys over all partitions.
    package var liveKeyCounts: (sales: Int, lineItems: Int) {
        parts.reduce((0, 0)) { ($0.0 + $1.sales.count, $0.1 + $1.lineItems.count) }
    }

    /// Last admitted offset of every partition held.
    package var partitionOffsets: [(partitionKey: Int64, lastOffset: Int64)] {
        zip(partitionKeys, parts).map { ($0, $1.lastOffset) }
    }

    // MARK: restoring (load a saved state into a fresh aggregator, then `finishRestore()`)

    package mutating func restore(counters c: AggregatorCounters) {
        maxCommitTimeMs = c.maxCommitTimeMs
        horizonStart = c.horizonStart
        lateCorrections = c.lateCorrections
        dropped = c.dropped
        duplicates = c.duplicates
        unmatched = c.unmatched
        refused = c.refused
        applied = c.applied
        volume = c.volume
        tables = c.tables
        tableIndex = Dictionary(tables.enumerated().map { ($1.table, $0) }, uniquingKeysWith: { a, _ in a })
        lastStatsIndex = -1
        previousStatsIndex = -1
    }

    package mutating func restorePartition(_ key: Int64, lastOffset: Int64) {
        parts[partition(key)].lastOffset = lastOffset
    }

    package mutating func restoreSale(partition key: Int64, key rowKey: RowKey, amount: Money) {
        parts[partition(key)].sales[rowKey] = amount
    }

    package mutating func restoreLineItem(partition key: Int64, key rowKey: RowKey, item: LineItem) {
        let p = partition(key)
        parts[p].lineItems[rowKey] = store(item)
    }

    package mutating func restoreProduct(partition key: Int64, product: RowKey, total: Money, lineItems: Int64) {
        let p = partition(key)
        parts[p].products[product, default: ProductSales()].total = total
        parts[p].products[product, default: ProductSales()].lineItems = lineItems
    }

    package mutating func restoreProductWindow(partition key: Int64, product: RowKey, windowStart: Int64, amount: Money)
    {
        let p = partition(key)
        parts[p].products[product, default: ProductSales()].windows[windowStart] = amount
        if windowStart < parts[p].products[product, default: ProductSales()].oldestWindow {
            parts[p].products[product, default: ProductSales()].oldestWindow = windowStart
        }
    }

    package mutating func restoreWindow(partition key: Int64, windowStart: Int64, txCount: Int64, revenue: Money) {
        parts[partition(key)].windows[.int(windowStart)] = WindowAccum(txCount: txCount, revenue: revenue)
    }

    package mutating func restoreCategory(product: RowKey, category: String) {
        productCategory[product] = category
    }

    /// Derives what is not saved (it follows from what is): running totals, category sums and
    /// each window's category revenue, and the merged-window cache.
    package mutating func finishRestore() {
        var starts = Set<Int64>()
        for p in parts.indices {
            var revenue = Money.zero
            parts[p].sales.forEach { _, amount in revenue += amount }
            parts[p].totalRevenue = revenue
            var categories: [String: Money] = [:]
            var parkedItems: Int64 = 0
            var parkedAmount = Money.zero
            let products = parts[p].products
            products.forEach { product, sales in
                guard let category = category(of: product) else {
                    parkedItems += sales.lineItems
                    parkedAmount += sales.total
                    // Parked: the window must exist so the category's arrival can move the sales into it.
                    for w in sales.windows.keys where parts[p].windows[.int(w)] == nil {
                        parts[p].windows[.int(w)] = WindowAccum()
                    }
                    return
                }
                categories[category, default: .zero] += sales.total
                for (w, amount) in sales.windows {
                    parts[p].windows[.int(w), default: WindowAccum()].categoryRevenue[category, default: .zero] +=
                        amount
                }
            }
            parts[p].totalCategory = categories
            parts[p].parkedLineItems = parkedItems
            parts[p].parkedAmount = parkedAmount
            parts[p].windows.forEach { w, _ in if case .int(let start) = w { starts.insert(start) } }
        }
        heldStarts = starts.sorted()
        heldResults = heldStarts.map {
            WindowResult(windowStartMs: $0, txCount: 0, revenue: .zero, categoryRevenue: [:])
        }
        staleMerged = starts
        rebuildFinalWindows()
        windowChanges = []
        windowChangesKnown = false
        lastStaleMerged = .min
        changes = StateChanges()
        for p in parts.indices {
            parts[p].changedWindows = []
            parts[p].lastChangedWindow = .min
            parts[p].journaledProducts = []
            parts[p].journaledSales = RowKeyList()
            parts[p].journaledLineItems = RowKeyList()
        }
    }
}
