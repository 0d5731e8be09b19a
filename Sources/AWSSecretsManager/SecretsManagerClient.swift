import AWSCore
import Foundation

/// The two Secrets Manager calls a cluster needs: whether a secret exists (the original's
/// PasswordSecretArnValidator asks DescribeSecret) and its value (the Slurm database password the head node
/// writes into slurmdbd.conf). AWS JSON 1.1, as botocore speaks it.
package final class SecretsManagerClient: Sendable {
    package let client: AWSClient

    package init(settings: AWSSettings) throws(AWSConfigurationError) {
        client = try AWSClient(service: .secretsManager, settings: settings, wireProtocol: .json11(targetPrefix: "secretsmanager"))
    }

    struct SecretId: Encodable { var SecretId: String }
    struct Description: Decodable { var ARN: String?; var Name: String? }
    struct Value: Decodable { var SecretString: String?; var SecretBinary: String? }

    /// The secret's ARN; throws the service's ResourceNotFoundException (and AccessDenied...) as they come.
    package func describeSecret(_ id: String) async throws -> String {
        try await client.json("DescribeSecret", SecretId(SecretId: id), as: Description.self).ARN ?? id
    }

    package enum State: Sendable, Equatable {
        case readable, notFound, accessDenied
        case failed(code: String)
    }

    /// DescribeSecret's answer as the original's validator sorts it; transport failures are thrown.
    package func state(of id: String) async throws -> State {
        do {
            _ = try await describeSecret(id)
            return .readable
        } catch let error as AWSServiceError {
            switch error.code {
            case "ResourceNotFoundException": return .notFound
            case "AccessDeniedException": return .accessDenied
            default: return .failed(code: error.code)
            }
        }
    }

    /// The secret's current string. A binary secret is refused: a password is text.
    package func secretString(_ id: String) async throws -> String {
        let value = try await client.json("GetSecretValue", SecretId(SecretId: id), as: Value.self)
        guard let text = value.SecretString else {
            throw SecretValueError(secret: id, reason: value.SecretBinary == nil ? "it has no value" : "it holds binary data, not a string")
        }
        return text
    }
}

package struct SecretValueError: Error, CustomStringConvertible, Sendable {
    package var secret: String
    package var reason: String
    package var description: String { "cannot use the secret \(secret) as a password: \(reason)" }
}
