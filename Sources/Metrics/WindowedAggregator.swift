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
public struct WindowedAggregator: Sendable {
    public let profile: KPIProfile
    public var windowMs: Int64 { profile.windowMs }

    struct WindowAccum: Sendable {
        var txCount: Int64 = 0
        var revenue: Money = .zero
        var categoryRevenue: [String: Money] = [:]
    }

    struct LineItem: Sendable {
        var product: RowKey?
        var quantity: Int64
        var unitPrice: Money
        var amount: Money { unitPrice * quantity }
    }

    struct ProductSales: Sendable {
        var total: Money = .zero
        var lineItems: Int64 = 0
        var windows: [Int64: Money] = [:]
    }

    // Windows and their horizon.
    private var windows: [Int64: WindowAccum] = [:]
    /// Windows starting before this were evicted; events for them are dropped from windows.
    private var horizonStart: Int64 = .min
    public private(set) var maxCommitTimeMs: Int64 = .min

    // Remembered state per primary key.
    private var sales: [RowKey: Money] = [:]
    private var lineItems: [RowKey: LineItem] = [:]
    private var products: [RowKey: ProductSales] = [:]
    private var productCategory: [RowKey: String] = [:]

    // Running totals.
    private var totalRevenue: Money = .zero
    private var totalCategory: [String: Money] = [:]

    // Counters.
    public private(set) var lateCorrections: Int64 = 0
    public private(set) var dropped: Int64 = 0
    public private(set) var duplicates: Int64 = 0
    /// Updates/deletes for keys never seen, with no usable `before` (consumer started mid-stream).
    public private(set) var unmatched: Int64 = 0
    /// Events refused because a sum would overflow.
    public private(set) var refused: Int64 = 0
    public private(set) var applied: Int64 = 0
    private var tableIndex: [String: Int] = [:]
    public private(set) var tables: [TableStats] = []
    private var lastOffsets: [Int64: Int64] = [:]
    private var lastStatsIndex = -1

    public init(profile: KPIProfile) { self.profile = profile }

    public var watermarkMs: Int64 {
        maxCommitTimeMs == .min ? .min : maxCommitTimeMs - profile.allowedLatenessMs
    }

    @inline(__always) public func windowStart(of timeMs: Int64) -> Int64 {
        let r = timeMs % windowMs
        return r >= 0 ? timeMs - r : timeMs - r - windowMs
    }

    // MARK: applying events

    /// Applies one event. `partitionKey` identifies its topic-partition (any stable number) and
    /// `offset` its position there; an offset at or below the last applied one is a redelivery.
    /// Pass `offset: nil` for sources without positions.
    public mutating func apply(_ event: ChangeEvent, partitionKey: Int64 = 0, offset: Int64? = nil) {
        if let offset, let last = lastOffsets.updateValue(offset, forKey: partitionKey), offset <= last {
            lastOffsets[partitionKey] = last // rare: put the higher offset back
            duplicates += 1
            return
        }
        applied += 1
        let t = stats(for: event.table, role: event.role)
        tables[t].opCounts[Int(event.op.rawValue)] += 1
        if event.commitTimeMs > tables[t].lastCommitTimeMs { tables[t].lastCommitTimeMs = event.commitTimeMs }
        if event.commitTimeMs > maxCommitTimeMs {
            maxCommitTimeMs = event.commitTimeMs
            evictExpiredWindows()
        }

        switch event.role {
        case .sale: applySale(event, window: event.isSnapshot ? nil : windowFor(event.commitTimeMs))
        case .lineItem: applyLineItem(event, window: event.isSnapshot ? nil : windowFor(event.commitTimeMs))
        case .dimension: applyDimension(event)
        case .other: break
        }
    }

    /// Counts a tombstone, an ignored or a malformed message against its table.
    public mutating func noteTombstone(table: String) {
        let t = stats(for: table, role: profile.role(ofTable: table))
        tables[t].opCounts[Int(ChangeOp.tombstone.rawValue)] += 1
    }

    public mutating func noteMalformed(table: String) {
        let t = stats(for: table, role: profile.role(ofTable: table))
        tables[t].malformed += 1
    }

