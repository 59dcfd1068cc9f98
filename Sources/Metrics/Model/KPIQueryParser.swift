/// A recursive-descent parser for KPI queries: the syntax as written, with source positions, before
/// names are resolved (`KPIQueryCompiler` does that). Constructs outside the subset are refused here
/// with a message saying why.

/// A name as written, with its place in the query.
struct QueryName {
    var text: String
    var start: Int
    var end: Int
}

struct SyntaxExpr {
    indirect enum Kind {
        case column(qualifier: QueryName?, name: QueryName)
        case literal(Cell)
        case unary(UnaryOperator, SyntaxExpr)
        case binary(BinaryOperator, SyntaxExpr, SyntaxExpr)
        case isNull(SyntaxExpr, negated: Bool)
        case inList(SyntaxExpr, [SyntaxExpr], negated: Bool)
        case coalesce([SyntaxExpr])
        case caseWhen([SyntaxBranch], otherwise: SyntaxExpr?)
        /// `count(*)` has no argument.
        case aggregate(AggregateKind, SyntaxExpr?)
    }
    var kind: Kind
    var start: Int
    var end: Int
    /// Height of the tree below and including this node.
    var depth: Int

    var containsAggregate: Bool {
        switch kind {
        case .aggregate: true
        case .column, .literal: false
        case .unary(_, let e), .isNull(let e, _): e.containsAggregate
        case .binary(_, let l, let r): l.containsAggregate || r.containsAggregate
        case .inList(let e, let items, _): e.containsAggregate || items.contains { $0.containsAggregate }
        case .coalesce(let items): items.contains { $0.containsAggregate }
        case .caseWhen(let branches, let otherwise):
            branches.contains { $0.condition.containsAggregate || $0.value.containsAggregate }
                || (otherwise?.containsAggregate ?? false)
        }
    }
}

struct SyntaxBranch {
    var condition: SyntaxExpr
    var value: SyntaxExpr
}

struct QuerySyntax {
    struct SelectItem {
        var expr: SyntaxExpr
        var alias: QueryName?
    }
    struct TableReference {
        var table: QueryName
        var alias: QueryName?
        /// The name the query refers to this table by.
        var aliasName: QueryName { alias ?? table }
    }
    struct Join {
        var isLeft: Bool
        var table: TableReference
        var condition: SyntaxExpr
        /// Offset of the `join` (or `left`) keyword.
        var start: Int
    }
    var selectStart: Int
    var items: [SelectItem]
    var from: TableReference
    var joins: [Join]
    var filter: SyntaxExpr?
    var groupBy: [SyntaxExpr]
}

/// Words that end or structure a query: never taken as an alias or a column without quotes.
let reservedQueryWords: Set<String> = [
    "select", "from", "where", "group", "by", "having", "order", "limit", "offset", "fetch", "union", "intersect",
    "except", "join", "inner", "left", "right", "full", "outer", "cross", "natural", "on", "using", "as", "and", "or",
    "not", "is", "null", "true", "false", "in", "case", "when", "then", "else", "end", "distinct", "all", "between",
    "like", "ilike", "similar", "exists", "over", "window", "with", "lateral", "into", "asc", "desc",
]

struct QueryParser {
    private let tokens: [QueryToken]
    private let text: [UInt8]
    private var position = 0
    private var nesting = 0

    init(text: [UInt8]) throws(QueryError) {
        self.text = text
        self.tokens = try QueryLexer.tokens(text)
    }

    private var current: QueryToken { tokens[position] }
    private var nextToken: QueryToken { tokens[min(position + 1, tokens.count - 1)] }
    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    private func error(_ message: String, at token: QueryToken) -> QueryError {
        QueryError(message, start: token.start, end: token.end, atEnd: token.kind == .end)
    }

    private func unexpected(_ expected: String) -> QueryError {
        if current.kind == .end { return error("unexpected end of query: expected \(expected)", at: current) }
        return error("unexpected here: expected \(expected)", at: current)
    }

