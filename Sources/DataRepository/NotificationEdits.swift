import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Edits of one bucket's notification configuration, one after another. S3 replaces the configuration only
/// as a whole, so two edits that overlap drop each other's entries (two associations setting up auto-import
/// at once after a restart, or two file systems on one bucket). Within this process the edits of a bucket
/// queue behind each other here; across the processes of this machine they also take an exclusive lock on a
/// file named after the bucket. A writer on another machine is caught by the caller reading the
/// configuration back after it wrote.
actor NotificationEdits {
    static let shared = NotificationEdits()
    /// Writes an edit may make before it gives up on a configuration that keeps changing.
    static let attempts = 5
    /// How long an edit waits for another process's edit of the same bucket.
    static let lockTimeout: Duration = .seconds(30)

    private var tails: [String: Task<Void, Never>] = [:]

    func perform(bucket: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let previous = tails[bucket]
        let next = Task<Void, any Error> {
            await previous?.value
            let lock = try await MachineLock.acquire(Self.lockPath(bucket), timeout: Self.lockTimeout)
            defer { lock.release() }
            try await body()
        }
        tails[bucket] = Task { _ = try? await next.value }
        try await next.value
    }

    /// Bucket names are lowercase letters, digits, '.' and '-', so they are safe in a file name.
    static func lockPath(_ bucket: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(".fsx-notification-\(bucket).lock").path
    }
}

/// An exclusive flock(2) shared by the processes of this machine. Taken by polling with LOCK_NB, because a
/// blocking flock would hold one of Swift's few cooperative threads for as long as another process edits.
/// The holder removes the file when it releases the lock, so no lock file outlives its edit; a process that
/// locked a file already removed (its open came before the removal) sees that the path no longer names its
/// file and tries again.
struct MachineLock {
    private let fd: Int32
    private let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    static func acquire(_ path: String, timeout: Duration) async throws -> MachineLock {
        let deadline = ContinuousClock.now + timeout
        while true {
            // O_NOFOLLOW: a link planted at the path must not make us create or lock another file.
            let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw RepositoryError(.io, "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                var held = stat(), named = stat()
                if fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino && held.st_dev == named.st_dev {
                    return MachineLock(fd: fd, path: path)
                }
                close(fd)
                continue
            }
            let failure = errno
            close(fd)
            guard failure == EWOULDBLOCK || failure == EINTR else {
                throw RepositoryError(.io, "cannot lock \(path): \(String(cString: strerror(failure)))")
            }
            guard ContinuousClock.now < deadline else {
                throw RepositoryError(.io, "another process has held \(path) for over \(timeout); is an edit of the bucket's notifications stuck?")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Removes the file, then closes the descriptor, which releases the lock (a process that dies releases
    /// it the same way, and leaves only an empty file that the next holder removes).
    func release() {
        unlink(path)
        close(fd)
    }
}
