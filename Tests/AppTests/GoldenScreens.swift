import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Golden screens, one text file per screen: Tests/Fixtures/goldens/NAME.txt (what the view draws, one
/// line per row, and a final newline), so a changed screen reads as a diff of that screen alone.
/// On a mismatch the actual screen is written to /tmp/cdctop-golden/NAME.txt; after checking it by eye,
/// `python3 Tests/AppTests/update_goldens.py` copies those files over the goldens. With
/// `CDCTOP_UPDATE_GOLDENS=1` the tests write them over the goldens themselves (and still fail, once).
enum GoldenScreens {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/goldens")

    /// Every golden screen by name (its file name without `.txt`).
    static let screens: [String: String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var out: [String: String] = [:]
        for file in names where file.hasSuffix(".txt") {
            guard var text = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) else {
                continue
            }
            if text.hasSuffix("\n") { text.removeLast() }
            out[String(file.dropLast(4))] = text
        }
        return out
    }()

    /// Nil when `screen` is the golden `name`; otherwise says where the actual screen went and shows it.
    static func mismatch(_ name: String, _ screen: String) -> String? {
        guard screen != screens[name] else { return nil }
        if ProcessInfo.processInfo.environment["CDCTOP_UPDATE_GOLDENS"] == "1" {
            let path = directory.appendingPathComponent("\(name).txt")
            try? (screen + "\n").write(to: path, atomically: true, encoding: .utf8)
            return "screen '\(name)' differed from its golden: rewritten at \(path.path) (check the diff, run again)"
        }
        mkdir("/tmp/cdctop-golden", 0o755)
        try? screen.write(toFile: "/tmp/cdctop-golden/\(name).txt", atomically: true, encoding: .utf8)
        let missing = screens[name] == nil ? " (no golden file \(name).txt yet)" : ""
        return "screen '\(name)' differs from its golden\(missing); actual written to /tmp/cdctop-golden/\(name).txt:\n"
            + screen
    }
}
