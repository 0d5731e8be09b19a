import Foundation
import HSM
import LfsProtocol
import LustreFS

#if canImport(Glibc)
import Glibc
#endif

/// The mount's side of the `lfs` protocol (LfsProtocol): the virtual attributes answered from the core.
enum Xattrs {
    static func get(_ mount: FuseMount, _ ino: InodeNumber, _ name: String) async throws -> Data? {
        switch name {
        case LfsAttribute.state:
            return Data(LfsValue.encode(try await mount.fs.hsmState(ino)).utf8)
        case LfsAttribute.action:
            return Data(LfsValue.encode(mount.fs.hsmAction(ino)).utf8)
        case LfsAttribute.df:
            let usage = try await mount.fs.usage()
            let files = max(usage.inodes * 2, 1 << 24)
            let space = LfsValue.Space(
                capacityBytes: usage.capacityBytes, usedBytes: usage.usedBytes, inodes: usage.inodes,
                freeInodes: files - usage.inodes)
            return Data(space.encoded.utf8)
        default:
            return try await mount.fs.extendedAttribute(ino, name)
        }
    }

    static func set(_ mount: FuseMount, _ ino: InodeNumber, _ name: String, _ value: Data, flags: Int32) async throws {
        guard name == LfsAttribute.request else {
            if name.hasPrefix(LfsAttribute.prefix) { throw FileSystemError(EPERM, "\(name) is read-only") }
            try await mount.fs.setExtendedAttribute(ino, name, value, flags: FileSystem.XattrFlags(rawValue: flags))
            return
        }
        let text = String(decoding: value, as: UTF8.self)
        guard let request = LfsRequest(text) else {
            throw FileSystemError(EINVAL, text.hasPrefix("set") ? "hsm set needs flags to set and to clear" : "unknown HSM request")
        }
        switch request {
        case .archive: try await mount.fs.hsmArchive(ino)
        case .release: try await mount.fs.hsmRelease(ino)
        case .restore: try await mount.fs.restore(ino, wait: false)
        case .remove: try await mount.fs.hsmRemove(ino)
        case .set(let setting, let clearing, let archiveId):
            _ = try await mount.fs.hsmSet(ino, setting: setting, clearing: clearing, archiveId: archiveId)
        }
    }
}
