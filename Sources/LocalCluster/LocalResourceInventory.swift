import AWSFSx
import AWSSecretsManager
import ClusterConfig
import Foundation
import SlurmHeadNode

/// The resource validators' questions answered on this machine: file systems by the FSx service that
/// would mount them (AWS_ENDPOINT_URL_FSX, else the local service on 127.0.0.1:7800).
package struct LocalResourceInventory: ResourceInventory {
    let environment: [String: String]

    package init(environment: [String: String]) { self.environment = environment }

    var endpoint: String { environment["AWS_ENDPOINT_URL_FSX"] ?? LocalSharedStorage.defaultEndpoint }

    package var source: String { "the FSx service at \(endpoint)" }

    package func fileSystem(_ id: String) async throws -> FileSystemLookup? {
        if let url = URL(string: endpoint), ["127.0.0.1", "localhost"].contains(url.host ?? ""),
            !PortAllocator.isListening(url.port ?? 80)
        {
            // Not started yet: create-cluster starts the local service and then says whether the file system exists.
            throw LocalClusterError(
                endpoint == LocalSharedStorage.defaultEndpoint
                    ? "the local FSx service is not running yet (create-cluster starts it)"
                    : "nothing listens at \(endpoint)")
        }
        let client = try FSxClient(settings: try LocalSharedStorage.settings(environment))
        return try await client.lifecycle(of: id).map { .found(lifecycle: $0) } ?? .notFound
    }

    package func secret(_ arn: String) async throws -> SecretLookup? {
        switch try await SecretsManagerClient(settings: try LocalSharedStorage.settings(environment)).state(of: arn) {
        case .readable: return .readable
        case .notFound: return .notFound
        case .accessDenied: return .accessDenied
        case .failed(let code): return .failed(code)
        }
    }
}
