import DataRepository
import Foundation
import HSM
import RepositoryMetadata

#if canImport(Glibc)
import Glibc
#endif

/// What an import, sweep or batch of events did.
package struct ImportReport: Sendable, Hashable {
    package var created = 0
    package var updated = 0
    package var deleted = 0
    package var unchanged = 0
    /// Paths changed in the repository and locally; the local file was kept (see `applyObject`).
    package var conflicts: [String] = []
    /// Keys that cannot be files (not POSIX names, too long, a file where a directory must be) and why.
    package var skipped: [String: String] = [:]
    /// Paths whose attributes could not be read, with the FSx error code.
    package var failed: [String: String] = [:]
    /// Seconds until every listed name was in the namespace (the attributes may still be arriving).
    package var namespaceSeconds: Double = 0
    /// Seconds until the attributes of every imported entry had arrived too.
    package var totalSeconds: Double = 0

    package init() {}
}

/// Import: listings become released stubs at once, POSIX attributes follow from HeadObject with bounded
/// parallelism (and on demand, first, for a stub someone looks at). The same rules apply a listing, a
/// sweep and auto-import events, so they cannot disagree.
extension FileSystem {
    enum ObjectOutcome { case created(InodeNumber), updated(InodeNumber), unchanged, conflict(String), skipped(String), deleted(Int64) }

