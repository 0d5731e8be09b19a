import DataRepository
import Foundation
import GRDB
import HSM
import Logging
#if canImport(Glibc)
import Glibc
#endif

public struct FileSystemOptions: Sendable {
    /// StorageCapacity in bytes; writes and restores beyond it fail with ENOSPC.
    public var capacityBytes: Int64
    /// The size of a side fetch for a reader far ahead of a running restore (the bulk moves by the
    /// repository's own download, see `DataRepository.download`).
    public var restoreChunkBytes: Int64 = 8 << 20
    /// HeadObject calls in flight while importing.
    public var headConcurrency: Int = 64
    public var exportConcurrency: Int = 8
    /// Long-poll wait of the auto-import event feed.
    public var eventWaitSeconds: Int = 20
    /// Seconds between reconciliation sweeps of associations with an AutoImportPolicy (nil: none).
    public var sweepIntervalSeconds: Double? = 300
    /// Starts the export worker, event feeds and sweeps (the admin tool's one-shot commands turn them off).
    public var background: Bool = true
    /// Seconds a restore may go without receiving a byte before it fails and its readers get EIO (the
    /// endpoint stopped answering with its connections open). Other files and metadata are not affected.
    public var readStallSeconds: Double = 60
    /// Seconds `close` waits for cancelled background work (an upload to a frozen endpoint) before it goes on.
    public var closeGraceSeconds: Double = 5

    public init(capacityBytes: Int64) {
        self.capacityBytes = capacityBytes
    }
}

/// A change the kernel did not see happen (it came from the data repository).
public enum ExternalChange: Sendable, Hashable {
    /// A name appeared in or vanished from a directory.
    case entry(parent: InodeNumber, name: String)
    /// An inode's attributes or data changed.
    case inode(InodeNumber)
}

/// What an open file handle refers to.
public typealias HandleID = UInt64

public struct OpenMode: Sendable, Hashable {
    public var write: Bool
    public var truncate: Bool
    public init(write: Bool = false, truncate: Bool = false) {
        self.write = write
        self.truncate = truncate
    }
    public static let read = OpenMode()
}

/// Changes of a setattr call; nil leaves the attribute alone.
public struct AttributeChanges: Sendable, Hashable {
    public var perm: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var size: Int64?
    public var atime: Int64?
    public var mtime: Int64?
    public init(perm: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: Int64? = nil, atime: Int64? = nil, mtime: Int64? = nil) {
        self.perm = perm
        self.uid = uid
        self.gid = gid
        self.size = size
        self.atime = atime
        self.mtime = mtime
    }
}

/// Space and inode counts for statfs and `lfs df`.
public struct Usage: Sendable, Hashable {
    public var capacityBytes: Int64
    public var usedBytes: Int64
    public var inodes: Int64
    public var availableBytes: Int64 { max(0, capacityBytes - usedBytes) }
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
public final class FileSystem: Sendable {
    public let directory: String
    public let options: FileSystemOptions
    let store: MetadataStore
    let cache: DataCache
    let repositories: any RepositoryFactory
    let logger: Logger
    let lockDescriptor: Int32
    let state = Locked(RuntimeState())
    let exportSignal = Signal()
    let exportDrained = Signal()
    let associationSerial = SerialRunner()
    let associationRequests = RequestQueue()
    let taskSerial = SerialRunner()

    struct OpenFile {
        var fd: Int32
        var opens = 0
        var writers = 0
        /// Size and mtime of writes not yet in the MDT (written back on flush and close).
        var size: Int64
        var mtime: Int64?
        /// Whether this write session already bumped the data version (reset when an export snapshots it).
        var versionBumped = false
        /// Written or created since the last close, so the last close queues an export.
        var changed = false
        /// Descriptors of local data replaced by a newer object, closed with the file's last handle.
        var retired: [Int32] = []
    }

    struct Handle {
        var ino: InodeNumber
        var writable: Bool
    }

    struct RuntimeState {
        var handles: [HandleID: Handle] = [:]
        var nextHandle: HandleID = 1
        var openFiles: [InodeNumber: OpenFile] = [:]
        var restores: [InodeNumber: RestoreJob] = [:]
        /// Inodes whose export failed and waits for its next attempt (`lfs hsm_action` says ARCHIVE waiting).
        var exportsWaiting: Set<InodeNumber> = []
        /// Restores abandoned for a stall, with when: the kernel retries a failed read at once, and that retry
        /// fails at once too (for half a second) rather than wait a second bound.
        var stalled: [InodeNumber: (at: ContinuousClock.Instant, error: FileSystemError)] = [:]
        var exports: [InodeNumber: Int64] = [:]
        var removals: Set<InodeNumber> = []
        /// Export queue entries being run now (a new change must queue another entry, not ride on these).
        var runningExports: Set<Int64> = []
        var inFlightKeys: [String: Int] = [:]
        /// What this process wrote (key → ETag) and deleted lately: those objects' events and listings are
        /// our own changes coming back, whatever has happened to the file since (a rename, say).
        var recentWrites: [String: (etag: String, at: Date)] = [:]
        var recentDeletes: [String: Date] = [:]
        var attributeFetches: [InodeNumber: Task<Void, Never>] = [:]
        var usedBytes: Int64 = 0
        var pendingFreedBytes: Int64 = 0
        /// Whether any extended attribute was ever stored (most file systems have none: `ls -l` asks for ACLs
        /// on every file, and the mount answers those without a query).
        var hasExtendedAttributes = false
        /// Changes made behind the kernel's back (imports, sweeps, events), told to `changeObserver` once
        /// their transaction committed, so a mount can drop what the kernel cached.
        var pendingChanges: [ExternalChange] = []
        var changeObserver: (@Sendable ([ExternalChange]) -> Void)?
        var background: [Task<Void, Never>] = []
        var feeds: [String: Task<Void, Never>] = [:]
        var repositories: [String: any DataRepository] = [:]
        var associations: [Association] = []
        var closed = false
    }

