import CLinux
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What one side answered: the call's errno (0 for success) and what it returned: a listing's names, the
/// length and hash of data or of an attribute value read, or the times utimensat set explicitly.
struct PosixOutcome: Equatable, CustomStringConvertible {
    var errno: Int32
    var names: [String]? = nil
    var data: String? = nil
    var times: String? = nil

    var description: String {
        (errno == 0 ? "ok" : String(cString: strerror(errno))) + (names.map { " \($0)" } ?? "") + (data.map { " data \($0)" } ?? "")
            + (times.map { " times \($0)" } ?? "")
    }
}

/// What lstat and llistxattr say of a path: the parts a local file system and the mount must agree on.
struct PosixState: Equatable, CustomStringConvertible {
    var exists: Bool
    var type: UInt32 = 0
    var mode: UInt32 = 0
    var nlink: UInt = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    /// Regular files and symlinks only (a directory's size is the file system's own business).
    var size: Int? = nil
    var rdev: UInt64 = 0
    var xattrs: [String] = []

    var description: String {
        guard exists else { return "absent" }
        let kind =
            switch type {
            case UInt32(S_IFREG): "file"
            case UInt32(S_IFDIR): "dir"
            case UInt32(S_IFLNK): "symlink"
            case UInt32(S_IFIFO): "fifo"
            case UInt32(S_IFCHR): "char device \(rdev >> 8):\(rdev & 0xff)"
            default: "type \(String(type, radix: 8))"
            }
        return "\(kind) \(String(mode, radix: 8)) nlink \(nlink) owner \(uid):\(gid)" + (size.map { " size \($0)" } ?? "")
            + (xattrs.isEmpty ? "" : " xattrs \(xattrs)")
    }
}

/// A path's state with its inode number and times, taken before and after each step.
struct PosixSnapshot {
    var state: PosixState
    var inode: UInt64 = 0
    var atime: Int64 = 0
    var mtime: Int64 = 0
    var ctime: Int64 = 0

    /// Which of a path's times a step changed ("amc", "-" for none), when the path names the same inode
    /// before and after it; nil when it does not. A change of mtime counts as one of ctime too, as POSIX ties
    /// them: tmpfs sets both to one coarse clock reading, which now and then equals the ctime it had (set
    /// finer by the step before), and the ctime then looks unchanged although it was set.
    static func changes(from before: PosixSnapshot, to after: PosixSnapshot) -> String? {
        guard before.state.exists, after.state.exists, before.inode == after.inode else { return nil }
        let modified = before.mtime != after.mtime
        let changed = (before.atime != after.atime ? "a" : "") + (modified ? "m" : "") + (modified || before.ctime != after.ctime ? "c" : "")
        return changed.isEmpty ? "-" : changed
    }
}

extension PosixSnapshot {
    static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Whether a difference in which times moved is tmpfs's clock and not the mount: tmpfs stamps with a
    /// coarse clock (a few milliseconds a tick), so a time it sets can equal the one it had when that was set
    /// moments before, and then looks unchanged. A time the reference moved must move on the tree too; one
    /// the tree moved and the reference did not is a difference only when the reference's time was older
    /// than the clock's granularity could hide (50 ms before the step).
    static func explainedByClockGranularity(
        reference: (PosixSnapshot, PosixSnapshot), tree: (PosixSnapshot, PosixSnapshot), stepStarted: Int64
    ) -> Bool {
        guard reference.0.state.exists, reference.1.state.exists, reference.0.inode == reference.1.inode,
            tree.0.state.exists, tree.1.state.exists, tree.0.inode == tree.1.inode
        else { return false }
        let fields: [KeyPath<PosixSnapshot, Int64>] = [\.atime, \.mtime, \.ctime]
        for field in fields {
            let referenceMoved = reference.0[keyPath: field] != reference.1[keyPath: field]
            let treeMoved = tree.0[keyPath: field] != tree.1[keyPath: field]
            if referenceMoved && !treeMoved { return false }
            if treeMoved && !referenceMoved && stepStarted - reference.0[keyPath: field] > 50_000_000 { return false }
        }
        return true
    }
}

/// Runs operations with system calls under one root directory, as root or as the unprivileged user.
struct PosixTree: Sendable {
    let root: String

