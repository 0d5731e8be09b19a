import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct DescribeClusterInstances: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe-cluster-instances", abstract: "Describe the instances belonging to a given cluster.")
    static let providerWork = "listing instances"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @Option(name: .customLong("node-type"), help: "Filter the instances by node type.") var nodeType: NodeTypeArgument?
    @Option(name: .customLong("queue-name"), help: "Filter the instances by queue name.") var queueName: String?
    @OptionGroup var common: CommonOptions
}

extension DescribeClusterInstances {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        let instances = await provider.instances(of: clusterName).filter { instance in
            (nodeType == nil || nodeType?.rawValue == instance.nodeType) && (queueName == nil || instance.queueName == queueName)
        }
        return .ok(["instances": .array(instances.map { .object(Providers.instanceJSON($0)) })])
    }
}
