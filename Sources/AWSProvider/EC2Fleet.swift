import AWSCloudFormation
import AWSCore
import Foundation

/// A compute instance of a cluster as EC2 reports it.
public struct EC2ComputeInstance: Sendable, Equatable {
    public var instanceId: String
    public var nodeName: String?
    public var instanceType: String
    public var state: String
    public var placementGroup: String?
    public var networkInterfaceTypes: [String]
    public var launchTime: Date?
}

/// Why a launch did not give every node an instance.
public struct EC2LaunchError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// EC2 has no capacity for this instance type now: the node agent holds the compute resource down and
    /// tries the next one, as the original does.
    public var isInsufficientCapacity: Bool {
        [
            "InsufficientInstanceCapacity", "InsufficientHostCapacity", "InsufficientReservedInstanceCapacity",
            "InsufficientCapacity", "MaxSpotInstanceCountExceeded", "SpotMaxPriceTooLow",
        ].contains(code)
    }
    public var description: String { "\(code): \(message)" }
}

/// What one compute resource's nodes are launched with.
public struct ComputeLaunch: Sendable, Codable, Equatable {
    public var queue: String
    public var computeResource: String
    /// One type: RunInstances. Several (`Instances:` with more than one): CreateFleet, which picks among them.
    public var instanceTypes: [String]
    public var launchTemplateName: String
    public var subnetIds: [String]
    public var securityGroupIds: [String]
    public var efa: Bool
    public var placementGroup: String?
    public var capacityType: String

    public init(
        queue: String, computeResource: String, instanceTypes: [String], launchTemplateName: String, subnetIds: [String],
        securityGroupIds: [String], efa: Bool, placementGroup: String?, capacityType: String = "ONDEMAND"
    ) {
        self.queue = queue
        self.computeResource = computeResource
        self.instanceTypes = instanceTypes
        self.launchTemplateName = launchTemplateName
        self.subnetIds = subnetIds
        self.securityGroupIds = securityGroupIds
        self.efa = efa
        self.placementGroup = placementGroup
        self.capacityType = capacityType
    }
}

/// The node agent's EC2 side: RunInstances for the nodes of a compute resource (all-or-nothing or best effort),
/// the instance ↔ node mapping in the `parallelcluster:node-name` tag, and termination. The instances of a
/// cluster are found by its `parallelcluster:cluster-name` tag, so nothing else in the account is touched.
public struct EC2Fleet: Sendable {
    let ec2: AWSClient
    public let clusterName: String

    public init(settings: AWSSettings, clusterName: String) throws {
        ec2 = try AWSClient(service: .ec2, settings: settings, wireProtocol: .ec2Query(version: "2016-11-15"))
        self.clusterName = clusterName
    }

    /// Launches one instance per node. All-or-nothing asks EC2 for exactly that many (MinCount = MaxCount),
    /// best effort for at least one; the nodes that got no instance are returned too.
    public func launch(_ nodes: [String], _ spec: ComputeLaunch, allOrNothing: Bool) async throws -> (launched: [String: String], missing: [String]) {
        guard !nodes.isEmpty else { return ([:], []) }
        let ids: [String]
        do {
            if spec.instanceTypes.count > 1 {
                let answer = try await ec2.query(
                    "CreateFleet", createFleetParameters(count: nodes.count, spec, allOrNothing: allOrNothing),
                    isIdempotent: false)
                ids = (answer.child("fleetInstanceSet")?.children("item") ?? []).flatMap { item in
                    (item.child("instanceIds")?.children("item") ?? []).map(\.text)
                }
                // An instant fleet reports capacity it could not get as errors beside what it launched.
                if ids.isEmpty || (allOrNothing && ids.count < nodes.count),
                    let error = answer.child("errorSet")?.children("item").first
                {
                    if !ids.isEmpty { try await terminate(instanceIds: ids) }
                    throw EC2LaunchError(code: error.string("errorCode") ?? "Unknown", message: error.string("errorMessage") ?? "")
                }
            } else {
                let answer = try await ec2.query(
                    "RunInstances", runInstancesParameters(count: nodes.count, spec, allOrNothing: allOrNothing),
                    isIdempotent: false)
                ids = (answer.child("instancesSet")?.children("item") ?? []).compactMap { $0.string("instanceId") }
            }
        } catch let error as AWSServiceError {
            throw EC2LaunchError(code: error.code, message: error.message)
        }
        // Node names in launch order; a node's name is on its instance from here on.
        var launched: [String: String] = [:]
        for (node, id) in zip(nodes, ids) {
            _ = try await ec2.query(
                "CreateTags",
                [
                    QueryItem("ResourceId.1", id), QueryItem("Tag.1.Key", "parallelcluster:node-name"),
                    QueryItem("Tag.1.Value", node),
                ], isIdempotent: true)
            launched[node] = id
        }
        return (launched, nodes.filter { launched[$0] == nil })
    }

