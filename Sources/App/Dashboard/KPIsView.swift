import Metrics

/// View 8: a model profile's KPIs (`[kpi.NAME]` written as SQL), the built-in three included. One
/// section per KPI in profile order: a heading row (the KPI, what it groups by, its columns), its
/// groups with the exact values (`KPIColumns.valueText`), and the rows still waiting for a lookup.
/// Groups sort within their KPI (`s`/`S`: group, window, each value; first value descending by
/// default) and filter by KPI or group text (`/`), as in the Categories view.
enum KPIsView {
    enum Kind: Sendable, Hashable { case heading, group, note }

    struct Line: Sendable {
        var kind: Kind
        /// Index in `kpiColumns`.
        var kpi: Int
        /// The row's identity, which the cursor follows as values move.
        var id: String
        /// Name column: the KPI (heading), the group's text (group) or the note.
        var label: String
        /// The current window's first value (windowed KPIs), then one text per aggregate.
        var window: String = ""
        var values: [String] = []
        var style: Style = .text
    }

    /// Value columns shown (a KPI with more has its others in `--json`).
    static let maxValues = 3

    /// Comparable form of aggregate `i` of `accum`: counts and sums as decimals, an average of no rows none.
    static func sortKey(_ columns: KPIColumns, _ accum: KPIAccum?, _ i: Int) -> ExactDecimal? {
        guard let accum, i < columns.aggregateKinds.count else { return nil }
        switch columns.aggregateKinds[i] {
        case .countRows, .count: return ExactDecimal(accum.counts[i])
        case .sum: return accum.sums[i]
        case .avg: return accum.counts[i] == 0 ? nil : KPIColumns.average(accum.sums[i], accum.counts[i])
        }
    }

    static func groupLabel(_ columns: KPIColumns, _ group: [Metrics.Cell]) -> String {
        group.isEmpty ? "(all rows)" : columns.groupText(group).joined(separator: " · ")
    }

    /// Exact decimal texts padded with zeros to the same number of places (`420402.9` → `420402.90`
    /// beside `428667.73`); integers, `null` and empty texts are left as they are.
    static func alignDecimals(_ texts: [String]) -> [String] {
        func places(_ t: String) -> Int { t.firstIndex(of: ".").map { t.distance(from: $0, to: t.endIndex) - 1 } ?? 0 }
        let numeric = texts.filter { !$0.isEmpty && $0 != "null" }
        let most = min(9, numeric.map(places).max() ?? 0)
        guard most > 0 else { return texts }
        return texts.map { t in
            guard !t.isEmpty, t != "null", places(t) < most else { return t }
            return (t.contains(".") ? t : t + ".") + String(repeating: "0", count: most - places(t))
        }
    }

    /// What a KPI computes, after its name: `= count(*) · sum(o.freight) by company_name (totals only)`.
    static func headingDetail(_ columns: KPIColumns, shown: Int) -> String {
        var text = "= " + columns.aggregateNames.prefix(shown).joined(separator: " · ")
        if columns.aggregateNames.count > shown { text += " (+\(columns.aggregateNames.count - shown) in --json)" }
        if !columns.groupNames.isEmpty { text += " by " + columns.groupNames.joined(separator: ", ") }
        if !columns.windowed { text += " (totals only)" }
        return text
    }

