import Metrics

/// The full before/after images of one Debezium message, for people (the Tables drill-down).
/// Decoded on demand from raw bytes; the hot path never builds this.
public struct ChangeDescription: Sendable, Hashable {
    public struct Field: Sendable, Hashable {
        public var name: String
        /// Rendered value: decimals exact, timestamps ISO-8601 UTC, null as "null",
        /// `__debezium_unavailable_value` as "(unchanged)".
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }
    public var op: ChangeOp
    public var table: String
    public var commitTimeMs: Int64
    public var before: [Field]?
    public var after: [Field]?

    /// Names of columns whose value differs between before and after (updates), in column order.
    public var changedColumns: [String] {
        guard let before, let after else { return (after ?? before ?? []).map(\.name) }
        let old = Dictionary(before.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        return after.filter { old[$0.name] != $0.value }.map(\.name)
    }

    public init(op: ChangeOp, table: String, commitTimeMs: Int64, before: [Field]?, after: [Field]?) {
        self.op = op; self.table = table; self.commitTimeMs = commitTimeMs; self.before = before; self.after = after
    }

    /// Decodes a Debezium value (any form cdctop reads). Nil when the bytes are not a Debezium change.
    /// `defaultDecimalScale` is used for precise decimals without a schema.
    public static func decode(value: [UInt8], defaultDecimalScale: Int = 2) -> ChangeDescription? {
        DebeziumFullDecoder.describe(value, defaultDecimalScale: defaultDecimalScale)
    }
}

enum DebeziumFullDecoder {
    static func describe(_ value: [UInt8], defaultDecimalScale: Int) -> ChangeDescription? {
        guard let root = JSONValue.parse(value) else { return nil }
        var types: [String: SchemaTypes.Logical] = [:]
        var payload = root
        if let schema = root["schema"], let p = root["payload"] {
            SchemaTypes.collectTypes(schema, into: &types)
            payload = p
        }
        return describe(payload: payload, types: types, defaultDecimalScale: defaultDecimalScale)
    }

    /// A payload as JsonConverter writes it, with the logical types of its columns (JSON's `schema`, or Avro's).
    static func describe(payload: JSONValue, types: [String: SchemaTypes.Logical], defaultDecimalScale: Int) -> ChangeDescription? {
        guard case .object(let members) = payload else { return nil }
        let render = { (v: JSONValue?) -> [ChangeDescription.Field]? in
            guard let v, case .object(let fields) = v else { return nil }
            return fields.map { .init(name: $0.key, value: renderValue($0.value, type: types[$0.key], defaultScale: defaultDecimalScale)) }
        }
        if let opText = payload["op"]?.stringValue, let opByte = opText.utf8.first, let op = ChangeOp(code: opByte) {
            let source = payload["source"]
            let ts = source?["ts_ms"]?.int64Value ?? payload["ts_ms"]?.int64Value ?? 0
            return ChangeDescription(op: op, table: source?["table"]?.stringValue ?? "", commitTimeMs: ts,
                                     before: render(payload["before"]), after: render(payload["after"]))
        }
        // Unwrapped record: columns plus __ metadata.
        let columns = members.filter { !$0.key.hasPrefix("__") }
        let row = columns.map { ChangeDescription.Field(name: $0.key, value: renderValue($0.value, type: types[$0.key], defaultScale: defaultDecimalScale)) }
        let deleted = payload["__deleted"]?.stringValue == "true" || payload["__deleted"] == .bool(true)
        var op = payload["__op"]?.stringValue?.utf8.first.flatMap { ChangeOp(code: $0) } ?? .update
        if deleted { op = .delete }
        let ts = payload["__source_ts_ms"]?.int64Value ?? 0
        let table = payload["__table"]?.stringValue ?? ""
        return op == .delete
            ? ChangeDescription(op: op, table: table, commitTimeMs: ts, before: row, after: nil)
            : ChangeDescription(op: op, table: table, commitTimeMs: ts, before: nil, after: row)
    }

    static func renderValue(_ v: JSONValue, type: SchemaTypes.Logical?, defaultScale: Int) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n):
            guard let i = Int64(n) else { return n }
            switch type {
            case .microTimestamp?: return TimeText.iso8601(micros: i)
            case .timestamp?: return TimeText.iso8601(ms: i)
            case .nanoTimestamp?: return TimeText.iso8601(micros: i / 1000)
            case .date?: return TimeText.date(fromDays: i)
            case .microTime?: return TimeText.iso8601(micros: i).split(separator: "T").last.map { String($0.dropLast()) } ?? n
            case .time?: return TimeText.iso8601(ms: i).split(separator: "T").last.map { String($0.dropLast()) } ?? n
            default: return n
            }
        case .string(let s):
            if s == "__debezium_unavailable_value" { return "(unchanged)" }
            var bytes = Array(s.utf8)
            if case .decimal(let scale)? = type,
               let m = bytes.withUnsafeMutableBytes({ DecimalCodec.moneyFromBase64(UnsafeRawBufferPointer($0), scale: scale) }) {
                return m.formatted(minimumFractionDigits: scale)
            }
            return s
        case .object:
            if let scale = v["scale"]?.int64Value, let text = v["value"]?.stringValue {
                var bytes = Array(text.utf8)
                if let m = bytes.withUnsafeMutableBytes({ DecimalCodec.moneyFromBase64(UnsafeRawBufferPointer($0), scale: Int(scale)) }) {
                    return m.formatted(minimumFractionDigits: Int(scale))
                }
            }
            return "{…}"
        case .array(let items): return "[\(items.count) items]"
        }
    }
}
