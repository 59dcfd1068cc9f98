import Metrics

/// Avro writer's schemas, compiled once per schema id into a flat array of nodes that the decoder
/// walks. Our own implementation (no avro-c): the decoder needs only the binary encoding and a few
/// Debezium/Kafka Connect conventions, and a walk over a compiled plan does no per-value allocation.

/// A schema that cannot be used, or Avro bytes that cannot be decoded: what, and where when decoding.
package struct AvroError: Error, CustomStringConvertible, Sendable, Equatable {
    package let what: String
    /// Byte position in the Avro payload (after the 5-byte Confluent header), when decoding.
    package let position: Int?

    package init(_ what: String, position: Int? = nil) {
        self.what = what
        self.position = position
    }

    package var description: String { position.map { "\(what) (at byte \($0))" } ?? what }
}

/// Logical meaning of a node, from Avro's `logicalType` or Kafka Connect's `connect.name`.
/// Times stay the integers (or, for ZonedTimestamp, the strings) they are on the wire, as the JSON
/// path gives them; only decimals change how a value is read.
package enum AvroLogical: Sendable, Hashable {
    case none
    /// `decimal` (bytes or fixed): the big-endian two's-complement unscaled value and this scale.
    case decimal(scale: Int)
    /// `io.debezium.data.VariableScaleDecimal`: a record `{scale: int, value: bytes}`.
    case variableScaleDecimal
    case microTimestamp, timestamp, nanoTimestamp, zonedTimestamp
    case date, microTime, time, nanoTime
}

/// One node of a compiled schema. Named types are defined once and referenced by index.
struct AvroNode: Sendable {
    enum Kind: UInt8, Sendable {
        case null, boolean, int, long, float, double, bytes, string, record, enumeration, array, map, fixed, union
    }
    var kind: Kind
    /// Full name of a named type (record, enum, fixed); empty otherwise.
    var name: String = ""
    /// Record fields, in order.
    var fields: [AvroField] = []
    /// Enum symbols.
    var symbols: [String] = []
    /// Array items / map values.
    var items: Int32 = -1
    /// Union branches.
    var branches: [Int32] = []
    /// Fixed size in bytes.
    var size: Int = 0
    var logical: AvroLogical = .none
    /// `connect.name`, when present.
    var connectName: String? = nil
    /// The fewest bytes one value of this type takes: bounds item counts, so a hostile count of
    /// zero-byte items cannot spin.
    var minSize: Int = 0
    /// Records shaped as Debezium's VariableScaleDecimal: the indices of `scale` and `value`.
    var vsdFields: (scale: Int, value: Int)? = nil
    /// Index of the `null` branch of a union, when there is one (-1: none).
    var nullBranch: Int = -1
}

/// A node as the hot path reads it: plain values only, so reading one retains nothing (copying an
/// `AvroNode` out of `nodes` retains each of its strings and arrays, once per value walked).
struct AvroFlatNode {
    var kind: AvroNode.Kind
    /// Record: the index in `links` of its first field's type; union: of its first branch.
    var first: Int32 = 0
    /// Record: its fields; union: its branches; enum: its symbols.
    var count: Int32 = 0
    /// Array items / map values.
    var items: Int32 = -1
    /// Decimal (bytes or fixed): its scale; -1 when the node is no decimal.
    var decimalScale: Int32 = -1
    /// VariableScaleDecimal records: the field indices of `scale` and `value` (-1: not one).
    var vsdScale: Int32 = -1
    var vsdValue: Int32 = -1
    /// Fixed: its size; array: the fewest bytes an item takes; map: the same plus its key's length byte.
    var size: Int = 0
}

struct AvroField: Sendable {
    var name: String
    var nameBytes: [UInt8]
    var type: Int32
}

