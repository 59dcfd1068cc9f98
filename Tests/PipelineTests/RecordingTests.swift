import Foundation
import Metrics
import Testing

@testable import Pipeline

/// Recordings written to temporary files and pipes, read back in small chunks so that every line
/// boundary lands somewhere awkward.
enum RecordingFixture {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(
            "cdctop-rec-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
        ).path
    }

    static func write(_ bytes: [UInt8], name: String = "r.txt") throws -> String {
        let path = temporaryPath(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Every message of a recording as owning copies, read through a scanner in `chunkSize` chunks.
    static func scan(_ scanner: RecordingScanner) throws -> (messages: [OwnedMessage], batches: [RecordingBatch]) {
        var out: [OwnedMessage] = []
        var topics: [String] = []
        let batch = scanner.makeBatch()
        var seen: [RecordingBatch] = []
        while try scanner.fill(batch) {
            #expect(batch.firstNewTopic == topics.count)
            topics += batch.newTopics
            for e in batch.entries {
                out.append(
                    OwnedMessage(
                        topic: topics[Int(e.topic)], partition: e.partition, offset: e.offset,
                        timestampMs: e.timestampMs, key: batch.key(e).map { Array($0) },
                        value: batch.value(e).map { Array($0) }))
            }
        }
        seen.append(batch)
        return (out, seen)
    }

    static func scan(file bytes: [UInt8], chunkSize: Int) throws -> [OwnedMessage] {
        let path = try write(bytes)
        defer { unlink(path) }
        return try scan(RecordingScanner(path: path, chunkSize: chunkSize)).messages
    }

    /// A pipe whose write end is fed by another thread in small, uneven writes (short reads on the other end).
    static func pipe(feeding bytes: [UInt8], pieces: Int = 7) -> Int32 {
        var fds: [Int32] = [0, 0]
        precondition(Glibc.pipe(&fds) == 0)
        let writeEnd = fds[1]
        let thread = Thread {
            var at = 0
            var step = 1
            bytes.withUnsafeBytes { all in
                while at < all.count {
                    let n = min(step, all.count - at)
                    let written = Glibc.write(writeEnd, all.baseAddress! + at, n)
                    if written <= 0 { break }
                    at += written
                    step = step % pieces * 13 + 1  // 1, 14, 27, … uneven
                }
            }
            close(writeEnd)
        }
        thread.start()
        return fds[0]
    }

    static func kcatJ(
        _ topic: String, _ partition: Int32, _ offset: Int64, key: [UInt8]?, value: [UInt8]?, ts: Int64 = 1
    ) -> [UInt8] {
        var out: [UInt8] = []
        KcatRecording.appendKcatJSONLine(
            to: &out, topic: topic, partition: partition, offset: offset, key: key, value: value,
            timestampMs: ts)
        return out
    }

    static func tab(_ topic: String, _ partition: Int32, _ offset: Int64, key: [UInt8]?, value: [UInt8]?) -> [UInt8] {
        Array("\(topic)\t\(partition)\t\(offset)\t".utf8) + (key ?? []) + [0x09] + (value ?? [])
    }
}

private struct Expected: Equatable, CustomStringConvertible {
    var topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?
    init(_ m: OwnedMessage) {
        (topic, partition, offset, key, value) = (m.topic, m.partition, m.offset, m.key, m.value)
    }
    init(_ topic: String, _ partition: Int32, _ offset: Int64, _ key: [UInt8]?, _ value: [UInt8]?) {
        (self.topic, self.partition, self.offset, self.key, self.value) = (topic, partition, offset, key, value)
    }
    var description: String {
        "\(topic)/\(partition)@\(offset) key \(key?.count ?? -1) B value \(value?.count ?? -1) B"
    }
}

@Suite("Recording reader: chunked streaming, every format, file and line in errors")
struct RecordingTests {
    /// Messages of every size (a few bytes to many chunks), in both line forms, with CRLF, blank
    /// lines and no newline at the end.
    private static func mixedRecording() -> (bytes: [UInt8], expected: [Expected]) {
        var bytes: [UInt8] = []
        var expected: [Expected] = []
        var rng = SystemRandomNumberGenerator()
        let sizes = [0, 1, 2, 15, 16, 17, 63, 64, 65, 100, 1000, 5000, 3, 40_000, 7, 129]
        for (i, size) in sizes.enumerated() {
            // Values with quotes, backslashes, control bytes and non-ASCII text, so kcat -J must escape.
            var value: [UInt8] = []
            let alphabet = Array("{\"a\":\\é\t\n/ xyz0123}".utf8)
            for _ in 0..<size { value.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]) }
            let topic = i % 3 == 0 ? "shop.public.transaction" : (i % 3 == 1 ? "shop.public.product" : "other")
            let key: [UInt8]? = i % 5 == 4 ? nil : Array("{\"id\":\(i)}".utf8)
            // Tab form can hold neither a newline in its value nor a tab in its key, and says "tombstone"
            // with an empty value; kcat -J can hold anything, null included.
            let useTab = i % 2 == 1
            var v: [UInt8]? = i % 7 == 6 ? nil : value
            // (Nor trailing spaces or CR, which the reader trims from every line.)
            if useTab {
                v = v?.filter { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 }
                if v?.isEmpty == true { v = nil }
            }
            if useTab {
                bytes += RecordingFixture.tab(topic, Int32(i % 4), Int64(i * 10), key: key, value: v)
                expected.append(Expected(topic, Int32(i % 4), Int64(i * 10), key, v))
            } else {
                bytes += RecordingFixture.kcatJ(topic, Int32(i % 4), Int64(i * 10), key: key, value: v)
                expected.append(Expected(topic, Int32(i % 4), Int64(i * 10), key, v))
            }
            switch i % 4 {
            case 0: bytes += [0x0A]
            case 1: bytes += [0x0D, 0x0A]
            case 2: bytes += [0x0A, 0x0A, 0x0D, 0x0A]  // blank lines in between
            default: bytes += [0x0A, 0x20, 0x20, 0x0A]  // a line of spaces
            }
        }
        bytes += RecordingFixture.kcatJ("last", 0, 99, key: Array("k".utf8), value: Array("no newline at the end".utf8))
        expected.append(Expected("last", 0, 99, Array("k".utf8), Array("no newline at the end".utf8)))
        return (bytes, expected)
    }

    @Test(
        "lines cut anywhere by chunk boundaries, longer than the buffer, CRLF, blank, unterminated",
        arguments: [16, 17, 31, 64, 100, 1000, 4096, 1 << 20])
    func chunkBoundaries(chunkSize: Int) throws {
        let (bytes, expected) = Self.mixedRecording()
        let got = try RecordingFixture.scan(file: bytes, chunkSize: chunkSize).map(Expected.init)
        #expect(got.count == expected.count)
        for (g, e) in zip(got, expected) where g != e { Issue.record("chunk \(chunkSize): got \(g), expected \(e)") }
    }

    @Test("a pipe with short reads gives the same messages as the file", arguments: [16, 333, 8192])
    func pipeWithShortReads(chunkSize: Int) throws {
        let (bytes, expected) = Self.mixedRecording()
        let fd = RecordingFixture.pipe(feeding: bytes)
        let scanner = RecordingScanner(descriptor: fd, name: "pipe", chunkSize: chunkSize, ownsDescriptor: true)
        let got = try RecordingFixture.scan(scanner).messages.map(Expected.init)
        #expect(got == expected)
    }

    @Test("an empty recording, and one of blank lines only, have no messages")
    func emptyInputs() throws {
        #expect(try RecordingFixture.scan(file: [], chunkSize: 16).isEmpty)
        #expect(try RecordingFixture.scan(file: Array("\n\r\n  \n\n".utf8), chunkSize: 4).isEmpty)
    }

    @Test("the read buffer stays at its chunk size when no line is longer: memory does not follow the file")
    func bufferDoesNotGrowWithTheFile() throws {
        var bytes: [UInt8] = []
        for i in 0..<2000 {
            bytes +=
                RecordingFixture.kcatJ("t", 0, Int64(i), key: nil, value: Array(repeating: 0x61, count: 200)) + [0x0A]
        }
        let path = try RecordingFixture.write(bytes)
        defer { unlink(path) }
        let scanner = try RecordingScanner(path: path, chunkSize: 4096)
        let (messages, batches) = try RecordingFixture.scan(scanner)
        #expect(messages.count == 2000)
        #expect(bytes.count > 100 * 4096)
        #expect(batches.allSatisfy { $0.capacity == 4096 })
    }

    @Test("kcat -J strings are unescaped exactly: every escape JSON has, surrogate pairs, raw non-UTF-8 bytes")
    func kcatEscapes() throws {
        var rng = SystemRandomNumberGenerator()
        // Written by hand, not by our encoder: \/ \b \f \u00e9 and a surrogate pair are legal JSON that
        // yajl does not produce but other tools do.
        let line =
            #"{"topic":"a\/b","partition":1,"offset":2,"ts":3,"key":"k\"1\\","payload":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\u0041é"}"#
        let m = try #require(try RecordingReader.parse(line: Substring(line), file: "f", lineNumber: 1))
        #expect(m.topic == "a/b" && m.partition == 1 && m.offset == 2 && m.timestampMs == 3)
        #expect(m.key == Array("k\"1\\".utf8))
        #expect(m.value == Array("x\"\\/\u{8}\u{c}\n\r\té😀Aé".utf8))
        // Dense quotes and backslashes at every offset of a word, every length to 100 and a long one.
        let dense = Array("\"\\ab\n:{".utf8)
        for size in Array(0...100) + [5000] {
            for _ in 0..<4 {
                let value = (0..<size).map { _ in dense[Int.random(in: 0..<dense.count, using: &rng)] }
                let bytes = RecordingFixture.kcatJ("t", 0, 0, key: nil, value: value)
                let parsed = try bytes.withUnsafeBytes { try RecordingReader.parse(line: $0, file: "f", lineNumber: 1) }
                let m = try #require(parsed)
                #expect(m.value == value, "dense size \(size)")
            }
        }
        // Random bytes (invalid UTF-8 included) through yajl's escaping and back, many sizes.
        for size in [0, 1, 5, 31, 32, 33, 255, 4000] {
            let value = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let bytes = RecordingFixture.kcatJ("t", 0, 0, key: value, value: value)
            let parsed = try bytes.withUnsafeBytes { try RecordingReader.parse(line: $0, file: "f", lineNumber: 1) }
            let m = try #require(parsed)
            #expect(m.value == value && m.key == value, "size \(size)")
        }
    }

    @Test(
        "bad lines are errors that name the file and the line, wherever the chunks fall",
        arguments: [
            "garbage",
            #"{"topic":"t","partition":0,"offset":1,"payload":"unterminated}"#,
            #"{"topic":"t","partition":0,"offset":1,"payload":"bad \q escape"}"#,
            #"{"topic":"t","partition":0,"offset":1,"payload":"\ud83d alone"}"#,
            #"{"topic":"t","partition":0,"offset":1}"#,
            #"{"topic":"t","offset":1,"payload":"x"}"#,
            #"{"topic":"t","partition":0,"offset":1,"payload":"x"} {"#,
            "t\tnot-a-number\t1\tk\tv",
            "t\t1\t2\tonly four fields",
        ])
    func errorsNameFileAndLine(bad: String) throws {
        var bytes: [UInt8] = []
        for i in 0..<40 {
            bytes +=
                RecordingFixture.kcatJ("t", 0, Int64(i), key: nil, value: Array(repeating: 0x62, count: i * 7)) + [0x0A]
        }
        bytes += [0x0A]  // line 41 is blank
        bytes += Array(bad.utf8) + [0x0D, 0x0A]  // line 42
        bytes += RecordingFixture.kcatJ("t", 0, 99, key: nil, value: nil) + [0x0A]
        let path = try RecordingFixture.write(bytes)
        defer { unlink(path) }
        for chunk in [16, 100, 1 << 16] {
            do {
                _ = try RecordingFixture.scan(RecordingScanner(path: path, chunkSize: chunk))
                Issue.record("no error for \(bad)")
            } catch let error as RecordingError {
                #expect(error.file == path && error.line == 42, "\(error)")
                #expect(error.description.hasPrefix("\(path):42: "))
            }
            // The same through the two-thread replay: the error crosses threads intact.
            let replay = RecordingReplay(core: EngineCore(profile: .shop))
            replay.chunkSize = chunk
            let error = #expect(throws: RecordingError.self) { try replay.replay(path: path) }
            #expect(error?.line == 42 && error?.file == path)
        }
    }

    @Test func missingFileIsAnErrorNamingIt() {
        let error = #expect(throws: RecordingError.self) { try RecordingScanner(path: "/nonexistent/cdctop.jsonl") }
        #expect(error?.file == "/nonexistent/cdctop.jsonl" && error?.description.contains("No such file") == true)
    }

    /// Every form on the real Debezium samples: the samples' own form, and the same messages
    /// rewritten as kcat -J and kcat tab lines, all read back to the same bytes.
    @Test("the samples' form, kcat -J and kcat tab form give the same messages", arguments: Samples.prefixes)
    func everyFormOnTheSamples(prefix: String) throws {
        for table in Samples.tables {
            let file = "\(prefix).public.\(table).jsonl"
            let original = try Samples.messages(file)  // line by line, owning copies
            #expect(!original.isEmpty)
            let samplesBytes = try Array(Data(contentsOf: Samples.directory.appendingPathComponent(file)))
            var kcat: [UInt8] = []
            var tab: [UInt8] = []
            for m in original {
                kcat += RecordingFixture.kcatJ(m.topic, m.partition, m.offset, key: m.key, value: m.value) + [0x0A]
                tab += RecordingFixture.tab(m.topic, m.partition, m.offset, key: m.key, value: m.value) + [0x0A]
            }
            for (form, bytes) in [("samples", samplesBytes), ("kcat -J", kcat), ("tab", tab)] {
                for chunk in [64, 1 << 20] {
                    let got = try RecordingFixture.scan(file: bytes, chunkSize: chunk)
                    #expect(got.map(Expected.init) == original.map(Expected.init), "\(file) as \(form), chunk \(chunk)")
                }
            }
        }
    }

    /// Feeds a generated recording through `cdctop replay`'s path and compares with the generator's
    /// own ground truth (computed from what it generated, not by decoding).
    private static func generated(malformedEvery: Int) -> (ShopWorkload, [GeneratedMessage]) {
        let w = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: 5, products: 40, customers: 80, snapshotTransactions: 30,
                commitsPerSecond: 8, malformedEvery: malformedEvery))
        var out: [GeneratedMessage] = []
        while out.count < 6_000 { w.next(into: &out) }
        return (w, out)
    }

    @Test(
        "a generated kcat -J recording replays to the generator's ground truth, in any chunking, on one or two threads",
        arguments: [(4096, 3), (4096, 1), (100_000, 2), (8 << 20, 3)])
    func generatedRecordingEqualsGroundTruth(chunkSize: Int, batches: Int) throws {
        let (workload, messages) = Self.generated(malformedEvery: 173)
        let path = RecordingFixture.temporaryPath("gen.jsonl")
        defer { unlink(path) }
        do {
            let writer = try KcatRecordingWriter(path: path, partitions: 3)
            for m in messages { try writer.write(m) }
            try writer.flush()
        }
        let core = EngineCore(profile: .shop)
        let replay = RecordingReplay(core: core)
        replay.chunkSize = chunkSize
        replay.batches = batches
        try replay.replay(path: path)
        let truth = workload.groundTruth
        #expect(truth.malformed > 0 && truth.windows.count > 3)
        #expect(core.result == truth)
        #expect(replay.lines == Int64(messages.count))
        #expect(
            replay.bytesRead == (try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).int64Value)
    }

    @Test("the same messages as kcat tab lines through a pipe also give the ground truth")
    func generatedTabRecordingThroughAPipe() throws {
        let (workload, messages) = Self.generated(malformedEvery: 0)
        var bytes: [UInt8] = []
        var offsets: [String: Int64] = [:]
        for m in messages {
            let p = KcatRecording.murmur2Partition(key: m.key, partitions: 3)
            let k = "\(m.topic)/\(p)"
            try #require(!(m.value ?? []).contains(0x0A) && !m.key.contains(0x09))
            bytes += RecordingFixture.tab(m.topic, p, offsets[k, default: 0], key: m.key, value: m.value) + [0x0A]
            offsets[k, default: 0] += 1
        }
        let core = EngineCore(profile: .shop)
        let replay = RecordingReplay(core: core)
        try replay.replay(
            RecordingScanner(
                descriptor: RecordingFixture.pipe(feeding: bytes), name: "pipe", chunkSize: 5000, ownsDescriptor: true))
        #expect(core.result == workload.groundTruth)
        #expect(core.tombstones > 0)
    }
}

