import Testing

@testable import App

@Suite struct ScreenBufferTests {
    @Test func wideCharactersTakeTwoCellsAndAreNotSplitAtTheEdge() {
        var b = ScreenBuffer(width: 6, height: 1)
        let end = b.put("a家電b", x: 0, y: 0)
        #expect(end == 6)
        #expect(b.line(0) == "a家電b")
        #expect(b[1, 0].character == "家" && b[2, 0].isContinuation)
        var narrow = ScreenBuffer(width: 4, height: 1)
        narrow.put("ab家電", x: 0, y: 0)
        // "電" would need cells 4-5: it is left out rather than cut in half.
        #expect(narrow.line(0) == "ab家")
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        var b = ScreenBuffer(width: 4, height: 1)
        b.put("家電", x: 0, y: 0)
        b.put("x", x: 1, y: 0)
        #expect(b.line(0) == " x電")
    }

    @Test func displayWidthAndTruncation() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("家電") == 4)
        #expect(DisplayWidth.of("e\u{301}") == 1)
        #expect(DisplayWidth.truncate("electronics", to: 6) == "elect…")
        #expect(DisplayWidth.truncate("家電家電", to: 5) == "家電…")
        #expect(Format.fit("7", 3, align: .right) == "  7")
    }

    @Test func formatting() {
        #expect(Format.count(Int64(1_234_567)) == "1,234,567")
        #expect(Format.count(Int64(-1_000)) == "-1,000")
        #expect(Format.money(.init(cents: 123_456_789)) == "1,234,567.89")
        #expect(Format.moneyWhole(.init(cents: 123_456_789)) == "1,234,568")
        #expect(Format.age(850) == "850ms")
        #expect(Format.age(4_249) == "4.2s")
        #expect(Format.age(185_000) == "3m05s")
        #expect(Format.age(7_380_000) == "2h03m")
        #expect(Format.clock(Fixture.nowMs + 3_723_000) == "13:02:03")
        #expect(HistoryView.dayString(Fixture.nowMs) == "2025-11-23")
        #expect(HistoryView.dayString(0) == "1970-01-01")
    }

    @Test func barsAndSparklines() {
        #expect(Widgets.barText(fraction: 0.5, width: 4, glyphs: .unicode) == "██")
        #expect(Widgets.barText(fraction: 0.3, width: 4, glyphs: .unicode) == "█▎")
        #expect(Widgets.barText(fraction: 0, width: 4, glyphs: .unicode) == "")
        var b = ScreenBuffer(width: 4, height: 1)
        Widgets.sparkline(&b, b.bounds, values: [0, 1, 2, 4], glyphs: .unicode)
        #expect(b.line(0) == "▁▃▅█")
        Widgets.sparkline(&b, b.bounds, values: [1, 1, 1, 1], glyphs: .unicode, minimumScale: 8)
        #expect(b.line(0) == "▂▂▂▂")  // a small steady value stays low instead of filling the cell
    }

    @Test func tableKeepsTheSelectionVisibleAndReportsThePage() {
        var b = ScreenBuffer(width: 20, height: 5)
        let rows = (0..<10).map { Widgets.TableRow(cells: ["row\($0)"]) }
        let page = Widgets.table(
            &b, Rect(x: 0, y: 0, width: 20, height: 4),
            columns: [.init(title: "name", width: 10, align: .left)], rows: rows, selected: 7, glyphs: .unicode)
        #expect(page == 3)
        #expect(b.line(1).hasPrefix("row5") && b.line(3).hasPrefix("row7"))
        #expect(b[0, 3].style.reverse && !b[0, 2].style.reverse)
        #expect(b.line(4).hasSuffix("6-8/10"))
    }
}
