import AWSProvider
import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import LocalCluster
import Provisioning

/// Chooses the cluster provider for a record or a create request. Only this type knows the concrete
/// providers; commands work through `ClusterProvider`.
enum Providers {
    /// The provider of a kind.
    static func named(_ kind: ProviderKind, env: CommandEnvironment, region: String? = nil) -> any ClusterProvider {
        switch kind {
        case .local:
            // PCLUSTER_SLURM_FAST_START=false keeps Slurm's own job start (for measuring the difference).
            let fast = env.variables["PCLUSTER_SLURM_FAST_START"]?.lowercased() != "false"
            return LocalClusterRuntime(store: env.store, agentExecutable: agentExecutable(env.variables), fastJobStart: fast)
        case .aws:
            return AWSClusterProvider(environment: env.variables, region: region, version: PClusterVersion.original)
        }
    }

    /// The kind --provider or PCLUSTER_PROVIDER names (local when neither is given).
    static func selectedKind(_ env: CommandEnvironment, flag: String? = nil) throws -> ProviderKind {
        let name = flag ?? env.variables["PCLUSTER_PROVIDER"] ?? "local"
        guard let kind = ProviderKind(name: name) else {
            throw ProviderChoiceError(name: name, source: flag == nil ? "PCLUSTER_PROVIDER" : "--provider")
        }
        return kind
    }

    /// The provider the commands work with: PCLUSTER_PROVIDER, else local. Clusters are looked up in that
    /// provider's catalog (the local store, or CloudFormation for aws).
    static func selected(_ env: CommandEnvironment, region: String?) throws -> any ClusterProvider {
        named(try selectedKind(env), env: env, region: region)
    }

    /// A command's answer when the cluster cannot be found (or asked for).
    struct Refusal: Error {
        let outcome: CommandOutcome
    }

    /// The selected provider and its record of the cluster, or the command's answer why not.
    static func find(_ name: String, env: CommandEnvironment, region: String?) async -> Result<(any ClusterProvider, ClusterRecord), Refusal> {
        do {
            let provider = try selected(env, region: env.region(region))
            guard let record = try await provider.catalog.record(named: name) else {
                return .failure(Refusal(outcome: Responses.notFound(name, provider: provider.kind)))
            }
            return .success((provider, record))
        } catch {
            return .failure(Refusal(outcome: .failure(message: "\(error)")))
        }
    }

    struct ProviderChoiceError: Error, CustomStringConvertible {
        let name: String
        let source: String
        var description: String { "Bad Request: unknown provider '\(name)' in \(source); use local or aws." }
    }

    /// What the provider's resource validators ask (nil: none for this provider yet).
    static func inventory(_ kind: ProviderKind, env: CommandEnvironment, region: String?) -> (any ResourceInventory)? {
        switch kind {
        case .local: return LocalResourceInventory(environment: env.variables)
        case .aws: return AWSResourceInventory(lazy: env.variables, region: region)
        }
    }

    /// PCLUSTER_AGENT, else `pcluster-agent` beside the running executable.
    static func agentExecutable(_ variables: [String: String]) -> String {
        if let path = variables["PCLUSTER_AGENT"], !path.isEmpty { return path }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("pcluster-agent").path
    }

