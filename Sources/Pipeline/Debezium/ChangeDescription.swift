import Metrics

/// Decimal scales the message itself may not carry, for rendering decimals at a fixed scale.
/// Messages with a schema (JSON `parameters.scale`, Avro's decimal logical type) need none of this.
package struct DecimalDisplayScales: Sendable {
    /// The profile's money columns (by column name) and their scale: base64 decimals without a schema
    /// are read at it, and decimals of these columns print at least at it.
    package var moneyColumns: [String: Int]
    /// Without a schema, a column's decimals print at the largest scale seen so far in that column
    /// (`12.5`, `3.1416` and `7` of a numeric(14,4) in double mode read `12.5000`, `3.1416`, `7.0000`).
    private var largestSeen: [String: Int] = [:]

    package init(moneyColumns: [String: Int] = [:]) { self.moneyColumns = moneyColumns }

    /// The profile's sale amount and line-item unit price, at its `default_decimal_scale`.
    package init(profile: KPIProfile) {
        var columns: [String: Int] = [:]
        if !profile.sale.amount.isEmpty { columns[profile.sale.amount] = profile.defaultDecimalScale }
        if let unitPrice = profile.lineItem?.unitPrice, !unitPrice.isEmpty {
            columns[unitPrice] = profile.defaultDecimalScale
        }
        self.init(moneyColumns: columns)
    }

    /// The scale to print `places` fraction digits of `column` at, remembering it.
    mutating func scale(table: String, column: String, places: Int) -> Int {
        let key = table + "\u{1F}" + column
        let scale = max(places, largestSeen[key] ?? 0, moneyColumns[column] ?? 0)
        if scale != largestSeen[key] { largestSeen[key] = scale }
        return scale
    }

    /// The largest scale seen in `column` (or the profile's for it); nil when it never held a decimal.
    func knownScale(table: String, column: String) -> Int? {
        largestSeen[table + "\u{1F}" + column] ?? moneyColumns[column]
    }
}

extension ChangeDescription {
    /// Decodes a Debezium value (any form cdctop reads). Nil when the bytes are not a Debezium change.
    /// One message alone: without a schema, a decimal prints at its own scale.
    package static func decode(value: [UInt8], defaultDecimalScale: Int = 2) -> ChangeDescription? {
        var scales = DecimalDisplayScales()
        return decode(value: value, scales: &scales)
    }

    /// As `decode(value:)`, remembering decimal scales across messages in `scales` (decimals sent
    /// without a schema print at the largest scale seen in their column, or the profile's).
    package static func decode(value: [UInt8], scales: inout DecimalDisplayScales) -> ChangeDescription? {
        DebeziumFullDecoder.describe(value, scales: &scales)
    }
}

enum DebeziumFullDecoder {
    static func describe(_ value: [UInt8], scales: inout DecimalDisplayScales) -> ChangeDescription? {
        guard let root = JSONValue.parse(value) else { return nil }
        var types: [String: SchemaTypes.Logical] = [:]
        var payload = root
        var schemaless = true
        if let schema = root["schema"], let p = root["payload"] {
            SchemaTypes.collectTypes(schema, into: &types)
            payload = p
            schemaless = false
        }
        return describe(payload: payload, types: schemaless ? nil : types, scales: &scales)
    }