    /// Every line as drawn: filtered by `model.filters["kpis"]`, each KPI's groups sorted by `model.kpiSort`.
    static func lines(_ model: DashboardModel, _ s: RunSnapshot, nowMs: Int64) -> [Line] {
        let needle = model.filters["kpis", default: ""].lowercased()
        let current = s.kpis.maxCommitTimeMs > 0 ? s.kpis.window(containing: s.kpis.maxCommitTimeMs) : nil
        var out: [Line] = []
        for (k, columns) in s.kpis.result.kpiColumns.enumerated() {
            let totals = k < s.kpis.result.totals.kpis.count ? s.kpis.result.totals.kpis[k] : KPIValues()
            let window =
                columns.windowed ? current.flatMap { k < $0.kpis.count ? $0.kpis[k] : nil } ?? KPIValues() : nil
            let kpiMatches =
                needle.isEmpty || columns.name.lowercased().contains(needle)
                || columns.groupNames.contains { $0.lowercased().contains(needle) }
            var groups = totals.groups.filter { !$0.value.isZero }.map {
                (key: $0.key, label: groupLabel(columns, $0.key), accum: $0.value)
            }
            if !kpiMatches { groups = groups.filter { $0.label.lowercased().contains(needle) } }
            guard kpiMatches || !groups.isEmpty else { continue }
            let sort = model.kpiSort
            let descending = model.kpiSortDescending
            groups.sort { a, b in
                let byLabel = a.label.lexicographicallyPrecedes(b.label)
                if sort == KPISort.group { return descending ? b.label.lexicographicallyPrecedes(a.label) : byLabel }
                let (x, y) =
                    sort == KPISort.window
                    ? (sortKey(columns, window?.groups[a.key], 0), sortKey(columns, window?.groups[b.key], 0))
                    : (
                        sortKey(columns, a.accum, sort - KPISort.firstValue),
                        sortKey(columns, b.accum, sort - KPISort.firstValue)
                    )
                if x == y { return byLabel }
                // No value (an average of no rows, a window without the group) goes last either way.
                guard let x else { return false }
                guard let y else { return true }
                return descending ? x > y : x < y
            }
            let shown = min(maxValues, columns.aggregateNames.count)
            out.append(
                Line(
                    kind: .heading, kpi: k, id: "kpi:" + columns.name, label: columns.name,
                    values: [headingDetail(columns, shown: shown)], style: Style(.accent, bold: true)))
            // Each column of a KPI shows as many decimal places as its most precise value, so the figures
            // line up on the decimal point (trailing zeros change no value: the text stays exact).
            let windowTexts = groups.map { g in
                window.map { values in values.groups[g.key].map { columns.valueText($0, 0) } ?? "0" } ?? ""
            }
            var valueTexts = groups.map { g in (0..<shown).map { columns.valueText(g.accum, $0) } }
            let alignedWindow = alignDecimals(windowTexts)
            for i in 0..<shown {
                let aligned = alignDecimals(valueTexts.map { $0[i] })
                for r in valueTexts.indices { valueTexts[r][i] = aligned[r] }
            }
            for (r, g) in groups.enumerated() {
                out.append(
                    Line(
                        kind: .group, kpi: k, id: "group:\(columns.name):\(g.label)", label: "  " + g.label,
                        window: alignedWindow[r], values: valueTexts[r]))
            }
            if totals.unresolvedRows > 0 {
                let n = totals.unresolvedRows
                out.append(
                    Line(
                        kind: .note, kpi: k, id: "wait:" + columns.name,
                        label: "  \(Format.count(n)) row\(n == 1 ? "" : "s") wait\(n == 1 ? "s" : "") for a lookup row",
                        style: .warn))
            } else if groups.isEmpty && kpiMatches {
                out.append(
                    Line(
                        kind: .note, kpi: k, id: "empty:" + columns.name,
                        label: needle.isEmpty ? "  no rows yet" : "  no group matches /\(needle)", style: .dim))
            }
        }
        return out
    }