    private mutating func expectKeyword(_ word: String) throws(QueryError) {
        guard current.isKeyword(word) else { throw unexpected("'\(word)'") }
        advance()
    }

    private mutating func expectSymbol(_ s: String) throws(QueryError) {
        guard current.isSymbol(s) else { throw unexpected("'\(s)'") }
        advance()
    }

    private mutating func skipSymbol(_ s: String) -> Bool {
        if current.isSymbol(s) {
            advance()
            return true
        }
        return false
    }

    private mutating func skipKeyword(_ word: String) -> Bool {
        if current.isKeyword(word) {
            advance()
            return true
        }
        return false
    }

    // MARK: Clauses

    mutating func parseQuery() throws(QueryError) -> QuerySyntax {
        if current.isKeyword("with") {
            throw error(
                "'with' (common table expressions) is not supported: write one select over joined tables", at: current)
        }
        guard current.isKeyword("select") else { throw unexpected("'select'") }
        let selectStart = current.start
        advance()
        if current.isKeyword("distinct") { throw Refusal.distinct(at: current) }
        if current.isKeyword("all") { advance() }
        var items: [QuerySyntax.SelectItem] = []
        repeat {
            if current.isSymbol("*") {
                throw error(
                    "'select *' is not supported: select the group keys and the aggregates (count, sum, avg)",
                    at: current)
            }
            let expr = try parseExpression()
            var alias: QueryName?
            if skipKeyword("as") {
                guard let name = takeName() else { throw unexpected("a name after 'as'") }
                alias = name
            } else if let name = takeName() {
                alias = name
            }
            items.append(.init(expr: expr, alias: alias))
        } while skipSymbol(",")
        guard current.isKeyword("from") else {
            if current.kind == .end { throw unexpected("'from'") }
            throw unexpected("',' or 'from'")
        }
        advance()
        let from = try parseTableReference()
        if current.isSymbol(",") {
            throw error(
                "comma joins (cross joins) are not supported: write 'join <table> <alias> on <alias>.<column> = <earlier alias>.<column>'",
                at: current)
        }
        var joins: [QuerySyntax.Join] = []
        while true {
            let start = current.start
            let joinToken = current
            var isLeft = false
            if current.isKeyword("join") {
                advance()
            } else if current.isKeyword("inner") {
                advance()
                try expectKeyword("join")
            } else if current.isKeyword("left") {
                advance()
                _ = skipKeyword("outer")
                try expectKeyword("join")
                isLeft = true
            } else if current.isKeyword("right") || current.isKeyword("full") {
                throw error(
                    "\(current.keyword!) joins are not supported: make the table whose rows the KPI counts the from table and join lookups to it ('left join' keeps rows without a match)",
                    at: current)
            } else if current.isKeyword("cross") || current.isKeyword("natural") {
                throw error(
                    "\(current.keyword!) joins are not supported: every join needs 'on <new alias>.<column> = <earlier alias>.<column>'",
                    at: current)
            } else {
                break
            }
            if joins.count == QueryLimits.maxJoins {
                throw error("more than \(QueryLimits.maxJoins) joins", at: joinToken)
            }
            let table = try parseTableReference()
            if current.isKeyword("using") {
                throw error(
                    "'join … using' is not supported: write 'on <new alias>.<column> = <earlier alias>.<column>'",
                    at: current)
            }
            guard current.isKeyword("on") else {
                throw unexpected("'on <new alias>.<column> = <earlier alias>.<column>'")
            }
            advance()
            let condition = try parseExpression()
            joins.append(.init(isLeft: isLeft, table: table, condition: condition, start: start))
        }
        var filter: SyntaxExpr?
        if skipKeyword("where") { filter = try parseExpression() }
        var groupBy: [SyntaxExpr] = []
        if current.isKeyword("group") {
            advance()
            try expectKeyword("by")
            repeat { groupBy.append(try parseExpression()) } while skipSymbol(",")
        }
        try refuseTrailingClause()
        if current.isSymbol(";") { advance() }
        guard current.kind == .end else {
            try refuseTrailingClause()
            throw error("unexpected text after the query", at: current)
        }
        return QuerySyntax(
            selectStart: selectStart, items: items, from: from, joins: joins, filter: filter, groupBy: groupBy)
    }

