import Metrics

/// Line-drawing and block characters, with ASCII stand-ins for terminals whose locale is not UTF-8.
struct Glyphs: Sendable, Hashable {
    var horizontal: Character, vertical: Character
    var topLeft: Character, topRight: Character, bottomLeft: Character, bottomRight: Character
    var full: Character
    /// Eighths of a cell for horizontal bars, index 1…7.
    var partials: [Character]
    /// Sparkline levels, lowest first.
    var levels: [Character]
    var ellipsis: Character
    var arrow: String
    var crumb: String
    var dot: Character

    static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        full: "█", partials: [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"],
        levels: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], ellipsis: "…", arrow: "→", crumb: " › ", dot: "●")

    static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        full: "#", partials: [" ", " ", " ", " ", "#", "#", "#", "#"],
        levels: ["_", ".", "-", "~", "=", "*", "#", "@"], ellipsis: "~", arrow: "->", crumb: " > ", dot: "*")
}

/// Number, money and duration text for people: thousands separators, short units.
enum Format {
    static func grouped(_ digits: String) -> String {
        var negative = false
        var body = Substring(digits)
        if body.first == "-" {
            negative = true
            body = body.dropFirst()
        }
        var whole = body
        var fraction: Substring = ""
        if let dot = body.firstIndex(of: ".") {
            whole = body[..<dot]
            fraction = body[dot...]
        }
        var out = ""
        for (i, c) in whole.enumerated() {
            if i > 0 && (whole.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (negative ? "-" : "") + out + fraction
    }

    static func count(_ n: Int64) -> String { grouped(String(n)) }
    static func count(_ n: Int) -> String { grouped(String(n)) }

    /// A scale label in at most 5 cells: 950, 1.2k, 335k, 4.1M, 12G.
    static func short(_ v: Double) -> String {
        guard v.isFinite else { return "?" }
        let a = abs(v)
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (size, suffix) in units where a >= size {
            let x = v / size
            return (abs(x) < 10 ? fixed(x, places: 1) : fixed(x, places: 0)) + suffix
        }
        return abs(v) < 10 && v != v.rounded() ? fixed(v, places: 1) : fixed(v, places: 0)
    }

    /// Exact money with separators and cents: 1234567.5 → "1,234,567.50".
    static func money(_ m: Money) -> String { grouped(m.formatted()) }

    /// Exact money at `places` decimals (never fewer than its own): one column's amounts at one scale.
    static func money(_ m: Money, places: Int) -> String { grouped(m.formatted(minimumFractionDigits: places)) }

    /// The decimals a column of amounts needs so each is exact and all line up: the most any of them
    /// has (a numeric(14,4) total reads `12.5000` over `3.1416`), at least `minimum`.
    static func moneyPlaces(_ amounts: some Sequence<Money>, minimum: Int = 2) -> Int {
        var places = minimum
        for m in amounts {
            let text = m.formatted(minimumFractionDigits: 0)
            if let dot = text.utf8.firstIndex(of: UInt8(ascii: ".")) {
                places = max(places, text.utf8.distance(from: dot, to: text.utf8.endIndex) - 1)
            }
        }
        return places
    }

    /// Money rounded to whole units for narrow places: "1,234,568".
    static func moneyWhole(_ m: Money) -> String {
        let half = Money.unitsPerWhole / 2
        let units = m.units >= 0 ? m.units + half : m.units - half
        return grouped(String(units / Money.unitsPerWhole))
    }

    static func rate(_ r: Double) -> String {
        if r >= 9e18 || !r.isFinite { return "\(r)/s" }  // beyond Int64: never from real traffic, never a trap
        if r >= 100 { return grouped(String(Int64(r.rounded()))) + "/s" }
        return fixed(r, places: 1) + "/s"
    }

    static func fixed(_ v: Double, places: Int) -> String {
        guard v.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        // Beyond Int64 (only a corrupt or absurd value gets here) the exponent form is all that fits.
        guard abs(v) * scale < 9e18 else { return v.description }
        let n = Int64((abs(v) * scale).rounded())
        let whole = n / Int64(scale)
        let frac = n % Int64(scale)
        var s = (v < 0 && n != 0 ? "-" : "") + grouped(String(whole))
        if places > 0 {
            let f = String(frac)
            s += "." + String(repeating: "0", count: places - f.count) + f
        }
        return s
    }

    /// A duration in ms as "850ms", "4.2s", "3m05s", "2h03m", "3d04h"; negative counts as 0.
    static func age(_ ms: Int64) -> String {
        let ms = max(0, ms)
        if ms < 1_000 { return "\(ms)ms" }
        if ms < 60_000 { return fixed(Double(ms) / 1_000, places: 1) + "s" }
        let s = ms / 1_000
        if s < 3_600 { return "\(s / 60)m" + pad2(s % 60) + "s" }
        if s < 86_400 { return "\(s / 3_600)h" + pad2(s % 3_600 / 60) + "m" }
        return "\(s / 86_400)d" + pad2(s % 86_400 / 3_600) + "h"
    }

    static func pad2(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// A duration in seconds for an axis, in at most 5 cells: "0s", "0.5s", "45s", "2.5m", "12h", "1.5d".
    static func axisSeconds(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        func trimmed(_ v: Double) -> String { v < 10 && v != v.rounded() ? fixed(v, places: 1) : fixed(v, places: 0) }
        let s = max(0, seconds)
        if s < 120 { return trimmed(s) + "s" }
        if s < 7_200 { return trimmed(s / 60) + "m" }
        if s < 172_800 { return trimmed(s / 3_600) + "h" }
        return trimmed(s / 86_400) + "d"
    }

    /// UTC clock time of an epoch ms: "14:03:30".
    static func clock(_ ms: Int64) -> String {
        let s = (ms / 1_000) % 86_400
        return pad2(s / 3_600) + ":" + pad2(s % 3_600 / 60) + ":" + pad2(s % 60)
    }

    /// `text` cut in the middle to `width` cells: "transactiondetail" → "transa…detail".
    static func middle(_ text: String, _ width: Int, ellipsis: Character = "…") -> String {
        guard DisplayWidth.of(text) > width, width >= 3 else { return text }
        let chars = Array(text)
        let keep = width - DisplayWidth.of(String(ellipsis))
        let tail = keep / 2
        let head = keep - tail
        guard chars.count >= head + tail, chars.allSatisfy({ DisplayWidth.of(String($0)) == 1 }) else { return text }
        return String(chars.prefix(head)) + String(ellipsis) + String(chars.suffix(tail))
    }

    /// `texts` each cut in the middle to `width` cells, so that two different texts never read the same:
    /// where the even cut makes two alike (`shop.pub…saction` for `…transaction` and `…transactiondetail`),
    /// those keep a longer head or tail, whichever first tells all of them apart.
    static func middleUnique(_ texts: [String], _ width: Int, ellipsis: Character = "…") -> [String] {
        let out = texts.map { middle($0, width, ellipsis: ellipsis) }
        var firstText: [String: String] = [:]
        var clashing = Set<String>()
        for (t, short) in zip(texts, out) {
            if let other = firstText[short], other != t {
                clashing.insert(short)
            } else if firstText[short] == nil {
                firstText[short] = t
            }
        }
        guard !clashing.isEmpty, width >= 3 else { return out }
        let keep = width - DisplayWidth.of(String(ellipsis))
        let even = keep - keep / 2
        // Heads tried from the even split outwards: even, even+1, even-1, …
        let heads = (0...keep).sorted { abs($0 - even) < abs($1 - even) }
        let indices = out.indices.filter { clashing.contains(out[$0]) }
        for head in heads {
            var candidate = out
            for i in indices { candidate[i] = middle(texts[i], width, head: head, ellipsis: ellipsis) }
            var seen: [String: String] = [:]
            var unique = true
            for (t, short) in zip(texts, candidate) where !short.isEmpty {
                if let other = seen[short], other != t {
                    unique = false
                    break
                }
                seen[short] = t
            }
            if unique { return candidate }
        }
        return out
    }

    /// `text` cut to `width` cells keeping `head` characters of its start and the rest of its end.
    static func middle(_ text: String, _ width: Int, head: Int, ellipsis: Character = "…") -> String {
        guard DisplayWidth.of(text) > width, width >= 2 else { return text }
        let chars = Array(text)
        let keep = width - DisplayWidth.of(String(ellipsis))
        let h = min(max(0, head), keep)
        guard chars.count >= keep, chars.allSatisfy({ DisplayWidth.of(String($0)) == 1 }) else { return text }
        return String(chars.prefix(h)) + String(ellipsis) + String(chars.suffix(keep - h))
    }

    /// Text padded or cut to exactly `width` cells.
    static func fit(_ text: String, _ width: Int, align: TextAlignment = .left, ellipsis: Character = "…") -> String {
        var text = text
        // A number never loses digits to an ellipsis: a right-aligned amount that does not fit drops its cents.
        if align == .right, DisplayWidth.of(text) > width, let dot = text.lastIndex(of: "."),
            text[..<dot].allSatisfy({ $0.isNumber || $0 == "," || $0 == "-" }),
            text[text.index(after: dot)...].allSatisfy(\.isNumber)
        {
            text = String(text[..<dot])
        }
        let t = DisplayWidth.truncate(text, to: width, ellipsis: ellipsis)
        let pad = max(0, width - DisplayWidth.of(t))
        switch align {
        case .left: return t + String(repeating: " ", count: pad)
        case .right: return String(repeating: " ", count: pad) + t
        case .center: return String(repeating: " ", count: pad / 2) + t + String(repeating: " ", count: pad - pad / 2)
        }
    }
}

/// Drawing primitives used by every view: each is a function of (buffer, area, data, style).
enum Widgets {
    /// A border with an optional title in the top edge; returns the inner area.
    @discardableResult
    static func box(
        _ buffer: inout ScreenBuffer, _ rect: Rect, title: String = "", glyphs: Glyphs,
        style: Style = .border, titleStyle: Style = Style(.accent, bold: true)
    ) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        let h = String(repeating: glyphs.horizontal, count: rect.width - 2)
        buffer.put(String(glyphs.topLeft) + h + String(glyphs.topRight), x: rect.x, y: rect.y, style: style)
        buffer.put(
            String(glyphs.bottomLeft) + h + String(glyphs.bottomRight), x: rect.x, y: rect.maxY - 1, style: style)
        for y in (rect.y + 1)..<(rect.maxY - 1) {
            buffer.put(String(glyphs.vertical), x: rect.x, y: y, style: style)
            buffer.put(String(glyphs.vertical), x: rect.maxX - 1, y: y, style: style)
        }
        if !title.isEmpty, rect.width > 4 {
            buffer.put(
                " " + DisplayWidth.truncate(title, to: rect.width - 4, ellipsis: glyphs.ellipsis) + " ",
                x: rect.x + 1, y: rect.y, style: titleStyle)
        }
        return rect.inner
    }

    /// One row of sparkline: the last `width` values scaled to the largest (negatives drawn as lowest).
    static func sparkline(
        _ buffer: inout ScreenBuffer, _ rect: Rect, values: [Double], glyphs: Glyphs,
        style: Style = .bar, minimumScale: Double = 0
    ) {
        guard rect.width > 0, rect.height > 0 else { return }
        let shown = values.suffix(rect.width)
        let top = max(shown.max() ?? 0, minimumScale)
        var x = rect.maxX - shown.count
        for v in shown {
            let level: Int
            if top <= 0 || v <= 0 {
                level = 0
            } else {
                level = min(glyphs.levels.count - 1, Int((v / top) * Double(glyphs.levels.count - 1) + 0.5))
            }
            buffer.put(String(glyphs.levels[level]), x: x, y: rect.y, style: style)
            x += 1
        }
    }

    /// A multi-row column chart: one column per value (right-aligned), heights scaled to the largest.
    static func columnChart(
        _ buffer: inout ScreenBuffer, _ rect: Rect, values: [Double], glyphs: Glyphs,
        style: Style = .bar, columnWidth: Int = 1, highlightLast: Bool = false
    ) {
        guard rect.width > 0, rect.height > 0 else { return }
        let step = columnWidth + (columnWidth > 1 ? 1 : 0)
        let shown = values.suffix(max(1, (rect.width + (step - columnWidth)) / step))
        let top = shown.max() ?? 0
        let eighths = glyphs.levels.count
        var x = rect.x
        for (i, v) in shown.enumerated() {
            let total = top > 0 && v > 0 ? Int((v / top) * Double(rect.height * eighths) + 0.5) : 0
            let s = highlightLast && i == shown.count - 1 ? Style(.accent, bold: true) : style
            column(&buffer, x: x, in: rect, eighths: total, width: columnWidth, glyphs: glyphs, style: s)
            x += step
        }
    }

    /// One column of a chart, `eighths` eighths of a cell tall from the bottom of `area` (cut at its top),
    /// `width` cells wide at `x`: the drawing both chart widgets share.
    static func column(
        _ buffer: inout ScreenBuffer, x: Int, in area: Rect, eighths: Int, width: Int, glyphs: Glyphs, style: Style
    ) {
        let perCell = glyphs.levels.count
        for row in 0..<area.height {
            let fill = eighths - row * perCell
            guard fill > 0 else { break }
            let ch = fill >= perCell ? glyphs.full : glyphs.levels[fill - 1]
            buffer.put(String(repeating: ch, count: width), x: x, y: area.maxY - 1 - row, style: style)
        }
    }

    /// A column chart with its scale: the top value and 0 on a y axis at the left, and the times of the
    /// first and last column under it. `caption` goes between the time labels when there is room.
    static func timeChart(
        _ buffer: inout ScreenBuffer, _ rect: Rect, values: [Double], glyphs: Glyphs,
        scaleLabel: (Double) -> String, firstLabel: (_ columnsShown: Int) -> String, lastLabel: String,
        caption: String = "",
        highlightLast: Bool = false, style: Style = .bar
    ) {
        guard rect.width >= 12, rect.height >= 3 else { return }
        let (plotArea, timeRow) = rect.splitTop(rect.height - 1)
        // The axis is as wide as the label of the largest value that could be shown; the label is then
        // the largest value actually shown (the columns scale to it).
        let widest = scaleLabel(values.suffix(max(1, plotArea.width - 2)).max() ?? 0)
        let axisWidth = min(8, max(1, DisplayWidth.of(widest)))
        let plot = Rect(
            x: rect.x + axisWidth + 1, y: plotArea.y, width: plotArea.width - axisWidth - 1, height: plotArea.height)
        let shown = Array(values.suffix(plot.width))
        buffer.put(
            Format.fit(scaleLabel(shown.max() ?? 0), axisWidth, align: .right), x: rect.x, y: plotArea.y, style: .dim)
        buffer.put(Format.fit("0", axisWidth, align: .right), x: rect.x, y: plotArea.maxY - 1, style: .dim)
        for y in plotArea.y..<plotArea.maxY {
            buffer.put(String(glyphs.vertical), x: rect.x + axisWidth, y: y, style: .border)
        }
        // Right-aligned, like the sparklines: the newest column sits at the right edge.
        let offset = plot.width - shown.count
        columnChart(
            &buffer, Rect(x: plot.x + offset, y: plot.y, width: shown.count, height: plot.height), values: shown,
            glyphs: glyphs, style: style, highlightLast: highlightLast)
        let time = Rect(x: plot.x, y: timeRow.y, width: plot.width, height: 1)
        let firstLabel = shown.isEmpty ? "" : firstLabel(shown.count)
        if !shown.isEmpty {
            // Labels never overlap ("0909:11"): the first is drawn only with two cells to spare before the last.
            let lastX = time.maxX - DisplayWidth.of(lastLabel)
            if plot.x + offset + DisplayWidth.of(firstLabel) + 2 <= lastX {
                buffer.put(firstLabel, x: plot.x + offset, y: time.y, style: .dim, maxX: time.maxX)
            }
            if lastX >= time.x { buffer.put(lastLabel, x: lastX, y: time.y, style: .dim) }
        }
        let room = time.width - DisplayWidth.of(firstLabel) - DisplayWidth.of(lastLabel) - 4
        if !caption.isEmpty, room - (shown.isEmpty ? 0 : offset) >= DisplayWidth.of(caption) {
            buffer.put(
                caption,
                in: Rect(
                    x: time.x + DisplayWidth.of(firstLabel) + 2 + (shown.isEmpty ? 0 : offset), y: time.y,
                    width: room - (shown.isEmpty ? 0 : offset), height: 1), style: .dim, align: .center,
                ellipsis: glyphs.ellipsis)
        }
    }

    /// A column chart over time with both scales: the top, middle and 0 values on a y axis at the left
    /// (`yLabel` adds the unit), and the labels of the first, middle and last columns under it (`xLabel`
    /// of a column index: a clock time, a date). Values above `top` are drawn full and marked `▲` with
    /// `clippedStyle`; nil values (nothing sampled) leave the column empty. A label is drawn only where it
    /// keeps two cells from its neighbours, so labels never run into each other. Needs 3 rows.
    static func axisChart(
        _ buffer: inout ScreenBuffer, _ rect: Rect, values: [Double?], top: Double, glyphs: Glyphs,
        yLabel: (Double) -> String, xLabel: (_ column: Int) -> String, columnWidth: Int = 1, gap: Int = 0,
        style: Style = .bar, lastStyle: Style? = nil, clippedStyle: Style = Style(.warn, bold: true)
    ) {
        guard rect.height >= 3, rect.width >= 8, !values.isEmpty else { return }
        let (plotArea, timeRow) = rect.splitTop(rect.height - 1)
        let h = plotArea.height
        // Half the scale: the top edge of row h/2 when h is even, the middle of that row when odd.
        let midRow = h >= 3 ? h / 2 : nil
        let labels = [(0, yLabel(top)), (h - 1, yLabel(0))] + (midRow.map { [($0, yLabel(top / 2))] } ?? [])
        let axisWidth = min(9, labels.map { DisplayWidth.of($0.1) }.max() ?? 1)
        for (row, text) in labels {
            buffer.put(Format.fit(text, axisWidth, align: .right), x: rect.x, y: plotArea.y + row, style: .dim)
        }
        for y in plotArea.y..<plotArea.maxY {
            buffer.put(String(glyphs.vertical), x: rect.x + axisWidth, y: y, style: .border)
        }
        let plot = Rect(x: rect.x + axisWidth + 1, y: plotArea.y, width: plotArea.width - axisWidth - 1, height: h)
        let step = columnWidth + gap
        let shownCount = min(values.count, max(1, (plot.width + gap) / step))
        let firstIndex = values.count - shownCount
        // Right-aligned: the newest column sits at the right edge.
        let left = plot.maxX - (shownCount * step - gap)
        let eighths = glyphs.levels.count
        for i in 0..<shownCount {
            guard let v = values[firstIndex + i], v > 0, top > 0 else { continue }
            let x = left + i * step
            let clipped = v > top
            // A small but non-zero value keeps one eighth, so activity never reads as nothing.
            let total = clipped ? h * eighths : max(1, Int((v / top) * Double(h * eighths) + 0.5))
            let s = i == shownCount - 1 ? (lastStyle ?? style) : style
            column(&buffer, x: x, in: plot, eighths: total, width: columnWidth, glyphs: glyphs, style: s)
            if clipped {
                buffer.put(
                    String(repeating: glyphs == .ascii ? "^" : "▲", count: columnWidth), x: x, y: plot.y,
                    style: clippedStyle)
            }
        }
        // x labels: the last (right-aligned at its column's end), the first, then the middle, each only with room.
        var taken: [Range<Int>] = []
        func place(_ text: String, x: Int) {
            let w = DisplayWidth.of(text)
            let x = min(max(x, plot.x), plot.maxX - w)
            guard w > 0, x >= plot.x, !taken.contains(where: { $0.overlaps((x - 2)..<(x + w + 2)) }) else { return }
            buffer.put(text, x: x, y: timeRow.y, style: .dim, maxX: plot.maxX)
            taken.append(x..<(x + w))
        }
        let lastLabel = xLabel(values.count - 1)
        place(lastLabel, x: plot.maxX - DisplayWidth.of(lastLabel))
        place(xLabel(firstIndex), x: left)
        if shownCount >= 3 {
            let mid = shownCount / 2
            let text = xLabel(firstIndex + mid)
            place(text, x: left + mid * step + columnWidth / 2 - DisplayWidth.of(text) / 2)
        }
    }

    /// The smallest round number at least `v` (1, 2, 3, 4, 5, 6 or 8 × a power of ten): close enough
    /// that bars use the height, round enough that the axis's middle is round too.
    static func niceTop(_ v: Double) -> Double {
        guard v.isFinite, v > 0 else { return 1 }
        var unit = 1.0
        while unit * 10 <= v { unit *= 10 }
        while unit > v { unit /= 10 }
        for m in [1.0, 2, 3, 4, 5, 6, 8, 10] where unit * m >= v { return unit * m }
        return unit * 10
    }

    /// The smallest round duration (seconds) at least `seconds`: 1 2 5 10 20 30 s, 1 2 5 10 20 30 min, 1 2 6 12 h, days.
    static func niceSeconds(_ seconds: Double) -> Double {
        let steps: [Double] = [
            1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600, 7_200, 21_600, 43_200, 86_400,
        ]
        guard seconds.isFinite, seconds > 0 else { return 1 }
        if let s = steps.first(where: { $0 >= seconds }) { return s }
        return niceTop(seconds / 86_400) * 86_400
    }

    /// A horizontal bar `fraction` (0…1) of `width` cells, with eighth-cell precision in UTF-8.
    static func barText(fraction: Double, width: Int, glyphs: Glyphs) -> String {
        guard width > 0, fraction.isFinite, fraction > 0 else { return "" }
        let eighths = Int((min(1, fraction) * Double(width * 8)).rounded())
        var s = String(repeating: glyphs.full, count: eighths / 8)
        if eighths % 8 > 0 { s.append(glyphs.partials[eighths % 8]) }
        while s.last == " " { s.removeLast() }
        return s
    }

    struct Column: Sendable {
        var title: String
        var width: Int
        var align: TextAlignment = .right
        var flexible: Bool = false
        /// A flexible column stops growing here; the spare room stays at the right.
        var maxWidth: Int = 36
        /// When the width is short, columns with the highest `dropOrder` go first; 0 never goes (a verdict, a name).
        var dropOrder: Int = 0
        /// Too long a text loses its middle ("transa…detail"), so names that share a start stay apart.
        var shortenMiddle: Bool = false
    }

    /// Indices of the columns that fit `width` (one space between columns), dropping by `dropOrder`.
    static func fitting(_ columns: [Column], width: Int) -> [Int] {
        var kept = Array(columns.indices)
        func needed() -> Int { kept.reduce(0) { $0 + columns[$1].width } + max(0, kept.count - 1) }
        while needed() > width,
            let victim = kept.filter({ columns[$0].dropOrder > 0 }).max(by: {
                columns[$0].dropOrder < columns[$1].dropOrder
            })
        {
            kept.removeAll { $0 == victim }
        }
        return kept
    }

    struct TableRow: Sendable {
        var cells: [String]
        var style: Style = .text
        /// Per-cell styles, when some cells differ from the row style (verdicts, bars).
        var cellStyles: [Int: Style] = [:]
    }

    /// Resolves flexible columns so the table fills `width`.
    static func layout(_ columns: [Column], width: Int) -> [Column] {
        let fixed = columns.filter { !$0.flexible }.reduce(0) { $0 + $1.width } + max(0, columns.count - 1)
        let flexCount = columns.filter(\.flexible).count
        guard flexCount > 0 else { return columns }
        let spare = max(0, width - fixed)
        var result = columns
        var handed = 0
        var seen = 0
        for i in result.indices where result[i].flexible {
            seen += 1
            let share = seen == flexCount ? spare - handed : spare / flexCount
            result[i].width = max(result[i].width, min(share, result[i].maxWidth))
            handed += share
        }
        return result
    }

    /// A table with a header, a selected row (reverse video) and scrolling that keeps it visible.
    /// Returns the number of body rows that fit (the page size for PgUp/PgDn).
    @discardableResult
    static func table(
        _ buffer: inout ScreenBuffer, _ rect: Rect, columns: [Column], rows: [TableRow],
        selected: Int?, glyphs: Glyphs, sortColumn: Int? = nil, sortDescending: Bool = true,
        emptyText: String = "no data yet"
    ) -> Int {
        guard rect.height > 0, rect.width > 0 else { return 0 }
        // Too narrow: drop columns by priority (the caller's `dropOrder`), keeping cells and styles aligned.
        let kept = fitting(columns, width: rect.width)
        if kept.count < columns.count {
            let rows = rows.map { r -> TableRow in
                var out = TableRow(cells: kept.compactMap { $0 < r.cells.count ? r.cells[$0] : nil }, style: r.style)
                for (newIndex, old) in kept.enumerated() {
                    if let st = r.cellStyles[old] { out.cellStyles[newIndex] = st }
                }
                return out
            }
            return table(
                &buffer, rect, columns: kept.map { columns[$0] }, rows: rows, selected: selected, glyphs: glyphs,
                sortColumn: sortColumn.flatMap { kept.firstIndex(of: $0) }, sortDescending: sortDescending,
                emptyText: emptyText)
        }
        let cols = layout(columns, width: rect.width)
        var x = rect.x
        for (i, c) in cols.enumerated() {
            var title = c.title
            if sortColumn == i { title += sortDescending ? "▼" : "▲" }
            if glyphs == .ascii, sortColumn == i { title = c.title + (sortDescending ? "v" : "^") }
            buffer.put(
                Format.fit(title, c.width, align: c.align, ellipsis: glyphs.ellipsis), x: x, y: rect.y,
                style: Style(.accent, bold: true), maxX: rect.maxX)
            x += c.width + 1
        }
        let pageSize = rect.height - 1
        guard pageSize > 0 else { return 0 }
        if rows.isEmpty {
            buffer.put(emptyText, in: rect.row(1), style: .dim)
            return pageSize
        }
        let sel = selected.map { min(max(0, $0), rows.count - 1) }
        var first = 0
        if let sel, sel >= pageSize { first = sel - pageSize + 1 }
        // Shortened names stay tellable apart across the whole column, not only on this page.
        var shortened: [Int: [String]] = [:]
        for (i, c) in cols.enumerated() where c.shortenMiddle {
            shortened[i] = Format.middleUnique(
                rows.map { i < $0.cells.count ? $0.cells[i] : "" }, c.width, ellipsis: glyphs.ellipsis)
        }
        for (offset, row) in rows[first..<min(rows.count, first + pageSize)].enumerated() {
            let y = rect.y + 1 + offset
            var cx = rect.x
            for (i, c) in cols.enumerated() where i < row.cells.count {
                let style = row.cellStyles[i] ?? row.style
                let text = shortened[i]?[first + offset] ?? row.cells[i]
                buffer.put(
                    Format.fit(text, c.width, align: c.align, ellipsis: glyphs.ellipsis), x: cx, y: y,
                    style: style, maxX: rect.maxX)
                cx += c.width + 1
            }
            if let sel, first + offset == sel {
                buffer.restyle(Rect(x: rect.x, y: y, width: rect.width, height: 1)) { $0.reverse = true }
            }
        }
        if rows.count > pageSize {
            let info = "\(first + 1)-\(min(rows.count, first + pageSize))/\(rows.count)"
            buffer.put(
                info, in: Rect(x: rect.x, y: rect.maxY, width: rect.width, height: 1), style: .dim, align: .right)
        }
        return pageSize
    }
}
