/// Compiles the profile's KPI queries into a `KPIModel`: resolves aliases and columns to slots,
/// checks the joins form a tree hanging from the fact, splits `where` into the part each fact row
/// decides and the part that needs its joins, and checks the built-in KPIs' shapes.

/// One `[kpi.NAME]` of a profile.
package struct KPISource: Sendable {
    package var name: String
    package var sql: String
    /// Where the SQL text starts in the profile file (1-based), for messages.
    package var line: Int
    package var column: Int
    /// False for `windows = false`: totals only.
    package var windowed: Bool
    package init(name: String, sql: String, line: Int, column: Int = 1, windowed: Bool = true) {
        self.name = name
        self.sql = sql
        self.line = line
        self.column = column
        self.windowed = windowed
    }
}

/// One `[tables.NAME]` of a profile.
package struct TableOptions: Sendable {
    package var name: String
    package var topicPattern: String?
    package var keyColumns: [String]?
    /// Line of the section in the profile file, for messages.
    package var line: Int
    package init(name: String, topicPattern: String? = nil, keyColumns: [String]? = nil, line: Int = 0) {
        self.name = name
        self.topicPattern = topicPattern
        self.keyColumns = keyColumns
        self.line = line
    }
}

extension KPIModel {
    /// Compiles the KPIs; throws `ConfigFileError` naming the profile line, the column and the construct.
    package static func compile(kpis: [KPISource], tables: [TableOptions], file: String) throws -> KPIModel {
        var builder = ModelBuilder()
        var seen: Set<String> = []
        for source in kpis {
            guard seen.insert(source.name).inserted else {
                throw ConfigFileError(file: file, line: source.line, message: "kpi.\(source.name): defined twice")
            }
            let text = Array(source.sql.utf8)
            do throws(QueryError) {
                var parser = try QueryParser(text: text)
                let syntax = try parser.parseQuery()
                var compiler = KPICompiler(source: source, text: text, builder: builder)
                let kpi = try compiler.compile(syntax)
                builder = compiler.builder
                builder.kpis.append(kpi)
            } catch {
                throw configError(error, source: source, text: text, file: file)
            }
        }
        var optionsSeen: Set<String> = []
        for options in tables {
            let prefix = "tables.\(options.name): "
            guard optionsSeen.insert(options.name).inserted else {
                throw ConfigFileError(file: file, line: options.line, message: prefix + "defined twice")
            }
            guard let index = builder.tableIndex[options.name] else {
                let known = builder.tables.map(\.name).joined(separator: ", ")
                throw ConfigFileError(
                    file: file, line: options.line,
                    message: prefix
                        + "no KPI reads a table named '\(options.name)' (a typo? the KPIs read: \(known.isEmpty ? "nothing" : known))"
                )
            }
            if let keys = options.keyColumns {
                guard !keys.isEmpty else {
                    throw ConfigFileError(
                        file: file, line: options.line,
                        message: prefix + "key must name at least one column (or leave it out to use the record key)")
                }
                if let empty = keys.firstIndex(where: \.isEmpty) {
                    throw ConfigFileError(
                        file: file, line: options.line, message: prefix + "key column \(empty + 1) is empty")
                }
                var seenKeys: Set<String> = []
                for key in keys where !seenKeys.insert(key).inserted {
                    throw ConfigFileError(
                        file: file, line: options.line, message: prefix + "key column '\(key)' is listed twice")
                }
                for key in keys { _ = builder.slot(table: index, column: key) }
            }
            builder.tables[index].topicPattern = options.topicPattern
            builder.tables[index].keyColumns = options.keyColumns
        }
        return KPIModel(tables: builder.tables, kpis: builder.kpis)
    }

