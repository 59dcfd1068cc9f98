import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses one line in place. Ranges in the entry are absolute offsets in `base`.
enum LineParser {
    /// A schema line's id and the ranges of its text (unescaped in place) and type (count -1: AVRO).
    struct SchemaRanges {
        var id: Int32 = 0
        var textStart = 0, textCount = -1
        var typeStart = 0, typeCount = -1
    }

    enum Kind {
        case blank
        /// The entry holds a message.
        case message
        case schema(SchemaRanges)
    }

    @inline(__always)
    static func parse(
        _ base: UnsafeMutablePointer<UInt8>, _ lineStart: Int, _ lineEnd: Int, into entry: inout RecordingBatch.Entry,
        topics: inout RecordingTopics, file: String, lineNumber: Int
    ) throws -> Kind {
        var start = lineStart
        var end = lineEnd
        while start < end && (base[start] == 0x20 || base[start] == 0x0D) { start += 1 }
        while end > start && (base[end - 1] == 0x20 || base[end - 1] == 0x0D) { end -= 1 }
        if start == end { return .blank }
        if base[start] == UInt8(ascii: "{") {
            var schema = SchemaRanges()
            if let reason = parseJSON(base, start, end, into: &entry, topics: &topics, schema: &schema) {
                throw RecordingError(file: file, line: lineNumber, reason: reason)
            }
            return schema.textCount >= 0 ? .schema(schema) : .message
        }
        guard parseTabs(base, start, end, into: &entry, topics: &topics) else {
            throw RecordingError(
                file: file, line: lineNumber,
                reason: "not a kcat -J line nor a '%t\\t%p\\t%o\\t%k\\t%s' line")
        }
        return .message
    }

    /// kcat -f '%t\t%p\t%o\t%k\t%s\n': the first four tabs split the fields; the value may hold anything else.
    @inline(__always)
    static func parseTabs(
        _ base: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int, into e: inout RecordingBatch.Entry,
        topics: inout RecordingTopics
    ) -> Bool {
        var cuts = (0, 0, 0, 0)
        var from = start
        for k in 0..<4 {
            guard from <= end, let t = memchr(base + from, 0x09, end - from) else { return false }
            let at = base.distance(to: t.assumingMemoryBound(to: UInt8.self))
            switch k {
            case 0: cuts.0 = at
            case 1: cuts.1 = at
            case 2: cuts.2 = at
            default: cuts.3 = at
            }
            from = at + 1
        }
        guard
            let partition = DebeziumDecoder.int64(
                UnsafeRawBufferPointer(start: base + cuts.0 + 1, count: cuts.1 - cuts.0 - 1)),
            let offset = DebeziumDecoder.int64(
                UnsafeRawBufferPointer(start: base + cuts.1 + 1, count: cuts.2 - cuts.1 - 1)),
            let p32 = Int32(exactly: partition)
        else { return false }
        e.topic = topics.index(base + start, cuts.0 - start).index
        e.partition = p32
        e.offset = offset
        e.timestampMs = 0
        let keyCount = cuts.3 - cuts.2 - 1
        e.keyStart = cuts.2 + 1
        e.keyCount = keyCount == 0 ? -1 : keyCount
        let valueCount = end - cuts.3 - 1
        e.valueStart = cuts.3 + 1
        e.valueCount = valueCount == 0 ? -1 : valueCount
        return true
    }

