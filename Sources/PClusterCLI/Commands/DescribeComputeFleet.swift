import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct DescribeComputeFleet: ExistingClusterCommand {
    static let configuration = CommandConfiguration(commandName: "describe-compute-fleet", abstract: "Describe the status of the compute fleet.")
    static let providerWork = "reading the compute fleet"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @OptionGroup var common: CommonOptions
}

extension DescribeComputeFleet {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        .ok([
            "status": .string(record.computeFleetStatus.rawValue),
            "lastStatusUpdatedTime": .string(Providers.iso.string(from: record.lastUpdatedTime)),
        ])
    }
}
