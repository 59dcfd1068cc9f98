import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
