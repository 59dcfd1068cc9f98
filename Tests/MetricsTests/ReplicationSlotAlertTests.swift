import Metrics
import Testing

/// `CdcReplicationSlotLag`: a source slot retaining too much WAL, without a consumer for too long, or
/// having lost WAL fires; it resolves when the slot catches up or a consumer attaches again.
@Suite struct ReplicationSlotAlertTests {
    static let t0: Int64 = 1_763_899_200_000

    static func slot(
        _ name: String = "debezium", retained: Int64? = 1_000, active: Bool = true, inactiveSinceMs: Int64 = 0,
        walStatus: String? = "reserved"
    ) -> ReplicationSlot {
        ReplicationSlot(
            name: name, plugin: "pgoutput", database: "shop", active: active, activePID: active ? 4242 : nil,
            confirmedFlushLSN: "0/1000", restartLSN: "0/F00", retainedBytes: retained,
            restartRetainedBytes: retained.map { $0 + 256 }, walStatus: walStatus,
            lastAdvanceMs: t0, inactiveSinceMs: inactiveSinceMs)
    }

    static func facts(_ slots: [ReplicationSlot], nowMs: Int64) -> AlertFacts {
        var report = ReplicationSlotReport()
        report.slots = slots
        report.checkedAtMs = nowMs
        var f = AlertFacts(nowMs: nowMs)
        f.replicationSlots = report
        return f
    }

