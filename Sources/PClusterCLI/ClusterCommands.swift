import AWSCore
import AWSProvider
import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

/// Shared by create-cluster and update-cluster: load, check and validate a config file.
struct ConfigRequest {
    var path: String
    var clusterName: String?
    var region: String?
    var suppress: [String]
    var failureLevel: ValidationLevel
    /// Where the resource validators ask whether what the config names exists (the chosen provider's), for
    /// the region asked for or else the config's.
    var inventory: (@Sendable (_ region: String?) -> (any ResourceInventory)?)? = nil

    enum Outcome {
        case rejected(CommandOutcome)
        case accepted(ValidationResult, ClusterConfiguration, ConfigDocument)
    }

    func run(in env: CommandEnvironment) async -> Outcome {
        let suppression: ValidatorSuppression
        do { suppression = try ValidatorSuppression(arguments: suppress) } catch {
            return .rejected(.failure(message: "Bad Request: \(error)"))
        }
        let result: ValidationResult
        do {
            result = try ConfigValidation.validate(
                path: path, environment: env.variables, clusterName: clusterName,
                region: region, suppression: suppression)
        } catch let e as ConfigFileError {
            let msg = ValidationMessage(
                level: .error, type: SchemaChecker.validatorName, message: e.reason,
                location: e.location ?? SourceLocation(file: e.file, line: 1, column: 1))
            return .rejected(
                .failure([
                    "message": .string("Invalid cluster configuration: \(e)"),
                    "configurationValidationErrors": [msg.json],
                ]))
        } catch {
            return .rejected(.failure(message: "Invalid cluster configuration: \(error)"))
        }
        var messages = result.messages
        if let config = result.config, let document = result.document, let inventory = inventory?(region ?? config.region) {
            let found = await ConfigValidation.validateResources(
                document: document, config: config, inventory: inventory,
                suppression: suppression)
            messages = ConfigValidation.sorted(messages + found)
        }
        if let region, let fileRegion = result.config?.region, fileRegion != region {
            messages.insert(
                ValidationMessage(
                    level: .error, type: "RegionValidator",
                    message: "The configuration's Region (\(fileRegion)) differs from the requested region (\(region)); make them agree.",
                    location: result.document?.location(of: .root / "Region")), at: 0)
        }
        guard let config = result.config, let document = result.document,
            !messages.contains(where: { $0.level >= failureLevel })
        else {
            return .rejected(
                .failure([
                    "message": "Invalid cluster configuration.",
                    "configurationValidationErrors": .array(messages.map(\.json)),
                ]))
        }
        var accepted = result
        accepted.messages = messages
        return .accepted(accepted, config, document)
    }
}

func validationMessagesField(_ messages: [ValidationMessage]) -> JSONValue? {
    messages.isEmpty ? nil : .array(messages.map(\.json))
}

