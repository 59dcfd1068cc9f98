/// The full before/after images of one Debezium message, for people (the Tables drill-down), as typed
/// cells: the text a person reads plus what kind of value it is, so the dashboard can align numbers and
/// show binary as a size or a hex dump without decoding anything itself. Built by Pipeline
/// (`ChangeDescription.decode`, and the engine's recent-change ring at snapshot time); the hot path never
/// builds this.
package struct ChangeDescription: Sendable, Hashable {
    /// What a cell holds, for rendering: numbers are right-aligned, binary shown as `N bytes` or hex.
    package enum Kind: Sendable, Hashable {
        case text
        /// An integer, or a float as sent.
        case number
        /// A decimal printed at `scale` places: the column's scale from its schema (JSON `parameters.scale`,
        /// Avro's decimal logical type), the profile's for its money columns, or, without a schema, the
        /// largest scale seen so far in the column.
        case decimal(scale: Int)
        /// A decimal whose scale varies per value (`VariableScaleDecimal`): printed as sent.
        case variableDecimal
        /// Bytes (`bytea`, Debezium's `bytes` schema type, Avro `bytes`): `value` is `N bytes`.
        case binary
        case time
        case bool
        case null
        /// `__debezium_unavailable_value`: a TOASTed column the message does not carry.
        case unchanged
        /// A nested object or array, summarised.
        case structured

        /// Right-aligned in lists and the drill-down.
        package var isNumeric: Bool {
            switch self {
            case .number, .decimal, .variableDecimal: true
            default: false
            }
        }
    }

    package struct Field: Sendable, Hashable {
        package var name: String
        /// The text people read: decimals exact at their scale, timestamps ISO-8601 UTC, null as "null",
        /// `__debezium_unavailable_value` as "(unchanged)", binary as `N bytes`.
        package var value: String
        package var kind: Kind
        /// A binary column's bytes, for the drill-down's hex view; nil for every other kind.
        package var bytes: [UInt8]?

        package init(name: String, value: String, kind: Kind = .text, bytes: [UInt8]? = nil) {
            self.name = name
            self.value = value
            self.kind = kind
            self.bytes = bytes
        }

        /// Same value (two binaries of the same size differ by their bytes).
        package func sameValue(_ other: Field) -> Bool { value == other.value && bytes == other.bytes }
    }

    package var op: ChangeOp
    package var table: String
    package var commitTimeMs: Int64
    package var before: [Field]?
    package var after: [Field]?

    /// Names of columns whose value differs between before and after (updates), in column order.
    package var changedColumns: [String] {
        guard let before, let after else { return (after ?? before ?? []).map(\.name) }
        let old = Dictionary(before.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return after.filter { f in old[f.name].map { !$0.sameValue(f) } ?? true }.map(\.name)
    }

    package init(op: ChangeOp, table: String, commitTimeMs: Int64, before: [Field]?, after: [Field]?) {
        self.op = op
        self.table = table
        self.commitTimeMs = commitTimeMs
        self.before = before
        self.after = after
    }
}
