import AWSCore
import AWSS3
import AWSSQS
import DataRepository
import Foundation
import HSM
import LustreFS
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The core against a real moto S3 + SQS on 127.0.0.1: FSx metadata through HeadObject, restores by ranged
/// GETs, exports with the x-amz-meta-file-* headers (single PUT and multipart), and auto-import from S3 event
/// notifications delivered through SQS. Uses the moto server without signature checks, because moto 5.2's
/// checker refuses ListObjectsV2 with a prefix containing "/" (see AWSCoreTests).
@Suite struct S3IntegrationTests {
    static func setUp(_ bucket: String) async throws -> (MotoServer.Running, S3Client, TestRepositories) {
        let moto = try await MotoServer.unchecked.start()
        let settings = moto.settings()
        let s3 = try S3Client(settings: settings)
        try await s3.createBucket(bucket)
        let repositories = TestRepositories(s3: { bucket in
            try S3Repository(bucket: bucket, settings: settings, transfer: S3TransferOptions(partSize: 5 << 20, multipartThreshold: 8 << 20))
        })
        return (moto, s3, repositories)
    }

    static func fsxMetadata(mode: String, uid: Int, gid: Int, mtime: String = "1595002920000000000ns") -> [String: String] {
        ["file-permissions": mode, "file-owner": "\(uid)", "file-group": "\(gid)", "file-mtime": mtime, "file-atime": mtime]
    }

    @Test func importRestoreAndExportWithFSxMetadata() async throws {
        let bucket = "lfs-import-\(UInt32.random(in: 0...UInt32.max))"
        let (_, s3, repositories) = try await Self.setUp(bucket)
        let payload = randomBytes(5 << 20)
        _ = try await s3.putObject(
            bucket: bucket, key: "data/ro/file.bin", data: payload,
            metadata: Self.fsxMetadata(mode: "0100444", uid: 1001, gid: 1002))
        _ = try await s3.putObject(bucket: bucket, key: "data/plain.txt", data: Data("plain".utf8))
        _ = try await s3.putObject(bucket: bucket, key: "data/dir/", data: Data(), metadata: Self.fsxMetadata(mode: "040700", uid: 5, gid: 6))
        _ = try await s3.putObject(
            bucket: bucket, key: "data/sym", data: Data("ro/file.bin".utf8),
            metadata: Self.fsxMetadata(mode: "0120777", uid: 0, gid: 0))
        _ = try await s3.putObject(bucket: bucket, key: "data/bad/../x", data: Data("x".utf8))
        _ = try await s3.putObject(bucket: bucket, key: "elsewhere/not-imported", data: Data("no".utf8))

        let scratch = Scratch()
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: repositories)
        let association = try await fs.createAssociation(
            AssociationRequest(
                fileSystemPath: "/dra", dataRepositoryPath: "s3://\(bucket)/data",
                batchImportMetaDataOnCreate: true, autoExport: [.new, .changed, .deleted]))
        #expect(association.dataRepositoryPath == "s3://\(bucket)/data/")
        let ready = try #require(try await fs.waitForAssociation(association.id))
        #expect(ready.lifecycle == .available)
        #expect(try await fs.names("/dra") == ["dir", "plain.txt", "ro", "sym"])
        // "bad/../x" is not a POSIX path: skipped and reported, nothing created for it.
        let again = try await fs.reconcile(association.id, allowed: [.new, .changed])
        #expect(again.skipped == ["data/bad/../x": "not a POSIX path"])
        #expect(again.created == 0 && again.updated == 0 && again.unchanged == 4)
        let file = try await fs.resolve("/dra/ro/file.bin")
        #expect(file.mode == 0o100444 && file.uid == 1001 && file.gid == 1002 && file.size == 5 << 20)
        #expect(file.mtime == 1595002920000000000)
        let plain = try await fs.resolve("/dra/plain.txt")
        #expect(plain.mode == 0o100755 && plain.uid == 0 && plain.gid == 0)
        let dir = try await fs.resolve("/dra/dir")
        #expect(dir.mode == 0o040700 && dir.uid == 5 && dir.gid == 6)
        #expect(try await fs.readLink(try await fs.resolve("/dra/sym").ino) == "ro/file.bin")
        #expect(try await fs.state("/dra/ro/file.bin") == "/dra/ro/file.bin: (0x0000000d) released exists archived, archive_id:1")

        #expect(try await fs.readFile("/dra/ro/file.bin") == payload)
        // The read returns once its ranges arrived; the restore commits (RELEASED cleared) just after.
        let restored = "/dra/ro/file.bin: (0x00000009) exists archived, archive_id:1"
        let settled = try await eventually(30) { try await fs.state("/dra/ro/file.bin") == restored }
        let state = try await fs.state("/dra/ro/file.bin")
        #expect(settled, "\(state)")
        #expect(try await fs.usage().usedBytes == Int64(5 << 20))

