import Metrics

/// View 5: daily figures from the warehouse beside today's live figure, a day's categories, reconciliation.
enum HistoryView {
    static let todayID = "today"

    static func render(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        let reconWidth = area.width >= 120 ? 44 : 34
        let (main, side) = area.splitLeft(area.width - reconWidth)
        reconciliationPanel(&b, side, frame)
        guard let history = frame.history else {
            let inner = Widgets.box(&b, main, title: "History", glyphs: g)
            let lines: [(String, Style)]
            if frame.warehouse.state == .off {
                lines = [
                    ("No warehouse connected.", Style(.warn, bold: true)), ("", .text),
                    ("History shows daily revenue and", .text),
                    ("transactions from the PostgreSQL", .text), ("warehouse that cdctop writes to.", .text),
                    ("", .text),
                    ("To enable it, start cdctop with", .text),
                    ("  --warehouse postgresql://USER@HOST:5432/DB", Style(.accent, bold: true)), ("", .text),
                    ("Today so far (live): \(Format.money(Figures(s, nowMs: frame.nowMs).todayRevenue))", .dim),
                ]
            } else {
                lines = [
                    ("Loading history from the warehouse…", .dim),
                    ("warehouse: \(frame.warehouse.state.rawValue) \(frame.warehouse.detail)", .dim),
                    ("r reloads", .dim),
                ]
            }
            for (i, (text, style)) in lines.enumerated() where i < inner.height {
                b.put(
                    text, in: inner.row(i + min(1, inner.height - lines.count)).clampedTo(inner), style: style,
                    ellipsis: g.ellipsis)
            }
            return ListLayout()
        }
        let figures = Figures(s, nowMs: frame.nowMs)
        let todayDay = dayString(frame.nowMs)
        // Days oldest first; today's live figure replaces a partial warehouse row for today.
        var days = history.days.filter { $0.day != todayDay }
        days.append(
            DayFigure(
                day: todayDay, txCount: figures.todayTx, revenue: figures.todayRevenue,
                categoryRevenue: todayCategories(s, nowMs: frame.nowMs)))
        let newestFirst = Array(days.reversed())
        if model.historyDetail, let day = model.openDay, let figure = days.first(where: { $0.day == day }) {
            return dayDetail(&b, main, model, figure, isToday: day == todayDay, g)
        }
        let chartHeight = main.height >= 30 ? 12 : 7
        let (chartArea, tableArea) = main.splitTop(chartHeight)
        let revenues = days.map { $0.revenue.approximateDouble }
        let scale = chartScale(revenues)
        var chartTitle = "Daily revenue · \(history.days.count) days + today"
        if scale.clipped {
            // The scale's choice is said in the title, shorter when the box is narrow.
            let long = chartTitle + " · scale ≈3× median day, ▲ above it"
            chartTitle = DisplayWidth.of(long) + 4 <= chartArea.width ? long : "Daily revenue · ▲ above ≈3× median day"
        }
        if g == .ascii {
            chartTitle = chartTitle.replacingAll("·", with: "-").replacingAll("×", with: "x").replacingAll(
                "▲", with: "^"
            ).replacingAll("≈", with: "~")
        }
        let chartInner = Widgets.box(&b, chartArea, title: chartTitle, glyphs: g)
        if chartInner.height >= 4 {
            let (chart, caption) = chartInner.splitTop(chartInner.height - 1)
            // Columns as wide as the plot allows (the y axis takes about 6 cells), one cell apart when wider than 1.
            let plotWidth = chart.width - 7
            let (colWidth, gap) =
                [(6, 1), (5, 1), (4, 1), (3, 1), (2, 1), (2, 0), (1, 0)]
                .first { days.count * $0.0 + (days.count - 1) * $0.1 <= plotWidth } ?? (1, 0)
            Widgets.axisChart(
                &b, chart, values: revenues, top: scale.top, glyphs: g, yLabel: Format.short,
                xLabel: { days[$0].day == todayDay ? "today" : String(days[$0].day.dropFirst(5)) },
                columnWidth: colWidth, gap: gap, lastStyle: Style(.accent, bold: true))
            let loaded = "MM-DD UTC · loaded \(Format.clock(history.loadedAtMs)) · r reloads"
            b.put(
                g == .ascii ? loaded.replacingAll("·", with: "-") : loaded, in: caption, style: .dim,
                ellipsis: g.ellipsis)
        }
        let inner = Widgets.box(&b, tableArea, title: "Days (Enter shows a day's categories)", glyphs: g)
        // The table's bars share the chart's scale: a clipped day is a full bar, the others stay readable.
        let top = scale.top
        let columns: [Widgets.Column] = [
            .init(title: "day", width: 13, align: .left), .init(title: "tx", width: 10),
            .init(title: "revenue", width: 14), .init(title: "", width: 6, align: .left, flexible: true, maxWidth: 100),
        ]
        let barWidth = Widgets.layout(columns, width: inner.width)[3].width
        let rows = newestFirst.map { d -> Widgets.TableRow in
            let isToday = d.day == todayDay
            var row = Widgets.TableRow(
                cells: [
                    isToday ? d.day + "*" : d.day, Format.count(d.txCount), Format.money(d.revenue),
                    Widgets.barText(
                        fraction: top > 0 ? d.revenue.approximateDouble / top : 0,
                        width: barWidth, glyphs: g),
                ],
                style: isToday ? Style(.accent, bold: true) : .text)
            row.cellStyles[3] = isToday ? Style(.accent) : .bar
            return row
        }
        let sel = min(model.selection["history"] ?? 0, max(0, rows.count - 1))
        let page = Widgets.table(&b, inner, columns: columns, rows: rows, selected: sel, glyphs: g)
        if inner.height >= 3, rows.count + 1 < inner.height {
            b.put("* today, live from the engine", in: inner.row(inner.height - 1), style: .dim)
        }
        return ListLayout(
            count: rows.count, pageSize: page,
            selectedID: newestFirst.indices.contains(sel) ? newestFirst[sel].day : nil)
    }

