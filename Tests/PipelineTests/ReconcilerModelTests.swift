import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

// The PostgreSQL tests need CDCTOP_TEST_PG (scripts/test exports it); each creates its own database.

/// A Northwind-shaped profile over `real` prices and discounts, a composite key, a two-hop chain, a
/// filter on a joined table, a left join with a null group, an average of a `real` column.
private let reconcileProfile = """
    name = "northwind-reconcile"
    uncategorized = "(none)"
    \(ModelFixture.northwindBuiltins)
    [kpi.units]
    sql = "select sum(quantity) from order_details where discount = 0"
    [kpi.discontinued_sales]
    sql = \"\"\"
    select sum(d.unit_price * d.quantity)
    from order_details d
    join products p on p.product_id = d.product_id
    where p.discontinued = 1
    \"\"\"
    [kpi.freight_by_shipper]
    windows = false
    sql = \"\"\"
    select s.company_name, count(*), sum(o.freight), avg(o.freight)
    from orders o
    left join shippers s on s.shipper_id = o.ship_via
    group by s.company_name
    \"\"\"
    """

private let northwindDDL = [
    "CREATE TABLE categories (category_id smallint PRIMARY KEY, category_name varchar(15) NOT NULL)",
    "CREATE TABLE shippers (shipper_id smallint PRIMARY KEY, company_name varchar(40) NOT NULL)",
    "CREATE TABLE products (product_id smallint PRIMARY KEY, category_id smallint REFERENCES categories, unit_price real, discontinued integer NOT NULL)",
    "CREATE TABLE orders (order_id smallint PRIMARY KEY, ship_via smallint REFERENCES shippers, freight real)",
    """
    CREATE TABLE order_details (order_id smallint NOT NULL REFERENCES orders, product_id smallint NOT NULL REFERENCES products,
        unit_price real NOT NULL, quantity smallint NOT NULL, discount real NOT NULL, PRIMARY KEY (order_id, product_id))
    """,
]

/// Rows as (column, literal) pairs: the same literal goes into the INSERT and, as a JSON number or
/// string, into the Debezium message (PostgreSQL prints a `real` the shortest way, as Debezium does).
private struct SeedRow {
    var table: String
    var key: [String]
    var values: [(String, String)]
    var isText: Set<String> = []

    var insertSQL: String {
        let cols = values.map { "\"\($0.0)\"" }.joined(separator: ", ")
        let vals = values.map { isText.contains($0.0) ? "'\($0.1)'" : $0.1 }.joined(separator: ", ")
        return "INSERT INTO \(table) (\(cols)) VALUES (\(vals))"
    }

    func json(_ only: [String]? = nil) -> String {
        let pairs = values.filter { only?.contains($0.0) ?? true }
        return "{"
            + pairs.map { "\"\($0.0)\":" + (isText.contains($0.0) ? "\"\($0.1)\"" : $0.1) }.joined(separator: ",") + "}"
    }

    /// A Debezium change message (schemas disabled): `op` r (snapshot read), c or u.
    func message(op: String, ts: Int64) -> (key: [UInt8], value: [UInt8]) {
        let source = "{\"ts_ms\":\(ts),\"table\":\"\(table)\",\"snapshot\":\"\(op == "r" ? "true" : "false")\"}"
        let value = "{\"op\":\"\(op)\",\"ts_ms\":\(ts),\"source\":\(source),\"before\":null,\"after\":\(json())}"
        return (Array(json(key).utf8), Array(value.utf8))
    }

    mutating func set(_ column: String, _ literal: String) {
        values = values.map { $0.0 == column ? ($0.0, literal) : $0 }
    }
}

