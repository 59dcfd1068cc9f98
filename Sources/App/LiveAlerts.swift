import Metrics
import Pipeline

/// The alert rules of the profile, evaluated about once a second on their own thread from the engine's
/// published snapshots (never on the engine thread), delivered to `--alertmanager` and `--alert-exec`.
/// Nil when the profile turns the rules off.
func startAlerts(engine: Engine, options: LiveOptions, integrations: Integrations,
                 connect: ConnectHealthMonitor?, groupLag: GroupLagMonitor? = nil) throws -> AlertMonitor? {
    let rules = engine.options.profile.alerts
    guard rules.enabled else { return nil }
    let sender = try options.alertmanager.map {
        try AlertmanagerSender(url: $0, pipeline: integrations.pipeline, resendMs: rules.resendMs)
    }
    let exec = options.alertExec.map { AlertExecRunner(command: $0) }
    var inputs = AlertInputs(snapshot: {
        guard var s = engine.snapshots.value else { return nil }
        if let groupLag { s.groupLag = groupLag.report }   // --lag-groups
        return s
    })
    if let connect { inputs.connect = { connect.report } }
    if let reconciler = integrations.reconciler { inputs.reconciliation = { reconciler.reconciliation } }
    let monitor = AlertMonitor(rules: rules, pipeline: integrations.pipeline, inputs: inputs, alertmanager: sender, exec: exec)
    monitor.start()
    return monitor
}
