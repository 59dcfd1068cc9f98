import Metrics

/// Debezium's messages in Avro (Confluent's AvroConverter through a schema registry), decoded into
/// the same `ChangeEvent`s as the JSON path: every value is read as JsonConverter would have written
/// it (decimals as the unscaled bytes + the schema's scale, floats as Java's shortest text, bytes as
/// base64…) and then checked and converted by the JSON path's own rules, so a row gives the same
/// event (and the same reasons for a bad value) whichever converter carried it.
///
/// Per schema id the decoder compiles a plan once: which field of the root record is
/// before/after/source/op/ts_ms, which fields of `source` and of each row image it reads (and into
/// which profile column), and skips the rest by type. A good message allocates only what the JSON
/// path allocates (strings the event holds, a model row's cells).
///
/// Malformed input (truncated, a varint beyond 64 bits, a negative or too long length, a union or
/// enum index out of range, invalid UTF-8, trailing bytes…) is `.malformed` with a reason ending
/// `(schema id N, at byte P)`, P counted from the start of the Avro payload (after the 5-byte
/// header). Nothing traps, and time is linear in the message.
extension DebeziumDecoder {
    /// Decodes one Avro-encoded value (the bytes after the 5-byte Confluent header) written with
    /// `schema` into `event`, exactly as `decode(slot:value:kafkaTimestampMs:into:)` does for JSON;
    /// nil for a change event. A tombstone (null Kafka value) has no header and no schema: give it to
    /// `decode(slot:value:nil)`.
    package func decodeAvro(
        slot: Int, schemaID: Int32, schema: AvroSchema, payload: UnsafeRawBufferPointer,
        kafkaTimestampMs: Int64, into event: inout ChangeEvent
    ) -> NonEventOutcome? {
        let state = topics[slot]
        if state.isHeartbeat { return avroHeartbeat(state, schemaID, schema, payload) }
        if state.checkTransactionTopic, let other = avroTransactionMetadata(state, schema, payload) { return other }
        guard schema.rootIsRecord else {
            return avroMalformed(
                state.table, "value is not a record (the schema's root is \(schema.describe(schema.root)))", schemaID,
                at: 0)
        }
        let plans = avroPlans.plans(schemaID, schema)
        var r = AvroReader(payload)
        var env = AvroEnvelope()
        event.before = nil
        event.after = nil
        do throws(AvroStop) {
            try walkEnvelope(&r, plans, state: state, env: &env, event: &event)
        } catch {
            return avroMalformed(state.table, error.reason, schemaID, at: error.at)
        }
        let trailing = r.pos != r.count ? r.pos : nil
        let outcome = finish(
            &r, plans, state: state, schemaID: schemaID, env: &env, kafkaTimestampMs: kafkaTimestampMs, event: &event)
        if let outcome, outcome.isMalformed { return outcome }
        if let trailing {
            return avroMalformed(
                state.table, "\(r.count - trailing) trailing bytes after the record", schemaID, at: trailing)
        }
        return outcome
    }

    /// The row key from an Avro-encoded Kafka key (the bytes after the header): a record's scalar
    /// fields (several make one composite key, as `compositeKey`) or a scalar key; nil when the key
    /// cannot be decoded or holds a null or nested value — as `recordKeyValue` for JSON.
    package func avroRecordKey(schema: AvroSchema, payload: UnsafeRawBufferPointer) -> RowKey? {
        var r = AvroReader(payload)
        do throws(AvroStop) {
            let root = schema.nodes[Int(schema.root)]
            var key: RowKey? = nil
            if root.kind == .record {
                var parts: [RowKey] = []
                for f in root.fields {
                    guard let k = try DebeziumDecoder.avroKeyScalar(&r, f.type, schema) else { return nil }
                    parts.append(k)
                }
                key = parts.isEmpty ? nil : DebeziumDecoder.compositeKey(parts)
            } else {
                key = try DebeziumDecoder.avroKeyScalar(&r, schema.root, schema)
            }
            return r.pos == r.count ? key : nil
        } catch {
            return nil
        }
    }

    private static func avroKeyScalar(_ r: inout AvroReader, _ node: Int32, _ schema: AvroSchema) throws(AvroStop)
        -> RowKey?
    {
        switch try r.token(node, schema) {
        case .string(let start, let count):
            return r.string(start, count).0.map { .text($0) }
        case .long(let v): return .int(v)
        case .float(let f): return floatKey(AvroText.java(f), finite: f.isFinite)
        case .double(let d): return floatKey(AvroText.java(d), finite: d.isFinite)
        case .bool(let b): return Cell.bool(b).rowKey
        case .bytes(let start, let count, _): return .text(AvroText.base64(r.raw(start, count)))
        case .symbol(let node, let index): return .text(schema.nodes[Int(node)].symbols[index])
        case .null, .variableScaleDecimal, .complex: return nil
        }
    }

    private static func floatKey(_ text: String, finite: Bool) -> RowKey? {
        guard finite else { return .text(text) }  // Jackson writes "NaN" as a string
        var t = text
        return t.withUTF8 { p -> RowKey? in
            let raw = UnsafeRawBufferPointer(p)
            if let v = DebeziumDecoder.int64(raw) { return .int(v) }
            return ExactDecimal.parse(raw).flatMap { Cell.decimal($0).rowKey }
        }
    }

    // MARK: envelope

