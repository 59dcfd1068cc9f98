/// What the alert rules look at, taken from a snapshot and the health monitors at one instant.
/// `nil` means "not known right now" (not configured, or the monitor could not reach its service):
/// alerts of that rule then keep their state instead of resolving or firing on missing data.
package struct AlertFacts: Sendable {
    package struct Connector: Sendable, Hashable {
        package var name: String
        /// Overall state as Kafka Connect reports it (RUNNING, FAILED, PAUSED…), worst of connector and tasks.
        package var state: String
        /// Why it failed (first trace line), when it did.
        package var reason: String?
        package init(name: String, state: String, reason: String? = nil) {
            self.name = name
            self.state = state
            self.reason = reason
        }
    }

    package var nowMs: Int64
    package var connectors: [Connector]?
    /// Newest Debezium heartbeat seen (ms since epoch); 0 when none has been seen.
    package var lastHeartbeatMs: Int64 = 0
    package var partitions: [PartitionLag]?
    package var reconciliation: Reconciliation.Verdict?
    package var reconciliationDetail: String = ""
    /// Malformed messages since start (a running total).
    package var malformedTotal: Int64?
    /// Changes per table since start (running totals).
    package var tableTotals: [String: Int64]?
    /// Other consumer groups (`--lag-groups`); nil when not watched or the last round failed as a whole.
    package var groupLag: GroupLagReport?
    /// cdctop's own Kafka consumer is connected (its state is ok). While it is not (broker unreachable,
    /// still connecting), what cdctop has read says nothing new: the heartbeat and lag rules hold.
    package var kafkaOk: Bool = true
    /// cdctop has read every heartbeat the broker holds: it reached the end of every partition since it
    /// started, and no heartbeat partition has unread messages. Otherwise an old heartbeat means that
    /// cdctop is behind (catching up after a restart), not that the connector stopped: the rule holds.
    package var heartbeatsCurrent: Bool = true
    /// The source's logical replication slots (`--source`); nil when not watched or the last reading
    /// failed (the source unreachable): then slot alerts hold.
    package var replicationSlots: ReplicationSlotReport?
    /// cdctop's own partitions whose offsets went backwards or lost unread messages this run; nil when not known.
    package var offsetRegressions: OffsetRegressionReport?
    /// Snapshots seen this run (rows `op` r and Debezium's notifications); nil when not known.
    package var snapshots: SnapshotProgressReport?

    package init(nowMs: Int64) { self.nowMs = nowMs }

    /// The facts a snapshot carries (lag, heartbeats, malformed, per-table totals); connectors and
    /// reconciliation come from their monitors.
    package init(snapshot s: RunSnapshot, nowMs: Int64) {
        self.nowMs = nowMs
        lastHeartbeatMs = s.kpis.lastHeartbeatMs
        partitions = s.consumer.partitions
        malformedTotal = s.kpis.result.malformed
        var totals: [String: Int64] = [:]
        for t in s.diagnostics.tables { totals[t.table] = t.total }
        tableTotals = totals
        if let g = s.integrations.groupLag, g.error == nil, g.checkedAtMs > 0 { groupLag = g }
        if let r = s.integrations.replicationSlots, r.error == nil, r.checkedAtMs > 0 { replicationSlots = r }
        offsetRegressions = s.consumer.offsetRegressions
        snapshots = s.kpis.snapshots
        kafkaOk = s.consumer.kafka.state == .ok
        heartbeatsCurrent =
            s.consumer.caughtUp
            && s.consumer.partitions.allSatisfy { !$0.topic.hasPrefix("__debezium-heartbeat") || $0.lag == 0 }
    }
}

/// Identity of one alert: the rule and what it is about (connector, topic, table; "" for pipeline-wide).
package struct AlertKey: Sendable, Hashable, Comparable {
    package var kind: AlertKind
    package var subject: String
    package init(_ kind: AlertKind, _ subject: String = "") {
        self.kind = kind
        self.subject = subject
    }
    package static func < (a: AlertKey, b: AlertKey) -> Bool { (a.kind, a.subject) < (b.kind, b.subject) }
    package var description: String { subject.isEmpty ? kind.rawValue : "\(kind.rawValue) \(subject)" }
}

