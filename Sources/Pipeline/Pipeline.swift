// Pipeline module: Kafka, Debezium decoding, Redis, PostgreSQL, generator.

/// cdctop's version: `cdctop --version`, and the `version` field of the Redis mirror's meta hash.
package enum CDCTopVersion {
    package static let current = "0.4.0"
}
