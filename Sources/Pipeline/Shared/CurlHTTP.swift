import CCurl
import Foundation
import Metrics
import Synchronization

/// A failed HTTP request: what curl or the server said, and what to do about it.
package struct CurlHTTPError: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable {
        /// Name resolution, connection, timeout, a cut-off answer: the service may come back.
        case transport
        /// The certificate could not be verified, or the CA file could not be read.
        case tls
        /// The server answered with a status the caller cannot use (401/403 included).
        case status
        /// The server answered something that is not what the API returns.
        case answer
        /// A bad URL, credentials file or option: nothing to retry until the user changes it.
        case configuration
        case cancelled, setup
    }
    package var kind: Kind
    package var message: String
    /// What to check or do ("" when the message says it all).
    package var advice: String
    package init(kind: Kind, message: String, advice: String = "") {
        self.kind = kind
        self.message = message
        self.advice = advice
    }
    package var description: String { advice.isEmpty ? message : "\(message) — \(advice)" }
}

/// Blocking HTTP(S) requests through libcurl (Debian's OpenSSL build): TLS with the system CA store or a
/// CA file, basic auth, bearer tokens, proxies from the environment (http_proxy, https_proxy, no_proxy)
/// and redirects. All outbound HTTP of cdctop goes through here (schema registry, Kafka Connect REST,
/// Alertmanager). One easy handle per request: each is a poll every few seconds at most, never per message.
package enum CurlHTTP {
    package struct Response: Sendable {
        package var status: Int
        package var body: [UInt8]
        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    package struct Request: Sendable {
        package var method = "GET"
        package var url: String
        package var body: [UInt8]?
        package var headers: [String] = []
        /// `user:password` for basic auth.
        package var userPassword: String?
        package var bearerToken: String?
        /// CA certificates (PEM) to verify the server with; nil: the system store.
        package var caFile: String?
        package var timeoutSeconds: Double = 2
        /// Larger answers are refused (a wrong URL pointing at a file server must not fill memory).
        package var maximumBodyBytes = 64 << 20
        package init(url: String) { self.url = url }
    }

    private static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// How often `cancelled` is asked while a request waits on the network.
    static let cancelCheckMs: Int32 = 100

    /// Sends the request; `cancelled` is asked every 100 ms while it runs, and a true abandons it.
    package static func perform(_ request: Request, cancelled: (@Sendable () -> Bool)? = nil) throws(CurlHTTPError)
        -> Response
    {
        guard globalInit, let handle = curl_easy_init() else {
            throw CurlHTTPError(kind: .setup, message: "libcurl could not be initialised")
        }
        defer { curl_easy_cleanup(handle) }
        final class Sink {
            var bytes: [UInt8] = []
            var limit = 0
            var overLimit = false
        }
        let sink = Sink()
        sink.limit = request.maximumBodyBytes
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorBytes in
            _ = cdctop_curl_setopt_string(handle, CURLOPT_URL, request.url)
            _ = cdctop_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBytes.baseAddress)
            _ = cdctop_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = cdctop_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1)
            _ = cdctop_curl_setopt_long(handle, CURLOPT_MAXREDIRS, 5)
            // Redirects may not leave http(s) (a Location: file:// or gopher:// is refused).
            _ = cdctop_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
            _ = cdctop_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            let ms = max(100, Int(request.timeoutSeconds * 1000))
            _ = cdctop_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, ms)
            _ = cdctop_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, ms)
            _ = cdctop_curl_setopt_string(handle, CURLOPT_USERAGENT, "cdctop")
            if let ca = request.caFile { _ = cdctop_curl_setopt_string(handle, CURLOPT_CAINFO, ca) }
            if let userPassword = request.userPassword {
                _ = cdctop_curl_setopt_string(handle, CURLOPT_USERPWD, userPassword)
            }
            var headers = request.headers
            if let token = request.bearerToken { headers.append("Authorization: Bearer \(token)") }
            // No "Expect: 100-continue" round trip before a body over 1 KB (an alert batch): it costs a
            // second with servers that do not answer 100.
            if request.body != nil && !headers.contains(where: { $0.lowercased().hasPrefix("expect:") }) {
                headers.append("Expect:")
            }
            for h in headers { headerList = curl_slist_append(headerList, h) }
            if headerList != nil { _ = cdctop_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList) }
            if let body = request.body {
                _ = cdctop_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
                _ = body.withUnsafeBufferPointer { b in
                    cdctop_curl_setopt_pointer(
                        handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: b.baseAddress))
                }
            }
            if request.method != "GET" && request.method != "POST" || (request.method == "GET" && request.body != nil) {
                _ = cdctop_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
            }
            _ = cdctop_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION) { data, size, count, user in
                let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
                let n = size * count
                if sink.bytes.count + n > sink.limit {
                    sink.overLimit = true
                    return 0
                }
                if let data, n > 0 {
                    data.withMemoryRebound(to: UInt8.self, capacity: n) {
                        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
                    }
                }
                return n
            }
            _ = cdctop_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer)
            guard let cancelled else { return curl_easy_perform(handle) }
            return performCancellable(handle, cancelled: cancelled)
        }
        guard code == CURLE_OK else {
            if code == CURLE_ABORTED_BY_CALLBACK { throw CurlHTTPError(kind: .cancelled, message: "cancelled") }
            if sink.overLimit {
                throw CurlHTTPError(
                    kind: .answer,
                    message: "the answer from \(redacted(request.url)) is over \(request.maximumBodyBytes >> 20) MB")
            }
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CurlHTTPError(
                kind: isTLS(code) ? .tls : .transport,
                message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = cdctop_curl_response_code(handle, &status)
        return Response(status: status, body: sink.bytes)
    }

    /// `curl_easy_perform` through a multi handle, so the wait on the network can be left every
    /// `cancelCheckMs` to ask `cancelled` (the easy interface only asks a progress callback about once a second).
    private static func performCancellable(_ handle: UnsafeMutableRawPointer, cancelled: () -> Bool) -> CURLcode {
        guard let multi = curl_multi_init() else { return CURLE_OUT_OF_MEMORY }
        defer { curl_multi_cleanup(multi) }
        guard curl_multi_add_handle(multi, handle) == CURLM_OK else { return CURLE_FAILED_INIT }
        defer { curl_multi_remove_handle(multi, handle) }
        var running: Int32 = 1
        while true {
            guard curl_multi_perform(multi, &running) == CURLM_OK else { return CURLE_FAILED_INIT }
            if running == 0 { break }
            if cancelled() { return CURLE_ABORTED_BY_CALLBACK }
            guard curl_multi_poll(multi, nil, 0, cancelCheckMs, nil) == CURLM_OK else { return CURLE_FAILED_INIT }
        }
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            if message.pointee.msg == CURLMSG_DONE { return message.pointee.data.result }
        }
        return CURLE_FAILED_INIT
    }

    /// Certificate and TLS handshake failures: the fix is a CA file or the server's certificate, not a retry.
    static func isTLS(_ code: CURLcode) -> Bool {
        [
            CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT,
        ].contains(code)
    }

    /// `https://u:secret@h/x` → `https://u:***@h/x` (URLs go into messages, logs and /metrics).
    package static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        // Only "/" ends the credentials: libpq reads `postgresql://u:pa?ss@h/db` as password "pa?ss".
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        let credentials = rest[..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
}

