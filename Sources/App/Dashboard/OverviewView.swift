import Metrics
import Pipeline

/// View 1: KPI tiles, revenue per window, top categories; per-table summary when there is room.
enum OverviewView {
    static func render(_ b: inout ScreenBuffer, _ area: Rect, _ s: RunSnapshot, _ frame: DashboardFrame) {
        let g = frame.glyphs
        let f = Figures(s, nowMs: frame.nowMs)
        let windowSeconds = "\(f.windowMs / 1_000)s"
        // A figure the profile does not compute is "–", never a 0 that reads as the business's number.
        let absent = f.noProfile ? "no profile" : "not in profile"
        func kpi(
            _ has: Bool, _ title: String, _ value: @autoclosure () -> String, _ sub: @autoclosure () -> String,
            _ style: Style
        ) -> (String, String, String, Style) {
            has ? (title, value(), sub(), style) : (title, "–", absent, .dim)
        }
        let tiles: [(String, String, String, Style)] = [
            // The window holding the newest commit is still filling: say how much of it has passed. Once the
            // watermark closed it (heartbeats prove the source quiet), the pipeline is idle, not mid-window.
            kpi(
                f.hasRevenue, "Window revenue", Format.money(f.currentWindow?.revenue ?? .zero),
                s.kpis.idleSinceMs.map { "idle since \(Format.clock($0))" }
                    ?? f.currentWindow.map {
                        "partial \(Format.age(min(f.windowMs, s.kpis.maxCommitTimeMs - $0.windowStartMs + 1)).replacingAll(".0s", with: "s"))/\(windowSeconds)"
                    }
                    ?? "no window yet", .good),
            kpi(
                f.hasRevenue, "Last 5m revenue", Format.money(f.lastFiveMinutesRevenue),
                f.hasTransactions ? "\(Format.count(f.lastFiveMinutesTx)) tx" : "last 5 minutes", .good),
            kpi(f.hasRevenue, "Total revenue", Format.money(f.totalRevenue), "since start", .text),
            kpi(
                f.hasRevenue && f.hasTransactions, "Avg ticket", f.averageTicket.map(Format.money) ?? "–",
                "revenue ÷ tx", .text),
            kpi(
                f.hasTransactions, "Transactions", Format.count(f.totalTx),
                Format.fixed(f.txPerSecond, places: 1) + " new tx/s", .text),
            (
                "Events/s", Format.rate(s.kpis.eventsPerSecond).replacingAll("/s", with: ""),
                Format.count(s.kpis.result.messages) + " msgs", .text
            ),
            lagTile(s),
            ("Freshness", f.freshnessMs.map(Format.age) ?? "–", "now − last commit", freshnessStyle(f.freshnessMs)),
        ]
        // "Caught up" comes from the lag itself (at most about a second of traffic behind), not from
        // every partition reaching its end at the same moment, which never happens under steady
        // traffic; with Kafka down or nothing assigned the lag is unknown, not zero.
        func lagTile(_ s: RunSnapshot) -> (String, String, String, Style) {
            guard s.consumer.lagKnown else {
                return (
                    "Total lag", "unknown",
                    s.consumer.kafka.state == .error
                        ? "Kafka unreachable" : s.consumer.kafka.state == .stalled ? "Kafka stalled" : "connecting…",
                    .warn
                )
            }
            let caughtUp = s.lagCaughtUp
            // A startup backlog says how old it is: that is its "latency", not the consumer's.
            let behind = s.consumer.backlog.flatMap {
                $0.reachedMs > 0 ? "oldest \(Format.age(max(0, frame.nowMs - $0.reachedMs))) ago" : nil
            }
            return (
                "Total lag", Format.count(s.consumer.totalLag) + " msgs",
                caughtUp ? "caught up" : behind ?? "catching up…",
                caughtUp ? .good : .warn
            )
        }
        let tileHeight = 4
        let (tileArea, belowTiles) = area.splitTop(tileHeight * 2)
        // --transactions complete: one line on what the KPIs wait for.
        let rest = transactionsLine(&b, belowTiles, s, g)
        for row in 0..<2 {
            let cells = Rect(x: tileArea.x, y: tileArea.y + row * tileHeight, width: tileArea.width, height: tileHeight)
                .columns(4, gap: 0)
            for (i, cell) in cells.enumerated() {
                let (title, value, sub, style) = tiles[row * 4 + i]
                var t = title
                if g == .ascii { t = t.replacingAll("·", with: "-") }
                let inner = Widgets.box(&b, cell, title: t, glyphs: g, titleStyle: .dim)
                b.put(value, in: inner, row: 0, style: style.bolded, align: .right, ellipsis: g.ellipsis)
                b.put(
                    g == .ascii
                        ? sub.replacingAll("÷", with: "/").replacingAll("−", with: "-").replacingAll("…", with: "...")
                        : sub,
                    in: inner, row: 1, style: .dim, align: .right, ellipsis: g.ellipsis)
            }
        }
        guard rest.height >= 4 else { return }
        // On tall terminals the lower part shows the tables too; the charts keep a readable height.
        var chartsArea = rest
        var tablesArea: Rect?
        if rest.height >= 24 {
            let (top, bottom) = rest.splitTop(max(12, rest.height / 2))
            chartsArea = top
            tablesArea = bottom
        }
        if f.noProfile {
            // Instead of a flat chart and an empty list: why there are no KPIs, and how to get them.
            var area = chartsArea
            if let connect = frame.connect, area.height >= 14 {
                let (top, bottom) = area.splitTop(area.height - min(area.height / 2, 3 + 2 * connect.connectors.count))
                area = top
                connectorsPanel(&b, bottom, connect, s, frame)
            }
            noProfilePanel(&b, area, s, g)
        } else {
            revenueAndCategories(&b, chartsArea, s, f, frame)
        }
        if let tablesArea {
            let inner = Widgets.box(&b, tablesArea, title: "Tables (2 for details)", glyphs: g)
            Widgets.table(
                &b, inner, columns: TablesView.columns, rows: TablesView.rows(s, nowMs: frame.nowMs),
                selected: nil, glyphs: g)
        }
    }

