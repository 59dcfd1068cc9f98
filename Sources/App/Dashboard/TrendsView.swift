import Metrics

/// View 0 (`0`, `:trends`): events/s, lag in messages and in seconds, and freshness over the last 5 minutes,
/// hour or day (`w` cycles), for the whole pipeline or one table (↑↓ choose), from `TrendHistory`.
enum TrendsView {
    static let listID = "trends"
    static let pipelineID = "pipeline"

    /// One chart: what it draws from a (possibly merged) bucket, and how its axis reads.
    struct Chart: Sendable {
        var title: String
        var short: String
        var value: @Sendable (TrendBucket) -> Double?
        var seconds: Bool
        var unit: String
    }

    static let charts: [Chart] = [
        Chart(
            title: "Events/s (average)", short: "Events/s avg", value: { $0.eventsPerSecond }, seconds: false,
            unit: "/s"),
        Chart(
            title: "Lag, messages (max)", short: "Lag msgs max",
            value: { $0.isEmpty || $0.lagMax < 0 ? nil : Double($0.lagMax) },
            seconds: false, unit: ""),
        Chart(
            title: "Lag, seconds (max, oldest unread)", short: "Lag s max",
            value: { $0.isEmpty ? nil : Double($0.lagMsMax) / 1_000 },
            seconds: true, unit: ""),
        Chart(
            title: "Freshness: age of newest commit (max)", short: "Freshness max",
            value: { $0.isEmpty || $0.freshnessMsMax < 0 ? nil : Double($0.freshnessMsMax) / 1_000 }, seconds: true,
            unit: ""),
    ]

    /// Widest y label the charts draw ("1.2k/s"), so every chart of a view gets the same plot width.
    static let axisReserve = 7

    static func render(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        let ids = [pipelineID] + s.diagnostics.tables.map(\.table).sorted()
        let sel = model.resolvedSelection(listID, ids: ids)
        let scope = sel == 0 ? nil : ids[sel]
        let span = model.trendSpan
        var chartsArea = area
        var rowsTop: Int?
        var page = 1
        if area.width >= 110 {
            // Wide: the scopes as a list beside the charts (the same cursor ↑↓ moves).
            let (list, rest) = area.splitLeft(min(34, area.width / 5))
            chartsArea = rest
            page = scopeList(&b, list, ids: ids, selected: sel, s, g)
            rowsTop = list.y + 2
        }
        let (header, body) = chartsArea.splitTop(1)
        let series = frame.trends.series(scope)
        let cells = layoutCells(body)
        let plotWidth = max(1, (cells.first?.width ?? 1) - axisReserve - 1)
        let perColumn = max(1, (span.bucketCount + plotWidth - 1) / plotWidth)
        // What is shown first (scope, span), then how to change it, as far as the width allows.
        let column = Format.axisSeconds(Double(span.bucketMs * Int64(perColumn)) / 1_000)
        var head =
            " Trends \(g.crumb.trimmingSpaces) \(scope ?? "pipeline (all tables)") · last \(span.title) · \(column) a column"
        for extra in [rowsTop == nil ? " · ↑↓ table \(sel + 1)/\(ids.count)" : "", " · w: 5 min/1 h/1 day"]
        where DisplayWidth.of(head) + DisplayWidth.of(extra) <= header.width {
            head += extra
        }
        if g == .ascii { head = head.replacingAll("·", with: "-").replacingAll("↑↓", with: "j/k") }
        b.put(head, in: header, style: Style(.accent, bold: true), ellipsis: g.ellipsis)
        guard let series, hasSamples(series, span: span, nowMs: frame.nowMs) else {
            let text =
                series == nil && frame.trends.isFull
                ? "\(scope ?? "") is not followed: trends keep the first \(TrendHistory.maximumTables) tables seen"
                : "collecting: the first sample of the last \(span.title) arrives within a second"
            b.put(text, in: body.row(body.height / 2), style: .dim, align: .center, ellipsis: g.ellipsis)
            return ListLayout(
                count: ids.count, pageSize: page, selectedID: ids[sel], selectedIndex: sel, listID: listID,
                rowsTop: rowsTop)
        }
        let columns = mergedColumns(series.rings[span.rawValue], span: span, perColumn: perColumn, nowMs: frame.nowMs)
        for (cell, chart) in zip(cells, charts) {
            draw(&b, cell, chart, columns: columns, span: span, perColumn: perColumn, g)
        }
        return ListLayout(
            count: ids.count, pageSize: page, selectedID: ids[sel], selectedIndex: sel, listID: listID, rowsTop: rowsTop
        )
    }