/// Credentials for an HTTP service, never taken from the command line (`ps` shows it): one line
/// `user:password` (basic auth) or `bearer TOKEN`, from `--<service>-auth-file FILE` or from
/// `$CDCTOP_<SERVICE>_AUTH` (the same form), as for `--schema-registry-auth-file`.
package enum HTTPCredentials: Sendable, Equatable {
    case none
    case basic(user: String, password: String)
    case bearer(String)

    /// `--connect` → `CDCTOP_CONNECT_AUTH`, `--alertmanager` → `CDCTOP_ALERTMANAGER_AUTH`.
    package static func environmentVariable(for option: String) -> String {
        "CDCTOP_" + option.drop(while: { $0 == "-" }).uppercased().replacingOccurrences(of: "-", with: "_") + "_AUTH"
    }

    package init(parsing text: String, origin: String) throws(CurlHTTPError) {
        let line =
            text.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        if line.lowercased().hasPrefix("bearer ") {
            let token = line.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
            guard !token.isEmpty else {
                throw CurlHTTPError(kind: .configuration, message: "\(origin): 'bearer' without a token")
            }
            self = .bearer(token)
        } else if let colon = line.firstIndex(of: ":"), colon != line.startIndex {
            self = .basic(user: String(line[..<colon]), password: String(line[line.index(after: colon)...]))
        } else {
            throw CurlHTTPError(
                kind: .configuration, message: "\(origin): expected one line 'user:password' or 'bearer TOKEN'")
        }
    }

    /// The file when given, else `$CDCTOP_<OPTION>_AUTH`, else none. `option` is the URL's option, e.g. `--connect`.
    package static func load(
        file: String?, option: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CurlHTTPError) -> HTTPCredentials {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CurlHTTPError(kind: .configuration, message: "\(option)-auth-file \(file): cannot read the file")
            }
            return try HTTPCredentials(parsing: text, origin: file)
        }
        let variable = environmentVariable(for: option)
        if let value = environment[variable], !value.isEmpty {
            return try HTTPCredentials(parsing: value, origin: "$\(variable)")
        }
        return .none
    }
}

