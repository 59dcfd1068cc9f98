import Metrics

/// Rows of a model profile's tables: every column some KPI reads, as a `Cell`, and the row's key
/// from the Kafka record key (Debezium's full primary key, composite included).
extension DebeziumDecoder {
    /// Fills `row.cells` (slot order of the model table) from one row image; false (with the
    /// problem recorded) when a present column has a value cdctop cannot hold exactly.
    func parseModelRow(
        _ outer: inout JSONScanner, _ range: Range<Int>, modelTable: Int, state: TopicState,
        into row: inout Row, advance: Bool
    ) -> Bool {
        var s = outer
        s.index = range.lowerBound
        defer { if advance { outer.index = s.index } }
        guard modelTable >= 0 && modelTable < modelColumnNames.count else {
            return fail("table is not in the model", at: range.lowerBound)
        }
        let names = modelColumnNames[modelTable]
        row.cells = Array(repeating: .missing, count: names.count)
        let own = modelTable == Int(state.modelTable)
        let ok = s.forEachMember { s, key in
            for i in names.indices where s.equals(key, names[i]) {
                let scale = own && i < state.modelScales.count ? state.modelScales[i] : nil
                guard self.readCell(&s, column: key, decimalScale: scale, into: &row.cells[i]) else { return false }
                if own && !state.seenColumns[i] { state.seenColumns[i] = true }
                return true
            }
            return s.skipValue()
        }
        guard ok else { return fail("invalid JSON in row", at: s.index) }
        return true
    }

    /// One column's value, in any form Debezium writes it: integers, decimal text and JSON numbers
    /// (exact, never through a Double), base64 decimals when the schema says Decimal, Debezium's
    /// VariableScaleDecimal, strings, booleans; nested values are kept as their JSON text.
    func readCell(_ s: inout JSONScanner, column: Range<Int>, decimalScale: Int?, into cell: inout Cell) -> Bool {
        s.skipWhitespace()
        let at = s.index
        guard let c = s.peek() else { return fail("\(s.text(column)) has no value", at: at) }
        switch c {
        case UInt8(ascii: "n"):
            guard s.consumeLiteral("null") else { return fail("\(s.text(column)) is not a value", at: at) }
            cell = .null
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            if s.consumeLiteral("true") {
                cell = .bool(true)
            } else if s.consumeLiteral("false") {
                cell = .bool(false)
            } else {
                return fail("\(s.text(column)) is not a value", at: at)
            }
        case UInt8(ascii: "\""):
            guard let t = s.readString() else { return fail("\(s.text(column)) is not a valid JSON string", at: at) }
            if s.equals(t.range, "__debezium_unavailable_value")
                || s.equals(t.range, "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")
            {
                cell = .unavailable
            } else if let scale = decimalScale {
                guard let unscaled = DecimalCodec.unscaledFromBase64(s.raw(t.range)),
                    let d = ExactDecimal(units: unscaled, scale: scale)
                else {
                    return fail(
                        "\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(t.range))) is not valid base64 of at most 16 bytes (the schema says Decimal)",
                        at: at)
                }
                cell = .decimal(d)
            } else {
                guard let str = s.string(t.range, escaped: t.escaped) else {
                    return fail("\(s.text(column)) is not a valid JSON string", at: at)
                }
                cell = .text(str)
            }
        case UInt8(ascii: "{"):
            var probe = s
            var vsScale: Int64? = nil
            var vsValue: Range<Int>? = nil
            var onlyDecimalKeys = true
            let ok = probe.forEachMember { o, k in
                if o.equals(k, "scale"), let r = o.readNumber(), let v = DebeziumDecoder.int64(o.raw(r)) {
                    vsScale = v
                    return true
                }
                if o.equals(k, "value"), let t = o.readString() {
                    vsValue = t.range
                    return true
                }
                onlyDecimalKeys = false
                return o.skipValue()
            }
            guard ok else { return fail("invalid JSON in \(s.text(column))", at: at) }
            if onlyDecimalKeys, let sc = vsScale, let v = vsValue {
                guard let unscaled = DecimalCodec.unscaledFromBase64(s.raw(v)), sc >= 0,
                    sc <= Int64(ExactDecimal.maxScale),
                    let d = ExactDecimal(units: unscaled, scale: Int(sc))
                else {
                    return fail(
                        "\(s.text(column)) is a VariableScaleDecimal cdctop cannot hold exactly (scale \(sc))", at: at)
                }
                cell = .decimal(d)
            } else {
                cell = .text(String(decoding: s.raw(at..<probe.index), as: UTF8.self))
            }
            s.index = probe.index
        case UInt8(ascii: "["):
            guard s.skipValue() else { return fail("invalid JSON in \(s.text(column))", at: at) }
            cell = .text(String(decoding: s.raw(at..<s.index), as: UTF8.self))
        default:
            if let v = s.readPlainInteger() {
                cell = .int(v)
                return true
            }
            guard let r = s.readNumber() else { return fail("\(s.text(column)) is not a number", at: at) }
            if let v = DebeziumDecoder.int64(s.raw(r)) {
                cell = .int(v)
                return true
            }
            guard let d = ExactDecimal.parse(s.raw(r)) else {
                return fail(
                    "\(s.text(column)) \(DebeziumDecoder.excerpt(s.raw(r))) is not a number cdctop can hold exactly (at most 38 digits and 38 places)",
                    at: at)
            }
            cell = .decimal(d)
        }
        return true
    }

