/// An exact decimal number: `units × 10^-scale`, with `scale` in 0…38, kept normalised (no trailing
/// zero digits in `units` while `scale > 0`), so equal numbers are equal values and hash alike
/// (`1.50` and `1.5` group together).
///
/// Profile expressions compute with it: integer, decimal and float columns alike, the float ones
/// parsed from Debezium's decimal text, never through a Double. Every operation is checked and
/// returns nil instead of trapping or rounding.
package struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    package private(set) var units: Int128
    package private(set) var scale: Int8

    package static let maxScale: Int = 38
    package static let zero = ExactDecimal(normalizedUnits: 0, scale: 0)
    /// The largest magnitude a summed value may have (as `Money.maxMagnitude`): 10^18.
    package static let maxMeasure = ExactDecimal(normalizedUnits: 1_000_000_000_000_000_000, scale: 0)

    init(normalizedUnits: Int128, scale: Int8) {
        self.units = normalizedUnits
        self.scale = scale
    }

    /// `units × 10^-scale`, normalised; nil when `scale` is outside 0…38.
    package init?(units: Int128, scale: Int) {
        guard scale >= 0 else { return nil }
        var u = units
        var s = scale
        // Normalised first: 2e-19 × 5e-20 has 39 places written but is 1e-38, which fits.
        // Sums of money fit Int64 units: its division is one instruction, Int128's a library call.
        if s > 0, let small = Int64(exactly: u) {
            var v = small
            while s > 0 && v % 10 == 0 {
                v /= 10
                s -= 1
            }
            u = Int128(v)
        }
        while s > 0 && u % 10 == 0 {
            u /= 10
            s -= 1
        }
        guard s <= ExactDecimal.maxScale else { return nil }
        self.units = u
        self.scale = Int8(s)
    }

    package init(_ value: Int64) {
        self.units = Int128(value)
        self.scale = 0
    }

    package init(_ money: Money) { self = ExactDecimal(units: money.units, scale: Money.scale)! }

    /// Decimal text as Debezium and SQL write it: `-12`, `59.97`, `1e3`, `5.997E1`, `1.0E-10`.
    /// Nil for anything else, or when the value needs more than 38 places or does not fit Int128.
    package static func parse(_ text: UnsafeRawBufferPointer) -> ExactDecimal? {
        let n = text.count
        guard n > 0 else { return nil }
        var i = 0
        var negative = false
        if text[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        } else if text[0] == UInt8(ascii: "+") {
            i = 1
        }
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
                    expNegative = text[i] == UInt8(ascii: "-")
                    i += 1
                }
                var exp = 0
                var expDigits = 0
                while i < n, text[i] >= 48, text[i] <= 57 {
                    exp = exp * 10 + Int(text[i] &- 48)
                    expDigits += 1
                    i += 1
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
        while scale > maxScale && unscaled % 10 == 0 {
            unscaled /= 10
            scale -= 1
        }
        return ExactDecimal(units: unscaled, scale: scale)
    }

    package static func parse(_ text: String) -> ExactDecimal? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
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

    package func adding(_ other: ExactDecimal) -> ExactDecimal? {
        guard let (a, b, s) = ExactDecimal.aligned(self, other) else { return nil }
        let (v, o) = a.addingReportingOverflow(b)
        return o ? nil : ExactDecimal(units: v, scale: s)
    }

    package func subtracting(_ other: ExactDecimal) -> ExactDecimal? {
        guard let (a, b, s) = ExactDecimal.aligned(self, other) else { return nil }
        let (v, o) = a.subtractingReportingOverflow(b)
        return o ? nil : ExactDecimal(units: v, scale: s)
    }

    package func multiplied(by other: ExactDecimal) -> ExactDecimal? {
        let (v, o) = units.multipliedReportingOverflow(by: other.units)
        guard !o else { return nil }
        return ExactDecimal(units: v, scale: Int(scale) + Int(other.scale))
    }

    package var negated: ExactDecimal? {
        units == .min ? nil : ExactDecimal(normalizedUnits: -units, scale: scale)
    }

    /// The value at `places` decimal places (0…38), rounded half away from zero; nil when that overflows.
    package func rounded(places: Int) -> ExactDecimal? {
        guard places >= 0, places <= ExactDecimal.maxScale else { return nil }
        if Int(scale) <= places { return self }
        let divisor = Money.pow10(Int(scale) - places)
        let (q, r) = units.quotientAndRemainder(dividingBy: divisor)
        let up = r.magnitude * 2 >= divisor.magnitude
        return ExactDecimal(units: up ? (units < 0 ? q - 1 : q + 1) : q, scale: places)
    }

    /// `self / count` at `places` decimal places, rounded half away from zero (averages, for display).
    package func divided(by count: Int64, places: Int) -> ExactDecimal? {
        guard count != 0, places >= 0, places <= ExactDecimal.maxScale else { return nil }
        // units × 10^(places − scale) / count, exactly, then rounded.
        var numerator = units
        var denominator = Int128(count)
        if Int(scale) <= places {
            let (v, o) = numerator.multipliedReportingOverflow(by: Money.pow10(places - Int(scale)))
            guard !o else { return nil }
            numerator = v
        } else {
            let (v, o) = denominator.multipliedReportingOverflow(by: Money.pow10(Int(scale) - places))
            guard !o else { return nil }
            denominator = v
        }
        let (q, r) = numerator.quotientAndRemainder(dividingBy: denominator)
        let up = r.magnitude * 2 >= denominator.magnitude
        let negative = (numerator < 0) != (denominator < 0)
        return ExactDecimal(units: up ? (negative ? q - 1 : q + 1) : q, scale: places)
    }

    /// `units` at a larger scale, or nil when that overflows Int128.
    package func units(atScale target: Int) -> Int128? {
        guard target >= Int(scale) else { return nil }
        let (v, o) = units.multipliedReportingOverflow(by: Money.pow10(target - Int(scale)))
        return o ? nil : v
    }

    /// Money at 9 places, rounded half away from zero, clamped to `Money.maxMagnitude` (for the built-in tiles).
    package var roundedMoney: Money {
        guard let r = rounded(places: Money.scale), let m = Money(unscaled: r.units, scale: Int(r.scale)) else {
            return units < 0 ? -Money.maxMagnitude : Money.maxMagnitude
        }
        if !m.isInRange { return units < 0 ? -Money.maxMagnitude : Money.maxMagnitude }
        return m
    }

    package var magnitude: ExactDecimal { units < 0 ? (negated ?? self) : self }

    package var isZero: Bool { units == 0 }
    package var isNegative: Bool { units < 0 }

    /// The same value as `Money` (9 places), or nil when it has more places or lies beyond `Money.maxMagnitude`.
    package var money: Money? {
        guard let m = Money(unscaled: units, scale: Int(scale)), m.isInRange else { return nil }
        return m
    }

    /// The value as an integer, when it is one within Int64.
    package var int64: Int64? {
        guard scale == 0, let v = Int64(exactly: units) else { return nil }
        return v
    }

    package static func < (a: ExactDecimal, b: ExactDecimal) -> Bool {
        if let (x, y, _) = aligned(a, b) { return x < y }
        // Alignment overflowed: compare the whole parts first, then the fractions (both scales fit).
        let (aw, af) = a.units.quotientAndRemainder(dividingBy: Money.pow10(Int(a.scale)))
        let (bw, bf) = b.units.quotientAndRemainder(dividingBy: Money.pow10(Int(b.scale)))
        if aw != bw { return aw < bw }
        let fa = ExactDecimal(units: af, scale: Int(a.scale))!
        let fb = ExactDecimal(units: bf, scale: Int(b.scale))!
        return fa < fb
    }

    /// Plain decimal text, no exponent: `-12.5`, `0.0000000001`, `34000000000000000000000000000000`.
    package var description: String {
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
