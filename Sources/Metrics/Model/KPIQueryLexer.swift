/// The tokens of a KPI query (the SQL subset of `[kpi.NAME] sql`). Positions are byte offsets into
/// the query's UTF-8, turned into profile-file lines and columns only when an error is reported.

/// A problem in one KPI query, located by byte offsets into its text.
struct QueryError: Error {
    var start: Int
    var end: Int
    var message: String
    /// True when the error is at the end of the text (nothing to quote).
    var atEnd = false
    init(_ message: String, start: Int, end: Int, atEnd: Bool = false) {
        self.message = message
        self.start = start
        self.end = max(start, end)
        self.atEnd = atEnd
    }
}

struct QueryToken {
    enum Kind: Equatable {
        /// An unquoted identifier or keyword, as written.
        case word(String)
        /// A `"double quoted"` or `` `backticked` `` identifier, unescaped: never a keyword.
        case quotedIdentifier(String)
        case number(String)
        case string(String)
        /// `, . ( ) * + - / % = <> != < <= > >= ;`
        case symbol(String)
        case end
    }
    var kind: Kind
    var start: Int
    var end: Int

    /// Whether this is the keyword `lowercase` (keywords are case-insensitive; quoted names never are keywords).
    func isKeyword(_ lowercase: String) -> Bool {
        guard case .word(let w) = kind, w.utf8.count == lowercase.utf8.count else { return false }
        return asciiLowercased(w) == lowercase
    }

    func isSymbol(_ s: String) -> Bool {
        if case .symbol(let x) = kind { return x == s }
        return false
    }

    /// The keyword's lowercase form, for unquoted words.
    var keyword: String? {
        if case .word(let w) = kind { return asciiLowercased(w) }
        return nil
    }
}

func asciiLowercased(_ s: String) -> String {
    var bytes = Array(s.utf8)
    for i in bytes.indices where bytes[i] >= 65 && bytes[i] <= 90 { bytes[i] += 32 }
    return String(decoding: bytes, as: UTF8.self)
}

enum QueryLimits {
    /// Bytes of one query: far above any real KPI, low enough that hostile text stays cheap.
    static let maxQueryBytes = 65_536
    /// Characters of one identifier (SQL Server's limit; PostgreSQL and MySQL allow fewer).
    static let maxIdentifierLength = 128
    /// Nesting of parentheses, `not`, unary minus, function arguments and `case` while parsing: the
    /// parser is recursive, so this bounds its stack.
    static let maxNesting = 64
    /// Depth of an expression tree (left-deep `a + b + c …` chains included): evaluation, printing
    /// and releasing a tree recurse on it.
    static let maxTreeDepth = 256
    static let maxJoins = 32
}

