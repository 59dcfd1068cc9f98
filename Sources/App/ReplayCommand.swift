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

    @OptionGroup var input: ReplayInputOptions

    @Flag(help: "Print the final result as one JSON object.")
    var json = false

    @Flag(help: "Print throughput (events/s, MB/s, CPU seconds, peak RSS) on standard error at the end.")
    var stats = false

    func run() throws {
        let (core, replay) = try input.makeReplay()
        // The reader alone (--parse-only) and decoding from memory (--preload) are timed by `cdctop-dev replay-bench`.
        let wall0 = Date()
        let cpu0 = ProcessFigures.cpuSeconds()
        do {
            for file in input.files { try replay.replay(path: file) }
        } catch let error as RecordingError {
            throw RunError(error.description)
        }
        if stats {
            let seconds = max(Date().timeIntervalSince(wall0), 1e-9)
            printError(
                replayThroughputLine(
                    replay, core: core, seconds: seconds, cpuSeconds: ProcessFigures.cpuSeconds() - cpu0))
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
    print(
        "messages \(result.messages)  malformed \(result.malformed)  dropped \(result.dropped)  tombstones \(core.tombstones)"
    )
    let a = core.aggregator
    print(
        "duplicates \(a.duplicates)  unmatched \(a.unmatched)  ignored \(core.ignored)  refused \(a.refused)  late corrections \(a.lateCorrections)"
    )
    print("")
    print("window start (UTC)          tx    revenue        categories")
    for w in result.windows {
        let cats = w.categoryRevenue.keys.sorted().map { "\($0) \(w.categoryRevenue[$0]!.formatted())" }.joined(
            separator: ", ")
        let start = TimeText.iso8601(ms: w.windowStartMs)
        print(
            start.padding(toLength: 26, withPad: " ", startingAt: 0)
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
