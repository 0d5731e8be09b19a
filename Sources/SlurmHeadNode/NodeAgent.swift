import Foundation
import Provisioning

#if canImport(Glibc)
import Glibc
#endif

/// The node agent of one local cluster: Slurm's resume and suspend programs, the PrologSlurmctld that
/// lets a job start as soon as its nodes are up, and the cluster-manager loop. Each entry point is a
/// short-lived process except `manage`; all share state through the cluster's directory.
package struct NodeAgent: Sendable {
    package let layout: LocalLayout
    package let spec: LocalClusterSpec
    let registry: InstanceRegistry
    let events: EventLog
    /// Where compute nodes come from: slurmd processes here; EC2 instances for the AWS provider.
    let launcher: any InstanceLauncher
    /// Where the cluster's record (the compute fleet status) is: the state store here, the stack for AWS.
    let catalog: any ClusterCatalog

    package init(clusterDirectory: String, launcher: (any InstanceLauncher)? = nil, catalog: (any ClusterCatalog)? = nil) throws {
        layout = LocalLayout(root: URL(fileURLWithPath: clusterDirectory))
        guard let data = FileManager.default.contents(atPath: layout.spec) else {
            throw LocalClusterError("\(clusterDirectory) is not a local cluster (no local.json)")
        }
        spec = try InstanceRegistry.decoder.decode(LocalClusterSpec.self, from: data)
        registry = InstanceRegistry(layout: layout)
        events = EventLog(layout: layout)
        self.launcher = launcher ?? SlurmdLauncher(layout: layout)
        self.catalog = catalog ?? StoreCatalog(store: ClusterStore.holding(clusterDirectory: layout.root))
    }

    func launch(_ node: LocalNode) async throws { try await launcher.launch(node) }
    package func terminate(_ name: String, reason: String) async { await launcher.terminate(name, reason: reason) }

    var environment: [String: String] { layout.daemonEnvironment }

    @discardableResult
    func scontrol(_ arguments: String...) async -> (status: Int32, output: String) {
        // No slurm.conf, no Slurm to tell (an agent directory bootstrap wrote before Slurm was configured):
        // scontrol would otherwise spend a minute looking for a controller.
        guard FileManager.default.fileExists(atPath: layout.slurmConf) else {
            return (1, "no slurm.conf at \(layout.slurmConf)")
        }
        return await ProcessControl.run([SlurmTools.scontrol] + arguments, environment: environment)
    }

    package func nodeStates() async -> [String: SlurmNodeState] {
        let result = await scontrol("show", "node", "-o")
        return result.status == 0 ? SlurmNodeState.parse(result.output) : [:]
    }

    // MARK: Resume and suspend

    /// ResumeProgram: starts an instance (a slurmd here, an EC2 instance for the AWS provider) for each node
    /// of the host list, all at once.
    package func resume(_ hostlist: String) async {
        events.record(resource: hostlist, status: "RESUME", reason: "Slurm asked to power up \(hostlist)")
        var nodes: [LocalNode] = []
        for name in Hostlist.expand(hostlist) {
            guard let node = spec.node(name) else {
                events.record(resource: name, status: "RESUME_FAILED", reason: "not a node of this cluster")
                continue
            }
            nodes.append(node)
        }
        let outcomes = await launcher.launch(nodes).sorted(by: { $0.key < $1.key })
        // The holds are written before any node goes down, so the manage loop never takes a node without
        // capacity for one whose launch merely failed.
        var held = Set<String>()
        for case (let name, .failure(let error)) in outcomes {
            if let failure = error as? any NodeLaunchFailure, failure.isInsufficientCapacity, let node = spec.node(name) {
                held.insert("\(node.queue)/\(node.computeResource)")
            }
        }
        if !held.isEmpty { recordCapacityHolds(held) }
        for (name, outcome) in outcomes {
            switch outcome {
            case .success(let address):
                // An instance has its own address; Slurm reaches the node there from now on.
                if let address { await scontrol("update", "nodename=\(name)", "nodeaddr=\(address)", "nodehostname=\(address)") }
            case .failure(let error):
                events.record(resource: name, status: "RESUME_FAILED", reason: "\(error)")
                let code = (error as? any NodeLaunchFailure)?.code ?? "LaunchFailure"
                await scontrol("update", "nodename=\(name)", "state=down", "reason=(Code:\(code))\(Self.resumeFailure): \(error)")
            }
        }
        for resource in held.sorted() { await holdForInsufficientCapacity(resource) }
    }

    /// The reason a node whose launch failed is marked down with, after its `(Code:...)`, as the original writes it.
    static let resumeFailure = "Failure when resuming nodes"

    /// How long a compute resource without capacity stays held down (the original's insufficient_capacity_timeout).
    static let insufficientCapacityHold: TimeInterval = 600

    /// Marks the compute resource's powered-down nodes down, so Slurm schedules pending jobs on other compute
    /// resources; the cluster-manager loop returns them after the hold.
    func holdForInsufficientCapacity(_ resource: String) async {
        let parts = resource.split(separator: "/").map(String.init)
        let states = await nodeStates()
        let idle = spec.nodes.filter { $0.queue == parts[0] && $0.computeResource == parts[1] && !$0.isStatic }
            .filter { states[$0.name]?.isPoweredDown ?? false }.map(\.name)
        if !idle.isEmpty {
            await scontrol(
                "update", "nodename=\(Hostlist.compress(idle))", "state=down",
                "reason=(Code:InsufficientInstanceCapacity)Temporarily disabling node due to insufficient capacity")
        }
        events.record(
            resource: resource, status: "CAPACITY_HOLD", reason: "insufficient capacity; held down for \(Int(Self.insufficientCapacityHold)) s")
    }

    func recordCapacityHolds(_ resources: Set<String>) {
        var holds = capacityHolds()
        for resource in resources { holds[resource] = Date().addingTimeInterval(Self.insufficientCapacityHold) }
        AgentLog.attempt("recording capacity holds in \(layout.capacityHolds)") {
            try JSONEncoder().encode(holds).write(to: URL(fileURLWithPath: layout.capacityHolds), options: .atomic)
        }
    }

    func capacityHolds() -> [String: Date] {
        (try? JSONDecoder().decode([String: Date].self, from: Data(contentsOf: URL(fileURLWithPath: layout.capacityHolds)))) ?? [:]
    }

    /// Ends expired holds: the compute resource's nodes held down for capacity become powered-down idle nodes again.
    func releaseCapacityHolds() async {
        let holds = capacityHolds()
        let expired = holds.filter { $0.value <= Date() }
        guard !expired.isEmpty else { return }
        let states = await nodeStates()
        for resource in expired.keys.sorted() {
            let parts = resource.split(separator: "/").map(String.init)
            let names = spec.nodes.filter { $0.queue == parts.first && $0.computeResource == parts.last }
                .filter { (states[$0.name]?.reason ?? "").contains("(Code:InsufficientInstanceCapacity)") }.map(\.name)
            if !names.isEmpty {
                await scontrol("update", "nodename=\(Hostlist.compress(names))", "state=power_down_force", "reason=capacity hold ended")
                await scontrol("update", "nodename=\(Hostlist.compress(names))", "state=resume")
            }
            events.record(resource: resource, status: "CAPACITY_HOLD_ENDED", reason: "nodes returned to the pool")
        }
        let remaining = holds.filter { $0.value > Date() }
        AgentLog.attempt("recording capacity holds in \(layout.capacityHolds)") {
            try JSONEncoder().encode(remaining).write(to: URL(fileURLWithPath: layout.capacityHolds), options: .atomic)
        }
    }

    /// SuspendProgram (and ResumeFailProgram): stops the instances of each node of the host list.
    package func suspend(_ hostlist: String) async {
        events.record(resource: hostlist, status: "SUSPEND", reason: "Slurm powered down \(hostlist)")
        await launcher.terminate(Hostlist.expand(hostlist), reason: "powered down by Slurm")
    }

    /// Every compute node down now (delete-cluster-instances); Slurm powers them down and may relaunch
    /// dynamic ones on demand and the agent relaunches static ones.
    package func terminateAllComputeNodes(reason: String) async {
        for node in spec.nodes { await terminate(node.name, reason: reason) }
        let names = spec.nodes.map(\.name)
        if !names.isEmpty {
            await scontrol("update", "nodename=\(Hostlist.compress(names))", "state=power_down_force", "reason=\(reason)")
        }
    }

    // MARK: PrologSlurmctld

    /// Waits until every node of the job answers, then exits: slurmctld launches a job whose
    /// PrologSlurmctld has finished on ready nodes at once, instead of at its next 30 s check.
    package func prolog(nodes hostlist: String, timeout: TimeInterval = 600) async {
        let names = Hostlist.expand(hostlist)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let states = await nodeStates()
            if !states.isEmpty, names.allSatisfy({ states[$0]?.isReady ?? false }) { return }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    // MARK: Cluster manager

    /// How long static nodes may take to come up before creation is declared failed.
    static let createTimeout: TimeInterval = 300

    /// One pass of the cluster-manager loop; returns Slurm's node states as the pass saw them.
    @discardableResult
    package func manageOnce() async -> [String: SlurmNodeState] {
        try? "\(Date().timeIntervalSince1970)\n".write(toFile: layout.heartbeat, atomically: true, encoding: .utf8)
        guard let record = (try? await catalog.record(named: spec.clusterName)) ?? nil else { return [:] }
        // Login nodes live apart from the compute fleet: one that stopped is replaced, as its Auto Scaling
        // group would, whatever the fleet's status.
        if !spec.loginPools.isEmpty {
            AgentLog.attempt("replacing stopped login nodes") {
                try LoginNodes(layout: layout, agentExecutable: spec.agentExecutable).start(spec)
            }
        }
        // Instances first, then Slurm's view: see `orphans`.
        let running = await launcher.runningNodes()
        let states = await nodeStates()
        guard !states.isEmpty else { return [:] }  // controller not answering: change nothing blindly
        switch record.computeFleetStatus {
        case .stopRequested, .stopping:
            await stopFleet(states)
            await AgentLog.attempt("recording the compute fleet as STOPPED") {
                try await catalog.update(spec.clusterName) { $0.computeFleetStatus = .stopped }
            }
            return states
        case .startRequested, .starting:
            // The static nodes are powered up below, once per pass: a second power-up request for a node on its
            // way up makes Slurm wait for a boot after that request.
            for queue in spec.queues { await scontrol("update", "partitionname=\(queue)", "state=up") }
            await AgentLog.attempt("recording the compute fleet as RUNNING") {
                try await catalog.update(spec.clusterName) { $0.computeFleetStatus = .running }
            }
            events.record(resource: spec.clusterName, status: "RUNNING", reason: "compute fleet started")
        case .stopped:
            await cleanOrphans(states, keepNone: true, running: running)
            // A restarted slurmctld (an update) brings partitions back UP from slurm.conf: a stopped fleet keeps them inactive.
            let partitions = await scontrol("show", "partition", "-o").output
            for line in partitions.split(separator: "\n") where line.contains(" State=UP") {
                if let name = line.split(separator: " ").first(where: { $0.hasPrefix("PartitionName=") })?.dropFirst(14) {
                    await scontrol("update", "partitionname=\(name)", "state=inactive")
                }
            }
            return states
        default:
            break
        }
        await cleanOrphans(states, keepNone: false, running: running)
        await releaseCapacityHolds()
        await retryFailedLaunches(states)
        await relaunchUnregistered(states, running: running)
        await replaceDeadNodes(states, running: running)
        // Static nodes are always on while the fleet runs (one still powering down comes back next pass).
        await powerUpStatics(states)
        if record.clusterStatus == .createInProgress {
            let statics = spec.nodes.filter(\.isStatic)
            let fresh = await nodeStates()
            let late = statics.filter { !(fresh[$0.name]?.isReady ?? false) }.map(\.name)
            if !late.isEmpty, Date().timeIntervalSince(record.creationTime) > Self.createTimeout {
                await AgentLog.attempt("recording the cluster as CREATE_FAILED") {
                    try await catalog.update(spec.clusterName) { $0.clusterStatus = .createFailed }
                }
                events.record(
                    resource: spec.clusterName, status: "CREATE_FAILED",
                    reason: "static nodes \(Hostlist.compress(late)) did not come up within \(Int(Self.createTimeout)) s; see their slurmd logs")
                return states
            }
            if late.isEmpty {
                await AgentLog.attempt("recording the cluster as CREATE_COMPLETE") {
                    try await catalog.update(spec.clusterName) { $0.clusterStatus = .createComplete }
                }
                events.record(resource: spec.clusterName, status: "CREATE_COMPLETE", reason: "head node and \(statics.count) static nodes are up")
            }
        }
        return states
    }

    /// Nodes ready now that were not in the previous pass (every ready node on the first pass).
    static func newlyReady(previously ready: Set<String>, now states: [String: SlurmNodeState]) -> [String] {
        states.values.filter { $0.isReady && !ready.contains($0.name) }.map(\.name).sorted()
    }

    /// Nodes are still powering up: a reconfigure now would make every running slurmd register again (and
    /// scan its hardware) once per pass while a large resume trickles in, so the state is saved once they
    /// are all up.
    static func isSettling(_ states: [String: SlurmNodeState]) -> Bool {
        states.values.contains { $0.isPoweringUp }
    }

    /// Makes slurmctld save its job and node state now. It saves lazily, and not when a powered-up node
    /// registers or when the jobs that waited for it start: after a crash it would come back believing the node
    /// still boots and its jobs still configure, and launch those running jobs a second time (the node drains
    /// with "Duplicate jobid", the jobs are requeued and held). A reconfigure writes every state file at once
    /// and changes nothing else; the agent asks for one in the first pass after nodes became ready in which none
    /// is still powering up, and in the next (their jobs start a moment after the node is ready).
    func saveSlurmState() async {
        await scontrol("reconfigure")
    }

    /// A node whose launch failed stays DOWN and powering up until Slurm's ResumeTimeout (30 minutes) ends
    /// the attempt. Like the original's cluster manager, the agent powers it down at once instead: a static
    /// node is launched again on the next pass, a dynamic one goes back to the pool for the next job. Nodes
    /// of a compute resource without capacity wait for its hold to end (`releaseCapacityHolds`).
    func retryFailedLaunches(_ states: [String: SlurmNodeState]) async {
        let holds = capacityHolds()
        let failed = spec.nodes.filter { node in
            guard let state = states[node.name], state.base == "DOWN", !state.isPoweringDown,
                (state.reason ?? "").contains(Self.resumeFailure)
            else { return false }
            return holds["\(node.queue)/\(node.computeResource)"] == nil
        }.map(\.name)
        guard !failed.isEmpty else { return }
        let names = Hostlist.compress(failed)
        await scontrol("update", "nodename=\(names)", "state=power_down_force", "reason=launch failed; the agent retries")
        events.record(resource: names, status: "RETRY", reason: "launch failed; powered down so that it can be launched again")
    }

    /// A node still powering up and not responding long after its instance started: slurmctld ignored the
    /// instance's registration (see `SlurmdLauncher.launch(_:)` for the cause known here). A fresh launch
    /// registers with a later boot time. Only where the launcher knows how long registering takes.
    func relaunchUnregistered(_ states: [String: SlurmNodeState], running: Set<String>?) async {
        guard let deadline = launcher.registrationDeadline else { return }
        for node in spec.nodes {
            guard let state = states[node.name], state.flags.contains("POWERING_UP"), state.flags.contains("NOT_RESPONDING"),
                await hasInstance(node.name, running), let launched = launcher.launchTime(of: node.name),
                Date().timeIntervalSince(launched) > deadline
            else { continue }
            events.record(
                resource: node.name, status: "RELAUNCH",
                reason: "launched \(Int(Date().timeIntervalSince(launched))) s ago and still not registered with slurmctld")
            do {
                try await launch(node)
            } catch {
                events.record(resource: node.name, status: "RELAUNCH_FAILED", reason: "\(error)")
            }
        }
    }

    func powerUpStatics(_ states: [String: SlurmNodeState]) async {
        // Only nodes at rest: a second power-up request for a node already on its way up makes Slurm
        // wait for a boot after the second request.
        let down = spec.nodes.filter { node in
            guard node.isStatic, let state = states[node.name] else { return false }
            return state.isPoweredDown && !state.isPoweringUp && !state.isPoweringDown
        }.map(\.name)
        if !down.isEmpty { await scontrol("update", "nodename=\(Hostlist.compress(down))", "state=power_up") }
    }

    func stopFleet(_ states: [String: SlurmNodeState]) async {
        for queue in spec.queues { await scontrol("update", "partitionname=\(queue)", "state=inactive") }
        await launcher.terminate(spec.nodes.map(\.name), reason: "compute fleet stopped")
        let up = spec.nodes.filter { !(states[$0.name]?.isPoweredDown ?? true) }.map(\.name)
        if !up.isEmpty {
            await scontrol("update", "nodename=\(Hostlist.compress(up))", "state=power_down_force", "reason=compute fleet stopped")
        }
        events.record(resource: spec.clusterName, status: "STOPPED", reason: "compute fleet stopped")
    }

    /// A slurmd running for a node Slurm considers powered down is an orphan: stop it.
    /// Whether the node has an instance: from the pass's snapshot when the launcher gives one.
    func hasInstance(_ name: String, _ running: Set<String>?) async -> Bool {
        if let running { return running.contains(name) }
        return await launcher.isRunning(name)
    }

    /// The nodes whose instances are orphans: Slurm has them powered down (every node, when the fleet is
    /// stopped). `running` must have been taken before `states`: Slurm marks a node powering up before its
    /// ResumeProgram launches the instance, so an instance that appeared after Slurm's answer belongs to a
    /// node on its way up, and terminating it would leave that node powering up with nothing behind it until
    /// ResumeTimeout (30 minutes).
    static func orphans(
        _ nodes: [LocalNode], states: [String: SlurmNodeState], runningBefore running: Set<String>,
        keepNone: Bool
    ) -> [String] {
        nodes.filter { node in
            guard running.contains(node.name), let state = states[node.name] else { return false }
            return keepNone || (state.isPoweredDown && !state.isPoweringUp)
        }.map(\.name)
    }

    func cleanOrphans(_ states: [String: SlurmNodeState], keepNone: Bool, running: Set<String>?) async {
        // Without the launcher's answer nothing is known to be an orphan; the next pass asks again.
        let orphans = running.map { Self.orphans(spec.nodes, states: states, runningBefore: $0, keepNone: keepNone) } ?? []
        if !orphans.isEmpty { await launcher.terminate(orphans, reason: "orphan: Slurm has the node powered down") }
        // Instances no node owns (a launch cut off before its tag, a node an update removed).
        await launcher.terminateStrays(knownNodes: Set(spec.nodes.map(\.name)))
        // Instances recorded running whose process has gone.
        AgentLog.attempt("marking instances whose slurmd exited as terminated") {
            try registry.update { instances in
                for index in instances.indices where instances[index].role == .computeNode && instances[index].state == .running {
                    if let pid = instances[index].pid, !ProcessControl.isAlive(pid, commandContains: "slurmd") {
                        instances[index].state = .terminated
                        instances[index].stateReason = "slurmd exited"
                    }
                }
            }
        }
    }

    /// A node Slurm believes is up whose slurmd died: static nodes are relaunched in place; dynamic ones
    /// are powered down (Slurm requeues their jobs) and come back on demand.
    func replaceDeadNodes(_ states: [String: SlurmNodeState], running: Set<String>?) async {
        for node in spec.nodes {
            guard let state = states[node.name], !state.isPoweredDown, !state.isPoweringUp, !state.isPoweringDown else { continue }
            if node.isStatic, await hasInstance(node.name, running), state.base == "DOWN" && (state.reason ?? "").contains("rebooted") {
                // Our own replacement registered after returnToService stopped waiting (a busy machine):
                // every pass puts such a node back in service, so no timing decides it.
                await scontrol("update", "nodename=\(node.name)", "state=resume")
                events.record(resource: node.name, status: "RETURNED_TO_SERVICE", reason: "replacement slurmd registered late")
                continue
            }
            // The snapshot predates Slurm's answer, so a node that registered since is missing from it: ask again.
            let hasOne = await hasInstance(node.name, running)
            guard !hasOne, !(await launcher.isRunning(node.name)) else { continue }
            if node.isStatic {
                events.record(resource: node.name, status: "REPLACING", reason: "static node's slurmd is not running")
                do {
                    try await launch(node)
                    await returnToService(node.name)
                } catch {
                    events.record(resource: node.name, status: "REPLACE_FAILED", reason: "\(error)")
                }
            } else {
                events.record(resource: node.name, status: "POWER_DOWN", reason: "dynamic node's slurmd is not running")
                await scontrol("update", "nodename=\(node.name)", "state=power_down_force", "reason=(Code:NodeDied)slurmd exited")
            }
        }
    }

    /// A relaunched slurmd registers with a new boot time, which Slurm takes for an unexpected reboot and
    /// marks the node DOWN; this replacement was ours, so put the node back in service.
    func returnToService(_ name: String, timeout: TimeInterval = 10) async {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let state = await nodeStates()[name] {
                if state.base == "DOWN" && (state.reason ?? "").contains("rebooted") {
                    await scontrol("update", "nodename=\(name)", "state=resume")
                    events.record(resource: name, status: "RETURNED_TO_SERVICE", reason: "replacement slurmd registered")
                    return
                }
                if state.isReady && !state.flags.contains("NOT_RESPONDING") && state.base != "DOWN" { return }
            }
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
    }

    /// The loop: a pass every `interval` seconds until SIGTERM or until the cluster's directory is gone.
    /// `afterPass` may hand back a replacement agent (the cluster's nodes changed under it: an AWS update).
    package func manage(interval: TimeInterval, afterPass: (() async -> NodeAgent?)? = nil) async {
        AgentLog.attempt("writing the agent's pid to \(layout.agentPid)") {
            try "\(getpid())\n".write(toFile: layout.agentPid, atomically: true, encoding: .utf8)
        }
        signal(SIGTERM) { _ in exit(0) }
        events.record(resource: "agent", status: "STARTED", reason: "cluster manager pid \(getpid()), every \(Int(interval)) s")
        var current = self
        var ready: Set<String> = []
        var savesDue = 0
        while FileManager.default.fileExists(atPath: layout.spec) {
            let states = await current.manageOnce()
            if !states.isEmpty {
                if !Self.newlyReady(previously: ready, now: states).isEmpty { savesDue = 2 }
                if savesDue > 0 && !Self.isSettling(states) {
                    await current.saveSlurmState()
                    savesDue -= 1
                }
                ready = Set(states.values.filter(\.isReady).map(\.name))
            }
            if let replacement = await afterPass?() { current = replacement }
            var remaining = interval
            while remaining > 0 && FileManager.default.fileExists(atPath: layout.spec) {
                try? await Task.sleep(nanoseconds: 200_000_000)
                remaining -= 0.2
            }
        }
    }
}
