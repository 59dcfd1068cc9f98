import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// A model profile's own KPIs in `/metrics`, the Redis mirror and the warehouse, fed through the whole
/// engine (`ModelFeeder`) and checked against the real services (CDCTOP_TEST_REDIS, CDCTOP_TEST_PG).
@Suite("Model KPIs in /metrics, Redis and the warehouse", .serialized, .tags(.redis, .postgres))
struct KPIOutputsTests {
    typealias F = ModelFixture

    /// Northwind, plus a two-column group and a KPI whose two aggregates share a name.
    static let profileText =
        F.northwindProfile + """

            [kpi.lines]
            sql = "select product_id, discount, count(*), sum(quantity) from order_details group by product_id, discount"
            [kpi.dup]
            sql = "select count(*) as n, sum(quantity) as n from order_details"
            """

    static let t0: Int64 = 1_700_000_010_000  // a window start (30 s windows, 10 s lateness)
    static let hostile = "Sauces \"hot\" \\ x\ny"

    /// Two closed windows (t0, t0+30 s) and an open one; category 3 never arrives (one unresolved row).
    static func feeder() throws -> ModelFeeder {
        let feeder = ModelFeeder(profile: try F.profile(profileText))
        let t0 = Self.t0
        func send(
            _ table: String, _ op: String, _ key: [String: Any], _ after: [String: Any], _ ts: Int64,
            snapshot: Bool = false
        ) {
            feeder.send(
                table, F.message(table: table, op: op, key: key, before: nil, after: after, ts: ts, snapshot: snapshot))
        }
        send(
            "categories", "r", ["category_id": 1], ["category_id": 1, "category_name": "Beverages"], t0, snapshot: true)
        send("categories", "r", ["category_id": 2], ["category_id": 2, "category_name": hostile], t0, snapshot: true)
        for (product, category) in [(10, 1), (11, 2), (12, 3)] {
            send(
                "products", "r", ["product_id": product], ["product_id": product, "category_id": category], t0,
                snapshot: true)
        }
        send("orders", "c", ["order_id": 100], ["order_id": 100, "status": "shipped", "freight": 12.5], t0)
        send("orders", "c", ["order_id": 101], ["order_id": 101, "status": "new", "freight": NSNull()], t0 + 1)
        send(
            "order_details", "c", ["order_id": 100, "product_id": 10],
            ["order_id": 100, "product_id": 10, "unit_price": 14.4, "quantity": 20, "discount": 0.15], t0 + 2)
        send(
            "order_details", "c", ["order_id": 100, "product_id": 11],
            ["order_id": 100, "product_id": 11, "unit_price": 10, "quantity": 3, "discount": 0], t0 + 2)
        send(
            "order_details", "c", ["order_id": 101, "product_id": 12],
            ["order_id": 101, "product_id": 12, "unit_price": 2.5, "quantity": 4, "discount": 0], t0 + 3)
        // The second window.
        send("orders", "c", ["order_id": 102], ["order_id": 102, "status": "new", "freight": 3.25], t0 + 31_000)
        send(
            "order_details", "c", ["order_id": 102, "product_id": 10],
            ["order_id": 102, "product_id": 10, "unit_price": 14.4, "quantity": 5, "discount": 0], t0 + 31_000)
        // Moves the watermark past both (t0 + 65 s): they are final.
        send(
            "orders", "c", ["order_id": 103], ["order_id": 103, "status": "cancelled", "freight": NSNull()], t0 + 75_000
        )
        return feeder
    }

    /// A late line in the first (closed) window: its units, lines and category sales change.
    static func sendLateCorrection(_ feeder: ModelFeeder) {
        feeder.send(
            "order_details",
            F.message(
                table: "order_details", op: "c", key: ["order_id": 101, "product_id": 11], before: nil,
                after: ["order_id": 101, "product_id": 11, "unit_price": 10, "quantity": 6, "discount": 0],
                ts: t0 + 10))
    }

