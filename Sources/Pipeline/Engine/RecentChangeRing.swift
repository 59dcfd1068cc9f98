import Metrics

/// Every change of every table kept for the Tables drill-down, newest `perTable` per table, complete
/// (no sampling). The engine thread copies each message's bytes into a slot allocated once and reused:
/// after warm-up a capture allocates nothing. `EngineDiagnostics.recentChanges` is built from it at snapshot
/// time, and only from what was captured since the previous snapshot. Confluent-framed (Avro) values
/// and keys keep their schema id (and the framed key its bytes) for the raw view.
struct RecentChangeRing {
    /// Changes kept per table, and slots over all tables (tables beyond it keep none).
    static let perTable = 2_048
    static let totalSlots = 16_384
    /// Values above this many bytes are kept without their bytes ("too large to keep").
    static let maxValueBytes = 32 * 1_024

    /// One table's ring: parallel arrays, slot `i` holds capture number `n` where `n % capacity == i`.
    struct TableRing {
        let table: String
        var offsets: [Int64]
        var partitions: [Int32]
        var topicSlots: [Int32]
        var ops: [ChangeOp]
        var commitTimes: [Int64]
        var keys: [RowKey?]
        /// Raw value bytes; `valueLengths[i]` is -1 for a tombstone-like missing value, -2 when too large.
        var values: [[UInt8]]
        var valueLengths: [Int]
        /// Raw Kafka key: kept when the event carries no key column, and always when it is Confluent-framed
        /// (Avro), for the raw view.
        var rawKeys: [[UInt8]]
        /// Schema ids of Confluent-framed values and keys (-1: not framed), read from the bytes' header.
        var valueSchemaIDs: [Int32]
        var keySchemaIDs: [Int32]
        var written: Int64 = 0

        init(table: String, capacity: Int) {
            self.table = table
            offsets = Array(repeating: 0, count: capacity)
            partitions = Array(repeating: 0, count: capacity)
            topicSlots = Array(repeating: 0, count: capacity)
            ops = Array(repeating: .create, count: capacity)
            commitTimes = Array(repeating: 0, count: capacity)
            keys = Array(repeating: nil, count: capacity)
            values = Array(repeating: [], count: capacity)
            valueLengths = Array(repeating: -1, count: capacity)
            rawKeys = Array(repeating: [], count: capacity)
            valueSchemaIDs = Array(repeating: -1, count: capacity)
            keySchemaIDs = Array(repeating: -1, count: capacity)
        }

        var capacity: Int { offsets.count }
    }

    private(set) var rings: [TableRing] = []
    /// Ring index per topic slot (-1: not looked up yet), so a capture never hashes the table name.
    private var ringBySlot: [Int] = []
    private var ringByTable: [String: Int] = [:]
    private var slotsUsed = 0

    /// The built lists handed to snapshots, newest last, and how far each ring was read into them.
    private var built: [String: [RecentChange]] = [:]
    private var builtUpTo: [Int64] = []
    /// Per ring: entries of its built list from this index on were decoded for display (or tried).
    private var decodedFrom: [Int] = []

    /// Changes decoded for display per snapshot, over all tables, newest first; older ones are decoded in
    /// later snapshots (1,280 a second at 5 snapshots a second). Bounds the snapshot's cost while the
    /// engine catches up: a decode parses the whole JSON (0.34 ms in a debug build on a loaded machine).
    static let decodesPerSnapshot = 256
    /// Decimal scales messages without a schema do not carry (the profile's, the largest seen per column).
    var displayScales = DecimalDisplayScales()
    /// Column types per Avro schema id, read once.
    private var avroTypes: [Int32: [String: SchemaTypes.Logical]] = [:]

