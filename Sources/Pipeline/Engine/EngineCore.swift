import Metrics

/// Decoder + aggregator + counters: everything between Kafka bytes and a `KPISnapshot`, with no
/// threads and no I/O. `watch`, `demo`, `replay` and the benchmark all feed messages through one.
public final class EngineCore {
    public let profile: KPIProfile
    public let decoder: DebeziumDecoder
    public private(set) var aggregator: WindowedAggregator

    /// Every counter of the engine's own, in the form the durable state saves.
    public private(set) var counters = Counters()
    public var messages: Int64 { counters.messages }
    public var malformed: Int64 { counters.malformed }
    public var tombstones: Int64 { counters.tombstones }
    public var heartbeats: Int64 { counters.heartbeats }
    public var ignored: Int64 { counters.ignored }
    public var bytes: Int64 { counters.bytes }
    public var lastHeartbeatMs: Int64 { counters.lastHeartbeatMs }
    public private(set) var recentMalformed: [MalformedRecord] = []
    /// Every change of the last `RecentChangeRing.perTable` per table (when `captureRecentChanges`).
    private var recentChangeRing = RecentChangeRing()
    public var recentChanges: [String: [RecentChange]] { recentChangeRing.lists(topicName: decoder.topic(ofSlot:)) }
    /// Schema changes per table (DDL messages; saved with the durable state), and the latest ones
    /// (oldest first; in memory only).
    public var schemaChanges: [String: Int64] { counters.schemaChanges }
    public private(set) var recentDDL: [SchemaChangeRecord] = []
    /// DDL messages of connectors' initial snapshots (the schema as it was, not a change): counted only.
    public var snapshotDDL: Int64 { counters.snapshotDDL }
    /// Every schema-change message, snapshot or not (one per message, however many tables it names).
    public var schemaChangeMessages: Int64 { counters.schemaChangeMessages }
    public static let recentDDLKept = 32
    /// Commit time of the last event per topic-partition key (see `partitionKey`).
    public private(set) var lastCommitTimeByPartition: [Int64: Int64] = [:]

    /// Wall time the current batch was received (ms); 0 (replays, benchmarks) records no latency split.
    public var receivedAtMs: Int64 {
        get { perEventOptions.receivedAtMs }
        set { perEventOptions.receivedAtMs = newValue }
    }
    /// `receivedAtMs` and `captureRecentChanges` together: `ingest` reads both per event, and each
    /// read of a class property is a dynamic exclusivity check, so one stored value costs one.
    private struct PerEventOptions { var receivedAtMs: Int64 = 0; var captureRecentChanges = false }
    private var perEventOptions = PerEventOptions()
    /// Per-table latency split over the last minute (source → Debezium → Kafka → cdctop).
    public private(set) var latency = LatencyStats()

    /// Keep raw copies of recent changes for the Tables drill-down (dashboard only): every change, into a
    /// ring of preallocated slots (no allocation per message once warm).
    public var captureRecentChanges: Bool {
        get { perEventOptions.captureRecentChanges }
        set { perEventOptions.captureRecentChanges = newValue }
    }
    public static let recentChangesPerTable = RecentChangeRing.perTable
    public static let recentMalformedKept = 50

    public init(profile: KPIProfile) {
        self.profile = profile
        self.decoder = DebeziumDecoder(profile: profile)
        self.aggregator = WindowedAggregator(profile: profile)
    }

    /// A stable number for a topic-partition, for redelivery detection and lag bookkeeping.
    @inline(__always) public static func partitionKey(slot: Int, partition: Int32) -> Int64 {
        Int64(slot) << 32 | Int64(UInt32(bitPattern: partition))
    }

    /// What `ingest` starts each event from: copying it costs less than calling ChangeEvent's
    /// initializer (another module's, not inlined) per message.
    private static let blankEvent = ChangeEvent(table: "", role: .other, op: .create, before: nil, after: nil, commitTimeMs: 0)

