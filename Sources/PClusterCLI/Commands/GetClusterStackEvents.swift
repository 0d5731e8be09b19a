import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct GetClusterStackEvents: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-cluster-stack-events", abstract: "Retrieve the events associated with the stack for a given cluster.")
    static let providerWork = "reading stack events"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @OptionGroup var common: CommonOptions
}

extension GetClusterStackEvents {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        // Newest first, as CloudFormation lists them.
        let events = await Array(provider.events(of: clusterName).reversed())
        let stackId = stackArn(record)
        return .ok([
            "events": .array(
                events.enumerated().map { index, event in
                    var o: JSONObject = [
                        "eventId": .string(event.stackEvent?.eventId ?? "\(record.name)-\(events.count - index)"),
                        "logicalResourceId": .string(event.resource),
                        "physicalResourceId": .string(event.stackEvent?.physicalResourceId ?? event.resource),
                        "resourceStatus": .string(event.status),
                        "resourceType": .string(event.stackEvent?.resourceType ?? "Local::Cluster::Resource"),
                        "stackId": .string(event.stackEvent?.stackId ?? stackId), "stackName": .string(record.name),
                        "timestamp": .string(Providers.iso.string(from: event.timestamp)),
                    ]
                    if !event.reason.isEmpty || event.stackEvent == nil { o["resourceStatusReason"] = .string(event.reason) }
                    return .object(o)
                })
        ])
    }
}
