/// Standard base64 (RFC 4648 alphabet, padding optional), decoded in place: four characters become
/// at most three bytes, so the write never passes the read.
enum Base64InPlace {
    enum Outcome {
        case decoded(Int)
        /// Offset of the offending character from the start, and what is wrong.
        case invalid(at: Int, why: StaticString)
    }

    static func decode(_ p: UnsafeMutablePointer<UInt8>, from: Int, count: Int) -> Outcome {
        var n = count
        // Padding: at most two '=' at the end of a whole group of four.
        if n > 0 && p[from + n - 1] == UInt8(ascii: "=") {
            guard n % 4 == 0 else {
                return .invalid(at: n - 1, why: "padding '=' where the length is not a multiple of 4")
            }
            n -= 1
            if p[from + n - 1] == UInt8(ascii: "=") { n -= 1 }
        }
        if n % 4 == 1 {
            return .invalid(at: n - 1, why: "a lone last character (the length is one more than a multiple of 4)")
        }
        return DecimalCodec.base64Table.withUnsafeBufferPointer { t -> Outcome in
            var i = from
            var d = from
            let whole = from + n - n % 4
            while i < whole {
                let a = t[Int(p[i])]
                let b = t[Int(p[i + 1])]
                let c = t[Int(p[i + 2])]
                let e = t[Int(p[i + 3])]
                if (a | b | c | e) & 0x80 != 0 { return invalidCharacter(p, t, i, from) }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(e)
                p[d] = UInt8(truncatingIfNeeded: v >> 16)
                p[d + 1] = UInt8(truncatingIfNeeded: v >> 8)
                p[d + 2] = UInt8(truncatingIfNeeded: v)
                i += 4
                d += 3
            }
            let rest = n % 4
            if rest > 0 {
                var v: UInt32 = 0
                for k in 0..<rest {
                    let x = t[Int(p[i + k])]
                    if x & 0x80 != 0 { return invalidCharacter(p, t, i, from) }
                    v |= UInt32(x) << (18 - 6 * UInt32(k))
                }
                p[d] = UInt8(truncatingIfNeeded: v >> 16)
                d += 1
                if rest == 3 {
                    p[d] = UInt8(truncatingIfNeeded: v >> 8)
                    d += 1
                }
            }
            return .decoded(d - from)
        }
    }

    private static func invalidCharacter(
        _ p: UnsafeMutablePointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>, _ group: Int, _ from: Int
    ) -> Outcome {
        var i = group
        while t[Int(p[i])] != 0xFF { i += 1 }
        return .invalid(
            at: i - from,
            why: p[i] == UInt8(ascii: "=") ? "'=' before the end" : "a character outside the base64 alphabet")
    }
}
