import DataRepository
import Foundation
import LustreFS
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A file unlinked or renamed while its upload runs: the unlink queues no delete and the rename no delete of
/// the old key (neither knows of an archived copy yet), so the export itself must not leave its object
/// behind. The repository is slowed so the change lands while the upload waits.
@Suite struct ExportRaceTests {
    static func slowedFileSystem() async throws -> (fs: FileSystem, repo: String, repository: FaultyRepository, scratch: Scratch) {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let faulty = Locked<FaultyRepository?>(nil)
        let repositories = TestRepositories(wrap: { base in
            faulty.withLock { current in
                if current == nil { current = FaultyRepository(base, seed: 1) }
                return current!
            }
        })
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: repositories)
        _ = try await fs.associate("/dra", "file://\(repo)")
        let repository = try #require(faulty.withLock { $0 })
        repository.setPlan(FaultyRepository.Plan(delayNanoseconds: 600_000_000, operations: [.write]))
        return (fs, repo, repository, scratch)
    }

    /// Waits until the export of `ino` is moving data (it then sits in the slowed write). The export
    /// worker starts within moments, but under the whole suite's load it once took over a second.
    static func waitForArchiveToStart(_ fs: FileSystem, _ ino: InodeNumber) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if case .archive = fs.hsmAction(ino) { return }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        Issue.record("the export of inode \(ino) never started")
    }

    @Test func aFileUnlinkedDuringItsUploadLeavesNoObject() async throws {
        let (fs, repo, _, scratch) = try await Self.slowedFileSystem()
        _ = scratch
        let file = try await fs.writeFile("/dra/gone", Data(repeating: 7, count: 4096))
        try await Self.waitForArchiveToStart(fs, file.ino)
        let parent = try await fs.resolve("/dra")
        try await fs.remove(parent: parent.ino, name: "gone", directory: false)
        #expect(try await fs.waitForExports(timeout: 90))
        #expect(!FileManager.default.fileExists(atPath: repo + "/gone"), "the unlinked file's object was left in the repository")
        await fs.close()
    }

    @Test func aFileRenamedDuringItsUploadEndsUnderItsNewNameOnly() async throws {
        let (fs, repo, _, scratch) = try await Self.slowedFileSystem()
        _ = scratch
        let data = Data(repeating: 9, count: 4096)
        let file = try await fs.writeFile("/dra/old", data)
        try await Self.waitForArchiveToStart(fs, file.ino)
        let parent = try await fs.resolve("/dra")
        try await fs.rename(parent: parent.ino, name: "old", newParent: parent.ino, newName: "new")
        #expect(try await fs.waitForExports(timeout: 90))
        #expect(!FileManager.default.fileExists(atPath: repo + "/old"), "the old name's object was left in the repository")
        #expect(FileManager.default.contents(atPath: repo + "/new") == data)
        let state = try await fs.hsmState(file.ino)
        #expect(state.flags.contains(.archived) && !state.flags.contains(.dirty), "\(state)")
        await fs.close()
    }

    /// A file renamed while it is open for writing: its export waits for the last close, so the rename's delete
    /// of the old key runs first. The data is local, so the old object goes now; keeping it (as if it were the
    /// only copy) left it in the repository for good once the close exported the new name.
    @Test func aFileRenamedWhileOpenForWritingLeavesNoObjectAtItsOldName() async throws {
        let (fs, repo, repository, scratch) = try await Self.slowedFileSystem()
        _ = scratch
        repository.setPlan(.none)
        let file = try await fs.writeFile("/dra/old", Data(repeating: 1, count: 100))
        #expect(try await fs.waitForExports(timeout: 60))
        let writer = try await fs.open(file.ino, mode: OpenMode(write: true))
        let data = Data(repeating: 2, count: 300)
        _ = try await fs.write(writer, offset: 0, data: data)
        let root = try await fs.resolve("/dra").ino
        try await fs.rename(parent: root, name: "old", newParent: root, newName: "new")
        #expect(try await fs.waitForExports(timeout: 60))
        await fs.release(writer)
        #expect(try await fs.waitForExports(timeout: 60))
        #expect(try ModelRun.repositoryListing(repo) == ["new": "file"])
        #expect(FileManager.default.contents(atPath: repo + "/new") == data)
        await fs.close()
    }

    /// A rename over an exported file leaves the replaced object for the moved file's export to overwrite. If
    /// the moved file leaves that name again before its export ran, nobody overwrites it: it must be deleted.
    @Test func aReplacedFilesObjectGoesWhenTheReplacingFileMovesOnBeforeItsExport() async throws {
        let (fs, repo, repository, scratch) = try await Self.slowedFileSystem()
        _ = scratch
        repository.setPlan(.none)
        _ = try await fs.writeFile("/dra/replaced", Data(repeating: 1, count: 100))
        let data = Data(repeating: 2, count: 200)
        _ = try await fs.writeFile("/dra/moving", data)
        #expect(try await fs.waitForExports(timeout: 60))
        // No export can write until both renames are done.
        repository.setPlan(FaultyRepository.Plan(errorRate: 1, operations: [.write, .copy]))
        let root = try await fs.resolve("/dra").ino
        try await fs.rename(parent: root, name: "moving", newParent: root, newName: "replaced")
        try await fs.rename(parent: root, name: "replaced", newParent: root, newName: "final")
        repository.setPlan(.none)
        #expect(try await fs.waitForExports(timeout: 90))
        #expect(try ModelRun.repositoryListing(repo) == ["final": "file"])
        #expect(FileManager.default.contents(atPath: repo + "/final") == data)
        await fs.close()
    }
}

