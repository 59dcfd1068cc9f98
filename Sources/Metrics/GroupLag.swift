/// Lag of the pipeline's OTHER consumer groups (`--lag-groups`), as Burrow reports it. Filled by
/// `GroupLagMonitor` (Pipeline) on its own thread; shown in the Lag view, `--json` and `/metrics`.

/// Burrow-style status of another consumer group over a sliding window of samples.
public enum GroupLagVerdict: String, Sendable, Hashable, CaseIterable {
    /// No lag, or lag that the group's commits are working down.
    case ok = "OK"
    /// Lag grew over the window although the group commits.
    case lagging = "LAGGING"
    /// The committed offset did not move over the window while there is lag (the group is there but stuck).
    case stalled = "STALLED"
    /// No commits while the lag grows, or the group has no member left, with lag.
    case stopped = "STOPPED"
    /// Not enough samples yet, or the group could not be asked.
    case unknown = "UNKNOWN"

    /// Higher is worse: a group's verdict is its worst partition's.
    public var severity: Int {
        switch self {
        case .ok: 0
        case .unknown: 1
        case .lagging: 2
        case .stalled: 3
        case .stopped: 4
        }
    }
}

/// One partition of another consumer group.
public struct GroupPartitionLag: Sendable, Hashable {
    public var group: String
    public var topic: String
    public var partition: Int32
    /// Committed offset (next to read); -1 when the group committed nothing there.
    public var committed: Int64
    public var highWatermark: Int64
    /// highWatermark − committed (− the low watermark when nothing is committed).
    public var lag: Int64
    /// now − timestamp of the message at the committed offset, when there is lag; 0 otherwise.
    public var lagMs: Int64
    public var verdict: GroupLagVerdict

    public init(group: String, topic: String, partition: Int32, committed: Int64, highWatermark: Int64, lag: Int64,
                lagMs: Int64, verdict: GroupLagVerdict) {
        self.group = group; self.topic = topic; self.partition = partition; self.committed = committed
        self.highWatermark = highWatermark; self.lag = lag; self.lagMs = lagMs; self.verdict = verdict
    }
}

/// One group's summary.
public struct GroupLagSummary: Sendable, Hashable {
    public var group: String
    public var verdict: GroupLagVerdict
    public var totalLag: Int64
    /// The largest partition lag in time.
    public var maxLagMs: Int64
    /// The group's state as the broker reports it (Stable, Empty, …); "" when unknown.
    public var state: String
    public var members: Int
    public var error: String?

    public init(group: String, verdict: GroupLagVerdict, totalLag: Int64, maxLagMs: Int64, state: String, members: Int,
                error: String? = nil) {
        self.group = group; self.verdict = verdict; self.totalLag = totalLag; self.maxLagMs = maxLagMs
        self.state = state; self.members = members; self.error = error
    }
}

/// What the monitor last found, for the Lag view, `--json` (`lag_groups`) and `/metrics`.
public struct GroupLagReport: Sendable, Hashable {
    public var groups: [GroupLagSummary] = []
    /// Sorted by group, topic, partition.
    public var partitions: [GroupPartitionLag] = []
    public var checkedAtMs: Int64 = 0
    /// Why the last round failed as a whole (brokers unreachable, …).
    public var error: String?
    /// Groups a `--lag-groups` regex matched beyond the monitor's cap (50), not watched.
    public var unwatchedGroups: Int = 0
    public init() {}

    /// `[{"group","status","state","members","lag","lag_seconds","error","partitions":[{"topic","partition","committed","high_watermark","lag","lag_seconds","status"}]}]`
    public func json() -> String {
        var out = "["
        for (i, g) in groups.enumerated() {
            if i > 0 { out += "," }
            out += "{\"group\":\(JSONText.quoted(g.group)),\"status\":\"\(g.verdict.rawValue)\",\"state\":\(JSONText.quoted(g.state))"
            out += ",\"members\":\(g.members),\"lag\":\(g.totalLag),\"lag_seconds\":\(Double(g.maxLagMs) / 1000)"
            out += ",\"error\":\(g.error.map(JSONText.quoted) ?? "null"),\"partitions\":["
            for (j, p) in partitions.filter({ $0.group == g.group }).enumerated() {
                if j > 0 { out += "," }
                out += "{\"topic\":\(JSONText.quoted(p.topic)),\"partition\":\(p.partition),\"committed\":\(p.committed)"
                out += ",\"high_watermark\":\(p.highWatermark),\"lag\":\(p.lag),\"lag_seconds\":\(Double(p.lagMs) / 1000)"
                out += ",\"status\":\"\(p.verdict.rawValue)\"}"
            }
            out += "]}"
        }
        return out + "]"
    }
}

/// A sample of one partition, for the sliding-window verdict.
public struct GroupLagSample: Sendable, Hashable {
    public var atMs: Int64
    public var committed: Int64
    public var lag: Int64
    public init(atMs: Int64, committed: Int64, lag: Int64) { self.atMs = atMs; self.committed = committed; self.lag = lag }
}

/// The verdict rules (Burrow's, simplified), over the samples of one partition, oldest first.
public enum GroupLagRules {
    /// Decides from the first and last of at least two samples; `groupEmpty`: the broker says the group
    /// has no member. A committed offset that did not move says STALLED or STOPPED only once the samples
    /// span `windowMs` (a group commits every so often: Kafka Connect every 60 s); before, UNKNOWN.
    public static func verdict(_ samples: [GroupLagSample], groupEmpty: Bool, windowMs: Int64 = 0) -> GroupLagVerdict {
        guard let last = samples.last else { return .unknown }
        if last.lag == 0 { return .ok }
        if groupEmpty { return .stopped }
        guard samples.count >= 2, let first = samples.first else { return .unknown }
        let committedMoved = last.committed != first.committed
        if !committedMoved {
            guard last.atMs - first.atMs >= windowMs else { return .unknown }
            return last.lag > first.lag ? .stopped : .stalled
        }
        return last.lag > first.lag ? .lagging : .ok
    }

    /// Adds a sample and trims the window: the oldest kept is the newest one at least `windowMs` old
    /// (the base the verdict compares with); in between, samples closer than a 32nd of the window are
    /// merged, so a partition holds about 34 samples whatever the query interval.
    public static func append(_ sample: GroupLagSample, to samples: inout [GroupLagSample], windowMs: Int64) {
        if samples.count >= 3, sample.atMs - samples[samples.count - 2].atMs < windowMs / 32 {
            samples[samples.count - 1] = sample
        } else {
            samples.append(sample)
        }
        while samples.count > 2, samples[1].atMs <= sample.atMs - windowMs { samples.removeFirst() }
    }
}