    /// Decodes and applies one message. `slot` comes from `decoder.slot(forTopic:)`.
    /// `key` is only read when a recent change is captured.
    /// False only when a Confluent-framed message's schema was still awaited from the registry when the
    /// run was stopped: the message was then not applied (nor counted), and nothing after it may be.
    @discardableResult
    public func ingest(slot: Int, partition: Int32, offset: Int64, timestampMs: Int64,
                       key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) -> Bool {
        // Confluent wire format (0x00, schema id, Avro or JSON): the schema registry's path, below.
        if let value, let id = AvroWire.schemaID(value) {
            return ingestFramed(slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: key, value: value, schemaID: id)
        }
        let pk = EngineCore.partitionKey(slot: slot, partition: partition)
        // A redelivered offset (at or below the last one applied) changes nothing, not even the counts.
        guard aggregator.admit(partitionKey: pk, offset: offset) else { return true }
        counters.countMessage(bytes: Int64(value?.count ?? 0) + Int64(key?.count ?? 0))
        // The decoder fills this event in place (no decoded event is copied on the way to the aggregator).
        var event = EngineCore.blankEvent
        if let other = decoder.decode(slot: slot, value: value, kafkaTimestampMs: timestampMs, into: &event) {
            noteNonEvent(other.outcome, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: key, value: value)
            return true
        }
        apply(event, partitionKey: pk, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: key, value: value)
        return true
    }

    // MARK: Confluent framing (schema registry) — cold path, kept apart from the JSON one

    /// Where schemas of Confluent-framed messages come from (`--schema-registry`); nil: such messages are malformed.
    public var schemaSource: ConfluentSchemaSource?
    /// Called now and then while `schemaSource` waits for the registry (the engine publishes snapshots).
    public var whileAwaitingSchema: () -> Void = {}
    /// Schemas by id, once known (the engine thread's own copy: no lock per message).
    private var framedSchemas: [Int32: RegisteredSchema] = [:]
    /// The record key of the framed message being applied, decoded with the key's own schema (model tables).
    private var framedRowKey: RowKey?
    /// The framed Kafka key of the message being applied, for the recent-change ring's raw view (valid only during it).
    private var framedRawKey: UnsafeRawBufferPointer?

    private enum FramedLookup { case schema(RegisteredSchema), noRegistry, stopping }

    private func lookupSchema(_ id: Int32, slot: Int, partition: Int32) -> FramedLookup {
        if let s = framedSchemas[id] { return .schema(s) }
        guard let source = schemaSource else { return .noRegistry }
        guard let s = source.schema(id: id, neededBy: (decoder.topicName(slot), partition), whileWaiting: whileAwaitingSchema) else { return .stopping }
        framedSchemas[id] = s
        return .schema(s)
    }

    @inline(never)
    private func ingestFramed(slot: Int, partition: Int32, offset: Int64, timestampMs: Int64,
                              key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, schemaID id: Int32) -> Bool {
        let pk = EngineCore.partitionKey(slot: slot, partition: partition)
        // A redelivery is counted as one without asking the registry (which may be away).
        // Read in place (inout): a non-mutating call on the stored struct copied the whole aggregator per message.
        if offset <= withAggregator({ $0.lastOffset(partitionKey: pk) }) { _ = aggregator.admit(partitionKey: pk, offset: offset); return true }
        let table = decoder.table(ofSlot: slot)
        // Both schemas first: a stop while waiting leaves the message unread (not admitted, not counted).
        let valueLookup = lookupSchema(id, slot: slot, partition: partition)
        if case .stopping = valueLookup { return false }
        var keyBytes = key
        var keyRowKey: RowKey? = nil
        // Only a model profile reads row keys (the built-in form keys rows by a value column): the key's
        // schema is looked up and the key decoded only then.
        if profile.model != nil, case .schema = valueLookup, let key, let keyID = AvroWire.schemaID(key) {
            let keyPayload = UnsafeRawBufferPointer(rebasing: key[AvroWire.headerSize...])
            switch lookupSchema(keyID, slot: slot, partition: partition) {
            case .stopping: return false
            case .noRegistry: keyBytes = nil
            case .schema(let s):
                switch s.kind {
                case .avro(let avro): keyRowKey = decoder.avroRecordKey(schema: avro, payload: keyPayload); keyBytes = nil
                case .json: keyBytes = keyPayload
                case .protobuf, .unusable: keyBytes = nil
                }
            }
        }
        guard aggregator.admit(partitionKey: pk, offset: offset) else { return true }
        counters.countMessage(bytes: Int64(value.count) + Int64(key?.count ?? 0))
        let payload = UnsafeRawBufferPointer(rebasing: value[AvroWire.headerSize...])
        var event = EngineCore.blankEvent
        var shownValue = value
        let other: NonEventOutcome?
        switch valueLookup {
        case .stopping: return false
        case .noRegistry:
            other = NonEventOutcome(.malformed(table: table, reason:
                "Confluent-framed message (schema id \(id)) but no schema registry: give --schema-registry URL (the registry Debezium's converter writes to) (at byte 0)"))
        case .schema(let s):
            switch s.kind {
            case .avro(let avro):
                other = decoder.decodeAvro(slot: slot, schemaID: id, schema: avro, payload: payload,
                                           kafkaTimestampMs: timestampMs, into: &event)
            case .json:
                shownValue = payload
                other = decoder.decode(slot: slot, value: payload, kafkaTimestampMs: timestampMs, into: &event)
            case .protobuf:
                other = NonEventOutcome(.malformed(table: table, reason:
                    "schema id \(id) is a Protobuf schema: cdctop does not decode Protobuf; set Debezium's key.converter and value.converter to io.confluent.connect.avro.AvroConverter (with this registry) or org.apache.kafka.connect.json.JsonConverter (at byte 0)"))
            case .unusable(let why):
                other = NonEventOutcome(.malformed(table: table, reason: "schema id \(id) from the registry cannot be used: \(why) (at byte 0)"))
            }
        }
        if let other {
            noteNonEvent(other.outcome, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: keyBytes, value: shownValue)
            return true
        }
        framedRowKey = keyRowKey
        framedRawKey = key
        defer { framedRowKey = nil; framedRawKey = nil }
        apply(event, partitionKey: pk, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: keyBytes, value: shownValue)
        return true
    }

