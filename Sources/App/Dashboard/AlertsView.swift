import Metrics
import Pipeline

/// View 6: alerts pending and firing now (the built-in rules of the profile's `[alerts]`), and the
/// latest resolved ones with when they fired, resolved, and how long they lasted.
enum AlertsView {
    static func render(_ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ frame: DashboardFrame)
        -> ListLayout
    {
        let g = frame.glyphs
        guard let panel = frame.alerts else {
            let inner = Widgets.box(&b, area, title: "Alerts", glyphs: g)
            b.put(
                "alert rules are off ([alerts] enabled = false in the profile)", in: inner, row: 0, style: .dim,
                ellipsis: g.ellipsis)
            return ListLayout()
        }
        // The resolved list: its rows (at least the "nothing resolved" line), up to a third of the screen.
        let historyRows = min(max(1, panel.history.count), max(3, area.height / 3))
        var (top, bottom) = area.splitTop(max(4, area.height - historyRows - 3))
        // The rules and what each watches, when the active list leaves room for them (border + header + rows).
        let rulesHeight = AlertKind.allCases.count + 3
        if top.height - rulesHeight >= max(4, panel.active.count + 3) {
            let (activeArea, rulesArea) = top.splitTop(top.height - rulesHeight)
            top = activeArea
            renderRules(&b, rulesArea, panel, glyphs: g)
        }
        var title = "Alerts · \(panel.firingCount) firing · \(panel.active.count - panel.firingCount) pending"
        if let writer = frame.snapshot?.state.viewerOfPID {
            // A viewer evaluates the same rules on the same data, but two senders would page twice.
            title += " · the writer (pid \(writer)) sends them"
        } else if let delivery = frame.alertDelivery, delivery.state != .off {
            title += " · " + delivery.detail
        }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, top, title: title, glyphs: g)
        // Below 100 columns the subject is shortened in the middle and the clock times go (at 60 the subject
        // too: the summary names it), so the summary keeps room to be read (at 80 it was cut to "summa").
        let aboutWidth = inner.width >= 100 ? 24 : 18
        let columns: [Widgets.Column] = [
            .init(title: "state", width: 7, align: .left), .init(title: "alert", width: 22, align: .left),
            .init(title: "about", width: aboutWidth, align: .left, dropOrder: 1, shortenMiddle: true),
            .init(title: "since", width: 8, dropOrder: 2), .init(title: "for", width: 7),
            .init(title: "summary", width: 16, align: .left, flexible: true, maxWidth: 200),
        ]
        // `Widgets.table` drops the columns that do not fit (by `dropOrder`), cells and styles with them.
        let rows = panel.active.map { a -> Widgets.TableRow in
            let since = a.phase == .firing ? a.firedAtMs : a.activeSinceMs
            var row = Widgets.TableRow(cells: [
                a.phase.rawValue, a.key.kind.rawValue, a.key.subject.isEmpty ? "–" : a.key.subject,
                Format.clock(since), Format.age(frame.nowMs - since), a.summary,
            ])
            row.cellStyles[0] = a.phase == .firing ? Style(.bad, bold: true) : Style(.warn, bold: true)
            return row
        }
        let sel = min(model.selection["alerts"] ?? 0, max(0, rows.count - 1))
        let page = Widgets.table(
            &b, inner, columns: columns, rows: rows, selected: rows.isEmpty ? nil : sel, glyphs: g,
            emptyText: "no alert is pending or firing")
        if bottom.height >= 3 {
            let history = Widgets.box(&b, bottom, title: "Resolved (newest first)", glyphs: g)
            let historyColumns: [Widgets.Column] = [
                .init(title: "alert", width: 22, align: .left),
                .init(title: "about", width: aboutWidth, align: .left, dropOrder: 1, shortenMiddle: true),
                .init(title: "fired", width: 8, dropOrder: 2), .init(title: "resolved", width: 8),
                .init(title: "lasted", width: 7),
                .init(title: "summary", width: 16, align: .left, flexible: true, maxWidth: 200),
            ]
            let resolved = panel.history.reversed().map { a in
                Widgets.TableRow(
                    cells: [
                        a.key.kind.rawValue, a.key.subject.isEmpty ? "–" : a.key.subject, Format.clock(a.firedAtMs),
                        Format.clock(a.resolvedAtMs), Format.age(a.durationMs(nowMs: a.resolvedAtMs)), a.summary,
                    ], style: .dim)
            }
            Widgets.table(
                &b, history, columns: historyColumns, rows: Array(resolved), selected: nil, glyphs: g,
                emptyText: "nothing resolved yet")
        }
        return ListLayout(count: rows.count, pageSize: page, selectedID: nil)
    }

    /// Every built-in rule: its condition with the profile's thresholds, its `for`, and whether it is
    /// watched (its facts arrive) or which option would feed it.
    private static func renderRules(_ b: inout ScreenBuffer, _ area: Rect, _ panel: AlertPanel, glyphs g: Glyphs) {
        let inner = Widgets.box(&b, area, title: "Rules ([alerts] in the profile)", glyphs: g)
        let columns: [Widgets.Column] = [
            .init(title: "alert", width: 23, align: .left), .init(title: "for", width: 7, align: .left),
            .init(title: "watching", width: 22, align: .left),
            .init(title: "fires when", width: 20, align: .left, flexible: true, maxWidth: 200),
        ]
        let rows = AlertKind.allCases.map { kind -> Widgets.TableRow in
            let watched = panel.watched.contains(kind)
            let status = watched ? "yes" : AlertRules.neededOption(kind).map { "no: needs \($0)" } ?? "waiting for data"
            let forMs = panel.rules.forDuration(kind)
            var row = Widgets.TableRow(
                cells: [
                    kind.rawValue, forMs == 0 ? "at once" : TimeText.duration(ms: forMs), status,
                    panel.rules.condition(kind),
                ],
                style: watched ? .text : .dim)
            if watched { row.cellStyles[2] = Style(.good) }
            return row
        }
        Widgets.table(&b, inner, columns: columns, rows: rows, selected: nil, glyphs: g, emptyText: "")
    }
}
