import CRdKafka
import Synchronization

/// Owns one librdkafka client (`rd_kafka_t`) and destroys it in `deinit`: the one place a client is
/// created and freed. Users reach the handle only inside `withHandle`, so a client another thread still
/// holds is destroyed only after that thread lets go of it (no use after free by construction).
final class KafkaClient: Sendable {
    /// librdkafka's client API is thread-safe (any call, from any thread) and the pointer never changes.
    nonisolated(unsafe) private let handle: OpaquePointer
    /// The consumer queue, when the main queue was forwarded to it (`pollsConsumerQueue`); released first.
    nonisolated(unsafe) private let consumerQueue: OpaquePointer?
    /// The C callbacks reach this through the configuration's unretained opaque pointer: it must outlive
    /// the handle, so the client holds it (stored properties are released after `deinit` has run).
    private let callbackState: KafkaClientState?
    private let skipsConsumerClose = Atomic<Bool>(false)

    /// Creates the client from `configuration` (which librdkafka then owns). `callbackState` becomes the
    /// callbacks' opaque pointer; `pollsConsumerQueue` serves messages, errors and events from one queue.
    init(
        _ configuration: KafkaConfigurationHandle, type: rd_kafka_type_t, role: String,
        callbackState: KafkaClientState? = nil, pollsConsumerQueue: Bool = false
    ) throws {
        if let callbackState { rd_kafka_conf_set_opaque(configuration.pointer, callbackState.opaquePointer) }
        let handle = try configuration.makeClient(type, role: role)
        self.handle = handle
        self.callbackState = callbackState
        if pollsConsumerQueue {
            rd_kafka_poll_set_consumer(handle)
            consumerQueue = rd_kafka_queue_get_consumer(handle)
        } else {
            consumerQueue = nil
        }
    }

    deinit {
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue) }
        if skipsConsumerClose.load(ordering: .acquiring) {
            rd_kafka_destroy_flags(handle, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
        } else {
            rd_kafka_destroy(handle)
        }
    }

    /// Runs `body` with the handle; the handle must not escape `body`.
    @inline(__always)
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R { try body(handle) }

    /// Runs `body` with the consumer queue (a client made with `pollsConsumerQueue` only).
    @inline(__always)
    func withConsumerQueue<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        guard let consumerQueue else {
            preconditionFailure("KafkaClient: no consumer queue (create it with pollsConsumerQueue)")
        }
        return try body(consumerQueue)
    }

    /// Makes a poll waiting on the consumer queue return now; safe from any thread.
    func wakeConsumerQueue() {
        if let consumerQueue { rd_kafka_queue_yield(consumerQueue) }
    }

    /// Destroy without leaving the group: after refused credentials or TLS nothing can be committed or
    /// left, and a normal destroy would wait for a coordinator that refuses us.
    func skipConsumerCloseOnDestroy() { skipsConsumerClose.store(true, ordering: .releasing) }

    /// The fatal error this client raised, with librdkafka's reason.
    func fatalError(while doing: String) -> KafkaError { KafkaError.fatal(of: handle, while: doing) }

    /// How often a metadata request waiting for a broker to come up asks `stopWaiting`.
    static let brokerWaitStepMs: Int32 = 100

    /// `rd_kafka_metadata` for every topic within `timeoutMs`, except that while no broker is up it waits in
    /// short steps and gives up as soon as `stopWaiting()` is true: with refused credentials or a failed TLS
    /// handshake no broker ever comes up, and every second of waiting is more refused connections (a retry
    /// storm at the broker). On success the caller frees the metadata with `rd_kafka_metadata_destroy`; on
    /// failure it gets librdkafka's code, to word the error for what it was doing.
    func metadata(timeoutMs: Int32, stopWaiting: () -> Bool) -> MetadataAnswer {
        let deadline = WallClock.monotonicMs() + Int64(timeoutMs)
        var requestSent = false
        while true {
            let remaining = Int32(clamping: max(0, deadline - WallClock.monotonicMs()))
            var metadata: UnsafePointer<rd_kafka_metadata_t>?
            // librdkafka answers _TRANSPORT when no broker became usable in time (nothing was sent), and
            // _TIMED_OUT when a request went out unanswered: that one gets the whole remaining time.
            let result = rd_kafka_metadata(
                handle, 1, nil, &metadata, requestSent ? remaining : min(remaining, Self.brokerWaitStepMs))
            if result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata { return .metadata(metadata) }
            let again =
                remaining > 0
                && (result == RD_KAFKA_RESP_ERR__TIMED_OUT && !requestSent
                    || result == RD_KAFKA_RESP_ERR__TRANSPORT && !stopWaiting())
            guard again else { return .failed(result) }
            if result == RD_KAFKA_RESP_ERR__TIMED_OUT { requestSent = true }
        }
    }

    /// What `metadata` got: the cluster's metadata (the caller frees it), or why not.
    enum MetadataAnswer {
        case metadata(UnsafePointer<rd_kafka_metadata_t>)
        case failed(rd_kafka_resp_err_t)
    }
}

/// Owns one producer topic handle (`rd_kafka_topic_t`); holds its client, so the client outlives it.
final class KafkaTopic: Sendable {
    /// librdkafka's topic handles are thread-safe, and the pointer never changes.
    nonisolated(unsafe) private let handle: OpaquePointer
    private let client: KafkaClient

    /// Opens `name` on `client`; nil when librdkafka refuses (see `rd_kafka_last_error`).
    init?(_ name: String, on client: KafkaClient) {
        guard let handle = client.withHandle({ rd_kafka_topic_new($0, name, nil) }) else { return nil }
        self.handle = handle
        self.client = client
    }

    deinit { rd_kafka_topic_destroy(handle) }

    /// Runs `body` with the handle; the handle must not escape `body`.
    @inline(__always)
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R { try body(handle) }
}
