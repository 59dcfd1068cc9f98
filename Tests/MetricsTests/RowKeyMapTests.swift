import Testing

@testable import Metrics

/// `RowKeyMap` against `Dictionary` (the independent model): random inserts, updates and removals,
/// with keys chosen to collide (a small key range, strides that are multiples of the slot count,
/// the free-slot marker `Int64.min`, text keys that look like numbers).
struct RowKeyMapTests {
    static func key(_ g: inout SplitMix, range: Int) -> RowKey {
        switch g.below(10) {
        case 0: return .text("k\(g.below(range))")
        case 1: return .int([Int64.min, Int64.max, -1, 0, Int64.min + 1][g.below(5)])
        case 2: return .int(Int64(g.below(range)) * 4096)
        default: return .int(Int64(g.below(range)) - Int64(range / 2))
        }
    }

    @Test(arguments: [(1, 40), (2, 1_000), (3, 50_000)])
    func behavesLikeADictionary(seed: UInt64, range: Int) {
        var g = SplitMix(seed: seed)
        var map = RowKeyMap<Int64>(filler: 0)
        var model: [RowKey: Int64] = [:]
        for step in 0..<60_000 {
            let key = Self.key(&g, range: range)
            switch g.below(10) {
            case 0..<5:
                let value = Int64(bitPattern: g.next())
                map[key] = value
                model[key] = value
            case 5..<8:
                #expect(map.removeValue(forKey: key) == model.removeValue(forKey: key))
            case 8:
                map[key] = nil
                model[key] = nil
            default:
                #expect(map[key] == model[key])
            }
            if step % 7_919 == 0 {
                #expect(map.count == model.count)
                var seen: [RowKey: Int64] = [:]
                map.forEach { k, v in
                    #expect(seen[k] == nil, "key \(k) listed twice")
                    seen[k] = v
                }
                #expect(seen == model)
            }
        }
        #expect(map.count == model.count)
        for (k, v) in model { #expect(map[k] == v) }
    }

    @Test func removeAllKeepsWorkingWithAndWithoutCapacity() {
        var map = RowKeyMap<Int64>(filler: 0)
        for i in 0..<1_000 { map[.int(Int64(i))] = Int64(i) }
        map[.text("a")] = 1
        map[.int(.min)] = 2
        map.removeAll(keepingCapacity: true)
        #expect(map.count == 0 && map[.int(5)] == nil && map[.int(.min)] == nil && map[.text("a")] == nil)
        for i in 0..<3_000 { map[.int(Int64(i) * 7)] = Int64(i) }
        #expect(map.count == 3_000 && map[.int(7 * 2_999)] == 2_999)
        map.removeAll()
        #expect(map.isEmpty && map[.int(0)] == nil)
        map[.int(1)] = 1
        #expect(map[.int(1)] == 1 && map.count == 1)
    }

    @Test func keyListKeepsEveryKey() {
        var list = RowKeyList()
        let keys: [RowKey] = [.int(3), .text("x"), .int(3), .int(.min), .text("")]
        for k in keys { list.append(k) }
        var listed: [RowKey] = []
        list.forEach { listed.append($0) }
        #expect(list.count == 5)
        #expect(
            listed.sorted(by: { $0.description < $1.description })
                == keys.sorted(by: { $0.description < $1.description }))
        list.removeAll(keepingCapacity: true)
        #expect(list.count == 0)
    }
}
