import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Debezium-shaped messages of a model profile's tables, fed through the whole engine (decoder,
/// record keys, aggregator), compared with the answer computed independently from the final tables.
enum ModelFixture {
    /// The built-in three of a Northwind-shaped profile: a composite line key, a discount, `real`
    /// prices, a two-hop chain (shared by the tests that add KPIs of their own).
    static let northwindBuiltins = """
        [kpi.transactions]
        sql = "select count(*) from orders"
        [kpi.revenue]
        sql = "select sum(d.unit_price * d.quantity * (1 - d.discount)) from order_details d"
        [kpi.category_sales]
        sql = \"\"\"
        select c.category_name, sum(d.unit_price * d.quantity * (1 - d.discount))
        from order_details d
        join products p on p.product_id = d.product_id
        join categories c on c.category_id = p.category_id
        group by c.category_name
        \"\"\"
        """

    static let northwindProfile = """
        name = "northwind"
        \(northwindBuiltins)
        [kpi.units]
        sql = "select sum(quantity) from order_details where discount = 0"
        [kpi.orders_by_status]
        windows = false
        sql = "select status, count(*), avg(freight) from orders group by status"
        """

    static func profile(_ text: String = northwindProfile) throws -> KPIProfile {
        try KPIProfile(tomlText: text, file: "test.toml")
    }

    static func json(_ object: [String: Any]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// One change message: key JSON and an envelope without schema (JsonConverter schemas.enable=false).
    static func message(
        table: String, op: String, key: [String: Any], before: [String: Any]?, after: [String: Any]?,
        ts: Int64, snapshot: Bool = false
    ) -> (key: [UInt8], value: [UInt8]) {
        var payload: [String: Any] = [
            "op": op, "ts_ms": ts,
            "source": ["ts_ms": ts, "table": table, "snapshot": snapshot ? "true" : "false"],
        ]
        payload["before"] = before ?? NSNull()
        payload["after"] = after ?? NSNull()
        return (json(key), json(payload))
    }
}

/// A tiny engine driver: topic `nw.public.<table>`, one partition each unless told.
final class ModelFeeder {
    let core: EngineCore
    var offsets: [String: Int64] = [:]
    init(profile: KPIProfile) { core = EngineCore(profile: profile) }

    func send(_ table: String, partition: Int32 = 0, _ m: (key: [UInt8], value: [UInt8])?, tombstoneKey: [UInt8]? = nil)
    {
        let topic = "nw.public.\(table)"
        let id = "\(topic)#\(partition)"
        let offset = offsets[id, default: -1] + 1
        offsets[id] = offset
        core.ingest(topic: topic, partition: partition, offset: offset, key: m?.key ?? tombstoneKey, value: m?.value)
    }
}

@Suite("Model profiles through the engine")
struct ModelEngineTests {
    typealias F = ModelFixture

