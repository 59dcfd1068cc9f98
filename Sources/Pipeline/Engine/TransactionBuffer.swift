import Metrics

/// A change event held back until its transaction is whole, with what applying it needs, and its
/// message's bytes (the checkpoint saves them; a restart decodes them again).
package struct HeldEvent: Sendable {
    package var event: ChangeEvent
    package var partitionKey: Int64
    package var slot: Int
    package var message: OwnedMessage
    /// Arrival order over all partitions (a restart re-holds events in this order).
    var sequence: UInt64 = 0
}

/// `--transactions complete`: holds each transaction's change events until its END has arrived
/// and every table cdctop reads has delivered the count END gives for it, then hands them over in
/// the order they were read. Tolerates END before BEGIN, BEGIN and END on different partitions,
/// and a transaction topic read at another pace than the data topics.
///
/// Order: on one data partition the transactions follow each other in commit order, so one may be
/// released only when every transaction read before it on each of its partitions has gone (a later
/// update of a row must not overtake an earlier one). Memory is bounded by age (`timeoutMs`) and
/// size (`maxEvents`): what cannot complete (an END lost, events of a table filtered out by the
/// connector's SMTs) is released unfinished, counted, and shown.
package final class TransactionBuffer {
    /// One table END names, as a topic (`<prefix>.<collection>`) and the decoder's slot for it.
    package struct Expected: Sendable, Hashable {
        package var topic: String
        package var slot: Int
        package var count: Int64
        package init(topic: String, slot: Int, count: Int64) {
            self.topic = topic
            self.slot = slot
            self.count = count
        }
    }

    final class Open {
        let key: Int64
        /// Creation order: ties of `firstSeenMs` (one batch's wall time) go by it.
        let order: UInt64
        var firstSeenMs: Int64
        var began = false
        /// END's tables; nil until END arrived.
        var expected: [Expected]?
        /// Events held per topic slot.
        var seen: [Int: Int64] = [:]
        var events: [HeldEvent] = []
        /// Data partitions holding its events, in the order first seen.
        var partitions: [Int64] = []
        init(key: Int64, order: UInt64, firstSeenMs: Int64) {
            self.key = key
            self.order = order
            self.firstSeenMs = firstSeenMs
        }
        static func older(_ a: Open, _ b: Open) -> Bool { (a.firstSeenMs, a.order) < (b.firstSeenMs, b.order) }
    }

    /// Transactions in the order they appear on one data partition (consecutive events of one transaction: one entry).
    struct PartitionQueue {
        var keys: [Int64] = []
        var head = 0
        var front: Int64? { head < keys.count ? keys[head] : nil }
        var isEmpty: Bool { head >= keys.count }
        mutating func append(_ key: Int64) { if keys.last != key || isEmpty { keys.append(key) } }
        mutating func popFront() {
            head += 1
            if head >= 1024 && head * 2 >= keys.count {
                keys.removeFirst(head)
                head = 0
            }
        }
    }

    package let timeoutMs: Int64
    package let maxEvents: Int
    private(set) var open: [Int64: Open] = [:]
    private var queues: [Int64: PartitionQueue] = [:]
    /// Counters (the open-transaction fields are filled by `status(nowMs:)`).
    package private(set) var counters = TransactionStatus()
    /// Events released, to be applied by the engine in this order.
    private var released: [HeldEvent] = []
    /// Transactions released lately: a BEGIN, END or event of one arriving after it is not a new one.
    private var recent = RecentKeys(capacity: TransactionBuffer.recentKept)
    static let recentKept = 4096
    /// Topic slots cdctop reads; nil until known (no END can be judged before).
    package private(set) var readSlots: Set<Int>?
    private var nextSequence: UInt64 = 0
    private var nextOrder: UInt64 = 0
    /// Earliest time a transaction may time out (skip the scan before).
    private var nextExpiryMs: Int64 = .max
    /// The wall clock (ms) the engine last gave (`noteWallClock`): when a transaction was first seen.
    package var nowMs: Int64 = 0

    package init(timeoutMs: Int64, maxEvents: Int) {
        self.timeoutMs = timeoutMs
        self.maxEvents = maxEvents
        counters.timeoutMs = timeoutMs
        counters.maxBufferedEvents = maxEvents
    }

    package var bufferedEvents: Int { counters.bufferedEvents }
    package var openCount: Int { open.count }

    private func entry(_ key: Int64) -> Open {
        if let t = open[key] { return t }
        let t = Open(key: key, order: nextOrder, firstSeenMs: nowMs)
        nextOrder += 1
        open[key] = t
        nextExpiryMs = min(nextExpiryMs, nowMs + timeoutMs)
        return t
    }

    // MARK: input

    /// Holds a change event of transaction `event.transactionKey`. False when its transaction was
    /// already released (timed out before this event came): the caller applies it at once.
    package func hold(_ held: HeldEvent) -> Bool {
        let key = held.event.transactionKey
        if recent.contains(key) {
            counters.lateEvents += 1
            return false
        }
        let t = entry(key)
        var held = held
        held.sequence = nextSequence
        nextSequence += 1
        t.events.append(held)
        t.seen[held.slot, default: 0] += 1
        if !t.partitions.contains(held.partitionKey) { t.partitions.append(held.partitionKey) }
        queues[held.partitionKey, default: PartitionQueue()].append(key)
        counters.bufferedEvents += 1
        if t.expected != nil { releaseReady(from: [key]) }
        if counters.bufferedEvents > maxEvents { evictOldest() }
        return true
    }

    /// A change event with no transaction block: counted; the caller applies it. A snapshot row has none
    /// by design; a streamed change (`streamed`) has none when the source sends no transaction metadata,
    /// which the status says (not saved in checkpoints: it describes this run's source).
    package func notePassedThrough(streamed: Bool = false) {
        counters.passedThrough += 1
        if streamed { counters.streamedWithoutTransaction += 1 }
    }

    /// A BEGIN or an END; `expected` are END's tables as topics (the caller maps `<prefix>.<collection>`).
    package func note(_ boundary: TransactionBoundary, expected: [Expected]) {
        if boundary.isEnd { counters.ends += 1 } else { counters.begins += 1 }
        // A BEGIN or END of a transaction already gone (its END was read first, or it timed out).
        if recent.contains(boundary.key) { return }
        let t = entry(boundary.key)
        if boundary.isEnd {
            t.expected = expected
            releaseReady(from: [boundary.key])
        } else {
            t.began = true
        }
    }

    /// The topic slots cdctop reads (its assignment); transactions waiting on them are judged again.
    package func setReadSlots(_ slots: Set<Int>) {
        guard slots != readSlots else { return }
        readSlots = slots
        releaseReady(from: open.values.filter { $0.expected != nil }.sorted(by: Open.older).map(\.key))
    }

    /// Releases, unfinished, every transaction open for `timeoutMs` or more (and what was read before
    /// it on its partitions). Cheap when nothing is due.
    package func expire(nowMs now: Int64) {
        nowMs = now
        guard now >= nextExpiryMs else { return }
        let due = open.values.filter { now - $0.firstSeenMs >= timeoutMs }.sorted(by: Open.older)
        for t in due where open[t.key] != nil { forceRelease(t, timedOut: true) }
        nextExpiryMs = (open.values.map(\.firstSeenMs).min() ?? (Int64.max - timeoutMs)) + timeoutMs
    }

    /// Events released since the last call, in the order to apply them.
    package func takeReleased() -> [HeldEvent] {
        guard !released.isEmpty else { return [] }
        defer { released.removeAll(keepingCapacity: true) }
        return released
    }

    package var hasReleased: Bool { !released.isEmpty }

    /// Releases everything held, whole or not (a run without `--transactions complete` restoring a
    /// state saved with it), in the order read.
    package func releaseAll() {
        for t in open.values.sorted(by: Open.older) where open[t.key] != nil {
            forceRelease(t, timedOut: true)
        }
    }

    // MARK: releasing

    private func isComplete(_ t: Open) -> Bool {
        guard let expected = t.expected, let readSlots else { return false }
        for e in expected where readSlots.contains(e.slot) {
            if t.seen[e.slot, default: 0] < e.count { return false }
        }
        return true
    }

    private func atFront(_ t: Open) -> Bool {
        t.partitions.allSatisfy { queues[$0]?.front == t.key }
    }

    /// Releases the complete transactions among `keys` that nothing read before them holds back,
    /// and then whatever their release unblocks.
    private func releaseReady(from keys: [Int64]) {
        var work = keys
        while let key = work.popLast() {
            guard let t = open[key], isComplete(t), atFront(t) else { continue }
            work += release(t, whole: true, timedOut: false)
        }
    }

    /// Releases `t` now, whole or not, and first everything read before it on its partitions.
    private func forceRelease(_ t: Open, timedOut: Bool) {
        for pk in t.partitions {
            // A release below may unblock `t` itself, which then goes as whole.
            while open[t.key] != nil, let front = queues[pk]?.front, front != t.key {
                if let ahead = open[front] {
                    forceRelease(ahead, timedOut: timedOut)
                } else {
                    queues[pk]!.popFront()
                }
            }
        }
        guard open[t.key] != nil else { return }
        releaseReady(from: release(t, whole: isComplete(t), timedOut: timedOut))
    }

    /// Moves `t`'s events to `released`; returns the transactions now at the front of its partitions.
    private func release(_ t: Open, whole: Bool, timedOut: Bool) -> [Int64] {
        released.append(contentsOf: t.events)
        counters.releasedEvents += Int64(t.events.count)
        counters.bufferedEvents -= t.events.count
        if whole { counters.completed += 1 } else if timedOut { counters.timedOut += 1 } else { counters.evicted += 1 }
        open[t.key] = nil
        recent.insert(t.key)
        var fronts: [Int64] = []
        for pk in t.partitions {
            guard var q = queues[pk] else { continue }
            if q.front == t.key { q.popFront() }
            // Entries of transactions already gone (a transaction met twice on one partition).
            while let f = q.front, open[f] == nil { q.popFront() }
            if let f = q.front {
                fronts.append(f)
                queues[pk] = q
            } else {
                queues[pk] = nil
            }
        }
        return fronts
    }

    private func evictOldest() {
        while counters.bufferedEvents > maxEvents {
            guard let oldest = open.values.filter({ !$0.events.isEmpty }).min(by: Open.older) else { return }
            forceRelease(oldest, timedOut: false)
        }
    }

    // MARK: status

    package func status(nowMs now: Int64) -> TransactionStatus {
        var s = counters
        s.open = open.count
        if let oldest = open.values.map(\.firstSeenMs).min() { s.oldestAgeMs = max(0, now - oldest) }
        return s
    }

    // MARK: durable state

    /// Everything held, for the checkpoint: counters, recently released keys, open transactions
    /// (age, BEGIN seen, END's tables) and every held message's bytes in arrival order. Empty when
    /// nothing is held and nothing was ever counted.
    package func encode(nowMs now: Int64) -> [UInt8] {
        var w = ByteWriter()
        w.bytes(Array("cdctop-txn-1".utf8))
        let c = counters
        for v in [
            c.completed, c.timedOut, c.evicted, c.releasedEvents, c.passedThrough, c.lateEvents, c.begins, c.ends,
        ] { w.int(v) }
        let keys = recent.ordered
        w.int(Int64(keys.count))
        for k in keys { w.int(k) }
        let transactions = open.values.sorted(by: Open.older)
        w.int(Int64(transactions.count))
        for t in transactions {
            w.int(t.key)
            w.int(max(0, now - t.firstSeenMs))
            w.int(t.began ? 1 : 0)
            if let expected = t.expected {
                w.int(Int64(expected.count))
                for e in expected {
                    w.string(e.topic)
                    w.int(e.count)
                }
            } else {
                w.int(-1)
            }
        }
        let events = transactions.flatMap(\.events).sorted { $0.sequence < $1.sequence }
        w.int(Int64(events.count))
        for e in events {
            w.int(e.event.transactionKey)
            let m = e.message
            w.string(m.topic)
            w.int(Int64(m.partition))
            w.int(m.offset)
            w.int(m.timestampMs)
            w.optionalBytes(m.key)
            w.optionalBytes(m.value)
        }
        return w.out
    }

    /// A saved buffer: the transactions (to `restoreOpen`) and the messages to decode and hold again.
    package struct Saved: Sendable {
        package struct Transaction: Sendable {
            package var key: Int64
            package var ageMs: Int64
            package var began: Bool
            package var expected: [(topic: String, count: Int64)]?
        }
        package struct Message: Sendable {
            package var transactionKey: Int64
            package var message: OwnedMessage
        }
        package var counters: TransactionStatus
        package var recent: [Int64]
        package var transactions: [Transaction]
        package var messages: [Message]
    }

    package struct DecodeError: Error, CustomStringConvertible { package var description: String }

    package static func decode(_ bytes: [UInt8]) throws -> Saved {
        var r = ByteReader(bytes)
        guard try r.bytes() == Array("cdctop-txn-1".utf8) else {
            throw DecodeError(description: "not a cdctop transaction buffer")
        }
        var c = TransactionStatus()
        c.completed = try r.int()
        c.timedOut = try r.int()
        c.evicted = try r.int()
        c.releasedEvents = try r.int()
        c.passedThrough = try r.int()
        c.lateEvents = try r.int()
        c.begins = try r.int()
        c.ends = try r.int()
        var recent: [Int64] = []
        for _ in 0..<(try r.count()) { recent.append(try r.int()) }
        var transactions: [Saved.Transaction] = []
        for _ in 0..<(try r.count()) {
            let key = try r.int()
            let age = try r.int()
            let began = try r.int() != 0
            let n = try r.int()
            var expected: [(topic: String, count: Int64)]? = nil
            if n >= 0 {
                expected = []
                for _ in 0..<n { expected!.append((try r.string(), try r.int())) }
            }
            transactions.append(.init(key: key, ageMs: age, began: began, expected: expected))
        }
        var messages: [Saved.Message] = []
        for _ in 0..<(try r.count()) {
            let key = try r.int()
            let topic = try r.string()
            let partition = Int32(truncatingIfNeeded: try r.int())
            let offset = try r.int()
            let ts = try r.int()
            let message = OwnedMessage(
                topic: topic, partition: partition, offset: offset, timestampMs: ts,
                key: try r.optionalBytes(), value: try r.optionalBytes())
            messages.append(.init(transactionKey: key, message: message))
        }
        guard r.atEnd else { throw DecodeError(description: "trailing bytes") }
        return Saved(counters: c, recent: recent, transactions: transactions, messages: messages)
    }

    /// Puts back the saved counters and transactions (their messages are held again by the engine,
    /// which decodes them). An age keeps counting from where it was: a restart does not time out
    /// what was open, nor make it younger.
    package func restore(_ saved: Saved, slot: (String) -> Int) {
        let keepTimeout = counters.timeoutMs
        let keepMax = counters.maxBufferedEvents
        counters = saved.counters
        counters.bufferedEvents = 0
        counters.timeoutMs = keepTimeout
        counters.maxBufferedEvents = keepMax
        for k in saved.recent { recent.insert(k) }
        for s in saved.transactions {
            let t = Open(key: s.key, order: nextOrder, firstSeenMs: nowMs - s.ageMs)
            nextOrder += 1
            t.began = s.began
            t.expected = s.expected?.map { Expected(topic: $0.topic, slot: slot($0.topic), count: $0.count) }
            open[s.key] = t
            nextExpiryMs = min(nextExpiryMs, t.firstSeenMs + timeoutMs)
        }
    }
}

