import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// Recordings of Avro topics: the binary-safe line form (base64 keys and values, schema lines), its
/// writer, replays that take schemas from the recording, a folder or a registry, and `record`
/// against the real broker.
enum AvroRecordingFixture {
    /// Schemas registered in memory (the generator's `register` hook), ids from 101 on.
    final class MemoryRegistry {
        private(set) var texts: [Int32: String] = [:]
        private var ids: [String: Int32] = [:]
        func register(_ subject: String, _ text: String) -> Int32 {
            if let id = ids[text] { return id }
            let id = Int32(101 + texts.count)
            ids[text] = id
            texts[id] = text
            return id
        }
    }

    /// A placed message: partition by Java's murmur2 of the JSON key, offsets counted per partition.
    struct Placed {
        var topic: String, partition: Int32, offset: Int64, timestampMs: Int64
        var key: [UInt8]?, value: [UInt8]?
    }

    static func workload(seed: UInt64 = 11, count: Int = 5_000, malformedEvery: Int = 173) -> (
        ShopWorkload, [GeneratedMessage]
    ) {
        let w = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: seed, products: 40, customers: 80, snapshotTransactions: 30,
                commitsPerSecond: 8, malformedEvery: malformedEvery))
        var out: [GeneratedMessage] = []
        while out.count < count { w.next(into: &out) }
        return (w, out)
    }

    /// The JSON messages placed, and the same messages in Avro (same partitions and offsets).
    static func placed(_ messages: [GeneratedMessage], registry: MemoryRegistry) throws -> (
        json: [Placed], avro: [Placed]
    ) {
        let encoder = AvroShopEncoder(register: { registry.register($0, $1) })
        var offsets: [String: Int64] = [:]
        var json: [Placed] = []
        var avro: [Placed] = []
        for m in messages {
            let p = KcatRecording.murmur2Partition(key: m.key, partitions: 3)
            let k = "\(m.topic)/\(p)"
            let offset = offsets[k, default: 0]
            offsets[k] = offset + 1
            json.append(
                Placed(
                    topic: m.topic, partition: p, offset: offset, timestampMs: m.timestampMs, key: m.key, value: m.value
                ))
            let a = try encoder.encode(m)
            avro.append(
                Placed(
                    topic: m.topic, partition: p, offset: offset, timestampMs: m.timestampMs, key: a.key, value: a.value
                ))
        }
        return (json, avro)
    }

    /// Writes `messages` in the binary-safe form; with `schemas`, each id's line before its first use.
    static func writeRecording(_ messages: [Placed], schemas: [Int32: String]?, path: String) throws {
        let writer = try RecordingWriter(path: path)
        for m in messages {
            if let schemas {
                for id in [AvroWire.schemaID(m.key), AvroWire.schemaID(m.value)].compactMap({ $0 })
                where !writer.hasSchema(id: id) {
                    try writer.writeSchema(id: id, text: try #require(schemas[id]))
                }
            }
            try writer.writeMessage(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs,
                key: m.key, value: m.value)
        }
        try writer.flush()
    }

    /// `cdctop replay --json` of the JSON form: the messages as a kcat -J recording, replayed.
    static func jsonReplayResult(_ messages: [Placed]) throws -> String {
        var bytes: [UInt8] = []
        for m in messages {
            bytes +=
                RecordingFixture.kcatJ(m.topic, m.partition, m.offset, key: m.key, value: m.value, ts: m.timestampMs)
                + [0x0A]
        }
        let path = try RecordingFixture.write(bytes, name: "json.jsonl")
        defer { unlink(path) }
        let core = EngineCore(profile: .shop)
        try RecordingReplay(core: core).replay(path: path)
        return core.result.json()
    }

    static func replay(
        _ path: String, schemas: RecordingSchemas = RecordingSchemas(), chunkSize: Int = 1 << 20,
        batches: Int = 3
    ) throws -> EngineCore {
        let core = EngineCore(profile: .shop)
        let replay = RecordingReplay(core: core, schemas: schemas)
        replay.chunkSize = chunkSize
        replay.batches = batches
        try replay.replay(path: path)
        return core
    }
}