    /// A model table's row key from a framed record key, when the profile names no key columns.
    @inline(never)
    private func framedModelKey(_ modelTable: Int32) -> RowKey? {
        guard let key = framedRowKey, profile.model?.tables[Int(modelTable)].keyColumns == nil else { return nil }
        return key
    }

    @inline(__always)
    private func apply(_ event: ChangeEvent, partitionKey pk: Int64, slot: Int, partition: Int32, offset: Int64, timestampMs: Int64,
                       key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) {
        if event.role == .model {
            guard applyModel(event, partitionKey: pk, slot: slot, partition: partition, offset: offset, key: key) else { return }
        } else {
            aggregator.apply(event, partitionKey: pk)
        }
        lastCommitTimeByPartition[pk] = event.commitTimeMs
        let options = perEventOptions
        if options.receivedAtMs > 0 {
            latency.record(table: event.table, sourceMs: event.commitTimeMs, debeziumMs: event.debeziumTimeMs,
                           kafkaMs: timestampMs, receivedMs: options.receivedAtMs)
        }
        if options.captureRecentChanges {
            recentChangeRing.capture(table: event.table, topicSlot: slot, partition: partition, offset: offset, op: event.op,
                                     commitTimeMs: event.commitTimeMs, key: event.after?.key ?? event.before?.key ?? framedRowKey,
                                     rawKey: framedRawKey ?? key, value: value)
        }
    }

    /// A model table's event: its row key from the record key (or the profile's key columns), then
    /// the aggregator; false (and counted as malformed, with the reason) when either fails.
    @inline(never)
    private func applyModel(_ event: ChangeEvent, partitionKey pk: Int64, slot: Int, partition: Int32, offset: Int64,
                            key: UnsafeRawBufferPointer?) -> Bool {
        var event = event
        if event.op == .truncate {
            if let reason = aggregator.applyModel(event, partitionKey: pk) {
                noteNonEvent(.malformed(table: event.table, reason: reason), slot: slot, partition: partition, offset: offset, timestampMs: 0, key: key, value: nil)
                return false
            }
            return true
        }
        guard let rowKey = decoder.modelRowKey(table: event.modelTable, row: event.after ?? event.before, recordKey: key)
                ?? framedModelKey(event.modelTable) else {
            let named = profile.model?.tables[Int(event.modelTable)].keyColumns
            let reason = named.map { "the row lacks a value for a key column (\($0.joined(separator: ", "))) named in the profile" }
                ?? "the message has no record key, so its rows cannot be told apart: give the table a primary key, set Debezium's message.key.columns, or name key columns in the profile ([tables.\(event.table)] key = [\"…\"])"
            noteNonEvent(.malformed(table: event.table, reason: reason), slot: slot, partition: partition, offset: offset, timestampMs: 0, key: key, value: nil)
            return false
        }
        if event.before != nil { event.before!.key = rowKey }
        if event.after != nil { event.after!.key = rowKey }
        if let reason = aggregator.applyModel(event, partitionKey: pk) {
            noteNonEvent(.malformed(table: event.table, reason: reason), slot: slot, partition: partition, offset: offset, timestampMs: 0, key: key, value: nil)
            return false
        }
        return true
    }

