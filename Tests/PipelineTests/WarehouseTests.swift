import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

// Needs a real PostgreSQL: scripts/test exports CDCTOP_TEST_PG=postgresql://postgres@127.0.0.1:PORT/postgres.
// Each test creates its own database; the restart test starts its own throwaway server.

@Suite("Warehouse (PostgreSQL)", .tags(.postgres))
struct WarehouseTests {

    // MARK: - Sink

    @Test("sink rows equal the engine's final windows, and a late correction rewrites its window")
    func sinkConvergesToEngineWindows() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        try WarehouseSchema.initialize(try db.connect())
        try WarehouseSchema.initialize(try db.connect())  // idempotent

        let base: Int64 = 1_700_000_010_000 - 1_700_000_010_000 % 30_000
        let odd = "Küche, \"Bad\" {x} \\ NULL"  // array-literal hostile category name
        var windows = [
            WindowResult(
                windowStartMs: base, txCount: 3, revenue: Money(cents: 15_990),
                categoryRevenue: ["books": Money(cents: 5_990), odd: Money(cents: 10_000)]),
            WindowResult(
                windowStartMs: base + 30_000, txCount: 1, revenue: Money(decimalText: "0.001")!,
                categoryRevenue: ["toys": Money(decimalText: "0.001")!]),
            WindowResult(windowStartMs: base + 60_000, txCount: -1, revenue: Money(cents: -2_500)),
            WindowResult(windowStartMs: base + 90_000, txCount: 7, revenue: Money(cents: 70_000)),
        ]
        let sink = WarehouseSink(url: db.url, pipeline: "test", batchSize: 2)
        sink.start()
        defer { sink.stop() }

        // The last window is not final yet: it must not be written.
        sink.offer(snapshot(windows, final: [base, base + 30_000, base + 60_000]))
        try waitUntil("3 windows written") { sink.backlog == 0 && sink.windowsWritten >= 3 }
        #expect(try WarehouseSchema.readWindows(pipeline: "test", on: db.connect()) == Array(windows[0..<3]))

