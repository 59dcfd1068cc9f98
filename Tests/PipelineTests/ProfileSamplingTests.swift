import Foundation
import Metrics
@testable import Pipeline
import Testing

/// A Northwind-shaped recording (cdctop's recording format, in a temp file): categories → products →
/// order_details (composite key, `real` prices, a discount) ← orders; order_details carries a schema;
/// one delete under REPLICA IDENTITY DEFAULT (key + placeholders) and its tombstone.
enum NorthwindRecording {
    static func line(_ topic: String, _ offset: Int, key: Any?, value: Any?) -> String {
        let object: [String: Any] = ["topic": topic, "partition": 0, "offset": offset, "key": key ?? NSNull(), "value": value ?? NSNull()]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func envelope(_ table: String, op: String, before: [String: Any]?, after: [String: Any]?, ts: Int64) -> [String: Any] {
        ["op": op, "ts_ms": ts, "before": before ?? NSNull(), "after": after ?? NSNull(),
         "source": ["table": table, "schema": "public", "ts_ms": ts, "snapshot": op == "r" ? "true" : "false"]]
    }

    static var detailSchema: [String: Any] {
        let columns: [[String: Any]] = [
            ["type": "int16", "optional": false, "field": "order_id"],
            ["type": "int16", "optional": false, "field": "product_id"],
            ["type": "float", "optional": false, "field": "unit_price"],
            ["type": "int16", "optional": false, "field": "quantity"],
            ["type": "float", "optional": false, "field": "discount"],
        ]
        return ["type": "struct", "name": "nw.public.order_details.Envelope", "fields": [
            ["type": "struct", "optional": true, "field": "before", "fields": columns],
            ["type": "struct", "optional": true, "field": "after", "fields": columns],
            ["type": "string", "optional": false, "field": "op"],
        ]]
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
            send("categories", key: ["category_id": id],
                 value: envelope("categories", op: "r", before: nil, after: ["category_id": id, "category_name": name, "description": "d\(id)"], ts: t0))
        }
        for (id, name, cat, price) in [(10, "Chai", 1, 18.0), (11, "Aniseed Syrup", 2, 10.0), (12, "Ikura", 3, 31.0), (13, "Konbu", 3, 6.0)] {
            send("products", key: ["product_id": id],
                 value: envelope("products", op: "r", before: nil, after: ["product_id": id, "product_name": name, "category_id": cat,
                                                                          "unit_price": price, "discontinued": 0], ts: t0))
        }
        for (id, country, via) in [(100, "France", 1), (101, "Germany", 2), (102, "France", 1)] {
            send("orders", key: ["order_id": id],
                 value: envelope("orders", op: "c", before: nil, after: ["order_id": id, "customer_id": "C\(id)", "ship_country": country,
                                                                      "ship_via": via, "freight": 12.5], ts: t0 + Int64(id)))
        }
        func detail(_ o: Int, _ p: Int, _ price: Double, _ q: Int, _ d: Double) -> [String: Any] {
            ["order_id": o, "product_id": p, "unit_price": price, "quantity": q, "discount": d]
        }
        let lines: [(Int, Int, Double, Int, Double)] = [(100, 10, 14.4, 20, 0.15), (100, 11, 10, 3, 0), (101, 12, 31, 5, 0.05),
                                                         (101, 13, 6, 10, 0), (102, 10, 18, 2, 0)]
        for l in lines {
            send("order_details", key: ["order_id": l.0, "product_id": l.1],
                 value: envelope("order_details", op: "c", before: nil, after: detail(l.0, l.1, l.2, l.3, l.4), ts: t0 + 200), schema: detailSchema)
        }
        // An update: (101, 13) quantity 10 → 12.
        send("order_details", key: ["order_id": 101, "product_id": 13],
             value: envelope("order_details", op: "u", before: nil, after: detail(101, 13, 6, 12, 0), ts: t0 + 300), schema: detailSchema)
        // A delete under REPLICA IDENTITY DEFAULT: the key and placeholders; then its tombstone.
        send("order_details", key: ["order_id": 100, "product_id": 11],
             value: envelope("order_details", op: "d", before: detail(100, 11, 0, 0, 0), after: nil, ts: t0 + 400), schema: detailSchema)
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
        #expect(text.contains("order_details: key (order_id, product_id)") || text.contains("composite key (order_id, product_id) from the record key"))
        let profile = try KPIProfile(tomlText: text, file: "draft.toml")
        let model = try #require(profile.model)
        let revenue = try #require(model.revenue.map { model.kpis[$0] })
        #expect(revenue.sql.contains("unit_price * o.quantity") || revenue.sql.contains(".unit_price * ") && revenue.sql.contains(".quantity"))
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

        let typo = try KPIProfile(tomlText: NorthwindRecording.goodProfile.replacingOccurrences(of: "ship_country", with: "ship_countyr"), file: "typo.toml")
        let bad = ProfileChecker.check(profile: typo, file: "typo.toml", sample: sample)
        #expect(!bad.usable)
        let column = bad.tables.first { $0.name == "orders" }?.columns.first { $0.name == "ship_countyr" }
        #expect(column?.status == "never present")
        #expect(bad.problems.contains { $0.contains("ship_countyr: never present") && $0.contains("did you mean ship_country") })
        #expect(bad.malformed.contains { $0.table == "orders" && $0.count == 3 })
        #expect(bad.text().contains("NOT usable"))

        // Text where a number is summed.
        let textSum = try KPIProfile(tomlText: """
            [kpi.revenue]
            sql = "select sum(customer_id) from orders"
            """, file: "t.toml")
        let notNumber = ProfileChecker.check(profile: textSum, file: "t.toml", sample: sample)
        #expect(notNumber.tables.first?.columns.first?.status == "not a number")
        #expect(!notNumber.usable)

        // Messages without a record key.
        var keyless = sample
        keyless.messages = keyless.messages.map { var m = $0; if m.topic == "nw.public.orders" { m.key = nil }; return m }
        let noKey = ProfileChecker.check(profile: good, file: "good.toml", sample: keyless)
        #expect(noKey.problems.contains { $0.contains("orders: messages have no record key") && $0.contains("message.key.columns") && $0.contains("[tables.orders] key") })
        #expect(noKey.malformedTotal == 3)
    }
}
