import DataRepository
import Foundation
import HSM
import Logging

#if canImport(Glibc)
import Glibc
#endif

package struct FileSystemOptions: Sendable {
    /// StorageCapacity in bytes; writes and restores beyond it fail with ENOSPC.
    package var capacityBytes: Int64
    /// The size of a side fetch for a reader far ahead of a running restore (the bulk moves by the
    /// repository's own download, see `DataRepository.download`).
    package var restoreChunkBytes: Int64 = 8 << 20
    /// HeadObject calls in flight while importing.
    package var headConcurrency: Int = 64
    package var exportConcurrency: Int = 8
    /// Long-poll wait of the auto-import event feed.
    package var eventWaitSeconds: Int = 20
    /// Seconds between reconciliation sweeps of associations with an AutoImportPolicy (nil: none).
    package var sweepIntervalSeconds: Double? = 300
    /// Starts the export worker, event feeds and sweeps (the admin tool's one-shot commands turn them off).
    package var background: Bool = true
    /// Seconds a restore may go without receiving a byte before it fails and its readers get EIO (the
    /// endpoint stopped answering with its connections open). Other files and metadata are not affected.
    package var readStallSeconds: Double = 60
    /// Seconds `close` waits for cancelled background work (an upload to a frozen endpoint) before it goes on.
    package var closeGraceSeconds: Double = 5

    package init(capacityBytes: Int64) {
        self.capacityBytes = capacityBytes
    }
}

/// A change the kernel did not see happen (it came from the data repository).
package enum ExternalChange: Sendable, Hashable {
    /// A name appeared in or vanished from a directory.
    case entry(parent: InodeNumber, name: String)
    /// An inode's attributes or data changed.
    case inode(InodeNumber)
    /// Only an inode's attributes changed (its cached pages stay true): a restore's commit moves st_blocks
    /// and atime of data the kernel may just have read.
    case attributes(InodeNumber)
}

/// What an open file handle refers to.
package typealias HandleID = UInt64

package struct OpenMode: Sendable, Hashable {
    package var write: Bool
    package var truncate: Bool
    package init(write: Bool = false, truncate: Bool = false) {
        self.write = write
        self.truncate = truncate
    }
    package static let read = OpenMode()
}

/// The fallocate(2) modes the file system takes: those tmpfs takes (FALLOC_FL_KEEP_SIZE, and
/// FALLOC_FL_PUNCH_HOLE with it); the kernel itself refuses a hole punched without KEEP_SIZE.
package struct AllocateMode: OptionSet, Sendable, Hashable {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }
    package static let keepSize = AllocateMode(rawValue: 0x01)
    package static let punchHole = AllocateMode(rawValue: 0x02)
}

/// Changes of a setattr call; nil leaves the attribute alone.
package struct AttributeChanges: Sendable, Hashable {
    package var perm: UInt32?
    package var uid: UInt32?
    package var gid: UInt32?
    package var size: Int64?
    package var atime: Int64?
    package var mtime: Int64?
    package init(perm: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: Int64? = nil, atime: Int64? = nil, mtime: Int64? = nil) {
        self.perm = perm
        self.uid = uid
        self.gid = gid
        self.size = size
        self.atime = atime
        self.mtime = mtime
    }
}

/// Space and inode counts for statfs and `lfs df`.
package struct Usage: Sendable, Hashable {
    package var capacityBytes: Int64
    package var usedBytes: Int64
    package var inodes: Int64
    package var availableBytes: Int64 { max(0, capacityBytes - usedBytes) }
}

