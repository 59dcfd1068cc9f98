import Metrics

#if canImport(Glibc)
    import Glibc
#endif

/// The envelope scan: one pass over a payload object that records where its members are (row images,
/// op, commit times, `source`, `transaction`, schema-change keys, the unwrapped form's markers), and
/// the `schema` block of the `{"schema":…,"payload":…}` wrapper, recognised by one memcmp when the
/// topic repeats it.
extension DebeziumDecoder {
    /// What a payload object says, as ranges of its bytes and a few scalars: one scan, no allocation.
    struct Envelope {
        var before: Range<Int>? = nil
        var after: Range<Int>? = nil
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

    /// Reads the payload object's members into `env`: the row images' ranges (and, parsed ahead as rows of
    /// the topic's own table, into `rows.before`/`rows.after`), op, commit times, `source`, `transaction`,
    /// the schema-change keys and the unwrapped form's `__` markers. False on invalid JSON or a value a
    /// check refused (with the problem recorded).
    @inline(__always)
    func scanEnvelope(
        _ scanner: inout JSONScanner, state: TopicState, into env: inout Envelope, rows: inout ChangeEvent
    ) -> Bool {
        scanner.forEachMember { s, key in
            let n = key.count
            guard n > 0 else { return s.skipValue() }
            let first = s.byte(at: key.lowerBound)
            switch first {
            case UInt8(ascii: "b") where s.equals(key, "before"):
                env.sawBeforeOrAfter = true
                if s.consumeLiteral("null") { return true }
                s.skipWhitespace()
                let a = s.index
                env.beforeParsed = self.parseRowAhead(&s, state: state, into: &rows.before)
                guard env.beforeParsed || s.skipValue() else { return false }
                env.before = a..<s.index
                return true
            case UInt8(ascii: "a") where s.equals(key, "after"):
                env.sawBeforeOrAfter = true
                if s.consumeLiteral("null") { return true }
                s.skipWhitespace()
                let a = s.index
                env.afterParsed = self.parseRowAhead(&s, state: state, into: &rows.after)
                guard env.afterParsed || s.skipValue() else { return false }
                env.after = a..<s.index
                return true
            case UInt8(ascii: "s") where s.equals(key, "source"):
                env.hasSource = true
                if s.consumeLiteral("null") { return true }
                return self.scanSource(&s, into: &env)
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
                if s.consumeLiteral("null") { return true }
                return self.scanTransaction(&s, into: &env)
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
                return self.scanUnwrappedMarker(&s, key: key, into: &env)
            default:
                return s.skipValue()
            }
        }
    }

    /// `source`: `ts_ms`, `table` (routing) and `snapshot`; anything else is skipped.
    @inline(__always)
    private func scanSource(_ s: inout JSONScanner, into env: inout Envelope) -> Bool {
        s.forEachMember { src, k in
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
    }

    /// `transaction` (read with `--transactions complete` only):
    /// `{"id":"571:34567","total_order":1,"data_collection_order":1}`; null for snapshot rows.
    @inline(__always)
    private func scanTransaction(_ s: inout JSONScanner, into env: inout Envelope) -> Bool {
        s.forEachMember { tx, k in
            guard tx.equals(k, "id") else { return tx.skipValue() }
            if tx.consumeLiteral("null") { return true }
            tx.skipWhitespace()
            let at = tx.index
            guard let id = tx.readString() else { return self.fail("transaction.id is not a string", at: at) }
            env.transactionKey = TransactionKey.of(tx.raw(id.range))
            return true
        }
    }

    /// The unwrapped (ExtractNewRecordState) form's markers: `__op`, `__deleted`, `__table`,
    /// `__source_ts_ms`. Any other `__` member is skipped.
    @inline(__always)
    private func scanUnwrappedMarker(_ s: inout JSONScanner, key: Range<Int>, into env: inout Envelope) -> Bool {
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

    /// Decimal scales of the profile's money columns, from the schema or the profile's default.
    struct ColumnScales {
        var amount: Int
        var unitPrice: Int
        /// The schema says the column is a Kafka Connect Decimal: its strings are base64, whatever they look like.
        var amountIsBinary = false
        var unitPriceIsBinary = false
    }

    /// The schema block: a memcmp against the cached bytes in the common case.
    func consumeSchema(_ s: inout JSONScanner, state: TopicState) -> Bool {
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
        var columns = ColumnScales(amount: profile.defaultDecimalScale, unitPrice: profile.defaultDecimalScale)
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
}
