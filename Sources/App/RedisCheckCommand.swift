import ArgumentParser
import Foundation
import Pipeline

/// `cdctop redis-check`: prints what the Redis mirror holds, for scripts (`--json`) and people.
struct RedisCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-check",
        abstract:
            "Print what cdctop has mirrored into Redis: meta, KPIs, top categories, a model profile's KPIs, latest windows, lag.",
        discussion: """
            Reads every key under the prefix in one MULTI/EXEC, so the figures belong to one snapshot.
            Exits with status 1 when Redis cannot be reached or nothing is mirrored under the prefix,
            and 2 when the mirror is paused (its data is stale).
            """)

    @OptionGroup var mirror: MirrorSourceOptions

    @Option(name: .long, help: "How many of the latest windows to print.")
    var windows: Int = 10

    @Option(name: .long, help: "How many top categories (and groups of each model KPI) to print.")
    var top: Int = 10

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard windows >= 0, top >= 0 else { throw ValidationError("--windows and --top must be 0 or more") }
    }

    func run() throws {
        let url = try mirror.url()
        let keyPrefix = mirror.keyPrefix
        let state: MirroredState
        do {
            state = try RedisMirror.readBack(url: url, prefix: keyPrefix)
        } catch {
            printError("cdctop redis-check: \(error)")
            throw ExitCode(1)
        }
        if json {
            print(state.json())
        } else {
            print(state.report(latestWindows: windows, topCategories: top), terminator: "")
        }
        if state.isEmpty { throw ExitCode(1) }
        if state.isPaused { throw ExitCode(2) }
    }

    private func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