    struct AvroEnvelope {
        /// Start of each row image's record (after its union index), nil when absent or null.
        var beforeAt: Int? = nil
        var afterAt: Int? = nil
        var imageRecord: (before: Int32, after: Int32) = (-1, -1)
        var beforeParsed = false
        var afterParsed = false
        /// A value problem found while parsing a row image ahead, reported only if the row is its topic's.
        var beforeProblem: AvroStop? = nil
        var afterProblem: AvroStop? = nil
        var op: UInt8 = 0
        var sourceTsMs: Int64? = nil
        var envelopeTsMs: Int64? = nil
        var table: (start: Int, count: Int)? = nil
        var snapshot = false
        /// `source.snapshot` in detail (`last`, `incremental`…), as the JSON path reads it.
        var snapshotMarker = SnapshotRowMarker.none
        var hasSource = false
        var unwrappedOp: UInt8 = 0
        var deleted = false
        var unwrappedTable: (start: Int, count: Int)? = nil
        var unwrappedTsMs: Int64? = nil
        var sawBeforeOrAfter = false
        /// `TransactionKey.of(transaction.id)` when transactions are read; 0 otherwise (and for snapshot rows).
        var transactionKey: Int64 = 0
    }

    @inline(never)
    static func valueStop(_ reason: String, at: Int) -> AvroStop { AvroStop(reason: reason, at: at, structural: false) }

    /// One pass over the root record: the envelope's fields, and the row images parsed ahead as rows
    /// of the topic's own table (the JSON path's order of checks is kept; see `finish`).
    @inline(__always)
    private func walkEnvelope(
        _ r: inout AvroReader, _ plans: AvroSchemaPlans, state: TopicState, env: inout AvroEnvelope,
        event: inout ChangeEvent
    ) throws(AvroStop) {
        let schema = plans.schema
        for f in plans.envelope.fields {
            switch f.role {
            case .skip, .ddl, .schemaChangeKey:
                try r.skipField(f.node, schema.flat, schema.links)
            case .before:
                env.sawBeforeOrAfter = true
                guard let record = try imageRecord(&r, f.node, schema, name: "before") else { continue }
                env.beforeAt = r.pos
                env.imageRecord.before = record
                try parseAhead(
                    &r, plans, record: record, state: state, into: &event.before, parsed: &env.beforeParsed,
                    problem: &env.beforeProblem)
            case .after:
                env.sawBeforeOrAfter = true
                guard let record = try imageRecord(&r, f.node, schema, name: "after") else { continue }
                env.afterAt = r.pos
                env.imageRecord.after = record
                try parseAhead(
                    &r, plans, record: record, state: state, into: &event.after, parsed: &env.afterParsed,
                    problem: &env.afterProblem)
            case .source:
                env.hasSource = true
                try readSource(&r, plans, f.node, env: &env)
            case .op:
                let at = r.pos
                switch try r.token(f.node, schema.flat, schema.links) {
                case .null: break
                case .string(let start, 1): env.op = r.base[start]
                case .symbol(let node, let i) where schema.nodes[Int(node)].symbols[i].utf8.count == 1:
                    env.op = schema.nodes[Int(node)].symbols[i].utf8.first!
                default: throw DebeziumDecoder.valueStop("op is not a one-letter string", at: at)
                }
            case .tsMs:
                try readTime(&r, f.node, schema, "ts_ms", into: &env.envelopeTsMs)
            case .unwrappedOp:
                let at = r.pos
                switch try r.token(f.node, schema.flat, schema.links) {
                case .null: break
                case .string(let start, 1): env.unwrappedOp = r.base[start]
                default: throw DebeziumDecoder.valueStop("__op is not a one-letter string", at: at)
                }
            case .unwrappedDeleted:
                let at = r.pos
                switch try r.token(f.node, schema.flat, schema.links) {
                case .null: break
                case .bool(let b): env.deleted = b
                case .string(let start, let count): env.deleted = r.equals(start, count, "true")
                default: throw DebeziumDecoder.valueStop("__deleted is not a boolean or a string", at: at)
                }
            case .unwrappedTable:
                let at = r.pos
                switch try r.token(f.node, schema.flat, schema.links) {
                case .null: break
                case .string(let start, let count):
                    guard count <= DebeziumDecoder.maxTableNameBytes else {
                        throw DebeziumDecoder.valueStop(
                            "__table is \(count) bytes long (at most \(DebeziumDecoder.maxTableNameBytes))", at: at)
                    }
                    env.unwrappedTable = (start, count)
                default: throw DebeziumDecoder.valueStop("__table is not a string", at: at)
                }
            case .unwrappedTsMs:
                try readTime(&r, f.node, schema, "__source_ts_ms", into: &env.unwrappedTsMs)
            case .transaction:
                if readsTransactions {
                    try readTransaction(&r, schema, f.node, env: &env)
                } else {
                    try r.skipField(f.node, schema.flat, schema.links)
                }
            }
        }
    }

    /// The record a row image holds (its union resolved), or nil for null.
    @inline(__always)
    private func imageRecord(_ r: inout AvroReader, _ node: Int32, _ schema: AvroSchema, name: StaticString)
        throws(AvroStop) -> Int32?
    {
        var n = node
        let at = r.pos
        if schema.flat[Int(n)].kind == .union { n = try r.branch(schema.flat[Int(n)], schema.links) }
        switch schema.flat[Int(n)].kind {
        case .null: return nil
        case .record: return n
        default: throw AvroReader.stop("\(name) is a \(schema.describe(n)), not a record", at: at)
        }
    }

    @inline(__always)
    private func parseAhead(
        _ r: inout AvroReader, _ plans: AvroSchemaPlans, record: Int32, state: TopicState,
        into slot: inout Row?, parsed: inout Bool, problem: inout AvroStop?
    ) throws(AvroStop) {
        let start = r.pos
        let plan = plans.rowPlan(record: record, role: state.role, modelTable: state.modelTable, decoder: self)
        slot = DebeziumDecoder.blankAvroRow
        do throws(AvroStop) {
            try avroRow(
                &r, plan, plans.schema, role: state.role, modelTable: state.modelTable, state: state, into: &slot!)
            parsed = true
        } catch {
            if error.structural { throw error }
            problem = error
            slot = nil
            r.pos = start
            try r.skip(record, plans.schema)
        }
    }