    private func refuseTrailingClause() throws(QueryError) {
        switch current.keyword {
        case "having":
            throw error("'having' is not supported: cdctop keeps every group (filter rows with where)", at: current)
        case "order": throw error("'order by' is not supported: the dashboard orders the groups itself", at: current)
        case "limit", "offset", "fetch", "top":
            throw error("'\(current.keyword!)' is not supported: cdctop keeps every group", at: current)
        case "union", "intersect", "except":
            throw error("'\(current.keyword!)' is not supported: write one query per KPI", at: current)
        case "window": throw error("window functions are not supported", at: current)
        case "join", "left", "inner", "right", "full", "cross":
            throw error("joins come right after 'from', before where and group by", at: current)
        case "where": throw error("'where' comes before 'group by'", at: current)
        default: return
        }
    }

    /// An identifier usable as a name: unquoted non-reserved words and quoted identifiers.
    private mutating func takeName() -> QueryName? {
        switch current.kind {
        case .word(let w) where !reservedQueryWords.contains(asciiLowercased(w)):
            let name = QueryName(text: w, start: current.start, end: current.end)
            advance()
            return name
        case .quotedIdentifier(let w):
            let name = QueryName(text: w, start: current.start, end: current.end)
            advance()
            return name
        default:
            return nil
        }
    }

    private mutating func parseTableReference() throws(QueryError) -> QuerySyntax.TableReference {
        if current.isSymbol("(") {
            throw Refusal.subquery(at: nextToken.isKeyword("select") ? nextToken : current)
        }
        guard let table = takeName() else { throw unexpected("a table name") }
        if current.isSymbol(".") {
            throw error(
                "write the table name without a schema: cdctop matches tables by name (choose topics with [tables.NAME] topics = \"…\")",
                at: current)
        }
        var alias: QueryName?
        if skipKeyword("as") {
            guard let name = takeName() else { throw unexpected("an alias after 'as'") }
            alias = name
        } else {
            alias = takeName()
        }
        return .init(table: table, alias: alias)
    }

    // MARK: Expressions

    private func node(_ kind: SyntaxExpr.Kind, _ start: Int, _ end: Int, children: SyntaxExpr?...) throws(QueryError)
        -> SyntaxExpr
    {
        var depth = 0
        for c in children { if let c { depth = max(depth, c.depth) } }
        return try node(kind, start, end, depth: depth + 1)
    }

    private func node(_ kind: SyntaxExpr.Kind, _ start: Int, _ end: Int, depth: Int) throws(QueryError) -> SyntaxExpr {
        guard depth <= QueryLimits.maxTreeDepth else {
            throw QueryError(
                "the expression nests more than \(QueryLimits.maxTreeDepth) levels deep", start: start, end: end)
        }
        return SyntaxExpr(kind: kind, start: start, end: end, depth: depth)
    }

    /// Bounds the parser's recursion: every construct that recurses goes through here.
    private mutating func nested<T>(_ body: (inout QueryParser) throws(QueryError) -> T) throws(QueryError) -> T {
        guard nesting < QueryLimits.maxNesting else {
            throw error("the query nests more than \(QueryLimits.maxNesting) levels deep", at: current)
        }
        nesting += 1
        defer { nesting -= 1 }
        return try body(&self)
    }

    mutating func parseExpression() throws(QueryError) -> SyntaxExpr {
        try nested { (p: inout QueryParser) throws(QueryError) in try p.parseOr() }
    }

    private mutating func parseOr() throws(QueryError) -> SyntaxExpr {
        var left = try parseAnd()
        while current.isKeyword("or") {
            advance()
            let right = try parseAnd()
            left = try node(.binary(.or, left, right), left.start, right.end, children: left, right)
        }
        return left
    }

    private mutating func parseAnd() throws(QueryError) -> SyntaxExpr {
        var left = try parseNot()
        while current.isKeyword("and") {
            advance()
            let right = try parseNot()
            left = try node(.binary(.and, left, right), left.start, right.end, children: left, right)
        }
        return left
    }

