import Foundation
import Metrics
import Testing

@testable import Pipeline

/// The real Debezium captures, checked in under Tests/Fixtures/debezium (see its README), so a
/// fresh clone tests with nothing beside the repository.
enum Samples {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/debezium")

    static func messages(_ file: String) throws -> [OwnedMessage] {
        let url = directory.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        var out: [OwnedMessage] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let m = try RecordingReader.parse(line: line, file: file, lineNumber: i + 1) { out.append(m) }
        }
        return out
    }

    static let prefixes = ["shop", "shopnos", "shopstr", "shopdbl"]
    static let tables = ["customer", "product", "transaction", "transactiondetail"]
}

func decodeAll(_ messages: [OwnedMessage], decoder: DebeziumDecoder) -> [DecodeOutcome] {
    messages.map { m in
        let slot = decoder.slot(forTopic: m.topic)
        guard let v = m.value else { return decoder.decode(slot: slot, value: nil) }
        return v.withUnsafeBytes { decoder.decode(slot: slot, value: $0) }
    }
}

func events(_ outcomes: [DecodeOutcome]) -> [ChangeEvent] {
    outcomes.compactMap { if case .event(let e) = $0 { e } else { nil } }
}

@Suite("Debezium decoder on the real samples")
struct DebeziumSampleTests {
    @Test("every sample message decodes; none is malformed", arguments: Samples.prefixes)
    func everyMessageDecodes(prefix: String) throws {
        let decoder = DebeziumDecoder(profile: .samples)
        for table in Samples.tables {
            let outcomes = decodeAll(try Samples.messages("\(prefix).public.\(table).jsonl"), decoder: decoder)
            #expect(!outcomes.isEmpty)
            for o in outcomes {
                if case .malformed(_, let reason) = o { Issue.record("\(prefix).\(table): \(reason)") }
                if case .ignored(_, let reason) = o { Issue.record("\(prefix).\(table) ignored: \(reason)") }
            }
            let tombstones = outcomes.filter { if case .tombstone = $0 { true } else { false } }.count
            #expect(tombstones == (table == "product" ? 0 : 1), "\(prefix).\(table) tombstones")
        }
    }

    @Test(
        "transaction: create 59.97, update to 60.00, delete, tombstone — in every decimal form",
        arguments: Samples.prefixes)
    func transactionValues(prefix: String) throws {
        let decoder = DebeziumDecoder(profile: .samples)
        let outcomes = decodeAll(try Samples.messages("\(prefix).public.transaction.jsonl"), decoder: decoder)
        let e = events(outcomes)
        try #require(e.count == 3)
        #expect(e.map(\.op) == [.create, .update, .delete])
        #expect(e.allSatisfy { $0.role == .sale && $0.table == "transaction" && !$0.isSnapshot })
        #expect(e[0].after?.key == .int(500))
        #expect(e[0].after?.amount == .value(Money(cents: 5997)))
        #expect(e[0].before == nil)
        #expect(e[1].before?.amount == .value(Money(cents: 5997)))
        #expect(e[1].after?.amount == .value(Money(cents: 6000)))
        #expect(e[2].before?.amount == .value(Money(cents: 6000)))
        #expect(e[2].after == nil)
        #expect(e[0].commitTimeMs == 1_795_347_195_732)
        #expect(e[2].commitTimeMs == 1_795_347_195_734)
        if case .tombstone(let t) = outcomes[3] {
            #expect(t == "transaction")
        } else {
            Issue.record("no tombstone last")
        }
    }

    @Test("line item: quantity, unit price and product key", arguments: Samples.prefixes)
    func lineItemValues(prefix: String) throws {
        let decoder = DebeziumDecoder(profile: .samples)
        let e = events(decodeAll(try Samples.messages("\(prefix).public.transactiondetail.jsonl"), decoder: decoder))
        try #require(e.count == 2)
        #expect(e[0].op == .create && e[1].op == .delete)
        #expect(e[0].after?.key == .int(900))
        #expect(e[0].after?.quantity == .value(3))
        #expect(e[0].after?.unitPrice == .value(Money(cents: 1999)))
        #expect(e[0].after?.reference == .value(.int(1)))
        #expect(e[1].before?.unitPrice == .value(Money(cents: 1999)))
    }

