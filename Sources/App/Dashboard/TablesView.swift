import Metrics
import Pipeline

/// View 2: per-table op counts → recent changes of one table → one event's before/after.
enum TablesView {
    static let columns: [Widgets.Column] = [
        .init(title: "table", width: 12, align: .left, flexible: true, shortenMiddle: true),
        .init(title: "c", width: 7), .init(title: "u", width: 7, dropOrder: 2),
        .init(title: "d", width: 7, dropOrder: 3),
        .init(title: "r", width: 7, dropOrder: 4), .init(title: "tomb", width: 5, dropOrder: 5),
        .init(title: "ev/s", width: 7),
        .init(title: "last", width: 7, dropOrder: 1), .init(title: "malf", width: 5),
    ]

    /// The tables as listed: filtered by name (`/`), sorted by the chosen column (`s`, `S`), names breaking ties.
    static func sortedTables(_ s: RunSnapshot, model: DashboardModel = DashboardModel()) -> [TableStats] {
        let needle = model.filters["tables", default: ""].lowercased()
        let sort = model.tableSort
        let descending = model.tableSortDescending
        return s.diagnostics.tables.filter { needle.isEmpty || $0.table.lowercased().contains(needle) }.sorted { a, b in
            let byName = descending && sort == .name ? a.table > b.table : a.table < b.table
            let (x, y): (Double, Double) =
                switch sort {
                case .name: (0, 0)
                case .total: (Double(a.total), Double(b.total))
                case .rate: (a.eventsPerSecond, b.eventsPerSecond)
                case .last: (Double(a.lastCommitTimeMs), Double(b.lastCommitTimeMs))
                case .malformed: (Double(a.malformed), Double(b.malformed))
                }
            if x == y { return byName }
            return descending ? x > y : x < y
        }
    }

    static func rows(_ s: RunSnapshot, nowMs: Int64, model: DashboardModel = DashboardModel()) -> [Widgets.TableRow] {
        sortedTables(s, model: model).map { t in
            let last = t.lastCommitTimeMs > 0 ? Format.age(nowMs - t.lastCommitTimeMs) : "–"
            var row = Widgets.TableRow(cells: [
                t.table, Format.count(t.count(.create)), Format.count(t.count(.update)), Format.count(t.count(.delete)),
                Format.count(t.count(.read)), Format.count(t.count(.tombstone)),
                Format.rate(t.eventsPerSecond).replacingAll("/s", with: ""),
                last, Format.count(t.malformed),
            ])
            if t.malformed > 0 { row.cellStyles[8] = Style(.bad, bold: true) }
            return row
        }
    }

    static func render(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        switch model.tablesLevel {
        case .list: return list(&b, area, model, s, frame)
        case .changes: return changes(&b, area, model, s, frame)
        case .event: return event(&b, area, model, s, frame)
        }
    }

