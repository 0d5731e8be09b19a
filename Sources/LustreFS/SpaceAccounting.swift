import Synchronization

/// The capacity every byte of local data counts against (StorageCapacity): what cache files hold, and what a
/// transaction freed, which returns to the pool only once that transaction committed.
final class SpaceAccounting: Sendable {
    let capacity: Int64
    private let state = Mutex((used: Int64(0), freedUncommitted: Int64(0)))

    init(capacity: Int64) {
        self.capacity = capacity
    }

    var used: Int64 { state.withLock { max(0, $0.used) } }

    /// After recovery: what the MDT says local data holds.
    func start(used: Int64) { state.withLock { $0.used = used } }

    /// Claims `bytes` (negative frees), failing with ENOSPC when the file system is full.
    func reserve(_ bytes: Int64, for what: String) throws {
        try state.withLock { state in
            if bytes > 0 && state.used + bytes > capacity {
                throw FileSystemError.noSpace(
                    "\(what) needs \(bytes) bytes; the file system has \(max(0, capacity - state.used)) of \(capacity) left")
            }
            state.used += bytes
        }
    }

    func free(_ bytes: Int64) { state.withLock { $0.used -= bytes } }

    /// Space of local copies dropped inside a transaction that has not committed yet.
    func freeAfterCommit(_ bytes: Int64) { state.withLock { $0.freedUncommitted += bytes } }

    /// The transaction committed: what it freed returns.
    func commitFreed() {
        state.withLock { state in
            state.used -= state.freedUncommitted
            state.freedUncommitted = 0
        }
    }
}
