/// KPIs of one tumbling window: net changes whose commit time falls in it.
package struct WindowResult: Sendable, Hashable {
    package var windowStartMs: Int64
    /// Net transactions: creates minus deletes.
    package var txCount: Int64
    /// Net revenue: created amounts, plus update deltas, minus deleted amounts.
    package var revenue: Money
    /// Net line-item sales per category; categories that net to zero are left out.
    package var categoryRevenue: [String: Money]
    /// A model profile's KPIs in this window (net changes), by KPI index; empty otherwise.
    package var kpis: [KPIValues] = []

    package init(
        windowStartMs: Int64, txCount: Int64 = 0, revenue: Money = .zero, categoryRevenue: [String: Money] = [:]
    ) {
        self.windowStartMs = windowStartMs
        self.txCount = txCount
        self.revenue = revenue
        self.categoryRevenue = categoryRevenue
    }
}

/// Running totals, snapshot reads included: what `count(*)`/`sum(amount)` on the source says.
package struct TotalsResult: Sendable, Hashable {
    package var txCount: Int64
    package var revenue: Money
    package var categoryRevenue: [String: Money]
    /// A model profile's KPIs over the current state, by KPI index; empty otherwise.
    package var kpis: [KPIValues] = []

    package init(txCount: Int64 = 0, revenue: Money = .zero, categoryRevenue: [String: Money] = [:]) {
        self.txCount = txCount
        self.revenue = revenue
        self.categoryRevenue = categoryRevenue
    }
}

/// The machine-readable result printed by `--json`, and what the generator's ground truth is
/// compared with. Its JSON shape is part of cdctop's interface; see `json()`.
package struct KPIResult: Sendable, Hashable {
    package var windowMs: Int64
    /// Kafka messages read, tombstones and malformed ones included.
    package var messages: Int64
    /// Windows sorted by start.
    package var windows: [WindowResult]
    package var totals: TotalsResult
    package var malformed: Int64
    package var dropped: Int64
    /// A model profile's KPIs (names and output columns), by KPI index: `totals.kpis` and each
    /// window's `kpis` hold their values. Empty for the built-in shop form.
    package var kpiColumns: [KPIColumns] = []

    package init(
        windowMs: Int64, messages: Int64 = 0, windows: [WindowResult] = [], totals: TotalsResult = .init(),
        malformed: Int64 = 0, dropped: Int64 = 0
    ) {
        self.windowMs = windowMs
        self.messages = messages
        self.windows = windows
        self.totals = totals
        self.malformed = malformed
        self.dropped = dropped
    }

    /// The window starting at `start`, by binary search (windows are sorted by start).
    package func window(startingAt start: Int64) -> WindowResult? {
        var low = 0
        var high = windows.count
        while low < high {
            let mid = (low + high) / 2
            if windows[mid].windowStartMs < start { low = mid + 1 } else { high = mid }
        }
        return low < windows.count && windows[low].windowStartMs == start ? windows[low] : nil
    }

    /// `{"window_ms":30000,"messages":N,"windows":[{"window_start_ms":…,"tx_count":…,"revenue":"…",
    /// "category_revenue":{…}}],"totals":{"tx_count":…,"revenue":"…","category_revenue":{…}},"malformed":N,"dropped":N}`
    /// Decimals are strings, categories sorted by name, windows by start: the same result prints the same bytes.
    package func json() -> String {
        var out = "{\"window_ms\":\(windowMs),\"messages\":\(messages),\"windows\":["
        for (i, w) in windows.enumerated() {
            if i > 0 { out += "," }
            out +=
                "{\"window_start_ms\":\(w.windowStartMs),\"tx_count\":\(w.txCount),\"revenue\":\"\(w.revenue.formatted())\",\"category_revenue\":"
            KPIResult.appendCategories(w.categoryRevenue, to: &out)
            out += "}"
        }
        out +=
            "],\"totals\":{\"tx_count\":\(totals.txCount),\"revenue\":\"\(totals.revenue.formatted())\",\"category_revenue\":"
        KPIResult.appendCategories(totals.categoryRevenue, to: &out)
        out += "},\"malformed\":\(malformed),\"dropped\":\(dropped)"
        if !kpiColumns.isEmpty { appendKPIs(to: &out) }
        out += "}"
        return out
    }

    /// `"kpis":{"NAME":{"group_by":[…],"aggregates":[…],"totals":[{"group":[…],"values":[…]}],"unresolved_rows":N},…}`:
    /// groups sorted by their text, values exact (see `KPIColumns.valueText`). Windows carry their own
    /// values in `WindowResult.kpis`; the line keeps totals only, so its size does not grow with windows.
    func appendKPIs(to out: inout String) {
        out += ",\"kpis\":{"
        for (k, columns) in kpiColumns.enumerated() {
            if k > 0 { out += "," }
            JSONText.appendQuoted(columns.name, to: &out)
            out += ":" + KPIOutput.totalsJSON(columns, k < totals.kpis.count ? totals.kpis[k] : KPIValues())
        }
        out += "}"
    }

    static func appendCategories(_ categories: [String: Money], to out: inout String) {
        out += "{"
        for (i, name) in categories.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(name, to: &out)
            out += ":\"\(categories[name]!.formatted())\""
        }
        out += "}"
    }
}

/// Minimal JSON string escaping for output we write ourselves.
package enum JSONText {
    package static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    package static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }
}
