import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The local data of files (Lustre's OSTs): one sparse file per inode under `<fs>/data/`, spread over 256
/// directories. A released file has no cache file; a restore fills a sparse file range by range. A file that
/// was never written has none either: it gets one with its first byte, since allocating an ext4 inode was a
/// quarter of the CPU of a create (profiled), and most files made empty stay so only until their first write.
package struct DataCache: Sendable {
    package let directory: String

    package init(directory: String) throws {
        self.directory = directory
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw FileSystemError.io("cannot create the data cache directory \(directory): \(String(cString: strerror(errno)))")
        }
        for bucket in 0..<256 {
            let path = directory + "/" + Self.hex2(bucket)
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw FileSystemError.io("cannot create the data cache directory \(path): \(String(cString: strerror(errno)))")
            }
        }
        let empty = Glibc.open(directory + "/empty", O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard empty >= 0 else {
            throw FileSystemError.io("cannot create \(directory)/empty: \(String(cString: strerror(errno)))")
        }
        close(empty)
    }

    static func hex2(_ value: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[(value >> 4) & 15], digits[value & 15]])
    }

    package func path(of ino: InodeNumber) -> String {
        "\(directory)/\(Self.hex2(Int(ino & 255)))/\(ino)"
    }

    /// Opens (creating when asked) the cache file of an inode for positional reads and writes.
    package func open(_ ino: InodeNumber, create: Bool) throws(FileSystemError) -> Int32 {
        let fd = Glibc.open(path(of: ino), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o600)
        guard fd >= 0 else {
            throw FileSystemError(
                errno == ENOENT ? EIO : errno,
                "the local data of inode \(ino) cannot be opened: \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// Opens the cache file of an inode if it has one (nil: it has no local data yet).
    package func openIfPresent(_ ino: InodeNumber) throws(FileSystemError) -> Int32? {
        let fd = Glibc.open(path(of: ino), O_RDWR | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return nil }
        guard fd >= 0 else {
            throw FileSystemError(errno, "the local data of inode \(ino) cannot be opened: \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// A file to read an inode's data from: its cache file, or, for a file never written, an empty file.
    package func contentsPath(of ino: InodeNumber) -> String {
        let own = path(of: ino)
        return access(own, F_OK) == 0 ? own : emptyPath
    }

    /// The empty file that stands for the data of files never written.
    var emptyPath: String { directory + "/empty" }

    /// The cache file's size, or nil when there is none.
    package func size(of ino: InodeNumber) -> Int64? {
        var info = stat()
        return stat(path(of: ino), &info) == 0 ? Int64(info.st_size) : nil
    }

    /// Bytes the cache file occupies on disk (a partly restored sparse file counts what arrived).
    package func allocated(_ ino: InodeNumber) -> Int64 {
        var info = stat()
        return stat(path(of: ino), &info) == 0 ? Int64(info.st_blocks) * 512 : 0
    }

    package func remove(_ ino: InodeNumber) {
        unlink(path(of: ino))
    }

    /// Creates an empty cache file (a new file, or the target of an O_TRUNC open of a released file).
    package func createEmpty(_ ino: InodeNumber) throws(FileSystemError) {
        let fd = Glibc.open(path(of: ino), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot create the local data of inode \(ino): \(String(cString: strerror(errno)))") }
        close(fd)
    }

    /// Sets the size of the local data; a file never written gets its cache file here unless it stays empty.
    package func truncate(_ ino: InodeNumber, to size: Int64) throws(FileSystemError) {
        if Glibc.truncate(path(of: ino), off_t(size)) == 0 { return }
        guard errno == ENOENT else {
            throw FileSystemError(errno, "cannot truncate the local data of inode \(ino): \(String(cString: strerror(errno)))")
        }
        guard size > 0 else { return }
        let fd = try open(ino, create: true)
        defer { close(fd) }
        guard ftruncate(fd, off_t(size)) == 0 else {
            throw FileSystemError(errno, "cannot truncate the local data of inode \(ino): \(String(cString: strerror(errno)))")
        }
    }

    /// Every inode number that has a cache file (for recovery).
    package func inodes() -> [InodeNumber] {
        var result: [InodeNumber] = []
        for bucket in 0..<256 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + Self.hex2(bucket))) ?? []
            result += names.compactMap { InodeNumber($0) }
        }
        return result
    }
}

/// Positional I/O on a descriptor (swift-system retries interrupted calls), with the file system's errors.
enum PositionalIO {
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        do {
            _ = try FileDescriptor(rawValue: fd).writeAll(toAbsoluteOffset: offset, bytes)
        } catch let failure as Errno {
            throw FileSystemError(failure == .noSpace ? ENOSPC : EIO, "writing local data failed: \(failure)")
        }
    }

    /// Reads up to `count` bytes; fewer only at the end of the file. The buffer is not zero-filled first
    /// (reads are up to a MiB each, and the bytes are overwritten anyway).
    static func read(_ fd: Int32, count: Int, at offset: Int64) throws -> Data {
        guard count > 0 else { return Data() }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
        var done = 0
        while done < count {
            let got: Int
            do {
                got = try FileDescriptor(rawValue: fd).read(
                    fromAbsoluteOffset: offset + Int64(done),
                    into: UnsafeMutableRawBufferPointer(start: buffer + done, count: count - done))
            } catch {
                buffer.deallocate()
                throw FileSystemError(EIO, "reading local data failed: \(error)")
            }
            if got == 0 { break }
            done += got
        }
        return Data(bytesNoCopy: buffer, count: done, deallocator: .custom { pointer, _ in pointer.deallocate() })
    }
}

extension FileSystem {
    /// Removes an inode's cache file once the transaction that decided so commits; a rollback keeps it, so
    /// the record and the data never disagree. It runs on the writer's queue right after the commit, before
    /// any other write. A restore started in between (the file was released) has made a cache
    /// file of its own, under the same lock, and that one stays.
    func removeCacheFileAfterCommit(_ db: MetadataTransaction, _ ino: InodeNumber) {
        db.afterCommit { [self] in
            restores.unlessRunning(ino) { cache.remove(ino) }
        }
    }
}