/// `-` is standard input: swaps a pipe in for this process's stdin for the duration.
@Suite("Recording reader: standard input", .serialized)
struct RecordingStandardInputTests {
    @Test func dashReadsStandardInput() throws {
        var bytes: [UInt8] = []
        for i in 0..<500 {
            bytes +=
                RecordingFixture.kcatJ(
                    "shop.public.product", Int32(i % 2), Int64(i), key: Array("\(i)".utf8),
                    value: i % 50 == 0 ? nil : Array("{\"n\":\(i)}".utf8)) + [0x0A]
        }
        let saved = dup(STDIN_FILENO)
        try #require(saved >= 0)
        let fd = RecordingFixture.pipe(feeding: bytes)
        try #require(dup2(fd, STDIN_FILENO) == STDIN_FILENO)
        close(fd)
        defer {
            dup2(saved, STDIN_FILENO)
            close(saved)
        }
        let scanner = try RecordingScanner(path: "-", chunkSize: 1000)
        #expect(scanner.file == "-")
        let got = try RecordingFixture.scan(scanner).messages
        #expect(got.count == 500)
        #expect(got.map(\.offset) == (0..<500).map(Int64.init))
        #expect(got.filter { $0.value == nil }.count == 10)
        #expect(got[7].value == Array("{\"n\":7}".utf8) && got[7].partition == 1 && got[7].key == Array("7".utf8))
    }
}