    /// kcat -J, the samples' form, the binary-safe form or a schema line (then `schema.textCount` ≥ 0).
    /// Returns the reason when the line is none of them.
    static func parseJSON(
        _ base: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int, into e: inout RecordingBatch.Entry,
        topics: inout RecordingTopics, schema: inout SchemaRanges
    ) -> String? {
        var s = JSONScanner(UnsafeRawBufferPointer(start: base, count: end))
        s.index = start
        var sawTopic = false
        var sawPartition = false
        var sawOffset = false
        var sawValue = false
        var sawSchemaID = false
        var failure: String?
        e.timestampMs = 0
        e.keyCount = -1
        e.valueCount = -1
        let ok = s.forEachMember { s, k in
            switch k.count {
            case 7 where s.equals(k, "key_b64"), 9 where s.equals(k, "value_b64"):
                // Binary-safe form: base64 of the exact bytes, decoded where it lies.
                let isKey = k.count == 7
                if !isKey { sawValue = true }
                if s.consumeLiteral("null") {
                    if isKey { e.keyCount = -1 } else { e.valueCount = -1 }
                    return true
                }
                // Unescaped first: a writer may escape `/` as `\/`.
                guard s.peek() == UInt8(ascii: "\""),
                    let r = JSONStringUnescaper.unescapeString(base, from: s.index + 1, limit: end)
                else {
                    return false
                }
                let from = s.index + 1
                switch Base64InPlace.decode(base, from: from, count: r.length) {
                case .decoded(let count):
                    if isKey {
                        e.keyStart = from
                        e.keyCount = count
                    } else {
                        e.valueStart = from
                        e.valueCount = count
                    }
                case .invalid(let at, let why):
                    failure =
                        "\(isKey ? "key_b64" : "value_b64") is not valid base64: \(why) at character \(at + 1) of \(r.length)"
                    return false
                }
                s.index = r.next
                return true
            case 9 where s.equals(k, "schema_id"):
                guard let r = s.readNumber(), let v = DebeziumDecoder.int64(s.raw(r)), let id = Int32(exactly: v) else {
                    failure = "schema_id is not a 32-bit integer"
                    return false
                }
                schema.id = id
                sawSchemaID = true
                return true
            case 6 where s.equals(k, "schema"), 11 where s.equals(k, "schema_type"):
                guard s.peek() == UInt8(ascii: "\""),
                    let r = JSONStringUnescaper.unescapeString(base, from: s.index + 1, limit: end)
                else {
                    failure = "\(k.count == 6 ? "schema" : "schema_type") is not a JSON string"
                    return false
                }
                if k.count == 6 {
                    schema.textStart = s.index + 1
                    schema.textCount = r.length
                } else {
                    schema.typeStart = s.index + 1
                    schema.typeCount = r.length
                }
                s.index = r.next
                return true
            case 5 where s.equals(k, "topic"):
                guard s.peek() == UInt8(ascii: "\""),
                    let r = JSONStringUnescaper.unescapeString(base, from: s.index + 1, limit: end)
                else { return false }
                e.topic = topics.index(base + s.index + 1, r.length).index
                s.index = r.next
                sawTopic = true
                return true
            case 9 where s.equals(k, "partition"):
                guard let r = s.readNumber(), let v = DebeziumDecoder.int64(s.raw(r)), let p = Int32(exactly: v) else {
                    return false
                }
                e.partition = p
                sawPartition = true
                return true
            case 6 where s.equals(k, "offset"):
                guard let r = s.readNumber(), let v = DebeziumDecoder.int64(s.raw(r)) else { return false }
                e.offset = v
                sawOffset = true
                return true
            case 2 where s.equals(k, "ts"):
                guard let r = s.readNumber() else { return false }
                e.timestampMs = DebeziumDecoder.int64(s.raw(r)) ?? 0
                return true
            case 3 where s.equals(k, "key"), 7 where s.equals(k, "payload"), 5 where s.equals(k, "value"):
                let isKey = k.count == 3
                if !isKey { sawValue = true }
                if s.consumeLiteral("null") {
                    if isKey { e.keyCount = -1 } else { e.valueCount = -1 }
                    return true
                }
                let from: Int
                let count: Int
                if s.peek() == UInt8(ascii: "\"") && k.count != 5 {
                    // kcat -J: the message bytes as a JSON string, unescaped where they lie; a payload
                    // that starts like the topic's last one (its schema) reuses that one's decoding.
                    let r: (next: Int, length: Int)?
                    if !isKey && sawTopic {
                        r = topics.memos[Int(e.topic)].unescape(base, from: s.index + 1, limit: end)
                    } else {
                        r = JSONStringUnescaper.unescapeString(base, from: s.index + 1, limit: end)
                    }
                    guard let r else { return false }
                    from = s.index + 1
                    count = r.length
                    s.index = r.next
                } else {
                    // Samples' form (or a deserialized kcat payload): embedded JSON, kept byte for byte.
                    s.skipWhitespace()
                    from = s.index
                    guard s.skipValue() else { return false }
                    count = s.index - from
                }
                if isKey {
                    e.keyStart = from
                    e.keyCount = count
                } else {
                    e.valueStart = from
                    e.valueCount = count
                }
                return true
            default:
                return s.skipValue()
            }
        }
        guard ok else { return failure ?? "invalid JSON" }
        s.skipWhitespace()
        guard s.index == end else { return "invalid JSON (text after the object)" }
        if sawSchemaID || schema.textCount >= 0 {
            guard sawSchemaID, schema.textCount >= 0, !sawTopic else {
                schema.textCount = -1
                return
                    "a schema line needs \"schema_id\" and \"schema\" (and no topic): {\"schema_id\":N,\"schema\":\"…\"}"
            }
            return nil
        }
        guard sawTopic, sawPartition, sawOffset else { return "missing topic, partition or offset" }
        guard sawValue else { return "no payload/value field" }
        return nil
    }
}