struct CreateCluster: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "create-cluster", abstract: "Create a managed cluster in a given region.")

    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster that will be created.")
    var clusterName: String
    @Option(name: [.customShort("c"), .customLong("cluster-configuration")], help: "Path to a file containing the cluster configuration.")
    var clusterConfiguration: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region that the operation corresponds to.")
    var region: String?
    @Option(
        name: .customLong("suppress-validators"), parsing: .upToNextOption,
        help: "Identifies one or more config validators to suppress (ALL or type:<ValidatorName>).")
    var suppressValidators: [String] = []
    @Option(name: .customLong("validation-failure-level"), help: "Min validation level that will cause the creation to fail (INFO, WARNING, ERROR).")
    var validationFailureLevel: FailureLevelArgument = .ERROR
    @Option(name: .long, help: "Only perform request validation without creating any resource (true|false).")
    var dryrun: BoolArgument?
    @Option(name: .customLong("rollback-on-failure"), help: "Automatically initiate a cluster stack rollback on failures (true|false).")
    var rollbackOnFailure: BoolArgument?
    @Flag(name: .long, help: "Wait for the cluster to be created and report progress on stderr.")
    var wait = false
    @Option(name: .long, help: "Where the cluster runs: local (this machine, the default) or aws. Also PCLUSTER_PROVIDER.")
    var provider: String?
    @Option(
        name: .customLong("template-output"),
        help: "With --dryrun true: write the cluster's CloudFormation template (the AWS provider's stack) to this file.")
    var templateOutput: String?
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        let chosen: ProviderKind
        do { chosen = try Providers.selectedKind(env, flag: provider) } catch { return .failure(message: "\(error)") }
        if templateOutput != nil && dryrun?.value != true {
            return .failure(message: "Bad Request: --template-output goes with --dryrun true.")
        }
        let request = ConfigRequest(
            path: clusterConfiguration, clusterName: clusterName, region: env.region(region),
            suppress: suppressValidators, failureLevel: validationFailureLevel.level,
            inventory: { [env] in Providers.inventory(chosen, env: env, region: $0) })
        let result: ValidationResult
        switch await request.run(in: env) {
        case .rejected(let outcome): return outcome
        case .accepted(let r, _, _): result = r
        }
        // The region: --region, the environment's, else the config's (as the original reads it).
        let clusterRegion = env.region(region) ?? result.config?.region
        let chosenProvider = Providers.named(chosen, env: env, region: clusterRegion)
        if chosen == .local || dryrun?.value != true {
            do {
                if try await chosenProvider.catalog.record(named: clusterName) != nil {
                    return .failure(message: "Cluster '\(clusterName)' already exists; choose another name or delete it first.")
                }
            } catch {
                return .failure(message: "Cannot tell whether cluster '\(clusterName)' exists: \(error)")
            }
        }
        if dryrun?.value == true {
            if let templateOutput, let config = result.config {
                let template = ClusterTemplate(clusterName: clusterName, config: config, version: PClusterVersion.original)
                do {
                    try template.render().write(toFile: templateOutput, atomically: true, encoding: .utf8)
                } catch {
                    return .failure(message: "Cannot write the template to \(templateOutput): \(error.localizedDescription)")
                }
            }
            var o: JSONObject = ["message": "Request would have succeeded, but DryRun flag is set."]
            o["validationMessages"] = validationMessagesField(result.messages)
            return .failure(.object(o))
        }
        return try await create(with: chosenProvider, env: env, result: result, region: clusterRegion)
    }
}

