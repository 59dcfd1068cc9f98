import CRdKafka
import Foundation

/// What the consumer connects to and subscribes; `properties` are `-X key=value` pass-through.
package struct KafkaConsumerConfig: Sendable {
    package var brokers: String
    package var groupID: String
    /// Topic names; a name starting with "^" is a regex subscription (librdkafka matches it).
    package var topics: [String]
    /// Applied last, so they override cdctop's defaults.
    package var properties: [String: String]
    /// How often topics are listed, so new matching topics and partitions are read (ms).
    package var metadataRefreshMs: Int = 2_000
    /// How often the group's committed offsets are asked for the Lag view (ms, off the polling thread).
    package var committedQueryIntervalMs: Int = 3_000

    package init(brokers: String, groupID: String, topics: [String], properties: [String: String] = [:]) {
        self.brokers = brokers
        self.groupID = groupID
        self.topics = topics
        self.properties = properties
    }

    /// A fetch waits for this much data (or `fetchWaitMaxMs`): see `librdkafkaProperties`.
    package static let fetchMinBytes = 1_048_576
    /// The longest a fetch waits for `fetchMinBytes`: the most a message on a quiet topic is delayed.
    package static let fetchWaitMaxMs = 1_000

    /// The consumer's defaults: offsets are stored only after the caller applied the events (or
    /// checkpointed them), then committed by librdkafka's auto-commit timer and on close. An offset
    /// outside its partition is an error, never a silent jump (see `KafkaConsumer`).
    var librdkafkaProperties: [(String, String)] {
        var list: [(String, String)] = [
            ("bootstrap.servers", brokers),
            ("group.id", groupID),
            ("enable.auto.commit", "true"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "error"),
            ("enable.partition.eof", "true"),
            ("statistics.interval.ms", "0"),
            ("topic.metadata.refresh.interval.ms", "10000"),
            // A caught-up consumer on a partition that keeps growing would otherwise fetch again as soon as one
            // message arrives (580–700 Fetch requests a minute at 300 msg/s), and a reader slowed the Debezium
            // snapshot it watched 2.4×. Waiting for 1 MB or 1 s sends about one fetch a second per broker, as
            // `kcat` with the e2e settings does, and Tansu, which re-reads a waiting fetch's partitions on a
            // halving schedule, spends a third of the CPU on it that it did; a backlog still fills every fetch
            // at once. -X overrides both (the latency e2e tests set fetch.wait.max.ms=20).
            ("fetch.min.bytes", String(Self.fetchMinBytes)),
            ("fetch.wait.max.ms", String(Self.fetchWaitMaxMs)),
        ]
        // librdkafka ≥ 2.1 postpones a partition's next fetch by fetch.queue.backoff.ms (1 s by default)
        // once its local queue is full: a consumer that falls briefly behind on a large backlog then
        // idles for up to a second per partition (19–33% of the raw read rate on 1M Avro messages,
        // 68–91% with 10 ms). Older libraries (Debian's 2.0) do not know the property.
        if rd_kafka_version() >= 0x0201_0000 { list.append(("fetch.queue.backoff.ms", "10")) }
        list += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return list
    }
}

/// Owns an `rd_kafka_conf_t` until `rd_kafka_new` takes it over.
final class KafkaConfigurationHandle {
    private(set) var pointer: OpaquePointer?