    @Test("product: snapshot reads, then an update to 1234567890.12 with before null", arguments: Samples.prefixes)
    func productValues(prefix: String) throws {
        let decoder = DebeziumDecoder(profile: .samples)
        let e = events(decodeAll(try Samples.messages("\(prefix).public.product.jsonl"), decoder: decoder))
        try #require(e.count == 4)
        #expect(e.filter { $0.op == .read }.count == 3)
        #expect(e.filter(\.isSnapshot).count == 3)
        let update = try #require(e.first { $0.op == .update })
        #expect(update.before == nil)
        #expect(update.after?.category == .value("Product 3"))
        #expect(!update.isSnapshot)
    }

    @Test("full before/after description renders exact decimals and placeholders")
    func fullDescription() throws {
        let m = try Samples.messages("shop.public.customer.jsonl")
        let update = try #require(m.first { $0.partition == 2 && $0.offset == 3 })
        let d = try #require(ChangeDescription.decode(value: update.value!))
        #expect(d.op == .update && d.table == "customer" && d.before == nil)
        let after = try #require(d.after)
        #expect(after.first { $0.name == "credit_limit" }?.value == "-0.01")
        #expect(after.first { $0.name == "email" }?.value == "alice2@x.test")
        let tx = try Samples.messages("shop.public.transaction.jsonl")
        let u = try #require(ChangeDescription.decode(value: tx[1].value!))
        #expect(u.changedColumns == ["amount", "status"])
        #expect(u.after?.first { $0.name == "amount" }?.value == "60.00")
        let product = try Samples.messages("shop.public.product.jsonl")
        let big = try #require(product.first { $0.offset == 1 && $0.partition == 0 })
        #expect(
            ChangeDescription.decode(value: big.value!)?.after?.first { $0.name == "price" }?.value == "1234567890.12")
    }

    @Test("replaying all four tables in any topic order gives the same exact result", arguments: Samples.prefixes)
    func orderIndependentReplay(prefix: String) throws {
        var results: [String] = []
        for order in [
            Samples.tables, Samples.tables.reversed(), ["transactiondetail", "transaction", "customer", "product"],
        ] {
            let core = EngineCore(profile: .samples)
            for table in order {
                for m in try Samples.messages("\(prefix).public.\(table).jsonl") {
                    core.ingest(topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, value: m.value)
                }
            }
            results.append(core.result.json())
            #expect(core.messages == 19)
            #expect(core.malformed == 0)
            #expect(core.tombstones == 3)
        }
        #expect(Set(results).count == 1)
        #expect(
            results[0]
                == #"{"window_ms":30000,"messages":19,"windows":[{"window_start_ms":1795347180000,"tx_count":0,"revenue":"0.00","category_revenue":{}}],"totals":{"tx_count":0,"revenue":"0.00","category_revenue":{}},"malformed":0,"dropped":0}"#
        )
    }
}

@Suite("Debezium decoder: forms and failures")
struct DebeziumFormTests {
    let decoder = DebeziumDecoder(profile: .shop)

    func decode(_ topic: String, _ json: String?) -> DecodeOutcome {
        let slot = decoder.slot(forTopic: topic)
        guard let json else { return decoder.decode(slot: slot, value: nil) }
        return Array(json.utf8).withUnsafeBytes { decoder.decode(slot: slot, value: $0, kafkaTimestampMs: 42) }
    }

