import ArgumentParser
import Foundation
import Provisioning
import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

/// What keeps a local login node's namespaces alive: it waits, doing nothing, until it is stopped.
struct LoginNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login-node", abstract: "Hold a local login node's namespaces (run by pcluster).", shouldDisplay: false)
    @Option(help: "The login node's host name.") var name: String
    @Option(help: "The cluster's directory.") var clusterDir: String

    func run() throws {
        while true { pause() }
    }
}

/// A shell on a login node of a local cluster: its host name, the cluster's hosts file and Slurm. The
/// original's users ssh to the pool's load balancer; here the login node is a set of namespaces on this
/// machine, entered with util-linux's nsenter.
struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Open a shell (or run a command) on a login node of a local cluster.",
        discussion: "pcluster-agent login -n demo            # a shell on the first node of the first pool\n"
            + "pcluster-agent login -n demo --pool login -- sinfo")
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "Its region, where several have a cluster of that name.") var region: String?
    @Option(help: "The login node pool (default: the first).") var pool: String?
    @Option(help: "Which node of the pool, from 1.") var node: Int = 1
    @Argument(parsing: .captureForPassthrough, help: "The command to run (default: an interactive shell).") var command: [String] = []

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        var store = ClusterStore.defaultStore(environment: environment)
        if let region = region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] { store = store.scoped(to: region) }
        let directory: URL
        do {
            guard let found = try store.locate(clusterName) else { throw fail("no local cluster named '\(clusterName)' in \(store.root.path)") }
            directory = found
        } catch let exit as ExitCode { throw exit } catch { throw fail("\(error)") }
        let layout = LocalLayout(root: directory)
        guard let data = FileManager.default.contents(atPath: layout.spec),
            let spec = try? InstanceRegistry.decoder.decode(LocalClusterSpec.self, from: data)
        else { throw fail("cluster '\(clusterName)' has no local.json: it is not a local cluster") }
        guard !spec.loginPools.isEmpty else { throw fail("cluster '\(clusterName)' has no LoginNodes pools") }
        guard let chosen = pool.map({ name in spec.loginPools.first { $0.name == name } }) ?? spec.loginPools.first else {
            throw fail(
                "cluster '\(clusterName)' has no login node pool '\(pool ?? "")'; it has \(spec.loginPools.map(\.name).joined(separator: ", "))")
        }
        guard (1...max(1, chosen.count)).contains(node), chosen.count > 0 else {
            throw fail("pool '\(chosen.name)' has \(chosen.count) nodes; --node takes 1 to \(chosen.count)")
        }
        let name = chosen.nodeNames[node - 1]
        let agent = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        guard let pid = LoginNodes(layout: layout, agentExecutable: agent).pid(of: name) else {
            throw fail("login node \(name) is not running; `pcluster update-compute-fleet -n \(clusterName) --status START_REQUESTED` starts it")
        }
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        let shell = environment["SHELL"].flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil } ?? "/bin/bash"
        let program =
            // In this directory, as `pcluster ssh` to a local head node is (nsenter would go to /).
            [
                "/usr/bin/nsenter", "--target", String(pid), "--uts", "--mount", "--wd=\(FileManager.default.currentDirectoryPath)", "--",
                "/usr/bin/env", "SLURM_CONF=\(layout.slurmConf)",
            ]
            + (arguments.isEmpty ? [shell, "-l"] : ["/bin/sh", "-c", arguments.joined(separator: " ")])
        let argv = program.map { strdup($0) } + [nil]
        execv(program[0], argv)
        throw fail("cannot run nsenter: \(String(cString: strerror(errno)))")
    }
}
