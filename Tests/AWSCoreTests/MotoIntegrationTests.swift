import AWSS3
import AWSSQS
import AWSSTS
import Crypto
import Foundation
import NIOCore
import TestSupport
import Testing

@testable import AWSCore

/// Every client call against a real moto server on 127.0.0.1 that checks every signature.
@Suite struct MotoIntegrationTests {
    static func bucket(_ name: String, server: MotoServer = .shared) async throws -> (S3Client, String, MotoServer.Running) {
        let moto = try await server.start()
        let s3 = try S3Client(settings: moto.settings())
        let bucket = "\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try await s3.createBucket(bucket)
        return (s3, bucket, moto)
    }

    @Test func stsKnowsWhoWeAre() async throws {
        let moto = try await MotoServer.shared.start()
        let identity = try await STSClient(settings: moto.settings()).getCallerIdentity()
        #expect(identity.arn.hasSuffix(":user/tester"))
        #expect(identity.account.count == 12)
    }

    @Test func wrongSecretIsSignatureDoesNotMatch() async throws {
        let moto = try await MotoServer.shared.start()
        let s3 = try S3Client(settings: moto.settings(secret: "not-the-secret"))
        await #expect {
            _ = try await s3.listObjectsV2(bucket: "anything")
        } throws: { error in
            guard let error = error as? AWSServiceError else { return false }
            return error.code == "SignatureDoesNotMatch" && error.statusCode == 403
                && "\(error)".contains("check AWS_SECRET_ACCESS_KEY")
        }
        let sts = try STSClient(settings: moto.settings(secret: "not-the-secret"))
        await #expect(throws: AWSServiceError.self) { try await sts.getCallerIdentity() }
    }

    @Test func putHeadGetCopyDeleteWithMetadata() async throws {
        let (s3, bucket, _) = try await Self.bucket("objects")
        let metadata = [
            "file-owner": "1000", "file-group": "100", "file-permissions": "0100644",
            "file-mtime": "1700000000000000000ns",
        ]
        let body = Data((0..<5000).map { UInt8($0 % 251) })
        let key = "data dir/seed file.bin"
        let etag = try await s3.putObject(bucket: bucket, key: key, data: body, metadata: metadata, contentType: "application/x-test")
        #expect(etag == "\"\(Insecure.MD5.hash(data: body).map { String(format: "%02x", $0) }.joined())\"")

        let head = try await s3.headObject(bucket: bucket, key: key)
        #expect(head.size == 5000)
        #expect(head.etag == etag)
        #expect(head.metadata == metadata)
        #expect(head.contentType == "application/x-test")
        #expect(head.lastModified != nil)

        let whole = try await s3.getObject(bucket: bucket, key: key)
        #expect(whole.body == body)
        let range = try await s3.getObject(bucket: bucket, key: key, range: 100...199)
        #expect(range.body == body[100...199])
        #expect(range.head.size == 5000)

        let chunks = ChunkCollector()
        try await s3.getObject(bucket: bucket, key: key) { chunk in chunks.add(chunk) }
        #expect(chunks.data == body)

        // Metadata changed in place: copy onto itself with REPLACE.
        _ = try await s3.copyObject(
            sourceBucket: bucket, sourceKey: key, bucket: bucket, key: key,
            metadata: metadata.merging(["file-permissions": "0100600"]) { $1 })
        #expect(try await s3.headObject(bucket: bucket, key: key).metadata["file-permissions"] == "0100600")
        _ = try await s3.copyObject(sourceBucket: bucket, sourceKey: key, bucket: bucket, key: "copy/kept.bin")
        let copied = try await s3.headObject(bucket: bucket, key: "copy/kept.bin")
        #expect(copied.metadata["file-owner"] == "1000")
        #expect(copied.size == 5000)

        try await s3.deleteObject(bucket: bucket, key: key)
        await #expect { _ = try await s3.headObject(bucket: bucket, key: key) } throws: { error in
            (error as? AWSServiceError)?.statusCode == 404
        }
        await #expect { _ = try await s3.getObject(bucket: bucket, key: key) } throws: { error in
            (error as? AWSServiceError)?.code == "NoSuchKey"
        }
    }

    @Test func presignedURLWorksWithoutCredentials() async throws {
        // moto answers every presigned URL with HTTP 500 when it checks signatures; botocore agreement on
        // presigned queries is proven in BotocoreDifferentialTests.
        let (s3, bucket, _) = try await Self.bucket("presign", server: .unchecked)
        _ = try await s3.putObject(bucket: bucket, key: "shared/report.txt", data: Data("hello, presigned".utf8))
        let url = try await s3.presignedGetURL(bucket: bucket, key: "shared/report.txt", expires: 300)
        #expect(url.contains("X-Amz-Signature="))
        let result = try await runCommand(["curl", "-sS", "-f", url])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(String(decoding: result.stdout, as: UTF8.self) == "hello, presigned")
        let tampered = url.replacingOccurrences(of: "report.txt", with: "other.txt")
        #expect(try await runCommand(["curl", "-sS", "-f", "-o", "/dev/null", tampered]).status != 0)
    }

    @Test func listingPagesPrefixesAndDelimiters() async throws {
        // Prefixes and delimiters contain "/", which moto's signature checker mishandles (see MotoServer.unchecked).
        let (s3, bucket, _) = try await Self.bucket("listing", server: .unchecked)
        let keys = ["a/1", "a/2", "a/b/3", "a/b/4", "c/5", "top", "spaced name/6"]
        for key in keys { _ = try await s3.putObject(bucket: bucket, key: key, data: Data(key.utf8)) }
        var pages = 0
        var seen: [String] = []
        try await s3.listAllObjects(bucket: bucket, prefix: nil, delimiter: nil) { _ in }
        var token: String?
        repeat {
            let page = try await s3.listObjectsV2(bucket: bucket, continuationToken: token, maxKeys: 2)
            pages += 1
            seen += page.objects.map(\.key)
            token = page.nextContinuationToken
        } while token != nil
        #expect(pages == 4)
        #expect(seen.sorted() == keys.sorted())
        let all = try await s3.listAllObjects(bucket: bucket, prefix: "a/", delimiter: "/")
        #expect(all.objects.map(\.key) == ["a/1", "a/2"])
        #expect(all.commonPrefixes == ["a/b/"])
        #expect(all.objects.first?.size == 3)
        let top = try await s3.listAllObjects(bucket: bucket, delimiter: "/")
        #expect(top.objects.map(\.key) == ["top"])
        #expect(top.commonPrefixes == ["a/", "c/", "spaced name/"])
    }

    @Test func deleteObjectsInBatchesOverTheLimit() async throws {
        let (s3, bucket, _) = try await Self.bucket("batch")
        let keys = (0..<1005).map { "many/\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: keys.count, by: 100) {
                group.addTask {
                    for key in keys[chunk..<min(keys.count, chunk + 100)] { _ = try await s3.putObject(bucket: bucket, key: key, data: Data()) }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await s3.listAllObjects(bucket: bucket).objects.count == 1005)
        let failures = try await s3.deleteObjects(bucket: bucket, keys: keys)
        #expect(failures.isEmpty)
        #expect(try await s3.listAllObjects(bucket: bucket).objects.isEmpty)
    }

    @Test func multipartOf100MiBRoundTripsByteForByte() async throws {
        let (s3, bucket, _) = try await Self.bucket("multipart")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mpu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source.bin").path
        let size = 100 << 20
        let original = randomBytes(size)
        try original.write(to: URL(fileURLWithPath: source))
        let options = S3TransferOptions(partSize: 8 << 20, concurrency: 8, multipartThreshold: 16 << 20)
        let etag = try await s3.upload(
            file: source, bucket: bucket, key: "big/object.bin",
            metadata: ["file-owner": "0"], options: options)
        #expect(etag.hasSuffix("-13\""))  // 100 MiB in 8 MiB parts
        let head = try await s3.headObject(bucket: bucket, key: "big/object.bin")
        #expect(head.size == Int64(size))
        #expect(head.metadata["file-owner"] == "0")

        let destination = directory.appendingPathComponent("back.bin").path
        try await s3.download(bucket: bucket, key: "big/object.bin", toFile: destination, options: options)
        let back = try Data(contentsOf: URL(fileURLWithPath: destination))
        #expect(back.count == size)
        #expect(SHA256.hash(data: back) == SHA256.hash(data: original))
        // Forced onto the parallel path: the first stream stops and ranges of the rest arrive in parallel.
        let split = S3TransferOptions(partSize: 8 << 20, concurrency: 4, splitBelowBytesPerSecond: .infinity)
        let splitResult = try await s3.download(
            bucket: bucket, key: "big/object.bin",
            toFile: directory.appendingPathComponent("split.bin").path, options: split)
        #expect(splitResult.parallelRanges >= 4)
        let splitBack = try Data(contentsOf: directory.appendingPathComponent("split.bin"))
        #expect(SHA256.hash(data: splitBack) == SHA256.hash(data: original))
        // Nothing but the files themselves was left in the directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["back.bin", "source.bin", "split.bin"])
    }

    @Test func aFailedMultipartUploadIsAborted() async throws {
        let (s3, bucket, _) = try await Self.bucket("abort")
        struct Injected: Error {}
        await #expect(throws: Injected.self) {
            _ = try await s3.uploadMultipart(
                bucket: bucket, key: "doomed.bin", size: 30 << 20,
                options: S3TransferOptions(partSize: 5 << 20, concurrency: 2)
            ) { offset, count in
                if offset >= 10 << 20 { throw Injected() }
                return ByteBuffer(repeating: 7, count: count)
            }
        }
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
        await #expect(throws: AWSServiceError.self) { _ = try await s3.headObject(bucket: bucket, key: "doomed.bin") }
    }

    @Test func downloadOfAMissingObjectLeavesNothingBehind() async throws {
        let (s3, bucket, _) = try await Self.bucket("missing")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("miss-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        await #expect { try await s3.download(bucket: bucket, key: "nope", toFile: directory.path + "/out") } throws: { error in
            (error as? AWSServiceError)?.code == "NoSuchKey"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        // An empty object downloads as an empty file.
        _ = try await s3.putObject(bucket: bucket, key: "empty", data: Data())
        try await s3.download(bucket: bucket, key: "empty", toFile: directory.path + "/empty")
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/empty")).isEmpty)
    }

    @Test func bucketNotificationsReachSQS() async throws {
        let (s3, bucket, moto) = try await Self.bucket("events")
        let sqs = try SQSClient(settings: moto.settings())
        let queue = try await sqs.createQueue(name: "events-\(bucket)", attributes: ["VisibilityTimeout": "30"])
        #expect(try await sqs.createQueue(name: "events-\(bucket)", attributes: ["VisibilityTimeout": "30"]) == queue)
        let attributes = try await sqs.getQueueAttributes(url: queue)
        let arn = try #require(attributes["QueueArn"])
        #expect(arn.hasPrefix("arn:aws:sqs:us-east-1:"))
        #expect(attributes["VisibilityTimeout"] == "30")

        let configuration = S3NotificationConfiguration(targets: [
            S3NotificationTarget(
                kind: .queue, id: "fsx-dra", arn: arn, events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                prefix: "dra/")
        ])
        try await s3.putBucketNotificationConfiguration(bucket: bucket, configuration)
        let readBack = try await s3.getBucketNotificationConfiguration(bucket: bucket)
        #expect(readBack == configuration)

        _ = try await s3.putObject(bucket: bucket, key: "dra/new file.txt", data: Data("x".utf8))
        try await s3.deleteObject(bucket: bucket, key: "dra/new file.txt")
        var messages: [SQSMessage] = []
        let deadline = Date().addingTimeInterval(20)
        // moto also sends an s3:TestEvent when the configuration is written.
        while messages.filter({ $0.body.contains("ObjectCreated") || $0.body.contains("ObjectRemoved") }).count < 2, Date() < deadline {
            messages += try await sqs.receiveMessages(url: queue, maxMessages: 10, waitSeconds: 1)
        }
        let records = try messages.flatMap { try S3EventNotification.records(in: $0.body) }
        #expect(records.map(\.eventName) == ["ObjectCreated:Put", "ObjectRemoved:Delete"])
        #expect(records.allSatisfy { $0.key == "dra/new file.txt" && $0.bucket == bucket })
        #expect(records.first?.size == 1)
        let failures = try await sqs.deleteMessageBatch(url: queue, receiptHandles: messages.map(\.receiptHandle))
        #expect(failures.isEmpty)
        #expect(try await sqs.receiveMessages(url: queue, waitSeconds: 0).isEmpty)
        #expect(try await sqs.getQueueAttributes(url: queue, names: ["ApproximateNumberOfMessages"])["ApproximateNumberOfMessages"] == "0")
        try await sqs.deleteQueue(url: queue)
    }

    @Test func longPollingWaitsForAMessage() async throws {
        let moto = try await MotoServer.shared.start()
        let sqs = try SQSClient(settings: moto.settings())
        let queue = try await sqs.createQueue(name: "poll-\(UInt32.random(in: 0...UInt32.max))")
        // An empty queue: the call waits out its wait time instead of answering at once.
        let start = Date()
        #expect(try await sqs.receiveMessages(url: queue, maxMessages: 1, waitSeconds: 2).isEmpty)
        #expect(Date().timeIntervalSince(start) >= 1.5)
        try await sqs.sendMessage(url: queue, body: "wake up ☀")
        let messages = try await sqs.receiveMessages(url: queue, maxMessages: 1, waitSeconds: 10)
        #expect(messages.map(\.body) == ["wake up ☀"])
        let failures = try await sqs.deleteMessageBatch(url: queue, receiptHandles: ["bogus-handle"] + messages.map(\.receiptHandle))
        #expect(failures.map(\.id) == ["m0"])
        try await sqs.deleteQueue(url: queue)
    }

    @Test func jsonAndEC2QueryProtocolsAgainstMoto() async throws {
        let moto = try await MotoServer.shared.start()
        let fsx = try AWSClient(service: .fsx, settings: moto.settings(), wireProtocol: .json11(targetPrefix: "AWSSimbaAPIService_v20180301"))
        let listed = try await fsx.json("DescribeFileSystems", Data("{}".utf8))
        let object = try JSONSerialization.jsonObject(with: listed) as? [String: Any]
        #expect(object?["FileSystems"] is [Any])
        let ec2 = try AWSClient(service: .ec2, settings: moto.settings(), wireProtocol: .ec2Query(version: "2016-11-15"))
        let regions = try await ec2.query("DescribeRegions")
        #expect((regions.child("regionInfo")?.children("item").count ?? 0) > 10)
        await #expect {
            _ = try await ec2.query("DescribeInstances", [QueryItem("InstanceId.1", "i-0123456789abcdef0")])
        } throws: { error in
            (error as? AWSServiceError)?.code == "InvalidInstanceID.NotFound"
        }
    }
}

final class ChunkCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var collected = Data()
    func add(_ chunk: ByteBuffer) { lock.withLock { collected.append(contentsOf: chunk.readableBytesView) } }
    var data: Data { lock.withLock { collected } }
}
