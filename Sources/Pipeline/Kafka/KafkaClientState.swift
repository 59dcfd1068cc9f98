import CRdKafka
import Foundation
import Metrics
import Synchronization

/// State that librdkafka's C callbacks write into. The callbacks reach it through the client's
/// opaque pointer (unretained: the owning client keeps it alive until the handle is destroyed).
/// Callbacks run on librdkafka's threads as well as the polling thread, hence the mutex.
/// `@unchecked`: `brokers` and `stallAfterMicroseconds` are set once, before the client exists.
final class KafkaClientState: @unchecked Sendable {
    struct TopicPartition: Hashable, Sendable {
        var topic: String
        var partition: Int32
    }

    /// Everything the callbacks and the polling thread share.
    private struct Shared {
        var lastError: String?
        var lastLog: String?
        var fatalRaised = false
        var errorCount = 0
        var assignment: [TopicPartition] = []
        var deliveryFailures = 0
        var lastDeliveryError: String?
        /// The same fault in a row, so that one failure while a broker restarts is not taken for wrong settings.
        var faultRun: (fault: KafkaError.Fault, count: Int)?
        var faultNeedingFix: KafkaError?
        var stall: String?
        var requests = KafkaRequestCounts()
    }

    private let shared = Mutex(Shared())
    let echoLogToStandardError: Bool

    init(echoLogToStandardError: Bool) {
        self.echoLogToStandardError = echoLogToStandardError
    }

    var opaquePointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    func recordError(_ text: String, fatal: Bool) {
        shared.withLock {
            $0.lastError = text
            $0.errorCount += 1
            if fatal { $0.fatalRaised = true }
        }
    }

    // MARK: faults retrying cannot fix (issue 23)

    /// Where the client connects, for the fix's wording ("Kafka at HOST refused the credentials").
    var brokers = ""
    /// How many times in a row a fault must be reported (with no broker up in between) before the client stops:
    /// the second failure comes after librdkafka's reconnect backoff (100 ms, doubling, at most 10 s).
    static let faultRepeatsBeforeStopping = 2

    /// Records a client error with its code; a fault that needs a fix, reported `faultRepeatsBeforeStopping`
    /// times in a row, becomes `faultNeedingFix`.
    func recordError(_ text: String, fatal: Bool, code: rd_kafka_resp_err_t) {
        let fault = KafkaError.fault(of: code, text: text)
        let brokers = brokers
        shared.withLock {
            $0.lastError = text
            $0.errorCount += 1
            if fatal { $0.fatalRaised = true }
            guard fault.needsFix else { return }
            let count = $0.faultRun?.fault == fault ? $0.faultRun!.count + 1 : 1
            $0.faultRun = (fault, count)
            if count >= Self.faultRepeatsBeforeStopping && $0.faultNeedingFix == nil {
                $0.faultNeedingFix = KafkaError.needingFix(fault, code: code, text: text, brokers: brokers)
            }
        }
    }

    /// A fault retrying cannot fix, once it repeated: the consumer stops with it.
    var faultNeedingFix: KafkaError? { shared.withLock { $0.faultNeedingFix } }

    // MARK: stalled brokers (librdkafka's statistics)

    /// A broker that took a connection but has not answered for this long is stalled.
    var stallAfterMicroseconds: Int64 = 10_000_000

    /// "no response from 127.0.0.1:9092 for 12 s (2 requests waiting)" while a broker is stalled, else nil.
    var stall: String? { shared.withLock { $0.stall } }

    /// Reads the per-broker part of one statistics report (librdkafka's STATISTICS.md).
    func recordStatistics(_ json: UnsafeRawBufferPointer) {
        guard let health = BrokerHealth(statistics: json, stallAfterMicroseconds: stallAfterMicroseconds) else {
            return
        }
        shared.withLock {
            $0.stall = health.stall
            $0.requests.reports += 1
            $0.requests.byType = health.requests
            // A broker got through authentication: an earlier run of auth failures was not the settings.
            if health.anyUp { $0.faultRun = nil }
        }
    }

