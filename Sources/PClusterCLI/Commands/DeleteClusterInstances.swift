import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct DeleteClusterInstances: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-cluster-instances", abstract: "Initiate the forced termination of all cluster compute nodes.")
    static let providerWork = "terminating compute nodes"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "Force the deletion also when the cluster is not found (true|false).") var force: BoolArgument?
    @OptionGroup var common: CommonOptions
}

extension DeleteClusterInstances {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        try await provider.terminateComputeNodes(of: clusterName)
        return CommandOutcome(json: nil, exitCode: 0)
    }
}
