import Foundation
import Metrics

/// What a sample says about one column of one table.
package struct ColumnObservation: Sendable, Codable {
    package var name: String
    /// JSON types seen in row images: integer, number (with a fraction), string, numeric string,
    /// boolean, object, array (null is counted apart).
    package var jsonTypes: [String: Int] = [:]
    /// The Kafka Connect schema type when messages carry a schema: int32, float64, string,
    /// decimal(scale 2), date, timestamp(micro)…
    package var connectType: String?
    /// Row images that hold the column, and those where it is null.
    package var present = 0
    package var nulls = 0
    /// Debezium's unavailable-value placeholder (an unchanged TOASTed value).
    package var unavailable = 0
    /// Distinct text values, up to `ColumnObservation.distinctCap` (nil once more were seen).
    package var distinctText: [String]? = []
    /// A fraction was seen (a numeric value with digits after the point, not all zero).
    package var hasFraction = false
    /// Largest absolute numeric value seen (for telling a 0..1 discount from an amount).
    package var maxMagnitude: Double = 0
    /// A few values as text, for the report.
    package var examples: [String] = []

    package static let distinctCap = 50

    package init(name: String) { self.name = name }

    package var isNumeric: Bool {
        let numeric =
            (jsonTypes["integer"] ?? 0) + (jsonTypes["number"] ?? 0) + (jsonTypes["numeric string"] ?? 0)
            + (jsonTypes["decimal bytes"] ?? 0)
        return numeric > 0 && numeric == jsonTypes.values.reduce(0, +)
    }
    package var isText: Bool { (jsonTypes["string"] ?? 0) > 0 }
    /// Values that a sum could not use: text that is not a number, booleans, nested values.
    package var nonNumericValues: Int {
        (jsonTypes["string"] ?? 0) + (jsonTypes["boolean"] ?? 0) + (jsonTypes["object"] ?? 0)
            + (jsonTypes["array"] ?? 0)
            + (connectType?.hasPrefix("decimal") == true ? 0 : (jsonTypes["decimal bytes"] ?? 0))
    }
    package var typeSummary: String {
        var parts = jsonTypes.sorted { $0.value > $1.value }.map { $0.key }
        if parts.isEmpty { parts = ["no value"] }
        return parts.joined(separator: "/") + (connectType.map { " (schema \($0))" } ?? "")
    }
    package var distinctSummary: String? {
        guard let d = distinctText else { return ">\(ColumnObservation.distinctCap) distinct" }
        return d.isEmpty ? nil : "\(d.count) distinct"
    }
}

/// What a sample says about one table (one or several topics).
package struct TableObservation: Sendable, Codable {
    package var name: String
    package var topics: [String] = []
    package var messages = 0
    /// Change events per op: r (snapshot read), c, u, d, t.
    package var ops: [String: Int] = [:]
    package var tombstones = 0
    /// Messages with no record key (a table without a primary key, and no message.key.columns).
    package var withoutKey = 0
    /// Columns of the record key, in order (from the first keyed message).
    package var keyColumns: [String] = []
    /// Deletes by what their before image carries.
    package var deletesFull = 0
    package var deletesKeyOnly = 0
    package var deletesNoBefore = 0
    /// Row images counted into column statistics (after images, and full before images of deletes).
    package var images = 0
    package var columns: [ColumnObservation] = []
    package var hasSchema = false
    /// ExtractNewRecordState (unwrapped) rows rather than Debezium's envelope.
    package var unwrapped = false
    /// Messages of the table's topics that were not change events (unreadable JSON or Avro, an unusable schema).
    package var unreadable = 0
    package var unreadableExample: String?

    package init(name: String) { self.name = name }

    package func column(_ name: String) -> ColumnObservation? { columns.first { $0.name == name } }
    package var changeEvents: Int { ops.values.reduce(0, +) }
    package var deletes: Int { deletesFull + deletesKeyOnly + deletesNoBefore }
    package var opSummary: String {
        ["r", "c", "u", "d", "t"].compactMap { op in ops[op].map { "\(op) \($0)" } }.joined(separator: ", ")
    }
    /// REPLICA IDENTITY, as the deletes show it.
    package var deleteImages: String {
        if deletes == 0 { return "no delete in the sample" }
        var parts: [String] = []
        if deletesFull > 0 { parts.append("\(deletesFull) with full before images (REPLICA IDENTITY FULL, or MySQL)") }
        if deletesKeyOnly > 0 { parts.append("\(deletesKeyOnly) with only the key (REPLICA IDENTITY DEFAULT)") }
        if deletesNoBefore > 0 { parts.append("\(deletesNoBefore) with no before image") }
        return parts.joined(separator: ", ")
    }
}

