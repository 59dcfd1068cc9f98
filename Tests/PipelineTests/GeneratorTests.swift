import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Helpers shared by the generator tests.
private enum Gen {
    static func messages(_ config: ShopWorkloadConfig = ShopWorkloadConfig(), atLeast count: Int) -> (
        ShopWorkload, [GeneratedMessage]
    ) {
        let workload = ShopWorkload(config: config)
        var out: [GeneratedMessage] = []
        while out.count < count { workload.next(into: &out) }
        return (workload, out)
    }

    static func json(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// Java `BigInteger(byte[])` of a base64 precise decimal: the unscaled value.
    static func unscaled(base64: String) -> Int64? {
        guard let data = Data(base64Encoded: base64), !data.isEmpty, data.count <= 8 else { return nil }
        var value: Int64 = data.first! & 0x80 != 0 ? -1 : 0
        for byte in data { value = value << 8 | Int64(byte) }
        return value
    }

    static func preciseDecimal(_ cents: Int64) -> String {
        var out: [UInt8] = []
        JSONBytes.appendPreciseDecimal(unscaled: cents, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func int64(_ any: Any?) -> Int64? { (any as? NSNumber)?.int64Value }
}

@Suite struct GeneratorTests {
    @Test func valuesAndKeysHaveDebeziumJsonConverterForm() throws {
        let (workload, messages) = Gen.messages(atLeast: 3_000)
        #expect(
            workload.topics == [
                "shop.public.customer", "shop.public.product", "shop.public.transaction",
                "shop.public.transactiondetail",
            ])
        var ops: [String: Int] = [:]
        var previousDelete: (topic: String, key: [UInt8])? = nil
        for message in messages {
            let table = String(message.topic.split(separator: ".").last!)
            let key = try #require(
                Gen.json(message.key), "key is not JSON: \(String(decoding: message.key, as: UTF8.self))")
            let keySchema = try #require(key["schema"] as? [String: Any])
            #expect(keySchema["name"] as? String == "\(message.topic).Key")
            let keyPayload = try #require(key["payload"] as? [String: Any])
            #expect(keyPayload.count == 1)

            guard let value = message.value else {
                // A tombstone follows its delete, same key.
                #expect(previousDelete?.topic == message.topic && previousDelete?.key == message.key)
                previousDelete = nil
                continue
            }
            previousDelete = nil
            let text = String(decoding: value, as: UTF8.self)
            let envelope = try #require(Gen.json(value), "value is not JSON: \(text.prefix(200))")
            #expect(value.count > 2_400 && value.count < 4_500, "a value with schema is about 3 KB, got \(value.count)")
            let schema = try #require(envelope["schema"] as? [String: Any])
            #expect(schema["name"] as? String == "\(message.topic).Envelope")
            #expect(Gen.int64(schema["version"]) == 2)
            let fields = try #require(schema["fields"] as? [[String: Any]])
            #expect(
                fields.map { $0["field"] as? String } == [
                    "before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns",
                ])
            let payload = try #require(envelope["payload"] as? [String: Any])
            let op = try #require(payload["op"] as? String)
            ops[op, default: 0] += 1
            let source = try #require(payload["source"] as? [String: Any])
            #expect(source["version"] as? String == "3.6.3.Final")
            #expect(source["connector"] as? String == "postgresql")
            #expect(source["name"] as? String == "shop")
            #expect(source["schema"] as? String == "public")
            #expect(source["table"] as? String == table)
            let tsMs = try #require(Gen.int64(source["ts_ms"]))
            let tsUs = try #require(Gen.int64(source["ts_us"]))
            #expect(tsUs / 1000 == tsMs && Gen.int64(source["ts_ns"]) == tsUs * 1000)
            let snapshot = try #require(source["snapshot"] as? String)
            #expect((op == "r") == (snapshot != "false"))
            #expect(
                ["first", "true", "last", "first_in_data_collection", "last_in_data_collection", "false"].contains(
                    snapshot))
            #expect(Gen.int64(source["txId"]) != nil && Gen.int64(source["lsn"]) != nil)
            #expect(source["xmin"] is NSNull && payload["transaction"] is NSNull)
            let sequence = try #require(source["sequence"] as? String)
            #expect(
                sequence.hasPrefix(op == "r" ? "[null,\"" : "[\"")
                    && sequence.hasSuffix("\"\(Gen.int64(source["lsn"])!)\"]"))
            let emittedMs = try #require(Gen.int64(payload["ts_ms"]))
            #expect(emittedMs >= tsMs && emittedMs == message.timestampMs)
            #expect(Gen.int64(payload["ts_ns"])! / 1000 == Gen.int64(payload["ts_us"])!)
            // Field order as Debezium writes it (JSONSerialization forgets order; check the bytes).
            #expect(text.hasPrefix(#"{"schema":{"type":"struct","fields":[{"type":"struct","fields":["#))
            #expect(
                text.contains(#","source":{"version":"3.6.3.Final","connector":"postgresql","name":"shop","ts_ms":"#))
            #expect(text.contains(#","xmin":null,"origin":null,"origin_lsn":null},"transaction":null,"op":""#))

            let before = payload["before"] as? [String: Any]
            let after = payload["after"] as? [String: Any]
            switch op {
            case "r", "c": #expect(before == nil && after != nil)
            case "u":
                #expect(after != nil && (before != nil) == (table == "transaction" || table == "transactiondetail"))
            case "d":
                #expect(before != nil && after == nil)
                previousDelete = (message.topic, message.key)
            default: Issue.record("unexpected op \(op)")
            }
            let row = try #require(after ?? before)
            let pk = [
                "customer": "customer_id", "product": "product_id", "transaction": "transaction_id",
                "transactiondetail": "detail_id",
            ][table]!
            #expect(Gen.int64(row[pk]) == Gen.int64(keyPayload[pk]), "key and row agree on the primary key")
        }
        #expect(ops["r"]! >= 40 + 200 + 25)
        #expect(ops["c"]! > 500 && ops["u"]! > 50 && ops["d"]! > 10)
    }

    @Test func preciseDecimalsRoundTrip() {
        // Debezium's own examples (Tests/Fixtures/debezium/README.md).
        #expect(Gen.preciseDecimal(100_050) == "\"AYbS\"")
        #expect(Gen.preciseDecimal(-1) == "\"/w==\"")
        #expect(Gen.preciseDecimal(123_456_789_012) == "\"HL6ZGhQ=\"")
        #expect(Gen.preciseDecimal(0) == "\"AA==\"")
        for cents: Int64 in [
            1, 99, 127, 128, 255, 256, 32_767, 32_768, -128, -129, -32_768, -32_769, 5_997,
            99_999_999_99, -99_999_999_99, Int64.max, Int64.min,
        ] {
            let text = Gen.preciseDecimal(cents)
            #expect(Gen.unscaled(base64: String(text.dropFirst().dropLast())) == cents, "\(cents) → \(text)")
        }
    }

    @Test func zonedTimestampsMatchDebezium() {
        func text(_ micros: Int64) -> String {
            var out: [UInt8] = []
            JSONBytes.appendZonedTimestamp(epochMicros: micros, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(text(1_795_347_195_730_660) == "\"2026-11-22T11:33:15.730660Z\"")
        #expect(text(0) == "\"1970-01-01T00:00:00.000000Z\"")
        #expect(text(951_782_400_000_001) == "\"2000-02-29T00:00:00.000001Z\"")
    }

    @Test func orderAmountsEqualTheirLineItems() throws {
        let (_, messages) = Gen.messages(atLeast: 5_000)
        // Replay the rows by primary key, then compare each live order's amount with its items.
        var amounts: [Int64: Int64] = [:]
        var items: [Int64: (tx: Int64, cents: Int64)] = [:]
        for message in messages {
            guard let value = message.value, let payload = Gen.json(value)?["payload"] as? [String: Any] else {
                continue
            }
            let table = (payload["source"] as! [String: Any])["table"] as! String
            let row = payload["after"] as? [String: Any]
            switch table {
            case "transaction":
                let id = Gen.int64(((row ?? payload["before"]) as! [String: Any])["transaction_id"])!
                amounts[id] = try row.map { try #require(Gen.unscaled(base64: $0["amount"] as! String)) }
            case "transactiondetail":
                let id = Gen.int64(((row ?? payload["before"]) as! [String: Any])["detail_id"])!
                items[id] = try row.map { r in
                    (
                        Gen.int64(r["transaction_id"])!,
                        Gen.int64(r["quantity"])! * (try #require(Gen.unscaled(base64: r["unit_price"] as! String)))
                    )
                }
            default: break
            }
        }
        var sums: [Int64: Int64] = [:]
        for item in items.values { sums[item.tx, default: 0] += item.cents }
        #expect(!amounts.isEmpty)
        for (id, amount) in amounts { #expect(sums[id] == amount, "order \(id)") }
    }

    /// Replays the emitted bytes with the KPI rules, independently of both the generator's ledger and
    /// the aggregator, and expects exactly the generator's ground truth.
    @Test func groundTruthMatchesAnIndependentReplay() throws {
        let config = ShopWorkloadConfig(seed: 7, snapshotTransactions: 40, commitsPerSecond: 10, malformedEvery: 97)
        let (workload, messages) = Gen.messages(config, atLeast: 20_000)
        let truth = workload.groundTruth

        var categoryOf: [Int64: String] = [:]
        var windows: [Int64: (count: Int64, revenue: Int64, categories: [String: Int64])] = [:]
        var aliveAmounts: [Int64: Int64] = [:]
        var aliveItems: [Int64: (product: Int64, cents: Int64)] = [:]
        var malformed: Int64 = 0
        var snapshotCount: Int64 = 0
        var snapshotRevenue: Int64 = 0
        for message in messages {
            guard let value = message.value else { continue }
            guard let payload = Gen.json(value)?["payload"] as? [String: Any] else {
                malformed += 1
                continue
            }
            let source = payload["source"] as! [String: Any]
            let table = source["table"] as! String
            let op = payload["op"] as! String
            let ts = Gen.int64(source["ts_ms"])!
            let window = ts - ts % 30_000
            let before = payload["before"] as? [String: Any]
            let after = payload["after"] as? [String: Any]
            switch table {
            case "product":
                categoryOf[Gen.int64(after!["product_id"])!] = after!["category"] as? String
            case "transaction":
                let old = before.map { Gen.unscaled(base64: $0["amount"] as! String)! }
                let new = after.map { Gen.unscaled(base64: $0["amount"] as! String)! }
                let id = Gen.int64((after ?? before)!["transaction_id"])!
                aliveAmounts[id] = new
                if op == "r" {
                    snapshotCount += 1
                    snapshotRevenue += new!
                    continue
                }
                windows[window, default: (0, 0, [:])].count += (new != nil ? 1 : 0) - (old != nil ? 1 : 0)
                windows[window, default: (0, 0, [:])].revenue += (new ?? 0) - (old ?? 0)
            case "transactiondetail":
                func cents(_ row: [String: Any]?) -> Int64 {
                    guard let row else { return 0 }
                    return Gen.int64(row["quantity"])! * Gen.unscaled(base64: row["unit_price"] as! String)!
                }
                let row = (after ?? before)!
                let product = Gen.int64(row["product_id"])!
                aliveItems[Gen.int64(row["detail_id"])!] = after.map { (product, cents($0)) }
                if op == "r" { continue }
                let category = try #require(categoryOf[product], "products are snapshotted before line items")
                windows[window, default: (0, 0, [:])].categories[category, default: 0] += cents(after) - cents(before)
            default: break
            }
        }
        #expect(malformed > 100)
        #expect(truth.malformed == malformed)
        #expect(truth.messages == Int64(messages.count))
        #expect(truth.dropped == 0 && truth.windowMs == 30_000)
        let expectedWindows = windows.keys.sorted().map { start in
            WindowResult(
                windowStartMs: start, txCount: windows[start]!.count, revenue: Money(cents: windows[start]!.revenue),
                categoryRevenue: windows[start]!.categories.filter { $0.value != 0 }.mapValues { Money(cents: $0) })
        }
        #expect(truth.windows.count > 10)
        #expect(truth.windows == expectedWindows)
        var totalCategories: [String: Int64] = [:]
        for item in aliveItems.values { totalCategories[categoryOf[item.product]!, default: 0] += item.cents }
        #expect(
            truth.totals
                == TotalsResult(
                    txCount: Int64(aliveAmounts.count), revenue: Money(cents: aliveAmounts.values.reduce(0, +)),
                    categoryRevenue: totalCategories.filter { $0.value != 0 }.mapValues { Money(cents: $0) }))

        // Consistency of the truth itself: windows plus snapshot add up to the totals.
        #expect(truth.windows.reduce(0) { $0 + $1.txCount } + snapshotCount == truth.totals.txCount)
        #expect(
            truth.windows.reduce(Money.zero) { $0 + $1.revenue } + Money(cents: snapshotRevenue) == truth.totals.revenue
        )
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() {
        let (_, a) = Gen.messages(ShopWorkloadConfig(seed: 11, malformedEvery: 50), atLeast: 3_000)
        let (_, b) = Gen.messages(ShopWorkloadConfig(seed: 11, malformedEvery: 50), atLeast: 3_000)
        let (_, c) = Gen.messages(ShopWorkloadConfig(seed: 12, malformedEvery: 50), atLeast: 3_000)
        #expect(a.count == b.count)
        #expect(
            zip(a, b).allSatisfy {
                $0.topic == $1.topic && $0.key == $1.key && $0.value == $1.value && $0.timestampMs == $1.timestampMs
            })
        #expect(!zip(a, c).allSatisfy { $0.key == $1.key && $0.value == $1.value })
    }

    @Test func everyNthMessageIsGarbage() {
        let (workload, messages) = Gen.messages(ShopWorkloadConfig(malformedEvery: 10), atLeast: 1_000)
        for (index, message) in messages.enumerated() {
            let isGarbage = message.value.map { Gen.json($0) == nil } ?? false
            #expect(isGarbage == ((index + 1) % 10 == 0), "message \(index + 1)")
        }
        #expect(workload.groundTruth.malformed == Int64(messages.count / 10))
    }

    @Test func simulatedClockAdvancesPerTransaction() throws {
        let config = ShopWorkloadConfig(startTimeMs: 1_700_000_000_000, commitsPerSecond: 100)
        let (_, messages) = Gen.messages(config, atLeast: 2_000)
        var commitTimes: [Int64] = []
        for message in messages {
            guard let value = message.value, let payload = Gen.json(value)?["payload"] as? [String: Any],
                payload["op"] as? String != "r"
            else { continue }
            let ts = Gen.int64((payload["source"] as! [String: Any])["ts_ms"])!
            if commitTimes.last != ts { commitTimes.append(ts) }
        }
        #expect(commitTimes.first == 1_700_000_000_000)
        #expect(zip(commitTimes, commitTimes.dropFirst()).allSatisfy { $1 - $0 == 10 }, "100 commits/s is 10 ms apart")
    }

    @Test func kcatLinesHaveKcatsForm() throws {
        let line = KcatRecording.kcatJSONLine(
            topic: "shop.public.transaction", partition: 2, offset: 17,
            key: Array(#"{"id":1}"#.utf8), value: Array("a\"b\\c\n\u{1}/é".utf8),
            timestampMs: 1_795_347_195_789)
        #expect(
            line
                == #"{"topic":"shop.public.transaction","partition":2,"offset":17,"tstype":"create","ts":1795347195789,"broker":1,"key":"{\"id\":1}","payload":"a\"b\\c\n\u0001/é"}"#
        )
        let object = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])
        #expect(object["payload"] as? String == "a\"b\\c\n\u{1}/é")
        #expect(Gen.int64(object["partition"]) == 2 && Gen.int64(object["offset"]) == 17)
        let tombstone = KcatRecording.kcatJSONLine(
            topic: "t", partition: 0, offset: 0, key: Array("k".utf8), value: nil,
            timestampMs: 5)
        #expect(
            tombstone
                == #"{"topic":"t","partition":0,"offset":0,"tstype":"create","ts":5,"broker":1,"key":"k","payload":null}"#
        )
    }

    @Test func murmur2MatchesKafkaUtilsTestVectors() {
        // org.apache.kafka.common.utils.UtilsTest#testMurmur2.
        let vectors: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
            ("1", -1_993_445_489), ("12", 126_087_238), ("123", -267_702_483), ("1234", -1_614_185_708),
        ]
        for (text, expected) in vectors {
            #expect(KcatRecording.murmur2(Array(text.utf8)) == expected, "murmur2(\(text))")
        }
        // toPositive(-973932308) % 3 == (0x7fffffff & -973932308) % 3.
        #expect(
            KcatRecording.murmur2Partition(key: Array("21".utf8), partitions: 3)
                == Int32((Int64(-973_932_308) & 0x7FFF_FFFF) % 3))
        for key in ["a", "bb", "ccc", "dddd", ""] {
            let p = KcatRecording.murmur2Partition(key: Array(key.utf8), partitions: 7)
            #expect(p >= 0 && p < 7)
        }
    }

    @Test func recordingWriterPartitionsByMurmur2WithOffsetsFromZero() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cdctop-gen-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (_, messages) = Gen.messages(atLeast: 1_500)
        do {
            let writer = try KcatRecordingWriter(path: path, partitions: 3)
            for message in messages { try writer.write(message) }
            try writer.flush()
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == messages.count)
        var nextOffset: [String: Int64] = [:]
        for (line, message) in zip(lines, messages) {
            let object = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])
            let partition = Int32(Gen.int64(object["partition"])!)
            #expect(object["topic"] as? String == message.topic)
            #expect(partition == KcatRecording.murmur2Partition(key: message.key, partitions: 3))
            let slot = "\(message.topic)/\(partition)"
            #expect(Gen.int64(object["offset"]) == nextOffset[slot, default: 0])
            nextOffset[slot, default: 0] += 1
            #expect(object["key"] as? String == String(decoding: message.key, as: UTF8.self))
            if let value = message.value {
                #expect(object["payload"] as? String == String(decoding: value, as: UTF8.self))
            } else {
                #expect(object["payload"] is NSNull)
            }
        }
        #expect(
            Set(nextOffset.keys.map { $0.split(separator: "/").last! }).count == 3, "keys spread over all partitions")
    }

    /// The generator against the real decoding and aggregation path: same numbers.
    /// Revenue and net transactions (ground truth) over messages [skip, skip + count).
    static func stretch(_ workload: ShopWorkload, skip: Int64, count: Int64) -> (tx: Int64, units: Int128) {
        var out: [GeneratedMessage] = []
        func totals() -> (Int64, Int128) {
            workload.groundTruth.windows.reduce((Int64(0), Int128(0))) { ($0.0 + $1.txCount, $0.1 + $1.revenue.units) }
        }
        while workload.messageCount < skip {
            out.removeAll(keepingCapacity: true)
            workload.next(into: &out)
        }
        let before = totals()
        while workload.messageCount < skip + count {
            out.removeAll(keepingCapacity: true)
            workload.next(into: &out)
        }
        let after = totals()
        return (after.0 - before.0, after.1 - before.1)
    }

    /// The demo prices its seeded history from an early stretch of the generator; a late stretch (about
    /// 12 minutes into `cdctop demo` at its default rate) must sell at the same revenue per transaction.
    /// Price changes that compounded on the current price made it fall ~30 % by then.
    @Test func revenuePerTransactionIsStationary() {
        let workload = ShopWorkload(config: ShopWorkloadConfig(seed: 42))
        let early = Self.stretch(workload, skip: 50_000, count: 50_000)
        let late = Self.stretch(workload, skip: 250_000, count: 50_000)
        let earlyPerTx = Double(early.units) / Double(early.tx)
        let latePerTx = Double(late.units) / Double(late.tx)
        #expect(early.tx > 5_000 && late.tx > 5_000)
        #expect(
            abs(latePerTx / earlyPerTx - 1) < 0.06,
            "revenue per transaction \(earlyPerTx / Double(Money.unitsPerWhole)) early, \(latePerTx / Double(Money.unitsPerWhole)) late"
        )
    }

    @Test func engineCoreAgreesWithGroundTruth() {
        let (workload, messages) = Gen.messages(
            ShopWorkloadConfig(seed: 3, commitsPerSecond: 20, malformedEvery: 211), atLeast: 10_000)
        let core = EngineCore(profile: .shop)
        var offsets: [String: Int64] = [:]
        for message in messages {
            let offset = offsets[message.topic, default: 0]
            offsets[message.topic] = offset + 1
            core.ingest(
                topic: message.topic, partition: 0, offset: offset, timestampMs: message.timestampMs,
                key: message.key, value: message.value)
        }
        let truth = workload.groundTruth
        let result = core.result
        #expect(result.totals == truth.totals)
        #expect(result.windows == truth.windows)
        #expect(
            result.messages == truth.messages && result.malformed == truth.malformed && result.dropped == truth.dropped)
    }
}
