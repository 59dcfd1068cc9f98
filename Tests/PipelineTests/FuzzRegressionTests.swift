import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Every input the fuzzer (scripts/fuzz) ever crashed on or broke an invariant with, under
/// Fuzz/regressions/, replayed through the same harness the fuzz target runs. A trap here is the
/// old crash coming back.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/regressions")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
    }

    @Test("the regression inputs are there")
    func inputsExist() {
        #expect(FuzzRegressionTests.inputs.count >= 1, "no inputs in \(FuzzRegressionTests.directory.path)")
    }

    @Test("each input runs without a trap and keeps every invariant", arguments: FuzzRegressionTests.inputs)
    func replay(name: String) throws {
        let data = try Data(contentsOf: FuzzRegressionTests.directory.appendingPathComponent(name))
        let violations = Array(data).withUnsafeBytes { FuzzHarness.run($0) }
        #expect(violations.isEmpty, "\(name): \(violations)")
    }

    @Test("the harness reads byte positions and passes a clean create, tombstone and malformed message")
    func harnessDetects() {
        // A sanity check of the checker itself: the byte position parser the invariant relies on.
        #expect(FuzzHarness.bytePosition("amount \"NaN\" is not a number (at byte 57)") == 57)
        #expect(FuzzHarness.bytePosition("no position") == nil)
        // And a real input: one create, one tombstone, one malformed — three outcomes, no violation.
        let input: [UInt8] =
            [0]
            + Array(
                "\u{8}{\"before\":null,\"after\":{\"id\":1,\"amount\":\"1.00\"},\"source\":{\"ts_ms\":1},\"op\":\"c\"}"
                    .utf8)
            + [0x0A, 0x88, 0x0A, 0x08] + Array("{\"op\":\"c\"}".utf8)
        #expect(input.withUnsafeBytes { FuzzHarness.run($0) } == [])
    }
}