    /// The RunInstances request for `count` nodes of a compute resource.
    public func runInstancesParameters(count: Int, _ spec: ComputeLaunch, allOrNothing: Bool) -> [QueryItem] {
        var parameters = [
            QueryItem("LaunchTemplate.LaunchTemplateName", spec.launchTemplateName),
            // The newest version: what the last update-cluster made, not the template's first (default) version.
            QueryItem("LaunchTemplate.Version", "$Latest"),
            QueryItem("InstanceType", spec.instanceTypes.first ?? ""),
            QueryItem("MinCount", String(allOrNothing ? count : 1)),
            QueryItem("MaxCount", String(count)),
            // The interface is given here, not only in the launch template: the subnet is chosen per launch.
            QueryItem("NetworkInterface.1.DeviceIndex", "0"),
            QueryItem("NetworkInterface.1.SubnetId", spec.subnetIds.first ?? ""),
            QueryItem("NetworkInterface.1.DeleteOnTermination", "true"),
        ]
        if spec.efa {
            parameters.append(QueryItem("NetworkInterface.1.InterfaceType", "efa"))
            parameters.append(QueryItem("NetworkInterface.1.NetworkCardIndex", "0"))
        }
        for (index, group) in spec.securityGroupIds.enumerated() {
            parameters.append(QueryItem("NetworkInterface.1.SecurityGroupId.\(index + 1)", group))
        }
        if let group = spec.placementGroup { parameters.append(QueryItem("Placement.GroupName", group)) }
        if spec.capacityType == "SPOT" { parameters.append(QueryItem("InstanceMarketOptions.MarketType", "spot")) }
        parameters += tagSpecification(spec)
        return parameters
    }

    /// The CreateFleet request (an instant fleet) for `count` nodes of a compute resource with several instance
    /// types: every type in every subnet as overrides of the launch template. All-or-nothing asks for the whole
    /// count in one type and one zone (MinTargetCapacity), as the original does.
    public func createFleetParameters(count: Int, _ spec: ComputeLaunch, allOrNothing: Bool) -> [QueryItem] {
        let market = spec.capacityType == "SPOT" ? "spot" : "on-demand"
        var parameters = [
            QueryItem("Type", "instant"),
            QueryItem("TargetCapacitySpecification.TotalTargetCapacity", String(count)),
            QueryItem("TargetCapacitySpecification.DefaultTargetCapacityType", market),
            QueryItem("LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateName", spec.launchTemplateName),
            QueryItem("LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version", "$Latest"),
        ]
        var index = 1
        for type in spec.instanceTypes {
            for subnet in spec.subnetIds {
                parameters.append(QueryItem("LaunchTemplateConfigs.1.Overrides.\(index).InstanceType", type))
                parameters.append(QueryItem("LaunchTemplateConfigs.1.Overrides.\(index).SubnetId", subnet))
                if let group = spec.placementGroup {
                    parameters.append(QueryItem("LaunchTemplateConfigs.1.Overrides.\(index).Placement.GroupName", group))
                }
                index += 1
            }
        }
        let options = market == "spot" ? "SpotOptions" : "OnDemandOptions"
        parameters.append(QueryItem("\(options).AllocationStrategy", market == "spot" ? "capacity-optimized" : "lowest-price"))
        if allOrNothing {
            parameters += [
                QueryItem("\(options).SingleInstanceType", "true"), QueryItem("\(options).SingleAvailabilityZone", "true"),
                QueryItem("\(options).MinTargetCapacity", String(count)),
            ]
        }
        parameters += tagSpecification(spec)
        return parameters
    }