    @Test func retainedWALOverTheThresholdFiresAfterItsForAndResolvesWhenTheSlotCatchesUp() {
        var rules = AlertRules()
        rules.slotRetainedBytes = 10_000
        rules.forMs[.replicationSlotLag] = 30_000
        rules.keepFiringForMs = 5_000
        var e = AlertEvaluator(rules: rules)
        let t0 = Self.t0
        #expect(e.evaluate(Self.facts([Self.slot(retained: 10_000)], nowMs: t0)).isEmpty)  // at the threshold: not over
        #expect(e.panel(nowMs: t0).active.isEmpty)
        #expect(e.evaluate(Self.facts([Self.slot(retained: 10_001)], nowMs: t0 + 1_000)).isEmpty)
        #expect(e.panel(nowMs: t0 + 1_000).active.first?.phase == .pending)
        let fired = e.evaluate(Self.facts([Self.slot(retained: 50_000)], nowMs: t0 + 31_000))
        #expect(fired.map(\.change) == [.fired])
        #expect(fired.first?.alert.key == AlertKey(.replicationSlotLag, "debezium"))
        #expect(
            fired.first?.alert.summary
                == "replication slot debezium (shop, pgoutput) retains 49 KiB of WAL (over 9.8 KiB)")
        // Caught up: resolved once it stayed below for keep_firing_for.
        #expect(e.evaluate(Self.facts([Self.slot(retained: 0)], nowMs: t0 + 32_000)).isEmpty)
        let resolved = e.evaluate(Self.facts([Self.slot(retained: 0)], nowMs: t0 + 37_000))
        #expect(resolved.map(\.change) == [.resolved])
        #expect(e.panel(nowMs: t0 + 37_000).active.isEmpty)
        #expect(e.panel(nowMs: t0 + 37_000).watched.contains(.replicationSlotLag))
    }

    @Test func aSlotWithoutConsumerFiresAfterTheInactiveMinutesAndResolvesWhenOneAttaches() {
        var rules = AlertRules()
        rules.forMs[.replicationSlotLag] = 0
        rules.keepFiringForMs = 0
        #expect(rules.slotInactiveMs == 10 * 60_000 && rules.slotRetainedBytes == 1 << 30)  // the defaults
        var e = AlertEvaluator(rules: rules)
        let t0 = Self.t0
        let idle = Self.slot(active: false, inactiveSinceMs: t0)
        #expect(e.evaluate(Self.facts([idle], nowMs: t0 + 10 * 60_000)).isEmpty)  // exactly M minutes: not more
        let fired = e.evaluate(Self.facts([idle], nowMs: t0 + 10 * 60_000 + 1_000))
        #expect(fired.map(\.change) == [.fired])
        #expect(fired.first?.alert.summary.contains("has had no consumer for at least 10m") == true)
        #expect(e.evaluate(Self.facts([Self.slot(active: true)], nowMs: t0 + 11 * 60_000)).map(\.change) == [.resolved])
    }

    @Test func lostWALFiresAndADroppedSlotResolves() {
        var rules = AlertRules()
        rules.forMs[.replicationSlotLag] = 0
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        let fired = e.evaluate(Self.facts([Self.slot("a"), Self.slot("b", walStatus: "lost")], nowMs: Self.t0))
        #expect(fired.map(\.alert.key) == [AlertKey(.replicationSlotLag, "b")])
        #expect(fired.first?.alert.summary.contains("wal_status lost") == true)
        #expect(e.evaluate(Self.facts([Self.slot("a")], nowMs: Self.t0 + 1_000)).map(\.change) == [.resolved])
    }

    @Test func anUnreadableSourceHoldsTheAlertInsteadOfResolvingIt() {
        var rules = AlertRules()
        rules.forMs[.replicationSlotLag] = 0
        rules.keepFiringForMs = 0
        rules.slotRetainedBytes = 100
        var e = AlertEvaluator(rules: rules)
        #expect(e.evaluate(Self.facts([Self.slot(retained: 1_000)], nowMs: Self.t0)).map(\.change) == [.fired])
        // The snapshot carries the report with its error: the facts leave the slots out, the alert holds.
        var s = RunSnapshot(result: KPIResult(windowMs: 30_000))
        var report = ReplicationSlotReport()
        report.checkedAtMs = Self.t0
        report.error = "could not connect to server"
        s.integrations.replicationSlots = report
        let facts = AlertFacts(snapshot: s, nowMs: Self.t0 + 60_000)
        #expect(facts.replicationSlots == nil)
        #expect(e.evaluate(facts).isEmpty)
        #expect(e.firing.map(\.key) == [AlertKey(.replicationSlotLag, "debezium")])
        #expect(!e.panel(nowMs: Self.t0 + 60_000).watched.contains(.replicationSlotLag))
    }

    @Test func thresholdsComeFromTheProfilesAlertsSection() throws {
        let base = "[sale]\ntable=\"t\"\nkey=\"k\"\namount=\"a\"\n"
        let p = try KPIProfile(
            tomlText: base
                + "[alerts]\nslot_retained_bytes = 5_368_709_120\nslot_inactive_minutes = 3\nslot_for_seconds = 7\n",
            file: "a")
        #expect(p.alerts.slotRetainedBytes == 5 << 30)
        #expect(p.alerts.slotInactiveMs == 180_000)
        #expect(p.alerts.forDuration(.replicationSlotLag) == 7_000)
        #expect(p.alerts.condition(.replicationSlotLag).contains("5.0 GiB"))
        #expect(try KPIProfile(tomlText: base, file: "a").alerts.forDuration(.replicationSlotLag) == 60_000)
        #expect(throws: ConfigFileError.self) {
            try KPIProfile(tomlText: base + "[alerts]\nslot_retained_bytes = -1\n", file: "a")
        }
        #expect(throws: ConfigFileError.self) {
            try KPIProfile(tomlText: base + "[alerts]\nslot_retained_bytes = \"1GB\"\n", file: "a")
        }
        #expect(
            AlertKind.replicationSlotLag.subjectLabel == "slot" && AlertKind.replicationSlotLag.severity == "critical")
        #expect(AlertRules.neededOption(.replicationSlotLag) == "--source")
    }

    @Test func bytesInHumanUnits() {
        #expect(ReplicationSlotReport.bytesText(0) == "0 B")
        #expect(ReplicationSlotReport.bytesText(1023) == "1023 B")
        #expect(ReplicationSlotReport.bytesText(1536) == "1.5 KiB")
        #expect(ReplicationSlotReport.bytesText(1 << 30) == "1.0 GiB")
        #expect(ReplicationSlotReport.bytesText(3 * (1 << 30) / 2) == "1.5 GiB")
        #expect(ReplicationSlotReport.bytesText(700 * 1024 * 1024) == "700 MiB")
    }
}
