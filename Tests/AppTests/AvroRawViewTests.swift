import Metrics
import Testing

@testable import App
@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// The Tables drill-down on Avro topics: generated shop messages in Confluent's Avro framing (the encoder
/// `generate --avro` uses) go through the real EngineCore; the change view decodes them like JSON, and the
/// raw view (`y`) shows schema id, subject and version beside the record rendered as JSON.
@Suite struct AvroRawViewTests {
    /// Schemas as a registry would hold them (ids from 1, in registration order) and their subjects.
    final class Schemas: ConfluentSchemaSource, @unchecked Sendable {
        var byID: [Int32: RegisteredSchema] = [:]
        var subjects: [Int32: [SubjectVersion]] = [:]
        private var ids: [String: Int32] = [:]

        func register(subject: String, text: String) -> Int32 {
            let id = ids[text] ?? Int32(ids.count + 1)
            ids[text] = id
            byID[id] = byID[id] ?? RegisteredSchema(id: id, schemaType: "AVRO", text: text, subjects: [])
            if !(subjects[id] ?? []).contains(where: { $0.subject == subject }) {
                subjects[id, default: []].append(SubjectVersion(subject: subject, version: 1))
            }
            return id
        }

        func schema(id: Int32, whileWaiting: () -> Void) -> RegisteredSchema? { byID[id] }
    }

    struct Built: @unchecked Sendable {
        var snapshot: RunSnapshot
        var nowMs: Int64
        var schemas: Schemas
        /// The JSON form of each Avro message, by topic and offset (the independent truth).
        var json: [String: [Int64: [UInt8]]]
        var framed: [String: [Int64: (key: [UInt8], value: [UInt8]?)]]
    }

