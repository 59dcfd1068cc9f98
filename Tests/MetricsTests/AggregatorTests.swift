import Metrics
import Testing

/// Builders for events in the shop profile.
enum Shop {
    static let profile = KPIProfile.shop

    static func sale(
        _ op: ChangeOp, id: Int64, before: Int64? = nil, after: Int64? = nil, at ts: Int64, snapshot: Bool = false
    ) -> ChangeEvent {
        func row(_ cents: Int64?) -> Row? {
            guard let cents else { return nil }
            var r = Row(key: .int(id))
            r.amount = .value(Money(cents: cents))
            return r
        }
        return ChangeEvent(
            table: "transaction", role: .sale, op: op, before: row(before), after: row(after),
            commitTimeMs: ts, isSnapshot: snapshot)
    }

    static func line(
        _ op: ChangeOp, id: Int64, product: Int64, qty: Int64, cents: Int64, oldQty: Int64? = nil, at ts: Int64,
        withBefore: Bool = true, snapshot: Bool = false
    ) -> ChangeEvent {
        func row(_ q: Int64) -> Row {
            var r = Row(key: .int(id))
            r.quantity = .value(q)
            r.unitPrice = .value(Money(cents: cents))
            r.reference = .value(.int(product))
            return r
        }
        switch op {
        case .create, .read:
            return ChangeEvent(
                table: "transactiondetail", role: .lineItem, op: op, before: nil, after: row(qty), commitTimeMs: ts,
                isSnapshot: snapshot)
        case .update:
            return ChangeEvent(
                table: "transactiondetail", role: .lineItem, op: op, before: withBefore ? row(oldQty ?? qty) : nil,
                after: row(qty), commitTimeMs: ts)
        default:
            return ChangeEvent(
                table: "transactiondetail", role: .lineItem, op: op, before: withBefore ? row(qty) : Row(key: .int(id)),
                after: nil, commitTimeMs: ts)
        }
    }

    static func product(_ op: ChangeOp, id: Int64, category: String, at ts: Int64) -> ChangeEvent {
        var r = Row(key: .int(id))
        r.category = .value(category)
        return ChangeEvent(
            table: "product", role: .dimension, op: op, before: nil, after: op == .delete ? nil : r,
            commitTimeMs: ts, isSnapshot: op == .read)
    }
}

@Suite("Windowed aggregator semantics")
struct AggregatorTests {
    let t0: Int64 = 1_700_000_020_000  // 10 s into a window
    var w0: Int64 { t0 - 10_000 }

