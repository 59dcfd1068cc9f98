import Foundation
import Metrics
import Testing

@testable import Pipeline

/// The decoder reads snapshot notifications only on a topic whose first ignored message was one.
@Suite struct SnapshotNotificationTopicTests {
    @Test func theFirstIgnoredMessageDecidesWhetherATopicHoldsNotifications() throws {
        let lines = try SnapshotNotificationTests.notificationLines()
        let engine = EngineCore(profile: .shop)
        for (i, line) in lines.enumerated() {
            engine.ingest(
                topic: "snapexp.notifications", partition: 0, offset: Int64(i), key: nil, value: Array(line.utf8))
        }
        #expect(engine.ignored == 0 && engine.snapshotProgress().notificationsRead == 6)
        // A topic of other records without op: its first message decides, so a notification there later is not read.
        engine.ingest(
            topic: "other.records", partition: 0, offset: 0, key: nil, value: Array(#"{"id":1,"name":"x"}"#.utf8))
        engine.ingest(topic: "other.records", partition: 0, offset: 1, key: nil, value: Array(lines[0].utf8))
        #expect(engine.ignored == 2 && engine.snapshotProgress().notificationsRead == 6)
        #expect(engine.decoder.takeSnapshotNotification() == nil)
    }
}