/// A released file's data lives only in its object. When the file's directory is renamed, its export copies
/// that object to the new name; a new file that takes the old name before that copy must not overwrite the
/// object, or the released file's data is gone (and its restore reads the newcomer's bytes).
@Suite struct RenamedReleasedDataTests {
    /// A file system whose association holds `files` (name → data), exported and released.
    static func released(_ files: [String: Data]) async throws -> (FileSystem, String, Scratch, [String: Inode]) {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        _ = try await fs.associate("/dra", "file://\(repo)")
        var inodes: [String: Inode] = [:]
        for (name, data) in files { inodes[name] = try await fs.writeFile("/dra/" + name, data) }
        #expect(try await fs.waitForExports(timeout: 60))
        for inode in inodes.values { try await fs.hsmRelease(inode.ino) }
        return (fs, repo, scratch, inodes)
    }

    @Test func aNewFileAtTheOldNameLeavesTheReleasedFilesDataWhole() async throws {
        let (fs, repo, repository, scratch) = try await ExportRaceTests.slowedFileSystem()
        _ = scratch
        repository.setPlan(.none)
        try await fs.mkdir("/dra/a")
        let original = Data(repeating: 1, count: 5000)
        let released = try await fs.writeFile("/dra/a/f", original)
        #expect(try await fs.waitForExports(timeout: 60))
        try await fs.hsmRelease(released.ino)

        // Every copy fails for now: the renamed file's export cannot move its object.
        repository.setPlan(FaultyRepository.Plan(errorRate: 1, operations: [.copy]))
        let root = try await fs.resolve("/dra")
        try await fs.rename(parent: root.ino, name: "a", newParent: root.ino, newName: "moved")
        try await fs.mkdir("/dra/a")
        let newcomer = Data(repeating: 2, count: 300)
        _ = try await fs.writeFile("/dra/a/f", newcomer)
        // The newcomer's export brings the released file's data back before it overwrites the object.
        let deadline = ContinuousClock.now + .seconds(60)
        while FileManager.default.contents(atPath: repo + "/a/f") != newcomer && ContinuousClock.now < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(FileManager.default.contents(atPath: repo + "/a/f") == newcomer)
        #expect(try await !fs.resolve("/dra/moved/f").isReleased, "the released file was not restored before its object was overwritten")
        #expect(try await fs.readFile("/dra/moved/f") == original)

        repository.setPlan(.none)
        #expect(try await fs.waitForExports(timeout: 90))
        #expect(try await fs.readFile("/dra/moved/f") == original)
        #expect(try await fs.readFile("/dra/a/f") == newcomer)
        #expect(FileManager.default.contents(atPath: repo + "/moved/f") == original)
        #expect(FileManager.default.contents(atPath: repo + "/a/f") == newcomer)
        await fs.close()
    }

