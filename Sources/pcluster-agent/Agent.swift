import AWSCloudFormation
import AWSCore
import AWSProvider
import ArgumentParser
import Foundation
import Provisioning
import SlurmHeadNode

/// The node agent of a cluster. Slurm runs `resume`, `suspend` and `prolog` through the small scripts in the
/// cluster's bin/ directory; `manage` is the cluster-manager loop the head node runs. On an AWS cluster's
/// head node, `bootstrap` first writes the agent's state from the stack, and compute nodes are EC2 instances.
@main
struct PClusterAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcluster-agent",
        abstract: "Node agent of a pcluster cluster (run by Slurm and by pcluster, not by hand).",
        subcommands: [Resume.self, Suspend.self, Prolog.self, Manage.self, Bootstrap.self, LoginNode.self, Login.self])
}

func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("pcluster-agent: \(message)\n".utf8))
    return ExitCode(1)
}

struct ClusterDirectory: ParsableArguments {
    @Option(help: "The cluster's directory (the pcluster state store's, or the one bootstrap wrote).") var clusterDir: String

    /// An AWS cluster's head node state (nil for a local cluster).
    func headNodeState() throws -> HeadNodeState? {
        let layout = LocalLayout(root: URL(fileURLWithPath: clusterDir))
        guard let data = FileManager.default.contents(atPath: layout.awsFleetPlan) else { return nil }
        do {
            let plan = try JSONDecoder().decode(AWSFleetPlan.self, from: data)
            let provider = AWSClusterProvider(environment: awsEnvironment(layout), region: plan.region, version: plan.version)
            let agent = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            return HeadNodeState(provider: provider, clusterName: plan.clusterName, layout: layout, agentExecutable: agent)
        } catch {
            throw fail("\(error)")
        }
    }

    /// Slurm runs its programs with a bare environment: the AWS settings bootstrap was given come from its file.
    func awsEnvironment(_ layout: LocalLayout) -> [String: String] {
        let kept =
            (FileManager.default.contents(atPath: layout.awsEnvironment))
            .flatMap { try? JSONDecoder().decode([String: String].self, from: $0) } ?? [:]
        return kept.merging(ProcessInfo.processInfo.environment) { $1 }
    }

    /// The agent, with the EC2 launcher when the directory holds an AWS cluster's launch plan.
    func agent() throws -> NodeAgent {
        let layout = LocalLayout(root: URL(fileURLWithPath: clusterDir))
        do {
            guard let data = FileManager.default.contents(atPath: layout.awsFleetPlan) else {
                return try NodeAgent(clusterDirectory: clusterDir)
            }
            let plan = try JSONDecoder().decode(AWSFleetPlan.self, from: data)
            let environment = awsEnvironment(layout)
            let settings = try AWSSettings.resolve(environment: environment, region: plan.region)
            // The fleet status is the stack's (a tag on its head node), as the commands read it.
            let provider = AWSClusterProvider(environment: environment, region: plan.region, version: plan.version)
            return try NodeAgent(
                clusterDirectory: clusterDir, launcher: EC2NodeLauncher(plan: plan, settings: settings, layout: layout),
                catalog: provider.catalog)
        } catch {
            throw fail("\(error)")
        }
    }
}