/// The last `capacity` keys inserted, for membership tests.
struct RecentKeys {
    private var ring: [Int64]
    private var next = 0
    private var members: Set<Int64> = []
    init(capacity: Int) {
        ring = []
        ring.reserveCapacity(capacity)
        self.capacity = capacity
    }
    let capacity: Int
    func contains(_ key: Int64) -> Bool { members.contains(key) }
    mutating func insert(_ key: Int64) {
        guard !members.contains(key) else { return }
        if ring.count < capacity {
            ring.append(key)
        } else {
            members.remove(ring[next])
            ring[next] = key
            next = (next + 1) % capacity
        }
        members.insert(key)
    }
    /// Oldest first.
    var ordered: [Int64] { ring.count < capacity ? ring : Array(ring[next...] + ring[..<next]) }
}

/// Little-endian integers and length-prefixed bytes (the checkpoint's transaction blob).
struct ByteWriter {
    var out: [UInt8] = []
    mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    mutating func bytes(_ b: [UInt8]) {
        int(Int64(b.count))
        out.append(contentsOf: b)
    }
    mutating func optionalBytes(_ b: [UInt8]?) { if let b { bytes(b) } else { int(-1) } }
    mutating func string(_ s: String) { bytes(Array(s.utf8)) }
}

struct ByteReader {
    let data: [UInt8]
    var at = 0
    init(_ data: [UInt8]) { self.data = data }
    var atEnd: Bool { at == data.count }
    mutating func int() throws -> Int64 {
        guard data.count - at >= 8 else { throw TransactionBuffer.DecodeError(description: "truncated at byte \(at)") }
        var v: Int64 = 0
        for i in 0..<8 { v |= Int64(data[at + i]) << (8 * i) }
        at += 8
        return v
    }
    mutating func count() throws -> Int {
        let n = try int()
        guard n >= 0, n <= Int64(data.count) else {
            throw TransactionBuffer.DecodeError(description: "bad count \(n) at byte \(at - 8)")
        }
        return Int(n)
    }
    mutating func bytes() throws -> [UInt8] {
        let n = try count()
        guard data.count - at >= n else { throw TransactionBuffer.DecodeError(description: "truncated at byte \(at)") }
        defer { at += n }
        return Array(data[at..<at + n])
    }
    mutating func optionalBytes() throws -> [UInt8]? {
        let n = try int()
        if n == -1 { return nil }
        at -= 8
        return try bytes()
    }
    mutating func string() throws -> String { String(decoding: try bytes(), as: UTF8.self) }
}

/// `--transactions complete` for a live engine: how long a transaction may stay open and how many
/// events may be held before what is open is released unfinished.
package struct TransactionHolding: Sendable, Hashable {
    package var timeoutMs: Int64
    package var maxBufferedEvents: Int
    package init(timeoutMs: Int64 = 60_000, maxBufferedEvents: Int = 500_000) {
        self.timeoutMs = timeoutMs
        self.maxBufferedEvents = maxBufferedEvents
    }
}
