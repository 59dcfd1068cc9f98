import Metrics

extension Money {
    /// `self + other`, clamped to Int128's range instead of trapping: for sums the screen shows (several
    /// windows, days of history), which may add values the engine only bounds one by one.
    func addingSaturating(_ other: Money) -> Money {
        let (v, overflow) = units.addingReportingOverflow(other.units)
        return overflow ? Money(units: other.units > 0 ? .max : .min) : Money(units: v)
    }

    static func &+= (a: inout Money, b: Money) { a = a.addingSaturating(b) }
}

/// The numbers the views show, derived from one snapshot at one instant. Kept apart from drawing so the
/// definitions (current window, last 5 minutes, rates) live in one place and match the help text.
struct Figures: Sendable {
    static let fiveMinutesMs: Int64 = 300_000

    var windowMs: Int64
    /// The window holding the newest commit (event time).
    var currentWindow: WindowResult?
    var lastFiveMinutesRevenue: Money = .zero
    var lastFiveMinutesTx: Int64 = 0
    var totalRevenue: Money
    var totalTx: Int64
    var averageTicket: Money?
    var freshnessMs: Int64?
    /// Revenue per category: current window, last 5 min, total.
    var categoryWindow: [String: Money] = [:]
    var categoryFiveMinutes: [String: Money] = [:]
    var categoryTotal: [String: Money]
    /// Sales since 00:00 UTC of `now`, from the windows held in memory.
    var todayRevenue: Money = .zero
    var todayTx: Int64 = 0

    /// New transactions per second over the last few seconds of wall time (the engine's sliding window).
    var txPerSecond: Double

    /// The implicit default profile met only tables it does not know: no business figure means anything.
    var noProfile = false
    /// The built-in figures the profile defines: a model profile may leave out `transactions`,
    /// `revenue` or `category_sales`, and then its tiles say "not in profile", not 0.
    var hasTransactions = true
    var hasRevenue = true
    var hasCategories = true

    init(_ s: RunSnapshot, nowMs: Int64) {
        windowMs = s.kpis.result.windowMs
        totalRevenue = s.kpis.result.totals.revenue
        totalTx = s.kpis.result.totals.txCount
        txPerSecond = s.kpis.txPerSecond
        categoryTotal = s.kpis.result.totals.categoryRevenue
        noProfile = s.kpis.profile.noProfileForTopics
        if s.kpis.profile.isModel {
            let names = Set(s.kpis.result.kpiColumns.map(\.name))
            hasTransactions = names.contains("transactions")
            hasRevenue = names.contains("revenue")
            hasCategories = names.contains("category_sales")
        }
        if noProfile {
            hasTransactions = false
            hasRevenue = false
            hasCategories = false
        }
        if totalTx > 0 {
            // Rounded to cents (half away from zero): the exact quotient has nine places nobody reads.
            let cent = Money.unitsPerWhole / 100
            let exact = totalRevenue.units / Int128(totalTx)
            let (rounded, overflow) = exact.addingReportingOverflow(exact >= 0 ? cent / 2 : -cent / 2)
            averageTicket = Money(units: (overflow ? exact : rounded) / cent * cent)
        }
        if s.kpis.maxCommitTimeMs > 0 {
            freshnessMs = max(0, nowMs - s.kpis.maxCommitTimeMs)
            currentWindow = s.kpis.window(containing: s.kpis.maxCommitTimeMs)
        }
        categoryWindow = currentWindow?.categoryRevenue ?? [:]
        let midnight = nowMs - nowMs % 86_400_000
        for w in s.kpis.result.windows {
            if w.windowStartMs >= nowMs - Figures.fiveMinutesMs {
                lastFiveMinutesRevenue &+= w.revenue
                lastFiveMinutesTx &+= w.txCount
                for (c, m) in w.categoryRevenue { categoryFiveMinutes[c, default: .zero] &+= m }
            }
            if w.windowStartMs >= midnight {
                todayRevenue &+= w.revenue
                todayTx &+= w.txCount
            }
        }
    }

    /// Revenue of the last `count` windows up to the current one, empty windows as zero (sparklines).
    static func revenueSeries(_ s: RunSnapshot, count: Int) -> [Double] {
        guard count > 0, let last = s.kpis.result.windows.last else { return [] }
        let w = s.kpis.result.windowMs
        let end = max(last.windowStartMs, s.kpis.maxCommitTimeMs - s.kpis.maxCommitTimeMs % w)
        var byStart: [Int64: Double] = [:]
        for win in s.kpis.result.windows where win.windowStartMs > end - Int64(count) * w {
            byStart[win.windowStartMs] = win.revenue.approximateDouble
        }
        let first = max(s.kpis.result.windows.first!.windowStartMs, end - Int64(count - 1) * w)
        return stride(from: first, through: end, by: Int(w)).map { byStart[$0] ?? 0 }
    }
}
