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
        cdctop's samples. Files may mix topics; the result does not depend
        on the order of files or topics.
        """)

    @Argument(help: "Recording files (use - for standard input).")
    var files: [String]

    @OptionGroup var profileOptions: ProfileOptions

    @Flag(help: "Print the final result as one JSON object.")
    var json = false

    func run() throws {
        let core = EngineCore(profile: try profileOptions.load())
        for file in files {
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let d = FileManager.default.contents(atPath: file) else {
                    throw RunError("cannot read '\(file)': no such file or permission denied")
                }
                data = d
            }
            try data.withUnsafeBytes { bytes in
                try RecordingReader.forEachMessage(in: bytes, file: file) { m in
                    core.ingest(topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestampMs,
                                key: m.key, value: m.value)
                }
            }
        }
        let result = core.result
        if json {
            print(result.json())
            return
        }
        printHumanResult(result, core: core)
    }
}

func printHumanResult(_ result: KPIResult, core: EngineCore) {
    print("messages \(result.messages)  malformed \(result.malformed)  dropped \(result.dropped)  tombstones \(core.tombstones)")
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
