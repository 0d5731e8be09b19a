import DataRepository
import Foundation
import HSM
import LustreFS
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A scratch directory removed when the test ends.
final class Scratch: @unchecked Sendable {
    let path: String
    init() {
        var template = Array("/tmp/lustrefs-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func sub(_ name: String) -> String {
        let full = path + "/" + name
        try? FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }
}

/// Repositories for tests: local directories as they are, S3 through the given factory.
struct TestRepositories: RepositoryFactory {
    var s3: (@Sendable (String) throws -> any DataRepository)?
    /// Wraps every repository (to count or slow down reads).
    var wrap: (@Sendable (any DataRepository) -> any DataRepository)?

    func repository(for location: RepositoryLocation) throws -> any DataRepository {
        let base: any DataRepository
        switch location.scheme {
        case .file: base = LocalDirectoryRepository(root: location.root)
        case .s3:
            guard let s3 else { throw RepositoryError(.invalidPath, "no S3 in this test") }
            base = try s3(location.root)
        }
        return wrap?(base) ?? base
    }
}

/// A repository that counts ranged reads and can delay each one (to observe a restore in progress).
final class InstrumentedRepository: DataRepository, @unchecked Sendable {
    let base: any DataRepository
    let delayNanoseconds: UInt64
    private let lock = NSLock()
    private var readCount = 0
    init(_ base: any DataRepository, delayNanoseconds: UInt64 = 0) {
        self.base = base
        self.delayNanoseconds = delayNanoseconds
    }
    var reads: Int { lock.withLock { readCount } }
    private var listingHook: (@Sendable () async throws -> Void)?
    /// Runs `body` once, on the next listing, after the listing was taken and before it is handed on (what a
    /// sweep's listing is when the file system changes before the sweep applies it).
    func beforeNextListingIsHandedOn(_ body: @escaping @Sendable () async throws -> Void) { lock.withLock { listingHook = body } }