    @Test("composite keys, expressions, a two-hop chain, hops changing, deletes with placeholder before images")
    func northwindStory() throws {
        let feeder = ModelFeeder(profile: try F.profile())
        let t0: Int64 = 1_700_000_000_000
        // Lines arrive before the products and categories they need: parked, then attributed.
        feeder.send(
            "order_details",
            F.message(
                table: "order_details", op: "c", key: ["order_id": 100, "product_id": 10], before: nil,
                after: ["order_id": 100, "product_id": 10, "unit_price": 14.4, "quantity": 20, "discount": 0.15], ts: t0
            ))
        feeder.send(
            "order_details",
            F.message(
                table: "order_details", op: "c", key: ["order_id": 100, "product_id": 11], before: nil,
                after: ["order_id": 100, "product_id": 11, "unit_price": 10, "quantity": 3, "discount": 0], ts: t0 + 1))
        var r = feeder.core.result
        #expect(r.totals.revenue == Money(decimalText: "274.8"))
        #expect(r.totals.categoryRevenue.isEmpty)
        #expect(r.totals.kpis[2].unresolvedRows == 2)
        feeder.send(
            "products",
            F.message(
                table: "products", op: "r", key: ["product_id": 10], before: nil,
                after: ["product_id": 10, "category_id": 1], ts: t0, snapshot: true))
        feeder.send(
            "products",
            F.message(
                table: "products", op: "r", key: ["product_id": 11], before: nil,
                after: ["product_id": 11, "category_id": 2], ts: t0, snapshot: true))
        feeder.send(
            "categories",
            F.message(
                table: "categories", op: "r", key: ["category_id": 1], before: nil,
                after: ["category_id": 1, "category_name": "Beverages"], ts: t0, snapshot: true))
        r = feeder.core.result
        #expect(r.totals.categoryRevenue == ["Beverages": Money(decimalText: "244.8")!])
        #expect(r.totals.kpis[2].unresolvedRows == 1)
        feeder.send(
            "categories",
            F.message(
                table: "categories", op: "r", key: ["category_id": 2], before: nil,
                after: ["category_id": 2, "category_name": "Condiments"], ts: t0, snapshot: true))
        r = feeder.core.result
        #expect(
            r.totals.categoryRevenue == ["Beverages": Money(decimalText: "244.8")!, "Condiments": Money(whole: 30)])
        #expect(r.totals.kpis[2].unresolvedRows == 0)
        // The second line of the order did not retract the first (the key is the pair).
        #expect(feeder.core.aggregator.liveKeys == 2 + 2 + 2)

        // A product moves category; a category is renamed: the sales move with them, in the totals
        // and in the window they were made in.
        feeder.send(
            "products",
            F.message(
                table: "products", op: "u", key: ["product_id": 10], before: nil,
                after: ["product_id": 10, "category_id": 2], ts: t0 + 5))
        feeder.send(
            "categories",
            F.message(
                table: "categories", op: "u", key: ["category_id": 2], before: nil,
                after: ["category_id": 2, "category_name": "Sauces"], ts: t0 + 6))
        r = feeder.core.result
        #expect(r.totals.categoryRevenue == ["Sauces": Money(decimalText: "274.8")!])
        #expect(r.windows.count == 1)
        #expect(r.windows.first?.categoryRevenue == ["Sauces": Money(decimalText: "274.8")!])

        // A delete under REPLICA IDENTITY DEFAULT: the before image holds the key and placeholders;
        // the remembered contribution is retracted, not the placeholder's.
        feeder.send(
            "order_details",
            F.message(
                table: "order_details", op: "d", key: ["order_id": 100, "product_id": 11],
                before: ["order_id": 100, "product_id": 11, "unit_price": 0.0, "quantity": 0, "discount": 0.0],
                after: nil, ts: t0 + 7))
        feeder.send("order_details", nil, tombstoneKey: F.json(["order_id": 100, "product_id": 11]))
        r = feeder.core.result
        #expect(r.totals.revenue == Money(decimalText: "244.8"))
        #expect(r.totals.categoryRevenue == ["Sauces": Money(decimalText: "244.8")!])
        #expect(r.malformed == 0)
        #expect(feeder.core.tombstones == 1)

        // An update of a key column arrives as delete + tombstone + create: still exact.
        feeder.send(
            "order_details",
            F.message(
                table: "order_details", op: "d", key: ["order_id": 100, "product_id": 10],
                before: ["order_id": 100, "product_id": 10, "unit_price": 14.4, "quantity": 20, "discount": 0.15],
                after: nil, ts: t0 + 8))
        feeder.send("order_details", nil, tombstoneKey: F.json(["order_id": 100, "product_id": 10]))
        feeder.send(
            "order_details",
            F.message(
                table: "order_details", op: "c", key: ["order_id": 100, "product_id": 11], before: nil,
                after: ["order_id": 100, "product_id": 11, "unit_price": 14.4, "quantity": 20, "discount": 0.15],
                ts: t0 + 8))
        r = feeder.core.result
        #expect(r.totals.revenue == Money(decimalText: "244.8"))
        #expect(r.totals.categoryRevenue == ["Sauces": Money(decimalText: "244.8")!])
        #expect(r.json().contains(#""revenue":{"group_by":[],"aggregates":["#))
    }

