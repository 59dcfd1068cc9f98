import Foundation
import Metrics

// Confluent-framed messages (0x00, 4-byte schema id, Avro / JSON / Protobuf) in a profile sample.
// `profile init/check` fetch every schema id of the sample once, up front, so that reading the
// sample (SampleObservation) and feeding it to the engine (ProfileChecker) never wait on the
// registry, and both see the same schemas. Values are decoded by the engine's own Avro code
// (AvroSchema, AvroReader, AvroText): a row reads as the JsonConverter would have written it.

extension MessageSample {
    /// Schema ids of the framed keys and values, in the order first seen, with a topic that uses each.
    package var framedSchemaIDs: [(id: Int32, topic: String)] {
        var seen = Set<Int32>()
        var out: [(Int32, String)] = []
        for m in messages {
            for bytes in [m.key, m.value] {
                guard let bytes, let id = AvroWire.schemaID(bytes), seen.insert(id).inserted else { continue }
                out.append((id, m.topic))
            }
        }
        return out
    }

    /// Fetches the schema of every framed key and value not known yet, once per id. Without a
    /// registry, framed messages are an error that says to pass `--schema-registry`.
    package mutating func resolveSchemas(registry: SchemaRegistryClient?) throws(SamplingError) {
        let missing = framedSchemaIDs.filter { schemas[$0.id] == nil }
        guard let first = missing.first else { return }
        guard let registry else {
            let topics = Array(Set(missing.map(\.topic))).sorted()
            let named =
                topics.prefix(3).joined(separator: ", ") + (topics.count > 3 ? " and \(topics.count - 3) more" : "")
            throw SamplingError(
                "\(topics.count == 1 ? "topic" : "\(topics.count) topics") (\(named)) "
                    + "carr\(topics.count == 1 ? "ies" : "y") Confluent-framed messages (schema id \(first.id): Avro through a schema registry, "
                    + "e.g. Debezium with io.confluent.connect.avro.AvroConverter): pass --schema-registry URL, the registry the converter "
                    + "writes to (e.g. --schema-registry http://HOST:8081)")
        }
        for (id, topic) in missing {
            schemas[id] = try SampleSchemas.fetch(id: id, topic: topic, from: registry)
        }
    }
}

/// The sample's schemas as the engine's schema source (`EngineCore.schemaSource`): never waits.
package final class SampleSchemaSource: ConfluentSchemaSource {
    private let schemas: [Int32: RegisteredSchema]
    package init(_ schemas: [Int32: RegisteredSchema]) { self.schemas = schemas }
    package func schema(id: Int32, whileWaiting: () -> Void) -> RegisteredSchema? {
        // Every id of the sample was resolved before; one that was not is unusable rather than awaited.
        schemas[id] ?? RegisteredSchema(id: id, schemaType: "not fetched", text: "", subjects: [])
    }
}

/// A key or value of a sample, read as JSON whatever carried it.
enum SampleValue {
    /// JSON text (JsonConverter, or Confluent's JSON-Schema framing); nil when it does not parse.
    case json(JSONValue?)
    /// Avro, decoded with its writer's schema into the JSON the JsonConverter would have written.
    case avro(JSONValue, schemaID: Int32, schema: AvroSchema)
    /// Framed, but not readable: why (schema id and byte position where it applies).
    case unreadable(String)
}

enum SampleSchemas {

    /// A few passes over the registry's URLs: a registry that restarts is waited for briefly, not forever.
    static func fetch(id: Int32, topic: String, from registry: SchemaRegistryClient, attempts: Int = 3)
        throws(SamplingError) -> RegisteredSchema
    {
        var last = ""
        for attempt in 1...attempts {
            do { return try registry.fetch(id: id) } catch { last = error.message }
            if attempt < attempts { Thread.sleep(forTimeInterval: 0.5) }
        }
        throw SamplingError(
            "cannot fetch schema id \(id) (a message of \(topic)) from the schema registry \(registry.target): \(last); "
                + "check --schema-registry (the registry the connector's converter writes to) and that it is up")
    }

