import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct GetClusterLogEvents: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-cluster-log-events", abstract: "Retrieve the events associated with a log stream.")
    static let providerWork = "reading cluster logs"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: .customLong("log-stream-name"), help: "Name of the log stream.") var logStreamName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @Option(name: .customLong("start-from-head"), help: "Return the oldest events first (true|false).") var startFromHead: BoolArgument?
    @Option(name: .long, help: "Maximum number of log events returned.") var limit: Int?
    @Option(name: .customLong("start-time"), help: "Start time (ISO 8601).") var startTime: String?
    @Option(name: .customLong("end-time"), help: "End time (ISO 8601).") var endTime: String?
    @OptionGroup var common: CommonOptions
}

extension GetClusterLogEvents {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        if let reason = provider.logsUnavailable() { return Responses.unavailable("get-cluster-log-events", reason) }
        guard var lines = await provider.logLines(of: clusterName, stream: logStreamName) else {
            return .failure(
                message: "Log stream '\(logStreamName)' does not exist; `pcluster list-cluster-log-streams -n \(clusterName)` lists them.")
        }
        let fromHead = startFromHead?.value ?? false
        if let limit, limit >= 0 { lines = fromHead ? Array(lines.prefix(limit)) : Array(lines.suffix(limit)) }
        return .ok(["events": .array(lines.map { ["message": .string($0)] })])
    }
}
