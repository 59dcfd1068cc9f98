import CNcursesw

#if canImport(Glibc)
    import Glibc
#endif

struct DashboardError: Error, CustomStringConvertible {
    var description: String
}

/// The only owner of curses: starts it, maps theme roles to colour pairs, draws the cells that changed,
/// reads keys, and gives the terminal back in `deinit` (and `close()`), whatever the exit path.
final class CursesTerminal {
    private var screen: OpaquePointer?
    private var previous: ScreenBuffer?
    private var roleAttributes: [attr_t] = Array(repeating: 0, count: StyleRole.allCases.count)
    private var rolePairs: [Int16] = Array(repeating: 0, count: StyleRole.allCases.count)
    private(set) var colors: Int = 0
    private(set) var defaultColorsAvailable = false
    let isUTF8: Bool
    let colorsAllowed: Bool

    /// - Parameter colorsAllowed: false for NO_COLOR: attributes only, no colour pairs.
    init(colorsAllowed: Bool) throws {
        setlocale(LC_ALL, "")
        isUTF8 = cdctop_locale_is_utf8() != 0
        self.colorsAllowed = colorsAllowed
        guard isatty(0) != 0, isatty(1) != 0 else {
            throw DashboardError(
                description:
                    "the dashboard needs a terminal on stdin and stdout; use --headless (with --json for JSON lines) or run it in a terminal"
            )
        }
        guard let s = cdctop_newterm() else {
            let term = getenv("TERM").map { String(cString: $0) } ?? "(unset)"
            throw DashboardError(
                description:
                    "cannot start curses for TERM=\(term): no terminfo entry; set TERM to xterm-256color, screen or linux"
            )
        }
        screen = s
        set_term(s)
        cbreak()
        noecho()
        nonl()
        keypad(cdctop_stdscr(), true)
        curs_set(0)
        cdctop_enable_mouse()
        set_escdelay(25)
        cdctop_timeout(100)
        if colorsAllowed, has_colors() {
            start_color()
            defaultColorsAvailable = use_default_colors() == OK
            colors = Int(cdctop_colors())
        }
    }

    deinit { close() }

    /// Ends curses and restores the terminal; safe to call more than once.
    func close() {
        guard let s = screen else { return }
        screen = nil
        // Terminals without an alternate screen (TERM=linux) would keep the last frame: leave a blank one.
        werase(cdctop_stdscr())
        wrefresh(cdctop_stdscr())
        curs_set(1)
        endwin()
        delscreen(s)
    }

    var size: (width: Int, height: Int) { (Int(cdctop_cols()), Int(cdctop_lines())) }

    /// Maps the roles of `theme` to colour pairs for this terminal's colour count (256, 16, 8) or to
    /// attributes only when there are no colours; forces a full redraw.
    func apply(_ theme: Theme) {
        let a = (
            bold: cdctop_a_bold(), dim: cdctop_a_dim(), underline: cdctop_a_underline(), reverse: cdctop_a_reverse()
        )
        let useColor = colors >= 8
        let fallbackForeground = defaultColorsAvailable ? -1 : 7
        let fallbackBackground = defaultColorsAvailable ? -1 : 0
        var background = useColor ? theme.background.number(forColors: colors) : -1
        if background < 0 { background = fallbackBackground }
        for role in StyleRole.allCases {
            let look = theme.look(role)
            var attributes = attr_t(0)
            if look.bold { attributes |= a.bold }
            if look.dim { attributes |= a.dim }
            if look.underline { attributes |= a.underline }
            if look.reverse { attributes |= a.reverse }
            roleAttributes[Int(role.rawValue)] = attributes
            if useColor {
                var foreground = look.color.number(forColors: colors)
                if foreground < 0 { foreground = fallbackForeground }
                let pair = Int16(role.rawValue) + 1
                init_pair(pair, Int16(foreground), Int16(background))
                rolePairs[Int(role.rawValue)] = pair
            } else {
                rolePairs[Int(role.rawValue)] = 0
            }
        }
        cdctop_set_background(0, rolePairs[Int(StyleRole.text.rawValue)])
        invalidate()
    }

