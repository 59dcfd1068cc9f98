/// A problem in a configuration file, with where it is and what to do.
package struct ConfigFileError: Error, CustomStringConvertible, Sendable {
    package var file: String
    package var line: Int
    package var message: String
    package init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    package var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// The small TOML subset cdctop's files use: `[section]` headers (dots are part of the name:
/// `[kpi.revenue]`), `key = value` with basic (`"…"`, escapes) and literal (`'…'`) strings, both also
/// multi-line (`"""…"""`, `\'\'\'…\'\'\'`), integers, booleans, one-line arrays of strings, and `#`
/// comments. Enough for profiles and themes, with errors that name the line.
package struct SimpleTOML: Sendable {
    package struct Entry: Sendable {
        package var value: Value
        package var line: Int
        /// Where the value's text starts (a multi-line string: the line after the opening quotes), so
        /// errors inside a value (a KPI's SQL) can name the file's line and column.
        package var valueLine: Int
        package var valueColumn: Int
    }
    package enum Value: Sendable, Hashable {
        case string(String)
        case integer(Int64)
        case bool(Bool)
        case strings([String])
    }
    /// `section → key → entry`; keys before any header are in section "".
    package private(set) var sections: [String: [String: Entry]] = [:]
    package private(set) var sectionLines: [String: Int] = [:]

    package init(text: String, file: String) throws {
        var section = ""
        sections[""] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        var index = 0
        while index < lines.count {
            let lineNumber = index + 1
            let rawLine = lines[index]
            index += 1
            let line = SimpleTOML.stripComment(Substring(rawLine)).trimmingSpaces
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw ConfigFileError(file: file, line: lineNumber, message: "malformed section header '\(line)'")
                }
                section = String(line.dropFirst().dropLast()).trimmingSpaces
                if sections[section] != nil {
                    throw ConfigFileError(file: file, line: lineNumber, message: "section [\(section)] appears twice")
                }
                sections[section] = [:]
                sectionLines[section] = lineNumber
                continue
            }
            guard let eq = rawLine.firstIndex(of: "=") else {
                throw ConfigFileError(file: file, line: lineNumber, message: "expected 'key = value', found '\(line)'")
            }
            let key = String(rawLine[..<eq]).trimmingSpaces
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ConfigFileError(file: file, line: lineNumber, message: "invalid key '\(key)'")
            }
            var rest = Substring(rawLine[rawLine.index(after: eq)...])
            while let f = rest.first, f == " " || f == "\t" { rest.removeFirst() }
            let column = rawLine.distance(from: rawLine.startIndex, to: rest.startIndex) + 1
            let value: Value
            var valueLine = lineNumber
            var valueColumn = column
            if rest.hasPrefix("\"\"\"") || rest.hasPrefix("\'\'\'") {
                let quote = String(rest.prefix(3))
                let literal = quote == "\'\'\'"
                var body = String(rest.dropFirst(3))
                var closed = false
                var trailing = ""
                // A newline right after the opening quotes is not part of the string (TOML).
                if body.trimmingSpaces.isEmpty {
                    body = ""
                    valueLine = lineNumber + 1
                    valueColumn = 1
                } else {
                    valueColumn = column + 3
                }
                var collected = body
                if let r = collected.firstRange(of: quote) {
                    trailing = String(collected[r.upperBound...])
                    collected = String(collected[..<r.lowerBound])
                    closed = true
                }
                var first = body.isEmpty
                while !closed && index < lines.count {
                    let next = lines[index]
                    index += 1
                    let piece: String
                    if let r = next.firstRange(of: quote) {
                        piece = String(next[..<r.lowerBound])
                        trailing = String(next[r.upperBound...])
                        closed = true
                    } else {
                        piece = next
                    }
                    collected += (first ? "" : "\n") + piece
                    first = false
                }
                guard closed else {
                    throw ConfigFileError(
                        file: file, line: lineNumber,
                        message: "unterminated multi-line string for '\(key)' (close it with \(quote))")
                }
                guard SimpleTOML.stripComment(Substring(trailing)).trimmingSpaces.isEmpty else {
                    throw ConfigFileError(
                        file: file, line: index, message: "unexpected text after the closing \(quote) of '\(key)'")
                }
                value = .string(
                    literal ? collected : try SimpleTOML.unescape(collected, file: file, line: lineNumber, key: key))
            } else {
                let valueText = SimpleTOML.stripComment(rest).trimmingSpaces
                value = try SimpleTOML.scalar(valueText, file: file, line: lineNumber, key: key)
            }
            if sections[section]![key] != nil {
                throw ConfigFileError(file: file, line: lineNumber, message: "'\(key)' is set twice")
            }
            sections[section]![key] = Entry(
                value: value, line: lineNumber, valueLine: valueLine, valueColumn: valueColumn)
        }
    }

    static func scalar(_ text: String, file: String, line: Int, key: String) throws -> Value {
        if text.hasPrefix("\"") {
            guard text.count >= 2, text.hasSuffix("\"") else {
                throw ConfigFileError(file: file, line: line, message: "unterminated string for '\(key)'")
            }
            return .string(try unescape(String(text.dropFirst().dropLast()), file: file, line: line, key: key))
        }
        if text.hasPrefix("'") {
            guard text.count >= 2, text.hasSuffix("'") else {
                throw ConfigFileError(file: file, line: line, message: "unterminated string for '\(key)'")
            }
            return .string(String(text.dropFirst().dropLast()))
        }
        if text == "true" || text == "false" { return .bool(text == "true") }
        if let i = Int64(text.replacingUnderscores) { return .integer(i) }
        if text.hasPrefix("[") {
            guard text.hasSuffix("]") else {
                throw ConfigFileError(
                    file: file, line: line,
                    message: "an array for '\(key)' must open and close on one line: [\"a\", \"b\"]")
            }
            var items: [String] = []
            var inner = Substring(text.dropFirst().dropLast())
            while true {
                inner = Substring(inner.trimmingSpaces)
                if inner.isEmpty { break }
                guard let q = inner.first, q == "\"" || q == "'" else {
                    throw ConfigFileError(
                        file: file, line: line, message: "'\(key)' must be an array of quoted strings, found '\(inner)'"
                    )
                }
                guard let close = inner.dropFirst().firstIndex(of: q) else {
                    throw ConfigFileError(
                        file: file, line: line, message: "unterminated string in the array for '\(key)'")
                }
                let item = String(inner[inner.index(after: inner.startIndex)..<close])
                items.append(q == "'" ? item : try unescape(item, file: file, line: line, key: key))
                inner = Substring(inner[inner.index(after: close)...].trimmingSpaces)
                if inner.hasPrefix(",") {
                    inner = inner.dropFirst()
                } else if !inner.isEmpty {
                    throw ConfigFileError(
                        file: file, line: line, message: "expected ',' between the strings of '\(key)'")
                }
            }
            return .strings(items)
        }
        throw ConfigFileError(
            file: file, line: line,
            message:
                "value of '\(key)' must be a quoted string, an integer, true/false or an array of strings, found '\(text)'"
        )
    }

    /// TOML basic-string escapes: `\\ \" \n \t \r \uXXXX`.
    static func unescape(_ text: String, file: String, line: Int, key: String) throws -> String {
        guard text.contains("\\") else { return text }
        var out = ""
        var chars = text.makeIterator()
        while let c = chars.next() {
            guard c == "\\" else {
                out.append(c)
                continue
            }
            switch chars.next() {
            case "\\": out.append("\\")
            case "\"": out.append("\"")
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "u":
                var hex = ""
                for _ in 0..<4 { if let h = chars.next() { hex.append(h) } }
                guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else {
                    throw ConfigFileError(file: file, line: line, message: "bad \\u escape in '\(key)'")
                }
                out.unicodeScalars.append(scalar)
            case let other:
                throw ConfigFileError(
                    file: file, line: line,
                    message:
                        "unknown escape '\\\(other.map(String.init) ?? "")' in '\(key)' (write \\\\ for a backslash, or use a 'literal string')"
                )
            }
        }
        return out
    }

    static func stripComment(_ line: Substring) -> Substring {
        var quote: Character? = nil
        var escaped = false
        for i in line.indices {
            let c = line[i]
            if let q = quote {
                if escaped {
                    escaped = false
                } else if c == "\\" && q == "\"" {
                    escaped = true
                } else if c == q {
                    quote = nil
                }
                continue
            }
            if c == "\"" || c == "'" {
                quote = c
                continue
            }
            if c == "#" { return line[..<i] }
        }
        return line
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
    var replacingUnderscores: String { String(self.filter { $0 != "_" }) }
}

