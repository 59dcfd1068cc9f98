import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// A Northwind-shaped recording (cdctop's recording format, in a temp file): categories → products →
/// order_details (composite key, `real` prices, a discount) ← orders; order_details carries a schema;
/// one delete under REPLICA IDENTITY DEFAULT (key + placeholders) and its tombstone.
enum NorthwindRecording {
    static func line(_ topic: String, _ offset: Int, key: Any?, value: Any?) -> String {
        let object: [String: Any] = [
            "topic": topic, "partition": 0, "offset": offset, "key": key ?? NSNull(), "value": value ?? NSNull(),
        ]
        return String(
            decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func envelope(_ table: String, op: String, before: [String: Any]?, after: [String: Any]?, ts: Int64)
        -> [String: Any]
    {
        [
            "op": op, "ts_ms": ts, "before": before ?? NSNull(), "after": after ?? NSNull(),
            "source": ["table": table, "schema": "public", "ts_ms": ts, "snapshot": op == "r" ? "true" : "false"],
        ]
    }

    static var detailSchema: [String: Any] {
        let columns: [[String: Any]] = [
            ["type": "int16", "optional": false, "field": "order_id"],
            ["type": "int16", "optional": false, "field": "product_id"],
            ["type": "float", "optional": false, "field": "unit_price"],
            ["type": "int16", "optional": false, "field": "quantity"],
            ["type": "float", "optional": false, "field": "discount"],
        ]
        return [
            "type": "struct", "name": "nw.public.order_details.Envelope",
            "fields": [
                ["type": "struct", "optional": true, "field": "before", "fields": columns],
                ["type": "struct", "optional": true, "field": "after", "fields": columns],
                ["type": "string", "optional": false, "field": "op"],
            ],
        ]
    }

    /// The recording's lines, and the revenue of the final rows: Σ unit_price × quantity × (1 − discount).
    static func lines() -> (lines: [String], revenue: String) {
        var out: [String] = []
        var offsets: [String: Int] = [:]
        let t0: Int64 = 1_700_000_000_000
        func send(_ table: String, key: [String: Any]?, value: [String: Any]?, schema: [String: Any]? = nil) {
            let topic = "nw.public.\(table)"
            let o = offsets[topic, default: 0]
            offsets[topic] = o + 1
            let v: Any? = value.map { v in schema.map { ["schema": $0, "payload": v] as [String: Any] } ?? v }
            out.append(line(topic, o, key: key, value: v))
        }
        for (id, name) in [(1, "Beverages"), (2, "Condiments"), (3, "Seafood")] {
            send(
                "categories", key: ["category_id": id],
                value: envelope(
                    "categories", op: "r", before: nil,
                    after: ["category_id": id, "category_name": name, "description": "d\(id)"], ts: t0))
        }
        for (id, name, cat, price) in [
            (10, "Chai", 1, 18.0), (11, "Aniseed Syrup", 2, 10.0), (12, "Ikura", 3, 31.0), (13, "Konbu", 3, 6.0),
        ] {
            send(
                "products", key: ["product_id": id],
                value: envelope(
                    "products", op: "r", before: nil,
                    after: [
                        "product_id": id, "product_name": name, "category_id": cat,
                        "unit_price": price, "discontinued": 0,
                    ], ts: t0))
        }
        for (id, country, via) in [(100, "France", 1), (101, "Germany", 2), (102, "France", 1)] {
            send(
                "orders", key: ["order_id": id],
                value: envelope(
                    "orders", op: "c", before: nil,
                    after: [
                        "order_id": id, "customer_id": "C\(id)", "ship_country": country,
                        "ship_via": via, "freight": 12.5,
                    ], ts: t0 + Int64(id)))
        }
        func detail(_ o: Int, _ p: Int, _ price: Double, _ q: Int, _ d: Double) -> [String: Any] {
            ["order_id": o, "product_id": p, "unit_price": price, "quantity": q, "discount": d]
        }
        let lines: [(Int, Int, Double, Int, Double)] = [
            (100, 10, 14.4, 20, 0.15), (100, 11, 10, 3, 0), (101, 12, 31, 5, 0.05),
            (101, 13, 6, 10, 0), (102, 10, 18, 2, 0),
        ]
        for l in lines {
            send(
                "order_details", key: ["order_id": l.0, "product_id": l.1],
                value: envelope(
                    "order_details", op: "c", before: nil, after: detail(l.0, l.1, l.2, l.3, l.4), ts: t0 + 200),
                schema: detailSchema)
        }
        // An update: (101, 13) quantity 10 → 12.
        send(
            "order_details", key: ["order_id": 101, "product_id": 13],
            value: envelope("order_details", op: "u", before: nil, after: detail(101, 13, 6, 12, 0), ts: t0 + 300),
            schema: detailSchema)
        // A delete under REPLICA IDENTITY DEFAULT: the key and placeholders; then its tombstone.
        send(
            "order_details", key: ["order_id": 100, "product_id": 11],
            value: envelope("order_details", op: "d", before: detail(100, 11, 0, 0, 0), after: nil, ts: t0 + 400),
            schema: detailSchema)
        send("order_details", key: ["order_id": 100, "product_id": 11], value: nil)
        // 14.4×20×0.85 + 31×5×0.95 + 6×12 + 18×2 = 244.8 + 147.25 + 72 + 36
        return (out, "500.05")
    }

    static func write() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("cdctop-profile-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl").path
        try (lines().lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let goodProfile = """
        name = "nw"
        [tables.order_details]
        key = ["order_id", "product_id"]
        topics = "^nw\\\\.public\\\\.order_details$"
        \(ModelFixture.northwindBuiltins)
        [kpi.orders_by_country]
        windows = false
        sql = "select ship_country, count(*), avg(freight) from orders group by ship_country"
        """
}

@Suite("profile init and check (sampling, guessing, checking)")
struct ProfileSamplingTests {
    @Test("a recording is sampled per topic, and read table by table")
    func observation() throws {
        let path = try NorthwindRecording.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sample = try ProfileSampler.fromRecordings([path], topics: nil, perTopic: 2000)
        #expect(sample.messages.count == NorthwindRecording.lines().lines.count)
        #expect(sample.completeTopics.count == 4)
        let limited = try ProfileSampler.fromRecordings([path], topics: ["^nw\\.public\\.order_.*"], perTopic: 3)
        #expect(limited.messages.count == 3)
        #expect(limited.completeTopics.isEmpty)

        let o = SampleObservation(sample)
        #expect(o.tables.map(\.name) == ["categories", "order_details", "orders", "products"])
        let details = try #require(o.table("order_details"))
        #expect(details.keyColumns == ["order_id", "product_id"])
        #expect(details.ops == ["c": 5, "u": 1, "d": 1])
        #expect(details.tombstones == 1)
        #expect(details.deletesKeyOnly == 1 && details.deletesFull == 0)
        #expect(details.hasSchema)
        #expect(details.column("unit_price")?.connectType == "float")
        #expect(details.column("unit_price")?.hasFraction == true)
        #expect(details.column("discount").map(ProfileDraft.isDiscount) == true)
        let categories = try #require(o.table("categories"))
        #expect(categories.column("category_name")?.distinctText?.count == 3)
    }

    @Test("init drafts a profile that loads, whose revenue sums price × quantity, and that check accepts")
    func initDraft() throws {
        let path = try NorthwindRecording.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sample = try ProfileSampler.fromRecordings([path], topics: nil, perTopic: 2000)
        let draft = ProfileDraft(SampleObservation(sample))
        #expect(draft.factTable == "order_details")
        #expect(draft.headerTable == "orders")
        #expect(draft.links.contains { $0.from == "order_details" && $0.column == "product_id" && $0.to == "products" })
        #expect(draft.links.contains { $0.from == "products" && $0.column == "category_id" && $0.to == "categories" })
        let text = draft.toml(name: "nw", source: "test", perTopic: 2000)
        #expect(text.contains("REPLICA IDENTITY DEFAULT"))
        #expect(
            text.contains("order_details: key (order_id, product_id)")
                || text.contains("composite key (order_id, product_id) from the record key"))
        let profile = try KPIProfile(tomlText: text, file: "draft.toml")
        let model = try #require(profile.model)
        let revenue = try #require(model.revenue.map { model.kpis[$0] })
        #expect(
            revenue.sql.contains("unit_price * o.quantity")
                || revenue.sql.contains(".unit_price * ") && revenue.sql.contains(".quantity"))
        #expect(model.transactions.map { model.tables[model.kpis[$0].fact].name } == "orders")
        let category = try #require(model.categorySales.map { model.kpis[$0] })
        #expect(category.sql.contains("category_name"))

        // Through the engine: the drafted KPIs compute the right numbers.
        let core = EngineCore(profile: profile)
        for m in sample.messages {
            core.ingest(topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, value: m.value)
        }
        let r = core.result
        #expect(r.malformed == 0)
        #expect(r.totals.revenue == Money(decimalText: NorthwindRecording.lines().revenue))
        #expect(r.totals.txCount == 3)
        #expect(r.totals.categoryRevenue["Seafood"] == Money(decimalText: "219.25"))

        let report = ProfileChecker.check(profile: profile, file: "draft.toml", sample: sample)
        #expect(report.problems == [])
        #expect(report.usable)
    }

    @Test("check: a good profile is usable; a typo'd column is never present; no record key names the fixes")
    func check() throws {
        let path = try NorthwindRecording.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sample = try ProfileSampler.fromRecordings([path], topics: nil, perTopic: 2000)

        let good = try KPIProfile(tomlText: NorthwindRecording.goodProfile, file: "good.toml")
        let ok = ProfileChecker.check(profile: good, file: "good.toml", sample: sample)
        #expect(ok.problems == [])
        #expect(ok.usable)
        #expect(ok.malformedTotal == 0)
        #expect(ok.tables.first { $0.name == "order_details" }?.key == "profile key (order_id, product_id)")
        #expect(ok.tables.first { $0.name == "orders" }?.key == "record key (order_id)")
        #expect(ok.kpis.allSatisfy { $0.unresolvedRows == 0 })
        #expect(ok.text().contains("usable"))
        #expect(ok.json().contains("\"usable\":true"))

        let typo = try KPIProfile(
            tomlText: NorthwindRecording.goodProfile.replacingOccurrences(of: "ship_country", with: "ship_countyr"),
            file: "typo.toml")
        let bad = ProfileChecker.check(profile: typo, file: "typo.toml", sample: sample)
        #expect(!bad.usable)
        let column = bad.tables.first { $0.name == "orders" }?.columns.first { $0.name == "ship_countyr" }
        #expect(column?.status == "never present")
        #expect(
            bad.problems.contains {
                $0.contains("ship_countyr: never present") && $0.contains("did you mean ship_country")
            })
        #expect(bad.malformed.contains { $0.table == "orders" && $0.count == 3 })
        #expect(bad.text().contains("NOT usable"))

        // Text where a number is summed.
        let textSum = try KPIProfile(
            tomlText: """
                [kpi.revenue]
                sql = "select sum(customer_id) from orders"
                """, file: "t.toml")
        let notNumber = ProfileChecker.check(profile: textSum, file: "t.toml", sample: sample)
        #expect(notNumber.tables.first?.columns.first?.status == "not a number")
        #expect(!notNumber.usable)

        // Messages without a record key.
        var keyless = sample
        keyless.messages = keyless.messages.map {
            var m = $0
            if m.topic == "nw.public.orders" { m.key = nil }
            return m
        }
        let noKey = ProfileChecker.check(profile: good, file: "good.toml", sample: keyless)
        #expect(
            noKey.problems.contains {
                $0.contains("orders: messages have no record key") && $0.contains("message.key.columns")
                    && $0.contains("[tables.orders] key")
            })
        #expect(noKey.malformedTotal == 3)
    }
}

