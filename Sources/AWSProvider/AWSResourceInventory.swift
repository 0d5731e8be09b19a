import AWSCore
import AWSFSx
import AWSS3
import ClusterConfig
import Foundation

/// The resource validators' questions answered by AWS (or whatever AWS_ENDPOINT_URL points at): EC2 for
/// subnets, security groups, key pairs and images, FSx for file systems. Filters rather than ids in the
/// Describe calls, so a missing resource is an absent answer instead of an error that hides the others.
public struct AWSResourceInventory: ResourceInventory {
    /// The settings, or why they could not be resolved: that becomes each validator's "could not check"
    /// warning rather than a failure of the whole command.
    let resolved: Result<AWSSettings, SettingsProblem>

    struct SettingsProblem: Error, CustomStringConvertible { let description: String }

    public init(settings: AWSSettings) { resolved = .success(settings) }

    public init(lazy environment: [String: String], region: String? = nil) {
        do { resolved = .success(try AWSSettings.resolve(environment: environment, region: region)) } catch {
            resolved = .failure(SettingsProblem(description: "\(error)"))
        }
    }

    var settings: AWSSettings { get throws { try resolved.get() } }

    public var source: String { (try? resolved.get()).map { "AWS in \($0.region)" } ?? "AWS" }

    func ec2() throws -> AWSClient {
        try AWSClient(service: .ec2, settings: settings, wireProtocol: .ec2Query(version: "2016-11-15"))
    }

    static func filter(_ name: String, _ values: [String]) -> [QueryItem] {
        [QueryItem("Filter.1.Name", name)] + values.enumerated().map { QueryItem("Filter.1.Value.\($0.offset + 1)", $0.element) }
    }

    /// Items of an EC2 Describe answer (`<set><item>...`), following NextToken.
    func describe(_ action: String, _ parameters: [QueryItem], set: String) async throws -> [XMLElement] {
        let client = try ec2()
        var items: [XMLElement] = []
        var token: String?
        repeat {
            var query = parameters
            if let token { query.append(QueryItem("NextToken", token)) }
            let answer = try await client.query(action, query)
            items += answer.child(set)?.children("item") ?? []
            token = answer.string("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return items
    }

    public func subnetVpcs(_ ids: [String]) async throws -> [String: String]? {
        let items = try await describe("DescribeSubnets", Self.filter("subnet-id", ids), set: "subnetSet")
        return Dictionary(items.compactMap { item in item.string("subnetId").map { ($0, item.string("vpcId") ?? "") } }) { a, _ in a }
    }

    public func securityGroupVpcs(_ ids: [String]) async throws -> [String: String]? {
        let items = try await describe("DescribeSecurityGroups", Self.filter("group-id", ids), set: "securityGroupInfo")
        return Dictionary(items.compactMap { item in item.string("groupId").map { ($0, item.string("vpcId") ?? "") } }) { a, _ in a }
    }

    public func keyPairExists(_ name: String) async throws -> Bool? {
        let items = try await describe("DescribeKeyPairs", Self.filter("key-name", [name]), set: "keySet")
        return items.contains { $0.string("keyName") == name }
    }

    public func imageOs(_ id: String) async throws -> String?? {
        let items = try await describe("DescribeImages", Self.filter("image-id", [id]), set: "imagesSet")
        let tags = items.first { $0.string("imageId") == id }?.child("tagSet")?.children("item") ?? []
        return .some(tags.first { $0.string("key") == "parallelcluster:os" }?.string("value"))
    }

    public func imageArchitecture(_ id: String) async throws -> String?? {
        let items = try await describe("DescribeImages", Self.filter("image-id", [id]), set: "imagesSet")
        return .some(items.first { $0.string("imageId") == id }?.string("architecture"))
    }

    public func fileSystem(_ id: String) async throws -> FileSystemLookup? {
        let client = try FSxClient(settings: settings)
        return try await client.describe(id).map { .found(lifecycle: $0.lifecycle, subnetIds: $0.subnetIds) } ?? .notFound
    }

    /// Images whose name matches the pattern (`*` wildcards), of one owner ("amazon", "self" or an account).
    public func describeImages(namePattern: String, owner: String) async throws -> [(imageId: String, creationDate: String)] {
        let items = try await describe("DescribeImages", Self.filter("name", [namePattern]) + [QueryItem("Owner.1", owner)], set: "imagesSet")
        return items.compactMap { item in item.string("imageId").map { ($0, item.string("creationDate") ?? "") } }
    }

    public func instanceTypes(_ names: [String]) async throws -> [String: OfferedInstanceType]? {
        guard !names.isEmpty else { return [:] }
        let offered = try await describe(
            "DescribeInstanceTypeOfferings",
            [QueryItem("LocationType", "region")] + Self.filter("instance-type", names),
            set: "instanceTypeOfferingSet"
        ).compactMap { $0.string("instanceType") }
        guard !offered.isEmpty else { return [:] }
        let items = try await describe(
            "DescribeInstanceTypes",
            offered.enumerated().map { QueryItem("InstanceType.\($0.offset + 1)", $0.element) },
            set: "instanceTypeSet")
        var found: [String: OfferedInstanceType] = [:]
        for item in items {
            guard let name = item.string("instanceType") else { continue }
            found[name] = OfferedInstanceType(
                name: name, efaSupported: item.child("networkInfo")?.string("efaSupported") == "true",
                placementGroupStrategies: (item.child("placementGroupInfo")?.child("supportedStrategies")?.children("item") ?? []).map(\.text),
                architectures: (item.child("processorInfo")?.child("supportedArchitectures")?.children("item") ?? []).map(\.text))
        }
        return found
    }

    public func bucketExists(_ name: String) async throws -> Bool? {
        do {
            _ = try await S3Client(settings: settings).listObjectsV2(bucket: name, maxKeys: 1)
            return true
        } catch let error as AWSServiceError where ["NoSuchBucket", "NotFound"].contains(error.code) {
            return false
        }
    }
}
