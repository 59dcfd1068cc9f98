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
    public static func parse(line: Substring, file: String, lineNumber: Int) throws -> RecordedMessage? {
        let trimmed = line.drop(while: { $0 == " " || $0 == "\r" })
        if trimmed.isEmpty || trimmed.allSatisfy({ $0 == " " || $0 == "\r" }) { return nil }
        if trimmed.first == "{" {
            var bytes = Array(trimmed.utf8)
            while let last = bytes.last, last == 0x0D || last == 0x20 { bytes.removeLast() }
            return try parseJSONLine(bytes, file: file, lineNumber: lineNumber)
        }
        let fields = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
        guard fields.count == 5, let partition = Int32(fields[1]), let offset = Int64(fields[2]) else {
            throw RecordingError(file: file, line: lineNumber,
                                 reason: "not a kcat -J line nor a '%t\\t%p\\t%o\\t%k\\t%s' line")
        }
        var value = Array(fields[4].utf8)
        while let last = value.last, last == 0x0D { value.removeLast() }
        return RecordedMessage(topic: String(fields[0]), partition: partition, offset: offset, timestampMs: 0,
                               key: fields[3].isEmpty ? nil : Array(fields[3].utf8),
                               value: value.isEmpty ? nil : value)
    }

    static func parseJSONLine(_ bytes: [UInt8], file: String, lineNumber: Int) throws -> RecordedMessage {
        func fail(_ why: String) -> RecordingError { RecordingError(file: file, line: lineNumber, reason: why) }
        return try bytes.withUnsafeBytes { raw -> RecordedMessage in
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
                            guard let str = s.string(t.range, escaped: true) else { return false }
                            bytes = Array(str.utf8)
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
}