    @Test("a table whose messages have no record key is refused with the fixes, never collapsed")
    func noRecordKey() throws {
        let core = EngineCore(profile: try F.profile())
        let m = F.message(
            table: "orders", op: "c", key: [:], before: nil, after: ["order_id": 1, "status": "new", "freight": 1.5],
            ts: 1_000)
        core.ingest(topic: "nw.public.orders", partition: 0, offset: 0, key: nil, value: m.value)
        #expect(core.malformed == 1)
        let reason = core.recentMalformed.first?.reason ?? ""
        #expect(
            reason.contains("primary key") && reason.contains("message.key.columns")
                && reason.contains("[tables.orders] key"))
        #expect(core.result.totals.txCount == 0)
    }

    @Test("a column the profile reads that no row has is named, with the KPI that reads it")
    func neverPresentColumn() throws {
        let core = EngineCore(profile: try F.profile())
        let m = F.message(
            table: "orders", op: "c", key: ["order_id": 1], before: nil, after: ["order_id": 1, "status": "new"],
            ts: 1_000)
        core.ingest(topic: "nw.public.orders", partition: 0, offset: 0, key: m.key, value: m.value)
        let reason = core.recentMalformed.first?.reason ?? ""
        #expect(
            reason.contains("freight") && reason.contains("kpi.orders_by_status")
                && reason.contains("no row of this table had it"))
    }

    @Test("tiny floats sum exactly; values beyond 10^18 are malformed, naming the KPI and the value")
    func hostileValues() throws {
        let core = EngineCore(profile: try F.profile())
        let big = F.message(
            table: "order_details", op: "c", key: ["order_id": 1, "product_id": 1], before: nil,
            after: ["order_id": 1, "product_id": 1, "unit_price": 3.4e30, "quantity": 1, "discount": 0], ts: 1_000)
        core.ingest(topic: "nw.public.order_details", partition: 0, offset: 0, key: big.key, value: big.value)
        let tiny = F.message(
            table: "order_details", op: "c", key: ["order_id": 1, "product_id": 2], before: nil,
            after: ["order_id": 1, "product_id": 2, "unit_price": 1e-10, "quantity": 1, "discount": 0], ts: 1_000)
        core.ingest(topic: "nw.public.order_details", partition: 0, offset: 1, key: tiny.key, value: tiny.value)
        // 3.4e30 is beyond what cdctop sums: malformed, naming the KPI and the value. 1e-10 is exact.
        #expect(core.malformed == 1)
        #expect(core.recentMalformed.first?.reason.contains("kpi.revenue") == true)
        #expect(core.recentMalformed.first?.reason.contains("3400000000000000000000000000000") == true)
        #expect(core.aggregator.liveKeys == 1)
        let r = core.result
        #expect(r.totals.kpis[1].ungrouped?.sums[0] == ExactDecimal.parse("0.0000000001"))
        #expect(r.json().contains(#""values":["0.0000000001"]"#))
        #expect(r.totals.revenue == .zero)  // the tile shows 9 places
    }

    @Test("a thousand topics mapped into one table by a regex count as one table; source.table does not re-route them")
    func thousandTopicsOneTable() throws {
        let profile = try F.profile(
            """
            [tables.order_details]
            topics = '^nw\\.public\\.order_details_p[0-9]+$'
            [kpi.revenue]
            sql = "select sum(unit_price * quantity) from order_details"
            [kpi.lines]
            sql = "select count(*) from order_details"
            """)
        let core = EngineCore(profile: profile)
        var expected = 0
        for i in 0..<1_000 {
            // Each partition of a partitioned table says its own name in source.table.
            let m = F.message(
                table: "order_details_p\(i)", op: "c", key: ["order_id": i, "product_id": 1], before: nil,
                after: ["order_id": i, "product_id": 1, "unit_price": 2, "quantity": i % 7, "discount": 0],
                ts: 1_000 + Int64(i))
            core.ingest(topic: "nw.public.order_details_p\(i)", partition: 0, offset: 0, key: m.key, value: m.value)
            expected += 2 * (i % 7)
        }
        let r = core.result
        #expect(r.malformed == 0)
        #expect(r.totals.revenue == Money(whole: Int64(expected)))
        #expect(r.totals.kpis[1].ungrouped?.counts[0] == 1_000)
        #expect(core.aggregator.tables.map(\.table) == ["order_details"])
    }

    @Test("a filter comparing text with a number is malformed with the expression and both values, and changes nothing")
    func textComparedWithNumber() throws {
        let profile = try F.profile(
            """
            [kpi.revenue]
            sql = "select sum(amount) from orders where status > 3"
            """)
        let core = EngineCore(profile: profile)
        let m = F.message(
            table: "orders", op: "c", key: ["order_id": 1], before: nil,
            after: ["order_id": 1, "amount": 5, "status": "shipped"], ts: 1_000)
        core.ingest(topic: "nw.public.orders", partition: 0, offset: 0, key: m.key, value: m.value)
        #expect(core.malformed == 1)
        let reason = core.recentMalformed.first?.reason ?? ""
        #expect(reason.contains("kpi.revenue") && reason.contains("shipped"), "\(reason)")
        #expect(core.aggregator.liveKeys == 0)
    }

    /// Checkpoints at random points, each followed by a restart from the saved state (what a SIGKILL
    /// after a checkpoint leaves): the result equals the uninterrupted run's, windows included.
    @Test("property: restarts from the durable state at any point lose and double nothing", arguments: 0..<3)
    func restarts(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed &+ 101)
        let history = NorthwindHistory(rng: &rng, steps: 300)
        let profile = try F.profile()
        let messages = history.streams(partitions: 2).flatMap { $0 }
        let straight = ModelFeeder(profile: profile)
        for (table, partition, m) in messages { straight.send(table, partition: partition, m) }

        let directory = NSTemporaryDirectory() + "cdctop-model-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StateIdentity(profile: profile, topics: ["^nw\\..*"])
        var feeder = ModelFeeder(profile: profile)
        var store = try StateStore(directory: directory, identity: identity, reset: true)
        feeder.core.journaling = true
        var i = 0
        while i < messages.count {
            let (table, partition, m) = messages[i]
            feeder.send(table, partition: partition, m)
            i += 1
            if rng.below(40) == 0 {
                try store.write(Checkpoint.take(from: feeder.core, nowMs: 1))
                // Crash after the checkpoint, and restart: a new engine from the saved state, re-reading
                // from the saved offsets (the feeder's own offsets continue, as Kafka's would).
                store.close()
                let offsets = feeder.offsets
                feeder = ModelFeeder(profile: profile)
                feeder.offsets = offsets
                store = try StateStore(directory: directory, identity: identity)
                _ = try store.load(into: feeder.core)
                feeder.core.journaling = true
            }
        }
        let a = straight.core.result
        let b = feeder.core.result
        #expect(b.totals == a.totals)
        #expect(b.windows == a.windows)
        #expect(b.totals.kpis.count == 5)
        store.close()
    }

    /// The same random history, fed in random interleavings of topics and partitions, always ends
    /// equal to the answer computed from the final tables.
    @Test("property: any interleaving of topics and partitions gives the final tables' answer", arguments: 0..<6)
    func interleavings(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed &* 7919 &+ 11)
        let history = NorthwindHistory(rng: &rng, steps: 400)
        let expected = history.expected()
        for round in 0..<4 {
            let feeder = ModelFeeder(profile: try F.profile())
            var streams = history.streams(partitions: 1 + round % 3)
            while !streams.isEmpty {
                let i = rng.below(streams.count)
                let (table, partition, m) = streams[i].removeFirst()
                feeder.send(table, partition: partition, m)
                if streams[i].isEmpty { streams.remove(at: i) }
            }
            let r = feeder.core.result
            #expect(r.malformed == 0)
            #expect(r.totals.txCount == expected.orders, "seed \(seed) round \(round)")
            #expect(r.totals.revenue == expected.revenue, "seed \(seed) round \(round)")
            #expect(r.totals.categoryRevenue == expected.categories, "seed \(seed) round \(round)")
            #expect(r.totals.kpis[2].unresolvedRows == expected.unresolved, "seed \(seed) round \(round)")
        }
    }
}

