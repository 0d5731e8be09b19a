import Foundation
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Starting and stopping the cluster's daemons. Hand-written over posix_spawn because Foundation's
/// Process cannot start a daemon in its own session with a clean signal mask and stdin on /dev/null,
/// which slurmd needs (see slurm-scaling.md: a resume program inherits SIGTERM blocked and stdin closed).
package enum ProcessControl {
    package struct SpawnError: Error, CustomStringConvertible {
        package var description: String
    }

    /// Spawns `arguments[0]` (an absolute path) in a new session, stdin from /dev/null, stdout and stderr
    /// appended to `logPath`, every signal unblocked and at its default action. Returns its pid.
    /// With `cgroup`, the program starts inside it (see `ClusterCgroup.wrapping`).
    @discardableResult
    package static func spawn(
        _ arguments: [String], environment: [String: String], logPath: String,
        cgroup: ClusterCgroup? = nil
    ) throws -> pid_t {
        if let cgroup { try cgroup.create() }
        return try spawn(cgroup?.wrapping(arguments) ?? arguments, environment: environment, newSession: true) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
    }

    /// posix_spawn with the given descriptor setup; every other inherited descriptor is closed, so a
    /// daemon never holds a pipe or socket of whoever started it (a caller reading our output to EOF
    /// would wait for the daemon's lifetime).
    static func spawn(
        _ arguments: [String], environment: [String: String], newSession: Bool,
        descriptors: (inout posix_spawn_file_actions_t) -> Void
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        descriptors(&actions)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        // POSIX_SPAWN_SETSID (0x80 in glibc) detaches it from our session and terminal.
        let flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | (newSession ? Int16(0x80) : 0)
        posix_spawnattr_setflags(&attributes, flags)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw SpawnError(description: "cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        return pid
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which Swift's Glibc module does not
    /// export (it is a GNU extension): looked up once at run time.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Runs a program that daemonizes itself (munged, slurmctld, slurmd): waits for the foreground part
    /// to exit, then reads the daemon's pid from its pid file.
    package static func startDaemon(
        _ arguments: [String], environment: [String: String], logPath: String,
        pidFile: String, timeout: TimeInterval = 10, label: String? = nil,
        cgroup: ClusterCgroup? = nil
    ) throws -> pid_t {
        let name = label ?? (arguments[0] as NSString).lastPathComponent
        try? FileManager.default.removeItem(atPath: pidFile)
        let launcher = try spawn(arguments, environment: environment, logPath: logPath, cgroup: cgroup)
        var status: Int32 = 0
        waitpid(launcher, &status, 0)
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let detail = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").last.map { ": \($0)" } ?? ""
            throw SpawnError(description: "\(name) failed to start (exit \(code))\(detail); see \(logPath)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), isAlive(pid)
            {
                return pid
            }
            usleep(20_000)
        }
        throw SpawnError(description: "\(name) did not write \(pidFile); see \(logPath)")
    }

    /// Runs `body` for 0..<count on up to `width` threads of their own (blocking work: process starts and
    /// waits must not hold Swift's cooperative pool); the results in index order.
    package static func concurrently<T: Sendable>(
        _ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> T
    ) async -> [T] {
        guard count > 0 else { return [] }
        let state = Mutex((next: 0, results: [T?](repeating: nil, count: count), running: min(width, count)))
        return await withCheckedContinuation { continuation in
            for _ in 0..<min(width, count) {
                Thread {
                    while true {
                        let index: Int? = state.withLock { value in
                            guard value.next < count else { return nil }
                            value.next += 1
                            return value.next - 1
                        }
                        guard let index else { break }
                        let result = body(index)
                        state.withLock { $0.results[index] = result }
                    }
                    let finished: [T]? = state.withLock { value in
                        value.running -= 1
                        return value.running == 0 ? value.results.map { $0! } : nil
                    }
                    if let finished { continuation.resume(returning: finished) }
                }.start()
            }
        }
    }

    /// Alive and, when `commandContains` is given, still the program we started (pids are reused).
    package static func isAlive(_ pid: pid_t, commandContains: String? = nil) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        if state(of: "/proc/\(pid)/stat") == "Z" {
            // The leader thread has exited; the process has finished only when every thread has (slurmctld's
            // threads outlive its main one for a second or two, and so did delete-cluster's return).
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            if !tasks.contains(where: { !["Z", "X", nil].contains(state(of: "/proc/\(pid)/task/\($0)/stat")) }) { return false }
        }
        guard let expected = commandContains else { return true }
        // Through FileHandle: FileManager stops at 4 KiB of a /proc file, and a command line can be longer.
        guard let data = try? FileHandle(forReadingAtPath: "/proc/\(pid)/cmdline")?.readToEnd() else { return false }
        let command = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return command.contains(expected)
    }

    /// The state letter of a /proc stat file (R, S, D, Z, ...), nil when it cannot be read.
    static func state(of statFile: String) -> Character? {
        guard let stat = try? String(contentsOfFile: statFile, encoding: .utf8), let close = stat.lastIndex(of: ")"),
            stat.index(close, offsetBy: 2) < stat.endIndex
        else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; true when the process is gone.
    @discardableResult
    package static func terminate(_ pid: pid_t, commandContains: String? = nil, grace: TimeInterval = 10) -> Bool {
        guard isAlive(pid, commandContains: commandContains) else { return true }
        kill(pid, SIGTERM)
        if waitForExit(pid, seconds: grace) { return true }
        kill(pid, SIGKILL)
        return waitForExit(pid, seconds: 2)
    }

    /// `terminate` from async code: the same signals, with the waits between them as task sleeps, so a
    /// process slow to exit holds no thread of the cooperative pool for its grace period.
    @discardableResult
    package static func terminate(_ pid: pid_t, commandContains: String? = nil, grace: TimeInterval = 10) async -> Bool {
        guard isAlive(pid, commandContains: commandContains) else { return true }
        kill(pid, SIGTERM)
        if await waitForExit(pid, seconds: grace) { return true }
        kill(pid, SIGKILL)
        return await waitForExit(pid, seconds: 2)
    }

    /// Whether `pid` exited (and was reaped) within `seconds`, checked every 20 ms.
    private static func waitForExit(_ pid: pid_t, seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            reap(pid)
            if !isAlive(pid) { return true }
            if Date() >= deadline { return false }
            usleep(20_000)
        }
    }

    private static func waitForExit(_ pid: pid_t, seconds: TimeInterval) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            reap(pid)
            if !isAlive(pid) { return true }
            if Date() >= deadline { return false }
            // A cancelled task still sees the process out, and must not spin doing it.
            do { try await Task.sleep(for: .milliseconds(20)) } catch { usleep(20_000) }
        }
    }

    /// Collects a child of ours that has exited, so it does not linger as a zombie.
    static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    package static func readPid(_ path: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `run` from async code: the command runs and is waited for on a thread of its own, so the wait holds
    /// none of the cooperative pool's threads (as many as cores: two here), which every task of the process
    /// shares.
    package static func run(_ arguments: [String], environment: [String: String]? = nil) async -> (status: Int32, output: String) {
        await concurrently(1, width: 1) { _ in run(arguments, environment: environment) }[0]
    }

    /// Runs a command to completion and returns its exit status and output (for scontrol, sinfo, runuser).
    /// Our own spawn and wait rather than Foundation's Process, whose exit notification can be lost when
    /// the command's children outlive it.
    package static func run(_ arguments: [String], environment: [String: String]? = nil) -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        // The child gets the write end as stdout and stderr; every other descriptor is closed in it.
        guard pipe(&fds) == 0 else { return (127, "cannot create a pipe: \(String(cString: strerror(errno)))") }
        let pid: pid_t
        do {
            pid = try spawn(arguments, environment: environment ?? ProcessInfo.processInfo.environment, newSession: false) { actions in
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
                posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
            }
        } catch {
            close(fds[0])
            close(fds[1])
            return (127, "\(error)")
        }
        close(fds[1])
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let pipe = FileDescriptor(rawValue: fds[0])
        while let count = try? buffer.withUnsafeMutableBytes({ try pipe.read(into: $0) }), count > 0 {
            output += buffer[0..<count]
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, String(decoding: output, as: UTF8.self))
    }
}

