import ClusterConfig
import Foundation

/// What the commands need of the providers a build has, so the CLI knows no provider by type: the provider
/// of a kind, what its resource validators ask, and the CloudFormation template the AWS provider deploys
/// (create-cluster --dryrun --template-output). The `pcluster` executable passes the standard directory;
/// tests may pass their own.
package protocol ProviderDirectory: Sendable {
    func provider(_ kind: ProviderKind, environment: [String: String], store: ClusterStore, region: String?) -> any ClusterProvider
    /// nil: the provider has no resource validators yet.
    func inventory(_ kind: ProviderKind, environment: [String: String], region: String?) -> (any ResourceInventory)?
    func cloudFormationTemplate(clusterName: String, config: ClusterConfiguration) throws -> String
    /// The region the user's AWS configuration names (environment, then profile), as the original's
    /// `boto3.Session().region_name`; nil when none does.
    func configuredRegion(environment: [String: String]) -> String?
}

extension ProviderDirectory {
    package func configuredRegion(environment: [String: String]) -> String? {
        environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"]
    }
}

/// How long a provider's work takes, for the commands that wait on it: a local cluster is up in seconds, an
/// AWS stack in minutes.
package struct StatusPolling: Sendable, Equatable {
    /// How long --wait waits for a creation before giving up.
    package var timeout: TimeInterval
    /// The first interval between polls; each later one is 1.5 times longer, up to `longest`.
    package var first: TimeInterval
    package var longest: TimeInterval

    package init(timeout: TimeInterval, first: TimeInterval, longest: TimeInterval) {
        self.timeout = timeout
        self.first = first
        self.longest = longest
    }

    /// The interval after `delay`.
    package func next(after delay: TimeInterval) -> TimeInterval { min(delay * 1.5, longest) }
}
