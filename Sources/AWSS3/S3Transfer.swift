import AWSCore
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

public struct S3TransferOptions: Sendable {
    /// Bytes per ranged GET or uploaded part.
    public var partSize: Int
    /// Ranged GETs or part uploads in flight at once; memory use is about partSize × concurrency for uploads
    /// and a few network chunks per request for downloads.
    public var concurrency: Int
    /// Files above this size are uploaded in parts.
    public var multipartThreshold: Int

    public init(partSize: Int = 8 << 20, concurrency: Int = 8, multipartThreshold: Int = 16 << 20) {
        self.partSize = max(5 << 20, partSize)
        self.concurrency = max(1, concurrency)
        self.multipartThreshold = max(5 << 20, multipartThreshold)
    }
}

extension S3Client {
    // MARK: Download

    /// Downloads the object to `path` with parallel ranged GETs, each written at its offset as it arrives.
    /// The data goes to a temporary file beside `path`, renamed into place only when complete; a failure
    /// removes it. Every range after the first is asked with If-Match, so an object replaced mid-transfer
    /// fails the download instead of mixing two versions.
    @discardableResult
    public func download(bucket: String, key: String, toFile path: String,
                         options: S3TransferOptions = S3TransferOptions()) async throws -> S3ObjectHead {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).partial-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw S3TransferError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let file = FileDescriptor(fd)
        do {
            let head = try await downloadParts(bucket: bucket, key: key, into: file, options: options)
            guard close(fd) == 0 else { throw S3TransferError(description: "writing \(path) failed: \(String(cString: strerror(errno)))") }
            file.closed = true
            guard rename(temporary, path) == 0 else {
                throw S3TransferError(description: "cannot move the download into \(path): \(String(cString: strerror(errno)))")
            }
            return head
        } catch {
            if !file.closed { close(fd) }
            unlink(temporary)
            throw error
        }
    }

    /// Writes the object into an open file descriptor with parallel ranged GETs (the file is sized first,
    /// so it is sparse until the ranges arrive). Used by `download` and by callers that own their files.
    public func downloadParts(bucket: String, key: String, into file: FileDescriptor,
                              options: S3TransferOptions = S3TransferOptions()) async throws -> S3ObjectHead {
        let partSize = Int64(options.partSize)
        // The first range also tells the size and the ETag the other ranges must match.
        let first: S3ObjectHead
        do {
            first = try await fetchRange(bucket: bucket, key: key, range: 0...(partSize - 1), ifMatch: nil, file: file)
        } catch let error as AWSServiceError where error.statusCode == 416 {
            // An empty object has no byte 0.
            let head = try await headObject(bucket: bucket, key: key)
            guard head.size == 0 else { throw error }
            return head
        }
        guard ftruncate(file.raw, off_t(first.size)) == 0 else {
            throw S3TransferError(description: "cannot size the destination to \(first.size) bytes: \(String(cString: strerror(errno)))")
        }
        let ranges = stride(from: partSize, to: first.size, by: Int(partSize)).map { start in
            start...(min(first.size, start + partSize) - 1)
        }
        let etag = first.etag.isEmpty ? nil : first.etag
        try await forEachConcurrently(ranges, limit: options.concurrency) { range in
            _ = try await self.fetchRange(bucket: bucket, key: key, range: range, ifMatch: etag, file: file)
        }
        return first
    }

    /// One ranged GET written at its offset; resumes where it stopped after a broken connection.
    func fetchRange(bucket: String, key: String, range: ClosedRange<Int64>, ifMatch: String?,
                    file: FileDescriptor) async throws -> S3ObjectHead {
        var offset = range.lowerBound
        var attempt = 1
        while true {
            let written = Counter(offset)
            do {
                let head = try await getObject(bucket: bucket, key: key, range: offset...range.upperBound, ifMatch: ifMatch) { chunk in
                    try file.write(chunk, at: written.value)
                    written.value += Int64(chunk.readableBytes)
                }
                return head
            } catch let error as AWSServiceError where error.statusCode == 412 {
                throw S3TransferError(description: "s3://\(bucket)/\(key) changed while it was being downloaded (its ETag is no longer \(ifMatch ?? "")); download it again")
            } catch {
                // Errors before the body started were already retried by the client; here the body broke off.
                let retryable = error is AWSTransportError || error is NIOCore.IOError || "\(error)".contains("HTTPClientError")
                offset = written.value
                guard retryable, attempt < client.settings.retry.maxAttempts, offset <= range.upperBound else { throw error }
                attempt += 1
                try await Task.sleep(nanoseconds: UInt64(client.settings.retry.delay(beforeRetry: attempt - 1) * 1e9))
            }
        }
    }

    // MARK: Upload

    /// Uploads a file: one PutObject up to `multipartThreshold`, otherwise parts uploaded in parallel.
    /// A failed multipart upload is aborted, so no invisible parts are left to pay for.
    @discardableResult
    public func upload(file path: String, bucket: String, key: String, metadata: [String: String] = [:],
                       contentType: String? = nil, options: S3TransferOptions = S3TransferOptions()) async throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw S3TransferError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        let file = FileDescriptor(fd)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw S3TransferError(description: "\(path) is not a regular file")
        }
        let size = Int64(info.st_size)
        if size <= Int64(options.multipartThreshold) {
            let body = try file.read(at: 0, count: Int(size))
            return try await putObject(bucket: bucket, key: key, body: body, metadata: metadata, contentType: contentType)
        }
        return try await uploadMultipart(bucket: bucket, key: key, size: size, metadata: metadata, contentType: contentType,
                                         options: options) { offset, count in try file.read(at: offset, count: count) }
    }

    /// Multipart upload of `size` bytes that `read(offset, count)` supplies.
    public func uploadMultipart(bucket: String, key: String, size: Int64, metadata: [String: String] = [:],
                                contentType: String? = nil, options: S3TransferOptions = S3TransferOptions(),
                                read: @escaping @Sendable (Int64, Int) throws -> ByteBuffer) async throws -> String {
        // S3 allows at most 10,000 parts; grow the part size for very large files.
        var chosenPartSize = Int64(options.partSize)
        while (size + chosenPartSize - 1) / chosenPartSize > 10_000 { chosenPartSize *= 2 }
        let partSize = chosenPartSize
        let uploadId = try await createMultipartUpload(bucket: bucket, key: key, metadata: metadata, contentType: contentType)
        do {
            let numbers = Array(1...Int(max(1, (size + partSize - 1) / partSize)))
            let parts = PartList()
            try await forEachConcurrently(numbers, limit: options.concurrency) { number in
                let offset = Int64(number - 1) * partSize
                let body = try read(offset, Int(min(partSize, size - offset)))
                let part = try await self.uploadPart(bucket: bucket, key: key, uploadId: uploadId, number: number, body: body)
                parts.append(part)
            }
            return try await completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts.all)
        } catch {
            try? await abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
            throw error
        }
    }
}

