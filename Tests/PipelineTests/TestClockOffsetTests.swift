import Foundation
import Testing

@testable import Pipeline

/// The test-only clock offset behind `CDCTOP_TEST_CLOCK_OFFSET_FILE` (scripts/chaos jumps cdctop's clock
/// through it): the file's value is applied at start and follows rewrites; a missing or garbled file is 0.
@Suite("Test clock offset")
struct TestClockOffsetTests {
    @Test func followsTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cdctop-clock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "3600000\n".write(toFile: path, atomically: true, encoding: .utf8)
        let offset = TestClockOffset(path: path)
        #expect(offset.offsetMs == 3_600_000)
        try "-7200000".write(toFile: path, atomically: true, encoding: .utf8)
        // The poller re-reads every 100 ms; wait for it by value (bounded), not by time.
        for _ in 0..<200 where offset.offsetMs != -7_200_000 { Thread.sleep(forTimeInterval: 0.05) }
        #expect(offset.offsetMs == -7_200_000)
        try "not a number".write(toFile: path, atomically: true, encoding: .utf8)
        for _ in 0..<200 where offset.offsetMs != 0 { Thread.sleep(forTimeInterval: 0.05) }
        #expect(offset.offsetMs == 0)
    }

    @Test func offByDefault() {
        #expect(TestClockOffset(path: nil).offsetMs == 0)
        #expect(TestClockOffset(path: "/nonexistent/cdctop-clock").offsetMs == 0)
        // The process-wide clock is real unless the variable is set (it is not, in the test run).
        if ProcessInfo.processInfo.environment["CDCTOP_TEST_CLOCK_OFFSET_FILE"] == nil {
            #expect(TestClockOffset.shared.offsetMs == 0)
            #expect(abs(WallClock.nowMs() - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000)
        }
    }
}
