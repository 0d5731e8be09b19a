import HSM
import Synchronization

/// The export worker's view of what is moving now, for `lfs hsm_action` and for queueing: archives in progress
/// (with the bytes moved), archives waiting for a retry after a failure, removals from the repository, and
/// the export queue entries being run.
final class DataMovements: Sendable {
    private struct State {
        var archiving: [InodeNumber: Int64] = [:]
        var waiting: Set<InodeNumber> = []
        var removing: Set<InodeNumber> = []
        var runningEntries: Set<Int64> = []
    }

    private let state = Mutex(State())

    func archiveStarted(_ ino: InodeNumber) { state.withLock { $0.archiving[ino] = 0 } }
    func archiveMoved(_ ino: InodeNumber, bytes: Int64) { state.withLock { $0.archiving[ino] = bytes } }
    func archiveEnded(_ ino: InodeNumber) { state.withLock { _ = $0.archiving.removeValue(forKey: ino) } }

    /// An export of the inode failed and waits for its next attempt (or no longer does).
    func archiveWaits(_ ino: InodeNumber, _ waits: Bool) {
        state.withLock { state in
            if waits { state.waiting.insert(ino) } else { state.waiting.remove(ino) }
        }
    }

    func removalStarted(_ ino: InodeNumber) { state.withLock { _ = $0.removing.insert(ino) } }
    func removalEnded(_ ino: InodeNumber) { state.withLock { _ = $0.removing.remove(ino) } }

    /// Export queue entries being run now (a new change must queue another entry, not ride on these).
    var runningEntries: Set<Int64> { state.withLock { $0.runningEntries } }
    func entryStarted(_ seq: Int64) { state.withLock { _ = $0.runningEntries.insert(seq) } }
    func entryEnded(_ seq: Int64) { state.withLock { _ = $0.runningEntries.remove(seq) } }

    /// What moves for the inode toward the repository, if anything.
    func action(for ino: InodeNumber) -> HSMAction? {
        state.withLock { state in
            if let bytes = state.archiving[ino] { return .archive(bytesMoved: bytes) }
            if state.waiting.contains(ino) { return .archiveWaiting }
            if state.removing.contains(ino) { return .remove(bytesMoved: 0) }
            return nil
        }
    }
}
