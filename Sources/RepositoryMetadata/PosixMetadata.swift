/// POSIX attributes as FSx for Lustre keeps them in S3 user metadata (the `x-amz-meta-file-*` headers),
/// read and written in exactly the original's format.
package struct PosixMetadata: Sendable, Hashable {
    /// st_mode with the file type bits (0100644 for a regular file); setuid and setgid are not kept.
    package var mode: UInt32
    package var uid: UInt32
    package var gid: UInt32
    /// Nanoseconds since the epoch.
    package var atimeNanoseconds: Int64?
    package var mtimeNanoseconds: Int64?

    package init(mode: UInt32, uid: UInt32, gid: UInt32, atimeNanoseconds: Int64? = nil, mtimeNanoseconds: Int64? = nil) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.atimeNanoseconds = atimeNanoseconds
        self.mtimeNanoseconds = mtimeNanoseconds
    }

    package static let regularFileType: UInt32 = 0o100000
    package static let directoryType: UInt32 = 0o040000
    package static let symlinkType: UInt32 = 0o120000
    static let typeMask: UInt32 = 0o170000
    static let kept: UInt32 = 0o170000 | 0o1777  // type, sticky and permission bits; not setuid/setgid

    /// What an object without FSx metadata imports as: owner root, group root, 0755 (the reference's rule).
    package static func defaults(type: UInt32 = regularFileType) -> PosixMetadata {
        PosixMetadata(mode: type | 0o755, uid: 0, gid: 0)
    }

    package var fileType: UInt32 { mode & Self.typeMask }
    package var permissions: UInt32 { mode & 0o7777 }

    /// The user-metadata entries for an export (names without `x-amz-meta-`, as S3 clients take them).
    package var userMetadata: [String: String] {
        var entries = [
            "file-permissions": "0" + String(mode & Self.kept, radix: 8),
            "file-owner": String(uid),
            "file-group": String(gid),
            "user-agent": "aws-fsx-lustre",
        ]
        if let atimeNanoseconds { entries["file-atime"] = "\(atimeNanoseconds)ns" }
        if let mtimeNanoseconds { entries["file-mtime"] = "\(mtimeNanoseconds)ns" }
        return entries
    }

    /// Reads the entries of an object's user metadata (names lowercased, without `x-amz-meta-`).
    /// Missing entries take the defaults; a malformed entry is reported, not guessed at.
    package static func parse(_ metadata: [String: String], type: UInt32 = regularFileType) -> Result<PosixMetadata, MetadataError> {
        var result = defaults(type: type)
        if let text = metadata["file-permissions"] {
            guard let value = UInt32(text, radix: 8), value <= 0o177777 else { return .failure(.malformed("file-permissions", text)) }
            let givenType = value & typeMask
            // The type in the object's name (a key ending in "/" is a directory) wins over a missing type.
            result.mode = (givenType == 0 ? type : givenType) | (value & 0o1777)
        }
        for (key, path) in [("file-owner", \PosixMetadata.uid), ("file-group", \PosixMetadata.gid)] {
            guard let text = metadata[key] else { continue }
            guard let value = UInt32(text) else { return .failure(.malformed(key, text)) }
            result[keyPath: path] = value
        }
        for (key, path) in [("file-atime", \PosixMetadata.atimeNanoseconds), ("file-mtime", \PosixMetadata.mtimeNanoseconds)] {
            guard let text = metadata[key] else { continue }
            guard let value = parseTime(text) else { return .failure(.malformed(key, text)) }
            result[keyPath: path] = value
        }
        return .success(result)
    }

    /// `1595002920000000000ns` is nanoseconds; a bare number is milliseconds (the older format).
    static func parseTime(_ text: String) -> Int64? {
        if text.hasSuffix("ns") { return Int64(text.dropLast(2)) }
        guard let milliseconds = Int64(text) else { return nil }
        let (product, overflow) = milliseconds.multipliedReportingOverflow(by: 1_000_000)
        return overflow ? nil : product
    }
}

package enum MetadataError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(String, String)

    package var description: String {
        switch self {
        case .malformed(let key, let value): return "x-amz-meta-\(key) '\(value)' is not in the FSx format"
        }
    }
}

/// Which S3 keys can be files of the file system: UTF-8 (always, in Swift strings), at most 1024 bytes,
/// and no `.` or `..` path components, which are not POSIX names.
package enum RepositoryKey {
    package enum Kind: Sendable, Hashable { case file, directory }

    /// The path below the association's prefix, or nil when the key cannot be a file of the file system.
    package static func relativePath(of key: String, under prefix: String) -> (path: String, kind: Kind)? {
        guard key.utf8.count <= 1024, key.hasPrefix(prefix) else { return nil }
        var rest = String(key.dropFirst(prefix.count))
        let kind: Kind = rest.hasSuffix("/") ? .directory : .file
        if kind == .directory { rest.removeLast() }
        guard !rest.isEmpty else { return nil }
        let components = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\u{0}") }) else { return nil }
        return (rest, kind)
    }
}
