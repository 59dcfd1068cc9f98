import Foundation
import Metrics

// Snapshot progress (issue 22): Debezium's notifications and `source.snapshot` in detail, as the decoder
// reads them. The model is in Metrics/SnapshotProgress.swift; the source's estimates in Source/.

extension DebeziumDecoder {
    /// `source.snapshot`'s string value (not "false") as a marker; read only for snapshot rows. Raw bytes,
    /// so the JSON and Avro decoders share it.
    @inline(never)
    static func snapshotMarker(_ raw: UnsafeRawBufferPointer) -> SnapshotRowMarker {
        if equals(raw, "true") { return .inProgress }
        if equals(raw, "incremental") { return .incremental }
        if equals(raw, "last_in_data_collection") { return .lastInCollection }
        if equals(raw, "first_in_data_collection") { return .firstInCollection }
        if equals(raw, "last") { return .last }
        if equals(raw, "first") { return .first }
        return .inProgress
    }
}

/// Reads Debezium's snapshot notifications (`notification.enabled.channels=sink`,
/// `notification.sink.topic.name=…`): a record with `aggregate_type` "Initial Snapshot" or
/// "Incremental Snapshot", `type`, `additional_data` and `timestamp`, with or without the JSON converter's schema envelope.
package enum SnapshotNotificationParser {
    /// nil for anything else. A cheap byte check first, in the first 2 KiB only (the key is there, in
    /// the schema or the payload): this runs on every message the decoder ignored.
    package static func parse(_ value: UnsafeRawBufferPointer) -> SnapshotNotification? {
        let head = UnsafeRawBufferPointer(rebasing: value.prefix(2048))
        guard contains(head, "\"aggregate_type\""), let json = JSONValue.parse(value) else { return nil }
        let payload = json["payload"] ?? json
        guard case .string(let aggregate)? = payload["aggregate_type"], case .string(let type)? = payload["type"] else {
            return nil
        }
        let kind: SnapshotKind
        switch aggregate {
        case "Initial Snapshot": kind = .initial
        case "Incremental Snapshot": kind = .incremental
        default: return nil
        }
        var id = ""
        if case .string(let s)? = payload["id"] { id = s }
        var timestamp: Int64 = 0
        switch payload["timestamp"] {
        case .number(let n)?, .string(let n)?: timestamp = Int64(n) ?? 0
        default: break
        }
        var data: [String: String] = [:]
        if case .object(let members)? = payload["additional_data"] {
            for m in members {
                switch m.value {
                case .string(let s): data[m.key] = s
                case .number(let n): data[m.key] = n
                default: break
                }
            }
        }
        return SnapshotNotification(
            id: id, type: type, kind: kind, connector: data["connector_name"] ?? "", data: data,
            timestampMs: timestamp)
    }

    package static func parse(_ bytes: [UInt8]) -> SnapshotNotification? { bytes.withUnsafeBytes { parse($0) } }

    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard haystack.count >= n else { return false }
        let first = needle.utf8Start[0]
        var i = 0
        while i <= haystack.count - n {
            if haystack[i] == first {
                var j = 1
                while j < n && haystack[i + j] == needle.utf8Start[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }
}
