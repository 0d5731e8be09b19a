import Synchronization

/// The latest committed records of recently used inodes, so a stat on the mount's request threads costs no
/// read transaction. The kernel drops a directory's attributes at every change in it and asks for them again
/// before its next permission check, so each create or unlink in a directory is followed by a stat of that
/// directory, which the change's own transaction has just written here.
///
/// Two rules keep an entry equal to the MDT's row:
/// - Writers publish after their commit, from the writer's queue (`CommitActions`), so in commit order: the
///   whole record when they wrote one, otherwise the entry goes.
/// - A reader that missed fills the entry only when nothing was published since before its snapshot began;
///   otherwise its snapshot may predate a commit and the record is dropped (the next stat reads it again).
/// Only this process writes the MDT (the file system directory is locked), so nothing changes behind it.
final class InodeCache: Sendable {
    private struct State {
        var entries: [InodeNumber: Inode] = [:]
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Records kept at most; past it the cache starts again empty (a miss only costs a read).
    private let capacity: Int

    init(capacity: Int = 32_768) {
        self.capacity = capacity
    }

    func get(_ ino: InodeNumber) -> Inode? {
        state.withLock { $0.entries[ino] }
    }

    /// To take before a read whose result may fill the cache (`fill`).
    var generation: UInt64 {
        state.withLock { $0.generation }
    }

    /// Keeps a record read in a snapshot begun after `generation` was taken, unless a commit was published since.
    func fill(_ inode: Inode, readAfter generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation else { return }
            Self.store(inode, in: &state, capacity: capacity)
        }
    }

    /// A commit wrote `ino`: its new record, or nil when the commit deleted it or changed only some columns.
    func published(_ ino: InodeNumber, _ inode: Inode?) {
        state.withLock { state in
            state.generation &+= 1
            if let inode {
                Self.store(inode, in: &state, capacity: capacity)
            } else {
                state.entries.removeValue(forKey: ino)
            }
        }
    }

    private static func store(_ inode: Inode, in state: inout State, capacity: Int) {
        if state.entries.count >= capacity && state.entries[inode.ino] == nil {
            state.entries.removeAll(keepingCapacity: true)
        }
        state.entries[inode.ino] = inode
    }
}