    static func list(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        var rest = area
        if !s.diagnostics.recentMalformed.isEmpty, area.height >= 14 {
            let (top, bottom) = area.splitTop(area.height - min(6, s.diagnostics.recentMalformed.count + 2))
            rest = top
            let inner = Widgets.box(
                &b, bottom, title: "Malformed messages (latest first: table, position, reason)", glyphs: g,
                titleStyle: Style(.bad, bold: true))
            for (i, m) in s.diagnostics.recentMalformed.suffix(inner.height).reversed().enumerated() {
                let table = DebeziumTopicName.table(of: m.position.topic)
                b.put(
                    "\(table) p\(m.position.partition)@\(m.position.offset)  \(m.reason)", in: inner, row: i,
                    style: .warn,
                    ellipsis: g.ellipsis)
            }
        }
        if !s.diagnostics.recentDDL.isEmpty, rest.height >= 14 {
            let (top, bottom) = rest.splitTop(rest.height - min(5, s.diagnostics.recentDDL.count + 2))
            rest = top
            let inner = Widgets.box(
                &b, bottom, title: "Schema changes (latest first: table, commit time UTC, DDL)", glyphs: g,
                titleStyle: Style(.accent, bold: true))
            var counted: Set<String> = []  // a table's count goes on its newest line only
            for (i, d) in s.diagnostics.recentDDL.suffix(inner.height).reversed().enumerated() {
                let count = counted.insert(d.table).inserted ? s.diagnostics.schemaChanges[d.table] : nil
                b.put(ddlLine(d, count: count), in: inner, row: i, style: .text, ellipsis: g.ellipsis)
            }
        }
        if rest.height >= 10 {
            let lines = counterLines(s, width: rest.width - 2, nowMs: frame.nowMs, glyphs: g)
            let (top, bottom) = rest.splitTop(rest.height - min(lines.count + 2, rest.height - 6))
            rest = top
            let inner = Widgets.box(&b, bottom, title: "Counters since start", glyphs: g)
            for (i, line) in lines.prefix(inner.height).enumerated() {
                var x = inner.x
                for (n, part) in line.enumerated() {
                    if n > 0 && part.separated {
                        x = b.put(
                            g == .ascii ? " - " : " · ", x: x, y: inner.y + i, style: .dim, maxX: inner.x + inner.width)
                    }
                    x = b.put(part.text, x: x, y: inner.y + i, style: part.style, maxX: inner.x + inner.width)
                }
            }
        }
        let needle = model.filters["tables", default: ""]
        var title = "CDC tables · counts by op (c create, u update, d delete, r snapshot read)"
        if model.tableSort != .name || model.tableSortDescending {
            title =
                "CDC tables · sorted by \(model.tableSort.title) \(model.tableSortDescending ? "desc" : "asc") · c u d r = create update delete read"
        }
        let tables = sortedTables(s, model: model)
        if !needle.isEmpty { title += " · /\(needle): \(tables.count) match" }
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(&b, rest, title: title, glyphs: g)
        let ids = tables.map(\.table)
        let sel = model.resolvedSelection("tables", ids: ids)
        let sortColumn: Int? =
            switch model.tableSort {
            case .name: model.tableSortDescending ? 0 : nil
            case .total: nil
            case .rate: 6
            case .last: 7
            case .malformed: 8
            }
        let page = Widgets.table(
            &b, inner, columns: columns, rows: rows(s, nowMs: frame.nowMs, model: model), selected: sel, glyphs: g,
            sortColumn: sortColumn, sortDescending: model.tableSortDescending,
            emptyText: needle.isEmpty ? "no CDC tables seen yet" : "no table matches /\(needle) (Esc clears)")
        return ListLayout(
            count: tables.count, pageSize: page, selectedID: ids.indices.contains(sel) ? ids[sel] : nil,
            selectedIndex: sel, listID: "tables", rowsTop: inner.y + 1)
    }

    /// The engine's counters flowed onto lines of `width` cells, then what an unusual one means and the
    /// durable state's status.
    static func counterLines(_ s: RunSnapshot, width: Int, nowMs: Int64, glyphs g: Glyphs)
        -> [[(text: String, style: Style, separated: Bool)]]
    {
        var items = DashboardRenderer.counters(s, short: false)
        items.insert(
            DashboardRenderer.Counter(name: "tombstones", value: s.kpis.tombstones, problem: false, priority: 8), at: 1)
        items.insert(
            DashboardRenderer.Counter(name: "heartbeats", value: s.kpis.heartbeats, problem: false, priority: 8), at: 2)
        var lines: [[(text: String, style: Style, separated: Bool)]] = [[]]
        var used = 0
        for c in items {
            let w = DisplayWidth.of(c.text)
            if used > 0 && used + 3 + w > width {
                lines.append([])
                used = 0
            }
            lines[lines.count - 1].append(
                (c.text, c.problem && c.value != 0 ? Style(.warn, bold: true) : c.value == 0 ? .dim : .text, true))
            used += (used > 0 ? 3 : 0) + w
        }
        let dash = g == .ascii ? "-" : "—"
        lines += unmatchedHints(s, glyphs: g).flatMap { wrap($0, width: width) }.map { [($0, .warn, false)] }
        if s.kpis.refused > 0 {
            lines.append([
                (
                    "refused \(Format.count(s.kpis.refused)) \(dash) applying them would overflow a sum; no total changed",
                    Style(.bad, bold: true), false
                )
            ])
        }
        if s.kpis.result.dropped > 0 {
            lines.append([
                (
                    "dropped \(Format.count(s.kpis.result.dropped)) \(dash) older than every window held; counted in the totals only",
                    .warn, false
                )
            ])
        }
        let state = s.state
        if let directory = state.directory {
            var text = "state \(directory)"
            if let writer = state.viewerOfPID {
                text +=
                    " \(dash) viewer of pid \(writer) (state read-only): started from its checkpoint of "
                    + (state.lastCheckpointMs > 0 ? "\(Format.age(nowMs - state.lastCheckpointMs)) ago" : "(none yet)")
                    + ", writes none"
            } else {
                text +=
                    state.lastCheckpointMs > 0
                    ? " \(dash) checkpoint \(Format.age(nowMs - state.lastCheckpointMs)) ago, \(Format.count(state.checkpoints)) so far"
                    : " \(dash) no checkpoint yet"
            }
            if let restored = state.restored { text += " \(dash) \(restored)" }
            lines.append([(text, .dim, false)])
            if let error = state.lastError { lines.append([("state error: \(error)", Style(.bad, bold: true), false)]) }
        } else {
            lines.append([("state none \(dash) in memory only: a restart reads the topics again", .dim, false)])
        }
        return lines
    }

