import Metrics
import Pipeline

/// The Connections panel (`c`) and the connecting screen: every service with its state, since when,
/// the last error in full (wrapped, never cut), attempts and the next retry.
enum ConnectionsView {
    /// True while nothing arrived yet: no snapshot, or no partition and no message (a screen of zeros
    /// would look like data).
    static func waitingForData(_ s: RunSnapshot?) -> Bool {
        guard let s else { return true }
        return s.consumer.partitions.isEmpty && s.kpis.result.messages == 0
    }

    /// The body while connecting: what is tried, the attempt, the last error, then every service.
    static func connectingScreen(_ b: inout ScreenBuffer, _ area: Rect, _ frame: DashboardFrame) {
        let g = frame.glyphs
        let kafka = frame.connections.first { $0.name == "kafka" }
        let target = kafka?.target ?? ""
        let title = "Connecting to Kafka" + (target.isEmpty ? "" : " " + target)
        let inner = Widgets.box(&b, area, title: title, glyphs: g, titleStyle: Style(.warn, bold: true))
        guard inner.height > 0 else { return }
        var lines: [(String, Style)] = []
        let elapsed = Format.age(frame.nowMs - (kafka?.sinceMs ?? frame.nowMs))
        if let kafka {
            var head = "\(kafka.status.state.rawValue) for \(elapsed)"
            if kafka.attempts > 0 { head += ", attempt \(kafka.attempts)" }
            head += " " + sep(g) + " no partition assigned, no message read yet"
            lines.append((head, Style(.warn, bold: true)))
            if !kafka.status.detail.isEmpty, !(kafka.lastError.map { kafka.status.detail.contains($0) } ?? false) {
                lines.append(("now: " + kafka.status.detail, .text))
            }
            if let error = kafka.lastError {
                lines.append(("last error (seen \(Format.age(frame.nowMs - kafka.lastErrorAtMs)) ago):", .dim))
                for l in wrap(error, width: inner.width - 2) { lines.append(("  " + l, Style(.bad, bold: true))) }
                lines.append(
                    (
                        error.hasSuffix(KafkaError.stoppedNote)
                            ? "no retry: retrying cannot help; fix the settings and start cdctop again"
                            : "next retry: librdkafka reconnects by itself (backoff up to reconnect.backoff.max.ms, 10 s by default)",
                        .dim
                    ))
            } else {
                lines.append(("no error so far: waiting for the broker's answer and the group assignment", .dim))
            }
        } else {
            lines.append(("waiting for the first snapshot from the engine" + g.ellipsisText, .dim))
        }
        lines.append(("", .text))
        lines.append(
            ("Check: the broker list (--brokers), that the topics exist (--topics), -F/-X security settings;", .dim))
        lines.append(("press c for every service, q to quit. Data appears here as soon as it arrives.", .dim))
        var row = 0
        for (text, style) in lines where row < inner.height {
            for piece in wrap(text, width: inner.width) where row < inner.height {
                b.put(piece, in: inner, row: row, style: style, ellipsis: g.ellipsis)
                row += 1
            }
        }
        let others = frame.connections.filter { $0.name != "kafka" }
        if !others.isEmpty, inner.height - row >= 4 {
            row += 1
            let rest = Rect(x: inner.x, y: inner.y + row, width: inner.width, height: inner.height - row)
            list(&b, rest, others, frame)
        }
    }

    /// A boxed panel over the body (key `c`).
    static func overlay(_ b: inout ScreenBuffer, _ area: Rect, _ frame: DashboardFrame) {
        let g = frame.glyphs
        let margin = area.width >= 100 ? 4 : 1
        let rect = Rect(x: area.x + margin, y: area.y + 1, width: area.width - 2 * margin, height: area.height - 2)
        b.fill(rect, style: .text)
        let inner = Widgets.box(&b, rect, title: "Connections " + sep(g) + " c or Esc closes", glyphs: g)
        guard inner.height > 0 else { return }
        var row = 0
        if frame.connections.isEmpty {
            b.put("no service seen yet", in: inner, row: 0, style: .dim)
            row = 1
        } else {
            row = list(&b, inner, frame.connections, frame)
        }
        // The services this run does not use, and the option that would turn each on.
        let present = Set(frame.connections.map(\.name))
        let unused = optionalServices.filter { !present.contains($0.name) }
        guard !unused.isEmpty, row + 2 < inner.height else { return }
        row += 1
        b.put("not in use:", in: inner, row: row, style: .dim)
        row += 1
        for service in unused where row < inner.height {
            b.put(
                "  \(g == .ascii ? "o" : "○") \(service.title): \(service.option)", in: inner, row: row, style: .dim,
                ellipsis: g.ellipsis)
            row += 1
        }
    }

