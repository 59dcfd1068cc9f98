import Metrics
import Testing

@testable import App

/// The Overview's one-line revenue sparkline (a chart too low for axes, as at 60×16): its top label is the
/// largest value it draws, never one of a range it does not draw.
@Suite struct OverviewSparklineTests {
    /// A snapshot whose windows hold `revenues` (whole units), oldest first, the last one the newest.
    static func snapshot(_ revenues: [Int64]) -> RunSnapshot {
        var s = Fixture.snapshot
        let w = s.kpis.result.windowMs
        let end = Fixture.nowMs - Fixture.nowMs % w
        s.kpis.result.windows = revenues.enumerated().map { i, r in
            WindowResult(windowStartMs: end - Int64(revenues.count - 1 - i) * w, txCount: 1, revenue: Money(whole: r))
        }
        s.kpis.maxCommitTimeMs = end + 1_000
        return s
    }

    /// The label and how many columns the sparkline drew, read back from the screen (every value is above
    /// zero, so every drawn column is a visible level).
    static func drawn(_ revenues: [Int64], width: Int) -> (label: String, columns: Int) {
        let s = snapshot(revenues)
        var b = ScreenBuffer(width: width, height: 4)
        OverviewView.revenueChart(
            &b, Rect(x: 0, y: 0, width: width, height: 4), s, Figures(s, nowMs: Fixture.nowMs), .unicode)
        let inner = String(b.line(1).dropFirst().dropLast())
        let label = String(inner.prefix { $0 != " " })
        let levels = Set(Glyphs.unicode.levels)
        return (label, inner.dropFirst(label.count).filter { levels.contains($0) }.count)
    }

    @Test("the top label is the largest value drawn, wherever the largest window falls", arguments: 0..<40)
    func labelIsTheTopOfWhatIsDrawn(largestBack back: Int) {
        // 40 windows of 1,000 and one of 5,000, `back` windows before the newest.
        var revenues = [Int64](repeating: 1_000, count: 40)
        revenues[revenues.count - 1 - back] = 5_000
        for width in [36, 40] {
            let (label, columns) = Self.drawn(revenues, width: width)
            let top = revenues.suffix(columns).max()!
            #expect(label == Format.short(Double(top)), "width \(width): label \(label) over \(columns) columns")
            #expect(columns > 0 && DisplayWidth.of(label) + 1 + columns <= width - 2)
        }
    }

    @Test("a label that narrows as older windows leave the line still names the top of what is drawn")
    func labelWidthSettles() {
        // 12,345 (label "12k") is the newest; 99,999 ("100k", a column wider) near the left end: whether it is
        // drawn depends on the label's own width.
        var revenues = [Int64](repeating: 100, count: 40)
        revenues[revenues.count - 1] = 12_345
        for back in 27..<36 {
            var r = revenues
            r[r.count - 1 - back] = 99_999
            let (label, columns) = Self.drawn(r, width: 36)
            #expect(label == Format.short(Double(r.suffix(columns).max()!)), "back \(back): \(label) over \(columns)")
        }
    }
}
