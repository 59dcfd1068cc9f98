import Metrics

/// What one Kafka message turned out to be.
package enum DecodeOutcome: Sendable {
    case event(ChangeEvent)
    /// Null value after a delete: expected, counted, skipped.
    case tombstone(table: String)
    /// A Debezium heartbeat (`__debezium-heartbeat.*`): proves the connector is alive.
    case heartbeat(timestampMs: Int64)
    /// A DDL statement from Debezium's schema-change topic (MySQL: topic `<prefix>`, payload with
    /// `databaseName`, `ddl`, `tableChanges`): not a row change and not an error; counted per table.
    case schemaChange(SchemaChange)
    /// Not a change event (transaction metadata, a table the profile does not use…): counted, not aggregated.
    case ignored(table: String, reason: String)
    /// Not usable: bad JSON, a missing field, a value out of range. `reason` says what and ends with
    /// the byte position in the value where it was found (`… (at byte 57)`).
    case malformed(table: String, reason: String)
}

/// A message that is not a change event, as the hot path returns it: one reference (nil for an
/// event), allocated only for these messages, instead of a ~350-byte `DecodeOutcome` copied per message.
package final class NonEventOutcome: Sendable {
    package let outcome: DecodeOutcome
    init(_ outcome: DecodeOutcome) { self.outcome = outcome }
    var isMalformed: Bool { if case .malformed = outcome { true } else { false } }
    var isIgnored: Bool { if case .ignored = outcome { true } else { false } }
}

/// One DDL statement from Debezium's schema-change topic.
package struct SchemaChange: Sendable, Hashable {
    /// `databaseName` (MySQL), or `source.db`.
    package var database: String
    /// Tables named in `tableChanges` (their last name part), in order; empty for DDL on no table.
    package var tables: [String]
    /// The statement as the database logged it.
    package var ddl: String
    /// `tableChanges[0].type`: CREATE, ALTER or DROP; empty when there is none.
    package var kind: String
    /// `source.ts_ms` (or `ts_ms`, or the Kafka timestamp); 0 when none is usable.
    package var commitTimeMs: Int64
    /// Part of the connector's initial snapshot (`source.snapshot` not "false"): the schema as it was
    /// when the connector started (DROP/CREATE of every table), not a change made since.
    package var isSnapshot: Bool
}

