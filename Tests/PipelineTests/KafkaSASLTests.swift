import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// Kafka SASL (issue 23) through the TEST STAND-IN scripts/kafka-sasl-standin.py: it speaks the broker's
/// side of SaslHandshake/SaslAuthenticate (PLAIN, SCRAM-SHA-256/512 with real salted proofs, OAUTHBEARER)
/// in front of a plaintext Tansu of this suite's own, whose advertised listener is the stand-in's port.
/// The stand-in logs one line per authentication attempt, which is how a retry storm is counted.
@Suite("Kafka SASL through the test stand-in", .serialized, .tags(.kafka))
struct KafkaSASLTests {
    @Test(
        "SCRAM-SHA-256 and PLAIN: the producer writes and the engine reads every message; the stand-in checked the proofs"
    )
    func rightPassword() throws {
        let fixture = try SASLStandIn.shared()
        for mechanism in ["SCRAM-SHA-256", "PLAIN"] {
            let run = UInt32.random(in: 0...UInt32.max)
            let topic = "sasl\(run).public.transaction"
            let properties = fixture.properties(mechanism: mechanism, password: fixture.password)
            let before = fixture.logLines().count
            let producer = try KafkaProducer(brokers: fixture.brokers, properties: properties)
            for i in 0..<20 {
                try producer.produce(topic: topic, key: Array("k\(i)".utf8), value: Array("{\"n\":\(i)}".utf8))
            }
            try producer.flush(timeoutMs: 30_000)
            #expect(producer.deliveryFailures == 0, "\(mechanism): \(String(describing: producer.lastError))")

            var consumerProperties = properties
            consumerProperties["session.timeout.ms"] = "6000"
            let engine = try Engine(
                options: EngineOptions(
                    consumer: KafkaConsumerConfig(
                        brokers: fixture.brokers, groupID: "sasl-\(run)", topics: [topic],
                        properties: consumerProperties),
                    profile: .shop))
            engine.start()
            let read = waitFor(engine) { $0.kpis.result.messages == 20 }
            engine.stop()
            #expect(
                read?.kpis.result.messages == 20,
                "\(mechanism): \(String(describing: engine.snapshots.value?.consumer.kafka))")
            let attempts = fixture.logLines().dropFirst(before)
            #expect(attempts.contains { $0.contains("auth \(mechanism) user=\(fixture.user) ok") }, "\(attempts)")
            #expect(!attempts.contains { $0.contains(" failed ") }, "\(attempts)")
        }
    }

    @Test(
        "a wrong password: listing topics throws the authentication fault with its fix after a handful of attempts, not a storm"
    )
    func wrongPasswordListingTopics() throws {
        let fixture = try SASLStandIn.shared()
        let before = fixture.logLines().count
        do {
            // The bound is long on purpose: the fault must end the wait, not the timeout.
            _ = try kafkaTopicPartitions(
                brokers: fixture.brokers,
                properties: fixture.properties(mechanism: "SCRAM-SHA-512", password: "wrong-password"),
                timeoutMs: 20_000)
            Issue.record("a wrong password must be refused")
        } catch let error as KafkaError {
            #expect(error.fault == .authentication, "\(error)")
            #expect(
                error.message.contains("refused the credentials") && error.message.contains("sasl.password")
                    && !error.message.contains("wrong-password"), "\(error.message)")
        }
        Thread.sleep(forTimeInterval: 0.5)  // an attempt in flight as the client went away reaches the log
        let attempts = fixture.logLines().dropFirst(before).filter { $0.contains("auth SCRAM-SHA-512 ") }
        // librdkafka tries twice before the fault counts as needing a fix; in 20 s it would try ~150 times.
        #expect((1...4).contains(attempts.count), "\(attempts.count) attempts: \(attempts)")
        #expect(attempts.allSatisfy { $0.contains("failed (wrong password)") }, "\(attempts)")
    }

    @Test("a wrong password: the consumer stops with one line naming the fix, a handful of attempts, no storm")
    func wrongPasswordConsumer() throws {
        let fixture = try SASLStandIn.shared()
        let before = fixture.logLines().count
        var properties = fixture.properties(mechanism: "PLAIN", password: "wrong-password")
        properties["session.timeout.ms"] = "6000"
        let engine = try Engine(
            options: EngineOptions(
                consumer: KafkaConsumerConfig(
                    brokers: fixture.brokers, groupID: "sasl-wrong", topics: ["^sasl.*"], properties: properties),
                profile: .shop))
        engine.start()
        _ = waitFor(engine) { $0.consumer.kafka.state == .error }
        let error = engine.error as? KafkaError
        engine.stop()
        #expect(error?.fault == .authentication, "\(String(describing: engine.error))")
        let message = error?.message ?? ""
        #expect(
            message.contains("Invalid username or password") && message.contains("sasl.password")
                && !message.contains("\n") && !message.contains("wrong-password"), "\(message)")
        Thread.sleep(forTimeInterval: 0.5)
        let attempts = fixture.logLines().dropFirst(before).filter { $0.contains("auth PLAIN ") }
        #expect((1...4).contains(attempts.count), "\(attempts.count) attempts: \(attempts)")
    }

    /// Waits (bounded: 60 s, not a timed assertion) for a snapshot meeting `condition` or an engine error.
    private func waitFor(_ engine: Engine, _ condition: (RunSnapshot) -> Bool) -> RunSnapshot? {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let s = engine.snapshots.value, condition(s) { return s }
            if engine.error != nil { return engine.snapshots.value }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }
}

