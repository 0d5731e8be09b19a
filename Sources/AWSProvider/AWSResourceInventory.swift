import AWSCore
import AWSEC2
import AWSFSx
import AWSS3
import AWSSecretsManager
import ClusterConfig
import Foundation

/// The resource validators' questions answered by AWS (or whatever AWS_ENDPOINT_URL points at): EC2 for
/// subnets, security groups, key pairs and images, FSx for file systems. Filters rather than ids in the
/// Describe calls, so a missing resource is an absent answer instead of an error that hides the others.
package struct AWSResourceInventory: ResourceInventory {
    /// The settings, or why they could not be resolved: that becomes each validator's "could not check"
    /// warning rather than a failure of the whole command.
    let resolved: Result<AWSSettings, SettingsProblem>

    struct SettingsProblem: Error, CustomStringConvertible { let description: String }

    package init(settings: AWSSettings) { resolved = .success(settings) }

    package init(lazy environment: [String: String], region: String? = nil) {
        do { resolved = .success(try AWSSettings.resolve(environment: environment, region: region)) } catch {
            resolved = .failure(SettingsProblem(description: "\(error)"))
        }
    }

    var settings: AWSSettings { get throws { try resolved.get() } }

    package var source: String { (try? resolved.get()).map { "AWS in \($0.region)" } ?? "AWS" }

    func ec2() throws -> EC2Client { try EC2Client(settings: settings) }

    package func subnetVpcs(_ ids: [String]) async throws -> [String: String]? {
        try await ec2().subnetVpcs(ids: ids)
    }

    package func securityGroupVpcs(_ ids: [String]) async throws -> [String: String]? {
        try await ec2().securityGroupVpcs(ids: ids)
    }

    package func keyPairExists(_ name: String) async throws -> Bool? {
        try await ec2().keyPairNames(filters: [EC2Filter("key-name", [name])]).contains(name)
    }

    package func imageTags(_ id: String) async throws -> [String: String]?? {
        .some(try await ec2().describeImages(filters: [EC2Filter("image-id", [id])]).first { $0.imageId == id }?.tags)
    }

    package func imageArchitecture(_ id: String) async throws -> String?? {
        .some(try await ec2().describeImages(filters: [EC2Filter("image-id", [id])]).first { $0.imageId == id }?.architecture)
    }

    package func fileSystem(_ id: String) async throws -> FileSystemLookup? {
        let client = try FSxClient(settings: settings)
        return try await client.describe(id).map { .found(lifecycle: $0.lifecycle, subnetIds: $0.subnetIds) } ?? .notFound
    }

    /// Images whose name matches the pattern (`*` wildcards), of one owner ("amazon", "self" or an account).
    package func describeImages(namePattern: String, owner: String) async throws -> [(imageId: String, creationDate: String)] {
        try await ec2().describeImages(filters: [EC2Filter("name", [namePattern])], owners: [owner]).map { ($0.imageId, $0.creationDate) }
    }

    package func instanceTypes(_ names: [String]) async throws -> [String: OfferedInstanceType]? {
        guard !names.isEmpty else { return [:] }
        let client = try ec2()
        let offered = try await client.offeredInstanceTypes(names)
        guard !offered.isEmpty else { return [:] }
        var found: [String: OfferedInstanceType] = [:]
        for type in try await client.describeInstanceTypes(offered) {
            found[type.name] = OfferedInstanceType(
                name: type.name, efaSupported: type.efaSupported, placementGroupStrategies: type.placementGroupStrategies,
                architectures: type.architectures)
        }
        return found
    }

    package func bucketExists(_ name: String) async throws -> Bool? {
        do {
            _ = try await S3Client(settings: settings).listObjectsV2(bucket: name, maxKeys: 1)
            return true
        } catch let error as AWSServiceError where ["NoSuchBucket", "NotFound"].contains(error.code) {
            return false
        }
    }

    package func secret(_ arn: String) async throws -> SecretLookup? {
        switch try await SecretsManagerClient(settings: settings).state(of: arn) {
        case .readable: return .readable
        case .notFound: return .notFound
        case .accessDenied: return .accessDenied
        case .failed(let code): return .failed(code)
        }
    }
}