    mutating func capture(
        table: String, topicSlot: Int, partition: Int32, offset: Int64, op: ChangeOp, commitTimeMs: Int64,
        key: RowKey?, rawKey: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?
    ) {
        if topicSlot >= ringBySlot.count { ringBySlot += Array(repeating: -1, count: topicSlot + 1 - ringBySlot.count) }
        var r = ringBySlot[topicSlot]
        if r < 0 || rings[r].table != table {
            // Cold path: first change of a table on this topic (or a topic carrying several tables).
            guard let index = ringIndex(table) else { return }
            r = index
            ringBySlot[topicSlot] = index
        }
        let i = Int(rings[r].written % Int64(rings[r].capacity))
        rings[r].offsets[i] = offset
        rings[r].partitions[i] = partition
        rings[r].topicSlots[i] = Int32(truncatingIfNeeded: topicSlot)
        rings[r].ops[i] = op
        rings[r].commitTimes[i] = commitTimeMs
        rings[r].keys[i] = key
        rings[r].rawKeys[i].removeAll(keepingCapacity: true)
        let keySchemaID = rawKey.flatMap { AvroWire.schemaID($0) } ?? -1
        rings[r].keySchemaIDs[i] = keySchemaID
        if key == nil || keySchemaID >= 0, let rawKey { rings[r].rawKeys[i].append(contentsOf: rawKey) }
        rings[r].valueSchemaIDs[i] = value.flatMap { AvroWire.schemaID($0) } ?? -1
        rings[r].values[i].removeAll(keepingCapacity: true)
        if let value {
            if value.count <= RecentChangeRing.maxValueBytes {
                rings[r].values[i].append(contentsOf: value)
                rings[r].valueLengths[i] = value.count
            } else {
                rings[r].valueLengths[i] = -2
            }
        } else {
            rings[r].valueLengths[i] = -1
        }
        rings[r].written += 1
    }

    private mutating func ringIndex(_ table: String) -> Int? {
        if let r = ringByTable[table] { return r }
        let capacity = min(RecentChangeRing.perTable, RecentChangeRing.totalSlots - slotsUsed)
        guard capacity >= 64 else { return nil }
        slotsUsed += capacity
        rings.append(TableRing(table: table, capacity: capacity))
        builtUpTo.append(0)
        decodedFrom.append(0)
        ringByTable[table] = rings.count - 1
        return rings.count - 1
    }

    /// The lists for a snapshot, newest last: what was captured since the last call is added (copied out
    /// of the ring), the oldest beyond the ring's capacity dropped, and changes decoded for display
    /// (`RecentChange.decoded`), newest first, up to `decodesPerSnapshot` in all (the tables met first use it; the
    /// rest go on at the next snapshot). `avroSchema` gives the
    /// schema of a framed value's id when the engine holds it.
    mutating func lists(topicName: (Int) -> String, avroSchema: (Int32) -> AvroSchema? = { _ in nil }) -> [String:
        [RecentChange]]
    {
        var idle: [Int] = []
        var budget = RecentChangeRing.decodesPerSnapshot
        for r in rings.indices {
            let ring = rings[r]
            let fresh = ring.written - builtUpTo[r]
            guard fresh > 0 else {
                idle.append(r)
                continue
            }
            let take = min(fresh, Int64(ring.capacity))
            var list = built.removeValue(forKey: ring.table) ?? []
            let keep = ring.capacity - Int(take)
            if list.count > keep {
                decodedFrom[r] = max(0, decodedFrom[r] - (list.count - keep))
                list.removeFirst(list.count - keep)
            }
            list.reserveCapacity(ring.capacity)
            for n in (ring.written - take)..<ring.written {
                let i = Int(n % Int64(ring.capacity))
                let length = ring.valueLengths[i]
                let keySchemaID = ring.keySchemaIDs[i]
                let valueSchemaID = ring.valueSchemaIDs[i]
                // A composite key's parts (unit-separated) shown comma-separated.
                let key =
                    ring.keys[i].map { k -> String in
                        let d = k.description
                        return d.contains("\u{1F}") ? String(d.map { $0 == "\u{1F}" ? "," : $0 }) : d
                    }
                    ?? (ring.rawKeys[i].isEmpty
                        ? "?"
                        : keySchemaID >= 0
                            ? RecentChange.undecodedAvroKey(keySchemaID)
                            : ring.rawKeys[i].withUnsafeBytes { EngineCore.describeKey($0) })
                // A fresh array per change: the ring's slot is reused by the next capture.
                let value: [UInt8]? = length >= 0 ? ring.values[i].withUnsafeBytes { Array($0) } : nil
                var change = RecentChange(
                    position: EventPosition(
                        topic: topicName(Int(ring.topicSlots[i])), partition: ring.partitions[i],
                        offset: ring.offsets[i]),
                    op: ring.ops[i], key: key, commitTimeMs: ring.commitTimes[i], value: value)
                if length == -2 { change.tooLarge = true }
                if valueSchemaID >= 0 { change.valueSchemaID = valueSchemaID }
                if keySchemaID >= 0 {
                    change.keySchemaID = keySchemaID
                    change.framedKey = Array(ring.rawKeys[i])
                }
                list.append(change)
            }
            builtUpTo[r] = ring.written
            decodeForDisplay(&list, ring: r, fresh: Int(take), budget: &budget, avroSchema: avroSchema)
            built[ring.table] = list
        }
        // Tables with nothing new still finish decoding what earlier snapshots had no budget for.
        for r in idle where decodedFrom[r] > 0 && budget > 0 {
            guard var list = built.removeValue(forKey: rings[r].table) else { continue }
            decodeForDisplay(&list, ring: r, fresh: 0, budget: &budget, avroSchema: avroSchema)
            built[rings[r].table] = list
        }
        return built
    }

