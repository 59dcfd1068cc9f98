import CCurl
import Foundation
import Synchronization

/// A failed HTTP request through libcurl: what curl or the server said.
public struct CurlHTTPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case transport, cancelled, setup }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// Blocking HTTP(S) requests through libcurl (Debian's OpenSSL build): TLS with a CA file, basic auth,
/// bearer tokens, proxies from the environment (http_proxy, https_proxy, no_proxy) and redirects.
/// One easy handle per request: the registry is asked once per schema id, never per message.
public enum CurlHTTP {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Request: Sendable {
        public var method = "GET"
        public var url: String
        public var body: [UInt8]?
        public var headers: [String] = []
        /// `user:password` for basic auth.
        public var userPassword: String?
        public var bearerToken: String?
        public var caFile: String?
        public var timeoutSeconds: Double = 2
        public init(url: String) { self.url = url }
    }

    private static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// Sends the request; `cancelled` is polled while it runs (a true aborts it at once).
    public static func perform(_ request: Request, cancelled: (@Sendable () -> Bool)? = nil) throws(CurlHTTPError) -> Response {
        guard globalInit, let handle = curl_easy_init() else {
            throw CurlHTTPError(kind: .setup, message: "libcurl could not be initialised")
        }
        defer { curl_easy_cleanup(handle) }
        final class Sink { var bytes: [UInt8] = []; var cancelled: (@Sendable () -> Bool)? }
        let sink = Sink()
        sink.cancelled = cancelled
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
            let ms = max(100, Int(request.timeoutSeconds * 1000))
            _ = cdctop_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, ms)
            _ = cdctop_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, ms)
            _ = cdctop_curl_setopt_string(handle, CURLOPT_USERAGENT, "cdctop")
            if let ca = request.caFile { _ = cdctop_curl_setopt_string(handle, CURLOPT_CAINFO, ca) }
            if let userPassword = request.userPassword { _ = cdctop_curl_setopt_string(handle, CURLOPT_USERPWD, userPassword) }
            var headers = request.headers
            if let token = request.bearerToken { headers.append("Authorization: Bearer \(token)") }
            for h in headers { headerList = curl_slist_append(headerList, h) }
            if headerList != nil { _ = cdctop_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList) }
            if let body = request.body {
                _ = cdctop_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
                _ = body.withUnsafeBufferPointer { b in
                    cdctop_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: b.baseAddress))
                }
            }
            if request.method != "GET" && request.method != "POST" || (request.method == "GET" && request.body != nil) {
                _ = cdctop_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
            }
            _ = cdctop_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION) { data, size, count, user in
                let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
                let n = size * count
                if let data, n > 0 {
                    data.withMemoryRebound(to: UInt8.self, capacity: n) { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
                }
                return n
            }
            _ = cdctop_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer)
            if cancelled != nil {
                _ = cdctop_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
                _ = cdctop_curl_setopt_progress(handle, CURLOPT_XFERINFOFUNCTION) { user, _, _, _, _ in
                    let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
                    return sink.cancelled?() == true ? 1 : 0
                }
                _ = cdctop_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, sinkPointer)
            }
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            if code == CURLE_ABORTED_BY_CALLBACK { throw CurlHTTPError(kind: .cancelled, message: "cancelled") }
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CurlHTTPError(kind: .transport, message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = cdctop_curl_response_code(handle, &status)
        return Response(status: status, body: sink.bytes)
    }
}