    /// A payload as JsonConverter writes it, with the logical types of its columns (JSON's `schema`, or
    /// Avro's); `types` nil: the message carried no schema.
    static func describe(payload: JSONValue, types: [String: SchemaTypes.Logical]?, scales: inout DecimalDisplayScales)
        -> ChangeDescription?
    {
        guard case .object(let members) = payload else { return nil }
        let opCode = payload["op"]?.stringValue?.utf8.first.flatMap { ChangeOp(code: $0) }
        let table = (opCode != nil ? payload["source"]?["table"]?.stringValue : payload["__table"]?.stringValue) ?? ""
        func cells(_ fields: [(key: String, value: JSONValue)]) -> [ChangeDescription.Field] {
            fields.map { f in
                let cell =
                    types != nil
                    ? renderCell(f.value, type: types?[f.key])
                    : schemalessCell(f.value, table: table, column: f.key, scales: &scales)
                return ChangeDescription.Field(name: f.key, value: cell.text, kind: cell.kind, bytes: cell.bytes)
            }
        }
        if let op = opCode {
            let source = payload["source"]
            let ts = source?["ts_ms"]?.int64Value ?? payload["ts_ms"]?.int64Value ?? 0
            func image(_ v: JSONValue?) -> [ChangeDescription.Field]? {
                guard let v, case .object(let fields) = v else { return nil }
                return cells(fields)
            }
            return ChangeDescription(
                op: op, table: table, commitTimeMs: ts, before: image(payload["before"]), after: image(payload["after"])
            )
        }
        // Unwrapped record: columns plus __ metadata.
        let row = cells(members.filter { !$0.key.hasPrefix("__") })
        let deleted = payload["__deleted"]?.stringValue == "true" || payload["__deleted"] == .bool(true)
        var op = payload["__op"]?.stringValue?.utf8.first.flatMap { ChangeOp(code: $0) } ?? .update
        if deleted { op = .delete }
        let ts = payload["__source_ts_ms"]?.int64Value ?? 0
        return op == .delete
            ? ChangeDescription(op: op, table: table, commitTimeMs: ts, before: row, after: nil)
            : ChangeDescription(op: op, table: table, commitTimeMs: ts, before: nil, after: row)
    }

    typealias Cell = (text: String, kind: ChangeDescription.Kind, bytes: [UInt8]?)

    /// The text of a value whose column's type the message's schema gives (or nil: a plain column).
    static func renderValue(_ v: JSONValue, type: SchemaTypes.Logical?, defaultScale: Int) -> String {
        renderCell(v, type: type).text
    }

    static func renderCell(_ v: JSONValue, type: SchemaTypes.Logical?) -> Cell {
        switch v {
        case .null: return ("null", .null, nil)
        case .bool(let b): return (b ? "true" : "false", .bool, nil)
        case .number(let n):
            guard let i = Int64(n) else { return (n, .number, nil) }
            switch type {
            case .microTimestamp?: return (TimeText.iso8601(micros: i), .time, nil)
            case .timestamp?: return (TimeText.iso8601(ms: i), .time, nil)
            case .nanoTimestamp?: return (TimeText.iso8601(micros: i / 1000), .time, nil)
            case .date?: return (TimeText.date(fromDays: i), .time, nil)
            case .microTime?:
                return (
                    TimeText.iso8601(micros: i).split(separator: "T").last.map { String($0.dropLast()) } ?? n, .time,
                    nil
                )
            case .time?:
                return (
                    TimeText.iso8601(ms: i).split(separator: "T").last.map { String($0.dropLast()) } ?? n, .time, nil
                )
            default: return (n, .number, nil)
            }
        case .string(let s):
            if s == "__debezium_unavailable_value" { return ("(unchanged)", .unchanged, nil) }
            switch type {
            case .decimal(let scale)?:
                var bytes = Array(s.utf8)
                if let m = bytes.withUnsafeMutableBytes({
                    DecimalCodec.moneyFromBase64(UnsafeRawBufferPointer($0), scale: scale)
                }) {
                    return (m.formatted(minimumFractionDigits: scale), .decimal(scale: scale), nil)
                }
            case .binary?:
                if let bytes = base64Bytes(s) { return (binaryText(bytes.count), .binary, bytes) }
            case .zonedTimestamp?:
                return (s, .time, nil)
            default: break
            }
            return (s, .text, nil)
        case .object:
            if let scale = v["scale"]?.int64Value, let text = v["value"]?.stringValue {
                var bytes = Array(text.utf8)
                if let m = bytes.withUnsafeMutableBytes({
                    DecimalCodec.moneyFromBase64(UnsafeRawBufferPointer($0), scale: Int(scale))
                }) {
                    return (m.formatted(minimumFractionDigits: Int(scale)), .variableDecimal, nil)
                }
            }
            return ("{…}", .structured, nil)
        case .array(let items): return ("[\(items.count) items]", .structured, nil)
        }
    }

