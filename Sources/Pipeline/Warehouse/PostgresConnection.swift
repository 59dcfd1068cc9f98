import CLibpq

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL failure, with the server's own words, the statement (never the data) and what to do.
package struct WarehouseError: Error, Sendable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        /// Nothing answered at host:port (refused, timeout, unknown host).
        case unreachable
        /// The server refused the credentials.
        case authentication
        /// TLS could not be set up: the server's certificate failed verification (wrong CA, wrong host
        /// name), or the server has no TLS while `sslmode` requires it.
        case tls
        /// The database named in the URL does not exist.
        case missingDatabase
        /// `cdctop` schema or one of its tables is missing (SQLSTATE 3F000 / 42P01).
        case missingSchema
        /// The role lacks a privilege (SQLSTATE 42501).
        case permission
        /// Another cdctop already writes this pipeline (it holds the pipeline's advisory lock).
        case busy
        /// Any other statement error (syntax in a configured query, constraint…).
        case query
        /// The connection broke during a statement.
        case connectionLost
        /// A result had an unexpected shape (wrong column count, unparsable number).
        case badResult
        /// cdctop refused the write: it would replace windows it must not (`warehouse seed` on real data).
        case wouldOverwrite
    }

    package var kind: Kind
    /// PQerrorMessage or PQresultErrorField(PG_DIAG_MESSAGE_PRIMARY).
    package var message: String
    package var sqlState: String?
    package var detail: String?
    package var hint: String?
    /// The statement text (parameters are never included).
    package var sql: String?
    /// What the user should do about it.
    package var advice: String

    package init(
        kind: Kind, message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil,
        sql: String? = nil, advice: String
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.sql = sql
        self.advice = advice
    }

    /// True when retrying later may succeed (the server went away), false when a human must act.
    package var isRetriable: Bool { kind == .unreachable || kind == .connectionLost }

    /// Wrong credentials or a TLS setup that fails: retrying cannot help until a person acts, so callers
    /// retry slowly (every 30 s) instead of in a tight backoff.
    package var needsPerson: Bool { kind == .authentication || kind == .tls }

    package var description: String {
        var text = "PostgreSQL: \(message)"
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        if let detail, !detail.isEmpty { text += "; detail: \(detail)" }
        if let hint, !hint.isEmpty { text += "; hint: \(hint)" }
        if let sql { text += "; in: \(PostgresConnection.oneLine(sql))" }
        if !advice.isEmpty { text += " — \(advice)" }
        return text
    }

    /// The first line of the message plus the advice: for a one-line status bar.
    package var shortDescription: String {
        let first = message.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? message
        return advice.isEmpty ? first : "\(first) — \(advice)"
    }
}

/// Rows of a text-format result, copied out of the PGresult before it is cleared.
package struct QueryRows: Sendable {
    package var columnNames: [String]
    /// `rows[i][j]` is nil for SQL NULL.
    package var rows: [[String?]]
    /// PQcmdTuples: rows affected by INSERT/UPDATE/DELETE, 0 otherwise.
    package var affectedRows: Int

    package var count: Int { rows.count }
}

