import Metrics
import Testing

@testable import App

/// The package root, from this file's path (Tests/AppTests/ThemeTests.swift).
let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

@Suite struct ThemeTests {
    @Test func builtInThemesAreIdenticalToTheFilesInThemesFolder() throws {
        for (name, text) in BuiltinThemes.texts {
            let file = FileText.read(packageRoot + "/themes/\(name).theme")
            #expect(file == text, "themes/\(name).theme differs from BuiltinThemes.swift: regenerate the Swift copy")
        }
        #expect(Set(BuiltinThemes.texts.keys) == ["dark", "light", "high-contrast", "mono"])
    }

    @Test func everyShippedThemeParsesAndSetsEveryRole() throws {
        let library = ThemeLibrary(directory: packageRoot + "/themes")
        #expect(library.names.prefix(4) == ["dark", "light", "high-contrast", "mono"])
        for name in library.names {
            let theme = try library.load(name)
            for role in StyleRole.allCases { #expect(theme.roles[role] != nil, "\(name) lacks \(role.name)") }
        }
        let dark = try library.load("dark")
        #expect(dark.roles[.accent] == RoleLook(color: .rgb(0x5f, 0xaf, 0xff), bold: true))
        let mono = try library.load("mono")
        #expect(mono.roles.values.allSatisfy { $0.color == .terminalDefault })
        #expect(mono.roles[.dim]?.dim == true)
    }

    @Test func parseErrorsNameTheFileAndLine() {
        func error(_ text: String) -> String {
            do {
                _ = try ThemeParser.parse(text, name: "foo", path: "themes/foo.theme")
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(error("text = \"red\"\n\n# c\ntxet = \"blue\"").hasPrefix("themes/foo.theme:4: unknown role 'txet'"))
        #expect(error("text = \"#12345\"").hasPrefix("themes/foo.theme:1: bad colour '#12345'"))
        #expect(error("text \"red\"").hasPrefix("themes/foo.theme:1: expected 'key = value'"))
        #expect(error("text = \"red blink\"").hasPrefix("themes/foo.theme:1: unknown attribute 'blink'"))
        #expect(error("text = 256").hasPrefix("themes/foo.theme:1: bad colour '256'"))
        #expect(error("bar = \"red\"\nbar = \"blue\"").hasPrefix("themes/foo.theme:2: 'bar' is set twice"))
        #expect(error("bar = true").hasPrefix("themes/foo.theme:1: 'bar' must be a colour in quotes"))
        #expect(
            error("text = \"red\"\n[dark]\nbar = \"blue\"").hasPrefix("themes/foo.theme:2: a theme has no sections"))
        // The form before themes were TOML gets the fix with the error.
        let old = error("text = red\naccent = \"#5fafff\" bold")
        #expect(old.hasPrefix("themes/foo.theme:1: "), "\(old)")
        #expect(old.contains("accent = \"#5fafff bold\""), "\(old)")
    }

    @Test func themesAreReadByTheSameTOMLReaderAsProfiles() throws {
        // A TOML theme: comments after values, single quotes, an unquoted index, keys in any order.
        let theme = try ThemeParser.parse(
            "border = 240  # grey\ntext = 'default'\nbad = \"#ff0000 bold underline\"\n",
            name: "t", path: "t.theme")
        #expect(theme.roles[.border] == RoleLook(color: .index(240)))
        #expect(theme.roles[.text] == RoleLook(color: .terminalDefault))
        #expect(theme.roles[.bad] == RoleLook(color: .rgb(0xff, 0, 0), bold: true, underline: true))
        // Every shipped theme is a TOML file SimpleTOML reads without the theme's own rules.
        for name in BuiltinThemes.texts.keys.sorted() {
            let toml = try SimpleTOML(text: BuiltinThemes.texts[name]!, file: name)
            #expect(toml.sections[""]?["text"] != nil, "\(name)")
        }
    }

    @Test func unknownThemeSaysWhereItLookedAndWhatExists() {
        let library = ThemeLibrary(directory: packageRoot + "/themes")
        do {
            _ = try library.load("solarized")
            Issue.record("expected an error")
        } catch {
            let text = "\(error)"
            #expect(
                text.contains("unknown theme 'solarized'") && text.contains("/themes") && text.contains("dark, light"))
        }
    }

    @Test func brokenThemeFileInADirectoryReportsItsPath() throws {
        let dir = "/tmp/cdctop-theme-test-\(getpid())"
        mkdir(dir, 0o755)
        defer {
            unlink(dir + "/bad.theme")
            rmdir(dir)
        }
        let f = fopen(dir + "/bad.theme", "w")!
        fputs("text = \"red\"\nborder = \"#zzzzzz\"\n", f)
        fclose(f)
        #expect(throws: ThemeError.self) { try ThemeLibrary(directory: dir).load("bad") }
        do { _ = try ThemeLibrary(directory: dir).load("bad") } catch {
            #expect("\(error)".hasPrefix(dir + "/bad.theme:2: bad colour"))
        }
        // Built-ins still work when the folder lacks them.
        #expect(try ThemeLibrary(directory: dir).load("light").background == .rgb(255, 255, 255))
    }

    @Test func coloursMapTo256And16And8() {
        let accent = ThemeColor.rgb(0x5f, 0xaf, 0xff)
        #expect(accent.number(forColors: 256) == 75)
        #expect(accent.number(forColors: 16) == 12)
        #expect(accent.number(forColors: 8) == 4)
        #expect(ThemeColor.rgb(0x87, 0xd7, 0x87).number(forColors: 8) == 2)  // soft green stays green
        #expect(ThemeColor.rgb(0xd0, 0xd0, 0xd0).number(forColors: 256) == 252)
        #expect(ThemeColor.rgb(0xd0, 0xd0, 0xd0).number(forColors: 8) == 7)
        #expect(ThemeColor.rgb(0xff, 0xff, 0xff).number(forColors: 16) == 15)
        #expect(ThemeColor.index(9).number(forColors: 8) == 1)
        #expect(ThemeColor.index(196).number(forColors: 16) == 1)
        #expect(ThemeColor.terminalDefault.number(forColors: 256) == -1)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