enum QueryLexer {
    static func tokens(_ text: [UInt8]) throws(QueryError) -> [QueryToken] {
        guard text.count <= QueryLimits.maxQueryBytes else {
            throw QueryError("the query is longer than \(QueryLimits.maxQueryBytes) bytes", start: 0, end: 0)
        }
        var out: [QueryToken] = []
        var i = 0
        let n = text.count
        func isIdentifierStart(_ c: UInt8) -> Bool {
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80
        }
        func isIdentifierPart(_ c: UInt8) -> Bool { isIdentifierStart(c) || (c >= 48 && c <= 57) || c == 36 }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func checkLength(_ bytes: ArraySlice<UInt8>, start: Int, end: Int) throws(QueryError) {
            // Characters, not bytes: count the bytes that start a UTF-8 sequence.
            var chars = 0
            for b in bytes where b & 0xC0 != 0x80 { chars += 1 }
            if chars > QueryLimits.maxIdentifierLength {
                throw QueryError(
                    "identifier longer than \(QueryLimits.maxIdentifierLength) characters", start: start, end: end)
            }
        }
        while i < n {
            let c = text[i]
            // Whitespace and comments.
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 12 {
                i += 1
                continue
            }
            if c == UInt8(ascii: "-") && i + 1 < n && text[i + 1] == UInt8(ascii: "-") {
                while i < n && text[i] != 10 { i += 1 }
                continue
            }
            if c == UInt8(ascii: "/") && i + 1 < n && text[i + 1] == UInt8(ascii: "*") {
                let start = i
                i += 2
                while i + 1 < n && !(text[i] == UInt8(ascii: "*") && text[i + 1] == UInt8(ascii: "/")) { i += 1 }
                guard i + 1 < n else { throw QueryError("unterminated /* comment", start: start, end: start + 2) }
                i += 2
                continue
            }
            let start = i
            if isIdentifierStart(c) {
                while i < n && isIdentifierPart(text[i]) { i += 1 }
                try checkLength(text[start..<i], start: start, end: i)
                out.append(
                    QueryToken(kind: .word(String(decoding: text[start..<i], as: UTF8.self)), start: start, end: i))
                continue
            }
            if isDigit(c) || (c == UInt8(ascii: ".") && i + 1 < n && isDigit(text[i + 1])) {
                while i < n && isDigit(text[i]) { i += 1 }
                if i < n && text[i] == UInt8(ascii: ".") {
                    i += 1
                    while i < n && isDigit(text[i]) { i += 1 }
                }
                if i < n && (text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E")) {
                    var j = i + 1
                    if j < n && (text[j] == UInt8(ascii: "+") || text[j] == UInt8(ascii: "-")) { j += 1 }
                    if j < n && isDigit(text[j]) {
                        i = j
                        while i < n && isDigit(text[i]) { i += 1 }
                    }
                }
                if i < n && (isIdentifierPart(text[i]) || text[i] == UInt8(ascii: ".")) {
                    while i < n && (isIdentifierPart(text[i]) || text[i] == UInt8(ascii: ".")) { i += 1 }
                    throw QueryError("malformed number", start: start, end: i)
                }
                out.append(
                    QueryToken(kind: .number(String(decoding: text[start..<i], as: UTF8.self)), start: start, end: i))
                continue
            }
            if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") || c == UInt8(ascii: "`") {
                // '' (or "" / ``) inside stands for one quote character.
                var value: [UInt8] = []
                i += 1
                var closed = false
                while i < n {
                    if text[i] == c {
                        if i + 1 < n && text[i + 1] == c {
                            value.append(c)
                            i += 2
                            continue
                        }
                        i += 1
                        closed = true
                        break
                    }
                    value.append(text[i])
                    i += 1
                }
                guard closed else {
                    let what = c == UInt8(ascii: "'") ? "string literal" : "quoted identifier"
                    throw QueryError("unterminated \(what)", start: start, end: min(n, start + 1))
                }
                let s = String(decoding: value, as: UTF8.self)
                if c == UInt8(ascii: "'") {
                    out.append(QueryToken(kind: .string(s), start: start, end: i))
                } else {
                    if value.isEmpty { throw QueryError("empty quoted identifier", start: start, end: i) }
                    try checkLength(value[...], start: start, end: i)
                    out.append(QueryToken(kind: .quotedIdentifier(s), start: start, end: i))
                }
                continue
            }
            let next: UInt8 = i + 1 < n ? text[i + 1] : 0
            var symbol: String
            switch c {
            case UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"),
                UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "%"), UInt8(ascii: "="),
                UInt8(ascii: ";"):
                symbol = String(UnicodeScalar(c))
            case UInt8(ascii: "<"):
                symbol = next == UInt8(ascii: "=") ? "<=" : next == UInt8(ascii: ">") ? "<>" : "<"
            case UInt8(ascii: ">"):
                symbol = next == UInt8(ascii: "=") ? ">=" : ">"
            case UInt8(ascii: "!") where next == UInt8(ascii: "="):
                symbol = "!="
            case UInt8(ascii: "|") where next == UInt8(ascii: "|"):
                throw QueryError("'||' (string concatenation) is not supported", start: start, end: start + 2)
            case UInt8(ascii: ":") where next == UInt8(ascii: ":"):
                throw QueryError(
                    "'::' casts are not supported: cdctop reads numbers, text and booleans as they come", start: start,
                    end: start + 2)
            default:
                // Show the whole character, not a lone byte of it.
                var end = i + 1
                while end < n && text[end] & 0xC0 == 0x80 { end += 1 }
                throw QueryError("unexpected character", start: start, end: end)
            }
            i += symbol.utf8.count
            out.append(QueryToken(kind: .symbol(symbol), start: start, end: i))
        }
        out.append(QueryToken(kind: .end, start: n, end: n))
        return out
    }
}