    private mutating func stats(for table: String, role: TableRole) -> Int {
        // Events of one topic share one String: comparing with the last table is cheaper than hashing.
        if lastStatsIndex >= 0 && tables[lastStatsIndex].table == table { return lastStatsIndex }
        if let i = tableIndex[table] { lastStatsIndex = i; return i }
        tables.append(TableStats(table: table, role: role))
        tableIndex[table] = tables.count - 1
        return tables.count - 1
    }

    /// The window start to count an event in, or nil when that window was already evicted (dropped).
    private mutating func windowFor(_ commitTimeMs: Int64) -> Int64? {
        let start = windowStart(of: commitTimeMs)
        if start < horizonStart { dropped += 1; return nil }
        if windows[start] == nil { windows[start] = WindowAccum() }
        if watermarkMs >= start + windowMs { lateCorrections += 1 }
        return start
    }

    private mutating func evictExpiredWindows() {
        let newHorizon = windowStart(of: watermarkMs - profile.retentionMs)
        guard newHorizon > horizonStart else { return }
        horizonStart = newHorizon
        let expired = windows.keys.filter { $0 < newHorizon }
        guard !expired.isEmpty else { return }
        for w in expired { windows[w] = nil }
        for key in Array(products.keys) {
            products[key]!.windows = products[key]!.windows.filter { $0.key >= newHorizon }
        }
    }

    // MARK: sales

    private mutating func applySale(_ e: ChangeEvent, window: Int64?) {
        switch e.op {
        case .create, .read:
            guard let after = e.after, let key = after.key else { return }
            guard let amount = after.amount.value else { return }
            totalRevenue += amount
            if let old = sales.updateValue(amount, forKey: key) {
                // Re-created or re-snapshotted row: an update of what we knew.
                totalRevenue -= old
                if let w = window { mutateWindow(w) { $0.revenue += amount - old } }
            } else if let w = window {
                mutateWindow(w) { $0.txCount += 1; $0.revenue += amount }
            }
        case .update:
            guard let after = e.after, let key = after.key ?? e.before?.key else { return }
            let remembered = sales[key]
            let old = remembered ?? e.before?.amount.value
            let new: Money? = after.amount.value ?? (after.amount == .unavailable ? old : nil)
            guard let new else { return }
            if remembered == nil { unmatched += 1 }
            setSale(key, new)
            if let old, let w = window { mutateWindow(w) { $0.revenue += new - old } }
        case .delete:
            guard let key = e.before?.key else { return }
            if let old = sales.removeValue(forKey: key) {
                totalRevenue -= old
                if let w = window { mutateWindow(w) { $0.txCount -= 1; $0.revenue -= old } }
            } else {
                unmatched += 1
                if let w = window, let old = e.before?.amount.value {
                    windows[w]!.txCount -= 1; windows[w]!.revenue -= old
                }
            }
        case .truncate:
            if let w = window {
                windows[w]!.txCount -= Int64(sales.count)
                windows[w]!.revenue -= totalRevenue
            }
            sales.removeAll(keepingCapacity: true)
            totalRevenue = .zero
        case .tombstone:
            break
        }
    }

    private mutating func setSale(_ key: RowKey, _ amount: Money) {
        if let old = sales.updateValue(amount, forKey: key) { totalRevenue -= old }
        totalRevenue += amount
    }

    /// One hash lookup per window update (the window exists: `windowFor` created it).
    @inline(__always) private mutating func mutateWindow(_ start: Int64, _ body: (inout WindowAccum) -> Void) {
        body(&windows[start, default: WindowAccum()])
    }

    // MARK: line items

