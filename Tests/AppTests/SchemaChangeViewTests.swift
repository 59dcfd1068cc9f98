import Foundation
import Metrics
import Pipeline
import Testing

@testable import App

/// Schema changes (DDL from Debezium's schema-change topic) in the Tables view, its drill-down and `--json`.
@Suite struct SchemaChangeViewTests {
    /// 12:03:17 UTC on the fixture's day.
    static let ddlTimeMs: Int64 = Fixture.nowMs - Fixture.nowMs % 86_400_000 + (12 * 3_600 + 3 * 60 + 17) * 1_000

    static var snapshot: RunSnapshot {
        var s = Fixture.snapshot
        s.diagnostics.schemaChanges = ["transaction": 2]
        s.diagnostics.recentDDL = [
            SchemaChangeRecord(
                table: "transaction", database: "shop", ddl: "ALTER TABLE transaction ADD COLUMN note VARCHAR(40)",
                commitTimeMs: ddlTimeMs, position: .init(topic: "shopm", partition: 0, offset: 12)),
            SchemaChangeRecord(
                table: "transaction", database: "shop", ddl: "ALTER TABLE transaction\n  DROP COLUMN note",
                commitTimeMs: ddlTimeMs + 60_000, position: .init(topic: "shopm", partition: 0, offset: 13)),
        ]
        s.diagnostics.snapshotDDL = 12
        return s
    }

    func screen(_ model: DashboardModel, _ s: RunSnapshot, height: Int = 40) -> String {
        var frame = Fixture.frame()
        frame.snapshot = s
        let (buffer, _) = Fixture.render(model, frame, width: 120, height: height)
        return (0..<height).map { buffer.line($0) }.joined(separator: "\n")
    }

    @Test("the Tables view lists the latest DDL with table, commit time and statement, newest first")
    func tablesList() {
        var model = DashboardModel()
        model.view = .tables
        let text = screen(model, Self.snapshot)
        #expect(text.contains("Schema changes (latest first"))
        #expect(
            text.contains("transaction  12:04:17  ALTER TABLE transaction DROP COLUMN note  (2 schema changes)"),
            "\(text)")
        #expect(
            text.contains("transaction  12:03:17  ALTER TABLE transaction ADD COLUMN note VARCHAR(40)  "), "\(text)")
        #expect(!text.contains("VARCHAR(40)  (2 schema changes)"), "the count goes on the newest line only")
        let newest = text.range(of: "DROP COLUMN note")!
        let older = text.range(of: "ADD COLUMN note")!
        #expect(newest.lowerBound < older.lowerBound)
        // Without schema changes the box is not drawn (the golden screens stay as they are).
        #expect(!screen(model, Fixture.snapshot).contains("Schema changes"))
    }

    @Test("the table's drill-down shows its own DDL under its recent changes")
    func drillDown() {
        var model = DashboardModel()
        model.view = .tables
        model.tablesLevel = .changes
        model.openTable = "transaction"
        let text = screen(model, Self.snapshot)
        #expect(text.contains("Schema changes of transaction"))
        #expect(text.contains("transaction  12:03:17  ALTER TABLE transaction ADD COLUMN note"), "\(text)")
        model.openTable = "product"
        #expect(!screen(model, Self.snapshot).contains("Schema changes of"))
    }

    @Test("--json carries schema_changes, recent_ddl and snapshot_ddl")
    func json() throws {
        let line = headlessLine(Self.snapshot, json: true, connect: nil)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(o["schema_changes"] as? [String: Int] == ["transaction": 2])
        #expect(o["snapshot_ddl"] as? Int == 12)
        let recent = try #require(o["recent_ddl"] as? [[String: Any]])
        #expect(recent.count == 2)
        #expect(recent.first?["table"] as? String == "transaction" && recent.first?["db"] as? String == "shop")
        #expect(recent.first?["ddl"] as? String == "ALTER TABLE transaction ADD COLUMN note VARCHAR(40)")
        #expect(recent.first?["ts_ms"] as? Int64 == Self.ddlTimeMs)
        #expect(recent.last?["ddl"] as? String == "ALTER TABLE transaction\n  DROP COLUMN note")
        let empty = try #require(
            try JSONSerialization.jsonObject(with: Data(headlessLine(Fixture.snapshot, json: true, connect: nil).utf8))
                as? [String: Any])
        #expect(empty["schema_changes"] as? [String: Int] == [:])
        #expect((empty["recent_ddl"] as? [Any])?.isEmpty == true)
    }
}
