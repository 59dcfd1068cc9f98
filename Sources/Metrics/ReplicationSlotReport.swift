/// The source PostgreSQL's logical replication slots (`--source`), as `ReplicationSlotMonitor`
/// (Pipeline) last read them: how much WAL each one makes the server keep, whether a consumer is
/// attached, and since when its confirmed position has not moved. A slot nobody reads keeps WAL until
/// the disk fills; this is what the Connections panel, `--json`, `/metrics` and `CdcReplicationSlotLag` show.

/// One logical replication slot.
package struct ReplicationSlot: Sendable, Hashable {
    package var name: String
    /// Output plugin (`pgoutput`, `decoderbufs`, `test_decoding`…).
    package var plugin: String
    package var database: String
    /// A walsender (Debezium's connector) is attached right now.
    package var active: Bool
    /// The attached walsender's process id; nil while inactive.
    package var activePID: Int32?
    /// Positions as PostgreSQL prints them (`16/B374D848`); nil when the server has none yet.
    package var confirmedFlushLSN: String?
    package var restartLSN: String?
    /// Current WAL position − `confirmed_flush_lsn`, in bytes: what the consumer has not confirmed yet.
    package var retainedBytes: Int64?
    /// Current WAL position − `restart_lsn`, in bytes: the WAL the server cannot recycle because of this slot.
    package var restartRetainedBytes: Int64?
    /// `wal_status` (PostgreSQL ≥ 13): reserved, extended, unreserved or lost; nil on older servers.
    package var walStatus: String?
    /// `safe_wal_size` (PostgreSQL ≥ 13): bytes that can still be written before the slot loses WAL;
    /// nil when unlimited (`max_slot_wal_keep_size = -1`) or on older servers.
    package var safeWALSizeBytes: Int64?
    /// When `confirmed_flush_lsn` last moved (ms since epoch). Until cdctop has seen it move
    /// (`advanceSeen` false) this is when cdctop first saw the slot: the slot has been still at least that long.
    package var lastAdvanceMs: Int64
    package var advanceSeen: Bool
    /// Since when the slot has had no consumer (ms since epoch); 0 while active. From the server when
    /// it says (`inactive_since`, PostgreSQL ≥ 17, `inactiveSinceExact`), else when cdctop first saw it inactive.
    package var inactiveSinceMs: Int64
    package var inactiveSinceExact: Bool

    package init(
        name: String, plugin: String, database: String, active: Bool, activePID: Int32? = nil,
        confirmedFlushLSN: String? = nil, restartLSN: String? = nil, retainedBytes: Int64? = nil,
        restartRetainedBytes: Int64? = nil, walStatus: String? = nil, safeWALSizeBytes: Int64? = nil,
        lastAdvanceMs: Int64, advanceSeen: Bool = false, inactiveSinceMs: Int64 = 0, inactiveSinceExact: Bool = false
    ) {
        self.name = name
        self.plugin = plugin
        self.database = database
        self.active = active
        self.activePID = activePID
        self.confirmedFlushLSN = confirmedFlushLSN
        self.restartLSN = restartLSN
        self.retainedBytes = retainedBytes
        self.restartRetainedBytes = restartRetainedBytes
        self.walStatus = walStatus
        self.safeWALSizeBytes = safeWALSizeBytes
        self.lastAdvanceMs = lastAdvanceMs
        self.advanceSeen = advanceSeen
        self.inactiveSinceMs = inactiveSinceMs
        self.inactiveSinceExact = inactiveSinceExact
    }

    /// The WAL the alert rule and the dashboard judge: behind the confirmed position, or behind
    /// `restart_lsn` for a slot that never confirmed anything.
    package var judgedRetainedBytes: Int64? { retainedBytes ?? restartRetainedBytes }

    package func secondsSinceAdvance(nowMs: Int64) -> Double { Double(max(0, nowMs - lastAdvanceMs)) / 1000 }
}

