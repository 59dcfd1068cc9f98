import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Values as people read them, decoded by Pipeline into typed cells: decimals at their column's scale,
/// binary as its bytes. Against real Debezium output of a numeric(14,4)/bytea table
/// (Tests/Fixtures/debezium/valuesfx*.public.ledger.jsonl, scripts/capture-value-samples).
@Suite struct ValueCellsDecodingTests {
    /// The 38 bytes of row 1's `payload` as inserted (scripts/capture-value-samples).
    static let row1Payload: [UInt8] = Array(0...0x1f) + [0x63, 0x64, 0x63, 0x7a, 0x74, 0xf0]

    static func field(_ image: [ChangeDescription.Field]?, _ name: String) -> ChangeDescription.Field? {
        image?.first { $0.name == name }
    }

    @Test func decimalsWithASchemaPrintAtTheColumnsScaleAndBytesAsTheirSize() throws {
        let m = try Samples.messages("valuesfx.public.ledger.jsonl")
        let ds = try m.compactMap(\.value).map { try #require(ChangeDescription.decode(value: $0)) }
        let creates = ds.filter { $0.op == .create }
        // Inserted as 12.5, 3.1416 and 7 into numeric(14,4): `parameters.scale` is 4.
        #expect(creates.map { Self.field($0.after, "amount")?.value } == ["12.5000", "3.1416", "7.0000"])
        #expect(creates.allSatisfy { Self.field($0.after, "amount")?.kind == .decimal(scale: 4) })
        #expect(creates.map { Self.field($0.after, "fee")?.value } == ["0.2500", "null", "1.0000"])
        // bytea: Debezium's `bytes` schema type, base64 in the JSON.
        let payloads = creates.map { Self.field($0.after, "payload") }
        #expect(payloads.map { $0?.value } == ["38 bytes", "1 byte", "300 bytes"])
        #expect(payloads.allSatisfy { $0?.kind == .binary })
        #expect(payloads[0]?.bytes == Self.row1Payload)
        #expect(payloads[1]?.bytes == [0x2a])
        #expect(payloads[2]?.bytes == Array(repeating: [0xca, 0xfe], count: 150).flatMap { $0 })
        #expect(
            Self.field(creates[0].after, "note")?.kind == .text && Self.field(creates[0].after, "id")?.kind == .number)
        let update = try #require(ds.first { $0.op == .update })
        #expect(Self.field(update.after, "amount")?.value == "1234567890.1234")
        // Same size, same bytes: not a change; the amount is.
        #expect(update.changedColumns == ["amount"])
    }

