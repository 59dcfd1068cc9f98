/// JSON string content decoded in place, eight bytes at a time: the densest unsafe code in cdctop,
/// run on every kcat -J payload a replay reads. The unescaped form is never longer than the escaped
/// one, so the write index never passes the read index. Fuzzed against a plain byte-by-byte reference
/// (Tests/PipelineTests/FuzzUnescaper.swift, in the fuzz target and the regression tests).
package enum JSONStringUnescaper {
    /// Reads a JSON string's content starting at `from` (just after the opening quote) and decodes its
    /// escapes in place, from `from` on. Returns the index after the closing quote and the decoded
    /// length, or nil when the string is unterminated or has an invalid escape or a raw control byte.
    ///
    /// Eight bytes at a time: a 3 KB Debezium value in kcat -J has an escaped quote every few bytes,
    /// so the runs between escapes are found with a word-wide test rather than byte by byte.
    ///
    /// `marks`: see `unescapeRest`.
    @inline(__always)
    package static func unescapeString(
        _ p: UnsafeMutablePointer<UInt8>, from: Int, limit: Int,
        marks: UnsafeMutablePointer<UnescapeMemo.Marks>? = nil
    ) -> (next: Int, length: Int)? {
        let raw = UnsafeMutableRawPointer(p)
        var i = from
        // Until the first escape nothing moves.
        while true {
            if i + 8 <= limit {
                let m = specialBytes(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if m == 0 {
                    i += 8
                    continue
                }
                i += m.trailingZeroBitCount >> 3
            } else {
                while i < limit && !isSpecial(p[i]) { i += 1 }
                guard i < limit else { return nil }
            }
            let c = p[i]
            if c == 0x22 { return (i + 1, i - from) }
            if c == 0x5C { break }
            return nil
        }
        var d = i
        // Byte by byte until the output lags the input by a word (a few escapes in).
        while i &- d < 8 {
            guard i < limit else { return nil }
            let c = p[i]
            if c == 0x5C {
                guard let (read, written) = otherEscape(p, at: i, to: d, limit: limit) else { return nil }
                i = read
                d = written
                continue
            }
            if c == 0x22 { return (i + 1, d - from) }
            if c < 0x20 { return nil }
            p[d] = c
            d &+= 1
            i &+= 1
        }
        return unescapeRest(p, i: i, d: d, from: from, limit: limit, marks: marks)
    }

    /// The rest of `unescapeString` from input index `i` and output index `d` (with `d + 8 <= i`),
    /// at a clean point (not inside an escape). With `marks`, records (input, output) offsets from
    /// `from` at each clean word boundary, for `UnescapeMemo`.
    @inline(__always)
    static func unescapeRest(
        _ p: UnsafeMutablePointer<UInt8>, i start: Int, d out: Int, from: Int, limit: Int,
        marks: UnsafeMutablePointer<UnescapeMemo.Marks>?
    ) -> (next: Int, length: Int)? {
        let raw = UnsafeMutableRawPointer(p)
        var i = start
        var d = out
        // A word at a time: the next load never waits for this word's escapes, and every piece is
        // moved with one 8-byte store (it lands below the read position: d + 8 <= i holds from here).
        var escapedFirst = false  // the word's first byte is the second half of an escape
        while i &+ 8 <= limit {
            if let marks, !escapedFirst, i &- from <= UnescapeMemo.maximumKept {
                marks.pointee.append(input: i &- from, output: d &- from)
            }
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            var m = JSONScanner.stringSpecials(w)
            if escapedFirst { m &= ~0x80 }
            escapedFirst = false
            var pos = 0  // first byte of the word not yet moved
            while m != 0 {
                let t = m.trailingZeroBitCount &>> 3
                raw.storeBytes(of: w &>> UInt64(pos &<< 3), toByteOffset: d, as: UInt64.self)
                d &+= t &- pos
                let c = UInt8(truncatingIfNeeded: w &>> UInt64(t &<< 3))
                if c == 0x22 { return (i &+ t &+ 1, d &- from) }
                if c != 0x5C { return nil }
                let e = i &+ t
                guard e &+ 1 < limit else { return nil }
                // The escaped byte, from the word in hand when it is there (no reload behind the store).
                let x = t < 7 ? UInt8(truncatingIfNeeded: w &>> UInt64((t &+ 1) &<< 3)) : p[e &+ 1]
                if x == 0x22 {
                    // `\"`: the quote starts the next piece and is not the string's end.
                    pos = t &+ 1
                    m &= m &- 1
                    if t < 7 { m &= ~(UInt64(0x80) &<< UInt64(pos &<< 3)) } else { escapedFirst = true }
                } else {
                    guard let (read, written) = otherEscape(p, at: e, to: d, limit: limit) else { return nil }
                    d = written
                    pos = read &- i
                    if pos >= 8 { m = 0 } else { m &= ~((UInt64(1) &<< UInt64(pos &<< 3)) &- 1) }
                }
            }
            if pos < 8 {
                raw.storeBytes(of: w &>> UInt64(pos &<< 3), toByteOffset: d, as: UInt64.self)
                d &+= 8 &- pos
                i &+= 8
            } else {
                i &+= pos
            }
        }
        // The last few bytes.
        if escapedFirst {
            p[d] = p[i]
            d &+= 1
            i &+= 1
        }
        while i < limit {
            let c = p[i]
            if c == 0x5C {
                guard let (read, written) = otherEscape(p, at: i, to: d, limit: limit) else { return nil }
                i = read
                d = written
                continue
            }
            if c == 0x22 { return (i + 1, d - from) }
            if c < 0x20 { return nil }
            p[d] = c
            d &+= 1
            i &+= 1
        }
        return nil
    }

    /// The escape at `i` (a backslash), written at `d`: the indices after it, or nil when invalid.
    /// Out of line so the compiler keeps the common case a plain compare instead of a jump table.
    @inline(never)
    static func otherEscape(_ p: UnsafeMutablePointer<UInt8>, at i: Int, to d: Int, limit: Int) -> (
        read: Int, written: Int
    )? {
        guard i + 1 < limit else { return nil }
        let x = p[i + 1]
        if x == 0x5C || x == 0x2F || x == 0x22 {
            p[d] = x
            return (i + 2, d + 1)
        }
        if let decoded = controlEscape(x) {
            p[d] = decoded
            return (i + 2, d + 1)
        }
        guard x == UInt8(ascii: "u"), let (scalar, used) = unicodeEscape(p, at: i, limit: limit) else { return nil }
        // UTF-8 is at most 4 bytes and an escape at least 6: the write never passes the read.
        var w = d
        UTF8.encode(scalar) {
            p[w] = $0
            w += 1
        }
        return (i + used, w)
    }

    @inline(__always) static func isSpecial(_ c: UInt8) -> Bool { c == 0x22 || c == 0x5C || c < 0x20 }

    /// High bit set in each byte of `w` that is a quote, a backslash or below 0x20 (exact for the
    /// lowest such byte, which is all the callers use: borrows only run upwards).
    @inline(__always) static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let q = w ^ (ones &* 0x22)
        let b = w ^ (ones &* 0x5C)
        let quote = (q &- ones) & ~q
        let backslash = (b &- ones) & ~b
        let control = (w &- ones &* 0x20) & ~w
        return (quote | backslash | control) & (ones &* 0x80)
    }

    /// `\uXXXX` (or a surrogate pair of them) at `i`: the scalar and the bytes it spans.
    static func unicodeEscape(_ p: UnsafeMutablePointer<UInt8>, at i: Int, limit: Int) -> (Unicode.Scalar, Int)? {
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= limit else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                guard let d = JSONScanner.hexDigit(p[at + k]) else { return nil }
                v = v << 4 | d
            }
            return v
        }
        guard var scalar = hex4(i + 2) else { return nil }
        var used = 6
        if scalar >= 0xD800 && scalar < 0xDC00 {
            guard i + 12 <= limit, p[i + 6] == UInt8(ascii: "\\"), p[i + 7] == UInt8(ascii: "u"),
                let low = hex4(i + 8), low >= 0xDC00, low < 0xE000
            else { return nil }
            used = 12
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let u = Unicode.Scalar(scalar) else { return nil }
        return (u, used)
    }

    /// The control byte `\b` `\f` `\n` `\r` `\t` stand for.
    @inline(__always) static func controlEscape(_ x: UInt8) -> UInt8? {
        switch x {
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        default: return nil
        }
    }
}
