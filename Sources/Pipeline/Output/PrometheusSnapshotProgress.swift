import Metrics

extension PrometheusExposition {
    /// Snapshot progress (issue 22): the latest snapshot of each connector and kind, per table.
    static func renderSnapshots(_ r: SnapshotProgressReport, nowMs: Int64, into w: inout Writer) {
        guard !r.snapshots.isEmpty else { return }
        // One run per (connector, kind): a label set must appear once.
        let runs = r.latestRuns
        func labels(_ s: ConnectorSnapshotProgress) -> [(String, String)] {
            [("connector", s.connector), ("kind", s.kind.rawValue)]
        }
        func labels(_ s: ConnectorSnapshotProgress, _ t: TableSnapshotProgress) -> [(String, String)] {
            labels(s) + [("table", t.table)]
        }

        w.family(PrometheusSchema.snapshotRowsRead)
        for s in runs {
            for t in s.tables { w.sample(PrometheusSchema.snapshotRowsRead, labels(s, t), Double(t.rowsRead)) }
        }
        w.family(PrometheusSchema.snapshotRowsEstimated)
        for s in runs {
            for t in s.tables {
                if let e = t.rowsEstimated { w.sample(PrometheusSchema.snapshotRowsEstimated, labels(s, t), Double(e)) }
            }
        }
        w.family(PrometheusSchema.snapshotTableComplete)
        for s in runs {
            for t in s.tables {
                w.sample(PrometheusSchema.snapshotTableComplete, labels(s, t), t.state == .done ? 1 : 0)
            }
        }
        w.family(PrometheusSchema.snapshotRowsPerSecond)
        for s in runs {
            for t in s.tables {
                if t.state == .running, let v = t.rowsPerSecond {
                    w.sample(PrometheusSchema.snapshotRowsPerSecond, labels(s, t), v)
                }
            }
        }
        w.family(PrometheusSchema.snapshotComplete)
        for s in runs { w.sample(PrometheusSchema.snapshotComplete, labels(s), s.phase == .completed ? 1 : 0) }
        w.family(PrometheusSchema.snapshotRunning)
        for s in runs {
            w.sample(PrometheusSchema.snapshotRunning, labels(s), s.phase == .running || s.phase == .paused ? 1 : 0)
        }
        w.family(PrometheusSchema.snapshotTablesDone)
        for s in runs { w.sample(PrometheusSchema.snapshotTablesDone, labels(s), Double(s.tablesDone)) }
        w.family(PrometheusSchema.snapshotTablesInScope)
        for s in runs {
            if let n = s.tablesTotal { w.sample(PrometheusSchema.snapshotTablesInScope, labels(s), Double(n)) }
        }
        w.family(PrometheusSchema.snapshotEtaSeconds)
        for s in runs { if let v = s.etaSeconds { w.sample(PrometheusSchema.snapshotEtaSeconds, labels(s), v) } }
        w.family(PrometheusSchema.snapshotIdleSeconds)
        for s in runs where s.phase == .running && s.lastActivityMs > 0 {
            w.sample(PrometheusSchema.snapshotIdleSeconds, labels(s), Double(max(0, nowMs - s.lastActivityMs)) / 1000)
        }
    }
}
