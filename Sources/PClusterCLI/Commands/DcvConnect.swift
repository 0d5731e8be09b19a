import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct DcvConnect: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "dcv-connect", abstract: "Connect to the head node through an interactive DCV session.")
    static let providerWork = "DCV sessions"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("key-path"), help: "Key path of the SSH key to use for the connection.") var keyPath: String?
    @Flag(name: .customLong("show-url"), help: "Print the URL instead of opening a browser.") var showUrl = false
    @Option(name: .customLong("login-node-ip"), help: "IP address of a login node to connect to.") var loginNodeIp: String?
    @OptionGroup var common: CommonOptions

    /// As the original: the one-time URL printed (with --show-url, or when no browser opens), else opened.
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        guard loginNodeIp == nil else {
            return CommandOutcome(json: nil, stderr: "ERROR: \(loginNodeIp ?? "") is not an IP address of a login node.\n", exitCode: 1)
        }
        let url: String?
        do {
            url = try await provider.desktopSession(of: clusterName)
        } catch {
            return CommandOutcome(json: nil, stderr: "ERROR: Unable to connect to the cluster.\n\(error)\n", exitCode: 1)
        }
        guard let url else {
            return Responses.unavailable(
                Self.configuration.commandName ?? "dcv-connect", "the \(provider.providerName) provider does not do \(Self.providerWork) yet.")
        }
        let message = "Please use the following one-time URL in your browser within 30 seconds:\n\(url)\n"
        if showUrl { return CommandOutcome(json: nil, text: message, exitCode: 0) }
        let opener = ["/usr/bin/xdg-open", "/usr/bin/sensible-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let opener, env.variables["DISPLAY"] != nil || env.variables["WAYLAND_DISPLAY"] != nil {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: opener)
            process.arguments = [url]
            if (try? process.run()) != nil { return CommandOutcome(json: nil, exitCode: 0) }
        }
        return CommandOutcome(json: nil, text: "Unable to open the Web browser.\n" + message, exitCode: 0)
    }
}
