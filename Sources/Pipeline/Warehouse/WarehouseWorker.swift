import Dispatch
import Foundation
import Synchronization

/// One dedicated thread per warehouse worker (sink, history, reconciler): libpq calls block, and each
/// worker keeps its own connection on its own thread so the engine and the screen never wait on them.
final class WarehouseWorkerThread: Sendable {
    private let wakeSignal = DispatchSemaphore(value: 0)
    private let finishedSignal = DispatchSemaphore(value: 0)
    private let flags = Mutex<(started: Bool, stopping: Bool, finished: Bool)>((false, false, false))
    let name: String

    init(name: String) { self.name = name }

    /// Starts `body` once; later calls do nothing. `body` must return soon after `isStopping` turns true.
    func start(_ body: @escaping @Sendable () -> Void) {
        let first = flags.withLock { state -> Bool in
            if state.started { return false }
            state.started = true
            return true
        }
        guard first else { return }
        let finished = finishedSignal
        let thread = Thread { [self] in
            body()
            self.flags.withLock { $0.finished = true }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    var isStopping: Bool { flags.withLock { $0.stopping } }

    /// Ends a sleep early (new work arrived, or a reload was asked for).
    func wake() { wakeSignal.signal() }

    /// Sleeps up to `seconds` or until woken. Returns false when the worker should stop.
    @discardableResult
    func sleep(seconds: Double) -> Bool {
        if isStopping { return false }
        _ = wakeSignal.wait(timeout: .now() + .milliseconds(Int(max(0, seconds) * 1000)))
        return !isStopping
    }

    /// Asks the thread to stop and waits up to `waitSeconds` for it to finish its current statement.
    func stop(waitSeconds: Double = 5) {
        let mustWait = flags.withLock { state -> Bool in
            state.stopping = true
            return state.started && !state.finished
        }
        wakeSignal.signal()
        if mustWait {
            _ = finishedSignal.wait(timeout: .now() + .milliseconds(Int(waitSeconds * 1000)))
        }
    }
}

/// PostgreSQL array literals for `unnest($n::type[])` batch parameters: one statement per batch instead of
/// one round trip per row. Values are still parameters, never SQL text.
enum PostgresArrayLiteral {
    static func integers(_ values: some Sequence<Int64>) -> String {
        var out = "{"
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            out += String(v)
        }
        out += "}"
        return out
    }

    /// Numbers already in plain decimal text (Money.formatted()).
    static func decimals(_ values: some Sequence<String>) -> String {
        var out = "{"
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            out += v
        }
        out += "}"
        return out
    }

    /// Text elements, each double-quoted with `\` and `"` escaped, so commas, braces, spaces and NULL
    /// spelled as a word stay data.
    static func texts(_ values: some Sequence<String>) -> String {
        var out = "{"
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            out += "\""
            for scalar in v.unicodeScalars {
                if scalar == "\\" || scalar == "\"" { out += "\\" }
                out.unicodeScalars.append(scalar)
            }
            out += "\""
        }
        out += "}"
        return out
    }
}
