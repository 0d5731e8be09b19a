import ClusterConfig
import Foundation

/// One machine (head node or compute node) of a cluster, as describe-cluster-instances shows it.
package struct ProvisionedInstance: Sendable, Equatable {
    package var instanceId: String
    package var nodeType: String  // "HeadNode" | "ComputeNode"
    package var instanceType: String
    package var launchTime: Date
    package var privateIpAddress: String
    package var publicIpAddress: String?
    package var queueName: String?
    package var state: String  // "running" | "stopped" | ...

    package init(
        instanceId: String, nodeType: String, instanceType: String, launchTime: Date, privateIpAddress: String,
        publicIpAddress: String?, queueName: String?, state: String
    ) {
        self.instanceId = instanceId
        self.nodeType = nodeType
        self.instanceType = instanceType
        self.launchTime = launchTime
        self.privateIpAddress = privateIpAddress
        self.publicIpAddress = publicIpAddress
        self.queueName = queueName
        self.state = state
    }
}

/// A login node pool as describe-cluster reports it (the original's LoginNodesPool).
package struct LoginPoolStatus: Sendable, Equatable {
    package var poolName: String
    /// "pending", "active" or "failed".
    package var status: String
    /// Absent (as in the original) while the pool has no load balancer, or before its targets are known.
    package var address: String?
    package var scheme: String?
    package var healthyNodes: Int?
    package var unhealthyNodes: Int?

    package init(
        poolName: String, status: String, address: String? = nil, scheme: String? = nil, healthyNodes: Int? = nil, unhealthyNodes: Int? = nil
    ) {
        self.poolName = poolName
        self.status = status
        self.address = address
        self.scheme = scheme
        self.healthyNodes = healthyNodes
        self.unhealthyNodes = unhealthyNodes
    }
}

/// Something that happened to a cluster (get-cluster-stack-events).
package struct ClusterEvent: Sendable, Equatable {
    package var timestamp: Date
    package var resource: String
    package var status: String
    package var reason: String
    /// What a CloudFormation stack event also has (the AWS provider); nil for the local provider's events.
    package var stackEvent: StackEventDetail?

    package init(timestamp: Date, resource: String, status: String, reason: String, stackEvent: StackEventDetail? = nil) {
        self.timestamp = timestamp
        self.resource = resource
        self.status = status
        self.reason = reason
        self.stackEvent = stackEvent
    }
}

package struct StackEventDetail: Sendable, Equatable {
    package var eventId: String
    package var stackId: String
    package var physicalResourceId: String
    package var resourceType: String

    package init(eventId: String, stackId: String, physicalResourceId: String, resourceType: String) {
        self.eventId = eventId
        self.stackId = stackId
        self.physicalResourceId = physicalResourceId
        self.resourceType = resourceType
    }
}

package struct ClusterLogStream: Sendable, Equatable {
    package var name: String
    package var lastEventTime: Date
    package var location: String
    /// When the stream began (its first event's time, as far as the provider knows it).
    package var creationTime: Date
    /// Bytes written so far: a token that changes with every write, like CloudWatch's upload sequence token.
    package var size: Int

    package init(name: String, lastEventTime: Date, location: String, creationTime: Date? = nil, size: Int = 0) {
        self.name = name
        self.lastEventTime = lastEventTime
        self.location = location
        self.creationTime = creationTime ?? lastEventTime
        self.size = size
    }
}

/// Where a provider keeps what it knows of its clusters: the local provider in the `ClusterStore` on this
/// machine, the AWS provider in CloudFormation (the stack, its status and tags) and S3 (the configuration),
/// where the original keeps them too, so it needs no state on the user's machine.
package protocol ClusterCatalog: Sendable {
    func record(named name: String) async throws -> ClusterRecord?
    /// Every cluster of this provider (in the region, for AWS).
    func records() async throws -> [ClusterRecord]
    /// The configuration text the cluster runs with.
    func configuration(of name: String) async throws -> String?
    /// Where describe-cluster says the configuration is.
    func configurationURL(of name: String) async -> String
    /// Reads, changes and keeps a record (the compute fleet status); nil when the cluster does not exist.
    @discardableResult
    func update(_ name: String, _ change: @Sendable (inout ClusterRecord) -> Void) async throws -> ClusterRecord?
}

