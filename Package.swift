// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cdctop",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cdctop", targets: ["App"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian's -dev packages; one module map each.
        .systemLibrary(name: "CRdKafka", path: "Sources/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", pkgConfig: "hiredis",
                       providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibpq", path: "Sources/CLibpq", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CNcursesw", path: "Sources/CNcursesw", pkgConfig: "ncursesw",
                       providers: [.apt(["libncursesw5-dev"])]),
        // libcurl (OpenSSL flavour): the schema registry client's HTTPS, auth, proxies and redirects.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        // glibc's <malloc.h>, for the benchmark's count of the bytes the state holds.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // Pure Swift: money, events, profile, windowed aggregator, snapshot. No I/O.
        .target(name: "Metrics", path: "Sources/Metrics"),
        // Everything that crosses a process boundary: Kafka, Debezium bytes, Redis, PostgreSQL.
        .target(name: "Pipeline",
                dependencies: ["Metrics", "CRdKafka", "CHiredis", "CLibpq", "CSQLite", "CCurl"],
                path: "Sources/Pipeline"),
        // The cdctop executable: commands, dashboard, themes.
        .executableTarget(name: "App",
                          dependencies: [
                              "Metrics", "Pipeline", "CNcursesw", "CMalloc",
                              .product(name: "ArgumentParser", package: "swift-argument-parser"),
                          ],
                          path: "Sources/App"),

        .testTarget(name: "MetricsTests", dependencies: ["Metrics"], path: "Tests/MetricsTests"),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Metrics"], path: "Tests/PipelineTests"),
        .testTarget(name: "AppTests", dependencies: ["App", "Metrics", "Pipeline"], path: "Tests/AppTests",
                    exclude: ["update_goldens.py"]),
    ],
    swiftLanguageModes: [.v6]
)