/// Runs `body` for each item with at most `limit` running at once; the first error cancels the rest.
func forEachConcurrently<T: Sendable>(_ items: [T], limit: Int,
                                      _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<limit {
            guard let item = iterator.next() else { break }
            group.addTask { try await body(item) }
        }
        while try await group.next() != nil {
            if let item = iterator.next() { group.addTask { try await body(item) } }
        }
    }
}

/// An open file descriptor shared by the parallel parts of one transfer; positional I/O needs no lock.
public final class FileDescriptor: @unchecked Sendable {
    public let raw: Int32
    var closed = false

    public init(_ raw: Int32) { self.raw = raw }

    public func write(_ buffer: ByteBuffer, at offset: Int64) throws {
        var done = 0
        let total = buffer.readableBytes
        try buffer.withUnsafeReadableBytes { bytes in
            while done < total {
                let count = pwrite(raw, bytes.baseAddress! + done, total - done, off_t(offset) + off_t(done))
                if count < 0 {
                    if errno == EINTR { continue }
                    throw S3TransferError(description: "writing at offset \(offset + Int64(done)) failed: \(String(cString: strerror(errno)))")
                }
                done += count
            }
        }
    }

    public func read(at offset: Int64, count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: max(1, count))
        var done = 0
        while done < count {
            let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { bytes in
                let n = pread(raw, bytes.baseAddress!, count - done, off_t(offset) + off_t(done))
                if n < 0 { throw S3TransferError(description: "reading at offset \(offset) failed: \(String(cString: strerror(errno)))") }
                return n
            }
            if got == 0 { throw S3TransferError(description: "the file became shorter while it was being read (at offset \(offset + Int64(done)))") }
            done += got
        }
        return buffer
    }
}

final class Counter: @unchecked Sendable {
    // Touched only by the one task streaming a range, in order.
    var value: Int64
    init(_ value: Int64) { self.value = value }
}

final class PartList: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [S3CompletedPart] = []
    func append(_ part: S3CompletedPart) { lock.withLock { parts.append(part) } }
    var all: [S3CompletedPart] { lock.withLock { parts } }
}
