import ArgumentParser
import Foundation
import Metrics
import Pipeline
import TestSupport
import Testing

@testable import App

/// `cdctop profile init` / `check` as commands: files in, files out, exit statuses.
@Suite("profile command")
struct ProfileCommandTests {
    static func temp(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(
            "cdctop-profcmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
        ).path
    }

    /// A kcat -J recording of two tables: orders (keyed by id) and order_lines (composite key, a
    /// price and a quantity, a delete carrying only the key).
    static func recording() throws -> String {
        func kcat(_ topic: String, _ offset: Int, _ key: String, _ value: String?) -> String {
            func s(_ t: String) -> String {
                String(decoding: try! JSONSerialization.data(withJSONObject: [t], options: []), as: UTF8.self)
                    .dropFirst().dropLast().description
            }
            return
                "{\"topic\":\"\(topic)\",\"partition\":0,\"offset\":\(offset),\"ts\":1700000000000,\"key\":\(s(key)),\"payload\":\(value.map(s) ?? "null")}"
        }
        func env(_ table: String, _ op: String, before: String, after: String) -> String {
            "{\"op\":\"\(op)\",\"ts_ms\":1700000000000,\"before\":\(before),\"after\":\(after),\"source\":{\"table\":\"\(table)\"}}"
        }
        let lines = [
            kcat(
                "app.public.orders", 0, "{\"id\":1}",
                env("orders", "c", before: "null", after: "{\"id\":1,\"status\":\"new\",\"total\":\"12.50\"}")),
            kcat(
                "app.public.orders", 1, "{\"id\":2}",
                env("orders", "c", before: "null", after: "{\"id\":2,\"status\":\"paid\",\"total\":\"3.00\"}")),
            kcat(
                "app.public.order_lines", 0, "{\"order_id\":1,\"line_no\":1}",
                env(
                    "order_lines", "c", before: "null",
                    after: "{\"order_id\":1,\"line_no\":1,\"price\":2.5,\"quantity\":5}")),
            kcat(
                "app.public.order_lines", 1, "{\"order_id\":2,\"line_no\":1}",
                env(
                    "order_lines", "c", before: "null",
                    after: "{\"order_id\":2,\"line_no\":1,\"price\":1.5,\"quantity\":2}")),
            kcat(
                "app.public.order_lines", 2, "{\"order_id\":2,\"line_no\":1}",
                env(
                    "order_lines", "d", before: "{\"order_id\":2,\"line_no\":1,\"price\":0,\"quantity\":0}",
                    after: "null")),
            kcat("app.public.order_lines", 3, "{\"order_id\":2,\"line_no\":1}", nil),
        ]
        let path = temp("rec.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func exitStatus(_ body: () throws -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch let e as ExitCode { return e.rawValue } catch { return -1 }
    }

    @Test("init writes a profile that loads; check exits 0 on it, 1 on a typo, 2 on a file that does not load")
    func initAndCheck() throws {
        let rec = try Self.recording()
        let out = Self.temp("draft.toml")
        defer { for p in [rec, out] { try? FileManager.default.removeItem(atPath: p) } }
        let initCommand = try ProfileInitCommand.parse(["--recording", rec, "--output", out])
        try initCommand.run()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let profile = try KPIProfile(tomlText: text, file: out)
        let model = try #require(profile.model)
        #expect(model.revenue.map { model.kpis[$0].sql } == "select sum(ol.price * ol.quantity) from order_lines ol")
        #expect(model.transactions.map { model.kpis[$0].sql } == "select count(*) from orders")
        #expect(text.contains("name = \"app\""))

        #expect(
            Self.exitStatus {
                let c = try ProfileCheckCommand.parse([out, "--recording", rec])
                try c.run()
            } == 0)

        let typo = Self.temp("typo.toml")
        defer { try? FileManager.default.removeItem(atPath: typo) }
        try text.replacingOccurrences(of: "ol.quantity", with: "ol.quantty").write(
            toFile: typo, atomically: true, encoding: .utf8)
        #expect(
            Self.exitStatus {
                let c = try ProfileCheckCommand.parse([typo, "--recording", rec, "--json"])
                try c.run()
            } == 1)