/// A random Northwind-shaped history: rows created, updated (prices, quantities, categories, names),
/// deleted (with before images as REPLICA IDENTITY DEFAULT sends them) and re-created, kept as one
/// ordered stream per table, plus the final tables.
struct NorthwindHistory {
    typealias Message = (key: [UInt8], value: [UInt8])
    var events: [(table: String, key: [String: Any], m: Message?)] = []
    var categories: [Int: String] = [:]
    var products: [Int: Int] = [:]
    var orders: Set<Int> = []
    /// (order, product) → (price in cents, quantity, discount in percent)
    var lines: [[Int]: (Int, Int, Int)] = [:]

    init(rng: inout SeededRandom, steps: Int) {
        var ts: Int64 = 1_700_000_000_000
        func cents(_ c: Int) -> Double { Double(c) / 100 }
        for _ in 0..<steps {
            ts += Int64(rng.inRange(1...400))
            switch rng.inRange(0...9) {
            case 0:
                let id = rng.inRange(1...4)
                let name = ["Beverages", "Condiments", "Seafood", "Produce", "Dairy"][rng.inRange(0...4)]
                let op = categories[id] == nil ? "c" : "u"
                categories[id] = name
                events.append(
                    (
                        "categories", ["category_id": id],
                        ModelFixture.message(
                            table: "categories", op: op, key: ["category_id": id], before: nil,
                            after: ["category_id": id, "category_name": name], ts: ts)
                    ))
            case 1:
                let id = rng.inRange(1...8)
                let category = rng.inRange(1...4)
                let op = products[id] == nil ? "c" : "u"
                products[id] = category
                events.append(
                    (
                        "products", ["product_id": id],
                        ModelFixture.message(
                            table: "products", op: op, key: ["product_id": id], before: nil,
                            after: ["product_id": id, "category_id": category], ts: ts)
                    ))
            case 2:
                let id = rng.inRange(1...30)
                if orders.contains(id) && rng.inRange(0...2) == 0 {
                    orders.remove(id)
                    events.append(
                        (
                            "orders", ["order_id": id],
                            ModelFixture.message(
                                table: "orders", op: "d", key: ["order_id": id],
                                before: ["order_id": id, "status": "", "freight": 0], after: nil, ts: ts)
                        ))
                    events.append(("orders", ["order_id": id], nil))
                } else {
                    let op = orders.contains(id) ? "u" : "c"
                    orders.insert(id)
                    events.append(
                        (
                            "orders", ["order_id": id],
                            ModelFixture.message(
                                table: "orders", op: op, key: ["order_id": id], before: nil,
                                after: [
                                    "order_id": id, "status": ["new", "shipped"][rng.inRange(0...1)],
                                    "freight": cents(rng.inRange(0...9999)),
                                ], ts: ts)
                        ))
                }
            default:
                let key = [rng.inRange(1...30), rng.inRange(1...8)]
                let keyJSON: [String: Any] = ["order_id": key[0], "product_id": key[1]]
                if let old = lines[key], rng.inRange(0...3) == 0 {
                    lines[key] = nil
                    // REPLICA IDENTITY DEFAULT: key and placeholders.
                    _ = old
                    events.append(
                        (
                            "order_details", keyJSON,
                            ModelFixture.message(
                                table: "order_details", op: "d", key: keyJSON,
                                before: [
                                    "order_id": key[0], "product_id": key[1], "unit_price": 0.0, "quantity": 0,
                                    "discount": 0.0,
                                ],
                                after: nil, ts: ts)
                        ))
                    events.append(("order_details", keyJSON, nil))
                } else {
                    let op = lines[key] == nil ? "c" : "u"
                    let value = (rng.inRange(1...99_999), rng.inRange(1...50), [0, 5, 15, 25][rng.inRange(0...3)])
                    lines[key] = value
                    events.append(
                        (
                            "order_details", keyJSON,
                            ModelFixture.message(
                                table: "order_details", op: op, key: keyJSON, before: nil,
                                after: [
                                    "order_id": key[0], "product_id": key[1], "unit_price": cents(value.0),
                                    "quantity": value.1, "discount": Double(value.2) / 100,
                                ], ts: ts)
                        ))
                }
            }
        }
    }

