import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Kafka Connect records (JsonConverter's `{"schema","payload"}`) re-encoded as Confluent's AvroConverter
/// writes them (`AvroData.fromConnectSchema`): structs → records named after the Connect schema (defined
/// once, then referenced by name), optional fields → unions with null (null first unless the field has a
/// non-null default: then `[T, "null"]`, as `source.snapshot`), int8/int16 → int with `connect.type`,
/// Decimal → bytes with `logicalType: decimal`, `connect.name`/`connect.parameters` kept. The test's own
/// encoder, independent of the decoder and of the generator's.
enum ConnectAvro {
    static func q(_ s: String) -> String { JSONText.quoted(s) }
    static func optional(_ s: JSONValue) -> Bool { if case .bool(true)? = s["optional"] { true } else { false } }
    static func hasDefault(_ s: JSONValue) -> Bool { s["default"].map { !$0.isNull } ?? false }

    static func schema(_ s: JSONValue) -> String {
        var named = Set<String>()
        return schema(s, named: &named, top: true)
    }

    static func schema(_ s: JSONValue, named: inout Set<String>, top: Bool = false) -> String {
        let plain = plainSchema(s, named: &named)
        guard optional(s) && !top else { return plain }
        return hasDefault(s) ? "[\(plain),\"null\"]" : "[\"null\",\(plain)]"
    }

    static func plainSchema(_ s: JSONValue, named: inout Set<String>) -> String {
        let type = s["type"]?.stringValue ?? ""
        let name = s["name"]?.stringValue
        var extras = ""
        if let v = s["version"]?.int64Value { extras += ",\"connect.version\":\(v)" }
        if case .object(let ps)? = s["parameters"] {
            extras +=
                ",\"connect.parameters\":{"
                + ps.map { q($0.key) + ":" + q($0.value.stringValue ?? "") }.joined(separator: ",") + "}"
        }
        if let name { extras += ",\"connect.name\":" + q(name) }
        switch type {
        case "struct":
            let full = name ?? "io.confluent.connect.avro.ConnectDefault"
            if named.contains(full) { return q(full) }
            named.insert(full)
            var out = "{\"type\":\"record\",\"name\":" + q(full) + ",\"fields\":["
            if case .array(let fields)? = s["fields"] {
                out += fields.map { f in
                    var t = "{\"name\":" + q(f["field"]?.stringValue ?? "") + ",\"type\":" + schema(f, named: &named)
                    if optional(f) && !hasDefault(f) { t += ",\"default\":null" }
                    return t + "}"
                }.joined(separator: ",")
            }
            return out + "]" + extras + "}"
        case "array":
            return "{\"type\":\"array\",\"items\":" + schema(s["items"] ?? .null, named: &named) + extras + "}"
        case "map":
            return "{\"type\":\"map\",\"values\":" + schema(s["values"] ?? .null, named: &named) + extras + "}"
        case "int8", "int16":
            return "{\"type\":\"int\",\"connect.type\":\"\(type)\"" + extras + "}"
        default:
            // JsonConverter writes "float"/"double"
            let avro = ["int32": "int", "int64": "long", "float32": "float", "float64": "double"][type] ?? type
            if name == "org.apache.kafka.connect.data.Decimal" {
                let scale = s["parameters"]?["scale"]?.stringValue ?? "0"
                return "{\"type\":\"bytes\",\"scale\":\(scale),\"logicalType\":\"decimal\"" + extras + "}"
            }
            return extras.isEmpty ? q(avro) : "{\"type\":" + q(avro) + extras + "}"
        }
    }

    static func value(_ v: JSONValue, _ s: JSONValue, top: Bool = true, to out: inout [UInt8]) {
        if optional(s) && !top {
            let nullBranch: Int64 = hasDefault(s) ? 1 : 0
            if v.isNull {
                long(nullBranch, &out)
                return
            }
            long(1 - nullBranch, &out)
        }
        switch s["type"]?.stringValue ?? "" {
        case "struct":
            if case .array(let fields)? = s["fields"] {
                for f in fields { value(v[f["field"]?.stringValue ?? ""] ?? .null, f, top: false, to: &out) }
            }
        case "array":
            if case .array(let items) = v, !items.isEmpty {
                long(Int64(items.count), &out)
                for i in items { value(i, s["items"]!, top: false, to: &out) }
            }
            long(0, &out)
        case "map":
            if case .object(let ms) = v, !ms.isEmpty {
                long(Int64(ms.count), &out)
                for m in ms {
                    string(m.key, &out)
                    value(m.value, s["values"]!, top: false, to: &out)
                }
            }
            long(0, &out)
        case "int8", "int16", "int32", "int64": long(v.int64Value!, &out)
        case "float32", "float":
            guard case .number(let t) = v else { fatalError() }
            withUnsafeBytes(of: Float(t)!.bitPattern.littleEndian) { out += $0 }
        case "float64", "double":
            guard case .number(let t) = v else { fatalError() }
            withUnsafeBytes(of: Double(t)!.bitPattern.littleEndian) { out += $0 }
        case "boolean": out.append(v == .bool(true) ? 1 : 0)
        case "string": string(v.stringValue!, &out)
        case "bytes":
            let data = Data(base64Encoded: v.stringValue!)!
            long(Int64(data.count), &out)
            out += data
        default: fatalError("type \(String(describing: s["type"]))")
        }
    }

    static func long(_ n: Int64, _ out: inout [UInt8]) {
        var z = UInt64(bitPattern: (n << 1) ^ (n >> 63))
        while z >= 0x80 {
            out.append(UInt8(z & 0x7F) | 0x80)
            z >>= 7
        }
        out.append(UInt8(z))
    }
    static func string(_ s: String, _ out: inout [UInt8]) {
        long(Int64(s.utf8.count), &out)
        out += Array(s.utf8)
    }
    static func bytes(_ b: [UInt8], _ out: inout [UInt8]) {
        long(Int64(b.count), &out)
        out += b
    }
    static func double(_ d: Double, _ out: inout [UInt8]) {
        withUnsafeBytes(of: d.bitPattern.littleEndian) { out += $0 }
    }

    /// A JsonConverter message (with schema) as (Avro schema text, Avro payload); nil without a schema.
    static func convert(_ bytes: [UInt8]) -> (schema: String, payload: [UInt8])? {
        guard let json = JSONValue.parse(bytes), let s = json["schema"], case .object = s, let p = json["payload"]
        else { return nil }
        var out: [UInt8] = []
        value(p, s, to: &out)
        return (schema(s), out)
    }
}

/// Decoded outcomes as comparable text (malformed reasons without their position suffix).
func canonical(_ o: DecodeOutcome) -> String {
    switch o {
    case .event(let e):
        return
            "event \(e.table) \(e.role) \(e.op) before=\(String(describing: e.before)) after=\(String(describing: e.after)) t=\(e.commitTimeMs) snap=\(e.isSnapshot) dbz=\(e.debeziumTimeMs) model=\(e.modelTable)"
    case .malformed(let t, let reason):
        let cut = reason.range(of: " (", options: .backwards).map { String(reason[..<$0.lowerBound]) } ?? reason
        return "malformed \(t) \(cut)"
    default:
        return "\(o)"
    }
}

/// A schema source for EngineCore: every schema the test registered.
typealias TestSchemas = InMemorySchemaSource

extension InMemorySchemaSource {
    func id(for text: String) -> Int32 { register(text) }
    func avro(_ id: Int32) -> AvroSchema {
        if case .avro(let s) = byID[id]!.kind { return s }
        fatalError("not Avro")
    }

    /// A JsonConverter message framed as AvroConverter would have written it; unchanged when schemaless.
    func frame(_ bytes: [UInt8]?) -> [UInt8]? {
        guard let bytes, let (text, payload) = ConnectAvro.convert(bytes) else { return bytes }
        let id = id(for: text)
        return [0] + withUnsafeBytes(of: UInt32(bitPattern: id).bigEndian) { Array($0) } + payload
    }
}

extension DebeziumDecoder {
    /// Test helper: one framed Avro value through `decodeAvro`.
    func decodeAvro(topic: String, schema: AvroSchema, id: Int32 = 7, payload: [UInt8], kafkaTimestampMs: Int64 = 0)
        -> DecodeOutcome
    {
        var event = ChangeEvent(table: "", role: .other, op: .create, before: nil, after: nil, commitTimeMs: 0)
        let slot = slot(forTopic: topic)
        let other = payload.withUnsafeBytes {
            decodeAvro(
                slot: slot, schemaID: id, schema: schema, payload: $0, kafkaTimestampMs: kafkaTimestampMs, into: &event)
        }
        return other?.outcome ?? .event(event)
    }
}

@Suite("Avro decoder: the JSON path's events from Avro")
struct AvroDecoderTests {
    /// Fixture files with schemas (JsonConverter schemas.enable=true): PostgreSQL precise, MySQL in three decimal modes.
    static let sampleSets: [(files: [String], profile: KPIProfile)] = [
        (Samples.tables.map { "shop.public.\($0).jsonl" }, .samples),
        (["shopmy.jsonl"] + MySQLSamples.tables.map { "shopmy.shopfx.\($0).jsonl" }, MySQLSamples.profile),
        (["shopmystr.jsonl"] + MySQLSamples.tables.map { "shopmystr.shopfx.\($0).jsonl" }, MySQLSamples.profile),
        (["shopmydbl.jsonl"] + MySQLSamples.tables.map { "shopmydbl.shopfx.\($0).jsonl" }, MySQLSamples.profile),
    ]

    @Test("every real sample, re-encoded as Avro, decodes to the JSON path's outcome; keys too", arguments: 0..<4)
    func samplesMatchJSON(set: Int) throws {
        let (files, profile) = AvroDecoderTests.sampleSets[set]
        let json = DebeziumDecoder(profile: profile)
        let avro = DebeziumDecoder(profile: profile)
        let schemas = TestSchemas()
        var compared = 0
        var events = 0
        var schemaChanges = 0
        for file in files {
            for m in try Samples.messages(file) {
                guard let v = m.value, let (text, payload) = ConnectAvro.convert(v) else { continue }
                let schema = try AvroSchema(json: text)
                let id = schemas.id(for: text)
                let expected = v.withUnsafeBytes {
                    json.decode(slot: json.slot(forTopic: m.topic), value: $0, kafkaTimestampMs: m.timestampMs)
                }
                let got = avro.decodeAvro(
                    topic: m.topic, schema: schema, id: id, payload: payload, kafkaTimestampMs: m.timestampMs)
                #expect(canonical(got) == canonical(expected), "\(file)@\(m.offset)")
                if case .event = got { events += 1 }
                if case .schemaChange = got { schemaChanges += 1 }
                if case .malformed(_, let reason) = got {
                    #expect(reason.contains("(schema id \(id), at byte "), "\(reason)")
                }
                compared += 1
                if let k = m.key, let (keyText, keyPayload) = ConnectAvro.convert(k) {
                    let keySchema = try AvroSchema(json: keyText)
                    let a = keyPayload.withUnsafeBytes { avro.avroRecordKey(schema: keySchema, payload: $0) }
                    let j = k.withUnsafeBytes { DebeziumDecoder.recordKeyValue($0) }
                    #expect(a == j && a != nil, "\(file)@\(m.offset) key")
                }
            }
        }
        #expect(compared > 10 && events > 5)
        if set > 0 { #expect(schemaChanges > 10) }
    }

    @Test(
        "through EngineCore: the KPI result JSON and the counters are the same for JSON and for Avro", arguments: 0..<4)
    func engineResultMatches(set: Int) throws {
        let (files, profile) = AvroDecoderTests.sampleSets[set]
        let jsonCore = EngineCore(profile: profile)
        let avroCore = EngineCore(profile: profile)
        let schemas = TestSchemas()
        avroCore.schemaSource = schemas
        for file in files {
            for m in try Samples.messages(file) {
                jsonCore.ingest(
                    topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                    value: m.value)
                avroCore.ingest(
                    topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs,
                    key: schemas.frame(m.key), value: schemas.frame(m.value))
            }
        }
        #expect(avroCore.result.json() == jsonCore.result.json())
        #expect(avroCore.messages == jsonCore.messages && avroCore.malformed == jsonCore.malformed)
        #expect(avroCore.tombstones == jsonCore.tombstones && avroCore.ignored == jsonCore.ignored)
        #expect(avroCore.schemaChanges == jsonCore.schemaChanges && avroCore.snapshotDDL == jsonCore.snapshotDDL)
        #expect(jsonCore.messages > 10 && jsonCore.messages == avroCore.messages)
    }

    // MARK: a model profile, composite record keys

    static let orderDetailsSchema = #"""
        {"type":"struct","name":"nw.public.order_details.Envelope","optional":false,"fields":[
          {"field":"before","type":"struct","optional":true,"name":"nw.public.order_details.Value","fields":[
            {"field":"order_id","type":"int16","optional":false},{"field":"product_id","type":"int16","optional":false},
            {"field":"unit_price","type":"float32","optional":false},{"field":"quantity","type":"int16","optional":false},
            {"field":"discount","type":"float32","optional":false},{"field":"note","type":"string","optional":true}]},
          {"field":"after","type":"struct","optional":true,"name":"nw.public.order_details.Value","fields":[
            {"field":"order_id","type":"int16","optional":false},{"field":"product_id","type":"int16","optional":false},
            {"field":"unit_price","type":"float32","optional":false},{"field":"quantity","type":"int16","optional":false},
            {"field":"discount","type":"float32","optional":false},{"field":"note","type":"string","optional":true}]},
          {"field":"source","type":"struct","optional":false,"name":"io.debezium.connector.postgresql.Source","fields":[
            {"field":"ts_ms","type":"int64","optional":false},
            {"field":"snapshot","type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"default":"false"},
            {"field":"table","type":"string","optional":false}]},
          {"field":"op","type":"string","optional":false},{"field":"ts_ms","type":"int64","optional":true}]}
        """#
    static let orderDetailsKeySchema = #"""
        {"type":"struct","name":"nw.public.order_details.Key","optional":false,"fields":[
          {"field":"order_id","type":"int16","optional":false},{"field":"product_id","type":"int16","optional":false}]}
        """#
    static func simpleSchema(_ table: String, _ columns: [(String, String)], decimal: String? = nil) -> String {
        let cols = columns.map { c -> String in
            if c.1 == "decimal" {
                return
                    #"{"field":"\#(c.0)","type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"}}"#
            }
            return #"{"field":"\#(c.0)","type":"\#(c.1)","optional":\#(c.0.hasSuffix("_id") ? "false" : "true")}"#
        }.joined(separator: ",")
        let value =
            #"{"field":"%@","type":"struct","optional":true,"name":"nw.public.\#(table).Value","fields":[\#(cols)]}"#
        return #"{"type":"struct","name":"nw.public.\#(table).Envelope","optional":false,"fields":["#
            + value.replacingOccurrences(of: "%@", with: "before") + ","
            + value.replacingOccurrences(of: "%@", with: "after")
            + #",{"field":"source","type":"struct","optional":false,"name":"io.debezium.connector.postgresql.Source","fields":[{"field":"ts_ms","type":"int64","optional":false},{"field":"snapshot","type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"default":"false"},{"field":"table","type":"string","optional":false}]},{"field":"op","type":"string","optional":false},{"field":"ts_ms","type":"int64","optional":true}]}"#
    }

    static func nwMessages() -> [(topic: String, key: [UInt8], value: [UInt8]?)] {
        func env(
            _ schema: String, _ before: String, _ after: String, op: String, ts: Int64, table: String,
            snap: String = "false"
        ) -> [UInt8] {
            Array(
                #"{"schema":\#(schema),"payload":{"before":\#(before),"after":\#(after),"source":{"ts_ms":\#(ts),"snapshot":"\#(snap)","table":"\#(table)"},"op":"\#(op)","ts_ms":\#(ts + 5)}}"#
                    .utf8)
        }
        func key(_ schema: String, _ payload: String) -> [UInt8] {
            Array(#"{"schema":\#(schema),"payload":\#(payload)}"#.utf8)
        }
        let od = orderDetailsSchema
        let odKey = orderDetailsKeySchema
        let products = simpleSchema(
            "products", [("product_id", "int32"), ("category_id", "int32"), ("unit_price", "decimal")])
        let productsKey =
            #"{"type":"struct","name":"nw.public.products.Key","optional":false,"fields":[{"field":"product_id","type":"int32","optional":false}]}"#
        let categories = simpleSchema("categories", [("category_id", "int32"), ("category_name", "string")])
        let categoriesKey =
            #"{"type":"struct","name":"nw.public.categories.Key","optional":false,"fields":[{"field":"category_id","type":"int32","optional":false}]}"#
        let orders = simpleSchema("orders", [("order_id", "int32"), ("status", "string"), ("freight", "float64")])
        let ordersKey =
            #"{"type":"struct","name":"nw.public.orders.Key","optional":false,"fields":[{"field":"order_id","type":"int32","optional":false}]}"#
        let t0: Int64 = 1_700_000_000_000
        return [
            (
                "nw.public.categories", key(categoriesKey, #"{"category_id":1}"#),
                env(
                    categories, "null", #"{"category_id":1,"category_name":"Beverages"}"#, op: "r", ts: t0,
                    table: "categories", snap: "first")
            ),
            (
                "nw.public.categories", key(categoriesKey, #"{"category_id":2}"#),
                env(
                    categories, "null", #"{"category_id":2,"category_name":"Condiments \u00e9\u4e2d"}"#, op: "r",
                    ts: t0, table: "categories", snap: "last")
            ),
            (
                "nw.public.products", key(productsKey, #"{"product_id":10}"#),
                env(
                    products, "null", #"{"product_id":10,"category_id":1,"unit_price":"BaA="}"#, op: "r", ts: t0,
                    table: "products", snap: "true")
            ),
            (
                "nw.public.products", key(productsKey, #"{"product_id":11}"#),
                env(
                    products, "null", #"{"product_id":11,"category_id":2,"unit_price":null}"#, op: "c", ts: t0 + 1,
                    table: "products")
            ),
            (
                "nw.public.orders", key(ordersKey, #"{"order_id":100}"#),
                env(
                    orders, "null", #"{"order_id":100,"status":"new","freight":32.38}"#, op: "c", ts: t0 + 2,
                    table: "orders")
            ),
            (
                "nw.public.orders", key(ordersKey, #"{"order_id":101}"#),
                env(
                    orders, "null", #"{"order_id":101,"status":"new","freight":1.0E7}"#, op: "c", ts: t0 + 2,
                    table: "orders")
            ),
            (
                "nw.public.order_details", key(odKey, #"{"order_id":100,"product_id":10}"#),
                env(
                    od, "null",
                    #"{"order_id":100,"product_id":10,"unit_price":14.4,"quantity":20,"discount":0.15,"note":null}"#,
                    op: "c", ts: t0 + 3, table: "order_details")
            ),
            (
                "nw.public.order_details", key(odKey, #"{"order_id":100,"product_id":11}"#),
                env(
                    od, "null",
                    #"{"order_id":100,"product_id":11,"unit_price":10.0,"quantity":3,"discount":0.0,"note":"x"}"#,
                    op: "c", ts: t0 + 4, table: "order_details")
            ),
            (
                "nw.public.order_details", key(odKey, #"{"order_id":100,"product_id":11}"#),
                env(
                    od, #"{"order_id":100,"product_id":11,"unit_price":10.0,"quantity":3,"discount":0.0,"note":"x"}"#,
                    #"{"order_id":100,"product_id":11,"unit_price":9.99,"quantity":4,"discount":0.05,"note":"x"}"#,
                    op: "u", ts: t0 + 5, table: "order_details")
            ),
            (
                "nw.public.orders", key(ordersKey, #"{"order_id":100}"#),
                env(
                    orders, #"{"order_id":100,"status":"new","freight":32.38}"#, "null", op: "d", ts: t0 + 6,
                    table: "orders")
            ),
            ("nw.public.orders", key(ordersKey, #"{"order_id":100}"#), nil),
        ]
    }

    @Test(
        "a model profile (Northwind): cells, float32/float64 text, decimals, composite Avro keys — same events and KPI result"
    )
    func modelProfileMatches() throws {
        let profile = try ModelFixture.profile()
        let json = DebeziumDecoder(profile: profile)
        let avro = DebeziumDecoder(profile: profile)
        let schemas = TestSchemas()
        var events = 0
        for m in AvroDecoderTests.nwMessages() {
            guard let v = m.value else { continue }
            let (text, payload) = try #require(ConnectAvro.convert(v))
            let expected = v.withUnsafeBytes { json.decode(slot: json.slot(forTopic: m.topic), value: $0) }
            let got = avro.decodeAvro(
                topic: m.topic, schema: try AvroSchema(json: text), id: schemas.id(for: text), payload: payload)
            #expect(canonical(got) == canonical(expected))
            if case .event(let e) = got {
                events += 1
                #expect(e.role == .model && e.modelTable >= 0)
            }
            let (keyText, keyPayload) = try #require(ConnectAvro.convert(m.key))
            let a = keyPayload.withUnsafeBytes {
                avro.avroRecordKey(schema: try! AvroSchema(json: keyText), payload: $0)
            }
            let j = m.key.withUnsafeBytes { DebeziumDecoder.recordKeyValue($0) }
            #expect(a == j && a != nil)
            if m.topic.hasSuffix("order_details") {
                #expect(a == .text("100\u{1F}\(a!.description.hasSuffix("10") ? "10" : "11")"))
            }
        }
        #expect(events == 10)

        let jsonCore = EngineCore(profile: profile)
        let avroCore = EngineCore(profile: profile)
        avroCore.schemaSource = schemas
        var offsets: [String: Int64] = [:]
        for m in AvroDecoderTests.nwMessages() {
            let offset = offsets[m.topic, default: -1] + 1
            offsets[m.topic] = offset
            jsonCore.ingest(topic: m.topic, partition: 0, offset: offset, key: m.key, value: m.value)
            avroCore.ingest(
                topic: m.topic, partition: 0, offset: offset, key: schemas.frame(m.key), value: schemas.frame(m.value))
        }
        #expect(jsonCore.malformed == 0)
        #expect(avroCore.result.json() == jsonCore.result.json())
        #expect(avroCore.malformed == 0 && avroCore.tombstones == 1)
        #expect(
            avroCore.result.totals.revenue == jsonCore.result.totals.revenue && jsonCore.result.totals.revenue > .zero)
    }

    // MARK: hand-built schemas

    /// A PostgreSQL-shaped envelope whose Value record has the given fields (Avro JSON), `snapshot` as `[string, null]`.
    static func envelope(_ valueFields: String, snapshot: String = #"["string","null"]"#, extraRoot: String = "")
        -> String
    {
        #"{"type":"record","name":"Envelope","namespace":"shop.public.transaction","fields":[{"name":"before","type":["null",{"type":"record","name":"Value","fields":[\#(valueFields)]}],"default":null},{"name":"after","type":["null","Value"],"default":null},{"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[{"name":"version","type":"string"},{"name":"ts_ms","type":"long"},{"name":"snapshot","type":\#(snapshot)},{"name":"table","type":"string"}]}},{"name":"transaction","type":["null",{"type":"record","name":"block","namespace":"event","fields":[{"name":"id","type":"string"},{"name":"total_order","type":"long"}]}],"default":null},{"name":"op","type":"string"},{"name":"ts_ms","type":["null","long"],"default":null}\#(extraRoot)]}"#
    }

    static let t0: Int64 = 1_700_000_000_000

    /// Payload of `envelope`: before null, after = `row` bytes (branch 1), source, no transaction, op, ts_ms.
    static func message(
        row: [UInt8]?, before: [UInt8]? = nil, op: String = "c", table: String = "transaction",
        snapshot: [UInt8] = [0] + [10] + Array("false".utf8)
    ) -> [UInt8] {
        var out: [UInt8] = []
        if let before {
            ConnectAvro.long(1, &out)
            out += before
        } else {
            ConnectAvro.long(0, &out)
        }
        if let row {
            ConnectAvro.long(1, &out)
            out += row
        } else {
            ConnectAvro.long(0, &out)
        }
        ConnectAvro.string("3.6.3.Final", &out)
        ConnectAvro.long(t0, &out)
        out += snapshot
        ConnectAvro.string(table, &out)
        ConnectAvro.long(0, &out)  // transaction: null
        ConnectAvro.string(op, &out)
        ConnectAvro.long(1, &out)
        ConnectAvro.long(t0 + 9, &out)
        return out
    }

    static let saleFields =
        #"{"name":"id","type":"long"},{"name":"amount","type":["null",{"type":"bytes","scale":2,"precision":12,"logicalType":"decimal","connect.name":"org.apache.kafka.connect.data.Decimal"}],"default":null},{"name":"status","type":"string"}"#

    static func saleRow(id: Int64, amount: [UInt8]?, status: String = "new") -> [UInt8] {
        var r: [UInt8] = []
        ConnectAvro.long(id, &r)
        if let amount {
            ConnectAvro.long(1, &r)
            ConnectAvro.bytes(amount, &r)
        } else {
            ConnectAvro.long(0, &r)
        }
        ConnectAvro.string(status, &r)
        return r
    }

    @Test("a sale: decimal bytes, [string, null] snapshot in either branch order, ts_ms, the unavailable marker")
    func saleEnvelope() throws {
        let schema = try AvroSchema(json: AvroDecoderTests.envelope(AvroDecoderTests.saleFields))
        let d = DebeziumDecoder(profile: .samples)
        let m = AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 500, amount: [0x17, 0x6D]))
        guard case .event(let e) = d.decodeAvro(topic: "shop.public.transaction", schema: schema, payload: m) else {
            Issue.record("not an event")
            return
        }
        #expect(e.after?.key == .int(500) && e.after?.amount == .value(Money(cents: 5997)) && e.op == .create)
        #expect(
            e.commitTimeMs == AvroDecoderTests.t0 && e.debeziumTimeMs == AvroDecoderTests.t0 + 9 && !e.isSnapshot
                && e.table == "transaction")
        // snapshot "true", and null (branch 1 of [string, null]).
        let snap = AvroDecoderTests.message(
            row: AvroDecoderTests.saleRow(id: 1, amount: [1]), op: "r", snapshot: [0, 8] + Array("true".utf8))
        guard case .event(let s) = d.decodeAvro(topic: "shop.public.transaction", schema: schema, payload: snap) else {
            Issue.record("not an event")
            return
        }
        #expect(s.isSnapshot && s.op == .read)
        let nullSnap = AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 1, amount: [1]), snapshot: [2])
        guard case .event(let n) = d.decodeAvro(topic: "shop.public.transaction", schema: schema, payload: nullSnap)
        else {
            Issue.record("not an event")
            return
        }
        #expect(!n.isSnapshot)
        // [null, boolean] snapshot.
        let boolSchema = try AvroSchema(
            json: AvroDecoderTests.envelope(AvroDecoderTests.saleFields, snapshot: #"["null","boolean"]"#))
        let boolSnap = AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 1, amount: [1]), snapshot: [2, 1])
        guard
            case .event(let b) = d.decodeAvro(
                topic: "shop.public.transaction", schema: boolSchema, id: 8, payload: boolSnap)
        else {
            Issue.record("not an event")
            return
        }
        #expect(b.isSnapshot)
        // The unavailable marker in its bytes form; a null amount.
        let marker = Array("__debezium_unavailable_value".utf8)
        guard
            case .event(let u) = d.decodeAvro(
                topic: "shop.public.transaction", schema: schema,
                payload: AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 2, amount: marker), op: "u"))
        else {
            Issue.record("not an event")
            return
        }
        #expect(u.after?.amount == .unavailable)
        guard
            case .event(let z) = d.decodeAvro(
                topic: "shop.public.transaction", schema: schema,
                payload: AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 2, amount: nil), op: "u"))
        else {
            Issue.record("not an event")
            return
        }
        #expect(z.after?.amount == .null)
    }

    @Test("VariableScaleDecimal, fixed decimals, floats, enums, ZonedTimestamp strings and int8 into a line item")
    func lineItemConversions() throws {
        let fields =
            #"{"name":"id","type":{"type":"int","connect.type":"int16"}},{"name":"qty","type":"double"},{"name":"price","type":{"type":"record","name":"VariableScaleDecimal","namespace":"io.debezium.data","fields":[{"name":"scale","type":"int"},{"name":"value","type":"bytes"}],"connect.name":"io.debezium.data.VariableScaleDecimal"}},{"name":"product_id","type":["null","string"]},{"name":"at","type":{"type":"string","connect.name":"io.debezium.time.ZonedTimestamp"}},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},{"name":"tag","type":{"type":"fixed","name":"Tag","size":2}},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"attrs","type":{"type":"map","values":"long"}}"#
        let schema = try AvroSchema(json: AvroDecoderTests.envelope(fields))
        func row(qty: Double) -> [UInt8] {
            var r: [UInt8] = []
            ConnectAvro.long(900, &r)
            ConnectAvro.double(qty, &r)
            ConnectAvro.long(3, &r)
            ConnectAvro.bytes([0x30, 0x39], &r)  // 12345 at scale 3 = 12.345
            ConnectAvro.long(1, &r)
            ConnectAvro.string("p-7", &r)
            ConnectAvro.string("2026-03-04T05:06:07.089Z", &r)
            ConnectAvro.long(1, &r)
            r += [0xAB, 0xCD]
            ConnectAvro.long(2, &r)
            ConnectAvro.string("x", &r)
            ConnectAvro.string("y", &r)
            ConnectAvro.long(0, &r)
            ConnectAvro.long(-1, &r)
            ConnectAvro.long(3, &r)
            ConnectAvro.string("k", &r)
            ConnectAvro.long(5, &r)
            ConnectAvro.long(0, &r)
            return r
        }
        let d = DebeziumDecoder(profile: .samples)
        // A double quantity is the text "3.0" in JSON: not an integer, as the JSON path says.
        let o = d.decodeAvro(
            topic: "shop.public.transactiondetail", schema: schema,
            payload: AvroDecoderTests.message(row: row(qty: 3), table: "transactiondetail"))
        guard case .malformed(_, let reason) = o else {
            Issue.record("not malformed: \(o)")
            return
        }
        #expect(reason.hasPrefix("qty 3.0 is not an integer within Int64 (schema id 7, at byte "), "\(reason)")
        // The same row as a model profile's cells: the double is exact decimal text, the fixed is base64,
        // the array and map are their JSON text, the enum its symbol.
        let profile = try KPIProfile(
            tomlText: """
                name = "cells"
                [kpi.x]
                sql = "select sum(qty), sum(price) from transactiondetail group by product_id, at, kind, tag, tags, attrs"
                """, file: "t.toml")
        let m = DebeziumDecoder(profile: profile)
        let mo = m.decodeAvro(
            topic: "shop.public.transactiondetail", schema: schema,
            payload: AvroDecoderTests.message(row: row(qty: 0.1), table: "transactiondetail"))
        guard case .event(let e) = mo, let cells = e.after?.cells else {
            Issue.record("not an event: \(mo)")
            return
        }
        let model = try #require(profile.model)
        let t = try #require(model.tableIndex(named: "transactiondetail"))
        func cell(_ name: String) -> Cell { cells[model.tables[t].slot(of: name)!] }
        #expect(cell("qty") == .decimal(ExactDecimal.parse("0.1")!))
        #expect(cell("price") == .decimal(ExactDecimal.parse("12.345")!))
        #expect(
            cell("product_id") == .text("p-7") && cell("at") == .text("2026-03-04T05:06:07.089Z")
                && cell("kind") == .text("B"))
        #expect(
            cell("tag") == .text("q80=") && cell("tags") == .text(#"["x","y"]"#) && cell("attrs") == .text(#"{"k":5}"#))
    }

    @Test("floats become Java's text (what JsonConverter writes), so ExactDecimal gets the same digits")
    func floatText() {
        #expect(AvroText.java(59.97) == "59.97" && AvroText.java(12.0) == "12.0" && AvroText.java(-0.5) == "-0.5")
        #expect(
            AvroText.java(1e7) == "1.0E7" && AvroText.java(9999999.0) == "9999999.0"
                && AvroText.java(1.5e20) == "1.5E20")
        #expect(
            AvroText.java(0.001) == "0.001" && AvroText.java(0.0001) == "1.0E-4"
                && AvroText.java(123456789.125) == "1.23456789125E8")
        #expect(
            AvroText.java(Float(0.1)) == "0.1" && AvroText.java(Float(14.4)) == "14.4"
                && AvroText.java(Float(1e10)) == "1.0E10")
        #expect(
            AvroText.java(Double.nan) == "NaN" && AvroText.java(-Double.infinity) == "-Infinity"
                && AvroText.java(-0.0) == "-0.0")
        // The known difference: Java (JDK 19+) picks the closest two-digit decimal when the shortest has one
        // digit and lies far off (subnormals): Double.MIN_VALUE is "4.9E-324" in Java, 5e-324 here. Both are
        // beyond ExactDecimal (38 places), so the outcome (malformed) is the same; only the excerpt differs.
        #expect(AvroText.java(Double.leastNonzeroMagnitude) == "5.0E-324")
    }

    @Test("unwrapped records (__op, __deleted, __table, __source_ts_ms), heartbeats, transaction metadata")
    func otherShapes() throws {
        let d = DebeziumDecoder(profile: .samples)
        let unwrapped = try AvroSchema(
            json:
                #"{"type":"record","name":"Value","fields":[{"name":"id","type":"long"},{"name":"amount","type":{"type":"bytes","logicalType":"decimal","scale":2}},{"name":"__op","type":["null","string"]},{"name":"__table","type":["null","string"]},{"name":"__source_ts_ms","type":["null","long"]},{"name":"__deleted","type":["null","string"]}]}"#
        )
        var p: [UInt8] = []
        ConnectAvro.long(7, &p)
        ConnectAvro.bytes([0x01, 0x00], &p)
        ConnectAvro.long(1, &p)
        ConnectAvro.string("u", &p)
        ConnectAvro.long(1, &p)
        ConnectAvro.string("transaction", &p)
        ConnectAvro.long(1, &p)
        ConnectAvro.long(AvroDecoderTests.t0, &p)
        ConnectAvro.long(1, &p)
        ConnectAvro.string("true", &p)
        guard case .event(let e) = d.decodeAvro(topic: "flat.transaction", schema: unwrapped, payload: p) else {
            Issue.record("not an event")
            return
        }
        #expect(
            e.op == .delete && e.before?.key == .int(7) && e.before?.amount == .value(Money(cents: 256))
                && e.commitTimeMs == AvroDecoderTests.t0)

        let heartbeat = try AvroSchema(
            json: #"{"type":"record","name":"PartitionPayload","fields":[{"name":"ts_ms","type":"long"}]}"#)
        var h: [UInt8] = []
        ConnectAvro.long(AvroDecoderTests.t0, &h)
        guard case .heartbeat(let ts) = d.decodeAvro(topic: "__debezium-heartbeat.shop", schema: heartbeat, payload: h)
        else {
            Issue.record("not a heartbeat")
            return
        }
        #expect(ts == AvroDecoderTests.t0)

        let tx = try AvroSchema(
            json:
                #"{"type":"record","name":"TransactionMetadataValue","namespace":"io.debezium.connector.common","fields":[{"name":"status","type":"string"},{"name":"id","type":"string"},{"name":"event_count","type":["null","long"]},{"name":"data_collections","type":["null",{"type":"array","items":{"type":"record","name":"ConnectDefault","fields":[{"name":"data_collection","type":"string"},{"name":"event_count","type":"long"}]}}]},{"name":"ts_ms","type":"long"}]}"#
        )
        var t: [UInt8] = []
        ConnectAvro.string("END", &t)
        ConnectAvro.string("571:53195832", &t)
        ConnectAvro.long(1, &t)
        ConnectAvro.long(2, &t)
        ConnectAvro.long(1, &t)
        ConnectAvro.long(1, &t)
        ConnectAvro.string("public.transaction", &t)
        ConnectAvro.long(2, &t)
        ConnectAvro.long(0, &t)
        ConnectAvro.long(AvroDecoderTests.t0, &t)
        let o = d.decodeAvro(topic: "shop.transaction_metadata", schema: tx, payload: t)
        guard case .ignored(_, let reason) = o else {
            Issue.record("not ignored: \(o)")
            return
        }
        #expect(reason == "record without op")
        // The JSON path on the same record says the same.
        let json = Array(
            #"{"status":"END","id":"571:53195832","event_count":2,"data_collections":[{"data_collection":"public.transaction","event_count":2}],"ts_ms":1700000000000}"#
                .utf8)
        let j = json.withUnsafeBytes { d.decode(slot: d.slot(forTopic: "shop.transaction_metadata"), value: $0) }
        #expect(canonical(j) == canonical(o))
    }

    // MARK: malformed input

    static func reason(_ o: DecodeOutcome) -> String? { if case .malformed(_, let r) = o { r } else { nil } }

    @Test(
        "truncated, varints beyond 64 bits, bad lengths, union index, invalid UTF-8, trailing bytes: malformed with id and position"
    )
    func malformedInput() throws {
        let schema = try AvroSchema(json: AvroDecoderTests.envelope(AvroDecoderTests.saleFields))
        let d = DebeziumDecoder(profile: .samples)
        let topic = "shop.public.transaction"
        let good = AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 500, amount: [0x17, 0x6D]))
        func decode(_ bytes: [UInt8]) -> String {
            AvroDecoderTests.reason(d.decodeAvro(topic: topic, schema: schema, payload: bytes)) ?? "(not malformed)"
        }
        // Truncated anywhere: malformed, never an event.
        for n in 0..<good.count {
            #expect(decode(Array(good[0..<n])).contains("(schema id 7, at byte "), "cut at \(n)")
        }
        #expect(decode(Array(good[0..<3])) == "truncated inside a varint (schema id 7, at byte 2)")
        // Byte 0 is before's union index, byte 1 after's; the row starts at byte 2 with the id varint.
        var overflow = good
        overflow.replaceSubrange(2..<4, with: [UInt8](repeating: 0xFF, count: 10) + [0x01])
        #expect(decode(overflow) == "varint overflows 64 bits (schema id 7, at byte 2)")
        var beyond = good
        beyond.replaceSubrange(2..<4, with: [UInt8](repeating: 0xFF, count: 9) + [0x02])
        #expect(decode(beyond) == "varint overflows 64 bits (schema id 7, at byte 2)")
        var union = good
        union[0] = 4  // index 2 of a two-branch union
        #expect(decode(union) == "union index 2 is out of range (the union has 2 branches) (schema id 7, at byte 0)")
        // amount: union index at byte 4, length at byte 5.
        var negative = good
        negative[5] = 0x01  // zig-zag -1
        #expect(decode(negative) == "negative length -1 (schema id 7, at byte 5)")
        var long = good
        long[5] = 0x7E  // 63 bytes
        #expect(decode(long).hasPrefix("length 63 goes beyond the end of the message"))
        #expect(decode(good + [0]) == "1 trailing bytes after the record (schema id 7, at byte \(good.count))")
        // Invalid UTF-8 in the table name and in a key read as text.
        let badTable = AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 1, amount: [1]), table: "tr\u{00}x")
        var bytes = badTable
        if let i = (0..<bytes.count).last(where: { bytes[$0] == 0 && $0 > 10 && bytes[$0 - 1] == UInt8(ascii: "r") }) {
            bytes[i] = 0xC3
            bytes[i + 1] = 0x28
        }
        #expect(decode(bytes).hasPrefix("the table name is not valid UTF-8 (schema id 7, at byte "))
        let strKey = try AvroSchema(
            json: AvroDecoderTests.envelope(#"{"name":"id","type":"string"},{"name":"amount","type":"long"}"#))
        var row: [UInt8] = []
        ConnectAvro.bytes([0x61, 0xFF, 0x62], &row)
        ConnectAvro.long(5, &row)
        let o = d.decodeAvro(topic: topic, schema: strKey, id: 9, payload: AvroDecoderTests.message(row: row))
        #expect(AvroDecoderTests.reason(o) == "id is not valid UTF-8 (schema id 9, at byte 4)")
        // Value checks as the JSON path makes them: 17 bytes of decimal, out of range, bad op, bad ts.
        #expect(
            decode(
                AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 1, amount: [UInt8](repeating: 1, count: 17)))
            ).hasPrefix("amount \"AQEB"))
        #expect(
            decode(
                AvroDecoderTests.message(
                    row: AvroDecoderTests.saleRow(id: 1, amount: [0x7F] + [UInt8](repeating: 0xFF, count: 15)))
            ).contains("is out of range (max ±10^18)"))
        #expect(
            decode(AvroDecoderTests.message(row: AvroDecoderTests.saleRow(id: 1, amount: [1]), op: "x"))
                == "unknown op 'x' (schema id 7, at byte 0)")
        #expect(decode(AvroDecoderTests.message(row: nil, op: "c")) == "c without after (schema id 7, at byte 0)")
    }

    @Test("hostile schemas are refused, never a crash")
    func hostileSchemas() {
        func refused(_ text: String) -> Bool { (try? AvroSchema(json: text)) == nil }
        var deep = #""long""#
        for i in 0..<100 { deep = #"{"type":"record","name":"R\#(i)","fields":[{"name":"f","type":\#(deep)}]}"# }
        #expect(refused(deep))
        var deepArrays = #""long""#
        for _ in 0..<60 { deepArrays = #"{"type":"array","items":\#(deepArrays)}"# }
        #expect(refused(deepArrays))
        #expect(refused(#"{"type":"record","name":"A","fields":[{"name":"f","type":"Nope"}]}"#))
        #expect(refused(#"{"type":"record","name":"List","fields":[{"name":"next","type":["null","List"]}]}"#))
        #expect(refused(#"["null",["null","long"]]"#))
        #expect(
            refused(#"{"type":"record","name":"A","fields":[{"name":"f","type":"long"},{"name":"f","type":"long"}]}"#))
        #expect(refused(#"[{"type":"record","name":"A","fields":[]},{"type":"record","name":"A","fields":[]}]"#))
        #expect(refused(#"{"type":"fixed","name":"F","size":-1}"#))
        #expect(refused("{"))
        #expect(refused(#"{"type":"enum","name":"E","symbols":[]}"#))
        // Names resolve through namespaces, defined once and referenced by short or full name.
        #expect(
            !refused(
                #"{"type":"record","name":"a.b.Outer","fields":[{"name":"x","type":{"type":"record","name":"In","fields":[]}},{"name":"y","type":"In"},{"name":"z","type":"a.b.In"}]}"#
            ))
    }

    @Test("arrays of nulls with a huge count, maps and arrays in skipped fields: bounded and checked")
    func hostileCounts() throws {
        let schema = try AvroSchema(
            json: AvroDecoderTests.envelope(
                AvroDecoderTests.saleFields
                    + #",{"name":"n","type":{"type":"array","items":"null"}},{"name":"m","type":{"type":"map","values":"string"}}"#
            ))
        let d = DebeziumDecoder(profile: .samples)
        var row = AvroDecoderTests.saleRow(id: 1, amount: [1])
        ConnectAvro.long(Int64.max / 2, &row)
        ConnectAvro.long(0, &row)
        ConnectAvro.long(0, &row)
        let r = AvroDecoderTests.reason(
            d.decodeAvro(topic: "shop.public.transaction", schema: schema, payload: AvroDecoderTests.message(row: row)))
        #expect(r?.hasPrefix("block of ") == true, "\(String(describing: r))")
    }

    @Test("thousands of mutated messages never crash and never decode out of bounds")
    func fuzz() throws {
        var rng = SplitMix(seed: 0xA7_60)
        var inputs: [(AvroSchema, String, [UInt8])] = []
        for set in AvroDecoderTests.sampleSets {
            for file in set.files.prefix(3) {
                for m in try Samples.messages(file).prefix(4) {
                    guard let v = m.value, let (text, payload) = ConnectAvro.convert(v) else { continue }
                    inputs.append((try AvroSchema(json: text), m.topic, payload))
                }
            }
        }
        let decoders = [
            DebeziumDecoder(profile: .samples), DebeziumDecoder(profile: MySQLSamples.profile),
            DebeziumDecoder(profile: try ModelFixture.profile()),
        ]
        var outcomes = [String: Int]()
        for i in 0..<6000 {
            let (schema, topic, base) = inputs[i % inputs.count]
            var bytes = base
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                guard !bytes.isEmpty else { break }
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 5 {
                case 0: bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
                case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 2: bytes.removeSubrange(at...)
                case 3: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                default: bytes[at] = [0x00, 0x7F, 0x80, 0xFF, 0x01][Int(rng.next() % 5)]
                }
            }
            let d = decoders[i % decoders.count]
            let o = d.decodeAvro(topic: topic, schema: schema, payload: bytes)
            let kind =
                switch o {
                case .event: "event"
                case .malformed: "malformed"
                default: "other"
                }
            outcomes[kind, default: 0] += 1
            if case .malformed(_, let r) = o { #expect(r.contains("(schema id 7, at byte "), "\(r)") }
            _ = bytes.withUnsafeBytes { d.avroRecordKey(schema: schema, payload: $0) }
        }
        #expect(outcomes["malformed", default: 0] > 1000 && outcomes["event", default: 0] > 100, "\(outcomes)")
    }

    @Test(
        "decode speed: Avro vs JSON on the same rows (set CDCTOP_AVRO_BENCH=1; build with -c release)",
        .enabled(if: ProcessInfo.processInfo.environment["CDCTOP_AVRO_BENCH"] != nil))
    func benchmark() throws {
        let messages =
            try Samples.messages("shop.public.transaction.jsonl")
            + Samples.messages("shop.public.transactiondetail.jsonl")
        let json = DebeziumDecoder(profile: .samples)
        let avro = DebeziumDecoder(profile: .samples)
        var inputs: [(slotJ: Int, slotA: Int, json: [UInt8], schema: AvroSchema, avro: [UInt8])] = []
        for m in messages {
            guard let v = m.value, let (text, payload) = ConnectAvro.convert(v) else { continue }
            inputs.append(
                (json.slot(forTopic: m.topic), avro.slot(forTopic: m.topic), v, try AvroSchema(json: text), payload))
        }
        let rounds = 200_000
        var event = ChangeEvent(table: "", role: .other, op: .create, before: nil, after: nil, commitTimeMs: 0)
        var sink = 0
        func time(_ body: () -> Void) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(rounds)
        }
        let jsonNs = time {
            for i in 0..<rounds {
                let m = inputs[i % inputs.count]
                if m.json.withUnsafeBytes({ json.decode(slot: m.slotJ, value: $0, kafkaTimestampMs: 0, into: &event) })
                    == nil
                {
                    sink &+= 1
                }
            }
        }
        let avroNs = time {
            for i in 0..<rounds {
                let m = inputs[i % inputs.count]
                if m.avro.withUnsafeBytes({
                    avro.decodeAvro(
                        slot: m.slotA, schemaID: Int32(i % inputs.count), schema: m.schema, payload: $0,
                        kafkaTimestampMs: 0, into: &event)
                }) == nil {
                    sink &+= 1
                }
            }
        }
        let jsonBytes = inputs.map(\.json.count).reduce(0, +) / inputs.count
        let avroBytes = inputs.map(\.avro.count).reduce(0, +) / inputs.count
        print(
            "AVRO-BENCH json \(Int(jsonNs)) ns/msg (\(jsonBytes) B), avro \(Int(avroNs)) ns/msg (\(avroBytes) B), events \(sink)"
        )
        #expect(sink > 0)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: snapshot row markers

extension AvroDecoderTests {
    /// The first sale of the samples as a snapshot row (`op` r) with `source.snapshot` = `marker`.
    static func snapshotSale(_ marker: String) throws -> OwnedMessage {
        var m = try Samples.messages("shop.public.transaction.jsonl").first { $0.value != nil }!
        var text = String(decoding: m.value!, as: UTF8.self)
        let before = text
        for (from, to) in [
            (#""snapshot": "false""#, #""snapshot": "\#(marker)""#),
            (#""snapshot":"false""#, #""snapshot":"\#(marker)""#),
            (#""op": "c""#, #""op": "r""#), (#""op":"c""#, #""op":"r""#),
        ] {
            text = text.replacingOccurrences(of: from, with: to)
        }
        #expect(text.contains(marker) && text != before)
        m.value = Array(text.utf8)
        return m
    }

    @Test(
        "snapshot rows: Avro gives the JSON path's marker (last, incremental…), so snapshot progress sees Avro topics too",
        arguments: ["true", "first", "first_in_data_collection", "last_in_data_collection", "last", "incremental"])
    func snapshotMarkerMatchesJSON(marker: String) throws {
        let m = try AvroDecoderTests.snapshotSale(marker)
        let json = DebeziumDecoder(profile: .samples)
        let avro = DebeziumDecoder(profile: .samples)
        let (text, payload) = try #require(ConnectAvro.convert(m.value!))
        let expected = m.value!.withUnsafeBytes {
            json.decode(slot: json.slot(forTopic: m.topic), value: $0, kafkaTimestampMs: m.timestampMs)
        }
        let got = avro.decodeAvro(
            topic: m.topic, schema: try AvroSchema(json: text), payload: payload, kafkaTimestampMs: m.timestampMs)
        guard case .event(let j) = expected, case .event(let a) = got else {
            Issue.record("not events: \(expected) / \(got)")
            return
        }
        #expect(j.op == .read && j.snapshotMarker == SnapshotRowMarker(text: marker))
        #expect(a.snapshotMarker == j.snapshotMarker && canonical(got) == canonical(expected))

        // Through EngineCore: the same snapshot reads (rows, last/incremental flags) and progress report.
        let jsonCore = EngineCore(profile: .samples)
        let avroCore = EngineCore(profile: .samples)
        let schemas = TestSchemas()
        avroCore.schemaSource = schemas
        jsonCore.ingest(
            topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
            value: m.value)
        avroCore.ingest(
            topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs,
            key: schemas.frame(m.key), value: schemas.frame(m.value))
        #expect(avroCore.snapshotReads.bySlot == jsonCore.snapshotReads.bySlot)
        #expect(avroCore.snapshotProgress() == jsonCore.snapshotProgress())
        let reads = jsonCore.snapshotReads.bySlot[jsonCore.decoder.slot(forTopic: m.topic)]
        #expect(reads[marker == "incremental" ? 1 : 0].rows == 1)
        #expect(
            reads[0].snapshotDone == (marker == "last")
                && reads[0].tableDone == (marker == "last" || marker == "last_in_data_collection"))
    }

    @Test("snapshot rows: an Avro enum or boolean source.snapshot gives the marker its text names")
    func snapshotMarkerFromEnumAndBoolean() throws {
        let d = DebeziumDecoder(profile: .samples)
        let enumSchema = try AvroSchema(
            json: AvroDecoderTests.envelope(
                AvroDecoderTests.saleFields,
                snapshot:
                    #"{"type":"enum","name":"SnapshotRecord","symbols":["true","last","false","incremental","last_in_data_collection"]}"#
            ))
        let expected: [(Int64, SnapshotRowMarker)] = [
            (0, .inProgress), (1, .last), (2, .none), (3, .incremental), (4, .lastInCollection),
        ]
        for (index, marker) in expected {
            var snapshot: [UInt8] = []
            ConnectAvro.long(index, &snapshot)
            let m = AvroDecoderTests.message(
                row: AvroDecoderTests.saleRow(id: 1, amount: [1]), op: "r", snapshot: snapshot)
            guard
                case .event(let e) = d.decodeAvro(
                    topic: "shop.public.transaction", schema: enumSchema, id: 9, payload: m)
            else {
                Issue.record("not an event")
                continue
            }
            #expect(e.snapshotMarker == marker, "symbol \(index)")
        }
        let boolSchema = try AvroSchema(
            json: AvroDecoderTests.envelope(AvroDecoderTests.saleFields, snapshot: #"["null","boolean"]"#))
        for (bytes, marker) in [([2, 1] as [UInt8], SnapshotRowMarker.inProgress), ([2, 0], .none)] {
            let m = AvroDecoderTests.message(
                row: AvroDecoderTests.saleRow(id: 1, amount: [1]), op: "r", snapshot: bytes)
            guard
                case .event(let e) = d.decodeAvro(
                    topic: "shop.public.transaction", schema: boolSchema, id: 8, payload: m)
            else {
                Issue.record("not an event")
                continue
            }
            #expect(e.snapshotMarker == marker)
        }
    }
}