    @Test func createUpdateDeleteRetractions() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.sale(.create, id: 1, after: 5997, at: t0))
        a.apply(Shop.sale(.create, id: 2, after: 1000, at: t0 + 1))
        a.apply(Shop.sale(.update, id: 1, before: 5997, after: 6000, at: t0 + 2))
        a.apply(Shop.sale(.delete, id: 2, before: 1000, at: t0 + 40_000))  // next window
        let w = a.windowResults
        #expect(w.count == 2)
        #expect(w[0].windowStartMs == w0 && w[0].txCount == 2 && w[0].revenue == Money(cents: 7000))
        #expect(w[1].windowStartMs == w0 + 30_000 && w[1].txCount == -1 && w[1].revenue == Money(cents: -1000))
        #expect(a.totals.txCount == 1 && a.totals.revenue == Money(cents: 6000))
    }

    @Test("missing before uses the remembered contribution, not DEFAULT identity placeholders")
    func missingBefore() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.sale(.create, id: 1, after: 5000, at: t0))
        a.apply(Shop.sale(.update, id: 1, before: nil, after: 7000, at: t0 + 1))
        a.apply(Shop.sale(.delete, id: 1, before: 0, at: t0 + 2))  // placeholder 0.00 in before
        #expect(a.windowResults[0].revenue == .zero)
        #expect(a.windowResults[0].txCount == 0)
        #expect(a.totals == TotalsResult())
    }

    @Test func snapshotReadsLoadTotalsButNoWindow() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.sale(.read, id: 1, after: 2500, at: t0, snapshot: true))
        #expect(a.windowResults.isEmpty)
        #expect(a.totals.txCount == 1 && a.totals.revenue == Money(cents: 2500))
        a.apply(Shop.sale(.delete, id: 1, before: 2500, at: t0 + 5))
        #expect(a.windowResults[0].txCount == -1 && a.totals.txCount == 0)
    }

    @Test func truncateRetractsEverything() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.sale(.read, id: 1, after: 100, at: t0, snapshot: true))
        a.apply(Shop.sale(.create, id: 2, after: 200, at: t0))
        a.apply(
            ChangeEvent(table: "transaction", role: .sale, op: .truncate, before: nil, after: nil, commitTimeMs: t0 + 1)
        )
        #expect(a.totals.txCount == 0 && a.totals.revenue == .zero)
        #expect(a.windowResults[0].txCount == -1 && a.windowResults[0].revenue == Money(cents: -100))
    }

    @Test("line items before their product are parked, then attributed")
    func parking() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.line(.create, id: 10, product: 7, qty: 3, cents: 1999, at: t0))
        #expect(a.parked.lineItems == 1 && a.parked.amount == Money(cents: 5997))
        #expect(a.totals.categoryRevenue.isEmpty)
        a.apply(Shop.product(.read, id: 7, category: "books", at: t0 - 100_000))
        #expect(a.parked.lineItems == 0)
        #expect(a.totals.categoryRevenue == ["books": Money(cents: 5997)])
        #expect(a.windowResults[0].categoryRevenue == ["books": Money(cents: 5997)])
    }

    @Test func categoryChangeMovesSales() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.product(.read, id: 7, category: "books", at: t0))
        a.apply(Shop.line(.create, id: 10, product: 7, qty: 2, cents: 500, at: t0))
        a.apply(Shop.product(.update, id: 7, category: "comics", at: t0 + 1))
        #expect(a.totals.categoryRevenue == ["comics": Money(cents: 1000)])
        #expect(a.windowResults[0].categoryRevenue == ["comics": Money(cents: 1000)])
        a.apply(Shop.product(.delete, id: 7, category: "", at: t0 + 2))
        #expect(
            a.totals.categoryRevenue == ["comics": Money(cents: 1000)], "deleting a product keeps past sales attributed"
        )
    }

    @Test func lineItemUpdateWithoutBeforeAndDelete() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.product(.read, id: 1, category: "toys", at: t0))
        a.apply(Shop.line(.create, id: 10, product: 1, qty: 4, cents: 250, at: t0))
        a.apply(Shop.line(.update, id: 10, product: 1, qty: 1, cents: 250, at: t0 + 1, withBefore: false))
        #expect(a.totals.categoryRevenue == ["toys": Money(cents: 250)])
        a.apply(Shop.line(.delete, id: 10, product: 1, qty: 1, cents: 250, at: t0 + 2, withBefore: false))
        #expect(a.totals.categoryRevenue.isEmpty)
        #expect(a.windowResults[0].categoryRevenue.isEmpty)
    }

    @Test("late events correct held windows; events older than the retention are dropped from windows only")
    func lateAndDropped() {
        var profile = Shop.profile
        profile.retentionMs = 60_000
        var a = WindowedAggregator(profile: profile)
        a.apply(Shop.sale(.create, id: 1, after: 100, at: t0))
        a.apply(Shop.sale(.create, id: 2, after: 100, at: t0 + 50_000))  // watermark passes w0's end
        #expect(a.isFinal(windowStart: w0))
        a.apply(Shop.sale(.create, id: 3, after: 100, at: t0 + 1))  // late: corrects w0
        #expect(a.lateCorrections == 1)
        #expect(a.windowResults.first { $0.windowStartMs == w0 }?.txCount == 2)
        a.apply(Shop.sale(.create, id: 4, after: 100, at: t0 + 400_000))  // moves the horizon far ahead
        #expect(a.windowResults.first { $0.windowStartMs == w0 } == nil, "w0 evicted")
        a.apply(Shop.sale(.create, id: 5, after: 100, at: t0 + 2))
        #expect(a.dropped == 1)
        #expect(a.totals.txCount == 5, "dropped events still count in the running totals")
    }

    @Test func redeliveredMessagesAreIgnored() {
        var a = WindowedAggregator(profile: Shop.profile)
        let e = Shop.sale(.create, id: 1, after: 100, at: t0)
        a.apply(e, partitionKey: 3, offset: 10)
        a.apply(e, partitionKey: 3, offset: 10)
        a.apply(e, partitionKey: 3, offset: 9)
        #expect(a.duplicates == 2)
        #expect(a.totals.txCount == 1 && a.windowResults[0].txCount == 1)
    }

    @Test("the result does not depend on how partitions interleave")
    func orderIndependence() {
        // Three partitions, each internally ordered (as Kafka guarantees per key).
        let p0 = [
            Shop.product(.read, id: 1, category: "books", at: t0 - 50_000),
            Shop.product(.update, id: 1, category: "comics", at: t0 + 35_000),
        ]
        let p1 = [
            Shop.sale(.create, id: 1, after: 1000, at: t0),
            Shop.sale(.update, id: 1, before: 1000, after: 900, at: t0 + 31_000),
            Shop.sale(.create, id: 2, after: 50, at: t0 + 62_000),
            Shop.sale(.delete, id: 2, before: 50, at: t0 + 63_000),
        ]
        let p2 = [
            Shop.line(.create, id: 5, product: 1, qty: 2, cents: 500, at: t0),
            Shop.line(.update, id: 5, product: 1, qty: 1, cents: 500, oldQty: 2, at: t0 + 31_000),
            Shop.line(.create, id: 6, product: 2, qty: 1, cents: 50, at: t0 + 62_000),
        ]
        var outputs = Set<KPIResult>()
        var rng = SplitMix(seed: 7)
        for _ in 0..<200 {
            var queues = [p0, p1, p2].map { ArraySlice($0) }
            var a = WindowedAggregator(profile: Shop.profile)
            while queues.contains(where: { !$0.isEmpty }) {
                let live = queues.indices.filter { !queues[$0].isEmpty }
                let q = live[Int(rng.next() % UInt64(live.count))]
                a.apply(queues[q].removeFirst())
            }
            outputs.insert(a.result(messages: 0, malformed: 0))
        }
        #expect(outputs.count == 1)
        let r = outputs.first!
        #expect(r.totals.categoryRevenue == ["comics": Money(cents: 500)])
        #expect(r.totals.txCount == 1 && r.totals.revenue == Money(cents: 900))
    }

    @Test func resultJSONShape() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.product(.read, id: 1, category: "books", at: t0))
        a.apply(Shop.sale(.create, id: 1, after: 5997, at: t0))
        a.apply(Shop.line(.create, id: 1, product: 1, qty: 3, cents: 1999, at: t0))
        #expect(
            a.result(messages: 3, malformed: 1).json()
                == #"{"window_ms":30000,"messages":3,"windows":[{"window_start_ms":1700000010000,"tx_count":1,"revenue":"59.97","category_revenue":{"books":"59.97"}}],"totals":{"tx_count":1,"revenue":"59.97","category_revenue":{"books":"59.97"}},"malformed":1,"dropped":0}"#
        )
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite struct MoneyTests {
    @Test func parsesExactly() {
        #expect(Money(decimalText: "59.97") == Money(cents: 5997))
        #expect(Money(decimalText: "-0.01") == Money(cents: -1))
        #expect(Money(decimalText: "1234567890.12")?.formatted() == "1234567890.12")
        #expect(Money(decimalText: "5.997E1") == Money(cents: 5997))
        #expect(Money(decimalText: "1e3") == Money(whole: 1000))
        #expect(Money(decimalText: "0.1234567891") == nil, "more places than kept: rejected, not rounded")
        #expect(Money(decimalText: "12,5") == nil)
        #expect(Money(cents: 6000).formatted() == "60.00")
        #expect(Money(unscaled: 1, scale: 3)?.formatted() == "0.001")
        #expect((Money(cents: 1999) * 3).formatted() == "59.97")
    }
}

