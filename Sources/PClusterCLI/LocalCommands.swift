import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import LocalCluster
import Provisioning

/// The local provider as the commands use it.
struct LocalBackend {
    let env: CommandEnvironment
    let runtime: LocalClusterRuntime

    init(env: CommandEnvironment) {
        self.env = env
        // PCLUSTER_SLURM_FAST_START=false keeps Slurm's own job start (for measuring the difference).
        let fast = env.variables["PCLUSTER_SLURM_FAST_START"]?.lowercased() != "false"
        runtime = LocalClusterRuntime(store: env.store, agentExecutable: Self.agentExecutable(env.variables), fastJobStart: fast)
    }

    /// PCLUSTER_AGENT, else `pcluster-agent` beside the running executable.
    static func agentExecutable(_ variables: [String: String]) -> String {
        if let path = variables["PCLUSTER_AGENT"], !path.isEmpty { return path }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("pcluster-agent").path
    }

    func layout(_ name: String) -> LocalLayout { runtime.layout(name) }

    static var iso: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }

    func headNode(_ name: String) -> JSONObject? {
        guard let head = InstanceRegistry(layout: layout(name)).read().first(where: { $0.role == .headNode }) else { return nil }
        let running = runtime.health(name).headNodeRunning
        return ["instanceId": .string(head.instanceId), "instanceType": .string(head.instanceType),
                "launchTime": .string(Self.iso.string(from: head.launchTime)), "privateIpAddress": "127.0.0.1",
                "publicIpAddress": "127.0.0.1", "state": .string(running ? "running" : "stopped")]
    }

    func failures(_ record: ClusterRecord) -> [JSONValue] {
        var failures: [JSONValue] = []
        if record.clusterStatus == "CREATE_FAILED" {
            let reason = EventLog(layout: layout(record.name)).all().last { $0.status == "CREATE_FAILED" }?.reason ?? "see get-cluster-stack-events"
            failures.append(["failureCode": "ClusterCreationFailure", "failureReason": .string(reason)])
        } else if record.clusterStatus != "DELETE_IN_PROGRESS" {
            let health = runtime.health(record.name)
            let down = [("slurmctld", health.controller), ("munged", health.munge), ("node agent", health.agent)].filter { !$0.1 }.map(\.0)
            if !down.isEmpty {
                failures.append(["failureCode": "HeadNodeDown",
                                 "failureReason": .string("\(down.joined(separator: ", ")) not running on the head node; `pcluster update-compute-fleet -n \(record.name) --status START_REQUESTED` restarts them")])
            }
        }
        return failures
    }
}

extension CreateCluster {
    func createLocally(env: CommandEnvironment, result: ValidationResult) throws -> CommandOutcome {
        if let problem = LocalClusterRuntime.preconditions() { return .failure(message: problem) }
        guard let config = result.config else { return .failure(message: "Invalid cluster configuration.") }
        let text: String
        do { text = try String(contentsOfFile: clusterConfiguration, encoding: .utf8) } catch {
            return .failure(message: "Cannot read \(clusterConfiguration): \(error.localizedDescription)")
        }
        let backend = LocalBackend(env: env)
        let now = Date()
        let record = ClusterRecord(name: clusterName, region: config.region ?? env.region(region) ?? "us-east-1",
                                   version: PClusterVersion.string, clusterStatus: "CREATE_IN_PROGRESS",
                                   computeFleetStatus: "RUNNING", creationTime: now, lastUpdatedTime: now, provider: "local")
        try env.store.save(record, configuration: text)
        let say: (String) -> Void = wait ? { env.progress("[\(clusterName)] \($0)") } : { _ in }
        do {
            _ = try backend.runtime.create(name: clusterName, config: config, record: record, progress: say)
        } catch {
            return .failure(message: "Cluster creation failed: \(error). The cluster is CREATE_FAILED and nothing of it is running; `pcluster delete-cluster -n \(clusterName)` removes its files.")
        }
        var current = record
        if wait {
            let deadline = Date().addingTimeInterval(900)
            var shown = ""
            while Date() < deadline {
                current = (try env.store.record(named: clusterName)) ?? current
                if current.clusterStatus != shown { say("cluster status: \(current.clusterStatus)"); shown = current.clusterStatus }
                if current.clusterStatus != "CREATE_IN_PROGRESS" { break }
                usleep(200_000)
            }
        }
        var o: JSONObject = ["cluster": .object(clusterSummary(current))]
        o["validationMessages"] = validationMessagesField(result.messages)
        return current.clusterStatus == "CREATE_FAILED" ? .failure(.object(o)) : .ok(.object(o))
    }
}

