import Foundation
import Metrics
import Pipeline
import TestSupport
import Testing

@testable import App

/// `--headless` output carries every counter: the JSON line (after KPIResult's own fields, which stay
/// byte-for-byte what ground-truth comparisons read) and the summary line.
@Suite struct HeadlessOutputTests {
    func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("the JSON line keeps KPIResult's fields first and adds every counter and the state")
    func jsonLine() throws {
        var s = Fixture.snapshot
        s.kpis.refused = 2
        s.state.lastError = "disk full"
        s.state.restored = "restored 12 keys"
        let line = headlessLine(s, json: true, connect: nil)
        let base = s.kpis.result.json()
        #expect(line.hasPrefix(String(base.dropLast())), "KPIResult.json()'s fields come first, unchanged")
        let o = try object(line)
        #expect(o["late_corrections"] as? Int == 17)
        #expect(o["duplicates"] as? Int == 4)
        #expect(o["unmatched"] as? Int == 6)
        #expect(o["ignored"] as? Int == 120)
        #expect(o["refused"] as? Int == 2)
        #expect(o["tombstones"] as? Int == 412)
        #expect(o["ts_ms"] as? Int64 == s.takenAtMs)
        let byTable = try #require(o["malformed_by_table"] as? [String: Int])
        #expect(byTable == ["customer": 0, "product": 0, "transaction": 0, "transactiondetail": 3])
        let recent = try #require(o["recent_malformed"] as? [[String: Any]])
        #expect(recent.count == 1)
        #expect(recent.first?["topic"] as? String == "shop.public.transactiondetail")
        #expect(recent.first?["partition"] as? Int == 1 && recent.first?["offset"] as? Int == 5_123)
        #expect((recent.first?["reason"] as? String)?.contains("unit_price") == true)
        let state = try #require(o["state"] as? [String: Any])
        #expect(state["dir"] as? String == ".cdctop/state")
        #expect(state["last_checkpoint_ms"] as? Int64 == Fixture.nowMs - 3_000)
        #expect(state["checkpoints"] as? Int == 12)
        #expect(state["error"] as? String == "disk full")
        #expect(state["restored"] as? String == "restored 12 keys")
    }

    @Test("recent_malformed keeps the newest few; a state without directory is null")
    func jsonLimits() throws {
        var s = Fixture.snapshot
        s.diagnostics.recentMalformed = (0..<9).map {
            MalformedRecord(position: .init(topic: "t", partition: 0, offset: Int64($0)), reason: "r\($0) \"quoted\"")
        }
        s.state = .none
        let o = try object(headlessLine(s, json: true, connect: nil))
        let recent = try #require(o["recent_malformed"] as? [[String: Any]])
        #expect(recent.map { $0["offset"] as? Int } == [4, 5, 6, 7, 8])
        #expect(recent.last?["reason"] as? String == "r8 \"quoted\"")
        let state = try #require(o["state"] as? [String: Any])
        #expect(state["dir"] is NSNull && state["error"] is NSNull)
    }

    @Test("the summary line names every counter and the state")
    func summary() {
        var s = Fixture.snapshot
        s.kpis.refused = 2
        let line = summaryLine(s)
        for part in [
            "malformed 3", "dropped 0", "refused 2", "late 17", "dup 4", "unmatched 6", "ignored 120", "state 3.0s ago",
        ] {
            #expect(line.contains(part), "\(part) missing from: \(line)")
        }
        s.state = .none
        #expect(summaryLine(s).contains("state none"))
        s.state = StateStatus(directory: "/x")
        s.state.lastError = "permission denied"
        #expect(summaryLine(s).contains("state error: permission denied"))
    }

    @Test("a short demo says it is still joining instead of printing zeros")
    func demoStillJoining() throws {
        guard let binary = cdctopBinary() else {
            Issue.record("cdctop binary not found next to the test bundle; run `swift build` first")
            return
        }
        let run = Shell.run("\(binary) demo --headless --seconds 1")
        #expect(run.status == 0, "\(run.output)")
        let lines = run.output.split(separator: "\n")
        #expect(lines.first?.contains("still joining the mock cluster…") == true, "\(run.output)")
        // Zeros only once Kafka is joined and the partitions' ends are known (the topics may still be empty).
        for line in lines where line.contains("msgs 0 ") {
            #expect(line.contains("kafka ok"), "a line of zeros before the consumer joined: \(line)")
        }
    }

    @Test("cdctop --version prints the name and version")
    func version() throws {
        guard let binary = cdctopBinary() else {
            Issue.record("cdctop binary not found next to the test bundle; run `swift build` first")
            return
        }
        let run = Shell.run("\(binary) --version")
        #expect(run.status == 0)
        #expect(run.output == "cdctop \(CDCTopVersion.current)\n")
        #expect(CDCTopVersion.current.split(separator: ".").count == 3)
    }
}
