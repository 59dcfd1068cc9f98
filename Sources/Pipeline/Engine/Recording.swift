/// One message read back from a recording file.
public struct RecordedMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestampMs: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
}

public struct RecordingError: Error, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String { "\(file):\(line): \(reason)" }
}

/// Reads recordings of Kafka traffic, one message per line, in any of the forms people make:
/// - `kcat -C -J` lines: `{"topic":…,"partition":…,"offset":…,"ts":…,"key":"…","payload":"…"}`
///   (payload null = tombstone);
/// - `kcat -C -f '%t\t%p\t%o\t%k\t%s\n'` lines: topic, partition, offset, key, value separated by
///   tabs (empty value = tombstone);
/// - the samples' form `{"topic":…,"partition":…,"offset":…,"key":<JSON>,"value":<JSON or null>}`.
/// Blank lines are skipped. A line that fits none of them is a `RecordingError` naming file and line.
public enum RecordingReader {
    /// Parses one line (without its newline). Nil for a blank line.
    public static func parse(line: Substring, file: String, lineNumber: Int) throws -> RecordedMessage? {
        var bytes = Array(line.utf8)
        return try bytes.withUnsafeMutableBytes { try parse(line: UnsafeRawBufferPointer($0), file: file, lineNumber: lineNumber) }
    }

    /// Calls `body` for every message of a whole recording held in memory; lines are split on bytes.
    public static func forEachMessage(in data: UnsafeRawBufferPointer, file: String,
                                      _ body: (RecordedMessage) throws -> Void) throws {
        var lineStart = 0
        var lineNumber = 0
        while lineStart < data.count {
            lineNumber += 1
            var end = lineStart
            while end < data.count && data[end] != 0x0A { end += 1 }
            if let m = try parse(line: UnsafeRawBufferPointer(rebasing: data[lineStart..<end]), file: file, lineNumber: lineNumber) {
                try body(m)
            }
            lineStart = end + 1
        }
    }

    public static func parse(line raw: UnsafeRawBufferPointer, file: String, lineNumber: Int) throws -> RecordedMessage? {
        var start = 0, end = raw.count
        while start < end && (raw[start] == 0x20 || raw[start] == 0x0D) { start += 1 }
        while end > start && (raw[end - 1] == 0x20 || raw[end - 1] == 0x0D) { end -= 1 }
        if start == end { return nil }
        let line = UnsafeRawBufferPointer(rebasing: raw[start..<end])
        if line[0] == UInt8(ascii: "{") { return try parseJSONLine(line, file: file, lineNumber: lineNumber) }
        // kcat -f '%t\t%p\t%o\t%k\t%s\n': split on the first four tabs; the value may hold anything else.
        var fields: [Range<Int>] = []
        var fieldStart = 0
        for i in 0..<line.count where fields.count < 4 && line[i] == 0x09 {
            fields.append(fieldStart..<i); fieldStart = i + 1
        }
        fields.append(fieldStart..<line.count)
        func text(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: line[r]), as: UTF8.self) }
        guard fields.count == 5, let partition = Int32(text(fields[1])), let offset = Int64(text(fields[2])) else {
            throw RecordingError(file: file, line: lineNumber,
                                 reason: "not a kcat -J line nor a '%t\\t%p\\t%o\\t%k\\t%s' line")
        }
        return RecordedMessage(topic: text(fields[0]), partition: partition, offset: offset, timestampMs: 0,
                               key: fields[3].isEmpty ? nil : Array(UnsafeRawBufferPointer(rebasing: line[fields[3]])),
                               value: fields[4].isEmpty ? nil : Array(UnsafeRawBufferPointer(rebasing: line[fields[4]])))
    }

    static func parseJSONLine(_ raw: UnsafeRawBufferPointer, file: String, lineNumber: Int) throws -> RecordedMessage {
        func fail(_ why: String) -> RecordingError { RecordingError(file: file, line: lineNumber, reason: why) }
        var s = JSONScanner(raw)
        var topic: String?, partition: Int32?, offset: Int64?, ts: Int64 = 0
        var key: [UInt8]?, value: [UInt8]?
        var sawValue = false
        let ok = s.forEachMember { s, k in
            if s.equals(k, "topic") {
                guard let t = s.readString() else { return false }
                topic = s.string(t.range, escaped: t.escaped); return true
            } else if s.equals(k, "partition") {
                guard let r = s.readNumber(), let v = DebeziumDecoder.int64(s.raw(r)) else { return false }
                partition = Int32(truncatingIfNeeded: v); return true
            } else if s.equals(k, "offset") {
                guard let r = s.readNumber(), let v = DebeziumDecoder.int64(s.raw(r)) else { return false }
                offset = v; return true
            } else if s.equals(k, "ts") {
                guard let r = s.readNumber() else { return false }
                ts = DebeziumDecoder.int64(s.raw(r)) ?? 0; return true
            } else if s.equals(k, "key") || s.equals(k, "payload") || s.equals(k, "value") {
                let isKey = s.equals(k, "key")
                let isPayload = s.equals(k, "payload")
                if !isKey { sawValue = true }
                if s.consumeLiteral("null") { return true }
                var bytes: [UInt8]
                if isPayload || (isKey && s.peek() == UInt8(ascii: "\"")) {
                    // kcat -J: the message bytes as a JSON string.
                    guard let t = s.readString() else { return false }
                    if t.escaped {
                        guard let b = JSONScanner.unescapeBytes(UnsafeBufferPointer(start: s.base + t.range.lowerBound, count: t.range.count)) else { return false }
                        bytes = b
                    } else {
                        bytes = Array(s.raw(t.range))
                    }
                } else {
                    // Samples' form: the message is embedded JSON; keep its exact bytes.
                    s.skipWhitespace()
                    let start = s.index
                    guard s.skipValue() else { return false }
                    bytes = Array(s.raw(start..<s.index))
                }
                if isKey { key = bytes } else { value = bytes }
                return true
            }
            return s.skipValue()
        }
        guard ok else { throw fail("invalid JSON") }
        guard let topic, let partition, let offset else { throw fail("missing topic, partition or offset") }
        guard sawValue else { throw fail("no payload/value field") }
        return RecordedMessage(topic: topic, partition: partition, offset: offset, timestampMs: ts, key: key, value: value)
    }
}