@Suite(
    "Avro recordings: the binary-safe form, schema lines, replay with schemas from the recording, a folder or a registry"
)
struct AvroRecordingTests {
    private struct Message: Equatable, CustomStringConvertible {
        var topic: String, partition: Int32, offset: Int64, ts: Int64, key: [UInt8]?, value: [UInt8]?
        init(_ m: OwnedMessage) {
            (topic, partition, offset, ts, key, value) = (m.topic, m.partition, m.offset, m.timestampMs, m.key, m.value)
        }
        init(_ topic: String, _ partition: Int32, _ offset: Int64, _ ts: Int64, _ key: [UInt8]?, _ value: [UInt8]?) {
            (self.topic, self.partition, self.offset, self.ts, self.key, self.value) = (
                topic, partition, offset, ts, key, value
            )
        }
        var description: String {
            "\(topic)/\(partition)@\(offset) ts \(ts) key \(key.map { "\($0)" } ?? "null") value \(value.map { "\($0.count) B" } ?? "null")"
        }
    }

    @Test("base64 lines by hand: null keys, tombstones, empty values, every byte, escaped slashes, no padding")
    func handWrittenLines() throws {
        let every = (0...255).map(UInt8.init)
        let lines = [
            #"{"topic":"a.b","partition":2,"offset":7,"ts":1700000000123,"key_b64":"AAAAAGU=","value_b64":"AAAAAGYCaGk="}"#,
            #"{"topic":"a.b","partition":2,"offset":8,"ts":5,"key_b64":null,"value_b64":"aGk="}"#,
            #"{"topic":"a.b","partition":2,"offset":9,"ts":6,"key_b64":"aw==","value_b64":null}"#,
            #"{"topic":"a.b","partition":0,"offset":1,"key_b64":"aw","value_b64":""}"#,
            #"{"topic":"a.b","partition":0,"offset":2,"value_b64":"aGk\/Pz8+"}"#,
            "{\"topic\":\"c\",\"partition\":1,\"offset\":3,\"ts\":0,\"key_b64\":null,\"value_b64\":\""
                + Data(every).base64EncodedString() + "\"}",
        ]
        let expected = [
            Message("a.b", 2, 7, 1_700_000_000_123, [0, 0, 0, 0, 0x65], [0, 0, 0, 0, 0x66, 0x02, 0x68, 0x69]),
            Message("a.b", 2, 8, 5, nil, Array("hi".utf8)),
            Message("a.b", 2, 9, 6, Array("k".utf8), nil),
            Message("a.b", 0, 1, 0, Array("k".utf8), []),
            Message("a.b", 0, 2, 0, nil, Array("hi???>".utf8)),
            Message("c", 1, 3, 0, nil, every),
        ]
        for (line, e) in zip(lines, expected) {
            let m = try #require(try RecordingReader.parse(line: Substring(line), file: "f", lineNumber: 1))
            #expect(Message(m) == e)
        }
        // The same lines through the scanner, CRLF and blank lines between, chunks cutting them anywhere.
        let file = Array(lines.joined(separator: "\r\n\n").utf8)
        for chunk in [16, 33, 100, 1 << 20] {
            let got = try RecordingFixture.scan(file: file, chunkSize: chunk).map(Message.init)
            #expect(got == expected, "chunk \(chunk)")
        }
    }

