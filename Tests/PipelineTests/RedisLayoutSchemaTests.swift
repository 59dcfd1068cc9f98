import Foundation
import Metrics
import Pipeline
import TestSupport
import Testing

/// The Redis mirror writes exactly `RedisLayoutSchema`: a key or hash field written and not declared, or
/// declared and never written, fails. The shop sample covers the fixed fields, a model snapshot `P:kpis` and
/// `kpi:<NAME>`, a pause `paused_at_ms`, and a subscriber the `P:updates` channel.
@Suite(.tags(.redis)) struct RedisLayoutSchemaTests {
    @Test("the mirror writes every key and field of RedisLayoutSchema and nothing else")
    func mirrorWritesTheSchema() async throws {
        guard let text = TestServices.environment("CDCTOP_TEST_REDIS"), !text.isEmpty else {
            throw OutputTestSetupError(
                "CDCTOP_TEST_REDIS is not set: run the tests with scripts/test (it starts redis-server)")
        }
        let url = try RedisURL(parsing: text)
        var written: [String: (type: String, fields: Set<String>)] = [:]
        var published = false
        var shop = RedisMirrorTests.sampleSnapshot()
        shop.state.restored = "restored from checkpoint 7"
        let feeder = try KPIOutputsTests.feeder()
        let model = feeder.core.snapshot(sequence: 1, takenAtMs: KPIOutputsTests.t0 + 80_000)
        for snapshot in [shop, model] {
            let prefix = "cdctop-test:schema-\(UUID().uuidString.prefix(8))"
            defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
            let subscriber = try RedisConnection(url: url)
            _ = try subscriber.command("SUBSCRIBE", RedisKeys(prefix: prefix).updates)
            let mirror = RedisMirror(
                url: url, prefix: prefix, pipelineName: "test", profileName: "shop", windowTTLSeconds: 3600)
            mirror.start()
            mirror.offer(snapshot)
            #expect(try await pollAsync(seconds: 15) { mirror.writes >= 1 }, "the mirror never wrote")
            // The connect publishes `{"state":"on",…}` first, then each write its `{"sequence",…}`.
            for _ in 0..<2 where !published {
                published = try RedisMirrorTests.message(from: subscriber).contains("\"sequence\"")
            }
            try collect(url: url, prefix: prefix, into: &written)
            // Paused, the meta hash says since when.
            mirror.togglePaused()
            #expect(
                try await pollAsync(seconds: 15) {
                    (try? RedisConnection(url: url).command("HEXISTS", prefix + ":meta", "paused_at_ms").integer) == 1
                }, "pausing never wrote paused_at_ms")
            try collect(url: url, prefix: prefix, into: &written)
            mirror.stop()
        }
        if published { written["P:updates"] = ("channel", ["message"]) }

        let declared = Dictionary(uniqueKeysWithValues: RedisLayoutSchema.sections.map { ($0.container, $0) })
        #expect(
            Set(written.keys) == Set(declared.keys),
            "written, not declared: \(Set(written.keys).subtracting(declared.keys).sorted()); declared, not written: \(Set(declared.keys).subtracting(written.keys).sorted())"
        )
        for (key, seen) in written {
            guard let section = declared[key] else { continue }
            let type = String(section.about.prefix { $0 != ":" && $0 != "," })
            #expect(type == seen.type, "\(key) is a \(seen.type) in Redis, the schema says \(type)")
            let fields = Set(section.fields.map(\.name))
            if seen.type == "hash" && !(fields.count == 1 && fields.first!.hasPrefix("<")) {
                #expect(
                    seen.fields == fields,
                    "\(key): written, not declared: \(seen.fields.subtracting(fields).sorted()); declared, not written: \(fields.subtracting(seen.fields).sorted())"
                )
            } else {
                // Members or fields named after data: one placeholder row in the schema, something written.
                #expect(
                    fields.count == 1 && !seen.fields.isEmpty, "\(key): \(fields.sorted()) / \(seen.fields.sorted())")
            }
        }
    }

    /// Every key under `prefix` as its pattern, with its Redis type and its fields' patterns.
    func collect(url: RedisURL, prefix: String, into written: inout [String: (type: String, fields: Set<String>)])
        throws
    {
        let connection = try RedisConnection(url: url)
        for key in try connection.command("KEYS", prefix + ":*").elements.compactMap(\.text) {
            let pattern = MirrorReaderTests.pattern(of: key, prefix: prefix)
            let redisType = try connection.command("TYPE", key).text ?? ""
            let type = ["zset": "sorted set"][redisType] ?? redisType
            var fields = Set<String>()
            switch redisType {
            case "hash":
                let pairs = try connection.command("HGETALL", key).elements.compactMap(\.text)
                for i in stride(from: 0, to: pairs.count, by: 2) {
                    fields.insert(MirrorReaderTests.fieldPattern(pairs[i], key: pattern))
                }
            case "zset": fields = Set(try connection.command("ZRANGE", key, "0", "-1").elements.compactMap(\.text))
            default: fields = ["value"]
            }
            written[pattern, default: (type, [])].fields.formUnion(fields)
        }
    }
}

struct OutputTestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