    func full(_ path: String) -> String { path == "." ? root : root + "/" + path }

    /// Switches the calling thread's file-system identity: only this thread's calls act as the user.
    static func become(user: Bool) {
        let groups: [gid_t] = user ? [PosixUser.gid, PosixUser.otherGroup] : [0]
        let result = groups.withUnsafeBufferPointer { buffer in
            clinux_thread_identity(user ? PosixUser.uid : 0, user ? PosixUser.gid : 0, buffer.count, buffer.baseAddress)
        }
        precondition(result == 0, "setting the thread's identity failed: \(String(cString: strerror(Glibc.errno)))")
    }

    func apply(_ step: PosixStep) -> PosixOutcome {
        if step.asUser { Self.become(user: true) }
        defer { if step.asUser { Self.become(user: false) } }
        return apply(step.operation)
    }

    private func apply(_ operation: PosixOperation) -> PosixOutcome {
        func result(_ code: Int32) -> PosixOutcome { PosixOutcome(errno: code == 0 ? 0 : Glibc.errno) }
        switch operation {
        case .create(let path, let size, let mode):
            return withOpen(path, O_CREAT | O_WRONLY | O_TRUNC, mode) { fd in writeAll(fd, count: size, byte: 0x41 + UInt8(size % 26)) }
        case .createExclusive(let path):
            return withOpen(path, O_CREAT | O_EXCL | O_WRONLY, 0o640) { _ in 0 }
        case .write(let path, let offset, let bytes, let append):
            return withOpen(path, O_WRONLY | (append ? O_APPEND : 0)) { fd in
                if !append && lseek(fd, off_t(offset), SEEK_SET) < 0 { return Glibc.errno }
                return writeAll(fd, count: bytes, byte: 0x61 + UInt8((offset + bytes) % 26))
            }
        case .read(let path):
            var data: String?
            var outcome = withOpen(path, O_RDONLY) { fd in
                var hasher = FNV1a()
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                    if n < 0 { return Glibc.errno }
                    if n == 0 { break }
                    hasher.add(buffer[..<n])
                }
                data = hasher.summary
                return 0
            }
            outcome.data = data
            return outcome
        case .mkdir(let path, let mode): return result(Glibc.mkdir(full(path), mode))
        case .rmdir(let path): return result(Glibc.rmdir(full(path)))
        case .unlink(let path): return result(Glibc.unlink(full(path)))
        case .rename(let from, let to, let flags): return result(clinux_renameat2(AT_FDCWD, full(from), AT_FDCWD, full(to), flags))
        case .link(let from, let to): return result(Glibc.link(full(from), full(to)))
        case .symlink(let target, let path): return result(Glibc.symlink(target, full(path)))
        case .chmod(let path, let mode): return result(Glibc.chmod(full(path), mode))
        case .chown(let path, let uid, let gid): return result(Glibc.lchown(full(path), uid ?? UInt32.max, gid ?? UInt32.max))
        case .truncate(let path, let size): return result(Glibc.truncate(full(path), off_t(size)))
        case .mkfifo(let path): return result(Glibc.mkfifo(full(path), 0o644))
        case .mknod(let path): return result(Glibc.mknod(full(path), mode_t(S_IFCHR) | 0o644, dev_t((1 << 8) | 3)))
        case .list(let path):
            guard let directory = opendir(full(path)) else { return PosixOutcome(errno: Glibc.errno) }
            defer { closedir(directory) }
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { names.append(name) }
            }
            return PosixOutcome(errno: 0, names: names.sorted())
        case .utimens(let path, let atime, let mtime):
            func spec(_ time: PosixTime) -> timespec {
                switch time {
                case .now: timespec(tv_sec: 0, tv_nsec: (1 << 30) - 1)
                case .omit: timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)
                case .at(let nanoseconds): timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
                }
            }
            let times = [spec(atime), spec(mtime)]
            guard utimensat(AT_FDCWD, full(path), times, 0) == 0 else { return PosixOutcome(errno: Glibc.errno) }
            var info = stat()
            guard stat(full(path), &info) == 0 else { return PosixOutcome(errno: Glibc.errno) }
            var set: [String] = []
            if case .at = atime { set.append("atime \(Int64(info.st_atim.tv_sec) * 1_000_000_000 + Int64(info.st_atim.tv_nsec))") }
            if case .at = mtime { set.append("mtime \(Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))") }
            return PosixOutcome(errno: 0, times: set.joined(separator: " "))
        case .setxattr(let path, let name, let bytes, let flags):
            let value = [UInt8](repeating: 0x76, count: bytes)
            return result(value.withUnsafeBytes { setxattr(full(path), name, $0.baseAddress, bytes, flags) })
        case .removexattr(let path, let name): return result(removexattr(full(path), name))
        case .getxattr(let path, let name):
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { getxattr(full(path), name, $0.baseAddress, $0.count) }
            guard n >= 0 else { return PosixOutcome(errno: Glibc.errno) }
            var hasher = FNV1a()
            hasher.add(buffer[..<n])
            return PosixOutcome(errno: 0, data: hasher.summary)
        case .fallocate(let path, let mode, let offset, let length):
            return withOpen(path, O_WRONLY) { fd in clinux_fallocate(fd, mode, off_t(offset), off_t(length)) == 0 ? 0 : Glibc.errno }
        }
    }

    /// Opens without blocking (a FIFO would wait for a peer), runs `body` on the descriptor and closes it.
    private func withOpen(_ path: String, _ flags: Int32, _ mode: UInt32 = 0, _ body: (Int32) -> Int32) -> PosixOutcome {
        let fd = open(full(path), flags | O_NONBLOCK, mode)
        guard fd >= 0 else { return PosixOutcome(errno: Glibc.errno) }
        let code = body(fd)
        close(fd)
        return PosixOutcome(errno: code)
    }

    private func writeAll(_ fd: Int32, count: Int, byte: UInt8) -> Int32 {
        let bytes = [UInt8](repeating: byte, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, count - done) }
            if n < 0 { return Glibc.errno }
            done += n
        }
        return 0
    }

    /// What a path is now; `xattrs` false leaves out the attribute names (a snapshot taken before a step
    /// needs only the inode and its times).
    func snapshot(_ path: String, xattrs listing: Bool = true) -> PosixSnapshot {
        var info = stat()
        guard lstat(full(path), &info) == 0 else { return PosixSnapshot(state: PosixState(exists: false)) }
        let type = info.st_mode & UInt32(S_IFMT)
        let sized = type == UInt32(S_IFREG) || type == UInt32(S_IFLNK)
        var names = [CChar](repeating: 0, count: 4096)
        let length = listing ? llistxattr(full(path), &names, names.count) : 0
        let xattrs =
            length > 0
            ? names[..<length].split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
                .filter { $0.hasPrefix("user.") }.sorted()
            : []
        func nanoseconds(_ time: timespec) -> Int64 { Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec) }
        let state = PosixState(
            exists: true, type: type, mode: info.st_mode & 0o7777, nlink: UInt(info.st_nlink), uid: info.st_uid, gid: info.st_gid,
            size: sized ? Int(info.st_size) : nil, rdev: type == UInt32(S_IFCHR) || type == UInt32(S_IFBLK) ? UInt64(info.st_rdev) : 0,
            xattrs: xattrs)
        return PosixSnapshot(
            state: state, inode: UInt64(info.st_ino), atime: nanoseconds(info.st_atim), mtime: nanoseconds(info.st_mtim),
            ctime: nanoseconds(info.st_ctim))
    }

    /// Removes everything under the root (between replays of a shrinking run).
    func clear() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: root) {
            try Self.makeRemovable(root + "/" + name)
            try FileManager.default.removeItem(atPath: root + "/" + name)
        }
    }

    /// Directories made unwritable by a step are opened up again, so that their contents can be removed.
    private static func makeRemovable(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & UInt32(S_IFMT) == UInt32(S_IFDIR) else { return }
        _ = Glibc.chmod(path, 0o755)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) { try makeRemovable(path + "/" + name) }
    }
}

/// FNV-1a over bytes read, reported with their count: enough to tell two contents apart in a report.
struct FNV1a {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    private var count = 0

    mutating func add(_ bytes: some Collection<UInt8>) {
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        count += bytes.count
    }

    var summary: String { "\(count) bytes, hash \(String(hash, radix: 16))" }
}