    @Test func withoutASchemaDecimalsPrintAtTheLargestScaleSeenInTheirColumn() throws {
        // decimal.handling.mode=double, schemas off: `12.5`, `3.1416`, `7.0`: the scale is not sent.
        let m = try Samples.messages("valuesfxdbl.public.ledger.jsonl")
        var scales = DecimalDisplayScales()
        let ds = try m.compactMap(\.value).map { try #require(ChangeDescription.decode(value: $0, scales: &scales)) }
        let amounts = ds.filter { $0.op == .create }.map { Self.field($0.after, "amount") }
        // The first is read before a larger scale was seen; the display pads it (ValueCells in the App).
        #expect(amounts.map { $0?.value } == ["12.5", "3.1416", "7.0000"])
        #expect(amounts.map { $0?.kind } == [.decimal(scale: 1), .decimal(scale: 4), .decimal(scale: 4)])
        // Java writes 1234567890.1234 as `1.2345678901234E9`: shown in plain notation at the column's scale.
        #expect(Self.field(ds.first { $0.op == .update }?.after, "amount")?.value == "1234567890.1234")
        let delete = try #require(ds.first { $0.op == .delete })
        #expect(Self.field(delete.before, "amount")?.value == "3.1416")
        // One message alone knows only its own scale.
        #expect(Self.field(ChangeDescription.decode(value: m[2].value!)?.after, "amount")?.value == "7.0")
        // Without a schema base64 is just text: bytea cannot be told from a string.
        #expect(Self.field(ds[0].after, "payload")?.kind == .text)
        // An integer in a column that held decimals is one of them; an id column stays an integer.
        var s = DecimalDisplayScales()
        _ = ChangeDescription.decode(
            value: Array(#"{"op":"c","before":null,"after":{"id":1,"amount":2.25},"source":{"table":"t"}}"#.utf8),
            scales: &s)
        let later = ChangeDescription.decode(
            value: Array(#"{"op":"c","before":null,"after":{"id":2,"amount":7},"source":{"table":"t"}}"#.utf8),
            scales: &s)
        #expect(Self.field(later?.after, "amount")?.value == "7.00" && Self.field(later?.after, "id")?.value == "2")
        // Another table's column of the same name has its own scale.
        let other = ChangeDescription.decode(
            value: Array(#"{"op":"c","before":null,"after":{"amount":7.5},"source":{"table":"u"}}"#.utf8), scales: &s)
        #expect(Self.field(other?.after, "amount")?.value == "7.5")
    }

    @Test func theProfilesMoneyColumnsReadBase64WithoutASchemaAtItsScale() throws {
        // shopnos: precise decimals with schemas off; the samples profile's `amount` at default_decimal_scale 2.
        let m = try Samples.messages("shopnos.public.transaction.jsonl")
        var scales = DecimalDisplayScales(profile: .samples)
        #expect(scales.moneyColumns == ["amount": 2, "price": 2])
        let d = try #require(
            m.compactMap(\.value).lazy.compactMap { ChangeDescription.decode(value: $0, scales: &scales) }.first {
                $0.after != nil
            })
        let amount = try #require(Self.field(d.after, "amount"))
        #expect(amount.kind == .decimal(scale: 2))
        // The same row with its schema (shop.*) reads the same.
        let withSchema = try Samples.messages("shop.public.transaction.jsonl").compactMap(\.value).compactMap {
            ChangeDescription.decode(value: $0)
        }
        #expect(withSchema.contains { Self.field($0.after, "amount")?.value == amount.value })
        // String mode keeps the scale it was sent with.
        let str = try Samples.messages("shopstr.public.transaction.jsonl").compactMap(\.value).compactMap {
            ChangeDescription.decode(value: $0)
        }
        #expect(
            str.contains {
                Self.field($0.after, "amount")?.value == amount.value
                    && Self.field($0.after, "amount")?.kind == .decimal(scale: 2)
            })
    }

    @Test func avroDecimalsAndBytesReadAsTheJSONFormDoes() throws {
        // The real rows converted to Avro as Confluent's AvroConverter writes them: decimal logical type, bytes.
        var compared = 0
        for m in try Samples.messages("valuesfx.public.ledger.jsonl") {
            guard let v = m.value, let (text, payload) = ConnectAvro.convert(v) else { continue }
            let schema = try AvroSchema(json: text)
            let fromAvro = try #require(ChangeDescription.decode(avroPayload: payload, schema: schema))
            #expect(fromAvro == ChangeDescription.decode(value: v), "offset \(m.offset)")
            compared += 1
        }
        #expect(compared == 5)
        let first = try #require(
            try Samples.messages("valuesfx.public.ledger.jsonl").first?.value.flatMap(ConnectAvro.convert))
        let d = try #require(ChangeDescription.decode(avroPayload: first.1, schema: try AvroSchema(json: first.0)))
        #expect(
            Self.field(d.after, "amount")?.kind == .decimal(scale: 4)
                && Self.field(d.after, "amount")?.value == "12.5000")
        #expect(Self.field(d.after, "payload")?.bytes == Self.row1Payload)
    }

    @Test func theEngineHandsRecentChangesOverDecodedNewestFirstWithinABudget() throws {
        let m = try Samples.messages("valuesfxdbl.public.ledger.jsonl").filter { $0.value != nil }
        let core = EngineCore(profile: .samples)
        core.captureRecentChanges = true
        // 1,500 changes of the ledger (the five real ones over and over), more than one snapshot decodes.
        let total = 1_500
        for n in 0..<total {
            let msg = m[n % m.count]
            core.ingest(topic: msg.topic, partition: 0, offset: Int64(n), key: msg.key, value: msg.value)
        }
        var decoded: [Int] = []
        var last: [RecentChange] = []
        let budget = RecentChangeRing.decodesPerSnapshot
        let rounds = (total + budget - 1) / budget + 1
        for sequence in 1...rounds {
            let start = ContinuousClock.now
            last = core.snapshot(sequence: UInt64(sequence), takenAtMs: 0).diagnostics.recentChanges["ledger"] ?? []
            if sequence == 1 {
                print(
                    "values: first snapshot with \(RecentChangeRing.decodesPerSnapshot) decodes took \(ContinuousClock.now - start)"
                )
            }
            decoded.append(last.filter { $0.decoded != nil }.count)
        }
        #expect(last.count == total)
        // Newest first, `budget` more each snapshot, then all of them (and no more work).
        #expect(decoded == (1...rounds).map { min($0 * budget, total) })
        // Each equals decoding the same message alone, but for the scale learnt from the whole column.
        for c in last {
            let d = try #require(c.decoded)
            let alone = try #require(ChangeDescription.decode(value: c.value!))
            #expect(
                d.op == alone.op && d.before?.map(\.name) == alone.before?.map(\.name)
                    && d.after?.map(\.name) == alone.after?.map(\.name))
            for f in (d.after ?? d.before ?? []) where f.name == "amount" {
                #expect(f.kind == .decimal(scale: 4), "\(f)")
            }
        }
        // Decoded newest first, the newest being the delete of 3.1416: every amount at 4 places.
        #expect(
            last.compactMap { Self.field($0.decoded?.after ?? $0.decoded?.before, "amount")?.value }.allSatisfy {
                $0.split(separator: ".").last?.count == 4
            })
    }
}
