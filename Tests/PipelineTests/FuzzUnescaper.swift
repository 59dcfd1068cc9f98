// The differential check of the replay's in-place JSON string unescaper (Sources/Pipeline/Replay/
// JSONStringUnescaper.swift, eight bytes at a time, and the per-topic UnescapeMemo that reuses the
// decoding of a repeated prefix) against a plain byte-by-byte reference written from RFC 8259.
// Shared by the libFuzzer target (scripts/fuzz compiles this file into it) and the regression tests.
import Pipeline

/// JSON string content decoded the obvious way, one byte at a time, into a new array.
enum ReferenceUnescaper {
    /// Decodes `bytes` from `from` (just after an opening quote) up to the closing quote: the index
    /// after that quote and the decoded bytes; nil for an unterminated string, a raw byte below 0x20,
    /// an unknown escape, bad hex, or a `\u` surrogate that is not a high-low pair.
    static func unescape(_ bytes: UnsafeRawBufferPointer, from: Int) -> (next: Int, decoded: [UInt8])? {
        var out: [UInt8] = []
        var i = from
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { return (i + 1, out) }
            if c < 0x20 { return nil }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { return nil }
            switch bytes[i + 1] {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let high = hex4(bytes, at: i + 2) else { return nil }
                var value = high
                var length = 6
                if high >= 0xD800 && high <= 0xDBFF {
                    guard i + 7 < bytes.count, bytes[i + 6] == UInt8(ascii: "\\"), bytes[i + 7] == UInt8(ascii: "u"),
                        let low = hex4(bytes, at: i + 8), low >= 0xDC00 && low <= 0xDFFF
                    else { return nil }
                    value = 0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00)
                    length = 12
                }
                guard let scalar = Unicode.Scalar(value) else { return nil }  // a lone low surrogate
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
                i += length
                continue
            default:
                return nil
            }
            i += 2
        }
        return nil
    }

    private static func hex4(_ bytes: UnsafeRawBufferPointer, at start: Int) -> UInt32? {
        guard start + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for byte in bytes[start..<start + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value * 16 + UInt32(digit)
        }
        return value
    }

    /// `bytes` as the content of a JSON string, the way kcat -J and other writers do it, with variety:
    /// quote, backslash and control bytes escaped (short forms where JSON has them), `/` as `\/`, and
    /// odd non-ASCII scalars of valid UTF-8 as `\uXXXX` (surrogate pairs above U+FFFF).
    static func escape(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 4)
        func hex(_ v: UInt32) {
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
            for shift in stride(from: 12, through: 0, by: -4) {
                out.append(Array("0123456789abcdef".utf8)[Int((v >> UInt32(shift)) & 0xF)])
            }
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x2F: out.append(contentsOf: [0x5C, 0x2F])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20: hex(UInt32(c))
            case 0x80...:
                // One scalar of valid UTF-8, escaped when odd; anything else is copied as it is.
                let length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2
                if i + length <= bytes.count,
                    let text = String(validating: bytes[i..<i + length], as: UTF8.self),
                    let scalar = text.unicodeScalars.first, text.unicodeScalars.count == 1, scalar.value & 1 == 1
                {
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        hex(0xD800 + (v >> 10))
                        hex(0xDC00 + (v & 0x3FF))
                    } else {
                        hex(scalar.value)
                    }
                    i += length
                    continue
                }
                out.append(c)
            default: out.append(c)
            }
            i += 1
        }
        return out
    }
}

enum UnescaperDifferential {
    /// Runs `content` (the bytes after an opening quote) through the reference, the in-place unescaper
    /// and `memo` (kept per topic across messages, as a replay does); returns how they disagreed.
    /// Each in-place run works on an exact-size copy, so AddressSanitizer sees any read past the end.
    static func check(_ content: UnsafeRawBufferPointer, memo: inout UnescapeMemo, what: String) -> [String] {
        let expected = ReferenceUnescaper.unescape(content, from: 0)
        var violations: [String] = []
        for useMemo in [false, true] {
            let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, content.count))
            defer { copy.deallocate() }
            if let base = content.baseAddress {
                copy.initialize(from: base.assumingMemoryBound(to: UInt8.self), count: content.count)
            }
            let result =
                useMemo
                ? memo.unescape(copy, from: 0, limit: content.count)
                : JSONStringUnescaper.unescapeString(copy, from: 0, limit: content.count)
            let name = useMemo ? "UnescapeMemo.unescape" : "JSONStringUnescaper.unescapeString"
            switch (result, expected) {
            case (nil, nil):
                break
            case (let r?, let e?):
                let decoded = Array(UnsafeBufferPointer(start: copy, count: max(0, min(r.length, content.count))))
                if r.next != e.next || r.length != e.decoded.count || decoded != e.decoded {
                    violations.append(
                        "\(name) on \(what): next \(r.next), \(r.length) bytes \(decoded.prefix(64)); the reference: next \(e.next), \(e.decoded.count) bytes \(e.decoded.prefix(64))"
                    )
                }
            case (let r?, nil):
                violations.append(
                    "\(name) on \(what) decoded \(r.length) bytes up to \(r.next), the reference refused the string")
            case (nil, let e?):
                violations.append("\(name) on \(what) refused a string the reference decodes up to \(e.next)")
            }
        }
        return violations
    }

    /// The differential on `value` taken as string content as it is (mostly refused early, which the
    /// fuzzer then mutates), and on `value` escaped as a writer would, closed with a quote and followed
    /// by a few bytes: that must decode to `value` exactly. One memo per form, so that consecutive
    /// values of a topic that share a prefix (Debezium's schema block) take the memo's reuse path.
    static func check(
        value: UnsafeRawBufferPointer, rawMemo: inout UnescapeMemo, escapedMemo: inout UnescapeMemo
    ) -> [String] {
        var violations = check(value, memo: &rawMemo, what: "the raw value")
        var escaped = ReferenceUnescaper.escape(value)
        let closing = escaped.count
        escaped.append(contentsOf: Array("\",\"ts\":1}".utf8))
        violations += escaped.withUnsafeBytes { check($0, memo: &escapedMemo, what: "the escaped value") }
        let roundTrip = escaped.withUnsafeBytes { ReferenceUnescaper.unescape($0, from: 0) }
        if roundTrip?.next != closing + 1 || roundTrip?.decoded.elementsEqual(value) != true {
            violations.append("the reference does not decode the escaped value back to the value")
        }
        return violations
    }
}
