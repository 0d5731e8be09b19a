import Foundation
import HSM

#if canImport(Glibc)
import Glibc
#endif

/// A refused or failed file system operation: the errno the kernel (or `lfs`) reports, and a sentence that
/// says what and where for logs and the admin tool.
package struct FileSystemError: Error, Sendable, Hashable, CustomStringConvertible {
    package var errno: Int32
    package var message: String

    package init(_ errno: Int32, _ message: String) {
        self.errno = errno
        self.message = message
    }

    package var description: String { message }

    static func notFound(_ what: String) -> FileSystemError { FileSystemError(ENOENT, "\(what): No such file or directory") }
    static func exists(_ what: String) -> FileSystemError { FileSystemError(EEXIST, "\(what): File exists") }
    static func notDirectory(_ what: String) -> FileSystemError { FileSystemError(ENOTDIR, "\(what): Not a directory") }
    static func isDirectory(_ what: String) -> FileSystemError { FileSystemError(EISDIR, "\(what): Is a directory") }
    static func notEmpty(_ what: String) -> FileSystemError { FileSystemError(ENOTEMPTY, "\(what): Directory not empty") }
    static func invalid(_ why: String) -> FileSystemError { FileSystemError(EINVAL, why) }
    static func io(_ why: String) -> FileSystemError { FileSystemError(EIO, why) }
    static func noSpace(_ why: String) -> FileSystemError { FileSystemError(ENOSPC, why) }
    static func nameTooLong(_ what: String) -> FileSystemError { FileSystemError(ENAMETOOLONG, "\(what): File name too long") }

    init(_ hsm: HSMError, path: String) {
        self.init(hsm.errno, "\(path): \(hsm.description)")
    }
}

/// Names a directory entry may have: not empty, not "." or "..", no "/" or NUL, at most 255 bytes.
func checkName(_ name: String) throws(FileSystemError) {
    if name.isEmpty || name == "." || name == ".." || name.contains("/") || name.contains("\u{0}") {
        throw .invalid("'\(name)' is not a valid file name")
    }
    if name.utf8.count > 255 { throw .nameTooLong(name) }
}

func nowNanoseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}
