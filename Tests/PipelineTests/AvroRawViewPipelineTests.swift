import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// What the dashboard's drill-down reads of Avro messages: the record rendered as JSON (checked against the
/// JsonConverter payload of the same real Debezium rows), the change view's rows, the schema ids kept in
/// the recent-change ring, and subject/version asked lazily from the registry TEST STAND-IN.
@Suite(.serialized)
struct AvroRawViewPipelineTests {
    // MARK: JSON rendering against the real samples

    @Test("the JSON rendering of each real Debezium message, as Avro, equals JsonConverter's payload", arguments: 0..<4)
    func renderingEqualsTheJSONConvertersPayload(set: Int) throws {
        let (files, _) = AvroDecoderTests.sampleSets[set]
        var compared = 0
        for file in files {
            for m in try Samples.messages(file) {
                guard let v = m.value, let (text, payload) = ConnectAvro.convert(v) else { continue }
                let expected = try #require(JSONValue.parse(v)?["payload"])
                let schema = try AvroSchema(json: text)
                let got = try payload.withUnsafeBytes { p throws(AvroError) in
                    try AvroJSONRendering.value(schema: schema, payload: p)
                }
                #expect(Self.same(got, expected), "\(file)@\(m.offset): \(got)")
                // The text is Jackson's compact form of that value.
                var jackson = ""
                AvroText.json(got, into: &jackson)
                let rendered = try payload.withUnsafeBytes { p throws(AvroError) in
                    try AvroJSONRendering.json(schema: schema, payload: p)
                }
                #expect(rendered == jackson && JSONValue.parse(rendered) == got)
                compared += 1
            }
        }
        #expect(compared > 10)
    }

