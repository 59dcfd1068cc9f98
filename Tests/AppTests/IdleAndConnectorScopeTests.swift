import Foundation
import Pipeline
import Testing

@testable import App
@testable import Metrics

/// Issue 22: the Overview says "idle since …" once the watermark closed the newest window, a startup
/// backlog is reported as backlog, and the Connect panel lists the watched pipeline's connectors first.
@Suite struct IdleAndConnectorScopeTests {
    /// The fixture with its newest window closed, as heartbeats on a quiet source leave it.
    static func idleSnapshot() -> RunSnapshot {
        var s = Fixture.snapshot
        let windowMs = s.kpis.result.windowMs
        let newestWindowEnd = s.kpis.maxCommitTimeMs - s.kpis.maxCommitTimeMs % windowMs + windowMs
        s.kpis.watermarkMs = newestWindowEnd
        return s
    }

    @Test func overviewSaysIdleSinceTheLastCommitOnceItsWindowIsClosed() throws {
        var frame = Fixture.frame()
        let live = Fixture.render(DashboardModel(), frame).0.text
        #expect(live.contains("partial ") && !live.contains("idle since"), "\(live)")
        #expect(frame.snapshot!.kpis.idleSinceMs == nil)

        let s = Self.idleSnapshot()
        frame.snapshot = s
        let idle = Fixture.render(DashboardModel(), frame, width: 100, height: 30).0.text
        let since = Format.clock(s.kpis.maxCommitTimeMs)
        #expect(idle.contains("idle since \(since)"), "\(idle)")
        #expect(!idle.contains("partial "), "\(idle)")
        // One millisecond short of the end, the window can still change: partial again.
        var almost = s
        almost.kpis.watermarkMs -= 1
        #expect(almost.kpis.idleSinceMs == nil)

        let line = headlessLine(s, json: true, connect: nil)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect((o["idle_since_ms"] as? NSNumber)?.int64Value == s.kpis.maxCommitTimeMs)
        #expect((o["watermark_ms"] as? NSNumber)?.int64Value == s.kpis.watermarkMs)
        #expect(o["backlog"] is NSNull)
    }

    @Test func startupBacklogIsShownAsBacklogNotLatency() throws {
        var frame = Fixture.frame()
        var s = frame.snapshot!
        s.consumer.backlog = BacklogProgress(
            partitions: 3, reachedMs: Fixture.nowMs - 2 * 3_600_000, messages: 48_210, eventsRead: 1_500)
        frame.snapshot = s
        var model = DashboardModel()
        Fixture.press([.char("7")], on: &model, frame: frame, width: 120, height: 30)
        let latency = Fixture.render(model, frame, width: 120, height: 30).0.text
        #expect(latency.contains("catching up: 48,210 messages, oldest 2h00m ago"), "\(latency)")
        #expect(latency.contains("counts live events only (1,500 read from the backlog)"), "\(latency)")
        let line = headlessLine(s, json: true, connect: nil)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let backlog = try #require(o["backlog"] as? [String: Any])
        #expect((backlog["messages"] as? NSNumber)?.int64Value == 48_210)
        #expect((backlog["oldest_ms"] as? NSNumber)?.int64Value == Fixture.nowMs - 2 * 3_600_000)
    }

    static func report() -> ConnectHealthReport {
        // Sorted by name, as the REST parser leaves them: the watched one is not first by name.
        ConnectHealthReport(
            connectors: [
                ConnectorHealth(
                    name: "billing", state: .failed,
                    traceFirstLine: "org.apache.kafka.connect.errors.ConnectException: boom",
                    tasks: [], topicPrefix: "billing"),
                ConnectorHealth(
                    name: "inventory", state: .running, tasks: [ConnectTaskHealth(id: 0, state: .running)],
                    topicPrefix: "inv"),
                ConnectorHealth(
                    name: "shop-pg", state: .running, tasks: [ConnectTaskHealth(id: 0, state: .running)],
                    topicPrefix: "shop"),
            ], checkedAtMs: Fixture.nowMs - 1_000, url: "http://127.0.0.1:8083")
    }

