import Metrics
import Testing

@testable import App

#if canImport(Glibc)
    import Glibc
#endif

/// The trend rollups (TrendHistory) against an independent model that keeps every second it was fed,
/// the charts' axes, and the Trends view's golden screens.
@Suite struct TrendHistoryTests {
    /// A deterministic generator (the test must not depend on the run).
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int64) -> Int64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((state >> 33) % UInt64(bound))
        }
    }

    /// One fed second, as the independent model keeps it.
    struct Fed {
        var atMs: Int64
        var events: Int64
        var coveredMs: Int64
        var lag: Int64
        var lagMs: Int64
        var freshnessMs: Int64
    }

    /// Feeds `seconds` samples (some seconds skipped, times jittered inside their second) to a TrendTiers
    /// and to a plain list; returns both and the last time.
    static func feed(seconds: Int, seed: UInt64, startMs: Int64 = 1_763_899_200_000 - 3 * 86_400_000) -> (
        TrendTiers, [Fed], Int64
    ) {
        var tiers = TrendTiers()
        var fed: [Fed] = []
        var g = Generator(state: seed)
        var count: Int64 = 1_000
        var previous: (count: Int64, atMs: Int64)?
        var t = startMs
        for _ in 0..<seconds {
            t = (t / 1_000 + 1 + (g.next(10) == 0 ? g.next(30) : 0)) * 1_000 + g.next(1_000)
            count += g.next(500)
            let lag = g.next(7) == 0 ? -1 : g.next(100_000)
            let lagMs = g.next(60_000)
            let freshnessMs = g.next(5) == 0 ? -1 : g.next(600_000)
            tiers.record(count: count, atMs: t, lag: lag, lagMs: lagMs, freshnessMs: freshnessMs)
            fed.append(
                Fed(
                    atMs: t, events: previous.map { count - $0.count } ?? 0,
                    coveredMs: previous.map { t - $0.atMs } ?? 0,
                    lag: lag, lagMs: lagMs, freshnessMs: freshnessMs))
            previous = (count, t)
        }
        return (tiers, fed, t)
    }

    @Test(arguments: TrendSpan.allCases)
    func everyBucketEqualsTheSecondsFedIntoIt(_ span: TrendSpan) {
        // Two days and a bit of seconds: every ring wraps around more than once.
        let (tiers, fed, now) = Self.feed(seconds: 200_000, seed: 42 + UInt64(span.rawValue))
        let ring = tiers.rings[span.rawValue]
        #expect(ring.buckets.count == span.bucketCount, "the ring grew: memory must stay fixed")
        let window = ring.window(endingAt: now)
        #expect(window.count == span.bucketCount)
        let lastStart = now - now % span.bucketMs
        let firstStart = lastStart - Int64(span.bucketCount - 1) * span.bucketMs
        var sampled = 0
        for (i, bucket) in window.enumerated() {
            let start = firstStart + Int64(i) * span.bucketMs
            let inside = fed.filter { $0.atMs >= start && $0.atMs < start + span.bucketMs }
            if inside.isEmpty {
                #expect(bucket.isEmpty, "bucket \(i) of \(span) holds samples none were fed for")
                continue
            }
            sampled += 1
            #expect(bucket.startMs == start)
            #expect(Int(bucket.samples) == inside.count)
            #expect(bucket.events == inside.reduce(0) { $0 + $1.events })
            #expect(bucket.coveredMs == inside.reduce(0) { $0 + $1.coveredMs })
            #expect(bucket.lagMax == inside.map(\.lag).max()!)
            #expect(bucket.lagMsMax == inside.map(\.lagMs).max()!)
            #expect(bucket.freshnessMsMax == inside.map(\.freshnessMs).max()!)
        }
        #expect(sampled > span.bucketCount / 4, "too few buckets held data for the test to mean much")
        // The ring's whole window holds exactly the events fed in its time: nothing lost, nothing counted twice.
        let fedInWindow = fed.filter { $0.atMs >= firstStart }.reduce(Int64(0)) { $0 + $1.events }
        #expect(window.reduce(Int64(0)) { $0 + $1.events } == fedInWindow)
    }

    @Test func bucketBoundariesAreMultiplesOfTheBucketSize() {
        var tiers = TrendTiers()
        let base: Int64 = 1_763_899_200_000  // a multiple of 5 minutes
        tiers.record(count: 0, atMs: base - 1, lag: 1, lagMs: 0, freshnessMs: 0)
        tiers.record(count: 10, atMs: base, lag: 2, lagMs: 0, freshnessMs: 0)
        tiers.record(count: 30, atMs: base + 9_999, lag: 3, lagMs: 0, freshnessMs: 0)
        tiers.record(count: 60, atMs: base + 10_000, lag: 4, lagMs: 0, freshnessMs: 0)
        let tenSeconds = tiers.rings[TrendSpan.hour.rawValue]
        #expect(tenSeconds.bucket(startingAt: base - 10_000).lagMax == 1)
        #expect(tenSeconds.bucket(startingAt: base).samples == 2)
        #expect(tenSeconds.bucket(startingAt: base).events == 30)
        #expect(tenSeconds.bucket(startingAt: base).lagMax == 3)
        #expect(tenSeconds.bucket(startingAt: base + 10_000).events == 30)
        let fiveMinutes = tiers.rings[TrendSpan.day.rawValue]
        #expect(fiveMinutes.bucket(startingAt: base - 300_000).samples == 1)
        #expect(fiveMinutes.bucket(startingAt: base).samples == 3)
        #expect(fiveMinutes.bucket(startingAt: base).events == 60)
        #expect(fiveMinutes.bucket(startingAt: base).coveredMs == 10_001)
        // The rate is exact: 60 events over 10.001 s.
        #expect(fiveMinutes.bucket(startingAt: base).eventsPerSecond == 60.0 * 1_000 / 10_001)
    }

    @Test func wrapAroundForgetsTheOldestBucketsOnly() {
        var ring = TrendRing(bucketMs: 1_000, count: 5)
        func second(_ s: Int64, events: Int64) -> TrendSecond {
            TrendSecond(atMs: s * 1_000, events: events, coveredMs: 1_000, lag: 0, lagMs: 0, freshnessMs: 0)
        }
        for s in Int64(100)..<108 { ring.fold(second(s, events: s)) }
        #expect(ring.buckets.count == 5)
        #expect(ring.window(endingAt: 107_500).map(\.events) == [103, 104, 105, 106, 107])
        #expect(ring.bucket(startingAt: 102_000).isEmpty, "an overwritten slot must not answer for its old second")
        // A gap: seconds 108-109 not sampled, then 110; the window shows the gap as empty.
        ring.fold(second(110, events: 1))
        let window = ring.window(endingAt: 110_000)
        #expect(window.map(\.isEmpty) == [false, false, true, true, false])
        #expect(window.map(\.events) == [106, 107, 0, 0, 1])
        // Long after: everything reads empty, nothing stale is shown.
        let later = ring.window(endingAt: 200_000)
        #expect(later.filter { !$0.isEmpty }.isEmpty)
    }

    @Test func aCountThatGoesDownStartsCountingAgain() {
        var tiers = TrendTiers()
        tiers.record(count: 500, atMs: 1_000, lag: 0, lagMs: 0, freshnessMs: 0)
        tiers.record(count: 520, atMs: 2_000, lag: 0, lagMs: 0, freshnessMs: 0)
        tiers.record(count: 5, atMs: 3_000, lag: 0, lagMs: 0, freshnessMs: 0)
        tiers.record(count: 15, atMs: 4_000, lag: 0, lagMs: 0, freshnessMs: 0)
        let ring = tiers.rings[0]
        #expect(ring.bucket(startingAt: 1_000).coveredMs == 0, "the first sample has nothing to count from")
        #expect(ring.bucket(startingAt: 2_000).events == 20)
        #expect(ring.bucket(startingAt: 3_000).events == 0 && ring.bucket(startingAt: 3_000).coveredMs == 0)
        #expect(ring.bucket(startingAt: 4_000).events == 10)
    }

    /// A snapshot of two tables on three partitions, with lag on the transaction topic only.
    static func snapshot(atMs t: Int64, messages: Int64, lag: Int64, kafka: ServiceStatus.State = .ok) -> RunSnapshot {
        var s = RunSnapshot(result: KPIResult(windowMs: 30_000, messages: messages))
        s.consumer.kafka = ServiceStatus(kafka)
        s.kpis.maxCommitTimeMs = t - 2_000
        var tx = TableStats(table: "transaction", role: .sale)
        tx.opCounts[0] = messages * 3 / 4
        tx.lastCommitTimeMs = t - 2_000
        var customer = TableStats(table: "customer", role: .other)
        customer.opCounts[0] = messages - messages * 3 / 4
        customer.lastCommitTimeMs = t - 40_000
        s.diagnostics.tables = [tx, customer]
        s.consumer.partitions = [
            PartitionLag(
                topic: "shop.public.transaction", partition: 0, position: 1_000, highWatermark: 1_000 + lag,
                lastCommitTimeMs: t - 7_000),
            PartitionLag(
                topic: "shop.public.transaction", partition: 1, position: 1_000, highWatermark: 1_000 + lag / 2,
                lastCommitTimeMs: t - 3_000),
            PartitionLag(
                topic: "shop.public.customer", partition: 0, position: 50, highWatermark: 50,
                lastCommitTimeMs: t - 40_000),
        ]
        return s
    }

    @Test func snapshotsAreSampledOncePerSecondPerPipelineAndTable() {
        var history = TrendHistory()
        let t0: Int64 = 1_763_899_200_000
        history.record(Self.snapshot(atMs: t0, messages: 1_000, lag: 40), atMs: t0)
        // A second snapshot in the same second is not a second sample.
        history.record(Self.snapshot(atMs: t0 + 500, messages: 1_100, lag: 4_000), atMs: t0 + 500)
        history.record(Self.snapshot(atMs: t0 + 1_000, messages: 1_400, lag: 60), atMs: t0 + 1_000)
        history.record(Self.snapshot(atMs: t0 + 2_000, messages: 1_400, lag: 0, kafka: .error), atMs: t0 + 2_000)
        let pipeline = history.series(nil)!.rings[0]
        #expect(pipeline.bucket(startingAt: t0).samples == 1)
        #expect(pipeline.bucket(startingAt: t0).lagMax == 60)
        #expect(pipeline.bucket(startingAt: t0 + 1_000).events == 400)
        #expect(pipeline.bucket(startingAt: t0 + 1_000).eventsPerSecond == 400)
        #expect(pipeline.bucket(startingAt: t0 + 1_000).lagMax == 90)
        #expect(pipeline.bucket(startingAt: t0 + 1_000).lagMsMax == 7_000, "lag in time: the oldest unread commit")
        #expect(pipeline.bucket(startingAt: t0 + 1_000).freshnessMsMax == 2_000)
        #expect(pipeline.bucket(startingAt: t0 + 2_000).lagMax == -1, "Kafka in error: the lag is unknown, not 0")
        let transaction = history.series("transaction")!.rings[0]
        #expect(transaction.bucket(startingAt: t0 + 1_000).events == 1_050 - 750)
        #expect(transaction.bucket(startingAt: t0 + 1_000).lagMax == 90)
        let customer = history.series("customer")!.rings[0]
        #expect(customer.bucket(startingAt: t0 + 1_000).events == 350 - 250)
        #expect(customer.bucket(startingAt: t0 + 1_000).lagMax == 0)
        #expect(customer.bucket(startingAt: t0 + 1_000).lagMsMax == 0, "no lag: no lag in time either")
        #expect(customer.bucket(startingAt: t0 + 1_000).freshnessMsMax == 40_000)
        #expect(history.series("nope") == nil)
        // The Lag view's small charts read the same seconds.
        #expect(history.samples.map(\.lag) == [60, 90, -1])
    }

    // MARK: axes

    @Test func niceScalesAreRoundAndNeverBelowTheValue() {
        for v in [0.3, 1, 3, 9.5, 10, 11, 240, 999, 1_001, 73_000, 4.2e6] {
            let top = Widgets.niceTop(v)
            #expect(top >= v && top <= v * 2, "\(v) → \(top)")
            let mantissa = top / pow(10, floor(log10(top)))
            #expect(
                [1, 2, 3, 4, 5, 6, 8].contains { abs($0 - mantissa) < 1e-9 },
                "\(v) → \(top) is not 1, 2, 3, 4, 5, 6 or 8 × 10^k")
        }
        #expect(Widgets.niceSeconds(0.4) == 1 && Widgets.niceSeconds(45) == 60 && Widgets.niceSeconds(3_700) == 7_200)
        #expect(
            Format.axisSeconds(30) == "30s" && Format.axisSeconds(600) == "10m" && Format.axisSeconds(7_200) == "2h")
        #expect(Format.axisSeconds(2.5) == "2.5s" && Format.axisSeconds(86_400 * 3) == "3d")
    }

    @Test(arguments: [14, 20, 27, 40, 80, 190])
    func axisLabelsNeverTouch(_ width: Int) {
        var b = ScreenBuffer(width: width, height: 6)
        let values: [Double?] = (0..<300).map { $0 % 17 == 0 ? nil : Double($0 % 50) }
        Widgets.axisChart(
            &b, Rect(x: 0, y: 0, width: width, height: 6), values: values, top: 50, glyphs: .unicode,
            yLabel: { Format.short($0) + "/s" }, xLabel: { Format.clock(1_763_899_200_000 + Int64($0) * 1_000) })
        let axis = b.line(5)
        // Every label drawn whole, and two cells or more apart.
        let words = axis.split(separator: " ", omittingEmptySubsequences: true)
        #expect(!words.isEmpty, "no time label at width \(width)")
        for w in words {
            #expect(
                w.count == 8 && w.filter { $0 == ":" }.count == 2,
                "a cut or merged label '\(w)' at width \(width): '\(axis)'")
        }
        #expect(!axis.contains { $0 != " " && $0 != ":" && !$0.isNumber })
        #expect(b.line(0).hasPrefix("50/s"), "the top of the y axis: '\(b.line(0))'")
        #expect(b.line(4).hasPrefix(" 0/s│"), "0 at the bottom: '\(b.line(4))'")
        if width >= 40 {
            #expect(words.count == 3, "at \(width) the first, middle and last times fit: '\(axis)'")
            #expect(b.line(2).contains("25/s"), "the middle of the y axis: '\(b.line(2))'")
        }
        #expect(
            words.last.map(String.init) == Format.clock(1_763_899_200_000 + 299_000),
            "the newest column's time ends the axis")
    }

    @Test func historyScaleClipsOneHugeDayAndSaysSo() {
        let days: [Double] = Array(repeating: 100_000, count: 29) + [110_000, 4_000_000]
        let scale = HistoryView.chartScale(days)
        #expect(scale.clipped && scale.top >= 300_000 && scale.top < 4_000_000)
        let even = HistoryView.chartScale([100, 120, 90, 130])
        #expect(!even.clipped && even.top == 200)
        var b = ScreenBuffer(width: 60, height: 6)
        Widgets.axisChart(
            &b, Rect(x: 0, y: 0, width: 60, height: 6), values: days, top: scale.top, glyphs: .unicode,
            yLabel: Format.short, xLabel: { $0 == days.count - 1 ? "today" : "11-\(Format.pad2(Int64($0 + 1)))" })
        #expect(b.line(0).contains("▲"), "the clipped day is marked: '\(b.line(0))'")
        #expect(b.line(0).filter { $0 == "▲" }.count == 1)
        #expect(b.line(5).hasSuffix("today") && b.line(5).contains("11-01"), "dates under the chart: '\(b.line(5))'")
    }

    // MARK: golden screens

    /// Two hours of one-second samples ending at the fixture's instant: a rate that swells and ebbs,
    /// a lag spike 3 minutes ago that drains, a quiet minute 40 minutes ago.
    static let goldenTrends: TrendHistory = {
        var history = TrendHistory()
        var messages: Int64 = 5_000_000
        for i in stride(from: 7_200, through: 0, by: -1) {
            let t = Fixture.nowMs - Int64(i) * 1_000
            let quiet = (2_400...2_460).contains(i)
            messages += quiet ? 0 : 60 + Int64((i * 37) % 50) + (i % 600 < 300 ? Int64(i % 300) / 5 : 0)
            let lag: Int64 =
                (120...180).contains(i) ? Int64(180 - i) * 400 : (0...119).contains(i) ? max(0, Int64(i - 60) * 300) : 3
            var s = snapshot(atMs: t, messages: messages, lag: lag)
            s.kpis.maxCommitTimeMs = t - (quiet ? Int64(2_460 - i) * 1_000 + 500 : 500)
            history.record(s, atMs: t)
        }
        return history
    }()

    static let goldenCases: [(name: String, keys: [Key], width: Int, height: Int)] = [
        ("trends-80x24", [.char("0")], 80, 24),
        ("trends-60x16", [.char("0")], 60, 16),
        ("trends-hour-80x24", [.char("0"), .char("w")], 80, 24),
        ("trends-day-table-60x16", [.char("0"), .char("w"), .char("w"), .down, .down, .down], 60, 16),
        ("trends-200x60", [.char("0"), .down], 200, 60),
        ("trends-ascii-80x24", [.char("0")], 80, 24),
    ]

    @Test(arguments: goldenCases.map(\.name))
    func trendsViewMatchesGolden(_ name: String) {
        let c = Self.goldenCases.first { $0.name == name }!
        var frame = Fixture.frame(glyphs: name.contains("ascii") ? .ascii : .unicode)
        frame.trends = Self.goldenTrends
        var model = DashboardModel()
        Fixture.press(c.keys, on: &model, frame: frame, width: c.width, height: c.height)
        let screen = Fixture.render(model, frame, width: c.width, height: c.height).0.text
        let mismatch = GoldenScreens.mismatch(name, screen)
        #expect(mismatch == nil, "\(mismatch ?? "")")
    }

    /// The day span crosses midnight: the newest column's time label carries the date (`11-23 12:00`,
    /// month-day as History writes days) at every size, the oldest column's time before it; the 5-minute
    /// span's do not need it.
    @Test func theDaySpanLabelsItsTimesWithTheDate() {
        var frame = Fixture.frame()
        frame.trends = Self.goldenTrends
        for (w, h) in [(60, 16), (80, 24), (200, 60)] {
            var model = DashboardModel()
            Fixture.press([.char("0"), .char("w"), .char("w")], on: &model, frame: frame, width: w, height: h)
            let screen = Fixture.render(model, frame, width: w, height: h).0.text
            #expect(screen.contains("last 1 day"), "\(w)x\(h)\n\(screen)")
            // Fixture.nowMs is 2025-11-23 12:00 UTC: the newest column's label is that day's.
            #expect(
                screen.range(of: #"11-23 [0-2][0-9]:[0-5][0-9]"#, options: .regularExpression) != nil,
                "\(w)x\(h)\n\(screen)")
            // And the oldest column's time, before it (the day before).
            #expect(
                screen.range(of: #"[0-2][0-9]:[0-5][0-9] +.*11-23 [0-2][0-9]:[0-5][0-9]"#, options: .regularExpression)
                    != nil, "\(w)x\(h)\n\(screen)")
            var fiveMinutes = DashboardModel()
            Fixture.press([.char("0")], on: &fiveMinutes, frame: frame, width: w, height: h)
            #expect(!Fixture.render(fiveMinutes, frame, width: w, height: h).0.text.contains("11-23"))
        }
    }

    @Test func spanKeyAndTableSelectionAreInTheTitle() {
        var frame = Fixture.frame()
        frame.trends = Self.goldenTrends
        var model = DashboardModel()
        Fixture.press([.char("0")], on: &model, frame: frame)
        #expect(model.view == .trends)
        var screen = Fixture.render(model, frame).0.text
        #expect(screen.contains("pipeline (all tables) · last 5 min"))
        Fixture.press([.char("w")], on: &model, frame: frame)
        screen = Fixture.render(model, frame).0.text
        #expect(screen.contains("last 1 h"))
        Fixture.press([.char("w"), .down], on: &model, frame: frame)
        screen = Fixture.render(model, frame).0.text
        #expect(screen.contains("last 1 day"))
        #expect(screen.contains("Trends › \(Fixture.snapshot.diagnostics.tables.map(\.table).sorted()[0]) · "))
        Fixture.press([.char("w")], on: &model, frame: frame)
        #expect(model.trendSpan == .fiveMinutes)
        // `:trends` opens it too.
        var other = DashboardModel()
        _ = other.run(command: "trends")
        #expect(other.view == .trends)
        _ = other.run(command: "0")
        #expect(other.view == .trends)
    }
}