/// The last reading of every logical slot on the source.
package struct ReplicationSlotReport: Sendable, Hashable {
    /// Sorted by name.
    package var slots: [ReplicationSlot] = []
    /// The server's WAL position the retained bytes were measured from (`pg_current_wal_lsn()`, or the
    /// replay position on a standby).
    package var currentLSN: String = ""
    /// `server_version_num`, e.g. 150018.
    package var serverVersion: Int = 0
    /// When the slots were last read successfully (ms since epoch); 0 before the first reading.
    package var checkedAtMs: Int64 = 0
    /// Why the latest attempt failed; nil when it worked. The slots are then those of `checkedAtMs`.
    package var error: String?
    package init() {}

    /// `[{"slot","plugin","database","active","active_pid","confirmed_flush_lsn","restart_lsn",
    /// "retained_wal_bytes","restart_retained_wal_bytes","wal_status","safe_wal_size","last_advance_ms",
    /// "seconds_since_advance","advance_seen","inactive_since_ms"}]`, null where the server has no value.
    package func json(nowMs: Int64) -> String {
        func optional(_ v: Int64?) -> String { v.map(String.init) ?? "null" }
        func optional(_ v: String?) -> String { v.map(JSONText.quoted) ?? "null" }
        var out = "["
        for (i, s) in slots.enumerated() {
            if i > 0 { out += "," }
            out +=
                "{\"slot\":\(JSONText.quoted(s.name)),\"plugin\":\(JSONText.quoted(s.plugin)),\"database\":\(JSONText.quoted(s.database))"
            out += ",\"active\":\(s.active),\"active_pid\":\(s.activePID.map(String.init) ?? "null")"
            out += ",\"confirmed_flush_lsn\":\(optional(s.confirmedFlushLSN)),\"restart_lsn\":\(optional(s.restartLSN))"
            out +=
                ",\"retained_wal_bytes\":\(optional(s.retainedBytes)),\"restart_retained_wal_bytes\":\(optional(s.restartRetainedBytes))"
            out += ",\"wal_status\":\(optional(s.walStatus)),\"safe_wal_size\":\(optional(s.safeWALSizeBytes))"
            out +=
                ",\"last_advance_ms\":\(s.lastAdvanceMs),\"seconds_since_advance\":\(s.secondsSinceAdvance(nowMs: nowMs))"
            out +=
                ",\"advance_seen\":\(s.advanceSeen),\"inactive_since_ms\":\(s.active ? "null" : String(s.inactiveSinceMs))}"
        }
        return out + "]"
    }

    /// `1.5 GiB`, `740 KiB`, `12 B`: binary units, one decimal below 10.
    package static func bytesText(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(max(0, bytes))
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(Int64(value)) B" }
        let tenths = (value * 10).rounded() / 10
        if tenths < 10 { return "\(tenths) \(units[unit])" }
        return "\(Int64(value.rounded())) \(units[unit])"
    }
}

extension AlertRules {
    /// Why `slot` breaks the `CdcReplicationSlotLag` rule at `nowMs`, or nil when it does not: it
    /// retains more WAL than `slotRetainedBytes`, has had no consumer for `slotInactiveMs`, or lost its
    /// WAL. One definition for the alert and the dashboard's red.
    package func slotProblem(_ slot: ReplicationSlot, nowMs: Int64) -> String? {
        var reasons: [String] = []
        if let retained = slot.judgedRetainedBytes, retained > slotRetainedBytes {
            reasons.append(
                "retains \(ReplicationSlotReport.bytesText(retained)) of WAL (over \(ReplicationSlotReport.bytesText(slotRetainedBytes)))"
            )
        }
        if !slot.active, slot.inactiveSinceMs > 0, nowMs - slot.inactiveSinceMs > slotInactiveMs {
            reasons.append(
                "has had no consumer for \(slot.inactiveSinceExact ? "" : "at least ")\(TimeText.duration(ms: nowMs - slot.inactiveSinceMs))"
            )
        }
        if slot.walStatus == "lost" {
            reasons.append("lost WAL it still needed (wal_status lost): its connector must snapshot again")
        }
        guard !reasons.isEmpty else { return nil }
        return "replication slot \(slot.name) (\(slot.database), \(slot.plugin)) " + reasons.joined(separator: " and ")
    }
}
