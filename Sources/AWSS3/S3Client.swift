import AWSCore
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// S3 over REST-XML. Path-style addressing for custom endpoints (moto, MinIO) and for bucket names that
/// cannot be host names; virtual-hosted addressing on AWS.
package final class S3Client: Sendable {
    package let client: AWSClient

    package init(settings: AWSSettings, http: HTTPClient = AWSHTTP.shared) throws(AWSConfigurationError) {
        client = try AWSClient(service: .s3, settings: settings, wireProtocol: .restXML, http: http)
    }

    // MARK: Addressing

    struct Location {
        var path: String
        var hostPrefix: String?
    }

    func location(_ bucket: String, _ key: String? = nil) -> Location {
        let encodedKey = key.map { "/" + URLEncoding.encode($0, keepingSlash: true) } ?? "/"
        let hostSafe = bucket.range(of: "^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", options: .regularExpression) != nil
        if client.endpoint.isCustom || !hostSafe {
            return Location(path: "/\(URLEncoding.encode(bucket))\(key == nil ? "" : encodedKey)", hostPrefix: nil)
        }
        return Location(path: encodedKey, hostPrefix: bucket)
    }

    func request(
        _ operation: String, _ method: HTTPMethod, bucket: String, key: String? = nil,
        query: [QueryItem] = [], headers: HTTPHeaders = [:], body: ByteBuffer? = nil,
        signsPayload: Bool = true, isIdempotent: Bool = true
    ) -> AWSRequest {
        let place = location(bucket, key)
        return AWSRequest(
            operation: operation, method: method, path: place.path, query: query, headers: headers,
            body: body, signsPayload: signsPayload, isIdempotent: isIdempotent, hostPrefix: place.hostPrefix)
    }

    // MARK: Buckets

    package func createBucket(_ bucket: String) async throws {
        var body: ByteBuffer?
        if client.settings.region != "us-east-1" {
            var xml = XMLWriter()
            xml.open("CreateBucketConfiguration", namespace: "http://s3.amazonaws.com/doc/2006-03-01/")
            xml.element("LocationConstraint", client.settings.region)
            xml.close("CreateBucketConfiguration")
            body = ByteBuffer(string: xml.text)
        }
        _ = try await client.send(request("CreateBucket", .PUT, bucket: bucket, body: body))
    }

    package func deleteBucket(_ bucket: String) async throws {
        _ = try await client.send(request("DeleteBucket", .DELETE, bucket: bucket))
    }

    // MARK: Listing

    package func listObjectsV2(
        bucket: String, prefix: String? = nil, delimiter: String? = nil,
        continuationToken: String? = nil, startAfter: String? = nil,
        maxKeys: Int? = nil
    ) async throws -> S3ListPage {
        var query = [QueryItem("list-type", "2"), QueryItem("encoding-type", "url")]
        if let prefix { query.append(QueryItem("prefix", prefix)) }
        if let delimiter { query.append(QueryItem("delimiter", delimiter)) }
        if let continuationToken { query.append(QueryItem("continuation-token", continuationToken)) }
        if let startAfter { query.append(QueryItem("start-after", startAfter)) }
        if let maxKeys { query.append(QueryItem("max-keys", String(maxKeys))) }
        let root = try await client.send(request("ListObjectsV2", .GET, bucket: bucket, query: query)).xml()
        // encoding-type=url protects keys XML cannot carry; decode them as botocore does.
        let encoded = root.string("EncodingType") == "url"
        func decode(_ text: String) -> String { encoded ? URLEncoding.decode(text, plusIsSpace: true) : text }
        let objects = root.children("Contents").map { item in
            S3ObjectSummary(
                key: decode(item.string("Key") ?? ""),
                size: Int64(item.string("Size") ?? "") ?? 0,
                etag: item.string("ETag") ?? "",
                lastModified: item.string("LastModified").flatMap(HTTPDate.parse))
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0.string("Prefix").map(decode) }
        let truncated = root.string("IsTruncated") == "true"
        return S3ListPage(
            objects: objects, commonPrefixes: prefixes, isTruncated: truncated,
            nextContinuationToken: truncated ? root.string("NextContinuationToken") : nil)
    }

    /// Every page under `prefix`, one after another, handed to `page` as it arrives.
    package func listAllObjects(
        bucket: String, prefix: String? = nil, delimiter: String? = nil,
        page: (S3ListPage) async throws -> Void
    ) async throws {
        var token: String?
        repeat {
            let next = try await listObjectsV2(bucket: bucket, prefix: prefix, delimiter: delimiter, continuationToken: token)
            try await page(next)
            token = next.nextContinuationToken
            if next.isTruncated && token == nil {
                throw AWSTransportError(
                    reason: .malformedResponse, endpoint: client.endpoint.description,
                    detail: "ListObjectsV2 said IsTruncated without a NextContinuationToken")
            }
        } while token != nil
    }

    /// Convenience: all keys and common prefixes under `prefix`.
    package func listAllObjects(
        bucket: String, prefix: String? = nil, delimiter: String? = nil
    ) async throws
        -> (objects: [S3ObjectSummary], commonPrefixes: [String])
    {
        var objects: [S3ObjectSummary] = []
        var prefixes: [String] = []
        try await listAllObjects(bucket: bucket, prefix: prefix, delimiter: delimiter) { page in
            objects += page.objects
            prefixes += page.commonPrefixes
        }
        return (objects, prefixes)
    }

    // MARK: Objects

    package func headObject(bucket: String, key: String) async throws -> S3ObjectHead {
        let response = try await client.send(request("HeadObject", .HEAD, bucket: bucket, key: key))
        return Self.head(from: response.headers)
    }

    static func head(from headers: HTTPHeaders) -> S3ObjectHead {
        var metadata: [String: String] = [:]
        for header in headers where header.name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(header.name.lowercased().dropFirst("x-amz-meta-".count))] = header.value
        }
        var size = Int64(headers.first(name: "Content-Length") ?? "") ?? 0
        if let range = headers.first(name: "Content-Range"), let total = range.split(separator: "/").last, let value = Int64(total) {
            size = value
        }
        return S3ObjectHead(
            size: size, etag: headers.first(name: "ETag") ?? "",
            lastModified: headers.first(name: "Last-Modified").flatMap(HTTPDate.parse),
            contentType: headers.first(name: "Content-Type"), metadata: metadata)
    }

    /// The object (or the byte range, inclusive as HTTP's Range is) in memory. For large objects use `download`.
    package func getObject(
        bucket: String, key: String, range: ClosedRange<Int64>? = nil,
        maxBytes: Int = 256 << 20
    ) async throws -> (head: S3ObjectHead, body: Data) {
        var headers = HTTPHeaders()
        if let range { headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound)") }
        let response = try await client.send(
            request("GetObject", .GET, bucket: bucket, key: key, headers: headers),
            maxBody: maxBytes)
        return (Self.head(from: response.headers), response.data)
    }

    /// Streams the object (or range) chunk by chunk to `sink`, on the connection's thread as each chunk
    /// arrives (see `AWSClient.receive`: `sink` must be quick); memory stays at one chunk. Returns the head.
    @discardableResult
    package func getObject(
        bucket: String, key: String, range: ClosedRange<Int64>? = nil, ifMatch: String? = nil,
        sink: @escaping @Sendable (ByteBuffer) throws -> Void
    ) async throws -> S3ObjectHead {
        var headers = HTTPHeaders()
        if let range { headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound)") }
        if let ifMatch { headers.add(name: "If-Match", value: ifMatch) }
        let operation = request("GetObject", .GET, bucket: bucket, key: key, headers: headers)
        let answered = try await client.receive(operation, head: { _ in }) { chunk in
            try sink(chunk)
            return true
        }
        return Self.head(from: answered)
    }

    package func putObject(
        bucket: String, key: String, body: ByteBuffer, metadata: [String: String] = [:],
        contentType: String? = nil
    ) async throws -> String {
        var headers = Self.metadataHeaders(metadata)
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        // Large bodies go UNSIGNED-PAYLOAD so they are not hashed twice (once to sign, once by TCP/TLS).
        let signs = body.readableBytes <= 1 << 20
        let response = try await client.send(
            request(
                "PutObject", .PUT, bucket: bucket, key: key, headers: headers,
                body: body, signsPayload: signs))
        return response.headers.first(name: "ETag") ?? ""
    }

    package func putObject(
        bucket: String, key: String, data: Data, metadata: [String: String] = [:],
        contentType: String? = nil
    ) async throws -> String {
        try await putObject(bucket: bucket, key: key, body: ByteBuffer(data: data), metadata: metadata, contentType: contentType)
    }

    static func metadataHeaders(_ metadata: [String: String]) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            headers.add(name: "x-amz-meta-\(name.lowercased())", value: value)
        }
        return headers
    }

    /// Server-side copy; with `metadata` the destination's metadata is replaced (MetadataDirective REPLACE),
    /// which is also how an object's metadata is changed in place.
    package func copyObject(
        sourceBucket: String, sourceKey: String, bucket: String, key: String,
        metadata: [String: String]? = nil, contentType: String? = nil
    ) async throws -> String {
        var headers = metadata.map(Self.metadataHeaders) ?? HTTPHeaders()
        headers.add(name: "x-amz-copy-source", value: "/\(sourceBucket)/\(URLEncoding.encode(sourceKey, keepingSlash: true))")
        headers.add(name: "x-amz-metadata-directive", value: metadata == nil ? "COPY" : "REPLACE")
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        let response = try await client.send(request("CopyObject", .PUT, bucket: bucket, key: key, headers: headers))
        let root = try response.xml()
        if root.name == "Error" { throw embeddedError(root, operation: "CopyObject") }
        return root.string("ETag") ?? ""
    }

    package func deleteObject(bucket: String, key: String) async throws {
        _ = try await client.send(request("DeleteObject", .DELETE, bucket: bucket, key: key))
    }

    /// Deletes in batches of 1000 (the API's limit); returns the keys S3 refused, with its reasons.
    package func deleteObjects(bucket: String, keys: [String]) async throws -> [S3DeleteFailure] {
        var failures: [S3DeleteFailure] = []
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(keys.count, start + 1000)]
            start += batch.count
            var xml = XMLWriter()
            xml.open("Delete", namespace: "http://s3.amazonaws.com/doc/2006-03-01/")
            xml.element("Quiet", "true")
            for key in batch {
                xml.open("Object")
                xml.element("Key", key)
                xml.close("Object")
            }
            xml.close("Delete")
            let body = Data(xml.text.utf8)
            var headers = HTTPHeaders()
            headers.add(name: "Content-MD5", value: Data(Insecure.MD5.hash(data: body)).base64EncodedString())
            headers.add(name: "Content-Type", value: "application/xml")
            let response = try await client.send(
                request(
                    "DeleteObjects", .POST, bucket: bucket,
                    query: [QueryItem("delete", "")], headers: headers,
                    body: ByteBuffer(data: body)))
            let root = try response.xml()
            for error in root.children("Error") {
                failures.append(
                    S3DeleteFailure(
                        key: error.string("Key") ?? "", code: error.string("Code") ?? "",
                        message: error.string("Message") ?? ""))
            }
        }
        return failures
    }

    package func presignedGetURL(bucket: String, key: String, expires: Int = 3600) async throws -> String {
        let place = location(bucket, key)
        return try await client.presignedURL(method: .GET, path: place.path, hostPrefix: place.hostPrefix, expires: expires)
    }

    // MARK: Multipart

    package func createMultipartUpload(
        bucket: String, key: String, metadata: [String: String] = [:],
        contentType: String? = nil
    ) async throws -> String {
        var headers = Self.metadataHeaders(metadata)
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        // Not idempotent: a repeat would start a second upload that nobody completes or aborts.
        let response = try await client.send(
            request(
                "CreateMultipartUpload", .POST, bucket: bucket, key: key,
                query: [QueryItem("uploads", "")], headers: headers,
                isIdempotent: false))
        guard let id = try response.xml().string("UploadId"), !id.isEmpty else {
            throw AWSTransportError(
                reason: .malformedResponse, endpoint: client.endpoint.description,
                detail: "CreateMultipartUpload answered without an UploadId")
        }
        return id
    }

    package func uploadPart(bucket: String, key: String, uploadId: String, number: Int, body: ByteBuffer) async throws -> S3CompletedPart {
        let response = try await client.send(
            request(
                "UploadPart", .PUT, bucket: bucket, key: key,
                query: [QueryItem("partNumber", String(number)), QueryItem("uploadId", uploadId)],
                body: body, signsPayload: false))
        return S3CompletedPart(number: number, etag: response.headers.first(name: "ETag") ?? "")
    }

    package func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [S3CompletedPart]) async throws -> String {
        var xml = XMLWriter()
        xml.open("CompleteMultipartUpload", namespace: "http://s3.amazonaws.com/doc/2006-03-01/")
        for part in parts.sorted(by: { $0.number < $1.number }) {
            xml.open("Part")
            xml.element("PartNumber", String(part.number))
            xml.element("ETag", part.etag)
            xml.close("Part")
        }
        xml.close("CompleteMultipartUpload")
        let response = try await client.send(
            request(
                "CompleteMultipartUpload", .POST, bucket: bucket, key: key,
                query: [QueryItem("uploadId", uploadId)],
                body: ByteBuffer(string: xml.text)))
        // S3 can answer 200 and put the error in the body.
        let root = try response.xml()
        if root.name == "Error" { throw embeddedError(root, operation: "CompleteMultipartUpload") }
        return root.string("ETag") ?? ""
    }

    package func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        _ = try await client.send(
            request(
                "AbortMultipartUpload", .DELETE, bucket: bucket, key: key,
                query: [QueryItem("uploadId", uploadId)]))
    }

    /// Upload ids in progress under `prefix` (to find and abort what a crash left).
    package func listMultipartUploads(bucket: String, prefix: String? = nil) async throws -> [(key: String, uploadId: String)] {
        var query = [QueryItem("uploads", "")]
        if let prefix { query.append(QueryItem("prefix", prefix)) }
        let root = try await client.send(request("ListMultipartUploads", .GET, bucket: bucket, query: query)).xml()
        return root.children("Upload").map { ($0.string("Key") ?? "", $0.string("UploadId") ?? "") }
    }

    func embeddedError(_ root: XMLElement, operation: String) -> AWSServiceError {
        AWSServiceError(
            service: "S3", operation: operation, code: root.string("Code") ?? "InternalError",
            message: root.string("Message") ?? "", statusCode: 200, requestId: root.string("RequestId"))
    }

    // MARK: Notifications

    package func getBucketNotificationConfiguration(bucket: String) async throws -> S3NotificationConfiguration {
        let root = try await client.send(
            request(
                "GetBucketNotificationConfiguration", .GET, bucket: bucket,
                query: [QueryItem("notification", "")])
        ).xml()
        var configuration = S3NotificationConfiguration()
        for kind in [S3NotificationTarget.Kind.queue, .topic, .lambda] {
            for entry in root.children("\(kind.rawValue)Configuration") {
                var target = S3NotificationTarget(
                    kind: kind, id: entry.string("Id"), arn: entry.string(kind.rawValue) ?? "",
                    events: entry.children("Event").map(\.text))
                for rule in entry.path("Filter", "S3Key")?.children("FilterRule") ?? [] {
                    switch rule.string("Name")?.lowercased() {
                    case "prefix": target.prefix = rule.string("Value")
                    case "suffix": target.suffix = rule.string("Value")
                    default: break
                    }
                }
                configuration.targets.append(target)
            }
        }
        configuration.eventBridgeEnabled = root.child("EventBridgeConfiguration") != nil
        return configuration
    }

    /// Replaces the bucket's whole notification configuration (read, change, write back to add one target).
    package func putBucketNotificationConfiguration(bucket: String, _ configuration: S3NotificationConfiguration) async throws {
        var xml = XMLWriter()
        xml.open("NotificationConfiguration", namespace: "http://s3.amazonaws.com/doc/2006-03-01/")
        for kind in [S3NotificationTarget.Kind.topic, .queue, .lambda] {
            for target in configuration.targets where target.kind == kind {
                xml.open("\(kind.rawValue)Configuration")
                if let id = target.id { xml.element("Id", id) }
                xml.element(kind.rawValue, target.arn)
                for event in target.events { xml.element("Event", event) }
                if target.prefix != nil || target.suffix != nil {
                    xml.open("Filter")
                    xml.open("S3Key")
                    for (name, value) in [("prefix", target.prefix), ("suffix", target.suffix)] {
                        guard let value else { continue }
                        xml.open("FilterRule")
                        xml.element("Name", name)
                        xml.element("Value", value)
                        xml.close("FilterRule")
                    }
                    xml.close("S3Key")
                    xml.close("Filter")
                }
                xml.close("\(kind.rawValue)Configuration")
            }
        }
        if configuration.eventBridgeEnabled {
            xml.open("EventBridgeConfiguration")
            xml.close("EventBridgeConfiguration")
        }
        xml.close("NotificationConfiguration")
        _ = try await client.send(
            request(
                "PutBucketNotificationConfiguration", .PUT, bucket: bucket,
                query: [QueryItem("notification", "")], body: ByteBuffer(string: xml.text)))
    }
}