    /// Forget what is on screen so the next draw repaints everything.
    func invalidate() {
        previous = nil
        clearok(cdctop_stdscr(), true)
    }

    /// Draws the cells that differ from the last frame, then refreshes once.
    func draw(_ buffer: ScreenBuffer) {
        if let p = previous, p.width != buffer.width || p.height != buffer.height { invalidate() }
        if previous == nil { werase(cdctop_stdscr()) }
        var text = [wchar_t](repeating: 0, count: 8)
        let boldAttr = cdctop_a_bold()
        let reverseAttr = cdctop_a_reverse()
        for y in 0..<buffer.height {
            for x in 0..<buffer.width {
                let cell = buffer[x, y]
                if let p = previous, p[x, y] == cell { continue }
                if cell.isContinuation { continue }
                var n = 0
                if isUTF8 {
                    for scalar in cell.character.unicodeScalars where n < 5 {
                        text[n] = wchar_t(bitPattern: scalar.value)
                        n += 1
                    }
                } else {
                    // Without a UTF-8 locale curses cannot show other characters (titles, data): "?" per cell.
                    let scalar = cell.character.unicodeScalars.first!.value
                    text[0] = wchar_t(scalar < 0x7F ? scalar : 0x3F)
                    n = 1
                    if scalar >= 0x7F, x + 1 < buffer.width, buffer[x + 1, y].isContinuation {
                        var question: [wchar_t] = [0x3F, 0]
                        _ = cdctop_put_cell(
                            Int32(y), Int32(x + 1), &question, roleAttributes[Int(cell.style.role.rawValue)],
                            rolePairs[Int(cell.style.role.rawValue)])
                    }
                }
                text[n] = 0
                let role = Int(cell.style.role.rawValue)
                var attributes = roleAttributes[role]
                if cell.style.bold { attributes |= boldAttr }
                if cell.style.reverse { attributes ^= reverseAttr }
                _ = cdctop_put_cell(Int32(y), Int32(x), text, attributes, rolePairs[role])
            }
        }
        wnoutrefresh(cdctop_stdscr())
        doupdate()
        previous = buffer
    }

    /// The next key, or nil after `timeoutMs` without input.
    func readKey(timeoutMs: Int32) -> Key? {
        cdctop_timeout(timeoutMs)
        var code: UInt32 = 0
        let rc = cdctop_get_key(&code)
        if rc == ERR { return nil }
        if rc == cdctop_key_code_yes() {
            switch Int32(code) {
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_PPAGE: return .pageUp
            case KEY_NPAGE: return .pageDown
            case KEY_HOME: return .home
            case KEY_END: return .end
            case KEY_ENTER: return .enter
            case KEY_BTAB: return .backTab
            case KEY_BACKSPACE: return .backspace
            case KEY_RESIZE: return .resize
            case cdctop_key_mouse():
                var x: Int32 = 0
                var y: Int32 = 0
                switch cdctop_get_mouse(&x, &y) {
                case 1: return .click(x: Int(x), y: Int(y))
                case 4: return .wheelUp
                case 5: return .wheelDown
                default: return nil
                }
            default: return nil
            }
        }
        switch code {
        case 3: return .interrupt
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        default:
            guard let scalar = Unicode.Scalar(code) else { return nil }
            return .char(Character(scalar))
        }
    }
}

/// Sends everything written to stderr (librdkafka, warnings) to the --log file, or to /dev/null, while
/// curses owns the screen; restores stderr in `deinit`.
final class StderrRedirect {
    private var savedDescriptor: Int32
    private(set) var path: String

    init(logPath: String?) throws {
        path = logPath ?? "/dev/null"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DashboardError(
                description:
                    "cannot open log file \(path): \(String(cString: strerror(errno))); choose a writable path with --log"
            )
        }
        savedDescriptor = dup(2)
        dup2(fd, 2)
        Glibc.close(fd)
    }

    /// One line with a UTC timestamp, for the log file.
    func log(_ message: String, nowMs: Int64) {
        let line = "\(RunLog.timestamp(nowMs)) \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    deinit {
        if savedDescriptor >= 0 {
            dup2(savedDescriptor, 2)
            Glibc.close(savedDescriptor)
        }
    }
}
