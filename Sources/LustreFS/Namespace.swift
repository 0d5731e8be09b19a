import DataRepository
import Foundation
import HSM

#if canImport(Glibc)
import Glibc
#endif

/// The namespace: lookups, listings, creation, links, removal, rename and attribute changes. Each change
/// commits in one MDT transaction with the exports it queues.
extension FileSystem {
    // MARK: Namespace

    /// The inode, with its POSIX attributes fetched first if it was imported from a listing only, and with
    /// the size and mtime of writes still in flight.
    package func attributes(_ ino: InodeNumber) async throws -> Inode {
        guard var inode = try await store.inode(ino) else {
            throw FileSystemError.notFound("inode \(ino)")
        }
        if inode.attributesPending {
            await fetchAttributes(of: ino)
            if let fresh = try await store.inode(ino) { inode = fresh }
        }
        return overlay(inode)
    }

    func overlay(_ inode: Inode) -> Inode {
        guard inode.type == .regular else { return inode }
        return openTable.withLock { state in
            var copy = inode
            if let open = state.openFiles[inode.ino], open.fd >= 0, open.writers > 0 {
                copy.size = open.size
                if let mtime = open.mtime { copy.mtime = mtime; copy.ctime = max(copy.ctime, mtime) }
            }
            return copy
        }
    }

    package func lookup(parent: InodeNumber, name: String) async throws -> Inode {
        let inode = try await store.read { db in try self.child(db, parent: parent, name: name) }
        return inode.attributesPending ? try await attributes(inode.ino) : overlay(inode)
    }

    /// `lookup` on the calling thread, for the mount's request threads; nil when the answer needs the
    /// repository (attributes still to fetch): `lookup` then.
    package func lookupBlocking(parent: InodeNumber, name: String) throws -> Inode? {
        let inode = try store.readBlocking { db in try self.child(db, parent: parent, name: name) }
        return inode.attributesPending ? nil : overlay(inode)
    }

    /// `attributes` on the calling thread, for the mount's request threads; nil when they are still to
    /// fetch from the repository: `attributes` then.
    package func attributesBlocking(_ ino: InodeNumber) throws -> Inode? {
        guard let inode = try store.inodeBlocking(ino) else {
            throw FileSystemError.notFound("inode \(ino)")
        }
        return inode.attributesPending ? nil : overlay(inode)
    }

    /// The inode a name in a directory refers to, as the MDT has it.
    private func child(_ db: MetadataTransaction, parent: InodeNumber, name: String) throws -> Inode {
        guard let directory = try db.inode(parent) else { throw FileSystemError.notFound("inode \(parent)") }
        guard directory.type == .directory else { throw FileSystemError.notDirectory("inode \(parent)") }
        // As a local file system: a name no entry can have is too long, not absent.
        if name.utf8.count > 255 { throw FileSystemError.nameTooLong(name) }
        guard let entry = try db.entry(parent: parent, name: name), let inode = try db.inode(entry.ino) else {
            throw FileSystemError.notFound(name)
        }
        return inode
    }

