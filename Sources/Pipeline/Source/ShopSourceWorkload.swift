import Metrics

/// What one source database transaction did.
package enum SourceChange: String, Sendable, CaseIterable {
    /// INSERT a transaction and 1–4 transactiondetail rows (amount = Σ quantity × unit_price).
    case order
    /// UPDATE transaction SET status = 'shipped'.
    case shipping
    /// UPDATE transaction: a partial refund lowers the amount, status 'refunded'.
    case refund
    /// DELETE a transaction; its lines go with it (ON DELETE CASCADE, one Debezium delete each).
    case cancel
    /// UPDATE product SET price (touches no sales: line items keep their unit_price).
    case priceChange
    /// UPDATE product SET category: the product's sales move to the new category.
    case categoryMove
}

/// One committed source transaction.
package struct SourceCommit: Sendable {
    package var change: SourceChange
    /// The transaction row touched.
    package var transactionID: Int64?
    /// Wall time just after COMMIT returned (ms since epoch): the reference for commit-to-dashboard latency.
    package var committedAtMs: Int64
}

/// Relative weights of the changes; `ordersOnly` gives inserts only (every commit adds exactly one
/// transaction, which is what a latency measurement keyed on the running count needs).
package struct SourceWorkloadMix: Sendable {
    package var weights: [(SourceChange, Int)]

    package init(_ weights: [(SourceChange, Int)]) { self.weights = weights.filter { $0.1 > 0 } }

    package static let shop = SourceWorkloadMix([
        (.order, 55), (.shipping, 20), (.refund, 10), (.cancel, 8), (.priceChange, 5), (.categoryMove, 2),
    ])
    package static let ordersOnly = SourceWorkloadMix([(.order, 1)])
}

