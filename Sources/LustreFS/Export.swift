import DataRepository
import Foundation
import HSM
import RepositoryMetadata

#if canImport(Glibc)
import Glibc
#endif

/// Auto-export and hsm_archive: the export queue in the MDT, and the worker that brings the repository in
/// line with each queued inode (put, multipart put, metadata update, server-side copy for renamed released
/// files, delete).
extension FileSystem {
    // MARK: Queueing (inside the transaction of the change that causes it)

    func queueSync(_ db: MetadataTransaction, _ ino: InodeNumber, forced: Bool = false) throws {
        // Unasked (not hsm_archive, not an export task), a sync exports only under an AutoExportPolicy with NEW
        // or CHANGED; with none anywhere its entry would only cost the worker a read and two commits to skip.
        guard forced || associationTable.contains(where: { !$0.autoExport.isDisjoint(with: [.new, .changed]) }) else { return }
        let waiting = try db.untriedSyncs(of: ino, forced: forced)
        let running = movements.runningEntries
        // An entry not yet started will see this change; one already running may have read the inode before it.
        guard waiting.allSatisfy({ running.contains($0) }) else { return }
        let entry = ExportEntry(seq: nil, operation: .sync, ino: ino, key: nil, association: nil, forced: forced, attempts: 0, notBefore: 0)
        try db.enqueue(entry)
    }

    func queueDelete(_ db: MetadataTransaction, key: String, association: String, forced: Bool, after ino: InodeNumber? = nil) throws {
        let entry = ExportEntry(
            seq: nil, operation: .delete, ino: ino, key: key, association: association, forced: forced,
            attempts: 0, notBefore: 0)
        try db.enqueue(entry)
    }

    func queueSubtreeSync(_ db: MetadataTransaction, _ ino: InodeNumber) throws {
        for inode in try db.subtree(ino) { try queueSync(db, inode.ino) }
    }

    struct PendingDelete { var key: String; var association: String; var ino: InodeNumber }

    /// Before a rename: each exported object of the moving subtree is to be deleted from its old key once the
    /// inode's sync has written it under the new one (queued after the syncs; the worker keeps one inode's
    /// entries in order), and only if its association's AutoExportPolicy has DELETED and NEW.
    func subtreeDeletes(_ db: MetadataTransaction, parent: InodeNumber, name: String, inode: Inode) throws -> [PendingDelete] {
        guard let parentPath = try db.path(of: parent) else { return [] }
        let oldRoot = parentPath == "/" ? "/" + name : parentPath + "/" + name
        guard let (association, _) = association(containing: oldRoot, type: inode.type),
            association.autoExport.contains(.deleted), association.autoExport.contains(.new)
        else { return [] }
        return try db.subtree(inode.ino).flatMap { member -> [PendingDelete] in
            guard let archivedKey = member.archivedKey else { return [] }
            guard member.type == .regular && member.nlink > 1 else {
                return [PendingDelete(key: archivedKey, association: association.id, ino: member.ino)]
            }
            // A hard-linked file has an object per name: the names that move are those under the old root.
            return try db.links(of: member.ino).compactMap { link -> PendingDelete? in
                let path = try self.childPath(db, link.parent, link.name)
                guard path == oldRoot || path.hasPrefix(oldRoot + "/"),
                    let (owner, key) = self.association(containing: path, type: .regular)
                else { return nil }
                return PendingDelete(key: key, association: owner.id, ino: member.ino)
            }
        }
    }

    func queue(_ deletes: [PendingDelete], _ db: MetadataTransaction) throws {
        for delete in deletes {
            try queueDelete(db, key: delete.key, association: delete.association, forced: false, after: delete.ino)
        }
    }

    /// Refuses renames that would strand released data: a released file (or any directory) moving into
    /// another association or out of all of them. `mv` then copies, which restores the data on the way.
    func checkRenameKeepsData(_ db: MetadataTransaction, moving: Inode, from oldPath: String, to newPath: String) throws {
        let before = association(containing: oldPath, type: moving.type)?.0.id
        let after = association(containing: newPath, type: moving.type)?.0.id
        guard before != after else { return }
        if moving.type == .directory || moving.isReleased {
            throw FileSystemError(EXDEV, "\(oldPath) moves across a data repository association boundary; copy it instead")
        }
    }

