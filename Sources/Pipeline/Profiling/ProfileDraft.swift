import Foundation
import Metrics

/// A starting profile guessed from a sample (`cdctop profile init`): roles of the tables, the
/// built-in KPIs it can write, and TOML with comments saying what was seen and why each choice.
package struct ProfileDraft: Sendable {
    /// `from.column` references `to`'s single-column key.
    package struct Link: Sendable, Hashable {
        package var from: String, column: String, to: String, toKey: String
        /// The column was null in some sampled rows: a left join keeps those rows.
        package var nullable: Bool
    }

    package var observation: SampleObservation
    package var links: [Link] = []
    /// The guesses, for the report and tests.
    package var factTable: String?
    package var headerTable: String?
    package var revenueSQL: String?
    package var transactionsSQL: String?
    package var categorySQL: String?
    /// Tables the category query joins.
    package var categoryTables: [String] = []
    package var suggestions: [String] = []

    package init(_ observation: SampleObservation) {
        self.observation = observation
        links = ProfileDraft.findLinks(observation)
        guess()
    }

    // MARK: guessing

    static func singleKey(_ t: TableObservation) -> String? {
        t.keyColumns.count == 1 && t.keyColumns[0] != "(scalar key)" ? t.keyColumns[0] : nil
    }

    static func singular(_ name: String) -> String {
        if name.hasSuffix("ies") { return String(name.dropLast(3)) + "y" }
        if name.hasSuffix("sses") { return String(name.dropLast(2)) }
        if name.hasSuffix("s") && !name.hasSuffix("ss") { return String(name.dropLast()) }
        return name
    }

    /// `<name>_id` columns (or any column) spelled like another table's single-column key; an `id`
    /// key matches `<table>_id` / `<singular>_id`.
    static func findLinks(_ o: SampleObservation) -> [Link] {
        var out: [Link] = []
        for a in o.tables where a.changeEvents > 0 {
            for c in a.columns where c.present > 0 {
                if let own = singleKey(a), own == c.name { continue }
                for b in o.tables where b.name != a.name {
                    guard let k = singleKey(b) else { continue }
                    let lower = c.name.lowercased()
                    let bl = b.name.lowercased()
                    let match =
                        (c.name == k && k.lowercased() != "id")
                        || (k.lowercased() == "id" && (lower == "\(bl)_id" || lower == "\(singular(bl))_id"))
                    if match {
                        out.append(Link(from: a.name, column: c.name, to: b.name, toKey: k, nullable: c.nulls > 0))
                        break
                    }
                }
            }
        }
        return out
    }

    static func numeric(_ c: ColumnObservation) -> Bool {
        if c.isNumeric { return true }
        if let t = c.connectType,
            t.hasPrefix("decimal") || t.hasPrefix("int") || t.hasPrefix("float") || t == "variable-scale decimal"
        {
            return c.nonNumericValues == 0
        }
        return false
    }
    static func isPrice(_ c: ColumnObservation) -> Bool { numeric(c) && c.name.lowercased().contains("price") }
    static func isQuantity(_ c: ColumnObservation) -> Bool {
        let n = c.name.lowercased()
        return numeric(c) && (n.contains("quantity") || n == "qty" || n.hasSuffix("_qty") || n.hasPrefix("qty_"))
    }
    static func isAmount(_ c: ColumnObservation) -> Bool {
        let n = c.name.lowercased()
        return numeric(c) && !n.hasSuffix("_id")
            && (n.contains("amount") || n == "total" || n.hasSuffix("_total") || n.hasPrefix("total_")
                || n.contains("revenue") || n.contains("subtotal"))
    }
    static func isDiscount(_ c: ColumnObservation) -> Bool {
        numeric(c) && c.name.lowercased().contains("discount") && c.maxMagnitude <= 1
    }

    private mutating func guess() {
        let o = observation
        // A line table: a price and a quantity (a composite key or a link to a header makes it likelier).
        let lines = o.tables.filter { t in
            t.columns.contains(where: ProfileDraft.isPrice) && t.columns.contains(where: ProfileDraft.isQuantity)
        }
        .sorted {
            ($0.keyColumns.count > 1 ? 1 : 0, $0.changeEvents) > ($1.keyColumns.count > 1 ? 1 : 0, $1.changeEvents)
        }
        let amounts = o.tables.filter { t in t.columns.contains(where: ProfileDraft.isAmount) }.sorted {
            $0.changeEvents > $1.changeEvents
        }
        if let line = lines.first {
            factTable = line.name
            let a = alias(line.name, taken: [])
            let price = line.columns.first(where: ProfileDraft.isPrice)!.name
            let qty = line.columns.first(where: ProfileDraft.isQuantity)!.name
            var measure = "\(a).\(ident(price)) * \(a).\(ident(qty))"
            if let d = line.columns.first(where: ProfileDraft.isDiscount) {
                measure += " * (1 - \(a).\(ident(d.name)))"
            }
            revenueSQL = "select sum(\(measure)) from \(ident(line.name)) \(a)"
            // The header: the table a key column of the line points to (order_details.order_id → orders).
            let outgoing = links.filter { $0.from == line.name }
            func headerScore(_ l: Link) -> Int {
                guard let t = o.table(l.to) else { return -99 }
                let n = t.name.lowercased()
                var score = line.keyColumns.contains(l.column) ? 1 : 0
                if [
                    "order", "transaction", "invoice", "sale", "receipt", "rental", "purchase", "basket", "cart",
                    "booking",
                ].contains(where: n.contains) {
                    score += 3
                }
                if t.columns.contains(where: ProfileDraft.isAmount) { score += 2 }
                if t.columns.contains(where: { c in
                    c.connectType.map { $0.hasPrefix("date") || $0.hasPrefix("timestamp") } ?? false
                        || c.name.lowercased().contains("date") || c.name.lowercased().hasSuffix("_at")
                }) {
                    score += 1
                }
                if t.columns.contains(where: ProfileDraft.isPrice) { score -= 2 }
                return score
            }
            if let h = outgoing.max(by: { headerScore($0) < headerScore($1) }), headerScore(h) > 0 {
                headerTable = h.to
            } else if let other = amounts.first(where: { $0.name != line.name }) {
                headerTable = other.name
            }
            (categorySQL, categoryTables) = categoryQuery(fact: line, measure: measure, alias: a) ?? (nil, [])
        } else if let sale = amounts.first {
            factTable = sale.name
            headerTable = sale.name
            let a = alias(sale.name, taken: [])
            let amount = sale.columns.first(where: ProfileDraft.isAmount)!.name
            revenueSQL = "select sum(\(a).\(ident(amount))) from \(ident(sale.name)) \(a)"
            (categorySQL, categoryTables) =
                categoryQuery(fact: sale, measure: "\(a).\(ident(amount))", alias: a) ?? (nil, [])
        }
        if let h = headerTable { transactionsSQL = "select count(*) from \(ident(h))" }
        if revenueSQL == nil {
            suggestions.append(
                "no table has an amount/total column, or a price and a quantity: write [kpi.revenue] by hand")
        }
        if categorySQL == nil && revenueSQL != nil {
            suggestions.append(
                "no category-like name was found on a table the fact reaches through <name>_id columns: write [kpi.category_sales] by hand"
            )
        }
    }

    /// Group by a low-cardinality name reached from the fact through many-to-one links (≤ 3 hops).
    private func categoryQuery(fact: TableObservation, measure: String, alias a: String) -> (String?, [String])? {
        struct Path {
            var table: String
            var steps: [Link]
        }
        var best: (score: Int, path: Path, column: String)? = nil
        var queue = [Path(table: fact.name, steps: [])]
        var seen: Set<String> = [fact.name]
        while !queue.isEmpty {
            let p = queue.removeFirst()
            guard let t = observation.table(p.table) else { continue }
            for c in t.columns where c.isText && !ProfileDraft.numeric(c) {
                guard let d = c.distinctText, !d.isEmpty else { continue }
                let tn = t.name.lowercased()
                let cn = c.name.lowercased()
                var score = 0
                if tn.contains("categor") { score += 3 }
                if ["genre", "type", "group", "class", "department", "segment", "brand"].contains(where: tn.contains) {
                    score += 2
                }
                if cn.contains("category") || cn.contains("categorie") { score += 3 }
                if cn.contains("name") { score += 2 }
                if ["title", "genre", "type", "segment", "brand", "department", "class"].contains(where: cn.contains) {
                    score += 1
                }
                if p.steps.isEmpty && !cn.contains("categor") { score -= 2 }
                if p.steps.contains(where: { $0.to == headerTable }) { score -= 3 }
                if score >= 3, best == nil || score > best!.score { best = (score, p, c.name) }
            }
            guard p.steps.count < 3 else { continue }
            for l in links where l.from == p.table && !seen.contains(l.to) {
                seen.insert(l.to)
                queue.append(Path(table: l.to, steps: p.steps + [l]))
            }
        }
        guard let best else { return nil }
        var aliases = [fact.name: a]
        var taken: Set<String> = [a]
        var joins: [String] = []
        for step in best.path.steps {
            let x = alias(step.to, taken: taken)
            taken.insert(x)
            aliases[step.to] = x
            joins.append(
                "\(step.nullable ? "left join" : "join") \(ident(step.to)) \(x) on \(x).\(ident(step.toKey)) = \(aliases[step.from]!).\(ident(step.column))"
            )
        }
        let g = "\(aliases[best.path.table]!).\(ident(best.column))"
        return (
            (["select \(g), sum(\(measure))", "from \(ident(fact.name)) \(a)"] + joins + ["group by \(g)"]).joined(
                separator: "\n"),
            best.path.steps.map(\.to)
        )
    }

    private func alias(_ table: String, taken: Set<String>) -> String {
        // Initials of the name's words: order_details → od, orders → o.
        let words = table.lowercased().split(whereSeparator: { !($0.isLetter && $0.isASCII) })
        var base = String(words.compactMap(\.first).prefix(3))
        if base.isEmpty { base = "t" }
        if ProfileDraft.keywords.contains(base) { base += "1" }
        var candidate = base
        var n = 2
        while taken.contains(candidate) || ProfileDraft.keywords.contains(candidate) {
            candidate = base + String(n)
            n += 1
        }
        return candidate
    }

    static let keywords: Set<String> = [
        "select", "from", "join", "left", "inner", "outer", "right", "full", "cross", "on", "where", "group",
        "by", "and", "or", "not", "is", "null", "in", "case", "when", "then", "else", "end", "as", "count",
        "sum", "avg", "coalesce", "true", "false", "order", "having", "distinct", "limit", "min", "max",
        "between", "like", "union", "all", "any", "some", "exists", "asc", "desc", "windows",
    ]

    /// A SQL identifier as the profile must write it: quoted unless plain lower-case letters, digits and _.
    package func ident(_ name: String) -> String { ProfileDraft.ident(name) }
    package static func ident(_ name: String) -> String {
        let plain =
            !name.isEmpty && name.first.map { $0 == "_" || ($0.isASCII && $0.isLowercase) } == true
            && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) }
            && !keywords.contains(name)
        return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: TOML

    /// The profile text. `name` is the profile's name; `source` says where the sample came from.
    package func toml(name: String, source: String, perTopic: Int) -> String {
        let o = observation
        var out: [String] = []
        func c(_ line: String = "") { out.append(line.isEmpty ? "#" : "# " + line) }
        c("cdctop KPI profile drafted by `cdctop profile init` from \(o.messages) messages of \(source)")
        c("(at most \(perTopic) per topic, from the earliest offset). Review every choice, then run")
        c("  cdctop profile check THIS_FILE …   (the same --brokers/--topics or --recording)")
        c("before `cdctop watch … --profile THIS_FILE`. The SQL subset is described in profiles/northwind.toml.")
        out.append("")
        out.append("name = \(ProfileDraft.quoteTOML(name))")
        out.append("uncategorized = \"(none)\"")
        out.append("")
        c("--- What the sample showed, table by table ------------------------------------------------")
        for t in o.tables {
            c()
            var head = "\(t.name): \(t.messages) messages on \(t.topics.joined(separator: ", "))"
            if t.unwrapped { head += " (unwrapped rows: ExtractNewRecordState)" }
            c(head)
            if t.keyColumns.isEmpty {
                c(
                    "  NO record key\(t.withoutKey > 0 ? " (\(t.withoutKey) messages)" : ""): cdctop cannot tell its rows apart. Give the table a primary key,"
                )
                c("  set Debezium's message.key.columns, or name key columns: [tables.\(t.name)] key = [\"…\"]")
            } else {
                let kind = t.keyColumns.count > 1 ? "composite key" : "key"
                c(
                    "  \(kind) (\(t.keyColumns.joined(separator: ", "))) from the record key\(t.withoutKey > 0 ? "; \(t.withoutKey) messages had none" : "")"
                )
            }
            c(
                "  ops: \(t.opSummary.isEmpty ? "none" : t.opSummary)\(t.tombstones > 0 ? "; tombstones \(t.tombstones)" : "")\(t.hasSchema ? "; messages carry a schema" : "; no schema in messages")"
            )
            if t.deletesKeyOnly > 0 || t.deletesNoBefore > 0 {
                c("  deletes carry only the key — REPLICA IDENTITY DEFAULT: cdctop remembers rows, fine")
            } else if t.deletesFull > 0 {
                c("  deletes carry full before images (REPLICA IDENTITY FULL or MySQL): fine")
            } else {
                c("  no delete in the sample")
            }
            for col in t.columns {
                var parts = [col.typeSummary]
                let rowCount = max(t.images, 1)
                if col.nulls > 0 { parts.append("null in \(percent(col.nulls, rowCount))") }
                if col.present < t.images { parts.append("absent from \(t.images - col.present) of \(t.images) rows") }
                if col.unavailable > 0 { parts.append("\(col.unavailable) unavailable (TOASTed) values") }
                if col.isText, let d = col.distinctSummary { parts.append(d) }
                if !col.examples.isEmpty { parts.append("e.g. " + col.examples.joined(separator: ", ")) }
                var role = ""
                if t.keyColumns.contains(col.name) { role = " [key]" }
                if let l = links.first(where: { $0.from == t.name && $0.column == col.name }) {
                    role += " [→ \(l.to).\(l.toKey)]"
                }
                c("    \(col.name)\(role): \(parts.joined(separator: "; "))")
            }
        }
        c()
        c("--- Roles cdctop guessed ------------------------------------------------------------------")
        if let f = factTable { c("fact (one row, one contribution): \(f)") }
        if let h = headerTable, h != factTable { c("transactions are rows of: \(h)") }
        for l in links {
            c(
                "lookup: \(l.from).\(l.column) → \(l.to) (its key \(l.toKey))\(l.nullable ? "; null in some rows, so a left join" : "")"
            )
        }
        if links.isEmpty { c("no <name>_id column matches another table's single-column key: no lookups guessed") }
        for s in suggestions { c(s) }
        out.append("")

        // [tables.X]: only for tables a KPI reads (the loader refuses others).
        let used = usedTables()
        for t in o.tables where used.contains(t.name) {
            let lastParts = Set(t.topics.map(DebeziumTopicName.table(of:)))
            let needsTopics = lastParts != [t.name]
            if t.keyColumns.isEmpty || needsTopics {
                out.append("[tables.\(t.name)]")
                if t.keyColumns.isEmpty {
                    c("No record key was seen: name the columns that identify a row (uncomment and edit):")
                    out.append("# key = [\"id\"]")
                }
                if needsTopics {
                    c("Its topics' names do not end in .\(t.name): map them explicitly.")
                    let pattern =
                        "^(" + t.topics.map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "|")
                        + ")$"
                    out.append("topics = \(ProfileDraft.quoteTOML(pattern))")
                }
                out.append("")
            }
        }

        c("--- The built-in tiles: transactions, revenue, category sales ------------------------------")
        out.append("")
        var wroteKPI = false
        if let sql = transactionsSQL {
            out.append("[kpi.transactions]")
            c(
                "one transaction per row of \(headerTable!)\(headerTable == factTable ? "" : " (the table the lines' key points to)")"
            )
            out.append("sql = \(ProfileDraft.quoteTOML(sql))")
            out.append("")
            wroteKPI = true
        } else {
            c("[kpi.transactions]")
            c("sql = \"select count(*) from orders\"      # the table with one row per transaction")
            out.append("")
        }
        if let sql = revenueSQL {
            out.append("[kpi.revenue]")
            c("revenue: the sum over \(factTable!) (price × quantity, less a 0..1 discount when there is one)")
            out.append("sql = \(ProfileDraft.quoteTOML(sql))")
            out.append("")
            wroteKPI = true
        } else {
            c("[kpi.revenue]")
            c("sql = \"select sum(amount) from orders\"")
            out.append("")
        }
        if let sql = categorySQL {
            out.append("[kpi.category_sales]")
            c("revenue per category: the most category-like name the fact reaches through its lookups")
            out.append("sql = \(ProfileDraft.quoteTOML(sql, multiline: true))")
            out.append("")
            wroteKPI = true
        } else {
            c("[kpi.category_sales]")
            c("sql = \"\"\"")
            c("select c.category_name, sum(l.price * l.quantity)")
            c(
                "from order_lines l join products p on p.product_id = l.product_id join categories c on c.category_id = p.category_id"
            )
            c("group by c.category_name")
            c("\"\"\"")
            out.append("")
        }
        if !wroteKPI {
            // A profile needs at least one KPI to load: count the rows of the busiest table.
            if let t = o.tables.filter({ $0.changeEvents > 0 }).max(by: { $0.changeEvents < $1.changeEvents }) {
                c("Nothing looked like a sale: a starting KPI that counts the rows of the busiest table. Replace it.")
                out.append("[kpi.rows_\(t.name.filter { $0.isLetter || $0.isNumber || $0 == "_" })]")
                out.append("windows = false")
                out.append("sql = \(ProfileDraft.quoteTOML("select count(*) from \(ident(t.name))"))")
                out.append("")
            }
        }
        c("--- KPIs of your own (examples; uncomment and edit) ----------------------------------------")
        let lookups = Set(links.map(\.to))
        var suggested = 0
        for t in o.tables where t.changeEvents > 0 && (!lookups.contains(t.name) || t.name == headerTable) {
            let candidates = t.columns.filter {
                $0.isText && ($0.distinctText?.count ?? 0) > 1 && !t.keyColumns.contains($0.name)
            }
            if let g = candidates.min(by: { ($0.distinctText?.count ?? 0) < ($1.distinctText?.count ?? 0) }) {
                if suggested > 0 { c() }
                c(
                    "[kpi.\(t.name.filter { $0.isLetter || $0.isNumber || $0 == "_" })_by_\(g.name.filter { $0.isLetter || $0.isNumber || $0 == "_" })]"
                )
                c("windows = false")
                c(
                    "sql = "
                        + ProfileDraft.quoteTOML(
                            "select \(ident(g.name)), count(*) from \(ident(t.name)) group by \(ident(g.name))"))
                suggested += 1
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Tables the written KPIs read.
    func usedTables() -> Set<String> {
        var s: Set<String> = []
        if let f = factTable, revenueSQL != nil { s.insert(f) }
        if let h = headerTable, transactionsSQL != nil { s.insert(h) }
        if categorySQL != nil { s.formUnion(categoryTables) }
        if s.isEmpty,
            let t = observation.tables.filter({ $0.changeEvents > 0 }).max(by: { $0.changeEvents < $1.changeEvents })
        {
            s.insert(t.name)
        }
        return s
    }

    private func percent(_ n: Int, _ of: Int) -> String {
        let p = 100.0 * Double(n) / Double(max(of, 1))
        return p >= 99.95
            ? "every row" : p < 1 ? String(format: "%.1f%% of rows", p) : String(format: "%.0f%% of rows", p)
    }

    static func quoteTOML(_ s: String, multiline: Bool = false) -> String {
        let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        if multiline { return "\"\"\"\n" + escaped + "\n\"\"\"" }
        return "\"" + escaped.replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
