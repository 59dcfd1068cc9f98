import Metrics

/// Lag verdicts, debounced so a burst or one slow fetch never raises a false alarm:
/// - LAGGING: for the last `thresholds.samples` one-second samples in a row, the lag stayed above
///   `thresholds.messages` AND the newest consumed commit was older than `thresholds.seconds`
///   (the profile's `[lag]` section);
/// - STALLED: lag > 0 in every sample of the window and the position did not move during it;
/// - OK otherwise (… while fewer than `minimumSpanMs` of samples exist and there is lag).
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
    struct Sample: Sendable, Hashable {
        var atMs: Int64; var consumed: Int64; var lag: Int64
        /// Age of the newest consumed commit while there is lag (0 without lag or commit time).
        var lagMs: Int64 = 0
    }

    var windowMs: Int64 = 30_000
    var minimumSpanMs: Int64 = 5_000
    var trendLength = 120
    var thresholds = LagThresholds()
    private(set) var samples: [String: [Sample]] = [:]
    private(set) var trends: [String: [Int64]] = [:]

    static func key(_ p: PartitionLag) -> String { "\(p.topic)[\(p.partition)]" }

    mutating func record(_ partitions: [PartitionLag], atMs now: Int64) {
        for p in partitions {
            let k = LagTracker.key(p)
            let consumed = p.position >= 0 ? p.position : max(p.committed, 0)
            let lagMs = p.lag > 0 && p.lastCommitTimeMs > 0 ? max(0, now - p.lastCommitTimeMs) : 0
            var list = samples[k, default: []]
            // One sample per second is plenty and bounds memory at high snapshot rates.
            if let last = list.last, now - last.atMs < 1_000 {
                list[list.count - 1] = Sample(atMs: last.atMs, consumed: max(last.consumed, consumed), lag: p.lag, lagMs: lagMs)
            } else {
                list.append(Sample(atMs: now, consumed: consumed, lag: p.lag, lagMs: lagMs))
                trends[k, default: []].append(p.lag)
                if trends[k]!.count > trendLength { trends[k]!.removeFirst(trends[k]!.count - trendLength) }
            }
            // Keep the window, and at least the samples the debounce needs.
            if let firstKept = list.firstIndex(where: { now - $0.atMs <= windowMs }), firstKept > 1,
               list.count - (firstKept - 1) >= thresholds.samples {
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
        // Sample times only grow: the window's samples are the ones after dropping the older ones (no copy per frame).
        if progressed <= 0, list.drop(while: { $0.atMs < first.atMs }).allSatisfy({ $0.lag > 0 }) {
            return LagInsight(verdict: .stalled, trend: trend, consumeRate: 0)
        }
        let recent = list.suffix(thresholds.samples)
        let lagging = recent.count >= thresholds.samples
            && recent.allSatisfy { $0.lag > thresholds.messages && $0.lagMs > thresholds.seconds * 1_000 }
        return LagInsight(verdict: lagging ? .lagging : .ok, trend: trend, consumeRate: rate)
    }
}

/// One sample per second of the figures the trend charts draw (events/s, lag, lag in seconds,
/// freshness), the last `capacity` seconds, fed by the run loop with each new snapshot.
struct TrendHistory: Sendable {
    struct Sample: Sendable, Hashable {
        var atMs: Int64
        var eventsPerSecond: Double
        /// -1 while the lag is unknown (Kafka not connected).
        var lag: Int64
        var lagSecondsMax: Double
        var freshnessSeconds: Double
    }

    var capacity = 600
    private(set) var samples: [Sample] = []

    mutating func record(_ s: KPISnapshot, atMs now: Int64) {
        let known = s.kafka.state == .ok && !s.partitions.isEmpty
        let lagMs = s.partitions.map { $0.lag > 0 && $0.lastCommitTimeMs > 0 ? now - $0.lastCommitTimeMs : 0 }.max() ?? 0
        let sample = Sample(atMs: now, eventsPerSecond: s.eventsPerSecond, lag: known ? s.totalLag : -1,
                            lagSecondsMax: Double(max(0, lagMs)) / 1_000,
                            freshnessSeconds: s.maxCommitTimeMs > 0 ? Double(max(0, now - s.maxCommitTimeMs)) / 1_000 : 0)
        if let last = samples.last, now - last.atMs < 1_000 {
            var merged = sample
            merged.atMs = last.atMs
            samples[samples.count - 1] = merged
        } else {
            samples.append(sample)
            if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
        }
    }
}
