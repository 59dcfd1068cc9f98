// The fuzz harness: shared by the libFuzzer target (Fuzz/FuzzEngine.swift, built by scripts/fuzz,
// which compiles this file and FuzzUnescaper.swift into it) and the regression tests
// (FuzzRegressionTests replays every input under Fuzz/regressions through it). Input format and
// invariants: Fuzz/README.md.
import Metrics
import Pipeline

enum FuzzHarness {
    static let prefixes = ["shop", "shopnos", "shopstr", "shopdbl"]
    static let tables = ["transaction", "transactiondetail", "product", "customer"]
    static let topics: [String] =
        prefixes.flatMap { p in tables.map { "\(p).public.\($0)" } }
        + ["__debezium-heartbeat.shop", "shop.routed", "shop.public.unknown"]

    /// Commit time used when a record carries none (unwrapped records without `__source_ts_ms`).
    static let kafkaTimestampMs: Int64 = 1_795_347_195_000

    /// The shop written as SQL KPIs, with a filter, an expression measure, a left join and a grouped
    /// average: the model engine's path (record keys, cells, expressions, chains).
    static let modelProfile: KPIProfile = try! KPIProfile(
        tomlText: """
            [kpi.transactions]
            sql = "select count(*) from \\"transaction\\" where status <> 'cancelled'"
            [kpi.revenue]
            sql = "select sum(case when status = 'refunded' then -amount else amount end) from \\"transaction\\""
            [kpi.category_sales]
            sql = "select coalesce(p.category, 'none'), sum(d.quantity * d.unit_price) from transactiondetail d join product p on p.product_id = d.product_id group by 1"
            [kpi.by_city]
            windows = false
            sql = "select c.city, count(*), avg(t.amount) from \\"transaction\\" t left join customer c on c.customer_id = t.customer_id group by c.city"
            """, file: "fuzz-model.toml")

    /// Sum of the counters of which exactly one moves per message.
    static func outcomeCount(_ core: EngineCore) -> Int64 {
        core.aggregator.applied + core.aggregator.duplicates + core.tombstones + core.malformed + core.ignored
            + core.heartbeats
            + core.schemaChangeMessages
    }

    /// `… (at byte N)` → N.
    static func bytePosition(_ reason: String) -> Int? {
        // `(at byte N)` from the JSON decoder, `(schema id S, at byte N)` from the Avro decoder.
        guard reason.hasSuffix(")"), let r = reason.range(of: "at byte ", options: .backwards) else { return nil }
        return Int(reason[r.upperBound..<reason.index(before: reason.endIndex)])
    }

    /// Runs one input; returns the invariants it broke (empty when none). A trap is a crash.
    static func run(_ input: UnsafeRawBufferPointer) -> [String] {
        var violations: [String] = []
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { violations.append(message()) }
        }
        guard input.count > 0 else { return [] }
        let profile: KPIProfile = input[0] & 2 != 0 ? modelProfile : input[0] & 1 == 0 ? .samples : .shop
        let core = EngineCore(profile: profile)
        core.captureRecentChanges = true
        var nextOffset: [Int64] = [0, 0]
        // The replay's unescaper sees every value too (FuzzUnescaper.swift), with a memo per topic and form.
        var rawMemos = [UnescapeMemo](repeating: UnescapeMemo(), count: topics.count)
        var escapedMemos = rawMemos
        var position = 1
        while position < input.count {
            var end = position
            while end < input.count && input[end] != UInt8(ascii: "\n") { end += 1 }
            defer { position = end + 1 }
            guard end > position else { continue }
            let header = input[position]
            let topicIndex = Int(header & 0x1F) % topics.count
            let topic = topics[topicIndex]
            let partition: Int32 = header & 0x40 != 0 ? 1 : 0
            let p = Int(partition)
            let offset = header & 0x20 != 0 ? max(0, nextOffset[p] - 1) : nextOffset[p]
            nextOffset[p] = offset + 1
            let value: UnsafeRawBufferPointer? =
                header & 0x80 != 0 ? nil : UnsafeRawBufferPointer(rebasing: input[(position + 1)..<end])

            let before = outcomeCount(core)
            let refusedBefore = core.aggregator.refused
            let malformedBefore = core.malformed
            let slot = core.decoder.slot(forTopic: topic)
            if profile.model != nil {
                // Record keys from a few values, so creates, updates and deletes of one row meet.
                let k = (value?.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 } ?? 0) % 40
                let key = Array("{\"k\":\(k)}".utf8)
                key.withUnsafeBytes { key in
                    _ = core.ingest(
                        slot: slot, partition: partition, offset: offset, timestampMs: kafkaTimestampMs, key: key,
                        value: value)
                }
            } else {
                core.ingest(
                    slot: slot, partition: partition, offset: offset, timestampMs: kafkaTimestampMs, key: value,
                    value: value)
            }

            let moved = outcomeCount(core) - before
            let refused = core.aggregator.refused - refusedBefore
            check(
                moved == 1 || (moved == 0 && refused == 1),
                "one message moved the outcome counters by \(moved) (refused \(refused)) on \(topic)")
            if core.malformed > malformedBefore {
                let reason = core.recentMalformed.last?.reason ?? ""
                // The decoder's reasons carry a byte position; a model profile's later steps (row key,
                // expressions) refer to the row, not a byte, and must name what they refused.
                if let at = bytePosition(reason) {
                    check(
                        at >= 0 && at <= (value?.count ?? 0),
                        "byte position \(at) outside a \(value?.count ?? 0)-byte value: \(reason)")
                } else {
                    check(
                        profile.model != nil && !reason.isEmpty, "malformed reason without a byte position: \(reason)")
                }
            }
            if let value {
                violations += UnescaperDifferential.check(
                    value: value, rawMemo: &rawMemos[topicIndex], escapedMemo: &escapedMemos[topicIndex])
            }
            // Long inputs are many messages; the descriptions are decoded for a few (the dashboard's drill-down).
            if let value, value.count < 4096 {
                _ = ChangeDescription.decode(value: Array(value), defaultDecimalScale: 2)
            }
        }
        let snapshot = core.snapshot(sequence: 1, takenAtMs: kafkaTimestampMs)
        check(
            snapshot.diagnostics.tables.reduce(0) { $0 + $1.malformed } == core.malformed,
            "per-table malformed \(snapshot.diagnostics.tables.map(\.malformed)) do not add up to \(core.malformed)")
        for t in snapshot.diagnostics.tables where t.lastCommitTimeMs != 0 {
            check(
                DebeziumDecoder.validCommitTimeMs.contains(t.lastCommitTimeMs),
                "table \(t.table) kept commit time \(t.lastCommitTimeMs)")
        }
        check(
            snapshot.kpis.maxCommitTimeMs == 0
                || DebeziumDecoder.validCommitTimeMs.contains(snapshot.kpis.maxCommitTimeMs),
            "max commit time \(snapshot.kpis.maxCommitTimeMs)")
        _ = snapshot.kpis.result.json()
        for changes in snapshot.diagnostics.recentChanges.values {
            for change in changes { if let v = change.value { _ = ChangeDescription.decode(value: v) } }
        }
        return violations
    }
}