    @Test(
        "what the writer writes reads back byte for byte, schema lines where they stood", arguments: [16, 257, 1 << 20])
    func writerRoundTrip(chunkSize: Int) throws {
        var rng = SystemRandomNumberGenerator()
        let path = RecordingFixture.temporaryPath("w.rec")
        defer { unlink(path) }
        var expected: [Message] = []
        var schemaAt: [(beforeEntry: Int, id: Int32, text: String)] = []
        do {
            let writer = try RecordingWriter(path: path)
            for i in 0..<600 {
                if i % 97 == 0 {
                    let text =
                        "{\"type\":\"record\",\"name\":\"r\(i)\",\"doc\":\"quote \\\" backslash \\\\ é\",\"fields\":[]}"
                    try writer.writeSchema(id: Int32(i), schemaType: i % 2 == 0 ? "AVRO" : "JSON", text: text)
                    try writer.writeSchema(id: Int32(i), text: "ignored: written once per id")
                    schemaAt.append((expected.count, Int32(i), text))
                }
                let size = [0, 1, 2, 3, 4, 5, 100, 3000][i % 8]
                let value: [UInt8]? =
                    i % 11 == 10 ? nil : (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let key: [UInt8]? = i % 7 == 6 ? nil : (0..<(i % 9)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let topic = ["t.one", "t\"two\\", "t\u{e9}"][i % 3]
                try writer.writeMessage(
                    topic: topic, partition: Int32(i % 5), offset: Int64(i), timestampMs: Int64(i) * 1000 - 1,
                    key: key, value: value)
                expected.append(Message(topic, Int32(i % 5), Int64(i), Int64(i) * 1000 - 1, key, value))
            }
            try writer.flush()
            #expect(writer.messagesWritten == 600 && writer.schemasWritten == schemaAt.count)
        }
        let scanner = try RecordingScanner(path: path, chunkSize: chunkSize)
        let batch = scanner.makeBatch()
        var topics: [String] = []
        var got: [Message] = []
        var schemas: [(beforeEntry: Int, id: Int32, text: String)] = []
        while try scanner.fill(batch) {
            topics += batch.newTopics
            for s in batch.schemas {
                schemas.append((got.count + s.beforeEntry, s.id, s.text))
                #expect(s.schemaType == (s.id % 2 == 0 ? "AVRO" : "JSON"))
            }
            for e in batch.entries {
                got.append(
                    Message(
                        topics[Int(e.topic)], e.partition, e.offset, e.timestampMs, batch.key(e).map { Array($0) },
                        batch.value(e).map { Array($0) }))
            }
        }
        #expect(got == expected)
        #expect(schemas.map(\.beforeEntry) == schemaAt.map(\.beforeEntry))
        #expect(schemas.map(\.id) == schemaAt.map(\.id))
        #expect(schemas.map(\.text) == schemaAt.map(\.text))
    }

    @Test(
        "bad base64 and bad schema lines are errors naming the file and the line, wherever the chunks fall",
        arguments: [
            (
                #"{"topic":"t","partition":0,"offset":1,"value_b64":"ab$d"}"#,
                "value_b64 is not valid base64: a character outside the base64 alphabet at character 3"
            ),
            (
                #"{"topic":"t","partition":0,"offset":1,"key_b64":"abcde","value_b64":null}"#,
                "key_b64 is not valid base64: a lone last character"
            ),
            (
                #"{"topic":"t","partition":0,"offset":1,"value_b64":"ab=d"}"#,
                "value_b64 is not valid base64: '=' before the end"
            ),
            (
                #"{"topic":"t","partition":0,"offset":1,"value_b64":"abc=="}"#,
                "value_b64 is not valid base64: padding '='"
            ),
            (#"{"topic":"t","partition":0,"offset":1,"value_b64":"===="}"#, "value_b64 is not valid base64"),
            (#"{"topic":"t","partition":0,"offset":1,"value_b64":42}"#, "invalid JSON"),
            (#"{"topic":"t","partition":0,"offset":1,"value_b64":"unterminated}"#, "invalid JSON"),
            (#"{"schema_id":"7","schema":"{}"}"#, "schema_id is not a 32-bit integer"),
            (#"{"schema_id":4294967296,"schema":"{}"}"#, "schema_id is not a 32-bit integer"),
            (#"{"schema_id":7}"#, "a schema line needs"),
            (#"{"schema":"{}"}"#, "a schema line needs"),
            (#"{"schema_id":7,"schema":{"type":"int"}}"#, "schema is not a JSON string"),
            (#"{"schema_id":7,"schema":"{}","topic":"t"}"#, "a schema line needs"),
        ])
    func errorsNameFileAndLine(bad: String, reason: String) throws {
        var bytes: [UInt8] = []
        let path = RecordingFixture.temporaryPath("bad.rec")
        defer { unlink(path) }
        do {
            let writer = try RecordingWriter(path: path)
            for i in 0..<30 {
                try writer.writeMessage(
                    topic: "t", partition: 0, offset: Int64(i), timestampMs: 0, key: nil,
                    value: Array(repeating: UInt8(i), count: i * 11))
            }
            try writer.flush()
        }
        bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes += Array(bad.utf8) + [0x0A]  // line 31
        bytes += Array(#"{"topic":"t","partition":0,"offset":99,"value_b64":"aGk="}"#.utf8) + [0x0A]
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for chunk in [16, 100, 1 << 16] {
            do {
                _ = try RecordingFixture.scan(RecordingScanner(path: path, chunkSize: chunk))
                Issue.record("no error for \(bad)")
            } catch let error as RecordingError {
                #expect(error.file == path && error.line == 31, "\(error)")
                #expect(error.description.hasPrefix("\(path):31: \(reason)"), "\(error)")
            }
        }
        let error = #expect(throws: RecordingError.self) {
            try RecordingReader.parse(line: Substring(bad), file: "x.rec", lineNumber: 5)
        }
        #expect(error?.description.hasPrefix("x.rec:5: \(reason)") == true, "\(String(describing: error))")
    }

    /// Golden equality: the shop workload in JsonConverter form and the same rows as AvroConverter
    /// would write them, recorded, give byte-identical `replay --json` results, equal to the truth.
    @Test(
        "an Avro recording with its schema lines replays to the JSON form's result, byte for byte",
        arguments: [(1 << 20, 3), (4096, 1), (70_000, 2)])
    func goldenEquality(chunkSize: Int, batches: Int) throws {
        let (workload, messages) = AvroRecordingFixture.workload()
        let registry = AvroRecordingFixture.MemoryRegistry()
        let (json, avro) = try AvroRecordingFixture.placed(messages, registry: registry)
        #expect(avro.filter { AvroWire.schemaID($0.value) != nil }.count > 4_000)
        // tombstones, garbage
        #expect(avro.contains { $0.value == nil } && avro.contains { ($0.value?.first ?? 0) == 1 })
        let path = RecordingFixture.temporaryPath("avro.rec")
        defer { unlink(path) }
        try AvroRecordingFixture.writeRecording(avro, schemas: registry.texts, path: path)
        let core = try AvroRecordingFixture.replay(path, chunkSize: chunkSize, batches: batches)
        let expected = try AvroRecordingFixture.jsonReplayResult(json)
        #expect(core.result.json() == expected)
        #expect(expected == workload.groundTruth.json())
        #expect(core.malformed == workload.groundTruth.malformed && core.malformed > 0)
        #expect(core.recentMalformed.allSatisfy { !$0.reason.contains("schema") }, "\(core.recentMalformed.prefix(2))")
        #expect(core.tombstones > 0)
        // The recording is a fraction of the JSON form's size.
        var jsonBytes = 0
        for m in json {
            jsonBytes += RecordingFixture.kcatJ(m.topic, m.partition, m.offset, key: m.key, value: m.value).count + 1
        }
        let avroBytes = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)
            .intValue
        #expect(avroBytes * 3 < jsonBytes, "\(avroBytes) B Avro recording vs \(jsonBytes) B kcat -J")
    }

    @Test("without schema lines: --schemas DIR in the cache form or as bare Avro schemas gives the same result")
    func schemasFromADirectory() throws {
        let (_, messages) = AvroRecordingFixture.workload(seed: 3, count: 2_000)
        let registry = AvroRecordingFixture.MemoryRegistry()
        let (json, avro) = try AvroRecordingFixture.placed(messages, registry: registry)
        let path = RecordingFixture.temporaryPath("noschemas.rec")
        defer { unlink(path) }
        try AvroRecordingFixture.writeRecording(avro, schemas: nil, path: path)
        let directory = RegistryTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The shop profile keys rows by a value column: only the values' schemas are asked for.
        let valueIDs = Set(avro.compactMap { AvroWire.schemaID($0.value) }).sorted()
        #expect(valueIDs.count == 4 && registry.texts.count == 8)
        // Every other one in the form a watch state directory caches, the rest as the bare schema.
        for (i, (id, text)) in registry.texts.sorted(by: { $0.key < $1.key }).enumerated() {
            let file = (directory as NSString).appendingPathComponent("\(id).json")
            let cached = (valueIDs.firstIndex(of: id) ?? i) % 2 == 0
            let content =
                cached
                ? RegisteredSchema(id: id, schemaType: "AVRO", text: text, subjects: ["s-value v1"]).cacheJSON : text
            try content.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let schemas = RecordingSchemas(directory: directory)
        let core = try AvroRecordingFixture.replay(path, schemas: schemas)
        #expect(core.result.json() == (try AvroRecordingFixture.jsonReplayResult(json)))
        #expect(schemas.schemas.map(\.id) == valueIDs)
    }

    @Test("an id no source has stops the replay with an error naming the id, its line and what to pass")
    func missingSchemaIsAClearError() throws {
        let (_, messages) = AvroRecordingFixture.workload(seed: 4, count: 300, malformedEvery: 0)
        let registry = AvroRecordingFixture.MemoryRegistry()
        let (_, avro) = try AvroRecordingFixture.placed(messages, registry: registry)
        let path = RecordingFixture.temporaryPath("missing.rec")
        defer { unlink(path) }
        // Every schema but the one of the 40th message's value.
        let withheld = try #require(AvroWire.schemaID(avro[39].value))
        let firstUse = try #require(
            avro.firstIndex { AvroWire.schemaID($0.value) == withheld || AvroWire.schemaID($0.key) == withheld })
        var texts = registry.texts
        texts[withheld] = nil
        let writer = try RecordingWriter(path: path)
        for m in avro {
            for id in [AvroWire.schemaID(m.key), AvroWire.schemaID(m.value)].compactMap({ $0 })
            where !writer.hasSchema(id: id) && texts[id] != nil {
                try writer.writeSchema(id: id, text: texts[id]!)
            }
            try writer.writeMessage(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
        try writer.flush()
        // The line of the first message that uses it: message lines plus the schema lines before it.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let needle = "\"offset\":\(avro[firstUse].offset),"
        let line =
            try #require(
                lines.firstIndex {
                    $0.contains("\"topic\":\"\(avro[firstUse].topic)\"")
                        && $0.contains("\"partition\":\(avro[firstUse].partition),") && $0.contains(needle)
                }) + 1
        for batches in [1, 3] {
            let directory = RegistryTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let error = #expect(throws: RecordingError.self) {
                _ = try AvroRecordingFixture.replay(path, chunkSize: 4096, batches: batches)
            }
            #expect(error?.file == path && error?.line == line, "\(String(describing: error))")
            let reason = error?.reason ?? ""
            #expect(
                reason.hasPrefix(
                    "schema id \(withheld) (first needed by \(avro[firstUse].topic)[\(avro[firstUse].partition)]@\(avro[firstUse].offset)) is unknown"
                ), "\(reason)")
            #expect(reason.contains("--schema-registry URL") && reason.contains("--schemas DIR"), "\(reason)")
            // With an empty folder: it says where it looked, and only the registry is left to suggest.
            let inFolder = #expect(throws: RecordingError.self) {
                _ = try AvroRecordingFixture.replay(
                    path, schemas: RecordingSchemas(directory: directory), batches: batches)
            }
            #expect(
                inFolder?.reason.contains("there is no \(directory)/\(withheld).json") == true,
                "\(String(describing: inFolder))")
            #expect(
                inFolder?.reason.contains("pass --schema-registry URL") == true
                    && inFolder?.reason.contains("pass --schemas") == false)
        }
    }

    @Test("the same id defined twice with different schemas is an error; twice the same is not")
    func conflictingSchemaLines() throws {
        let path = RecordingFixture.temporaryPath("conflict.rec")
        defer { unlink(path) }
        var text = #"{"schema_id":5,"schema":"{\"type\":\"int\"}"}"# + "\n"
        text += #"{"schema_id":5,"schema":"{\"type\":\"int\"}"}"# + "\n"
        text += #"{"topic":"other","partition":0,"offset":0,"value_b64":"AAAAAAUC"}"# + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let core = try AvroRecordingFixture.replay(path)
        #expect(core.messages == 1)
        text += #"{"schema_id":5,"schema":"{\"type\":\"long\"}"}"# + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: RecordingError.self) { _ = try AvroRecordingFixture.replay(path) }
        #expect(
            error?.line == 4
                && error?.reason.contains(
                    "schema id 5 is defined again with a different schema (the one used so far came from line 1 of \(path))"
                ) == true,
            "\(String(describing: error))")
    }
}

/// Replays that ask the registry (the TEST STAND-IN, started per test) and `record` against the real
/// broker (Tansu, CDCTOP_TEST_BROKERS).
@Suite("Avro recordings with a registry and a broker", .serialized, .tags(.kafka))
struct AvroRecordingServiceTests {
    @Test(
        "a recording without schema lines replays with --schema-registry; a registry that is down is an error, not a wait"
    )
    func schemasFromTheRegistry() throws {
        let standIn = try RegistryTests.StandIn()
        defer { standIn.stop() }
        let client = RegistryTests.client([standIn.url])
        let (_, messages) = AvroRecordingFixture.workload(seed: 8, count: 1_500)
        let encoder = AvroShopEncoder(register: { try client.register(subject: $0, schema: $1) })
        var offsets: [String: Int64] = [:]
        var json: [AvroRecordingFixture.Placed] = []
        let path = RecordingFixture.temporaryPath("registry.rec")
        defer { unlink(path) }
        let writer = try RecordingWriter(path: path)
        for m in messages {
            let offset = offsets[m.topic, default: 0]
            offsets[m.topic] = offset + 1
            json.append(
                .init(
                    topic: m.topic, partition: 0, offset: offset, timestampMs: m.timestampMs, key: m.key, value: m.value
                ))
            let a = try encoder.encode(m)
            try writer.writeMessage(
                topic: a.topic, partition: 0, offset: offset, timestampMs: a.timestampMs, key: a.key, value: a.value)
        }
        try writer.flush()
        let expected = try AvroRecordingFixture.jsonReplayResult(json)
        let core = try AvroRecordingFixture.replay(
            path, schemas: RecordingSchemas(registry: RegistryTests.client([standIn.url])))
        #expect(core.result.json() == expected)
        #expect(core.malformed > 0 && core.recentMalformed.allSatisfy { !$0.reason.contains("schema") })

        standIn.stop()
        let error = #expect(throws: RecordingError.self) {
            _ = try AvroRecordingFixture.replay(
                path, schemas: RecordingSchemas(registry: RegistryTests.client([standIn.url])))
        }
        let reason = error?.reason ?? ""
        #expect(
            reason.contains("is unknown")
                && reason.contains("the schema registry http://127.0.0.1:\(standIn.port) did not give it"), "\(reason)")
        #expect(reason.contains("pass --schemas DIR") && !reason.contains("pass --schema-registry"), "\(reason)")
    }

    static func brokers() -> String? {
        guard let brokers = TestServices.environment("CDCTOP_TEST_BROKERS") else {
            Issue.record(
                "CDCTOP_TEST_BROKERS is not set: run scripts/services up tansu and source .run/env (or run scripts/test)"
            )
            return nil
        }
        return brokers
    }

    @Test(
        "record from Tansu with the registry: every schema once, before its first use; the recording replays alone to the JSON result"
    )
    func recordFromTheBroker() throws {
        guard let brokers = Self.brokers() else { return }
        let standIn = try RegistryTests.StandIn()
        defer { standIn.stop() }
        let client = RegistryTests.client([standIn.url])
        let prefix = "rec\(UInt32.random(in: 0...UInt32.max))"
        let w = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: 21, topicPrefix: prefix, products: 30, customers: 60,
                snapshotTransactions: 20, commitsPerSecond: 8, malformedEvery: 97))
        var messages: [GeneratedMessage] = []
        while messages.count < 3_000 { w.next(into: &messages) }
        let encoder = AvroShopEncoder(register: { try client.register(subject: $0, schema: $1) })
        let producer = try KafkaProducer(brokers: brokers)
        for m in messages {
            let a = try encoder.encode(m)
            try producer.produce(topic: a.topic, key: a.key, value: a.value)
        }
        try producer.flush(timeoutMs: 30_000)
        #expect(producer.deliveryFailures == 0)

        let path = RecordingFixture.temporaryPath("recorded.rec")
        defer { unlink(path) }
        var options = RecordOptions(
            consumer: KafkaConsumerConfig(
                brokers: brokers, groupID: "\(prefix)-rec", topics: ["^\(prefix)\\.public\\..*"],
                properties: ["session.timeout.ms": "6000"]))
        options.fromBeginning = true
        options.untilEnd = true
        let recorder = TopicRecorder(
            options: options, writer: try RecordingWriter(path: path), registry: RegistryTests.client([standIn.url]))
        var notes: [String] = []
        recorder.onNote = { notes.append($0) }
        let progress = try recorder.run(shouldStop: { false })
        #expect(progress.reachedEnd && progress.messages == Int64(messages.count))
        #expect(progress.missingSchemas.isEmpty && notes.isEmpty, "\(notes)")
        #expect(progress.partitions >= 4)

        // Every framed id has exactly one schema line, before the first message that uses it.
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        var defined = Set<Int32>()
        var used = Set<Int32>()
        var messageLines = 0
        for line in lines {
            if line.hasPrefix("{\"schema_id\":") {
                let id = try #require(Int32(line.dropFirst("{\"schema_id\":".count).prefix { $0.isNumber }))
                #expect(defined.insert(id).inserted, "schema id \(id) written twice")
                continue
            }
            messageLines += 1
            let m = try #require(try RecordingReader.parse(line: line, file: path, lineNumber: 0))
            for id in [AvroWire.schemaID(m.key), AvroWire.schemaID(m.value)].compactMap({ $0 }) {
                #expect(defined.contains(id), "schema id \(id) used before its line")
                used.insert(id)
            }
        }
        #expect(messageLines == messages.count)
        #expect(defined == used && used.count == progress.schemas && used.count >= 8)

        // Replayed with no registry at all, it equals the truth and the same rows in JSON.
        let core = try AvroRecordingFixture.replay(path)
        #expect(core.result.json() == w.groundTruth.json())
        #expect(core.malformed == w.groundTruth.malformed && core.malformed > 0)

        // --max-messages stops exactly there.
        let shortPath = RecordingFixture.temporaryPath("short.rec")
        defer { unlink(shortPath) }
        var short = options
        short.maxMessages = 250
        short.untilEnd = false
        let shortProgress = try TopicRecorder(
            options: short, writer: try RecordingWriter(path: shortPath), registry: nil
        ).run(shouldStop: { false })
        #expect(shortProgress.messages == 250 && shortProgress.schemas == 0)
        let shortLines = try String(contentsOfFile: shortPath, encoding: .utf8).split(separator: "\n")
        #expect(shortLines.count == 250 && shortLines.allSatisfy { $0.hasPrefix("{\"topic\":") })
        // Without schema lines the recording needs a schema source, and says so.
        let error = #expect(throws: RecordingError.self) { _ = try AvroRecordingFixture.replay(shortPath) }
        #expect(error?.reason.contains("--schema-registry URL") == true, "\(String(describing: error))")
        let withRegistry = try AvroRecordingFixture.replay(
            shortPath, schemas: RecordingSchemas(registry: RegistryTests.client([standIn.url])))
        #expect(withRegistry.messages == 250)
    }

    /// Stops the producing thread once the recorder is done.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var raised = false
        func raise() { lock.withLock { raised = true } }
        var isRaised: Bool { lock.withLock { raised } }
    }

