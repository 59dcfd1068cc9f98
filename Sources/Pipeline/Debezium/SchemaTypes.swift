/// Reading Kafka Connect schemas (the `schema` half of JsonConverter's output).
enum SchemaTypes {
    /// Logical type of a column, for rendering values to people.
    enum Logical: Sendable, Hashable {
        case decimal(scale: Int)
        case variableScaleDecimal
        case microTimestamp, timestamp, nanoTimestamp, zonedTimestamp
        case date, microTime, time
        /// `bytes` without a logical name (bytea): base64 in JSON.
        case binary
        case plain
    }

    /// Collects `column → scale` for every `org.apache.kafka.connect.data.Decimal` field, at any depth.
    static func collectDecimalScales(_ schema: JSONValue, into scales: inout [String: Int]) {
        var types: [String: Logical] = [:]
        collectTypes(schema, into: &types)
        for (name, t) in types { if case .decimal(let s) = t { scales[name] = s } }
    }

    static func collectTypes(_ schema: JSONValue, into types: inout [String: Logical]) {
        guard case .object = schema else { return }
        if let field = schema["field"]?.stringValue, let name = schema["name"]?.stringValue {
            switch name {
            case "org.apache.kafka.connect.data.Decimal":
                let scale = schema["parameters"]?["scale"]?.int64Value ?? 0
                types[field] = .decimal(scale: Int(scale))
            case "io.debezium.data.VariableScaleDecimal": types[field] = .variableScaleDecimal
            case "io.debezium.time.MicroTimestamp": types[field] = .microTimestamp
            case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp": types[field] = .timestamp
            case "io.debezium.time.NanoTimestamp": types[field] = .nanoTimestamp
            case "io.debezium.time.ZonedTimestamp": types[field] = .zonedTimestamp
            case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date": types[field] = .date
            case "io.debezium.time.MicroTime": types[field] = .microTime
            case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time": types[field] = .time
            default: break
            }
        } else if let field = schema["field"]?.stringValue, schema["type"]?.stringValue == "bytes" {
            types[field] = .binary
        }
        if case .array(let fields)? = schema["fields"] {
            // Columns of before/after share names; the envelope's own fields (source, op…) never are decimals.
            for f in fields { collectTypes(f, into: &types) }
        }
    }
}
