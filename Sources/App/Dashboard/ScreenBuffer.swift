/// What a cell means, not what colour it is: the theme maps roles to colours.
enum StyleRole: UInt8, Sendable, CaseIterable, Hashable {
    case text, dim, accent, good, warn, bad, bar, border

    var name: String {
        switch self {
        case .text: "text"
        case .dim: "dim"
        case .accent: "accent"
        case .good: "good"
        case .warn: "warn"
        case .bad: "bad"
        case .bar: "bar"
        case .border: "border"
        }
    }
}

struct Style: Hashable, Sendable {
    var role: StyleRole
    var bold: Bool
    var reverse: Bool

    init(_ role: StyleRole = .text, bold: Bool = false, reverse: Bool = false) {
        self.role = role
        self.bold = bold
        self.reverse = reverse
    }

    static let text = Style(.text)
    static let dim = Style(.dim)
    static let accent = Style(.accent)
    static let good = Style(.good)
    static let warn = Style(.warn)
    static let bad = Style(.bad)
    static let bar = Style(.bar)
    static let border = Style(.border)

    var bolded: Style {
        var s = self
        s.bold = true
        return s
    }
    var reversed: Style {
        var s = self
        s.reverse.toggle()
        return s
    }
}

struct Cell: Hashable, Sendable {
    /// The grapheme drawn here; `Cell.continuation` marks the right half of a wide character.
    var character: Character
    var style: Style

    static let blank = Cell(character: " ", style: .text)
    static let continuationMark: Character = "\u{0}"
    var isContinuation: Bool { character == Cell.continuationMark }
}

struct Rect: Hashable, Sendable {
    var x: Int, y: Int, width: Int, height: Int

    init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    var maxX: Int { x + width }
    var maxY: Int { y + height }
    var isEmpty: Bool { width <= 0 || height <= 0 }

    /// The area inside a one-cell border.
    var inner: Rect { Rect(x: x + 1, y: y + 1, width: width - 2, height: height - 2) }

    func row(_ i: Int) -> Rect { Rect(x: x, y: y + i, width: width, height: i < height ? 1 : 0) }

    /// Splits off `n` rows from the top: (top, rest).
    func splitTop(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: n), Rect(x: x, y: y + n, width: width, height: height - n))
    }

    /// Splits off `n` columns from the left: (left, rest).
    func splitLeft(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), width)
        return (Rect(x: x, y: y, width: n, height: height), Rect(x: x + n, y: y, width: width - n, height: height))
    }

    /// `count` columns of equal width separated by `gap` cells.
    func columns(_ count: Int, gap: Int = 1) -> [Rect] {
        guard count > 0 else { return [] }
        let usable = width - gap * (count - 1)
        var result: [Rect] = []
        var cx = x
        for i in 0..<count {
            let w = usable / count + (i < usable % count ? 1 : 0)
            result.append(Rect(x: cx, y: y, width: w, height: height))
            cx += w + gap
        }
        return result
    }
}

/// Terminal cell width of text: East Asian wide and emoji take 2 cells, combining marks 0.
/// Our own table so that layout does not depend on the process locale (tests run in "C").
enum DisplayWidth {
    static func of(_ c: Character) -> Int {
        guard let first = c.unicodeScalars.first else { return 0 }
        return of(scalar: first)
    }

    static func of(_ s: some StringProtocol) -> Int {
        var w = 0
        for c in s { w += of(c) }
        return w
    }

    static func of(scalar s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if v < 0x300 { return 1 }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if isWide(v) || s.properties.isEmojiPresentation { return 2 }
        return 1
    }

    private static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// The longest prefix of `text` that fits in `width` cells, with "…" when cut.
    static func truncate(_ text: String, to width: Int, ellipsis: Character = "…") -> String {
        guard width > 0 else { return "" }
        if of(text) <= width { return text }
        var out = ""
        var used = 0
        let limit = width - of(ellipsis)
        for c in text {
            let w = of(c)
            if used + w > limit { break }
            out.append(c)
            used += w
        }
        if limit >= 0 { out.append(ellipsis) }
        return out
    }
}

/// The frame views draw into: one `Cell` per terminal cell. The curses backend diffs two of these.
struct ScreenBuffer: Sendable, Equatable {
    private(set) var width: Int
    private(set) var height: Int
    private(set) var cells: [Cell]

