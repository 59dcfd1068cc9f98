import Metrics

/// Rows of a role profile's tables (sale, line item, dimension): the profile's columns of one row
/// image, and the value readers (commit times, keys, integers, decimals in every Debezium form).
/// A model profile's rows are in ModelRows.swift.
extension DebeziumDecoder {
    /// Extracts the profile's columns of one row image into `row` (fresh); false when a present column
    /// has an unusable value.
    /// With `advance`, `outer` itself is moved past the row (else it is left where it was).
    func parseRow(
        _ outer: inout JSONScanner, _ range: Range<Int>, role: TableRole, modelTable: Int32, state: TopicState,
        into row: inout Row, advance: Bool = false
    ) -> Bool {
        if role == .model {
            return parseModelRow(&outer, range, modelTable: Int(modelTable), state: state, into: &row, advance: advance)
        }
        var s = outer
        s.index = range.lowerBound
        defer { if advance { outer.index = s.index } }
        let w = wanted
        let scales = state.columns
        let unavailable = "__debezium_unavailable_value"
        let ok = s.forEachMember { s, key in
            switch role {
            case .sale:
                if s.equals(key, w.saleKey) { return self.readKey(&s, column: key, into: &row.key) }
                if s.equals(key, w.saleAmount) {
                    return self.readMoney(
                        &s, column: key, scale: scales.amount, binary: scales.amountIsBinary, into: &row.amount)
                }
            case .lineItem:
                if s.equals(key, w.lineKey) { return self.readKey(&s, column: key, into: &row.key) }
                if s.equals(key, w.lineQuantity) { return self.readInt(&s, column: key, into: &row.quantity) }
                if s.equals(key, w.lineUnitPrice) {
                    return self.readMoney(
                        &s, column: key, scale: scales.unitPrice, binary: scales.unitPriceIsBinary, into: &row.unitPrice
                    )
                }
                if s.equals(key, w.lineProduct) {
                    var k: RowKey? = nil
                    if s.consumeLiteral("null") {
                        row.reference = .null
                        return true
                    }
                    guard self.readKey(&s, column: key, into: &k), let k else { return false }
                    row.reference = .value(k)
                    return true
                }
            case .dimension:
                if s.equals(key, w.dimKey) { return self.readKey(&s, column: key, into: &row.key) }
                if s.equals(key, w.dimCategory) {
                    if s.consumeLiteral("null") {
                        row.category = .null
                        return true
                    }
                    s.skipWhitespace()
                    let at = s.index
                    guard let t = s.readString(), let str = s.string(t.range, escaped: t.escaped) else {
                        return self.fail("\(s.text(key)) is not a string", at: at)
                    }
                    row.category = str == unavailable ? .unavailable : .value(str)
                    return true
                }
            case .other, .model:
                break
            }
            return s.skipValue()
        }
        guard ok else {
            return fail("invalid JSON in row", at: s.index)
        }
        if role != .other && row.key == nil { return fail(rowError(role), at: range.lowerBound) }
        return true
    }

    // MARK: values

    /// A commit time (`source.ts_ms`, `ts_ms`, `__source_ts_ms`): an integer in `validCommitTimeMs`, or null.
    func readTime(_ s: inout JSONScanner, _ name: StaticString, into out: inout Int64?) -> Bool {
        if s.consumeLiteral("null") { return true }
        s.skipWhitespace()
        let at = s.index
        if let v = s.readPlainInteger() {
            if DebeziumDecoder.validCommitTimeMs.contains(v) {
                out = v
                return true
            }
            s.index = at  // out of range: the general path below says why
        }
        guard let r = s.readNumber() else { return fail("\(name) is not a number", at: at) }
        guard let v = DebeziumDecoder.int64(s.raw(r)) else {
            return fail(
                "\(name) \(DebeziumDecoder.excerpt(s.raw(r))) is not a whole number of milliseconds within Int64",
                at: at)
        }
        guard DebeziumDecoder.validCommitTimeMs.contains(v) else {
            return fail("\(name) \(v) is not a time in years 1970…9999 (0…253402300799999 ms)", at: at)
        }
        out = v
        return true
    }

    /// A primary key or reference: a string, or an integer within Int64.
    private func readKey(_ s: inout JSONScanner, column: Range<Int>, into key: inout RowKey?) -> Bool {
        s.skipWhitespace()
        let at = s.index
        if s.peek() == UInt8(ascii: "\"") {
            guard let t = s.readString(), let str = s.string(t.range, escaped: t.escaped) else {
                return fail("\(s.text(column)) is not a valid JSON string", at: at)
            }
            key = .text(str)
            return true
        }
        if let v = s.readPlainInteger() {
            key = .int(v)
            return true
        }
        guard let r = s.readNumber() else { return fail("\(s.text(column)) is neither a number nor a string", at: at) }
        guard let v = DebeziumDecoder.int64(s.raw(r)) else {
            return fail("\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(r))) is not an integer within Int64", at: at)
        }
        key = .int(v)
        return true
    }

