import Metrics

/// Routing: which table, role and model table a topic's messages belong to. Debezium names topics
/// `<prefix>.<schema>.<table>`; a model profile's `topics` pattern may pin a topic to a table, and a
/// message's own `source.table` (or `__table`) re-routes it (topic routing, partitioned tables).
extension DebeziumDecoder {
    /// What the decoder keeps per topic: its table and role, the last `schema` block, the decimal
    /// scales it declared, and what the topic turned out to hold (transaction metadata, notifications).
    final class TopicState {
        let topic: String
        let table: String
        /// `table` as bytes, to compare with `source.table` without allocating per message.
        let tableBytes: [UInt8]
        let role: TableRole
        /// The last `source.table` that differed from the topic's name (topic routing), kept so
        /// a routed topic does not build a String per message.
        var routedTable: (bytes: [UInt8], name: String, role: TableRole, modelTable: Int32)?
        var schemaBytes: [UInt8] = []
        /// Model profiles: the table's index in the model (-1: none), whether a `topics` pattern
        /// mapped the topic to it (then `source.table`, e.g. a partition's name, does not re-route),
        /// the scale of each column the schema says is a Kafka Connect Decimal, and the columns seen.
        // Read per message (one thread decodes): no dynamic exclusivity check.
        @exclusivity(unchecked) var modelTable: Int32 = -1
        @exclusivity(unchecked) var pinned = false
        var modelScales: [Int?] = []
        var seenColumns: [Bool] = []
        var columns: ColumnScales
        let isHeartbeat: Bool
        /// Named like Debezium's transaction topic (`<prefix>.transaction`) and not yet known to hold
        /// change events (a table named `transaction` has a topic named so too): the first message decides.
        @exclusivity(unchecked) var checkTransactionTopic: Bool
        /// Its messages were BEGIN/END (`provide.transaction.metadata=true`).
        var isTransactionTopic = false
        /// Not yet known to hold anything but Debezium's snapshot notifications: the first message the
        /// decoder ignores decides (a notification topic holds nothing else).
        var checkNotificationTopic = true
        /// Its ignored messages were snapshot notifications.
        var isNotificationTopic = false
        init(topic: String, table: String, role: TableRole, columns: ColumnScales) {
            self.topic = topic
            self.table = table
            self.tableBytes = Array(table.utf8)
            self.role = role
            self.columns = columns
            self.isHeartbeat = topic.hasPrefix("__debezium-heartbeat")
            self.checkTransactionTopic = topic.hasSuffix(".transaction")
        }
    }

    /// Registers a topic once; the returned slot is passed to `decode` for every message of it.
    package func slot(forTopic topic: String) -> Int {
        if let s = topicSlots[topic] { return s }
        var table = DebeziumTopicName.table(of: topic)
        var pinned = false
        if let model = profile.model {
            for (index, pattern) in modelTopicPatterns where topic.wholeMatch(of: pattern) != nil {
                table = model.tables[index].name
                pinned = true
                break
            }
        }
        let state = TopicState(
            topic: topic, table: table, role: profile.role(ofTable: table),
            columns: ColumnScales(
                amount: profile.defaultDecimalScale,
                unitPrice: profile.defaultDecimalScale))
        if let model = profile.model, let index = model.tableIndex(named: table) {
            state.modelTable = Int32(index)
            state.pinned = pinned
            state.modelScales = Array(repeating: nil, count: model.tables[index].columns.count)
            state.seenColumns = Array(repeating: false, count: model.tables[index].columns.count)
        }
        topics.append(state)
        topicSlots[topic] = topics.count - 1
        return topics.count - 1
    }

    package func table(ofSlot slot: Int) -> String { topics[slot].table }
    func topicName(_ slot: Int) -> String { topics[slot].topic }
    package func role(ofSlot slot: Int) -> TableRole { topics[slot].role }

    /// `"shop"."transaction"` (or `shop.transaction`) → `transaction`: the last part of a Debezium table id.
    static func tableName(fromChangeID id: String) -> String {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for c in id {
            if c == "\"" {
                quoted.toggle()
                continue
            }
            if c == "." && !quoted {
                parts.append(current)
                current = ""
                continue
            }
            current.append(c)
        }
        parts.append(current)
        return parts.last ?? id
    }

    /// The table a payload's rows belong to, its role and its model table.
    struct Route {
        var table: String
        var role: TableRole
        var modelTable: Int32
    }

    /// The table: from the message when it says (`source.table`, `__table`), else from the topic name.
    /// A topic a `topics` pattern pinned to a model table keeps it. The last name that differed from
    /// the topic's is remembered, so a routed topic builds no String per message.
    @inline(__always)
    func route(named: Range<Int>?, in scanner: JSONScanner, state: TopicState) -> Route {
        var route = Route(table: state.table, role: state.role, modelTable: state.modelTable)
        if !state.pinned, let t = named, !scanner.equals(t, state.tableBytes) {
            if let routed = state.routedTable, scanner.equals(t, routed.bytes) {
                (route.table, route.role, route.modelTable) = (routed.name, routed.role, routed.modelTable)
            } else {
                route.table = scanner.string(t, escaped: scanner.rangeHasEscape(t)) ?? route.table
                route.role = profile.role(ofTable: route.table)
                route.modelTable = profile.model?.tableIndex(named: route.table).map { Int32($0) } ?? -1
                state.routedTable = (Array(scanner.raw(t)), route.table, route.role, route.modelTable)
            }
        }
        return route
    }
}
