import App
import ArgumentParser
import Pipeline

/// `cdctop-dev redis-bench`: what the Redis mirror costs (see `RedisMirror.benchmarkWrites`).
struct RedisBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-bench",
        abstract:
            "Measure the Redis mirror: snapshot writes per second on one connection, commands per write, offer() cost.",
        discussion: """
            Writes synthetic snapshots (each changing the current window, the totals and the lag; a new
            window every 30) as fast as one connection allows, under a prefix of its own that it deletes
            afterwards. The mirror itself caps at about 10 writes/s.
            """)

    @Option(
        help: ArgumentHelp(
            "Redis to write to, e.g. redis://127.0.0.1:6379/0 (scripts/services up redis starts one).", valueName: "url"
        ))
    var redis: String

    @Option(help: "Snapshots to write.")
    var snapshots = 1_000

    @Option(help: "Windows held in each snapshot.")
    var windows = 120

    @Option(help: "Categories per window.")
    var categories = 20

    func run() throws {
        let url: RedisURL
        do { url = try RedisURL(parsing: redis) } catch { throw RunError("--redis \(redis): \(error)") }
        let figures = try RedisMirror.benchmarkWrites(
            url: url, snapshots: snapshots, windows: windows, categories: categories,
            prefix: "cdctop:redis-bench")
        print("redis mirror: \(figures)")
    }
}
