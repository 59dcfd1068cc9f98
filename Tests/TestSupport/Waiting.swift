import Foundation

/// Asks `condition` every `every` seconds until it holds or `seconds` have passed, then once more
/// (a busy machine may wake the poller only after the deadline, when the work was long done).
/// Returns the last answer: the caller asserts on it, with its own message.
public func poll(seconds: Double, every: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: every)
    }
    return try condition()
}

/// `poll` for async tests: sleeps without holding a thread of the cooperative pool.
public func pollAsync(seconds: Double, every: Double = 0.02, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(Int(every * 1000)))
    }
    return try condition()
}

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for: \(what)" }
}

/// Waits until `condition` holds; throws `TimedOut` naming `what` when it never does.
public func waitUntil(_ what: String, seconds: Double = 15, _ condition: () throws -> Bool) throws {
    if try poll(seconds: seconds, condition) { return }
    throw TimedOut(what: what)
}
