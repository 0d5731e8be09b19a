import Synchronization

/// The restores running now, one per released file and shared by all its readers, and those just abandoned
/// for a stall. Starting a restore (which makes its empty cache file) and removing a cache file that no
/// restore owns happen under this component's lock, so neither can undo the other.
final class Restores: Sendable {
    private struct State {
        var running: [InodeNumber: RestoreJob] = [:]
        /// Restores abandoned for a stall, with when: the kernel retries a failed read at once, and that retry
        /// fails at once too (for half a second) rather than wait a second bound.
        var stalled: [InodeNumber: (at: ContinuousClock.Instant, error: FileSystemError)] = [:]
    }

    private let state = Mutex(State())

    func running(_ ino: InodeNumber) -> RestoreJob? { state.withLock { $0.running[ino] } }

    var all: [RestoreJob] { state.withLock { Array($0.running.values) } }

    /// The running restore of `ino`, else one made by `start` (which makes its cache file). A file whose last
    /// restore stalled less than half a second ago fails at once with that restore's error.
    func runningOrStart(_ ino: InodeNumber, _ start: () throws -> RestoreJob) throws -> RestoreJob {
        try state.withLock { state in
            if let job = state.running[ino] { return job }
            if let stall = state.stalled[ino] {
                if ContinuousClock.now - stall.at < .milliseconds(500) { throw stall.error }
                state.stalled[ino] = nil
            }
            let job = try start()
            state.running[ino] = job
            return job
        }
    }

    /// Forgets the restore of `ino` if it is `job` (or, with no job given, whatever runs); true when it was
    /// forgotten here or none ran.
    @discardableResult
    func end(_ ino: InodeNumber, ifItIs job: RestoreJob? = nil) -> Bool {
        state.withLock { state in
            guard let current = state.running[ino] else { return true }
            guard job == nil || current === job else { return false }
            state.running.removeValue(forKey: ino)
            return true
        }
    }

    /// Forgets a stalled restore and remembers why, for the half second its retries fail at once.
    func stalled(_ job: RestoreJob, _ error: FileSystemError) {
        state.withLock { state in
            if state.running[job.ino] === job { state.running.removeValue(forKey: job.ino) }
            state.stalled[job.ino] = (ContinuousClock.now, error)
        }
    }

    /// Runs `body` (a cache file removal) unless a restore of `ino` runs, under the lock restores start with.
    func unlessRunning(_ ino: InodeNumber, _ body: () -> Void) {
        state.withLock { state in
            if state.running[ino] == nil { body() }
        }
    }
}
