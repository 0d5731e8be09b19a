import AWSCore
import Foundation

/// One record of an S3 event notification, as delivered to SQS.
package struct S3EventRecord: Sendable, Equatable {
    package var eventName: String  // "ObjectCreated:Put", "ObjectRemoved:Delete", ...
    package var bucket: String
    /// The object key, decoded (S3 sends it form-encoded: "dir%2Fa+b" is "dir/a b").
    package var key: String
    package var size: Int64?
    package var etag: String?
    package var sequencer: String?
    package var eventTime: String?

    package var isCreation: Bool { eventName.hasPrefix("ObjectCreated") }
    package var isRemoval: Bool { eventName.hasPrefix("ObjectRemoved") }
}

package struct S3EventParseError: Error, Sendable, CustomStringConvertible {
    package var description: String
}

package enum S3EventNotification {
    /// The records in an SQS message body; a test event (sent when a configuration is written) has none.
    /// Throws when the body is not an S3 notification at all.
    package static func records(in body: String) throws -> [S3EventRecord] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else {
            throw S3EventParseError(description: "the message is not a JSON S3 event notification")
        }
        if (object["Event"] as? String) == "s3:TestEvent" { return [] }
        guard let records = object["Records"] as? [[String: Any]] else {
            throw S3EventParseError(description: "the message is not an S3 event notification (it has no Records)")
        }
        return records.compactMap { record in
            guard let name = record["eventName"] as? String, let s3 = record["s3"] as? [String: Any],
                let bucket = (s3["bucket"] as? [String: Any])?["name"] as? String,
                let object = s3["object"] as? [String: Any], let key = object["key"] as? String
            else { return nil }
            return S3EventRecord(
                eventName: name, bucket: bucket, key: URLEncoding.decode(key, plusIsSpace: true),
                size: (object["size"] as? NSNumber)?.int64Value, etag: object["eTag"] as? String,
                sequencer: object["sequencer"] as? String, eventTime: record["eventTime"] as? String)
        }
    }
}
