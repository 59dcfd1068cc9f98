import Foundation
import Metrics
import Testing

@testable import App

/// The Latency view, the Lag view's section for other consumer groups, and their headless JSON.
@Suite struct OperationsViewTests {
    static func snapshot() -> RunSnapshot {
        var s = Fixture.snapshot
        s.diagnostics.latency = [
            TableLatency(
                table: "transaction",
                hops: [
                    HopLatency(count: 1_200, p50Ms: 180, p99Ms: 2_400, totalCount: 5_000, totalSumMs: 900_000),
                    HopLatency(count: 1_200, p50Ms: 12, p99Ms: 40, totalCount: 5_000, totalSumMs: 60_000),
                    HopLatency(
                        count: 1_200, p50Ms: 950, p99Ms: 4_100, negative: 3, totalCount: 5_000, totalSumMs: 4_000_000),
                ]),
            TableLatency(
                table: "product",
                hops: [
                    HopLatency(), HopLatency(), HopLatency(count: 4, p50Ms: 7, p99Ms: 9, totalCount: 4, totalSumMs: 28),
                ]),
        ]
        var report = GroupLagReport()
        report.checkedAtMs = Fixture.nowMs
        report.groups = [
            GroupLagSummary(
                group: "jdbc-sink", verdict: .stalled, totalLag: 1_500, maxLagMs: 42_000, state: "Stable", members: 1)
        ]
        report.partitions = [
            GroupPartitionLag(
                group: "jdbc-sink", topic: "shop.public.transaction", partition: 0, committed: 4_000,
                highWatermark: 5_500, lag: 1_500, lagMs: 42_000, verdict: .stalled)
        ]
        s.integrations.groupLag = report
        return s
    }

    static func frame() -> DashboardFrame {
        var f = Fixture.frame()
        f.snapshot = snapshot()
        return f
    }

    @Test func latencyViewShowsEachHopAndTheSlowest() {
        var model = DashboardModel()
        _ = model.handle(.char("7"))
        #expect(model.view == .latency)
        let screen = Fixture.render(model, Self.frame(), width: 120, height: 30).0.text
        #expect(screen.contains(" 7 Latency "))
        let row = screen.split(separator: "\n").first { $0.contains("transaction") }.map(String.init) ?? ""
        for figure in ["1,200", "180ms", "2.4s", "12ms", "40ms", "950ms", "4.1s", "consumer"] {
            #expect(row.contains(figure), "\(figure) missing in: \(row)")
        }
        let product = screen.split(separator: "\n").first { $0.contains("product") }.map(String.init) ?? ""
        #expect(product.contains("7ms") && product.contains("–"))
        #expect(screen.contains("3 hops had a clock earlier than the one before it (skew)"))
    }

    /// A viewer's own consumer group never commits: its Lag view shows the committed offsets and group lag
    /// of the writer's group (as `--lag-groups` reads them), says so in the title, and "…" until they arrive.
    @Test func aViewersLagViewShowsTheWritersGroup() throws {
        var frame = Fixture.frame()
        var s = try #require(frame.snapshot)
        s.state = StateStatus(directory: "/var/lib/cdctop/shop")
        s.state.viewerOfPID = 4242
        s.state.writerGroup = "shop-writer"
        // The viewer's own group: nothing committed.
        for i in s.consumer.partitions.indices { s.consumer.partitions[i].committed = -1 }
        frame.snapshot = s
        var model = DashboardModel()
        Fixture.press([.char("4")], on: &model, frame: frame, width: 160, height: 40)
        var screen = Fixture.render(model, frame, width: 160, height: 40).0.text
        #expect(screen.contains("writer's group shop-writer …"), "\(screen)")
        let first = try #require(s.consumer.partitions.first)
        // The writer's group committed 7 below each partition's end: 7 of group lag each.
        var report = GroupLagReport()
        report.groups = [
            GroupLagSummary(group: "shop-writer", verdict: .ok, totalLag: 0, maxLagMs: 0, state: "Stable", members: 1)
        ]
        report.partitions = s.consumer.partitions.map {
            GroupPartitionLag(
                group: "shop-writer", topic: $0.topic, partition: $0.partition, committed: $0.highWatermark - 7,
                highWatermark: $0.highWatermark, lag: 7, lagMs: 0, verdict: .ok)
        }
        s.integrations.groupLag = report
        frame.snapshot = s
        screen = Fixture.render(model, frame, width: 160, height: 40).0.text
        let total = Format.count(Int64(7 * s.consumer.partitions.count))
        #expect(screen.contains("(writer's group shop-writer \(total))"), "\(screen)")
        let row = try #require(
            screen.split(separator: "\n").first {
                $0.contains(String(first.topic.split(separator: ".").last!) + " ")
                    && $0.contains(" \(first.highWatermark - 7) ")
            }, "\(screen)")
        #expect(row.contains(" \(first.highWatermark) "), "\(row)")
    }

    @Test func lagViewListsTheOtherGroups() {
        var model = DashboardModel()
        _ = model.handle(.char("4"))
        let screen = Fixture.render(model, Self.frame(), width: 120, height: 30).0.text
        #expect(screen.contains("Other groups · jdbc-sink STALLED"))
        let row =
            screen.split(separator: "\n").first { $0.contains("jdbc-sink") && $0.contains("shop.public.transaction") }
            .map(String.init) ?? ""
        for figure in ["4000", "5500", "1,500", "42.0s", "STALLED"] {
            #expect(row.contains(figure), "\(figure) missing in: \(row)")
        }
        // Without --lag-groups the section is not there.
        let plain = Fixture.render(model, Fixture.frame(), width: 120, height: 30).0.text
        #expect(!plain.contains("Other groups"))
    }

    @Test func headlessJSONCarriesLatencyAndLagGroups() throws {
        let line = headlessLine(Self.snapshot(), json: true, connect: nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let latency = try #require(object["latency"] as? [String: [String: [String: Int]]])
        #expect(latency["transaction"]?["kafka_cdctop"]?["p99_ms"] == 4_100)
        #expect(latency["transaction"]?["source_debezium"]?["p50_ms"] == 180)
        #expect(latency["product"]?["source_debezium"]?["count"] == 0)
        let groups = try #require(object["lag_groups"] as? [[String: Any]])
        #expect(groups.first?["group"] as? String == "jdbc-sink" && groups.first?["status"] as? String == "STALLED")
        let partitions = try #require(groups.first?["partitions"] as? [[String: Any]])
        #expect(partitions.first?["lag"] as? Int == 1_500 && partitions.first?["lag_seconds"] as? Double == 42)
    }
}
