import Metrics

/// Why decoding stopped: what and where. `structural` failures (truncation, a bad varint, a bad
/// union index…) end the message at once; value failures (a decimal out of range…) are checked in
/// the JSON path's order, so a problem in a row image is reported where the JSON path reports it.
struct AvroStop: Error {
    var reason: String
    var at: Int
    var structural: Bool
}

/// The Confluent wire format of a key or value: byte 0x00, the schema id as 4 bytes big-endian, then
/// the payload (Avro binary; JSON under JSON Schema). One reading of it for the engine, the recorder,
/// the profile sampler and the dashboard.
package enum AvroWire {
    package static let headerSize = 5

    /// The schema id of framed bytes; nil when they are not framed.
    @inline(__always)
    package static func schemaID(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard bytes.count >= headerSize, bytes[0] == 0 else { return nil }
        return Int32(
            bitPattern: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
    }

    package static func schemaID(_ bytes: [UInt8]?) -> Int32? {
        guard let bytes else { return nil }
        return bytes.withUnsafeBytes { schemaID($0) }
    }
}

/// A value read where the profile wants it, as JsonConverter would have written it to JSON:
/// integers, floats, strings, bytes (base64 in JSON), decimals (base64 + the schema's scale),
/// VariableScaleDecimal, enums (strings) or a nested value (kept as its JSON text).
enum AvroToken {
    case null
    case bool(Bool)
    case long(Int64)
    case float(Float)
    case double(Double)
    /// Bytes `start..<start+count` of the payload, not yet checked as UTF-8.
    case string(start: Int, count: Int)
    /// Plain bytes, or a decimal's unscaled value when `scale` is set.
    case bytes(start: Int, count: Int, scale: Int?)
    case variableScaleDecimal(scale: Int64, start: Int, count: Int)
    case symbol(node: Int32, index: Int)
    /// A record, array or map at `start..<end`.
    case complex(node: Int32, start: Int, end: Int)
}

/// A cursor over one Avro payload, every read bounds-checked; nothing traps on any input.
struct AvroReader {
    let base: UnsafePointer<UInt8>
    let count: Int
    var pos: Int

    init(_ buffer: UnsafeRawBufferPointer) {
        // An empty buffer may have no address: point at a static byte and read nothing.
        base = buffer.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? AvroReader.emptyByte
        count = buffer.count
        pos = 0
    }

    nonisolated(unsafe) static let emptyByte: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    var remaining: Int { count - pos }

    @inline(never)
    static func stop(_ reason: String, at: Int) -> AvroStop { AvroStop(reason: reason, at: at, structural: true) }

    /// A zig-zag varint: at most 10 bytes, and the tenth may only carry bit 63.
    @inline(__always)
    mutating func long() throws(AvroStop) -> Int64 {
        guard pos < count else { throw AvroReader.stop("truncated: a number was expected", at: pos) }
        let first = base[pos]
        if first < 0x80 {
            pos &+= 1
            return Int64(first >> 1) ^ -Int64(first & 1)
        }
        return try longSlow()
    }

    /// Moves past a zig-zag varint without decoding it (the same checks as `long`): with eight bytes
    /// left, one word load finds its last byte. Most skipped fields of `source` are such numbers
    /// (times, LSNs, transaction ids of 3 to 9 bytes).
    @inline(__always)
    mutating func skipLong() throws(AvroStop) {
        if count &- pos >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            // A clear top bit ends the varint.
            let ends = ~word & 0x8080_8080_8080_8080
            if ends != 0 {
                pos &+= ends.trailingZeroBitCount &>> 3 &+ 1
                return
            }
            // Nine bytes (times in nanoseconds): the ninth ends it, and nine bytes cannot overflow.
            if count &- pos >= 9 && base[pos &+ 8] < 0x80 {
                pos &+= 9
                return
            }
        } else {
            // Near the end (Debezium's last envelope field is a time): at most 7 bytes, so no overflow.
            var p = pos
            while p < count {
                if base[p] < 0x80 {
                    pos = p &+ 1
                    return
                }
                p &+= 1
            }
        }
        _ = try long()  // longer than 9 bytes, or truncated: `long` reads it or says why
    }

    mutating func longSlow() throws(AvroStop) -> Int64 {
        let start = pos
        if count &- pos >= 2 && base[pos &+ 1] < 0x80 {
            // Two bytes (ids, quantities): no word to pack.
            let x = UInt64(base[pos] & 0x7F) | UInt64(base[pos &+ 1]) &<< 7
            pos &+= 2
            return Int64(bitPattern: (x &>> 1) ^ (0 &- (x & 1)))
        }
        if count &- pos >= 8 {
            // Two to eight bytes (times, LSNs, ids): one word load finds the end, and three masked shifts
            // pack the 7-bit groups, where a loop took about ten instructions a byte.
            let word = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            let ends = ~word & 0x8080_8080_8080_8080
            if ends != 0 {
                let bytes = ends.trailingZeroBitCount &>> 3 &+ 1
                var x = word & (UInt64.max &>> UInt64(64 &- 8 &* bytes))
                x = (x & 0x007F_007F_007F_007F) | ((x & 0x7F00_7F00_7F00_7F00) &>> 1)
                x = (x & 0x0000_3FFF_0000_3FFF) | ((x & 0x3FFF_0000_3FFF_0000) &>> 2)
                x = (x & 0x0000_0000_0FFF_FFFF) | ((x & 0x0FFF_FFFF_0000_0000) &>> 4)
                pos &+= bytes
                return Int64(bitPattern: (x &>> 1) ^ (0 &- (x & 1)))
            }
        }
        if count &- pos >= 10 {
            // Ten bytes are there: no bounds check per byte (times and LSNs take 6 to 9).
            var p = base + pos
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = p.pointee
                p += 1
                result |= UInt64(b & 0x7F) << shift
                if b < 0x80 { break }
                shift &+= 7
                if shift == 63 {
                    let last = p.pointee
                    guard last <= 1 else { throw AvroReader.stop("varint overflows 64 bits", at: start) }
                    result |= UInt64(last) << 63
                    p += 1
                    break
                }
            }
            pos = p - base
            return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1)))
        }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < count else { throw AvroReader.stop("truncated inside a varint", at: start) }
            let b = base[pos]
            pos &+= 1
            if shift == 63 && b > 1 { throw AvroReader.stop("varint overflows 64 bits", at: start) }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1)))
    }

    @inline(__always)
    mutating func int() throws(AvroStop) -> Int64 {
        let start = pos
        let v = try long()
        guard v >= Int64(Int32.min) && v <= Int64(Int32.max) else {
            throw AvroReader.stop("int \(v) is beyond 32 bits", at: start)
        }
        return v
    }

    /// A length (of bytes or a string) that must fit in what is left.
    @inline(__always)
    mutating func length() throws(AvroStop) -> Int {
        let start = pos
        let n = try long()
        guard n >= 0 else { throw AvroReader.stop("negative length \(n)", at: start) }
        guard n <= Int64(count - pos) else {
            throw AvroReader.stop(
                "length \(n) goes beyond the end of the message (\(count - pos) bytes left)", at: start)
        }
        return Int(n)
    }

    @inline(__always)
    mutating func skipBytes(_ n: Int) throws(AvroStop) {
        guard n <= count - pos else {
            throw AvroReader.stop("truncated: \(n) bytes expected, \(count - pos) left", at: pos)
        }
        pos &+= n
    }

    @inline(__always)
    mutating func boolean() throws(AvroStop) -> Bool {
        guard pos < count else { throw AvroReader.stop("truncated: a boolean was expected", at: pos) }
        let b = base[pos]
        guard b <= 1 else { throw AvroReader.stop("boolean byte \(b) is neither 0 nor 1", at: pos) }
        pos &+= 1
        return b == 1
    }

    @inline(__always)
    mutating func fixed64() throws(AvroStop) -> UInt64 {
        guard count - pos >= 8 else { throw AvroReader.stop("truncated: a double was expected", at: pos) }
        let v = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self)
        pos &+= 8
        return UInt64(littleEndian: v)
    }

    @inline(__always)
    mutating func fixed32() throws(AvroStop) -> UInt32 {
        guard count - pos >= 4 else { throw AvroReader.stop("truncated: a float was expected", at: pos) }
        let v = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt32.self)
        pos &+= 4
        return UInt32(littleEndian: v)
    }

    /// A union's branch: its index, checked against the union.
    @inline(__always)
    mutating func branch(_ node: AvroNode) throws(AvroStop) -> Int32 {
        let start = pos
        let i = try long()
        guard i >= 0 && i < Int64(node.branches.count) else {
            throw AvroReader.stop(
                "union index \(i) is out of range (the union has \(node.branches.count) branches)", at: start)
        }
        return node.branches[Int(i)]
    }

    /// The item count of one array or map block (a negative count is followed by the block's byte
    /// size); 0 ends the array. Counts are bounded by what is left, so no count spins.
    @inline(__always)
    mutating func blockCount(itemMinSize: Int) throws(AvroStop) -> Int {
        let start = pos
        var n = try long()
        if n < 0 {
            guard n != Int64.min else { throw AvroReader.stop("block count overflows", at: start) }
            n = -n
            _ = try long()  // the block's size in bytes, which we do not need
        }
        let limit = itemMinSize > 0 ? Int64(count - pos) / Int64(itemMinSize) : 1_000_000
        guard n <= limit else {
            throw AvroReader.stop("block of \(n) items cannot fit in what is left of the message", at: start)
        }
        return Int(n)
    }

    /// A union's branch from its flat node: the index read and checked against the union.
    @inline(__always)
    mutating func branch(_ n: AvroFlatNode, _ links: UnsafePointer<Int32>) throws(AvroStop) -> Int32 {
        let start = pos
        let i = try long()
        guard i >= 0 && i < Int64(n.count) else {
            throw AvroReader.stop("union index \(i) is out of range (the union has \(n.count) branches)", at: start)
        }
        return links[Int(n.first) &+ Int(i)]
    }

    /// Whether an optional field (a union of null and one other type, `nullBranch` being null) holds a
    /// value: the canonical one-byte index is compared, any other encoding is read by `branch`.
    @inline(__always)
    mutating func isPresent(
        nullBranch: UInt8, _ union: Int32, _ flat: UnsafePointer<AvroFlatNode>, _ links: UnsafePointer<Int32>
    ) throws(AvroStop) -> Bool {
        if pos < count {
            let b = base[pos]
            // Zig-zag: index 0 is the byte 0, index 1 the byte 2.
            if b == 0 || b == 2 {
                pos &+= 1
                return b &>> 1 != nullBranch
            }
        }
        return flat[Int(try branch(flat[Int(union)], links))].kind != .null
    }

    /// Skips one value of `node`; recursion is bounded by the schema's depth.
    mutating func skip(_ node: Int32, _ schema: AvroSchema) throws(AvroStop) {
        try skip(node, schema.flat, schema.links)
    }

    /// Skips one value; reads only the flat nodes (nothing retained). The kinds of most fields (strings,
    /// numbers, optional ones) are skipped here without a call per field.
    mutating func skip(_ node: Int32, _ flat: UnsafePointer<AvroFlatNode>, _ links: UnsafePointer<Int32>)
        throws(AvroStop)
    {
        let n = flat[Int(node)]
        switch n.kind {
        case .null: return
        case .boolean: _ = try boolean()
        case .int: _ = try int()
        case .long: try skipLong()
        case .float: try skipBytes(4)
        case .double: try skipBytes(8)
        case .bytes, .string: pos &+= try length()
        case .fixed: try skipBytes(n.size)
        case .enumeration:
            let start = pos
            let i = try long()
            guard i >= 0 && i < Int64(n.count) else {
                throw AvroReader.stop("enum index \(i) is out of range", at: start)
            }
        case .record:
            var i = Int(n.first)
            let end = i &+ Int(n.count)
            while i < end {
                try skipField(links[i], flat, links)
                i &+= 1
            }
        case .union:
            try skipField(try branch(n, links), flat, links)
        case .array, .map:
            let isMap = n.kind == .map
            while true {
                let c = try blockCount(itemMinSize: n.size)
                if c == 0 { break }
                for _ in 0..<c {
                    if isMap { pos &+= try length() }
                    try skip(n.items, flat, links)
                }
            }
        }
    }

    /// One field's value skipped: the common scalar kinds inline, the rest by `skip`.
    @inline(__always)
    mutating func skipField(_ node: Int32, _ flat: UnsafePointer<AvroFlatNode>, _ links: UnsafePointer<Int32>)
        throws(AvroStop)
    {
        var t = node
        var kind = flat[Int(t)].kind
        if kind == .union {
            t = try branch(flat[Int(t)], links)
            kind = flat[Int(t)].kind
        }
        switch kind {
        case .null: return
        case .long: try skipLong()
        case .bytes, .string: pos &+= try length()
        default: try skip(t, flat, links)
        }
    }

    /// One value as a token (unions resolved), for a column the profile reads.
    mutating func token(_ node: Int32, _ schema: AvroSchema) throws(AvroStop) -> AvroToken {
        try token(node, schema.flat, schema.links)
    }

    @inline(__always)
    mutating func token(_ node: Int32, _ flat: UnsafePointer<AvroFlatNode>, _ links: UnsafePointer<Int32>)
        throws(AvroStop) -> AvroToken
    {
        var t = node
        if flat[Int(t)].kind == .union { t = try branch(flat[Int(t)], links) }
        let n = flat[Int(t)]
        switch n.kind {
        case .null: return .null
        case .long: return .long(try long())
        case .string:
            let c = try length()
            defer { pos &+= c }
            return .string(start: pos, count: c)
        case .bytes:
            let c = try length()
            defer { pos &+= c }
            return .bytes(start: pos, count: c, scale: n.decimalScale >= 0 ? Int(n.decimalScale) : nil)
        default: return try tokenOther(t, flat, links)
        }
    }

    /// The less common kinds of `token` (after unions are resolved).
    mutating func tokenOther(_ node: Int32, _ flat: UnsafePointer<AvroFlatNode>, _ links: UnsafePointer<Int32>)
        throws(AvroStop) -> AvroToken
    {
        let n = flat[Int(node)]
        switch n.kind {
        case .null: return .null
        case .boolean: return .bool(try boolean())
        case .int: return .long(try int())
        case .long: return .long(try long())
        case .float: return .float(Float(bitPattern: try fixed32()))
        case .double: return .double(Double(bitPattern: try fixed64()))
        case .string:
            let c = try length()
            defer { pos &+= c }
            return .string(start: pos, count: c)
        case .bytes:
            let c = try length()
            defer { pos &+= c }
            return .bytes(start: pos, count: c, scale: n.decimalScale >= 0 ? Int(n.decimalScale) : nil)
        case .fixed:
            let start = pos
            try skipBytes(n.size)
            return .bytes(start: start, count: n.size, scale: n.decimalScale >= 0 ? Int(n.decimalScale) : nil)
        case .enumeration:
            let start = pos
            let i = try long()
            guard i >= 0 && i < Int64(n.count) else {
                throw AvroReader.stop("enum index \(i) is out of range", at: start)
            }
            return .symbol(node: node, index: Int(i))
        case .union:
            // A union directly inside a union is refused when the schema is compiled.
            return try tokenOther(try branch(n, links), flat, links)
        case .record:
            let start = pos
            if n.vsdScale >= 0 {
                var scale: Int64 = 0
                var value = (0, 0)
                for i in 0..<Int(n.count) {
                    if i == Int(n.vsdScale) {
                        scale = try long()
                    } else if i == Int(n.vsdValue) {
                        let c = try length()
                        value = (pos, c)
                        pos &+= c
                    } else {
                        try skip(links[Int(n.first) &+ i], flat, links)
                    }
                }
                return .variableScaleDecimal(scale: scale, start: value.0, count: value.1)
            }
            try skip(node, flat, links)
            return .complex(node: node, start: start, end: pos)
        case .array, .map:
            let start = pos
            try skip(node, flat, links)
            return .complex(node: node, start: start, end: pos)
        }
    }

    // MARK: bytes

    func raw(_ start: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: UnsafeRawPointer(base + start), count: count)
    }

    func equals(_ start: Int, _ count: Int, _ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        return memcmp(base + start, literal.utf8Start, count) == 0
    }

    func equals(_ start: Int, _ count: Int, _ bytes: [UInt8]) -> Bool {
        guard count == bytes.count else { return false }
        return bytes.withUnsafeBufferPointer { count == 0 || memcmp(base + start, $0.baseAddress!, count) == 0 }
    }

    /// The offset of the first byte of `start..<start+count` that is not part of valid UTF-8, or nil.
    static func firstInvalidUTF8(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        var i = 0
        while i < count {
            // Eight ASCII bytes at a time.
            if i &+ 8 <= count && UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i &+= 8
                continue
            }
            let b = p[i]
            if b < 0x80 {
                i &+= 1
                continue
            }
            let need: Int
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: need = 1
            case 0xE0:
                need = 2
                lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED:
                need = 2
                hi = 0x9F
            case 0xF0:
                need = 3
                lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4:
                need = 3
                hi = 0x8F
            default: return i
            }
            for k in 1...need {
                guard i + k < count else { return i }
                let c = p[i + k]
                let (l, h) = k == 1 ? (lo, hi) : (UInt8(0x80), UInt8(0xBF))
                guard c >= l && c <= h else { return i }
            }
            i &+= need + 1
        }
        return nil
    }

    /// The string at `start`, checked as UTF-8; nil (with the bad byte's position) when it is not.
    func string(_ start: Int, _ count: Int) -> (String?, badAt: Int) {
        if let bad = AvroReader.firstInvalidUTF8(base + start, count) { return (nil, start + bad) }
        return (String(decoding: UnsafeBufferPointer(start: base + start, count: count), as: UTF8.self), 0)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
