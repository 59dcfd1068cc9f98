import Foundation
import Metrics
import Pipeline

// `watch` and `demo` run a started engine here. The pieces sit beside this file, one job each:
// LiveOptions.swift (the options both share), LiveIntegrations.swift (Redis, warehouse, source and the
// service probes), LiveAlerts.swift (the alert rules), LiveHeadless.swift (the headless loop),
// HeadlessLine.swift (one printed line, text or JSON) and LiveDashboard.swift (the dashboard's sources).

/// Runs a started engine until quit: the dashboard, or headless output.
/// `joining`: what to print instead of a line of zeros while the consumer has not joined its group yet
/// (e.g. "still joining the mock cluster…"); in `--json` mode it goes to stderr and no JSON line is printed.
func runLive(
    _ operations: Operations, options: LiveOptions, title: String,
    seconds: Int?, joining: String? = nil
) throws {
    let log = try RunLog(path: options.log)
    let alerts = try startAlerts(operations, options: options)
    defer { alerts?.stop() }
    if options.headless {
        try runHeadless(
            operations, options: options, title: title, seconds: seconds, joining: joining, log: log, alerts: alerts)
    } else {
        try runDashboard(operations, options: options, title: title, alerts: alerts)
    }
}