    /// The services a run may leave off, with what turns each on (the Connections panel's last lines).
    static let optionalServices: [(name: String, title: String, option: String)] = [
        ("redis", "Redis mirror", "--redis redis://HOST:PORT/DB, then m toggles it"),
        ("warehouse", "PostgreSQL warehouse", "--warehouse postgresql://… (closed windows, History)"),
        ("source", "PostgreSQL source", "--source postgresql://… on watch (reconciliation, replication slots)"),
        ("connect", "Kafka Connect", "--connect http://HOST:8083 on watch (connector health, alerts)"),
    ]

    /// One block per service: `● Kafka  error for 12s · attempt 7 · 127.0.0.1:1`, then the error in full.
    @discardableResult
    static func list(_ b: inout ScreenBuffer, _ inner: Rect, _ entries: [ConnectionEntry], _ frame: DashboardFrame)
        -> Int
    {
        let g = frame.glyphs
        var row = 0
        for e in entries where row < inner.height {
            let mark = e.status.state == .off ? (g == .ascii ? "o" : "○") : String(g.dot)
            var head = "\(mark) \(e.title)" + (e.target.isEmpty ? "" : " \(e.target)")
            head += "  \(e.status.state.rawValue) for \(Format.age(frame.nowMs - e.sinceMs))"
            if e.attempts > 0 { head += " \(sep(g)) attempt \(e.attempts)" }
            if e.nextRetryAtMs > 0, e.status.state != .ok {
                let wait = e.nextRetryAtMs - frame.nowMs
                head += " \(sep(g)) " + (wait > 0 ? "next retry in \(Format.age(wait))" : "retrying now")
            } else if e.name == "kafka", e.status.state != .ok {
                head +=
                    " \(sep(g)) "
                    + (e.lastError?.hasSuffix(KafkaError.stoppedNote) == true
                        ? "stopped: fix the settings" : "librdkafka retries by itself")
            }
            b.put(
                head, in: inner, row: row, style: DashboardRenderer.serviceStyle(e.status).bolded, ellipsis: g.ellipsis)
            row += 1
            // The detail repeats the error with a countdown while failing: shown once, as the error.
            let failing = e.status.state != .ok && e.lastError != nil
            if !e.status.detail.isEmpty, e.status.detail != e.target,
                !(failing && e.status.detail.contains(e.lastError!)), row < inner.height
            {
                for l in wrap(e.status.detail, width: inner.width - 4) where row < inner.height {
                    b.put("    " + l, in: inner, row: row, style: .dim, ellipsis: g.ellipsis)
                    row += 1
                }
            }
            if let error = e.lastError, row < inner.height {
                let recovered = e.status.state == .ok
                b.put(
                    recovered
                        ? "    last error \(Format.age(frame.nowMs - e.lastErrorAtMs)) ago (recovered since):"
                        : "    error (last seen \(Format.age(frame.nowMs - e.lastErrorAtMs)) ago):",
                    in: inner, row: row, style: .dim, ellipsis: g.ellipsis)
                row += 1
                for l in wrap(error, width: inner.width - 6) where row < inner.height {
                    b.put("      " + l, in: inner, row: row, style: recovered ? .warn : .bad, ellipsis: g.ellipsis)
                    row += 1
                }
            }
            if e.name == "replication_slots", let report = frame.snapshot?.integrations.replicationSlots {
                row = slotLines(&b, inner, from: row, report, frame)
            }
            if e.name == "connect", let report = frame.connect {
                row = connectorLines(&b, inner, from: row, report, frame)
            }
        }
        return row
    }

    /// One line per logical replication slot of the source, red when it breaks `CdcReplicationSlotLag`
    /// (the profile's thresholds): `● debezium  shop · pgoutput  retained 1.5 GiB · inactive for 12m · no advance for 12m`.
    static func slotLines(
        _ b: inout ScreenBuffer, _ inner: Rect, from start: Int, _ report: ReplicationSlotReport,
        _ frame: DashboardFrame
    ) -> Int {
        let g = frame.glyphs
        let rules = frame.alerts?.rules ?? .defaults
        var row = start
        if report.error != nil, report.checkedAtMs > 0, !report.slots.isEmpty, row < inner.height {
            b.put(
                "    slots as last read at \(Format.clock(report.checkedAtMs)) UTC:", in: inner, row: row, style: .dim,
                ellipsis: g.ellipsis)
            row += 1
        }
        for slot in report.slots where row < inner.height {
            let problem = rules.slotProblem(slot, nowMs: frame.nowMs) != nil
            b.put(
                "    " + slotLine(slot, nowMs: frame.nowMs, glyphs: g), in: inner, row: row,
                style: problem ? Style(.bad, bold: true) : (slot.active ? .text : Style(.warn)), ellipsis: g.ellipsis)
            row += 1
        }
        return row
    }

