import ArgumentParser
import Foundation
import Metrics
import Pipeline
import Synchronization

/// `--profile`: a TOML file, or the name of a built-in profile. Without it the built-in shop profile
/// stands in, marked as such: its KPIs show only for topics that carry the shop's tables.
package struct ProfileOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "KPI profile: a TOML file (see profiles/northwind.toml; `cdctop profile init` writes one from your topics) or a built-in name: shop, samples. Without it, the shop profile's KPIs show only if the topics carry its tables; every other view works on any topics.",
            valueName: "file|name"))
    var profile: String?

    package init() {}
    init(profile: String?) { self.profile = profile }

    package func load() throws -> KPIProfile {
        switch profile {
        case nil:
            var shop = KPIProfile.shop
            shop.isImplicitDefault = true
            return shop
        case "shop": return .shop
        case "samples": return .samples
        case let path?:
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("profile '\(path)' is neither a file nor a built-in profile (shop, samples)")
            }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return try KPIProfile(tomlText: text, file: path)
        }
    }
}

/// `-F file` and `-X key=value` librdkafka properties, as in kcat.
package struct KafkaPropertyOptions: ParsableArguments {
    @Option(
        name: .customShort("F"),
        help: ArgumentHelp(
            "librdkafka properties file as kcat reads it: key=value lines, # comments; the place for sasl.password and ssl.key.password, off the command line (default: the file named by $CDCTOP_KAFKA_CONFIG). -X overrides it.",
            valueName: "file"))
    var propertiesFile: String?

    @Option(
        name: .customShort("X"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "librdkafka property passed through as is, e.g. -X security.protocol=SASL_SSL -X session.timeout.ms=6000. Repeatable. Put secrets in -F FILE instead: the command line is visible to every user (ps).",
            valueName: "key=value"))
    var properties: [String] = []

    /// `-F FILE`, else `$CDCTOP_KAFKA_CONFIG` (a path, like kcat's `$KCAT_CONFIG`), else none.
    var effectivePropertiesFile: String? {
        if let propertiesFile { return propertiesFile }
        let fromEnvironment = ProcessInfo.processInfo.environment["CDCTOP_KAFKA_CONFIG"] ?? ""
        return fromEnvironment.isEmpty ? nil : fromEnvironment
    }

    package init() {}

    /// The file's properties, then -X on top (the command line wins).
    package func dictionary() throws -> [String: String] {
        var out: [String: String] = [:]
        if let file = effectivePropertiesFile {
            do { out = try KafkaPropertiesFile.load(path: file) } catch { throw ValidationError(error.description) }
        }
        for p in properties {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw ValidationError("-X expects key=value, got '\(p)'")
            }
            out[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        return out
    }
}

/// A failure at run time (not a usage mistake): printed as `Error: …` without the usage text.
package struct RunError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Paces work to a steady rate: `due` is how many items should be done by now (monotonic clock).
struct Pacer {
    let perSecond: Double
    private let start = WallClock.monotonicSeconds()
    init(perSecond: Double) { self.perSecond = perSecond }
    var due: Int64 { Int64((WallClock.monotonicSeconds() - start) * perSecond) }
}

/// Writes to stderr without going through buffered stdout (and never while curses owns the screen).
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// One line summarising a snapshot, for headless runs without --json.
func summaryLine(_ s: RunSnapshot) -> String {
    let t = s.kpis.result.totals
    let current = s.kpis.window(containing: s.kpis.maxCommitTimeMs)
    let freshness =
        s.kpis.maxCommitTimeMs > 0 ? TimeText.duration(ms: max(0, s.takenAtMs - s.kpis.maxCommitTimeMs)) : "-"
    // Zeros from a profile that fits none of the topics would read as the business's numbers.
    let kpis =
        s.kpis.profile.noProfileForTopics
        ? "  no KPIs: no profile for these topics (cdctop profile init, then --profile FILE)"
        : "  window tx \(current?.txCount ?? 0) rev \(current?.revenue.formatted() ?? "0.00")  total tx \(t.txCount) rev \(t.revenue.formatted())"
    return "msgs \(s.kpis.result.messages)  \(Int(s.kpis.eventsPerSecond)) ev/s" + kpis
        + "  lag \(s.consumer.lagKnown ? String(s.consumer.totalLag) : "unknown")  fresh \(freshness)"
        + "  malformed \(s.kpis.result.malformed) dropped \(s.kpis.result.dropped) refused \(s.kpis.refused) late \(s.kpis.lateCorrections)"
        + " dup \(s.kpis.duplicates) unmatched \(s.kpis.unmatched) ignored \(s.kpis.ignored)  \(stateSummary(s.state, nowMs: s.takenAtMs))"
        + "  kafka \(s.consumer.kafka.state.rawValue)"
        + (s.consumer.kafka.state == .error || s.consumer.kafka.state == .stalled
            ? " (\(s.consumer.kafka.detail))" : "")
}

/// `state none`, `state no checkpoint yet`, `state 3.0s ago`, `state error: <message>`, `state viewer of pid 4242 (read-only)`.
func stateSummary(_ state: StateStatus, nowMs: Int64) -> String {
    guard state.directory != nil else { return "state none" }
    if let writer = state.viewerOfPID { return "state viewer of pid \(writer) (read-only)" }
    if let error = state.lastError { return "state error: \(error)" }
    if state.lastCheckpointMs <= 0 { return "state no checkpoint yet" }
    return "state \(TimeText.duration(ms: max(0, nowMs - state.lastCheckpointMs))) ago"
}

/// Stops a blocking run on SIGINT/SIGTERM in headless mode.
final class InterruptFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    private let sources = Mutex<[DispatchSourceSignal]>([])

    init(onInterrupt: @escaping @Sendable () -> Void = {}) {
        sources.withLock { sources in
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { [weak self] in
                    self?.raised.store(true, ordering: .releasing)
                    onInterrupt()
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    var isRaised: Bool { raised.load(ordering: .acquiring) }

    deinit { sources.withLock { for s in $0 { s.cancel() } } }
}

/// `--schema-registry` and its credentials, for Confluent-framed (Avro) topics (`watch`, `generate --avro`).
package struct SchemaRegistryOptions: ParsableArguments {
    @Option(
        name: .customLong("schema-registry"),
        help: ArgumentHelp(
            "Schema registry for Avro topics (Debezium with Confluent's AvroConverter), e.g. http://127.0.0.1:8081; several comma-separated URLs are tried in order; Apicurio: http://host:8080/apis/ccompat/v7.",
            valueName: "url[,url…]"))
    package var schemaRegistry: String?

    @Option(
        name: .customLong("schema-registry-auth-file"),
        help: ArgumentHelp(
            "File with the registry's credentials: one line 'user:password' (basic auth) or 'bearer TOKEN' (default: $CDCTOP_SCHEMA_REGISTRY_AUTH, same form).",
            valueName: "file"))
    var schemaRegistryAuthFile: String?

    @Option(
        name: .customLong("schema-registry-ca"),
        help: ArgumentHelp("CA certificates (PEM) to verify an https:// registry with.", valueName: "file"))
    var schemaRegistryCA: String?

    package init() {}

    package func validate() throws {
        guard let schemaRegistry else {
            if schemaRegistryAuthFile != nil || schemaRegistryCA != nil {
                throw ValidationError("--schema-registry-auth-file and --schema-registry-ca need --schema-registry URL")
            }
            return
        }
        do { _ = try SchemaRegistryConfig.parseURLs(schemaRegistry) } catch { throw ValidationError(error.message) }
        do { _ = try SchemaRegistryAuth.load(file: schemaRegistryAuthFile) } catch {
            throw ValidationError(error.message)
        }
        if let ca = schemaRegistryCA, !FileManager.default.isReadableFile(atPath: ca) {
            throw ValidationError("--schema-registry-ca \(ca): cannot read the file")
        }
    }

    /// The client, caching schemas in `cacheDirectory` (`<state dir>/schemas`); nil without --schema-registry.
    package func client(cacheDirectory: String?) throws -> SchemaRegistryClient? {
        guard let schemaRegistry else { return nil }
        do {
            var config = SchemaRegistryConfig(urls: try SchemaRegistryConfig.parseURLs(schemaRegistry))
            config.auth = try SchemaRegistryAuth.load(file: schemaRegistryAuthFile)
            config.caFile = schemaRegistryCA
            config.cacheDirectory = cacheDirectory
            return SchemaRegistryClient(config: config)
        } catch { throw RunError(error.message) }
    }
}

/// `--connect-auth-file` / `--connect-ca`: credentials and CA for Kafka Connect's REST API (`watch --connect`).
struct ConnectHTTPOptions: ParsableArguments {
    @Option(
        name: .customLong("connect-auth-file"),
        help: ArgumentHelp(
            "File with Kafka Connect's REST credentials: one line 'user:password' (basic auth) or 'bearer TOKEN' (default: $CDCTOP_CONNECT_AUTH, same form).",
            valueName: "file"))
    var authFile: String?

    @Option(
        name: .customLong("connect-ca"),
        help: ArgumentHelp(
            "CA certificates (PEM) to verify an https:// --connect URL with (default: the system's).", valueName: "file"
        ))
    var caFile: String?

    func validate(url: String?) throws {
        try validateHTTPOptions(option: "connect", url: url, authFile: authFile, caFile: caFile) {
            (url: String) throws(CurlHTTPError) in
            _ = try HTTPService.kafkaConnect(url: url, authFile: authFile, caFile: caFile)
        }
    }
}

/// `--alertmanager-auth-file` / `--alertmanager-ca`: credentials and CA for Alertmanager's API.
struct AlertmanagerHTTPOptions: ParsableArguments {
    @Option(
        name: .customLong("alertmanager-auth-file"),
        help: ArgumentHelp(
            "File with Alertmanager's credentials: one line 'user:password' (basic auth) or 'bearer TOKEN' (default: $CDCTOP_ALERTMANAGER_AUTH, same form).",
            valueName: "file"))
    var authFile: String?

    @Option(
        name: .customLong("alertmanager-ca"),
        help: ArgumentHelp(
            "CA certificates (PEM) to verify an https:// --alertmanager URL with (default: the system's).",
            valueName: "file"))
    var caFile: String?

    func validate(url: String?) throws {
        try validateHTTPOptions(option: "alertmanager", url: url, authFile: authFile, caFile: caFile) {
            (url: String) throws(CurlHTTPError) in
            _ = try HTTPService.alertmanager(url: url, authFile: authFile, caFile: caFile)
        }
    }
}

/// `--NAME-auth-file` and `--NAME-ca` need `--NAME URL`, the CA file must be readable, and the URL with
/// its credentials must make a service (`make` throws `CurlHTTPError` otherwise).
private func validateHTTPOptions(
    option: String, url: String?, authFile: String?, caFile: String?,
    make: (String) throws(CurlHTTPError) -> Void
) throws {
    if url == nil && (authFile != nil || caFile != nil) {
        throw ValidationError("--\(option)-auth-file and --\(option)-ca need --\(option) URL")
    }
    if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
        throw ValidationError("--\(option)-ca \(caFile): cannot read the file")
    }
    if let url { do throws(CurlHTTPError) { try make(url) } catch { throw ValidationError(error.description) } }
}

/// `--transactions` (issue 22): KPIs as read, or over whole source transactions only.
struct TransactionOptions: ParsableArguments {
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case asRead = "as-read"
        case complete
    }

    @Option(
        name: .customLong("transactions"),
        help: ArgumentHelp(
            "as-read: a change counts as soon as it is read. complete: with Debezium's transaction metadata (connector option provide.transaction.metadata=true, and its topic <prefix>.transaction among --topics), hold each transaction's changes until its END has arrived and every table cdctop reads has all of its events, so no KPI ever shows part of a transaction; snapshot rows count at once. Open transactions show in the Overview, --json (transactions) and --metrics.",
            valueName: "as-read|complete"))
    var transactions: Mode = .asRead

    @Option(
        name: .customLong("transaction-timeout"),
        help: ArgumentHelp(
            "With --transactions complete: seconds a transaction may stay open before it is released unfinished and counted as timed out (a lost END, a table the connector filters out).",
            valueName: "s"))
    var transactionTimeout: Double = 60

    @Option(
        name: .customLong("transaction-buffer"),
        help: ArgumentHelp(
            "With --transactions complete: change events held at most; beyond, the oldest open transaction is released unfinished and counted as evicted.",
            valueName: "events"))
    var transactionBuffer: Int = 500_000

    func validate() throws {
        if !(transactionTimeout >= 1 && transactionTimeout <= 86_400) {
            throw ValidationError("--transaction-timeout must be between 1 and 86400 seconds")
        }
        if transactionBuffer < 1 { throw ValidationError("--transaction-buffer must be at least 1 event") }
    }

    /// What the engine holds; nil as read.
    var holding: TransactionHolding? {
        transactions == .complete
            ? TransactionHolding(timeoutMs: Int64(transactionTimeout * 1000), maxBufferedEvents: transactionBuffer)
            : nil
    }
}