    /// `transaction{id,total_order,data_collection_order}` (null for snapshot rows): the id's key, as the
    /// JSON path reads it (not `source.txId`, which snapshot rows carry too).
    private func readTransaction(_ r: inout AvroReader, _ schema: AvroSchema, _ node: Int32, env: inout AvroEnvelope)
        throws(AvroStop)
    {
        let flat = UnsafePointer(schema.flat)
        let links = UnsafePointer(schema.links)
        var n = node
        let at = r.pos
        if flat[Int(n)].kind == .union { n = try r.branch(flat[Int(n)], links) }
        if flat[Int(n)].kind == .null { return }
        guard flat[Int(n)].kind == .record else {
            throw AvroReader.stop("transaction is a \(schema.describe(n)), not a record", at: at)
        }
        for field in schema.nodes[Int(n)].fields {
            guard field.name == "id" else {
                try r.skipField(field.type, flat, links)
                continue
            }
            let idAt = r.pos
            switch try r.token(field.type, schema.flat, schema.links) {
            case .null: break
            case .string(let start, let count): env.transactionKey = TransactionKey.of(r.raw(start, count))
            default: throw DebeziumDecoder.valueStop("transaction.id is not a string", at: idAt)
            }
        }
    }

    /// `source`'s fields by its compiled steps (`AvroSourceStep`): the three the engine uses read, the
    /// rest skipped by kind in this loop, with no call per field.
    private func readSource(_ r: inout AvroReader, _ plans: AvroSchemaPlans, _ node: Int32, env: inout AvroEnvelope)
        throws(AvroStop)
    {
        let schema = plans.schema
        let flat = UnsafePointer(schema.flat)
        let links = UnsafePointer(schema.links)
        var n = node
        let at = r.pos
        if flat[Int(n)].kind == .union { n = try r.branch(flat[Int(n)], links) }
        if flat[Int(n)].kind == .null { return }
        guard n == plans.envelope.sourceRecord else {
            throw AvroReader.stop("source is a \(schema.describe(n)), not a record", at: at)
        }
        for step in plans.envelope.sourceSteps {
            switch step.action {
            case .skipString: r.pos &+= try r.length()
            case .skipLong: try r.skipLong()
            case .skipOptionalString:
                if try r.isPresent(nullBranch: step.nullBranch, step.node, flat, links) { r.pos &+= try r.length() }
            case .skipOptionalLong:
                if try r.isPresent(nullBranch: step.nullBranch, step.node, flat, links) { try r.skipLong() }
            case .skipOther: try r.skipField(step.node, flat, links)
            case .readTsMsLong:
                let at = r.pos
                let v = try r.long()
                guard DebeziumDecoder.validCommitTimeMs.contains(v) else {
                    throw DebeziumDecoder.valueStop(
                        "source.ts_ms \(v) is not a time in years 1970…9999 (0…253402300799999 ms)", at: at)
                }
                env.sourceTsMs = v
            case .readTsMs: try readTime(&r, step.node, schema, "source.ts_ms", into: &env.sourceTsMs)
            case .readTableString:
                let at = r.pos
                let count = try r.length()
                try DebeziumDecoder.checkSourceTable(count, at: at)
                env.table = (r.pos, count)
                r.pos &+= count
            case .readTable:
                let at = r.pos
                switch try r.token(step.node, flat, links) {
                case .null: break
                case .string(let start, let count):
                    try DebeziumDecoder.checkSourceTable(count, at: at)
                    env.table = (start, count)
                default: throw DebeziumDecoder.valueStop("source.table is not a string", at: at)
                }
            case .readSnapshot:
                let at = r.pos
                switch try r.token(step.node, flat, links) {
                case .null: break
                case .bool(let b):
                    env.snapshot = env.snapshot || b
                    if b { env.snapshotMarker = .inProgress }
                case .string(let start, let count):
                    env.snapshot = !r.equals(start, count, "false")
                    if env.snapshot { env.snapshotMarker = DebeziumDecoder.snapshotMarker(r.raw(start, count)) }
                case .symbol(let node, let i):
                    var symbol = schema.nodes[Int(node)].symbols[i]
                    env.snapshot = symbol != "false"
                    if env.snapshot {
                        env.snapshotMarker = symbol.withUTF8 {
                            DebeziumDecoder.snapshotMarker(UnsafeRawBufferPointer($0))
                        }
                    }
                default: throw DebeziumDecoder.valueStop("source.snapshot is not a string or a boolean", at: at)
                }
            }
        }
    }

    @inline(__always)
    private static func checkSourceTable(_ count: Int, at: Int) throws(AvroStop) {
        guard count <= DebeziumDecoder.maxTableNameBytes else {
            throw DebeziumDecoder.valueStop(
                "source.table is \(count) bytes long (at most \(DebeziumDecoder.maxTableNameBytes))", at: at)
        }
    }

    /// A commit time: an integer in `validCommitTimeMs`, or null (the JSON path's `readTime`).
    @inline(__always)
    private func readTime(
        _ r: inout AvroReader, _ node: Int32, _ schema: AvroSchema, _ name: StaticString, into out: inout Int64?
    ) throws(AvroStop) {
        let at = r.pos
        switch try r.token(node, schema.flat, schema.links) {
        case .null: return
        case .long(let v):
            guard DebeziumDecoder.validCommitTimeMs.contains(v) else {
                throw DebeziumDecoder.valueStop(
                    "\(name) \(v) is not a time in years 1970…9999 (0…253402300799999 ms)", at: at)
            }
            out = v
        case .float(let f): try timeFromText(AvroText.java(f), finite: f.isFinite, name, at: at, into: &out)
        case .double(let d): try timeFromText(AvroText.java(d), finite: d.isFinite, name, at: at, into: &out)
        default: throw DebeziumDecoder.valueStop("\(name) is not a number", at: at)
        }
    }

