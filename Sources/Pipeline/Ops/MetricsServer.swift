import Foundation
import Metrics
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

package struct MetricsServerError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

/// `--metrics HOST:PORT`: a small blocking HTTP/1.0 server on its own thread serving `GET /metrics`
/// (Prometheus text format) and `GET /healthz`. It renders from the engine's latest published
/// snapshot (copied out of its mailbox), so a scrape never waits on, or slows, the engine.
/// One connection at a time: Prometheus scrapes serially. A client gets 2 s in all to send its request
/// and 2 s in all to take the answer (not per read: a client trickling a byte a second is cut off too),
/// so a slow or hostile client delays a scrape by 4 s at most, and `stop()` cuts off the one being served.
/// With `tls_server_config` in `--web-config` every connection is TLS (`MetricsTLS`): the handshake counts
/// against the same 2 s, and a client that fails it (no or a wrong certificate, plain HTTP, garbage) is
/// logged in one line and dropped.
package final class MetricsServer: Sendable {
    package let host: String
    /// The bound port (the asked one, or the kernel's pick for port 0).
    package let port: Int
    private let listener: Int32
    private let render: @Sendable () -> String
    /// `--web-config`: when it has users, every request needs one of them (basic auth).
    private let webConfig: MetricsWebConfig?
    /// The last `Authorization` value that passed, so a scraper's repeated header costs one bcrypt, not one per scrape.
    private let acceptedAuthorization = Mutex<String?>(nil)
    private let healthy: @Sendable () -> (ok: Bool, detail: String)
    /// `tls_server_config`: when set, every connection is TLS.
    package let tls: MetricsTLS?
    private let log: @Sendable (String) -> Void
    /// Clients dropped for a failed TLS handshake since start.
    private let failedHandshakes = Mutex<Int64>(0)
    package var tlsHandshakeFailures: Int64 { failedHandshakes.withLock { $0 } }
    /// Bounds the lines a port scanner can make: at most `clientLogLimit` a minute, then one count.
    private let clientLogWindow = Mutex<(startMs: Int64, lines: Int, unlogged: Int)>((0, 0, 0))
    static let clientLogLimit = 20
    private let stopped = Mutex(false)
    private let started = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    /// The connection being served (-1 between connections), so `stop()` can cut it off.
    private let client = Mutex<Int32>(-1)
    /// How long a client has to send its request head, and again to take the answer.
    package static let clientDeadlineMs = 2_000
    /// Scrapes served (for tests and the benchmark report).
    private let served = Mutex<Int64>(0)
    package var scrapes: Int64 { served.withLock { $0 } }

    /// `https` with `tls_server_config`, else `http`.
    package var scheme: String { tls == nil ? "http" : "https" }

    /// Default log: one line on stderr (the dashboard sends stderr to `--log`, or discards it).
    package static let stderrLog: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(("cdctop: " + line + "\n").utf8))
    }

    /// Parses `HOST:PORT` (`:9464` and `0.0.0.0:9464` listen on every interface; `[::1]:9464` is not supported).
    package static func parse(_ text: String) throws(MetricsServerError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw MetricsServerError("--metrics \(text): expected HOST:PORT, e.g. 127.0.0.1:9464")
        }
        let host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw MetricsServerError("--metrics \(text): the port must be a number from 0 to 65535")
        }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Binds and listens at once, so a taken port is an error before anything else starts.
    package init(
        address: String, render: @escaping @Sendable () -> String,
        healthy: @escaping @Sendable () -> (ok: Bool, detail: String) = { (true, "ok") },
        webConfig: MetricsWebConfig? = nil,
        log: @escaping @Sendable (String) -> Void = MetricsServer.stderrLog
    ) throws(MetricsServerError) {
        let (host, requestedPort) = try MetricsServer.parse(address)
        // Certificates first: a bad file is the error to see, whether or not the port is free.
        let tls = try webConfig?.tls.map { settings throws(MetricsServerError) in
            try MetricsTLS(settings: settings, log: log)
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(requestedPort).bigEndian)
        let resolved = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, resolved, &addr.sin_addr) == 1 else {
            throw MetricsServerError(
                "--metrics \(address): '\(host)' is not an IPv4 address (use e.g. 127.0.0.1 or 0.0.0.0)")
        }
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else {
            throw MetricsServerError("--metrics \(address): socket() failed: \(String(cString: strerror(errno)))")
        }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            let e = errno
            close(fd)
            if e == EADDRINUSE {
                throw MetricsServerError(
                    "--metrics \(address): port \(requestedPort) is already in use by another process; pick another port (e.g. --metrics \(host):\(requestedPort + 1))"
                )
            }
            throw MetricsServerError("--metrics \(address): cannot listen there: \(String(cString: strerror(e)))")
        }
        guard listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            throw MetricsServerError("--metrics \(address): listen() failed: \(String(cString: strerror(e)))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.host = host
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.listener = fd
        self.render = render
        self.healthy = healthy
        self.webConfig = webConfig
        self.tls = tls
        self.log = log
    }

    package func start() {
        guard
            started.withLock({ s -> Bool in
                defer { s = true }
                return !s
            })
        else { return }
        let thread = Thread { [self] in
            self.acceptLoop()
            self.finished.signal()
        }
        thread.name = "cdctop-metrics"
        thread.start()
    }

    /// Stops accepting, cuts off the connection being served, waits (bounded) for the thread, closes the socket.
    package func stop() {
        let already = stopped.withLock { s -> Bool in
            defer { s = true }
            return s
        }
        if already { return }
        // Wakes the blocked accept(), and a poll() on the client.
        shutdown(listener, Int32(SHUT_RDWR))
        client.withLock { fd in if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) } }
        if started.withLock({ $0 }) {
            // A backstop: the thread ends within a poll() slice; should it not, leave the socket open
            // rather than close a descriptor it may still use.
            guard finished.wait(timeout: .now() + .seconds(3)) == .success else { return }
        }
        close(listener)
    }

    /// Waits until `fd` is ready for `events` or the deadline passes; false on timeout, error or stop.
    private func wait(_ fd: Int32, for events: Int32, until deadlineMs: Int64) -> Bool {
        while true {
            if stopped.withLock({ $0 }) { return false }
            let remaining = deadlineMs - WallClock.monotonicMs()
            if remaining <= 0 { return false }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let n = poll(&p, 1, Int32(min(remaining, 250)))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { continue }
            return p.revents & Int16(events) != 0 || p.revents & Int16(POLLHUP | POLLERR) != 0
        }
    }

    private func acceptLoop() {
        while !stopped.withLock({ $0 }) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                if stopped.withLock({ $0 }) { return }
                // A transient failure (EMFILE, ECONNABORTED): back off a little, never spin.
                usleep(50_000)
                continue
            }
            let keep = self.client.withLock { fd -> Bool in
                if stopped.withLock({ $0 }) { return false }
                fd = client
                return true
            }
            if keep { serve(client) }
            self.client.withLock { $0 = -1 }
            close(client)
        }
    }

    private func serve(_ fd: Int32) {
        let deadline = WallClock.monotonicMs() + Int64(Self.clientDeadlineMs)
        var session: MetricsTLS.Session?
        if let tls {
            guard let established = handshake(fd, tls, until: deadline) else { return }
            session = established
        }
        let request = readRequest(fd, session, until: deadline)
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = firstLine.split(separator: " ")
        guard parts.count >= 2 else {
            respond(fd, session, 400, "text/plain", "bad request: expected 'GET /metrics HTTP/1.1'\n")
            return
        }
        let method = parts[0]
        let target = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        if let webConfig, !webConfig.basicAuthUsers.isEmpty {
            let authorization = MetricsWebConfig.headerValue("authorization", in: request)
            let known = authorization != nil && acceptedAuthorization.withLock { $0 == authorization }
            if !known {
                guard let authorization, webConfig.accepts(authorization: authorization) else {
                    respond(
                        fd, session, 401, "text/plain",
                        "Unauthorized: this endpoint needs a user of its --web-config (basic auth)\n",
                        extraHeaders: "WWW-Authenticate: Basic realm=\"cdctop\"\r\n")
                    return
                }
                acceptedAuthorization.withLock { $0 = authorization }
            }
        }
        guard method == "GET" || method == "HEAD" else {
            respond(fd, session, 405, "text/plain", "only GET is served\n", headOnly: false)
            return
        }
        switch target {
        case "/metrics":
            let body = render()
            served.withLock { $0 += 1 }
            respond(fd, session, 200, PrometheusExposition.contentType, body, headOnly: method == "HEAD")
        case "/healthz":
            let (ok, detail) = healthy()
            respond(fd, session, ok ? 200 : 503, "text/plain", detail + "\n", headOnly: method == "HEAD")
        case "/":
            respond(
                fd, session, 200, "text/plain", "cdctop: see /metrics (Prometheus) and /healthz\n",
                headOnly: method == "HEAD")
        default:
            respond(
                fd, session, 404, "text/plain", "not found: \(target) (try /metrics or /healthz)\n",
                headOnly: method == "HEAD")
        }
    }

    /// The request head (we need only its first line and a header or two); bounded at 16 KiB and by the deadline.
    /// One loop for both transports: `nextBytes` gives plain socket bytes or bytes OpenSSL decrypted.
    private func readRequest(_ fd: Int32, _ session: MetricsTLS.Session?, until deadline: Int64) -> [UInt8] {
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while request.count < 16_384 {
            guard let n = nextBytes(fd, session, into: &chunk, until: deadline) else { break }
            request.append(contentsOf: chunk[0..<n])
            if request.count >= 4, request.suffix(from: max(0, request.count - n - 3)).containsTerminator { break }
        }
        return request
    }

    /// The next bytes of the request into `chunk` (their count), or nil once the client closed, failed or the
    /// deadline passed. Over TLS the socket's bytes go through the session first.
    private func nextBytes(
        _ fd: Int32, _ session: MetricsTLS.Session?, into chunk: inout [UInt8], until deadline: Int64
    ) -> Int? {
        guard let session else {
            guard case .bytes(let n) = receiveFromSocket(fd, into: &chunk, until: deadline) else { return nil }
            return n
        }
        while true {
            switch session.read(into: &chunk) {
            case .done(let count): return count
            case .needInput:
                guard case .bytes = receive(fd, into: session, until: deadline) else { return nil }
            case .closed, .failed: return nil
            }
        }
    }

    private enum SocketRead {
        case bytes(Int)
        case closed, timedOut
    }

    /// What the socket has, waiting until the deadline: the one `recv` loop of the server.
    private func receiveFromSocket(_ fd: Int32, into buffer: inout [UInt8], until deadline: Int64) -> SocketRead {
        while true {
            guard wait(fd, for: Int32(POLLIN), until: deadline) else { return .timedOut }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n == 0 { return .closed }
            if n < 0 { return .timedOut }
            return .bytes(n)
        }
    }

    private enum Received { case bytes, closed, timedOut, plainHTTP }

    /// Reads what the socket has (waiting until the deadline) into the session. With `firstRead`, bytes
    /// that open with an ASCII letter ("GET /…", where TLS opens with a handshake record, 0x16) are a
    /// plain HTTP client and are not fed to OpenSSL.
    private func receive(
        _ fd: Int32, into session: MetricsTLS.Session, until deadline: Int64,
        firstRead: Bool = false
    ) -> Received {
        var buffer = [UInt8](repeating: 0, count: 4096)
        switch receiveFromSocket(fd, into: &buffer, until: deadline) {
        case .timedOut: return .timedOut
        case .closed: return .closed
        case .bytes(let n):
            if firstRead && (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(buffer[0]) { return .plainHTTP }
            buffer.withUnsafeBytes { session.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            return .bytes
        }
    }

    /// Runs the TLS handshake; nil (after one log line) when the client failed it.
    private func handshake(_ fd: Int32, _ tls: MetricsTLS, until deadline: Int64) -> MetricsTLS.Session? {
        guard let session = tls.makeSession() else {
            logClientFailure(
                "metrics: OpenSSL could not start a TLS session: \(MetricsTLS.openSSLErrors()); dropped the connection")
            return nil
        }
        // Now, while connected: after the client hung up, getpeername fails.
        let peer = Self.peerAddress(fd)
        func handshakeFailed(_ why: String) {
            failedHandshakes.withLock { $0 += 1 }
            logClientFailure("metrics: dropped a client from \(peer): TLS handshake failed: \(why)")
        }
        var firstRead = true
        while true {
            let outcome = session.handshake()
            // Whatever OpenSSL wrote goes out, an alert after a failure too: the client then says why.
            var pending: [UInt8] = []
            session.takeOutput(into: &pending)
            let delivered = pending.isEmpty || sendAll(fd, pending, until: deadline)
            switch outcome {
            case .failed(let reason):
                handshakeFailed(reason + Self.handshakeAdvice(reason, tls.settings))
                return nil
            case .closed:
                handshakeFailed("it closed the connection during the TLS handshake")
                return nil
            case .done, .needInput:
                if stopped.withLock({ $0 }) { return nil }
                guard delivered else {
                    handshakeFailed("it stopped taking data during the TLS handshake")
                    return nil
                }
            }
            if case .done = outcome { return session }
            switch receive(fd, into: session, until: deadline, firstRead: firstRead) {
            case .bytes:
                firstRead = false
            case .plainHTTP:
                // Go's answer, so a scraper configured with http:// is told what to change.
                let body = "Client sent an HTTP request to an HTTPS server.\n"
                let answer =
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                    + body
                _ = sendAll(fd, Array(answer.utf8), until: deadline)
                handshakeFailed(
                    "it sent plain HTTP to the TLS port (answered 400; scrape https://, in Prometheus `scheme: https`)")
                return nil
            case .closed:
                handshakeFailed("it closed the connection during the TLS handshake")
                return nil
            case .timedOut:
                if stopped.withLock({ $0 }) { return nil }
                handshakeFailed("no complete TLS handshake within \(Self.clientDeadlineMs) ms")
                return nil
            }
        }
    }

    /// What the operator can do about a handshake failure OpenSSL reported.
    static func handshakeAdvice(_ reason: String, _ settings: MetricsTLSSettings) -> String {
        if reason.contains("unknown ca") || reason.contains("bad certificate") || reason.contains("certificate unknown")
        {
            return
                " (the client does not trust cert_file: give it the CA that signed it, in Prometheus tls_config.ca_file)"
        }
        if reason.contains("peer did not return a certificate") {
            return
                " (client_auth_type \(settings.clientAuth.rawValue) needs a client certificate: in Prometheus tls_config.cert_file and key_file)"
        }
        if reason.contains("certificate verify failed") {
            return " (the client's certificate is not signed by client_ca_file, or has expired)"
        }
        if reason.contains("unsupported protocol") || reason.contains("version too low")
            || reason.contains("wrong version number")
        {
            return
                " (the client's TLS versions are outside min_version \(settings.minVersion.rawValue) to max_version \(settings.maxVersion.rawValue), or it does not speak TLS)"
        }
        return ""
    }

    /// One line per failed client, at most `clientLogLimit` a minute; past that a count, once the minute ends.
    private func logClientFailure(_ line: String) {
        let now = WallClock.monotonicMs()
        let (write, unlogged) = clientLogWindow.withLock { w -> (Bool, Int) in
            if now - w.startMs >= 60_000 {
                let unlogged = w.unlogged
                w = (now, 1, 0)
                return (true, unlogged)
            }
            if w.lines < Self.clientLogLimit {
                w.lines += 1
                return (true, 0)
            }
            w.unlogged += 1
            return (false, 0)
        }
        if unlogged > 0 { log("metrics: \(unlogged) more failed TLS handshakes in the last minute were not logged") }
        if write { log(line) }
    }

    private static func peerAddress(_ fd: Int32) -> String {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let got = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard got == 0 else { return "an unknown address" }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count)) != nil else {
            return "an unknown address"
        }
        return
            "\(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(UInt16(bigEndian: address.sin_port))"
    }

    private func respond(
        _ fd: Int32, _ session: MetricsTLS.Session?, _ status: Int, _ contentType: String, _ body: String,
        headOnly: Bool = false, extraHeaders: String = ""
    ) {
        let reason =
            [
                200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
                503: "Service Unavailable",
            ][status] ?? "Error"
        var bytes = Array(body.utf8)
        let head =
            "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\n\(extraHeaders)Connection: close\r\n\r\n"
        if headOnly { bytes = [] }
        var out = Array(head.utf8)
        out.append(contentsOf: bytes)
        sendAnswer(fd, session, out, until: WallClock.monotonicMs() + Int64(Self.clientDeadlineMs))
    }

    /// Sends the answer over either transport: as is, or encrypted (with TLS's close_notify after it).
    private func sendAnswer(_ fd: Int32, _ session: MetricsTLS.Session?, _ out: [UInt8], until deadline: Int64) {
        var wire = out
        if let session {
            guard session.write(out) != .needInput else { return }
            session.close()
            wire = []
            session.takeOutput(into: &wire)
        }
        _ = sendAll(fd, wire, until: deadline)
    }

    /// Sends all of `out` unless the client stops taking it until the deadline (or the server stops).
    private func sendAll(_ fd: Int32, _ out: [UInt8], until deadline: Int64) -> Bool {
        var sent = 0
        while sent < out.count {
            #if canImport(Glibc)
                let flags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
            #else
                let flags = Int32(MSG_DONTWAIT)
            #endif
            guard wait(fd, for: Int32(POLLOUT), until: deadline) else { return false }
            let n = out.withUnsafeBytes { send(fd, $0.baseAddress! + sent, out.count - sent, flags) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }
}

extension ArraySlice where Element == UInt8 {
    /// Contains the blank line ending an HTTP head (CRLF CRLF, or LF LF from a hand-typed request).
    fileprivate var containsTerminator: Bool {
        let a = Array(self)
        guard a.count >= 2 else { return false }
        for i in 0..<(a.count - 1) {
            if a[i] == 10 && a[i + 1] == 10 { return true }
            if i + 3 < a.count, a[i] == 13, a[i + 1] == 10, a[i + 2] == 13, a[i + 3] == 10 { return true }
        }
        return false
    }
}

/// `--web-config FILE`, in the shape of Prometheus's exporter web configuration (exporter-toolkit), of
/// which cdctop implements `basic_auth_users` (user: bcrypt hash, as `htpasswd -nBC 10 USER` or
/// `mkpasswd -m bcrypt` make them) and `tls_server_config` with `cert_file`, `key_file`,
/// `client_ca_file`, `client_auth_type`, `min_version`, `max_version` and `prefer_server_cipher_suites`.
/// Every other key is refused by name, so a setting is never silently ignored.
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.pem        # relative paths: from this file's folder, as exporter-toolkit does
///   key_file: server-key.pem
/// basic_auth_users:
///   prometheus: $2b$10$…
/// ```
package struct MetricsWebConfig: Sendable {
    /// User name → bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
    package var basicAuthUsers: [String: String]
    /// `tls_server_config`; nil serves plain HTTP (also for a section with no keys, as exporter-toolkit does).
    package var tls: MetricsTLSSettings?

    package init(basicAuthUsers: [String: String], tls: MetricsTLSSettings? = nil) {
        self.basicAuthUsers = basicAuthUsers
        self.tls = tls
    }

    /// Reads and checks the file, the TLS certificate and key included, so a bad one stops cdctop at start.
    package static func load(path: String) throws(MetricsServerError) -> MetricsWebConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MetricsServerError("--web-config \(path): cannot read the file")
        }
        let config = try parse(String(decoding: data, as: UTF8.self), file: path)
        if let tls = config.tls { _ = try MetricsTLS(settings: tls, log: { _ in }) }
        return config
    }

    /// The YAML subset these files use: top-level `key:` sections holding indented `name: value` lines,
    /// `#` comments, values plain or quoted.
    package static func parse(_ text: String, file: String) throws(MetricsServerError) -> MetricsWebConfig {
        var users: [String: String] = [:]
        var tlsValues: [String: (value: String, line: Int)] = [:]
        var section: String?
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), line[..<hash].allSatisfy({ $0 == " " }) { line = line[..<hash] }
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            let indented = line.first == " " || line.first == "\t"
            if indented && section == "http_server_config" { continue }  // nested headers: nothing for cdctop to do
            guard let colon = line.firstIndex(of: ":") else {
                throw MetricsServerError("--web-config \(file) line \(lineNumber): expected 'key: value'")
            }
            let key = unquoted(line[..<colon])
            let value = unquoted(line[line.index(after: colon)...])
            if !indented {
                switch key {
                case "basic_auth_users", "tls_server_config":
                    section = key
                case "http_server_config":
                    section = key  // headers and HTTP/2 settings: nothing for cdctop to do
                default:
                    throw MetricsServerError(
                        "--web-config \(file) line \(lineNumber): unknown key '\(key)' (cdctop reads basic_auth_users and tls_server_config)"
                    )
                }
                if !value.isEmpty && section != "http_server_config" {
                    throw MetricsServerError(
                        "--web-config \(file) line \(lineNumber): \(key) holds indented 'name: value' lines")
                }
                continue
            }
            if section == "tls_server_config" {
                try checkTLSKey(key, file: file, line: lineNumber)
                tlsValues[key] = (value, lineNumber)
                continue
            }
            guard section == "basic_auth_users" else { continue }
            guard ["$2a$", "$2b$", "$2y$"].contains(where: { value.hasPrefix($0) }), value.count == 60 else {
                throw MetricsServerError(
                    "--web-config \(file) line \(lineNumber): the password of '\(key)' must be a bcrypt hash ($2b$…, 60 characters; make one with `htpasswd -nBC 10 \(key)` or `mkpasswd -m bcrypt`), never the password itself"
                )
            }
            users[key] = value
        }
        if !users.isEmpty && BcryptHash.cryptRN == nil {
            throw MetricsServerError(
                "--web-config \(file): basic_auth_users needs libcrypt.so.1 (libxcrypt, for bcrypt), which is not installed"
            )
        }
        return MetricsWebConfig(basicAuthUsers: users, tls: try tlsSettings(tlsValues, file: file))
    }

    /// Refuses, by name, the exporter-toolkit keys cdctop does not implement (and any unknown one).
    private static func checkTLSKey(_ key: String, file: String, line: Int) throws(MetricsServerError) {
        let at = "--web-config \(file) line \(line): tls_server_config"
        switch key {
        case "cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version",
            "prefer_server_cipher_suites":
            return
        case "cert", "key", "client_ca":
            throw MetricsServerError(
                "\(at) \(key) (inline PEM) is not supported by cdctop: put the PEM in a file and name it with \(key)_file"
            )
        case "cipher_suites", "curve_preferences":
            throw MetricsServerError(
                "\(at) \(key) is not supported by cdctop (Go's names have no exact OpenSSL match): remove it; OpenSSL's defaults for TLS 1.2 and 1.3 apply"
            )
        case "client_allowed_sans":
            throw MetricsServerError(
                "\(at) client_allowed_sans is not supported by cdctop: remove it, and give only the allowed scrapers certificates signed by client_ca_file"
            )
        default:
            throw MetricsServerError(
                "\(at): unknown key '\(key)' (cdctop reads cert_file, key_file, client_ca_file, client_auth_type, min_version, max_version, prefer_server_cipher_suites)"
            )
        }
    }

    private static func tlsSettings(_ values: [String: (value: String, line: Int)], file: String)
        throws(MetricsServerError) -> MetricsTLSSettings?
    {
        // exporter-toolkit: a section that sets nothing leaves TLS off.
        guard values.values.contains(where: { !$0.value.isEmpty }) else { return nil }
        let at = "--web-config \(file): tls_server_config"
        let folder = (file as NSString).deletingLastPathComponent
        func path(_ key: String) -> String? {
            guard let value = values[key]?.value, !value.isEmpty else { return nil }
            return value.hasPrefix("/") || folder.isEmpty ? value : folder + "/" + value
        }
        guard let cert = path("cert_file") else {
            throw MetricsServerError(
                "\(at) needs cert_file (the server certificate, PEM) and key_file (its private key)")
        }
        guard let key = path("key_file") else {
            throw MetricsServerError("\(at) needs key_file (the private key of cert_file \(cert), PEM)")
        }
        var settings = MetricsTLSSettings(certFile: cert, keyFile: key, clientCAFile: path("client_ca_file"))
        if let (value, line) = values["client_auth_type"], !value.isEmpty {
            // "RequireClientCert": exporter-toolkit's old name for RequireAnyClientCert.
            guard
                let auth = MetricsTLSSettings.ClientAuth(
                    rawValue: value == "RequireClientCert" ? "RequireAnyClientCert" : value)
            else {
                throw MetricsServerError(
                    "--web-config \(file) line \(line): client_auth_type '\(value)' is not one of \(MetricsTLSSettings.ClientAuth.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            settings.clientAuth = auth
        }
        if settings.clientCAFile != nil && settings.clientAuth == .noClientCert {
            throw MetricsServerError(
                "\(at) has client_ca_file but client_auth_type is NoClientCert, so client certificates would not be checked: set client_auth_type: RequireAndVerifyClientCert (or remove client_ca_file)"
            )
        }
        if settings.clientAuth.verifies && settings.clientCAFile == nil {
            throw MetricsServerError(
                "\(at): client_auth_type \(settings.clientAuth.rawValue) needs client_ca_file (the CA that signed the scrapers' certificates)"
            )
        }
        for (name, defaultVersion) in [("min_version", MetricsTLSSettings.Version.tls12), ("max_version", .tls13)] {
            guard let (value, line) = values[name], !value.isEmpty else { continue }
            guard let version = MetricsTLSSettings.Version(rawValue: value) else {
                let old = value == "TLS10" || value == "TLS11"
                throw MetricsServerError(
                    "--web-config \(file) line \(line): \(name) '\(value)' "
                        + (old
                            ? "is refused: TLS 1.0 and 1.1 are insecure and OpenSSL 3 here does not speak them; use TLS12 or TLS13"
                            : "is not one of TLS12, TLS13 (default \(defaultVersion.rawValue))"))
            }
            if name == "min_version" { settings.minVersion = version } else { settings.maxVersion = version }
        }
        if settings.minVersion > settings.maxVersion {
            throw MetricsServerError(
                "\(at): min_version \(settings.minVersion.rawValue) is above max_version \(settings.maxVersion.rawValue)"
            )
        }
        if let (value, line) = values["prefer_server_cipher_suites"], !value.isEmpty {
            guard value == "true" || value == "false" else {
                throw MetricsServerError(
                    "--web-config \(file) line \(line): prefer_server_cipher_suites must be true or false")
            }
            settings.preferServerCipherSuites = value == "true"
        }
        return settings
    }

    /// True when `authorization` (the header's value) is `Basic base64(user:password)` for a configured user.
    package func accepts(authorization: String) -> Bool {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return false }
        let user = String(text[..<colon])
        let password = String(text[text.index(after: colon)...])
        // An unknown user still costs one bcrypt, so timing does not tell which users exist.
        let hash = basicAuthUsers[user] ?? "$2b$10$" + String(repeating: "A", count: 53)
        return BcryptHash.verify(password: password, hash: hash) && basicAuthUsers[user] != nil
    }

    /// The value of header `name` (lower case) in a raw request head, trimmed.
    static func headerValue(_ name: String, in request: [UInt8]) -> String? {
        let text = String(decoding: request, as: UTF8.self)
        // "\r\n" is one Character in Swift: split on any newline.
        for line in text.split(whereSeparator: { $0.isNewline }).dropFirst() {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    private static func unquoted(_ text: Substring) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.count >= 2, let first = trimmed.first, first == "\"" || first == "'", trimmed.last == first {
            return String(trimmed.dropFirst().dropLast())
        }
        return trimmed
    }
}

/// bcrypt through libxcrypt's `crypt_rn` (the system's libcrypt.so.1, which every Debian has), loaded
/// once: it is thread-safe with a buffer of our own, unlike `crypt`.
enum BcryptHash {
    typealias CryptRN =
        @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int32) ->
        UnsafeMutablePointer<CChar>?

    static let cryptRN: CryptRN? = {
        guard let library = dlopen("libcrypt.so.1", RTLD_NOW), let symbol = dlsym(library, "crypt_rn") else {
            return nil
        }
        return unsafeBitCast(symbol, to: CryptRN.self)
    }()

    /// True when bcrypt of `password` with `hash`'s salt and cost gives `hash` (compared in constant time).
    static func verify(password: String, hash: String) -> Bool {
        guard let cryptRN else { return false }
        // struct crypt_data is 32 KiB and a little more; twice that leaves room for any libxcrypt.
        let size = 65_536
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer {
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            buffer.deallocate()
        }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        guard let result = cryptRN(password, hash, buffer, Int32(size)) else { return false }
        let computed = Array(String(cString: result).utf8)
        let expected = Array(hash.utf8)
        guard computed.count == expected.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<computed.count { difference |= computed[i] ^ expected[i] }
        return difference == 0
    }
}
