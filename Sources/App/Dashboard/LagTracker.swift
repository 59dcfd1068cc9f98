import Metrics

/// cdctop's own lag verdict per partition, from one sample a second, by the same rules as the other
/// groups' (`LagRules.ownConsumer`: LAGGING above the profile's `[lag]` messages AND seconds for
/// `samples` samples in a row; STALLED / STOPPED when the position did not move over 30 s with lag;
/// UNKNOWN, shown as "…", until 5 s of samples exist).
struct LagInsight: Sendable, Hashable {
    var verdict: LagVerdict
    /// Lag in messages, oldest first, one sample per second at most (trend sparkline).
    var trend: [Int64]
    /// Messages per second consumed over the window.
    var consumeRate: Double
}

/// Keeps recent progress per topic-partition, fed one snapshot at a time by the run loop: the samples
/// and verdicts of `LagHistory` (the ones the CdcLagHigh alert judges too), and the trend sparklines.
struct LagTracker: Sendable {
    var trendLength = 120
    var thresholds: LagThresholds {
        get { history.thresholds }
        set { history.thresholds = newValue }
    }
    private(set) var history = LagHistory()
    var samples: [String: [LagSample]] { history.samples }
    private(set) var trends: [String: [Int64]] = [:]

    static func key(_ p: PartitionLag) -> String { LagHistory.key(p) }

    mutating func record(_ partitions: [PartitionLag], atMs now: Int64) {
        let added = history.record(partitions, atMs: now)
        for (p, isNew) in zip(partitions, added) where isNew {
            let k = LagTracker.key(p)
            trends[k, default: []].append(p.lag)
            if trends[k]!.count > trendLength { trends[k]!.removeFirst(trends[k]!.count - trendLength) }
        }
    }

    func insight(for p: PartitionLag, nowMs: Int64) -> LagInsight {
        let k = LagTracker.key(p)
        let trend = trends[k] ?? []
        let list = history.samples[k] ?? []
        guard let last = list.last, let first = list.first else {
            return LagInsight(verdict: .unknown, trend: trend, consumeRate: 0)
        }
        let span = last.atMs - first.atMs
        let rate = span > 0 ? Double(last.consumed - first.consumed) * 1_000 / Double(span) : 0
        // `LagHistory.verdict` is the one caught-up check: OK at once when the snapshot has no lag.
        return LagInsight(verdict: history.verdict(for: p), trend: trend, consumeRate: max(0, rate))
    }
}
