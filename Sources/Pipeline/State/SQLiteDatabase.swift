import CSQLite
import Foundation
import Metrics

/// An error from SQLite, with its result code and message.
struct SQLiteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var context: String

    /// SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged or is not a database at all.
    var isCorruption: Bool { code & 0xFF == SQLITE_CORRUPT || code & 0xFF == SQLITE_NOTADB }
    var description: String { "\(context): \(message) (SQLite code \(code))" }
}

/// One SQLite connection. Owns the `sqlite3*` handle and every statement prepared on it; no
/// pointer leaves this type. Used by one thread at a time (the store serialises access).
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    let path: String

    /// `readOnly`: the connection cannot write the database (a viewer of another process's state).
    init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw SQLiteError(code: rc, message: message, context: "opening \(path)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 2_000)
    }

    deinit { close() }

    func close() {
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    private func check(_ rc: Int32, _ context: @autoclosure () -> String) throws {
        guard rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw SQLiteError(
                code: rc, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed", context: context())
        }
    }

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw SQLiteError(code: rc, message: message, context: "running \(sql.prefix(60))")
        }
    }

    private var statements: [String: Statement] = [:]

    /// A prepared statement, cached by its SQL text.
    func statement(_ sql: String) throws -> Statement {
        if let s = statements[sql] { return s }
        var stmt: OpaquePointer?
        try check(
            sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil),
            "preparing \(sql.prefix(60))")
        let s = Statement(stmt!, database: self, sql: sql)
        statements[sql] = s
        return s
    }

    /// Rows of a query, each as its columns (small queries: meta, pragmas).
    func rows(_ sql: String) throws -> [[Value]] {
        let s = try statement(sql)
        var out: [[Value]] = []
        try s.forEachRow { row in out.append((0..<row.count).map { row.value($0) }) }
        return out
    }

    enum Value: Equatable {
        case null
        case integer(Int64)
        case text(String)
        case blob([UInt8])
        var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
        var text: String? {
            switch self {
            case .text(let s): s
            case .integer(let v): String(v)
            default: nil
            }
        }
    }

    /// A prepared statement: bind by position (1-based), step, reset. Owned by its database.
    final class Statement {
        private let stmt: OpaquePointer
        private unowned let database: SQLiteDatabase
        let sql: String

        init(_ stmt: OpaquePointer, database: SQLiteDatabase, sql: String) {
            self.stmt = stmt
            self.database = database
            self.sql = sql
        }
        deinit { sqlite3_finalize(stmt) }

        func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(stmt, index, value) }
        func bind(_ index: Int32, _ value: String) {
            sqlite3_bind_text(stmt, index, value, -1, cdctop_sqlite_transient())
        }
        func bindNull(_ index: Int32) { sqlite3_bind_null(stmt, index) }
        func bind(_ index: Int32, blob: [UInt8]) {
            _ = blob.withUnsafeBytes {
                sqlite3_bind_blob(stmt, index, $0.baseAddress, Int32(blob.count), cdctop_sqlite_transient())
            }
        }

        /// Money as an integer of 10^-9 units when it fits 64 bits, else its units as decimal text.
        func bind(_ index: Int32, units: Int128) {
            if let small = Int64(exactly: units) { bind(index, small) } else { bind(index, String(units)) }
        }

        /// Integer keys as INTEGER, text keys as TEXT: SQLite keeps 5 and '5' apart.
        func bind(_ index: Int32, key: RowKey) {
            switch key {
            case .int(let v): bind(index, v)
            case .text(let s): bind(index, s)
            }
        }

        /// Runs a statement that returns no rows, then resets it.
        func run() throws {
            defer {
                sqlite3_reset(stmt)
                sqlite3_clear_bindings(stmt)
            }
            let rc = sqlite3_step(stmt)
            guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
                throw SQLiteError(
                    code: rc, message: String(cString: sqlite3_errmsg(sqlite3_db_handle(stmt))),
                    context: "running \(sql.prefix(60))")
            }
        }

        func forEachRow(_ body: (Row) throws -> Void) throws {
            defer {
                sqlite3_reset(stmt)
                sqlite3_clear_bindings(stmt)
            }
            while true {
                let rc = sqlite3_step(stmt)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else {
                    throw SQLiteError(
                        code: rc, message: String(cString: sqlite3_errmsg(sqlite3_db_handle(stmt))),
                        context: "reading \(sql.prefix(60))")
                }
                try body(Row(stmt: stmt))
            }
        }
    }

    /// The current row of a statement; valid only inside `forEachRow`'s body.
    struct Row {
        fileprivate let stmt: OpaquePointer
        var count: Int32 { sqlite3_column_count(stmt) }
        func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
        func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
        func text(_ i: Int32) -> String {
            guard let p = sqlite3_column_text(stmt, i) else { return "" }
            return String(cString: p)
        }
        func blob(_ i: Int32) -> [UInt8] {
            let n = Int(sqlite3_column_bytes(stmt, i))
            guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: n))
        }
        /// Money units written by `bind(_:units:)`; nil when the column holds something else.
        func units(_ i: Int32) -> Int128? {
            switch sqlite3_column_type(stmt, i) {
            case SQLITE_INTEGER: return Int128(sqlite3_column_int64(stmt, i))
            case SQLITE_TEXT: return Int128(text(i))
            default: return nil
            }
        }
        func key(_ i: Int32) -> RowKey? {
            switch sqlite3_column_type(stmt, i) {
            case SQLITE_INTEGER: return .int(sqlite3_column_int64(stmt, i))
            case SQLITE_TEXT: return .text(text(i))
            default: return nil
            }
        }
        func value(_ i: Int32) -> Value {
            switch sqlite3_column_type(stmt, i) {
            case SQLITE_INTEGER: return .integer(sqlite3_column_int64(stmt, i))
            case SQLITE_TEXT: return .text(text(i))
            case SQLITE_NULL: return .null
            default:
                let n = Int(sqlite3_column_bytes(stmt, i))
                guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return .blob([]) }
                return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
            }
        }
    }
}
