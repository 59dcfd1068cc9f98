import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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

/// The messages parsed from one chunk of a recording. Keys and values are ranges of the batch's own
/// buffer, so a batch is handed from the reading thread to the decoding thread whole, and recycled.
package final class RecordingBatch: @unchecked Sendable {
    // @unchecked: a batch is owned by one thread at a time; `RecordingChannel` hands it over under a lock.
    package struct Entry {
        package var topic: Int32 = 0
        package var partition: Int32 = 0
        package var offset: Int64 = 0
        package var timestampMs: Int64 = 0
        /// Byte ranges in `buffer`; a count of -1 is a null key/value.
        package var keyStart = 0, keyCount = -1
        package var valueStart = 0, valueCount = -1
        /// Line of the recording (for errors about the message, e.g. a schema id nobody knows).
        package var line = 0
    }

    /// A `{"schema_id":N,"schema":"…"}` line: registered before the entry at index `beforeEntry`.
    package struct SchemaLine: Sendable {
        package var beforeEntry: Int
        package var id: Int32
        package var schemaType: String
        package var text: String
        package var line: Int
    }

    package private(set) var buffer: UnsafeMutableRawPointer
    package private(set) var capacity: Int
    /// Bytes of the chunk in `buffer` (complete lines plus the carried-over partial line).
    var used = 0
    package internal(set) var entries: [Entry] = []
    /// Schema lines of this chunk, in order (rare: one per schema id of the recording).
    package internal(set) var schemas: [SchemaLine] = []
    /// The recording the batch was read from (for errors).
    package internal(set) var file = ""
    /// Topics first seen in this batch, numbered from `firstNewTopic` (`Entry.topic` indexes them).
    package internal(set) var newTopics: [String] = []
    package internal(set) var firstNewTopic = 0
    /// Bytes read from the file into this batch (for throughput figures).
    package internal(set) var bytesRead = 0

    package init(capacity: Int) {
        self.capacity = max(capacity, 16)
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
        entries.reserveCapacity(self.capacity / 512)
    }

    deinit { buffer.deallocate() }

    func reset() {
        used = 0
        bytesRead = 0
        entries.removeAll(keepingCapacity: true)
        newTopics.removeAll(keepingCapacity: true)
        schemas.removeAll(keepingCapacity: true)
    }

    /// Doubles the buffer for a line longer than it, keeping the bytes held.
    func grow() {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
        bigger.copyMemory(from: buffer, byteCount: used)
        buffer.deallocate()
        buffer = bigger
        capacity *= 2
    }

    @inline(__always) package func key(_ e: Entry) -> UnsafeRawBufferPointer? {
        e.keyCount < 0 ? nil : UnsafeRawBufferPointer(start: buffer + e.keyStart, count: e.keyCount)
    }

    @inline(__always) package func value(_ e: Entry) -> UnsafeRawBufferPointer? {
        e.valueCount < 0 ? nil : UnsafeRawBufferPointer(start: buffer + e.valueStart, count: e.valueCount)
    }
}

/// Topic names seen in one recording, numbered in order of first appearance; looked up by bytes so
/// the hot path makes no `String`.
struct RecordingTopics {
    private(set) var names: [String] = []
    private var bytes: [[UInt8]] = []
    private var last = -1
    /// Per topic, the last kcat -J payload decoded the slow way (see `UnescapeMemo`).
    var memos: [UnescapeMemo] = []

    @inline(__always) mutating func index(_ p: UnsafePointer<UInt8>, _ count: Int) -> (index: Int32, isNew: Bool) {
        if last >= 0 && matches(last, p, count) { return (Int32(last), false) }
        for i in bytes.indices where i != last && matches(i, p, count) {
            last = i
            return (Int32(i), false)
        }
        bytes.append(Array(UnsafeBufferPointer(start: p, count: count)))
        names.append(String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self))
        memos.append(UnescapeMemo())
        last = bytes.count - 1
        return (Int32(last), true)
    }

    @inline(__always) private func matches(_ i: Int, _ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        bytes[i].count == count && bytes[i].withUnsafeBufferPointer { memcmp($0.baseAddress!, p, count) == 0 }
    }
}

