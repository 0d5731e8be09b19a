import Foundation
import Testing

@testable import LustreFS

/// The cache of inode records that answers the mount's stats: its two rules (writers publish after their
/// commit; a reader's fill counts only when nothing was published since its read began), and, through the
/// core, that a stat answered from it always equals the MDT's row.
@Suite struct InodeCacheTests {
    static func record(_ ino: InodeNumber, size: Int64 = 0) -> Inode {
        Inode(ino: ino, type: .regular, perm: 0o644, uid: 1, gid: 1, size: size, time: 1)
    }

    @Test func aPublishedRecordIsKeptAndAPartialChangeDropsIt() {
        let cache = InodeCache()
        cache.published(7, Self.record(7, size: 10))
        #expect(cache.get(7)?.size == 10)
        cache.published(7, Self.record(7, size: 20))
        #expect(cache.get(7)?.size == 20)
        cache.published(7, nil)
        #expect(cache.get(7) == nil)
    }

    @Test func aFillFromASnapshotOlderThanAPublishIsDropped() {
        let cache = InodeCache()
        let before = cache.generation
        // A commit publishes while the reader's snapshot (taken after `before`) may predate it.
        cache.published(8, nil)
        cache.fill(Self.record(8, size: 1), readAfter: before)
        #expect(cache.get(8) == nil, "a record read before the commit must not be kept")
        let after = cache.generation
        cache.fill(Self.record(8, size: 2), readAfter: after)
        #expect(cache.get(8)?.size == 2)
    }

    @Test func pastItsCapacityTheCacheStartsAgainWithTheNewRecord() {
        let cache = InodeCache(capacity: 4)
        for ino in InodeNumber(1)...4 { cache.published(ino, Self.record(ino)) }
        #expect((1...4).allSatisfy { cache.get(InodeNumber($0)) != nil })
        cache.published(5, Self.record(5))
        #expect(cache.get(5) != nil)
        #expect(cache.get(1) == nil)
        // A record already held is replaced in place, whatever the count.
        cache.published(5, Self.record(5, size: 3))
        #expect(cache.get(5)?.size == 3)
    }

    /// Every kind of change the namespace makes (create, write, chmod, link, rename, unlink, rmdir, group
    /// commits of the export worker), then a stat of every inode: the blocking stat (through the cache) must
    /// equal the MDT's record read in a transaction of its own.
    @Test func aStatFromTheCacheEqualsTheMDT() async throws {
        let scratch = Scratch()
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        _ = try await fs.associate("/dra", "file://\(scratch.sub("repo"))", autoExport: [.new, .changed, .deleted])
        let root = try await fs.resolve("/dra")
        var inodes: [InodeNumber] = [root.ino]
        func compareAll(_ when: String) async throws {
            for ino in inodes {
                // Read twice around the MDT's: an export committing in between changes both, a stale cache neither.
                let first: Inode?
                do {
                    first = try fs.attributesBlocking(ino)
                } catch is FileSystemError {
                    // Gone from the cache's view: gone from the MDT too.
                    await #expect(throws: FileSystemError.self, "inode \(ino) after \(when)") { try await fs.attributes(ino) }
                    continue
                }
                guard let first else { continue }
                let stored = try await fs.attributes(ino)
                let second = try fs.attributesBlocking(ino)
                if first == second { #expect(first == stored, "inode \(ino) after \(when)") }
            }
        }
        let sub = try await fs.makeNode(parent: root.ino, name: "sub", type: .directory, perm: 0o755, uid: 0, gid: 0)
        inodes.append(sub.ino)
        for index in 0..<20 {
            let (file, handle) = try fs.createBlocking(parent: sub.ino, name: "f\(index)", perm: 0o644, uid: 0, gid: 0)
            inodes.append(file.ino)
            if index % 2 == 0 { _ = try await fs.write(handle, offset: 0, data: Data(repeating: UInt8(index), count: index * 100)) }
            _ = fs.releaseBlocking(handle)
        }
        try await compareAll("creates and writes")
        _ = try await fs.setAttributes(inodes[3], AttributeChanges(perm: 0o600))
        _ = try await fs.link(inodes[4], parent: root.ino, name: "hard")
        try await fs.rename(parent: sub.ino, name: "f5", newParent: root.ino, newName: "moved", flags: [])
        try fs.removeBlocking(parent: sub.ino, name: "f6", directory: false)
        try await compareAll("chmod, link, rename and unlink")
        #expect(try await fs.waitForExports(timeout: 60))
        try await compareAll("the exports")
        for index in 0..<20 where index != 5 && index != 6 {
            try fs.removeBlocking(parent: sub.ino, name: "f\(index)", directory: false)
        }
        try await fs.remove(parent: root.ino, name: "sub", directory: true)
        #expect(throws: FileSystemError.self) { try fs.attributesBlocking(sub.ino) }
        try await compareAll("rmdir")
        await fs.close()
    }
}
