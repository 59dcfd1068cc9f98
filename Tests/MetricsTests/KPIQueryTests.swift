import Metrics
import Testing

/// KPI queries: parsing, compiling to slots and aliases, refusals with their file lines, hostile
/// input, and the evaluator's SQL semantics.
@Suite struct KPIQueryTests {
    static let northwind = """
        select c.category_name, sum(d.unit_price * d.quantity * (1 - d.discount))
        from order_details d
        join products p on p.product_id = d.product_id
        join categories c on c.category_id = p.category_id
        where d.quantity > 0
        group by c.category_name
        """

    static func compile(_ sql: String, name: String = "k", tables: [TableOptions] = []) throws -> KPIModel {
        try KPIModel.compile(
            kpis: [KPISource(name: name, sql: sql, line: 10, column: 7)], tables: tables, file: "p.toml")
    }

    /// The error compiling `sql` (in a KPI whose SQL starts at line 10, column 7), or nil when it compiles.
    static func failure(_ sql: String, name: String = "k", tables: [TableOptions] = []) -> ConfigFileError? {
        do {
            _ = try compile(sql, name: name, tables: tables)
            return nil
        } catch let e as ConfigFileError {
            return e
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    /// `text` compiled as the group expression of `select <text>, count(*) from t group by 1`, and its table's columns.
    static func expr(_ text: String) throws -> (Expr, [String]) {
        let m = try compile("select \(text), count(*) from t group by 1")
        return (m.kpis[0].groups[0], m.tables[0].columns)
    }

    static func eval(_ text: String, _ row: [String: Cell] = [:]) throws -> EvalValue {
        let (e, columns) = try expr(text)
        return try ExprEvaluator.evaluate(e) { ref in row[columns[ref.slot]] ?? .missing }
    }

    static func evalError(_ text: String, _ row: [String: Cell] = [:]) -> String? {
        do {
            _ = try eval(text, row)
            return nil
        } catch let e as EvalError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    static func num(_ s: String) -> EvalValue { .number(ExactDecimal.parse(s)!) }
    static func dec(_ s: String) -> Cell { .decimal(ExactDecimal.parse(s)!) }

    // MARK: Compiling

    @Test func northwindCompilesToSlotsAliasesAndAnchor() throws {
        let m = try Self.compile(Self.northwind, name: "category_sales")
        #expect(m.tables.map(\.name) == ["order_details", "products", "categories"])
        #expect(m.tables[0].columns == ["unit_price", "quantity", "discount", "product_id"])
        #expect(m.tables[1].columns == ["product_id", "category_id"])
        #expect(m.tables[2].columns == ["category_name", "category_id"])
        let k = m.kpis[0]
        #expect(k.name == "category_sales" && k.line == 10 && k.fact == 0 && k.windowed)
        #expect(k.aliases == ["d", "p", "c"])
        #expect(
            k.joins == [
                JoinStep(table: 1, alias: "p", parent: 0, parentColumn: 3, matchColumn: 0, isLeft: false),
                JoinStep(table: 2, alias: "c", parent: 1, parentColumn: 1, matchColumn: 1, isLeft: false),
            ])
        #expect(
            k.rowFilter == .binary(.greater, .column(ColumnRef(alias: 0, slot: 1), name: "quantity"), .literal(.int(0)))
        )
        #expect(k.joinFilter == nil)
        #expect(k.groups == [.column(ColumnRef(alias: 2, slot: 0), name: "category_name")])
        #expect(k.groupNames == ["category_name"])
        #expect(k.aggregates.count == 1 && k.aggregates[0].kind == .sum)
        #expect(k.aggregates[0].name == "sum(d.unit_price * d.quantity * (1 - d.discount))")
        #expect(k.anchorSlots == [3])
        #expect(m.categorySales == 0 && m.revenue == nil)
    }

    @Test func sakilaFourHopChainThroughALinkTable() throws {
        let sql = """
            select c.name as category, sum(p.amount) as revenue
            from payment p
            join rental r on r.rental_id = p.rental_id
            join inventory i on i.inventory_id = r.inventory_id
            join film_category fc on fc.film_id = i.film_id
            join category c on c.category_id = fc.category_id
            group by c.name
            """
        let m = try Self.compile(sql)
        #expect(m.tables.map(\.name) == ["payment", "rental", "inventory", "film_category", "category"])
        #expect(m.tables[0].columns == ["amount", "rental_id"])
        #expect(m.tables[1].columns == ["rental_id", "inventory_id"])
        #expect(m.tables[2].columns == ["inventory_id", "film_id"])
        #expect(m.tables[3].columns == ["film_id", "category_id"])
        #expect(m.tables[4].columns == ["name", "category_id"])
        let k = m.kpis[0]
        #expect(k.aliases == ["p", "r", "i", "fc", "c"])
        #expect(k.joins.map(\.parent) == [0, 1, 2, 3])
        #expect(k.joins.map(\.table) == [1, 2, 3, 4])
        #expect(k.joins.map(\.parentColumn) == [1, 1, 1, 1])
        #expect(k.joins.map(\.matchColumn) == [0, 0, 0, 1])
        #expect(k.anchorSlots == [1])
        #expect(k.groupNames == ["category"] && k.aggregates[0].name == "revenue")
        #expect(k.groups == [.column(ColumnRef(alias: 4, slot: 0), name: "name")])
    }

    @Test func whereSplitsIntoRowAndJoinFilters() throws {
        let sql = """
            select count(*) from order_details d left outer join products p on d.product_id = p.product_id
            where d.quantity > 0 and p.discontinued = 0 and (d.unit_price > 1 and d.discount < 1)
            """
        let k = try Self.compile(sql).kpis[0]
        #expect(k.joins[0].isLeft && k.joins[0].parent == 0)
        #expect(
            k.rowFilter.map { sqlText($0, aliases: k.aliases) }
                == "d.quantity > 0 and d.unit_price > 1 and d.discount < 1")
        #expect(k.joinFilter.map { sqlText($0, aliases: k.aliases) } == "p.discontinued = 0")
        #expect(k.anchorSlots == [0])  // d.product_id, read by the join; filters are not part of the anchor
        let onlyJoin = try Self.compile("select count(*) from a x join b y on y.id = x.b_id where y.flag or x.n > 1")
            .kpis[0]
        #expect(onlyJoin.rowFilter == nil && onlyJoin.joinFilter != nil)
    }

