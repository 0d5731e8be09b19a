import ClusterProviders
import PClusterCLI

extension PClusterCLI {
    /// The CLI as the `pcluster` executable runs it, with this build's providers.
    static func run(_ arguments: [String], environment: [String: String]) async -> Result {
        await run(arguments, environment: environment, providers: StandardProviders(originalVersion: PClusterVersion.original))
    }
}
