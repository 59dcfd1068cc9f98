// Pipeline module: Kafka, Debezium decoding, Redis, PostgreSQL, generator.
