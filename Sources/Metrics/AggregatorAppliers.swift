/// How each change moves the aggregator's state: the admission checks (range, overflow bound), then
/// one applier per table role (sales, line items, the product → category dimension), each handling
/// create, snapshot read, update, delete and truncate. Model profiles apply in ModelAggregation.swift.
extension WindowedAggregator {
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
                    let keys = parts[q].sales
                    keys.forEach { key, _ in journalSale(q, key) }
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

    @inline(__always) private static func sale(_ key: RowKey, in part: inout PartitionState) -> Money? {
        part.sales[key]
    }
    @inline(__always) private static func lineItem(_ key: RowKey, in part: inout PartitionState) -> StoredLineItem? {
        part.lineItems[key]
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
        if updateProduct(&parts[p].products[key, default: ProductSales()]) { parts[p].journal.products.append(key) }
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
        if let category = categoryIndex(of: key) {
            parts[p].categoryTotals.add(amount, at: category)
            if let w = window { mutateWindow(w, p: p) { $0.categorySums.add(amount, at: category) } }
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
        if updateProduct(&parts[p].products[key, default: ProductSales()]) { parts[p].journal.products.append(key) }
        func updateProduct(_ sales: inout ProductSales) -> Bool {
            sales.windows[w, default: .zero] += amount
            if w < sales.oldestWindow { sales.oldestWindow = w }
            return journal && Self.journal(&sales, window: w)
        }
        if let category = categoryIndex(of: key) {
            mutateWindow(w, p: p) { $0.categorySums.add(amount, at: category) }
        } else {
            markChanged(w, p: p)
        }
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

    private mutating func setCategory(_ name: String, for product: RowKey) {
        let old = productCategory[product]
        let category = categoryIndex(named: name)
        productCategory[product] = category
        guard old != category else { return }
        if journaling { changes.categories.append(.init(product: product, category: name)) }
        for p in parts.indices {
            guard let sales = parts[p].products[product] else { continue }
            if let old {
                parts[p].categoryTotals.add(-sales.total, at: old)
            } else {
                parts[p].parkedLineItems -= sales.lineItems
                parts[p].parkedAmount -= sales.total
            }
            parts[p].categoryTotals.add(sales.total, at: category)
            for (w, m) in sales.windows where parts[p].windows[.int(w)] != nil {
                mutateWindow(w, p: p) { accum in
                    if let old { accum.categorySums.add(-m, at: old) }
                    accum.categorySums.add(m, at: category)
                }
            }
        }
    }
}
