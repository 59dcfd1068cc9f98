import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 23 item 2: `/metrics` over TLS (`--web-config` tls_server_config). Certificates are made by the
/// `openssl` command into a temporary folder; the client is the `curl` command, an implementation
/// independent of the server's OpenSSL code path.
@Suite("/metrics over TLS", .serialized)
struct MetricsTLSTests {
    static let exposition = "# TYPE cdctop_up gauge\ncdctop_up 1\n"

    @Test(
        "https with the CA returns the exposition; without it the client refuses; plain HTTP, garbage and a silent client are dropped and logged once, and the next scrape works"
    )
    func servesTLS() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let log = LogLines()
        let config = try pki.webConfig("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n")
        #expect(
            config.tls?.certFile == pki.directory + "/server.pem",
            "relative paths are taken from the web config's folder")
        let server = try MetricsServer(
            address: "127.0.0.1:0", render: { Self.exposition }, webConfig: config, log: log.append)
        server.start()
        defer { server.stop() }
        #expect(server.scheme == "https")
        let url = "https://127.0.0.1:\(server.port)/metrics"

        let scraped = try curl(["--cacert", pki.path("ca.pem"), url])
        #expect(scraped.status == 0 && scraped.output == Self.exposition + "200", "\(scraped)")
        #expect(
            try curl(["--cacert", pki.path("ca.pem"), "https://localhost:\(server.port)/healthz"]).output == "ok\n200")

        // No CA: curl refuses the certificate (exit 60); the server logs the client's alert, once. The server
        // serves one connection at a time, so after the next good scrape the line is surely written.
        let untrusted = try curl([url])
        #expect(untrusted.status == 60, "\(untrusted)")
        #expect(try curl(["--cacert", pki.path("ca.pem"), url]).output == Self.exposition + "200")
        #expect(log.count == 1 && log.last.contains("does not trust cert_file"), "\(log.lines)")

        // Plain HTTP on the TLS port: Go's 400 answer, one line, and the next https scrape works.
        let plain = try curl(["http://127.0.0.1:\(server.port)/metrics"])
        #expect(plain.output == "Client sent an HTTP request to an HTTPS server.\n400", "\(plain)")
        #expect(try curl(["--cacert", pki.path("ca.pem"), url]).output == Self.exposition + "200")
        #expect(log.count == 2 && log.last.contains("plain HTTP"), "\(log.lines)")

        // Garbage that is neither TLS nor HTTP: OpenSSL fails the handshake, the client is dropped.
        let garbage = try rawExchange(
            port: server.port,
            send: [0x16, 0x03, 0x01, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00] + Array(repeating: 0xff, count: 64))
        #expect(!String(decoding: garbage, as: UTF8.self).contains("HTTP/1.1"), "garbage must not get an answer")
        #expect(try curl(["--cacert", pki.path("ca.pem"), url]).output == Self.exposition + "200")
        #expect(log.count == 3 && log.last.contains("TLS handshake failed"), "\(log.lines)")

        // A client that connects and sends nothing holds the server for its 2 s deadline only.
        let silent = try connectLoopback(port: server.port)
        defer { close(silent) }
        #expect(try curl(["--cacert", pki.path("ca.pem"), url]).output == Self.exposition + "200")
        #expect(log.lines.contains { $0.contains("no complete TLS handshake within 2000 ms") }, "\(log.lines)")

        #expect(server.tlsHandshakeFailures == 4)
        #expect(server.scrapes == 5)
        #expect(log.lines.allSatisfy { $0.contains("127.0.0.1:") }, "each line names the client: \(log.lines)")
    }

    @Test(
        "client_auth_type RequireAndVerifyClientCert: no certificate and one from another CA are refused; the right one works"
    )
    func clientCertificates() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let log = LogLines()
        let config = try pki.webConfig(
            """
            tls_server_config:
              cert_file: server.pem
              key_file: server.key
              client_ca_file: ca.pem
              client_auth_type: RequireAndVerifyClientCert
              min_version: TLS12
            """)
        let server = try MetricsServer(
            address: "127.0.0.1:0", render: { Self.exposition }, webConfig: config, log: log.append)
        server.start()
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/metrics"
        let ca = ["--cacert", pki.path("ca.pem")]

        let anonymous = try curl(ca + [url])
        #expect(anonymous.status != 0 && !anonymous.output.contains("cdctop_up"), "\(anonymous)")
        let stranger = try curl(ca + ["--cert", pki.path("stranger.pem"), "--key", pki.path("stranger.key"), url])
        #expect(stranger.status != 0 && !stranger.output.contains("cdctop_up"), "\(stranger)")
        let scraper = try curl(ca + ["--cert", pki.path("client.pem"), "--key", pki.path("client.key"), url])
        #expect(scraper.status == 0 && scraper.output == Self.exposition + "200", "\(scraper)")
        // Served one at a time: both refusals were logged before the good scrape was answered.
        let lines = log.lines
        #expect(lines.count == 2 && server.scrapes == 1, "\(lines)")
        #expect(lines.first?.contains("needs a client certificate") == true, "\(lines)")
        #expect(
            lines.last?.contains("certificate verify failed") == true && lines.last?.contains("client_ca_file") == true,
            "\(lines)")

        // TLS 1.2 only on the client: still inside min_version TLS12 … max_version TLS13.
        let tls12 = try curl(
            ca + ["--tls-max", "1.2", "--cert", pki.path("client.pem"), "--key", pki.path("client.key"), url])
        #expect(tls12.output == Self.exposition + "200", "\(tls12)")
    }

    @Test("min_version TLS13 refuses a TLS 1.2 client")
    func minimumVersion() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let log = LogLines()
        let config = try pki.webConfig(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS13\n")
        let server = try MetricsServer(
            address: "127.0.0.1:0", render: { Self.exposition }, webConfig: config, log: log.append)
        server.start()
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/metrics"
        let old = try curl(["--cacert", pki.path("ca.pem"), "--tls-max", "1.2", url])
        #expect(old.status != 0, "\(old)")
        #expect(try curl(["--cacert", pki.path("ca.pem"), url]).output == Self.exposition + "200")
        #expect(log.count == 1 && log.last.contains("min_version TLS13"), "\(log.lines)")
    }

    @Test("basic_auth_users keeps working over TLS")
    func basicAuthOverTLS() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        // Python's crypt module calls libxcrypt, as `mkpasswd -m bcrypt` does.
        let made = try runProgram(
            "/usr/bin/python3",
            [
                "-W", "ignore", "-c",
                "import crypt; print(crypt.crypt('scrape-secret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))",
            ])
        let hash = made.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash.hasPrefix("$2b$10$"), "\(made)")
        let config = try pki.webConfig(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  prometheus: '\(hash)'\n"
        )
        let server = try MetricsServer(
            address: "127.0.0.1:0", render: { Self.exposition }, webConfig: config, log: { _ in })
        server.start()
        defer { server.stop() }
        let tls = ["--cacert", pki.path("ca.pem")]
        let url = "https://127.0.0.1:\(server.port)/metrics"
        #expect(try curl(tls + [url]).output.hasSuffix("401"))
        #expect(try curl(tls + ["-u", "prometheus:wrong", url]).output.hasSuffix("401"))
        #expect(try curl(tls + ["-u", "prometheus:scrape-secret", url]).output == Self.exposition + "200")
        #expect(
            try curl(tls + ["-u", "prometheus:scrape-secret", "https://127.0.0.1:\(server.port)/healthz"]).output
                == "ok\n200")
    }

    @Test(
        "a real Prometheus server scrapes over mutual TLS with basic auth (Go's TLS client, an independent implementation)"
    )
    func realPrometheusScrapesOverTLS() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let made = try runProgram(
            "/usr/bin/python3",
            [
                "-W", "ignore", "-c",
                "import crypt; print(crypt.crypt('scrape-secret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))",
            ])
        let hash = made.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let config = try pki.webConfig(
            """
            tls_server_config:
              cert_file: server.pem
              key_file: server.key
              client_ca_file: ca.pem
              client_auth_type: RequireAndVerifyClientCert
            basic_auth_users:
              prometheus: '\(hash)'
            """)
        let log = LogLines()
        let server = try MetricsServer(
            address: "127.0.0.1:0", render: { Self.exposition + "cdctop_messages_total 42\n" },
            webConfig: config, log: log.append)
        server.start()
        defer { server.stop() }
        try "scrape-secret".write(toFile: pki.path("password"), atomically: true, encoding: .utf8)
        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: cdctop
            scheme: https
            tls_config: {ca_file: '\(pki.path("ca.pem"))', cert_file: '\(pki.path("client.pem"))', key_file: '\(pki.path("client.key"))'}
            basic_auth: {username: prometheus, password_file: '\(pki.path("password"))'}
            static_configs:
              - targets: ['127.0.0.1:\(server.port)']
        """.write(toFile: pki.path("prometheus.yml"), atomically: true, encoding: .utf8)
        let webPort = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = [
            "--config.file=\(pki.path("prometheus.yml"))", "--storage.tsdb.path=\(pki.path("data"))",
            "--web.listen-address=127.0.0.1:\(webPort)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Stopped by the pid this test started, whatever happens below.
        let pid = process.processIdentifier
        defer {
            kill(pid, SIGTERM)
            process.waitUntilExit()
        }
        func query(_ q: String) throws -> String? {
            let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let answer = try runProgram(
                "/usr/bin/curl",
                ["-sS", "--max-time", "5", "http://127.0.0.1:\(webPort)/api/v1/query?query=\(encoded)"],
                timeoutSeconds: 10)
            guard answer.status == 0,
                let json = try? JSONSerialization.jsonObject(with: Data(answer.output.utf8)) as? [String: Any],
                let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
                let value = result.first?["value"] as? [Any], value.count == 2
            else { return nil }
            return value[1] as? String
        }
        // Bounded wait (60 s) for the first scrape to be stored; not a timing assertion.
        var messages: String?
        let deadline = Date().addingTimeInterval(60)
        while messages == nil && Date() < deadline && process.isRunning {
            messages = try query("cdctop_messages_total")
            if messages == nil { Thread.sleep(forTimeInterval: 0.5) }
        }
        #expect(messages == "42", "server log: \(log.lines)")
        #expect(try query("up{job=\"cdctop\"}") == "1")
        #expect(server.scrapes >= 1)
        #expect(server.tlsHandshakeFailures == 0, "\(log.lines)")
    }

    @Test(
        "a rotated certificate is used from the next connection; a half-rotated pair is logged once and the old one keeps serving"
    )
    func certificateRotation() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let log = LogLines()
        let config = try pki.webConfig(
            "tls_server_config:\n  cert_file: live.pem\n  key_file: live.key\n",
            prepare: { try pki.install(certificate: "server", as: "live") })
        let server = try MetricsServer(
            address: "127.0.0.1:0", render: { Self.exposition }, webConfig: config, log: log.append)
        server.start()
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/metrics"
        #expect(try curl(["--cacert", pki.path("ca.pem"), url]).output == Self.exposition + "200")

        // The new certificate from another CA, the way cert managers do it: write aside, rename over.
        try pki.install(certificate: "rotated", as: "live")
        #expect(try curl(["--cacert", pki.path("ca2.pem"), url]).output == Self.exposition + "200")
        #expect(try curl(["--cacert", pki.path("ca.pem"), url]).status == 60, "the old CA no longer matches")
        #expect(server.tls?.reloads == 1)
        #expect(log.lines.contains { $0.contains("reloaded") }, "\(log.lines)")

        // Half a rotation: a new certificate whose key has not arrived yet. The previous pair keeps serving.
        try pki.install(file: "server.pem", as: "live.pem")
        let before = log.count
        for _ in 0..<2 { #expect(try curl(["--cacert", pki.path("ca2.pem"), url]).output == Self.exposition + "200") }
        let complaints = log.lines.dropFirst(before).filter { $0.contains("cannot be used") }
        #expect(complaints.count == 1 && complaints[0].contains("does not belong to cert_file"), "\(log.lines)")
        // The key arrives: the pair agrees again and is loaded.
        try pki.install(file: "server.key", as: "live.key")
        #expect(try curl(["--cacert", pki.path("ca.pem"), url]).output == Self.exposition + "200")
        #expect(server.tls?.reloads == 2)
    }

    @Test("start errors name the file and what to do; unsupported keys are refused by name; cdctop exits 64")
    func startErrors() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cases: [(String, String)] = [
            (
                "tls_server_config:\n  cert_file: missing.pem\n  key_file: server.key\n",
                "cert_file \(pki.directory)/missing.pem: cannot read it: No such file or directory"
            ),
            (
                "tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n",
                "key_file \(pki.directory)/client.key does not belong to cert_file"
            ),
            ("tls_server_config:\n  cert_file: garbage.pem\n  key_file: server.key\n", "not a PEM certificate"),
            ("tls_server_config:\n  cert_file: server.pem\n", "needs key_file"),
            (
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: ca.pem\n",
                "client_auth_type is NoClientCert"
            ),
            (
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
                "needs client_ca_file"
            ),
            (
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: Always\n",
                "'Always' is not one of"
            ),
            (
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS10\n",
                "TLS 1.0 and 1.1"
            ),
            (
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  cipher_suites:\n    - TLS_AES_128_GCM_SHA256\n",
                "cipher_suites is not supported"
            ),
            ("tls_server_config:\n  client_allowed_sans:\n    - prometheus\n", "client_allowed_sans is not supported"),
            ("tls_server_config:\n  cert: |\n", "cert (inline PEM) is not supported"),
            ("tls_server_config:\n  cert_file: server.pem\n  ocsp: true\n", "unknown key 'ocsp'"),
            ("rate_limit:\n  interval: 1s\n", "unknown key 'rate_limit'"),
        ]
        for (text, expected) in cases {
            do {
                _ = try pki.webConfig(text)
                Issue.record("must be refused: \(text)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
        // An empty section leaves TLS off, as exporter-toolkit does.
        #expect(try pki.webConfig("tls_server_config:\n").tls == nil)

        guard let binary = cdctopBinary() else {
            Issue.record("cdctop binary not found; run `swift build` first")
            return
        }
        try "tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n".write(
            toFile: pki.path("mismatch.yml"), atomically: true, encoding: .utf8)
        let run = try runProgram(
            binary, ["demo", "--headless", "--metrics", "127.0.0.1:0", "--web-config", pki.path("mismatch.yml")],
            timeoutSeconds: 30)
        #expect(run.status == 64, "\(run)")
        #expect(
            run.output.contains(
                "key_file \(pki.directory)/client.key does not belong to cert_file \(pki.directory)/server.pem"),
            "\(run.output)")
    }

    // MARK: - Helpers

    /// curl's body followed by the HTTP status (`-w %{http_code}`); status is curl's exit code.
    private func curl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let run = try runProgram(
            "/usr/bin/curl", ["-sS", "--max-time", "15", "-w", "%{http_code}"] + arguments, timeoutSeconds: 30)
        return run
    }

    private func connectLoopback(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw TestPKI.Failure(description: "connect to 127.0.0.1:\(port) failed")
        }
        return fd
    }

    /// Sends `bytes` and reads what comes back until the server closes (it must, within its deadline).
    private func rawExchange(port: Int, send bytes: [UInt8]) throws -> [UInt8] {
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received.append(contentsOf: chunk[0..<n])
        }
        return received
    }
}

/// Log lines the server wrote, in order.
final class LogLines: Sendable {
    private let stored = Mutex<[String]>([])
    var lines: [String] { stored.withLock { $0 } }
    var count: Int { lines.count }
    var last: String { lines.last ?? "" }
    var append: @Sendable (String) -> Void { { [self] line in stored.withLock { $0.append(line) } } }
}

/// A CA, a server certificate (127.0.0.1 and localhost), a client certificate, a client from another
/// CA, and a second server certificate from a second CA (the rotation), made by the openssl command.
struct TestPKI {
    struct Failure: Error, CustomStringConvertible { var description: String }
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "cdctop-metrics-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try makeCA("ca")
        try makeCA("ca2")
        try makeCA("other-ca")
        let serverNames = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        try makeCertificate("server", by: "ca", extensions: serverNames)
        try makeCertificate("rotated", by: "ca2", extensions: serverNames)
        try makeCertificate("client", by: "ca", extensions: "extendedKeyUsage=clientAuth\n")
        try makeCertificate("stranger", by: "other-ca", extensions: "extendedKeyUsage=clientAuth\n")
        try "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n".write(
            toFile: path("garbage.pem"), atomically: true, encoding: .utf8)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `web.yml` in the folder and loads it the way `--web-config` does.
    func webConfig(_ text: String, prepare: () throws -> Void = {}) throws -> MetricsWebConfig {
        try prepare()
        try text.write(toFile: path("web.yml"), atomically: true, encoding: .utf8)
        return try MetricsWebConfig.load(path: path("web.yml"))
    }

    /// Copies `NAME.pem` and `NAME.key` to `LIVE.pem`/`LIVE.key`, each by a rename over the old file.
    func install(certificate name: String, as live: String) throws {
        try install(file: name + ".pem", as: live + ".pem")
        try install(file: name + ".key", as: live + ".key")
    }

    func install(file: String, as target: String) throws {
        let staged = path(target + ".new")
        try? FileManager.default.removeItem(atPath: staged)
        try FileManager.default.copyItem(atPath: path(file), toPath: staged)
        guard rename(staged, path(target)) == 0 else { throw Failure(description: "rename to \(target) failed") }
    }

    private func openssl(_ arguments: [String]) throws {
        let run = try runProgram("/usr/bin/openssl", arguments, timeoutSeconds: 60)
        guard run.status == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(run.output)")
        }
    }

    private func makeCA(_ name: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path(name + ".key"), "-out", path(name + ".pem"), "-days", "2", "-subj",
            "/CN=cdctop test \(name)",
        ])
    }

    private func makeCertificate(_ name: String, by ca: String, extensions: String) throws {
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=cdctop test \(name)",
        ])
        try extensions.write(toFile: path(name + ".ext"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".pem"), "-CAkey", path(ca + ".key"),
            "-CAcreateserial", "-out", path(name + ".pem"), "-days", "2", "-extfile", path(name + ".ext"),
        ])
    }
}
