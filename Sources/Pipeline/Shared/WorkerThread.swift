import Dispatch
import Foundation
import Synchronization

/// One dedicated thread per background worker (warehouse sink, history, reconciler, Connect and replication
/// slot polls, alert delivery, other groups' lag, registry lookups): their client calls block, and each keeps
/// its own connection on its own thread so the engine and the screen never wait on them.
final class WorkerThread: Sendable {
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
