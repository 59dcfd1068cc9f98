/// A problem in a configuration file, with where it is and what to do.
public struct ConfigFileError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var message: String
    public init(file: String, line: Int, message: String) { self.file = file; self.line = line; self.message = message }
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// The small TOML subset cdctop's files use: `[section]` headers, `key = "string"`, integers,
/// booleans, and `#` comments. Enough for profiles and themes, with errors that name the line.
public struct SimpleTOML: Sendable {
    public struct Entry: Sendable { public var value: Value; public var line: Int }
    public enum Value: Sendable, Hashable {
        case string(String), integer(Int64), bool(Bool)
    }
    /// `section → key → entry`; keys before any header are in section "".
    public private(set) var sections: [String: [String: Entry]] = [:]
    public private(set) var sectionLines: [String: Int] = [:]

    public init(text: String, file: String) throws {
        var section = ""
        sections[""] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = SimpleTOML.stripComment(rawLine).trimmingSpaces
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
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigFileError(file: file, line: lineNumber, message: "expected 'key = value', found '\(line)'")
            }
            let key = String(line[..<eq]).trimmingSpaces
            let valueText = String(line[line.index(after: eq)...]).trimmingSpaces
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ConfigFileError(file: file, line: lineNumber, message: "invalid key '\(key)'")
            }
            let value: Value
            if valueText.hasPrefix("\"") {
                guard valueText.count >= 2, valueText.hasSuffix("\"") else {
                    throw ConfigFileError(file: file, line: lineNumber, message: "unterminated string for '\(key)'")
                }
                value = .string(String(valueText.dropFirst().dropLast()))
            } else if valueText == "true" || valueText == "false" {
                value = .bool(valueText == "true")
            } else if let i = Int64(valueText.replacingUnderscores) {
                value = .integer(i)
            } else {
                throw ConfigFileError(file: file, line: lineNumber,
                                      message: "value of '\(key)' must be a quoted string, an integer or true/false, found '\(valueText)'")
            }
            if sections[section]![key] != nil {
                throw ConfigFileError(file: file, line: lineNumber, message: "'\(key)' is set twice")
            }
            sections[section]![key] = Entry(value: value, line: lineNumber)
        }
    }

    static func stripComment(_ line: Substring) -> Substring {
        var inString = false
        for i in line.indices {
            let c = line[i]
            if c == "\"" { inString.toggle() }
            if c == "#" && !inString { return line[..<i] }
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
    public init(tomlText text: String, file: String) throws {
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
        for (section, entries) in toml.sections {
            guard let keys = allowed[section] else {
                throw ConfigFileError(file: file, line: toml.sectionLines[section] ?? 0,
                                      message: "unknown section [\(section)]; expected one of [sale], [line_item], [dimension], [windows], [warehouse], [lag], [alerts]")
            }
            for (key, entry) in entries where !keys.contains(key) {
                throw ConfigFileError(file: file, line: entry.line,
                                      message: "unknown key '\(key)' in [\(section)]; expected one of \(keys.sorted().joined(separator: ", "))")
            }
        }
        func string(_ section: String, _ key: String, default def: String? = nil) throws -> String {
            guard let e = toml.sections[section]?[key] else {
                if let def { return def }
                throw ConfigFileError(file: file, line: toml.sectionLines[section] ?? 0, message: "[\(section)] needs '\(key)'")
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
            throw ConfigFileError(file: file, line: 0, message: "a profile needs a [sale] section (table, key, amount)")
        }
        let sale = SaleTable(table: try string("sale", "table"), key: try string("sale", "key"), amount: try string("sale", "amount"))
        var line: LineItemTable? = nil
        if toml.sections["line_item"] != nil {
            line = LineItemTable(table: try string("line_item", "table"), key: try string("line_item", "key"),
                                 quantity: try string("line_item", "quantity"), unitPrice: try string("line_item", "unit_price"),
                                 productKey: try string("line_item", "product_key"))
        }
        var dimension: DimensionTable? = nil
        if toml.sections["dimension"] != nil {
            dimension = DimensionTable(table: try string("dimension", "table"), key: try string("dimension", "key"),
                                       category: try string("dimension", "category"))
        }
        let size = try integer("windows", "size_seconds", default: 30)
        guard size > 0 else { throw ConfigFileError(file: file, line: toml.sections["windows"]?["size_seconds"]?.line ?? 0, message: "size_seconds must be positive") }
        self.init(name: try string("", "name", default: "custom"), sale: sale, lineItem: line, dimension: dimension,
                  defaultDecimalScale: Int(try integer("", "default_decimal_scale", default: 2)),
                  windowMs: size * 1000,
                  allowedLatenessMs: try integer("windows", "allowed_lateness_seconds", default: 10) * 1000,
                  retentionMs: try integer("windows", "retention_hours", default: 24) * 3_600_000,
                  uncategorized: try string("", "uncategorized", default: "uncategorized"))
        let defaults = LagThresholds()
        let samples = try integer("lag", "samples", default: Int64(defaults.samples))
        guard samples >= 1, samples <= 600 else {
            throw ConfigFileError(file: file, line: toml.sections["lag"]?["samples"]?.line ?? 0, message: "samples must be between 1 and 600 (one per second)")
        }
        lag = LagThresholds(messages: try integer("lag", "lagging_messages", default: defaults.messages),
                            seconds: try integer("lag", "lagging_seconds", default: defaults.seconds), samples: Int(samples))
        if toml.sections["warehouse"]?["history_sql"] != nil { historySQL = try string("warehouse", "history_sql") }
        if toml.sections["warehouse"]?["history_category_sql"] != nil {
            historyCategorySQL = try string("warehouse", "history_category_sql")
        }
        alerts = try AlertRules(section: toml.sections["alerts"] ?? [:], file: file)
    }
}

extension AlertRules {
    /// Keys of a profile's `[alerts]` section (README "Alerts" explains each).
    static let profileKeys: [String] = [
        "enabled", "keep_firing_for_seconds", "resend_seconds",
        "connector_failed_for_seconds",
        "heartbeat_stale_seconds", "heartbeat_stale_for_seconds",
        "lag_seconds", "lag_for_seconds",
        "reconciliation_drift_for_seconds",
        "malformed_per_minute", "malformed_for_seconds",
        "table_silent_minutes", "table_usual_window_minutes", "table_usual_active_minutes", "table_silent_for_seconds",
        "group_lag_for_seconds",
    ]

    init(section: [String: SimpleTOML.Entry], file: String) throws {
        self.init()
        func integer(_ key: String, default def: Int64) throws -> Int64 {
            guard let e = section[key] else { return def }
            guard case .integer(let i) = e.value, i >= 0, i <= 10_000_000 else {
                throw ConfigFileError(file: file, line: e.line, message: "[alerts] '\(key)' must be an integer from 0 to 10000000")
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
            throw ConfigFileError(file: file, line: section["resend_seconds"]?.line ?? 0, message: "[alerts] 'resend_seconds' must be at least 1")
        }
        for (kind, key) in [(AlertKind.connectorFailed, "connector_failed_for_seconds"), (.heartbeatStale, "heartbeat_stale_for_seconds"),
                            (.lagHigh, "lag_for_seconds"), (.reconciliationDrift, "reconciliation_drift_for_seconds"),
                            (.malformedRate, "malformed_for_seconds"), (.tableSilent, "table_silent_for_seconds"),
                            (.groupLagging, "group_lag_for_seconds")] {
            forMs[kind] = try integer(key, default: forDuration(kind) / 1000) * 1000
        }
        heartbeatStaleMs = try integer("heartbeat_stale_seconds", default: heartbeatStaleMs / 1000) * 1000
        lagSecondsMs = try integer("lag_seconds", default: lagSecondsMs / 1000) * 1000
        malformedPerMinute = try integer("malformed_per_minute", default: malformedPerMinute)
        silentAfterMs = try integer("table_silent_minutes", default: silentAfterMs / 60_000) * 60_000
        usualWindowMinutes = try integer("table_usual_window_minutes", default: usualWindowMinutes)
        usualActiveMinutes = try integer("table_usual_active_minutes", default: usualActiveMinutes)
        if usualActiveMinutes > usualWindowMinutes {
            throw ConfigFileError(file: file, line: section["table_usual_active_minutes"]?.line ?? 0,
                                  message: "[alerts] 'table_usual_active_minutes' (\(usualActiveMinutes)) cannot exceed 'table_usual_window_minutes' (\(usualWindowMinutes))")
        }
    }
}
