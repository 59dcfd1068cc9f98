import Foundation
import Metrics
import Pipeline

/// What the mirror costs: how fast one connection can write snapshots, and what `offer` costs the engine.
/// Dev support: `cdctop-dev redis-bench` runs it; the shipped binary does not carry it.
package struct RedisWriteBenchmark: Sendable, CustomStringConvertible {
    package var snapshots: Int
    package var windowsHeld: Int
    package var categories: Int
    package var seconds: Double
    /// Snapshot writes per second with no rate limit (the mirror itself caps at ~10/s).
    package var writesPerSecond: Double
    /// Redis commands per incremental write (MULTI … EXEC, PUBLISH).
    package var commandsPerWrite: Double
    /// The first write: every held window, as after a reconnect.
    package var fullWriteMs: Double
    /// Cost of `RedisMirror.offer` on the engine's thread.
    package var offerNanoseconds: Double

    package var description: String {
        String(
            format:
                "%d snapshots (%d windows × %d categories) in %.2f s: %.0f writes/s, %.0f commands/write, full rewrite %.1f ms, offer %.0f ns",
            snapshots, windowsHeld, categories, seconds, writesPerSecond, commandsPerWrite, fullWriteMs,
            offerNanoseconds)
    }
}

extension RedisMirror {
    /// Writes `snapshots` synthetic snapshots as fast as possible, each changing the current window,
    /// the totals and the lag, with a new window every 30 snapshots, like a busy engine. Cleans up
    /// its keys under `prefix` afterwards.
    package static func benchmarkWrites(
        url: RedisURL, snapshots: Int, windows: Int = 120, categories: Int = 20,
        prefix: String = "cdctop:benchmark"
    ) throws -> RedisWriteBenchmark {
        let connection = try RedisConnection(url: url)
        let keys = RedisKeys(prefix: prefix)
        let writer = RedisSnapshotWriter(
            connection: connection, keys: keys,
            identity: MirrorIdentity(
                pipelineName: "benchmark", profileName: "synthetic", version: "benchmark",
                startedAtMs: WallClock.nowMs(), windowTTLSeconds: 600))
        var snapshot = syntheticSnapshot(windows: windows, categories: categories)
        defer { _ = try? clear(url: url, prefix: prefix) }

        let fullStart = WallClock.monotonicSeconds()
        try writer.write(snapshot, nowMs: WallClock.nowMs())
        let fullWriteMs = (WallClock.monotonicSeconds() - fullStart) * 1000

        var commands = 0
        let start = WallClock.monotonicSeconds()
        for i in 0..<snapshots {
            advance(&snapshot, step: i, categories: categories)
            try writer.write(snapshot, nowMs: WallClock.nowMs())
            commands += writer.lastCommandCount
        }
        let seconds = WallClock.monotonicSeconds() - start

        // offer() on a mirror that is not started: pure mailbox cost, as the engine pays it.
        let mirror = RedisMirror(url: url, prefix: prefix, pipelineName: "benchmark", profileName: "synthetic")
        let offers = 100_000
        let offerStart = WallClock.monotonicSeconds()
        for _ in 0..<offers { mirror.offer(snapshot) }
        let offerNanoseconds = (WallClock.monotonicSeconds() - offerStart) * 1e9 / Double(offers)

        return RedisWriteBenchmark(
            snapshots: snapshots, windowsHeld: windows, categories: categories, seconds: seconds,
            writesPerSecond: Double(snapshots) / max(seconds, 1e-9),
            commandsPerWrite: Double(commands) / Double(max(snapshots, 1)),
            fullWriteMs: fullWriteMs, offerNanoseconds: offerNanoseconds)
    }

    package static func syntheticSnapshot(windows: Int, categories: Int) -> RunSnapshot {
        let windowMs: Int64 = 30_000
        let base: Int64 = 1_700_000_000_000
        var result = KPIResult(windowMs: windowMs)
        for w in 0..<windows {
            var window = WindowResult(
                windowStartMs: base + Int64(w) * windowMs, txCount: Int64(w + 1), revenue: Money(cents: Int64(w) * 1999)
            )
            for c in 0..<categories { window.categoryRevenue["category-\(c)"] = Money(cents: Int64(c * 100 + w)) }
            result.windows.append(window)
            result.totals.txCount += window.txCount
            result.totals.revenue += window.revenue
            for (k, v) in window.categoryRevenue { result.totals.categoryRevenue[k, default: .zero] += v }
        }
        var snapshot = RunSnapshot(result: result)
        snapshot.kpis.maxCommitTimeMs = result.windows.last.map { $0.windowStartMs + 1000 } ?? 0
        snapshot.consumer.partitions = (0..<3).map {
            PartitionLag(
                topic: "shop.public.transaction", partition: Int32($0), committed: 0, position: 0, highWatermark: 10)
        }
        return snapshot
    }

    package static func advance(_ snapshot: inout RunSnapshot, step: Int, categories: Int) {
        let amount = Money(cents: 123 + Int64(step % 50))
        let category = "category-\(step % max(categories, 1))"
        if step % 30 == 29, let last = snapshot.kpis.result.windows.last {
            snapshot.kpis.result.windows.append(
                WindowResult(windowStartMs: last.windowStartMs + snapshot.kpis.result.windowMs))
            snapshot.kpis.result.windows.removeFirst()
        }
        let i = snapshot.kpis.result.windows.count - 1
        snapshot.kpis.result.windows[i].txCount += 1
        snapshot.kpis.result.windows[i].revenue += amount
        snapshot.kpis.result.windows[i].categoryRevenue[category, default: .zero] += amount
        snapshot.kpis.result.totals.txCount += 1
        snapshot.kpis.result.totals.revenue += amount
        snapshot.kpis.result.totals.categoryRevenue[category, default: .zero] += amount
        snapshot.sequence += 1
        snapshot.kpis.maxCommitTimeMs = snapshot.kpis.result.windows[i].windowStartMs + 1000
        for p in snapshot.consumer.partitions.indices {
            snapshot.consumer.partitions[p].position += 1
            snapshot.consumer.partitions[p].highWatermark += 2
        }
    }
}
