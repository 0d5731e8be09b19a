import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// How a service frames requests and errors.
package enum AWSWireProtocol: Sendable, Equatable {
    /// Form-encoded Action/Version bodies, XML answers, `<ErrorResponse><Error>` errors (STS, SQS, IAM, CloudFormation).
    case query(version: String)
    /// The same framing with EC2's `<Response><Errors><Error>` errors.
    case ec2Query(version: String)
    /// Method, path, query and headers carry the call; XML bodies; `<Error>` errors (S3).
    case restXML
    /// POST / with X-Amz-Target and a JSON body; `__type` errors. Version "1.1" (FSx) or "1.0" (SQS).
    case json(version: String, targetPrefix: String)

    package static func json11(targetPrefix: String) -> AWSWireProtocol { .json(version: "1.1", targetPrefix: targetPrefix) }
}

package struct AWSRequest: Sendable {
    package var operation: String
    package var method: HTTPMethod
    /// Percent-encoded path below the endpoint's base path, starting with "/".
    package var path: String
    package var query: [QueryItem]
    package var headers: HTTPHeaders
    package var body: ByteBuffer?
    /// False sends UNSIGNED-PAYLOAD (S3 only), so large bodies are not hashed before they are sent.
    package var signsPayload: Bool
    /// Whether sending it twice is harmless. A call that is not is retried only when the service provably
    /// did not act on it (it was never sent, or the service answered that it throttled the call).
    package var isIdempotent: Bool
    /// Prepended to the endpoint host (virtual-hosted S3 buckets).
    package var hostPrefix: String?
    /// Per-attempt time limit; the settings' requestTimeout when nil.
    package var timeout: Double?

    package init(
        operation: String, method: HTTPMethod = .POST, path: String = "/", query: [QueryItem] = [],
        headers: HTTPHeaders = [:], body: ByteBuffer? = nil, signsPayload: Bool = true,
        isIdempotent: Bool = true, hostPrefix: String? = nil, timeout: Double? = nil
    ) {
        self.operation = operation
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.signsPayload = signsPayload
        self.isIdempotent = isIdempotent
        self.hostPrefix = hostPrefix
        self.timeout = timeout
    }
}

package struct AWSResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: ByteBuffer

    package func xml() throws -> XMLElement { try XMLElement.parse(Data(buffer: body)) }
    package var data: Data { Data(buffer: body) }
}

