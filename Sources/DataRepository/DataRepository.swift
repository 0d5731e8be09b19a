import Foundation
import RepositoryMetadata
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One object of a listing: what ListObjectsV2 (or a directory walk) tells without a per-object request.
package struct RepositoryObject: Sendable, Hashable {
    package var key: String
    package var size: Int64
    /// The ETag without quotes (S3 event records carry it that way), so listings, heads and events compare.
    package var etag: String
    package var lastModifiedNanoseconds: Int64

    package init(key: String, size: Int64, etag: String, lastModifiedNanoseconds: Int64) {
        self.key = key
        self.size = size
        self.etag = RepositoryObject.normalize(etag: etag)
        self.lastModifiedNanoseconds = lastModifiedNanoseconds
    }

    package static func normalize(etag: String) -> String {
        etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
}

/// What a HeadObject tells: the listing's facts plus the user metadata that carries POSIX attributes.
package struct RepositoryObjectHead: Sendable, Hashable {
    package var object: RepositoryObject
    /// Lowercased names without `x-amz-meta-`.
    package var userMetadata: [String: String]

    package init(object: RepositoryObject, userMetadata: [String: String]) {
        self.object = object
        self.userMetadata = userMetadata
    }
}

/// A change in the repository reported by its event feed (S3 event notifications through SQS).
package struct RepositoryEvent: Sendable, Hashable {
    package enum Kind: Sendable, Hashable { case created, removed }
    package var kind: Kind
    package var key: String
    package var etag: String?
    package var size: Int64?

    package init(kind: Kind, key: String, etag: String?, size: Int64?) {
        self.kind = kind
        self.key = key
        self.etag = etag.map(RepositoryObject.normalize(etag:))
        self.size = size
    }
}

/// Why a repository call failed, in the terms the file system reports (the FSx task error codes).
package struct RepositoryError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case notFound = "S3ObjectNotFound"
        case accessDenied = "S3AccessDenied"
        case bucketMissing = "S3BucketNotFound"
        case changed = "S3ObjectChanged"
        case invalidPath = "InvalidRepositoryPath"
        case io = "RepositoryIOError"
        /// The event feed's queue is gone (the endpoint lost it, or someone deleted it): set the feed up again.
        case feedLost = "EventFeedLost"
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}

/// Where a data repository association's data lives. The file system sees keys relative to the repository's
/// root (the bucket, or the directory); the association adds its own prefix.
///
/// Implementations: `S3Repository` (any S3 endpoint) and `LocalDirectoryRepository` (`file://` paths, same
/// layout, POSIX metadata in side files), so the core is the same whichever holds the data.
package protocol DataRepository: Sendable {
    /// `s3://bucket/` or `file:///path/`, for messages.
    var displayName: String { get }

    /// Every object whose key starts with `prefix`, page by page (directories appear as `key/` objects only
    /// when such an object exists).
    func list(prefix: String) -> AsyncThrowingStream<[RepositoryObject], any Error>

    /// The object's facts and user metadata, or nil when there is no such object.
    func head(key: String) async throws -> RepositoryObjectHead?

    /// Reads `range` of the object, which must still have `etag` (a changed object fails with `.changed`
    /// rather than mixing two versions), handing the bytes to `sink` in order with their offsets.
    func read(
        key: String, range: Range<Int64>, etag: String?,
        sink: @escaping @Sendable (Int64, UnsafeRawBufferPointer) throws -> Void) async throws

    /// Copies the whole object (which must still have `etag`) into the open file `fd` as fast as this
    /// repository allows, telling `progress` of every range written (offset, count) so reads can be served
    /// while it runs.
    func download(
        key: String, size: Int64, etag: String?, into fd: Int32,
        progress: @escaping @Sendable (Int64, Int) -> Void) async throws

    /// Writes an object from a local file (the whole file), with user metadata; returns the new ETag.
    func write(key: String, contentsOf path: String, userMetadata: [String: String]) async throws -> String

    /// Writes a small object from memory (directories, symlinks, reports); returns the new ETag.
    func write(key: String, data: Data, userMetadata: [String: String]) async throws -> String

    /// Replaces the user metadata of an existing object, keeping its data; returns the new ETag.
    func replaceMetadata(key: String, userMetadata: [String: String]) async throws -> String

    /// Copies an object inside the repository with new user metadata (a rename of a released file moves
    /// no data through this machine); returns the new ETag.
    func copy(from source: String, to destination: String, userMetadata: [String: String]) async throws -> String

    /// Deletes an object; deleting a missing object is not an error.
    func delete(key: String) async throws

    /// Checks that the repository exists and can be read, with a message that says what is wrong.
    func checkAccess() async throws

    /// Starts delivering change events for keys under `prefix`, or returns nil when this repository has no
    /// event feed (then the periodic sweep alone catches changes).
    func startEventFeed(name: String, prefix: String) async throws -> (any RepositoryEventFeed)?

    /// Removes the event feed `startEventFeed` set up (queue and notification configuration).
    func stopEventFeed(name: String) async throws

    /// Whether the event feed is still wired up (someone may have removed the bucket's notification entry,
    /// which makes the association MISCONFIGURED).
    func eventFeedConfigured(name: String) async throws -> Bool

    /// Aborts writes a crashed process left unfinished under `prefix` (S3's incomplete multipart uploads).
    func abortIncompleteWrites(prefix: String) async throws
}

