import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Real output of Debezium 3.6.3's MySQL connector (MariaDB 10.11 standing in for MySQL), captured by
/// scripts/capture-mysql-samples into Tests/Fixtures/debezium/shopmy*.{shopfx.<table>,}.jsonl.
enum MySQLSamples {
    /// precise (base64 + schema scale), string, double.
    static let prefixes = ["shopmy", "shopmystr", "shopmydbl"]
    static let tables = ["customer", "product", "transaction", "transactiondetail"]
    /// The capture schema's names (Tests/Fixtures/debezium/schema-mysql.sql).
    static let profile = KPIProfile(
        name: "samples-mysql",
        sale: .init(table: "transaction", key: "id", amount: "amount"),
        lineItem: .init(
            table: "transactiondetail", key: "id", quantity: "quantity", unitPrice: "unit_price",
            productKey: "product_id"),
        dimension: .init(table: "product", key: "id", category: "category"))

    static func messages(_ prefix: String, _ table: String?) throws -> [OwnedMessage] {
        try Samples.messages(table.map { "\(prefix).shopfx.\($0).jsonl" } ?? "\(prefix).jsonl")
    }
}

@Suite("Debezium decoder on real MySQL-connector samples")
struct MySQLSampleTests {
    @Test(
        "topics <prefix>.<database>.<table> map to the profile's tables; only the row without amount is malformed",
        arguments: MySQLSamples.prefixes)
    func everyMessageDecodes(prefix: String) throws {
        let decoder = DebeziumDecoder(profile: MySQLSamples.profile)
        for table in MySQLSamples.tables {
            let outcomes = decodeAll(try MySQLSamples.messages(prefix, table), decoder: decoder)
            #expect(!outcomes.isEmpty)
            var malformed: [String] = []
            for o in outcomes {
                if case .malformed(_, let reason) = o { malformed.append(reason) }
                if case .ignored(_, let reason) = o { Issue.record("\(prefix).\(table) ignored: \(reason)") }
                if case .schemaChange = o { Issue.record("\(prefix).\(table): a row change taken for a schema change") }
                if case .event(let e) = o {
                    #expect(e.table == table && e.role == MySQLSamples.profile.role(ofTable: table))
                }
            }
            if table == "transaction" {
                // Insert 501 came after ALTER TABLE transaction DROP COLUMN amount: reported, naming the column.
                #expect(malformed.count == 1, "\(malformed)")
                #expect(malformed.first?.contains("row has no column amount") == true, "\(malformed)")
            } else {
                #expect(malformed.isEmpty, "\(prefix).\(table): \(malformed)")
            }
        }
    }

    @Test(
        "transaction: 59.97 → 60.00, an update after ADD COLUMN decodes, delete, tombstone — in every decimal mode",
        arguments: MySQLSamples.prefixes)
    func transactionValues(prefix: String) throws {
        let decoder = DebeziumDecoder(profile: MySQLSamples.profile)
        let outcomes = decodeAll(try MySQLSamples.messages(prefix, "transaction"), decoder: decoder)
        let e = events(outcomes).filter { ($0.after ?? $0.before)?.key == .int(500) }
        try #require(e.count == 4)
        #expect(e.map(\.op) == [.create, .update, .update, .delete])
        #expect(e[0].after?.amount == .value(Money(cents: 5997)))
        #expect(e[1].before?.amount == .value(Money(cents: 5997)))
        #expect(e[1].after?.amount == .value(Money(cents: 6000)))
        // The row image gained the column `note` (ALTER TABLE … ADD COLUMN): nothing else changes.
        #expect(e[2].after?.amount == .value(Money(cents: 6000)))
        #expect(e[3].before?.amount == .value(Money(cents: 6000)) && e[3].after == nil)
        #expect(e.allSatisfy { !$0.isSnapshot && $0.commitTimeMs > 1_700_000_000_000 })
        #expect(outcomes.contains { if case .tombstone("transaction") = $0 { true } else { false } })
    }

    @Test(
        "line item and product: INT quantity, DECIMAL(12,2) and DECIMAL(14,2) up to 1234567890.12",
        arguments: MySQLSamples.prefixes)
    func lineItemAndProduct(prefix: String) throws {
        let decoder = DebeziumDecoder(profile: MySQLSamples.profile)
        let lines = events(decodeAll(try MySQLSamples.messages(prefix, "transactiondetail"), decoder: decoder))
        try #require(lines.count == 2)
        #expect(lines[0].op == .create && lines[1].op == .delete)
        #expect(lines[0].after?.quantity == .value(3))
        #expect(lines[0].after?.unitPrice == .value(Money(cents: 1999)))
        #expect(lines[0].after?.reference == .value(.int(1)))
        let products = events(decodeAll(try MySQLSamples.messages(prefix, "product"), decoder: decoder))
        #expect(products.filter { $0.op == .read && $0.isSnapshot }.count == 3)
        let update = try #require(products.first { $0.op == .update })
        #expect(update.after?.category == .value("kitchen"))
        #expect(update.before?.category == .value("kitchen"))
    }

