import Foundation
import Metrics
import Testing

@testable import Pipeline

/// The demo's seeded history tells the same story as the live demo: its days are what the generator
/// produces a day at the demo's rate. The ground truth here is the generator itself, run over a different
/// stretch of messages than the model measured, and counted by its own ledger.
@Suite("Demo history seed")
struct DemoSeedTests {
    static let dayMs: Int64 = 86_400_000
    /// 2026-12-07 00:00 UTC, a Monday.
    static let todayStart: Int64 = 1_796_601_600_000

    /// Net transactions, revenue (cents) and messages over messages [skip, skip + count) of the generator.
    static func generatorFigures(skip: Int64, count: Int64, seed: UInt64 = 42) -> (
        tx: Int64, cents: Int64, messages: Int64, categories: Set<String>
    ) {
        let workload = ShopWorkload(config: ShopWorkloadConfig(seed: seed))
        var out: [GeneratedMessage] = []
        while workload.messageCount < skip {
            out.removeAll()
            workload.next(into: &out)
        }
        let before = workload.groundTruth
        let first = workload.messageCount
        while workload.messageCount < first + count {
            out.removeAll()
            workload.next(into: &out)
        }
        let after = workload.groundTruth
        let sum = { (r: KPIResult) -> (Int64, Int128) in
            r.windows.reduce((Int64(0), Int128(0))) { ($0.0 + $1.txCount, $0.1 + $1.revenue.units) }
        }
        let (txAfter, unitsAfter) = sum(after)
        let (txBefore, unitsBefore) = sum(before)
        let categories = Set(after.windows.flatMap { $0.categoryRevenue.keys })
        return (
            txAfter - txBefore, Int64((unitsAfter - unitsBefore) / (Money.unitsPerWhole / 100)),
            workload.messageCount - first, categories
        )
    }

    /// Sums of the seeded windows by UTC day number.
    static func days(_ windows: [WindowResult]) -> [Int64: (tx: Int64, revenue: Money, categories: [String: Money])] {
        var out: [Int64: (tx: Int64, revenue: Money, categories: [String: Money])] = [:]
        for w in windows {
            var day = out[w.windowStartMs / dayMs] ?? (0, .zero, [:])
            day.tx += w.txCount
            day.revenue += w.revenue
            for (name, amount) in w.categoryRevenue { day.categories[name, default: .zero] += amount }
            out[w.windowStartMs / dayMs] = day
        }
        return out
    }

