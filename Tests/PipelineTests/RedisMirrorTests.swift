import Foundation
import Metrics
import Pipeline
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The Redis mirror against real redis-servers: the shared one from scripts/test
/// (`CDCTOP_TEST_REDIS`) and, for fault tests, servers these tests start and kill themselves.
@Suite(.tags(.redis)) struct RedisMirrorTests {

    // MARK: URL

    @Test func parsesRedisURLs() throws {
        let full = try RedisURL(parsing: "redis://alice:s%40cret@10.0.0.5:6380/3")
        #expect(full == RedisURL(host: "10.0.0.5", port: 6380, password: "s@cret", username: "alice", database: 3))
        #expect(full.description == "10.0.0.5:6380/3")
        #expect(!full.redactedURL.contains("cret"))

        let passwordOnly = try RedisURL(parsing: "redis://:pw@localhost")
        #expect(passwordOnly == RedisURL(host: "localhost", port: 6379, password: "pw", username: nil, database: 0))
        // redis-cli's convention: user-info without a colon is the password.
        #expect(try RedisURL(parsing: "redis://pw@h:1/0").password == "pw")
        #expect(try RedisURL(parsing: "redis://[::1]:7000/2") == RedisURL(host: "::1", port: 7000, database: 2))
        #expect(try RedisURL(parsing: "127.0.0.1:6390") == RedisURL(host: "127.0.0.1", port: 6390))
        #expect(try RedisURL(parsing: "redis://h?db=4").database == 4)

        for bad in ["rediss://h:1", "redis://h:notaport", "redis://h:70000", "redis://h/x", "http://h"] {
            #expect(throws: RedisError.self, "\(bad) should be rejected") { try RedisURL(parsing: bad) }
        }
        let error = try #require(throws: RedisError.self) { try RedisURL(parsing: "redis://:secret@h:99999") }
        #expect(error.message.contains("65535"))
        #expect(!error.message.contains("secret"), "the password must not appear in errors")
    }

    // MARK: against the shared redis-server

    @Test func mirroredKeysEqualTheEngineResultExactly() async throws {
        let url = try sharedRedis()
        let prefix = uniquePrefix()
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let mirror = RedisMirror(
            url: url, prefix: prefix, pipelineName: "test", profileName: "shop", windowTTLSeconds: 3600)
        mirror.start()
        defer { mirror.stop() }

        let snapshot = Self.sampleSnapshot()
        let offeredAt = ContinuousClock.now
        mirror.offer(snapshot)
        try await waitUntil("the first snapshot is written") { mirror.writes >= 1 }

        let state = try RedisMirror.readBack(url: url, prefix: prefix)
        // Under a loaded parallel run this task can wait minutes for a cooperative thread: the TTL read back is
        // 3600 less the seconds since the write, never more, and no less than the time this test took allows.
        let secondsSinceOffer = Int64((ContinuousClock.now - offeredAt).components.seconds) + 2
        #expect(state.windowResults == snapshot.kpis.result.windows)
        #expect(state.totals == snapshot.kpis.result.totals)
        #expect(state.problems.isEmpty, "\(state.problems)")
        #expect(state.categories.map(\.name) == ["books", "toys", "garden"], "ranked by total revenue")
        #expect(
            state.lag == [
                .init(partition: "shop.public.transaction:0", lag: 5),
                .init(partition: "shop.public.transaction:1", lag: 0),
            ])
        #expect(state.windows.map(\.isFinal) == [true, true, false])
        #expect(
            state.windows.allSatisfy { $0.ttlSeconds >= 3600 - secondsSinceOffer && $0.ttlSeconds <= 3600 },
            "TTLs \(state.windows.map(\.ttlSeconds)), \(secondsSinceOffer) s after the write")
        #expect(state.kpi["total_tx_count"] == "7")
        #expect(state.kpi["total_revenue"] == "1234567.89")
        #expect(state.kpi["window_start_ms"] == "1700000060000")
        #expect(state.kpi["window_tx_count"] == "2")
        #expect(state.kpi["window_revenue"] == "0.01")
        #expect(state.kpi["lag"] == "5")
        #expect(state.kpi["last_commit_ms"] == "1700000075000")
        #expect(state.kpi["events_per_second"] == "42.5")
        #expect(state.kpi["late_corrections"] == "1")
        #expect(state.kpi["duplicates"] == "2")
        #expect(state.kpi["unmatched"] == "3")
        #expect(state.kpi["ignored"] == "4")
        #expect(state.kpi["refused"] == "5")
        #expect(state.malformedByTable.map { "\($0.table)=\($0.count)" } == ["transaction=0", "transactiondetail=6"])
        #expect(state.kpi["last_malformed_position"] == "shop.public.transactiondetail[1]@9")
        #expect(state.kpi["last_malformed_reason"]?.hasSuffix("(at byte 80)") == true)
        #expect(state.kpi["state_dir"] == "/var/lib/cdctop")
        #expect(state.kpi["state_last_checkpoint_ms"] == "1700000070000")
        #expect(state.kpi["state_checkpoints"] == "8")
        #expect(state.kpi["state_error"] == "No space left on device")
        #expect(state.kpi["state_restored"] == nil)
        let report = state.report(nowMs: 1_700_000_073_000)
        #expect(report.contains("refused 5 · duplicates 2 · unmatched 3 · ignored 4"), "\(report)")
        #expect(report.contains("started after the snapshot? changes to rows cdctop never saw"))
        #expect(report.contains("malformed by table  transactiondetail 6"))
        #expect(
            report.contains(
                "state           /var/lib/cdctop · checkpoint 3.0 s ago (8 so far) · error: No space left on device"),
            "\(report)")
        #expect(state.meta["state"] == "on")
        #expect(state.meta["profile"] == "shop")
        #expect(state.meta["pipeline"] == "test")
        #expect(state.meta["layout"] == "1")
        #expect(mirror.status.state == .ok, "\(mirror.status)")

        // A late correction rewrites its window: a category netting to zero disappears.
        var corrected = snapshot
        corrected.sequence += 1
        corrected.kpis.result.windows[0].revenue = Money(cents: 1000)
        corrected.kpis.result.windows[0].categoryRevenue = ["books": Money(cents: 1000)]
        corrected.kpis.result.totals.categoryRevenue["garden"] = nil
        corrected.consumer.partitions = []
        mirror.offer(corrected)
        try await waitUntil("the correction is written") { mirror.writes >= 2 }
        let after = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(after.windowResults == corrected.kpis.result.windows)
        #expect(after.totals == corrected.kpis.result.totals)
        #expect(after.lag.isEmpty)

        let text = after.report(nowMs: 1_700_000_080_000)
        #expect(text.contains("mirror \(prefix): on"))
        #expect(text.contains("1234567.89"))
        #expect(after.json().contains("\"window_start_ms\":1700000000000,\"tx_count\":3,\"revenue\":\"10.00\""))
    }

    @Test("an idle mirror keeps its prefix past the writer key's lifetime: a second one started later still refuses")
    func idleMirrorKeepsItsPrefix() async throws {
        let url = try sharedRedis()
        let prefix = uniquePrefix()
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let first = RedisMirror(url: url, prefix: prefix, pipelineName: "test", profileName: "shop")
        first.start()
        defer { first.stop() }
        first.offer(Self.sampleSnapshot())
        try await waitUntil("the first mirror wrote") { first.writes >= 1 }
        // Nothing more to write for longer than the writer key's lifetime (MirrorWorker.writerTTLMs, 10 s).
        try await Task.sleep(for: .seconds(12))
        let second = RedisMirror(url: url, prefix: prefix, pipelineName: "test", profileName: "shop")
        second.start()
        defer { second.stop() }
        second.offer(Self.sampleSnapshot())
        try await waitUntil("the second mirror names the writer") {
            second.status.state != .ok && second.status.detail.contains("another cdctop")
        }
        #expect(second.writes == 0)
        #expect(first.writes == 1)
    }

    @Test("one mirror per prefix: a second one says who writes, writes nothing, and takes over when the first stops")
    func oneMirrorPerPrefix() async throws {
        let url = try sharedRedis()
        let prefix = uniquePrefix()
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let first = RedisMirror(url: url, prefix: prefix, pipelineName: "test", profileName: "shop")
        first.start()
        var complete = Self.sampleSnapshot()
        complete.kpis.result.totals.txCount = 700
        first.offer(complete)
        try await waitUntil("the first mirror wrote") { first.writes >= 1 }

        let second = RedisMirror(url: url, prefix: prefix, pipelineName: "test", profileName: "shop")
        second.start()
        defer { second.stop() }
        var behind = Self.sampleSnapshot()
        behind.kpis.result.totals.txCount = 3
        second.offer(behind)
        try await waitUntil("the second mirror names the writer") {
            // Error, or already retrying: either way the status names the other writer.
            second.status.state != .ok && second.status.detail.contains("another cdctop")
        }
        #expect(second.writes == 0)
        #expect(try RedisMirror.readBack(url: url, prefix: prefix).totals.txCount == 700)

        first.stop()  // gives the writer key up
        try await waitUntil("the second mirror took over", timeout: 40) { second.writes >= 1 }
        #expect(try RedisMirror.readBack(url: url, prefix: prefix).totals.txCount == 3)
    }

    @Test func subscriberSeesOnlyTheChangedWindows() async throws {
        let url = try sharedRedis()
        let prefix = uniquePrefix()
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let subscriber = try RedisConnection(url: url)
        let subscribed = try subscriber.command("SUBSCRIBE", RedisKeys(prefix: prefix).updates)
        #expect(subscribed.elements.first?.text == "subscribe")

        let mirror = RedisMirror(url: url, prefix: prefix, pipelineName: "test", profileName: "shop")
        mirror.start()
        defer { mirror.stop() }

        // The connect announces state=on before any snapshot.
        let hello = try Self.message(from: subscriber)
        #expect(hello.contains("\"state\":\"on\""))

        let snapshot = Self.sampleSnapshot()
        mirror.offer(snapshot)
        let first = try Self.message(from: subscriber)
        #expect(first.contains("\"full\":true"))
        #expect(first.contains("\"windows\":[1700000000000,1700000030000,1700000060000]"), "\(first)")

        var next = snapshot
        next.sequence = 99
        next.kpis.result.windows[2].txCount += 1
        next.kpis.result.totals.txCount += 1
        mirror.offer(next)
        let second = try Self.message(from: subscriber)
        #expect(second.contains("\"sequence\":99"))
        #expect(second.contains("\"full\":false"))
        #expect(second.contains("\"windows\":[1700000060000]"), "only the changed window: \(second)")
    }

    @Test("fed the engine's own snapshots (only the windows each changed are compared), Redis ends equal to the engine")
    func incrementalWritesFromEngineSnapshotsEndEqual() async throws {
        let url = try sharedRedis()
        let prefix = uniquePrefix()
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let mirror = RedisMirror(
            url: url, prefix: prefix, pipelineName: "test", profileName: "shop", windowTTLSeconds: 3600)
        mirror.start()
        defer { mirror.stop() }

        // Late and out-of-order commits (partitions interleaved) so windows change after they were written.
        let (messages, truth, _) = EngineEndToEndTests.workload(4000, seed: 29)
        let core = EngineCore(profile: .shop)
        var offsets: [Int32: Int64] = [:]
        var sequence: UInt64 = 0
        var last: RunSnapshot?
        for (i, m) in messages.enumerated() {
            let partition = Int32(KcatRecording.murmur2Partition(key: m.key, partitions: 3))
            let offset = offsets[partition, default: 0]
            offsets[partition] = offset + 1
            core.ingest(topic: m.topic, partition: partition, offset: offset, key: m.key, value: m.value)
            if i % 97 == 96 || i == messages.count - 1 {
                sequence += 1
                let snapshot = core.snapshot(sequence: sequence, takenAtMs: 1_700_000_000_000 + Int64(sequence))
                let written = mirror.writes
                mirror.offer(snapshot)
                // Every third snapshot is waited for; the others may be coalesced, as under load.
                if sequence % 3 == 0 { try await waitUntil("snapshot \(sequence) written") { mirror.writes > written } }
                last = snapshot
            }
        }
        let final = try #require(last)
        #expect(final.kpis.result == truth)
        try await waitUntil("the last snapshot written") {
            (try RedisMirror.readBack(url: url, prefix: prefix)).kpi["total_tx_count"] == String(truth.totals.txCount)
        }
        let state = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(state.windowResults == final.kpis.result.windows)
        #expect(
            state.windows.map(\.isFinal)
                == final.kpis.result.windows.map { final.kpis.finalWindowStarts.contains($0.windowStartMs) })
        #expect(state.problems.isEmpty, "\(state.problems)")
    }

    @Test func pausedMirrorWritesNothingButItsState() async throws {
        let url = try sharedRedis()
        let prefix = uniquePrefix()
        defer { _ = try? RedisMirror.clear(url: url, prefix: prefix) }
        let mirror = RedisMirror(url: url, prefix: prefix, pipelineName: "test", profileName: "shop")
        mirror.start()
        defer { mirror.stop() }

        let snapshot = Self.sampleSnapshot()
        mirror.offer(snapshot)
        try await waitUntil("the first snapshot is written") { mirror.writes == 1 }

        mirror.togglePaused()
        try await waitUntil("meta says paused") { try RedisMirror.readBack(url: url, prefix: prefix).isPaused }
        #expect(mirror.status.state == .paused)
        let pausedState = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(pausedState.meta["paused_at_ms"] != nil)

        var changed = snapshot
        changed.kpis.result.totals.txCount = 1000
        for i in 0..<20 {
            changed.sequence = UInt64(i)
            mirror.offer(changed)
        }
        try await Task.sleep(for: .milliseconds(700))
        #expect(mirror.writes == 1, "a paused mirror must not write snapshots")
        let stillPaused = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(stillPaused.kpi == pausedState.kpi)
        #expect(stillPaused.totals.txCount == 7)

        mirror.setPaused(false)
        try await waitUntil("the resumed mirror writes") { mirror.writes == 2 }
        let resumed = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(resumed.meta["state"] == "on")
        #expect(resumed.meta["paused_at_ms"] == nil)
        #expect(resumed.totals.txCount == 1000)
        #expect(mirror.status.state == .ok)

        mirror.stop()
        mirror.stop()
        #expect(mirror.status == .off, "stop is idempotent and reports the mirror off")
    }

    // MARK: faults, on servers this test starts and kills

    @Test func reconnectsAndRewritesEverythingAfterRedisIsKilledAndRestartedEmpty() async throws {
        let port = try freePort()
        let url = RedisURL(host: "127.0.0.1", port: port)
        let prefix = "cdctop:faults"
        let mirror = RedisMirror(
            url: url, prefix: prefix, pipelineName: "faults", profileName: "shop",
            firstRetryDelaySeconds: 0.1, maxRetryDelaySeconds: 0.5)
        mirror.start()
        defer { mirror.stop() }

        // Redis down at start: an error with the next retry, and offer() does not wait.
        var snapshot = Self.sampleSnapshot()
        mirror.offer(snapshot)
        try await waitUntil("the status shows the refused connection") { mirror.status.state == .error }
        let down = mirror.status.detail
        #expect(
            down.contains("Connection refused") && (down.contains("retry in") || down.contains("retrying")), "\(down)")

        let server = try RedisServerProcess(port: port)
        defer { server.stop() }
        try await waitUntil("written once Redis is up") { mirror.writes >= 1 }
        #expect(try RedisMirror.readBack(url: url, prefix: prefix).windowResults == snapshot.kpis.result.windows)

        // Killed mid-run: the engine keeps offering without stalling.
        server.kill()
        snapshot.kpis.result.windows[2].txCount += 5
        snapshot.kpis.result.totals.txCount += 5
        snapshot.sequence += 1
        let offerStart = Date()
        for _ in 0..<1000 { mirror.offer(snapshot) }
        #expect(Date().timeIntervalSince(offerStart) < 0.5, "offer() must not wait on a dead Redis")
        try await waitUntil("the status shows the lost connection") { mirror.status.state == .error }

        // Restarted empty: the full current state comes back.
        try server.restart()
        try await waitUntil("state rewritten after reconnect", timeout: 15) {
            let s = try? RedisMirror.readBack(url: url, prefix: prefix)
            return s?.windowResults == snapshot.kpis.result.windows && s?.totals == snapshot.kpis.result.totals
        }
        let restored = try RedisMirror.readBack(url: url, prefix: prefix)
        #expect(restored.meta["state"] == "on")
        #expect(restored.kpi["sequence"] == String(snapshot.sequence))
        #expect(mirror.status.state == .ok, "\(mirror.status)")
    }

    @Test func wrongPasswordAndNonRedisPortGiveClearErrors() async throws {
        let port = try freePort()
        let server = try RedisServerProcess(port: port, password: "right")
        defer { server.stop() }

        let wrong = try #require(throws: RedisError.self) {
            try RedisConnection(url: RedisURL(parsing: "redis://:wrong@127.0.0.1:\(port)/0"))
        }
        #expect(wrong.kind == .auth)
        #expect(wrong.message.contains("WRONGPASS") && wrong.message.contains("password"), "\(wrong)")

        let missing = try #require(throws: RedisError.self) {
            try RedisConnection(url: RedisURL(parsing: "redis://127.0.0.1:\(port)/0"))
        }
        #expect(missing.kind == .auth)
        #expect(missing.message.contains("NOAUTH"), "\(missing)")

        let right = try RedisConnection(url: RedisURL(parsing: "redis://:right@127.0.0.1:\(port)/2"))
        #expect(try right.command("PING") == .status("PONG"))
        let badDatabase = try #require(throws: RedisError.self) {
            try RedisConnection(url: RedisURL(parsing: "redis://:right@127.0.0.1:\(port)/999"))
        }
        #expect(badDatabase.message.contains("999"))

        // The mirror shows the refusal in its status, with the next retry.
        let mirror = RedisMirror(
            url: try RedisURL(parsing: "redis://:wrong@127.0.0.1:\(port)/0"), prefix: "cdctop:auth",
            pipelineName: "auth", profileName: "shop")
        mirror.start()
        defer { mirror.stop() }
        try await waitUntil("the status shows the refused password") { mirror.status.state == .error }
        #expect(mirror.status.detail.contains("WRONGPASS"), "\(mirror.status)")

        // A port that accepts but never speaks Redis: a timeout that says what to check.
        let silent = try SilentListener()
        defer { silent.close() }
        let started = Date()
        let timeout = try #require(throws: RedisError.self) {
            try RedisConnection(url: RedisURL(host: "127.0.0.1", port: silent.port))
        }
        #expect(Date().timeIntervalSince(started) < 4)
        #expect(timeout.message.contains("no reply") && timeout.message.contains("Redis server"), "\(timeout)")
    }

    // MARK: helpers

    /// Windows 0 and 1 are final, window 2 is current; categories rank books > toys > garden.
    static func sampleSnapshot() -> RunSnapshot {
        var result = KPIResult(windowMs: 30_000, messages: 40)
        result.windows = [
            WindowResult(
                windowStartMs: 1_700_000_000_000, txCount: 3, revenue: Money(decimalText: "1234000.00")!,
                categoryRevenue: [
                    "books": Money(decimalText: "1000000")!, "garden": Money(decimalText: "0.000000001")!,
                ]),
            WindowResult(
                windowStartMs: 1_700_000_030_000, txCount: 2, revenue: Money(decimalText: "567.88")!,
                categoryRevenue: ["toys": Money(decimalText: "-3.5")!, "bücher & \"quotes\"": Money(cents: 1)]),
            WindowResult(windowStartMs: 1_700_000_060_000, txCount: 2, revenue: Money(decimalText: "0.01")!),
        ]
        result.totals = TotalsResult(
            txCount: 7, revenue: Money(decimalText: "1234567.89")!,
            categoryRevenue: [
                "books": Money(decimalText: "2000000.123456789")!,
                "toys": Money(decimalText: "99.99")!,
                "garden": Money(decimalText: "0.5")!,
            ])
        var snapshot = RunSnapshot(result: result)
        snapshot.sequence = 1
        snapshot.kpis.profile.name = "shop"
        snapshot.kpis.finalWindowStarts = [1_700_000_000_000, 1_700_000_030_000]
        snapshot.kpis.maxCommitTimeMs = 1_700_000_075_000
        snapshot.kpis.watermarkMs = 1_700_000_065_000
        snapshot.kpis.eventsPerSecond = 42.5
        snapshot.kpis.lateCorrections = 1
        snapshot.kpis.duplicates = 2
        snapshot.kpis.unmatched = 3
        snapshot.kpis.ignored = 4
        snapshot.kpis.refused = 5
        var detail = TableStats(table: "transactiondetail", role: .lineItem)
        detail.malformed = 6
        snapshot.diagnostics.tables = [TableStats(table: "transaction", role: .sale), detail]
        snapshot.diagnostics.recentMalformed = [
            MalformedRecord(
                position: EventPosition(topic: "shop.public.transactiondetail", partition: 1, offset: 9),
                reason: "unit_price \"NaN\" is not a number with an exact value (at byte 80)")
        ]
        snapshot.state = StateStatus(directory: "/var/lib/cdctop")
        snapshot.state.lastCheckpointMs = 1_700_000_070_000
        snapshot.state.checkpoints = 8
        snapshot.state.lastError = "No space left on device"
        snapshot.consumer.partitions = [
            PartitionLag(
                topic: "shop.public.transaction", partition: 0, committed: 10, position: 10, highWatermark: 15),
            PartitionLag(topic: "shop.public.transaction", partition: 1, committed: 7, position: 7, highWatermark: 7),
        ]
        return snapshot
    }

    /// The payload of the next pub/sub message.
    static func message(from subscriber: RedisConnection) throws -> String {
        let reply = try subscriber.nextReply()
        let parts = reply.elements
        try #require(parts.count == 3 && parts[0].text == "message", "expected a pub/sub message, got \(reply)")
        return parts[2].text ?? ""
    }
}

