import Foundation
import Metrics
import Pipeline
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a viewer (`cdctop attach`) reads back from the real shared redis-server, and the documented
/// key layout against what the writer really writes.
@Suite(.tags(.redis)) struct MirrorReaderTests {
    @Test func viewerSnapshotEqualsTheWrittenSnapshotAndNamesItsWriter() async throws {
        let url = try mirrorTestRedis()
        let prefix = "cdctop-test:attach-\(UUID().uuidString.prefix(8))"
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let mirror = RedisMirror(
            url: url, prefix: prefix, pipelineName: "test", profileName: "shop", windowTTLSeconds: 3600)
        mirror.start()
        let written = RedisMirrorTests.sampleSnapshot()
        mirror.offer(written)
        #expect(try await pollAsync(seconds: 15) { mirror.writes >= 1 }, "the mirror never wrote")

        let reader = MirrorReader(url: url, prefix: prefix)
        let view = try reader.read()
        let seen = view.snapshot()
        #expect(seen.kpis.result.windows == written.kpis.result.windows)
        #expect(seen.kpis.result.totals == written.kpis.result.totals)
        #expect(seen.kpis.result.windowMs == written.kpis.result.windowMs)
        #expect(seen.kpis.result.messages == written.kpis.result.messages)
        #expect(seen.kpis.finalWindowStarts == written.kpis.finalWindowStarts)
        #expect(
            seen.kpis.maxCommitTimeMs == written.kpis.maxCommitTimeMs
                && seen.kpis.watermarkMs == written.kpis.watermarkMs)
        #expect(
            seen.kpis.duplicates == 2 && seen.kpis.unmatched == 3 && seen.kpis.ignored == 4 && seen.kpis.refused == 5
                && seen.kpis.lateCorrections == 1)
        #expect(seen.consumer.partitions.map(\.lag) == written.consumer.partitions.map(\.lag))
        #expect(seen.consumer.partitions.map(\.topic) == written.consumer.partitions.map(\.topic))
        #expect(seen.consumer.totalLag == written.consumer.totalLag)
        #expect(seen.diagnostics.tables.first { $0.table == "transactiondetail" }?.malformed == 6)
        #expect(seen.diagnostics.recentMalformed.first?.position == written.diagnostics.recentMalformed.first?.position)
        #expect(seen.state.directory == "/var/lib/cdctop" && seen.state.lastError == "No space left on device")
        #expect(seen.kpis.result.json() == written.kpis.result.json(), "the viewer's --json result equals the writer's")

        // The writer is this process: its host:pid is named, and it is fresh.
        let pid = Int32(getpid())
        #expect(view.writerPID == pid, "writer token \(view.writerToken ?? "nil")")
        // Fresh as of the writer's own update: a loaded machine may take minutes between the write and this read.
        let fresh = view.status(nowMs: view.writerUpdatedAtMs)
        #expect(fresh.state == .ok && fresh.detail.contains(":\(pid)"), "\(fresh)")
        #expect(
            view.title(nowMs: view.readAtMs).hasPrefix("viewer of pid \(pid) · "), "\(view.title(nowMs: view.readAtMs))"
        )
        #expect(seen.consumer.kafka.state == .ok)
        // Later, without a new write: the same read ages and turns stalled.
        let later = view.status(nowMs: view.writerUpdatedAtMs + 42_000)
        #expect(later.state == .stalled && later.detail.contains("42 s"), "\(later)")

        // A clean stop gives P:writer up: the next read says no writer holds it.
        mirror.stop()
        let afterStop = try reader.read()
        #expect(afterStop.writerToken == nil)
        let gone = afterStop.status(nowMs: WallClock.nowMs())
        #expect(gone.state == .stalled && gone.detail.hasPrefix("no writer"), "\(gone)")
        #expect(afterStop.title(nowMs: WallClock.nowMs()).hasPrefix("no writer · last write "))
        #expect(afterStop.snapshot().consumer.kafka.state == .off, "nobody reads Kafka once the writer is gone")
        #expect(
            afterStop.snapshot().sequence != seen.sequence, "the writer's going away is a change the dashboard redraws")
        #expect(
            afterStop.snapshot().kpis.result.totals == written.kpis.result.totals,
            "the figures stay readable after the writer stops")
    }

    @Test func layoutDocumentAgreesWithTheWriter() async throws {
        let url = try mirrorTestRedis()
        let prefix = "cdctop-test:layout-\(UUID().uuidString.prefix(8))"
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let documented = try Self.documentedLayout()
        #expect(
            documented.keys.contains("P:kpi") && documented.keys.contains("P:window:<window_start_ms>"),
            "\(documented.keys.sorted())")

        let mirror = RedisMirror(
            url: url, prefix: prefix, pipelineName: "test", profileName: "shop", windowTTLSeconds: 3600)
        mirror.start()
        var snapshot = RedisMirrorTests.sampleSnapshot()
        snapshot.state.restored = "restored from checkpoint 7"
        mirror.offer(snapshot)
        #expect(try await pollAsync(seconds: 15) { mirror.writes >= 1 }, "the mirror never wrote")
        // Read while the writer still holds P:writer.
        let connection = try RedisConnection(url: url)
        let keys = try connection.command("KEYS", prefix + ":*").elements.compactMap(\.text)
        var written: [String: Set<String>] = [:]
        for key in keys {
            let pattern = Self.pattern(of: key, prefix: prefix)
            let type = try connection.command("TYPE", key).text ?? ""
            var fields = Set<String>()
            if type == "hash" {
                let pairs = try connection.command("HGETALL", key).elements.compactMap(\.text)
                for i in stride(from: 0, to: pairs.count, by: 2) {
                    fields.insert(Self.fieldPattern(pairs[i], key: pattern))
                }
            }
            written[pattern, default: []].formUnion(fields)
        }
        mirror.stop()

        for (key, fields) in written {
            guard let doc = documented[key] else {
                Issue.record("\(key) is written but not in docs/interfaces.md's Redis mirror layout")
                continue
            }
            // Only the hashes whose fields are fixed names are listed field by field.
            guard !doc.isEmpty, ["P:meta", "P:kpi", "P:window:<window_start_ms>"].contains(key) else { continue }
            let undocumented = fields.subtracting(doc)
            #expect(undocumented.isEmpty, "\(key) has fields the document does not list: \(undocumented.sorted())")
        }
        // Every documented key is written (the channel is published to, not stored; `P:kpis` is for
        // model profiles only, and the sample is the built-in shop form).
        let missing = Set(documented.keys).subtracting(written.keys).subtracting(["P:updates", "P:kpis"])
        #expect(missing.isEmpty, "documented but not written: \(missing.sorted())")
        #expect(written.count >= 8, "\(written.keys.sorted())")
    }

    /// `cdctop:x:window:1700000000000` → `P:window:<window_start_ms>`.
    static func pattern(of key: String, prefix: String) -> String {
        var rest = String(key.dropFirst(prefix.count))
        if rest.hasPrefix(":window:"), Int64(rest.dropFirst(":window:".count)) != nil {
            rest = ":window:<window_start_ms>"
        }
        return "P" + rest
    }

    /// Fields named after data (`malformed:transaction`, `cat:books`, `kpi:X`) → their documented form.
    static func fieldPattern(_ field: String, key: String) -> String {
        if key == "P:kpi", field.hasPrefix("malformed:") { return "malformed:<table>" }
        if field.hasPrefix("cat:") { return "cat:<category>" }
        if field.hasPrefix("kpi:") { return "kpi:<NAME>" }
        return field
    }

    /// Key → the backquoted names of its row's content column, from the "Redis mirror layout" table.
    static func documentedLayout() throws -> [String: Set<String>] {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let text = try String(contentsOf: root.appendingPathComponent("docs/interfaces.md"), encoding: .utf8)
        guard let start = text.range(of: "### Redis mirror layout") else {
            Issue.record("docs/interfaces.md has no \"### Redis mirror layout\" section")
            return [:]
        }
        var layout: [String: Set<String>] = [:]
        for line in text[start.upperBound...].split(separator: "\n").drop(while: { !$0.hasPrefix("|") }).prefix(while: {
            $0.hasPrefix("|")
        }) {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 4, cells[1].hasPrefix("`P:") else { continue }
            let key = String(cells[1].dropFirst().prefix { $0 != "`" })
            layout[key] = Set(
                backquoted(cells[3]).filter { !$0.contains(" ") && !$0.hasPrefix("[") && !$0.hasPrefix("{") })
        }
        return layout
    }

    static func backquoted(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map {
            String($0.element)
        }
    }
}

private func mirrorTestRedis() throws -> RedisURL {
    guard let text = TestServices.environment("CDCTOP_TEST_REDIS"), !text.isEmpty else {
        throw MirrorTestSetupError(
            "CDCTOP_TEST_REDIS is not set: run the tests with scripts/test, which starts redis-server and exports CDCTOP_TEST_REDIS=redis://127.0.0.1:PORT/0"
        )
    }
    return try RedisURL(parsing: text)
}

private struct MirrorTestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