/// Reads a recording from a file descriptor in chunks and fills `RecordingBatch`es with its messages.
/// A line cut by the end of a chunk is carried over to the start of the next batch; a line longer
/// than a chunk grows that batch's buffer.
package final class RecordingScanner: @unchecked Sendable {
    // @unchecked: used by one thread at a time (the reading thread in `RecordingReplay`).
    package let file: String
    package let chunkSize: Int
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var atEOF = false
    private var lineNumber = 0
    private var topics = RecordingTopics()
    /// The partial last line of the previous batch: its bytes are copied into the next one.
    private var carryFrom: RecordingBatch?
    private var carryRange = 0..<0
    /// Lines that held a message so far (blank lines not counted).
    package private(set) var lines = 0

    package static let defaultChunkSize = 8 << 20

    /// Opens `path` for reading; `-` is standard input.
    package convenience init(path: String, chunkSize: Int = RecordingScanner.defaultChunkSize) throws {
        if path == "-" {
            self.init(descriptor: STDIN_FILENO, name: "-", chunkSize: chunkSize, ownsDescriptor: false)
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RecordingError(file: path, line: 0, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
        self.init(descriptor: fd, name: path, chunkSize: chunkSize, ownsDescriptor: true)
    }

    /// Reads from an open descriptor (a pipe, a socket, a file); closes it at the end when `ownsDescriptor`.
    package init(
        descriptor: Int32, name: String, chunkSize: Int = RecordingScanner.defaultChunkSize, ownsDescriptor: Bool
    ) {
        self.fd = descriptor
        self.file = name
        self.chunkSize = max(chunkSize, 16)
        self.ownsDescriptor = ownsDescriptor
    }

    deinit { if ownsDescriptor { close(fd) } }

    /// A batch sized for this scanner.
    package func makeBatch() -> RecordingBatch { RecordingBatch(capacity: chunkSize) }

    /// Refills `batch` with the next chunk's complete lines. False at the end of the recording (the
    /// batch is then empty). Throws a `RecordingError` with file and line for a line that is not a
    /// message, or for a read error.
    package func fill(_ batch: RecordingBatch) throws -> Bool {
        batch.reset()
        batch.file = file
        batch.firstNewTopic = topics.names.count
        if let from = carryFrom {
            // `from` may be `batch` itself (a pool of one): memmove handles the overlap.
            if from !== batch && carryRange.count > batch.capacity {
                while batch.capacity < carryRange.count { batch.grow() }
            }
            memmove(batch.buffer, from.buffer + carryRange.lowerBound, carryRange.count)
            batch.used = carryRange.count
            carryFrom = nil
        }
        var searchFrom = 0
        var lineStart = 0
        while true {
            if !atEOF && batch.used < batch.capacity { try readMore(into: batch) }
            let base = batch.buffer.assumingMemoryBound(to: UInt8.self)
            // Every complete line in the buffer.
            while searchFrom < batch.used,
                let nl = memchr(base + searchFrom, 0x0A, batch.used - searchFrom)
            {
                let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                try parseLine(batch, base, lineStart, end)
                lineStart = end + 1
                searchFrom = lineStart
            }
            searchFrom = batch.used
            if atEOF {
                if lineStart < batch.used { try parseLine(batch, base, lineStart, batch.used) }
                lineStart = batch.used
                return !batch.entries.isEmpty || batch.bytesRead > 0
            }
            if batch.used < batch.capacity { continue }  // a short read (pipe): read more
            if lineStart > 0 {
                // The chunk is full; its last line continues in the next one.
                carryFrom = batch
                carryRange = lineStart..<batch.used
                return true
            }
            // One line fills the whole buffer: make room and read on.
            batch.grow()
        }
    }

    private func readMore(into batch: RecordingBatch) throws {
        while true {
            let n = read(fd, batch.buffer + batch.used, batch.capacity - batch.used)
            if n > 0 {
                batch.used += n
                batch.bytesRead += n
                return
            }
            if n == 0 {
                atEOF = true
                return
            }
            if errno == EINTR { continue }
            throw RecordingError(
                file: file, line: lineNumber + 1, reason: "read failed: \(String(cString: strerror(errno)))")
        }
    }

    @inline(__always) private func parseLine(
        _ batch: RecordingBatch, _ base: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int
    ) throws {
        lineNumber += 1
        var entry = RecordingBatch.Entry()
        let before = topics.names.count
        switch try LineParser.parse(base, start, end, into: &entry, topics: &topics, file: file, lineNumber: lineNumber)
        {
        case .blank:
            break
        case .message:
            entry.line = lineNumber
            batch.entries.append(entry)
            lines += 1
            if topics.names.count != before { batch.newTopics.append(topics.names[before]) }
        case .schema(let s):
            batch.schemas.append(
                RecordingBatch.SchemaLine(
                    beforeEntry: batch.entries.count, id: s.id,
                    schemaType: s.typeCount < 0
                        ? "AVRO"
                        : String(
                            decoding: UnsafeBufferPointer(start: base + s.typeStart, count: s.typeCount), as: UTF8.self),
                    text: String(
                        decoding: UnsafeBufferPointer(start: base + s.textStart, count: s.textCount), as: UTF8.self),
                    line: lineNumber))
        }
    }
}

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
                guard s.peek() == UInt8(ascii: "\""), let r = unescapeString(base, from: s.index + 1, limit: end) else {
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
                guard s.peek() == UInt8(ascii: "\""), let r = unescapeString(base, from: s.index + 1, limit: end) else {
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
                    let r = unescapeString(base, from: s.index + 1, limit: end)
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
                        r = unescapeString(base, from: s.index + 1, limit: end)
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

    /// Reads a JSON string's content starting at `from` (just after the opening quote) and decodes its
    /// escapes in place, from `from` on. Returns the index after the closing quote and the decoded
    /// length, or nil when the string is unterminated or has an invalid escape or a raw control byte.
    ///
    /// Eight bytes at a time: a 3 KB Debezium value in kcat -J has an escaped quote every few bytes,
    /// so the runs between escapes are found with a word-wide test rather than byte by byte.
    ///
    /// `marks`: see `unescapeRest`.
    @inline(__always)
    static func unescapeString(
        _ p: UnsafeMutablePointer<UInt8>, from: Int, limit: Int,
        marks: UnsafeMutablePointer<UnescapeMemo.Marks>? = nil
    ) -> (next: Int, length: Int)? {
        let raw = UnsafeMutableRawPointer(p)
        var i = from
        // Until the first escape nothing moves.
        while true {
            if i + 8 <= limit {
                let m = specialBytes(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if m == 0 {
                    i += 8
                    continue
                }
                i += m.trailingZeroBitCount >> 3
            } else {
                while i < limit && !isSpecial(p[i]) { i += 1 }
                guard i < limit else { return nil }
            }
            let c = p[i]
            if c == 0x22 { return (i + 1, i - from) }
            if c == 0x5C { break }
            return nil
        }
        var d = i
        // Byte by byte until the output lags the input by a word (a few escapes in).
        while i &- d < 8 {
            guard i < limit else { return nil }
            let c = p[i]
            if c == 0x5C {
                guard let (read, written) = otherEscape(p, at: i, to: d, limit: limit) else { return nil }
                i = read
                d = written
                continue
            }
            if c == 0x22 { return (i + 1, d - from) }
            if c < 0x20 { return nil }
            p[d] = c
            d &+= 1
            i &+= 1
        }
        return unescapeRest(p, i: i, d: d, from: from, limit: limit, marks: marks)
    }

    /// The rest of `unescapeString` from input index `i` and output index `d` (with `d + 8 <= i`),
    /// at a clean point (not inside an escape). With `marks`, records (input, output) offsets from
    /// `from` at each clean word boundary, for `UnescapeMemo`.
    @inline(__always)
    static func unescapeRest(
        _ p: UnsafeMutablePointer<UInt8>, i start: Int, d out: Int, from: Int, limit: Int,
        marks: UnsafeMutablePointer<UnescapeMemo.Marks>?
    ) -> (next: Int, length: Int)? {
        let raw = UnsafeMutableRawPointer(p)
        var i = start
        var d = out
        // A word at a time: the next load never waits for this word's escapes, and every piece is
        // moved with one 8-byte store (it lands below the read position: d + 8 <= i holds from here).
        var escapedFirst = false  // the word's first byte is the second half of an escape
        while i &+ 8 <= limit {
            if let marks, !escapedFirst, i &- from <= UnescapeMemo.maximumKept {
                marks.pointee.append(input: i &- from, output: d &- from)
            }
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            var m = JSONScanner.stringSpecials(w)
            if escapedFirst { m &= ~0x80 }
            escapedFirst = false
            var pos = 0  // first byte of the word not yet moved
            while m != 0 {
                let t = m.trailingZeroBitCount &>> 3
                raw.storeBytes(of: w &>> UInt64(pos &<< 3), toByteOffset: d, as: UInt64.self)
                d &+= t &- pos
                let c = UInt8(truncatingIfNeeded: w &>> UInt64(t &<< 3))
                if c == 0x22 { return (i &+ t &+ 1, d &- from) }
                if c != 0x5C { return nil }
                let e = i &+ t
                guard e &+ 1 < limit else { return nil }
                // The escaped byte, from the word in hand when it is there (no reload behind the store).
                let x = t < 7 ? UInt8(truncatingIfNeeded: w &>> UInt64((t &+ 1) &<< 3)) : p[e &+ 1]
                if x == 0x22 {
                    // `\"`: the quote starts the next piece and is not the string's end.
                    pos = t &+ 1
                    m &= m &- 1
                    if t < 7 { m &= ~(UInt64(0x80) &<< UInt64(pos &<< 3)) } else { escapedFirst = true }
                } else {
                    guard let (read, written) = otherEscape(p, at: e, to: d, limit: limit) else { return nil }
                    d = written
                    pos = read &- i
                    if pos >= 8 { m = 0 } else { m &= ~((UInt64(1) &<< UInt64(pos &<< 3)) &- 1) }
                }
            }
            if pos < 8 {
                raw.storeBytes(of: w &>> UInt64(pos &<< 3), toByteOffset: d, as: UInt64.self)
                d &+= 8 &- pos
                i &+= 8
            } else {
                i &+= pos
            }
        }
        // The last few bytes.
        if escapedFirst {
            p[d] = p[i]
            d &+= 1
            i &+= 1
        }
        while i < limit {
            let c = p[i]
            if c == 0x5C {
                guard let (read, written) = otherEscape(p, at: i, to: d, limit: limit) else { return nil }
                i = read
                d = written
                continue
            }
            if c == 0x22 { return (i + 1, d - from) }
            if c < 0x20 { return nil }
            p[d] = c
            d &+= 1
            i &+= 1
        }
        return nil
    }

    /// The escape at `i` (a backslash), written at `d`: the indices after it, or nil when invalid.
    /// Out of line so the compiler keeps the common case a plain compare instead of a jump table.
    @inline(never)
    static func otherEscape(_ p: UnsafeMutablePointer<UInt8>, at i: Int, to d: Int, limit: Int) -> (
        read: Int, written: Int
    )? {
        guard i + 1 < limit else { return nil }
        let x = p[i + 1]
        if x == 0x5C || x == 0x2F || x == 0x22 {
            p[d] = x
            return (i + 2, d + 1)
        }
        if let decoded = controlEscape(x) {
            p[d] = decoded
            return (i + 2, d + 1)
        }
        guard x == UInt8(ascii: "u"), let (scalar, used) = unicodeEscape(p, at: i, limit: limit) else { return nil }
        // UTF-8 is at most 4 bytes and an escape at least 6: the write never passes the read.
        var w = d
        UTF8.encode(scalar) {
            p[w] = $0
            w += 1
        }
        return (i + used, w)
    }

    @inline(__always) static func isSpecial(_ c: UInt8) -> Bool { c == 0x22 || c == 0x5C || c < 0x20 }

    /// High bit set in each byte of `w` that is a quote, a backslash or below 0x20 (exact for the
    /// lowest such byte, which is all the callers use: borrows only run upwards).
    @inline(__always) static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let q = w ^ (ones &* 0x22)
        let b = w ^ (ones &* 0x5C)
        let quote = (q &- ones) & ~q
        let backslash = (b &- ones) & ~b
        let control = (w &- ones &* 0x20) & ~w
        return (quote | backslash | control) & (ones &* 0x80)
    }

    /// `\uXXXX` (or a surrogate pair of them) at `i`: the scalar and the bytes it spans.
    static func unicodeEscape(_ p: UnsafeMutablePointer<UInt8>, at i: Int, limit: Int) -> (Unicode.Scalar, Int)? {
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= limit else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                guard let d = JSONScanner.hexDigit(p[at + k]) else { return nil }
                v = v << 4 | d
            }
            return v
        }
        guard var scalar = hex4(i + 2) else { return nil }
        var used = 6
        if scalar >= 0xD800 && scalar < 0xDC00 {
            guard i + 12 <= limit, p[i + 6] == UInt8(ascii: "\\"), p[i + 7] == UInt8(ascii: "u"),
                let low = hex4(i + 8), low >= 0xDC00, low < 0xE000
            else { return nil }
            used = 12
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let u = Unicode.Scalar(scalar) else { return nil }
        return (u, used)
    }

    /// The control byte `\b` `\f` `\n` `\r` `\t` stand for.
    @inline(__always) static func controlEscape(_ x: UInt8) -> UInt8? {
        switch x {
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        default: return nil
        }
    }
}

/// Standard base64 (RFC 4648 alphabet, padding optional), decoded in place: four characters become
/// at most three bytes, so the write never passes the read.
enum Base64InPlace {
    enum Outcome {
        case decoded(Int)
        /// Offset of the offending character from the start, and what is wrong.
        case invalid(at: Int, why: StaticString)
    }

    static func decode(_ p: UnsafeMutablePointer<UInt8>, from: Int, count: Int) -> Outcome {
        var n = count
        // Padding: at most two '=' at the end of a whole group of four.
        if n > 0 && p[from + n - 1] == UInt8(ascii: "=") {
            guard n % 4 == 0 else {
                return .invalid(at: n - 1, why: "padding '=' where the length is not a multiple of 4")
            }
            n -= 1
            if p[from + n - 1] == UInt8(ascii: "=") { n -= 1 }
        }
        if n % 4 == 1 {
            return .invalid(at: n - 1, why: "a lone last character (the length is one more than a multiple of 4)")
        }
        return DecimalCodec.base64Table.withUnsafeBufferPointer { t -> Outcome in
            var i = from
            var d = from
            let whole = from + n - n % 4
            while i < whole {
                let a = t[Int(p[i])]
                let b = t[Int(p[i + 1])]
                let c = t[Int(p[i + 2])]
                let e = t[Int(p[i + 3])]
                if (a | b | c | e) & 0x80 != 0 { return invalidCharacter(p, t, i, from) }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(e)
                p[d] = UInt8(truncatingIfNeeded: v >> 16)
                p[d + 1] = UInt8(truncatingIfNeeded: v >> 8)
                p[d + 2] = UInt8(truncatingIfNeeded: v)
                i += 4
                d += 3
            }
            let rest = n % 4
            if rest > 0 {
                var v: UInt32 = 0
                for k in 0..<rest {
                    let x = t[Int(p[i + k])]
                    if x & 0x80 != 0 { return invalidCharacter(p, t, i, from) }
                    v |= UInt32(x) << (18 - 6 * UInt32(k))
                }
                p[d] = UInt8(truncatingIfNeeded: v >> 16)
                d += 1
                if rest == 3 {
                    p[d] = UInt8(truncatingIfNeeded: v >> 8)
                    d += 1
                }
            }
            return .decoded(d - from)
        }
    }

    private static func invalidCharacter(
        _ p: UnsafeMutablePointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>, _ group: Int, _ from: Int
    ) -> Outcome {
        var i = group
        while t[Int(p[i])] != 0xFF { i += 1 }
        return .invalid(
            at: i - from,
            why: p[i] == UInt8(ascii: "=") ? "'=' before the end" : "a character outside the base64 alphabet")
    }
}

/// The last kcat -J payload of a topic decoded the slow way: its escaped bytes, what they decode
/// to, and where the decoder stood at each clean word boundary. Debezium's JsonConverter puts the
/// schema (most of the bytes, and most of the ~600 escapes of a 3 KB message) first and repeats it
/// in every message of a topic: a payload whose escaped bytes start the same way takes the decoded
/// prefix with one copy and decodes only the rest. Exact: a prefix of escaped bytes that ends at a
/// clean point decodes to the same bytes whatever follows it.
struct UnescapeMemo {
    struct Marks {
        var input: [Int32] = []
        var output: [Int32] = []
        mutating func append(input i: Int, output d: Int) {
            input.append(Int32(truncatingIfNeeded: i))
            output.append(Int32(truncatingIfNeeded: d))
        }
        mutating func removeAll() {
            input.removeAll(keepingCapacity: true)
            output.removeAll(keepingCapacity: true)
        }
    }
    /// The escaped bytes of the string (and possibly a little after it) as they were in the line.
    var escaped: [UInt8] = []
    var decoded: [UInt8] = []
    var marks = Marks()
    /// Prefixes shorter than this are decoded the ordinary way (not worth the copy).
    static let minimumReuse = 256
    /// Escaped bytes kept: Debezium schemas are a few KB.
    static let maximumKept = 16_384

    /// Like `LineParser.unescapeString`, reusing the decoding of the common prefix with the memo.
    mutating func unescape(_ p: UnsafeMutablePointer<UInt8>, from: Int, limit: Int) -> (next: Int, length: Int)? {
        let available = limit - from
        if marks.input.count > 0 {
            // Bytes in common with the memo, a word at a time.
            let n = min(escaped.count, available)
            var k = 0
            escaped.withUnsafeBytes { e in
                let q = UnsafeRawPointer(p + from)
                while k &+ 8 <= n
                    && e.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                        == q.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                {
                    k &+= 8
                }
            }
            if k >= UnescapeMemo.minimumReuse {
                // The last clean point at or before k.
                var lo = 0
                var hi = marks.input.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if Int(marks.input[mid]) <= k { lo = mid + 1 } else { hi = mid }
                }
                if lo > 0 {
                    let i = Int(marks.input[lo - 1])
                    let d = Int(marks.output[lo - 1])
                    if i >= UnescapeMemo.minimumReuse && i - d >= 8 {
                        decoded.withUnsafeBytes { u in
                            (p + from).update(from: u.bindMemory(to: UInt8.self).baseAddress!, count: d)
                        }
                        return LineParser.unescapeRest(
                            p, i: from + i, d: from + d, from: from, limit: limit, marks: nil)
                    }
                }
            }
        }
        // The slow way, remembering it for the next payload of this topic.
        let kept = min(available, UnescapeMemo.maximumKept)
        escaped.removeAll(keepingCapacity: true)
        escaped.append(contentsOf: UnsafeBufferPointer(start: p + from, count: kept))
        marks.removeAll()
        guard let r = LineParser.unescapeString(p, from: from, limit: limit, marks: &marks) else {
            marks.removeAll()
            return nil
        }
        // Only marks inside what was kept can be matched.
        while let last = marks.input.last, Int(last) > kept {
            marks.input.removeLast()
            marks.output.removeLast()
        }
        decoded.removeAll(keepingCapacity: true)
        decoded.append(contentsOf: UnsafeBufferPointer(start: p + from, count: Int(marks.output.last ?? 0)))
        return r
    }
}

/// Hands batches from the reading thread to the decoding thread and back: `free` batches wait for
/// the reader, `full` ones for the decoder, in order.
final class RecordingChannel: @unchecked Sendable {
    // @unchecked: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var free: [RecordingBatch]
    private var full: [RecordingBatch] = []
    private var finished = false
    private var failure: Error?
    private var cancelled = false

    init(batches: [RecordingBatch]) { free = batches }

    func takeFree() -> RecordingBatch? {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && !cancelled { condition.wait() }
        return cancelled ? nil : free.removeLast()
    }

    func putFull(_ b: RecordingBatch) {
        condition.lock()
        full.append(b)
        condition.broadcast()
        condition.unlock()
    }

    func finish(_ error: Error?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next full batch; nil once the reader has finished and every batch was taken.
    func takeFull() throws -> RecordingBatch? {
        condition.lock()
        defer { condition.unlock() }
        while full.isEmpty && !finished { condition.wait() }
        if !full.isEmpty { return full.removeFirst() }
        if let failure { throw failure }
        return nil
    }

    func putFree(_ b: RecordingBatch) {
        condition.lock()
        free.append(b)
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the reader thread has returned.
    func waitFinished() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

/// Feeds recordings through an `EngineCore`: one thread reads and parses chunks while the calling
/// thread decodes and aggregates the previous ones. Memory: `batches` × `chunkSize` (plus the
/// longest line), independent of the recording's size.
///
/// Confluent-framed (Avro) messages take their schemas from `schemas`: the recording's own schema
/// lines first, then its directory and registry. A schema id none of them has ends the replay with a
/// `RecordingError` naming the id, its message's line and what to pass.
package final class RecordingReplay {
    package let core: EngineCore
    package let schemas: RecordingSchemas
    package var chunkSize = RecordingScanner.defaultChunkSize
    /// Chunks in flight (≥ 2 to overlap reading and decoding); 1 reads and decodes on one thread.
    package var batches = 3
    /// False: read and parse only, handing nothing to the core (measures the reader alone).
    package var decode = true
    package private(set) var bytesRead: Int64 = 0
    package private(set) var lines: Int64 = 0
    /// Messages parsed (equals the core's count when `decode`).
    package private(set) var messages: Int64 = 0

    package init(core: EngineCore, schemas: RecordingSchemas = RecordingSchemas()) {
        self.core = core
        self.schemas = schemas
        core.schemaSource = schemas
    }

    /// Replays a file, or standard input for `-`.
    package func replay(path: String) throws {
        try replay(RecordingScanner(path: path, chunkSize: chunkSize))
    }

    package func replay(_ scanner: RecordingScanner) throws {
        var slots: [Int] = []
        if batches <= 1 {
            let batch = scanner.makeBatch()
            while try scanner.fill(batch) { try ingest(batch, slots: &slots) }
            lines += Int64(scanner.lines)
            return
        }
        let channel = RecordingChannel(batches: (0..<batches).map { _ in scanner.makeBatch() })
        let reader = Thread {
            while let batch = channel.takeFree() {
                do {
                    if try scanner.fill(batch) {
                        channel.putFull(batch)
                        continue
                    }
                    channel.finish(nil)
                } catch {
                    channel.finish(error)
                }
                return
            }
            channel.finish(nil)
        }
        reader.name = "cdctop-replay-reader"
        reader.start()
        do {
            while let batch = try channel.takeFull() {
                try ingest(batch, slots: &slots)
                channel.putFree(batch)
            }
        } catch {
            channel.cancel()
            channel.waitFinished()
            throw error
        }
        channel.waitFinished()
        lines += Int64(scanner.lines)
    }

    /// Reads and parses a whole recording into memory, for measuring the engine alone on the same
    /// messages (`cdctop replay --preload`): memory is the size of the file.
    package func preload(path: String) throws -> [RecordingBatch] {
        let scanner = try RecordingScanner(path: path, chunkSize: chunkSize)
        var all: [RecordingBatch] = []
        while true {
            let batch = scanner.makeBatch()
            guard try scanner.fill(batch) else { break }
            all.append(batch)
        }
        lines += Int64(scanner.lines)
        return all
    }

    /// Decodes and aggregates every message of a batch. `slots` maps the recording's topic numbers
    /// to the decoder's slots; it grows as batches name new topics. Throws a `RecordingError` for a
    /// schema id that no schema source knows (nothing after that message is applied) or that two
    /// schema lines define differently.
    package func ingest(_ batch: RecordingBatch, slots: inout [Int]) throws {
        bytesRead += Int64(batch.bytesRead)
        precondition(slots.count == batch.firstNewTopic || batch.newTopics.isEmpty, "batches out of order")
        for name in batch.newTopics { slots.append(core.decoder.slot(forTopic: name)) }
        messages += Int64(batch.entries.count)
        guard decode else { return }
        let base = batch.buffer
        // Schema lines take effect where they stand: before the entry that followed them.
        var nextSchema = 0
        let schemaLines = batch.schemas
        try batch.entries.withUnsafeBufferPointer { entries in
            for (i, e) in entries.enumerated() {
                while nextSchema < schemaLines.count && schemaLines[nextSchema].beforeEntry <= i {
                    try schemas.add(schemaLines[nextSchema], file: batch.file)
                    nextSchema += 1
                }
                let key = e.keyCount < 0 ? nil : UnsafeRawBufferPointer(start: base + e.keyStart, count: e.keyCount)
                let value =
                    e.valueCount < 0 ? nil : UnsafeRawBufferPointer(start: base + e.valueStart, count: e.valueCount)
                let slot = slots[Int(e.topic)]
                guard
                    core.ingest(
                        slot: slot, partition: e.partition, offset: e.offset, timestampMs: e.timestampMs,
                        key: key, value: value)
                else {
                    // Only a schema source that said "no" stops the core: say which id and what would help.
                    throw RecordingError(
                        file: batch.file, line: e.line,
                        reason: schemas.missingSchemaReason(
                            topic: core.decoder.topic(ofSlot: slot), partition: e.partition, offset: e.offset))
                }
            }
        }
        while nextSchema < schemaLines.count {
            try schemas.add(schemaLines[nextSchema], file: batch.file)
            nextSchema += 1
        }
    }
}
