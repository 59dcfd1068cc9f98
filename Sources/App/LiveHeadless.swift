import Foundation
import Metrics
import Pipeline

/// The headless run: one line per snapshot (text, or a JSON object with `--json`) every `--interval`
/// ms until quit, `seconds` or an engine error; service changes, events and alerts go to `--log`.
/// `joining`: see `runLive`.
func runHeadless(
    _ operations: Operations, options: LiveOptions, title: String, seconds: Int?, joining: String?, log: RunLog,
    alerts: AlertMonitor?
) throws {
    let engine = operations.engine
    let integrations = operations.integrations
    let connect = operations.connect
    let kafkaTarget = engine.options.consumer.brokers
    log.write("start: headless\(options.json ? " --json" : "") \(title)")
    var board = ConnectionBoard()
    var events = SnapshotEventLog()
    var alertLog = AlertLog()
    let interrupted = InterruptFlag()
    let started = Date()
    let deadline = seconds.map { Date().addingTimeInterval(TimeInterval($0)) }
    var lastPrinted: UInt64 = 0
    var nextPrint = Date()
    while true {
        let done = interrupted.isRaised || (deadline.map { Date() >= $0 } ?? false) || engine.error != nil
        let snap = operations.snapshot()
        let nowMs = WallClock.nowMs()
        logServiceChanges(
            &board, log, kafkaTarget: kafkaTarget, snapshot: snap, integrations: integrations, connect: connect,
            nowMs: nowMs)
        if let s = snap, Date() >= nextPrint || done, s.sequence != lastPrinted {
            lastPrinted = s.sequence
            nextPrint = Date().addingTimeInterval(Double(options.interval) / 1000)
            for line in events.lines(s) + alertLog.lines(alerts?.panel.value) { log.write(line, nowMs: nowMs) }
            // While joining, a text line of zeros would look like data: the note stands in for it. JSON lines
            // keep coming (services.kafka.state says "connecting") and the note goes to stderr.
            var printsLine = true
            if let joining, stillJoining(s) {
                let kafka = board.entry("kafka")
                var note =
                    "\(joining) (\(TimeText.duration(ms: Int64(Date().timeIntervalSince(started) * 1000))) so far"
                if let kafka, kafka.attempts > 0 { note += ", attempt \(kafka.attempts)" }
                note += ", \(s.consumer.kafka.detail))"
                if let error = kafka?.lastError, error != s.consumer.kafka.detail { note += ", last error: \(error)" }
                if options.json { printError(note) } else { print(note) }
                printsLine = options.json
            }
            if printsLine {
                print(
                    headlessLine(
                        s, json: options.json, connect: connect?.report, alerts: alerts?.panel.value,
                        services: board))
            }
            fflush(nil)
        }
        if done { break }
        Thread.sleep(forTimeInterval: 0.02)
    }
    if let e = engine.error {
        log.write("stopped: \(e)")
        throw e
    }
    log.write("quit")
}

/// True while the consumer has no partition and has read nothing: a line of zeros would look like data.
func stillJoining(_ s: RunSnapshot) -> Bool {
    // Assigned but no end offset known yet is still joining too: the first fetch has not answered.
    s.kpis.result.messages == 0 && s.consumer.kafka.state != .error
        && (s.consumer.partitions.isEmpty || s.consumer.partitions.allSatisfy { $0.highWatermark < 0 })
}
