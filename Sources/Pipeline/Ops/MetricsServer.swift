#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Metrics
import Synchronization

public struct MetricsServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// `--metrics HOST:PORT`: a small blocking HTTP/1.0 server on its own thread serving `GET /metrics`
/// (Prometheus text format) and `GET /healthz`. It renders from the engine's latest published
/// snapshot (copied out of its mailbox), so a scrape never waits on, or slows, the engine.
/// One connection at a time: Prometheus scrapes serially. A client gets 2 s in all to send its request
/// and 2 s in all to take the answer (not per read: a client trickling a byte a second is cut off too),
/// so a slow or hostile client delays a scrape by 4 s at most, and `stop()` cuts off the one being served.
public final class MetricsServer: Sendable {
    public let host: String
    /// The bound port (the asked one, or the kernel's pick for port 0).
    public let port: Int
    private let listener: Int32
    private let render: @Sendable () -> String
    /// `--web-config`: when it has users, every request needs one of them (basic auth).
    private let webConfig: MetricsWebConfig?
    /// The last `Authorization` value that passed, so a scraper's repeated header costs one bcrypt, not one per scrape.
    private let acceptedAuthorization = Mutex<String?>(nil)
    private let healthy: @Sendable () -> (ok: Bool, detail: String)
    private let stopped = Mutex(false)
    private let started = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    /// The connection being served (-1 between connections), so `stop()` can cut it off.
    private let client = Mutex<Int32>(-1)
    /// How long a client has to send its request head, and again to take the answer.
    public static let clientDeadlineMs = 2_000
    /// Scrapes served (for tests and the benchmark report).
    private let served = Mutex<Int64>(0)
    public var scrapes: Int64 { served.withLock { $0 } }

