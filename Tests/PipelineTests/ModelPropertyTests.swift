import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Random profiles over a random schema's change history, fed in random interleavings of topics and
/// partitions, against an independent oracle: SQLite running the very same SQL on the final tables.
/// Integer columns only, so SQLite's arithmetic is exact too.
@Suite("Model profiles: random KPIs against SQLite on the final tables")
struct ModelPropertyTests {
    /// The tables: a fact with a composite key, two lookups (l1 → l2) and a many-to-many bridge.
    struct World {
        var f: [[Int]: (a: Int, b: Int, c: Int, r: Int?, s: String?)] = [:]
        var l1: [Int: (r2: Int?, name: String)] = [:]
        var l2: [Int: String] = [:]
        var br: Set<[Int]> = []  // (l1id, tag)
    }

    typealias Message = (table: String, key: [String: Any], m: (key: [UInt8], value: [UInt8])?)

    static func history(rng: inout SeededRandom, steps: Int) -> (World, [Message]) {
        var w = World()
        var out: [Message] = []
        var ts: Int64 = 1_700_000_000_000
        func send(
            _ table: String, _ key: [String: Any], _ op: String, _ before: [String: Any]?, _ after: [String: Any]?
        ) {
            out.append(
                (table, key, ModelFixture.message(table: table, op: op, key: key, before: before, after: after, ts: ts))
            )
            if op == "d" { out.append((table, key, nil)) }
        }
        func opt(_ v: Int?) -> Any { v.map { $0 as Any } ?? NSNull() }
        func opt(_ v: String?) -> Any { v.map { $0 as Any } ?? NSNull() }
        // Every lookup row exists from the start (its arrival may still come after the facts).
        for id in 1...3 {
            w.l2[id] = "L\(id)"
            send("l2", ["id": id], "r", nil, ["id": id, "label": "L\(id)"])
        }
        for id in 1...5 {
            let r2: Int? = id == 5 ? nil : rng.inRange(1...3)
            w.l1[id] = (r2, "n\(id % 3)")
            send("l1", ["id": id], "r", nil, ["id": id, "r2": opt(r2), "name": "n\(id % 3)"])
        }
        for _ in 0..<steps {
            ts += Int64(rng.inRange(1...500))
            switch rng.inRange(0...9) {
            case 0:
                let id = rng.inRange(1...3)
                let label = "L\(rng.inRange(1...4))"
                w.l2[id] = label
                send("l2", ["id": id], "u", nil, ["id": id, "label": label])
            case 1:
                let id = rng.inRange(1...5)
                let r2: Int? = rng.inRange(0...4) == 0 ? nil : rng.inRange(1...3)
                let name = "n\(rng.inRange(0...3))"
                w.l1[id] = (r2, name)
                send("l1", ["id": id], "u", nil, ["id": id, "r2": opt(r2), "name": name])
            case 2:
                let key = [rng.inRange(1...5), rng.inRange(1...2)]
                let json: [String: Any] = ["l1id": key[0], "tag": key[1]]
                if w.br.contains(key) {
                    w.br.remove(key)
                    send("br", json, "d", ["l1id": key[0], "tag": key[1]], nil)
                } else {
                    w.br.insert(key)
                    send("br", json, "c", nil, ["l1id": key[0], "tag": key[1]])
                }
            default:
                let key = [rng.inRange(1...12), rng.inRange(1...3)]
                let json: [String: Any] = ["k1": key[0], "k2": key[1]]
                if w.f[key] != nil && rng.inRange(0...3) == 0 {
                    w.f[key] = nil
                    // REPLICA IDENTITY DEFAULT: the key and placeholders.
                    send(
                        "f", json, "d",
                        ["k1": key[0], "k2": key[1], "a": 0, "b": 0, "c": 0, "r": NSNull(), "s": NSNull()], nil)
                } else {
                    let row = (
                        a: rng.inRange(-20...50), b: rng.inRange(0...9), c: rng.inRange(-3...3),
                        r: rng.inRange(0...5) == 0 ? nil : rng.inRange(1...5),
                        s: [nil, "x", "y", "z"][rng.inRange(0...3)]
                    )
                    let op = w.f[key] == nil ? "c" : "u"
                    w.f[key] = row
                    send(
                        "f", json, op, nil,
                        [
                            "k1": key[0], "k2": key[1], "a": row.a, "b": row.b, "c": row.c, "r": opt(row.r),
                            "s": opt(row.s),
                        ])
                }
            }
        }
        return (w, out)
    }

    /// A random KPI in the subset, the same text for cdctop and SQLite.
    static func randomKPI(rng: inout SeededRandom) -> String {
        func term(_ depth: Int) -> String {
            switch depth > 2 ? rng.inRange(0...1) : rng.inRange(0...6) {
            case 0: return ["f.a", "f.b", "f.c"][rng.inRange(0...2)]
            case 1: return String(rng.inRange(-5...5))
            case 2: return "(\(term(depth + 1)) + \(term(depth + 1)))"
            case 3: return "(\(term(depth + 1)) - \(term(depth + 1)))"
            case 4: return "(\(term(depth + 1)) * \(term(depth + 1)))"
            case 5: return "case when f.s = 'x' then \(term(depth + 1)) else \(term(depth + 1)) end"
            default: return "coalesce(f.r, \(rng.inRange(0...3)))"
            }
        }
        let aggregate = ["count(*)", "count(f.r)", "sum(\(term(0)))", "sum(\(term(0)))"][rng.inRange(0...3)]
        let group = ["", "f.s", "a.name", "b.label", "m.tag"][rng.inRange(0...4)]
        let filter = ["", "f.a > \(rng.inRange(-10...30))", "f.s is not null", "a.name <> 'n1'", "f.c in (-1, 0, 1)"][
            rng.inRange(0...4)]
        let needsA = group == "a.name" || group == "b.label" || group == "m.tag" || filter.contains("a.")
        let needsB = group == "b.label"
        let needsM = group == "m.tag"
        var sql = "select " + (group.isEmpty ? "" : group + ", ") + aggregate + " from f"
        // Lookups may be left joins; the bridge is an inner join (its rows come and go).
        if needsA { sql += rng.inRange(0...1) == 0 ? " join l1 a on a.id = f.r" : " left join l1 a on a.id = f.r" }
        if needsB { sql += rng.inRange(0...1) == 0 ? " join l2 b on b.id = a.r2" : " left join l2 b on b.id = a.r2" }
        if needsM { sql += " join br m on m.l1id = a.id" }
        if !filter.isEmpty { sql += " where " + filter }
        if !group.isEmpty { sql += " group by " + group }
        return sql
    }

