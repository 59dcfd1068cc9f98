import ArgumentParser
import Foundation
import Pipeline

/// The `cdctop` command; Sources/CDCTopMain calls `main()`.
package struct CDCTop: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "cdctop",
        abstract: "A top for change-data-capture: live, exact KPIs from Debezium topics in Kafka.",
        discussion: """
            Start with `cdctop demo` (no external service needed), then point it at your own cluster:
              cdctop watch --brokers HOST:9092 --topics '^shop\\.public\\..*'
            Options can also come from a TOML file: --config FILE (default: $XDG_CONFIG_HOME/cdctop/config.toml \
            or ~/.config/cdctop/config.toml if it exists; --no-config reads none). Keys are option names, before \
            any section for every command, under [watch], [demo]… for one; the command line overrides the file.
            """,
        version: "cdctop \(CDCTopVersion.current)",
        subcommands: [
            DemoCommand.self, WatchCommand.self, ReplayCommand.self, RecordCommand.self, GenerateCommand.self,
            RedisCheckCommand.self, AttachCommand.self, WarehouseCommand.self, ProfileCommand.self,
        ])

    package init() {}

    package static func main() {
        // a write to a closed pipe or socket (an --alert-exec command that does not read stdin) must fail with EPIPE, not kill cdctop
        signal(SIGPIPE, SIG_IGN)
        let arguments: [String]
        do { arguments = try ConfigFile.expand(Array(CommandLine.arguments.dropFirst())) } catch {
            exit(withError: ValidationError(error.description))
        }
        main(arguments)
    }
}