/// Tansu (plaintext, memory storage) behind the SASL stand-in, started once for the suite and stopped by
/// pid when the test process exits.
final class SASLStandIn: @unchecked Sendable {
    let brokers: String
    let user = "cdctop-sasl"
    /// '=' and ',' inside: SCRAM carries them unescaped, PLAIN as is.
    let password = "pw=\(UInt32.random(in: 0...UInt32.max)),x"
    let directory: String
    private let tansu = Process()
    private let standIn = Process()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<SASLStandIn, TestProcessStartError>?
    nonisolated(unsafe) private static var pidsToStop: [Int32] = []
    nonisolated(unsafe) private static var directoryToRemove: String?

    static func shared() throws -> SASLStandIn {
        try lock.withLock {
            if started == nil { started = Result { () throws(TestProcessStartError) in try SASLStandIn() } }
            return try started!.get()
        }
    }

    func properties(mechanism: String, password: String) -> [String: String] {
        [
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": mechanism, "sasl.username": user,
            "sasl.password": password,
        ]
    }

    /// The stand-in's log: one line per authentication attempt ("auth MECHANISM user=NAME ok|failed (…)").
    func logLines() -> [String] {
        ((try? String(contentsOfFile: directory + "/standin.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    private init() throws(TestProcessStartError) {
        directory = "/tmp/cdctop-sasl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let root = TestServices.repositoryRoot
        let plainPort: Int
        let saslPort: Int
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try "\(user):\(password)\n".write(toFile: directory + "/users", atomically: true, encoding: .utf8)
            plainPort = try freePort()
            saslPort = try freePort()
        } catch {
            throw TestProcessStartError(description: "preparing the SASL stand-in in \(directory): \(error)")
        }
        brokers = "127.0.0.1:\(saslPort)"
        tansu.executableURL = URL(fileURLWithPath: OwnTansu.binary)
        tansu.arguments = [
            "broker", "--listener-url", "tcp://127.0.0.1:\(plainPort)", "--advertised-listener-url",
            "tcp://127.0.0.1:\(saslPort)", "--storage-engine", "memory://tansu/",
        ]
        standIn.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        standIn.arguments = [
            "python3", root + "/scripts/kafka-sasl-standin.py", "--listen", brokers, "--upstream",
            "127.0.0.1:\(plainPort)", "--users", directory + "/users", "--log", directory + "/standin.log",
        ]
        for process in [tansu, standIn] {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch {
                SASLStandIn.stop([tansu, standIn].filter(\.isRunning).map(\.processIdentifier))
                throw TestProcessStartError(description: "starting \(process.executableURL?.path ?? "?"): \(error)")
            }
        }
        let pids = [tansu.processIdentifier, standIn.processIdentifier]
        SASLStandIn.pidsToStop = pids
        SASLStandIn.directoryToRemove = directory
        atexit {
            SASLStandIn.stop(SASLStandIn.pidsToStop)
            if let directory = SASLStandIn.directoryToRemove { try? FileManager.default.removeItem(atPath: directory) }
        }
        let ready = [plainPort, saslPort].allSatisfy { port in
            (0..<150).contains { _ in
                if SASLStandIn.accepts(port) { return true }
                Thread.sleep(forTimeInterval: 0.1)
                return false
            }
        }
        guard ready else {
            SASLStandIn.stop(pids)
            throw TestProcessStartError(description: "Tansu or the SASL stand-in did not listen (log: \(directory))")
        }
    }

    /// SIGKILL by pid (Tansu does not stop on SIGTERM while clients are connected).
    private static func stop(_ pids: [Int32]) {
        for pid in pids {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    private static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
