import CFuseShim
import Foundation
import HSM
import LustreFS
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The C entry points libfuse calls. Each finds its `FuseMount` through the request's userdata, copies
/// what the kernel lent it (names, write buffers), and answers from a task.
enum FuseOperations {
    static func mount(_ req: fuse_req_t?) -> FuseMount {
        Unmanaged<FuseMount>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    static func caller(_ req: fuse_req_t?) -> (uid: UInt32, gid: UInt32, umask: UInt32) {
        guard let context = fuse_req_ctx(req) else { return (0, 0, 0o022) }
        return (context.pointee.uid, context.pointee.gid, context.pointee.umask)
    }

    /// Runs `body` in a task and answers with its errno when it throws. An `interruptible` request's task is
    /// cancelled when the kernel sends FUSE_INTERRUPT for it (its process got a signal, SIGKILL included): a
    /// read waiting for a restore then answers EINTR at once. The kernel waits for that answer even for a
    /// killed process, so without it `kill -9` of a reader would wait for the data.
    static func serve(
        _ req: fuse_req_t?, interruptible: Bool = false,
        _ body: @escaping @Sendable (FuseMount, fuse_req_t?) async throws -> Void
    ) {
        let mount = mount(req)
        let request = UnsafeSendable(req)
        let tracked = RequestInterrupt()
        let id = mount.inFlight.begin(tracked)
        let interrupt = interruptible ? tracked : nil
        if let interrupt {
            // Retained until the reply: libfuse calls the function only before it (under the request's lock,
            // which the reply takes too), possibly at once if the interrupt came first.
            fuse_req_interrupt_func(
                req,
                { _, data in
                    guard let data else { return }
                    Unmanaged<RequestInterrupt>.fromOpaque(data).takeUnretainedValue().fire()
                }, Unmanaged.passRetained(interrupt).toOpaque())
        }
        let task = Task {
            do {
                try await body(mount, request.value)
            } catch let error as FileSystemError {
                fuse_reply_err(request.value, error.errno)
            } catch is CancellationError {
                fuse_reply_err(request.value, EINTR)
            } catch {
                mount.logger.error("request failed: \(error)")
                fuse_reply_err(request.value, EIO)
            }
            if let interrupt { Unmanaged.passUnretained(interrupt).release() }
            mount.inFlight.end(id)
        }
        tracked.attach(task)
    }

    /// Answers a request on the FUSE thread itself: libfuse's threads exist to block, and a request that
    /// the MDT answers in microseconds costs no task and no thread switch this way. `query` returns nil
    /// when it needs asynchronous work (the repository); the caller then serves the request as a task.
    /// True when the request was answered (or failed).
    static func answerNow(
        _ req: fuse_req_t?, _ mount: FuseMount, _ query: () throws -> Inode?, _ reply: (Inode) -> Void
    ) -> Bool {
        var answered = true
        answerNow(req, mount) {
            guard let inode = try query() else {
                answered = false
                return
            }
            reply(inode)
        }
        return answered
    }

    /// Runs a request's whole work on the FUSE thread; a failure is the reply.
    static func answerNow(_ req: fuse_req_t?, _ mount: FuseMount, _ work: () throws -> Void) {
        do {
            try work()
        } catch let error as FileSystemError {
            fuse_reply_err(req, error.errno)
        } catch {
            mount.logger.error("request failed: \(error)")
            fuse_reply_err(req, EIO)
        }
    }

    static func attributes(_ inode: Inode) -> stat {
        var info = stat()
        info.st_ino = UInt(inode.ino)
        info.st_mode = inode.mode
        info.st_nlink = UInt(max(1, inode.nlink))
        info.st_rdev = UInt(inode.rdev)
        info.st_uid = inode.uid
        info.st_gid = inode.gid
        info.st_size = Int(inode.size)
        info.st_blksize = 1 << 20
        // A released file occupies nothing here (what `du` shows after hsm_release).
        info.st_blocks = inode.type == .regular && inode.isReleased ? 0 : Int((inode.size + 511) / 512)
        info.st_atim = timespec(tv_sec: Int(inode.atime / 1_000_000_000), tv_nsec: Int(inode.atime % 1_000_000_000))
        info.st_mtim = timespec(tv_sec: Int(inode.mtime / 1_000_000_000), tv_nsec: Int(inode.mtime % 1_000_000_000))
        info.st_ctim = timespec(tv_sec: Int(inode.ctime / 1_000_000_000), tv_nsec: Int(inode.ctime % 1_000_000_000))
        return info
    }

    static func replyEntry(_ req: fuse_req_t?, _ inode: Inode, _ mount: FuseMount) {
        var entry = fuse_entry_param()
        entry.ino = fuse_ino_t(inode.ino)
        entry.generation = 1
        entry.attr = attributes(inode)
        entry.attr_timeout = mount.options.attributeTimeout
        entry.entry_timeout = mount.options.attributeTimeout
        fuse_reply_entry(req, &entry)
    }

    static func nanoseconds(_ time: timespec) -> Int64 {
        Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { _, conn in
            guard let conn else { return }
            // Large writes and reads; async reads let the kernel read ahead while a restore runs.
            conn.pointee.max_write = 1 << 20
            conn.pointee.max_readahead = 4 << 20
            conn.pointee.want |= UInt32(FUSE_CAP_ASYNC_READ) & conn.pointee.capable
            conn.pointee.want |= UInt32(FUSE_CAP_PARALLEL_DIROPS) & conn.pointee.capable
            // Every batch of a listing with attributes (one query gives both), not only the first (libfuse's
            // default "auto"): the kernel then knows every name's attributes, and `ls -l` of a directory of
            // 100,000 entries costs no lookup per name (24.6 s -> 2 s here).
            conn.pointee.want &= ~UInt32(FUSE_CAP_READDIRPLUS_AUTO)
            // The kernel then caches ACL lookups (there are never any: setting one is refused), so `ls -l`
            // does not ask for every file every time. It also leaves the umask to us (applied on create).
            conn.pointee.want |= UInt32(FUSE_CAP_POSIX_ACL) & conn.pointee.capable
        }
        // Lookups and stats are answered on the FUSE thread when the MDT has the answer (see `answerNow`).
        ops.lookup = { req, parent, name in
            let name = String(cString: name!)
            let mount = FuseOperations.mount(req)
            if FuseOperations.answerNow(
                req, mount, { try mount.fs.lookupBlocking(parent: InodeNumber(parent), name: name) },
                {
                    FuseOperations.replyEntry(req, $0, mount)
                })
            {
                return
            }
            FuseOperations.serve(req) { mount, req in
                let inode = try await mount.fs.lookup(parent: InodeNumber(parent), name: name)
                FuseOperations.replyEntry(req, inode, mount)
            }
        }
        // Inodes live in the MDT, not in memory: nothing to forget.
        ops.forget = { req, _, _ in fuse_reply_none(req) }
        ops.forget_multi = { req, _, _ in fuse_reply_none(req) }
        ops.getattr = { req, ino, _ in
            let mount = FuseOperations.mount(req)
            if FuseOperations.answerNow(
                req, mount, { try mount.fs.attributesBlocking(InodeNumber(ino)) },
                { inode in
                    var info = FuseOperations.attributes(inode)
                    fuse_reply_attr(req, &info, mount.options.attributeTimeout)
                })
            {
                return
            }
            FuseOperations.serve(req) { mount, req in
                var info = FuseOperations.attributes(try await mount.fs.attributes(InodeNumber(ino)))
                fuse_reply_attr(req, &info, mount.options.attributeTimeout)
            }
        }
        ops.setattr = { req, ino, attr, toSet, fi in
            let wanted = attr!.pointee
            let handle = fi.map { $0.pointee.fh }
            FuseOperations.serve(req) { mount, req in
                var changes = AttributeChanges()
                let now = FuseOperations.nanoseconds(timespec(tv_sec: time(nil), tv_nsec: 0))
                if toSet & FUSE_SET_ATTR_MODE != 0 { changes.perm = wanted.st_mode & 0o7777 }
                if toSet & FUSE_SET_ATTR_UID != 0 { changes.uid = wanted.st_uid }
                if toSet & FUSE_SET_ATTR_GID != 0 { changes.gid = wanted.st_gid }
                if toSet & FUSE_SET_ATTR_SIZE != 0 { changes.size = Int64(wanted.st_size) }
                if toSet & FUSE_SET_ATTR_ATIME != 0 { changes.atime = FuseOperations.nanoseconds(wanted.st_atim) }
                if toSet & FUSE_SET_ATTR_MTIME != 0 { changes.mtime = FuseOperations.nanoseconds(wanted.st_mtim) }
                if toSet & FUSE_SET_ATTR_ATIME_NOW != 0 { changes.atime = FuseOperations.nowClock() ?? now }
                if toSet & FUSE_SET_ATTR_MTIME_NOW != 0 { changes.mtime = FuseOperations.nowClock() ?? now }
                if let handle, handle != 0, changes.size != nil { try await mount.fs.flush(handle) }
                var info = FuseOperations.attributes(try await mount.fs.setAttributes(InodeNumber(ino), changes))
                fuse_reply_attr(req, &info, mount.options.attributeTimeout)
            }
        }
        ops.readlink = { req, ino in
            FuseOperations.serve(req) { mount, req in
                let target = try await mount.fs.readLink(InodeNumber(ino))
                await mount.recordAccess(try await mount.fs.attributes(InodeNumber(ino)))
                fuse_reply_readlink(req, target)
            }
        }
        ops.mknod = { req, parent, name, mode, rdev in
            let name = String(cString: name!)
            let who = FuseOperations.caller(req)
            FuseOperations.serve(req) { mount, req in
                // Regular files, FIFOs, devices and sockets (bind). The kernel itself checks CAP_MKNOD for devices.
                guard let type = FileType(mode: mode), type == .regular || type.isSpecial else {
                    throw FileSystemError(EINVAL, "mknod of mode \(String(mode, radix: 8)) names no file type it can create")
                }
                let inode = try await mount.fs.makeNode(
                    parent: InodeNumber(parent), name: name, type: type,
                    perm: mode & 0o7777 & ~who.umask, uid: who.uid, gid: who.gid, rdev: UInt64(rdev))
                FuseOperations.replyEntry(req, inode, mount)
            }
        }
        ops.mkdir = { req, parent, name, mode in
            let name = String(cString: name!)
            let who = FuseOperations.caller(req)
            FuseOperations.serve(req) { mount, req in
                let inode = try await mount.fs.makeNode(
                    parent: InodeNumber(parent), name: name, type: .directory,
                    perm: mode & 0o7777 & ~who.umask, uid: who.uid, gid: who.gid)
                FuseOperations.replyEntry(req, inode, mount)
            }
        }
        // Unlinks and creates run on the FUSE thread too: their work is one MDT transaction.
        ops.unlink = { req, parent, name in
            let name = String(cString: name!)
            let mount = FuseOperations.mount(req)
            FuseOperations.answerNow(req, mount) {
                try mount.fs.removeBlocking(parent: InodeNumber(parent), name: name, directory: false)
                fuse_reply_err(req, 0)
            }
        }
        ops.rmdir = { req, parent, name in
            let name = String(cString: name!)
            FuseOperations.serve(req) { mount, req in
                try await mount.fs.remove(parent: InodeNumber(parent), name: name, directory: true)
                fuse_reply_err(req, 0)
            }
        }
        ops.symlink = { req, link, parent, name in
            let target = String(cString: link!)
            let name = String(cString: name!)
            let who = FuseOperations.caller(req)
            FuseOperations.serve(req) { mount, req in
                let inode = try await mount.fs.makeNode(
                    parent: InodeNumber(parent), name: name, type: .symlink, perm: 0o777,
                    uid: who.uid, gid: who.gid, target: target)
                FuseOperations.replyEntry(req, inode, mount)
            }
        }
        ops.rename = { req, parent, name, newParent, newName, flags in
            let name = String(cString: name!)
            let newName = String(cString: newName!)
            FuseOperations.serve(req) { mount, req in
                var renameFlags: FileSystem.RenameFlags = []
                if flags & lfs_rename_noreplace() != 0 { renameFlags.insert(.noReplace) }
                if flags & lfs_rename_exchange() != 0 { renameFlags.insert(.exchange) }
                if flags & ~(lfs_rename_noreplace() | lfs_rename_exchange()) != 0 { throw FileSystemError(EINVAL, "unsupported rename flags") }
                try await mount.fs.rename(
                    parent: InodeNumber(parent), name: name, newParent: InodeNumber(newParent),
                    newName: newName, flags: renameFlags)
                fuse_reply_err(req, 0)
            }
        }
        ops.link = { req, ino, newParent, newName in
            let newName = String(cString: newName!)
            FuseOperations.serve(req) { mount, req in
                let inode = try await mount.fs.link(InodeNumber(ino), parent: InodeNumber(newParent), name: newName)
                FuseOperations.replyEntry(req, inode, mount)
            }
        }
        ops.open = { req, ino, fi in
            let flags = lfs_fuse_file_info_flags(fi)
            let info = UnsafeSendable(fi!.pointee)
            FuseOperations.serve(req) { mount, req in
                let mode = OpenMode(write: flags & O_ACCMODE != O_RDONLY, truncate: flags & O_TRUNC != 0)
                let handle = try await mount.fs.open(InodeNumber(ino), mode: mode)
                let inode = try await mount.fs.attributes(InodeNumber(ino))
                if flags & O_ACCMODE != O_WRONLY { await mount.recordAccess(inode) }
                var reply = info.value
                reply.fh = handle
                lfs_fuse_file_info_set(&reply, mount.keepCache(inode) ? 1 : 0, 0, 0)
                // What this handle reads into the page cache is this version. Recorded now, not only at the
                // release: the kernel sends RELEASE after close() returns, so the next open can come first.
                mount.remember(inode)
                fuse_reply_open(req, &reply)
            }
        }
        ops.create = { req, parent, name, mode, fi in
            let name = String(cString: name!)
            let who = FuseOperations.caller(req)
            let mount = FuseOperations.mount(req)
            FuseOperations.answerNow(req, mount) {
                let (inode, handle) = try mount.fs.createBlocking(
                    parent: InodeNumber(parent), name: name, perm: mode & 0o7777 & ~who.umask, uid: who.uid, gid: who.gid)
                // Answered on this thread, while libfuse's `fi` is still valid: no copy for a task needed.
                var reply = fi!.pointee
                reply.fh = handle
                lfs_fuse_file_info_set(&reply, 0, 0, 0)
                var entry = fuse_entry_param()
                entry.ino = fuse_ino_t(inode.ino)
                entry.generation = 1
                entry.attr = FuseOperations.attributes(inode)
                entry.attr_timeout = mount.options.attributeTimeout
                entry.entry_timeout = mount.options.attributeTimeout
                fuse_reply_create(req, &entry, &reply)
            }
        }
        ops.read = { req, _, size, offset, fi in
            let handle = fi!.pointee.fh
            FuseOperations.serve(req, interruptible: true) { mount, req in
                let data = try await mount.fs.read(handle, offset: Int64(offset), count: size)
                _ = data.withUnsafeBytes { fuse_reply_buf(req, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
            }
        }
        ops.write = { req, _, buffer, size, offset, fi in
            let handle = fi!.pointee.fh
            let data = Data(bytes: buffer!, count: size)
            FuseOperations.serve(req) { mount, req in
                let written = try await mount.fs.write(handle, offset: Int64(offset), data: data)
                fuse_reply_write(req, written)
            }
        }
        ops.fallocate = { req, _, mode, offset, length, fi in
            let handle = fi!.pointee.fh
            FuseOperations.serve(req) { mount, req in
                try await mount.fs.allocate(handle, offset: Int64(offset), length: Int64(length), mode: AllocateMode(rawValue: mode))
                fuse_reply_err(req, 0)
            }
        }
        // Flushes, fsyncs and closes on the FUSE thread: at most one MDT transaction each (and fdatasync).
        ops.flush = { req, _, fi in
            let handle = fi!.pointee.fh
            let mount = FuseOperations.mount(req)
            FuseOperations.answerNow(req, mount) {
                try mount.fs.flushBlocking(handle)
                fuse_reply_err(req, 0)
            }
        }
        ops.fsync = { req, _, _, fi in
            let handle = fi!.pointee.fh
            let mount = FuseOperations.mount(req)
            FuseOperations.answerNow(req, mount) {
                try mount.fs.flushBlocking(handle, sync: true)
                fuse_reply_err(req, 0)
            }
        }
        ops.release = { req, _, fi in
            let handle = fi!.pointee.fh
            let mount = FuseOperations.mount(req)
            if let inode = mount.fs.releaseBlocking(handle) { mount.remember(inode) }
            fuse_reply_err(req, 0)
        }
        // The kernel may keep a directory's listing across opens (it drops it when the directory changes
        // through it, and when the core tells of a change behind its back), so a listing read again costs no
        // readdir. Not when this listing would move the directory's atime (relatime's rule): the kernel then
        // reads it from us, and the first batch records the access, as a local file system would.
        ops.opendir = { req, ino, fi in
            let info = UnsafeSendable(fi!.pointee)
            FuseOperations.serve(req) { mount, req in
                let directory = try await mount.fs.attributes(InodeNumber(ino))
                guard directory.type == .directory else { throw FileSystemError(ENOTDIR, "inode \(ino) is not a directory") }
                var reply = info.value
                reply.fh = mount.directoryHandles.withLock { state in
                    let id = state.next
                    state.next += 1
                    state.open[id] = .some(nil)
                    return id
                }
                lfs_fuse_file_info_cache_directory(&reply, mount.fs.accessWouldMoveTime(directory) ? 0 : 1)
                fuse_reply_open(req, &reply)
            }
        }
        ops.readdir = { req, ino, size, offset, fi in
            FuseOperations.readDirectory(req, ino, fi!.pointee.fh, size: size, offset: offset, plus: false)
        }
        ops.readdirplus = { req, ino, size, offset, fi in
            FuseOperations.readDirectory(req, ino, fi!.pointee.fh, size: size, offset: offset, plus: true)
        }
        ops.releasedir = { req, _, fi in
            let handle = fi!.pointee.fh
            let mount = FuseOperations.mount(req)
            _ = mount.directoryHandles.withLock { $0.open.removeValue(forKey: handle) }
            fuse_reply_err(req, 0)
        }
        ops.statfs = { req, _ in
            FuseOperations.serve(req) { mount, req in
                let usage = try await mount.fs.usage()
                var info = statvfs()
                info.f_bsize = 4096
                info.f_frsize = 4096
                info.f_blocks = fsblkcnt_t(usage.capacityBytes / 4096)
                info.f_bfree = fsblkcnt_t(usage.availableBytes / 4096)
                info.f_bavail = info.f_bfree
                info.f_files = fsfilcnt_t(max(usage.inodes * 2, 1 << 24))
                info.f_ffree = info.f_files - fsfilcnt_t(usage.inodes)
                info.f_favail = info.f_ffree
                info.f_namemax = 255
                fuse_reply_statfs(req, &info)
            }
        }
        ops.getxattr = { req, ino, name, size in
            let name = String(cString: name!)
            // ACL, label and capability lookups (ls -l asks for every file, the kernel on every write) are
            // answered here on the FUSE thread when nothing can be stored under that name.
            if name == FileSystem.selinuxLabel {
                fuse_reply_err(req, EOPNOTSUPP)
                return
            }
            if name.hasPrefix("system.") || (!name.hasPrefix("user.lfs.") && !FuseOperations.mount(req).fs.mayHaveExtendedAttributes) {
                fuse_reply_err(req, ENODATA)
                return
            }
            FuseOperations.serve(req) { mount, req in
                guard let value = try await Xattrs.get(mount, InodeNumber(ino), name) else {
                    fuse_reply_err(req, ENODATA)
                    return
                }
                if size == 0 {
                    fuse_reply_xattr(req, value.count)
                } else if size < value.count {
                    fuse_reply_err(req, ERANGE)
                } else {
                    _ = value.withUnsafeBytes { fuse_reply_buf(req, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
                }
            }
        }
        ops.setxattr = { req, ino, name, value, size, flags in
            let name = String(cString: name!)
            if name.hasPrefix("system.") || name == FileSystem.selinuxLabel {
                // POSIX ACLs and SELinux labels are not kept: refused, so the kernel's cached "no ACL" stays true.
                fuse_reply_err(req, EOPNOTSUPP)
                return
            }
            let data = size > 0 ? Data(bytes: value!, count: size) : Data()
            FuseOperations.serve(req) { mount, req in
                try await Xattrs.set(mount, InodeNumber(ino), name, data, flags: flags)
                fuse_reply_err(req, 0)
            }
        }
        ops.listxattr = { req, ino, size in
            if !FuseOperations.mount(req).fs.mayHaveExtendedAttributes {
                if size == 0 { fuse_reply_xattr(req, 0) } else { fuse_reply_buf(req, nil, 0) }
                return
            }
            FuseOperations.serve(req) { mount, req in
                // The lfs control names are virtual and not listed, so cp -a and tar do not copy them.
                var list = Data()
                for name in try await mount.fs.extendedAttributeNames(InodeNumber(ino)) {
                    list.append(contentsOf: Array(name.utf8))
                    list.append(0)
                }
                if size == 0 {
                    fuse_reply_xattr(req, list.count)
                } else if size < list.count {
                    fuse_reply_err(req, ERANGE)
                } else {
                    _ = list.withUnsafeBytes { fuse_reply_buf(req, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
                }
            }
        }
        ops.removexattr = { req, ino, name in
            let name = String(cString: name!)
            FuseOperations.serve(req) { mount, req in
                try await mount.fs.removeExtendedAttribute(InodeNumber(ino), name)
                fuse_reply_err(req, 0)
            }
        }
        return ops
    }

    static func nowClock() -> Int64? {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return nanoseconds(spec)
    }

    /// Answers readdir(plus): the first batch (offset 0) takes the listing, and is the directory's access
    /// (relatime's rule); the rest come from that listing, `offset` being the index of the next entry.
    static func readDirectory(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ handle: UInt64, size: Int, offset: off_t, plus: Bool) {
        guard offset == 0 else {
            replyDirectory(req, mount(req), handle, size: size, offset: offset, plus: plus)
            return
        }
        serve(req) { mount, req in
            // From the start (again, after a rewinddir): the listing as it is now.
            let entries = try await mount.fs.readDirectory(InodeNumber(ino))
            let directory = try await mount.fs.attributes(InodeNumber(ino))
            var listing = [FuseMount.DirectoryListing(name: ".", inode: directory), FuseMount.DirectoryListing(name: "..", inode: directory)]
            listing += entries.map { FuseMount.DirectoryListing(name: $0.name, inode: $0.inode) }
            let open = mount.directoryHandles.withLock { state -> Bool in
                guard state.open[handle] != nil else { return false }
                state.open[handle] = listing
                return true
            }
            guard open else { throw FileSystemError(EBADF, "directory handle \(handle) is not open") }
            await mount.recordAccess(directory)
            replyDirectory(req, mount, handle, size: size, offset: offset, plus: plus)
        }
    }

    static func replyDirectory(_ req: fuse_req_t?, _ mount: FuseMount, _ handle: UInt64, size: Int, offset: off_t, plus: Bool) {
        guard let listing = mount.directoryHandles.withLock({ $0.open[handle] ?? nil }) else {
            fuse_reply_err(req, EBADF)
            return
        }
        var buffer = [CChar](repeating: 0, count: size)
        var used = 0
        var index = Int(offset)
        while index < listing.count {
            let entry = listing[index]
            let needed = entry.name.withCString { name -> Int in
                buffer.withUnsafeMutableBufferPointer { pointer -> Int in
                    let start = pointer.baseAddress! + used
                    if plus {
                        var param = fuse_entry_param()
                        let isDot = entry.name == "." || entry.name == ".."
                        param.ino = isDot ? 0 : fuse_ino_t(entry.inode.ino)
                        // The same generation as lookup's: a different one tells the kernel the inode is stale (EIO).
                        param.generation = 1
                        param.attr = attributes(entry.inode)
                        param.attr.st_ino = UInt(entry.inode.ino)
                        param.attr_timeout = isDot ? 0 : mount.options.attributeTimeout
                        param.entry_timeout = isDot ? 0 : mount.options.attributeTimeout
                        return fuse_add_direntry_plus(req, start, size - used, name, &param, off_t(index + 1))
                    }
                    var info = attributes(entry.inode)
                    return fuse_add_direntry(req, start, size - used, name, &info, off_t(index + 1))
                }
            }
            if needed > size - used { break }
            used += needed
            index += 1
        }
        buffer.withUnsafeBufferPointer { _ = fuse_reply_buf(req, $0.baseAddress, used) }
    }
}

extension FuseMount {
    /// The kernel may keep a file's cached pages when its data has not changed since they were cached, and
    /// the file was not released since (a released file's next read must come from the repository).
    func keepCache(_ inode: Inode) -> Bool {
        !inode.isReleased && cachedVersions.withLock { $0[inode.ino] == inode.dataVersion }
    }

    func remember(_ inode: Inode) {
        cachedVersions.withLock { $0[inode.ino] = inode.dataVersion }
    }
}

/// A C pointer or struct handed to a task (the kernel request stays valid until it is answered). Unchecked
/// because C types are not Sendable to the compiler; libfuse allows a request to be answered from any thread.
/// The `fuse_file_info` of open, create and opendir is not a request's: it lives on the stack of libfuse's
/// dispatch function, which returns as soon as the handler does, so a reply sent later from a task uses a
/// copy made in the handler, never the pointer.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The kernel's FUSE_INTERRUPT for one request (or the unmount's), delivered to the task that serves it (which
/// may not exist yet when the interrupt arrives).
final class RequestInterrupt: Sendable {
    private let state = Mutex<(fired: Bool, task: Task<Void, Never>?)>((false, nil))

    func fire() {
        let target = state.withLock { state -> Task<Void, Never>? in
            state.fired = true
            return state.task
        }
        target?.cancel()
    }

    func attach(_ task: Task<Void, Never>) {
        let alreadyFired = state.withLock { state -> Bool in
            state.task = task
            return state.fired
        }
        if alreadyFired { task.cancel() }
    }
}

/// The requests being answered, so an unmount can interrupt them and wait until none will use the session.
final class InFlightRequests: Sendable {
    private let state = Mutex<(next: UInt64, requests: [UInt64: RequestInterrupt])>((0, [:]))

    func begin(_ request: RequestInterrupt) -> UInt64 {
        state.withLock { state in
            state.next += 1
            state.requests[state.next] = request
            return state.next
        }
    }

    func end(_ id: UInt64) {
        state.withLock { _ = $0.requests.removeValue(forKey: id) }
    }

    var count: Int { state.withLock { $0.requests.count } }

    /// Cancels every request's task; a read waiting for a restore answers EINTR.
    func interruptAll() {
        for request in state.withLock({ Array($0.requests.values) }) { request.fire() }
    }
}
