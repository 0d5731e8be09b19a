import AWSCore
import AsyncHTTPClient
import Foundation

/// EC2 over its query protocol: the calls the providers and their validators make, typed. Describe calls
/// follow NextToken to the end.
package struct EC2Client: Sendable {
    package let client: AWSClient

    package init(settings: AWSSettings, http: HTTPClient = AWSHTTP.shared) throws(AWSConfigurationError) {
        client = try AWSClient(service: .ec2, settings: settings, wireProtocol: .ec2Query(version: "2016-11-15"), http: http)
    }

    // MARK: Instances

    /// Launches instances; returns their ids in launch order. Each call carries a ClientToken of its own (as
    /// the AWS SDKs fill in), so EC2 launches once however often the call is retried: a 500 or a lost
    /// connection is retried like any idempotent call instead of failing the launch.
    package func runInstances(_ request: RunInstancesRequest) async throws -> [String] {
        let items = request.queryItems + [QueryItem("ClientToken", UUID().uuidString)]
        let answer = try await client.query("RunInstances", items, isIdempotent: true)
        return (answer.child("instancesSet")?.children("item") ?? []).compactMap { $0.string("instanceId") }
    }

    package func createFleet(_ request: CreateFleetRequest) async throws -> CreateFleetResult {
        let answer = try await client.query("CreateFleet", request.queryItems + [QueryItem("ClientToken", UUID().uuidString)], isIdempotent: true)
        let ids = (answer.child("fleetInstanceSet")?.children("item") ?? []).flatMap { item in
            (item.child("instanceIds")?.children("item") ?? []).map(\.text)
        }
        let errors = (answer.child("errorSet")?.children("item") ?? []).map {
            CreateFleetResult.Failure(code: $0.string("errorCode") ?? "Unknown", message: $0.string("errorMessage") ?? "")
        }
        return CreateFleetResult(instanceIds: ids, errors: errors)
    }

    /// Instances by id, by filters, or both.
    package func describeInstances(ids: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Instance] {
        let parameters = ids.enumerated().map { QueryItem("InstanceId.\($0.offset + 1)", $0.element) } + EC2Filter.items(filters)
        return try await pages("DescribeInstances", parameters) { answer in
            (answer.child("reservationSet")?.children("item") ?? []).flatMap { reservation in
                (reservation.child("instancesSet")?.children("item") ?? []).map(EC2Instance.init)
            }
        }
    }

    /// Terminates instances, up to 1,000 per call as EC2 takes them.
    package func terminateInstances(ids: [String]) async throws {
        for start in stride(from: 0, to: ids.count, by: 1000) {
            let batch = ids[start..<min(start + 1000, ids.count)]
            _ = try await client.query("TerminateInstances", batch.enumerated().map { QueryItem("InstanceId.\($0.offset + 1)", $0.element) })
        }
    }

    // MARK: Tags

    package func createTags(resources: [String], tags: [EC2Tag]) async throws {
        let items =
            resources.enumerated().map { QueryItem("ResourceId.\($0.offset + 1)", $0.element) }
            + tags.enumerated().flatMap { index, tag in
                [QueryItem("Tag.\(index + 1).Key", tag.key), QueryItem("Tag.\(index + 1).Value", tag.value)]
            }
        _ = try await client.query("CreateTags", items, isIdempotent: true)
    }

    package func describeTags(filters: [EC2Filter]) async throws -> [EC2ResourceTag] {
        try await pages("DescribeTags", EC2Filter.items(filters)) { answer in
            (answer.child("tagSet")?.children("item") ?? []).map {
                EC2ResourceTag(resourceId: $0.string("resourceId") ?? "", key: $0.string("key") ?? "", value: $0.string("value") ?? "")
            }
        }
    }

    // MARK: What the validators look up

    /// Subnet id → its VPC.
    package func subnetVpcs(ids: [String]) async throws -> [String: String] {
        let pairs = try await pages("DescribeSubnets", EC2Filter.items([EC2Filter("subnet-id", ids)])) { answer in
            (answer.child("subnetSet")?.children("item") ?? []).compactMap { item in item.string("subnetId").map { ($0, item.string("vpcId") ?? "") }
            }
        }
        return Dictionary(pairs) { first, _ in first }
    }

    /// Whether the subnet routes to an internet gateway: through its own route table, else its VPC's main one
    /// (the original makes a login pool's load balancer internet-facing in such a subnet, internal otherwise).
    package func subnetIsPublic(_ id: String, vpc: String) async throws -> Bool {
        func routesToInternet(_ filters: [EC2Filter]) async throws -> Bool? {
            let tables = try await pages("DescribeRouteTables", EC2Filter.items(filters)) { answer in
                (answer.child("routeTableSet")?.children("item") ?? []).map { table in
                    (table.child("routeSet")?.children("item") ?? []).contains { ($0.string("gatewayId") ?? "").hasPrefix("igw-") }
                }
            }
            return tables.isEmpty ? nil : tables.contains(true)
        }
        if let own = try await routesToInternet([EC2Filter("association.subnet-id", [id])]) { return own }
        return try await routesToInternet([EC2Filter("vpc-id", [vpc]), EC2Filter("association.main", ["true"])]) ?? false
    }

    /// Security group id → its VPC.
    package func securityGroupVpcs(ids: [String]) async throws -> [String: String] {
        let pairs = try await pages("DescribeSecurityGroups", EC2Filter.items([EC2Filter("group-id", ids)])) { answer in
            (answer.child("securityGroupInfo")?.children("item") ?? []).compactMap { item in
                item.string("groupId").map { ($0, item.string("vpcId") ?? "") }
            }
        }
        return Dictionary(pairs) { first, _ in first }
    }

    package func keyPairNames(filters: [EC2Filter]) async throws -> [String] {
        try await pages("DescribeKeyPairs", EC2Filter.items(filters)) { answer in
            (answer.child("keySet")?.children("item") ?? []).compactMap { $0.string("keyName") }
        }
    }

    /// Images matching the filters, of the given owners ("amazon", "self" or account ids; none: any).
    package func describeImages(filters: [EC2Filter], owners: [String] = []) async throws -> [EC2Image] {
        let parameters = EC2Filter.items(filters) + owners.enumerated().map { QueryItem("Owner.\($0.offset + 1)", $0.element) }
        return try await pages("DescribeImages", parameters) { answer in
            (answer.child("imagesSet")?.children("item") ?? []).compactMap { item in
                guard let id = item.string("imageId") else { return nil }
                return EC2Image(
                    imageId: id, name: item.string("name"), creationDate: item.string("creationDate") ?? "",
                    architecture: item.string("architecture"), tags: EC2Tag.dictionary(in: item))
            }
        }
    }

    /// Which of these types the region offers.
    package func offeredInstanceTypes(_ names: [String]) async throws -> [String] {
        try await pages("DescribeInstanceTypeOfferings", [QueryItem("LocationType", "region")] + EC2Filter.items([EC2Filter("instance-type", names)]))
        {
            answer in (answer.child("instanceTypeOfferingSet")?.children("item") ?? []).compactMap { $0.string("instanceType") }
        }
    }

    package func describeInstanceTypes(_ names: [String]) async throws -> [EC2InstanceTypeInfo] {
        let parameters = names.enumerated().map { QueryItem("InstanceType.\($0.offset + 1)", $0.element) }
        return try await pages("DescribeInstanceTypes", parameters) { answer in
            (answer.child("instanceTypeSet")?.children("item") ?? []).compactMap { item in
                guard let name = item.string("instanceType") else { return nil }
                return EC2InstanceTypeInfo(
                    name: name, efaSupported: item.child("networkInfo")?.string("efaSupported") == "true",
                    placementGroupStrategies: (item.child("placementGroupInfo")?.child("supportedStrategies")?.children("item") ?? []).map(\.text),
                    architectures: (item.child("processorInfo")?.child("supportedArchitectures")?.children("item") ?? []).map(\.text))
            }
        }
    }

    // MARK: Protocol

    /// Every page of a Describe call, each read by `read`.
    func pages<T>(_ action: String, _ parameters: [QueryItem], _ read: (XMLElement) -> [T]) async throws -> [T] {
        var found: [T] = []
        var token: String?
        repeat {
            var query = parameters
            if let token { query.append(QueryItem("NextToken", token)) }
            let answer = try await client.query(action, query)
            found += read(answer)
            token = answer.string("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return found
    }

    /// The tags of the instances a launch makes (TagSpecification for ResourceType instance).
    static func instanceTagSpecification(_ tags: [EC2Tag]) -> [QueryItem] {
        guard !tags.isEmpty else { return [] }
        return [QueryItem("TagSpecification.1.ResourceType", "instance")]
            + tags.enumerated().flatMap { index, tag in
                [
                    QueryItem("TagSpecification.1.Tag.\(index + 1).Key", tag.key),
                    QueryItem("TagSpecification.1.Tag.\(index + 1).Value", tag.value),
                ]
            }
    }
}