    @Test(
        "the schema-change topic: snapshot DDL and three ALTER TABLEs, none malformed", arguments: MySQLSamples.prefixes
    )
    func schemaChanges(prefix: String) throws {
        let decoder = DebeziumDecoder(profile: MySQLSamples.profile)
        let outcomes = decodeAll(try MySQLSamples.messages(prefix, nil), decoder: decoder)
        let changes = outcomes.compactMap { if case .schemaChange(let c) = $0 { c } else { nil } }
        #expect(changes.count == outcomes.count, "every message of topic \(prefix) is a schema change")
        let streamed = changes.filter { !$0.isSnapshot }
        #expect(
            streamed.map(\.ddl) == [
                "ALTER TABLE `transaction` ADD COLUMN note VARCHAR(40) NULL",
                "ALTER TABLE `transaction` DROP COLUMN note",
                "ALTER TABLE `transaction` DROP COLUMN amount",
            ])
        #expect(streamed.allSatisfy { $0.tables == ["transaction"] && $0.database == "shopfx" && $0.kind == "ALTER" })
        #expect(streamed.allSatisfy { $0.commitTimeMs > 1_700_000_000_000 })
        let snapshot = changes.filter(\.isSnapshot)
        #expect(snapshot.contains { $0.kind == "CREATE" && $0.tables == ["transaction"] && $0.database == "shopfx" })
        #expect(snapshot.contains { $0.ddl.hasPrefix("SET ") && $0.tables.isEmpty })
    }

    @Test("the engine counts schema changes per table and keeps the latest DDL with its time")
    func engineCountsSchemaChanges() throws {
        let core = EngineCore(profile: MySQLSamples.profile)
        for topic in [nil] + MySQLSamples.tables.map(Optional.some) {
            for m in try MySQLSamples.messages("shopmy", topic) {
                core.ingest(topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, value: m.value)
            }
        }
        let s = core.snapshot(sequence: 1, takenAtMs: 0)
        #expect(s.diagnostics.schemaChanges == ["transaction": 3])
        #expect(s.diagnostics.recentDDL.map(\.ddl).last == "ALTER TABLE `transaction` DROP COLUMN amount")
        #expect(
            s.diagnostics.recentDDL.allSatisfy {
                $0.table == "transaction" && $0.database == "shopfx" && $0.position.topic == "shopmy"
                    && $0.commitTimeMs > 0
            })
        #expect(s.diagnostics.snapshotDDL == 23)
        #expect(core.malformed == 1)
        #expect(s.diagnostics.recentMalformed.first?.reason.contains("amount") == true)
        #expect(core.ignored == 0)
    }

    @Test("schema-change counts survive a restart through the durable state")
    func schemaChangeCountsAreSaved() throws {
        let directory = NSTemporaryDirectory() + "cdctop-ddl-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StateIdentity(profile: MySQLSamples.profile, topics: ["^shopmy(\\..*)?$"])
        let core = EngineCore(profile: MySQLSamples.profile)
        let store = try StateStore(directory: directory, identity: identity)
        _ = try store.load(into: core)
        core.journaling = true
        for topic in [nil] + MySQLSamples.tables.map(Optional.some) {
            for m in try MySQLSamples.messages("shopmy", topic) {
                core.ingest(topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, value: m.value)
            }
        }
        try store.write(Checkpoint.take(from: core, nowMs: 1))
        store.close()
        let reopened = try StateStore(directory: directory, identity: identity)
        defer { reopened.close() }
        let restored = EngineCore(profile: MySQLSamples.profile)
        _ = try reopened.load(into: restored)
        #expect(restored.schemaChanges == ["transaction": 3])
        #expect(restored.snapshotDDL == core.snapshotDDL && restored.schemaChangeMessages == core.schemaChangeMessages)
        #expect(restored.messages == core.messages && restored.result == core.result)
    }

    @Test("DDL ids: quoted, unquoted and dotted names")
    func changeIDs() {
        #expect(DebeziumDecoder.tableName(fromChangeID: "\"shop\".\"transaction\"") == "transaction")
        #expect(DebeziumDecoder.tableName(fromChangeID: "shop.transaction") == "transaction")
        #expect(DebeziumDecoder.tableName(fromChangeID: "\"shop\".\"a.b\"") == "a.b")
        #expect(DebeziumDecoder.tableName(fromChangeID: "\"public\".\"t\"") == "t")
    }

    @Test("a schema change without a schema envelope (schemas.enable=false) is recognised too")
    func bareSchemaChange() {
        let decoder = DebeziumDecoder(profile: .shop)
        let json =
            #"{"source":{"version":"3.6.3.Final","connector":"mysql","name":"m","ts_ms":1795656662151,"snapshot":"false","db":"shop","table":"transaction"},"ts_ms":1795656662160,"databaseName":"shop","schemaName":null,"ddl":"ALTER TABLE transaction ADD COLUMN note TEXT","tableChanges":[{"type":"ALTER","id":"\"shop\".\"transaction\"","table":null}]}"#
        let o = Array(json.utf8).withUnsafeBytes { decoder.decode(slot: decoder.slot(forTopic: "m"), value: $0) }
        guard case .schemaChange(let c) = o else {
            Issue.record("not a schema change: \(o)")
            return
        }
        #expect(
            c.tables == ["transaction"] && c.commitTimeMs == 1_795_656_662_151 && !c.isSnapshot
                && c.ddl.hasSuffix("note TEXT"))
    }
}

