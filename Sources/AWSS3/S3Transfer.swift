import AWSCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

package struct S3TransferOptions: Sendable {
    /// Bytes per ranged GET or uploaded part.
    package var partSize: Int
    /// Ranged GETs or part uploads in flight at once; memory use is about partSize × concurrency for uploads
    /// and a few network chunks per request for downloads.
    package var concurrency: Int
    /// Files above this size are uploaded in parts.
    package var multipartThreshold: Int

    /// A download's first stream is split into parallel ranges only when it runs slower than this
    /// (bytes per second) after a 100 ms probe. Infinity always splits, zero never does.
    package var splitBelowBytesPerSecond: Double

    package init(
        partSize: Int = 8 << 20, concurrency: Int = 8, multipartThreshold: Int = 16 << 20,
        splitBelowBytesPerSecond: Double = 250e6
    ) {
        self.partSize = max(5 << 20, partSize)
        self.concurrency = max(1, concurrency)
        self.multipartThreshold = max(5 << 20, multipartThreshold)
        self.splitBelowBytesPerSecond = splitBelowBytesPerSecond
    }
}

/// What a download fetched, and how: `parallelRanges` is 0 when one stream carried the whole object.
package struct S3Download: Sendable {
    package var head: S3ObjectHead
    package var parallelRanges: Int
}

extension S3Client {
    // MARK: Download

    /// Downloads the object to `path` with parallel ranged GETs, each written at its offset as it arrives.
    /// The data goes to a temporary file beside `path`, renamed into place only when complete; a failure
    /// removes it. Every range after the first is asked with If-Match, so an object replaced mid-transfer
    /// fails the download instead of mixing two versions.
    @discardableResult
    package func download(
        bucket: String, key: String, toFile path: String,
        options: S3TransferOptions = S3TransferOptions()
    ) async throws -> S3Download {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary =
            (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).partial-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw S3TransferError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let file = FileDescriptor(fd)
        var closed = false
        do {
            let result = try await downloadParts(bucket: bucket, key: key, into: file, options: options)
            guard close(fd) == 0 else { throw S3TransferError(description: "writing \(path) failed: \(String(cString: strerror(errno)))") }
            closed = true
            guard rename(temporary, path) == 0 else {
                throw S3TransferError(description: "cannot move the download into \(path): \(String(cString: strerror(errno)))")
            }
            return result
        } catch {
            if !closed { close(fd) }
            unlink(temporary)
            throw error
        }
    }