    static func render(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        guard s.kpis.profile.isModel, !s.kpis.result.kpiColumns.isEmpty else {
            notModel(&b, area, s, frame)
            return ListLayout(count: 0, pageSize: 0, listID: "kpis")
        }
        let needle = model.filters["kpis", default: ""]
        let all = lines(model, s, nowMs: frame.nowMs)
        let kpiCount = s.kpis.result.kpiColumns.count
        let valueColumns = min(maxValues, s.kpis.result.kpiColumns.map(\.aggregateNames.count).max() ?? 1)
        let sortColumns = KPISort.firstValue + valueColumns
        let sort = min(model.kpiSort, sortColumns - 1)
        let name = s.kpis.profile.name
        var title =
            "\(kpiCount) KPI\(kpiCount == 1 ? "" : "s") of \(name) · sorted by \(KPISort.title(sort)) \(model.kpiSortDescending ? "desc" : "asc")"
        if !needle.isEmpty { title += " · /\(needle): \(all.filter { $0.kind == .heading }.count) match" }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, area, title: title, glyphs: g)
        // Value columns as wide as the widest value shown (within reason), so figures line up across KPIs.
        // At least the title and its sort arrow ("1st value▼").
        func width(_ texts: [String]) -> Int { min(24, max(10, texts.map(DisplayWidth.of).max() ?? 0)) }
        let groups = all.filter { $0.kind == .group }
        let windowWidth = width(groups.map(\.window))
        let valueWidths = (0..<valueColumns).map { i in
            width(groups.filter { i < $0.values.count }.map { $0.values[i] })
        }
        var columns: [Widgets.Column] = [
            .init(
                title: g == .ascii ? "KPI - group" : "KPI · group", width: 18, align: .left,
                flexible: true, maxWidth: 40)
        ]
        columns.append(.init(title: "window", width: windowWidth, dropOrder: 1))
        for (i, w) in valueWidths.enumerated() {
            columns.append(.init(title: KPISort.title(KPISort.firstValue + i), width: w))
        }
        let rows = all.map { line -> Widgets.TableRow in
            // A heading's cells stay empty: its text runs across the columns, drawn after the table.
            var cells = line.kind == .heading ? [""] : [line.label, line.window] + line.values
            while cells.count < columns.count { cells.append("") }
            return Widgets.TableRow(cells: cells, style: line.style)
        }
        let sel = model.resolvedSelection("kpis", ids: all.map(\.id))
        let emptyText = needle.isEmpty ? "no KPI values yet" : "no KPI or group matches /\(needle) (Esc clears)"
        let page = Widgets.table(
            &b, inner, columns: columns, rows: rows, selected: sel, glyphs: g,
            sortColumn: sort == KPISort.group ? 0 : sort == KPISort.window ? 1 : sort,
            sortDescending: model.kpiSortDescending,
            emptyText: emptyText)
        // Headings over the visible rows: the KPI's name, then what it computes (aggregates as written, groups).
        let first = sel >= page ? sel - page + 1 : 0
        for i in first..<min(all.count, first + page) where all[i].kind == .heading {
            let y = inner.y + 1 + i - first
            var x = b.put(all[i].label, x: inner.x, y: y, style: Style(.accent, bold: true), maxX: inner.maxX)
            var detail = " " + (all[i].values.first ?? "")
            if g == .ascii { detail = detail.replacingAll("·", with: "-") }
            x = b.put(
                DisplayWidth.truncate(detail, to: max(0, inner.maxX - x), ellipsis: g.ellipsis), x: x, y: y,
                style: Style(.accent), maxX: inner.maxX)
            if i == sel { b.restyle(Rect(x: inner.x, y: y, width: inner.width, height: 1)) { $0.reverse = true } }
        }
        return ListLayout(
            count: all.count, pageSize: page, selectedID: all.indices.contains(sel) ? all[sel].id : nil,
            selectedIndex: sel, listID: "kpis", rowsTop: inner.y + 1, sortColumns: sortColumns)
    }

    /// A profile without SQL KPIs: say what this view is for and how to get there.
    static func notModel(_ b: inout ScreenBuffer, _ area: Rect, _ s: RunSnapshot, _ frame: DashboardFrame) {
        let g = frame.glyphs
        let inner = Widgets.box(&b, area, title: "KPIs", glyphs: g)
        let name = s.kpis.profile.name
        var text: [(String, Style)] = []
        if s.kpis.profile.isModel {
            text.append(("Profile \(name) defines no [kpi.NAME].", Style(.warn, bold: true)))
        } else if s.kpis.profile.noProfileForTopics {
            text += NoProfile.lines(s)
            text.append(("", .text))
        } else {
            text.append(
                (
                    "Profile \(name)\(s.kpis.profile.isImplicitDefault ? " (default)" : "") has built-in KPIs: see 1 Overview and 3 Categories.",
                    .text
                ))
            text.append(("", .text))
        }
        text += [
            ("KPIs written as SQL over your own tables appear here, one [kpi.NAME] each:", .text),
            ("  [kpi.units_by_category]", Style(.accent)),
            ("  sql = \"select c.name, sum(d.quantity) from lines d join … group by 1\"", Style(.accent)),
            ("Exact through updates and deletes, with their groups and values.", .dim),
            ("See profiles/northwind.toml, then run with --profile FILE.", .text),
        ]
        for (i, (line, style)) in text.enumerated() where i < inner.height {
            b.put(
                g == .ascii ? line.replacingAll("…", with: "...").replacingAll("·", with: "-") : line,
                in: Rect(x: inner.x + 1, y: inner.y + i, width: inner.width - 1, height: 1), style: style,
                ellipsis: g.ellipsis)
        }
    }
}

/// What the screens say when the implicit default profile (shop) met only tables it does not know:
/// no business KPIs, and how to make a profile. Tables, lag, latency, changes and alerts still work.
enum NoProfile {
    static func lines(_ s: RunSnapshot) -> [(String, Style)] {
        let tables = s.diagnostics.tables.filter { $0.total > 0 }.count
        return [
            (
                "No profile for these topics: shop (default) knows none of the \(tables) table\(tables == 1 ? "" : "s") seen.",
                Style(.warn, bold: true)
            ),
            ("Revenue, transactions and categories need a profile of your own:", .text),
            ("  cdctop profile init --brokers … --topics …   drafts one from your topics,", Style(.accent, bold: true)),
            ("  then run with --profile FILE  (KPIs as SQL: see profiles/northwind.toml).", .text),
            ("Tables (2), lag (4), alerts (6), latency (7) and changes work without one.", .dim),
        ]
    }
}
