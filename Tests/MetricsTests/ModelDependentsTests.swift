import Testing

@testable import Metrics

/// `ModelDependents` (the model aggregator's index of which anchors looked up which joined value)
/// against an independent model, a dictionary of multisets: random registrations and removals, with
/// a few values shared by many anchors (a customer's orders), text values, the integer map's
/// free-slot marker `Int64.min`, several joins and partitions, and removals of what is not there.
struct ModelDependentsTests {
    struct Entry: Hashable {
        var join: Int32
        var value: RowKey
    }

    static func dependency(_ g: inout SplitMix) -> ModelDependency {
        let join = Int32(g.below(3))
        switch g.below(10) {
        case 0: return ModelDependency(join: join, value: .text("c\(g.below(20))"))
        case 1: return ModelDependency(join: join, value: .int(Int64.min))
        case 2, 3: return ModelDependency(join: join, value: .int(Int64(g.below(4))))  // shared by many
        default: return ModelDependency(join: join, value: .int(Int64(g.below(5_000)) * 1_024))
        }
    }

    static func anchor(_ g: inout SplitMix) -> AnchorRef {
        AnchorRef(partition: Int64(g.below(3)) - 1, id: Int32(g.below(2_000)))
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func behavesLikeAMultiset(seed: UInt64) {
        var g = SplitMix(seed: seed)
        var index = ModelDependents()
        var model: [Entry: [AnchorRef: Int]] = [:]
        var registered: [(ModelDependency, AnchorRef)] = []
        for step in 0..<40_000 {
            switch g.below(10) {
            case 0..<6:
                let d = Self.dependency(&g)
                let ref = Self.anchor(&g)
                index.insert(d, ref)
                model[Entry(join: d.join, value: d.value), default: [:]][ref, default: 0] += 1
                registered.append((d, ref))
            case 6..<9 where !registered.isEmpty:
                // Removal of a registration made earlier (as the aggregator does), in any order.
                let i = g.below(registered.count)
                let (d, ref) = registered.remove(at: i)
                index.remove(d, ref)
                let e = Entry(join: d.join, value: d.value)
                model[e]![ref]! -= 1
                if model[e]![ref]! == 0 { model[e]![ref] = nil }
                if model[e]!.isEmpty { model[e] = nil }
            default:
                // A removal of something never registered changes nothing.
                let d = ModelDependency(join: 2, value: .int(-7))
                index.remove(d, AnchorRef(partition: 99, id: 1))
            }
            if step % 997 == 0 || step == 39_999 {
                for (e, refs) in model {
                    var got: [AnchorRef: Int] = [:]
                    index.forEach(ModelDependency(join: e.join, value: e.value)) { got[$0, default: 0] += 1 }
                    #expect(got == refs, "seed \(seed) step \(step): \(e)")
                }
                var nothing = 0
                index.forEach(ModelDependency(join: 1, value: .int(-7))) { _ in nothing += 1 }
                index.forEach(ModelDependency(join: 7, value: .int(0))) { _ in nothing += 1 }
                #expect(nothing == 0)
            }
        }
    }
}
