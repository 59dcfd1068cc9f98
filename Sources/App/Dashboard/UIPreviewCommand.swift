import ArgumentParser
import Metrics
import Pipeline
import Synchronization

/// Hidden `cdctop ui-preview`: the dashboard on synthetic, animated snapshots, to look at the UI without Kafka.
struct UIPreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui-preview",
        abstract: "Show the dashboard on synthetic data (for developing the UI).",
        shouldDisplay: false)

    @Option(help: "Colour theme: a file name in themes/ without .theme (dark, light, high-contrast, mono).")
    var theme = "dark"

    @Option(help: "Write logs (and anything printed to stderr) to this file while the dashboard runs.")
    var log: String?

    @Option(help: "Folder of .theme files.")
    var themesDir: String?

    @Option(help: "Synthetic events per second.")
    var rate = 2_000

    @Flag(help: "Show a fake warehouse with 14 days of history and a reconciliation.")
    var warehouse = false

    func run() throws {
        let latest = Latest<KPISnapshot>()
        let mirrorOn = Atomic<Bool>(true)
        let stop = Atomic<Bool>(false)
        let rate = self.rate
        let startMs = WallClock.nowMs()
        latest.publish(PreviewData.snapshot(atMs: startMs, startMs: startMs, rate: rate, sequence: 1))
        let producer = Task.detached {
            var sequence: UInt64 = 1
            while !stop.load(ordering: .relaxed) {
                try? await Task.sleep(for: .milliseconds(250))
                sequence += 1
                latest.publish(PreviewData.snapshot(atMs: WallClock.nowMs(), startMs: startMs, rate: rate, sequence: sequence))
            }
        }
        defer { stop.store(true, ordering: .relaxed); producer.cancel() }
        var sources = DashboardSources(snapshot: { latest.value })
        sources.title = "ui-preview (synthetic data)"
        sources.redisStatus = { mirrorOn.load(ordering: .relaxed) ? ServiceStatus(.ok, "127.0.0.1:6379") : ServiceStatus(.paused, "toggled off") }
        sources.toggleRedis = { _ = mirrorOn.logicalXor(true, ordering: .relaxed) }
        sources.describeChange = PreviewData.describe
        if warehouse {
            sources.warehouseStatus = { ServiceStatus(.ok, "postgresql://127.0.0.1/cdctop") }
            sources.history = { PreviewData.history(nowMs: startMs) }
            sources.reconciliation = { PreviewData.reconciliation(latest.value, nowMs: startMs) }
            sources.reloadHistory = {}
        }
        try Dashboard.run(sources: sources, options: DashboardOptions(themeName: theme, logPath: log, themesDirectory: themesDir))
    }
}

/// Deterministic synthetic snapshots (a function of time), shared by ui-preview and the tests.
enum PreviewData {
    static let categories = ["electronics", "books", "garden", "toys", "grocery", "fashion", "sports", "beauty",
                             "home", "automotive", "music", "家電 (appliances)"]
    static let tables: [(String, TableRole)] = [("transaction", .sale), ("transactiondetail", .lineItem),
                                                ("product", .dimension), ("customer", .other)]