    /// Imports (or reconciles) an association with its repository: `allowed` says which kinds of changes
    /// apply (an import task takes all three; a sweep takes the AutoImportPolicy).
    package func reconcile(_ associationId: String, allowed: Set<RepositoryEventType>, subpath: String? = nil) async throws -> ImportReport {
        guard let association = associationTable.find(associationId) else {
            throw AssociationError(.notFound, "data repository association \(associationId) does not exist")
        }
        let repository = try repository(for: association)
        let root = try await resolve(association.fileSystemPath)
        let prefix = association.location.prefix + (subpath.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? "")
        let started = nowNanoseconds()
        let clock = Date()
        let report = Locked(ImportReport())
        let listed = Locked(Set<String>())
        let keepKeys = allowed.contains(.deleted)
        let pending = Locked<[InodeNumber]>([])
        // The listing runs alone first: the namespace appears as fast as the repository lists, and any
        // stub someone looks at meanwhile gets its attributes on demand. Then the HeadObject calls for the
        // rest run with bounded parallelism (on a single-process endpoint they would only slow the listing).
        for try await page in repository.list(prefix: prefix) {
            if keepKeys { listed.withLock { $0.formUnion(page.map(\.key)) } }
            let outcomes = try await store.write { db in
                var directories: [String: InodeNumber] = [:]
                return try page.map { object in
                    (
                        object.key,
                        try self.applyObject(
                            db, association, root: root.ino, object: object, allowed: allowed,
                            directories: &directories)
                    )
                }
            }
            freeReleasedSpace()
            report.withLock { report in
                for (key, outcome) in outcomes { report.count(outcome, key: key) }
            }
            pending.withLock { pending in
                for (_, outcome) in outcomes {
                    if case .created(let ino) = outcome { pending.append(ino) }
                    if case .updated(let ino) = outcome { pending.append(ino) }
                }
            }
        }
        report.withLock { $0.namespaceSeconds = Date().timeIntervalSince(clock) }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for ino in pending.withLock({ $0 }) {
                if running >= options.headConcurrency {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.fetchAttributes(of: ino) }
                running += 1
            }
        }
        freeReleasedSpace()
        if allowed.contains(.deleted) {
            let keys = listed.withLock { $0 }
            let removed = try await removeMissing(association, root: root.ino, prefix: prefix, listed: keys, before: started)
            report.withLock { $0.deleted += removed }
        }
        let failures = try await store.read { db in
            try db.inodesAwaitingAttributes(keyPrefix: prefix)
        }
        report.withLock { report in
            for inode in failures { report.failed[inode.archivedKey ?? "?"] = "S3AccessDenied" }
        }
        if allowed.contains(.new) { exportSignal.fire() }
        let final = report.withLock { report in
            report.totalSeconds = Date().timeIntervalSince(clock)
            return report
        }
        transfers.add(associationId, imported: final.created + final.updated)
        return final
    }

    /// Applies one repository object to the namespace. The conflict rule: a local file with changes the
    /// repository does not have (dirty, never exported, or open for writing) is kept when its object changes,
    /// and the conflict is logged; auto-export then writes the local version back. Otherwise the repository
    /// wins: the local copy is dropped and the file becomes a released stub of the new object.
    func applyObject(
        _ db: MetadataTransaction, _ association: Association, root: InodeNumber, object: RepositoryObject,
        allowed: Set<RepositoryEventType>, directories: inout [String: InodeNumber]
    ) throws -> ObjectOutcome {
        guard let (relative, kind) = RepositoryKey.relativePath(of: object.key, under: association.location.prefix) else {
            if object.key == association.location.prefix { return .unchanged }
            return .skipped(object.key.utf8.count > 1024 ? "PathSizeTooLong" : "not a POSIX path")
        }
        // Our own export seen again, or a listing older than our last write or delete of the key (the file
        // may have been renamed or removed since): nothing to import.
        if echoes.isOwnEcho(object) { return .unchanged }
        let now = nowNanoseconds()
        var components = relative.split(separator: "/").map(String.init)
        let name = components.removeLast()
        guard name.utf8.count <= 255 else { return .skipped("a name longer than 255 bytes") }
        var parent = root
        var walked = ""
        for component in components {
            walked += "/" + component
            if let known = directories[walked] { parent = known; continue }
            if let entry = try db.entry(parent: parent, name: component) {
                guard let inode = try db.inode(entry.ino), inode.type == .directory else {
                    return .skipped("\(walked) is a file in the file system, so it cannot be a directory")
                }
                parent = entry.ino
            } else {
                guard allowed.contains(.new) else { return .unchanged }
                var directory = Inode(type: .directory, perm: 0o755, uid: 0, gid: 0, time: object.lastModifiedNanoseconds, nlink: 2)
                directory = try db.insertInode(directory)
                try db.link(parent: parent, name: component, ino: directory.ino)
                try db.adjustLinkCount(parent, by: 1)
                noteExternal(.entry(parent: parent, name: component))
                logger.debug("import: \(object.key) (\(object.etag), modified \(object.lastModifiedNanoseconds)) made directory \(walked)")
                parent = directory.ino
            }
            directories[walked] = parent
        }
        let path = walked + "/" + name
        let existing = try db.entry(parent: parent, name: name).flatMap { try db.inode($0.ino) }
        if kind == .directory {
            if var inode = existing {
                guard inode.type == .directory else { return .skipped("\(path) is a file in the file system") }
                guard inode.archivedEtag != object.etag || inode.archivedKey != object.key else { return .unchanged }
                inode.archivedKey = object.key
                inode.archivedEtag = object.etag
                inode.archivedAt = now
                inode.archivedMetaVersion = inode.metaVersion
                inode.attributesPending = true
                try db.update(inode)
                return .updated(inode.ino)
            }
            guard allowed.contains(.new) else { return .unchanged }
            var directory = Inode(type: .directory, perm: 0o755, uid: 0, gid: 0, time: object.lastModifiedNanoseconds, nlink: 2)
            directory.archivedKey = object.key
            directory.archivedEtag = object.etag
            directory.archivedAt = now
            directory.attributesPending = true
            directory = try db.insertInode(directory)
            try db.link(parent: parent, name: name, ino: directory.ino)
            try db.adjustLinkCount(parent, by: 1)
            noteExternal(.entry(parent: parent, name: name))
            directories[path] = directory.ino
            logger.debug("import: \(object.key) (\(object.etag), modified \(object.lastModifiedNanoseconds)) made directory \(path)")
            return .created(directory.ino)
        }
        guard var inode = existing else {
            guard allowed.contains(.new) else { return .unchanged }
            var stub = Inode(type: .regular, perm: 0o755, uid: 0, gid: 0, size: object.size, time: object.lastModifiedNanoseconds)
            stub.hsm = HSMState.imported(archiveId: association.archiveId)
            stub.archivedKey = object.key
            stub.archivedEtag = object.etag
            stub.archivedDataVersion = 0
            stub.archivedMetaVersion = 0
            stub.archivedAt = now
            stub.attributesPending = true
            stub = try db.insertInode(stub)
            try db.link(parent: parent, name: name, ino: stub.ino)
            noteExternal(.entry(parent: parent, name: name))
            logger.debug("import: \(object.key) (\(object.etag), modified \(object.lastModifiedNanoseconds)) made file \(path)")
            return .created(stub.ino)
        }
        guard inode.type != .directory else { return .skipped("\(path) is a directory in the file system") }
        if inode.archivedEtag == object.etag && inode.archivedKey == object.key { return .unchanged }
        guard allowed.contains(.changed) else { return .unchanged }
        let writers = openTable.withLock { $0.openFiles[inode.ino]?.writers ?? 0 }
        let flags = inode.hsm.flags
        if inode.type.isSpecial || (inode.type == .regular && (writers > 0 || flags.contains(.dirty) || !flags.contains(.exists))) {
            logger.warning("conflict: \(association.fileSystemPath)\(path) changed in \(object.key) and in the file system; the local file is kept")
            return .conflict(association.fileSystemPath + path)
        }
        if inode.type == .regular && !inode.isReleased {
            retireLocalData(inode.ino)
            removeCacheFileAfterCommit(db, inode.ino)
            space.freeAfterCommit(inode.size)
        }
        inode.type = .regular
        inode.target = nil
        inode.size = object.size
        inode.mtime = object.lastModifiedNanoseconds
        inode.ctime = now
        inode.hsm = HSMState(
            flags: HSMState.imported().flags.union(flags.intersection([.noRelease, .noArchive])),
            archiveId: association.archiveId)
        inode.dataVersion += 1
        inode.archivedDataVersion = inode.dataVersion
        inode.archivedMetaVersion = inode.metaVersion
        inode.archivedKey = object.key
        inode.archivedEtag = object.etag
        inode.archivedAt = now
        inode.attributesPending = true
        try db.update(inode)
        noteExternal(.inode(inode.ino))
        return .updated(inode.ino)
    }

    /// An open file whose object changed: readers holding it keep the old descriptor until they close,
    /// the next read restores the new data.
    func retireLocalData(_ ino: InodeNumber) {
        openTable.withLock { state in
            guard var file = state.openFiles[ino], file.fd >= 0 else { return }
            file.retired.append(file.fd)
            file.fd = -1
            state.openFiles[ino] = file
        }
    }

    /// After a transaction that changed the namespace from the repository's side committed: returns the
    /// space of dropped local copies and tells the observer (the mount) what changed.
    func freeReleasedSpace() {
        space.commitFreed()
        externalChanges.tell()
    }

    func noteExternal(_ change: ExternalChange) {
        externalChanges.note(change)
    }

    /// Registers who is told of changes the kernel did not see (one observer: the mount).
    package func observeExternalChanges(_ observer: (@Sendable ([ExternalChange]) -> Void)?) {
        externalChanges.observe(observer)
    }

    /// Removes files and directories whose objects are gone: only what was imported or exported, is clean,
    /// and was archived before the listing started (so a file exported during the listing is not lost).
    func removeMissing(_ association: Association, root: InodeNumber, prefix: String, listed: Set<String>, before: Int64) async throws -> Int {
        let removed = try await store.write { db -> Int in
            var count = 0
            let members = try db.subtree(root).filter { $0.ino != root }
            // Files first, then directories deepest first (an emptied directory can go in the same pass).
            for inode in members where inode.type != .directory {
                guard let key = inode.archivedKey, key.hasPrefix(prefix), !listed.contains(key),
                    let archivedAt = inode.archivedAt, archivedAt < before
                else { continue }
                if inode.type == .regular && (!inode.hsm.flags.contains(.exists) || inode.hsm.flags.contains(.dirty)) { continue }
                if try self.drop(db, inode) { count += 1 }
            }
            count += try self.dropEmptyDirectories(
                db,
                members.filter { inode in
                    guard inode.type == .directory, let key = inode.archivedKey, key.hasPrefix(prefix), !listed.contains(key),
                        let archivedAt = inode.archivedAt
                    else { return false }
                    return archivedAt < before
                })
            return count
        }
        freeReleasedSpace()
        return removed
    }

    /// Drops the directories among `candidates` that are (or become) empty, children before parents; SQL gives
    /// a subtree in no particular order, so this repeats until a pass drops nothing. Returns how many went.
    func dropEmptyDirectories(_ db: MetadataTransaction, _ candidates: [Inode]) throws -> Int {
        var remaining = candidates
        var dropped = 0
        while true {
            var kept: [Inode] = []
            for inode in remaining {
                if try db.hasChildren(inode.ino) { kept.append(inode) } else if try drop(db, inode) { dropped += 1 }
            }
            if kept.count == remaining.count { return dropped }
            remaining = kept
        }
    }

    /// Removes every name of an inode that vanished from the repository (not exported as a delete).
    func drop(_ db: MetadataTransaction, _ inode: Inode) throws -> Bool {
        let writers = openTable.withLock { $0.openFiles[inode.ino]?.writers ?? 0 }
        guard writers == 0 else { return false }
        for link in try db.links(of: inode.ino) {
            try db.unlinkEntry(parent: link.parent, name: link.name)
            noteExternal(.entry(parent: link.parent, name: link.name))
            if inode.type == .directory {
                try db.adjustLinkCount(link.parent, by: -1)
            }
        }
        let open = openTable.withLock { $0.openFiles[inode.ino] != nil }
        if open {
            try db.setLinkCount(inode.ino, to: 0)
        } else {
            try db.deleteInode(inode.ino)
            if inode.type == .regular {
                removeCacheFileAfterCommit(db, inode.ino)
                if !inode.isReleased { space.freeAfterCommit(inode.size) }
            }
        }
        return true
    }

    // MARK: Attributes from HeadObject

    /// Fetches the POSIX attributes of an imported stub once, however many callers ask at the same time.
    func fetchAttributes(of ino: InodeNumber) async {
        let task = state.withLock { state -> Task<Void, Never> in
            if let running = state.attributeFetches[ino] { return running }
            let task = Task { await self.loadAttributes(ino) }
            state.attributeFetches[ino] = task
            return task
        }
        await task.value
        state.withLock { state in
            if state.attributeFetches[ino] == task { state.attributeFetches[ino] = nil }
        }
    }

    func loadAttributes(_ ino: InodeNumber) async {
        guard let (inode, path) = try? await store.read({ db in (try db.inode(ino), try db.path(of: ino)) }),
            let inode, inode.attributesPending, let key = inode.archivedKey,
            let association = associationOwning(key: key, at: path, type: inode.type)
        else { return }
        do {
            let repository = try repository(for: association)
            guard let head = try await repository.head(key: key) else {
                // Deleted between the listing and now: the stub goes (if nothing local depends on it).
                try await store.write { db in
                    guard let fresh = try db.inode(ino), fresh.attributesPending, fresh.archivedEtag == inode.archivedEtag else { return }
                    if try fresh.type == .directory && db.hasChildren(ino) {
                        var kept = fresh
                        kept.attributesPending = false
                        try db.update(kept)
                    } else {
                        _ = try self.drop(db, fresh)
                    }
                }
                freeReleasedSpace()
                return
            }
            let typeBits = inode.type == .directory ? PosixMetadata.directoryType : PosixMetadata.regularFileType
            let metadata: PosixMetadata
            switch PosixMetadata.parse(head.userMetadata, type: typeBits) {
            case .success(let parsed): metadata = parsed
            case .failure(let error):
                logger.warning("\(key): \(error); imported as owner root, group root, mode 0755")
                metadata = PosixMetadata.defaults(type: typeBits)
            }
            var target: String?
            if inode.type == .regular && metadata.fileType == PosixMetadata.symlinkType && head.object.size <= 4096 {
                let body = Locked(Data())
                try await repository.read(key: key, range: 0..<head.object.size, etag: head.object.etag) { _, bytes in
                    body.withLock { $0.append(contentsOf: bytes) }
                }
                target = String(decoding: body.withLock { $0 }, as: UTF8.self)
            }
            let symlinkTarget = target
            try await store.writeGrouped { db in
                guard var fresh = try db.inode(ino), fresh.attributesPending, fresh.archivedEtag == inode.archivedEtag else { return }
                fresh.perm = metadata.permissions
                fresh.uid = metadata.uid
                fresh.gid = metadata.gid
                if let mtime = metadata.mtimeNanoseconds { fresh.mtime = mtime; fresh.ctime = mtime }
                if let atime = metadata.atimeNanoseconds { fresh.atime = atime } else { fresh.atime = fresh.mtime }
                if head.object.etag != fresh.archivedEtag, fresh.type == .regular, fresh.isReleased {
                    // Replaced between the listing and the head: describe the object as it is now.
                    fresh.size = head.object.size
                    fresh.archivedEtag = head.object.etag
                }
                if let target = symlinkTarget, !target.isEmpty {
                    fresh.type = .symlink
                    fresh.target = target
                    fresh.size = Int64(target.utf8.count)
                    fresh.hsm = HSMState()
                }
                fresh.attributesPending = false
                try db.update(fresh)
                self.noteExternal(.inode(ino))
            }
            freeReleasedSpace()
        } catch {
            logger.error("reading the attributes of \(key) failed: \(error)")
        }
    }

    /// Stubs whose attributes were still to be fetched when the last process stopped.
    func fetchPendingAttributes() async {
        guard
            let pending = try? await store.read({ db in
                try db.inodesAwaitingAttributes()
            }), !pending.isEmpty
        else { return }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for ino in pending {
                if Task.isCancelled { break }
                if running >= options.headConcurrency {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.fetchAttributes(of: ino) }
                running += 1
            }
        }
    }

    // MARK: Auto-import events

    /// Applies events of an association's feed per its AutoImportPolicy. Events for keys this process is
    /// writing are ours coming back and are ignored (the export's result is what counts).
    package func apply(_ events: [RepositoryEvent], to associationId: String) async throws -> ImportReport {
        guard let association = associationTable.find(associationId) else {
            throw AssociationError(.notFound, "data repository association \(associationId) does not exist")
        }
        let allowed = association.autoImport
        let root = try await resolve(association.fileSystemPath)
        let repository = try repository(for: association)
        var report = ImportReport()
        var fetch: [InodeNumber] = []
        for event in events where !event.key.isEmpty && event.key.hasPrefix(association.location.prefix) {
            if echoes.isInFlight(event.key) { continue }
            switch event.kind {
            case .created:
                guard allowed.contains(.new) || allowed.contains(.changed) else { continue }
                // Events carry neither the time nor (from every source) the ETag: the head does.
                guard let head = try await repository.head(key: event.key) else { continue }
                let object = head.object
                let outcome = try await store.write { db in
                    var directories: [String: InodeNumber] = [:]
                    return try self.applyObject(db, association, root: root.ino, object: object, allowed: allowed, directories: &directories)
                }
                report.count(outcome, key: event.key)
                if case .created(let ino) = outcome { fetch.append(ino) }
                if case .updated(let ino) = outcome { fetch.append(ino) }
            case .removed:
                guard allowed.contains(.deleted), !echoes.isOwnDelete(event.key) else { continue }
                // A delete event may arrive after the key was written again: only act if it is really gone.
                if try await repository.head(key: event.key) != nil { continue }
                let removed = try await store.write { db -> Bool in
                    guard let (relative, _) = RepositoryKey.relativePath(of: event.key, under: association.location.prefix),
                        let rootPath = try db.path(of: root.ino),
                        let inode = try db.resolve((rootPath == "/" ? "" : rootPath) + "/" + relative),
                        inode.archivedKey == event.key
                    else { return false }
                    if inode.type == .directory {
                        guard !(try db.hasChildren(inode.ino)) else { return false }
                    } else if inode.type == .regular && (!inode.hsm.flags.contains(.exists) || inode.hsm.flags.contains(.dirty)) {
                        self.logger.warning("conflict: \(event.key) was deleted from the repository but changed locally; the local file is kept")
                        return false
                    }
                    return try self.drop(db, inode)
                }
                if removed { report.deleted += 1 }
            }
        }
        freeReleasedSpace()
        await withTaskGroup(of: Void.self) { group in
            for ino in fetch { group.addTask { await self.fetchAttributes(of: ino) } }
        }
        transfers.add(associationId, imported: report.created + report.updated)
        return report
    }
}

extension ImportReport {
    mutating func count(_ outcome: FileSystem.ObjectOutcome, key: String) {
        switch outcome {
        case .created: created += 1
        case .updated: updated += 1
        case .unchanged: unchanged += 1
        case .conflict(let path): conflicts.append(path)
        case .skipped(let why): skipped[key] = why
        case .deleted: deleted += 1
        }
    }
}