    /// Requests sent to the brokers so far, by type, as of the latest statistics report.
    var requests: KafkaRequestCounts { shared.withLock { $0.requests } }

    func clearError() { shared.withLock { $0.lastError = nil } }
    var lastError: String? { shared.withLock { $0.lastError } }
    var fatalRaised: Bool { shared.withLock { $0.fatalRaised } }
    /// Client errors reported so far (each failed connection attempt librdkafka reports counts one).
    var errorCount: Int { shared.withLock { $0.errorCount } }

    func recordLog(_ text: String) { shared.withLock { $0.lastLog = text } }
    var lastLog: String? { shared.withLock { $0.lastLog } }

    func assign(_ partitions: [TopicPartition], incremental: Bool) {
        shared.withLock {
            if incremental {
                for partition in partitions where !$0.assignment.contains(partition) { $0.assignment.append(partition) }
            } else {
                $0.assignment = partitions
            }
        }
    }

    var assignment: [TopicPartition] { shared.withLock { $0.assignment } }

    func recordDeliveryFailure(_ text: String) {
        shared.withLock {
            $0.deliveryFailures += 1
            $0.lastDeliveryError = text
        }
    }

    var deliveryFailures: Int { shared.withLock { $0.deliveryFailures } }
    var lastDeliveryError: String? { shared.withLock { $0.lastDeliveryError } }
}

/// What cdctop makes of one line of librdkafka's log. librdkafka logs its normal work (connections,
/// metadata, rebalances) at notice and info, and some warnings that cdctop already turns into its own
/// states; only the rest is a problem a person should read.
enum KafkaLogVerdict: Equatable, Sendable {
    /// Normal operation, or already told by cdctop's own states: not logged.
    case drop
    /// A real problem (a broker down, refused credentials, a TLS failure): one line for the log.
    case problem(String)

    /// syslog levels, as librdkafka uses them: 3 error, 4 warning, 5 notice, 6 info, 7 debug.
    static func of(level: Int32, facility: String, text: String) -> KafkaLogVerdict {
        guard level <= 4 else { return .drop }
        // "offset reset (at offset N ...) to BEGINNING ...: fetch failed due to requested offset not available on
        // the broker": the main consumer stops with its own error (auto.offset.reset=error, `--state-reset` to
        // rebuild); the lag monitor's probe reports it as messages deleted before the group read them.
        if facility == "OFFSET" && (text.contains("offset reset") || text.contains("offset not available")) {
            return .drop
        }
        return .problem("librdkafka \(level <= 3 ? "error" : "warning") (\(facility)): \(text)")
    }
}

/// Problem lines from clients that have no state to keep them (the lag monitor's consumers) go to stderr,
/// which the dashboard sends to the --log file; the same text within a minute is written once.
enum KafkaLogEcho {
    private static let lastWritten = Mutex<(text: String, atMs: Int64)>(("", 0))

    static func write(_ line: String) {
        let now = WallClock.nowMs()
        let isRepeat = lastWritten.withLock { last -> Bool in
            if last.text == line && now - last.atMs < 60_000 { return true }
            last = (line, now)
            return false
        }
        if !isRepeat { FileHandle.standardError.write(Data("\(TimeText.iso8601(ms: now)) kafka: \(line)\n".utf8)) }
    }
}

/// librdkafka writes its log to stderr by default, which would tear the curses screen (and the demo's
/// `--log` filled with warnings a person need not read): set on every configuration. A client with
/// `-X debug=...` echoes everything to stderr as librdkafka would; otherwise normal operation is dropped
/// and a real problem is kept as the client's last log line (its error callback reports the state), or,
/// for a client without state, written once as a line of cdctop's own log.
let kafkaLogToStateCallback:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
        handle, level, facility, line in
        guard let handle, let line else { return }
        let facilityText = facility.map { String(cString: $0) } ?? "-"
        let text = String(cString: line)
        guard let opaque = rd_kafka_opaque(handle) else {
            // No state: only -X debug asks for level 7 lines, so they are echoed as asked.
            if level >= 7 {
                FileHandle.standardError.write(Data("librdkafka[\(level)] \(facilityText): \(text)\n".utf8))
            } else if case .problem(let problem) = KafkaLogVerdict.of(level: level, facility: facilityText, text: text)
            {
                KafkaLogEcho.write(problem)
            }
            return
        }
        let state = Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
        if state.echoLogToStandardError {
            FileHandle.standardError.write(Data("librdkafka[\(level)] \(facilityText): \(text)\n".utf8))
        }
        if case .problem = KafkaLogVerdict.of(level: level, facility: facilityText, text: text) {
            state.recordLog(text)
        }
    }

