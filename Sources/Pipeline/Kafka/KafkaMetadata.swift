import CRdKafka

/// All topics the cluster knows, with their partition counts (from a metadata request).
package func kafkaTopicPartitions(
    brokers: String, properties: [String: String],
    timeoutMs: Int32
) throws -> [String: Int32] {
    let state = KafkaClientState(echoLogToStandardError: properties["debug"] != nil)
    state.brokers = brokers
    var list: [(String, String)] = [("bootstrap.servers", brokers)]
    // Consumer-only -X properties would only make a producer handle log warnings.
    list += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    let configuration = try KafkaConfigurationHandle(list)
    rd_kafka_conf_set_error_cb(configuration.pointer, kafkaClassifyingErrorCallback)
    let client = try KafkaClient(configuration, type: RD_KAFKA_PRODUCER, role: "metadata client", callbackState: state)
    let metadata: UnsafePointer<rd_kafka_metadata>
    // Nothing else polls this producer: serve its error events here, so that refused credentials are seen.
    let refused = {
        client.withHandle { _ = rd_kafka_poll($0, 0) }
        return state.faultNeedingFix != nil
    }
    switch client.metadata(timeoutMs: timeoutMs, stopWaiting: refused) {
    case .metadata(let answer): metadata = answer
    case .failed(let code):
        // Refused credentials or TLS: the fault and its fix, at once (waiting out the timeout only repeats it).
        if let fault = state.faultNeedingFix { throw fault }
        var error = KafkaError.response(code, while: "listing Kafka topics at \(brokers)")
        if let last = state.lastError { error.message += " (last client error: \(last))" }
        throw error
    }
    defer { rd_kafka_metadata_destroy(metadata) }
    var partitions: [String: Int32] = [:]
    for index in 0..<Int(metadata.pointee.topic_cnt) {
        let topic = metadata.pointee.topics[index]
        guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, let name = topic.topic else { continue }
        partitions[String(cString: name)] = topic.partition_cnt
    }
    return partitions
}

/// The topics matching `topics` (names, or regexes starting with "^" as in a subscription), with
/// their partition counts: what a consumer given `topics` reads (the same `TopicMatcher`).
package func kafkaTopicPartitions(
    brokers: String, topics: [String], properties: [String: String],
    timeoutMs: Int32
) throws -> [String: Int32] {
    let matcher = try TopicMatcher(topics)
    let all = try kafkaTopicPartitions(brokers: brokers, properties: properties, timeoutMs: timeoutMs)
    return all.filter { name, _ in matcher.matches(name) }
}

/// Every partition of the topics `matcher` accepts, sorted by topic and partition, from one metadata
/// request on `client` (any kind); the librdkafka error when the request fails. While no broker is up,
/// `stopWaiting` is asked every 100 ms whether to give up before `timeoutMs`.
func matchingPartitions(
    _ client: KafkaClient, matcher: TopicMatcher,
    timeoutMs: Int32, stopWaiting: () -> Bool = { false }
) -> Result<[KafkaClientState.TopicPartition], KafkaError> {
    let metadata: UnsafePointer<rd_kafka_metadata_t>
    switch client.metadata(timeoutMs: timeoutMs, stopWaiting: stopWaiting) {
    case .metadata(let answer): metadata = answer
    case .failed(let code):
        return .failure(
            KafkaError(code: .init(code), message: "listing topics: \(String(cString: rd_kafka_err2str(code)))"))
    }
    defer { rd_kafka_metadata_destroy(metadata) }
    var found: [KafkaClientState.TopicPartition] = []
    for t in 0..<Int(metadata.pointee.topic_cnt) {
        let topic = metadata.pointee.topics[t]
        guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, let cName = topic.topic else { continue }
        let name = String(cString: cName)
        guard matcher.matches(name) else { continue }
        for p in 0..<Int(topic.partition_cnt) { found.append(.init(topic: name, partition: topic.partitions[p].id)) }
    }
    return .success(found.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) })
}

/// The librdkafka version actually loaded (2.0.2 from Debian, or 2.16 via LD_LIBRARY_PATH), for
/// the help screen and error reports: Tansu needs 2.16.
package var kafkaLibraryVersion: String { String(cString: rd_kafka_version_str()) }
