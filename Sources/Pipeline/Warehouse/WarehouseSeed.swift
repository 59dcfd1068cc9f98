import Metrics

/// Demo history for the History view: `days` full UTC days before today, as hour-sized windows
/// (`window_ms` = 3 600 000) of the given pipeline, so the History view of that pipeline shows them
/// next to today's live figure. Hour windows keep it to 24 rows a day (2 160 for 90 days) instead of
/// 2 880 thirty-second windows; the daily sums are what the view shows.
///
/// Shape: a daily curve (quiet at night, lunch and evening peaks), weekly seasonality (Friday and
/// Saturday busiest, Tuesday quietest), slow growth, and deterministic noise, so reseeding writes the
/// same values (upserts: running it twice does not double anything). Today is left to the live engine.
public enum WarehouseSeed {
    public static let categories = ["electronics", "clothing", "home", "books", "toys", "grocery"]
    static let categoryShares: [Int64] = [30, 22, 18, 10, 8, 12]  // percent, sums to 100
    /// Monday … Sunday.
    static let weekdayFactor: [Double] = [1.00, 0.94, 0.98, 1.04, 1.18, 1.30, 1.10]
    /// 00:00 … 23:00 UTC.
    static let hourFactor: [Double] = [0.30, 0.18, 0.12, 0.10, 0.10, 0.15, 0.35, 0.60, 0.85, 1.00, 1.10, 1.25,
                                       1.45, 1.35, 1.15, 1.05, 1.05, 1.15, 1.35, 1.55, 1.60, 1.40, 1.00, 0.60]
    static let hourMs: Int64 = 3_600_000
    static let dayMs: Int64 = 86_400_000

    /// The windows the seed writes, oldest first (exposed for tests and for `--dry-run` style output).
    public static func windows(days: Int, endingBeforeDayStartMs todayStartMs: Int64) -> [WindowResult] {
        var windows: [WindowResult] = []
        windows.reserveCapacity(days * 24)
        for dayOffset in stride(from: days, to: 0, by: -1) {
            let dayStart = todayStartMs - Int64(dayOffset) * dayMs
            let dayNumber = dayStart / dayMs                      // days since 1970-01-01 (a Thursday)
            let weekday = Int((dayNumber + 3) % 7)                // 0 = Monday
            let growth = 1.0 + 0.004 * Double(days - dayOffset)  // about +0.4 % a day
            var random = SeededRandom(seed: UInt64(bitPattern: dayNumber) &+ 0x9E37_79B9_7F4A_7C15)
            let dayNoise = 0.9 + 0.2 * random.nextUnit()
            for hour in 0..<24 {
                let expected = 110.0 * weekdayFactor[weekday] * hourFactor[hour] * growth * dayNoise
                let txCount = Int64((expected * (0.85 + 0.3 * random.nextUnit())).rounded())
                // Average basket 35–75 currency units, in exact cents.
                let basketCents = Int64(3_500 + random.nextUInt64() % 4_000)
                let revenueCents = txCount * basketCents
                var categoryRevenue: [String: Money] = [:]
                if revenueCents > 0 {
                    var assigned: Int64 = 0
                    for (i, name) in categories.enumerated() {
                        let cents: Int64
                        if i == categories.count - 1 {
                            cents = revenueCents - assigned
                        } else {
                            let jitter = 0.8 + 0.4 * random.nextUnit()
                            cents = min(revenueCents - assigned,
                                        Int64(Double(revenueCents * categoryShares[i]) / 100 * jitter))
                        }
                        assigned += cents
                        if cents != 0 { categoryRevenue[name] = Money(cents: cents) }
                    }
                }
                windows.append(WindowResult(windowStartMs: dayStart + Int64(hour) * hourMs, txCount: txCount,
                                            revenue: Money(cents: revenueCents), categoryRevenue: categoryRevenue))
            }
        }
        return windows
    }

    /// The pipeline `warehouse seed` writes to unless told otherwise: never a real pipeline's name.
    public static let defaultPipeline = "demo"

    /// Windows of `pipeline` not written by seed or demo: real data that seeding would overwrite.
    public struct RealWindows: Sendable, Hashable {
        public var count: Int64
        public var first: String
        public var last: String
    }

    /// The real (non-synthetic) windows `pipeline` holds; needs the marker column (`initialize` adds it).
    public static func realWindows(pipeline: String, on connection: PostgresConnection) throws(WarehouseError) -> RealWindows {
        let sql = """
            SELECT count(*), to_char(min(window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                   to_char(max(window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
            FROM cdctop.kpi_window WHERE pipeline = $1 AND NOT synthetic
            """
        let row = try connection.execute(sql, [pipeline]).rows.first ?? []
        return RealWindows(count: try WarehouseSchema.integer(row.first ?? nil, sql: sql),
                           first: row.count > 1 ? row[1] ?? "" : "", last: row.count > 2 ? row[2] ?? "" : "")
    }

    /// Writes the demo history, marked synthetic; returns the number of windows written. Refuses
    /// (`.wouldOverwrite`, nothing written) when `pipeline` already holds real windows, unless `force`.
    /// Creates or upgrades the schema first.
    @discardableResult
    public static func seed(pipeline: String, days: Int, on connection: PostgresConnection,
                            nowMs: Int64? = nil, force: Bool = false) throws(WarehouseError) -> Int {
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
        let all = windows(days: days, endingBeforeDayStartMs: todayStart)
        var index = 0
        while index < all.count {
            let batch = Array(all[index..<min(index + 24 * 30, all.count)])
            try WarehouseSchema.write(batch, pipeline: pipeline, windowMs: hourMs, synthetic: true, on: connection)
            index += batch.count
        }
        return all.count
    }
}
