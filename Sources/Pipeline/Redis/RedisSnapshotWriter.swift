import Foundation
import Metrics

/// The Redis key layout under one prefix (default `cdctop:<pipeline>`). Part of cdctop's interface:
/// downstream readers depend on it, so change it only with `RedisKeys.layoutVersion`.
///
/// | key | type | content |
/// |---|---|---|
/// | `P:meta` | hash | `state` (on/paused), `paused_at_ms`, `version`, `layout`, `pipeline`, `profile`, `started_at_ms`, `updated_at_ms`, `window_ttl_s` |
/// | `P:kpi` | hash | totals, current window, rates, lag, last commit time, every counter (`malformed`, `malformed:<table>`, `dropped`, `late_corrections`, `duplicates`, `unmatched`, `ignored`, `refused`, `last_malformed_*`), the durable state (`state_*`), `updated_at_ms` (see `RedisSnapshotWriter.kpiFields`) |
/// | `P:window:<window_start_ms>` | hash | `tx_count`, `revenue`, `final` (0/1), one `cat:<category>` per category, one `kpi:<NAME>` per windowed model KPI (its net values in the window, `[{"group":[…],"values":[…]}]`); TTL 24 h by default |
/// | `P:windows` | sorted set | index of window hashes: member and score are `window_start_ms` |
/// | `P:categories` | sorted set | category → total revenue as score (a double, for top-N ranking) |
/// | `P:category_revenue` | hash | category → exact total revenue (decimal text) |
/// | `P:lag` | hash | `<topic>:<partition>` → consumer lag in messages |
/// | `P:kpis` | hash | model profiles only: KPI name → its totals as `--json` prints them under `"kpis"` (`{"group_by":[…],"aggregates":[…],"totals":[{"group":[…],"values":[…]}],"unresolved_rows":N}`) |
/// | `P:updates` | pub/sub channel | one JSON message after each write |
/// | `P:writer` | string | `host:pid` of the one mirror writing this prefix (expires 10 s after its last write) |
///
/// Money is always exact decimal text (`Money.formatted()`); times are ms since the epoch.
package struct RedisKeys: Sendable, Hashable {
    package static let layoutVersion = 1
    package let prefix: String

    package init(prefix: String) { self.prefix = prefix }

    /// `cdctop:<pipeline>`.
    package static func defaultPrefix(pipeline: String) -> String { "cdctop:\(pipeline)" }

    package var meta: String { prefix + ":meta" }
    package var kpi: String { prefix + ":kpi" }
    package var windows: String { prefix + ":windows" }
    package var categories: String { prefix + ":categories" }
    package var categoryRevenue: String { prefix + ":category_revenue" }
    package var lag: String { prefix + ":lag" }
    /// A model profile's KPIs: name → totals JSON.
    package var kpis: String { prefix + ":kpis" }
    package var updates: String { prefix + ":updates" }
    package var writer: String { prefix + ":writer" }
    package func window(_ startMs: Int64) -> String { "\(prefix):window:\(startMs)" }

    /// Field holding one category's revenue in a window hash.
    package static let categoryFieldPrefix = "cat:"
    /// Field holding one model KPI's net values in a window hash: `kpi:<NAME>`.
    package static let kpiFieldPrefix = "kpi:"
    /// Field naming one topic-partition in the lag hash.
    package static func lagField(topic: String, partition: Int32) -> String { "\(topic):\(partition)" }
}

/// Static facts the mirror writes into `P:meta`.
struct MirrorIdentity: Sendable {
    var pipelineName: String
    var profileName: String
    var version: String
    var startedAtMs: Int64
    var windowTTLSeconds: Int
}

/// Turns snapshots into Redis writes on one connection. Remembers what it wrote, so only changed
/// windows go out; a new writer (after a reconnect or a resume) starts empty and writes everything.
/// Each snapshot is one MULTI/EXEC in one pipelined round trip, followed by a PUBLISH.
final class RedisSnapshotWriter {
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
    private(set) var lastCommandCount = 0
    /// The snapshot last written, so the next write looks only at the windows changed since
    /// (`KPIState.windowChanges`) instead of comparing every held window.
    private var lastWrittenSequence: UInt64?
    /// Expired windows are looked for at most once a second (it walks every written window).
    private var lastExpiryScanMs: Int64?
    /// The model KPIs' totals as last written to `P:kpis` (by KPI index), so only the KPIs whose values
    /// changed are written again; nil until the first write on this connection (which replaces the hash).
    private var writtenKPIs: (columns: [KPIColumns], values: [KPIValues])?