    /// What `KPIResult.json()` prints for KPI `k` under `"kpis"`, cut out of its output byte for byte.
    static func resultJSON(_ r: KPIResult, _ k: Int) throws -> String {
        var one = KPIResult(windowMs: r.windowMs)
        one.kpiColumns = [r.kpiColumns[k]]
        one.totals.kpis = [r.totals.kpis[k]]
        let text = one.json()
        let marker = "\"kpis\":{" + JSONText.quoted(r.kpiColumns[k].name) + ":"
        let start = try #require(text.range(of: marker)).upperBound
        #expect(text.hasSuffix("}}"))
        return String(text[start..<text.index(text.endIndex, offsetBy: -2)])
    }

    /// A window's values of one KPI, as the tests expect them: [[group texts], [value texts]] by group text.
    static func windowRows(_ columns: KPIColumns, _ values: KPIValues) -> [[[String]]] {
        values.groups.map { group, accum in
            [columns.groupText(group), columns.aggregateNames.indices.map { columns.valueText(accum, $0) }]
        }.sorted { $0[0].lexicographicallyPrecedes($1[0]) }
    }

    static func parsedRows(_ json: String?) -> [[[String]]]? {
        guard let json, let rows = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [[String: Any]] else {
            return nil
        }
        return rows.map { [$0["group"] as? [String] ?? ["?"], $0["values"] as? [String] ?? ["?"]] }
    }

    // MARK: - /metrics

