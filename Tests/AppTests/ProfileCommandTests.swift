import ArgumentParser
import Foundation
import Metrics
@testable import App
import Testing

/// `cdctop profile init` / `check` as commands: files in, files out, exit statuses.
@Suite("profile command")
struct ProfileCommandTests {
    static func temp(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cdctop-profcmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)").path
    }

    /// A kcat -J recording of two tables: orders (keyed by id) and order_lines (composite key, a
    /// price and a quantity, a delete carrying only the key).
    static func recording() throws -> String {
        func kcat(_ topic: String, _ offset: Int, _ key: String, _ value: String?) -> String {
            func s(_ t: String) -> String { String(decoding: try! JSONSerialization.data(withJSONObject: [t], options: []), as: UTF8.self).dropFirst().dropLast().description }
            return "{\"topic\":\"\(topic)\",\"partition\":0,\"offset\":\(offset),\"ts\":1700000000000,\"key\":\(s(key)),\"payload\":\(value.map(s) ?? "null")}"
        }
        func env(_ table: String, _ op: String, before: String, after: String) -> String {
            "{\"op\":\"\(op)\",\"ts_ms\":1700000000000,\"before\":\(before),\"after\":\(after),\"source\":{\"table\":\"\(table)\"}}"
        }
        let lines = [
            kcat("app.public.orders", 0, "{\"id\":1}", env("orders", "c", before: "null", after: "{\"id\":1,\"status\":\"new\",\"total\":\"12.50\"}")),
            kcat("app.public.orders", 1, "{\"id\":2}", env("orders", "c", before: "null", after: "{\"id\":2,\"status\":\"paid\",\"total\":\"3.00\"}")),
            kcat("app.public.order_lines", 0, "{\"order_id\":1,\"line_no\":1}",
                 env("order_lines", "c", before: "null", after: "{\"order_id\":1,\"line_no\":1,\"price\":2.5,\"quantity\":5}")),
            kcat("app.public.order_lines", 1, "{\"order_id\":2,\"line_no\":1}",
                 env("order_lines", "c", before: "null", after: "{\"order_id\":2,\"line_no\":1,\"price\":1.5,\"quantity\":2}")),
            kcat("app.public.order_lines", 2, "{\"order_id\":2,\"line_no\":1}",
                 env("order_lines", "d", before: "{\"order_id\":2,\"line_no\":1,\"price\":0,\"quantity\":0}", after: "null")),
            kcat("app.public.order_lines", 3, "{\"order_id\":2,\"line_no\":1}", nil),
        ]
        let path = temp("rec.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func exitStatus(_ body: () throws -> Void) -> Int32 {
        do { try body(); return 0 } catch let e as ExitCode { return e.rawValue } catch { return -1 }
    }

    @Test("init writes a profile that loads; check exits 0 on it, 1 on a typo, 2 on a file that does not load")
    func initAndCheck() throws {
        let rec = try Self.recording()
        let out = Self.temp("draft.toml")
        defer { for p in [rec, out] { try? FileManager.default.removeItem(atPath: p) } }
        var initCommand = try ProfileInitCommand.parse(["--recording", rec, "--output", out])
        try initCommand.run()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let profile = try KPIProfile(tomlText: text, file: out)
        let model = try #require(profile.model)
        #expect(model.revenue.map { model.kpis[$0].sql } == "select sum(ol.price * ol.quantity) from order_lines ol")
        #expect(model.transactions.map { model.kpis[$0].sql } == "select count(*) from orders")
        #expect(text.contains("name = \"app\""))

        #expect(Self.exitStatus { var c = try ProfileCheckCommand.parse([out, "--recording", rec]); try c.run() } == 0)

        let typo = Self.temp("typo.toml")
        defer { try? FileManager.default.removeItem(atPath: typo) }
        try text.replacingOccurrences(of: "ol.quantity", with: "ol.quantty").write(toFile: typo, atomically: true, encoding: .utf8)
        #expect(Self.exitStatus { var c = try ProfileCheckCommand.parse([typo, "--recording", rec, "--json"]); try c.run() } == 1)

        let broken = Self.temp("broken.toml")
        defer { try? FileManager.default.removeItem(atPath: broken) }
        try "[kpi.revenue]\nsql = \"select sum(price from order_lines\"\n".write(toFile: broken, atomically: true, encoding: .utf8)
        #expect(Self.exitStatus { var c = try ProfileCheckCommand.parse([broken, "--recording", rec]); try c.run() } == 2)

        // Either a cluster or a recording.
        #expect(throws: (any Error).self) { _ = try ProfileCheckCommand.parse([out]) }
        #expect(throws: (any Error).self) { _ = try ProfileInitCommand.parse(["--brokers", "h:9092"]) }
    }
}
