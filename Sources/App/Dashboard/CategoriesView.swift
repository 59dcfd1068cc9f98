import Metrics

/// View 3: every category; sortable by any column (s, S) and filterable (/).
enum CategoriesView {
    struct Line: Sendable, Hashable {
        var name: String
        var window: Money
        var lastFiveMinutes: Money
        var total: Money
        var share: Double
    }

    static func lines(_ model: DashboardModel, _ f: Figures) -> [Line] {
        let names = Set(f.categoryTotal.keys).union(f.categoryWindow.keys).union(f.categoryFiveMinutes.keys)
        let sum = f.categoryTotal.values.reduce(Money.zero) { $0.addingSaturating($1) }.approximateDouble
        let needle = model.filter.lowercased()
        var result = names.filter { needle.isEmpty || $0.lowercased().contains(needle) }.map { n in
            let total = f.categoryTotal[n] ?? .zero
            return Line(
                name: n, window: f.categoryWindow[n] ?? .zero, lastFiveMinutes: f.categoryFiveMinutes[n] ?? .zero,
                total: total, share: sum > 0 ? total.approximateDouble / sum : 0)
        }
        let descending = model.sortDescending
        result.sort { a, b in
            let ordered: Bool
            switch model.categorySort {
            case .name: ordered = a.name < b.name
            case .window: ordered = a.window != b.window ? a.window < b.window : a.name > b.name
            case .lastFiveMinutes:
                ordered =
                    a.lastFiveMinutes != b.lastFiveMinutes ? a.lastFiveMinutes < b.lastFiveMinutes : a.name > b.name
            case .total, .share: ordered = a.total != b.total ? a.total < b.total : a.name > b.name
            }
            return descending ? !ordered && a != b : ordered
        }
        return result
    }

    static func render(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        let f = Figures(s, nowMs: frame.nowMs)
        let all = lines(model, f)
        var title = "Categories · sorted by \(model.categorySort.title) \(model.sortDescending ? "desc" : "asc")"
        if !model.filter.isEmpty { title += " · filter /\(model.filter): \(all.count) match" }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, area, title: title, glyphs: g)
        // One scale for every amount on screen, so decimal points line up whatever the column's scale; each
        // amount column as wide as its widest amount, so none is cut (`123,456,789` of `123,456,789.1234`).
        let places = Format.moneyPlaces(all.lazy.flatMap { [$0.window, $0.lastFiveMinutes, $0.total] })
        func widest(_ amount: (Line) -> Money, _ least: Int) -> Int {
            all.reduce(least) { max($0, Format.money(amount($1), places: places).count + 1) }
        }
        let columns: [Widgets.Column] = [
            .init(title: "category", width: 14, align: .left, flexible: true),
            .init(title: "window", width: widest(\.window, 11), dropOrder: 1),
            .init(title: "last 5m", width: widest(\.lastFiveMinutes, 12), dropOrder: 2),
            .init(title: "total", width: widest(\.total, 14)),
            .init(title: "share", width: 6),
            .init(title: "", width: 10, align: .left, flexible: true, maxWidth: 100, dropOrder: 3),
        ]
        // Narrow: the bar goes first, then last 5m, then the window; name, total and share always stay.
        let resolved = Widgets.layout(columns, width: inner.width)
        let barWidth = resolved.last?.width ?? 10
        let rows = all.map { l in
            Widgets.TableRow(
                cells: [
                    l.name, Format.money(l.window, places: places), Format.money(l.lastFiveMinutes, places: places),
                    Format.money(l.total, places: places),
                    Format.fixed(l.share * 100, places: 1) + "%",
                    Widgets.barText(fraction: l.share, width: barWidth, glyphs: g),
                ],
                cellStyles: [5: .bar])
        }
        let sel = model.resolvedSelection("categories", ids: all.map(\.name))
        let page = Widgets.table(
            &b, inner, columns: columns, rows: rows, selected: sel, glyphs: g,
            sortColumn: model.categorySort.rawValue, sortDescending: model.sortDescending,
            emptyText: emptyText(model, f))
        return ListLayout(
            count: all.count, pageSize: page, selectedID: all.indices.contains(sel) ? all[sel].name : nil,
            selectedIndex: sel, listID: "categories", rowsTop: inner.y + 1)
    }
}