    @inline(never)
    private func timeFromText(_ text: String, finite: Bool, _ name: StaticString, at: Int, into out: inout Int64?)
        throws(AvroStop)
    {
        guard finite else { throw DebeziumDecoder.valueStop("\(name) is not a number", at: at) }
        var t = text
        let v = t.withUTF8 { DebeziumDecoder.int64(UnsafeRawBufferPointer($0)) }
        guard let v else {
            throw DebeziumDecoder.valueStop(
                "\(name) \(text) is not a whole number of milliseconds within Int64", at: at)
        }
        guard DebeziumDecoder.validCommitTimeMs.contains(v) else {
            throw DebeziumDecoder.valueStop(
                "\(name) \(v) is not a time in years 1970…9999 (0…253402300799999 ms)", at: at)
        }
        out = v
    }

    // MARK: outcome

    /// After the walk: the JSON path's decisions, in its order (schema change; table routing;
    /// envelope: op, time, rows, missing columns; or an unwrapped row).
    private func finish(
        _ r: inout AvroReader, _ plans: AvroSchemaPlans, state: TopicState, schemaID: Int32, env: inout AvroEnvelope,
        kafkaTimestampMs: Int64, event: inout ChangeEvent
    ) -> NonEventOutcome? {
        let schema = plans.schema
        if plans.envelope.isSchemaChange {
            return avroSchemaChange(
                state, schemaID, schema, r, timeMs: env.sourceTsMs ?? env.envelopeTsMs ?? kafkaTimestampMs,
                snapshot: env.snapshot)
        }

        var table = state.table
        var role = state.role
        var modelTable = state.modelTable
        if !state.pinned, let t = env.table ?? env.unwrappedTable, !r.equals(t.start, t.count, state.tableBytes) {
            if let routed = state.routedTable, r.equals(t.start, t.count, routed.bytes) {
                (table, role, modelTable) = (routed.name, routed.role, routed.modelTable)
            } else {
                let (name, bad) = r.string(t.start, t.count)
                guard let name else {
                    return avroMalformed(state.table, "the table name is not valid UTF-8", schemaID, at: bad)
                }
                table = name
                role = profile.role(ofTable: table)
                modelTable = profile.model?.tableIndex(named: table).map { Int32($0) } ?? -1
                state.routedTable = (Array(r.raw(t.start, t.count)), table, role, modelTable)
            }
        }

        if env.op != 0 || env.hasSource || env.sawBeforeOrAfter {
            guard env.op != 0 else { return avroMalformed(table, "envelope without op", schemaID, at: 0) }
            guard let op = ChangeOp(code: env.op) else {
                return avroMalformed(table, "unknown op '\(Character(Unicode.Scalar(env.op)))'", schemaID, at: 0)
            }
            guard let ts = env.sourceTsMs ?? env.envelopeTsMs else {
                return avroMalformed(table, "no source.ts_ms", schemaID, at: 0)
            }
            let parsedAhead = role == state.role && modelTable == state.modelTable
            if let at = env.beforeAt {
                if parsedAhead {
                    if let p = env.beforeProblem { return avroMalformed(table, p.reason, schemaID, at: p.at) }
                } else if let p = reparse(
                    &r, plans, at: at, record: env.imageRecord.before, role: role, modelTable: modelTable, state: state,
                    into: &event.before)
                {
                    return avroMalformed(table, p.reason, schemaID, at: p.at)
                }
            }
            if let at = env.afterAt {
                if parsedAhead {
                    if let p = env.afterProblem { return avroMalformed(table, p.reason, schemaID, at: p.at) }
                } else if let p = reparse(
                    &r, plans, at: at, record: env.imageRecord.after, role: role, modelTable: modelTable, state: state,
                    into: &event.after)
                {
                    return avroMalformed(table, p.reason, schemaID, at: p.at)
                }
                if role == .model, let slot = event.after!.cells.firstIndex(of: .missing) {
                    return withSchemaID(
                        missingModelColumn(table, modelTable: modelTable, slot: slot, state: state, at: at), schemaID)
                }
                if let column = missingColumn(event.after!, role: role) {
                    return withSchemaID(droppedColumn(table, column, at: at), schemaID)
                }
            }
            if let missing = DebeziumDecoder.missingImage(
                op, hasBefore: env.beforeAt != nil, hasAfter: env.afterAt != nil)
            {
                return avroMalformed(table, missing, schemaID, at: 0)
            }
            DebeziumDecoder.fillEnvelope(
                &event, table: table, role: role, modelTable: modelTable, op: op, commitTimeMs: ts,
                snapshot: env.snapshot, snapshotMarker: env.snapshotMarker, sourceTsMs: env.sourceTsMs,
                envelopeTsMs: env.envelopeTsMs, transactionKey: env.transactionKey)
            return nil
        }

        // Unwrapped record: the root record is the row itself.
        let ts = env.unwrappedTsMs ?? kafkaTimestampMs
        guard DebeziumDecoder.validCommitTimeMs.contains(ts) else {
            return avroMalformed(
                table, "no __source_ts_ms, and the Kafka timestamp \(ts) is not a time in years 1970…9999", schemaID,
                at: 0)
        }
        var row: Row? = Row()
        if let p = reparse(
            &r, plans, at: 0, record: schema.root, role: role, modelTable: modelTable, state: state, into: &row)
        {
            return avroMalformed(table, p.reason, schemaID, at: p.at)
        }
        var op: ChangeOp
        if env.unwrappedOp != 0 {
            guard let o = ChangeOp(code: env.unwrappedOp) else {
                return avroMalformed(
                    table, "unknown __op '\(Character(Unicode.Scalar(env.unwrappedOp)))'", schemaID, at: 0)
            }
            op = o
        } else if role == .other {
            return NonEventOutcome(.ignored(table: table, reason: "record without op"))
        } else {
            op = .update
        }
        if env.deleted { op = .delete }
        if op != .delete, role == .model, let slot = row!.cells.firstIndex(of: .missing) {
            return withSchemaID(
                missingModelColumn(table, modelTable: modelTable, slot: slot, state: state, at: 0), schemaID)
        }
        if op != .delete, let column = missingColumn(row!, role: role) {
            return withSchemaID(droppedColumn(table, column, at: 0), schemaID)
        }
        DebeziumDecoder.fillUnwrapped(
            &event, table: table, role: role, modelTable: modelTable, op: op, commitTimeMs: ts, row: row!)
        return nil
    }

