import AWSCore
import Foundation

public struct S3ObjectSummary: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var etag: String
    public var lastModified: Date?
}

public struct S3ListPage: Sendable, Equatable {
    public var objects: [S3ObjectSummary]
    public var commonPrefixes: [String]
    public var isTruncated: Bool
    public var nextContinuationToken: String?
}

public struct S3ObjectHead: Sendable, Equatable {
    public var size: Int64
    public var etag: String
    public var lastModified: Date?
    public var contentType: String?
    /// User metadata, names lowercased and without the `x-amz-meta-` prefix.
    public var metadata: [String: String]
}

/// Where one notification goes and for which events (a bucket's NotificationConfiguration entry).
public struct S3NotificationTarget: Sendable, Equatable {
    public enum Kind: String, Sendable { case queue = "Queue", topic = "Topic", lambda = "CloudFunction" }
    public var kind: Kind
    public var id: String?
    public var arn: String
    public var events: [String]
    /// Filter rules by name ("prefix", "suffix").
    public var prefix: String?
    public var suffix: String?

    public init(kind: Kind, id: String? = nil, arn: String, events: [String], prefix: String? = nil, suffix: String? = nil) {
        self.kind = kind
        self.id = id
        self.arn = arn
        self.events = events
        self.prefix = prefix
        self.suffix = suffix
    }
}

public struct S3NotificationConfiguration: Sendable, Equatable {
    public var targets: [S3NotificationTarget]
    public var eventBridgeEnabled: Bool

    public init(targets: [S3NotificationTarget] = [], eventBridgeEnabled: Bool = false) {
        self.targets = targets
        self.eventBridgeEnabled = eventBridgeEnabled
    }
}

public struct S3DeleteFailure: Sendable, Equatable {
    public var key: String
    public var code: String
    public var message: String
}

public struct S3CompletedPart: Sendable, Equatable {
    public var number: Int
    public var etag: String
}

/// A transfer could not be completed; nothing partial was left behind (the upload was aborted, the
/// partial download removed).
public struct S3TransferError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

enum HTTPDate {
    /// RFC 1123 dates (Last-Modified) and ISO 8601 with or without fractional seconds (list results).
    static func parse(_ text: String) -> Date? {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = iso.date(from: text) { return date }
        iso.formatOptions = [.withInternetDateTime]
        if let date = iso.date(from: text) { return date }
        let rfc = DateFormatter()
        rfc.locale = Locale(identifier: "en_US_POSIX")
        rfc.timeZone = TimeZone(identifier: "GMT")
        rfc.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return rfc.date(from: text)
    }
}
