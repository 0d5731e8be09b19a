import ArgumentParser
import Foundation
import LocalCluster

/// The node agent of a local cluster. Slurm runs `resume`, `suspend` and `prolog` through the small
/// scripts in the cluster's bin/ directory; `manage` is the cluster-manager loop the head node runs.
@main
struct PClusterAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcluster-agent",
        abstract: "Node agent of a local pcluster cluster (run by Slurm and by pcluster, not by hand).",
        subcommands: [Resume.self, Suspend.self, Prolog.self, Manage.self])
}

struct ClusterDirectory: ParsableArguments {
    @Option(help: "The cluster's directory in the pcluster state store.") var clusterDir: String
    func agent() throws -> NodeAgent {
        do { return try NodeAgent(clusterDirectory: clusterDir) } catch {
            FileHandle.standardError.write(Data("pcluster-agent: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Slurm's ResumeProgram: start the nodes of HOSTLIST.")
    @OptionGroup var cluster: ClusterDirectory
    @Argument var hostlist: String
    func run() throws { try cluster.agent().resume(hostlist) }
}

struct Suspend: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Slurm's SuspendProgram: stop the nodes of HOSTLIST.")
    @OptionGroup var cluster: ClusterDirectory
    @Argument var hostlist: String
    func run() throws { try cluster.agent().suspend(hostlist) }
}

struct Prolog: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Slurm's PrologSlurmctld: return when the job's nodes are up.")
    @OptionGroup var cluster: ClusterDirectory
    func run() throws {
        let nodes = ProcessInfo.processInfo.environment["SLURM_JOB_NODELIST"] ?? ""
        if !nodes.isEmpty { try cluster.agent().prolog(nodes: nodes) }
    }
}

struct Manage: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The cluster-manager loop.")
    @OptionGroup var cluster: ClusterDirectory
    @Option(help: "Seconds between passes.") var interval: Double = 5
    func run() throws { try cluster.agent().manage(interval: interval) }
}
