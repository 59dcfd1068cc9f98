import Foundation

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
