/// A partition of cdctop's own whose log no longer agrees with what cdctop read from it, seen while
/// running (the saved state is checked against the ends once at startup, `StateError.topicChanged`).
package struct OffsetRegression: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable {
        /// The end fell below cdctop's position: the broker restarted empty, the topic was deleted and
        /// recreated, or its log was truncated. New messages reuse offsets cdctop already counted; it
        /// reads on from its position, so they are never counted and the totals no longer match the topic.
        case backwards
        /// The log start passed cdctop's position: retention or compaction deleted messages it had not read.
        case deletedUnread = "deleted_unread"
    }

    package var topic: String
    package var partition: Int32
    package var kind: Kind
    /// cdctop's position (the next offset it reads) when it was seen.
    package var position: Int64
    package var end: Int64
    package var logStart: Int64
    /// Offsets involved: position − end (backwards) or log start − position (deleted unread).
    package var messages: Int64
    /// When the condition was first seen, and when it had held long enough to be confirmed.
    package var sinceMs: Int64
    package var detectedAtMs: Int64
    /// The condition still held at the last snapshot. Once confirmed, a regression stays listed for
    /// the rest of the run even when it no longer holds: the state is wrong until it is rebuilt.
    package var ongoing: Bool

    package var partitionName: String { "\(topic)[\(partition)]" }

    /// One line for the Lag view, the alert and the log.
    package var summary: String {
        switch kind {
        case .backwards:
            "\(partitionName) went backwards: its end fell to \(end), below offset \(position) that cdctop had read "
                + "(broker restarted empty, or the topic was deleted and recreated)"
        case .deletedUnread:
            "\(partitionName): \(messages) messages deleted before cdctop read them (log start \(logStart) > position \(position); retention or compaction)"
        }
    }

    /// What to do about it.
    package static let advice =
        "cdctop's totals no longer match the topic: restart it with --state-reset "
        + "(rebuilds from the earliest offsets) or with another --state DIR"
}

/// What the detector found this run, carried by every snapshot.
package struct OffsetRegressionReport: Sendable, Hashable {
    /// The latest regression of each partition, by topic and partition.
    package var regressions: [OffsetRegression] = []
    /// Per partition ("topic[p]"): how many times its offsets went backwards this run.
    package var backwardsCount: [String: Int64] = [:]
    /// Per partition ("topic[p]"): messages deleted before cdctop read them, this run.
    package var deletedUnreadMessages: [String: Int64] = [:]
    package init() {}

    package var isEmpty: Bool { regressions.isEmpty }
    package var backwardsTotal: Int64 { backwardsCount.values.reduce(0, +) }
    package var deletedUnreadTotal: Int64 { deletedUnreadMessages.values.reduce(0, +) }

    package func regression(topic: String, partition: Int32) -> OffsetRegression? {
        regressions.first { $0.topic == topic && $0.partition == partition }
    }

    /// `{"backwards":N,"deleted_unread":N,"advice":"…"|null,"partitions":[{"topic","partition","kind","position",
    /// "end","log_start","messages","since_ms","detected_at_ms","ongoing","summary"}]}`
    package func json() -> String {
        var out = "{\"backwards\":\(backwardsTotal),\"deleted_unread\":\(deletedUnreadTotal),\"advice\":"
        out += isEmpty ? "null" : JSONText.quoted(OffsetRegression.advice)
        out += ",\"partitions\":["
        for (i, r) in regressions.enumerated() {
            if i > 0 { out += "," }
            out += "{\"topic\":\(JSONText.quoted(r.topic)),\"partition\":\(r.partition),\"kind\":\"\(r.kind.rawValue)\""
            out += ",\"position\":\(r.position),\"end\":\(r.end),\"log_start\":\(r.logStart),\"messages\":\(r.messages)"
            out += ",\"since_ms\":\(r.sinceMs),\"detected_at_ms\":\(r.detectedAtMs),\"ongoing\":\(r.ongoing)"
            out += ",\"summary\":\(JSONText.quoted(r.summary))}"
        }
        return out + "]}"
    }
}

/// Watches cdctop's own partitions, one snapshot at a time (the engine's thread): their end and log
/// start as the last fetch reported them against cdctop's position. A condition must hold for
/// `confirmMs` before it counts: during a leader change the new leader may briefly report an end
/// below what the old one served.
package struct OffsetRegressionDetector: Sendable {
    package var confirmMs: Int64
    private var firstSeen: [String: (kind: OffsetRegression.Kind, atMs: Int64)] = [:]
    package private(set) var report = OffsetRegressionReport()

    package init(confirmMs: Int64 = 2_000) { self.confirmMs = confirmMs }

    package mutating func observe(_ partitions: [PartitionLag], nowMs: Int64) {
        var changed = false
        for p in partitions {
            let name = "\(p.topic)[\(p.partition)]"
            let holding: (kind: OffsetRegression.Kind, messages: Int64)?
            if p.position >= 0, p.highWatermark >= 0, p.position > p.highWatermark {
                holding = (.backwards, p.position - p.highWatermark)
            } else if p.position >= 0, p.logStart > p.position {
                holding = (.deletedUnread, p.logStart - p.position)
            } else {
                holding = nil
            }
            let index = report.regressions.firstIndex { $0.topic == p.topic && $0.partition == p.partition }
            guard let holding else {
                firstSeen[name] = nil
                if let index, report.regressions[index].ongoing {
                    report.regressions[index].ongoing = false
                    changed = true
                }
                continue
            }
            if let index, report.regressions[index].ongoing, report.regressions[index].kind == holding.kind {
                // Still the same regression: keep its figures current (more deleted while it lasts is counted).
                var r = report.regressions[index]
                if holding.kind == .deletedUnread, holding.messages > r.messages {
                    report.deletedUnreadMessages[name, default: 0] += holding.messages - r.messages
                }
                r.messages = holding.messages
                r.end = p.highWatermark
                r.logStart = p.logStart
                r.position = p.position
                if r != report.regressions[index] {
                    report.regressions[index] = r
                    changed = true
                }
                continue
            }
            guard let seen = firstSeen[name], seen.kind == holding.kind else {
                firstSeen[name] = (holding.kind, nowMs)
                continue
            }
            guard nowMs - seen.atMs >= confirmMs else { continue }
            let r = OffsetRegression(
                topic: p.topic, partition: p.partition, kind: holding.kind, position: p.position,
                end: p.highWatermark, logStart: p.logStart, messages: holding.messages,
                sinceMs: seen.atMs, detectedAtMs: nowMs, ongoing: true)
            switch holding.kind {
            case .backwards: report.backwardsCount[name, default: 0] += 1
            case .deletedUnread: report.deletedUnreadMessages[name, default: 0] += holding.messages
            }
            if let index { report.regressions[index] = r } else { report.regressions.append(r) }
            changed = true
        }
        if changed { report.regressions.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) } }
    }
}