    @Test func connectPanelListsTheWatchedTopicsConnectorsFirst() throws {
        let report = Self.report()
        let topics = Fixture.snapshot.consumer.topics
        #expect(topics.allSatisfy { $0.hasPrefix("shop.public.") } && !topics.isEmpty)
        let (watched, others) = report.scoped(toTopics: topics)
        #expect(watched.map(\.name) == ["shop-pg"])
        #expect(others.map(\.name) == ["billing", "inventory"])
        // The heartbeat topic of a connector counts as its topic; another prefix that merely starts alike does not.
        #expect(report.connectors[2].produces(topic: "__debezium-heartbeat.shop"))
        #expect(!report.connectors[2].produces(topic: "shopping.public.orders"))

        // Another pipeline's failed connector is named as "other", not this pipeline's outage.
        let status = report.status(lastHeartbeatMs: 0, nowMs: Fixture.nowMs, watchedTopics: topics)
        #expect(status.state == .ok)
        #expect(status.detail == "connect: shop-pg RUNNING 1/1 (+2 other connectors on this worker)")
        // Unscoped (no topic known yet), every connector counts, as before.
        #expect(report.status(lastHeartbeatMs: 0, nowMs: Fixture.nowMs).state == .error)

        var frame = Fixture.frame()
        frame.connect = report
        var board = ConnectionBoard()
        _ = board.update(
            [
                ServiceProbe(name: "kafka", target: "127.0.0.1:9092", status: ServiceStatus(.ok, "127.0.0.1:9092")),
                ServiceProbe(name: "connect", target: report.url, status: status),
            ], nowMs: Fixture.nowMs)
        frame.connections = board.entries
        var model = DashboardModel()
        _ = model.handle(.char("c"))
        let panel = Fixture.render(model, frame, width: 120, height: 40).0.text
        let lines = panel.split(separator: "\n").map(String.init)
        func row(_ text: String) -> Int? { lines.firstIndex { $0.contains(text) } }
        let own = try #require(row("● shop-pg  RUNNING · tasks 1/1 · topics shop.*"), "\(panel)")
        let heading = try #require(row("other connectors on this worker:"), "\(panel)")
        let billing = try #require(row("● billing  FAILED · tasks 0/0 · topics billing.*"), "\(panel)")
        let inventory = try #require(row("● inventory  RUNNING"), "\(panel)")
        #expect(own < heading && heading < billing && billing < inventory)

        // The Overview's Connect panel names this pipeline's connector and counts the others.
        let overview = Fixture.render(DashboardModel(), frame, width: 120, height: 40).0.text
        #expect(overview.contains("shop-pg RUNNING · tasks 1/1"), "\(overview)")
        #expect(overview.contains("+2 other connectors (c): billing, inventory"), "\(overview)")
        #expect(!overview.contains("billing FAILED"), "\(overview)")

        // --json lists them in the same order, each marked.
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(report.json(watchedTopics: topics).utf8)) as? [[String: Any]])
        #expect(json.map { $0["name"] as? String } == ["shop-pg", "billing", "inventory"])
        #expect(json.map { $0["watched"] as? Bool } == [true, false, false])
        #expect(json[0]["topic_prefix"] as? String == "shop")
    }

    @Test func restAnswerWithInfoGivesEachConnectorItsTopicPrefix() throws {
        let body = #"""
            {"shop":{"status":{"name":"shop","connector":{"state":"RUNNING","worker_id":"w"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"w"}]},
                     "info":{"name":"shop","config":{"connector.class":"io.debezium.connector.postgresql.PostgresConnector","topic.prefix":"shop"}}},
             "legacy":{"status":{"name":"legacy","connector":{"state":"RUNNING","worker_id":"w"},"tasks":[]},
                     "info":{"config":{"database.server.name":"old"}}},
             "sink":{"status":{"name":"sink","connector":{"state":"RUNNING","worker_id":"w"},"tasks":[]}}}
            """#
        let connectors = try ConnectStatusParser.parseExpandedStatus(body)
        #expect(connectors.map(\.name) == ["legacy", "shop", "sink"])
        #expect(connectors.map(\.topicPrefix) == ["old", "shop", nil])
    }
}
