import DataRepository
import Foundation
import GRDB
import HSM
#if canImport(Glibc)
import Glibc
#endif

/// One restore of a released file: parallel ranged GETs into a sparse cache file, a bounded number in
/// flight. Every reader of the file shares it, and a reader waits only for the chunks its range covers
/// (the chunk a reader asks for jumps the queue).
final class RestoreJob: @unchecked Sendable {
    let ino: InodeNumber
    let size: Int64
    let chunkBytes: Int64
    let fd: Int32
    private let lock = NSLock()
    private var arrived: [Bool]
    private var arrivedCount = 0
    private var started: [Bool]
    private var demanded: [Int] = []
    private var nextSequential = 0
    private var failure: (any Error)?
    private var finished = false
    private(set) var bytesMoved: Int64 = 0
    let signal = Signal()
    var task: Task<Void, Never> = Task {}

    init(ino: InodeNumber, size: Int64, chunkBytes: Int64, fd: Int32) {
        self.ino = ino
        self.size = size
        self.chunkBytes = chunkBytes
        self.fd = fd
        let chunks = Int((size + chunkBytes - 1) / chunkBytes)
        arrived = Array(repeating: false, count: chunks)
        started = Array(repeating: false, count: chunks)
    }

    deinit { close(fd) }

    var chunkCount: Int { arrived.count }

    func range(of chunk: Int) -> Range<Int64> {
        let start = Int64(chunk) * chunkBytes
        return start..<min(size, start + chunkBytes)
    }

    /// The next chunk to fetch: one a reader is waiting for first, then the next in file order.
    func nextChunk() -> Int? {
        lock.withLock {
            guard failure == nil else { return nil }
            while let chunk = demanded.first {
                demanded.removeFirst()
                if !started[chunk] {
                    started[chunk] = true
                    return chunk
                }
            }
            while nextSequential < started.count && started[nextSequential] { nextSequential += 1 }
            guard nextSequential < started.count else { return nil }
            started[nextSequential] = true
            return nextSequential
        }
    }

    func arrived(_ chunk: Int, bytes: Int64) {
        lock.withLock {
            arrived[chunk] = true
            arrivedCount += 1
            bytesMoved += bytes
        }
        signal.fire()
    }

    func moved(_ bytes: Int64) {
        lock.withLock { bytesMoved += bytes }
    }

    var allArrived: Bool { lock.withLock { arrivedCount == arrived.count } }

    func fail(_ error: any Error) {
        lock.withLock {
            if failure == nil { failure = error }
            finished = true
        }
        signal.fire()
    }

    func finish() {
        lock.withLock { finished = true }
        signal.fire()
    }

    var progress: Int64 { lock.withLock { bytesMoved } }

    /// Waits until every byte of `range` is in the cache file.
    func waitFor(_ range: Range<Int64>) async throws {
        guard !range.isEmpty else { return }
        let first = Int(range.lowerBound / chunkBytes)
        let last = Int((range.upperBound - 1) / chunkBytes)
        lock.withLock {
            for chunk in first...last where !started[chunk] && !demanded.contains(chunk) { demanded.append(chunk) }
        }
        while true {
            let seen = signal.current
            let (ready, error) = lock.withLock { () -> (Bool, (any Error)?) in
                if let failure { return (false, failure) }
                return ((first...last).allSatisfy { arrived[$0] }, nil)
            }
            if let error { throw error }
            if ready { return }
            await signal.wait(after: seen)
        }
    }

    /// Waits until the restore finished (all data local and the MDT updated) or failed.
    func waitUntilFinished() async throws {
        while true {
            let seen = signal.current
            let (done, error) = lock.withLock { (finished, failure) }
            if let error { throw error }
            if done { return }
            await signal.wait(after: seen)
        }
    }
}

extension FileSystem {
    /// hsm_restore and the implicit restore of a first read. With `wait`, returns when the data is local.
    public func restore(_ ino: InodeNumber, wait: Bool) async throws {
        let inode = try await attributes(ino)
        let path = (try? await store.pool.read { db in try db.path(of: ino) }) ?? "inode \(ino)"
        do {
            _ = try HSMRules.restore(inode.hsm, HSMFileFacts(isRegularFile: inode.type == .regular))
        } catch {
            throw FileSystemError(error, path: path)
        }
        guard inode.isReleased, let job = try await restoreJob(for: ino) else { return }
        if wait { try await job.waitUntilFinished() }
    }

