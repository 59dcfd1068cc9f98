import ArgumentParser

@main
struct CDCTop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdctop",
        abstract: "A top for change-data-capture: live, exact KPIs from Debezium topics in Kafka.",
        subcommands: [])
}
