import Foundation
import Metrics

package struct ShopWorkloadConfig: Sendable {
    package var seed: UInt64
    /// Debezium `topic.prefix`: topics are `<prefix>.public.<table>`.
    package var topicPrefix: String
    package var products: Int
    package var customers: Int
    /// Existing transactions emitted first as snapshot reads (op "r"), with their line items.
    package var snapshotTransactions: Int
    /// Commit time of the snapshot and of the first live transaction.
    package var startTimeMs: Int64
    /// Simulated clock: commit time advances by 1000/rate ms per database transaction.
    package var commitsPerSecond: Double
    /// Live mode: commit time is the wall clock when the transaction is generated.
    package var useWallClock: Bool
    /// Every Nth message is garbage bytes (0 = never; 1 is treated as 2, so real events still flow).
    package var malformedEvery: Int

    /// 2026-11-22T11:32:33.969Z, near the real samples: a fixed default keeps runs reproducible.
    package static let defaultStartTimeMs: Int64 = 1_795_347_153_969

    package init(
        seed: UInt64 = 42, topicPrefix: String = "shop", products: Int = 40, customers: Int = 200,
        snapshotTransactions: Int = 25, startTimeMs: Int64 = ShopWorkloadConfig.defaultStartTimeMs,
        commitsPerSecond: Double = 200, useWallClock: Bool = false, malformedEvery: Int = 0
    ) {
        self.seed = seed
        self.topicPrefix = topicPrefix
        self.products = max(1, products)
        self.customers = max(1, customers)
        self.snapshotTransactions = max(0, snapshotTransactions)
        self.startTimeMs = startTimeMs
        self.commitsPerSecond = commitsPerSecond
        self.useWallClock = useWallClock
        self.malformedEvery = malformedEvery
    }
}

package struct GeneratedMessage: Sendable {
    package var topic: String
    package var key: [UInt8]
    /// nil is a tombstone.
    package var value: [UInt8]?
    /// When Kafka Connect would have produced it (the envelope's `ts_ms`): the record timestamp.
    package var timestampMs: Int64

    package init(topic: String, key: [UInt8], value: [UInt8]?, timestampMs: Int64) {
        self.topic = topic
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
    }
}

