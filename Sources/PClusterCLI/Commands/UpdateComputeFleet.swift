import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct UpdateComputeFleet: ExistingClusterCommand {
    static let configuration = CommandConfiguration(commandName: "update-compute-fleet", abstract: "Update the status of the cluster compute fleet.")
    static let providerWork = "starting or stopping the compute fleet"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "The status to set the compute fleet to.") var status: FleetStatusArgument
    @OptionGroup var common: CommonOptions
}

extension UpdateComputeFleet {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        switch status {
        case .ENABLED, .DISABLED:
            return .failure(message: "Bad Request: ENABLED and DISABLED apply to AWS Batch clusters; use START_REQUESTED or STOP_REQUESTED.")
        case .START_REQUESTED:
            // Starting the fleet also brings back a head node whose services died (a reboot, a kill).
            do { _ = try await provider.recover(name: clusterName) } catch {
                return .failure(message: "Cannot restart the head node of '\(clusterName)': \(error)")
            }
        case .STOP_REQUESTED:
            break
        }
        let updated = try await provider.catalog.update(clusterName) { $0.computeFleetStatus = status.fleetStatus } ?? record
        return .ok([
            "status": .string(updated.computeFleetStatus.rawValue),
            "lastStatusUpdatedTime": .string(Providers.iso.string(from: updated.lastUpdatedTime)),
        ])
    }
}
