import Metrics

/// Everything `/metrics` shows besides the engine's snapshot, read from the integrations' own
/// published state (each behind its own small lock, never the engine's).
package struct OpsReport: Sendable {
    package var connect: ConnectHealthReport?
    package var reconciliation: Reconciliation?
    /// nil when the integration is not configured (then no `_up` series is written).
    package var redis: ServiceStatus?
    package var warehouse: ServiceStatus?
    /// nil without `--schema-registry`.
    package var schemaRegistry: SchemaRegistryMetrics?

    package init(
        connect: ConnectHealthReport? = nil, reconciliation: Reconciliation? = nil, redis: ServiceStatus? = nil,
        warehouse: ServiceStatus? = nil, schemaRegistry: SchemaRegistryMetrics? = nil
    ) {
        self.connect = connect
        self.reconciliation = reconciliation
        self.redis = redis
        self.warehouse = warehouse
        self.schemaRegistry = schemaRegistry
    }
}

/// A partition held because its next message needs a schema id the registry has not answered yet.
package struct SchemaWait: Sendable, Hashable {
    package var schemaID: Int32
    /// "" and -1 when the asker did not say.
    package var topic: String
    package var partition: Int32
    package var sinceMs: Int64
    package init(schemaID: Int32, topic: String, partition: Int32, sinceMs: Int64) {
        self.schemaID = schemaID
        self.topic = topic
        self.partition = partition
        self.sinceMs = sinceMs
    }
}

/// The schema registry client's state as `/metrics` shows it (`SchemaRegistryClient.metrics`).
package struct SchemaRegistryMetrics: Sendable, Hashable {
    /// False while an id is awaited and the registry does not answer.
    package var up: Bool
    /// Schema ids held in memory (fetched this run or loaded from the state directory's cache).
    package var schemasKnown: Int
    package var fetched: Int
    package var fromCache: Int
    package var fetchErrors: Int64
    package var waits: [SchemaWait]
    package init(up: Bool, schemasKnown: Int, fetched: Int, fromCache: Int, fetchErrors: Int64, waits: [SchemaWait]) {
        self.up = up
        self.schemasKnown = schemasKnown
        self.fetched = fetched
        self.fromCache = fromCache
        self.fetchErrors = fetchErrors
        self.waits = waits
    }
}

