import Foundation
import Metrics
import Testing

/// The alert state machine under a hand-driven clock: every time below is a chosen millisecond.
@Suite struct AlertEvaluatorTests {
    static let t0: Int64 = 1_800_000_000_000

    static func connectors(_ states: [(String, String)], at now: Int64, heartbeat: Int64 = 0) -> AlertFacts {
        var f = AlertFacts(nowMs: now)
        f.connectors = states.map {
            AlertFacts.Connector(name: $0.0, state: $0.1, reason: $0.1 == "FAILED" ? "task 0: boom" : nil)
        }
        f.lastHeartbeatMs = heartbeat
        return f
    }

    @Test func firesOnlyAfterForAndResolvesOnceAfterKeepFiringFor() {
        var rules = AlertRules()
        rules.forMs[.connectorFailed] = 10_000
        rules.keepFiringForMs = 5_000
        var e = AlertEvaluator(rules: rules)
        let t0 = Self.t0
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: t0)).isEmpty)
        #expect(e.panel(nowMs: t0).active.map(\.phase) == [.pending])
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: t0 + 9_999)).isEmpty)
        let fired = e.evaluate(Self.connectors([("shop", "FAILED")], at: t0 + 10_000))
        #expect(fired.map(\.change) == [.fired])
        #expect(fired.first?.alert.key == AlertKey(.connectorFailed, "shop"))
        #expect(fired.first?.alert.firedAtMs == t0 + 10_000)
        #expect(fired.first?.alert.summary == "connector shop FAILED: task 0: boom")
        // Still failing: no second "fired".
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: t0 + 11_000)).isEmpty)
        // Recovers, then fails again within keep_firing_for: no resolve, no re-fire (no flapping).
        #expect(e.evaluate(Self.connectors([("shop", "RUNNING")], at: t0 + 12_000)).isEmpty)
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: t0 + 14_000)).isEmpty)
        #expect(e.evaluate(Self.connectors([("shop", "RUNNING")], at: t0 + 15_000)).isEmpty)
        #expect(e.evaluate(Self.connectors([("shop", "RUNNING")], at: t0 + 18_999)).isEmpty)
        let resolved = e.evaluate(Self.connectors([("shop", "RUNNING")], at: t0 + 19_000))
        #expect(resolved.map(\.change) == [.resolved])
        #expect(resolved.first?.alert.resolvedAtMs == t0 + 19_000)
        #expect(resolved.first?.alert.durationMs(nowMs: 0) == 9_000)
        #expect(e.evaluate(Self.connectors([("shop", "RUNNING")], at: t0 + 60_000)).isEmpty)
        let panel = e.panel(nowMs: t0 + 60_000)
        #expect(panel.active.isEmpty && panel.firingCount == 0)
        #expect(panel.history.count == 1 && panel.history[0].firedAtMs == t0 + 10_000)
    }

    @Test func pendingThatClearsNeverFires() {
        var e = AlertEvaluator(rules: AlertRules())
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: Self.t0)).isEmpty)
        #expect(e.evaluate(Self.connectors([("shop", "RUNNING")], at: Self.t0 + 5_000)).isEmpty)
        #expect(e.panel(nowMs: Self.t0 + 5_000).active.isEmpty)
        // The pending clock restarts: 9 s after failing again is still not 10 s.
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: Self.t0 + 6_000)).isEmpty)
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: Self.t0 + 15_000)).isEmpty)
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: Self.t0 + 16_000)).map(\.change) == [.fired])
    }

    @Test func unknownFactsHoldTheState() {
        var rules = AlertRules()
        rules.forMs[.connectorFailed] = 0
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        #expect(e.evaluate(Self.connectors([("shop", "FAILED")], at: Self.t0)).map(\.change) == [.fired])
        // The Connect worker cannot be reached: nothing is known, nothing resolves.
        #expect(e.evaluate(AlertFacts(nowMs: Self.t0 + 60_000)).isEmpty)
        #expect(e.panel(nowMs: Self.t0 + 60_000).firingCount == 1)
        // A deleted connector's alert resolves (known facts, no such failure).
        #expect(e.evaluate(Self.connectors([], at: Self.t0 + 61_000)).map(\.change) == [.resolved])
    }

    @Test func restartStartsPendingSoNoStorm() {
        // A fresh evaluator (a restart) facing a long-failed connector waits out `for` again,
        // and a condition that cleared before the restart produces nothing at all.
        var e = AlertEvaluator(rules: AlertRules())
        #expect(e.evaluate(Self.connectors([("a", "FAILED"), ("b", "RUNNING")], at: Self.t0)).isEmpty)
        #expect(e.evaluate(Self.connectors([("a", "FAILED"), ("b", "RUNNING")], at: Self.t0 + 10_000)).count == 1)
    }

    @Test func heartbeatStaleOnlyForRunningConnectors() {
        var rules = AlertRules()
        rules.heartbeatStaleMs = 60_000
        rules.forMs[.heartbeatStale] = 0
        var e = AlertEvaluator(rules: rules)
        let t0 = Self.t0
        #expect(e.evaluate(Self.connectors([("shop", "RUNNING")], at: t0, heartbeat: t0 - 60_000)).isEmpty)
        let fired = e.evaluate(
            Self.connectors([("shop", "RUNNING"), ("paused", "PAUSED")], at: t0 + 1, heartbeat: t0 - 60_000))
        #expect(fired.map(\.alert.key) == [AlertKey(.heartbeatStale, "shop")])
        // No heartbeat topic followed (0): never stale.
        var other = AlertEvaluator(rules: rules)
        #expect(other.evaluate(Self.connectors([("shop", "RUNNING")], at: t0, heartbeat: 0)).isEmpty)
    }

    @Test func lagSecondsPerTopicOnlyWhileMessagesWait() {
        var rules = AlertRules()
        rules.lagSecondsMs = 300_000
        rules.forMs[.lagHigh] = 0
        var e = AlertEvaluator(rules: rules)
        let t0 = Self.t0
        var f = AlertFacts(nowMs: t0)
        f.partitions = [
            PartitionLag(
                topic: "shop.public.transaction", partition: 0, position: 90, highWatermark: 100,
                lastCommitTimeMs: t0 - 301_000),
            PartitionLag(
                topic: "shop.public.transaction", partition: 1, position: 50, highWatermark: 100,
                lastCommitTimeMs: t0 - 10_000),
            // Old commit time but nothing waiting: a quiet topic, not a lagging one.
            PartitionLag(
                topic: "shop.public.product", partition: 0, position: 100, highWatermark: 100,
                lastCommitTimeMs: t0 - 900_000),
        ]
        let fired = e.evaluate(f)
        #expect(fired.map(\.alert.key) == [AlertKey(.lagHigh, "shop.public.transaction")])
        #expect(fired.first?.alert.summary == "topic shop.public.transaction lags 5m01s (10 messages waiting)")
    }

    /// Issue 21 item 5: one lag verdict. A partition of cdctop's own whose position stops moving with
    /// messages waiting is STALLED in the Lag view, and CdcLagHigh pages on that same verdict, although its
    /// lag in seconds is far below `lag_seconds`; it resolves once the position moves and the lag is gone.
    @Test func ownPartitionThatStopsMovingPagesAsTheLagViewSaysStalled() {
        var rules = AlertRules()
        rules.forMs[.lagHigh] = 0
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        var lagView = LagHistory()
        let t0 = Self.t0
        func facts(at now: Int64, position: Int64, end: Int64) -> AlertFacts {
            var f = AlertFacts(nowMs: now)
            f.partitions = [
                PartitionLag(
                    topic: "shop.public.transaction", partition: 0, position: position, highWatermark: end,
                    lastCommitTimeMs: t0 - 20_000)
            ]
            return f
        }
        var fired: [AlertTransition] = []
        var firstFiredAt: Int64?
        for second in Int64(0)...40 {
            let f = facts(at: t0 + second * 1_000, position: 500, end: 900)
            lagView.record(f.partitions!, atMs: f.nowMs)
            let changes = e.evaluate(f)
            if !changes.isEmpty, firstFiredAt == nil { firstFiredAt = second }
            fired += changes
            // The alert fires exactly when the Lag view's verdict turns STALLED, not before.
            #expect((lagView.verdict(for: f.partitions![0]) == .stalled) == (firstFiredAt != nil), "second \(second)")
        }
        #expect(firstFiredAt == 30, "STALLED after the 30-s window without moving")
        #expect(
            fired.map(\.change) == [.fired] && fired.first?.alert.key == AlertKey(.lagHigh, "shop.public.transaction"))
        #expect(fired.first?.alert.summary.contains("400 messages waiting), STALLED") == true, "\(fired)")
        // It reads on and catches up: OK in the Lag view, resolved here.
        let caughtUp = facts(at: t0 + 41_000, position: 900, end: 900)
        #expect(lagView.verdict(for: caughtUp.partitions![0]) == .ok)
        #expect(e.evaluate(caughtUp).map(\.change) == [.resolved])
    }

    /// The lag alerts and the Lag view test "behind" with one predicate (`LagThresholds.behind`), each with
    /// its own thresholds: the profile's `[lag]` for LAGGING, `lag_seconds` (any message) for the alerts.
    @Test func oneBehindPredicateForTheVerdictAndTheAlerts() {
        let view = LagThresholds(messages: 1_000, seconds: 10, samples: 5)
        #expect(view.exceeded(lag: 1_001, lagMs: 10_001) && !view.exceeded(lag: 1_000, lagMs: 60_000))
        #expect(!view.exceeded(lag: 90_000, lagMs: 10_000))
        var alert = AlertRules()
        alert.lagSecondsMs = 60_000
        #expect(alert.lagExceeded(lag: 1, lagMs: 60_001) && !alert.lagExceeded(lag: 0, lagMs: 600_000))
        #expect(!alert.lagExceeded(lag: 5_000, lagMs: 60_000))
        // STALLED and STOPPED page whatever the age; LAGGING, OK and UNKNOWN only past the alert's thresholds.
        #expect(LagRules.isIncident(.stalled, lag: 1, lagMs: 0, alert: alert))
        #expect(LagRules.isIncident(.stopped, lag: 1, lagMs: 0, alert: alert))
        #expect(!LagRules.isIncident(.lagging, lag: 5_000, lagMs: 59_000, alert: alert))
        #expect(LagRules.isIncident(.ok, lag: 10, lagMs: 61_000, alert: alert))
        #expect(!LagRules.isIncident(.unknown, lag: 10, lagMs: 1_000, alert: alert))
        // The threshold is compared in the milliseconds it is held in: 1.5 s is not cut to 1 s on the way.
        alert.lagSecondsMs = 1_500
        #expect(!LagRules.isIncident(.ok, lag: 10, lagMs: 1_200, alert: alert))
        #expect(!LagRules.isIncident(.lagging, lag: 10, lagMs: 1_500, alert: alert))
        #expect(LagRules.isIncident(.lagging, lag: 10, lagMs: 1_501, alert: alert))
    }

    @Test func malformedPerMinute() {
        var rules = AlertRules()
        rules.malformedPerMinute = 10
        rules.forMs[.malformedRate] = 0
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        func at(_ s: Int64, _ total: Int64) -> [AlertTransition] {
            var f = AlertFacts(nowMs: Self.t0 + s * 1000)
            f.malformedTotal = total
            return e.evaluate(f)
        }
        // 500 malformed before this run started are history, not a rate.
        #expect(at(0, 500).isEmpty)
        #expect(at(30, 505).isEmpty)
        #expect(at(50, 510).isEmpty)  // 10 in the last minute: not above 10
        #expect(at(55, 511).map(\.change) == [.fired])
        // The base is now the 30 s sample (505): 7 in the last minute, so it resolves (keep_firing_for 0).
        #expect(at(100, 512).map(\.change) == [.resolved])
        #expect(e.panel(nowMs: 0).history.count == 1)
    }

    @Test func silentTableOnlyWhenItUsuallyHasChanges() {
        var rules = AlertRules()
        rules.silentAfterMs = 5 * 60_000
        rules.usualWindowMinutes = 30
        rules.usualActiveMinutes = 10
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        var busy: Int64 = 0
        var transitions: [(Int64, AlertTransition)] = []
        // Minutes 0–11: `busy` changes every 30 s, `rare` once; then both stop.
        for second in stride(from: Int64(0), through: 20 * 60, by: 30) {
            if second < 12 * 60 { busy += 3 }
            var f = AlertFacts(nowMs: Self.t0 - Self.t0 % 60_000 + second * 1000)
            f.tableTotals = ["busy": busy, "rare": second >= 60 ? 1 : 0]
            transitions += e.evaluate(f).map { (second, $0) }
        }
        #expect(transitions.map(\.1.alert.key) == [AlertKey(.tableSilent, "busy")])
        // Last change at 11:30, silent at 16:30 (5 minutes later).
        let firedAtSecond: Int64 = transitions.first.map { $0.0 } ?? -1
        #expect(firedAtSecond == 16 * 60 + 30)
        // It changes again: resolves.
        var f = AlertFacts(nowMs: Self.t0 - Self.t0 % 60_000 + 21 * 60_000)
        f.tableTotals = ["busy": busy + 1, "rare": 1]
        #expect(e.evaluate(f).map(\.change) == [.resolved])
    }

    @Test func reconciliationDriftAndDisabledRules() {
        var e = AlertEvaluator(rules: AlertRules())
        var f = AlertFacts(nowMs: Self.t0)
        f.reconciliation = .drift
        f.reconciliationDetail = "engine 10 tx, source 11"
        let fired = e.evaluate(f)
        #expect(fired.map(\.alert.key) == [AlertKey(.reconciliationDrift)])
        #expect(fired.first?.alert.summary == "running totals drift from the source: engine 10 tx, source 11")
        var off = AlertRules()
        off.enabled = false
        var disabled = AlertEvaluator(rules: off)
        #expect(disabled.evaluate(f).isEmpty && disabled.panel(nowMs: Self.t0).active.isEmpty)
    }

    @Test func alertmanagerJSON() {
        var e = AlertEvaluator(
            rules: {
                var r = AlertRules()
                r.forMs[.connectorFailed] = 0
                r.keepFiringForMs = 0
                return r
            }())
        let t = Int64(1_767_225_600_000)  // 2026-01-01T00:00:00Z
        let fired = e.evaluate(Self.connectors([("shop", "FAILED")], at: t))[0].alert
        #expect(
            fired.json(pipeline: "p1")
                == #"{"labels":{"alertname":"CdcConnectorFailed","connector":"shop","pipeline":"p1","service":"cdctop","severity":"critical"},"annotations":{"summary":"connector shop FAILED: task 0: boom"},"startsAt":"2026-01-01T00:00:00.000Z"}"#
        )
        let resolved = e.evaluate(Self.connectors([("shop", "RUNNING")], at: t + 1_500))[0].alert
        #expect(resolved.json(pipeline: "p1", withStatus: true).hasPrefix(#"{"status":"resolved","labels":"#))
        #expect(
            resolved.json(pipeline: "p1").hasSuffix(
                #""startsAt":"2026-01-01T00:00:00.000Z","endsAt":"2026-01-01T00:00:01.500Z"}"#))
        let panel = e.panel(nowMs: t + 2_000).json()
        #expect(
            panel.hasPrefix(
                #"{"firing":0,"active":[],"history":[{"alertname":"CdcConnectorFailed","subject":"shop","state":"resolved""#
            ))
        #expect(panel.contains(#""resolved_ms":1767225601500,"duration_ms":1500"#))
    }

    @Test func profileAlertsSection() throws {
        let base = "[sale]\ntable=\"t\"\nkey=\"k\"\namount=\"a\"\n"
        let p = try KPIProfile(
            tomlText: base
                + "[alerts]\nlag_seconds = 120\nlag_for_seconds = 5\nkeep_firing_for_seconds = 0\nenabled = false\n",
            file: "a")
        #expect(p.alerts.lagSecondsMs == 120_000 && p.alerts.forDuration(.lagHigh) == 5_000)
        #expect(p.alerts.keepFiringForMs == 0 && !p.alerts.enabled)
        #expect(p.alerts.forDuration(.connectorFailed) == 10_000)
        #expect(throws: ConfigFileError.self) { try KPIProfile(tomlText: base + "[alerts]\nlag_secs = 1\n", file: "a") }
        #expect(throws: ConfigFileError.self) {
            try KPIProfile(tomlText: base + "[alerts]\nlag_seconds = -1\n", file: "a")
        }
        #expect(throws: ConfigFileError.self) {
            try KPIProfile(tomlText: base + "[alerts]\ntable_usual_active_minutes = 40\n", file: "a")
        }
    }

    /// A restored heartbeat time is old after a restart; while cdctop catches up, or cannot reach Kafka,
    /// that age is cdctop's, not the connector's: the critical heartbeat alert must not fire (no storm).
    @Test func heartbeatRuleHoldsWhileCdctopIsBehindOrKafkaIsDown() {
        var rules = AlertRules()
        rules.forMs[.heartbeatStale] = 0
        rules.forMs[.lagHigh] = 0
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        let t0 = Self.t0
        func facts(
            at now: Int64, kafka: ServiceStatus.State = .ok, caughtUp: Bool = true, heartbeatLag: Int64 = 0,
            dataLag: Int64 = 0
        ) -> AlertFacts {
            var s = RunSnapshot(result: KPIResult(windowMs: 30_000))
            s.consumer.kafka = ServiceStatus(kafka)
            s.consumer.caughtUp = caughtUp
            s.kpis.lastHeartbeatMs = t0 - 120_000
            s.consumer.partitions = [
                PartitionLag(
                    topic: "__debezium-heartbeat.shop", partition: 0, position: 10, highWatermark: 10 + heartbeatLag,
                    lastCommitTimeMs: t0 - 120_000),
                PartitionLag(
                    topic: "shop.public.transaction", partition: 0, position: 5, highWatermark: 5 + dataLag,
                    lastCommitTimeMs: t0 - 400_000),
            ]
            var f = AlertFacts(snapshot: s, nowMs: now)
            f.connectors = [.init(name: "shop", state: "RUNNING")]
            return f
        }
        // Catching up after a restart: unread heartbeats wait; the real lag fires, the heartbeat rule holds.
        #expect(
            e.evaluate(facts(at: t0, caughtUp: false, heartbeatLag: 3, dataLag: 495)).map(\.alert.key)
                == [AlertKey(.lagHigh, "shop.public.transaction")])
        #expect(!e.panel(nowMs: t0).watched.contains(.heartbeatStale))
        // Kafka unreachable: the watermarks are stale (no lag seen), so nothing resolves and nothing fires.
        #expect(e.evaluate(facts(at: t0 + 1_000, kafka: .error)).isEmpty)
        #expect(e.panel(nowMs: t0 + 1_000).firingCount == 1)
        // Back, caught up once, but a heartbeat is still unread: the lag resolves, the heartbeat rule still holds.
        #expect(e.evaluate(facts(at: t0 + 2_000, heartbeatLag: 1)).map(\.change) == [.resolved])
        // Every heartbeat read and the newest is 2 min old: now it is the connector's.
        let fired = e.evaluate(facts(at: t0 + 3_000))
        #expect(fired.map(\.alert.key) == [AlertKey(.heartbeatStale, "shop")] && fired.map(\.change) == [.fired])
    }
}

