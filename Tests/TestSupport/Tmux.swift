import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Drives a program in a detached tmux session on a private server (`tmux -L socket`), like a user:
/// keys in, the pane's text out.
public struct Tmux {
    public let socket: String
    public let session: String

    public init(socket: String, session: String = "e2e") {
        self.socket = socket
        self.session = session
    }

    @discardableResult
    public func run(_ arguments: String) -> (status: Int32, output: String) {
        Shell.run("tmux -L \(socket) \(arguments)")
    }

    /// A server of its own for this test (socket `<prefix>-<pid>-<random>`), so tests never share one.
    public static func privateServer(_ prefix: String, session: String = "e2e") -> Tmux {
        Tmux(socket: "\(prefix)-\(getpid())-\(Int.random(in: 0..<1_000_000))", session: session)
    }

    /// Starts `command` in a new detached session of `width`×`height` in `directory`; when it ends the
    /// pane shows `CDCTOP-EXIT=<status>` and stays open (for `holdSeconds`) to be read.
    public func start(_ command: String, width: Int, height: Int, directory: String = "/tmp", holdSeconds: Int = 300)
        -> Bool
    {
        let quoted = command.replacingOccurrences(of: "'", with: "'\\''")
        return run(
            "new-session -d -s \(session) -x \(width) -y \(height) -c \(directory) \"sh -c '\(quoted); echo CDCTOP-EXIT=\\$?; exec sleep \(holdSeconds)'\""
        ).status == 0
    }

    /// Stops the server and whatever runs in it.
    public func stop() { run("kill-server") }

    /// Key names (`Enter`, `Escape`, `q`, …), each a send-keys; a failed one is an issue.
    public func send(_ keys: String...) {
        for k in keys {
            let r = run("send-keys -t \(session) \(k)")
            #expect(r.status == 0, "tmux send-keys \(k) failed: \(r.output)")
        }
    }

    /// Literal text (no key names).
    public func type(_ text: String) {
        let r = run("send-keys -t \(session) -l '\(text)'")
        #expect(r.status == 0, "tmux send-keys -l \(text) failed: \(r.output)")
    }

    public func screen() -> String { run("capture-pane -p -t \(session)").output }

    /// Polls the pane until `condition` holds or `timeoutMs` passes, with no expectation (for retries).
    public func poll(timeoutMs: Int, _ condition: (String) -> Bool) -> Bool {
        var waited = 0
        while waited < timeoutMs {
            if condition(screen()) { return true }
            usleep(100_000)
            waited += 100
        }
        return condition(screen())
    }

    /// Polls the pane until `condition` holds; returns the last screen either way.
    @discardableResult
    public func waitFor(_ what: String, timeoutMs: Int = 8_000, _ condition: (String) -> Bool) -> String {
        var waited = 0
        var last = screen()
        while !condition(last) && waited < timeoutMs {
            usleep(100_000)
            waited += 100
            last = screen()
        }
        #expect(condition(last), "timed out waiting for \(what); the pane shows:\n\(last)")
        return last
    }

    @discardableResult public func waitFor(text: String, timeoutMs: Int = 8_000) -> String {
        waitFor("'\(text)'", timeoutMs: timeoutMs) { $0.contains(text) }
    }
}
