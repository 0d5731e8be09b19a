import DataRepository
import Foundation
import HSM
import Testing

@testable import LustreFS

#if canImport(Glibc)
import Glibc
#endif

/// Local data made lazily (a file never written has no cache file) and the MDT's transactions (work after a
/// commit, group commit's savepoints), each checked against what a file system that made everything eagerly
/// would show.
@Suite struct LocalDataTests {
    static func hasCacheFile(_ fsDirectory: String, _ ino: InodeNumber) -> Bool {
        access(fsDirectory + "/data/" + DataCache.hex2(Int(ino & 255)) + "/\(ino)", F_OK) == 0
    }

    /// A created file that is never written has no cache file, reads empty, exports as an empty object,
    /// stays archived (not released) across a reopen, and gets its cache file with its first byte or a
    /// truncate that grows it.
    @Test func aFileNeverWrittenHasNoCacheFileAndBehavesAsAnEmptyFile() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let fsDirectory = scratch.sub("fs")
        var fs = try await FileSystem.open(directory: fsDirectory, options: testOptions(), repositories: TestRepositories())
        _ = try await fs.associate("/dra", "file://\(repo)")
        let directory = try await fs.resolve("/dra")
        let empty = try await fs.makeNode(parent: directory.ino, name: "empty", type: .regular, perm: 0o644, uid: 0, gid: 0)
        let handle = try await fs.open(empty.ino, mode: OpenMode(write: true), created: true, current: empty)
        await fs.release(handle)
        #expect(!Self.hasCacheFile(fsDirectory, empty.ino))
        #expect(try await fs.readFile("/dra/empty") == Data())
        let exported = try await eventually(30) { (try? Data(contentsOf: URL(fileURLWithPath: repo + "/empty"))) == Data() }
        #expect(exported)
        let archived = "/dra/empty: (0x00000009) exists archived, archive_id:1"
        #expect(try await eventually(30) { try await fs.state("/dra/empty") == archived })

        // Recovery must not take the missing cache file for lost data.
        await fs.close()
        fs = try await FileSystem.open(directory: fsDirectory, options: testOptions(), repositories: TestRepositories())
        #expect(try await fs.state("/dra/empty") == archived)
        #expect(try await fs.readFile("/dra/empty") == Data())

        // A truncate that grows it makes the cache file (zeros); one to zero of a file never written does not.
        let grown = try await fs.makeNode(parent: directory.ino, name: "grown", type: .regular, perm: 0o644, uid: 0, gid: 0)
        _ = try await fs.setAttributes(grown.ino, AttributeChanges(size: 0))
        #expect(!Self.hasCacheFile(fsDirectory, grown.ino))
        _ = try await fs.setAttributes(grown.ino, AttributeChanges(size: 4096))
        #expect(Self.hasCacheFile(fsDirectory, grown.ino))
        #expect(try await fs.readFile("/dra/grown") == Data(count: 4096))

        // The first write makes it, through a handle opened before it existed, and a second handle sees it.
        let written = try await fs.makeNode(parent: directory.ino, name: "written", type: .regular, perm: 0o644, uid: 0, gid: 0)
        let writer = try await fs.open(written.ino, mode: OpenMode(write: true), created: true, current: written)
        let reader = try await fs.open(written.ino, mode: .read)
        _ = try await fs.write(writer, offset: 0, data: Data("hello".utf8))
        #expect(Self.hasCacheFile(fsDirectory, written.ino))
        #expect(try await fs.read(reader, offset: 0, count: 100) == Data("hello".utf8))
        await fs.release(reader)
        await fs.release(writer)
        #expect(try await eventually(30) { (try? Data(contentsOf: URL(fileURLWithPath: repo + "/written"))) == Data("hello".utf8) })

        // Unlinking a file that never had a cache file is an ordinary unlink.
        try await fs.remove(parent: directory.ino, name: "empty", directory: false)
        #expect(try await eventually(30) { access(repo + "/empty", F_OK) != 0 })
        await fs.close()
    }

    /// Group commit: each body in a savepoint of one transaction. A body that throws rolls back its own
    /// writes and drops the work it left for after the commit; the others commit, and their work runs once,
    /// before their callers resume.
    @Test func groupCommitKeepsTheWorkOfBodiesThatCommittedOnly() async throws {
        let scratch = Scratch()
        let store = try MetadataStore(path: scratch.sub("mdt") + "/mdt.sqlite")
        let ran = Locked<[Int]>([])
        struct Refused: Error {}
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<40 {
                group.addTask {
                    do {
                        try await store.writeGrouped { db in
                            try db.setSetting("key\(index)", "value\(index)")
                            db.afterCommit { ran.withLock { $0.append(index) } }
                            if index % 3 == 0 { throw Refused() }
                        }
                        // The work of a committed body ran before its caller resumed.
                        return (index, ran.withLock { $0.contains(index) })
                    } catch {
                        return (index, false)
                    }
                }
            }
            var outcomes: [Int: Bool] = [:]
            for await (index, done) in group { outcomes[index] = done }
            return outcomes
        }
        for index in 0..<40 {
            let kept = try await store.read { db in try db.setting("key\(index)") }
            if index % 3 == 0 {
                #expect(kept == nil && outcomes[index] == false)
            } else {
                #expect(kept == "value\(index)" && outcomes[index] == true)
            }
        }
        #expect(ran.withLock { $0.sorted() } == (0..<40).filter { $0 % 3 != 0 })
        try store.close()
    }

    /// A body that throws after registering work leaves nothing: not its rows, not its work. The next write
    /// on the same connection starts a fresh transaction.
    @Test func aFailedWriteLeavesNeitherRowsNorWork() async throws {
        let scratch = Scratch()
        let store = try MetadataStore(path: scratch.sub("mdt") + "/mdt.sqlite")
        let ran = Locked(0)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await store.write { db in
                try db.setSetting("gone", "1")
                db.afterCommit { ran.withLock { $0 += 1 } }
                throw Refused()
            }
        }
        try await store.write { db in
            try db.setSetting("kept", "1")
            db.afterCommit { ran.withLock { $0 += 10 } }
        }
        #expect(ran.withLock { $0 } == 10)
        #expect(try await store.read { db in try db.setting("gone") } == nil)
        #expect(try await store.read { db in try db.setting("kept") } == "1")
        try store.close()
    }
}

/// The local-directory repository keeps `a` and `a/...` on one path, where S3 keeps two keys: deleting the key
/// of a file that a directory has since replaced (or of a directory a file has replaced) finds no object of its
/// own and succeeds, so the export queue does not retry it forever.
@Suite struct LocalRepositorySharedPathTests {
    @Test func aDeleteOfAKeyWhosePathHoldsTheOtherKindSucceedsAndLeavesIt() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let local = LocalDirectoryRepository(root: repo)
        _ = try await local.write(key: "a/f", data: Data("x".utf8), userMetadata: [:])
        try await local.delete(key: "a")
        #expect(FileManager.default.contents(atPath: repo + "/a/f") == Data("x".utf8))
        _ = try await local.write(key: "b", data: Data("y".utf8), userMetadata: [:])
        try await local.delete(key: "b/")
        #expect(FileManager.default.contents(atPath: repo + "/b") == Data("y".utf8))
    }
}