struct UpdateCluster: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "update-cluster", abstract: "Update a cluster managed in a given region.")

    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.")
    var clusterName: String
    @Option(name: [.customShort("c"), .customLong("cluster-configuration")], help: "Path to a file containing the cluster configuration.")
    var clusterConfiguration: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region that the operation corresponds to.")
    var region: String?
    @Option(name: .customLong("suppress-validators"), parsing: .upToNextOption, help: "Identifies one or more config validators to suppress.")
    var suppressValidators: [String] = []
    @Option(name: .customLong("validation-failure-level"), help: "Min validation level that will cause the update to fail.")
    var validationFailureLevel: FailureLevelArgument = .ERROR
    @Option(name: .long, help: "Only perform request validation without updating any resource (true|false).")
    var dryrun: BoolArgument?
    @Option(name: .customLong("force-update"), help: "Force update by ignoring the update validation errors (true|false).")
    var forceUpdate: BoolArgument?
    @Flag(name: .long, help: "Wait for the update to finish.")
    var wait = false
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        let provider: any ClusterProvider, record: ClusterRecord
        switch await Providers.find(clusterName, env: env, region: region) {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): (provider, record) = found
        }
        let request = ConfigRequest(
            path: clusterConfiguration, clusterName: clusterName, region: env.region(region) ?? record.region,
            suppress: suppressValidators, failureLevel: validationFailureLevel.level,
            inventory: { [env] in Providers.inventory(record.provider, env: env, region: $0) })
        let result: ValidationResult, requested: ConfigDocument
        switch await request.run(in: env) {
        case .rejected(let outcome): return outcome
        case .accepted(let r, _, let d): (result, requested) = (r, d)
        }
        let currentURL = await provider.catalog.configurationURL(of: clusterName)
        let current: ConfigDocument
        do {
            guard let text = try await provider.catalog.configuration(of: clusterName) else {
                return .failure(
                    message:
                        "The configuration of cluster '\(clusterName)' is missing from \(currentURL); the cluster cannot be compared with the new one."
                )
            }
            current = try ConfigLoader.parse(text: text, file: "cluster-config.yaml (current)", environment: env.variables).0
        } catch {
            return .failure(message: "The configuration of cluster '\(clusterName)' cannot be read (\(error)); it is kept at \(currentURL).")
        }
        let conditions = UpdateConditions(computeFleetStopped: record.computeFleetStatus.isStopped)
        let changes = UpdatePlanner.plan(current: current, requested: requested, conditions: conditions)
        let changeSet: JSONValue = .array(
            changes.map { c in
                .object([
                    "parameter": .string(c.parameter), "currentValue": c.currentValue, "requestedValue": c.requestedValue,
                    "updatePolicy": .string(c.policy.rawValue),
                ])
            })
        let blocked = changes.filter { $0.blockedReason != nil }
        if changes.isEmpty {
            var o: JSONObject = ["message": "No changes found in your cluster configuration."]
            o["validationMessages"] = validationMessagesField(result.messages)
            return .failure(.object(o))
        }
        if !blocked.isEmpty && forceUpdate?.value != true {
            var o: JSONObject = ["message": "Update failure"]
            o["validationMessages"] = validationMessagesField(result.messages)
            o["updateValidationErrors"] = .array(
                blocked.map { c in
                    var e: JSONObject = [
                        "parameter": .string(c.parameter), "currentValue": c.currentValue, "requestedValue": c.requestedValue,
                        "message": .string(c.blockedReason!), "updatePolicy": .string(c.policy.rawValue),
                    ]
                    if let l = c.location { e["location"] = .string(l.description) }
                    return .object(e)
                })
            o["changeSet"] = changeSet
            return .failure(.object(o))
        }
        if dryrun?.value == true {
            var o: JSONObject = ["message": "Request would have succeeded, but DryRun flag is set."]
            o["validationMessages"] = validationMessagesField(result.messages)
            o["changeSet"] = changeSet
            return .failure(.object(o))
        }
        guard let config = result.config else { return .failure(message: "Invalid cluster configuration.") }
        if let problem = provider.preconditions() { return .failure(message: problem) }
        let text: String
        do { text = try String(contentsOfFile: clusterConfiguration, encoding: .utf8) } catch {
            return .failure(message: "Cannot read \(clusterConfiguration): \(error.localizedDescription)")
        }
        _ = try await provider.catalog.update(clusterName) { $0.clusterStatus = .updateInProgress }
        let say = env.progress(of: clusterName, shown: wait)
        do {
            try await provider.update(name: clusterName, config: config, configuration: text, progress: say)
        } catch {
            _ = try? await provider.catalog.update(clusterName) { $0.clusterStatus = .updateFailed }
            return .failure(message: "Updating cluster '\(clusterName)' failed: \(error)")
        }
        var updated = try await provider.catalog.update(clusterName) { $0.clusterStatus = .updateComplete } ?? record
        updated.clusterStatus = wait ? .updateComplete : .updateInProgress
        var o: JSONObject = ["cluster": .object(clusterSummary(updated))]
        o["validationMessages"] = validationMessagesField(result.messages)
        o["changeSet"] = changeSet
        return .ok(.object(o))
    }
}

func clusterSummary(_ r: ClusterRecord) -> JSONObject {
    [
        "clusterName": .string(r.name), "region": .string(r.region), "version": .string(r.version),
        "cloudformationStackArn": .string(stackArn(r)),
        "cloudformationStackStatus": .string(r.stackStatus ?? r.clusterStatus.rawValue), "clusterStatus": .string(r.clusterStatus.rawValue),
        "scheduler": ["type": "slurm"],
    ]
}

/// The stack's id for an AWS cluster; a local cluster's stands in its place in the same shape.
func stackArn(_ r: ClusterRecord) -> String { r.stackArn ?? "arn:pcluster-local:\(r.region):local:stack/\(r.name)" }

