import Foundation
import Metrics
import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// `e` / `E` / `:export`: the current view's rows as the user filtered and sorted them, with the engine's
/// exact values (counts as integers, money as its exact decimal text, times as epoch ms), written to a file
/// in the working directory. The values are the ones `--json` prints, so the two can be compared.
enum DashboardExport {
    enum Value: Equatable, Sendable {
        case text(String)
        case int(Int64)
        case number(Double)
        /// Already JSON (a change's raw value); CSV writes it as text.
        case json(String)
        case null
    }

    struct Table: Equatable, Sendable {
        /// The file name's middle part: `tables`, `changes-transaction`, `categories`, `lag`.
        var name: String
        var columns: [String]
        var rows: [[Value]]
    }

    /// The rows on screen (every row of the list, not only the page), or nil when the view has none to export.
    static func table(_ model: DashboardModel, _ frame: DashboardFrame) -> Table? {
        guard let s = frame.snapshot else { return nil }
        switch model.view {
        case .tables:
            switch model.tablesLevel {
            case .list:
                let rows = TablesView.sortedTables(s, model: model).map { t -> [Value] in
                    [
                        .text(t.table), .int(t.count(.create)), .int(t.count(.update)), .int(t.count(.delete)),
                        .int(t.count(.read)),
                        .int(t.count(.truncate)), .int(t.count(.tombstone)), .int(t.total), .number(t.eventsPerSecond),
                        .int(t.lastCommitTimeMs), .int(t.malformed),
                    ]
                }
                return Table(
                    name: "tables",
                    columns: [
                        "table", "c", "u", "d", "r", "t", "tombstones", "total", "events_per_second",
                        "last_commit_ms", "malformed",
                    ], rows: rows)
            case .changes, .event:
                let table = model.openTable ?? ""
                let listID = "changes:" + table
                let kept = model.frozenChanges[listID]?.kept ?? s.diagnostics.recentChanges[table] ?? []
                let filter = TablesView.ChangeFilter(model.filters[listID, default: ""])
                let chosen =
                    model.tablesLevel == .event
                    ? model.openedEvent.map { [$0] } ?? [] : kept.reversed().filter(filter.matches)
                let rows = chosen.map { c -> [Value] in
                    [
                        .text(c.position.topic), .int(Int64(c.position.partition)), .int(c.position.offset),
                        .text(c.op.code),
                        .text(c.key), .int(c.commitTimeMs), valueJSON(c),
                    ]
                }
                return Table(
                    name: (model.tablesLevel == .event ? "event-" : "changes-") + safe(table),
                    columns: ["topic", "partition", "offset", "op", "key", "commit_ms", "value"], rows: rows)
            }
        case .categories:
            let f = Figures(s, nowMs: frame.nowMs)
            let rows = CategoriesView.lines(model, f).map { l -> [Value] in
                [
                    .text(l.name), .text(l.window.formatted()), .text(l.lastFiveMinutes.formatted()),
                    .text(l.total.formatted()),
                    .number(l.share),
                ]
            }
            return Table(name: "categories", columns: ["category", "window", "last_5m", "total", "share"], rows: rows)
        case .lag:
            let needle = model.filters["lag", default: ""].lowercased()
            let rows = s.consumer.partitions.filter { needle.isEmpty || $0.topic.lowercased().contains(needle) }
                .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
                .map { p -> [Value] in
                    [
                        .text(p.topic), .int(Int64(p.partition)), .int(p.committed), .int(p.position),
                        .int(p.highWatermark),
                        .int(p.lag), .int(p.committedLag), .int(p.lastCommitTimeMs),
                    ]
                }
            return Table(
                name: "lag",
                columns: [
                    "topic", "partition", "committed", "position", "end", "lag", "committed_lag",
                    "last_commit_ms",
                ], rows: rows)
        default:
            return nil
        }
    }

    /// A change's value as JSON: the message itself when it is JSON, else null (Avro, tombstones, too large).
    static func valueJSON(_ c: RecentChange) -> Value {
        guard let v = c.value, c.valueSchemaID == nil, let first = v.first(where: { $0 != 0x20 && $0 != 0x0A }),
            first == UInt8(ascii: "{")
        else { return .null }
        return .json(String(decoding: v, as: UTF8.self))
    }

    static func safe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    static func csv(_ t: Table) -> String {
        func field(_ v: Value) -> String {
            let text: String =
                switch v {
                case .text(let s), .json(let s): s
                case .int(let n): String(n)
                case .number(let d): String(d)
                case .null: ""
                }
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
        }
        var out = t.columns.map { field(.text($0)) }.joined(separator: ",") + "\r\n"
        for row in t.rows { out += row.map(field).joined(separator: ",") + "\r\n" }
        return out
    }

    /// One JSON array of objects, one object per row, keys in column order.
    static func json(_ t: Table) -> String {
        var out = "["
        for (r, row) in t.rows.enumerated() {
            out += r == 0 ? "\n{" : ",\n{"
            for (i, v) in row.enumerated() where i < t.columns.count {
                if i > 0 { out += "," }
                JSONText.appendQuoted(t.columns[i], to: &out)
                out += ":"
                switch v {
                case .text(let s): JSONText.appendQuoted(s, to: &out)
                case .int(let n): out += String(n)
                case .number(let d): out += d.isFinite ? String(d) : "null"
                case .json(let s): out += s
                case .null: out += "null"
                }
            }
            out += "}"
        }
        return out + "\n]\n"
    }

    /// Writes the view's rows to `cdctop-<view>-<UTC time>.<csv|json>` in the working directory.
    /// Returns the toast: the rows, the file's name and its directory; or why nothing was written.
    static func write(_ model: DashboardModel, _ frame: DashboardFrame, format: ExportFormat, nowMs: Int64) -> String {
        guard let t = table(model, frame) else {
            return "\(model.view.title) has no rows to export: e exports Tables, a table's changes, Categories and Lag"
        }
        let stamp = exportStamp(nowMs)
        let name = "cdctop-\(t.name)-\(stamp).\(format.rawValue)"
        let directory = FileManager.default.currentDirectoryPath
        let path = directory + "/" + name
        let text = format == .csv ? csv(t) : json(t)
        guard let file = fopen(path, "wx") else {
            return
                "export failed: cannot create \(path): \(String(cString: strerror(errno))) (cd to a writable directory)"
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard written == bytes.count, closed == 0 else {
            return "export failed writing \(path): \(String(cString: strerror(errno)))"
        }
        return "exported \(Format.count(t.rows.count)) rows to \(name) in \(directory)"
    }

    /// "20261207-093015" (UTC). `fopen(…, "wx")` never overwrites: a second export within the same second says so.
    static func exportStamp(_ ms: Int64) -> String {
        var t = time_t(ms / 1_000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return
            "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))-\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
    }
}

/// OSC 52: asks the terminal to put text on the system clipboard. Terminals that do not support it ignore
/// the sequence; tmux passes it on with `set-clipboard on`.
enum Clipboard {
    static func osc52(_ bytes: [UInt8]) -> [UInt8] {
        var out = Array("\u{1B}]52;c;".utf8)
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4 + 1)
        bytes.withUnsafeBytes { JSONBytes.appendBase64($0, to: &out) }
        out.append(0x07)
        return out
    }
}