/// One service at one endpoint: signs, sends, decodes errors, retries. Service clients are thin layers over it.
package final class AWSClient: Sendable {
    package let service: AWSServiceID
    package let settings: AWSSettings
    package let endpoint: AWSEndpoint
    package let wireProtocol: AWSWireProtocol
    package let http: HTTPClient
    /// Where `receive` streams large bodies; see `AWSHTTP.transfers`.
    package let transfers: HTTPClient
    let logger: Logger

    package init(
        service: AWSServiceID, settings: AWSSettings, wireProtocol: AWSWireProtocol,
        http: HTTPClient = AWSHTTP.shared, transfers: HTTPClient = AWSHTTP.transfers
    ) throws(AWSConfigurationError) {
        self.service = service
        self.settings = settings
        self.endpoint = try settings.endpoint(for: service)
        self.wireProtocol = wireProtocol
        self.http = http
        self.transfers = transfers
        var logger = Logger(label: "aws.\(service.signingName)")
        logger.logLevel = settings.environment["PCLUSTER_AWS_DEBUG"] == nil ? .warning : .trace
        self.logger = logger
    }

    package var serviceName: String {
        switch service.signingName {
        case "s3": return "S3"
        case "sqs": return "SQS"
        case "sts": return "STS"
        case "iam": return "IAM"
        case "ec2": return "EC2"
        case "fsx": return "FSx"
        case "cloudformation": return "CloudFormation"
        case "secretsmanager": return "Secrets Manager"
        default: return service.signingName
        }
    }

    // MARK: Sending

    /// Sends the request (retrying as the policy allows) and returns the whole answer, at most `maxBody` bytes.
    /// The answer is gathered on the connection's thread (see `receive`), so a call costs its task one
    /// resumption rather than one per step of the answer.
    package func send(_ request: AWSRequest, maxBody: Int = 64 << 20) async throws -> AWSResponse {
        try await withRetries(request) {
            let body = Mutex(ByteBuffer())
            let receiver = BodyReceiver(
                notModifiedIsAnswer: request.method == .GET, head: { _ in },
                chunk: { [endpoint] chunk in
                    try body.withLock { gathered in
                        guard gathered.readableBytes + chunk.readableBytes <= maxBody else {
                            throw AWSTransportError(
                                reason: .malformedResponse, endpoint: endpoint.description,
                                detail: "\(request.operation)'s answer is larger than \(maxBody) bytes")
                        }
                        var chunk = chunk
                        gathered.writeBuffer(&chunk)
                    }
                    return true
                })
            let (status, headers) = try await self.receiveOnce(request, into: receiver, through: self.http, timeLimitCoversBody: true)
            return AWSResponse(status: status, headers: headers, body: body.withLock { $0 })
        }
    }

    /// A presigned GET/PUT URL that any HTTP client can use for `expires` seconds.
    package func presignedURL(
        method: HTTPMethod, path: String, query: [QueryItem] = [], hostPrefix: String? = nil,
        expires: Int = 3600
    ) async throws -> String {
        let credentials = try await settings.credentials.credentials()
        let signer = SigV4Signer(credentials: credentials, region: settings.region, service: service.signingName)
        let host = hostPrefix.map { "\($0).\(endpoint.hostHeader)" } ?? endpoint.hostHeader
        let fullPath = endpoint.basePath + path
        let signable = SignableRequest(method: method.rawValue, host: host, path: fullPath, query: query)
        return "\(endpoint.scheme)://\(host)\(fullPath)?\(signer.presignedQuery(signable, expires: expires))"
    }

    /// The request as it goes on the wire: its URL and its signed headers.
    func signed(_ request: AWSRequest) async throws -> (url: String, headers: HTTPHeaders) {
        let credentials = try await settings.credentials.credentials()
        let signer = SigV4Signer(credentials: credentials, region: settings.region, service: service.signingName)
        let host = request.hostPrefix.map { "\($0).\(endpoint.hostHeader)" } ?? endpoint.hostHeader
        let connectHost = request.hostPrefix.map { "\($0).\(endpoint.host)" } ?? endpoint.host
        let fullPath = endpoint.basePath + (request.path.isEmpty ? "/" : request.path)
        var signable = SignableRequest(
            method: request.method.rawValue, host: host, path: fullPath, query: request.query,
            headers: request.headers.map { ($0.name, $0.value) })
        let payload: PayloadHash
        if let body = request.body, body.readableBytes > 0 {
            payload = request.signsPayload ? .of(body.readableBytesView) : .unsigned
        } else {
            payload = request.signsPayload ? .empty : .unsigned
        }
        signer.sign(&signable, payload: payload)

        let queryString = request.query.isEmpty ? "" : "?" + URLEncoding.queryString(request.query)
        let portPart = endpoint.port == (endpoint.isTLS ? 443 : 80) ? "" : ":\(endpoint.port)"
        let hostPart = connectHost.contains(":") ? "[\(connectHost)]" : connectHost
        var headers = HTTPHeaders()
        for (name, value) in signable.headers where name.lowercased() != "host" {
            headers.add(name: name, value: value)
        }
        logger.trace("\(request.method.rawValue) \(fullPath)\(queryString) [\(request.operation)]")
        return ("\(endpoint.scheme)://\(hostPart)\(portPart)\(fullPath)\(queryString)", headers)
    }

    // MARK: Retries

    func withRetries<T: Sendable>(_ request: AWSRequest, _ attempt: @Sendable () async throws -> T) async throws -> T {
        let policy = settings.retry
        var number = 1
        while true {
            do {
                return try await attempt()
            } catch {
                guard number < policy.maxAttempts, Self.mayRetry(error, idempotent: request.isIdempotent) else {
                    if var transport = error as? AWSTransportError {
                        transport.attempts = number
                        throw transport
                    }
                    throw error
                }
                let delay = policy.delay(beforeRetry: number)
                logger.debug("retrying \(request.operation) after \(error) in \(delay) s")
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                number += 1
            }
        }
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    ]
    static let transientCodes: Set<String> = ["RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable"]

    /// Throttling answers and a never-sent request are safe to repeat for any call; server errors, timeouts
    /// and broken connections only for idempotent calls, since the service may already have acted.
    static func mayRetry(_ error: any Error, idempotent: Bool) -> Bool {
        if let service = error as? AWSServiceError {
            if throttlingCodes.contains(service.code) || service.statusCode == 429 { return true }
            guard idempotent else { return false }
            return transientCodes.contains(service.code) || [500, 502, 503, 504].contains(service.statusCode)
        }
        if let transport = error as? AWSTransportError {
            switch transport.reason {
            case .unreachable: return true
            case .timedOut, .connectionLost: return idempotent
            case .malformedResponse: return false
            }
        }
        return false
    }

    func transportError(_ error: any Error, timeout: Double) -> any Error {
        if error is AWSTransportError || error is AWSServiceError || error is AWSConfigurationError || error is CancellationError {
            return error
        }
        let text = String(describing: error)
        let place = endpoint.description
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout:
                return AWSTransportError(reason: .unreachable, endpoint: place, detail: "connecting timed out")
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return AWSTransportError(reason: .timedOut, endpoint: place, detail: "no answer within \(Int(timeout)) s")
            case .remoteConnectionClosed:
                return AWSTransportError(reason: .connectionLost, endpoint: place, detail: "the server closed the connection")
            case .invalidURL, .emptyHost, .emptyScheme:
                return AWSTransportError(reason: .unreachable, endpoint: place, detail: "the URL is not usable (\(text))")
            default:
                break
            }
        }
        if text.contains("onnection refused") || text.contains("connectionRefused") || text.contains("ECONNREFUSED") {
            return AWSTransportError(reason: .unreachable, endpoint: place, detail: "connection refused")
        }
        if text.contains("NIOConnectionError") || text.contains("ENETUNREACH") || text.contains("EHOSTUNREACH")
            || text.lowercased().contains("resolve") || text.contains("dnsAAAAError") || text.contains("dnsAError")
        {
            return AWSTransportError(reason: .unreachable, endpoint: place, detail: "cannot connect (\(text))")
        }
        if text.contains("ECONNRESET") || text.contains("Connection reset") || text.contains("EPIPE") || text.contains("uncleanShutdown") {
            return AWSTransportError(reason: .connectionLost, endpoint: place, detail: "connection reset")
        }
        return AWSTransportError(reason: .connectionLost, endpoint: place, detail: text)
    }

    // MARK: Error documents

    func decodeError(status: Int, headers: HTTPHeaders, body: ByteBuffer, operation: String) -> AWSServiceError {
        let data = Data(buffer: body)
        var code: String?
        var message: String?
        var requestId = headers.first(name: "x-amz-request-id") ?? headers.first(name: "x-amzn-RequestId")
        switch wireProtocol {
        case .json:
            if let header = headers.first(name: "x-amzn-query-error"), let compatible = header.split(separator: ";").first {
                // Services that moved from the query protocol keep their old error codes here.
                code = String(compatible)
            }
            if code == nil, let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
                code = (object["__type"] as? String) ?? (object["code"] as? String)
                message = (object["message"] as? String) ?? (object["Message"] as? String)
            }
            if code == nil, let header = headers.first(name: "x-amzn-ErrorType") { code = header }
            if let raw = code {
                code = String(raw.split(separator: ":").first ?? Substring(raw))
                if let hash = code?.lastIndex(of: "#") { code = String(code![code!.index(after: hash)...]) }
            }
        case .query, .ec2Query, .restXML:
            if !data.isEmpty, let root = try? XMLElement.parse(data) {
                let error = root.name == "Error" ? root : (root.path("Errors", "Error") ?? root.child("Error"))
                code = error?.string("Code")
                message = error?.string("Message")
                requestId = root.string("RequestId") ?? root.string("RequestID") ?? error?.string("RequestId") ?? requestId
            }
        }
        if code == nil {
            switch status {
            case 304: code = "NotModified"
            case 400: code = "BadRequest"
            case 403: code = "Forbidden"
            case 404: code = "NotFound"
            case 412: code = "PreconditionFailed"
            default: code = "HTTP\(status)"
            }
            if message == nil, !data.isEmpty {
                message = String(decoding: data.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return AWSServiceError(
            service: serviceName, operation: operation, code: code ?? "Unknown",
            message: message ?? "", statusCode: status, requestId: requestId)
    }

    // MARK: Protocol helpers

    /// An AWS-query or EC2-query call; returns the parsed answer document.
    package func query(
        _ action: String, _ parameters: [QueryItem] = [], isIdempotent: Bool = true,
        timeout: Double? = nil
    ) async throws -> XMLElement {
        let version: String
        switch wireProtocol {
        case .query(let v), .ec2Query(let v): version = v
        default: preconditionFailure("query() on a \(wireProtocol) client")
        }
        let form = URLEncoding.queryString([QueryItem("Action", action), QueryItem("Version", version)] + parameters)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        let request = AWSRequest(
            operation: action, method: .POST, path: "/", headers: headers,
            body: ByteBuffer(string: form), isIdempotent: isIdempotent, timeout: timeout)
        let response = try await send(request)
        do {
            return try response.xml()
        } catch {
            throw AWSTransportError(
                reason: .malformedResponse, endpoint: endpoint.description,
                detail: "\(action) answered with \(error)")
        }
    }

    /// A JSON 1.0 / 1.1 call; `body` and the answer are JSON documents.
    package func json(_ operation: String, _ body: Data, isIdempotent: Bool = true, timeout: Double? = nil) async throws -> Data {
        guard case .json(let version, let prefix) = wireProtocol else { preconditionFailure("json() on a \(wireProtocol) client") }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-amz-json-\(version)")
        headers.add(name: "X-Amz-Target", value: "\(prefix).\(operation)")
        let request = AWSRequest(
            operation: operation, method: .POST, path: "/", headers: headers,
            body: ByteBuffer(data: body), isIdempotent: isIdempotent, timeout: timeout)
        return try await send(request).data
    }

    /// A JSON call with Codable input and output.
    package func json<Input: Encodable, Output: Decodable>(
        _ operation: String, _ input: Input, as output: Output.Type,
        isIdempotent: Bool = true, timeout: Double? = nil
    ) async throws -> Output {
        let data = try await json(operation, try JSONEncoder().encode(input), isIdempotent: isIdempotent, timeout: timeout)
        do {
            return try JSONDecoder().decode(Output.self, from: data.isEmpty ? Data("{}".utf8) : data)
        } catch {
            throw AWSTransportError(
                reason: .malformedResponse, endpoint: endpoint.description,
                detail: "\(operation) answered with JSON that does not match its shape (\(error))")
        }
    }
}
