/// The built-in alert rules. Each has a `for` duration (the condition must hold that long before the
/// alert fires) and a threshold where one applies; all of them are set in the profile's `[alerts]`
/// section (see docs/operations.md, "Alerts").
package enum AlertKind: String, Sendable, Hashable, CaseIterable, Comparable {
    /// A connector or one of its tasks is FAILED (Kafka Connect REST, `--connect`).
    case connectorFailed = "CdcConnectorFailed"
    /// A RUNNING connector whose Debezium heartbeats stopped arriving.
    case heartbeatStale = "CdcHeartbeatStale"
    /// A topic whose consumer lag, in seconds of commit time, is above the threshold, or whose partition
    /// cdctop's position stopped moving with lag (STALLED, `LagRules.isIncident`).
    case lagHigh = "CdcLagHigh"
    /// Reconciliation against the source database says the running totals drifted.
    case reconciliationDrift = "CdcReconciliationDrift"
    /// More malformed messages per minute than the threshold.
    case malformedRate = "CdcMalformedRate"
    /// A table that usually has changes has had none for a while.
    case tableSilent = "CdcTableSilent"
    /// Another consumer group (`--lag-groups`) is STALLED or STOPPED, or lags more than `lag_seconds`.
    case groupLagging = "CdcConsumerGroupLagging"
    /// A logical replication slot on the source (`--source`) retains too much WAL, has had no consumer for
    /// too long, or lost its WAL: the incident that fills a database's disk.
    case replicationSlotLag = "CdcReplicationSlotLag"
    /// A partition cdctop reads went backwards (its end fell below what cdctop had read: broker restarted
    /// empty, topic recreated) or lost messages cdctop had not read (log start past its position).
    case offsetsBackwards = "CdcOffsetsBackwards"
    /// A snapshot in progress that read no new row (and got no notification) for `snapshot_stalled_seconds`.
    case snapshotStalled = "CdcSnapshotStalled"

    package static func < (a: AlertKind, b: AlertKind) -> Bool { a.order < b.order }
    var order: Int { AlertKind.allCases.firstIndex(of: self)! }

    /// The label (besides `alertname`) that names what the alert is about; nil for pipeline-wide alerts.
    package var subjectLabel: String? {
        switch self {
        case .connectorFailed, .heartbeatStale: "connector"
        case .lagHigh: "topic"
        case .tableSilent: "table"
        case .groupLagging: "group"
        case .replicationSlotLag: "slot"
        case .offsetsBackwards: "topic"
        case .snapshotStalled: "connector"
        case .reconciliationDrift, .malformedRate: nil
        }
    }

    package var severity: String {
        switch self {
        case .connectorFailed, .heartbeatStale, .reconciliationDrift, .replicationSlotLag, .offsetsBackwards: "critical"
        case .lagHigh, .malformedRate, .tableSilent, .groupLagging, .snapshotStalled: "warning"
        }
    }
}

/// Thresholds and durations of the built-in rules, in milliseconds and counts.
package struct AlertRules: Sendable, Hashable {
    /// False turns every rule off (no evaluation, nothing delivered).
    package var enabled = true
    /// How long a condition must hold before its alert fires, per rule.
    package var forMs: [AlertKind: Int64] = [
        .connectorFailed: 10_000, .heartbeatStale: 30_000, .lagHigh: 60_000,
        .reconciliationDrift: 0, .malformedRate: 60_000, .tableSilent: 0, .groupLagging: 60_000,
        .replicationSlotLag: 60_000, .offsetsBackwards: 0, .snapshotStalled: 0,
    ]
    /// A firing alert resolves only after its condition has been false this long (no flapping).
    package var keepFiringForMs: Int64 = 30_000
    /// Heartbeat age above which a RUNNING connector counts as stuck.
    package var heartbeatStaleMs: Int64 = 60_000
    /// Lag in seconds (now − commit time of the last consumed event, while messages are waiting).
    package var lagSecondsMs: Int64 = 300_000
    /// Malformed messages in the last minute above which the rate alert's condition holds.
    package var malformedPerMinute: Int64 = 10
    /// A table is silent after this long without a change…
    package var silentAfterMs: Int64 = 5 * 60_000
    /// …if it had changes in at least `usualActiveMinutes` of the last `usualWindowMinutes` minutes.
    package var usualWindowMinutes: Int64 = 30
    package var usualActiveMinutes: Int64 = 10
    /// A replication slot retaining more WAL than this (bytes behind its confirmed position) is a problem…
    package var slotRetainedBytes: Int64 = 1 << 30
    /// …and so is one without a consumer for longer than this.
    package var slotInactiveMs: Int64 = 10 * 60_000
    /// A running snapshot with no new row or notification for this long is stalled.
    package var snapshotStalledMs: Int64 = 120_000
    /// How often `--alertmanager` re-sends firing alerts; each post tells Alertmanager to keep them for
    /// three of these (endsAt), so a cdctop that stops sending has its alerts resolved by Alertmanager.
    package var resendMs: Int64 = 60_000

    package init() {}

    package static let defaults = AlertRules()

    package func forDuration(_ kind: AlertKind) -> Int64 { forMs[kind] ?? 0 }

    /// What the rule watches, with its thresholds, for the Alerts view's rule list.
    package func condition(_ kind: AlertKind) -> String {
        func d(_ ms: Int64) -> String { TimeText.duration(ms: ms) }
        switch kind {
        case .connectorFailed: return "a connector or one of its tasks is FAILED"
        case .heartbeatStale: return "a RUNNING connector's last heartbeat is older than \(d(heartbeatStaleMs))"
        case .lagHigh:
            return "a topic's oldest unread change is older than \(d(lagSecondsMs)), or cdctop stopped moving (STALLED)"
        case .reconciliationDrift: return "running totals differ from the source database"
        case .malformedRate: return "more than \(malformedPerMinute) malformed messages in a minute"
        case .tableSilent:
            return
                "no change for \(d(silentAfterMs)) on a table active in \(usualActiveMinutes) of the last \(usualWindowMinutes) minutes"
        case .groupLagging: return "another group is STALLED, STOPPED or more than \(d(lagSecondsMs)) behind"
        case .offsetsBackwards:
            return
                "a partition's end fell below what cdctop had read, or its log start passed it (until cdctop restarts on a reset state)"
        case .snapshotStalled:
            return "a snapshot in progress has read no new row for \(d(snapshotStalledMs))"
        case .replicationSlotLag:
            return
                "a source replication slot retains over \(ReplicationSlotReport.bytesText(slotRetainedBytes)) of WAL, has no consumer for \(d(slotInactiveMs)), or lost WAL"
        }
    }

    /// The option that feeds a rule its facts, when it is not always on.
    package static func neededOption(_ kind: AlertKind) -> String? {
        switch kind {
        case .connectorFailed, .heartbeatStale: "--connect"
        case .reconciliationDrift, .replicationSlotLag: "--source"
        case .groupLagging: "--lag-groups"
        case .lagHigh, .malformedRate, .tableSilent, .offsetsBackwards, .snapshotStalled: nil
        }
    }
}
