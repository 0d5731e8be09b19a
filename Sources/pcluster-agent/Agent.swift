import AWSCore
import AWSProvider
import ArgumentParser
import Foundation
import LocalCluster

/// The node agent of a cluster. Slurm runs `resume`, `suspend` and `prolog` through the small scripts in the
/// cluster's bin/ directory; `manage` is the cluster-manager loop the head node runs. On an AWS cluster's
/// head node, `bootstrap` first writes the agent's state from the stack, and compute nodes are EC2 instances.
@main
struct PClusterAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcluster-agent",
        abstract: "Node agent of a pcluster cluster (run by Slurm and by pcluster, not by hand).",
        subcommands: [Resume.self, Suspend.self, Prolog.self, Manage.self, Bootstrap.self])
}

func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("pcluster-agent: \(message)\n".utf8))
    return ExitCode(1)
}

struct ClusterDirectory: ParsableArguments {
    @Option(help: "The cluster's directory (the pcluster state store's, or the one bootstrap wrote).") var clusterDir: String

    /// The agent, with the EC2 launcher when the directory holds an AWS cluster's launch plan.
    func agent() throws -> NodeAgent {
        let layout = LocalLayout(root: URL(fileURLWithPath: clusterDir))
        do {
            guard let data = FileManager.default.contents(atPath: layout.awsFleetPlan) else {
                return try NodeAgent(clusterDirectory: clusterDir)
            }
            let plan = try JSONDecoder().decode(AWSFleetPlan.self, from: data)
            let settings = try AWSSettings.resolve(environment: ProcessInfo.processInfo.environment, region: plan.region)
            return try NodeAgent(clusterDirectory: clusterDir, launcher: EC2NodeLauncher(plan: plan, settings: settings, layout: layout))
        } catch {
            throw fail("\(error)")
        }
    }
}

struct Bootstrap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "On an AWS cluster's head node: write the agent's state (the nodes and the EC2 launch plan) from the cluster's stack and configuration.")
    @Option(help: "The cluster (its CloudFormation stack's name).") var clusterName: String
    @Option(help: "The AWS Region (default: the environment's).") var region: String?
    @Option(help: "Where to write the cluster's directory.") var clusterDir: String

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        do {
            let settings = try AWSSettings.resolve(environment: environment, region: region)
            let stack = try BlockingWait.run { try await CloudFormation(settings: settings).describeStack(clusterName) }
            guard let stack, let version = stack.tags["parallelcluster:version"] else {
                throw fail("cluster \(clusterName) has no stack in \(settings.region) (or the stack is not a ParallelCluster stack)")
            }
            let provider = AWSClusterProvider(environment: environment, region: settings.region, version: version)
            let (plan, config) = try provider.fleetPlan(of: clusterName)
            // Every EC2 node is a host of its own, so all use slurmd's default port.
            var ports = Array(repeating: 6818, count: config.scheduling.queues.reduce(0) { $0 + $1.computeResources.reduce(0) { $0 + $1.maxCount } })
            let nodes = try LocalNodePlanner.nodes(for: config, ports: &ports)
            var hostname = [CChar](repeating: 0, count: 256)
            gethostname(&hostname, 255)
            let host = String(decoding: hostname.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let spec = LocalClusterSpec(
                clusterName: clusterName, slurmClusterName: String(clusterName.lowercased().prefix(40)),
                controllerHost: host.split(separator: ".").first.map(String.init) ?? host, controllerPort: 6817,
                agentExecutable: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0],
                headNodeInstanceId: stack.outputs["HeadNodeInstanceId"] ?? "", headNodeInstanceType: config.headNode.instanceType,
                scaledownIdletimeMinutes: config.scheduling.scaledownIdletime, nodes: nodes,
                queues: config.scheduling.queues.map(\.name), createdAt: stack.creationTime, fastJobStart: true)
            let layout = LocalLayout(root: URL(fileURLWithPath: clusterDir))
            try spec.write(to: layout)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(plan).write(to: URL(fileURLWithPath: layout.awsFleetPlan), options: .atomic)
            print("cluster \(clusterName): \(nodes.count) nodes in \(plan.computeResources.count) compute resources; state in \(clusterDir)")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw fail("\(error)")
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
