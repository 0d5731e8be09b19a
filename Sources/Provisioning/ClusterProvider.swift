import ClusterConfig
import Foundation

/// One machine (head node or compute node) of a cluster, as describe-cluster-instances shows it.
public struct ProvisionedInstance: Sendable, Equatable {
    public var instanceId: String
    public var nodeType: String  // "HeadNode" | "ComputeNode"
    public var instanceType: String
    public var launchTime: Date
    public var privateIpAddress: String
    public var publicIpAddress: String?
    public var queueName: String?
    public var state: String  // "running" | "stopped" | ...

    public init(instanceId: String, nodeType: String, instanceType: String, launchTime: Date, privateIpAddress: String,
                publicIpAddress: String?, queueName: String?, state: String) {
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

/// Something that happened to a cluster (get-cluster-stack-events).
public struct ClusterEvent: Sendable, Equatable {
    public var timestamp: Date
    public var resource: String
    public var status: String
    public var reason: String

    public init(timestamp: Date, resource: String, status: String, reason: String) {
        self.timestamp = timestamp
        self.resource = resource
        self.status = status
        self.reason = reason
    }
}

public struct ClusterLogStream: Sendable, Equatable {
    public var name: String
    public var lastEventTime: Date
    public var location: String

    public init(name: String, lastEventTime: Date, location: String) {
        self.name = name
        self.lastEventTime = lastEventTime
        self.location = location
    }
}

/// The seam between the commands and where clusters run: the local provider (this machine, real Slurm)
/// today, the AWS provider (CloudFormation and EC2) next. Commands hold `any ClusterProvider` chosen by
/// the record's `provider` and never reach past this protocol.
public protocol ClusterProvider: Sendable {
    /// The name kept in cluster records.
    var providerName: String { get }
    /// Why the provider cannot work here now (missing packages, privileges), or nil.
    func preconditions() -> String?
    /// Brings the cluster up; the record stays CREATE_IN_PROGRESS until the provider marks it complete.
    func create(name: String, config: ClusterConfiguration, record: ClusterRecord, progress: (String) -> Void) throws
    /// Applies an update the update policies accepted.
    func update(name: String, config: ClusterConfiguration, progress: (String) -> Void) throws
    /// Removes every resource of the cluster; throws (keeping what is left) when something survives.
    func delete(name: String) throws
    /// Restarts head-node services that died; returns what was restarted.
    func recover(name: String) throws -> [String]
    func instances(of name: String) -> [ProvisionedInstance]
    /// Problems with the head node (a service down), for describe-cluster's failures.
    func headNodeProblems(of name: String) -> [String]
    /// Why creation failed, when it did.
    func creationFailure(of name: String) -> String?
    func terminateComputeNodes(of name: String) throws
    func events(of name: String) -> [ClusterEvent]
    func logStreams(of name: String) -> [ClusterLogStream]
    func logLines(of name: String, stream: String) -> [String]?
    /// Environment for a shell on the head node with the cluster's Slurm; nil when it is not reachable.
    func headNodeShellEnvironment(of name: String) -> [String: String]?
}
