import Metrics

/// What one Kafka message turned out to be.
public enum DecodeOutcome: Sendable {
    case event(ChangeEvent)
    /// Null value after a delete: expected, counted, skipped.
    case tombstone(table: String)
    /// A Debezium heartbeat (`__debezium-heartbeat.*`): proves the connector is alive.
    case heartbeat(timestampMs: Int64)
    /// Not a change event (schema-change topic, transaction metadata…): counted, not aggregated.
    case ignored(table: String, reason: String)
    case malformed(table: String, reason: String)
}

/// Decodes Debezium's JSON forms into `ChangeEvent`s holding only the profile's columns:
/// the envelope with or without `schema`, the unwrapped (`ExtractNewRecordState`) form with
/// `__op`/`__deleted`/`__table`/`__source_ts_ms`, every decimal handling mode, tombstones.
///
/// Per topic it remembers the bytes of the last `schema` block: JsonConverter repeats the same
/// schema in every message, so recognising it is one memcmp instead of a parse.
/// Not thread-safe: one decoder per consuming thread.
public final class DebeziumDecoder {
    public let profile: KPIProfile

    final class TopicState {
        let topic: String
        let table: String
        /// `table` as bytes, to compare with `source.table` without allocating per message.
        let tableBytes: [UInt8]
        let role: TableRole
        /// The last `source.table` that differed from the topic's name (topic routing), kept so
        /// a routed topic does not build a String per message.
        var routedTable: (bytes: [UInt8], name: String, role: TableRole)?
        var schemaBytes: [UInt8] = []
        var columns: ColumnScales
        let isHeartbeat: Bool
        init(topic: String, table: String, role: TableRole, columns: ColumnScales) {
            self.topic = topic; self.table = table; self.tableBytes = Array(table.utf8)
            self.role = role; self.columns = columns
            self.isHeartbeat = topic.hasPrefix("__debezium-heartbeat")
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

    private var topics: [TopicState] = []
    private var topicSlots: [String: Int] = [:]
    private let wanted: WantedColumns

    /// Profile column names as bytes, per role, for matching keys without allocating.
    struct WantedColumns {
        var saleKey: [UInt8], saleAmount: [UInt8]
        var lineKey: [UInt8], lineQuantity: [UInt8], lineUnitPrice: [UInt8], lineProduct: [UInt8]
        var dimKey: [UInt8], dimCategory: [UInt8]
    }

    public init(profile: KPIProfile) {
        self.profile = profile
        let l = profile.lineItem, d = profile.dimension
        wanted = WantedColumns(
            saleKey: Array(profile.sale.key.utf8), saleAmount: Array(profile.sale.amount.utf8),
            lineKey: Array((l?.key ?? "").utf8), lineQuantity: Array((l?.quantity ?? "").utf8),
            lineUnitPrice: Array((l?.unitPrice ?? "").utf8), lineProduct: Array((l?.productKey ?? "").utf8),
            dimKey: Array((d?.key ?? "").utf8), dimCategory: Array((d?.category ?? "").utf8))
    }

    /// Registers a topic once; the returned slot is passed to `decode` for every message of it.
    public func slot(forTopic topic: String) -> Int {
        if let s = topicSlots[topic] { return s }
        let table = DebeziumDecoder.tableName(fromTopic: topic)
        let state = TopicState(topic: topic, table: table, role: profile.role(ofTable: table),
                               columns: ColumnScales(amount: profile.defaultDecimalScale,
                                                     unitPrice: profile.defaultDecimalScale))
        topics.append(state)
        topicSlots[topic] = topics.count - 1
        return topics.count - 1
    }

    public func table(ofSlot slot: Int) -> String { topics[slot].table }
    func topicName(_ slot: Int) -> String { topics[slot].topic }
    public func role(ofSlot slot: Int) -> TableRole { topics[slot].role }

    /// `shop.public.transaction` → `transaction`: Debezium's `<prefix>.<schema>.<table>` naming.
    public static func tableName(fromTopic topic: String) -> String {
        if let dot = topic.lastIndex(of: ".") { return String(topic[topic.index(after: dot)...]) }
        return topic
    }

    /// Decodes one message. `kafkaTimestampMs` is used as commit time only when the message has none.
    public func decode(slot: Int, value: UnsafeRawBufferPointer?, kafkaTimestampMs: Int64 = 0) -> DecodeOutcome {
        let state = topics[slot]
        guard let value else {
            return .tombstone(table: state.table)
        }
        if state.isHeartbeat {
            return decodeHeartbeat(value, state: state)
        }
        var scanner = JSONScanner(value)
        guard scanner.peek() == UInt8(ascii: "{") else {
            return .malformed(table: state.table, reason: value.count == 0 ? "empty value" : "value is not a JSON object")
        }
        // Wrapper `{"schema":…,"payload":…}` (schemas.enable=true) or a bare payload?
        var probe = scanner
        _ = probe.consume(UInt8(ascii: "{"))
        guard let firstKey = probe.readString(),
              probe.equals(firstKey.range, "schema") || probe.equals(firstKey.range, "payload") else {
            let outcome = decodePayload(&scanner, state: state, kafkaTimestampMs: kafkaTimestampMs)
            if case .malformed = outcome { return outcome }
            scanner.skipWhitespace()
            return scanner.atEnd ? outcome : .malformed(table: state.table, reason: "trailing bytes after JSON")
        }
        var outcome: DecodeOutcome? = nil
        let ok = scanner.forEachMember { s, key in
            if s.equals(key, "schema") {
                return self.consumeSchema(&s, state: state)
            } else if s.equals(key, "payload") {
                if s.consumeLiteral("null") { outcome = .tombstone(table: state.table); return true }
                let decoded = self.decodePayload(&s, state: state, kafkaTimestampMs: kafkaTimestampMs)
                outcome = decoded
                if case .malformed = decoded { return false }
                return true
            }
            return s.skipValue()
        }
        if let outcome, case .malformed = outcome { return outcome }
        guard ok else { return .malformed(table: state.table, reason: "invalid JSON") }
        guard let outcome else { return .malformed(table: state.table, reason: "schema envelope without payload") }
        return outcome
    }

    private func decodeHeartbeat(_ value: UnsafeRawBufferPointer, state: TopicState) -> DecodeOutcome {
        guard let json = JSONValue.parse(value) else { return .malformed(table: state.table, reason: "invalid JSON heartbeat") }
        let payload = json["payload"] ?? json
        if let ts = payload["ts_ms"]?.int64Value { return .heartbeat(timestampMs: ts) }
        return .ignored(table: state.table, reason: "heartbeat without ts_ms")
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
        learnSchema(bytes, state: state)
        state.schemaBytes = Array(bytes)
        return true
    }

    /// Reads decimal scales of the profile's columns from a Kafka Connect schema (cold path).
    private func learnSchema(_ bytes: UnsafeRawBufferPointer, state: TopicState) {
        guard let schema = JSONValue.parse(bytes) else { return }
        var scales: [String: Int] = [:]
        SchemaTypes.collectDecimalScales(schema, into: &scales)
        var columns = ColumnScales(amount: profile.defaultDecimalScale, unitPrice: profile.defaultDecimalScale, fromSchema: true)
        if let s = scales[profile.sale.amount], state.role == .sale { columns.amount = s; columns.amountIsBinary = true }
        if let l = profile.lineItem, state.role == .lineItem, let s = scales[l.unitPrice] {
            columns.unitPrice = s; columns.unitPriceIsBinary = true
        }
        state.columns = columns
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
        var hasSource = false
        // Unwrapped (ExtractNewRecordState) markers.
        var unwrappedOp: UInt8 = 0
        var deleted = false
        var unwrappedTable: Range<Int>? = nil
        var unwrappedTsMs: Int64? = nil
        var sawBeforeOrAfter = false
    }

    private func decodePayload(_ scanner: inout JSONScanner, state: TopicState, kafkaTimestampMs: Int64) -> DecodeOutcome {
        scanner.skipWhitespace()
        let objectStart = scanner.index
        var env = Envelope()
        let ok = scanner.forEachMember { s, key in
            let n = key.count
            guard n > 0 else { return s.skipValue() }
            let first = s.byte(at: key.lowerBound)
            switch first {
            case UInt8(ascii: "b") where s.equals(key, "before"):
                env.sawBeforeOrAfter = true
                if s.consumeLiteral("null") { env.beforeIsNull = true; return true }
                s.skipWhitespace(); let a = s.index
                guard s.skipValue() else { return false }
                env.before = a..<s.index
                return true
            case UInt8(ascii: "a") where s.equals(key, "after"):
                env.sawBeforeOrAfter = true
                if s.consumeLiteral("null") { env.afterIsNull = true; return true }
                s.skipWhitespace(); let a = s.index
                guard s.skipValue() else { return false }
                env.after = a..<s.index
                return true
            case UInt8(ascii: "s") where s.equals(key, "source"):
                env.hasSource = true
                if s.consumeLiteral("null") { return true }
                return s.forEachMember { src, k in
                    if src.equals(k, "ts_ms") {
                        guard let r = src.readNumber(), let v = DebeziumDecoder.int64(src.raw(r)) else { return false }
                        env.sourceTsMs = v; return true
                    } else if src.equals(k, "table") {
                        if src.consumeLiteral("null") { return true }
                        guard let t = src.readString() else { return false }
                        env.table = t.range; return true
                    } else if src.equals(k, "snapshot") {
                        if src.consumeLiteral("null") { return true }
                        if src.consumeLiteral("true") { env.snapshot = true; return true }
                        if src.consumeLiteral("false") { return true }
                        guard let t = src.readString() else { return false }
                        env.snapshot = !(src.equals(t.range, "false"))
                        return true
                    }
                    return src.skipValue()
                }
            case UInt8(ascii: "o") where s.equals(key, "op"):
                if s.consumeLiteral("null") { return true }
                guard let t = s.readString(), t.range.count == 1 else { return false }
                env.op = s.byte(at: t.range.lowerBound); return true
            case UInt8(ascii: "t") where s.equals(key, "ts_ms"):
                if s.consumeLiteral("null") { return true }
                guard let r = s.readNumber(), let v = DebeziumDecoder.int64(s.raw(r)) else { return false }
                env.envelopeTsMs = v; return true
            case UInt8(ascii: "_") where n > 2 && s.byte(at: key.lowerBound + 1) == UInt8(ascii: "_"):
                if s.equals(key, "__op") {
                    if s.consumeLiteral("null") { return true }
                    guard let t = s.readString(), t.range.count == 1 else { return false }
                    env.unwrappedOp = s.byte(at: t.range.lowerBound); return true
                } else if s.equals(key, "__deleted") {
                    if s.consumeLiteral("true") { env.deleted = true; return true }
                    if s.consumeLiteral("false") || s.consumeLiteral("null") { return true }
                    guard let t = s.readString() else { return false }
                    env.deleted = s.equals(t.range, "true"); return true
                } else if s.equals(key, "__table") {
                    if s.consumeLiteral("null") { return true }
                    guard let t = s.readString() else { return false }
                    env.unwrappedTable = t.range; return true
                } else if s.equals(key, "__source_ts_ms") {
                    if s.consumeLiteral("null") { return true }
                    guard let r = s.readNumber(), let v = DebeziumDecoder.int64(s.raw(r)) else { return false }
                    env.unwrappedTsMs = v; return true
                }
                return s.skipValue()
            default:
                return s.skipValue()
            }
        }
        guard ok else { return .malformed(table: state.table, reason: "invalid JSON in payload") }

        // The table: from the message when it says, else from the topic name.
        var table = state.table
        var role = state.role
        if let t = env.table ?? env.unwrappedTable, !scanner.equals(t, state.tableBytes) {
            if let routed = state.routedTable, scanner.equals(t, routed.bytes) {
                (table, role) = (routed.name, routed.role)
            } else {
                table = scanner.string(t, escaped: scanner.rangeHasEscape(t)) ?? table
                role = profile.role(ofTable: table)
                state.routedTable = (Array(scanner.raw(t)), table, role)
            }
        }

        if env.op != 0 || env.hasSource || env.sawBeforeOrAfter {
            // Debezium envelope.
            guard env.op != 0 else { return .malformed(table: table, reason: "envelope without op") }
            guard let op = ChangeOp(code: env.op) else {
                return .malformed(table: table, reason: "unknown op '\(Character(Unicode.Scalar(env.op)))'")
            }
            guard let ts = env.sourceTsMs ?? env.envelopeTsMs else {
                return .malformed(table: table, reason: "no source.ts_ms")
            }
            var before: Row? = nil, after: Row? = nil
            if let r = env.before {
                guard let row = parseRow(&scanner, r, role: role, state: state) else {
                    return .malformed(table: table, reason: rowError(role))
                }
                before = row
            }
            if let r = env.after {
                guard let row = parseRow(&scanner, r, role: role, state: state) else {
                    return .malformed(table: table, reason: rowError(role))
                }
                after = row
            }
            switch op {
            case .create, .read: if after == nil { return .malformed(table: table, reason: "\(op.code) without after") }
            case .update: if after == nil { return .malformed(table: table, reason: "u without after") }
            case .delete: if before == nil { return .malformed(table: table, reason: "d without before") }
            case .truncate, .tombstone: break
            }
            return .event(ChangeEvent(table: table, role: role, op: op, before: before, after: after,
                                      commitTimeMs: ts, isSnapshot: env.snapshot || op == .read))
        }

        // Unwrapped record: the payload object is the row itself.
        let ts = env.unwrappedTsMs ?? kafkaTimestampMs
        guard let row = parseRow(&scanner, objectStart..<scanner.index, role: role, state: state) else {
            return .malformed(table: table, reason: rowError(role))
        }
        var op: ChangeOp
        if env.unwrappedOp != 0 {
            guard let o = ChangeOp(code: env.unwrappedOp) else {
                return .malformed(table: table, reason: "unknown __op '\(Character(Unicode.Scalar(env.unwrappedOp)))'")
            }
            op = o
        } else if role == .other {
            return .ignored(table: table, reason: "record without op")
        } else {
            op = .update // an upsert: the aggregator retracts what it remembers for the key
        }
        if env.deleted { op = .delete }
        if op == .delete {
            return .event(ChangeEvent(table: table, role: role, op: .delete, before: row, after: nil, commitTimeMs: ts))
        }
        return .event(ChangeEvent(table: table, role: role, op: op, before: nil, after: row, commitTimeMs: ts))
    }

    private func rowError(_ role: TableRole) -> String {
        switch role {
        case .sale: "bad row for sale table: need \(profile.sale.key) and a decimal \(profile.sale.amount)"
        case .lineItem: "bad row for line-item table: need key, integer quantity, decimal unit price and product key"
        case .dimension: "bad row for dimension table: need key and a string category"
        case .other: "row is not a JSON object"
        }
    }

    // MARK: rows

    /// Extracts the profile's columns of one row image; nil when a present column has an unusable value.
    private func parseRow(_ outer: inout JSONScanner, _ range: Range<Int>, role: TableRole, state: TopicState) -> Row? {
        var s = outer
        s.index = range.lowerBound
        var row = Row()
        let w = wanted
        let scales = state.columns
        let unavailable = "__debezium_unavailable_value"
        let ok = s.forEachMember { s, key in
            switch role {
            case .sale:
                if s.equals(key, w.saleKey) { return DebeziumDecoder.readKey(&s, into: &row.key) }
                if s.equals(key, w.saleAmount) { return self.readMoney(&s, scale: scales.amount, binary: scales.amountIsBinary, into: &row.amount) }
            case .lineItem:
                if s.equals(key, w.lineKey) { return DebeziumDecoder.readKey(&s, into: &row.key) }
                if s.equals(key, w.lineQuantity) { return DebeziumDecoder.readInt(&s, into: &row.quantity) }
                if s.equals(key, w.lineUnitPrice) { return self.readMoney(&s, scale: scales.unitPrice, binary: scales.unitPriceIsBinary, into: &row.unitPrice) }
                if s.equals(key, w.lineProduct) {
                    var k: RowKey? = nil
                    if s.consumeLiteral("null") { row.reference = .null; return true }
                    guard DebeziumDecoder.readKey(&s, into: &k), let k else { return false }
                    row.reference = .value(k); return true
                }
            case .dimension:
                if s.equals(key, w.dimKey) { return DebeziumDecoder.readKey(&s, into: &row.key) }
                if s.equals(key, w.dimCategory) {
                    if s.consumeLiteral("null") { row.category = .null; return true }
                    guard let t = s.readString(), let str = s.string(t.range, escaped: t.escaped) else { return false }
                    row.category = str == unavailable ? .unavailable : .value(str)
                    return true
                }
            case .other:
                break
            }
            return s.skipValue()
        }
        guard ok else { return nil }
        if role != .other && row.key == nil { return nil }
        return row
    }

    static func readKey(_ s: inout JSONScanner, into key: inout RowKey?) -> Bool {
        s.skipWhitespace()
        if s.peek() == UInt8(ascii: "\"") {
            guard let t = s.readString(), let str = s.string(t.range, escaped: t.escaped) else { return false }
            key = .text(str); return true
        }
        guard let r = s.readNumber(), let v = int64(s.raw(r)) else { return false }
        key = .int(v); return true
    }

    static func readInt(_ s: inout JSONScanner, into field: inout FieldState<Int64>) -> Bool {
        if s.consumeLiteral("null") { field = .null; return true }
        if s.peek() == UInt8(ascii: "\"") {
            guard let t = s.readString() else { return false }
            if let v = int64(s.raw(t.range)) { field = .value(v); return true }
            if s.equals(t.range, "__debezium_unavailable_value") { field = .unavailable; return true }
            return false
        }
        guard let r = s.readNumber(), let v = int64(s.raw(r)) else { return false }
        field = .value(v); return true
    }

    /// A decimal in any Debezium form: precise base64 (scale from schema or profile), string, JSON number
    /// (double mode: the literal is parsed as text, never through Double), or VariableScaleDecimal object.
    private func readMoney(_ s: inout JSONScanner, scale: Int, binary: Bool, into field: inout FieldState<Money>) -> Bool {
        guard let c = s.peek() else { return false }
        switch c {
        case UInt8(ascii: "n"):
            guard s.consumeLiteral("null") else { return false }
            field = .null; return true
        case UInt8(ascii: "\""):
            guard let t = s.readString() else { return false }
            let raw = s.raw(t.range)
            if s.equals(t.range, "__debezium_unavailable_value") || s.equals(t.range, "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==") {
                field = .unavailable; return true
            }
            if !binary && DecimalCodec.looksLikeDecimalText(raw) {
                guard let m = Money.parse(raw) else { return false }
                field = .value(m); return true
            }
            guard let m = DecimalCodec.moneyFromBase64(raw, scale: scale) else { return false }
            field = .value(m); return true
        case UInt8(ascii: "{"):
            var vsScale: Int? = nil
            var vsValue: Range<Int>? = nil
            let ok = s.forEachMember { o, k in
                if o.equals(k, "scale") {
                    guard let r = o.readNumber(), let v = DebeziumDecoder.int64(o.raw(r)) else { return false }
                    vsScale = Int(v); return true
                }
                if o.equals(k, "value") {
                    guard let t = o.readString() else { return false }
                    vsValue = t.range; return true
                }
                return o.skipValue()
            }
            guard ok, let sc = vsScale, let v = vsValue,
                  let m = DecimalCodec.moneyFromBase64(s.raw(v), scale: sc) else { return false }
            field = .value(m); return true
        default:
            guard let r = s.readNumber(), let m = Money.parse(s.raw(r)) else { return false }
            field = .value(m); return true
        }
    }

    @inline(__always) static func int64(_ raw: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        let n = raw.count
        guard n > 0 else { return nil }
        var negative = false
        if raw[0] == UInt8(ascii: "-") { negative = true; i = 1; if n == 1 { return nil } }
        var v: Int64 = 0
        while i < n {
            let c = raw[i]
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c &- 48))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return negative ? -v : v
    }
}

#if canImport(Glibc)
import Glibc
#endif
