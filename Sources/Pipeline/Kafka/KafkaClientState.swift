import CRdKafka
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

    // MARK: faults retrying cannot fix (issue 23)

    /// Where the client connects, for the fix's wording ("Kafka at HOST refused the credentials").
    var brokers = ""
    /// The same fault in a row, so that one failure while a broker restarts is not taken for wrong settings.
    private var faultRun: (fault: KafkaError.Fault, count: Int)?
    private var _faultNeedingFix: KafkaError?
    /// How many times in a row a fault must be reported (with no broker up in between) before the client stops:
    /// the second failure comes after librdkafka's reconnect backoff (100 ms, doubling, at most 10 s).
    static let faultRepeatsBeforeStopping = 2

    /// Records a client error with its code; a fault that needs a fix, reported `faultRepeatsBeforeStopping`
    /// times in a row, becomes `faultNeedingFix`.
    func recordError(_ text: String, fatal: Bool, code: rd_kafka_resp_err_t) {
        let fault = KafkaError.fault(of: code, text: text)
        lock.withLock {
            _lastError = text
            _errorCount += 1
            if fatal { _fatalRaised = true }
            guard fault.needsFix else { return }
            let count = faultRun?.fault == fault ? faultRun!.count + 1 : 1
            faultRun = (fault, count)
            if count >= Self.faultRepeatsBeforeStopping && _faultNeedingFix == nil {
                _faultNeedingFix = KafkaError.needingFix(fault, code: code, text: text, brokers: brokers)
            }
        }
    }

    /// A fault retrying cannot fix, once it repeated: the consumer stops with it.
    var faultNeedingFix: KafkaError? { lock.withLock { _faultNeedingFix } }

    // MARK: stalled brokers (librdkafka's statistics)

    private var _stall: String?
    /// A broker that took a connection but has not answered for this long is stalled.
    var stallAfterMicroseconds: Int64 = 10_000_000

    /// "no response from 127.0.0.1:9092 for 12 s (2 requests waiting)" while a broker is stalled, else nil.
    var stall: String? { lock.withLock { _stall } }

    /// Reads the per-broker part of one statistics report (librdkafka's STATISTICS.md).
    func recordStatistics(_ json: UnsafeRawBufferPointer) {
        guard let health = BrokerHealth(statistics: json, stallAfterMicroseconds: stallAfterMicroseconds) else { return }
        lock.withLock {
            _stall = health.stall
            // A broker got through authentication: an earlier run of auth failures was not the settings.
            if health.anyUp { faultRun = nil }
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

/// The brokers' health in one statistics report: whether any is up, and the first that stalls.
struct BrokerHealth: Equatable {
    var anyUp = false
    var stall: String?

    /// States in which a connection is open (or being opened) and waits for the broker's answer.
    private static let waitingStates: Set<String> = ["CONNECT", "SSL_HANDSHAKE", "APIVERSION_QUERY", "AUTH_HANDSHAKE",
                                                     "AUTH_REQ", "AUTH_LEGACY", "REAUTH"]

    /// nil when the report has no brokers object (or is not JSON). Only the `"brokers"` object is parsed:
    /// the per-partition part of the report can be large and is not needed here.
    init?(statistics json: UnsafeRawBufferPointer, stallAfterMicroseconds: Int64) {
        guard let range = Self.brokersObject(in: json),
              let object = try? JSONSerialization.jsonObject(with: Data(json[range])) as? [String: Any] else { return nil }
        for key in object.keys.sorted() {
            guard let broker = object[key] as? [String: Any] else { continue }
            let source = broker["source"] as? String ?? ""
            if source == "internal" || source == "logical" { continue }
            let state = broker["state"] as? String ?? ""
            let name = Self.address(broker["name"] as? String ?? key)
            let stateAge = Self.int(broker["stateage"])
            if state == "UP" {
                anyUp = true
                let waiting = Self.int(broker["waitresp_cnt"])
                var idle = Self.int(broker["rxidle"])
                if idle < 0 { idle = stateAge }
                if waiting > 0 && idle >= stallAfterMicroseconds && stall == nil {
                    stall = "no response from \(name) for over \(Self.step(idle)) s, requests waiting"
                }
            } else if Self.waitingStates.contains(state) && stateAge >= stallAfterMicroseconds && stall == nil {
                stall = "no answer from \(name) for over \(Self.step(stateAge)) s while connecting (\(state.lowercased()))"
                if state == "SSL_HANDSHAKE" { stall! += ": is it a TLS listener? security.protocol=SSL needs one" }
            }
        }
    }

    /// Seconds rounded down to 10, 20, 30, 60, 120, 300, 600, 1800, 3600…: the text changes (and `--log` writes
    /// a line) a few times during a long stall, not every second.
    static func step(_ microseconds: Int64) -> Int64 {
        let seconds = microseconds / 1_000_000
        let steps: [Int64] = [10, 20, 30, 60, 120, 300, 600, 1800]
        if seconds >= 3600 { return seconds / 3600 * 3600 }
        return steps.last { $0 <= seconds } ?? seconds
    }

    /// "127.0.0.1:9092/1" → "127.0.0.1:9092" (the node id means little to a reader).
    private static func address(_ name: String) -> String {
        guard let slash = name.lastIndex(of: "/") else { return name }
        return String(name[..<slash])
    }

    private static func int(_ value: Any?) -> Int64 { (value as? NSNumber)?.int64Value ?? 0 }

    /// The byte range of the object after `"brokers":`, matched by braces outside strings.
    static func brokersObject(in json: UnsafeRawBufferPointer) -> Range<Int>? {
        let key = Array("\"brokers\":".utf8)
        guard json.count > key.count else { return nil }
        var start = -1
        var i = 0
        search: while i <= json.count - key.count {
            for j in 0 ..< key.count where json[i + j] != key[j] { i += 1; continue search }
            start = i + key.count
            break
        }
        guard start >= 0 else { return nil }
        while start < json.count && json[start] != UInt8(ascii: "{") {
            guard json[start] == UInt8(ascii: " ") || json[start] == UInt8(ascii: "\n") else { return nil }
            start += 1
        }
        var depth = 0
        var inString = false
        var escaped = false
        var k = start
        while k < json.count {
            let byte = json[k]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") {
                depth += 1
            } else if byte == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return start ..< k + 1 }
            }
            k += 1
        }
        return nil
    }
}

/// librdkafka's statistics callback (every `statistics.interval.ms`, on the polling thread): the JSON is read
/// into the client's state and freed by librdkafka (return 0).
let kafkaStatisticsToStateCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    _, json, length, opaque in
    guard let opaque, let json else { return 0 }
    let state = Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
    state.recordStatistics(UnsafeRawBufferPointer(start: json, count: length))
    return 0
}

/// Like `kafkaErrorToStateCallback`, keeping the code so that faults retrying cannot fix are told apart.
let kafkaClassifyingErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, code, reason, opaque in
    guard let opaque else { return }
    let state = Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
    let error = rd_kafka_resp_err_t(rawValue: code)
    let text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(error))
    state.recordError(text, fatal: error == RD_KAFKA_RESP_ERR__FATAL, code: error)
}