    private mutating func parseNot() throws(QueryError) -> SyntaxExpr {
        guard current.isKeyword("not") else { return try parseIs() }
        let start = current.start
        advance()
        if current.isKeyword("exists") { throw Refusal.subquery(at: current) }
        let operand = try nested { (p: inout QueryParser) throws(QueryError) in try p.parseNot() }
        return try node(.unary(.not, operand), start, operand.end, children: operand)
    }

    private mutating func parseIs() throws(QueryError) -> SyntaxExpr {
        var operand = try parseComparison()
        while current.isKeyword("is") {
            advance()
            let negated = skipKeyword("not")
            guard current.isKeyword("null") else {
                if current.isKeyword("true") || current.isKeyword("false") || current.isKeyword("distinct")
                    || current.isKeyword("unknown")
                {
                    throw error(
                        "'is \(negated ? "not " : "")\(current.keyword!)' is not supported: only 'is [not] null' is",
                        at: current)
                }
                throw unexpected("'null' after 'is'")
            }
            let end = current.end
            advance()
            operand = try node(.isNull(operand, negated: negated), operand.start, end, children: operand)
        }
        return operand
    }

    private static let comparisons: [String: BinaryOperator] = [
        "=": .equal, "<>": .notEqual, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater,
        ">=": .greaterOrEqual,
    ]

    private mutating func parseComparison() throws(QueryError) -> SyntaxExpr {
        let left = try parseIn()
        guard case .symbol(let s) = current.kind, let op = Self.comparisons[s] else { return left }
        advance()
        let right = try parseIn()
        if case .symbol(let s2) = current.kind, Self.comparisons[s2] != nil {
            throw error("comparisons do not chain: write 'a < b and b < c'", at: current)
        }
        return try node(.binary(op, left, right), left.start, right.end, children: left, right)
    }

    private mutating func parseIn() throws(QueryError) -> SyntaxExpr {
        let operand = try parseAdditive()
        var negated = false
        if current.isKeyword("not") {
            let after = nextToken
            guard
                after.isKeyword("in") || after.isKeyword("between") || after.isKeyword("like")
                    || after.isKeyword("ilike") || after.isKeyword("similar")
            else { return operand }
            advance()
            negated = true
        }
        switch current.keyword {
        case "between":
            throw error("'between' is not supported: write 'x >= a and x <= b'", at: current)
        case "like", "ilike", "similar":
            throw error(
                "'\(current.keyword!)' is not supported: compare with '=' or list the values with 'in (…)'", at: current
            )
        case "in":
            break
        default:
            return operand
        }
        advance()
        guard current.isSymbol("(") else { throw unexpected("'(' after 'in'") }
        if nextToken.isKeyword("select") { throw Refusal.subquery(at: nextToken) }
        advance()
        if current.isSymbol(")") { throw error("an 'in' list needs at least one value", at: current) }
        var items: [SyntaxExpr] = []
        var depth = operand.depth
        repeat {
            let item = try parseExpression()
            depth = max(depth, item.depth)
            items.append(item)
        } while skipSymbol(",")
        let end = current.end
        try expectSymbol(")")
        return try node(.inList(operand, items, negated: negated), operand.start, end, depth: depth + 1)
    }

    private mutating func parseAdditive() throws(QueryError) -> SyntaxExpr {
        var left = try parseMultiplicative()
        while current.isSymbol("+") || current.isSymbol("-") {
            let op: BinaryOperator = current.isSymbol("+") ? .add : .subtract
            advance()
            let right = try parseMultiplicative()
            left = try node(.binary(op, left, right), left.start, right.end, children: left, right)
        }
        return left
    }

    private mutating func parseMultiplicative() throws(QueryError) -> SyntaxExpr {
        var left = try parseUnary()
        while true {
            if current.isSymbol("/") { throw Refusal.division(at: current) }
            if current.isSymbol("%") { throw error("'%' (remainder) is not supported", at: current) }
            guard current.isSymbol("*") else { return left }
            advance()
            let right = try parseUnary()
            left = try node(.binary(.multiply, left, right), left.start, right.end, children: left, right)
        }
    }