    /// Per table and partition (by a hash of the key), the messages in order.
    func streams(partitions: Int) -> [[(String, Int32, Message?)]] {
        var byStream: [String: [(String, Int32, Message?)]] = [:]
        for e in events {
            // Deterministic (FNV-1a), like a producer's partitioner: one key, one partition.
            let hash = ModelFixture.json(e.key).reduce(UInt64(14_695_981_039_346_656_037)) {
                ($0 ^ UInt64($1)) &* 1_099_511_628_211
            }
            let partition = Int32(hash % UInt64(partitions))
            byStream["\(e.table)#\(partition)", default: []].append((e.table, partition, e.m))
        }
        return byStream.keys.sorted().map { byStream[$0]! }
    }

    /// The answer from the final tables, in integers (units of 0.0001), independent of cdctop's types.
    func expected() -> (orders: Int64, revenue: Money, categories: [String: Money], unresolved: Int64) {
        var revenue = 0
        var unresolved: Int64 = 0
        var byCategory: [String: Int] = [:]
        for (key, (cents, quantity, percent)) in lines {
            let amount = cents * quantity * (100 - percent)  // 1e-4 units
            revenue += amount
            if let category = products[key[1]], let name = categories[category] {
                byCategory[name, default: 0] += amount
            } else {
                unresolved += 1
            }
        }
        func money(_ tenThousandths: Int) -> Money { Money(units: Int128(tenThousandths) * 100_000) }
        return (Int64(orders.count), money(revenue), byCategory.filter { $0.value != 0 }.mapValues(money), unresolved)
    }
}