/// Northwind-shaped rows as Debezium's JsonConverter writes them with schemas on every table, in
/// the Connect types `profile init` reads: int16 keys (one composite), float32, a decimal with a
/// scale, VariableScaleDecimal, Date and MicroTimestamp, an optional text; snapshot reads, creates,
/// an update, a delete carrying only the key (REPLICA IDENTITY DEFAULT) and its tombstone.
/// `avro` turns the same rows into what Confluent's AvroConverter writes (the generator's encoder).
enum TypedNorthwind {
    struct Column {
        let name: String
        let schema: String
    }
    static func column(_ name: String, _ type: String, optional: Bool = false, extra: String = "") -> Column {
        Column(name: name, schema: #"{"type":"\#(type)","optional":\#(optional)\#(extra),"field":"\#(name)"}"#)
    }
    static func decimal(_ name: String, scale: Int) -> Column {
        Column(
            name: name,
            schema:
                #"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"\#(scale)","connect.decimal.precision":"10"},"field":"\#(name)"}"#
        )
    }
    static func variableScale(_ name: String) -> Column {
        Column(
            name: name,
            schema:
                #"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"scale"},{"type":"bytes","optional":false,"field":"value"}],"optional":true,"name":"io.debezium.data.VariableScaleDecimal","version":1,"doc":"Variable scaled decimal","field":"\#(name)"}"#
        )
    }
    static let tables: [(name: String, key: [Column], columns: [Column])] = {
        let orderID = column("order_id", "int16")
        let productID = column("product_id", "int16")
        let categoryID = column("category_id", "int16")
        return [
            (
                "categories", [categoryID],
                [categoryID, column("category_name", "string"), column("description", "string", optional: true)]
            ),
            (
                "products", [productID],
                [
                    productID, column("product_name", "string"), categoryID, column("unit_price", "float"),
                    column("discontinued", "int32"),
                    column("added", "int32", optional: true, extra: #","name":"io.debezium.time.Date","version":1"#),
                ]
            ),
            (
                "orders", [orderID],
                [
                    orderID, column("customer_id", "string"), column("ship_country", "string", optional: true),
                    variableScale("freight"),
                    column(
                        "order_date", "int64", optional: true,
                        extra: #","name":"io.debezium.time.MicroTimestamp","version":1"#),
                ]
            ),
            (
                "order_details", [orderID, productID],
                [
                    orderID, productID, decimal("unit_price", scale: 2), column("quantity", "int16"),
                    column("discount", "float"),
                ]
            ),
        ]
    }()

    /// A decimal's unscaled value as JsonConverter writes bytes: big-endian two's complement, base64.
    static func base64(_ unscaled: Int) -> String {
        var bytes = withUnsafeBytes(of: Int64(unscaled).bigEndian) { Array($0) }
        while bytes.count > 1 && ((bytes[0] == 0 && bytes[1] < 0x80) || (bytes[0] == 0xFF && bytes[1] >= 0x80)) {
            bytes.removeFirst()
        }
        return Data(bytes).base64EncodedString()
    }

    static func object(_ columns: [Column], _ values: [String]) -> String {
        "{" + zip(columns, values).map { "\"\($0.name)\":\($1)" }.joined(separator: ",") + "}"
    }

    static func envelope(
        _ prefix: String, _ t: (name: String, key: [Column], columns: [Column]), op: String, before: [String]?,
        after: [String]?, ts: Int64
    ) -> String {
        let row = t.columns.map(\.schema).joined(separator: ",")
        let value = "\(prefix).public.\(t.name).Value"
        let schema =
            #"{"type":"struct","fields":[{"type":"struct","fields":[\#(row)],"optional":true,"name":"\#(value)","field":"before"},"#
            + #"{"type":"struct","fields":[\#(row)],"optional":true,"name":"\#(value)","field":"after"},"#
            + #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},"#
            + #"{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"field":"snapshot"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"},"#
            + #"{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}],"optional":false,"name":"\#(prefix).public.\#(t.name).Envelope","version":1}"#
        let payload =
            #"{"before":\#(before.map { object(t.columns, $0) } ?? "null"),"after":\#(after.map { object(t.columns, $0) } ?? "null"),"#
            + #""source":{"schema":"public","table":"\#(t.name)","ts_ms":\#(ts),"snapshot":"\#(op == "r" ? "true" : "false")"},"op":"\#(op)","ts_ms":\#(ts)}"#
        return #"{"schema":\#(schema),"payload":\#(payload)}"#
    }

    static func key(_ prefix: String, _ t: (name: String, key: [Column], columns: [Column]), _ values: [String])
        -> String
    {
        #"{"schema":{"type":"struct","fields":[\#(t.key.map(\.schema).joined(separator: ","))],"optional":false,"name":"\#(prefix).public.\#(t.name).Key"},"payload":\#(object(t.key, values))}"#
    }

    /// The messages, per topic `<prefix>.public.<table>`, offsets from 0.
    static func messages(prefix: String = "nw") -> [OwnedMessage] {
        var out: [OwnedMessage] = []
        var offsets: [String: Int64] = [:]
        let t0: Int64 = 1_700_000_000_000
        func send(_ table: Int, op: String, key: [String], before: [String]? = nil, after: [String]?, ts: Int64) {
            let t = tables[table]
            let topic = "\(prefix).public.\(t.name)"
            let offset = offsets[topic, default: 0]
            offsets[topic] = offset + 1
            out.append(
                OwnedMessage(
                    topic: topic, partition: 0, offset: offset, timestampMs: ts,
                    key: Array(self.key(prefix, t, key).utf8),
                    value: op == "tombstone"
                        ? nil : Array(envelope(prefix, t, op: op, before: before, after: after, ts: ts).utf8)))
        }
        for (id, name) in [(1, "Beverages"), (2, "Condiments"), (3, "Seafood")] {
            send(0, op: "r", key: ["\(id)"], after: ["\(id)", "\"\(name)\"", id == 2 ? "null" : "\"d\(id)\""], ts: t0)
        }
        for (id, name, category, price) in [
            (10, "Chai", 1, "18.0"), (11, "Aniseed Syrup", 2, "10.0"), (12, "Ikura", 3, "31.0"),
            (13, "Konbu", 3, "6.0"),
        ] {
            send(
                1, op: "r", key: ["\(id)"],
                after: ["\(id)", "\"\(name)\"", "\(category)", price, "0", id == 13 ? "null" : "\(19_000 + id)"], ts: t0
            )
        }
        for (id, country) in [(100, "France"), (101, "Germany"), (102, "France")] {
            send(
                2, op: "c", key: ["\(id)"],
                after: [
                    "\(id)", "\"C\(id)\"", "\"\(country)\"", #"{"scale":2,"value":"\#(base64(1250 + id))"}"#,
                    "\(t0 * 1000 + Int64(id))",
                ], ts: t0 + Int64(id))
        }
        let lines: [(Int, Int, Int, Int, String)] = [
            (100, 10, 1440, 20, "0.15"), (100, 11, 1000, 3, "0.0"), (101, 12, 3100, 5, "0.05"),
            (101, 13, 600, 10, "0.0"), (102, 10, 1800, 2, "0.0"),
        ]
        func detail(_ l: (Int, Int, Int, Int, String)) -> [String] {
            ["\(l.0)", "\(l.1)", "\"\(base64(l.2))\"", "\(l.3)", l.4]
        }
        for l in lines { send(3, op: "c", key: ["\(l.0)", "\(l.1)"], after: detail(l), ts: t0 + 200) }
        send(3, op: "u", key: ["101", "13"], after: detail((101, 13, 600, 12, "0.0")), ts: t0 + 300)
        send(3, op: "d", key: ["100", "11"], before: detail((100, 11, 0, 0, "0.0")), after: nil, ts: t0 + 400)
        send(3, op: "tombstone", key: ["100", "11"], after: nil, ts: t0 + 400)
        return out
    }

    /// An in-memory registry: ids handed out in order, one per distinct schema text.
    final class Registry {
        var schemas: [Int32: RegisteredSchema] = [:]
        func register(subject: String, text: String) -> Int32 {
            if let known = schemas.values.first(where: { $0.text == text }) { return known.id }
            let id = Int32(schemas.count + 1)
            schemas[id] = RegisteredSchema(id: id, schemaType: "AVRO", text: text, subjects: [subject])
            return id
        }
    }

    /// The same messages as Confluent's AvroConverter writes them, and the schemas it registered.
    static func avro(_ messages: [OwnedMessage], register: @escaping (String, String) throws -> Int32) throws
        -> [OwnedMessage]
    {
        let encoder = AvroShopEncoder(register: register)
        return try messages.map { m in
            var out = m
            out.key = try m.key.map { try encoder.encode($0, subject: m.topic + "-key") ?? $0 }
            out.value = try m.value.map { try encoder.encode($0, subject: m.topic + "-value") ?? $0 }
            return out
        }
    }

    static func sample(_ messages: [OwnedMessage], schemas: [Int32: RegisteredSchema] = [:]) -> MessageSample {
        var sample = MessageSample()
        sample.messages = messages
        for m in messages where !sample.topics.contains(m.topic) { sample.topics.append(m.topic) }
        sample.completeTopics = Set(sample.topics)
        sample.source = "test"
        sample.perTopicLimit = 2000
        sample.schemas = schemas
        return sample
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

@Suite("profile init and check on Avro topics (Confluent framing, schema registry)")
struct ProfileAvroSamplingTests {
    @Test("the same rows in JSON and in Avro: the same observation, column types, draft and check report")
    func avroReadsAsJSON() throws {
        let jsonMessages = TypedNorthwind.messages()
        let registry = TypedNorthwind.Registry()
        let avroMessages = try TypedNorthwind.avro(jsonMessages) { registry.register(subject: $0, text: $1) }
        let framed = avroMessages.allSatisfy { m in (m.value ?? [0]).first == 0 && m.key?.first == 0 }
        #expect(framed, "every key and value is framed")
        let avroBytes: Int = avroMessages.reduce(0) { $0 + ($1.value?.count ?? 0) }
        let jsonBytes: Int = jsonMessages.reduce(0) { $0 + ($1.value?.count ?? 0) }
        #expect(avroBytes * 3 < jsonBytes, "Avro carries no schema: \(avroBytes) vs \(jsonBytes) bytes")

        let jsonSample = TypedNorthwind.sample(jsonMessages)
        var avroSample = TypedNorthwind.sample(avroMessages)
        #expect(avroSample.framedSchemaIDs.count == registry.schemas.count)
        // Framed messages without a registry: an error that says what to pass.
        var withoutRegistry = avroSample
        let error = #expect(throws: SamplingError.self) { try withoutRegistry.resolveSchemas(registry: nil) }
        #expect(error?.description.contains("pass --schema-registry URL") == true, "\(error?.description ?? "")")
        avroSample.schemas = registry.schemas

        let fromJSON = SampleObservation(jsonSample)
        let fromAvro = SampleObservation(avroSample)
        #expect(try TypedNorthwind.json(fromAvro) == TypedNorthwind.json(fromJSON))
        // The types themselves, read from the schemas (a wrong reading on both sides would also be equal).
        let products = try #require(fromAvro.table("products"))
        #expect(products.column("unit_price")?.connectType == "float")
        #expect(products.column("category_id")?.connectType == "int16")
        #expect(products.column("added")?.connectType == "date (int32 days)")
        #expect(products.column("added")?.nulls == 1)
        let details = try #require(fromAvro.table("order_details"))
        #expect(details.keyColumns == ["order_id", "product_id"])
        #expect(details.column("unit_price")?.connectType == "decimal(scale 2)")
        #expect(details.column("unit_price")?.examples.first == "14.4")
        #expect(details.column("discount")?.examples.contains("0.15") == true)
        #expect(details.ops == ["c": 5, "u": 1, "d": 1] && details.tombstones == 1)
        #expect(details.deletesKeyOnly == 1 && details.deletesFull == 0)
        let orders = try #require(fromAvro.table("orders"))
        #expect(orders.column("freight")?.connectType == "variable-scale decimal")
        #expect(orders.column("order_date")?.connectType == "timestamp (int64 µs)")
        #expect(orders.keyColumns == ["order_id"])
        #expect(fromAvro.tables.allSatisfy { $0.unreadable == 0 && $0.hasSchema && $0.withoutKey == 0 })

        // The drafts are the same text, and the draft loads and computes the same on both.
        let jsonDraft = ProfileDraft(fromJSON).toml(name: "nw", source: "test", perTopic: 2000)
        let avroDraft = ProfileDraft(fromAvro).toml(name: "nw", source: "test", perTopic: 2000)
        #expect(avroDraft == jsonDraft)
        #expect(ProfileDraft(fromAvro).factTable == "order_details")
        let profile = try KPIProfile(tomlText: avroDraft, file: "draft.toml")
        let jsonReport = ProfileChecker.check(profile: profile, file: "draft.toml", sample: jsonSample)
        let avroReport = ProfileChecker.check(profile: profile, file: "draft.toml", sample: avroSample)
        #expect(avroReport.json() == jsonReport.json())
        #expect(avroReport.usable, "\(avroReport.problems)")
        #expect(avroReport.malformedTotal == 0)
        #expect(avroReport.kpis.count >= 2)
        func totals(_ s: MessageSample) -> KPIResult {
            let core = EngineCore(profile: profile)
            if !s.schemas.isEmpty { core.schemaSource = SampleSchemaSource(s.schemas) }
            for m in s.messages {
                core.ingest(
                    topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                    value: m.value)
            }
            return core.result
        }
        let (jsonTotals, avroTotals) = (totals(jsonSample), totals(avroSample))
        #expect(avroTotals.totals == jsonTotals.totals)
        #expect(avroTotals.totals.txCount == 3 && avroTotals.malformed == 0)
        #expect(avroTotals.totals.revenue != Money.zero)

        // A check that finds problems finds the same ones in Avro.
        let typo = try KPIProfile(
            tomlText: NorthwindRecording.goodProfile.replacingOccurrences(of: "ship_country", with: "ship_countyr"),
            file: "typo.toml")
        let badJSON = ProfileChecker.check(profile: typo, file: "typo.toml", sample: jsonSample)
        let badAvro = ProfileChecker.check(profile: typo, file: "typo.toml", sample: avroSample)
        #expect(!badAvro.usable)
        #expect(
            badAvro.problems.contains {
                $0.contains("ship_countyr: never present") && $0.contains("did you mean ship_country")
            })
        #expect(badAvro.json() == badJSON.json())
    }

    @Test(
        "on the real broker, through the registry stand-in: Avro topics draft the same profile as the same rows in JSON, and check the same",
        .tags(.kafka))
    func brokerAvroEqualsJSON() throws {
        guard let brokers = TestServices.environment("CDCTOP_TEST_BROKERS") else {
            Issue.record("CDCTOP_TEST_BROKERS is not set: run scripts/services up tansu and source .run/env")
            return
        }
        let registry = try RegistryTests.StandIn()
        defer { registry.stop() }
        let run = UInt32.random(in: 0...UInt32.max)
        let (jsonPrefix, avroPrefix) = ("pfj\(run)", "pfa\(run)")
        let writer = RegistryTests.client([registry.url])
        let json = TypedNorthwind.messages(prefix: jsonPrefix)
        let avro = try TypedNorthwind.avro(TypedNorthwind.messages(prefix: avroPrefix)) {
            try writer.register(subject: $0, schema: $1)
        }
        let producer = try KafkaProducer(brokers: brokers)
        // One partition: the sample reads each topic in the order written, in both forms.
        for m in json + avro {
            let key = m.key!
            try key.withUnsafeBytes { k in
                if let value = m.value {
                    try value.withUnsafeBytes { try producer.produce(topic: m.topic, partition: 0, key: k, value: $0) }
                } else {
                    try producer.produce(topic: m.topic, partition: 0, key: k, value: nil)
                }
            }
        }
        try producer.flush(timeoutMs: 30_000)
        #expect(producer.deliveryFailures == 0)

        func sample(_ prefix: String) throws -> MessageSample {
            try ProfileSampler.fromKafka(
                brokers: brokers, topics: ["^\(prefix)\\.public\\..*"], properties: [:], perTopic: 2000,
                timeoutSeconds: 60)
        }
        let jsonSample = try sample(jsonPrefix)
        var avroSample = try sample(avroPrefix)
        #expect(jsonSample.messages.count == json.count && avroSample.messages.count == avro.count)
        #expect(avroSample.notes.isEmpty && avroSample.completeTopics.count == 4)
        var unresolved = avroSample
        #expect(throws: SamplingError.self) { try unresolved.resolveSchemas(registry: nil) }
        // A client that knows nothing yet: every id is fetched from the stand-in over HTTP.
        try avroSample.resolveSchemas(registry: RegistryTests.client([registry.url]))
        #expect(Set(avroSample.schemas.keys) == Set(writer.knownSchemas.map(\.id)))
        #expect(avroSample.schemas.count == 8, "a key and a value schema per table")

        func same(_ text: String) -> String { text.replacingOccurrences(of: avroPrefix, with: jsonPrefix) }
        let jsonDraft = ProfileDraft(SampleObservation(jsonSample)).toml(
            name: "nw", source: jsonSample.source, perTopic: 2000)
        let avroDraft = ProfileDraft(SampleObservation(avroSample)).toml(
            name: "nw", source: avroSample.source, perTopic: 2000)
        #expect(same(avroDraft) == jsonDraft)
        #expect(jsonDraft.contains("[kpi.revenue]") && jsonDraft.contains("[kpi.category_sales]"))

        let profile = try KPIProfile(tomlText: jsonDraft, file: "draft.toml")
        let jsonReport = ProfileChecker.check(profile: profile, file: "draft.toml", sample: jsonSample)
        let avroReport = ProfileChecker.check(profile: profile, file: "draft.toml", sample: avroSample)
        #expect(jsonReport.usable && jsonReport.malformedTotal == 0, "\(jsonReport.problems)")
        #expect(same(avroReport.json()) == jsonReport.json())
        #expect(same(avroReport.text()) == jsonReport.text())
    }

    @Test(
        "offline: a recording of Avro topics in cdctop's binary-safe form carries its schemas and drafts what the JSON rows draft"
    )
    func avroRecording() throws {
        let jsonMessages = TypedNorthwind.messages()
        let registry = TypedNorthwind.Registry()
        let avroMessages = try TypedNorthwind.avro(jsonMessages) { registry.register(subject: $0, text: $1) }
        // `cdctop record`'s lines: a schema line before the first message using its id, then base64 of the exact bytes.
        func line(_ object: [String: Any]) -> String {
            String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        var lines: [String] = []
        var written = Set<Int32>()
        for m in avroMessages {
            for bytes in [m.key, m.value] {
                guard let bytes, let id = AvroWire.schemaID(bytes), written.insert(id).inserted else { continue }
                lines.append(line(["schema_id": Int(id), "schema": registry.schemas[id]!.text]))
            }
            lines.append(
                line([
                    "topic": m.topic, "partition": Int(m.partition), "offset": Int(m.offset), "ts": Int(m.timestampMs),
                    "key_b64": m.key.map { Data($0).base64EncodedString() } ?? NSNull(),
                    "value_b64": m.value.map { Data($0).base64EncodedString() } ?? NSNull(),
                ]))
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cdctop-profavro-\(UUID().uuidString).rec"
        ).path
        let bare = path + ".bare"
        defer { for p in [path, bare] { try? FileManager.default.removeItem(atPath: p) } }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try (lines.filter { !$0.contains("\"schema_id\"") }.joined(separator: "\n") + "\n").write(
            toFile: bare, atomically: true, encoding: .utf8)

        var sample = try ProfileSampler.fromRecordings([path], topics: nil, perTopic: 2000)
        #expect(sample.messages.count == avroMessages.count)
        #expect(sample.schemas.count == registry.schemas.count)
        try sample.resolveSchemas(registry: nil)  // nothing left to fetch
        let fromRecording = SampleObservation(sample)
        let fromJSON = SampleObservation(TypedNorthwind.sample(jsonMessages))
        #expect(try TypedNorthwind.json(fromRecording) == TypedNorthwind.json(fromJSON))
        #expect(
            ProfileDraft(fromRecording).toml(name: "nw", source: "r", perTopic: 2000)
                == ProfileDraft(fromJSON).toml(name: "nw", source: "r", perTopic: 2000))

        // Without its schema lines the recording needs the registry, and says so.
        var withoutSchemas = try ProfileSampler.fromRecordings([bare], topics: nil, perTopic: 2000)
        #expect(withoutSchemas.schemas.isEmpty)
        let error = #expect(throws: SamplingError.self) { try withoutSchemas.resolveSchemas(registry: nil) }
        #expect(
            error?.description.contains(
                "4 topics (nw.public.categories, nw.public.order_details, nw.public.orders and 1 more)") == true,
            "\(error?.description ?? "")")
    }

    @Test("Avro that does not decode, and Protobuf, are unreadable with the schema id and byte position, never a crash")
    func unreadableAvro() throws {
        let registry = TypedNorthwind.Registry()
        var messages = try TypedNorthwind.avro(TypedNorthwind.messages()) { registry.register(subject: $0, text: $1) }
        let i = try #require(messages.firstIndex { $0.topic == "nw.public.orders" })
        messages[i].value = Array(messages[i].value!.prefix(12))  // truncated
        messages[i + 1].value![0...4] = [0, 0, 0, 0, 99]  // schema id 99: Protobuf
        var schemas = registry.schemas
        schemas[99] = RegisteredSchema(id: 99, schemaType: "PROTOBUF", text: "syntax = \"proto3\";", subjects: [])
        let sample = TypedNorthwind.sample(messages, schemas: schemas)
        let orders = try #require(SampleObservation(sample).table("orders"))
        #expect(orders.unreadable == 2)
        let example = try #require(orders.unreadableExample)
        #expect(
            example.hasPrefix("Avro: ") && example.contains("(schema id ") && example.contains(", at byte "),
            "\(example)")

        let profile = try KPIProfile(tomlText: NorthwindRecording.goodProfile, file: "good.toml")
        let report = ProfileChecker.check(profile: profile, file: "good.toml", sample: sample)
        #expect(report.problems.contains { $0.contains("orders: 2 messages are not change events cdctop can read") })
        // The engine counts both as malformed; the reasons keep the schema id, not the byte position.
        #expect(
            report.malformed.contains {
                $0.table == "orders" && $0.reason.contains("schema id 99") && $0.reason.contains("Protobuf")
            })
        #expect(report.malformed.allSatisfy { !$0.reason.contains("at byte") }, "\(report.malformed)")
    }
}
