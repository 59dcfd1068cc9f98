// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cdctop",
    platforms: [.macOS(.v14)],
    products: [
        // What users run. Dev code (benchmarks, load generators, the UI preview, the performance gate) is in
        // cdctop-dev, so the shipped binary carries only what users run.
        .executable(name: "cdctop", targets: ["CDCTopMain"]),
        .executable(name: "cdctop-dev", targets: ["DevTools"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // C libraries from Debian's -dev packages; one module map each.
        .systemLibrary(
            name: "CRdKafka", path: "Sources/CRdKafka", pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(
            name: "CHiredis", path: "Sources/CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(
            name: "CLibpq", path: "Sources/CLibpq", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CNcursesw", path: "Sources/CNcursesw", pkgConfig: "ncursesw",
            providers: [.apt(["libncursesw5-dev"])]),
        // libcurl (OpenSSL flavour): the schema registry client's HTTPS, auth, proxies and redirects.
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        // OpenSSL: TLS for the /metrics server (`--web-config` tls_server_config).
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        // glibc's <malloc.h>, for the benchmark's count of the bytes the state holds (cdctop-dev only).
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // Counts malloc calls by interposing malloc in cdctop-dev: the performance gate's allocations per message.
        .target(name: "CAllocCounter", path: "Sources/CAllocCounter"),

        // Pure Swift: money, events, profile, windowed aggregator, snapshot. No I/O.
        .target(name: "Metrics", path: "Sources/Metrics"),
        // Everything that crosses a process boundary: Kafka, Debezium bytes, Redis, PostgreSQL.
        .target(
            name: "Pipeline",
            dependencies: ["Metrics", "CRdKafka", "CHiredis", "CLibpq", "CSQLite", "CCurl", "COpenSSL"],
            path: "Sources/Pipeline",
            // The output schemas' map and the "Adding a KPI" checklist.
            exclude: ["Output/README.md"]),
        // The cdctop commands, dashboard and themes, as a library: cdctop and cdctop-dev both run it.
        .target(
            name: "App",
            dependencies: [
                "Metrics", "Pipeline", "CNcursesw",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/App"),
        // The shipped executable: only `CDCTop.main()`.
        .executableTarget(name: "CDCTopMain", dependencies: ["App"], path: "Sources/CDCTopMain"),
        // Synthetic dashboard data (the UI preview's and the view tests'): not in the shipped binary.
        .target(name: "DevSupport", dependencies: ["Metrics", "Pipeline"], path: "Sources/DevSupport"),
        // cdctop-dev: benchmarks, the scale benchmark, load generators, the UI preview, the performance gate.
        .executableTarget(
            name: "DevTools",
            dependencies: [
                "App", "DevSupport", "Metrics", "Pipeline", "CMalloc", "CAllocCounter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/DevTools"),

        // Shared by the test targets: services started on demand, tags, waits, ports, processes, tmux.
        // The C part runs at load: TERM and librdkafka 2.16 for a plain `swift test` (docs/testing.md).
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),
        .target(name: "TestSupport", dependencies: ["CTestSupport"], path: "Tests/TestSupport"),

        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"], path: "Tests/MetricsTests"),
        .testTarget(
            name: "PipelineTests", dependencies: ["Pipeline", "Metrics", "TestSupport"], path: "Tests/PipelineTests"),
        .testTarget(
            name: "AppTests", dependencies: ["App", "DevSupport", "Metrics", "Pipeline", "TestSupport"],
            path: "Tests/AppTests",
            exclude: ["update_goldens.py"]),
    ],
    swiftLanguageModes: [.v6]
)