/// Realistic shop traffic written into PostgreSQL itself (the schema of sql/shop.sql), so that a real
/// Debezium connector produces the change events: the end-to-end counterpart of `ShopWorkload`, which
/// fabricates the events. Every statement is parameterised; one database transaction per `step()`.
package final class ShopSourceWorkload {
    private let connection: PostgresConnection
    private var choices: SourceTrafficChoices
    private var customerIDs: [Int64] = []
    private var products: [(id: Int64, priceCents: Int64)] = []
    private var categories: [String] = []

    package private(set) var committed: [SourceChange: Int64] = [:]

    /// Connects and loads the customers, products and recent orders to work with.
    package init(url: String, seed: UInt64 = 42, mix: SourceWorkloadMix = .shop) throws(WarehouseError) {
        connection = try PostgresConnection(url, applicationName: "cdctop-generate")
        choices = SourceTrafficChoices(mix: mix, seed: seed)
        let missing = "run sql/shop.sql on this database first (scripts/stack up does)"
        do {
            customerIDs = try connection.execute("SELECT customer_id FROM customer ORDER BY customer_id").rows
                .compactMap { $0[0].flatMap { Int64($0) } }
            let productRows = try connection.execute("SELECT product_id, price::text FROM product ORDER BY product_id")
                .rows
            products = productRows.compactMap { row in
                guard let id = row[0].flatMap({ Int64($0) }), let cents = row[1].flatMap(Self.cents) else { return nil }
                return (id, cents)
            }
            categories = try connection.execute("SELECT DISTINCT category FROM product ORDER BY 1").rows.compactMap {
                $0[0]
            }
            choices.openOrders = try connection.execute(
                "SELECT transaction_id FROM \"transaction\" WHERE status = 'new' ORDER BY transaction_id DESC LIMIT 1000"
            ).rows.compactMap { $0[0].flatMap { Int64($0) } }.reversed()
        } catch  where error.kind == .missingSchema {
            throw WarehouseError(
                kind: .missingSchema, message: error.message, sqlState: error.sqlState, sql: error.sql, advice: missing)
        }
        guard !customerIDs.isEmpty, !products.isEmpty else {
            throw WarehouseError(
                kind: .badResult, message: "the shop database has no customers or no products",
                advice: missing)
        }
    }

    /// Runs one database transaction of a kind drawn from the mix and returns when it is committed.
    package func step() throws(WarehouseError) -> SourceCommit {
        let change = choices.next(categoryCount: categories.count)
        let transactionID: Int64?
        switch change {
        case .order: transactionID = try insertOrder()
        case .shipping: transactionID = try ship()
        case .refund: transactionID = try refund()
        case .cancel: transactionID = try cancel()
        case .priceChange:
            try changePrice()
            transactionID = nil
        case .categoryMove:
            try moveCategory()
            transactionID = nil
        }
        committed[change, default: 0] += 1
        return SourceCommit(change: change, transactionID: transactionID, committedAtMs: WallClock.nowMs())
    }

    private func insertOrder() throws(WarehouseError) -> Int64 {
        let lineCount = choices.random.inRange(1...4)
        var lines: [(productID: Int64, quantity: Int64, priceCents: Int64)] = []
        var amountCents: Int64 = 0
        for _ in 0..<lineCount {
            let product = choices.random.pick(products)
            let quantity = Int64(choices.random.inRange(1...3))
            lines.append((product.id, quantity, product.priceCents))
            amountCents += quantity * product.priceCents
        }
        let customer = choices.random.pick(customerIDs)
        let id: Int64 = try connection.transaction { () throws(WarehouseError) -> Int64 in
            let inserted = try connection.execute(
                "INSERT INTO \"transaction\" (customer_id, amount, status) VALUES ($1, $2, 'new') RETURNING transaction_id",
                [String(customer), Self.decimalText(amountCents)])
            guard let id = inserted.rows.first?[0].flatMap({ Int64($0) }) else {
                throw WarehouseError(
                    kind: .badResult, message: "INSERT … RETURNING transaction_id gave no id", advice: "")
            }
            // One statement for all lines: parallel arrays unnested server-side.
            try connection.execute(
                """
                INSERT INTO transactiondetail (transaction_id, product_id, quantity, unit_price)
                SELECT $1, p, q, u FROM unnest($2::bigint[], $3::int[], $4::numeric[]) AS l (p, q, u)
                """,
                [
                    String(id), PostgresArrayLiteral.integers(lines.map(\.productID)),
                    PostgresArrayLiteral.integers(lines.map(\.quantity)),
                    PostgresArrayLiteral.decimals(lines.map { Self.decimalText($0.priceCents) }),
                ])
            return id
        }
        choices.noteOpenOrder(id)
        return id
    }

    private func ship() throws(WarehouseError) -> Int64 {
        let id = choices.takeOpenOrder()
        try connection.execute("UPDATE \"transaction\" SET status = 'shipped' WHERE transaction_id = $1", [String(id)])
        return id
    }

    private func refund() throws(WarehouseError) -> Int64 {
        let id = choices.takeOpenOrder()
        let percent = choices.random.inRange(10...50)
        try connection.execute(
            "UPDATE \"transaction\" SET amount = amount - round(amount * $2::numeric / 100, 2), status = 'refunded' WHERE transaction_id = $1",
            [String(id), String(percent)])
        return id
    }

    private func cancel() throws(WarehouseError) -> Int64 {
        let id = choices.takeOpenOrder()
        try connection.execute("DELETE FROM \"transaction\" WHERE transaction_id = $1", [String(id)])
        return id
    }

    private func changePrice() throws(WarehouseError) {
        let index = choices.random.below(products.count)
        let old = products[index].priceCents
        let new = max(50, old + old * Int64(choices.random.inRange(-10...10)) / 100)
        try connection.execute(
            "UPDATE product SET price = $2 WHERE product_id = $1",
            [String(products[index].id), Self.decimalText(new)])
        products[index].priceCents = new
    }

    private func moveCategory() throws(WarehouseError) {
        let product = choices.random.pick(products)
        try connection.execute(
            "UPDATE product SET category = $2 WHERE product_id = $1",
            [String(product.id), choices.random.pick(categories)])
    }

    /// "18.90" → 1890 (numeric(12,2) text from PostgreSQL).
    static func cents(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]) else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1].prefix(2).padding(toLength: 2)
            guard let f = Int64(digits) else { return nil }
            fraction = f
        }
        return whole * 100 + (text.hasPrefix("-") ? -fraction : fraction)
    }

    static func decimalText(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// The source database's own figures, for comparing with the engine's running totals.
package struct SourceTotals: Sendable, Equatable {
    package var txCount: Int64
    package var revenue: Money
    /// Σ quantity × unit_price per product category (current category), categories that net to zero left out.
    package var categoryRevenue: [String: Money]

    /// `{"tx_count":N,"revenue":"…","category_revenue":{…}}`: the shape of `totals` in cdctop's `--json` result.
    package func json() -> String {
        var out = "{\"tx_count\":\(txCount),\"revenue\":\"\(revenue.formatted())\",\"category_revenue\":{"
        for (i, name) in categoryRevenue.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(name, to: &out)
            out += ":\"\(categoryRevenue[name]!.formatted())\""
        }
        return out + "}}"
    }

    /// `count(*)`, `sum(amount)` and the line-item join per category, in one snapshot (REPEATABLE READ).
    package static func query(_ connection: PostgresConnection) throws(WarehouseError) -> SourceTotals {
        try connection.transaction { () throws(WarehouseError) -> SourceTotals in
            try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            let totals = try connection.execute("SELECT count(*), coalesce(sum(amount), 0)::text FROM \"transaction\"")
            guard let row = totals.rows.first, let count = row[0].flatMap({ Int64($0) }),
                let revenue = row[1].flatMap({ Money(decimalText: $0) })
            else {
                throw WarehouseError(
                    kind: .badResult, message: "count/sum of transaction could not be read", advice: "")
            }
            var categories: [String: Money] = [:]
            let rows = try connection.execute(
                """
                SELECT p.category, sum(d.quantity * d.unit_price)::text
                FROM transactiondetail d JOIN product p USING (product_id) GROUP BY p.category
                """
            ).rows
            for r in rows {
                guard let name = r[0], let value = r[1].flatMap({ Money(decimalText: $0) }) else { continue }
                if value != .zero { categories[name] = value }
            }
            return SourceTotals(txCount: count, revenue: revenue, categoryRevenue: categories)
        }
    }
}

extension Substring {
    fileprivate func padding(toLength length: Int) -> String {
        String(self) + String(repeating: "0", count: Swift.max(0, length - count))
    }
}
