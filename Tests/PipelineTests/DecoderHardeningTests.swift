import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Values a topic can hold that are not usable: each must come back `.malformed` with a reason
/// and a byte position, never a trap and never a number.
@Suite("Debezium decoder: every value range-checked")
struct DecoderHardeningTests {
    let decoder = DebeziumDecoder(profile: .shop)

    func decode(_ topic: String, _ json: String, kafkaTimestampMs: Int64 = 42) -> DecodeOutcome {
        let slot = decoder.slot(forTopic: topic)
        return Array(json.utf8).withUnsafeBytes {
            decoder.decode(slot: slot, value: $0, kafkaTimestampMs: kafkaTimestampMs)
        }
    }

    func sale(amount: String, ts: String = "1700000000000") -> String {
        #"{"before":null,"after":{"transaction_id":1,"amount":"# + amount + #"},"source":{"ts_ms":"# + ts
            + #","table":"transaction"},"op":"c"}"#
    }

    func lineItem(quantity: String, price: String) -> String {
        #"{"before":null,"after":{"detail_id":1,"product_id":2,"quantity":"# + quantity + #","unit_price":"# + price
            + #"},"source":{"ts_ms":1700000000000},"op":"c"}"#
    }

    /// The reason of a malformed outcome, or nil (and an issue recorded) when it was accepted.
    func reason(_ o: DecodeOutcome, _ comment: Comment? = nil) -> String? {
        guard case .malformed(_, let reason) = o else {
            Issue.record("accepted: \(o) \(comment?.description ?? "")")
            return nil
        }
        return reason
    }

    /// The byte position a reason ends with: `… (at byte 57)`.
    func position(_ reason: String) -> Int? {
        guard let r = reason.range(of: "(at byte ", options: .backwards), reason.hasSuffix(")") else { return nil }
        return Int(reason[r.upperBound..<reason.index(before: reason.endIndex)])
    }

    func amount(_ o: DecodeOutcome) -> Money? {
        if case .event(let e) = o { return e.after?.amount.value }
        Issue.record("not an event: \(o)")
        return nil
    }

    // MARK: commit times

    @Test(
        "commit times outside years 1970…9999 are malformed in every field that carries one",
        arguments: [
            "9223372036854775807", "-9223372036854775807", "-9223372036854775808", "253402300800000", "-1",
        ])
    func commitTimeOutOfRange(ts: String) throws {
        let envelope = sale(amount: "\"1.00\"", ts: ts)
        let r1 = try #require(reason(decode("shop.public.transaction", envelope)))
        #expect(r1.contains("source.ts_ms") && r1.contains("1970…9999"), "\(r1)")
        // The position points at the number itself.
        let at = try #require(position(r1))
        let bytes = Array(envelope.utf8)
        #expect(String(decoding: bytes[at..<(at + ts.utf8.count)], as: UTF8.self) == ts)

        let fallback = #"{"before":null,"after":{"transaction_id":1,"amount":"1.00"},"ts_ms":"# + ts + #","op":"c"}"#
        let r2 = try #require(reason(decode("shop.public.transaction", fallback)))
        #expect(r2.hasPrefix("ts_ms "), "\(r2)")
        let unwrapped = #"{"transaction_id":1,"amount":"1.00","__op":"c","__source_ts_ms":"# + ts + #"}"#
        let r3 = try #require(reason(decode("shop.public.transaction", unwrapped)))
        #expect(r3.hasPrefix("__source_ts_ms "), "\(r3)")
        let heartbeat = #"{"payload":{"ts_ms":"# + ts + #"}}"#
        _ = reason(decode("__debezium-heartbeat.shop", heartbeat))
    }

    @Test("the first and last valid commit times are accepted")
    func commitTimeBounds() throws {
        for ts: Int64 in [0, 253_402_300_799_999] {
            guard case .event(let e) = decode("shop.public.transaction", sale(amount: "\"1.00\"", ts: String(ts)))
            else {
                Issue.record("\(ts) refused")
                continue
            }
            #expect(e.commitTimeMs == ts)
        }
    }

    @Test("an unwrapped record without __source_ts_ms falls back to the Kafka time only when it is valid")
    func kafkaTimestampFallback() throws {
        let json = #"{"transaction_id":8,"amount":3.5}"#
        guard case .event(let e) = decode("shop.public.transaction", json, kafkaTimestampMs: 1_700_000_000_000) else {
            Issue.record("refused")
            return
        }
        #expect(e.commitTimeMs == 1_700_000_000_000)
        let r = try #require(reason(decode("shop.public.transaction", json, kafkaTimestampMs: -1)))
        #expect(r.contains("Kafka timestamp -1"))
    }

    // MARK: money

