/// Prints a compiled expression back as SQL: for messages, names, and the reconciliation queries
/// run on the source database. Parenthesised where the precedence of the KPI query grammar needs it.

/// `e` as SQL. `aliases` are the KPI's table aliases (`CompiledKPI.aliases`): columns are written
/// `alias.column` when there are several, bare otherwise (pass `[]` for bare names). Identifiers
/// that are not plain lowercase words are quoted with `quote` (`"` for PostgreSQL, `` ` `` for MySQL),
/// so a column `UnitPrice` keeps its case on PostgreSQL too.
package func sqlText(_ e: Expr, aliases: [String], quote: Character = "\"") -> String {
    var out = ""
    SQLPrinter(aliases: aliases, quote: quote, display: false).write(e, minimumPrecedence: 0, to: &out)
    return out
}

/// `e` as SQL with each column written by `column` (e.g. qualified and cast so it reads the way
/// Debezium sends it) and each text literal by `literal` (a dialect's escaping): the reconciler's
/// queries on the source database.
package func sqlText(_ e: Expr, column: @escaping (ColumnRef, String) -> String, literal: @escaping (String) -> String)
    -> String
{
    var out = ""
    SQLPrinter(aliases: [], quote: "\"", display: false, columnText: column, literalText: literal)
        .write(e, minimumPrecedence: 0, to: &out)
    return out
}

/// An aggregate as SQL: `count(*)`, `sum(d.quantity)`.
package func sqlText(_ a: Aggregate, aliases: [String], quote: Character = "\"") -> String {
    aggregateText(a, aliases: aliases, quote: quote, display: false)
}

/// `e` as the user would write it in a KPI query, for names and messages: identifiers are quoted
/// only where the KPI grammar needs it (`UnitPrice` stays bare: KPI identifiers are case-sensitive).
package func displayText(_ e: Expr, aliases: [String]) -> String {
    var out = ""
    SQLPrinter(aliases: aliases, quote: "\"", display: true).write(e, minimumPrecedence: 0, to: &out)
    return out
}

/// An aggregate as the user would write it: `sum(d.UnitPrice * d.Quantity)`.
package func displayText(_ a: Aggregate, aliases: [String]) -> String {
    aggregateText(a, aliases: aliases, quote: "\"", display: true)
}

private func aggregateText(_ a: Aggregate, aliases: [String], quote: Character, display: Bool) -> String {
    guard let argument = a.argument else { return "count(*)" }
    let name: String
    switch a.kind {
    case .countRows, .count: name = "count"
    case .sum: name = "sum"
    case .avg: name = "avg"
    }
    var out = name + "("
    SQLPrinter(aliases: aliases, quote: quote, display: display).write(argument, minimumPrecedence: 0, to: &out)
    return out + ")"
}

/// An identifier as SQL: bare when it is a lowercase word that is not a keyword, quoted otherwise.
package func sqlIdentifier(_ name: String, quote: Character = "\"") -> String {
    identifierText(name, quote: quote, display: false)
}

/// `display`: quote only what the KPI grammar needs (not a word, or one of its keywords in any case).
private func identifierText(_ name: String, quote: Character, display: Bool) -> String {
    var plain = !name.isEmpty
    for (i, b) in name.utf8.enumerated() {
        let lower = (b >= 97 && b <= 122) || b == 95 || (i > 0 && b >= 48 && b <= 57)
        let ok = lower || (display && ((b >= 65 && b <= 90) || b >= 0x80 || (i > 0 && b == 36)))
        if !ok {
            plain = false
            break
        }
    }
    if plain {
        let lower = display ? asciiLowercased(name) : name
        if !reservedQueryWords.contains(lower) && (display || !otherSQLKeywords.contains(name)) { return name }
    }
    var out = String(quote)
    for c in name {
        if c == quote { out.append(quote) }
        out.append(c)
    }
    out.append(quote)
    return out
}

/// Reserved in PostgreSQL or MySQL though not in the KPI subset: quoted so the printed SQL runs there.
private let otherSQLKeywords: Set<String> = [
    "user", "table", "column", "check", "constraint", "default", "primary", "foreign", "references", "unique",
    "grant", "create", "current_date", "current_time", "current_timestamp", "current_user", "session_user",
    "analyse", "analyze", "array", "asymmetric", "both", "cast", "collate", "deferrable", "do", "for", "initially",
    "leading", "localtime", "localtimestamp", "only", "placing", "returning", "some", "symmetric", "trailing",
    "variadic", "any", "key", "index", "interval", "range", "rows", "row", "values", "to", "rank", "groups",
    "function", "div", "mod", "xor", "read", "write", "database", "schema", "match", "condition", "signal",
]

