/// One Kafka message as an owning copy of its bytes: what a recording reads back, what a profile
/// sample holds, and what a transaction buffer holds (and checkpoints) until its transaction is
/// whole. The streaming paths use borrowed views (`RecordingBatch`, the consumer's batches) instead.
public struct OwnedMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestampMs: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public init(topic: String, partition: Int32, offset: Int64, timestampMs: Int64 = 0, key: [UInt8]?, value: [UInt8]?) {
        self.topic = topic; self.partition = partition; self.offset = offset; self.timestampMs = timestampMs
        self.key = key; self.value = value
    }
}
