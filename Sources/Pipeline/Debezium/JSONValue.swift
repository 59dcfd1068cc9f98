/// A parsed JSON value for the cold paths (schemas, the full before/after view, recordings).
/// Numbers keep their source text so decimals stay exact.
package indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    package static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    package func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let n): hasher.combine(n)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o):
            for m in o {
                hasher.combine(m.key)
                hasher.combine(m.value)
            }
        }
    }

    package subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first(where: { $0.key == key })?.value }
        return nil
    }

    package var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    package var int64Value: Int64? {
        switch self {
        case .number(let n): Int64(n)
        case .string(let s): Int64(s)
        default: nil
        }
    }
    package var isNull: Bool { if case .null = self { true } else { false } }

    /// Parses a whole document; nil when it is not valid JSON.
    package static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
        var scanner = JSONScanner(bytes)
        guard let v = parseValue(&scanner, depth: 0) else { return nil }
        scanner.skipWhitespace()
        return scanner.atEnd ? v : nil
    }

    package static func parse(_ text: String) -> JSONValue? {
        var copy = text
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    package static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Deepest nesting `parse` accepts; deeper documents are invalid. Kafka Connect schemas and
    /// Debezium values nest about 6 levels; the bound keeps the recursion's stack use small on any thread.
    package static let maxDepth = 64

    static func parseValue(_ s: inout JSONScanner, depth: Int) -> JSONValue? {
        guard depth < maxDepth, let c = s.peek() else { return nil }
        switch c {
        case UInt8(ascii: "{"):
            var members: [(key: String, value: JSONValue)] = []
            let ok = s.forEachMember { inner, keyRange in
                guard let key = inner.string(keyRange, escaped: inner.rangeHasEscape(keyRange)),
                    let v = parseValue(&inner, depth: depth + 1)
                else { return false }
                members.append((key, v))
                return true
            }
            return ok ? .object(members) : nil
        case UInt8(ascii: "["):
            _ = s.consume(UInt8(ascii: "["))
            var items: [JSONValue] = []
            if s.consume(UInt8(ascii: "]")) { return .array(items) }
            while true {
                guard let v = parseValue(&s, depth: depth + 1) else { return nil }
                items.append(v)
                if s.consume(UInt8(ascii: ",")) { continue }
                return s.consume(UInt8(ascii: "]")) ? .array(items) : nil
            }
        case UInt8(ascii: "\""):
            guard let t = s.readString(), let str = s.string(t.range, escaped: t.escaped) else { return nil }
            return .string(str)
        case UInt8(ascii: "t"): return s.consumeLiteral("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return s.consumeLiteral("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return s.consumeLiteral("null") ? .null : nil
        default:
            guard let r = s.readNumber() else { return nil }
            return .number(String(decoding: UnsafeRawBufferPointer(s.raw(r)), as: UTF8.self))
        }
    }
}

extension JSONScanner {
    func rangeHasEscape(_ range: Range<Int>) -> Bool {
        for i in range where base[i] == UInt8(ascii: "\\") { return true }
        return false
    }
}
