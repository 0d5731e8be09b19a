import GRDB
import Synchronization

/// Group commit: writes that arrive while the writer is busy share its next transaction, each in a savepoint of
/// its own, so many small concurrent writes (an import's 64 HeadObject results at a time, the export worker's
/// bookkeeping) cost one commit and one trip to the writer's queue instead of one each.
///
/// A body that throws rolls back its own savepoint only, and its caller gets its error; the others commit. A
/// failed commit fails every caller of the batch. Callers resume after the commit, as with `pool.write`; the
/// work a body leaves for after the commit runs only if its savepoint was kept.
final class GroupCommit: Sendable {
    private struct Item: Sendable {
        /// Runs the body in a savepoint and keeps its outcome.
        let run: @Sendable (Database, CommitActions) -> Void
        /// Resumes the caller with the kept outcome, or with the commit's error.
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var items: [Item] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let inodes: InodeCache
    private let exportQueued: Signal
    private let state = Mutex(State())
    /// Bodies per transaction: bounds how long one transaction holds the writer.
    private let batchLimit = 256

    init(pool: DatabasePool, inodes: InodeCache, exportQueued: Signal) {
        self.pool = pool
        self.inodes = inodes
        self.exportQueued = exportQueued
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (MetadataTransaction) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            let item = Item(
                run: { db, actions in
                    let mark = actions.count
                    do {
                        let value = try db.inCachedSavepoint { try body(MetadataTransaction(db, commitActions: actions)) }
                        outcome.withLock { $0 = .success(value) }
                    } catch {
                        actions.truncate(to: mark)
                        outcome.withLock { $0 = .failure(error) }
                    }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else if let result = outcome.withLock({ $0 }) {
                        continuation.resume(with: result)
                    } else {
                        continuation.resume(throwing: CancellationError())
                    }
                })
            let lead = state.withLock { state -> Bool in
                state.items.append(item)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if lead { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Item] in
                let taken = Array(state.items.prefix(batchLimit))
                state.items.removeFirst(taken.count)
                if taken.isEmpty { state.draining = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                try await pool.writeWithoutTransaction { db in
                    let actions = CommitActions(inodes: inodes, exportQueued: exportQueued)
                    try db.inCachedTransaction("BEGIN IMMEDIATE TRANSACTION") {
                        for item in batch { item.run(db, actions) }
                    }
                    actions.run()
                }
                for item in batch { item.finish(nil) }
            } catch {
                for item in batch { item.finish(error) }
            }
        }
    }
}