    private mutating func parseUnary() throws(QueryError) -> SyntaxExpr {
        if current.isSymbol("+") {
            advance()
            return try nested { (p: inout QueryParser) throws(QueryError) in try p.parseUnary() }
        }
        guard current.isSymbol("-") else { return try parsePrimary() }
        let start = current.start
        advance()
        let operand = try nested { (p: inout QueryParser) throws(QueryError) in try p.parseUnary() }
        // A negative number is a literal (so -9223372036854775808 and sqlText's output stay simple).
        if case .literal(let cell) = operand.kind {
            var folded: Cell?
            switch cell {
            case .int(let v): folded = v == .min ? nil : .int(-v)
            case .decimal(let d): folded = d.negated.map(Cell.decimal)
            default: folded = nil
            }
            if let folded { return try node(.literal(folded), start, operand.end, depth: 1) }
        }
        return try node(.unary(.negate, operand), start, operand.end, children: operand)
    }

    private mutating func parsePrimary() throws(QueryError) -> SyntaxExpr {
        let token = current
        switch token.kind {
        case .number(let digits):
            advance()
            guard let value = ExactDecimal.parse(digits) else {
                throw error(
                    "number out of range: cdctop computes exactly with at most 38 digits and 38 decimal places",
                    at: token)
            }
            let cell: Cell =
                (value.int64 != nil && !digits.contains(".") && !digits.contains("e") && !digits.contains("E"))
                ? .int(value.int64!) : .decimal(value)
            return try node(.literal(cell), token.start, token.end, depth: 1)
        case .string(let s):
            advance()
            return try node(.literal(.text(s)), token.start, token.end, depth: 1)
        case .symbol("("):
            if nextToken.isKeyword("select") { throw Refusal.subquery(at: nextToken) }
            advance()
            var inner = try parseExpression()
            let end = current.end
            try expectSymbol(")")
            // The parentheses belong to the text (for messages), not the tree.
            inner.start = token.start
            inner.end = end
            return inner
        case .symbol("*"):
            throw error("'*' is only allowed in count(*)", at: token)
        case .quotedIdentifier:
            return try parseColumn()
        case .word(let w):
            let lower = asciiLowercased(w)
            switch lower {
            case "true", "false":
                advance()
                return try node(.literal(.bool(lower == "true")), token.start, token.end, depth: 1)
            case "null":
                advance()
                return try node(.literal(.null), token.start, token.end, depth: 1)
            case "case":
                return try nested { (p: inout QueryParser) throws(QueryError) in try p.parseCase() }
            case "exists", "select":
                throw Refusal.subquery(at: token)
            default:
                break
            }
            if nextToken.isSymbol("(") {
                return try nested { (p: inout QueryParser) throws(QueryError) in try p.parseCall(lower, token) }
            }
            if reservedQueryWords.contains(lower) { throw unexpected("an expression") }
            return try parseColumn()
        case .end:
            throw unexpected("an expression")
        default:
            throw unexpected("an expression")
        }
    }

    private mutating func parseColumn() throws(QueryError) -> SyntaxExpr {
        guard let first = takeName() else { throw unexpected("a column") }
        guard current.isSymbol(".") else {
            return try node(.column(qualifier: nil, name: first), first.start, first.end, depth: 1)
        }
        advance()
        if current.isSymbol("*") { throw error("'\(first.text).*' is not supported: name the columns", at: current) }
        guard let second = takeName() else { throw unexpected("a column name after '\(first.text).'") }
        if current.isSymbol(".") {
            throw error("write '<alias>.<column>': schema-qualified names are not supported", at: current)
        }
        if current.isSymbol("(") { throw error("unknown function '\(first.text).\(second.text)'", at: current) }
        return try node(.column(qualifier: first, name: second), first.start, second.end, depth: 1)
    }

