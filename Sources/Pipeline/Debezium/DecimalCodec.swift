import Metrics

/// Kafka Connect's decimal encodings, parsed exactly.
enum DecimalCodec {
    /// 0–63 for the standard base64 alphabet, 0xFF for anything else (also the recordings' decoder's table).
    static let base64Table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Base64 of the big-endian two's-complement unscaled integer (`org.apache.kafka.connect.data.Decimal`),
    /// validated strictly as Java's encoder writes it: the standard alphabet, a length that is a multiple
    /// of 4, at most two `=` and only at the end, and zero bits after the last byte.
    /// Nil when it is not such base64 or needs more than 128 bits.
    static func unscaledFromBase64(_ text: UnsafeRawBufferPointer) -> Int128? {
        let count = text.count
        guard count >= 4, count % 4 == 0 else { return nil }
        var n = count
        if text[n - 1] == UInt8(ascii: "=") {
            n -= 1
            if text[n - 1] == UInt8(ascii: "=") { n -= 1 }
        }
        let byteCount = n * 6 / 8
        guard byteCount >= 1 && byteCount <= 16 else { return nil }
        var value: Int128 = 0
        var bits: UInt32 = 0
        var bitCount = 0
        var produced = 0
        for i in 0..<n {
            let d = base64Table[Int(text[i])]
            if d == 0xFF { return nil }  // outside the alphabet, or `=` before the end
            bits = bits << 6 | UInt32(d)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                let b = UInt8(truncatingIfNeeded: bits >> UInt32(bitCount))
                if produced == 0 {
                    value = Int128(Int8(bitPattern: b))  // sign from the first byte
                } else {
                    value = value << 8 | Int128(b)
                }
                produced += 1
                bits &= (1 << UInt32(bitCount)) - 1
            }
        }
        // Left-over bits must be zero: `AB==` and `AA==` are not the same byte.
        guard produced == byteCount, bits == 0 else { return nil }
        return value
    }

    static func moneyFromBase64(_ text: UnsafeRawBufferPointer, scale: Int) -> Money? {
        guard let unscaled = unscaledFromBase64(text) else { return nil }
        return Money(unscaled: unscaled, scale: scale)
    }

    /// True for text that can only be a plain decimal (`59.97`, `-1`, `60`), not base64. Used only
    /// when no schema says which it is. Debezium's string mode writes plain notation (no exponent),
    /// and base64 has no `.` or `-` and a length that is a multiple of 4, so `1E34` is base64.
    static func looksLikeDecimalText(_ text: UnsafeRawBufferPointer) -> Bool {
        guard text.count > 0 else { return false }
        var sawSeparator = false
        for c in text {
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "-") {
                sawSeparator = true
            } else if !(c >= 48 && c <= 57) {
                return false
            }
        }
        return sawSeparator || text.count % 4 != 0
    }

    /// `NaN`, `Infinity`, `-Infinity`, `+Infinity` in any case: PostgreSQL's special NUMERIC values as
    /// Debezium's string mode writes them. They have no exact value, and `Infinity` is also 8 valid
    /// base64 characters, so without a schema they are refused by name.
    static func isSpecialNumberName(_ text: UnsafeRawBufferPointer) -> Bool {
        let n = text.count
        guard n == 3 || (n >= 8 && n <= 9) else { return false }
        func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c | 0x20 : c }
        func matches(_ word: StaticString, from: Int) -> Bool {
            guard n - from == word.utf8CodeUnitCount else { return false }
            for k in 0..<word.utf8CodeUnitCount where lower(text[from + k]) != word.utf8Start[k] { return false }
            return true
        }
        if matches("nan", from: 0) { return true }
        let signed = n == 9 && (text[0] == UInt8(ascii: "-") || text[0] == UInt8(ascii: "+"))
        return matches("infinity", from: signed ? 1 : 0)
    }

    static let outOfRange = "is out of range (max ±10^18)"

    /// Why decimal text did not become Money (cold path, for the malformed reason).
    static func whyNotMoney(_ text: UnsafeRawBufferPointer) -> String {
        if text.count == 0 { return "is empty, not a number" }
        // Plain syntax check: sign, digits with at most one point, optional exponent.
        var i = 0
        if text[0] == UInt8(ascii: "-") || text[0] == UInt8(ascii: "+") { i = 1 }
        var digits = 0
        var fraction = 0
        var point = false
        while i < text.count, (text[i] >= 48 && text[i] <= 57) || (text[i] == UInt8(ascii: ".") && !point) {
            if text[i] == UInt8(ascii: ".") {
                point = true
            } else {
                digits += 1
                if point { fraction += 1 }
            }
            i += 1
        }
        var exponent = 0
        if i < text.count, text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E") {
            i += 1
            var negative = false
            if i < text.count, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") {
                negative = text[i] == UInt8(ascii: "-")
                i += 1
            }
            var expDigits = 0
            while i < text.count, text[i] >= 48, text[i] <= 57 {
                exponent = min(exponent * 10 + Int(text[i] - 48), 100_000)
                expDigits += 1
                i += 1
            }
            if expDigits == 0 { return "is not a decimal number" }
            if negative { exponent = -exponent }
        }
        if digits == 0 || i != text.count { return "is not a decimal number" }
        if fraction - exponent > Money.scale {
            return "has more than \(Money.scale) decimal places (cdctop never rounds money)"
        }
        return outOfRange
    }

    /// Why an unscaled integer at `scale` did not become Money.
    static func whyNotMoney(unscaled: Int128, scale: Int) -> String {
        if scale > Money.scale { return "has more than \(Money.scale) decimal places (cdctop never rounds money)" }
        if scale < 0 { return "has a negative scale" }
        return outOfRange
    }

    /// `unscaled` × 10^-`scale` as exact decimal text, for reasons (never traps, even on Int128.min).
    static func describe(unscaled: Int128, scale: Int) -> String {
        var digits = String(unscaled.magnitude)
        let sign = unscaled < 0 ? "-" : ""
        guard scale > 0 else { return sign + digits + (scale < 0 ? "e\(-scale)" : "") }
        guard scale <= 60 else { return "\(sign)\(digits)e-\(scale)" }
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -scale)
        return sign + digits[..<cut] + "." + digits[cut...]
    }
}