    /// Words flowed onto lines of `width` cells, the lines after the first indented by two.
    static func wrap(_ text: String, width: Int) -> [String] {
        var out: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            let candidate = line.isEmpty ? (out.isEmpty ? "" : "  ") + word : line + " " + word
            if !line.isEmpty, DisplayWidth.of(candidate) > width {
                out.append(line)
                line = "  " + word
            } else {
                line = candidate
            }
        }
        if !line.isEmpty { out.append(line) }
        return out
    }

    /// What `unmatched` and the profile's key checks mean, one line each (none when all is well).
    static func unmatchedHints(_ s: RunSnapshot, glyphs g: Glyphs) -> [String] {
        let dash = g == .ascii ? "-" : "—"
        var out: [String] = []
        let placeholders = s.kpis.profile.placeholderDeletes
        if placeholders > 0 {
            // The real cause when deletes carried only the key: no guess about the start.
            out.append(
                "deletes \(Format.count(placeholders)) \(dash) carried only the key (REPLICA IDENTITY DEFAULT on a table cdctop had not seen "
                    + "from its snapshot): set REPLICA IDENTITY FULL, or read from the snapshot on")
        }
        if s.kpis.unmatched > placeholders {
            let n = placeholders > 0 ? s.kpis.unmatched - placeholders : s.kpis.unmatched
            out.append(
                "unmatched \(Format.count(n))\(placeholders > 0 ? " more" : "") \(dash) started after the snapshot? changes to rows cdctop never saw"
            )
        }
        let collisions = s.kpis.profile.keyCollisions
        if collisions > 0 {
            out.append(
                "key collisions \(Format.count(collisions)) \(dash) \(Format.count(collisions)) create\(collisions == 1 ? "" : "s") for keys already alive: check the table's key"
            )
        }
        return out
    }

    /// "transaction  12:03:17  ALTER TABLE transaction ADD COLUMN note …  (2nd change)": one DDL on one line.
    static func ddlLine(_ d: SchemaChangeRecord, count: Int64?) -> String {
        let time = d.commitTimeMs > 0 ? Format.clock(d.commitTimeMs) : "--:--:--"
        let ddl = d.ddl.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let total = count.map { $0 > 1 ? "  (\(Format.count($0)) schema changes)" : "" } ?? ""
        return "\(d.table)  \(time)  \(ddl)\(total)"
    }

    static func changeColumns() -> [Widgets.Column] {
        [
            .init(title: "commit", width: 8, align: .left), .init(title: "op", width: 4, align: .left),
            .init(title: "key", width: 8, align: .left), .init(title: "position", width: 10, align: .left),
            .init(title: "changes", width: 20, align: .left, flexible: true, maxWidth: 400),
        ]
    }

    /// "col old → new" for updates, "col=value" for inserts, snapshot reads and deletes; `text` writes a
    /// cell (`ValueCells.alignedSummaries` pads them so the rows on screen line up).
    static func summary(
        _ d: ChangeDescription, glyphs: Glyphs,
        text: (ChangeDescription.Field) -> String = { $0.value },
        cell: (ChangeDescription.Field, String) -> String = { "\($0.name)=\($1)" }
    ) -> String {
        if let before = d.before, let after = d.after {
            let old = Dictionary(before.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let parts = d.changedColumns.map { name in
                "\(name) \(old[name].map(text) ?? "–") \(glyphs.arrow) \(after.first(where: { $0.name == name }).map(text) ?? "–")"
            }
            return parts.isEmpty ? "(no column changed)" : parts.joined(separator: ", ")
        }
        let notSent = placeholderColumns(d)
        if !notSent.isEmpty, let before = d.before {
            let sent = before.filter { !notSent.contains($0.name) }.map { "\($0.name)=\(text($0))" }.joined(
                separator: " ")
            return sent + " (other columns not sent: REPLICA IDENTITY DEFAULT)"
        }
        return (d.after ?? d.before ?? []).map { cell($0, text($0)) }.joined(separator: " ")
    }

    /// The columns of a delete's before image that are placeholders, not the row's values: under REPLICA
    /// IDENTITY DEFAULT PostgreSQL sends only the key and Debezium fills the rest with null, 0 or "".
    /// Empty unless the image looks like that (every column blank but at most two, the key's).
    static func placeholderColumns(_ d: ChangeDescription) -> Set<String> {
        guard d.op == .delete, d.after == nil, let before = d.before, !before.isEmpty else { return [] }
        func blank(_ f: ChangeDescription.Field) -> Bool {
            // Debezium's placeholder for a NOT NULL bytea: no bytes, or one zero byte.
            if f.kind == .binary { return (f.bytes ?? []).count <= 1 && (f.bytes ?? []).allSatisfy { $0 == 0 } }
            let v = f.value
            if v.isEmpty || v == "null" || v == "false" || v == "\"\"" { return true }
            // 0, 0.0, 0.0000, -0: a zero of any scale.
            return v.allSatisfy { $0 == "0" || $0 == "." || $0 == "-" } && v.contains("0")
        }
        let blanks = before.filter(blank)
        guard !blanks.isEmpty, blanks.count >= before.count - 2, blanks.count < before.count else { return [] }
        return Set(blanks.map(\.name))
    }

    static func changes(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        let table = model.openTable ?? ""
        let listID = "changes:" + table
        let filter = ChangeFilter(model.filters[listID, default: ""])
        // Newest first; the filter (op and key) applies to everything kept, not only to what is on screen.
        // Frozen (`f`, or a cursor move): the rows copied then, whatever the engine has kept since.
        let live = s.diagnostics.recentChanges[table] ?? []
        let liveTotal = s.diagnostics.tables.first(where: { $0.table == table })?.total ?? Int64(live.count)
        let frozen = model.frozenChanges[listID]
        let kept = frozen?.kept ?? live
        let recent = kept.reversed().filter(filter.matches)
        // The table's latest schema changes under its rows, so a change is read next to the DDL before it.
        var area = area
        let ddl = s.diagnostics.recentDDL.filter { $0.table == table }
        if !ddl.isEmpty, area.height >= 10 {
            let (top, bottom) = area.splitTop(area.height - min(4, ddl.count + 2))
            area = top
            let inner = Widgets.box(
                &b, bottom, title: "Schema changes of \(table) (latest first, commit time UTC)", glyphs: g,
                titleStyle: Style(.accent, bold: true))
            for (i, d) in ddl.suffix(inner.height).reversed().enumerated() {
                b.put(ddlLine(d, count: nil), in: inner, row: i, style: .text, ellipsis: g.ellipsis)
            }
        }
        var title: String
        if let frozen {
            let arrived = max(0, liveTotal - frozen.total)
            title = "\(table) · FROZEN at \(Format.clock(frozen.atMs)) · \(Format.count(arrived)) new · f follows"
        } else {
            title = "\(table) · FOLLOWING newest · \(Format.count(kept.count)) kept · f freezes"
        }
        if !filter.text.isEmpty { title += " · /\(filter.text): \(Format.count(recent.count)) match" }
        title += " · Enter opens"
        if g == .ascii { title = title.replacingAll("·", with: "-") }
        let inner = Widgets.box(
            &b, area, title: title, glyphs: g,
            titleStyle: frozen == nil ? Style(.accent, bold: true) : Style(.warn, bold: true))
        let ids = recent.map(\.position.description)
        // Following: the cursor stays on the newest row; frozen: it stays on its event.
        let sel = frozen == nil ? 0 : model.resolvedSelection(listID, ids: ids)
        let page = max(1, inner.height - 1)
        let first = sel >= page ? sel - page + 1 : 0
        // Rows (and their summaries) only for what is on screen: thousands are kept. The engine decoded
        // them for display (`decoded`); nothing is decoded while drawing.
        let onScreen = recent.indices.filter { $0 >= first && $0 < first + page }
        let described = onScreen.map { i -> ChangeDescription? in
            let c = recent[i]
            return c.tooLarge || c.value == nil ? nil : c.decoded
        }
        let summaries = Dictionary(
            uniqueKeysWithValues: zip(
                onScreen, ValueCells.alignedSummaries(described, keys: onScreen.map { recent[$0].key }, glyphs: g)))
        let rows = recent.indices.map { i -> Widgets.TableRow in
            guard i >= first, i < first + page else { return Widgets.TableRow(cells: []) }
            let c = recent[i]
            var text = ""
            if c.tooLarge {
                text = "(value too large to keep)"
            } else if c.value != nil, let summary = summaries[i] ?? nil {
                text = summary
            } else if c.value == nil {
                text = "(tombstone: no value)"
            } else if c.undecodable == nil && c.decoded == nil {
                text = "(decoding…)"
            } else if let id = c.valueSchemaID {
                text = "(Avro, schema id \(id): not decodable; open it to see why)"
            } else {
                text = "(not decodable)"
            }
            var row = Widgets.TableRow(cells: [
                Format.clock(c.commitTimeMs), c.op.code, c.key,
                "p\(c.position.partition)@\(c.position.offset)", text,
            ])
            row.cellStyles[1] = opStyle(c.op)
            return row
        }
        Widgets.table(
            &b, inner, columns: changeColumns(), rows: rows, selected: sel, glyphs: g,
            emptyText: filter.text.isEmpty
                ? "no recent changes kept for \(table)"
                : "no change matches /\(filter.text) (Esc clears the filter first)")
        var layout = ListLayout(
            count: recent.count, pageSize: page, selectedID: ids.indices.contains(sel) ? ids[sel] : nil,
            selectedIndex: sel, listID: listID, selectedChange: recent.indices.contains(sel) ? recent[sel] : nil,
            rowsTop: inner.y + 1)
        layout.keptChanges = live
        layout.keptTotal = liveTotal
        return layout
    }

    /// `/` in a table's changes: words match the key (substring); `op:u` (or `op:c,d`) keeps those ops.
    struct ChangeFilter {
        var text: String
        var ops: Set<String> = []
        var words: [String] = []

        init(_ text: String) {
            self.text = text
            for word in text.lowercased().split(separator: " ") {
                if word.hasPrefix("op:") || word.hasPrefix("op=") {
                    for op in word.dropFirst(3).split(separator: ",") { ops.insert(String(op)) }
                } else {
                    words.append(String(word))
                }
            }
        }

        func matches(_ c: RecentChange) -> Bool {
            if !ops.isEmpty, !ops.contains(c.op.code.lowercased()) { return false }
            let key = c.key.lowercased()
            return words.allSatisfy { key.contains($0) }
        }
    }

    static func opStyle(_ op: ChangeOp) -> Style {
        switch op {
        case .create: .good
        case .update: .accent
        case .delete, .truncate: .bad
        case .read: .text
        case .tombstone: .dim
        }
    }

    static func event(
        _ b: inout ScreenBuffer, _ area: Rect, _ model: DashboardModel, _ s: RunSnapshot,
        _ frame: DashboardFrame
    ) -> ListLayout {
        let g = frame.glyphs
        let table = model.openTable ?? ""
        // The copy taken when it was opened: it stays, however many changes arrive after it.
        guard
            let change = model.openedEvent
                ?? (s.diagnostics.recentChanges[table] ?? []).last(where: {
                    $0.position.description == model.openChange
                })
        else {
            let inner = Widgets.box(&b, area, title: "Event", glyphs: g)
            b.put(
                "this event is no longer among the recent changes kept in memory (Esc goes back)", in: inner,
                style: .dim,
                ellipsis: g.ellipsis)
            return ListLayout()
        }
        let inner = Widgets.box(&b, area, title: "\(table) · \(change.op.code) · \(change.position)", glyphs: g)
        b.put(
            "key \(change.key)   commit \(Format.clock(change.commitTimeMs)) UTC   position \(change.position)",
            in: inner, row: 0, style: .dim, ellipsis: g.ellipsis)
        let body = Rect(x: inner.x, y: inner.y + 2, width: inner.width, height: inner.height - 2)
        guard let value = change.value else {
            b.put(
                change.tooLarge
                    ? "the value was too large to keep in memory"
                    : "tombstone: Kafka's null value after a delete, kept so compaction can drop the key",
                in: body, style: .dim)
            return ListLayout()
        }
        if model.showRawEvent {
            // `y`: the message's value as it arrived, pretty-printed for reading (the bytes are not changed);
            // Avro (Confluent framing): key and value with schema id, subject and version, rendered as JSON.
            let framed = change.valueSchemaID != nil || change.keySchemaID != nil
            let lines: [RawMessageView.Line] =
                framed
                ? RawMessageView.lines(change, value: value, frame: frame, width: body.width, glyphs: g)
                : RawJSON.pretty(value).flatMap { RawJSON.hardWrap($0, width: body.width) }.map {
                    RawMessageView.Line(text: $0, style: .text)
                }
            let sel = min(model.selection["event"] ?? 0, max(0, lines.count - 1))
            let first = min(sel, max(0, lines.count - body.height + 1))
            b.put(
                framed
                    ? "raw Avro message as JsonConverter would write it (y: back to the table)"
                    : "raw JSON value, \(Format.count(value.count)) bytes (y: back to the table)", in: body, row: 0,
                style: .dim,
                ellipsis: g.ellipsis)
            for (row, line) in lines.dropFirst(first).prefix(body.height - 1).enumerated() {
                b.put(line.text, in: body, row: row + 1, style: line.style, ellipsis: g.ellipsis)
                if let note = line.note {
                    b.put(
                        note,
                        in: Rect(
                            x: body.x + DisplayWidth.of(line.text) + 2, y: body.y + row + 1,
                            width: max(0, body.width - DisplayWidth.of(line.text) - 2), height: 1), style: .dim)
                }
            }
            return ListLayout(count: lines.count, pageSize: max(1, body.height - 1), selectedID: nil)
        }
        guard let d = change.decoded else {
            let why =
                RawMessageView.missingSchema(value, frame: frame) ?? change.undecodable
                ?? "not decoded yet: the engine decodes the newest changes first (y shows the bytes)"
            b.put(why, in: body, style: .warn, ellipsis: g.ellipsis)
            return ListLayout()
        }
        let before = d.before ?? []
        let after = d.after ?? []
        var names: [String] = []
        for f in before + after where !names.contains(f.name) { names.append(f.name) }
        let changed = Set(d.changedColumns)
        let notSent = placeholderColumns(d)
        // Decimals of a column at one scale in both images, numbers right-aligned within each image.
        let scales = ValueCells.scales(before + after)
        let oldText = ValueCells.eventCells(before, scales: scales)
        let newText = ValueCells.eventCells(after, scales: scales)
        let rows = names.map { name -> Widgets.TableRow in
            if notSent.contains(name) {
                // A placeholder, not the row's value: say so instead of showing 0 as if it were the price.
                return Widgets.TableRow(cells: [name, "not sent (REPLICA IDENTITY DEFAULT)", ""], style: .dim)
            }
            let old = oldText[name] ?? (d.before == nil ? "" : "–")
            let new = newText[name] ?? (d.after == nil ? "" : "–")
            let isChanged = d.before != nil && d.after != nil && changed.contains(name)
            return Widgets.TableRow(cells: [name, old, new], style: isChanged ? Style(.accent, bold: true) : .text)
        }
        let half = max(10, (body.width - 20) / 2)
        let cols: [Widgets.Column] = [
            .init(title: "column", width: 18, align: .left),
            .init(
                title: d.before == nil ? "before (none)" : "before", width: half, align: .left, flexible: true,
                maxWidth: 80),
            .init(
                title: d.after == nil ? "after (none)" : "after", width: half, align: .left, flexible: true,
                maxWidth: 80),
        ]
        let sel = min(model.selection["event"] ?? 0, max(0, rows.count - 1))
        // A binary column's bytes in hex right under the columns (the selected row's, else the first binary
        // one); the columns keep at least half the height.
        var tableArea = body
        if let hex = ValueCells.hexColumn(d, selectedName: names.indices.contains(sel) ? names[sel] : nil) {
            let tableHeight = min(rows.count + 1, max(body.height / 2, body.height - 18))
            let room = body.height - tableHeight - 1
            if room >= 3 {
                let lines = ValueCells.hexLines(hex.bytes, maxLines: min(16, room - 3), ellipsis: g.ellipsisText)
                tableArea = Rect(x: body.x, y: body.y, width: body.width, height: tableHeight)
                let box = Rect(
                    x: body.x, y: body.y + tableHeight + 1, width: body.width, height: min(room, lines.count + 2))
                let inner = Widgets.box(
                    &b, box, title: "\(hex.name) (\(hex.image), \(ValueCells.byteCount(hex.bytes.count))) in hex",
                    glyphs: g)
                for (i, line) in lines.prefix(inner.height).enumerated() {
                    b.put(
                        line, in: inner, row: i, style: line.hasPrefix(g.ellipsisText) ? .dim : .text,
                        ellipsis: g.ellipsis)
                }
            }
        }
        let page = Widgets.table(&b, tableArea, columns: cols, rows: rows, selected: sel, glyphs: g)
        return ListLayout(count: rows.count, pageSize: page, selectedID: nil)
    }
}

