import Foundation
import Metrics

/// The Redis key layout under one prefix (default `cdctop:<pipeline>`): `P:meta`, `P:kpi`, `P:window:<start>`,
/// `P:windows`, `P:categories`, `P:category_revenue`, `P:lag`, `P:kpis`, `P:updates`, `P:writer`, each described
/// in `RedisLayoutSchema` and docs/outputs/redis.md. Part of cdctop's interface: downstream readers depend on it,
/// so a removed or renamed field is a new `layoutVersion`. Money is exact decimal text; times are Unix ms.
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
package struct MirrorIdentity: Sendable {
    var pipelineName: String
    var profileName: String
    var version: String
    var startedAtMs: Int64
    var windowTTLSeconds: Int

    package init(
        pipelineName: String, profileName: String, version: String, startedAtMs: Int64, windowTTLSeconds: Int
    ) {
        self.pipelineName = pipelineName
        self.profileName = profileName
        self.version = version
        self.startedAtMs = startedAtMs
        self.windowTTLSeconds = windowTTLSeconds
    }
}

/// What the mirror writes, field by field: the encoder of the layout `RedisLayoutSchema` declares and
/// docs/outputs/redis.md documents (`RedisLayoutSchemaTests` compares them on a real Redis). The writer
/// (`Redis/RedisSnapshotWriter`) decides when and which windows go out; this decides what they hold.
package enum RedisLayout {
    /// `P:kpi` field prefix of one table's malformed count: `malformed:<table>`.
    package static let kpiMalformedPrefix = "malformed:"

    /// The `P:kpi` hash, as field/value pairs.
    package static func kpiFields(_ s: RunSnapshot, updatedAtMs: Int64, into f: inout [String]) {
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

    /// One window's hash: `tx_count`, `revenue`, `final`, `cat:<category>` per category, `kpi:<NAME>` per
    /// windowed model KPI.
    package static func windowFields(
        _ w: WindowResult, isFinal: Bool, kpiColumns: [KPIColumns], into fields: inout [String]
    ) {
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
    }

    /// `P:meta`: the mirror's identity, on/paused and when.
    package static func metaFields(_ identity: MirrorIdentity, paused: Bool, nowMs: Int64) -> [String] {
        var f = [
            "state", paused ? "paused" : "on",
            "version", identity.version,
            "layout", String(RedisKeys.layoutVersion),
            "pipeline", identity.pipelineName,
            "profile", identity.profileName,
            "started_at_ms", String(identity.startedAtMs),
            "window_ttl_s", String(identity.windowTTLSeconds),
            "updated_at_ms", String(nowMs),
        ]
        if paused { f += ["paused_at_ms", String(nowMs)] }
        return f
    }
}
