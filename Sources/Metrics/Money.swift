/// An exact amount of money: a signed fixed-point number with `Money.scale` decimal places.
///
/// Money is never a Double: Debezium decimals (base64 two's complement, strings and even
/// JSON numbers) are parsed digit by digit into this type, and arithmetic is integer arithmetic.
/// Int128 leaves room for billions of line items of billion-dollar prices at nine places.
package struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Decimal places kept internally. Inputs with more places are rejected, never rounded.
    package static let scale = 9
    package static let unitsPerWhole: Int128 = 1_000_000_000

    /// The amount in units of 10^-scale.
    package var units: Int128

    package static let zero = Money(units: 0)

    package init(units: Int128) { self.units = units }

    /// `unscaled` × 10^-`scale`, exact; nil when `scale` exceeds `Money.scale` and precision would be lost
    /// or the value does not fit.
    package init?(unscaled: Int128, scale: Int) {
        if scale == Money.scale {
            self.units = unscaled
            return
        }
        if scale < Money.scale {
            if scale < 0 { return nil }
            let (v, overflow) = unscaled.multipliedReportingOverflow(by: Money.pow10(Money.scale - scale))
            if overflow { return nil }
            self.units = v
        } else {
            let divisor = Money.pow10(scale - Money.scale)
            if divisor == 0 { return nil }
            let (q, r) = unscaled.quotientAndRemainder(dividingBy: divisor)
            if r != 0 { return nil }
            self.units = q
        }
    }

    /// Whole currency units, e.g. `Money(whole: 12)` is 12.00.
    package init(whole: Int64) { self.units = Int128(whole) * Money.unitsPerWhole }

    /// Cents, e.g. `Money(cents: 5997)` is 59.97.
    package init(cents: Int64) { self.units = Int128(cents) * (Money.unitsPerWhole / 100) }

    /// Parses a plain decimal literal: `-12`, `59.97`, `1e3`, `5.997E1` (JSON number or Debezium string mode).
    package init?(decimalText: some StringProtocol) {
        var bytes = Array(decimalText.utf8)
        guard let m = bytes.withUnsafeMutableBufferPointer({ Money.parse(UnsafeRawBufferPointer($0)) }) else {
            return nil
        }
        self = m
    }

    /// Parses decimal text from raw bytes without allocating: exact decimal text (`ExactDecimal.parse`)
    /// that fits 9 places and Int128.
    package static func parse(_ text: UnsafeRawBufferPointer) -> Money? {
        guard let d = ExactDecimal.parse(text) else { return nil }
        return Money(unscaled: d.units, scale: Int(d.scale))
    }

    /// 10^n, or 0 when it does not fit in Int128 (n > 38); 1 for n ≤ 0.
    @inline(__always)
    package static func pow10(_ n: Int) -> Int128 {
        if n <= 0 { return 1 }
        // A table, not a loop: every decimal decoded (once per Avro or JSON amount) scales by one.
        return n < powersOf10.count ? powersOf10[n] : 0
    }

    private static let powersOf10: [Int128] = {
        var table: [Int128] = [1]
        while true {
            let (v, o) = table.last!.multipliedReportingOverflow(by: 10)
            if o { return table }
            table.append(v)
        }
    }()

    package static func + (a: Money, b: Money) -> Money { Money(units: a.units + b.units) }
    package static func - (a: Money, b: Money) -> Money { Money(units: a.units - b.units) }
    package static func += (a: inout Money, b: Money) { a.units += b.units }
    package static func -= (a: inout Money, b: Money) { a.units -= b.units }
    package static prefix func - (a: Money) -> Money { Money(units: -a.units) }
    package static func * (a: Money, k: Int64) -> Money { Money(units: a.units * Int128(k)) }
    package static func < (a: Money, b: Money) -> Bool { a.units < b.units }

    package var isZero: Bool { units == 0 }

    /// The largest magnitude one value may have: 10^18 whole units (a quintillion), far beyond any
    /// real amount. Bounding every input keeps each event's change to a sum far below Int128's range,
    /// so the aggregator can guard its sums with one comparison (see `WindowedAggregator`).
    package static let maxMagnitude = Money(units: 1_000_000_000_000_000_000 * Money.unitsPerWhole)

    /// True when `|self| ≤ maxMagnitude`.
    package var isInRange: Bool { units >= -Money.maxMagnitude.units && units <= Money.maxMagnitude.units }

    /// `self × k`, or nil when the product overflows or lies beyond `maxMagnitude`.
    package func multipliedChecked(by k: Int64) -> Money? {
        let (v, overflow) = units.multipliedReportingOverflow(by: Int128(k))
        guard !overflow else { return nil }
        let m = Money(units: v)
        return m.isInRange ? m : nil
    }

    /// Exact decimal text with at least `minimumFractionDigits` places and no trailing zeros beyond them:
    /// 59.97 → "59.97", 60 → "60.00", 0.001 → "0.001".
    package func formatted(minimumFractionDigits: Int = 2) -> String {
        let negative = units < 0
        let magnitude = units.magnitude  // UInt128: no trap on Int128.min
        let whole = magnitude / UInt128(Money.unitsPerWhole)
        var fraction = magnitude % UInt128(Money.unitsPerWhole)
        var places = Money.scale
        while places > minimumFractionDigits && fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        var text = negative ? "-" : ""
        text += String(whole)
        if places > 0 {
            let digits = String(fraction)
            text += "."
            text += String(repeating: "0", count: places - digits.count)
            text += digits
        }
        return text
    }

    /// Approximate value for drawing bars and rates only; never used for sums.
    package var approximateDouble: Double { Double(units) / Double(Money.unitsPerWhole) }

    package var description: String { formatted() }
}