        // Late correction of the first window (a category disappears, one appears) and the last becomes final.
        windows[0] = WindowResult(
            windowStartMs: base, txCount: 4, revenue: Money(cents: 18_990),
            categoryRevenue: ["books": Money(cents: 8_990), "garden": Money(cents: 10_000)])
        let final = Set(windows.map(\.windowStartMs))
        sink.offer(snapshot(windows, final: final))
        sink.offer(snapshot(windows, final: final))  // same values again: nothing new to write
        try waitUntil("correction written") { sink.backlog == 0 && sink.windowsWritten >= 5 }
        #expect(try WarehouseSchema.readWindows(pipeline: "test", on: db.connect()) == windows)
        #expect(sink.windowsWritten == 5)
        #expect(sink.rewrites == 1)
        #expect(sink.status.state == .ok)
        #expect(sink.status.detail.contains("backlog 0"))
    }

    @Test(
        "fed some of an engine's snapshots (each compared on the windows changed since the one offered before), the warehouse ends equal to the engine's final windows, late corrections included"
    )
    func incrementalOffersConverge() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        try WarehouseSchema.initialize(try db.connect())
        let sink = WarehouseSink(url: db.url, pipeline: "incremental", batchSize: 7)
        sink.start()
        defer { sink.stop() }

        let core = EngineCore(profile: .shop)
        let t0: Int64 = 1_700_000_000_000
        var offset: Int64 = 0
        var last: RunSnapshot?
        var lastOffered: UInt64?
        var incremental = 0
        func order(_ id: Int64, cents: Int64, at t: Int64, _ op: ChangeOp = .create) {
            var row = Row(key: .int(id))
            row.amount = .value(Money(cents: cents))
            let e = ChangeEvent(table: "transaction", role: .sale, op: op, before: nil, after: row, commitTimeMs: t)
            core.withAggregator { $0.apply(e, partitionKey: 1, offset: offset) }
            offset += 1
        }
        for i in 0..<2_000 {
            let t = t0 + Int64(i) * 700
            order(Int64(i), cents: 100 + Int64(i % 50), at: t)
            // Now and then a late update of an order in a window that is already final.
            if i % 37 == 0 && i > 200 { order(Int64(i - 150), cents: 999, at: t - 150 * 700, .update) }
            if i % 25 == 0 {
                let s = core.snapshot(sequence: UInt64(i + 1), takenAtMs: t)
                // Like the sink fed at checkpoints: it sees only some of the snapshots.
                if i % 100 == 0 || i % 75 == 0 {
                    if let previous = lastOffered, s.kpis.windowChanges.changes(since: previous) != nil {
                        incremental += 1
                    }
                    sink.offer(s)
                    lastOffered = s.sequence
                }
                last = s
            }
        }
        let s = try #require(last)
        sink.offer(s)
        let final = s.kpis.result.windows.filter { s.kpis.finalWindowStarts.contains($0.windowStartMs) }
        try waitUntil("every final window written", seconds: 60) {
            try WarehouseSchema.readWindows(pipeline: "incremental", on: db.connect()) == final
        }
        #expect(incremental > 30)
        #expect(core.aggregator.lateCorrections > 10)
    }

    @Test("one writer per pipeline: a second sink waits, says who writes, and takes over when the first stops")
    func oneWriterPerPipeline() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        try WarehouseSchema.initialize(try db.connect())
        let base: Int64 = 1_700_000_010_000 - 1_700_000_010_000 % 30_000
        let complete = [WindowResult(windowStartMs: base, txCount: 5, revenue: Money(cents: 50_000))]
        let partial = [WindowResult(windowStartMs: base, txCount: 2, revenue: Money(cents: 20_000))]
        let first = WarehouseSink(url: db.url, pipeline: "shared")
        first.start()
        first.offer(snapshot(complete, final: [base]))
        try waitUntil("the first sink wrote") { first.windowsWritten >= 1 && first.backlog == 0 }

        // A second viewer of the same pipeline, behind the first: its partial window must not land.
        let second = WarehouseSink(url: db.url, pipeline: "shared")
        second.start()
        defer { second.stop() }
        second.offer(snapshot(partial, final: [base]))
        try waitUntil("the second sink reports the other writer") {
            second.status.state == .error && second.status.detail.contains("another cdctop")
        }
        #expect(second.windowsWritten == 0)
        #expect(try WarehouseSchema.readWindows(pipeline: "shared", on: db.connect()) == complete)

        // The first one stops (its session ends): the second takes over and writes what it holds.
        first.stop()
        try waitUntil("the second sink took over", seconds: 40) { second.windowsWritten >= 1 }
        #expect(try WarehouseSchema.readWindows(pipeline: "shared", on: db.connect()) == partial)
    }

    @Test("a full backlog coalesces rewrites, defers the rest, and catches up without a new snapshot")
    func boundedBacklogLosesNothing() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        try WarehouseSchema.initialize(try db.connect())
        let base: Int64 = 1_800_000_000_000
        var windows: [WindowResult] = []
        for i in 0..<5 {
            let n = Int64(i)
            windows.append(WindowResult(windowStartMs: base + n * 30_000, txCount: n + 1, revenue: Money(whole: n + 1)))
        }
        let allStarts = Set(windows.map { $0.windowStartMs })
        let sink = WarehouseSink(url: db.url, pipeline: "bounded", maxBacklogWindows: 2)
        sink.offer(snapshot(windows, final: allStarts))
        #expect(sink.backlog == 5)  // 2 queued + 3 deferred, none forgotten
        // A correction of a queued window replaces it instead of growing the queue.
        windows[0].txCount = 10
        sink.offer(snapshot(windows, final: allStarts))
        #expect(sink.backlog == 5)

        sink.start()
        defer { sink.stop() }
        try waitUntil("backlog drained") { sink.backlog == 0 }
        #expect(try WarehouseSchema.readWindows(pipeline: "bounded", on: db.connect()) == windows)
    }

    @Test("the sink reports a missing schema before any window, then writes once it is created")
    func sinkMissingSchema() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let sink = WarehouseSink(url: db.url, pipeline: "late-init")
        sink.start()
        defer { sink.stop() }
        try waitUntil("missing schema reported") { sink.status.state == .error }
        #expect(sink.lastError?.kind == .missingSchema)
        #expect(sink.status.detail.contains("cdctop warehouse init"))

        let window = WindowResult(
            windowStartMs: 1_700_000_100_000 - 1_700_000_100_000 % 30_000, txCount: 1, revenue: Money(cents: 1))
        sink.offer(snapshot([window], final: [window.windowStartMs]))
        #expect(sink.backlog == 1)
        try WarehouseSchema.initialize(try db.connect())
        try waitUntil("written after init", seconds: 20) { sink.backlog == 0 }
        #expect(try WarehouseSchema.readWindows(pipeline: "late-init", on: db.connect()) == [window])
    }

    @Test("a PostgreSQL restart mid-run loses and duplicates nothing")
    func restartLosesNothing() throws {
        let server = try ThrowawayPostgres()
        defer { server.destroy() }
        try WarehouseSchema.initialize(try PostgresConnection(server.url))

        let base: Int64 = 1_750_000_020_000 - 1_750_000_020_000 % 30_000
        var windows = (0..<40).map { i in
            WindowResult(
                windowStartMs: base + Int64(i) * 30_000, txCount: Int64(i % 7),
                revenue: Money(cents: Int64(i) * 1_234), categoryRevenue: ["c\(i % 3)": Money(cents: Int64(i) * 1_234)])
        }
        let sink = WarehouseSink(url: server.url, pipeline: "restart", batchSize: 7)
        sink.start()
        defer { sink.stop() }
        sink.offer(snapshot(windows, final: Set(windows[0..<20].map(\.windowStartMs))))
        try waitUntil("first half written") { sink.backlog == 0 && sink.windowsWritten >= 20 }

        try server.stop()
        // While PostgreSQL is down: the rest becomes final and two written windows are corrected.
        windows[3].txCount += 100
        windows[3].categoryRevenue = ["late": Money(cents: 1)]
        windows[25].revenue = Money(cents: 99_999)
        sink.offer(snapshot(windows, final: Set(windows.map(\.windowStartMs))))
        try waitUntil("sink reports the outage") { sink.status.state == .error }
        #expect(sink.backlog == 21)
        #expect(sink.status.detail.contains("backlog 21"))
        #expect(sink.lastError?.kind == .unreachable || sink.lastError?.kind == .connectionLost)

        try server.start()
        try waitUntil("caught up after the restart", seconds: 30) { sink.backlog == 0 && sink.status.state == .ok }
        let conn = try PostgresConnection(server.url)
        #expect(try WarehouseSchema.readWindows(pipeline: "restart", on: conn) == windows)
        let counts = try conn.execute(
            """
            SELECT (SELECT count(*) FROM cdctop.kpi_window WHERE pipeline = $1),
                   (SELECT count(*) FROM cdctop.kpi_category_window WHERE pipeline = $1)
            """, ["restart"])
        #expect(counts.rows[0] == ["40", "40"])
    }

    // MARK: - History

    @Test("history groups cdctop windows by UTC day, with categories, last N days only")
    func historyFromOwnSchema() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        try WarehouseSchema.initialize(conn)
        let nowMs = WallClock.nowMs()
        let todayStart = nowMs - nowMs % 86_400_000
        try WarehouseSeed.seed(pipeline: "shop", days: 90, on: conn, nowMs: nowMs)
        try WarehouseSeed.seed(pipeline: "shop", days: 90, on: conn, nowMs: nowMs)  // reseeding doubles nothing
        // A live window of today, written the way the sink writes it, and another pipeline's row.
        let live = WindowResult(
            windowStartMs: todayStart + 30_000, txCount: 2, revenue: Money(cents: 2_000),
            categoryRevenue: ["books": Money(cents: 2_000)])
        try WarehouseSchema.write([live], pipeline: "shop", windowMs: 30_000, on: conn)
        try WarehouseSchema.write([live], pipeline: "other", windowMs: 30_000, on: conn)

        let history = try HistoryQuery.default.load(days: 30, pipeline: "shop", on: conn)
        #expect(history.days.count == 30)
        #expect(history.days.last?.day == dayText(todayStart))
        #expect(history.days.last?.txCount == 2)
        #expect(history.days.first?.day == dayText(todayStart - 29 * 86_400_000))

        // Expected figures straight from the seed's windows.
        let seeded = WarehouseSeed.windows(days: 90, endingBeforeDayStartMs: todayStart)
        #expect(seeded.count == 90 * 24)
        var expected: [String: (Int64, Money, [String: Money])] = [:]
        for w in seeded {
            var e = expected[dayText(w.windowStartMs)] ?? (0, .zero, [:])
            e.0 += w.txCount
            e.1 += w.revenue
            for (k, v) in w.categoryRevenue { e.2[k, default: .zero] += v }
            expected[dayText(w.windowStartMs)] = e
        }
        for day in history.days.dropLast() {
            let e = try #require(expected[day.day])
            #expect(day.txCount == e.0 && day.revenue == e.1 && day.categoryRevenue == e.2, "day \(day.day)")
        }
        // Weekly seasonality: Saturdays sell more than Tuesdays on average.
        let byWeekday = Dictionary(grouping: seeded, by: { (($0.windowStartMs / 86_400_000) + 3) % 7 })
        let saturday = byWeekday[5]!.reduce(Int64(0)) { $0 + $1.txCount }
        let tuesday = byWeekday[1]!.reduce(Int64(0)) { $0 + $1.txCount }
        #expect(saturday > tuesday * 11 / 10)

        let loader = HistoryLoader(url: db.url, pipeline: "shop", days: 7, reloadEverySeconds: 60)
        loader.start()
        defer { loader.stop() }
        try waitUntil("history loaded") { loader.history != nil }
        #expect(loader.history?.days.count == 7)
        #expect(loader.status.state == .ok)
        // Reload on demand picks up a new write without waiting for the period.
        try WarehouseSchema.write(
            [WindowResult(windowStartMs: todayStart + 60_000, txCount: 5, revenue: Money(whole: 5))],
            pipeline: "shop", windowMs: 30_000, on: conn)
        loader.reload()
        try waitUntil("reloaded") { loader.history?.days.last?.txCount == 7 }
    }

    @Test("history query is configurable for an existing fact table")
    func historyFromFactTable() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        try conn.execute(
            "CREATE TABLE fact_sales (day date, category text, revenue numeric(12,2), transactions bigint)")
        try conn.execute(
            """
            INSERT INTO fact_sales VALUES
              (current_date - 1, 'books', 10.50, 3), (current_date - 1, 'toys', 4.25, 1),
              (current_date - 2, 'books', 1.00, 1), (current_date - 40, 'books', 99.00, 9)
            """)
        let query = HistoryQuery(
            sql:
                "SELECT day, sum(transactions), sum(revenue) FROM fact_sales WHERE day > current_date - $1::int GROUP BY day ORDER BY day",
            categorySQL:
                "SELECT day, category, sum(revenue) FROM fact_sales WHERE day > current_date - $1::int GROUP BY 1, 2 ORDER BY 1, 2"
        )
        try conn.execute("SET DateStyle = ISO")
        let history = try query.load(days: 30, pipeline: "ignored", on: conn)
        #expect(history.days.count == 2)
        #expect(history.days.last?.txCount == 4)
        #expect(history.days.last?.revenue == Money(cents: 1_475))
        #expect(history.days.last?.categoryRevenue == ["books": Money(cents: 1_050), "toys": Money(cents: 425)])

        let bad = HistoryQuery(sql: "SELECT day FROM fact_sales")
        #expect(throws: WarehouseError.self) { try bad.load(days: 30, pipeline: "x", on: conn) }
    }

    // MARK: - Reconciliation

    @Test("reconciliation agrees on a quiet source and reports drift when rows change behind the pipeline")
    func reconciliation() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        try conn.execute(
            "CREATE TABLE \"transaction\" (transaction_id serial PRIMARY KEY, amount numeric(12,2) NOT NULL)")
        try conn.execute(
            "INSERT INTO \"transaction\" (amount) SELECT (g * 1.25)::numeric(12,2) FROM generate_series(1, 100) g")
        let sum = (1...100).reduce(Money.zero) { $0 + Money(cents: Int64($1) * 125) }

        let reconciler = Reconciler(
            sourceURL: db.url, saleTable: "public.transaction", amountColumn: "amount",
            everySeconds: 0.2, quietSeconds: 0.2)
        // Lagging engine: no comparison, the verdict says so.
        var engine = RunSnapshot(
            result: KPIResult(
                windowMs: 30_000, messages: 90,
                totals: TotalsResult(txCount: 90, revenue: .zero)))
        engine.consumer.partitions = [PartitionLag(topic: "t", partition: 0, position: 90, highWatermark: 100)]
        engine.consumer.caughtUp = true
        reconciler.offer(engine)
        reconciler.start()
        defer { reconciler.stop() }
        try waitUntil("waiting with the lag") { reconciler.reconciliation?.verdict == .waiting }
        #expect(reconciler.reconciliation?.lagAtCheck == 10)

        // Caught up with the right totals: agree.
        engine.kpis.result = KPIResult(
            windowMs: 30_000, messages: 100, totals: TotalsResult(txCount: 100, revenue: sum))
        engine.consumer.partitions = [PartitionLag(topic: "t", partition: 0, position: 100, highWatermark: 100)]
        reconciler.offer(engine)
        try waitUntil("agree") { reconciler.reconciliation?.verdict == .agree }
        let agreed = try #require(reconciler.reconciliation)
        #expect(agreed.sourceTxCount == 100 && agreed.sourceRevenue == sum && agreed.engineRevenue == sum)

        // A row changed behind the pipeline's back (no CDC event reaches the engine): drift.
        try conn.execute("UPDATE \"transaction\" SET amount = amount + 1 WHERE transaction_id = 7")
        try waitUntil("drift") { reconciler.reconciliation?.verdict == .drift }
        let drift = try #require(reconciler.reconciliation)
        #expect(drift.sourceRevenue == sum + Money(whole: 1))
        #expect(drift.engineRevenue == sum)
        #expect(drift.sinceMs <= drift.checkedAtMs)
        #expect(drift.detail.contains("1.00"))
        #expect(reconciler.status.state == .error)
    }

    // MARK: - Errors

    @Test("errors carry PostgreSQL's message and say what to do")
    func errorsAreActionable() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()

        let missing = #expect(throws: WarehouseError.self) {
            try WarehouseSchema.readWindows(pipeline: "x", on: conn)
        }
        #expect(missing?.kind == .missingSchema)
        #expect(missing?.sqlState == "42P01")
        #expect(missing?.advice.contains("cdctop warehouse init") == true)
        #expect(missing?.description.contains("kpi_window") == true)

        // Refused connection on a port nothing listens on.
        let port = try freePort()
        let refused = #expect(throws: WarehouseError.self) {
            try PostgresConnection("postgresql://postgres@127.0.0.1:\(port)/postgres")
        }
        #expect(refused?.kind == .unreachable)
        #expect(refused?.advice.contains("is PostgreSQL running on 127.0.0.1:\(port)") == true)

        // Permission: a role without privileges on the cdctop schema.
        try WarehouseSchema.initialize(conn)
        let role = "cdctop_nopriv_\(UInt32.random(in: 0...UInt32.max))"
        try conn.execute("CREATE ROLE \(role) LOGIN")
        defer {
            _ = try? conn.execute("DROP OWNED BY \(role)")
            _ = try? conn.execute("DROP ROLE \(role)")
        }
        let limitedURL = db.url.replacingOccurrences(of: "postgres@", with: "\(role)@")
        let limited = try PostgresConnection(limitedURL)
        let denied = #expect(throws: WarehouseError.self) {
            try WarehouseSchema.readWindows(pipeline: "x", on: limited)
        }
        #expect(denied?.kind == .permission)
        #expect(denied?.advice.contains("grant") == true)

        // Authentication failures are recognised from libpq's message.
        let auth = PostgresConnection.classifyConnectFailure(
            "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"bob\"",
            endpoint: "127.0.0.1:5432")
        #expect(auth.kind == .authentication)
        #expect(auth.advice.contains("password"))

        // Identifiers from the profile are quoted, not spliced.
        #expect(try conn.quoteQualifiedIdentifier("public.transaction") == "\"public\".\"transaction\"")
        #expect(try conn.quoteQualifiedIdentifier("we\"ird") == "\"we\"\"ird\"")
    }

    @Test("array literals keep hostile text as data")
    func arrayLiterals() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        let values = ["a,b", "{}", "\"q\"", "back\\slash", "NULL", "", "ünï"]
        let rows = try conn.execute(
            "SELECT x FROM unnest($1::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n",
            [PostgresArrayLiteral.texts(values)])
        #expect(rows.rows.map { $0[0] } == values)
    }
}

