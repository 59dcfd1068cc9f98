import Metrics
import Testing

@Suite("TimeText never traps")
struct TimeTextLimitsTests {
    @Test(
        "extreme times render as text, in range ones exactly as before",
        arguments: [Int64.min, Int64.min + 1, -1, 0, 253_402_300_799_999, Int64.max])
    func extremes(ms: Int64) {
        let iso = TimeText.iso8601(ms: ms)
        let clock = TimeText.clock(ms: ms)
        _ = TimeText.duration(ms: ms)
        _ = TimeText.date(ms: ms)
        _ = TimeText.date(fromDays: ms)
        _ = TimeText.iso8601(micros: ms)
        #expect(clock.count == 8)
        if ms == 253_402_300_799_999 { #expect(iso == "9999-12-31T23:59:59.999Z" && clock == "23:59:59") }
        if ms == -1 { #expect(iso == "1969-12-31T23:59:59.999Z" && clock == "23:59:59") }
        if ms == .max { #expect(iso.hasSuffix("(out of range)")) }
    }

    @Test func durationOfTheMostNegative() {
        #expect(TimeText.duration(ms: .min).hasPrefix("-"))
        #expect(TimeText.duration(ms: -4_200) == "-4.2s")
    }
}
