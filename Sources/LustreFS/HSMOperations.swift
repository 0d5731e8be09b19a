import DataRepository
import Foundation
import HSM

#if canImport(Glibc)
import Glibc
#endif

/// `lfs hsm_*` on the core: the pure rules of the HSM module decide, this applies them after the data
/// moved, so a failure never leaves a state that lies about where the data is.
extension FileSystem {
    func facts(_ inode: Inode) -> HSMFileFacts {
        HSMFileFacts(
            isRegularFile: inode.type == .regular, otherOpens: openCount(inode.ino),
            archiveMatchesData: inode.archivedKey != nil && inode.archivedDataVersion == inode.dataVersion)
    }

    func displayPath(_ ino: InodeNumber) async -> String {
        (try? await store.read { db in try db.path(of: ino) }) ?? "inode \(ino)"
    }

    package func hsmState(_ ino: InodeNumber) async throws -> HSMState {
        // A read returns as soon as its own ranges arrived, a moment before the restore syncs the data and
        // clears RELEASED. On Lustre the reader would have waited for the whole restore, so `cat f; lfs
        // hsm_state f` never shows it released: a state asked in that moment waits for the commit. (One asked
        // while data is still arriving is answered at once: released, as on Lustre during a restore.)
        if let job = restores.running(ino), job.allArrived { try? await job.waitUntilFinished() }
        let inode = try await attributes(ino)
        return inode.type == .regular ? inode.hsm : HSMState()
    }

    /// hsm_archive: queues the export of a dirty or never-archived file (forced past the AutoExportPolicy);
    /// with `wait`, returns when it is archived.
    package func hsmArchive(_ ino: InodeNumber, wait: Bool = false) async throws {
        let inode = try await attributes(ino)
        let path = await displayPath(ino)
        let outcome: HSMOutcome
        do {
            outcome = try HSMRules.archive(inode.hsm, facts(inode))
        } catch {
            throw FileSystemError(error, path: path)
        }
        guard outcome.movement == .copyToArchive else { return }
        guard association(containing: path, type: .regular) != nil else {
            throw FileSystemError(EINVAL, "\(path): Invalid argument: the file is not in a data repository association")
        }
        if wait {
            switch try await sync(ino, forced: true) {
            case .skipped(let why): throw FileSystemError.io("\(path): not archived: \(why)")
            case .exported, .unchanged: return
            }
        }
        try await store.write { db in try self.queueSync(db, ino, forced: true) }
    }

    /// hsm_release: drops the local data of a file whose archived copy is current.
    package func hsmRelease(_ ino: InodeNumber) async throws {
        let path = await displayPath(ino)
        let freed = try await store.write { db -> Int64 in
            guard let inode = try db.inode(ino) else { throw FileSystemError.notFound(path) }
            let current = self.overlay(inode)
            let outcome: HSMOutcome
            do {
                outcome = try HSMRules.release(current.hsm, self.facts(current))
            } catch let error as HSMError {
                throw FileSystemError(error, path: path)
            }
            guard outcome.movement == .dropLocalData else { return 0 }
            guard current.archivedEtag != nil else {
                throw FileSystemError(EPERM, "\(path): Operation not permitted: the archived copy is unknown")
            }
            // A file renamed since its export has its copy under its old name, where another file may be
            // exported before this one's export moves it: only a copy under the current name is kept safe
            // (see `keepReleasedDataAt`).
            let currentKey = try db.path(of: ino).flatMap { self.association(containing: $0, type: .regular)?.1 }
            guard current.archivedKey == currentKey else {
                throw FileSystemError(
                    EBUSY,
                    "\(path): Device or resource busy: the file was renamed since its export; it can be released once it is exported under its new name"
                )
            }
            var released = inode
            released.hsm = outcome.state
            try db.update(released)
            self.removeCacheFileAfterCommit(db, ino)
            // A file just closed keeps its entry until its close is in the MDT: a session opened in that
            // moment must not reuse the descriptor of the data released here.
            self.retireLocalData(ino)
            return inode.size
        }
        if freed > 0 {
            space.free(freed)
            // The kernel's page cache still holds the data; drop it too, so the next read restores from the
            // repository as it does on Lustre (where release revokes the clients' layout lock).
            noteExternal(.inode(ino))
            freeReleasedSpace()
        }
    }

    /// hsm_remove: deletes the archived copy; the file keeps its local data and forgets it was archived.
    package func hsmRemove(_ ino: InodeNumber) async throws {
        let inode = try await attributes(ino)
        let path = await displayPath(ino)
        let outcome: HSMOutcome
        do {
            outcome = try HSMRules.remove(inode.hsm, facts(inode))
        } catch {
            throw FileSystemError(error, path: path)
        }
        guard outcome.movement == .deleteArchiveCopy else { return }
        guard let key = inode.archivedKey else { return }
        let filePath = try await store.read { db in try db.path(of: ino) }
        if let association = associationOwning(key: key, at: filePath, type: inode.type) {
            movements.removalStarted(ino)
            defer { movements.removalEnded(ino) }
            echoes.begin(key)
            defer { echoes.end(key) }
            try await repository(for: association).delete(key: key)
            echoes.remember(deleted: key)
        } else if associationTable.contains(where: { key.hasPrefix($0.location.prefix) }) {
            throw FileSystemError.io("\(path): more than one data repository could hold its archived copy \(key); nothing was removed")
        }
        // The archive state goes (where no association holds the key any more, there was nothing to delete).
        try await store.write { db in
            guard var fresh = try db.inode(ino) else { return }
            fresh.hsm = HSMState(flags: fresh.hsm.flags.subtracting([.archived, .exists, .lost]), archiveId: fresh.archiveId)
            fresh.archivedKey = nil
            fresh.archivedEtag = nil
            fresh.archivedDataVersion = nil
            fresh.archivedMetaVersion = nil
            fresh.archivedAt = nil
            try db.update(fresh)
        }
    }

    /// hsm_set / hsm_clear.
    package func hsmSet(_ ino: InodeNumber, setting: HSMFlags, clearing: HSMFlags, archiveId: UInt32? = nil) async throws -> HSMState {
        let path = await displayPath(ino)
        return try await store.write { db in
            guard var inode = try db.inode(ino) else { throw FileSystemError.notFound(path) }
            do {
                inode.hsm = try HSMRules.set(inode.hsm, setting: setting, clearing: clearing, archiveId: archiveId, self.facts(inode))
            } catch let error as HSMError {
                throw FileSystemError(error, path: path)
            }
            try db.update(inode)
            return inode.hsm
        }
    }

    /// hsm_action: what is moving for the file now.
    package func hsmAction(_ ino: InodeNumber) -> HSMAction {
        if let job = restores.running(ino) { return .restore(bytesMoved: job.progress) }
        return movements.action(for: ino) ?? .noop
    }
}
