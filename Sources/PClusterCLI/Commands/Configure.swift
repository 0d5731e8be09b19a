import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct Configure: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "configure", abstract: "Start the AWS ParallelCluster configuration wizard.")
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: [.customShort("c"), .customLong("config")], help: "Path to output the generated config file.") var config: String
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        try ConfigureWizard(path: config, region: env.region(region), env: env).run()
    }
}
