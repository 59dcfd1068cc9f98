import Metrics

/// Compares a KPI's engine values with its reconciliation query's rows, group by group.
package enum ReconcileCompare {
    enum Value: Hashable {
        case count(Int64)
        /// Exact: sums as they are, averages at 9 places.
        case amount(ExactDecimal)
        case null

        var text: String {
            switch self {
            case .count(let n): String(n)
            case .amount(let d): d.description
            case .null: "null"
            }
        }
    }

    /// Group values are matched by their text, numbers normalised (`1.50` and `1.5` are one group,
    /// as the engine's exact decimals are).
    package static func groupKey(_ text: String) -> String {
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else {
            return text
        }
        return ExactDecimal.parse(text)?.description ?? text
    }

    /// Decimal text (`-12`, `245.80`, `3.3333333333333333`) rounded half away from zero to 9 places.
    package static func roundedMoney(_ text: String) -> Money? {
        var s = Substring(text.trimmingSpaces)
        var negative = false
        if s.hasPrefix("-") {
            negative = true
            s = s.dropFirst()
        } else if s.hasPrefix("+") {
            s = s.dropFirst()
        }
        guard !s.isEmpty, !s.contains("e"), !s.contains("E") else {
            // Exponent form (a float printed by the source): exact parse, then round.
            guard let d = ExactDecimal.parse(text) else { return nil }
            return roundedMoney(plain: d)
        }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard whole.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit),
            !(whole.isEmpty && fraction.isEmpty)
        else { return nil }
        var units: Int128 = 0
        for c in whole + fraction.prefix(9).padding(9) {
            let (m, o1) = units.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int128(c.asciiValue! - 48))
            if o1 || o2 { return nil }
            units = a
        }
        if fraction.count > 9, let next = fraction.dropFirst(9).first, next >= "5" { units += 1 }
        return Money(units: negative ? -units : units)
    }

    private static func roundedMoney(plain d: ExactDecimal) -> Money? {
        if let m = d.money { return m }
        return roundedMoney(d.description)
    }

    /// The engine's value of aggregate `i` for a group (nil accumulator: the engine has no such group).
    static func engineValue(_ kind: AggregateKind, _ accum: KPIAccum?, _ i: Int) -> Value {
        guard let accum else { return kind == .avg ? .null : (kind == .sum ? .amount(.zero) : .count(0)) }
        switch kind {
        case .countRows, .count: return .count(accum.counts[i])
        case .sum: return .amount(accum.sums[i])
        case .avg:
            guard accum.counts[i] != 0, let average = KPIColumns.average(accum.sums[i], accum.counts[i]) else {
                return .null
            }
            return .amount(average)
        }
    }

    /// The source's value of one aggregate column; nil when it is not a number.
    static func sourceValue(_ kind: AggregateKind, _ text: String?) -> Value? {
        switch kind {
        case .countRows, .count:
            guard let text else { return .count(0) }
            return Int64(text.trimmingSpaces).map { .count($0) }
        case .sum:
            // Exact (PostgreSQL's numeric sums are); a sum beyond 38 places is compared at 9.
            guard let text else { return .amount(.zero) }
            if let d = ExactDecimal.parse(text.trimmingSpaces) { return .amount(d) }
            return roundedMoney(text).map { .amount(ExactDecimal($0)) }
        case .avg:
            guard let text else { return .null }
            return roundedMoney(text).map { .amount(ExactDecimal($0)) }
        }
    }

    /// The differences of one KPI, in the order of its groups' text; `groups` is how many groups were compared.
    package static func compare(
        _ query: ReconcileQuery, columns: KPIColumns, engine: KPIValues,
        rows: [[String?]]
    ) throws(WarehouseError) -> (groups: Int, differences: [KPIDifference]) {
        let width = query.groupCount + query.kinds.count
        var source: [[String]: (shown: [String], values: [Value])] = [:]
        for row in rows {
            guard row.count >= width else {
                throw WarehouseError(
                    kind: .badResult,
                    message:
                        "the reconciliation query of KPI \(query.name) returned \(row.count) columns, expected \(width) (\(query.groupCount) group columns, then one per aggregate)",
                    sql: query.sql, advice: query.isOverride ? "fix the override query" : "")
            }
            let shown = (0..<query.groupCount).map { row[$0] ?? columns.nullLabel }
            var values: [Value] = []
            for (i, kind) in query.kinds.enumerated() {
                guard let v = sourceValue(kind, row[query.groupCount + i]) else {
                    throw WarehouseError(
                        kind: .badResult,
                        message: "KPI \(query.name): '\(row[query.groupCount + i] ?? "")' is not a number",
                        sql: query.sql, advice: "")
                }
                values.append(v)
            }
            source[shown.map(groupKey)] = (shown, values)
        }
        var engineGroups: [[String]: (shown: [String], accum: KPIAccum)] = [:]
        for (g, accum) in engine.groups {
            let shown = columns.groupText(g)
            engineGroups[shown.map(groupKey)] = (shown, accum)
        }
        // An ungrouped KPI always has its one row on both sides (no rows: count 0, sum null).
        if query.groupCount == 0 && source[[]] == nil { source[[]] = ([], query.kinds.map { sourceValue($0, nil)! }) }
        var differences: [KPIDifference] = []
        let keys = Set(source.keys).union(engineGroups.keys).sorted { $0.lexicographicallyPrecedes($1) }
        for key in keys {
            let e = engineGroups[key]
            let s = source[key]
            for (i, kind) in query.kinds.enumerated() {
                let ev = engineValue(kind, e?.accum, i)
                let sv = s?.values[i] ?? engineValue(kind, nil, i)
                if ev != sv {
                    differences.append(
                        KPIDifference(
                            kpi: query.name, group: e?.shown ?? s?.shown ?? key,
                            column: columns.aggregateNames[i], engine: ev.text, source: sv.text))
                }
            }
        }
        return (keys.count, differences)
    }

    /// The built-in shop form's category sales: the engine's `categoryRevenue` and the rows of
    /// `ReconcileSQL.legacyCategories` (category, sum).
    package static func compareCategories(
        engine: [String: Money], rows: [[String?]], uncategorized: String,
        sql: String
    ) throws(WarehouseError) -> (groups: Int, differences: [KPIDifference]) {
        var source: [String: (String, Money)] = [:]
        for row in rows where row.count >= 2 {
            let name = row[0] ?? uncategorized
            let parsed: Money? = row[1] == nil ? Money.zero : roundedMoney(row[1]!)
            guard let m = parsed else {
                throw WarehouseError(
                    kind: .badResult, message: "category sales: '\(row[1] ?? "")' is not a number", sql: sql, advice: ""
                )
            }
            source[groupKey(name), default: (name, .zero)].1 += m
        }
        var engineByKey: [String: (String, Money)] = [:]
        for (name, m) in engine { engineByKey[groupKey(name), default: (name, .zero)].1 += m }
        var differences: [KPIDifference] = []
        let keys = Set(source.keys).union(engineByKey.keys).sorted()
        for key in keys {
            let e = engineByKey[key]?.1 ?? .zero
            let s = source[key]?.1 ?? .zero
            if e != s {
                differences.append(
                    KPIDifference(
                        kpi: "category_sales", group: [engineByKey[key]?.0 ?? source[key]?.0 ?? key],
                        column: "revenue", engine: e.formatted(), source: s.formatted()))
            }
        }
        return (keys.count, differences)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Substring {
    /// Right-padded with zeros to `n` characters.
    fileprivate func padding(_ n: Int) -> String {
        String(self) + String(repeating: "0", count: Swift.max(0, n - count))
    }
}