    var displayName: String { base.displayName }
    func list(prefix: String) -> AsyncThrowingStream<[RepositoryObject], any Error> {
        guard
            let hook = lock.withLock({ () -> (@Sendable () async throws -> Void)? in
                defer { listingHook = nil }
                return listingHook
            })
        else { return base.list(prefix: prefix) }
        let base = self.base
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var pages: [[RepositoryObject]] = []
                    for try await page in base.list(prefix: prefix) { pages.append(page) }
                    try await hook()
                    for page in pages { continuation.yield(page) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
    func head(key: String) async throws -> RepositoryObjectHead? { try await base.head(key: key) }
    /// Counts the call; with a delay, the range is handed on 1 MiB at a time, each piece after that long
    /// (a slow link; the wait suspends, it blocks no thread).
    func read(key: String, range: Range<Int64>, etag: String?, sink: @escaping @Sendable (Int64, UnsafeRawBufferPointer) throws -> Void) async throws
    {
        lock.withLock { readCount += 1 }
        guard delayNanoseconds > 0 else { return try await base.read(key: key, range: range, etag: etag, sink: sink) }
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, start + (1 << 20))
            try await Task.sleep(nanoseconds: delayNanoseconds)
            try await base.read(key: key, range: start..<end, etag: etag, sink: sink)
            start = end
        }
    }
    func write(key: String, contentsOf path: String, userMetadata: [String: String]) async throws -> String {
        try await base.write(key: key, contentsOf: path, userMetadata: userMetadata)
    }
    func write(key: String, data: Data, userMetadata: [String: String]) async throws -> String {
        try await base.write(key: key, data: data, userMetadata: userMetadata)
    }
    func replaceMetadata(key: String, userMetadata: [String: String]) async throws -> String {
        try await base.replaceMetadata(key: key, userMetadata: userMetadata)
    }
    func copy(from source: String, to destination: String, userMetadata: [String: String]) async throws -> String {
        try await base.copy(from: source, to: destination, userMetadata: userMetadata)
    }
    func delete(key: String) async throws { try await base.delete(key: key) }
    func checkAccess() async throws { try await base.checkAccess() }
    func startEventFeed(name: String, prefix: String) async throws -> (any RepositoryEventFeed)? {
        try await base.startEventFeed(name: name, prefix: prefix)
    }
    func stopEventFeed(name: String) async throws { try await base.stopEventFeed(name: name) }
}

func testOptions(capacity: Int64 = 1 << 30) -> FileSystemOptions {
    var options = FileSystemOptions(capacityBytes: capacity)
    options.sweepIntervalSeconds = nil
    options.eventWaitSeconds = 1
    options.restoreChunkBytes = 1 << 20
    return options
}

/// Writes a file into a local repository with FSx metadata in its side file.
func putLocal(_ root: String, _ key: String, _ data: Data, metadata: [String: String]? = nil) throws {
    let path = root + "/" + key
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try data.write(to: URL(fileURLWithPath: path))
    if let metadata {
        let side = root + "/.fsx-metadata/" + key + ".meta"
        try FileManager.default.createDirectory(atPath: (side as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try JSONEncoder().encode(metadata).write(to: URL(fileURLWithPath: side))
    }
}

extension FileSystem {
    /// Reads a whole file by path.
    func readFile(_ path: String, chunk: Int = 1 << 20) async throws -> Data {
        let inode = try await resolve(path)
        let handle = try await open(inode.ino, mode: .read)
        var data = Data()
        do {
            while true {
                let piece = try await read(handle, offset: Int64(data.count), count: chunk)
                if piece.isEmpty { break }
                data.append(piece)
            }
        } catch {
            // As the kernel does: a failed read still closes its file.
            await release(handle)
            throw error
        }
        await release(handle)
        return data
    }

    /// Creates (or truncates) and writes a whole file by path, then closes it.
    @discardableResult
    func writeFile(_ path: String, _ data: Data, perm: UInt32 = 0o644) async throws -> Inode {
        let parent = try await resolve((path as NSString).deletingLastPathComponent)
        let name = (path as NSString).lastPathComponent
        let inode: Inode
        if let existing = try? await lookup(parent: parent.ino, name: name) {
            inode = existing
        } else {
            inode = try await makeNode(parent: parent.ino, name: name, type: .regular, perm: perm, uid: 1000, gid: 1000)
        }
        let handle = try await open(inode.ino, mode: OpenMode(write: true, truncate: true))
        _ = try await write(handle, offset: 0, data: data)
        await release(handle)
        return try await resolve(path)
    }

    func state(_ path: String) async throws -> String {
        try await hsmState(try await resolve(path).ino).line(for: path)
    }

    func mkdir(_ path: String, perm: UInt32 = 0o755) async throws {
        let parent = try await resolve((path as NSString).deletingLastPathComponent)
        _ = try await makeNode(parent: parent.ino, name: (path as NSString).lastPathComponent, type: .directory, perm: perm, uid: 0, gid: 0)
    }

    func names(_ path: String) async throws -> [String] {
        try await readDirectory(try await resolve(path).ino).map(\.name)
    }

    func associate(
        _ path: String, _ repository: String, batch: Bool = true, autoImport: Set<RepositoryEventType> = [],
        autoExport: Set<RepositoryEventType> = [.new, .changed, .deleted], readTimeout: Double? = nil
    ) async throws -> Association {
        let created = try await createAssociation(
            AssociationRequest(
                fileSystemPath: path, dataRepositoryPath: repository,
                batchImportMetaDataOnCreate: batch,
                autoImport: autoImport, autoExport: autoExport,
                readTimeoutSeconds: readTimeout))
        return try await waitForAssociation(created.id) ?? created
    }
}

/// Polls `condition` for up to `seconds` (events and background work are asynchronous).
func eventually(_ seconds: Double = 15, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    return try await condition()
}

func errno(of body: () async throws -> Void) async -> Int32? {
    do {
        try await body()
        return nil
    } catch let error as FileSystemError {
        return error.errno
    } catch {
        return -1
    }
}