        // New files export with FSx's headers: one PUT, and multipart above the threshold.
        try await fs.writeFile("/dra/new.txt", Data("written here".utf8), perm: 0o640)
        let large = randomBytes(12 << 20)
        try await fs.writeFile("/dra/dir/large.bin", large)
        #expect(try await fs.waitForExports())
        let head = try await s3.headObject(bucket: bucket, key: "data/new.txt")
        #expect(head.metadata["file-permissions"] == "0100640")
        #expect(head.metadata["file-owner"] == "1000" && head.metadata["file-group"] == "1000")
        #expect(head.metadata["file-mtime"]?.hasSuffix("ns") == true)
        #expect(head.metadata["user-agent"] == "aws-fsx-lustre")
        #expect(try await s3.getObject(bucket: bucket, key: "data/new.txt").body == Data("written here".utf8))
        let largeHead = try await s3.headObject(bucket: bucket, key: "data/dir/large.bin")
        #expect(largeHead.etag.contains("-"))  // a multipart ETag
        #expect(try await s3.getObject(bucket: bucket, key: "data/dir/large.bin", maxBytes: 32 << 20).body == large)
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)

        // A restore of an object that changed behind our back fails cleanly and leaves the file released.
        _ = try await s3.putObject(bucket: bucket, key: "data/plain.txt", data: Data("replaced".utf8))
        #expect(await errno { _ = try await fs.readFile("/dra/plain.txt") } == EIO)
        #expect(try await fs.state("/dra/plain.txt") == "/dra/plain.txt: (0x0000000d) released exists archived, archive_id:1")
        await fs.close()
    }

    @Test func autoImportFromEventsAndOurOwnWritesDoNotComeBack() async throws {
        let bucket = "lfs-events-\(UInt32.random(in: 0...UInt32.max))"
        let (moto, s3, repositories) = try await Self.setUp(bucket)
        _ = try await s3.putObject(bucket: bucket, key: "seed.txt", data: Data("seed".utf8))
        let scratch = Scratch()
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: repositories)
        let association = try await fs.associate("/dra", "s3://\(bucket)", autoImport: [.new, .changed, .deleted])
        #expect(association.lifecycle == .available)
        // The bucket now sends events for the association's prefix to its queue.
        let configuration = try await s3.getBucketNotificationConfiguration(bucket: bucket)
        #expect(configuration.targets.map(\.id) == [association.feedName])

        // NEW
        _ = try await s3.putObject(
            bucket: bucket, key: "arrived/one.txt", data: Data("one".utf8),
            metadata: Self.fsxMetadata(mode: "0100600", uid: 77, gid: 78))
        #expect(try await eventually { (try? await fs.resolve("/dra/arrived/one.txt")) != nil })
        let arrived = try await fs.resolve("/dra/arrived/one.txt")
        #expect(arrived.uid == 77 && arrived.mode == 0o100600)
        #expect(try await fs.readFile("/dra/arrived/one.txt") == Data("one".utf8))
        // CHANGED: the clean local copy is invalidated and the next read sees the new object.
        _ = try await s3.putObject(bucket: bucket, key: "arrived/one.txt", data: Data("one, changed".utf8))
        #expect(try await eventually { try await fs.resolve("/dra/arrived/one.txt").size == 12 })
        #expect(try await fs.readFile("/dra/arrived/one.txt") == Data("one, changed".utf8))
        // DELETED
        try await s3.deleteObject(bucket: bucket, key: "seed.txt")
        #expect(try await eventually { (try? await fs.resolve("/dra/seed.txt")) == nil })

        // Our own export comes back as an event and must change nothing: still archived, not released.
        try await fs.writeFile("/dra/mine.txt", Data("mine".utf8))
        #expect(try await fs.waitForExports())
        try await Task.sleep(nanoseconds: 2_500_000_000)
        #expect(try await fs.state("/dra/mine.txt") == "/dra/mine.txt: (0x00000009) exists archived, archive_id:1")

        let sqs = try SQSClient(settings: moto.settings())
        let queue = try await sqs.getQueueUrl(name: association.feedName)
        _ = try await fs.deleteAssociation(association.id, deleteData: false)
        #expect(try await eventually { fs.associations().isEmpty })
        // Deleting the association removed its notification entry and its queue; the files stayed.
        #expect(try await s3.getBucketNotificationConfiguration(bucket: bucket).targets.isEmpty)
        await #expect(throws: (any Error).self) { _ = try await sqs.getQueueAttributes(url: queue) }
        #expect(try await fs.names("/dra") == ["arrived", "mine.txt"])
        await fs.close()
    }

    /// The endpoint restarted and lost the association's queue and notification entry: auto-import sets both up
    /// again, imports what changed meanwhile, and goes on by events (no periodic sweep runs here).
    @Test func aLostEventQueueIsSetUpAgainAndAutoImportGoesOn() async throws {
        let bucket = "lfs-lostq-\(UInt32.random(in: 0...UInt32.max))"
        let (moto, s3, repositories) = try await Self.setUp(bucket)
        let scratch = Scratch()
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: repositories)
        let association = try await fs.associate("/dra", "s3://\(bucket)", autoImport: [.new, .changed, .deleted])
        let sqs = try SQSClient(settings: moto.settings())
        try await sqs.deleteQueue(url: try await sqs.getQueueUrl(name: association.feedName))
        var configuration = try await s3.getBucketNotificationConfiguration(bucket: bucket)
        configuration.targets.removeAll()
        try await s3.putBucketNotificationConfiguration(bucket: bucket, configuration)
        _ = try await s3.putObject(bucket: bucket, key: "while-lost.txt", data: Data("lost".utf8))
        #expect(try await eventually(20) { (try? await fs.resolve("/dra/while-lost.txt")) != nil })
        #expect(try await s3.getBucketNotificationConfiguration(bucket: bucket).targets.map(\.id) == [association.feedName])
        _ = try await s3.putObject(bucket: bucket, key: "after.txt", data: Data("after".utf8))
        #expect(try await eventually(20) { (try? await fs.resolve("/dra/after.txt")) != nil })
        #expect(try fs.association(association.id).lifecycle == .available)
        await fs.close()
    }

    @Test func tasksAgainstS3WriteTheirReportToTheBucket() async throws {
        let bucket = "lfs-tasks-\(UInt32.random(in: 0...UInt32.max))"
        let (_, s3, repositories) = try await Self.setUp(bucket)
        _ = try await s3.putObject(bucket: bucket, key: "in/old.txt", data: Data("old".utf8))
        let scratch = Scratch()
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: repositories)
        _ = try await fs.associate("/dra", "s3://\(bucket)/in", autoExport: [])
        try await fs.writeFile("/dra/result.txt", Data("result".utf8))
        let blocked = try await fs.writeFile("/dra/blocked.txt", Data("x".utf8))
        _ = try await fs.hsmSet(blocked.ino, setting: [.noArchive], clearing: [])
        let export = try await fs.waitForTask(
            try await fs.createTask(
                kind: .exportToRepository, paths: ["/dra"], report: .init(enabled: true, path: "s3://\(bucket)/reports")
            ).id)
        #expect(export.lifecycle == .succeeded && export.succeededCount == 1 && export.failedCount == 1)
        #expect(try await s3.getObject(bucket: bucket, key: "in/result.txt").body == Data("result".utf8))
        #expect(export.reportLocation == "s3://\(bucket)/reports/task-\(export.id)/failures.csv")
        let report = try await s3.getObject(bucket: bucket, key: "reports/task-\(export.id)/failures.csv").body
        #expect(String(decoding: report, as: UTF8.self) == "/dra/blocked.txt,failed,FileNotExported\n")
        let release = try await fs.waitForTask(try await fs.createTask(kind: .releaseData, paths: [], report: .init(enabled: false)).id)
        #expect(release.succeededCount == 1 && release.releasedBytes == 6)
        #expect(try await fs.state("/dra/result.txt") == "/dra/result.txt: (0x0000000d) released exists archived, archive_id:1")
        _ = try await s3.putObject(bucket: bucket, key: "in/new.txt", data: Data("new".utf8))
        try await s3.deleteObject(bucket: bucket, key: "in/old.txt")
        let imported = try await fs.waitForTask(
            try await fs.createTask(kind: .importMetadata, paths: ["s3://\(bucket)/in/"], report: .init(enabled: false)).id)
        #expect(imported.lifecycle == .succeeded && imported.succeededCount == 2)
        #expect(try await fs.names("/dra") == ["blocked.txt", "new.txt", "result.txt"])
        #expect(try await fs.readFile("/dra/result.txt") == Data("result".utf8))
        await fs.close()
    }

    @Test func sweepCatchesMissedEventsAndAMissingNotificationIsMisconfigured() async throws {
        let bucket = "lfs-sweep-\(UInt32.random(in: 0...UInt32.max))"
        let (_, s3, repositories) = try await Self.setUp(bucket)
        let scratch = Scratch()
        var options = testOptions()
        options.background = false  // no event feed: only the sweep can see changes
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: options, repositories: repositories)
        let association = try await fs.associate("/dra", "s3://\(bucket)/p/", autoImport: [.new, .changed, .deleted])
        #expect(association.lifecycle == .available, "\(association.lifecycle): \(association.failureMessage ?? "")")
        _ = try await s3.putObject(bucket: bucket, key: "p/late.txt", data: Data("late".utf8))
        await fs.sweep()
        #expect(try await fs.readFile("/dra/late.txt") == Data("late".utf8))
        try await s3.putBucketNotificationConfiguration(bucket: bucket, S3NotificationConfiguration())
        await fs.sweep()
        let misconfigured = try fs.association(association.id)
        #expect(misconfigured.lifecycle == .misconfigured)
        #expect(misconfigured.failureMessage?.contains("notification") == true)
        await fs.close()
    }
}