    /// "Whole transactions only: 3 open (oldest 1.2s, 41 events, 0.3% of events waiting) · 1,204 whole · 0 timed out";
    /// the area below it (all of it without `--transactions complete`).
    static func transactionsLine(_ b: inout ScreenBuffer, _ area: Rect, _ s: RunSnapshot, _ g: Glyphs) -> Rect {
        guard let t = s.kpis.transactions, area.height >= 5 else { return area }
        let (line, below) = area.splitTop(1)
        let text = "Whole transactions only: " + t.summary
        b.put(
            g == .ascii ? text.replacingAll("·", with: "-") : text, in: line, row: 0,
            style: t.incomplete > 0 ? .warn : .dim, ellipsis: g.ellipsis)
        return below
    }

    static func noProfilePanel(_ b: inout ScreenBuffer, _ rect: Rect, _ s: RunSnapshot, _ g: Glyphs) {
        let inner = Widgets.box(
            &b, rect, title: "KPIs: no profile for these topics", glyphs: g, titleStyle: Style(.warn, bold: true))
        let lines = NoProfile.lines(s)
        let top = max(0, (inner.height - lines.count) / 2)
        for (i, (line, style)) in lines.enumerated() where top + i < inner.height {
            b.put(
                g == .ascii ? line.replacingAll("…", with: "...") : line,
                in: Rect(x: inner.x + 1, y: inner.y + top + i, width: inner.width - 1, height: 1), style: style,
                ellipsis: g.ellipsis)
        }
    }