/// One libpq connection. Not thread-safe by design: each worker owns its own and keeps it on its thread.
/// Every statement goes through PQexecParams with text parameters; SQL is never assembled from data.
package final class PostgresConnection {
    private let handle: OpaquePointer
    /// host:port for messages, without the password.
    package let endpoint: String

    /// Connects with a `postgresql://` URL or a `key=value` connection string. Adds `connect_timeout=5`
    /// unless the string sets one, so an unreachable host fails in seconds rather than minutes.
    package init(_ connectionString: String, applicationName: String = "cdctop") throws(WarehouseError) {
        var keys = ["dbname", "application_name"]
        var values = [connectionString, applicationName]
        if !connectionString.contains("connect_timeout") {
            keys.append("connect_timeout")
            values.append("5")
        }
        let conn: OpaquePointer? = PostgresConnection.withCStrings(keys) { keyPointers in
            PostgresConnection.withCStrings(values) { valuePointers in
                PQconnectdbParams(keyPointers, valuePointers, 1)
            }
        }
        guard let conn else {
            throw WarehouseError(
                kind: .unreachable, message: "libpq could not allocate a connection",
                advice: "the process is out of memory")
        }
        if PQstatus(conn) != CONNECTION_OK {
            let message = PostgresConnection.trimmed(String(cString: PQerrorMessage(conn)))
            let where_ = PostgresConnection.describeEndpoint(conn)
            PQfinish(conn)
            throw PostgresConnection.classifyConnectFailure(message, endpoint: where_)
        }
        handle = conn
        endpoint = PostgresConnection.describeEndpoint(conn)
        // Warnings (NOTICE: schema already exists) would go to stderr and tear the curses screen.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    package var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs one statement with text parameters (nil = NULL). `types` are parameter type OIDs (0 = infer);
    /// give them when a query may leave a parameter unused.
    @discardableResult
    package func execute(_ sql: String, _ parameters: [String?] = [], types: [UInt32] = []) throws(WarehouseError)
        -> QueryRows
    {
        let result: OpaquePointer? = PostgresConnection.withOptionalCStrings(parameters) { parameterPointers in
            if types.isEmpty {
                return PQexecParams(handle, sql, Int32(parameters.count), nil, parameterPointers, nil, nil, 0)
            }
            return types.map { Oid($0) }.withUnsafeBufferPointer { typeBuffer in
                PQexecParams(
                    handle, sql, Int32(parameters.count), typeBuffer.baseAddress, parameterPointers, nil, nil, 0)
            }
        }
        guard let result else {
            throw failure(nil, sql: sql)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresConnection.copyRows(result)
        default:
            throw failure(result, sql: sql)
        }
    }

    /// Runs `body` inside BEGIN/COMMIT; rolls back when it throws (if the connection is still there).
    package func transaction<T>(_ body: () throws(WarehouseError) -> T) throws(WarehouseError) -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isConnected { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Quotes a table or column name from the profile (not data) with PQescapeIdentifier.
    /// `schema.table` is quoted part by part.
    package func quoteQualifiedIdentifier(_ name: String) throws(WarehouseError) -> String {
        var quoted: [String] = []
        for part in name.split(separator: ".", omittingEmptySubsequences: false) {
            let text = String(part)
            guard !text.isEmpty else {
                throw WarehouseError(
                    kind: .query, message: "empty identifier in \"\(name)\"",
                    advice: "check the table and column names in the profile")
            }
            guard let escaped = PQescapeIdentifier(handle, text, text.utf8.count) else {
                throw WarehouseError(
                    kind: .query, message: PostgresConnection.trimmed(String(cString: PQerrorMessage(handle))),
                    advice: "check the table and column names in the profile")
            }
            quoted.append(String(cString: escaped))
            PQfreemem(escaped)
        }
        return quoted.joined(separator: ".")
    }

    // MARK: - Errors

    private func failure(_ result: OpaquePointer?, sql: String) -> WarehouseError {
        func field(_ code: Int32) -> String? {
            guard let result, let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let state = field(Int32(UInt8(ascii: "C")))  // PG_DIAG_SQLSTATE
        let primary = field(Int32(UInt8(ascii: "M")))  // PG_DIAG_MESSAGE_PRIMARY
        let detail = field(Int32(UInt8(ascii: "D")))  // PG_DIAG_MESSAGE_DETAIL
        let hint = field(Int32(UInt8(ascii: "H")))  // PG_DIAG_MESSAGE_HINT
        let connectionMessage = PostgresConnection.trimmed(String(cString: PQerrorMessage(handle)))
        let message = primary ?? (connectionMessage.isEmpty ? "statement failed" : connectionMessage)
        if PQstatus(handle) != CONNECTION_OK || (state == nil && result == nil) {
            return WarehouseError(
                kind: .connectionLost, message: message, sqlState: state, sql: sql,
                advice: "lost the connection to PostgreSQL at \(endpoint); will reconnect")
        }
        switch state {
        case "42P01", "3F000":
            return WarehouseError(
                kind: .missingSchema, message: message, sqlState: state, detail: detail, hint: hint,
                sql: sql, advice: "run `cdctop warehouse init --warehouse URL` to create the cdctop schema")
        case "42501":
            return WarehouseError(
                kind: .permission, message: message, sqlState: state, detail: detail, hint: hint,
                sql: sql,
                advice:
                    "grant the role USAGE on schema cdctop and SELECT, INSERT, UPDATE, DELETE on its tables (or CREATE on the database for `warehouse init`)"
            )
        case let s? where s.hasPrefix("08") || s.hasPrefix("57P"):
            return WarehouseError(
                kind: .connectionLost, message: message, sqlState: state, detail: detail, hint: hint,
                sql: sql, advice: "PostgreSQL at \(endpoint) went away; will reconnect")
        case "42703", "42883", "42601", "42804":
            return WarehouseError(
                kind: .query, message: message, sqlState: state, detail: detail, hint: hint, sql: sql,
                advice: "check the query and the column names configured in the profile")
        default:
            return WarehouseError(
                kind: .query, message: message, sqlState: state, detail: detail, hint: hint, sql: sql,
                advice: "")
        }
    }

    static func classifyConnectFailure(_ message: String, endpoint: String) -> WarehouseError {
        let lower = message.lowercased()
        if lower.contains("certificate verify failed") || lower.contains("root certificate file")
            || lower.contains("server does not support ssl") || lower.contains("ssl error")
            || lower.contains("does not match host name") || lower.contains("ssl connection is required")
            || (lower.contains("certificate") && lower.contains("does not exist"))
        {
            return WarehouseError(
                kind: .tls, message: message,
                advice:
                    "TLS to \(endpoint) failed: check sslrootcert (the CA that signed the server's certificate), the host name the certificate names (sslmode=verify-full), and that the server has ssl=on; not retried fast"
            )
        }
        if lower.contains("password authentication failed") || lower.contains("no password supplied")
            || lower.contains("authentication failed")
        {
            return WarehouseError(
                kind: .authentication, message: message,
                advice:
                    "check the password for \(endpoint): ~/.pgpass (or the file $PGPASSFILE names, mode 0600), $PGPASSWORD, or the service in $PGSERVICEFILE; not retried fast"
            )
        }
        if lower.contains("no pg_hba.conf entry") || lower.contains("pg_hba.conf rejects") {
            let encryption =
                lower.contains("no encryption")
                ? " (it accepts only TLS here: add sslmode=verify-full and sslrootcert=CA.pem)" : ""
            return WarehouseError(
                kind: .authentication, message: message,
                advice:
                    "pg_hba.conf on \(endpoint) does not admit this user, database or connection type\(encryption); not retried fast"
            )
        }
        if lower.contains("database") && lower.contains("does not exist") {
            return WarehouseError(
                kind: .missingDatabase, message: message,
                advice: "create the database first (createdb) or fix the database name in the URL")
        }
        if lower.contains("role") && lower.contains("does not exist") {
            return WarehouseError(
                kind: .authentication, message: message,
                advice: "check the user name in the URL; that role does not exist on \(endpoint)")
        }
        if lower.contains("invalid")
            && (lower.contains("uri") || lower.contains("connection option") || lower.contains("missing \"=\""))
        {
            return WarehouseError(
                kind: .query, message: message,
                advice: "write the warehouse as postgresql://user:password@host:port/database or key=value pairs")
        }
        return WarehouseError(
            kind: .unreachable, message: message,
            advice: "is PostgreSQL running on \(endpoint)? check host and port in the URL")
    }

    /// A connection string with its password masked, either form: `postgresql://u:***@h/db?password=***`
    /// or `host=h password=*** dbname=d`. For screens, logs and errors.
    package static func redactedConnectionString(_ text: String) -> String {
        if text.contains("://") {
            var out = CurlHTTP.redacted(text)
            // A password given as a query parameter: ?password=… or &password=…
            for marker in ["?password=", "&password="] {
                guard let start = out.range(of: marker) else { continue }
                let end = out[start.upperBound...].firstIndex(of: "&") ?? out.endIndex
                out = String(out[..<start.upperBound]) + "***" + String(out[end...])
            }
            return out
        }
        // keyword=value pairs; a value may be single-quoted with backslash escapes.
        guard let start = text.range(of: "password") else { return text }
        var index = start.upperBound
        while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
        guard index < text.endIndex, text[index] == "=" else { return text }
        index = text.index(after: index)
        while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
        let valueStart = index
        if index < text.endIndex, text[index] == "'" {
            index = text.index(after: index)
            while index < text.endIndex, text[index] != "'" {
                if text[index] == "\\" {
                    index = text.index(after: index)
                    if index == text.endIndex { break }
                }
                index = text.index(after: index)
            }
            if index < text.endIndex { index = text.index(after: index) }
        } else {
            while index < text.endIndex, !text[index].isWhitespace { index = text.index(after: index) }
        }
        return String(text[..<valueStart]) + "***" + redactedConnectionString(String(text[index...]))
    }

    private static func describeEndpoint(_ conn: OpaquePointer) -> String {
        let host = PQhost(conn).map { String(cString: $0) } ?? ""
        let port = PQport(conn).map { String(cString: $0) } ?? ""
        if host.isEmpty && port.isEmpty { return "the configured host" }
        if host.hasPrefix("/") { return "socket \(host) port \(port.isEmpty ? "5432" : port)" }
        return "\(host.isEmpty ? "localhost" : host):\(port.isEmpty ? "5432" : port)"
    }

    // MARK: - Helpers

    private static func copyRows(_ result: OpaquePointer) -> QueryRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var names: [String] = []
        names.reserveCapacity(columnCount)
        for c in 0..<columnCount { names.append(PQfname(result, Int32(c)).map { String(cString: $0) } ?? "") }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [String?] = []
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            rows.append(row)
        }
        let affected = PQcmdTuples(result).map { Int(String(cString: $0)) ?? 0 } ?? 0
        return QueryRows(columnNames: names, rows: rows, affectedRows: affected)
    }

    static func trimmed(_ s: String) -> String {
        var text = Substring(s)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }

    static func oneLine(_ sql: String) -> String {
        sql.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let storage = strings.map { strdup($0) }
        defer { for p in storage { free(p) } }
        var pointers: [UnsafePointer<CChar>?] = storage.map { UnsafePointer($0) }
        pointers.append(nil)  // PQconnectdbParams stops at the first NULL key
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    private static func withOptionalCStrings<R>(
        _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        if strings.isEmpty { return body(nil) }
        let storage: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
        defer { for p in storage { free(p) } }
        let pointers: [UnsafePointer<CChar>?] = storage.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