extension DeleteCluster {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        let deleting = try env.store.update(clusterName) { $0.clusterStatus = "DELETE_IN_PROGRESS" } ?? record
        if wait { env.progress("[\(clusterName)] stopping the compute nodes, slurmctld, munged and the node agent") }
        do {
            try local.runtime.delete(name: clusterName)
        } catch {
            _ = try? env.store.update(clusterName) { $0.clusterStatus = "DELETE_FAILED" }
            return .failure(message: "Deleting cluster '\(clusterName)' failed: \(error)")
        }
        var done = deleting
        if wait {
            done.clusterStatus = "DELETE_COMPLETE"
            env.progress("[\(clusterName)] DELETE_COMPLETE")
        }
        return .ok(["cluster": .object(clusterSummary(done))])
    }
}

extension DescribeComputeFleet {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        .ok(["status": .string(record.computeFleetStatus),
             "lastStatusUpdatedTime": .string(LocalBackend.iso.string(from: record.lastUpdatedTime))])
    }
}

extension UpdateComputeFleet {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        switch status {
        case .ENABLED, .DISABLED:
            return .failure(message: "Bad Request: ENABLED and DISABLED apply to AWS Batch clusters; use START_REQUESTED or STOP_REQUESTED.")
        case .START_REQUESTED:
            // Starting the fleet also brings back a head node whose daemons died (a reboot, a kill).
            do { _ = try local.runtime.recover(clusterName) } catch {
                return .failure(message: "Cannot restart the head node of '\(clusterName)': \(error)")
            }
        case .STOP_REQUESTED:
            break
        }
        let updated = try env.store.update(clusterName) { $0.computeFleetStatus = status.rawValue } ?? record
        return .ok(["status": .string(updated.computeFleetStatus),
                    "lastStatusUpdatedTime": .string(LocalBackend.iso.string(from: updated.lastUpdatedTime))])
    }
}

extension DescribeClusterInstances {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        let layout = local.layout(clusterName)
        var instances: [JSONValue] = []
        let headRunning = local.runtime.health(clusterName).headNodeRunning
        for instance in InstanceRegistry(layout: layout).read() {
            let alive: Bool
            switch instance.role {
            case .headNode: alive = headRunning
            case .computeNode:
                alive = instance.state == .running && (instance.pid.map { ProcessControl.isAlive($0, commandContains: "slurmd") } ?? false)
            }
            guard alive || instance.role == .headNode else { continue }
            if let nodeType, nodeType.rawValue != instance.role.rawValue { continue }
            if let queueName, instance.queue != queueName { continue }
            var o: JSONObject = ["instanceId": .string(instance.instanceId), "instanceType": .string(instance.instanceType),
                                 "launchTime": .string(LocalBackend.iso.string(from: instance.launchTime)),
                                 "privateIpAddress": "127.0.0.1", "publicIpAddress": "127.0.0.1",
                                 "state": .string(alive ? "running" : "stopped"), "nodeType": .string(instance.role.rawValue)]
            if let queue = instance.queue { o["queueName"] = .string(queue) }
            instances.append(.object(o))
        }
        return .ok(["instances": .array(instances)])
    }
}

