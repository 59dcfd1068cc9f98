import Foundation
import Metrics
import Testing

@testable import App

/// The Alerts view (6), the status bar's alert count and the headless `alerts` field, from a panel the
/// real evaluator produced on a hand-driven clock.
@Suite struct AlertsViewTests {
    static func panel() -> AlertPanel {
        var rules = AlertRules()
        rules.forMs[.connectorFailed] = 10_000
        rules.forMs[.lagHigh] = 0
        rules.keepFiringForMs = 0
        var e = AlertEvaluator(rules: rules)
        let t = Fixture.nowMs - 60_000
        func facts(_ state: String, at ms: Int64, lagging: Bool) -> AlertFacts {
            var f = AlertFacts(nowMs: ms)
            f.connectors = [
                .init(name: "shop", state: state, reason: state == "FAILED" ? "task 0: PSQLException: gone" : nil)
            ]
            f.partitions = [
                PartitionLag(
                    topic: "shop.public.transaction", partition: 0, position: 1, highWatermark: lagging ? 9 : 1,
                    lastCommitTimeMs: ms - 400_000)
            ]
            return f
        }
        _ = e.evaluate(facts("FAILED", at: t, lagging: true))  // lag fires at once; connector pending
        _ = e.evaluate(facts("FAILED", at: t + 10_000, lagging: false))  // connector fires; lag resolves after 10 s
        _ = e.evaluate(facts("FAILED", at: Fixture.nowMs, lagging: false))
        var p = e.panel(nowMs: Fixture.nowMs)
        // One pending alert too: a connector failing just now.
        _ = e.evaluate(
            {
                var f = facts("FAILED", at: Fixture.nowMs, lagging: false)
                f.connectors!.append(.init(name: "shopm", state: "FAILED"))
                return f
            }())
        p = e.panel(nowMs: Fixture.nowMs)
        return p
    }

    /// A viewer (a second `watch` on a busy state directory) evaluates the rules but sends nothing: the
    /// Alerts view and the status bar say the writer sends them; the writer's own screens do not.
    @Test func aViewerSaysTheWriterSendsTheAlerts() throws {
        var frame = Fixture.frame()
        frame.alerts = Self.panel()
        var s = try #require(frame.snapshot)
        s.state = StateStatus(directory: "/var/lib/cdctop/shop")
        s.state.viewerOfPID = 4242
        s.state.writerGroup = "cdctop"
        let writerFrame = frame
        frame.snapshot = s
        for (w, h) in [(80, 24), (200, 60)] {
            var model = DashboardModel()
            Fixture.press([.char("6")], on: &model, frame: frame, width: w, height: h)
            let screen = Fixture.render(model, frame, width: w, height: h).0
            #expect(screen.text.contains("the writer (pid 4242) sends them"), "\(w)x\(h)\n\(screen.text)")
            if w >= 160 {
                #expect(screen.line(h - 2).contains("sent by the writer"), "\(screen.line(h - 2))")
            }
            var writerModel = DashboardModel()
            Fixture.press([.char("6")], on: &writerModel, frame: writerFrame, width: w, height: h)
            let writer = Fixture.render(writerModel, writerFrame, width: w, height: h).0.text
            #expect(!writer.contains("sends them") && !writer.contains("sent by the writer"), "\(writer)")
        }
    }

    @Test func viewListsFiringPendingAndResolvedWithDurations() {
        var frame = Fixture.frame()
        frame.alerts = Self.panel()
        frame.alertDelivery = ServiceStatus(.ok, "alertmanager: 1 alert sent 11:59:10")
        var model = DashboardModel()
        Fixture.press([.char("6")], on: &model, frame: frame)
        let screen = Fixture.render(model, frame, width: 130, height: 30).0
        let text = screen.text
        #expect(screen.line(0).contains("Alerts"))
        #expect(text.contains("Alerts · 1 firing · 1 pending · alertmanager: 1 alert sent 11:59:10"))
        let firing = (0..<30).map(screen.line).first { $0.contains("firing  CdcConnectorFailed") } ?? ""
        #expect(
            firing.contains("shop ") && firing.contains("11:59:10") && firing.contains("50.0s")
                && firing.contains("connector shop FAILED: task 0: PSQLException: gone"), "\(firing)")
        #expect(text.contains("pending CdcConnectorFailed     shopm "))
        // The Rules panel names CdcLagHigh too: the resolved line is the one about the topic.
        let resolved =
            (0..<30).map(screen.line).first { $0.contains("CdcLagHigh") && $0.contains("shop.public.") } ?? ""
        #expect(
            resolved.contains("shop.public.transaction ") && resolved.contains("11:59:00 11:59:10")
                && resolved.contains("10.0s"), "\(resolved)")
        #expect(screen.line(28).contains("alerts ● 1 firing"))
    }

    /// The indicator is measured from its own text: at every width it is whole or absent, never cut.
    @Test func statusBarIndicatorIsWholeOrAbsentAtEveryWidth() {
        let cases: [(AlertPanel, String)] = [(Self.panel(), "│ alerts ● 1 firing"), (AlertPanel(), "│ alerts ○ none")]
        for (panel, indicator) in cases {
            #expect(DashboardRenderer.alertsIndicatorWidth(panel, glyphs: .unicode) == 1 + indicator.count)
            var frame = Fixture.frame()
            frame.alerts = panel
            var shownAt: [Int] = []
            for width in 60...130 {
                let line = Fixture.render(DashboardModel(), frame, width: width, height: 24).0.line(22)
                if line.contains("alerts") {
                    #expect(line.contains(indicator), "width \(width): \(line)")
                    shownAt.append(width)
                }
                #expect(!line.trimmingCharacters(in: .whitespaces).hasSuffix("│"), "width \(width): \(line)")
            }
            #expect(shownAt.last == 130 && shownAt == Array(shownAt.first!...130), "\(indicator): \(shownAt)")
        }
    }

    @Test func statusBarSaysNoneWhenQuietAndViewExplainsRulesOff() {
        var frame = Fixture.frame()
        frame.alerts = AlertPanel()
        #expect(Fixture.render(DashboardModel(), frame, width: 120, height: 30).0.line(28).contains("alerts ○ none"))
        frame.alerts = nil
        var model = DashboardModel()
        Fixture.press([.char("6")], on: &model, frame: frame)
        let screen = Fixture.render(model, frame, width: 100, height: 24).0
        #expect(screen.text.contains("alert rules are off ([alerts] enabled = false in the profile)"))
        #expect(!screen.line(22).contains("alerts"))
    }

    @Test func headlessJSONCarriesAlerts() throws {
        let line = headlessLine(Fixture.snapshot, json: true, connect: nil, alerts: Self.panel())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let alerts = try #require(object["alerts"] as? [String: Any])
        #expect(alerts["firing"] as? Int == 1)
        let active = try #require(alerts["active"] as? [[String: Any]])
        #expect(active.map { $0["state"] as? String } == ["firing", "pending"])
        let history = try #require(alerts["history"] as? [[String: Any]])
        #expect(
            history.first?["alertname"] as? String == "CdcLagHigh" && history.first?["duration_ms"] as? Int == 10_000)
        #expect(
            headlessLine(Fixture.snapshot, json: false, connect: nil, alerts: Self.panel()).hasSuffix("alerts 1 firing")
        )
        #expect(!headlessLine(Fixture.snapshot, json: true, connect: nil).contains("\"alerts\""))
    }
}
