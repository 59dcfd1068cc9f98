#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The process's clocks, in one place: wall time for event and snapshot stamps, a monotonic
/// clock for rates, backoff and timeouts (it never jumps when the wall clock is set).
public enum WallClock {
    /// Milliseconds since the epoch.
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Milliseconds on a clock that never jumps.
    public static func monotonicMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Seconds on a clock that never jumps.
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `0.4 s`, `3 s`: a retry delay for status lines.
    public static func secondsText(_ seconds: Double) -> String {
        seconds < 1 ? String(format: "%.1f s", seconds) : "\(Int(seconds.rounded())) s"
    }
}