    // MARK: Worker

    func runExportWorker() async {
        while !Task.isCancelled && !isClosed {
            let seen = exportSignal.current
            let batch: [ExportEntry]
            do {
                batch = try await runnableExports(limit: options.exportConcurrency * 4)
            } catch {
                if Task.isCancelled || isClosed { return }
                logger.error("reading the export queue failed: \(error)")
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                continue
            }
            if batch.isEmpty {
                let (pending, next) =
                    (try? await store.read { db in
                        (try db.queuedExportCount(), try db.earliestExportDue())
                    }) ?? (0, nil)
                if pending == 0 { exportDrained.fire() }
                let delay = next.map { max(0.05, Double($0 - nowNanoseconds()) / 1e9) } ?? 3600
                let timer = Task { [exportSignal] in
                    try? await Task.sleep(nanoseconds: UInt64(min(delay, 3600) * 1e9))
                    exportSignal.fire()
                }
                await exportSignal.wait(after: seen)
                timer.cancel()
                continue
            }
            do {
                try await runBatch(batch)
            } catch {
                if Task.isCancelled || isClosed { return }
                logger.error("marking queued exports running failed: \(error)")
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                continue
            }
            exportDrained.fire()
        }
    }

    /// Queue entries that may run now: in order, at most one per inode and per key, none overtaking an
    /// earlier entry of the same inode or key (a rename's delete waits for the put under the new key).
    func runnableExports(limit: Int) async throws -> [ExportEntry] {
        let all = try await store.read { db in
            try db.queuedExports(limit: 2048)
        }
        let now = nowNanoseconds()
        var blockedInodes = Set<InodeNumber>()
        var blockedKeys = Set<String>()
        var taken: [ExportEntry] = []
        for entry in all {
            let inoBlocked = entry.ino.map { blockedInodes.contains($0) } ?? false
            let keyBlocked = entry.key.map { blockedKeys.contains($0) } ?? false
            if let ino = entry.ino { blockedInodes.insert(ino) }
            if let key = entry.key { blockedKeys.insert(key) }
            guard !inoBlocked, !keyBlocked, entry.notBefore <= now else { continue }
            taken.append(entry)
            if taken.count == limit { break }
        }
        return taken
    }

