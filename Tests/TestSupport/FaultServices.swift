import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A Tansu broker of the test's own (memory storage, a free loopback port) that the test may freeze
/// (SIGSTOP: the kernel still accepts connections into the backlog, but nothing answers, as behind a
/// firewall that drops silently), thaw (SIGCONT) and stop (SIGKILL, by its pid). The shared broker
/// (CDCTOP_TEST_BROKERS) is never touched.
public final class OwnTansu: @unchecked Sendable {
    public let port: Int
    public var address: String { "127.0.0.1:\(port)" }
    private let process = Process()
    public var pid: Int32 { process.processIdentifier }

    public static var binary: String { TestServices.repositoryRoot + "/.run/bin/tansu" }

    public init() throws {
        guard access(Self.binary, X_OK) == 0 else {
            throw TestProcessStartError(description: "\(Self.binary) is missing: run scripts/deps")
        }
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url",
            "tcp://127.0.0.1:\(port)", "--storage-engine", "memory://tansu/",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when its own topic tool gets an answer (bounded).
        let ready = poll(seconds: 15, every: 0.2) {
            (try? tansu(["topic", "list", "--broker", "tcp://\(address)"])) != nil
        }
        guard ready else {
            stop()
            throw TestProcessStartError(description: "the test's Tansu on port \(port) did not answer")
        }
    }

    /// Creates `topic` with the broker's own tool (librdkafka 2.16's admin client crashed on Tansu).
    public func createTopic(_ topic: String, partitions: Int = 1) throws {
        _ = try tansu(["topic", "create", "--broker", "tcp://\(address)", "--partitions", String(partitions), topic])
    }

    public func freeze() { kill(pid, SIGSTOP) }
    public func thaw() { kill(pid, SIGCONT) }

    /// SIGKILL (Tansu does not stop on SIGTERM while clients are connected); a frozen one dies too.
    public func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }

    private func tansu(_ arguments: [String]) throws -> String {
        let run = try runProgram(Self.binary, arguments, timeoutSeconds: 10)
        guard run.status == 0 || run.output.contains("already exists") else {
            throw TestProcessStartError(
                description: "tansu \(arguments.joined(separator: " ")) failed (\(run.status)): \(run.output)")
        }
        return run.output
    }
}

/// A redis-server of the test's own (no persistence, a free loopback port), killed by its pid.
public final class OwnRedis: @unchecked Sendable {
    public let port: Int
    public var url: String { "redis://127.0.0.1:\(port)/0" }
    private let process = Process()

    public init() throws {
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let ready = poll(seconds: 10, every: 0.1) { Shell.run("redis-cli -p \(port) ping").output.contains("PONG") }
        guard ready else {
            kill()
            throw TestProcessStartError(description: "the test's redis-server on port \(port) did not answer")
        }
    }

    /// SIGKILL, as a crash would.
    public func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { kill() }
}

/// One run of a program with stdout and stderr apart, e.g. a `cdctop watch --until-caught-up`.
public struct ProgramRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var seconds: Double
}

/// Runs `executable` with `arguments` and extra environment; `whileRunning` gets the pid (e.g. to send SIGINT).
public func runCapturing(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    whileRunning: ((Int32) -> Void)? = nil
) throws -> ProgramRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let started = Date()
    try process.run()
    // Read both pipes off this thread so a full pipe never blocks the child.
    let outData = PipeReader(out)
    let errData = PipeReader(err)
    whileRunning?(process.processIdentifier)
    process.waitUntilExit()
    return ProgramRun(
        status: process.terminationStatus, stdout: outData.text(), stderr: errData.text(),
        seconds: Date().timeIntervalSince(started))
}

private final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
