import AWSCore
import Foundation

/// Repositories with the AWS CLI's settings: S3 (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for a local S3,
/// credentials from the environment or profile), or a local directory. What `fsx-admin` and `fsxd` use.
package struct EnvironmentRepositories: RepositoryFactory {
    package init() {}

    package func repository(for location: RepositoryLocation) throws -> any DataRepository {
        switch location.scheme {
        case .file: return LocalDirectoryRepository(root: location.root)
        case .s3: return try S3Repository(bucket: location.root, settings: try AWSSettings.resolve())
        }
    }
}
