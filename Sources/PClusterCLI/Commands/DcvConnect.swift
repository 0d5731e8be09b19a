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
}
