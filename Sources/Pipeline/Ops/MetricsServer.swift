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
                healthy: @escaping @Sendable () -> (ok: Bool, detail: String) = { (true, "ok") }) throws(MetricsServerError) {
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

    private func respond(_ fd: Int32, _ status: Int, _ contentType: String, _ body: String, headOnly: Bool = false) {
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"][status] ?? "Error"
        var bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
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
