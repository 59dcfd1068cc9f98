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

    @Argument(help: "Recording files (- for standard input).")
    var files: [String]

    @OptionGroup var profileOptions: ProfileOptions

    @Option(help: ArgumentHelp("Folder of Avro schemas by id, <id>.json, for recordings without schema lines.", valueName: "dir"))
    var schemas: String?

    @OptionGroup var registry: SchemaRegistryOptions

    @Flag(help: "Print the final result as one JSON object (as `cdctop replay --json`).")
    var json = false

    @Flag(help: "Ignored (the throughput line is always printed); accepted so scripts can pass `cdctop replay` arguments.")
    var stats = false

    @Option(name: .customLong("chunk-mb"), help: ArgumentHelp("Size of each read buffer in MB (three are in flight).", valueName: "n"))
    var chunkMB = 8

    @Flag(name: .customLong("one-thread"), help: "Read and decode on one thread (default: a reading thread runs ahead).")
    var oneThread = false

    @Flag(name: .customLong("parse-only"), help: "Read and parse the recording without decoding (measures the reader alone).")
    var parseOnly = false

    @Flag(help: "Read and parse every file into memory first, then time decoding and aggregating alone (the engine's in-memory speed on the same messages; memory grows with the files).")
    var preload = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one recording file, or - for standard input") }
        if !(1...1024).contains(chunkMB) { throw ValidationError("--chunk-mb must be between 1 and 1024") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read only once") }
    }

    func run() throws {
        let core = EngineCore(profile: try profileOptions.load())
        core.noteWallClock(nowMs: WallClock.nowMs())
        let replay = RecordingReplay(core: core, schemas: RecordingSchemas(directory: schemas, registry: try registry.client(cacheDirectory: nil)))
        replay.chunkSize = chunkMB << 20
        replay.batches = oneThread ? 1 : 3
        replay.decode = !parseOnly
        var wall0 = Date()
        var cpu0 = ProcessFigures.cpuSeconds()
        do {
            if preload {
                let loaded = try files.map { try replay.preload(path: $0) }
                wall0 = Date()
                cpu0 = ProcessFigures.cpuSeconds()
                for batches in loaded {
                    var slots: [Int] = []
                    for batch in batches { try replay.ingest(batch, slots: &slots) }
                }
            } else {
                for file in files { try replay.replay(path: file) }
            }
        } catch let error as RecordingError {
            throw RunError(error.description)
        }
        let seconds = max(Date().timeIntervalSince(wall0), 1e-9)
        let cpu = ProcessFigures.cpuSeconds() - cpu0
        let line = (preload ? "preloaded, then " : "") + String(format: "replayed %lld messages (%lld lines), %.1f MB read, %.1f MB of keys+values in %.2f s: "
                              + "%.0f events/s, %.0f MB/s read, %.0f MB/s keys+values; CPU %.2f s (%.0f events per CPU s); peak RSS %.0f MB",
                          replay.messages, replay.lines, Double(replay.bytesRead) / 1e6, Double(core.bytes) / 1e6, seconds,
                          Double(replay.messages) / seconds, Double(replay.bytesRead) / 1e6 / seconds,
                          Double(core.bytes) / 1e6 / seconds, cpu, Double(replay.messages) / max(cpu, 1e-9),
                          ProcessFigures.peakRSSMB())
        FileHandle.standardError.write(Data((line + "\n").utf8))
        if json { print(core.result.json()) }
    }
}
