/// One lag verdict, decided by one set of rules (`LagRules`) for every consumer cdctop watches:
/// its own partitions (the Lag view, the CdcLagHigh alert, through `LagHistory`) and the other consumer
/// groups of `--lag-groups` (the Lag view, `--json`, `/metrics`, the CdcConsumerGroupLagging alert).
/// Which verdicts page is `LagRules.isIncident`, the same for both alerts.
package enum LagVerdict: String, Sendable, Hashable, CaseIterable {
    /// No lag, or lag below the thresholds (or not held long enough to be an incident).
    case ok = "OK"
    /// Above `messages` AND `seconds` in every one of the last `samples` samples (and, for another
    /// group, over its whole window: a sink committing every minute dips at each commit).
    case lagging = "LAGGING"
    /// Lag in every sample of the window, and the consumer did not move over it.
    case stalled = "STALLED"
    /// Did not move over the window while the lag grew, or (another group) no member left, with lag.
    case stopped = "STOPPED"
    /// Not enough samples yet to tell, or the group could not be asked.
    case unknown = "UNKNOWN"

    /// Higher is worse: a group's verdict is its worst partition's.
    package var severity: Int {
        switch self {
        case .ok: 0
        case .unknown: 1
        case .lagging: 2
        case .stalled: 3
        case .stopped: 4
        }
    }
}

/// Where one partition's consumer stood at one moment.
package struct LagSample: Sendable, Hashable {
    package var atMs: Int64
    /// What the consumer has consumed: cdctop's position, or another group's committed offset.
    package var consumed: Int64
    /// Messages behind the end of the partition.
    package var lag: Int64
    /// How far behind in time while there is lag (0 without lag, or when not known).
    package var lagMs: Int64

    package init(atMs: Int64, consumed: Int64, lag: Int64, lagMs: Int64 = 0) {
        self.atMs = atMs
        self.consumed = consumed
        self.lag = lag
        self.lagMs = lagMs
    }
    /// Another group's samples: what it consumed is its committed offset.
    package init(atMs: Int64, committed: Int64, lag: Int64, lagMs: Int64 = 0) {
        self.init(atMs: atMs, consumed: committed, lag: lag, lagMs: lagMs)
    }
    package var committed: Int64 {
        get { consumed }
        set { consumed = newValue }
    }
}

/// The verdict rules, over one partition's samples (oldest first), in this order:
/// 1. no lag in the newest sample: OK (a consumer that caught up is OK at once);
/// 2. with lag, a group the broker says has no member: STOPPED;
/// 3. fewer than 2 samples, or fewer than `minimumSpanMs` of them: UNKNOWN;
/// 4. the consumer did not move since the newest sample at least `windowMs` old, with lag in every
///    sample since: STOPPED if the lag grew (other groups), STALLED if not; not moved but the samples do not span the
///    window yet: UNKNOWN (a group commits every so often: Kafka Connect every 60 s);
/// 5. in each of the last `thresholds.samples` samples (and every sample of the last `sustainMs`),
///    lag above `thresholds.messages` AND `lagMs` above `thresholds.seconds`: LAGGING;
/// 6. OK.
/// Samples with the same figures get the same verdict, whatever came before the window.
package struct LagRules: Sendable, Hashable {
    package var thresholds: LagThresholds
    package var windowMs: Int64
    package var minimumSpanMs: Int64
    package var sustainMs: Int64
    /// Tell STOPPED (lag grew while not moving) from STALLED. cdctop's own consumer is running whenever it
    /// is asked, so a position that does not move is STALLED for it, whatever the lag did.
    package var distinguishesStopped: Bool

    package init(
        thresholds: LagThresholds = LagThresholds(), windowMs: Int64, minimumSpanMs: Int64 = 0, sustainMs: Int64 = 0,
        distinguishesStopped: Bool = true
    ) {
        self.thresholds = thresholds
        self.windowMs = windowMs
        self.minimumSpanMs = minimumSpanMs
        self.sustainMs = sustainMs
        self.distinguishesStopped = distinguishesStopped
    }

    /// cdctop's own partitions: one sample a second, a 30 s window, 5 s before a verdict.
    package static func ownConsumer(_ thresholds: LagThresholds) -> LagRules {
        LagRules(
            thresholds: thresholds, windowMs: 30_000, minimumSpanMs: 5_000, sustainMs: 0, distinguishesStopped: false)
    }

    /// Another consumer group, sampled every few seconds: the LAGGING condition must also hold over the
    /// whole window, so a healthy sink whose lag saws up between commits is never called LAGGING.
    package static func otherGroup(_ thresholds: LagThresholds, windowMs: Int64) -> LagRules {
        LagRules(thresholds: thresholds, windowMs: windowMs, minimumSpanMs: 0, sustainMs: windowMs)
    }

    package func verdict(_ samples: [LagSample], groupEmpty: Bool = false) -> LagVerdict {
        guard let last = samples.last else { return .unknown }
        if last.lag <= 0 { return .ok }
        if groupEmpty { return .stopped }
        guard samples.count >= 2, last.atMs - samples[0].atMs >= minimumSpanMs else { return .unknown }
        // The base: the newest sample at least a window old (the first when none is).
        let baseIndex = samples.dropLast().lastIndex { $0.atMs <= last.atMs - windowMs } ?? 0
        let base = samples[baseIndex]
        if last.consumed == base.consumed, samples[baseIndex...].allSatisfy({ $0.lag > 0 }) {
            guard last.atMs - base.atMs >= windowMs else { return .unknown }
            return distinguishesStopped && last.lag > base.lag ? .stopped : .stalled
        }
        var held = 0
        for s in samples.reversed() {
            let within = held < thresholds.samples || s.atMs >= last.atMs - sustainMs
            guard within else { break }
            guard thresholds.exceeded(lag: s.lag, lagMs: s.lagMs) else { return .ok }
            held += 1
        }
        // Fewer samples than the debounce needs, or than the sustain time covers: not yet.
        let covered = samples.count > held || sustainMs == 0 || last.atMs - samples[0].atMs >= sustainMs
        return held >= thresholds.samples && covered ? .lagging : .ok
    }
}