    /// The connectors writing the watched topics first, one line each (with the failure's first trace
    /// line); the worker's other connectors after them, under their own heading, dimmed.
    static func connectorLines(
        _ b: inout ScreenBuffer, _ inner: Rect, from start: Int, _ report: ConnectHealthReport,
        _ frame: DashboardFrame
    ) -> Int {
        let g = frame.glyphs
        let (watched, others) = (frame.connectScope.watched, frame.connectScope.others)
        var row = start
        func line(_ c: ConnectorHealth, dim: Bool) {
            guard row < inner.height else { return }
            let state = c.overallState
            let style: Style =
                dim ? .dim : (state == .running ? .text : state == .failed ? Style(.bad, bold: true) : Style(.warn))
            let running = c.tasks.filter { $0.state == .running }.count
            var text = "    \(g.dot) \(c.name)  \(state.rawValue) \(sep(g)) tasks \(running)/\(c.tasks.count)"
            if let prefix = c.topicPrefix { text += " \(sep(g)) topics \(prefix).*" }
            b.put(text, in: inner, row: row, style: style, ellipsis: g.ellipsis)
            row += 1
            if let reason = c.failureReason, row < inner.height {
                b.put("      " + reason, in: inner, row: row, style: dim ? .dim : .bad, ellipsis: g.ellipsis)
                row += 1
            }
        }
        if watched.isEmpty, !others.isEmpty, row < inner.height {
            b.put(
                "    no connector on this worker writes the watched topics (its topic.prefix is not theirs)", in: inner,
                row: row,
                style: Style(.warn), ellipsis: g.ellipsis)
            row += 1
        }
        for c in watched { line(c, dim: false) }
        if !others.isEmpty, row < inner.height {
            b.put("    other connectors on this worker:", in: inner, row: row, style: .dim, ellipsis: g.ellipsis)
            row += 1
            for c in others { line(c, dim: true) }
        }
        return row
    }

    /// The text of one slot's line (without indentation).
    static func slotLine(_ slot: ReplicationSlot, nowMs: Int64, glyphs g: Glyphs) -> String {
        let mark = slot.active ? String(g.dot) : (g == .ascii ? "o" : "○")
        var text = "\(mark) \(slot.name)  \(slot.database) \(sep(g)) \(slot.plugin)  retained "
        text += slot.retainedBytes.map(ReplicationSlotReport.bytesText) ?? "?"
        if let restart = slot.restartRetainedBytes, restart != slot.retainedBytes {
            text += " (restart_lsn \(ReplicationSlotReport.bytesText(restart)))"
        }
        if slot.active {
            text += " \(sep(g)) active" + (slot.activePID.map { " pid \($0)" } ?? "")
        } else {
            let idle = max(0, nowMs - slot.inactiveSinceMs)
            text += " \(sep(g)) inactive for " + (slot.inactiveSinceExact ? "" : "at least ") + Format.age(idle)
        }
        let still = max(0, nowMs - slot.lastAdvanceMs)
        text +=
            " \(sep(g)) "
            + (slot.advanceSeen ? "advanced \(Format.age(still)) ago" : "no advance for \(Format.age(still))")
        if let status = slot.walStatus, status != "reserved" { text += " \(sep(g)) wal_status \(status)" }
        if let safe = slot.safeWALSizeBytes {
            text += " \(sep(g)) \(ReplicationSlotReport.bytesText(safe)) until WAL is lost"
        }
        return text
    }

    static func sep(_ g: Glyphs) -> String { g == .ascii ? "-" : "·" }

    /// Splits `text` into lines of at most `width` cells, at spaces when possible; nothing is dropped.
    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 4 else { return [text] }
        var out: [String] = []
        var line = ""
        var lineWidth = 0
        // Multi-line errors (libpq's "refused\n\tIs the server…") flow as one paragraph.
        let flat = String(text.map { $0 == "\n" || $0 == "\t" || $0 == "\r" ? " " : $0 })
        for word in flat.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            var word = word
            var w = DisplayWidth.of(word)
            if lineWidth > 0, lineWidth + 1 + w > width {
                out.append(line)
                line = ""
                lineWidth = 0
            }
            while w > width {
                // A word longer than a line (a URL, a stack frame) is cut into pieces.
                var head = ""
                var used = 0
                for c in word {
                    let cw = DisplayWidth.of(String(c))
                    if used + cw > width { break }
                    head.append(c)
                    used += cw
                }
                if head.isEmpty { head = String(word.first!) }
                out.append(head)
                word = String(word.dropFirst(head.count))
                w = DisplayWidth.of(word)
            }
            if lineWidth > 0 {
                line += " "
                lineWidth += 1
            }
            line += word
            lineWidth += w
        }
        if !line.isEmpty || out.isEmpty { out.append(line) }
        return out
    }
}

extension Glyphs {
    var ellipsisText: String { String(ellipsis) == "~" ? "..." : String(ellipsis) }
}