    /// The KPI's rows on the final tables, by SQLite: group text (null as "uncategorized") → value text.
    static func sqlite(_ world: World, _ sql: String) throws -> [String: String] {
        let db = try SQLiteDatabase(path: ":memory:")
        try db.execute(
            """
            CREATE TABLE f(k1 INTEGER, k2 INTEGER, a INTEGER, b INTEGER, c INTEGER, r INTEGER, s TEXT, PRIMARY KEY(k1, k2));
            CREATE TABLE l1(id INTEGER PRIMARY KEY, r2 INTEGER, name TEXT);
            CREATE TABLE l2(id INTEGER PRIMARY KEY, label TEXT);
            CREATE TABLE br(l1id INTEGER, tag INTEGER, PRIMARY KEY(l1id, tag));
            """)
        func literal(_ v: Int?) -> String { v.map(String.init) ?? "NULL" }
        func literal(_ v: String?) -> String { v.map { "'\($0)'" } ?? "NULL" }
        for (k, r) in world.f {
            try db.execute(
                "INSERT INTO f VALUES (\(k[0]), \(k[1]), \(r.a), \(r.b), \(r.c), \(literal(r.r)), \(literal(r.s)))")
        }
        for (id, r) in world.l1 { try db.execute("INSERT INTO l1 VALUES (\(id), \(literal(r.r2)), '\(r.name)')") }
        for (id, label) in world.l2 { try db.execute("INSERT INTO l2 VALUES (\(id), '\(label)')") }
        for k in world.br { try db.execute("INSERT INTO br VALUES (\(k[0]), \(k[1]))") }
        var out: [String: String] = [:]
        let grouped = sql.contains("group by")
        try db.statement(sql).forEachRow { row in
            func text(_ i: Int32) -> String? {
                switch row.value(i) {
                case .null: nil
                case .integer(let v): String(v)
                case .text(let t): t
                case .blob: "?"
                }
            }
            let group = grouped ? (text(0) ?? "uncategorized") : ""
            // SQLite's sum of only nulls is NULL; cdctop's is 0 (the group still has rows).
            out[group] = text(grouped ? 1 : 0) ?? "0"
        }
        if !grouped && out[""] == "0" { out[""] = nil }
        return out
    }

    @Test("random KPIs, histories and interleavings equal SQLite on the final tables", arguments: 0..<12)
    func randomKPIs(seed: UInt64) throws {
        var rng = SeededRandom(seed: 0xC0FFEE &+ seed &* 1_000_003)
        let (world, messages) = Self.history(rng: &rng, steps: 300)
        let kpis = (0..<4).map { _ in Self.randomKPI(rng: &rng) }
        var toml = "name = \"random\"\n"
        for (i, sql) in kpis.enumerated() { toml += "[kpi.k\(i)]\nsql = \"\(sql)\"\n" }
        let profile = try KPIProfile(tomlText: toml, file: "random.toml")
        let expected = try kpis.map { try Self.sqlite(world, $0) }

        for round in 0..<2 {
            // Per table and partition streams in order, interleaved at random.
            var streams: [String: [(String, Int32, (key: [UInt8], value: [UInt8])?)]] = [:]
            let partitions = UInt64(1 + round)
            for m in messages {
                let hash = ModelFixture.json(m.key).reduce(UInt64(14_695_981_039_346_656_037)) {
                    ($0 ^ UInt64($1)) &* 1_099_511_628_211
                }
                let p = Int32(hash % partitions)
                streams["\(m.table)#\(p)", default: []].append((m.table, p, m.m))
            }
            var queues = streams.keys.sorted().map { streams[$0]! }
            let feeder = ModelFeeder(profile: profile)
            while !queues.isEmpty {
                let i = rng.below(queues.count)
                let (table, partition, m) = queues[i].removeFirst()
                if let m {
                    feeder.send(table, partition: partition, m)
                } else {
                    feeder.send(table, partition: partition, nil, tombstoneKey: Array("{}".utf8))
                }
                if queues[i].isEmpty { queues.remove(at: i) }
            }
            let result = feeder.core.result
            #expect(result.malformed == 0, "\(feeder.core.recentMalformed.prefix(2).map(\.reason))")
            for (k, sql) in kpis.enumerated() {
                let columns = result.kpiColumns[k]
                var got: [String: String] = [:]
                for (group, accum) in result.totals.kpis[k].groups {
                    got[columns.groupText(group).first ?? ""] = columns.valueText(accum, 0)
                }
                // An ungrouped KPI over no row: SQLite says 0 (or NULL), cdctop has no group; a sum of 0 is 0 either way.
                if !sql.contains("group by") && got[""] == "0" { got[""] = nil }
                #expect(got == expected[k], "seed \(seed) round \(round): \(sql)")
            }
        }
    }
}
