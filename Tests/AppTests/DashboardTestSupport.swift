import DevSupport
import Metrics

@testable import App

/// A fixed instant and snapshot for golden screens: 2025-11-23 12:00:00.000 UTC, one minute after start.
enum Fixture {
    static let nowMs: Int64 = 1_763_899_200_000
    static let startMs: Int64 = nowMs - 60_000

    static var snapshot: RunSnapshot { snapshot(.shop) }

    static func snapshot(_ variant: PreviewData.Variant) -> RunSnapshot {
        PreviewData.snapshot(atMs: nowMs, startMs: startMs, rate: 2_000, sequence: 7, variant: variant)
    }

    /// A frame with lag history: 31 one-second samples ending at `nowMs`.
    static func frame(history: Bool = false, glyphs: Glyphs = .unicode, variant: PreviewData.Variant = .shop)
        -> DashboardFrame
    {
        var f = DashboardFrame(snapshot: snapshot(variant), nowMs: nowMs)
        f.title = "fixture"
        f.glyphs = glyphs
        var lag = LagTracker()
        for s in stride(from: 30, through: 0, by: -1) {
            let t = nowMs - Int64(s) * 1_000
            lag.record(
                PreviewData.snapshot(atMs: t, startMs: startMs, rate: 2_000, sequence: 1, variant: variant).consumer
                    .partitions,
                atMs: t)
        }
        f.lag = lag
        if history {
            f.warehouse = ServiceStatus(.ok, "postgresql://127.0.0.1/cdctop")
            f.history = PreviewData.history(nowMs: nowMs)
            f.reconciliation = PreviewData.reconciliation(f.snapshot, nowMs: nowMs)
        }
        return f
    }

    static func render(_ model: DashboardModel, _ frame: DashboardFrame = frame(), width: Int = 80, height: Int = 24)
        -> (ScreenBuffer, ListLayout)
    {
        DashboardRenderer.render(model, frame, width: width, height: height)
    }

    /// Applies keys the way the run loop does: render (to learn the list layout), then handle the key.
    static func press(
        _ keys: [Key], on model: inout DashboardModel, frame: DashboardFrame = frame(), width: Int = 80,
        height: Int = 24
    ) {
        for key in keys {
            model.adopt(render(model, frame, width: width, height: height).1)
            _ = model.handle(key)
        }
    }
}
