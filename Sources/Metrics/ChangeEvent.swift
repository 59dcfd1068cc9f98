/// Debezium's operation codes, plus the tombstone Kafka sends after a delete.
package enum ChangeOp: UInt8, Sendable, CaseIterable, Hashable {
    case create = 0  // "c"
    case update = 1  // "u"
    case delete = 2  // "d"
    case read = 3  // "r": snapshot read, loads state, is not a new sale
    case truncate = 4  // "t"
    case tombstone = 5  // null Kafka value after a delete

    package init?(code: UInt8) {
        switch code {
        case UInt8(ascii: "c"): self = .create
        case UInt8(ascii: "u"): self = .update
        case UInt8(ascii: "d"): self = .delete
        case UInt8(ascii: "r"): self = .read
        case UInt8(ascii: "t"): self = .truncate
        default: return nil
        }
    }

    /// Inlined where it is used (see `TableRole.==`).
    @inlinable @inline(__always) package static func == (a: ChangeOp, b: ChangeOp) -> Bool { a.rawValue == b.rawValue }

    package var code: String {
        switch self {
        case .create: "c"
        case .update: "u"
        case .delete: "d"
        case .read: "r"
        case .truncate: "t"
        case .tombstone: "tombstone"
        }
    }
}

/// A primary key or reference column value. Integer keys, the common case, never allocate.
package enum RowKey: Hashable, Sendable, CustomStringConvertible {
    case int(Int64)
    case text(String)

    package var description: String {
        switch self {
        case .int(let v): String(v)
        case .text(let s): s
        }
    }
}

/// A field the profile asked for, as decoded.
package enum FieldState<Value: Sendable & Hashable>: Sendable, Hashable {
    /// The column is not in the row image (or the row image is absent).
    case missing
    /// Debezium's `__debezium_unavailable_value`: unchanged TOASTed value, use what is remembered.
    case unavailable
    case null
    case value(Value)

    package var value: Value? { if case .value(let v) = self { v } else { nil } }
}

/// The columns of one row image that the KPI profile needs, extracted by the decoder.
/// Which column each slot comes from depends on the table's role in the profile:
/// - sale table: `amount`;
/// - line-item table: `quantity`, `unitPrice`, `reference` (product key);
/// - dimension table: `category`.
package struct Row: Sendable, Hashable {
    package var key: RowKey?
    package var amount: FieldState<Money> = .missing
    package var quantity: FieldState<Int64> = .missing
    package var unitPrice: FieldState<Money> = .missing
    package var reference: FieldState<RowKey> = .missing
    package var category: FieldState<String> = .missing
    /// Model tables: the columns some KPI reads, by slot (`ModelTable.columns`); empty otherwise.
    package var cells: [Cell] = []

    package init(key: RowKey? = nil) { self.key = key }
}

/// Debezium's topic naming, `<prefix>.<schema>.<table>` (MySQL: `<prefix>.<database>.<table>`): a naming
/// rule, not decoding, so the dashboard may apply it while it draws.
package enum DebeziumTopicName {
    /// `shop.public.transaction` → `transaction`.
    package static func table(of topic: String) -> String {
        if let dot = topic.lastIndex(of: ".") { return String(topic[topic.index(after: dot)...]) }
        return topic
    }
}

/// Where an event came from, to report it and to order it.
package struct EventPosition: Sendable, Hashable, CustomStringConvertible {
    package var topic: String
    package var partition: Int32
    package var offset: Int64

    package init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    package var description: String { "\(topic)[\(partition)]@\(offset)" }
}

/// One decoded change, the unit the aggregator consumes.
package struct ChangeEvent: Sendable {
    /// Table name as in `source.table` (shared storage, no copy per event).
    package var table: String
    package var role: TableRole
    package var op: ChangeOp
    package var before: Row?
    package var after: Row?
    /// Database commit time, `source.ts_ms` (or `__source_ts_ms` when unwrapped).
    package var commitTimeMs: Int64
    /// True for snapshot reads (`op` r, or `source.snapshot` not "false").
    package var isSnapshot: Bool
    /// When Debezium processed the change (the envelope's `ts_ms`), ms since epoch; 0 when unknown
    /// (no envelope, or no `source.ts_ms` beside it). Only the latency split reads it.
    package var debeziumTimeMs: Int64 = 0
    /// Model tables: index in `KPIModel.tables`; -1 otherwise.
    package var modelTable: Int32 = -1
    /// The source transaction the change belongs to (see `TransactionKey`); 0 when it carries no
    /// transaction block (snapshot rows) or when the decoder was not asked to read it (`--transactions as-read`).
    package var transactionKey: Int64 = 0
    /// `source.snapshot` in detail (first/last row of a table or snapshot, incremental): snapshot progress reads it.
    package var snapshotMarker: SnapshotRowMarker = .none

    package init(
        table: String, role: TableRole, op: ChangeOp, before: Row?, after: Row?,
        commitTimeMs: Int64, isSnapshot: Bool = false
    ) {
        self.table = table
        self.role = role
        self.op = op
        self.before = before
        self.after = after
        self.commitTimeMs = commitTimeMs
        self.isSnapshot = isSnapshot || op == .read
    }
}

/// One number per source transaction, the same for its change events and its BEGIN and END.
/// PostgreSQL's transaction ids are `"<txId>:<LSN of this event>"` (a different id per event):
/// the digits before the colon are the transaction, and the key is that number. Any other id
/// (MySQL's GTID `uuid:n` or `file=…,pos=…`, the same for every event of a transaction) is hashed whole
/// (FNV-1a, with the top bit set so it never equals a number). 0 means "no transaction".
package enum TransactionKey {
    /// The key of an id's bytes; 0 for an empty id.
    @inline(__always)
    package static func of(_ id: UnsafeRawBufferPointer) -> Int64 {
        guard !id.isEmpty else { return 0 }
        var number: Int64 = 0
        var digits = 0
        var numeric = true
        for byte in id {
            if byte == UInt8(ascii: ":") { break }
            guard byte >= 48 && byte <= 57, number < (Int64.max - 9) / 10 else {
                numeric = false
                break
            }
            number = number * 10 + Int64(byte - 48)
            digits += 1
        }
        if numeric && digits > 0 && number > 0 { return number }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int64(bitPattern: hash | (1 << 63))
    }

    package static func of(_ id: String) -> Int64 {
        var text = id
        return text.withUTF8 { of(UnsafeRawBufferPointer($0)) }
    }
}
