import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The process's clocks, in one place: wall time for event and snapshot stamps, a monotonic
/// clock for rates, backoff and timeouts (it never jumps when the wall clock is set).
package enum WallClock {
    /// Milliseconds since the epoch (plus the test-only offset of `TestClockOffset`, 0 unless enabled).
    package static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000 + TestClockOffset.shared.offsetMs
    }

    /// Milliseconds on a clock that never jumps.
    package static func monotonicMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Seconds on a clock that never jumps.
    package static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `0.4 s`, `3 s`: a retry delay for status lines.
    package static func secondsText(_ seconds: Double) -> String {
        seconds < 1 ? String(format: "%.1f s", seconds) : "\(Int(seconds.rounded())) s"
    }
}

/// Test-only wall-clock jumps (scripts/chaos): libfaketime hangs librdkafka, so the jump goes through
/// cdctop's own clock. With `CDCTOP_TEST_CLOCK_OFFSET_FILE=PATH` in the environment at start, the file's
/// content (an integer, milliseconds, may be negative; missing or unreadable = 0) is added to
/// `WallClock.nowMs()`, re-read every 100 ms, so a test moves the clock by rewriting the file. Without the
/// variable the offset is 0 and nothing polls. The monotonic clocks are never offset.
package final class TestClockOffset: Sendable {
    package static let shared = TestClockOffset(
        path: ProcessInfo.processInfo.environment["CDCTOP_TEST_CLOCK_OFFSET_FILE"])

    private let offset = Atomic<Int64>(0)

    package var offsetMs: Int64 { offset.load(ordering: .relaxed) }

    init(path: String?) {
        guard let path, !path.isEmpty else { return }
        offset.store(Self.read(path), ordering: .relaxed)
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.1)
                offset.store(Self.read(path), ordering: .relaxed)
            }
        }
        thread.name = "cdctop-test-clock"
        thread.start()
    }

    static func read(_ path: String) -> Int64 {
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8),
            let value = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return 0 }
        return value
    }
}
