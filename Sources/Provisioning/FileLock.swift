import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive flock(2) on a lock file for the length of a read-modify-write, for the records that pcluster
/// and the node agent both change (the cluster record, the instance registry). A lock that cannot be taken
/// is an error: the write never happens without it. The wait retries when a signal interrupts it.
package enum FileLock {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    package static func withExclusiveLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw Failure(description: "cannot lock \(path): \(String(cString: strerror(errno)))") }
        }
        // Closing the descriptor (deferred above) releases the lock.
        return try body()
    }
}
