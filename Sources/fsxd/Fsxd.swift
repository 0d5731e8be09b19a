import AWSCore
import ArgumentParser
import DataRepository
import FSxService
import Foundation
import Logging
import LustreFS
import ServiceLifecycle

@main
struct Fsxd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsxd",
        abstract: "The local FSx service: the FSx API (JSON 1.1, SigV4) for the file systems it owns.",
        discussion: """
            Requests must be signed with the credentials this process resolves the way the AWS CLI does \
            (environment, profile), so `aws fsx ... --endpoint-url http://127.0.0.1:7800` works with them.
            """)

    @Option(help: "Port on 127.0.0.1.") var port: Int = 7800
    @Option(help: "Where file systems and the service's records live (readable by root only).")
    var stateDirectory: String = getuid() == 0 ? "/var/lib/fsx-local" : NSHomeDirectory() + "/.fsx-local"
    @Option(help: "Seconds a client may take to send a request's head (and a connection may stay idle).")
    var headerTimeout: Int = 20
    @Option(help: "Seconds a client may take to send a request's body.")
    var bodyTimeout: Int = 30
    @Option(help: "Seconds a read of a released file may wait with no data arriving from the repository before it fails with EIO.")
    var readTimeout: Double = 60

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "fsxd")
        let settings: AWSSettings
        let credentials: AWSCredentials
        do {
            settings = try AWSSettings.resolve()
            credentials = try await settings.credentials.credentials()
        } catch {
            throw ValidationError("fsxd needs the credentials it will accept requests from: \(error)")
        }
        guard readTimeout > 0 else { throw ValidationError("--read-timeout must be more than 0 seconds") }
        let service = try FSxService(
            stateDirectory: stateDirectory, repositories: EnvironmentRepositories(), region: settings.region,
            readStallSeconds: readTimeout)
        try await service.start()
        guard headerTimeout > 0, bodyTimeout > 0 else { throw ValidationError("--header-timeout and --body-timeout must be at least 1 second") }
        let limits = RequestLimits(headerTimeout: .seconds(headerTimeout), bodyTimeout: .seconds(bodyTimeout))
        let server = FSxServer(service: service, credentials: [credentials], port: port, limits: limits)
        FileHandle.standardError.write(Data("fsxd: listening on 127.0.0.1:\(port), state in \(stateDirectory)\n".utf8))
        // SIGTERM and SIGINT shut the group down in reverse order: the server stops taking requests, then the
        // service unmounts and closes its file systems.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    ServiceGroupConfiguration.ServiceConfiguration(service: service),
                    ServiceGroupConfiguration.ServiceConfiguration(service: server.application(logger: logger)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
