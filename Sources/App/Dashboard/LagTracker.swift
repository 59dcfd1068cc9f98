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

/// Keeps recent progress per topic-partition, fed one snapshot at a time by the run loop.
struct LagTracker: Sendable {
    var trendLength = 120
    var thresholds = LagThresholds()
    var rules: LagRules { LagRules.ownConsumer(thresholds) }
    private(set) var samples: [String: [LagSample]] = [:]
    private(set) var trends: [String: [Int64]] = [:]

    static func key(_ p: PartitionLag) -> String { "\(p.topic)[\(p.partition)]" }

    mutating func record(_ partitions: [PartitionLag], atMs now: Int64) {
        let rules = rules
        for p in partitions {
            let k = LagTracker.key(p)
            let consumed = p.position >= 0 ? p.position : max(p.committed, 0)
            let lagMs = p.lag > 0 && p.lastCommitTimeMs > 0 ? max(0, now - p.lastCommitTimeMs) : 0
            var list = samples[k, default: []]
            // One sample per second is plenty and bounds memory at high snapshot rates.
            if let last = list.last, now - last.atMs < 1_000 {
                list[list.count - 1] = LagSample(
                    atMs: last.atMs, consumed: max(last.consumed, consumed), lag: p.lag, lagMs: lagMs)
            } else {
                list.append(LagSample(atMs: now, consumed: consumed, lag: p.lag, lagMs: lagMs))
                trends[k, default: []].append(p.lag)
                if trends[k]!.count > trendLength { trends[k]!.removeFirst(trends[k]!.count - trendLength) }
            }
            // Keep the window, one sample older than it (the base the rules compare with), and at least
            // the samples the debounce needs.
            if let firstKept = list.firstIndex(where: { now - $0.atMs < rules.windowMs }), firstKept > 1,
                list.count - (firstKept - 1) >= thresholds.samples
            {
                list.removeFirst(firstKept - 1)
            }
            samples[k] = list
        }
    }

    func insight(for p: PartitionLag, nowMs: Int64) -> LagInsight {
        let k = LagTracker.key(p)
        let trend = trends[k] ?? []
        let list = samples[k] ?? []
        guard let last = list.last, let first = list.first else {
            return LagInsight(verdict: .unknown, trend: trend, consumeRate: 0)
        }
        let span = last.atMs - first.atMs
        let rate = span > 0 ? Double(last.consumed - first.consumed) * 1_000 / Double(span) : 0
        // The snapshot's lag decides "caught up" at once, even between two samples.
        if p.lag == 0 { return LagInsight(verdict: .ok, trend: trend, consumeRate: rate) }
        return LagInsight(verdict: rules.verdict(list), trend: trend, consumeRate: max(0, rate))
    }
}
