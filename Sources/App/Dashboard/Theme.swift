import Metrics

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A colour as written in a theme file; mapped to what the terminal has (256, 16 or 8 colours).
enum ThemeColor: Hashable, Sendable {
    /// The terminal's own foreground/background.
    case terminalDefault
    case rgb(UInt8, UInt8, UInt8)
    /// An xterm-256 palette index.
    case index(UInt8)

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// The colour number to use on a terminal with `colors` colours; -1 for the terminal default.
    func number(forColors colors: Int) -> Int {
        switch self {
        case .terminalDefault: return -1
        case .index(let i) where colors >= 256 || Int(i) < min(colors, 16):
            return colors >= 16 || i < 8 ? Int(i) : Int(i) % 8
        case .index(let i):
            return ThemeColor.nearestBasic(ThemeColor.rgb(ofIndex: Int(i)), colors: colors)
        case .rgb(let r, let g, let b):
            if colors >= 256 { return ThemeColor.nearest256(r, g, b) }
            return ThemeColor.nearestBasic((r, g, b), colors: colors)
        }
    }

    private static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        func level(_ v: UInt8) -> Int {
            var best = 0
            for i in 1..<6 where abs(cubeLevels[i] - Int(v)) < abs(cubeLevels[best] - Int(v)) { best = i }
            return best
        }
        let (lr, lg, lb) = (level(r), level(g), level(b))
        let cube = 16 + 36 * lr + 6 * lg + lb
        let cubeDistance = distance((cubeLevels[lr], cubeLevels[lg], cubeLevels[lb]), (Int(r), Int(g), Int(b)))
        let average = (Int(r) + Int(g) + Int(b)) / 3
        let grayStep = max(0, min(23, (average - 8 + 5) / 10))
        let grayValue = 8 + 10 * grayStep
        let grayDistance = distance((grayValue, grayValue, grayValue), (Int(r), Int(g), Int(b)))
        return grayDistance < cubeDistance ? 232 + grayStep : cube
    }

    private static func distance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        let (dr, dg, db) = (a.0 - b.0, a.1 - b.1, a.2 - b.2)
        return dr * dr + dg * dg + db * db
    }

    static func rgb(ofIndex i: Int) -> (UInt8, UInt8, UInt8) {
        let basic: [(UInt8, UInt8, UInt8)] = [
            (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
            (229, 229, 229),
            (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
            (255, 255, 255),
        ]
        if i < 16 { return basic[max(0, i)] }
        if i >= 232 {
            let v = UInt8(8 + 10 * (i - 232))
            return (v, v, v)
        }
        let c = i - 16
        return (UInt8(cubeLevels[c / 36]), UInt8(cubeLevels[c / 6 % 6]), UInt8(cubeLevels[c % 6]))
    }

    /// Hue-based choice among the 8 (or 16) ANSI colours: plain RGB distance would turn soft greens grey.
    static func nearestBasic(_ c: (UInt8, UInt8, UInt8), colors: Int) -> Int {
        let (r, g, b) = (Double(c.0), Double(c.1), Double(c.2))
        let hi = max(r, g, b)
        let lo = min(r, g, b)
        let bright = colors >= 16
        if hi - lo < 40 {
            let light = (r + g + b) / 3
            if !bright { return light < 128 ? 0 : 7 }
            return light < 64 ? 0 : light < 150 ? 8 : light < 235 ? 7 : 15
        }
        var hue: Double
        if hi == r {
            hue = (g - b) / (hi - lo)
        } else if hi == g {
            hue = 2 + (b - r) / (hi - lo)
        } else {
            hue = 4 + (r - g) / (hi - lo)
        }
        hue = (hue * 60 + 360).truncatingRemainder(dividingBy: 360)
        let base: Int
        switch hue {
        case ..<30: base = 1  // red
        case ..<90: base = 3  // yellow
        case ..<150: base = 2  // green
        case ..<210: base = 6  // cyan
        case ..<270: base = 4  // blue
        case ..<330: base = 5  // magenta
        default: base = 1
        }
        return bright && hi > 215 && lo > 60 ? base + 8 : base
    }
}

/// Colour and attributes of one role.
struct RoleLook: Hashable, Sendable {
    var color: ThemeColor = .terminalDefault
    var bold = false, dim = false, underline = false, reverse = false
}

struct Theme: Hashable, Sendable {
    var name: String
    var roles: [StyleRole: RoleLook]
    var background: ThemeColor = .terminalDefault

    func look(_ role: StyleRole) -> RoleLook { roles[role] ?? roles[.text] ?? RoleLook() }
}

struct ThemeError: Error, CustomStringConvertible {
    var description: String
}

/// Reads theme files: TOML, through the same reader as profiles and the config file (`SimpleTOML`). Format (also
/// at the top of every file in themes/):
///   role = "COLOUR [bold] [dim] [underline] [reverse]"
/// roles: text dim accent good warn bad bar border, plus `background`; COLOUR is #rrggbb, a 256-colour index
/// 0-255 (also unquoted: `dim = 244`), a name (black … white, bright-black … bright-white) or `default`.
/// Roles left out take the look of `text`.
enum ThemeParser {
    static func parse(_ text: String, name: String, path: String) throws -> Theme {
        let toml: SimpleTOML
        do { toml = try SimpleTOML(text: text, file: path) } catch let error as ConfigFileError {
            // The older form (`role = "#5fafff" bold`, `role = bright-cyan`) is not TOML: say how to write it now.
            throw ThemeError(
                description: "\(error); a theme is TOML: quote the colour with its attributes, "
                    + "e.g. accent = \"#5fafff bold\" or good = \"bright-green\"")
        }
        if let section = toml.sectionLines.min(by: { $0.value < $1.value }) {
            throw ThemeError(description: "\(path):\(section.value): a theme has no sections ([\(section.key)])")
        }
        var roles: [StyleRole: RoleLook] = [:]
        var background: ThemeColor = .terminalDefault
        var seen: Set<String> = []
        for (rawKey, entry) in (toml.sections[""] ?? [:]).sorted(by: { $0.value.line < $1.value.line }) {
            func fail(_ message: String) -> ThemeError { ThemeError(description: "\(path):\(entry.line): \(message)") }
            let key = rawKey.lowercased()
            let words: [String]
            switch entry.value {
            case .string(let value): words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            case .integer(let index): words = [String(index)]
            case .bool, .strings: throw fail("'\(key)' must be a colour in quotes, e.g. \(key) = \"#5fafff bold\"")
            }
            guard let colorWord = words.first else { throw fail("missing colour for '\(key)'") }
            guard let color = parseColor(colorWord) else {
                throw fail("bad colour '\(colorWord)' (use #rrggbb, 0-255, a colour name or default)")
            }
            if seen.contains(key) { throw fail("'\(key)' is set twice") }
            seen.insert(key)
            if key == "background" {
                if words.count > 1 { throw fail("background takes a colour only") }
                background = color
                continue
            }
            guard let role = StyleRole.allCases.first(where: { $0.name == key }) else {
                let known = StyleRole.allCases.map(\.name).joined(separator: ", ")
                throw fail("unknown role '\(key)' (roles: \(known), background)")
            }
            var look = RoleLook(color: color)
            for word in words.dropFirst() {
                switch word.lowercased() {
                case "bold": look.bold = true
                case "dim": look.dim = true
                case "underline": look.underline = true
                case "reverse": look.reverse = true
                default: throw fail("unknown attribute '\(word)' (bold, dim, underline, reverse)")
                }
            }
            roles[role] = look
        }
        return Theme(name: name, roles: roles, background: background)
    }

    static func parseColor(_ word: String) -> ThemeColor? {
        let w = word.lowercased()
        if w == "default" { return .terminalDefault }
        if w.hasPrefix("#") {
            let hex = w.dropFirst()
            guard hex.count == 6, let v = UInt32(hex, radix: 16) else { return nil }
            return .rgb(UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF))
        }
        if let n = Int(w) { return (0...255).contains(n) ? .index(UInt8(n)) : nil }
        if let i = ThemeColor.names.firstIndex(of: w) { return .index(UInt8(i)) }
        if w.hasPrefix("bright-"), let i = ThemeColor.names.firstIndex(of: String(w.dropFirst(7))) {
            return .index(UInt8(i + 8))
        }
        return nil
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}

/// Where themes come from: `--themes-dir`, else a `themes` folder found walking up from the executable,
/// else the copies compiled into the binary (so a missing folder still works).
struct ThemeLibrary: Sendable {
    var directory: String?

    init(directory explicit: String?) {
        directory = explicit ?? ThemeLibrary.findDirectory()
    }

    static func findDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var path =
            n > 0
            ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        while let slash = path.lastIndex(of: "/") {
            path = String(path[..<slash])
            let candidate = (path.isEmpty ? "" : path) + "/themes"
            if FileText.isDirectory(candidate), FileText.read(candidate + "/dark.theme") != nil { return candidate }
        }
        return nil
    }

    /// Theme names available: files in the directory plus the built-ins, dark first.
    var names: [String] {
        var all = Set(BuiltinThemes.texts.keys)
        if let directory { all.formUnion(FileText.list(directory, suffix: ".theme")) }
        let order = ["dark", "light", "high-contrast", "mono"]
        return order.filter(all.contains) + all.subtracting(order).sorted()
    }

    func load(_ name: String) throws -> Theme {
        // A path (`--theme ./mine.theme`) is read as is.
        if name.contains("/") || name.hasSuffix(".theme") {
            guard let text = FileText.read(name) else {
                throw ThemeError(description: "cannot read theme file \(name): no such readable file")
            }
            let base = String(name.split(separator: "/").last ?? Substring(name))
            return try ThemeParser.parse(
                text, name: base.hasSuffix(".theme") ? String(base.dropLast(6)) : base, path: name)
        }
        if let directory {
            let path = directory + "/" + name + ".theme"
            if let text = FileText.read(path) { return try ThemeParser.parse(text, name: name, path: path) }
        }
        if let text = BuiltinThemes.texts[name] {
            return try ThemeParser.parse(text, name: name, path: "(built-in) \(name).theme")
        }
        let place =
            directory.map { "no \(name).theme in \($0)" } ?? "no themes folder found and no built-in theme of that name"
        throw ThemeError(
            description:
                "unknown theme '\(name)': \(place) (available: \(names.joined(separator: ", ")); add a .theme file or pass --themes-dir DIR)"
        )
    }
}

/// Small file helpers without Foundation (the App target keeps its dependencies to the C libraries).
enum FileText {
    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isDirectory(_ path: String) -> Bool {
        guard let dir = opendir(path) else { return false }
        closedir(dir)
        return true
    }

    static func list(_ directory: String, suffix: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasSuffix(suffix), !name.hasPrefix(".") { names.append(String(name.dropLast(suffix.count))) }
        }
        return names
    }
}