    /// One key or value: framed ones through their schema, the rest as JSON text.
    static func read(_ bytes: [UInt8], schemas: [Int32: RegisteredSchema]) -> SampleValue {
        guard let id = AvroWire.schemaID(bytes) else { return .json(JSONValue.parse(bytes)) }
        guard let registered = schemas[id] else {
            return .unreadable("schema id \(id) was not fetched from the registry")
        }
        switch registered.kind {
        case .avro(let schema):
            return bytes.withUnsafeBytes { raw -> SampleValue in
                var reader = AvroReader(UnsafeRawBufferPointer(rebasing: raw[AvroWire.headerSize...]))
                do throws(AvroStop) {
                    let value = try AvroText.value(&reader, schema.root, schema)
                    guard reader.pos == reader.count else {
                        return .unreadable(
                            "Avro: \(reader.count - reader.pos) trailing bytes after the record (schema id \(id), at byte \(reader.pos))"
                        )
                    }
                    return .avro(value, schemaID: id, schema: schema)
                } catch {
                    return .unreadable("Avro: \(error.reason) (schema id \(id), at byte \(error.at))")
                }
            }
        case .json:
            return .json(
                bytes.withUnsafeBytes { JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0[AvroWire.headerSize...])) })
        case .protobuf:
            return .unreadable(
                "schema id \(id) is a Protobuf schema: cdctop does not decode Protobuf (use Confluent's AvroConverter or the JsonConverter)"
            )
        case .unusable(let why):
            return .unreadable("schema id \(id) cannot be used: \(why)")
        }
    }

    /// Column → Kafka Connect type text, from an Avro value schema, worded as `SampleObservation`
    /// words a JsonConverter schema (AvroConverter keeps Connect's names: `connect.name`,
    /// `connect.type` for int8/int16, `connect.parameters` for a decimal's scale), so the same rows
    /// read the same through either converter.
    static func connectTypes(avro schema: AvroSchema, envelope: Bool) -> [String: String] {
        guard let root = JSONValue.parse(Array(schema.json.utf8)) else { return [:] }
        var records: [String: JSONValue] = [:]
        collectRecords(root, namespace: "", into: &records)
        guard let rootRecord = record(root, records: records), case .array(let fields)? = rootRecord["fields"] else {
            return [:]
        }
        var columns: [JSONValue] = []
        if envelope {
            for f in fields where f["name"]?.stringValue == "after" || f["name"]?.stringValue == "before" {
                if let image = record(f["type"] ?? .null, records: records), case .array(let cols)? = image["fields"] {
                    columns = cols
                    break
                }
            }
        } else {
            columns = fields
        }
        var types: [String: String] = [:]
        for c in columns {
            guard let name = c["name"]?.stringValue, let type = c["type"] else { continue }
            // A named type used again is only its name: read its definition.
            let t = nonNull(type).stringValue.flatMap { records[$0] } ?? nonNull(type)
            types[name] = SampleObservation.connectTypeText(
                type: connectType(t, records: records), name: t["connect.name"]?.stringValue,
                scale: t["connect.parameters"]?["scale"]?.int64Value ?? t["scale"]?.int64Value)
        }
        return types
    }

    /// The branch of an optional union (`["null", T]` or `[T, "null"]`) that is not null.
    private static func nonNull(_ type: JSONValue) -> JSONValue {
        guard case .array(let branches) = type else { return type }
        let others = branches.filter { $0.stringValue != "null" }
        return others.count == 1 ? others[0] : type
    }

    /// Connect's type name for an Avro type (as `AvroData.toConnectSchema` maps it back).
    private static func connectType(_ t: JSONValue, records: [String: JSONValue]) -> String {
        if let connect = t["connect.type"]?.stringValue { return connect }
        let avro: String
        switch t {
        case .string(let s): avro = s
        case .object: avro = t["type"]?.stringValue ?? "?"
        default: return "?"
        }
        switch avro {
        case "int": return "int32"
        case "long": return "int64"
        case "float", "double", "boolean", "string", "bytes", "array", "map": return avro
        case "fixed": return "bytes"
        case "enum": return "string"
        case "record": return "struct"
        default: return records[avro] != nil ? "struct" : avro
        }
    }

    /// The record a type is or names (directly, or as the non-null branch of a union).
    private static func record(_ type: JSONValue, records: [String: JSONValue]) -> JSONValue? {
        let t = nonNull(type)
        if let name = t.stringValue { return records[name] ?? records.first { $0.key.hasSuffix("." + name) }?.value }
        if t["type"]?.stringValue == "record" { return t }
        if let inner = t["type"], inner.stringValue == nil { return record(inner, records: records) }
        return nil
    }

    /// Every named record of a schema, by full name (an `after` often names the `before`'s record).
    private static func collectRecords(_ value: JSONValue, namespace: String, into out: inout [String: JSONValue]) {
        switch value {
        case .array(let items): for i in items { collectRecords(i, namespace: namespace, into: &out) }
        case .object:
            var ns = namespace
            if value["type"]?.stringValue == "record", let name = value["name"]?.stringValue {
                let full: String
                if name.contains(".") {
                    full = name
                    ns = String(name[..<name.lastIndex(of: ".")!])
                } else {
                    ns = value["namespace"]?.stringValue ?? namespace
                    full = ns.isEmpty ? name : ns + "." + name
                }
                out[full] = value
            }
            if case .array(let fields)? = value["fields"] {
                for f in fields { collectRecords(f["type"] ?? .null, namespace: ns, into: &out) }
            }
            if let inner = value["type"], inner.stringValue == nil { collectRecords(inner, namespace: ns, into: &out) }
            if let items = value["items"] { collectRecords(items, namespace: ns, into: &out) }
            if let values = value["values"] { collectRecords(values, namespace: ns, into: &out) }
        default: break
        }
    }
}