    static func revenueAndCategories(
        _ b: inout ScreenBuffer, _ chartsArea: Rect, _ s: RunSnapshot, _ f: Figures, _ frame: DashboardFrame
    ) {
        let g = frame.glyphs
        let (left, right) = chartsArea.splitLeft(chartsArea.width * 3 / 5)
        revenueChart(&b, left, s, f, g)
        if let connect = frame.connect, right.height >= 8 {
            // Connector health under the categories: a dead connector explains a flat chart.
            let (categories, connectors) = right.splitTop(
                right.height - min(right.height / 2, 3 + 2 * connect.connectors.count))
            topCategories(&b, categories, f, g)
            connectorsPanel(&b, connectors, connect, s, frame)
        } else {
            topCategories(&b, right, f, g)
        }
    }

    /// A built-in figure a model profile does not define: its panel says so and where the profile's own KPIs are.
    static func notInProfile(_ b: inout ScreenBuffer, _ inner: Rect, kpi: String, _ g: Glyphs) {
        let lines = ["\(kpi) not in profile", "[kpi.\(kpi)] adds it", "8 KPIs: the profile's KPIs"]
        let top = max(0, (inner.height - lines.count) / 2)
        for (i, line) in lines.enumerated() where top + i < inner.height {
            b.put(line, in: inner.row(top + i), style: i == 0 ? .text : .dim, align: .center, ellipsis: g.ellipsis)
        }
    }

    /// One line per connector (state, running tasks, the failure's first trace line) and the heartbeat age.
    static func connectorsPanel(
        _ b: inout ScreenBuffer, _ rect: Rect, _ report: ConnectHealthReport, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) {
        let g = frame.glyphs
        let inner = Widgets.box(&b, rect, title: "Kafka Connect", glyphs: g)
        guard inner.height > 0 else { return }
        var row = 0
        if let error = report.pollError {
            b.put(error, in: inner, row: row, style: Style(.bad, bold: true), ellipsis: g.ellipsis)
            row += 1
        } else if report.checkedAtMs == 0 {
            b.put("polling \(report.url)…", in: inner, row: row, style: .dim, ellipsis: g.ellipsis)
            row += 1
        } else if report.connectors.isEmpty {
            b.put("no connectors on \(report.url)", in: inner, row: row, style: .warn, ellipsis: g.ellipsis)
            row += 1
        }
        // This pipeline's connectors (writing the watched topics) are listed; the worker's others are counted.
        let (watched, others) = (frame.connectScope.watched, frame.connectScope.others)
        for connector in watched where row < inner.height {
            let state = connector.overallState
            let style: Style =
                switch state {
                case .running: .good
                case .failed: Style(.bad, bold: true)
                default: .warn
                }
            let running = connector.tasks.filter { $0.state == .running }.count
            let line = "\(g.dot) \(connector.name) \(state.rawValue) · tasks \(running)/\(connector.tasks.count)"
            b.put(
                g == .ascii ? line.replacingAll("·", with: "-") : line, in: inner, row: row, style: style,
                ellipsis: g.ellipsis)
            row += 1
            if let reason = connector.failureReason, row < inner.height {
                b.put("  " + reason, in: inner, row: row, style: .bad, ellipsis: g.ellipsis)
                row += 1
            }
        }
        if !others.isEmpty, row < inner.height - 1 {
            let names = others.map(\.name).joined(separator: ", ")
            b.put(
                "+\(others.count) other connector\(others.count == 1 ? "" : "s") (c): \(names)",
                in: inner, row: row, style: .dim, ellipsis: g.ellipsis)
            row += 1
        }
        if row < inner.height {
            var heartbeat =
                s.kpis.lastHeartbeatMs > 0
                ? "heartbeat \(Format.age(max(0, frame.nowMs - s.kpis.lastHeartbeatMs))) ago · \(Format.count(s.kpis.heartbeats)) seen"
                : "no heartbeat topic followed"
            if g == .ascii { heartbeat = heartbeat.replacingAll("·", with: "-") }
            b.put(heartbeat, in: inner, row: inner.height - 1, style: .dim, ellipsis: g.ellipsis)
        }
    }

    static func freshnessStyle(_ ms: Int64?) -> Style {
        guard let ms else { return .dim }
        return ms < 5_000 ? .good : ms < 60_000 ? .warn : .bad
    }