    @Test(
        "amounts beyond ±10^18 are malformed in every decimal form",
        arguments: [
            "\"99999999999999999999999999999.99\"", "99999999999999999999999999999.99", "-1000000000000000000.01",
            "\"1000000000000000001\"", "1e19", "{\"scale\":0,\"value\":\"f////////////////////w==\"}",
            "{\"scale\":9,\"value\":\"gAAAAAAAAAAAAAAAAAAAAA==\"}",  // Int128.min units: formatting it must not trap
        ])
    func amountOutOfRange(amount: String) throws {
        let r = try #require(reason(decode("shop.public.transaction", sale(amount: amount)), "\(amount)"))
        #expect(r.contains("out of range (max ±10^18)"), "\(r)")
        #expect(r.hasPrefix("amount "), "\(r)")
        #expect(position(r) != nil)
    }

    @Test("the issue's example reads as the issue says")
    func issueExampleReason() throws {
        let r = try #require(
            reason(decode("shop.public.transaction", sale(amount: "\"99999999999999999999999999999.99\""))))
        #expect(r.hasPrefix("amount 99999999999999999999999999999.99 is out of range (max ±10^18)"), "\(r)")
    }

    @Test("exactly ±10^18 is still money")
    func amountAtTheLimit() {
        #expect(
            amount(decode("shop.public.transaction", sale(amount: "\"1000000000000000000.00\""))) == Money.maxMagnitude)
        #expect(amount(decode("shop.public.transaction", sale(amount: "-1000000000000000000"))) == -Money.maxMagnitude)
    }

    @Test(
        "schema-less strings that are neither decimal text nor strict base64 are malformed",
        arguments: [
            "NaN", "Infinity", "-Infinity", "+Infinity", "infinity", "nan", "-", "", "1.2.3", "--1", "1-", ".",
            "AB==", "AYb", "AYbS=", "A===", "====", "AY=S", "AYbS\\u0000", "12,50", "1e3", " 12.50", "0x1",
        ])
    func notADecimal(text: String) throws {
        let r = try #require(reason(decode("shop.public.transaction", sale(amount: "\"\(text)\"")), "\(text)"))
        #expect(r.hasPrefix("amount "), "\(r)")
        #expect(position(r) != nil)
    }

    @Test("NaN is no longer 137.31 of revenue")
    func nanIsNotRevenue() {
        let core = EngineCore(profile: .shop)
        core.ingest(
            topic: "shop.public.transaction", partition: 0, offset: 0, key: nil,
            value: Array(sale(amount: "\"NaN\"").utf8))
        #expect(core.malformed == 1)
        #expect(core.result.totals.revenue == .zero)
        #expect(core.recentMalformed.first?.reason.contains("NaN") == true)
    }

    @Test("with a Decimal schema, 'Infinity' is base64 and means what its bytes say")
    func infinityWithSchemaIsBase64() {
        let schema =
            #"{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int64","field":"transaction_id"},{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"amount"}],"field":"after"}]}"#
        let json = "{\"schema\":\(schema),\"payload\":\(sale(amount: "\"Infinity\""))}"
        // "Infinity" = 22 77 E2 9E 2B 72: an exact 48-bit integer.
        #expect(amount(decode("shop.public.transaction", json)) == Money(unscaled: 0x2277_E29E_2B72, scale: 2))
        let bad = "{\"schema\":\(schema),\"payload\":\(sale(amount: "\"12.50\""))}"
        let r = reason(decode("shop.public.transaction", bad))
        #expect(r?.contains("not valid base64") == true, "\(r ?? "")")
    }

    @Test(
        "strict base64 still reads every valid form",
        arguments: [
            ("AYbS", Int128(100_050)), ("/w==", Int128(-1)), ("HL6ZGhQ=", Int128(123_456_789_012)), ("AA==", Int128(0)),
            ("f////////////////////w==", Int128.max),
        ])
    func strictBase64(text: String, unscaled: Int128) {
        let v = Array(text.utf8).withUnsafeBytes { DecimalCodec.unscaledFromBase64($0) }
        #expect(v == unscaled)
    }

    @Test("more decimal places than Money keeps are malformed, trailing zeros are not")
    func decimalPlaces() throws {
        let r = try #require(reason(decode("shop.public.transaction", sale(amount: "\"0.0000000001\""))))
        #expect(r.contains("more than 9 decimal places"), "\(r)")
        #expect(amount(decode("shop.public.transaction", sale(amount: "\"1.50000000000\""))) == Money(cents: 150))
    }

    // MARK: integers

    @Test("quantities: any Int64, but overflow or fractions are malformed")
    func quantities() throws {
        guard
            case .event(let e) = decode(
                "shop.public.transactiondetail", lineItem(quantity: "9223372036854775807", price: "\"99999999999.99\""))
        else {
            Issue.record("Int64.max quantity refused by the decoder")
            return
        }
        #expect(e.after?.quantity == .value(.max))
        guard
            case .event(let m) = decode(
                "shop.public.transactiondetail", lineItem(quantity: "-9223372036854775808", price: "\"1.00\""))
        else {
            Issue.record("Int64.min quantity refused by the decoder")
            return
        }
        #expect(m.after?.quantity == .value(.min))
        for q in ["9223372036854775808", "-9223372036854775809", "99999999999999999999", "1.5", "\"12x\"", "true"] {
            let r = try #require(
                reason(decode("shop.public.transactiondetail", lineItem(quantity: q, price: "\"1.00\"")), "\(q)"))
            #expect(r.hasPrefix("quantity"), "\(q): \(r)")
        }
    }

    @Test("keys beyond Int64 are malformed")
    func keys() throws {
        let json =
            #"{"before":null,"after":{"transaction_id":99999999999999999999,"amount":"1.00"},"source":{"ts_ms":1},"op":"c"}"#
        let r = try #require(reason(decode("shop.public.transaction", json)))
        #expect(r.hasPrefix("transaction_id 99999999999999999999"), "\(r)")
    }

    // MARK: structure

    @Test("deep nesting is bounded: skipped values of any depth, parsed ones at most JSONValue.maxDepth")
    func deepNesting() {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        let json =
            #"{"before":null,"after":{"transaction_id":1,"amount":"1.00","junk":"# + deep
            + #"},"source":{"ts_ms":1},"op":"c"}"#
        #expect(amount(decode("shop.public.transaction", json)) == Money(cents: 100))
        let unclosed =
            #"{"before":null,"after":{"transaction_id":1,"junk":"# + String(repeating: "{\"a\":", count: 100_000)
        _ = reason(decode("shop.public.transaction", unclosed))
        // A schema nested deeper than the parser goes is invalid, not a stack overflow.
        let schema = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        let r = reason(
            decode("shop.public.transaction", "{\"schema\":\(schema),\"payload\":\(sale(amount: "\"1.00\""))}"))
        #expect(r?.contains("schema") == true, "\(r ?? "")")
        #expect(JSONValue.parse(schema) == nil)
        let heartbeat =
            "{\"payload\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        _ = reason(decode("__debezium-heartbeat.shop", heartbeat))
    }

    @Test("huge strings, invalid UTF-8, NUL bytes and truncated JSON are malformed or decoded, never a trap")
    func oddBytes() throws {
        let huge = String(repeating: "x", count: 4_000_000)
        let r = try #require(reason(decode("shop.public.transaction", sale(amount: "\"\(huge)\""))))
        #expect(r.utf8.count < 200, "a reason quotes at most a short excerpt")
        // A table name longer than any database allows.
        let long =
            #"{"before":null,"after":{"transaction_id":1,"amount":"1.00"},"source":{"ts_ms":1,"table":""# + huge
            + #""},"op":"c"}"#
        #expect(reason(decode("shop.public.transaction", long))?.contains("source.table") == true)
        // Invalid UTF-8 in a key and a category: decoded with replacement characters.
        var bytes = Array(#"{"before":null,"after":{"product_id":"#.utf8) + [0x22, 0xFF, 0xFE, 0x22]
        bytes += Array(#","category":""#.utf8) + [0xC3, 0x28, 0x22] + Array(#"},"source":{"ts_ms":1},"op":"c"}"#.utf8)
        let slot = decoder.slot(forTopic: "shop.public.product")
        let o = bytes.withUnsafeBytes { decoder.decode(slot: slot, value: $0) }
        guard case .event(let e) = o else {
            Issue.record("\(o)")
            return
        }
        #expect(e.after?.key == .text("\u{FFFD}\u{FFFD}"))
        // NUL bytes: raw ones are not JSON; escaped ones are characters.
        _ = reason(decode("shop.public.transaction", "{\"before\":null,\u{0}\"after\":1}"))
        _ = reason(decode("shop.public.transaction", sale(amount: "\"1\u{0}.00\"")))
        guard
            case .event(let nul) = decode(
                "shop.public.product",
                #"{"before":null,"after":{"product_id":"a\u0000b","category":"c"},"source":{"ts_ms":1},"op":"c"}"#)
        else {
            Issue.record("escaped NUL refused")
            return
        }
        #expect(nul.after?.key == .text("a\u{0}b"))
        // Every prefix of a valid message is malformed (or, for the empty one, an empty value), never a trap.
        let full = Array(sale(amount: "\"59.97\"").utf8)
        for n in 0..<full.count {
            let o = full[0..<n].withUnsafeBytes {
                decoder.decode(slot: decoder.slot(forTopic: "shop.public.transaction"), value: $0)
            }
            guard case .malformed = o else {
                Issue.record("prefix of \(n) bytes accepted: \(o)")
                continue
            }
        }
    }

    @Test("a schema block that is not JSON makes the message malformed instead of being ignored")
    func brokenSchema() throws {
        let r = try #require(
            reason(decode("shop.public.transaction", "{\"schema\":{\"a\" 1},\"payload\":\(sale(amount: "\"1.00\""))}")))
        #expect(r.hasPrefix("invalid JSON in schema"), "\(r)")
    }
}
