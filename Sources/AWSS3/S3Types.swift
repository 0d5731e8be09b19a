import AWSCore
import Foundation

package struct S3ObjectSummary: Sendable, Equatable {
    package var key: String
    package var size: Int64
    package var etag: String
    package var lastModified: Date?
}

package struct S3ListPage: Sendable, Equatable {
    package var objects: [S3ObjectSummary]
    package var commonPrefixes: [String]
    package var isTruncated: Bool
    package var nextContinuationToken: String?
}

package struct S3ObjectHead: Sendable, Equatable {
    package var size: Int64
    package var etag: String
    package var lastModified: Date?
    package var contentType: String?
    /// User metadata, names lowercased and without the `x-amz-meta-` prefix.
    package var metadata: [String: String]
}

/// Where one notification goes and for which events (a bucket's NotificationConfiguration entry).
package struct S3NotificationTarget: Sendable, Equatable {
    package enum Kind: String, Sendable { case queue = "Queue", topic = "Topic", lambda = "CloudFunction" }
    package var kind: Kind
    package var id: String?
    package var arn: String
    package var events: [String]
    /// Filter rules by name ("prefix", "suffix").
    package var prefix: String?
    package var suffix: String?

    package init(kind: Kind, id: String? = nil, arn: String, events: [String], prefix: String? = nil, suffix: String? = nil) {
        self.kind = kind
        self.id = id
        self.arn = arn
        self.events = events
        self.prefix = prefix
        self.suffix = suffix
    }
}

package struct S3NotificationConfiguration: Sendable, Equatable {
    package var targets: [S3NotificationTarget]
    package var eventBridgeEnabled: Bool

    package init(targets: [S3NotificationTarget] = [], eventBridgeEnabled: Bool = false) {
        self.targets = targets
        self.eventBridgeEnabled = eventBridgeEnabled
    }
}

package struct S3DeleteFailure: Sendable, Equatable {
    package var key: String
    package var code: String
    package var message: String
}

package struct S3CompletedPart: Sendable, Equatable {
    package var number: Int
    package var etag: String
}

/// A transfer could not be completed; nothing partial was left behind (the upload was aborted, the
/// partial download removed).
package struct S3TransferError: Error, Sendable, CustomStringConvertible {
    package var description: String
}

enum HTTPDate {
    /// RFC 1123 dates (Last-Modified) and ISO 8601 with or without fractional seconds (list results).
    static func parse(_ text: String) -> Date? { WireDate.parse(text) }
}