/// Renders the Prometheus text exposition format, version 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/). Money is a float gauge here;
/// the exact decimal strings stay in JSON and Redis. A model profile's KPIs (`cdctop_kpi`) are
/// written as their exact text, which Prometheus parses as a float.
package enum PrometheusExposition {
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// At most this many label values per family for data-driven labels (categories): bounded series.
    package static let maxCategories = 1_000

    package static func render(_ s: RunSnapshot?, ops: OpsReport, nowMs: Int64) -> String {
        var w = Writer()
        w.single(PrometheusSchema.up, s == nil ? 0 : 1)
        guard let s else { return w.text }
        w.single(PrometheusSchema.snapshotAgeSeconds, seconds(nowMs - s.takenAtMs))

        // KPIs
        let r = s.kpis.result
        w.single(PrometheusSchema.messagesTotal, Double(r.messages))
        w.single(PrometheusSchema.kpiTransactions, Double(r.totals.txCount))
        w.single(PrometheusSchema.kpiRevenue, r.totals.revenue.approximateDouble)
        w.family(PrometheusSchema.kpiCategoryRevenue)
        for name in r.totals.categoryRevenue.keys.sorted().prefix(maxCategories) {
            w.sample(
                PrometheusSchema.kpiCategoryRevenue, [("category", name)],
                r.totals.categoryRevenue[name]!.approximateDouble)
        }
        if !r.kpiColumns.isEmpty { renderModelKPIs(r, into: &w) }
        w.single(PrometheusSchema.windowSeconds, seconds(r.windowMs))
        if let current = r.windows.last {
            w.single(PrometheusSchema.windowStartTimestampSeconds, seconds(current.windowStartMs))
            w.single(PrometheusSchema.windowTransactions, Double(current.txCount))
            w.single(PrometheusSchema.windowRevenue, current.revenue.approximateDouble)
            w.family(PrometheusSchema.windowCategoryRevenue)
            for name in current.categoryRevenue.keys.sorted().prefix(maxCategories) {
                w.sample(
                    PrometheusSchema.windowCategoryRevenue, [("category", name)],
                    current.categoryRevenue[name]!.approximateDouble)
            }
        }

        // Events and problems
        w.family(PrometheusSchema.eventsTotal)
        for t in s.diagnostics.tables {
            for op in ChangeOp.allCases where t.count(op) > 0 {
                w.sample(PrometheusSchema.eventsTotal, [("table", t.table), ("op", op.code)], Double(t.count(op)))
            }
        }
        w.family(PrometheusSchema.tableMalformedTotal)
        for t in s.diagnostics.tables where t.malformed > 0 {
            w.sample(PrometheusSchema.tableMalformedTotal, [("table", t.table)], Double(t.malformed))
        }
        let counters: [(OutputField, Int64)] = [
            (PrometheusSchema.malformedTotal, r.malformed),
            (PrometheusSchema.droppedTotal, r.dropped),
            (PrometheusSchema.lateCorrectionsTotal, s.kpis.lateCorrections),
            (PrometheusSchema.duplicatesTotal, s.kpis.duplicates),
            (PrometheusSchema.unmatchedTotal, s.kpis.unmatched),
            (PrometheusSchema.refusedTotal, s.kpis.refused),
            (PrometheusSchema.ignoredTotal, s.kpis.ignored),
            (PrometheusSchema.tombstonesTotal, s.kpis.tombstones),
            (PrometheusSchema.heartbeatsTotal, s.kpis.heartbeats),
            (PrometheusSchema.schemaChangeSnapshotTotal, s.diagnostics.snapshotDDL),
        ]
        for (family, value) in counters {
            w.single(family, Double(value))
        }
        w.family(PrometheusSchema.schemaChangesTotal)
        for table in s.diagnostics.schemaChanges.keys.sorted() {
            w.sample(
                PrometheusSchema.schemaChangesTotal, [("table", table)], Double(s.diagnostics.schemaChanges[table]!))
        }
        w.single(PrometheusSchema.parkedLineItems, Double(s.kpis.parkedLineItems))

        // Freshness and lag
        if s.kpis.maxCommitTimeMs > 0 {
            w.single(PrometheusSchema.lastCommitTimestampSeconds, seconds(s.kpis.maxCommitTimeMs))
        }
        if s.kpis.watermarkMs > 0 {
            w.single(PrometheusSchema.watermarkTimestampSeconds, seconds(s.kpis.watermarkMs))
        }
        w.single(PrometheusSchema.idle, s.kpis.idleSinceMs == nil ? 0 : 1)
        w.single(PrometheusSchema.backlogMessages, Double(s.consumer.backlog?.messages ?? 0))
        w.single(PrometheusSchema.caughtUp, s.consumer.caughtUp ? 1 : 0)
        w.family(PrometheusSchema.partitionLagMessages)
        for p in s.consumer.partitions {
            w.sample(PrometheusSchema.partitionLagMessages, partitionLabels(p), Double(p.lag))
        }
        w.family(PrometheusSchema.partitionLagSeconds)
        for p in s.consumer.partitions {
            let lagMs = p.lagMs(nowMs: nowMs)
            w.sample(PrometheusSchema.partitionLagSeconds, partitionLabels(p), seconds(lagMs))
        }
        w.family(PrometheusSchema.partitionHighWatermark)
        for p in s.consumer.partitions {
            w.sample(PrometheusSchema.partitionHighWatermark, partitionLabels(p), Double(p.highWatermark))
        }
        w.family(PrometheusSchema.partitionCommittedOffset)
        for p in s.consumer.partitions {
            w.sample(PrometheusSchema.partitionCommittedOffset, partitionLabels(p), Double(p.committed))
        }
        renderOffsetRegressions(s, into: &w)
        if let t = s.kpis.transactions { renderTransactions(t, into: &w) }

        // Services
        w.single(PrometheusSchema.kafkaUp, s.consumer.kafka.state == .ok ? 1 : 0)
        w.single(PrometheusSchema.kafkaStalled, s.consumer.kafka.state == .stalled ? 1 : 0)
        if let redis = ops.redis {
            w.single(PrometheusSchema.redisUp, redis.state == .ok ? 1 : 0)
        }
        if let warehouse = ops.warehouse {
            w.single(PrometheusSchema.warehouseUp, warehouse.state == .ok ? 1 : 0)
        }
        if let registry = ops.schemaRegistry { renderSchemaRegistry(registry, nowMs: nowMs, into: &w) }
        if s.kpis.lastHeartbeatMs > 0 {
            w.single(PrometheusSchema.heartbeatAgeSeconds, seconds(max(0, nowMs - s.kpis.lastHeartbeatMs)))
        }
        if let connect = ops.connect {
            w.single(PrometheusSchema.connectUp, connect.pollError == nil && connect.checkedAtMs > 0 ? 1 : 0)
            w.family(PrometheusSchema.connectorState)
            for c in connect.connectors {
                for state in ConnectState.allCases {
                    w.sample(
                        PrometheusSchema.connectorState, [("connector", c.name), ("state", state.rawValue)],
                        c.state == state ? 1 : 0)
                }
            }
            w.family(PrometheusSchema.connectorTaskState)
            for c in connect.connectors {
                for t in c.tasks {
                    for state in ConnectState.allCases {
                        w.sample(
                            PrometheusSchema.connectorTaskState,
                            [("connector", c.name), ("task", String(t.id)), ("state", state.rawValue)],
                            t.state == state ? 1 : 0)
                    }
                }
            }
        }
        if let rec = ops.reconciliation {
            w.family(PrometheusSchema.reconciliationVerdict)
            for v in [Reconciliation.Verdict.unknown, .agree, .drift, .waiting] {
                w.sample(PrometheusSchema.reconciliationVerdict, [("verdict", v.rawValue)], rec.verdict == v ? 1 : 0)
            }
            w.single(PrometheusSchema.reconciliationCheckedTimestampSeconds, seconds(rec.checkedAtMs))
        }
        // A viewer (`viewer_of_pid`) writes no checkpoint: the writer's own /metrics tells its age.
        if s.state.directory != nil && s.state.viewerOfPID == nil {
            w.single(PrometheusSchema.stateCheckpointsTotal, Double(s.state.checkpoints))
            if s.state.lastCheckpointMs > 0 {
                w.single(PrometheusSchema.stateCheckpointAgeSeconds, seconds(max(0, nowMs - s.state.lastCheckpointMs)))
            }
            w.single(PrometheusSchema.stateCheckpointFailing, s.state.lastError == nil ? 0 : 1)
        }

        // Latency split: a summary whose quantiles cover the last minute and whose _sum/_count run since the start.
        w.family(PrometheusSchema.latencySeconds)
        for t in s.diagnostics.latency {
            for hop in LatencyHop.allCases where t.hop(hop).totalCount > 0 {
                let h = t.hop(hop)
                let labels = [("table", t.table), ("hop", hop.label)]
                if h.count > 0 {
                    w.sample(PrometheusSchema.latencySeconds, labels + [("quantile", "0.5")], seconds(h.p50Ms))
                    w.sample(PrometheusSchema.latencySeconds, labels + [("quantile", "0.99")], seconds(h.p99Ms))
                }
                w.sample(PrometheusSchema.latencySeconds, suffix: "_sum", labels, seconds(h.totalSumMs))
                w.sample(PrometheusSchema.latencySeconds, suffix: "_count", labels, Double(h.totalCount))
            }
        }

        if let groups = s.integrations.groupLag { renderGroupLag(groups, into: &w) }
        if let slots = s.integrations.replicationSlots { renderReplicationSlots(slots, nowMs: nowMs, into: &w) }
        renderSnapshots(s.kpis.snapshots, nowMs: nowMs, into: &w)
        return w.text
    }

    /// `--source` on PostgreSQL: each logical replication slot's retained WAL, whether a consumer is
    /// attached and how long its confirmed position has stood still (the values of the last good reading).
    static func renderReplicationSlots(_ r: ReplicationSlotReport, nowMs: Int64, into w: inout Writer) {
        w.single(PrometheusSchema.replicationSlotsUp, r.error == nil && r.checkedAtMs > 0 ? 1 : 0)
        guard r.checkedAtMs > 0 else { return }
        w.family(PrometheusSchema.replicationSlotRetainedWalBytes)
        for slot in r.slots {
            if let bytes = slot.retainedBytes {
                w.sample(PrometheusSchema.replicationSlotRetainedWalBytes, [("slot", slot.name)], Double(bytes))
            }
        }
        w.family(PrometheusSchema.replicationSlotRestartRetainedWalBytes)
        for slot in r.slots {
            if let bytes = slot.restartRetainedBytes {
                w.sample(PrometheusSchema.replicationSlotRestartRetainedWalBytes, [("slot", slot.name)], Double(bytes))
            }
        }
        w.family(PrometheusSchema.replicationSlotActive)
        for slot in r.slots {
            w.sample(PrometheusSchema.replicationSlotActive, [("slot", slot.name)], slot.active ? 1 : 0)
        }
        w.family(PrometheusSchema.replicationSlotSecondsSinceAdvance)
        for slot in r.slots {
            w.sample(
                PrometheusSchema.replicationSlotSecondsSinceAdvance, [("slot", slot.name)],
                slot.secondsSinceAdvance(nowMs: nowMs))
        }
        w.family(PrometheusSchema.replicationSlotSafeWalSizeBytes)
        for slot in r.slots {
            if let bytes = slot.safeWALSizeBytes {
                w.sample(PrometheusSchema.replicationSlotSafeWalSizeBytes, [("slot", slot.name)], Double(bytes))
            }
        }
    }

    /// At most this many groups per model KPI in `cdctop_kpi` (the largest by the KPI's first value);
    /// the rest are counted in `cdctop_kpi_groups_omitted`, so a high-cardinality `group by` cannot
    /// blow up a scrape.
    package static let maxKPIGroups = 1_000

    /// A model profile's KPIs over the current state: `cdctop_kpi{kpi,aggregate[,group]}` with the exact
    /// value text (Prometheus parses decimals; counts are integers; an average of no rows is NaN),
    /// `cdctop_kpi_unresolved_rows{kpi}` and `cdctop_kpi_groups_omitted{kpi}`. A multi-column group is
    /// its values joined with "|"; an ungrouped KPI has no `group` label.
    static func renderModelKPIs(_ r: KPIResult, into w: inout Writer) {
        w.family(PrometheusSchema.kpi)
        var unresolved: [(String, Int64)] = []
        var omitted: [(String, Int)] = []
        for (k, columns) in r.kpiColumns.enumerated() {
            let values = k < r.totals.kpis.count ? r.totals.kpis[k] : KPIValues()
            let aggregates = KPIOutput.aggregateLabels(columns)
            let grouped = !columns.groupNames.isEmpty
            // Groups as their label text, merged when two only differ as cells (an integer 1 and a text "1").
            var byLabel: [String: KPIAccum] = [:]
            for (group, accum) in values.groups {
                let label = columns.groupText(group).joined(separator: "|")
                if byLabel[label] == nil { byLabel[label] = accum } else { byLabel[label]!.add(accum) }
            }
            var rows = byLabel.map { (label: $0.key, accum: $0.value) }
            if rows.count > maxKPIGroups {
                let keyed = rows.map { (row: $0, key: KPIOutput.rankValue(columns, $0.accum)) }
                // Largest first value first (an average of no rows last), then by label: the same groups every scrape.
                rows = keyed.sorted { a, b in
                    switch (a.key, b.key) {
                    case let (x?, y?) where x != y: return x > y
                    case (.some, nil): return true
                    case (nil, .some): return false
                    default: return a.row.label < b.row.label
                    }
                }.prefix(maxKPIGroups).map(\.row)
            }
            rows.sort { $0.label < $1.label }
            for row in rows {
                for (i, aggregate) in aggregates.enumerated() {
                    var labels = [("kpi", columns.name), ("aggregate", aggregate)]
                    if grouped { labels.append(("group", row.label)) }
                    let text = columns.valueText(row.accum, i)
                    w.sample(PrometheusSchema.kpi, labels, text: text == "null" ? "NaN" : text)
                }
            }
            unresolved.append((columns.name, values.unresolvedRows))
            omitted.append((columns.name, byLabel.count - rows.count))
        }
        w.family(PrometheusSchema.kpiUnresolvedRows)
        for (name, n) in unresolved { w.sample(PrometheusSchema.kpiUnresolvedRows, [("kpi", name)], Double(n)) }
        w.family(PrometheusSchema.kpiGroupsOmitted)
        for (name, n) in omitted { w.sample(PrometheusSchema.kpiGroupsOmitted, [("kpi", name)], Double(n)) }
    }

    /// `--schema-registry`: reachability, the schema ids held, fetch errors, and each partition held
    /// waiting for an id (with the id and how long it has waited).
    static func renderSchemaRegistry(_ r: SchemaRegistryMetrics, nowMs: Int64, into w: inout Writer) {
        w.single(PrometheusSchema.schemaRegistryUp, r.up ? 1 : 0)
        w.single(PrometheusSchema.schemaRegistrySchemasCached, Double(r.schemasKnown))
        w.single(PrometheusSchema.schemaRegistryFetchesTotal, Double(r.fetched))
        w.single(PrometheusSchema.schemaRegistryFetchErrorsTotal, Double(r.fetchErrors))
        w.single(PrometheusSchema.schemaRegistryWaitingPartitions, Double(r.waits.count))
        w.family(PrometheusSchema.schemaRegistryWaitSeconds)
        for wait in r.waits {
            w.sample(
                PrometheusSchema.schemaRegistryWaitSeconds,
                [("topic", wait.topic), ("partition", String(wait.partition)), ("schema_id", String(wait.schemaID))],
                seconds(max(0, nowMs - wait.sinceMs)))
        }
    }

    static func renderGroupLag(_ report: GroupLagReport, into w: inout Writer) {
        w.family(PrometheusSchema.groupLagMessages)
        for p in report.partitions {
            w.sample(PrometheusSchema.groupLagMessages, groupLabels(p), Double(p.lag))
        }
        w.family(PrometheusSchema.groupLagSeconds)
        for p in report.partitions {
            w.sample(PrometheusSchema.groupLagSeconds, groupLabels(p), seconds(p.lagMs))
        }
        w.family(PrometheusSchema.groupCommittedOffset)
        for p in report.partitions {
            w.sample(PrometheusSchema.groupCommittedOffset, groupLabels(p), Double(p.committed))
        }
        w.family(PrometheusSchema.groupLogStart)
        for p in report.partitions { w.sample(PrometheusSchema.groupLogStart, groupLabels(p), Double(p.logStart)) }
        w.family(PrometheusSchema.groupDeletedUnreadMessages)
        for p in report.partitions {
            w.sample(PrometheusSchema.groupDeletedUnreadMessages, groupLabels(p), Double(p.deletedUnread))
        }
        w.family(PrometheusSchema.groupStatus)
        for g in report.groups {
            for v in GroupLagVerdict.allCases {
                w.sample(
                    PrometheusSchema.groupStatus, [("group", g.group), ("status", v.rawValue)], g.verdict == v ? 1 : 0)
            }
        }
        w.single(PrometheusSchema.groupUnwatchedGroups, Double(report.unwatchedGroups))
    }

    /// Offsets that went backwards and messages deleted unread, per partition (0 for the healthy ones, so
    /// `increase()` sees the first one), and each partition's log start.
    static func renderOffsetRegressions(_ s: RunSnapshot, into w: inout Writer) {
        let r = s.consumer.offsetRegressions
        w.family(PrometheusSchema.partitionLogStart)
        for p in s.consumer.partitions {
            w.sample(PrometheusSchema.partitionLogStart, partitionLabels(p), Double(p.logStart))
        }
        w.family(PrometheusSchema.offsetsBackwardsTotal)
        for p in s.consumer.partitions {
            w.sample(
                PrometheusSchema.offsetsBackwardsTotal, partitionLabels(p),
                Double(r.backwardsCount["\(p.topic)[\(p.partition)]"] ?? 0))
        }
        w.family(PrometheusSchema.messagesDeletedUnreadTotal)
        for p in s.consumer.partitions {
            w.sample(
                PrometheusSchema.messagesDeletedUnreadTotal, partitionLabels(p),
                Double(r.deletedUnreadMessages["\(p.topic)[\(p.partition)]"] ?? 0))
        }
    }

    /// `--transactions complete`: what is held back from the KPIs and what was released unfinished.
    static func renderTransactions(_ t: TransactionStatus, into w: inout Writer) {
        w.single(PrometheusSchema.transactionsOpen, Double(t.open))
        w.single(PrometheusSchema.transactionsOldestOpenSeconds, seconds(t.oldestAgeMs))
        w.single(PrometheusSchema.transactionsBufferedEvents, Double(t.bufferedEvents))
        w.single(PrometheusSchema.transactionsWaitingRatio, t.waitingShare)
        w.family(PrometheusSchema.transactionsReleasedTotal)
        w.sample(PrometheusSchema.transactionsReleasedTotal, [("outcome", "whole")], Double(t.completed))
        w.sample(PrometheusSchema.transactionsReleasedTotal, [("outcome", "timed_out")], Double(t.timedOut))
        w.sample(PrometheusSchema.transactionsReleasedTotal, [("outcome", "evicted")], Double(t.evicted))
    }

    static func groupLabels(_ p: GroupPartitionLag) -> [(String, String)] {
        [("group", p.group), ("topic", p.topic), ("partition", String(p.partition))]
    }

    static func partitionLabels(_ p: PartitionLag) -> [(String, String)] {
        [("topic", p.topic), ("partition", String(p.partition))]
    }

    static func seconds(_ ms: Int64) -> Double { Double(ms) / 1000 }

    /// Writes families and samples; a family's HELP and TYPE come once, before its samples. Names, types and
    /// help come from `PrometheusSchema` only: a family the schema (and so the document) lacks cannot be written.
    struct Writer {
        var text = ""

        mutating func family(_ family: OutputField) {
            text += "# HELP \(family.name) "
            for c in family.help.unicodeScalars {
                switch c {
                case "\\": text += "\\\\"
                case "\n": text += "\\n"
                default: text.unicodeScalars.append(c)
                }
            }
            text += "\n# TYPE \(family.name) \(family.type)\n"
        }

        /// A family of one unlabelled sample: HELP, TYPE and the sample.
        mutating func single(_ family: OutputField, _ value: Double) {
            self.family(family)
            sample(family, [], value)
        }

        /// A sample of `family`; `suffix` names a summary's `_sum` and `_count` series.
        mutating func sample(_ family: OutputField, suffix: String = "", _ labels: [(String, String)], _ value: Double)
        {
            sample(family, suffix: suffix, labels, text: PrometheusExposition.format(value))
        }

        /// A sample whose value is already text in the format's float syntax (an exact decimal, `NaN`).
        mutating func sample(
            _ family: OutputField, suffix: String = "", _ labels: [(String, String)], text value: String
        ) {
            text += family.name
            text += suffix
            if !labels.isEmpty {
                text += "{"
                for (i, (key, value)) in labels.enumerated() {
                    if i > 0 { text += "," }
                    text += key
                    text += "=\""
                    PrometheusExposition.appendEscapedLabelValue(value, to: &text)
                    text += "\""
                }
                text += "}"
            }
            text += " "
            text += value
            text += "\n"
        }
    }

    /// Label values escape backslash, double quote and line feed (the format's only escapes).
    static func appendEscapedLabelValue(_ value: String, to text: inout String) {
        for c in value.unicodeScalars {
            switch c {
            case "\\": text += "\\\\"
            case "\"": text += "\\\""
            case "\n": text += "\\n"
            default: text.unicodeScalars.append(c)
            }
        }
    }

    /// Go-style float text: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
