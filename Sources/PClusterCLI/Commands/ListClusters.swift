import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct ListClusters: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "list-clusters", abstract: "Retrieve the list of existing clusters.")
    @Option(name: [.customShort("r"), .long], help: "List clusters deployed to a given AWS Region.")
    var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.")
    var nextToken: String?
    @Option(name: .customLong("cluster-status"), parsing: .upToNextOption, help: "Filter by cluster status (repeatable).")
    var clusterStatus: [ClusterStatusArgument] = []
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        if let refusal = RegionRule.refusal(env.region(region)) { return refusal }
        var records: [ClusterRecord]
        do {
            records = try await Providers.selected(env, region: env.region(region)).catalog.records()
        } catch {
            return .failure(message: "\(error)")
        }
        if let r = env.region(region) { records = records.filter { $0.region == r } }
        if !clusterStatus.isEmpty {
            records = records.filter { r in clusterStatus.contains { $0.rawValue == r.clusterStatus.rawValue } }
        } else {
            records = records.filter { $0.clusterStatus != .deleteComplete }
        }
        let pageSize = 50
        let start = Int(nextToken ?? "0") ?? 0
        guard start >= 0, start <= records.count else { return .failure(message: "Bad Request: invalid --next-token '\(nextToken ?? "")'.") }
        let page = records[start..<min(records.count, start + pageSize)]
        var o: JSONObject = ["clusters": .array(page.map { .object(clusterSummary($0)) })]
        if start + pageSize < records.count { o["nextToken"] = .string(String(start + pageSize)) }
        return .ok(.object(o))
    }
}