    private mutating func parseCall(_ name: String, _ nameToken: QueryToken) throws(QueryError) -> SyntaxExpr {
        let kind: AggregateKind?
        switch name {
        case "count": kind = .count
        case "sum": kind = .sum
        case "avg": kind = .avg
        case "coalesce": kind = nil
        case "min", "max":
            throw error(
                "\(name)() is not supported: it cannot be kept exact under deletes without keeping every value (count, sum and avg can)",
                at: nameToken)
        case "row_number", "rank", "dense_rank", "lag", "lead", "first_value", "last_value", "ntile":
            throw error("window functions are not supported", at: nameToken)
        default:
            throw error("unknown function '\(name)': the functions are count, sum, avg and coalesce", at: nameToken)
        }
        advance()  // name
        advance()  // (
        if current.isKeyword("distinct") { throw Refusal.distinct(at: current) }
        if current.isKeyword("all") && kind != nil { advance() }
        guard let kind else {
            if current.isSymbol(")") { throw error("coalesce needs at least one argument", at: current) }
            var items: [SyntaxExpr] = []
            var depth = 0
            repeat {
                let item = try parseExpression()
                depth = max(depth, item.depth)
                items.append(item)
            } while skipSymbol(",")
            let end = current.end
            try expectSymbol(")")
            return try node(.coalesce(items), nameToken.start, end, depth: depth + 1)
        }
        var aggregate: SyntaxExpr
        if kind == .count && current.isSymbol("*") {
            advance()
            let end = current.end
            try expectSymbol(")")
            aggregate = try node(.aggregate(.countRows, nil), nameToken.start, end, depth: 1)
        } else {
            let argument = try parseExpression()
            if current.isSymbol(",") { throw error("\(name)() takes one argument", at: current) }
            let end = current.end
            try expectSymbol(")")
            aggregate = try node(.aggregate(kind, argument), nameToken.start, end, children: argument)
        }
        if current.isKeyword("over") { throw error("window functions ('over') are not supported", at: current) }
        if current.isKeyword("filter") && nextToken.isSymbol("(") {
            throw error("'filter (where …)' is not supported: write \(name)(case when … then … end)", at: current)
        }
        if current.isKeyword("within") { throw error("'within group' is not supported", at: current) }
        return aggregate
    }

    private mutating func parseCase() throws(QueryError) -> SyntaxExpr {
        let start = current.start
        advance()  // case
        // `case x when v then …` is `case when x = v then …`.
        let operand: SyntaxExpr? = current.isKeyword("when") ? nil : try parseExpression()
        var branches: [SyntaxBranch] = []
        var depth = operand?.depth ?? 0
        while current.isKeyword("when") {
            advance()
            var condition = try parseExpression()
            if let operand {
                condition = try node(
                    .binary(.equal, operand, condition), condition.start, condition.end, children: operand, condition)
            }
            try expectKeyword("then")
            let value = try parseExpression()
            depth = max(depth, condition.depth, value.depth)
            branches.append(.init(condition: condition, value: value))
        }
        guard !branches.isEmpty else { throw unexpected("'when'") }
        var otherwise: SyntaxExpr?
        if skipKeyword("else") {
            let e = try parseExpression()
            depth = max(depth, e.depth)
            otherwise = e
        }
        let end = current.end
        try expectKeyword("end")
        return try node(.caseWhen(branches, otherwise: otherwise), start, end, depth: depth + 1)
    }
}

/// The refusals that can come up in several places.
enum Refusal {
    static func division(at t: QueryToken) -> QueryError {
        QueryError(
            "division is not supported: it would need rounding, and cdctop keeps every KPI exact (show a ratio as two KPIs)",
            start: t.start, end: t.end)
    }
    static func distinct(at t: QueryToken) -> QueryError {
        QueryError(
            "'distinct' is not supported: distinct values cannot be kept exact under deletes without keeping every value",
            start: t.start, end: t.end)
    }
    static func subquery(at t: QueryToken) -> QueryError {
        QueryError("subqueries are not supported: write one select over joined tables", start: t.start, end: t.end)
    }
}
