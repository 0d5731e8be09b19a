import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

public struct InstanceMetadataError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Instance-role credentials from the EC2 instance metadata service, IMDSv2 (a session token first).
/// Refreshes five minutes before expiry; concurrent callers share one refresh; if a refresh fails while the
/// old credentials are still valid, the old ones are used, so a metadata hiccup does not fail a transfer.
public actor InstanceMetadataCredentialProvider: CredentialProvider {
    public let endpoint: String
    private let http: HTTPClient
    private let timeout: TimeAmount
    private let refreshMargin: TimeInterval
    private var cached: AWSCredentials?
    /// Callers waiting for the refresh in flight (nil when none is). Continuations rather than a shared
    /// unstructured Task: such a task would run on the global executor whatever executor the callers
    /// prefer, and a caller that blocks the global pool while waiting (a synchronous CLI path) would wait forever.
    private var waiters: [CheckedContinuation<AWSCredentials, any Error>]?
    /// How many times credentials were fetched; tests read it to see refreshes happen.
    public private(set) var fetchCount = 0

    public init(endpoint: String = "http://169.254.169.254", http: HTTPClient = AWSHTTP.shared,
                timeout: TimeAmount = .seconds(1), refreshMargin: TimeInterval = 300) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.http = http
        self.timeout = timeout
        self.refreshMargin = refreshMargin
    }

    public func credentials() async throws -> AWSCredentials {
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
        let token = try await sessionToken()
        var headers = HTTPHeaders()
        if let token { headers.add(name: "X-aws-ec2-metadata-token", value: token) }
        let base = "\(endpoint)/latest/meta-data/iam/security-credentials/"
        let roles = try await call("GET", base, headers: headers)
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw InstanceMetadataError(description: "the instance has no IAM role attached")
        }
        let document = try await call("GET", base + role, headers: headers)
        guard let object = try? JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any],
              let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
            throw InstanceMetadataError(description: "the credentials document for role '\(role)' is not valid JSON with AccessKeyId and SecretAccessKey")
        }
        if let code = object["Code"] as? String, code != "Success" {
            throw InstanceMetadataError(description: "the metadata service answered Code=\(code) for role '\(role)'")
        }
        let expiration = (object["Expiration"] as? String).flatMap(ISO8601.parse)
        return AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: object["Token"] as? String,
                              expiration: expiration, source: "instance role '\(role)'")
    }

    /// IMDSv2's token; nil when the service is IMDSv1-only (it answers 404 or 405 to the PUT).
    private func sessionToken() async throws -> String? {
        var headers = HTTPHeaders()
        headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "21600")
        do {
            return try await call("PUT", "\(endpoint)/latest/api/token", headers: headers)
        } catch let error as StatusError where error.status == 404 || error.status == 405 {
            return nil
        }
    }

    private struct StatusError: Error { let status: Int }

    private func call(_ method: String, _ url: String, headers: HTTPHeaders) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers = headers
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw InstanceMetadataError(description: "\(endpoint) did not answer within \(timeout.nanoseconds / 1_000_000) ms")
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
