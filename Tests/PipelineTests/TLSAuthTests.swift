import Foundation
import Metrics
import TestSupport
import Testing

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 23 items 1 and 2: secrets from files, masked where shown, and TLS plus authentication against
/// real endpoints that scripts/tls-fixtures starts for this suite alone (its own CA made with openssl):
/// Kafka over TLS through stunnel in front of a plaintext Tansu, Redis with a password and an ACL user
/// (and its TLS port through a local stunnel client), PostgreSQL with ssl=on and scram-sha-256 only.
/// Each wrong CA and wrong password fails with one clear line and is not retried fast.
@Suite("TLS, authentication and secrets", .serialized)
struct TLSAuthTests {
    // MARK: - Pure parts: the -F file, secret masking, connection-string redaction

    @Test("-F files are read as kcat reads them: key=value, # comments, '=' inside values, errors name the line only")
    func kafkaPropertiesFile() throws {
        let text = """
            # a managed cluster
            bootstrap.servers = b-1.example:9096

            security.protocol=SASL_SSL
              sasl.mechanisms=SCRAM-SHA-512
            sasl.username=cdctop
            sasl.password=pa=ss#word
            """
        let properties = try KafkaPropertiesFile.parse(text, file: "k.properties")
        #expect(
            properties == [
                "bootstrap.servers": "b-1.example:9096", "security.protocol": "SASL_SSL",
                "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "cdctop", "sasl.password": "pa=ss#word",
            ])
        do {
            _ = try KafkaPropertiesFile.parse("security.protocol=SSL\nhunter2\n", file: "k.properties")
            Issue.record("a line without '=' must be refused")
        } catch {
            #expect(error.description.contains("k.properties line 2"))
            #expect(!error.description.contains("hunter2"), "a stray line may be a password: never quote it")
        }
        #expect(throws: KafkaPropertiesFile.ParseError.self) {
            try KafkaPropertiesFile.load(path: "/nonexistent/k.properties")
        }
    }

    @Test("secret librdkafka properties are masked, ordinary ones are not")
    func secretPropertiesMasked() throws {
        for key in [
            "sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem",
            "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
        ] {
            #expect(KafkaSecretProperties.isSecret(key), "\(key)")
        }
        for key in ["sasl.username", "security.protocol", "ssl.ca.location", "sasl.oauthbearer.token.endpoint.url"] {
            #expect(!KafkaSecretProperties.isSecret(key), "\(key)")
        }
        let shown = KafkaSecretProperties.displayText(["sasl.username": "u", "sasl.password": "s3cr3t"])
        #expect(shown == "sasl.password=*** sasl.username=u")
        // An invalid value for a property names the property, and masks the value when it is a secret.
        let invalid = KafkaError.configuration(
            "Invalid value", property: "ssl.key.password",
            value: KafkaSecretProperties.displayValue(key: "ssl.key.password", value: "s3cr3t"))
        #expect(!invalid.message.contains("s3cr3t"))
    }

    @Test("connection strings shown on screens and in logs carry no password, in every libpq form")
    func connectionStringsRedacted() {
        #expect(
            PostgresConnection.redactedConnectionString("postgresql://u:s3cr3t@h:5432/db?sslmode=verify-full")
                == "postgresql://u:***@h:5432/db?sslmode=verify-full")
        #expect(
            PostgresConnection.redactedConnectionString("postgresql://u@h/db?password=s3cr3t&sslmode=require")
                == "postgresql://u@h/db?password=***&sslmode=require")
        #expect(
            PostgresConnection.redactedConnectionString("host=h password=s3cr3t dbname=d")
                == "host=h password=*** dbname=d")
        #expect(
            PostgresConnection.redactedConnectionString("host=h password = 'a b\\' c' dbname=d")
                == "host=h password = *** dbname=d")
        #expect(PostgresConnection.redactedConnectionString("service=warehouse") == "service=warehouse")
    }

    @Test("rediss:// is refused with the stunnel advice; passwords come from a file or $REDISCLI_AUTH")
    func redisURLPasswords() throws {
        do {
            _ = try RedisURL(parsing: "rediss://:s3cr3t@redis.example:6380/0")
            Issue.record("rediss:// must be refused: this hiredis has no TLS")
        } catch let error as RedisError {
            #expect(error.kind == .invalidURL)
            #expect(error.message.contains("stunnel") && !error.message.contains("s3cr3t"), "\(error.message)")
        }
        let directory = try temporaryDirectory("redis-pw")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/password"
        try "fromFile\n".write(toFile: file, atomically: true, encoding: .utf8)
        let plain = try RedisURL(parsing: "redis://127.0.0.1:6379/0")
        #expect(
            try plain.resolvingPassword(file: file, environment: ["REDISCLI_AUTH": "fromEnv"]).password == "fromFile")
        #expect(try plain.resolvingPassword(file: nil, environment: ["REDISCLI_AUTH": "fromEnv"]).password == "fromEnv")
        #expect(try plain.resolvingPassword(file: nil, environment: [:]).password == nil)
        let inURL = try RedisURL(parsing: "redis://:inURL@127.0.0.1:6379/0")
        #expect(
            try inURL.resolvingPassword(file: file, environment: [:]).password == "inURL",
            "the URL's own password wins, as in redis-cli")
        let aclUser = try RedisURL(parsing: "redis://alice:@127.0.0.1:6379/0")
        let resolved = try aclUser.resolvingPassword(file: file, environment: [:])
        #expect(resolved.username == "alice" && resolved.password == "fromFile")
        #expect(throws: RedisError.self) { try aclUser.resolvingPassword(file: nil, environment: [:]) }
        #expect(throws: RedisError.self) { try plain.resolvingPassword(file: directory + "/missing", environment: [:]) }
        #expect(!resolved.redactedURL.contains("fromFile") && !resolved.description.contains("fromFile"))
    }

    // MARK: - Against real endpoints

    @Test(
        "Kafka over TLS (stunnel in front of Tansu): the right CA reads every message, a wrong CA fails at once and says why"
    )
    func kafkaThroughStunnel() throws {
        let fixtures = try TLSFixtures.shared()
        let run = UInt32.random(in: 0...UInt32.max)
        let topic = "tls\(run).public.transaction"
        try TopicAdmin.create(topic, partitions: 1, brokers: fixtures["TLS_KAFKA_PLAIN_BROKERS"])
        // The documented way: properties in a -F file (here with a secret that must stay out of errors).
        let propertiesFile = fixtures.directory + "/kafka-\(run).properties"
        try """
        # TLS to the stunnel endpoint
        security.protocol=SSL
        ssl.ca.location=\(fixtures["TLS_CA"])
        """.write(toFile: propertiesFile, atomically: true, encoding: .utf8)
        let properties = try KafkaPropertiesFile.load(path: propertiesFile)
        let brokers = fixtures["TLS_KAFKA_BROKERS"]

        let producer = try KafkaProducer(brokers: brokers, properties: properties)
        for i in 0..<20 {
            try producer.produce(topic: topic, key: Array("k\(i)".utf8), value: Array("{\"n\":\(i)}".utf8))
        }
        try producer.flush(timeoutMs: 30_000)
        #expect(producer.deliveryFailures == 0)

        var consumerProperties = properties
        consumerProperties["session.timeout.ms"] = "6000"
        let engine = try Engine(
            options: EngineOptions(
                consumer: KafkaConsumerConfig(
                    brokers: brokers, groupID: "tls-\(run)", topics: [topic], properties: consumerProperties),
                profile: .shop))
        engine.start()
        let read = waitFor(engine) { $0.kpis.result.messages == 20 }
        engine.stop()
        #expect(
            read?.kpis.result.messages == 20,
            "through TLS: \(String(describing: engine.snapshots.value?.consumer.kafka))")

        // A CA that did not sign the broker's certificate.
        var wrong = properties
        wrong["ssl.ca.location"] = fixtures["TLS_WRONG_CA"]
        wrong["session.timeout.ms"] = "6000"
        let refused = try Engine(
            options: EngineOptions(
                consumer: KafkaConsumerConfig(
                    brokers: brokers, groupID: "tls-wrong-\(run)", topics: [topic], properties: wrong),
                profile: .shop))
        refused.start()
        let failed = waitFor(refused) { $0.consumer.kafka.state == .error }
        let stoppedError = refused.error.map { "\($0)" }
        refused.stop()
        let detail = failed?.consumer.kafka.detail ?? stoppedError ?? ""
        #expect(detail.contains("certificate verify failed"), "the reason is librdkafka's own: \(detail)")
        #expect(failed?.kpis.result.messages ?? 0 == 0)
    }

    @Test(
        "Redis: the default user's password and an ACL user authenticate; a wrong password is one line, kind auth, not retried fast"
    )
    func redisAuthentication() throws {
        let fixtures = try TLSFixtures.shared()
        let port = Int(fixtures["TLS_REDIS_PORT"])!
        // The default user, password from a file (as --redis-password-file gives it).
        let passwordFile = fixtures.directory + "/redis.password"
        try (fixtures["TLS_REDIS_PASSWORD"] + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let url = try RedisURL(parsing: "redis://127.0.0.1:\(port)/0").resolvingPassword(
            file: passwordFile, environment: [:])
        let connection = try RedisConnection(url: url)
        #expect(try connection.command("PING").text == "PONG")
        // An ACL user named in the URL, password from $REDISCLI_AUTH.
        let acl = try RedisURL(parsing: "redis://\(fixtures["TLS_REDIS_USER"]):@127.0.0.1:\(port)/0")
            .resolvingPassword(file: nil, environment: ["REDISCLI_AUTH": fixtures["TLS_REDIS_USER_PASSWORD"]])
        #expect(try RedisConnection(url: acl).command("ACL", "WHOAMI").text == fixtures["TLS_REDIS_USER"])

        for (what, bad) in [
            ("wrong password", RedisURL(host: "127.0.0.1", port: port, password: "wrong-password")),
            (
                "wrong ACL password",
                RedisURL(
                    host: "127.0.0.1", port: port, password: "wrong-password", username: fixtures["TLS_REDIS_USER"])
            ),
            ("no password", RedisURL(host: "127.0.0.1", port: port)),
        ] {
            do {
                _ = try RedisConnection(url: bad)
                Issue.record("\(what) must be refused")
            } catch let error as RedisError {
                #expect(error.kind == .auth && !error.isRetriable, "\(what): \(error)")
                #expect(
                    !error.message.contains("\n") && !error.message.contains("wrong-password"),
                    "\(what): \(error.message)")
                #expect(error.message.contains("--redis-password-file"), "\(what): says what to do: \(error.message)")
            }
        }

        // The mirror with a wrong password says so and backs off to the slow interval, not a storm.
        let mirror = RedisMirror(
            url: RedisURL(host: "127.0.0.1", port: port, password: "wrong-password"),
            prefix: "cdctop:tlstest", pipelineName: "tlstest", profileName: "shop")
        mirror.start()
        defer { mirror.stop() }
        var status = mirror.status
        for _ in 0..<200 where status.state != .error {
            Thread.sleep(forTimeInterval: 0.05)
            status = mirror.status
        }
        #expect(status.state == .error)
        #expect(
            status.detail.contains("refused the credentials") && status.detail.contains("not retried fast"),
            "\(status.detail)")
    }

    @Test("Redis over TLS through the documented stunnel client: the mirror's connection works unchanged")
    func redisThroughStunnelClient() throws {
        let fixtures = try TLSFixtures.shared()
        let url = RedisURL(
            host: "127.0.0.1", port: Int(fixtures["TLS_REDIS_TUNNEL_PORT"])!, password: fixtures["TLS_REDIS_PASSWORD"])
        let connection = try RedisConnection(url: url)
        #expect(try connection.command("PING").text == "PONG")
        // The server sees this client arrive on its TLS port (laddr), through the tunnel.
        let client = try connection.command("CLIENT", "INFO").text ?? ""
        #expect(client.contains("laddr=127.0.0.1:\(fixtures["TLS_REDIS_TLS_PORT"]) "), "\(client)")
    }

    @Test(
        "PostgreSQL: sslmode=verify-full with the CA, password from PGPASSFILE/.pgpass or a service file; wrong CA and wrong password are one clear error each"
    )
    func postgresTLSAndPasswords() throws {
        let fixtures = try TLSFixtures.shared()
        let port = fixtures["TLS_PG_PORT"]
        let user = fixtures["TLS_PG_USER"]
        let database = fixtures["TLS_PG_DATABASE"]
        let passfile = fixtures.directory + "/pgpass"
        try "127.0.0.1:\(port):*:\(user):\(fixtures["TLS_PG_PASSWORD"])\n".write(
            toFile: passfile, atomically: true, encoding: .utf8)
        chmod(passfile, 0o600)
        let base = "host=127.0.0.1 port=\(port) user=\(user) dbname=\(database) sslmode=verify-full"

        // The right CA and the password from the passfile (libpq's passfile keyword = $PGPASSFILE).
        let connection = try PostgresConnection("\(base) sslrootcert=\(fixtures["TLS_CA"]) passfile=\(passfile)")
        let ssl = try connection.execute("SELECT ssl::text, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        #expect(ssl.rows.first?[0] == "true", "the session is encrypted: \(ssl.rows)")
        let method = try connection.execute("SELECT current_setting('password_encryption')")
        #expect(method.rows.first?[0] == "scram-sha-256")

        // A service file names everything but the password (which .pgpass gives).
        let serviceFile = fixtures.directory + "/pg_service.conf"
        try """
        [cdctop-warehouse]
        host=127.0.0.1
        port=\(port)
        user=\(user)
        dbname=\(database)
        sslmode=verify-full
        sslrootcert=\(fixtures["TLS_CA"])
        """.write(toFile: serviceFile, atomically: true, encoding: .utf8)
        setenv("PGSERVICEFILE", serviceFile, 1)
        defer { unsetenv("PGSERVICEFILE") }
        let viaService = try PostgresConnection("service=cdctop-warehouse passfile=\(passfile)")
        #expect(try viaService.execute("SELECT current_user").rows.first?[0] == user)

        // A CA that did not sign the server's certificate.
        do {
            _ = try PostgresConnection("\(base) sslrootcert=\(fixtures["TLS_WRONG_CA"]) passfile=\(passfile)")
            Issue.record("a wrong CA must be refused")
        } catch {
            #expect(error.kind == .tls && error.needsPerson && !error.isRetriable, "\(error)")
            #expect(
                error.shortDescription.contains("certificate verify failed")
                    && error.shortDescription.contains("sslrootcert"),
                "\(error.shortDescription)")
            #expect(!error.shortDescription.contains("\n"))
        }
        // A wrong password (given in the URL here, so nothing else can supply the right one).
        do {
            _ = try PostgresConnection(
                "postgresql://\(user):wrong-password@127.0.0.1:\(port)/\(database)?sslmode=verify-full&sslrootcert=\(fixtures["TLS_CA"])&passfile=/dev/null"
            )
            Issue.record("a wrong password must be refused")
        } catch {
            #expect(error.kind == .authentication && error.needsPerson, "\(error)")
            #expect(
                error.shortDescription.contains("password authentication failed")
                    && error.shortDescription.contains(".pgpass"),
                "\(error.shortDescription)")
            #expect(!error.description.contains("wrong-password"))
        }
        // Plaintext is refused by the server (hostnossl reject): sslmode=disable cannot sneak past.
        do {
            _ = try PostgresConnection(
                "host=127.0.0.1 port=\(port) user=\(user) dbname=\(database) sslmode=disable passfile=\(passfile)")
            Issue.record("plaintext must be rejected by pg_hba")
        } catch {
            #expect(error.kind == .authentication && error.advice.contains("sslmode=verify-full"), "\(error)")
        }
    }

    @Test(
        "--web-config: /metrics and /healthz need a basic_auth_users user (bcrypt); an incomplete tls_server_config and plain passwords are refused"
    )
    func metricsBasicAuth() throws {
        let directory = try temporaryDirectory("web-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The hash as `htpasswd -nBC 10` or `mkpasswd -m bcrypt` make it; Python's crypt module calls the same libxcrypt,
        // an implementation independent of the verifier's code path in cdctop.
        let made = try TLSAuthTests.run(
            "/usr/bin/python3",
            [
                "-W", "ignore", "-c",
                "import crypt; print(crypt.crypt('scrape-secret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))",
            ])
        let hash = made.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash.hasPrefix("$2b$10$") && hash.count == 60, "\(hash)")
        let file = directory + "/web.yml"
        try "# exporter-toolkit shape\nbasic_auth_users:\n  prometheus: '\(hash)'\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let config = try MetricsWebConfig.load(path: file)
        let server = try MetricsServer(address: "127.0.0.1:0", render: { "cdctop_up 1\n" }, webConfig: config)
        server.start()
        defer { server.stop() }
        func get(_ path: String, _ userPassword: String?) throws -> CurlHTTP.Response {
            var request = CurlHTTP.Request(url: "http://127.0.0.1:\(server.port)\(path)")
            request.userPassword = userPassword
            request.timeoutSeconds = 5
            return try CurlHTTP.perform(request)
        }
        #expect(try get("/metrics", nil).status == 401)
        #expect(try get("/metrics", "prometheus:wrong").status == 401)
        #expect(try get("/metrics", "someone:scrape-secret").status == 401)
        let scraped = try get("/metrics", "prometheus:scrape-secret")
        #expect(scraped.status == 200 && scraped.text == "cdctop_up 1\n")
        #expect(try get("/healthz", nil).status == 401)
        #expect(try get("/healthz", "prometheus:scrape-secret").status == 200)
        #expect(
            try get("/metrics", "prometheus:wrong").status == 401, "a wrong password after a right one is still refused"
        )

        for (text, expected) in [
            ("tls_server_config:\n  cert_file: a.pem\n", "needs key_file"),
            ("basic_auth_users:\n  prometheus: scrape-secret\n", "bcrypt hash"),
        ] {
            do {
                _ = try MetricsWebConfig.parse(text, file: "web.yml")
                Issue.record("must be refused: \(text)")
            } catch {
                #expect(
                    error.description.contains(expected) && !error.description.contains("scrape-secret"), "\(error)")
            }
        }
    }

    // MARK: - Helpers

    /// Runs a program; its standard output.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits (bounded: 60 s, not a timed assertion) for a snapshot meeting `condition`; nil if none came.
    private func waitFor(_ engine: Engine, _ condition: (RunSnapshot) -> Bool) -> RunSnapshot? {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let s = engine.snapshots.value, condition(s) { return s }
            if engine.error != nil { return engine.snapshots.value }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    private func temporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "cdctop-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// The endpoints of scripts/tls-fixtures, started once for this suite and stopped (by the pids the
/// script recorded) when the test process exits.
final class TLSFixtures: @unchecked Sendable {
    let directory: String
    private let values: [String: String]

    subscript(key: String) -> String { values[key] ?? "" }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<TLSFixtures, TestProcessStartError>?

    static func shared() throws -> TLSFixtures {
        try lock.withLock {
            if started == nil { started = Result { () throws(TestProcessStartError) in try TLSFixtures() } }
            return try started!.get()
        }
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/tls-fixtures").path

    private init() throws(TestProcessStartError) {
        directory = "/tmp/cdctop-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let status = TLSFixtures.runScript(["up", directory])
        guard status == 0, let text = try? String(contentsOfFile: directory + "/env", encoding: .utf8) else {
            let log = (try? String(contentsOfFile: TLSFixtures.logPath, encoding: .utf8)) ?? ""
            _ = TLSFixtures.runScript(["down", directory])
            unlink(TLSFixtures.logPath)
            throw TestProcessStartError(description: "scripts/tls-fixtures up failed (exit \(status)): \(log)")
        }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        self.values = values
        TLSFixtures.directoryToStop = directory
        atexit {
            if let directory = TLSFixtures.directoryToStop { TLSFixtures.runScript(["down", directory]) }
            unlink(TLSFixtures.logPath)
        }
    }

    nonisolated(unsafe) private static var directoryToStop: String?

    static let logPath = "/tmp/cdctop-tls-fixtures-\(getpid()).log"

    /// Runs the script with a clean signal mask (so the servers it starts stop on their signals) and
    /// waits for it; its output goes to `logPath`.
    @discardableResult
    static func runScript(_ arguments: [String]) -> Int32 {
        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        let log = logPath
        posix_spawn_file_actions_addopen(&files, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&files, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard
            case .success(let pid) = spawnChild(
                "/bin/bash", arguments: ["/bin/bash", script] + arguments,
                files: &files, newProcessGroup: false)
        else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xff
    }
}
