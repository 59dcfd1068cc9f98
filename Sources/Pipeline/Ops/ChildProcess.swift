import Foundation

/// Starts `executable` with `arguments` (argv, its name first) and the file actions `files`, in a clean
/// signal state: no signal blocked, and SIGPIPE, SIGTERM and SIGINT at their defaults whatever cdctop
/// ignores or blocks. `newProcessGroup` puts the child in a group of its own (so the group can be killed).
/// Returns the child's pid, or posix_spawn's error.
package func spawnChild(
    _ executable: String, arguments: [String], files: inout posix_spawn_file_actions_t,
    newProcessGroup: Bool
) -> Result<pid_t, SpawnError> {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGTERM, SIGINT] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
    if newProcessGroup {
        posix_spawnattr_setpgroup(&attributes, 0)
        flags |= POSIX_SPAWN_SETPGROUP
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &files, &attributes, &argv, environ)
    return rc == 0 ? .success(pid) : .failure(SpawnError(code: rc))
}

/// posix_spawn's error number, with the system's words for it.
package struct SpawnError: Error {
    package let code: Int32
    package var message: String { String(cString: strerror(code)) }
}
