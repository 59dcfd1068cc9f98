import COpenSSL
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `tls_server_config` of `--web-config`, as exporter-toolkit defines it, in the subset cdctop implements
/// exactly. Paths are absolute (relative ones were resolved against the web config file's folder, as
/// exporter-toolkit does).
package struct MetricsTLSSettings: Sendable, Equatable {
    /// Go's `tls.ClientAuthType` names, as exporter-toolkit takes them.
    package enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// Whether a client certificate is checked against `client_ca_file` (so the file is needed).
        var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    /// exporter-toolkit's `TLS12`/`TLS13` (TLS 1.0 and 1.1 are refused: OpenSSL 3 at Debian's security
    /// level 2 would not speak them anyway, so accepting the setting would be a lie).
    package enum Version: String, Sendable, CaseIterable, Comparable {
        case tls12 = "TLS12"
        case tls13 = "TLS13"
        var openSSL: Int32 { self == .tls12 ? TLS1_2_VERSION : TLS1_3_VERSION }
        package static func < (a: Version, b: Version) -> Bool { a.openSSL < b.openSSL }
    }

    package var certFile: String
    package var keyFile: String
    package var clientCAFile: String?
    package var clientAuth: ClientAuth = .noClientCert
    package var minVersion: Version = .tls12
    package var maxVersion: Version = .tls13
    package var preferServerCipherSuites = true

    package init(
        certFile: String, keyFile: String, clientCAFile: String? = nil, clientAuth: ClientAuth = .noClientCert,
        minVersion: Version = .tls12, maxVersion: Version = .tls13
    ) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.clientAuth = clientAuth
        self.minVersion = minVersion
        self.maxVersion = maxVersion
    }
}

