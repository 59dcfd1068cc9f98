/// What one source partition contributed to a `WindowedAggregator`, and how a partition is found,
/// admitted and dropped. Partitions are separate so each can be saved, restored, dropped or moved on
/// its own; results are the sum over them.
extension WindowedAggregator {
    package struct WindowAccum: Sendable, Hashable {
        package var txCount: Int64 = 0
        package var revenue: Money = .zero
        /// By category index (`WindowedAggregator.categoryNames`).
        var categorySums: [Money] = []
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
        /// By category index (`WindowedAggregator.categoryNames`).
        var categoryTotals: [Money] = []
        /// Line items (and their net amount) of products whose category is not known yet, kept as
        /// they change so a snapshot never scans the products.
        var parkedLineItems: Int64 = 0
        var parkedAmount: Money = .zero
        /// Offset of the last message admitted from this partition; -1 before the first.
        var lastOffset: Int64 = -1
        /// What changed since the last `takeChanges()` (recorded only with `journaling` on).
        var journal = PartitionJournal()
        /// A model profile's rows and sums (nil until its first model event).
        var model: ModelPartition?
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

    // MARK: interned line items

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

    func category(of product: RowKey) -> String? {
        categoryIndex(of: product).map { categoryNames[Int($0)] }
    }

    /// The index of a product's category in `categoryNames`; nil while it has none.
    @inline(__always) func categoryIndex(of product: RowKey) -> Int32? {
        if case .text(let s) = product, s.isEmpty { return 0 }
        return productCategory[product]
    }

    /// The index of a category name, added when new.
    mutating func categoryIndex(named name: String) -> Int32 {
        if let known = categoryIndexByName[name] { return known }
        categoryNames.append(name)
        let index = Int32(truncatingIfNeeded: categoryNames.count - 1)
        categoryIndexByName[name] = index
        return index
    }
}

extension [Money] {
    /// Adds to the sum at `index` (a category's), growing the array with zeros to reach it.
    @inline(__always) mutating func add(_ amount: Money, at index: Int32) {
        let i = Int(index)
        if i >= count { append(contentsOf: repeatElement(.zero, count: i + 1 - count)) }
        self[i] += amount
    }
}
