import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 23 item 4 and issue 24 item 5: `cdctop watch --headless --until-caught-up` exits with a code that
/// tells "caught up" (0), "not durable or not delivered" (2), "timed out" (3), "Kafka refused" (4) and
/// "interrupted" (130) apart, with the reasons on stderr and in the JSON result's "outcome". Every test runs
/// the real binary against a Tansu of its own (or no broker at all) and checks the outcome against what
/// `cdctop generate` says it wrote.
@Suite("Exit codes of watch --until-caught-up", .serialized)
struct ExitCodeTests {
    let binary: String

    init() throws {
        binary = try #require(
            cdctopBinary(), "cdctop binary not found next to the test bundle; run `swift build` first")
    }

    /// Writes a shop workload under a new prefix; returns the prefix, its topic pattern and how many messages it wrote.
    func generate(on broker: OwnTansu, count: Int) throws -> (prefix: String, topics: String, messages: Int64) {
        let prefix = "ec\(UInt32.random(in: 0...UInt32.max))"
        let run = try runCapturing(
            binary, ["generate", "--brokers", broker.address, "--prefix", prefix, "--count", String(count), "--max"])
        #expect(run.status == 0, "\(run.stderr)")
        // The last line, "generated 20004 messages in 0.52 s to 127.0.0.1:…": a slow run prints progress
        // ("generated 9824 messages (9,800 msg/s)") every second before it.
        let words = (run.stdout + " " + run.stderr).split(whereSeparator: { $0 == " " || $0 == "\n" })
        let written = try #require(
            words.lastIndex(of: "generated").flatMap { Int64(words[$0 + 1]) }, "\(run.stdout) \(run.stderr)")
        return (prefix, "^\(prefix)\\.public\\..*", written)
    }

    /// The last JSON line of stdout.
    func result(_ run: ProgramRun) throws -> [String: Any] {
        let line = try #require(run.stdout.split(separator: "\n").last, "no output; stderr: \(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
    }

    func outcome(_ json: [String: Any]) throws -> (result: String, code: Int, reasons: [String]) {
        let o = try #require(json["outcome"] as? [String: Any], "no outcome in \(json.keys.sorted())")
        return (o["result"] as? String ?? "", o["exit_code"] as? Int ?? -1, o["reasons"] as? [String] ?? [])
    }

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "cdctop-exit-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("read to the end with the state saved: exit 0, outcome caught_up, every message counted")
    func caughtUp() throws {
        let broker = try OwnTansu()
        let data = try generate(on: broker, count: 2_000)
        let state = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let run = try runCapturing(
            binary,
            [
                "watch", "--brokers", broker.address, "--topics", data.topics, "--state", state,
                "--headless", "--json", "--until-caught-up", "--timeout", "120",
            ])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try result(run)
        #expect((json["messages"] as? NSNumber)?.int64Value == data.messages)
        let o = try outcome(json)
        #expect(o.result == "caught_up" && o.code == 0 && o.reasons.isEmpty, "\(o)")
        #expect(((json["state"] as? [String: Any])?["checkpoints"] as? Int ?? 0) >= 1)
    }

    @Test("a state directory on a full filesystem: exit 2, the reason on stderr and in the JSON")
    func fullStateDisk() throws {
        guard getuid() == 0 else {
            Issue.record("mounting a tmpfs needs root (the test mounts a 160 KB one and unmounts it)")
            return
        }
        let broker = try OwnTansu()
        let data = try generate(on: broker, count: 20_000)
        let mountPoint = try temporaryDirectory()
        // Big enough to create the state database, far too small for a checkpoint of 20,000 changes.
        let mount = Shell.run("mount -t tmpfs -o size=160k tmpfs '\(mountPoint)'")
        try #require(mount.status == 0, "mount failed: \(mount.output)")
        defer {
            _ = Shell.run("umount '\(mountPoint)'")
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let run = try runCapturing(
            binary,
            [
                "watch", "--brokers", broker.address, "--topics", data.topics, "--state", mountPoint + "/state",
                "--headless", "--json", "--until-caught-up", "--timeout", "120",
            ])
        #expect(run.status == 2, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("not saved") && run.stderr.contains("disk is full"), "\(run.stderr)")
        let json = try result(run)
        // Read to the end (the numbers are complete), but nothing of it is durable.
        #expect((json["messages"] as? NSNumber)?.int64Value == data.messages)
        let o = try outcome(json)
        #expect(o.result == "partial" && o.code == 2, "\(o)")
        #expect(o.reasons.contains { $0.contains("not saved") && $0.contains("disk is full") }, "\(o.reasons)")
    }

    @Test("a dead broker and no --timeout: the default time limit ends it with exit 3 and the reason")
    func deadBrokerDefaultTimeout() throws {
        let port = try freePort()  // nothing listens there
        let run = try runCapturing(
            binary,
            [
                "watch", "--brokers", "127.0.0.1:\(port)", "--topics", "^nothing\\..*", "--state", "none",
                "--headless", "--json", "--until-caught-up",
            ],
            environment: ["CDCTOP_UNTIL_CAUGHT_UP_TIMEOUT": "3"])
        #expect(run.status == 3, "exit \(run.status): \(run.stderr)")
        #expect(
            run.stderr.contains("timed out before catching up") && run.stderr.contains("not caught up after 3 s"),
            "\(run.stderr)")
        let json = try result(run)
        let o = try outcome(json)
        #expect(o.result == "timed_out" && o.code == 3, "\(o)")
        // Nothing is known about the lag: JSON says so rather than 0.
        #expect((json["lag"] as? [String: Any])?["known"] as? Bool == false)
    }

    @Test("SIGINT before catching up: exit 130, 'interrupted', and the text line says lag unknown")
    func interrupted() throws {
        let port = try freePort()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/run.log"
        var signalled = false
        let run = try runCapturing(
            binary,
            [
                "watch", "--brokers", "127.0.0.1:\(port)", "--topics", "^nothing\\..*", "--state", "none",
                "--headless", "--until-caught-up", "--log", log,
            ]
        ) { pid in
            // The signal handler is in place once the run has logged its start.
            let started = poll(seconds: 30) {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("start:") == true
            }
            if started {
                kill(pid, SIGINT)
                signalled = true
            } else {
                kill(pid, SIGKILL)
            }
        }
        try #require(signalled, "the run never logged its start")
        #expect(run.status == 130, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("interrupted before catching up"), "\(run.stderr)")
        #expect(run.stdout.contains("lag unknown") && !run.stdout.contains("lag 0"), "\(run.stdout)")
    }

    @Test("the Redis sink killed: exit 2 naming redis; with Redis up the same run exits 0")
    func redisKilled() throws {
        let broker = try OwnTansu()
        let data = try generate(on: broker, count: 2_000)
        let redis = try OwnRedis()
        let arguments = [
            "watch", "--brokers", broker.address, "--topics", data.topics, "--state", "none", "--redis", redis.url,
            "--headless", "--until-caught-up", "--timeout", "120",
        ]
        let healthy = try runCapturing(binary, arguments)
        #expect(healthy.status == 0, "exit \(healthy.status): \(healthy.stderr)")
        // What the mirror wrote is there: its meta key names the pipeline.
        #expect(Shell.run("redis-cli -p \(redis.port) --scan --pattern 'cdctop:*'").output.contains("cdctop:"))

        redis.kill()
        let run = try runCapturing(binary, arguments)
        #expect(run.status == 2, "exit \(run.status): \(run.stderr)")
        #expect(
            run.stderr.contains("redis mirror 127.0.0.1:\(redis.port)") && run.stderr.contains("not written")
                && run.stderr.contains("Connection refused"), "\(run.stderr)")
        // The text line names the failing service with its error.
        #expect(run.stdout.contains("  redis "), "\(run.stdout)")
        // The numbers themselves are complete.
        #expect(run.stdout.contains("msgs \(data.messages) "), "\(run.stdout)")
    }

    @Test("a --topics name that does not exist: exit 4 at once with one clear line, no retries")
    func unknownTopic() throws {
        let broker = try OwnTansu()
        let data = try generate(on: broker, count: 2_000)  // enough for every table's topic, transactions included
        let missing = "\(data.prefix).public.nosuchtable"
        let run = try runCapturing(
            binary,
            [
                "watch", "--brokers", broker.address, "--topics", "\(data.prefix).public.transaction,\(missing)",
                "--state", "none", "--headless", "--json", "--until-caught-up", "--timeout", "120",
            ])
        #expect(run.status == 4, "exit \(run.status): \(run.stderr)")
        #expect(
            run.stderr.contains("topic \(missing) does not exist") && run.stderr.contains("Check --topics"),
            "\(run.stderr)")
        let o = try outcome(try result(run))
        #expect(o.result == "refused" && o.code == 4 && o.reasons.count == 1, "\(o)")
        // Told at once, not at the 120 s limit.
        #expect(run.seconds < 60, "took \(run.seconds) s")
    }

    @Test("a broker certificate no trusted CA signed: exit 4 naming ssl.ca.location, not retries until the limit")
    func untrustedCertificate() throws {
        guard Shell.run("command -v openssl").status == 0 else {
            Issue.record("openssl is not installed (apt-get install openssl): it serves the TLS endpoint of this test")
            return
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The endpoint's own self-signed certificate, and another CA the client is told to trust.
        for name in ["server", "other"] {
            let made = Shell.run(
                "openssl req -x509 -newkey rsa:2048 -nodes -keyout '\(directory)/\(name).key' -out '\(directory)/\(name).crt' -days 2 -subj /CN=\(name)"
            )
            try #require(made.status == 0, "\(made.output)")
        }
        let port = try freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = [
            "openssl", "s_server", "-quiet", "-accept", String(port), "-cert", directory + "/server.crt", "-key",
            directory + "/server.key",
        ]
        let input = Pipe()  // kept open: s_server stops at the end of its stdin
        server.standardInput = input
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: openssl s_server does not stop on SIGTERM.
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        try #require(
            poll(seconds: 10) { Shell.run("bash -c '</dev/tcp/127.0.0.1/\(port)'").status == 0 },
            "openssl s_server did not listen")

        let run = try runCapturing(
            binary,
            [
                "watch", "--brokers", "127.0.0.1:\(port)", "--topics", "^tls\\..*", "--state", "none",
                "--headless", "--json", "--until-caught-up", "--timeout", "120",
                "-X", "security.protocol=SSL", "-X", "ssl.ca.location=\(directory)/other.crt",
            ])
        #expect(run.status == 4, "exit \(run.status): \(run.stderr)")
        #expect(
            run.stderr.contains("certificate verify failed") && run.stderr.contains("ssl.ca.location"), "\(run.stderr)")
        let o = try outcome(try result(run))
        #expect(o.result == "refused" && o.code == 4, "\(o)")
        #expect(run.seconds < 60, "took \(run.seconds) s")
    }

    @Test("a SASL mechanism the broker refuses: exit 4 with the fix, not retries until the limit")
    func refusedCredentials() throws {
        let broker = try OwnTansu()
        let data = try generate(on: broker, count: 200)
        let run = try runCapturing(
            binary,
            [
                "watch", "--brokers", broker.address, "--topics", data.topics, "--state", "none",
                "--headless", "--json", "--until-caught-up", "--timeout", "120",
                "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-512",
                "-X", "sasl.username=nobody", "-X", "sasl.password=pw-8d1f",
            ])
        #expect(run.status == 4, "exit \(run.status): \(run.stderr)")
        #expect(
            run.stderr.contains("refused the credentials") && run.stderr.contains("sasl.mechanisms"), "\(run.stderr)")
        #expect(!run.stderr.contains("pw-8d1f"), "the password must not be echoed: \(run.stderr)")
        let o = try outcome(try result(run))
        #expect(o.result == "refused" && o.code == 4, "\(o)")
        #expect(run.seconds < 60, "took \(run.seconds) s")
    }
}
