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
    /// The original's filters: `Name=private-dns-name,Values=a,b` or `Name=node-type,Values=HeadNode`.
    static let filterPattern = #"^(Name=(private-dns-name|node-type),Values=[\w\-_.,]+)$"#

    func refusal() -> CommandOutcome? {
        for filter in filters where filter.range(of: Self.filterPattern, options: .regularExpression) == nil {
            return .failure(message: "Bad Request: provided filters parameter '\(filter)' must be in the form \(Self.filterPattern).")
        }
        return nil
    }

    /// A local stream belongs to a compute node when it is its slurmd's (`slurmd-NODE`); the others are the head node's.
    static func matches(_ stream: String, filters: [String]) -> Bool {
        filters.allSatisfy { filter in
            let parts = filter.split(separator: ",", maxSplits: 1)
            let name = parts[0].dropFirst("Name=".count)
            let values = parts[1].dropFirst("Values=".count).split(separator: ",").map(String.init)
            let node = stream.hasPrefix("slurmd-") ? String(stream.dropFirst("slurmd-".count)) : nil
            if name == "node-type" { return values.contains(node == nil ? "HeadNode" : "ComputeNode") }
            return values.contains { stream == $0 || node == $0 || stream.hasPrefix($0 + ".") }
        }
    }

    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        if let reason = provider.logsUnavailable() { return Responses.unavailable("list-cluster-log-streams", reason) }
        // In name order, as CloudWatch lists a log group's streams.
        let streams = await provider.logStreams(of: clusterName).filter { Self.matches($0.name, filters: filters) }.sorted { $0.name < $1.name }
        let page: [ClusterLogStream], next: String?
        switch Pages.page(streams, size: Pages.logStreams, kind: "streams", token: nextToken) {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): (page, next) = found
        }
        var answer: JSONObject = [
            "logStreams": .array(
                page.map { stream in
                    // Every field of the API's LogStream: a local stream's creation is its first event.
                    let created = Providers.iso.string(from: stream.creationTime)
                    let last = Providers.iso.string(from: stream.lastEventTime)
                    return [
                        "logStreamName": .string(stream.name), "creationTime": .string(created), "firstEventTimestamp": .string(created),
                        "lastEventTimestamp": .string(last), "lastIngestionTime": .string(last),
                        "uploadSequenceToken": .string(String(stream.size)), "logStreamArn": .string(stream.location),
                    ]
                })
        ]
        answer["nextToken"] = next.map(JSONValue.string)
        return .ok(.object(answer))
    }
}
