import CRdKafka

/// librdkafka's in-process mock cluster, for the demo and fast tests (no external service).
/// Each mock partition keeps only about 5 MB: fine to consume while producing, not for bulk loads.
package final class MockKafkaCluster: @unchecked Sendable {
    /// The private producer that hosts the cluster; it owns the handle (and the callbacks' state) and
    /// destroys it after `deinit` has destroyed the cluster (stored properties are released after `deinit`).
    private let host: KafkaClient
    private let cluster: OpaquePointer
    /// "127.0.0.1:port[,...]"; other clients (even kcat) can connect while this object lives.
    package let bootstrapServers: String

    /// Hosts the cluster on a private producer handle.
    package init(brokers: Int = 1) throws {
        let state = KafkaClientState(echoLogToStandardError: false)
        let host = try KafkaClient(
            try KafkaConfigurationHandle([]), type: RD_KAFKA_PRODUCER, role: "mock cluster host", callbackState: state)
        guard let cluster = host.withHandle({ rd_kafka_mock_cluster_new($0, Int32(brokers)) }) else {
            throw KafkaError(
                code: .init(RD_KAFKA_RESP_ERR__FAIL),
                message: "starting librdkafka's mock Kafka cluster failed (\(state.lastLog ?? "no reason logged")). "
                    + "Check that loopback sockets can be opened")
        }
        self.host = host
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    package func createTopic(_ name: String, partitions: Int32) throws {
        let result = rd_kafka_mock_topic_create(cluster, name, partitions, 1)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError.response(result, while: "creating mock topic \(name) with \(partitions) partitions")
        }
    }
}
