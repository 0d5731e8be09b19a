import AWSSecretsManager
import ClusterConfig
import Foundation
import SlurmHeadNode

/// `SlurmSettings.Database` on this machine: the password is read from Secrets Manager at the endpoint the
/// environment names, as every AWS call of the local provider is (moto in the quick start and the tests, AWS
/// itself otherwise).
package enum LocalAccounting {
    package static func plan(
        _ config: ClusterConfiguration, clusterName: String, dbdPort: () throws -> Int, environment: [String: String]
    ) async throws -> (spec: AccountingSpec, password: String)? {
        try await AccountingSpec.plan(config, clusterName: clusterName, dbdPort: dbdPort) { arn in
            try await SecretsManagerClient(settings: try LocalSharedStorage.settings(environment)).secretString(arn)
        }
    }
}
