import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Real output of Debezium 3.6.3's MySQL connector (MariaDB 10.11 standing in for MySQL) written twice
/// from the same binlog by scripts/stack-e2e-avro: once through Confluent's AvroConverter (keys and
/// values, schemas from the registry stand-in; Tests/Fixtures/debezium/shopmyavro.rec, `cdctop record`'s
/// form with the schema lines) and once through the JsonConverter with schemas (shopmyavro.json.jsonl).
/// The rows carry every MySQL type Debezium maps its own way (ENUM, SET, BIGINT/TINYINT UNSIGNED, TIME,
/// DATE, YEAR, DATETIME(6), JSON, BIT, VARBINARY, FLOAT, DOUBLE, DECIMAL(30,4), POINT), added by an
/// ALTER TABLE mid-stream (a second value schema id for `transaction`). See the fixtures' README.
enum MySQLAvroCapture {
    static let avroFile = "shopmyavro.rec"
    static let jsonFile = "shopmyavro.json.jsonl"

    /// The Avro messages, and the schemas of the recording's `{"schema_id","schema"}` lines.
    static func avro() throws -> (messages: [OwnedMessage], schemas: TestSchemas) {
        let schemas = TestSchemas()
        let text = try String(contentsOf: Samples.directory.appendingPathComponent(avroFile), encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("{\"schema_id\"") {
            guard let json = JSONValue.parse(String(line)), let id = json["schema_id"]?.int64Value,
                let schema = json["schema"]?.stringValue
            else {
                throw RecordingError(
                    file: avroFile, line: 0, reason: "a schema line that does not parse: \(line.prefix(80))")
            }
            schemas.set(id: Int32(id), text: schema)
        }
        return (try Samples.messages(avroFile), schemas)
    }

    static func json() throws -> [OwnedMessage] { try Samples.messages(jsonFile) }

    /// The schema id of a Confluent-framed value or key.
    static func schemaID(_ framed: [UInt8]) -> Int32 {
        Int32(bitPattern: framed[1...4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    /// The two captures paired message by message: the same table and record key, the n-th message of
    /// that key in each (the two connectors' keys differ in bytes, so Kafka put them on different
    /// partitions; a key's messages keep their order on its partition).
    static func pairs() throws -> (pairs: [(avro: OwnedMessage, json: OwnedMessage)], schemas: TestSchemas) {
        let (avroMessages, schemas) = try avro()
        let jsonMessages = try json()
        let decoder = DebeziumDecoder(profile: .shop)
        func table(_ topic: String) -> String {
            topic.split(separator: ".").count > 1 ? String(topic.split(separator: ".").last!) : "<schema changes>"
        }
        var jsonByKey: [String: [OwnedMessage]] = [:]
        for m in jsonMessages {
            let key = m.key!.withUnsafeBytes { DebeziumDecoder.recordKeyValue($0) }
            jsonByKey[table(m.topic) + " " + String(describing: key), default: []].append(m)
        }
        var taken: [String: Int] = [:]
        var out: [(OwnedMessage, OwnedMessage)] = []
        for m in avroMessages {
            let keySchema = schemas.avro(schemaID(m.key!))
            let key = Array(m.key![5...]).withUnsafeBytes { decoder.avroRecordKey(schema: keySchema, payload: $0) }
            let name = table(m.topic) + " " + String(describing: key)
            let n = taken[name, default: 0]
            taken[name] = n + 1
            guard let twins = jsonByKey[name], n < twins.count else {
                throw RecordingError(
                    file: jsonFile, line: 0,
                    reason: "no JSON twin for \(m.topic)@\(m.partition):\(m.offset), key \(name)")
            }
            out.append((m, twins[n]))
        }
        #expect(out.count == jsonMessages.count)
        return (out, schemas)
    }
}

@Suite("Avro decoder on real MySQL-connector output (Debezium's AvroConverter beside its JsonConverter)")
struct AvroMySQLTests {
    /// Commit times of the initial snapshot are each connector's own reading time, and the envelope's
    /// `ts_ms` (`debeziumTimeMs`) is when each connector handled the event; everything else comes from
    /// the same binlog event and must be equal.
    static func comparable(_ o: DecodeOutcome) -> String {
        switch o {
        case .event(var e):
            e.debeziumTimeMs = 0
            if e.isSnapshot { e.commitTimeMs = 0 }
            return canonical(.event(e))
        case .schemaChange(var c):
            if c.isSnapshot { c.commitTimeMs = 0 }
            return "\(c)"
        default:
            return canonical(o)
        }
    }

    @Test("every Avro message decodes to what its JsonConverter twin decodes to; nothing malformed")
    func decodesLikeJSON() throws {
        let (pairs, schemas) = try MySQLAvroCapture.pairs()
        let json = DebeziumDecoder(profile: .shop)
        let avro = DebeziumDecoder(profile: .shop)
        var kinds: [String: Int] = [:]
        var valueSchemasOfTransaction = Set<Int32>()
        for (a, j) in pairs {
            let expected =
                j.value.map { v in
                    v.withUnsafeBytes {
                        json.decode(slot: json.slot(forTopic: j.topic), value: $0, kafkaTimestampMs: j.timestampMs)
                    }
                }
                ?? json.decode(slot: json.slot(forTopic: j.topic), value: nil)
            let got: DecodeOutcome
            if let v = a.value {
                let id = MySQLAvroCapture.schemaID(v)
                if a.topic.hasSuffix(".transaction") { valueSchemasOfTransaction.insert(id) }
                got = avro.decodeAvro(
                    topic: a.topic, schema: schemas.avro(id), id: id, payload: Array(v[5...]),
                    kafkaTimestampMs: a.timestampMs)
            } else {
                got = avro.decode(slot: avro.slot(forTopic: a.topic), value: nil)
            }
            #expect(
                AvroMySQLTests.comparable(got) == AvroMySQLTests.comparable(expected),
                "\(a.topic)@\(a.partition):\(a.offset)")
            if case .malformed(_, let reason) = got { Issue.record("\(a.topic)@\(a.offset) malformed: \(reason)") }
            let kind: String =
                switch got {
                case .event(let e): "event \(e.table) \(e.op)\(e.isSnapshot ? " snapshot" : "")"
                case .schemaChange(let c): c.isSnapshot ? "snapshot DDL" : "schema change"
                case .tombstone: "tombstone"
                case .ignored(let table, _): "ignored \(table)"
                default: "other"
                }
            kinds[kind, default: 0] += 1
        }
        // The capture holds what it is meant to: snapshot reads, every op, the ALTER on the
        // schema-change topic, tombstones, and transaction rows under both value schemas.
        #expect(kinds["schema change"] == 1 && kinds["snapshot DDL"] == 4, "\(kinds)")
        #expect(kinds["event customer read snapshot"] == 2, "\(kinds)")
        #expect(kinds["event product read snapshot"] == 4 && kinds["event product update"] == 8, "\(kinds)")
        #expect(
            kinds["event transaction create"] == 5 && kinds["event transaction update"] == 3
                && kinds["event transaction delete"] == 4, "\(kinds)")
        #expect(
            kinds["event transactiondetail create"] == 9 && kinds["event transactiondetail delete"] == 6, "\(kinds)")
        #expect(kinds["tombstone"] == 10, "\(kinds)")
        #expect(
            valueSchemasOfTransaction.count == 2,
            "transaction rows before and after the ALTER: \(valueSchemasOfTransaction)")
        #expect(kinds["other"] == nil, "\(kinds)")
    }

