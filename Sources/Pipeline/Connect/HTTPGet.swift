#if canImport(Glibc)
import Glibc
#endif

/// A failed HTTP GET, with what the system or server said and what to check.
public struct HTTPGetError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var advice: String
    public init(_ message: String, advice: String) { self.message = message; self.advice = advice }
    public var description: String { advice.isEmpty ? message : "\(message) — \(advice)" }
}

/// `http://host:port/path` split into its parts (plain HTTP only: Kafka Connect's REST API on a
/// trusted network; put a TLS-terminating proxy in front for anything else).
public struct HTTPEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    /// Path prefix without a trailing slash ("" for the root).
    public var basePath: String

    public init(parsing url: String) throws(HTTPGetError) {
        var rest = Substring(url)
        if rest.hasPrefix("http://") {
            rest = rest.dropFirst("http://".count)
        } else if rest.hasPrefix("https://") {
            throw HTTPGetError("\(url): https is not supported",
                               advice: "give the Connect REST URL as http://host:port (a TLS proxy can sit in front)")
        } else if rest.contains("://") {
            throw HTTPGetError("\(url) is not an http:// URL", advice: "give the Connect REST URL as http://host:port")
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        let hostPart: Substring
        var portNumber: UInt16 = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            hostPart = authority[..<colon]
            guard let p = UInt16(authority[authority.index(after: colon)...]), p > 0 else {
                throw HTTPGetError("\(url): bad port", advice: "give the Connect REST URL as http://host:port, e.g. http://127.0.0.1:8083")
            }
            portNumber = p
        } else {
            hostPart = authority
        }
        let trimmedHost = hostPart.hasPrefix("[") && hostPart.hasSuffix("]") ? hostPart.dropFirst().dropLast() : hostPart
        guard !trimmedHost.isEmpty else {
            throw HTTPGetError("\(url): no host", advice: "give the Connect REST URL as http://host:port, e.g. http://127.0.0.1:8083")
        }
        host = String(trimmedHost); port = portNumber; basePath = path
    }

    public var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(basePath)" }
}

/// A minimal blocking HTTP/1.1 GET over a POSIX socket: enough for a JSON REST API polled every few
/// seconds from a worker thread, without a new package dependency. Bounded by `timeoutSeconds` per
/// connect, send and receive; reads until the server closes (Connection: close); de-chunks.
public enum HTTPGet {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    /// Largest body accepted (a Connect cluster with many connectors stays far below it).
    static let maximumBodyBytes = 16 << 20

    /// `jsonBody` turns the GET into a POST of that JSON (Alertmanager's API).
    public static func fetch(_ endpoint: HTTPEndpoint, path: String, jsonBody: [UInt8]? = nil,
                             timeoutSeconds: Int = 3) throws(HTTPGetError) -> Response {
        let socket = try connectSocket(endpoint, timeoutSeconds: timeoutSeconds)
        defer { close(socket) }
        var request = "\(jsonBody == nil ? "GET" : "POST") \(endpoint.basePath)\(path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\n"
            + "Accept: application/json\r\nUser-Agent: cdctop\r\nConnection: close\r\n"
        if let jsonBody { request += "Content-Type: application/json\r\nContent-Length: \(jsonBody.count)\r\n" }
        var requestBytes = Array((request + "\r\n").utf8) + (jsonBody ?? [])
        var sent = 0
        while sent < requestBytes.count {
            let n = requestBytes.withUnsafeMutableBytes { send(socket, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw systemError("sending to \(endpoint)", endpoint: endpoint) }
            sent += n
        }
        var raw: [UInt8] = []
        raw.reserveCapacity(8192)
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw systemError("reading from \(endpoint)", endpoint: endpoint)
            }
            raw.append(contentsOf: chunk[0..<n])
            if raw.count > maximumBodyBytes { throw HTTPGetError("answer from \(endpoint) is over 16 MB", advice: "is this a Kafka Connect REST URL?") }
        }
        return try parseResponse(raw, endpoint: endpoint)
    }

    /// Splits status line, headers and body; handles Content-Length, chunked and read-until-close.
    static func parseResponse(_ raw: [UInt8], endpoint: HTTPEndpoint) throws(HTTPGetError) -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = firstIndex(of: separator, in: raw, from: 0) else {
            throw HTTPGetError("\(endpoint) closed the connection before a full HTTP answer", advice: "is this a Kafka Connect REST URL?")
        }
        let head = String(decoding: raw[0..<headerEnd], as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else {
            throw HTTPGetError("\(endpoint) did not answer HTTP (\(lines.first.map(String.init) ?? ""))", advice: "is this a Kafka Connect REST URL?")
        }
        var chunked = false
        var contentLength: Int?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
            if name == "content-length" { contentLength = Int(value) }
        }
        let bodyStart = headerEnd + 4
        var body: [UInt8]
        if chunked {
            body = try dechunk(raw, from: bodyStart, endpoint: endpoint)
        } else if let contentLength {
            body = Array(raw[bodyStart..<min(raw.count, bodyStart + contentLength)])
        } else {
            body = Array(raw[bodyStart...])
        }
        return Response(status: status, body: body)
    }

    private static func dechunk(_ raw: [UInt8], from start: Int, endpoint: HTTPEndpoint) throws(HTTPGetError) -> [UInt8] {
        var out: [UInt8] = []
        var i = start
        while i < raw.count {
            guard let lineEnd = firstIndex(of: [13, 10], in: raw, from: i) else { break }
            let sizeText = String(decoding: raw[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingSpaces(), radix: 16) else {
                throw HTTPGetError("bad chunked encoding from \(endpoint)", advice: "is this a Kafka Connect REST URL?")
            }
            if size == 0 { break }
            let dataStart = lineEnd + 2
            guard dataStart + size <= raw.count else {
                throw HTTPGetError("\(endpoint) closed the connection mid-answer", advice: "retry; check the Connect worker's log")
            }
            out.append(contentsOf: raw[dataStart..<(dataStart + size)])
            i = dataStart + size + 2
        }
        return out
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] {
                var match = true
                for j in 1..<needle.count where haystack[i + j] != needle[j] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }

    private static func connectSocket(_ endpoint: HTTPEndpoint, timeoutSeconds: Int) throws(HTTPGetError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPGetError("cannot resolve \(endpoint.host): \(String(cString: gai_strerror(rc)))",
                               advice: "check the host in --connect")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd < 0 { lastError = String(cString: strerror(errno)); continue }
            // SO_SNDTIMEO bounds connect() too on Linux; SO_RCVTIMEO bounds each recv().
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            lastError = errno == EINPROGRESS || errno == EAGAIN ? "timed out after \(timeoutSeconds) s" : String(cString: strerror(errno))
            close(fd)
        }
        throw HTTPGetError("cannot connect to \(endpoint): \(lastError)",
                           advice: "is the Kafka Connect worker running and its REST listener on that address?")
    }

    private static func systemError(_ doing: String, endpoint: HTTPEndpoint) -> HTTPGetError {
        let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : String(cString: strerror(errno))
        return HTTPGetError("\(doing): \(reason)", advice: "the Connect worker may be overloaded or restarting; it is polled again")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
