import Foundation
import Metrics

/// Everything the mirror wrote under one prefix, read back in one MULTI/EXEC (a consistent view).
/// Shared by `cdctop redis-check` and the tests that compare Redis with the engine's result.
package struct MirroredState: Sendable, Hashable {
    package struct Category: Sendable, Hashable {
        package var name: String
        /// Exact total from `P:category_revenue`; nil if that hash lacks the category.
        package var revenue: Money?
        /// Ranking score from `P:categories`.
        package var score: Double
        package init(name: String, revenue: Money?, score: Double) {
            self.name = name
            self.revenue = revenue
            self.score = score
        }
    }
    package struct Window: Sendable, Hashable {
        package var result: WindowResult
        package var isFinal: Bool
        /// Seconds until Redis expires it; -1 without expiry.
        package var ttlSeconds: Int64
        /// Model KPIs' net values in the window (`kpi:<NAME>` fields): name → `[{"group":[…],"values":[…]}]`.
        package var kpis: [String: String] = [:]
        package init(result: WindowResult, isFinal: Bool, ttlSeconds: Int64) {
            self.result = result
            self.isFinal = isFinal
            self.ttlSeconds = ttlSeconds
        }
    }
    package struct Lag: Sendable, Hashable {
        /// `<topic>:<partition>`.
        package var partition: String
        package var lag: Int64
        package init(partition: String, lag: Int64) {
            self.partition = partition
            self.lag = lag
        }
    }

    package var prefix: String
    package var meta: [String: String]
    package var kpi: [String: String]
    /// Highest total revenue first.
    package var categories: [Category]
    /// Oldest first; index entries whose hash has expired are left out.
    package var windows: [Window]
    package var lag: [Lag]
    /// A model profile's KPIs (`P:kpis`): name → the totals JSON `--json` prints for it under `"kpis"`.
    package var kpis: [String: String] = [:]
    /// Fields that should be exact decimals or integers but are not (empty when all is well).
    package var problems: [String]

    package var isEmpty: Bool { meta.isEmpty && kpi.isEmpty }
    package var isPaused: Bool { meta["state"] == "paused" }

    /// Running totals as mirrored, in the engine's own type, to compare exactly.
    package var totals: TotalsResult {
        var t = TotalsResult()
        t.txCount = kpi["total_tx_count"].flatMap { Int64($0) } ?? 0
        t.revenue = kpi["total_revenue"].flatMap { Money(decimalText: $0) } ?? .zero
        for c in categories { if let r = c.revenue { t.categoryRevenue[c.name] = r } }
        return t
    }

    package var windowResults: [WindowResult] { windows.map(\.result) }

    /// Reads everything under `prefix`.
    package static func read(url: RedisURL, prefix: String) throws -> MirroredState {
        let connection = try RedisConnection(url: url)
        return try read(connection: connection, prefix: prefix)
    }

    package static func read(connection: RedisConnection, prefix: String) throws -> MirroredState {
        let keys = RedisKeys(prefix: prefix)
        // The index first, then every key in one transaction.
        let starts = try connection.command("ZRANGE", keys.windows, "0", "-1").elements.compactMap {
            $0.text.flatMap { Int64($0) }
        }.sorted()
        var buffer = RedisCommandBuffer()
        buffer.append("MULTI")
        buffer.append("HGETALL", keys.meta)
        buffer.append("HGETALL", keys.kpi)
        buffer.append("ZREVRANGE", keys.categories, "0", "-1", "WITHSCORES")
        buffer.append("HGETALL", keys.categoryRevenue)
        buffer.append("HGETALL", keys.lag)
        buffer.append("HGETALL", keys.kpis)
        for s in starts {
            buffer.append("HGETALL", keys.window(s))
            buffer.append("TTL", keys.window(s))
        }
        buffer.append("EXEC")
        connection.append(buffer)
        let replies = try connection.getReplies()
        for r in replies {
            if let e = r.errorMessage {
                throw RedisError(.server, "Redis at \(connection.url) refused to read \(prefix): \(e)")
            }
        }
        guard let exec = replies.last, case .array(let results) = exec, results.count == 6 + 2 * starts.count else {
            throw RedisError(.server, "Redis at \(connection.url) aborted the read transaction for \(prefix)")
        }
        var state = MirroredState(
            prefix: prefix, meta: results[0].fieldValues, kpi: results[1].fieldValues,
            categories: [], windows: [], lag: [], problems: [])
        let exact = results[3].fieldValues
        let ranked = results[2].elements
        var i = 0
        while i + 1 < ranked.count {
            let name = ranked[i].text ?? ""
            let score = ranked[i + 1].text.flatMap { Double($0) } ?? 0
            let revenue = exact[name].flatMap { Money(decimalText: $0) }
            if revenue == nil {
                state.problems.append("category \(name) has no exact revenue in \(keys.categoryRevenue)")
            }
            state.categories.append(Category(name: name, revenue: revenue, score: score))
            i += 2
        }
        for (field, value) in results[4].fieldValues.sorted(by: { $0.key < $1.key }) {
            guard let lag = Int64(value) else {
                state.problems.append("lag \(field)=\(value) is not an integer")
                continue
            }
            state.lag.append(Lag(partition: field, lag: lag))
        }
        state.kpis = results[5].fieldValues
        for (name, json) in state.kpis where !MirroredState.isJSON(json, object: true) {
            state.problems.append("kpi \(name) in \(keys.kpis) is not a JSON object")
        }
        for (n, start) in starts.enumerated() {
            let fields = results[6 + 2 * n].fieldValues
            if fields.isEmpty { continue }  // expired; the index entry goes at the mirror's next write
            var w = WindowResult(windowStartMs: start)
            if let t = fields["tx_count"], let v = Int64(t) {
                w.txCount = v
            } else {
                state.problems.append("window \(start) tx_count missing")
            }
            if let r = fields["revenue"], let m = Money(decimalText: r) {
                w.revenue = m
            } else {
                state.problems.append("window \(start) revenue missing")
            }
            for (field, value) in fields where field.hasPrefix(RedisKeys.categoryFieldPrefix) {
                guard let m = Money(decimalText: value) else {
                    state.problems.append("window \(start) \(field)=\(value) is not a decimal")
                    continue
                }
                w.categoryRevenue[String(field.dropFirst(RedisKeys.categoryFieldPrefix.count))] = m
            }
            var window = Window(
                result: w, isFinal: fields["final"] == "1", ttlSeconds: results[7 + 2 * n].integer ?? -1)
            for (field, value) in fields where field.hasPrefix(RedisKeys.kpiFieldPrefix) {
                let name = String(field.dropFirst(RedisKeys.kpiFieldPrefix.count))
                guard MirroredState.isJSON(value, object: false) else {
                    state.problems.append("window \(start) \(field) is not a JSON array")
                    continue
                }
                window.kpis[name] = value
            }
            state.windows.append(window)
        }
        return state
    }

    // MARK: output

    /// For humans: meta, KPIs, top categories, the latest windows and lag.
    package func report(latestWindows: Int = 10, topCategories: Int = 10, nowMs: Int64? = nil) -> String {
        let nowMs = nowMs ?? WallClock.nowMs()
        var out = ""
        func line(_ s: String = "") {
            out += s
            out += "\n"
        }
        guard !isEmpty else {
            return
                "nothing mirrored under \(prefix) (no \(prefix):meta): is cdctop running with --redis and the same --prefix?"
                + " (cdctop demo mirrors under cdctop:demo: --pipeline demo)\n"
        }
        let state = meta["state"] ?? "?"
        var head = "mirror \(prefix): \(state)"
        if state == "paused", let at = meta["paused_at_ms"].flatMap({ Int64($0) }) {
            head += " since \(MirroredState.utc(at)) (data is stale)"
        }
        line(head)
        line(
            "  pipeline \(meta["pipeline"] ?? "?") · profile \(meta["profile"] ?? "?") · cdctop \(meta["version"] ?? "?") · layout \(meta["layout"] ?? "?")"
        )
        if let started = meta["started_at_ms"].flatMap({ Int64($0) }) {
            line("  started   \(MirroredState.utc(started))")
        }
        if let updated = (kpi["updated_at_ms"] ?? meta["updated_at_ms"]).flatMap({ Int64($0) }) {
            line("  updated   \(MirroredState.utc(updated)) (\(MirroredState.age(nowMs - updated)) ago)")
        }
        line()
        if kpi.isEmpty {
            line("kpi: none yet (the mirror has not written a snapshot)")
        } else {
            line("kpi")
            line("  totals          \(kpi["total_tx_count"] ?? "?") tx · revenue \(kpi["total_revenue"] ?? "?")")
            if let start = kpi["window_start_ms"].flatMap({ Int64($0) }) {
                line(
                    "  current window  \(MirroredState.utc(start)) · \(kpi["window_tx_count"] ?? "?") tx · revenue \(kpi["window_revenue"] ?? "?")"
                )
            }
            line(
                "  rate            \(kpi["events_per_second"] ?? "?") events/s · lag \(kpi["lag"] ?? "?") messages · caught up \(kpi["caught_up"] == "1" ? "yes" : "no")"
            )
            if let last = kpi["last_commit_ms"].flatMap({ Int64($0) }), last > 0 {
                line("  last commit     \(MirroredState.utc(last)) (\(MirroredState.age(nowMs - last)) ago)")
            }
            line(
                "  counters        messages \(kpi["messages"] ?? "?") · malformed \(kpi["malformed"] ?? "?") · dropped \(kpi["dropped"] ?? "?") · late corrections \(kpi["late_corrections"] ?? "?")"
            )
            line(
                "                  refused \(kpi["refused"] ?? "?") · duplicates \(kpi["duplicates"] ?? "?") · unmatched \(kpi["unmatched"] ?? "?") · ignored \(kpi["ignored"] ?? "?") · tombstones \(kpi["tombstones"] ?? "?")"
            )
            if let unmatched = kpi["unmatched"].flatMap({ Int64($0) }), unmatched > 0 {
                line("                  unmatched > 0: started after the snapshot? changes to rows cdctop never saw")
            }
            let byTable = malformedByTable
            if byTable.contains(where: { $0.count > 0 }) {
                line(
                    "  malformed by table  "
                        + byTable.filter { $0.count > 0 }.map { "\($0.table) \($0.count)" }.joined(separator: " · "))
                if let reason = kpi["last_malformed_reason"] {
                    line("  last malformed  \(kpi["last_malformed_position"] ?? "?")  \(reason)")
                }
            }
            line("  state           \(stateText(nowMs: nowMs))")
        }
        line()
        line("top categories (\(min(topCategories, categories.count)) of \(categories.count))")
        let nameWidth = min(32, categories.prefix(topCategories).map(\.name.count).max() ?? 8)
        for (i, c) in categories.prefix(topCategories).enumerated() {
            let name =
                c.name.count > nameWidth
                ? String(c.name.prefix(nameWidth - 1)) + "…"
                : c.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            line(
                "  \(MirroredState.pad(String(i + 1), 3)). \(name)  \(MirroredState.pad(c.revenue?.formatted() ?? String(c.score), 16))"
            )
        }
        line()
        let latest = windows.suffix(latestWindows)
        line("windows (latest \(latest.count) of \(windows.count))")
        line("  start (UTC)                  tx          revenue  final  ttl")
        for w in latest.reversed() {
            line(
                "  \(MirroredState.utc(w.result.windowStartMs))  \(MirroredState.pad(String(w.result.txCount), 6))  \(MirroredState.pad(w.result.revenue.formatted(), 15))  \(w.isFinal ? "yes  " : "no   ")  \(w.ttlSeconds >= 0 ? MirroredState.age(w.ttlSeconds * 1000) : "none")"
            )
        }
        if !kpis.isEmpty {
            line()
            appendKPIReport(top: topCategories, latest: windows.last, line: line)
        }
        line()
        line("lag (\(lag.count) partitions, \(lag.reduce(0) { $0 + $1.lag }) messages)")
        for l in lag { line("  \(l.partition)  \(l.lag)") }
        if !problems.isEmpty {
            line()
            line("problems")
            for p in problems { line("  \(p)") }
        }
        return out
    }

    /// `malformed:<table>` fields of the kpi hash, by table name.
    package var malformedByTable: [(table: String, count: Int64)] {
        kpi.compactMap { k, v in
            k.hasPrefix("malformed:") ? (String(k.dropFirst("malformed:".count)), Int64(v) ?? 0) : nil
        }.sorted { $0.table < $1.table }
    }

    /// The durable state's fields as one line: `none (in memory only)`, `<dir> · checkpoint 3s ago (12)`, `… · error: …`.
    func stateText(nowMs: Int64) -> String {
        guard let dir = kpi["state_dir"] else { return "none (in memory only)" }
        var text = dir
        if let last = kpi["state_last_checkpoint_ms"].flatMap({ Int64($0) }), last > 0 {
            text += " · checkpoint \(MirroredState.age(nowMs - last)) ago (\(kpi["state_checkpoints"] ?? "?") so far)"
        } else {
            text += " · no checkpoint yet"
        }
        if let restored = kpi["state_restored"] { text += " · \(restored)" }
        if let error = kpi["state_error"] { text += " · error: \(error)" }
        return text
    }

    /// For scripts: `{"prefix":…,"meta":{…},"kpi":{…},"categories":[{"name":…,"revenue":"…"}],
    /// "windows":[{"window_start_ms":…,"tx_count":…,"revenue":"…","final":true,"ttl_s":…,"category_revenue":{…}[,"kpis":{NAME:[…]}]}],
    /// "lag":{"topic:partition":N}[,"kpis":{NAME:{…}}],"problems":[…]}` (`kpis` for model profiles only). Keys sorted: the same state prints the same bytes.
    package func json() -> String {
        var out = "{\"prefix\":"
        JSONText.appendQuoted(prefix, to: &out)
        out += ",\"meta\":"
        MirroredState.appendObject(meta, to: &out)
        out += ",\"kpi\":"
        MirroredState.appendObject(kpi, to: &out)
        out += ",\"categories\":["
        for (i, c) in categories.enumerated() {
            if i > 0 { out += "," }
            out += "{\"name\":"
            JSONText.appendQuoted(c.name, to: &out)
            out += ",\"revenue\":"
            if let r = c.revenue { out += "\"\(r.formatted())\"" } else { out += "null" }
            out += "}"
        }
        out += "],\"windows\":["
        for (i, w) in windows.enumerated() {
            if i > 0 { out += "," }
            out +=
                "{\"window_start_ms\":\(w.result.windowStartMs),\"tx_count\":\(w.result.txCount),\"revenue\":\"\(w.result.revenue.formatted())\",\"final\":\(w.isFinal),\"ttl_s\":\(w.ttlSeconds),\"category_revenue\":"
            MirroredState.appendObject(w.result.categoryRevenue.mapValues { $0.formatted() }, to: &out)
            if !w.kpis.isEmpty {
                out += ",\"kpis\":"
                MirroredState.appendRawObject(w.kpis, to: &out)
            }
            out += "}"
        }
        out += "],\"lag\":{"
        for (i, l) in lag.enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(l.partition, to: &out)
            out += ":\(l.lag)"
        }
        out += "}"
        if !kpis.isEmpty {
            out += ",\"kpis\":"
            MirroredState.appendRawObject(kpis, to: &out)
        }
        out += ",\"problems\":["
        for (i, p) in problems.enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(p, to: &out)
        }
        out += "]}"
        return out
    }

    /// A model profile's KPIs for humans: per KPI (by name) its columns, its first `top` groups and
    /// unresolved rows, and its net values in the latest window.
    private func appendKPIReport(top: Int, latest: Window?, line: (String) -> Void) {
        line("model KPIs (\(kpis.count))")
        for name in kpis.keys.sorted() {
            guard let object = MirroredState.parse(kpis[name]!) as? [String: Any] else {
                line("  \(name)  (not JSON)")
                continue
            }
            let groupBy = object["group_by"] as? [String] ?? []
            let aggregates = object["aggregates"] as? [String] ?? []
            let rows = object["totals"] as? [[String: Any]] ?? []
            var head = "  \(name)"
            if !groupBy.isEmpty { head += "  by \(groupBy.joined(separator: ", "))" }
            head += "  · \(aggregates.joined(separator: ", "))"
            if !groupBy.isEmpty { head += "  · \(rows.count) groups" }
            if let unresolved = object["unresolved_rows"] as? Int, unresolved != 0 {
                head += "  · unresolved rows \(unresolved)"
            }
            line(head)
            for row in rows.prefix(groupBy.isEmpty ? 1 : top) {
                let group = (row["group"] as? [String] ?? []).joined(separator: " | ")
                let values = (row["values"] as? [String] ?? []).joined(separator: "  ")
                line("    \(group.isEmpty ? "total" : group)  \(values)")
            }
            if let w = latest, let text = w.kpis[name], let wrows = MirroredState.parse(text) as? [[String: Any]] {
                let shown = wrows.prefix(groupBy.isEmpty ? 1 : min(top, 3)).map { row -> String in
                    let group = (row["group"] as? [String] ?? []).joined(separator: " | ")
                    let values = (row["values"] as? [String] ?? []).joined(separator: " ")
                    return group.isEmpty ? values : "\(group) \(values)"
                }
                let more = wrows.count > shown.count ? " · +\(wrows.count - shown.count) groups" : ""
                line(
                    "    window \(MirroredState.utc(w.result.windowStartMs))  \(shown.isEmpty ? "no change" : shown.joined(separator: " · "))\(more)"
                )
            }
        }
    }

    static func parse(_ json: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
    }

    /// True when `text` is a JSON object (or array).
    static func isJSON(_ text: String, object: Bool) -> Bool {
        let value = parse(text)
        return object ? value is [String: Any] : value is [Any]
    }

    /// `{"k":<value as is>,…}`, keys sorted: values already JSON (the mirror's KPI objects).
    private static func appendRawObject(_ d: [String: String], to out: inout String) {
        out += "{"
        for (i, k) in d.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(k, to: &out)
            out += ":"
            let value = d[k]!
            if parse(value) != nil { out += value } else { JSONText.appendQuoted(value, to: &out) }
        }
        out += "}"
    }

    private static func appendObject(_ d: [String: String], to out: inout String) {
        out += "{"
        for (i, k) in d.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(k, to: &out)
            out += ":"
            JSONText.appendQuoted(d[k]!, to: &out)
        }
        out += "}"
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    /// `2024-05-01 12:00:30.000Z`, without Foundation's formatters (not thread-safe on every platform).
    static func utc(_ ms: Int64) -> String {
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = ((ms % 1000) + 1000) % 1000
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let m = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(m)Z"
    }

    static func age(_ ms: Int64) -> String {
        if ms < 0 { return "in the future" }
        if ms < 10_000 { return String(format: "%.1f s", Double(ms) / 1000) }
        let s = ms / 1000
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }
}

extension RedisMirror {
    /// Reads back everything mirrored under `prefix` (what `cdctop redis-check` prints).
    package static func readBack(url: RedisURL, prefix: String) throws -> MirroredState {
        try MirroredState.read(url: url, prefix: prefix)
    }
}