    /// Parses `HOST:PORT` (`:9464` and `0.0.0.0:9464` listen on every interface; `[::1]:9464` is not supported).
    public static func parse(_ text: String) throws(MetricsServerError) -> (host: String, port: Int) {
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
    public init(address: String, render: @escaping @Sendable () -> String,
                healthy: @escaping @Sendable () -> (ok: Bool, detail: String) = { (true, "ok") },
                webConfig: MetricsWebConfig? = nil) throws(MetricsServerError) {
        let (host, requestedPort) = try MetricsServer.parse(address)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(requestedPort).bigEndian)
        let resolved = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, resolved, &addr.sin_addr) == 1 else {
            throw MetricsServerError("--metrics \(address): '\(host)' is not an IPv4 address (use e.g. 127.0.0.1 or 0.0.0.0)")
        }
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw MetricsServerError("--metrics \(address): socket() failed: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0 {
            let e = errno
            close(fd)
            if e == EADDRINUSE {
                throw MetricsServerError("--metrics \(address): port \(requestedPort) is already in use by another process; pick another port (e.g. --metrics \(host):\(requestedPort + 1))")
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
    }

    public func start() {
        guard started.withLock({ s -> Bool in defer { s = true }; return !s }) else { return }
        let thread = Thread { [self] in
            self.acceptLoop()
            self.finished.signal()
        }
        thread.name = "cdctop-metrics"
        thread.start()
    }

    /// Stops accepting, cuts off the connection being served, waits (bounded) for the thread, closes the socket.
    public func stop() {
        let already = stopped.withLock { s -> Bool in defer { s = true }; return s }
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
            if n < 0 { if errno == EINTR { continue }; return false }
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
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        // Read the request head (we need only its first line); bounded at 16 KiB and by the deadline.
        while request.count < 16_384 {
            guard wait(fd, for: Int32(POLLIN), until: deadline) else { break }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n <= 0 { break }
            request.append(contentsOf: chunk[0..<n])
            if request.count >= 4, request.suffix(from: max(0, request.count - n - 3)).containsTerminator { break }
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = firstLine.split(separator: " ")
        guard parts.count >= 2 else { respond(fd, 400, "text/plain", "bad request: expected 'GET /metrics HTTP/1.1'\n"); return }
        let method = parts[0], target = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        if let webConfig, !webConfig.basicAuthUsers.isEmpty {
            let authorization = MetricsWebConfig.headerValue("authorization", in: request)
            let known = authorization != nil && acceptedAuthorization.withLock { $0 == authorization }
            if !known {
                guard let authorization, webConfig.accepts(authorization: authorization) else {
                    respond(fd, 401, "text/plain", "Unauthorized: this endpoint needs a user of its --web-config (basic auth)\n",
                            extraHeaders: "WWW-Authenticate: Basic realm=\"cdctop\"\r\n")
                    return
                }
                acceptedAuthorization.withLock { $0 = authorization }
            }
        }
        guard method == "GET" || method == "HEAD" else {
            respond(fd, 405, "text/plain", "only GET is served\n", headOnly: false); return
        }
        switch target {
        case "/metrics":
            let body = render()
            served.withLock { $0 += 1 }
            respond(fd, 200, PrometheusExposition.contentType, body, headOnly: method == "HEAD")
        case "/healthz":
            let (ok, detail) = healthy()
            respond(fd, ok ? 200 : 503, "text/plain", detail + "\n", headOnly: method == "HEAD")
        case "/":
            respond(fd, 200, "text/plain", "cdctop: see /metrics (Prometheus) and /healthz\n", headOnly: method == "HEAD")
        default:
            respond(fd, 404, "text/plain", "not found: \(target) (try /metrics or /healthz)\n", headOnly: method == "HEAD")
        }
    }

    private func respond(_ fd: Int32, _ status: Int, _ contentType: String, _ body: String, headOnly: Bool = false,
                         extraHeaders: String = "") {
        let reason = [200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
                      503: "Service Unavailable"][status] ?? "Error"
        var bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\n\(extraHeaders)Connection: close\r\n\r\n"
        if headOnly { bytes = [] }
        var out = Array(head.utf8)
        out.append(contentsOf: bytes)
        var sent = 0
        let deadline = WallClock.monotonicMs() + Int64(Self.clientDeadlineMs)
        while sent < out.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
            #else
            let flags = Int32(MSG_DONTWAIT)
            #endif
            guard wait(fd, for: Int32(POLLOUT), until: deadline) else { return }
            let n = out.withUnsafeBytes { send(fd, $0.baseAddress! + sent, out.count - sent, flags) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n <= 0 { return }
            sent += n
        }
    }
}

private extension ArraySlice where Element == UInt8 {
    /// Contains the blank line ending an HTTP head (CRLF CRLF, or LF LF from a hand-typed request).
    var containsTerminator: Bool {
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
/// `mkpasswd -m bcrypt` make them). `tls_server_config` is refused with advice: this build serves plain
/// HTTP only (put stunnel or a reverse proxy in front for TLS).
///
/// ```yaml
/// basic_auth_users:
///   prometheus: $2b$10$…
/// ```
public struct MetricsWebConfig: Sendable {
    /// User name → bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
    public var basicAuthUsers: [String: String]

    public init(basicAuthUsers: [String: String]) { self.basicAuthUsers = basicAuthUsers }

    public static func load(path: String) throws(MetricsServerError) -> MetricsWebConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MetricsServerError("--web-config \(path): cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// The YAML subset these files use: top-level `key:` sections holding indented `name: value` lines,
    /// `#` comments, values plain or quoted.
    public static func parse(_ text: String, file: String) throws(MetricsServerError) -> MetricsWebConfig {
        var users: [String: String] = [:]
        var section: String?
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), line[..<hash].allSatisfy({ $0 == " " }) { line = line[..<hash] }
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            let indented = line.first == " " || line.first == "\t"
            guard let colon = line.firstIndex(of: ":") else {
                throw MetricsServerError("--web-config \(file) line \(lineNumber): expected 'key: value'")
            }
            let key = unquoted(line[..<colon])
            let value = unquoted(line[line.index(after: colon)...])
            if !indented {
                switch key {
                case "basic_auth_users":
                    section = key
                case "tls_server_config":
                    throw MetricsServerError("--web-config \(file) line \(lineNumber): tls_server_config is not supported: cdctop serves /metrics over plain HTTP; for TLS put stunnel (server mode) or a reverse proxy in front, and keep --metrics on 127.0.0.1")
                case "http_server_config":
                    section = key  // headers and HTTP/2 settings: nothing for cdctop to do
                default:
                    throw MetricsServerError("--web-config \(file) line \(lineNumber): unknown key '\(key)' (cdctop reads basic_auth_users)")
                }
                if !value.isEmpty && key == "basic_auth_users" {
                    throw MetricsServerError("--web-config \(file) line \(lineNumber): basic_auth_users holds indented 'user: hash' lines")
                }
                continue
            }
            guard section == "basic_auth_users" else { continue }
            guard ["$2a$", "$2b$", "$2y$"].contains(where: { value.hasPrefix($0) }), value.count == 60 else {
                throw MetricsServerError("--web-config \(file) line \(lineNumber): the password of '\(key)' must be a bcrypt hash ($2b$…, 60 characters; make one with `htpasswd -nBC 10 \(key)` or `mkpasswd -m bcrypt`), never the password itself")
            }
            users[key] = value
        }
        if !users.isEmpty && BcryptHash.cryptRN == nil {
            throw MetricsServerError("--web-config \(file): basic_auth_users needs libcrypt.so.1 (libxcrypt, for bcrypt), which is not installed")
        }
        return MetricsWebConfig(basicAuthUsers: users)
    }

    /// True when `authorization` (the header's value) is `Basic base64(user:password)` for a configured user.
    public func accepts(authorization: String) -> Bool {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return false }
        let user = String(text[..<colon]), password = String(text[text.index(after: colon)...])
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
    typealias CryptRN = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int32) -> UnsafeMutablePointer<CChar>?

    static let cryptRN: CryptRN? = {
        guard let library = dlopen("libcrypt.so.1", RTLD_NOW), let symbol = dlsym(library, "crypt_rn") else { return nil }
        return unsafeBitCast(symbol, to: CryptRN.self)
    }()

    /// True when bcrypt of `password` with `hash`'s salt and cost gives `hash` (compared in constant time).
    static func verify(password: String, hash: String) -> Bool {
        guard let cryptRN else { return false }
        // struct crypt_data is 32 KiB and a little more; twice that leaves room for any libxcrypt.
        let size = 65_536
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.initializeMemory(as: UInt8.self, repeating: 0, count: size); buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        guard let result = cryptRN(password, hash, buffer, Int32(size)) else { return false }
        let computed = Array(String(cString: result).utf8), expected = Array(hash.utf8)
        guard computed.count == expected.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<computed.count { difference |= computed[i] ^ expected[i] }
        return difference == 0
    }
}
