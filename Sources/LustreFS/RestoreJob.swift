import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One restore of a released file into a sparse cache file. The bulk moves by the repository's fastest
/// download (for S3: one stream, split into parallel ranged GETs when that stream is slow), and every range
/// written is recorded, so a reader waits only for the bytes it asked for. A reader far ahead of what has
/// arrived gets its range fetched on the side. Every reader of the file shares the one restore.
final class RestoreJob: Sendable {
    let ino: InodeNumber
    let size: Int64
    let chunkBytes: Int64
    let fd: Int32
    let signal = Signal()

    private struct Progress {
        /// Sorted, merged ranges already in the cache file.
        var arrived: [Range<Int64>] = []
        var sideFetches: [Range<Int64>] = []
        var failure: (any Error)?
        var finished = false
        var bytesMoved: Int64 = 0
        /// Ranges readers wait for; a write wakes them only when one of these became complete.
        var wanted: [Range<Int64>] = []
        var waiting = 0
        /// Bytes written since writeback was last started (see `Writeback`).
        var unsynced: Int64 = 0
        /// When the last byte arrived (or the job started), for the stall bound.
        var lastProgress = ContinuousClock.now
        /// Set once the data is all here and the MDT is being updated: too late to abandon the job.
        var committing = false
        /// Starts a side fetch for a range (set by the file system when it starts the job, cleared at its end).
        var sideFetcher: (@Sendable (Range<Int64>) -> Void)?
        var task: Task<Void, Never>?

        func covered(_ range: Range<Int64>) -> Bool {
            arrived.contains { $0.lowerBound <= range.lowerBound && $0.upperBound >= range.upperBound }
        }
    }

    private let progressState = Mutex(Progress())

    init(ino: InodeNumber, size: Int64, chunkBytes: Int64, fd: Int32) {
        self.ino = ino
        self.size = size
        self.chunkBytes = chunkBytes
        self.fd = fd
    }

    deinit { close(fd) }

    /// The task that runs the restore (set once, when the job starts).
    var task: Task<Void, Never>? { progressState.withLock { $0.task } }
    func setTask(_ task: Task<Void, Never>) { progressState.withLock { $0.task = task } }

    func setSideFetcher(_ fetcher: (@Sendable (Range<Int64>) -> Void)?) {
        progressState.withLock { $0.sideFetcher = fetcher }
    }

    /// Records bytes written at `offset`.
    func wrote(_ offset: Int64, _ count: Int) {
        guard count > 0 else { return }
        let (startWriteback, shouldSignal) = progressState.withLock { state -> (Bool, Bool) in
            Self.insert(offset..<(offset + Int64(count)), into: &state.arrived)
            state.bytesMoved += Int64(count)
            state.lastProgress = ContinuousClock.now
            state.unsynced += Int64(count)
            var startWriteback = false
            if state.unsynced >= Writeback.batch {
                state.unsynced = 0
                startWriteback = true
            }
            guard state.waiting > 0 else { return (startWriteback, false) }
            // Finishers (waitUntilFinished) are woken by finish/fail; readers when their range is complete.
            let before = state.wanted.count
            let arrived = state
            state.wanted.removeAll { arrived.covered($0) }
            return (startWriteback, state.wanted.count != before)
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

    var allArrived: Bool {
        let size = self.size
        return progressState.withLock { $0.covered(0..<size) || size == 0 }
    }
    var progress: Int64 { progressState.withLock { $0.bytesMoved } }

    func fail(_ error: any Error) {
        progressState.withLock { state in
            if state.failure == nil { state.failure = error }
            state.finished = true
        }
        signal.fire()
    }

    func finish() {
        progressState.withLock { $0.finished = true }
        signal.fire()
    }

    /// How long no byte has arrived; nil once the job ended or is committing.
    var stalledFor: Duration? {
        progressState.withLock { $0.finished || $0.committing ? nil : ContinuousClock.now - $0.lastProgress }
    }

    /// Fails the job unless its commit already began; true when it was failed here.
    func abandon(_ error: any Error) -> Bool {
        let abandoned = progressState.withLock { state -> Bool in
            guard !state.committing, !state.finished else { return false }
            state.failure = error
            state.finished = true
            return true
        }
        if abandoned { signal.fire() }
        return abandoned
    }

    /// Claims the right to mark the file restored; false when the job was failed or abandoned meanwhile.
    func beginCommit() -> Bool {
        progressState.withLock { state in
            guard state.failure == nil, !state.finished else { return false }
            state.committing = true
            return true
        }
    }

    /// Waits until every byte of `range` is in the cache file. A range far beyond anything arrived (more
    /// than two chunks past the nearest arrived byte) is fetched on the side rather than waited for.
    func waitFor(_ range: Range<Int64>) async throws {
        guard !range.isEmpty else { return }
        var askedOnTheSide = false
        progressState.withLock { state in
            state.waiting += 1
            state.wanted.append(range)
        }
        defer { progressState.withLock { $0.waiting -= 1 } }
        let (size, chunkBytes) = (self.size, self.chunkBytes)
        while true {
            let seen = signal.current
            let asked = askedOnTheSide
            let (ready, error, side) = progressState.withLock { state -> (Bool, (any Error)?, Range<Int64>?) in
                if state.covered(range) { return (true, nil, nil) }
                if let failure = state.failure { return (false, failure, nil) }
                guard !asked else { return (false, nil, nil) }
                let reached = state.arrived.last { $0.lowerBound <= range.lowerBound }?.upperBound ?? 0
                let alreadyAsked = state.sideFetches.contains { $0.contains(range.lowerBound) }
                if range.lowerBound - reached > 2 * chunkBytes && !alreadyAsked {
                    let fetch = range.lowerBound..<min(size, max(range.upperBound, range.lowerBound + chunkBytes))
                    state.sideFetches.append(fetch)
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
                progressState.withLock { $0.sideFetcher }?(side)
            }
            await signal.wait(after: seen)
        }
    }

    /// Waits until the restore finished (all data local and the MDT updated) or failed.
    func waitUntilFinished() async throws {
        while true {
            let seen = signal.current
            let (done, error) = progressState.withLock { ($0.finished, $0.failure) }
            if let error { throw error }
            if done { return }
            if Task.isCancelled { throw FileSystemError(EINTR, "the wait for the restore was interrupted") }
            progressState.withLock { $0.waiting += 1 }
            await signal.wait(after: seen)
            progressState.withLock { $0.waiting -= 1 }
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