    @Test("/metrics carries every model KPI's totals as exact series, escaped, bounded, and promtool accepts it")
    func prometheusSeries() throws {
        let feeder = try Self.feeder()
        let snapshot = feeder.core.snapshot(sequence: 1, takenAtMs: Self.t0 + 80_000)
        let r = snapshot.kpis.result
        let latest = Latest(snapshot)
        let server = try MetricsServer(
            address: "127.0.0.1:0",
            render: {
                PrometheusExposition.render(latest.value, ops: OpsReport(), nowMs: WallClock.nowMs())
            })
        server.start()
        defer { server.stop() }
        let (status, body) = try PrometheusEndpointTests.get(server.port, "/metrics")
        #expect(status == 200)
        let lines = Set(body.split(separator: "\n").map(String.init))
        for expected in [
            "# TYPE cdctop_kpi gauge",
            "# TYPE cdctop_kpi_unresolved_rows gauge",
            "# TYPE cdctop_kpi_groups_omitted gauge",
            "cdctop_kpi{kpi=\"transactions\",aggregate=\"count(*)\"} 4",
            "cdctop_kpi{kpi=\"units\",aggregate=\"sum(quantity)\"} 12",
            "cdctop_kpi{kpi=\"orders_by_status\",aggregate=\"count(*)\",group=\"new\"} 2",
            "cdctop_kpi{kpi=\"orders_by_status\",aggregate=\"avg(freight)\",group=\"new\"} 3.25",
            "cdctop_kpi{kpi=\"orders_by_status\",aggregate=\"count(*)\",group=\"cancelled\"} 1",
            "cdctop_kpi{kpi=\"orders_by_status\",aggregate=\"avg(freight)\",group=\"cancelled\"} NaN",
            "cdctop_kpi{kpi=\"lines\",aggregate=\"count(*)\",group=\"11|0\"} 1",
            "cdctop_kpi{kpi=\"lines\",aggregate=\"sum(quantity)\",group=\"10|0.15\"} 20",
            "cdctop_kpi{kpi=\"lines\",aggregate=\"sum(quantity)\",group=\"10|0\"} 5",
            "cdctop_kpi{kpi=\"dup\",aggregate=\"n\"} 4",
            "cdctop_kpi{kpi=\"dup\",aggregate=\"n #2\"} 32",
            "cdctop_kpi_unresolved_rows{kpi=\"category_sales\"} 1",
            "cdctop_kpi_unresolved_rows{kpi=\"units\"} 0",
            "cdctop_kpi_groups_omitted{kpi=\"category_sales\"} 0",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)\n\(body)")
        }
        // Every group of every KPI, with the exact text the engine prints; the hostile label escaped.
        var series = 0
        for (k, columns) in r.kpiColumns.enumerated() {
            let labels = KPIOutput.aggregateLabels(columns)
            for (group, accum) in r.totals.kpis[k].groups {
                for i in columns.aggregateNames.indices {
                    var labelText =
                        "kpi=\"\(columns.name)\",aggregate=\"\(labels[i].replacingOccurrences(of: "\"", with: "\\\""))\""
                    if !columns.groupNames.isEmpty {
                        let g = columns.groupText(group).joined(separator: "|")
                            .replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                            .replacingOccurrences(of: "\n", with: "\\n")
                        labelText += ",group=\"\(g)\""
                    }
                    let value = columns.valueText(accum, i)
                    let line = "cdctop_kpi{\(labelText)} \(value == "null" ? "NaN" : value)"
                    #expect(lines.contains(line), "missing: \(line)")
                    series += 1
                }
            }
        }
        #expect(body.split(separator: "\n").filter { $0.hasPrefix("cdctop_kpi{") }.count == series)
        let sauces = r.kpiColumns.firstIndex { $0.name == "category_sales" }!
        let saucesValue = r.totals.kpis[sauces].groups[[.text(Self.hostile)]].map {
            r.kpiColumns[sauces].valueText($0, 0)
        }
        #expect(saucesValue != nil)
        #expect(body.contains(#"group="Sauces \"hot\" \\ x\ny"} "# + (saucesValue ?? "?")))
        // The built-in series are still there, from the KPIs named transactions/revenue/category_sales.
        #expect(PrometheusEndpointTests.sample(body, "cdctop_kpi_transactions") == 4)

        let check = try runProgram(try PrometheusEndpointTests.tool("promtool"), ["check", "metrics"], input: body)
        #expect(check.status == 0, "promtool check metrics failed:\n\(check.output)")
    }

    @Test("a high-cardinality group by exports the 1000 largest groups and counts the rest")
    func prometheusBoundsGroups() throws {
        let feeder = try Self.feeder()
        var snapshot = feeder.core.snapshot(sequence: 1, takenAtMs: Self.t0 + 80_000)
        let k = snapshot.kpis.result.kpiColumns.firstIndex { $0.name == "lines" }!
        var values = KPIValues()
        for i in 0..<1_500 {
            var accum = KPIAccum(aggregates: 2)
            accum.rows = Int64(i)
            accum.counts = [Int64(i), Int64(i)]
            accum.sums = [.zero, ExactDecimal(Int64(i))]
            values.groups[[.int(Int64(i)), .text("x")]] = accum
        }
        snapshot.kpis.result.totals.kpis[k] = values
        let text = PrometheusExposition.render(snapshot, ops: OpsReport(), nowMs: 0)
        let exported = text.split(separator: "\n").filter {
            $0.hasPrefix("cdctop_kpi{kpi=\"lines\",aggregate=\"count(*)\"")
        }
        #expect(exported.count == 1_000)
        #expect(text.contains("cdctop_kpi{kpi=\"lines\",aggregate=\"count(*)\",group=\"1499|x\"} 1499\n"))
        #expect(text.contains("cdctop_kpi{kpi=\"lines\",aggregate=\"count(*)\",group=\"500|x\"} 500\n"))
        #expect(!text.contains("group=\"499|x\""))
        #expect(text.contains("cdctop_kpi_groups_omitted{kpi=\"lines\"} 500\n"))
        // The built-in shop form writes none of these families.
        let shop = PrometheusExposition.render(
            RunSnapshot(result: KPIResult(windowMs: 30_000)), ops: OpsReport(), nowMs: 0)
        #expect(
            !shop.contains("cdctop_kpi{") && !shop.contains("cdctop_kpi_unresolved_rows")
                && !shop.contains("cdctop_kpi_groups_omitted"))
    }

    // MARK: - Redis

    @Test(
        "Redis holds each KPI's JSON exactly as --json prints it, each window's net values, and redis-check prints them"
    )
    func redisMirror() async throws {
        let url = try kpiTestRedis()
        let prefix = "cdctop-test:\(UUID().uuidString.prefix(8))"
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let feeder = try Self.feeder()
        let first = feeder.core.snapshot(sequence: 1, takenAtMs: Self.t0 + 80_000)
        let connection = try RedisConnection(url: url)
        let writer = RedisSnapshotWriter(
            connection: connection, keys: RedisKeys(prefix: prefix),
            identity: MirrorIdentity(
                pipelineName: "nw", profileName: "northwind", version: "test",
                startedAtMs: 0, windowTTLSeconds: 3600))
        try writer.write(first, nowMs: Self.t0 + 80_000)
        try Self.expectMirror(url: url, prefix: prefix, equals: first.kpis.result)

        let state = try RedisMirror.readBack(url: url, prefix: prefix)
        let report = state.report(nowMs: Self.t0 + 80_000)
        #expect(report.contains("model KPIs (7)"), "\(report)")
        #expect(report.contains("  units  · sum(quantity)\n    total  12\n"), "\(report)")
        #expect(report.contains("  orders_by_status  by status  · count(*), avg(freight)  · 3 groups"), "\(report)")
        #expect(report.contains("    cancelled  1  null"), "\(report)")
        #expect(report.contains("unresolved rows 1"), "\(report)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(state.json().utf8)) as? [String: Any])
        let kpis = try #require(json["kpis"] as? [String: Any])
        #expect(kpis.count == 7)
        let windows = try #require(json["windows"] as? [[String: Any]])
        #expect((windows.first?["kpis"] as? [String: Any])?.count == 6)

        // A late correction: only the window it falls in and the KPIs it changed are rewritten. A tampered
        // field of a KPI the correction does not touch stays as it is (proof it was not written again).
        Self.sendLateCorrection(feeder)
        let second = feeder.core.snapshot(sequence: 2, takenAtMs: Self.t0 + 81_000)
        #expect(second.kpis.lateCorrections == 1)
        let keys = RedisKeys(prefix: prefix)
        _ = try connection.command("HSET", keys.kpis, "transactions", "{\"tampered\":1}")
        try writer.write(second, nowMs: Self.t0 + 81_000)
        #expect(writer.lastWrittenWindowStarts == [Self.t0])
        let tampered = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(tampered.kpis["transactions"] == "{\"tampered\":1}")
        let units = second.kpis.result.kpiColumns.firstIndex { $0.name == "units" }!
        #expect(tampered.kpis["units"] == (try Self.resultJSON(second.kpis.result, units)))
        // A new connection rewrites everything.
        writer.forgetWritten()
        try writer.write(second, nowMs: Self.t0 + 82_000)
        try Self.expectMirror(url: url, prefix: prefix, equals: second.kpis.result)

        // The threaded mirror writes the same.
        let prefix2 = prefix + "-mirror"
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix2) }
        let mirror = RedisMirror(
            url: url, prefix: prefix2, pipelineName: "nw", profileName: "northwind", windowTTLSeconds: 3600)
        mirror.start()
        defer { mirror.stop() }
        mirror.offer(second)
        let deadline = Date().addingTimeInterval(10)
        while mirror.writes < 1, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(mirror.writes >= 1)
        try Self.expectMirror(url: url, prefix: prefix2, equals: second.kpis.result)
    }

    static func expectMirror(url: RedisURL, prefix: String, equals r: KPIResult) throws {
        let state = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(state.problems.isEmpty, "\(state.problems)")
        #expect(state.kpis.count == r.kpiColumns.count)
        for (k, columns) in r.kpiColumns.enumerated() {
            #expect(state.kpis[columns.name] == (try resultJSON(r, k)), "P:kpis \(columns.name)")
        }
        // Built-in fields as before.
        #expect(
            state.totals
                == TotalsResult(
                    txCount: r.totals.txCount, revenue: r.totals.revenue, categoryRevenue: r.totals.categoryRevenue))
        #expect(state.windows.count == r.windows.count)
        for (w, mirrored) in zip(r.windows, state.windows) {
            #expect(mirrored.result.txCount == w.txCount && mirrored.result.revenue == w.revenue)
            #expect(Set(mirrored.kpis.keys) == Set(r.kpiColumns.filter(\.windowed).map(\.name)))
            for (k, columns) in r.kpiColumns.enumerated() where columns.windowed {
                #expect(
                    parsedRows(mirrored.kpis[columns.name]) == windowRows(columns, w.kpis[k]),
                    "window \(w.windowStartMs) kpi:\(columns.name)")
            }
        }
    }

    // MARK: - Warehouse

    @Test(
        "closed windows of windowed model KPIs land in cdctop.kpi_group_window exactly, and a late correction updates them"
    )
    func warehouseRows() throws {
        let db = try KPITestDatabase()
        defer { db.drop() }
        try WarehouseSchema.initialize(try db.connect())
        try WarehouseSchema.initialize(try db.connect())  // idempotent

        let feeder = try Self.feeder()
        let first = feeder.core.snapshot(sequence: 1, takenAtMs: Self.t0 + 80_000)
        #expect(first.kpis.finalWindowStarts == [Self.t0, Self.t0 + 30_000])
        let sink = WarehouseSink(url: db.url, pipeline: "nw")
        sink.start()
        defer { sink.stop() }
        sink.offer(first)
        try kpiWaitUntil("2 windows written") { sink.backlog == 0 && sink.windowsWritten >= 2 }

        func finals(_ s: RunSnapshot) -> [WindowResult] {
            s.kpis.result.windows.filter { s.kpis.finalWindowStarts.contains($0.windowStartMs) }
        }
        let stored = try WarehouseSchema.readKPIGroups(pipeline: "nw", on: db.connect())
        #expect(stored == WarehouseSchema.expectedKPIGroups(finals(first), kpiColumns: first.kpis.result.kpiColumns))
        // Independently of the writer's own code: the first window's figures.
        func row(_ start: Int64, _ kpi: String, _ group: [String], _ aggregate: String) -> WarehouseSchema.KPIGroupRow?
        {
            stored.first {
                $0.windowStartMs == start && $0.kpi == kpi && $0.group == group && $0.aggregate == aggregate
            }
        }
        #expect(row(Self.t0, "units", [], "sum(quantity)")?.value == "7")
        #expect(row(Self.t0, "transactions", [], "count(*)")?.value == "2")
        #expect(row(Self.t0, "lines", ["10", "0.15"], "sum(quantity)")?.value == "20")
        #expect(row(Self.t0, "lines", ["10", "0.15"], "sum(quantity)")?.rows == 1)
        #expect(row(Self.t0, "dup", [], "n #2")?.value == "27")
        #expect(row(Self.t0 + 30_000, "units", [], "sum(quantity)")?.value == "5")
        #expect(stored.contains { $0.group == [Self.hostile] })
        #expect(!stored.contains { $0.kpi == "orders_by_status" }, "a KPI with windows = false has no window rows")
        // Every value equals the engine's exact text for its window.
        for w in finals(first) {
            for (k, columns) in first.kpis.result.kpiColumns.enumerated() where columns.windowed {
                for (group, accum) in w.kpis[k].groups {
                    for (i, name) in KPIOutput.aggregateLabels(columns).enumerated() {
                        let text = columns.valueText(accum, i)
                        #expect(
                            row(w.windowStartMs, columns.name, columns.groupText(group), name)?.value
                                == (text == "null" ? nil : text))
                    }
                }
            }
        }

        // The late correction rewrites the first window's rows.
        Self.sendLateCorrection(feeder)
        let second = feeder.core.snapshot(sequence: 2, takenAtMs: Self.t0 + 81_000)
        sink.offer(second)
        try kpiWaitUntil("the correction written") { sink.backlog == 0 && sink.windowsWritten >= 3 }
        #expect(sink.rewrites == 1)
        let corrected = try WarehouseSchema.readKPIGroups(pipeline: "nw", on: db.connect())
        #expect(
            corrected == WarehouseSchema.expectedKPIGroups(finals(second), kpiColumns: second.kpis.result.kpiColumns))
        #expect(corrected.first { $0.windowStartMs == Self.t0 && $0.kpi == "units" }?.value == "13")
        #expect(
            corrected.first {
                $0.windowStartMs == Self.t0 && $0.kpi == "lines" && $0.group == ["11", "0"]
                    && $0.aggregate == "count(*)"
            }?.value == "2")
        #expect(
            try WarehouseSchema.readWindows(pipeline: "nw", on: db.connect()).map(\.txCount)
                == finals(second).map(\.txCount))
    }

    @Test("a warehouse without kpi_group_window: the sink says to run warehouse init, then writes once it has")
    func warehouseMissingGroupTable() throws {
        let db = try KPITestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        try WarehouseSchema.initialize(conn)
        try conn.execute("DROP TABLE cdctop.kpi_group_window")
        let feeder = try Self.feeder()
        let snapshot = feeder.core.snapshot(sequence: 1, takenAtMs: Self.t0 + 80_000)
        let sink = WarehouseSink(url: db.url, pipeline: "nw")
        sink.start()
        defer { sink.stop() }
        sink.offer(snapshot)
        try kpiWaitUntil("the missing table reported") { sink.lastError?.kind == .missingSchema }
        #expect(sink.status.detail.contains("kpi_group_window"), "\(sink.status.detail)")
        #expect(sink.windowsWritten == 0)
        try WarehouseSchema.initialize(conn)
        try kpiWaitUntil("written after init", seconds: 30) { sink.backlog == 0 && sink.windowsWritten >= 2 }
        #expect(try WarehouseSchema.readKPIGroups(pipeline: "nw", on: db.connect()).count > 0)
    }
}