        let broken = Self.temp("broken.toml")
        defer { try? FileManager.default.removeItem(atPath: broken) }
        try "[kpi.revenue]\nsql = \"select sum(price from order_lines\"\n".write(
            toFile: broken, atomically: true, encoding: .utf8)
        #expect(
            Self.exitStatus {
                let c = try ProfileCheckCommand.parse([broken, "--recording", rec])
                try c.run()
            } == 2)

        // Either a cluster or a recording.
        #expect(throws: (any Error).self) { _ = try ProfileCheckCommand.parse([out]) }
        #expect(throws: (any Error).self) { _ = try ProfileInitCommand.parse(["--brokers", "h:9092"]) }
        #expect(throws: (any Error).self) {
            _ = try ProfileInitCommand.parse(["--recording", rec, "--schema-registry", "ftp://h"])
        }
    }

    /// The TEST STAND-IN registry (scripts/schema-registry-standin.py) as a child process, stopped by pid.
    final class RegistryStandIn {
        let process = Process()
        let url: String
        init() throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("scripts/schema-registry-standin.py").path
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, "--port", "0"]
            url = "http://127.0.0.1:\(try startPortPrinting(process, what: "the registry stand-in"))"
        }
        /// SIGKILL: the test process blocks SIGTERM, and a child inherits the mask.
        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        deinit { stop() }
    }

    @Test(
        "on the real broker: init on Avro topics needs --schema-registry, then drafts the profile the same rows in JSON draft; check agrees",
        .tags(.kafka))
    func avroTopicsOnTheBroker() throws {
        guard let brokers = TestServices.environment("CDCTOP_TEST_BROKERS") else {
            Issue.record("CDCTOP_TEST_BROKERS is not set: run scripts/services up tansu and source .run/env")
            return
        }
        let registry = try RegistryStandIn()
        defer { registry.stop() }
        let run = UInt32.random(in: 0...UInt32.max)
        let (jsonPrefix, avroPrefix) = ("pcj\(run)", "pca\(run)")
        // The generator's shop rows (decimals, a zoned timestamp, integer keys, deletes and tombstones), once
        // as JsonConverter writes them and once as AvroConverter does, each topic on one partition.
        func rows(_ prefix: String) -> [GeneratedMessage] {
            let workload = ShopWorkload(config: ShopWorkloadConfig(seed: 11, topicPrefix: prefix))
            var out: [GeneratedMessage] = []
            while out.count < 600 { workload.next(into: &out) }
            return out
        }
        let client = SchemaRegistryClient(config: SchemaRegistryConfig(urls: [registry.url]))
        let encoder = AvroShopEncoder(register: { try client.register(subject: $0, schema: $1) })
        let producer = try KafkaProducer(brokers: brokers)
        let messages = try rows(jsonPrefix) + rows(avroPrefix).map { try encoder.encode($0) }
        #expect(messages.contains { $0.topic.hasPrefix(avroPrefix) && $0.value == nil }, "tombstones too")
        for m in messages {
            try m.key.withUnsafeBytes { k in
                if let value = m.value {
                    try value.withUnsafeBytes { try producer.produce(topic: m.topic, partition: 0, key: k, value: $0) }
                } else {
                    try producer.produce(topic: m.topic, partition: 0, key: k, value: nil)
                }
            }
        }
        try producer.flush(timeoutMs: 30_000)
        #expect(producer.deliveryFailures == 0)

        let jsonOut = Self.temp("json.toml")
        let avroOut = Self.temp("avro.toml")
        defer { for p in [jsonOut, avroOut] { try? FileManager.default.removeItem(atPath: p) } }
        func source(_ prefix: String) -> [String] {
            ["--brokers", brokers, "--topics", "^\(prefix)\\.public\\..*", "--timeout", "60"]
        }

        // Framed messages and no registry: a clear error that says what to pass.
        do {
            let c = try ProfileInitCommand.parse(source(avroPrefix) + ["--output", avroOut])
            try c.run()
            Issue.record("init on Avro topics without --schema-registry succeeded")
        } catch {
            #expect(
                "\(error)".contains("Confluent-framed") && "\(error)".contains("pass --schema-registry URL"), "\(error)"
            )
        }
        #expect(!FileManager.default.fileExists(atPath: avroOut))

        let jsonInit = try ProfileInitCommand.parse(source(jsonPrefix) + ["--output", jsonOut])
        try jsonInit.run()
        let avroInit = try ProfileInitCommand.parse(
            source(avroPrefix) + ["--schema-registry", registry.url, "--output", avroOut])
        try avroInit.run()
        let jsonText = try String(contentsOfFile: jsonOut, encoding: .utf8)
        let avroText = try String(contentsOfFile: avroOut, encoding: .utf8)
        #expect(avroText.replacingOccurrences(of: avroPrefix, with: jsonPrefix) == jsonText)
        #expect(jsonText.contains("decimal(scale 2)") && jsonText.contains("[kpi.revenue]"))

        // check: the JSON topics' draft on the Avro topics is usable (exit 0); a typo fails both alike (exit 1).
        let jsonCheck = Self.exitStatus {
            let c = try ProfileCheckCommand.parse([jsonOut] + source(jsonPrefix))
            try c.run()
        }
        let avroCheck = Self.exitStatus {
            let c = try ProfileCheckCommand.parse([jsonOut] + source(avroPrefix) + ["--schema-registry", registry.url])
            try c.run()
        }
        #expect(jsonCheck == 0 && avroCheck == 0)
        let typo = Self.temp("typo.toml")
        defer { try? FileManager.default.removeItem(atPath: typo) }
        #expect(jsonText.contains("t.quantity)"))
        try jsonText.replacingOccurrences(of: "t.quantity)", with: "t.quantty)").write(
            toFile: typo, atomically: true, encoding: .utf8)
        let typoAvro = Self.exitStatus {
            let c = try ProfileCheckCommand.parse([typo] + source(avroPrefix) + ["--schema-registry", registry.url])
            try c.run()
        }
        #expect(typoAvro == 1)
    }
}
