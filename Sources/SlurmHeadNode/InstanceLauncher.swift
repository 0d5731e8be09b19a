import Foundation

/// The seam between the node agent and where compute nodes run. The local provider starts slurmd
/// processes on this machine; the AWS provider's EC2 launcher runs instances that start slurmd.
package protocol InstanceLauncher: Sendable {
    /// Starts (or restarts) the node and records it as a running instance.
    func launch(_ node: LocalNode) async throws
    /// Starts several nodes at once (Slurm resumes them in host lists); per node, the address Slurm should
    /// reach it at (nil: the configured one) or why it got no instance.
    func launch(_ nodes: [LocalNode]) async -> [String: Result<String?, any Error>]
    /// Stops every running instance of the node.
    func terminate(_ name: String, reason: String) async
    func terminate(_ names: [String], reason: String) async
    /// Whether an instance of the node is running now.
    func isRunning(_ name: String) async -> Bool
    /// Every node with a running instance, in one question (nil: ask `isRunning` per node).
    func runningNodes() async -> Set<String>?
    /// Terminates instances of the cluster that belong to none of these nodes.
    func terminateStrays(knownNodes: Set<String>) async
    /// How long a launched node may take to register with slurmctld before the agent launches it again;
    /// nil where booting takes as long as it takes (EC2, bounded by Slurm's ResumeTimeout).
    var registrationDeadline: TimeInterval? { get }
    /// When the node's running instance was launched, if known.
    func launchTime(of name: String) -> Date?
}

extension InstanceLauncher {
    package func launch(_ nodes: [LocalNode]) async -> [String: Result<String?, any Error>] { await launchEach(nodes) }

    /// `launch(_:)` node by node, each at its configured address.
    package func launchEach(_ nodes: [LocalNode]) async -> [String: Result<String?, any Error>] {
        var outcome: [String: Result<String?, any Error>] = [:]
        for node in nodes {
            do { try await launch(node); outcome[node.name] = .success(nil) } catch { outcome[node.name] = .failure(error) }
        }
        return outcome
    }

    package func terminate(_ names: [String], reason: String) async {
        for name in names { await terminate(name, reason: reason) }
    }

    package func runningNodes() async -> Set<String>? { nil }
    package func terminateStrays(knownNodes: Set<String>) async {}
    package var registrationDeadline: TimeInterval? { nil }
    package func launchTime(of name: String) -> Date? { nil }
}

/// A launch failure with a code for Slurm's node reason, `(Code:...)` as the original writes it.
package protocol NodeLaunchFailure: Error {
    var code: String { get }
    /// No capacity for the compute resource now: the agent holds its other nodes down for a while, so Slurm
    /// places jobs on other compute resources instead.
    var isInsufficientCapacity: Bool { get }
}

