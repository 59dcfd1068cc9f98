import Metrics
import Testing

/// `--lag-groups` feeds the alert rules: a STALLED or STOPPED group (or one lagging more than
/// `lag_seconds`) fires CdcConsumerGroupLagging after its `for`, and resolves once it is OK again.
@Suite struct GroupLagAlertTests {
    static let t0: Int64 = 1_800_000_000_000

    static func facts(_ verdict: GroupLagVerdict, lagMs: Int64 = 5_000, at now: Int64, error: String? = nil)
        -> AlertFacts
    {
        var report = GroupLagReport()
        report.checkedAtMs = now
        report.groups = [
            GroupLagSummary(
                group: "jdbc-sink", verdict: verdict, totalLag: verdict == .ok ? 0 : 120,
                maxLagMs: verdict == .ok ? 0 : lagMs, state: "Stable", members: 1, error: error)
        ]
        var s = RunSnapshot(result: KPIResult(windowMs: 30_000))
        s.integrations.groupLag = report
        return AlertFacts(snapshot: s, nowMs: now)
    }

    @Test func stalledGroupFiresAfterForAndResolves() {
        var rules = AlertRules()
        rules.forMs[.groupLagging] = 10_000
        rules.keepFiringForMs = 5_000
        var e = AlertEvaluator(rules: rules)
        #expect(e.evaluate(Self.facts(.stalled, at: Self.t0)).isEmpty)
        let fired = e.evaluate(Self.facts(.stalled, at: Self.t0 + 10_000))
        #expect(fired.map(\.change) == [.fired])
        #expect(fired.first?.alert.key == AlertKey(.groupLagging, "jdbc-sink"))
        #expect(fired.first?.alert.summary.contains("jdbc-sink is STALLED: 120 messages behind") == true)
        // A round that could not ask the group holds the alert instead of resolving it.
        #expect(e.evaluate(Self.facts(.ok, at: Self.t0 + 11_000, error: "coordinator not available")).isEmpty)
        #expect(e.evaluate(Self.facts(.ok, at: Self.t0 + 12_000)).isEmpty)
        #expect(e.evaluate(Self.facts(.ok, at: Self.t0 + 17_000)).map(\.change) == [.resolved])
    }

    @Test func lagInSecondsAboveTheThresholdFiresEvenWhileCommitting() {
        var rules = AlertRules()
        rules.forMs[.groupLagging] = 0
        rules.lagSecondsMs = 60_000
        var e = AlertEvaluator(rules: rules)
        #expect(e.evaluate(Self.facts(.lagging, lagMs: 59_000, at: Self.t0)).isEmpty)
        #expect(e.evaluate(Self.facts(.lagging, lagMs: 61_000, at: Self.t0 + 1_000)).map(\.change) == [.fired])
        #expect(AlertKind.groupLagging.subjectLabel == "group")
    }

    @Test func aGroupTheLagViewCallsOKButPastTheAlertsLimitSaysSo() {
        var rules = AlertRules()
        rules.forMs[.groupLagging] = 0
        rules.lagSecondsMs = 2_000
        var e = AlertEvaluator(rules: rules)
        var facts = Self.facts(.ok, at: Self.t0)
        facts.groupLag!.groups[0].totalLag = 2_988
        facts.groupLag!.groups[0].maxLagMs = 3_000
        let fired = e.evaluate(facts)
        #expect(fired.map(\.change) == [.fired])
        let summary = fired.first?.alert.summary ?? ""
        #expect(summary.contains("jdbc-sink is past the alert's limits: 2988 messages behind"), "\(summary)")
        #expect(!summary.contains("is OK"), "\(summary)")
    }

    @Test func aGroupWhoseQueryFailedHoldsItsFiringAlertInsteadOfResolvingIt() {
        var rules = AlertRules()
        rules.forMs[.groupLagging] = 0
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        #expect(e.evaluate(Self.facts(.stalled, at: Self.t0)).map(\.change) == [.fired])
        // The group could not be asked (its coordinator moved): unknown, so the alert neither resolves…
        #expect(e.evaluate(Self.facts(.unknown, at: Self.t0 + 1_000, error: "coordinator not available")).isEmpty)
        #expect(e.panel(nowMs: Self.t0 + 1_000).firingCount == 1)
        // …nor fires again when the next answer still says STALLED (no flap).
        #expect(e.evaluate(Self.facts(.stalled, at: Self.t0 + 2_000)).isEmpty)
        #expect(e.evaluate(Self.facts(.ok, at: Self.t0 + 3_000)).map(\.change) == [.resolved])
    }

    @Test func messagesDeletedBeforeTheGroupReadThemAreSaidInItsAlert() {
        var rules = AlertRules()
        rules.forMs[.groupLagging] = 0
        var e = AlertEvaluator(rules: rules)
        var f = Self.facts(.ok, at: Self.t0)
        f.groupLag?.groups[0].deletedUnread = 200
        let fired = e.evaluate(f)
        #expect(fired.map(\.change) == [.fired])
        #expect(
            fired.first?.alert.summary.contains("200 messages were deleted before it read them") == true, "\(fired)")
    }
}

/// Issue 22 item 5: the default CdcOffsetsBackwards rule, fed by the engine's detector through the snapshot.
@Suite struct OffsetsBackwardsAlertTests {
    static let t0: Int64 = 1_800_000_000_000

    static func snapshot(_ detector: OffsetRegressionDetector) -> RunSnapshot {
        var s = RunSnapshot(result: KPIResult(windowMs: 30_000))
        s.consumer.offsetRegressions = detector.report
        return s
    }

    @Test func firesAtOnceAndStaysUntilRestart() throws {
        var e = AlertEvaluator(rules: .defaults)
        var d = OffsetRegressionDetector()
        let healthy = PartitionLag(
            topic: "shop.public.orders", partition: 2, committed: 40, position: 46, highWatermark: 46)
        d.observe([healthy], nowMs: Self.t0)
        #expect(e.evaluate(AlertFacts(snapshot: Self.snapshot(d), nowMs: Self.t0)).isEmpty)
        var emptied = healthy
        emptied.highWatermark = 0
        d.observe([emptied], nowMs: Self.t0 + 1_000)
        #expect(e.evaluate(AlertFacts(snapshot: Self.snapshot(d), nowMs: Self.t0 + 1_000)).isEmpty, "not confirmed yet")
        d.observe([emptied], nowMs: Self.t0 + 3_000)
        let fired = e.evaluate(AlertFacts(snapshot: Self.snapshot(d), nowMs: Self.t0 + 3_000))
        let alert = try #require(fired.first)
        #expect(fired.count == 1 && alert.change == .fired)
        #expect(alert.alert.key == AlertKey(.offsetsBackwards, "shop.public.orders"))
        #expect(AlertKind.offsetsBackwards.subjectLabel == "topic" && AlertKind.offsetsBackwards.severity == "critical")
        #expect(
            alert.alert.summary.contains("shop.public.orders[2] went backwards: its end fell to 0, below offset 46"))
        #expect(alert.alert.summary.contains("--state-reset"))
        // The end grows back past the position: the totals are still wrong, the alert keeps firing.
        var refilled = healthy
        refilled.highWatermark = 80
        d.observe([refilled], nowMs: Self.t0 + 10_000)
        #expect(e.evaluate(AlertFacts(snapshot: Self.snapshot(d), nowMs: Self.t0 + 600_000)).isEmpty)
        #expect(e.panel(nowMs: Self.t0 + 600_000).firingCount == 1)
        #expect(e.panel(nowMs: Self.t0 + 600_000).watched.contains(.offsetsBackwards))
    }
}
