/// Evaluates a compiled KPI expression on one row combination, with SQL's semantics: null propagates
/// through arithmetic and comparisons, `and`/`or`/`not` are three-valued, arithmetic is exact and
/// checked (an overflow is an error, never a rounded or wrapped value). Runs per event: no arrays are
/// built, and messages are only formatted on the error path.
package enum ExprEvaluator {
    package static func evaluate(_ e: Expr, cell: (ColumnRef) -> Cell) throws(EvalError) -> EvalValue {
        switch e {
        case .column(let ref, let name):
            switch cell(ref) {
            case .missing: throw EvalError("column \(name) is not in the row image")
            case .unavailable: throw EvalError("column \(name) is unavailable (unchanged TOASTed value)")
            case .null: return .null
            case .int(let v): return .number(ExactDecimal(v))
            case .decimal(let d): return .number(d)
            case .text(let s): return .text(s)
            case .bool(let b): return .bool(b)
            }
        case .literal(let c):
            switch c {
            case .int(let v): return .number(ExactDecimal(v))
            case .decimal(let d): return .number(d)
            case .text(let s): return .text(s)
            case .bool(let b): return .bool(b)
            case .null, .missing, .unavailable: return .null
            }
        case .unary(.negate, let operand):
            let v = try evaluate(operand, cell: cell)
            if case .null = v { return .null }
            let n = try number(v, in: e)
            guard let r = n.negated else { throw EvalError("\(text(e)) overflows: -(\(compactNumber(n)))") }
            return .number(r)
        case .unary(.not, let operand):
            switch try evaluate(operand, cell: cell) {
            case .null: return .null
            case .bool(let b): return .bool(!b)
            case let v: throw notBoolean(v, in: e)
            }
        case .binary(.and, let l, let r):
            // Three-valued: false wins over null; the right side is not evaluated after a false.
            let a = try condition(l, in: e, cell: cell)
            if a == false { return .bool(false) }
            let b = try condition(r, in: e, cell: cell)
            if b == false { return .bool(false) }
            if a == nil || b == nil { return .null }
            return .bool(true)
        case .binary(.or, let l, let r):
            let a = try condition(l, in: e, cell: cell)
            if a == true { return .bool(true) }
            let b = try condition(r, in: e, cell: cell)
            if b == true { return .bool(true) }
            if a == nil || b == nil { return .null }
            return .bool(false)
        case .binary(let op, let l, let r):
            let a = try evaluate(l, cell: cell)
            let b = try evaluate(r, cell: cell)
            switch op {
            case .add, .subtract, .multiply:
                return try arithmetic(op, a, b, in: e)
            default:
                guard let order = try compare(a, b, in: e) else { return .null }
                let result: Bool
                switch op {
                case .equal: result = order == 0
                case .notEqual: result = order != 0
                case .less: result = order < 0
                case .lessOrEqual: result = order <= 0
                case .greater: result = order > 0
                default: result = order >= 0
                }
                return .bool(result)
            }
        case .isNull(let operand, let negated):
            let isNull: Bool
            if case .null = try evaluate(operand, cell: cell) { isNull = true } else { isNull = false }
            return .bool(isNull != negated)
        case .inList(let operand, let items, let negated):
            // `x in (a, b)` is `x = a or x = b`: true on a match, else null if a comparison was null.
            let v = try evaluate(operand, cell: cell)
            if case .null = v { return .null }
            var sawNull = false
            for item in items {
                let w = try evaluate(item, cell: cell)
                if case .null = w {
                    sawNull = true
                    continue
                }
                if try compare(v, w, in: e) == 0 { return .bool(!negated) }
            }
            return sawNull ? .null : .bool(negated)
        case .coalesce(let items):
            for item in items {
                let v = try evaluate(item, cell: cell)
                if case .null = v { continue }
                return v
            }
            return .null
        case .caseWhen(let branches, let otherwise):
            for branch in branches where isTrue(try evaluate(branch.condition, cell: cell)) {
                return try evaluate(branch.value, cell: cell)
            }
            guard let otherwise else { return .null }
            return try evaluate(otherwise, cell: cell)
        }
    }

    /// Whether a condition holds: only true does (null and false do not).
    package static func isTrue(_ v: EvalValue) -> Bool {
        if case .bool(true) = v { return true }
        return false
    }

    /// Whether a condition (`rowFilter`, `joinFilter`) holds for a row: true only for true; null and
    /// false do not hold; any other value is an error rather than a silently dropped row.
    package static func holds(_ e: Expr, cell: (ColumnRef) -> Cell) throws(EvalError) -> Bool {
        switch try evaluate(e, cell: cell) {
        case .bool(let b): return b
        case .null: return false
        case let v: throw EvalError("\(text(e)): \(describe(v)) is not true, false or null")
        }
    }

    /// `e` as a number, for an aggregate's argument: nil when null; numeric text (Debezium's
    /// `decimal.handling.mode=string`) is a number; anything else is an error.
    package static func evaluateNumber(_ e: Expr, cell: (ColumnRef) -> Cell) throws(EvalError) -> ExactDecimal? {
        let v = try evaluate(e, cell: cell)
        if case .null = v { return nil }
        return try number(v, in: e)
    }

    // MARK: Helpers

    /// A condition's truth: nil is SQL's unknown (null).
    private static func condition(_ operand: Expr, in e: Expr, cell: (ColumnRef) -> Cell) throws(EvalError) -> Bool? {
        switch try evaluate(operand, cell: cell) {
        case .null: return nil
        case .bool(let b): return b
        case let v: throw notBoolean(v, in: e)
        }
    }

    private static func number(_ v: EvalValue, in e: Expr) throws(EvalError) -> ExactDecimal {
        switch v {
        case .number(let n): return n
        case .text(let s):
            if let n = parseNumber(s) { return n }
            throw EvalError("\(text(e)): \(quoted(s)) is not a number")
        case .bool(let b): throw EvalError("\(text(e)): \(b) is not a number")
        case .null: throw EvalError("\(text(e)): null is not a number")
        }
    }

    private static func arithmetic(_ op: BinaryOperator, _ a: EvalValue, _ b: EvalValue, in e: Expr) throws(EvalError)
        -> EvalValue
    {
        if case .null = a { return .null }
        if case .null = b { return .null }
        let x = try number(a, in: e)
        let y = try number(b, in: e)
        let result: ExactDecimal?
        let symbol: String
        switch op {
        case .add:
            result = x.adding(y)
            symbol = "+"
        case .subtract:
            result = x.subtracting(y)
            symbol = "−"
        default:
            result = product(x, y)
            symbol = "×"
        }
        if let result { return .number(result) }
        // A product whose digits fit but whose places do not is too precise, not too large.
        let tooPrecise = op == .multiply && !x.units.multipliedReportingOverflow(by: y.units).overflow
        let what = tooPrecise ? "needs more than \(ExactDecimal.maxScale) decimal places" : "overflows"
        throw EvalError("\(text(e)) \(what): \(compactNumber(x)) \(symbol) \(compactNumber(y))")
    }

    /// `x × y`, also when the product's trailing zeros bring 39 or more places back to 38
    /// (2e-19 × 5e-20 = 1e-38), which `ExactDecimal.multiplied` refuses before normalising.
    static func product(_ x: ExactDecimal, _ y: ExactDecimal) -> ExactDecimal? {
        if let r = x.multiplied(by: y) { return r }
        let (product, overflow) = x.units.multipliedReportingOverflow(by: y.units)
        if overflow { return nil }
        var units = product
        var scale = Int(x.scale) + Int(y.scale)
        while scale > ExactDecimal.maxScale && units % 10 == 0 {
            units /= 10
            scale -= 1
        }
        return ExactDecimal(units: units, scale: scale)
    }

    // MARK: Fast paths

    /// A fact column's number without walking an expression: nil for a cell that is not an integer
    /// or a decimal (null, text, missing, …), which the caller leaves to `evaluate`.
    @inline(__always)
    static func plainNumber(_ c: Cell) -> ExactDecimal? {
        switch c {
        case .int(let v): ExactDecimal(v)
        case .decimal(let d): d
        default: nil
        }
    }

    /// The order of two numbers as a comparison operator reads it.
    @inline(__always)
    static func holds(_ op: BinaryOperator, _ x: ExactDecimal, _ y: ExactDecimal) -> Bool {
        switch op {
        case .equal: x == y
        case .notEqual: x != y
        case .less: x < y
        case .lessOrEqual: x <= y
        case .greater: x > y
        default: x >= y
        }
    }

    /// -1, 0 or 1; nil when either side is null. Numbers compare with numbers (numeric text included),
    /// text with text by UTF-8 bytes, booleans with booleans (false < true).
    private static func compare(_ a: EvalValue, _ b: EvalValue, in e: Expr) throws(EvalError) -> Int? {
        switch (a, b) {
        case (.null, _), (_, .null): return nil
        case (.number(let x), .number(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.text(let x), .text(let y)): return compareBytes(x, y)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.text(let s), .number(let y)):
            guard let x = parseNumber(s) else { throw cannotCompare(a, b, in: e) }
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.number(let x), .text(let s)):
            guard let y = parseNumber(s) else { throw cannotCompare(a, b, in: e) }
            return x < y ? -1 : (x == y ? 0 : 1)
        // MySQL's booleans are 0 and 1 (Debezium sends BIT(1) as a boolean, users write `= 1`);
        // PostgreSQL refuses the comparison on the database side, so no valid query changes meaning.
        case (.bool(let x), .number(let y)):
            let v = ExactDecimal(x ? 1 : 0)
            return v < y ? -1 : (v == y ? 0 : 1)
        case (.number(let x), .bool(let y)):
            let v = ExactDecimal(y ? 1 : 0)
            return x < v ? -1 : (x == v ? 0 : 1)
        default:
            throw cannotCompare(a, b, in: e)
        }
    }

    /// UTF-8 byte order (a C collation), in one pass and without copying either string.
    private static func compareBytes(_ a: String, _ b: String) -> Int {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                for i in 0..<min(x.count, y.count) where x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
                return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
            }
        }
    }

    /// Numeric text as a number, without copying its bytes (this runs per event).
    private static func parseNumber(_ s: String) -> ExactDecimal? {
        var s = s
        return s.withUTF8 { ExactDecimal.parse(UnsafeRawBufferPointer($0)) }
    }

    private static func cannotCompare(_ a: EvalValue, _ b: EvalValue, in e: Expr) -> EvalError {
        EvalError("\(text(e)): cannot compare \(describe(a)) with \(describe(b))")
    }

    private static func notBoolean(_ v: EvalValue, in e: Expr) -> EvalError {
        EvalError("\(text(e)): \(describe(v)) is not true, false or null")
    }

    private static func text(_ e: Expr) -> String {
        let s = displayText(e, aliases: [])
        return s.count > 80 ? String(s.prefix(79)) + "…" : s
    }

    private static func quoted(_ s: String) -> String {
        let short = s.count > 40 ? String(s.prefix(39)) + "…" : s
        return "'" + short + "'"
    }

    private static func describe(_ v: EvalValue) -> String {
        switch v {
        case .null: "null"
        case .number(let n): "the number " + compactNumber(n)
        case .text(let s): "the text " + quoted(s)
        case .bool(let b): b ? "true" : "false"
        }
    }

    /// Plain digits, or `3.4e30` / `1e-20` when that is shorter: messages stay readable for huge values.
    static func compactNumber(_ d: ExactDecimal) -> String {
        let plain = d.description
        if plain.utf8.count <= 12 { return plain }
        var digits = Array(String(d.units.magnitude).utf8)
        var trailingZeros = 0
        while digits.count > 1 && digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            trailingZeros += 1
        }
        let exponent = digits.count - 1 + trailingZeros - Int(d.scale)
        var out = d.isNegative ? "-" : ""
        out += String(UnicodeScalar(digits[0]))
        if digits.count > 1 { out += "." + String(decoding: digits[1...], as: UTF8.self) }
        out += "e" + String(exponent)
        return out.utf8.count < plain.utf8.count ? out : plain
    }
}
