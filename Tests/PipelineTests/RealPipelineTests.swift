import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

// The pieces of the real pipeline that run inside cdctop: the Kafka Connect health poller (against an
// in-process HTTP server, no Connect needed) and the PostgreSQL source workload (needs CDCTOP_TEST_PG,
// exported by scripts/test). The whole PostgreSQL → Debezium → Tansu → cdctop path is scripts/stack-e2e.

@Suite("Kafka Connect health")
struct ConnectHealthTests {
    static let failedStatus = """
        {"shop":{"status":{"name":"shop","connector":{"state":"RUNNING","worker_id":"127.0.0.1:8083"},\
        "tasks":[{"id":1,"state":"RUNNING","worker_id":"127.0.0.1:8083"},{"id":0,"state":"FAILED","worker_id":"127.0.0.1:8083",\
        "trace":"org.apache.kafka.connect.errors.ConnectException: replication slot \\"cdctop_shop\\" is active\\n\\tat io.debezium.X.y(X.java:1)\\n"}],\
        "type":"source"}},"audit":{"status":{"name":"audit","connector":{"state":"PAUSED","worker_id":"w"},"tasks":[{"id":0,"state":"PAUSED","worker_id":"w"}]}}}
        """

    @Test("expanded status: sorted connectors, worst task state wins, first trace line kept")
    func parsesExpandedStatus() throws {
        let connectors = try ConnectStatusParser.parseExpandedStatus(Self.failedStatus)
        #expect(connectors.map(\.name) == ["audit", "shop"])
        let shop = connectors[1]
        #expect(shop.state == .running)
        #expect(shop.tasks.map(\.id) == [0, 1])
        #expect(shop.overallState == .failed)
        #expect(
            shop.failureReason
                == "task 0: org.apache.kafka.connect.errors.ConnectException: replication slot \"cdctop_shop\" is active"
        )
        #expect(connectors[0].overallState == .paused)
        #expect(shop.summary.hasPrefix("shop FAILED task 0: org.apache.kafka.connect.errors.ConnectException"))
    }

    @Test("a RUNNING connector without tasks is UNASSIGNED; garbage is an error that says what to check")
    func edgeCases() throws {
        let idle = try ConnectStatusParser.parseExpandedStatus(
            #"{"c":{"status":{"name":"c","connector":{"state":"RUNNING"},"tasks":[]}}}"#)
        #expect(idle[0].overallState == .unassigned)
        #expect(throws: CurlHTTPError.self) { try ConnectStatusParser.parseExpandedStatus("<html>nginx</html>") }
        #expect(throws: CurlHTTPError.self) { try ConnectStatusParser.parseExpandedStatus(#"{"c":{"name":"c"}}"#) }
    }

    @Test("status bar: heartbeats tell a quiet table from a stuck connector")
    func statusWithHeartbeats() {
        let running = ConnectHealthReport(
            connectors: [
                ConnectorHealth(
                    name: "shop", state: .running,
                    tasks: [ConnectTaskHealth(id: 0, state: .running)])
            ],
            checkedAtMs: 1_000, url: "http://x:1")
        #expect(running.status(lastHeartbeatMs: 0, nowMs: 100_000).state == .ok)
        let fresh = running.status(lastHeartbeatMs: 99_000, nowMs: 100_000)
        #expect(fresh.state == .ok)
        #expect(fresh.detail.contains("heartbeat"))
        let stale = running.status(lastHeartbeatMs: 10_000, nowMs: 100_000)
        #expect(stale.state == .error)
        #expect(stale.detail.contains("stale"))
        var paused = running
        paused.connectors[0].tasks[0].state = .paused
        #expect(paused.status(lastHeartbeatMs: 99_000, nowMs: 100_000).state == .paused)
        var unreachable = running
        unreachable.pollError = "cannot connect to http://x:1: Connection refused"
        #expect(unreachable.status(lastHeartbeatMs: 0, nowMs: 100_000).state == .error)
        #expect(ConnectHealthReport(url: "http://x:1").status(lastHeartbeatMs: 0, nowMs: 1).state == .connecting)
        #expect(
            running.json()
                == #"[{"name":"shop","state":"RUNNING","connector_state":"RUNNING","tasks":["RUNNING"],"error":null,"topic_prefix":null,"watched":true}]"#
        )
    }

    @Test("URLs: http and https with a base path, no scheme is http; junk is refused with advice")
    func endpoints() throws {
        #expect(
            try HTTPService.kafkaConnect(url: "http://connect.example:8083/api/").baseURL
                == "http://connect.example:8083/api")
        #expect(try HTTPService.kafkaConnect(url: "127.0.0.1:28083").baseURL == "http://127.0.0.1:28083")
        #expect(try HTTPService.kafkaConnect(url: "http://[::1]:8083").baseURL == "http://[::1]:8083")
        #expect(try HTTPService.kafkaConnect(url: "https://c:8083").baseURL == "https://c:8083")
        #expect(try HTTPService.kafkaConnect(url: "https://u:secret@c:8083").description == "https://u:***@c:8083")
        for junk in ["http://c:notaport", "kafka://c:9092", "http://:8083", "http://[::1:8083"] {
            #expect(throws: CurlHTTPError.self) { try HTTPService.kafkaConnect(url: junk) }
        }
        do { _ = try HTTPService.kafkaConnect(url: "kafka://c:9092") } catch {
            #expect(
                error.kind == .configuration && error.description.contains("e.g. http://127.0.0.1:8083"), "\(error)")
        }
    }

    @Test("the poller reads a chunked answer over a real socket, and reports a refused connection")
    func pollsOverSocket() throws {
        let body =
            #"{"shop":{"status":{"name":"shop","connector":{"state":"PAUSED","worker_id":"w"},"tasks":[{"id":0,"state":"PAUSED","worker_id":"w"}]}}}"#
        // Split into two chunks so de-chunking is exercised.
        let half = body.index(body.startIndex, offsetBy: body.count / 2)
        let chunks = [String(body[..<half]), String(body[half...])]
        var answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        for c in chunks { answer += String(c.utf8.count, radix: 16) + "\r\n" + c + "\r\n" }
        answer += "0\r\n\r\n"
        let server = try OneShotHTTPServer(answer: answer)
        let monitor = try ConnectHealthMonitor(url: "http://127.0.0.1:\(server.port)")
        let report = monitor.poll()
        #expect(report.pollError == nil)
        #expect(report.connectors.first?.overallState == .paused)
        #expect(report.checkedAtMs > 0)
        #expect(server.request().hasPrefix("GET /connectors?expand=status&expand=info HTTP/1.1\r\n"))

        let closedPort = server.port
        server.close()
        let refused = try ConnectHealthMonitor(url: "http://127.0.0.1:\(closedPort)").poll()
        #expect(refused.pollError?.contains("cannot connect") == true)
        #expect(refused.overallState == .unknown)
    }

    @Test("a non-200 answer is an error naming the status")
    func httpErrorStatus() throws {
        let server = try OneShotHTTPServer(answer: "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
        let report = try ConnectHealthMonitor(url: "http://127.0.0.1:\(server.port)").poll()
        #expect(report.pollError?.contains("HTTP 404") == true)
        server.close()
    }
}

