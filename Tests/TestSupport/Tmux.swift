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

    public func send(_ keys: String...) { for k in keys { run("send-keys -t \(session) \(k)") } }
    public func screen() -> String { run("capture-pane -p -t \(session)").output }

    /// Polls the pane until `condition` holds; returns the last screen either way.
    @discardableResult
    public func waitFor(_ what: String, timeoutMs: Int = 8_000, _ condition: (String) -> Bool) -> String {
        var waited = 0
        var last = screen()
        while !condition(last) && waited < timeoutMs {
            usleep(100_000); waited += 100
            last = screen()
        }
        #expect(condition(last), "timed out waiting for \(what); the pane shows:\n\(last)")
        return last
    }

    @discardableResult public func waitFor(text: String, timeoutMs: Int = 8_000) -> String {
        waitFor("'\(text)'", timeoutMs: timeoutMs) { $0.contains(text) }
    }
}