    /// Revenue per window over event time, with its scale and the windows' times; the last column is the
    /// window still filling (partial), drawn highlighted.
    static func revenueChart(_ b: inout ScreenBuffer, _ rect: Rect, _ s: RunSnapshot, _ f: Figures, _ g: Glyphs) {
        let inner = Widgets.box(
            &b, rect, title: "Revenue per \(f.windowMs / 1_000)s window (last = partial)", glyphs: g)
        guard inner.height >= 1, inner.width >= 12 else { return }
        guard f.hasRevenue else { return notInProfile(&b, inner, kpi: "revenue", g) }
        let series = Figures.revenueSeries(s, count: inner.width)
        if series.isEmpty {
            b.put("no windows yet", in: inner, row: inner.height / 2, style: .dim, align: .center)
            return
        }
        let lastStart = s.kpis.maxCommitTimeMs - s.kpis.maxCommitTimeMs % f.windowMs
        let now = f.currentWindow?.revenue ?? .zero
        let caption =
            s.kpis.idleSinceMs.map { "last \(Format.money(now)), idle since \(Format.clock($0))" }
            ?? "now \(Format.money(now)) (partial)"
        if inner.height < 3 {
            // Too low for a chart with axes (60×16): a sparkline with its top value, and the caption under it.
            // The label is the top of the values drawn, and its width decides how many are drawn: widen until the
            // label of what remains fits (the width only grows, so this ends).
            var labelWidth = 1
            var top = Format.short(series.suffix(inner.width - labelWidth).max() ?? 0)
            while DisplayWidth.of(top) + 1 > labelWidth {
                labelWidth = DisplayWidth.of(top) + 1
                top = Format.short(series.suffix(inner.width - labelWidth).max() ?? 0)
            }
            b.put(top, x: inner.x, y: inner.y, style: .dim)
            Widgets.sparkline(
                &b, Rect(x: inner.x + labelWidth, y: inner.y, width: inner.width - labelWidth, height: 1),
                values: series, glyphs: g)
            if inner.height == 2 { b.put(caption, in: inner.row(1), style: .dim, align: .right, ellipsis: g.ellipsis) }
            return
        }
        Widgets.timeChart(
            &b, inner, values: series, glyphs: g, scaleLabel: Format.short,
            firstLabel: { String(Format.clock(lastStart - Int64($0 - 1) * f.windowMs).prefix(5)) },
            lastLabel: String(Format.clock(lastStart).prefix(5)), caption: caption, highlightLast: true)
    }

    static func topCategories(_ b: inout ScreenBuffer, _ rect: Rect, _ f: Figures, _ g: Glyphs) {
        let inner = Widgets.box(&b, rect, title: "Top categories (total)", glyphs: g)
        guard inner.height > 0 else { return }
        guard f.hasCategories else { return notInProfile(&b, inner, kpi: "category_sales", g) }
        let sorted = f.categoryTotal.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        if sorted.isEmpty {
            b.put("no category sales yet", in: inner, style: .dim, align: .center)
            return
        }
        let top = sorted.first!.value.approximateDouble
        let nameWidth = min(14, max(6, sorted.prefix(inner.height).map { DisplayWidth.of($0.key) }.max() ?? 6))
        let valueWidth = min(14, sorted.prefix(inner.height).map { Format.money($0.value).count }.max() ?? 6)
        for (i, (name, value)) in sorted.prefix(inner.height).enumerated() {
            let row = inner.row(i)
            b.put(Format.fit(name, nameWidth, ellipsis: g.ellipsis), x: row.x, y: row.y, style: .text)
            let barWidth = row.width - nameWidth - valueWidth - 2
            let fraction = top > 0 ? value.approximateDouble / top : 0
            b.put(
                Widgets.barText(fraction: fraction, width: barWidth, glyphs: g), x: row.x + nameWidth + 1, y: row.y,
                style: .bar)
            b.put(
                Format.fit(Format.money(value), valueWidth, align: .right), x: row.maxX - valueWidth, y: row.y,
                style: .text)
        }
    }
}
