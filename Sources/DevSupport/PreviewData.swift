import Metrics
import Pipeline

/// Deterministic synthetic snapshots (a function of time), shared by `cdctop-dev ui-preview` and the view tests.
package enum PreviewData {
    /// The profile the synthetic topics meet.
    package enum Variant: String, CaseIterable, Sendable {
        /// The built-in shop profile, implicit, on shop topics.
        case shop
        /// A model profile (profiles/northwind.toml's KPIs) on Northwind topics.
        case northwind
        /// The implicit shop default on topics of tables it does not know: no KPIs.
        case unknown
    }

    static let northwindCategories = [
        "Beverages", "Dairy Products", "Confections", "Meat/Poultry", "Seafood", "Condiments",
        "Grains/Cereals", "Produce",
    ]
    static let northwindTables: [(String, TableRole)] = [
        ("orders", .other), ("order_details", .other), ("products", .other),
        ("categories", .other), ("shippers", .other),
    ]
    static let unknownTables: [(String, TableRole)] = [
        ("accounts", .other), ("ledger_entries", .other), ("users", .other),
        ("audit_log", .other),
    ]
    static let categories = [
        "electronics", "books", "garden", "toys", "grocery", "fashion", "sports", "beauty",
        "home", "automotive", "music", "家電 (appliances)",
    ]
    static let tables: [(String, TableRole)] = [
        ("transaction", .sale), ("transactiondetail", .lineItem),
        ("product", .dimension), ("customer", .other),
    ]

    /// Snapshot of a shop that has been selling `rate` events/s since `startMs`, with 2 h of earlier windows.
    package static func snapshot(atMs now: Int64, startMs: Int64, rate: Int, sequence: UInt64, variant: Variant = .shop)
        -> RunSnapshot
    {
        let categories = variant == .northwind ? northwindCategories : self.categories
        let tables = variant == .northwind ? northwindTables : variant == .unknown ? unknownTables : self.tables
        let prefix = variant == .northwind ? "nw.public." : variant == .unknown ? "bank.public." : "shop.public."
        let windowMs: Int64 = 30_000
        let latestCommit = now - 400
        let currentStart = latestCommit - latestCommit % windowMs
        var windows: [WindowResult] = []
        var totals = TotalsResult()
        for i in stride(from: 239, through: 0, by: -1) {
            let start = currentStart - Int64(i) * windowMs
            // A smooth daily-ish wave plus a deterministic wobble per window.
            let phase = Double(start / windowMs % 120) / 120 * 6.283
            let wobble = Double((start / windowMs) * 7_919 % 97) / 97
            var scale = 0.6 + 0.3 * sinApprox(phase) + 0.25 * wobble
            if i == 0 { scale *= Double(latestCommit - start) / Double(windowMs) }
            let tx = Int64(Double(rate) / 6 * 30 * scale)
            var w = WindowResult(windowStartMs: start, txCount: tx, revenue: Money(cents: tx * 4_217))
            for (ci, c) in categories.enumerated() {
                let share = Int64(((ci * 37 + Int(start / windowMs)) % 11) + 12 - ci)
                if share > 0 { w.categoryRevenue[c] = Money(cents: tx * 40 * share / 10) }
            }
            totals.txCount += w.txCount
            totals.revenue += w.revenue
            for (c, m) in w.categoryRevenue { totals.categoryRevenue[c, default: .zero] += m }
            windows.append(w)
        }
        if variant == .unknown {
            // The shop profile finds no sale in tables it does not know: no windows, no totals.
            windows = []
            totals = TotalsResult()
        }
        let elapsed = max(1, (now - startMs) / 1_000)
        var result = KPIResult(
            windowMs: windowMs, messages: 120_000 + elapsed * Int64(rate), windows: windows, totals: totals,
            malformed: 3, dropped: 0)
        result.messages += 0
        var s = RunSnapshot(result: result)
        s.sequence = sequence
        s.takenAtMs = now
        s.kpis.profile.name = variant == .northwind ? "northwind" : "shop"
        s.kpis.profile.isImplicitDefault = variant != .northwind
        s.kpis.profile.isModel = variant == .northwind
        s.kpis.profile.profileTablesSeen = variant != .unknown
        s.kpis.profile.otherTablesSeen = variant != .shop
        s.kpis.maxCommitTimeMs = latestCommit
        s.kpis.watermarkMs = latestCommit - 10_000
        s.kpis.finalWindowStarts = Set(windows.dropLast(2).map(\.windowStartMs))
        s.kpis.lateCorrections = 17
        s.kpis.tombstones = 412
        s.kpis.eventsPerSecond = Double(rate) * (0.9 + 0.2 * Double(now / 1_000 % 7) / 7)
        s.kpis.bytesPerSecond = s.kpis.eventsPerSecond * 850
        s.kpis.txPerSecond = s.kpis.eventsPerSecond / 8
        s.consumer.kafka = ServiceStatus(.ok, "127.0.0.1:9092 (mock)")
        s.consumer.caughtUp = true
        for (i, (name, role)) in tables.enumerated() {
            var t = TableStats(table: name, role: role)
            let n = 1_000 + elapsed * Int64(rate) / Int64(4 + i)
            t.opCounts = [n, n / 3, n / 20, 5_000 / Int64(i + 1), 0, n / 20]
            t.malformed = name == "transactiondetail" ? 3 : 0
            t.lastCommitTimeMs = latestCommit - Int64(i) * 1_700
            t.eventsPerSecond = s.kpis.eventsPerSecond / Double(2 + i)
            s.diagnostics.tables.append(t)
            var recent: [RecentChange] = []
            for k in 0..<40 {
                let offset = n - 40 + Int64(k)
                let op: ChangeOp = k % 7 == 6 ? .delete : k % 3 == 0 ? .update : .create
                let key = String(10_000 + offset)
                let value = Array("\(name)|\(op.code)|\(key)|\(k)".utf8)
                var change = RecentChange(
                    position: EventPosition(topic: prefix + name, partition: Int32(k % 3), offset: offset),
                    op: op, key: key, commitTimeMs: latestCommit - Int64(40 - k) * 37, value: value)
                // As the engine hands them over: decoded for display.
                change.decoded = describe(value)
                recent.append(change)
            }
            s.diagnostics.recentChanges[name] = recent
        }
        s.diagnostics.recentMalformed = [
            MalformedRecord(
                position: EventPosition(topic: prefix + tables[1].0, partition: 1, offset: 5_123),
                reason: "decimal 'unit_price' has scale 12 (more than 9 places)")
        ]
        for (ti, (name, _)) in tables.enumerated() {
            for p in 0..<3 {
                let hw = 50_000 + elapsed * Int64(rate) / Int64(12 + ti + p)
                // transactiondetail[2] falls behind and stops: shows LAGGING then STALLED.
                let stalled = ti == 1 && p == 2
                let position =
                    stalled ? min(hw, 50_000 + min(elapsed, 20) * Int64(rate) / 15) : hw - Int64((ti + p) % 3) * 7
                s.consumer.partitions.append(
                    PartitionLag(
                        topic: prefix + name, partition: Int32(p), committed: position - 120,
                        position: position, highWatermark: hw,
                        lastCommitTimeMs: stalled ? startMs + min(elapsed, 20) * 1_000 : latestCommit,
                        reachedEnd: !stalled))
            }
        }
        s.kpis.parkedLineItems = 2
        s.kpis.parkedRevenue = Money(cents: 2_998)
        s.kpis.duplicates = 4
        s.kpis.unmatched = 6
        s.kpis.ignored = 120
        var state = StateStatus(directory: ".cdctop/state")
        state.lastCheckpointMs = now - 3_000
        state.checkpoints = elapsed / 5
        s.state = state
        if variant == .northwind {
            s.kpis.parkedLineItems = 12
            s.kpis.unmatched = 9
            s.kpis.profile.placeholderDeletes = 5
            s.kpis.profile.keyCollisions = 2
            addNorthwindKPIs(&s)
        }
        return s
    }

    /// profiles/northwind.toml's KPIs, compiled as `--profile` does; their values follow the synthetic
    /// windows (transactions, revenue and category_sales are the built-in figures, as the engine fills them).
    static let northwindKPIs: [KPIColumns] = {
        let sources: [(String, String, Bool)] = [
            ("transactions", "select count(*) from orders", true),
            ("revenue", "select sum(d.unit_price * d.quantity * (1 - d.discount)) from order_details d", true),
            (
                "category_sales",
                "select c.category_name, sum(d.unit_price * d.quantity * (1 - d.discount)) from order_details d "
                    + "join products p on p.product_id = d.product_id join categories c on c.category_id = p.category_id group by c.category_name",
                true
            ),
            ("units", "select sum(quantity) from order_details", true),
            (
                "discounted_lines",
                "select c.category_name, count(*), sum(d.quantity) from order_details d "
                    + "join products p on p.product_id = d.product_id join categories c on c.category_id = p.category_id "
                    + "where d.discount > 0 group by c.category_name", true
            ),
            (
                "orders_by_country", "select ship_country, count(*), avg(freight) from orders group by ship_country",
                false
            ),
            (
                "freight_by_shipper",
                "select s.company_name, count(*), sum(o.freight), avg(o.freight) from orders o "
                    + "left join shippers s on s.shipper_id = o.ship_via group by s.company_name", false
            ),
            ("open_orders", "select count(*) from orders where shipped_date is null", false),
        ]
        let kpis = sources.enumerated().map { KPISource(name: $1.0, sql: $1.1, line: $0 + 1, windowed: $1.2) }
        let tables = [TableOptions(name: "order_details", keyColumns: ["order_id", "product_id"])]
        guard let model = try? KPIModel.compile(kpis: kpis, tables: tables, file: "northwind.toml") else { return [] }
        return model.kpis.map { KPIColumns($0, nullLabel: "(none)") }
    }()

    static let countries = [
        "USA", "Germany", "Brazil", "France", "UK", "Venezuela", "Austria", "Sweden", "Canada", "Mexico",
        "Italy", "Spain", "Finland", "Ireland", "Belgium", "Denmark", "Switzerland", "Argentina", "Portugal",
        "Poland", "Norway",
    ]

    static func addNorthwindKPIs(_ s: inout RunSnapshot) {
        let columns = northwindKPIs
        s.kpis.result.kpiColumns = columns
        func accum(_ k: Int, rows: Int64, sums: [Money] = [], counts: [Int64] = []) -> KPIAccum {
            var a = KPIAccum(aggregates: columns[k].aggregateNames.count)
            a.rows = rows
            for i in a.sums.indices {
                a.sums[i] = i < sums.count ? ExactDecimal(sums[i]) : .zero
                a.counts[i] = i < counts.count ? counts[i] : rows
            }
            return a
        }
        func text(_ name: String) -> [Metrics.Cell] { [.text(name)] }
        // Windowed KPIs from a window's (or the totals') built-in figures.
        func windowed(tx: Int64, revenue: Money, categories: [String: Money]) -> [KPIValues] {
            var values = [KPIValues](repeating: KPIValues(), count: columns.count)
            values[0].groups[[]] = accum(0, rows: tx)
            values[1].groups[[]] = accum(1, rows: tx * 3, sums: [revenue])
            for (c, m) in categories { values[2].groups[text(c)] = accum(2, rows: tx / 3, sums: [m]) }
            values[3].groups[[]] = accum(3, rows: tx * 3, sums: [Money(whole: tx * 23 / 2)])
            for (i, c) in categories.keys.sorted().enumerated() where i % 3 != 2 {
                let lines = tx / Int64(5 + i)
                values[4].groups[text(c)] = accum(
                    4, rows: lines, sums: [.zero, Money(whole: lines * 9)], counts: [lines, lines])
            }
            return values
        }
        for i in s.kpis.result.windows.indices {
            let w = s.kpis.result.windows[i]
            s.kpis.result.windows[i].kpis = windowed(tx: w.txCount, revenue: w.revenue, categories: w.categoryRevenue)
        }
        let t = s.kpis.result.totals
        var totals = windowed(tx: t.txCount, revenue: t.revenue, categories: t.categoryRevenue)
        totals[2].unresolvedRows = 12
        for (i, country) in countries.enumerated() {
            let n = t.txCount / Int64(4 + i * 3)
            // avg(freight): sum and count, divided when shown.
            totals[5].groups[text(country)] = accum(
                5, rows: n, sums: [.zero, Money(cents: n * Int64(4_100 + i * 1_337))], counts: [n, n])
        }
        let shippers = ["Federal Shipping", "United Package", "Speedy Express"]
        for (i, name) in shippers.enumerated() {
            let n = t.txCount / Int64(3 + i)
            let freight = Money(cents: n * Int64(7_823 - i * 1_111))
            totals[6].groups[text(name)] = accum(6, rows: n, sums: [.zero, freight, freight], counts: [n, n, n])
        }
        totals[6].groups[[.null]] = accum(
            6, rows: 21, sums: [.zero, Money(cents: 1_254), Money(cents: 1_254)], counts: [21, 21, 21])
        totals[7].groups[[]] = accum(7, rows: 37)
        s.kpis.result.totals.kpis = totals
    }

    /// A sine good enough for animation, without Foundation.
    static func sinApprox(_ x: Double) -> Double {
        var t = x.truncatingRemainder(dividingBy: 6.283185307)
        if t > 3.14159265 { t -= 6.283185307 }
        return t - t * t * t / 6 + t * t * t * t * t / 120 - t * t * t * t * t * t * t / 5_040
    }

    /// The preview's made-up values (`table|op|key|n`) as before/after images.
    static func describe(_ bytes: [UInt8]) -> ChangeDescription? {
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "|").map(String.init)
        guard parts.count == 4, let op = ChangeOp(code: parts[1].utf8.first ?? 0), let k = Int(parts[3]) else {
            return nil
        }
        let id = ChangeDescription.Field(name: "id", value: parts[2])
        let old = [
            id, .init(name: "status", value: "new"), .init(name: "amount", value: "\(40 + k).00"),
            .init(name: "customer_id", value: "\(700 + k)"), .init(name: "note", value: "gift wrap"),
        ]
        var new = old
        new[1].value = k % 2 == 0 ? "paid" : "shipped"
        new[2].value = "\(41 + k).50"
        switch op {
        case .create, .read: return ChangeDescription(op: op, table: parts[0], commitTimeMs: 0, before: nil, after: old)
        case .delete: return ChangeDescription(op: op, table: parts[0], commitTimeMs: 0, before: old, after: nil)
        default: return ChangeDescription(op: op, table: parts[0], commitTimeMs: 0, before: old, after: new)
        }
    }

    package static func history(nowMs: Int64) -> HistoryData {
        let day: Int64 = 86_400_000
        let days = (1...14).reversed().map { back -> DayFigure in
            let t = nowMs - Int64(back) * day
            let tx = Int64(40_000 + (back * 7_919) % 9_000 + (back % 7 == 0 ? -15_000 : 0))
            var cats: [String: Money] = [:]
            for (i, c) in categories.enumerated() { cats[c] = Money(cents: tx * Int64(300 - i * 20)) }
            return DayFigure(
                day: TimeText.date(ms: t), txCount: tx, revenue: Money(cents: tx * 4_217), categoryRevenue: cats)
        }
        return HistoryData(days: days, loadedAtMs: nowMs)
    }

    package static func reconciliation(_ s: RunSnapshot?, nowMs: Int64) -> Reconciliation {
        let tx = s?.kpis.result.totals.txCount ?? 0
        let revenue = s?.kpis.result.totals.revenue ?? .zero
        return Reconciliation(
            verdict: .agree, engineTxCount: tx, sourceTxCount: tx, engineRevenue: revenue, sourceRevenue: revenue,
            sinceMs: nowMs - 95_000, checkedAtMs: nowMs - 4_000, lagAtCheck: 0, detail: "source: shop @ 127.0.0.1:5432")
    }
}
