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

        w.family(
            "cdctop_snapshot_rows_read", .gauge,
            "Rows of a table's snapshot read so far (op r rows, or Debezium's count once its scan completed).")
        for s in runs { for t in s.tables { w.sample("cdctop_snapshot_rows_read", labels(s, t), Double(t.rowsRead)) } }
        w.family(
            "cdctop_snapshot_rows_estimated", .gauge,
            "A table's estimated rows (source statistics with --source, or Debezium's count once scanned); absent while unknown."
        )
        for s in runs {
            for t in s.tables {
                if let e = t.rowsEstimated { w.sample("cdctop_snapshot_rows_estimated", labels(s, t), Double(e)) }
            }
        }
        w.family("cdctop_snapshot_table_complete", .gauge, "1 once a table's snapshot scan completed.")
        for s in runs {
            for t in s.tables { w.sample("cdctop_snapshot_table_complete", labels(s, t), t.state == .done ? 1 : 0) }
        }
        w.family(
            "cdctop_snapshot_rows_per_second", .gauge,
            "Rows per second of a table being snapshotted (over the latest half of its time so far, on Debezium's clock)."
        )
        for s in runs {
            for t in s.tables {
                if t.state == .running, let v = t.rowsPerSecond {
                    w.sample("cdctop_snapshot_rows_per_second", labels(s, t), v)
                }
            }
        }
        w.family(
            "cdctop_snapshot_complete", .gauge,
            "1 once the connector's snapshot completed (COMPLETED, or its last row read).")
        for s in runs { w.sample("cdctop_snapshot_complete", labels(s), s.phase == .completed ? 1 : 0) }
        w.family("cdctop_snapshot_running", .gauge, "1 while the connector's snapshot runs (or is paused).")
        for s in runs {
            w.sample("cdctop_snapshot_running", labels(s), s.phase == .running || s.phase == .paused ? 1 : 0)
        }
        w.family("cdctop_snapshot_tables_done", .gauge, "Tables of the snapshot whose scan completed.")
        for s in runs { w.sample("cdctop_snapshot_tables_done", labels(s), Double(s.tablesDone)) }
        w.family(
            "cdctop_snapshot_tables_in_scope", .gauge,
            "Tables the snapshot covers; absent while unknown (rows alone name a table only once it starts).")
        for s in runs { if let n = s.tablesTotal { w.sample("cdctop_snapshot_tables_in_scope", labels(s), Double(n)) } }
        w.family(
            "cdctop_snapshot_eta_seconds", .gauge,
            "Seconds until the snapshot completes at the current rate; absent without estimates.")
        for s in runs { if let v = s.etaSeconds { w.sample("cdctop_snapshot_eta_seconds", labels(s), v) } }
        w.family(
            "cdctop_snapshot_idle_seconds", .gauge,
            "Seconds since a running snapshot's last row or notification (CdcSnapshotStalled).")
        for s in runs where s.phase == .running && s.lastActivityMs > 0 {
            w.sample("cdctop_snapshot_idle_seconds", labels(s), Double(max(0, nowMs - s.lastActivityMs)) / 1000)
        }
    }
}
