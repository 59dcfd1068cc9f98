import Metrics

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
///
/// Its parts: this file holds the state and the entry points; TopicRouting.swift maps a topic (and a
/// message's `source.table`) to a table and role; EnvelopeScan.swift reads a payload's members in one
/// pass; EventAssembly.swift turns them into the event; ProfileRows.swift and ModelRows.swift read
/// rows and values; NonEventMessages.swift handles heartbeats, transaction metadata, snapshot
/// notifications and DDL; DecodeOutcome.swift has what `decode` returns.
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

    /// Read per message: no dynamic exclusivity check (the decoder is used by one thread, and no
    /// access to it overlaps another).
    @exclusivity(unchecked) var topics: [TopicState] = []
    /// `--transactions complete`: read each change's transaction (`transaction.id`, `source.txId`) into
    /// `ChangeEvent.transactionKey`, and hand BEGIN/END over (`takeTransactionBoundary`). Off, neither
    /// is read and the hot path stays as it was. Read per message: no dynamic exclusivity check.
    @exclusivity(unchecked) package var readsTransactions = false
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
    /// Compiled Avro schemas by schema id (Sources/Pipeline/Debezium/Avro).
    let avroPlans = AvroPlanCache()
    var topicSlots: [String: Int] = [:]
    let wanted: WantedColumns

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
    let hasLineItem: Bool, needsProductKey: Bool, hasDimension: Bool

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

    // MARK: payload

    /// nil when the payload is a change event, written into `event`; else what it is. Four steps, each
    /// in its own file: scan the envelope's members (EnvelopeScan.swift), set a schema change aside
    /// (NonEventMessages.swift), route the message to its table (TopicRouting.swift), and assemble the
    /// event from an envelope or an unwrapped record (EventAssembly.swift).
    private func decodePayload(
        _ scanner: inout JSONScanner, state: TopicState, kafkaTimestampMs: Int64,
        into event: inout ChangeEvent
    ) -> NonEventOutcome? {
        scanner.skipWhitespace()
        let objectStart = scanner.index
        var env = Envelope()
        event.before = nil
        event.after = nil
        guard scanEnvelope(&scanner, state: state, into: &env, rows: &event) else {
            return malformedFromProblem(state.table, orElse: "invalid JSON in payload", at: scanner.index)
        }

        // A schema change (rare): decoded on the cold path.
        if env.ddl != nil && env.sawSchemaChangeKey {
            return schemaChange(
                scanner.raw(objectStart..<scanner.index), state: state,
                timeMs: env.sourceTsMs ?? env.envelopeTsMs ?? kafkaTimestampMs, snapshot: env.snapshot)
        }

        let route = self.route(named: env.table ?? env.unwrappedTable, in: scanner, state: state)
        if env.op != 0 || env.hasSource || env.sawBeforeOrAfter {
            return assembleEnvelopeEvent(
                env, route: route, &scanner, objectStart: objectStart, state: state, into: &event)
        }
        return assembleUnwrappedEvent(
            env, route: route, &scanner, objectStart: objectStart, kafkaTimestampMs: kafkaTimestampMs, state: state,
            into: &event)
    }

    // MARK: failures (cold path)

    /// A malformed outcome whose reason ends with the byte position it refers to.
    @inline(never)
    func malformed(_ table: String, _ reason: String, at position: Int) -> NonEventOutcome {
        NonEventOutcome(.malformed(table: table, reason: "\(reason) (at byte \(position))"))
    }

    /// The recorded problem, or `fallback` at `position` when no check recorded one (a syntax error).
    @inline(never)
    func malformedFromProblem(_ table: String, orElse fallback: String, at position: Int) -> NonEventOutcome {
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
}