struct ListClusters: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "list-clusters", abstract: "Retrieve the list of existing clusters.")
    @Option(name: [.customShort("r"), .long], help: "List clusters deployed to a given AWS Region.")
    var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.")
    var nextToken: String?
    @Option(name: .customLong("cluster-status"), parsing: .upToNextOption, help: "Filter by cluster status (repeatable).")
    var clusterStatus: [ClusterStatusArgument] = []
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        var records: [ClusterRecord]
        do {
            records = try await Providers.selected(env, region: env.region(region)).catalog.records()
        } catch {
            return .failure(message: "\(error)")
        }
        if let r = env.region(region) { records = records.filter { $0.region == r } }
        if !clusterStatus.isEmpty {
            records = records.filter { r in clusterStatus.contains { $0.rawValue == r.clusterStatus.rawValue } }
        } else {
            records = records.filter { $0.clusterStatus != .deleteComplete }
        }
        let pageSize = 50
        let start = Int(nextToken ?? "0") ?? 0
        guard start >= 0, start <= records.count else { return .failure(message: "Bad Request: invalid --next-token '\(nextToken ?? "")'.") }
        let page = records[start..<min(records.count, start + pageSize)]
        var o: JSONObject = ["clusters": .array(page.map { .object(clusterSummary($0)) })]
        if start + pageSize < records.count { o["nextToken"] = .string(String(start + pageSize)) }
        return .ok(.object(o))
    }
}

/// Commands that act on one existing cluster; their backend is the cluster provider.
protocol ExistingClusterCommand: PClusterCommand {
    var clusterName: String { get }
    var region: String? { get }
    static var providerWork: String { get }
    /// The command's work, through the provider that runs the cluster.
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome
}

extension ExistingClusterCommand {
    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        let provider: any ClusterProvider, record: ClusterRecord
        switch await Providers.find(clusterName, env: env, region: region) {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): (provider, record) = found
        }
        return try await perform(record: record, provider: provider, env: env)
    }

    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        Responses.unavailable(
            Self.configuration.commandName ?? "this command",
            "the \(provider.providerName) provider does not do \(Self.providerWork) yet.")
    }
}

struct DeleteCluster: ExistingClusterCommand {
    static let configuration = CommandConfiguration(commandName: "delete-cluster", abstract: "Initiate the deletion of a cluster.")
    static let providerWork = "deleting a cluster"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Flag(name: .long, help: "Wait for the deletion to finish.") var wait = false
    @OptionGroup var common: CommonOptions
}

struct DescribeCluster: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "describe-cluster", abstract: "Get detailed information about an existing cluster.")
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        let provider: any ClusterProvider, r: ClusterRecord
        switch await Providers.find(clusterName, env: env, region: region) {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): (provider, r) = found
        }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let o: JSONObject = await [
            "clusterName": .string(r.name), "region": .string(r.region), "version": .string(r.version),
            "cloudFormationStackStatus": .string(r.stackStatus ?? r.clusterStatus.rawValue), "clusterStatus": .string(r.clusterStatus.rawValue),
            "scheduler": ["type": "slurm"],
            "cloudformationStackArn": .string(stackArn(r)),
            "creationTime": .string(iso.string(from: r.creationTime)), "lastUpdatedTime": .string(iso.string(from: r.lastUpdatedTime)),
            "clusterConfiguration": ["url": .string(provider.catalog.configurationURL(of: r.name))],
            "computeFleetStatus": .string(r.computeFleetStatus.rawValue),
            "tags": .array((r.tags ?? [:]).sorted { $0.key < $1.key }.map { ["key": .string($0.key), "value": .string($0.value)] }),
        ]
        var described = o
        let (head, failures) = await Providers.describe(r, provider: provider)
        if let head { described["headNode"] = .object(head) }
        if !failures.isEmpty { described["failures"] = .array(failures) }
        return .ok(.object(described))
    }
}

struct DescribeComputeFleet: ExistingClusterCommand {
    static let configuration = CommandConfiguration(commandName: "describe-compute-fleet", abstract: "Describe the status of the compute fleet.")
    static let providerWork = "reading the compute fleet"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @OptionGroup var common: CommonOptions
}

struct UpdateComputeFleet: ExistingClusterCommand {
    static let configuration = CommandConfiguration(commandName: "update-compute-fleet", abstract: "Update the status of the cluster compute fleet.")
    static let providerWork = "starting or stopping the compute fleet"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "The status to set the compute fleet to.") var status: FleetStatusArgument
    @OptionGroup var common: CommonOptions
}

struct DeleteClusterInstances: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-cluster-instances", abstract: "Initiate the forced termination of all cluster compute nodes.")
    static let providerWork = "terminating compute nodes"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "Force the deletion also when the cluster is not found (true|false).") var force: BoolArgument?
    @OptionGroup var common: CommonOptions
}