@Suite("Hostile values never trap and never move a number")
struct AggregatorHostileValueTests {
    let t0: Int64 = 1_700_000_020_000

    @Test func commitTimesOutsideTheCalendarAreRefused() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.sale(.create, id: 1, after: 5997, at: t0))
        let before = a.result(messages: 0, malformed: 0)
        for ts in [Int64.max, Int64.min, -9_223_372_036_854_775_807, -1, 253_402_300_800_000] {
            a.apply(Shop.sale(.create, id: 2, after: 100, at: ts))
        }
        #expect(a.refused == 5)
        #expect(a.result(messages: 0, malformed: 0) == before)
        a.apply(Shop.sale(.create, id: 3, after: 100, at: 253_402_300_799_999))  // year 9999: valid, evicts old windows
        #expect(a.refused == 5 && a.totals.txCount == 2)
    }

    @Test func valuesBeyondTheRangeAndOverflowingProductsAreRefused() {
        var a = WindowedAggregator(profile: Shop.profile)
        var huge = Row(key: .int(1))
        huge.amount = .value(Money(units: Money.maxMagnitude.units + 1))
        a.apply(ChangeEvent(table: "transaction", role: .sale, op: .create, before: nil, after: huge, commitTimeMs: t0))
        // 9223372036854775807 × 99999999999.99 overflows the range.
        var item = Row(key: .int(7))
        item.quantity = .value(Int64.max)
        item.unitPrice = .value(Money(decimalText: "99999999999.99")!)
        item.reference = .value(.int(1))
        a.apply(
            ChangeEvent(
                table: "transactiondetail", role: .lineItem, op: .create, before: nil, after: item, commitTimeMs: t0))
        #expect(a.refused == 2)
        #expect(a.totals == TotalsResult())
        #expect(a.windowResults.allSatisfy { $0.txCount == 0 && $0.revenue.isZero })
    }

    @Test("a sum that would overflow refuses the event instead of trapping; smaller events still count")
    func sumsNearTheLimitRefuseInsteadOfTrapping() {
        var a = WindowedAggregator(profile: Shop.profile)
        var counters = AggregatorCounters()
        counters.volume = Int128.max / 2 - 3 * Money.maxMagnitude.units
        a.restore(counters: counters)
        a.finishRestore()
        var big = Row(key: .int(1))
        big.amount = .value(Money.maxMagnitude)
        a.apply(ChangeEvent(table: "transaction", role: .sale, op: .create, before: nil, after: big, commitTimeMs: t0))
        a.apply(
            ChangeEvent(
                table: "transaction", role: .sale, op: .create, before: nil,
                after: {
                    var r = Row(key: .int(2))
                    r.amount = .value(Money.maxMagnitude)
                    return r
                }(), commitTimeMs: t0))
        #expect(a.refused == 1, "the second maximal order would pass the limit")
        a.apply(Shop.sale(.create, id: 3, after: 1, at: t0))
        #expect(a.refused == 1 && a.totals.txCount == 2)
        #expect(a.totals.revenue == Money.maxMagnitude + Money(cents: 1))
    }
}

