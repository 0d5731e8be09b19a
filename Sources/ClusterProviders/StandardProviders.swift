import AWSCore
import AWSProvider
import ClusterConfig
import Foundation
import LocalCluster
import Provisioning

/// The providers this build has: local (this machine, real Slurm) and aws. The only place that knows them
/// by type; the CLI works through `ProviderDirectory` and `ClusterProvider`.
package struct StandardProviders: ProviderDirectory {
    /// The original version the AWS provider presents itself as (its AMIs, its template's tags).
    let originalVersion: String

    package init(originalVersion: String) { self.originalVersion = originalVersion }

    package func provider(_ kind: ProviderKind, environment: [String: String], store: ClusterStore, region: String?) -> any ClusterProvider {
        switch kind {
        case .local:
            // PCLUSTER_SLURM_FAST_START=false keeps Slurm's own job start (for measuring the difference).
            let fast = environment["PCLUSTER_SLURM_FAST_START"]?.lowercased() != "false"
            return LocalClusterRuntime(store: store.scoped(to: region), agentExecutable: Self.agentExecutable(environment), fastJobStart: fast)
        case .aws:
            return AWSClusterProvider(environment: environment, region: region, version: originalVersion)
        }
    }

    package func inventory(_ kind: ProviderKind, environment: [String: String], region: String?) -> (any ResourceInventory)? {
        switch kind {
        case .local: return LocalResourceInventory(environment: environment)
        case .aws: return AWSResourceInventory(lazy: environment, region: region)
        }
    }

    package func cloudFormationTemplate(clusterName: String, config: ClusterConfiguration) throws -> String {
        ClusterTemplate(clusterName: clusterName, config: config, version: originalVersion).render()
    }

    package func configuredRegion(environment: [String: String]) -> String? {
        AWSSettings.configuredRegion(environment: environment)
    }

    /// PCLUSTER_AGENT, else `pcluster-agent` beside the running executable.
    static func agentExecutable(_ variables: [String: String]) -> String {
        if let path = variables["PCLUSTER_AGENT"], !path.isEmpty { return path }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("pcluster-agent").path
    }
}
