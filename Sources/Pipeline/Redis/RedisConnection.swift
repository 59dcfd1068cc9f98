import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A Redis failure in words a person can act on: hiredis's own `errstr` or the server's error
/// reply, plus what to check.
package struct RedisError: Error, CustomStringConvertible, Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable {
        case invalidURL, connect, io, closed, protocolError, auth, server
    }
    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// False when retrying cannot help until a person acts (wrong password, unknown user, a URL or port
    /// that is not Redis): callers retry those slowly, not in a tight backoff.
    package var isRetriable: Bool {
        switch kind {
        case .auth, .invalidURL, .protocolError: false
        case .connect, .io, .closed, .server: true
        }
    }
    package var description: String { message }
}

/// One reply, copied out of hiredis's reply tree before it is freed.
package enum RedisReply: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    case status(String)
    case error(String)

    /// Bulk or status text; integers as decimal text.
    package var text: String? {
        switch self {
        case .string(let s), .status(let s): s
        case .integer(let i): String(i)
        default: nil
        }
    }

    package var integer: Int64? {
        switch self {
        case .integer(let i): i
        case .string(let s): Int64(s)
        default: nil
        }
    }

    package var elements: [RedisReply] { if case .array(let a) = self { a } else { [] } }

    package var errorMessage: String? { if case .error(let e) = self { e } else { nil } }

    /// `HGETALL`'s flat field/value array as a dictionary.
    package var fieldValues: [String: String] {
        var out: [String: String] = [:]
        let a = elements
        var i = 0
        while i + 1 < a.count {
            if let k = a[i].text, let v = a[i + 1].text { out[k] = v }
            i += 2
        }
        return out
    }
}

/// Commands encoded in the Redis protocol (RESP) into one reusable byte buffer, so a whole
/// snapshot goes to hiredis in a single append and a single socket write.
package struct RedisCommandBuffer: Sendable {
    package private(set) var bytes: [UInt8] = []
    package private(set) var commandCount = 0

    package init() {}

    package mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        commandCount = 0
    }

    package mutating func append(_ arguments: String...) { append(arguments: arguments) }

    package mutating func append(arguments: [String]) {
        beginCommand(argumentCount: arguments.count)
        for a in arguments { appendArgument(a) }
    }

    /// Starts a command of `argumentCount` arguments; follow with exactly that many `appendArgument`.
    package mutating func beginCommand(argumentCount: Int) {
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(Int64(argumentCount))
        bytes.append(13)
        bytes.append(10)
        commandCount += 1
    }

    package mutating func appendArgument(_ argument: String) {
        var a = argument
        a.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "$"))
            appendDecimal(Int64(utf8.count))
            bytes.append(13)
            bytes.append(10)
            bytes.append(contentsOf: utf8)
            bytes.append(13)
            bytes.append(10)
        }
    }

    package mutating func appendArgument(_ value: Int64) { appendArgument(String(value)) }

    private mutating func appendDecimal(_ value: Int64) {
        if value < 10 && value >= 0 {
            bytes.append(UInt8(48 + value))
            return
        }
        bytes.append(contentsOf: String(value).utf8)
    }
}