private struct SQLPrinter {
    let aliases: [String]
    let quote: Character
    let display: Bool
    var columnText: ((ColumnRef, String) -> String)? = nil
    var literalText: ((String) -> String)? = nil

    static func precedence(_ e: Expr) -> Int {
        switch e {
        case .binary(let op, _, _):
            switch op {
            case .or: 1
            case .and: 2
            case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual: 5
            case .add, .subtract: 7
            case .multiply: 8
            }
        case .unary(.not, _): 3
        case .isNull: 4
        case .inList: 6
        case .unary(.negate, _): 9
        case .literal(.int(let v)) where v < 0: 9
        case .literal(.decimal(let d)) where d.isNegative: 9
        case .column, .literal, .coalesce, .caseWhen: 10
        }
    }

    func write(_ e: Expr, minimumPrecedence: Int, to out: inout String) {
        let p = Self.precedence(e)
        if p < minimumPrecedence {
            out += "("
            write(e, minimumPrecedence: 0, to: &out)
            out += ")"
            return
        }
        switch e {
        case .column(let ref, let name) where columnText != nil:
            out += columnText!(ref, name)
        case .column(let ref, let name):
            if aliases.count > 1 && ref.alias >= 0 && ref.alias < aliases.count {
                out += identifierText(aliases[ref.alias], quote: quote, display: display) + "."
            }
            out += identifierText(name, quote: quote, display: display)
        case .literal(let cell):
            switch cell {
            case .int(let v): out += String(v)
            case .decimal(let d): out += d.description
            case .bool(let b): out += b ? "true" : "false"
            case .null, .missing, .unavailable: out += "null"
            case .text(let s) where literalText != nil:
                out += literalText!(s)
            case .text(let s):
                out += "'"
                for c in s {
                    if c == "'" { out += "'" }
                    out.append(c)
                }
                out += "'"
            }
        case .unary(.not, let operand):
            out += "not "
            write(operand, minimumPrecedence: 3, to: &out)
        case .unary(.negate, let operand):
            // `--` would start a comment: a negative operand gets parentheses.
            var inner = ""
            write(operand, minimumPrecedence: 9, to: &inner)
            out += inner.hasPrefix("-") ? "-(" + inner + ")" : "-" + inner
        case .binary(let op, let l, let r):
            let p = Self.precedence(e)
            let symbol: String
            switch op {
            case .add: symbol = " + "
            case .subtract: symbol = " - "
            case .multiply: symbol = " * "
            case .equal: symbol = " = "
            case .notEqual: symbol = " <> "
            case .less: symbol = " < "
            case .lessOrEqual: symbol = " <= "
            case .greater: symbol = " > "
            case .greaterOrEqual: symbol = " >= "
            case .and: symbol = " and "
            case .or: symbol = " or "
            }
            // Comparisons do not chain: both sides bind tighter. Others are left-associative.
            write(l, minimumPrecedence: p == 5 ? 6 : p, to: &out)
            out += symbol
            write(r, minimumPrecedence: p + 1, to: &out)
        case .isNull(let operand, let negated):
            write(operand, minimumPrecedence: 5, to: &out)
            out += negated ? " is not null" : " is null"
        case .inList(let operand, let items, let negated):
            write(operand, minimumPrecedence: 7, to: &out)
            out += negated ? " not in (" : " in ("
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                write(item, minimumPrecedence: 0, to: &out)
            }
            out += ")"
        case .coalesce(let items):
            out += "coalesce("
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                write(item, minimumPrecedence: 0, to: &out)
            }
            out += ")"
        case .caseWhen(let branches, let otherwise):
            out += "case"
            for b in branches {
                out += " when "
                write(b.condition, minimumPrecedence: 0, to: &out)
                out += " then "
                write(b.value, minimumPrecedence: 0, to: &out)
            }
            if let otherwise {
                out += " else "
                write(otherwise, minimumPrecedence: 0, to: &out)
            }
            out += " end"
        }
    }
}
