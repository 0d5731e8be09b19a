import DataRepository
import Foundation

/// S3 event kinds of the AutoImportPolicy and AutoExportPolicy.
package enum RepositoryEventType: String, Codable, Sendable, Hashable, CaseIterable {
    case new = "NEW", changed = "CHANGED", deleted = "DELETED"
}

/// A data repository association, as FSx describes it.
package struct Association: Codable, Sendable, Hashable {
    package enum Lifecycle: String, Codable, Sendable {
        case creating = "CREATING", available = "AVAILABLE", misconfigured = "MISCONFIGURED", updating = "UPDATING"
        case deleting = "DELETING", failed = "FAILED"
    }

    package var id: String
    package var fileSystemPath: String
    package var dataRepositoryPath: String
    package var lifecycle: Lifecycle
    package var failureMessage: String?
    package var batchImportMetaDataOnCreate: Bool
    /// MiB.
    package var importedFileChunkSize: Int
    package var autoImport: Set<RepositoryEventType>
    package var autoExport: Set<RepositoryEventType>
    package var tags: [String: String]
    package var creationTime: Date
    /// Lustre's archive id of this association's files (`archive_id:N` in hsm_state).
    package var archiveId: UInt32
    /// Set while a delete is in progress: whether the files go too.
    package var deleteDataInFileSystem: Bool?
    /// The create request's ClientRequestToken and what it asked for: a retry with the token gets this
    /// association back (kept in the association's own record, so it holds across restarts).
    package var clientRequestToken: String?
    package var requestFingerprint: String?
    /// Seconds a restore of this association's files may receive nothing before its readers get EIO; nil
    /// means the file system's `readStallSeconds`. Not an FSx field (FSx has no such bound), so only
    /// `fsx-admin create-association --read-timeout` sets it.
    package var readTimeoutSeconds: Double?

    package var location: RepositoryLocation {
        // Validated when the association was created.
        (try? RepositoryLocation.parse(dataRepositoryPath).get()) ?? RepositoryLocation(scheme: .file, root: "/", prefix: "")
    }

    /// The event-feed (queue) name for this association.
    package var feedName: String { "fsx-\(id)" }
}

/// What a create request asks for, before the file system checks it.
package struct AssociationRequest: Sendable, Hashable {
    package var fileSystemPath: String
    package var dataRepositoryPath: String
    package var batchImportMetaDataOnCreate: Bool
    package var importedFileChunkSize: Int
    package var autoImport: Set<RepositoryEventType>
    package var autoExport: Set<RepositoryEventType>
    package var tags: [String: String]
    /// Idempotency: the same token with the same request returns the association it made.
    package var clientRequestToken: String?
    /// See `Association.readTimeoutSeconds`.
    package var readTimeoutSeconds: Double?

    /// Everything the request asks for, in one text, to tell a retry from another request under the same token.
    package var fingerprint: String {
        [
            fileSystemPath, dataRepositoryPath, String(batchImportMetaDataOnCreate), String(importedFileChunkSize),
            autoImport.map(\.rawValue).sorted().joined(separator: ","), autoExport.map(\.rawValue).sorted().joined(separator: ","),
            tags.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ","),
        ].joined(separator: "|")
            + (readTimeoutSeconds.map { "|read-timeout=\($0)" } ?? "")
    }

    package init(
        fileSystemPath: String, dataRepositoryPath: String, batchImportMetaDataOnCreate: Bool = false,
        importedFileChunkSize: Int = 1024, autoImport: Set<RepositoryEventType> = [],
        autoExport: Set<RepositoryEventType> = [], tags: [String: String] = [:], readTimeoutSeconds: Double? = nil
    ) {
        self.fileSystemPath = fileSystemPath
        self.dataRepositoryPath = dataRepositoryPath
        self.batchImportMetaDataOnCreate = batchImportMetaDataOnCreate
        self.importedFileChunkSize = importedFileChunkSize
        self.autoImport = autoImport
        self.autoExport = autoExport
        self.tags = tags
        self.readTimeoutSeconds = readTimeoutSeconds
    }
}

