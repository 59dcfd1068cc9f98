import Foundation

package struct RecordingError: Error, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var reason: String
    package var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// Recordings of Kafka traffic, one message per line, in any of the forms people make:
/// - `kcat -C -J` lines: `{"topic":…,"partition":…,"offset":…,"ts":…,"key":"…","payload":"…"}`
///   (payload null = tombstone);
/// - `kcat -C -f '%t\t%p\t%o\t%k\t%s\n'` lines: topic, partition, offset, key, value separated by
///   tabs (empty value = tombstone);
/// - the samples' form `{"topic":…,"partition":…,"offset":…,"key":<JSON>,"value":<JSON or null>}`;
/// - cdctop's binary-safe form (`cdctop record`), for Avro and any other bytes:
///   `{"topic":…,"partition":…,"offset":…,"ts":…,"key_b64":"…"|null,"value_b64":"…"|null}` (base64 of
///   the exact bytes), and schema lines `{"schema_id":N,"schema":"<the registry's schema string>"}`
///   (optionally `"schema_type":"JSON"`), each before the first message that uses id N, so that a
///   recording of Avro topics decodes without the registry.
/// Blank lines (and CR before LF) are skipped. A line that fits none of them is a `RecordingError`
/// naming file and line.
///
/// The streaming path (`RecordingScanner`, `RecordingReplay`) reads fixed-size chunks with `read(2)`,
/// splits lines with `memchr`, and parses each line where it lies: kcat's JSON-string payloads are
/// unescaped in place (the unescaped form is never longer), tab-form and embedded-JSON values are
/// used as they are, base64 is decoded in place (it is never shorter than its bytes). Memory is a
/// few chunks, whatever the size of the file.
package enum RecordingReader {
    /// Parses one line (without its newline) into an owning copy. Nil for a blank line or a schema line.
    package static func parse(line: Substring, file: String, lineNumber: Int) throws -> OwnedMessage? {
        var bytes = Array(line.utf8)
        return try bytes.withUnsafeMutableBytes { try parse(mutableLine: $0, file: file, lineNumber: lineNumber) }
    }

    package static func parse(line raw: UnsafeRawBufferPointer, file: String, lineNumber: Int) throws -> OwnedMessage? {
        var bytes = Array(raw)
        return try bytes.withUnsafeMutableBytes { try parse(mutableLine: $0, file: file, lineNumber: lineNumber) }
    }

    /// Parses (and unescapes in place) a line in a scratch buffer.
    static func parse(mutableLine line: UnsafeMutableRawBufferPointer, file: String, lineNumber: Int) throws
        -> OwnedMessage?
    {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var topics = RecordingTopics()
        var entry = RecordingBatch.Entry()
        guard
            case .message = try LineParser.parse(
                base, 0, line.count, into: &entry, topics: &topics, file: file, lineNumber: lineNumber)
        else {
            return nil
        }
        func bytes(_ start: Int, _ count: Int) -> [UInt8]? {
            count < 0 ? nil : Array(UnsafeBufferPointer(start: base + start, count: count))
        }
        return OwnedMessage(
            topic: topics.names[Int(entry.topic)], partition: entry.partition, offset: entry.offset,
            timestampMs: entry.timestampMs,
            key: bytes(entry.keyStart, entry.keyCount), value: bytes(entry.valueStart, entry.valueCount))
    }
}
