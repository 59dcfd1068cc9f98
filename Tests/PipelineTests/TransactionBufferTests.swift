import Foundation
import Metrics
import Testing

@testable import Pipeline

/// `--transactions complete` (issue 22) on real Debezium output: Tests/Fixtures/debezium/txnfix.*, captured
/// from the project's stack with `provide.transaction.metadata=true` and a 4-partition transaction topic.
/// Five transactions after the snapshot (PostgreSQL txIds 811…815; see the fixtures' README):
///   811: transaction c200, transactiondetail c2000 c2001 c2002           (END: 4 events)
///   812: product u1, transaction c201, transactiondetail c2003            (END: 3)
///   813: customer u1                                                      (END: 1)
///   814: transactiondetail c2004, transaction u200                        (END: 2)
///   815: transactiondetail d2003, transaction d201                        (END: 2)
/// On the transaction topic BEGIN and END ids differ ("811:313866312" / "811:313868888"), END 811
/// is on partition 1 and its BEGIN on partition 2, and END 814 comes before END 811 on another partition.
enum TransactionSamples {
    static let prefix = "txnfix"
    static let dataTopics = ["customer", "product", "transaction", "transactiondetail"].map { "txnfix.public.\($0)" }
    static let transactionTopic = "txnfix.transaction"
    static var allTopics: [String] { dataTopics + [transactionTopic] }

    static func messages(_ topic: String) throws -> [OwnedMessage] { try Samples.messages("\(topic).jsonl") }

    static func feed(_ core: EngineCore, _ messages: [OwnedMessage]) {
        for m in messages {
            core.ingest(
                topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs, key: m.key,
                value: m.value)
        }
    }

    /// Creates, updates and deletes applied so far to a table.
    static func ops(_ core: EngineCore, _ table: String) -> [ChangeOp: Int64] {
        guard let t = core.aggregator.tables.first(where: { $0.table == table }) else { return [:] }
        var out: [ChangeOp: Int64] = [:]
        for op in [ChangeOp.create, .update, .delete, .read] where t.count(op) > 0 { out[op] = t.count(op) }
        return out
    }

    static func completeCore(timeoutMs: Int64 = 60_000, maxEvents: Int = 1_000, readTopics: [String] = allTopics)
        -> EngineCore
    {
        let core = EngineCore(profile: .samples)
        core.holdTransactions(timeoutMs: timeoutMs, maxBufferedEvents: maxEvents)
        // The buffer's clock only: the aggregator's (noteWallClock) would take the captures' 2026 commit times for clock errors.
        core.transactionBuffer!.nowMs = 1_000
        core.noteReadTopics(readTopics)
        return core
    }
}

@Suite("Transaction-complete KPIs")
struct TransactionBufferTests {
    typealias S = TransactionSamples

