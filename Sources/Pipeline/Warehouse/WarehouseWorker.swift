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

/// Capped exponential backoff for reconnecting: 0.5 s, 1 s, 2 s, 4 s, 8 s, 10 s, 10 s…
struct ReconnectBackoff {
    /// The retry interval after an error only a person can fix (a wrong password, a CA that does not
    /// match): the same for every service, and slow enough not to flood logs and server.
    static let slowSeconds = 30.0

    let initialSeconds: Double
    let maximumSeconds: Double
    private var nextSeconds: Double

    init(initialSeconds: Double = 0.5, maximumSeconds: Double = 10) {
        self.initialSeconds = initialSeconds
        self.maximumSeconds = maximumSeconds
        self.nextSeconds = initialSeconds
    }

    /// Delays handed out since the last reset: the failed attempts in a row.
    private(set) var attempts = 0

    mutating func nextDelay() -> Double {
        attempts += 1
        let delay = nextSeconds
        nextSeconds = min(nextSeconds * 2, maximumSeconds)
        return delay
    }

    /// `nextDelay()`, but at least `slowSeconds` while a person must act before a retry can succeed.
    mutating func nextDelay(needsPerson: Bool) -> Double {
        let delay = nextDelay()
        return needsPerson ? max(delay, Self.slowSeconds) : delay
    }

    mutating func reset() {
        nextSeconds = initialSeconds
        attempts = 0
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