/// The file system core: one MDT, one data cache, and the data mover between them and the data
/// repositories of its associations. Thread-safe: the FUSE adapter calls it from many threads at once.
///
/// Invariants (what crash safety rests on):
/// - A file flagged RELEASED has no trusted local data; its cache file, if any, is a restore in progress and
///   is deleted on recovery. RELEASED is cleared only after every byte arrived and was synced.
/// - A file not RELEASED has all its data in its cache file; the cache file's size is the file's size.
/// - ARCHIVED without DIRTY is set only by a finished export or import, for the data version it copied.
/// - Exports to do are rows of the MDT's export queue, committed with the change that caused them.
package final class FileSystem: Sendable {
    package let directory: String
    package let options: FileSystemOptions
    let store: MetadataStore
    let cache: DataCache
    let repositories: any RepositoryFactory
    let logger: Logger
    let lockDescriptor: Int32
    let state = Locked(RuntimeState())
    /// Wakes the export worker: the MDT fires it after every commit that queued an entry; others fire it to
    /// have the queue looked at again (a wait for exports, a retry falling due).
    var exportSignal: Signal { store.exportQueued }
    /// Writes and deletes of one repository key, one at a time (see `KeyLocks`).
    let keyLocks = KeyLocks()
    /// This process's own recent changes to the repository, which auto-import must not take for news.
    let echoes = EchoFilter()
    /// StorageCapacity and what local data holds of it.
    let space: SpaceAccounting
    /// Archives and removals in progress, and the export entries being run.
    let movements = DataMovements()
    let transfers = TransferCounters()
    /// The restores of released files running now.
    let restores = Restores()
    /// The data repository associations and their repository clients.
    let associationTable = AssociationTable()
    /// Changes from the repository's side, for the mount to drop from the kernel's caches.
    let externalChanges = ExternalChanges()
    /// Open handles and the files they refer to.
    let openTable = Locked(OpenFileTable.Entries())
    /// The export worker, sweeps and event feeds, which `close` cancels.
    let background = Locked(BackgroundTasks())
    let exportDrained = Signal()
    /// Fired when an association or a data repository task record changes, for the calls that wait on them.
    let recordsChanged = Signal()
    let associationSerial = SerialRunner()
    let associationRequests = RequestQueue()
    let taskSerial = SerialRunner()

    typealias OpenFile = OpenFileTable.OpenFile
    typealias Handle = OpenFileTable.Handle

    struct RuntimeState {
        /// Attribute fetches of lazily imported files in flight, so concurrent lookups share one.
        var attributeFetches: [InodeNumber: Task<Void, Never>] = [:]
        /// Whether any extended attribute was ever stored (most file systems have none: `ls -l` asks for ACLs
        /// on every file, and the mount answers those without a query).
        var hasExtendedAttributes = false
    }

    // MARK: Opening and closing

    /// Opens the file system in `directory` (created on first use), recovering from a crash if the last
    /// process died, and starts the data mover. One process at a time: a second open fails with EBUSY.
    package static func open(
        directory: String, options: FileSystemOptions, repositories: any RepositoryFactory,
        logger: Logger = Logger(label: "lustrefs")
    ) async throws -> FileSystem {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw FileSystemError.io("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        let lockPath = directory + "/lock"
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileSystemError.io("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        // A closed file system's lock can outlive its close for a moment: a child this process forks (a
        // daemon, fusermount) holds a copy of every descriptor until it execs, where the close-on-exec lock
        // goes. So a busy lock is asked again for up to 3 s before the directory is called in use.
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<60 where !locked {
            try? await Task.sleep(nanoseconds: 50_000_000)
            locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        guard locked else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            Glibc.close(fd)
            throw FileSystemError(EBUSY, "the file system in \(directory) is in use by process \(holder)")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        do {
            let store = try MetadataStore(path: directory + "/mdt.sqlite")
            let cache = try DataCache(directory: directory + "/data")
            let fs = FileSystem(
                directory: directory, options: options, store: store, cache: cache,
                repositories: repositories, logger: logger, lockDescriptor: fd)
            try await fs.recover()
            if options.background { fs.startBackgroundWork() }
            return fs
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    init(
        directory: String, options: FileSystemOptions, store: MetadataStore, cache: DataCache,
        repositories: any RepositoryFactory, logger: Logger, lockDescriptor: Int32
    ) {
        self.directory = directory
        self.options = options
        self.store = store
        self.cache = cache
        self.repositories = repositories
        self.logger = logger
        self.lockDescriptor = lockDescriptor
        space = SpaceAccounting(capacity: options.capacityBytes)
    }

    /// Stops the data mover and event feeds and releases the directory. Queued exports stay queued in the
    /// MDT and run at the next open.
    package func close() async {
        let running = background.withLock { state -> [Task<Void, Never>] in
            state.closed = true
            let all = state.background + Array(state.feeds.values)
            state.background.removeAll()
            state.feeds.removeAll()
            return all
        }
        // A restore whose data all arrived only has its commit left: let it finish rather than waste it.
        let jobs = restores.all
        let finishing = jobs.filter(\.allArrived).compactMap(\.task)
        let tasks = running + jobs.filter { !$0.allArrived }.compactMap(\.task)
        for task in finishing { await task.value }
        for task in tasks { task.cancel() }
        exportSignal.fire()
        // Cancelled work normally ends at once; a call stuck on an endpoint that stopped answering may not, and
        // must not hold an unmount or a service's shutdown.
        await Self.waitForAll(tasks, upTo: options.closeGraceSeconds, logger: logger)
        openTable.withLock { state in
            for file in state.openFiles.values where file.fd >= 0 { Glibc.close(file.fd) }
            state.openFiles.removeAll()
            state.handles.removeAll()
        }
        do { try store.close() } catch { logger.error("closing the MDT of \(directory) failed (the next open recovers it): \(error)") }
        Glibc.close(lockDescriptor)
    }

    static func waitForAll(_ tasks: [Task<Void, Never>], upTo seconds: Double, logger: Logger) async {
        // Not a task group: a group waits for all its children, and awaiting a task's value cannot be cancelled.
        let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answered = Locked(false)
            let answer = { @Sendable (value: Bool) in
                if answered.withLock({ done in
                    defer { done = true }; return !done
                }) {
                    continuation.resume(returning: value)
                }
            }
            Task {
                for task in tasks { await task.value }
                answer(true)
            }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                answer(false)
            }
        }
        if !finished { logger.warning("closing without waiting longer for background work that did not stop within \(seconds) s") }
    }

    /// The root directory is created on first open; the capacity is recorded so `df` reports it.
    func recover() async throws {
        let now = nowNanoseconds()
        try await store.write { db in
            if try db.inode(MetadataStore.rootInode) == nil {
                var root = Inode(type: .directory, perm: 0o755, uid: 0, gid: 0, time: now, nlink: 2)
                root.ino = MetadataStore.rootInode
                try db.insertWithNumber(root)
            }
            try db.setSetting("capacityBytes", String(self.options.capacityBytes))
        }
        // Known before the recovery below queues exports: `queueSync` asks the policies.
        associationTable.load(try await loadAssociations())
        // Cache files of released inodes are restores that did not finish: they prove nothing, drop them.
        // Cache files of inodes that no longer exist are leftovers of an unlink: drop them too.
        let cached = cache.inodes()
        let releasedOrGone: Set<InodeNumber> = try await store.read { db in
            var result = Set<InodeNumber>()
            for ino in cached {
                guard let inode = try db.inode(ino) else { result.insert(ino); continue }
                if inode.type != .regular || inode.isReleased { result.insert(ino) }
            }
            return result
        }
        for ino in releasedOrGone { cache.remove(ino) }
        // Orphans (unlinked while open when the process died) go now; their cache files once that commits, so a
        // rolled-back recovery never finds an inode whose data it removed.
        let cache = self.cache
        let orphans = try await store.write { db -> [InodeNumber] in
            let orphans = try db.orphanInodes()
            for ino in orphans { try db.deleteInode(ino) }
            // A file with local data: the cache file holds the truth about its size (writes may have
            // outrun the MDT). An empty file without one was never written, and needs none. Any other file
            // whose cache file is missing lost its local data: if the repository has a current copy it
            // becomes released (truthful); otherwise it is empty and marked lost.
            for var inode in try db.localFiles() {
                if let size = cache.size(of: inode.ino) {
                    if size != inode.size {
                        inode.size = size
                        inode.dataVersion += 1
                        inode.hsm = (try? HSMRules.dataChanged(inode.hsm)) ?? inode.hsm
                        try db.update(inode)
                    }
                } else if inode.size == 0 {
                    continue
                } else if inode.hsm.flags.contains(.archived) && !inode.hsm.flags.contains(.dirty)
                    && inode.archivedDataVersion == inode.dataVersion
                {
                    inode.hsmFlags |= HSMFlags.released.rawValue
                    try db.update(inode)
                } else {
                    inode.size = 0
                    inode.hsmFlags |= HSMFlags.lost.rawValue
                    try db.update(inode)
                }
            }
            // Files written since their last export whose last close never came (the process died with them
            // open): queue them, the export policy decides.
            for ino in try db.unexportedLocalFiles() { try self.queueSync(db, ino) }
            // Tasks that were running when the process died did not finish.
            try self.failInterruptedTasks(db)
            return orphans
        }
        for ino in orphans { cache.remove(ino) }
        if !releasedOrGone.isEmpty || !orphans.isEmpty {
            logger.warning(
                "recovery of \(directory): removed \(releasedOrGone.count) cache files of unfinished restores or deleted inodes and \(orphans.count) inodes unlinked while open"
            )
        }
        let used = try await store.read { db in try db.localBytes() }
        let anyXattr = try await store.read { db in try db.anyExtendedAttribute() }
        space.start(used: used)
        state.withLock { $0.hasExtendedAttributes = anyXattr }
        try await cleanUpIncompleteAssociations()
    }

    func startBackgroundWork() {
        // These hold the file system until `close` cancels them.
        let exporter = Task { await self.runExportWorker() }
        let fetcher = Task { await self.fetchPendingAttributes() }
        var tasks = [exporter, fetcher]
        if let interval = options.sweepIntervalSeconds {
            tasks.append(Task { await self.runSweeps(every: interval) })
        }
        background.withLock { $0.background += tasks }
        startEventFeeds()
    }

    var isClosed: Bool { background.withLock { $0.closed } }
}