@Suite("The shop written as SQL KPIs")
struct ShopAsModelTests {
    /// The shop workload (orders, updates, refunds, deletes, category changes, a snapshot) through the
    /// model engine equals the generator's ground truth and the built-in engine, windows included.
    @Test("profiles/shop-sql.toml gives the built-in shop numbers")
    func shopSQLEqualsBuiltIn() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("profiles/shop-sql.toml")
        let model = try KPIProfile(tomlText: String(contentsOf: url, encoding: .utf8), file: url.path)
        let workload = ShopWorkload(
            config: ShopWorkloadConfig(seed: 11, products: 30, customers: 100, snapshotTransactions: 200))
        let modelCore = EngineCore(profile: model)
        let builtIn = EngineCore(profile: .shop)
        var batch: [GeneratedMessage] = []
        var offsets: [String: Int64] = [:]
        while offsets.values.reduce(0, +) < 20_000 {
            batch.removeAll(keepingCapacity: true)
            workload.next(into: &batch)
            for m in batch {
                let offset = offsets[m.topic, default: 0]
                offsets[m.topic] = offset + 1
                for core in [modelCore, builtIn] {
                    core.ingest(
                        topic: m.topic, partition: 0, offset: offset, timestampMs: m.timestampMs, key: m.key,
                        value: m.value)
                }
            }
        }
        let truth = workload.groundTruth
        let a = modelCore.result
        let b = builtIn.result
        #expect(a.malformed == 0)
        #expect(a.totals.txCount == truth.totals.txCount)
        #expect(a.totals.revenue == truth.totals.revenue)
        #expect(a.totals.categoryRevenue == truth.totals.categoryRevenue)
        #expect(a.windows.count == b.windows.count)
        for (x, y) in zip(a.windows, b.windows) {
            #expect(x.windowStartMs == y.windowStartMs)
            #expect(x.txCount == y.txCount && x.revenue == y.revenue, "window \(x.windowStartMs)")
            #expect(x.categoryRevenue == y.categoryRevenue, "window \(x.windowStartMs)")
        }
    }
}
