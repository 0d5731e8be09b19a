import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Extended attributes kept in the MDT. POSIX ACLs (`system.*`) are not supported: the mount checks
/// permissions by mode bits (default_permissions).
extension FileSystem {
    package struct XattrFlags: OptionSet, Sendable {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }
        /// XATTR_CREATE: fail if it exists.
        package static let create = XattrFlags(rawValue: 1)
        /// XATTR_REPLACE: fail if it does not.
        package static let replace = XattrFlags(rawValue: 2)
    }

    static func checkXattrName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 255 else {
            throw FileSystemError(ERANGE, "extended attribute name '\(name.prefix(32))' is empty or too long")
        }
        guard !name.hasPrefix("system.") else { throw FileSystemError(EOPNOTSUPP, "\(name): ACLs and system attributes are not supported") }
        guard name != selinuxLabel else { throw FileSystemError(EOPNOTSUPP, "\(name): the mount carries no SELinux labels") }
        guard ["user.", "trusted.", "security."].contains(where: { name.hasPrefix($0) }) else {
            throw FileSystemError(EOPNOTSUPP, "\(name): unknown extended attribute namespace")
        }
    }

    /// A FUSE mount is labelled by its mount context, not per file: with SELinux on, the kernel itself refuses
    /// to set this name on such a mount. Refusing it here too says the same thing with SELinux off, and
    /// `ls -l`, which remembers a device that answers "not supported", then stops asking for every file.
    package static let selinuxLabel = "security.selinux"

    /// False while no extended attribute was ever stored, so lookups can be answered without a query.
    package var mayHaveExtendedAttributes: Bool { state.withLock { $0.hasExtendedAttributes } }

    package func extendedAttribute(_ ino: InodeNumber, _ name: String) async throws -> Data? {
        try await store.read { db in
            guard try db.inode(ino) != nil else { throw FileSystemError.notFound("inode \(ino)") }
            return try db.extendedAttribute(ino, name: name)
        }
    }

    package func setExtendedAttribute(_ ino: InodeNumber, _ name: String, _ value: Data, flags: XattrFlags = []) async throws {
        try Self.checkXattrName(name)
        guard value.count <= 65536 else { throw FileSystemError(E2BIG, "\(name): values are limited to 64 KiB") }
        try await store.write { db in
            guard try db.inode(ino) != nil else { throw FileSystemError.notFound("inode \(ino)") }
            let exists = try db.hasExtendedAttribute(ino, name: name)
            if flags.contains(.create) && exists { throw FileSystemError.exists(name) }
            if flags.contains(.replace) && !exists { throw FileSystemError(ENODATA, "\(name): No data available") }
            try db.setExtendedAttribute(ino, name: name, value: value)
            self.state.withLock { $0.hasExtendedAttributes = true }
            try db.setChangeTime(ino, to: nowNanoseconds())
        }
    }

    package func extendedAttributeNames(_ ino: InodeNumber) async throws -> [String] {
        try await store.read { db in
            try db.extendedAttributeNames(ino)
        }
    }

    package func removeExtendedAttribute(_ ino: InodeNumber, _ name: String) async throws {
        try await store.write { db in
            guard try db.removeExtendedAttribute(ino, name: name) else { throw FileSystemError(ENODATA, "\(name): No data available") }
            try db.setChangeTime(ino, to: nowNanoseconds())
        }
    }
}
