import Foundation
import Metrics
import Pipeline

/// One headless line: the `--json` object (written by `JSONLine` in Pipeline/Output, docs/outputs/json.md) or
/// the text summary, plus Kafka Connect health when `--connect` is given (`connect shop RUNNING 1/1 · heartbeat
/// 1s ago`), the failing services, and `alerts N firing` with the alert rules on.
func headlessLine(
    _ s: RunSnapshot, json: Bool, connect: ConnectHealthReport?, alerts: AlertPanel? = nil,
    services: ConnectionBoard? = nil
) -> String {
    if json {
        var board = services ?? ConnectionBoard()
        // A one-off line without a board: Kafka's status from the snapshot alone.
        if services == nil {
            _ = board.update([ServiceProbe(name: "kafka", target: "", status: s.consumer.kafka)], nowMs: s.takenAtMs)
        }
        return JSONLine.encode(
            s, connect: connect, alerts: alerts, servicesJSON: board.json(), nowMs: WallClock.nowMs())
    }
    let alertsText = alerts.map { $0.firingCount > 0 ? "  alerts \($0.firingCount) firing" : "" } ?? ""
    let failing = services.map(failingServicesText) ?? ""
    guard let connect else { return summaryLine(s) + failing + alertsText }
    let status = connect.status(
        lastHeartbeatMs: s.kpis.lastHeartbeatMs, nowMs: WallClock.nowMs(),
        watchedTopics: s.consumer.topics)
    return summaryLine(s) + failing + "  " + status.detail + " [\(status.state.rawValue)]" + alertsText
}

/// Text lines name each failing service besides Kafka (which `summaryLine` shows) and Connect (shown after)
/// with its error: `  redis error (connecting to redis://…: Connection refused)`.
func failingServicesText(_ board: ConnectionBoard) -> String {
    var text = ""
    for e in board.entries where e.name != "kafka" && e.name != "connect" {
        let failing =
            e.status.state == .error || e.status.state == .stalled
            || (e.status.state == .connecting && e.status.error != nil)
        guard failing else { continue }
        text += "  \(e.name) \(e.status.state.rawValue) (\(RunOutcome.oneLine(e.status.error ?? e.status.detail)))"
    }
    return text
}