/// The TLS side of the `/metrics` server: owns OpenSSL's `SSL_CTX` (and, through `Session`, each
/// connection's `SSL`); no OpenSSL pointer leaves this type. Sessions use memory BIOs, so OpenSSL never
/// touches the socket: the server does every read and write itself, with its own deadlines and
/// `MSG_NOSIGNAL`, and a client that stalls or sends garbage costs at most the server's client deadline.
///
/// Certificate rotation: before each connection the cert, key and client CA files are `stat`ed; when
/// any changed, a new context is built from them and used from that connection on. A half-rotated
/// set (a new certificate with the old key) is logged once and the previous context keeps serving
/// until the files agree again.
package final class MetricsTLS: Sendable {
    package let settings: MetricsTLSSettings
    private let log: @Sendable (String) -> Void

    /// An `SSL_CTX` with its one reference; `SSL_new` takes its own, so a context replaced by a reload
    /// lives on until the last session made from it is freed.
    private final class Context: @unchecked Sendable {  // an SSL_CTX is thread-safe once configured
        let handle: OpaquePointer
        init(_ handle: OpaquePointer) { self.handle = handle }
        deinit { SSL_CTX_free(handle) }
    }

    /// What identifies a version of a file: a rotation by rename or by rewrite both change it.
    private struct FileStamp: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, modifiedNs: Int64
    }

    private struct State {
        var context: Context
        var loadedStamps: [FileStamp?]
        /// The stamps of a set that failed to load, so the failure is logged once, not at every scrape.
        var failedStamps: [FileStamp?]?
        var reloads = 0
    }
    private let state: Mutex<State>

    /// Loads and checks the files: errors name the file and say what to do.
    package init(settings: MetricsTLSSettings, log: @escaping @Sendable (String) -> Void = MetricsServer.stderrLog)
        throws(MetricsServerError)
    {
        self.settings = settings
        self.log = log
        let stamps = Self.stamps(settings)
        let context = try Self.makeContext(settings)
        state = Mutex(State(context: context, loadedStamps: stamps, failedStamps: nil))
    }

    /// How many times changed files were loaded since start (for tests and the log).
    package var reloads: Int { state.withLock { $0.reloads } }

    /// A new server-side session over the current context, reloading the files first when they changed.
    func makeSession() -> Session? {
        let context = currentContext()
        guard let ssl = SSL_new(context.handle) else { return nil }
        return Session(ssl)
    }

    private func currentContext() -> Context {
        let stamps = Self.stamps(settings)
        let (context, attempt) = state.withLock { s -> (Context, Bool) in
            (s.context, stamps != s.loadedStamps && stamps != s.failedStamps)
        }
        guard attempt else { return context }
        do {
            let fresh = try Self.makeContext(settings)
            let count = state.withLock { s -> Int in
                s.context = fresh
                s.loadedStamps = stamps
                s.failedStamps = nil
                s.reloads += 1
                return s.reloads
            }
            log("metrics: TLS certificate files changed; reloaded them (reload \(count)): new connections use them")
            return fresh
        } catch {
            state.withLock { $0.failedStamps = stamps }
            log(
                "metrics: TLS certificate files changed but cannot be used, so the previous ones keep serving: \(error.description)"
            )
            return context
        }
    }

    private static func stamps(_ settings: MetricsTLSSettings) -> [FileStamp?] {
        [settings.certFile, settings.keyFile, settings.clientCAFile].map { path -> FileStamp? in
            guard let path else { return nil }
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            #if canImport(Glibc)
                let modified = info.st_mtim
            #else
                let modified = info.st_mtimespec
            #endif
            return FileStamp(
                device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                modifiedNs: Int64(modified.tv_sec) * 1_000_000_000 + Int64(modified.tv_nsec))
        }
    }

    /// Fails with the file named when it is missing or unreadable, before OpenSSL's vaguer words.
    private static func checkReadable(_ path: String, key: String) throws(MetricsServerError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            let advice =
                e == ENOENT
                ? "check the path (a relative one is taken from the web config file's folder)"
                : e == EACCES ? "let the user running cdctop read it (chmod/chown)" : "check the file"
            throw MetricsServerError(
                "--web-config tls_server_config \(key) \(path): cannot read it: \(String(cString: strerror(e))); \(advice)"
            )
        }
        close(fd)
    }

    private static func makeContext(_ s: MetricsTLSSettings) throws(MetricsServerError) -> Context {
        try checkReadable(s.certFile, key: "cert_file")
        try checkReadable(s.keyFile, key: "key_file")
        if let ca = s.clientCAFile { try checkReadable(ca, key: "client_ca_file") }
        ERR_clear_error()
        guard let handle = SSL_CTX_new(TLS_server_method()) else {
            throw MetricsServerError("--web-config: OpenSSL could not make a TLS context: \(openSSLErrors())")
        }
        let context = Context(handle)  // frees it on every error path below
        guard cdctop_ssl_ctx_set_min_proto_version(handle, s.minVersion.openSSL) == 1,
            cdctop_ssl_ctx_set_max_proto_version(handle, s.maxVersion.openSSL) == 1
        else {
            throw MetricsServerError(
                "--web-config tls_server_config: this OpenSSL refuses min_version \(s.minVersion.rawValue)/max_version \(s.maxVersion.rawValue): \(openSSLErrors())"
            )
        }
        cdctop_ssl_ctx_set_server_options(handle, s.preferServerCipherSuites ? 1 : 0)
        cdctop_ssl_ctx_disable_resumption(handle)
        guard SSL_CTX_use_certificate_chain_file(handle, s.certFile) == 1 else {
            throw MetricsServerError(
                "--web-config tls_server_config cert_file \(s.certFile): not a PEM certificate (chain) OpenSSL can use: \(openSSLErrors()); give the server certificate in PEM ('-----BEGIN CERTIFICATE-----'), leaf first"
            )
        }
        guard SSL_CTX_use_PrivateKey_file(handle, s.keyFile, SSL_FILETYPE_PEM) == 1 else {
            let reasons = openSSLErrors()
            if reasons.contains("mismatch") {  // OpenSSL compares the key with the certificate as it loads it
                throw MetricsServerError(
                    "--web-config tls_server_config: key_file \(s.keyFile) does not belong to cert_file \(s.certFile) (\(reasons)); give the key the certificate was made for"
                )
            }
            throw MetricsServerError(
                "--web-config tls_server_config key_file \(s.keyFile): not an unencrypted PEM private key OpenSSL can use: \(reasons); give the key the certificate was made for, without a passphrase"
            )
        }
        guard SSL_CTX_check_private_key(handle) == 1 else {
            throw MetricsServerError(
                "--web-config tls_server_config: key_file \(s.keyFile) does not belong to cert_file \(s.certFile) (\(openSSLErrors())); give the key the certificate was made for"
            )
        }
        if let ca = s.clientCAFile {
            guard SSL_CTX_load_verify_locations(handle, ca, nil) == 1 else {
                throw MetricsServerError(
                    "--web-config tls_server_config client_ca_file \(ca): no PEM CA certificate in it OpenSSL can use: \(openSSLErrors())"
                )
            }
            // Tells clients which CAs' certificates to send (the names, not a trust decision).
            if let names = SSL_load_client_CA_file(ca) { SSL_CTX_set_client_CA_list(handle, names) }
        }
        switch s.clientAuth {
        case .noClientCert:
            cdctop_ssl_ctx_set_verify(handle, SSL_VERIFY_NONE, 0)
        case .requestClientCert:
            cdctop_ssl_ctx_set_verify(handle, SSL_VERIFY_PEER, 1)
        case .requireAnyClientCert:
            cdctop_ssl_ctx_set_verify(handle, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, 1)
        case .verifyClientCertIfGiven:
            cdctop_ssl_ctx_set_verify(handle, SSL_VERIFY_PEER, 0)
        case .requireAndVerifyClientCert:
            cdctop_ssl_ctx_set_verify(handle, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, 0)
        }
        ERR_clear_error()
        return context
    }

    /// The thread's OpenSSL error queue as short reasons ("key values mismatch"), emptied.
    static func openSSLErrors() -> String {
        var reasons: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "error:0A000086:SSL routines::certificate verify failed": the words after the last colon.
            let reason = text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text
            if !reasons.contains(reason) { reasons.append(reason) }
        }
        return reasons.isEmpty ? "no detail from OpenSSL" : reasons.joined(separator: "; ")
    }

    /// One connection's TLS state (`SSL` with two memory BIOs). Not shared between threads: the server
    /// thread makes it, drives it and drops it.
    final class Session {
        private let ssl: OpaquePointer
        private let input: OpaquePointer  // ciphertext from the client, written by `feed`
        private let output: OpaquePointer  // ciphertext for the client, read by `takeOutput`

        enum Outcome: Equatable {
            case done(Int)
            /// OpenSSL needs more bytes from the client: `feed` them, then call again.
            case needInput
            case closed
            case failed(String)
        }

        fileprivate init(_ ssl: OpaquePointer) {
            self.ssl = ssl
            input = BIO_new(BIO_s_mem())
            output = BIO_new(BIO_s_mem())
            // An empty input BIO means "not yet" (retry), never end of stream.
            _ = cdctop_bio_set_mem_eof_retry(input)
            _ = cdctop_bio_set_mem_eof_retry(output)
            SSL_set_bio(ssl, input, output)  // the SSL now owns both BIOs
            SSL_set_accept_state(ssl)
        }

        deinit { SSL_free(ssl) }

        /// Bytes received from the socket.
        func feed(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            _ = BIO_write(input, base, Int32(bytes.count))
        }

        /// Moves what OpenSSL wrote for the client into `bytes` (appended); the caller sends it.
        func takeOutput(into bytes: inout [UInt8]) {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while BIO_ctrl_pending(output) > 0 {
                let n = chunk.withUnsafeMutableBytes { BIO_read(output, $0.baseAddress, Int32($0.count)) }
                if n <= 0 { break }
                bytes.append(contentsOf: chunk[0..<Int(n)])
            }
        }

        func handshake() -> Outcome {
            ERR_clear_error()
            let r = SSL_do_handshake(ssl)
            return r == 1 ? .done(0) : outcome(r)
        }

        /// Decrypted request bytes into `buffer`.
        func read(into buffer: inout [UInt8]) -> Outcome {
            ERR_clear_error()
            let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            return n > 0 ? .done(Int(n)) : outcome(n)
        }

        /// Encrypts all of `bytes` into the output BIO (a memory BIO takes everything at once).
        func write(_ bytes: [UInt8]) -> Outcome {
            guard !bytes.isEmpty else { return .done(0) }
            ERR_clear_error()
            let n = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            return n > 0 ? .done(Int(n)) : outcome(n)
        }

        /// Queues close_notify, so the client sees a clean end, not a truncation.
        func close() {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        }

        private func outcome(_ result: Int32) -> Outcome {
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ: return .needInput
            case SSL_ERROR_ZERO_RETURN: return .closed
            case SSL_ERROR_SYSCALL: return .failed("connection ended inside a TLS record")
            default: return .failed(MetricsTLS.openSSLErrors())
            }
        }
    }
}
