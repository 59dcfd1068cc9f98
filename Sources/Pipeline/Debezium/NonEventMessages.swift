import Metrics

/// Messages that are not row changes, all on the cold path: heartbeats, transaction BEGIN/END,
/// snapshot notifications and DDL from the schema-change topic.
extension DebeziumDecoder {
    func decodeHeartbeat(_ value: UnsafeRawBufferPointer, state: TopicState) -> NonEventOutcome {
        guard let json = JSONValue.parse(value) else { return malformed(state.table, "invalid JSON heartbeat", at: 0) }
        let payload = json["payload"] ?? json
        guard let tsValue = payload["ts_ms"], !tsValue.isNull else {
            return NonEventOutcome(.ignored(table: state.table, reason: "heartbeat without ts_ms"))
        }
        guard let ts = tsValue.int64Value, DebeziumDecoder.validCommitTimeMs.contains(ts) else {
            return malformed(
                state.table, "heartbeat ts_ms \(tsValue) is not a time in years 1970…9999 (0…253402300799999 ms)", at: 0
            )
        }
        return NonEventOutcome(.heartbeat(timestampMs: ts))
    }

    /// A BEGIN/END of the transaction topic (cold path: one per transaction): `.ignored`, with the
    /// boundary kept for `takeTransactionBoundary` when transactions are read. nil for anything else
    /// (on a topic not yet known to be the transaction topic, that decides it is a table's).
    @inline(never)
    func transactionMetadata(_ json: JSONValue?, state: TopicState) -> NonEventOutcome? {
        guard let json, let boundary = TransactionBoundary.parse(json) else {
            if !state.isTransactionTopic { state.checkTransactionTopic = false }
            return nil
        }
        state.isTransactionTopic = true
        if readsTransactions {
            pendingBoundary = boundary
            return NonEventOutcome(.ignored(table: state.table, reason: "transaction metadata"))
        }
        return NonEventOutcome(
            .ignored(
                table: state.table,
                reason:
                    "transaction metadata (BEGIN/END): KPIs over whole transactions only with --transactions complete"))
    }

    /// Debezium's snapshot notifications (a topic of their own) decode as records without op: kept for
    /// `takeSnapshotNotification`. Anything else (on a topic not yet known to hold them) decides the
    /// topic holds none, so its ignored messages are not read again (cold path).
    @inline(never)
    func readSnapshotNotification(_ value: UnsafeRawBufferPointer, state: TopicState) {
        guard let notification = SnapshotNotificationParser.parse(value) else {
            if !state.isNotificationTopic { state.checkNotificationTopic = false }
            return
        }
        state.isNotificationTopic = true
        pendingNotification = notification
    }

    /// A message of Debezium's schema-change topic: the DDL, its database and the tables it touched.
    @inline(never)
    func schemaChange(_ bytes: UnsafeRawBufferPointer, state: TopicState, timeMs: Int64, snapshot: Bool)
        -> NonEventOutcome
    {
        guard let payload = JSONValue.parse(bytes) else {
            return malformed(state.table, "invalid JSON in schema change", at: 0)
        }
        guard let change = DebeziumDecoder.schemaChange(payload: payload, timeMs: timeMs, snapshot: snapshot) else {
            return malformed(state.table, "schema change whose ddl is not a string", at: 0)
        }
        return NonEventOutcome(.schemaChange(change))
    }

    /// A schema-change payload read, the same from JSON and Avro (rendered as JSON); nil when its ddl
    /// is not a string.
    static func schemaChange(payload: JSONValue, timeMs: Int64, snapshot: Bool) -> SchemaChange? {
        guard let ddl = payload["ddl"]?.stringValue else { return nil }
        let database = payload["databaseName"]?.stringValue ?? payload["source"]?["db"]?.stringValue ?? ""
        var tables: [String] = []
        if case .array(let changes)? = payload["tableChanges"] {
            for change in changes {
                guard let id = change["id"]?.stringValue else { continue }
                let name = DebeziumDecoder.tableName(fromChangeID: id)
                if !name.isEmpty && !tables.contains(name) { tables.append(name) }
            }
        }
        if tables.isEmpty, let table = payload["source"]?["table"]?.stringValue, !table.isEmpty {
            // Debezium names the tables of a statement in source.table, comma-separated.
            for name in table.split(separator: ",") where !tables.contains(String(name)) { tables.append(String(name)) }
        }
        var kind = ""
        if case .array(let changes)? = payload["tableChanges"], let first = changes.first,
            let type = first["type"]?.stringValue
        {
            kind = type
        }
        return SchemaChange(
            database: database, tables: tables, ddl: ddl, kind: kind,
            commitTimeMs: DebeziumDecoder.validCommitTimeMs.contains(timeMs) ? timeMs : 0, isSnapshot: snapshot)
    }
}
