import DataRepository
import Foundation
import HSM
import LustreFS
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The core against a local-directory repository: import, restore, export, HSM operations, sweeps and
/// associations, each checked in both the file system and the repository.
@Suite struct CoreTests {
    /// An association's HSM state counts follow each file: imported (released, archived), read (restored,
    /// archived), written (dirty, without auto-export to clear it), and a new file (none of these).
    @Test func hsmCountsFollowEachFilesState() async throws {
        let scratch = Scratch()
        for name in ["a", "b", "c"] { try putLocal(scratch.sub("repo"), name, randomBytes(100)) }
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        let association = try await fs.associate("/dra", "file://\(scratch.path)/repo", autoExport: [])
        #expect(try await fs.hsmCounts(association: association.id) == HSMCounts(files: 3, released: 3, archived: 3))
        // A read returns once its ranges arrived; the restore clears RELEASED in the MDT just after.
        _ = try await fs.readFile("/dra/a")
        let oneRestored = HSMCounts(files: 3, released: 2, archived: 3)
        #expect(try await eventually { try await fs.hsmCounts(association: association.id) == oneRestored })
        #expect(try await fs.hsmCounts(association: association.id) == oneRestored)
        _ = try await fs.readFile("/dra/b")
        _ = try await fs.writeFile("/dra/b", Data("changed".utf8))
        _ = try await fs.writeFile("/dra/new", Data("new".utf8))
        let changed = HSMCounts(files: 4, released: 1, archived: 3, dirty: 1)
        #expect(try await eventually { try await fs.hsmCounts(association: association.id) == changed })
        #expect(try await fs.hsmCounts(association: association.id) == changed)
        #expect(await errno { _ = try await fs.hsmCounts(association: "dra-nosuch") } == -1)
        await fs.close()
    }

