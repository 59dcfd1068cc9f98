import Foundation
import Metrics

/// Turns snapshots into Redis writes on one connection. Remembers what it wrote, so only changed
/// windows go out; a new writer (after a reconnect or a resume) starts empty and writes everything.
/// Each snapshot is one MULTI/EXEC in one pipelined round trip, followed by a PUBLISH.
package final class RedisSnapshotWriter {
    let connection: RedisConnection
    let keys: RedisKeys
    let identity: MirrorIdentity
    private var writtenWindows: [Int64: (window: WindowResult, isFinal: Bool)] = [:]
    /// When each window was last written, to drop it from the `P:windows` index once its TTL ran out.
    private var windowWrittenAtMs: [Int64: Int64] = [:]
    private var buffer = RedisCommandBuffer()
    private var fields: [String] = []
    /// Windows written by the last `write` (for tests and the update message).
    private(set) var lastWrittenWindowStarts: [Int64] = []
    package private(set) var lastCommandCount = 0
    /// The snapshot last written, so the next write looks only at the windows changed since
    /// (`KPIState.windowChanges`) instead of comparing every held window.
    private var lastWrittenSequence: UInt64?
    /// Expired windows are looked for at most once a second (it walks every written window).
    private var lastExpiryScanMs: Int64?
    /// The model KPIs' totals as last written to `P:kpis` (by KPI index), so only the KPIs whose values
    /// changed are written again; nil until the first write on this connection (which replaces the hash).
    private var writtenKPIs: (columns: [KPIColumns], values: [KPIValues])?

    package init(connection: RedisConnection, keys: RedisKeys, identity: MirrorIdentity) {
        self.connection = connection
        self.keys = keys
        self.identity = identity
    }

    /// Claims (or renews) the prefix's writer key `P:writer` for `ttlMs`: one mirror per prefix, so two
    /// viewers at different positions never overwrite each other. Returns nil when this writer holds it,
    /// or the holder's token ("host:pid") when another does. Atomic (one Lua script).
    func claimWriter(token: String, ttlMs: Int) throws -> String? {
        let script = """
            if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
            if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
            return redis.call('get', KEYS[1])
            """
        let reply = try connection.command("EVAL", script, "1", keys.writer, token, String(ttlMs))
        if case .integer(1) = reply { return nil }
        if case .error(let message) = reply { throw RedisError(.server, "claiming \(keys.writer): \(message)") }
        return reply.text ?? "another cdctop"
    }

    /// Gives the writer key up if this writer holds it (clean stop), so another mirror takes over at once.
    func releaseWriter(token: String) {
        let script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
        _ = try? connection.command("EVAL", script, "1", keys.writer, token)
    }

    /// Forget what was written, so the next write rewrites every window.
    func forgetWritten() {
        writtenWindows.removeAll(keepingCapacity: true)
        windowWrittenAtMs.removeAll(keepingCapacity: true)
        lastWrittenSequence = nil
        writtenKPIs = nil
    }

    /// Writes `P:meta` alone: on connect (before any snapshot) and when pausing.
    func writeMeta(paused: Bool, nowMs: Int64) throws {
        buffer.removeAll()
        buffer.append("MULTI")
        appendMeta(paused: paused, nowMs: nowMs)
        buffer.append("EXEC")
        buffer.append("PUBLISH", keys.updates, "{\"state\":\"\(paused ? "paused" : "on")\",\"updated_at_ms\":\(nowMs)}")
        try execute()
    }

    /// Writes one snapshot atomically: meta, kpi, changed windows, categories, lag; then PUBLISH.
    package func write(_ snapshot: RunSnapshot, nowMs: Int64) throws {
        let full = writtenWindows.isEmpty
        let kpiColumns = snapshot.kpis.result.kpiColumns
        buffer.removeAll()
        lastWrittenWindowStarts.removeAll(keepingCapacity: true)
        buffer.append("MULTI")
        if full {
            appendMeta(paused: false, nowMs: nowMs)
        } else {
            buffer.append("HSET", keys.meta, "updated_at_ms", String(nowMs))
        }

        fields.removeAll(keepingCapacity: true)
        RedisLayout.kpiFields(snapshot, updatedAtMs: nowMs, into: &fields)
        buffer.append("DEL", keys.kpi)
        appendHashSet(keys.kpi, fields)

        let ttl = String(identity.windowTTLSeconds)
        var changed: [(start: Int64, window: WindowResult, isFinal: Bool)] = []
        var considered = Set<Int64>()
        func consider(_ w: WindowResult, rewrite: Bool = false) {
            guard considered.insert(w.windowStartMs).inserted else { return }
            let isFinal = snapshot.kpis.finalWindowStarts.contains(w.windowStartMs)
            if !rewrite, let old = writtenWindows[w.windowStartMs], old.window == w, old.isFinal == isFinal { return }
            changed.append((w.windowStartMs, w, isFinal))
        }
        // Hashes whose TTL ran out: rewritten if the engine still holds the window, else dropped from the
        // index. Looked for at most once a second (it walks every written window).
        let expiredBefore = nowMs - Int64(identity.windowTTLSeconds) * 1000
        var expired: [String] = []
        let expiryScanDue = lastExpiryScanMs.map { $0 > nowMs || nowMs - $0 >= 1000 } ?? true
        if expiryScanDue {
            lastExpiryScanMs = nowMs
            for (start, at) in windowWrittenAtMs where at < expiredBefore {
                if let w = snapshot.kpis.result.window(startingAt: start) {
                    consider(w, rewrite: true)
                } else {
                    expired.append(String(start))
                }
            }
        }
        if !full, let last = lastWrittenSequence, let starts = snapshot.kpis.windowChanges.changes(since: last) {
            for start in starts.sorted() {
                if let w = snapshot.kpis.result.window(startingAt: start) { consider(w) }
            }
        } else {
            for w in snapshot.kpis.result.windows { consider(w) }
        }
        for (start, w, isFinal) in changed {
            let key = keys.window(start)
            fields.removeAll(keepingCapacity: true)
            RedisLayout.windowFields(w, isFinal: isFinal, kpiColumns: kpiColumns, into: &fields)
            // DEL first: a correction can remove a category that netted to zero.
            buffer.append("DEL", key)
            appendHashSet(key, fields)
            buffer.append("EXPIRE", key, ttl)
            buffer.append("ZADD", keys.windows, String(start), String(start))
            lastWrittenWindowStarts.append(start)
        }
        // Windows whose hash has expired leave the index too.
        if !expired.isEmpty {
            buffer.append(arguments: ["ZREM", keys.windows] + expired)
        }

        let totals = snapshot.kpis.result.totals
        // Model KPIs: the first write on a connection replaces the hash; later ones set only the KPIs
        // whose totals changed (an unchanged KPI's values share storage with the last ones: O(1) to compare).
        let newKPIs = (columns: kpiColumns, values: totals.kpis)
        let previous = writtenKPIs.flatMap { $0.columns == kpiColumns ? $0 : nil }
        if previous == nil { buffer.append("DEL", keys.kpis) }
        fields.removeAll(keepingCapacity: true)
        for (k, columns) in kpiColumns.enumerated() {
            let values = k < totals.kpis.count ? totals.kpis[k] : KPIValues()
            if let previous, k < previous.values.count, previous.values[k] == values { continue }
            fields.append(columns.name)
            fields.append(KPIOutput.totalsJSON(columns, values))
        }
        if !fields.isEmpty { appendHashSet(keys.kpis, fields) }

        buffer.append("DEL", keys.categories, keys.categoryRevenue)
        if !totals.categoryRevenue.isEmpty {
            let names = totals.categoryRevenue.keys.sorted()
            buffer.beginCommand(argumentCount: 2 + 2 * names.count)
            buffer.appendArgument("ZADD")
            buffer.appendArgument(keys.categories)
            for name in names {
                buffer.appendArgument(totals.categoryRevenue[name]!.formatted())
                buffer.appendArgument(name)
            }
            buffer.beginCommand(argumentCount: 2 + 2 * names.count)
            buffer.appendArgument("HSET")
            buffer.appendArgument(keys.categoryRevenue)
            for name in names {
                buffer.appendArgument(name)
                buffer.appendArgument(totals.categoryRevenue[name]!.formatted())
            }
        }

        buffer.append("DEL", keys.lag)
        if !snapshot.consumer.partitions.isEmpty {
            buffer.beginCommand(argumentCount: 2 + 2 * snapshot.consumer.partitions.count)
            buffer.appendArgument("HSET")
            buffer.appendArgument(keys.lag)
            for p in snapshot.consumer.partitions {
                buffer.appendArgument(RedisKeys.lagField(topic: p.topic, partition: p.partition))
                buffer.appendArgument(p.lag)
            }
        }
        buffer.append("EXEC")

        var message = "{\"sequence\":\(snapshot.sequence),\"updated_at_ms\":\(nowMs),\"full\":\(full),\"windows\":["
        for (i, s) in lastWrittenWindowStarts.enumerated() {
            if i > 0 { message += "," }
            message += String(s)
        }
        message += "]}"
        buffer.append("PUBLISH", keys.updates, message)

        try execute()
        // Only once Redis has taken it: a failed write is retried in full on the next connection.
        for (start, w, isFinal) in changed {
            writtenWindows[start] = (w, isFinal)
            windowWrittenAtMs[start] = nowMs
        }
        for s in expired {
            if let start = Int64(s) {
                windowWrittenAtMs[start] = nil
                writtenWindows[start] = nil
            }
        }
        lastWrittenSequence = snapshot.sequence
        writtenKPIs = newKPIs
        // Windows the engine no longer holds will not change again; forget them (Redis keeps them until TTL).
        if writtenWindows.count > snapshot.kpis.result.windows.count {
            let held = Set(snapshot.kpis.result.windows.map(\.windowStartMs))
            for start in writtenWindows.keys where !held.contains(start) { writtenWindows[start] = nil }
        }
    }

    private func appendMeta(paused: Bool, nowMs: Int64) {
        buffer.append(arguments: ["HSET", keys.meta] + RedisLayout.metaFields(identity, paused: paused, nowMs: nowMs))
        if !paused { buffer.append("HDEL", keys.meta, "paused_at_ms") }
    }

    private func appendHashSet(_ key: String, _ fieldValues: [String]) {
        buffer.beginCommand(argumentCount: 2 + fieldValues.count)
        buffer.appendArgument("HSET")
        buffer.appendArgument(key)
        for v in fieldValues { buffer.appendArgument(v) }
    }

    /// Sends the buffer and checks every reply: MULTI's OK, the QUEUED acks, EXEC's results.
    private func execute() throws {
        lastCommandCount = buffer.commandCount
        connection.append(buffer)
        let replies = try connection.getReplies()
        for r in replies {
            if let message = r.errorMessage {
                throw RedisError(.server, "Redis at \(connection.url) rejected the mirror's write: \(message)")
            }
            for inner in r.elements {
                if let message = inner.errorMessage {
                    throw RedisError(
                        .server, "Redis at \(connection.url) rejected part of the mirror's write: \(message)")
                }
            }
        }
    }
}
