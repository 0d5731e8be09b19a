import CLinux
import DataRepository
import Foundation
import HSM

#if canImport(Glibc)
import Glibc
#endif

/// Open files and space: handles, reads and writes on the local data (a released file restores first), the
/// write-back of size and mtime, and the capacity every byte of local data counts against.
extension FileSystem {
    // MARK: Space

    /// Claims `bytes` of capacity (negative frees), failing with ENOSPC when the file system is full.

    package func usage() async throws -> Usage {
        let inodes = try await store.read { db in try db.inodeCount() }
        return Usage(capacityBytes: options.capacityBytes, usedBytes: space.used, inodes: inodes)
    }

    // MARK: Open files

    /// Opens a regular file. Opening for write restores a released file first (O_TRUNC discards it instead).
    /// `created`: the open made the file (O_CREAT); a new file is a change its last close exports, even if
    /// nothing is written to it. `current`: the inode as its creation just returned it (spares a read).
    package func open(_ ino: InodeNumber, mode: OpenMode, created: Bool = false, current: Inode? = nil) async throws -> HandleID {
        var inode: Inode
        if let current { inode = overlay(current) } else { inode = try await attributes(ino) }
        guard inode.type == .regular else {
            if inode.type == .directory { throw FileSystemError.isDirectory("inode \(ino)") }
            if inode.type == .symlink { throw FileSystemError(ELOOP, "inode \(ino) is a symbolic link") }
            // The kernel opens FIFOs, devices and sockets itself; only a direct request of the core gets here.
            throw FileSystemError(ENXIO, "inode \(ino) is a \(inode.type.name), which the kernel opens, not the file system")
        }
        if mode.write && inode.isReleased {
            if mode.truncate {
                try await discardReleasedData(ino)
                openTable.withLock { $0.openFiles[ino]?.size = 0 }
            } else {
                try await restore(ino, wait: true)
            }
            inode = try await attributes(ino)
        }
        let handle = try addHandle(inode, mode: mode, created: created)
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

    /// A new handle on a regular file whose data is local or released (a released file opened for write
    /// is restored first, by `open`).
    func addHandle(_ inode: Inode, mode: OpenMode, created: Bool) throws -> HandleID {
        let ino = inode.ino
        return try openTable.withLock { state -> HandleID in
            var file = state.openFiles[ino] ?? OpenFile(fd: -1, size: inode.size)
            if file.fd < 0 && !inode.isReleased {
                // A file never written has no cache file: its first write makes it (`writableDescriptor`). A
                // file this open created is not looked for (a failed open in a large cache directory was a
                // tenth of a create's CPU): recovery removed the cache files of inodes gone before a restart.
                if created {
                    file.fd = -1
                } else {
                    file.fd = try inode.size == 0 ? cache.openIfPresent(ino) ?? -1 : cache.open(ino, create: true)
                }
                file.size = inode.size
            }
            file.opens += 1
            if mode.write { file.writers += 1 }
            if created { file.changed = true }
            state.openFiles[ino] = file
            let id = state.nextHandle
            state.nextHandle += 1
            state.handles[id] = Handle(ino: ino, writable: mode.write)
            return id
        }
    }

    func handle(_ id: HandleID) throws -> Handle {
        guard let handle = openTable.withLock({ $0.handles[id] }) else {
            logger.warning("a request named file handle \(id), which is not open")
            throw FileSystemError(EBADF, "file handle \(id) is not open")
        }
        return handle
    }

    /// Reads from the local data; a released file's data is restored first, and the read returns as soon as
    /// its own range has arrived.
    package func read(_ id: HandleID, offset: Int64, count: Int) async throws -> Data {
        let handle = try handle(id)
        let ino = handle.ino
        // The running restore is read first: one that ends in between has attached its descriptor before it
        // is forgotten, so a miss of both falls through to the MDT, which says the file is restored.
        let running = restores.running(ino)
        let (fd, size) = openTable.withLock { state in (state.openFiles[ino]?.fd ?? -1, state.openFiles[ino]?.size ?? 0) }
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

    /// The descriptor of an open file's local data for a write, making its cache file if it was never
    /// written. (A released file is restored when opened for write, so it has one already.)
    func writableDescriptor(_ ino: InodeNumber) throws -> Int32 {
        try openTable.withLock { state in
            guard var file = state.openFiles[ino] else { throw FileSystemError(EBADF, "inode \(ino) is not open") }
            if file.fd < 0 {
                // A retired descriptor means the data went (released or replaced by the repository's): not a
                // file never written.
                guard file.retired.isEmpty else { throw FileSystemError.io("inode \(ino) has no local data to write to") }
                file.fd = try cache.open(ino, create: true)
                state.openFiles[ino] = file
            }
            return file.fd
        }
    }

    /// Opens the cache file of a restored file for its handles.
    func attachDescriptor(_ ino: InodeNumber) throws {
        try openTable.withLock { state in
            guard var file = state.openFiles[ino], file.fd < 0 else { return }
            file.fd = try cache.open(ino, create: false)
            state.openFiles[ino] = file
        }
    }

    /// Writes to the local data. The first write of a session makes an archived file dirty.
    package func write(_ id: HandleID, offset: Int64, data: Data) async throws -> Int {
        let handle = try handle(id)
        guard handle.writable else { throw FileSystemError(EBADF, "file handle \(id) is not open for writing") }
        let ino = handle.ino
        let (current, size, bumped) = openTable.withLock { state in
            (state.openFiles[ino]?.fd ?? -1, state.openFiles[ino]?.size ?? 0, state.openFiles[ino]?.versionBumped ?? true)
        }
        let fd = current >= 0 ? current : try writableDescriptor(ino)
        let end = offset + Int64(data.count)
        if end > size { try space.reserve(end - size, for: "writing inode \(ino)") }
        do {
            try data.withUnsafeBytes { bytes in try PositionalIO.write(fd, bytes, at: offset) }
        } catch {
            if end > size { space.free(end - size) }
            throw error
        }
        try await noteWritten(ino, through: end, sizeBefore: size, versionBumped: bumped)
        return data.count
    }

    /// fallocate(2): reserves a range, growing the file unless `.keepSize`, or punches a hole (the range
    /// reads as zeros). Like tmpfs, either one is a change of the data: mtime moves and the file exports again.
    package func allocate(_ id: HandleID, offset: Int64, length: Int64, mode: AllocateMode) async throws {
        let handle = try handle(id)
        guard handle.writable else { throw FileSystemError(EBADF, "file handle \(id) is not open for writing") }
        guard mode.subtracting([.keepSize, .punchHole]).isEmpty, !mode.contains(.punchHole) || mode.contains(.keepSize) else {
            throw FileSystemError(EOPNOTSUPP, "fallocate mode \(mode.rawValue) is not supported (only KEEP_SIZE and PUNCH_HOLE)")
        }
        guard offset >= 0, length > 0 else { throw FileSystemError.invalid("fallocate needs a positive length at a non-negative offset") }
        let ino = handle.ino
        let (current, size, bumped) = openTable.withLock { state in
            (state.openFiles[ino]?.fd ?? -1, state.openFiles[ino]?.size ?? 0, state.openFiles[ino]?.versionBumped ?? true)
        }
        let fd = current >= 0 ? current : try writableDescriptor(ino)
        let end = offset + length
        let grows = !mode.contains(.keepSize) && end > size
        if grows { try space.reserve(end - size, for: "allocating in inode \(ino)") }
        guard clinux_fallocate(fd, mode.rawValue, off_t(offset), off_t(length)) == 0 else {
            let code = Glibc.errno
            if grows { space.free(end - size) }
            throw FileSystemError(code, "fallocate of inode \(ino)")
        }
        try await noteWritten(ino, through: grows ? end : size, sizeBefore: size, versionBumped: bumped)
    }

    /// The bookkeeping of a change to an open file's data up to `end`: its size and mtime until the next
    /// flush, and the data version the first change of a session bumps.
    private func noteWritten(_ ino: InodeNumber, through end: Int64, sizeBefore size: Int64, versionBumped bumped: Bool) async throws {
        let now = nowNanoseconds()
        let overclaimed = openTable.withLock { state -> Int64 in
            guard var file = state.openFiles[ino] else { return 0 }
            // Another writer may have grown the file meanwhile: give back what it already claimed.
            let overclaimed = end > size ? (end - size) - max(0, end - max(file.size, size)) : 0
            if end > file.size { file.size = end }
            file.mtime = now
            file.changed = true
            file.unwritten = true
            file.versionBumped = true
            state.openFiles[ino] = file
            return overclaimed
        }
        if overclaimed > 0 { space.free(overclaimed) }
        if !bumped {
            try await store.write { db in
                guard var inode = try db.inode(ino) else { return }
                inode.dataVersion += 1
                inode.hsm = try HSMRules.dataChanged(inode.hsm)
                try db.update(inode)
            }
        }
    }

    /// Writes the size and mtime of writes so far to the MDT (flush and fsync).
    package func flush(_ id: HandleID, sync: Bool = false) async throws {
        guard let (ino, snapshot) = try unwrittenAfterSync(id, sync: sync) else { return }
        do {
            try await store.write { db in try self.writeBack(db, ino, snapshot) }
        } catch {
            // Not in the MDT after all: the next flush or close tries again.
            openTable.withLock { $0.openFiles[ino]?.unwritten = true }
            throw error
        }
    }

    /// `flush` on the calling thread, for the mount's request threads (which may block).
    package func flushBlocking(_ id: HandleID, sync: Bool = false) throws {
        guard let (ino, snapshot) = try unwrittenAfterSync(id, sync: sync) else { return }
        do {
            try store.writeBlocking { db in try self.writeBack(db, ino, snapshot) }
        } catch {
            openTable.withLock { $0.openFiles[ino]?.unwritten = true }
            throw error
        }
    }

    /// The first half of a flush: the data synced when asked, and the open file when its size and mtime
    /// are still to write to the MDT.
    private func unwrittenAfterSync(_ id: HandleID, sync: Bool) throws -> (InodeNumber, OpenFile)? {
        let handle = try handle(id)
        guard let snapshot = openTable.withLock({ $0.openFiles[handle.ino] }) else { return nil }
        // An fsync must report what the disk refused (a write-back error, a full disk): the caller's data
        // is not safe, and saying so is the whole point of the call.
        if sync && snapshot.fd >= 0 && fdatasync(snapshot.fd) != 0 {
            let code = errno
            throw FileSystemError(
                code == ENOSPC || code == EDQUOT ? ENOSPC : EIO,
                "syncing local data of inode \(handle.ino) failed: \(String(cString: strerror(code)))")
        }
        return snapshot.unwritten ? (handle.ino, snapshot) : nil
    }

    private func writeBack(_ db: MetadataTransaction, _ ino: InodeNumber, _ snapshot: OpenFile) throws {
        guard var inode = try db.inode(ino) else { return }
        // Read again inside the transaction: flushes and closes of one file commit in writer order, and
        // the last to commit must write the latest size (a snapshot from before the wait could be older
        // than one another flush already wrote). A write after this read marks the file unwritten again.
        let latest =
            openTable.withLock { state -> OpenFile? in
                state.openFiles[ino]?.unwritten = false
                return state.openFiles[ino]
            } ?? snapshot
        inode.size = latest.size
        if let mtime = latest.mtime { inode.mtime = mtime; inode.ctime = max(inode.ctime, mtime) }
        try db.update(inode)
    }

    /// Closes a handle. The last close of a file that was written queues its export.
    package func release(_ id: HandleID) async {
        guard let ino = detachHandle(id) else { return }
        do {
            finishClose(ino, .success(try await store.write { db in try self.closeTransaction(db, ino) }))
        } catch {
            finishClose(ino, .failure(error))
        }
    }

    /// `release` on the calling thread, for the mount's request threads (which may block). Returns the
    /// file's inode as the close left it (nil when the close removed it or failed), which the mount needs
    /// and would otherwise read again.
    @discardableResult
    package func releaseBlocking(_ id: HandleID) -> Inode? {
        guard let ino = detachHandle(id) else { return nil }
        return finishClose(ino, Result { try store.writeBlocking { db in try self.closeTransaction(db, ino) } })
    }

    /// Forgets a handle; the file's entry stays until its close is in the MDT.
    private func detachHandle(_ id: HandleID) -> InodeNumber? {
        guard let handle = openTable.withLock({ $0.handles.removeValue(forKey: id) }) else { return nil }
        openTable.withLock { state in
            state.openFiles[handle.ino]?.opens -= 1
            if handle.writable { state.openFiles[handle.ino]?.writers -= 1 }
        }
        return handle.ino
    }

    /// The close in the MDT. The file's entry stays until its state is in the MDT, and is read and dropped
    /// inside the transaction: closes and flushes of one file commit in writer order, and a close whose task
    /// ran late must neither write a size older than one already written nor miss a session opened
    /// meanwhile (which joins the entry instead of starting from the MDT's older state).
    private func closeTransaction(_ db: MetadataTransaction, _ ino: InodeNumber) throws -> Closed {
        let entry = openTable.withLock { state -> OpenFile? in
            defer { state.openFiles[ino]?.unwritten = false }
            return state.openFiles[ino]
        }
        guard var inode = try db.inode(ino) else { return Closed(freed: 0, last: dropEntryIfUnused(ino), inode: nil) }
        // Written back on every close of a writer, so the MDT has the size as soon as the writer is done.
        if let entry, entry.unwritten, entry.fd >= 0 {
            inode.size = entry.size
            if let mtime = entry.mtime { inode.mtime = mtime; inode.ctime = max(inode.ctime, mtime) }
            try db.update(inode)
        }
        guard let last = dropEntryIfUnused(ino) else { return Closed(freed: 0, last: nil, inode: inode) }
        if try inode.nlink <= 0 && db.links(of: ino).isEmpty {
            try db.deleteInode(ino)
            removeCacheFileAfterCommit(db, ino)
            return Closed(freed: inode.isReleased ? 0 : inode.size, last: last, inode: nil)
        }
        if last.changed { try queueSync(db, ino) }
        return Closed(freed: 0, last: last, inode: inode)
    }

    /// What a close's transaction did: the bytes it freed, the file's entry when this was the last close,
    /// and the inode as it left it (nil when the file is gone).
    private struct Closed {
        var freed: Int64
        var last: OpenFile?
        var inode: Inode?
    }

    /// After the close's transaction: space freed, descriptors of the last close closed, the export woken.
    /// Returns the inode as the close left it.
    @discardableResult
    private func finishClose(_ ino: InodeNumber, _ outcome: Result<Closed, any Error>) -> Inode? {
        let last: OpenFile?
        let inode: Inode?
        switch outcome {
        case .success(let closed):
            if closed.freed > 0 { space.free(closed.freed) }
            last = closed.last
            inode = closed.inode
        case .failure(let error):
            logger.error("closing inode \(ino) failed: \(error)")
            last = dropEntryIfUnused(ino)
            inode = nil
        }
        if let last {
            if last.fd >= 0 { Glibc.close(last.fd) }
            for fd in last.retired { Glibc.close(fd) }
        }
        return inode
    }

    private func dropEntryIfUnused(_ ino: InodeNumber) -> OpenFile? {
        openTable.withLock { state in
            guard let file = state.openFiles[ino], file.opens <= 0 else { return nil }
            state.openFiles.removeValue(forKey: ino)
            return file
        }
    }

    func openCount(_ ino: InodeNumber) -> Int {
        openTable.withLock { $0.openFiles[ino]?.opens ?? 0 }
    }
}
