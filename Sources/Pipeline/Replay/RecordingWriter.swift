import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes recordings in cdctop's binary-safe line form (see `RecordingReader`): one
/// `{"topic":…,"partition":…,"offset":…,"ts":…,"key_b64":…,"value_b64":…}` line per message, base64
/// of the exact bytes (null for a null key or a tombstone), and a `{"schema_id":N,"schema":"…"}` line
/// before the first message that uses schema id N. Buffered; `-` is standard output.
package final class RecordingWriter {
    package let path: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private var schemaIDs = Set<Int32>()
    package private(set) var messagesWritten: Int64 = 0
    package private(set) var schemasWritten = 0
    package private(set) var bytesWritten: Int64 = 0

    /// Creates (or truncates) `path`; `-` writes to standard output.
    package init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = STDOUT_FILENO
            ownsDescriptor = false
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw RecordingError(
                    file: path, line: 0,
                    reason:
                        "cannot create the recording: \(String(cString: strerror(errno))); check the folder exists and is writable"
                )
            }
            ownsDescriptor = true
        }
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        try? flush()
        if ownsDescriptor { close(fd) }
    }

    /// True once the schema line of `id` was written.
    package func hasSchema(id: Int32) -> Bool { schemaIDs.contains(id) }

    /// `{"schema_id":N,"schema":"…"}` (with `"schema_type"` unless AVRO), once per id.
    package func writeSchema(id: Int32, schemaType: String = "AVRO", text: String) throws {
        guard schemaIDs.insert(id).inserted else { return }
        buffer.appendASCII(#"{"schema_id":"#)
        buffer.appendDecimal(Int64(id))
        if schemaType != "AVRO" {
            buffer.appendASCII(#","schema_type":"#)
            buffer.appendJSONString(schemaType)
        }
        buffer.appendASCII(#","schema":"#)
        buffer.appendJSONString(text)
        buffer.appendASCII("}\n")
        schemasWritten += 1
        try flushIfFull()
    }

    /// One message. `topicJSON` is the topic as a quoted JSON string (see `quotedTopic`).
    package func writeMessage(
        topicJSON: [UInt8], partition: Int32, offset: Int64, timestampMs: Int64,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?
    ) throws {
        buffer.appendASCII(#"{"topic":"#)
        buffer.append(contentsOf: topicJSON)
        buffer.appendASCII(#","partition":"#)
        buffer.appendDecimal(Int64(partition))
        buffer.appendASCII(#","offset":"#)
        buffer.appendDecimal(offset)
        buffer.appendASCII(#","ts":"#)
        buffer.appendDecimal(timestampMs)
        buffer.appendASCII(#","key_b64":"#)
        appendBase64String(key)
        buffer.appendASCII(#","value_b64":"#)
        appendBase64String(value)
        buffer.appendASCII("}\n")
        messagesWritten += 1
        try flushIfFull()
    }

    package func writeMessage(
        topic: String, partition: Int32, offset: Int64, timestampMs: Int64, key: [UInt8]?, value: [UInt8]?
    ) throws {
        func withOptional<R>(_ a: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
            guard let a else { return try body(nil) }
            return try a.withUnsafeBytes { try body($0) }
        }
        try withOptional(key) { k in
            try withOptional(value) { v in
                try writeMessage(
                    topicJSON: RecordingWriter.quotedTopic(topic), partition: partition, offset: offset,
                    timestampMs: timestampMs, key: k, value: v)
            }
        }
    }

    /// A topic name as the JSON string a line carries (computed once per topic by callers).
    package static func quotedTopic(_ topic: String) -> [UInt8] {
        var out: [UInt8] = []
        out.appendJSONString(topic)
        return out
    }

    private func appendBase64String(_ bytes: UnsafeRawBufferPointer?) {
        guard let bytes else {
            buffer.appendASCII("null")
            return
        }
        buffer.append(UInt8(ascii: "\""))
        JSONBytes.appendBase64(bytes, to: &buffer)
        buffer.append(UInt8(ascii: "\""))
    }

    private func flushIfFull() throws { if buffer.count >= 1 << 20 { try flush() } }

    /// Writes out what is buffered (the file then holds whole lines only).
    package func flush() throws {
        var at = 0
        try buffer.withUnsafeBytes { all in
            while at < all.count {
                let n = write(fd, all.baseAddress! + at, all.count - at)
                if n > 0 {
                    at += n
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                throw RecordingError(
                    file: path, line: 0, reason: "cannot write the recording: \(String(cString: strerror(errno)))")
            }
        }
        bytesWritten += Int64(at)
        buffer.removeAll(keepingCapacity: true)
    }
}
