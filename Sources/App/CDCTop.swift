import ArgumentParser
import Foundation
import Pipeline

@main
struct CDCTop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdctop",
        abstract: "A top for change-data-capture: live, exact KPIs from Debezium topics in Kafka.",
        discussion: """
        Start with `cdctop demo` (no external service needed), then point it at your own cluster:
          cdctop watch --brokers HOST:9092 --topics '^shop\\.public\\..*'
        """,
        version: "cdctop \(CDCTopVersion.current)",
        subcommands: [DemoCommand.self, WatchCommand.self, ReplayCommand.self, RecordCommand.self, GenerateCommand.self,
                      BenchCommand.self, RedisCheckCommand.self, WarehouseCommand.self, ProfileCommand.self, UIPreviewCommand.self])

    static func main() {
        signal(SIGPIPE, SIG_IGN) // a write to a closed pipe or socket (an --alert-exec command that does not read stdin) must fail with EPIPE, not kill cdctop
        main(nil)
    }
}