extension KPIProfile {
    /// Reads a profile file (see `profiles/shop.toml` for every key). Unknown sections or keys are
    /// errors, so a typo never silently falls back to a default.
    package init(tomlText text: String, file: String) throws {
        let toml = try SimpleTOML(text: text, file: file)
        let allowed: [String: Set<String>] = [
            "": ["name", "default_decimal_scale", "uncategorized"],
            "sale": ["table", "key", "amount"],
            "line_item": ["table", "key", "quantity", "unit_price", "product_key"],
            "dimension": ["table", "key", "category"],
            "windows": ["size_seconds", "allowed_lateness_seconds", "retention_hours"],
            "warehouse": ["history_sql", "history_category_sql"],
            "lag": ["lagging_messages", "lagging_seconds", "samples"],
            "alerts": Set(AlertRules.profileKeys),
        ]
        let modelSections = toml.sections.keys.filter { $0.hasPrefix("kpi.") || $0.hasPrefix("tables.") }
        if !modelSections.isEmpty || toml.sections["kpi"] != nil || toml.sections["tables"] != nil {
            try self.init(modelTOML: toml, file: file)
            return
        }
        for (section, entries) in toml.sections {
            guard let keys = allowed[section] else {
                throw ConfigFileError(
                    file: file, line: toml.sectionLines[section] ?? 0,
                    message:
                        "unknown section [\(section)]; expected one of [sale], [line_item], [dimension], [windows], [warehouse], [lag], [alerts]"
                )
            }
            for (key, entry) in entries where !keys.contains(key) {
                throw ConfigFileError(
                    file: file, line: entry.line,
                    message:
                        "unknown key '\(key)' in [\(section)]; expected one of \(keys.sorted().joined(separator: ", "))"
                )
            }
        }
        func string(_ section: String, _ key: String, default def: String? = nil) throws -> String {
            guard let e = toml.sections[section]?[key] else {
                if let def { return def }
                throw ConfigFileError(
                    file: file, line: toml.sectionLines[section] ?? 0, message: "[\(section)] needs '\(key)'")
            }
            guard case .string(let s) = e.value, !s.isEmpty else {
                throw ConfigFileError(file: file, line: e.line, message: "'\(key)' must be a non-empty quoted string")
            }
            return s
        }
        func integer(_ section: String, _ key: String, default def: Int64) throws -> Int64 {
            guard let e = toml.sections[section]?[key] else { return def }
            guard case .integer(let i) = e.value, i >= 0 else {
                throw ConfigFileError(file: file, line: e.line, message: "'\(key)' must be a non-negative integer")
            }
            return i
        }
        guard toml.sections["sale"] != nil else {
            throw ConfigFileError(
                file: file, line: 0,
                message: """
                    a profile needs KPIs: write each as SQL over your tables, e.g.
                      [kpi.revenue]
                      sql = "select sum(amount) from orders"
                    (see profiles/northwind.toml and docs/profiles.md), or use the older built-in form with a [sale] section (table, key, amount)
                    """)
        }
        let sale = SaleTable(
            table: try string("sale", "table"), key: try string("sale", "key"), amount: try string("sale", "amount"))
        var line: LineItemTable? = nil
        if toml.sections["line_item"] != nil {
            line = LineItemTable(
                table: try string("line_item", "table"), key: try string("line_item", "key"),
                quantity: try string("line_item", "quantity"), unitPrice: try string("line_item", "unit_price"),
                productKey: try string("line_item", "product_key"))
        }
        var dimension: DimensionTable? = nil
        if toml.sections["dimension"] != nil {
            dimension = DimensionTable(
                table: try string("dimension", "table"), key: try string("dimension", "key"),
                category: try string("dimension", "category"))
        }
        self.init(name: "custom", sale: sale, lineItem: line, dimension: dimension)
        try readSharedSettings(toml, file: file)
    }