    /// What each row image starts from: copying it costs less than calling Row's initializer (another
    /// module's, not inlined) per image.
    static let blankAvroRow = Row()

    /// Parses a row image again, at `at`, for the table the message names; the problem, if any.
    private func reparse(
        _ r: inout AvroReader, _ plans: AvroSchemaPlans, at: Int, record: Int32, role: TableRole, modelTable: Int32,
        state: TopicState, into slot: inout Row?
    ) -> AvroStop? {
        let plan = plans.rowPlan(record: record, role: role, modelTable: modelTable, decoder: self)
        var row = Row()
        r.pos = at
        do throws(AvroStop) {
            try avroRow(&r, plan, plans.schema, role: role, modelTable: modelTable, state: state, into: &row)
        } catch {
            return error
        }
        slot = row
        return nil
    }

    // MARK: rows

    /// Fills the profile's columns of one row image (`r` at its record) and moves past it.
    @inline(__always)
    func avroRow(
        _ r: inout AvroReader, _ plan: AvroRowPlan, _ schema: AvroSchema, role: TableRole, modelTable: Int32,
        state: TopicState, into row: inout Row
    ) throws(AvroStop) {
        let start = r.pos
        if role == .model {
            guard modelTable >= 0 && Int(modelTable) < modelColumnNames.count else {
                throw DebeziumDecoder.valueStop("table is not in the model", at: start)
            }
            row.cells = Array(repeating: .missing, count: plan.cellCount)
        }
        let own = modelTable == state.modelTable
        let flat = UnsafePointer(schema.flat)
        let links = UnsafePointer(schema.links)
        // The field's name is read only when a reason is written (`@autoclosure`), so a good row reads no String.
        for (f, c) in plan.columns.enumerated() {
            guard let column = c.column else {
                try r.skipField(c.node, flat, links)
                continue
            }
            let at = r.pos
            let token = try r.token(c.node, flat, links)
            switch column {
            case .key: row.key = try avroKey(token, r, schema, plan.names[f], at: at)
            case .amount: row.amount = try avroMoney(token, r, schema, plan.names[f], at: at)
            case .unitPrice: row.unitPrice = try avroMoney(token, r, schema, plan.names[f], at: at)
            case .quantity: row.quantity = try avroInt(token, r, schema, plan.names[f], at: at)
            case .reference:
                if case .null = token {
                    row.reference = .null
                } else {
                    row.reference = .value(try avroKey(token, r, schema, plan.names[f], at: at))
                }
            case .category: row.category = try avroCategory(token, r, schema, plan.names[f], at: at)
            case .cell(let i):
                DebeziumDecoder.setCell(&row, i, try avroCell(token, r, schema, plan.names[f], at: at))
                if own && i < state.seenColumns.count && !state.seenColumns[i] { state.seenColumns[i] = true }
            }
        }
        if role != .other && role != .model && row.key == nil {
            throw DebeziumDecoder.valueStop(rowError(role), at: start)
        }
    }

    /// A model row's cell, written out of line: written in `avroRow`'s loop, the compiler made the row's
    /// (empty, shared) cell array unique before the loop, an allocation for every row image of every table.
    @inline(never)
    private static func setCell(_ row: inout Row, _ i: Int, _ cell: Cell) { row.cells[i] = cell }

    // MARK: values (each as the JSON path reads the value JsonConverter writes)

    private static let unavailableMarker: StaticString = "__debezium_unavailable_value"
    private static let unavailableBase64: StaticString = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="

    /// A token's JSON string text, for tokens JsonConverter writes as strings (bytes as base64, enum
    /// symbols, non-finite floats); nil for the others.
    private func stringText(_ token: AvroToken, _ r: AvroReader, _ schema: AvroSchema) -> [UInt8]? {
        switch token {
        case .string(let start, let count): return Array(r.raw(start, count))
        case .bytes(let start, let count, _): return Array(AvroText.base64(r.raw(start, count)).utf8)
        case .symbol(let node, let i): return Array(schema.nodes[Int(node)].symbols[i].utf8)
        case .float(let f) where !f.isFinite: return Array(AvroText.java(f).utf8)
        case .double(let d) where !d.isFinite: return Array(AvroText.java(d).utf8)
        default: return nil
        }
    }

    /// A string's value as a Swift String, checked as UTF-8.
    private func text(_ token: AvroToken, _ r: AvroReader, _ schema: AvroSchema, _ name: @autoclosure () -> String)
        throws(AvroStop) -> String?
    {
        switch token {
        case .string(let start, let count):
            let (s, bad) = r.string(start, count)
            guard let s else { throw DebeziumDecoder.valueStop("\(name()) is not valid UTF-8", at: bad) }
            return s
        case .bytes(let start, let count, _): return AvroText.base64(r.raw(start, count))
        case .symbol(let node, let i): return schema.nodes[Int(node)].symbols[i]
        case .float(let f) where !f.isFinite: return AvroText.java(f)
        case .double(let d) where !d.isFinite: return AvroText.java(d)
        default: return nil
        }
    }

    /// A primary key or reference: a string, or an integer within Int64 (`readKey`).
    private func avroKey(
        _ token: AvroToken, _ r: AvroReader, _ schema: AvroSchema, _ name: @autoclosure () -> String, at: Int
    ) throws(AvroStop) -> RowKey {
        switch token {
        case .long(let v): return .int(v)
        case .float(let f) where f.isFinite: return try integerKey(AvroText.java(f), name(), at: at)
        case .double(let d) where d.isFinite: return try integerKey(AvroText.java(d), name(), at: at)
        default:
            guard let s = try text(token, r, schema, name()) else {
                throw DebeziumDecoder.valueStop("\(name()) is neither a number nor a string", at: at)
            }
            return .text(s)
        }
    }

