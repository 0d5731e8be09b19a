import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

package struct InstanceMetadataError: Error, Sendable, CustomStringConvertible {
    package var description: String
}

/// Instance-role credentials from the EC2 instance metadata service, IMDSv2 (a session token first).
/// Refreshes five minutes before expiry; concurrent callers share one refresh; if a refresh fails while the
/// old credentials are still valid, the old ones are used, so a metadata hiccup does not fail a transfer.
package actor InstanceMetadataCredentialProvider: CredentialProvider {
    package var endpoint: String { metadata.endpoint }
    private let metadata: InstanceMetadataClient
    private let refreshMargin: TimeInterval
    private var cached: AWSCredentials?
    /// Callers waiting for the refresh in flight (nil when none is). Continuations rather than a shared
    /// unstructured Task: such a task would run on the global executor whatever executor the callers
    /// prefer, and a caller that blocks the global pool while waiting (a synchronous CLI path) would wait forever.
    private var waiters: [CheckedContinuation<AWSCredentials, any Error>]?
    /// How many times credentials were fetched; tests read it to see refreshes happen.
    package private(set) var fetchCount = 0

    package init(
        endpoint: String = InstanceMetadataClient.defaultEndpoint, http: HTTPClient = AWSHTTP.shared,
        timeout: TimeAmount = .seconds(1), refreshMargin: TimeInterval = 300
    ) {
        self.metadata = InstanceMetadataClient(endpoint: endpoint, http: http, timeout: timeout)
        self.refreshMargin = refreshMargin
    }

    package func credentials() async throws -> AWSCredentials {
        if let cached, !cached.isExpired(margin: refreshMargin) { return cached }
        if waiters != nil {
            return try await withCheckedThrowingContinuation { waiters?.append($0) }
        }
        waiters = []
        let outcome: Result<AWSCredentials, any Error>
        do {
            let fresh = try await fetch()
            cached = fresh
            outcome = .success(fresh)
        } catch {
            if let cached, !cached.isExpired() { outcome = .success(cached) } else { outcome = .failure(error) }
        }
        let waiting = waiters ?? []
        waiters = nil
        for waiter in waiting { waiter.resume(with: outcome) }
        return try outcome.get()
    }

    private func fetch() async throws -> AWSCredentials {
        fetchCount += 1
        let session = try await metadata.session()
        let base = "meta-data/iam/security-credentials/"
        let roles = try await session.read(base)
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw InstanceMetadataError(description: "the instance has no IAM role attached")
        }
        let document = try await session.read(base + role)
        guard let object = try? JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any],
            let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String
        else {
            throw InstanceMetadataError(
                description: "the credentials document for role '\(role)' is not valid JSON with AccessKeyId and SecretAccessKey")
        }
        if let code = object["Code"] as? String, code != "Success" {
            throw InstanceMetadataError(description: "the metadata service answered Code=\(code) for role '\(role)'")
        }
        let expiration = (object["Expiration"] as? String).flatMap(ISO8601.parse)
        return AWSCredentials(
            accessKeyId: key, secretAccessKey: secret, sessionToken: object["Token"] as? String,
            expiration: expiration, source: "instance role '\(role)'")
    }
}

/// The EC2 instance metadata service, IMDSv2: a session token first, then reads with it. A service that
/// is IMDSv1-only (it answers 404 or 405 to the token request) is read without one.
package struct InstanceMetadataClient: Sendable {
    package static let defaultEndpoint = "http://169.254.169.254"
    package let endpoint: String
    let http: HTTPClient
    let timeout: TimeAmount

    package init(
        endpoint: String = InstanceMetadataClient.defaultEndpoint, http: HTTPClient = AWSHTTP.shared,
        timeout: TimeAmount = .seconds(1)
    ) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.http = http
        self.timeout = timeout
    }

    /// The endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT names and the time limit AWS_METADATA_SERVICE_TIMEOUT
    /// sets, as the AWS SDKs read them (a limit that is not a number keeps the default).
    package init(environment: [String: String]) {
        self.init(
            endpoint: environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? Self.defaultEndpoint,
            timeout: (try? Self.timeout(environment)) ?? .seconds(1))
    }

    /// AWS_METADATA_SERVICE_TIMEOUT: seconds per request to the instance metadata service, 1 by default.
    package static func timeout(_ environment: [String: String]) throws(AWSConfigurationError) -> TimeAmount {
        guard let text = environment["AWS_METADATA_SERVICE_TIMEOUT"] else { return .seconds(1) }
        guard let seconds = Double(text), seconds > 0, seconds <= 3600 else {
            throw .invalidSetting(setting: "AWS_METADATA_SERVICE_TIMEOUT", value: text, reason: "it must be a number of seconds above 0")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    /// Reads under /latest/ with a session token of its own ("meta-data/local-ipv4").
    package func read(_ path: String) async throws -> String {
        try await session().read(path)
    }

    package func session() async throws -> Session {
        var headers = HTTPHeaders()
        headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "21600")
        do {
            return Session(client: self, token: try await call("PUT", "\(endpoint)/latest/api/token", headers: headers))
        } catch let error as StatusError where error.status == 404 || error.status == 405 {
            return Session(client: self, token: nil)
        }
    }

    /// Reads that share one session token.
    package struct Session: Sendable {
        let client: InstanceMetadataClient
        let token: String?

        package func read(_ path: String) async throws -> String {
            var headers = HTTPHeaders()
            if let token { headers.add(name: "X-aws-ec2-metadata-token", value: token) }
            return try await client.call("GET", "\(client.endpoint)/latest/\(path)", headers: headers)
        }
    }

    struct StatusError: Error { let status: Int }

    func call(_ method: String, _ url: String, headers: HTTPHeaders) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers = headers
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw InstanceMetadataError(description: "\(endpoint) did not answer within \(timeout.nanoseconds / 1_000_000) ms")
        } catch {
            throw InstanceMetadataError(description: "\(endpoint) did not answer (\(error))")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200 else {
            if method == "PUT" && (response.status.code == 404 || response.status.code == 405) {
                throw StatusError(status: Int(response.status.code))
            }
            throw InstanceMetadataError(description: "\(method) \(url) answered HTTP \(response.status.code)")
        }
        return String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

enum ISO8601 {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
