import Metrics

/// Lag verdicts from a sliding window of progress, not a fixed threshold:
/// - OK: nothing to read, or the consumer keeps up (lag not growing and drained within `drainBudgetMs` at the
///   consumption rate seen in the window);
/// - LAGGING: the consumer moves but lag grows, or would take longer than `drainBudgetMs` to drain;
/// - STALLED: lag > 0 and the position did not move during the whole window.
enum LagVerdict: String, Sendable, Hashable {
    case warmingUp = "…"
    case ok = "OK"
    case lagging = "LAGGING"
    case stalled = "STALLED"
}

struct LagInsight: Sendable, Hashable {
    var verdict: LagVerdict
    /// Lag in messages, oldest first, one sample per second at most (trend sparkline).
    var trend: [Int64]
    /// Messages per second consumed over the window.
    var consumeRate: Double
}

/// Keeps recent progress per topic-partition, fed one snapshot at a time by the run loop.
struct LagTracker: Sendable {
    struct Sample: Sendable, Hashable { var atMs: Int64; var consumed: Int64; var lag: Int64 }

    var windowMs: Int64 = 30_000
    var minimumSpanMs: Int64 = 5_000
    var drainBudgetMs: Int64 = 10_000
    var trendLength = 120
    private(set) var samples: [String: [Sample]] = [:]
    private(set) var trends: [String: [Int64]] = [:]

    static func key(_ p: PartitionLag) -> String { "\(p.topic)[\(p.partition)]" }

    mutating func record(_ partitions: [PartitionLag], atMs now: Int64) {
        for p in partitions {
            let k = LagTracker.key(p)
            let consumed = p.position >= 0 ? p.position : max(p.committed, 0)
            var list = samples[k, default: []]
            // One sample per second is plenty and bounds memory at high snapshot rates.
            if let last = list.last, now - last.atMs < 1_000 {
                list[list.count - 1] = Sample(atMs: last.atMs, consumed: max(last.consumed, consumed), lag: p.lag)
            } else {
                list.append(Sample(atMs: now, consumed: consumed, lag: p.lag))
                trends[k, default: []].append(p.lag)
                if trends[k]!.count > trendLength { trends[k]!.removeFirst(trends[k]!.count - trendLength) }
            }
            if let firstKept = list.firstIndex(where: { now - $0.atMs <= windowMs }), firstKept > 1 {
                // Keep one sample older than the window so the span covers the whole window.
                list.removeFirst(firstKept - 1)
            }
            samples[k] = list
        }
    }

    func insight(for p: PartitionLag, nowMs: Int64) -> LagInsight {
        let k = LagTracker.key(p)
        let trend = trends[k] ?? []
        let list = samples[k] ?? []
        guard let last = list.last else { return LagInsight(verdict: .warmingUp, trend: trend, consumeRate: 0) }
        let windowStart = nowMs - windowMs
        let first = list.last(where: { $0.atMs <= windowStart }) ?? list.first!
        let span = last.atMs - first.atMs
        let progressed = last.consumed - first.consumed
        let rate = span > 0 ? Double(progressed) * 1_000 / Double(span) : 0
        if p.lag == 0 { return LagInsight(verdict: .ok, trend: trend, consumeRate: rate) }
        guard span >= minimumSpanMs else { return LagInsight(verdict: .warmingUp, trend: trend, consumeRate: rate) }
        if progressed <= 0 { return LagInsight(verdict: .stalled, trend: trend, consumeRate: 0) }
        let growing = last.lag > first.lag
        let drainMs = rate > 0 ? Double(p.lag) / rate * 1_000 : .infinity
        let verdict: LagVerdict = growing || drainMs > Double(drainBudgetMs) ? .lagging : .ok
        return LagInsight(verdict: verdict, trend: trend, consumeRate: rate)
    }
}
