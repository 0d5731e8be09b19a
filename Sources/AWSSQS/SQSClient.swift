import AWSCore
import AsyncHTTPClient
import Crypto
import Foundation

public struct SQSMessage: Sendable, Equatable {
    public var messageId: String
    public var receiptHandle: String
    public var body: String
    public var attributes: [String: String]
}

public struct SQSBatchFailure: Sendable, Equatable {
    public var id: String
    public var code: String
    public var message: String
    public var senderFault: Bool
}

/// SQS over the AWS query protocol.
public final class SQSClient: Sendable {
    public let client: AWSClient

    public init(settings: AWSSettings, http: HTTPClient = AWSHTTP.shared) throws(AWSConfigurationError) {
        client = try AWSClient(service: .sqs, settings: settings, wireProtocol: .query(version: "2012-11-05"), http: http)
    }

    static func numbered(_ prefix: String, _ attributes: [String: String]) -> [QueryItem] {
        attributes.sorted { $0.key < $1.key }.enumerated().flatMap { index, pair in
            [QueryItem("\(prefix).\(index + 1).Name", pair.key), QueryItem("\(prefix).\(index + 1).Value", pair.value)]
        }
    }

    static func attributeMap(_ element: XMLElement?) -> [String: String] {
        var map: [String: String] = [:]
        for attribute in element?.children("Attribute") ?? [] {
            if let name = attribute.string("Name") { map[name] = attribute.string("Value") ?? "" }
        }
        return map
    }

    /// Creates the queue, or returns the existing one's URL when its attributes match (SQS's own rule).
    public func createQueue(name: String, attributes: [String: String] = [:]) async throws -> String {
        let root = try await client.query("CreateQueue", [QueryItem("QueueName", name)] + Self.numbered("Attribute", attributes))
        guard let url = root.path("CreateQueueResult", "QueueUrl")?.text, !url.isEmpty else {
            throw AWSTransportError(reason: .malformedResponse, endpoint: client.endpoint.description,
                                    detail: "CreateQueue answered without a QueueUrl")
        }
        return url
    }

    public func getQueueUrl(name: String) async throws -> String {
        let root = try await client.query("GetQueueUrl", [QueryItem("QueueName", name)])
        return root.path("GetQueueUrlResult", "QueueUrl")?.text ?? ""
    }

    public func deleteQueue(url: String) async throws {
        _ = try await client.query("DeleteQueue", [QueryItem("QueueUrl", url)])
    }

    /// All attributes, or the named ones (QueueArn, ApproximateNumberOfMessages, Policy, ...).
    public func getQueueAttributes(url: String, names: [String] = ["All"]) async throws -> [String: String] {
        let items = names.enumerated().map { QueryItem("AttributeName.\($0.offset + 1)", $0.element) }
        let root = try await client.query("GetQueueAttributes", [QueryItem("QueueUrl", url)] + items)
        return Self.attributeMap(root.child("GetQueueAttributesResult"))
    }

    public func setQueueAttributes(url: String, attributes: [String: String]) async throws {
        _ = try await client.query("SetQueueAttributes", [QueryItem("QueueUrl", url)] + Self.numbered("Attribute", attributes))
    }

    /// Not idempotent: a repeat would deliver the message twice, so it is retried only when provably unsent.
    @discardableResult
    public func sendMessage(url: String, body: String) async throws -> String {
        let root = try await client.query("SendMessage", [QueryItem("QueueUrl", url), QueryItem("MessageBody", body)],
                                          isIdempotent: false)
        return root.path("SendMessageResult", "MessageId")?.text ?? ""
    }

    /// Long-polls up to `waitSeconds` (0...20) for up to `maxMessages` (1...10) messages. Each body is checked
    /// against the MD5 SQS sends with it.
    public func receiveMessages(url: String, maxMessages: Int = 10, waitSeconds: Int = 20,
                                visibilityTimeout: Int? = nil) async throws -> [SQSMessage] {
        var parameters = [
            QueryItem("QueueUrl", url),
            QueryItem("MaxNumberOfMessages", String(min(10, max(1, maxMessages)))),
            QueryItem("WaitTimeSeconds", String(min(20, max(0, waitSeconds)))),
            QueryItem("AttributeName.1", "All"),
        ]
        if let visibilityTimeout { parameters.append(QueryItem("VisibilityTimeout", String(visibilityTimeout))) }
        // The HTTP wait must outlast the long poll.
        let root = try await client.query("ReceiveMessage", parameters, timeout: Double(waitSeconds) + 15)
        var messages: [SQSMessage] = []
        for element in root.child("ReceiveMessageResult")?.children("Message") ?? [] {
            let body = element.string("Body") ?? ""
            if let expected = element.string("MD5OfBody"),
               Insecure.MD5.hash(data: Data(body.utf8)).map({ String(format: "%02x", $0) }).joined() != expected.lowercased() {
                throw AWSTransportError(reason: .malformedResponse, endpoint: client.endpoint.description,
                                        detail: "message \(element.string("MessageId") ?? "?") arrived with a body that does not match its MD5")
            }
            messages.append(SQSMessage(messageId: element.string("MessageId") ?? "",
                                       receiptHandle: element.string("ReceiptHandle") ?? "", body: body,
                                       attributes: Self.attributeMap(element)))
        }
        return messages
    }

    /// Deletes up to 10 messages per call (more are sent in several calls); returns those SQS refused.
    public func deleteMessageBatch(url: String, receiptHandles: [String]) async throws -> [SQSBatchFailure] {
        var failures: [SQSBatchFailure] = []
        var start = 0
        while start < receiptHandles.count {
            let batch = Array(receiptHandles[start..<min(receiptHandles.count, start + 10)])
            var parameters = [QueryItem("QueueUrl", url)]
            for (index, handle) in batch.enumerated() {
                parameters.append(QueryItem("DeleteMessageBatchRequestEntry.\(index + 1).Id", "m\(start + index)"))
                parameters.append(QueryItem("DeleteMessageBatchRequestEntry.\(index + 1).ReceiptHandle", handle))
            }
            start += batch.count
            let root = try await client.query("DeleteMessageBatch", parameters)
            for entry in root.child("DeleteMessageBatchResult")?.children("BatchResultErrorEntry") ?? [] {
                failures.append(SQSBatchFailure(id: entry.string("Id") ?? "", code: entry.string("Code") ?? "",
                                                message: entry.string("Message") ?? "",
                                                senderFault: entry.string("SenderFault") == "true"))
            }
        }
        return failures
    }
}
