import ArgumentParser
import Foundation
import Metrics
import Pipeline

/// `cdctop profile init` and `cdctop profile check`: draft a model profile from a sample of the real
/// topics, and check that a profile can work on them.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Draft a KPI profile from your topics, or check one against them.",
        discussion: """
            A profile says which of your tables hold sales and how to compute KPIs
            from them, as SQL (see profiles/northwind.toml). Both commands read the
            first messages of each topic from the earliest offset, with a
            throwaway consumer group that commits nothing, or read a recording
            (kcat -J, or cdctop's own format) instead of a cluster:
              cdctop profile init --brokers HOST:9092 \\
                --topics '^nw\\.public\\..*' --output my.toml
              cdctop profile check my.toml --brokers HOST:9092 \\
                --topics '^nw\\.public\\..*'
              cdctop profile check my.toml --recording nw.jsonl
            Topics written by Confluent's AvroConverter read the same with
            --schema-registry URL (each schema id is fetched once); they draft
            the same profile as the same rows in JSON.
            """,
        subcommands: [ProfileInitCommand.self, ProfileCheckCommand.self])
}

/// Where the sample comes from: a cluster or recordings, and how much of it.
struct ProfileSampleOptions: ParsableArguments {
    @Option(help: "Bootstrap brokers, comma-separated.")
    var brokers: String?

    @Option(
        help:
            "Topics, comma-separated; a name starting with ^ is a regex (e.g. '^nw\\.public\\..*'). With --recording: keeps only these."
    )
    var topics: String?

    @Option(
        name: .customLong("recording"),
        help: ArgumentHelp(
            "Read this recording instead of a cluster (kcat -J lines, kcat's tab form, or cdctop's own, e.g. `cdctop record` of Avro topics, which carries its schemas). Repeatable.",
            valueName: "file"))
    var recordings: [String] = []

    @Option(help: ArgumentHelp("Messages read per topic, from the earliest offset.", valueName: "n"))
    var messages: Int = 2000

    @Option(
        help: ArgumentHelp(
            "Stop reading the cluster after this many seconds (the sample is then partial, and says so).",
            valueName: "s"))
    var timeout: Double = 30

    @OptionGroup var kafka: KafkaPropertyOptions
    @OptionGroup var registry: SchemaRegistryOptions

    func validate() throws {
        if recordings.isEmpty && brokers == nil {
            throw ValidationError("give --brokers and --topics, or --recording FILE")
        }
        if !recordings.isEmpty && brokers != nil {
            throw ValidationError("give either --brokers or --recording, not both")
        }
        if brokers != nil && (topics ?? "").isEmpty {
            throw ValidationError("--brokers needs --topics (a name, or a regex starting with ^)")
        }
        if !(1...1_000_000).contains(messages) { throw ValidationError("--messages must be between 1 and 1000000") }
        if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    var topicList: [String]? {
        topics.map {
            $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    /// The sample, with the schema of every Avro (Confluent-framed) key and value fetched once.
    func sample() throws -> MessageSample {
        do {
            var sample: MessageSample
            if !recordings.isEmpty {
                sample = try ProfileSampler.fromRecordings(recordings, topics: topicList, perTopic: messages)
            } else {
                printError("cdctop: reading up to \(messages) messages per topic from \(brokers!) …")
                sample = try ProfileSampler.fromKafka(
                    brokers: brokers!, topics: topicList ?? [], properties: try kafka.dictionary(),
                    perTopic: messages, timeoutSeconds: timeout)
            }
            try sample.resolveSchemas(registry: try registry.client(cacheDirectory: nil))
            return sample
        } catch let error as SamplingError {
            throw RunError(error.description)
        }
    }
}

struct ProfileInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Draft a starting profile from a sample of your topics.",
        discussion: """
            Reads the first --messages of each topic and, per table (topic
            <prefix>.<schema>.<table>, or Debezium's source.table): the record
            key's columns; every column with the JSON types seen and the Kafka
            Connect type when messages carry a schema (decimal scale, float, int,
            date/time); how often it is null; how many distinct values a short
            text column has; the op counts (r/c/u/d/t); and whether deletes carry
            full before images or only the key. Avro topics (Confluent framing)
            need --schema-registry; their columns read as the JSON converter's
            would (decimals with their scale, Debezium's time types).

            From that it guesses the roles: a fact table with a price and a
            quantity (or an amount/total), lookups joined through <name>_id
            columns that match another table's key, a category-like name on a
            lookup, the header table a composite-keyed line table points to. It
            writes a profile with transactions, revenue and category_sales KPIs
            when it can guess them (commented-out examples otherwise), and a
            comment on every choice and observation. Review it, then run
            `cdctop profile check`.

            Examples:
              cdctop profile init --brokers HOST:9092 \\
                --topics '^nw\\.public\\..*' --output nw.toml
              kcat -C -J -e -b HOST:9092 -t nw.public.orders \\
                -t nw.public.order_details > nw.jsonl
              cdctop profile init --recording nw.jsonl
            """)

    @OptionGroup var sampling: ProfileSampleOptions

    @Option(help: ArgumentHelp("Write the profile to this file (default: standard output).", valueName: "file"))
    var output: String?

    @Flag(help: "With --output: replace the file if it exists.")
    var force = false

    @Option(
        help: ArgumentHelp(
            "The profile's name (default: the topics' prefix, e.g. nw for nw.public.orders).", valueName: "name"))
    var name: String?

    func validate() throws {
        if let output, !force, FileManager.default.fileExists(atPath: output) {
            throw ValidationError("\(output) exists: pass --force to replace it")
        }
    }

    func run() throws {
        let sample = try sampling.sample()
        guard !sample.messages.isEmpty else {
            throw RunError(
                "no message in \(sample.source)\(sampling.topics.map { " for --topics \($0)" } ?? ""): nothing to draft a profile from"
            )
        }
        for note in sample.notes { printError("cdctop: \(note)") }
        let observation = SampleObservation(sample)
        let draft = ProfileDraft(observation)
        let profileName = name ?? ProfileInitCommand.defaultName(topics: sample.topics)
        let text = draft.toml(name: profileName, source: sample.source, perTopic: sample.perTopicLimit)
        var loadError: String? = nil
        do { _ = try KPIProfile(tomlText: text, file: output ?? "(draft)") } catch { loadError = "\(error)" }
        if let output {
            do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                throw RunError("cannot write \(output): \(error.localizedDescription)")
            }
            printError(
                "cdctop: wrote \(output): \(observation.tables.count) tables from \(sample.messages.count) messages; "
                    + "KPIs: \([draft.transactionsSQL.map { _ in "transactions" }, draft.revenueSQL.map { _ in "revenue" }, draft.categorySQL.map { _ in "category_sales" }].compactMap { $0 }.joined(separator: ", ").nonEmpty ?? "none guessed (see the comments)")"
            )
            printError("cdctop: next: cdctop profile check \(output) \(ProfileInitCommand.sourceArguments(sampling))")
        } else {
            print(text, terminator: "")
        }
        if let loadError {
            // A draft that does not load is cdctop's own bug: say so rather than leave a broken file silently.
            throw RunError("the drafted profile does not load (\(loadError)); edit it by hand, and please report this")
        }
    }