/// A writer's schema compiled once per schema id: parsed, names resolved (a `Value` record defined in
/// `before` and referenced by name in `after` is one node), logical types read.
/// Hostile schemas (nesting deeper than `maxDepth`, unknown or redefined names, recursive types,
/// unions in unions) are refused with an `AvroError`; a compiled schema is finite and acyclic, so
/// every walk over it is bounded.
package final class AvroSchema: Sendable {
    let nodes: [AvroNode]
    let root: Int32
    /// The schema text it was compiled from.
    package let json: String
    /// `nodes` again, flat, for the hot path (`AvroFlatNode`), and the record fields' types and the
    /// unions' branches they point into. Written once in `init` and only read after: safe to share.
    nonisolated(unsafe) let flat: UnsafeMutablePointer<AvroFlatNode>
    nonisolated(unsafe) let links: UnsafeMutablePointer<Int32>

    /// Nesting beyond this is refused (Debezium's envelopes nest four deep).
    package static let maxDepth = 48
    /// More nodes than this is refused (a real envelope has a few hundred).
    package static let maxNodes = 100_000

    package init(json: String) throws(AvroError) {
        guard let value = JSONValue.parse(json) else {
            throw AvroError("schema is not valid JSON (or nests deeper than \(JSONValue.maxDepth))")
        }
        var builder = Builder()
        let root = try builder.compile(value, namespace: "", depth: 0)
        self.nodes = builder.nodes
        self.root = root
        self.json = json
        let nodes = builder.nodes
        flat = .allocate(capacity: max(1, nodes.count))
        links = .allocate(capacity: max(1, nodes.reduce(0) { $0 + $1.fields.count + $1.branches.count }))
        var linked = 0
        for (i, n) in nodes.enumerated() {
            var f = AvroFlatNode(kind: n.kind, first: Int32(linked), items: n.items)
            switch n.kind {
            case .record:
                f.count = Int32(n.fields.count)
                for field in n.fields {
                    links[linked] = field.type
                    linked += 1
                }
                if let (s, v) = n.vsdFields {
                    f.vsdScale = Int32(s)
                    f.vsdValue = Int32(v)
                }
            case .union:
                f.count = Int32(n.branches.count)
                for b in n.branches {
                    links[linked] = b
                    linked += 1
                }
            case .enumeration: f.count = Int32(n.symbols.count)
            case .fixed: f.size = n.size
            case .array: f.size = nodes[Int(n.items)].minSize
            case .map: f.size = nodes[Int(n.items)].minSize + 1
            default: break
            }
            if case .decimal(let scale) = n.logical { f.decimalScale = Int32(scale) }
            (flat + i).initialize(to: f)
        }
    }

    deinit {
        flat.deallocate()
        links.deallocate()
    }

    /// The root's kind, for messages.
    var rootIsRecord: Bool { flat[Int(root)].kind == .record }

    /// A type's name for reasons: the full name of a named type, else its kind.
    func describe(_ node: Int32) -> String {
        let n = nodes[Int(node)]
        if !n.name.isEmpty { return n.name }
        switch n.kind {
        case .union: return "union [" + n.branches.map { describe($0) }.joined(separator: ", ") + "]"
        case .array: return "array"
        case .map: return "map"
        case .enumeration: return "enum"
        default: return "\(n.kind)"
        }
    }

    private struct Builder {
        var nodes: [AvroNode] = []
        /// Full name → node; `done` false while the type's own definition is being compiled.
        var named: [String: (node: Int32, done: Bool)] = [:]

        mutating func add(_ node: AvroNode) throws(AvroError) -> Int32 {
            guard nodes.count < AvroSchema.maxNodes else {
                throw AvroError("schema has more than \(AvroSchema.maxNodes) types")
            }
            nodes.append(node)
            return Int32(nodes.count - 1)
        }

        static func primitive(_ name: String) -> AvroNode.Kind? {
            switch name {
            case "null": .null
            case "boolean": .boolean
            case "int": .int
            case "long": .long
            case "float": .float
            case "double": .double
            case "bytes": .bytes
            case "string": .string
            default: nil
            }
        }

        static func minSize(_ kind: AvroNode.Kind) -> Int {
            switch kind {
            case .null: 0
            case .float: 4
            case .double: 8
            default: 1
            }
        }

        func fullName(_ name: String, namespace: String) -> String {
            if name.contains(".") || namespace.isEmpty { return name }
            return namespace + "." + name
        }

        mutating func reference(_ name: String, namespace: String) throws(AvroError) -> Int32 {
            for candidate in [fullName(name, namespace: namespace), name] {
                if let found = named[candidate] {
                    guard found.done else {
                        throw AvroError("recursive type \(candidate) (a record that contains itself) is not supported")
                    }
                    return found.node
                }
            }
            throw AvroError("unknown type name \(JSONText.quoted(name))")
        }

        mutating func compile(_ value: JSONValue, namespace: String, depth: Int) throws(AvroError) -> Int32 {
            guard depth < AvroSchema.maxDepth else {
                throw AvroError("schema nests deeper than \(AvroSchema.maxDepth)")
            }
            switch value {
            case .string(let name):
                if let kind = Builder.primitive(name) {
                    return try add(AvroNode(kind: kind, minSize: Builder.minSize(kind)))
                }
                return try reference(name, namespace: namespace)
            case .array(let branches):
                guard !branches.isEmpty else { throw AvroError("empty union") }
                var node = AvroNode(kind: .union)
                var minSize = Int.max
                var seen: Set<String> = []
                for (i, b) in branches.enumerated() {
                    let index = try compile(b, namespace: namespace, depth: depth + 1)
                    let branch = nodes[Int(index)]
                    guard branch.kind != .union else { throw AvroError("a union directly inside a union") }
                    let key = branch.name.isEmpty ? "\(branch.kind)" : branch.name
                    guard seen.insert(key).inserted else { throw AvroError("union has two branches of type \(key)") }
                    if branch.kind == .null { node.nullBranch = i }
                    node.branches.append(index)
                    minSize = min(minSize, branch.minSize)
                }
                node.minSize = 1 + minSize
                return try add(node)
            case .object:
                return try compileObject(value, namespace: namespace, depth: depth)
            default:
                throw AvroError("schema element \(value) is not a type")
            }
        }

        static func logical(_ value: JSONValue, kind: AvroNode.Kind) -> (AvroLogical, String?) {
            let connectName = value["connect.name"]?.stringValue
            let logicalType = value["logicalType"]?.stringValue
            if logicalType == "decimal" && (kind == .bytes || kind == .fixed) {
                if let s = value["scale"]?.int64Value ?? value["connect.parameters"]?["scale"]?.int64Value, s >= 0,
                    s <= 1000
                {
                    return (.decimal(scale: Int(s)), connectName)
                }
                if value["scale"] == nil && value["connect.parameters"]?["scale"] == nil {
                    return (.decimal(scale: 0), connectName)
                }
            }
            switch connectName {
            case "org.apache.kafka.connect.data.Decimal" where kind == .bytes || kind == .fixed:
                if let s = value["connect.parameters"]?["scale"]?.int64Value ?? value["scale"]?.int64Value, s >= 0,
                    s <= 1000
                {
                    return (.decimal(scale: Int(s)), connectName)
                }
            case "io.debezium.data.VariableScaleDecimal": return (.variableScaleDecimal, connectName)
            case "io.debezium.time.MicroTimestamp": return (.microTimestamp, connectName)
            case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
                return (.timestamp, connectName)
            case "io.debezium.time.NanoTimestamp": return (.nanoTimestamp, connectName)
            case "io.debezium.time.ZonedTimestamp": return (.zonedTimestamp, connectName)
            case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date": return (.date, connectName)
            case "io.debezium.time.MicroTime": return (.microTime, connectName)
            case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time": return (.time, connectName)
            case "io.debezium.time.NanoTime": return (.nanoTime, connectName)
            default: break
            }
            switch logicalType {
            case "timestamp-millis": return (.timestamp, connectName)
            case "timestamp-micros": return (.microTimestamp, connectName)
            case "timestamp-nanos": return (.nanoTimestamp, connectName)
            case "date": return (.date, connectName)
            case "time-millis": return (.time, connectName)
            case "time-micros": return (.microTime, connectName)
            default: return (.none, connectName)
            }
        }

        /// A named type's full name and its namespace for nested names.
        func naming(_ value: JSONValue, namespace: String) throws(AvroError) -> (full: String, namespace: String) {
            guard let name = value["name"]?.stringValue, !name.isEmpty else {
                throw AvroError("named type without a name")
            }
            guard name.utf8.count <= 1024 else { throw AvroError("type name longer than 1024 bytes") }
            if let dot = name.lastIndex(of: ".") { return (name, String(name[..<dot])) }
            let ns = value["namespace"]?.stringValue ?? namespace
            return (ns.isEmpty ? name : ns + "." + name, ns)
        }

        mutating func define(_ full: String, _ index: Int32) throws(AvroError) {
            guard named[full] == nil else { throw AvroError("type \(full) is defined twice") }
            named[full] = (index, false)
        }

        mutating func compileObject(_ value: JSONValue, namespace: String, depth: Int) throws(AvroError) -> Int32 {
            guard let type = value["type"] else { throw AvroError("schema object without type") }
            guard case .string(let typeName) = type else {
                // {"type": {...}} or {"type": [...]}: the inner schema.
                return try compile(type, namespace: namespace, depth: depth + 1)
            }
            if let kind = Builder.primitive(typeName) {
                let (logical, connectName) = Builder.logical(value, kind: kind)
                return try add(
                    AvroNode(kind: kind, logical: logical, connectName: connectName, minSize: Builder.minSize(kind)))
            }
            switch typeName {
            case "record", "error":
                let (full, ns) = try naming(value, namespace: namespace)
                let index = try add(AvroNode(kind: .record, name: full))
                try define(full, index)
                guard case .array(let fieldValues)? = value["fields"] else {
                    throw AvroError("record \(full) without fields")
                }
                var fields: [AvroField] = []
                var names: Set<String> = []
                var minSize = 0
                for f in fieldValues {
                    guard let name = f["name"]?.stringValue else { throw AvroError("a field of \(full) has no name") }
                    guard names.insert(name).inserted else {
                        throw AvroError("record \(full) has two fields named \(name)")
                    }
                    guard let t = f["type"] else { throw AvroError("field \(full).\(name) has no type") }
                    let ft = try compile(t, namespace: ns, depth: depth + 1)
                    fields.append(AvroField(name: name, nameBytes: Array(name.utf8), type: ft))
                    minSize += nodes[Int(ft)].minSize
                }
                let (logical, connectName) = Builder.logical(value, kind: .record)
                var node = nodes[Int(index)]
                node.fields = fields
                node.minSize = minSize
                node.logical = logical
                node.connectName = connectName
                // Debezium's VariableScaleDecimal, by shape: {scale: int|long, value: bytes}.
                if fields.count == 2, let s = fields.firstIndex(where: { $0.name == "scale" }),
                    let v = fields.firstIndex(where: { $0.name == "value" }),
                    [.int, .long].contains(nodes[Int(fields[s].type)].kind), nodes[Int(fields[v].type)].kind == .bytes
                {
                    node.vsdFields = (s, v)
                }
                nodes[Int(index)] = node
                named[full] = (index, true)
                return index
            case "enum":
                let (full, _) = try naming(value, namespace: namespace)
                guard case .array(let symbolValues)? = value["symbols"] else {
                    throw AvroError("enum \(full) without symbols")
                }
                var symbols: [String] = []
                for s in symbolValues {
                    guard let t = s.stringValue else {
                        throw AvroError("enum \(full) has a symbol that is not a string")
                    }
                    symbols.append(t)
                }
                guard !symbols.isEmpty else { throw AvroError("enum \(full) has no symbols") }
                let index = try add(AvroNode(kind: .enumeration, name: full, symbols: symbols, minSize: 1))
                try define(full, index)
                named[full] = (index, true)
                return index
            case "fixed":
                let (full, _) = try naming(value, namespace: namespace)
                guard let size = value["size"]?.int64Value, size >= 0, size <= 1 << 20 else {
                    throw AvroError("fixed \(full) without a valid size")
                }
                let (logical, connectName) = Builder.logical(value, kind: .fixed)
                let index = try add(
                    AvroNode(
                        kind: .fixed, name: full, size: Int(size), logical: logical, connectName: connectName,
                        minSize: Int(size)))
                try define(full, index)
                named[full] = (index, true)
                return index
            case "array", "map":
                guard let items = value[typeName == "array" ? "items" : "values"] else {
                    throw AvroError("\(typeName) without \(typeName == "array" ? "items" : "values")")
                }
                let inner = try compile(items, namespace: namespace, depth: depth + 1)
                return try add(AvroNode(kind: typeName == "array" ? .array : .map, items: inner, minSize: 1))
            default:
                // A name used as {"type": "Name"}.
                return try reference(typeName, namespace: namespace)
            }
        }
    }
}
