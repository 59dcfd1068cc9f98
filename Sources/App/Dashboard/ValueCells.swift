import Metrics

/// How typed cells (`ChangeDescription.Field`, decoded by Pipeline) are written on screen: decimals of a
/// column at one scale and right-aligned, binary as `N bytes` in lists and as hex in the event view.
/// Text only: nothing here decodes a message.
enum ValueCells {
    /// Widest a text value is padded to for alignment in the change list; longer ones are left as they are.
    static let alignedTextWidth = 24

    /// `1 byte`, `16 bytes`.
    static func byteCount(_ n: Int) -> String { n == 1 ? "1 byte" : "\(Format.count(n)) bytes" }

    /// `12.5` → `12.5000` for a decimal cell shown at `scale` (a column's cells decoded before a larger
    /// scale was seen in it); any other cell as it is.
    static func text(_ f: ChangeDescription.Field, scale: Int?) -> String {
        if f.kind == .binary, let bytes = f.bytes { return byteCount(bytes.count) }
        guard case .decimal(let own) = f.kind, let scale, scale > own else { return f.value }
        let zeros = String(repeating: "0", count: scale - own)
        return own == 0 ? f.value + "." + zeros : f.value + zeros
    }

    /// The largest decimal scale per column name among `fields`.
    static func scales(_ fields: some Sequence<ChangeDescription.Field>) -> [String: Int] {
        var out: [String: Int] = [:]
        for f in fields { if case .decimal(let s) = f.kind { out[f.name] = max(out[f.name] ?? 0, s) } }
        return out
    }

    /// `text` padded to `width` cells: numbers on the right, text on the left.
    static func pad(_ text: String, width: Int, numeric: Bool) -> String {
        let gap = width - DisplayWidth.of(text)
        guard gap > 0 else { return text }
        let spaces = String(repeating: " ", count: gap)
        return numeric ? spaces + text : text + spaces
    }

    /// The change list's summaries of the rows on screen, their values aligned column by column without
    /// padding inside `name=value`: every decimal of a column at the column's largest scale, each numeric
    /// `name=value` right-aligned as a whole (` qty=3` over `qty=12`), short text ones padded after, so the
    /// decimal points of `price=12.5000` and `price=7.0000` stand in one column. Columns in reading order
    /// (`readingOrder`), so what matters is what fits at 80 columns. `keys` are the rows' record keys (the
    /// list's key column shows them, so their columns go last). Nil entries (no description) stay nil.
    static func alignedSummaries(_ descriptions: [ChangeDescription?], keys: [String?] = [], glyphs: Glyphs)
        -> [String?]
    {
        let all = descriptions.compactMap { $0 }.flatMap { ($0.before ?? []) + ($0.after ?? []) }
        let scale = scales(all)
        let rank = columnRanks(descriptions, keys: keys)
        func ordered(_ fields: [ChangeDescription.Field]?) -> [ChangeDescription.Field]? {
            fields.map { f in
                f.enumerated().sorted { a, b in
                    let (x, y) = (rank[a.element.name] ?? 2, rank[b.element.name] ?? 2)
                    return x != y ? x < y : a.offset < b.offset
                }.map(\.element)
            }
        }
        var width: [String: Int] = [:]
        for f in all {
            let w = DisplayWidth.of(f.name) + 1 + DisplayWidth.of(text(f, scale: scale[f.name]))
            guard f.kind.isNumeric || w <= alignedTextWidth + DisplayWidth.of(f.name) + 1 else { continue }
            width[f.name] = max(width[f.name] ?? 0, w)
        }
        return descriptions.map { d in
            d.map { d in
                var d = d
                d.before = ordered(d.before)
                d.after = ordered(d.after)
                // An update lists only what changed (`status new → paid`): nothing to line up with.
                if d.before != nil && d.after != nil {
                    return TablesView.summary(d, glyphs: glyphs) { text($0, scale: scale[$0.name]) }
                }
                return TablesView.summary(
                    d, glyphs: glyphs, text: { text($0, scale: scale[$0.name]) },
                    cell: { f, t in
                        pad(f.name + "=" + t, width: width[f.name] ?? 0, numeric: f.kind.isNumeric)
                    })
            }
        }
    }

