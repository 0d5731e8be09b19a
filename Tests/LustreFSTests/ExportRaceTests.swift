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
}