    /// Top-level keys and the [windows], [lag], [warehouse] and [alerts] sections, the same in both forms.
    mutating func readSharedSettings(_ toml: SimpleTOML, file: String) throws {
        func string(_ section: String, _ key: String, default def: String) throws -> String {
            guard let e = toml.sections[section]?[key] else { return def }
            guard case .string(let s) = e.value, !s.isEmpty else {
                throw ConfigFileError(file: file, line: e.line, message: "'\(key)' must be a non-empty quoted string")
            }
            return s
        }
        func integer(_ section: String, _ key: String, default def: Int64) throws -> Int64 {
            guard let e = toml.sections[section]?[key] else { return def }
            guard case .integer(let i) = e.value, i >= 0 else {
                throw ConfigFileError(file: file, line: e.line, message: "'\(key)' must be a non-negative integer")
            }
            return i
        }
        let size = try integer("windows", "size_seconds", default: 30)
        guard size > 0, size <= 86_400 else {
            throw ConfigFileError(
                file: file, line: toml.sections["windows"]?["size_seconds"]?.line ?? 0,
                message: "size_seconds must be from 1 to 86400")
        }
        name = try string("", "name", default: "custom")
        defaultDecimalScale = Int(try integer("", "default_decimal_scale", default: 2))
        windowMs = size * 1000
        allowedLatenessMs = try integer("windows", "allowed_lateness_seconds", default: 10) * 1000
        retentionMs = try integer("windows", "retention_hours", default: 24) * 3_600_000
        uncategorized = try string("", "uncategorized", default: "uncategorized")
        let defaults = LagThresholds()
        let samples = try integer("lag", "samples", default: Int64(defaults.samples))
        guard samples >= 1, samples <= 600 else {
            throw ConfigFileError(
                file: file, line: toml.sections["lag"]?["samples"]?.line ?? 0,
                message: "samples must be between 1 and 600 (one per second)")
        }
        lag = LagThresholds(
            messages: try integer("lag", "lagging_messages", default: defaults.messages),
            seconds: try integer("lag", "lagging_seconds", default: defaults.seconds), samples: Int(samples))
        if toml.sections["warehouse"]?["history_sql"] != nil {
            historySQL = try string("warehouse", "history_sql", default: "")
        }
        if toml.sections["warehouse"]?["history_category_sql"] != nil {
            historyCategorySQL = try string("warehouse", "history_category_sql", default: "")
        }
        alerts = try AlertRules(section: toml.sections["alerts"] ?? [:], file: file)
    }
}