    @inline(never)
    private func integerKey(_ text: String, _ name: @autoclosure () -> String, at: Int) throws(AvroStop) -> RowKey {
        var t = text
        let v = t.withUTF8 { DebeziumDecoder.int64(UnsafeRawBufferPointer($0)) }
        guard let v else { throw DebeziumDecoder.valueStop("\(name()) \(text) is not an integer within Int64", at: at) }
        return .int(v)
    }

    /// A quantity: any Int64 (`readInt`).
    private func avroInt(
        _ token: AvroToken, _ r: AvroReader, _ schema: AvroSchema, _ name: @autoclosure () -> String, at: Int
    ) throws(AvroStop) -> FieldState<Int64> {
        switch token {
        case .null: return .null
        case .long(let v): return .value(v)
        case .float(let f) where f.isFinite: return .value(try integerNumber(AvroText.java(f), name(), at: at))
        case .double(let d) where d.isFinite: return .value(try integerNumber(AvroText.java(d), name(), at: at))
        default:
            guard let bytes = stringText(token, r, schema) else {
                throw DebeziumDecoder.valueStop("\(name()) is not a number", at: at)
            }
            return try bytes.withUnsafeBytes { raw -> Result<FieldState<Int64>, AvroStop> in
                if let v = DebeziumDecoder.int64(raw) { return .success(.value(v)) }
                if DebeziumDecoder.equals(raw, DebeziumDecoder.unavailableMarker) { return .success(.unavailable) }
                return .failure(
                    DebeziumDecoder.valueStop(
                        "\(name()) \(DebeziumDecoder.excerpt(raw)) is not an integer within Int64", at: at))
            }.get()
        }
    }

    @inline(never)
    private func integerNumber(_ text: String, _ name: @autoclosure () -> String, at: Int) throws(AvroStop) -> Int64 {
        var t = text
        let v = t.withUTF8 { DebeziumDecoder.int64(UnsafeRawBufferPointer($0)) }
        guard let v else { throw DebeziumDecoder.valueStop("\(name()) \(text) is not an integer within Int64", at: at) }
        return v
    }

    static func equals(_ raw: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        raw.count == literal.utf8CodeUnitCount
            && (raw.count == 0 || memcmp(raw.baseAddress!, literal.utf8Start, raw.count) == 0)
    }

    /// Big-endian two's complement, 1…16 bytes, as `DecimalCodec.unscaledFromBase64` decodes it.
    static func unscaled(_ raw: UnsafeRawBufferPointer) -> Int128? {
        guard raw.count >= 1 && raw.count <= 16 else { return nil }
        var value = Int128(Int8(bitPattern: raw[0]))
        for i in 1..<raw.count { value = value << 8 | Int128(raw[i]) }
        return value
    }

    /// A decimal (`readMoney`): the schema's Decimal bytes, decimal text or base64 in a string,
    /// an integer, a float's Java text, or a VariableScaleDecimal; within `Money.maxMagnitude`.
    private func avroMoney(
        _ token: AvroToken, _ r: AvroReader, _ schema: AvroSchema, _ name: @autoclosure () -> String, at: Int
    ) throws(AvroStop) -> FieldState<Money> {
        let money: Money
        switch token {
        case .null: return .null
        case .long(let v): money = Money(unscaled: Int128(v), scale: 0)!
        case .bytes(let start, let count, let scale?):
            let raw = r.raw(start, count)
            if DebeziumDecoder.equals(raw, DebeziumDecoder.unavailableMarker) { return .unavailable }
            guard let unscaled = DebeziumDecoder.unscaled(raw) else {
                throw DebeziumDecoder.valueStop(
                    "\(name()) \(JSONText.quoted(AvroText.base64(raw))) is not valid base64 of at most 16 bytes (the schema says Decimal)",
                    at: at)
            }
            guard let m = Money(unscaled: unscaled, scale: scale) else {
                throw DebeziumDecoder.valueStop(
                    "\(name()) \(DecimalCodec.describe(unscaled: unscaled, scale: scale)) \(DecimalCodec.whyNotMoney(unscaled: unscaled, scale: scale))",
                    at: at)
            }
            money = m
        case .variableScaleDecimal(let sc, let start, let count):
            let raw = r.raw(start, count)
            guard let unscaled = DebeziumDecoder.unscaled(raw) else {
                throw DebeziumDecoder.valueStop(
                    "\(name()) value \(JSONText.quoted(AvroText.base64(raw))) is not valid base64 of at most 16 bytes",
                    at: at)
            }
            guard sc >= 0 && sc <= 1000, let m = Money(unscaled: unscaled, scale: Int(sc)) else {
                let why =
                    sc < 0 || sc > 1000
                    ? "has an unsupported scale" : DecimalCodec.whyNotMoney(unscaled: unscaled, scale: Int(sc))
                throw DebeziumDecoder.valueStop(
                    "\(name()) \(DecimalCodec.describe(unscaled: unscaled, scale: Int(clamping: sc))) \(why)", at: at)
            }
            money = m
        case .float(let f) where f.isFinite: money = try moneyNumber(AvroText.java(f), name(), at: at)
        case .double(let d) where d.isFinite: money = try moneyNumber(AvroText.java(d), name(), at: at)
        case .bool: throw DebeziumDecoder.valueStop("\(name()) is not a number", at: at)
        case .complex(let node, _, _):
            if schema.nodes[Int(node)].kind == .array {
                throw DebeziumDecoder.valueStop("\(name()) is not a number", at: at)
            }
            throw DebeziumDecoder.valueStop(
                "\(name()) is not a VariableScaleDecimal {\"scale\": integer, \"value\": base64}", at: at)
        default:
            let bytes = stringText(token, r, schema) ?? []
            let result = bytes.withUnsafeBytes { raw -> Result<Money?, AvroStop> in
                do throws(AvroStop) { return .success(try moneyFromString(raw, name(), at: at)) } catch {
                    return .failure(error)
                }
            }
            guard let m = try result.get() else { return .unavailable }
            money = m
        }
        guard money.isInRange else {
            throw DebeziumDecoder.valueStop("\(name()) \(money.formatted()) \(DecimalCodec.outOfRange)", at: at)
        }
        return .value(money)
    }