    /// Counts a message that is not a change event: tombstone, heartbeat, DDL, ignored or malformed.
    @inline(never)
    private func noteNonEvent(_ outcome: DecodeOutcome, slot: Int, partition: Int32, offset: Int64, timestampMs: Int64,
                              key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) {
        switch outcome {
        case .event(let event):
            // `decode(…, into:)` writes events into its argument and returns nil; handled all the same.
            apply(event, partitionKey: EngineCore.partitionKey(slot: slot, partition: partition), slot: slot, partition: partition,
                  offset: offset, timestampMs: timestampMs, key: key, value: value)
        case .tombstone(let table):
            counters.tombstones += 1
            aggregator.noteTombstone(table: table)
        case .heartbeat(let ts):
            counters.heartbeats += 1
            counters.lastHeartbeatMs = max(counters.lastHeartbeatMs, ts)
        case .schemaChange(let change):
            noteSchemaChange(change, position: EventPosition(topic: decoder.topic(ofSlot: slot), partition: partition, offset: offset))
        case .ignored:
            counters.ignored += 1
        case .malformed(let table, let reason):
            counters.malformed += 1
            aggregator.noteMalformed(table: table)
            let record = MalformedRecord(position: EventPosition(topic: decoder.topic(ofSlot: slot), partition: partition, offset: offset),
                                         reason: reason)
            if recentMalformed.count >= EngineCore.recentMalformedKept { recentMalformed.removeFirst() }
            recentMalformed.append(record)
        }
    }

    /// Counts a DDL message per table it touched and keeps it among the latest (cold path: DDL is rare).
    @inline(never)
    private func noteSchemaChange(_ change: SchemaChange, position: EventPosition) {
        counters.schemaChangeMessages += 1
        if change.isSnapshot { counters.snapshotDDL += 1; return }
        let tables = change.tables.isEmpty ? [change.database.isEmpty ? "?" : change.database] : change.tables
        for table in tables {
            counters.schemaChanges[table, default: 0] += 1
            if recentDDL.count >= EngineCore.recentDDLKept { recentDDL.removeFirst() }
            recentDDL.append(SchemaChangeRecord(table: table, database: change.database, ddl: change.ddl, commitTimeMs: change.commitTimeMs, position: position))
        }
    }

    /// Convenience for byte arrays (tests, recordings).
    public func ingest(topic: String, partition: Int32, offset: Int64, timestampMs: Int64 = 0, key: [UInt8]?, value: [UInt8]?) {
        let slot = decoder.slot(forTopic: topic)
        func withOptional<R>(_ a: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
            guard let a else { return body(nil) }
            return a.withUnsafeBytes { body($0) }
        }
        withOptional(key) { k in
            withOptional(value) { v in
                ingest(slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: k, value: v)
            }
        }
    }

    /// `{"payload":{"id":101}}` or `{"id":101}` → `101` (several columns → `a=1,b=2`).
    static func describeKey(_ key: UnsafeRawBufferPointer) -> String {
        guard let json = JSONValue.parse(key) else { return String(decoding: key, as: UTF8.self) }
        let payload = json["payload"] ?? json
        guard case .object(let members) = payload else { return String(decoding: key, as: UTF8.self) }
        let values = members.map { m -> String in
            switch m.value {
            case .number(let n): return n
            case .string(let s): return s
            default: return "…"
            }
        }
        return values.count == 1 ? values[0] : zip(members, values).map { "\($0.key)=\($1)" }.joined(separator: ",")
    }

    public var result: KPIResult { aggregator.result(messages: messages, malformed: malformed) }

    // MARK: durable state

    /// The engine's own counters, saved with every checkpoint.
    public struct Counters: Sendable, Hashable {
        public var messages: Int64 = 0
        public var malformed: Int64 = 0
        public var tombstones: Int64 = 0
        public var heartbeats: Int64 = 0
        public var ignored: Int64 = 0
        public var bytes: Int64 = 0
        public var lastHeartbeatMs: Int64 = 0
        public var schemaChangeMessages: Int64 = 0
        public var snapshotDDL: Int64 = 0
        public var schemaChanges: [String: Int64] = [:]
        public init() {}

        /// One message more, of `bytes` bytes (one mutation: one exclusivity check in `ingest`).
        @inline(__always) mutating func countMessage(bytes count: Int64) {
            messages += 1
            bytes += count
        }
    }

    public func restore(counters c: Counters) { counters = c }