    static var iso: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }

    static func instanceJSON(_ instance: ProvisionedInstance) -> JSONObject {
        var o: JSONObject = [
            "instanceId": .string(instance.instanceId), "instanceType": .string(instance.instanceType),
            "launchTime": .string(iso.string(from: instance.launchTime)),
            "privateIpAddress": .string(instance.privateIpAddress),
        ]
        if let ip = instance.publicIpAddress { o["publicIpAddress"] = .string(ip) }
        o["state"] = .string(instance.state)
        o["nodeType"] = .string(instance.nodeType)
        if let queue = instance.queueName { o["queueName"] = .string(queue) }
        return o
    }

    /// describe-cluster's headNode and failures.
    static func describe(_ record: ClusterRecord, provider: any ClusterProvider) async -> (head: JSONObject?, failures: [JSONValue]) {
        var head = await provider.instances(of: record.name).first { $0.nodeType == "HeadNode" }.map(instanceJSON)
        head?["nodeType"] = nil
        var failures: [JSONValue] = []
        if record.clusterStatus == .createFailed || record.clusterStatus == .updateFailed {
            await failures.append([
                "failureCode": "ClusterCreationFailure",
                "failureReason": .string(provider.creationFailure(of: record.name) ?? "see `pcluster get-cluster-stack-events -n \(record.name)`"),
            ])
        } else if !record.clusterStatus.isDeleting {
            for problem in await provider.headNodeProblems(of: record.name) {
                failures.append([
                    "failureCode": "HeadNodeDown",
                    "failureReason": .string("\(problem); `pcluster update-compute-fleet -n \(record.name) --status START_REQUESTED` restarts it"),
                ])
            }
        }
        return (head, failures)
    }
}

extension CreateCluster {
    func create(with provider: any ClusterProvider, env: CommandEnvironment, result: ValidationResult, region: String?) async throws -> CommandOutcome
    {
        if let problem = provider.preconditions() { return .failure(message: problem) }
        guard let config = result.config else { return .failure(message: "Invalid cluster configuration.") }
        let text: String
        do { text = try String(contentsOfFile: clusterConfiguration, encoding: .utf8) } catch {
            return .failure(message: "Cannot read \(clusterConfiguration): \(error.localizedDescription)")
        }
        let now = Date()
        let record = ClusterRecord(
            name: clusterName, region: config.region ?? region ?? "us-east-1",
            version: PClusterVersion.string, clusterStatus: .createInProgress,
            computeFleetStatus: .running, creationTime: now, lastUpdatedTime: now,
            provider: provider.kind)
        let say = env.progress(of: clusterName, shown: wait)
        do {
            try await provider.create(
                name: clusterName, config: config, configuration: text, record: record,
                rollbackOnFailure: rollbackOnFailure?.value ?? true, progress: say)
        } catch {
            let kept = (try? await provider.catalog.record(named: clusterName)) != nil
            return .failure(
                message: "Cluster creation failed: \(error)."
                    + (kept
                        ? " The cluster is CREATE_FAILED and nothing of it is running; `pcluster delete-cluster -n \(clusterName)` removes what is left."
                        : " Nothing of it was made."))
        }
        var current = (try? await provider.catalog.record(named: clusterName)).flatMap { $0 } ?? record
        if wait {
            // An AWS stack takes minutes; a local cluster seconds. Polls start fast and slow down.
            let deadline = Date().addingTimeInterval(provider.kind == .local ? 900 : 7200)
            var shown = ""
            var delay = 0.2
            while Date() < deadline {
                current = (try await provider.catalog.record(named: clusterName)) ?? current
                if current.clusterStatus.rawValue != shown {
                    say("cluster status: \(current.clusterStatus.rawValue)"); shown = current.clusterStatus.rawValue
                }
                if current.clusterStatus != .createInProgress { break }
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                if provider.kind != .local { delay = min(delay * 1.5, 10) }
            }
            // The status alone leaves the user to go looking; the first failure says why.
            if current.clusterStatus == .createFailed, let reason = await provider.creationFailure(of: clusterName) {
                say("why: \(reason)")
            }
        }
        var o: JSONObject = ["cluster": .object(clusterSummary(current))]
        o["validationMessages"] = validationMessagesField(result.messages)
        return current.clusterStatus == .createFailed ? .failure(.object(o)) : .ok(.object(o))
    }
}

