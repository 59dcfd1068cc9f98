import Testing

/// What a suite needs besides the package's own code. Untagged tests are hermetic: they run anywhere
/// the packages are installed. scripts/test-hermetic runs only those (it reads these tags from the
/// sources); docs/testing.md lists the ways to run a tier.
extension Tag {
    /// A Kafka broker (Tansu, `CDCTOP_TEST_BROKERS`).
    @Tag public static var kafka: Self
    /// Redis (`CDCTOP_TEST_REDIS`).
    @Tag public static var redis: Self
    /// PostgreSQL (`CDCTOP_TEST_PG`).
    @Tag public static var postgres: Self
    /// Prometheus Alertmanager (`CDCTOP_TEST_ALERTMANAGER`).
    @Tag public static var alertmanager: Self
    /// tmux, driving the real dashboard in a terminal.
    @Tag public static var tmux: Self
}
