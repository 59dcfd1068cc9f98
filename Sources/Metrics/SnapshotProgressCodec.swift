/// Snapshot progress in the durable checkpoint (issue 22, item 1): the per-topic read counts and the
/// notification log, so a cdctop restarted (or killed) during a long snapshot continues its rows read,
/// tables done, start and rate instead of starting from what it read since. Two blobs, each with its own
/// version tag, written only when they changed since the last checkpoint. Their size is bounded: a
/// read record per topic and kind (the pace's `SnapshotReadTracker.historyBuckets` buckets included), and at most `SnapshotNotificationLog.kept` notifications.

extension SnapshotReadTracker {
    static let stateTag = "cdctop-snapshot-reads-1"

    /// The counts, by topic name (slots are numbered anew by each run), or nil when nothing changed since
    /// the last call (then the checkpoint leaves the saved copy as it is).
    package mutating func encodeIfChanged(topicName: (Int) -> String) -> [UInt8]? {
        guard changeCount != savedChangeCount else { return nil }
        savedChangeCount = changeCount
        var w = ByteWriter()
        w.string(Self.stateTag)
        var records: [(String, Int, Reads)] = []
        for (slot, kinds) in bySlot.enumerated() {
            for (kind, reads) in kinds.enumerated() where reads.rows > 0 {
                records.append((topicName(slot), kind, reads))
            }
        }
        w.int(Int64(records.count))
        for (topic, kind, r) in records {
            w.string(topic)
            w.int(Int64(kind))
            w.int(r.rows)
            w.int(r.firstAtMs)
            w.int(r.lastAtMs)
            w.int(r.lastReceivedAtMs)
            w.int((r.tableDone ? 1 : 0) | (r.snapshotDone ? 2 : 0))
            w.int(r.historyStart)
            w.int(r.bucketSeconds)
            let used = (r.buckets.lastIndex { $0 != 0 } ?? -1) + 1
            w.int(Int64(used))
            for b in r.buckets[..<used] { w.int(b) }
        }
        return w.bytes
    }

    /// Puts back what `encodeIfChanged` saved, replacing every count; `slot` numbers a topic for this run.
    package mutating func restore(_ bytes: [UInt8], slot: (String) -> Int) throws(SnapshotStateError) {
        do { self = try Self.decoded(bytes, slot: slot) } catch { throw SnapshotStateError(description: "\(error)") }
    }

    private static func decoded(_ bytes: [UInt8], slot: (String) -> Int) throws(ModelStateError) -> SnapshotReadTracker
    {
        var r = ByteReader(bytes)
        let tag = try r.string()
        guard tag == Self.stateTag else {
            throw ModelStateError("snapshot read counts of an unknown format (\(tag.prefix(40)))")
        }
        var restored = SnapshotReadTracker()
        for _ in 0..<(try r.count()) {
            let topic = try r.string()
            let kind = try r.int()
            guard kind == 0 || kind == 1 else { throw ModelStateError("snapshot kind \(kind) of \(topic)") }
            var reads = Reads()
            reads.rows = try r.int()
            reads.firstAtMs = try r.int()
            reads.lastAtMs = try r.int()
            reads.lastReceivedAtMs = try r.int()
            let flags = try r.int()
            reads.tableDone = flags & 1 != 0
            reads.snapshotDone = flags & 2 != 0
            reads.historyStart = try r.int()
            reads.bucketSeconds = try r.int()
            let used = try r.count()
            guard reads.bucketSeconds >= 1, used <= Self.historyBuckets else {
                throw ModelStateError("\(used) buckets of \(reads.bucketSeconds) s in \(topic)'s pace")
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
        guard r.atEnd else { throw ModelStateError("trailing bytes after the snapshot read counts") }
        restored.changeCount = 0
        restored.savedChangeCount = 0
        return restored
    }
}

extension SnapshotNotificationLog {
    static let stateTag = "cdctop-snapshot-notifications-1"

    /// Every notification kept, or nil when none arrived since the last call.
    package mutating func encodeIfChanged() -> [UInt8]? {
        guard changeCount != savedChangeCount else { return nil }
        savedChangeCount = changeCount
        var w = ByteWriter()
        w.string(Self.stateTag)
        w.int(Int64(notifications.count))
        for n in notifications {
            w.string(n.id)
            w.string(n.type)
            w.int(n.kind == .initial ? 0 : 1)
            w.string(n.connector)
            w.int(n.timestampMs)
            let data = n.data.sorted { $0.key < $1.key }
            w.int(Int64(data.count))
            for (k, v) in data {
                w.string(k)
                w.string(v)
            }
        }
        return w.bytes
    }

    /// Puts back what `encodeIfChanged` saved, replacing the log.
    package mutating func restore(_ bytes: [UInt8]) throws(SnapshotStateError) {
        do { self = try Self.decoded(bytes) } catch { throw SnapshotStateError(description: "\(error)") }
    }

    private static func decoded(_ bytes: [UInt8]) throws(ModelStateError) -> SnapshotNotificationLog {
        var r = ByteReader(bytes)
        let tag = try r.string()
        guard tag == Self.stateTag else {
            throw ModelStateError("snapshot notifications of an unknown format (\(tag.prefix(40)))")
        }
        var log = SnapshotNotificationLog()
        for _ in 0..<(try r.count()) {
            let id = try r.string()
            let type = try r.string()
            let kind: SnapshotKind = try r.int() == 0 ? .initial : .incremental
            let connector = try r.string()
            let timestamp = try r.int()
            var data: [String: String] = [:]
            for _ in 0..<(try r.count()) {
                let k = try r.string()
                data[k] = try r.string()
            }
            log.add(
                SnapshotNotification(
                    id: id, type: type, kind: kind, connector: connector, data: data, timestampMs: timestamp))
        }
        guard r.atEnd else { throw ModelStateError("trailing bytes after the snapshot notifications") }
        log.changeCount = 0
        log.savedChangeCount = 0
        return log
    }
}

package struct SnapshotStateError: Error, CustomStringConvertible, Sendable {
    package var description: String
}
