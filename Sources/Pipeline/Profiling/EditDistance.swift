/// Levenshtein distance between short names: the profile check's column suggestions and the dashboard's
/// `:` command line (`transacton` → `transaction`).
package enum EditDistance {
    /// The number of single-character insertions, deletions and substitutions from `a` to `b`. With a
    /// `limit`, it stops as soon as the distance must exceed it and returns `limit + 1`.
    package static func between<S: StringProtocol, T: StringProtocol>(_ a: S, _ b: T, limit: Int = .max) -> Int {
        let x = Array(a)
        let y = Array(b)
        if abs(x.count - y.count) > limit { return limit + 1 }
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = previous
        for i in 1...x.count {
            current[0] = i
            var rowMinimum = i
            for j in 1...y.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum > limit { return limit + 1 }
            swap(&previous, &current)
        }
        return previous[y.count]
    }
}
