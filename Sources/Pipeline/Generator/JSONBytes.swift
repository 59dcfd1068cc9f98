import Metrics

/// Appending JSON pieces straight into a byte buffer: the generator writes a few hundred thousand
/// 3 KB messages per second, so it never goes through `String` interpolation or a JSON encoder.
extension Array where Element == UInt8 {
    mutating func appendASCII(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(UInt64(value.magnitude))
        } else {
            appendDecimal(UInt64(value))
        }
    }

    mutating func appendDecimal(_ value: UInt64) {
        let start = count
        var rest = value
        repeat {
            append(UInt8(truncatingIfNeeded: rest % 10) &+ 48)
            rest /= 10
        } while rest > 0
        self[start...].reverse()
    }

    /// Exactly `width` digits, zero padded (for timestamps).
    mutating func appendPadded(_ value: Int64, width: Int) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            append(UInt8(truncatingIfNeeded: rest / divisor) &+ 48)
            rest %= divisor
            divisor /= 10
        }
    }

    /// A JSON string with the escapes JSON requires (yajl's set: `"` `\` `\b` `\f` `\n` `\r` `\t`,
    /// other control bytes as `\u00XX` with upper-case hex, `/` left alone). Other bytes are copied.
    /// Sized first, then written in place: a 3 KB Debezium value has hundreds of quotes to escape.
    mutating func appendJSONString(_ bytes: UnsafeRawBufferPointer) {
        var length = bytes.count + 2
        for byte in bytes where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            switch byte {
            case 0x22, 0x5C, 0x08, 0x0C, 0x0A, 0x0D, 0x09: length += 1
            default: length += 5
            }
        }
        let start = count
        append(contentsOf: repeatElement(0, count: length))
        withUnsafeMutableBufferPointer { all in
            let out = UnsafeMutableBufferPointer(rebasing: all[start...])
            var o = 0
            out[o] = 0x22
            o += 1
            for byte in bytes {
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C {
                    out[o] = byte
                    o += 1
                    continue
                }
                out[o] = 0x5C
                o += 1
                switch byte {
                case 0x22, 0x5C: out[o] = byte
                case 0x08: out[o] = UInt8(ascii: "b")
                case 0x0C: out[o] = UInt8(ascii: "f")
                case 0x0A: out[o] = UInt8(ascii: "n")
                case 0x0D: out[o] = UInt8(ascii: "r")
                case 0x09: out[o] = UInt8(ascii: "t")
                default:
                    out[o] = UInt8(ascii: "u")
                    out[o + 1] = 0x30
                    out[o + 2] = 0x30
                    out[o + 3] = JSONBytes.upperHexDigit(byte >> 4)
                    out[o + 4] = JSONBytes.upperHexDigit(byte & 0x0F)
                    o += 4
                }
                o += 1
            }
            out[o] = 0x22
        }
    }

    mutating func appendJSONString(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { appendJSONString($0) }
    }

    mutating func appendJSONString(_ text: String) {
        var text = text
        text.withUTF8 { appendJSONString(UnsafeRawBufferPointer($0)) }
    }
}

package enum JSONBytes {
    static func upperHexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? nibble + 0x30 : nibble - 10 + 0x41 }
    static let base64Alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Kafka Connect's `Decimal` logical type as JsonConverter writes it: base64 of the unscaled value's
    /// minimal big-endian two's-complement bytes (Java's `BigInteger.toByteArray`), e.g. 100050 → "AYbS",
    /// -1 → "/w==", 0 → "AA==". Appends the quoted string.
    static func appendPreciseDecimal(unscaled: Int64, to out: inout [UInt8]) {
        // Minimal two's complement: drop leading bytes that only repeat the sign.
        var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            let bigEndian = UInt64(bitPattern: unscaled).bigEndian
            withUnsafeBytes(of: bigEndian) { raw.copyMemory(from: $0) }
            var start = 0
            while start < 7 {
                let byte = raw[start]
                let next = raw[start + 1]
                let redundant = (byte == 0x00 && next & 0x80 == 0) || (byte == 0xFF && next & 0x80 != 0)
                if !redundant { break }
                start += 1
            }
            out.append(UInt8(ascii: "\""))
            appendBase64(UnsafeRawBufferPointer(rebasing: raw[start...]), to: &out)
            out.append(UInt8(ascii: "\""))
        }
    }

    /// Standard base64 with padding; also the dashboard's OSC 52 clipboard text.
    package static func appendBase64(_ input: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var i = 0
        let n = input.count
        while i + 3 <= n {
            let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(base64Alphabet[Int(v >> 18 & 63)])
            out.append(base64Alphabet[Int(v >> 12 & 63)])
            out.append(base64Alphabet[Int(v >> 6 & 63)])
            out.append(base64Alphabet[Int(v & 63)])
            i += 3
        }
        let rest = n - i
        if rest == 1 {
            let v = UInt32(input[i]) << 16
            out.append(base64Alphabet[Int(v >> 18 & 63)])
            out.append(base64Alphabet[Int(v >> 12 & 63)])
            out.appendASCII("==")
        } else if rest == 2 {
            let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(base64Alphabet[Int(v >> 18 & 63)])
            out.append(base64Alphabet[Int(v >> 12 & 63)])
            out.append(base64Alphabet[Int(v >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
    }

    /// `io.debezium.time.ZonedTimestamp` for a `timestamptz(6)` column: `2026-11-22T11:33:15.730660Z`.
    static func appendZonedTimestamp(epochMicros: Int64, to out: inout [UInt8]) {
        let (seconds, micros) = floorDivide(epochMicros, 1_000_000)
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let (year, m, d) = TimeText.civil(fromDays: days)
        let (month, day) = (Int64(m), Int64(d))
        out.append(UInt8(ascii: "\""))
        out.appendPadded(year, width: 4)
        out.append(UInt8(ascii: "-"))
        out.appendPadded(month, width: 2)
        out.append(UInt8(ascii: "-"))
        out.appendPadded(day, width: 2)
        out.append(UInt8(ascii: "T"))
        out.appendPadded(secondOfDay / 3600, width: 2)
        out.append(UInt8(ascii: ":"))
        out.appendPadded(secondOfDay / 60 % 60, width: 2)
        out.append(UInt8(ascii: ":"))
        out.appendPadded(secondOfDay % 60, width: 2)
        out.append(UInt8(ascii: "."))
        out.appendPadded(micros, width: 6)
        out.appendASCII("Z\"")
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, r)
    }
}
