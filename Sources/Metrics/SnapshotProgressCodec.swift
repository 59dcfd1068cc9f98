/// Snapshot progress in the durable checkpoint (issue 22, item 1): the per-topic read counts and the
/// notification log, so a cdctop restarted (or killed) during a long snapshot continues its rows read,
/// tables done, start and rate instead of starting from what it read since. Two blobs, each with its own
/// version tag, written only when they changed since the last checkpoint. Their size is bounded: a
/// read record per topic and kind (the pace's `SnapshotReadTracker.historyBuckets` buckets included), and at most `SnapshotNotificationLog.kept` notifications.

extension SnapshotReadTracker {
    static let stateTag = Array("cdctop-snapshot-reads-1".utf8)

    /// The counts, by topic name (slots are numbered anew by each run), or nil when nothing changed since
    /// the last call (then the checkpoint leaves the saved copy as it is).
    public mutating func encodeIfChanged(topicName: (Int) -> String) -> [UInt8]? {
        guard changeCount != savedChangeCount else { return nil }
        savedChangeCount = changeCount
        var w = SnapshotStateWriter()
        w.bytes(Self.stateTag)
        var records: [(String, Int, Reads)] = []
        for (slot, kinds) in bySlot.enumerated() {
            for (kind, reads) in kinds.enumerated() where reads.rows > 0 { records.append((topicName(slot), kind, reads)) }
        }
        w.int(Int64(records.count))
        for (topic, kind, r) in records {
            w.string(topic); w.int(Int64(kind))
            w.int(r.rows); w.int(r.firstAtMs); w.int(r.lastAtMs); w.int(r.lastReceivedAtMs)
            w.int((r.tableDone ? 1 : 0) | (r.snapshotDone ? 2 : 0))
            w.int(r.historyStart); w.int(r.bucketSeconds)
            let used = (r.buckets.lastIndex { $0 != 0 } ?? -1) + 1
            w.int(Int64(used))
            for b in r.buckets[..<used] { w.int(b) }
        }
        return w.out
    }

    /// Puts back what `encodeIfChanged` saved, replacing every count; `slot` numbers a topic for this run.
    public mutating func restore(_ bytes: [UInt8], slot: (String) -> Int) throws(SnapshotStateError) {
        var r = SnapshotStateReader(bytes)
        let tag = try r.bytes()
        guard tag == Self.stateTag else {
            throw SnapshotStateError(description: "snapshot read counts of an unknown format (\(String(decoding: tag.prefix(40), as: UTF8.self)))")
        }
        var restored = SnapshotReadTracker()
        for _ in 0..<(try r.count()) {
            let topic = try r.string()
            let kind = try r.int()
            guard kind == 0 || kind == 1 else { throw SnapshotStateError(description: "snapshot kind \(kind) of \(topic)") }
            var reads = Reads()
            reads.rows = try r.int(); reads.firstAtMs = try r.int(); reads.lastAtMs = try r.int(); reads.lastReceivedAtMs = try r.int()
            let flags = try r.int()
            reads.tableDone = flags & 1 != 0; reads.snapshotDone = flags & 2 != 0
            reads.historyStart = try r.int(); reads.bucketSeconds = try r.int()
            let used = try r.count()
            guard reads.bucketSeconds >= 1, used <= Self.historyBuckets else {
                throw SnapshotStateError(description: "\(used) buckets of \(reads.bucketSeconds) s in \(topic)'s pace")
            }
            if reads.rows > 0 {
                reads.buckets = Array(repeating: 0, count: Self.historyBuckets)
                for i in 0..<used { reads.buckets[i] = try r.int() }
            } else {
                for _ in 0..<used { _ = try r.int() }
            }
            let s = slot(topic)
            restored.place(slot: s, kind: Int(kind), reads)
        }
        guard r.atEnd else { throw SnapshotStateError(description: "trailing bytes after the snapshot read counts") }
        restored.changeCount = 0
        restored.savedChangeCount = 0
        self = restored
    }
}

extension SnapshotNotificationLog {
    static let stateTag = Array("cdctop-snapshot-notifications-1".utf8)

    /// Every notification kept, or nil when none arrived since the last call.
    public mutating func encodeIfChanged() -> [UInt8]? {
        guard changeCount != savedChangeCount else { return nil }
        savedChangeCount = changeCount
        var w = SnapshotStateWriter()
        w.bytes(Self.stateTag)
        w.int(Int64(notifications.count))
        for n in notifications {
            w.string(n.id); w.string(n.type); w.int(n.kind == .initial ? 0 : 1); w.string(n.connector); w.int(n.timestampMs)
            let data = n.data.sorted { $0.key < $1.key }
            w.int(Int64(data.count))
            for (k, v) in data { w.string(k); w.string(v) }
        }
        return w.out
    }

    /// Puts back what `encodeIfChanged` saved, replacing the log.
    public mutating func restore(_ bytes: [UInt8]) throws(SnapshotStateError) {
        var r = SnapshotStateReader(bytes)
        let tag = try r.bytes()
        guard tag == Self.stateTag else {
            throw SnapshotStateError(description: "snapshot notifications of an unknown format (\(String(decoding: tag.prefix(40), as: UTF8.self)))")
        }
        var log = SnapshotNotificationLog()
        for _ in 0..<(try r.count()) {
            let id = try r.string(), type = try r.string(), kind: SnapshotKind = try r.int() == 0 ? .initial : .incremental
            let connector = try r.string(), timestamp = try r.int()
            var data: [String: String] = [:]
            for _ in 0..<(try r.count()) { let k = try r.string(); data[k] = try r.string() }
            log.add(SnapshotNotification(id: id, type: type, kind: kind, connector: connector, data: data, timestampMs: timestamp))
        }
        guard r.atEnd else { throw SnapshotStateError(description: "trailing bytes after the snapshot notifications") }
        log.changeCount = 0
        log.savedChangeCount = 0
        self = log
    }
}

public struct SnapshotStateError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Little-endian integers and length-prefixed bytes.
struct SnapshotStateWriter {
    var out: [UInt8] = []
    mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    mutating func bytes(_ b: [UInt8]) { int(Int64(b.count)); out.append(contentsOf: b) }
    mutating func string(_ s: String) { bytes(Array(s.utf8)) }
}

struct SnapshotStateReader {
    let data: [UInt8]
    var at = 0
    init(_ data: [UInt8]) { self.data = data }
    var atEnd: Bool { at == data.count }
    mutating func int() throws(SnapshotStateError) -> Int64 {
        guard data.count - at >= 8 else { throw SnapshotStateError(description: "truncated at byte \(at)") }
        var v: Int64 = 0
        for i in 0..<8 { v |= Int64(data[at + i]) << (8 * i) }
        at += 8
        return v
    }
    mutating func count() throws(SnapshotStateError) -> Int {
        let n = try int()
        guard n >= 0, n <= Int64(data.count) else { throw SnapshotStateError(description: "bad count \(n) at byte \(at - 8)") }
        return Int(n)
    }
    mutating func bytes() throws(SnapshotStateError) -> [UInt8] {
        let n = try count()
        guard data.count - at >= n else { throw SnapshotStateError(description: "truncated at byte \(at)") }
        defer { at += n }
        return Array(data[at..<at + n])
    }
    mutating func string() throws(SnapshotStateError) -> String { String(decoding: try bytes(), as: UTF8.self) }
}