/// Why an association request is refused; `code` is the FSx error the API answers with.
package struct AssociationError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case badRequest = "BadRequest"
        case notFound = "DataRepositoryAssociationNotFound"
        case limitExceeded = "ServiceLimitExceeded"
        case incompatibleParameter = "IncompatibleParameterError"
    }
    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}

/// The FSx rules for FileSystemPath and DataRepositoryPath (../shared/reference/fsx-dra-hsm.md), pure.
package enum AssociationRules {
    package static let maximumPerFileSystem = 8

    /// The normalized FileSystemPath ("/dra", never a trailing "/" except for "/").
    package static func fileSystemPath(_ path: String) throws(AssociationError) -> String {
        guard path.hasPrefix("/") else {
            throw AssociationError(.badRequest, "FileSystemPath '\(path)' must start with '/'")
        }
        guard path.utf8.count <= 4096 else {
            throw AssociationError(.badRequest, "FileSystemPath is longer than 4096 bytes")
        }
        if path.contains("\u{0}") || path.contains("\r") || path.contains("\n") {
            throw AssociationError(.badRequest, "FileSystemPath must not contain NUL, CR or LF characters")
        }
        let components = path.split(separator: "/")
        if components.contains(where: { $0 == "." || $0 == ".." }) {
            throw AssociationError(.badRequest, "FileSystemPath '\(path)' must not contain '.' or '..' components")
        }
        if components.contains(where: { $0.utf8.count > 255 }) {
            throw AssociationError(.badRequest, "FileSystemPath '\(path)' has a component longer than 255 bytes")
        }
        return "/" + components.joined(separator: "/")
    }

    package static func chunkSize(_ mebibytes: Int) throws(AssociationError) -> Int {
        guard (1...512_000).contains(mebibytes) else {
            throw AssociationError(.badRequest, "ImportedFileChunkSize \(mebibytes) is outside 1 to 512000 (MiB)")
        }
        return mebibytes
    }

    /// Whether one file system path contains the other (at a component boundary).
    package static func overlaps(_ a: String, _ b: String) -> Bool {
        if a == "/" || b == "/" { return true }
        return a == b || a.hasPrefix(b + "/") || b.hasPrefix(a + "/")
    }

    /// Checks a new association against the existing ones; returns the normalized request.
    package static func check(_ request: AssociationRequest, existing: [Association]) throws(AssociationError) -> AssociationRequest {
        var checked = request
        checked.fileSystemPath = try fileSystemPath(request.fileSystemPath)
        checked.importedFileChunkSize = try chunkSize(request.importedFileChunkSize)
        if let seconds = request.readTimeoutSeconds, !(seconds > 0 && seconds <= 86_400) {
            throw AssociationError(.badRequest, "the read timeout must be more than 0 and at most 86400 seconds, not \(seconds)")
        }
        let location: RepositoryLocation
        switch RepositoryLocation.parse(request.dataRepositoryPath) {
        case .success(let parsed): location = parsed
        case .failure(let error): throw AssociationError(.badRequest, "DataRepositoryPath: \(error.message)")
        }
        checked.dataRepositoryPath = location.description
        let live = existing.filter { $0.lifecycle != .failed }
        guard live.count < maximumPerFileSystem else {
            throw AssociationError(.limitExceeded, "a file system has at most \(maximumPerFileSystem) data repository associations")
        }
        for other in live {
            if overlaps(other.fileSystemPath, checked.fileSystemPath) {
                let why =
                    (other.fileSystemPath == "/" || checked.fileSystemPath == "/")
                    ? "'/' can only be the file system's sole association" : "file system paths may not overlap"
                throw AssociationError(
                    .badRequest,
                    "FileSystemPath \(checked.fileSystemPath) overlaps \(other.fileSystemPath) of association \(other.id): \(why)")
            }
            if other.location.overlaps(location) {
                throw AssociationError(
                    .badRequest,
                    "DataRepositoryPath \(checked.dataRepositoryPath) overlaps \(other.dataRepositoryPath) of association \(other.id)")
            }
        }
        return checked
    }
}

/// FSx-style ids: a prefix and 17 lowercase hex digits.
package enum ResourceId {
    package static func make(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return prefix + "-" + String((0..<17).map { _ in digits[Int(generator.next() % 16)] })
    }
}
