// Shared by every service client in Pipeline (Kafka, Redis, PostgreSQL, Connect, Alertmanager): its own
// file, so no folder depends on Warehouse for it.

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
