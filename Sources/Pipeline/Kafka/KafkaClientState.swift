import Foundation

/// State that librdkafka's C callbacks write into. The callbacks reach it through the client's
/// opaque pointer (unretained: the owning client keeps it alive until the handle is destroyed).
/// Callbacks run on librdkafka's threads as well as the polling thread, hence the lock.
final class KafkaClientState: @unchecked Sendable {
    struct TopicPartition: Hashable, Sendable {
        var topic: String
        var partition: Int32
    }

    private let lock = NSLock()
    let echoLogToStandardError: Bool
    private var _lastError: String?
    private var _lastLog: String?
    private var _fatalRaised = false
    private var _errorCount = 0
    private var _assignment: [TopicPartition] = []
    private var _deliveryFailures = 0
    private var _lastDeliveryError: String?

    init(echoLogToStandardError: Bool) {
        self.echoLogToStandardError = echoLogToStandardError
    }

    var opaquePointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    func recordError(_ text: String, fatal: Bool) {
        lock.withLock {
            _lastError = text
            _errorCount += 1
            if fatal { _fatalRaised = true }
        }
    }

    func clearError() { lock.withLock { _lastError = nil } }
    var lastError: String? { lock.withLock { _lastError } }
    var fatalRaised: Bool { lock.withLock { _fatalRaised } }
    /// Client errors reported so far (each failed connection attempt librdkafka reports counts one).
    var errorCount: Int { lock.withLock { _errorCount } }

    func recordLog(_ text: String) { lock.withLock { _lastLog = text } }
    var lastLog: String? { lock.withLock { _lastLog } }

    func assign(_ partitions: [TopicPartition], incremental: Bool) {
        lock.withLock {
            if incremental {
                for partition in partitions where !_assignment.contains(partition) { _assignment.append(partition) }
            } else {
                _assignment = partitions
            }
        }
    }

    var assignment: [TopicPartition] { lock.withLock { _assignment } }

    func recordDeliveryFailure(_ text: String) {
        lock.withLock {
            _deliveryFailures += 1
            _lastDeliveryError = text
        }
    }

    var deliveryFailures: Int { lock.withLock { _deliveryFailures } }
    var lastDeliveryError: String? { lock.withLock { _lastDeliveryError } }
}
