import AWSCore
import AWSSecretsManager
import ClusterConfig
import Foundation
import SlurmHeadNode

/// The node agent's state on an AWS cluster's head node, made from the cluster's stack and stored
/// configuration: local.json (the nodes), aws-fleet.json (the launch plan) and the digest of the
/// configuration they were made from. `pcluster-agent bootstrap` writes it once; the cluster-manager loop
/// rewrites it when `update-cluster` stored a new configuration (the original's head node learns that
/// through cfn-hup) and puts it into effect in Slurm.
package struct HeadNodeState: Sendable {
    package let provider: AWSClusterProvider
    package let clusterName: String
    package let layout: LocalLayout
    package let agentExecutable: String

    package init(provider: AWSClusterProvider, clusterName: String, layout: LocalLayout, agentExecutable: String) {
        self.provider = provider
        self.clusterName = clusterName
        self.layout = layout
        self.agentExecutable = agentExecutable
    }

    var appliedDigestPath: String { layout.root.appendingPathComponent("applied-configuration.sha256").path }

    static func digest(_ text: String) -> String {
        guard case .hex(let hex) = PayloadHash.of(Data(text.utf8)) else { return "" }
        return hex
    }

    /// Writes the state for the configuration stored now; returns it with the configuration's digest.
    @discardableResult
    package func write(
        headNodeAddress: String?, headNodeInstanceId: String, createdAt: Date
    ) async throws -> (spec: LocalClusterSpec, plan: AWSFleetPlan, accounting: (spec: AccountingSpec, password: String)?) {
        var (plan, config, text) = try await provider.fleetPlanAndConfiguration(of: clusterName)
        // slurmdbd at Slurm's default port on the head node; the password through the instance role (the
        // template allows this head node secretsmanager:GetSecretValue on that secret alone).
        let settings = try provider.settings()
        let accounting = try await AccountingSpec.plan(config, clusterName: clusterName, dbdPort: { 6819 }) { arn in
            try await SecretsManagerClient(settings: settings).secretString(arn)
        }
        plan.headNodeAddress = headNodeAddress
        // Every EC2 node is a host of its own, so all use slurmd's default port.
        var ports = Array(repeating: 6818, count: config.scheduling.queues.reduce(0) { $0 + $1.computeResources.reduce(0) { $0 + $1.maxCount } })
        let nodes = try LocalNodePlanner.nodes(for: config, ports: &ports)
        let spec = LocalClusterSpec(
            clusterName: clusterName, slurmClusterName: String(clusterName.lowercased().prefix(40)),
            controllerHost: SlurmConf.controllerHostName(), controllerPort: 6817,
            agentExecutable: agentExecutable, headNodeInstanceId: headNodeInstanceId, headNodeInstanceType: config.headNode.instanceType,
            scaledownIdletimeMinutes: config.scheduling.scaledownIdletime, nodes: nodes,
            queues: config.scheduling.queues.map(\.name), createdAt: createdAt, fastJobStart: true,
            accounting: accounting?.spec)
        try spec.write(to: layout)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(plan).write(to: URL(fileURLWithPath: layout.awsFleetPlan), options: .atomic)
        try Self.digest(text).write(toFile: appliedDigestPath, atomically: true, encoding: .utf8)
        return (spec, plan, accounting)
    }

    /// slurm.conf for this head node's nodes: the controller at the address compute nodes reach it at.
    package func slurmConf(_ spec: LocalClusterSpec, _ plan: AWSFleetPlan) -> String {
        SlurmConf.render(spec: spec, layout: layout, target: .ec2(headNodeAddress: plan.headNodeAddress ?? "127.0.0.1"))
    }

    /// When the stored configuration is not the one applied: rewrites the state and puts it into effect
    /// (slurmctld restarted when the node set changed, reconfigured otherwise; instances of nodes that are gone
    /// are terminated by the next orphan pass). Returns what changed, or nil when nothing did.
    package func applyIfChanged() async throws -> String? {
        guard let text = try await provider.catalog.configuration(of: clusterName) else { return nil }
        let applied = try? String(contentsOfFile: appliedDigestPath, encoding: .utf8)
        guard Self.digest(text) != applied else { return nil }
        let old = try JSONDecoder.iso.decode(LocalClusterSpec.self, from: Data(contentsOf: URL(fileURLWithPath: layout.spec)))
        let oldPlan = try JSONDecoder().decode(AWSFleetPlan.self, from: Data(contentsOf: URL(fileURLWithPath: layout.awsFleetPlan)))
        let (spec, plan, accounting) = try await write(
            headNodeAddress: oldPlan.headNodeAddress, headNodeInstanceId: old.headNodeInstanceId, createdAt: old.createdAt)
        let nodeSetChanged = Set(old.nodes.map(\.name)) != Set(spec.nodes.map(\.name)) || old.queues != spec.queues
        let conf = slurmConf(spec, plan)
        try await HeadNode(layout: layout, agentExecutable: agentExecutable).apply(
            spec, nodeSetChanged: nodeSetChanged, accounting: accounting, accountingHost: plan.headNodeAddress ?? "localhost",
            slurmConf: conf)
        // Login nodes fetch it from there (they run no slurmd that would fetch it from slurmctld).
        try await provider.publish(Data(conf.utf8), as: "slurm/slurm.conf", of: clusterName)
        return "\(spec.nodes.count) compute nodes in \(spec.queues.count) queues" + (nodeSetChanged ? ", slurmctld restarted" : ", reconfigured")
    }
}

extension JSONDecoder {
    /// Dates as the cluster directory's files write them.
    static var iso: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
