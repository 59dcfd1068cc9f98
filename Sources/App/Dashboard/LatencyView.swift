import Metrics

/// View 7: where the time of a change goes, per table — source commit → Debezium → Kafka → cdctop,
/// median and p99 of each hop over the last minute, and which hop is the slowest.
enum LatencyView {
    static func render(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        let arrow = g == .ascii ? ">" : "→"
        var title = "Latency · source \(arrow) Debezium \(arrow) Kafka \(arrow) cdctop · median, p99 · last 60s"
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, area, title: title, glyphs: g)
        // Fits 80 columns: each hop is its median then its p99.
        let columns: [Widgets.Column] = [
            .init(title: "table", width: 12, align: .left, flexible: true, maxWidth: 30, shortenMiddle: true),
            .init(title: "events", width: 6, dropOrder: 4),
            .init(title: "src\(arrow)dbz", width: 7), .init(title: "p99", width: 7, dropOrder: 3),
            .init(title: "dbz\(arrow)kfk", width: 7), .init(title: "p99", width: 7, dropOrder: 2),
            .init(title: "kfk\(arrow)cdc", width: 7), .init(title: "p99", width: 7, dropOrder: 1),
            .init(title: "slowest", width: 10, align: .left),
        ]
        let tables = s.diagnostics.latency
        let rows = tables.map { t -> Widgets.TableRow in
            let hops = LatencyHop.allCases.map { t.hop($0) }
            func cell(_ h: HopLatency, _ ms: Int64) -> String { h.count > 0 ? duration(ms) : "–" }
            // The hop whose median is largest is where a slow pipeline loses its time.
            let slowest = LatencyHop.allCases.filter { t.hop($0).count > 0 }.max { t.hop($0).p50Ms < t.hop($1).p50Ms }
            var row = Widgets.TableRow(cells: [
                t.table, Format.count(hops.map(\.count).max() ?? 0),
                cell(hops[0], hops[0].p50Ms), cell(hops[0], hops[0].p99Ms),
                cell(hops[1], hops[1].p50Ms), cell(hops[1], hops[1].p99Ms),
                cell(hops[2], hops[2].p50Ms), cell(hops[2], hops[2].p99Ms),
                slowest.map { name($0) } ?? "–",
            ])
            if let slowest {
                let column = 2 + slowest.rawValue * 2
                row.cellStyles[column] = Style(.warn, bold: true)
                row.cellStyles[8] = Style(.warn, bold: true)
            }
            if hops.allSatisfy({ $0.count == 0 }) { row.style = .dim }
            return row
        }
        let sel = min(model.selection["latency"] ?? 0, max(0, tables.count - 1))
        var tableArea = inner
        // A startup backlog is how old the unread messages are, not how slow the consumer is (issue 22):
        // said apart, and kept out of the kafka→cdctop column.
        if let backlog = s.consumer.backlog, inner.height > 3 {
            let note =
                backlog.line(nowMs: frame.nowMs)
                + " · kfk\(arrow)cdc counts live events only (\(Format.count(backlog.eventsRead)) read from the backlog)"
            b.put(
                g == .ascii ? note.replacingAll("·", with: "-") : note, in: inner.row(0),
                style: Style(.warn, bold: true), ellipsis: g.ellipsis)
            tableArea.y += 1
            tableArea.height -= 1
        }
        // A note on clock skew, when a later clock read before an earlier one.
        let skewed = tables.reduce(Int64(0)) { sum, t in
            sum + LatencyHop.allCases.reduce(Int64(0)) { $0 + t.hop($1).negative }
        }
        if skewed > 0 && inner.height > 3 {
            tableArea.height -= 1
            b.put(
                "\(Format.count(skewed)) hops had a clock earlier than the one before it (skew): counted as 0 ms",
                in: inner.row(inner.height - 1), style: Style(.warn), ellipsis: g.ellipsis)
        }
        let page = Widgets.table(
            &b, tableArea, columns: columns, rows: rows, selected: sel, glyphs: g,
            emptyText: "no change events in the last minute (snapshot reads and unwrapped records carry fewer clocks)")
        return ListLayout(
            count: tables.count, pageSize: page, selectedID: tables.indices.contains(sel) ? tables[sel].table : nil)
    }

    static func name(_ hop: LatencyHop) -> String {
        switch hop {
        case .sourceToDebezium: "Debezium"
        case .debeziumToKafka: "Kafka"
        case .kafkaToCdctop: "consumer"
        }
    }

    /// "0ms", "850ms", "4.2s", "3m05s".
    static func duration(_ ms: Int64) -> String { Format.age(ms) }
}

