import ArgumentParser
import Foundation
import Pipeline

/// `cdctop record`: Kafka topics into a recording `cdctop replay` reads, Avro included.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record Kafka topics (JSON or Avro) into a file that `cdctop replay` reads.",
        discussion: """
            Writes one line per message with the exact key and value bytes in base64 (null for a \
            null key or a tombstone), so binary messages such as Confluent's Avro framing survive:
              {"topic":…,"partition":…,"offset":…,"ts":…,"key_b64":…,"value_b64":…}
            With --schema-registry, each schema id's schema is written once, before the first \
            message that uses it ({"schema_id":N,"schema":"…"}): the recording then replays \
            without the registry. cdctop reads every partition itself and commits nothing.

            Examples:
              cdctop record --brokers 127.0.0.1:9092 --topics '^shop\\.public\\..*' \\
                --schema-registry http://127.0.0.1:8081 \\
                --from-beginning --until-end --output shop.rec
              cdctop replay --json shop.rec
            """)

    @Option(help: "Bootstrap brokers, comma-separated.")
    var brokers: String

    @Option(help: "Topics, comma-separated; a name starting with ^ is a regex (e.g. '^shop\\.public\\..*').")
    var topics: String

    @Option(
        help: ArgumentHelp(
            "The recording to write (replaced if it exists); - writes to standard output.", valueName: "file"))
    var output: String

    @Flag(
        name: .customLong("from-beginning"),
        help: "Record every message the partitions still hold (default: only messages that arrive after the start).")
    var fromBeginning = false

    @Flag(name: .customLong("until-end"), help: "Stop once every partition reached its end.")
    var untilEnd = false

    @Option(name: .customLong("max-messages"), help: ArgumentHelp("Stop after this many messages.", valueName: "n"))
    var maxMessages: Int64?

    @Option(help: "Consumer group named to the brokers (nothing is committed to it).")
    var group: String = "cdctop-record"

    @OptionGroup var kafka: KafkaPropertyOptions
    @OptionGroup var registry: SchemaRegistryOptions

    func validate() throws {
        if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1") }
        if output.isEmpty { throw ValidationError("--output needs a file name (or - for standard output)") }
        _ = try kafka.dictionary()
    }

    func run() throws {
        let topicList = topics.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        var options = RecordOptions(
            consumer: KafkaConsumerConfig(
                brokers: brokers, groupID: group, topics: topicList,
                properties: try kafka.dictionary()))
        options.fromBeginning = fromBeginning
        options.untilEnd = untilEnd
        options.maxMessages = maxMessages
        let client = try registry.client(cacheDirectory: nil)
        let writer: RecordingWriter
        do { writer = try RecordingWriter(path: output) } catch let error as RecordingError {
            throw RunError(error.description)
        }
        let recorder = TopicRecorder(options: options, writer: writer, registry: client)
        recorder.onNote = { printError("cdctop record: \($0)") }
        let interrupt = InterruptFlag()
        let started = Date()
        let progress: RecordProgress
        do {
            progress = try recorder.run(
                shouldStop: { interrupt.isRaised },
                onProgress: { p in
                    printError(
                        "recorded \(p.messages) messages from \(p.partitions) partitions (\(Int(Double(p.messages) / max(Date().timeIntervalSince(started), 0.001))) msg/s)"
                    )
                })
        } catch let error as RecordingError {
            throw RunError(error.description)
        } catch let error as KafkaError {
            throw RunError("\(error)")
        }
        let seconds = max(Date().timeIntervalSince(started), 0.001)
        var summary =
            "recorded \(progress.messages) messages"
            + (client != nil ? " and \(progress.schemas) schema\(progress.schemas == 1 ? "" : "s")" : "")
            + " in \(String(format: "%.1f", seconds)) s into \(output == "-" ? "standard output" : output)"
            + String(format: " (%.1f MB)", Double(progress.bytesWritten) / 1e6)
        if interrupt.isRaised { summary += " (interrupted)" }
        printError(summary)
        if !progress.missingSchemas.isEmpty {
            let ids = progress.missingSchemas.keys.sorted().map(String.init).joined(separator: ", ")
            printError(
                "cdctop record: the schemas of id \(ids) are not in the recording: replay it with --schema-registry URL or --schemas DIR"
            )
        }
    }
}