/// One alert as the dashboard lists it and delivery sends it.
package struct Alert: Sendable, Hashable {
    package enum Phase: String, Sendable, Hashable { case pending, firing, resolved }
    package var key: AlertKey
    package var phase: Phase
    /// When the condition first held (pending since).
    package var activeSinceMs: Int64
    /// When it fired (Alertmanager's startsAt); 0 while pending.
    package var firedAtMs: Int64 = 0
    /// When it resolved (endsAt); 0 while pending or firing.
    package var resolvedAtMs: Int64 = 0
    /// Last time the condition held.
    package var lastTrueMs: Int64
    /// One line for humans: "connector shop FAILED: task 0: org.postgresql.util.PSQLException…".
    package var summary: String

    /// Firing (or, once resolved, fired) for this long.
    package func durationMs(nowMs: Int64) -> Int64 {
        guard firedAtMs > 0 else { return 0 }
        return max(0, (resolvedAtMs > 0 ? resolvedAtMs : nowMs) - firedAtMs)
    }
}

/// A change that delivery acts on: an alert fired, or a firing alert resolved.
package struct AlertTransition: Sendable, Hashable {
    package enum Change: String, Sendable, Hashable { case fired, resolved }
    package var change: Change
    package var alert: Alert
}

/// What the dashboard and `--json` show: alerts pending and firing now, and the latest resolved ones.
package struct AlertPanel: Sendable, Hashable {
    /// Pending and firing, firing first, then by rule and subject.
    package var active: [Alert] = []
    /// Resolved alerts, newest last (at most `AlertEvaluator.historyKept`).
    package var history: [Alert] = []
    package var evaluatedAtMs: Int64 = 0
    /// The rules' thresholds, and which of them had their facts at the last evaluation (a rule whose
    /// option is not given, e.g. `--connect`, never has them).
    package var rules: AlertRules = .defaults
    package var watched: Set<AlertKind> = []
    package init() {}
    package var firingCount: Int { active.filter { $0.phase == .firing }.count }
}

