import Metrics

/// View 9: snapshot progress (issue 22) — per connector, then per table: rows read of the estimate,
/// percent, rate, ETA, tables done of total, when it started and how long it took. Initial and
/// incremental snapshots; from Debezium's notification topic when it is read, else from the `op` r rows.
enum SnapshotView {
    static func render(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        let report = s.kpis.snapshots
        var title = "Snapshots · \(report.active.count) running · \(report.snapshots.count) seen"
        if report.notificationsRead > 0 { title += " · \(report.notificationsRead) notifications" }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, area, title: title, glyphs: g)
        let columns: [Widgets.Column] = [
            .init(
                title: "connector / table", width: 16, align: .left, flexible: true, maxWidth: 34, shortenMiddle: true),
            .init(title: "state", width: 9, align: .left),
            .init(title: "progress", width: 12, align: .left, dropOrder: 3),
            .init(title: "%", width: 5),
            .init(title: "rows", width: 10),
            .init(title: "estimate", width: 10, dropOrder: 2),
            .init(title: "rows/s", width: 9),
            .init(title: "ETA", width: 7),
            .init(title: "tables", width: 6, dropOrder: 1),
            .init(title: "took", width: 7, dropOrder: 4),
        ]
        var rows: [Widgets.TableRow] = []
        var ids: [String] = []
        for run in report.snapshots {
            let idle = run.phase == .running && run.lastActivityMs > 0 ? frame.nowMs - run.lastActivityMs : 0
            let stalled =
                frame.alerts.map { run.stalled(nowMs: frame.nowMs, stalledMs: $0.rules.snapshotStalledMs) } ?? false
            var state = run.phase.rawValue
            if stalled { state = "stalled" }
            let took = run.startedAtMs > 0 ? ((run.endedAtMs > 0 ? run.endedAtMs : frame.nowMs) - run.startedAtMs) : nil
            var row = Widgets.TableRow(cells: [
                "\(run.connector) · \(run.kind.rawValue)",
                state,
                bar(run.percent, glyphs: g),
                percentText(run.percent),
                Format.count(run.rowsRead),
                run.rowsEstimated.map(Format.count) ?? "?",
                run.rowsPerSecond.map(Format.rate) ?? "–",
                etaText(run.etaSeconds),
                "\(run.tablesDone)/\(run.tablesTotal.map(String.init) ?? "?")",
                took.map(Format.age) ?? "–",
            ])
            row.style = Style(.text, bold: true)
            switch run.phase {
            case .completed: row.cellStyles[1] = Style(.good, bold: true)
            case .aborted, .skipped: row.cellStyles[1] = Style(.bad, bold: true)
            case .paused: row.cellStyles[1] = Style(.warn, bold: true)
            case .running: row.cellStyles[1] = stalled ? Style(.bad, bold: true) : Style(.accent, bold: true)
            }
            if idle > 10_000, run.phase == .running { row.cells[9] = "idle \(Format.age(idle))" }
            rows.append(row)
            ids.append(run.connector + "/" + run.kind.rawValue)
            for t in run.tables {
                let tookTable =
                    t.startedAtMs > 0 && t.endedAtMs > t.startedAtMs ? Format.age(t.endedAtMs - t.startedAtMs) : "–"
                var r = Widgets.TableRow(cells: [
                    "  " + t.table,
                    t.state.rawValue,
                    bar(t.percent, glyphs: g),
                    percentText(t.percent),
                    Format.count(t.rowsRead),
                    t.rowsEstimated.map(Format.count) ?? "?",
                    t.state == .running || t.state == .done ? (t.rowsPerSecond.map(Format.rate) ?? "–") : "",
                    t.state == .waiting ? "" : etaText(t.etaSeconds),
                    "",
                    tookTable,
                ])
                switch t.state {
                case .waiting: r.style = .dim
                case .done: r.cellStyles[1] = Style(.good)
                case .aborted: r.cellStyles[1] = Style(.bad)
                case .running: r.cellStyles[1] = Style(.accent)
                }
                rows.append(r)
                ids.append(run.connector + "/" + run.kind.rawValue + "/" + t.table)
            }
        }
        var tableArea = inner
        if inner.height > 4 {
            tableArea.height -= 1
            b.put(
                footnote(
                    report,
                    estimates: report.snapshots.contains {
                        $0.tables.contains { $0.estimateSource != nil && $0.estimateSource != "scan" }
                    }),
                in: inner.row(inner.height - 1), style: .dim, ellipsis: g.ellipsis)
        }
        let sel = min(model.selection["snapshot"] ?? 0, max(0, rows.count - 1))
        let page = Widgets.table(
            &b, tableArea, columns: columns, rows: rows, selected: sel, glyphs: g,
            emptyText:
                "no snapshot seen this run: its op r rows (and Debezium's notification topic, if read) show it here")
        return ListLayout(count: rows.count, pageSize: page, selectedID: ids.indices.contains(sel) ? ids[sel] : nil)
    }

    static func footnote(_ report: SnapshotProgressReport, estimates: Bool) -> String {
        var parts: [String] = []
        parts.append(
            report.notificationsRead > 0
                ? "from Debezium's notifications and the op r rows"
                : "from op r rows only: add the notification topic (notification.enabled.channels=sink) to --topics for tables to come"
        )
        parts.append(estimates ? "estimates from --source" : "--source adds row estimates")
        return parts.joined(separator: " · ")
    }

    static func percentText(_ p: Double?) -> String {
        guard let p else { return "?" }
        return p >= 100 ? "100" : String(Double(Int(p * 10)) / 10)
    }

    static func etaText(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "?" }
        return seconds <= 0 ? "–" : Format.age(Int64(seconds * 1000))
    }

    /// `█████░░░░░` (ASCII `#####.....`).
    static func bar(_ percent: Double?, glyphs g: Glyphs, width: Int = 10) -> String {
        guard let percent else { return "" }
        let filled = max(0, min(width, Int((percent / 100 * Double(width)).rounded(.down))))
        let (on, off) = g == .ascii ? ("#", ".") : ("█", "░")
        return String(repeating: on, count: filled) + String(repeating: off, count: width - filled)
    }
}