/// Free TCP ports on 127.0.0.1, checked by binding them.
package enum PortAllocator {
    /// Free to listen on: nobody listens there (connections of a dead listener lingering in TIME_WAIT do
    /// not count, as they do not stop a server that sets SO_REUSEADDR, as slurmd and slurmctld do).
    package static func isFree(_ port: Int) -> Bool {
        withLoopbackSocket(port) { fd, address, length in
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            return bind(fd, address, length) == 0
        }
    }

    /// Whether something accepts connections on 127.0.0.1:`port`.
    package static func isListening(_ port: Int) -> Bool {
        withLoopbackSocket(port) { fd, address, length in connect(fd, address, length) == 0 }
    }

    /// A fresh TCP socket and the address 127.0.0.1:`port`, closed after `body`.
    static func withLoopbackSocket(_ port: Int, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Where cluster daemons listen: 20000 up to the kernel's ephemeral range. A port inside that range can be
    /// taken at any moment as the local end of some program's outgoing connection, and a slurmd or slurmctld
    /// then fails to bind it; on a machine whose ephemeral range starts too low for that, 20000–39999.
    package static func listeningRange(ephemeral: ClosedRange<Int>? = ephemeralRange()) -> ClosedRange<Int> {
        let low = 20000
        if let ephemeral, ephemeral.lowerBound - low >= 2000 { return low...min(39999, ephemeral.lowerBound - 1) }
        return low...39999
    }

    /// The kernel's ip_local_port_range, nil when it cannot be read.
    package static func ephemeralRange() -> ClosedRange<Int>? {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) else { return nil }
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return nil }
        return bounds[0]...bounds[1]
    }

    /// `count` free ports from a random starting point in `listeningRange()`, skipping `taken` (other clusters').
    package static func allocate(_ count: Int, avoiding taken: Set<Int>) throws -> [Int] {
        let range = listeningRange()
        var ports: [Int] = []
        var candidate = Int.random(in: range)
        var tried = 0
        while ports.count < count {
            tried += 1
            guard tried <= range.count else {
                throw LocalClusterError("no \(count) free TCP ports on 127.0.0.1 between \(range.lowerBound) and \(range.upperBound)")
            }
            candidate = candidate >= range.upperBound ? range.lowerBound : candidate + 1
            if !taken.contains(candidate) && isFree(candidate) { ports.append(candidate) }
        }
        return ports
    }
}