// MARK: - Helpers

private func kpiTestRedis() throws -> RedisURL {
    guard let text = TestServices.environment("CDCTOP_TEST_REDIS"), !text.isEmpty else {
        throw KPITestMissing(
            "CDCTOP_TEST_REDIS is not set: run the tests with scripts/test (or bash scripts/services up redis; source .run/env)"
        )
    }
    return try RedisURL(parsing: text)
}

private struct KPITestMissing: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

private func kpiWaitUntil(_ what: String, seconds: Double = 15, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
    if try condition() { return }
    throw KPITestMissing("timed out waiting for: \(what)")
}

/// A fresh database on the shared test server (CDCTOP_TEST_PG), dropped at the end.
private struct KPITestDatabase {
    let url: String
    private let serverURL: String
    private let name: String

    init() throws {
        guard let server = TestServices.environment("CDCTOP_TEST_PG"), !server.isEmpty else {
            throw KPITestMissing(
                "CDCTOP_TEST_PG is not set: run the tests with scripts/test (or bash scripts/services up postgres; source .run/env)"
            )
        }
        serverURL = server
        name = "cdctop_kpi_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PostgresConnection(serverURL)
        try admin.execute("CREATE DATABASE \(try admin.quoteQualifiedIdentifier(name))")
        url = postgresURL(server, database: name)
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(url) }

    func drop() {
        guard let admin = try? PostgresConnection(serverURL), let quoted = try? admin.quoteQualifiedIdentifier(name)
        else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)")
    }
}
