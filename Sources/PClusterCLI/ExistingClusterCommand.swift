import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

func clusterSummary(_ r: ClusterRecord) -> JSONObject {
    [
        "clusterName": .string(r.name), "region": .string(r.region), "version": .string(r.version),
        "cloudformationStackArn": .string(stackArn(r)),
        "cloudformationStackStatus": .string(r.stackStatus ?? r.clusterStatus.rawValue), "clusterStatus": .string(r.clusterStatus.rawValue),
        "scheduler": ["type": "slurm"],
    ]
}

/// The stack's id for an AWS cluster; a local cluster's stands in its place in the same shape.
func stackArn(_ r: ClusterRecord) -> String { r.stackArn ?? "arn:pcluster-local:\(r.region):local:stack/\(r.name)" }

/// Commands that act on one existing cluster; their backend is the cluster provider.
protocol ExistingClusterCommand: PClusterCommand {
    var clusterName: String { get }
    var region: String? { get }
    static var providerWork: String { get }
    /// A refusal of the request's own values, given before the cluster is looked up (as the original).
    func refusal() -> CommandOutcome?
    /// The command's work, through the provider that runs the cluster.
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome
}

extension ExistingClusterCommand {
    func refusal() -> CommandOutcome? { nil }

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        // The cluster name and region are checked by Providers.find, first thing.
        if let refusal = refusal() { return refusal }
        let provider: any ClusterProvider, record: ClusterRecord
        switch await Providers.find(clusterName, env: env, region: region, command: Self.configuration.commandName ?? "") {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): (provider, record) = found
        }
        return try await perform(record: record, provider: provider, env: env)
    }

    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        Responses.unavailable(
            Self.configuration.commandName ?? "this command",
            "the \(provider.providerName) provider does not do \(Self.providerWork) yet.")
    }
}
