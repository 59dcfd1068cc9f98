// Saving and restoring a `WindowedAggregator`: its counters and shared scalars, saved whole with every
// checkpoint, and the restore that loads a saved state (AggregatorJournal.swift records what changed
// between checkpoints).

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
        productCategory[product] = categoryIndex(named: category)
    }

    /// Derives what is not saved (it follows from what is): running totals, category sums and
    /// each window's category revenue, and the merged-window cache.
    package mutating func finishRestore() {
        var starts = Set<Int64>()
        for p in parts.indices {
            var revenue = Money.zero
            parts[p].sales.forEach { _, amount in revenue += amount }
            parts[p].totalRevenue = revenue
            var categories: [Money] = []
            var parkedItems: Int64 = 0
            var parkedAmount = Money.zero
            let products = parts[p].products
            products.forEach { product, sales in
                guard let category = categoryIndex(of: product) else {
                    parkedItems += sales.lineItems
                    parkedAmount += sales.total
                    // Parked: the window must exist so the category's arrival can move the sales into it.
                    for w in sales.windows.keys where parts[p].windows[.int(w)] == nil {
                        parts[p].windows[.int(w)] = WindowAccum()
                    }
                    return
                }
                categories.add(sales.total, at: category)
                for (w, amount) in sales.windows {
                    parts[p].windows[.int(w), default: WindowAccum()].categorySums.add(amount, at: category)
                }
            }
            parts[p].categoryTotals = categories
            parts[p].parkedLineItems = parkedItems
            parts[p].parkedAmount = parkedAmount
            parts[p].windows.forEach { w, _ in if case .int(let start) = w { starts.insert(start) } }
        }
        held.restore(starts: starts)
        rebuildFinalWindows()
        held.changes = []
        held.changesKnown = false
        changes = StateChanges()
        for p in parts.indices { parts[p].journal = PartitionJournal() }
    }
}
