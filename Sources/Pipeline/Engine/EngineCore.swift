import Metrics

/// Decoder + aggregator + counters: everything between Kafka bytes and a `RunSnapshot`, with no
/// threads and no I/O. `watch`, `demo`, `replay` and the benchmark all feed messages through one.
package final class EngineCore {
    package let profile: KPIProfile
    package let decoder: DebeziumDecoder
    // The properties read or written per message are `@exclusivity(unchecked)`: a dynamic exclusivity
    // check per access was 8% of the Avro path's instructions. One thread owns the core and no access
    // to them overlaps another (none calls back into the core while it holds one).
    @exclusivity(unchecked) package private(set) var aggregator: WindowedAggregator

    /// Every counter of the engine's own, in the form the durable state saves.
    @exclusivity(unchecked) package private(set) var counters = Counters()
    package var messages: Int64 { counters.messages }
    package var malformed: Int64 { counters.malformed }
    package var tombstones: Int64 { counters.tombstones }
    package var heartbeats: Int64 { counters.heartbeats }
    package var ignored: Int64 { counters.ignored }
    package var bytes: Int64 { counters.bytes }
    package var lastHeartbeatMs: Int64 { counters.lastHeartbeatMs }
    package private(set) var recentMalformed: [MalformedRecord] = []
    /// Every change of the last `RecentChangeRing.perTable` per table (when `captureRecentChanges`).
    private var recentChangeRing = RecentChangeRing()
    package var recentChanges: [String: [RecentChange]] {
        recentChangeRing.lists(topicName: decoder.topic(ofSlot:), avroSchema: framedAvroSchema)
    }
    /// Schema changes per table (DDL messages; saved with the durable state), and the latest ones
    /// (oldest first; in memory only).
    package var schemaChanges: [String: Int64] { counters.schemaChanges }
    package private(set) var recentDDL: [SchemaChangeRecord] = []
    /// DDL messages of connectors' initial snapshots (the schema as it was, not a change): counted only.
    package var snapshotDDL: Int64 { counters.snapshotDDL }
    /// Every schema-change message, snapshot or not (one per message, however many tables it names).
    package var schemaChangeMessages: Int64 { counters.schemaChangeMessages }
    package static let recentDDLKept = 32
    /// Snapshot rows (`op` r) counted per topic, and Debezium's snapshot notifications (saved with the
    /// durable state: see SnapshotProgressState.swift).
    package internal(set) var snapshotReads = SnapshotReadTracker()
    package internal(set) var snapshotNotifications = SnapshotNotificationLog()
    /// Commit time of the last event per topic-partition key (see `partitionKey`).
    package private(set) var lastCommitTimeByPartition: [Int64: Int64] {
        get { commitTimes.dictionary() }
        set { commitTimes = PartitionCommitTimes(newValue) }
    }
    @exclusivity(unchecked) private var commitTimes = PartitionCommitTimes()

    /// Wall time the current batch was received (ms); 0 (replays, benchmarks) records no latency split.
    package var receivedAtMs: Int64 {
        get { perEventOptions.receivedAtMs }
        set { perEventOptions.receivedAtMs = newValue }
    }
    /// `receivedAtMs` and `captureRecentChanges` together: `ingest` reads both per event, and each
    /// read of a class property is a dynamic exclusivity check, so one stored value costs one.
    private struct PerEventOptions {
        var receivedAtMs: Int64 = 0
        var captureRecentChanges = false
        var holdsTransactions = false
    }
    @exclusivity(unchecked) private var perEventOptions = PerEventOptions()
    /// Per-table latency split over the last minute (source → Debezium → Kafka → cdctop).
    package private(set) var latency = LatencyStats()

    /// Keep raw copies of recent changes for the Tables drill-down (dashboard only): every change, into a
    /// ring of preallocated slots (no allocation per message once warm).
    package var captureRecentChanges: Bool {
        get { perEventOptions.captureRecentChanges }
        set { perEventOptions.captureRecentChanges = newValue }
    }
    package static let recentChangesPerTable = RecentChangeRing.perTable
    package static let recentMalformedKept = 50

    package init(profile: KPIProfile) {
        self.profile = profile
        self.decoder = DebeziumDecoder(profile: profile)
        self.aggregator = WindowedAggregator(profile: profile)
        recentChangeRing.displayScales = DecimalDisplayScales(profile: profile)
        framedEvent.initialize(to: EngineCore.blankEvent)
    }

    deinit { framedEvent.deinitialize(count: 1).deallocate() }

    /// The event each framed message is decoded into, kept from one message to the next: a local event
    /// per message cost four copies of its 385 bytes (and a destroy). The Avro decoder sets every field
    /// of an event it returns; the JSON one starts from `blankEvent`.
    private let framedEvent = UnsafeMutablePointer<ChangeEvent>.allocate(capacity: 1)

    /// A stable number for a topic-partition, for redelivery detection and lag bookkeeping.
    @inline(__always) package static func partitionKey(slot: Int, partition: Int32) -> Int64 {
        Int64(slot) << 32 | Int64(UInt32(bitPattern: partition))
    }

    /// What `ingest` starts each event from: copying it costs less than calling ChangeEvent's
    /// initializer (another module's, not inlined) per message.
    private static let blankEvent = ChangeEvent(
        table: "", role: .other, op: .create, before: nil, after: nil, commitTimeMs: 0)

    /// Decodes and applies one message. `slot` comes from `decoder.slot(forTopic:)`.
    /// `key` is only read when a recent change is captured.
    /// False only when a Confluent-framed message's schema was still awaited from the registry when the
    /// run was stopped: the message was then not applied (nor counted), and nothing after it may be.
    /// `restoringHeld`: a held message of a restored checkpoint, admitted and counted before it was saved.
    @discardableResult
    package func ingest(
        slot: Int, partition: Int32, offset: Int64, timestampMs: Int64,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, restoringHeld: Bool = false
    ) -> Bool {
        // Confluent wire format (0x00, schema id, Avro or JSON): the schema registry's path, below.
        if let value, let id = AvroWire.schemaID(value) {
            return ingestFramed(
                slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: key, value: value,
                schemaID: id,
                restoringHeld: restoringHeld)
        }
        let pk = EngineCore.partitionKey(slot: slot, partition: partition)
        if !restoringHeld {
            // A redelivered offset (at or below the last one applied) changes nothing, not even the counts.
            guard aggregator.admit(partitionKey: pk, offset: offset) else { return true }
            counters.countMessage(bytes: Int64(value?.count ?? 0) + Int64(key?.count ?? 0))
        }
        // The decoder fills this event in place (no decoded event is copied on the way to the aggregator).
        var event = EngineCore.blankEvent
        if let other = decoder.decode(slot: slot, value: value, kafkaTimestampMs: timestampMs, into: &event) {
            noteNonEvent(
                other.outcome, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: key,
                value: value)
            return true
        }
        apply(
            &event, partitionKey: pk, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs,
            key: key, value: value)
        return true
    }

    // MARK: Confluent framing (schema registry) — cold path, kept apart from the JSON one

    /// Where schemas of Confluent-framed messages come from (`--schema-registry`); nil: such messages are malformed.
    package var schemaSource: ConfluentSchemaSource?
    /// Called now and then while `schemaSource` waits for the registry (the engine publishes snapshots).
    package var whileAwaitingSchema: () -> Void = {}
    /// Schemas by id, once known (the engine thread's own copy: no lock per message).
    private var framedSchemas: [Int32: RegisteredSchema] = [:]
    /// The Avro schema of a framed value's id, when the engine holds it (recent changes decoded for display).
    private func framedAvroSchema(_ id: Int32) -> AvroSchema? {
        if case .avro(let schema)? = framedSchemas[id]?.kind { return schema }
        return nil
    }
    /// The record key of the framed message being applied, decoded with the key's own schema (model tables).
    private var framedRowKey: RowKey?
    /// The framed Kafka key of the message being applied, for the recent-change ring's raw view (valid only during it).
    private var framedRawKey: UnsafeRawBufferPointer?
    /// The framed value of the message being applied (valid only during it): a held event saves these bytes.
    private var framedRawValue: UnsafeRawBufferPointer?
    /// `--transactions complete` (see `holdTransactions`); nil: every event is applied as read.
    package private(set) var transactionBuffer: TransactionBuffer?

    private enum FramedLookup {
        case schema(RegisteredSchema)
        case noRegistry, stopping
    }

    /// `framedSchemas` by id for small ids (registries number from 1): an array read per message, not a hash.
    @exclusivity(unchecked) private var framedSchemaByID = [RegisteredSchema?](repeating: nil, count: 256)

    /// The schema of a small id already held, read from the array (nil for an unknown or large id).
    @inline(__always) private func heldSchema(_ id: Int32) -> RegisteredSchema? {
        id >= 0 && Int(id) < framedSchemaByID.count ? framedSchemaByID[Int(id)] : nil
    }

    private func lookupSchema(_ id: Int32, slot: Int, partition: Int32) -> FramedLookup {
        if let s = heldSchema(id) { return .schema(s) }
        if let s = framedSchemas[id] { return .schema(s) }
        guard let source = schemaSource else { return .noRegistry }
        guard
            let s = source.schema(
                id: id, neededBy: (decoder.topicName(slot), partition), whileWaiting: whileAwaitingSchema)
        else { return .stopping }
        framedSchemas[id] = s
        if id >= 0 && Int(id) < framedSchemaByID.count { framedSchemaByID[Int(id)] = s }
        return .schema(s)
    }

    @inline(never)
    private func ingestFramed(
        slot: Int, partition: Int32, offset: Int64, timestampMs: Int64,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, schemaID id: Int32,
        restoringHeld: Bool = false
    ) -> Bool {
        let pk = EngineCore.partitionKey(slot: slot, partition: partition)
        // A redelivery is counted as one without asking the registry (which may be away).
        // Read in place (inout): a non-mutating call on the stored struct copied the whole aggregator per message.
        // (A held message of a restored checkpoint was admitted and counted before it was saved.)
        // When the value's schema is held and no key schema is needed, nothing waits: `admit` below decides alone.
        let schemaHeld = heldSchema(id) != nil
        if !restoringHeld && !(schemaHeld && profile.model == nil)
            && offset <= withAggregator({ $0.lastOffset(partitionKey: pk) })
        {
            _ = aggregator.admit(partitionKey: pk, offset: offset)
            return true
        }
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
                case .avro(let avro):
                    keyRowKey = decoder.avroRecordKey(schema: avro, payload: keyPayload)
                    keyBytes = nil
                case .json: keyBytes = keyPayload
                case .protobuf, .unusable: keyBytes = nil
                }
            }
        }
        if !restoringHeld {
            guard aggregator.admit(partitionKey: pk, offset: offset) else { return true }
            counters.countMessage(bytes: Int64(value.count) + Int64(key?.count ?? 0))
        }
        let payload = UnsafeRawBufferPointer(rebasing: value[AvroWire.headerSize...])
        let event = framedEvent
        var shownValue = value
        let other: NonEventOutcome?
        switch valueLookup {
        case .stopping: return false
        case .noRegistry:
            other = NonEventOutcome(
                .malformed(
                    table: table,
                    reason:
                        "Confluent-framed message (schema id \(id)) but no schema registry: give --schema-registry URL (the registry Debezium's converter writes to) (at byte 0)"
                ))
        case .schema(let s):
            switch s.kind {
            case .avro(let avro):
                other = decoder.decodeAvro(
                    slot: slot, schemaID: id, schema: avro, payload: payload,
                    kafkaTimestampMs: timestampMs, into: &event.pointee)
            case .json:
                shownValue = payload
                event.pointee = EngineCore.blankEvent
                other = decoder.decode(slot: slot, value: payload, kafkaTimestampMs: timestampMs, into: &event.pointee)
            case .protobuf:
                other = NonEventOutcome(
                    .malformed(
                        table: table,
                        reason:
                            "schema id \(id) is a Protobuf schema: cdctop does not decode Protobuf; set Debezium's key.converter and value.converter to io.confluent.connect.avro.AvroConverter (with this registry) or org.apache.kafka.connect.json.JsonConverter (at byte 0)"
                    ))
            case .unusable(let why):
                other = NonEventOutcome(
                    .malformed(
                        table: table, reason: "schema id \(id) from the registry cannot be used: \(why) (at byte 0)"))
            }
        }
        if let other {
            noteNonEvent(
                other.outcome, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs,
                key: keyBytes, value: shownValue)
            return true
        }
        // Only a model key, the recent-change ring or a held transaction reads these: set (and reset) only then,
        // as each write of a class property is a dynamic exclusivity check.
        let options = perEventOptions
        let remembersFramed = keyRowKey != nil || options.captureRecentChanges || options.holdsTransactions
        if remembersFramed {
            framedRowKey = keyRowKey
            framedRawKey = key
            framedRawValue = value
        }
        defer {
            if remembersFramed {
                framedRowKey = nil
                framedRawKey = nil
                framedRawValue = nil
            }
        }
        apply(
            &event.pointee, partitionKey: pk, slot: slot, partition: partition, offset: offset,
            timestampMs: timestampMs,
            key: keyBytes, value: shownValue)
        return true
    }

    /// A model table's row key from a framed record key, when the profile names no key columns.
    @inline(never)
    private func framedModelKey(_ modelTable: Int32) -> RowKey? {
        guard let key = framedRowKey, profile.model?.tables[Int(modelTable)].keyColumns == nil else { return nil }
        return key
    }

    /// `event` is read in place (`inout`): passed by value from the core's own event it was copied first.
    @inline(__always)
    private func apply(
        _ event: inout ChangeEvent, partitionKey pk: Int64, slot: Int, partition: Int32, offset: Int64,
        timestampMs: Int64,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?
    ) {
        let options = perEventOptions
        if event.role == .model {
            guard
                applyModel(
                    event, partitionKey: pk, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs,
                    key: key, value: value, holding: options.holdsTransactions)
            else { return }
        } else if options.holdsTransactions {
            holdOrApply(
                event, partitionKey: pk, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs,
                key: key, value: value)
        } else {
            aggregator.apply(event, partitionKey: pk)
        }
        commitTimes.set(event.commitTimeMs, for: pk)
        if event.op == .read {
            snapshotReads.note(
                slot: slot, marker: event.snapshotMarker,
                atMs: event.debeziumTimeMs > 0 ? event.debeziumTimeMs : event.commitTimeMs,
                receivedAtMs: options.receivedAtMs)
        }
        if options.receivedAtMs > 0 {
            latency.record(
                table: event.table, sourceMs: event.commitTimeMs, debeziumMs: event.debeziumTimeMs,
                kafkaMs: timestampMs, receivedMs: options.receivedAtMs,
                // Read in place: `aggregator.progress.…` copied the whole ReadProgress (five buffers retained) per event.
                backlog: withAggregator { $0.progress.isCatchingUp(partitionKey: pk) })
        }
        if options.captureRecentChanges {
            recentChangeRing.capture(
                table: event.table, topicSlot: slot, partition: partition, offset: offset, op: event.op,
                commitTimeMs: event.commitTimeMs, key: event.after?.key ?? event.before?.key ?? framedRowKey,
                rawKey: framedRawKey ?? key, value: value)
        }
    }

    /// A model table's event: its row key from the record key (or the profile's key columns), then
    /// the aggregator; false (and counted as malformed, with the reason) when either fails.
    @inline(never)
    private func applyModel(
        _ event: ChangeEvent, partitionKey pk: Int64, slot: Int, partition: Int32, offset: Int64, timestampMs: Int64,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, holding: Bool
    ) -> Bool {
        var event = event
        // A truncate names no row.
        if event.op != .truncate {
            guard
                let rowKey = decoder.modelRowKey(
                    table: event.modelTable, row: event.after ?? event.before, recordKey: key)
                    ?? framedModelKey(event.modelTable)
            else {
                let named = profile.model?.tables[Int(event.modelTable)].keyColumns
                let reason =
                    named.map {
                        "the row lacks a value for a key column (\($0.joined(separator: ", "))) named in the profile"
                    }
                    ?? "the message has no record key, so its rows cannot be told apart: give the table a primary key, set Debezium's message.key.columns, or name key columns in the profile ([tables.\(event.table)] key = [\"…\"])"
                noteNonEvent(
                    .malformed(table: event.table, reason: reason), slot: slot, partition: partition, offset: offset,
                    timestampMs: 0, key: key, value: nil)
                return false
            }
            if event.before != nil { event.before!.key = rowKey }
            if event.after != nil { event.after!.key = rowKey }
        }
        if holding {
            holdOrApply(
                event, partitionKey: pk, slot: slot, partition: partition, offset: offset, timestampMs: timestampMs,
                key: key, value: value)
            return true
        }
        return applyHeld(event, partitionKey: pk, slot: slot, partition: partition, offset: offset)
    }

    /// Counts a message that is not a change event: tombstone, heartbeat, DDL, ignored or malformed.
    @inline(never)
    private func noteNonEvent(
        _ outcome: DecodeOutcome, slot: Int, partition: Int32, offset: Int64, timestampMs: Int64,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?
    ) {
        switch outcome {
        case .event(let decoded):
            // `decode(…, into:)` writes events into its argument and returns nil; handled all the same.
            var event = decoded
            apply(
                &event, partitionKey: EngineCore.partitionKey(slot: slot, partition: partition), slot: slot,
                partition: partition,
                offset: offset, timestampMs: timestampMs, key: key, value: value)
        case .tombstone(let table):
            counters.tombstones += 1
            aggregator.noteTombstone(table: table)
        case .heartbeat(let ts):
            counters.heartbeats += 1
            counters.lastHeartbeatMs = max(counters.lastHeartbeatMs, ts)
            if heartbeatVouchesForWatchedData(slot: slot) {
                aggregator.noteHeartbeat(
                    atMs: ts, partitionKey: EngineCore.partitionKey(slot: slot, partition: partition))
            }
        case .schemaChange(let change):
            noteSchemaChange(
                change,
                position: EventPosition(topic: decoder.topic(ofSlot: slot), partition: partition, offset: offset))
        case .ignored:
            if let boundary = decoder.takeTransactionBoundary(), let buffer = transactionBuffer {
                noteTransactionBoundary(boundary, slot: slot, buffer: buffer)
                return
            }
            // Debezium's snapshot notifications (a topic of their own) decode as records without op.
            if let notification = decoder.takeSnapshotNotification() {
                snapshotNotifications.add(notification)
                return
            }
            counters.ignored += 1
        case .malformed(let table, let reason):
            counters.malformed += 1
            aggregator.noteMalformed(table: table)
            let record = MalformedRecord(
                position: EventPosition(topic: decoder.topic(ofSlot: slot), partition: partition, offset: offset),
                reason: reason)
            if recentMalformed.count >= EngineCore.recentMalformedKept { recentMalformed.removeFirst() }
            recentMalformed.append(record)
        }
    }

    // MARK: read progress (issue 22): what the engine knows of each partition's end moves the watermark

    /// The partition was assigned; until it reports its end it holds the watermark back and its
    /// events are backlog, not live latency.
    package func noteAssigned(partitionKey: Int64) { aggregator.noteAssigned(partitionKey: partitionKey) }
    /// Messages of the partition are being read (call before applying them).
    package func noteReading(partitionKey: Int64) { aggregator.noteReading(partitionKey: partitionKey) }
    /// The partition reported its end.
    package func noteReachedEnd(partitionKey: Int64) { aggregator.noteReachedEnd(partitionKey: partitionKey) }

    /// Heartbeat slots, and whether a watched data topic belongs to their connector (cached until a topic is added).
    private var heartbeatVouches: [Int: Bool] = [:]
    private var heartbeatVouchesTopics = 0

    /// A heartbeat of `__debezium-heartbeat.<prefix>` moves the watermark only when a watched data topic is
    /// `<prefix>.…`: it proves how far its own connector has sent, not another connector. Cold path (heartbeats are rare).
    @inline(never)
    private func heartbeatVouchesForWatchedData(slot: Int) -> Bool {
        if heartbeatVouchesTopics != decoder.topics.count {
            heartbeatVouches = [:]
            heartbeatVouchesTopics = decoder.topics.count
        }
        if let known = heartbeatVouches[slot] { return known }
        let topic = decoder.topicName(slot)
        let marker = "__debezium-heartbeat."
        let prefix = topic.hasPrefix(marker) ? String(topic.dropFirst(marker.count)) : ""
        let vouches =
            !prefix.isEmpty && decoder.topics.contains { $0.topic.hasPrefix(prefix + ".") && !$0.topic.hasPrefix("__") }
        heartbeatVouches[slot] = vouches
        return vouches
    }

    /// Counts a DDL message per table it touched and keeps it among the latest (cold path: DDL is rare).
    @inline(never)
    private func noteSchemaChange(_ change: SchemaChange, position: EventPosition) {
        counters.schemaChangeMessages += 1
        if change.isSnapshot {
            counters.snapshotDDL += 1
            return
        }
        let tables = change.tables.isEmpty ? [change.database.isEmpty ? "?" : change.database] : change.tables
        for table in tables {
            counters.schemaChanges[table, default: 0] += 1
            if recentDDL.count >= EngineCore.recentDDLKept { recentDDL.removeFirst() }
            recentDDL.append(
                SchemaChangeRecord(
                    table: table, database: change.database, ddl: change.ddl, commitTimeMs: change.commitTimeMs,
                    position: position))
        }
    }

    /// Convenience for byte arrays (tests, recordings, restored held messages).
    package func ingest(
        topic: String, partition: Int32, offset: Int64, timestampMs: Int64 = 0, key: [UInt8]?, value: [UInt8]?,
        restoringHeld: Bool = false
    ) {
        let slot = decoder.slot(forTopic: topic)
        func withOptional<R>(_ a: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
            guard let a else { return body(nil) }
            return a.withUnsafeBytes { body($0) }
        }
        _ = withOptional(key) { k in
            withOptional(value) { v in
                ingest(
                    slot: slot, partition: partition, offset: offset, timestampMs: timestampMs, key: k, value: v,
                    restoringHeld: restoringHeld)
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

    package var result: KPIResult { aggregator.result(messages: messages, malformed: malformed) }

    // MARK: durable state

    /// The engine's own counters, saved with every checkpoint (declared with the state that saves them).
    package typealias Counters = EngineCounters

    package func restore(counters c: Counters) { counters = c }

    /// Commit times more than a day ahead of `nowMs` are clock errors (see `WindowedAggregator.futureLimitMs`).
    /// Live runs call this as time passes; replays of recordings call it once.
    package func noteWallClock(nowMs: Int64) {
        aggregator.futureLimitMs = nowMs + WindowedAggregator.futureToleranceMs
        transactionBuffer?.nowMs = nowMs
    }

    /// Record changes for incremental checkpoints (see `WindowedAggregator.takeChanges()`).
    package var journaling: Bool {
        get { aggregator.journaling }
        set { aggregator.journaling = newValue }
    }

    /// Changes since the last call, for an incremental checkpoint.
    package func takeChanges(recycling recycled: StateChanges? = nil) -> StateChanges {
        aggregator.takeChanges(recycling: recycled)
    }

    /// Direct access for loading a saved state (the store calls the aggregator's `restore…` methods).
    package func withAggregator<R>(_ body: (inout WindowedAggregator) throws -> R) rethrows -> R {
        try body(&aggregator)
    }

    /// The topic and partition behind a partition key.
    package func topicPartition(ofKey key: Int64) -> (topic: String, partition: Int32) {
        (decoder.topic(ofSlot: Int(key >> 32)), Int32(truncatingIfNeeded: key & 0xFFFF_FFFF))
    }

    /// The partition key of a topic and partition (registering the topic with the decoder if new).
    package func partitionKey(topic: String, partition: Int32) -> Int64 {
        EngineCore.partitionKey(slot: decoder.slot(forTopic: topic), partition: partition)
    }

    /// Commit time of the last event per partition, for restoring the Lag view's freshness.
    package func restoreLastCommitTime(partitionKey: Int64, _ ms: Int64) {
        commitTimes.set(ms, for: partitionKey)
    }

    /// The sequence of the last snapshot built (its window changes are the next one's baseline).
    private var lastSnapshotSequence: UInt64?
    private var windowChangeLog = WindowChangeLog()

    /// The engine's picture at `takenAtMs`: its KPI state and its diagnostics. The consumer's progress,
    /// the state store's status and the app's integrations are joined in by their owners.
    package func snapshot(sequence: UInt64, takenAtMs: Int64) -> RunSnapshot {
        var s = RunSnapshot(kpis: kpiState(sequence: sequence, takenAtMs: takenAtMs))
        s.sequence = sequence
        s.takenAtMs = takenAtMs
        s.diagnostics = diagnostics(nowMs: takenAtMs)
        // Without a consumer (replay) the backlog is all the read progress there is.
        s.consumer.backlog = backlog
        return s
    }

    /// What the aggregator computed and the counters of how it got there. `sequence` names the snapshot
    /// the window change log records.
    package func kpiState(sequence: UInt64, takenAtMs: Int64) -> KPIState {
        var k = KPIState(result: result)
        k.profile.name = profile.name
        k.profile.isImplicitDefault = profile.isImplicitDefault
        k.profile.isModel = profile.model != nil
        k.profile.profileTablesSeen = aggregator.tables.contains { $0.role != .other && $0.opCounts.reduce(0, +) > 0 }
        k.profile.otherTablesSeen = aggregator.tables.contains { $0.role == .other && $0.opCounts.reduce(0, +) > 0 }
        k.profile.keyCollisions = aggregator.keyCollisions
        k.profile.placeholderDeletes = aggregator.placeholderDeletes
        // Both kept by the aggregator as windows change: a snapshot costs what changed, not what is held.
        k.finalWindowStarts = aggregator.finalStarts
        windowChangeLog.record(sequence: sequence, since: lastSnapshotSequence, changed: aggregator.takeWindowChanges())
        k.windowChanges = windowChangeLog
        lastSnapshotSequence = sequence
        k.watermarkMs = aggregator.watermarkMs == .min ? 0 : aggregator.watermarkMs
        k.maxCommitTimeMs = aggregator.maxCommitTimeMs == .min ? 0 : aggregator.maxCommitTimeMs
        k.lateCorrections = aggregator.lateCorrections
        k.tombstones = tombstones
        let parked = aggregator.parked
        k.parkedLineItems = parked.lineItems
        k.parkedRevenue = parked.amount
        k.lastHeartbeatMs = lastHeartbeatMs
        k.heartbeats = heartbeats
        k.duplicates = aggregator.duplicates
        k.unmatched = aggregator.unmatched
        k.ignored = ignored
        k.refused = aggregator.refused
        k.snapshots = snapshotProgress()
        k.transactions = transactionBuffer?.status(nowMs: takenAtMs)
        return k
    }

    /// Per-table counters, recent changes (decoded for display here, never at render time), malformed
    /// messages, DDL and the latency split.
    package func diagnostics(nowMs: Int64) -> EngineDiagnostics {
        var d = EngineDiagnostics()
        d.tables = aggregator.tables.sorted { $0.table < $1.table }
        d.recentMalformed = recentMalformed
        if captureRecentChanges {
            d.recentChanges = recentChangeRing.lists(topicName: decoder.topic(ofSlot:), avroSchema: framedAvroSchema)
        }
        d.schemaChanges = schemaChanges
        d.recentDDL = recentDDL
        d.snapshotDDL = snapshotDDL
        d.latency = latency.summary(nowMs: nowMs)
        return d
    }

    /// The startup backlog still being read, nil once every partition reached its end once (the
    /// consumer's progress fills in the messages left).
    package var backlog: BacklogProgress? {
        guard let reached = aggregator.progress.backlogReachedMs else { return nil }
        return BacklogProgress(
            partitions: aggregator.progress.catchingUpCount, reachedMs: reached, eventsRead: latency.backlogEvents)
    }
}

extension DebeziumDecoder {
    package func topic(ofSlot slot: Int) -> String { topicName(slot) }
}

extension EngineCore {
    /// Snapshot progress from the rows and notifications read so far (estimates are the app's to add).
    package func snapshotProgress() -> SnapshotProgressReport {
        var reads: [SnapshotProgressReport.TopicReads] = []
        for (slot, kinds) in snapshotReads.bySlot.enumerated() {
            for (k, r) in kinds.enumerated() where r.rows > 0 {
                reads.append(
                    .init(topic: decoder.topic(ofSlot: slot), kind: k == 0 ? .initial : .incremental, reads: r))
            }
        }
        return SnapshotProgressReport.build(notifications: snapshotNotifications.notifications, reads: reads)
    }
}

// MARK: transactions (--transactions complete; issue 22)

extension EngineCore {
    /// Holds each transaction's change events until it is whole (see `TransactionBuffer`). Call before
    /// the first message (and before loading a saved state).
    package func holdTransactions(timeoutMs: Int64, maxBufferedEvents: Int) {
        transactionBuffer = TransactionBuffer(timeoutMs: timeoutMs, maxEvents: maxBufferedEvents)
        decoder.readsTransactions = true
        perEventOptions.holdsTransactions = true
    }

    /// The topics cdctop reads (its assignment): END's tables whose topic is not among them are not
    /// waited for. Until the first call no transaction is judged complete.
    package func noteReadTopics(_ topics: [String]) {
        guard let buffer = transactionBuffer else { return }
        buffer.setReadSlots(Set(topics.map { decoder.slot(forTopic: $0) }))
        applyReleased(buffer)
    }

    /// Releases transactions open longer than the timeout (the engine calls this as time passes).
    package func expireTransactions(nowMs: Int64) {
        guard let buffer = transactionBuffer else { return }
        buffer.expire(nowMs: nowMs)
        applyReleased(buffer)
    }

    /// A change event in complete mode: held with its transaction, or applied (no transaction block,
    /// or its transaction already released).
    @inline(never)
    fileprivate func holdOrApply(
        _ event: ChangeEvent, partitionKey pk: Int64, slot: Int, partition: Int32, offset: Int64,
        timestampMs: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?
    ) {
        guard let buffer = transactionBuffer else {
            applyHeld(event, partitionKey: pk, slot: slot, partition: partition, offset: offset)
            return
        }
        guard event.transactionKey != 0 else {
            buffer.notePassedThrough(streamed: !event.isSnapshot)
            applyHeld(event, partitionKey: pk, slot: slot, partition: partition, offset: offset)
            return
        }
        // The message's own bytes (a framed message's whole key and value): what a checkpoint saves.
        let rawKey = framedRawKey ?? key
        let rawValue = framedRawValue ?? value
        let message = OwnedMessage(
            topic: decoder.topicName(slot), partition: partition, offset: offset, timestampMs: timestampMs,
            key: rawKey.map { Array($0) }, value: rawValue.map { Array($0) })
        let held = HeldEvent(event: event, partitionKey: pk, slot: slot, message: message)
        if !buffer.hold(held) { applyHeld(event, partitionKey: pk, slot: slot, partition: partition, offset: offset) }
        applyReleased(buffer)
    }

    /// Applies what the buffer released, in order.
    fileprivate func applyReleased(_ buffer: TransactionBuffer) {
        guard buffer.hasReleased else { return }
        for h in buffer.takeReleased() {
            applyHeld(
                h.event, partitionKey: h.partitionKey, slot: h.slot, partition: h.message.partition,
                offset: h.message.offset)
        }
    }

    /// Applies an event now (read, or released by the buffer); false when the aggregator refused a model
    /// table's event (then counted as malformed, with the reason).
    @discardableResult
    private func applyHeld(_ event: ChangeEvent, partitionKey pk: Int64, slot: Int, partition: Int32, offset: Int64)
        -> Bool
    {
        if event.role == .model {
            if let reason = aggregator.applyModel(event, partitionKey: pk) {
                noteNonEvent(
                    .malformed(table: event.table, reason: reason), slot: slot, partition: partition, offset: offset,
                    timestampMs: 0, key: nil, value: nil)
                return false
            }
        } else {
            aggregator.apply(event, partitionKey: pk)
        }
        return true
    }

    /// A BEGIN or END: END's tables become topics `<prefix>.<schema.table>`, the prefix being the
    /// transaction topic's name before its last dot (`shop.transaction` → `shop`).
    fileprivate func noteTransactionBoundary(_ boundary: TransactionBoundary, slot: Int, buffer: TransactionBuffer) {
        var expected: [TransactionBuffer.Expected] = []
        if boundary.isEnd {
            let topic = decoder.topicName(slot)
            let prefix = topic.lastIndex(of: ".").map { String(topic[..<$0]) } ?? topic
            for c in boundary.collections {
                let name = prefix + "." + c.name
                expected.append(.init(topic: name, slot: decoder.slot(forTopic: name), count: c.eventCount))
            }
        }
        buffer.note(boundary, expected: expected)
        applyReleased(buffer)
    }

    /// The held transactions for a checkpoint; empty when nothing is held (or the mode is off).
    package func encodeTransactions(nowMs: Int64) -> [UInt8] {
        guard let buffer = transactionBuffer else { return [] }
        return buffer.encode(nowMs: nowMs)
    }

    /// Puts back what a checkpoint held: the transactions, then each message decoded again and held
    /// (not admitted nor counted again: it was both before it was saved). Without `holdTransactions`
    /// (a run as read after one that held), everything is applied at once, in the order read.
    package func restoreTransactions(_ bytes: [UInt8], nowMs: Int64) throws {
        guard !bytes.isEmpty else { return }
        let saved = try TransactionBuffer.decode(bytes)
        let holding = transactionBuffer != nil
        if !holding { holdTransactions(timeoutMs: 1, maxBufferedEvents: Int.max) }
        let buffer = transactionBuffer!
        buffer.nowMs = nowMs
        buffer.restore(saved) { decoder.slot(forTopic: $0) }
        let savedOptions = perEventOptions
        let savedCommitTimes = commitTimes
        perEventOptions.captureRecentChanges = false
        perEventOptions.receivedAtMs = 0
        for m in saved.messages.lazy.map(\.message) {
            ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value,
                restoringHeld: true)
        }
        perEventOptions = savedOptions
        commitTimes = savedCommitTimes
        if !holding {
            buffer.releaseAll()
            applyReleased(buffer)
            transactionBuffer = nil
            decoder.readsTransactions = false
            perEventOptions.holdsTransactions = false
        }
    }
}

/// The last commit time per partition key, set per event. Partitions are few and their events
/// interleave: the last key and a short scan find one without hashing (a dictionary set per event
/// was 2% of the Avro path's instructions).
struct PartitionCommitTimes {
    private var keys: [Int64] = []
    private var times: [Int64] = []
    /// By key, used beyond `scanned` keys.
    private var indexByKey: [Int64: Int] = [:]
    private var last = -1
    /// What `dictionary()` built, until the next `set`.
    private var built: [Int64: Int64]?
    private static let scanned = 16

    init() {}

    init(_ times: [Int64: Int64]) {
        for (key, time) in times { set(time, for: key) }
    }

    @inline(__always) mutating func set(_ time: Int64, for key: Int64) {
        if built != nil { built = nil }
        if last >= 0 && keys[last] == key {
            times[last] = time
            return
        }
        setOther(time, for: key)
    }

    private mutating func setOther(_ time: Int64, for key: Int64) {
        let found = keys.count <= PartitionCommitTimes.scanned ? keys.firstIndex(of: key) : indexByKey[key]
        if let i = found {
            last = i
            times[i] = time
            return
        }
        keys.append(key)
        times.append(time)
        indexByKey[key] = keys.count - 1
        last = keys.count - 1
    }

    /// As a dictionary (built once until the next change: callers read it once per partition).
    mutating func dictionary() -> [Int64: Int64] {
        if let built { return built }
        var d: [Int64: Int64] = [:]
        d.reserveCapacity(keys.count)
        for (i, key) in keys.enumerated() { d[key] = times[i] }
        built = d
        return d
    }
}