    @Test("a seeded week averages what the generator produces in a day at the demo's rate")
    func seedMatchesTheGeneratorAtItsRate() throws {
        let rate = 400
        let model = DemoRateModel.measure(messagesPerSecond: rate, generatorSeed: 42)
        // Independent: a later stretch of the generator than the model's sample. Revenue per transaction is
        // stationary (price changes stay around each product's list price, `GeneratorTests`); the revenue
        // bound is wider than the count's because one transaction's revenue varies a lot more.
        let truth = Self.generatorFigures(skip: 100_000, count: 50_000)
        let truthTxPerDay = Double(truth.tx) / Double(truth.messages) * Double(rate) * 86_400
        let truthCentsPerDay = Double(truth.cents) / Double(truth.messages) * Double(rate) * 86_400
        #expect(
            abs(Double(model.transactionsPerDay) / truthTxPerDay - 1) < 0.05,
            "model \(model.transactionsPerDay) tx/day, generator \(Int64(truthTxPerDay))")
        #expect(
            abs(model.revenuePerDay.approximateDouble * 100 / truthCentsPerDay - 1) < 0.10,
            "model \(model.revenuePerDay) a day, generator \(truthCentsPerDay / 100)")

        let windows = WarehouseSeed.windows(days: 7, endingBeforeDayStartMs: Self.todayStart, model: model)
        #expect(windows.count == 7 * 24)
        let week = Self.days(windows)
        #expect(week.count == 7)
        let weekTx = week.values.reduce(Int64(0)) { $0 + $1.tx }
        let weekCents = week.values.reduce(0.0) { $0 + $1.revenue.approximateDouble * 100 }
        // A whole week: the weekday shape averages out; noise and growth stay within a few percent.
        #expect(
            abs(Double(weekTx) / 7 / truthTxPerDay - 1) < 0.08,
            "seeded \(weekTx / 7) tx/day, generator \(Int64(truthTxPerDay))")
        #expect(abs(weekCents / 7 / truthCentsPerDay - 1) < 0.14)
        // The live generator's categories, no others, and each day's categories sum to its revenue.
        for (day, figures) in week {
            #expect(
                Set(figures.categories.keys).isSubset(of: truth.categories),
                "day \(day): \(figures.categories.keys.sorted())")
            #expect(figures.categories.values.reduce(Money.zero, +) == figures.revenue, "day \(day)")
        }
        // A weekly shape: the busiest day is clearly above the quietest.
        let perDay = week.values.map(\.tx)
        #expect(Double(perDay.max()!) > Double(perDay.min()!) * 1.15)
    }

    @Test("changing the rate changes the seeded days in proportion")
    func rateDrivesTheSeed() {
        let slow = DemoRateModel.measure(messagesPerSecond: 400, generatorSeed: 42)
        let fast = DemoRateModel.measure(messagesPerSecond: 4_000, generatorSeed: 42)
        #expect(slow.sampleTransactions == fast.sampleTransactions, "the sample does not depend on the rate")
        #expect(abs(fast.transactionsPerDay - slow.transactionsPerDay * 10) <= 10)
        let slowDays = Self.days(WarehouseSeed.windows(days: 14, endingBeforeDayStartMs: Self.todayStart, model: slow))
        let fastDays = Self.days(WarehouseSeed.windows(days: 14, endingBeforeDayStartMs: Self.todayStart, model: fast))
        for (day, figures) in slowDays {
            let other = fastDays[day]!
            let ratio = Double(other.tx) / Double(figures.tx)
            #expect(abs(ratio - 10) < 0.05, "day \(day): \(figures.tx) vs \(other.tx) transactions")
            #expect(abs(other.revenue.approximateDouble / figures.revenue.approximateDouble - 10) < 0.1, "day \(day)")
        }
        // The default windows are the demo's default rate.
        let defaults = WarehouseSeed.windows(days: 3, endingBeforeDayStartMs: Self.todayStart)
        #expect(defaults == WarehouseSeed.windows(days: 3, endingBeforeDayStartMs: Self.todayStart, model: slow))
    }
}

@Suite("librdkafka log lines")
struct KafkaLogVerdictTests {
    @Test("normal operation and offset resets are dropped; real problems stay")
    func verdicts() {
        let reset =
            "shop.public.transactiondetail [0]: offset reset (at offset 5169 (leader epoch -1), broker 1) to cached "
            + "BEGINNING offset offset 5170 (leader epoch -1): fetch failed due to requested offset not available on the broker: Broker: Offset out of range"
        #expect(KafkaLogVerdict.of(level: 4, facility: "OFFSET", text: reset) == .drop)
        #expect(KafkaLogVerdict.of(level: 5, facility: "REBALANCE", text: "Group \"g\" is rebalancing") == .drop)
        #expect(KafkaLogVerdict.of(level: 6, facility: "CGRPJOINSTATE", text: "joined") == .drop)
        #expect(KafkaLogVerdict.of(level: 7, facility: "FETCH", text: "Fetch backoff") == .drop)
        let refused =
            "127.0.0.1:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed: Connection refused (after 0ms in state CONNECT)"
        #expect(
            KafkaLogVerdict.of(level: 3, facility: "FAIL", text: refused)
                == .problem("librdkafka error (FAIL): \(refused)"))
        let auth = "SASL authentication error: Authentication failed"
        #expect(
            KafkaLogVerdict.of(level: 4, facility: "SASL", text: auth) == .problem("librdkafka warning (SASL): \(auth)")
        )
    }
}
