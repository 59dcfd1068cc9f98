import Metrics

/// What a field of the value's root record is to the decoder (the JSON path's payload keys).
enum AvroEnvelopeRole: UInt8 {
    case skip, before, after, source, op, tsMs, ddl, schemaChangeKey, unwrappedOp, unwrappedDeleted, unwrappedTable,
        unwrappedTsMs
    /// Debezium's `transaction` block (`provide.transaction.metadata=true`): read only with `--transactions complete`.
    case transaction
}

/// What a field of `source` is to the decoder.
enum AvroSourceRole: UInt8 { case skip, tsMs, table, snapshot }

/// One field of `source` compiled for its writer's schema: read (the three the engine uses) or skipped.
/// Debezium's `source` has 14 to 20 fields, strings and longs, most optional: those are skipped here
/// by their kind without reading a schema node, a union index of 0 or 1 checked by one byte compare.
struct AvroSourceStep {
    enum Action: UInt8 {
        case skipString, skipLong, skipOptionalString, skipOptionalLong
        /// Any other kind (and an optional union whose index is not one canonical byte): by its type.
        case skipOther
        /// `ts_ms` as a plain long; `readTsMs`: any other type (the JSON path's rules).
        case readTsMsLong, readTsMs
        /// `table` as a plain string; `readTable`: any other type.
        case readTableString, readTable
        case readSnapshot
    }
    var action: Action
    /// Optional kinds: the union's branch (0 or 1) that is null.
    var nullBranch: UInt8 = 0
    /// The field's type, unions included.
    var node: Int32

    init(role: AvroSourceRole, node: Int32, schema: AvroSchema) {
        self.node = node
        let n = schema.flat[Int(node)]
        switch role {
        case .tsMs:
            action = n.kind == .long ? .readTsMsLong : .readTsMs
            return
        case .table:
            action = n.kind == .string ? .readTableString : .readTable
            return
        case .snapshot:
            action = .readSnapshot
            return
        case .skip: break
        }
        switch n.kind {
        case .string, .bytes: action = .skipString
        case .long: action = .skipLong
        case .union where n.count == 2:
            let branches = (schema.links[Int(n.first)], schema.links[Int(n.first) + 1])
            let kinds = (schema.flat[Int(branches.0)].kind, schema.flat[Int(branches.1)].kind)
            let other: AvroNode.Kind
            if kinds.0 == .null {
                nullBranch = 0
                other = kinds.1
            } else if kinds.1 == .null {
                nullBranch = 1
                other = kinds.0
            } else {
                action = .skipOther
                return
            }
            switch other {
            case .string, .bytes: action = .skipOptionalString
            case .long: action = .skipOptionalLong
            default: action = .skipOther
            }
        default: action = .skipOther
        }
    }
}

/// A profile column a field of a row image fills.
enum AvroColumn: Equatable {
    case key, amount, quantity, unitPrice, reference, category
    /// A model table's column, by slot.
    case cell(Int)
}

/// The root record of one writer's schema, compiled: each field's role, and `source`'s fields.
struct AvroEnvelopePlan {
    var fields: [(role: AvroEnvelopeRole, node: Int32)] = []
    /// The `source` record (-1: none) and its fields, compiled.
    var sourceRecord: Int32 = -1
    var sourceSteps: [AvroSourceStep] = []
    /// `ddl` beside `databaseName` or `tableChanges`: Debezium's schema-change topic.
    var isSchemaChange = false

    init(schema: AvroSchema) {
        let root = schema.nodes[Int(schema.root)]
        guard root.kind == .record else { return }
        var sawDDL = false
        var sawSchemaKey = false
        for f in root.fields {
            let role: AvroEnvelopeRole =
                switch f.name {
                case "before": .before
                case "after": .after
                case "source": .source
                case "op": .op
                case "ts_ms": .tsMs
                case "ddl": .ddl
                case "databaseName", "tableChanges": .schemaChangeKey
                case "__op": .unwrappedOp
                case "__deleted": .unwrappedDeleted
                case "__table": .unwrappedTable
                case "__source_ts_ms": .unwrappedTsMs
                case "transaction": .transaction
                default: .skip
                }
            if role == .ddl { sawDDL = true }
            if role == .schemaChangeKey { sawSchemaKey = true }
            fields.append((role, f.type))
            if role == .source, let record = AvroEnvelopePlan.record(in: f.type, schema) {
                sourceRecord = record
                sourceSteps = schema.nodes[Int(record)].fields.map { sf in
                    let r: AvroSourceRole =
                        switch sf.name {
                        case "ts_ms": .tsMs
                        case "table": .table
                        case "snapshot": .snapshot
                        default: .skip
                        }
                    return AvroSourceStep(role: r, node: sf.type, schema: schema)
                }
            }
        }
        isSchemaChange = sawDDL && sawSchemaKey
    }

    /// The record a field holds: itself, or the one record branch of a union.
    static func record(in node: Int32, _ schema: AvroSchema) -> Int32? {
        let n = schema.nodes[Int(node)]
        if n.kind == .record { return node }
        if n.kind == .union {
            let records = n.branches.filter { schema.nodes[Int($0)].kind == .record }
            if records.count == 1 { return records[0] }
        }
        return nil
    }
}

