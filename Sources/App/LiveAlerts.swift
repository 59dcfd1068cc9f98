import Metrics
import Pipeline

/// The alert rules of the profile, evaluated about once a second on their own thread from the engine's
/// published snapshots (never on the engine thread), delivered to `--alertmanager` and `--alert-exec`.
/// Nil when the profile turns the rules off.
func startAlerts(_ operations: Operations, options: LiveOptions) throws -> AlertMonitor? {
    let integrations = operations.integrations
    let rules = operations.engine.options.profile.alerts
    guard rules.enabled else { return nil }
    // A viewer of another cdctop's state shows the alerts but leaves sending them to the writer, which
    // evaluates the same rules on the same data: two senders would page twice (--alert-exec).
    let delivers = operations.engine.viewerOfPID == nil
    let sender = try (delivers ? options.alertmanager : nil).map {
        try AlertmanagerSender(
            url: $0, pipeline: integrations.pipeline, resendMs: rules.resendMs,
            authFile: options.alertmanagerHTTP.authFile, caFile: options.alertmanagerHTTP.caFile)
    }
    let exec = (delivers ? options.alertExec : nil).map { AlertExecRunner(command: $0) }
    var inputs = AlertInputs(snapshot: { operations.snapshot() })  // with --lag-groups' report
    if let connect = operations.connect { inputs.connect = { connect.report } }
    if let reconciler = integrations.reconciler { inputs.reconciliation = { reconciler.reconciliation } }
    let monitor = AlertMonitor(
        rules: rules, pipeline: integrations.pipeline, inputs: inputs, alertmanager: sender, exec: exec,
        lagThresholds: operations.engine.options.profile.lag)
    monitor.start()
    return monitor
}
