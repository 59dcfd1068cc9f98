import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
