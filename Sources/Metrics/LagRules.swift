/// One lag verdict, decided by one set of rules (`LagRules`) for every consumer cdctop watches:
/// its own partitions (the Lag view) and the other consumer groups of `--lag-groups` (the Lag view,
/// `--json`, `/metrics`, the CdcConsumerGroupLagging alert).
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
            guard s.lag > thresholds.messages && s.lagMs > thresholds.seconds * 1_000 else { return .ok }
            held += 1
        }
        // Fewer samples than the debounce needs, or than the sustain time covers: not yet.
        let covered = samples.count > held || sustainMs == 0 || last.atMs - samples[0].atMs >= sustainMs
        return held >= thresholds.samples && covered ? .lagging : .ok
    }
}