/// One blocking connection to Redis over hiredis. Not shared between threads: the mirror creates
/// it on its own thread and drops it on the first I/O error (hiredis contexts are dead after one).
///
/// Timeouts: connect 1 s, every command 2 s. Writing to a socket Redis has closed would raise
/// SIGPIPE and kill the process, so creating a connection sets SIGPIPE to ignored (process-wide;
/// librdkafka and libpq want the same).
package final class RedisConnection {
    package let url: RedisURL
    private let context: UnsafeMutablePointer<redisContext>
    /// Replies owed for commands appended but not yet read.
    package private(set) var pendingReplies = 0
    /// Set after an I/O or protocol error: hiredis cannot use the context any more.
    package private(set) var isBroken = false

    package init(url: RedisURL, connectTimeoutSeconds: Double = 1, commandTimeoutSeconds: Double = 2) throws {
        signal(SIGPIPE, SIG_IGN)
        self.url = url
        guard
            let ctx = redisConnectWithTimeout(url.host, Int32(url.port), RedisConnection.timeout(connectTimeoutSeconds))
        else {
            throw RedisError(.connect, "cannot connect to Redis at \(url): hiredis could not allocate a context")
        }
        if ctx.pointee.err != 0 {
            let reason = RedisConnection.errorText(ctx)
            redisFree(ctx)
            throw RedisError(
                .connect,
                "cannot connect to Redis at \(url): \(reason); is redis-server running there and is the host:port in --redis right?"
            )
        }
        self.context = ctx
        _ = redisSetTimeout(ctx, RedisConnection.timeout(commandTimeoutSeconds))
        try handshake()
    }

    deinit { redisFree(context) }

    /// AUTH, SELECT and PING in one round trip; PING proves the other end speaks Redis.
    private func handshake() throws {
        var commands: [[String]] = []
        if let password = url.password {
            commands.append(url.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if url.database != 0 { commands.append(["SELECT", String(url.database)]) }
        commands.append(["PING"])
        for c in commands { appendCommand(c) }
        let replies = try getReplies()
        for (command, reply) in zip(commands, replies) {
            guard let message = reply.errorMessage else { continue }
            switch command[0] {
            case "AUTH":
                let who = url.username.map { "user \($0)" } ?? "the default user"
                throw RedisError(
                    .auth,
                    "Redis at \(url) refused the credentials of \(who): \(message); check the password (--redis-password-file, $\(RedisURL.passwordEnvironmentVariable) or redis://user:password@host:port/db)"
                )
            case "SELECT":
                throw RedisError(
                    .server,
                    "Redis at \(url) cannot select database \(url.database): \(message); use a database number below the server's `databases` setting"
                )
            default:
                if message.hasPrefix("NOAUTH") {
                    throw RedisError(
                        .auth,
                        "Redis at \(url) needs a password: \(message); give it with --redis-password-file FILE or $\(RedisURL.passwordEnvironmentVariable) (or redis://:PASSWORD@\(url))"
                    )
                }
                throw RedisError(.server, "Redis at \(url) answered PING with an error: \(message)")
            }
        }
    }

    /// Sends one command and waits for its reply; an error reply is thrown with the server's words.
    @discardableResult
    package func command(_ arguments: [String]) throws -> RedisReply {
        precondition(pendingReplies == 0, "read the pipelined replies before sending a single command")
        appendCommand(arguments)
        let reply = try nextReply()
        if let message = reply.errorMessage {
            throw RedisError(.server, "Redis at \(url) rejected \(arguments.first ?? "command"): \(message)")
        }
        return reply
    }

    @discardableResult
    package func command(_ arguments: String...) throws -> RedisReply { try command(arguments) }

    /// Queues one command in hiredis's output buffer; nothing is sent until replies are read.
    package func appendCommand(_ arguments: [String]) {
        var buffer = RedisCommandBuffer()
        buffer.append(arguments: arguments)
        append(buffer)
    }

    /// Queues every command of `buffer` at once (one copy into hiredis's output buffer).
    package func append(_ buffer: RedisCommandBuffer) {
        guard buffer.commandCount > 0 else { return }
        buffer.bytes.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                _ = redisAppendFormattedCommand(context, chars.baseAddress, chars.count)
            }
        }
        pendingReplies += buffer.commandCount
    }

    /// Flushes the queued commands and reads one reply per command, error replies included
    /// (they do not break the connection; the caller decides). I/O errors throw.
    package func getReplies() throws -> [RedisReply] {
        var replies: [RedisReply] = []
        replies.reserveCapacity(pendingReplies)
        while pendingReplies > 0 { replies.append(try nextReply()) }
        return replies
    }

    /// Reads the next reply: the answer to a queued command, or a pub/sub message after SUBSCRIBE.
    package func nextReply() throws -> RedisReply {
        if isBroken { throw RedisError(.closed, "the connection to Redis at \(url) was lost earlier; reconnect") }
        var raw: UnsafeMutableRawPointer?
        if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
            isBroken = true
            pendingReplies = 0
            throw ioError()
        }
        if pendingReplies > 0 { pendingReplies -= 1 }
        defer { freeReplyObject(raw) }
        return RedisConnection.copy(raw!.assumingMemoryBound(to: redisReply.self))
    }

    private func ioError() -> RedisError {
        let reason = RedisConnection.errorText(context)
        switch context.pointee.err {
        case REDIS_ERR_EOF:
            return RedisError(
                .closed,
                "Redis at \(url) closed the connection (\(reason)): server stopped, restarted or dropped this client")
        case REDIS_ERR_PROTOCOL:
            return RedisError(
                .protocolError,
                "\(url) does not speak the Redis protocol (hiredis: \(reason)); check the host and port in --redis")
        case REDIS_ERR_IO where errno == EAGAIN || errno == EWOULDBLOCK || reason.contains("temporarily unavailable"):
            return RedisError(
                .io,
                "no reply from \(url) within the timeout (hiredis: \(reason)); is it a Redis server, and is it overloaded?"
            )
        default:
            return RedisError(.io, "I/O error talking to Redis at \(url): \(reason)")
        }
    }

    private static func copy(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = r.pointee
        func text() -> String {
            guard let p = reply.str else { return "" }
            return p.withMemoryRebound(to: UInt8.self, capacity: reply.len) {
                String(decoding: UnsafeBufferPointer(start: $0, count: reply.len), as: UTF8.self)
            }
        }
        switch reply.type {
        case REDIS_REPLY_STRING: return .string(text())
        case REDIS_REPLY_STATUS: return .status(text())
        case REDIS_REPLY_ERROR: return .error(text())
        case REDIS_REPLY_INTEGER: return .integer(Int64(reply.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(reply.elements)
            for i in 0..<reply.elements {
                if let e = reply.element[i] { items.append(copy(e)) } else { items.append(.null) }
            }
            return .array(items)
        default: return .null
        }
    }

    private static func errorText(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            let s = String(decoding: bytes, as: UTF8.self)
            return s.isEmpty ? "unknown error" : s
        }
    }

    private static func timeout(_ seconds: Double) -> timeval {
        let whole = Int(seconds)
        return timeval(tv_sec: whole, tv_usec: Int(((seconds - Double(whole)) * 1_000_000).rounded()))
    }
}
