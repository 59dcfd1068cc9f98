import Foundation
import Metrics
import Testing

@Suite struct ProfileFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func shippedProfilesMatchTheBuiltIns() throws {
        for (file, builtIn) in [("shop.toml", KPIProfile.shop), ("samples.toml", KPIProfile.samples)] {
            let path = Self.root.appendingPathComponent("profiles/\(file)").path
            var parsed = try KPIProfile(tomlText: String(contentsOfFile: path, encoding: .utf8), file: path)
            parsed.name = builtIn.name
            #expect(parsed == builtIn, "\(file)")
        }
    }

    @Test func errorsNameTheLine() {
        let text = "name = \"x\"\n[sale]\ntable = \"t\"\nkey = \"id\"\namount = \"a\"\n[windows]\nsize_secs = 30\n"
        do {
            _ = try KPIProfile(tomlText: text, file: "p.toml")
            Issue.record("typo accepted")
        } catch let e as ConfigFileError {
            #expect(e.line == 7)
            #expect(e.description.hasPrefix("p.toml:7: unknown key 'size_secs'"))
        } catch { Issue.record("\(error)") }
        #expect(throws: ConfigFileError.self) { try KPIProfile(tomlText: "[sale]\ntable = t\n", file: "q") }
        #expect(throws: ConfigFileError.self) { try KPIProfile(tomlText: "name = \"x\"\n", file: "q") }
    }

    @Test func windowSettings() throws {
        let p = try KPIProfile(
            tomlText:
                "[sale]\ntable=\"t\"\nkey=\"k\"\namount=\"a\"\n[windows]\nsize_seconds = 60\nallowed_lateness_seconds = 5\nretention_hours = 2\n",
            file: "w")
        #expect(p.windowMs == 60_000 && p.allowedLatenessMs == 5_000 && p.retentionMs == 7_200_000)
        #expect(p.lineItem == nil && p.role(ofTable: "t") == .sale)
    }
}
