import AWSCore
import AsyncHTTPClient

package struct CallerIdentity: Sendable, Equatable {
    package var account: String
    package var arn: String
    package var userId: String
}

/// STS over the AWS query protocol.
package final class STSClient: Sendable {
    package let client: AWSClient

    package init(settings: AWSSettings, http: HTTPClient = AWSHTTP.shared) throws(AWSConfigurationError) {
        client = try AWSClient(service: .sts, settings: settings, wireProtocol: .query(version: "2011-06-15"), http: http)
    }

    /// Who the credentials belong to; the cheapest way to prove that credentials and endpoint work.
    package func getCallerIdentity() async throws -> CallerIdentity {
        let root = try await client.query("GetCallerIdentity")
        let result = root.child("GetCallerIdentityResult")
        return CallerIdentity(
            account: result?.string("Account") ?? "", arn: result?.string("Arn") ?? "",
            userId: result?.string("UserId") ?? "")
    }
}
