import DataRepository
import Foundation
import HSM

#if canImport(Glibc)
import Glibc
#endif

extension FileSystem {
    /// hsm_restore and the implicit restore of a first read. With `wait`, returns when the data is local.
    package func restore(_ ino: InodeNumber, wait: Bool) async throws {
        let inode = try await attributes(ino)
        let path = (try? await store.read { db in try db.path(of: ino) }) ?? "inode \(ino)"
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
        if let job = restores.running(ino) { return job }
        let inode = try await attributes(ino)
        guard inode.isReleased else { return nil }
        guard let key = inode.archivedKey else {
            throw FileSystemError.io("inode \(ino) is released but has no archived copy (lost)")
        }
        // An unlinked file still open has no path: the association whose prefix holds its key owns it.
        let path = try await store.read { db in try db.path(of: ino) }
        guard let association = associationOwning(key: key, at: path, type: .regular) else {
            throw FileSystemError.io("inode \(ino) is released but belongs to no data repository association")
        }
        let repository = try repository(for: association)
        let readTimeout = association.readTimeoutSeconds ?? options.readStallSeconds
        return try restores.runningOrStart(ino) {
            // A released file has no trusted local bytes; start from an empty sparse file.
            cache.remove(ino)
            let fd = try cache.open(ino, create: true)
            guard ftruncate(fd, off_t(inode.size)) == 0 else {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw FileSystemError.io("cannot size the local data of inode \(ino): \(reason)")
            }
            let job = RestoreJob(ino: ino, size: inode.size, chunkBytes: options.restoreChunkBytes, fd: fd)
            job.setTask(Task { await self.runRestore(job, inode: inode, key: key, repository: repository, readTimeout: readTimeout) })
            return job
        }
    }

    /// The association whose repository holds a file's archived copy `key`: the one containing the file's
    /// path, else (a file renamed out of its association) the only live association whose prefix holds the
    /// key. Two associations on different repositories can share a prefix (s3://a/data/ and s3://b/data/,
    /// or two directories), so when several match, a key alone names no repository and the answer is nil
    /// rather than a guess that would read, or delete, another repository's object.
    func associationOwning(key: String, at path: String?, type: FileType) -> Association? {
        if let path, let (association, _) = association(containing: path, type: type), key.hasPrefix(association.location.prefix) {
            return association
        }
        // A deleting association still holds its objects (its released files stay readable until it is gone).
        let candidates = associationTable.filter { key.hasPrefix($0.location.prefix) && $0.lifecycle != .failed }
        return candidates.count == 1 ? candidates[0] : nil
    }

    /// What a reader of a failed restore is told: always a file system error (EIO, or EINTR for a cancel),
    /// with the repository's reason, whatever layer failed (the repository, the wire, a throttled endpoint).
    static func restoreFailure(_ error: any Error, ino: InodeNumber, key: String) -> FileSystemError {
        switch error {
        case let failure as FileSystemError: return failure
        case let failure as RepositoryError: return .io("restoring inode \(ino) from \(key) failed: \(failure.message)")
        case is CancellationError: return FileSystemError(EINTR, "the restore of inode \(ino) was interrupted")
        default: return .io("restoring inode \(ino) from \(key) failed: \(error)")
        }
    }

