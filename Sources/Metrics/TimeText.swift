/// Calendar text for epoch times, without Foundation (UTC, proleptic Gregorian).
package enum TimeText {
    /// `(year, month, day)` of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
    /// Days beyond ±`maxDays` (about ±2.7 billion years) are clamped so the arithmetic cannot overflow.
    package static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = min(max(days, -maxDays), maxDays) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Day counts beyond this are not calendar dates cdctop can show (they only come from corrupt data).
    package static let maxDays: Int64 = 1_000_000_000_000

    /// `YYYY-MM-DD` for a day count since the epoch; `day N (out of range)` beyond ±`maxDays`.
    package static func date(fromDays days: Int64) -> String {
        guard days >= -maxDays && days <= maxDays else { return "day \(days) (out of range)" }
        let c = civil(fromDays: days)
        return "\(c.year)-\(pad(c.month))-\(pad(c.day))"
    }

    /// `YYYY-MM-DD` of an epoch time in milliseconds.
    package static func date(ms: Int64) -> String { date(fromDays: floorDiv(ms, 86_400_000)) }

    /// `YYYY-MM-DDTHH:MM:SS.fffZ`, or with microseconds when `micros` is given. Times whose microseconds
    /// do not fit Int64 (corrupt data) come back as `<ms> ms (out of range)`, never a trap.
    package static func iso8601(ms: Int64) -> String {
        let (micros, overflow) = ms.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return "\(ms) ms (out of range)" }
        return iso8601(micros: micros, fractionDigits: 3)
    }

    package static func iso8601(micros: Int64, fractionDigits: Int = 6) -> String {
        let days = floorDiv(micros, 86_400_000_000)
        let inDay = floorMod(micros, 86_400_000_000)  // not micros − days × …: that overflows near Int64.min
        let seconds = inDay / 1_000_000
        let fraction = inDay % 1_000_000
        let f = fractionDigits == 3 ? pad(Int(fraction / 1000), 3) : pad(Int(fraction), 6)
        return
            "\(date(fromDays: days))T\(pad(Int(seconds / 3600))):\(pad(Int(seconds / 60 % 60))):\(pad(Int(seconds % 60))).\(f)Z"
    }

    /// `HH:MM:SS` (UTC) of an epoch time in milliseconds.
    package static func clock(ms: Int64) -> String {
        let s = floorMod(ms, 86_400_000) / 1000
        return "\(pad(Int(s / 3600))):\(pad(Int(s / 60 % 60))):\(pad(Int(s % 60)))"
    }

    /// Short human duration: `850ms`, `4.2s`, `3m05s`, `2h04m`, `3d02h`.
    package static func duration(ms: Int64) -> String {
        let a = ms == .min ? Int64.max : abs(ms)  // |Int64.min| does not fit

        let sign = ms < 0 ? "-" : ""
        if a < 1000 { return "\(sign)\(a)ms" }
        if a < 10_000 { return "\(sign)\(a / 1000).\(a % 1000 / 100)s" }
        if a < 60_000 { return "\(sign)\(a / 1000)s" }
        if a < 3_600_000 { return "\(sign)\(a / 60_000)m\(pad(Int(a / 1000 % 60)))s" }
        if a < 86_400_000 { return "\(sign)\(a / 3_600_000)h\(pad(Int(a / 60_000 % 60)))m" }
        return "\(sign)\(a / 86_400_000)d\(pad(Int(a / 3_600_000 % 24)))h"
    }

    /// `a` mod `b` in `0..<b` for positive `b`; never overflows.
    package static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        let r = a % b
        return r < 0 ? r + b : r
    }

    package static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func pad(_ v: Int, _ width: Int = 2) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