    /// The running restore of a released file, started if there is none; nil when the file is not released
    /// (any more: a restore may just have finished).
    func restoreJob(for ino: InodeNumber) async throws -> RestoreJob? {
        if let job = state.withLock({ $0.restores[ino] }) { return job }
        let inode = try await attributes(ino)
        guard inode.isReleased else { return nil }
        guard let key = inode.archivedKey else {
            throw FileSystemError.io("inode \(ino) is released but has no archived copy (lost)")
        }
        guard let path = try await store.pool.read({ db in try db.path(of: ino) }),
              let (association, _) = association(containing: path, type: .regular) ?? associationOwning(key: key) else {
            throw FileSystemError.io("inode \(ino) is released but belongs to no data repository association")
        }
        let repository = try repository(for: association)
        return try state.withLock { state -> RestoreJob? in
            if let job = state.restores[ino] { return job }
            // A released file has no trusted local bytes; start from an empty sparse file.
            cache.remove(ino)
            let fd = try cache.open(ino, create: true)
            guard ftruncate(fd, off_t(inode.size)) == 0 else {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw FileSystemError.io("cannot size the local data of inode \(ino): \(reason)")
            }
            let job = RestoreJob(ino: ino, size: inode.size, chunkBytes: options.restoreChunkBytes, fd: fd)
            state.restores[ino] = job
            job.task = Task { await self.runRestore(job, inode: inode, key: key, repository: repository) }
            return job
        }
    }

    func associationOwning(key: String) -> (Association, String)? {
        state.withLock { state in
            state.associations.first { key.hasPrefix($0.location.prefix) && $0.lifecycle != .failed }.map { ($0, key) }
        }
    }

    func runRestore(_ job: RestoreJob, inode: Inode, key: String, repository: any DataRepository) async {
        let ino = job.ino
        do {
            try reserve(inode.size, for: "restoring inode \(ino)")
        } catch {
            job.fail(error)
            cache.remove(ino)
            _ = state.withLock { $0.restores.removeValue(forKey: ino) }
            return
        }
        do {
            let workers = max(1, min(options.restoreConcurrency, job.chunkCount))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<workers {
                    group.addTask {
                        while let chunk = job.nextChunk() {
                            try Task.checkCancellation()
                            let range = job.range(of: chunk)
                            let fd = job.fd
                            try await repository.read(key: key, range: range, etag: inode.archivedEtag) { offset, bytes in
                                try PositionalIO.write(fd, bytes, at: offset)
                                job.moved(Int64(bytes.count))
                            }
                            job.arrived(chunk, bytes: 0)
                        }
                    }
                }
                try await group.waitForAll()
            }
            guard job.allArrived else { throw CancellationError() }
            // On disk before the MDT says the data is local.
            fdatasync(job.fd)
            let now = nowNanoseconds()
            let restored = try await store.pool.write { db -> Bool in
                guard var fresh = try db.inode(ino), fresh.isReleased, fresh.archivedEtag == inode.archivedEtag,
                      fresh.size == inode.size else { return false }
                fresh.hsmFlags &= ~HSMFlags.released.rawValue
                fresh.atime = now
                try fresh.update(db)
                return true
            }
            guard restored else {
                throw FileSystemError.io("inode \(ino) changed in the repository during its restore; read it again")
            }
            try? attachDescriptor(ino)
            _ = state.withLock { $0.restores.removeValue(forKey: ino) }
            job.finish()
        } catch {
            // Nothing local is trusted: the file stays released, the partial data goes.
            try? reserve(-inode.size, for: "")
            _ = state.withLock { $0.restores.removeValue(forKey: ino) }
            let stillReleased = (try? await store.pool.read { db in try db.inode(ino)?.isReleased }) ?? true
            if stillReleased != false { cache.remove(ino) }
            let reported: any Error
            if let repositoryError = error as? RepositoryError {
                reported = FileSystemError.io("restoring inode \(ino) from \(key) failed: \(repositoryError.message)")
            } else if error is CancellationError {
                reported = FileSystemError(EINTR, "the restore of inode \(ino) was interrupted")
            } else {
                reported = error
            }
            logger.error("\(reported)")
            job.fail(reported)
        }
    }
}