    func runRestore(_ job: RestoreJob, inode: Inode, key: String, repository: any DataRepository, readTimeout: Double) async {
        let ino = job.ino
        do {
            try space.reserve(inode.size, for: "restoring inode \(ino)")
        } catch {
            job.fail(error)
            cache.remove(ino)
            restores.end(ino)
            return
        }
        // Side fetches for readers far ahead run beside the bulk transfer; their failures fail the job.
        let sides = Locked<[Task<Void, Never>]>([])
        do {
            let etag = inode.archivedEtag
            let fd = job.fd
            // Cleared when the restore ends, which breaks the job → fetcher → job cycle.
            job.setSideFetcher { range in
                let side = Task {
                    do {
                        try await repository.read(key: key, range: range, etag: etag) { offset, bytes in
                            try PositionalIO.write(fd, bytes, at: offset)
                            job.wrote(offset, bytes.count)
                        }
                    } catch {
                        job.fail(Self.restoreFailure(error, ino: ino, key: key))
                    }
                }
                sides.withLock { $0.append(side) }
            }
            defer { job.setSideFetcher(nil) }
            let watchdog = Task { await self.watchForStall(job, key: key, repository: repository, limit: readTimeout) }
            defer { watchdog.cancel() }
            try await withTaskCancellationHandler {
                try await repository.download(key: key, size: inode.size, etag: etag, into: fd) { offset, count in
                    job.wrote(offset, count)
                }
            } onCancel: {
                for side in sides.withLock({ $0 }) { side.cancel() }
            }
            for side in sides.withLock({ $0 }) { await side.value }
            guard job.allArrived, job.beginCommit() else { throw CancellationError() }
            // On disk before the MDT says the data is local; data the disk refused leaves the file released.
            guard fdatasync(job.fd) == 0 else {
                throw FileSystemError.io("syncing the restored data of inode \(ino) to disk failed: \(String(cString: strerror(errno)))")
            }
            let now = nowNanoseconds()
            let restored = try await store.write { db -> Bool in
                guard var fresh = try db.inode(ino), fresh.isReleased, fresh.archivedEtag == inode.archivedEtag,
                    fresh.size == inode.size
                else { return false }
                fresh.hsmFlags &= ~HSMFlags.released.rawValue
                fresh.atime = now
                try db.update(fresh)
                return true
            }
            guard restored else {
                throw FileSystemError.io("inode \(ino) changed in the repository during its restore; read it again")
            }
            noteExternal(.attributes(ino))
            externalChanges.tell()
            // A descriptor that cannot be attached now is attached by the next read, which finds the file local.
            try? attachDescriptor(ino)
            restores.end(ino)
            job.finish()
        } catch {
            // No side fetch may write into the cache file once the job has ended: a new restore, or a truncate
            // that discarded the released data, owns it next.
            let running = sides.withLock { $0 }
            for side in running { side.cancel() }
            for side in running { await side.value }
            // Nothing local is trusted: the file stays released, the partial data goes, unless a newer restore
            // of the file (started after this one was abandoned for a stall) owns the cache file by now.
            space.free(inode.size)
            let ours = restores.end(ino, ifItIs: job)
            let stillReleased = (try? await store.read { db in try db.inode(ino)?.isReleased }) ?? true
            if ours && stillReleased != false {
                // Under the lock that a new restore takes to create its cache file, so never that file.
                restores.unlessRunning(ino) { cache.remove(ino) }
            }
            let reported = Self.restoreFailure(error, ino: ino, key: key)
            logger.error("\(reported)")
            // A job whose commit had begun cannot be abandoned, but it failed all the same.
            if !job.abandon(reported) { job.fail(reported) }
        }
    }

    /// Fails a restore that received nothing for `seconds` (the association's read timeout, else the file
    /// system's): its readers get EIO at once, the next read of the file starts a new one, and the stuck
    /// transfer is cancelled.
    func watchForStall(_ job: RestoreJob, key: String, repository: any DataRepository, limit seconds: Double) async {
        let limit = Duration.milliseconds(Int64(seconds * 1000))
        let tick = Duration.milliseconds(Int64(min(1000, max(50, seconds * 250))))
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            guard let stalled = job.stalledFor else { return }
            guard stalled >= limit else { continue }
            let error = FileSystemError.io(
                "restoring inode \(job.ino) from \(repository.displayName)\(key): no data arrived for \(String(format: "%g", seconds)) s")
            guard job.abandon(error) else { return }
            logger.error("\(error)")
            restores.stalled(job, error)
            job.task?.cancel()
            return
        }
    }
}
