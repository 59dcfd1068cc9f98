import CRdKafka

/// A librdkafka failure, carrying librdkafka's own text plus what cdctop was doing and what to try.
package struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure, compared by name (`.configuration`, `.closed`, `.fatal`, …) rather than by
    /// librdkafka's numbers; librdkafka's own codes print as their names ("_TRANSPORT").
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable {
            /// A bad property, pattern or option: the command line needs fixing, retrying will not help.
            case configuration
            /// The client was already closed.
            case closed
            /// No partition was assigned in time.
            case noPartitions
            /// One of librdkafka's `rd_kafka_resp_err_t`.
            case librdkafka(Int32)
        }
        private let kind: Kind
        private init(kind: Kind) { self.kind = kind }
        init(_ error: rd_kafka_resp_err_t) { kind = .librdkafka(error.rawValue) }

        package static let configuration = Code(kind: .configuration)
        package static let closed = Code(kind: .closed)
        package static let noPartitions = Code(kind: .noPartitions)
        /// Raised from a client's fatal error state: the client cannot continue.
        package static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)

        /// librdkafka's `rd_kafka_resp_err_t` value, nil for cdctop's own kinds.
        var librdkafkaRawValue: Int32? {
            if case .librdkafka(let raw) = kind { return raw }
            return nil
        }

        package var description: String {
            switch kind {
            case .configuration: "configuration"
            case .closed: "closed"
            case .noPartitions: "no partitions"
            case .librdkafka(let raw): String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: raw)))
            }
        }
    }

    package var code: Code
    /// librdkafka's own text, what cdctop was doing, and what to do about it.
    package var message: String
    package var isFatal: Bool
    package var isRetriable: Bool

    package init(code: Code, message: String, isFatal: Bool = false, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.isFatal = isFatal
        self.isRetriable = isRetriable
    }

    package var description: String { "Kafka error (\(code)): \(message)" }

    /// What kind of fault this is, for deciding whether retrying can help (issue 23).
    package enum Fault: String, Sendable {
        /// The network, a restarting broker, a leader election: librdkafka retries with backoff.
        case transient
        /// Wrong credentials, a SASL mechanism the broker does not offer.
        case authentication
        /// The credentials work but an ACL refuses the topic, group or cluster.
        case authorization
        /// The TLS handshake failed (wrong CA, a TLS client talking to a plaintext listener, …).
        case tls
        /// A topic named in --topics does not exist (or may not be described).
        case unknownTopic = "unknown_topic"
        /// A property, pattern or option is wrong.
        case configuration

        /// Retrying with the same settings cannot succeed: cdctop stops and says what to fix.
        package var needsFix: Bool { self != .transient }
    }

    /// The fault this error is; `transient` unless the code (or librdkafka's text) says otherwise.
    package var fault: Fault {
        if code == .configuration { return .configuration }
        guard case let raw? = code.librdkafkaRawValue else { return .transient }
        return Self.fault(of: rd_kafka_resp_err_t(rawValue: raw), text: message)
    }

    /// Classifies one of librdkafka's codes; `text` tells TLS failures apart that librdkafka reports as
    /// a transport error ("SSL handshake failed").
    static func fault(of error: rd_kafka_resp_err_t, text: String) -> Fault {
        switch error {
        case RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM, RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
            return .authentication
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED:
            return .authorization
        case RD_KAFKA_RESP_ERR__SSL:
            return .tls
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
            return .unknownTopic
        default:
            return text.contains("SSL handshake failed") ? .tls : .transient
        }
    }

    static let unknownTopicFix = "Check --topics; Debezium creates a table's topic at its first change or snapshot"
    /// How a fault that needs a fix ends its message: screens use it not to promise a retry that will not come.
    package static let stoppedNote = "cdctop stopped instead of retrying"

    /// One line for a fault retrying cannot fix: what happened (librdkafka's words) and what to change.
    static func needingFix(_ fault: Fault, code: rd_kafka_resp_err_t, text: String, brokers: String) -> KafkaError {
        let fix: String
        switch fault {
        case .authentication:
            fix =
                "Kafka at \(brokers) refused the credentials. Check security.protocol, sasl.mechanisms (the broker must offer it), "
                + "sasl.username and sasl.password (-F FILE or -X); \(stoppedNote)"
        case .authorization:
            fix =
                "Kafka at \(brokers) refused access. Grant the principal Describe and Read on the topics and Read on the group "
                + "(--group), or use a group it may use; \(stoppedNote)"
        case .tls:
            fix =
                "The TLS handshake with \(brokers) failed. Check security.protocol (SSL only on a TLS listener), ssl.ca.location "
                + "(the CA that signed the broker's certificate) and the broker's host name; \(stoppedNote)"
        case .unknownTopic:
            fix = unknownTopicFix
        case .configuration:
            fix = "Fix the -X/-F properties (librdkafka's CONFIGURATION.md lists them)"
        case .transient:
            fix = defaultHint(for: code)
        }
        return KafkaError(code: .init(code), message: "\(text). \(fix)", isFatal: true, isRetriable: false)
    }

    /// Builds an error from a response code, naming librdkafka's text for it.
    static func response(
        _ error: rd_kafka_resp_err_t, while doing: String, hint: String? = nil,
        isFatal: Bool = false
    ) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(error))
        let retriable = isRetriableCode(error)
        var message = "\(doing): \(text)"
        if let hint { message += ". \(hint)" } else { message += ". \(defaultHint(for: error))" }
        return KafkaError(
            code: .init(error), message: message,
            isFatal: isFatal || error == RD_KAFKA_RESP_ERR__FATAL, isRetriable: retriable)
    }

    /// Builds an error from an `rd_kafka_error_t` (incremental assign and friends) and destroys it.
    static func consuming(_ error: OpaquePointer, while doing: String) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        return KafkaError(
            code: .init(code), message: "\(doing): \(text). \(defaultHint(for: code))",
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0)
    }

    static func configuration(_ text: String, property: String, value: String) -> KafkaError {
        KafkaError(
            code: .configuration,
            message: "setting Kafka property \(property)=\(value): \(text). Fix or remove the -X \(property) option "
                + "(librdkafka's CONFIGURATION.md lists the valid properties)")
    }

    /// The fatal error a handle has raised, with librdkafka's reason.
    static func fatal(of handle: OpaquePointer, while doing: String) -> KafkaError {
        var reason = [CChar](repeating: 0, count: 512)
        let code = reason.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_fatal_error(handle, buffer.baseAddress, buffer.count)
        }
        let text = cStringBufferText(reason)
        return KafkaError(
            code: .init(code),
            message:
                "\(doing): fatal Kafka client error: \(text.isEmpty ? String(cString: rd_kafka_err2str(code)) : text). "
                + "The client cannot continue; restart cdctop (check group.instance.id or producer idempotence settings)",
            isFatal: true, isRetriable: false)
    }

    private static func isRetriableCode(_ error: rd_kafka_resp_err_t) -> Bool {
        switch error {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
            RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR__RESOLVE:
            return true
        default:
            return false
        }
    }

    private static func defaultHint(for error: rd_kafka_resp_err_t) -> String {
        switch error {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE:
            return "Check that the broker address (--brokers) is right and the broker is running"
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            return "The broker did not answer in time; check it is reachable, or retry"
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
            RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            return "Check the topic name (or --topics pattern) and that the connector has created it"
        case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
            return "Check the credentials and ACLs passed with -X"
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            return "The producer queue is full; raise queue.buffering.max.messages with -X or produce slower"
        default:
            return "Retry; if it persists, run with -X debug=consumer,cgrp,topic,fetch to see librdkafka's log"
        }
    }
}