private func northwindRows() -> [SeedRow] {
    var rows: [SeedRow] = []
    for (id, name) in [(1, "Beverages"), (2, "Condiments"), (3, "Seafood")] {
        rows.append(
            SeedRow(
                table: "categories", key: ["category_id"], values: [("category_id", "\(id)"), ("category_name", name)],
                isText: ["category_name"]))
    }
    for (id, name) in [(1, "Speedy Express"), (2, "United Package")] {
        rows.append(
            SeedRow(
                table: "shippers", key: ["shipper_id"], values: [("shipper_id", "\(id)"), ("company_name", name)],
                isText: ["company_name"]))
    }
    let prices = ["14.4", "18", "9.65", "21.05", "7.75", "0.3", "31.23", "12.5"]
    for p in 1...8 {
        rows.append(
            SeedRow(
                table: "products", key: ["product_id"],
                values: [
                    ("product_id", "\(p)"), ("category_id", "\((p - 1) % 3 + 1)"), ("unit_price", prices[p - 1]),
                    ("discontinued", p % 4 == 0 ? "1" : "0"),
                ]))
    }
    let freights = ["32.38", "11.61", "65.83", "41.34", "0.1", "58.17", "22.98", "148.33", "13.97", "81.91"]
    for o in 1...30 {
        // Every fourth order has no shipper: the left join's null group.
        rows.append(
            SeedRow(
                table: "orders", key: ["order_id"],
                values: [
                    ("order_id", "\(o)"), ("ship_via", o % 4 == 0 ? "null" : "\(o % 2 + 1)"),
                    ("freight", freights[o % freights.count]),
                ]))
    }
    let discounts = ["0", "0.15", "0.05", "0.2", "0.1", "0.25"]
    for o in 1...30 {
        for j in 0..<(o % 3 + 1) {
            let p = (o + j * 3) % 8 + 1
            rows.append(
                SeedRow(
                    table: "order_details", key: ["order_id", "product_id"],
                    values: [
                        ("order_id", "\(o)"), ("product_id", "\(p)"), ("unit_price", prices[p - 1]),
                        ("quantity", "\((o * 7 + j) % 40 + 1)"), ("discount", discounts[(o + j) % discounts.count]),
                    ]))
        }
    }
    return rows
}

/// A snapshot of the engine as the live loop makes it: caught up, no lag.
private func caughtUp(_ feeder: ModelFeeder) -> RunSnapshot {
    var s = RunSnapshot(result: feeder.core.result)
    s.consumer.caughtUp = true
    return s
}

@Suite("Reconciler: every KPI of the profile against the source (PostgreSQL)", .tags(.postgres))
struct ReconcilerModelTests {

