import DataRepository
import Foundation
import HSM

#if canImport(Glibc)
import Glibc
#endif

/// One restore of a released file into a sparse cache file. The bulk moves by the repository's fastest
/// download (for S3: one stream, split into parallel ranged GETs when that stream is slow), and every range
/// written is recorded, so a reader waits only for the bytes it asked for. A reader far ahead of what has
/// arrived gets its range fetched on the side. Every reader of the file shares the one restore.
final class RestoreJob: @unchecked Sendable {
    let ino: InodeNumber
    let size: Int64
    let chunkBytes: Int64
    let fd: Int32
    private let lock = NSLock()
    /// Sorted, merged ranges already in the cache file.
    private var arrived: [Range<Int64>] = []
    private var sideFetches: [Range<Int64>] = []
    private var failure: (any Error)?
    private var finished = false
    private var bytesMoved: Int64 = 0
    /// Ranges readers wait for; a write wakes them only when one of these became complete.
    private var wanted: [Range<Int64>] = []
    private var waiting = 0
    /// Bytes written since writeback was last started (see `Writeback`).
    private var unsynced: Int64 = 0
    /// When the last byte arrived (or the job started), for the stall bound.
    private var lastProgress = ContinuousClock.now
    /// Set once the data is all here and the MDT is being updated: too late to abandon the job.
    private var committing = false
    let signal = Signal()
    var task: Task<Void, Never> = Task {}
    /// Starts a side fetch for a range (set by the file system when it starts the job, cleared at its end).
    private var sideFetcher: (@Sendable (Range<Int64>) -> Void)?

    func setSideFetcher(_ fetcher: (@Sendable (Range<Int64>) -> Void)?) {
        lock.withLock { sideFetcher = fetcher }
    }

    init(ino: InodeNumber, size: Int64, chunkBytes: Int64, fd: Int32) {
        self.ino = ino
        self.size = size
        self.chunkBytes = chunkBytes
        self.fd = fd
    }

    deinit { close(fd) }

    /// Records bytes written at `offset`.
    func wrote(_ offset: Int64, _ count: Int) {
        guard count > 0 else { return }
        var startWriteback = false
        let shouldSignal = lock.withLock { () -> Bool in
            Self.insert(offset..<(offset + Int64(count)), into: &arrived)
            bytesMoved += Int64(count)
            lastProgress = ContinuousClock.now
            unsynced += Int64(count)
            if unsynced >= Writeback.batch {
                unsynced = 0
                startWriteback = true
            }
            guard waiting > 0 else { return false }
            // Finishers (waitUntilFinished) are woken by finish/fail; readers when their range is complete.
            let before = wanted.count
            wanted.removeAll { covered($0) }
            return wanted.count != before
        }
        if startWriteback { Writeback.start(fd) }
        if shouldSignal { signal.fire() }
    }

    static func insert(_ range: Range<Int64>, into ranges: inout [Range<Int64>]) {
        var merged = range
        let index = ranges.firstIndex { $0.upperBound >= range.lowerBound } ?? ranges.count
        while index < ranges.count && ranges[index].lowerBound <= merged.upperBound {
            merged = min(merged.lowerBound, ranges[index].lowerBound)..<max(merged.upperBound, ranges[index].upperBound)
            ranges.remove(at: index)
        }
        ranges.insert(merged, at: index)
    }

    func covered(_ range: Range<Int64>) -> Bool {
        arrived.contains { $0.lowerBound <= range.lowerBound && $0.upperBound >= range.upperBound }
    }

    var allArrived: Bool { lock.withLock { covered(0..<size) || size == 0 } }
    var progress: Int64 { lock.withLock { bytesMoved } }

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

    /// How long no byte has arrived; nil once the job ended or is committing.
    var stalledFor: Duration? {
        lock.withLock { finished || committing ? nil : ContinuousClock.now - lastProgress }
    }

    /// Fails the job unless its commit already began; true when it was failed here.
    func abandon(_ error: any Error) -> Bool {
        let abandoned = lock.withLock { () -> Bool in
            guard !committing, !finished else { return false }
            failure = error
            finished = true
            return true
        }
        if abandoned { signal.fire() }
        return abandoned
    }

    /// Claims the right to mark the file restored; false when the job was failed or abandoned meanwhile.
    func beginCommit() -> Bool {
        lock.withLock {
            guard failure == nil, !finished else { return false }
            committing = true
            return true
        }
    }