extension DeleteClusterInstances {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        let agent = try NodeAgent(clusterDirectory: local.layout(clusterName).root.path)
        agent.terminateAllComputeNodes(reason: "delete-cluster-instances")
        return CommandOutcome(json: nil, exitCode: 0)
    }
}

extension GetClusterStackEvents {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        let events = EventLog(layout: local.layout(clusterName)).all().reversed()
        let stackId = "arn:pcluster-local:\(record.region):local:stack/\(record.name)"
        return .ok(["events": .array(events.enumerated().map { index, event in
            ["eventId": .string("\(record.name)-\(events.count - index)"), "logicalResourceId": .string(event.resource),
             "physicalResourceId": .string(event.resource), "resourceStatus": .string(event.status),
             "resourceStatusReason": .string(event.reason), "resourceType": "Local::Cluster::Resource",
             "stackId": .string(stackId), "stackName": .string(record.name),
             "timestamp": .string(LocalBackend.iso.string(from: event.timestamp))]
        })])
    }
}

extension ListClusterLogStreams {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        let layout = local.layout(clusterName)
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: layout.logs)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
        return .ok(["logStreams": .array(files.map { file in
            let attributes = try? FileManager.default.attributesOfItem(atPath: "\(layout.logs)/\(file)")
            let modified = (attributes?[.modificationDate] as? Date) ?? Date()
            return ["logStreamName": .string(String(file.dropLast(4))),
                    "lastEventTimestamp": .string(LocalBackend.iso.string(from: modified)),
                    "logStreamArn": .string("file://\(layout.logs)/\(file)")]
        })])
    }
}

extension GetClusterLogEvents {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        let layout = local.layout(clusterName)
        guard !logStreamName.contains("/"), let text = try? String(contentsOfFile: "\(layout.logs)/\(logStreamName).log", encoding: .utf8) else {
            return .failure(message: "Log stream '\(logStreamName)' does not exist; `pcluster list-cluster-log-streams -n \(clusterName)` lists them.")
        }
        var lines = text.split(separator: "\n").map(String.init)
        let fromHead = startFromHead?.value ?? false
        if let limit, limit >= 0 { lines = fromHead ? Array(lines.prefix(limit)) : Array(lines.suffix(limit)) }
        return .ok(["events": .array(lines.map { ["message": .string($0)] })])
    }
}

extension Ssh {
    func perform(record: ClusterRecord, local: LocalBackend, env: CommandEnvironment) throws -> CommandOutcome {
        let layout = local.layout(clusterName)
        guard local.runtime.health(clusterName).controller else {
            return .failure(message: "The head node of '\(clusterName)' is not running (slurmctld is down); `pcluster update-compute-fleet -n \(clusterName) --status START_REQUESTED` restarts it.")
        }
        var environment = env.variables
        environment["SLURM_CONF"] = layout.slurmConf
        environment["PCLUSTER_CLUSTER_NAME"] = clusterName
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" + (env.variables["PATH"].map { ":" + $0 } ?? "")
        let plan: ExecPlan
        switch sshArguments.count {
        case 0: plan = ExecPlan(path: "/bin/bash", arguments: ["-l"], environment: environment)
        // One argument may be a shell line ("squeue; sinfo"), as ssh would run it.
        case 1: plan = ExecPlan(path: "/bin/sh", arguments: ["-c", sshArguments[0]], environment: environment)
        // Several are a command and its arguments, kept apart (so --wrap 'srun hostname' stays one argument).
        default: plan = ExecPlan(path: "/usr/bin/env", arguments: sshArguments, environment: environment)
        }
        if dryrun?.value == true {
            return .ok(["command": .string(([plan.path] + plan.arguments).joined(separator: " ")), "SLURM_CONF": .string(layout.slurmConf)])
        }
        var outcome = CommandOutcome(json: nil, exitCode: 0)
        outcome.exec = plan
        return outcome
    }
}