/// A row image's record compiled for one table role (or model table): which fields fill which
/// profile column; every other field is skipped by its type. A class of constants: handing a plan to
/// the walk (twice per update) retains one object, where a struct retained and released each array.
final class AvroRowPlan {
    let record: Int32
    /// Per field, in order: the column it fills (nil: skipped) and its type. Plain values, so the
    /// walk retains nothing per field.
    let columns: [(column: AvroColumn?, node: Int32)]
    /// The fields' names, for reasons only.
    let names: [String]
    /// Model tables: the number of cells a row has.
    let cellCount: Int

    init(record: Int32, columns: [(column: AvroColumn?, node: Int32)], names: [String], cellCount: Int) {
        self.record = record
        self.columns = columns
        self.names = names
        self.cellCount = cellCount
    }
}

/// Everything compiled for one schema id.
final class AvroSchemaPlans {
    let schema: AvroSchema
    let envelope: AvroEnvelopePlan
    private var rows: [Int64: AvroRowPlan] = [:]
    // Read per row image (one thread decodes): no dynamic exclusivity check.
    @exclusivity(unchecked) private var lastRowKey: Int64 = .min
    @exclusivity(unchecked) private var lastRow: AvroRowPlan? = nil

    init(schema: AvroSchema) {
        self.schema = schema
        self.envelope = AvroEnvelopePlan(schema: schema)
    }

    /// The row plan of `record` for a role (legacy) or model table, compiled on first use.
    @inline(__always)
    func rowPlan(record: Int32, role: TableRole, modelTable: Int32, decoder: DebeziumDecoder) -> AvroRowPlan {
        let target: Int64 = role == .model ? Int64(modelTable) : -1 - Int64(role.rawValue)
        let key = Int64(record) << 32 | (target & 0xFFFF_FFFF)
        if key == lastRowKey, let plan = lastRow { return plan }
        let plan: AvroRowPlan
        if let known = rows[key] {
            plan = known
        } else {
            plan = compileRow(record: record, role: role, modelTable: modelTable, decoder: decoder)
            rows[key] = plan
        }
        lastRowKey = key
        lastRow = plan
        return plan
    }

    @inline(never)
    private func compileRow(record: Int32, role: TableRole, modelTable: Int32, decoder: DebeziumDecoder) -> AvroRowPlan
    {
        let p = decoder.profile
        // The JSON path's order of checks per key (the first matching column wins).
        var legacy: [(String, AvroColumn)] = []
        switch role {
        case .sale: legacy = [(p.sale.key, .key), (p.sale.amount, .amount)]
        case .lineItem:
            let l = p.lineItem
            legacy = [
                (l?.key ?? "", .key), (l?.quantity ?? "", .quantity), (l?.unitPrice ?? "", .unitPrice),
                (l?.productKey ?? "", .reference),
            ]
        case .dimension: legacy = [(p.dimension?.key ?? "", .key), (p.dimension?.category ?? "", .category)]
        case .other, .model: break
        }
        let modelNames: [[UInt8]] =
            role == .model && modelTable >= 0 && Int(modelTable) < decoder.modelColumnNames.count
            ? decoder.modelColumnNames[Int(modelTable)] : []
        var columns: [(column: AvroColumn?, node: Int32)] = []
        var names: [String] = []
        for f in schema.nodes[Int(record)].fields {
            var column: AvroColumn? = nil
            if role == .model {
                if let i = modelNames.firstIndex(of: f.nameBytes) { column = .cell(i) }
            } else {
                column = legacy.first { $0.0 == f.name }?.1
            }
            columns.append((column, f.type))
            names.append(f.name)
        }
        return AvroRowPlan(record: record, columns: columns, names: names, cellCount: modelNames.count)
    }
}

/// The decoder's compiled schemas, by schema id (the decoder is used by one thread). Messages of
/// several topics interleave, each topic with its own schema id: a small direct-mapped table by id
/// answers without hashing; a dictionary keeps the rest.
final class AvroPlanCache {
    private var byID: [Int32: AvroSchemaPlans] = [:]
    // Read per message (one thread decodes): no dynamic exclusivity check.
    @exclusivity(unchecked) private var recent: [(id: Int32, plans: AvroSchemaPlans?)] = Array(
        repeating: (0, nil), count: AvroPlanCache.recentSlots)
    /// Ids kept at most (a registry with more schemas than this recompiles now and then).
    static let capacity = 4096
    private static let recentSlots = 64

    init() {}

    @inline(__always)
    func plans(_ id: Int32, _ schema: AvroSchema) -> AvroSchemaPlans {
        let slot = Int(UInt32(bitPattern: id) % UInt32(AvroPlanCache.recentSlots))
        if recent[slot].id == id, let plans = recent[slot].plans, plans.schema === schema { return plans }
        return lookUp(id, schema, slot: slot)
    }

    @inline(never)
    private func lookUp(_ id: Int32, _ schema: AvroSchema, slot: Int) -> AvroSchemaPlans {
        let plans: AvroSchemaPlans
        if let p = byID[id], p.schema === schema {
            plans = p
        } else {
            if byID.count >= AvroPlanCache.capacity { byID.removeAll(keepingCapacity: true) }
            plans = AvroSchemaPlans(schema: schema)
            byID[id] = plans
        }
        recent[slot] = (id, plans)
        return plans
    }
}