extension CategoriesView {
    /// Why the list is empty: no sales yet, a filter, or a profile that computes no categories.
    static func emptyText(_ model: DashboardModel, _ f: Figures) -> String {
        if f.noProfile { return "no profile for these topics: no categories (1 Overview says how to make one)" }
        if !f.hasCategories { return "category_sales is not in the profile: 8 KPIs shows the profile's KPIs" }
        return model.filter.isEmpty ? "no category sales yet" : "no category matches /\(model.filter) (Esc clears)"
    }
}

/// View 4: per topic-partition progress, lag (position and group-committed), trend and verdict;
/// sortable (`s`/`S`) and filterable by topic (`/`). Narrow terminals drop columns by priority, never the verdict.
enum LagView {
    static func render(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        var area = area
        // A viewer (a second `watch` on a busy state directory) commits nothing: its committed offsets and
        // group lag are the writer's group's (joined in by `Operations.snapshot`; a preview joins them here).
        var s = s
        var writerGroup: (name: String, known: Bool)?
        if let name = s.state.writerGroup {
            writerGroup = (name, s.consumer.adoptCommitted(ofGroup: name, from: s.integrations.groupLag))
        }
        if let groups = s.integrations.groupLag {  // --lag-groups: the other consumer groups below (LatencyView.swift)
            let h = GroupLagSection.height(groups, in: area)
            GroupLagSection.render(&b, Rect(x: area.x, y: area.maxY - h, width: area.width, height: h), groups, frame)
            area.height -= h
        }
        let g = frame.glyphs
        let regressions = s.consumer.offsetRegressions
        if !regressions.isEmpty, area.height >= 12 {
            // Offsets that went backwards (or messages deleted unread) mean wrong totals: said first, in red.
            let h = min(regressions.regressions.count, 3) + 3
            offsetRegressionBanner(&b, Rect(x: area.x, y: area.y, width: area.width, height: h), regressions, frame)
            area.y += h
            area.height -= h
        }
        let needle = model.filters["lag", default: ""].lowercased()
        let insights = Dictionary(
            s.consumer.partitions.map { (LagTracker.key($0), frame.lag.insight(for: $0, nowMs: frame.nowMs)) },
            uniquingKeysWith: { a, _ in a })
        var partitions = s.consumer.partitions.filter {
            needle.isEmpty || "\($0.topic)[\($0.partition)]".lowercased().contains(needle)
        }
        func lagMs(_ p: PartitionLag) -> Int64 {
            p.lagMs(nowMs: frame.nowMs)
        }
        func severity(_ p: PartitionLag) -> Int {
            regressions.regression(topic: p.topic, partition: p.partition) != nil
                ? 9 : insights[LagTracker.key(p)]?.verdict.severity ?? 0
        }
        let sort = model.lagSort
        partitions.sort { a, b in
            let byName = (a.topic, a.partition) < (b.topic, b.partition)
            if sort == .topic {
                return model.lagSortDescending ? (b.topic, b.partition) < (a.topic, a.partition) : byName
            }
            let (x, y): (Int64, Int64) =
                switch sort {
                case .topic: (0, 0)
                case .lag: (a.lag, b.lag)
                case .committedLag: (a.committedLag, b.committedLag)
                case .lagSeconds: (lagMs(a), lagMs(b))
                case .verdict: (Int64(severity(a)), Int64(severity(b)))
                }
            if x == y { return byName }
            return model.lagSortDescending ? x > y : x < y
        }
        // Debezium topics share "<prefix>.<schema>."; showing it once leaves room for the table names.
        let prefix = commonTopicPrefix(s.consumer.partitions.map(\.topic))
        let known = s.consumer.lagKnown
        let total =
            known
            ? "lag \(Format.count(s.consumer.totalLag)) msgs ("
                + (writerGroup.map {
                    "writer's group \($0.name) " + ($0.known ? Format.count(s.consumer.totalCommittedLag) : "…")
                } ?? "group \(Format.count(s.consumer.totalCommittedLag))") + ")"
            : "lag unknown (Kafka \(s.consumer.kafka.state.rawValue))"
        var title = (prefix.isEmpty ? "" : "Topics \(prefix)* · ") + total + " · sorted by \(sort.title)"
        if !needle.isEmpty { title += " · /\(needle): \(partitions.count) match" }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        // Trend charts under the partitions when the terminal has room for both.
        // The samples are built from the trend rings: once a frame, here.
        let samples = area.height >= s.consumer.partitions.count + 3 + 9 && area.width >= 60 ? frame.trends.samples : []
        if samples.count >= 2 {
            let (top, bottom) = area.splitTop(
                area.height - max(9, min(14, area.height - s.consumer.partitions.count - 3)))
            area = top
            trendCharts(&b, bottom, samples, glyphs: frame.glyphs)
        }
        let inner = Widgets.box(&b, area, title: title, glyphs: g)
        // Topic names get the room they need first; the trend takes what is left.
        let longestTopic = s.consumer.partitions.map { DisplayWidth.of($0.topic) - prefix.count }.max() ?? 5
        // At least 12 cells (narrow terminals drop offset columns first), so tables stay told apart.
        let topicWidth = max(min(longestTopic, 12), min(longestTopic, inner.width - 62 - 6))
        let all: [Widgets.Column] = [
            .init(title: "topic", width: topicWidth, align: .left, shortenMiddle: true), .init(title: "p", width: 2),
            .init(title: "committed", width: 9, dropOrder: 7), .init(title: "position", width: 8, dropOrder: 5),
            .init(title: "high wm", width: 8, dropOrder: 4),
            .init(title: "lag", width: 6), .init(title: "group lag", width: 9, dropOrder: 2),
            .init(title: "lag s", width: 6, dropOrder: 3),
            .init(title: "trend (top)", width: 6, align: .left, flexible: true, maxWidth: 120, dropOrder: 6),
            .init(title: "verdict", width: regressions.isEmpty ? 7 : 9, align: .left),
        ]
        let kept = Widgets.fitting(all, width: inner.width)
        let columns = kept.map { all[$0] }
        let trendIndex = kept.firstIndex(of: 8)
        let verdictIndex = kept.firstIndex(of: 9)!
        let resolved = Widgets.layout(columns, width: inner.width)
        var trendCells: [Int: (values: [Int64], scale: Double)] = [:]
        let rows = partitions.enumerated().map { i, p -> Widgets.TableRow in
            let insight = insights[LagTracker.key(p)] ?? frame.lag.insight(for: p, nowMs: frame.nowMs)
            // Scaled against one second of consumption, so a small steady lag does not look like a wall.
            trendCells[i] = (insight.trend, insight.consumeRate)
            let lagSeconds = p.lag > 0 && p.lastCommitTimeMs > 0 ? Format.age(p.lagMs(nowMs: frame.nowMs)) : "0s"
            // Offsets are positions, not quantities: raw digits like Kafka's own tools print them.
            func offset(_ v: Int64) -> String { v >= 0 ? String(v) : "–" }
            let regression = regressions.regression(topic: p.topic, partition: p.partition)
            let verdict =
                switch regression?.kind {
                case .backwards?: "BACKWARDS"
                case .deletedUnread?: "DELETED"
                case nil: insight.verdict == .unknown ? "…" : insight.verdict.rawValue
                }
            let cells = [
                String(p.topic.dropFirst(prefix.count)), String(p.partition),
                writerGroup?.known == false ? "…" : offset(p.committed), offset(p.position),
                offset(p.highWatermark), known ? Format.count(p.lag) : "?",
                !known ? "?" : writerGroup?.known == false ? "…" : Format.count(p.committedLag),
                lagSeconds, "", verdict,
            ]
            var row = Widgets.TableRow(cells: kept.map { cells[$0] })
            row.cellStyles[verdictIndex] =
                switch insight.verdict {
                case _ where regression != nil: Style(.bad, bold: true)
                case .ok: Style(.good, bold: true)
                case .lagging: Style(.warn, bold: true)
                case .stalled, .stopped: Style(.bad, bold: true)
                case .unknown: .dim
                }
            if regression != nil {
                // The offsets that disagree: the position and the end (or log start) it passed.
                for column in [3, 4] {
                    if let i = kept.firstIndex(of: column) { row.cellStyles[i] = Style(.bad, bold: true) }
                }
            }
            return row
        }
        let ids = partitions.map(LagTracker.key)
        let sel = model.resolvedSelection("lag", ids: ids)
        let sortColumn = kept.firstIndex(of: sort.column)
        let page = Widgets.table(
            &b, inner, columns: columns, rows: rows, selected: sel, glyphs: g,
            sortColumn: sortColumn, sortDescending: model.lagSortDescending,
            emptyText: needle.isEmpty ? "no partitions assigned yet" : "no partition matches /\(needle) (Esc clears)")
        // Sparklines drawn over the empty trend column of the visible rows.
        if let trendIndex {
            let trendWidth = resolved[trendIndex].width
            let first = sel >= page ? sel - page + 1 : 0
            let trendX = inner.x + resolved[0..<trendIndex].reduce(0) { $0 + $1.width + 1 }
            // Each sparkline carries its scale: the value its full height stands for, at its right.
            let scaleWidth = trendWidth >= 12 ? 5 : 0
            for i in first..<min(partitions.count, first + page) {
                let y = inner.y + 1 + i - first
                let values = (trendCells[i]?.values ?? []).map(Double.init)
                Widgets.sparkline(
                    &b, Rect(x: trendX, y: y, width: trendWidth - scaleWidth, height: 1),
                    values: values, glyphs: g, minimumScale: trendCells[i]?.scale ?? 0)
                if scaleWidth > 0 {
                    let top = max(values.suffix(trendWidth - scaleWidth).max() ?? 0, trendCells[i]?.scale ?? 0)
                    b.put(
                        Format.fit(Format.short(top), scaleWidth - 1, align: .right),
                        x: trendX + trendWidth - scaleWidth + 1, y: y, style: .dim)
                }
                if i == sel { b.restyle(Rect(x: trendX, y: y, width: trendWidth, height: 1)) { $0.reverse = true } }
            }
        }
        return ListLayout(
            count: partitions.count, pageSize: page, selectedID: ids.indices.contains(sel) ? ids[sel] : nil,
            selectedIndex: sel, listID: "lag", rowsTop: inner.y + 1)
    }