    init(connection: RedisConnection, keys: RedisKeys, identity: MirrorIdentity) {
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
    func write(_ snapshot: RunSnapshot, nowMs: Int64) throws {
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
        RedisSnapshotWriter.kpiFields(snapshot, updatedAtMs: nowMs, into: &fields)
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
            fields.append("tx_count")
            fields.append(String(w.txCount))
            fields.append("revenue")
            fields.append(w.revenue.formatted())
            fields.append("final")
            fields.append(isFinal ? "1" : "0")
            for name in w.categoryRevenue.keys.sorted() {
                fields.append(RedisKeys.categoryFieldPrefix + name)
                fields.append(w.categoryRevenue[name]!.formatted())
            }
            for (k, columns) in kpiColumns.enumerated() where columns.windowed {
                fields.append(RedisKeys.kpiFieldPrefix + columns.name)
                fields.append(KPIOutput.windowJSON(columns, k < w.kpis.count ? w.kpis[k] : KPIValues()))
            }
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

    /// The `P:kpi` hash, as field/value pairs.
    /// `P:kpi` field prefix of one table's malformed count: `malformed:<table>`.
    static let kpiMalformedPrefix = "malformed:"

    static func kpiFields(_ s: RunSnapshot, updatedAtMs: Int64, into f: inout [String]) {
        func put(_ k: String, _ v: String) {
            f.append(k)
            f.append(v)
        }
        put("total_tx_count", String(s.kpis.result.totals.txCount))
        put("total_revenue", s.kpis.result.totals.revenue.formatted())
        put("window_ms", String(s.kpis.result.windowMs))
        let current =
            s.kpis.maxCommitTimeMs > 0
            ? (s.kpis.window(containing: s.kpis.maxCommitTimeMs) ?? s.kpis.result.windows.last)
            : s.kpis.result.windows.last
        if let w = current {
            put("window_start_ms", String(w.windowStartMs))
            put("window_tx_count", String(w.txCount))
            put("window_revenue", w.revenue.formatted())
        }
        put("events_per_second", String(format: "%.1f", s.kpis.eventsPerSecond))
        put("bytes_per_second", String(format: "%.0f", s.kpis.bytesPerSecond))
        put("lag", String(s.consumer.totalLag))
        put("caught_up", s.consumer.caughtUp ? "1" : "0")
        put("last_commit_ms", String(s.kpis.maxCommitTimeMs))
        put("watermark_ms", String(s.kpis.watermarkMs))
        put("messages", String(s.kpis.result.messages))
        put("malformed", String(s.kpis.result.malformed))
        put("dropped", String(s.kpis.result.dropped))
        put("late_corrections", String(s.kpis.lateCorrections))
        put("tombstones", String(s.kpis.tombstones))
        put("parked_line_items", String(s.kpis.parkedLineItems))
        put("parked_revenue", s.kpis.parkedRevenue.formatted())
        put("duplicates", String(s.kpis.duplicates))
        put("unmatched", String(s.kpis.unmatched))
        put("ignored", String(s.kpis.ignored))
        put("refused", String(s.kpis.refused))
        put("heartbeats", String(s.kpis.heartbeats))
        // Per table: `malformed:<table>` for every table seen (0 included, so a reader sees the tables).
        for t in s.diagnostics.tables { put(kpiMalformedPrefix + t.table, String(t.malformed)) }
        if let m = s.diagnostics.recentMalformed.last {
            put("last_malformed_position", m.position.description)
            put("last_malformed_reason", m.reason)
        }
        // The durable state; absent fields mean none (no directory, no error, nothing restored).
        if let dir = s.state.directory { put("state_dir", dir) }
        put("state_last_checkpoint_ms", String(s.state.lastCheckpointMs))
        put("state_checkpoints", String(s.state.checkpoints))
        if let error = s.state.lastError { put("state_error", error) }
        if let restored = s.state.restored { put("state_restored", restored) }
        put("sequence", String(s.sequence))
        put("snapshot_at_ms", String(s.takenAtMs))
        put("updated_at_ms", String(updatedAtMs))
    }

    private func appendMeta(paused: Bool, nowMs: Int64) {
        var f = [
            "HSET", keys.meta,
            "state", paused ? "paused" : "on",
            "version", identity.version,
            "layout", String(RedisKeys.layoutVersion),
            "pipeline", identity.pipelineName,
            "profile", identity.profileName,
            "started_at_ms", String(identity.startedAtMs),
            "window_ttl_s", String(identity.windowTTLSeconds),
            "updated_at_ms", String(nowMs),
        ]
        if paused {
            f += ["paused_at_ms", String(nowMs)]
            buffer.append(arguments: f)
        } else {
            buffer.append(arguments: f)
            buffer.append("HDEL", keys.meta, "paused_at_ms")
        }
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
