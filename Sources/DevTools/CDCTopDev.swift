import ArgumentParser
import Foundation

/// `cdctop-dev`: what developers run and users do not. Kept out of the shipped `cdctop` so that binary
/// carries only user commands; it runs the same App library, so its figures are the shipped code's.
@main
struct CDCTopDev: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdctop-dev",
        abstract: "cdctop's developer tools: benchmarks, the UI preview, the performance gate.",
        discussion: """
            Build with: swift build -c release --product cdctop-dev
            scripts/bench and scripts/perf-gate run it; see docs/performance.md and docs/testing.md.
            """,
        subcommands: [
            BenchCommand.self, ReplayBenchCommand.self, RedisBenchCommand.self, PerfGateCommand.self,
            UIPreviewCommand.self,
        ])

    static func main() {
        signal(SIGPIPE, SIG_IGN)  // as cdctop: a closed pipe fails a write with EPIPE instead of killing the process
        main(nil)
    }
}