/// A synthetic shop database seen through Debezium: a snapshot of existing rows, then a stream of
/// database transactions (new orders, status updates, partial refunds, cancellations, price changes),
/// encoded byte for byte like Debezium 3.6 + JsonConverter with schemas. It keeps the exact KPIs of
/// everything it emitted (`groundTruth`) so the whole pipeline can be checked end to end.
/// Deterministic for a given config unless `useWallClock` is set. Not thread-safe.
package final class ShopWorkload {
    package let config: ShopWorkloadConfig
    package let topics: [String]

    private var random: SeededRandom
    private let encoder: DebeziumShopEncoder
    private var ledger = GroundTruthLedger(windowMs: 30_000)

    private struct Transaction {
        var row: TransactionRow
        var lineItemIds: [Int64]
    }

    private var products: [ProductRow] = []  // index = product_id - 1
    /// Each product's price at the snapshot, around which price changes move (index = product_id - 1).
    private var listPriceCents: [Int64] = []
    private var customers: [CustomerRow] = []  // index = customer_id - 1
    private var transactions: [Int64: Transaction] = [:]
    private var lineItems: [Int64: LineItemRow] = [:]
    /// Live transaction ids for uniform random picks; `aliveSlot` makes removal O(1).
    private var aliveIds: [Int64] = []
    private var aliveSlot: [Int64: Int] = [:]

    private var nextTransactionId: Int64 = 1
    private var nextLineItemId: Int64 = 1
    private var nextTxId: Int64 = 745
    private var lsn: Int64 = 26_917_720

    /// Snapshot rows still to emit, in Debezium's order.
    private var snapshotQueue: [(table: ShopTable, id: Int64)] = []
    private var snapshotCursor = 0
    private var snapshotCommitMicros: Int64
    private var liveTransactions: Int64 = 0
    private var lastCommitMicros: Int64
    private var emittedMessages: Int64 = 0
    private var lastEmittedNanos: Int64 = 0

    private static let statuses = ["new", "paid", "shipped", "delivered"]

    package init(config: ShopWorkloadConfig) {
        self.config = config
        random = SeededRandom(seed: config.seed)
        encoder = DebeziumShopEncoder(topicPrefix: config.topicPrefix)
        topics = ShopTable.allCases.map { "\(config.topicPrefix).public.\($0.name)" }
        let start = config.useWallClock ? ShopWorkload.nowMicros() : config.startTimeMs * 1000
        snapshotCommitMicros = start
        lastCommitMicros = start - 1
        buildSnapshot()
    }

    package func topic(of table: ShopTable) -> String { topics[table.rawValue] }

    /// Messages emitted so far, tombstones and garbage included.
    package var messageCount: Int64 { emittedMessages }

    /// Appends the next messages: one snapshot row while the snapshot lasts, then one whole database
    /// transaction (an order with 1–4 line items, an update, a cancellation with its line items and
    /// tombstones, or a price change). Garbage messages are interleaved when `malformedEvery` asks.
    package func next(into out: inout [GeneratedMessage]) {
        if snapshotCursor < snapshotQueue.count {
            emitSnapshotRow(into: &out)
            return
        }
        let commitMicros = nextCommitMicros()
        nextTxId += 1
        lsn += 8 * Int64(random.inRange(20...60))
        let position = SourcePosition(
            commitMicros: commitMicros, snapshot: .live, txId: nextTxId, lsn: lsn,
            transactionStartLsn: lsn)
        // Connect publishes 20–80 ms after the commit, and never before what it published last.
        let emittedNanos = max(
            commitMicros * 1000 + Int64(random.inRange(20_000_000...80_000_000)),
            lastEmittedNanos + Int64(random.inRange(100_000...1_000_000)))
        var batch = Batch(position: position, emittedNanos: emittedNanos)
        let roll = random.below(100)
        if roll < 70 || aliveIds.isEmpty {
            newOrder(&batch, into: &out)
        } else if roll < 90 {
            update(&batch, into: &out)
        } else if roll < 97 {
            cancel(&batch, into: &out)
        } else {
            changePrice(&batch, into: &out)
        }
        lsn = batch.position.lsn
        lastEmittedNanos = batch.emittedNanos
        liveTransactions += 1
    }

    /// Exact KPIs of everything emitted so far (see the rules in `GroundTruthLedger`).
    package var groundTruth: KPIResult {
        let amounts = transactions.values.lazy.map { $0.row.amountCents }
        let items = lineItems.values.lazy.map { item in
            (
                category: self.products[Int(item.productId - 1)].category,
                cents: Int64(item.quantity) * item.unitPriceCents
            )
        }
        return ledger.result(aliveAmountsCents: amounts, aliveItemCents: items)
    }

    // MARK: Snapshot

    private func buildSnapshot() {
        let categories = ShopCatalog.categories
        var usedNames: [String: Int] = [:]
        for index in 0..<config.products {
            let category = categories[index % categories.count]
            var name = random.pick(category.products)
            usedNames[name, default: 0] += 1
            if usedNames[name]! > 1 { name += " Mk \(usedNames[name]!)" }
            let price = Int64(random.inRange(category.minCents...category.maxCents))
            products.append(
                ProductRow(
                    productId: Int64(index + 1), name: name, category: category.name,
                    priceCents: price / 100 * 100 + (random.below(2) == 0 ? 99 : 49)))
            listPriceCents.append(products[index].priceCents)
        }
        for index in 0..<config.customers {
            let name = random.pick(ShopCatalog.firstNames) + " " + random.pick(ShopCatalog.lastNames)
            let city: String? = random.below(10) == 0 ? nil : random.pick(ShopCatalog.cities)
            customers.append(CustomerRow(customerId: Int64(index + 1), name: name, city: city))
        }
        var snapshotItems: [Int64] = []
        for _ in 0..<config.snapshotTransactions {
            // Orders placed over the hour before the snapshot.
            let createdAt =
                snapshotCommitMicros - Int64(random.inRange(1_000...3_600_000)) * 1000 - Int64(random.below(1000))
            let status = random.pick(Array(ShopWorkload.statuses.prefix(3)))
            let transaction = makeOrder(createdAtMicros: createdAt, status: status)
            snapshotItems.append(contentsOf: transaction.lineItemIds)
        }
        snapshotQueue =
            customers.map { (ShopTable.customer, $0.customerId) }
            + products.map { (ShopTable.product, $0.productId) }
            + aliveIds.map { (ShopTable.transaction, $0) }
            + snapshotItems.map { (ShopTable.transactiondetail, $0) }
    }

    /// Creates an order with 1–4 line items in the state (not yet emitted).
    private func makeOrder(createdAtMicros: Int64, status: String) -> Transaction {
        let id = nextTransactionId
        nextTransactionId += 1
        var itemIds: [Int64] = []
        var amount: Int64 = 0
        for _ in 0..<random.inRange(1...4) {
            let product = products[random.below(products.count)]
            let quantity = Int32(random.inRange(1...5))
            let item = LineItemRow(
                detailId: nextLineItemId, transactionId: id, productId: product.productId,
                quantity: quantity, unitPriceCents: product.priceCents)
            nextLineItemId += 1
            lineItems[item.detailId] = item
            itemIds.append(item.detailId)
            amount += Int64(quantity) * product.priceCents
        }
        let row = TransactionRow(
            transactionId: id, customerId: Int64(random.inRange(1...customers.count)),
            amountCents: amount, status: status, createdAtMicros: createdAtMicros)
        let transaction = Transaction(row: row, lineItemIds: itemIds)
        transactions[id] = transaction
        aliveSlot[id] = aliveIds.count
        aliveIds.append(id)
        return transaction
    }

    private func emitSnapshotRow(into out: inout [GeneratedMessage]) {
        let (table, id) = snapshotQueue[snapshotCursor]
        let marker: SnapshotMarker
        if snapshotCursor == 0 {
            marker = .first
        } else if snapshotCursor == snapshotQueue.count - 1 {
            marker = .last
        } else if snapshotQueue[snapshotCursor - 1].table != table {
            marker = .firstInTable
        } else if snapshotQueue[snapshotCursor + 1].table != table {
            marker = .lastInTable
        } else {
            marker = .middle
        }
        let row: ShopRow
        switch table {
        case .customer: row = .customer(customers[Int(id - 1)])
        case .product: row = .product(products[Int(id - 1)])
        case .transaction: row = .transaction(transactions[id]!.row)
        case .transactiondetail: row = .lineItem(lineItems[id]!)
        }
        let position = SourcePosition(
            commitMicros: snapshotCommitMicros, snapshot: marker, txId: nextTxId,
            lsn: lsn, transactionStartLsn: nil)
        // Connect reads the snapshot about 150 ms after it starts, a few rows per millisecond.
        let emittedNanos =
            snapshotCommitMicros * 1000 + 150_000_000 + Int64(snapshotCursor) * 350_000
            + Int64(random.below(1000))
        snapshotCursor += 1
        lastEmittedNanos = emittedNanos
        append(
            table, id: id,
            value: encoder.value(
                table, op: UInt8(ascii: "r"), before: nil, after: row,
                source: position, emittedNanos: emittedNanos),
            emittedNanos: emittedNanos, into: &out)
    }

    // MARK: Live transactions

    /// One database transaction being emitted: shared commit position, per-row LSNs.
    private struct Batch {
        var position: SourcePosition
        var emittedNanos: Int64
        var commitMs: Int64 { JSONBytes.floorDivide(position.commitMicros, 1000).0 }
    }

    private func nextCommitMicros() -> Int64 {
        var micros: Int64
        if config.useWallClock {
            micros = ShopWorkload.nowMicros()
        } else {
            let step = config.commitsPerSecond > 0 ? 1_000_000 / config.commitsPerSecond : 5_000
            // Microsecond jitter like a real clock, small enough to keep the millisecond of the step.
            let jitter = Int64(random.below(Int(max(1, min(1_000, step)))))
            micros = config.startTimeMs * 1000 + Int64((Double(liveTransactions) * step).rounded()) + jitter
        }
        micros = max(micros, lastCommitMicros + 1)
        lastCommitMicros = micros
        return micros
    }

    private func newOrder(_ batch: inout Batch, into out: inout [GeneratedMessage]) {
        let createdAt = batch.position.commitMicros - Int64(random.inRange(50...2_000))
        let transaction = makeOrder(createdAtMicros: createdAt, status: "new")
        emit(
            .transaction, id: transaction.row.transactionId, op: "c", before: nil,
            after: .transaction(transaction.row), batch: &batch, into: &out)
        ledger.sale(commitMs: batch.commitMs, countDelta: 1, revenueDeltaCents: transaction.row.amountCents)
        for itemId in transaction.lineItemIds {
            let item = lineItems[itemId]!
            emit(
                .transactiondetail, id: itemId, op: "c", before: nil, after: .lineItem(item), batch: &batch, into: &out)
            ledger.lineItem(
                commitMs: batch.commitMs, category: category(of: item),
                deltaCents: Int64(item.quantity) * item.unitPriceCents)
        }
    }

    /// Status progression, or (one in four) a partial refund of one line item.
    private func update(_ batch: inout Batch, into out: inout [GeneratedMessage]) {
        let id = aliveIds[random.below(aliveIds.count)]
        var transaction = transactions[id]!
        let before = transaction.row
        let refundable = transaction.lineItemIds.filter { lineItems[$0]!.quantity >= 2 }
        let statusIndex = ShopWorkload.statuses.firstIndex(of: before.status) ?? 0
        let canAdvance = statusIndex + 1 < ShopWorkload.statuses.count
        if !refundable.isEmpty && (random.below(4) == 0 || !canAdvance) {
            let itemId = refundable[random.below(refundable.count)]
            let oldItem = lineItems[itemId]!
            var newItem = oldItem
            let returned = Int32(random.inRange(1...Int(oldItem.quantity - 1)))
            newItem.quantity -= returned
            transaction.row.amountCents -= Int64(returned) * oldItem.unitPriceCents
            transactions[id] = transaction
            lineItems[itemId] = newItem
            emit(
                .transaction, id: id, op: "u", before: .transaction(before), after: .transaction(transaction.row),
                batch: &batch, into: &out)
            ledger.sale(
                commitMs: batch.commitMs, countDelta: 0,
                revenueDeltaCents: transaction.row.amountCents - before.amountCents)
            emit(
                .transactiondetail, id: itemId, op: "u", before: .lineItem(oldItem), after: .lineItem(newItem),
                batch: &batch, into: &out)
            ledger.lineItem(
                commitMs: batch.commitMs, category: category(of: oldItem),
                deltaCents: Int64(newItem.quantity - oldItem.quantity) * oldItem.unitPriceCents)
        } else {
            // Delivered orders with nothing left to refund get a no-op update, as an ORM re-saving a row would.
            if canAdvance { transaction.row.status = ShopWorkload.statuses[statusIndex + 1] }
            transactions[id] = transaction
            emit(
                .transaction, id: id, op: "u", before: .transaction(before), after: .transaction(transaction.row),
                batch: &batch, into: &out)
            ledger.sale(commitMs: batch.commitMs, countDelta: 0, revenueDeltaCents: 0)
        }
    }

    /// Deletes an order: line items first (each followed by its tombstone), then the order and its tombstone.
    private func cancel(_ batch: inout Batch, into out: inout [GeneratedMessage]) {
        let id = aliveIds[random.below(aliveIds.count)]
        let transaction = transactions[id]!
        for itemId in transaction.lineItemIds {
            let item = lineItems.removeValue(forKey: itemId)!
            emit(
                .transactiondetail, id: itemId, op: "d", before: .lineItem(item), after: nil, batch: &batch, into: &out)
            ledger.lineItem(
                commitMs: batch.commitMs, category: category(of: item),
                deltaCents: -Int64(item.quantity) * item.unitPriceCents)
            emitTombstone(.transactiondetail, id: itemId, batch: batch, into: &out)
        }
        transactions[id] = nil
        let slot = aliveSlot.removeValue(forKey: id)!
        let moved = aliveIds.removeLast()
        if moved != id {
            aliveIds[slot] = moved
            aliveSlot[moved] = slot
        }
        emit(
            .transaction, id: id, op: "d", before: .transaction(transaction.row), after: nil, batch: &batch, into: &out)
        ledger.sale(commitMs: batch.commitMs, countDelta: -1, revenueDeltaCents: -transaction.row.amountCents)
        emitTombstone(.transaction, id: id, batch: batch, into: &out)
    }

    /// A price change: REPLICA IDENTITY DEFAULT, so `before` is null. Existing line items keep their price.
    /// The new price is 80–120 % of the product's list price, not of its current price: compounding changes
    /// are a random walk whose typical price falls (the mean of log(0.8…1.2) is below 0), which made revenue
    /// per order drift down ~30 % over a 10-minute demo while the seeded history kept the early prices.
    private func changePrice(_ batch: inout Batch, into out: inout [GeneratedMessage]) {
        let index = random.below(products.count)
        var product = products[index]
        let percent = Int64(random.inRange(80...120))
        product.priceCents = max(49, listPriceCents[index] * percent / 100 / 10 * 10 + 9)
        products[index] = product
        emit(.product, id: product.productId, op: "u", before: nil, after: .product(product), batch: &batch, into: &out)
    }

    private func category(of item: LineItemRow) -> String { products[Int(item.productId - 1)].category }

    // MARK: Emission

    private func emit(
        _ table: ShopTable, id: Int64, op: Unicode.Scalar, before: ShopRow?, after: ShopRow?,
        batch: inout Batch, into out: inout [GeneratedMessage]
    ) {
        let value = encoder.value(
            table, op: UInt8(ascii: op), before: before, after: after,
            source: batch.position, emittedNanos: batch.emittedNanos)
        append(table, id: id, value: value, emittedNanos: batch.emittedNanos, into: &out)
        batch.position.lsn += 8 * Int64(random.inRange(10...50))
        batch.emittedNanos += Int64(random.inRange(200_000...3_000_000))
    }

    private func emitTombstone(_ table: ShopTable, id: Int64, batch: Batch, into out: inout [GeneratedMessage]) {
        append(table, id: id, value: nil, emittedNanos: batch.emittedNanos, into: &out)
    }

    private func append(
        _ table: ShopTable, id: Int64, value: [UInt8]?, emittedNanos: Int64,
        into out: inout [GeneratedMessage]
    ) {
        let timestampMs = JSONBytes.floorDivide(emittedNanos, 1_000_000).0
        if config.malformedEvery > 0 {
            let every = Int64(max(2, config.malformedEvery))
            if (emittedMessages + 1) % every == 0 {
                out.append(garbage(timestampMs: timestampMs))
                emittedMessages += 1
                ledger.messages += 1
                ledger.malformed += 1
            }
        }
        out.append(
            GeneratedMessage(
                topic: topics[table.rawValue], key: encoder.key(table, id: id), value: value,
                timestampMs: timestampMs))
        emittedMessages += 1
        ledger.messages += 1
    }

    /// Bytes no JSON decoder accepts, on a topic the KPIs read: a truncated envelope or printable noise.
    /// Never starts with `{`, so a lenient decoder cannot mistake it for a (partial) event.
    private func garbage(timestampMs: Int64) -> GeneratedMessage {
        let table: ShopTable = random.below(2) == 0 ? .transaction : .transactiondetail
        var bytes: [UInt8]
        if random.below(2) == 0 {
            bytes = Array("\u{1}\u{0}\u{0}\u{0}\u{2a}Avro-ish binary, not JSON".utf8)
        } else {
            let length = random.inRange(8...120)
            bytes = [UInt8(ascii: "#")]
            for _ in 1..<length { bytes.append(UInt8(truncatingIfNeeded: random.inRange(0x20...0x7E))) }
        }
        let key = Array("garbage-\(emittedMessages + 1)".utf8)
        return GeneratedMessage(topic: topics[table.rawValue], key: key, value: bytes, timestampMs: timestampMs)
    }

    private static func nowMicros() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
