import Metrics

/// An Avro record rendered as Debezium's JsonConverter would have written the same row (the `payload`
/// half of its `{"schema","payload"}` message), for people: the dashboard's raw view and change view.
/// Cold path: built from `AvroText.value` (the decoder's own text rules: floats as Java writes them,
/// bytes and decimals as base64, unions as their branch's value), one JSONValue per message opened.
package enum AvroJSONRendering {
    /// The record as a JSON value; an `AvroError` (with the byte position after the 5-byte header) when the
    /// bytes do not follow the schema, or when bytes are left after the record.
    package static func value(schema: AvroSchema, payload: UnsafeRawBufferPointer) throws(AvroError) -> JSONValue {
        var r = AvroReader(payload)
        let v: JSONValue
        do throws(AvroStop) {
            v = try AvroText.value(&r, schema.root, schema)
        } catch {
            throw AvroError(error.reason, position: error.at)
        }
        guard r.pos == r.count else {
            throw AvroError("\(r.count - r.pos) trailing bytes after the record", position: r.pos)
        }
        return v
    }

    /// Compact JSON text as Jackson writes it (`{"before":null,"after":{"id":1,…},…}`).
    package static func json(schema: AvroSchema, payload: UnsafeRawBufferPointer) throws(AvroError) -> String {
        var out = ""
        AvroText.json(try value(schema: schema, payload: payload), into: &out)
        return out
    }

    /// Column name → logical type, from the schema's record fields at any depth: what
    /// `SchemaTypes.collectTypes` reads from a JsonConverter `schema` for the same row.
    static func columnTypes(_ schema: AvroSchema) -> [String: SchemaTypes.Logical] {
        var types: [String: SchemaTypes.Logical] = [:]
        for node in schema.nodes where node.kind == .record {
            for f in node.fields {
                var t = schema.nodes[Int(f.type)]
                // An optional column is a union with null: its type is the other branch.
                if t.kind == .union, t.branches.count == 2, t.nullBranch >= 0 {
                    t = schema.nodes[Int(t.branches[1 - t.nullBranch])]
                }
                let logical: SchemaTypes.Logical? =
                    switch t.logical {
                    case .decimal(let scale): .decimal(scale: scale)
                    case .variableScaleDecimal: .variableScaleDecimal
                    case .microTimestamp: .microTimestamp
                    case .timestamp: .timestamp
                    case .nanoTimestamp: .nanoTimestamp
                    case .zonedTimestamp: .zonedTimestamp
                    case .date: .date
                    case .microTime: .microTime
                    case .time: .time
                    case .nanoTime, .none: nil
                    }
                if let logical { types[f.name] = logical } else if t.kind == .bytes { types[f.name] = .binary }
            }
        }
        return types
    }
}

extension ChangeDescription {
    /// The before/after images of an Avro value (the bytes after the Confluent header) written with
    /// `schema`, rendered exactly as `decode(value:)` renders the same row from JsonConverter's JSON
    /// (decimals at the schema's scale, times as ISO-8601); nil when the bytes are not a Debezium change.
    package static func decode(avroPayload payload: [UInt8], schema: AvroSchema) -> ChangeDescription? {
        guard let value = payload.withUnsafeBytes({ try? AvroJSONRendering.value(schema: schema, payload: $0) }) else {
            return nil
        }
        var scales = DecimalDisplayScales()
        return DebeziumFullDecoder.describe(
            payload: value, types: AvroJSONRendering.columnTypes(schema), scales: &scales)
    }
}

/// What a column's JSON value says to people where JsonConverter's form hides it, for notes beside the
/// raw view's JSON: a decimal's base64 (`"AiMb"` → `1400.59`), an integer time (`1795347153969000` →
/// `2026-11-22T11:32:33.969Z`); nil when the value reads as it is. Rendered as the change view renders it.
package struct AvroReadableValues: Sendable {
    private let types: [String: SchemaTypes.Logical]

    package init(schema: AvroSchema) { types = AvroJSONRendering.columnTypes(schema) }

    package func readable(column: String, value: JSONValue) -> String? {
        guard let type = types[column] else { return nil }
        switch value {
        case .string, .number:
            let text = DebeziumFullDecoder.renderValue(value, type: type, defaultScale: 0)
            if case .string(let s) = value, s == text { return nil }
            if case .number(let n) = value, n == text { return nil }
            return text
        default:
            return nil
        }
    }
}
