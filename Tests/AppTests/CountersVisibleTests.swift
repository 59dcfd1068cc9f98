import Metrics
import Testing

@testable import App

/// Every engine counter reaches the screen: the status line shows what fits (problems first), the
/// Tables view shows them all, and the durable state is in the status bar.
@Suite struct CountersVisibleTests {
    func frame(_ edit: (inout RunSnapshot) -> Void) -> DashboardFrame {
        var f = Fixture.frame()
        edit(&f.snapshot!)
        return f
    }

    func statusLine(_ f: DashboardFrame, width: Int, height: Int = 24) -> String {
        Fixture.render(DashboardModel(), f, width: width, height: height).0.line(height - 2)
    }

    @Test("a wide status line carries every counter that moved and the state; a wider one the zeros too")
    func wideStatusLine() {
        let line = statusLine(Fixture.frame(), width: 200)
        for part in [
            "msgs 240,000", "malformed 3", "late 17", "dup 4", "unmatched 6", "ignored 120", "parked 2",
            "state ● 3.0s ago",
        ] {
            #expect(line.contains(part), "\(part) missing from: \(line)")
        }
        let wider = statusLine(Fixture.frame(), width: 240)
        #expect(wider.contains("refused 0") && wider.contains("dropped 0"), "\(wider)")
    }

    @Test("a narrow status line keeps the problems: refused and unmatched beat the message count")
    func narrowStatusLinePrioritisesProblems() {
        let f = frame {
            $0.kpis.refused = 2
            $0.kpis.result.malformed = 0
        }
        let line = statusLine(f, width: 80)
        #expect(line.contains("refused 2"), "\(line)")
        #expect(!line.contains("msgs"), "\(line)")
        let calm = statusLine(
            frame {
                $0.kpis.result.malformed = 0
                $0.kpis.unmatched = 0
                $0.kpis.duplicates = 0
            }, width: 80)
        #expect(calm.contains("msgs 240,000"), "\(calm)")
    }

    @Test("the durable state: none, a checkpoint's age, an error in red")
    func stateIndicator() {
        #expect(statusLine(frame { $0.state = .none }, width: 80).contains("state ○ none"))
        #expect(
            statusLine(frame { $0.state.lastCheckpointMs = Fixture.nowMs - 65_000 }, width: 80).contains(
                "state ● 1m05s ago"))
        let failing = frame { $0.state.lastError = "disk full: write .cdctop/state/checkpoint.tmp" }
        let (buffer, _) = Fixture.render(DashboardModel(), failing, width: 200, height: 24)
        let line = buffer.line(22)
        #expect(line.contains("state ● error disk full"), "\(line)")
        guard let r = line.range(of: "● error") else { return }
        let x = line.distance(from: line.startIndex, to: r.lowerBound) + 2  // every character here is one cell wide
        #expect(
            buffer[x, 22].character == "e" && buffer[x, 22].style.role == .bad, "the error is drawn in the bad colour")
    }

    @Test("a viewer's state: the writer's pid when wide, just 'viewer' at 80 columns so the line keeps its end")
    func viewerStateIndicator() {
        let viewer = frame {
            $0.state.directory = "/var/lib/cdctop"
            $0.state.viewerOfPID = 4242
        }
        #expect(statusLine(viewer, width: 200).contains("state ● viewer of pid 4242 (state read-only)"))
        let narrow = statusLine(viewer, width: 80)
        #expect(narrow.contains("state ● viewer") && !narrow.contains("pid"), "\(narrow)")
        #expect(DisplayWidth.of(narrow) <= 80)
    }

    @Test("the Tables view lists every counter and says why unmatched happens")
    func tablesViewCounters() {
        var model = DashboardModel()
        Fixture.press([.char("2")], on: &model)
        let screen = Fixture.render(model).0.text
        for part in [
            "tombstones 412", "heartbeats 0", "malformed 3", "refused 0", "dropped 0", "late corrections 17",
            "duplicates 4", "unmatched 6", "ignored 120", "parked 2",
        ] {
            #expect(screen.contains(part), "\(part) missing")
        }
        #expect(screen.contains("unmatched 6 — started after the snapshot? changes to rows cdctop never saw"))
        #expect(screen.contains("transactiondetail p1@5123  decimal 'unit_price'"))
        let quiet = frame { $0.kpis.unmatched = 0 }
        var m2 = DashboardModel()
        Fixture.press([.char("2")], on: &m2, frame: quiet)
        #expect(!Fixture.render(m2, quiet).0.text.contains("started after the snapshot"))
    }

    @Test("sums the screen makes over several windows clamp instead of trapping")
    func displaySumsSaturate() {
        var s = Fixture.snapshot
        let huge = Money(units: Int128.max / 2 + 1)
        s.kpis.result.windows = [
            WindowResult(
                windowStartMs: Fixture.nowMs - 60_000, txCount: 1, revenue: huge, categoryRevenue: ["a": huge]),
            WindowResult(
                windowStartMs: Fixture.nowMs - 30_000, txCount: 1, revenue: huge, categoryRevenue: ["a": huge]),
        ]
        s.kpis.result.totals = TotalsResult(
            txCount: 1, revenue: Money(units: .max), categoryRevenue: ["a": huge, "b": huge])
        let f = Figures(s, nowMs: Fixture.nowMs)
        #expect(f.lastFiveMinutesRevenue == Money(units: .max))
        #expect(f.categoryFiveMinutes["a"] == Money(units: .max))
        #expect(f.averageTicket != nil)
        var frame = Fixture.frame()
        frame.snapshot = s
        for key in ["1", "2", "3", "5"] {
            var model = DashboardModel()
            Fixture.press([.char(Character(key))], on: &model, frame: frame)
            _ = Fixture.render(model, frame, width: 120, height: 40)
        }
    }
}
