import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct DeleteCluster: ExistingClusterCommand {
    static let configuration = CommandConfiguration(commandName: "delete-cluster", abstract: "Initiate the deletion of a cluster.")
    static let providerWork = "deleting a cluster"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Flag(name: .long, help: "Wait for the deletion to finish.") var wait = false
    @OptionGroup var common: CommonOptions
}

extension DeleteCluster {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        var deleting = try await provider.catalog.update(clusterName) { $0.clusterStatus = .deleteInProgress } ?? record
        deleting.clusterStatus = .deleteInProgress
        deleting.stackStatus = deleting.stackStatus.map { _ in "DELETE_IN_PROGRESS" }
        if wait { env.progress("[\(clusterName)] deleting every resource of the cluster") }
        let say = env.progress(of: clusterName, shown: wait)
        do {
            try await provider.delete(name: clusterName, wait: wait, progress: say)
        } catch {
            let unrecorded = await Responses.statusNotRecorded { try await provider.catalog.update(clusterName) { $0.clusterStatus = .deleteFailed } }
            return .failure(message: "Deleting cluster '\(clusterName)' failed: \(error)\(unrecorded)", status: 500)
        }
        if wait {
            env.progress("[\(clusterName)] DELETE_COMPLETE")
            return .ok(["message": .string("Successfully deleted cluster '\(clusterName)'.")])
        }
        return .ok(["cluster": .object(clusterSummary(deleting))])
    }
}
