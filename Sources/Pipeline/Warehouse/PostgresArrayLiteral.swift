import Foundation

/// PostgreSQL array literals for `unnest($n::type[])` batch parameters: one statement per batch instead of
/// one round trip per row. Values are still parameters, never SQL text.
enum PostgresArrayLiteral {
    static func integers(_ values: some Sequence<Int64>) -> String {
        var out = "{"
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            out += String(v)
        }
        out += "}"
        return out
    }

    /// Numbers already in plain decimal text (Money.formatted()).
    static func decimals(_ values: some Sequence<String>) -> String {
        var out = "{"
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            out += v
        }
        out += "}"
        return out
    }

    /// Text elements, each double-quoted with `\` and `"` escaped, so commas, braces, spaces and NULL
    /// spelled as a word stay data.
    static func texts(_ values: some Sequence<String>) -> String {
        var out = "{"
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            out += "\""
            for scalar in v.unicodeScalars {
                if scalar == "\\" || scalar == "\"" { out += "\\" }
                out.unicodeScalars.append(scalar)
            }
            out += "\""
        }
        out += "}"
        return out
    }
}