    static let built: Built = {
        let schemas = Schemas()
        let encoder = AvroShopEncoder { subject, text in schemas.register(subject: subject, text: text) }
        let core = EngineCore(profile: .shop)
        core.captureRecentChanges = true
        core.schemaSource = schemas
        let workload = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: 13, products: 24, customers: 60, snapshotTransactions: 20,
                commitsPerSecond: 8))
        var out: [GeneratedMessage] = []
        while out.count < 3_000 { workload.next(into: &out) }
        var offsets: [String: Int64] = [:]
        var json: [String: [Int64: [UInt8]]] = [:]
        var framed: [String: [Int64: (key: [UInt8], value: [UInt8]?)]] = [:]
        for m in out {
            let avro = try! encoder.encode(m)
            let offset = offsets[m.topic, default: 0]
            offsets[m.topic] = offset + 1
            if let v = m.value { json[m.topic, default: [:]][offset] = v }
            framed[m.topic, default: [:]][offset] = (avro.key, avro.value)
            core.ingest(
                topic: m.topic, partition: 0, offset: offset, timestampMs: m.timestampMs, key: avro.key,
                value: avro.value)
        }
        // A live engine publishes several snapshots a second and decodes a bounded number of recent changes
        // for display in each: by the time anyone looks, it has decoded them all.
        for sequence in 1..<40 { _ = core.snapshot(sequence: UInt64(sequence), takenAtMs: 0) }
        var s = core.snapshot(sequence: 40, takenAtMs: 0)
        let nowMs = s.kpis.maxCommitTimeMs + 400
        s.takenAtMs = nowMs
        s.consumer.kafka = ServiceStatus(.ok, "127.0.0.1:9092")
        return Built(snapshot: s, nowMs: nowMs, schemas: schemas, json: json, framed: framed)
    }()

    /// A frame whose registry answers every id with `subjects` (nil: the registry's own subjects).
    static func frame(subjects: SchemaDetails.Subjects? = nil, schemas: Bool = true) -> DashboardFrame {
        var f = DashboardFrame(snapshot: built.snapshot, nowMs: built.nowMs)
        f.title = "avro fixture"
        let known = built.schemas
        if schemas {
            f.schemaDetails = { id, _ in
                SchemaDetails(schema: known.byID[id], subjects: subjects ?? .known(known.subjects[id] ?? []))
            }
        }
        return f
    }

    static let openRaw: [Key] = [.char("2"), .down, .down, .enter, .down, .enter, .char("y")]
    static let openEvent: [Key] = [.char("2"), .down, .down, .enter, .down, .enter]

    static func screen(_ keys: [Key], _ frame: DashboardFrame, width: Int = 100, height: Int = 30) -> String {
        var model = DashboardModel()
        for key in keys {
            model.adopt(DashboardRenderer.render(model, frame, width: width, height: height).1)
            _ = model.handle(key)
        }
        return DashboardRenderer.render(model, frame, width: width, height: height).0.text
    }

    static func expectGolden(_ name: String, _ screen: String, _ expected: String) {
        if screen != expected {
            mkdir("/tmp/cdctop-golden", 0o755)
            if let f = fopen("/tmp/cdctop-golden/\(name).txt", "w") {
                fputs(screen, f)
                fclose(f)
            }
        }
        #expect(
            screen == expected, "screen '\(name)' differs; actual written to /tmp/cdctop-golden/\(name).txt:\n\(screen)"
        )
    }

    @Test func theRingKeepsTheSchemaIDsAndTheFramedKeyOfEveryAvroChange() throws {
        let b = Self.built
        var checked = 0
        for (table, kept) in b.snapshot.diagnostics.recentChanges {
            #expect(!kept.isEmpty)
            for c in kept {
                let sent = try #require(b.framed[c.position.topic]?[c.position.offset], "\(table) \(c.position)")
                // The ids are the ones the encoder registered for this topic's -key and -value subjects.
                let valueID = sent.value.flatMap { v in v.withUnsafeBytes { AvroWire.schemaID($0) } }
                let keyID = sent.key.withUnsafeBytes { AvroWire.schemaID($0) }
                #expect(c.valueSchemaID == valueID && valueID != nil)
                #expect(c.keySchemaID == keyID && keyID != nil)
                #expect(
                    b.schemas.subjects[c.valueSchemaID!]?.map(\.subject).contains(c.position.topic + "-value") == true)
                #expect(b.schemas.subjects[c.keySchemaID!]?.map(\.subject).contains(c.position.topic + "-key") == true)
                #expect(c.framedKey == sent.key && c.value == sent.value)
                checked += 1
            }
        }
        #expect(checked > 1_000)
    }

    @Test func theChangeViewShowsTheSameRowsAsTheJSONForm() throws {
        let b = Self.built
        let frame = Self.frame()
        var compared = 0
        for (_, kept) in b.snapshot.diagnostics.recentChanges {
            for c in kept {
                _ = try #require(c.value)
                let fromAvro = try #require(c.decoded, "\(c.position)")
                let json = try #require(b.json[c.position.topic]?[c.position.offset])
                #expect(fromAvro == ChangeDescription.decode(value: json, defaultDecimalScale: 2), "\(c.position)")
                compared += 1
            }
        }
        #expect(compared > 1_000)
        // The event view: decoded before/after, as for JSON (the amount at its scale, times ISO-8601).
        let screen = Self.screen(Self.openEvent, frame)
        #expect(screen.contains("before") && screen.contains("after") && screen.contains("amount"), "\(screen)")
        #expect(!screen.contains("could not be decoded"), "\(screen)")
    }

    @Test func theRawViewShowsSchemaIDSubjectVersionAndTheRecordAsJSON() {
        Self.expectGolden("avro-raw", Self.screen(Self.openRaw, Self.frame()), Self.goldenRaw)
    }

    @Test func at80ColumnsLongLinesFlowByWordsAndANumberStaysWithItsUnit() {
        let why = "registry: Failed to connect to 127.0.0.1 port 36841 after 0 ms: Couldn't connect to server"
        let screen = Self.screen(Self.openRaw, Self.frame(subjects: .unknown(why)), width: 80, height: 24)
        let lines = screen.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.contains("│value  schema id 6 · subject unknown (registry: Failed to connect to 127.0.0.1")
            }, "\(screen)")
        // The continuation is indented, starts with a whole word, and "195 bytes" is not parted.
        #expect(
            lines.contains { $0.hasPrefix("│  ") && $0.contains("Couldn't connect to server) · 195 bytes") },
            "\(screen)")
        #expect(!screen.contains("│  bytes"), "\(screen)")
        #expect(RawMessageView.flow("ab 1,234 bytes", width: 13) == ["ab", "  1,234 bytes"])
    }

    @Test func aRegistryThatCannotSayTheSubjectIsNamedAndTheRecordIsStillShown() {
        let why = "registry: cannot connect to http://127.0.0.1:9/schemas/ids/6/versions: Connection refused"
        let screen = Self.screen(Self.openRaw, Self.frame(subjects: .unknown(why)))
        #expect(screen.contains("value  schema id 6 · subject unknown (registry: cannot connect"), "\(screen)")
        #expect(screen.contains("\"transaction_id\": "), "\(screen)")
        let asking = Self.screen(Self.openRaw, Self.frame(subjects: .asking))
        #expect(asking.contains("schema id 6 · subject … (asking the registry)"), "\(asking)")
    }

    @Test func withoutTheSchemaTheViewSaysWhyAndShowsTheBytes() {
        var frame = Self.frame(schemas: false)
        // As if the engine had not decoded them (it holds the schema; an attached viewer may not).
        frame.snapshot?.diagnostics.recentChanges = Self.built.snapshot.diagnostics.recentChanges.mapValues {
            $0.map {
                var c = $0
                c.decoded = nil
                return c
            }
        }
        let raw = Self.screen(Self.openRaw, frame)
        #expect(raw.contains("value  schema id 6 · subject unknown (no schema registry given)"), "\(raw)")
        #expect(
            raw.contains("no schema for id 6 (no schema registry given (--schema-registry URL)); the bytes"), "\(raw)")
        #expect(raw.contains("  0000  "), "\(raw)")
        let event = Self.screen(Self.openEvent, frame)
        #expect(event.contains("no schema for id 6 (no schema registry given"), "\(event)")
    }

    static let goldenRaw = #"""
         cdctop › avro fixture › Tables › transaction › event [0]@929           profile shop │ 11:34:24 UTC
          1 Overview 2 Tables  3 Categories 4 Lag 5 History 6 Alerts 7 Latency 8 KPIs 9 Snapshot 0 Trends
        ┌ transaction · c · shop.public.transaction[0]@929 ────────────────────────────────────────────────┐
        │key 642   commit 11:34:23 UTC   position shop.public.transaction[0]@929                           │
        │                                                                                                  │
        │raw Avro message as JsonConverter would write it (y: back to the table)                           │
        │key    schema id 5 · subject shop.public.transaction-key · version 1 · 7 bytes                    │
        │  {"transaction_id":642}                                                                          │
        │value  schema id 6 · subject shop.public.transaction-value · version 1 · 195 bytes                │
        │  {                                                                                               │
        │    "before": null,                                                                               │
        │    "after": {                                                                                    │
        │      "transaction_id": 642,                                                                      │
        │      "customer_id": 36,                                                                          │
        │      "amount": "BdcZ",  = 3827.45                                                                │
        │      "status": "new",                                                                            │
        │      "created_at": "2026-11-22T11:34:23.843585Z"                                                 │
        │    },                                                                                            │
        │    "source": {                                                                                   │
        │      "version": "3.6.3.Final",                                                                   │
        │      "connector": "postgresql",                                                                  │
        │      "name": "shop",                                                                             │
        │      "ts_ms": 1795347263844,                                                                     │
        │      "snapshot": "false",                                                                        │
        │      "db": "shop",                                                                               │
        │      "sequence": "[\"27831320\",\"27831320\"]",                                                  │
        │      "ts_us": 1795347263844133,                                                                  │
        └──────────────────────────────────────────────────────────────────────────────────────────────────┘
         Kafka ● ok │ Redis mirror ○ off │ Warehouse ○ off │ state ○ none    msgs 3,000 · refused 0 · dup 0
         ? help  q quit  0-9/Tab views  ↑↓ move  y table  Esc back  p pause  t theme  m mirror  : command
        """#
}