/// The Lag view's section for the pipeline's OTHER consumer groups (`--lag-groups`), as Burrow shows them.
enum GroupLagSection {
    /// Rows the section wants: a border, a header and one line per partition (at most half the area).
    static func height(_ report: GroupLagReport, in area: Rect) -> Int {
        let notes = (report.error == nil ? 0 : 1) + (report.groups.contains { $0.deletedUnread > 0 } ? 1 : 0)
        return min(max(4, report.partitions.count + 3 + notes), area.height / 2)
    }

    static func render(_ b: inout ScreenBuffer, _ area: Rect, _ report: GroupLagReport, _ frame: DashboardFrame) {
        let g = frame.glyphs
        let verdicts = report.groups.map { "\($0.group) \($0.verdict.rawValue)" }.joined(separator: ", ")
        var title = "Other groups · \(verdicts.isEmpty ? "none found" : verdicts)"
        if report.unwatchedGroups > 0 { title += " · \(report.unwatchedGroups) more match, not watched (at most 50)" }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, area, title: title, glyphs: g)
        var tableArea = inner
        let groupError = report.groups.compactMap { group in group.error.map { "\(group.group): \($0)" } }.first
        if let error = report.error ?? groupError, inner.height > 2 {
            b.put(error, in: inner.row(inner.height - 1), style: Style(.bad), ellipsis: g.ellipsis)
            tableArea.height -= 1
        }
        // Messages deleted before a group read them are gone for it: said in red, above the table.
        let deleted = report.groups.filter { $0.deletedUnread > 0 }
        if !deleted.isEmpty, tableArea.height > 2 {
            let text = deleted.map { group -> String in
                let parts = report.partitions.filter { $0.group == group.group && $0.deletedUnread > 0 }
                    .map { "\($0.topic)[\($0.partition)]: log start \($0.logStart) > committed \($0.committed)" }
                return
                    "\(group.group) lost \(Format.count(group.deletedUnread)) messages deleted before it read them (\(parts.joined(separator: ", ")))"
            }.joined(separator: "; ")
            b.put(text, in: tableArea.row(0), style: Style(.bad, bold: true), ellipsis: g.ellipsis)
            tableArea.y += 1
            tableArea.height -= 1
        }
        let columns: [Widgets.Column] = [
            .init(title: "group", width: 10, align: .left, flexible: true, maxWidth: 24, shortenMiddle: true),
            .init(title: "topic", width: 12, align: .left, flexible: true, maxWidth: 40, shortenMiddle: true),
            .init(title: "p", width: 2),
            .init(title: "log start", width: 9, dropOrder: 4),
            .init(title: "committed", width: 9, dropOrder: 3), .init(title: "high wm", width: 8, dropOrder: 2),
            .init(title: "lag", width: 7), .init(title: "lag s", width: 7, dropOrder: 1),
            .init(title: "verdict", width: 7, align: .left),
        ]
        func offset(_ v: Int64) -> String { v >= 0 ? String(v) : "–" }
        // Without the topics' shared "<prefix>.<schema>." (the partitions' title above names it):
        // `shop.pub…saction` left too little of the table's name.
        let prefix = LagView.commonTopicPrefix(report.partitions.map(\.topic))
        let rows = report.partitions.map { p -> Widgets.TableRow in
            let cells = [
                p.group, String(p.topic.dropFirst(prefix.count)), String(p.partition), offset(p.logStart),
                offset(p.committed), offset(p.highWatermark),
                Format.count(p.lag), p.lag > 0 ? Format.age(p.lagMs) : "0s", p.verdict.rawValue,
            ]
            var row = Widgets.TableRow(cells: cells)
            row.cellStyles[8] =
                switch p.verdict {
                case .ok: Style(.good, bold: true)
                case .lagging: Style(.warn, bold: true)
                case .stalled, .stopped: Style(.bad, bold: true)
                case .unknown: .dim
                }
            if p.deletedUnread > 0 {
                row.cellStyles[3] = Style(.bad, bold: true)
                row.cellStyles[4] = Style(.bad, bold: true)
            }
            return row
        }
        Widgets.table(
            &b, tableArea, columns: columns, rows: rows, selected: nil, glyphs: g,
            emptyText: report.checkedAtMs == 0
                ? "asking the cluster for the groups' offsets…" : "no committed offsets on these topics")
    }
}