struct Bootstrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "On an AWS cluster's head node: write the agent's state (the nodes and the EC2 launch plan) from the cluster's stack and configuration.")
    @Option(help: "The cluster (its CloudFormation stack's name).") var clusterName: String
    @Option(help: "The AWS Region (default: the environment's).") var region: String?
    @Option(help: "Where to write the cluster's directory.") var clusterDir: String
    @Flag(help: "Also start the head node's daemons: munged, slurmctld (slurm.conf for EC2 nodes) and the cluster-manager loop.")
    var start = false
    @Option(help: "The address compute nodes reach slurmctld at (default: this instance's private address from the instance metadata).")
    var controllerAddress: String?
    @Flag(
        help:
            "With --start: put the new munge key where the cluster's compute and login nodes read it (its config bucket), and slurm.conf for its login nodes."
    )
    var publishMungeKey = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        do {
            let settings = try AWSSettings.resolve(environment: environment, region: region)
            let stack = try await CloudFormation(settings: settings).describeStack(clusterName)
            guard let stack, let version = stack.tags["parallelcluster:version"] else {
                throw fail("cluster \(clusterName) has no stack in \(settings.region) (or the stack is not a ParallelCluster stack)")
            }
            let provider = AWSClusterProvider(environment: environment, region: settings.region, version: version)
            let layout = LocalLayout(root: URL(fileURLWithPath: clusterDir))
            let agent = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let state = HeadNodeState(provider: provider, clusterName: clusterName, layout: layout, agentExecutable: agent)
            var address = controllerAddress
            if start && address == nil {
                let metadata = InstanceMetadataClient(environment: environment)
                do {
                    address = try await metadata.read("meta-data/local-ipv4")
                } catch {
                    throw fail("cannot read this instance's address from the instance metadata (\(error)); give --controller-address")
                }
                guard address?.isEmpty == false else { throw fail("the instance metadata gave no address; give --controller-address") }
            }
            let (spec, plan, accounting) = try await state.write(
                headNodeAddress: address, headNodeInstanceId: stack.outputs["HeadNodeInstanceId"] ?? "",
                createdAt: stack.creationTime)
            // The AWS settings of this environment (an endpoint, a profile, keys given explicitly), for the programs
            // Slurm runs without it; readable by root only. On EC2 there are usually none: the instance role answers.
            let aws = environment.filter { $0.key.hasPrefix("AWS_") }
            FileManager.default.createFile(
                atPath: layout.awsEnvironment, contents: try JSONEncoder().encode(aws), attributes: [.posixPermissions: 0o600])
            print("cluster \(clusterName): \(spec.nodes.count) nodes in \(plan.computeResources.count) compute resources; state in \(clusterDir)")
            guard start else { return }
            let slurmConf = state.slurmConf(spec, plan)
            try await HeadNode(layout: layout, agentExecutable: agent).start(
                slurmConf: slurmConf, accounting: accounting, accountingHost: plan.headNodeAddress ?? "localhost")
            if publishMungeKey {
                guard let key = FileManager.default.contents(atPath: layout.mungeKey) else { throw fail("no munge key at \(layout.mungeKey)") }
                try await provider.publish(key, as: "munge.key", of: clusterName)
                try await provider.publish(Data(slurmConf.utf8), as: "slurm/slurm.conf", of: clusterName)
            }
            print("head node: slurmctld at \(address ?? ""):\(spec.controllerPort), node agent running")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw fail("\(error)")
        }
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Slurm's ResumeProgram: start the nodes of HOSTLIST.")
    @OptionGroup var cluster: ClusterDirectory
    @Argument var hostlist: String
    func run() async throws { try await cluster.agent().resume(hostlist) }
}

struct Suspend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Slurm's SuspendProgram: stop the nodes of HOSTLIST.")
    @OptionGroup var cluster: ClusterDirectory
    @Argument var hostlist: String
    func run() async throws { try await cluster.agent().suspend(hostlist) }
}

struct Prolog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Slurm's PrologSlurmctld: return when the job's nodes are up.")
    @OptionGroup var cluster: ClusterDirectory
    func run() async throws {
        let nodes = ProcessInfo.processInfo.environment["SLURM_JOB_NODELIST"] ?? ""
        if !nodes.isEmpty { try await cluster.agent().prolog(nodes: nodes) }
    }
}

struct Manage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The cluster-manager loop.")
    @OptionGroup var cluster: ClusterDirectory
    @Option(help: "Seconds between passes.") var interval: Double = 5
    @Option(help: "On an AWS cluster: seconds between checks for a configuration update-cluster stored.") var configurationCheck: Double = 15

    func run() async throws {
        let agent = try cluster.agent()
        guard let state = try cluster.headNodeState() else { return await agent.manage(interval: interval) }
        let events = EventLog(layout: agent.layout)
        var lastCheck = Date()
        await agent.manage(interval: interval) { () async -> NodeAgent? in
            guard Date().timeIntervalSince(lastCheck) >= configurationCheck else { return nil }
            lastCheck = Date()
            do {
                guard let change = try await state.applyIfChanged() else { return nil }
                events.record(resource: agent.spec.clusterName, status: "UPDATE_APPLIED", reason: change)
                // The new nodes and launch plan.
                return try cluster.agent()
            } catch {
                events.record(resource: agent.spec.clusterName, status: "UPDATE_NOT_APPLIED", reason: "\(error)")
                return nil
            }
        }
    }
}