    func tagSpecification(_ spec: ComputeLaunch) -> [QueryItem] {
        var parameters: [QueryItem] = []
        let tags = [
            ("parallelcluster:cluster-name", clusterName), ("parallelcluster:node-type", "Compute"),
            ("parallelcluster:queue-name", spec.queue), ("parallelcluster:compute-resource-name", spec.computeResource),
        ]
        parameters.append(QueryItem("TagSpecification.1.ResourceType", "instance"))
        for (index, tag) in tags.enumerated() {
            parameters.append(QueryItem("TagSpecification.1.Tag.\(index + 1).Key", tag.0))
            parameters.append(QueryItem("TagSpecification.1.Tag.\(index + 1).Value", tag.1))
        }
        return parameters
    }

    /// The private addresses of instances, for Slurm's NodeAddr.
    public func privateAddresses(_ ids: [String]) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let query = ids.enumerated().map { QueryItem("InstanceId.\($0.offset + 1)", $0.element) }
        let answer = try await ec2.query("DescribeInstances", query)
        var addresses: [String: String] = [:]
        for reservation in answer.child("reservationSet")?.children("item") ?? [] {
            for item in reservation.child("instancesSet")?.children("item") ?? [] {
                if let id = item.string("instanceId"), let ip = item.string("privateIpAddress") { addresses[id] = ip }
            }
        }
        return addresses
    }

    /// The cluster's compute instances that are pending or running.
    public func instances() async throws -> [EC2ComputeInstance] {
        var found: [EC2ComputeInstance] = []
        var token: String?
        repeat {
            var query = [
                QueryItem("Filter.1.Name", "tag:parallelcluster:cluster-name"), QueryItem("Filter.1.Value.1", clusterName),
                QueryItem("Filter.2.Name", "tag:parallelcluster:node-type"), QueryItem("Filter.2.Value.1", "Compute"),
                QueryItem("Filter.3.Name", "instance-state-name"), QueryItem("Filter.3.Value.1", "pending"),
                QueryItem("Filter.3.Value.2", "running"),
            ]
            if let token { query.append(QueryItem("NextToken", token)) }
            let answer = try await ec2.query("DescribeInstances", query)
            for reservation in answer.child("reservationSet")?.children("item") ?? [] {
                for item in reservation.child("instancesSet")?.children("item") ?? [] {
                    let tags = item.child("tagSet")?.children("item") ?? []
                    found.append(
                        EC2ComputeInstance(
                            instanceId: item.string("instanceId") ?? "",
                            nodeName: tags.first { $0.string("key") == "parallelcluster:node-name" }?.string("value"),
                            instanceType: item.string("instanceType") ?? "",
                            state: item.child("instanceState")?.string("name") ?? "",
                            placementGroup: item.child("placement")?.string("groupName").flatMap { $0.isEmpty ? nil : $0 },
                            networkInterfaceTypes: (item.child("networkInterfaceSet")?.children("item") ?? []).map {
                                $0.string("interfaceType") ?? "interface"
                            },
                            launchTime: CloudFormation.parseDate(item.string("launchTime"))))
                }
            }
            token = answer.string("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return found
    }

    /// Terminates the instances of these nodes (suspend, power-down); returns the instance ids.
    @discardableResult
    public func terminate(nodes: [String]) async throws -> [String] {
        let wanted = Set(nodes)
        let ids = try await instances().filter { $0.nodeName.map(wanted.contains) ?? false }.map(\.instanceId)
        try await terminate(instanceIds: ids)
        return ids
    }

    /// Instances of the cluster that no node owns any more (a launch interrupted before its tag, a node
    /// renamed by an update): terminated by the agent's orphan pass. Those younger than `grace` are left
    /// alone: a launch tags its instances just after RunInstances answers.
    @discardableResult
    public func terminateOrphans(knownNodes: Set<String>, grace: TimeInterval = 0) async throws -> [String] {
        let cutoff = Date().addingTimeInterval(-grace)
        let ids = try await instances().filter { instance in
            guard instance.nodeName.map({ !knownNodes.contains($0) }) ?? true else { return false }
            return grace <= 0 || (instance.launchTime.map { $0 < cutoff } ?? false)
        }.map(\.instanceId)
        try await terminate(instanceIds: ids)
        return ids
    }

    func terminate(instanceIds ids: [String]) async throws {
        // TerminateInstances takes up to 1000 ids per call.
        for start in stride(from: 0, to: ids.count, by: 1000) {
            let batch = ids[start..<min(start + 1000, ids.count)]
            _ = try await ec2.query("TerminateInstances", batch.enumerated().map { QueryItem("InstanceId.\($0.offset + 1)", $0.element) })
        }
    }
}