/// The raw value of one event for `y`: indented one member per line, strings and numbers untouched.
enum RawJSON {
    static func pretty(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        var line: [UInt8] = []
        var depth = 0
        var inString = false
        var escaped = false
        func newline() {
            lines.append(String(decoding: line, as: UTF8.self))
            line = Array(repeating: UInt8(ascii: " "), count: 2 * depth)
        }
        for b in bytes {
            if inString {
                line.append(b)
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                } else if b == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
                line.append(b)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                line.append(b)
                depth += 1
                newline()
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth = max(0, depth - 1)
                if line.contains(where: { $0 != UInt8(ascii: " ") }) {
                    newline()
                } else {
                    line = Array(repeating: UInt8(ascii: " "), count: 2 * depth)
                }
                line.append(b)
            case UInt8(ascii: ","):
                line.append(b)
                newline()
            case UInt8(ascii: ":"):
                line.append(b)
                line.append(UInt8(ascii: " "))
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): break
            default: line.append(b)
            }
        }
        if line.contains(where: { $0 != UInt8(ascii: " ") }) { lines.append(String(decoding: line, as: UTF8.self)) }
        return lines
    }

    /// Cuts a line into pieces of `width` cells; nothing is dropped.
    static func hardWrap(_ line: String, width: Int) -> [String] {
        guard width > 0, DisplayWidth.of(line) > width else { return [line] }
        var out: [String] = []
        var piece = ""
        var used = 0
        for c in line {
            let w = DisplayWidth.of(String(c))
            if used + w > width {
                out.append(piece)
                piece = ""
                used = 0
            }
            piece.append(c)
            used += w
        }
        if !piece.isEmpty { out.append(piece) }
        return out
    }
}
