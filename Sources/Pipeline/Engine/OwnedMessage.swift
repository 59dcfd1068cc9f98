/// One Kafka message as an owning copy of its bytes: what a recording reads back, what a profile
/// sample holds, and what a transaction buffer holds (and checkpoints) until its transaction is
/// whole. The streaming paths use borrowed views (`RecordingBatch`, the consumer's batches) instead.
package struct OwnedMessage: Sendable {
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    package var timestampMs: Int64
    package var key: [UInt8]?
    package var value: [UInt8]?
    package init(topic: String, partition: Int32, offset: Int64, timestampMs: Int64 = 0, key: [UInt8]?, value: [UInt8]?)
    {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMs = timestampMs
        self.key = key
        self.value = value
    }
}
