import App
import ArgumentParser
import Foundation
import Metrics
import Pipeline

/// `cdctop-dev replay-bench`: `cdctop replay` with the timing modes scripts/bench compares
/// (the reader alone, decoding from memory), which users have no use for.
struct ReplayBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-bench",
        abstract: "Time a replay of recordings: the reader alone (--parse-only) or decoding from memory (--preload).",
        discussion: """
            Reads the files `cdctop replay` reads and prints its --stats line on standard error (and, with
            --json, the final result as `cdctop replay --json` does). scripts/bench compares these runs.
            """)

    @OptionGroup var input: ReplayInputOptions

    @Flag(help: "Print the final result as one JSON object (as `cdctop replay --json`).")
    var json = false

    @Flag(
        help: "Ignored (the throughput line is always printed); accepted so scripts can pass `cdctop replay` arguments."
    )
    var stats = false

    @Flag(
        name: .customLong("parse-only"),
        help: "Read and parse the recording without decoding (measures the reader alone).")
    var parseOnly = false

    @Flag(
        help:
            "Read and parse every file into memory first, then time decoding and aggregating alone (the engine's in-memory speed on the same messages; memory grows with the files)."
    )
    var preload = false

    func run() throws {
        let (core, replay) = try input.makeReplay()
        replay.decode = !parseOnly
        var wall0 = Date()
        var cpu0 = ProcessFigures.cpuSeconds()
        do {
            if preload {
                let loaded = try input.files.map { try replay.preload(path: $0) }
                wall0 = Date()
                cpu0 = ProcessFigures.cpuSeconds()
                for batches in loaded {
                    var slots: [Int] = []
                    for batch in batches { try replay.ingest(batch, slots: &slots) }
                }
            } else {
                for file in input.files { try replay.replay(path: file) }
            }
        } catch let error as RecordingError {
            throw RunError(error.description)
        }
        let seconds = max(Date().timeIntervalSince(wall0), 1e-9)
        let cpu = ProcessFigures.cpuSeconds() - cpu0
        let line =
            (preload ? "preloaded, then " : "")
            + replayThroughputLine(replay, core: core, seconds: seconds, cpuSeconds: cpu)
        FileHandle.standardError.write(Data((line + "\n").utf8))
        if json { print(core.result.json()) }
    }
}
