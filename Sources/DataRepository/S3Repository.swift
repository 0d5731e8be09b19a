import AWSCore
import AWSS3
import AWSSQS
import Foundation
import NIOCore
import Synchronization

/// A bucket as a data repository, through the wire layer's S3 client. Auto-import events come the way the
/// original gets them: a bucket notification configuration (one entry per association) sending to an SQS queue.
package struct S3Repository: DataRepository {
    package let bucket: String
    package let s3: S3Client
    package let sqs: SQSClient
    package let transfer: S3TransferOptions

    package init(bucket: String, settings: AWSSettings, transfer: S3TransferOptions = S3TransferOptions()) throws {
        self.bucket = bucket
        self.s3 = try S3Client(settings: settings)
        self.sqs = try SQSClient(settings: settings)
        self.transfer = transfer
    }

    package var displayName: String { "s3://\(bucket)/" }

    package func list(prefix: String) -> AsyncThrowingStream<[RepositoryObject], any Error> {
        let (stream, continuation) = AsyncThrowingStream<[RepositoryObject], any Error>.makeStream(bufferingPolicy: .bufferingNewest(4))
        let task = Task {
            do {
                try await s3.listAllObjects(bucket: bucket, prefix: prefix.isEmpty ? nil : prefix) { page in
                    let objects = page.objects.map {
                        RepositoryObject(
                            key: $0.key, size: $0.size, etag: $0.etag,
                            lastModifiedNanoseconds: Self.nanoseconds($0.lastModified))
                    }
                    continuation.yield(objects)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: Self.translate(error, key: prefix))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    package func head(key: String) async throws -> RepositoryObjectHead? {
        do {
            let head = try await s3.headObject(bucket: bucket, key: key)
            return RepositoryObjectHead(
                object: RepositoryObject(
                    key: key, size: head.size, etag: head.etag,
                    lastModifiedNanoseconds: Self.nanoseconds(head.lastModified)),
                userMetadata: head.metadata)
        } catch let error as AWSServiceError where error.statusCode == 404 && error.code != "NoSuchBucket" {
            return nil
        } catch {
            throw Self.translate(error, key: key)
        }
    }

    package func read(
        key: String, range: Range<Int64>, etag: String?,
        sink: @escaping @Sendable (Int64, UnsafeRawBufferPointer) throws -> Void
    ) async throws {
        guard !range.isEmpty else { return }
        let position = Position(range.lowerBound)
        do {
            try await s3.getObject(
                bucket: bucket, key: key, range: range.lowerBound...(range.upperBound - 1),
                ifMatch: etag.map { "\"\($0)\"" }
            ) { chunk in
                let offset = position.advance(by: chunk.readableBytes)
                try chunk.withUnsafeReadableBytes { try sink(offset, $0) }
            }
        } catch {
            throw Self.translate(error, key: key)
        }
        guard position.value == range.upperBound else {
            throw RepositoryError(.io, "s3://\(bucket)/\(key) ended at byte \(position.value), expected \(range.upperBound)")
        }
    }

    /// One stream from the start, split into parallel ranged GETs only when that stream is slow (the
    /// transfer layer's adaptive download): a remote S3 gets parallel connections, a local endpoint that
    /// rereads the whole object for every range is not asked for ranges.
    package func download(
        key: String, size: Int64, etag: String?, into fd: Int32,
        progress: @escaping @Sendable (Int64, Int) -> Void
    ) async throws {
        do {
            let result = try await s3.downloadParts(
                bucket: bucket, key: key, into: FileDescriptor(fd, onWrite: progress),
                ifMatch: etag.map { "\"\($0)\"" }, options: transfer)
            if let etag, RepositoryObject.normalize(etag: result.head.etag) != etag {
                throw RepositoryError(.changed, "\(key) changed in the bucket while it was being read")
            }
        } catch let error as RepositoryError {
            throw error
        } catch {
            throw Self.translate(error, key: key)
        }
    }

    package func write(key: String, contentsOf path: String, userMetadata: [String: String]) async throws -> String {
        do {
            let etag = try await s3.upload(file: path, bucket: bucket, key: key, metadata: userMetadata, options: transfer)
            return RepositoryObject.normalize(etag: etag)
        } catch {
            throw Self.translate(error, key: key)
        }
    }

    package func write(key: String, data: Data, userMetadata: [String: String]) async throws -> String {
        do {
            return RepositoryObject.normalize(etag: try await s3.putObject(bucket: bucket, key: key, data: data, metadata: userMetadata))
        } catch {
            throw Self.translate(error, key: key)
        }
    }

    package func replaceMetadata(key: String, userMetadata: [String: String]) async throws -> String {
        try await copy(from: key, to: key, userMetadata: userMetadata)
    }

    package func copy(from source: String, to destination: String, userMetadata: [String: String]) async throws -> String {
        do {
            return RepositoryObject.normalize(
                etag: try await s3.copyObject(
                    sourceBucket: bucket, sourceKey: source, bucket: bucket,
                    key: destination, metadata: userMetadata))
        } catch {
            throw Self.translate(error, key: source)
        }
    }

    package func delete(key: String) async throws {
        do {
            try await s3.deleteObject(bucket: bucket, key: key)
        } catch let error as AWSServiceError where error.code == "NoSuchKey" {
            return
        } catch {
            throw Self.translate(error, key: key)
        }
    }

    package func checkAccess() async throws {
        do {
            _ = try await s3.listObjectsV2(bucket: bucket, maxKeys: 1)
        } catch {
            throw Self.translate(error, key: "")
        }
    }

    // MARK: Events

    /// The queue is named after the association; the notification entry has the queue's name as its Id, so
    /// several associations on one bucket each keep their own entry, and other entries are left alone.
    package func startEventFeed(name: String, prefix: String) async throws -> (any RepositoryEventFeed)? {
        do {
            let url = try await sqs.createQueue(name: name, attributes: ["ReceiveMessageWaitTimeSeconds": "20"])
            let attributes = try await sqs.getQueueAttributes(url: url, names: ["QueueArn"])
            guard let arn = attributes["QueueArn"] else {
                throw RepositoryError(.io, "SQS did not report the ARN of queue \(name)")
            }
            try await editNotifications { configuration in
                configuration.targets.removeAll { $0.id == name }
                configuration.targets.append(
                    S3NotificationTarget(
                        kind: .queue, id: name, arn: arn,
                        events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                        prefix: prefix.isEmpty ? nil : prefix))
            }
            return S3EventFeed(sqs: sqs, queueURL: url, bucket: bucket)
        } catch let error as RepositoryError {
            throw error
        } catch {
            throw Self.translate(error, key: prefix)
        }
    }

    package func stopEventFeed(name: String) async throws {
        do {
            try await editNotifications { configuration in
                configuration.targets.removeAll { $0.id == name }
            }
        } catch let error as AWSServiceError where error.code == "NoSuchBucket" {
            // The bucket is gone; so is its configuration.
        } catch {
            throw Self.translate(error, key: "")
        }
        if let url = try? await sqs.getQueueUrl(name: name) {
            try? await sqs.deleteQueue(url: url)
        }
    }

    /// A read-modify-write of the bucket's notification configuration (S3 has no call for one entry), made
    /// one at a time with every other edit of the bucket on this machine (see `NotificationEdits`). Written
    /// only when it changed, then read back: a writer elsewhere that overlapped shows as a change that did
    /// not hold, and the edit is made again.
    func editNotifications(_ change: @escaping @Sendable (inout S3NotificationConfiguration) -> Void) async throws {
        let s3 = self.s3
        let bucket = self.bucket
        try await NotificationEdits.shared.perform(bucket: bucket) {
            var writes = 0
            while true {
                let before = try await s3.getBucketNotificationConfiguration(bucket: bucket)
                var configuration = before
                change(&configuration)
                guard configuration != before else { return }
                guard writes < NotificationEdits.attempts else { break }
                if writes > 0 { try await Task.sleep(for: .milliseconds(Int.random(in: 20...200))) }
                try await s3.putBucketNotificationConfiguration(bucket: bucket, configuration)
                writes += 1
            }
            throw RepositoryError(
                .io,
                "the notification configuration of bucket \(bucket) kept changing under another writer; "
                    + "\(NotificationEdits.attempts) edits did not hold")
        }
    }

    /// Whether the notification entry for `name` is still on the bucket (someone may have removed it,
    /// which makes the association MISCONFIGURED).
    package func eventFeedConfigured(name: String) async throws -> Bool {
        try await s3.getBucketNotificationConfiguration(bucket: bucket).targets.contains { $0.id == name }
    }

    package func abortIncompleteWrites(prefix: String) async throws {
        for upload in try await s3.listMultipartUploads(bucket: bucket, prefix: prefix.isEmpty ? nil : prefix) {
            try? await s3.abortMultipartUpload(bucket: bucket, key: upload.key, uploadId: upload.uploadId)
        }
    }

    // MARK: Helpers

    static func nanoseconds(_ date: Date?) -> Int64 {
        guard let date else { return 0 }
        return Int64((date.timeIntervalSince1970 * 1_000_000_000).rounded())
    }

    static func translate(_ error: any Error, key: String) -> any Error {
        guard let service = error as? AWSServiceError else { return error }
        switch service.code {
        case "NoSuchKey", "NotFound", "404":
            return RepositoryError(.notFound, "\(key) is not in the bucket")
        case "NoSuchBucket":
            return RepositoryError(.bucketMissing, "the bucket does not exist (\(service.message))")
        case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch":
            return RepositoryError(.accessDenied, "access to \(key.isEmpty ? "the bucket" : key) was denied: \(service.description)")
        case "PreconditionFailed":
            return RepositoryError(.changed, "\(key) changed in the bucket while it was being read")
        default:
            return error
        }
    }
}

/// Counts bytes of one streamed read so each chunk knows its offset.
final class Position: Sendable {
    private let current: Atomic<Int64>
    init(_ start: Int64) { current = Atomic(start) }
    var value: Int64 { current.load(ordering: .acquiring) }
    /// Returns the offset of a chunk of `count` bytes and moves past it.
    func advance(by count: Int) -> Int64 {
        current.wrappingAdd(Int64(count), ordering: .acquiringAndReleasing).oldValue
    }
}

/// S3 event notifications from an SQS queue.
struct S3EventFeed: RepositoryEventFeed {
    let sqs: SQSClient
    let queueURL: String
    let bucket: String

    func receive(waitSeconds: Int) async throws -> [(event: RepositoryEvent, receipt: String)] {
        let messages: [SQSMessage]
        do {
            messages = try await sqs.receiveMessages(url: queueURL, maxMessages: 10, waitSeconds: waitSeconds)
        } catch let error as AWSServiceError where error.code.contains("QueueDoesNotExist") || error.code.contains("NonExistentQueue") {
            throw RepositoryError(.feedLost, "the event queue \(queueURL) no longer exists: \(error.message)")
        }
        var events: [(event: RepositoryEvent, receipt: String)] = []
        for message in messages {
            // A message that is not an S3 event (or a test event) is acknowledged with nothing to do.
            let records = (try? S3EventNotification.records(in: message.body)) ?? []
            if records.isEmpty {
                events.append((RepositoryEvent(kind: .created, key: "", etag: nil, size: nil), message.receiptHandle))
                continue
            }
            for record in records where record.bucket == bucket {
                let kind: RepositoryEvent.Kind = record.isRemoval ? .removed : .created
                events.append((RepositoryEvent(kind: kind, key: record.key, etag: record.etag, size: record.size), message.receiptHandle))
            }
        }
        return events
    }

    func acknowledge(_ receipts: [String]) async throws {
        let unique = Array(Set(receipts))
        guard !unique.isEmpty else { return }
        _ = try await sqs.deleteMessageBatch(url: queueURL, receiptHandles: unique)
    }
}
