/// The random choices behind the source workloads (PostgreSQL and MySQL): which kind of database
/// transaction comes next, from the mix, and which open order it works on. One definition, so both
/// databases get the same traffic; the SQL stays with each workload.
struct SourceTrafficChoices {
    let mix: SourceWorkloadMix
    private let totalWeight: Int
    var random: SeededRandom
    /// Orders that may still be shipped, refunded or cancelled (newest last, bounded).
    var openOrders: [Int64] = []
    static let openOrdersLimit = 5_000

    init(mix: SourceWorkloadMix, seed: UInt64) {
        self.mix = mix
        totalWeight = mix.weights.reduce(0) { $0 + $1.1 }
        random = SeededRandom(seed: seed)
    }

    /// The next kind of transaction; one that needs an open order, or two categories, falls back.
    mutating func next(categoryCount: Int) -> SourceChange {
        var ticket = random.below(totalWeight)
        var change = SourceChange.order
        for (candidate, weight) in mix.weights {
            if ticket < weight {
                change = candidate
                break
            }
            ticket -= weight
        }
        if openOrders.isEmpty, change == .shipping || change == .refund || change == .cancel { change = .order }
        if categoryCount < 2, change == .categoryMove { change = .priceChange }
        return change
    }

    /// Mostly recent orders, as in a real shop.
    mutating func takeOpenOrder() -> Int64 {
        let index = max(0, openOrders.count - 1 - random.below(min(openOrders.count, 50)))
        return openOrders.remove(at: index)
    }

    mutating func noteOpenOrder(_ id: Int64) {
        openOrders.append(id)
        if openOrders.count > Self.openOrdersLimit { openOrders.removeFirst(openOrders.count - Self.openOrdersLimit) }
    }
}