    /// A new row image without a column some KPI reads: said apart from a column dropped since.
    @inline(never)
    func missingModelColumn(_ table: String, modelTable: Int32, slot: Int, state: TopicState, at position: Int)
        -> NonEventOutcome
    {
        guard let model = profile.model, modelTable >= 0 else {
            return malformed(table, "row is not in the model", at: position)
        }
        let column = model.tables[Int(modelTable)].columns[slot]
        let readers = model.kpis(reading: Int(modelTable), slot: slot).map { "kpi.\($0)" }.joined(separator: ", ")
        let everSeen = modelTable == state.modelTable && slot < state.seenColumns.count && state.seenColumns[slot]
        let why =
            everSeen
            ? "earlier rows had it: dropped since (ALTER TABLE?); update the profile"
            : "no row of this table had it: check the column's name (names are case-sensitive) in the profile"
        return malformed(
            table, "row has no column \(column), which \(readers.isEmpty ? "the profile" : readers) reads; \(why)",
            at: position)
    }

    /// The row key of a model event: the profile's key columns when it names them, else the Kafka
    /// record key (JSON, with or without a schema envelope). Several columns make one composite key.
    /// Nil when there is none: the caller reports how to give the table one.
    package func modelRowKey(table modelTable: Int32, row: Row?, recordKey: UnsafeRawBufferPointer?) -> RowKey? {
        guard let model = profile.model, modelTable >= 0 else { return nil }
        if let keyColumns = model.tables[Int(modelTable)].keyColumns {
            guard let row else { return nil }
            let table = model.tables[Int(modelTable)]
            var parts: [RowKey] = []
            for column in keyColumns {
                guard let slot = table.slot(of: column), slot < row.cells.count, let k = row.cells[slot].rowKey else {
                    return nil
                }
                parts.append(k)
            }
            return DebeziumDecoder.compositeKey(parts)
        }
        guard let recordKey, recordKey.count > 0 else { return nil }
        return DebeziumDecoder.recordKeyValue(recordKey)
    }

    /// `{"id":7}`, `{"schema":…,"payload":{"a":1,"b":"x"}}` or a bare scalar → the key; nil when it is
    /// not JSON or holds no scalar.
    static func recordKeyValue(_ bytes: UnsafeRawBufferPointer) -> RowKey? {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else {
            var cell = Cell.missing
            return readKeyScalar(&scanner, into: &cell) ? cell.rowKey : nil
        }
        var payload: Range<Int>? = nil
        var sawSchema = false
        var parts: [RowKey] = []
        var bad = false
        let ok = scanner.forEachMember { s, key in
            if s.equals(key, "schema") {
                sawSchema = true
                return s.skipValue()
            }
            if s.equals(key, "payload") {
                s.skipWhitespace()
                let a = s.index
                guard s.skipValue() else { return false }
                payload = a..<s.index
                return true
            }
            var cell = Cell.missing
            guard readKeyScalar(&s, into: &cell), let k = cell.rowKey else {
                bad = true
                return s.skipValue()
            }
            parts.append(k)
            return true
        }
        guard ok, !bad || sawSchema else { return nil }
        if sawSchema, let payload {
            return recordKeyValue(UnsafeRawBufferPointer(rebasing: bytes[payload]))
        }
        return parts.isEmpty ? nil : compositeKey(parts)
    }

    private static func readKeyScalar(_ s: inout JSONScanner, into cell: inout Cell) -> Bool {
        s.skipWhitespace()
        guard let c = s.peek() else { return false }
        if c == UInt8(ascii: "\"") {
            guard let t = s.readString(), let str = s.string(t.range, escaped: t.escaped) else { return false }
            cell = .text(str)
            return true
        }
        if let v = s.readPlainInteger() {
            cell = .int(v)
            return true
        }
        if let r = s.readNumber() {
            if let v = DebeziumDecoder.int64(s.raw(r)) {
                cell = .int(v)
                return true
            }
            guard let d = ExactDecimal.parse(s.raw(r)) else { return false }
            cell = .decimal(d)
            return true
        }
        if s.consumeLiteral("true") {
            cell = .bool(true)
            return true
        }
        if s.consumeLiteral("false") {
            cell = .bool(false)
            return true
        }
        return false
    }

    /// One column: itself; several: their texts joined by the unit separator (U+001F), which no key
    /// value contains in practice.
    static func compositeKey(_ parts: [RowKey]) -> RowKey {
        if parts.count == 1 { return parts[0] }
        return .text(parts.map(\.description).joined(separator: "\u{1F}"))
    }
}

extension KPIModel {
    /// Names of the KPIs that read a table's column (in any role: measure, filter, join, group).
    package func kpis(reading table: Int, slot: Int) -> [String] {
        var names: [String] = []
        for kpi in kpis {
            var refs: [ColumnRef] = []
            let tableOf: (Int) -> Int = { $0 == 0 ? kpi.fact : kpi.joins[$0 - 1].table }
            kpi.rowFilter?.collectColumns(into: &refs)
            kpi.joinFilter?.collectColumns(into: &refs)
            for g in kpi.groups { g.collectColumns(into: &refs) }
            for a in kpi.aggregates { a.argument?.collectColumns(into: &refs) }
            for (i, j) in kpi.joins.enumerated() {
                refs.append(ColumnRef(alias: j.parent, slot: j.parentColumn))
                refs.append(ColumnRef(alias: i + 1, slot: j.matchColumn))
            }
            if refs.contains(where: { tableOf($0.alias) == table && $0.slot == slot }) { names.append(kpi.name) }
        }
        return names
    }
}
