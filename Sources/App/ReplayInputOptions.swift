import ArgumentParser
import Foundation
import Metrics
import Pipeline

/// What `cdctop replay` and `cdctop-dev replay-bench` read and how: the recordings, the profile,
/// where Avro schemas come from, and the reader's buffers and thread.
package struct ReplayInputOptions: ParsableArguments {
    @Argument(help: "Recording files (use - for standard input, e.g. kcat -C -J -e … | cdctop replay -).")
    package var files: [String]

    @OptionGroup package var profileOptions: ProfileOptions

    @Option(
        help: ArgumentHelp(
            "Folder of Avro schemas by id, <id>.json (a watch state directory's schemas/ cache, or bare Avro schemas), for recordings without schema lines.",
            valueName: "dir"))
    package var schemas: String?

    @OptionGroup package var registry: SchemaRegistryOptions

    @Option(
        name: .customLong("chunk-mb"),
        help: ArgumentHelp("Size of each read buffer in MB (three are in flight).", valueName: "n"))
    package var chunkMB = 8

    @Flag(
        name: .customLong("one-thread"), help: "Read and decode on one thread (default: a reading thread runs ahead).")
    package var oneThread = false

    package init() {}

    package func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one recording file, or - for standard input") }
        if !(1...1024).contains(chunkMB) { throw ValidationError("--chunk-mb must be between 1 and 1024") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read only once") }
        var isDirectory: ObjCBool = false
        if let schemas,
            !(FileManager.default.fileExists(atPath: schemas, isDirectory: &isDirectory) && isDirectory.boolValue)
        {
            throw ValidationError("--schemas \(schemas) is not a directory")
        }
    }

    /// An engine on the profile and a replay into it with these buffers and schema sources.
    package func makeReplay() throws -> (core: EngineCore, replay: RecordingReplay) {
        let core = EngineCore(profile: try profileOptions.load())
        core.noteWallClock(nowMs: WallClock.nowMs())
        // A replay asks the registry once per id and never waits for it (cacheDirectory nil: nothing written).
        let replay = RecordingReplay(
            core: core,
            schemas: RecordingSchemas(directory: schemas, registry: try registry.client(cacheDirectory: nil)))
        replay.chunkSize = chunkMB << 20
        replay.batches = oneThread ? 1 : 3
        return (core, replay)
    }
}

/// The `--stats` line: messages, bytes, wall and CPU time of a replay.
package func replayThroughputLine(_ replay: RecordingReplay, core: EngineCore, seconds: Double, cpuSeconds cpu: Double)
    -> String
{
    String(
        format: "replayed %lld messages (%lld lines), %.1f MB read, %.1f MB of keys+values in %.2f s: "
            + "%.0f events/s, %.0f MB/s read, %.0f MB/s keys+values; CPU %.2f s (%.0f events per CPU s); peak RSS %.0f MB",
        replay.messages, replay.lines, Double(replay.bytesRead) / 1e6, Double(core.bytes) / 1e6, seconds,
        Double(replay.messages) / seconds, Double(replay.bytesRead) / 1e6 / seconds,
        Double(core.bytes) / 1e6 / seconds, cpu, Double(replay.messages) / max(cpu, 1e-9),
        ProcessFigures.peakRSSMB())
}
