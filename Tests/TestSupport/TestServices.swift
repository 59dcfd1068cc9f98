import CTestSupport
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The services the tests talk to, started on demand: a test asks `TestServices.environment("CDCTOP_TEST_PG")`
/// where it used to read the variable. When scripts/test (or `source .run/env`) exported it, that value
/// is used; otherwise `scripts/services up <service>` starts it, once per test process, and its value
/// is read from .run/env. So a plain `swift test` runs every test, none skipped for a missing service.
/// Services started here keep running after the tests (as after `scripts/services up`): the next run
/// reuses them; `scripts/services down` stops them.
public enum TestServices {
    /// Each variable and the scripts/services name of what serves it.
    public static let services: [String: String] = [
        "CDCTOP_TEST_BROKERS": "tansu",
        "CDCTOP_TEST_REDIS": "redis",
        "CDCTOP_TEST_PG": "postgres",
        "CDCTOP_TEST_ALERTMANAGER": "alertmanager",
    ]

    /// The repository the tests were built from (scripts/, .run/, Tests/Fixtures/).
    public static var repositoryRoot: String { String(cString: cdctop_test_repository_root()) }

    /// Services this process already tried to start, with the failure if it did not start.
    private static let started = Mutex<[String: String?]>([:])

    /// The variable's value; for a CDCTOP_TEST_* service variable that is unset, the service is started
    /// first. Nil only when it could not be started (the reason is on standard error and in the test's
    /// own failure, which names the variable).
    public static func environment(_ name: String) -> String? {
        if let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty { return value }
        guard let service = services[name] else { return nil }
        start(service, for: name)
        return getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Starts `service` with scripts/services (idempotent) and exports `variable` from .run/env.
    private static func start(_ service: String, for variable: String) {
        started.withLock { tried in
            if tried[service] != nil { return }
            let root = repositoryRoot
            let result = Shell.run("bash '\(root)/scripts/services' up \(service)")
            guard result.status == 0 else {
                let reason =
                    "scripts/services up \(service) failed (exit \(result.status)); install what it needs with "
                    + "scripts/deps, or export \(variable) yourself:\n\(result.output)"
                FileHandle.standardError.write(Data(("test support: " + reason + "\n").utf8))
                tried[service] = .some(reason)
                return
            }
            tried[service] = .some(nil)
            for (key, value) in readEnvironmentFile(root + "/.run/env") where key == variable || getenv(key) == nil {
                setenv(key, value, 1)
            }
        }
    }

    /// `export KEY=VALUE` lines of the file scripts/services writes.
    static func readEnvironmentFile(_ path: String) -> [(String, String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("export "), let eq = line.firstIndex(of: "=") else { return nil }
            let key = line[line.index(line.startIndex, offsetBy: 7)..<eq]
            return (String(key), String(line[line.index(after: eq)...]))
        }
    }
}
