import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

// Needs the real PostgreSQL of scripts/services (wal_level=logical): CDCTOP_TEST_PG, as scripts/test
// or `bash scripts/services up postgres; source .run/env` export it. Each test works in a database of
// its own with a logical slot of its own (test_decoding), dropped at the end; other slots of the
// shared server are left alone and never asserted on.

@Suite("Replication slots (PostgreSQL)", .serialized, .tags(.postgres))
struct ReplicationSlotTests {
    static let t0: Int64 = 1_763_899_200_000

    @Test(
        "retained WAL grows with writes and equals pg_wal_lsn_diff; advancing the slot drops it; the alert fires over a small threshold and resolves"
    )
    func retainedWALFollowsTheSlot() throws {
        let db = try SlotTestDatabase()
        defer { db.drop() }
        let sql = try db.connect()
        try sql.execute("CREATE TABLE cdctop_slot_rows (id bigserial PRIMARY KEY, payload text NOT NULL)")
        let slotName = db.slotName
        try sql.execute("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slotName])
        defer { _ = try? sql.execute("SELECT pg_drop_replication_slot($1)", [slotName]) }

        let reader = ReplicationSlotReader(url: db.url)
        let first = try reader.read(nowMs: Self.t0)
        let slot1 = try #require(first.slots.first { $0.name == slotName }, "the new slot is listed")
        #expect(slot1.plugin == "test_decoding" && slot1.database == db.name)
        #expect(!slot1.active && slot1.activePID == nil)
        #expect(first.serverVersion >= 100_000 && WALPosition(text: first.currentLSN) != nil)
        if first.serverVersion >= 130_000 { #expect(slot1.walStatus == "reserved") }
        // Never seen moving: "still since first seen"; inactive since first seen (the server says when only from 17 on).
        #expect(slot1.lastAdvanceMs == Self.t0 && !slot1.advanceSeen)
        if !slot1.inactiveSinceExact { #expect(slot1.inactiveSinceMs == Self.t0) }
        try expectMatchesServer(slot1, currentLSN: first.currentLSN, on: sql)

        // Writes: about 5 MB of WAL that nobody consumes.
        let before = try lsn("SELECT pg_current_wal_lsn()::text", on: sql)
        try sql.execute(
            "INSERT INTO cdctop_slot_rows (payload) SELECT repeat(md5(g::text), 8) FROM generate_series(1, 20000) g")
        let after = try lsn("SELECT pg_current_wal_lsn()::text", on: sql)
        let written = Int64(after.value - before.value)
        #expect(written > 1_000_000, "the insert wrote \(written) bytes of WAL")
        let second = try reader.read(nowMs: Self.t0 + 5_000)
        let slot2 = try #require(second.slots.first { $0.name == slotName })
        let retained1 = try #require(slot1.retainedBytes)
        let retained2 = try #require(slot2.retainedBytes)
        #expect(retained2 >= retained1 + written, "retained \(retained1) → \(retained2) after writing \(written)")
        #expect(slot2.confirmedFlushLSN == slot1.confirmedFlushLSN)
        #expect(slot2.lastAdvanceMs == Self.t0 && !slot2.advanceSeen)
        try expectMatchesServer(slot2, currentLSN: second.currentLSN, on: sql)

        // The alert over a threshold of half what was written: fires now…
        var rules = AlertRules()
        rules.slotRetainedBytes = written / 2
        rules.slotInactiveMs = 1_000_000 * 60_000  // this test is about bytes
        rules.forMs[.replicationSlotLag] = 0
        rules.keepFiringForMs = 0
        var evaluator = AlertEvaluator(rules: rules)
        let key = AlertKey(.replicationSlotLag, slotName)
        let fired = evaluator.evaluate(facts(second, only: slotName, nowMs: Self.t0 + 5_000))
        #expect(fired.map(\.change) == [.fired] && fired.first?.alert.key == key)
        #expect(fired.first?.alert.summary.contains("retains") == true)

        // Advance the slot to the current position: the retained WAL drops to what others wrote since.
        let endText = try #require(
            try sql.execute(
                "SELECT end_lsn::text FROM pg_replication_slot_advance($1, pg_current_wal_lsn())",
                [slotName]
            ).rows.first?.first ?? nil)
        let third = try reader.read(nowMs: Self.t0 + 10_000)
        let slot3 = try #require(third.slots.first { $0.name == slotName })
        #expect(slot3.confirmedFlushLSN == endText)
        #expect(try #require(slot3.retainedBytes) < retained2)
        #expect(slot3.advanceSeen && slot3.lastAdvanceMs == Self.t0 + 10_000)
        try expectMatchesServer(slot3, currentLSN: third.currentLSN, on: sql)
        // …and resolves now that it caught up.
        let resolved = evaluator.evaluate(facts(third, only: slotName, nowMs: Self.t0 + 10_000))
        #expect(resolved.map(\.change) == [.resolved] && resolved.first?.alert.key == key)

        // Standing still: the time since the last advance grows from the reading that saw it move.
        let fourth = try reader.read(nowMs: Self.t0 + 20_000)
        let slot4 = try #require(fourth.slots.first { $0.name == slotName })
        #expect(slot4.lastAdvanceMs == Self.t0 + 10_000 && slot4.secondsSinceAdvance(nowMs: Self.t0 + 20_000) == 10)

        // /metrics and --json show the same reading.
        var snapshot = RunSnapshot(result: KPIResult(windowMs: 30_000))
        snapshot.takenAtMs = Self.t0 + 20_000
        snapshot.integrations.replicationSlots = fourth
        let text = PrometheusExposition.render(snapshot, ops: OpsReport(), nowMs: Self.t0 + 20_000)
        let retained4 = try #require(slot4.retainedBytes)
        #expect(text.contains("cdctop_replication_slot_retained_wal_bytes{slot=\"\(slotName)\"} \(retained4)\n"))
        #expect(text.contains("cdctop_replication_slot_active{slot=\"\(slotName)\"} 0\n"))
        #expect(text.contains("cdctop_replication_slot_seconds_since_advance{slot=\"\(slotName)\"} 10\n"))
        #expect(text.contains("cdctop_replication_slots_up 1\n"))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(fourth.json(nowMs: Self.t0 + 20_000).utf8)) as? [[String: Any]])
        let mine = try #require(json.first { $0["slot"] as? String == slotName })
        #expect((mine["retained_wal_bytes"] as? NSNumber)?.int64Value == retained4)
        #expect(mine["active"] as? Bool == false && mine["active_pid"] is NSNull)
        #expect((mine["seconds_since_advance"] as? NSNumber)?.doubleValue == 10)
        #expect(mine["confirmed_flush_lsn"] as? String == endText)
    }

    @Test("a slot without consumer fires CdcReplicationSlotLag once inactive longer than slot_inactive_minutes")
    func inactiveSlotFires() throws {
        let db = try SlotTestDatabase()
        defer { db.drop() }
        let sql = try db.connect()
        let slotName = db.slotName
        try sql.execute("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slotName])
        defer { _ = try? sql.execute("SELECT pg_drop_replication_slot($1)", [slotName]) }
        var rules = AlertRules()
        rules.slotInactiveMs = 60_000
        rules.forMs[.replicationSlotLag] = 0
        var evaluator = AlertEvaluator(rules: rules)
        let reader = ReplicationSlotReader(url: db.url)
        let first = try reader.read(nowMs: Self.t0)
        #expect(evaluator.evaluate(facts(first, only: slotName, nowMs: Self.t0)).isEmpty)
        let slot = try #require(first.slots.first { $0.name == slotName })
        // A minute and a second after it was first seen inactive (or after the server says, from PostgreSQL 17).
        let later = max(Self.t0, slot.inactiveSinceMs) + 61_000
        let fired = evaluator.evaluate(facts(try reader.read(nowMs: later), only: slotName, nowMs: later))
        #expect(fired.map(\.change) == [.fired])
        #expect(fired.first?.alert.summary.contains("has had no consumer") == true)
    }

    @Test("the monitor reads on its own thread, and reports an unreachable source as an error with a retry")
    func monitorReadsAndRetries() throws {
        let db = try SlotTestDatabase()
        defer { db.drop() }
        let sql = try db.connect()
        let slotName = db.slotName
        try sql.execute("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slotName])
        defer { _ = try? sql.execute("SELECT pg_drop_replication_slot($1)", [slotName]) }

        // The statement for servers before 13 (no wal_status, safe_wal_size) runs too, with NULLs in their place.
        let old = try sql.execute(ReplicationSlotReader.slotQuery(serverVersion: 120_000))
        let oldRow = try #require(old.rows.first { $0.first == slotName })
        #expect(oldRow.count == 13 && oldRow[9] == nil && oldRow[10] == nil && oldRow[1] == "test_decoding")

        let monitor = ReplicationSlotMonitor(sourceURL: db.url, target: "test", everySeconds: 0.2)
        monitor.start()
        defer { monitor.stop() }
        try waitFor("the monitor lists the slot") { monitor.report?.slots.contains { $0.name == slotName } == true }
        #expect(monitor.status.state == .ok)
        #expect(monitor.status.detail.contains("logical slot"))
        #expect(monitor.report?.error == nil)

        let away = ReplicationSlotMonitor(
            sourceURL: "postgresql://postgres@127.0.0.1:1/postgres", target: "nowhere", everySeconds: 0.2)
        away.start()
        defer { away.stop() }
        try waitFor("the unreachable source is reported") { away.status.state == .error }
        let status = away.status
        #expect(status.attempts >= 1 && status.nextRetryAtMs > 0)
        #expect(status.error?.isEmpty == false)
        #expect(away.report?.error == status.error && away.report?.checkedAtMs == 0)
    }

    @Test func trackerNotesMovesAndInactivityAndForgetsDroppedSlots() {
        var tracker = ReplicationSlotTracker()
        func slot(_ lsn: String?, active: Bool) -> ReplicationSlot {
            ReplicationSlot(
                name: "s", plugin: "pgoutput", database: "d", active: active, confirmedFlushLSN: lsn, lastAdvanceMs: 0)
        }
        var slots = [slot("0/10", active: true)]
        tracker.note(&slots, nowMs: 1_000)
        #expect(slots[0].lastAdvanceMs == 1_000 && !slots[0].advanceSeen && slots[0].inactiveSinceMs == 0)
        slots = [slot("0/10", active: false)]
        tracker.note(&slots, nowMs: 2_000)
        #expect(slots[0].lastAdvanceMs == 1_000 && slots[0].inactiveSinceMs == 2_000)
        slots = [slot("0/20", active: false)]
        tracker.note(&slots, nowMs: 3_000)
        #expect(slots[0].lastAdvanceMs == 3_000 && slots[0].advanceSeen && slots[0].inactiveSinceMs == 2_000)
        slots = [slot("0/20", active: true)]
        tracker.note(&slots, nowMs: 4_000)
        #expect(slots[0].inactiveSinceMs == 0 && slots[0].lastAdvanceMs == 3_000)
        var none: [ReplicationSlot] = []
        tracker.note(&none, nowMs: 5_000)
        #expect(tracker.memory.isEmpty)
        #expect(WALPosition(text: "16/B374D848")?.value == 0x16_B374_D848)
        #expect(WALPosition(text: "B374D848") == nil)
    }

    // MARK: - Helpers

    /// The reader's figures equal what the server computes independently for the same current position.
    private func expectMatchesServer(
        _ slot: ReplicationSlot, currentLSN: String, on sql: PostgresConnection,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let row = try #require(
            try sql.execute(
                """
                SELECT pg_wal_lsn_diff($1::pg_lsn, confirmed_flush_lsn)::bigint::text, pg_wal_lsn_diff($1::pg_lsn, restart_lsn)::bigint::text,
                       confirmed_flush_lsn::text
                FROM pg_replication_slots WHERE slot_name = $2
                """, [currentLSN, slot.name]
            ).rows.first, sourceLocation: sourceLocation)
        #expect(slot.retainedBytes.map(String.init) == row[0], sourceLocation: sourceLocation)
        #expect(slot.restartRetainedBytes.map(String.init) == row[1], sourceLocation: sourceLocation)
        #expect(slot.confirmedFlushLSN == row[2], sourceLocation: sourceLocation)
        // And the same subtraction done here on the positions.
        if let current = WALPosition(text: currentLSN),
            let confirmed = slot.confirmedFlushLSN.flatMap(WALPosition.init(text:))
        {
            #expect(slot.retainedBytes == Int64(current.value) - Int64(confirmed.value), sourceLocation: sourceLocation)
        }
    }

    private func lsn(_ query: String, on sql: PostgresConnection) throws -> WALPosition {
        let text = try #require(try sql.execute(query).rows.first?.first ?? nil)
        return try #require(WALPosition(text: text))
    }

    private func facts(_ report: ReplicationSlotReport, only slot: String, nowMs: Int64) -> AlertFacts {
        var mine = report
        mine.slots = report.slots.filter { $0.name == slot }
        var f = AlertFacts(nowMs: nowMs)
        f.replicationSlots = mine
        return f
    }

    private func waitFor(_ what: String, seconds: Double = 30, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if condition() { return }
        throw SlotTestFailure("gave up waiting for: \(what)")
    }
}

private struct SlotTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh database on the shared test server, whose wal_level must be logical; dropped at the end.
private struct SlotTestDatabase {
    let url: String
    let name: String
    /// Unique on the server (slots are cluster-wide).
    let slotName: String
    private let serverURL: String

    init() throws {
        guard let server = TestServices.environment("CDCTOP_TEST_PG"), !server.isEmpty else {
            throw SlotTestFailure(
                "CDCTOP_TEST_PG is not set: run the tests with scripts/test (or bash scripts/services up postgres; source .run/env)"
            )
        }
        serverURL = server
        let admin = try PostgresConnection(server)
        let level = try admin.execute("SHOW wal_level").rows.first?.first ?? nil
        guard level == "logical" else {
            throw SlotTestFailure(
                "the test PostgreSQL runs with wal_level=\(level ?? "?"): start it with scripts/services, which sets wal_level=logical"
            )
        }
        let suffix = "\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        name = "cdctop_slots_\(suffix)"
        slotName = "cdctop_test_slot_\(suffix)"
        try admin.execute("CREATE DATABASE \(try admin.quoteQualifiedIdentifier(name))")
        url = postgresURL(server, database: name)
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(url) }

    func drop() {
        guard let admin = try? PostgresConnection(serverURL), let quoted = try? admin.quoteQualifiedIdentifier(name)
        else { return }
        // A slot left behind by a failed test would keep the database (and WAL): drop it first.
        _ = try? admin.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active",
            [slotName])
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)")
    }
}