    @Test func unwrappedRecordWithMetadata() throws {
        let o = decode(
            "shop.public.transaction",
            #"{"transaction_id":7,"customer_id":1,"amount":"12.50","status":"new","__op":"c","__table":"transaction","__source_ts_ms":1700000000123,"__deleted":"false"}"#
        )
        guard case .event(let e) = o else {
            Issue.record("\(o)")
            return
        }
        #expect(e.op == .create && e.after?.amount == .value(Money(cents: 1250)) && e.commitTimeMs == 1_700_000_000_123)
        let d = decode(
            "shop.public.transaction",
            #"{"transaction_id":7,"amount":"12.50","__op":"d","__deleted":"true","__source_ts_ms":5}"#)
        guard case .event(let del) = d else {
            Issue.record("\(d)")
            return
        }
        #expect(del.op == .delete && del.before?.key == .int(7) && del.after == nil)
    }

    @Test func unwrappedWithoutOpIsAnUpsertAtKafkaTime() throws {
        guard case .event(let e) = decode("shop.public.transaction", #"{"transaction_id":8,"amount":3.5}"#) else {
            Issue.record("not an event")
            return
        }
        #expect(
            e.op == .update && e.before == nil && e.commitTimeMs == 42 && e.after?.amount == .value(Money(cents: 350)))
    }

    @Test func variableScaleDecimalAndUnavailableValue() throws {
        guard
            case .event(let e) = decode(
                "shop.public.transaction",
                #"{"before":null,"after":{"transaction_id":1,"amount":{"scale":3,"value":"AYbS"}},"source":{"ts_ms":10,"table":"transaction","snapshot":"false"},"op":"c"}"#
            )
        else {
            Issue.record("not an event")
            return
        }
        #expect(e.after?.amount == .value(Money(unscaled: 100050, scale: 3)!))
        guard
            case .event(let u) = decode(
                "shop.public.transaction",
                #"{"before":null,"after":{"transaction_id":1,"amount":"__debezium_unavailable_value"},"source":{"ts_ms":11},"op":"u"}"#
            )
        else {
            Issue.record("not an event")
            return
        }
        #expect(u.after?.amount == .unavailable)
    }

    @Test("base64 that looks like a number (E119 = 1269117) is still a precise decimal")
    func base64ThatLooksLikeANumber() throws {
        let schema =
            #"{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int64","field":"transaction_id"},{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"amount"}],"field":"after"}]}"#
        for amount in ["E119", "1E34"] {
            let withSchema =
                "{\"schema\":\(schema),\"payload\":{\"before\":null,\"after\":{\"transaction_id\":1,\"amount\":\"\(amount)\"},\"source\":{\"ts_ms\":1},\"op\":\"c\"}}"
            let schemaless =
                "{\"before\":null,\"after\":{\"transaction_id\":1,\"amount\":\"\(amount)\"},\"source\":{\"ts_ms\":1},\"op\":\"c\"}"
            var expected: Money? = nil
            for json in [withSchema, schemaless] {
                guard case .event(let e) = decode("shop.public.transaction", json) else {
                    Issue.record("\(amount) not decoded")
                    continue
                }
                if expected == nil { expected = e.after?.amount.value }
                #expect(e.after?.amount.value == expected)
            }
        }
        guard
            case .event(let e) = decode(
                "shop.public.transaction",
                "{\"schema\":\(schema),\"payload\":{\"before\":null,\"after\":{\"transaction_id\":1,\"amount\":\"E119\"},\"source\":{\"ts_ms\":1},\"op\":\"c\"}}"
            )
        else {
            Issue.record("not decoded")
            return
        }
        #expect(e.after?.amount == .value(Money(cents: 1_269_117)))
    }

    @Test("a routed topic takes the table from source.table, message after message")
    func routedTopic() {
        for (table, id) in [("transaction", 1), ("product", 2), ("transaction", 3)] {
            let json =
                "{\"before\":null,\"after\":{\"transaction_id\":\(id),\"product_id\":\(id),\"amount\":\"1.00\",\"category\":\"c\"},\"source\":{\"ts_ms\":1,\"table\":\"\(table)\"},\"op\":\"c\"}"
            guard case .event(let e) = decode("shop.all", json) else {
                Issue.record("not decoded")
                continue
            }
            #expect(e.table == table)
            #expect(e.role == (table == "transaction" ? .sale : .dimension))
            #expect(e.after?.key == .int(Int64(id)))
        }
    }