    /// Reading order of a table's columns in the change list: amounts (decimals) first, then other numbers
    /// (quantities, the ids of other rows), then text and times, then binary and nested values, and the
    /// row's own key columns last. A column's rank is the best its non-null cells earn on screen, so rows
    /// of one table keep one order even where a cell is null.
    static func columnRanks(_ descriptions: [ChangeDescription?], keys: [String?]) -> [String: Int] {
        var rank: [String: Int] = [:]
        var keyMatches: [String: Int] = [:]
        var rowsWithKey = 0
        for (i, d) in descriptions.enumerated() {
            guard let d, let fields = d.after ?? d.before else { continue }
            for f in fields {
                switch f.kind {
                case .decimal, .variableDecimal: rank[f.name] = min(rank[f.name] ?? 0, 0)
                case .number: rank[f.name] = min(rank[f.name] ?? 1, 1)
                case .text, .time, .bool: rank[f.name] = min(rank[f.name] ?? 2, 2)
                case .binary, .structured: rank[f.name] = min(rank[f.name] ?? 3, 3)
                case .null, .unchanged: break  // says nothing about the column (unranked columns read as text)
                }
            }
            guard i < keys.count, let key = keys[i], !key.isEmpty else { continue }
            rowsWithKey += 1
            // `42` (one key column: the first column holding it) or `a=1,b=2` (composite: by name).
            let parts = key.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1) }
            if parts.count > 1 || parts.first?.count == 2 {
                for p in parts where p.count == 2 && fields.contains(where: { $0.name == p[0] && $0.value == p[1] }) {
                    keyMatches[String(p[0]), default: 0] += 1
                }
            } else if let f = fields.first(where: { $0.value == key }) {
                keyMatches[f.name, default: 0] += 1
            }
        }
        for (name, n) in keyMatches where n == rowsWithKey { rank[name] = 4 }
        return rank
    }

    /// The before and after cells of the event view: decimals at the column's scale, numbers right-aligned
    /// to the widest number of the image, so the decimal points of a row's amounts line up.
    static func eventCells(_ fields: [ChangeDescription.Field], scales: [String: Int]) -> [String: String] {
        let texts = fields.map { (f: $0, text: text($0, scale: scales[$0.name])) }
        let numberWidth = texts.filter { $0.f.kind.isNumeric }.map { DisplayWidth.of($0.text) }.max() ?? 0
        var out: [String: String] = [:]
        for t in texts where out[t.f.name] == nil {
            out[t.f.name] = t.f.kind.isNumeric ? pad(t.text, width: numberWidth, numeric: true) : t.text
        }
        return out
    }

    /// The binary column whose hex the event view shows: the selected row's when it is binary, else the
    /// first binary column; the after image's bytes when there are some, else the before image's.
    static func hexColumn(_ d: ChangeDescription, selectedName: String?) -> (
        name: String, image: String, bytes: [UInt8]
    )? {
        func bytes(_ name: String) -> (String, [UInt8])? {
            if let f = d.after?.first(where: { $0.name == name }), f.kind == .binary, let b = f.bytes {
                return ("after", b)
            }
            if let f = d.before?.first(where: { $0.name == name }), f.kind == .binary, let b = f.bytes {
                return ("before", b)
            }
            return nil
        }
        if let selectedName, let (image, b) = bytes(selectedName) { return (selectedName, image, b) }
        for f in (d.after ?? d.before ?? []) where f.kind == .binary {
            if let (image, b) = bytes(f.name) { return (f.name, image, b) }
        }
        return nil
    }

    /// `0000  de ad be ef …  |....|`: 16 bytes a line with their offset and printable ASCII, at most
    /// `maxLines` lines, then `… N more bytes`.
    static func hexLines(_ bytes: [UInt8], maxLines: Int, ellipsis: String = "…") -> [String] {
        let digits = Array("0123456789abcdef")
        var out: [String] = []
        var offset = 0
        while offset < bytes.count, out.count < max(1, maxLines) {
            let line = bytes[offset..<min(offset + 16, bytes.count)]
            var hex =
                String(digits[(offset >> 12) & 15]) + String(digits[(offset >> 8) & 15])
                + String(digits[(offset >> 4) & 15]) + String(digits[offset & 15]) + " "
            for b in line { hex += " " + String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)]) }
            hex += String(repeating: "   ", count: 16 - line.count)
            hex += "  |" + String(line.map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "." }) + "|"
            out.append(hex)
            offset += 16
        }
        if offset < bytes.count { out.append("\(ellipsis) \(Format.count(bytes.count - offset)) more bytes") }
        return out
    }
}