extension DataRepository {
    /// One sequential read: what a local directory does best.
    package func download(
        key: String, size: Int64, etag: String?, into fd: Int32,
        progress: @escaping @Sendable (Int64, Int) -> Void
    ) async throws {
        try await read(key: key, range: 0..<size, etag: etag) { offset, bytes in
            do {
                _ = try SystemPackage.FileDescriptor(rawValue: fd).writeAll(toAbsoluteOffset: offset, bytes)
            } catch {
                throw RepositoryError(.io, "writing local data failed: \(error)")
            }
            progress(offset, bytes.count)
        }
    }

    package func eventFeedConfigured(name: String) async throws -> Bool { true }
    package func abortIncompleteWrites(prefix: String) async throws {}
}

/// Events from the repository, at least once and in any order (the reference's delivery rules).
package protocol RepositoryEventFeed: Sendable {
    /// Waits up to `seconds` for events; an empty batch is normal. Events are acknowledged by `acknowledge`.
    func receive(waitSeconds: Int) async throws -> [(event: RepositoryEvent, receipt: String)]
    func acknowledge(_ receipts: [String]) async throws
}

/// `s3://bucket/prefix/` or `file:///dir/prefix/`, split into the repository and the key prefix, with the
/// trailing "/" FSx adds.
package struct RepositoryLocation: Sendable, Hashable, CustomStringConvertible {
    package enum Scheme: String, Sendable { case s3, file }
    package var scheme: Scheme
    /// The bucket, or the directory's absolute path.
    package var root: String
    /// "" or a prefix ending in "/".
    package var prefix: String

    package init(scheme: Scheme, root: String, prefix: String) {
        self.scheme = scheme
        self.root = root
        self.prefix = prefix
    }

    package var description: String {
        switch scheme {
        case .s3: return "s3://\(root)/\(prefix)"
        case .file: return "file://\(root)/\(prefix)"
        }
    }

    /// Parses a DataRepositoryPath. For `file://` the root is the directory given and the prefix is empty,
    /// so keys are paths below it.
    package static func parse(_ text: String) -> Result<RepositoryLocation, RepositoryError> {
        if text.hasPrefix("s3://") {
            let rest = text.dropFirst(5)
            let bucket = String(rest.prefix { $0 != "/" })
            guard isValidBucketName(bucket) else {
                return .failure(
                    RepositoryError(.invalidPath, "'\(text)' does not name a valid S3 bucket (3-63 lowercase letters, digits, '.' and '-')"))
            }
            var prefix = String(rest.dropFirst(bucket.count))
            while prefix.hasPrefix("/") { prefix.removeFirst() }
            if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
            guard prefix.utf8.count <= 1024 else {
                return .failure(RepositoryError(.invalidPath, "the prefix of '\(text)' is longer than 1024 bytes"))
            }
            return .success(RepositoryLocation(scheme: .s3, root: bucket, prefix: prefix))
        }
        if text.hasPrefix("file://") {
            var path = String(text.dropFirst(7))
            guard path.hasPrefix("/") else {
                return .failure(RepositoryError(.invalidPath, "'\(text)' must be an absolute path: file:///dir/"))
            }
            while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
            return .success(RepositoryLocation(scheme: .file, root: path, prefix: ""))
        }
        return .failure(RepositoryError(.invalidPath, "'\(text)' is not a data repository path: use s3://bucket/prefix/ or file:///dir/"))
    }

    static func isValidBucketName(_ name: String) -> Bool {
        guard (3...63).contains(name.count), let first = name.first, let last = name.last,
            first.isLetter || first.isNumber, last.isLetter || last.isNumber
        else { return false }
        return name.allSatisfy { ($0.isLowercase && $0.isASCII) || ($0.isNumber && $0.isASCII) || $0 == "." || $0 == "-" }
    }

    /// Whether two locations overlap (one prefix contains the other in the same repository).
    package func overlaps(_ other: RepositoryLocation) -> Bool {
        scheme == other.scheme && root == other.root && (prefix.hasPrefix(other.prefix) || other.prefix.hasPrefix(prefix))
    }
}

/// Makes the repository an association points at (the host decides how: S3 with its settings, or a directory).
package protocol RepositoryFactory: Sendable {
    func repository(for location: RepositoryLocation) throws -> any DataRepository
}
