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

/// What one partition of a `WindowedAggregator` changed since the last `takeChanges()`, recorded
/// only with `journaling` on; resolved to current values when the changes are taken.
struct PartitionJournal: Sendable {
    /// Windows changed (the last one noted is cached: most events of a run hit the same window).
    var changedWindows: Set<Int64> = []
    var lastChangedWindow: Int64 = .min
    /// Products changed (each once: see `ProductSales.journaled`), resolved to their current values,
    /// with their changed windows, when the changes are taken. A product sells many times between
    /// checkpoints; one journal entry per sale made the journal most of the state's memory.
    var products: [RowKey] = []
    /// Sale and line-item keys changed, in order (a key may repeat); their current values (or their
    /// absence: deleted) are read when the changes are taken.
    var sales = RowKeyList()
    var lineItems = RowKeyList()

    @inline(__always) mutating func noteWindow(_ w: Int64) {
        if w != lastChangedWindow {
            changedWindows.insert(w)
            lastChangedWindow = w
        }
    }

    /// Entries recorded (a checkpoint is due early when this grows large).
    var count: Int { sales.count + lineItems.count + changedWindows.count + products.count }
}

extension WindowedAggregator {
    @inline(__always) mutating func journalSale(_ p: Int, _ key: RowKey) {
        if journaling { parts[p].journal.sales.append(key) }
    }

    @inline(__always) mutating func journalLineItem(_ p: Int, _ key: RowKey) {
        if journaling { parts[p].journal.lineItems.append(key) }
    }

    /// Notes a product's change (and its window's) for the next checkpoint; true when the product
    /// was not journaled yet (the caller lists it).
    @inline(__always) static func journal(_ sales: inout ProductSales, window: Int64?) -> Bool {
        if let w = window, !sales.journaledWindows.contains(w) { sales.journaledWindows.append(w) }
        if sales.journaled { return false }
        sales.journaled = true
        return true
    }

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
        taken.sales.reserveCapacity(parts.reduce(0) { $0 + $1.journal.sales.count })
        taken.lineItems.reserveCapacity(parts.reduce(0) { $0 + $1.journal.lineItems.count })
        for p in parts.indices {
            let partition = partitionKeys[p]
            parts[p].journal.sales.forEach { key in
                taken.sales.append(.init(partition: partition, key: key, amount: parts[p].sales[key]))
            }
            parts[p].journal.lineItems.forEach { key in
                // No `.map(lineItem(stored:))`: a partially applied method boxes a copy of the aggregator per call.
                var item: LineItem?
                if let stored = parts[p].lineItems[key] { item = lineItem(stored: stored) }
                taken.lineItems.append(.init(partition: partition, key: key, item: item))
            }
            parts[p].journal.sales.removeAll(keepingCapacity: true)
            parts[p].journal.lineItems.removeAll(keepingCapacity: true)
        }
        for p in parts.indices where !parts[p].journal.changedWindows.isEmpty {
            for w in parts[p].journal.changedWindows {
                guard let accum = parts[p].windows[.int(w)] else { continue }
                taken.windows.append(
                    .init(
                        partition: partitionKeys[p], windowStart: w,
                        txCount: accum.txCount, revenue: accum.revenue))
            }
            parts[p].journal.changedWindows.removeAll(keepingCapacity: true)
            parts[p].journal.lastChangedWindow = .min
        }
        // Products and product windows, at their current values (expired product windows are
        // covered by `horizonStart`).
        for p in parts.indices {
            let partition = partitionKeys[p]
            for product in parts[p].journal.products {
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
            parts[p].journal.products.removeAll(keepingCapacity: true)
        }
        return taken
    }

    /// Changes recorded since the last `takeChanges()` (an early checkpoint is due when it grows large).
    package var pendingChangeCount: Int {
        parts.reduce(changes.count) { $0 + $1.journal.count }
    }
}
