import Metrics

/// Demo history for the History view: `days` full UTC days before today, as hour-sized windows
/// (`window_ms` = 3 600 000) of the given pipeline, so the History view of that pipeline shows them
/// next to today's live figure. Hour windows keep it to 24 rows a day (2 160 for 90 days) instead of
/// 2 880 thirty-second windows; the daily sums are what the view shows.
///
/// The figures are what `cdctop demo` produces at its rate (`DemoRateModel`: the generator itself, run
/// on a sample, gives transactions, revenue and category mix per message), so an average seeded day
/// equals a day of the live demo at that rate. Around that average: a daily curve (quiet at night,
/// lunch and evening peaks; the hours of a day sum to the day), weekly seasonality (Friday and Saturday
/// busiest, Tuesday quietest; the week averages 1), slow growth up to today's level, and deterministic
/// noise, so reseeding writes the same values (upserts: running it twice does not double anything).
/// Today is left to the live engine.
package enum WarehouseSeed {
    /// `cdctop demo`'s default `--rate` (messages per second); `warehouse seed` writes history at it.
    package static let demoMessagesPerSecond = 400
    /// `cdctop demo`'s default `--seed`.
    package static let demoGeneratorSeed: UInt64 = 42
    /// The default demo's rates, measured once (100,000 generated messages) and reused.
    static let demoModel = DemoRateModel.measure(
        messagesPerSecond: demoMessagesPerSecond, generatorSeed: demoGeneratorSeed)
    /// Monday … Sunday; averages 1.
    static let weekdayFactor: [Double] = [1.00, 0.94, 0.98, 1.04, 1.18, 1.30, 1.10].map { $0 / 1.077_142_857 }
    /// 00:00 … 23:00 UTC; relative, normalised to the day's total where used.
    static let hourFactor: [Double] = [
        0.30, 0.18, 0.12, 0.10, 0.10, 0.15, 0.35, 0.60, 0.85, 1.00, 1.10, 1.25,
        1.45, 1.35, 1.15, 1.05, 1.05, 1.15, 1.35, 1.55, 1.60, 1.40, 1.00, 0.60,
    ]
    static let hourFactorSum = hourFactor.reduce(0, +)
    static let hourMs: Int64 = 3_600_000
    static let dayMs: Int64 = 86_400_000

    /// The windows the seed writes, oldest first (exposed for tests and for `--dry-run` style output),
    /// at the demo generator's default rate and seed.
    package static func windows(days: Int, endingBeforeDayStartMs todayStartMs: Int64) -> [WindowResult] {
        windows(days: days, endingBeforeDayStartMs: todayStartMs, model: demoModel)
    }

    /// The windows the seed writes for `model`'s rate, oldest first.
    package static func windows(days: Int, endingBeforeDayStartMs todayStartMs: Int64, model: DemoRateModel)
        -> [WindowResult]
    {
        var windows: [WindowResult] = []
        windows.reserveCapacity(days * 24)
        let transactionsPerDay = Double(model.transactionsPerDay)
        for dayOffset in stride(from: days, to: 0, by: -1) {
            let dayStart = todayStartMs - Int64(dayOffset) * dayMs
            let dayNumber = dayStart / dayMs  // days since 1970-01-01 (a Thursday)
            let weekday = Int((dayNumber + 3) % 7)  // 0 = Monday
            let growth = 1.0 / (1.0 + 0.003 * Double(dayOffset - 1))  // about +0.3 % a day, 1 yesterday
            var random = SeededRandom(seed: UInt64(bitPattern: dayNumber) &+ 0x9E37_79B9_7F4A_7C15)
            let dayNoise = 0.93 + 0.14 * random.nextUnit()
            let dayExpected = transactionsPerDay * weekdayFactor[weekday] * growth * dayNoise
            for hour in 0..<24 {
                let expected = dayExpected * hourFactor[hour] / hourFactorSum
                let txCount = Int64((expected * (0.95 + 0.1 * random.nextUnit())).rounded())
                // The generator's average basket, ±8 % by the hour (in permille, integer cents).
                let basketPermille = Int64(920 + random.nextUInt64() % 161)
                let revenueCents = model.revenueCents(ofTransactions: txCount, permille: basketPermille)
                windows.append(
                    WindowResult(
                        windowStartMs: dayStart + Int64(hour) * hourMs, txCount: txCount,
                        revenue: Money(cents: revenueCents),
                        categoryRevenue: model.split(revenueCents: revenueCents, random: &random)))
            }
        }
        return windows
    }

    /// The pipeline `warehouse seed` writes to unless told otherwise: never a real pipeline's name.
    package static let defaultPipeline = "demo"

    /// Windows of `pipeline` not written by seed or demo: real data that seeding would overwrite.
    package struct RealWindows: Sendable, Hashable {
        package var count: Int64
        package var first: String
        package var last: String
    }

    /// The real (non-synthetic) windows `pipeline` holds; needs the marker column (`initialize` adds it).
    package static func realWindows(pipeline: String, on connection: PostgresConnection) throws(WarehouseError)
        -> RealWindows
    {
        let sql = """
            SELECT count(*), to_char(min(window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                   to_char(max(window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
            FROM cdctop.kpi_window WHERE pipeline = $1 AND NOT synthetic
            """
        let row = try connection.execute(sql, [pipeline]).rows.first ?? []
        return RealWindows(
            count: try WarehouseSchema.integer(row.first ?? nil, sql: sql),
            first: row.count > 1 ? row[1] ?? "" : "", last: row.count > 2 ? row[2] ?? "" : "")
    }

    /// Writes the demo history, marked synthetic; returns the number of windows written. Refuses
    /// (`.wouldOverwrite`, nothing written) when `pipeline` already holds real windows, unless `force`.
    /// Creates or upgrades the schema first.
    @discardableResult
    package static func seed(
        pipeline: String, days: Int, on connection: PostgresConnection,
        nowMs: Int64? = nil, force: Bool = false,
        model: DemoRateModel? = nil
    ) throws(WarehouseError) -> Int {
        try WarehouseSchema.initialize(connection)
        let real = try realWindows(pipeline: pipeline, on: connection)
        if real.count > 0 && !force {
            throw WarehouseError(
                kind: .wouldOverwrite,
                message: "pipeline '\(pipeline)' on \(connection.endpoint) already holds \(real.count) real window(s) "
                    + "(\(real.first) … \(real.last) UTC) that cdctop wrote from Kafka; seeding would overwrite them with demo data",
                advice: "seed a separate pipeline (the default is '\(defaultPipeline)': leave out --pipeline, or pass "
                    + "--pipeline NAME), or add --force if you really mean to replace real windows")
        }
        let now = nowMs ?? WallClock.nowMs()
        let todayStart = now - now % dayMs
        let model = model ?? demoModel
        let all = windows(days: days, endingBeforeDayStartMs: todayStart, model: model)
        var index = 0
        while index < all.count {
            let batch = Array(all[index..<min(index + 24 * 30, all.count)])
            try WarehouseSchema.write(batch, pipeline: pipeline, windowMs: hourMs, synthetic: true, on: connection)
            index += batch.count
        }
        return all.count
    }
}

