import Foundation
import Testing

@testable import App
@testable import Metrics

/// The Connections panel's bookkeeping (errors kept, attempts, retries, log lines), the connecting
/// screen and the headless JSON's lag and services.
@Suite struct ConnectionsTests {
    static let t0: Int64 = 1_763_899_200_000

    @Test func boardKeepsTheErrorVerbatimCountsAttemptsAndLogsChanges() {
        var board = ConnectionBoard()
        var log = board.update(
            [ServiceProbe(name: "kafka", target: "h:1", status: ServiceStatus(.connecting, "listing topics"))],
            nowMs: Self.t0)
        #expect(log == ["kafka: connecting h:1"])
        let refused =
            "h:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)"
        log = board.update(
            [ServiceProbe(name: "kafka", target: "h:1", status: ServiceStatus(.error, refused))], nowMs: Self.t0 + 1_000
        )
        #expect(log == ["kafka: connecting -> error after 1.0s: \(refused)"])
        #expect(board.entry("kafka")?.attempts == 1)
        #expect(board.entry("kafka")?.lastError == refused)
        // The service's own count wins when it has one (librdkafka's errors, Redis' failed connects).
        var again = ServiceStatus(
            .error, refused + " · retry in 2.0 s", error: refused, attempts: 4, nextRetryAtMs: Self.t0 + 4_000)
        log = board.update([ServiceProbe(name: "kafka", target: "h:1", status: again)], nowMs: Self.t0 + 2_000)
        #expect(board.entry("kafka")?.attempts == 4)
        #expect(board.entry("kafka")?.nextRetryAtMs == Self.t0 + 4_000)
        #expect(log == ["kafka: attempt 4 failed, retry at 12:00:04 UTC"])
        // Recovered: attempts reset, the last error stays with its time.
        again = ServiceStatus(.ok, "h:1")
        log = board.update([ServiceProbe(name: "kafka", target: "h:1", status: again)], nowMs: Self.t0 + 3_000)
        #expect(log == ["kafka: error -> ok after 2.0s"])
        let e = board.entry("kafka")!
        #expect(e.attempts == 0 && e.lastError == refused && e.lastErrorAtMs == Self.t0 + 2_000 && e.nextRetryAtMs == 0)
        let json = try? JSONSerialization.jsonObject(with: Data(board.json().utf8)) as? [String: [String: Any]]
        #expect(json?["kafka"]?["state"] as? String == "ok")
        #expect(json?["kafka"]?["error"] as? String == refused)
        #expect(json?["kafka"]?["since_ms"] as? Int64 == Self.t0 + 3_000)
    }

