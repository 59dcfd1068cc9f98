/// How far in event time the data read so far reaches: what the watermark is made of (issue 22).
///
/// The rule, per source partition (a Kafka topic-partition; heartbeat topics are partitions too):
/// - A partition's time is the newest commit time read from it (for a heartbeat topic: the newest
///   heartbeat's `ts_ms`).
/// - A partition is *behind* while it has messages not read yet: from its assignment until it reports
///   its end, and again from its next message until the next end. The engine says which (`noteAssigned`,
///   `noteReading`, `noteReachedEnd`); partitions it never mentions (replays, benchmarks, tests) are never behind.
/// - The clock (watermark + allowed lateness) is the lowest time among the partitions behind, or, when
///   none is, the highest time of all. It never goes back.
///
/// So a catch-up read of finished topics holds the watermark at the slowest partition still being read:
/// reading one topic ahead of another is not lateness, and a plain read of complete history counts no
/// late corrections. Once every partition is read to its end, the newest time read wins, as a live run
/// expects. A heartbeat (`__debezium-heartbeat.<prefix>`) read while data partitions are behind only holds
/// its place; once every partition has been read to its end after it, everything its connector sent
/// before it has been read, so its time moves the watermark: on a quiet pipeline the last window closes
/// within one heartbeat interval plus the allowed lateness. Events the producer reordered across
/// partitions, or a connector behind its own database, are what the allowed lateness is for: a later
/// event for a closed window still corrects it (a late correction), nothing is lost.
///
/// Also: whether a partition is still *catching up* (not yet read to its end once since it was assigned),
/// which separates a startup backlog from live latency.
package struct ReadProgress: Sendable {
    /// The event time every partition still being read has passed (see the type's comment); `.min` before any.
    package private(set) var clockMs: Int64 = .min

    private var keys: [Int64] = []
    private var timesMs: [Int64] = []
    private var behind: [Bool] = []
    private var catchingUp: [Bool] = []
    private var indexByKey: [Int64: Int] = [:]
    private var lastIndex = -1
    private var behindCount = 0
    /// The lowest time among the partitions behind (valid while `behindCount` > 0).
    private var minBehindMs: Int64 = .min
    /// How many partitions behind are at `minBehindMs`: only when the last of them moves on (or stops being
    /// behind) is the minimum searched for again, not each time one of them reads an event.
    private var atMinBehindCount = 0
    /// The highest time of any partition.
    private var maxMs: Int64 = .min
    /// Partitions assigned and not yet read to their end once.
    package private(set) var catchingUpCount = 0

    package init() {}

    @inline(__always) private mutating func index(of key: Int64) -> Int {
        if lastIndex >= 0 && keys[lastIndex] == key { return lastIndex }
        // Events of several partitions interleave: a scan of a few keys beats hashing one.
        if keys.count <= 16 {
            if let i = keys.firstIndex(of: key) {
                lastIndex = i
                return i
            }
        } else if let i = indexByKey[key] {
            lastIndex = i
            return i
        }
        keys.append(key)
        timesMs.append(.min)
        behind.append(false)
        catchingUp.append(false)
        indexByKey[key] = keys.count - 1
        lastIndex = keys.count - 1
        return lastIndex
    }

    /// An event (or heartbeat) of `partitionKey` with this time was read. True when the clock moved.
    @inline(__always)
    package mutating func noteTime(_ timeMs: Int64, partitionKey: Int64) -> Bool {
        let i = index(of: partitionKey)
        if timeMs > timesMs[i] {
            let old = timesMs[i]
            timesMs[i] = timeMs
            if behind[i] && old == minBehindMs { leftMinBehind() }
        }
        if timeMs > maxMs { maxMs = timeMs }
        return advance()
    }

    /// The partition was assigned: until it reports its end, it is behind and catching up. Known
    /// partitions keep their state (an assignment seen again changes nothing).
    package mutating func noteAssigned(partitionKey: Int64) {
        guard indexByKey[partitionKey] == nil else { return }
        let i = index(of: partitionKey)
        catchingUp[i] = true
        catchingUpCount += 1
        setBehind(i, true)
    }

    /// Messages of the partition are being read: more may follow until it reports its end.
    package mutating func noteReading(partitionKey: Int64) {
        let i = index(of: partitionKey)
        if !behind[i] { setBehind(i, true) }
    }

    /// The partition has been read to its end. True when the clock moved.
    @discardableResult
    package mutating func noteReachedEnd(partitionKey: Int64) -> Bool {
        let i = index(of: partitionKey)
        if catchingUp[i] {
            catchingUp[i] = false
            catchingUpCount -= 1
        }
        if behind[i] { setBehind(i, false) }
        return advance()
    }

    /// Not yet read to its end once since it was assigned.
    @inline(__always) package func isCatchingUp(partitionKey: Int64) -> Bool {
        guard catchingUpCount > 0 else { return false }
        if lastIndex >= 0 && keys[lastIndex] == partitionKey { return catchingUp[lastIndex] }
        return indexByKey[partitionKey].map { catchingUp[$0] } ?? false
    }

    /// The lowest time reached by a partition still catching up (0 when none has read an event yet),
    /// or nil when none is catching up.
    package var backlogReachedMs: Int64? {
        guard catchingUpCount > 0 else { return nil }
        var lowest = Int64.max
        for i in keys.indices where catchingUp[i] && timesMs[i] != .min { lowest = min(lowest, timesMs[i]) }
        return lowest == .max ? 0 : lowest
    }

    /// After a restore: the clock starts where the saved state's watermark was.
    package mutating func restore(clockMs: Int64) { self.clockMs = max(self.clockMs, clockMs) }

    /// The partition was dropped (revoked): it no longer holds the clock. True when the clock moved
    /// (the revoked partition was the slowest one behind).
    @discardableResult
    package mutating func forget(partitionKey: Int64) -> Bool {
        guard let i = indexByKey[partitionKey] else { return false }
        if catchingUp[i] {
            catchingUp[i] = false
            catchingUpCount -= 1
        }
        if behind[i] { setBehind(i, false) }
        return advance()
    }

    private mutating func setBehind(_ i: Int, _ value: Bool) {
        behind[i] = value
        behindCount += value ? 1 : -1
        if value {
            if behindCount == 1 || timesMs[i] < minBehindMs {
                minBehindMs = timesMs[i]
                atMinBehindCount = 1
            } else if timesMs[i] == minBehindMs {
                atMinBehindCount += 1
            }
        } else if behindCount > 0 && timesMs[i] == minBehindMs {
            leftMinBehind()
        }
    }

    /// A partition behind at `minBehindMs` moved past it or is no longer behind.
    @inline(__always) private mutating func leftMinBehind() {
        atMinBehindCount -= 1
        if atMinBehindCount == 0 { recomputeMinBehind() }
    }

    private mutating func recomputeMinBehind() {
        var lowest = Int64.max
        var count = 0
        for i in behind.indices where behind[i] {
            if timesMs[i] < lowest {
                lowest = timesMs[i]
                count = 1
            } else if timesMs[i] == lowest {
                count += 1
            }
        }
        minBehindMs = lowest
        atMinBehindCount = count
    }

    @inline(__always) private mutating func advance() -> Bool {
        let candidate = behindCount > 0 ? minBehindMs : maxMs
        guard candidate > clockMs else { return false }
        clockMs = candidate
        return true
    }
}

extension KPIState {
    /// The newest commit, when the window holding it is closed: the watermark passed that window's end,
    /// which on a quiet source only heartbeats make happen (issue 22). Nil while that window can still change.
    package var idleSinceMs: Int64? {
        let windowMs = result.windowMs
        guard maxCommitTimeMs > 0, watermarkMs > 0, windowMs > 0 else { return nil }
        let start = maxCommitTimeMs - TimeText.floorMod(maxCommitTimeMs, windowMs)
        return watermarkMs >= start + windowMs ? maxCommitTimeMs : nil
    }
}
