import AWSCore
import AWSEC2
import Foundation

/// A compute instance of a cluster as EC2 reports it.
package struct EC2ComputeInstance: Sendable, Equatable {
    package var instanceId: String
    package var nodeName: String?
    package var instanceType: String
    package var state: String
    package var placementGroup: String?
    package var networkInterfaceTypes: [String]
    package var launchTime: Date?
}

/// Why a launch did not give every node an instance.
package struct EC2LaunchError: Error, Sendable, CustomStringConvertible {
    package var code: String
    package var message: String
    /// EC2 has no capacity for this instance type now: the node agent holds the compute resource down and
    /// tries the next one, as the original does.
    package var isInsufficientCapacity: Bool {
        [
            "InsufficientInstanceCapacity", "InsufficientHostCapacity", "InsufficientReservedInstanceCapacity",
            "InsufficientCapacity", "MaxSpotInstanceCountExceeded", "SpotMaxPriceTooLow",
        ].contains(code)
    }
    package var description: String { "\(code): \(message)" }
}

/// What one compute resource's nodes are launched with.
package struct ComputeLaunch: Sendable, Codable, Equatable {
    package var queue: String
    package var computeResource: String
    /// One type: RunInstances. Several (`Instances:` with more than one): CreateFleet, which picks among them.
    package var instanceTypes: [String]
    package var launchTemplateName: String
    package var subnetIds: [String]
    package var securityGroupIds: [String]
    package var efa: Bool
    package var placementGroup: String?
    package var capacityType: String

    package init(
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
package struct EC2Fleet: Sendable {
    let ec2: EC2Client
    package let clusterName: String

    package init(settings: AWSSettings, clusterName: String) throws {
        ec2 = try EC2Client(settings: settings)
        self.clusterName = clusterName
    }

    /// Launches one instance per node. All-or-nothing asks EC2 for exactly that many (MinCount = MaxCount),
    /// best effort for at least one; the nodes that got no instance are returned too.
    package func launch(_ nodes: [String], _ spec: ComputeLaunch, allOrNothing: Bool) async throws -> (launched: [String: String], missing: [String])
    {
        guard !nodes.isEmpty else { return ([:], []) }
        let ids: [String]
        do {
            if spec.instanceTypes.count > 1 {
                let fleet = try await ec2.createFleet(createFleetRequest(count: nodes.count, spec, allOrNothing: allOrNothing))
                ids = fleet.instanceIds
                // An instant fleet reports capacity it could not get as errors beside what it launched.
                if ids.isEmpty || (allOrNothing && ids.count < nodes.count), let error = fleet.errors.first {
                    if !ids.isEmpty { try await ec2.terminateInstances(ids: ids) }
                    throw EC2LaunchError(code: error.code, message: error.message)
                }
            } else {
                ids = try await ec2.runInstances(runInstancesRequest(count: nodes.count, spec, allOrNothing: allOrNothing))
            }
        } catch let error as AWSServiceError {
            throw EC2LaunchError(code: error.code, message: error.message)
        }
        // Node names in launch order; a node's name is on its instance from here on.
        var launched: [String: String] = [:]
        for (node, id) in zip(nodes, ids) {
            try await ec2.createTags(resources: [id], tags: [EC2Tag("parallelcluster:node-name", node)])
            launched[node] = id
        }
        return (launched, nodes.filter { launched[$0] == nil })
    }

    /// The RunInstances request for `count` nodes of a compute resource: the newest version of its launch
    /// template (what the last update-cluster made, not the template's first, default version).
    package func runInstancesRequest(count: Int, _ spec: ComputeLaunch, allOrNothing: Bool) -> RunInstancesRequest {
        RunInstancesRequest(
            launchTemplate: EC2LaunchTemplateReference(name: spec.launchTemplateName, version: "$Latest"),
            instanceType: spec.instanceTypes.first ?? "", minCount: allOrNothing ? count : 1, maxCount: count,
            subnetId: spec.subnetIds.first ?? "", securityGroupIds: spec.securityGroupIds, efa: spec.efa,
            placementGroup: spec.placementGroup, spot: spec.capacityType == "SPOT", tags: instanceTags(spec))
    }

    /// The CreateFleet request (an instant fleet) for `count` nodes of a compute resource with several instance
    /// types: every type in every subnet as overrides of the launch template. All-or-nothing asks for the whole
    /// count in one type and one zone (MinTargetCapacity), as the original does.
    package func createFleetRequest(count: Int, _ spec: ComputeLaunch, allOrNothing: Bool) -> CreateFleetRequest {
        CreateFleetRequest(
            launchTemplate: EC2LaunchTemplateReference(name: spec.launchTemplateName, version: "$Latest"),
            overrides: spec.instanceTypes.flatMap { type in
                spec.subnetIds.map { CreateFleetRequest.Override(instanceType: type, subnetId: $0, placementGroup: spec.placementGroup) }
            },
            totalCapacity: count, spot: spec.capacityType == "SPOT", minTargetCapacity: allOrNothing ? count : nil,
            tags: instanceTags(spec))
    }

    func instanceTags(_ spec: ComputeLaunch) -> [EC2Tag] {
        [
            EC2Tag("parallelcluster:cluster-name", clusterName), EC2Tag("parallelcluster:node-type", "Compute"),
            EC2Tag("parallelcluster:queue-name", spec.queue), EC2Tag("parallelcluster:compute-resource-name", spec.computeResource),
        ]
    }

    /// The private addresses of instances, for Slurm's NodeAddr.
    package func privateAddresses(_ ids: [String]) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let found = try await ec2.describeInstances(ids: ids)
        return Dictionary(found.compactMap { instance in instance.privateIpAddress.map { (instance.instanceId, $0) } }) { first, _ in first }
    }

    /// The cluster's compute instances that are pending or running.
    package func instances() async throws -> [EC2ComputeInstance] {
        try await ec2.describeInstances(filters: [
            EC2Filter("tag:parallelcluster:cluster-name", [clusterName]), EC2Filter("tag:parallelcluster:node-type", ["Compute"]),
            EC2Filter("instance-state-name", ["pending", "running"]),
        ]).map { instance in
            EC2ComputeInstance(
                instanceId: instance.instanceId, nodeName: instance.tags["parallelcluster:node-name"], instanceType: instance.instanceType,
                state: instance.state, placementGroup: instance.placementGroup, networkInterfaceTypes: instance.networkInterfaceTypes,
                launchTime: instance.launchTime)
        }
    }

    /// Terminates the instances of these nodes (suspend, power-down); returns the instance ids.
    @discardableResult
    package func terminate(nodes: [String]) async throws -> [String] {
        let wanted = Set(nodes)
        let ids = try await instances().filter { $0.nodeName.map(wanted.contains) ?? false }.map(\.instanceId)
        try await ec2.terminateInstances(ids: ids)
        return ids
    }

    /// Instances of the cluster that no node owns any more (a launch interrupted before its tag, a node
    /// renamed by an update): terminated by the agent's orphan pass. Those younger than `grace` are left
    /// alone: a launch tags its instances just after RunInstances answers.
    @discardableResult
    package func terminateOrphans(knownNodes: Set<String>, grace: TimeInterval = 0) async throws -> [String] {
        let cutoff = Date().addingTimeInterval(-grace)
        let ids = try await instances().filter { instance in
            guard instance.nodeName.map({ !knownNodes.contains($0) }) ?? true else { return false }
            return grace <= 0 || (instance.launchTime.map { $0 < cutoff } ?? false)
        }.map(\.instanceId)
        try await ec2.terminateInstances(ids: ids)
        return ids
    }
}
