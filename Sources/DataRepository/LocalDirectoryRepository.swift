import Crypto
import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A local directory as a data repository (`file:///path/`): the same layout as a bucket (key `a/b` is the
/// file `a/b`, key `a/` the directory `a`), with each object's user metadata in a side file under
/// `.fsx-metadata/` (`<key>.meta` for files, `<dir>/.meta` for directories). For users without S3, and so the
/// core's tests run without a server. It has no event feed: the periodic sweep catches outside changes.
package struct LocalDirectoryRepository: DataRepository {
    package let root: String
    static let metadataDirectory = ".fsx-metadata"

    package init(root: String) {
        var path = root
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
    }

    package var displayName: String { "file://\(root)/" }

    func path(of key: String) -> String {
        key.hasSuffix("/") ? root + "/" + key.dropLast() : root + "/" + key
    }

    func metadataPath(of key: String) -> String {
        // "a/b" has "a/b.meta"; the directory "a/b/" has "a/b/.meta", which no file key can produce.
        let name = key.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        // A name near the 255-byte limit has no room for ".meta" (and ".tmp" while it is written): such a
        // side file is named by a digest of the name instead, which no name short enough to keep can produce.
        guard name.utf8.count > 240 else { return "\(root)/\(Self.metadataDirectory)/\(key).meta" }
        let digest = SHA256.hash(data: Data(name.utf8)).map { String(format: "%02x", $0) }.joined()
        let directory = key.dropLast(name.count)
        return "\(root)/\(Self.metadataDirectory)/\(directory).long-\(digest).meta"
    }

    /// size, mtime and inode: a write (always a new inode through rename) or an edit in place changes it.
    static func etag(of info: stat) -> String {
        let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return String(format: "%llx-%llx-%llx", UInt64(info.st_size), UInt64(bitPattern: mtime), UInt64(info.st_ino))
    }

    static func object(key: String, info: stat) -> RepositoryObject {
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return RepositoryObject(
            key: key, size: isDirectory ? 0 : Int64(info.st_size),
            etag: isDirectory ? "d" : etag(of: info), lastModifiedNanoseconds: mtime)
    }

    package func list(prefix: String) -> AsyncThrowingStream<[RepositoryObject], any Error> {
        let root = self.root
        return AsyncThrowingStream { continuation in
            let task = Task.detached {
                do {
                    var info = stat()
                    guard stat(root, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                        throw RepositoryError(.bucketMissing, "\(root) is not a directory")
                    }
                    // Walk only the part of the tree the prefix can be in.
                    let base = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
                    var page: [RepositoryObject] = []
                    var pending = [base]
                    while let directory = pending.popLast() {
                        try Task.checkCancellation()
                        let full = directory.isEmpty ? root : root + "/" + directory
                        guard let names = try? FileManager.default.contentsOfDirectory(atPath: full) else { continue }
                        for name in names.sorted() {
                            if directory.isEmpty && name == Self.metadataDirectory { continue }
                            let relative = directory.isEmpty ? name : directory + "/" + name
                            var entry = stat()
                            guard lstat(full + "/" + name, &entry) == 0 else { continue }
                            let type = entry.st_mode & S_IFMT
                            if type == S_IFDIR {
                                let key = relative + "/"
                                if key.hasPrefix(prefix) || prefix.hasPrefix(key) {
                                    if key.hasPrefix(prefix) { page.append(Self.object(key: key, info: entry)) }
                                    pending.append(relative)
                                }
                            } else if type == S_IFREG, relative.hasPrefix(prefix) {
                                page.append(Self.object(key: relative, info: entry))
                            }
                            if page.count == 1000 {
                                continuation.yield(page)
                                page.removeAll(keepingCapacity: true)
                            }
                        }
                    }
                    if !page.isEmpty { continuation.yield(page) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    package func head(key: String) async throws -> RepositoryObjectHead? {
        var info = stat()
        guard lstat(path(of: key), &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw RepositoryError(.io, "\(path(of: key)): \(String(cString: strerror(errno)))")
        }
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        guard isDirectory == key.hasSuffix("/") else { return nil }
        let metadata: [String: String]
        if let data = FileManager.default.contents(atPath: metadataPath(of: key)),
            let decoded = try? JSONDecoder().decode([String: String].self, from: data)
        {
            metadata = decoded
        } else {
            metadata = Self.ownMetadata(of: info)
        }
        return RepositoryObjectHead(object: Self.object(key: key, info: info), userMetadata: metadata)
    }

    /// A file we did not export has no side file: it imports with its real owner, group, mode and times, never
    /// the wider root 0755 an S3 object without metadata gets (a 0600 file stays readable by its owner only).
    /// Setuid and setgid are not kept, as in FSx's format.
    static func ownMetadata(of info: stat) -> [String: String] {
        let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let atime = Int64(info.st_atim.tv_sec) * 1_000_000_000 + Int64(info.st_atim.tv_nsec)
        return [
            "file-permissions": "0" + String(UInt32(info.st_mode) & 0o171777, radix: 8),
            "file-owner": String(info.st_uid),
            "file-group": String(info.st_gid),
            "file-atime": "\(atime)ns",
            "file-mtime": "\(mtime)ns",
        ]
    }

    package func read(
        key: String, range: Range<Int64>, etag: String?,
        sink: @escaping @Sendable (Int64, UnsafeRawBufferPointer) throws -> Void
    ) async throws {
        let file = path(of: key)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw errno == ENOENT
                ? RepositoryError(.notFound, "\(key) is not in \(root)")
                : RepositoryError(.io, "\(file): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw RepositoryError(.io, "\(file): \(String(cString: strerror(errno)))") }
        if let etag, etag != Self.etag(of: info) {
            throw RepositoryError(.changed, "\(key) changed in \(root) while it was being read")
        }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var offset = range.lowerBound
        while offset < range.upperBound {
            try Task.checkCancellation()
            let want = Int(min(Int64(chunk), range.upperBound - offset))
            let got: Int
            do {
                got = try SystemPackage.FileDescriptor(rawValue: fd).read(
                    fromAbsoluteOffset: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            } catch {
                throw RepositoryError(.io, "\(file): \(error)")
            }
            guard got > 0 else { throw RepositoryError(.changed, "\(key) became shorter while it was being read") }
            try sink(offset, UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            offset += Int64(got)
        }
    }

    package func write(key: String, contentsOf source: String, userMetadata: [String: String]) async throws -> String {
        guard let data = FileManager.default.contents(atPath: source) else {
            throw RepositoryError(.io, "cannot read \(source)")
        }
        return try await write(key: key, data: data, userMetadata: userMetadata)
    }

    package func write(key: String, data: Data, userMetadata: [String: String]) async throws -> String {
        let target = path(of: key)
        if key.hasSuffix("/") {
            try makeDirectories(target)
        } else {
            try makeDirectories((target as NSString).deletingLastPathComponent)
            // A temporary name beside the target, renamed over it, so a reader never sees half a file.
            let temporary = (target as NSString).deletingLastPathComponent + "/.fsx-tmp-\(UUID().uuidString)"
            guard FileManager.default.createFile(atPath: temporary, contents: data) else {
                throw RepositoryError(.io, "cannot write \(temporary)")
            }
            guard rename(temporary, target) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw RepositoryError(.io, "cannot write \(target): \(reason)")
            }
        }
        try writeMetadata(key: key, userMetadata)
        var info = stat()
        guard lstat(target, &info) == 0 else { throw RepositoryError(.io, "\(target) vanished after it was written") }
        return Self.object(key: key, info: info).etag
    }

    package func replaceMetadata(key: String, userMetadata: [String: String]) async throws -> String {
        guard let head = try await head(key: key) else { throw RepositoryError(.notFound, "\(key) is not in \(root)") }
        try writeMetadata(key: key, userMetadata)
        return head.object.etag
    }

    package func copy(from source: String, to destination: String, userMetadata: [String: String]) async throws -> String {
        guard let data = FileManager.default.contents(atPath: path(of: source)) else {
            throw RepositoryError(.notFound, "\(source) is not in \(root)")
        }
        return try await write(key: destination, data: data, userMetadata: userMetadata)
    }

    package func delete(key: String) async throws {
        let target = path(of: key)
        let result = key.hasSuffix("/") ? rmdir(target) : unlink(target)
        // S3 keeps `a` and `a/...` apart; here they share one path, so a file key that names a directory now
        // (EISDIR) or a directory key that names a file (ENOTDIR) has no object of its own left to delete.
        if result != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EISDIR && errno != ENOTDIR {
            throw RepositoryError(.io, "cannot delete \(target): \(String(cString: strerror(errno)))")
        }
        unlink(metadataPath(of: key))
        removeEmptyPrefixes(of: key)
    }

    /// A directory here stands for two things S3 keeps apart: the `dir/` object (its marker, `dir/.meta`) and
    /// the prefix of the keys under it. A directory deleted while it still had entries (a rename's deletes run
    /// in any order) lost its marker; once its last entry goes too, it goes, as an S3 prefix does. Stops at a
    /// directory that still has entries or a marker.
    private func removeEmptyPrefixes(of key: String) {
        var components = key.split(separator: "/").dropLast()
        if key.hasSuffix("/") && FileManager.default.fileExists(atPath: path(of: key)) { return }
        while !components.isEmpty {
            let prefix = components.joined(separator: "/") + "/"
            guard !FileManager.default.fileExists(atPath: metadataPath(of: prefix)), rmdir(path(of: prefix)) == 0 else { return }
            rmdir((metadataPath(of: prefix) as NSString).deletingLastPathComponent)
            components = components.dropLast()
        }
    }

    package func checkAccess() async throws {
        var info = stat()
        guard stat(root, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw RepositoryError(.bucketMissing, "\(root) is not a directory")
        }
        guard access(root, R_OK | W_OK | X_OK) == 0 else {
            throw RepositoryError(.accessDenied, "\(root) is not readable and writable by this process")
        }
    }

    package func startEventFeed(name: String, prefix: String) async throws -> (any RepositoryEventFeed)? { nil }
    package func stopEventFeed(name: String) async throws {}

    private func writeMetadata(key: String, _ metadata: [String: String]) throws {
        let file = metadataPath(of: key)
        try makeDirectories((file as NSString).deletingLastPathComponent)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(metadata)
        let temporary = file + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data), rename(temporary, file) == 0 else {
            throw RepositoryError(.io, "cannot write the metadata of \(key) at \(file)")
        }
    }

    private func makeDirectories(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RepositoryError(.io, "cannot create \(path): \(error.localizedDescription)")
        }
    }
}
