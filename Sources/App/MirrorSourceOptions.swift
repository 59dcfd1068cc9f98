import ArgumentParser
import Foundation
import Pipeline

/// Which Redis mirror to read (`cdctop attach`, `cdctop redis-check`): the server, its password,
/// and the key prefix the writer mirrors under.
struct MirrorSourceOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Redis the writer mirrors to, e.g. redis://127.0.0.1:6379/0 or redis://:PASSWORD@host:6379/1.",
            valueName: "url"))
    var redis: String = "redis://127.0.0.1:6379/0"

    @Option(
        name: .customLong("redis-password-file"),
        help: ArgumentHelp(
            "File whose first line is the Redis password (default: $REDISCLI_AUTH); used when the URL has none.",
            valueName: "file"))
    var redisPasswordFile: String?

    @Option(name: .long, help: "Pipeline name; the prefix defaults to cdctop:<pipeline>.")
    var pipeline: String = "shop"

    @Option(
        name: .long,
        help: ArgumentHelp("Key prefix the writer mirrors under (overrides --pipeline).", valueName: "prefix"))
    var prefix: String?

    func validate() throws {
        do { _ = try RedisURL(parsing: redis) } catch { throw ValidationError("\(error)") }
    }

    /// The URL with its password filled in from --redis-password-file or $REDISCLI_AUTH.
    func url() throws -> RedisURL {
        try RedisURL(parsing: redis).resolvingPassword(
            file: redisPasswordFile, environment: ProcessInfo.processInfo.environment)
    }

    var keyPrefix: String { prefix ?? RedisKeys.defaultPrefix(pipeline: pipeline) }
}
