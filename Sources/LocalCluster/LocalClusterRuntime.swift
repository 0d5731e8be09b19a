import ClusterConfig
import Foundation
import Provisioning
import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

/// Brings a local cluster up and down: the head node (munged, slurmctld and the node agent) as processes
/// on this machine, compute nodes as slurmd processes the agent starts when Slurm asks.
package struct LocalClusterRuntime: Sendable {
    package let store: ClusterStore
    package let agentExecutable: String
    package let fastJobStart: Bool

    package init(store: ClusterStore, agentExecutable: String, fastJobStart: Bool = true) {
        self.store = store
        self.agentExecutable = agentExecutable
        self.fastJobStart = fastJobStart
    }

    package func loginNodes(_ name: String) -> LoginNodes { LoginNodes(layout: layout(name), agentExecutable: agentExecutable) }

    /// The head node's daemons of a cluster of this provider.
    package func headNode(_ name: String) -> HeadNode { HeadNode(layout: layout(name), agentExecutable: agentExecutable) }

    package func layout(_ name: String) -> LocalLayout {
        LocalLayout(root: store.directoryForCluster(name))
    }

    package func preconditions() -> String? { Self.preconditions() }

    package static func preconditions() -> String? {
        if getuid() != 0 {
            return "The local provider runs munged, slurmctld and slurmd, which need root: run pcluster as root (or with sudo)."
        }
        return SlurmTools.missing()
    }

    /// Ports already promised to other local clusters.
    func portsInUse(except name: String) -> Set<Int> {
        var ports = Set<Int>()
        let own = layout(name).root.standardizedFileURL
        for (_, other) in store.scoped(to: nil).directories() where other.standardizedFileURL != own {
            if let data = FileManager.default.contents(atPath: LocalLayout(root: other).spec),
                let spec = try? InstanceRegistry.decoder.decode(LocalClusterSpec.self, from: data)
            {
                ports.insert(spec.controllerPort)
                spec.nodes.forEach { ports.insert($0.port) }
            }
        }
        return ports
    }

    package func loadSpec(_ name: String) throws -> LocalClusterSpec {
        let layout = layout(name)
        guard let data = FileManager.default.contents(atPath: layout.spec) else {
            throw LocalClusterError("cluster '\(name)' has no local.json")
        }
        return try InstanceRegistry.decoder.decode(LocalClusterSpec.self, from: data)
    }

    /// Creates the cluster's files and starts its head node. The record is left CREATE_IN_PROGRESS; the
    /// agent marks it CREATE_COMPLETE when the static nodes are up. On failure everything started is
    /// stopped again and the record says CREATE_FAILED with the reason.
    @discardableResult
    package func createCluster(
        name: String, config: ClusterConfiguration, record: ClusterRecord,
        progress: (String) -> Void
    ) async throws -> LocalClusterSpec {
        let layout = layout(name)
        let headNode = headNode(name)
        let events = EventLog(layout: layout)
        do {
            for directory in [
                layout.bin, layout.mungeDirectory, layout.stateSave, layout.spool, layout.run, layout.logs,
                layout.root.appendingPathComponent("etc").path,
            ] {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            events.record(resource: name, status: "CREATE_IN_PROGRESS", reason: "User Initiated")
            let nodeCount = config.scheduling.queues.reduce(0) { $0 + $1.computeResources.reduce(0) { $0 + $1.maxCount } }
            let daemonPorts = config.scheduling.hasDatabase ? 2 : 1
            var ports = try PortAllocator.allocate(nodeCount + daemonPorts, avoiding: portsInUse(except: name))
            let controllerPort = ports.removeFirst()
            let accounting = try await LocalAccounting.plan(
                config, clusterName: name, dbdPort: { ports.removeFirst() }, environment: ProcessInfo.processInfo.environment)
            let nodes = try LocalNodePlanner.nodes(for: config, ports: &ports)
            if let long = nodes.first(where: { $0.name.utf8.count > layout.longestNodeName }) {
                throw LocalClusterError(
                    "node name \(long.name) is longer than \(layout.longestNodeName) characters, the most a local cluster allows (Slurm keeps a Unix socket named after it, and such paths are limited to 107 bytes); shorten the names of queue \(long.queue) or compute resource \(long.computeResource)"
                )
            }
            let computeNames = Set(nodes.map(\.name))
            if let clash = LoginPoolSpec.pools(of: config).flatMap(\.nodeNames).first(where: computeNames.contains) {
                throw LocalClusterError("login node \(clash) would have the name of a compute node; rename its pool")
            }
            let host = SlurmConf.controllerHostName()
            let spec = LocalClusterSpec(
                clusterName: name, slurmClusterName: String(name.lowercased().prefix(40)), controllerHost: host,
                controllerPort: controllerPort, agentExecutable: agentExecutable,
                headNodeInstanceId: LocalInstance.newId(), headNodeInstanceType: config.headNode.instanceType,
                scaledownIdletimeMinutes: config.scheduling.scaledownIdletime, nodes: nodes,
                queues: config.scheduling.queues.map(\.name), createdAt: Date(), fastJobStart: fastJobStart,
                accounting: accounting?.spec, loginPools: LoginPoolSpec.pools(of: config))
            try InstanceRegistry.encoder.encode(spec).write(to: URL(fileURLWithPath: layout.spec), options: .atomic)
            try SlurmConf.render(spec: spec, layout: layout).write(toFile: layout.slurmConf, atomically: true, encoding: .utf8)
            try headNode.writeNodeFiles(spec)
            try headNode.writePrograms()
            progress("head node: starting munged")
            try headNode.startMunge()
            if let accounting {
                progress(
                    "head node: starting slurmdbd on 127.0.0.1:\(accounting.spec.dbdPort) (accounting in database \(accounting.spec.databaseName) at \(accounting.spec.storageHost):\(accounting.spec.storagePort))"
                )
                try await headNode.startAccounting(accounting.spec, password: accounting.password)
            }
            progress("head node: starting slurmctld on 127.0.0.1:\(controllerPort)")
            let controller = try headNode.startController()
            try InstanceRegistry(layout: layout).update { instances in
                instances.append(
                    LocalInstance(
                        instanceId: spec.headNodeInstanceId, role: .headNode, instanceType: spec.headNodeInstanceType,
                        launchTime: Date(), pid: controller, state: .running))
            }
            try await headNode.waitForController()
            // Shared storage before any compute or login node runs: they see MountDir from their first second.
            if !config.sharedStorage.isEmpty {
                let mounts = try await LocalSharedStorage.attach(
                    config, cluster: name, creation: RequestTokens(record: record), fsxd: fsxdExecutable,
                    environment: ProcessInfo.processInfo.environment,
                    logPath: layout.logs + "/fsxd-start.log", progress: progress)
                try JSONEncoder().encode(mounts).write(to: URL(fileURLWithPath: sharedStoragePath(layout)), options: .atomic)
                events.record(
                    resource: "SharedStorage", status: "CREATE_COMPLETE",
                    reason: mounts.map { "\($0.mountDir)\($0.fileSystemId.map { " (\($0))" } ?? "")" }.joined(separator: ", "))
            }
            if !spec.loginPools.isEmpty {
                let started = try loginNodes(name).start(spec)
                progress("login nodes: \(started.joined(separator: ", ")) (`pcluster-agent login -n \(name)` opens a shell on one)")
            }
            progress("head node: starting the node agent")
            try headNode.startAgent()
            let statics = nodes.filter(\.isStatic).count
            // The agent powers the static nodes up on its first pass; asking twice can leave Slurm waiting
            // for a second boot that never comes.
            if statics > 0 { progress("compute fleet: the agent is powering up \(statics) static nodes") }
            events.record(resource: "HeadNode", status: "CREATE_COMPLETE", reason: "slurmctld pid \(controller)")
            return spec
        } catch {
            events.record(resource: name, status: "CREATE_FAILED", reason: "\(error)")
            headNode.stopAll()
            _ = await detachSharedStorage(layout: layout)
            var failed = record
            failed.clusterStatus = .createFailed
            failed.computeFleetStatus = .unknown
            failed.lastUpdatedTime = Date()
            try? store.save(failed)
            throw error
        }
    }

    /// Applies an accepted update: new nodes get new ports (existing ones keep theirs), removed nodes are
    /// stopped, slurm.conf is rewritten, and slurmctld restarts when the node set changed (Slurm 22.05
    /// cannot add nodes on reconfigure) or reconfigures otherwise. Jobs survive in its saved state.
    @discardableResult
    package func updateCluster(name: String, config: ClusterConfiguration, progress: (String) -> Void) async throws -> LocalClusterSpec {
        let layout = layout(name)
        let headNode = headNode(name)
        let old = try loadSpec(name)
        let nodeCount = config.scheduling.queues.reduce(0) { $0 + $1.computeResources.reduce(0) { $0 + $1.maxCount } }
        var taken = portsInUse(except: name)
        taken.insert(old.controllerPort)
        old.nodes.forEach { taken.insert($0.port) }
        var ports = try PortAllocator.allocate(nodeCount, avoiding: taken)
        var planned = try LocalNodePlanner.nodes(for: config, ports: &ports)
        let oldPorts = Dictionary(uniqueKeysWithValues: old.nodes.map { ($0.name, $0.port) })
        for index in planned.indices { if let port = oldPorts[planned[index].name] { planned[index].port = port } }
        if let long = planned.first(where: { $0.name.utf8.count > layout.longestNodeName }) {
            throw LocalClusterError(
                "node name \(long.name) is longer than \(layout.longestNodeName) characters; shorten queue \(long.queue) or compute resource \(long.computeResource)"
            )
        }
        let accounting = try await LocalAccounting.plan(
            config, clusterName: name,
            dbdPort: { try old.accounting?.dbdPort ?? PortAllocator.allocate(1, avoiding: taken.union(planned.map(\.port))).first! },
            environment: ProcessInfo.processInfo.environment)
        var spec = old
        spec.nodes = planned
        spec.accounting = accounting?.spec
        spec.loginPools = LoginPoolSpec.pools(of: config)
        spec.queues = config.scheduling.queues.map(\.name)
        spec.scaledownIdletimeMinutes = config.scheduling.scaledownIdletime
        let removed = Set(old.nodes.map(\.name)).subtracting(planned.map(\.name))
        let nodeSetChanged = Set(old.nodes.map(\.name)) != Set(planned.map(\.name)) || old.queues != spec.queues
        if !removed.isEmpty {
            progress("stopping removed nodes \(Hostlist.compress(removed.sorted()))")
            let agent = try NodeAgent(clusterDirectory: layout.root.path)
            for node in removed { await agent.terminate(node, reason: "removed by update-cluster") }
        }
        try await headNode.apply(
            spec, nodeSetChanged: nodeSetChanged, accounting: accounting, slurmConf: SlurmConf.render(spec: spec, layout: layout),
            progress: progress)
        let logins = loginNodes(name)
        let kept = Set(spec.loginPools.flatMap(\.nodeNames))
        let left = logins.stop(keeping: kept, reason: "removed by update-cluster")
        guard left.isEmpty else { throw LocalClusterError("could not stop \(left.joined(separator: ", "))") }
        let started = try logins.start(spec)
        if !started.isEmpty { progress("login nodes started: \(started.joined(separator: ", "))") }
        EventLog(layout: layout).record(
            resource: name, status: "UPDATE_COMPLETE",
            reason: "\(planned.count) compute nodes, ScaledownIdletime \(spec.scaledownIdletimeMinutes)")
        return spec
    }

    /// Stops everything and removes the cluster's directory. Works on half-created clusters too.
    /// Always synchronous: a local cluster is gone when this returns.
    package func delete(name: String, wait: Bool = true, progress: @Sendable (String) -> Void = { _ in }) async throws {
        let layout = layout(name)
        let headNode = headNode(name)
        let survivors = headNode.stopAll()
        guard survivors.isEmpty else {
            throw LocalClusterError("could not stop \(survivors.joined(separator: ", ")); the cluster's files in \(layout.root.path) are kept")
        }
        let stuck = await detachSharedStorage(layout: layout)
        guard stuck.isEmpty else {
            throw LocalClusterError(
                "could not detach shared storage: \(stuck.joined(separator: "; ")); the cluster's files in \(layout.root.path) are kept, delete again to retry"
            )
        }
        try? FileManager.default.removeItem(atPath: layout.spool)
        try? FileManager.default.removeItem(atPath: layout.mungeSocketDirectory)
        try store.remove(name)
    }

    var fsxdExecutable: String { (agentExecutable as NSString).deletingLastPathComponent + "/fsxd" }

    func sharedStoragePath(_ layout: LocalLayout) -> String { layout.root.appendingPathComponent("shared-storage.json").path }

    /// The mounts this cluster made, undone; what could not be undone is kept on record for the next try.
    func detachSharedStorage(layout: LocalLayout) async -> [String] {
        let path = sharedStoragePath(layout)
        guard let data = FileManager.default.contents(atPath: path),
            let mounts = try? JSONDecoder().decode([SharedMount].self, from: data)
        else { return [] }
        let problems = await LocalSharedStorage.detach(mounts, environment: ProcessInfo.processInfo.environment)
        if problems.isEmpty { unlink(path) }
        return problems
    }

    /// Restarts head-node daemons that died (after a reboot or a kill), keeping the cluster's identity.
    package func recover(name: String) async throws -> [String] {
        let layout = layout(name)
        let headNode = headNode(name)
        var restarted: [String] = []
        let now = headNode.health()
        if !now.munge { try headNode.startMunge(); restarted.append("munged") }
        if let accounting = try? loadSpec(name).accounting, !headNode.accountingIsRunning {
            try await headNode.startAccounting(accounting)
            restarted.append("slurmdbd")
        }
        if !now.controller {
            let pid = try headNode.startController()
            try InstanceRegistry(layout: layout).update { instances in
                for index in instances.indices where instances[index].role == .headNode { instances[index].pid = pid }
            }
            try await headNode.waitForController()
            restarted.append("slurmctld")
        }
        if !now.agent { try headNode.startAgent(); restarted.append("node agent") }
        if !restarted.isEmpty {
            // A status of CloudFormation's (the API allows no other): the head node's resource was updated.
            EventLog(layout: layout).record(
                resource: "HeadNode", status: "UPDATE_COMPLETE", reason: "recovered: restarted \(restarted.joined(separator: ", "))")
        }
        return restarted
    }
}

extension LocalClusterRuntime: ClusterProvider {
    package var kind: ProviderKind { .local }
    package var creationPolling: StatusPolling { StatusPolling(timeout: 900, first: 0.2, longest: 0.2) }
    package var catalogIsOffline: Bool { true }
    package func headNodeDownAdvice(of name: String) -> String {
        "The head node of '\(name)' is not running (slurmctld is down); `pcluster update-compute-fleet -n \(name) --status START_REQUESTED` restarts it."
    }
    package var catalog: any ClusterCatalog { StoreCatalog(store: store) }

    /// A local creation that fails stops what it started (there is nothing to inspect in half a local
    /// cluster), so `rollbackOnFailure` makes no difference here.
    package func create(
        name: String, config: ClusterConfiguration, configuration: String, record: ClusterRecord,
        rollbackOnFailure: Bool, progress: @Sendable (String) -> Void
    ) async throws {
        try store.save(record, configuration: configuration)
        try await createCluster(name: name, config: config, record: record, progress: progress)
    }

    package func update(name: String, config: ClusterConfiguration, configuration: String, progress: @Sendable (String) -> Void) async throws {
        try await updateCluster(name: name, config: config, progress: progress)
        if let record = try store.record(named: name) { try store.save(record, configuration: configuration) }
    }

    package func instances(of name: String) -> [ProvisionedInstance] {
        let headRunning = headNode(name).health().headNodeRunning
        return InstanceRegistry(layout: layout(name)).read().compactMap { instance in
            let running: Bool
            switch instance.role {
            case .headNode: running = headRunning
            case .computeNode:
                running = instance.state == .running && (instance.pid.map { ProcessControl.isAlive($0, commandContains: "slurmd") } ?? false)
                if !running { return nil }  // a terminated compute instance is gone, as on EC2
            case .loginNode:
                running = instance.state == .running && instance.nodeName.flatMap { loginNodes(name).pid(of: $0) } == instance.pid
                if !running { return nil }
            }
            return ProvisionedInstance(
                instanceId: instance.instanceId, nodeType: instance.role.rawValue, instanceType: instance.instanceType,
                launchTime: instance.launchTime, privateIpAddress: "127.0.0.1", publicIpAddress: "127.0.0.1",
                queueName: instance.queue, state: running ? "running" : "stopped")
        }
    }

    package func loginNodePools(of name: String) -> [LoginPoolStatus] {
        guard let spec = try? loadSpec(name) else { return [] }
        return loginNodes(name).statuses(spec)
    }

    package func headNodeProblems(of name: String) -> [String] {
        let now = headNode(name).health()
        let down = [("slurmctld", now.controller), ("munged", now.munge), ("node agent", now.agent)].filter { !$0.1 }.map(\.0)
        return down.isEmpty ? [] : ["\(down.joined(separator: ", ")) not running on the head node"]
    }

    package func creationFailure(of name: String) -> String? {
        EventLog(layout: layout(name)).all().last { $0.status == "CREATE_FAILED" }?.reason
    }

    package func terminateComputeNodes(of name: String) async throws {
        try await NodeAgent(clusterDirectory: layout(name).root.path).terminateAllComputeNodes(reason: "delete-cluster-instances")
    }

    package func events(of name: String) -> [ClusterEvent] {
        EventLog(layout: layout(name)).all().map {
            ClusterEvent(timestamp: $0.timestamp, resource: $0.resource, status: $0.status, reason: $0.reason)
        }
    }

    package func logStreams(of name: String) -> [ClusterLogStream] {
        let logs = layout(name).logs
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
        return files.map { file in
            let attributes = (try? FileManager.default.attributesOfItem(atPath: "\(logs)/\(file)")) ?? [:]
            let modified = attributes[.modificationDate] as? Date ?? Date()
            return ClusterLogStream(
                name: String(file.dropLast(4)), lastEventTime: modified, location: "file://\(logs)/\(file)",
                creationTime: attributes[.creationDate] as? Date ?? modified, size: (attributes[.size] as? NSNumber)?.intValue ?? 0)
        }
    }

    package func logLines(of name: String, stream: String) -> [String]? {
        guard !stream.contains("/"), !stream.hasPrefix("."),
            let text = try? String(contentsOfFile: "\(layout(name).logs)/\(stream).log", encoding: .utf8)
        else { return nil }
        return text.split(separator: "\n").map(String.init)
    }

    package func headNodeShell(of name: String) -> HeadNodeShell? {
        headNode(name).health().controller ? .local(environment: layout(name).slurmEnvironment) : nil
    }

    /// The head node's desktop (`LocalDesktop`) at HeadNode.Dcv.Port, when the config enables DCV.
    package func desktopSession(of name: String) throws -> String? {
        guard let text = try StoreCatalog(store: store).configuration(of: name) else {
            throw LocalClusterError("cluster \(name) has no stored configuration")
        }
        let config = ClusterConfiguration(checked: try ConfigLoader.parse(text: text, file: "cluster-config.yaml", environment: [:]).0)
        guard config.headNode.dcvEnabled else {
            throw LocalClusterError("DCV is not enabled on the head node of \(name) (HeadNode.Dcv.Enabled); enable it with update-cluster")
        }
        guard LocalDesktop.allowsLoopback(config.headNode.dcvAllowedIps) else {
            throw LocalClusterError(
                "HeadNode.Dcv.AllowedIps \(config.headNode.dcvAllowedIps) does not include 127.0.0.1, the only address a local desktop listens on")
        }
        if let missing = LocalDesktop.missing() { throw LocalClusterError(missing) }
        guard headNode(name).health().controller else { throw LocalClusterError(headNodeDownAdvice(of: name)) }
        return try LocalDesktop(layout: layout(name), port: config.headNode.dcvPort).session()
    }
}
