import Metrics

/// Event assembly: a scanned and routed payload becomes a `ChangeEvent` (written in place into the
/// caller's), or the reason it cannot. The checks and the envelope's fields are shared with the Avro
/// decoder, so both forms say the same.
extension DebeziumDecoder {
    /// A Debezium envelope (op, source, before/after) → the event in `event`, or why it is malformed.
    /// Rows go straight into the event's own slots, unless already parsed ahead for this route.
    @inline(__always)
    func assembleEnvelopeEvent(
        _ env: Envelope, route: Route, _ scanner: inout JSONScanner, objectStart: Int, state: TopicState,
        into event: inout ChangeEvent
    ) -> NonEventOutcome? {
        let (table, role, modelTable) = (route.table, route.role, route.modelTable)
        guard env.op != 0 else { return malformed(table, "envelope without op", at: objectStart) }
        guard let op = ChangeOp(code: env.op) else {
            return malformed(table, "unknown op '\(Character(Unicode.Scalar(env.op)))'", at: objectStart)
        }
        guard let ts = env.sourceTsMs ?? env.envelopeTsMs else {
            return malformed(table, "no source.ts_ms", at: objectStart)
        }
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
        if let missing = DebeziumDecoder.missingImage(op, hasBefore: env.before != nil, hasAfter: env.after != nil) {
            return malformed(table, missing, at: objectStart)
        }
        DebeziumDecoder.fillEnvelope(
            &event, table: table, role: role, modelTable: modelTable, op: op, commitTimeMs: ts,
            snapshot: env.snapshot, snapshotMarker: env.snapshotMarker, sourceTsMs: env.sourceTsMs,
            envelopeTsMs: env.envelopeTsMs, transactionKey: env.transactionKey)
        return nil
    }

    /// An unwrapped record (ExtractNewRecordState): the payload object is the row itself; `__op` and
    /// `__deleted` say what happened (none: an upsert), `__source_ts_ms` when (else the Kafka timestamp).
    @inline(__always)
    func assembleUnwrappedEvent(
        _ env: Envelope, route: Route, _ scanner: inout JSONScanner, objectStart: Int, kafkaTimestampMs: Int64,
        state: TopicState, into event: inout ChangeEvent
    ) -> NonEventOutcome? {
        let (table, role, modelTable) = (route.table, route.role, route.modelTable)
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
        DebeziumDecoder.fillUnwrapped(
            &event, table: table, role: role, modelTable: modelTable, op: op, commitTimeMs: ts, row: row)
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

    func rowError(_ role: TableRole) -> String {
        switch role {
        case .sale: "bad row for sale table: need \(profile.sale.key) and a decimal \(profile.sale.amount)"
        case .lineItem: "bad row for line-item table: need key, integer quantity, decimal unit price and product key"
        case .dimension: "bad row for dimension table: need key and a string category"
        case .other, .model: "row is not a JSON object"
        }
    }

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

    /// An unwrapped record's event (the row is the whole value), the same from JSON and Avro: a delete's
    /// row is its old image, any other op's its new one.
    @inline(__always)
    static func fillUnwrapped(
        _ event: inout ChangeEvent, table: String, role: TableRole, modelTable: Int32, op: ChangeOp,
        commitTimeMs: Int64, row: Row
    ) {
        event.table = table
        event.role = role
        event.modelTable = role == .model ? modelTable : -1
        event.op = op
        event.commitTimeMs = commitTimeMs
        event.isSnapshot = op == .read
        event.debeziumTimeMs = 0
        // Every field is set: the engine decodes each framed message into the previous one's event.
        event.snapshotMarker = .none
        event.transactionKey = 0
        if op == .delete {
            event.before = row
            event.after = nil
        } else {
            event.before = nil
            event.after = row
        }
    }
}