@Suite("Commit times from the future")
struct FutureCommitTimeTests {
    let t0: Int64 = 1_700_000_020_000

    @Test(
        "a commit time beyond the clock limit counts in the totals, is dropped from the windows, and keeps the watermark"
    )
    func farFutureEventDoesNotEvictTheWindows() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.futureLimitMs = t0 + WindowedAggregator.futureToleranceMs
        a.apply(Shop.sale(.create, id: 1, after: 5997, at: t0))
        let windowsBefore = a.windowResults
        let watermark = a.watermarkMs
        a.apply(Shop.sale(.create, id: 2, after: 100, at: 253_402_300_799_999))  // year 9999: valid, but a clock error
        #expect(a.dropped == 1 && a.refused == 0)
        #expect(a.totals.txCount == 2 && a.totals.revenue == Money(cents: 6097))
        #expect(a.watermarkMs == watermark)
        #expect(a.windowResults == windowsBefore)
        a.apply(Shop.sale(.create, id: 3, after: 1, at: t0 + 1))  // later events still land in their window
        #expect(a.windowResults.first?.txCount == 2)
    }
}

@Suite("Parked line items are counted as they change")
struct ParkedCountTests {
    let t0: Int64 = 1_700_000_020_000

    @Test func parkedFollowsLineItemsAndCategories() {
        var a = WindowedAggregator(profile: Shop.profile)
        a.apply(Shop.line(.create, id: 1, product: 7, qty: 2, cents: 500, at: t0))
        a.apply(Shop.line(.create, id: 2, product: 7, qty: 1, cents: 300, at: t0 + 1))
        a.apply(Shop.line(.create, id: 3, product: 8, qty: 1, cents: 100, at: t0 + 2))
        #expect(a.parked.lineItems == 3 && a.parked.amount == Money(cents: 1400))
        a.apply(Shop.line(.delete, id: 2, product: 7, qty: 1, cents: 300, at: t0 + 3))
        #expect(a.parked.lineItems == 2 && a.parked.amount == Money(cents: 1100))
        a.apply(Shop.product(.create, id: 7, category: "toys", at: t0 + 4))
        #expect(a.parked.lineItems == 1 && a.parked.amount == Money(cents: 100))
        #expect(a.totals.categoryRevenue == ["toys": Money(cents: 1000)])
        a.apply(Shop.product(.update, id: 7, category: "games", at: t0 + 5))  // a move, not an un-parking
        #expect(a.parked.lineItems == 1)
        a.apply(Shop.product(.create, id: 8, category: "toys", at: t0 + 6))
        #expect(a.parked.lineItems == 0 && a.parked.amount.isZero)
    }
}