    @Test(
        "a Northwind-shaped source with real prices agrees; a row changed behind the pipeline is drift naming the KPI and group"
    )
    func northwindAgreesThenDrifts() throws {
        let db = try ReconcileTestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        for ddl in northwindDDL { try conn.execute(ddl) }
        var rows = northwindRows()
        for r in rows { try conn.execute(r.insertSQL) }

        let profile = try KPIProfile(tomlText: reconcileProfile, file: "test.toml")
        let feeder = ModelFeeder(profile: profile)
        let t0: Int64 = 1_700_000_000_000
        for r in rows { feeder.send(r.table, r.message(op: "r", ts: t0)) }
        #expect(feeder.core.result.malformed == 0)
        let engineRevenue = feeder.core.result.totals.revenue
        #expect(engineRevenue > .zero)

        // SQL's own float arithmetic on `real` columns is not what cdctop sums: the naive query differs.
        let naive = try conn.execute(
            "SELECT sum(unit_price::float8 * quantity * (1 - discount::float8))::text FROM order_details"
        ).rows[0][0]
        let naiveValue = try #require(naive.flatMap { ExactDecimal.parse($0) })
        #expect(naiveValue != ExactDecimal(engineRevenue), "naive float sum \(naiveValue) happened to be exact")

        let reconciler = Reconciler(sourceURL: db.url, profile: profile, everySeconds: 0.2, quietSeconds: 0.2)
        reconciler.offer(caughtUp(feeder))
        reconciler.start()
        defer { reconciler.stop() }
        try waitUntil("agree") { reconciler.reconciliation?.verdict == .agree }
        let agreed = try #require(reconciler.reconciliation)
        #expect(agreed.detail.contains("6 KPIs"), "\(agreed.detail)")
        #expect(agreed.sourceTxCount == 30 && agreed.engineTxCount == 30)
        #expect(agreed.sourceRevenue == engineRevenue)
        #expect(reconciler.differences.isEmpty)
        // The generated SQL reads every real column through its text.
        let revenueSQL = try #require(reconciler.queries.first { $0.name == "revenue" }).sql
        #expect(revenueSQL.contains("(\"d\".\"unit_price\"::text::numeric)"), "\(revenueSQL)")
        #expect(revenueSQL.contains("(\"d\".\"discount\"::text::numeric)"), "\(revenueSQL)")

        // One line changed on the source only (no CDC event reaches the engine): order 18, product 3
        // (Seafood, 9.65, no discount).
        let line = try #require(
            rows.firstIndex { $0.table == "order_details" && $0.values[0].1 == "18" && $0.values[1].1 == "3" })
        #expect(rows[line].values[4].1 == "0")
        try conn.execute("UPDATE order_details SET quantity = quantity + 10 WHERE order_id = 18 AND product_id = 3")
        try waitUntil("drift") { reconciler.reconciliation?.verdict == .drift }
        let drift = try #require(reconciler.reconciliation)
        let differences = reconciler.differences
        let category = try #require(differences.first { $0.kpi == "category_sales" }, "\(differences)")
        #expect(category.group == ["Seafood"])
        #expect(
            // 10 × 9.65 × (1 - 0)
            Money(decimalText: category.source)! - Money(decimalText: category.engine)! == Money(decimalText: "96.5")!)
        #expect(differences.contains { $0.kpi == "revenue" && $0.group.isEmpty })
        #expect(differences.contains { $0.kpi == "units" })  // discount 0 on that line
        #expect(
            !differences.contains {
                $0.kpi == "transactions" || $0.kpi == "freight_by_shipper" || $0.kpi == "discontinued_sales"
            })
        #expect(drift.detail.contains("revenue"), "\(drift.detail)")
        #expect(drift.detail.contains("more"), "\(drift.detail)")
        #expect(reconciler.status.state == .error)

        // The change reaches the engine: agree again.
        rows[line].set("quantity", String(Int(rows[line].values[3].1)! + 10))
        feeder.send("order_details", rows[line].message(op: "u", ts: t0 + 1_000))
        reconciler.offer(caughtUp(feeder))
        try waitUntil("agree again") { reconciler.reconciliation?.verdict == .agree }

        // A category renamed on the source only: both groups named, the old one and the new one.
        try conn.execute("UPDATE categories SET category_name = 'Drinks' WHERE category_id = 1")
        try waitUntil("drift on the rename") { reconciler.reconciliation?.verdict == .drift }
        let renamed = reconciler.differences.filter { $0.kpi == "category_sales" }
        #expect(Set(renamed.map(\.group)) == [["Beverages"], ["Drinks"]], "\(renamed)")
        #expect(renamed.first { $0.group == ["Drinks"] }?.engine == "0")
        #expect(renamed.first { $0.group == ["Beverages"] }?.source == "0")
        #expect(
            reconciler.reconciliation?.detail.contains("category_sales [Beverages]") == true,
            "\(reconciler.reconciliation?.detail ?? "")")
    }

    @Test(
        "the null group of a left join and an average of a real column agree; a freight changed on the source is drift in its shipper's group"
    )
    func nullGroupAndAverage() throws {
        let db = try ReconcileTestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        for ddl in northwindDDL { try conn.execute(ddl) }
        let rows = northwindRows()
        for r in rows { try conn.execute(r.insertSQL) }
        let profile = try KPIProfile(tomlText: reconcileProfile, file: "test.toml")
        let feeder = ModelFeeder(profile: profile)
        for r in rows { feeder.send(r.table, r.message(op: "r", ts: 1_700_000_000_000)) }

        let reconciler = Reconciler(sourceURL: db.url, profile: profile, everySeconds: 0.2, quietSeconds: 0.2)
        reconciler.offer(caughtUp(feeder))
        reconciler.start()
        defer { reconciler.stop() }
        try waitUntil("agree") { reconciler.reconciliation?.verdict == .agree }

        // Order 4 has no shipper: the "(none)" group; its average moves, count does not.
        try conn.execute("UPDATE orders SET freight = freight + 1 WHERE order_id = 4")
        try waitUntil("drift") { reconciler.reconciliation?.verdict == .drift }
        let differences = reconciler.differences
        #expect(differences.allSatisfy { $0.kpi == "freight_by_shipper" && $0.group == ["(none)"] }, "\(differences)")
        #expect(Set(differences.map(\.column)) == ["sum(o.freight)", "avg(o.freight)"], "\(differences)")
    }

    @Test(
        "shop form with a real amount: count and exact sum agree where sum(real) does not; category sales off is drift, not AGREE"
    )
    func legacyFloatAmountAndCategories() throws {
        let db = try ReconcileTestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        try conn.execute("CREATE TABLE \"transaction\" (transaction_id integer PRIMARY KEY, amount real NOT NULL)")
        try conn.execute("CREATE TABLE product (product_id integer PRIMARY KEY, category text)")
        try conn.execute(
            "CREATE TABLE transactiondetail (detail_id integer PRIMARY KEY, transaction_id integer, product_id integer, quantity integer, unit_price real)"
        )
        let feeder = ModelFeeder(profile: .shop)
        let t0: Int64 = 1_700_000_000_000
        var rows: [SeedRow] = []
        for (p, c) in [(1, "books"), (2, "toys"), (3, "")] {
            rows.append(
                SeedRow(
                    table: "product", key: ["product_id"], values: [("product_id", "\(p)"), ("category", c)],
                    isText: ["category"]))
        }
        for i in 1...200 {
            rows.append(
                SeedRow(
                    table: "transaction", key: ["transaction_id"],
                    values: [("transaction_id", "\(i)"), ("amount", "0.1")]))
            rows.append(
                SeedRow(
                    table: "transactiondetail", key: ["detail_id"],
                    values: [
                        ("detail_id", "\(i)"), ("transaction_id", "\(i)"), ("product_id", "\(i % 3 + 1)"),
                        ("quantity", "\(i % 5 + 1)"), ("unit_price", ["19.99", "0.1", "7.35"][i % 3]),
                    ]))
        }
        for r in rows {
            try conn.execute(r.insertSQL)
            feeder.send(r.table, r.message(op: "r", ts: t0))
        }
        #expect(feeder.core.result.malformed == 0)
        #expect(feeder.core.result.totals.revenue == Money(whole: 20))
        let naive = try conn.execute("SELECT sum(amount::float8)::text FROM \"transaction\"").rows[0][0]
        let naiveValue = try #require(naive.flatMap { ExactDecimal.parse($0) })
        #expect(naiveValue != ExactDecimal(20), "sum(real) = \(naiveValue)")

        let reconciler = Reconciler(sourceURL: db.url, profile: .shop, everySeconds: 0.2, quietSeconds: 0.2)
        reconciler.offer(caughtUp(feeder))
        reconciler.start()
        defer { reconciler.stop() }
        try waitUntil("agree") { reconciler.reconciliation?.verdict == .agree }
        let agreed = try #require(reconciler.reconciliation)
        #expect(agreed.sourceRevenue == Money(whole: 20) && agreed.sourceTxCount == 200)
        #expect(agreed.detail.contains("3 categories"), "\(agreed.detail)")

        // A product moved to another category on the source only: totals still agree, category sales do not.
        try conn.execute("UPDATE product SET category = 'garden' WHERE product_id = 2")
        try waitUntil("drift") { reconciler.reconciliation?.verdict == .drift }
        let drift = try #require(reconciler.reconciliation)
        #expect(drift.sourceTxCount == drift.engineTxCount && drift.sourceRevenue == drift.engineRevenue)
        let groups = Set(reconciler.differences.map(\.group))
        #expect(groups == [["toys"], ["garden"]], "\(reconciler.differences)")
        #expect(drift.detail.contains("category_sales ["), "\(drift.detail)")
    }
}