    @Test("whole rows rendered from Avro equal the JsonConverter's payload, every MySQL-specific type included")
    func wholeRowsLikeJSON() throws {
        let (pairs, schemas) = try MySQLAvroCapture.pairs()
        var typedValues = 0
        for (a, j) in pairs {
            guard let v = a.value, let jv = j.value else {
                #expect(a.value == nil && j.value == nil, "\(a.topic)@\(a.offset): a tombstone on one side only")
                continue
            }
            let schema = schemas.avro(MySQLAvroCapture.schemaID(v))
            let rendered = try Array(v[5...]).withUnsafeBytes {
                try AvroJSONRendering.value(schema: schema, payload: $0)
            }
            let payload = try #require(JSONValue.parse(jv)?["payload"])
            let snapshot = payload["source"]?["snapshot"]?.stringValue != "false"
            // The rows themselves, and the DDL with its table changes.
            for field in ["before", "after", "op", "ddl", "databaseName", "tableChanges"] {
                #expect(
                    rendered[field] == payload[field],
                    "\(a.topic)@\(a.offset) \(field): \(String(describing: rendered[field])) vs \(String(describing: payload[field]))"
                )
            }
            // Where in the binlog: the same event for both connectors (its name is each one's topic prefix;
            // snapshot reads carry each connector's own reading time and position).
            let sourceFields =
                snapshot
                ? ["connector", "db", "table", "server_id", "version"]
                : [
                    "connector", "db", "table", "server_id", "version", "ts_ms", "file", "pos", "row", "gtid", "thread",
                    "snapshot",
                ]
            for field in sourceFields {
                #expect(
                    rendered["source"]?[field] == payload["source"]?[field], "\(a.topic)@\(a.offset) source.\(field)")
            }
            if case .object(let columns)? = payload["after"] {
                typedValues +=
                    columns.filter { $0.key.hasPrefix("spot_") || $0.key.hasPrefix("flags_") }.filter {
                        !$0.value.isNull
                    }.count
            }
        }
        #expect(typedValues >= 4, "rows with values in the MySQL-specific columns: \(typedValues)")
    }

    @Test("through EngineCore: the KPI result JSON and every counter are the same for the Avro and the JSON capture")
    func engineResultLikeJSON() throws {
        let (avroMessages, schemas) = try MySQLAvroCapture.avro()
        let jsonMessages = try MySQLAvroCapture.json()
        let jsonCore = EngineCore(profile: .shop)
        let avroCore = EngineCore(profile: .shop)
        avroCore.schemaSource = schemas
        for m in jsonMessages {
            jsonCore.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
        for m in avroMessages {
            avroCore.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
        #expect(avroCore.result.json() == jsonCore.result.json())
        #expect(avroCore.messages == jsonCore.messages && avroCore.malformed == 0 && jsonCore.malformed == 0)
        #expect(avroCore.tombstones == jsonCore.tombstones && avroCore.ignored == jsonCore.ignored)
        #expect(avroCore.schemaChanges == jsonCore.schemaChanges && avroCore.snapshotDDL == jsonCore.snapshotDDL)
        #expect(jsonCore.result.totals.txCount == 1, "the one order of the capture that stays")
    }
}