@Suite("Bounded memory under made-up table names")
struct TableCountTests {
    @Test func tablesBeyondTheCapAreCountedTogether() {
        var a = WindowedAggregator(profile: Shop.profile)
        for i in 0..<WindowedAggregator.maxTables + 500 { a.noteMalformed(table: "junk\(i)") }
        a.apply(Shop.sale(.create, id: 1, after: 100, at: 1_700_000_020_000))  // a profile table still gets its own row
        #expect(a.tables.count == WindowedAggregator.maxTables + 2)
        let other = a.tables.first { $0.table == WindowedAggregator.otherTables }
        #expect(other?.malformed == 500)
        #expect(a.tables.reduce(0) { $0 + $1.malformed } == Int64(WindowedAggregator.maxTables + 500))
        #expect(a.tables.contains { $0.table == "transaction" && $0.count(.create) == 1 })
    }
}

@Suite("Truncates do not use up the overflow guard")
struct TruncateVolumeTests {
    @Test("a table truncated a thousand times keeps counting (the guard grows with what is held, not doubling)")
    func manyTruncates() {
        var a = WindowedAggregator(profile: Shop.profile)
        let t0: Int64 = 1_700_000_020_000
        for round in 0..<1_000 {
            let t = t0 + Int64(round) * 10
            a.apply(Shop.sale(.create, id: Int64(round), after: 9_999_999, at: t))
            a.apply(Shop.line(.create, id: Int64(round), product: 1, qty: 3, cents: 999_999, at: t))
            a.apply(
                ChangeEvent(
                    table: "transaction", role: .sale, op: .truncate, before: nil, after: nil, commitTimeMs: t + 1))
            a.apply(
                ChangeEvent(
                    table: "transactiondetail", role: .lineItem, op: .truncate, before: nil, after: nil,
                    commitTimeMs: t + 1))
        }
        #expect(a.refused == 0)
        a.apply(Shop.sale(.create, id: 5_000, after: 100, at: t0 + 20_000))
        #expect(a.refused == 0 && a.totals.txCount == 1 && a.totals.revenue == Money(cents: 100))
    }
}
