import ClusterConfig
import Foundation
import Provisioning

#if canImport(Glibc)
import Glibc
#endif

/// One pool of `LoginNodes.Pools` as the cluster runs it.
package struct LoginPoolSpec: Codable, Sendable, Equatable {
    package var name: String
    package var instanceType: String
    package var count: Int

    package init(name: String, instanceType: String, count: Int) {
        self.name = name
        self.instanceType = instanceType
        self.count = count
    }

    package static func pools(of config: ClusterConfiguration) -> [LoginPoolSpec] {
        config.loginNodePools.map { LoginPoolSpec(name: $0.name, instanceType: $0.instanceType, count: $0.count) }
    }

    /// The host names of the pool's nodes: `<pool>-<n>`, n from 1 (compute nodes' names always have their
    /// `-st-`/`-dy-` part; `LocalClusterRuntime` refuses a pool whose names would still collide).
    package var nodeNames: [String] { (0..<max(0, count)).map { "\(name)-\($0 + 1)" } }
}

/// Login nodes on this machine: for each, a process that holds a UTS and mount namespace of its own (the
/// node's host name, the cluster's hosts file), as compute nodes have, so what runs there sees the node's
/// name, the cluster's Slurm (its slurm.conf and munged) and the shared storage. No slurmd: a login node
/// submits and watches jobs, it runs none. `pcluster-agent login` opens a shell on one.
package struct LoginNodes: Sendable {
    package let layout: LocalLayout
    package let agentExecutable: String

    package init(layout: LocalLayout, agentExecutable: String) {
        self.layout = layout
        self.agentExecutable = agentExecutable
    }

    /// The holder's command line names the node: `isAlive` tells it from a reused pid by that.
    static func marker(_ node: String) -> String { "login-node --name \(node) " }

    package func pid(of node: String) -> pid_t? {
        guard let pid = ProcessControl.readPid(layout.loginNodePid(node)), ProcessControl.isAlive(pid, commandContains: Self.marker(node))
        else { return nil }
        return pid
    }

    /// Starts every login node of the spec that is not running, and records it as an instance.
    @discardableResult
    package func start(_ spec: LocalClusterSpec) throws -> [String] {
        var started: [String] = []
        for pool in spec.loginPools {
            for node in pool.nodeNames where pid(of: node) == nil {
                try launch(node, pool: pool)
                started.append(node)
            }
        }
        return started
    }

    func launch(_ node: String, pool: LoginPoolSpec) throws {
        guard FileManager.default.isExecutableFile(atPath: agentExecutable) else {
            throw LocalClusterError("the node agent \(agentExecutable) is missing; build it with `swift build --product pcluster-agent`")
        }
        let program = NodeIdentity.wrapping(
            hostName: node, binds: [(layout.hostsFile, "/etc/hosts")],
            [agentExecutable, "login-node", "--name", node, "--cluster-dir", layout.root.path])
        let pid = try ProcessControl.spawn(
            program, environment: layout.daemonEnvironment, logPath: layout.logs + "/login-nodes.log", cgroup: layout.cgroup)
        try "\(pid)\n".write(toFile: layout.loginNodePid(node), atomically: true, encoding: .utf8)
        try InstanceRegistry(layout: layout).update { instances in
            for index in instances.indices where instances[index].role == .loginNode && instances[index].nodeName == node {
                instances[index].state = .terminated
            }
            instances.append(
                LocalInstance(
                    instanceId: LocalInstance.newId(), role: .loginNode, nodeName: node, instanceType: pool.instanceType,
                    launchTime: Date(), pid: pid, state: .running, pool: pool.name))
        }
        EventLog(layout: layout).record(resource: node, status: "CREATE_COMPLETE", reason: "login node of pool \(pool.name), pid \(pid)")
    }

    /// Stops login nodes (all, or those not in `keeping`), by their recorded pids.
    @discardableResult
    package func stop(keeping: Set<String> = [], reason: String) -> [String] {
        var survivors: [String] = []
        var stopped: [String] = []
        for instance in InstanceRegistry(layout: layout).read() where instance.role == .loginNode && instance.state == .running {
            guard let node = instance.nodeName, !keeping.contains(node) else { continue }
            if let pid = pid(of: node), !ProcessControl.terminate(pid, commandContains: Self.marker(node), grace: 5) {
                survivors.append("login node \(node) (pid \(pid))")
            } else {
                stopped.append(node)
                unlink(layout.loginNodePid(node))
            }
        }
        if !stopped.isEmpty {
            AgentLog.attempt("recording login nodes as terminated") {
                try InstanceRegistry(layout: layout).update { instances in
                    for index in instances.indices where instances[index].role == .loginNode {
                        if let node = instances[index].nodeName, stopped.contains(node), instances[index].state == .running {
                            instances[index].state = .terminated
                            instances[index].stateReason = reason
                        }
                    }
                }
            }
        }
        return survivors
    }

    /// The original's pool status: active with every node healthy, pending while none is up yet, failed
    /// otherwise; the address is where the pool's nodes are reached (127.0.0.1 here, never the internet).
    package func statuses(_ spec: LocalClusterSpec) -> [LoginPoolStatus] {
        spec.loginPools.map { pool in
            let healthy = pool.nodeNames.filter { pid(of: $0) != nil }.count
            let status = healthy == pool.count ? "active" : healthy == 0 ? "pending" : "failed"
            return LoginPoolStatus(
                poolName: pool.name, status: status, address: "127.0.0.1", scheme: "internal", healthyNodes: healthy,
                unhealthyNodes: pool.count - healthy)
        }
    }
}