    @Test("the decoder reads each change's transaction, and BEGIN and END with different ids give one key")
    func decoderKeys() throws {
        let decoder = DebeziumDecoder(profile: .samples)
        decoder.readsTransactions = true
        var keys: [String: [Int64]] = [:]
        for topic in S.dataTopics {
            for m in try S.messages(topic) {
                guard let v = m.value else { continue }
                let slot = decoder.slot(forTopic: topic)
                var event = ChangeEvent(table: "", role: .other, op: .create, before: nil, after: nil, commitTimeMs: 0)
                let other = v.withUnsafeBytes { decoder.decode(slot: slot, value: $0, into: &event) }
                #expect(other == nil, "\(topic)@\(m.offset)")
                keys[topic, default: []].append(event.transactionKey)
            }
        }
        // Snapshot rows carry no transaction block: 0 (their source.txId 810 is not read).
        #expect(keys["txnfix.public.transaction"] == [811, 814, 0, 812, 815])
        #expect(keys["txnfix.public.transactiondetail"] == [0, 0, 811, 811, 814, 0, 0, 811, 812, 815])
        #expect(keys["txnfix.public.customer"] == [0, 0, 813, 0])

        var boundaries: [(Bool, Int64)] = []
        for m in try S.messages(S.transactionTopic) {
            let slot = decoder.slot(forTopic: S.transactionTopic)
            let o = m.value!.withUnsafeBytes { decoder.decode(slot: slot, value: $0) }
            guard case .ignored = o, let b = decoder.takeTransactionBoundary() else {
                Issue.record("not a boundary: \(o)")
                continue
            }
            boundaries.append((b.isEnd, b.key))
            if b.key == 811 && b.isEnd {
                #expect(b.id == "811:313868888" && b.eventCount == 4)
                #expect(
                    b.collections == [
                        .init(name: "public.transactiondetail", eventCount: 3),
                        .init(name: "public.transaction", eventCount: 1),
                    ])
            }
        }
        #expect(boundaries.filter { $0.0 }.map(\.1).sorted() == [811, 812, 813, 814, 815])
        #expect(boundaries.filter { !$0.0 }.map(\.1).sorted() == [811, 812, 813, 814, 815])
    }

    @Test(
        "as read (the default): no key is read, and BEGIN/END are ignored, not taken for rows of the table 'transaction'"
    )
    func asReadIgnoresMetadata() throws {
        let core = EngineCore(profile: .samples)
        for topic in S.allTopics { S.feed(core, try S.messages(topic)) }
        #expect(core.malformed == 0)
        #expect(core.ignored == 10)
        #expect(core.transactionBuffer == nil)
        #expect(S.ops(core, "transaction") == [.create: 2, .update: 1, .delete: 1, .read: 1])
    }

    @Test(
        "data first, then the transaction topic partition by partition (END before BEGIN, END 814 before END 811): only whole transactions, in order"
    )
    func dataFirstThenBoundaries() throws {
        let core = S.completeCore()
        for topic in S.dataTopics { S.feed(core, try S.messages(topic)) }
        // Only the snapshot is in the KPIs; the 12 streamed changes wait.
        #expect(S.ops(core, "transaction") == [.read: 1])
        #expect(S.ops(core, "transactiondetail") == [.read: 4])
        #expect(core.transactionBuffer?.bufferedEvents == 12)
        let boundaries = try S.messages(S.transactionTopic)
        func partition(_ p: Int32) { S.feed(core, boundaries.filter { $0.partition == p }) }
        partition(3)  // BEGIN 813, BEGIN 815
        partition(2)  // BEGIN 811, BEGIN 812, END 814, END 815: both wait behind 811 and 812 on their partitions
        #expect(S.ops(core, "transaction") == [.read: 1])
        #expect(S.ops(core, "transactiondetail") == [.read: 4])
        partition(1)  // END 811 (then 814 behind it goes), END 812 (then 815)
        #expect(S.ops(core, "transaction") == [.read: 1, .create: 2, .update: 1, .delete: 1])
        #expect(S.ops(core, "transactiondetail") == [.read: 4, .create: 5, .delete: 1])
        #expect(S.ops(core, "customer") == [.read: 3])
        partition(0)  // END 813, BEGIN 814 (already gone: not a new transaction)
        #expect(S.ops(core, "customer") == [.read: 3, .update: 1])
        let status = try #require(core.snapshot(sequence: 1, takenAtMs: 2_000).kpis.transactions)
        #expect(status.open == 0 && status.bufferedEvents == 0)
        #expect(status.completed == 5 && status.timedOut == 0 && status.evicted == 0)
        #expect(status.releasedEvents == 12 && status.passedThrough == 11 && status.begins == 5 && status.ends == 5)
        #expect(core.malformed == 0)

        let asRead = EngineCore(profile: .samples)
        for topic in S.allTopics { S.feed(asRead, try S.messages(topic)) }
        #expect(core.result == asRead.result)
    }

    @Test("boundaries first, then the data topics one after another: a transaction goes once its last table arrived")
    func boundariesFirst() throws {
        let core = S.completeCore()
        S.feed(core, try S.messages(S.transactionTopic))
        S.feed(core, try S.messages("txnfix.public.transaction"))
        // 811 and 812 lack their lines, 814 and 815 wait behind them; 813 lacks its customer row.
        #expect(S.ops(core, "transaction") == [.read: 1])
        S.feed(core, try S.messages("txnfix.public.customer"))
        #expect(S.ops(core, "customer") == [.read: 3, .update: 1])
        S.feed(core, try S.messages("txnfix.public.transactiondetail"))
        // 812 still lacks its product update.
        #expect(S.ops(core, "transaction") == [.read: 1, .create: 1, .update: 1])
        #expect(S.ops(core, "transactiondetail") == [.read: 4, .create: 4])
        S.feed(core, try S.messages("txnfix.public.product"))
        #expect(S.ops(core, "transaction") == [.read: 1, .create: 2, .update: 1, .delete: 1])
        #expect(core.transactionBuffer?.openCount == 0)
    }

    @Test("a table cdctop does not read is not waited for (END still counts it)")
    func unreadTablesAreNotWaitedFor() throws {
        let read = S.allTopics.filter { $0 != "txnfix.public.product" }
        let core = S.completeCore(readTopics: read)
        for topic in read { S.feed(core, try S.messages(topic)) }
        let status = try #require(core.snapshot(sequence: 1, takenAtMs: 2_000).kpis.transactions)
        #expect(status.open == 0 && status.completed == 5 && status.timedOut == 0)
        #expect(S.ops(core, "transaction") == [.read: 1, .create: 2, .update: 1, .delete: 1])
    }

    /// Debezium 3.6.3's MySQL connector on MariaDB 10.11 (the stack's stand-in), captured by
    /// scripts/stack-e2e-mysql-cdc with `provide.transaction.metadata=true`: the connector never sees MariaDB's
    /// transaction starts (a GTID event, not a `BEGIN` query), so it writes no BEGIN/END and `"transaction":
    /// null` on every streamed change. Here an order (16.29) and its two lines, after their products' snapshot
    /// rows: cdctop cannot hold them whole, applies them as read, and says so apart from the snapshot rows.
    @Test("MariaDB under the MySQL connector: no transaction metadata, changes applied as read and counted as such")
    func mariaDBSendsNoTransactionMetadata() throws {
        let topics = ["product", "transaction", "transactiondetail"].map { "txnmaria.shop_mye2e.\($0)" }
        let core = EngineCore(profile: .shop)
        core.holdTransactions(timeoutMs: 60_000, maxBufferedEvents: 1_000)
        core.transactionBuffer!.nowMs = 1_000
        core.noteReadTopics(topics + ["txnmaria.transaction"])
        for topic in topics { S.feed(core, try Samples.messages("\(topic).jsonl")) }
        let snapshot = core.snapshot(sequence: 1, takenAtMs: 2_000)
        let status = try #require(snapshot.kpis.transactions)
        #expect(status.passedThrough == 5 && status.streamedWithoutTransaction == 3)
        #expect(status.open == 0 && status.bufferedEvents == 0 && status.completed == 0 && status.begins == 0)
        #expect(status.summary.hasSuffix("3 changes without transaction metadata, applied as read"))
        #expect(status.json().contains("\"streamed_without_transaction\":3"))
        #expect(S.ops(core, "transaction") == [.create: 1])
        #expect(S.ops(core, "transactiondetail") == [.create: 2])
        #expect(core.result.totals.revenue == Money(cents: 1629) && core.result.totals.txCount == 1)
    }

    @Test("nothing is judged before the read topics are known")
    func nothingJudgedBeforeTopicsKnown() throws {
        let core = EngineCore(profile: .samples)
        core.holdTransactions(timeoutMs: 60_000, maxBufferedEvents: 1_000)
        for topic in S.allTopics { S.feed(core, try S.messages(topic)) }
        #expect(S.ops(core, "transaction") == [.read: 1])
        core.noteReadTopics(S.allTopics)
        #expect(S.ops(core, "transaction") == [.read: 1, .create: 2, .update: 1, .delete: 1])
    }

    @Test(
        "a lost END: the transaction is released after the timeout, counted; what waited behind it goes whole; late pieces are not a new transaction"
    )
    func timeout() throws {
        let core = S.completeCore(timeoutMs: 5_000)
        for topic in S.dataTopics { S.feed(core, try S.messages(topic)) }
        // Every boundary but END 811.
        let boundaries = try S.messages(S.transactionTopic)
        let end811 = boundaries.first { $0.partition == 1 && $0.offset == 0 }!
        S.feed(core, boundaries.filter { !($0.partition == 1 && $0.offset == 0) })
        // 813 is whole; 812, 814 and 815 wait behind 811.
        #expect(S.ops(core, "customer") == [.read: 3, .update: 1])
        #expect(S.ops(core, "transaction") == [.read: 1])
        core.expireTransactions(nowMs: 5_999)
        #expect(S.ops(core, "transaction") == [.read: 1])
        core.expireTransactions(nowMs: 6_000)
        #expect(S.ops(core, "transaction") == [.read: 1, .create: 2, .update: 1, .delete: 1])
        var status = try #require(core.snapshot(sequence: 1, takenAtMs: 6_000).kpis.transactions)
        #expect(status.timedOut == 1 && status.completed == 4 && status.open == 0)
        // The END comes after all (at a later offset: an earlier one would be a redelivery): not a new open transaction.
        var late = end811
        late.offset = 100
        S.feed(core, [late])
        status = try #require(core.snapshot(sequence: 2, takenAtMs: 6_000).kpis.transactions)
        #expect(status.open == 0 && status.ends == 5)
    }

    @Test("the buffer's size bound releases the oldest transaction unfinished")
    func sizeBound() throws {
        let core = S.completeCore(maxEvents: 3)
        S.feed(core, try S.messages("txnfix.public.transactiondetail"))
        // Partition 0: 811's two lines and 814's are held (3); partition 1: 811's third line makes 4, so the
        // oldest, 811, goes unfinished (evicted); 814 has no END and stays; 812's line and 815's delete are held.
        let status = try #require(core.snapshot(sequence: 1, takenAtMs: 1_000).kpis.transactions)
        #expect(status.evicted == 1 && status.timedOut == 0 && status.completed == 0)
        #expect(status.bufferedEvents == 3 && status.open == 3)
        #expect(S.ops(core, "transactiondetail") == [.read: 4, .create: 3])
    }

    @Test(
        "a checkpoint holds the open transactions: a restart decodes them again and ends where an uninterrupted run ends"
    )
    func restartRoundTrip() throws {
        let directory = NSTemporaryDirectory() + "cdctop-txn-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StateIdentity(profile: .samples, topics: ["^txnfix\\..*"])
        let boundaries = try S.messages(S.transactionTopic)

        let first = S.completeCore()
        let store = try StateStore(directory: directory, identity: identity)
        _ = try store.load(into: first)
        first.journaling = true
        for topic in S.dataTopics { S.feed(first, try S.messages(topic)) }
        S.feed(first, boundaries.filter { $0.partition >= 2 })
        #expect(first.transactionBuffer?.bufferedEvents == 12)
        let beforeResult = first.result
        try store.write(Checkpoint.take(from: first, nowMs: 1_000))
        store.close()

        let second = EngineCore(profile: .samples)
        second.holdTransactions(timeoutMs: 60_000, maxBufferedEvents: 1_000)
        let reopened = try StateStore(directory: directory, identity: identity)
        defer { reopened.close() }
        _ = try reopened.load(into: second)
        #expect(second.result == beforeResult)
        #expect(second.transactionBuffer?.bufferedEvents == 12)
        #expect(second.transactionBuffer?.openCount == 5)
        second.noteReadTopics(S.allTopics)
        // The rest of the transaction topic (redelivered offsets of the first half are skipped).
        S.feed(second, boundaries)
        let status = try #require(second.snapshot(sequence: 1, takenAtMs: 2_000).kpis.transactions)
        #expect(status.open == 0 && status.completed == 5 && status.timedOut == 0 && status.releasedEvents == 12)
        #expect(second.messages == 35)

        let asRead = EngineCore(profile: .samples)
        for topic in S.allTopics { S.feed(asRead, try S.messages(topic)) }
        #expect(second.result == asRead.result)
    }

    @Test("a run as read on a state saved while transactions were held applies them at once")
    func asReadAfterComplete() throws {
        let directory = NSTemporaryDirectory() + "cdctop-txn-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StateIdentity(profile: .samples, topics: ["^txnfix\\..*"])
        let first = S.completeCore()
        let store = try StateStore(directory: directory, identity: identity)
        _ = try store.load(into: first)
        first.journaling = true
        for topic in S.dataTopics { S.feed(first, try S.messages(topic)) }
        try store.write(Checkpoint.take(from: first, nowMs: 1_000))
        store.close()

        let second = EngineCore(profile: .samples)
        let reopened = try StateStore(directory: directory, identity: identity)
        defer { reopened.close() }
        _ = try reopened.load(into: second)
        #expect(second.transactionBuffer == nil)
        let asRead = EngineCore(profile: .samples)
        for topic in S.dataTopics { S.feed(asRead, try S.messages(topic)) }
        #expect(second.result == asRead.result)
    }

    @Test("the buffer's bytes round-trip; damaged bytes are an error")
    func encoding() throws {
        let core = S.completeCore()
        for topic in S.dataTopics { S.feed(core, try S.messages(topic)) }
        let bytes = core.encodeTransactions(nowMs: 3_000)
        let saved = try TransactionBuffer.decode(bytes)
        #expect(saved.messages.count == 12)
        #expect(Set(saved.transactions.map(\.key)) == [811, 812, 813, 814, 815])
        #expect(saved.transactions.allSatisfy { $0.ageMs == 2_000 })
        #expect(throws: TransactionBuffer.DecodeError.self) { try TransactionBuffer.decode(Array(bytes.dropLast(3))) }
    }

    @Test("Avro (the same captures through Connect's Avro form): the same transaction keys, BEGIN and END read too")
    func avroKeys() throws {
        let json = DebeziumDecoder(profile: .samples)
        let avro = DebeziumDecoder(profile: .samples)
        json.readsTransactions = true
        avro.readsTransactions = true
        let schemas = TestSchemas()
        var compared = 0
        var boundaries = 0
        for topic in S.allTopics {
            for m in try S.messages(topic) {
                guard let v = m.value, let (text, payload) = ConnectAvro.convert(v) else { continue }
                let schema = try AvroSchema(json: text)
                var jsonEvent = ChangeEvent(
                    table: "", role: .other, op: .create, before: nil, after: nil, commitTimeMs: 0)
                var avroEvent = jsonEvent
                let j = v.withUnsafeBytes { json.decode(slot: json.slot(forTopic: topic), value: $0, into: &jsonEvent) }
                let a = payload.withUnsafeBytes {
                    avro.decodeAvro(
                        slot: avro.slot(forTopic: topic), schemaID: schemas.id(for: text), schema: schema, payload: $0,
                        kafkaTimestampMs: 0, into: &avroEvent)
                }
                if topic == S.transactionTopic {
                    let jb = json.takeTransactionBoundary()
                    let ab = avro.takeTransactionBoundary()
                    #expect(jb != nil && jb == ab, "\(topic)@\(m.partition):\(m.offset)")
                    boundaries += 1
                } else {
                    #expect(j == nil && a == nil)
                    #expect(avroEvent.transactionKey == jsonEvent.transactionKey, "\(topic)@\(m.partition):\(m.offset)")
                    compared += 1
                }
            }
        }
        #expect(compared == 23 && boundaries == 10)
    }

    @Test("transaction keys: PostgreSQL's number before the colon; other ids hashed whole; none is 0")
    func keys() {
        #expect(TransactionKey.of("811:313866312") == 811)
        #expect(TransactionKey.of("811") == 811)
        let gtid = TransactionKey.of("3E11FA47-71CA-11E1-9E33-C80AA9429562:23")
        #expect(gtid < 0 && gtid != TransactionKey.of("3E11FA47-71CA-11E1-9E33-C80AA9429562:24"))
        #expect(TransactionKey.of("file=binlog.000001,pos=7054") < 0)
        #expect(TransactionKey.of("") == 0)
        #expect(TransactionKey.of("0:5") != 0)
    }
}
