import Metrics

/// Everything the generator's ground truth needs, kept in plain dictionaries and integer cents,
/// deliberately sharing no code with `WindowedAggregator`: the aggregator is tested against it.
struct GroundTruthLedger {
    struct WindowTally {
        var txCount: Int64 = 0
        var revenueCents: Int64 = 0
        var categoryCents: [String: Int64] = [:]
    }

    let windowMs: Int64
    private(set) var windows: [Int64: WindowTally] = [:]
    var messages: Int64 = 0
    var malformed: Int64 = 0

    init(windowMs: Int64) { self.windowMs = windowMs }

    private func windowStart(_ commitMs: Int64) -> Int64 {
        // Floor, so that times before the epoch would still land in the window that contains them.
        var remainder = commitMs % windowMs
        if remainder < 0 { remainder += windowMs }
        return commitMs - remainder
    }

    /// A live (non-snapshot) change of a sale row.
    mutating func sale(commitMs: Int64, countDelta: Int64, revenueDeltaCents: Int64) {
        let start = windowStart(commitMs)
        windows[start, default: WindowTally()].txCount += countDelta
        windows[start, default: WindowTally()].revenueCents += revenueDeltaCents
    }

    /// A live (non-snapshot) change of a line item.
    mutating func lineItem(commitMs: Int64, category: String, deltaCents: Int64) {
        windows[windowStart(commitMs), default: WindowTally()].categoryCents[category, default: 0] += deltaCents
    }

    /// The result, with totals from the rows alive at the source now.
    func result(
        aliveAmountsCents: some Sequence<Int64>, aliveItemCents: some Sequence<(category: String, cents: Int64)>
    ) -> KPIResult {
        var totals = TotalsResult()
        var revenue: Int64 = 0
        for amount in aliveAmountsCents {
            totals.txCount += 1
            revenue += amount
        }
        totals.revenue = Money(cents: revenue)
        var categories: [String: Int64] = [:]
        for item in aliveItemCents { categories[item.category, default: 0] += item.cents }
        totals.categoryRevenue = Self.nonZero(categories)

        let listed = windows.keys.sorted().map { start in
            let tally = windows[start]!
            return WindowResult(
                windowStartMs: start, txCount: tally.txCount, revenue: Money(cents: tally.revenueCents),
                categoryRevenue: Self.nonZero(tally.categoryCents))
        }
        return KPIResult(
            windowMs: windowMs, messages: messages, windows: listed, totals: totals,
            malformed: malformed, dropped: 0)
    }

    private static func nonZero(_ cents: [String: Int64]) -> [String: Money] {
        var out: [String: Money] = [:]
        for (name, value) in cents where value != 0 { out[name] = Money(cents: value) }
        return out
    }
}