    private mutating func applyLineItem(_ e: ChangeEvent, window: Int64?) {
        switch e.op {
        case .create, .read, .update:
            guard let after = e.after, let key = after.key ?? e.before?.key else { return }
            let remembered = lineItems[key]
            let imaged = e.op == .update ? e.before.flatMap { lineItem(from: $0, fallback: nil) } : nil
            guard let item = lineItem(from: after, fallback: remembered ?? imaged) else { return }
            if let remembered {
                addLineAmount(-remembered.amount, product: remembered.product, window: window, items: -1)
            } else if let imaged {
                // Known only from its before image: its old value was never in our totals.
                addLineAmountWindowOnly(-imaged.amount, product: imaged.product, window: window)
            } else if e.op == .update {
                unmatched += 1
            }
            lineItems[key] = item
            let countsInWindow = remembered != nil || imaged != nil || e.op != .update
            addLineAmount(item.amount, product: item.product, window: countsInWindow ? window : nil, items: 1)
        case .delete:
            guard let before = e.before, let key = before.key else { return }
            if let old = lineItems.removeValue(forKey: key) {
                addLineAmount(-old.amount, product: old.product, window: window, items: -1)
            } else {
                unmatched += 1
                if let old = lineItem(from: before, fallback: nil) {
                    addLineAmountWindowOnly(-old.amount, product: old.product, window: window)
                }
            }
        case .truncate:
            for (_, item) in lineItems { addLineAmount(-item.amount, product: item.product, window: window, items: -1) }
            lineItems.removeAll(keepingCapacity: true)
        case .tombstone:
            break
        }
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
    private mutating func addLineAmount(_ amount: Money, product: RowKey?, window: Int64?, items: Int64) {
        let p = product ?? .text("")
        updateProduct(&products[p, default: ProductSales()])
        func updateProduct(_ sales: inout ProductSales) {
            sales.total += amount
            sales.lineItems += items
            if let w = window { sales.windows[w, default: .zero] += amount }
        }
        if let category = category(of: p) {
            totalCategory[category, default: .zero] += amount
            if let w = window { mutateWindow(w) { $0.categoryRevenue[category, default: .zero] += amount } }
        }
    }

    /// A retraction for a line item we never counted: it changes its window, not the totals.
    private mutating func addLineAmountWindowOnly(_ amount: Money, product: RowKey?, window: Int64?) {
        guard let w = window else { return }
        let p = product ?? .text("")
        products[p, default: ProductSales()].windows[w, default: .zero] += amount
        if let category = category(of: p) {
            windows[w]!.categoryRevenue[category, default: .zero] += amount
        }
    }

    private func category(of product: RowKey) -> String? {
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
            case .unavailable:
                guard productCategory[key] != nil else { return }
                return
            }
            setCategory(category, for: key)
        case .delete, .truncate, .tombstone:
            break // keep the last category: past sales stay attributed
        }
    }

    private mutating func setCategory(_ category: String, for product: RowKey) {
        let old = productCategory.updateValue(category, forKey: product)
        guard old != category, let sales = products[product] else { return }
        if let old {
            totalCategory[old, default: .zero] -= sales.total
            for (w, m) in sales.windows where windows[w] != nil { windows[w]!.categoryRevenue[old, default: .zero] -= m }
        }
        totalCategory[category, default: .zero] += sales.total
        for (w, m) in sales.windows where windows[w] != nil { windows[w]!.categoryRevenue[category, default: .zero] += m }
    }

    // MARK: results

    public var totals: TotalsResult {
        TotalsResult(txCount: Int64(sales.count), revenue: totalRevenue,
                     categoryRevenue: totalCategory.filter { !$0.value.isZero })
    }

    /// Windows held, sorted by start, zero category entries left out.
    public var windowResults: [WindowResult] {
        windows.keys.sorted().map { start in
            let w = windows[start]!
            return WindowResult(windowStartMs: start, txCount: w.txCount, revenue: w.revenue,
                                categoryRevenue: w.categoryRevenue.filter { !$0.value.isZero })
        }
    }

    public func isFinal(windowStart start: Int64) -> Bool { watermarkMs >= start + windowMs }

    /// Line items whose product has no known category yet, and their net amount.
    public var parked: (lineItems: Int64, amount: Money) {
        var count: Int64 = 0
        var amount = Money.zero
        for (p, s) in products where category(of: p) == nil {
            count += s.lineItems; amount += s.total
        }
        return (count, amount)
    }

    public func result(messages: Int64, malformed: Int64) -> KPIResult {
        KPIResult(windowMs: windowMs, messages: messages, windows: windowResults, totals: totals,
                  malformed: malformed, dropped: dropped)
    }
}
