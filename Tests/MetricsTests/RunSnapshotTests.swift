import Testing

@testable import Metrics

/// The join's own logic: the topics read, and a viewer adopting its writer's group's committed offsets.
@Suite struct RunSnapshotTests {
    static func progress() -> ConsumerProgress {
        var c = ConsumerProgress()
        c.kafka = ServiceStatus(.ok, "127.0.0.1:9092")
        c.partitions = [
            PartitionLag(
                topic: "shop.public.transaction", partition: 0, committed: -1, position: 900, highWatermark: 1_000),
            PartitionLag(
                topic: "shop.public.transaction", partition: 1, committed: -1, position: 950, highWatermark: 950),
            PartitionLag(topic: "shop.public.product", partition: 0, committed: -1, position: 40, highWatermark: 40),
        ]
        return c
    }

    @Test func topicsAreEachReadTopicOnceInPartitionOrder() {
        #expect(Self.progress().topics == ["shop.public.transaction", "shop.public.product"])
    }

    @Test func aViewerShowsItsWritersCommittedOffsetsAndUnknownWhereTheReportHasNone() {
        var report = GroupLagReport()
        report.partitions = [
            GroupPartitionLag(
                group: "writer", topic: "shop.public.transaction", partition: 0, committed: 800, highWatermark: 1_000,
                lag: 200, lagMs: 0, verdict: .ok),
            // Another group's offsets on the same partition are not the writer's.
            GroupPartitionLag(
                group: "other", topic: "shop.public.transaction", partition: 1, committed: 10, highWatermark: 950,
                lag: 940, lagMs: 0, verdict: .ok),
        ]
        var c = Self.progress()
        let adopted = c.adoptCommitted(ofGroup: "writer", from: report)
        #expect(adopted)
        #expect(c.partitions.map(\.committed) == [800, -1, -1])
        #expect(c.totalCommittedLag == 200 + 950 + 40)
        // Before the first report nothing is known: no offsets, and the caller says so.
        var before = Self.progress()
        let known = before.adoptCommitted(ofGroup: "writer", from: nil)
        #expect(!known)
        #expect(before.partitions.allSatisfy { $0.committed == -1 })
    }
}
