import Metrics

/// Kafka Connect's decimal encodings, parsed exactly.
enum DecimalCodec {
    private static let base64Table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Base64 of the big-endian two's-complement unscaled integer (`org.apache.kafka.connect.data.Decimal`).
    /// Nil when it is not base64 or needs more than 128 bits.
    static func unscaledFromBase64(_ text: UnsafeRawBufferPointer) -> Int128? {
        var n = text.count
        while n > 0 && text[n - 1] == UInt8(ascii: "=") { n -= 1 }
        guard n > 0, text.count % 4 == 0 || text.count == n else { return nil }
        let byteCount = n * 6 / 8
        guard byteCount >= 1 && byteCount <= 16 else { return nil }
        var value: Int128 = 0
        var bits: UInt32 = 0
        var bitCount = 0
        var produced = 0
        for i in 0..<n {
            let d = base64Table[Int(text[i])]
            if d == 0xFF { return nil }
            bits = bits << 6 | UInt32(d)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                let b = UInt8(truncatingIfNeeded: bits >> UInt32(bitCount))
                if produced == 0 {
                    value = Int128(Int8(bitPattern: b)) // sign from the first byte
                } else {
                    value = value << 8 | Int128(b)
                }
                produced += 1
                bits &= (1 << UInt32(bitCount)) - 1
            }
        }
        return produced == byteCount ? value : nil
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
}