/// What a client has asked its brokers, from librdkafka's statistics (`brokers.*.req`): how light cdctop is on
/// the cluster it watches can be checked, and kept (issue 22: a reader that fetched after every message
/// slowed the snapshot it watched 2.4×).
package struct KafkaRequestCounts: Sendable, Equatable {
    /// Statistics reports read so far (one per `statistics.interval.ms`, 1 s by default).
    package var reports = 0
    /// Requests sent since the client started, by Kafka API name ("Fetch", "Metadata", "OffsetFetch", ...),
    /// summed over the brokers.
    package var byType: [String: Int64] = [:]

    package init() {}

    package subscript(type: String) -> Int64 { byType[type] ?? 0 }
}

/// The brokers' health in one statistics report: whether any is up, and the first that stalls.
struct BrokerHealth: Equatable {
    var anyUp = false
    var stall: String?
    /// Requests sent so far by type, summed over the brokers (the group coordinator's connection included).
    var requests: [String: Int64] = [:]

    /// States in which a connection is open (or being opened) and waits for the broker's answer.
    private static let waitingStates: Set<String> = [
        "CONNECT", "SSL_HANDSHAKE", "APIVERSION_QUERY", "AUTH_HANDSHAKE",
        "AUTH_REQ", "AUTH_LEGACY", "REAUTH",
    ]

    /// nil when the report has no brokers object (or is not JSON). Only the `"brokers"` object is parsed:
    /// the per-partition part of the report can be large and is not needed here.
    init?(statistics json: UnsafeRawBufferPointer, stallAfterMicroseconds: Int64) {
        guard let range = Self.brokersObject(in: json),
            let object = try? JSONSerialization.jsonObject(with: Data(json[range])) as? [String: Any]
        else { return nil }
        for key in object.keys.sorted() {
            guard let broker = object[key] as? [String: Any] else { continue }
            // The group coordinator is a "logical" broker with its own connection: its OffsetFetch, OffsetCommit
            // and Heartbeat requests are counted there.
            if let sent = broker["req"] as? [String: Any] {
                for (type, count) in sent { requests[type, default: 0] += Self.int(count) }
            }
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
                stall =
                    "no answer from \(name) for over \(Self.step(stateAge)) s while connecting (\(state.lowercased()))"
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
            for j in 0..<key.count where json[i + j] != key[j] {
                i += 1
                continue search
            }
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
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") {
                depth += 1
            } else if byte == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return start..<k + 1 }
            }
            k += 1
        }
        return nil
    }
}

/// librdkafka's statistics callback (every `statistics.interval.ms`, on the polling thread): the JSON is read
/// into the client's state and freed by librdkafka (return 0).
let kafkaStatisticsToStateCallback:
    @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
        _, json, length, opaque in
        guard let opaque, let json else { return 0 }
        let state = Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
        state.recordStatistics(UnsafeRawBufferPointer(start: json, count: length))
        return 0
    }

/// Like `kafkaErrorToStateCallback`, keeping the code so that faults retrying cannot fix are told apart.
let kafkaClassifyingErrorCallback:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
        _, code, reason, opaque in
        guard let opaque else { return }
        let state = Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
        let error = rd_kafka_resp_err_t(rawValue: code)
        let text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(error))
        state.recordError(text, fatal: error == RD_KAFKA_RESP_ERR__FATAL, code: error)
    }
