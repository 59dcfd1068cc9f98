import Foundation

/// Where the Redis mirror writes: `redis://[[user]:password@]host[:port][/database]`.
///
/// Follows `redis-cli -u`: a user-info part without a colon is the password, `user:pass` is an ACL
/// user (Redis 6+), percent-escapes are decoded, IPv6 hosts go in brackets. Port defaults to 6379
/// and the database to 0.
package struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var password: String?
    package var username: String?
    package var database: Int

    package init(
        host: String = "127.0.0.1", port: Int = 6379, password: String? = nil,
        username: String? = nil, database: Int = 0
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.username = username
        self.database = database
    }

    package init(parsing text: String) throws {
        func invalid(_ why: String) -> RedisError {
            RedisError(
                .invalidURL,
                "invalid Redis URL \"\(RedisURL.redacted(text))\": \(why); expected redis://[[user]:password@]host[:port][/database], e.g. redis://127.0.0.1:6379/0"
            )
        }
        var rest = Substring(text.trimmingCharactersInWhitespace())
        if let schemeEnd = rest.range(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            if scheme == "rediss" { throw RedisError(.invalidURL, RedisURL.noTLSAdvice(RedisURL.redacted(text))) }
            guard scheme == "redis" else {
                throw invalid("scheme \"\(scheme)\" is not supported (TLS and unix sockets are not)")
            }
            rest = rest[schemeEnd.upperBound...]
        }
        // Query parameters (`?db=1`, timeouts…): only `db` is meaningful here.
        var queryDatabase: Int?
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == "db" {
                    guard let n = Int(parts[1]), n >= 0 else {
                        throw invalid("db=\(parts[1]) is not a database number")
                    }
                    queryDatabase = n
                }
            }
            rest = rest[..<q]
        }
        var user: String?
        var pass: String?
        if let at = rest.lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                let u = RedisURL.percentDecoded(info[..<colon])
                user = u.isEmpty ? nil : u
                pass = RedisURL.percentDecoded(info[info.index(after: colon)...])
            } else if !info.isEmpty {
                pass = RedisURL.percentDecoded(info)
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let n = Int(path), n >= 0 else { throw invalid("\"/\(path)\" is not a database number") }
                database = n
            }
            rest = rest[..<slash]
        }
        if let q = queryDatabase { database = q }
        var host = "127.0.0.1"
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unclosed [ in IPv6 host") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else {
                    throw invalid("bad port after IPv6 host")
                }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: colon)...]) else {
                throw invalid("\"\(rest[rest.index(after: colon)...])\" is not a port number")
            }
            port = p
            if colon > rest.startIndex { host = String(rest[..<colon]) }
        } else if !rest.isEmpty {
            host = String(rest)
        }
        guard (1...65535).contains(port) else { throw invalid("port \(port) is out of range 1-65535") }
        self.init(host: host, port: port, password: pass, username: user, database: database)
    }

    /// Why `rediss://` is refused and what to do instead. Debian's hiredis 0.14 (the one cdctop links)
    /// has no TLS; a local stunnel client gives the same protection without a second Redis library.
    static func noTLSAdvice(_ url: String) -> String {
        "\(url): TLS to Redis (rediss://) is not supported: this build's hiredis 0.14 has no TLS. Run a local TLS tunnel "
            + "instead (stunnel client mode: accept = 127.0.0.1:16380, connect = redis.example:6380, CAfile = ca.pem, "
            + "verifyChain = yes) and point --redis at redis://127.0.0.1:16380; see \"Configuration, secrets and TLS\" in docs/operations.md"
    }

    /// The environment variable redis-cli reads a password from; cdctop reads it the same way.
    package static let passwordEnvironmentVariable = "REDISCLI_AUTH"

    /// The URL with its password filled in when it has none (or an empty one, as in `redis://alice:@host`
    /// to name an ACL user): from `passwordFile` (its first line), else from `$REDISCLI_AUTH`.
    /// A password written in the URL wins, as in redis-cli.
    package func resolvingPassword(
        file passwordFile: String?,
        environment: [String: String]
    ) throws(RedisError) -> RedisURL {
        if let password, !password.isEmpty { return self }
        var resolved = self
        if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile) else {
                throw RedisError(
                    .invalidURL,
                    "cannot read the Redis password file \(passwordFile) (--redis-password-file): no such file or no permission"
                )
            }
            let firstLine =
                String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first
                ?? ""
            let text = String(firstLine.hasSuffix("\r") ? firstLine.dropLast() : firstLine)
            guard !text.isEmpty else {
                throw RedisError(
                    .invalidURL, "the Redis password file \(passwordFile) is empty: its first line must be the password"
                )
            }
            resolved.password = text
        } else if let fromEnvironment = environment[RedisURL.passwordEnvironmentVariable], !fromEnvironment.isEmpty {
            resolved.password = fromEnvironment
        } else if password?.isEmpty == true {
            resolved.password = nil
            if username != nil {
                throw RedisError(
                    .invalidURL,
                    "the Redis URL names user \(username!) but no password: give it with --redis-password-file FILE or $\(RedisURL.passwordEnvironmentVariable)"
                )
            }
        }
        return resolved
    }

    /// `host:port/db`, never the password: safe for the status bar and logs.
    package var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(h):\(port)/\(database)"
    }

    /// The URL with the password replaced by `***`.
    package var redactedURL: String {
        var auth = ""
        if username != nil || password != nil {
            auth = (username ?? "") + (password != nil ? ":***" : "") + "@"
        }
        return "redis://\(auth)\(description)"
    }

    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        let schemeEnd = text.range(of: "://")?.upperBound ?? text.startIndex
        guard schemeEnd <= at else { return text }
        let info = text[schemeEnd..<at]
        let user = info.firstIndex(of: ":").map { String(info[..<$0]) } ?? ""
        return String(text[..<schemeEnd]) + user + ":***" + String(text[at...])
    }

    static func percentDecoded(_ s: Substring) -> String {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2,
                let hi = hexValue(it[it.startIndex]), let lo = hexValue(it[it.startIndex + 1])
            {
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }
}

extension String {
    fileprivate func trimmingCharactersInWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
