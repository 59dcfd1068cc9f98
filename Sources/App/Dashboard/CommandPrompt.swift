import Pipeline

/// The `:` command line's knowledge of names: which command, view, table or column a typed word means,
/// what Tab completes it to, and which names are close when it means none.
enum CommandPrompt {
    /// Views by the name `:` takes (lowercased titles).
    static var viewNames: [String] { DashboardView.allCases.map { $0.title.lowercased() } }

    /// Commands that are not view names, in the order completion lists them.
    static let verbs = ["table", "sort", "export", "follow", "freeze", "connections", "help", "quit"]
    /// Commands followed by an argument (Tab adds the space).
    static let takesArgument: Set<String> = ["table", "sort", "export"]

    enum Resolution: Equatable {
        case found(String)
        case ambiguous([String])
        /// Nothing matched; the close names (maybe none).
        case none([String])
    }

    /// The name `typed` means among `names`: exact, then any case, then a unique prefix (of the whole name
    /// or of its last dotted part, `transaction` for `public.transaction`).
    static func resolve(_ typed: String, among names: [String]) -> Resolution {
        if names.contains(typed) { return .found(typed) }
        let t = typed.lowercased()
        let sameCase = names.filter { $0.lowercased() == t || lastPart($0).lowercased() == t }
        if sameCase.count == 1 { return .found(sameCase[0]) }
        if sameCase.count > 1 { return .ambiguous(sameCase) }
        let prefixed = names.filter { $0.lowercased().hasPrefix(t) || lastPart($0).lowercased().hasPrefix(t) }
        if prefixed.count == 1 { return .found(prefixed[0]) }
        if prefixed.count > 1 { return .ambiguous(prefixed) }
        return .none(close(to: t, among: names))
    }

    /// Names that contain the typed text, or are a couple of edits away from it (`transacton`).
    static func close(to typed: String, among names: [String]) -> [String] {
        guard !typed.isEmpty else { return [] }
        let limit = max(1, typed.count / 3)
        return names.filter { name in
            let n = name.lowercased()
            return n.contains(typed) || EditDistance.between(typed, lastPart(n), limit: limit) <= limit
                || EditDistance.between(typed, n, limit: limit) <= limit
        }
    }

    /// "a, b, c" with at most `limit` names, then "… (N more)".
    static func list(_ names: [String], limit: Int = 8) -> String {
        let shown = names.prefix(limit).joined(separator: ", ")
        return names.count > limit ? shown + ", … (\(names.count - limit) more)" : shown
    }

    /// What Tab makes of the command line: the longest completion every candidate shares, and the
    /// candidates when more than one remains (listed under the line).
    static func complete(_ text: String, tables: [String], columns: [String]) -> (text: String, choices: [String]) {
        guard let space = text.firstIndex(of: " ") else {
            let candidates = (viewNames + verbs).filter { $0.hasPrefix(text.lowercased()) }
            guard !candidates.isEmpty else { return (text, []) }
            if candidates.count == 1 {
                return (candidates[0] + (takesArgument.contains(candidates[0]) ? " " : ""), candidates)
            }
            return (commonPrefix(candidates, atLeast: text), candidates)
        }
        let verb = text[..<space].lowercased()
        let argument = String(text[text.index(after: space)...]).trimmingSpaces
        let names: [String] =
            switch verb {
            case "table", "t": tables
            case "sort": columns
            case "export": ["csv", "json"]
            default: []
            }
        let a = argument.lowercased()
        let candidates = names.filter { $0.lowercased().hasPrefix(a) || lastPart($0).lowercased().hasPrefix(a) }
        guard !candidates.isEmpty else { return (text, []) }
        let head = String(text[...space])
        if candidates.count == 1 { return (head + candidates[0], candidates) }
        return (head + commonPrefix(candidates, atLeast: argument), candidates)
    }

    /// The longest start all names share (case-insensitively), never shorter than what was typed.
    static func commonPrefix(_ names: [String], atLeast typed: String) -> String {
        guard var prefix = names.first.map(Array.init) else { return typed }
        for name in names.dropFirst() {
            let n = Array(name)
            var i = 0
            while i < prefix.count, i < n.count, prefix[i].lowercased() == n[i].lowercased() { i += 1 }
            prefix = Array(prefix.prefix(i))
        }
        return prefix.count >= typed.count ? String(prefix) : typed
    }

    static func lastPart(_ name: String) -> Substring {
        name.lastIndex(of: ".").map { name[name.index(after: $0)...] } ?? Substring(name)
    }
}
