/// What a table means for the KPIs.
package enum TableRole: UInt8, Sendable, Hashable {
    /// Counted per op on the Tables view only.
    case other
    /// One row per sale: transaction count and revenue.
    case sale
    /// Line items: quantity × unit price, attributed to the category of the referenced product.
    case lineItem
    /// Dimension rows giving each product its category.
    case dimension
    /// A table of a model profile (`[kpi.*]` sections): a fact or a lookup of some KPI.
    case model

    /// Inlined where it is used: other modules called the synthesized `==` through Equatable's
    /// witness table (about 20 instructions, several times per event).
    @inlinable @inline(__always) package static func == (a: TableRole, b: TableRole) -> Bool {
        a.rawValue == b.rawValue
    }
}

/// Which tables and columns carry the KPIs. Real schemas differ (`id`/`qty`/`price` in the
/// Debezium samples, `transaction_id`/`quantity`/`unit_price` in the shop schema), so every
/// name is configurable from a TOML file; `KPIProfile.shop` is the built-in default.
package struct KPIProfile: Sendable, Hashable {
    package struct SaleTable: Sendable, Hashable {
        package var table: String
        package var key: String
        package var amount: String
        package init(table: String, key: String, amount: String) {
            self.table = table
            self.key = key
            self.amount = amount
        }
    }
    package struct LineItemTable: Sendable, Hashable {
        package var table: String
        package var key: String
        package var quantity: String
        package var unitPrice: String
        package var productKey: String
        package init(table: String, key: String, quantity: String, unitPrice: String, productKey: String) {
            self.table = table
            self.key = key
            self.quantity = quantity
            self.unitPrice = unitPrice
            self.productKey = productKey
        }
    }
    package struct DimensionTable: Sendable, Hashable {
        package var table: String
        package var key: String
        package var category: String
        package init(table: String, key: String, category: String) {
            self.table = table
            self.key = key
            self.category = category
        }
    }

    package var name: String
    package var sale: SaleTable
    package var lineItem: LineItemTable?
    package var dimension: DimensionTable?
    /// Scale of precise decimals when the schema is not in the message (JsonConverter schemas.enable=false).
    package var defaultDecimalScale: Int
    /// Window size in milliseconds (30 s by default).
    package var windowMs: Int64
    /// How far behind the highest commit time an event may arrive before its window is final.
    package var allowedLatenessMs: Int64
    /// How long windows stay in memory so that late events can still correct them.
    package var retentionMs: Int64
    /// Category name for products whose category column is null or empty.
    package var uncategorized: String
    /// History view query for an existing warehouse (`$1` = days, `$2` = pipeline), returning
    /// `(day, tx_count, revenue)`; nil reads cdctop's own `cdctop.kpi_window`.
    package var historySQL: String? = nil
    /// Drill-down query returning `(day, category, revenue)`; nil reads `cdctop.kpi_category_window`.
    package var historyCategorySQL: String? = nil
    /// When the Lag view calls a partition LAGGING (`[lag]` in a profile file).
    package var lag = LagThresholds()
    /// Thresholds and `for` durations of the built-in alert rules (`[alerts]`).
    package var alerts: AlertRules = .defaults
    /// The compiled KPIs of a profile written with `[kpi.NAME] sql = "…"` sections. When set, the
    /// sale, line-item and dimension tables above are unused (their table names are empty).
    package var model: KPIModel? = nil
    /// Chosen because no `--profile` was given: it computes KPIs only if the topics carry its tables,
    /// and says so otherwise instead of showing zeros as if they were the business's numbers.
    package var isImplicitDefault = false

    package init(
        name: String, sale: SaleTable, lineItem: LineItemTable?, dimension: DimensionTable?,
        defaultDecimalScale: Int = 2, windowMs: Int64 = 30_000, allowedLatenessMs: Int64 = 10_000,
        retentionMs: Int64 = 24 * 3_600_000, uncategorized: String = "uncategorized"
    ) {
        self.name = name
        self.sale = sale
        self.lineItem = lineItem
        self.dimension = dimension
        self.defaultDecimalScale = defaultDecimalScale
        self.windowMs = windowMs
        self.allowedLatenessMs = allowedLatenessMs
        self.retentionMs = retentionMs
        self.uncategorized = uncategorized
    }

    /// The shop schema of DESIGN.md: transaction, transactiondetail, product, customer.
    package static let shop = KPIProfile(
        name: "shop",
        sale: .init(table: "transaction", key: "transaction_id", amount: "amount"),
        lineItem: .init(
            table: "transactiondetail", key: "detail_id", quantity: "quantity",
            unitPrice: "unit_price", productKey: "product_id"),
        dimension: .init(table: "product", key: "product_id", category: "category"))

    /// The schema of `Tests/Fixtures/debezium` (schema.sql): `id`, `qty`, `price`, and no category
    /// column, so products are grouped by `name`.
    package static let samples = KPIProfile(
        name: "samples",
        sale: .init(table: "transaction", key: "id", amount: "amount"),
        lineItem: .init(
            table: "transactiondetail", key: "id", quantity: "qty",
            unitPrice: "price", productKey: "product_id"),
        dimension: .init(table: "product", key: "id", category: "name"))

    /// A model profile: KPIs written as SQL over the user's tables.
    package init(
        name: String, model: KPIModel, defaultDecimalScale: Int = 2, windowMs: Int64 = 30_000,
        allowedLatenessMs: Int64 = 10_000, retentionMs: Int64 = 24 * 3_600_000, uncategorized: String = "uncategorized"
    ) {
        self.init(
            name: name, sale: .init(table: "", key: "", amount: ""), lineItem: nil, dimension: nil,
            defaultDecimalScale: defaultDecimalScale, windowMs: windowMs, allowedLatenessMs: allowedLatenessMs,
            retentionMs: retentionMs, uncategorized: uncategorized)
        self.model = model
    }

    package func role(ofTable table: some StringProtocol) -> TableRole {
        if let model { return model.tableIndex(named: table) == nil ? .other : .model }
        if table == sale.table { return .sale }
        if let l = lineItem, table == l.table { return .lineItem }
        if let d = dimension, table == d.table { return .dimension }
        return .other
    }
}

/// LAGGING only when a partition's lag stays above `messages` AND `seconds` for `samples` one-second
/// samples in a row: a burst or one slow fetch is not an incident (profile `[lag]` section).
package struct LagThresholds: Sendable, Hashable {
    package var messages: Int64
    /// Age of the newest consumed commit of the partition, while it has lag.
    package var seconds: Int64
    package var samples: Int

    package init(messages: Int64 = 1_000, seconds: Int64 = 10, samples: Int = 5) {
        self.messages = messages
        self.seconds = seconds
        self.samples = max(1, samples)
    }
}