struct DescribeClusterInstances: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe-cluster-instances", abstract: "Describe the instances belonging to a given cluster.")
    static let providerWork = "listing instances"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @Option(name: .customLong("node-type"), help: "Filter the instances by node type.") var nodeType: NodeTypeArgument?
    @Option(name: .customLong("queue-name"), help: "Filter the instances by queue name.") var queueName: String?
    @OptionGroup var common: CommonOptions
}

struct ListClusterLogStreams: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-cluster-log-streams", abstract: "Retrieve the list of log streams associated with a cluster.")
    static let providerWork = "reading cluster logs"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, parsing: .upToNextOption, help: "Filter the log streams (Name=private-dns-name|node-type,Values=...).") var filters:
        [String] = []
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @OptionGroup var common: CommonOptions
}

struct GetClusterLogEvents: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-cluster-log-events", abstract: "Retrieve the events associated with a log stream.")
    static let providerWork = "reading cluster logs"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: .customLong("log-stream-name"), help: "Name of the log stream.") var logStreamName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @Option(name: .customLong("start-from-head"), help: "Return the oldest events first (true|false).") var startFromHead: BoolArgument?
    @Option(name: .long, help: "Maximum number of log events returned.") var limit: Int?
    @Option(name: .customLong("start-time"), help: "Start time (ISO 8601).") var startTime: String?
    @Option(name: .customLong("end-time"), help: "End time (ISO 8601).") var endTime: String?
    @OptionGroup var common: CommonOptions
}

struct GetClusterStackEvents: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-cluster-stack-events", abstract: "Retrieve the events associated with the stack for a given cluster.")
    static let providerWork = "reading stack events"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @OptionGroup var common: CommonOptions
}

struct ExportClusterLogs: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-cluster-logs", abstract: "Export the logs of the cluster to a local tar.gz archive.")
    static let providerWork = "exporting cluster logs"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "S3 bucket to export the logs through.") var bucket: String?
    @Option(name: .customLong("bucket-prefix"), help: "Key prefix in the bucket.") var bucketPrefix: String?
    @Option(name: .customLong("output-file"), help: "File path to save the archive to.") var outputFile: String?
    @Option(name: .customLong("keep-s3-objects"), help: "Keep the exported objects in S3 (true|false).") var keepS3Objects: BoolArgument?
    @Option(name: .customLong("start-time"), help: "Start time (ISO 8601).") var startTime: String?
    @Option(name: .customLong("end-time"), help: "End time (ISO 8601).") var endTime: String?
    @Option(name: .long, parsing: .upToNextOption, help: "Filter the log streams.") var filters: [String] = []
    @OptionGroup var common: CommonOptions
}

struct Ssh: ExistingClusterCommand {
    static let configuration = CommandConfiguration(commandName: "ssh", abstract: "Connects to the head node instance using SSH.")
    static let providerWork = "a shell on the head node"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "Print the command instead of running it (true|false).") var dryrun: BoolArgument?
    @Argument(parsing: .captureForPassthrough, help: "Arguments passed to ssh (or the command to run on the head node).") var sshArguments: [String] =
        []
    @OptionGroup var common: CommonOptions
}

struct DcvConnect: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "dcv-connect", abstract: "Connect to the head node through an interactive DCV session.")
    static let providerWork = "DCV sessions"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("key-path"), help: "Key path of the SSH key to use for the connection.") var keyPath: String?
    @Flag(name: .customLong("show-url"), help: "Print the URL instead of opening a browser.") var showUrl = false
    @Option(name: .customLong("login-node-ip"), help: "IP address of a login node to connect to.") var loginNodeIp: String?
    @OptionGroup var common: CommonOptions
}

struct Configure: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "configure", abstract: "Start the AWS ParallelCluster configuration wizard.")
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: [.customShort("c"), .customLong("config")], help: "Path to output the generated config file.") var config: String
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        try ConfigureWizard(path: config, region: env.region(region), env: env).run()
    }
}

struct Version: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Displays the version of AWS ParallelCluster.")
    @OptionGroup var common: CommonOptions
    func execute(in env: CommandEnvironment) async throws -> CommandOutcome { .ok(["version": .string(PClusterVersion.string)]) }
}
