import ArgumentParser
import Foundation
import Metrics
import Pipeline

/// `cdctop generate`: the synthetic shop workload, into Kafka or into a kcat -J recording.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Produce a synthetic Debezium shop workload (exact ground truth included).",
        discussion: """
            Writes what Debezium 3.6 (PostgreSQL, JsonConverter with schemas, precise decimals) would \
            publish for a small shop database: a snapshot of customers, products and existing orders, \
            then new orders, status updates, partial refunds, cancellations (with tombstones) and \
            price changes, on the topics <prefix>.public.{customer,product,transaction,transactiondetail}.

            It stops at the end of a database transaction, so --count may be exceeded by a few \
            messages; --print-truth then prints the exact KPIs of everything written, in the same \
            JSON form as `cdctop --json`.

            Examples:
              cdctop generate --brokers 127.0.0.1:9092 --rate 500
              cdctop generate --output shop.jsonl --max --count 200000 --print-truth > truth.json

            With --postgres URL it writes the same kind of traffic into a PostgreSQL database with the \
            schema of sql/shop.sql instead (real INSERT/UPDATE/DELETE statements, one database transaction \
            per order, shipment, refund, cancellation or product change), so that a real Debezium \
            connector produces the events; --rate and --count then count database transactions, and \
            --print-truth prints the database's own count(*), sum(amount) and category join.
              cdctop generate --postgres postgresql://postgres@127.0.0.1:25432/shop --rate 20

            With --mysql URL the same traffic goes into a MySQL or MariaDB database with the schema of \
            sql/shop-mysql.sql (DECIMAL, DATETIME/TIMESTAMP, TINYINT(1)), through the mariadb/mysql \
            command-line client, for Debezium's MySQL connector; the other --postgres options apply alike.
              cdctop generate --mysql mysql://cdctop:cdctop@127.0.0.1:23306/shop --rate 20
            """)

    @Option(help: ArgumentHelp("Kafka bootstrap servers to produce to.", valueName: "host:port,…"))
    var brokers: String?

    @Option(help: ArgumentHelp("Write a kcat -C -J recording to this file instead of producing.", valueName: "file"))
    var output: String?

    @Option(
        help: ArgumentHelp(
            "Write real shop transactions into this PostgreSQL database (schema: sql/shop.sql) instead of producing Debezium messages.",
            valueName: "url"))
    var postgres: String?

    @Option(
        help: ArgumentHelp(
            "Write real shop transactions into this MySQL/MariaDB database (schema: sql/shop-mysql.sql; needs the mariadb or mysql client).",
            valueName: "mysql://user:password@host:port/db"))
    var mysql: String?

    @Flag(
        name: .customLong("orders-only"),
        help:
            "With --postgres or --mysql: only new orders (every commit adds one transaction; for latency measurements)."
    )
    var ordersOnly = false

    @Option(
        name: .customLong("commit-log"),
        help: ArgumentHelp(
            "With --postgres or --mysql: append one line per committed transaction: wall time ms after COMMIT, change kind, transaction_id.",
            valueName: "file"))
    var commitLog: String?

    @Option(
        help: ArgumentHelp(
            "Messages per second, with wall-clock commit times (live mode); with --postgres, database transactions per second.",
            valueName: "n"))
    var rate: Double?

    @Flag(
        name: .customLong("max"),
        help: "As fast as possible, with a simulated clock (default when --rate is not given).")
    var flatOut = false

    @Option(
        help: ArgumentHelp(
            "Stop after this many messages (default: forever with --rate, 100000 otherwise).", valueName: "n"))
    var count: Int64?

    @Option(help: "Seed of the workload: the same seed gives the same events.")
    var seed: UInt64 = 42

    @Option(help: ArgumentHelp("Debezium topic.prefix.", valueName: "prefix"))
    var prefix = "shop"

    @Option(
        help: ArgumentHelp(
            "Partitions per topic in the --output recording (keys are placed with Java's murmur2).", valueName: "n"))
    var partitions: Int32 = 3

    @Option(
        name: .customLong("malformed-every"),
        help: ArgumentHelp("Make every Nth message garbage bytes (0: never).", valueName: "n"))
    var malformedEvery = 0

    @Option(
        name: .customLong("start-ms"),
        help: ArgumentHelp(
            "Commit time of the first event in epoch ms with --max (default: now). Fix it for byte-identical recordings.",
            valueName: "ms"))
    var startMs: Int64?

    @Flag(name: .customLong("print-truth"), help: "Print the exact KPIs of everything generated on stdout at the end.")
    var printTruth = false

    @Flag(
        help:
            "With --brokers: write keys and values as Confluent's AvroConverter would (0x00, schema id, Avro binary), registering the schemas under <topic>-key/-value with --schema-registry."
    )
    var avro = false

    @OptionGroup var kafka: KafkaPropertyOptions
    @OptionGroup var registry: SchemaRegistryOptions

    func validate() throws {
        if avro && (brokers == nil || registry.schemaRegistry == nil) {
            throw ValidationError("--avro needs --brokers and --schema-registry URL (the schemas are registered there)")
        }
        if !avro && registry.schemaRegistry != nil {
            throw ValidationError("--schema-registry only applies with --avro")
        }
        if [brokers, output, postgres, mysql].compactMap({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --brokers, --output, --postgres or --mysql")
        }
        let source = postgres != nil || mysql != nil
        if !source && (ordersOnly || commitLog != nil) {
            throw ValidationError("--orders-only and --commit-log only apply with --postgres or --mysql")
        }
        if source && (malformedEvery != 0 || startMs != nil || !kafka.properties.isEmpty) {
            throw ValidationError(
                "--malformed-every, --start-ms and -X do not apply with --postgres or --mysql (the database sets commit times)"
            )
        }
        if let mysql { _ = try MySQLURL(mysql) }
        if let rate, !(rate > 0 && rate <= 10_000_000) {
            throw ValidationError("--rate must be between 1 and 10000000 messages per second")
        }
        if rate != nil && flatOut { throw ValidationError("--rate and --max exclude each other") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if partitions < 1 { throw ValidationError("--partitions must be at least 1") }
        if malformedEvery < 0 || malformedEvery == 1 {
            throw ValidationError("--malformed-every must be 0 (never) or at least 2")
        }
        if output != nil && !kafka.properties.isEmpty {
            throw ValidationError("-X properties only apply with --brokers")
        }
        _ = try kafka.dictionary()
    }

    func run() throws {
        if let postgres { return try runAgainstPostgres(postgres) }
        if let mysql { return try runAgainstMySQL(mysql) }
        let live = rate != nil
        let limit = count ?? (live ? Int64.max : 100_000)
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let workload = ShopWorkload(
            config: ShopWorkloadConfig(
                seed: seed, topicPrefix: prefix, startTimeMs: startMs ?? nowMs,
                useWallClock: live, malformedEvery: malformedEvery))

        var sink: any GeneratedMessageSink
        if let brokers {
            sink = try ProducerSink(producer: KafkaProducer(brokers: brokers, properties: kafka.dictionary()))
            if avro, let client = try registry.client(cacheDirectory: nil) {
                let encoder = AvroShopEncoder(register: { subject, schema in
                    do { return try client.register(subject: subject, schema: schema) } catch {
                        throw RunError("schema registry: \(error)")
                    }
                })
                sink = AvroSink(encoder: encoder, next: sink)
            }
        } else {
            sink = try RecordingSink(writer: KcatRecordingWriter(path: output!, partitions: partitions))
        }

        let interrupt = InterruptFlag()
        let started = Date()
        var lastProgress = started
        var batch: [GeneratedMessage] = []
        batch.reserveCapacity(32)
        var sent: Int64 = 0
        let pacer = rate.map { Pacer(perSecond: $0) }
        while sent < limit && !interrupt.isRaised {
            // Pace in small steps so the stream is smooth and Ctrl-C is noticed quickly.
            if let pacer, sent >= pacer.due {
                Thread.sleep(forTimeInterval: 0.002)
                continue
            }
            batch.removeAll(keepingCapacity: true)
            workload.next(into: &batch)
            for message in batch { try sink.write(message) }
            sent += Int64(batch.count)
            let now = Date()
            if now.timeIntervalSince(lastProgress) >= 1 {
                lastProgress = now
                let perSecond = Double(sent) / max(now.timeIntervalSince(started), 0.001)
                printError("generated \(sent) messages (\(Int(perSecond)) msg/s)")
            }
        }
        try sink.finish()
        let seconds = max(Date().timeIntervalSince(started), 0.001)
        printError(
            "generated \(sent) messages in \(String(format: "%.2f", seconds)) s"
                + (interrupt.isRaised ? " (interrupted)" : "") + (output.map { " into \($0)" } ?? " to \(brokers!)"))
        if printTruth { print(workload.groundTruth.json()) }
    }
}

extension GenerateCommand {
    /// `--postgres`: real transactions into the source database; Debezium turns them into events.
    func runAgainstPostgres(_ url: String) throws {
        let workload = try ShopSourceWorkload(url: url, seed: seed, mix: ordersOnly ? .ordersOnly : .shop)
        try runSourceTraffic(
            step: { try workload.step() }, committed: { workload.committed },
            truth: {
                try SourceTotals.query(PostgresConnection(url, applicationName: "cdctop-generate"))
            })
    }

    /// `--mysql`: the same traffic into MySQL/MariaDB, for Debezium's MySQL connector.
    func runAgainstMySQL(_ url: String) throws {
        let workload = try MySQLShopWorkload(url: url, seed: seed, mix: ordersOnly ? .ordersOnly : .shop)
        try runSourceTraffic(
            step: { try workload.step() }, committed: { workload.committed }, truth: { try workload.totals() })
    }

    func runSourceTraffic(
        step: () throws -> SourceCommit, committed: () -> [SourceChange: Int64],
        truth: () throws -> SourceTotals
    ) throws {
        let limit = count ?? (rate != nil ? Int64.max : 1_000)
        var logHandle: FileHandle?
        if let commitLog {
            if !FileManager.default.fileExists(atPath: commitLog) {
                guard FileManager.default.createFile(atPath: commitLog, contents: nil) else {
                    throw ValidationError("--commit-log: cannot create \(commitLog)")
                }
            }
            guard let handle = FileHandle(forWritingAtPath: commitLog) else {
                throw ValidationError("--commit-log: cannot open \(commitLog)")
            }
            handle.seekToEndOfFile()
            logHandle = handle
        }
        defer { try? logHandle?.close() }
        let interrupt = InterruptFlag()
        let started = Date()
        var lastProgress = started
        var done: Int64 = 0
        var logBuffer = ""
        let pacer = rate.map { Pacer(perSecond: $0) }
        while done < limit && !interrupt.isRaised {
            if let pacer, done >= pacer.due {
                Thread.sleep(forTimeInterval: 0.002)
                continue
            }
            let commit = try step()
            done += 1
            if logHandle != nil {
                logBuffer +=
                    "\(commit.committedAtMs)\t\(commit.change.rawValue)\t\(commit.transactionID.map(String.init) ?? "-")\n"
                // Written per commit when paced (a reader may follow it live), in blocks when flat out.
                if rate != nil || logBuffer.utf8.count > 32_768 {
                    logHandle?.write(Data(logBuffer.utf8))
                    logBuffer = ""
                }
            }
            let now = Date()
            if now.timeIntervalSince(lastProgress) >= 1 {
                lastProgress = now
                printError(
                    "committed \(done) transactions (\(Int(Double(done) / max(now.timeIntervalSince(started), 0.001))) tx/s)"
                )
            }
        }
        if !logBuffer.isEmpty { logHandle?.write(Data(logBuffer.utf8)) }
        let seconds = max(Date().timeIntervalSince(started), 0.001)
        let counts = committed()
        let kinds = SourceChange.allCases.compactMap { kind in counts[kind].map { "\(kind.rawValue) \($0)" } }
        printError(
            "committed \(done) transactions in \(String(format: "%.2f", seconds)) s (\(kinds.joined(separator: ", ")))"
                + (interrupt.isRaised ? " (interrupted)" : ""))
        if printTruth { print(try truth().json()) }
    }
}

/// Where `generate` puts messages.
private protocol GeneratedMessageSink {
    func write(_ message: GeneratedMessage) throws
    func finish() throws
}

private struct ProducerSink: GeneratedMessageSink {
    let producer: KafkaProducer
    func write(_ message: GeneratedMessage) throws {
        try producer.produce(topic: message.topic, key: message.key, value: message.value)
    }
    func finish() throws { try producer.flush(timeoutMs: 30_000) }
}

/// `--avro`: each message in Confluent's Avro framing, then on to Kafka.
private struct AvroSink: GeneratedMessageSink {
    let encoder: AvroShopEncoder
    let next: any GeneratedMessageSink
    func write(_ message: GeneratedMessage) throws { try next.write(encoder.encode(message)) }
    func finish() throws { try next.finish() }
}

private struct RecordingSink: GeneratedMessageSink {
    let writer: KcatRecordingWriter
    func write(_ message: GeneratedMessage) throws { try writer.write(message) }
    func finish() throws { try writer.flush() }
}
