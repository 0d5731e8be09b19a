import AWSCore
import AsyncHTTPClient

public struct CallerIdentity: Sendable, Equatable {
    public var account: String
    public var arn: String
    public var userId: String
}

/// STS over the AWS query protocol.
public final class STSClient: Sendable {
    public let client: AWSClient

    public init(settings: AWSSettings, http: HTTPClient = AWSHTTP.shared) throws(AWSConfigurationError) {
        client = try AWSClient(service: .sts, settings: settings, wireProtocol: .query(version: "2011-06-15"), http: http)
    }

    /// Who the credentials belong to; the cheapest way to prove that credentials and endpoint work.
    public func getCallerIdentity() async throws -> CallerIdentity {
        let root = try await client.query("GetCallerIdentity")
        let result = root.child("GetCallerIdentityResult")
        return CallerIdentity(
            account: result?.string("Account") ?? "", arn: result?.string("Arn") ?? "",
            userId: result?.string("UserId") ?? "")
    }
}