    /// Waits until every byte of `range` is in the cache file. A range far beyond anything arrived (more
    /// than two chunks past the nearest arrived byte) is fetched on the side rather than waited for.
    func waitFor(_ range: Range<Int64>) async throws {
        guard !range.isEmpty else { return }
        var askedOnTheSide = false
        lock.withLock {
            waiting += 1
            wanted.append(range)
        }
        defer { lock.withLock { waiting -= 1 } }
        while true {
            let seen = signal.current
            let (ready, error, side) = lock.withLock { () -> (Bool, (any Error)?, Range<Int64>?) in
                if covered(range) { return (true, nil, nil) }
                if let failure { return (false, failure, nil) }
                guard !askedOnTheSide else { return (false, nil, nil) }
                let reached = arrived.last { $0.lowerBound <= range.lowerBound }?.upperBound ?? 0
                let alreadyAsked = sideFetches.contains { $0.contains(range.lowerBound) }
                if range.lowerBound - reached > 2 * chunkBytes && !alreadyAsked {
                    let fetch = range.lowerBound..<min(size, max(range.upperBound, range.lowerBound + chunkBytes))
                    sideFetches.append(fetch)
                    return (false, nil, fetch)
                }
                return (false, nil, nil)
            }
            if ready { return }
            if let error { throw error }
            // The reader was interrupted (FUSE_INTERRUPT cancels its request's task): the restore goes on.
            if Task.isCancelled { throw FileSystemError(EINTR, "the read was interrupted") }
            if let side {
                askedOnTheSide = true
                lock.withLock { sideFetcher }?(side)
            }
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
            if Task.isCancelled { throw FileSystemError(EINTR, "the wait for the restore was interrupted") }
            lock.withLock { waiting += 1 }
            await signal.wait(after: seen)
            lock.withLock { waiting -= 1 }
        }
    }
}

extension FileSystem {
    /// hsm_restore and the implicit restore of a first read. With `wait`, returns when the data is local.
    public func restore(_ ino: InodeNumber, wait: Bool) async throws {
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
        if let job = state.withLock({ $0.restores[ino] }) { return job }
        let inode = try await attributes(ino)
        guard inode.isReleased else { return nil }
        guard let key = inode.archivedKey else {
            throw FileSystemError.io("inode \(ino) is released but has no archived copy (lost)")
        }
        guard let path = try await store.read({ db in try db.path(of: ino) }),
            let association = associationOwning(key: key, at: path, type: .regular)
        else {
            throw FileSystemError.io("inode \(ino) is released but belongs to no data repository association")
        }
        let repository = try repository(for: association)
        let readTimeout = association.readTimeoutSeconds ?? options.readStallSeconds
        return try state.withLock { state -> RestoreJob? in
            if let job = state.restores[ino] { return job }
            if let stall = state.stalled[ino] {
                if ContinuousClock.now - stall.at < .milliseconds(500) { throw stall.error }
                state.stalled[ino] = nil
            }
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
            job.task = Task { await self.runRestore(job, inode: inode, key: key, repository: repository, readTimeout: readTimeout) }
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
        let candidates = state.withLock { state in
            // A deleting association still holds its objects (its released files stay readable until it is gone).
            state.associations.filter { key.hasPrefix($0.location.prefix) && $0.lifecycle != .failed }
        }
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
            _ = state.withLock { $0.restores.removeValue(forKey: ino) }
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
            // On disk before the MDT says the data is local.
            fdatasync(job.fd)
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
            try? attachDescriptor(ino)
            _ = state.withLock { $0.restores.removeValue(forKey: ino) }
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
            let ours = state.withLock { state -> Bool in
                guard state.restores[ino] === job || state.restores[ino] == nil else { return false }
                state.restores.removeValue(forKey: ino)
                return true
            }
            let stillReleased = (try? await store.read { db in try db.inode(ino)?.isReleased }) ?? true
            if ours && stillReleased != false {
                // Under the lock that a new restore takes to create its cache file, so never that file.
                state.withLock { state in
                    if state.restores[ino] == nil { cache.remove(ino) }
                }
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
            state.withLock { state in
                if state.restores[job.ino] === job { state.restores.removeValue(forKey: job.ino) }
                state.stalled[job.ino] = (ContinuousClock.now, error)
            }
            job.task.cancel()
            return
        }
    }
}

/// Starts the kernel writing a restore's data to disk while the rest still arrives, so the fdatasync that
/// must precede clearing RELEASED has little left to wait for. sync_file_range(SYNC_FILE_RANGE_WRITE) only
/// queues the writeback; Swift's Glibc module does not export it, so it is looked up at run time.
enum Writeback {
    static let batch: Int64 = 8 << 20
    typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    static let syncFileRange: SyncFileRange? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: SyncFileRange.self)
    }()

    static func start(_ fd: Int32) {
        // SYNC_FILE_RANGE_WRITE (2) over the whole file (offset 0, length 0).
        _ = syncFileRange?(fd, 0, 0, 2)
    }
}
