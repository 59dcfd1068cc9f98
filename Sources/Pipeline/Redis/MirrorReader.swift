import Foundation
import Metrics
import Synchronization

/// What one read of the Redis mirror gives a viewer (`cdctop attach`): the mirrored state, who writes
/// it and how old it is. A viewer only reads (HGETALL/ZRANGE/GET in one round trip per refresh), so any
/// number of them cost the writer nothing.
package struct MirrorView: Sendable {
    package var state: MirroredState
    /// `host:pid:tag` of the mirror holding `P:writer`; nil when no writer holds it (stopped cleanly or
    /// crashed more than the key's TTL ago).
    package var writerToken: String?
    /// Wall time of this read (ms since epoch).
    package var readAtMs: Int64

    package init(state: MirroredState, writerToken: String?, readAtMs: Int64) {
        self.state = state
        self.writerToken = writerToken
        self.readAtMs = readAtMs
    }

    /// The writer's last write (ms since epoch), 0 when the mirror holds nothing.
    package var writerUpdatedAtMs: Int64 {
        (state.kpi["updated_at_ms"] ?? state.meta["updated_at_ms"]).flatMap { Int64($0) } ?? 0
    }

    /// "host:pid" of the writer (its token without the tag), or nil.
    package var writerInstance: String? {
        guard let token = writerToken else { return nil }
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 2 ? "\(parts[0]):\(parts[1])" : token
    }

    /// The writer's pid, when its token names one.
    package var writerPID: Int32? {
        guard let token = writerToken else { return nil }
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 2 ? Int32(parts[1]) : nil
    }

    /// A writer silent for longer than this is shown as stalled (it writes several times a second and
    /// renews `P:writer` every few seconds even when idle).
    package static let staleAfterMs: Int64 = 5_000

    /// For the status bar's Redis slot and the title: who writes and how long ago, e.g.
    /// `writer shop-1:4242 · 0.4 s ago`; stalled once the writer has been silent too long or is gone.
    package func status(nowMs: Int64) -> ServiceStatus {
        if state.isEmpty {
            return ServiceStatus(
                .connecting,
                "nothing mirrored under \(state.prefix) yet: is a cdctop watch running with --redis and this --pipeline?"
            )
        }
        // The age first: a narrow title cuts the end.
        let age = MirroredState.age(max(0, nowMs - writerUpdatedAtMs))
        guard let writer = writerInstance else {
            return ServiceStatus(.stalled, "no writer, last write \(age) ago (nothing holds \(state.prefix):writer)")
        }
        if state.isPaused { return ServiceStatus(.paused, "writer \(writer) paused its mirror \(age) ago") }
        if nowMs - writerUpdatedAtMs > MirrorView.staleAfterMs {
            return ServiceStatus(.stalled, "writer silent for \(age) (\(writer))")
        }
        return ServiceStatus(.ok, "writer \(writer) · \(age) ago")
    }

    /// The title's words, short enough for 80 columns: `viewer of pid 4242 · 0.4 s ago`, `no writer · 12 s ago`.
    package func title(nowMs: Int64) -> String {
        if state.isEmpty { return "viewer: nothing mirrored yet" }
        let age = MirroredState.age(max(0, nowMs - writerUpdatedAtMs))
        guard writerToken != nil else { return "no writer · last write \(age) ago" }
        return "viewer of pid \(writerPID.map(String.init) ?? writerInstance ?? "?") · \(age) ago"
    }

    /// The mirrored state as the engine snapshot the dashboard draws. Only what the mirror holds is
    /// filled in (totals, windows, categories, counters, lag per partition, malformed per table); a
    /// model profile's KPIs and the recent changes of each table are not mirrored.
    package func snapshot() -> RunSnapshot {
        let kpi = state.kpi
        func int(_ field: String) -> Int64 { kpi[field].flatMap { Int64($0) } ?? 0 }
        var result = KPIResult(
            windowMs: int("window_ms"), messages: int("messages"), windows: state.windowResults,
            totals: state.totals, malformed: int("malformed"), dropped: int("dropped"))
        result.windows.sort { $0.windowStartMs < $1.windowStartMs }
        var s = RunSnapshot(result: result)
        // Redraws follow the sequence: the writer's update time changes with every write it makes, and
        // the writer's going away (Kafka's slot below) changes it once more.
        s.sequence = UInt64(max(0, writerUpdatedAtMs)) &* 2 &+ (writerToken == nil ? 1 : 0)
        s.takenAtMs = int("snapshot_at_ms")
        s.kpis.profile.name = state.meta["profile"] ?? ""
        s.kpis.finalWindowStarts = Set(state.windows.filter(\.isFinal).map(\.result.windowStartMs))
        s.kpis.watermarkMs = int("watermark_ms")
        s.kpis.maxCommitTimeMs = int("last_commit_ms")
        s.kpis.lateCorrections = int("late_corrections")
        s.kpis.tombstones = int("tombstones")
        s.kpis.parkedLineItems = int("parked_line_items")
        s.kpis.parkedRevenue = kpi["parked_revenue"].flatMap { Money(decimalText: $0) } ?? .zero
        s.kpis.eventsPerSecond = kpi["events_per_second"].flatMap { Double($0) } ?? 0
        s.kpis.bytesPerSecond = kpi["bytes_per_second"].flatMap { Double($0) } ?? 0
        s.kpis.duplicates = int("duplicates")
        s.kpis.unmatched = int("unmatched")
        s.kpis.ignored = int("ignored")
        s.kpis.refused = int("refused")
        s.kpis.heartbeats = int("heartbeats")
        s.consumer.caughtUp = kpi["caught_up"] == "1"
        s.diagnostics.tables = state.malformedByTable.map { t in
            var stats = TableStats(table: t.table, role: .other)
            stats.malformed = t.count
            return stats
        }
        if let reason = kpi["last_malformed_reason"] {
            let position =
                kpi["last_malformed_position"].flatMap(MirrorView.position)
                ?? EventPosition(topic: "?", partition: 0, offset: 0)
            s.diagnostics.recentMalformed = [MalformedRecord(position: position, reason: reason)]
        }
        // Lag is mirrored as messages only: position 0 and end = lag give the same number on screen.
        s.consumer.partitions = state.lag.compactMap { l in
            guard let colon = l.partition.lastIndex(of: ":"),
                let partition = Int32(l.partition[l.partition.index(after: colon)...])
            else { return nil }
            return PartitionLag(
                topic: String(l.partition[..<colon]), partition: partition, position: 0, highWatermark: l.lag,
                reachedEnd: s.consumer.caughtUp)
        }
        if let dir = kpi["state_dir"] {
            s.state = StateStatus(directory: dir)
            s.state.lastCheckpointMs = int("state_last_checkpoint_ms")
            s.state.checkpoints = int("state_checkpoints")
            s.state.lastError = kpi["state_error"]
            s.state.restored = kpi["state_restored"]
        }
        // This process reads no Kafka: say who does.
        s.consumer.kafka =
            writerInstance.map { ServiceStatus(.ok, "read by \($0)") } ?? ServiceStatus(.off, "no writer reads it")
        return s
    }

    /// `topic[partition]@offset` or `topic:partition:offset` back into a position (best effort).
    static func position(_ text: String) -> EventPosition? {
        let separators = CharacterSet(charactersIn: ":[]@/")
        let parts = text.components(separatedBy: separators).filter { !$0.isEmpty }
        guard parts.count >= 3, let offset = Int64(parts[parts.count - 1]),
            let partition = Int32(parts[parts.count - 2])
        else { return nil }
        return EventPosition(
            topic: parts[..<(parts.count - 2)].joined(separator: ":"), partition: partition, offset: offset)
    }
}

/// Reads the mirror under one prefix for a viewer, on its own connection (reconnecting after errors).
package final class MirrorReader: Sendable {
    package let url: RedisURL
    package let prefix: String
    /// Held for a whole read: one connection, one command at a time.
    private let connection = Mutex<RedisConnection?>(nil)

    package init(url: RedisURL, prefix: String) {
        self.url = url
        self.prefix = prefix
    }

    /// One consistent read (the keys in one MULTI/EXEC) plus the writer key. Throws what Redis said; the
    /// next call reconnects.
    package func read() throws -> MirrorView {
        try connection.withLock { held in
            do {
                let connection = try held ?? RedisConnection(url: url)
                held = connection
                let state = try MirroredState.read(connection: connection, prefix: prefix)
                let writer = try connection.command("GET", RedisKeys(prefix: prefix).writer).text
                return MirrorView(state: state, writerToken: writer, readAtMs: WallClock.nowMs())
            } catch {
                held = nil
                throw error
            }
        }
    }
}
