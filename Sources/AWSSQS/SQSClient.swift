import AWSCore
import AsyncHTTPClient
import Crypto
import Foundation

package struct SQSMessage: Sendable, Equatable {
    package var messageId: String
    package var receiptHandle: String
    package var body: String
    package var attributes: [String: String]
}

package struct SQSBatchFailure: Sendable, Equatable {
    package var id: String
    package var code: String
    package var message: String
    package var senderFault: Bool
}

/// SQS over the AWS JSON 1.0 protocol, which SQS has spoken since 2023 and current botocore uses. (The older
/// query protocol still works on AWS, but moto's signature check mangles non-ASCII form bodies.)
package final class SQSClient: Sendable {
    package let client: AWSClient

    package init(settings: AWSSettings, http: HTTPClient = AWSHTTP.shared) throws(AWSConfigurationError) {
        client = try AWSClient(
            service: .sqs, settings: settings, wireProtocol: .json(version: "1.0", targetPrefix: "AmazonSQS"),
            http: http)
    }

    struct QueueName: Encodable { var QueueName: String; var Attributes: [String: String]? }
    struct QueueURLOnly: Codable { var QueueUrl: String }
    struct QueueURLAnswer: Decodable { var QueueUrl: String? }
    struct AttributesRequest: Encodable { var QueueUrl: String; var AttributeNames: [String] }
    struct AttributesAnswer: Decodable { var Attributes: [String: String]? }
    struct SetAttributes: Encodable { var QueueUrl: String; var Attributes: [String: String] }
    struct Send: Encodable { var QueueUrl: String; var MessageBody: String }
    struct SendAnswer: Decodable { var MessageId: String?; var MD5OfMessageBody: String? }
    struct Receive: Encodable {
        var QueueUrl: String
        var MaxNumberOfMessages: Int
        var WaitTimeSeconds: Int
        var VisibilityTimeout: Int?
        var MessageSystemAttributeNames = ["All"]
    }
    struct ReceiveAnswer: Decodable {
        struct Message: Decodable {
            var MessageId: String?
            var ReceiptHandle: String?
            var MD5OfBody: String?
            var Body: String?
            var Attributes: [String: String]?
        }
        var Messages: [Message]?
    }
    struct DeleteBatch: Encodable {
        struct Entry: Encodable { var Id: String; var ReceiptHandle: String }
        var QueueUrl: String
        var Entries: [Entry]
    }
    struct DeleteBatchAnswer: Decodable {
        struct Failure: Decodable { var Id: String; var Code: String?; var Message: String?; var SenderFault: Bool? }
        var Failed: [Failure]?
    }
    struct Empty: Decodable {}

    /// Creates the queue, or returns the existing one's URL when its attributes match (SQS's own rule).
    package func createQueue(name: String, attributes: [String: String] = [:]) async throws -> String {
        let answer = try await client.json(
            "CreateQueue", QueueName(QueueName: name, Attributes: attributes.isEmpty ? nil : attributes),
            as: QueueURLAnswer.self)
        guard let url = answer.QueueUrl, !url.isEmpty else {
            throw AWSTransportError(
                reason: .malformedResponse, endpoint: client.endpoint.description,
                detail: "CreateQueue answered without a QueueUrl")
        }
        return url
    }

    package func getQueueUrl(name: String) async throws -> String {
        try await client.json("GetQueueUrl", QueueName(QueueName: name), as: QueueURLAnswer.self).QueueUrl ?? ""
    }

    package func deleteQueue(url: String) async throws {
        _ = try await client.json("DeleteQueue", QueueURLOnly(QueueUrl: url), as: Empty.self)
    }

    /// All attributes, or the named ones (QueueArn, ApproximateNumberOfMessages, Policy, ...).
    package func getQueueAttributes(url: String, names: [String] = ["All"]) async throws -> [String: String] {
        try await client.json(
            "GetQueueAttributes", AttributesRequest(QueueUrl: url, AttributeNames: names),
            as: AttributesAnswer.self
        ).Attributes ?? [:]
    }

    package func setQueueAttributes(url: String, attributes: [String: String]) async throws {
        _ = try await client.json("SetQueueAttributes", SetAttributes(QueueUrl: url, Attributes: attributes), as: Empty.self)
    }

    /// Not idempotent: a repeat would deliver the message twice, so it is retried only when provably unsent.
    @discardableResult
    package func sendMessage(url: String, body: String) async throws -> String {
        let answer = try await client.json(
            "SendMessage", Send(QueueUrl: url, MessageBody: body), as: SendAnswer.self,
            isIdempotent: false)
        if let md5 = answer.MD5OfMessageBody, md5.lowercased() != Self.md5(body) {
            throw AWSTransportError(
                reason: .malformedResponse, endpoint: client.endpoint.description,
                detail: "SQS stored a message body whose MD5 differs from the one sent")
        }
        return answer.MessageId ?? ""
    }

    /// Long-polls up to `waitSeconds` (0...20) for up to `maxMessages` (1...10) messages. Each body is checked
    /// against the MD5 SQS sends with it.
    package func receiveMessages(
        url: String, maxMessages: Int = 10, waitSeconds: Int = 20,
        visibilityTimeout: Int? = nil
    ) async throws -> [SQSMessage] {
        let wait = min(20, max(0, waitSeconds))
        let request = Receive(
            QueueUrl: url, MaxNumberOfMessages: min(10, max(1, maxMessages)), WaitTimeSeconds: wait,
            VisibilityTimeout: visibilityTimeout)
        // The HTTP wait must outlast the long poll.
        let answer = try await client.json("ReceiveMessage", request, as: ReceiveAnswer.self, timeout: Double(wait) + 15)
        return try (answer.Messages ?? []).map { message in
            let body = message.Body ?? ""
            if let expected = message.MD5OfBody, Self.md5(body) != expected.lowercased() {
                throw AWSTransportError(
                    reason: .malformedResponse, endpoint: client.endpoint.description,
                    detail: "message \(message.MessageId ?? "?") arrived with a body that does not match its MD5")
            }
            return SQSMessage(
                messageId: message.MessageId ?? "", receiptHandle: message.ReceiptHandle ?? "", body: body,
                attributes: message.Attributes ?? [:])
        }
    }

    /// Deletes up to 10 messages per call (more are sent in several calls); returns those SQS refused, with
    /// ids "m0", "m1", ... in the order of `receiptHandles`.
    package func deleteMessageBatch(url: String, receiptHandles: [String]) async throws -> [SQSBatchFailure] {
        var failures: [SQSBatchFailure] = []
        var start = 0
        while start < receiptHandles.count {
            let batch = Array(receiptHandles[start..<min(receiptHandles.count, start + 10)])
            let entries = batch.enumerated().map { DeleteBatch.Entry(Id: "m\(start + $0.offset)", ReceiptHandle: $0.element) }
            start += batch.count
            let answer = try await client.json(
                "DeleteMessageBatch", DeleteBatch(QueueUrl: url, Entries: entries),
                as: DeleteBatchAnswer.self)
            failures += (answer.Failed ?? []).map {
                SQSBatchFailure(id: $0.Id, code: $0.Code ?? "", message: $0.Message ?? "", senderFault: $0.SenderFault ?? false)
            }
        }
        return failures
    }

    static func md5(_ text: String) -> String {
        Insecure.MD5.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
