import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct Version: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Displays the version of AWS ParallelCluster.")
    @OptionGroup var common: CommonOptions
    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        .ok(["version": .string(PClusterVersion.original), "swiftVersion": .string(PClusterVersion.ours)])
    }
}
