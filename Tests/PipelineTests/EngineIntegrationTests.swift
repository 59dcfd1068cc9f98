import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

/// The engine's snapshot handed to the Redis mirror and the warehouse sink, read back from the
/// real servers that scripts/test starts.
@Suite("Engine snapshot → Redis mirror and warehouse sink", .tags(.redis, .postgres))
struct EngineIntegrationTests {
    static func replayedSnapshot() -> RunSnapshot {
        let w = ShopWorkload(config: ShopWorkloadConfig(seed: 5, commitsPerSecond: 5))
        var messages: [GeneratedMessage] = []
        while messages.count < 3000 { w.next(into: &messages) }
        let core = EngineCore(profile: .shop)
        for (i, m) in messages.enumerated() {
            core.ingest(topic: m.topic, partition: 0, offset: Int64(i), key: m.key, value: m.value)
        }
        #expect(core.result == w.groundTruth)
        var s = core.snapshot(sequence: 1, takenAtMs: WallClock.nowMs())
        s.consumer.caughtUp = true
        return s
    }

    static func waitUntil(_ what: String, seconds: Double = 20, _ condition: () throws -> Bool) throws {
        if try !poll(seconds: seconds, condition) { Issue.record("timed out waiting until \(what)") }
    }

    @Test func redisHoldsExactlyTheEngineResult() throws {
        let urlText = try #require(
            TestServices.environment("CDCTOP_TEST_REDIS"),
            "CDCTOP_TEST_REDIS is not set: run the tests with scripts/test")
        let url = try RedisURL(parsing: urlText)
        let prefix = "cdctop:it\(UInt32.random(in: 0...UInt32.max))"
        let snapshot = Self.replayedSnapshot()
        let mirror = RedisMirror(url: url, prefix: prefix, pipelineName: "it", profileName: "shop")
        mirror.start()
        defer {
            mirror.stop()
            _ = try? RedisMirror.clear(url: url, prefix: prefix)
        }
        mirror.offer(snapshot)
        try Self.waitUntil("the mirror wrote the snapshot") { mirror.writes > 0 }
        let state = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(state.windowResults == snapshot.kpis.result.windows)
        #expect(state.totals == snapshot.kpis.result.totals)
        #expect(snapshot.kpis.result.windows.count > 3)
    }

    @Test func warehouseHoldsExactlyTheFinalWindows() throws {
        let url = try #require(
            TestServices.environment("CDCTOP_TEST_PG"), "CDCTOP_TEST_PG is not set: run the tests with scripts/test")
        let pipeline = "it\(UInt32.random(in: 0...UInt32.max))"
        let connection = try PostgresConnection(url)
        try WarehouseSchema.initialize(connection)
        let snapshot = Self.replayedSnapshot()
        let final = snapshot.kpis.result.windows.filter { snapshot.kpis.finalWindowStarts.contains($0.windowStartMs) }
        #expect(!final.isEmpty && final.count < snapshot.kpis.result.windows.count, "the newest window is still open")
        let sink = WarehouseSink(url: url, pipeline: pipeline)
        sink.start()
        defer { sink.stop() }
        sink.offer(snapshot)
        try Self.waitUntil("the sink wrote every final window") {
            sink.windowsWritten >= final.count && sink.backlog == 0
        }
        #expect(try WarehouseSchema.readWindows(pipeline: pipeline, on: connection) == final)
    }
}
