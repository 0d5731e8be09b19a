import ClusterConfig
import Foundation

/// Where everything of one local cluster lives, all under its directory in the cluster store, so that
/// delete-cluster removes one tree and several clusters never share a file.
package struct LocalLayout: Sendable {
    package let root: URL

    package init(root: URL) { self.root = root }

    func path(_ parts: String...) -> String { parts.reduce(root) { $0.appendingPathComponent($1) }.path }

    package var spec: String { path("local.json") }
    package var instances: String { path("instances.json") }
    package var instancesLock: String { path("instances.lock") }
    package var events: String { path("events.log") }
    package var slurmConf: String { path("etc", "slurm.conf") }
    package var bin: String { path("bin") }
    package var resumeProgram: String { path("bin", "resume") }
    package var suspendProgram: String { path("bin", "suspend") }
    package var prologProgram: String { path("bin", "prolog-slurmctld") }
    package var mungeDirectory: String { path("munge") }
    package var mungeKey: String { path("munge", "munge.key") }
    /// Under /run beside the spool, not in the cluster's directory: a socket path is limited to 107 bytes,
    /// which a long state directory, region and cluster name would exceed.
    package var mungeSocketDirectory: String { spool + "-munge" }
    package var mungeSocket: String { mungeSocketDirectory + "/munge.sock" }
    package var mungePid: String { path("munge", "munged.pid") }
    package var mungeLog: String { path("munge", "munged.log") }
    package var mungeSeed: String { path("munge", "munged.seed") }
    package var stateSave: String { path("slurm", "state") }
    /// slurmd's spool directories, kept short under /run: slurmstepd puts a Unix socket there named
    /// after the node, job and step, and socket paths are limited to 107 bytes.
    package var spool: String {
        var hash: UInt32 = 2166136261
        for byte in root.path.utf8 { hash = (hash ^ UInt32(byte)) &* 16777619 }
        return "/run/pcs-" + String(hash, radix: 16)
    }

    /// In a compute node's mount namespace, its own `nodeLocal` directory; empty elsewhere.
    package var thisNode: String { spool + "/.this-node" }
    package func nodeLocal(_ node: String) -> String { spool + "/" + node + "/local" }
    /// mpi.conf, beside slurm.conf where Slurm looks for it.
    package var mpiConf: String { path("etc", "mpi.conf") }

    /// The longest node name whose step sockets fit: spool + "/" + node + "/" + node + "_" + job.step (up to 21).
    package var longestNodeName: Int { (107 - spool.utf8.count - 2 - 1 - 21) / 2 }
    /// The cgroup every process of the cluster starts in (nil where cgroup2 is not available).
    package var cgroup: ClusterCgroup? { ClusterCgroup(clusterDirectory: root.path) }
    package var run: String { path("run") }
    package var logs: String { path("log") }
    package var slurmctldPid: String { path("run", "slurmctld.pid") }
    package var slurmctldLog: String { path("log", "slurmctld.log") }
    package var slurmdbdConf: String { path("etc", "slurmdbd.conf") }
    /// /etc/hosts as the cluster's nodes see it (see `NodeIdentity`).
    package var hostsFile: String { path("etc", "hosts") }
    package var slurmdbdPid: String { path("run", "slurmdbd.pid") }
    package var slurmdbdLog: String { path("log", "slurmdbd.log") }
    package var agentPid: String { path("run", "agent.pid") }
    package var agentLog: String { path("log", "agent.log") }
    package var heartbeat: String { path("run", "agent.heartbeat") }
    /// Compute resources held down after insufficient capacity, with when each hold ends.
    package var capacityHolds: String { path("run", "capacity-holds.json") }
    /// The AWS provider's launch plan (per compute resource: launch template, subnets, placement group).
    package var awsFleetPlan: String { path("aws-fleet.json") }
    /// The AWS settings `pcluster-agent bootstrap` ran with (root-only), for the programs Slurm runs.
    package var awsEnvironment: String { path("aws-environment.json") }
    package func slurmdPid(_ node: String) -> String { path("run", "slurmd-\(node).pid") }
    package func slurmdLog(_ node: String) -> String { path("log", "slurmd-\(node).log") }
    package func loginNodePid(_ node: String) -> String { path("run", "login-\(node).pid") }

    /// Environment for Slurm's commands (sbatch, sinfo, scontrol) to talk to this cluster.
    package var slurmEnvironment: [String: String] { ["SLURM_CONF": slurmConf] }

    /// What the cluster's daemons and the agent's Slurm commands run with: this cluster's slurm.conf and
    /// a PATH with the Debian packages' programs, whatever the caller's environment was.
    package var daemonEnvironment: [String: String] {
        slurmEnvironment.merging(["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]) { $1 }
    }
}

/// One compute node of the local cluster as slurm.conf declares it.
package struct LocalNode: Codable, Sendable, Hashable {
    package var name: String
    package var queue: String
    package var computeResource: String
    package var isStatic: Bool
    package var instanceType: String
    package var cpus: Int
    package var memoryMiB: Int
    package var features: [String]
    package var weight: Int
    package var port: Int
}

/// What create-cluster decided for this cluster and every later command reads: ports, nodes, programs.
package struct LocalClusterSpec: Codable, Sendable {
    package var clusterName: String
    package var slurmClusterName: String
    package var controllerHost: String
    package var controllerPort: Int
    package var agentExecutable: String
    package var headNodeInstanceId: String
    package var headNodeInstanceType: String
    package var scaledownIdletimeMinutes: Int
    package var nodes: [LocalNode]
    package var queues: [String]
    package var createdAt: Date
    /// The PrologSlurmctld that starts jobs as soon as their nodes are up (off only to measure Slurm's default).
    package var fastJobStart: Bool
    /// Slurm accounting (`SlurmSettings.Database`), nil without.
    package var accounting: AccountingSpec?
    /// `LoginNodes.Pools`.
    package var loginPools: [LoginPoolSpec] = []

    package func node(_ name: String) -> LocalNode? { nodes.first { $0.name == name } }

    package init(
        clusterName: String, slurmClusterName: String, controllerHost: String, controllerPort: Int,
        agentExecutable: String, headNodeInstanceId: String, headNodeInstanceType: String,
        scaledownIdletimeMinutes: Int, nodes: [LocalNode], queues: [String], createdAt: Date, fastJobStart: Bool,
        accounting: AccountingSpec? = nil, loginPools: [LoginPoolSpec] = []
    ) {
        self.clusterName = clusterName
        self.slurmClusterName = slurmClusterName
        self.controllerHost = controllerHost
        self.controllerPort = controllerPort
        self.agentExecutable = agentExecutable
        self.headNodeInstanceId = headNodeInstanceId
        self.headNodeInstanceType = headNodeInstanceType
        self.scaledownIdletimeMinutes = scaledownIdletimeMinutes
        self.nodes = nodes
        self.queues = queues
        self.createdAt = createdAt
        self.fastJobStart = fastJobStart
        self.accounting = accounting
        self.loginPools = loginPools
    }

    /// Fields added later default, so clusters created by an earlier build keep working.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clusterName = try container.decode(String.self, forKey: .clusterName)
        slurmClusterName = try container.decode(String.self, forKey: .slurmClusterName)
        controllerHost = try container.decode(String.self, forKey: .controllerHost)
        controllerPort = try container.decode(Int.self, forKey: .controllerPort)
        agentExecutable = try container.decode(String.self, forKey: .agentExecutable)
        headNodeInstanceId = try container.decode(String.self, forKey: .headNodeInstanceId)
        headNodeInstanceType = try container.decode(String.self, forKey: .headNodeInstanceType)
        scaledownIdletimeMinutes = try container.decode(Int.self, forKey: .scaledownIdletimeMinutes)
        nodes = try container.decode([LocalNode].self, forKey: .nodes)
        queues = try container.decode([String].self, forKey: .queues)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        fastJobStart = try container.decodeIfPresent(Bool.self, forKey: .fastJobStart) ?? true
        accounting = try container.decodeIfPresent(AccountingSpec.self, forKey: .accounting)
        loginPools = try container.decodeIfPresent([LoginPoolSpec].self, forKey: .loginPools) ?? []
    }
}

package struct LocalClusterError: Error, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Builds the node list of a cluster from its configuration and the instance-type catalogue.
package enum LocalNodePlanner {
    package static func nodes(
        for config: ClusterConfiguration, ports: inout [Int],
        catalogue: any InstanceTypeProvider = InstanceTypeCatalogue.shipped
    ) throws -> [LocalNode] {
        var nodes: [LocalNode] = []
        for queue in config.scheduling.queues {
            for resource in queue.computeResources {
                guard let type = resource.instanceTypes.first else { continue }
                guard let info = catalogue.info(for: type) else {
                    throw LocalClusterError("instance type \(type) of \(queue.name)/\(resource.name) is not in the catalogue")
                }
                let cpus = resource.disableSimultaneousMultithreading ? max(1, info.cores) : info.vcpus
                let memory = resource.schedulableMemory ?? info.memoryMiB
                for (isStatic, count) in [(true, resource.minCount), (false, resource.dynamicCount)] where count > 0 {
                    for index in 1...count {
                        guard !ports.isEmpty else { throw LocalClusterError("ran out of free ports for compute nodes") }
                        var features = [isStatic ? "static" : "dynamic", type, resource.name]
                        if resource.efaEnabled { features.append("efa") }
                        if info.gpus > 0 { features.append("gpu") }
                        nodes.append(
                            LocalNode(
                                name: NodeName(queue: queue.name, isStatic: isStatic, computeResource: resource.name, index: index).description,
                                queue: queue.name, computeResource: resource.name, isStatic: isStatic, instanceType: type,
                                cpus: cpus, memoryMiB: memory, features: features,
                                weight: isStatic ? resource.staticNodePriority : resource.dynamicNodePriority,
                                port: ports.removeFirst()))
                    }
                }
            }
        }
        return nodes
    }
}

extension LocalClusterSpec {
    /// Writes the spec where the node agent reads it (`local.json`), creating the cluster's directories.
    package func write(to layout: LocalLayout) throws {
        for directory in [layout.root.path, layout.run, layout.logs] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try InstanceRegistry.encoder.encode(self).write(to: URL(fileURLWithPath: layout.spec), options: .atomic)
    }
}