    init(_ properties: [(String, String)]) throws {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .configuration, message: "rd_kafka_conf_new failed: out of memory")
        }
        pointer = conf
        // Never librdkafka's default stderr logger (see `kafkaLogToStateCallback`), whoever creates the client.
        rd_kafka_conf_set_log_cb(conf, kafkaLogToStateCallback)
        for (key, value) in properties {
            try set(key, value)
        }
    }

    func set(_ key: String, _ value: String) throws {
        guard let pointer else { return }
        var errorText = [CChar](repeating: 0, count: 512)
        let result = errorText.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_conf_set(pointer, key, value, buffer.baseAddress, buffer.count)
        }
        if result != RD_KAFKA_CONF_OK {
            // The value of a secret property never reaches an error message (the dashboard and --log show them).
            throw KafkaError.configuration(
                cStringBufferText(errorText), property: key,
                value: KafkaSecretProperties.displayValue(key: key, value: value))
        }
    }

    /// Creates the client handle; on success librdkafka owns the configuration.
    func makeClient(_ type: rd_kafka_type_t, role: String) throws -> OpaquePointer {
        guard let conf = pointer else {
            throw KafkaError(code: .configuration, message: "Kafka configuration already used")
        }
        var errorText = [CChar](repeating: 0, count: 512)
        let handle = errorText.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_new(type, conf, buffer.baseAddress, buffer.count)
        }
        guard let handle else {
            throw KafkaError(
                code: .configuration,
                message: "creating the Kafka \(role): \(cStringBufferText(errorText)). Check the -X properties")
        }
        pointer = nil
        return handle
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }
}

/// Non-fatal client errors such as "all brokers down" are kept for the status bar; fatal ones are flagged.
let kafkaErrorToStateCallback:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
        _, code, reason, opaque in
        guard let opaque else { return }
        let state = Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
        let text =
            reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(rawValue: code)))
        state.recordError(text, fatal: code == RD_KAFKA_RESP_ERR__FATAL.rawValue)
    }

/// The NUL-terminated text librdkafka wrote into an error buffer.
func cStringBufferText(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// librdkafka properties whose values are secrets: never printed, masked as `***` wherever cdctop shows
/// its configuration (errors, `--log`, the Connections panel).
package enum KafkaSecretProperties {
    /// True for passwords, private keys and tokens: `sasl.password`, `ssl.key.password`,
    /// `ssl.keystore.password`, `ssl.key.pem`, `sasl.oauthbearer.client.secret`, `sasl.oauthbearer.config`
    /// (it may carry a client secret), and anything else whose name says password, secret or token.
    package static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        if k == "ssl.key.pem" || k == "sasl.oauthbearer.config" || k == "ssl_key" { return true }
        return k.contains("password") || k.contains("secret") || (k.contains("token") && !k.hasSuffix(".url"))
    }

    /// `value`, or `***` when `key` names a secret.
    package static func displayValue(key: String, value: String) -> String { isSecret(key) ? "***" : value }

    /// `key=value` with secrets masked, sorted by key: for logs and screens.
    package static func displayText(_ properties: [String: String]) -> String {
        properties.sorted { $0.key < $1.key }.map { "\($0.key)=\(displayValue(key: $0.key, value: $0.value))" }
            .joined(separator: " ")
    }
}

/// A librdkafka properties file in kcat's `-F` format: one `key=value` per line, `#` starts a comment
/// line, blank lines are ignored, whitespace around key and value is dropped; the first `=` splits
/// (values may contain `=`). A later line for the same key wins.
package enum KafkaPropertiesFile {
    package struct ParseError: Error, CustomStringConvertible, Sendable {
        package var description: String
    }

    package static func parse(_ text: String, file: String) throws(ParseError) -> [String: String] {
        var out: [String: String] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                // Never quote the line: it may be a password pasted without its key.
                throw ParseError(
                    description:
                        "\(file) line \(lineNumber): expected key=value (e.g. security.protocol=SASL_SSL); '#' starts a comment"
                )
            }
            let key = String(line[..<eq].trimmingWhitespace())
            guard !key.isEmpty else {
                throw ParseError(description: "\(file) line \(lineNumber): the property name before '=' is empty")
            }
            out[key] = String(line[line.index(after: eq)...].trimmingWhitespace())
        }
        return out
    }

    /// Reads and parses `path`; the error says which file and line, never a value.
    package static func load(path: String) throws(ParseError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParseError(
                description:
                    "cannot read the Kafka properties file \(path) (-F or $CDCTOP_KAFKA_CONFIG): no such file or no permission"
            )
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