    /// A value of a message without a schema: decimals (double mode `12.5`, string mode `"12.5"`, and base64
    /// in the profile's money columns) print at the largest scale seen in their column, or the profile's.
    static func schemalessCell(_ v: JSONValue, table: String, column: String, scales: inout DecimalDisplayScales)
        -> Cell
    {
        switch v {
        case .number(let n):
            if Int64(n) != nil {
                // An integer in a column that held decimals is one of them (`7` of 12.5, 7, 3.1416).
                guard let known = scales.knownScale(table: table, column: column), known > 0 else {
                    return (n, .number, nil)
                }
                return decimalCell(n, places: 0, table: table, column: column, scales: &scales) ?? (n, .number, nil)
            }
            // Java's doubles past 10^7 come with an exponent (`1.2345678901234E9`): read in plain notation.
            let plain = fractionDigits(n) != nil ? n : Money(decimalText: n)?.formatted(minimumFractionDigits: 0) ?? n
            guard let places = fractionDigits(plain) else { return (n, .number, nil) }
            return decimalCell(plain, places: places, table: table, column: column, scales: &scales) ?? (
                n, .number, nil
            )
        case .string(let s):
            if s == "__debezium_unavailable_value" { return ("(unchanged)", .unchanged, nil) }
            // String mode: plain notation with a point (`"59.97"`); a text column rarely looks like that.
            if let places = fractionDigits(s), s.contains(".") {
                return decimalCell(s, places: places, table: table, column: column, scales: &scales) ?? (s, .text, nil)
            }
            // Precise mode without a schema: base64, readable only in the profile's money columns.
            if let moneyScale = scales.moneyColumns[column] {
                var bytes = Array(s.utf8)
                if let m = bytes.withUnsafeMutableBytes({
                    DecimalCodec.moneyFromBase64(UnsafeRawBufferPointer($0), scale: moneyScale)
                }) {
                    let scale = scales.scale(table: table, column: column, places: moneyScale)
                    return (m.formatted(minimumFractionDigits: scale), .decimal(scale: scale), nil)
                }
            }
            return (s, .text, nil)
        default:
            return renderCell(v, type: nil)
        }
    }

    /// `text` (plain decimal notation) at the column's scale; nil when it is not exact decimal text.
    static func decimalCell(
        _ text: String, places: Int, table: String, column: String, scales: inout DecimalDisplayScales
    ) -> Cell? {
        guard let m = Money(decimalText: text) else { return nil }
        let scale = scales.scale(table: table, column: column, places: places)
        return (m.formatted(minimumFractionDigits: scale), .decimal(scale: scale), nil)
    }

    /// Digits after the point of plain decimal notation (`-12.50` → 2, `7` → 0); nil for anything else
    /// (an exponent, letters, an empty string).
    static func fractionDigits(_ text: String) -> Int? {
        var digits = 0
        var places = 0
        var sawPoint = false
        for (i, c) in text.utf8.enumerated() {
            switch c {
            case UInt8(ascii: "-") where i == 0: continue
            case UInt8(ascii: "."):
                if sawPoint { return nil }
                sawPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                if sawPoint { places += 1 }
            default: return nil
            }
        }
        return digits > 0 ? places : nil
    }

    /// `1 byte`, `16 bytes`: what a list shows of a binary value.
    static func binaryText(_ count: Int) -> String { count == 1 ? "1 byte" : "\(count) bytes" }

    /// Standard base64 (with `=` padding, as JsonConverter and Avro's JSON form write bytes); nil when not.
    static func base64Bytes(_ text: String) -> [UInt8]? {
        var bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return nil }
        if bytes.isEmpty { return [] }
        let outcome = bytes.withUnsafeMutableBufferPointer {
            Base64InPlace.decode($0.baseAddress!, from: 0, count: $0.count)
        }
        guard case .decoded(let n) = outcome else { return nil }
        return Array(bytes.prefix(n))
    }
}