    /// The chart's top: a round number over the largest day, or, when one day is more than 3× the
    /// median day (a huge day, a partial backfill), over 3× the median, so one bar does not flatten
    /// the rest; the bars above it are drawn full and marked.
    static func chartScale(_ values: [Double]) -> (top: Double, clipped: Bool) {
        let positive = values.filter { $0 > 0 }.sorted()
        guard let largest = positive.last else { return (1, false) }
        let median = positive[positive.count / 2]
        let cap = 3 * median
        if positive.count >= 3, largest > Widgets.niceTop(cap) { return (Widgets.niceTop(cap), true) }
        return (Widgets.niceTop(largest), false)
    }

    /// `YYYY-MM-DD` (UTC) of an epoch time, as the warehouse names its days.
    static func dayString(_ ms: Int64) -> String { TimeText.date(ms: ms) }

    static func todayCategories(_ s: RunSnapshot, nowMs: Int64) -> [String: Money] {
        let midnight = nowMs - nowMs % 86_400_000
        var result: [String: Money] = [:]
        for w in s.kpis.result.windows where w.windowStartMs >= midnight {
            for (c, m) in w.categoryRevenue { result[c, default: .zero] &+= m }
        }
        return result
    }

    static func dayDetail(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ day: DayFigure, isToday: Bool,
        _ g: Glyphs
    ) -> ListLayout {
        let title =
            "\(day.day)\(isToday ? " (live)" : "") · \(Format.count(day.txCount)) tx · \(Format.money(day.revenue)) · Esc back"
        let inner = Widgets.box(&b, area, title: g == .ascii ? title.replacingAll("·", with: "-") : title, glyphs: g)
        let sorted = day.categoryRevenue.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let sum = day.categoryRevenue.values.reduce(Money.zero) { $0.addingSaturating($1) }.approximateDouble
        let columns: [Widgets.Column] = [
            .init(title: "category", width: 14, align: .left, flexible: true),
            .init(title: "revenue", width: 14), .init(title: "share", width: 6),
            .init(title: "", width: 8, align: .left, flexible: true, maxWidth: 100),
        ]
        let barWidth = Widgets.layout(columns, width: inner.width)[3].width
        let rows = sorted.map { c, m in
            let share = sum > 0 ? m.approximateDouble / sum : 0
            return Widgets.TableRow(
                cells: [
                    c, Format.money(m), Format.fixed(share * 100, places: 1) + "%",
                    Widgets.barText(fraction: share, width: barWidth, glyphs: g),
                ], cellStyles: [3: .bar])
        }
        let sel = min(model.selection["day"] ?? 0, max(0, rows.count - 1))
        let page = Widgets.table(
            &b, inner, columns: columns, rows: rows, selected: sel, glyphs: g,
            emptyText: "the warehouse has no category figures for this day")
        return ListLayout(count: rows.count, pageSize: page, selectedID: nil)
    }

