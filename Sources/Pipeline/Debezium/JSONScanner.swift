/// A name's UTF-8 bytes in storage its owner keeps alive (the decoder's profile column names):
/// trivially copyable, so matching keys against it retains nothing.
struct ColumnName {
    let start: UnsafePointer<UInt8>
    let count: Int
}

/// A forward-only JSON scanner over borrowed bytes. It validates structure while skipping
/// values and hands out byte ranges instead of building values, so decoding a Debezium
/// message allocates nothing for the parts cdctop does not need (most of it: the schema).
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    let count: Int
    var index: Int = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        // An empty buffer has a nil base address; point at a static byte so reads are never invalid.
        self.base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? JSONScanner.emptyByte
        self.count = buffer.count
    }

    nonisolated(unsafe) private static let emptyByte: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    @inline(__always) var atEnd: Bool { index >= count }
    @inline(__always) func byte(at i: Int) -> UInt8 { base[i] }

    @inline(__always) mutating func skipWhitespace() {
        while index < count {
            let c = base[index]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 } else { return }
        }
    }

    /// Consumes `c` after optional whitespace.
    @inline(__always) mutating func consume(_ c: UInt8) -> Bool {
        skipWhitespace()
        if index < count && base[index] == c {
            index += 1
            return true
        }
        return false
    }

    @inline(__always) mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < count ? base[index] : nil
    }

    /// Reads a string token; returns the range of its raw content (between the quotes) and whether it
    /// contains escapes. The scanner must be at the opening quote (after whitespace).
    @inline(__always) mutating func readString() -> (range: Range<Int>, escaped: Bool)? {
        skipWhitespace()
        guard index < count, base[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        var i = start
        var escaped = false
        while i < count {
            i = skipPlainStringBytes(from: i)
            guard i < count else { break }
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                index = i + 1
                return (start..<i, escaped)
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                i += 2
                continue
            }
            if c < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    /// High bit set in exactly the bytes of `w` that end or escape a JSON string's plain run: a quote,
    /// a backslash, or a control byte below 0x20. (kcat -J recordings are unescaped with it too.)
    @inline(__always) static func stringSpecials(_ w: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func zeroBytes(_ x: UInt64) -> UInt64 { ~(((x & low7) &+ low7) | x | low7) }
        return zeroBytes(w ^ 0x2222_2222_2222_2222) | zeroBytes(w ^ 0x5C5C_5C5C_5C5C_5C5C)
            | zeroBytes(w & 0xE0E0_E0E0_E0E0_E0E0)
    }

    /// Eight bytes at a time, the index of the first quote, backslash or control byte at or after
    /// `start` (or of the last < 8 bytes, left to the caller's byte loop): string contents are mostly
    /// plain text. On little-endian machines the count of trailing zero bits locates the first one.
    @inline(__always) func skipPlainStringBytes(from start: Int) -> Int {
        var i = start
        while i &+ 8 <= count {
            let special = JSONScanner.stringSpecials(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            if special != 0 {
                #if _endian(little)
                    return i &+ (special.trailingZeroBitCount &>> 3)
                #else
                    return i
                #endif
            }
            i &+= 8
        }
        return i
    }

    /// The common integer in one pass: 1…18 digits (no sign) not followed by another number byte
    /// (`0-9 . e E + -`). nil, with the cursor left where it was, for anything else: the caller then
    /// takes the general path (`readNumber` and a checked parse). 18 digits cannot overflow Int64.
    @inline(__always) mutating func readPlainInteger() -> Int64? {
        skipWhitespace()
        let start = index
        var i = start
        var v: Int64 = 0
        while i < count && i &- start < 18 {
            let d = base[i] &- 48
            if d > 9 { break }
            v = v &* 10 &+ Int64(d)
            i &+= 1
        }
        guard i > start else { return nil }
        if i < count {
            let c = base[i]
            if (c >= 48 && c <= 57) || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
            {
                return nil
            }
        }
        index = i
        return v
    }

    /// Reads a number token's raw range (validated loosely: sign, digits, fraction, exponent).
    @inline(__always) mutating func readNumber() -> Range<Int>? {
        skipWhitespace()
        let start = index
        var i = index
        if i < count && base[i] == UInt8(ascii: "-") { i += 1 }
        var digits = 0
        // Whole words of eight digits first (ts_us, ts_ns, lsn…): every byte's high nibble is 3 and
        // adding 6 to it carries into no high nibble (low nibble ≤ 9).
        let highNibbles: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        let threes: UInt64 = 0x3030_3030_3030_3030
        while i &+ 8 <= count {
            let x = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            guard x & highNibbles == threes, (x &+ 0x0606_0606_0606_0606) & highNibbles == threes else { break }
            digits &+= 8
            i &+= 8
        }
        while i < count {
            let c = base[i]
            if c >= 48 && c <= 57 {
                digits += 1
                i += 1
            } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
            {
                i += 1
            } else {
                break
            }
        }
        if digits == 0 { return nil }
        index = i
        return start..<i
    }

    /// Matches a literal such as `null`, `true`, `false`.
    @inline(__always) mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        skipWhitespace()
        let n = literal.utf8CodeUnitCount
        guard index + n <= count else { return false }
        let p = literal.utf8Start
        for k in 0..<n where base[index + k] != p[k] { return false }
        index += n
        return true
    }

    /// Skips one value of any kind, validating nesting. Returns false on malformed input.
    mutating func skipValue() -> Bool {
        skipWhitespace()
        guard index < count else { return false }
        let c = base[index]
        switch c {
        case UInt8(ascii: "\""): return readString() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["): return skipContainer()
        case UInt8(ascii: "t"): return consumeLiteral("true")
        case UInt8(ascii: "f"): return consumeLiteral("false")
        case UInt8(ascii: "n"): return consumeLiteral("null")
        default: return readNumber() != nil
        }
    }

    /// Skips an object or array by counting brackets outside strings: one tight loop, no recursion.
    private mutating func skipContainer() -> Bool {
        var depth = 0
        var i = index
        while i < count {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                while i < count {
                    i = skipPlainStringBytes(from: i)
                    guard i < count else { break }
                    let s = base[i]
                    if s == UInt8(ascii: "\"") { break }
                    i += (s == UInt8(ascii: "\\")) ? 2 : 1
                }
                if i >= count { return false }
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 {
                    index = i + 1
                    return true
                }
                if depth < 0 { return false }
            }
            i += 1
        }
        return false
    }

    /// Iterates the members of the object at the cursor. `body` gets the key's raw range and must
    /// consume the member's value (or return false to abort). Returns false on malformed input.
    mutating func forEachMember(_ body: (inout JSONScanner, Range<Int>) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        while true {
            guard let key = readString(), consume(UInt8(ascii: ":")) else { return false }
            if !body(&self, key.range) { return false }
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "}"))
        }
    }

    /// True when the raw bytes in `range` equal `literal` exactly.
    @inline(__always) func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard range.count == n else { return false }
        let p = literal.utf8Start
        for k in 0..<n where base[range.lowerBound + k] != p[k] { return false }
        return true
    }

    /// True when the raw bytes in `range` equal a profile column name: the length first, then bytes in
    /// line (names are short: a call to memcmp costs more than the loop).
    @inline(__always) func equals(_ range: Range<Int>, _ name: ColumnName) -> Bool {
        let n = name.count
        guard range.count == n else { return false }
        let p = base + range.lowerBound
        var k = 0
        while k < n {
            if p[k] != name.start[k] { return false }
            k += 1
        }
        return true
    }

    @inline(__always) func equals(_ range: Range<Int>, _ bytes: [UInt8]) -> Bool {
        guard range.count == bytes.count else { return false }
        return bytes.withUnsafeBufferPointer { b in
            memcmp(base + range.lowerBound, b.baseAddress!, b.count) == 0
        }
    }

    func raw(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// The raw bytes of `range` as text (cold path: names in error messages).
    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: base + range.lowerBound, count: range.count), as: UTF8.self)
    }

    func string(_ range: Range<Int>, escaped: Bool) -> String? {
        let bytes = UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
        if !escaped { return String(decoding: bytes, as: UTF8.self) }
        return JSONScanner.unescape(bytes)
    }

    /// Decodes JSON string escapes (`\n`, `\"`, `\u00e9`, surrogate pairs).
    static func unescape(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        unescapeBytes(bytes).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Decodes JSON string escapes into UTF-8 bytes.
    /// The value of one hexadecimal digit (0-9, A-F, a-f), for `\uXXXX` escapes.
    @inline(__always) static func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case 48...57: UInt32(c - 48)
        case 65...70: UInt32(c - 55)
        case 97...102: UInt32(c - 87)
        default: nil
        }
    }

    static func unescapeBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                guard let d = JSONScanner.hexDigit(bytes[at + k]) else { return nil }
                v = v << 4 | d
            }
            return v
        }
        while i < bytes.count {
            let c = bytes[i]
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { return nil }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(i) else { return nil }
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
                        let low = hex4(i + 2), low >= 0xDC00, low < 0xE000
                    else { return nil }
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { return nil }
                UTF8.encode(u) { out.append($0) }
            default: return nil
            }
        }
        return out
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