    @Test func everyConstructParses() throws {
        let sql = """
            SELECT region AS r, "Mixed Case", `tick``ed`, count(*), Count(amount) n, SUM(amount * -2 + 1.5) AS "total",
                   avg(coalesce(amount, 0)), sum(case when status = 'it''s' then 1 when status is null then 0 else -1 end),
                   sum(case kind when 'a' then 1 when 'b' then 2 end)
            FROM sales /* the fact */ -- trailing comment
            WHERE NOT (amount IS NOT NULL AND amount <> 3) OR region IN ('x', 'y') AND kind NOT IN (1, 2)
               AND amount != 4 AND amount <= 5 AND amount >= -6 AND amount < 7 AND flag = TRUE AND other IS NULL
            GROUP BY 1, "Mixed Case", `tick``ed`;
            """
        let m = try Self.compile(sql)
        let k = m.kpis[0]
        #expect(
            m.tables[0].columns == ["region", "Mixed Case", "tick`ed", "amount", "status", "kind", "flag", "other"])
        #expect(k.groupNames == ["r", "Mixed Case", "tick`ed"])
        #expect(k.aggregates.map(\.kind) == [.countRows, .count, .sum, .avg, .sum, .sum])
        #expect(
            k.aggregates.map(\.name) == [
                "count(*)", "n", "total", "avg(coalesce(amount, 0))",
                "sum(case when status = 'it''s' then 1 when status is null then 0 else -1 end)",
                "sum(case when kind = 'a' then 1 when kind = 'b' then 2 end)",
            ])
        #expect(k.anchorSlots == [0, 1, 2])
        #expect(k.rowFilter != nil && k.joinFilter == nil)
        #expect(k.aliases == ["sales"])
    }

    @Test func printedSQLParsesBackToTheSameExpression() throws {
        let cases = [
            "a - (b - c)", "(a - b) - c", "a * (b + c)", "-(a + b) * c", "- -1", "-(-a)", "a - -5",
            "not (a and b) or c",
            "not a = b", "(a or b) and c", "a = b is null", "(a in (1, 2)) = true", "a + 1 not in (1, null, 'x')",
            "coalesce(a, b * 2, 0)", "case when a > 1 then 'big' when a is not null then 'it''s' else null end",
            "case a when 1 then 2 end", "\"Weird Name\" + \"select\"", "a = -9223372036854775808",
            "0.000000000000000000000000000000000001",
            "340000000000000000000000000000000000", "1e-10 * 3.4e30", "true and not false",
        ]
        for text in cases {
            let (e, _) = try Self.expr(text)
            let printed = sqlText(e, aliases: [])
            let (again, _) = try Self.expr(printed)
            #expect(again == e, "\(text) printed as \(printed)")
            let shown = displayText(e, aliases: [])
            #expect(try Self.expr(shown).0 == e, "\(text) shown as \(shown)")
        }
        // SQL for the source database keeps case with quotes; names and messages show it as written.
        let mixed = try Self.compile(
            "select o.ShipCountry, sum(d.UnitPrice * d.Quantity) from Details d join Orders o on o.OrderID = d.OrderID group by 1"
        ).kpis[0]
        #expect(mixed.groupNames == ["ShipCountry"] && mixed.aggregates[0].name == "sum(d.UnitPrice * d.Quantity)")
        #expect(sqlText(mixed.aggregates[0], aliases: mixed.aliases) == "sum(d.\"UnitPrice\" * d.\"Quantity\")")
        #expect(sqlText(mixed.groups[0], aliases: mixed.aliases, quote: "`") == "o.`ShipCountry`")
        #expect(displayText(mixed.groups[0], aliases: ["x", "Select"]) == "\"Select\".ShipCountry")
        #expect(try sqlText(Self.expr("a - (b - c)").0, aliases: []) == "a - (b - c)")
        #expect(try sqlText(Self.expr("((a)) * (b)").0, aliases: []) == "a * b")
        #expect(try sqlText(Self.expr("-(-a)").0, aliases: []) == "-(-a)")
        #expect(try sqlText(Self.expr("\"Order ID\" = 'o''k'").0, aliases: [], quote: "`") == "`Order ID` = 'o''k'")
    }

    @Test func groupByPositionsAliasesAndExpressions() throws {
        let k = try Self.compile("select x.a + 1 as a1, sum(x.b) from t x join u y on y.id = x.u group by a1").kpis[0]
        #expect(k.groupNames == ["a1"] && k.anchorSlots == [0, 2])
        let byAlias = try Self.compile("select status as s, count(*) from t group by s").kpis[0]
        #expect(
            byAlias.groups == [.column(ColumnRef(alias: 0, slot: 0), name: "status")] && byAlias.groupNames == ["s"])
        let byExpression = try Self.compile("select a + 1, sum(b) from t group by a + 1").kpis[0]
        #expect(byExpression.groupNames == ["a + 1"])
        // A key that is not selected still groups (and is named by its text).
        let hidden = try Self.compile("select sum(b) from t group by a").kpis[0]
        #expect(hidden.groups.count == 1 && hidden.groupNames == ["a"] && hidden.anchorSlots == [1])
    }

    @Test func tableOptionsAddKeyColumnsAndCatchTypos() throws {
        let m = try Self.compile(
            "select sum(amount) from payment",
            tables: [
                TableOptions(
                    name: "payment", topicPattern: "db\\.sakila\\.payment", keyColumns: ["payment_id", "amount"],
                    line: 3)
            ])
        #expect(m.tables[0].columns == ["amount", "payment_id"])
        #expect(
            m.tables[0].keyColumns == ["payment_id", "amount"] && m.tables[0].topicPattern == "db\\.sakila\\.payment")
        let typo = Self.failure("select sum(amount) from payment", tables: [TableOptions(name: "paymnet", line: 42)])
        #expect(typo?.line == 42)
        #expect(typo?.message.hasPrefix("tables.paymnet: no KPI reads a table named 'paymnet'") == true)
        let empty = Self.failure(
            "select sum(amount) from payment", tables: [TableOptions(name: "payment", keyColumns: [], line: 5)])
        #expect(empty?.line == 5 && empty?.message.contains("at least one column") == true)
    }

    @Test func tablesAreSharedAcrossKPIs() throws {
        let m = try KPIModel.compile(
            kpis: [
                KPISource(name: "transactions", sql: "select count(*) from orders", line: 1),
                KPISource(
                    name: "revenue", sql: "select sum(d.qty * d.price) from lines d join orders o on o.id = d.order_id",
                    line: 4, windowed: false),
                KPISource(name: "mine", sql: "select status, avg(total) from orders group by status", line: 8),
            ], tables: [], file: "p.toml")
        #expect(m.tables.map(\.name) == ["orders", "lines"])
        #expect(m.tables[0].columns == ["id", "status", "total"])
        #expect(m.kpis.map(\.fact) == [0, 1, 0])
        #expect(m.kpis[1].joins[0].table == 0 && !m.kpis[1].windowed)
        #expect(m.transactions == 0 && m.revenue == 1)
    }

    @Test func builtInShapes() {
        #expect(Self.failure("select count(*) from t", name: "transactions") == nil)
        #expect(Self.failure("select sum(a) from t", name: "transactions") == nil)
        #expect(Self.failure("select sum(a) from t", name: "revenue") == nil)
        #expect(Self.failure("select g, count(*) from t group by g", name: "category_sales") == nil)
        let bad: [(String, String, String)] = [
            (
                "transactions", "select avg(a) from t",
                "transactions tile needs an ungrouped query with exactly one aggregate"
            ),
            ("transactions", "select g, count(*) from t group by g", "transactions tile needs"),
            (
                "revenue", "select count(*) from t",
                "revenue tile needs an ungrouped query with exactly one aggregate, sum(e)"
            ),
            ("revenue", "select sum(a), sum(b) from t", "revenue tile needs"),
            ("category_sales", "select sum(a) from t", "exactly one group expression"),
            ("category_sales", "select g, h, sum(a) from t group by g, h", "exactly one group expression"),
            ("category_sales", "select g, avg(a) from t group by g", "sum(e) or count(*)"),
        ]
        for (name, sql, message) in bad {
            let e = Self.failure(sql, name: name)
            #expect(
                e?.message.hasPrefix("kpi.\(name): column 7: 'select' — ") == true,
                "\(name): \(e?.message ?? "accepted")")
            #expect(e?.message.contains(message) == true, "\(name): \(e?.message ?? "accepted")")
        }
    }

    // MARK: Refusals

    @Test func errorsNameTheFileLineColumnAndExcerpt() {
        let e = Self.failure("select sum(a / b) from t")
        #expect(e?.line == 10)
        #expect(
            e?.message.hasPrefix("kpi.k: column 20: '/' — division is not supported") == true, "\(e?.message ?? "")")
        #expect(e?.description.hasPrefix("p.toml:10: kpi.k:") == true)
        // On a later line of the SQL, the column is the SQL's own.
        let later = Self.failure("select count(*)\nfrom t\n  where max(a) > 1")
        #expect(later?.line == 12)
        #expect(
            later?.message.hasPrefix("kpi.k: column 9: 'max' — max() is not supported") == true,
            "\(later?.message ?? "")")
        let end = Self.failure("select count(*) from")
        #expect(
            end?.message.hasPrefix("kpi.k: column 27: end of query — unexpected end of query: expected a table name")
                == true, "\(end?.message ?? "")")
    }

    @Test func refusedConstructsSayWhy() {
        // (sql, text in the message, line of the construct within the SQL)
        let cases: [(String, String, Int)] = [
            ("select sum(a / b) from t", "division is not supported: it would need rounding", 0),
            ("select min(a) from t", "min() is not supported: it cannot be kept exact under deletes", 0),
            ("select g, max(a) from t group by g", "max() is not supported", 0),
            ("select distinct g, count(*) from t group by g", "'distinct' is not supported", 0),
            ("select count(distinct a) from t", "'distinct' is not supported", 0),
            ("select g, count(*) from t\ngroup by g\nhaving count(*) > 1", "'having' is not supported", 2),
            ("select g, count(*) from t group by g\norder by 2", "'order by' is not supported", 1),
            ("select count(*) from t\nlimit 10", "'limit' is not supported", 1),
            ("select count(*) from t union select count(*) from u", "'union' is not supported", 0),
            ("select count(*) from (select * from t) x", "subqueries are not supported", 0),
            ("select count(*) from t\nwhere a in (select b from u)", "subqueries are not supported", 1),
            ("select count(*) from t where exists (select 1 from u)", "subqueries are not supported", 0),
            ("select count(*) from t where a = (select 1)", "subqueries are not supported", 0),
            ("select sum(a) over () from t", "window functions ('over') are not supported", 0),
            ("select count(*) from t x\nright join u y on y.id = x.u", "right joins are not supported", 1),
            ("select count(*) from t x full outer join u y on y.id = x.u", "full joins are not supported", 0),
            ("select count(*) from t x cross join u y", "cross joins are not supported", 0),
            ("select count(*) from t x, u y", "comma joins (cross joins) are not supported", 0),
            ("select count(*) from t x join u y using (id)", "'join … using' is not supported", 0),
            ("select count(*) from t x join u y on y.id = x.u and y.k = 1", "a join condition must be one equality", 0),
            ("select count(*) from t x join u y on y.id > x.u", "a join condition must be one equality", 0),
            ("select count(*) from t x join u y on x.a = x.b", "does not read 'y'", 0),
            (
                "select count(*) from t x join u y on y.a = y.b",
                "compares 'y' with itself: a join may only reference aliases defined before it, which keeps the joins a tree (no cycles)",
                0
            ),
            (
                "select count(*) from t x\njoin u y on y.id = z.u\njoin v z on z.id = x.v",
                "references 'z', which is joined later: a join may only reference aliases defined before it", 1
            ),
            ("select count(*) from t x join u y on y.id = w.u", "unknown table alias 'w'", 0),
            ("select count(*) from t x join u y on id = x.u", "qualify 'id' with its table alias", 0),
            (
                "select sum(amount) from t x join u y on y.id = x.u where amount > 1",
                "qualify 'amount' with its table alias", 0
            ),
            ("select count(*) from t x join u x on x.id = x.u", "alias 'x' is already used", 0),
            ("select upper(a), count(*) from t group by 1", "unknown function 'upper'", 0),
            (
                "select sum(x.a * y.price) from t x join u y on y.id = x.u",
                "aggregates read the from table only ('x'): 'y.price' reads a joined table", 0
            ),
            ("select sum(count(*)) from t", "aggregates cannot be nested", 0),
            ("select sum(a) + sum(b) from t", "an aggregate must be a whole select item", 0),
            ("select count(*) from t group by sum(a)", "aggregates are not allowed in group by", 0),
            ("select count(*) from t where sum(a) > 1", "aggregates are not allowed in where", 0),
            ("select g, h, count(*) from t\ngroup by g", "'h' must appear in group by", 0),
            ("select g from t group by g", "a KPI needs at least one aggregate", 0),
            ("select count(*) from t group by 3", "group by position 3 is out of range", 0),
            ("select count(*) from t group by 1", "group by position 1 is an aggregate", 0),
            ("select count(*) from t group by 'x'", "group by a constant", 0),
            ("select * from t", "'select *' is not supported", 0),
            ("select count(*) from t where a between 1 and 2", "'between' is not supported", 0),
            ("select count(*) from t where a like 'x%'", "'like' is not supported", 0),
            ("select sum(a % 2) from t", "'%' (remainder) is not supported", 0),
            ("select count(*) from t where a < b < c", "comparisons do not chain", 0),
            ("select count(*) from t where a + 1", "'where' needs a condition", 0),
            ("select sum(a > 1) from t", "sum() needs a number", 0),
            ("select sum(a + 'x') from t", "'+' needs numbers", 0),
            ("select count(*) from t where a is true", "only 'is [not] null' is", 0),
            ("select count(*) from public.t", "without a schema", 0),
            ("select sum(a::numeric) from t", "casts are not supported", 0),
            ("select sum(a) filter (where b) from t", "'filter (where …)' is not supported", 0),
            ("with x as (select 1) select count(*) from x", "'with' (common table expressions) is not supported", 0),
            ("select count(*) from t where a = 123456789012345678901234567890123456789012", "number out of range", 0),
            ("select count(*) from t where a = 1e-39", "number out of range", 0),
            ("select count(*) from t; select 1", "unexpected text after the query", 0),
            ("select count(*) from t where a = 12abc", "malformed number", 0),
            ("select count(*) from t where a = #", "unexpected character", 0),
        ]
        for (sql, message, line) in cases {
            let e = Self.failure(sql)
            #expect(e?.message.contains(message) == true, "\(sql) → \(e?.message ?? "accepted")")
            #expect(e?.message.hasPrefix("kpi.k: column ") == true, "\(sql) → \(e?.message ?? "accepted")")
            #expect(e?.line == 10 + line, "\(sql) → line \(e?.line ?? -1)")
        }
    }

    // MARK: Hostile input

    @Test func hostileInputIsAnErrorNotACrash() {
        let long = String(repeating: "x", count: 10_000)
        let deep = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        var joins = "select count(*) from t a0"
        for i in 1...1000 { joins += " join t a\(i) on a\(i).id = a\(i - 1).x" }
        let cases: [(String, String)] = [
            ("", "expected 'select'"),
            ("   -- nothing\n", "expected 'select'"),
            ("select", "expected an expression"),
            ("select count(*) from t where a = 'open", "unterminated string literal"),
            ("select count(*) from t /* open", "unterminated /* comment"),
            ("select count(*) from \"open", "unterminated quoted identifier"),
            ("select count(*) from \"\"", "empty quoted identifier"),
            ("select count(*) from \(long)", "identifier longer than 128 characters"),
            ("select count(*) from t where \"\(long)\" = 1", "identifier longer than 128 characters"),
            ("select sum(\(deep)) from t", "nests more than 64 levels deep"),
            (
                "select count(*) from t where " + String(repeating: "not ", count: 10_000) + "a",
                "nests more than 64 levels deep"
            ),
            ("select sum(" + String(repeating: "- ", count: 10_000) + "a) from t", "nests more than 64 levels deep"),
            (
                "select sum(" + Array(repeating: "a", count: 10_000).joined(separator: " + ") + ") from t",
                "nests more than 256 levels deep"
            ),
            (
                "select count(*) from t where a in (" + Array(repeating: "(", count: 100).joined() + "1",
                "nests more than 64 levels deep"
            ),
            (joins, "more than 32 joins"),
            (String(repeating: "select ", count: 20_000), "longer than 65536 bytes"),
        ]
        for (sql, message) in cases {
            let e = Self.failure(sql)
            #expect(e?.message.contains(message) == true, "\(sql.prefix(60)) → \(e?.message.prefix(200) ?? "accepted")")
            #expect((e?.message.count ?? 0) < 400, "messages stay short")
        }
        // Within the limits, nesting works.
        let ok = String(repeating: "(", count: 60) + "a" + String(repeating: ")", count: 60)
        #expect(Self.failure("select sum(\(ok)) from t") == nil)
        let longSum = Array(repeating: "a", count: 250).joined(separator: " + ")
        #expect(throws: Never.self) { try Self.eval(longSum, ["a": .int(1)]) }
        #expect((try? Self.eval(longSum, ["a": .int(1)])) == Self.num("250"))
    }

    @Test func mutatedQueriesNeverCrash() {
        // Deterministic byte mutations of valid queries: any outcome but a crash is fine.
        let seeds = [
            Self.northwind,
            "select g, count(*), sum(case when a in (1, null) then coalesce(b, -1.5e3) end) from t where not a is null group by 1;",
        ]
        let alphabet = Array("()'\"`-*/+,.;=<>! \nabselctfromjinwhgupdy0123456789".utf8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var compiled = 0
        for i in 0..<3000 {
            var bytes = Array(seeds[i % seeds.count].utf8)
            for _ in 0..<(1 + next() % 4) {
                let at = next() % (bytes.count + 1)
                switch next() % 3 {
                case 0: bytes.insert(alphabet[next() % alphabet.count], at: at)
                case 1: if at < bytes.count { bytes.remove(at: at) }
                default: if at < bytes.count { bytes[at] = alphabet[next() % alphabet.count] }
                }
            }
            if (try? Self.compile(String(decoding: bytes, as: UTF8.self))) != nil { compiled += 1 }
        }
        #expect(compiled < 3000)
    }

    // MARK: Evaluator

    @Test func threeValuedLogic() throws {
        let values: [(String, Cell)] = [("true", .bool(true)), ("false", .bool(false)), ("null", .null)]
        func sql(_ c: Cell) -> Bool? {
            if case .bool(let b) = c { return b }
            return nil
        }
        func value(_ b: Bool?) -> EvalValue { b.map { .bool($0) } ?? .null }
        for (_, a) in values {
            #expect(try Self.eval("not a", ["a": a]) == value(sql(a).map { !$0 }))
            for (_, b) in values {
                let x = sql(a)
                let y = sql(b)
                let and: Bool? = x == false || y == false ? false : (x == nil || y == nil ? nil : true)
                let or: Bool? = x == true || y == true ? true : (x == nil || y == nil ? nil : false)
                #expect(try Self.eval("a and b", ["a": a, "b": b]) == value(and), "\(a) and \(b)")
                #expect(try Self.eval("a or b", ["a": a, "b": b]) == value(or), "\(a) or \(b)")
            }
        }
        #expect(try Self.eval("a = 1", ["a": .null]) == .null)
        #expect(try Self.eval("a + 1", ["a": .null]) == .null)
        #expect(try Self.eval("-a", ["a": .null]) == .null)
        #expect(try Self.eval("a is null", ["a": .null]) == .bool(true))
        #expect(try Self.eval("a is not null", ["a": .null]) == .bool(false))
        #expect(try Self.eval("1 in (2, null)") == .null)
        #expect(try Self.eval("1 in (1, null)") == .bool(true))
        #expect(try Self.eval("1 not in (2, null)") == .null)
        #expect(try Self.eval("1 not in (2, 3)") == .bool(true))
        #expect(try Self.eval("1 not in (1, 3)") == .bool(false))
        #expect(try Self.eval("a in (1)", ["a": .null]) == .null)
        #expect(
            ExprEvaluator.isTrue(.bool(true)) && !ExprEvaluator.isTrue(.null) && !ExprEvaluator.isTrue(.bool(false)))
        #expect(!ExprEvaluator.isTrue(.number(.zero)))
    }

    @Test func arithmeticIsExact() throws {
        #expect(try Self.eval("0.1 + 0.2") == Self.num("0.3"))
        #expect(try Self.eval("0.1 + 0.2 = 0.3") == .bool(true))
        #expect(try Self.eval("a + b = 0.3", ["a": Self.dec("0.1"), "b": .text("0.2")]) == .bool(true))
        #expect(try Self.eval("1e-10 * 3.4e30") == Self.num("340000000000000000000"))
        #expect(try Self.eval("a * b", ["a": Self.dec("1e-10"), "b": Self.dec("3.4e30")]) == Self.num("3.4e20"))
        #expect(try Self.eval("a - 1e-10", ["a": .int(1)]) == Self.num("0.9999999999"))
        let row: [String: Cell] = ["unit_price": Self.dec("14.4"), "quantity": .int(20), "discount": Self.dec("0.15")]
        #expect(try Self.eval("unit_price * quantity * (1 - discount)", row) == Self.num("244.8"))
        let asText: [String: Cell] = ["unit_price": .text("14.40"), "quantity": .text("20"), "discount": .text("0.15")]
        #expect(try Self.eval("unit_price * quantity * (1 - discount)", asText) == Self.num("244.8"))
        #expect(try Self.eval("-a", ["a": .int(.min)]) == Self.num("9223372036854775808"))
        #expect(try Self.eval("a * a", ["a": .int(.max)]) == Self.num("85070591730234615847396907784232501249"))
    }

    @Test func overflowIsAnErrorNamingTheExpressionAndValues() throws {
        let row: [String: Cell] = ["quantity": .int(.max), "unit_price": Self.dec("3.4e30")]
        #expect(
            Self.evalError("quantity * unit_price", row)
                == "quantity * unit_price overflows: 9223372036854775807 × 3.4e30")
        #expect(Self.evalError("a + a", ["a": Self.dec("1e38")]) == "a + a overflows: 1e38 + 1e38")
        #expect(
            Self.evalError("a * a", ["a": Self.dec("1e-20")])
                == "a * a needs more than 38 decimal places: 1e-20 × 1e-20")
        #expect(try Self.eval("a * b", ["a": Self.dec("2e-19"), "b": Self.dec("5e-20")]) == Self.num("1e-38"))
        #expect(
            Self.evalError("a - b", ["a": Self.dec("-1e38"), "b": Self.dec("1e38")])?.hasPrefix("a - b overflows")
                == true)
    }

    @Test func comparisons() throws {
        #expect(try Self.eval("price > 10", ["price": .text("10.50")]) == .bool(true))
        #expect(try Self.eval("price = 10.5", ["price": .text("10.50")]) == .bool(true))
        #expect(try Self.eval("price * 2", ["price": .text("10.50")]) == Self.num("21"))
        #expect(try Self.eval("a = '5'", ["a": .int(5)]) == .bool(true))
        #expect(
            Self.evalError("name = 5", ["name": .text("abc")])
                == "name = 5: cannot compare the text 'abc' with the number 5")
        #expect(Self.evalError("name + 1", ["name": .text("abc")]) == "name + 1: 'abc' is not a number")
        #expect(
            Self.evalError("flag = 'x'", ["flag": .bool(true)]) == "flag = 'x': cannot compare true with the text 'x'")
        #expect(try Self.eval("flag = 1", ["flag": .bool(true)]) == .bool(true))  // MySQL's BIT(1) / tinyint booleans
        #expect(try Self.eval("flag in (0, 2)", ["flag": .bool(false)]) == .bool(true))
        #expect(Self.evalError("a and true", ["a": .int(1)])?.contains("is not true, false or null") == true)
        #expect(try Self.eval("'Z' < 'a'") == .bool(true))
        #expect(try Self.eval("'é' = a", ["a": .text("e\u{301}")]) == .bool(false))  // bytes, not canonical equivalence
        #expect(try Self.eval("'b' > 'abc'") == .bool(true))
        #expect(try Self.eval("false < true") == .bool(true))
        #expect(try Self.eval("a = b", ["a": Self.dec("1.50"), "b": .int(1)]) == .bool(false))
        #expect(try Self.eval("a >= b", ["a": Self.dec("1.5"), "b": Self.dec("1.50")]) == .bool(true))
        #expect(try Self.eval("a <> 'x'", ["a": .text("y")]) == .bool(true))
        #expect(try Self.eval("a in ('x', 'y')", ["a": .text("y")]) == .bool(true))
    }

    @Test func missingAndUnavailableColumnsAreErrors() {
        #expect(Self.evalError("quantity + 1") == "column quantity is not in the row image")
        #expect(
            Self.evalError("note is null", ["note": .unavailable])
                == "column note is unavailable (unchanged TOASTed value)")
    }

    @Test func caseAndCoalesceAreLazy() throws {
        let row: [String: Cell] = ["big": Self.dec("3.4e30"), "ok": .bool(true), "n": .null]
        #expect(try Self.eval("case when ok then 1 else big * big end", row) == Self.num("1"))
        #expect(
            Self.evalError("case when not ok then 1 else big * big end", row)?.hasPrefix("big * big overflows") == true)
        #expect(try Self.eval("case when n then big * big when ok then 2 end", row) == Self.num("2"))
        #expect(try Self.eval("case when false then 1 end", row) == .null)
        #expect(try Self.eval("case big when 1 then 'one' else 'other' end", row) == .text("other"))
        #expect(try Self.eval("coalesce(n, 7, big * big)", row) == Self.num("7"))
        #expect(try Self.eval("coalesce(n, n)", row) == .null)
        #expect(try Self.eval("false and big * big > 0", row) == .bool(false))
        #expect(try Self.eval("true or big * big > 0", row) == .bool(true))
        #expect(try Self.eval("case when ok then 1 else missing_column end", row) == Self.num("1"))
    }

    @Test func conditionsHoldOnlyWhenTrue() throws {
        let (e, columns) = try Self.expr("a")
        func holds(_ c: Cell) throws -> Bool { try ExprEvaluator.holds(e) { columns[$0.slot] == "a" ? c : .missing } }
        #expect(try holds(.bool(true)) && !holds(.bool(false)) && !holds(.null))
        #expect(throws: EvalError.self) { try holds(.int(1)) }
    }

    @Test func numbersForAggregates() throws {
        let (e, columns) = try Self.expr("amount")
        let row: [String: Cell] = ["amount": .text("12.50")]
        #expect(try ExprEvaluator.evaluateNumber(e) { row[columns[$0.slot]] ?? .missing } == ExactDecimal.parse("12.5"))
        #expect(try ExprEvaluator.evaluateNumber(e) { _ in .null } == nil)
        #expect(throws: EvalError.self) { try ExprEvaluator.evaluateNumber(e) { _ in .text("n/a") } }
    }
}