/// Decodes Debezium's JSON forms into `ChangeEvent`s holding only the profile's columns:
/// the envelope with or without `schema`, the unwrapped (`ExtractNewRecordState`) form with
/// `__op`/`__deleted`/`__table`/`__source_ts_ms`, every decimal handling mode, tombstones.
///
/// Per topic it remembers the bytes of the last `schema` block: JsonConverter repeats the same
/// schema in every message, so recognising it is one memcmp instead of a parse.
/// Every value it extracts is checked: commit times must lie in years 1970…9999, amounts within
/// `Money.maxMagnitude`, integers within Int64, decimal strings must be exact decimal text or strict
/// base64. Anything else makes the message `.malformed` with a reason and a byte position; no input
/// traps, and time and memory are linear in the message (no unbounded recursion).
/// Not thread-safe: one decoder per consuming thread.
package final class DebeziumDecoder {
    package let profile: KPIProfile

    /// Commit times cdctop accepts: 1970-01-01 up to 9999-12-31T23:59:59.999Z. Anything else is a
    /// corrupt timestamp, and window arithmetic on it could overflow.
    package static let validCommitTimeMs: ClosedRange<Int64> = 0...253_402_300_799_999
    /// `source.table` longer than this is malformed (PostgreSQL names are at most 63 bytes).
    package static let maxTableNameBytes = 255

    /// The first check that failed in the message being decoded: its reason and byte position.
    /// Set only on the failure path, so decoding a good message builds no String.
    var problem: (reason: String, at: Int)? = nil

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
        var modelTable: Int32 = -1
        var pinned = false
        var modelScales: [Int?] = []
        var seenColumns: [Bool] = []
        var columns: ColumnScales
        let isHeartbeat: Bool
        /// Named like Debezium's transaction topic (`<prefix>.transaction`) and not yet known to hold
        /// change events (a table named `transaction` has a topic named so too): the first message decides.
        var checkTransactionTopic: Bool
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

    /// Decimal scales of the profile's money columns, from the schema or the profile's default.
    struct ColumnScales {
        var amount: Int
        var unitPrice: Int
        var fromSchema = false
        /// The schema says the column is a Kafka Connect Decimal: its strings are base64, whatever they look like.
        var amountIsBinary = false
        var unitPriceIsBinary = false
    }

    var topics: [TopicState] = []
    /// `--transactions complete`: read each change's transaction (`transaction.id`, `source.txId`) into
    /// `ChangeEvent.transactionKey`, and hand BEGIN/END over (`takeTransactionBoundary`). Off, neither
    /// is read and the hot path stays as it was.
    package var readsTransactions = false
    /// The BEGIN/END of the message just decoded (which `decode` returned as `.ignored`).
    var pendingBoundary: TransactionBoundary?
    package func takeTransactionBoundary() -> TransactionBoundary? {
        defer { pendingBoundary = nil }
        return pendingBoundary
    }
    /// The snapshot notification of the message just decoded (which `decode` returned as `.ignored`).
    var pendingNotification: SnapshotNotification?
    package func takeSnapshotNotification() -> SnapshotNotification? {
        defer { pendingNotification = nil }
        return pendingNotification
    }
    /// Compiled Avro schemas by schema id (Sources/Pipeline/Avro).
    let avroPlans = AvroPlanCache()
    private var topicSlots: [String: Int] = [:]
    private let wanted: WantedColumns

    /// Profile column names as bytes, per role, for matching keys without allocating. Plain pointers
    /// into `columnNameStorage` (owned by the decoder), so copying this per row retains nothing.
    struct WantedColumns {
        var saleKey: ColumnName, saleAmount: ColumnName
        var lineKey: ColumnName, lineQuantity: ColumnName, lineUnitPrice: ColumnName, lineProduct: ColumnName
        var dimKey: ColumnName, dimCategory: ColumnName
    }
    private let columnNameStorage: UnsafeMutableRawBufferPointer
    /// The profile has a line-item table with a product key column / a dimension table: answers for
    /// `missingColumn` without copying the profile's table structs per message.
    private let hasLineItem: Bool, needsProductKey: Bool, hasDimension: Bool

    package init(profile: KPIProfile) {
        self.profile = profile
        let l = profile.lineItem
        let d = profile.dimension
        let names = [
            profile.sale.key, profile.sale.amount, l?.key ?? "", l?.quantity ?? "", l?.unitPrice ?? "",
            l?.productKey ?? "", d?.key ?? "", d?.category ?? "",
        ].map { Array($0.utf8) }
        let storage = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(1, names.reduce(0) { $0 + $1.count }), alignment: 8)
        var at = 0
        var columns: [ColumnName] = []
        for name in names {
            let start = storage.baseAddress!.advanced(by: at).assumingMemoryBound(to: UInt8.self)
            for (k, byte) in name.enumerated() { start[k] = byte }
            columns.append(ColumnName(start: UnsafePointer(start), count: name.count))
            at += name.count
        }
        columnNameStorage = storage
        wanted = WantedColumns(
            saleKey: columns[0], saleAmount: columns[1], lineKey: columns[2], lineQuantity: columns[3],
            lineUnitPrice: columns[4], lineProduct: columns[5], dimKey: columns[6], dimCategory: columns[7])
        hasLineItem = l != nil
        needsProductKey = !(l?.productKey.isEmpty ?? true)
        hasDimension = d != nil
        modelColumnNames = profile.model?.tables.map { $0.columns.map { Array($0.utf8) } } ?? []
        modelTopicPatterns =
            profile.model?.tables.enumerated().compactMap { index, table in
                table.topicPattern.flatMap { try? Regex($0) }.map { (index, $0) }
            } ?? []
    }

    /// Model profiles: each table's columns as bytes (slot order), and the tables' `topics` patterns.
    let modelColumnNames: [[[UInt8]]]
    let modelTopicPatterns: [(Int, Regex<AnyRegexOutput>)]

    deinit { columnNameStorage.deallocate() }

    /// Registers a topic once; the returned slot is passed to `decode` for every message of it.
    package func slot(forTopic topic: String) -> Int {
        if let s = topicSlots[topic] { return s }
        var table = DebeziumDecoder.tableName(fromTopic: topic)
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

    /// `shop.public.transaction` → `transaction`: Debezium's `<prefix>.<schema>.<table>` naming.
    package static func tableName(fromTopic topic: String) -> String {
        if let dot = topic.lastIndex(of: ".") { return String(topic[topic.index(after: dot)...]) }
        return topic
    }

    /// Decodes one message. `kafkaTimestampMs` is used as commit time only when the message has none.
    package func decode(slot: Int, value: UnsafeRawBufferPointer?, kafkaTimestampMs: Int64 = 0) -> DecodeOutcome {
        var event = ChangeEvent(table: "", role: .other, op: .create, before: nil, after: nil, commitTimeMs: 0)
        if let other = decode(slot: slot, value: value, kafkaTimestampMs: kafkaTimestampMs, into: &event) {
            return other.outcome
        }
        return .event(event)
    }

    /// The hot path: nil when the message is a change event, which is then written into `event` (every
    /// field set), else what the message was. Filling the caller's event in place spares copying and
    /// destroying a ~350-byte `DecodeOutcome` several times per message.
    package func decode(
        slot: Int, value: UnsafeRawBufferPointer?, kafkaTimestampMs: Int64 = 0,
        into event: inout ChangeEvent
    ) -> NonEventOutcome? {
        let state = topics[slot]
        problem = nil
        guard let value else {
            return NonEventOutcome(.tombstone(table: state.table))
        }
        if state.isHeartbeat {
            return decodeHeartbeat(value, state: state)
        }
        if state.checkTransactionTopic, let other = transactionMetadata(JSONValue.parse(value), state: state) {
            return other
        }
        var scanner = JSONScanner(value)
        guard scanner.peek() == UInt8(ascii: "{") else {
            return malformed(
                state.table, value.count == 0 ? "empty value" : "value is not a JSON object", at: scanner.index)
        }
        // Wrapper `{"schema":…,"payload":…}` (schemas.enable=true) or a bare payload?
        var probe = scanner
        _ = probe.consume(UInt8(ascii: "{"))
        guard let firstKey = probe.readString(),
            probe.equals(firstKey.range, "schema") || probe.equals(firstKey.range, "payload")
        else {
            let other = decodePayload(&scanner, state: state, kafkaTimestampMs: kafkaTimestampMs, into: &event)
            if let other, other.isMalformed { return other }
            scanner.skipWhitespace()
            guard scanner.atEnd else {
                return malformed(state.table, "trailing bytes after the JSON object", at: scanner.index)
            }
            if let other, state.checkNotificationTopic, other.isIgnored {
                readSnapshotNotification(value, state: state)
            }
            return other
        }
        // The last payload's outcome wins; nil while it is an event (written into `event`).
        var other: NonEventOutcome? = nil
        var sawPayload = false
        let ok = scanner.forEachMember { s, key in
            if s.equals(key, "schema") {
                if s.consumeLiteral("null") { return true }
                return self.consumeSchema(&s, state: state)
            } else if s.equals(key, "payload") {
                sawPayload = true
                if s.consumeLiteral("null") {
                    other = NonEventOutcome(.tombstone(table: state.table))
                    return true
                }
                other = self.decodePayload(&s, state: state, kafkaTimestampMs: kafkaTimestampMs, into: &event)
                if let other, other.isMalformed { return false }
                return true
            }
            return s.skipValue()
        }
        if let other, other.isMalformed { return other }
        guard ok else { return malformedFromProblem(state.table, orElse: "invalid JSON", at: scanner.index) }
        scanner.skipWhitespace()
        guard scanner.atEnd else {
            return malformed(state.table, "trailing bytes after the JSON object", at: scanner.index)
        }
        guard sawPayload else { return malformed(state.table, "schema envelope without payload", at: 0) }
        if let other, state.checkNotificationTopic, other.isIgnored { readSnapshotNotification(value, state: state) }
        return other
    }

    /// Debezium's snapshot notifications (a topic of their own) decode as records without op: kept for
    /// `takeSnapshotNotification`. Anything else (on a topic not yet known to hold them) decides the
    /// topic holds none, so its ignored messages are not read again (cold path).
    @inline(never)
    private func readSnapshotNotification(_ value: UnsafeRawBufferPointer, state: TopicState) {
        guard let notification = SnapshotNotificationParser.parse(value) else {
            if !state.isNotificationTopic { state.checkNotificationTopic = false }
            return
        }
        state.isNotificationTopic = true
        pendingNotification = notification
    }

    // MARK: failures (cold path)

    /// A malformed outcome whose reason ends with the byte position it refers to.
    @inline(never)
    func malformed(_ table: String, _ reason: String, at position: Int) -> NonEventOutcome {
        NonEventOutcome(.malformed(table: table, reason: "\(reason) (at byte \(position))"))
    }

    /// The recorded problem, or `fallback` at `position` when no check recorded one (a syntax error).
    @inline(never)
    private func malformedFromProblem(_ table: String, orElse fallback: String, at position: Int) -> NonEventOutcome {
        let p = problem ?? (fallback, position)
        return malformed(table, p.reason, at: p.at)
    }

    /// Records why the message is malformed (the first reason wins) and returns false to abort the scan.
    @inline(never)
    func fail(_ reason: @autoclosure () -> String, at position: Int) -> Bool {
        if problem == nil { problem = (reason(), position) }
        return false
    }

    /// A value's text for a reason: digits as they are, anything else quoted and escaped, at most 48 bytes.
    static func excerpt(_ raw: UnsafeRawBufferPointer) -> String {
        let limit = 48
        let cut = raw.count > limit
        let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<min(raw.count, limit)])
        let plain =
            !bytes.isEmpty
            && bytes.allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 || $0 == 43 || $0 == 101 || $0 == 69 }
        let text = String(decoding: bytes, as: UTF8.self)
        return (plain ? text : JSONText.quoted(text)) + (cut ? "… (\(raw.count) bytes)" : "")
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

    private func decodeHeartbeat(_ value: UnsafeRawBufferPointer, state: TopicState) -> NonEventOutcome {
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

    /// The schema block: a memcmp against the cached bytes in the common case.
    private func consumeSchema(_ s: inout JSONScanner, state: TopicState) -> Bool {
        s.skipWhitespace()
        let start = s.index
        let cached = state.schemaBytes
        if !cached.isEmpty && s.count - start >= cached.count {
            let same = cached.withUnsafeBufferPointer { memcmp(s.base + start, $0.baseAddress!, $0.count) == 0 }
            if same {
                s.index = start + cached.count
                return true
            }
        }
        guard s.skipValue() else { return false }
        let range = start..<s.index
        let bytes = s.raw(range)
        guard learnSchema(bytes, state: state) else { return fail("invalid JSON in schema", at: start) }
        state.schemaBytes = Array(bytes)
        return true
    }

    /// Reads decimal scales of the profile's columns from a Kafka Connect schema (cold path).
    /// False when the schema is not valid JSON (or nests deeper than `JSONValue.maxDepth`).
    private func learnSchema(_ bytes: UnsafeRawBufferPointer, state: TopicState) -> Bool {
        guard let schema = JSONValue.parse(bytes) else { return false }
        var scales: [String: Int] = [:]
        SchemaTypes.collectDecimalScales(schema, into: &scales)
        var columns = ColumnScales(
            amount: profile.defaultDecimalScale, unitPrice: profile.defaultDecimalScale, fromSchema: true)
        if let s = scales[profile.sale.amount], state.role == .sale {
            columns.amount = s
            columns.amountIsBinary = true
        }
        if state.modelTable >= 0, let model = profile.model {
            state.modelScales = model.tables[Int(state.modelTable)].columns.map { scales[$0] }
        }
        if let l = profile.lineItem, state.role == .lineItem, let s = scales[l.unitPrice] {
            columns.unitPrice = s
            columns.unitPriceIsBinary = true
        }
        state.columns = columns
        return true
    }

    // MARK: payload

    private struct Envelope {
        var before: Range<Int>? = nil
        var after: Range<Int>? = nil
        var beforeIsNull = false
        var afterIsNull = false
        var op: UInt8 = 0
        var sourceTsMs: Int64? = nil
        var envelopeTsMs: Int64? = nil
        var table: Range<Int>? = nil
        var snapshot = false
        var snapshotMarker = SnapshotRowMarker.none
        var hasSource = false
        // Unwrapped (ExtractNewRecordState) markers.
        var unwrappedOp: UInt8 = 0
        var deleted = false
        var unwrappedTable: Range<Int>? = nil
        var unwrappedTsMs: Int64? = nil
        var sawBeforeOrAfter = false
        /// `TransactionKey.of(transaction.id)` when transactions are read; 0 otherwise.
        var transactionKey: Int64 = 0
        /// `ddl` of a schema-change message (Debezium's schema-change topic), which also has
        /// `databaseName` or `tableChanges` (so an unwrapped row with a column named `ddl` stays a row).
        var ddl: Range<Int>? = nil
        var sawSchemaChangeKey = false
        /// `before`/`after` were parsed as rows of the topic's table while scanning (see `parseRowAhead`).
        var beforeParsed = false
        var afterParsed = false
    }

    /// Parses a row image where the scan meets it, as a row of the topic's own table (`source.table`
    /// comes later and almost always names it), saving a second pass over it. On any failure the
    /// cursor and recorded problem are put back and the caller skips the value; the row is then parsed
    /// again, in the usual order, once the table is known, so outcomes and reasons do not change.
    @inline(__always)
    private func parseRowAhead(_ s: inout JSONScanner, state: TopicState, into slot: inout Row?) -> Bool {
        let start = s.index
        let saved = problem
        slot = Row()
        if parseRow(
            &s, start..<s.count, role: state.role, modelTable: state.modelTable, state: state, into: &slot!,
            advance: true)
        {
            return true
        }
        problem = saved
        s.index = start
        slot = nil
        return false
    }

    /// nil when the payload is a change event, written into `event`; else what it is.
    private func decodePayload(
        _ scanner: inout JSONScanner, state: TopicState, kafkaTimestampMs: Int64,
        into event: inout ChangeEvent
    ) -> NonEventOutcome? {
        scanner.skipWhitespace()
        let objectStart = scanner.index
        var env = Envelope()
        event.before = nil
        event.after = nil
        let ok = scanner.forEachMember { s, key in
            let n = key.count
            guard n > 0 else { return s.skipValue() }
            let first = s.byte(at: key.lowerBound)
            switch first {
            case UInt8(ascii: "b") where s.equals(key, "before"):
                env.sawBeforeOrAfter = true
                if s.consumeLiteral("null") {
                    env.beforeIsNull = true
                    return true
                }
                s.skipWhitespace()
                let a = s.index
                env.beforeParsed = self.parseRowAhead(&s, state: state, into: &event.before)
                guard env.beforeParsed || s.skipValue() else { return false }
                env.before = a..<s.index
                return true
            case UInt8(ascii: "a") where s.equals(key, "after"):
                env.sawBeforeOrAfter = true
                if s.consumeLiteral("null") {
                    env.afterIsNull = true
                    return true
                }
                s.skipWhitespace()
                let a = s.index
                env.afterParsed = self.parseRowAhead(&s, state: state, into: &event.after)
                guard env.afterParsed || s.skipValue() else { return false }
                env.after = a..<s.index
                return true
            case UInt8(ascii: "s") where s.equals(key, "source"):
                env.hasSource = true
                if s.consumeLiteral("null") { return true }
                return s.forEachMember { src, k in
                    if src.equals(k, "ts_ms") {
                        return self.readTime(&src, "source.ts_ms", into: &env.sourceTsMs)
                    } else if src.equals(k, "table") {
                        if src.consumeLiteral("null") { return true }
                        src.skipWhitespace()
                        let at = src.index
                        guard let t = src.readString() else { return self.fail("source.table is not a string", at: at) }
                        guard t.range.count <= DebeziumDecoder.maxTableNameBytes else {
                            return self.fail(
                                "source.table is \(t.range.count) bytes long (at most \(DebeziumDecoder.maxTableNameBytes))",
                                at: at)
                        }
                        env.table = t.range
                        return true
                    } else if src.equals(k, "snapshot") {
                        if src.consumeLiteral("null") { return true }
                        if src.consumeLiteral("true") {
                            env.snapshot = true
                            env.snapshotMarker = .inProgress
                            return true
                        }
                        if src.consumeLiteral("false") { return true }
                        guard let t = src.readString() else { return false }
                        env.snapshot = !(src.equals(t.range, "false"))
                        if env.snapshot { env.snapshotMarker = DebeziumDecoder.snapshotMarker(src.raw(t.range)) }
                        return true
                    }
                    return src.skipValue()
                }
            case UInt8(ascii: "o") where s.equals(key, "op"):
                if s.consumeLiteral("null") { return true }
                s.skipWhitespace()
                let at = s.index
                guard let t = s.readString(), t.range.count == 1 else {
                    return self.fail("op is not a one-letter string", at: at)
                }
                env.op = s.byte(at: t.range.lowerBound)
                return true
            case UInt8(ascii: "t") where s.equals(key, "ts_ms"):
                return self.readTime(&s, "ts_ms", into: &env.envelopeTsMs)
            case UInt8(ascii: "t") where self.readsTransactions && s.equals(key, "transaction"):
                // `{"id":"571:34567","total_order":1,"data_collection_order":1}`; null for snapshot rows.
                if s.consumeLiteral("null") { return true }
                return s.forEachMember { tx, k in
                    guard tx.equals(k, "id") else { return tx.skipValue() }
                    if tx.consumeLiteral("null") { return true }
                    tx.skipWhitespace()
                    let at = tx.index
                    guard let id = tx.readString() else { return self.fail("transaction.id is not a string", at: at) }
                    env.transactionKey = TransactionKey.of(tx.raw(id.range))
                    return true
                }
            case UInt8(ascii: "d") where s.equals(key, "ddl"):
                s.skipWhitespace()
                let a = s.index
                guard s.skipValue() else { return false }
                env.ddl = a..<s.index
                return true
            case UInt8(ascii: "d") where s.equals(key, "databaseName"),
                UInt8(ascii: "t") where s.equals(key, "tableChanges"):
                env.sawSchemaChangeKey = true
                return s.skipValue()
            case UInt8(ascii: "_") where n > 2 && s.byte(at: key.lowerBound + 1) == UInt8(ascii: "_"):
                if s.equals(key, "__op") {
                    if s.consumeLiteral("null") { return true }
                    s.skipWhitespace()
                    let at = s.index
                    guard let t = s.readString(), t.range.count == 1 else {
                        return self.fail("__op is not a one-letter string", at: at)
                    }
                    env.unwrappedOp = s.byte(at: t.range.lowerBound)
                    return true
                } else if s.equals(key, "__deleted") {
                    if s.consumeLiteral("true") {
                        env.deleted = true
                        return true
                    }
                    if s.consumeLiteral("false") || s.consumeLiteral("null") { return true }
                    guard let t = s.readString() else { return false }
                    env.deleted = s.equals(t.range, "true")
                    return true
                } else if s.equals(key, "__table") {
                    if s.consumeLiteral("null") { return true }
                    s.skipWhitespace()
                    let at = s.index
                    guard let t = s.readString() else { return self.fail("__table is not a string", at: at) }
                    guard t.range.count <= DebeziumDecoder.maxTableNameBytes else {
                        return self.fail(
                            "__table is \(t.range.count) bytes long (at most \(DebeziumDecoder.maxTableNameBytes))",
                            at: at)
                    }
                    env.unwrappedTable = t.range
                    return true
                } else if s.equals(key, "__source_ts_ms") {
                    return self.readTime(&s, "__source_ts_ms", into: &env.unwrappedTsMs)
                }
                return s.skipValue()
            default:
                return s.skipValue()
            }
        }
        guard ok else { return malformedFromProblem(state.table, orElse: "invalid JSON in payload", at: scanner.index) }

        // A schema change (rare): decoded on the cold path.
        if env.ddl != nil && env.sawSchemaChangeKey {
            return schemaChange(
                scanner.raw(objectStart..<scanner.index), state: state,
                timeMs: env.sourceTsMs ?? env.envelopeTsMs ?? kafkaTimestampMs, snapshot: env.snapshot)
        }

        // The table: from the message when it says, else from the topic name.
        var table = state.table
        var role = state.role
        var modelTable = state.modelTable
        if !state.pinned, let t = env.table ?? env.unwrappedTable, !scanner.equals(t, state.tableBytes) {
            if let routed = state.routedTable, scanner.equals(t, routed.bytes) {
                (table, role, modelTable) = (routed.name, routed.role, routed.modelTable)
            } else {
                table = scanner.string(t, escaped: scanner.rangeHasEscape(t)) ?? table
                role = profile.role(ofTable: table)
                modelTable = profile.model?.tableIndex(named: table).map { Int32($0) } ?? -1
                state.routedTable = (Array(scanner.raw(t)), table, role, modelTable)
            }
        }

        if env.op != 0 || env.hasSource || env.sawBeforeOrAfter {
            // Debezium envelope.
            guard env.op != 0 else { return malformed(table, "envelope without op", at: objectStart) }
            guard let op = ChangeOp(code: env.op) else {
                return malformed(table, "unknown op '\(Character(Unicode.Scalar(env.op)))'", at: objectStart)
            }
            guard let ts = env.sourceTsMs ?? env.envelopeTsMs else {
                return malformed(table, "no source.ts_ms", at: objectStart)
            }
            // Rows are parsed straight into the event's own slots, unless already parsed for this role.
            let parsedAhead = role == state.role && modelTable == state.modelTable
            if let r = env.before, !(parsedAhead && env.beforeParsed) {
                event.before = Row()
                guard parseRow(&scanner, r, role: role, modelTable: modelTable, state: state, into: &event.before!)
                else {
                    return malformedFromProblem(table, orElse: rowError(role), at: r.lowerBound)
                }
            }
            if let r = env.after {
                if !(parsedAhead && env.afterParsed) {
                    event.after = Row()
                    guard parseRow(&scanner, r, role: role, modelTable: modelTable, state: state, into: &event.after!)
                    else {
                        return malformedFromProblem(table, orElse: rowError(role), at: r.lowerBound)
                    }
                }
                if role == .model, let slot = event.after!.cells.firstIndex(of: .missing) {
                    return missingModelColumn(table, modelTable: modelTable, slot: slot, state: state, at: r.lowerBound)
                }
                if let column = missingColumn(event.after!, role: role) {
                    return droppedColumn(table, column, at: r.lowerBound)
                }
            }
            if let missing = DebeziumDecoder.missingImage(op, hasBefore: env.before != nil, hasAfter: env.after != nil)
            {
                return malformed(table, missing, at: objectStart)
            }
            DebeziumDecoder.fillEnvelope(
                &event, table: table, role: role, modelTable: modelTable, op: op, commitTimeMs: ts,
                snapshot: env.snapshot, snapshotMarker: env.snapshotMarker, sourceTsMs: env.sourceTsMs,
                envelopeTsMs: env.envelopeTsMs, transactionKey: env.transactionKey)
            return nil
        }

        // Unwrapped record: the payload object is the row itself.
        let ts = env.unwrappedTsMs ?? kafkaTimestampMs
        guard DebeziumDecoder.validCommitTimeMs.contains(ts) else {
            return malformed(
                table, "no __source_ts_ms, and the Kafka timestamp \(ts) is not a time in years 1970…9999",
                at: objectStart)
        }
        var row = Row()
        guard
            parseRow(
                &scanner, objectStart..<scanner.index, role: role, modelTable: modelTable, state: state, into: &row)
        else {
            return malformedFromProblem(table, orElse: rowError(role), at: objectStart)
        }
        var op: ChangeOp
        if env.unwrappedOp != 0 {
            guard let o = ChangeOp(code: env.unwrappedOp) else {
                return malformed(table, "unknown __op '\(Character(Unicode.Scalar(env.unwrappedOp)))'", at: objectStart)
            }
            op = o
        } else if role == .other {
            return NonEventOutcome(.ignored(table: table, reason: "record without op"))
        } else {
            op = .update  // an upsert: the aggregator retracts what it remembers for the key
        }
        if env.deleted { op = .delete }
        if op != .delete, role == .model, let slot = row.cells.firstIndex(of: .missing) {
            return missingModelColumn(table, modelTable: modelTable, slot: slot, state: state, at: objectStart)
        }
        if op != .delete, let column = missingColumn(row, role: role) {
            return droppedColumn(table, column, at: objectStart)
        }
        event.table = table
        event.role = role
        event.modelTable = role == .model ? modelTable : -1
        event.op = op
        event.commitTimeMs = ts
        event.isSnapshot = op == .read
        event.debeziumTimeMs = 0
        if op == .delete {
            event.before = row
            event.after = nil
        } else {
            event.before = nil
            event.after = row
        }
        return nil
    }

    /// The first profile column a new row image (`after`, or an unwrapped row) lacks altogether, as
    /// after `ALTER TABLE … DROP COLUMN`: its events would otherwise count nothing, silently. Old
    /// images (`before`) may legitimately hold only the key (REPLICA IDENTITY DEFAULT).
    @inline(__always)
    func missingColumn(_ row: Row, role: TableRole) -> ProfileColumn? {
        switch role {
        case .sale:
            if case .missing = row.amount { return .saleAmount }
        case .lineItem:
            guard hasLineItem else { return nil }
            if case .missing = row.quantity { return .lineQuantity }
            if case .missing = row.unitPrice { return .lineUnitPrice }
            if case .missing = row.reference, needsProductKey { return .lineProduct }
        case .dimension:
            guard hasDimension else { return nil }
            if case .missing = row.category { return .dimCategory }
        case .other, .model:
            break
        }
        return nil
    }

    /// A profile column a new row image can lack; its name is looked up only on the failure path.
    enum ProfileColumn { case saleAmount, lineQuantity, lineUnitPrice, lineProduct, dimCategory }

    @inline(never)
    func droppedColumn(_ table: String, _ column: ProfileColumn, at position: Int) -> NonEventOutcome {
        let name =
            switch column {
            case .saleAmount: profile.sale.amount
            case .lineQuantity: profile.lineItem?.quantity ?? ""
            case .lineUnitPrice: profile.lineItem?.unitPrice ?? ""
            case .lineProduct: profile.lineItem?.productKey ?? ""
            case .dimCategory: profile.dimension?.category ?? ""
            }
        return malformed(
            table,
            "row has no column \(name), which the profile needs (dropped by ALTER TABLE? then update the profile)",
            at: position)
    }

    /// A message of Debezium's schema-change topic: the DDL, its database and the tables it touched.
    @inline(never)
    private func schemaChange(_ bytes: UnsafeRawBufferPointer, state: TopicState, timeMs: Int64, snapshot: Bool)
        -> NonEventOutcome
    {
        guard let payload = JSONValue.parse(bytes) else {
            return malformed(state.table, "invalid JSON in schema change", at: 0)
        }
        guard let ddl = payload["ddl"]?.stringValue else {
            return malformed(state.table, "schema change whose ddl is not a string", at: 0)
        }
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
        let kind = { () -> String in
            if case .array(let changes)? = payload["tableChanges"], let first = changes.first,
                let type = first["type"]?.stringValue
            {
                return type
            }
            return ""
        }()
        return NonEventOutcome(
            .schemaChange(
                SchemaChange(
                    database: database, tables: tables, ddl: ddl, kind: kind,
                    commitTimeMs: DebeziumDecoder.validCommitTimeMs.contains(timeMs) ? timeMs : 0,
                    isSnapshot: snapshot)))
    }

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

    func rowError(_ role: TableRole) -> String {
        switch role {
        case .sale: "bad row for sale table: need \(profile.sale.key) and a decimal \(profile.sale.amount)"
        case .lineItem: "bad row for line-item table: need key, integer quantity, decimal unit price and product key"
        case .dimension: "bad row for dimension table: need key and a string category"
        case .other, .model: "row is not a JSON object"
        }
    }

    // MARK: rows

    /// Extracts the profile's columns of one row image into `row` (fresh); false when a present column
    /// has an unusable value.
    /// With `advance`, `outer` itself is moved past the row (else it is left where it was).
    private func parseRow(
        _ outer: inout JSONScanner, _ range: Range<Int>, role: TableRole, modelTable: Int32, state: TopicState,
        into row: inout Row, advance: Bool = false
    ) -> Bool {
        if role == .model {
            return parseModelRow(&outer, range, modelTable: Int(modelTable), state: state, into: &row, advance: advance)
        }
        var s = outer
        s.index = range.lowerBound
        defer { if advance { outer.index = s.index } }
        let w = wanted
        let scales = state.columns
        let unavailable = "__debezium_unavailable_value"
        let ok = s.forEachMember { s, key in
            switch role {
            case .sale:
                if s.equals(key, w.saleKey) { return self.readKey(&s, column: key, into: &row.key) }
                if s.equals(key, w.saleAmount) {
                    return self.readMoney(
                        &s, column: key, scale: scales.amount, binary: scales.amountIsBinary, into: &row.amount)
                }
            case .lineItem:
                if s.equals(key, w.lineKey) { return self.readKey(&s, column: key, into: &row.key) }
                if s.equals(key, w.lineQuantity) { return self.readInt(&s, column: key, into: &row.quantity) }
                if s.equals(key, w.lineUnitPrice) {
                    return self.readMoney(
                        &s, column: key, scale: scales.unitPrice, binary: scales.unitPriceIsBinary, into: &row.unitPrice
                    )
                }
                if s.equals(key, w.lineProduct) {
                    var k: RowKey? = nil
                    if s.consumeLiteral("null") {
                        row.reference = .null
                        return true
                    }
                    guard self.readKey(&s, column: key, into: &k), let k else { return false }
                    row.reference = .value(k)
                    return true
                }
            case .dimension:
                if s.equals(key, w.dimKey) { return self.readKey(&s, column: key, into: &row.key) }
                if s.equals(key, w.dimCategory) {
                    if s.consumeLiteral("null") {
                        row.category = .null
                        return true
                    }
                    s.skipWhitespace()
                    let at = s.index
                    guard let t = s.readString(), let str = s.string(t.range, escaped: t.escaped) else {
                        return self.fail("\(s.text(key)) is not a string", at: at)
                    }
                    row.category = str == unavailable ? .unavailable : .value(str)
                    return true
                }
            case .other, .model:
                break
            }
            return s.skipValue()
        }
        guard ok else {
            return fail("invalid JSON in row", at: s.index)
        }
        if role != .other && row.key == nil { return fail(rowError(role), at: range.lowerBound) }
        return true
    }

    // MARK: values

    /// A commit time (`source.ts_ms`, `ts_ms`, `__source_ts_ms`): an integer in `validCommitTimeMs`, or null.
    private func readTime(_ s: inout JSONScanner, _ name: StaticString, into out: inout Int64?) -> Bool {
        if s.consumeLiteral("null") { return true }
        s.skipWhitespace()
        let at = s.index
        if let v = s.readPlainInteger() {
            if DebeziumDecoder.validCommitTimeMs.contains(v) {
                out = v
                return true
            }
            s.index = at  // out of range: the general path below says why
        }
        guard let r = s.readNumber() else { return fail("\(name) is not a number", at: at) }
        guard let v = DebeziumDecoder.int64(s.raw(r)) else {
            return fail(
                "\(name) \(DebeziumDecoder.excerpt(s.raw(r))) is not a whole number of milliseconds within Int64",
                at: at)
        }
        guard DebeziumDecoder.validCommitTimeMs.contains(v) else {
            return fail("\(name) \(v) is not a time in years 1970…9999 (0…253402300799999 ms)", at: at)
        }
        out = v
        return true
    }

    /// A primary key or reference: a string, or an integer within Int64.
    private func readKey(_ s: inout JSONScanner, column: Range<Int>, into key: inout RowKey?) -> Bool {
        s.skipWhitespace()
        let at = s.index
        if s.peek() == UInt8(ascii: "\"") {
            guard let t = s.readString(), let str = s.string(t.range, escaped: t.escaped) else {
                return fail("\(s.text(column)) is not a valid JSON string", at: at)
            }
            key = .text(str)
            return true
        }
        if let v = s.readPlainInteger() {
            key = .int(v)
            return true
        }
        guard let r = s.readNumber() else { return fail("\(s.text(column)) is neither a number nor a string", at: at) }
        guard let v = DebeziumDecoder.int64(s.raw(r)) else {
            return fail("\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(r))) is not an integer within Int64", at: at)
        }
        key = .int(v)
        return true
    }

    /// A quantity: any Int64, as a JSON number or a string of digits; overflow is malformed, never wrapped.
    private func readInt(_ s: inout JSONScanner, column: Range<Int>, into field: inout FieldState<Int64>) -> Bool {
        if s.consumeLiteral("null") {
            field = .null
            return true
        }
        s.skipWhitespace()
        let at = s.index
        if s.peek() == UInt8(ascii: "\"") {
            guard let t = s.readString() else { return fail("\(s.text(column)) is not a valid JSON string", at: at) }
            if let v = DebeziumDecoder.int64(s.raw(t.range)) {
                field = .value(v)
                return true
            }
            if s.equals(t.range, "__debezium_unavailable_value") {
                field = .unavailable
                return true
            }
            return fail(
                "\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(t.range))) is not an integer within Int64", at: at)
        }
        if let v = s.readPlainInteger() {
            field = .value(v)
            return true
        }
        guard let r = s.readNumber() else { return fail("\(s.text(column)) is not a number", at: at) }
        guard let v = DebeziumDecoder.int64(s.raw(r)) else {
            return fail("\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(r))) is not an integer within Int64", at: at)
        }
        field = .value(v)
        return true
    }

    /// A decimal in any Debezium form: precise base64 (scale from schema or profile), string, JSON number
    /// (double mode: the literal is parsed as text, never through Double), or VariableScaleDecimal object.
    /// Whatever the form, the value must lie within `Money.maxMagnitude` and have at most `Money.scale` places.
    private func readMoney(
        _ s: inout JSONScanner, column: Range<Int>, scale: Int, binary: Bool, into field: inout FieldState<Money>
    ) -> Bool {
        guard let c = s.peek() else { return fail("\(s.text(column)) has no value", at: s.index) }
        let at = s.index
        let money: Money
        switch c {
        case UInt8(ascii: "n"):
            guard s.consumeLiteral("null") else { return fail("\(s.text(column)) is not a value", at: at) }
            field = .null
            return true
        case UInt8(ascii: "\""):
            guard let t = s.readString() else { return fail("\(s.text(column)) is not a valid JSON string", at: at) }
            let raw = s.raw(t.range)
            if s.equals(t.range, "__debezium_unavailable_value")
                || s.equals(t.range, "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")
            {
                field = .unavailable
                return true
            }
            if !binary && DecimalCodec.looksLikeDecimalText(raw) {
                guard let m = Money.parse(raw) else {
                    return fail(
                        "\(s.text(column)) \(DebeziumDecoder.excerpt(raw)) \(DecimalCodec.whyNotMoney(raw))", at: at)
                }
                money = m
            } else {
                if !binary && DecimalCodec.isSpecialNumberName(raw) {
                    return fail(
                        "\(s.text(column)) \(DebeziumDecoder.excerpt(raw)) is not a number with an exact value", at: at)
                }
                guard let unscaled = DecimalCodec.unscaledFromBase64(raw) else {
                    return fail(
                        binary
                            ? "\(s.text(column)) \(DebeziumDecoder.excerpt(raw)) is not valid base64 of at most 16 bytes (the schema says Decimal)"
                            : "\(s.text(column)) \(DebeziumDecoder.excerpt(raw)) is neither decimal text nor valid base64",
                        at: at)
                }
                guard let m = Money(unscaled: unscaled, scale: scale) else {
                    return fail(
                        "\(s.text(column)) \(DecimalCodec.describe(unscaled: unscaled, scale: scale)) \(DecimalCodec.whyNotMoney(unscaled: unscaled, scale: scale))",
                        at: at)
                }
                money = m
            }
        case UInt8(ascii: "{"):
            var vsScale: Int64? = nil
            var vsValue: Range<Int>? = nil
            let ok = s.forEachMember { o, k in
                if o.equals(k, "scale") {
                    guard let r = o.readNumber(), let v = DebeziumDecoder.int64(o.raw(r)) else { return false }
                    vsScale = v
                    return true
                }
                if o.equals(k, "value") {
                    guard let t = o.readString() else { return false }
                    vsValue = t.range
                    return true
                }
                return o.skipValue()
            }
            guard ok, let sc = vsScale, let v = vsValue else {
                return fail(
                    "\(s.text(column)) is not a VariableScaleDecimal {\"scale\": integer, \"value\": base64}", at: at)
            }
            guard let unscaled = DecimalCodec.unscaledFromBase64(s.raw(v)) else {
                return fail(
                    "\(s.text(column)) value \(DebeziumDecoder.excerpt(s.raw(v))) is not valid base64 of at most 16 bytes",
                    at: at)
            }
            guard sc >= 0 && sc <= 1000, let m = Money(unscaled: unscaled, scale: Int(sc)) else {
                let why =
                    sc < 0 || sc > 1000
                    ? "has an unsupported scale" : DecimalCodec.whyNotMoney(unscaled: unscaled, scale: Int(sc))
                return fail(
                    "\(s.text(column)) \(DecimalCodec.describe(unscaled: unscaled, scale: Int(clamping: sc))) \(why)",
                    at: at)
            }
            money = m
        default:
            guard let r = s.readNumber() else { return fail("\(s.text(column)) is not a number", at: at) }
            guard let m = Money.parse(s.raw(r)) else {
                return fail(
                    "\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(r))) \(DecimalCodec.whyNotMoney(s.raw(r)))",
                    at: at)
            }
            money = m
        }
        guard money.isInRange else {
            return fail("\(s.text(column)) \(money.formatted()) \(DecimalCodec.outOfRange)", at: at)
        }
        field = .value(money)
        return true
    }

    /// An optional `-` and decimal digits, exactly; nil for anything else or beyond Int64 (never traps).
    /// Negative numbers accumulate downwards so that Int64.min parses too.
    @inline(__always) static func int64(_ raw: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        let n = raw.count
        guard n > 0 else { return nil }
        var negative = false
        if raw[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
            if n == 1 { return nil }
        }
        var v: Int64 = 0
        while i < n {
            let c = raw[i]
            guard c >= 48 && c <= 57 else { return nil }
            let digit = Int64(c &- 48)
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return v
    }
}

#if canImport(Glibc)
    import Glibc
#endif

extension DebeziumDecoder {
    /// Why an envelope lacks the row image its op needs (c, r, u need `after`; d needs `before`), or nil.
    /// Shared by the JSON and Avro decoders, so both forms say the same.
    @inline(__always)
    static func missingImage(_ op: ChangeOp, hasBefore: Bool, hasAfter: Bool) -> String? {
        switch op {
        case .create, .read, .update: hasAfter ? nil : "\(op.code) without after"
        case .delete: hasBefore ? nil : "d without before"
        case .truncate, .tombstone: nil
        }
    }

    /// What an envelope says about its event, the same from JSON and Avro.
    @inline(__always)
    static func fillEnvelope(
        _ event: inout ChangeEvent, table: String, role: TableRole, modelTable: Int32, op: ChangeOp,
        commitTimeMs: Int64, snapshot: Bool, snapshotMarker: SnapshotRowMarker, sourceTsMs: Int64?,
        envelopeTsMs: Int64?, transactionKey: Int64
    ) {
        event.table = table
        event.role = role
        event.modelTable = role == .model ? modelTable : -1
        event.op = op
        event.commitTimeMs = commitTimeMs
        event.isSnapshot = snapshot || op == .read
        event.snapshotMarker = snapshotMarker
        event.transactionKey = transactionKey
        // Debezium's own clock, for the latency split; only beside a real source.ts_ms (else it is the commit time).
        event.debeziumTimeMs = sourceTsMs != nil ? envelopeTsMs ?? 0 : 0
    }
}
