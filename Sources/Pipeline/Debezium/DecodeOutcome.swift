import Metrics

/// What one Kafka message turned out to be.
package enum DecodeOutcome: Sendable {
    case event(ChangeEvent)
    /// Null value after a delete: expected, counted, skipped.
    case tombstone(table: String)
    /// A Debezium heartbeat (`__debezium-heartbeat.*`): proves the connector is alive.
    case heartbeat(timestampMs: Int64)
    /// A DDL statement from Debezium's schema-change topic (MySQL: topic `<prefix>`, payload with
    /// `databaseName`, `ddl`, `tableChanges`): not a row change and not an error; counted per table.
    case schemaChange(SchemaChange)
    /// Not a change event (transaction metadata, a table the profile does not use…): counted, not aggregated.
    case ignored(table: String, reason: String)
    /// Not usable: bad JSON, a missing field, a value out of range. `reason` says what and ends with
    /// the byte position in the value where it was found (`… (at byte 57)`).
    case malformed(table: String, reason: String)
}

/// A message that is not a change event, as the hot path returns it: one reference (nil for an
/// event), allocated only for these messages, instead of a ~350-byte `DecodeOutcome` copied per message.
package final class NonEventOutcome: Sendable {
    package let outcome: DecodeOutcome
    init(_ outcome: DecodeOutcome) { self.outcome = outcome }
    var isMalformed: Bool { if case .malformed = outcome { true } else { false } }
    var isIgnored: Bool { if case .ignored = outcome { true } else { false } }
}

/// One DDL statement from Debezium's schema-change topic.
package struct SchemaChange: Sendable, Hashable {
    /// `databaseName` (MySQL), or `source.db`.
    package var database: String
    /// Tables named in `tableChanges` (their last name part), in order; empty for DDL on no table.
    package var tables: [String]
    /// The statement as the database logged it.
    package var ddl: String
    /// `tableChanges[0].type`: CREATE, ALTER or DROP; empty when there is none.
    package var kind: String
    /// `source.ts_ms` (or `ts_ms`, or the Kafka timestamp); 0 when none is usable.
    package var commitTimeMs: Int64
    /// Part of the connector's initial snapshot (`source.snapshot` not "false"): the schema as it was
    /// when the connector started (DROP/CREATE of every table), not a change made since.
    package var isSnapshot: Bool
}
