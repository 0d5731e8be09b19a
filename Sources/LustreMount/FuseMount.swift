import CFuseShim
import Foundation
import HSM
import Logging
import LustreFS

#if canImport(Glibc)
import Glibc
#endif

package struct MountOptions: Sendable {
    /// Lets other users (jobs of the cluster's users) use the mount; needs root (or user_allow_other).
    package var allowOther: Bool
    /// Seconds the kernel may cache attributes and names. Every change the kernel does not make itself
    /// (imports, events, sweeps, releases, restores) invalidates its copies at once, so this only bounds
    /// how long a change we failed to tell of could show; a long one keeps `stat` and `ls -l` in the kernel.
    package var attributeTimeout: Double = 60
    package var maxIdleThreads: UInt32 = 16
    package var name: String = "lustrefs"

    package init(allowOther: Bool = getuid() == 0) {
        self.allowOther = allowOther
    }
}

package struct MountError: Error, Sendable, CustomStringConvertible {
    package var description: String
}

/// A libfuse3 low-level session mapping kernel requests onto the file system core. Requests are answered
/// from tasks (libfuse allows replies from any thread), so a read waiting for its range to arrive from the
/// repository holds no FUSE thread.
///
/// Unchecked Sendable: `session`, `loopThread` and `connection` are written by `mount` before the mount is
/// handed to anyone, and `session` again only by `unmount` after the loop ended and every request finished;
/// the rest is immutable or behind its own lock.
package final class FuseMount: @unchecked Sendable {
    package let fs: FileSystem
    package let mountpoint: String
    let options: MountOptions
    let logger = Logger(label: "lustrefs.fuse")
    private var session: OpaquePointer?
    private var loopThread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// A latch: signalled when `unmount` has done all it will do, for its other callers to wait on.
    private let tornDown = DispatchSemaphore(value: 0)
    /// Open directories: each one's listing, taken at its first readdir (nil before).
    let directoryHandles = Locked<(next: UInt64, open: [UInt64: [DirectoryListing]?])>((1, [:]))
    /// The data version each inode had when the kernel last cached its pages (keep_cache only if unchanged).
    let cachedVersions = Locked<[InodeNumber: Int64]>([:])
    let unmounted = Locked(false)
    let notifications = DispatchQueue(label: "lustrefs.notify")
    let inFlight = InFlightRequests()
    /// The kernel's number for this FUSE connection (its directory under /sys/fs/fuse/connections).
    private var connection: String?

    struct DirectoryListing: Sendable {
        var name: String
        var inode: Inode
    }

    init(fs: FileSystem, mountpoint: String, options: MountOptions) {
        self.fs = fs
        self.mountpoint = mountpoint
        self.options = options
    }

    /// Mounts the file system at `mountpoint` (clearing a stale mount a dead daemon left there) and serves
    /// it on a thread of its own until `unmount`.
    package static func mount(_ fs: FileSystem, at mountpoint: String, options: MountOptions = MountOptions()) throws -> FuseMount {
        try clearStaleMount(mountpoint)
        var info = stat()
        guard stat(mountpoint, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw MountError(description: "the mount point \(mountpoint) is not a directory")
        }
        let mount = FuseMount(fs: fs, mountpoint: mountpoint, options: options)
        var ops = FuseOperations.table()
        var settings = ["default_permissions", "fsname=\(options.name)", "subtype=lustrefs"]
        if options.allowOther { settings.append("allow_other") }
        // Device nodes open their devices, as on a local file system (libfuse mounts nodev otherwise). Only a
        // caller with CAP_MKNOD can make one: the kernel checks before it asks us.
        if getuid() == 0 { settings.append("dev") }
        let userdata = Unmanaged.passRetained(mount).toOpaque()
        guard let session = lfs_fuse_session_new(settings.joined(separator: ","), &ops, userdata) else {
            Unmanaged<FuseMount>.fromOpaque(userdata).release()
            throw MountError(description: "libfuse refused the mount options \(settings.joined(separator: ","))")
        }
        guard fuse_session_mount(session, mountpoint) == 0 else {
            fuse_session_destroy(session)
            Unmanaged<FuseMount>.fromOpaque(userdata).release()
            throw MountError(description: "cannot mount on \(mountpoint): is /dev/fuse available and fuse3 installed (apt-get install -y fuse3)?")
        }
        mount.session = session
        mount.connection = connectionNumber(of: mountpoint)
        let loopSession = UnsafeSendable(session)
        // Changes the kernel did not see: drop its cached names, attributes and pages for them. Sent from a
        // queue of their own, never from a request handler (a notification can wait on the kernel).
        // The closure holds the mount until `unmount` removes it.
        fs.observeExternalChanges { [mount] changes in
            mount.notifications.async {
                // The kernel drops a directory's cached listing with an entry it invalidates only when that
                // name is in its dentry cache, never for a new name: each changed directory is invalidated
                // too (once per batch), which drops its listing and attributes.
                var directories = Set<InodeNumber>()
                for change in changes {
                    guard !mount.unmounted.withLock({ $0 }) else { return }
                    switch change {
                    case .entry(let parent, let name):
                        _ = name.withCString { fuse_lowlevel_notify_inval_entry(loopSession.value, fuse_ino_t(parent), $0, strlen($0)) }
                        directories.insert(parent)
                    case .inode(let ino):
                        _ = fuse_lowlevel_notify_inval_inode(loopSession.value, fuse_ino_t(ino), 0, 0)
                    case .attributes(let ino):
                        // A negative offset: the attributes only, not the pages.
                        _ = fuse_lowlevel_notify_inval_inode(loopSession.value, fuse_ino_t(ino), -1, 0)
                    }
                }
                for directory in directories where !mount.unmounted.withLock({ $0 }) {
                    _ = fuse_lowlevel_notify_inval_inode(loopSession.value, fuse_ino_t(directory), 0, 0)
                }
            }
        }
        let thread = Thread { [mount] in
            _ = lfs_fuse_session_loop(loopSession.value, mount.options.maxIdleThreads)
            mount.finished.signal()
        }
        thread.name = "fuse-loop"
        thread.start()
        mount.loopThread = thread
        return mount
    }

    /// A mount point whose daemon died answers ENOTCONN: unmount it lazily so the new mount can go there (each
    /// layer, if dead mounts were stacked there). Asked with statvfs (statfs), which always reaches the daemon: stat is
    /// answered from the kernel's attribute cache for a while after the daemon died.
    static func clearStaleMount(_ mountpoint: String) throws {
        for _ in 0..<64 {
            var info = statvfs()
            if statvfs(mountpoint, &info) == 0 { return }
            guard errno == ENOTCONN else { return }
            if umount2(mountpoint, Int32(MNT_DETACH)) != 0 {
                let reason = String(cString: strerror(errno))
                throw MountError(description: "\(mountpoint) is a stale mount of a dead daemon and cannot be cleared: \(reason)")
            }
        }
    }

    /// `unmount()` on a thread of its own, for async callers: it waits (for seconds, when requests are in flight)
    /// on the kernel and on the request loop, which must hold neither a thread of Swift's cooperative pool nor
    /// the actor that asked.
    package func unmountWithoutBlocking() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                self.unmount()
                continuation.resume()
            }.start()
        }
    }

    /// Unmounts and waits for the request loop to end. In-flight requests finish first. A second caller waits
    /// for the first one's unmount to be done.
    package func unmount() {
        let first = unmounted.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else {
            tornDown.wait()
            tornDown.signal()
            return
        }
        defer { tornDown.signal() }
        guard let session else { return }
        fs.observeExternalChanges(nil)
        // A notification can wait on the kernel, for a page a reader holds locked while it waits for us: give
        // the queue a moment, and if it does not drain, the connection's abort below releases it.
        let drained = notificationsDrained(within: 2)
        fuse_session_exit(session)
        fuse_session_unmount(session)
        // The loop wakes on the closed device. A process with a file open keeps a detached mount alive, though,
        // and the loop with it: after a grace period the connection is aborted (its waiting requests fail with
        // ENOTCONN), so an unmount (and a service's SIGTERM) ends in seconds whatever is in flight.
        if !drained || finished.wait(timeout: .now() + 2) == .timedOut {
            logger.warning("\(mountpoint): requests still in flight after unmount; aborting the FUSE connection")
            abortConnection()
            finished.wait()
        }
        // No notification may use the session once it is freed (on an aborted connection they fail at once).
        guard notificationsDrained(within: 5) else {
            logger.error("\(mountpoint): a kernel notification did not return; the FUSE session is left allocated")
            self.session = nil
            return
        }
        // `finished` is a latch: pass the signal on to whoever else waits (`wait()`).
        finished.signal()
        // No task may answer through the session once it is freed: interrupt what is left and wait for it.
        inFlight.interruptAll()
        let deadline = Date().addingTimeInterval(5)
        while inFlight.count > 0 && Date() < deadline { usleep(10_000) }
        if inFlight.count == 0 {
            fuse_session_destroy(session)
        } else {
            logger.error("\(mountpoint): \(inFlight.count) requests did not end; the FUSE session is left allocated")
        }
        self.session = nil
    }

    /// Whether everything queued on `notifications` ran within `seconds`.
    func notificationsDrained(within seconds: Double) -> Bool {
        let done = DispatchSemaphore(value: 0)
        notifications.async { done.signal() }
        return done.wait(timeout: .now() + seconds) == .success
    }

    /// The mount's device number from /proc/self/mountinfo (read there, not by stat, which would ask this very
    /// file system before its loop runs): the name of its directory under /sys/fs/fuse/connections.
    static func connectionNumber(of mountpoint: String) -> String? {
        // Through FileHandle: Foundation's String(contentsOfFile:) stops at 4 KiB of a /proc file, whose size is 0.
        guard let data = try? FileHandle(forReadingAtPath: "/proc/self/mountinfo")?.readToEnd() else { return nil }
        let table = String(decoding: data, as: UTF8.self)
        let escaped = mountpoint.replacingOccurrences(of: " ", with: "\\040")
        for line in table.split(separator: "\n").reversed() {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4] == escaped else { continue }
            let device = fields[2].split(separator: ":")
            guard device.count == 2, device[0] == "0" else { return nil }
            return String(device[1])
        }
        return nil
    }

    /// Writes to the connection's `abort` file (mounting fusectl at its usual place first if needed).
    func abortConnection() {
        guard let connection else { return }
        let control = "/sys/fs/fuse/connections"
        if access("\(control)/\(connection)/abort", W_OK) != 0 {
            _ = Glibc.mount("fusectl", control, "fusectl", 0, nil)
        }
        let fd = open("\(control)/\(connection)/abort", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            logger.error("cannot abort FUSE connection \(connection): \(String(cString: strerror(errno)))")
            return
        }
        _ = Glibc.write(fd, "1", 1)
        close(fd)
    }

    /// Records an access the kernel reported (a file opened for reading, a listing, a symlink followed) and,
    /// when the access time moved, drops the kernel's cached attributes of the inode at once: the kernel
    /// does not know the time moved, and a stat right after must see it. Attributes only, no pages, so this
    /// is safe from a request handler. An access time that could not be written is logged, not an error of
    /// the read.
    func recordAccess(_ inode: Inode) async {
        do {
            guard try await fs.recordAccess(inode), let session, !unmounted.withLock({ $0 }) else { return }
            _ = fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(inode.ino), -1, 0)
        } catch {
            logger.warning("recording the access time of inode \(inode.ino) failed: \(error)")
        }
    }

    /// Blocks until the session ends (unmounted from outside with fusermount3 -u, or `unmount`).
    package func wait() {
        finished.wait()
        finished.signal()
    }

    /// `wait()` for async callers, on a thread of its own.
    package func ended() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                self.wait()
                continuation.resume()
            }.start()
        }
    }
}