// MARK: - Helpers

private func snapshot(_ windows: [WindowResult], final: Set<Int64>) -> RunSnapshot {
    var s = RunSnapshot(
        result: KPIResult(windowMs: 30_000, windows: windows.sorted { $0.windowStartMs < $1.windowStartMs }))
    s.kpis.finalWindowStarts = final
    return s
}

private func dayText(_ ms: Int64) -> String {
    let date = Date(timeIntervalSince1970: Double(ms) / 1000)
    let formatter = DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd"
    return formatter.string(from: date)
}

private func testServerURL() throws -> String {
    let url = TestServices.environment("CDCTOP_TEST_PG")
    return try #require(
        url,
        "CDCTOP_TEST_PG is not set: run the tests with scripts/test, which starts PostgreSQL and exports it (postgresql://postgres@127.0.0.1:PORT/postgres)"
    )
}

/// A fresh database on the shared test server, dropped at the end.
private struct TestDatabase {
    let url: String
    private let serverURL: String
    private let name: String

    init() throws {
        serverURL = try testServerURL()
        name = "cdctop_wh_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PostgresConnection(serverURL)
        try admin.execute("CREATE DATABASE \(try admin.quoteQualifiedIdentifier(name))")
        url = postgresURL(serverURL, database: name)
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(url) }