    /// A string column read as money with the profile's scale (no schema says Decimal); nil for the
    /// unavailable marker.
    private func moneyFromString(_ raw: UnsafeRawBufferPointer, _ name: @autoclosure () -> String, at: Int)
        throws(AvroStop) -> Money?
    {
        if DebeziumDecoder.equals(raw, DebeziumDecoder.unavailableMarker)
            || DebeziumDecoder.equals(raw, DebeziumDecoder.unavailableBase64)
        {
            return nil
        }
        if DecimalCodec.looksLikeDecimalText(raw) {
            guard let m = Money.parse(raw) else {
                throw DebeziumDecoder.valueStop(
                    "\(name()) \(DebeziumDecoder.excerpt(raw)) \(DecimalCodec.whyNotMoney(raw))", at: at)
            }
            return m
        }
        if DecimalCodec.isSpecialNumberName(raw) {
            throw DebeziumDecoder.valueStop(
                "\(name()) \(DebeziumDecoder.excerpt(raw)) is not a number with an exact value", at: at)
        }
        let scale = profile.defaultDecimalScale
        guard let unscaled = DecimalCodec.unscaledFromBase64(raw) else {
            throw DebeziumDecoder.valueStop(
                "\(name()) \(DebeziumDecoder.excerpt(raw)) is neither decimal text nor valid base64", at: at)
        }
        guard let m = Money(unscaled: unscaled, scale: scale) else {
            throw DebeziumDecoder.valueStop(
                "\(name()) \(DecimalCodec.describe(unscaled: unscaled, scale: scale)) \(DecimalCodec.whyNotMoney(unscaled: unscaled, scale: scale))",
                at: at)
        }
        return m
    }

    @inline(never)
    private func moneyNumber(_ text: String, _ name: @autoclosure () -> String, at: Int) throws(AvroStop) -> Money {
        var t = text
        return try t.withUTF8 { p -> Result<Money, AvroStop> in
            let raw = UnsafeRawBufferPointer(p)
            guard let m = Money.parse(raw) else {
                return .failure(
                    DebeziumDecoder.valueStop(
                        "\(name()) \(DebeziumDecoder.excerpt(raw)) \(DecimalCodec.whyNotMoney(raw))", at: at))
            }
            return .success(m)
        }.get()
    }

    /// A dimension's category: a string (or null, or the unavailable marker).
    private func avroCategory(
        _ token: AvroToken, _ r: AvroReader, _ schema: AvroSchema, _ name: @autoclosure () -> String, at: Int
    ) throws(AvroStop) -> FieldState<String> {
        if case .null = token { return .null }
        guard let s = try text(token, r, schema, name()) else {
            throw DebeziumDecoder.valueStop("\(name()) is not a string", at: at)
        }
        return s == "__debezium_unavailable_value" ? .unavailable : .value(s)
    }

    /// A model column (`readCell`).
    private func avroCell(
        _ token: AvroToken, _ r: AvroReader, _ schema: AvroSchema, _ name: @autoclosure () -> String, at: Int
    ) throws(AvroStop) -> Cell {
        switch token {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .long(let v): return .int(v)
        case .string(let start, let count):
            let raw = r.raw(start, count)
            if DebeziumDecoder.equals(raw, DebeziumDecoder.unavailableMarker)
                || DebeziumDecoder.equals(raw, DebeziumDecoder.unavailableBase64)
            {
                return .unavailable
            }
            let (s, bad) = r.string(start, count)
            guard let s else { throw DebeziumDecoder.valueStop("\(name()) is not valid UTF-8", at: bad) }
            return .text(s)
        case .bytes(let start, let count, let scale?):
            let raw = r.raw(start, count)
            if DebeziumDecoder.equals(raw, DebeziumDecoder.unavailableMarker) { return .unavailable }
            guard let unscaled = DebeziumDecoder.unscaled(raw), let d = ExactDecimal(units: unscaled, scale: scale)
            else {
                throw DebeziumDecoder.valueStop(
                    "\(name()) \(JSONText.quoted(AvroText.base64(raw))) is not valid base64 of at most 16 bytes (the schema says Decimal)",
                    at: at)
            }
            return .decimal(d)
        case .bytes(let start, let count, nil):
            let raw = r.raw(start, count)
            if DebeziumDecoder.equals(raw, DebeziumDecoder.unavailableMarker) { return .unavailable }
            return .text(AvroText.base64(raw))
        case .symbol(let node, let i):
            let s = schema.nodes[Int(node)].symbols[i]
            return s == "__debezium_unavailable_value" ? .unavailable : .text(s)
        case .variableScaleDecimal(let sc, let start, let count):
            guard let unscaled = DebeziumDecoder.unscaled(r.raw(start, count)), sc >= 0,
                sc <= Int64(ExactDecimal.maxScale),
                let d = ExactDecimal(units: unscaled, scale: Int(sc))
            else {
                throw DebeziumDecoder.valueStop(
                    "\(name()) is a VariableScaleDecimal cdctop cannot hold exactly (scale \(sc))", at: at)
            }
            return .decimal(d)
        case .float(let f): return try floatCell(AvroText.java(f), finite: f.isFinite, name(), at: at)
        case .double(let d):
            // Whole numbers within 2^53 need no text: `12.0` parses to the integer's ExactDecimal.
            if d == d.rounded(), abs(d) < 9_007_199_254_740_992, d != 0 || d.sign == .plus {
                return .decimal(ExactDecimal(Int64(d)))
            }
            return try floatCell(AvroText.java(d), finite: d.isFinite, name(), at: at)
        case .complex(let node, let start, _):
            var sub = r
            sub.pos = start
            guard let v = try? AvroText.value(&sub, node, schema) else {
                throw AvroReader.stop("\(name()) cannot be decoded", at: at)
            }
            var out = ""
            AvroText.json(v, into: &out)
            return .text(out)
        }
    }

