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
        let page: [(offset: Int, element: ClusterEvent)], next: String?
        switch Pages.page(Array(events.enumerated()), size: Pages.stackEvents, kind: "events", token: nextToken) {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): (page, next) = found
        }
        var answer: JSONObject = [:]
        answer["nextToken"] = next.map(JSONValue.string)
        answer["events"] = .array(
            page.map { index, event in
                var o: JSONObject = [
                    "eventId": .string(event.stackEvent?.eventId ?? "\(record.name)-\(events.count - index)"),
                    "logicalResourceId": .string(event.resource),
                    "physicalResourceId": .string(event.stackEvent?.physicalResourceId ?? event.resource),
                    "resourceStatus": .string(StackEventStatus.api(event.status)),
                    "resourceType": .string(event.stackEvent?.resourceType ?? "Local::Cluster::Resource"),
                    "stackId": .string(event.stackEvent?.stackId ?? stackId), "stackName": .string(record.name),
                    "timestamp": .string(Providers.iso.string(from: event.timestamp)),
                ]
                let reason = StackEventStatus.reason(event.status, event.reason)
                if !reason.isEmpty || event.stackEvent == nil { o["resourceStatusReason"] = .string(reason) }
                return .object(o)
            })
        return .ok(.object(answer))
    }
}

/// The local cluster's events in CloudFormation's resource statuses, the only ones the API has: a
/// node's launch is its creation, a power-down its deletion. The event's own word leads the reason.
enum StackEventStatus {
    static let cloudFormation: Set<String> = [
        "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_COMPLETE",
        "DELETE_SKIPPED", "UPDATE_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_COMPLETE", "IMPORT_FAILED", "IMPORT_COMPLETE",
        "IMPORT_IN_PROGRESS", "IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
    ]
    static let local: [String: String] = [
        "RESUME": "CREATE_IN_PROGRESS", "LAUNCHED": "CREATE_COMPLETE", "RESUME_FAILED": "CREATE_FAILED",
        "SUSPEND": "DELETE_IN_PROGRESS", "TERMINATED": "DELETE_COMPLETE", "CAPACITY_HOLD": "UPDATE_FAILED",
        "CAPACITY_HOLD_ENDED": "UPDATE_COMPLETE", "UPDATE_APPLIED": "UPDATE_COMPLETE", "UPDATE_NOT_APPLIED": "UPDATE_FAILED",
    ]

    static func api(_ status: String) -> String {
        cloudFormation.contains(status) ? status : local[status] ?? "UPDATE_COMPLETE"
    }

    static func reason(_ status: String, _ reason: String) -> String {
        cloudFormation.contains(status) ? reason : reason.isEmpty ? status : "\(status): \(reason)"
    }
}