    /// What went wrong with which partition, and what to do: one line each (the newest three), then the advice.
    static func offsetRegressionBanner(
        _ b: inout ScreenBuffer, _ area: Rect, _ report: OffsetRegressionReport, _ frame: DashboardFrame
    ) {
        let g = frame.glyphs
        var title = "Offsets went backwards: \(report.backwardsTotal) times"
        if report.deletedUnreadTotal > 0 {
            title += " · \(Format.count(report.deletedUnreadTotal)) messages deleted unread"
        }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(
            &b, area, title: title, glyphs: g, style: Style(.bad), titleStyle: Style(.bad, bold: true))
        var y = 0
        for r in report.regressions.suffix(max(0, inner.height - 1)) {
            let state = r.ongoing ? "" : " (no longer, but the counts stay wrong)"
            b.put(
                "\(Format.clock(r.detectedAtMs)) \(r.summary)\(state)", in: inner.row(y),
                style: Style(.bad, bold: true), ellipsis: g.ellipsis)
            y += 1
        }
        b.put(
            OffsetRegression.advice, in: inner.row(min(y, inner.height - 1)), style: Style(.bad), ellipsis: g.ellipsis)
    }

    /// Events/s, lag (messages) and freshness over the last minutes, each with its scale and times.
    static func trendCharts(
        _ b: inout ScreenBuffer, _ area: Rect, _ samples: [TrendHistory.Sample], glyphs g: Glyphs
    ) {
        var charts: [(String, [Double])] = [
            ("Events/s", samples.map(\.eventsPerSecond)),
            ("Lag, messages", samples.map { Double(max(0, $0.lag)) }),
            ("Lag, seconds (oldest partition)", samples.map(\.lagSecondsMax)),
            ("Freshness, seconds", samples.map(\.freshnessSeconds)),
        ]
        if area.width < 120 { charts.remove(at: 2) }
        let cells = area.columns(charts.count, gap: 0)
        for (cell, (title, values)) in zip(cells, charts) {
            let inner = Widgets.box(&b, cell, title: title, glyphs: g)
            guard inner.width >= 12, inner.height >= 3 else { continue }
            Widgets.timeChart(
                &b, inner, values: values, glyphs: g, scaleLabel: Format.short,
                firstLabel: { Format.clock(samples[samples.count - $0].atMs) }, lastLabel: "now",
                caption: "1 col = 1 s")
        }
    }

    static func commonTopicPrefix(_ topics: [String]) -> String {
        guard topics.count > 1, var prefix = topics.first else { return "" }
        for t in topics.dropFirst() { while !t.hasPrefix(prefix) { prefix.removeLast() } }
        // Cut at the last dot so names stay whole.
        guard let dot = prefix.lastIndex(of: ".") else { return "" }
        return String(prefix[...dot])
    }
}
