import AWSCore
import AWSSecretsManager
import ClusterConfig
import Foundation
import SlurmHeadNode

/// `SlurmSettings.Database` on this machine: the password read from Secrets Manager (the endpoint the
/// environment names, as for every AWS call of the local provider: moto in the quick start and the tests,
/// AWS itself otherwise), and the slurmdbd settings that go with it.
package enum LocalAccounting {
    /// The accounting of a config, with the password to write into slurmdbd.conf; nil without a Database.
    /// Everything is checked before anything starts, so a bad URI or an unreadable secret leaves nothing made.
    package static func plan(
        _ config: ClusterConfiguration, clusterName: String, dbdPort: @autoclosure () throws -> Int,
        environment: [String: String]
    ) async throws -> (spec: AccountingSpec, password: String)? {
        guard let database = config.scheduling.database else { return nil }
        guard let endpoint = DatabaseURI.parse(database.uri).endpoint else {
            throw LocalClusterError("Scheduling/SlurmSettings/Database/Uri '\(database.uri)' names no database host (expected host:port)")
        }
        let password = try await password(secret: database.passwordSecretArn, environment: environment)
        let spec = AccountingSpec(
            storageHost: endpoint.host, storagePort: endpoint.port, storageUser: database.userName,
            databaseName: database.databaseName ?? AccountingSpec.defaultDatabaseName(clusterName: clusterName),
            passwordSecretArn: database.passwordSecretArn, dbdPort: try dbdPort())
        return (spec, password)
    }

    static func password(secret arn: String, environment: [String: String]) async throws -> String {
        let value: String
        do {
            let client = try SecretsManagerClient(settings: try LocalSharedStorage.settings(environment))
            value = try await client.secretString(arn)
        } catch {
            throw LocalClusterError("cannot read the database password from Scheduling/SlurmSettings/Database/PasswordSecretArn \(arn): \(error)")
        }
        if let problem = AccountingPassword.problem(value) {
            throw LocalClusterError("the database password in \(arn) cannot be used: \(problem)")
        }
        return value
    }
}