    /// A quantity: any Int64, as a JSON number or a string of digits; overflow is malformed, never wrapped.
    private func readInt(_ s: inout JSONScanner, column: Range<Int>, into field: inout FieldState<Int64>) -> Bool {
        if s.consumeLiteral("null") {
            field = .null
            return true
        }
        s.skipWhitespace()
        let at = s.index
        if s.peek() == UInt8(ascii: "\"") {
            guard let t = s.readString() else { return fail("\(s.text(column)) is not a valid JSON string", at: at) }
            if let v = DebeziumDecoder.int64(s.raw(t.range)) {
                field = .value(v)
                return true
            }
            if s.equals(t.range, "__debezium_unavailable_value") {
                field = .unavailable
                return true
            }
            return fail(
                "\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(t.range))) is not an integer within Int64", at: at)
        }
        if let v = s.readPlainInteger() {
            field = .value(v)
            return true
        }
        guard let r = s.readNumber() else { return fail("\(s.text(column)) is not a number", at: at) }
        guard let v = DebeziumDecoder.int64(s.raw(r)) else {
            return fail("\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(r))) is not an integer within Int64", at: at)
        }
        field = .value(v)
        return true
    }

    /// A decimal in any Debezium form: precise base64 (scale from schema or profile), string, JSON number
    /// (double mode: the literal is parsed as text, never through Double), or VariableScaleDecimal object.
    /// Whatever the form, the value must lie within `Money.maxMagnitude` and have at most `Money.scale` places.
    private func readMoney(
        _ s: inout JSONScanner, column: Range<Int>, scale: Int, binary: Bool, into field: inout FieldState<Money>
    ) -> Bool {
        guard let c = s.peek() else { return fail("\(s.text(column)) has no value", at: s.index) }
        let at = s.index
        let money: Money
        switch c {
        case UInt8(ascii: "n"):
            guard s.consumeLiteral("null") else { return fail("\(s.text(column)) is not a value", at: at) }
            field = .null
            return true
        case UInt8(ascii: "\""):
            guard let t = s.readString() else { return fail("\(s.text(column)) is not a valid JSON string", at: at) }
            let raw = s.raw(t.range)
            if s.equals(t.range, "__debezium_unavailable_value")
                || s.equals(t.range, "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")
            {
                field = .unavailable
                return true
            }
            if !binary && DecimalCodec.looksLikeDecimalText(raw) {
                guard let m = Money.parse(raw) else {
                    return fail(
                        "\(s.text(column)) \(DebeziumDecoder.excerpt(raw)) \(DecimalCodec.whyNotMoney(raw))", at: at)
                }
                money = m
            } else {
                if !binary && DecimalCodec.isSpecialNumberName(raw) {
                    return fail(
                        "\(s.text(column)) \(DebeziumDecoder.excerpt(raw)) is not a number with an exact value", at: at)
                }
                guard let unscaled = DecimalCodec.unscaledFromBase64(raw) else {
                    return fail(
                        binary
                            ? "\(s.text(column)) \(DebeziumDecoder.excerpt(raw)) is not valid base64 of at most 16 bytes (the schema says Decimal)"
                            : "\(s.text(column)) \(DebeziumDecoder.excerpt(raw)) is neither decimal text nor valid base64",
                        at: at)
                }
                guard let m = Money(unscaled: unscaled, scale: scale) else {
                    return fail(
                        "\(s.text(column)) \(DecimalCodec.describe(unscaled: unscaled, scale: scale)) \(DecimalCodec.whyNotMoney(unscaled: unscaled, scale: scale))",
                        at: at)
                }
                money = m
            }
        case UInt8(ascii: "{"):
            var vsScale: Int64? = nil
            var vsValue: Range<Int>? = nil
            let ok = s.forEachMember { o, k in
                if o.equals(k, "scale") {
                    guard let r = o.readNumber(), let v = DebeziumDecoder.int64(o.raw(r)) else { return false }
                    vsScale = v
                    return true
                }
                if o.equals(k, "value") {
                    guard let t = o.readString() else { return false }
                    vsValue = t.range
                    return true
                }
                return o.skipValue()
            }
            guard ok, let sc = vsScale, let v = vsValue else {
                return fail(
                    "\(s.text(column)) is not a VariableScaleDecimal {\"scale\": integer, \"value\": base64}", at: at)
            }
            guard let unscaled = DecimalCodec.unscaledFromBase64(s.raw(v)) else {
                return fail(
                    "\(s.text(column)) value \(DebeziumDecoder.excerpt(s.raw(v))) is not valid base64 of at most 16 bytes",
                    at: at)
            }
            guard sc >= 0 && sc <= 1000, let m = Money(unscaled: unscaled, scale: Int(sc)) else {
                let why =
                    sc < 0 || sc > 1000
                    ? "has an unsupported scale" : DecimalCodec.whyNotMoney(unscaled: unscaled, scale: Int(sc))
                return fail(
                    "\(s.text(column)) \(DecimalCodec.describe(unscaled: unscaled, scale: Int(clamping: sc))) \(why)",
                    at: at)
            }
            money = m
        default:
            guard let r = s.readNumber() else { return fail("\(s.text(column)) is not a number", at: at) }
            guard let m = Money.parse(s.raw(r)) else {
                return fail(
                    "\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(r))) \(DecimalCodec.whyNotMoney(s.raw(r)))",
                    at: at)
            }
            money = m
        }
        guard money.isInRange else {
            return fail("\(s.text(column)) \(money.formatted()) \(DecimalCodec.outOfRange)", at: at)
        }
        field = .value(money)
        return true
    }

    /// An optional `-` and decimal digits, exactly; nil for anything else or beyond Int64 (never traps).
    /// Negative numbers accumulate downwards so that Int64.min parses too.
    @inline(__always) static func int64(_ raw: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        let n = raw.count
        guard n > 0 else { return nil }
        var negative = false
        if raw[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
            if n == 1 { return nil }
        }
        var v: Int64 = 0
        while i < n {
            let c = raw[i]
            guard c >= 48 && c <= 57 else { return nil }
            let digit = Int64(c &- 48)
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return v
    }
}
