import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The head node of a Slurm cluster as processes on this machine: munged with the cluster's own key, slurmctld,
/// and the node agent's cluster-manager loop, all born in the cluster's cgroup. Both providers run it: the local
/// provider for every cluster it creates, and an AWS cluster's head node once `pcluster-agent bootstrap` wrote
/// its state.
package struct HeadNode: Sendable {
    package let layout: LocalLayout
    /// The `pcluster-agent` Slurm's resume, suspend and prolog scripts run, and the manage loop is.
    package let agentExecutable: String

    package init(layout: LocalLayout, agentExecutable: String) {
        self.layout = layout
        self.agentExecutable = agentExecutable
    }

    var environment: [String: String] { layout.daemonEnvironment }

    /// Starts slurmctld with the cluster's slurm.conf; returns its pid.
    package func startController() throws -> Int32 {
        try ProcessControl.startDaemon(
            [SlurmTools.slurmctld, "-f", layout.slurmConf], environment: environment,
            logPath: layout.slurmctldLog + ".out", pidFile: layout.slurmctldPid, cgroup: layout.cgroup)
    }

    package func writePrograms() throws {
        func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let agent = quoted(agentExecutable)
        let dir = quoted(layout.root.path)
        let programs = [
            (layout.resumeProgram, "exec \(agent) resume --cluster-dir \(dir) \"$@\""),
            (layout.suspendProgram, "exec \(agent) suspend --cluster-dir \(dir) \"$@\""),
            (layout.prologProgram, "exec \(agent) prolog --cluster-dir \(dir)"),
        ]
        for (path, command) in programs {
            try "#!/bin/sh\n# Slurm runs this for the cluster in \(layout.root.path).\n\(command)\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
    }

    package func startMunge() throws {
        guard let user = getpwnam("munge") else { throw LocalClusterError(SlurmTools.missing() ?? "no munge user") }
        let uid = user.pointee.pw_uid, gid = user.pointee.pw_gid
        var key = [UInt8](repeating: 0, count: 1024)
        for index in key.indices { key[index] = UInt8.random(in: 0...255) }
        guard FileManager.default.createFile(atPath: layout.mungeKey, contents: Data(key), attributes: [.posixPermissions: 0o400]) else {
            throw LocalClusterError("cannot write the cluster's munge key at \(layout.mungeKey)")
        }
        // /run is emptied by a reboot: the socket's directory is made again whenever munged starts.
        try? FileManager.default.createDirectory(atPath: layout.mungeSocketDirectory, withIntermediateDirectories: true)
        for directory in [layout.mungeDirectory, layout.mungeSocketDirectory] {
            chown(directory, uid, gid)
            // munged insists that everyone may traverse its socket's directory; the key itself is 0400.
            chmod(directory, 0o755)
        }
        chown(layout.mungeKey, uid, gid)
        _ = try ProcessControl.startDaemon(
            [
                SlurmTools.runuser, "-u", "munge", "--", SlurmTools.munged, "--socket=\(layout.mungeSocket)",
                "--key-file=\(layout.mungeKey)", "--pid-file=\(layout.mungePid)", "--log-file=\(layout.mungeLog)",
                "--seed-file=\(layout.mungeSeed)",
            ],
            environment: environment, logPath: layout.logs + "/munged.out", pidFile: layout.mungePid, label: "munged",
            cgroup: layout.cgroup)
    }

    package func waitForController(timeout: TimeInterval = 20) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await ProcessControl.run([SlurmTools.scontrol, "ping"], environment: environment).output.contains("UP") { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw LocalClusterError("slurmctld did not answer within \(Int(timeout)) s; see \(layout.slurmctldLog)")
    }

    package func startAgent() throws {
        guard FileManager.default.isExecutableFile(atPath: agentExecutable) else {
            throw LocalClusterError("the node agent \(agentExecutable) is missing; build it with `swift build --product pcluster-agent`")
        }
        let pid = try ProcessControl.spawn(
            [agentExecutable, "manage", "--cluster-dir", layout.root.path],
            environment: environment, logPath: layout.agentLog,
            cgroup: layout.cgroup)
        try "\(pid)\n".write(toFile: layout.agentPid, atomically: true, encoding: .utf8)
    }

    /// Stops every process of the cluster, by the pids it recorded: agent, compute nodes, slurmctld, munged.
    @discardableResult
    package func stopAll() -> [String] {
        var survivors: [String] = []
        func stop(_ pid: Int32?, _ command: String, _ label: String) {
            guard let pid, ProcessControl.isAlive(pid, commandContains: command) else { return }
            if !ProcessControl.terminate(pid, commandContains: command, grace: 10) { survivors.append("\(label) (pid \(pid))") }
        }
        stop(ProcessControl.readPid(layout.agentPid), "pcluster-agent", "node agent")
        survivors += LoginNodes(layout: layout, agentExecutable: agentExecutable).stop(reason: "cluster stopped")
        let instances = InstanceRegistry(layout: layout).read()
        for instance in instances where instance.role == .computeNode {
            stop(instance.pid, "slurmd", "slurmd of \(instance.nodeName ?? "?")")
        }
        if let files = try? FileManager.default.contentsOfDirectory(atPath: layout.run) {
            for file in files where file.hasPrefix("slurmd-") && file.hasSuffix(".pid") {
                stop(ProcessControl.readPid("\(layout.run)/\(file)"), "slurmd", file)
            }
        }
        stop(ProcessControl.readPid(layout.slurmctldPid), "slurmctld", "slurmctld")
        // After slurmctld, which sends what it still holds for the accounting on its way down.
        stop(ProcessControl.readPid(layout.slurmdbdPid), "slurmdbd", "slurmdbd")
        stop(ProcessControl.readPid(layout.mungePid), "munged", "munged")
        // What no pid file names: slurmstepd and job processes whose slurmd is gone, a daemon restarted by
        // hand. Everything the cluster started is in its cgroup.
        if let cgroup = layout.cgroup {
            let left = cgroup.killAll()
            if !left.isEmpty { survivors.append("processes \(left.map(String.init).joined(separator: ", ")) in \(cgroup.path)") }
        }
        return survivors
    }

    package struct Health: Sendable {
        package var controller: Bool
        package var munge: Bool
        package var agent: Bool
        package var headNodeRunning: Bool { controller && munge && agent }
    }

    package func health() -> Health {
        Health(
            controller: ProcessControl.readPid(layout.slurmctldPid).map { ProcessControl.isAlive($0, commandContains: "slurmctld") } ?? false,
            munge: ProcessControl.readPid(layout.mungePid).map { ProcessControl.isAlive($0, commandContains: "munged") } ?? false,
            agent: ProcessControl.readPid(layout.agentPid).map { ProcessControl.isAlive($0, commandContains: "pcluster-agent") } ?? false)
    }

    /// Starts the head node's daemons in a cluster directory another provider prepared (an AWS head node,
    /// after `pcluster-agent bootstrap` wrote its spec and launch plan): Slurm's programs, munged with a new
    /// key, slurmctld with `slurmConf`, and the cluster-manager loop. Stopped with `stopAll()`.
    package func start(
        slurmConf: String, accounting: (spec: AccountingSpec, password: String)? = nil, accountingHost: String = "localhost",
        startAgentLoop: Bool = true
    ) async throws {
        for directory in [
            layout.bin, layout.mungeDirectory, layout.stateSave, layout.spool, layout.run, layout.logs,
            layout.root.appendingPathComponent("etc").path,
        ] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try slurmConf.write(toFile: layout.slurmConf, atomically: true, encoding: .utf8)
        try writePrograms()
        do {
            try startMunge()
            if let accounting { try await startAccounting(accounting.spec, password: accounting.password, bindHost: accountingHost) }
            _ = try startController()
            try await waitForController()
            if startAgentLoop { try startAgent() }
        } catch {
            stopAll()
            throw error
        }
    }

    /// Puts a new spec into effect on a running head node: local.json and slurm.conf rewritten, slurmctld
    /// restarted when the node set changed (Slurm 22.05 cannot add nodes on reconfigure) or the accounting did,
    /// reconfigured otherwise. slurmdbd restarts when its settings (or the password) changed. Jobs survive in
    /// slurmctld's saved state.
    package func apply(
        _ spec: LocalClusterSpec, nodeSetChanged: Bool, accounting: (spec: AccountingSpec, password: String)? = nil,
        accountingHost: String = "localhost", slurmConf: String, progress: (String) -> Void = { _ in }
    ) async throws {
        let before = (try? Data(contentsOf: URL(fileURLWithPath: layout.spec)))
            .flatMap { try? InstanceRegistry.decoder.decode(LocalClusterSpec.self, from: $0) }?.accounting
        try InstanceRegistry.encoder.encode(spec).write(to: URL(fileURLWithPath: layout.spec), options: .atomic)
        try slurmConf.write(toFile: layout.slurmConf, atomically: true, encoding: .utf8)
        try writeNodeFiles(spec)
        let newConf = accounting.map { $0.spec.slurmdbdConf(password: $0.password, layout: layout) }
        let oldConf = try? String(contentsOfFile: layout.slurmdbdConf, encoding: .utf8)
        // slurmctld registers its cluster with slurmdbd when it starts: a new database needs a new start.
        let accountingChanged = newConf != oldConf
        if accountingChanged || (accounting != nil && !accountingIsRunning) {
            if before != nil || accountingIsRunning {
                progress("stopping slurmdbd")
                guard stopAccounting() else { throw LocalClusterError("slurmdbd did not stop") }
            }
            unlink(layout.slurmdbdConf)
            if let accounting {
                progress("starting slurmdbd on port \(accounting.spec.dbdPort) (database \(accounting.spec.databaseName))")
                try await startAccounting(accounting.spec, password: accounting.password, bindHost: accountingHost)
            }
        }
        if nodeSetChanged || accountingChanged {
            progress("restarting slurmctld with \(spec.nodes.count) compute nodes")
            if let pid = ProcessControl.readPid(layout.slurmctldPid) { await ProcessControl.terminate(pid, commandContains: "slurmctld") }
            let controller = try startController()
            try InstanceRegistry(layout: layout).update { instances in
                for index in instances.indices where instances[index].role == .headNode { instances[index].pid = controller }
            }
            try await waitForController()
        } else {
            progress("reconfiguring slurmctld")
            let result = await ProcessControl.run([SlurmTools.scontrol, "reconfigure"], environment: environment)
            guard result.status == 0 else { throw LocalClusterError("scontrol reconfigure failed: \(result.output)") }
        }
    }
}