/// The shared redis-server of scripts/test.
private func sharedRedis() throws -> RedisURL {
    guard let text = TestServices.environment("CDCTOP_TEST_REDIS"), !text.isEmpty else {
        throw TestServiceMissing(
            "CDCTOP_TEST_REDIS is not set: run the tests with scripts/test, which starts redis-server and exports CDCTOP_TEST_REDIS=redis://127.0.0.1:PORT/0"
        )
    }
    return try RedisURL(parsing: text)
}

private struct TestServiceMissing: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

private func uniquePrefix() -> String { "cdctop-test:\(UUID().uuidString.prefix(8))" }

private func waitUntil(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) async throws {
    // pollAsync asks once more after the deadline: while other tests hold the cooperative threads, this
    // task may wake only after it, although the mirror (a thread of its own) finished long before.
    if try await pollAsync(seconds: timeout, condition) { return }
    Issue.record("timed out after \(timeout) s waiting until \(what)")
    throw TestServiceMissing("timed out waiting until \(what)")
}

/// A socket that accepts connections (through the kernel's backlog) and never answers.
private final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let ok = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            Glibc.close(fd)
            throw TestServiceMissing("cannot listen: \(String(cString: strerror(errno)))")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(fd) }
}

/// A redis-server owned by one test: started on `port`, killed and restarted on demand, stopped
/// by pid. Spawned with posix_spawn and a clean signal mask: Foundation's Process on Linux passes
/// on the test runner's blocked signals, so its children ignore SIGTERM and waitUntilExit hangs.
private final class RedisServerProcess {
    let port: Int
    let password: String?
    private var pid: pid_t = 0
    private let directory: String

