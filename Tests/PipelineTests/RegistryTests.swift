import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// The schema registry client and the Confluent framing, against the TEST STAND-IN registry
/// (scripts/schema-registry-standin.py, started per test as a child process).
@Suite(.serialized)
struct RegistryTests {
    // MARK: helpers

    /// A running stand-in; `stop()` kills it.
    final class StandIn {
        let process = Process()
        let port: Int
        var url: String { "http://127.0.0.1:\(port)" }

        init(port: Int = 0, user: String? = nil) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("scripts/schema-registry-standin.py").path
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, "--port", "\(port)"] + (user.map { ["--user", $0] } ?? [])
            self.port = try startPortPrinting(process, what: "the registry stand-in")
        }

        /// SIGKILL: the test process's threads block SIGTERM, and a child inherits the mask.
        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        deinit { stop() }
    }

    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cdctop-registry-\(UUID().uuidString)")
            .path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func client(_ urls: [String], cache: String? = nil, auth: SchemaRegistryAuth = .none) -> SchemaRegistryClient
    {
        var config = SchemaRegistryConfig(urls: urls)
        config.cacheDirectory = cache
        config.auth = auth
        config.attemptTimeoutSeconds = 1
        config.maxBackoffSeconds = 0.4
        return SchemaRegistryClient(config: config)
    }

    /// The shop workload's first messages (JsonConverter with schemas).
    static func shopMessages(_ count: Int = 400) -> [GeneratedMessage] {
        let workload = ShopWorkload(config: ShopWorkloadConfig(seed: 7))
        var out: [GeneratedMessage] = []
        while out.count < count { workload.next(into: &out) }
        return out
    }

    static func framed(_ id: Int32, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0]
        withUnsafeBytes(of: UInt32(bitPattern: id).bigEndian) { out.append(contentsOf: $0) }
        return out + payload
    }

    /// Ingests the messages (offsets per topic) and returns the core.
    static func run(_ messages: [GeneratedMessage], source: ConfluentSchemaSource?) -> EngineCore {
        let core = EngineCore(profile: .shop)
        core.schemaSource = source
        var offsets: [String: Int64] = [:]
        for m in messages {
            let offset = offsets[m.topic, default: 0]
            offsets[m.topic] = offset + 1
            core.ingest(
                topic: m.topic, partition: 0, offset: offset, timestampMs: m.timestampMs, key: m.key, value: m.value)
        }
        return core
    }

    /// A value shared with another thread.
    final class Box<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var value: T
        init(_ value: T) { self.value = value }
        func withLock<R>(_ body: (inout T) -> R) -> R {
            lock.lock()
            defer { lock.unlock() }
            return body(&value)
        }
    }

    /// The engine core, handed to the thread that ingests (it is only used there and after `done`).
    final class Handed: @unchecked Sendable {
        let core: EngineCore
        init(_ core: EngineCore) { self.core = core }
    }

    static let jsonSchema = #"{"type":"object"}"#

    // MARK: tests

    @Test func fetchesOnceWritesTheCacheAndARestartDecodesFromItWithTheRegistryDown() throws {
        let registry = try StandIn()
        let id = try Self.client([registry.url]).register(
            subject: "shop.public.transaction-value", schema: Self.jsonSchema, schemaType: "JSON")
        let cache = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let messages = Self.shopMessages()
        let plain = Self.run(messages, source: nil)
        // JSON-Schema framing: 0x00 + id + the same JSON text.
        let framedMessages = messages.map { m in
            GeneratedMessage(
                topic: m.topic, key: m.key, value: m.value.map { Self.framed(id, $0) }, timestampMs: m.timestampMs)
        }
        let client = Self.client([registry.url], cache: cache)
        let framed = Self.run(framedMessages, source: client)
        #expect(framed.result == plain.result)
        #expect(framed.malformed == 0 && framed.messages == plain.messages)
        let file = (cache as NSString).appendingPathComponent("\(id).json")
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(client.status.state == .ok)
        #expect(client.status.detail.contains("1 schema id fetched"), "\(client.status.detail)")
        // Subjects are asked only when the raw view shows the id (AvroRawViewPipelineTests), never on the engine's path.
        #expect(client.knownSchemas.first?.subjects == [])

        // Restart with the registry gone: the cache answers, nothing waits.
        registry.stop()
        let restarted = Self.client([registry.url], cache: cache)
        #expect(restarted.status.detail.contains("1 from the cache"), "\(restarted.status.detail)")
        let again = Self.run(framedMessages, source: restarted)
        #expect(again.result == plain.result)
    }

    @Test func framingIsDetectedPerMessage() throws {
        let registry = try StandIn()
        let id = try Self.client([registry.url]).register(
            subject: "mixed-value", schema: Self.jsonSchema, schemaType: "JSON")
        let messages = Self.shopMessages()
        let plain = Self.run(messages, source: nil)
        // Every other message framed; the rest plain JSON, on the same topics.
        let mixed = messages.enumerated().map { i, m in
            GeneratedMessage(
                topic: m.topic, key: m.key, value: i % 2 == 0 ? m.value.map { Self.framed(id, $0) } : m.value,
                timestampMs: m.timestampMs)
        }
        let core = Self.run(mixed, source: Self.client([registry.url]))
        #expect(core.result == plain.result)
        #expect(core.malformed == 0)
    }

    @Test func avroFromTheGeneratorDecodesToTheJSONResult() throws {
        let registry = try StandIn()
        let writer = Self.client([registry.url])
        let encoder = AvroShopEncoder(register: { try writer.register(subject: $0, schema: $1) })
        let messages = Self.shopMessages()
        let avro = try messages.map { try encoder.encode($0) }
        #expect(avro.allSatisfy { $0.key.first == 0 && ($0.value?.first ?? 0) == 0 })
        let plain = Self.run(messages, source: nil)
        let core = Self.run(avro, source: Self.client([registry.url]))
        #expect(core.recentMalformed.isEmpty, "\(core.recentMalformed.prefix(3))")
        #expect(core.result == plain.result)
    }

    @Test func basicAuthFromAFileAndAWrongPasswordSaysSo() throws {
        let registry = try StandIn(user: "cdc:secret")
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = (directory as NSString).appendingPathComponent("auth")
        try "cdc:secret\n".write(toFile: file, atomically: true, encoding: .utf8)
        let auth = try SchemaRegistryAuth.load(file: file, environment: [:])
        #expect(auth == .basic(user: "cdc", password: "secret"))
        let good = Self.client([registry.url], auth: auth)
        let id = try good.register(subject: "t-value", schema: Self.jsonSchema, schemaType: "JSON")
        #expect(try good.fetch(id: id).schemaType == "JSON")

        #expect(
            try SchemaRegistryAuth.load(file: nil, environment: ["CDCTOP_SCHEMA_REGISTRY_AUTH": "bearer abc"])
                == .bearer("abc"))
        let wrong = Self.client([registry.url], auth: .basic(user: "cdc", password: "nope"))
        do {
            _ = try wrong.fetch(id: id)
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(
                error.message.contains("HTTP 401 Unauthorized: the registry refused the credentials"),
                "\(error.message)")
        }
        let none = Self.client([registry.url])
        do {
            _ = try none.fetch(id: id)
            Issue.record("no credentials accepted")
        } catch {
            #expect(error.message.contains("wants credentials"), "\(error.message)")
        }
    }

    @Test func failsOverToTheNextURL() throws {
        let registry = try StandIn()
        let id = try Self.client([registry.url]).register(
            subject: "t-value", schema: Self.jsonSchema, schemaType: "JSON")
        let dead = "http://127.0.0.1:\(try freePort())"
        let client = Self.client([dead, registry.url])
        #expect(try client.fetch(id: id).id == id)
        // Both down: the error names each URL.
        let bothDead = Self.client([dead, "http://127.0.0.1:\(try freePort())"])
        do {
            _ = try bothDead.fetch(id: 1)
            Issue.record("fetched from nothing")
        } catch {
            #expect(error.message.components(separatedBy: "127.0.0.1:").count == 3, "\(error.message)")
        }
    }

    @Test func anUnknownIDWaitsForTheRegistryAndContinuesWhenItComesBack() throws {
        let port = try freePort()
        let client = Self.client(["http://127.0.0.1:\(port)"])
        let messages = Self.shopMessages(60)
        let plain = Self.run(messages, source: nil)
        let core = EngineCore(profile: .shop)
        core.schemaSource = client
        let waits = Box<(count: Int, messagesMeanwhile: Int64, detail: String)>((0, -1, ""))
        core.whileAwaitingSchema = {
            let detail = client.status.detail
            waits.withLock { $0 = ($0.count + 1, core.messages, detail) }
        }
        let done = DispatchSemaphore(value: 0)
        let handed = Handed(core)
        let thread = Thread {
            let core = handed.core
            var offsets: [String: Int64] = [:]
            for m in messages {
                let offset = offsets[m.topic, default: 0]
                offsets[m.topic] = offset + 1
                // The first message is framed with id 1, which only the registry knows.
                let value = offset == 0 && m.topic == messages[0].topic ? m.value.map { Self.framed(1, $0) } : m.value
                core.ingest(
                    topic: m.topic, partition: 0, offset: offset, timestampMs: m.timestampMs, key: m.key, value: value)
            }
            done.signal()
        }
        thread.start()
        Thread.sleep(forTimeInterval: 1.5)
        let waiting = waits.withLock { $0 }
        #expect(waiting.count > 0)
        #expect(waiting.messagesMeanwhile == 0, "nothing after the awaited message may be applied")
        #expect(client.status.state == .error)
        #expect(waiting.detail.hasPrefix("waiting for schema id 1 since "), "\(waiting.detail)")
        #expect(
            waiting.detail.contains("Connection refused") || waiting.detail.contains("connect"), "\(waiting.detail)")
        // The registry comes up (on the same port) and learns the schema: the engine goes on.
        let registry = try StandIn(port: port)
        _ = try Self.client([registry.url]).register(subject: "t-value", schema: Self.jsonSchema, schemaType: "JSON")
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(core.result == plain.result)
        #expect(core.malformed == 0)
        #expect(client.status.state == .ok)
    }

    @Test func aStopWhileWaitingLeavesTheMessageUnread() throws {
        let client = Self.client(["http://127.0.0.1:\(try freePort())"])
        let core = EngineCore(profile: .shop)
        core.schemaSource = client
        let result = Box<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        let value = Self.framed(5, Array("{}".utf8))
        let handed = Handed(core)
        Thread {
            let core = handed.core
            let slot = core.decoder.slot(forTopic: "shop.public.transaction")
            let applied = value.withUnsafeBytes {
                core.ingest(slot: slot, partition: 0, offset: 0, timestampMs: 0, key: nil, value: $0)
            }
            result.withLock { $0 = applied }
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.5)
        let started = Date()
        client.cancelWaits()
        #expect(done.wait(timeout: .now() + 3) == .success)
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(result.withLock { $0 } == false)
        #expect(
            core.messages == 0
                && core.aggregator.lastOffset(
                    partitionKey: core.partitionKey(topic: "shop.public.transaction", partition: 0)) < 0
        )
    }

    @Test func protobufAndUnusableSchemasAreMalformedNotAwaited() throws {
        let registry = try StandIn()
        let writer = Self.client([registry.url])
        let proto = try writer.register(
            subject: "p-value", schema: "syntax = \"proto3\"; message V { int64 id = 1; }", schemaType: "PROTOBUF")
        let broken = try writer.register(subject: "b-value", schema: #"{"type":"no-such-type"}"#)
        let core = EngineCore(profile: .shop)
        core.schemaSource = Self.client([registry.url])
        core.ingest(
            topic: "shop.public.transaction", partition: 0, offset: 0, key: nil, value: Self.framed(proto, [2, 4]))
        core.ingest(
            topic: "shop.public.transaction", partition: 0, offset: 1, key: nil, value: Self.framed(broken, [2, 4]))
        core.ingest(
            topic: "shop.public.transaction", partition: 0, offset: 2, key: nil, value: Self.framed(broken, [2, 6]))
        #expect(core.malformed == 3)
        #expect(
            core.recentMalformed[0].reason.contains(
                "schema id \(proto) is a Protobuf schema: cdctop does not decode Protobuf"))
        #expect(core.recentMalformed[0].reason.contains("AvroConverter"))
        #expect(
            core.recentMalformed[1].reason.hasPrefix("schema id \(broken) from the registry cannot be used"),
            "\(core.recentMalformed[1].reason)")

        // Without --schema-registry a framed message is malformed with the advice.
        let bare = EngineCore(profile: .shop)
        bare.ingest(topic: "shop.public.transaction", partition: 0, offset: 0, key: nil, value: Self.framed(1, [2, 4]))
        #expect(bare.recentMalformed.first?.reason.contains("give --schema-registry URL") == true)
    }

    @Test func apicurioStyleBaseURLsAndOptionsParse() throws {
        #expect(
            try SchemaRegistryConfig.parseURLs("http://a:8080/apis/ccompat/v7/, https://b") == [
                "http://a:8080/apis/ccompat/v7", "https://b",
            ])
        #expect(throws: SchemaRegistryError.self) { try SchemaRegistryConfig.parseURLs("a:8081") }
        #expect(throws: SchemaRegistryError.self) { try SchemaRegistryAuth(parsing: "justtoken", origin: "x") }
        // Apicurio's Confluent-compatible API lives under a path: the base URL carries it.
        let registry = try StandIn()
        let id = try Self.client([registry.url + "/apis/ccompat/v7"]).register(
            subject: "t-value", schema: Self.jsonSchema, schemaType: "JSON")
        #expect(try Self.client([registry.url + "/apis/ccompat/v7/"]).fetch(id: id).id == id)
        #expect(CurlHTTP.redacted("https://u:pw@h:1/x") == "https://u:***@h:1/x")
    }
}