    @Test("the change view's rows from Avro equal those from the JSON of the same real messages", arguments: 0..<4)
    func changeDescriptionsMatch(set: Int) throws {
        let (files, _) = AvroDecoderTests.sampleSets[set]
        var changes = 0
        for file in files {
            for m in try Samples.messages(file) {
                guard let v = m.value, let (text, payload) = ConnectAvro.convert(v) else { continue }
                let fromJSON = ChangeDescription.decode(value: v)
                let fromAvro = ChangeDescription.decode(avroPayload: payload, schema: try AvroSchema(json: text))
                #expect(
                    fromAvro?.op == fromJSON?.op && fromAvro?.table == fromJSON?.table
                        && fromAvro?.commitTimeMs == fromJSON?.commitTimeMs)
                for (a, j) in [(fromAvro?.before, fromJSON?.before), (fromAvro?.after, fromJSON?.after)] {
                    #expect(a?.map(\.name) == j?.map(\.name), "\(file)@\(m.offset)")
                    for (x, y) in zip(a ?? [], j ?? []) {
                        #expect(
                            Self.sameText(x.value, y.value), "\(file)@\(m.offset) \(x.name): \(x.value) vs \(y.value)")
                    }
                }
                if fromJSON?.after != nil || fromJSON?.before != nil { changes += 1 }
            }
        }
        #expect(changes > 5)
    }

    /// Equal JSON, numbers by their text; except a float whose text differs from the fixture's: the fixture
    /// lines were re-serialized when captured (`1234567890.12`), while JsonConverter writes Java's text
    /// (`1.23456789012E9`, see AvroText.java): those must be the same double.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return sameText(x, y)
        case (.array(let xs), .array(let ys)): return xs.count == ys.count && zip(xs, ys).allSatisfy { same($0, $1) }
        case (.object(let xs), .object(let ys)):
            return xs.count == ys.count && zip(xs, ys).allSatisfy { $0.key == $1.key && same($0.value, $1.value) }
        default: return a == b
        }
    }

    static func sameText(_ x: String, _ y: String) -> Bool {
        if x == y { return true }
        let isFloat = { (t: String) in t.contains(".") || t.contains("E") }
        guard isFloat(x), isFloat(y), let dx = Double(x), let dy = Double(y) else { return false }
        return dx == dy
    }

    @Test func bytesThatDoNotFollowTheSchemaAreAnErrorWithTheirPosition() throws {
        let schema = try AvroSchema(json: #"{"type":"record","name":"K","fields":[{"name":"id","type":"long"}]}"#)
        func render(_ bytes: [UInt8]) -> AvroError? {
            bytes.withUnsafeBytes { p -> AvroError? in
                do throws(AvroError) {
                    _ = try AvroJSONRendering.json(schema: schema, payload: p)
                    return nil
                } catch { return error }
            }
        }
        #expect(render([0x04]) == nil)
        #expect(render([]) != nil)
        #expect(render([0x04, 0x00])?.position == 1)
        #expect(render([0x04, 0x00])?.what.contains("trailing") == true)
    }

    // MARK: the ring

    @Test("the ring keeps value and key schema ids and the framed key, for a model profile's composite keys too")
    func ringKeepsSchemaIDs() throws {
        let profile = try ModelFixture.profile()
        let schemas = TestSchemas()
        let core = EngineCore(profile: profile)
        core.schemaSource = schemas
        core.captureRecentChanges = true
        var offsets: [String: Int64] = [:]
        var sent: [String: [Int64: (key: [UInt8]?, value: [UInt8]?)]] = [:]
        for m in AvroDecoderTests.nwMessages() {
            let offset = offsets[m.topic, default: -1] + 1
            offsets[m.topic] = offset
            let key = schemas.frame(m.key)
            let value = schemas.frame(m.value)
            sent[m.topic, default: [:]][offset] = (key, value)
            core.ingest(topic: m.topic, partition: 0, offset: offset, key: key, value: value)
        }
        #expect(core.malformed == 0)
        var checked = 0
        for (_, kept) in core.recentChanges {
            for c in kept {
                let s = try #require(sent[c.position.topic]?[c.position.offset])
                let valueID = s.value.flatMap { v in v.withUnsafeBytes { AvroWire.schemaID($0) } }
                let keyID = s.key.flatMap { k in k.withUnsafeBytes { AvroWire.schemaID($0) } }
                #expect(c.valueSchemaID == valueID && valueID != nil)
                #expect(c.keySchemaID == keyID && keyID != nil)
                #expect(c.framedKey == s.key)
                // The row key is still the decoded one (composite: order_id and product_id), not the bytes.
                #expect(!c.key.contains("Avro key"), "\(c.key)")
                checked += 1
            }
        }
        #expect(checked == 10)
        // JSON messages keep no ids.
        let json = EngineCore(profile: profile)
        json.captureRecentChanges = true
        for (i, m) in AvroDecoderTests.nwMessages().enumerated() {
            json.ingest(topic: m.topic, partition: 0, offset: Int64(i), key: m.key, value: m.value)
        }
        let all = json.recentChanges.values.flatMap { $0 }
        #expect(
            !all.isEmpty && all.allSatisfy { $0.valueSchemaID == nil && $0.keySchemaID == nil && $0.framedKey == nil })
    }

    // MARK: subject and version from the registry

    /// The stand-in with extra arguments (e.g. --no-versions-endpoint); SIGKILLed by pid in `stop()`.
    final class StandIn {
        let process = Process()
        let port: Int
        var url: String { "http://127.0.0.1:\(port)" }

        init(_ arguments: [String] = []) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("scripts/schema-registry-standin.py").path
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, "--port", "0"] + arguments
            port = try startPortPrinting(process, what: "the registry stand-in")
        }

        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        deinit { stop() }
    }

    static let valueSchema =
        #"{"type":"record","name":"Value","namespace":"rv.public.t","fields":[{"name":"id","type":"long"}]}"#
    static let keySchema =
        #"{"type":"record","name":"Key","namespace":"rv.public.t","fields":[{"name":"id","type":"long"}]}"#

    /// Asks until the answer is no longer "asking" (the lookup's thread answers; at most 30 s).
    static func settled(_ lookup: SchemaDetailsLookup, _ id: Int32) -> SchemaDetails {
        var d = lookup.details(id: id)
        for _ in 0..<600 where d.subjects == .asking {
            Thread.sleep(forTimeInterval: 0.05)
            d = lookup.details(id: id)
        }
        return d
    }

    @Test func subjectsAreAskedOnlyForTheViewCachedBesideTheSchemaAndShownFromTheCacheWithTheRegistryDown() throws {
        let registry = try StandIn()
        defer { registry.stop() }
        let cache = RegistryTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let producer = RegistryTests.client([registry.url])
        let id = try producer.register(subject: "rv.public.t-value", schema: Self.valueSchema)
        #expect(try producer.register(subject: "rv.other.t-value", schema: Self.valueSchema) == id)
        let keyID = try producer.register(subject: "rv.public.t-key", schema: Self.keySchema)

        // The engine's fetch asks for the schema only.
        let client = RegistryTests.client([registry.url], cache: cache)
        let fetched = try #require(client.schema(id: id, whileWaiting: {}))
        #expect(fetched.subjects.isEmpty)
        let file = (cache as NSString).appendingPathComponent("\(id).json")
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("\"subjects\":[]"))

        // The view asks: "asking" at once (never waits), then both subjects with their versions.
        let lookup = SchemaDetailsLookup(registry: client)
        defer { lookup.stop() }
        let first = lookup.details(id: id)
        #expect(first.subjects == .asking && first.schema != nil)
        let answered = Self.settled(lookup, id)
        #expect(
            answered.subjects
                == .known([
                    SubjectVersion(subject: "rv.other.t-value", version: 1),
                    SubjectVersion(subject: "rv.public.t-value", version: 1),
                ]))
        #expect(
            try String(contentsOfFile: file, encoding: .utf8).contains(
                "\"subjects\":[\"rv.other.t-value v1\",\"rv.public.t-value v1\"]"))
        // A key's schema the engine never needed (the built-in profile) is fetched for the view too.
        let noSchemaYet = lookup.details(id: keyID)
        #expect(noSchemaYet.schema == nil && noSchemaYet.schemaProblem == "asking the registry")
        let key = Self.settled(lookup, keyID)
        #expect(key.schema?.text == Self.keySchema)
        #expect(key.subjects == .known([SubjectVersion(subject: "rv.public.t-key", version: 1)]))
        // The change list asks nothing.
        let other = try producer.register(
            subject: "rv.public.u-value",
            schema: Self.valueSchema.replacingOccurrences(of: "rv.public.t", with: "rv.public.u"))
        #expect(lookup.details(id: other, askSubjects: false).schema == nil)
        #expect(lookup.details(id: other, askSubjects: false).subjects == .unknown("not asked"))

        // A restart with the registry gone: subject and version from the cache, nothing asked.
        registry.stop()
        let restarted = SchemaDetailsLookup(registry: RegistryTests.client([registry.url], cache: cache))
        defer { restarted.stop() }
        #expect(restarted.details(id: id).subjects == answered.subjects)
        #expect(restarted.details(id: keyID).subjects == key.subjects)
    }

    @Test func aRegistryDownOrWithoutTheEndpointIsNamedAndTheSchemaStillServes() throws {
        let registry = try StandIn(["--no-versions-endpoint"])
        defer { registry.stop() }
        let id = try RegistryTests.client([registry.url]).register(
            subject: "rv.public.t-value", schema: Self.valueSchema)
        let client = RegistryTests.client([registry.url])
        #expect(client.schema(id: id, whileWaiting: {}) != nil)
        let lookup = SchemaDetailsLookup(registry: client)
        defer { lookup.stop() }
        let noEndpoint = Self.settled(lookup, id)
        #expect(noEndpoint.schema != nil)
        #expect(
            noEndpoint.subjects
                == .unknown(
                    "registry: HTTP 404 for GET /schemas/ids/\(id)/versions: no such endpoint, or the id is not there"))

        // Down: the error is named; the id is not asked again before `retryAfterMs` (the screen asks 5 times a second).
        registry.stop()
        let down = SchemaDetailsLookup(registry: client)
        defer { down.stop() }
        let answer = Self.settled(down, id)
        guard case .unknown(let why) = answer.subjects else {
            Issue.record("expected unknown, got \(answer.subjects)")
            return
        }
        #expect(why.hasPrefix("registry: ") && why.contains("\(registry.port)"), "\(why)")
        #expect(answer.schema != nil)
        #expect(down.details(id: id).subjects == answer.subjects)
        #expect(
            down.details(id: id, nowMs: WallClock.nowMs() + SchemaDetailsLookup.retryAfterMs + 1).subjects == .asking)
    }

    @Test func withoutARegistryTheSubjectIsUnknownAndLocalSchemasServe() throws {
        let schema = RegisteredSchema(id: 4, schemaType: "AVRO", text: Self.valueSchema, subjects: [])
        let lookup = SchemaDetailsLookup(localSchema: { $0 == 4 ? schema : nil })
        #expect(lookup.details(id: 4).schema === schema)
        #expect(lookup.details(id: 4).subjects == .unknown("no schema registry given"))
        #expect(lookup.details(id: 5).schema == nil)
    }
}