extension KPIProfile {
    /// A profile whose KPIs are SQL (`[kpi.NAME] sql = "…"`), with optional `[tables.NAME]` overrides
    /// (`key = [...]`, `topics = "regex"`). The shared sections ([windows], [warehouse], [lag],
    /// [alerts]) and top-level keys are the same as the built-in form's.
    init(modelTOML toml: SimpleTOML, file: String) throws {
        let shared: [String: Set<String>] = [
            "": ["name", "default_decimal_scale", "uncategorized"],
            "windows": ["size_seconds", "allowed_lateness_seconds", "retention_hours"],
            "warehouse": ["history_sql", "history_category_sql"],
            "lag": ["lagging_messages", "lagging_seconds", "samples"],
            "alerts": Set(AlertRules.profileKeys),
        ]
        var kpis: [KPISource] = []
        var tables: [TableOptions] = []
        for (section, entries) in toml.sections.sorted(by: {
            (toml.sectionLines[$0.key] ?? 0) < (toml.sectionLines[$1.key] ?? 0)
        }) {
            let sectionLine = toml.sectionLines[section] ?? 0
            if ["sale", "line_item", "dimension"].contains(section) {
                throw ConfigFileError(
                    file: file, line: sectionLine,
                    message: """
                        [\(section)] belongs to the older built-in form; this profile writes its KPIs as SQL ([kpi.NAME]), so \
                        express it as a KPI instead (e.g. [kpi.revenue] sql = "select sum(amount) from \(toml.sections["sale"]?["table"].flatMap { if case .string(let t) = $0.value { t } else { nil } } ?? "orders")")
                        """)
            }
            if section.hasPrefix("kpi.") {
                let name = String(section.dropFirst(4))
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw ConfigFileError(
                        file: file, line: sectionLine, message: "KPI names are letters, digits and _ ([kpi.\(name)])")
                }
                for (key, entry) in entries where key != "sql" && key != "windows" {
                    throw ConfigFileError(
                        file: file, line: entry.line,
                        message: "unknown key '\(key)' in [\(section)]; expected sql, windows")
                }
                guard let sqlEntry = entries["sql"], case .string(let sql) = sqlEntry.value else {
                    throw ConfigFileError(
                        file: file, line: sectionLine, message: "[\(section)] needs sql = \"select …\"")
                }
                var windowed = true
                if let w = entries["windows"] {
                    guard case .bool(let b) = w.value else {
                        throw ConfigFileError(
                            file: file, line: w.line, message: "'windows' in [\(section)] must be true or false")
                    }
                    windowed = b
                }
                kpis.append(
                    KPISource(
                        name: name, sql: sql, line: sqlEntry.valueLine, column: sqlEntry.valueColumn, windowed: windowed
                    ))
                continue
            }
            if section.hasPrefix("tables.") {
                let name = String(section.dropFirst(7))
                var options = TableOptions(name: name, line: sectionLine)
                for (key, entry) in entries {
                    switch (key, entry.value) {
                    case ("key", .strings(let columns)): options.keyColumns = columns
                    case ("key", .string(let column)): options.keyColumns = [column]
                    case ("topics", .string(let pattern)):
                        do { _ = try Regex(pattern) } catch {
                            throw ConfigFileError(
                                file: file, line: entry.line,
                                message: "topics in [\(section)] is not a valid regular expression: \(error)")
                        }
                        options.topicPattern = pattern
                    case ("key", _), ("topics", _):
                        throw ConfigFileError(
                            file: file, line: entry.line,
                            message: key == "key"
                                ? "key in [\(section)] must be a list of column names: key = [\"a\", \"b\"]"
                                : "topics in [\(section)] must be a quoted regular expression")
                    default:
                        throw ConfigFileError(
                            file: file, line: entry.line,
                            message: "unknown key '\(key)' in [\(section)]; expected key, topics")
                    }
                }
                tables.append(options)
                continue
            }
            guard let keys = shared[section] else {
                throw ConfigFileError(
                    file: file, line: sectionLine,
                    message:
                        "unknown section [\(section)]; expected [kpi.NAME], [tables.NAME], [windows], [warehouse], [lag], [alerts]"
                )
            }
            for (key, entry) in entries where !keys.contains(key) {
                throw ConfigFileError(
                    file: file, line: entry.line,
                    message:
                        "unknown key '\(key)' in [\(section)]; expected one of \(keys.sorted().joined(separator: ", "))"
                )
            }
        }
        guard !kpis.isEmpty else {
            throw ConfigFileError(
                file: file, line: 0,
                message: "the profile names tables but no KPI: add [kpi.NAME] sections with sql = \"select …\"")
        }
        let model = try KPIModel.compile(kpis: kpis, tables: tables, file: file)
        self.init(name: "custom", model: model)
        try readSharedSettings(toml, file: file)
        self.model = model
    }
}

