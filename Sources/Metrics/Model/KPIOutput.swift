/// How every output (`--json`, Prometheus, the Redis mirror, the warehouse) writes a model profile's
/// KPIs: one set of names, one group order, one JSON form, so the outputs agree byte for byte.
package enum KPIOutput {
    /// The KPI's aggregate names, a repeated one made unique with " #2", " #3"… (`select sum(a) as x,
    /// sum(b) as x` is legal SQL but would give two series, or two rows, under one name).
    package static func aggregateLabels(_ columns: KPIColumns) -> [String] {
        var seen: [String: Int] = [:]
        return columns.aggregateNames.map { name in
            let n = (seen[name] ?? 0) + 1
            seen[name] = n
            var label = n == 1 ? name : "\(name) #\(n)"
            // A suffixed name that is also a real name of the KPI: keep counting.
            var extra = n
            while n > 1, columns.aggregateNames.contains(label) {
                extra += 1
                label = "\(name) #\(extra)"
            }
            return label
        }
    }

    /// The first aggregate's value, to rank groups (nil for an average of no rows).
    package static func rankValue(_ columns: KPIColumns, _ accum: KPIAccum) -> ExactDecimal? {
        guard !columns.aggregateKinds.isEmpty else { return nil }
        switch columns.aggregateKinds[0] {
        case .countRows, .count: return ExactDecimal(accum.counts[0])
        case .sum: return accum.sums[0]
        case .avg: return accum.counts[0] == 0 ? nil : KPIColumns.average(accum.sums[0], accum.counts[0])
        }
    }

    /// The groups as their text, sorted by it; groups printing the same are merged.
    package static func groupRows(_ columns: KPIColumns, _ values: KPIValues) -> [(text: [String], accum: KPIAccum)] {
        var byText: [[String]: KPIAccum] = [:]
        for (group, accum) in values.groups {
            let text = columns.groupText(group)
            if byText[text] == nil { byText[text] = accum } else { byText[text]!.add(accum) }
        }
        return byText.map { (text: $0.key, accum: $0.value) }.sorted { $0.text.lexicographicallyPrecedes($1.text) }
    }

    /// One KPI's object as `KPIResult.json()` prints it under `"kpis"`:
    /// `{"group_by":[…],"aggregates":[…],"totals":[{"group":[…],"values":[…]}],"unresolved_rows":N}`.
    package static func totalsJSON(_ columns: KPIColumns, _ values: KPIValues) -> String {
        var out = "{\"group_by\":["
        out += columns.groupNames.map(JSONText.quoted).joined(separator: ",")
        out += "],\"aggregates\":["
        out += columns.aggregateNames.map(JSONText.quoted).joined(separator: ",")
        out += "],\"totals\":"
        appendGroups(columns, values, to: &out)
        out += ",\"unresolved_rows\":\(values.unresolvedRows)}"
        return out
    }

    /// One window's net values of a KPI: `[{"group":[…],"values":[…]},…]`, groups sorted by text.
    package static func windowJSON(_ columns: KPIColumns, _ values: KPIValues) -> String {
        var out = ""
        appendGroups(columns, values, to: &out)
        return out
    }

    private static func appendGroups(_ columns: KPIColumns, _ values: KPIValues, to out: inout String) {
        out += "["
        // One entry per group text (groups printing the same are one group), sorted by it.
        let rows = groupRows(columns, values)
        for (i, row) in rows.enumerated() {
            if i > 0 { out += "," }
            out += "{\"group\":["
            out += row.text.map(JSONText.quoted).joined(separator: ",")
            out += "],\"values\":["
            out += columns.aggregateNames.indices.map { JSONText.quoted(columns.valueText(row.accum, $0)) }.joined(
                separator: ",")
            out += "]}"
        }
        out += "]"
    }
}
