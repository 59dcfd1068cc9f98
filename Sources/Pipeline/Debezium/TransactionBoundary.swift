import Metrics

/// A BEGIN or END of Debezium's transaction topic (`provide.transaction.metadata=true`,
/// `<prefix>.transaction`): the record key is the transaction id, so on several partitions the
/// BEGIN and END of one transaction land apart and are read at different paces.
package struct TransactionBoundary: Sendable, Hashable {
    package struct Collection: Sendable, Hashable {
        /// `schema.table` (PostgreSQL) or `database.table` (MySQL), as in `data_collections`.
        package var name: String
        package var eventCount: Int64
        package init(name: String, eventCount: Int64) {
            self.name = name
            self.eventCount = eventCount
        }
    }
    package var isEnd: Bool
    /// `TransactionKey.of(id)`: the same for BEGIN, END and every change of the transaction.
    package var key: Int64
    package var id: String
    /// END only: the events of every table, and per table (tables cdctop does not read included).
    package var eventCount: Int64
    package var collections: [Collection]

    package init(isEnd: Bool, id: String, eventCount: Int64 = 0, collections: [Collection] = []) {
        self.isEnd = isEnd
        self.key = TransactionKey.of(id)
        self.id = id
        self.eventCount = eventCount
        self.collections = collections
    }

    /// From a BEGIN/END value (`{"schema":…,"payload":{…}}` or the bare payload); nil when it is not one.
    package static func parse(_ json: JSONValue) -> TransactionBoundary? {
        let payload = json["payload"] ?? json
        guard let status = payload["status"]?.stringValue, status == "BEGIN" || status == "END",
            let id = payload["id"]?.stringValue, !id.isEmpty
        else { return nil }
        var boundary = TransactionBoundary(isEnd: status == "END", id: id)
        boundary.eventCount = payload["event_count"]?.int64Value ?? 0
        if case .array(let items)? = payload["data_collections"] {
            for item in items {
                guard let name = item["data_collection"]?.stringValue else { continue }
                boundary.collections.append(Collection(name: name, eventCount: item["event_count"]?.int64Value ?? 0))
            }
        }
        return boundary
    }
}