/// An HTTP service cdctop talks to (Kafka Connect's REST API, Alertmanager): its base URL, credentials and
/// CA file, and the names its messages use, so every failure says which option to check.
package struct HTTPService: Sendable, CustomStringConvertible {
    /// `http(s)://host[:port][/path]` without a trailing slash; paths are appended to it.
    package let baseURL: String
    /// What the service is, for messages: "the Kafka Connect worker", "Alertmanager".
    package let name: String
    /// The option that gave the URL, e.g. `--connect`; `<option>-auth-file` and `<option>-ca` go with it.
    package let option: String
    package var credentials: HTTPCredentials
    package var caFile: String?
    package var timeoutSeconds: Double

    /// `url` may omit the scheme (`127.0.0.1:8083` is http). `example` is a URL shown when `url` is unusable.
    package init(
        url: String, name: String, option: String, example: String, credentials: HTTPCredentials = .none,
        caFile: String? = nil, timeoutSeconds: Double = 3
    ) throws(CurlHTTPError) {
        self.name = name
        self.option = option
        self.credentials = credentials
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
        let fix = "give \(name)'s URL as http://host:port or https://host:port, e.g. \(example)"
        var text = url.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        var scheme = "http"
        var rest = Substring(text)
        if let separator = text.range(of: "://") {
            scheme = text[..<separator.lowerBound].lowercased()
            rest = text[separator.upperBound...]
        }
        guard scheme == "http" || scheme == "https" else {
            throw CurlHTTPError(
                kind: .configuration, message: "\(option) \(url) is not an http:// or https:// URL", advice: fix)
        }
        let authority = rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex)]
        let hostPort = authority[
            (authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex)...]
        var host = hostPort
        var port: Substring? = nil
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw CurlHTTPError(
                    kind: .configuration, message: "\(option) \(url): an IPv6 address without its closing ]",
                    advice: fix)
            }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            port = hostPort[hostPort.index(after: colon)...]
        }
        guard !host.isEmpty else {
            throw CurlHTTPError(kind: .configuration, message: "\(option) \(url): no host", advice: fix)
        }
        if let port, !(Int(port).map { (1...65535).contains($0) } ?? false) {
            throw CurlHTTPError(
                kind: .configuration, message: "\(option) \(url): '\(port)' is not a port (1 to 65535)", advice: fix)
        }
        baseURL = "\(scheme)://\(rest)"
    }

    /// The base URL with any password in it masked.
    package var description: String { CurlHTTP.redacted(baseURL) }

    /// `baseURL + path` with this service's credentials, CA and timeout; an answer of any status is
    /// returned, except 401/403, which are errors saying where the credentials come from.
    package func perform(
        _ path: String, method: String = "GET", jsonBody: [UInt8]? = nil,
        cancelled: (@Sendable () -> Bool)? = nil
    ) throws(CurlHTTPError) -> CurlHTTP.Response {
        var request = CurlHTTP.Request(url: baseURL + path)
        request.method = method
        request.headers = ["Accept: application/json"]
        if let jsonBody {
            request.body = jsonBody
            request.headers.append("Content-Type: application/json")
        }
        request.caFile = caFile
        request.timeoutSeconds = timeoutSeconds
        switch credentials {
        case .none: break
        case .basic(let user, let password): request.userPassword = "\(user):\(password)"
        case .bearer(let token): request.bearerToken = token
        }
        let response: CurlHTTP.Response
        do {
            response = try CurlHTTP.perform(request, cancelled: cancelled)
        } catch {
            throw explained(error, path: path)
        }
        if response.status == 401 || response.status == 403 {
            let variable = HTTPCredentials.environmentVariable(for: option)
            throw CurlHTTPError(
                kind: .status,
                message:
                    "\(name) at \(self) answered HTTP \(response.status) \(response.status == 401 ? "Unauthorized" : "Forbidden")",
                advice: credentials == .none
                    ? "it wants credentials: put 'user:password' or 'bearer TOKEN' in \(option)-auth-file FILE or $\(variable)"
                    : "it refused the credentials: check \(option)-auth-file / $\(variable)")
        }
        return response
    }

    /// curl's message, prefixed with what was being done and followed by what to check.
    func explained(_ error: CurlHTTPError, path: String) -> CurlHTTPError {
        var out = error
        switch error.kind {
        case .cancelled, .setup, .status, .answer, .configuration:
            return error
        case .tls:
            out.message = "TLS with \(self) failed: \(error.message)"
            out.advice =
                caFile == nil
                ? "if its certificate is signed by a private CA, give that CA's PEM file with \(option)-ca FILE"
                : "check that \(option)-ca \(caFile!) holds the CA that signed the server's certificate, and that the host name matches it"
        case .transport:
            let lower = error.message.lowercased()
            if lower.contains("resolv") {
                out.message = "cannot resolve the host of \(self): \(error.message)"
                out.advice = "check the host in \(option)"
            } else if lower.contains("timed out") || lower.contains("timeout") {
                out.message =
                    "no answer from \(self)\(path) within \(TimeText.duration(ms: Int64(timeoutSeconds * 1000))): \(error.message)"
                out.advice = "\(name) may be overloaded or restarting; it is tried again"
            } else if lower.contains("connect") {
                out.message = "cannot connect to \(self): \(error.message)"
                out.advice = "is \(name) running and listening on that address?"
            } else {
                out.message = "\(self)\(path): \(error.message)"
                out.advice = "\(name) may be restarting; it is tried again"
            }
        }
        return out
    }
}
