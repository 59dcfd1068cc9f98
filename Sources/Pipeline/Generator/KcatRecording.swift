import Foundation

/// Recordings in kcat's `-C -J` format, one JSON object per line, so tests and demos can replay a
/// topic set without a broker and real `kcat -C -J` captures can be replayed by the same code.
package enum KcatRecording {
    /// One line of `kcat -C -J` output (without the newline), as kcat's yajl writer renders it:
    /// `{"topic":"t","partition":0,"offset":1,"tstype":"create","ts":1700000000000,"broker":1,"key":"…","payload":"…"}`.
    /// Key and payload are JSON strings of the raw bytes; a null value (tombstone) is `"payload":null`.
    /// Bytes that are not valid UTF-8 are copied as they are, like kcat does, so such a line is not valid JSON.
    package static func kcatJSONLine(
        topic: String, partition: Int32, offset: Int64, key: [UInt8], value: [UInt8]?,
        timestampMs: Int64, broker: Int32 = 1
    ) -> String {
        var out = [UInt8]()
        appendKcatJSONLine(
            to: &out, topic: topic, partition: partition, offset: offset, key: key, value: value,
            timestampMs: timestampMs, broker: broker)
        return String(decoding: out, as: UTF8.self)
    }

    /// Byte form of `kcatJSONLine`, appended to a buffer (no newline).
    package static func appendKcatJSONLine(
        to out: inout [UInt8], topic: String, partition: Int32, offset: Int64,
        key: [UInt8]?, value: [UInt8]?, timestampMs: Int64, broker: Int32 = 1
    ) {
        out.appendASCII(#"{"topic":"#)
        out.appendJSONString(topic)
        out.appendASCII(#","partition":"#)
        out.appendDecimal(Int64(partition))
        out.appendASCII(#","offset":"#)
        out.appendDecimal(offset)
        out.appendASCII(#","tstype":"create","ts":"#)
        out.appendDecimal(timestampMs)
        out.appendASCII(#","broker":"#)
        out.appendDecimal(Int64(broker))
        out.appendASCII(#","key":"#)
        if let key { out.appendJSONString(key) } else { out.appendASCII("null") }
        out.appendASCII(#","payload":"#)
        if let value { out.appendJSONString(value) } else { out.appendASCII("null") }
        out.appendASCII("}")
    }

    /// Kafka's `Utils.murmur2` (Java clients' default partitioner hash), as a signed 32-bit value.
    package static func murmur2(_ data: [UInt8]) -> Int32 {
        let m: UInt32 = 0x5BD1_E995
        let r: UInt32 = 24
        let length = data.count
        var h: UInt32 = 0x9747_B28C ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for i in 0..<blocks {
            let base = i * 4
            var k =
                UInt32(data[base]) | UInt32(data[base + 1]) << 8 | UInt32(data[base + 2]) << 16
                | UInt32(data[base + 3]) << 24
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = blocks * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h &*= m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h &*= m
        case 1:
            h ^= UInt32(data[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition Java's default partitioner (and librdkafka's `murmur2_random`) picks for a non-null
    /// key: `toPositive(murmur2(key)) % partitions`, where toPositive clears the sign bit.
    package static func murmur2Partition(key: [UInt8], partitions: Int32) -> Int32 {
        precondition(partitions > 0, "a topic has at least one partition")
        return (murmur2(key) & 0x7FFF_FFFF) % partitions
    }
}

/// Writes generated messages to a kcat `-J` recording file: partition by murmur2 of the key,
/// offsets counted per topic-partition from 0, one line per message, buffered.
package final class KcatRecordingWriter {
    package struct WriteError: Error, CustomStringConvertible {
        package let path: String
        package let reason: String
        package var description: String {
            "cannot write the recording \(path): \(reason); check the folder exists and is writable"
        }
    }

    package let path: String
    package let partitions: Int32
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var nextOffsets: [String: [Int64]] = [:]
    package private(set) var linesWritten: Int64 = 0

    package init(path: String, partitions: Int32) throws {
        guard partitions > 0 else { throw WriteError(path: path, reason: "partitions must be at least 1") }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw WriteError(path: path, reason: String(cString: strerror(errno)))
        }
        do {
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        } catch {
            throw WriteError(path: path, reason: "\(error)")
        }
        self.path = path
        self.partitions = partitions
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        try? flush()
        try? handle.close()
    }

    package func write(_ message: GeneratedMessage) throws {
        let partition = KcatRecording.murmur2Partition(key: message.key, partitions: partitions)
        let slot = Int(partition)
        let offset = nextOffsets[message.topic]?[slot] ?? 0
        // In-place through the dictionary's default subscript: no array copy per message.
        nextOffsets[message.topic, default: Array(repeating: 0, count: Int(partitions))][slot] = offset + 1
        KcatRecording.appendKcatJSONLine(
            to: &buffer, topic: message.topic, partition: partition, offset: offset,
            key: message.key, value: message.value, timestampMs: message.timestampMs)
        buffer.append(UInt8(ascii: "\n"))
        linesWritten += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    package func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw WriteError(path: path, reason: "\(error)")
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