    @Test("without --from-beginning only messages that arrive after the start are recorded")
    func fromTheEnd() throws {
        guard let brokers = Self.brokers() else { return }
        let topic = "recend\(UInt32.random(in: 0...UInt32.max))"
        let producer = try KafkaProducer(brokers: brokers)
        for i in 0..<200 {
            try producer.produce(topic: topic, key: Array("k\(i % 7)".utf8), value: Array("old-\(i)".utf8))
        }
        try producer.flush(timeoutMs: 30_000)
        // New messages keep coming until the recorder has its 40 (those sent before it was assigned are not expected).
        let done = Flag()
        let feeder = Thread {
            var i = 0
            while !done.isRaised {
                for _ in 0..<10 {
                    try? producer.produce(topic: topic, key: Array("k\(i % 7)".utf8), value: Array("new-\(i)".utf8))
                    i += 1
                }
                try? producer.flush(timeoutMs: 10_000)
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        feeder.start()
        defer { done.raise() }
        let path = RecordingFixture.temporaryPath("end.rec")
        defer { unlink(path) }
        var options = RecordOptions(
            consumer: KafkaConsumerConfig(
                brokers: brokers, groupID: "\(topic)-rec", topics: [topic],
                properties: ["session.timeout.ms": "6000"]))
        options.maxMessages = 40
        let progress = try TopicRecorder(options: options, writer: try RecordingWriter(path: path), registry: nil).run(
            shouldStop: { false })
        done.raise()
        #expect(progress.messages == 40)
        let messages = try RecordingFixture.scan(
            file: Array(Data(contentsOf: URL(fileURLWithPath: path))), chunkSize: 4096)
        #expect(messages.count == 40)
        let values = messages.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(values.count == 40 && values.allSatisfy { $0.hasPrefix("new-") }, "\(values.prefix(5))")
        #expect(messages.allSatisfy { $0.topic == topic })
    }
}