    @inline(never)
    private func floatCell(_ text: String, finite: Bool, _ name: @autoclosure () -> String, at: Int) throws(AvroStop)
        -> Cell
    {
        guard finite else { return .text(text) }  // Jackson writes "NaN", "Infinity" as strings
        var t = text
        return try t.withUTF8 { p -> Result<Cell, AvroStop> in
            let raw = UnsafeRawBufferPointer(p)
            if let v = DebeziumDecoder.int64(raw) { return .success(.int(v)) }
            guard let d = ExactDecimal.parse(raw) else {
                return .failure(
                    DebeziumDecoder.valueStop(
                        "\(name()) \(DebeziumDecoder.excerpt(raw)) is not a number cdctop can hold exactly (at most 38 digits and 38 places)",
                        at: at))
            }
            return .success(.decimal(d))
        }.get()
    }

    // MARK: cold paths

    @inline(never)
    func avroMalformed(_ table: String, _ reason: String, _ schemaID: Int32, at position: Int) -> NonEventOutcome {
        NonEventOutcome(.malformed(table: table, reason: "\(reason) (schema id \(schemaID), at byte \(position))"))
    }

    /// A JSON-path malformed outcome (`… (at byte N)`) with the schema id put in.
    @inline(never)
    func withSchemaID(_ outcome: NonEventOutcome, _ schemaID: Int32) -> NonEventOutcome {
        guard case .malformed(let table, let reason) = outcome.outcome,
            let r = reason.range(of: " (at byte ", options: .backwards)
        else { return outcome }
        return NonEventOutcome(
            .malformed(
                table: table,
                reason: reason[..<r.lowerBound] + " (schema id \(schemaID), at byte " + reason[r.upperBound...]))
    }

    /// The whole value as JSON (cold path); a malformed outcome when it does not decode or has trailing bytes.
    private func avroWhole(
        _ state: TopicState, _ schemaID: Int32, _ schema: AvroSchema, _ payload: UnsafeRawBufferPointer,
        what: String
    ) -> Result<JSONValue, NonEventOutcomeBox> {
        var r = AvroReader(payload)
        do throws(AvroStop) {
            let v = try AvroText.value(&r, schema.root, schema)
            guard r.pos == r.count else {
                return .failure(
                    NonEventOutcomeBox(
                        outcome: avroMalformed(
                            state.table, "\(r.count - r.pos) trailing bytes after the \(what)", schemaID, at: r.pos)))
            }
            return .success(v)
        } catch {
            return .failure(
                NonEventOutcomeBox(
                    outcome: avroMalformed(state.table, "\(error.reason) in \(what)", schemaID, at: error.at)))
        }
    }

    /// A BEGIN/END of the transaction topic written by the Avro converter (a root record with
    /// `status` and `id`): read whole, as the JSON path reads it. nil for anything else.
    @inline(never)
    private func avroTransactionMetadata(_ state: TopicState, _ schema: AvroSchema, _ payload: UnsafeRawBufferPointer)
        -> NonEventOutcome?
    {
        let root = schema.nodes[Int(schema.root)]
        guard root.kind == .record, root.fields.contains(where: { $0.name == "status" }),
            root.fields.contains(where: { $0.name == "id" })
        else {
            if !state.isTransactionTopic { state.checkTransactionTopic = false }
            return nil
        }
        return transactionMetadata(try? AvroJSONRendering.value(schema: schema, payload: payload), state: state)
    }

    @inline(never)
    private func avroHeartbeat(
        _ state: TopicState, _ schemaID: Int32, _ schema: AvroSchema, _ payload: UnsafeRawBufferPointer
    ) -> NonEventOutcome {
        let json: JSONValue
        switch avroWhole(state, schemaID, schema, payload, what: "heartbeat") {
        case .success(let v): json = v
        case .failure(let box): return box.outcome
        }
        let body = json["payload"] ?? json
        guard let tsValue = body["ts_ms"], !tsValue.isNull else {
            return NonEventOutcome(.ignored(table: state.table, reason: "heartbeat without ts_ms"))
        }
        guard let ts = tsValue.int64Value, DebeziumDecoder.validCommitTimeMs.contains(ts) else {
            return avroMalformed(
                state.table, "heartbeat ts_ms \(tsValue) is not a time in years 1970…9999 (0…253402300799999 ms)",
                schemaID, at: 0)
        }
        return NonEventOutcome(.heartbeat(timestampMs: ts))
    }

    @inline(never)
    private func avroSchemaChange(
        _ state: TopicState, _ schemaID: Int32, _ schema: AvroSchema, _ r: AvroReader, timeMs: Int64, snapshot: Bool
    ) -> NonEventOutcome {
        let payload: JSONValue
        switch avroWhole(
            state, schemaID, schema, UnsafeRawBufferPointer(start: r.base, count: r.count), what: "schema change")
        {
        case .success(let v): payload = v
        case .failure(let box): return box.outcome
        }
        guard let change = DebeziumDecoder.schemaChange(payload: payload, timeMs: timeMs, snapshot: snapshot) else {
            return avroMalformed(state.table, "schema change whose ddl is not a string", schemaID, at: 0)
        }
        return NonEventOutcome(.schemaChange(change))
    }
}

/// A malformed outcome carried through a `Result`.
struct NonEventOutcomeBox: Error { let outcome: NonEventOutcome }

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
