import Testing

@testable import Pipeline

/// `AvroReader.skipLong` (skipped fields: one word load finds a varint's end) must move exactly as
/// far as `long` reads, and fail where `long` fails with the same reason and position: checked for
/// every varint length, valid or not, at every distance from the end of the buffer.
@Suite("Avro reader: skipping a varint agrees with reading it")
struct AvroSkipLongTests {
    /// (position after, or the failure) of one reader call at `start`.
    enum Outcome: Equatable {
        case moved(to: Int)
        case failed(reason: String, at: Int)
    }

    static func outcome(_ bytes: [UInt8], start: Int, skip: Bool) -> Outcome {
        bytes.withUnsafeBytes { raw in
            var r = AvroReader(raw)
            r.pos = start
            do throws(AvroStop) {
                if skip { try r.skipLong() } else { _ = try r.long() }
                return .moved(to: r.pos)
            } catch {
                return .failed(reason: error.reason, at: error.at)
            }
        }
    }

    /// A varint of `length` bytes (continuation bits on all but the last), its last byte `last`.
    static func varint(length: Int, last: UInt8) -> [UInt8] {
        [UInt8](repeating: 0xA5, count: length - 1) + [last]
    }

    @Test("every length 1…11, every tail, valid, overflowing and truncated")
    func agreesWithLong() {
        var checked = 0
        var moved = 0
        for length in 1...11 {
            for last: UInt8 in [0x00, 0x01, 0x02, 0x7F, 0x80] {
                let value = AvroSkipLongTests.varint(length: length, last: last)
                for prefix in 0...2 {
                    for tail in 0...12 {
                        let bytes =
                            [UInt8](repeating: 0x11, count: prefix) + value + [UInt8](repeating: 0x90, count: tail)
                        let skipped = AvroSkipLongTests.outcome(bytes, start: prefix, skip: true)
                        let read = AvroSkipLongTests.outcome(bytes, start: prefix, skip: false)
                        #expect(skipped == read, "length \(length), last \(last), prefix \(prefix), tail \(tail)")
                        if case .moved = read { moved += 1 }
                        checked += 1
                    }
                }
            }
        }
        // Both outcomes occur: the comparison is not vacuous.
        #expect(moved > 0 && moved < checked)
    }

    @Test("an empty remainder fails as long does")
    func atTheEnd() {
        let bytes: [UInt8] = [0x02]
        #expect(
            AvroSkipLongTests.outcome(bytes, start: 1, skip: true)
                == .failed(reason: "truncated: a number was expected", at: 1))
        #expect(
            AvroSkipLongTests.outcome(bytes, start: 1, skip: true)
                == AvroSkipLongTests.outcome(bytes, start: 1, skip: false))
    }
}