extension AlertRules {
    /// Keys of a profile's `[alerts]` section (docs/operations.md, "Alerts" explains each).
    static let profileKeys: [String] = [
        "enabled", "keep_firing_for_seconds", "resend_seconds",
        "connector_failed_for_seconds",
        "heartbeat_stale_seconds", "heartbeat_stale_for_seconds",
        "lag_seconds", "lag_for_seconds",
        "reconciliation_drift_for_seconds",
        "malformed_per_minute", "malformed_for_seconds",
        "table_silent_minutes", "table_usual_window_minutes", "table_usual_active_minutes", "table_silent_for_seconds",
        "group_lag_for_seconds",
        "slot_retained_bytes", "slot_inactive_minutes", "slot_for_seconds",
        "snapshot_stalled_seconds", "snapshot_stalled_for_seconds",
    ]

    init(section: [String: SimpleTOML.Entry], file: String) throws {
        self.init()
        func integer(_ key: String, default def: Int64) throws -> Int64 {
            guard let e = section[key] else { return def }
            guard case .integer(let i) = e.value, i >= 0, i <= 10_000_000 else {
                throw ConfigFileError(
                    file: file, line: e.line, message: "[alerts] '\(key)' must be an integer from 0 to 10000000")
            }
            return i
        }
        if let e = section["enabled"] {
            guard case .bool(let b) = e.value else {
                throw ConfigFileError(file: file, line: e.line, message: "[alerts] 'enabled' must be true or false")
            }
            enabled = b
        }
        keepFiringForMs = try integer("keep_firing_for_seconds", default: keepFiringForMs / 1000) * 1000
        resendMs = try integer("resend_seconds", default: resendMs / 1000) * 1000
        if resendMs < 1000 {
            throw ConfigFileError(
                file: file, line: section["resend_seconds"]?.line ?? 0,
                message: "[alerts] 'resend_seconds' must be at least 1")
        }
        for (kind, key) in [
            (AlertKind.connectorFailed, "connector_failed_for_seconds"),
            (.heartbeatStale, "heartbeat_stale_for_seconds"),
            (.lagHigh, "lag_for_seconds"), (.reconciliationDrift, "reconciliation_drift_for_seconds"),
            (.malformedRate, "malformed_for_seconds"), (.tableSilent, "table_silent_for_seconds"),
            (.groupLagging, "group_lag_for_seconds"), (.replicationSlotLag, "slot_for_seconds"),
            (.snapshotStalled, "snapshot_stalled_for_seconds"),
        ] {
            forMs[kind] = try integer(key, default: forDuration(kind) / 1000) * 1000
        }
        heartbeatStaleMs = try integer("heartbeat_stale_seconds", default: heartbeatStaleMs / 1000) * 1000
        lagSecondsMs = try integer("lag_seconds", default: lagSecondsMs / 1000) * 1000
        malformedPerMinute = try integer("malformed_per_minute", default: malformedPerMinute)
        silentAfterMs = try integer("table_silent_minutes", default: silentAfterMs / 60_000) * 60_000
        usualWindowMinutes = try integer("table_usual_window_minutes", default: usualWindowMinutes)
        usualActiveMinutes = try integer("table_usual_active_minutes", default: usualActiveMinutes)
        slotInactiveMs = try integer("slot_inactive_minutes", default: slotInactiveMs / 60_000) * 60_000
        snapshotStalledMs = try integer("snapshot_stalled_seconds", default: snapshotStalledMs / 1000) * 1000
        if let e = section["slot_retained_bytes"] {
            // Bytes of WAL: past the other keys' 10000000 cap (the default is 1 GiB).
            guard case .integer(let i) = e.value, i >= 0, i <= 1 << 50 else {
                throw ConfigFileError(
                    file: file, line: e.line,
                    message:
                        "[alerts] 'slot_retained_bytes' must be a number of bytes from 0 to \(Int64(1) << 50), e.g. 1073741824 for 1 GiB"
                )
            }
            slotRetainedBytes = i
        }
        if usualActiveMinutes > usualWindowMinutes {
            throw ConfigFileError(
                file: file, line: section["table_usual_active_minutes"]?.line ?? 0,
                message:
                    "[alerts] 'table_usual_active_minutes' (\(usualActiveMinutes)) cannot exceed 'table_usual_window_minutes' (\(usualWindowMinutes))"
            )
        }
    }
}