    init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: fill, count: self.width * self.height)
    }

    var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    mutating func clear(_ style: Style = .text) {
        let blank = Cell(character: " ", style: style)
        for i in cells.indices { cells[i] = blank }
    }

    mutating func fill(_ rect: Rect, _ character: Character = " ", style: Style) {
        let r = clip(rect)
        guard !r.isEmpty else { return }
        for y in r.y..<r.maxY { for x in r.x..<r.maxX { self[x, y] = Cell(character: character, style: style) } }
    }

    /// Writes text at (x, y), never past `maxX` (exclusive; default the right edge).
    /// Returns the column after the last cell written.
    @discardableResult
    mutating func put(_ text: some StringProtocol, x: Int, y: Int, style: Style = .text, maxX: Int? = nil) -> Int {
        guard y >= 0, y < height else { return x }
        let limit = min(maxX ?? width, width)
        var cx = x
        for c in text {
            let w = DisplayWidth.of(c)
            if w == 0 { continue }
            if cx + w > limit { break }
            if cx >= 0 {
                breakWideCharacter(at: cx, y: y)
                self[cx, y] = Cell(character: c, style: style)
                if w == 2 {
                    breakWideCharacter(at: cx + 1, y: y)
                    self[cx + 1, y] = Cell(character: Cell.continuationMark, style: style)
                }
            }
            cx += w
        }
        return cx
    }

    /// Text clipped to a rect's row, truncated with an ellipsis when too long.
    @discardableResult
    mutating func put(
        _ text: String, in rect: Rect, row: Int = 0, style: Style = .text,
        align: TextAlignment = .left, ellipsis: Character = "…"
    ) -> Int {
        guard row >= 0, row < rect.height, rect.width > 0 else { return rect.x }
        let fitted = DisplayWidth.truncate(text, to: rect.width, ellipsis: ellipsis)
        let w = DisplayWidth.of(fitted)
        let x: Int
        switch align {
        case .left: x = rect.x
        case .right: x = rect.maxX - w
        case .center: x = rect.x + (rect.width - w) / 2
        }
        return put(fitted, x: x, y: rect.y + row, style: style, maxX: rect.maxX)
    }

    /// Restyles cells without changing characters (selection highlight).
    mutating func restyle(_ rect: Rect, _ transform: (inout Style) -> Void) {
        let r = clip(rect)
        guard !r.isEmpty else { return }
        for y in r.y..<r.maxY { for x in r.x..<r.maxX { transform(&cells[y * width + x].style) } }
    }

    func clip(_ r: Rect) -> Rect {
        let x0 = max(0, r.x)
        let y0 = max(0, r.y)
        let x1 = min(width, r.maxX)
        let y1 = min(height, r.maxY)
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Overwriting half of a wide character blanks the other half so no orphan is left on screen.
    private mutating func breakWideCharacter(at x: Int, y: Int) {
        guard x >= 0, x < width else { return }
        let cell = self[x, y]
        if cell.isContinuation, x > 0 {
            self[x - 1, y] = Cell(character: " ", style: self[x - 1, y].style)
        } else if DisplayWidth.of(cell.character) == 2, x + 1 < width, self[x + 1, y].isContinuation {
            self[x + 1, y] = Cell(character: " ", style: cell.style)
        }
    }

    /// ASCII stand-ins for a terminal whose locale is not UTF-8 (`LANG=C`): every cell, whatever view
    /// wrote it, so no glyph reaches curses as `?` or mojibake. Wide characters become `?` plus a space.
    mutating func makeASCII() {
        for i in cells.indices {
            let c = cells[i].character
            if c.isASCII { continue }
            if c == Cell.continuationMark { continue }
            cells[i].character = ScreenBuffer.asciiStandIn[c] ?? "?"
            if i + 1 < cells.count, cells[i + 1].isContinuation { cells[i + 1].character = " " }
        }
    }

    static let asciiStandIn: [Character: Character] = [
        "─": "-", "│": "|", "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+", "┬": "+", "┴": "+", "┼": "+",
        "█": "#", "▏": " ", "▎": " ", "▍": " ", "▌": "#", "▋": "#", "▊": "#", "▉": "#",
        "▁": "_", "▂": ".", "▃": "-", "▄": "~", "▅": "=", "▆": "*", "▇": "#",
        "…": "~", "→": ">", "←": "<", "↑": "^", "↓": "v", "▼": "v", "▲": "^", "·": "-", "•": "*", "●": "*", "○": "o",
        "÷": "/", "−": "-", "—": "-", "–": "-", "×": "x", "›": ">", "‹": "<", "≤": "<", "≥": ">", "°": "o",
    ]

    /// The text of one row (continuation cells skipped), trailing spaces kept.
    func line(_ y: Int) -> String {
        var s = ""
        for x in 0..<width where !self[x, y].isContinuation { s.append(self[x, y].character) }
        return s
    }

    /// All rows, trailing spaces trimmed: what golden tests compare.
    var text: String {
        (0..<height).map { y in
            var l = line(y)
            while l.last == " " { l.removeLast() }
            return l
        }.joined(separator: "\n")
    }
}

enum TextAlignment: Sendable { case left, right, center }