    init(port: Int, password: String? = nil) throws {
        self.port = port
        self.password = password
        directory = NSTemporaryDirectory() + "cdctop-redis-\(port)-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try start()
    }

    static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestServiceMissing(
            "redis-server is not on PATH: install Debian's redis-server (scripts/test does) to run the Redis fault tests"
        )
    }

    func start() throws {
        let executable = try Self.executable()
        var arguments = [
            executable, "--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no",
            "--dir", directory, "--daemonize", "no", "--loglevel", "warning",
        ]
        if let password { arguments += ["--requirepass", password] }

        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0)

        switch spawnChild(executable, arguments: arguments, files: &files, newProcessGroup: false) {
        case .success(let child): pid = child
        case .failure(let error): throw TestServiceMissing("cannot start redis-server: \(error.message)")
        }

        // Ready when it answers (a refused password also proves it is up).
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            do {
                _ = try RedisConnection(url: RedisURL(host: "127.0.0.1", port: port))
                return
            } catch let error as RedisError where error.kind == .auth {
                return
            } catch {
                usleep(20_000)
            }
        }
        throw TestServiceMissing("redis-server on port \(port) did not start within 5 s")
    }

    /// SIGKILL, as a crash would: nothing is saved.
    func kill() {
        guard pid > 0 else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    func restart() throws {
        kill()
        try start()
    }

    func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}