@Suite("Reconciliation SQL from the compiled model")
struct ReconcileSQLTests {
    let profile = try! KPIProfile(tomlText: reconcileProfile, file: "test.toml")
    let types = SourceColumnTypes(types: [
        "order_details": [
            "unit_price": "real", "discount": "real", "quantity": "smallint", "order_id": "smallint",
            "product_id": "smallint",
        ],
        "orders": ["freight": "double precision", "ship_via": "smallint", "order_id": "smallint"],
        "products": ["product_id": "smallint", "category_id": "smallint", "discontinued": "integer"],
        "categories": ["category_id": "smallint", "category_name": "character varying"],
    ])

    func sql(_ name: String, _ dialect: SQLDialect, types: SourceColumnTypes? = nil) throws -> String {
        let model = try #require(profile.model)
        let kpi = try #require(model.kpis.first { $0.name == name })
        return ReconcileSQL.query(for: kpi, model: model, types: types ?? self.types, dialect: dialect)
    }

    @Test("PostgreSQL: the user's query, every real/double column read as text then numeric, identifiers quoted")
    func postgres() throws {
        #expect(
            try sql("category_sales", .postgres) == """
                select ("c"."category_name")::text, sum(("d"."unit_price"::text::numeric) * "d"."quantity" * (1 - ("d"."discount"::text::numeric))) \
                from "order_details" "d" join "products" "p" on "p"."product_id" = "d"."product_id" \
                join "categories" "c" on "c"."category_id" = "p"."category_id" group by "c"."category_name"
                """)
        #expect(
            try sql("freight_by_shipper", .postgres) == """
                select ("s"."company_name")::text, count(*), sum(("o"."freight"::text::numeric)), avg(("o"."freight"::text::numeric)) \
                from "orders" "o" left join "shippers" "s" on "s"."shipper_id" = "o"."ship_via" group by "s"."company_name"
                """)
        #expect(
            try sql("units", .postgres) == """
                select sum("order_details"."quantity") from "order_details" "order_details" where ("order_details"."discount"::text::numeric) = 0
                """)
        #expect(
            try sql("discontinued_sales", .postgres) == """
                select sum(("d"."unit_price"::text::numeric) * "d"."quantity") from "order_details" "d" \
                join "products" "p" on "p"."product_id" = "d"."product_id" where "p"."discontinued" = 1
                """)
        // Without the catalog (a column not found there) nothing is cast.
        #expect(
            try sql("revenue", .postgres, types: SourceColumnTypes()) == """
                select sum("d"."unit_price" * "d"."quantity" * (1 - "d"."discount")) from "order_details" "d"
                """)
    }

    @Test("MySQL: backquoted identifiers, float columns through CHAR to DECIMAL(65,30)")
    func mysql() throws {
        let mysqlTypes = SourceColumnTypes(types: [
            "order_details": ["unit_price": "float", "discount": "double"], "orders": ["freight": "float"],
        ])
        #expect(
            try sql("category_sales", .mysql, types: mysqlTypes) == """
                select `c`.`category_name`, sum(CAST(CAST(`d`.`unit_price` AS CHAR) AS DECIMAL(65,30)) * `d`.`quantity` \
                * (1 - CAST(CAST(`d`.`discount` AS CHAR) AS DECIMAL(65,30)))) from `order_details` `d` \
                join `products` `p` on `p`.`product_id` = `d`.`product_id` join `categories` `c` on `c`.`category_id` = `p`.`category_id` \
                group by `c`.`category_name`
                """)
        #expect(SQLDialect.mysql.literal("it's a \\ test") == "'it''s a \\\\ test'")
        #expect(
            SourceColumnTypes.catalogQuery(tables: ["orders", "shop.product"], dialect: .mysql) == """
                select table_name, column_name, data_type from information_schema.columns where \
                (table_schema = database() and table_name in ('orders')) or (table_schema = 'shop' and table_name = 'product') \
                order by table_name, ordinal_position
                """)
        let legacy = ReconcileSQL.legacyTotals(
            saleTable: "transaction", amount: "amount",
            types: SourceColumnTypes(types: ["transaction": ["amount": "double"]]), dialect: .mysql)
        #expect(
            legacy
                == "SELECT count(*), CAST(coalesce(sum(CAST(CAST(`amount` AS CHAR) AS DECIMAL(65,30))), 0) AS CHAR) FROM `transaction`"
        )
    }

    @Test("legacy totals keep today's query for exact columns; a real amount is read as text")
    func legacyTotals() {
        #expect(
            ReconcileSQL.legacyTotals(saleTable: "public.transaction", amount: "amount", types: SourceColumnTypes())
                == "SELECT count(*), coalesce(sum(\"amount\"), 0)::text FROM \"public\".\"transaction\"")
        let real = SourceColumnTypes(types: ["transaction": ["amount": "real"]])
        #expect(
            ReconcileSQL.legacyTotals(saleTable: "public.transaction", amount: "amount", types: real)
                == "SELECT count(*), coalesce(sum((\"amount\"::text::numeric)), 0)::text FROM \"public\".\"transaction\""
        )
    }

    @Test("source values: rounded half away from zero to 9 places; groups matched by normalised text")
    func values() {
        #expect(ReconcileCompare.roundedMoney("3.3333333335") == Money(decimalText: "3.333333334"))
        #expect(ReconcileCompare.roundedMoney("-3.3333333335") == Money(decimalText: "-3.333333334"))
        #expect(ReconcileCompare.roundedMoney("2.0000000004999") == Money(decimalText: "2"))
        #expect(ReconcileCompare.roundedMoney("245.80") == Money(decimalText: "245.8"))
        #expect(ReconcileCompare.roundedMoney("1.5e-3") == Money(decimalText: "0.0015"))
        #expect(ReconcileCompare.roundedMoney("abc") == nil)
        #expect(ReconcileCompare.groupKey("1.50") == ReconcileCompare.groupKey("1.5"))
        #expect(ReconcileCompare.groupKey("Beverages") == "Beverages")
    }

    @Test("comparison: every group of both sides, missing groups as zero, null as the profile's label")
    func compareGroups() throws {
        let model = try #require(profile.model)
        let k = try #require(model.kpis.firstIndex { $0.name == "freight_by_shipper" })
        let columns = KPIColumns(model.kpis[k], nullLabel: "(none)")
        let q = ReconcileQuery(
            kpi: k, name: "freight_by_shipper", sql: "", groupCount: 1, kinds: [.countRows, .sum, .avg])
        var a = KPIAccum(aggregates: 3)
        a.rows = 2
        a.counts = [2, 2, 2]
        a.sums = [.zero, ExactDecimal(3), ExactDecimal(3)]
        var engine = KPIValues()
        engine.groups[[.null]] = a
        engine.groups[[.text("Speedy")]] = a
        let same = try ReconcileCompare.compare(
            q, columns: columns, engine: engine,
            rows: [[nil, "2", "3.000", "1.50000000000000000000"], ["Speedy", "2", "3", "1.5"]])
        #expect(same.differences.isEmpty && same.groups == 2)
        let off = try ReconcileCompare.compare(
            q, columns: columns, engine: engine, rows: [[nil, "2", "3", "1.5"], ["Other", "1", "1", "1"]])
        #expect(off.groups == 3)
        #expect(
            off.differences.map(\.description) == [
                "freight_by_shipper [Other] count(*): cdctop 0, source 1",
                "freight_by_shipper [Other] sum(o.freight): cdctop 0, source 1",
                "freight_by_shipper [Other] avg(o.freight): cdctop null, source 1",
                "freight_by_shipper [Speedy] count(*): cdctop 2, source 0",
                "freight_by_shipper [Speedy] sum(o.freight): cdctop 3, source 0",
                "freight_by_shipper [Speedy] avg(o.freight): cdctop 1.5, source null",
            ])
    }
}

// MARK: - Helpers (waits and ports: TestSupport)

/// A fresh database on the shared test server, dropped at the end.
private struct ReconcileTestDatabase {
    let url: String
    private let serverURL: String
    private let name: String

    init() throws {
        serverURL = try #require(
            TestServices.environment("CDCTOP_TEST_PG"),
            "CDCTOP_TEST_PG is not set: run the tests with scripts/test, which starts PostgreSQL and exports it")
        name = "cdctop_rc_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PostgresConnection(serverURL)
        try admin.execute("CREATE DATABASE \(try admin.quoteQualifiedIdentifier(name))")
        url = postgresURL(serverURL, database: name)
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(url) }

    func drop() {
        guard let admin = try? PostgresConnection(serverURL), let quoted = try? admin.quoteQualifiedIdentifier(name)
        else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)")
    }
}