/// What the demo's generator (`ShopWorkload`) produces per message, measured by running it on a sample,
/// and so per day at a rate: the seeded history is derived from this, never from a second constant.
package struct DemoRateModel: Sendable, Hashable {
    /// Messages per second the live generator produces (`cdctop demo --rate`).
    package var messagesPerSecond: Int
    /// Messages in the measured sample (live transactions only, after the snapshot).
    package var sampleMessages: Int64
    /// Net new transactions in the sample (new orders minus cancellations), as the shop KPIs count them.
    package var sampleTransactions: Int64
    /// Net revenue of the sample in cents (orders minus refunds and cancellations).
    package var sampleRevenueCents: Int64
    /// Net line-item revenue per category in the sample, in cents, by category name (sums to the revenue).
    package var sampleCategoryCents: [String: Int64]

    /// Live messages generated for the measurement: enough for a stable mix (about 15 000 database
    /// transactions).
    package static let sampleSize = 50_000
    /// Messages skipped first: the snapshot and the first minutes, whose mix (few orders alive to update
    /// or cancel yet) differs from the steady run the tiles show while someone looks.
    package static let warmUp: Int64 = 50_000

    /// Runs the generator (simulated clock, same seed as the demo) past its snapshot, then over
    /// `sampleSize` messages, and keeps what those messages did to the KPIs.
    package static func measure(messagesPerSecond: Int, generatorSeed: UInt64) -> DemoRateModel {
        let workload = ShopWorkload(config: ShopWorkloadConfig(seed: generatorSeed))
        var out: [GeneratedMessage] = []
        out.reserveCapacity(64)
        // Past the snapshot (customers, products and the existing orders) and the first minutes.
        while workload.messageCount < warmUp {
            out.removeAll(keepingCapacity: true)
            workload.next(into: &out)
        }
        let before = workload.groundTruth
        let firstMessage = workload.messageCount
        while workload.messageCount < firstMessage + Int64(sampleSize) {
            out.removeAll(keepingCapacity: true)
            workload.next(into: &out)
        }
        let after = workload.groundTruth
        var transactions: Int64 = 0
        var revenue = Money.zero
        var categories: [String: Money] = [:]
        func add(_ window: WindowResult, sign: Int128) {
            transactions += sign == 1 ? window.txCount : -window.txCount
            revenue.units += sign * window.revenue.units
            for (name, amount) in window.categoryRevenue {
                categories[name, default: .zero].units += sign * amount.units
            }
        }
        for window in after.windows { add(window, sign: 1) }
        for window in before.windows { add(window, sign: -1) }
        let centUnits = Money.unitsPerWhole / 100
        return DemoRateModel(
            messagesPerSecond: messagesPerSecond, sampleMessages: workload.messageCount - firstMessage,
            sampleTransactions: transactions, sampleRevenueCents: Int64(revenue.units / centUnits),
            sampleCategoryCents: categories.mapValues { Int64($0.units / centUnits) }.filter { $0.value != 0 })
    }

    /// Transactions a day at `messagesPerSecond`: what a day of the live demo counts.
    package var transactionsPerDay: Int64 {
        guard sampleMessages > 0 else { return 0 }
        return Int64(messagesPerSecond) * 86_400 * sampleTransactions / sampleMessages
    }

    /// Revenue a day at `messagesPerSecond`.
    package var revenuePerDay: Money {
        guard sampleMessages > 0 else { return .zero }
        return Money(
            cents: Int64(Int128(messagesPerSecond) * 86_400 * Int128(sampleRevenueCents) / Int128(sampleMessages)))
    }

    /// Revenue of `transactions` at the sample's average basket, scaled by `permille` / 1000, in cents.
    func revenueCents(ofTransactions transactions: Int64, permille: Int64) -> Int64 {
        guard sampleTransactions > 0 else { return 0 }
        return Int64(
            Int128(transactions) * Int128(sampleRevenueCents) * Int128(permille) / (Int128(sampleTransactions) * 1000))
    }

    /// `revenueCents` split over the sample's categories in its proportions (±15 % each, the last takes
    /// the rest), so the categories of a window sum to its revenue.
    func split(revenueCents: Int64, random: inout SeededRandom) -> [String: Money] {
        let names = sampleCategoryCents.keys.sorted()
        guard revenueCents > 0, sampleRevenueCents > 0, !names.isEmpty else { return [:] }
        var out: [String: Money] = [:]
        var assigned: Int64 = 0
        for (index, name) in names.enumerated() {
            let cents: Int64
            if index == names.count - 1 {
                cents = revenueCents - assigned
            } else {
                let permille = Int128(850 + random.nextUInt64() % 301)
                let share =
                    Int128(revenueCents) * Int128(sampleCategoryCents[name]!) * permille
                    / (Int128(sampleRevenueCents) * 1000)
                cents = min(revenueCents - assigned, max(0, Int64(share)))
            }
            assigned += cents
            if cents != 0 { out[name] = Money(cents: cents) }
        }
        return out
    }
}