    /// Two released files swap names (through a third): each one's copy would overwrite the other's only
    /// data. Neither may be lost, and the exports may not wait for each other forever.
    @Test func releasedFilesSwappedByRenamesKeepTheirData() async throws {
        let first = Data(repeating: 1, count: 7000)
        let second = Data(repeating: 2, count: 900)
        let (fs, repo, scratch, _) = try await Self.released(["x": first, "y": second])
        _ = scratch
        let root = try await fs.resolve("/dra").ino
        try await fs.rename(parent: root, name: "x", newParent: root, newName: "t")
        try await fs.rename(parent: root, name: "y", newParent: root, newName: "x")
        try await fs.rename(parent: root, name: "t", newParent: root, newName: "y")
        #expect(try await fs.waitForExports(timeout: 90))
        #expect(try await fs.readFile("/dra/y") == first)
        #expect(try await fs.readFile("/dra/x") == second)
        #expect(FileManager.default.contents(atPath: repo + "/y") == first)
        #expect(FileManager.default.contents(atPath: repo + "/x") == second)
        #expect(!FileManager.default.fileExists(atPath: repo + "/t"))
        await fs.close()
    }

    /// A rename replaces a released file that a reader still has open; the moved file is still being written,
    /// so its export waits for its close and the replaced name's delete runs first. The object is the open
    /// file's only data: it stays until the reader is done.
    @Test func aReplacedReleasedFileStillOpenKeepsItsObject() async throws {
        let original = Data(repeating: 5, count: 6000)
        let (fs, repo, scratch, inodes) = try await Self.released(["a": original])
        _ = scratch
        let replaced = try #require(inodes["a"])
        let reader = try await fs.open(replaced.ino, mode: OpenMode())
        let root = try await fs.resolve("/dra").ino
        let moving = try await fs.makeNode(parent: root, name: "x", type: .regular, perm: 0o644, uid: 0, gid: 0)
        let writer = try await fs.open(moving.ino, mode: OpenMode(write: true), created: true)
        let newer = Data(repeating: 6, count: 100)
        _ = try await fs.write(writer, offset: 0, data: newer)
        try await fs.rename(parent: root, name: "x", newParent: root, newName: "a")
        #expect(try await fs.waitForExports(timeout: 60))
        #expect(FileManager.default.contents(atPath: repo + "/a") == original)
        #expect(try await fs.read(reader, offset: 0, count: original.count) == original)
        await fs.release(reader)
        await fs.release(writer)
        #expect(try await fs.waitForExports(timeout: 60))
        #expect(FileManager.default.contents(atPath: repo + "/a") == newer)
        await fs.close()
    }

    /// Until a renamed file is exported under its new name, its archived copy sits under the old one, which a
    /// new file may take: releasing it then would leave its data where it is not kept safe.
    @Test func aFileRenamedSinceItsExportIsReleasedOnlyOnceExportedAgain() async throws {
        let (fs, repo, repository, scratch) = try await ExportRaceTests.slowedFileSystem()
        _ = scratch
        repository.setPlan(.none)
        let data = Data(repeating: 3, count: 4096)
        let file = try await fs.writeFile("/dra/old", data)
        #expect(try await fs.waitForExports(timeout: 60))
        repository.setPlan(FaultyRepository.Plan(errorRate: 1, operations: [.write]))
        let root = try await fs.resolve("/dra")
        try await fs.rename(parent: root.ino, name: "old", newParent: root.ino, newName: "new")
        #expect(await errno { try await fs.hsmRelease(file.ino) } == EBUSY)
        #expect(try await !fs.resolve("/dra/new").isReleased)

        repository.setPlan(.none)
        #expect(try await fs.waitForExports(timeout: 90))
        try await fs.hsmRelease(file.ino)
        #expect(try await fs.readFile("/dra/new") == data)
        #expect(FileManager.default.contents(atPath: repo + "/new") == data)
        await fs.close()
    }
}