/// The alert state machine: inactive → pending (condition holds) → firing (held for `for`) →
/// resolved (false for `keep_firing_for`). Pure: same facts and times in, same transitions out;
/// the caller owns the clock (tests drive it by hand) and runs it off the engine thread, about once a second.
///
/// No storm after a restart: a new evaluator knows nothing, so every alert starts pending and waits out
/// its `for`; resolved alerts of an earlier run are never sent again; the rate and "usually has
/// changes" rules need history this run collected, so they cannot fire at start.
package struct AlertEvaluator: Sendable {
    package let rules: AlertRules
    package static let historyKept = 50
    private var states: [AlertKey: Alert] = [:]
    private var history: [Alert] = []
    /// Malformed totals sampled at each evaluation, oldest first, trimmed to a bit over a minute.
    private var malformedSamples: [(ms: Int64, total: Int64)] = []
    /// Per table: last total seen, when it last changed, and the minutes (epoch minute numbers) with changes.
    private var tableActivity: [String: (total: Int64, lastChangeMs: Int64, activeMinutes: [Int64])] = [:]
    private var startedAtMs: Int64?
    private var watched: Set<AlertKind> = []
    /// cdctop's own partitions' samples and verdicts, as the Lag view keeps them: a partition that stopped
    /// moving pages like another group that did.
    private var ownLag: LagHistory

    /// `lagThresholds`: the profile's `[lag]`, which the Lag view's verdicts use too.
    package init(rules: AlertRules, lagThresholds: LagThresholds = LagThresholds()) {
        self.rules = rules
        ownLag = LagHistory(thresholds: lagThresholds)
    }

    /// Evaluates every rule against `facts` and returns the alerts that fired or resolved.
    package mutating func evaluate(_ facts: AlertFacts) -> [AlertTransition] {
        guard rules.enabled else { return [] }
        let now = facts.nowMs
        if startedAtMs == nil { startedAtMs = now }
        var conditions: [AlertKey: String] = [:]
        var known = Set<AlertKind>()
        /// Alerts whose subject could not be asked this time (a group's query failed): held, not resolved.
        var heldKeys = Set<AlertKey>()

        if let connectors = facts.connectors {
            known.insert(.connectorFailed)
            // The heartbeat age is only the connector's when cdctop reads what the broker holds (no storm
            // of critical alerts during a catch-up after a restart, or while Kafka is unreachable).
            let heartbeatKnown = facts.kafkaOk && facts.heartbeatsCurrent
            if heartbeatKnown { known.insert(.heartbeatStale) }
            for c in connectors {
                if c.state == "FAILED" {
                    conditions[AlertKey(.connectorFailed, c.name)] =
                        "connector \(c.name) FAILED" + (c.reason.map { ": \($0)" } ?? "")
                }
                if heartbeatKnown, c.state == "RUNNING", facts.lastHeartbeatMs > 0,
                    now - facts.lastHeartbeatMs > rules.heartbeatStaleMs
                {
                    conditions[AlertKey(.heartbeatStale, c.name)] =
                        "connector \(c.name) is RUNNING but its last heartbeat is \(TimeText.duration(ms: now - facts.lastHeartbeatMs)) old"
                }
            }
        }
        // Lag during a catch-up is real lag; but with Kafka unreachable the watermarks are stale: hold.
        if let partitions = facts.partitions, facts.kafkaOk {
            known.insert(.lagHigh)
            ownLag.record(partitions, atMs: now)
            var worstByTopic: [String: (ms: Int64, messages: Int64, verdict: LagVerdict)] = [:]
            for p in partitions where p.lag > 0 {
                let lagMs = p.lagMs(nowMs: now)
                let verdict = ownLag.verdict(for: p)
                guard LagRules.isIncident(verdict, lag: p.lag, lagMs: lagMs, alert: rules) else { continue }
                if lagMs > (worstByTopic[p.topic]?.ms ?? -1) { worstByTopic[p.topic] = (lagMs, p.lag, verdict) }
            }
            for (topic, worst) in worstByTopic {
                var summary =
                    "topic \(topic) lags \(TimeText.duration(ms: worst.ms)) (\(worst.messages) messages waiting)"
                if worst.verdict == .stalled || worst.verdict == .stopped {
                    summary +=
                        ", \(worst.verdict.rawValue): cdctop's position has not moved for \(TimeText.duration(ms: ownLag.rules.windowMs))"
                }
                conditions[AlertKey(.lagHigh, topic)] = summary
            }
        }
        if let verdict = facts.reconciliation {
            known.insert(.reconciliationDrift)
            if verdict == .drift {
                conditions[AlertKey(.reconciliationDrift)] =
                    "running totals drift from the source"
                    + (facts.reconciliationDetail.isEmpty ? "" : ": \(facts.reconciliationDetail)")
            }
        }
        if let malformed = facts.malformedTotal {
            known.insert(.malformedRate)
            malformedSamples.append((now, malformed))
            // Keep the newest sample at least a minute old as the base, drop older ones.
            while malformedSamples.count > 1, malformedSamples[1].ms <= now - 60_000 { malformedSamples.removeFirst() }
            let inLastMinute = malformed - malformedSamples[0].total
            if inLastMinute > rules.malformedPerMinute {
                conditions[AlertKey(.malformedRate)] = "\(inLastMinute) malformed messages in the last minute"
            }
        }
        if let totals = facts.tableTotals {
            known.insert(.tableSilent)
            let minute = TimeText.floorDiv(now, 60_000)
            for (table, total) in totals {
                var a = tableActivity[table] ?? (total, now, [])
                if total != a.total {
                    a.total = total
                    a.lastChangeMs = now
                    if a.activeMinutes.last != minute { a.activeMinutes.append(minute) }
                }
                a.activeMinutes.removeAll { $0 <= minute - rules.usualWindowMinutes }
                tableActivity[table] = a
                if now - a.lastChangeMs >= rules.silentAfterMs, Int64(a.activeMinutes.count) >= rules.usualActiveMinutes
                {
                    conditions[AlertKey(.tableSilent, table)] =
                        "table \(table) has had no change for \(TimeText.duration(ms: now - a.lastChangeMs)) (changes in \(a.activeMinutes.count) of the last \(rules.usualWindowMinutes) minutes)"
                }
            }
        }

        if let report = facts.groupLag {
            known.insert(.groupLagging)
            for g in report.groups {
                guard g.error == nil else {
                    heldKeys.insert(AlertKey(.groupLagging, g.group))
                    continue
                }
                if LagRules.isIncident(g.verdict, lag: g.totalLag, lagMs: g.maxLagMs, alert: rules) {
                    // The Lag view's verdict can still be OK when only the alert's own limits are passed.
                    let state = g.verdict == .ok ? "past the alert's limits" : g.verdict.rawValue
                    conditions[AlertKey(.groupLagging, g.group)] =
                        "consumer group \(g.group) is \(state): \(g.totalLag) messages behind, oldest unread \(TimeText.duration(ms: g.maxLagMs)) old"
                }
                if g.deletedUnread > 0 {
                    conditions[AlertKey(.groupLagging, g.group), default: "consumer group \(g.group)"] +=
                        "; \(g.deletedUnread) messages were deleted before it read them (its committed offset is below the log start)"
                }
            }
        }

        if let report = facts.offsetRegressions {
            // Once seen, a regression stays: the totals are wrong until cdctop restarts on a rebuilt state.
            known.insert(.offsetsBackwards)
            for (topic, found) in Dictionary(grouping: report.regressions, by: \.topic) {
                conditions[AlertKey(.offsetsBackwards, topic)] =
                    found.map(\.summary).joined(separator: "; ") + ". " + OffsetRegression.advice
            }
        }

        if let report = facts.snapshots {
            known.insert(.snapshotStalled)
            for run in report.snapshots where run.stalled(nowMs: now, stalledMs: rules.snapshotStalledMs) {
                let table =
                    run.tables.first { $0.state == .running }.map { " (table \($0.table), \($0.rowsRead) rows read)" }
                    ?? ""
                conditions[AlertKey(.snapshotStalled, run.connector)] =
                    "the \(run.kind.rawValue) snapshot of \(run.connector) has read no new row for \(TimeText.duration(ms: now - run.lastActivityMs))\(table): check the connector's task and its log in Kafka Connect"
            }
        }

        if let report = facts.replicationSlots {
            known.insert(.replicationSlotLag)
            for slot in report.slots {
                if let problem = rules.slotProblem(slot, nowMs: now) {
                    conditions[AlertKey(.replicationSlotLag, slot.name)] = problem
                }
            }
        }

        watched = known
        var transitions: [AlertTransition] = []
        for key in Set(states.keys).union(conditions.keys).sorted() {
            let summary = conditions[key]
            if summary == nil, !known.contains(key.kind) || heldKeys.contains(key) { continue }  // unknown facts: hold
            switch (states[key], summary) {
            case (nil, let text?):
                var alert = Alert(key: key, phase: .pending, activeSinceMs: now, lastTrueMs: now, summary: text)
                if rules.forDuration(key.kind) <= 0 { fire(&alert, now: now, into: &transitions) }
                states[key] = alert
            case (var alert?, let text?):
                alert.lastTrueMs = now
                alert.summary = text
                if alert.phase == .pending, now - alert.activeSinceMs >= rules.forDuration(key.kind) {
                    fire(&alert, now: now, into: &transitions)
                }
                states[key] = alert
            case (let alert?, nil):
                if alert.phase == .pending {
                    states[key] = nil
                } else if now - alert.lastTrueMs >= rules.keepFiringForMs {
                    var resolved = alert
                    resolved.phase = .resolved
                    resolved.resolvedAtMs = now
                    transitions.append(AlertTransition(change: .resolved, alert: resolved))
                    history.append(resolved)
                    if history.count > Self.historyKept { history.removeFirst(history.count - Self.historyKept) }
                    states[key] = nil
                }
            case (nil, nil): break
            }
        }
        return transitions
    }

    private func fire(_ alert: inout Alert, now: Int64, into transitions: inout [AlertTransition]) {
        alert.phase = .firing
        alert.firedAtMs = now
        transitions.append(AlertTransition(change: .fired, alert: alert))
    }

    /// Alerts pending and firing now, and the latest resolved ones.
    package func panel(nowMs: Int64) -> AlertPanel {
        var p = AlertPanel()
        p.active = states.values.sorted { a, b in
            if (a.phase == .firing) != (b.phase == .firing) { return a.phase == .firing }
            return a.key < b.key
        }
        p.history = history
        p.evaluatedAtMs = nowMs
        p.rules = rules
        p.watched = watched
        return p
    }

    /// Firing alerts, for periodic re-sending.
    package var firing: [Alert] { states.values.filter { $0.phase == .firing }.sorted { $0.key < $1.key } }
}