    /// One open at a time: a second open of the directory is EBUSY while the first holds it, and works once
    /// the first is closed.
    @Test func aDirectoryIsOpenedByOneFileSystemAtATime() async throws {
        let scratch = Scratch()
        let first = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        #expect(
            await errno { _ = try await FileSystem.open(directory: scratch.path + "/fs", options: testOptions(), repositories: TestRepositories()) }
                == EBUSY)
        await first.close()
        let second = try await FileSystem.open(directory: scratch.path + "/fs", options: testOptions(), repositories: TestRepositories())
        await second.close()
    }

    @Test func importShowsNamesAndAttributesBeforeAnyDataMoves() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let big = randomBytes(3_000_000)
        try putLocal(
            repo, "a.txt", Data("hello\n".utf8),
            metadata: [
                "file-permissions": "0100640", "file-owner": "500", "file-group": "501", "file-mtime": "1595002920000000000ns",
            ])
        try putLocal(repo, "sub/big.bin", big)
        chmod(repo + "/sub/big.bin", 0o600)
        try putLocal(repo, "sub/deep/c", Data("c".utf8))
        try putLocal(repo, "link", Data("a.txt".utf8), metadata: ["file-permissions": "0120777", "file-owner": "7", "file-group": "7"])
        var bigStat = stat()
        stat(repo + "/sub/big.bin", &bigStat)
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        let association = try await fs.associate("/dra", "file://\(repo)")
        #expect(association.lifecycle == .available)
        #expect(try await fs.names("/dra") == ["a.txt", "link", "sub"])
        let a = try await fs.resolve("/dra/a.txt")
        #expect(a.mode == 0o100640 && a.uid == 500 && a.gid == 501 && a.size == 6 && a.mtime == 1595002920000000000)
        // No side file in a local directory repository: the file's own owner, group, mode and mtime (a 0600
        // file is never imported wider).
        let bigInode = try await fs.resolve("/dra/sub/big.bin")
        #expect(bigInode.mode == 0o100600 && bigInode.uid == getuid() && bigInode.gid == getgid() && bigInode.size == 3_000_000)
        #expect(bigInode.mtime == Int64(bigStat.st_mtim.tv_sec) * 1_000_000_000 + Int64(bigStat.st_mtim.tv_nsec))
        let link = try await fs.resolve("/dra/link")
        #expect(link.type == .symlink)
        #expect(try await fs.readLink(link.ino) == "a.txt")
        #expect(try await fs.state("/dra/sub/big.bin") == "/dra/sub/big.bin: (0x0000000d) released exists archived, archive_id:1")
        #expect(try await fs.usage().usedBytes == 0)

        #expect(try await fs.readFile("/dra/sub/big.bin") == big)
        // The read returns once its ranges arrived and the restore commits (RELEASED cleared) just after;
        // a state asked in between waits for that commit, as a Lustre reader would have waited for it.
        #expect(try await fs.state("/dra/sub/big.bin") == "/dra/sub/big.bin: (0x00000009) exists archived, archive_id:1")
        #expect(try await fs.usage().usedBytes == 3_000_000)

        try await fs.hsmRelease(bigInode.ino)
        #expect(try await fs.state("/dra/sub/big.bin") == "/dra/sub/big.bin: (0x0000000d) released exists archived, archive_id:1")
        #expect(try await fs.usage().usedBytes == 0)
        #expect(try await fs.readFile("/dra/sub/big.bin", chunk: 4096) == big)
        await fs.close()
    }

    /// A sweep lists the repository, then applies the listing. A rename exported in between (the new key
    /// written, the old one deleted) must not come back from the listing as a new file under its old name, and
    /// the renamed file must stay.
    @Test func aListingTakenBeforeARenamesExportDoesNotBringTheOldNameBack() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let instrumented = Locked<InstrumentedRepository?>(nil)
        let repositories = TestRepositories(wrap: { base in
            instrumented.withLock { current in
                if current == nil { current = InstrumentedRepository(base) }
                return current!
            }
        })
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: repositories)
        let association = try await fs.associate(
            "/dra", "file://\(repo)", autoImport: [.new, .changed, .deleted],
            autoExport: [.new, .changed, .deleted])
        try await fs.mkdir("/dra/copy")
        try await fs.writeFile("/dra/copy/blob", Data("kept".utf8))
        #expect(try await fs.waitForExports())
        #expect(FileManager.default.fileExists(atPath: repo + "/copy/blob"))

        let root = try await fs.resolve("/dra")
        let repository = try #require(instrumented.withLock { $0 })
        repository.beforeNextListingIsHandedOn {
            try await fs.rename(parent: root.ino, name: "copy", newParent: root.ino, newName: "moved")
            _ = try await fs.waitForExports()
        }
        let report = try await fs.reconcile(association.id, allowed: association.autoImport)
        #expect(!FileManager.default.fileExists(atPath: repo + "/copy/blob"))
        #expect(await errno(of: { _ = try await fs.resolve("/dra/copy") }) == ENOENT, "\(report)")
        #expect(try await fs.readFile("/dra/moved/blob") == Data("kept".utf8))
        #expect(report.created == 0 && report.deleted == 0, "\(report)")
        await fs.close()
    }

    @Test func exportFollowsTheAutoExportPolicyWithFSxMetadata() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        _ = try await fs.associate("/dra", "file://\(repo)")
        try await fs.mkdir("/dra/dir", perm: 0o750)
        try await fs.writeFile("/dra/dir/f", Data("one".utf8), perm: 0o640)
        let dir = try await fs.resolve("/dra")
        _ = try await fs.makeNode(parent: dir.ino, name: "ln", type: .symlink, perm: 0o777, uid: 0, gid: 0, target: "dir/f")
        #expect(try await fs.waitForExports())
        #expect(try String(contentsOfFile: repo + "/dir/f", encoding: .utf8) == "one")
        let local = LocalDirectoryRepository(root: repo)
        let head = try #require(try await local.head(key: "dir/f"))
        #expect(head.userMetadata["file-permissions"] == "0100640")
        #expect(head.userMetadata["file-owner"] == "1000")
        #expect(head.userMetadata["user-agent"] == "aws-fsx-lustre")
        #expect(try await local.head(key: "dir/")?.userMetadata["file-permissions"] == "040750")
        #expect(try String(contentsOfFile: repo + "/ln", encoding: .utf8) == "dir/f")
        #expect(try await local.head(key: "ln")?.userMetadata["file-permissions"] == "0120777")
        #expect(try await fs.state("/dra/dir/f") == "/dra/dir/f: (0x00000009) exists archived, archive_id:1")

        // chmod is a metadata update of the object; a write makes the file dirty until it is exported.
        let f = try await fs.resolve("/dra/dir/f")
        _ = try await fs.setAttributes(f.ino, AttributeChanges(perm: 0o600, uid: 42))
        #expect(try await fs.waitForExports())
        #expect(try await local.head(key: "dir/f")?.userMetadata["file-permissions"] == "0100600")
        #expect(try await local.head(key: "dir/f")?.userMetadata["file-owner"] == "42")
        let handle = try await fs.open(f.ino, mode: OpenMode(write: true))
        _ = try await fs.write(handle, offset: 3, data: Data("two".utf8))
        #expect(try await fs.state("/dra/dir/f") == "/dra/dir/f: (0x0000000b) exists dirty archived, archive_id:1")
        await fs.release(handle)
        #expect(try await fs.waitForExports())
        #expect(try String(contentsOfFile: repo + "/dir/f", encoding: .utf8) == "onetwo")
        #expect(try await fs.state("/dra/dir/f") == "/dra/dir/f: (0x00000009) exists archived, archive_id:1")

        // A directory rename rewrites every descendant and deletes the old objects.
        let root = try await fs.resolve("/dra")
        try await fs.rename(parent: root.ino, name: "dir", newParent: root.ino, newName: "moved")
        #expect(try await fs.waitForExports())
        #expect(FileManager.default.fileExists(atPath: repo + "/moved/f"))
        #expect(!FileManager.default.fileExists(atPath: repo + "/dir/f"))
        #expect(try String(contentsOfFile: repo + "/moved/f", encoding: .utf8) == "onetwo")

        // A released file renamed moves by a copy inside the repository, and stays released.
        let moved = try await fs.resolve("/dra/moved/f")
        try await fs.hsmRelease(moved.ino)
        let movedDir = try await fs.resolve("/dra/moved")
        try await fs.rename(parent: movedDir.ino, name: "f", newParent: root.ino, newName: "g")
        #expect(try await fs.waitForExports())
        #expect(try String(contentsOfFile: repo + "/g", encoding: .utf8) == "onetwo")
        #expect(!FileManager.default.fileExists(atPath: repo + "/moved/f"))
        #expect(try await fs.state("/dra/g") == "/dra/g: (0x0000000d) released exists archived, archive_id:1")
        #expect(try await fs.readFile("/dra/g") == Data("onetwo".utf8))

        // Unlink deletes the object (DELETED is in the policy).
        try await fs.remove(parent: root.ino, name: "g", directory: false)
        #expect(try await fs.waitForExports())
        #expect(!FileManager.default.fileExists(atPath: repo + "/g"))
        await fs.close()
    }

    @Test func withoutDeletedInThePolicyObjectsStay() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        _ = try await fs.associate("/dra", "file://\(repo)", autoExport: [.new, .changed])
        try await fs.writeFile("/dra/keep", Data("k".utf8))
        #expect(try await fs.waitForExports())
        let root = try await fs.resolve("/dra")
        try await fs.remove(parent: root.ino, name: "keep", directory: false)
        #expect(try await fs.waitForExports())
        #expect(FileManager.default.fileExists(atPath: repo + "/keep"))
        // Without any export policy nothing leaves the file system until asked.
        let other = scratch.sub("other")
        _ = try await fs.associate("/quiet", "file://\(other)", autoExport: [])
        try await fs.writeFile("/quiet/x", Data("x".utf8))
        #expect(try await fs.waitForExports())
        #expect(!FileManager.default.fileExists(atPath: other + "/x"))
        #expect(try await fs.state("/quiet/x") == "/quiet/x: (0x00000000)")
        try await fs.hsmArchive(try await fs.resolve("/quiet/x").ino, wait: true)
        #expect(FileManager.default.fileExists(atPath: other + "/x"))
        #expect(try await fs.state("/quiet/x") == "/quiet/x: (0x00000009) exists archived, archive_id:1")
        await fs.close()
    }

    @Test func hsmOperationsApplyLustreRulesAndErrors() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        try putLocal(repo, "r", Data("remote".utf8))
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        _ = try await fs.associate("/dra", "file://\(repo)", autoExport: [])
        let outside = try await fs.writeFile("/plain", Data("p".utf8))
        // Not archived: release is refused (EPERM); archive outside every association is EINVAL.
        #expect(await errno { try await fs.hsmRelease(outside.ino) } == EPERM)
        #expect(await errno { try await fs.hsmArchive(outside.ino) } == EINVAL)

        let file = try await fs.writeFile("/dra/f", Data("local".utf8))
        #expect(try await fs.state("/dra/f") == "/dra/f: (0x00000000)")
        try await fs.hsmArchive(file.ino, wait: true)
        #expect(try await fs.state("/dra/f") == "/dra/f: (0x00000009) exists archived, archive_id:1")
        // Open elsewhere: EBUSY.
        let handle = try await fs.open(file.ino, mode: .read)
        #expect(await errno { try await fs.hsmRelease(file.ino) } == EBUSY)
        await fs.release(handle)
        // never_release: EPERM; never_archive refuses archive of a dirty file.
        _ = try await fs.hsmSet(file.ino, setting: [.noRelease], clearing: [])
        #expect(try await fs.state("/dra/f") == "/dra/f: (0x00000019) exists archived never_release, archive_id:1")
        #expect(await errno { try await fs.hsmRelease(file.ino) } == EPERM)
        _ = try await fs.hsmSet(file.ino, setting: [.noArchive], clearing: [.noRelease])
        try await fs.writeFile("/dra/f", Data("changed".utf8))
        #expect(try await fs.state("/dra/f") == "/dra/f: (0x0000002b) exists dirty archived never_archive, archive_id:1")
        #expect(await errno { try await fs.hsmArchive(file.ino) } == EPERM)
        #expect(await errno { try await fs.hsmRelease(file.ino) } == EPERM)
        _ = try await fs.hsmSet(file.ino, setting: [], clearing: [.noArchive])
        try await fs.hsmArchive(file.ino, wait: true)
        #expect(try String(contentsOfFile: repo + "/f", encoding: .utf8) == "changed")
        // Setting RELEASED by hand is refused (EINVAL).
        #expect(await errno { _ = try await fs.hsmSet(file.ino, setting: [.released], clearing: []) } == EINVAL)
        // hsm_remove deletes the archived copy and clears exists/archived.
        try await fs.hsmRemove(file.ino)
        #expect(try await fs.state("/dra/f") == "/dra/f: (0x00000000), archive_id:1")
        #expect(!FileManager.default.fileExists(atPath: repo + "/f"))
        // A released file cannot be hsm_removed (its only data is the archive); restore brings it back.
        let remote = try await fs.resolve("/dra/r")
        #expect(await errno { try await fs.hsmRemove(remote.ino) } == EPERM)
        try await fs.restore(remote.ino, wait: true)
        #expect(try await fs.state("/dra/r") == "/dra/r: (0x00000009) exists archived, archive_id:1")
        #expect(fs.hsmAction(remote.ino) == .noop)
        // Directories have no HSM state; hsm requests on them are EINVAL.
        let dir = try await fs.resolve("/dra")
        #expect(await errno { try await fs.hsmRelease(dir.ino) } == EINVAL)
        await fs.close()
    }

    /// Two associations whose repositories hold the same keys (two directories here; two buckets under one
    /// prefix alike): each file's attributes, bytes and hsm_remove go to its own repository.
    @Test func twoRepositoriesWithTheSameKeysKeepToTheirOwnObjects() async throws {
        let scratch = Scratch()
        let one = randomBytes(1000), two = randomBytes(3000)
        try putLocal(scratch.sub("one"), "same", one, metadata: ["file-permissions": "0100600", "file-owner": "0", "file-group": "0"])
        try putLocal(scratch.sub("two"), "same", two, metadata: ["file-permissions": "0100644", "file-owner": "0", "file-group": "0"])
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        _ = try await fs.associate("/one", "file://\(scratch.path)/one")
        _ = try await fs.associate("/two", "file://\(scratch.path)/two")
        #expect(try await fs.attributes(try await fs.resolve("/two/same").ino).size == 3000)
        #expect(try await fs.attributes(try await fs.resolve("/two/same").ino).perm == 0o644)
        #expect(try await fs.readFile("/two/same") == two)
        #expect(try await fs.readFile("/one/same") == one)
        try await fs.hsmRemove(try await fs.resolve("/two/same").ino)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/two/same"))
        #expect(FileManager.default.contents(atPath: scratch.path + "/one/same") == one)
        await fs.close()
    }

    /// An association's own read timeout bounds reads of its files; another association's files keep the
    /// file system's (60 s here), so the same slow link fails one read and serves the other.
    @Test func anAssociationsReadTimeoutBoundsOnlyItsOwnFiles() async throws {
        let scratch = Scratch()
        let data = randomBytes(2 << 20)
        for name in ["strict", "patient"] { try putLocal(scratch.sub(name), "big", data) }
        // The strict association's link never delivers (until its transfer is cancelled), so EIO there can only be
        // its timeout's, however late a loaded machine runs the watchdog (a 4 s piece once arrived before the
        // watchdog ran). The patient one's pieces arrive after 2 s: far past 0.5 s, well within 60 s.
        let repositories = TestRepositories(wrap: { base in
            let stuck = base.displayName.contains("/strict")
            return InstrumentedRepository(base, delayNanoseconds: stuck ? 3_600_000_000_000 : 2_000_000_000)
        })
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: repositories)
        let strict = try await fs.associate("/strict", "file://\(scratch.path)/strict", readTimeout: 0.5)
        #expect(strict.readTimeoutSeconds == 0.5)
        _ = try await fs.associate("/patient", "file://\(scratch.path)/patient")

        // No clock is asserted: a loaded machine once took a minute to get here.
        let strictHandle = try await fs.open(try await fs.resolve("/strict/big").ino, mode: .read)
        #expect(await errno { _ = try await fs.read(strictHandle, offset: 0, count: 4096) } == EIO)

        let patientHandle = try await fs.open(try await fs.resolve("/patient/big").ino, mode: .read)
        #expect(try await fs.read(patientHandle, offset: 0, count: 4096) == data.prefix(4096))
        #expect(
            await errno {
                _ = try await fs.createAssociation(
                    AssociationRequest(
                        fileSystemPath: "/zero", dataRepositoryPath: "file://\(scratch.path)/strict", readTimeoutSeconds: 0))
            } == -1)
        await fs.close()
    }

    @Test func concurrentReadersShareOneRestoreAndEarlyRangesReturnFirst() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let data = randomBytes(16 << 20)
        try putLocal(repo, "big", data)
        let instrumented = Locked<InstrumentedRepository?>(nil)
        let repositories = TestRepositories(wrap: { base in
            // 1 MiB pieces, 100 ms each: the whole file takes 1.6 s to arrive.
            let wrapped = InstrumentedRepository(base, delayNanoseconds: 100_000_000)
            instrumented.withLock { $0 = wrapped }
            return wrapped
        })
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: repositories)
        _ = try await fs.associate("/dra", "file://\(repo)")
        let inode = try await fs.resolve("/dra/big")
        // The first 4 KiB arrive with the first piece: the read returns while the restore is still running.
        let handle = try await fs.open(inode.ino, mode: .read)
        let head = try await fs.read(handle, offset: 0, count: 4096)
        #expect(head == data.prefix(4096))
        guard case .restore(let movedAfterFirstRead) = fs.hsmAction(inode.ino) else {
            Issue.record("the restore should still be running after the first range arrived")
            return
        }
        #expect(movedAfterFirstRead < Int64(data.count))
        #expect(fs.hsmAction(inode.ino).line(for: "/dra/big").hasPrefix("/dra/big: RESTORE running ("))
        // A read near the end, far ahead of the stream, is fetched on the side: it too returns while the
        // restore is still running.
        let tail = try await fs.read(handle, offset: Int64(data.count - 4096), count: 4096)
        #expect(tail == data.suffix(4096))
        if case .restore = fs.hsmAction(inode.ino) {} else { Issue.record("the tail read waited for the whole restore") }
        // Two more readers at once share the same restore: one bulk read and one side read in all.
        async let a = fs.readFile("/dra/big")
        async let b = fs.readFile("/dra/big")
        let (first, second) = try await (a, b)
        await fs.release(handle)
        #expect(first == data && second == data)
        #expect(instrumented.withLock { $0?.reads } == 2)
        #expect(try await fs.state("/dra/big") == "/dra/big: (0x00000009) exists archived, archive_id:1")
        await fs.close()
    }

    @Test func sweepAppliesRepositoryChangesAndKeepsLocalChanges() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        try putLocal(repo, "same", Data("same".utf8))
        try putLocal(repo, "changes", Data("v1".utf8))
        try putLocal(repo, "goes", Data("bye".utf8))
        try putLocal(repo, "conflict", Data("remote v1".utf8))
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        let association = try await fs.associate("/dra", "file://\(repo)", autoImport: [.new, .changed, .deleted], autoExport: [])
        #expect(try await fs.readFile("/dra/changes") == Data("v1".utf8))
        // A local change not yet exported, and a local file the repository never had.
        try await fs.writeFile("/dra/conflict", Data("local edit".utf8))
        try await fs.writeFile("/dra/localonly", Data("mine".utf8))
        try await Task.sleep(nanoseconds: 20_000_000)
        try putLocal(repo, "changes", Data("version 2".utf8))
        try putLocal(repo, "conflict", Data("remote v2".utf8))
        try putLocal(repo, "new/file", Data("new".utf8))
        try FileManager.default.removeItem(atPath: repo + "/goes")
        let report = try await fs.reconcile(association.id, allowed: association.autoImport)
        #expect(report.created == 2)  // new/ and new/file
        #expect(report.updated == 1)
        #expect(report.deleted == 1)
        #expect(report.conflicts == ["/dra/conflict"])
        #expect(try await fs.names("/dra") == ["changes", "conflict", "localonly", "new", "same"])
        // The clean local copy was invalidated: released again, and the next read gets version 2.
        #expect(try await fs.state("/dra/changes") == "/dra/changes: (0x0000000d) released exists archived, archive_id:1")
        #expect(try await fs.readFile("/dra/changes") == Data("version 2".utf8))
        #expect(try await fs.readFile("/dra/conflict") == Data("local edit".utf8))
        #expect(try await fs.readFile("/dra/localonly") == Data("mine".utf8))
        #expect(try await fs.readFile("/dra/new/file") == Data("new".utf8))
        await fs.close()
    }

    @Test func associationRulesRefuseBadRequestsWithFSxErrors() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        func code(_ request: AssociationRequest) async -> String? {
            do {
                _ = try await fs.createAssociation(request)
                return nil
            } catch let error as AssociationError {
                return error.code.rawValue + ": " + error.message
            } catch {
                return "\(error)"
            }
        }
        _ = try await fs.associate("/a", "file://\(repo)/")
        #expect(
            await code(AssociationRequest(fileSystemPath: "relative", dataRepositoryPath: "s3://bucket")).map {
                $0.hasPrefix("BadRequest: FileSystemPath 'relative' must start with '/'")
            } == true)
        #expect(
            await code(AssociationRequest(fileSystemPath: "/a/b", dataRepositoryPath: "file://\(scratch.sub("r2"))")).map {
                $0.contains("overlaps /a")
            } == true)
        #expect(
            await code(AssociationRequest(fileSystemPath: "/", dataRepositoryPath: "file://\(scratch.sub("r3"))")).map {
                $0.contains("sole association")
            } == true)
        #expect(
            await code(AssociationRequest(fileSystemPath: "/b", dataRepositoryPath: "file://\(repo)")).map { $0.contains("DataRepositoryPath") }
                == true)
        #expect(
            await code(AssociationRequest(fileSystemPath: "/b", dataRepositoryPath: "s3://Bad_Bucket")).map { $0.contains("valid S3 bucket") } == true
        )
        #expect(
            await code(AssociationRequest(fileSystemPath: "/b", dataRepositoryPath: "ftp://x")).map { $0.contains("not a data repository path") }
                == true)
        #expect(
            await code(AssociationRequest(fileSystemPath: "/b\n", dataRepositoryPath: "s3://bucket")).map { $0.contains("NUL, CR or LF") } == true)
        #expect(
            await code(AssociationRequest(fileSystemPath: "/b", dataRepositoryPath: "s3://bucket", importedFileChunkSize: 0)).map {
                $0.contains("ImportedFileChunkSize")
            } == true)
        for index in 0..<7 { _ = try await fs.associate("/m\(index)", "file://\(scratch.sub("m\(index)"))", batch: false) }
        #expect(
            await code(AssociationRequest(fileSystemPath: "/nine", dataRepositoryPath: "file://\(scratch.sub("nine"))")).map {
                $0.hasPrefix("ServiceLimitExceeded")
            } == true)
        // A repository that does not exist: FAILED with the reason, nothing imported.
        let missing = try await fs.deleteAssociation(fs.associations().first { $0.fileSystemPath == "/m6" }!.id, deleteData: true)
        _ = try await fs.waitForAssociation(missing.id, until: { _ in false })  // gone
        let failed = try await fs.associate("/gone", "file:///nonexistent/dir")
        #expect(failed.lifecycle == .failed)
        #expect(failed.failureMessage?.contains("/nonexistent/dir is not a directory") == true)
        // Update changes only the policies and chunk size; delete with data removes the files.
        let first = try #require(fs.associations().first { $0.fileSystemPath == "/a" })
        let updated = try await fs.updateAssociation(first.id, importedFileChunkSize: 2048, autoExport: [.new])
        #expect(updated.importedFileChunkSize == 2048 && updated.autoExport == [.new])
        await fs.close()
    }

    @Test func tasksExportReleaseAndImportWithCountersAndReport() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        try putLocal(repo, "old", Data("old".utf8))
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        _ = try await fs.associate("/dra", "file://\(repo)", autoExport: [])
        try await fs.writeFile("/dra/a", Data("a".utf8))
        try await fs.writeFile("/dra/b", Data("b".utf8))
        let blocked = try await fs.writeFile("/dra/blocked", Data("x".utf8))
        _ = try await fs.hsmSet(blocked.ino, setting: [.noArchive], clearing: [])
        let reports = scratch.sub("reports")
        let export = try await fs.createTask(kind: .exportToRepository, paths: ["dra"], report: .init(enabled: true, path: "file://\(reports)"))
        let exported = try await fs.waitForTask(export.id)
        #expect(exported.lifecycle == .succeeded)
        #expect(exported.totalCount == 3 && exported.succeededCount == 2 && exported.failedCount == 1)
        #expect(FileManager.default.fileExists(atPath: repo + "/a") && FileManager.default.fileExists(atPath: repo + "/b"))
        let csv = try String(contentsOfFile: reports + "/task-\(export.id)/failures.csv", encoding: .utf8)
        #expect(csv == "/dra/blocked,failed,FileNotExported\n")
        // Only what changed since the last export: the never_archive file, which fails again.
        let again = try await fs.waitForTask(try await fs.createTask(kind: .exportToRepository, paths: [], report: .init(enabled: false)).id)
        #expect(again.totalCount == 1 && again.failedCount == 1 && again.lifecycle == .succeeded)

        // Release: DurationSinceLastAccess in days; only exported files.
        let none = try await fs.waitForTask(
            try await fs.createTask(kind: .releaseData, paths: ["/"], report: .init(enabled: false), releaseAfterDays: 1).id)
        #expect(none.totalCount == 0)
        let all = try await fs.waitForTask(
            try await fs.createTask(kind: .releaseData, paths: ["/"], report: .init(enabled: false), releaseAfterDays: 0).id)
        #expect(all.totalCount == 2 && all.succeededCount == 2)
        #expect(try await fs.state("/dra/a") == "/dra/a: (0x0000000d) released exists archived, archive_id:1")
        #expect(try await fs.state("/dra/blocked") == "/dra/blocked: (0x00000020) never_archive")

        // Import: a new object appears, a deleted one goes.
        try putLocal(repo, "fresh", Data("fresh".utf8))
        try FileManager.default.removeItem(atPath: repo + "/old")
        let imported = try await fs.waitForTask(try await fs.createTask(kind: .importMetadata, paths: ["/dra"], report: .init(enabled: false)).id)
        #expect(imported.lifecycle == .succeeded && imported.succeededCount == 2)
        #expect(try await fs.names("/dra") == ["a", "b", "blocked", "fresh"])

        // Bad requests fail at once with FSx's codes; a missing path fails the task with the reason.
        await #expect(throws: TaskError.self) {
            _ = try await fs.createTask(kind: .exportToRepository, paths: Array(repeating: "x", count: 101), report: .init(enabled: false))
        }
        await #expect(throws: TaskError.self) { _ = try await fs.createTask(kind: .exportToRepository, paths: [], report: .init(enabled: true)) }
        let bad = try await fs.waitForTask(try await fs.createTask(kind: .exportToRepository, paths: ["nope"], report: .init(enabled: false)).id)
        #expect(bad.lifecycle == .failed && bad.failureMessage == "the path /nope does not exist in the file system")
        await #expect(throws: TaskError.self) { _ = try await fs.cancelTask(bad.id) }
        await fs.close()
    }

    @Test func namespaceOperationsKeepPOSIXRules() async throws {
        let scratch = Scratch()
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(capacity: 1 << 20), repositories: TestRepositories())
        try await fs.mkdir("/d")
        try await fs.writeFile("/d/f", Data("x".utf8))
        let root = try await fs.resolve("/")
        #expect(await errno { try await fs.remove(parent: root.ino, name: "d", directory: true) } == ENOTEMPTY)
        #expect(await errno { try await fs.remove(parent: root.ino, name: "d", directory: false) } == EISDIR)
        #expect(await errno { try await fs.mkdir("/d") } == EEXIST)
        #expect(await errno { _ = try await fs.resolve("/missing") } == ENOENT)
        let d = try await fs.resolve("/d")
        #expect(await errno { try await fs.rename(parent: root.ino, name: "d", newParent: d.ino, newName: "inside") } == EINVAL)
        try await fs.writeFile("/g", Data("g".utf8))
        #expect(await errno { try await fs.rename(parent: root.ino, name: "g", newParent: d.ino, newName: "f", flags: .noReplace) } == EEXIST)
        try await fs.rename(parent: root.ino, name: "g", newParent: d.ino, newName: "f", flags: .exchange)
        #expect(try await fs.readFile("/d/f") == Data("g".utf8))
        #expect(try await fs.readFile("/g") == Data("x".utf8))
        // Hard links share data; the data goes with the last name.
        let f = try await fs.resolve("/d/f")
        _ = try await fs.link(f.ino, parent: root.ino, name: "hard")
        #expect(try await fs.resolve("/hard").nlink == 2)
        // Capacity: 1 MiB; a 2 MiB write fails with ENOSPC and leaves the space accounting intact.
        let used = try await fs.usage().usedBytes
        #expect(await errno { try await fs.writeFile("/huge", randomBytes(2 << 20)) } == ENOSPC)
        #expect(try await fs.usage().usedBytes == used)
        #expect(await errno { _ = try await fs.makeNode(parent: root.ino, name: "a/b", type: .regular, perm: 0o644, uid: 0, gid: 0) } == EINVAL)
        #expect(
            await errno {
                _ = try await fs.makeNode(parent: root.ino, name: String(repeating: "n", count: 256), type: .regular, perm: 0o644, uid: 0, gid: 0)
            } == ENAMETOOLONG)
        await fs.close()
        // A second process (or open) on the same directory is refused while the first has it.
        let first = try await FileSystem.open(directory: scratch.path + "/fs", options: testOptions(), repositories: TestRepositories())
        #expect(
            await errno { _ = try await FileSystem.open(directory: scratch.path + "/fs", options: testOptions(), repositories: TestRepositories()) }
                == EBUSY)
        // And the namespace survived the reopen.
        #expect(try await first.readFile("/hard") == Data("g".utf8))
        await first.close()
    }
}
