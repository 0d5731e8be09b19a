import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct ListClusterLogStreams: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-cluster-log-streams", abstract: "Retrieve the list of log streams associated with a cluster.")
    static let providerWork = "reading cluster logs"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, parsing: .upToNextOption, help: "Filter the log streams (Name=private-dns-name|node-type,Values=...).") var filters:
        [String] = []
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @OptionGroup var common: CommonOptions
}

extension ListClusterLogStreams {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        if let reason = provider.logsUnavailable() { return Responses.unavailable("list-cluster-log-streams", reason) }
        return await .ok([
            "logStreams": .array(
                provider.logStreams(of: clusterName).map { stream in
                    [
                        "logStreamName": .string(stream.name), "lastEventTimestamp": .string(Providers.iso.string(from: stream.lastEventTime)),
                        "logStreamArn": .string(stream.location),
                    ]
                })
        ])
    }
}
