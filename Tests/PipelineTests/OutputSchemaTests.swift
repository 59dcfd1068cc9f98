import Foundation
import Metrics
import Pipeline
import TestSupport
import Testing

/// Each output's document (docs/outputs/) is what its schema (Sources/Pipeline/Output/) generates, and the
/// Prometheus encoder serves exactly the schema's families. The Redis, warehouse and `--json` encoders are
/// checked against their schemas where they run: RedisLayoutSchemaTests, WarehouseTablesSchemaTests,
/// JSONLineSchemaTests (AppTests).
@Suite struct OutputSchemaTests {
    static let documents = [
        PrometheusSchema.document, JSONLineSchema.document, RedisLayoutSchema.document,
        WarehouseTablesSchema.document,
    ]

    @Test("docs/outputs/<file> is its schema's document; a field in one and not the other is named", arguments: 0..<4)
    func documentMatchesSchema(index: Int) throws {
        let schema = Self.documents[index]
        let path = TestServices.repositoryRoot + "/docs/outputs/" + schema.file
        let generated = schema.markdown()
        if TestServices.environment("CDCTOP_WRITE_OUTPUT_DOCS") == "1" {
            try FileManager.default.createDirectory(
                atPath: TestServices.repositoryRoot + "/docs/outputs", withIntermediateDirectories: true)
            try generated.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let document = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let documented = Self.documentedFields(document)
        let declared = Set(schema.sections.flatMap { s in s.fields.map { s.container + " " + $0.name } })
        #expect(
            documented.subtracting(declared).isEmpty,
            "docs/outputs/\(schema.file) documents fields the schema lacks: \(documented.subtracting(declared).sorted())"
        )
        #expect(
            declared.subtracting(documented).isEmpty,
            "docs/outputs/\(schema.file) lacks fields of the schema: \(declared.subtracting(documented).sorted())")
        #expect(
            document == generated,
            "docs/outputs/\(schema.file) is not what Sources/Pipeline/Output generates: CDCTOP_WRITE_OUTPUT_DOCS=1 swift test --filter OutputSchemaTests"
        )
    }

    @Test("a schema names each field once per section, and a document's table parser sees every row")
    func namesAreUnique() {
        for schema in Self.documents {
            for section in schema.sections {
                let names = section.fields.map(\.name)
                #expect(Set(names).count == names.count, "\(schema.file) \(section.container): \(names)")
            }
            #expect(Self.documentedFields(schema.markdown()).count == schema.fields.count, "\(schema.file)")
        }
    }

    /// "container name" of every table row: the section heading's backquoted name and the row's first cell.
    static func documentedFields(_ text: String) -> Set<String> {
        var container = ""
        var out = Set<String>()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("## `") { container = String(line.dropFirst(4).prefix { $0 != "`" }) }
            if line.hasPrefix("| `") { out.insert(container + " " + String(line.dropFirst(3).prefix { $0 != "`" })) }
        }
        return out
    }

    @Test("a scrape with every integration serves exactly PrometheusSchema's families, types and labels")
    func prometheusServesTheSchema() throws {
        let (snapshot, ops) = try Self.everything()
        let text = PrometheusExposition.render(snapshot, ops: ops, nowMs: snapshot.takenAtMs + 1_000)
        var served: [String: String] = [:]
        var labels: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                served[String(parts[2])] = String(parts[3])
            } else if !line.hasPrefix("#") {
                var name = String(line.prefix { $0 != "{" && $0 != " " })
                for suffix in ["_sum", "_count"] where served[name] == nil && name.hasSuffix(suffix) {
                    name = String(name.dropLast(suffix.count))
                }
                #expect(served[name] != nil, "a sample of \(name) comes without its family's TYPE")
                if let open = line.firstIndex(of: "{") {
                    // Label names: what precedes each `="`; the test's values hold no `="`.
                    for piece in line[open...].split(separator: "=\"").dropLast() {
                        labels[name, default: []].insert(String(piece.split(separator: ",").last!.drop { $0 == "{" }))
                    }
                }
            }
        }
        let declared = Dictionary(uniqueKeysWithValues: PrometheusSchema.all.map { ($0.name, $0) })
        #expect(
            Set(served.keys).subtracting(declared.keys).isEmpty,
            "served, not in the schema: \(Set(served.keys).subtracting(declared.keys).sorted())")
        #expect(
            Set(declared.keys).subtracting(served.keys).isEmpty,
            "in the schema, not served: \(Set(declared.keys).subtracting(served.keys).sorted())")
        for (name, type) in served { #expect(declared[name]?.type == type, "\(name): served \(type)") }
        for (name, seen) in labels {
            let schemaLabels = Set(declared[name]?.labels ?? [])
            #expect(
                seen.subtracting(schemaLabels).isEmpty, "\(name) writes labels \(seen.sorted()), schema \(schemaLabels)"
            )
        }
        // Every family with samples here uses every label its schema names (cdctop_kpi's group only when grouped).
        for field in PrometheusSchema.all where !field.labels.isEmpty {
            guard let seen = labels[field.name] else { continue }
            #expect(Set(field.labels) == seen, "\(field.name): schema \(field.labels), served \(seen.sorted())")
        }
        #expect(labels.count >= 30, "only \(labels.count) families had labelled samples: the fixture lost data")
    }

    /// A model snapshot (grouped KPIs, closed windows) with every optional part set, and every integration.
    static func everything() throws -> (RunSnapshot, OpsReport) {
        let feeder = try KPIOutputsTests.feeder()
        var s = feeder.core.snapshot(sequence: 1, takenAtMs: KPIOutputsTests.t0 + 80_000)
        s.kpis.result.totals.categoryRevenue = ["books": Money(whole: 12)]
        s.kpis.result.windows[s.kpis.result.windows.count - 1].categoryRevenue = ["books": Money(whole: 3)]
        s.kpis.maxCommitTimeMs = KPIOutputsTests.t0 + 70_000
        s.kpis.watermarkMs = KPIOutputsTests.t0 + 60_000
        s.kpis.lastHeartbeatMs = KPIOutputsTests.t0 + 75_000
        s.diagnostics.schemaChanges = ["orders": 2]
        s.diagnostics.latency = [
            TableLatency(
                table: "orders",
                hops: LatencyHop.allCases.map { _ in
                    HopLatency(count: 2, p50Ms: 3, p99Ms: 9, totalCount: 2, totalSumMs: 7)
                })
        ]
        s.consumer.partitions = [PartitionLag(topic: "nw.public.orders", partition: 0, position: 5, highWatermark: 9)]
        s.kpis.transactions = TransactionStatus()
        s.state.directory = "/tmp/state"
        s.state.lastCheckpointMs = KPIOutputsTests.t0 + 79_000
        var groups = GroupLagReport()
        groups.partitions = [
            GroupPartitionLag(
                group: "sink", topic: "nw.public.orders", partition: 0, committed: 1, highWatermark: 3, lag: 2,
                lagMs: 500, verdict: .ok)
        ]
        groups.groups = [
            GroupLagSummary(group: "sink", verdict: .ok, totalLag: 2, maxLagMs: 500, state: "Stable", members: 1)
        ]
        s.integrations.groupLag = groups
        var slots = ReplicationSlotReport()
        slots.checkedAtMs = KPIOutputsTests.t0
        slots.slots = [
            ReplicationSlot(
                name: "debezium", plugin: "pgoutput", database: "shop", active: true, retainedBytes: 10,
                restartRetainedBytes: 20, safeWALSizeBytes: 30, lastAdvanceMs: KPIOutputsTests.t0)
        ]
        s.integrations.replicationSlots = slots
        var progress = SnapshotProgressReport()
        progress.snapshots = [
            ConnectorSnapshotProgress(
                connector: "nw", kind: .initial, phase: .running, source: "notifications",
                tables: [
                    TableSnapshotProgress(
                        table: "public.orders", state: .running, rowsRead: 5, rowsEstimated: 10, rowsPerSecond: 2)
                ],
                tablesTotal: 2, lastActivityMs: KPIOutputsTests.t0)
        ]
        s.kpis.snapshots = progress
        let connect = ConnectHealthReport(
            connectors: [
                ConnectorHealth(name: "nw", state: .running, tasks: [ConnectTaskHealth(id: 0, state: .running)])
            ], checkedAtMs: KPIOutputsTests.t0)
        let ops = OpsReport(
            connect: connect, reconciliation: Reconciliation(verdict: .agree, checkedAtMs: KPIOutputsTests.t0),
            redis: ServiceStatus(.ok), warehouse: ServiceStatus(.ok),
            schemaRegistry: SchemaRegistryMetrics(
                up: true, schemasKnown: 1, fetched: 1, fromCache: 0, fetchErrors: 0,
                waits: [SchemaWait(schemaID: 7, topic: "nw.public.orders", partition: 0, sinceMs: KPIOutputsTests.t0)]))
        return (s, ops)
    }
}
