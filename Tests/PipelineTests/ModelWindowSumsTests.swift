import Foundation
import Testing

@testable import Metrics
@testable import Pipeline

/// Window sums of a model profile are kept per partition by group id and turned back into group
/// cells only when a window is merged. Every change of these histories counts in a window (no
/// snapshot reads, no update of a row never seen, nothing evicted in their 150 s), so over all
/// windows each group's sums must add up to its totals, which `ModelPropertyTests` checks against
/// SQLite: lookups changing (moving held window sums between groups), bridge rows coming and going,
/// several partitions and random interleavings included.
@Suite("Model profiles: window sums add up to the totals")
struct ModelWindowSumsTests {
    @Test("windows summed per group equal the totals, over random KPIs, histories and interleavings", arguments: 0..<8)
    func windowsAddUpToTotals(seed: UInt64) throws {
        var rng = SeededRandom(seed: 0xBEEF &+ seed &* 1_000_033)
        let (_, messages) = ModelPropertyTests.history(rng: &rng, steps: 300)
        let kpis = (0..<4).map { _ in ModelPropertyTests.randomKPI(rng: &rng) }
        var toml = "name = \"random\"\n"
        for (i, sql) in kpis.enumerated() { toml += "[kpi.k\(i)]\nsql = \"\(sql)\"\n" }
        let profile = try KPIProfile(tomlText: toml, file: "random.toml")

        var streams: [String: [(String, Int32, (key: [UInt8], value: [UInt8])?)]] = [:]
        let partitions = UInt64(1 + seed % 3)
        for m in messages {
            let hash = ModelFixture.json(m.key).reduce(UInt64(14_695_981_039_346_656_037)) {
                ($0 ^ UInt64($1)) &* 1_099_511_628_211
            }
            let p = Int32(hash % partitions)
            streams["\(m.table)#\(p)", default: []].append((m.table, p, m.m))
        }
        var queues = streams.keys.sorted().map { streams[$0]! }
        let feeder = ModelFeeder(profile: profile)
        var sent = 0
        var checked = 0
        while !queues.isEmpty {
            let i = rng.below(queues.count)
            let (table, partition, m) = queues[i].removeFirst()
            if let m {
                feeder.send(table, partition: partition, m)
            } else {
                feeder.send(table, partition: partition, nil, tombstoneKey: Array("{}".utf8))
            }
            if queues[i].isEmpty { queues.remove(at: i) }
            sent += 1
            // Also part way through: windows are merged again only where they changed since the last read.
            if sent % 97 == 0 || queues.isEmpty {
                let result = feeder.core.result
                #expect(result.malformed == 0, "\(feeder.core.recentMalformed.prefix(2).map(\.reason))")
                #expect(!result.windows.isEmpty)
                for k in kpis.indices {
                    var summed: [[Cell]: KPIAccum] = [:]
                    for window in result.windows where k < window.kpis.count {
                        for (group, accum) in window.kpis[k].groups {
                            if summed[group] == nil { summed[group] = accum } else { summed[group]!.add(accum) }
                        }
                    }
                    summed = summed.filter { !$0.value.isZero }
                    #expect(summed == result.totals.kpis[k].groups, "seed \(seed) after \(sent) messages: \(kpis[k])")
                    checked += 1
                }
            }
        }
        #expect(checked >= 4)
    }
}

/// Group ids past the dense part go through a slot map: sums by id must equal a plain dictionary's,
/// for ids on both sides of the boundary, with additions and retractions back to zero.
@Suite("Model profiles: a window's sums by group id, dense and mapped")
struct WindowGroupSumsTests {
    @Test("random additions and retractions over ids 0..<4000 equal a dictionary", arguments: 0..<4)
    func sumsByIdEqualADictionary(seed: UInt64) {
        var rng = SeededRandom(seed: 0xD15C &+ seed)
        var sums = WindowGroupSums(aggregates: 2)
        var model: [Int: KPIAccum] = [:]
        var live: [(group: Int, accum: KPIAccum)] = []
        for _ in 0..<20_000 {
            if !live.isEmpty && rng.below(3) == 0 {
                // Retract an earlier addition exactly (a row deleted or moved to another group).
                let (group, accum) = live.remove(at: rng.below(live.count))
                sums.add(group: group, accum, sign: -1)
                model[group, default: KPIAccum(aggregates: 2)].add(accum, sign: -1)
            } else {
                let group = rng.below(4) == 0 ? rng.below(WindowGroupSums.denseLimit) : rng.below(4_000)
                var accum = KPIAccum(aggregates: 2)
                accum.rows = 1
                accum.sums[0] = ExactDecimal(Int64(rng.below(1_000_000)) - 500_000)
                accum.counts[1] = 1
                sums.add(group: group, accum)
                model[group, default: KPIAccum(aggregates: 2)].add(accum)
                live.append((group, accum))
            }
        }
        var seen: [Int: KPIAccum] = [:]
        sums.forEachNonZero { g, a in
            #expect(seen[g] == nil, "group \(g) listed twice")
            seen[g] = a
        }
        let expected = model.filter { !$0.value.isZero }
        #expect(seen == expected)
        #expect(expected.keys.contains { $0 >= WindowGroupSums.denseLimit })
        for g in [0, 1, WindowGroupSums.denseLimit - 1, WindowGroupSums.denseLimit, 3_999] {
            #expect(sums.accum(group: g) == expected[g])
        }
    }
}
