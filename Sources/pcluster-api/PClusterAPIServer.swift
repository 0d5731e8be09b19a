import AWSCore
import ArgumentParser
import ClusterProviders
import Foundation
import Logging
import PClusterCLI
import ParallelClusterAPI
import ServiceLifecycle

@main
struct PClusterAPIServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcluster-api",
        abstract: "The ParallelCluster API (the original's openapi.yaml, /v3/...) on 127.0.0.1, for the clusters pcluster manages.",
        discussion: """
            Requests must be signed with SigV4 for the service execute-api, as API Gateway's IAM authorization \
            requires, with the credentials this process resolves the way the AWS CLI does (environment, profile). \
            Each operation runs as the matching pcluster command in this process, with this process's environment \
            (PCLUSTER_PROVIDER, PCLUSTER_STATE_DIR, AWS settings).
            """)

    @Option(help: "Port on 127.0.0.1.") var port: Int = 8080
    @Option(help: "The dashboard's session token (default: a new random one, printed with the dashboard's address).")
    var dashboardToken: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "pcluster-api")
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
        let credentials: AWSCredentials
        do {
            credentials = try await AWSSettings.resolve().credentials.credentials()
        } catch {
            throw ValidationError("pcluster-api needs the credentials it will accept requests from: \(error)")
        }
        // 128 random bits: whoever has the address with it can do what the server's credentials can.
        let token = dashboardToken ?? (0..<4).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max)) }.joined()
        guard token.count >= 16 else { throw ValidationError("--dashboard-token must have at least 16 characters") }
        let server = APIServer(
            credentials: [credentials], environment: ProcessInfo.processInfo.environment,
            providers: StandardProviders(originalVersion: PClusterVersion.original), port: port, dashboardToken: token)
        FileHandle.standardError.write(Data("pcluster-api: listening on http://127.0.0.1:\(port)/v3\n".utf8))
        FileHandle.standardError.write(Data("pcluster-api: dashboard at http://127.0.0.1:\(port)/#token=\(token)\n".utf8))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [ServiceGroupConfiguration.ServiceConfiguration(service: server.application(logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