/// A whole sample, read table by table.
package struct SampleObservation: Sendable, Codable {
    package var tables: [TableObservation] = []
    package var messages = 0
    /// Topic → table its messages belong to.
    package var tableOfTopic: [String: String] = [:]
    package var heartbeats = 0
    package var schemaChanges = 0

    package func table(_ name: String) -> TableObservation? { tables.first { $0.name == name } }

    /// Reads every message. `tableFor` pins topics to a table (a profile's `[tables.X] topics`); others
    /// take Debezium's `source.table`, else the topic's last name part.
    package init(_ sample: MessageSample, tableFor: (String) -> String? = { _ in nil }) {
        var index: [String: Int] = [:]
        var decimalScales: [String: [String: String]] = [:]  // topic → column → connect type
        var avroTypes: [Int32: [String: String]] = [:]  // Avro schema id → column → connect type
        for m in sample.messages {
            messages += 1
            guard let bytes = m.value else {
                let name = tableOfTopic[m.topic] ?? tableFor(m.topic) ?? DebeziumTopicName.table(of: m.topic)
                let t = SampleObservation.slot(name, &index, &tables)
                tables[t].tombstones += 1
                tables[t].messages += 1
                if !tables[t].topics.contains(m.topic) { tables[t].topics.append(m.topic) }
                continue
            }
            var payload: JSONValue? = nil
            var schema: JSONValue? = nil
            var avro: (id: Int32, schema: AvroSchema)? = nil
            var unreadable: String? = nil
            switch SampleSchemas.read(bytes, schemas: sample.schemas) {
            case .json(let parsed):
                payload = parsed
                if let p = parsed, p["payload"] != nil, p["schema"] != nil || SampleObservation.memberCount(p) <= 2 {
                    payload = p["payload"]
                    schema = p["schema"]
                }
            case .avro(let value, let id, let avroSchema):
                payload = value
                avro = (id, avroSchema)
            case .unreadable(let why):
                unreadable = why
            }
            if m.topic.hasPrefix("__debezium-heartbeat") {
                heartbeats += 1
                continue
            }
            if let p = payload,
                p["ddl"] != nil || p["tableChanges"] != nil || p["databaseName"] != nil && p["op"] == nil
            {
                schemaChanges += 1
                continue
            }
            let envelope = payload.map { $0["op"] != nil && ($0["before"] != nil || $0["after"] != nil) } ?? false
            var name = tableFor(m.topic)
            if name == nil, let p = payload {
                name =
                    envelope
                    ? p["source"]?["table"]?.stringValue
                    : (p["__table"]?.stringValue ?? p["__source_table"]?.stringValue)
            }
            let tableName = name ?? DebeziumTopicName.table(of: m.topic)
            let t = SampleObservation.slot(tableName, &index, &tables)
            tableOfTopic[m.topic] = tableName
            tables[t].messages += 1
            if !tables[t].topics.contains(m.topic) { tables[t].topics.append(m.topic) }
            guard let payload, case .object(let members) = payload else {
                tables[t].unreadable += 1
                if tables[t].unreadableExample == nil {
                    tables[t].unreadableExample = unreadable ?? String(decoding: bytes.prefix(80), as: UTF8.self)
                }
                continue
            }
            var types: [String: String] = [:]
            if let schema {
                tables[t].hasSchema = true
                if decimalScales[m.topic] == nil {
                    var found: [String: String] = [:]
                    SampleObservation.collectConnectTypes(schema, envelope: envelope, into: &found)
                    decimalScales[m.topic] = found
                }
                types = decimalScales[m.topic] ?? [:]
            } else if let avro {
                // Avro always carries its (writer's) schema; every ALTER TABLE makes a new id.
                tables[t].hasSchema = true
                if avroTypes[avro.id] == nil {
                    avroTypes[avro.id] = SampleSchemas.connectTypes(avro: avro.schema, envelope: envelope)
                }
                types = avroTypes[avro.id] ?? [:]
            } else {
                types = decimalScales[m.topic] ?? [:]
            }
            // The record key.
            var keyColumns: [String] = []
            var keyValue: JSONValue? = nil
            if let key = m.key {
                switch SampleSchemas.read(key, schemas: sample.schemas) {
                case .json(let k):
                    keyValue = k.map { ($0["payload"] != nil && $0["schema"] != nil) ? $0["payload"]! : $0 }
                case .avro(let k, _, _): keyValue = k
                case .unreadable: break
                }
            }
            if let kp = keyValue {
                if case .object(let km) = kp {
                    keyColumns = km.map(\.key)
                } else if !kp.isNull {
                    keyColumns = ["(scalar key)"]
                }
            }
            if keyColumns.isEmpty {
                tables[t].withoutKey += 1
            } else if tables[t].keyColumns.isEmpty {
                tables[t].keyColumns = keyColumns
            }
            if envelope {
                let op = payload["op"]?.stringValue ?? "?"
                tables[t].ops[op, default: 0] += 1
                switch op {
                case "d":
                    guard let before = payload["before"], case .object(let cols) = before else {
                        tables[t].deletesNoBefore += 1
                        continue
                    }
                    let keys = Set(tables[t].keyColumns.isEmpty ? keyColumns : tables[t].keyColumns)
                    let others = cols.filter { !keys.contains($0.key) }
                    if !others.isEmpty && others.allSatisfy({ SampleObservation.isBlank($0.value) }) {
                        tables[t].deletesKeyOnly += 1
                    } else {
                        tables[t].deletesFull += 1
                        observe(row: cols, table: t, types: types)
                    }
                case "t": break
                default:
                    if let after = payload["after"], case .object(let cols) = after {
                        observe(row: cols, table: t, types: types)
                    }
                }
            } else {
                tables[t].unwrapped = true
                let deleted = payload["__deleted"]?.stringValue == "true" || payload["__deleted"] == .bool(true)
                let op = deleted ? "d" : (payload["__op"]?.stringValue ?? "r")
                tables[t].ops[op, default: 0] += 1
                let cols = members.filter { !$0.key.hasPrefix("__") }
                if deleted {
                    let keys = Set(keyColumns)
                    let others = cols.filter { !keys.contains($0.key) }
                    if !others.isEmpty && others.allSatisfy({ SampleObservation.isBlank($0.value) }) {
                        tables[t].deletesKeyOnly += 1
                        continue
                    }
                    tables[t].deletesFull += 1
                }
                observe(row: cols, table: t, types: types)
            }
        }
        tables.sort { $0.name < $1.name }
    }

    private mutating func observe(row: [(key: String, value: JSONValue)], table t: Int, types: [String: String]) {
        tables[t].images += 1
        for (name, value) in row {
            var c: Int
            if let i = tables[t].columns.firstIndex(where: { $0.name == name }) {
                c = i
            } else {
                tables[t].columns.append(ColumnObservation(name: name))
                c = tables[t].columns.count - 1
            }
            var col = tables[t].columns[c]
            col.present += 1
            if col.connectType == nil { col.connectType = types[name] }
            let isDecimalSchema = col.connectType?.hasPrefix("decimal") == true
            var text: String? = nil
            switch value {
            case .null: col.nulls += 1
            case .bool(let b):
                col.jsonTypes["boolean", default: 0] += 1
                text = b ? "true" : "false"
            case .number(let n):
                let fraction = SampleObservation.hasFraction(n)
                col.jsonTypes[
                    n.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? "number" : "integer", default: 0] += 1
                col.hasFraction = col.hasFraction || fraction
                col.maxMagnitude = max(col.maxMagnitude, abs(Double(n) ?? 0))
                text = n
            case .string(let s):
                if s == "__debezium_unavailable_value" || s == "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==" {
                    col.unavailable += 1
                } else if isDecimalSchema {
                    col.jsonTypes["decimal bytes", default: 0] += 1
                    let scale = Int(col.connectType!.filter(\.isNumber)) ?? 0
                    if let u = Array(s.utf8).withUnsafeBytes({ DecimalCodec.unscaledFromBase64($0) }),
                        let d = ExactDecimal(units: u, scale: scale)
                    {
                        text = d.description
                        col.hasFraction = col.hasFraction || SampleObservation.hasFraction(d.description)
                        col.maxMagnitude = max(col.maxMagnitude, abs(Double(d.description) ?? 0))
                    }
                } else if ExactDecimal.parse(s) != nil,
                    col.connectType == nil || col.connectType!.hasPrefix("decimal")
                        || col.connectType == "variable-scale decimal" || s.first?.isNumber == true || s.first == "-"
                {
                    col.jsonTypes["numeric string", default: 0] += 1
                    col.hasFraction = col.hasFraction || SampleObservation.hasFraction(s)
                    col.maxMagnitude = max(col.maxMagnitude, abs(Double(s) ?? 0))
                    text = s
                } else {
                    col.jsonTypes["string", default: 0] += 1
                    text = s
                    if var d = col.distinctText, !d.contains(s) {
                        if d.count >= ColumnObservation.distinctCap {
                            col.distinctText = nil
                        } else {
                            d.append(s)
                            col.distinctText = d
                        }
                    }
                }
            case .object(let o):
                if o.contains(where: { $0.key == "scale" }) && o.contains(where: { $0.key == "value" }) {
                    col.jsonTypes["decimal bytes", default: 0] += 1
                    if col.connectType == nil { col.connectType = "variable-scale decimal" }
                } else {
                    col.jsonTypes["object", default: 0] += 1
                }
            case .array: col.jsonTypes["array", default: 0] += 1
            }
            if let text, col.examples.count < 3, !col.examples.contains(text) {
                col.examples.append(String(text.prefix(40)))
            }
            tables[t].columns[c] = col
        }
    }

    static func hasFraction(_ n: String) -> Bool {
        guard let dot = n.firstIndex(of: ".") else { return false }
        return n[n.index(after: dot)...].prefix { $0.isNumber }.contains { $0 != "0" }
    }

    static func isBlank(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return true
        case .bool(let b): return !b
        case .number(let n): return Double(n) == 0
        case .string(let s):
            return s.isEmpty || s == "__debezium_unavailable_value" || s == "AA=="
                || s == "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="
        default: return false
        }
    }

    static func memberCount(_ v: JSONValue) -> Int { if case .object(let m) = v { m.count } else { 0 } }

    private static func slot(_ name: String, _ index: inout [String: Int], _ tables: inout [TableObservation]) -> Int {
        if let i = index[name] { return i }
        tables.append(TableObservation(name: name))
        index[name] = tables.count - 1
        return tables.count - 1
    }

    /// Column → Connect type, from a value schema (the envelope's `after`/`before` struct, or an
    /// unwrapped row's own fields).
    static func collectConnectTypes(_ schema: JSONValue, envelope: Bool, into types: inout [String: String]) {
        guard case .array(let fields)? = schema["fields"] else { return }
        var columns: [JSONValue] = []
        if envelope {
            for f in fields where f["field"]?.stringValue == "after" || f["field"]?.stringValue == "before" {
                if case .array(let cols)? = f["fields"] {
                    columns = cols
                    break
                }
            }
        } else {
            columns = fields
        }
        for c in columns {
            guard let field = c["field"]?.stringValue else { continue }
            types[field] = connectTypeText(
                type: c["type"]?.stringValue ?? "?", name: c["name"]?.stringValue,
                scale: c["parameters"]?["scale"]?.int64Value)
        }
    }

    /// How a column's Connect type reads in the report and the draft: the type, or what its
    /// logical name (`connect.name`) makes of it. JSON and Avro schemas are both worded here.
    static func connectTypeText(type: String, name: String?, scale: Int64?) -> String {
        switch name {
        case "org.apache.kafka.connect.data.Decimal"?: return "decimal(scale \(scale ?? 0))"
        case "io.debezium.data.VariableScaleDecimal"?: return "variable-scale decimal"
        case "io.debezium.time.Date"?, "org.apache.kafka.connect.data.Date"?: return "date (\(type) days)"
        case "io.debezium.time.MicroTimestamp"?: return "timestamp (\(type) µs)"
        case "io.debezium.time.Timestamp"?, "org.apache.kafka.connect.data.Timestamp"?: return "timestamp (\(type) ms)"
        case "io.debezium.time.NanoTimestamp"?: return "timestamp (\(type) ns)"
        case "io.debezium.time.ZonedTimestamp"?: return "timestamp with zone (string)"
        case "io.debezium.time.MicroTime"?, "io.debezium.time.Time"?, "org.apache.kafka.connect.data.Time"?:
            return "time (\(type))"
        case "io.debezium.data.Enum"?: return "enum (string)"
        case "io.debezium.data.Json"?: return "json (string)"
        case let other?: return "\(type) \(other)"
        case nil: return type
        }
    }
}