    /// Writes the object into an open file descriptor, sized first (sparse until the data arrives).
    ///
    /// One GET streams the object from its start. After a short probe, if that stream alone would take
    /// long (a remote S3 serves one connection at a fraction of what several give), the rest of the
    /// object is split into ranges fetched in parallel and the first stream stops where they begin. An
    /// endpoint that serves one stream fast (a local one, where each ranged GET costs a pass over the
    /// whole object) is left to that one stream. Used by `download` and by callers that own their files.
    package func downloadParts(
        bucket: String, key: String, into file: FileDescriptor, ifMatch: String? = nil,
        options: S3TransferOptions = S3TransferOptions()
    ) async throws -> S3Download {
        let partSize = Int64(options.partSize)
        let state = SplitState()
        return try await withThrowingTaskGroup(of: Void.self, returning: S3Download.self) { group in
            var parallelRanges = 0
            group.addTask {
                do {
                    try await self.streamFromStart(bucket: bucket, key: key, file: file, state: state, ifMatch: ifMatch)
                } catch {
                    state.fail(error)
                    throw error
                }
            }
            let head = try await state.waitForHead()
            if head.size > 2 * partSize && options.concurrency > 1 {
                try await Task.sleep(nanoseconds: 100_000_000)
                let (written, elapsed) = state.progress()
                let remaining = head.size - written
                let rate = Double(max(written, 1)) / max(elapsed, 0.001)
                // Split when one stream is slow in absolute terms (a remote S3 connection gives ~100 MB/s)
                // and would still take a while; a stream already faster than that is kept whole.
                if remaining > 2 * partSize && rate < options.splitBelowBytesPerSecond
                    && (Double(remaining) / rate > 0.5 || options.splitBelowBytesPerSecond.isInfinite)
                {
                    // Parts of at least partSize, at most about two per connection.
                    let mebibyte: Int64 = 1 << 20
                    let share = (remaining / Int64(options.concurrency * 2) + mebibyte - 1) / mebibyte * mebibyte
                    let rangeSize = max(partSize, share)
                    // Leave the first stream one part of headroom beyond where it is now.
                    let split = (written / partSize + 2) * partSize
                    if split < head.size && state.stopFirstStream(at: split) {
                        let ranges = stride(from: split, to: head.size, by: Int(rangeSize)).map { start in
                            start...(min(head.size, start + rangeSize) - 1)
                        }
                        let etag = ifMatch ?? (head.etag.isEmpty ? nil : head.etag)
                        parallelRanges = ranges.count
                        group.addTask {
                            try await forEachConcurrently(ranges, limit: options.concurrency - 1) { range in
                                _ = try await self.fetchRange(bucket: bucket, key: key, range: range, ifMatch: etag, file: file)
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
            return S3Download(head: head, parallelRanges: parallelRanges)
        }
    }

    /// The first stream: the whole object, written in order until the end or until `state` moves its limit.
    /// A plain GET rather than `bytes=0-`: an endpoint may serve a range by copying the object first (moto
    /// does), and the stream stops by closing its connection anyway.
    func streamFromStart(bucket: String, key: String, file: FileDescriptor, state: SplitState, ifMatch: String? = nil) async throws {
        var headers = HTTPHeaders()
        if let ifMatch { headers.add(name: "If-Match", value: ifMatch) }
        let operation = request("GetObject", .GET, bucket: bucket, key: key, headers: headers)
        let written = Counter(0)
        do {
            _ = try await client.receive(
                operation,
                head: { headers in
                    let head = Self.head(from: headers)
                    guard ftruncate(file.raw, off_t(head.size)) == 0 else {
                        throw S3TransferError(description: "cannot size the destination to \(head.size) bytes: \(String(cString: strerror(errno)))")
                    }
                    state.started(head)
                },
                chunk: { chunk in
                    // Bytes past the limit are the same bytes the parallel ranges write; stopping at the next
                    // chunk boundary is enough.
                    if written.value >= state.limit { return false }
                    try file.write(chunk, at: written.value)
                    written.value += Int64(chunk.readableBytes)
                    state.advance(to: written.value)
                    return true
                })
        } catch {
            // The body broke off after the head: resume from where it stopped, against the same ETag.
            guard let head = state.head, Self.bodyBrokeOff(error) else { throw error }
            let end = min(state.limit, head.size)
            if written.value < end {
                _ = try await fetchRange(
                    bucket: bucket, key: key, range: written.value...(end - 1),
                    ifMatch: head.etag.isEmpty ? nil : head.etag, file: file)
            }
        }
    }

    /// Whether an error while a body streamed was the network's (resume) rather than ours or the service's.
    static func bodyBrokeOff(_ error: any Error) -> Bool {
        !(error is S3TransferError || error is AWSServiceError || error is AWSConfigurationError || error is CancellationError)
    }

    /// One ranged GET written at its offset; resumes where it stopped after a broken connection.
    func fetchRange(
        bucket: String, key: String, range: ClosedRange<Int64>, ifMatch: String?,
        file: FileDescriptor
    ) async throws -> S3ObjectHead {
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
                throw S3TransferError(
                    description:
                        "s3://\(bucket)/\(key) changed while it was being downloaded (its ETag is no longer \(ifMatch ?? "")); download it again")
            } catch {
                // Errors before the body started were already retried by the client; here the body broke off.
                offset = written.value
                guard Self.bodyBrokeOff(error), attempt < client.settings.retry.maxAttempts, offset <= range.upperBound else { throw error }
                attempt += 1
                try await Task.sleep(nanoseconds: UInt64(client.settings.retry.delay(beforeRetry: attempt - 1) * 1e9))
            }
        }
    }

    // MARK: Upload

    /// Uploads a file: one PutObject up to `multipartThreshold`, otherwise parts uploaded in parallel.
    /// A failed multipart upload is aborted, so no invisible parts are left to pay for.
    @discardableResult
    package func upload(
        file path: String, bucket: String, key: String, metadata: [String: String] = [:],
        contentType: String? = nil, options: S3TransferOptions = S3TransferOptions()
    ) async throws -> String {
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
        return try await uploadMultipart(
            bucket: bucket, key: key, size: size, metadata: metadata, contentType: contentType,
            options: options
        ) { offset, count in try file.read(at: offset, count: count) }
    }

    /// Multipart upload of `size` bytes that `read(offset, count)` supplies.
    package func uploadMultipart(
        bucket: String, key: String, size: Int64, metadata: [String: String] = [:],
        contentType: String? = nil, options: S3TransferOptions = S3TransferOptions(),
        read: @escaping @Sendable (Int64, Int) throws -> ByteBuffer
    ) async throws -> String {
        // S3 allows at most 10,000 parts; grow the part size for very large files.
        var chosenPartSize = Int64(options.partSize)
        while (size + chosenPartSize - 1) / chosenPartSize > 10_000 { chosenPartSize *= 2 }
        let partSize = chosenPartSize
        let uploadId = try await createMultipartUpload(bucket: bucket, key: key, metadata: metadata, contentType: contentType)
        do {
            let numbers = Array(1...Int(max(1, (size + partSize - 1) / partSize)))
            let parts = PartList()
            try await forEachAdaptively(numbers, maximum: options.concurrency) { number in
                let offset = Int64(number - 1) * partSize
                let body = try read(offset, Int(min(partSize, size - offset)))
                let part = try await self.uploadPart(bucket: bucket, key: key, uploadId: uploadId, number: number, body: body)
                parts.append(part)
                return Int64(body.readableBytes)
            }
            return try await completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts.all)
        } catch {
            try? await abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
            throw error
        }
    }
}

/// Runs `body` for each item with at most `limit` running at once; the first error cancels the rest.
func forEachConcurrently<T: Sendable>(
    _ items: [T], limit: Int,
    _ body: @escaping @Sendable (T) async throws -> Void
) async throws {
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

/// Runs `body` for each item, finding how many to run at once: it starts with two, doubles while the
/// measured throughput grows by more than 15 %, and keeps the best level once it stops growing. Remote
/// S3 rewards more connections; a local single-process endpoint is slowed by them.
func forEachAdaptively<T: Sendable>(
    _ items: [T], maximum: Int,
    _ body: @escaping @Sendable (T) async throws -> Int64
) async throws {
    try await withThrowingTaskGroup(of: Int64.self) { group in
        var controller = ConcurrencyController(maximum: maximum)
        var iterator = items.makeIterator()
        var running = 0
        func fill() {
            while running < controller.limit, let item = iterator.next() {
                group.addTask { try await body(item) }
                running += 1
            }
        }
        fill()
        while let bytes = try await group.next() {
            running -= 1
            controller.completed(bytes: bytes)
            fill()
        }
    }
}

/// The hill-climb behind `forEachAdaptively`.
struct ConcurrencyController {
    let maximum: Int
    private(set) var limit: Int
    private var settled = false
    private var windowStart = Date()
    private var windowBytes: Int64 = 0
    private var windowCount = 0
    private var previous: (limit: Int, rate: Double)?

    init(maximum: Int) {
        self.maximum = max(1, maximum)
        self.limit = min(2, self.maximum)
        settled = self.limit == self.maximum
    }

    mutating func completed(bytes: Int64) {
        guard !settled else { return }
        windowBytes += bytes
        windowCount += 1
        guard windowCount >= limit * 2 else { return }
        let rate = Double(windowBytes) / max(Date().timeIntervalSince(windowStart), 1e-6)
        if let previous, rate < previous.rate * 1.15 {
            // No real gain from the last doubling: go back if it made things worse, and stop climbing.
            if rate < previous.rate { limit = previous.limit }
            settled = true
        } else {
            previous = (limit, rate)
            limit = min(maximum, limit * 2)
            settled = limit == previous?.limit
        }
        windowStart = Date()
        windowBytes = 0
        windowCount = 0
    }
}

/// An open file descriptor shared by the parallel parts of one transfer; positional I/O needs no lock.
package final class FileDescriptor: Sendable {
    package let raw: Int32
    /// Told of every range written (offset, count), for callers that serve reads while the transfer runs.
    let onWrite: (@Sendable (Int64, Int) -> Void)?

    package init(_ raw: Int32, onWrite: (@Sendable (Int64, Int) -> Void)? = nil) {
        self.raw = raw
        self.onWrite = onWrite
    }

    package func write(_ buffer: ByteBuffer, at offset: Int64) throws {
        let total = buffer.readableBytes
        try buffer.withUnsafeReadableBytes { bytes in
            do {
                _ = try SystemPackage.FileDescriptor(rawValue: raw).writeAll(toAbsoluteOffset: offset, bytes)
            } catch {
                throw S3TransferError(description: "writing \(total) bytes at offset \(offset) failed: \(error)")
            }
        }
        onWrite?(offset, total)
    }

    package func read(at offset: Int64, count: Int) throws -> ByteBuffer {
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

/// What the first stream of a download has done, and where it must stop.
final class SplitState: Sendable {
    private struct State {
        var head: S3ObjectHead?
        var startedAt = Date()
        var written: Int64 = 0
        var stopAt = Int64.max
        var error: (any Error)?
        var waiters: [CheckedContinuation<S3ObjectHead, any Error>] = []
    }

    private let state = Mutex(State())

    var head: S3ObjectHead? { state.withLock { $0.head } }
    var limit: Int64 { state.withLock { $0.stopAt } }

    func started(_ head: S3ObjectHead) {
        let resume = state.withLock { state -> [CheckedContinuation<S3ObjectHead, any Error>] in
            state.head = head
            state.startedAt = Date()
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in resume { waiter.resume(returning: head) }
    }

    func fail(_ error: any Error) {
        let resume = state.withLock { state -> [CheckedContinuation<S3ObjectHead, any Error>] in
            state.error = error
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in resume { waiter.resume(throwing: error) }
    }

    func waitForHead() async throws -> S3ObjectHead {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<S3ObjectHead, any Error>) in
            let known = state.withLock { state -> Result<S3ObjectHead, any Error>? in
                if let head = state.head { return .success(head) }
                if let error = state.error { return .failure(error) }
                state.waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(with: known) }
        }
    }

    func advance(to offset: Int64) { state.withLock { $0.written = offset } }

    /// Bytes written so far and seconds since the head arrived.
    func progress() -> (Int64, Double) { state.withLock { ($0.written, Date().timeIntervalSince($0.startedAt)) } }

    /// Moves the first stream's end to `offset`; false when it has already passed it.
    func stopFirstStream(at offset: Int64) -> Bool {
        state.withLock { state in
            guard state.written < offset else { return false }
            state.stopAt = offset
            return true
        }
    }
}

/// Bytes written so far by the one task streaming a range (an atomic, so the chunk handler may be @Sendable).
final class Counter: Sendable {
    private let stored: Atomic<Int64>
    init(_ value: Int64) { stored = Atomic(value) }
    var value: Int64 {
        get { stored.load(ordering: .relaxed) }
        set { stored.store(newValue, ordering: .relaxed) }
    }
}

final class PartList: Sendable {
    private let parts = Mutex<[S3CompletedPart]>([])
    func append(_ part: S3CompletedPart) { parts.withLock { $0.append(part) } }
    var all: [S3CompletedPart] { parts.withLock { $0 } }
}
