/// An exact decimal number: `units × 10^-scale`, with `scale` in 0…38, kept normalised (no trailing
/// zero digits in `units` while `scale > 0`), so equal numbers are equal values and hash alike
/// (`1.50` and `1.5` group together).
///
/// Profile expressions compute with it: integer, decimal and float columns alike, the float ones
/// parsed from Debezium's decimal text, never through a Double. Every operation is checked and
/// returns nil instead of trapping or rounding.
public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    public private(set) var units: Int128
    public private(set) var scale: Int8

    public static let maxScale: Int = 38
    public static let zero = ExactDecimal(normalizedUnits: 0, scale: 0)

    init(normalizedUnits: Int128, scale: Int8) { self.units = normalizedUnits; self.scale = scale }

    /// `units × 10^-scale`, normalised; nil when `scale` is outside 0…38.
    public init?(units: Int128, scale: Int) {
        guard scale >= 0, scale <= ExactDecimal.maxScale else { return nil }
        var u = units
        var s = scale
        while s > 0 && u % 10 == 0 { u /= 10; s -= 1 }
        self.units = u
        self.scale = Int8(s)
    }

    public init(_ value: Int64) { self.units = Int128(value); self.scale = 0 }

    public init(_ money: Money) { self = ExactDecimal(units: money.units, scale: Money.scale)! }

    /// Decimal text as Debezium and SQL write it: `-12`, `59.97`, `1e3`, `5.997E1`, `1.0E-10`.
    /// Nil for anything else, or when the value needs more than 38 places or does not fit Int128.
    public static func parse(_ text: UnsafeRawBufferPointer) -> ExactDecimal? {
        let n = text.count
        guard n > 0 else { return nil }
        var i = 0
        var negative = false
        if text[0] == UInt8(ascii: "-") { negative = true; i = 1 } else if text[0] == UInt8(ascii: "+") { i = 1 }
        var unscaled: Int128 = 0
        var scale = 0
        var digits = 0
        var seenPoint = false
        while i < n {
            let c = text[i]
            if c >= 48 && c <= 57 {
                // Leading zeros cost nothing; significant digits beyond Int128 are refused.
                let (m, o1) = unscaled.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int128(c &- 48))
                if o1 || o2 { return nil }
                unscaled = a
                digits += 1
                if seenPoint { scale += 1 }
            } else if c == UInt8(ascii: ".") && !seenPoint {
                seenPoint = true
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                i += 1
                var expNegative = false
                if i < n && (text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+")) {
                    expNegative = text[i] == UInt8(ascii: "-"); i += 1
                }
                var exp = 0
                var expDigits = 0
                while i < n, text[i] >= 48, text[i] <= 57 {
                    exp = exp * 10 + Int(text[i] &- 48); expDigits += 1; i += 1
                    if exp > 400 { return nil }
                }
                if expDigits == 0 || i != n { return nil }
                scale += expNegative ? exp : -exp
                break
            } else {
                return nil
            }
            i += 1
        }
        if digits == 0 { return nil }
        if negative { unscaled = -unscaled }
        if scale < 0 {
            let (v, o) = unscaled.multipliedReportingOverflow(by: Money.pow10(-scale))
            if o || Money.pow10(-scale) == 0 { return nil }
            return ExactDecimal(units: v, scale: 0)
        }
        // Trailing zeros beyond 38 places (1.000…0) are fine; significant ones are not.
        while scale > maxScale && unscaled % 10 == 0 { unscaled /= 10; scale -= 1 }
        return ExactDecimal(units: unscaled, scale: scale)
    }

    public static func parse(_ text: String) -> ExactDecimal? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Both values at the larger scale; nil when that overflows.
    private static func aligned(_ a: ExactDecimal, _ b: ExactDecimal) -> (Int128, Int128, Int)? {
        if a.scale == b.scale { return (a.units, b.units, Int(a.scale)) }
        if a.scale < b.scale {
            let (v, o) = a.units.multipliedReportingOverflow(by: Money.pow10(Int(b.scale - a.scale)))
            return o ? nil : (v, b.units, Int(b.scale))
        }
        let (v, o) = b.units.multipliedReportingOverflow(by: Money.pow10(Int(a.scale - b.scale)))
        return o ? nil : (a.units, v, Int(a.scale))
    }

    public func adding(_ other: ExactDecimal) -> ExactDecimal? {
        guard let (a, b, s) = ExactDecimal.aligned(self, other) else { return nil }
        let (v, o) = a.addingReportingOverflow(b)
        return o ? nil : ExactDecimal(units: v, scale: s)
    }

    public func subtracting(_ other: ExactDecimal) -> ExactDecimal? {
        guard let (a, b, s) = ExactDecimal.aligned(self, other) else { return nil }
        let (v, o) = a.subtractingReportingOverflow(b)
        return o ? nil : ExactDecimal(units: v, scale: s)
    }

    public func multiplied(by other: ExactDecimal) -> ExactDecimal? {
        let (v, o) = units.multipliedReportingOverflow(by: other.units)
        guard !o else { return nil }
        return ExactDecimal(units: v, scale: Int(scale) + Int(other.scale))
    }

    public var negated: ExactDecimal? {
        units == .min ? nil : ExactDecimal(normalizedUnits: -units, scale: scale)
    }

    public var isZero: Bool { units == 0 }
    public var isNegative: Bool { units < 0 }

    /// The same value as `Money` (9 places), or nil when it has more places or lies beyond `Money.maxMagnitude`.
    public var money: Money? {
        guard let m = Money(unscaled: units, scale: Int(scale)), m.isInRange else { return nil }
        return m
    }

    /// The value as an integer, when it is one within Int64.
    public var int64: Int64? {
        guard scale == 0, let v = Int64(exactly: units) else { return nil }
        return v
    }

    public static func < (a: ExactDecimal, b: ExactDecimal) -> Bool {
        if let (x, y, _) = aligned(a, b) { return x < y }
        // Alignment overflowed: compare the whole parts first, then the fractions (both scales fit).
        let (aw, af) = a.units.quotientAndRemainder(dividingBy: Money.pow10(Int(a.scale)))
        let (bw, bf) = b.units.quotientAndRemainder(dividingBy: Money.pow10(Int(b.scale)))
        if aw != bw { return aw < bw }
        let fa = ExactDecimal(units: af, scale: Int(a.scale))!, fb = ExactDecimal(units: bf, scale: Int(b.scale))!
        return fa < fb
    }

    /// Plain decimal text, no exponent: `-12.5`, `0.0000000001`, `34000000000000000000000000000000`.
    public var description: String {
        let negative = units < 0
        var digits = String(units.magnitude)
        let s = Int(scale)
        if s > 0 {
            if digits.count <= s { digits = String(repeating: "0", count: s - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -s))
        }
        return negative ? "-" + digits : digits
    }
}
