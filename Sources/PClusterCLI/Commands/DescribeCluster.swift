import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct DescribeCluster: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "describe-cluster", abstract: "Get detailed information about an existing cluster.")
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        let provider: any ClusterProvider, r: ClusterRecord
        switch await Providers.find(clusterName, env: env, region: region, command: Self.configuration.commandName ?? "") {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): (provider, r) = found
        }
        return .ok(.object(await Self.describe(r, provider: provider)))
    }

    /// What describe-cluster prints for a cluster, which `--wait` on create and update print too.
    static func describe(_ r: ClusterRecord, provider: any ClusterProvider) async -> JSONObject {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var described: JSONObject = await [
            "clusterName": .string(r.name), "region": .string(r.region), "version": .string(r.version),
            "cloudFormationStackStatus": .string(r.stackStatus ?? r.clusterStatus.rawValue), "clusterStatus": .string(r.clusterStatus.rawValue),
            "scheduler": ["type": "slurm"],
            "cloudformationStackArn": .string(stackArn(r)),
            "creationTime": .string(iso.string(from: r.creationTime)), "lastUpdatedTime": .string(iso.string(from: r.lastUpdatedTime)),
            "clusterConfiguration": ["url": .string(provider.catalog.configurationURL(of: r.name))],
            "computeFleetStatus": .string(r.computeFleetStatus.rawValue),
            "tags": .array((r.tags ?? [:]).sorted { $0.key < $1.key }.map { ["key": .string($0.key), "value": .string($0.value)] }),
        ]
        let (head, failures) = await Providers.describe(r, provider: provider)
        if let head { described["headNode"] = .object(head) }
        // As the original: listed once the head node answers, and only when the cluster has pools.
        let pools = await provider.loginNodePools(of: r.name)
        if head != nil && !pools.isEmpty {
            described["loginNodes"] = .array(
                pools.map { pool in
                    var entry: JSONObject = ["status": .string(pool.status), "poolName": .string(pool.poolName)]
                    if let address = pool.address { entry["address"] = .string(address) }
                    if let scheme = pool.scheme { entry["scheme"] = .string(scheme) }
                    if let healthy = pool.healthyNodes { entry["healthyNodes"] = .int(healthy) }
                    if let unhealthy = pool.unhealthyNodes { entry["unhealthyNodes"] = .int(unhealthy) }
                    return .object(entry)
                })
        }
        if !failures.isEmpty { described["failures"] = .array(failures) }
        return described
    }
}
