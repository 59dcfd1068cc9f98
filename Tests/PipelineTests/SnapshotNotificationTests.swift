import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// Snapshot progress through the engine: Debezium 3.6.3's real notifications (captured on the project's
/// stack, Tests/Fixtures/snapshot-notifications, in the order its 4 partitions delivered them) and
/// snapshot rows in the form Debezium wrote them, `source.snapshot` markers included.
@Suite struct SnapshotNotificationTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/snapshot-notifications/postgres-initial.jsonl")

    static func notificationLines() throws -> [String] {
        try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// A snapshot row of `snapexp.public.items` as Debezium 3.6.3 wrote it (schema-less payload form).
    static func row(id: Int, marker: String, tsMs: Int64) -> [UInt8] {
        Array(
            """
            {"before":null,"after":{"id":\(id),"v":\(id % 1000)},"source":{"version":"3.6.3.Final","connector":"postgresql","name":"snapexp","ts_ms":1796635678518,"snapshot":"\(marker)","db":"snapexp","sequence":"[null,\\"308631384\\"]","schema":"public","table":"items","txId":793,"lsn":308631384,"xmin":null},"transaction":null,"op":"r","ts_ms":\(tsMs)}
            """.utf8)
    }

    @Test func theCapturedNotificationsParse() throws {
        let parsed = try Self.notificationLines().compactMap { SnapshotNotificationParser.parse(Array($0.utf8)) }
        #expect(parsed.count == 6)
        #expect(Set(parsed.map(\.type)) == ["STARTED", "IN_PROGRESS", "TABLE_SCAN_COMPLETED", "COMPLETED"])
        #expect(
            parsed.allSatisfy { $0.kind == .initial && $0.connector == "snapexp" && $0.timestampMs > 1_796_635_000_000 }
        )
        let scan = try #require(
            parsed.first { $0.type == "TABLE_SCAN_COMPLETED" && $0.data["scanned_collection"] == "public.items" })
        #expect(scan.data["total_rows_scanned"] == "2000000" && scan.data["status"] == "SUCCEEDED")
        // Not a notification: a change event, a heartbeat-like record.
        #expect(SnapshotNotificationParser.parse(Self.row(id: 1, marker: "true", tsMs: 1)) == nil)
        #expect(SnapshotNotificationParser.parse(Array(#"{"aggregate_type":"Order","type":"x"}"#.utf8)) == nil)
    }

    @Test func theEngineJoinsNotificationsAndRowsReadFromSeveralPartitions() throws {
        let engine = EngineCore(profile: .shop)
        // Rows first (their topic is read faster), on two partitions, the table's last row before others.
        let start: Int64 = 1_796_635_678_600
        var offsets: [Int32: Int64] = [0: 0, 1: 0]
        func feed(_ id: Int, _ marker: String, partition: Int32, at ms: Int64) {
            engine.ingest(
                topic: "snapexp.public.items", partition: partition, offset: offsets[partition]!, key: nil,
                value: Self.row(id: id, marker: marker, tsMs: ms))
            offsets[partition]! += 1
        }
        for i in 0..<1_000 { feed(i, "true", partition: 0, at: start + Int64(i) * 2) }
        let halfway = engine.snapshotProgress()
        let running = try #require(halfway.snapshots.first)
        #expect(running.source == "events" && running.connector == "snapexp" && running.phase == .running)
        #expect(running.tables.first?.table == "public.items" && running.tables.first?.rowsRead == 1_000)
        #expect(abs(try #require(running.tables.first?.rowsPerSecond) - 500) < 1)
        feed(1_999, "last_in_data_collection", partition: 1, at: start + 4_000)
        for i in 1_000..<1_999 { feed(i, "true", partition: 0, at: start + Int64(i) * 2) }
        // Then the notification topic, its partitions one after the other.
        for (i, line) in try Self.notificationLines().enumerated() {
            engine.ingest(
                topic: "snapexp.notifications", partition: 0, offset: Int64(i), key: nil, value: Array(line.utf8))
        }
        #expect(engine.ignored == 0)
        let report = engine.snapshotProgress()
        #expect(report.notificationsRead == 6)
        #expect(report.snapshots.count == 1)
        let s = try #require(report.snapshots.first)
        #expect(s.source == "notifications" && s.phase == .completed && s.tablesTotal == 2 && s.tablesDone == 2)
        let items = try #require(s.tables.first { $0.table == "public.items" })
        #expect(items.topic == "snapexp.public.items")
        // Debezium's own count (2,000,000 in the captured run) wins over the 2,000 rows fed here.
        #expect(items.rowsRead == 2_000_000 && items.state == .done)
        // The snapshot goes out with every published snapshot, and in JSON.
        let published = engine.snapshot(sequence: 1, takenAtMs: start + 10_000)
        #expect(published.kpis.snapshots == report)
        #expect(
            report.json(nowMs: start).contains(
                "\"connector\":\"snapexp\",\"kind\":\"initial\",\"phase\":\"completed\",\"source\":\"notifications\""))
    }

    @Test func rowsAloneCountEveryRowEvenThoseAfterTheLastMarker() throws {
        let engine = EngineCore(profile: .shop)
        let start: Int64 = 1_796_635_678_600
        engine.ingest(
            topic: "snapexp.public.items", partition: 1, offset: 0, key: nil,
            value: Self.row(id: 9, marker: "last", tsMs: start + 100))
        for i in 0..<9 {
            engine.ingest(
                topic: "snapexp.public.items", partition: 0, offset: Int64(i), key: nil,
                value: Self.row(id: i, marker: i == 0 ? "first" : "true", tsMs: start + Int64(i)))
        }
        let s = try #require(engine.snapshotProgress().snapshots.first)
        #expect(s.phase == .completed && s.tablesTotal == 1 && s.tablesDone == 1 && s.rowsRead == 10)
        #expect(s.startedAtMs == start && s.endedAtMs == start + 100)
    }

    /// The source's estimates on the real PostgreSQL of scripts/services (CDCTOP_TEST_PG), in a database
    /// of this test's own: `pg_class.reltuples` of an analyzed table, `count(*)` for one never analyzed
    /// (reltuples -1, PostgreSQL 14+), nothing for a name that is no table there.
    @Test(.tags(.postgres)) func estimatesComeFromTheSourcesStatistics() throws {
        guard let server = TestServices.environment("CDCTOP_TEST_PG"), !server.isEmpty else {
            Issue.record(
                "CDCTOP_TEST_PG is not set: run the tests with scripts/test (or bash scripts/services up postgres; source .run/env)"
            )
            return
        }
        let admin = try PostgresConnection(server)
        let name = "cdctop_snapest_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        try admin.execute("CREATE DATABASE \(name)")
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        let url = postgresURL(server, database: name)
        let sql = try PostgresConnection(url)
        try sql.execute("CREATE TABLE analyzed (id int PRIMARY KEY)")
        try sql.execute("INSERT INTO analyzed SELECT generate_series(1, 12345)")
        try sql.execute("ANALYZE analyzed")
        try sql.execute("CREATE TABLE fresh (id int PRIMARY KEY)")
        try sql.execute("INSERT INTO fresh SELECT generate_series(1, 678)")
        let versionText = try sql.execute("SELECT current_setting('server_version_num')").rows.first?.first ?? nil
        let version = versionText.flatMap { Int($0) } ?? 0
        let reader = SnapshotEstimateReader(url: url)
        let read = try reader.read(wanted: ["public.analyzed", "public.fresh", "public.absent"])
        #expect(read["public.analyzed"] == SnapshotEstimate(rows: 12_345, source: "pg_class.reltuples"))
        if version >= 140_000 { #expect(read["public.fresh"] == SnapshotEstimate(rows: 678, source: "count(*)")) }
        #expect(read["public.absent"] == nil)
        // Counted once: more rows later do not change the count (a snapshot is a one-off, so is the scan).
        try sql.execute("INSERT INTO fresh SELECT generate_series(1000, 1099)")
        if version >= 140_000 { #expect(try reader.read(wanted: ["public.fresh"])["public.fresh"]?.rows == 678) }
    }
}