    /// Resolves an absolute path (symlinks are not followed).
    package func resolve(_ path: String) async throws -> Inode {
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
    package func readDirectory(_ ino: InodeNumber) async throws -> [(name: String, inode: Inode)] {
        let (entries, pending) = try await store.read { db -> ([(String, Inode)], [InodeNumber]) in
            guard let directory = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            guard directory.type == .directory else { throw FileSystemError.notDirectory("inode \(ino)") }
            let entries = try db.entriesWithInodes(of: ino).map { ($0.name, $0.inode) }
            return (entries, entries.filter { $0.1.attributesPending }.map(\.1.ino))
        }
        guard !pending.isEmpty else { return entries.map { ($0.0, overlay($0.1)) } }
        // An `ls -l` right after an import: fetch this directory's pending attributes together.
        await withTaskGroup(of: Void.self) { group in
            for ino in pending { group.addTask { await self.fetchAttributes(of: ino) } }
        }
        return try await store.read { db in
            try entries.map { name, inode in (name, self.overlay(try db.inode(inode.ino) ?? inode)) }
        }
    }

    package func readLink(_ ino: InodeNumber) async throws -> String {
        let inode = try await attributes(ino)
        guard inode.type == .symlink, let target = inode.target else { throw FileSystemError.invalid("inode \(ino) is not a symbolic link") }
        return target
    }

    /// Moves the access time of a file read, a directory listed or a symlink followed, by relatime's rule
    /// (the mount's default): only when it is not newer than the last change or is a day old, so reading
    /// does not write the MDT each time. The mount decides when an access happened (a FUSE file system does
    /// not see reads the kernel answers from its page cache). `inode` is the caller's recent copy, which
    /// spares a read when the time is not due; the write checks again. True when the time moved.
    package func recordAccess(_ inode: Inode) async throws -> Bool {
        let now = nowNanoseconds()
        guard Self.accessTimeDue(inode, now: now) else { return false }
        return try await store.write { db in
            guard var fresh = try db.inode(inode.ino), Self.accessTimeDue(fresh, now: now) else { return false }
            fresh.atime = now
            try db.update(fresh)
            return true
        }
    }

    /// Whether an access now would move the inode's atime (`recordAccess` would write).
    package func accessWouldMoveTime(_ inode: Inode) -> Bool {
        Self.accessTimeDue(inode, now: nowNanoseconds())
    }

    static func accessTimeDue(_ inode: Inode, now: Int64) -> Bool {
        inode.atime <= inode.mtime || inode.atime <= inode.ctime || now - inode.atime >= 86_400 * 1_000_000_000
    }

    /// Creates a regular file, directory, symlink, FIFO, device or socket under `parent`.
    package func makeNode(
        parent: InodeNumber, name: String, type: FileType, perm: UInt32, uid: UInt32, gid: UInt32,
        target: String? = nil, rdev: UInt64 = 0
    ) async throws -> Inode {
        try checkNewNode(name: name, type: type, target: target)
        let now = nowNanoseconds()
        let inode = try await store.write { db in
            try self.insertNode(db, parent: parent, name: name, type: type, perm: perm, uid: uid, gid: gid, target: target, rdev: rdev, now: now)
        }
        if type.isSpecial, let path = try? await store.read({ db in try db.path(of: inode.ino) }),
            let (association, _) = association(containing: path, type: type)
        {
            logger.info("\(path): a \(type.name) stays in the file system; association \(association.id) does not export it")
        }
        return inode
    }

    /// `makeNode` of a regular file, and its open for writing, on the calling thread: O_CREAT for the
    /// mount's request threads (which may block), with no task and no thread switch.
    package func createBlocking(parent: InodeNumber, name: String, perm: UInt32, uid: UInt32, gid: UInt32) throws -> (Inode, HandleID) {
        try checkNewNode(name: name, type: .regular, target: nil)
        let now = nowNanoseconds()
        let inode = try store.writeBlocking { db in
            try self.insertNode(db, parent: parent, name: name, type: .regular, perm: perm, uid: uid, gid: gid, target: nil, rdev: 0, now: now)
        }
        return (inode, try addHandle(inode, mode: OpenMode(write: true), created: true))
    }

    private func checkNewNode(name: String, type: FileType, target: String?) throws {
        try checkName(name)
        if type == .symlink {
            guard let target, !target.isEmpty, target.utf8.count <= 4095 else {
                throw FileSystemError.invalid("a symlink needs a target of 1 to 4095 bytes")
            }
        }
    }

    /// The new inode and its name, and the parent's times and link count, in one transaction.
    private func insertNode(
        _ db: MetadataTransaction, parent: InodeNumber, name: String, type: FileType, perm: UInt32, uid: UInt32, gid: UInt32,
        target: String?, rdev: UInt64, now: Int64
    ) throws -> Inode {
        guard var directory = try db.inode(parent) else { throw FileSystemError.notFound("inode \(parent)") }
        guard directory.type == .directory else { throw FileSystemError.notDirectory("inode \(parent)") }
        if try db.entry(parent: parent, name: name) != nil { throw FileSystemError.exists(name) }
        // A setgid directory gives what is made in it its group, and a directory its setgid bit too.
        var (perm, gid) = (perm, gid)
        if directory.perm & UInt32(S_ISGID) != 0 {
            gid = directory.gid
            if type == .directory { perm |= UInt32(S_ISGID) }
        }
        var inode = Inode(
            type: type, perm: perm, uid: uid, gid: gid, size: type == .symlink ? Int64(target?.utf8.count ?? 0) : 0,
            time: now, nlink: type == .directory ? 2 : 1, target: target,
            rdev: type == .characterDevice || type == .blockDevice ? rdev : 0)
        inode = try db.insertInode(inode)
        try db.link(parent: parent, name: name, ino: inode.ino)
        directory.mtime = now
        directory.ctime = now
        if type == .directory { directory.nlink += 1 }
        try db.update(directory)
        // Directories and symlinks are complete at creation; regular files export when last closed;
        // special files are never exported.
        if type == .directory || type == .symlink { try queueSync(db, inode.ino) }
        return inode
    }

    /// A hard link: another name for a regular file (exported as a separate object, as FSx does).
    package func link(_ ino: InodeNumber, parent: InodeNumber, name: String) async throws -> Inode {
        try checkName(name)
        let now = nowNanoseconds()
        let inode = try await store.write { db -> Inode in
            guard var inode = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            guard inode.type != .directory else { throw FileSystemError(EPERM, "hard links to directories are not allowed") }
            guard var directory = try db.inode(parent), directory.type == .directory else { throw FileSystemError.notDirectory("inode \(parent)") }
            if try db.entry(parent: parent, name: name) != nil { throw FileSystemError.exists(name) }
            try db.link(parent: parent, name: name, ino: ino)
            directory.mtime = now
            directory.ctime = now
            try db.update(directory)
            inode.nlink += 1
            inode.ctime = now
            try db.update(inode)
            try self.queueSync(db, ino)
            return inode
        }
        return overlay(inode)
    }

    /// Removes a name; `directory` selects rmdir's rules. The object of an exported file is deleted from the
    /// repository when the association's AutoExportPolicy has DELETED.
    package func remove(parent: InodeNumber, name: String, directory: Bool) async throws {
        let now = nowNanoseconds()
        let freed = try await store.write { db in try self.removeEntry(db, parent: parent, name: name, directory: directory, now: now) }
        if freed > 0 { space.free(freed) }
    }

    /// `remove` on the calling thread, for the mount's request threads (which may block).
    package func removeBlocking(parent: InodeNumber, name: String, directory: Bool) throws {
        let now = nowNanoseconds()
        let freed = try store.writeBlocking { db in try self.removeEntry(db, parent: parent, name: name, directory: directory, now: now) }
        if freed > 0 { space.free(freed) }
    }

    /// The name, and the inode when it was its last, in one transaction with the export deletes it queues.
    /// Returns the bytes of local data freed.
    private func removeEntry(_ db: MetadataTransaction, parent: InodeNumber, name: String, directory: Bool, now: Int64) throws -> Int64 {
        guard let entry = try db.entry(parent: parent, name: name) else { throw FileSystemError.notFound(name) }
        guard var inode = try db.inode(entry.ino) else { throw FileSystemError.notFound(name) }
        if directory {
            guard inode.type == .directory else { throw FileSystemError.notDirectory(name) }
            if try db.hasChildren(inode.ino) { throw FileSystemError.notEmpty(name) }
            if try associationRoot(db, inode.ino) != nil {
                throw FileSystemError(EBUSY, "\(name) is the directory of a data repository association; delete the association first")
            }
        } else if inode.type == .directory {
            throw FileSystemError.isDirectory(name)
        }
        // The repository key of this name, computed before the name goes.
        let key = try repositoryKey(db, parent: parent, name: name, type: inode.type)
        try db.unlinkEntry(parent: parent, name: name)
        if var parentInode = try db.inode(parent) {
            parentInode.mtime = now
            parentInode.ctime = now
            if inode.type == .directory { parentInode.nlink -= 1 }
            try db.update(parentInode)
        }
        if let (association, key) = key, inode.archivedEtag != nil || inode.hsm.flags.contains(.exists),
            association.autoExport.contains(.deleted)
        {
            // A hard-linked file losing the name its object is recorded under is exported under the
            // next name first; the delete waits for that (the worker runs one inode's entries in order).
            if inode.type == .regular && inode.nlink > 1 && inode.archivedKey == key { try queueSync(db, inode.ino) }
            try queueDelete(db, key: key, association: association.id, forced: false, after: inode.ino)
        }
        inode.nlink -= inode.type == .directory ? 2 : 1
        inode.ctime = now
        let stillOpen = openTable.withLock { $0.openFiles[inode.ino] != nil }
        if inode.nlink <= 0 && !stillOpen {
            try db.deleteInode(inode.ino)
            if inode.type == .regular {
                removeCacheFileAfterCommit(db, inode.ino)
                return inode.isReleased ? 0 : inode.size
            }
            return 0
        }
        try db.update(inode)
        return 0
    }

    package struct RenameFlags: OptionSet, Sendable {
        package let rawValue: UInt32
        package init(rawValue: UInt32) { self.rawValue = rawValue }
        /// RENAME_NOREPLACE
        package static let noReplace = RenameFlags(rawValue: 1)
        /// RENAME_EXCHANGE
        package static let exchange = RenameFlags(rawValue: 2)
    }

    /// rename(2): replaces a target of the same kind (an empty directory for a directory), or exchanges the
    /// two names. Every moved object is exported anew and its old object deleted (a directory's whole subtree).
    package func rename(parent: InodeNumber, name: String, newParent: InodeNumber, newName: String, flags: RenameFlags = []) async throws {
        try checkName(newName)
        let now = nowNanoseconds()
        let freed = try await store.write { db -> Int64 in
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
                let deletes =
                    try self.subtreeDeletes(db, parent: parent, name: name, inode: moving)
                    + self.subtreeDeletes(db, parent: newParent, name: newName, inode: other)
                try db.repoint(parent: parent, name: name, to: other.ino)
                try db.repoint(parent: newParent, name: newName, to: moving.ino)
                if moving.type == .directory && other.type != .directory && parent != newParent {
                    try db.adjustLinkCount(parent, by: -1)
                    try db.adjustLinkCount(newParent, by: 1)
                } else if other.type == .directory && moving.type != .directory && parent != newParent {
                    try db.adjustLinkCount(parent, by: 1)
                    try db.adjustLinkCount(newParent, by: -1)
                }
                try self.queueSubtreeSync(db, moving.ino)
                try self.queueSubtreeSync(db, other.ino)
                try self.queue(deletes, db)
                // Both objects moved: both changed.
                try db.setChangeTime(other.ino, to: now)
            } else {
                try self.checkRenameKeepsData(
                    db, moving: moving, from: try self.childPath(db, parent, name),
                    to: try self.childPath(db, newParent, newName))
                var replacedDelete: [PendingDelete] = []
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
                    // The replaced object is overwritten by the moved one's export, unless the moved one leaves
                    // again (or is unlinked) first: then nobody writes that key and this delete removes it. It
                    // runs after the moved inode's sync and keeps an object that inode exported there.
                    if let (association, key) = try self.repositoryKey(db, parent: newParent, name: newName, type: replaced.type),
                        replaced.archivedEtag != nil || replaced.hsm.flags.contains(.exists),
                        association.autoExport.contains(.deleted)
                    {
                        replacedDelete = [PendingDelete(key: key, association: association.id, ino: moving.ino)]
                    }
                    try db.unlinkEntry(parent: newParent, name: newName)
                    replaced.nlink -= replaced.type == .directory ? 2 : 1
                    replaced.ctime = now
                    if replaced.type == .directory {
                        try db.adjustLinkCount(newParent, by: -1)
                    }
                    let open = self.openTable.withLock { $0.openFiles[replaced.ino] != nil }
                    if replaced.nlink <= 0 && !open {
                        try db.deleteInode(replaced.ino)
                        if replaced.type == .regular {
                            self.removeCacheFileAfterCommit(db, replaced.ino)
                            if !replaced.isReleased { freed = replaced.size }
                        }
                    } else {
                        try db.update(replaced)
                    }
                }
                let deletes = try self.subtreeDeletes(db, parent: parent, name: name, inode: moving) + replacedDelete
                try db.unlinkEntry(parent: parent, name: name)
                try db.link(parent: newParent, name: newName, ino: moving.ino)
                if moving.type == .directory && parent != newParent {
                    try db.adjustLinkCount(parent, by: -1)
                    try db.adjustLinkCount(newParent, by: 1)
                }
                try self.queueSubtreeSync(db, moving.ino)
                try self.queue(deletes, db)
            }
            for directory in Set([parent, newParent]) {
                try db.touchDirectory(directory, at: now)
            }
            moving = try db.inode(moving.ino) ?? moving
            moving.ctime = now
            try db.update(moving)
            return freed
        }
        if freed > 0 { space.free(freed) }
    }

    /// chmod, chown, utimens and truncate. Metadata changes export as metadata updates; a truncate is a data
    /// change (a released file is restored first unless it is truncated to zero).
    package func setAttributes(_ ino: InodeNumber, _ changes: AttributeChanges) async throws -> Inode {
        if let size = changes.size {
            guard size >= 0 else { throw FileSystemError.invalid("a size cannot be negative") }
            try await truncate(ino, to: size)
        }
        let now = nowNanoseconds()
        let metadataChanged = changes.perm != nil || changes.uid != nil || changes.gid != nil || changes.atime != nil || changes.mtime != nil
        let inode = try await store.write { db -> Inode in
            guard var inode = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            if let perm = changes.perm { inode.perm = perm & 0o7777 }
            if let uid = changes.uid { inode.uid = uid }
            if let gid = changes.gid { inode.gid = gid }
            if let atime = changes.atime { inode.atime = atime }
            if let mtime = changes.mtime {
                inode.mtime = mtime
                self.openTable.withLock { state in state.openFiles[ino]?.mtime = nil }
            }
            inode.ctime = now
            if metadataChanged {
                inode.metaVersion += 1
                try db.update(inode)
                // Exported objects get their metadata updated; a file still being written exports at close
                // (an export that runs meanwhile skips it as open for writing, so its close must know).
                try self.queueSync(db, ino)
                self.openTable.withLock { state in state.openFiles[ino]?.changed = true }
            } else {
                try db.update(inode)
            }
            return inode
        }
        return overlay(inode)
    }

    func truncate(_ ino: InodeNumber, to size: Int64) async throws {
        let inode = try await attributes(ino)
        guard inode.type == .regular else {
            if inode.type == .directory { throw FileSystemError.isDirectory("inode \(ino)") }
            throw FileSystemError.invalid("inode \(ino) is a \(inode.type.name), which has no size to set")
        }
        if inode.isReleased {
            if size == 0 {
                try await discardReleasedData(ino)
            } else {
                try await restore(ino, wait: true)
            }
        }
        let current = overlay(try await attributes(ino))
        try space.reserve(size - current.size, for: "truncating inode \(ino)")
        try cache.truncate(ino, to: size)
        let now = nowNanoseconds()
        try await store.write { db in
            guard var fresh = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            fresh.size = size
            fresh.mtime = now
            fresh.ctime = now
            fresh.dataVersion += 1
            fresh.hsm = try HSMRules.dataChanged(fresh.hsm)
            try db.update(fresh)
            if self.openTable.withLock({ $0.openFiles[ino] == nil }) { try self.queueSync(db, ino) }
        }
        openTable.withLock { state in
            if var open = state.openFiles[ino] {
                open.size = size
                open.mtime = now
                open.changed = true
                state.openFiles[ino] = open
            }
        }
    }

    /// O_TRUNC or truncate-to-zero of a released file: no need to fetch data that is about to be discarded.
    /// Decided in the MDT first (a restore that just finished leaves the file's data alone); then a restore of the
    /// old data still running is ended, so none of its bytes lands in the emptied cache file.
    func discardReleasedData(_ ino: InodeNumber) async throws {
        let discarded = try await store.write { db -> Bool in
            guard var inode = try db.inode(ino) else { throw FileSystemError.notFound("inode \(ino)") }
            guard inode.isReleased else { return false }
            inode.hsmFlags &= ~HSMFlags.released.rawValue
            inode.size = 0
            inode.dataVersion += 1
            inode.hsm = try HSMRules.dataChanged(inode.hsm)
            try db.update(inode)
            return true
        }
        guard discarded else { return }
        if let restore = restores.running(ino)?.task {
            restore.cancel()
            await restore.value
        }
        try cache.createEmpty(ino)
    }

    // MARK: Associations of paths

    /// The association whose directory is exactly `ino`, if any.
    func associationRoot(_ db: MetadataTransaction, _ ino: InodeNumber) throws -> Association? {
        guard ino != MetadataStore.rootInode || associationTable.contains(where: { $0.fileSystemPath == "/" }) else { return nil }
        guard let path = try db.path(of: ino) else { return nil }
        return associationTable.first { $0.fileSystemPath == path && $0.lifecycle != .failed }
    }

    /// The association containing `path` and the path's repository key (nil outside every association and
    /// for the association's own directory).
    func association(containing path: String, type: FileType) -> (Association, String)? {
        let associations = associationTable.all
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

    func childPath(_ db: MetadataTransaction, _ parent: InodeNumber, _ name: String) throws -> String {
        guard let parentPath = try db.path(of: parent) else { throw FileSystemError.notFound("inode \(parent)") }
        return parentPath == "/" ? "/" + name : parentPath + "/" + name
    }

    func repositoryKey(_ db: MetadataTransaction, parent: InodeNumber, name: String, type: FileType) throws -> (Association, String)? {
        guard let parentPath = try db.path(of: parent) else { return nil }
        let path = parentPath == "/" ? "/" + name : parentPath + "/" + name
        return association(containing: path, type: type)
    }
}
