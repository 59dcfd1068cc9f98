import Foundation
import Metrics
import Synchronization
import TestSupport
import Testing

@testable import Pipeline

/// The one outbound HTTP client (libcurl) as Kafka Connect's poller and Alertmanager's sender use it:
/// HTTPS against a real TLS server (Python's http.server wrapped in ssl, with a self-signed certificate
/// made by openssl for this run), basic auth and bearer tokens from a file or the environment, a redirect,
/// and a request cut off by its `cancelled` closure.
@Suite("HTTP client (libcurl): HTTPS, auth, redirects, cancellation", .serialized)
struct HTTPClientTests {
    /// The test server: `GET [/moved]/connectors?expand=status` answers a Connect status (after a 302 for
    /// /moved), `POST /api/v2/alerts` keeps the body for `GET /received`, `GET /slow` never answers. Every
    /// path but /received wants `Authorization` equal to the expected header, when one is given.
    static let serverScript = #"""
        import http.server, ssl, sys, threading, time
        cert, key, expected = sys.argv[1], sys.argv[2], sys.argv[3]
        received = []
        STATUS = b'{"shop":{"status":{"name":"shop","connector":{"state":"RUNNING","worker_id":"w"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"w"}]}}}'
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers: self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def authorized(self):
                if expected != "-" and self.headers.get("Authorization") != expected:
                    self.answer(401, b"unauthorized", [("WWW-Authenticate", 'Basic realm="t"')])
                    return False
                return True
            def do_GET(self):
                if self.path == "/received":
                    return self.answer(200, b"\n".join(received))
                if not self.authorized(): return
                if self.path.startswith("/slow"):
                    time.sleep(120); return
                if self.path.startswith("/moved/"):
                    return self.answer(302, headers=[("Location", self.path[len("/moved"):])])
                if self.path == "/connectors?expand=status&expand=info":
                    return self.answer(200, STATUS, [("Content-Type", "application/json")])
                self.answer(404, b"no such path")
            def do_POST(self):
                if not self.authorized(): return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/api/v2/alerts":
                    received.append(body); return self.answer(200)
                self.answer(404)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        print("port", server.server_address[1], flush=True)
        server.serve_forever()
        """#

    /// A TLS server with a certificate of its own for 127.0.0.1; `stop()` SIGKILLs it by pid.
    final class TLSServer {
        let process = Process()
        let port: Int
        let directory: String
        var caFile: String { directory + "/cert.pem" }
        var url: String { "https://127.0.0.1:\(port)" }

        /// `expectedAuthorization`: the exact `Authorization` header every request must carry (nil: none needed).
        init(expectedAuthorization: String? = nil) throws {
            directory =
                FileManager.default.temporaryDirectory.appendingPathComponent(
                    "cdctop-tls-\(UUID().uuidString.prefix(8))"
                ).path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let made = try runProgram(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
                ])
            guard made.status == 0 else { throw TestFailure("openssl could not make a certificate: \(made.output)") }
            try HTTPClientTests.serverScript.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [
                directory + "/server.py", directory + "/cert.pem", directory + "/key.pem", expectedAuthorization ?? "-",
            ]
            port = try startPortPrinting(process, what: "the TLS test server")
        }

        /// What `POST /api/v2/alerts` received, one body a line.
        func received() throws -> String {
            var request = CurlHTTP.Request(url: url + "/received")
            request.caFile = caFile
            return try CurlHTTP.perform(request).text
        }

        /// SIGKILL: the test process's threads block SIGTERM, and a child inherits the mask.
        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
        deinit { stop() }
    }

    @Test("Kafka Connect over HTTPS: verified with --connect-ca, refused without it, with advice that names the option")
    func connectOverHTTPS() throws {
        let server = try TLSServer()
        defer { server.stop() }
        let report = try ConnectHealthMonitor(url: server.url, caFile: server.caFile).poll()
        #expect(report.pollError == nil, "\(report.pollError ?? "")")
        #expect(report.connectors.map(\.summary) == ["shop RUNNING 1/1"])

        // The system CA store does not know a self-signed certificate.
        let untrusted = try ConnectHealthMonitor(url: server.url).poll()
        let error = try #require(untrusted.pollError)
        #expect(error.contains("TLS with \(server.url) failed") && error.contains("--connect-ca FILE"), "\(error)")
        #expect(untrusted.overallState == .unknown)

        // A redirect is followed (a base URL that moved).
        let moved = try ConnectHealthMonitor(url: server.url + "/moved", caFile: server.caFile).poll()
        #expect(moved.pollError == nil && moved.connectors.count == 1, "\(moved.pollError ?? "")")
    }

    @Test("credentials from a file (basic) or the environment (bearer) reach the server; 401 says where they come from")
    func credentials() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cdctop-auth-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authFile = directory + "/connect.auth"
        try "admin:s3cret\n".write(toFile: authFile, atomically: true, encoding: .utf8)

        let basic = try TLSServer(expectedAuthorization: "Basic " + Data("admin:s3cret".utf8).base64EncodedString())
        defer { basic.stop() }
        let withFile = try ConnectHealthMonitor(url: basic.url, authFile: authFile, caFile: basic.caFile).poll()
        #expect(withFile.pollError == nil, "\(withFile.pollError ?? "")")
        let without = try ConnectHealthMonitor(url: basic.url, caFile: basic.caFile).poll()
        #expect(without.pollError?.contains("HTTP 401") == true, "\(without.pollError ?? "")")
        #expect(
            without.pollError?.contains("--connect-auth-file FILE or $CDCTOP_CONNECT_AUTH") == true,
            "\(without.pollError ?? "")")
        try "admin:wrong\n".write(toFile: authFile, atomically: true, encoding: .utf8)
        let wrong = try ConnectHealthMonitor(url: basic.url, authFile: authFile, caFile: basic.caFile).poll()
        #expect(wrong.pollError?.contains("refused the credentials") == true, "\(wrong.pollError ?? "")")

        // Bearer token from $CDCTOP_ALERTMANAGER_AUTH (an environment passed in, as the process's would be).
        let bearer = try TLSServer(expectedAuthorization: "Bearer t0ken")
        defer { bearer.stop() }
        var service = try HTTPService.alertmanager(url: bearer.url, caFile: bearer.caFile)
        service.credentials = try HTTPCredentials.load(
            file: nil, option: "--alertmanager", environment: ["CDCTOP_ALERTMANAGER_AUTH": "bearer t0ken"])
        #expect(service.credentials == .bearer("t0ken"))
        let sender = AlertmanagerSender(service: service, pipeline: "tls-test", resendMs: 1_000)
        var e = AlertEvaluator(
            rules: {
                var r = AlertRules()
                r.forMs[.reconciliationDrift] = 0
                return r
            }())
        var facts = AlertFacts(nowMs: WallClock.nowMs())
        facts.reconciliation = .drift
        sender.update(transitions: e.evaluate(facts), firing: e.firing)
        #expect(sender.sendNow(), "\(sender.status.detail)")
        let posted = try bearer.received()
        #expect(
            posted.contains("\"alertname\":\"CdcReconciliationDrift\"") && posted.contains("\"pipeline\":\"tls-test\""),
            "\(posted)")
        #expect(sender.status.state == .ok)

        // The credential files' own mistakes name the file.
        try "no-colon-here\n".write(toFile: authFile, atomically: true, encoding: .utf8)
        #expect(throws: CurlHTTPError.self) { try HTTPService.kafkaConnect(url: basic.url, authFile: authFile) }
        #expect(throws: CurlHTTPError.self) {
            try HTTPService.kafkaConnect(url: basic.url, authFile: directory + "/missing")
        }
    }

    @Test("a request in flight ends as cancelled when its closure turns true, long before its timeout")
    func cancellation() throws {
        let server = try TLSServer()
        defer { server.stop() }
        var request = CurlHTTP.Request(url: server.url + "/slow")
        request.caFile = server.caFile
        request.timeoutSeconds = 60
        let started = Date()
        do {
            _ = try CurlHTTP.perform(request, cancelled: { Date().timeIntervalSince(started) > 0.3 })
            Issue.record("/slow answered")
        } catch {
            // With a 60 s timeout and a server that never answers, only the closure can end it.
            #expect(error.kind == .cancelled, "\(error)")
        }

        // A Connect poller being stopped abandons its poll the same way, and leaves the report as it was
        // (a poll that ran into its 60 s timeout would report "no answer").
        var service = try HTTPService.kafkaConnect(url: server.url + "/slow", caFile: server.caFile)
        service.timeoutSeconds = 60
        let monitor = ConnectHealthMonitor(service: service, everySeconds: 60)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.3)
            monitor.stop()
        }
        let report = monitor.poll()
        #expect(report.checkedAtMs == 0 && report.pollError == nil, "\(report.pollError ?? "")")
    }

    @Test("an unreachable or unresolvable service says what happened and what to check")
    func transportErrors() throws {
        let closedPort = try freePort()
        let refused = try ConnectHealthMonitor(url: "http://127.0.0.1:\(closedPort)").poll()
        #expect(
            refused.pollError?.contains("cannot connect to http://127.0.0.1:\(closedPort)") == true,
            "\(refused.pollError ?? "")")
        #expect(refused.pollError?.contains("is the Kafka Connect worker running") == true)
        let unresolvable = try ConnectHealthMonitor(url: "http://no-such-host.invalid:8083").poll()
        #expect(unresolvable.pollError?.contains("cannot resolve the host") == true, "\(unresolvable.pollError ?? "")")
        #expect(unresolvable.pollError?.contains("check the host in --connect") == true)
    }
}