    /// `nw.public.orders` → `nw`.
    static func defaultName(topics: [String]) -> String {
        let prefixes = topics.filter { !$0.hasPrefix("__") }.compactMap {
            $0.split(separator: ".").first.map(String.init)
        }
        let counts = Dictionary(prefixes.map { ($0, 1) }, uniquingKeysWith: +)
        return counts.max { $0.value < $1.value }?.key ?? "custom"
    }

    static func sourceArguments(_ s: ProfileSampleOptions) -> String {
        let registry = s.registry.schemaRegistry.map { " --schema-registry \($0)" } ?? ""
        if !s.recordings.isEmpty { return s.recordings.map { "--recording \($0)" }.joined(separator: " ") + registry }
        return "--brokers \(s.brokers ?? "") --topics '\(s.topics ?? "")'" + registry
    }
}

struct ProfileCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a profile against a sample of your topics.",
        discussion: """
            Loads the profile (errors are printed with file:line; exit 2), reads
            the first --messages of each topic, and reports for every table and
            column the profile reads: present, null in every sampled row, missing
            in some rows, never present (a typo? names are case-sensitive), or
            present but not a number where the KPI sums it. Then the keys (the
            record key, or the profile's `key`) and whether messages have a record
            key at all; whether deletes carry usable before images; which topics
            `[tables.X] topics` matches. Last, the sample goes through the real
            engine with the profile: malformed events with their reasons, and the
            rows whose join chain does not resolve per KPI.

            Exit status: 0 when everything is usable, 1 when something is wrong
            (each problem is listed), 2 when the profile does not load.

            Examples:
              cdctop profile check nw.toml --brokers HOST:9092 \\
                --topics '^nw\\.public\\..*'
              cdctop profile check nw.toml --recording nw.jsonl --json | jq .problems
            """)

    @Argument(help: "The profile file to check.")
    var file: String

    @OptionGroup var sampling: ProfileSampleOptions

    @Flag(help: "Print the report as one JSON object (usable, problems, warnings, tables, kpis, malformed).")
    var json = false

    func run() throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            printError("cdctop: cannot read \(file): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        let profile: KPIProfile
        do { profile = try KPIProfile(tomlText: text, file: file) } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        guard profile.model != nil else {
            printError(
                "\(file): this profile uses the older built-in form ([sale], [line_item], [dimension]); profile check reads profiles whose KPIs are SQL ([kpi.NAME] sql = \"select …\")"
            )
            throw ExitCode(2)
        }
        let sample = try sampling.sample()
        let report = ProfileChecker.check(profile: profile, file: file, sample: sample)
        print(json ? report.json() : report.text())
        if !report.usable { throw ExitCode(1) }
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