/// Compute nodes as slurmd processes on 127.0.0.1, one port each.
package struct SlurmdLauncher: InstanceLauncher {
    let layout: LocalLayout
    let registry: InstanceRegistry
    let events: EventLog

    package init(layout: LocalLayout) {
        self.layout = layout
        registry = InstanceRegistry(layout: layout)
        events = EventLog(layout: layout)
    }

    var environment: [String: String] { layout.daemonEnvironment }

    /// A slurmd here registers within a second of starting; one still unregistered after this was ignored.
    package var registrationDeadline: TimeInterval? { 30 }

    package func launchTime(of name: String) -> Date? {
        registry.read().last { $0.nodeName == name && $0.state == .running }?.launchTime
    }

    /// Slurm's ResumeProgram path. slurmctld sets a node's boot request time, in whole seconds, just before it
    /// runs the resume program, and ignores registrations whose boot time is earlier. `slurmd -b` reports its
    /// uptime from the kernel's whole-second uptime, which ticks at its own fraction of the wall-clock second,
    /// so a slurmd started in the same second can come out one second "older" than the request and is then
    /// ignored until ResumeTimeout. Starting the slurmds in the next wall-clock second rules that out.
    package func launch(_ nodes: [LocalNode]) async -> [String: Result<String?, any Error>] {
        guard !nodes.isEmpty else { return [:] }
        let second = floor(Date().timeIntervalSince1970)
        let wait = second + 1.02 - Date().timeIntervalSince1970
        if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
        // A relaunch stops what runs for the node first; the registry is read once for the whole batch.
        let recorded = Set(registry.read().filter { $0.role == .computeNode && $0.state == .running }.compactMap(\.nodeName))
        for node in nodes where recorded.contains(node.name) || ProcessControl.readPid(layout.slurmdPid(node.name)) != nil {
            await terminate(node.name, reason: "replaced by a new launch")
        }
        // Starting a slurmd is mostly waiting (fork, namespaces, its hardware scan, its pid file): several at
        // once, on threads of their own, and one registry write for the batch (a write per node rewrote the
        // whole file each time: quadratic in a 1,000-node resume).
        let started = await ProcessControl.concurrently(nodes.count, width: Self.launchWidth) { index in
            Result { try startSlurmd(nodes[index]) }
        }
        var outcome: [String: Result<String?, any Error>] = [:]
        var launched: [(node: LocalNode, instance: LocalInstance)] = []
        for (node, result) in zip(nodes, started) {
            switch result {
            case .success(let pid):
                launched.append((node, Self.instance(of: node, pid: pid)))
                outcome[node.name] = .success(nil)
            case .failure(let error): outcome[node.name] = .failure(error)
            }
        }
        do {
            try record(launched)
        } catch {
            // Unrecorded slurmds still count as running through their pid files (see `isRunning`).
            AgentLog.attempt("recording \(launched.count) launched nodes") { throw error }
        }
        return outcome
    }

    /// How many slurmd start at once in a resume.
    static let launchWidth = 8

    /// Starts (or restarts) the slurmd of one node and records it as a running instance.
    package func launch(_ node: LocalNode) async throws {
        await terminate(node.name, reason: "replaced by a new launch")
        let pid = try startSlurmd(node)
        try record([(node, Self.instance(of: node, pid: pid))])
    }

    static func instance(of node: LocalNode, pid: Int32) -> LocalInstance {
        LocalInstance(
            instanceId: LocalInstance.newId(), role: .computeNode, nodeName: node.name, queue: node.queue,
            computeResource: node.computeResource, instanceType: node.instanceType, launchTime: Date(), pid: pid, state: .running)
    }

    /// Starts a node's slurmd in its namespaces; returns its pid.
    func startSlurmd(_ node: LocalNode) throws -> Int32 {
        guard PortAllocator.isFree(node.port) else {
            throw LocalClusterError("port \(node.port) of \(node.name) on 127.0.0.1 is in use by another program")
        }
        try FileManager.default.createDirectory(atPath: "\(layout.spool)/\(node.name)", withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: layout.hostsFile),
            let spec = try? InstanceRegistry.decoder.decode(
                LocalClusterSpec.self, from: Data(contentsOf: URL(fileURLWithPath: layout.spec)))
        {
            // A cluster made by an earlier build has none yet.
            try HeadNode(layout: layout, agentExecutable: spec.agentExecutable).writeNodeFiles(spec)
        }
        return try ProcessControl.startDaemon(
            NodeIdentity.wrapping(
                hostName: node.name, binds: try NodeIdentity.computeNodeBinds(node.name, layout: layout),
                [SlurmTools.slurmd, "-b", "-N", node.name, "-f", layout.slurmConf]),
            environment: environment, logPath: layout.slurmdLog(node.name) + ".out",
            pidFile: layout.slurmdPid(node.name), cgroup: layout.cgroup)
    }

    /// Records launched instances, dropping the older terminated records of their nodes (EC2 forgets
    /// terminated instances too; the registry would otherwise grow with every power cycle).
    func record(_ launched: [(node: LocalNode, instance: LocalInstance)]) throws {
        guard !launched.isEmpty else { return }
        let names = Set(launched.map(\.node.name))
        try registry.update { instances in
            instances.removeAll { $0.role == .computeNode && $0.state == .terminated && names.contains($0.nodeName ?? "") }
            instances += launched.map(\.instance)
        }
        for (node, instance) in launched {
            events.record(resource: node.name, status: "LAUNCHED", reason: "slurmd pid \(instance.pid ?? 0) on 127.0.0.1:\(node.port)")
        }
    }

    /// Stops every running instance of a node, by the pid we recorded (and the pid file, for a slurmd
    /// whose launch was interrupted before it was recorded).
    package func terminate(_ name: String, reason: String) async {
        var pids = Set<Int32>()
        if let pid = ProcessControl.readPid(layout.slurmdPid(name)), ProcessControl.isAlive(pid, commandContains: "slurmd") {
            pids.insert(pid)
        }
        // Unrecorded, the instance is found terminated by the agent's next pass (its slurmd is gone).
        AgentLog.attempt("recording node \(name) as terminated") {
            try registry.update { instances in
                for index in instances.indices where instances[index].nodeName == name && instances[index].state == .running {
                    if let pid = instances[index].pid { pids.insert(pid) }
                    instances[index].state = .terminated
                    instances[index].stateReason = reason
                }
            }
        }
        for pid in pids where ProcessControl.isAlive(pid, commandContains: "slurmd") {
            await ProcessControl.terminate(pid, commandContains: "slurmd", grace: 5)
            events.record(resource: name, status: "TERMINATED", reason: "slurmd pid \(pid): \(reason)")
        }
    }

    /// A recorded running instance, or a slurmd whose launch is still being recorded: slurmd writes its pid
    /// file before it registers with slurmctld, and `launch` records the instance only after that, so in
    /// between the agent's loop would otherwise take a node that just registered for a dead one.
    package func isRunning(_ name: String) -> Bool {
        if runningPid(name) != nil { return true }
        guard let pid = ProcessControl.readPid(layout.slurmdPid(name)) else { return false }
        return ProcessControl.isAlive(pid, commandContains: "slurmd")
    }

    /// `isRunning` of every node at once: one read of the registry and of the pid files' directory.
    package func runningNodes() async -> Set<String>? {
        let recorded = registry.read().filter { $0.state == .running && $0.role == .computeNode }
        var running = Set(
            recorded.compactMap { instance in
                instance.pid.flatMap { ProcessControl.isAlive($0, commandContains: "slurmd") ? instance.nodeName : nil }
            })
        let directory = (layout.slurmdPid("x") as NSString).deletingLastPathComponent
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where file.hasPrefix("slurmd-") && file.hasSuffix(".pid") {
            let name = String(file.dropFirst(7).dropLast(4))
            if !running.contains(name), let pid = ProcessControl.readPid(layout.slurmdPid(name)),
                ProcessControl.isAlive(pid, commandContains: "slurmd")
            {
                running.insert(name)
            }
        }
        return running
    }

    func runningPid(_ name: String) -> Int32? {
        registry.read().last { $0.nodeName == name && $0.state == .running }
            .flatMap(\.pid).flatMap { ProcessControl.isAlive($0, commandContains: "slurmd") ? $0 : nil }
    }

}