/// kcat -J payloads of one topic that start alike (Debezium's schema) reuse the decoding of the
/// last one's prefix (`UnescapeMemo`); the result must be the same bytes as decoding from scratch.
@Suite("kcat -J payloads that share a prefix decode exactly")
struct SharedPrefixUnescapeTests {
    /// Escaped text and the bytes it stands for: every kind of escape JSON has, at any position.
    static let tokens: [(String, [UInt8])] = [
        ("a", [0x61]), ("schema", Array("schema".utf8)), ("\\\"", [0x22]), ("\\\\", [0x5C]), ("\\/", [0x2F]),
        ("\\n", [0x0A]), ("\\t", [0x09]), ("\\r", [0x0D]), ("\\b", [0x08]), ("\\f", [0x0C]),
        ("\\u0041", [0x41]), ("\\u00e9", [0xC3, 0xA9]), ("\\ud83d\\ude00", [0xF0, 0x9F, 0x98, 0x80]),
        ("\\\"type\\\":\\\"struct\\\",", Array("\"type\":\"struct\",".utf8)), ("é", [0xC3, 0xA9]),
        ("12345678", Array("12345678".utf8)),
    ]

    struct Rng {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    @Test(
        "random prefixes changed at random tokens, over three topics, in small and large chunks",
        arguments: [UInt64(3), 11, 2024])
    func sharedPrefixes(seed: UInt64) throws {
        var rng = Rng(state: seed)
        var prefixes = (0..<3).map { _ in (0..<200 + rng.next(400)).map { _ in rng.next(Self.tokens.count) } }
        var file: [UInt8] = []
        var expected: [(topic: String, value: [UInt8])] = []
        for offset in 0..<400 {
            let t = rng.next(3)
            // Mostly the same prefix; now and then one token changes (the memo must stop there).
            if rng.next(4) == 0 { prefixes[t][rng.next(prefixes[t].count)] = rng.next(Self.tokens.count) }
            if rng.next(20) == 0 { prefixes[t].removeLast(rng.next(50)) }
            let suffix = (0..<rng.next(60)).map { _ in rng.next(Self.tokens.count) }
            var escaped = ""
            var raw: [UInt8] = []
            for k in prefixes[t] + suffix {
                escaped += Self.tokens[k].0
                raw += Self.tokens[k].1
            }
            let topic = "topic\(t)"
            file += Array(
                "{\"topic\":\"\(topic)\",\"partition\":0,\"offset\":\(offset),\"key\":\"k\\\"\(offset)\",\"payload\":\"\(escaped)\"}\n"
                    .utf8)
            expected.append((topic, raw))
        }
        for chunkSize in [4_096, 1 << 20] {
            let messages = try RecordingFixture.scan(file: file, chunkSize: chunkSize)
            #expect(messages.count == expected.count)
            for (m, e) in zip(messages, expected) {
                #expect(m.topic == e.topic)
                let same = m.value == e.value  // not printed whole: values are kilobytes
                #expect(same, "offset \(m.offset) decoded differently")
                #expect(m.key == Array("k\"\(m.offset)".utf8))
            }
        }
    }
}