extension DeleteCluster {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        var deleting = try await provider.catalog.update(clusterName) { $0.clusterStatus = .deleteInProgress } ?? record
        deleting.clusterStatus = .deleteInProgress
        deleting.stackStatus = deleting.stackStatus.map { _ in "DELETE_IN_PROGRESS" }
        if wait { env.progress("[\(clusterName)] deleting every resource of the cluster") }
        let say = env.progress(of: clusterName, shown: wait)
        do {
            try await provider.delete(name: clusterName, wait: wait, progress: say)
        } catch {
            _ = try? await provider.catalog.update(clusterName) { $0.clusterStatus = .deleteFailed }
            return .failure(message: "Deleting cluster '\(clusterName)' failed: \(error)")
        }
        var done = deleting
        if wait {
            done.clusterStatus = .deleteComplete
            done.stackStatus = done.stackStatus.map { _ in "DELETE_COMPLETE" }
            env.progress("[\(clusterName)] DELETE_COMPLETE")
        }
        return .ok(["cluster": .object(clusterSummary(done))])
    }
}

extension DescribeComputeFleet {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        .ok([
            "status": .string(record.computeFleetStatus.rawValue),
            "lastStatusUpdatedTime": .string(Providers.iso.string(from: record.lastUpdatedTime)),
        ])
    }
}

extension UpdateComputeFleet {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        switch status {
        case .ENABLED, .DISABLED:
            return .failure(message: "Bad Request: ENABLED and DISABLED apply to AWS Batch clusters; use START_REQUESTED or STOP_REQUESTED.")
        case .START_REQUESTED:
            // Starting the fleet also brings back a head node whose services died (a reboot, a kill).
            do { _ = try await provider.recover(name: clusterName) } catch {
                return .failure(message: "Cannot restart the head node of '\(clusterName)': \(error)")
            }
        case .STOP_REQUESTED:
            break
        }
        let updated = try await provider.catalog.update(clusterName) { $0.computeFleetStatus = status.fleetStatus } ?? record
        return .ok([
            "status": .string(updated.computeFleetStatus.rawValue),
            "lastStatusUpdatedTime": .string(Providers.iso.string(from: updated.lastUpdatedTime)),
        ])
    }
}

extension DescribeClusterInstances {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        let instances = await provider.instances(of: clusterName).filter { instance in
            (nodeType == nil || nodeType?.rawValue == instance.nodeType) && (queueName == nil || instance.queueName == queueName)
        }
        return .ok(["instances": .array(instances.map { .object(Providers.instanceJSON($0)) })])
    }
}

extension DeleteClusterInstances {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        try await provider.terminateComputeNodes(of: clusterName)
        return CommandOutcome(json: nil, exitCode: 0)
    }
}

extension GetClusterStackEvents {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        // Newest first, as CloudFormation lists them.
        let events = await Array(provider.events(of: clusterName).reversed())
        let stackId = stackArn(record)
        return .ok([
            "events": .array(
                events.enumerated().map { index, event in
                    var o: JSONObject = [
                        "eventId": .string(event.stackEvent?.eventId ?? "\(record.name)-\(events.count - index)"),
                        "logicalResourceId": .string(event.resource),
                        "physicalResourceId": .string(event.stackEvent?.physicalResourceId ?? event.resource),
                        "resourceStatus": .string(event.status),
                        "resourceType": .string(event.stackEvent?.resourceType ?? "Local::Cluster::Resource"),
                        "stackId": .string(event.stackEvent?.stackId ?? stackId), "stackName": .string(record.name),
                        "timestamp": .string(Providers.iso.string(from: event.timestamp)),
                    ]
                    if !event.reason.isEmpty || event.stackEvent == nil { o["resourceStatusReason"] = .string(event.reason) }
                    return .object(o)
                })
        ])
    }
}

extension ListClusterLogStreams {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        if let reason = provider.logsUnavailable() { return Responses.unavailable("list-cluster-log-streams", reason) }
        return await .ok([
            "logStreams": .array(
                provider.logStreams(of: clusterName).map { stream in
                    [
                        "logStreamName": .string(stream.name), "lastEventTimestamp": .string(Providers.iso.string(from: stream.lastEventTime)),
                        "logStreamArn": .string(stream.location),
                    ]
                })
        ])
    }
}