    static func reconciliationPanel(_ b: inout ScreenBuffer, _ rect: Rect, _ frame: DashboardFrame) {
        let g = frame.glyphs
        let inner = Widgets.box(&b, rect, title: "Reconciliation", glyphs: g)
        guard let r = frame.reconciliation else {
            let lines = [
                "No reconciliation yet.", "", "cdctop compares its running", "totals with the source database",
                "(count and sum) when it is", "caught up; the verdict shows", "here: agree, drift or waiting.",
                "", "To enable it, start cdctop with", "  --source postgresql://HOST/DB",
            ]
            for (i, l) in lines.enumerated() where i < inner.height {
                b.put(l, in: inner, row: i, style: .dim, ellipsis: g.ellipsis)
            }
            return
        }
        let style: Style =
            switch r.verdict {
            case .agree: Style(.good, bold: true)
            case .drift: Style(.bad, bold: true)
            case .waiting: Style(.warn, bold: true)
            case .unknown: .dim
            }
        var lines: [(String, Style)] = [
            (
                r.verdict.rawValue.uppercased() + (r.sinceMs > 0 ? " for \(Format.age(frame.nowMs - r.sinceMs))" : ""),
                style
            ),
            ("since \(Format.clock(r.sinceMs)) UTC", .dim), ("checked \(Format.clock(r.checkedAtMs)) UTC", .dim),
            // Money with its cents everywhere, so equal-looking totals are equal and the drift adds up.
            ("tx      engine " + Format.count(r.engineTxCount), .text),
            ("        source " + Format.count(r.sourceTxCount), .text),
            ("revenue engine " + Format.money(r.engineRevenue), .text),
            ("        source " + Format.money(r.sourceRevenue), .text),
        ]
        let txDrift = r.engineTxCount - r.sourceTxCount
        let revenueDrift = r.engineRevenue - r.sourceRevenue
        if txDrift != 0 || !revenueDrift.isZero {
            lines.append(
                (
                    "drift: \(txDrift > 0 ? "+" : "")\(Format.count(txDrift)) tx, \(Format.money(revenueDrift))",
                    Style(.bad, bold: true)
                ))
        } else if r.verdict == .drift {
            // Totals agree but another KPI or a category does not: name what differs, not "none".
            lines.append(
                (
                    "drift in \(r.differences.count) value\(r.differences.count == 1 ? "" : "s"):",
                    Style(.bad, bold: true)
                ))
            for d in r.differences.prefix(3) { lines.append(("  " + d.description, .bad)) }
        } else {
            lines.append(("drift: none", .good))
        }
        lines.append(("lag at check: \(Format.count(r.lagAtCheck)) msgs", .dim))
        if !r.detail.isEmpty { lines.append((r.detail, .dim)) }
        for (i, (text, st)) in lines.enumerated() where i < inner.height {
            b.put(
                g == .ascii ? text.replacingAll("·", with: "-") : text, in: inner, row: i, style: st,
                ellipsis: g.ellipsis)
        }
    }
}

extension Rect {
    func clampedTo(_ outer: Rect) -> Rect {
        let y0 = max(y, outer.y)
        let y1 = min(maxY, outer.maxY)
        return Rect(x: x, y: y0, width: width, height: y1 - y0)
    }
}

