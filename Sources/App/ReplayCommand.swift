import ArgumentParser
import Foundation
import Metrics
import Pipeline

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Aggregate recordings of Debezium topics and print the exact windows.",
        discussion: """
        Reads files made by kcat, in either form:
          kcat -C -J -t TOPIC …           (one JSON object per message)
          kcat -C -f '%t\\t%p\\t%o\\t%k\\t%s\\n' -t TOPIC …
                                          (tab-separated; empty value =
                                           tombstone)
        or the {"topic","partition","offset","key","value"} lines of
        cdctop's samples, or what `cdctop record` writes (key and value bytes
        in base64, for Avro topics). Files may mix topics; the result does
        not depend on the order of files or topics.

        Avro (Confluent-framed) messages are decoded with the schemas the
        recording carries ({"schema_id":N,"schema":"…"} lines, written by
        `cdctop record --schema-registry URL`), else from --schemas DIR
        (<id>.json files, like a watch state directory's schemas/), else
        from --schema-registry. A schema id none of them has stops the
        replay with an error naming it.

        Files are streamed in chunks (memory stays a few chunks plus the
        engine's state, whatever the size of the recording); - reads
        standard input:
          kcat -C -J -e -b HOST:9092 -t shop.public.transaction | cdctop replay -
        """)

    @Argument(help: "Recording files (use - for standard input, e.g. kcat -C -J -e … | cdctop replay -).")
    var files: [String]

    @OptionGroup var profileOptions: ProfileOptions

    @Option(help: ArgumentHelp("Folder of Avro schemas by id, <id>.json (a watch state directory's schemas/ cache, or bare Avro schemas), for recordings without schema lines.", valueName: "dir"))
    var schemas: String?

    @OptionGroup var registry: SchemaRegistryOptions

    @Flag(help: "Print the final result as one JSON object.")
    var json = false

    @Flag(help: "Print throughput (events/s, MB/s, CPU seconds, peak RSS) on standard error at the end.")
    var stats = false

    @Option(name: .customLong("chunk-mb"), help: ArgumentHelp("Size of each read buffer in MB (three are in flight).", valueName: "n"))
    var chunkMB = 8

    @Flag(name: .customLong("one-thread"), help: "Read and decode on one thread (default: a reading thread runs ahead).")
    var oneThread = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one recording file, or - for standard input") }
        if !(1...1024).contains(chunkMB) { throw ValidationError("--chunk-mb must be between 1 and 1024") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read only once") }
        var isDirectory: ObjCBool = false
        if let schemas, !(FileManager.default.fileExists(atPath: schemas, isDirectory: &isDirectory) && isDirectory.boolValue) {
            throw ValidationError("--schemas \(schemas) is not a directory")
        }
    }

    func run() throws {
        let core = EngineCore(profile: try profileOptions.load())
        core.noteWallClock(nowMs: WallClock.nowMs())
        // A replay asks the registry once per id and never waits for it (cacheDirectory nil: nothing written).
        let replay = RecordingReplay(core: core, schemas: RecordingSchemas(directory: schemas, registry: try registry.client(cacheDirectory: nil)))
        replay.chunkSize = chunkMB << 20
        replay.batches = oneThread ? 1 : 3
        // The reader alone (--parse-only) and decoding from memory (--preload) are timed by `cdctop-dev replay-bench`.
        let wall0 = Date()
        let cpu0 = ProcessFigures.cpuSeconds()
        do {
            for file in files { try replay.replay(path: file) }
        } catch let error as RecordingError {
            throw RunError(error.description)
        }
        if stats {
            let seconds = max(Date().timeIntervalSince(wall0), 1e-9)
            let cpu = ProcessFigures.cpuSeconds() - cpu0
            printError(String(format: "replayed %lld messages (%lld lines), %.1f MB read, %.1f MB of keys+values in %.2f s: "
                                  + "%.0f events/s, %.0f MB/s read, %.0f MB/s keys+values; CPU %.2f s (%.0f events per CPU s); peak RSS %.0f MB",
                              replay.messages, replay.lines, Double(replay.bytesRead) / 1e6, Double(core.bytes) / 1e6, seconds,
                              Double(replay.messages) / seconds, Double(replay.bytesRead) / 1e6 / seconds,
                              Double(core.bytes) / 1e6 / seconds, cpu, Double(replay.messages) / max(cpu, 1e-9),
                              ProcessFigures.peakRSSMB()))
        }
        let result = core.result
        if json {
            print(result.json())
            return
        }
        printHumanResult(result, core: core)
    }
}

/// Process CPU time, page faults and peak RSS, from getrusage.
package enum ProcessFigures {
    private static var usage: rusage {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage
    }

    private static func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }

    package static func cpuSeconds() -> Double {
        let u = usage
        return seconds(u.ru_utime) + seconds(u.ru_stime)
    }

    /// Page faults served without I/O (memory the kernel had to hand over and clear), and the
    /// system CPU seconds they and other kernel work took.
    package static func minorFaults() -> Int { usage.ru_minflt }

    package static func systemCPUSeconds() -> Double { seconds(usage.ru_stime) }

    package static func peakRSSMB() -> Double { Double(usage.ru_maxrss) / 1024 }
}

func printHumanResult(_ result: KPIResult, core: EngineCore) {
    print("messages \(result.messages)  malformed \(result.malformed)  dropped \(result.dropped)  tombstones \(core.tombstones)")
    let a = core.aggregator
    print("duplicates \(a.duplicates)  unmatched \(a.unmatched)  ignored \(core.ignored)  refused \(a.refused)  late corrections \(a.lateCorrections)")
    print("")
    print("window start (UTC)          tx    revenue        categories")
    for w in result.windows {
        let cats = w.categoryRevenue.keys.sorted().map { "\($0) \(w.categoryRevenue[$0]!.formatted())" }.joined(separator: ", ")
        let start = TimeText.iso8601(ms: w.windowStartMs)
        print(start.padding(toLength: 26, withPad: " ", startingAt: 0)
              + String(w.txCount).leftPadded(5) + "  " + w.revenue.formatted().leftPadded(13) + "  " + cats)
    }
    let t = result.totals
    print("")
    print("totals: \(t.txCount) transactions, revenue \(t.revenue.formatted())")
    for c in t.categoryRevenue.keys.sorted() { print("  \(c): \(t.categoryRevenue[c]!.formatted())") }
    for m in core.recentMalformed.suffix(10) { print("malformed \(m.position): \(m.reason)") }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