    func drop() {
        guard let admin = try? PostgresConnection(serverURL), let quoted = try? admin.quoteQualifiedIdentifier(name)
        else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)")
    }

}

/// A private PostgreSQL 15 for the restart test (the shared one must not be restarted under other tests).
private final class ThrowawayPostgres {
    let directory: String
    let port: Int
    var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }
    static let bin = "/usr/lib/postgresql/15/bin"

    init() throws {
        directory = NSTemporaryDirectory() + "cdctop-wh-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        port = try freePort()
        try run("/usr/bin/install", ["-d", "-o", "postgres", "-g", "postgres", directory])
        try asPostgres(
            "\(Self.bin)/initdb",
            ["-D", "\(directory)/pg", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])
        try start()
    }

    func start() throws {
        try asPostgres(
            "\(Self.bin)/pg_ctl",
            [
                "-D", "\(directory)/pg", "-l", "\(directory)/pg.log", "-w", "-t", "30",
                "-o", "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(directory)",
                "start",
            ])
    }

    func stop() throws {
        try asPostgres("\(Self.bin)/pg_ctl", ["-D", "\(directory)/pg", "-w", "-t", "30", "-m", "fast", "stop"])
    }

    func destroy() {
        _ = try? stop()
        _ = try? FileManager.default.removeItem(atPath: directory)
    }

    private func asPostgres(_ tool: String, _ arguments: [String]) throws {
        if getuid() == 0 {
            try run("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + arguments)
        } else {
            try run(tool, arguments)
        }
    }

    /// posix_spawn + waitpid: Foundation's Process.waitUntilExit can hang on a test thread without a run loop.
    private func run(_ tool: String, _ arguments: [String]) throws {
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, tool, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TimedOut(what: "\(tool) to start (errno \(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = (status >> 8) & 0xff
        guard status & 0x7f == 0, exitCode == 0 else {
            throw TimedOut(what: "\(tool) \(arguments.joined(separator: " ")) to succeed (status \(status))")
        }
    }
}

// MARK: - warehouse seed is safe

@Suite("Warehouse seed never overwrites real windows (PostgreSQL)", .tags(.postgres))
struct WarehouseSeedSafetyTests {
    /// On an hour boundary, so the seed's hour windows include this start.
    static let base: Int64 = 1_699_999_200_000
    static let real = [
        WindowResult(
            windowStartMs: base, txCount: 3, revenue: Money(cents: 15_990),
            categoryRevenue: ["books": Money(cents: 15_990)]),
        WindowResult(windowStartMs: base + 30_000, txCount: 1, revenue: Money(cents: 100)),
    ]
    /// Seeding 30 days ending at `nowMs` covers `base`'s hour, so a forced seed overwrites a real window.
    static let nowMs = base + 86_400_000

    @Test(
        "refuses a pipeline with real windows (nothing written), writes the demo pipeline by default, --force overrides"
    )
    func refusesRealPipeline() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        try WarehouseSchema.initialize(conn)
        try WarehouseSchema.write(Self.real, pipeline: "shop", windowMs: 30_000, synthetic: false, on: conn)

        let error = try #require(throws: WarehouseError.self) {
            try WarehouseSeed.seed(pipeline: "shop", days: 30, on: conn, nowMs: Self.nowMs)
        }
        #expect(error.kind == .wouldOverwrite)
        #expect(error.message.contains("'shop'") && error.message.contains("2 real window(s)"), "\(error.message)")
        #expect(error.advice.contains("--force") && error.advice.contains("'demo'"), "\(error.advice)")
        #expect(
            try WarehouseSchema.readWindows(pipeline: "shop", on: conn) == Self.real, "a refused seed writes nothing")

        let written = try WarehouseSeed.seed(
            pipeline: WarehouseSeed.defaultPipeline, days: 30, on: conn, nowMs: Self.nowMs)
        #expect(written == 30 * 24)
        #expect(try WarehouseSchema.readWindows(pipeline: "demo", on: conn).count == 30 * 24)
        #expect(try WarehouseSchema.readWindows(pipeline: "shop", on: conn) == Self.real)
        // Reseeding the demo pipeline is fine: everything there is synthetic.
        try WarehouseSeed.seed(pipeline: "demo", days: 30, on: conn, nowMs: Self.nowMs)

        try WarehouseSeed.seed(pipeline: "shop", days: 30, on: conn, nowMs: Self.nowMs, force: true)
        let forced = try WarehouseSchema.readWindows(pipeline: "shop", on: conn)
        #expect(forced.contains { $0.windowStartMs == Self.base + 30_000 }, "the real window of another start stays")
        #expect(
            forced.first { $0.windowStartMs == Self.base } != Self.real[0],
            "--force replaced the real window at the same start")
        let summaries = try WarehouseSchema.summaries(on: conn)
        let synthetic = Dictionary(uniqueKeysWithValues: summaries.map { ($0.pipeline, $0.syntheticWindows) })
        #expect(
            synthetic == ["demo": 720, "shop": 720],
            "every seeded row is marked; the one real window left in shop is not")
    }

    @Test("a real window written over a seeded one makes the pipeline real")
    func liveWriteClearsTheMarker() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        try WarehouseSeed.seed(pipeline: "demo", days: 2, on: conn, nowMs: Self.nowMs)
        #expect(try WarehouseSeed.realWindows(pipeline: "demo", on: conn).count == 0)
        let seeded = try #require(try WarehouseSchema.readWindows(pipeline: "demo", on: conn).first)
        let live = WindowResult(windowStartMs: seeded.windowStartMs, txCount: 1, revenue: Money(cents: 1))
        try WarehouseSchema.write([live], pipeline: "demo", windowMs: 30_000, synthetic: false, on: conn)
        #expect(try WarehouseSeed.realWindows(pipeline: "demo", on: conn).count == 1)
        #expect(throws: WarehouseError.self) {
            try WarehouseSeed.seed(pipeline: "demo", days: 2, on: conn, nowMs: Self.nowMs)
        }
    }

    @Test("an older warehouse without the marker: the sink still writes, init upgrades it, its rows count as real")
    func upgradesAnOlderWarehouse() throws {
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        // The schema as cdctop created it before the marker column existed.
        for sql in WarehouseTables.statements where !sql.contains("synthetic") { try conn.execute(sql) }
        #expect(try WarehouseSchema.hasSyntheticMarker(conn) == false)
        try WarehouseSchema.write(Self.real, pipeline: "shop", windowMs: 30_000, synthetic: nil, on: conn)

        // The sink detects the missing column and writes without it.
        let sink = WarehouseSink(url: db.url, pipeline: "shop")
        sink.start()
        defer { sink.stop() }
        var snapshot = RunSnapshot(
            result: KPIResult(
                windowMs: 30_000,
                windows: [
                    WindowResult(windowStartMs: Self.base + 60_000, txCount: 2, revenue: Money(cents: 200))
                ]))
        snapshot.kpis.finalWindowStarts = [Self.base + 60_000]
        sink.offer(snapshot)
        let deadline = Date().addingTimeInterval(10)
        while try WarehouseSchema.readWindows(pipeline: "shop", on: conn).count < 3 && Date() < deadline {
            usleep(50_000)
        }
        #expect(try WarehouseSchema.readWindows(pipeline: "shop", on: conn).count == 3, "\(sink.status)")

        try WarehouseSchema.initialize(conn)
        #expect(try WarehouseSchema.hasSyntheticMarker(conn))
        #expect(try WarehouseSeed.realWindows(pipeline: "shop", on: conn).count == 3)
        #expect(throws: WarehouseError.self) {
            try WarehouseSeed.seed(pipeline: "shop", days: 1, on: conn, nowMs: Self.nowMs)
        }
    }

    @Test("cdctop warehouse seed: the demo pipeline by default, exit 3 with a reason on a real one")
    func command() throws {
        guard let binary = cdctopBinary() else {
            Issue.record(
                "cdctop binary not found next to the test bundle \(CommandLine.arguments[0]); run `swift build` first")
            return
        }
        let db = try TestDatabase()
        defer { db.drop() }
        let conn = try db.connect()
        try WarehouseSchema.initialize(conn)
        try WarehouseSchema.write(Self.real, pipeline: "shop", windowMs: 30_000, synthetic: false, on: conn)
        let refused = Shell.run("\(binary) warehouse seed --days 2 --pipeline shop --warehouse '\(db.url)'")
        #expect(refused.status == 3, "\(refused.output)")
        #expect(
            refused.output.contains("refused: pipeline 'shop'") && refused.output.contains("--force"),
            "\(refused.output)")
        let seeded = Shell.run("\(binary) warehouse seed --days 2 --warehouse '\(db.url)'")
        #expect(seeded.status == 0, "\(seeded.output)")
        #expect(seeded.output.contains("for pipeline 'demo'"), "\(seeded.output)")
        #expect(try WarehouseSchema.readWindows(pipeline: "shop", on: conn) == Self.real)
        let status = Shell.run("\(binary) warehouse status --warehouse '\(db.url)'")
        #expect(status.output.contains("of which synthetic"), "\(status.output)")
    }

}