/// Where clusters run: this machine (the default) or AWS.
package enum ProviderKind: String, Codable, Sendable, CaseIterable {
    case local, aws

    /// A name as PCLUSTER_PROVIDER or --provider gives it (any case); nil for one this build does not have.
    package init?(name: String) { self.init(rawValue: name.lowercased()) }
}

extension ClusterProvider {
    /// The provider's name, for messages.
    package var providerName: String { kind.rawValue }
}

/// The seam between the commands and where clusters run: the local provider (this machine, real Slurm) and
/// the AWS provider (CloudFormation and EC2). Commands hold `any ClusterProvider` chosen by PCLUSTER_PROVIDER
/// (or create-cluster's --provider) and never reach past this protocol.
package protocol ClusterProvider: Sendable {
    /// Which provider this is (kept in cluster records).
    var kind: ProviderKind { get }
    var catalog: any ClusterCatalog { get }
    /// How --wait polls this provider's creations.
    var creationPolling: StatusPolling { get }
    /// Whether the catalog answers without network or credentials. A dry run looks for an existing cluster of
    /// the same name only then: the original always looks, but an AWS dry run here may render its template
    /// offline.
    var catalogIsOffline: Bool { get }
    /// What to tell a user whose head node cannot be reached, and how to bring it back.
    func headNodeDownAdvice(of name: String) -> String
    /// Why the provider cannot work here now (missing packages, privileges, credentials), or nil.
    func preconditions() -> String?
    /// Keeps the record and the configuration text, then brings the cluster up; the record stays
    /// CREATE_IN_PROGRESS until the provider marks it complete. `rollbackOnFailure` false keeps what a failed
    /// creation made, for inspection.
    func create(
        name: String, config: ClusterConfiguration, configuration: String, record: ClusterRecord,
        rollbackOnFailure: Bool, progress: @Sendable (String) -> Void) async throws
    /// Applies an update the update policies accepted, and keeps its configuration text.
    func update(name: String, config: ClusterConfiguration, configuration: String, progress: @Sendable (String) -> Void) async throws
    /// Removes every resource of the cluster; throws (keeping what is left) when something survives. With
    /// `wait` false a provider whose deletion runs remotely may return while it is still in progress.
    func delete(name: String, wait: Bool, progress: @Sendable (String) -> Void) async throws
    /// Restarts head-node services that died; returns what was restarted.
    func recover(name: String) async throws -> [String]
    func instances(of name: String) async -> [ProvisionedInstance]
    /// The cluster's login node pools (none by default).
    func loginNodePools(of name: String) async -> [LoginPoolStatus]
    /// Problems with the head node (a service down), for describe-cluster's failures.
    func headNodeProblems(of name: String) async -> [String]
    /// Why creation failed, when it did.
    func creationFailure(of name: String) async -> String?
    func terminateComputeNodes(of name: String) async throws
    func events(of name: String) async -> [ClusterEvent]
    /// Why this provider cannot show the cluster's logs, or nil when it can.
    func logsUnavailable() -> String?
    func logStreams(of name: String) async -> [ClusterLogStream]
    func logLines(of name: String, stream: String) async -> [String]?
    /// How to reach a shell on the head node; nil when it is not reachable.
    func headNodeShell(of name: String) async -> HeadNodeShell?
    /// dcv-connect: a one-time URL of a remote desktop session on the head node; nil when the provider has none.
    func desktopSession(of name: String) async throws -> String?
}

/// A shell on the head node: the local provider's is this machine with the cluster's Slurm environment, the
/// AWS provider's is ssh to the head node's address.
extension ClusterProvider {
    package func logsUnavailable() -> String? { nil }
    package func loginNodePools(of name: String) async -> [LoginPoolStatus] { [] }
    package func desktopSession(of name: String) async throws -> String? { nil }
}

package enum HeadNodeShell: Sendable, Equatable {
    case local(environment: [String: String])
    case ssh(user: String, host: String)
}