    @Test func truncateAndTombstones() {
        if case .event(let t) = decode(
            "shop.public.transaction",
            #"{"before":null,"after":null,"source":{"ts_ms":10,"table":"transaction"},"op":"t"}"#)
        {
            #expect(t.op == .truncate)
        } else {
            Issue.record("truncate not decoded")
        }
        if case .tombstone = decode("shop.public.transaction", nil) {
        } else {
            Issue.record("null value is a tombstone")
        }
        if case .tombstone = decode("shop.public.transaction", #"{"schema":null,"payload":null}"#) {
        } else {
            Issue.record("null payload is a tombstone")
        }
    }

    @Test(
        "malformed input is reported with a reason, never a crash",
        arguments: [
            "", "{", "not json",
            #"{"before":null,"after":{"transaction_id":1,"amount":"12.50"},"source":{"ts_ms":1},"op":"x"}"#,
            #"{"before":null,"after":{"transaction_id":1,"amount":"12.50"},"op":"c"}"#,
            #"{"before":null,"after":{"amount":"12.50"},"source":{"ts_ms":1},"op":"c"}"#,
            #"{"before":null,"after":{"transaction_id":1,"amount":"12,50"},"source":{"ts_ms":1},"op":"c"}"#,
            #"{"before":null,"after":{"transaction_id":1,"amount":"1.5"}}}"#,
            #"{"schema":{"type":"struct"},"payload":{"op":"c","source":{"ts_ms":1},"after":{"transaction_id":1,"amount":"@@@@"}}}"#,
            "[1,2,3]", "\u{0}\u{1}\u{2}",
        ])
    func malformed(_ json: String) {
        let o = decode("shop.public.transaction", json)
        guard case .malformed(let table, let reason) = o else {
            Issue.record("accepted \(json): \(o)")
            return
        }
        #expect(table == "transaction")
        #expect(!reason.isEmpty)
    }

    @Test func heartbeat() {
        if case .heartbeat(let ts) = decode(
            "__debezium-heartbeat.shop", #"{"schema":{"type":"struct"},"payload":{"ts_ms":1234}}"#)
        {
            #expect(ts == 1234)
        } else {
            Issue.record("heartbeat not recognised")
        }
    }

    @Test func recordingFormats() throws {
        let kcatJ =
            #"{"topic":"shop.public.transaction","partition":2,"offset":7,"tstype":"create","ts":99,"broker":1,"key":"{\"id\":1}","payload":"{\"op\":\"c\"}"}"#
        let m = try #require(try RecordingReader.parse(line: Substring(kcatJ), file: "f", lineNumber: 1))
        #expect(m.topic == "shop.public.transaction" && m.partition == 2 && m.offset == 7 && m.timestampMs == 99)
        #expect(m.value.map { String(decoding: $0, as: UTF8.self) } == #"{"op":"c"}"#)
        #expect(m.key.map { String(decoding: $0, as: UTF8.self) } == #"{"id":1}"#)
        let tomb = try #require(
            try RecordingReader.parse(
                line: #"{"topic":"t","partition":0,"offset":1,"key":"k","payload":null}"#, file: "f", lineNumber: 2))
        #expect(tomb.value == nil)
        let tab = try #require(try RecordingReader.parse(line: "t.x\t1\t5\tk1\t{\"a\":1}", file: "f", lineNumber: 3))
        #expect(tab.partition == 1 && tab.offset == 5 && tab.value != nil)
        let tabTomb = try #require(try RecordingReader.parse(line: "t.x\t1\t6\tk1\t", file: "f", lineNumber: 4))
        #expect(tabTomb.value == nil)
        #expect(throws: RecordingError.self) { try RecordingReader.parse(line: "garbage", file: "f", lineNumber: 5) }
    }
}
