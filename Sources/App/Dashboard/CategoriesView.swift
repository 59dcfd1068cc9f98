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
            return Line(name: n, window: f.categoryWindow[n] ?? .zero, lastFiveMinutes: f.categoryFiveMinutes[n] ?? .zero,
                        total: total, share: sum > 0 ? total.approximateDouble / sum : 0)
        }
        let descending = model.sortDescending
        result.sort { a, b in
            let ordered: Bool
            switch model.categorySort {
            case .name: ordered = a.name < b.name
            case .window: ordered = a.window != b.window ? a.window < b.window : a.name > b.name
            case .lastFiveMinutes: ordered = a.lastFiveMinutes != b.lastFiveMinutes ? a.lastFiveMinutes < b.lastFiveMinutes : a.name > b.name
            case .total, .share: ordered = a.total != b.total ? a.total < b.total : a.name > b.name
            }
            return descending ? !ordered && a != b : ordered
        }
        return result
    }

    static func render(_ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: KPISnapshot,
                       _ frame: DashboardFrame) -> ListLayout {
        let g = frame.glyphs
        let f = Figures(s, nowMs: frame.nowMs)
        let all = lines(model, f)
        var title = "Categories · sorted by \(model.categorySort.title) \(model.sortDescending ? "desc" : "asc")"
        if !model.filter.isEmpty { title += " · filter /\(model.filter): \(all.count) match" }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, area, title: title, glyphs: g)
        let columns: [Widgets.Column] = [
            .init(title: "category", width: 14, align: .left, flexible: true),
            .init(title: "window", width: 11), .init(title: "last 5m", width: 12), .init(title: "total", width: 14),
            .init(title: "share", width: 6), .init(title: "", width: 10, align: .left, flexible: true, maxWidth: 100),
        ]
        let resolved = Widgets.layout(columns, width: inner.width)
        let barWidth = resolved.last?.width ?? 10
        let rows = all.map { l in
            Widgets.TableRow(cells: [l.name, Format.money(l.window), Format.money(l.lastFiveMinutes), Format.money(l.total),
                                     Format.fixed(l.share * 100, places: 1) + "%",
                                     Widgets.barText(fraction: l.share, width: barWidth, glyphs: g)],
                             cellStyles: [5: .bar])
        }
        let sel = min(model.selection["categories"] ?? 0, max(0, all.count - 1))
        let page = Widgets.table(&b, inner, columns: columns, rows: rows, selected: sel, glyphs: g,
                                 sortColumn: model.categorySort.rawValue, sortDescending: model.sortDescending,
                                 emptyText: model.filter.isEmpty ? "no category sales yet" : "no category matches /\(model.filter) (Esc clears)")
        return ListLayout(count: all.count, pageSize: page, selectedID: all.indices.contains(sel) ? all[sel].name : nil)
    }
}

/// View 4: per topic-partition progress, lag, trend and verdict.
enum LagView {
    static func render(_ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: KPISnapshot,
                       _ frame: DashboardFrame) -> ListLayout {
        var area = area
        if let groups = s.groupLag {   // --lag-groups: the other consumer groups below (LatencyView.swift)
            let h = GroupLagSection.height(groups, in: area)
            GroupLagSection.render(&b, Rect(x: area.x, y: area.maxY - h, width: area.width, height: h), groups, frame)
            area.height -= h
        }
        let g = frame.glyphs
        let partitions = s.partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        // Debezium topics share "<prefix>.<schema>."; showing it once leaves room for the table names.
        let prefix = commonTopicPrefix(partitions.map(\.topic))
        var title = (prefix.isEmpty ? "" : "Topics \(prefix)* · ") + "lag \(Format.count(s.totalLag)) msgs · verdicts over \(frame.lag.windowMs / 1_000)s"
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, area, title: title, glyphs: g)
        // Topic names get the room they need first; the trend takes what is left.
        let longestTopic = partitions.map { DisplayWidth.of($0.topic) - prefix.count }.max() ?? 5
        let topicWidth = max(5, min(longestTopic, inner.width - 53 - 6))
        let columns: [Widgets.Column] = [
            .init(title: "topic", width: topicWidth, align: .left), .init(title: "p", width: 2),
            .init(title: "committed", width: 9), .init(title: "position", width: 8), .init(title: "high wm", width: 8),
            .init(title: "lag", width: 6), .init(title: "lag s", width: 6),
            .init(title: "trend", width: 6, align: .left, flexible: true, maxWidth: 120), .init(title: "verdict", width: 7, align: .left),
        ]
        let resolved = Widgets.layout(columns, width: inner.width)
        let trendWidth = resolved[7].width
        var trendCells: [Int: (values: [Int64], scale: Double)] = [:]
        let rows = partitions.enumerated().map { i, p -> Widgets.TableRow in
            let insight = frame.lag.insight(for: p, nowMs: frame.nowMs)
            // Scaled against one second of consumption, so a small steady lag does not look like a wall.
            trendCells[i] = (insight.trend, insight.consumeRate)
            let lagSeconds = p.lag > 0 && p.lastCommitTimeMs > 0 ? Format.age(frame.nowMs - p.lastCommitTimeMs) : "0s"
            // Offsets are positions, not quantities: raw digits like Kafka's own tools print them.
            func offset(_ v: Int64) -> String { v >= 0 ? String(v) : "–" }
            var row = Widgets.TableRow(cells: [String(p.topic.dropFirst(prefix.count)), String(p.partition), offset(p.committed), offset(p.position),
                                               offset(p.highWatermark), Format.count(p.lag), lagSeconds, "",
                                               insight.verdict.rawValue])
            row.cellStyles[8] = switch insight.verdict {
            case .ok: Style(.good, bold: true)
            case .lagging: Style(.warn, bold: true)
            case .stalled: Style(.bad, bold: true)
            case .warmingUp: .dim
            }
            return row
        }
        let sel = min(model.selection["lag"] ?? 0, max(0, partitions.count - 1))
        let page = Widgets.table(&b, inner, columns: columns, rows: rows, selected: sel, glyphs: g,
                                 emptyText: "no partitions assigned yet")
        // Sparklines drawn over the empty trend column of the visible rows.
        let first = sel >= page ? sel - page + 1 : 0
        let trendX = inner.x + resolved[0..<7].reduce(0) { $0 + $1.width + 1 }
        for i in first..<min(partitions.count, first + page) {
            let y = inner.y + 1 + i - first
            Widgets.sparkline(&b, Rect(x: trendX, y: y, width: trendWidth, height: 1),
                              values: (trendCells[i]?.values ?? []).map(Double.init), glyphs: g,
                              minimumScale: trendCells[i]?.scale ?? 0)
            if i == sel { b.restyle(Rect(x: trendX, y: y, width: trendWidth, height: 1)) { $0.reverse = true } }
        }
        return ListLayout(count: partitions.count, pageSize: page,
                          selectedID: partitions.indices.contains(sel) ? LagTracker.key(partitions[sel]) : nil)
    }

    static func commonTopicPrefix(_ topics: [String]) -> String {
        guard topics.count > 1, var prefix = topics.first else { return "" }
        for t in topics.dropFirst() { while !t.hasPrefix(prefix) { prefix.removeLast() } }
        // Cut at the last dot so names stay whole.
        guard let dot = prefix.lastIndex(of: ".") else { return "" }
        return String(prefix[...dot])
    }
}