    /// Snapshot of a shop that has been selling `rate` events/s since `startMs`, with 2 h of earlier windows.
    static func snapshot(atMs now: Int64, startMs: Int64, rate: Int, sequence: UInt64) -> KPISnapshot {
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
        let elapsed = max(1, (now - startMs) / 1_000)
        var result = KPIResult(windowMs: windowMs, messages: 120_000 + elapsed * Int64(rate), windows: windows, totals: totals,
                               malformed: 3, dropped: 0)
        result.messages += 0
        var s = KPISnapshot(result: result)
        s.sequence = sequence
        s.takenAtMs = now
        s.profileName = "shop"
        s.maxCommitTimeMs = latestCommit
        s.watermarkMs = latestCommit - 10_000
        s.finalWindowStarts = Set(windows.dropLast(2).map(\.windowStartMs))
        s.lateCorrections = 17
        s.tombstones = 412
        s.eventsPerSecond = Double(rate) * (0.9 + 0.2 * Double(now / 1_000 % 7) / 7)
        s.bytesPerSecond = s.eventsPerSecond * 850
        s.txPerSecond = s.eventsPerSecond / 8
        s.kafka = ServiceStatus(.ok, "127.0.0.1:9092 (mock)")
        s.caughtUp = true
        for (i, (name, role)) in tables.enumerated() {
            var t = TableStats(table: name, role: role)
            let n = 1_000 + elapsed * Int64(rate) / Int64(4 + i)
            t.opCounts = [n, n / 3, n / 20, 5_000 / Int64(i + 1), 0, n / 20]
            t.malformed = name == "transactiondetail" ? 3 : 0
            t.lastCommitTimeMs = latestCommit - Int64(i) * 1_700
            t.eventsPerSecond = s.eventsPerSecond / Double(2 + i)
            s.tables.append(t)
            var recent: [RecentChange] = []
            for k in 0..<40 {
                let offset = n - 40 + Int64(k)
                let op: ChangeOp = k % 7 == 6 ? .delete : k % 3 == 0 ? .update : .create
                let key = String(10_000 + offset)
                let value = Array("\(name)|\(op.code)|\(key)|\(k)".utf8)
                recent.append(RecentChange(position: EventPosition(topic: "shop.public.\(name)", partition: Int32(k % 3), offset: offset),
                                           op: op, key: key, commitTimeMs: latestCommit - Int64(40 - k) * 37, value: value))
            }
            s.recentChanges[name] = recent
        }
        s.recentMalformed = [MalformedRecord(position: EventPosition(topic: "shop.public.transactiondetail", partition: 1, offset: 5_123),
                                             reason: "decimal 'unit_price' has scale 12 (more than 9 places)")]
        for (ti, (name, _)) in tables.enumerated() {
            for p in 0..<3 {
                let hw = 50_000 + elapsed * Int64(rate) / Int64(12 + ti + p)
                // transactiondetail[2] falls behind and stops: shows LAGGING then STALLED.
                let stalled = ti == 1 && p == 2
                let position = stalled ? min(hw, 50_000 + min(elapsed, 20) * Int64(rate) / 15) : hw - Int64((ti + p) % 3) * 7
                s.partitions.append(PartitionLag(topic: "shop.public.\(name)", partition: Int32(p), committed: position - 120,
                                                 position: position, highWatermark: hw,
                                                 lastCommitTimeMs: stalled ? startMs + min(elapsed, 20) * 1_000 : latestCommit,
                                                 reachedEnd: !stalled))
            }
        }
        s.parkedLineItems = 2
        s.parkedRevenue = Money(cents: 2_998)
        s.duplicates = 4
        s.unmatched = 6
        s.ignored = 120
        var state = StateStatus(directory: ".cdctop/state")
        state.lastCheckpointMs = now - 3_000
        state.checkpoints = elapsed / 5
        s.state = state
        return s
    }

    /// A sine good enough for animation, without Foundation.
    static func sinApprox(_ x: Double) -> Double {
        var t = x.truncatingRemainder(dividingBy: 6.283185307)
        if t > 3.14159265 { t -= 6.283185307 }
        return t - t * t * t / 6 + t * t * t * t * t / 120 - t * t * t * t * t * t * t / 5_040
    }

    static let describe: @Sendable ([UInt8]) -> ChangeDescription? = { bytes in
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "|").map(String.init)
        guard parts.count == 4, let op = ChangeOp(code: parts[1].utf8.first ?? 0), let k = Int(parts[3]) else { return nil }
        let id = ChangeDescription.Field(name: "id", value: parts[2])
        let old = [id, .init(name: "status", value: "new"), .init(name: "amount", value: "\(40 + k).00"),
                   .init(name: "customer_id", value: "\(700 + k)"), .init(name: "note", value: "gift wrap")]
        var new = old
        new[1].value = k % 2 == 0 ? "paid" : "shipped"
        new[2].value = "\(41 + k).50"
        switch op {
        case .create, .read: return ChangeDescription(op: op, table: parts[0], commitTimeMs: 0, before: nil, after: old)
        case .delete: return ChangeDescription(op: op, table: parts[0], commitTimeMs: 0, before: old, after: nil)
        default: return ChangeDescription(op: op, table: parts[0], commitTimeMs: 0, before: old, after: new)
        }
    }

    static func history(nowMs: Int64) -> HistoryData {
        let day: Int64 = 86_400_000
        let days = (1...14).reversed().map { back -> DayFigure in
            let t = nowMs - Int64(back) * day
            let tx = Int64(40_000 + (back * 7_919) % 9_000 + (back % 7 == 0 ? -15_000 : 0))
            var cats: [String: Money] = [:]
            for (i, c) in categories.enumerated() { cats[c] = Money(cents: tx * Int64(300 - i * 20)) }
            return DayFigure(day: HistoryView.dayString(t), txCount: tx, revenue: Money(cents: tx * 4_217), categoryRevenue: cats)
        }
        return HistoryData(days: days, loadedAtMs: nowMs)
    }

    static func reconciliation(_ s: KPISnapshot?, nowMs: Int64) -> Reconciliation {
        let tx = s?.result.totals.txCount ?? 0
        let revenue = s?.result.totals.revenue ?? .zero
        return Reconciliation(verdict: .agree, engineTxCount: tx, sourceTxCount: tx, engineRevenue: revenue, sourceRevenue: revenue,
                              sinceMs: nowMs - 95_000, checkedAtMs: nowMs - 4_000, lagAtCheck: 0, detail: "source: shop @ 127.0.0.1:5432")
    }
}
