import Metrics

/// Avro values as Kafka Connect's JsonConverter writes them, for the cold paths (heartbeats, schema
/// changes, nested columns kept as text) and for values whose JSON text the JSON path parses
/// (floats, bytes as base64).
enum AvroText {
    /// A float's text as Java's `Float.toString` / `Double.toString` (JDK 19 and later) writes it, which
    /// is what JsonConverter (Jackson) puts in the message: the shortest decimal that reads back as the
    /// same value (Swift's `description` finds the same digits), written `59.97`, `12.0`, `1.0E7`,
    /// `1.0E-4`; NaN and infinities as Jackson writes them (quoted strings, handled by the callers).
    static func java<F: BinaryFloatingPoint & CustomStringConvertible>(_ v: F) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
        if v == 0 { return v.sign == .minus ? "-0.0" : "0.0" }
        let s = Array(v.description.utf8)
        var i = 0
        var negative = false
        if s[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        var digits: [UInt8] = []
        var pointAt: Int? = nil
        var exponent = 0
        while i < s.count {
            let c = s[i]
            if c >= 48 && c <= 57 {
                digits.append(c)
            } else if c == UInt8(ascii: ".") {
                pointAt = digits.count
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                i += 1
                var expNegative = false
                if i < s.count && (s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+")) {
                    expNegative = s[i] == UInt8(ascii: "-")
                    i += 1
                }
                while i < s.count {
                    exponent = exponent * 10 + Int(s[i] &- 48)
                    i += 1
                }
                if expNegative { exponent = -exponent }
                break
            }
            i += 1
        }
        var intDigits = pointAt ?? digits.count
        while let f = digits.first, f == UInt8(ascii: "0") {
            digits.removeFirst()
            intDigits -= 1
        }
        while let l = digits.last, l == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return negative ? "-0.0" : "0.0" }
        // value = 0.DIGITS × 10^e10
        let e10 = intDigits + exponent
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        if e10 >= -2 && e10 <= 7 {
            // 10^-3 <= |v| < 10^7: plain notation, at least one digit after the point.
            if e10 <= 0 {
                out += [UInt8(ascii: "0"), UInt8(ascii: ".")]
                out += [UInt8](repeating: UInt8(ascii: "0"), count: -e10)
                out += digits
            } else {
                let whole = min(e10, digits.count)
                out += digits[0..<whole]
                if digits.count < e10 { out += [UInt8](repeating: UInt8(ascii: "0"), count: e10 - digits.count) }
                out.append(UInt8(ascii: "."))
                if digits.count > e10 { out += digits[e10...] } else { out.append(UInt8(ascii: "0")) }
            }
        } else {
            out.append(digits[0])
            out.append(UInt8(ascii: "."))
            if digits.count > 1 { out += digits[1...] } else { out.append(UInt8(ascii: "0")) }
            out.append(UInt8(ascii: "E"))
            out += Array(String(e10 - 1).utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Standard base64 with padding, as Java's encoder (and so JsonConverter) writes bytes.
    static func base64(_ bytes: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        JSONBytes.appendBase64(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// One whole value as a JSONValue, the way JsonConverter would have written it (cold path).
    static func value(_ r: inout AvroReader, _ node: Int32, _ schema: AvroSchema) throws(AvroStop) -> JSONValue {
        let n = schema.nodes[Int(node)]
        switch n.kind {
        case .null: return .null
        case .boolean: return .bool(try r.boolean())
        case .int: return .number(String(try r.int()))
        case .long: return .number(String(try r.long()))
        case .float:
            let f = Float(bitPattern: try r.fixed32())
            return f.isFinite ? .number(java(f)) : .string(java(f))
        case .double:
            let d = Double(bitPattern: try r.fixed64())
            return d.isFinite ? .number(java(d)) : .string(java(d))
        case .string:
            let c = try r.length()
            let at = r.pos
            let (s, bad) = r.string(at, c)
            guard let s else { throw AvroReader.stop("string is not valid UTF-8", at: bad) }
            r.pos += c
            return .string(s)
        case .bytes:
            let c = try r.length()
            defer { r.pos += c }
            return .string(base64(r.raw(r.pos, c)))
        case .fixed:
            let at = r.pos
            try r.skipBytes(n.size)
            return .string(base64(r.raw(at, n.size)))
        case .enumeration:
            let at = r.pos
            let i = try r.long()
            guard i >= 0 && i < Int64(n.symbols.count) else {
                throw AvroReader.stop("enum index \(i) is out of range", at: at)
            }
            return .string(n.symbols[Int(i)])
        case .union:
            return try value(&r, try r.branch(n), schema)
        case .record:
            var members: [(key: String, value: JSONValue)] = []
            for f in n.fields { members.append((f.name, try value(&r, f.type, schema))) }
            return .object(members)
        case .array, .map:
            let itemMin = schema.nodes[Int(n.items)].minSize + (n.kind == .map ? 1 : 0)
            var items: [JSONValue] = []
            var members: [(key: String, value: JSONValue)] = []
            while true {
                let c = try r.blockCount(itemMinSize: itemMin)
                if c == 0 { break }
                for _ in 0..<c {
                    if n.kind == .map {
                        let k = try r.length()
                        let (s, bad) = r.string(r.pos, k)
                        guard let s else { throw AvroReader.stop("map key is not valid UTF-8", at: bad) }
                        r.pos += k
                        members.append((s, try value(&r, n.items, schema)))
                    } else {
                        items.append(try value(&r, n.items, schema))
                    }
                }
            }
            return n.kind == .map ? .object(members) : .array(items)
        }
    }

    /// Compact JSON text as Jackson writes it (`{"a":1,"b":[true,null]}`), for nested values kept as text.
    static func json(_ v: JSONValue, into out: inout String) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                json(item, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                quote(m.key, into: &out)
                out += ":"
                json(m.value, into: &out)
            }
            out += "}"
        }
    }

    /// Jackson's string escaping: `"`, `\`, and control characters (short forms for \b \t \n \f \r).
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\u{0C}": out += "\\f"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
