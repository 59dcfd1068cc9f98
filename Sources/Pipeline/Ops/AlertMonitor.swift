import Foundation
import Metrics
import Synchronization

/// Where the alert rules read their facts from; each closure returns at once (a `Latest` read).
package struct AlertInputs: Sendable {
    package var snapshot: @Sendable () -> RunSnapshot?
    /// Kafka Connect health (`--connect`); nil when not configured (the connector rules then stay quiet).
    package var connect: (@Sendable () -> ConnectHealthReport)?
    /// Reconciliation against the source (`--source`); nil when not configured.
    package var reconciliation: (@Sendable () -> Reconciliation?)?

    package init(
        snapshot: @escaping @Sendable () -> RunSnapshot?,
        connect: (@Sendable () -> ConnectHealthReport)? = nil,
        reconciliation: (@Sendable () -> Reconciliation?)? = nil
    ) {
        self.snapshot = snapshot
        self.connect = connect
        self.reconciliation = reconciliation
    }

    /// The facts at `nowMs`. Unknown stays nil: a Connect worker that cannot be reached, a reconciliation
    /// that has not compared yet (or waits for lag to drain), no snapshot yet.
    package func facts(nowMs: Int64) -> AlertFacts {
        var facts = snapshot().map { AlertFacts(snapshot: $0, nowMs: nowMs) } ?? AlertFacts(nowMs: nowMs)
        if let report = connect?(), report.pollError == nil, report.checkedAtMs > 0 {
            facts.connectors = report.connectors.map {
                AlertFacts.Connector(name: $0.name, state: $0.overallState.rawValue, reason: $0.failureReason)
            }
        }
        if let r = reconciliation?() ?? nil, r.verdict == .agree || r.verdict == .drift {
            facts.reconciliation = r.verdict
            facts.reconciliationDetail = r.detail
        }
        return facts
    }
}

/// Runs the alert evaluator about once a second on its own thread (never the engine's), publishes
/// the Alerts panel, and hands each fired or resolved alert to the configured deliveries.
package final class AlertMonitor: Sendable {
    package let rules: AlertRules
    package let pipeline: String
    private let inputs: AlertInputs
    package let alertmanager: AlertmanagerSender?
    private let exec: AlertExecRunner?
    private let clock: @Sendable () -> Int64
    private let everySeconds: Double
    private let worker = WorkerThread(name: "cdctop-alerts")
    private let evaluator: Mutex<AlertEvaluator>
    /// What the dashboard and `--json` show; updated after every evaluation.
    package let panel = Latest<AlertPanel>(AlertPanel())

    package init(
        rules: AlertRules, pipeline: String, inputs: AlertInputs, alertmanager: AlertmanagerSender? = nil,
        exec: AlertExecRunner? = nil, everySeconds: Double = 1,
        clock: @escaping @Sendable () -> Int64 = { WallClock.nowMs() }, lagThresholds: LagThresholds = LagThresholds()
    ) {
        self.rules = rules
        self.pipeline = pipeline
        self.inputs = inputs
        self.alertmanager = alertmanager
        self.exec = exec
        self.everySeconds = max(0.05, everySeconds)
        self.clock = clock
        evaluator = Mutex(AlertEvaluator(rules: rules, lagThresholds: lagThresholds))
    }

    deinit { worker.stop(waitSeconds: 1) }

    package func start() {
        alertmanager?.start()
        exec?.start()
        guard rules.enabled else { return }
        worker.start { [weak self] in self?.run() }
    }

    /// Stops evaluating, then lets delivery send what is queued (bounded waits).
    package func stop() {
        worker.stop()
        alertmanager?.stop()
        exec?.stop()
    }

    /// One evaluation on the caller's thread; returns the transitions it delivered.
    @discardableResult
    package func evaluateNow() -> [AlertTransition] {
        let now = clock()
        let facts = inputs.facts(nowMs: now)
        let (transitions, current, firing) = evaluator.withLock { e in
            let t = e.evaluate(facts)
            return (t, e.panel(nowMs: now), e.firing)
        }
        panel.publish(current)
        if !transitions.isEmpty {
            alertmanager?.update(transitions: transitions, firing: firing)
            for t in transitions {
                exec?.submit(t.alert.json(pipeline: pipeline, withStatus: true), key: t.alert.key.description)
            }
        }
        return transitions
    }

    private func run() {
        while !worker.isStopping {
            evaluateNow()
            worker.sleep(seconds: everySeconds)
        }
    }
}