    /// A query error as a profile error: the file line of the token, its column, an excerpt.
    static func configError(_ error: QueryError, source: KPISource, text: [UInt8], file: String) -> ConfigFileError {
        let offset = min(error.start, text.count)
        var lineIndex = 0
        var lineStart = 0
        for i in 0..<offset where text[i] == 10 {
            lineIndex += 1
            lineStart = i + 1
        }
        var column = 1
        for i in lineStart..<offset where text[i] & 0xC0 != 0x80 { column += 1 }
        if lineIndex == 0 { column += source.column - 1 }
        let excerpt =
            error.atEnd || error.start >= text.count
            ? "end of query" : "'" + excerptText(text, error.start, error.end) + "'"
        return ConfigFileError(
            file: file, line: source.line + lineIndex,
            message: "kpi.\(source.name): column \(column): \(excerpt) — \(error.message)")
    }

    /// The text of a range on one line, spaces collapsed, cut at 40 characters.
    static func excerptText(_ text: [UInt8], _ start: Int, _ end: Int) -> String {
        var bytes: [UInt8] = []
        var chars = 0
        var lastSpace = false
        var i = start
        while i < min(end, text.count) {
            let b = text[i]
            let space = b == 10 || b == 13 || b == 9 || b == 32
            if space {
                if !lastSpace { bytes.append(32) }
                lastSpace = true
            } else {
                lastSpace = false
                if b & 0xC0 != 0x80 {
                    if chars == 40 {
                        bytes.append(contentsOf: Array("…".utf8))
                        break
                    }
                    chars += 1
                }
                bytes.append(b)
            }
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Tables and their referenced columns, grown as KPIs compile.
struct ModelBuilder {
    var tables: [ModelTable] = []
    var tableIndex: [String: Int] = [:]
    var kpis: [CompiledKPI] = []

    mutating func table(_ name: String) -> Int {
        if let i = tableIndex[name] { return i }
        tables.append(ModelTable(name: name))
        tableIndex[name] = tables.count - 1
        return tables.count - 1
    }

    mutating func slot(table: Int, column: String) -> Int {
        if let s = tables[table].slot(of: column) { return s }
        tables[table].columns.append(column)
        return tables[table].columns.count - 1
    }
}

/// What an expression is known to produce before any row is seen (columns are unknown).
private enum StaticType { case number, text, bool, null, unknown }

private struct KPICompiler {
    let source: KPISource
    let text: [UInt8]
    var builder: ModelBuilder
    var aliases: [String] = []
    var aliasTables: [Int] = []

    init(source: KPISource, text: [UInt8], builder: ModelBuilder) {
        self.source = source
        self.text = text
        self.builder = builder
    }

    private func error(_ message: String, _ e: SyntaxExpr) -> QueryError {
        QueryError(message, start: e.start, end: e.end)
    }
    private func error(_ message: String, _ n: QueryName) -> QueryError {
        QueryError(message, start: n.start, end: n.end)
    }

    /// Where an expression sits, for the message when it holds an aggregate.
    private enum Place {
        case select, aggregateArgument, filter, groupBy, joinCondition
        var aggregateMessage: String {
            switch self {
            case .select:
                "an aggregate must be a whole select item: 'sum(a) + sum(b)' is not supported, write 'sum(a + b)'"
            case .aggregateArgument: "aggregates cannot be nested"
            case .filter: "aggregates are not allowed in where ('having' is not supported)"
            case .groupBy: "aggregates are not allowed in group by"
            case .joinCondition: "aggregates are not allowed in a join condition"
            }
        }
    }

    mutating func compile(_ q: QuerySyntax) throws(QueryError) -> CompiledKPI {
        // Aliases first: a join condition's message can then tell a later alias from an unknown one.
        let fact = builder.table(q.from.table.text)
        aliases = [q.from.aliasName.text]
        aliasTables = [fact]
        for join in q.joins {
            let alias = join.table.aliasName
            if aliases.contains(alias.text) {
                throw error(
                    "alias '\(alias.text)' is already used in this query: give each joined table its own alias", alias)
            }
            aliases.append(alias.text)
            aliasTables.append(builder.table(join.table.table.text))
        }

        // Select items, in order: aggregates and the non-aggregated expressions group by must list.
        var aggregates: [Aggregate] = []
        var selectGroups: [(expr: Expr, syntax: SyntaxExpr, alias: QueryName?)] = []
        var boundItems: [Expr?] = []  // nil for aggregates: group by positions refer to these
        for item in q.items {
            if case .aggregate(let kind, let argumentSyntax) = item.expr.kind {
                var argument: Expr?
                if let argumentSyntax {
                    let bound = try bind(argumentSyntax, .aggregateArgument)
                    if let other = firstJoinedColumn(argumentSyntax) {
                        throw error(
                            "aggregates read the from table only ('\(aliases[0])'): '\(other.text)' reads a joined table (measures read the fact; joined tables can group and filter)",
                            other)
                    }
                    if kind != .count {
                        let t = staticType(bound)
                        if t == .bool || t == .text {
                            throw error(
                                "\(kind.rawValue)() needs a number: \(quoteExcerpt(argumentSyntax)) is \(t == .bool ? "a condition" : "text")",
                                argumentSyntax)
                        }
                    }
                    argument = bound
                }
                var aggregate = Aggregate(kind: kind, argument: argument, name: "")
                aggregate.name = item.alias?.text ?? displayText(aggregate, aliases: aliases)
                aggregates.append(aggregate)
                boundItems.append(nil)
            } else {
                let bound = try bind(item.expr, .select)
                selectGroups.append((bound, item.expr, item.alias))
                boundItems.append(bound)
            }
        }

        var joins: [JoinStep] = []
        for (i, join) in q.joins.enumerated() {
            joins.append(try joinStep(join, index: i + 1))
        }

        var rowConjuncts: [Expr] = []
        var joinConjuncts: [Expr] = []
        if let filter = q.filter {
            let bound = try bind(filter, .filter)
            try requireCondition(bound, filter, "where")
            for conjunct in Self.conjuncts(bound) {
                if Self.readsOnlyFact(conjunct) {
                    rowConjuncts.append(conjunct)
                } else {
                    joinConjuncts.append(conjunct)
                }
            }
        }

        // Group by: positions, select aliases or expressions.
        var groupKeys: [Expr] = []
        for g in q.groupBy {
            let key: Expr
            if case .literal(let cell) = g.kind {
                guard case .int(let position) = cell else {
                    throw error(
                        "group by a constant has no effect: group by a column, an expression or a select position (1, 2, …)",
                        g)
                }
                guard position >= 1, position <= q.items.count else {
                    throw error(
                        "group by position \(position) is out of range: the select list has \(q.items.count) item\(q.items.count == 1 ? "" : "s")",
                        g)
                }
                guard let item = boundItems[Int(position) - 1] else {
                    throw error("group by position \(position) is an aggregate", g)
                }
                key = item
            } else if case .column(qualifier: nil, name: let name) = g.kind,
                let match = selectGroups.first(where: { $0.alias?.text == name.text })
            {
                // A select alias, as in PostgreSQL and MySQL (they prefer a same-named column of the
                // table, which cdctop cannot see: the profile's reconciliation would show the difference).
                key = match.expr
            } else {
                key = try bind(g, .groupBy)
            }
            if !groupKeys.contains(key) {
                groupKeys.append(key)
            }
        }

        guard !aggregates.isEmpty else {
            let first = q.items[0].expr
            throw QueryError(
                "a KPI needs at least one aggregate: count(*), count(e), sum(e) or avg(e)", start: q.selectStart,
                end: first.end)
        }
        // A row's contribution marks its counted aggregates in one 64-bit mask (no array per row and KPI).
        guard aggregates.count <= 64 else {
            throw QueryError(
                "a KPI has at most 64 aggregates (this one has \(aggregates.count)): split it into several KPIs",
                start: q.selectStart, end: q.items[q.items.count - 1].expr.end)
        }

        // Every non-aggregated select item must be a group key; the groups are then output in select order.
        var groups: [Expr] = []
        var groupNames: [String] = []
        for item in selectGroups {
            guard groupKeys.contains(item.expr) else {
                throw error(
                    "\(quoteExcerpt(item.syntax)) must appear in group by (or be inside an aggregate)", item.syntax)
            }
            if groups.contains(item.expr) { continue }
            groups.append(item.expr)
            groupNames.append(item.alias?.text ?? name(of: item.expr))
        }
        for key in groupKeys where !groups.contains(key) {
            groups.append(key)
            groupNames.append(name(of: key))
        }

        var anchor: Set<Int> = []
        for join in joins where join.parent == 0 { anchor.insert(join.parentColumn) }
        for g in groups { Self.collectFactSlots(g, into: &anchor) }

        let kpi = CompiledKPI(
            name: source.name, sql: source.sql, line: source.line, fact: fact, aliases: aliases, joins: joins,
            rowFilter: Self.conjunction(rowConjuncts), joinFilter: Self.conjunction(joinConjuncts),
            groups: groups, groupNames: groupNames, aggregates: aggregates, anchorSlots: anchor.sorted(),
            windowed: source.windowed)
        try checkBuiltInShape(kpi, q)
        return kpi
    }

    private func name(of e: Expr) -> String {
        if case .column(_, let name) = e { return name }
        return displayText(e, aliases: aliases)
    }

    private func quoteExcerpt(_ e: SyntaxExpr) -> String {
        "'" + KPIModel.excerptText(text, e.start, e.end) + "'"
    }

    private func checkBuiltInShape(_ kpi: CompiledKPI, _ q: QuerySyntax) throws(QueryError) {
        let expected: String
        let ok: Bool
        switch kpi.name {
        case "transactions":
            ok = !kpi.isGrouped && kpi.aggregates.count == 1 && kpi.aggregates[0].kind != .avg
            expected =
                "the transactions tile needs an ungrouped query with exactly one aggregate: count(*), count(e) or sum(e) (e.g. select count(*) from orders)"
        case "revenue":
            ok = !kpi.isGrouped && kpi.aggregates.count == 1 && kpi.aggregates[0].kind == .sum
            expected =
                "the revenue tile needs an ungrouped query with exactly one aggregate, sum(e) (e.g. select sum(amount) from payment)"
        case "category_sales":
            ok =
                kpi.groups.count == 1 && kpi.aggregates.count == 1
                && (kpi.aggregates[0].kind == .sum || kpi.aggregates[0].kind == .countRows)
            expected =
                "the category sales panel needs exactly one group expression and exactly one aggregate, sum(e) or count(*) (e.g. select c.name, sum(d.amount) from … group by c.name)"
        default:
            return
        }
        if !ok {
            throw QueryError(expected, start: q.selectStart, end: q.selectStart + 6)
        }
    }

    // MARK: Joins

    private mutating func joinStep(_ join: QuerySyntax.Join, index: Int) throws(QueryError) -> JoinStep {
        let alias = aliases[index]
        let shape =
            "a join condition must be one equality between a column of '\(alias)' and a column of an alias defined before it, e.g. 'on \(alias).id = \(aliases[0]).\(alias)_id' (other conditions go in where)"
        guard case .binary(.equal, let l, let r) = join.condition.kind,
            case .column(let lq, let ln) = l.kind, case .column(let rq, let rn) = r.kind
        else {
            if join.condition.containsAggregate { throw error(Place.joinCondition.aggregateMessage, join.condition) }
            throw error(shape, join.condition)
        }
        guard let lq, let rq else {
            let bare = lq == nil ? ln : rn
            throw error("qualify '\(bare.text)' with its table alias: the query joins several tables", bare)
        }
        guard let li = aliases.firstIndex(of: lq.text) else { throw unknownAlias(lq) }
        guard let ri = aliases.firstIndex(of: rq.text) else { throw unknownAlias(rq) }
        let acyclic = "a join may only reference aliases defined before it, which keeps the joins a tree (no cycles)"
        if li == index && ri == index {
            throw error("the join condition of '\(alias)' compares '\(alias)' with itself: \(acyclic)", join.condition)
        }
        if li > index || ri > index {
            let later = li > index ? lq : rq
            throw error(
                "the join condition of '\(alias)' references '\(later.text)', which is joined later: \(acyclic)", later)
        }
        guard li == index || ri == index else {
            throw error("the join condition of '\(alias)' does not read '\(alias)': \(shape)", join.condition)
        }
        let (own, parent, parentIndex) = li == index ? (ln, rn, ri) : (rn, ln, li)
        let matchColumn = builder.slot(table: aliasTables[index], column: own.text)
        let parentColumn = builder.slot(table: aliasTables[parentIndex], column: parent.text)
        return JoinStep(
            table: aliasTables[index], alias: alias, parent: parentIndex, parentColumn: parentColumn,
            matchColumn: matchColumn, isLeft: join.isLeft)
    }

    private func unknownAlias(_ name: QueryName) -> QueryError {
        let list = aliases.map { "'\($0)'" }.joined(separator: ", ")
        return error("unknown table alias '\(name.text)' (this query's aliases: \(list))", name)
    }

    // MARK: Expressions

    private mutating func bind(_ s: SyntaxExpr, _ place: Place) throws(QueryError) -> Expr {
        switch s.kind {
        case .aggregate:
            throw error(place.aggregateMessage, s)
        case .column(let qualifier, let name):
            let alias: Int
            if let qualifier {
                guard let i = aliases.firstIndex(of: qualifier.text) else { throw unknownAlias(qualifier) }
                alias = i
            } else {
                guard aliases.count == 1 else {
                    throw error("qualify '\(name.text)' with its table alias: the query joins several tables", name)
                }
                alias = 0
            }
            let slot = builder.slot(table: aliasTables[alias], column: name.text)
            return .column(ColumnRef(alias: alias, slot: slot), name: name.text)
        case .literal(let cell):
            return .literal(cell)
        case .unary(let op, let operand):
            let e = try bind(operand, place)
            if op == .not { try requireCondition(e, operand, "not") } else { try requireNumber(e, operand, "-") }
            return .unary(op, e)
        case .binary(let op, let l, let r):
            let a = try bind(l, place)
            let b = try bind(r, place)
            switch op {
            case .and, .or:
                try requireCondition(a, l, op == .and ? "and" : "or")
                try requireCondition(b, r, op == .and ? "and" : "or")
            case .add, .subtract, .multiply:
                let symbol = op == .add ? "+" : op == .subtract ? "-" : "*"
                try requireNumber(a, l, symbol)
                try requireNumber(b, r, symbol)
            default:
                break
            }
            return .binary(op, a, b)
        case .isNull(let operand, let negated):
            return .isNull(try bind(operand, place), negated: negated)
        case .inList(let operand, let items, let negated):
            let e = try bind(operand, place)
            var bound: [Expr] = []
            bound.reserveCapacity(items.count)
            for item in items { bound.append(try bind(item, place)) }
            return .inList(e, bound, negated: negated)
        case .coalesce(let items):
            var bound: [Expr] = []
            for item in items { bound.append(try bind(item, place)) }
            return .coalesce(bound)
        case .caseWhen(let branches, let otherwise):
            var bound: [CaseBranch] = []
            for b in branches {
                let condition = try bind(b.condition, place)
                try requireCondition(condition, b.condition, "when")
                bound.append(CaseBranch(condition: condition, value: try bind(b.value, place)))
            }
            var e: Expr?
            if let otherwise { e = try bind(otherwise, place) }
            return .caseWhen(bound, otherwise: e)
        }
    }

    /// The first column of an aggregate's argument that reads a joined table.
    private func firstJoinedColumn(_ s: SyntaxExpr) -> QueryName? {
        switch s.kind {
        case .column(let q, let name):
            guard let q, let i = aliases.firstIndex(of: q.text), i != 0 else { return nil }
            return QueryName(text: q.text + "." + name.text, start: q.start, end: name.end)
        case .literal, .aggregate: return nil
        case .unary(_, let e), .isNull(let e, _): return firstJoinedColumn(e)
        case .binary(_, let l, let r): return firstJoinedColumn(l) ?? firstJoinedColumn(r)
        case .inList(let e, let items, _):
            if let c = firstJoinedColumn(e) { return c }
            for i in items { if let c = firstJoinedColumn(i) { return c } }
            return nil
        case .coalesce(let items):
            for i in items { if let c = firstJoinedColumn(i) { return c } }
            return nil
        case .caseWhen(let branches, let otherwise):
            for b in branches {
                if let c = firstJoinedColumn(b.condition) ?? firstJoinedColumn(b.value) { return c }
            }
            return otherwise.flatMap(firstJoinedColumn)
        }
    }

    private func staticType(_ e: Expr) -> StaticType {
        switch e {
        case .column, .coalesce, .caseWhen: .unknown
        case .literal(let c):
            switch c {
            case .int, .decimal: .number
            case .text(let s): ExactDecimal.parse(s) == nil ? .text : .unknown
            case .bool: .bool
            case .null, .missing, .unavailable: .null
            }
        case .unary(.negate, _): .number
        case .unary(.not, _), .isNull, .inList: .bool
        case .binary(let op, _, _):
            switch op {
            case .add, .subtract, .multiply: .number
            default: .bool
            }
        }
    }

    private func requireCondition(_ e: Expr, _ s: SyntaxExpr, _ context: String) throws(QueryError) {
        let t = staticType(e)
        if t == .number || t == .text {
            throw error(
                "'\(context)' needs a condition: \(quoteExcerpt(s)) is \(t == .number ? "a number" : "text")", s)
        }
    }

    private func requireNumber(_ e: Expr, _ s: SyntaxExpr, _ symbol: String) throws(QueryError) {
        let t = staticType(e)
        if t == .bool || t == .text {
            throw error("'\(symbol)' needs numbers: \(quoteExcerpt(s)) is \(t == .bool ? "a condition" : "text")", s)
        }
    }

    /// The top-level `and` operands, parentheses notwithstanding.
    static func conjuncts(_ e: Expr) -> [Expr] {
        var out: [Expr] = []
        var pending = [e]
        while let next = pending.popLast() {
            if case .binary(.and, let l, let r) = next {
                pending.append(r)
                pending.append(l)
            } else {
                out.append(next)
            }
        }
        return out
    }

    static func conjunction(_ parts: [Expr]) -> Expr? {
        guard var result = parts.first else { return nil }
        for p in parts.dropFirst() { result = .binary(.and, result, p) }
        return result
    }

    static func readsOnlyFact(_ e: Expr) -> Bool {
        switch e {
        case .column(let ref, _): ref.alias == 0
        case .literal: true
        case .unary(_, let x), .isNull(let x, _): readsOnlyFact(x)
        case .binary(_, let l, let r): readsOnlyFact(l) && readsOnlyFact(r)
        case .inList(let x, let items, _): readsOnlyFact(x) && items.allSatisfy(readsOnlyFact)
        case .coalesce(let items): items.allSatisfy(readsOnlyFact)
        case .caseWhen(let branches, let otherwise):
            branches.allSatisfy { readsOnlyFact($0.condition) && readsOnlyFact($0.value) }
                && (otherwise.map(readsOnlyFact) ?? true)
        }
    }

    static func collectFactSlots(_ e: Expr, into slots: inout Set<Int>) {
        switch e {
        case .column(let ref, _): if ref.alias == 0 { slots.insert(ref.slot) }
        case .literal: break
        case .unary(_, let x), .isNull(let x, _): collectFactSlots(x, into: &slots)
        case .binary(_, let l, let r):
            collectFactSlots(l, into: &slots)
            collectFactSlots(r, into: &slots)
        case .inList(let x, let items, _):
            collectFactSlots(x, into: &slots)
            for i in items { collectFactSlots(i, into: &slots) }
        case .coalesce(let items): for i in items { collectFactSlots(i, into: &slots) }
        case .caseWhen(let branches, let otherwise):
            for b in branches {
                collectFactSlots(b.condition, into: &slots)
                collectFactSlots(b.value, into: &slots)
            }
            if let otherwise { collectFactSlots(otherwise, into: &slots) }
        }
    }
}