/// `?`: every key and what the figures mean.
enum HelpOverlay {
    static let lines: [(String, String)] = [
        ("1-9 0  Tab  Shift-Tab", "switch view (the numbered tabs at the top)"),
        ("↑ ↓  j k  wheel", "move the selection (it follows its row)"),
        ("PgUp PgDn  Home End  g G", "page up / down, first / last"),
        ("Enter  →  l  click", "drill in: table › changes › event; History: a day"),
        ("Enter (nothing to open)", "a service failing: its error in full (as c)"),
        ("Esc  ←  h  Backspace", "back out; a filter is cleared first"),
        ("s  S", "sort a list by the next column / reverse"),
        ("/", "filter a list (changes: key text, op:u)"),
        ("f", "changes: follow the newest / freeze (N new counted)"),
        ("y", "event: raw message / before-after table"),
        ("Y", "changes, event: copy the event's JSON (OSC 52)"),
        ("e  E", "export the view's rows: CSV / JSON, working dir"),
        (":", "command: :kpis :table NAME :sort COL :export json"),
        (":  Tab  ↑ ↓", "complete names / recall earlier commands"),
        ("c", "connections: state, last error in full, retries"),
        ("w", "Trends: 5 min / 1 h / 1 day; ↑↓ pipeline or table"),
        ("p", "pause the display (engine and trends keep going)"),
        ("t  m  r", "next theme / Redis mirror on-off / History: reload"),
        ("?  q  Ctrl-C", "this help (↑↓ scroll, other keys close) / quit"),
    ]

    static let notes = [
        "window: the 30s event-time window holding the newest commit (partial)",
        "last 5m: windows starting in the last 5 minutes · new tx/s: creates, last 5 s",
        "freshness: now − newest commit · lag s: age of the last consumed commit",
        "LAGGING: lag above [lag] messages and seconds for k samples in a row",
        "(profile); STALLED: lag and no progress for 30s · group lag: committed",
        "6 alerts ([alerts] in profile) · 7 latency per hop · 8 KPIs ([kpi.NAME] SQL)",
        "9 snapshot: rows read of the estimate (--source), rate, ETA, tables done",
        "0 trends: events/s average, lag and freshness max, per column of time",
    ]

    /// The overlay, scrolled down by `scroll` lines when the terminal is too short for all of it.
    static func render(_ b: inout ScreenBuffer, _ area: Rect, _ frame: DashboardFrame, scroll: Int = 0) {
        let g = frame.glyphs
        let width = min(area.width, 86)
        // Border, the gap between keys and notes; the hint line below stays visible.
        let height = min(area.height - 1, lines.count + notes.count + 3)
        let rect = Rect(
            x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width: width, height: height)
        b.fill(rect, style: .text)
        let total = lines.count + 1 + notes.count
        let inner0 = rect.inner
        let first = min(max(0, scroll), max(0, total - inner0.height))
        var title = "Keys · cdctop"
        if total > inner0.height {
            title += " · \(first + 1)-\(min(total, first + inner0.height))/\(total) · ↑↓ scroll"
        }
        let inner = Widgets.box(
            &b, rect, title: title, glyphs: g, style: Style(.accent), titleStyle: Style(.accent, bold: true))
        let keyWidth = min(25, inner.width / 3)
        func ascii(_ s: String) -> String {
            guard g == .ascii else { return s }
            return s.replacingAll("↑ ↓", with: "Up Down").replacingAll("↑↓", with: "Up/Down").replacingAll(
                "→", with: "Right"
            )
            .replacingAll("←", with: "Left")
            .replacingAll("›", with: ">").replacingAll("÷", with: "/").replacingAll("−", with: "-").replacingAll(
                "·", with: "-")
        }
        // One list of lines (keys, a gap, notes), drawn from `first`.
        var all: [(keys: String?, text: String)] = lines.map { ($0.0, $0.1) }
        all.append((nil, ""))
        all += notes.map { (nil, $0) }
        for (row, line) in all.dropFirst(first).prefix(inner.height).enumerated() {
            if let keys = line.keys {
                b.put(
                    ascii(keys), x: inner.x + 1, y: inner.y + row, style: Style(.accent, bold: true),
                    maxX: inner.x + keyWidth)
                b.put(
                    ascii(line.text),
                    in: Rect(x: inner.x + keyWidth + 1, y: inner.y + row, width: inner.width - keyWidth - 1, height: 1),
                    style: .text, ellipsis: g.ellipsis)
            } else {
                b.put(
                    ascii(line.text), in: Rect(x: inner.x + 1, y: inner.y + row, width: inner.width - 1, height: 1),
                    style: .dim,
                    ellipsis: g.ellipsis)
            }
        }
    }
}