    @Test func connectingScreenShowsTheAttemptTheErrorInFullAndTheOtherServices() {
        var board = ConnectionBoard()
        let longError =
            "h:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT, 3 identical error(s) suppressed) END"
        _ = board.update(
            [ServiceProbe(name: "kafka", target: "127.0.0.1:1", status: ServiceStatus(.connecting, "listing topics"))],
            nowMs: Self.t0 - 9_000)
        _ = board.update(
            [
                ServiceProbe(
                    name: "kafka", target: "127.0.0.1:1",
                    status: ServiceStatus(.error, longError, error: longError, attempts: 7)),
                ServiceProbe(
                    name: "redis", target: "127.0.0.1:2/0",
                    status: ServiceStatus(
                        .error, "cannot connect to Redis · retry in 2.0 s", error: "cannot connect to Redis",
                        attempts: 3, nextRetryAtMs: Self.t0 + 2_000)),
            ], nowMs: Self.t0)
        var frame = DashboardFrame(snapshot: nil, nowMs: Self.t0)
        frame.connections = board.entries
        let screen = DashboardRenderer.render(DashboardModel(), frame, width: 80, height: 24).0.text
        #expect(screen.contains("Connecting to Kafka 127.0.0.1:1"))
        #expect(screen.contains("attempt 7"))
        // The error is wrapped, never cut: its last word is on screen.
        #expect(screen.contains("END"), "\(screen)")
        #expect(screen.contains("Redis 127.0.0.1:2/0  error for 0ms · attempt 3 · next retry in 2.0s"), "\(screen)")
        #expect(screen.contains("c connections"))
        // The `c` panel lists the same over any view.
        var model = DashboardModel()
        _ = model.handle(.char("c"))
        frame.snapshot = Fixture.snapshot
        let panel = DashboardRenderer.render(model, frame, width: 100, height: 30).0.text
        #expect(
            panel.contains("Connections · c or Esc closes") && panel.contains("END")
                && panel.contains("librdkafka retries by itself"), "\(panel)")
        _ = model.handle(.escape)
        #expect(!model.showConnections)
    }

    @Test func headlessJSONCarriesLagPerPartitionServicesAndTime() throws {
        var s = Fixture.snapshot
        s.consumer.kafka = ServiceStatus(.ok, "127.0.0.1:9092")
        var board = ConnectionBoard()
        _ = board.update(
            [
                ServiceProbe(name: "kafka", target: "127.0.0.1:9092", status: s.consumer.kafka),
                ServiceProbe(
                    name: "redis", target: "127.0.0.1:6379/0",
                    status: ServiceStatus(.error, "down · retry in 1 s", error: "down", attempts: 2)),
            ],
            nowMs: s.takenAtMs)
        let line = headlessLine(s, json: true, connect: nil, services: board)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let lag = try #require(o["lag"] as? [String: Any])
        #expect(lag["known"] as? Bool == true)
        #expect((lag["total"] as? NSNumber)?.int64Value == s.consumer.totalLag)
        let parts = try #require(lag["partitions"] as? [[String: Any]])
        #expect(parts.count == s.consumer.partitions.count)
        let p0 = s.consumer.partitions[0]
        #expect((parts[0]["lag"] as? NSNumber)?.int64Value == p0.lag)
        #expect((parts[0]["committed_lag"] as? NSNumber)?.int64Value == max(0, p0.highWatermark - max(p0.committed, 0)))
        let services = try #require(o["services"] as? [String: [String: Any]])
        #expect(services["kafka"]?["state"] as? String == "ok")
        #expect(services["redis"]?["error"] as? String == "down")
        #expect(services["redis"]?["attempts"] as? Int == 2)
        #expect((o["ts_ms"] as? NSNumber)?.int64Value == s.takenAtMs)
        // Disconnected: the lag is unknown (null), not zero.
        s.consumer.kafka = ServiceStatus(.error, "all brokers down")
        let down = try #require(
            try JSONSerialization.jsonObject(with: Data(headlessLine(s, json: true, connect: nil).utf8))
                as? [String: Any])
        let downLag = try #require(down["lag"] as? [String: Any])
        #expect(downLag["known"] as? Bool == false && downLag["total"] is NSNull)
    }

    /// `--source`: one line per replication slot under "Replication slots", red once it breaks the
    /// profile's `CdcReplicationSlotLag` thresholds; the same slots in the headless JSON.
    @Test func replicationSlotsGetALineEachRedPastTheAlertThreshold() throws {
        let now = Self.t0
        var report = ReplicationSlotReport()
        report.checkedAtMs = now - 2_000
        report.currentLSN = "1/0"
        report.slots = [
            ReplicationSlot(
                name: "debezium", plugin: "pgoutput", database: "shop", active: true, activePID: 4242,
                confirmedFlushLSN: "0/FFF00000", restartLSN: "0/FFF00000", retainedBytes: 1_048_576,
                restartRetainedBytes: 1_048_576, walStatus: "reserved", lastAdvanceMs: now - 3_000, advanceSeen: true),
            ReplicationSlot(
                name: "old_connector", plugin: "pgoutput", database: "shop", active: false,
                confirmedFlushLSN: "0/70000000", restartLSN: "0/6FF00000", retainedBytes: 2_415_919_104,
                restartRetainedBytes: 2_416_967_680, walStatus: "extended", lastAdvanceMs: now - 720_000,
                inactiveSinceMs: now - 720_000),
        ]
        var s = Fixture.snapshot
        s.integrations.replicationSlots = report
        var board = ConnectionBoard()
        _ = board.update(
            [
                ServiceProbe(name: "kafka", target: "h:1", status: ServiceStatus(.ok, "h:1")),
                ServiceProbe(
                    name: "replication_slots", target: "postgres://u:***@db/shop",
                    status: ServiceStatus(.ok, "2 logical slots, 2.2 GiB of WAL retained")),
            ], nowMs: now - 60_000)
        var frame = DashboardFrame(snapshot: s, nowMs: now)
        frame.connections = board.entries
        var model = DashboardModel()
        _ = model.handle(.char("c"))
        let (buffer, _) = DashboardRenderer.render(model, frame, width: 180, height: 40)
        let screen = buffer.text
        #expect(screen.contains("Replication slots postgres://u:***@db/shop  ok for 1m00s"), "\(screen)")
        let active = "● debezium  shop · pgoutput  retained 1.0 MiB · active pid 4242 · advanced 3.0s ago"
        let idle =
            "○ old_connector  shop · pgoutput  retained 2.3 GiB (restart_lsn 2.3 GiB) · inactive for at least 12m00s · no advance for 12m00s · wal_status extended"
        #expect(screen.contains(active), "\(screen)")
        #expect(screen.contains(idle), "\(screen)")
        func style(ofLineContaining text: String) -> Style? {
            for y in 0..<buffer.height {
                let line = buffer.line(y)
                guard let range = line.range(of: text) else { continue }
                let x = DisplayWidth.of(line[..<range.lowerBound])
                return buffer[x + 2, y].style
            }
            return nil
        }
        // Over 1 GiB (and inactive over 10 minutes): red; the healthy slot is not.
        #expect(style(ofLineContaining: idle)?.role == .bad)
        #expect(style(ofLineContaining: active)?.role == .text)
        // The profile's threshold decides: at 4 GiB and 20 minutes the same slot is only "inactive" (yellow).
        var rules = AlertRules()
        rules.slotRetainedBytes = 4 << 30
        rules.slotInactiveMs = 20 * 60_000
        var panel = AlertPanel()
        panel.rules = rules
        frame.alerts = panel
        let relaxed = DashboardRenderer.render(model, frame, width: 180, height: 40).0
        var relaxedRole: StyleRole?
        for y in 0..<relaxed.height where relaxed.line(y).contains("old_connector") {
            let line = relaxed.line(y)
            relaxedRole = relaxed[DisplayWidth.of(line[..<line.range(of: "old_connector")!.lowerBound]), y].style.role
        }
        #expect(relaxedRole == .warn)

        // --json: the same slots, with the retained bytes and the time since the last advance.
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(headlessLine(s, json: true, connect: nil).utf8))
                as? [String: Any])
        let slots = try #require(json["replication_slots"] as? [[String: Any]])
        #expect(slots.map { $0["slot"] as? String } == ["debezium", "old_connector"])
        #expect((slots[1]["retained_wal_bytes"] as? NSNumber)?.int64Value == 2_415_919_104)
        #expect(slots[1]["active"] as? Bool == false && slots[0]["active_pid"] as? Int == 4242)
        #expect((slots[1]["inactive_since_ms"] as? NSNumber)?.int64Value == now - 720_000)
        #expect((json["replication_slots_checked_ms"] as? NSNumber)?.int64Value == now - 2_000)
        #expect(json["replication_slots_error"] is NSNull)
    }

    @Test func logTimestampsAreUTCWithMilliseconds() {
        #expect(RunLog.timestamp(Self.t0 + 42) == "2025-11-23T12:00:00.042Z")
    }

    @Test func passwordsStayOutOfScreensAndLogs() {
        #expect(redactedURL("postgres://u:secret@h:5432/db") == "postgres://u:***@h:5432/db")
        #expect(redactedURL("postgres://h/db") == "postgres://h/db")
    }
}

@Suite struct AlertLogTests {
    @Test func alertTransitionsGetOneLineEach() {
        var log = AlertLog()
        func panel(_ phase: Alert.Phase?) -> AlertPanel {
            var p = AlertPanel()
            if let phase {
                p.active = [
                    Alert(
                        key: AlertKey(.connectorFailed, "shop"), phase: phase, activeSinceMs: 1, lastTrueMs: 2,
                        summary: "connector shop FAILED")
                ]
            }
            return p
        }
        #expect(log.lines(panel(.pending)) == ["alert pending: CdcConnectorFailed shop: connector shop FAILED"])
        #expect(log.lines(panel(.pending)) == [])
        #expect(log.lines(panel(.firing)) == ["alert firing: CdcConnectorFailed shop: connector shop FAILED"])
        #expect(log.lines(panel(nil)) == ["alert resolved: CdcConnectorFailed shop"])
        #expect(log.lines(nil) == [])
    }
}
