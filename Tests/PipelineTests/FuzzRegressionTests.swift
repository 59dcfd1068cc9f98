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

    /// The unescaper's differential (FuzzUnescaper.swift) on strings built to hit its edges: escapes
    /// that straddle 8-byte words, `\"` as a word's last byte, surrogate pairs and lone surrogates,
    /// bad hex, raw control bytes, unterminated strings, and seeded random strings over the bytes that
    /// matter. The in-place unescaper and the memo must agree with the reference on every one.
    @Test("the in-place unescaper and its memo agree with the reference unescaper")
    func unescaperDifferential() {
        var cases: [[UInt8]] = [
            "", "\"", "abc\"", "abcdefg\"tail", "abcdefgh\"", "abcdefghijklmno\\\"\"",
            "1234567\\\"89012345\"", "12345678\\u00e9abcdefgh\"", "\\ud83d\\ude00\"", "x\\ud83d\"",
            "\\ude00abc\"", "\\ud83d\\u0041\"", "\\u12G4\"", "\\x\"", "tab\there\"", "unterminated",
            "unterminated\\", "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\"", "0123456\\n0123456\\t\"",
        ].map { Array($0.utf8) }
        let alphabet: [UInt8] = Array("\"\\\\u/nbd8Dc0aFA7".utf8) + [0x01, 0x1F, 0x20, 0x7F, 0xC3, 0xA9]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            for _ in 0..<Int(state >> 58) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            cases.append(bytes)
        }
        var memo = UnescapeMemo()
        var failures: [String] = []
        for bytes in cases {
            failures += bytes.withUnsafeBytes { UnescaperDifferential.check($0, memo: &memo, what: "\(bytes)") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        // The reference itself, against Foundation's JSON parser on strings both accept.
        for text in ["caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/ \\n\\t\\b\\f\\r \\u0041", "plain", ""] {
            let json = Array("[\"\(text)\"]".utf8)
            let parsed = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String]
            let reference = Array((text + "\"").utf8).withUnsafeBytes { ReferenceUnescaper.unescape($0, from: 0) }
            #expect(reference.map { String(decoding: $0.decoded, as: UTF8.self) } == parsed?.first, "\(text)")
        }
    }

    @Test("values escaped as a writer would decode back to themselves, through the memo too")
    func unescaperRoundTrip() {
        let schema = String(repeating: "{\"type\":\"struct\",\"fields\":[{\"field\":\"id\"}]}/", count: 12)
        var rawMemo = UnescapeMemo()
        var escapedMemo = UnescapeMemo()
        var failures: [String] = []
        for n in 0..<40 {
            let value = Array("\(schema){\"id\":\(n),\"note\":\"é😀\\\(n)\t\u{1}\"}".utf8)
            failures += value.withUnsafeBytes {
                UnescaperDifferential.check(value: $0, rawMemo: &rawMemo, escapedMemo: &escapedMemo)
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        // The memo kept a shared prefix and the points to resume from: its reuse path was open.
        #expect(escapedMemo.marks.input.count > 8 && escapedMemo.escaped.count > UnescapeMemo.minimumReuse)
    }
}