    /// Runs queue entries, `exportConcurrency` at a time.
    func runBatch(_ batch: [ExportEntry]) async throws {
        // Marked running inside a write transaction, which SQLite orders against the transaction of any change:
        // a change that committed before sees an entry as not started and leaves its export to it, and the
        // entry's run reads its snapshot after, so it includes that change; a change after sees it running and
        // queues an entry of its own. Marked outside a transaction, a change could commit after a run read its
        // snapshot yet count on it, and its export would be lost until the next restart. The whole batch in
        // one transaction: a mark per entry was a commit per export.
        let seqs = batch.compactMap(\.seq)
        try await store.writeGrouped { _ in for seq in seqs { self.movements.entryStarted(seq) } }
        // Each run ends its own mark as it finishes; this ends those of runs a cancellation never started.
        defer { for seq in seqs { movements.entryEnded(seq) } }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for entry in batch {
                if running >= options.exportConcurrency {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.run(entry) }
                running += 1
            }
        }
    }

    /// Runs one queue entry, marked running by `runBatch`.
    private func run(_ entry: ExportEntry) async {
        guard let seq = entry.seq else { return }
        defer { movements.entryEnded(seq) }
        do {
            switch entry.operation {
            case .sync:
                if let ino = entry.ino { _ = try await sync(ino, forced: entry.forced) }
            case .delete:
                try await performDelete(entry)
            }
            try await store.writeGrouped { db in try db.dequeueExport(seq) }
            if let ino = entry.ino { movements.archiveWaits(ino, false) }
        } catch {
            // A file unlinked while its upload ran (its local data went with it) has nothing left to export.
            if entry.operation == .sync, let ino = entry.ino,
                (try? await store.read({ db in try db.inode(ino) == nil || db.path(of: ino) == nil })) == true
            {
                logger.info("export of inode \(ino) ended: the file was removed while it was exported")
                await logFailure(of: "dropping export entry \(seq)") { try await store.write { db in try db.dequeueExport(seq) } }
                movements.archiveWaits(ino, false)
                return
            }
            if let ino = entry.ino, entry.operation == .sync { movements.archiveWaits(ino, true) }
            let attempts = entry.attempts + 1
            let delay = Int64(min(60, 1 << min(attempts, 6))) * 1_000_000_000
            logger.warning(
                "export of \(entry.key ?? "inode \(entry.ino ?? 0)") failed (attempt \(attempts)), retrying in \(delay / 1_000_000_000) s: \(error)")
            // Not postponed, the entry is retried at once.
            await logFailure(of: "postponing export entry \(seq)") {
                try await store.writeGrouped { db in try db.postponeExport(seq, attempts: attempts, notBefore: nowNanoseconds() + delay) }
            }
        }
    }

    func performDelete(_ entry: ExportEntry) async throws {
        guard let key = entry.key, let associationId = entry.association,
            let association = associationTable.find(associationId)
        else { return }
        let repository = try repository(for: association)
        await keyLocks.lock(key)
        defer { keyLocks.unlock(key) }
        if try await liveFileOwns(key, in: association) {
            // A file now at this name was exported there after this delete was queued (an unlink, then a new
            // file or a rename onto the name): the object is that file's copy.
            return
        }
        if let holder = try await store.read({ db in try db.releasedInode(archivedAt: key, except: 0) }) {
            // The only copy of a released file's data (a renamed one whose copy to its new name did not
            // happen, one still open after its unlink or replaced by a rename): it stays. A file whose data is
            // local loses nothing by the delete (one still being written when its rename's delete runs is
            // exported under its new name at its last close), so its old object goes as FSx's would.
            let holderPath = await displayPath(holder)
            logger.info("\(key) is kept: it holds the data of released \(holderPath)")
            return
        }
        echoes.begin(key)
        defer { echoes.end(key) }
        try await repository.delete(key: key)
        echoes.remember(deleted: key)
        transfers.add(associationId, deleted: 1)
    }

    /// Whether the entry at the path `key` stands for in `association` has that key as its archived copy.
    func liveFileOwns(_ key: String, in association: Association) async throws -> Bool {
        guard key.hasPrefix(association.location.prefix) else { return false }
        var relative = String(key.dropFirst(association.location.prefix.count))
        if relative.hasSuffix("/") { relative.removeLast() }
        let base = association.fileSystemPath == "/" ? "" : association.fileSystemPath
        let path = base + "/" + relative
        return try await store.read { db in
            guard let inode = try db.resolve(path) else { return false }
            // Each name of an exported hard-linked file has an object of its own.
            return inode.archivedKey == key || (inode.type == .regular && inode.nlink > 1 && inode.archivedKey != nil)
        }
    }

    /// What an export did to one inode.
    package enum SyncOutcome: Sendable, Hashable { case unchanged, exported, skipped(String) }

    /// Brings the repository in line with one inode: writes what changed since its last export under its
    /// current key. Returns what it did; throws when the repository refused.
    @discardableResult
    func sync(_ ino: InodeNumber, forced: Bool) async throws -> SyncOutcome {
        let outcome = try await syncFirstName(ino, forced: forced)
        // Hard-linked files only; the record just committed is in the cache, so most files cost no read here.
        if outcome == .exported || outcome == .unchanged, let inode = try await store.inode(ino), inode.nlink > 1 {
            try await exportOtherNames(ino, forced: forced)
        }
        return outcome
    }

    /// FSx exports every hard link inside an association as an object of its own, and a change through any
    /// name updates all of them. Once the first name's object is current, each other name gets a copy of
    /// it: a server-side copy within the same repository, an upload of the local data into another one.
    /// Not recorded per name: a sync of a hard-linked file copies them all again (such files are rare).
    func exportOtherNames(_ ino: InodeNumber, forced: Bool) async throws {
        guard
            let (inode, paths) = try await store.read({ db -> (Inode, [String])? in
                guard let inode = try db.inode(ino), inode.type == .regular, inode.nlink > 1 else { return nil }
                return (inode, try db.links(of: ino).map { try self.childPath(db, $0.parent, $0.name) })
            }),
            let firstKey = inode.archivedKey, inode.archivedEtag != nil, let first = paths.first,
            let (firstAssociation, key) = association(containing: first, type: .regular), key == firstKey
        else { return }
        let metadata = PosixMetadata(
            mode: inode.mode, uid: inode.uid, gid: inode.gid, atimeNanoseconds: inode.atime, mtimeNanoseconds: inode.mtime
        ).userMetadata
        for path in paths.dropFirst() {
            guard let (association, key) = association(containing: path, type: .regular), key != firstKey, key.utf8.count <= 1024,
                forced || !association.autoExport.isDisjoint(with: [.new, .changed])
            else { continue }
            guard association.id == firstAssociation.id || !inode.isReleased else {
                logger.info("\(path): a hard link of a released file in another association is exported when the file is restored")
                continue
            }
            let repository = try repository(for: association)
            await keyLocks.lock(key)
            defer { keyLocks.unlock(key) }
            try await keepReleasedDataAt(key, exporting: ino, at: path)
            echoes.begin(key)
            defer { echoes.end(key) }
            let written =
                association.id == firstAssociation.id
                ? try await repository.copy(from: firstKey, to: key, userMetadata: metadata)
                : try await repository.write(key: key, contentsOf: cache.contentsPath(of: ino), userMetadata: metadata)
            echoes.remember(wrote: key, etag: written)
        }
    }

    /// Called with `key` locked, before anything is written there. A released file's data lives only in its
    /// object; when the file (or its directory) is renamed, its export copies the object to the new name. A
    /// file that takes the old name before that copy must not overwrite the object, or the released file's
    /// data is gone and its restore would read the newcomer's bytes. Waiting for the copy could wait forever
    /// (two released files swapped by renames each wait for the other), so the released file is restored
    /// instead: its data is then local, and its own export uploads it under its new name. Release refuses a
    /// file whose archived copy is not under its current name, so no file becomes such a holder meanwhile.
    /// `found`: the holder a read under the lock already found (an export's own read looks, so the common
    /// case, no holder, costs no read of its own); nil looks it up here.
    func keepReleasedDataAt(_ key: String, exporting ino: InodeNumber, at path: String, found: InodeNumber? = nil) async throws {
        func lookUp() async throws -> InodeNumber? { try await store.read { db in try db.releasedInode(archivedAt: key, except: ino) } }
        var next = found
        if next == nil { next = try await lookUp() }
        // A restore clears the holder; a bound only guards against a repository that keeps changing under us.
        for _ in 0..<3 {
            guard let holder = next else { return }
            let holderPath = await displayPath(holder)
            logger.info("\(path) is exported to \(key), which holds the only copy of released \(holderPath) (renamed since): restoring it first")
            try await restore(holder, wait: true)
            next = try await lookUp()
        }
        throw FileSystemError(EBUSY, "\(key) still holds the data of a released file renamed since its export; \(path) is exported later")
    }

    /// Exports the object of a file's first name (the one its `archivedKey` records). The key is locked through
    /// the commit, so a delete of it decides on what this export recorded. A released file's copy reads its
    /// old key: that key is locked too, and the inode read again under the locks, so neither a write to the
    /// old key nor a restore of this file by another export slips between the decision and the copy (two
    /// released files swapped by renames each copy the other's key).
    func syncFirstName(_ ino: InodeNumber, forced: Bool) async throws -> SyncOutcome {
        /// The inode, its path, and (with `key`) a released file other than this one still archived at `key`.
        func inodeAndPath(holderOf key: String? = nil) async throws -> (Inode, String, InodeNumber?)? {
            try await store.read { db -> (Inode, String, InodeNumber?)? in
                guard let inode = try db.inode(ino), let path = try db.path(of: ino) else { return nil }
                return (inode, path, try key.flatMap { try db.releasedInode(archivedAt: $0, except: ino) })
            }
        }
        func keysToLock(_ inode: Inode, _ key: String) -> [String] {
            guard inode.type == .regular, inode.isReleased, let source = inode.archivedKey, source != key else { return [key] }
            return [key, source].sorted()
        }
        for _ in 0..<3 {
            guard let (first, path, _) = try await inodeAndPath() else { return .skipped("the file no longer exists") }
            guard let (association, key) = association(containing: path, type: first.type) else {
                return .skipped("\(path) is outside every data repository association")
            }
            guard key.utf8.count <= 1024 else { return .skipped("PathSizeTooLong") }
            let keys = keysToLock(first, key)
            for locked in keys { await keyLocks.lock(locked) }
            defer { for locked in keys { keyLocks.unlock(locked) } }
            guard let (inode, current, holder) = try await inodeAndPath(holderOf: key) else { return .skipped("the file no longer exists") }
            guard current == path, keysToLock(inode, key) == keys else { continue }
            return try await export(inode, at: path, key: key, association: association, holder: holder, forced: forced)
        }
        throw FileSystemError(EBUSY, "inode \(ino) kept moving while it was exported; it is exported again later")
    }

    /// The export of `inode` at `path`, with its key (and a released file's source key) locked; `holder`: a
    /// released file whose only copy is still at `key`.
    private func export(
        _ inode: Inode, at path: String, key: String, association: Association, holder: InodeNumber?, forced: Bool
    ) async throws -> SyncOutcome {
        let ino = inode.ino
        let isNew = inode.archivedEtag == nil || inode.archivedKey != key
        if !forced {
            guard association.autoExport.contains(isNew ? .new : .changed) else { return .skipped("not in the AutoExportPolicy") }
            if inode.type == .regular && openTable.withLock({ ($0.openFiles[ino]?.writers ?? 0) > 0 }) {
                return .skipped("still open for writing; exported at its last close")
            }
        }
        if inode.type == .regular && inode.hsm.flags.contains(.noArchive) { return .skipped("never_archive") }
        let metadata = PosixMetadata(
            mode: inode.mode, uid: inode.uid, gid: inode.gid,
            atimeNanoseconds: inode.atime, mtimeNanoseconds: inode.mtime
        ).userMetadata
        let repository = try repository(for: association)
        if let holder, !inode.type.isSpecial { try await keepReleasedDataAt(key, exporting: ino, at: path, found: holder) }
        echoes.begin(key)
        defer { echoes.end(key) }
        var dataVersion = inode.dataVersion
        let etag: String
        switch inode.type {
        case .fifo, .characterDevice, .blockDevice, .socket:
            return .skipped("a \(inode.type.name) stays in the file system (FSx exports files, directories and symbolic links)")
        case .directory:
            guard isNew || inode.archivedMetaVersion != inode.metaVersion else { return .unchanged }
            etag = try await repository.write(key: key, data: Data(), userMetadata: metadata)
        case .symlink:
            guard isNew || inode.archivedMetaVersion != inode.metaVersion else { return .unchanged }
            etag = try await repository.write(key: key, data: Data((inode.target ?? "").utf8), userMetadata: metadata)
        case .regular:
            if inode.isReleased {
                guard let source = inode.archivedKey else { return .skipped("released without an archived copy") }
                if source != key {
                    etag = try await repository.copy(from: source, to: key, userMetadata: metadata)
                } else if inode.archivedMetaVersion != inode.metaVersion {
                    etag = try await repository.replaceMetadata(key: key, userMetadata: metadata)
                } else {
                    return .unchanged
                }
            } else {
                let current =
                    !isNew && inode.archivedDataVersion == inode.dataVersion && !inode.hsm.flags.contains(.dirty)
                    && !inode.hsm.flags.contains(.lost)
                if current {
                    guard inode.archivedMetaVersion != inode.metaVersion else { return .unchanged }
                    etag = try await repository.replaceMetadata(key: key, userMetadata: metadata)
                } else {
                    // The next write after this snapshot bumps the version again, so a file written during
                    // the upload stays dirty.
                    openTable.withLock { $0.openFiles[ino]?.versionBumped = false }
                    movements.archiveStarted(ino)
                    defer { movements.archiveEnded(ino) }
                    dataVersion = try await store.inode(ino)?.dataVersion ?? dataVersion
                    etag = try await repository.write(key: key, contentsOf: cache.contentsPath(of: ino), userMetadata: metadata)
                    movements.archiveMoved(ino, bytes: inode.size)
                }
            }
        }
        echoes.remember(wrote: key, etag: etag)
        let now = nowNanoseconds()
        let exportedVersion = dataVersion
        let recorded = try await store.writeGrouped { db -> Bool in
            // Unlinked or renamed while its data was on the way: the unlink queued no delete and the rename no
            // delete of this key (neither knew of an archived copy yet), so the object is nobody's.
            guard var fresh = try db.inode(ino), let current = try db.path(of: ino),
                self.association(containing: current, type: fresh.type)?.1 == key
            else { return false }
            fresh.archivedKey = key
            fresh.archivedEtag = etag
            fresh.archivedMetaVersion = inode.metaVersion
            fresh.archivedAt = now
            if fresh.type == .regular {
                if fresh.dataVersion == exportedVersion {
                    fresh.archivedDataVersion = exportedVersion
                    var flags = fresh.hsm.flags
                    flags.formUnion([.exists, .archived])
                    flags.subtract([.dirty, .lost])
                    fresh.hsm = HSMState(flags: flags, archiveId: fresh.archiveId == 0 ? association.archiveId : fresh.archiveId)
                } else {
                    // Written during the upload: the repository has an older version.
                    fresh.hsmFlags |= HSMFlags.exists.rawValue
                }
            }
            try db.update(fresh)
            return true
        }
        guard recorded else {
            if try await !liveFileOwns(key, in: association) {
                do {
                    try await repository.delete(key: key)
                    echoes.remember(deleted: key)
                } catch {
                    // Retried from the queue like any delete.
                    try await store.write { db in try self.queueDelete(db, key: key, association: association.id, forced: false) }
                }
            }
            return .skipped("\(path) was removed or renamed while it was exported")
        }
        transfers.add(association.id, exported: 1)
        return .exported
    }

    /// Records an object this process wrote, so its echo (event or listing) is not taken for a change.
    /// Waits until the export queue is empty (or `timeout` seconds passed); returns whether it is.
    @discardableResult
    package func waitForExports(timeout: Double = 120) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let seen = exportDrained.current
            let pending = try await store.read { db in try db.queuedExportCount() }
            if pending == 0 { return true }
            if Date() >= deadline {
                await logQueuedExports(pending)
                return false
            }
            exportSignal.fire()
            let timer = Task { [exportDrained] in
                try? await Task.sleep(nanoseconds: 200_000_000)
                exportDrained.fire()
            }
            await exportDrained.wait(after: seen)
            timer.cancel()
        }
    }

    /// Says what is still queued when a wait for exports gives up: which entries, how often they failed,
    /// when they are due, and whether they are running now.
    private func logQueuedExports(_ pending: Int) async {
        let entries = (try? await store.read { db in try db.queuedExports(limit: 8) }) ?? []
        let running = movements.runningEntries
        let now = nowNanoseconds()
        let described = entries.map { entry -> String in
            let target = entry.key ?? "inode \(entry.ino ?? 0)"
            let due = entry.notBefore > now ? "due in \((entry.notBefore - now) / 1_000_000) ms" : "due"
            let state = entry.seq.map { running.contains($0) } == true ? "running" : "waiting"
            return "#\(entry.seq ?? 0) \(entry.operation.rawValue) \(target), \(entry.attempts) failed, \(due), \(state)"
        }
        logger.warning("\(pending) export(s) still queued: \(described.joined(separator: "; "))")
    }

    /// Runs queued exports in this task (the admin tool without background work); failures stay queued.
    package func drainExports() async throws {
        while true {
            let batch = try await runnableExports(limit: options.exportConcurrency * 4)
            if batch.isEmpty { return }
            try await runBatch(batch)
            let failed = try await store.read { db in try db.retryingExportCount() }
            if failed > 0 {
                throw FileSystemError.io("\(failed) export(s) failed and stay queued; the next open retries them")
            }
        }
    }

    /// Pending exports (for describe and the admin tool).
    package func pendingExports() async throws -> Int {
        try await store.read { db in try db.queuedExportCount() }
    }
}