    /// Four cells: side by side in pairs (2×2), or stacked when the area is tall and narrow.
    static func layoutCells(_ area: Rect) -> [Rect] {
        if area.height >= 40, area.width < 100 {
            return (0..<4).map { i in
                Rect(x: area.x, y: area.y + i * area.height / 4, width: area.width, height: area.height / 4)
            }
        }
        let (top, bottom) = area.splitTop(area.height / 2)
        return top.columns(2, gap: 2) + bottom.columns(2, gap: 2)
    }

    static func hasSamples(_ series: TrendTiers, span: TrendSpan, nowMs: Int64) -> Bool {
        series.rings[span.rawValue].buckets.contains {
            !$0.isEmpty && $0.startMs > nowMs - Int64(span.bucketCount) * span.bucketMs
        }
    }

    /// The span's buckets merged `perColumn` at a time, oldest first, on boundaries fixed in time (a
    /// column does not change what it holds as time moves on); each column's start time.
    static func mergedColumns(_ ring: TrendRing, span: TrendSpan, perColumn: Int, nowMs: Int64) -> [(
        startMs: Int64, bucket: TrendBucket
    )] {
        let width = ring.bucketMs * Int64(perColumn)
        let lastStart = nowMs - nowMs % width
        let count = (span.bucketCount + perColumn - 1) / perColumn
        return (0..<count).map { i in
            let start = lastStart - Int64(count - 1 - i) * width
            var merged = TrendBucket()
            for k in 0..<perColumn { merged.merge(ring.bucket(startingAt: start + Int64(k) * ring.bucketMs)) }
            return (start, merged)
        }
    }

    static func draw(
        _ b: inout ScreenBuffer, _ cell: Rect, _ chart: Chart, columns: [(startMs: Int64, bucket: TrendBucket)],
        span: TrendSpan, perColumn: Int, _ g: Glyphs
    ) {
        guard cell.height >= 4 else { return }
        let (titleRow, plot) = cell.splitTop(1)
        let values = columns.map { chart.value($0.bucket) }
        let top = values.compactMap { $0 }.max() ?? 0
        let scale = chart.seconds ? Widgets.niceSeconds(top) : Widgets.niceTop(top)
        func label(_ v: Double) -> String {
            chart.seconds ? Format.axisSeconds(v) : Format.short(v) + (v == 0 ? "" : chart.unit)
        }
        let newest =
            values.last.flatMap { $0 }.map {
                "now " + (chart.seconds ? Format.age(Int64($0 * 1_000)) : Format.short($0) + chart.unit)
            }
            ?? "now –"
        let title =
            DisplayWidth.of(chart.title) + DisplayWidth.of(newest) + 2 <= titleRow.width ? chart.title : chart.short
        b.put(title, in: titleRow, style: Style(.accent, bold: true), ellipsis: g.ellipsis)
        if DisplayWidth.of(title) + DisplayWidth.of(newest) + 2 <= titleRow.width {
            b.put(newest, in: titleRow, style: .text, align: .right)
        }
        // Times: seconds on the 5-minute span, minutes on the longer ones. The day span crosses midnight: its
        // newest column's label carries the date (`12-06 14:00`, month-day as History writes days), so the
        // times before it read as the day before; short, so the first label still fits at 60 columns.
        func clock(_ column: Int) -> String {
            let ms = columns[column].startMs
            switch span {
            case .fiveMinutes: return Format.clock(ms)
            case .hour: return String(Format.clock(ms).prefix(5))
            case .day:
                let time = String(Format.clock(ms).prefix(5))
                return column == columns.count - 1 ? String(TimeText.date(ms: ms).dropFirst(5)) + " " + time : time
            }
        }
        Widgets.axisChart(
            &b, plot, values: values, top: scale, glyphs: g, yLabel: label, xLabel: clock,
            lastStyle: Style(.accent, bold: true))
    }

    /// The pipeline and each table with its events/s now: the cursor chooses what the charts show.
    static func scopeList(
        _ b: inout ScreenBuffer, _ rect: Rect, ids: [String], selected: Int, _ s: RunSnapshot, _ g: Glyphs
    ) -> Int {
        let inner = Widgets.box(&b, rect, title: "Scope (↑↓)", glyphs: g)
        let columns: [Widgets.Column] = [
            .init(title: "table", width: 10, align: .left, flexible: true, shortenMiddle: true),
            .init(title: "events/s", width: 8),
        ]
        let rates = Dictionary(
            s.diagnostics.tables.map { ($0.table, $0.eventsPerSecond) }, uniquingKeysWith: { a, _ in a })
        let rows = ids.map { id in
            Widgets.TableRow(cells: [
                id == pipelineID ? "all tables" : id,
                Format.rate(id == pipelineID ? s.kpis.eventsPerSecond : rates[id] ?? 0),
            ])
        }
        return Widgets.table(&b, inner, columns: columns, rows: rows, selected: selected, glyphs: g)
    }
}