    /// Decodes the `fresh` newest entries of `list`, newest first, then older undecoded ones, within the budget.
    private mutating func decodeForDisplay(
        _ list: inout [RecentChange], ring r: Int, fresh: Int, budget: inout Int,
        avroSchema: (Int32) -> AvroSchema?
    ) {
        var i = list.count
        let freshStart = list.count - fresh
        while i > freshStart, budget > 0 {
            i -= 1
            if list[i].decoded == nil && list[i].undecodable == nil {
                describe(&list[i], avroSchema: avroSchema)
                budget -= 1
            }
        }
        // All fresh ones done: the decoded suffix joins the earlier one; else it starts at the oldest done.
        var from = i > freshStart ? i : min(decodedFrom[r], freshStart)
        while from > 0, budget > 0 {
            from -= 1
            if list[from].decoded == nil && list[from].undecodable == nil {
                describe(&list[from], avroSchema: avroSchema)
                budget -= 1
            }
        }
        decodedFrom[r] = from
    }

    /// One change decoded for display: its images (JSON with the remembered scales, Avro with its schema)
    /// and a framed Avro key's text; or why its value cannot be shown. A value whose Avro schema is not
    /// at hand yet stays undecided: a later snapshot decodes it when the registry answered.
    private mutating func describe(_ change: inout RecentChange, avroSchema: (Int32) -> AvroSchema?) {
        if let id = change.keySchemaID, let key = change.framedKey, let schema = avroSchema(id),
            let text = RecentChangeRing.avroKeyText(key, schema: schema)
        {
            change.key = text
        }
        guard let value = change.value, !value.isEmpty else { return }
        guard let id = change.valueSchemaID else {
            change.decoded = ChangeDescription.decode(value: value, scales: &displayScales)
            if change.decoded == nil {
                change.undecodable = "the value could not be decoded as a Debezium change (\(value.count) bytes)"
            }
            return
        }
        guard let schema = avroSchema(id) else { return }
        let types: [String: SchemaTypes.Logical]
        if let known = avroTypes[id] {
            types = known
        } else {
            types = AvroJSONRendering.columnTypes(schema)
            avroTypes[id] = types
        }
        guard value.count >= AvroWire.headerSize,
            let payload = value[AvroWire.headerSize...].withUnsafeBytes({
                try? AvroJSONRendering.value(schema: schema, payload: $0)
            })
        else {
            change.undecodable =
                "the value (schema id \(id), \(value.count) bytes) does not follow its schema: y shows it raw"
            return
        }
        change.decoded = DebeziumFullDecoder.describe(payload: payload, types: types, scales: &displayScales)
        if change.decoded == nil {
            change.undecodable =
                "the value (schema id \(id), \(value.count) bytes) is not a Debezium change: y shows it raw"
        }
    }

    /// A framed Avro key as the change list shows keys: `42`, or `a=1,b=2` for several columns.
    static func avroKeyText(_ framedKey: [UInt8], schema: AvroSchema) -> String? {
        guard framedKey.count >= AvroWire.headerSize,
            let value = framedKey[AvroWire.headerSize...].withUnsafeBytes({
                try? AvroJSONRendering.value(schema: schema, payload: $0)
            })
        else { return nil }
        func text(_ v: JSONValue) -> String {
            switch v {
            case .number(let n): n
            case .string(let s): s
            case .bool(let b): b ? "true" : "false"
            case .null: "null"
            default: "…"
            }
        }
        guard case .object(let members) = value else { return text(value) }
        return members.count == 1
            ? text(members[0].value) : members.map { "\($0.key)=\(text($0.value))" }.joined(separator: ",")
    }
}

extension RecentChange {
    /// The key of a change whose only key is a framed Avro one: the engine does not decode it (the built-in
    /// profile keys rows by a value column); the dashboard does, with the key's schema, when it has it.
    /// Short: it stands in the list's 8-column key column ("Avro key (id 1)" showed as "Avro ke…").
    package static func undecodedAvroKey(_ schemaID: Int32) -> String { "(avro \(schemaID))" }
}
