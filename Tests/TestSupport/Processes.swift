import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Shell commands, for tests that drive real programs (tmux, cdctop, psql).
public enum Shell {
    /// Runs a shell command, returning its exit status and stdout+stderr.
    public static func run(_ command: String) -> (status: Int32, output: String) {
        guard let pipe = popen(command + " 2>&1", "r") else { return (-1, "popen failed") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, pipe)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        let status = pclose(pipe)
        return ((status >> 8) & 0xFF, String(decoding: bytes, as: UTF8.self))
    }
}

/// Runs a program (no shell) with `input` on stdin; returns its exit status and stdout+stderr.
/// `timeoutSeconds`: SIGKILLed after that long (a tool that retries a dead address forever, like
/// `tansu topic list`, must not hang the test run).
public func runProgram(
    _ executable: String, _ arguments: [String], input: String? = nil,
    timeoutSeconds: Double? = nil
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stdout = Pipe()
    process.standardOutput = stdout
    process.standardError = stdout
    let stdin = input.map { _ in Pipe() }
    if let stdin { process.standardInput = stdin }
    try process.run()
    let watchdog = timeoutSeconds.map { seconds in
        let pid = process.processIdentifier
        let item = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: item)
        return item
    }
    defer { watchdog?.cancel() }
    if let stdin, let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// The `cdctop` built beside the test bundle (`swift build` puts both in the same folder).
public func cdctopBinary() -> String? {
    var directory = CommandLine.arguments[0]
    for _ in 0..<4 {
        guard let slash = directory.lastIndex(of: "/") else { break }
        directory = String(directory[..<slash])
        if access(directory + "/cdctop", X_OK) == 0 { return directory + "/cdctop" }
    }
    return nil
}

public struct TestProcessStartError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Runs a test helper that prints `port N` as its first line (the registry stand-in, the TLS test
/// server) and returns N. A helper that prints anything else is SIGKILLed and the error quotes it.
public func startPortPrinting(_ process: Process, what: String) throws -> Int {
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let chunk = out.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        line.append(chunk)
    }
    let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard text.hasPrefix("port "), let port = Int(text.dropFirst(5)) else {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw TestProcessStartError(description: "\(what) did not start: '\(text)'")
    }
    return port
}

/// `postgresql://user@host:port/db?params` with its database replaced: tests create a database of
/// their own on the server the services started.
public func postgresURL(_ url: String, database: String) -> String {
    let schemeEnd = url.range(of: "://")!.upperBound
    let rest = url[schemeEnd...]
    let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
    let beforeQuery = rest.firstIndex(of: "?").map { rest[..<$0] } ?? rest
    let authority = beforeQuery.firstIndex(of: "/").map { beforeQuery[..<$0] } ?? beforeQuery
    return String(url[..<schemeEnd]) + authority + "/" + database + query
}

public struct NoFreePort: Error, CustomStringConvertible {
    public var description: String
}

/// A free TCP port on loopback (bound, read back, released): for servers a test starts itself.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw NoFreePort(description: "cannot open a socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else {
        throw NoFreePort(description: "cannot find a free port on 127.0.0.1: \(String(cString: strerror(errno)))")
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