    /// Commit times more than a day ahead of `nowMs` are clock errors (see `WindowedAggregator.futureLimitMs`).
    /// Live runs call this as time passes; replays of recordings call it once.
    public func noteWallClock(nowMs: Int64) {
        aggregator.futureLimitMs = nowMs + WindowedAggregator.futureToleranceMs
    }

    /// Record changes for incremental checkpoints (see `WindowedAggregator.takeChanges()`).
    public var journaling: Bool {
        get { aggregator.journaling }
        set { aggregator.journaling = newValue }
    }

    /// Changes since the last call, for an incremental checkpoint.
    public func takeChanges(recycling recycled: StateChanges? = nil) -> StateChanges {
        aggregator.takeChanges(recycling: recycled)
    }

    /// Direct access for loading a saved state (the store calls the aggregator's `restore…` methods).
    public func withAggregator<R>(_ body: (inout WindowedAggregator) throws -> R) rethrows -> R {
        try body(&aggregator)
    }

    /// The topic and partition behind a partition key.
    public func topicPartition(ofKey key: Int64) -> (topic: String, partition: Int32) {
        (decoder.topic(ofSlot: Int(key >> 32)), Int32(truncatingIfNeeded: key & 0xFFFF_FFFF))
    }

    /// The partition key of a topic and partition (registering the topic with the decoder if new).
    public func partitionKey(topic: String, partition: Int32) -> Int64 {
        EngineCore.partitionKey(slot: decoder.slot(forTopic: topic), partition: partition)
    }

    /// Commit time of the last event per partition, for restoring the Lag view's freshness.
    public func restoreLastCommitTime(partitionKey: Int64, _ ms: Int64) {
        lastCommitTimeByPartition[partitionKey] = ms
    }

    /// The sequence of the last snapshot built (its window changes are the next one's baseline).
    private var lastSnapshotSequence: UInt64?
    private var windowChangeLog = WindowChangeLog()

    /// Builds the immutable snapshot the dashboard, the Redis mirror and the warehouse read.
    public func snapshot(sequence: UInt64, takenAtMs: Int64) -> KPISnapshot {
        var s = KPISnapshot(result: result)
        s.sequence = sequence
        s.takenAtMs = takenAtMs
        s.profileName = profile.name
        s.profile.name = profile.name
        s.profile.isImplicitDefault = profile.isImplicitDefault
        s.profile.isModel = profile.model != nil
        s.profile.profileTablesSeen = aggregator.tables.contains { $0.role != .other && $0.opCounts.reduce(0, +) > 0 }
        s.profile.otherTablesSeen = aggregator.tables.contains { $0.role == .other && $0.opCounts.reduce(0, +) > 0 }
        s.profile.keyCollisions = aggregator.keyCollisions
        s.profile.placeholderDeletes = aggregator.placeholderDeletes
        // Both kept by the aggregator as windows change: a snapshot costs what changed, not what is held.
        s.finalWindowStarts = aggregator.finalStarts
        windowChangeLog.record(sequence: sequence, since: lastSnapshotSequence, changed: aggregator.takeWindowChanges())
        s.windowChanges = windowChangeLog
        lastSnapshotSequence = sequence
        s.watermarkMs = aggregator.watermarkMs == .min ? 0 : aggregator.watermarkMs
        s.maxCommitTimeMs = aggregator.maxCommitTimeMs == .min ? 0 : aggregator.maxCommitTimeMs
        s.lateCorrections = aggregator.lateCorrections
        s.tombstones = tombstones
        let parked = aggregator.parked
        s.parkedLineItems = parked.lineItems
        s.parkedRevenue = parked.amount
        s.tables = aggregator.tables.sorted { $0.table < $1.table }
        s.recentMalformed = recentMalformed
        if captureRecentChanges { s.recentChanges = recentChangeRing.lists(topicName: decoder.topic(ofSlot:)) }
        s.lastHeartbeatMs = lastHeartbeatMs
        s.heartbeats = heartbeats
        s.duplicates = aggregator.duplicates
        s.unmatched = aggregator.unmatched
        s.ignored = ignored
        s.refused = aggregator.refused
        s.schemaChanges = schemaChanges
        s.recentDDL = recentDDL
        s.snapshotDDL = snapshotDDL
        s.latency = latency.summary(nowMs: takenAtMs)
        return s
    }
}

extension DebeziumDecoder {
    public func topic(ofSlot slot: Int) -> String { topicName(slot) }
}
