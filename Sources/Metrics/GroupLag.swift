/// Lag of the pipeline's OTHER consumer groups (`--lag-groups`), as Burrow reports it. Filled by
/// `GroupLagMonitor` (Pipeline) on its own thread; shown in the Lag view, `--json` and `/metrics`.

/// Another group's verdict is the same as cdctop's own (`LagVerdict`, decided by `LagRules`).
package typealias GroupLagVerdict = LagVerdict

/// One partition of another consumer group.
package struct GroupPartitionLag: Sendable, Hashable {
    package var group: String
    package var topic: String
    package var partition: Int32
    /// Committed offset (next to read); -1 when the group committed nothing there.
    package var committed: Int64
    package var highWatermark: Int64
    /// The oldest offset the partition still holds (its log start); -1 when not known.
    package var logStart: Int64
    /// highWatermark − committed (− the log start when nothing is committed): messages deleted before
    /// the group read them still count, they are what it missed.
    package var lag: Int64
    /// Messages deleted (retention, compaction) before the group read them: log start − committed, when
    /// the committed offset is below the log start. The group will never see them.
    package var deletedUnread: Int64
    /// now − timestamp of the message at the committed offset, when there is lag; 0 otherwise.
    package var lagMs: Int64
    package var verdict: GroupLagVerdict

    package init(
        group: String, topic: String, partition: Int32, committed: Int64, highWatermark: Int64, lag: Int64,
        lagMs: Int64, verdict: GroupLagVerdict, logStart: Int64 = -1, deletedUnread: Int64 = 0
    ) {
        self.group = group
        self.topic = topic
        self.partition = partition
        self.committed = committed
        self.highWatermark = highWatermark
        self.lag = lag
        self.lagMs = lagMs
        self.verdict = verdict
        self.logStart = logStart
        self.deletedUnread = deletedUnread
    }

    /// Lag = end − committed (end − log start when nothing is committed), and the messages deleted
    /// before the group read them.
    package static func lag(committed: Int64, logStart: Int64, end: Int64) -> (lag: Int64, deletedUnread: Int64) {
        guard end >= 0 else { return (0, 0) }
        guard committed >= 0 else { return (max(0, end - max(logStart, 0)), 0) }
        return (max(0, end - committed), logStart > committed ? logStart - committed : 0)
    }
}

/// One group's summary.
package struct GroupLagSummary: Sendable, Hashable {
    package var group: String
    package var verdict: GroupLagVerdict
    package var totalLag: Int64
    /// The largest partition lag in time.
    package var maxLagMs: Int64
    /// The group's state as the broker reports it (Stable, Empty, …); "" when unknown.
    package var state: String
    package var members: Int
    package var error: String?
    /// Messages deleted before the group read them, over its partitions.
    package var deletedUnread: Int64 = 0

    package init(
        group: String, verdict: GroupLagVerdict, totalLag: Int64, maxLagMs: Int64, state: String, members: Int,
        error: String? = nil
    ) {
        self.group = group
        self.verdict = verdict
        self.totalLag = totalLag
        self.maxLagMs = maxLagMs
        self.state = state
        self.members = members
        self.error = error
    }
}

/// What the monitor last found, for the Lag view, `--json` (`lag_groups`) and `/metrics`.
package struct GroupLagReport: Sendable, Hashable {
    package var groups: [GroupLagSummary] = []
    /// Sorted by group, topic, partition.
    package var partitions: [GroupPartitionLag] = []
    package var checkedAtMs: Int64 = 0
    /// Why the last round failed as a whole (brokers unreachable, …).
    package var error: String?
    /// Groups a `--lag-groups` regex matched beyond the monitor's cap (50), not watched.
    package var unwatchedGroups: Int = 0
    package init() {}

    /// `[{"group","status","state","members","lag","lag_seconds","deleted_unread","error","partitions":[{"topic","partition",
    /// "committed","log_start","high_watermark","lag","lag_seconds","deleted_unread","status"}]}]`
    package func json() -> String {
        var out = "["
        for (i, g) in groups.enumerated() {
            if i > 0 { out += "," }
            out +=
                "{\"group\":\(JSONText.quoted(g.group)),\"status\":\"\(g.verdict.rawValue)\",\"state\":\(JSONText.quoted(g.state))"
            out += ",\"members\":\(g.members),\"lag\":\(g.totalLag),\"lag_seconds\":\(Double(g.maxLagMs) / 1000)"
            out += ",\"deleted_unread\":\(g.deletedUnread)"
            out += ",\"error\":\(g.error.map(JSONText.quoted) ?? "null"),\"partitions\":["
            for (j, p) in partitions.filter({ $0.group == g.group }).enumerated() {
                if j > 0 { out += "," }
                out +=
                    "{\"topic\":\(JSONText.quoted(p.topic)),\"partition\":\(p.partition),\"committed\":\(p.committed)"
                out += ",\"log_start\":\(p.logStart),\"high_watermark\":\(p.highWatermark),\"lag\":\(p.lag)"
                out += ",\"lag_seconds\":\(Double(p.lagMs) / 1000),\"deleted_unread\":\(p.deletedUnread)"
                out += ",\"status\":\"\(p.verdict.rawValue)\"}"
            }
            out += "]}"
        }
        return out + "]"
    }
}

/// A sample of one partition of another group (its committed offset is what it consumed).
package typealias GroupLagSample = LagSample

/// The window of samples another group's verdict looks at; the verdict itself is `LagRules`'.
package enum GroupLagRules {
    /// `LagRules.otherGroup`: `groupEmpty`, the broker says the group has no member; a committed offset
    /// that did not move says STALLED or STOPPED only once the samples span `windowMs`.
    package static func verdict(
        _ samples: [GroupLagSample], groupEmpty: Bool, windowMs: Int64 = 0,
        thresholds: LagThresholds = LagThresholds()
    ) -> GroupLagVerdict {
        LagRules.otherGroup(thresholds, windowMs: windowMs).verdict(samples, groupEmpty: groupEmpty)
    }

    /// Adds a sample and trims the window: the oldest kept is the newest one at least `windowMs` old
    /// (the base the verdict compares with); in between, samples closer than a 32nd of the window are
    /// merged, so a partition holds about 34 samples whatever the query interval.
    package static func append(_ sample: GroupLagSample, to samples: inout [GroupLagSample], windowMs: Int64) {
        if samples.count >= 3, sample.atMs - samples[samples.count - 2].atMs < windowMs / 32 {
            samples[samples.count - 1] = sample
        } else {
            samples.append(sample)
        }
        while samples.count > 2, samples[1].atMs <= sample.atMs - windowMs { samples.removeFirst() }
    }
}
