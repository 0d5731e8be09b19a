import AWSFSx
import Foundation
import LustreMount

#if canImport(Glibc)
import Glibc
#endif

/// The local provider's `mount -t lustre`: mounting a file system of the service at a directory of this machine
/// (not part of the FSx API; signed like every other call), and the rules of where a mount may go.
extension FSxService {
    func mountFileSystem(_ input: FSxLocalMountRequest) async throws -> FSxLocalMountAnswer {
        let id = try Self.required(input.FileSystemId, "FileSystemId")
        let mountPoint = try Self.required(input.MountPoint, "MountPoint")
        let fs = try await ready(id)
        guard !unmounting.contains(mountPoint) else {
            throw FSxError("BadRequest", "\(mountPoint) is being unmounted; mount it again once that has finished.")
        }
        guard mountPoint.hasPrefix("/"), !mountPoint.contains("\u{0}") else {
            throw FSxError.badRequest("MountPoint '\(mountPoint)' must be an absolute path.")
        }
        if let existing = (state.mounts ?? []).first(where: { $0.mountPoint == mountPoint }), mounted[mountPoint] != nil {
            guard existing.fileSystemId == id else {
                throw FSxError("IncompatibleParameterError", "\(mountPoint) already has file system \(existing.fileSystemId) mounted.")
            }
            return FSxLocalMountAnswer(FileSystemId: id, MountPoint: mountPoint)
        }
        try Self.checkMountPoint(mountPoint, stateDirectory: stateDirectory)
        do {
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            mounted[mountPoint] = try FuseMount.mount(fs, at: mountPoint)
        } catch {
            throw FSxError("BadRequest", "\(id) cannot be mounted on \(mountPoint): \(error)")
        }
        state.mounts = (state.mounts ?? []).filter { $0.mountPoint != mountPoint } + [MountRecord(fileSystemId: id, mountPoint: mountPoint)]
        try save()
        return FSxLocalMountAnswer(FileSystemId: id, MountPoint: mountPoint)
    }

    /// Where a request may mount: a plain absolute path (no `.`/`..`, not `/`, not a symbolic link, outside the
    /// service's own state) that is absent or an empty directory, so a mount never hides files that are there.
    /// A stale mount of a dead daemon (ENOTCONN) is allowed: `FuseMount` clears it.
    static func checkMountPoint(_ path: String, stateDirectory: String) throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.isEmpty, !components.contains(where: { $0 == "." || $0 == ".." }) else {
            throw FSxError.badRequest("MountPoint '\(path)' must be an absolute path below / without '.' or '..' components.")
        }
        let normalized = "/" + components.joined(separator: "/")
        let state = (stateDirectory as NSString).standardizingPath
        guard normalized != state, !normalized.hasPrefix(state + "/"), !state.hasPrefix(normalized + "/") else {
            throw FSxError.badRequest("MountPoint '\(path)' would overlap the service's state directory \(state).")
        }
        var info = stat()
        guard lstat(normalized, &info) == 0 else {
            if errno == ENOENT { return }
            if errno == ENOTCONN { return }
            throw FSxError.badRequest("MountPoint '\(path)' cannot be examined: \(String(cString: strerror(errno))).")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw FSxError.badRequest("MountPoint '\(path)' exists and is not a directory.")
        }
        guard let directory = opendir(normalized) else {
            if errno == ENOTCONN { return }
            throw FSxError.badRequest("MountPoint '\(path)' cannot be read: \(String(cString: strerror(errno))).")
        }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." {
                throw FSxError.badRequest("MountPoint '\(path)' is not empty: a mount there would hide its files.")
            }
        }
    }

    func unmountFileSystem(_ input: FSxLocalMountRequest) async throws -> FSxLocalMountAnswer {
        let mountPoint = try Self.required(input.MountPoint, "MountPoint")
        guard let record = (state.mounts ?? []).first(where: { $0.mountPoint == mountPoint }) else {
            throw FSxError("BadRequest", "Nothing is mounted on \(mountPoint) by this service.")
        }
        let mount = mounted.removeValue(forKey: mountPoint)
        state.mounts = (state.mounts ?? []).filter { $0.mountPoint != mountPoint }
        try save()
        // The service keeps answering while the kernel lets go; a mount on this path waits until it has.
        unmounting.insert(mountPoint)
        defer { unmounting.remove(mountPoint) }
        await mount?.unmountWithoutBlocking()
        return FSxLocalMountAnswer(FileSystemId: record.fileSystemId, MountPoint: mountPoint)
    }
}
