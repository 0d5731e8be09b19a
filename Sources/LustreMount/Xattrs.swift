import Foundation
import HSM
import LustreFS

#if canImport(Glibc)
import Glibc
#endif

/// How `lfs` reaches the file system: virtual extended attributes on the file itself, so the kernel checks
/// access as for any file operation and no socket or daemon address is needed. They are not listed by
/// listxattr, so copying tools never see them.
///
/// - `user.lfs.hsm_state` (get): "<flags> <archive id>" in decimal.
/// - `user.lfs.hsm_action` (get): "NOOP" or "<ACTION> <bytes moved>".
/// - `user.lfs.df` (get, any inode): "<capacity bytes> <used bytes> <inodes> <free inodes>".
/// - `user.lfs.hsm_request` (set): "archive", "release", "restore", "remove", or
///   "set <flags to set> <flags to clear> [archive id]" with flags in decimal.
public enum LfsAttribute {
    public static let state = "user.lfs.hsm_state"
    public static let action = "user.lfs.hsm_action"
    public static let df = "user.lfs.df"
    public static let request = "user.lfs.hsm_request"
}

enum Xattrs {
    static func get(_ mount: FuseMount, _ ino: InodeNumber, _ name: String) async throws -> Data? {
        switch name {
        case LfsAttribute.state:
            let state = try await mount.fs.hsmState(ino)
            return Data("\(state.flags.rawValue) \(state.archiveId)".utf8)
        case LfsAttribute.action:
            switch mount.fs.hsmAction(ino) {
            case .noop: return Data("NOOP".utf8)
            case .archive(let bytes): return Data("ARCHIVE \(bytes)".utf8)
            case .restore(let bytes): return Data("RESTORE \(bytes)".utf8)
            case .remove(let bytes): return Data("REMOVE \(bytes)".utf8)
            case .archiveWaiting: return Data("ARCHIVE_WAITING 0".utf8)
            }
        case LfsAttribute.df:
            let usage = try await mount.fs.usage()
            let files = max(usage.inodes * 2, 1 << 24)
            return Data("\(usage.capacityBytes) \(usage.usedBytes) \(usage.inodes) \(files - usage.inodes)".utf8)
        default:
            return try await mount.fs.extendedAttribute(ino, name)
        }
    }

    static func set(_ mount: FuseMount, _ ino: InodeNumber, _ name: String, _ value: Data, flags: Int32) async throws {
        guard name == LfsAttribute.request else {
            if name.hasPrefix("user.lfs.") { throw FileSystemError(EPERM, "\(name) is read-only") }
            try await mount.fs.setExtendedAttribute(ino, name, value, flags: FileSystem.XattrFlags(rawValue: flags))
            return
        }
        let words = String(decoding: value, as: UTF8.self).split(separator: " ").map(String.init)
        switch words.first {
        case "archive": try await mount.fs.hsmArchive(ino)
        case "release": try await mount.fs.hsmRelease(ino)
        case "restore": try await mount.fs.restore(ino, wait: false)
        case "remove": try await mount.fs.hsmRemove(ino)
        case "set":
            guard words.count >= 3, let setting = UInt32(words[1]), let clearing = UInt32(words[2]) else {
                throw FileSystemError(EINVAL, "hsm set needs flags to set and to clear")
            }
            let archiveId = words.count > 3 ? UInt32(words[3]) : nil
            _ = try await mount.fs.hsmSet(ino, setting: HSMFlags(rawValue: setting), clearing: HSMFlags(rawValue: clearing), archiveId: archiveId)
        default:
            throw FileSystemError(EINVAL, "unknown HSM request")
        }
    }
}