    // MARK: Opening and closing

    /// Opens the file system in `directory` (created on first use), recovering from a crash if the last
    /// process died, and starts the data mover. One process at a time: a second open fails with EBUSY.
    public static func open(directory: String, options: FileSystemOptions, repositories: any RepositoryFactory,
                            logger: Logger = Logger(label: "lustrefs")) async throws -> FileSystem {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw FileSystemError.io("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        let lockPath = directory + "/lock"
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileSystemError.io("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
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
            let fs = FileSystem(directory: directory, options: options, store: store, cache: cache,
                                repositories: repositories, logger: logger, lockDescriptor: fd)
            try await fs.recover()
            if options.background { fs.startBackgroundWork() }
            return fs
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    init(directory: String, options: FileSystemOptions, store: MetadataStore, cache: DataCache,
         repositories: any RepositoryFactory, logger: Logger, lockDescriptor: Int32) {
        self.directory = directory
        self.options = options
        self.store = store
        self.cache = cache
        self.repositories = repositories
        self.logger = logger
        self.lockDescriptor = lockDescriptor
    }

    /// Stops the data mover and event feeds and releases the directory. Queued exports stay queued in the
    /// MDT and run at the next open.
    public func close() async {
        let (tasks, finishing) = state.withLock { state -> ([Task<Void, Never>], [Task<Void, Never>]) in
            state.closed = true
            // A restore whose data all arrived only has its commit left: let it finish rather than waste it.
            let finishing = state.restores.values.filter(\.allArrived).map(\.task)
            let all = state.background + Array(state.feeds.values) + state.restores.values.filter { !$0.allArrived }.map(\.task)
            state.background.removeAll()
            state.feeds.removeAll()
            return (all, finishing)
        }
        for task in finishing { await task.value }
        for task in tasks { task.cancel() }
        exportSignal.fire()
        // Cancelled work normally ends at once; a call stuck on an endpoint that stopped answering may not, and
        // must not hold an unmount or a service's shutdown.
        await Self.waitForAll(tasks, upTo: options.closeGraceSeconds, logger: logger)
        state.withLock { state in
            for file in state.openFiles.values where file.fd >= 0 { Glibc.close(file.fd) }
            state.openFiles.removeAll()
            state.handles.removeAll()
        }
        try? store.pool.close()
        Glibc.close(lockDescriptor)
    }

    static func waitForAll(_ tasks: [Task<Void, Never>], upTo seconds: Double, logger: Logger) async {
        // Not a task group: a group waits for all its children, and awaiting a task's value cannot be cancelled.
        let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answered = Locked(false)
            let answer = { @Sendable (value: Bool) in
                if answered.withLock({ done in defer { done = true }; return !done }) { continuation.resume(returning: value) }
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
        try await store.pool.write { db in
            if try db.inode(MetadataStore.rootInode) == nil {
                var root = Inode(type: .directory, perm: 0o755, uid: 0, gid: 0, time: now, nlink: 2)
                root.ino = MetadataStore.rootInode
                try root.insert(db)
            }
            try db.setSetting("capacityBytes", String(self.options.capacityBytes))
        }
        // Cache files of released inodes are restores that did not finish: they prove nothing, drop them.
        // Cache files of inodes that no longer exist are leftovers of an unlink: drop them too.
        let cached = cache.inodes()
        let releasedOrGone: Set<InodeNumber> = try await store.pool.read { db in
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
        let orphans = try await store.pool.write { db -> [InodeNumber] in
            let orphans = try InodeNumber.fetchAll(db, sql: """
                SELECT ino FROM inode WHERE ino != 1 AND NOT EXISTS (SELECT 1 FROM dentry WHERE dentry.ino = inode.ino)
                """)
            for ino in orphans {
                try db.execute(sql: "DELETE FROM inode WHERE ino = ?", arguments: [ino])
            }
            // A file with local data: the cache file holds the truth about its size (writes may have
            // outrun the MDT). A file whose cache file is missing lost its local data: if the repository
            // has a current copy it becomes released (truthful); otherwise it is empty and marked lost.
            let local = try Inode.fetchAll(db, sql: "SELECT * FROM inode WHERE type = ? AND (hsmFlags & 4) = 0",
                                           arguments: [FileType.regular])
            for var inode in local {
                if let size = cache.size(of: inode.ino) {
                    if size != inode.size {
                        inode.size = size
                        inode.dataVersion += 1
                        inode.hsm = (try? HSMRules.dataChanged(inode.hsm)) ?? inode.hsm
                        try inode.update(db)
                    }
                } else if inode.hsm.flags.contains(.archived) && !inode.hsm.flags.contains(.dirty)
                            && inode.archivedDataVersion == inode.dataVersion {
                    inode.hsmFlags |= HSMFlags.released.rawValue
                    try inode.update(db)
                } else {
                    try? cache.createEmpty(inode.ino)
                    if inode.size != 0 {
                        inode.size = 0
                        inode.hsmFlags |= HSMFlags.lost.rawValue
                        try inode.update(db)
                    }
                }
            }
            // Files written since their last export whose last close never came (the process died with them
            // open): queue them, the export policy decides.
            let unexported = try InodeNumber.fetchAll(db, sql: """
                SELECT ino FROM inode WHERE type = ? AND (hsmFlags & 4) = 0
                  AND (archivedDataVersion IS NULL OR archivedDataVersion != dataVersion)
                  AND NOT EXISTS (SELECT 1 FROM exportQueue WHERE exportQueue.ino = inode.ino)
                """, arguments: [FileType.regular])
            for ino in unexported { try self.queueSync(db, ino) }
            // Tasks that were running when the process died did not finish.
            try self.failInterruptedTasks(db)
            return orphans
        }
        for ino in orphans { cache.remove(ino) }
        if !releasedOrGone.isEmpty || !orphans.isEmpty {
            logger.warning("recovery of \(directory): removed \(releasedOrGone.count) cache files of unfinished restores or deleted inodes and \(orphans.count) inodes unlinked while open")
        }
        let used = try await store.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM inode WHERE type = ? AND (hsmFlags & 4) = 0",
                               arguments: [FileType.regular]) ?? 0
        }
        let associations = try await loadAssociations()
        let anyXattr = try await store.pool.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM xattr)") ?? false }
        state.withLock { state in
            state.usedBytes = used
            state.associations = associations
            state.hasExtendedAttributes = anyXattr
        }
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
        state.withLock { $0.background += tasks }
        startEventFeeds()
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    // MARK: Namespace

    /// The inode, with its POSIX attributes fetched first if it was imported from a listing only, and with
    /// the size and mtime of writes still in flight.
    public func attributes(_ ino: InodeNumber) async throws -> Inode {
        guard var inode = try await store.pool.read({ db in try db.inode(ino) }) else {
            throw FileSystemError.notFound("inode \(ino)")
        }
        if inode.attributesPending {
            await fetchAttributes(of: ino)
            if let fresh = try await store.pool.read({ db in try db.inode(ino) }) { inode = fresh }
        }
        return overlay(inode)
    }

    func overlay(_ inode: Inode) -> Inode {
        guard inode.type == .regular else { return inode }
        return state.withLock { state in
            var copy = inode
            if let open = state.openFiles[inode.ino], open.fd >= 0, open.writers > 0 {
                copy.size = open.size
                if let mtime = open.mtime { copy.mtime = mtime; copy.ctime = max(copy.ctime, mtime) }
            }
            return copy
        }
    }

    public func lookup(parent: InodeNumber, name: String) async throws -> Inode {
        let entry = try await store.pool.read { db -> DirectoryEntry? in
            guard let directory = try db.inode(parent) else { throw FileSystemError.notFound("inode \(parent)") }
            guard directory.type == .directory else { throw FileSystemError.notDirectory("inode \(parent)") }
            return try db.entry(parent: parent, name: name)
        }
        guard let entry else { throw FileSystemError.notFound(name) }
        return try await attributes(entry.ino)
    }

    /// Resolves an absolute path (symlinks are not followed).
    public func resolve(_ path: String) async throws -> Inode {
        guard path.hasPrefix("/") else { throw FileSystemError.invalid("'\(path)' is not an absolute path") }
        var current = try await attributes(MetadataStore.rootInode)
        for component in path.split(separator: "/") where component != "." {
            guard current.type == .directory else { throw FileSystemError.notDirectory(path) }
            do {
                current = try await lookup(parent: current.ino, name: String(component))
            } catch let error as FileSystemError where error.errno == ENOENT {
                throw FileSystemError.notFound(path)
            }
        }
        return current
    }

    /// The entries of a directory, in name order, with their attributes.
    public func readDirectory(_ ino: InodeNumber) async throws -> [(name: String, inode: Inode)] {
        let (entries, pending) = try await store.pool.read { db -> ([(String, Inode)], [InodeNumber]) in
            guard let directory = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            guard directory.type == .directory else { throw FileSystemError.notDirectory("inode \(ino)") }
            let rows = try Row.fetchAll(db, sql: """
                SELECT dentry.name AS entryName, inode.* FROM dentry JOIN inode ON inode.ino = dentry.ino
                WHERE dentry.parent = ? ORDER BY dentry.name
                """, arguments: [ino])
            let entries = try rows.map { row in (row["entryName"] as String, try Inode(row: row)) }
            return (entries, entries.filter { $0.1.attributesPending }.map(\.1.ino))
        }
        guard !pending.isEmpty else { return entries.map { ($0.0, overlay($0.1)) } }
        // An `ls -l` right after an import: fetch this directory's pending attributes together.
        await withTaskGroup(of: Void.self) { group in
            for ino in pending { group.addTask { await self.fetchAttributes(of: ino) } }
        }
        return try await store.pool.read { db in
            try entries.map { name, inode in (name, self.overlay(try db.inode(inode.ino) ?? inode)) }
        }
    }

    public func readLink(_ ino: InodeNumber) async throws -> String {
        let inode = try await attributes(ino)
        guard inode.type == .symlink, let target = inode.target else { throw FileSystemError.invalid("inode \(ino) is not a symbolic link") }
        return target
    }

    /// Creates a regular file, directory or symlink under `parent`.
    public func makeNode(parent: InodeNumber, name: String, type: FileType, perm: UInt32, uid: UInt32, gid: UInt32,
                         target: String? = nil) async throws -> Inode {
        try checkName(name)
        if type == .symlink {
            guard let target, !target.isEmpty, target.utf8.count <= 4095 else { throw FileSystemError.invalid("a symlink needs a target of 1 to 4095 bytes") }
        }
        let now = nowNanoseconds()
        let inode = try await store.pool.write { db -> Inode in
            guard var directory = try db.inode(parent) else { throw FileSystemError.notFound("inode \(parent)") }
            guard directory.type == .directory else { throw FileSystemError.notDirectory("inode \(parent)") }
            if try db.entry(parent: parent, name: name) != nil { throw FileSystemError.exists(name) }
            var inode = Inode(type: type, perm: perm, uid: uid, gid: gid, size: type == .symlink ? Int64(target!.utf8.count) : 0,
                              time: now, nlink: type == .directory ? 2 : 1, target: target)
            inode = try db.insertInode(inode)
            try db.link(parent: parent, name: name, ino: inode.ino)
            directory.mtime = now
            directory.ctime = now
            if type == .directory { directory.nlink += 1 }
            try directory.update(db)
            if type == .regular { try self.cache.createEmpty(inode.ino) }
            // Directories and symlinks are complete at creation; regular files export when last closed.
            if type != .regular { try self.queueSync(db, inode.ino) }
            return inode
        }
        if type != .regular { exportSignal.fire() }
        return inode
    }

    /// A hard link: another name for a regular file (exported as a separate object, as FSx does).
    public func link(_ ino: InodeNumber, parent: InodeNumber, name: String) async throws -> Inode {
        try checkName(name)
        let now = nowNanoseconds()
        let inode = try await store.pool.write { db -> Inode in
            guard var inode = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            guard inode.type != .directory else { throw FileSystemError(EPERM, "hard links to directories are not allowed") }
            guard let directory = try db.inode(parent), directory.type == .directory else { throw FileSystemError.notDirectory("inode \(parent)") }
            if try db.entry(parent: parent, name: name) != nil { throw FileSystemError.exists(name) }
            try db.link(parent: parent, name: name, ino: ino)
            inode.nlink += 1
            inode.ctime = now
            try inode.update(db)
            try self.queueSync(db, ino)
            return inode
        }
        exportSignal.fire()
        return overlay(inode)
    }

    /// Removes a name; `directory` selects rmdir's rules. The object of an exported file is deleted from the
    /// repository when the association's AutoExportPolicy has DELETED.
    public func remove(parent: InodeNumber, name: String, directory: Bool) async throws {
        let now = nowNanoseconds()
        let freed = try await store.pool.write { db -> Int64 in
            guard let entry = try db.entry(parent: parent, name: name) else { throw FileSystemError.notFound(name) }
            guard var inode = try db.inode(entry.ino) else { throw FileSystemError.notFound(name) }
            if directory {
                guard inode.type == .directory else { throw FileSystemError.notDirectory(name) }
                if try db.hasChildren(inode.ino) { throw FileSystemError.notEmpty(name) }
                if try self.associationRoot(db, inode.ino) != nil {
                    throw FileSystemError(EBUSY, "\(name) is the directory of a data repository association; delete the association first")
                }
            } else if inode.type == .directory {
                throw FileSystemError.isDirectory(name)
            }
            // The repository key of this name, computed before the name goes.
            let key = try self.repositoryKey(db, parent: parent, name: name, type: inode.type)
            try db.unlinkEntry(parent: parent, name: name)
            if var parentInode = try db.inode(parent) {
                parentInode.mtime = now
                parentInode.ctime = now
                if inode.type == .directory { parentInode.nlink -= 1 }
                try parentInode.update(db)
            }
            if let (association, key) = key, inode.archivedEtag != nil || inode.hsm.flags.contains(.exists),
               association.autoExport.contains(.deleted) {
                try self.queueDelete(db, key: key, association: association.id, forced: false)
            }
            inode.nlink -= inode.type == .directory ? 2 : 1
            inode.ctime = now
            let stillOpen = self.state.withLock { $0.openFiles[inode.ino] != nil }
            if inode.nlink <= 0 && !stillOpen {
                try db.execute(sql: "DELETE FROM inode WHERE ino = ?", arguments: [inode.ino])
                if inode.type == .regular {
                    self.removeCacheFileAfterCommit(db, inode.ino)
                    return inode.isReleased ? 0 : inode.size
                }
                return 0
            }
            try inode.update(db)
            return 0
        }
        if freed > 0 { state.withLock { $0.usedBytes -= freed } }
        exportSignal.fire()
    }

    public struct RenameFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// RENAME_NOREPLACE
        public static let noReplace = RenameFlags(rawValue: 1)
        /// RENAME_EXCHANGE
        public static let exchange = RenameFlags(rawValue: 2)
    }

    /// rename(2): replaces a target of the same kind (an empty directory for a directory), or exchanges the
    /// two names. Every moved object is exported anew and its old object deleted (a directory's whole subtree).
    public func rename(parent: InodeNumber, name: String, newParent: InodeNumber, newName: String, flags: RenameFlags = []) async throws {
        try checkName(newName)
        let now = nowNanoseconds()
        let freed = try await store.pool.write { db -> Int64 in
            guard let source = try db.entry(parent: parent, name: name), var moving = try db.inode(source.ino) else {
                throw FileSystemError.notFound(name)
            }
            guard let targetDirectory = try db.inode(newParent), targetDirectory.type == .directory else {
                throw FileSystemError.notDirectory("inode \(newParent)")
            }
            if try self.associationRoot(db, moving.ino) != nil {
                throw FileSystemError(EBUSY, "\(name) is the directory of a data repository association")
            }
            if moving.type == .directory {
                // A directory may not move into itself.
                var current: InodeNumber? = newParent
                while let step = current, step != MetadataStore.rootInode {
                    if step == moving.ino { throw FileSystemError.invalid("cannot move a directory into itself") }
                    current = try db.links(of: step).first?.parent
                }
            }
            let existing = try db.entry(parent: newParent, name: newName)
            if existing?.ino == moving.ino { return 0 }
            var freed: Int64 = 0
            if flags.contains(.exchange) {
                guard let existing, let other = try db.inode(existing.ino) else { throw FileSystemError.notFound(newName) }
                let oldPath = try self.childPath(db, parent, name)
                let newPath = try self.childPath(db, newParent, newName)
                try self.checkRenameKeepsData(db, moving: moving, from: oldPath, to: newPath)
                try self.checkRenameKeepsData(db, moving: other, from: newPath, to: oldPath)
                let deletes = try self.subtreeDeletes(db, parent: parent, name: name, inode: moving)
                    + self.subtreeDeletes(db, parent: newParent, name: newName, inode: other)
                try db.execute(sql: "UPDATE dentry SET ino = ? WHERE parent = ? AND name = ?", arguments: [other.ino, parent, name])
                try db.execute(sql: "UPDATE dentry SET ino = ? WHERE parent = ? AND name = ?", arguments: [moving.ino, newParent, newName])
                if moving.type == .directory && other.type != .directory && parent != newParent {
                    try db.execute(sql: "UPDATE inode SET nlink = nlink - 1 WHERE ino = ?", arguments: [parent])
                    try db.execute(sql: "UPDATE inode SET nlink = nlink + 1 WHERE ino = ?", arguments: [newParent])
                } else if other.type == .directory && moving.type != .directory && parent != newParent {
                    try db.execute(sql: "UPDATE inode SET nlink = nlink + 1 WHERE ino = ?", arguments: [parent])
                    try db.execute(sql: "UPDATE inode SET nlink = nlink - 1 WHERE ino = ?", arguments: [newParent])
                }
                try self.queueSubtreeSync(db, moving.ino)
                try self.queueSubtreeSync(db, other.ino)
                try self.queue(deletes, db)
            } else {
                try self.checkRenameKeepsData(db, moving: moving, from: try self.childPath(db, parent, name),
                                              to: try self.childPath(db, newParent, newName))
                if let existing {
                    if flags.contains(.noReplace) { throw FileSystemError.exists(newName) }
                    guard var replaced = try db.inode(existing.ino) else { throw FileSystemError.notFound(newName) }
                    if moving.type == .directory {
                        guard replaced.type == .directory else { throw FileSystemError.notDirectory(newName) }
                        if try db.hasChildren(replaced.ino) { throw FileSystemError.notEmpty(newName) }
                    } else if replaced.type == .directory {
                        throw FileSystemError.isDirectory(newName)
                    }
                    if try self.associationRoot(db, replaced.ino) != nil {
                        throw FileSystemError(EBUSY, "\(newName) is the directory of a data repository association")
                    }
                    try db.unlinkEntry(parent: newParent, name: newName)
                    replaced.nlink -= replaced.type == .directory ? 2 : 1
                    if replaced.type == .directory {
                        try db.execute(sql: "UPDATE inode SET nlink = nlink - 1 WHERE ino = ?", arguments: [newParent])
                    }
                    let open = self.state.withLock { $0.openFiles[replaced.ino] != nil }
                    if replaced.nlink <= 0 && !open {
                        try db.execute(sql: "DELETE FROM inode WHERE ino = ?", arguments: [replaced.ino])
                        if replaced.type == .regular {
                            self.removeCacheFileAfterCommit(db, replaced.ino)
                            if !replaced.isReleased { freed = replaced.size }
                        }
                    } else {
                        try replaced.update(db)
                    }
                    // The replaced object is overwritten by the moved one's export; nothing to delete.
                }
                let deletes = try self.subtreeDeletes(db, parent: parent, name: name, inode: moving)
                try db.unlinkEntry(parent: parent, name: name)
                try db.link(parent: newParent, name: newName, ino: moving.ino)
                if moving.type == .directory && parent != newParent {
                    try db.execute(sql: "UPDATE inode SET nlink = nlink - 1 WHERE ino = ?", arguments: [parent])
                    try db.execute(sql: "UPDATE inode SET nlink = nlink + 1 WHERE ino = ?", arguments: [newParent])
                }
                try self.queueSubtreeSync(db, moving.ino)
                try self.queue(deletes, db)
            }
            for directory in Set([parent, newParent]) {
                try db.execute(sql: "UPDATE inode SET mtime = ?, ctime = ? WHERE ino = ?", arguments: [now, now, directory])
            }
            moving = try db.inode(moving.ino) ?? moving
            moving.ctime = now
            try moving.update(db)
            return freed
        }
        if freed > 0 { state.withLock { $0.usedBytes -= freed } }
        exportSignal.fire()
    }

    /// chmod, chown, utimens and truncate. Metadata changes export as metadata updates; a truncate is a data
    /// change (a released file is restored first unless it is truncated to zero).
    public func setAttributes(_ ino: InodeNumber, _ changes: AttributeChanges) async throws -> Inode {
        if let size = changes.size {
            guard size >= 0 else { throw FileSystemError.invalid("a size cannot be negative") }
            try await truncate(ino, to: size)
        }
        let now = nowNanoseconds()
        let metadataChanged = changes.perm != nil || changes.uid != nil || changes.gid != nil || changes.atime != nil || changes.mtime != nil
        let inode = try await store.pool.write { db -> Inode in
            guard var inode = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            if let perm = changes.perm { inode.perm = perm & 0o7777 }
            if let uid = changes.uid { inode.uid = uid }
            if let gid = changes.gid { inode.gid = gid }
            if let atime = changes.atime { inode.atime = atime }
            if let mtime = changes.mtime {
                inode.mtime = mtime
                self.state.withLock { state in state.openFiles[ino]?.mtime = nil }
            }
            inode.ctime = now
            if metadataChanged {
                inode.metaVersion += 1
                try inode.update(db)
                // Exported objects get their metadata updated; a file still being written exports at close.
                try self.queueSync(db, ino)
            } else {
                try inode.update(db)
            }
            return inode
        }
        if metadataChanged { exportSignal.fire() }
        return overlay(inode)
    }

    func truncate(_ ino: InodeNumber, to size: Int64) async throws {
        let inode = try await attributes(ino)
        guard inode.type == .regular else { throw FileSystemError.isDirectory("inode \(ino)") }
        if inode.isReleased {
            if size == 0 {
                try await discardReleasedData(ino)
            } else {
                try await restore(ino, wait: true)
            }
        }
        let current = overlay(try await attributes(ino))
        try reserve(size - current.size, for: "truncating inode \(ino)")
        try cache.truncate(ino, to: size)
        let now = nowNanoseconds()
        try await store.pool.write { db in
            guard var fresh = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            fresh.size = size
            fresh.mtime = now
            fresh.ctime = now
            fresh.dataVersion += 1
            fresh.hsm = try HSMRules.dataChanged(fresh.hsm)
            try fresh.update(db)
            if self.state.withLock({ $0.openFiles[ino] == nil }) { try self.queueSync(db, ino) }
        }
        state.withLock { state in
            if var open = state.openFiles[ino] {
                open.size = size
                open.mtime = now
                open.changed = true
                state.openFiles[ino] = open
            }
        }
        exportSignal.fire()
    }

    /// O_TRUNC or truncate-to-zero of a released file: no need to fetch data that is about to be discarded.
    func discardReleasedData(_ ino: InodeNumber) async throws {
        try cache.createEmpty(ino)
        try await store.pool.write { db in
            guard var inode = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            guard inode.isReleased else { return }
            inode.hsmFlags &= ~HSMFlags.released.rawValue
            inode.size = 0
            inode.dataVersion += 1
            inode.hsm = try HSMRules.dataChanged(inode.hsm)
            try inode.update(db)
        }
    }

    // MARK: Space

    /// Claims `bytes` of capacity (negative frees), failing with ENOSPC when the file system is full.
    func reserve(_ bytes: Int64, for what: String) throws {
        try state.withLock { state in
            if bytes > 0 && state.usedBytes + bytes > options.capacityBytes {
                throw FileSystemError.noSpace("\(what) needs \(bytes) bytes; the file system has \(max(0, options.capacityBytes - state.usedBytes)) of \(options.capacityBytes) left")
            }
            state.usedBytes += bytes
        }
    }

    public func usage() async throws -> Usage {
        let inodes = try await store.pool.read { db in try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM inode") ?? 0 }
        let used = state.withLock { $0.usedBytes }
        return Usage(capacityBytes: options.capacityBytes, usedBytes: max(0, used), inodes: inodes)
    }

    // MARK: Open files

    /// Opens a regular file. Opening for write restores a released file first (O_TRUNC discards it instead).
    public func open(_ ino: InodeNumber, mode: OpenMode) async throws -> HandleID {
        var inode = try await attributes(ino)
        guard inode.type == .regular else {
            if inode.type == .directory { throw FileSystemError.isDirectory("inode \(ino)") }
            throw FileSystemError(ELOOP, "inode \(ino) is a symbolic link")
        }
        if mode.write && inode.isReleased {
            if mode.truncate {
                try await discardReleasedData(ino)
                state.withLock { $0.openFiles[ino]?.size = 0 }
            } else {
                try await restore(ino, wait: true)
            }
            inode = try await attributes(ino)
        }
        let handle = try state.withLock { state -> HandleID in
            var file = state.openFiles[ino] ?? OpenFile(fd: -1, size: inode.size)
            if file.fd < 0 && !inode.isReleased {
                file.fd = try cache.open(ino, create: true)
                file.size = inode.size
            }
            file.opens += 1
            if mode.write { file.writers += 1 }
            state.openFiles[ino] = file
            let id = state.nextHandle
            state.nextHandle += 1
            state.handles[id] = Handle(ino: ino, writable: mode.write)
            return id
        }
        if mode.write && mode.truncate && inode.size > 0 {
            do {
                try await truncate(ino, to: 0)
            } catch {
                await release(handle)
                throw error
            }
        }
        return handle
    }

    func handle(_ id: HandleID) throws -> Handle {
        guard let handle = state.withLock({ $0.handles[id] }) else { throw FileSystemError(EBADF, "file handle \(id) is not open") }
        return handle
    }

    /// Reads from the local data; a released file's data is restored first, and the read returns as soon as
    /// its own range has arrived.
    public func read(_ id: HandleID, offset: Int64, count: Int) async throws -> Data {
        let handle = try handle(id)
        let ino = handle.ino
        let (fd, size, running) = state.withLock { state in
            (state.openFiles[ino]?.fd ?? -1, state.openFiles[ino]?.size ?? 0, state.restores[ino])
        }
        if fd < 0, let job = running {
            // A restore is running: no need to look at the MDT for every read of it.
            guard offset < job.size else { return Data() }
            let end = min(job.size, offset + Int64(count))
            try await job.waitFor(offset..<end)
            return try PositionalIO.read(job.fd, count: Int(end - offset), at: offset)
        }
        if fd >= 0 {
            // fd only exists for files with local data (or after a restore finished).
            guard offset < size else { return Data() }
            let data = try PositionalIO.read(fd, count: Int(min(Int64(count), size - offset)), at: offset)
            return data
        }
        let inode = try await attributes(ino)
        guard offset < inode.size else { return Data() }
        guard inode.isReleased, let job = try await restoreJob(for: ino) else {
            // Restored between the check and now: read the local data.
            try attachDescriptor(ino)
            return try await read(id, offset: offset, count: count)
        }
        let end = min(inode.size, offset + Int64(count))
        try await job.waitFor(offset..<end)
        return try PositionalIO.read(job.fd, count: Int(end - offset), at: offset)
    }

    /// Opens the cache file of a restored file for its handles.
    func attachDescriptor(_ ino: InodeNumber) throws {
        try state.withLock { state in
            guard var file = state.openFiles[ino], file.fd < 0 else { return }
            file.fd = try cache.open(ino, create: false)
            state.openFiles[ino] = file
        }
    }

    /// Writes to the local data. The first write of a session makes an archived file dirty.
    public func write(_ id: HandleID, offset: Int64, data: Data) async throws -> Int {
        let handle = try handle(id)
        guard handle.writable else { throw FileSystemError(EBADF, "file handle \(id) is not open for writing") }
        let ino = handle.ino
        let (fd, size, bumped) = state.withLock { state in
            (state.openFiles[ino]?.fd ?? -1, state.openFiles[ino]?.size ?? 0, state.openFiles[ino]?.versionBumped ?? true)
        }
        guard fd >= 0 else { throw FileSystemError.io("inode \(ino) has no local data to write to") }
        let end = offset + Int64(data.count)
        if end > size { try reserve(end - size, for: "writing inode \(ino)") }
        do {
            try data.withUnsafeBytes { bytes in try PositionalIO.write(fd, bytes, at: offset) }
        } catch {
            if end > size { try? reserve(size - end, for: "") }
            throw error
        }
        let now = nowNanoseconds()
        state.withLock { state in
            guard var file = state.openFiles[ino] else { return }
            if end > size {
                // Another writer may have grown the file meanwhile: give back what it already claimed.
                let grown = max(0, end - max(file.size, size))
                state.usedBytes -= (end - size) - grown
            }
            if end > file.size { file.size = end }
            file.mtime = now
            file.changed = true
            file.versionBumped = true
            state.openFiles[ino] = file
        }
        if !bumped {
            try await store.pool.write { db in
                guard var inode = try db.inode(ino) else { return }
                inode.dataVersion += 1
                inode.hsm = try HSMRules.dataChanged(inode.hsm)
                try inode.update(db)
            }
        }
        return data.count
    }

    /// Writes the size and mtime of writes so far to the MDT (flush and fsync).
    public func flush(_ id: HandleID, sync: Bool = false) async throws {
        let handle = try handle(id)
        let snapshot = state.withLock { $0.openFiles[handle.ino] }
        guard let snapshot, snapshot.changed || sync else { return }
        if sync && snapshot.fd >= 0 { fdatasync(snapshot.fd) }
        try await store.pool.write { db in
            guard var inode = try db.inode(handle.ino) else { return }
            inode.size = snapshot.size
            if let mtime = snapshot.mtime { inode.mtime = mtime; inode.ctime = max(inode.ctime, mtime) }
            try inode.update(db)
        }
    }

    /// Closes a handle. The last close of a file that was written queues its export.
    public func release(_ id: HandleID) async {
        guard let handle = state.withLock({ $0.handles.removeValue(forKey: id) }) else { return }
        let ino = handle.ino
        let last = state.withLock { state -> OpenFile? in
            guard var file = state.openFiles[ino] else { return nil }
            file.opens -= 1
            if handle.writable { file.writers -= 1 }
            if file.opens <= 0 {
                state.openFiles.removeValue(forKey: ino)
                return file
            }
            state.openFiles[ino] = file
            return nil
        }
        // Written back on every close of a writer, so the MDT has the size as soon as the writer is done.
        let snapshot = last ?? state.withLock { $0.openFiles[ino] }
        do {
            let freed = try await store.pool.write { db -> Int64 in
                guard var inode = try db.inode(ino) else { return 0 }
                if let snapshot, snapshot.changed, snapshot.fd >= 0 {
                    inode.size = snapshot.size
                    if let mtime = snapshot.mtime { inode.mtime = mtime; inode.ctime = max(inode.ctime, mtime) }
                    try inode.update(db)
                }
                guard let last else { return 0 }
                if try inode.nlink <= 0 && db.links(of: ino).isEmpty {
                    try db.execute(sql: "DELETE FROM inode WHERE ino = ?", arguments: [ino])
                    self.removeCacheFileAfterCommit(db, ino)
                    return inode.isReleased ? 0 : inode.size
                }
                if last.changed { try self.queueSync(db, ino) }
                return 0
            }
            if freed > 0 { state.withLock { $0.usedBytes -= freed } }
        } catch {
            logger.error("closing inode \(ino) failed: \(error)")
        }
        if let last {
            if last.fd >= 0 { Glibc.close(last.fd) }
            for fd in last.retired { Glibc.close(fd) }
        }
        if last?.changed == true { exportSignal.fire() }
    }

    func openCount(_ ino: InodeNumber) -> Int {
        state.withLock { $0.openFiles[ino]?.opens ?? 0 }
    }

    // MARK: Associations of paths

    /// The association whose directory is exactly `ino`, if any.
    func associationRoot(_ db: Database, _ ino: InodeNumber) throws -> Association? {
        guard ino != MetadataStore.rootInode || state.withLock({ $0.associations.contains { $0.fileSystemPath == "/" } }) else { return nil }
        guard let path = try db.path(of: ino) else { return nil }
        return state.withLock { $0.associations.first { $0.fileSystemPath == path && $0.lifecycle != .failed } }
    }

    /// The association containing `path` and the path's repository key (nil outside every association and
    /// for the association's own directory).
    func association(containing path: String, type: FileType) -> (Association, String)? {
        let associations = state.withLock { $0.associations }
        for association in associations where association.lifecycle != .failed && association.lifecycle != .deleting {
            let base = association.fileSystemPath
            let relative: String
            if base == "/" {
                relative = String(path.dropFirst())
            } else if path.hasPrefix(base + "/") {
                relative = String(path.dropFirst(base.count + 1))
            } else {
                continue
            }
            guard !relative.isEmpty else { return nil }
            let key = association.location.prefix + relative + (type == .directory ? "/" : "")
            return (association, key)
        }
        return nil
    }

    func childPath(_ db: Database, _ parent: InodeNumber, _ name: String) throws -> String {
        guard let parentPath = try db.path(of: parent) else { throw FileSystemError.notFound("inode \(parent)") }
        return parentPath == "/" ? "/" + name : parentPath + "/" + name
    }

    func repositoryKey(_ db: Database, parent: InodeNumber, name: String, type: FileType) throws -> (Association, String)? {
        guard let parentPath = try db.path(of: parent) else { return nil }
        let path = parentPath == "/" ? "/" + name : parentPath + "/" + name
        return association(containing: path, type: type)
    }
}
