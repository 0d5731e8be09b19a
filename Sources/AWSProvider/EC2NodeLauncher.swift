import AWSCore
import ClusterConfig
import Foundation
import JSONOutput
import SlurmHeadNode

/// What the node agent of an AWS cluster needs to launch compute nodes, written on the head node by
/// `pcluster-agent bootstrap` from the stack's resources and the cluster's configuration.
package struct AWSFleetPlan: Codable, Sendable, Equatable {
    package var clusterName: String
    package var region: String
    /// The ParallelCluster version of the stack (where its configuration is kept).
    package var version: String
    /// Scheduling.ScalingStrategy: all-or-nothing launches a resume's nodes of a compute resource together or not at all.
    package var allOrNothing: Bool
    /// Most nodes one launch call asks for (the original's max_batch_size).
    package var maxBatchSize: Int
    /// The address compute nodes reach slurmctld at (set by bootstrap on the head node).
    package var headNodeAddress: String?
    package var computeResources: [ComputeLaunch]

    package func launch(queue: String, computeResource: String) -> ComputeLaunch? {
        computeResources.first { $0.queue == queue && $0.computeResource == computeResource }
    }

    /// The plan for a cluster from its configuration and its stack's physical resource ids (by logical id).
    package init(
        clusterName: String, region: String, version: String, config: ClusterConfiguration, physicalIds: [String: String],
        maxBatchSize: Int = 500
    ) {
        self.clusterName = clusterName
        self.region = region
        self.version = version
        allOrNothing = config.scheduling.scalingStrategy != "best-effort"
        self.maxBatchSize = maxBatchSize
        let template = ClusterTemplate(clusterName: clusterName, config: config, version: "")
        let computeGroup = physicalIds["ComputeSecurityGroup"].flatMap { $0.isEmpty ? nil : $0 }
        computeResources = config.scheduling.queues.flatMap { queue in
            queue.computeResources.map { resource in
                let groups = queue.securityGroups.isEmpty ? ([computeGroup].compactMap { $0 } + queue.additionalSecurityGroups) : queue.securityGroups
                return ComputeLaunch(
                    queue: queue.name, computeResource: resource.name, instanceTypes: resource.instanceTypes,
                    launchTemplateName: template.launchTemplateName(queue.name, resource.name),
                    subnetIds: queue.subnetIds, securityGroupIds: groups, efa: resource.efaEnabled,
                    placementGroup: template.placementGroupName(queue, resource, physicalIds: physicalIds),
                    capacityType: queue.capacityType)
            }
        }
    }
}

/// The node agent's launcher on an AWS cluster: a resume's nodes grouped by compute resource and launched
/// in batches (RunInstances, or CreateFleet for several instance types); each instance carries its node's
/// name in a tag, which is how suspend, the orphan pass and describe-cluster-instances find it again.
package struct EC2NodeLauncher: InstanceLauncher {
    package let plan: AWSFleetPlan
    let fleet: EC2Fleet
    let events: EventLog

    package init(plan: AWSFleetPlan, settings: AWSSettings, layout: LocalLayout) throws {
        self.plan = plan
        fleet = try EC2Fleet(settings: settings, clusterName: plan.clusterName)
        events = EventLog(layout: layout)
    }

    package func launch(_ node: LocalNode) async throws {
        if case .failure(let error) = await launch([node])[node.name] { throw error }
    }

    package func launch(_ nodes: [LocalNode]) async -> [String: Result<String?, any Error>] {
        var outcome: [String: Result<String?, any Error>] = [:]
        let groups = Dictionary(grouping: nodes) { "\($0.queue)/\($0.computeResource)" }
        for key in groups.keys.sorted() {
            let members = groups[key]!.map(\.name)
            guard let first = groups[key]!.first, let spec = plan.launch(queue: first.queue, computeResource: first.computeResource) else {
                for name in members {
                    outcome[name] = .failure(EC2LaunchError(code: "LaunchFailure", message: "compute resource \(key) is not in the fleet plan"))
                }
                continue
            }
            for start in stride(from: 0, to: members.count, by: max(1, plan.maxBatchSize)) {
                let batch = Array(members[start..<min(members.count, start + max(1, plan.maxBatchSize))])
                do {
                    let (launched, missing) = try await fleet.launch(batch, spec, allOrNothing: plan.allOrNothing)
                    let addresses = (try? await fleet.privateAddresses(Array(launched.values))) ?? [:]
                    for (name, id) in launched {
                        outcome[name] = .success(addresses[id])
                        events.record(
                            resource: name, status: "LAUNCHED",
                            reason: "\(id) (\(spec.instanceTypes.joined(separator: ",")))\(addresses[id].map { " at \($0)" } ?? "")")
                    }
                    for name in missing {
                        outcome[name] = .failure(
                            EC2LaunchError(
                                code: "InsufficientInstanceCapacity",
                                message: "a best-effort launch got \(launched.count) of \(batch.count) instances"))
                    }
                } catch {
                    for name in batch { outcome[name] = .failure(error) }
                }
            }
        }
        return outcome
    }

    package func terminate(_ name: String, reason: String) async { await terminate([name], reason: reason) }

    package func terminate(_ names: [String], reason: String) async {
        guard !names.isEmpty else { return }
        do {
            let ids = try await fleet.terminate(nodes: names)
            if !ids.isEmpty {
                events.record(resource: Hostlist.compress(names), status: "TERMINATED", reason: "\(ids.joined(separator: ",")): \(reason)")
            }
        } catch {
            // The next orphan pass terminates what this call could not.
            events.record(resource: Hostlist.compress(names), status: "TERMINATE_FAILED", reason: "\(error)")
        }
    }

    package func runningNodes() async -> Set<String>? {
        guard let instances = try? await fleet.instances() else { return nil }
        return Set(instances.compactMap(\.nodeName))
    }

    package func terminateStrays(knownNodes: Set<String>) async {
        if let ids = try? await fleet.terminateOrphans(knownNodes: knownNodes, grace: 120), !ids.isEmpty {
            events.record(resource: plan.clusterName, status: "TERMINATED", reason: "\(ids.joined(separator: ",")): no node owns them")
        }
    }

    package func isRunning(_ name: String) async -> Bool {
        // Unknown (EC2 not answering) counts as running: relaunching a node that has an instance would pay twice.
        guard let instances = try? await fleet.instances() else { return true }
        return instances.contains { $0.nodeName == name }
    }
}

extension EC2LaunchError: NodeLaunchFailure {}