/// What one evaluation costs (printed, not asserted: timing depends on the machine). The monitor runs it
/// once a second on its own thread, so its share of a core is this figure divided by a second.
/// `swift test -c release --filter AlertEvaluatorCost` for the release figure.
@Suite struct AlertEvaluatorCost {
    @Test func steadyFactsCostMicroseconds() {
        var e = AlertEvaluator(rules: AlertRules())
        let start = Int64(1_800_000_000_000)
        var partitions: [PartitionLag] = []
        for t in 0..<8 {
            for p in Int32(0)..<12 {
                partitions.append(
                    PartitionLag(
                        topic: "shop.public.table\(t)", partition: p, position: 100, highWatermark: 150,
                        lastCommitTimeMs: start - 1_000))
            }
        }
        var facts = AlertFacts(nowMs: start)
        facts.partitions = partitions
        facts.connectors = (0..<4).map { AlertFacts.Connector(name: "c\($0)", state: "RUNNING") }
        facts.lastHeartbeatMs = start
        facts.reconciliation = .agree
        facts.malformedTotal = 0
        facts.tableTotals = Dictionary(uniqueKeysWithValues: (0..<16).map { ("table\($0)", Int64(0)) })
        let evaluations = 20_000
        var transitions = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for i in 0..<evaluations {
                facts.nowMs = start + Int64(i) * 1_000
                facts.lastHeartbeatMs = facts.nowMs
                facts.malformedTotal = Int64(i / 10)
                for k in 0..<16 { facts.tableTotals!["table\(k)"]! += Int64(i % 7) }
                // Reading on, 50 messages behind: a position that stood still would be STALLED (and page).
                for j in partitions.indices {
                    facts.partitions![j].lastCommitTimeMs = facts.nowMs - 1_000
                    facts.partitions![j].position += 10
                    facts.partitions![j].highWatermark += 10
                }
                transitions += e.evaluate(facts).count
            }
        }
        #expect(transitions == 0)
        let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
        print(
            "AlertEvaluator: \(evaluations) evaluations (96 partitions, 16 tables, 4 connectors): "
                + "\(String(format: "%.1f", micros / Double(evaluations))) µs each, i.e. "
                + "\(String(format: "%.4f", micros / Double(evaluations) / 1e4))% of one core at one evaluation per second"
        )
    }
}
