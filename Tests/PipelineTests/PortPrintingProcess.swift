import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct TestProcessStartError: Error, CustomStringConvertible {
    var description: String
}

/// Runs a test helper that prints `port N` as its first line (the registry stand-in, the TLS test
/// server) and returns N. A helper that prints anything else is SIGKILLed and the error quotes it.
func startPortPrinting(_ process: Process, what: String) throws -> Int {
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
