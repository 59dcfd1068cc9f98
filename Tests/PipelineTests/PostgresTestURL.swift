/// `postgresql://user@host:port/db?params` with its database replaced: tests create a database of
/// their own on the server the services started.
func postgresURL(_ url: String, database: String) -> String {
    let schemeEnd = url.range(of: "://")!.upperBound
    let rest = url[schemeEnd...]
    let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
    let beforeQuery = rest.firstIndex(of: "?").map { rest[..<$0] } ?? rest
    let authority = beforeQuery.firstIndex(of: "/").map { beforeQuery[..<$0] } ?? beforeQuery
    return String(url[..<schemeEnd]) + authority + "/" + database + query
}
