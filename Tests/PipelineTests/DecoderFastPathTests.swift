import Foundation
import Metrics
import Testing

@testable import Pipeline

/// The decoder's fast paths (8-byte string scanning, one-pass integers, rows read ahead, an event
/// filled in place) against plain reference implementations and the general path.
@Suite("Debezium decoder: fast paths agree with the plain ones")
struct DecoderFastPathTests {
    /// What `readString` must return, by a byte-at-a-time loop: the content range and whether it has
    /// escapes; nil for a control byte or no closing quote.
    static func referenceString(_ b: [UInt8]) -> (range: Range<Int>, escaped: Bool)? {
        guard b.first == UInt8(ascii: "\"") else { return nil }
        var i = 1
        var escaped = false
        while i < b.count {
            if b[i] == UInt8(ascii: "\"") { return (1..<i, escaped) }
            if b[i] == UInt8(ascii: "\\") {
                escaped = true
                i += 2
                continue
            }
            if b[i] < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    @Test("string scanning finds a quote, backslash or control byte at every position of an 8-byte word")
    func stringScanning() {
        // "é" is two bytes ≥ 0x80: high bits must not be taken for special bytes.
        let fillers: [[UInt8]] = [Array("abcdefghijklmnopqrstuvwxyz0123".utf8), Array("éééééééééééééééééééééé".utf8)]
        let specials: [[UInt8]] = [
            [UInt8(ascii: "\\"), UInt8(ascii: "\"")], [UInt8(ascii: "\\"), UInt8(ascii: "n")],
            [0x01], [0x1F], [0x20], [0x7F], [0xFF], [UInt8(ascii: "\\")],
        ]
        var checked = 0
        for filler in fillers {
            for length in 0...24 {
                let body = Array(filler.prefix(length))
                // No special byte, and one at every position, with and without bytes after the closing quote.
                var cases: [[UInt8]] = [body]
                for p in 0...body.count {
                    for s in specials { cases.append(Array(body[..<p]) + s + Array(body[p...])) }
                }
                for content in cases {
                    for tail in [[], Array(",\"x\":1}".utf8), Array("\"\"\"\"\"\"\"\"".utf8)] as [[UInt8]] {
                        for closed in [true, false] {
                            let bytes =
                                [UInt8(ascii: "\"")] + content + (closed ? [UInt8(ascii: "\"")] : [])
                                + (closed ? tail : [])
                            let expected = DecoderFastPathTests.referenceString(bytes)
                            let got: (range: Range<Int>, escaped: Bool)? = bytes.withUnsafeBytes { raw in
                                var s = JSONScanner(raw)
                                return s.readString()
                            }
                            #expect(
                                got?.range == expected?.range && got?.escaped == expected?.escaped,
                                "\(bytes): got \(String(describing: got)), expected \(String(describing: expected))")
                            // skipValue on an array holding the string ends where the string does, or fails alike.
                            let array = [UInt8(ascii: "[")] + bytes + [UInt8(ascii: "]")]
                            let skipped: Int? = array.withUnsafeBytes { raw in
                                var s = JSONScanner(raw)
                                return s.skipValue() ? s.index : nil
                            }
                            if let e = expected, bytes.count == e.range.upperBound + 1 {
                                #expect(skipped == array.count, "\(array)")
                            }
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked > 5_000)
    }

    @Test("numbers are skipped eight digits at a time exactly as byte by byte")
    func numberScanning() {
        // A byte loop: the range `readNumber` must return (sign, digits, fraction and exponent bytes).
        func reference(_ b: [UInt8]) -> Range<Int>? {
            var start = 0
            while start < b.count && " \n\r\t".utf8.contains(b[start]) { start += 1 }  // whitespace before the token
            var i = start < b.count && b[start] == UInt8(ascii: "-") ? start + 1 : start
            var digits = 0
            while i < b.count {
                let c = b[i]
                if c >= 48 && c <= 57 {
                    digits += 1
                    i += 1
                } else if ".eE+-".utf8.contains(c) {
                    i += 1
                } else {
                    break
                }
            }
            return digits == 0 ? nil : start..<i
        }
        // Bytes beside the digits in the table (':' and '?' share their high nibble, '/' is just below '0').
        let stoppers: [UInt8] = Array(":/?;,}] .e-\"".utf8) + [0x00, 0x39 + 0x10, 0xB0, 0xFF]
        var checked = 0
        for length in 0...26 {
            let digits = (0..<length).map { UInt8(48 + ($0 * 7) % 10) }
            for sign in [[], [UInt8(ascii: "-")]] as [[UInt8]] {
                for p in 0...length {
                    for stop in stoppers {
                        let bytes = sign + Array(digits[..<p]) + [stop] + Array(digits[p...])
                        let got: Range<Int>? = bytes.withUnsafeBytes { raw in
                            var s = JSONScanner(raw)
                            return s.readNumber()
                        }
                        #expect(got == reference(bytes), "\(bytes)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 10_000)
    }

    @Test(
        "integers read in one pass equal the checked parse, or leave it to the general path",
        arguments: [
            "0", "7", "007", "12345678901234567", "123456789012345678", "1234567890123456789",
            "9223372036854775807", "9223372036854775808", "99999999999999999999999", "12.5", "1e3", "12E3",
            "-5", "5-", "5+1", "1700000000000", "1700000000000 ", "1700000000000}", "x",
        ])
    func plainIntegers(text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in
            var fast = JSONScanner(raw)
            let value = fast.readPlainInteger()
            var general = JSONScanner(raw)
            let range = general.readNumber()
            let checked = range.flatMap { DebeziumDecoder.int64(general.raw($0)) }
            if let value {
                #expect(value == checked, "\(text)")
                #expect(fast.index == general.index, "\(text)")
            } else {
                #expect(fast.index == 0, "the cursor stays for the general path: \(text)")
                // Only texts the general path must judge fall through: a sign, a fraction, an exponent or ≥ 19 digits.
                #expect(checked == nil || text.count >= 19 || text.first == "-", "\(text)")
            }
        }
    }

    @Test("quantities, keys and commit times as long or odd numbers decode as before")
    func numbersThroughTheDecoder() {
        let decoder = DebeziumDecoder(profile: .shop)
        let slot = decoder.slot(forTopic: "shop.public.transactiondetail")
        func decode(_ json: String) -> DecodeOutcome {
            Array(json.utf8).withUnsafeBytes { decoder.decode(slot: slot, value: $0) }
        }
        func line(_ id: String, _ qty: String, ts: String = "1700000000000") -> String {
            #"{"before":null,"after":{"detail_id":"# + id + #","product_id":2,"quantity":"# + qty
                + #","unit_price":"1.00"},"source":{"ts_ms":"# + ts + #"},"op":"c"}"#
        }
        for (qty, expected) in [
            ("3", Int64(3)), ("123456789012345678", 123_456_789_012_345_678), ("9223372036854775807", .max),
            ("-9223372036854775808", .min), ("0", 0),
        ] {
            guard case .event(let e) = decode(line("1", qty)) else {
                Issue.record("not decoded: \(qty)")
                continue
            }
            #expect(e.after?.quantity == .value(expected))
        }
        for bad in ["9223372036854775808", "1.5", "1e3"] {
            guard case .malformed(_, let reason) = decode(line("1", bad)) else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect(reason.contains("quantity") && reason.contains("Int64"), "\(reason)")
        }
        guard case .event(let big) = decode(line("922337203685477580", "1")) else {
            Issue.record("18-digit key")
            return
        }
        #expect(big.after?.key == .int(922_337_203_685_477_580))
        guard case .malformed(_, let r) = decode(line("1", "1", ts: "253402300800000")) else {
            Issue.record("accepted ts")
            return
        }
        #expect(r.contains("source.ts_ms 253402300800000 is not a time in years 1970…9999"), "\(r)")
    }

    @Test("a row read ahead as the topic's table is read again when source.table names another role")
    func rowReadAheadAsAnotherRole() {
        let decoder = DebeziumDecoder(profile: .shop)
        let slot = decoder.slot(forTopic: "shop.public.transaction")  // a sale topic…
        // …carrying a product row: as a sale row it has no transaction_id, as a product row it is good.
        let json =
            #"{"before":{"product_id":4,"category":"old"},"after":{"product_id":4,"category":"books"},"source":{"ts_ms":5,"table":"product"},"op":"u"}"#
        let outcome = Array(json.utf8).withUnsafeBytes { decoder.decode(slot: slot, value: $0) }
        guard case .event(let e) = outcome else {
            Issue.record("not decoded: \(outcome)")
            return
        }
        #expect(e.table == "product" && e.role == .dimension)
        #expect(e.before?.category == .value("old") && e.after?.category == .value("books"))
        #expect(e.after?.key == .int(4) && e.after?.amount == .missing)

        // And a sale row on it is read ahead and kept: the same values as a fresh decoder's.
        let sale =
            #"{"before":null,"after":{"transaction_id":9,"amount":"2.50"},"source":{"ts_ms":6,"table":"transaction"},"op":"c"}"#
        guard case .event(let s) = Array(sale.utf8).withUnsafeBytes({ decoder.decode(slot: slot, value: $0) }) else {
            Issue.record("sale not decoded")
            return
        }
        #expect(
            s.role == .sale && s.after?.key == .int(9) && s.after?.amount == .value(Money(cents: 250))
                && s.before == nil)
    }

    @Test("one event filled message after message holds exactly what a fresh decode returns")
    func eventReused() throws {
        // Every capture: all forms, decimal modes, MySQL DDL, deletes and tombstones.
        let files = try FileManager.default.contentsOfDirectory(atPath: Samples.directory.path).filter {
            $0.hasSuffix(".jsonl")
        }.sorted()
        var messages = try files.flatMap { try Samples.messages($0) }
        // And the generator's workload (creates, updates with before images, deletes, tombstones, snapshot reads).
        let workload = ShopWorkload(
            config: ShopWorkloadConfig(seed: 11, products: 20, customers: 50, snapshotTransactions: 30))
        var batch: [GeneratedMessage] = []
        while messages.count < 6_000 {
            batch.removeAll(keepingCapacity: true)
            workload.next(into: &batch)
            messages += batch.map {
                OwnedMessage(
                    topic: $0.topic, partition: 0, offset: 0, timestampMs: $0.timestampMs, key: $0.key, value: $0.value)
            }
        }
        let reusing = DebeziumDecoder(profile: .shop)
        let fresh = DebeziumDecoder(profile: .shop)
        var event = ChangeEvent(
            table: "stale", role: .lineItem, op: .truncate, before: Row(key: .text("stale")),
            after: Row(key: .text("stale")), commitTimeMs: 99, isSnapshot: true)
        event.debeziumTimeMs = 77
        var events = 0
        for m in messages {
            let expected: DecodeOutcome
            let other: NonEventOutcome?
            if let v = m.value {
                expected = v.withUnsafeBytes {
                    fresh.decode(slot: fresh.slot(forTopic: m.topic), value: $0, kafkaTimestampMs: m.timestampMs)
                }
                other = v.withUnsafeBytes {
                    reusing.decode(
                        slot: reusing.slot(forTopic: m.topic), value: $0, kafkaTimestampMs: m.timestampMs, into: &event)
                }
            } else {
                expected = fresh.decode(slot: fresh.slot(forTopic: m.topic), value: nil)
                other = reusing.decode(slot: reusing.slot(forTopic: m.topic), value: nil, into: &event)
            }
            switch (expected, other) {
            case (.event(let e), nil):
                events += 1
                #expect(event.table == e.table && event.role == e.role && event.op == e.op)
                #expect(event.before == e.before && event.after == e.after)
                #expect(
                    event.commitTimeMs == e.commitTimeMs && event.isSnapshot == e.isSnapshot
                        && event.debeziumTimeMs == e.debeziumTimeMs)
            case (.event, .some(let o)):
                Issue.record("an event came back as \(o.outcome)")
            case (_, nil):
                Issue.record("\(expected) came back as an event")
            case (_, .some(let o)):
                #expect(String(describing: o.outcome) == String(describing: expected))
            }
        }
        #expect(events > 3_000, "\(events) events of \(messages.count) messages")
    }
}