/// Answers the first connection on 127.0.0.1 with a fixed HTTP response, on its own thread.
final class OneShotHTTPServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let received = ReceivedRequest()
    private let done = DispatchSemaphore(value: 0)

    init(answer: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        listener = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 4) == 0 else {
            throw CurlHTTPError(kind: .setup, message: "test server: bind/listen failed")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        let received = self.received
        let done = self.done
        Thread.detachNewThread {
            let client = accept(fd, nil, nil)
            if client >= 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = recv(client, &buffer, buffer.count, 0)
                let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
                received.set(text)
                let bytes = Array(answer.utf8)
                _ = bytes.withUnsafeBytes { send(client, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
                Glibc.close(client)
            }
            done.signal()
        }
    }

    func request() -> String {
        _ = done.wait(timeout: .now() + 5)
        return received.get()
    }

    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }
}

final class ReceivedRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func set(_ value: String) { lock.withLock { text = value } }
    func get() -> String { lock.withLock { text } }
}

@Suite("PostgreSQL source workload", .tags(.postgres))
struct SourceWorkloadTests {
    @Test("real INSERT/UPDATE/DELETE traffic: count(*) = orders − cancellations, the category join = Σ line items")
    func workloadKeepsTheSchemaConsistent() throws {
        let adminURL = try #require(
            TestServices.environment("CDCTOP_TEST_PG"),
            "CDCTOP_TEST_PG is not set: run the tests with scripts/test, which starts PostgreSQL and exports it")
        let database = "cdctop_source_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        let admin = try PostgresConnection(adminURL)
        try admin.execute("CREATE DATABASE \(database)")
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        let url = postgresURL(adminURL, database: database)
        let connection = try PostgresConnection(url)
        for statement in try Self.statements(ofFile: "sql/shop.sql") { try connection.execute(statement) }
        // The schema file is idempotent: a second run changes nothing.
        for statement in try Self.statements(ofFile: "sql/shop.sql") { try connection.execute(statement) }
        #expect(try connection.execute("SELECT count(*) FROM product").rows[0][0] == "12")
        #expect(
            try connection.execute("SELECT relreplident FROM pg_class WHERE relname = 'transaction'").rows[0][0] == "f")

        let workload = try ShopSourceWorkload(url: url, seed: 11)
        for _ in 0..<400 { _ = try workload.step() }
        let committed = workload.committed
        #expect((committed[.order] ?? 0) > 150)
        #expect((committed[.refund] ?? 0) > 10 && (committed[.cancel] ?? 0) > 10 && (committed[.shipping] ?? 0) > 10)

        let totals = try SourceTotals.query(connection)
        #expect(totals.txCount == (committed[.order] ?? 0) - (committed[.cancel] ?? 0))
        let lineSum = try connection.execute("SELECT sum(quantity * unit_price)::text FROM transactiondetail").rows[0][
            0]
        let categorySum = totals.categoryRevenue.values.reduce(Money.zero, +)
        #expect(categorySum == lineSum.flatMap { Money(decimalText: $0) })
        // Refunds lower amounts below the line items' sum; orders never refunded equal it exactly.
        let mismatched = try connection.execute(
            """
            SELECT count(*) FROM "transaction" t
            WHERE t.status <> 'refunded' AND t.amount <> (SELECT sum(quantity * unit_price) FROM transactiondetail d WHERE d.transaction_id = t.transaction_id)
            """
        ).rows[0][0]
        #expect(mismatched == "0")
        #expect(
            totals.json().hasPrefix("{\"tx_count\":\(totals.txCount),\"revenue\":\"\(totals.revenue.formatted())\""))

        // Orders only: every commit adds exactly one transaction (what the latency measurement relies on).
        let ordersOnly = try ShopSourceWorkload(url: url, seed: 12, mix: .ordersOnly)
        let before = totals.txCount
        for _ in 0..<25 { #expect(try ordersOnly.step().change == .order) }
        #expect(try SourceTotals.query(connection).txCount == before + 25)
    }

    @Test("a database without the shop schema is refused with advice to load sql/shop.sql")
    func missingSchema() throws {
        let adminURL = try #require(
            TestServices.environment("CDCTOP_TEST_PG"),
            "CDCTOP_TEST_PG is not set: run the tests with scripts/test, which starts PostgreSQL and exports it")
        let database = "cdctop_source_empty_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        let admin = try PostgresConnection(adminURL)
        try admin.execute("CREATE DATABASE \(database)")
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        do {
            _ = try ShopSourceWorkload(url: postgresURL(adminURL, database: database))
            Issue.record("a database without the schema was accepted")
        } catch {
            #expect(error.advice.contains("sql/shop.sql"))
        }
    }

    /// The statements of a SQL file (split on `;` at line ends outside `$$` bodies), path from the package root.
    static func statements(ofFile relativePath: String) throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
        var statements: [String] = []
        var current = ""
        var inDollarBody = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") && current.isEmpty { continue }
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inDollarBody.toggle() }
            if !inDollarBody && trimmed.hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { statements.append(current) }
        return statements
    }
}