extension LagThresholds {
    /// Behind: more than `messages` waiting AND older than `seconds`. The one test of "behind", for the
    /// Lag view's LAGGING (the profile's `[lag]`, for `samples` samples) and for the lag alerts
    /// (`AlertRules.lagExceeded`: any message, `lag_seconds`; their `for` is the debounce).
    package func exceeded(lag: Int64, lagMs: Int64) -> Bool {
        Self.behind(lag: lag, lagMs: lagMs, moreThan: messages, olderThanMs: seconds * 1_000)
    }

    /// The test itself, in messages and milliseconds: each caller passes its thresholds in the unit it holds them.
    package static func behind(lag: Int64, lagMs: Int64, moreThan messages: Int64, olderThanMs ms: Int64) -> Bool {
        lag > messages && lagMs > ms
    }
}

extension LagRules {
    /// Whether a partition's or a group's lag is an incident (CdcLagHigh, CdcConsumerGroupLagging): its
    /// verdict says it does not move (STALLED, STOPPED), or its lag passes the alert's thresholds,
    /// whatever the Lag view's own thresholds say (the alert's are the incident's: `lag_seconds`).
    package static func isIncident(_ verdict: LagVerdict, lag: Int64, lagMs: Int64, alert: AlertRules) -> Bool {
        verdict == .stalled || verdict == .stopped || alert.lagExceeded(lag: lag, lagMs: lagMs)
    }
}

extension PartitionLag {
    /// What cdctop has consumed of the partition: its position, else its group's committed offset.
    package var consumed: Int64 { position >= 0 ? position : max(committed, 0) }

    /// cdctop's lag in time: now − the commit time of the newest event it consumed, while messages
    /// wait (0 without lag, or before the first event). The one definition for the Lag view, the
    /// alerts and `/metrics`.
    package func lagMs(nowMs: Int64) -> Int64 { lag > 0 && lastCommitTimeMs > 0 ? max(0, nowMs - lastCommitTimeMs) : 0 }

    /// This partition's sample for the verdict, taken at `nowMs`.
    package func lagSample(atMs nowMs: Int64) -> LagSample {
        LagSample(atMs: nowMs, consumed: consumed, lag: lag, lagMs: lagMs(nowMs: nowMs))
    }
}

/// cdctop's own partitions' recent samples, at most one a second each, and their verdicts by
/// `LagRules.ownConsumer`: what the Lag view (`LagTracker`) and the CdcLagHigh alert judge, alike.
package struct LagHistory: Sendable {
    package var thresholds: LagThresholds
    package var rules: LagRules { LagRules.ownConsumer(thresholds) }
    /// Samples per partition (`LagHistory.key`), oldest first.
    package private(set) var samples: [String: [LagSample]] = [:]

    package init(thresholds: LagThresholds = LagThresholds()) { self.thresholds = thresholds }

    package static func key(_ p: PartitionLag) -> String { "\(p.topic)[\(p.partition)]" }

    /// Records every partition's sample at `now`. Returns, per partition, whether it got a new sample
    /// (within a second of the last one, the sample replaces it).
    @discardableResult
    package mutating func record(_ partitions: [PartitionLag], atMs now: Int64) -> [Bool] {
        let rules = rules
        var added: [Bool] = []
        added.reserveCapacity(partitions.count)
        for p in partitions {
            let k = LagHistory.key(p)
            let sample = p.lagSample(atMs: now)
            var list = samples[k, default: []]
            // One sample per second is plenty and bounds memory at high snapshot rates.
            if let last = list.last, now - last.atMs < 1_000 {
                list[list.count - 1] = LagSample(
                    atMs: last.atMs, consumed: max(last.consumed, sample.consumed), lag: sample.lag,
                    lagMs: sample.lagMs)
                added.append(false)
            } else {
                list.append(sample)
                added.append(true)
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
        return added
    }

    /// The partition's verdict now: OK at once when the snapshot says no lag (even between two samples).
    package func verdict(for p: PartitionLag) -> LagVerdict {
        if p.lag == 0 { return .ok }
        return rules.verdict(samples[LagHistory.key(p)] ?? [])
    }
}

extension AlertRules {
    /// The lag alerts' "behind": any message waiting longer than `lag_seconds` (their `for` debounces),
    /// compared in milliseconds as the rules hold it (a whole-second copy would round 1.5 s down to 1 s).
    package func lagExceeded(lag: Int64, lagMs: Int64) -> Bool {
        LagThresholds.behind(lag: lag, lagMs: lagMs, moreThan: 0, olderThanMs: lagSecondsMs)
    }
}
