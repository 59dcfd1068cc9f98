import DevSupport
import Foundation
import Metrics
import Pipeline
import Testing

@testable import App

/// The `--json` line carries exactly `JSONLineSchema`'s key paths: lines with every optional part (a shop and
/// a model profile, Kafka Connect, alerts, replication slots, other groups, a backlog, `--transactions
/// complete`, `--until-caught-up`'s outcome) are parsed, and a key path in them and not in the schema, or in
/// the schema and in none of them, fails.
@Suite struct JSONLineSchemaTests {
    static func fullLine(_ variant: PreviewData.Variant) -> String {
        var s = Fixture.snapshot(variant)
        s.diagnostics.recentMalformed = [
            MalformedRecord(position: .init(topic: "t", partition: 0, offset: 1), reason: "not JSON")
        ]
        s.diagnostics.schemaChanges = ["orders": 1]
        s.diagnostics.recentDDL = [
            SchemaChangeRecord(
                table: "orders", database: "shop", ddl: "ALTER TABLE orders ADD x int", commitTimeMs: 1,
                position: .init(topic: "shop", partition: 0, offset: 2))
        ]
        s.diagnostics.latency = [
            TableLatency(
                table: "orders", hops: LatencyHop.allCases.map { _ in HopLatency(count: 1, p50Ms: 2, p99Ms: 3) })
        ]
        s.consumer.backlog = BacklogProgress(partitions: 1, reachedMs: 5, messages: 10, eventsRead: 3)
        s.kpis.transactions = TransactionStatus()
        s.integrations.groupLag = GroupLagReport()
        s.integrations.replicationSlots = ReplicationSlotReport()
        s.state.viewerOfPID = 42
        let connect = ConnectHealthReport(
            connectors: [ConnectorHealth(name: "shop", state: .running)], checkedAtMs: 1, pollError: "timed out")
        var line = headlessLine(s, json: true, connect: connect, alerts: AlertPanel())
        // What WatchCommand adds to the last line of `--until-caught-up`.
        line.removeLast()
        return line + ",\"outcome\":" + RunOutcome().json() + "}"
    }

    @Test("the headless JSON line and JSONLineSchema name the same key paths")
    func lineMatchesSchema() throws {
        let declared = Set(JSONLineSchema.fields.map(\.name))
        var seen = Set<String>()
        for variant in [PreviewData.Variant.shop, .northwind] {
            let object = try JSONSerialization.jsonObject(with: Data(Self.fullLine(variant).utf8))
            Self.walk(object, at: "", declared: declared, into: &seen)
        }
        #expect(
            seen.subtracting(declared).isEmpty,
            "in the --json line, not in JSONLineSchema: \(seen.subtracting(declared).sorted())")
        #expect(
            declared.subtracting(seen).isEmpty,
            "in JSONLineSchema, in no --json line: \(declared.subtracting(seen).sorted())")
    }

    /// Records the key paths under `path`; an object whose keys the schema names by a placeholder (`<table>`)
    /// records the placeholder, and only what the schema describes further is descended into.
    static func walk(_ value: Any, at path: String, declared: Set<String>, into seen: inout Set<String>) {
        func describedBelow(_ p: String) -> Bool {
            declared.contains { $0.hasPrefix(p + ".") || $0.hasPrefix(p + "[].") }
        }
        if let object = value as? [String: Any] {
            let placeholder = declared.first {
                $0.hasPrefix(path + ".<") && !$0.dropFirst(path.count + 1).contains(".")
            }
            for (key, child) in object {
                let name = placeholder ?? (path.isEmpty ? key : path + "." + key)
                seen.insert(name)
                if describedBelow(name) { walk(child, at: name, declared: declared, into: &seen) }
            }
        } else if let array = value as? [Any] {
            for element in array where element is [String: Any] {
                walk(element, at: path + "[]", declared: declared, into: &seen)
            }
        }
    }
}