@Suite("The drill-down's full description of MySQL rows")
struct MySQLDescriptionTests {
    @Test("DATETIME(3), TIMESTAMP(3), TIME(3) and DECIMAL render as their values")
    func timeTypes() throws {
        let m = try MySQLSamples.messages("shopmy", "transaction")
        let first = try #require(m.first?.value)
        let d = try #require(ChangeDescription.decode(value: first))
        let after = try #require(d.after)
        func value(_ name: String) -> String? { after.first { $0.name == name }?.value }
        #expect(value("amount") == "59.97")
        #expect(
            value("created_at")?.hasPrefix("2026-03-04T05:06:07.089") == true,
            "\(String(describing: value("created_at")))")
        #expect(value("updated_at")?.hasSuffix("Z") == true)
        #expect(value("paid") == "0")
    }
}

@Suite("A profile for a MySQL schema whose names differ (profiles/mysql-example.toml)")
struct MySQLExampleProfileTests {
    @Test("the example profile reads the renamed MySQL messages; a dropped amount column names the profile's column")
    func renamedSchema() throws {
        let path = Samples.directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("profiles/mysql-example.toml").path
        let profile = try KPIProfile(tomlText: String(contentsOfFile: path, encoding: .utf8), file: path)
        #expect(profile.sale.table == "orders" && profile.sale.amount == "total_gross")
        let core = EngineCore(profile: profile)
        var revenueAfterInsert: Money? = nil
        for m in try MySQLSamples.messages("shopmy", "transaction") {
            // The real capture, renamed the way a schema with other names would look on the wire.
            let value = m.value.map { bytes in
                Array(
                    String(decoding: bytes, as: UTF8.self)
                        .replacingOccurrences(of: "\"table\": \"transaction\"", with: "\"table\": \"orders\"")
                        .replacingOccurrences(of: "\"amount\"", with: "\"total_gross\"")
                        .replacingOccurrences(of: "\"id\"", with: "\"order_id\"").utf8)
            }
            core.ingest(topic: "erp.erp.orders", partition: m.partition, offset: m.offset, key: m.key, value: value)
            if revenueAfterInsert == nil { revenueAfterInsert = core.result.totals.revenue }
        }
        #expect(revenueAfterInsert == Money(cents: 5997))
        #expect(core.result.totals.txCount == 0, "inserted, updated, deleted")
        #expect(core.malformed == 1)
        #expect(core.recentMalformed.first?.reason.contains("row has no column total_gross") == true)
        #expect(core.aggregator.tables.map(\.table) == ["orders"])
    }
}

@Suite("Schema changes under the fuzz harness's invariants")
struct SchemaChangeFuzzSeedTests {
    @Test("Fuzz/corpus/mysql-schema-change: DDL, a row after ADD COLUMN and a row without amount keep every invariant")
    func seedKeepsInvariants() throws {
        let url = Samples.directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/mysql-schema-change")
        let bytes = try [UInt8](Data(contentsOf: url))
        let violations = bytes.withUnsafeBytes { FuzzHarness.run($0) }
        #expect(violations.isEmpty, "\(violations)")
    }
}

@Suite("A column named ddl is not a schema change")
struct DDLColumnTests {
    @Test("an unwrapped row with a ddl column stays a row")
    func unwrappedRowWithDDLColumn() {
        let decoder = DebeziumDecoder(profile: .shop)
        let json =
            #"{"transaction_id":5,"amount":"1.00","ddl":"CREATE TABLE x (a int)","__op":"c","__source_ts_ms":1795656662151}"#
        let o = Array(json.utf8).withUnsafeBytes {
            decoder.decode(slot: decoder.slot(forTopic: "shop.public.transaction"), value: $0)
        }
        guard case .event(let e) = o else {
            Issue.record("not a row: \(o)")
            return
        }
        #expect(e.after?.amount == .value(Money(cents: 100)))
    }
}