extension GetClusterLogEvents {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        if let reason = provider.logsUnavailable() { return Responses.unavailable("get-cluster-log-events", reason) }
        guard var lines = await provider.logLines(of: clusterName, stream: logStreamName) else {
            return .failure(
                message: "Log stream '\(logStreamName)' does not exist; `pcluster list-cluster-log-streams -n \(clusterName)` lists them.")
        }
        let fromHead = startFromHead?.value ?? false
        if let limit, limit >= 0 { lines = fromHead ? Array(lines.prefix(limit)) : Array(lines.suffix(limit)) }
        return .ok(["events": .array(lines.map { ["message": .string($0)] })])
    }
}

extension Ssh {
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        let shell: [String: String]
        switch await provider.headNodeShell(of: clusterName) {
        case nil:
            return .failure(
                message: provider.kind == .local
                    ? "The head node of '\(clusterName)' is not running (slurmctld is down); `pcluster update-compute-fleet -n \(clusterName) --status START_REQUESTED` restarts it."
                    : "The head node of '\(clusterName)' is not running; `pcluster describe-cluster -n \(clusterName)` shows the cluster's state.")
        case .ssh(let user, let host):
            // As the original: ssh to the head node with the arguments given.
            let plan = ExecPlan(path: "/usr/bin/ssh", arguments: ["\(user)@\(host)"] + sshArguments, environment: env.variables)
            if dryrun?.value == true { return .ok(["command": .string(([plan.path] + plan.arguments).joined(separator: " "))]) }
            var outcome = CommandOutcome(json: nil, exitCode: 0)
            outcome.exec = plan
            return outcome
        case .local(let environment):
            shell = environment
        }
        var environment = env.variables.merging(shell) { $1 }
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
            var o: JSONObject = ["command": .string(([plan.path] + plan.arguments).joined(separator: " "))]
            if let conf = shell["SLURM_CONF"] { o["SLURM_CONF"] = .string(conf) }
            return .ok(.object(o))
        }
        var outcome = CommandOutcome(json: nil, exitCode: 0)
        outcome.exec = plan
        return outcome
    }
}

extension ExportClusterLogs {
    /// Writes every log stream (and the event log) into a tar.gz archive: `{"path": ...}`, as the original
    /// answers with --output-file.
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        if let reason = provider.logsUnavailable() { return Responses.unavailable("export-cluster-logs", reason) }
        if bucket != nil {
            return .failure(
                message:
                    "Bad Request: --bucket exports through S3, which needs the AWS provider; a local cluster's logs are written to --output-file (default ./\(clusterName)-logs-TIMESTAMP.tar.gz)."
            )
        }
        let stamp = Providers.iso.string(from: Date()).replacingOccurrences(of: ":", with: "-")
        let output = URL(fileURLWithPath: outputFile ?? "\(clusterName)-logs-\(stamp).tar.gz").standardizedFileURL.path
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-logs-\(UUID().uuidString)")
        let folder = staging.appendingPathComponent("\(clusterName)-logs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        for stream in await provider.logStreams(of: clusterName) {
            let lines = await provider.logLines(of: clusterName, stream: stream.name) ?? []
            try (lines.joined(separator: "\n") + "\n").write(
                to: folder.appendingPathComponent("\(stream.name).log"), atomically: true, encoding: .utf8)
        }
        let events = await provider.events(of: clusterName).map {
            "\(Providers.iso.string(from: $0.timestamp)) \($0.resource) \($0.status) \($0.reason)"
        }
        try (events.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("cluster-events.log"), atomically: true, encoding: .utf8)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", output, "-C", staging.path, "\(clusterName)-logs"]
        let messages = Pipe()
        tar.standardError = messages
        tar.standardOutput = FileHandle.nullDevice
        do { try tar.run() } catch { return .failure(message: "Cannot run /bin/tar: \(error)") }
        let said = messages.fileHandleForReading.readDataToEndOfFile()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            return .failure(
                message: "Cannot write \(output): \(String(decoding: said, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return .ok(["path": .string(output)])
    }
}
