import AWSCloudFormation
import AWSCore
import AWSEC2
import AWSS3
import AWSSTS
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

/// The AWS provider: a cluster is a CloudFormation stack named after it (the template of `ClusterTemplate`),
/// its configuration an object in the account's ParallelCluster bucket, its compute nodes EC2 instances the
/// node agent launches. Nothing is kept on the user's machine: every command reads the stack, as the
/// original does, so two machines (or a lost laptop) see the same clusters.
package struct AWSClusterProvider: ClusterProvider {
    let environment: [String: String]
    let region: String?
    /// The version in the stack's `parallelcluster:version` tag and the config's key.
    let version: String

    package init(environment: [String: String], region: String?, version: String) {
        self.environment = environment
        self.region = region
        self.version = version
    }

    package var kind: ProviderKind { .aws }
    package var creationPolling: StatusPolling { StatusPolling(timeout: 7200, first: 0.2, longest: 10) }
    package var catalogIsOffline: Bool { false }
    package func headNodeDownAdvice(of name: String) -> String {
        "The head node of '\(name)' is not running; `pcluster describe-cluster -n \(name)` shows the cluster's state."
    }
    package var catalog: any ClusterCatalog { StackCatalog(provider: self) }

    func settings() throws -> AWSSettings { try AWSSettings.resolve(environment: environment, region: region) }
    func cloudFormation() throws -> CloudFormation { try CloudFormation(settings: settings()) }
    func ec2() throws -> EC2Client { try EC2Client(settings: settings()) }

    package func preconditions() -> String? {
        do { _ = try settings(); return nil } catch {
            return "The AWS provider cannot work here: \(error)"
        }
    }

    // MARK: The configuration in S3

    /// The bucket the original keeps cluster configurations in: one per account and region, made on first use.
    func configBucket(_ settings: AWSSettings) async throws -> String {
        let account = try await STSClient(settings: settings).getCallerIdentity().account
        guard case .hex(let digest) = PayloadHash.of(Data("\(account)-\(settings.region)".utf8)) else { return "" }
        return "parallelcluster-\(digest.prefix(16))-v1-do-not-delete"
    }

    func configKey(_ name: String) -> String { "parallelcluster/\(version)/clusters/\(name)/configs/cluster-config.yaml" }

    /// The configuration as pcluster read it, environment variables expanded: the head node has none of the
    /// user's environment. JSON, which every YAML reader reads.
    package static func resolvedConfiguration(_ config: ClusterConfiguration, name: String) -> String {
        "# Configuration of cluster \(name), as pcluster read it (environment variables expanded).\n"
            + JSONPrinter.render(config.document.jsonValue, indent: 2) + "\n"
    }

    package func uploadConfiguration(_ text: String, of name: String) async throws {
        let settings = try settings()
        let s3 = try S3Client(settings: settings)
        let bucket = try await configBucket(settings)
        do { try await s3.createBucket(bucket) } catch let error as AWSServiceError
            where ["BucketAlreadyOwnedByYou", "BucketAlreadyExists"].contains(error.code)
        {}
        _ = try await s3.putObject(bucket: bucket, key: configKey(name), data: Data(text.utf8))
    }

    func downloadConfiguration(of name: String) async throws -> String? {
        let settings = try settings()
        let s3 = try S3Client(settings: settings)
        let bucket = try await configBucket(settings)
        do {
            let object = try await s3.getObject(bucket: bucket, key: configKey(name), range: nil, maxBytes: 16 << 20)
            return String(decoding: object.body, as: UTF8.self)
        } catch let error as AWSServiceError where ["NoSuchKey", "NoSuchBucket", "NotFound"].contains(error.code) {
            return nil
        }
    }

    /// The files the head node publishes for the other nodes under the cluster's prefix of the config bucket:
    /// the munge key (compute and login nodes may read only it) and slurm.conf (login nodes, which run no
    /// slurmd to fetch it from slurmctld).
    static let publishedFiles = ["munge.key", "slurm/slurm.conf"]

    package func publish(_ data: Data, as file: String, of name: String) async throws {
        precondition(Self.publishedFiles.contains(file), "\(file) is not one of the files a head node publishes")
        let settings = try settings()
        let bucket = try await configBucket(settings)
        _ = try await S3Client(settings: settings).putObject(bucket: bucket, key: "parallelcluster/\(version)/clusters/\(name)/\(file)", data: data)
    }

    func removeConfiguration(of name: String) async throws {
        let settings = try settings()
        let s3 = try S3Client(settings: settings)
        let bucket = try await configBucket(settings)
        for key in [configKey(name)] + Self.publishedFiles.map({ "parallelcluster/\(version)/clusters/\(name)/\($0)" }) {
            do { try await s3.deleteObject(bucket: bucket, key: key) } catch let error as AWSServiceError
                where ["NoSuchKey", "NoSuchBucket", "NotFound"].contains(error.code)
            {}
        }
    }

    // MARK: Stack parameters

    /// The VPC of the head node's subnet and the AMI of every node: CustomAmi, else the newest official
    /// ParallelCluster AMI for the OS and the head node's architecture.
    package func stackParameters(_ config: ClusterConfiguration) async throws -> [(String, String)] {
        let inventory = try AWSResourceInventory(settings: settings())
        guard let vpc = try await inventory.subnetVpcs([config.headNode.subnetId])?[config.headNode.subnetId] else {
            throw AWSProviderError("the head node's subnet \(config.headNode.subnetId) does not exist in \(try settings().region)")
        }
        let image = try await resolveImage(config)
        var parameters = [("VpcId", vpc), ("ImageId", image), ("ConfigBucket", try await configBucket(try settings()))]
        // A login pool's load balancer faces the internet when its subnet routes to an internet gateway.
        for pool in config.loginNodePools {
            guard let subnet = pool.subnetIds.first, let poolVpc = try await inventory.subnetVpcs([subnet])?[subnet] else {
                throw AWSProviderError(
                    "login node pool \(pool.name)'s subnet \(pool.subnetIds.first ?? "") does not exist in \(try settings().region)")
            }
            let isPublic = try await ec2().subnetIsPublic(subnet, vpc: poolVpc)
            parameters.append((ClusterTemplate.schemeParameter(pool.name), isPublic ? "internet-facing" : "internal"))
        }
        return parameters
    }

    func resolveImage(_ config: ClusterConfiguration) async throws -> String {
        if let ami = config.customAmi { return ami }
        let architecture = InstanceTypeCatalogue.shipped.info(for: config.headNode.instanceType)?.architectures.first ?? "x86_64"
        let pattern = "aws-parallelcluster-\(version)-\(Self.amiOsName(config.os))-hvm-\(architecture)*"
        // The official images are Amazon's; PCLUSTER_OFFICIAL_AMI_OWNER points elsewhere (a test account).
        let owner = environment["PCLUSTER_OFFICIAL_AMI_OWNER"] ?? "amazon"
        let images = try await inventory().describeImages(namePattern: pattern, owner: owner)
        guard let newest = images.max(by: { $0.creationDate < $1.creationDate }) else {
            throw AWSProviderError(
                "no ParallelCluster \(version) image for \(config.os) on \(architecture) (\(pattern), owner \(owner)) in \(try settings().region); set Image.CustomAmi"
            )
        }
        return newest.imageId
    }

    func inventory() throws -> AWSResourceInventory { try AWSResourceInventory(settings: settings()) }

    static func amiOsName(_ os: String) -> String {
        switch os {
        case "alinux2": return "amzn2"
        case "alinux2023": return "amzn2023"
        case "ubuntu2004": return "ubuntu-2004-lts"
        case "ubuntu2204": return "ubuntu-2204-lts"
        case "ubuntu2404": return "ubuntu-2404-lts"
        default: return os
        }
    }

    // MARK: Lifecycle

    package func create(
        name: String, config: ClusterConfiguration, configuration: String, record: ClusterRecord,
        rollbackOnFailure: Bool, progress: @Sendable (String) -> Void
    ) async throws {
        let template = ClusterTemplate(clusterName: name, config: config, version: version).render()
        let cfn = try cloudFormation()
        let parameters = try await stackParameters(config)
        if try await cfn.describeStack(name) != nil {
            throw AWSProviderError("a CloudFormation stack named \(name) already exists")
        }
        try await uploadConfiguration(Self.resolvedConfiguration(config, name: name), of: name)
        do {
            _ = try await cfn.createStack(
                name: name, templateBody: template, parameters: parameters,
                tags: [("parallelcluster:version", version)] + config.tags.map { ($0.key, $0.value) },
                rollbackOnFailure: rollbackOnFailure)
        } catch {
            // No stack, so no cluster: its configuration goes too.
            do { try await removeConfiguration(of: name) } catch {
                progress("the configuration of \(name) could not be removed after the failed create: \(error)")
            }
            throw error
        }
        progress("stack \(name) created; CloudFormation is creating its resources")
    }

    package func update(
        name: String, config: ClusterConfiguration, configuration: String,
        progress: @Sendable (String) -> Void
    ) async throws {
        let template = ClusterTemplate(clusterName: name, config: config, version: version).render()
        let cfn = try cloudFormation()
        let parameters = try await stackParameters(config)
        let changed = try await cfn.update(
            name: name, templateBody: template, parameters: parameters,
            tags: [("parallelcluster:version", version)] + config.tags.map { ($0.key, $0.value) },
            changeSetName: "pcluster-update-\(Int(Date().timeIntervalSince1970))")
        if !changed.isEmpty {
            let stack = try await cfn.waitWhileInProgress(name, timeout: 3600)
            if let stack, stack.status != "UPDATE_COMPLETE" {
                throw AWSProviderError(
                    "the stack update ended \(stack.status)\(stack.statusReason.map { ": \($0)" } ?? ""); `pcluster get-cluster-stack-events -n \(name)` shows why"
                )
            }
        }
        // Kept only once the stack took it: a failed update leaves the configuration the cluster runs with.
        try await uploadConfiguration(Self.resolvedConfiguration(config, name: name), of: name)
        progress(
            changed.isEmpty ? "no stack resource changes; configuration kept" : "stack resources changed: \(changed.sorted().joined(separator: ", "))"
        )
    }

    /// Compute instances first (they are not in the stack: the node agent made them), then the stack, then
    /// the configuration object.
    package func delete(name: String, wait: Bool, progress: @Sendable (String) -> Void) async throws {
        let cfn = try cloudFormation()
        let fleet = try EC2Fleet(settings: settings(), clusterName: name)
        let terminated = try await fleet.terminateOrphans(knownNodes: [])
        if !terminated.isEmpty { progress("terminated \(terminated.count) compute instances") }
        try await cfn.deleteStack(name)
        // A stack being deleted takes no update, so its configuration and munge key have no use left.
        try await removeConfiguration(of: name)
        guard wait else { return }
        if let stack = try await cfn.waitWhileInProgress(name, timeout: 3600, progress: progress), stack.status != "DELETE_COMPLETE" {
            throw AWSProviderError("the stack is \(stack.status)\(stack.statusReason.map { ": \($0)" } ?? ""); delete again to retry")
        }
    }

    package func recover(name: String) async throws -> [String] { [] }

    /// The node agent's launch plan and the configuration, from the stack and the configuration object
    /// (what `pcluster-agent bootstrap` writes on the head node).
    package func fleetPlan(of name: String) async throws -> (plan: AWSFleetPlan, config: ClusterConfiguration) {
        let (plan, config, _) = try await fleetPlanAndConfiguration(of: name)
        return (plan, config)
    }

    /// The plan, the configuration and the configuration's text as stored.
    package func fleetPlanAndConfiguration(of name: String) async throws -> (plan: AWSFleetPlan, config: ClusterConfiguration, text: String) {
        let settings = try settings()
        let text = try await downloadConfiguration(of: name)
        let resources = try await CloudFormation(settings: settings).resources(name)
        guard let text else { throw AWSProviderError("the configuration of cluster \(name) is not in S3 (\(configKey(name)))") }
        let (document, _) = try ConfigLoader.parse(text: text, file: configKey(name), environment: [:])
        let validated = ConfigValidation.validate(document: document, clusterName: name, region: settings.region)
        guard let config = validated.config else {
            let errors = validated.messages.filter { $0.level == .error }.prefix(3).map { "\($0.message) (\($0.location?.description ?? ""))" }
            throw AWSProviderError("the configuration of cluster \(name) in S3 does not validate: \(errors.joined(separator: "; "))")
        }
        let physicalIds = Dictionary(resources.map { ($0.logicalId, $0.physicalId) }) { a, _ in a }
        return (AWSFleetPlan(clusterName: name, region: settings.region, version: version, config: config, physicalIds: physicalIds), config, text)
    }

    package func instances(of name: String) async -> [ProvisionedInstance] {
        (try? await clusterInstances(name)) ?? []
    }

    func clusterInstances(_ name: String) async throws -> [ProvisionedInstance] {
        let found = try await ec2().describeInstances(filters: [
            EC2Filter("tag:parallelcluster:cluster-name", [name]), EC2Filter("instance-state-name", ["pending", "running", "stopping", "stopped"]),
        ]).map { instance in
            let type = instance.tags["parallelcluster:node-type"]
            let nodeType = type == "HeadNode" || type == "LoginNode" ? type ?? "" : "ComputeNode"
            return ProvisionedInstance(
                instanceId: instance.instanceId, nodeType: nodeType, instanceType: instance.instanceType,
                launchTime: instance.launchTime ?? Date(timeIntervalSince1970: 0), privateIpAddress: instance.privateIpAddress ?? "",
                publicIpAddress: instance.publicIpAddress, queueName: nodeType == "ComputeNode" ? instance.tags["parallelcluster:queue-name"] : nil,
                state: instance.state)
        }
        return found.sorted { ($0.nodeType, $0.launchTime, $0.instanceId) < ($1.nodeType, $1.launchTime, $1.instanceId) }
    }

    package func headNodeProblems(of name: String) async -> [String] {
        guard let record = try? await catalog.record(named: name), record.clusterStatus.isComplete else { return [] }
        let head = await instances(of: name).first { $0.nodeType == "HeadNode" }
        guard let head else { return ["the head node instance does not exist"] }
        return head.state == "running" ? [] : ["the head node instance \(head.instanceId) is \(head.state)"]
    }

    /// The first resource that failed, as CloudFormation said it.
    package func creationFailure(of name: String) async -> String? {
        guard let events = try? await cloudFormation().events(name) else { return nil }
        let failed = events.reversed().first { $0.resourceStatus.hasSuffix("FAILED") && $0.resourceStatusReason != nil }
        return failed.map { "\($0.logicalResourceId) (\($0.resourceType)): \($0.resourceStatusReason ?? "")" }
    }

    package func terminateComputeNodes(of name: String) async throws {
        let fleet = try EC2Fleet(settings: settings(), clusterName: name)
        _ = try await fleet.terminateOrphans(knownNodes: [])
    }

    package func events(of name: String) async -> [ClusterEvent] {
        guard let events = try? await cloudFormation().events(name) else { return [] }
        // Oldest first, as the protocol has it.
        return events.reversed().map { event in
            ClusterEvent(
                timestamp: event.timestamp, resource: event.logicalResourceId, status: event.resourceStatus,
                reason: event.resourceStatusReason ?? "",
                stackEvent: StackEventDetail(
                    eventId: event.eventId, stackId: event.stackId,
                    physicalResourceId: event.physicalResourceId, resourceType: event.resourceType))
        }
    }

    /// The cluster's logs are in CloudWatch Logs, which this build does not read yet.
    package func logsUnavailable() -> String? {
        "the AWS provider does not read CloudWatch Logs yet; on the head node the cluster's logs are in /opt/parallelcluster/cluster/log"
    }
    package func logStreams(of name: String) -> [ClusterLogStream] { [] }
    package func logLines(of name: String, stream: String) -> [String]? { nil }

    package func headNodeShell(of name: String) async -> HeadNodeShell? {
        guard let head = await instances(of: name).first(where: { $0.nodeType == "HeadNode" && $0.state == "running" }) else { return nil }
        let user: String
        let configuration = (try? await catalog.configuration(of: name)) ?? nil
        switch configuration.flatMap(Self.os) ?? "alinux2" {
        case let os where os.hasPrefix("ubuntu"): user = "ubuntu"
        case let os where os.hasPrefix("rocky"): user = "rocky"
        default: user = "ec2-user"
        }
        return .ssh(user: user, host: head.publicIpAddress ?? head.privateIpAddress)
    }

    static func os(_ configuration: String) -> String? {
        configuration.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("Os:") }
            .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }
    }
}

/// The AWS provider's clusters are its stacks with a `parallelcluster:version` tag; the compute fleet status
/// is a tag on the head node instance (the original keeps it in a DynamoDB table, which this build has no
/// client for).
struct StackCatalog: ClusterCatalog {
    let provider: AWSClusterProvider

    static let fleetStatusTag = "parallelcluster:compute-fleet-status"

    /// The cluster status the original derives from the stack status.
    static func clusterStatus(_ stackStatus: String) -> ClusterStatus {
        switch stackStatus {
        case "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED": return .createFailed
        case "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED":
            return .updateFailed
        case "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": return .updateInProgress
        case "REVIEW_IN_PROGRESS": return .createInProgress
        default:
            // The stack statuses that are not mapped above are cluster statuses already; anything else CloudFormation
            // may add is reported by its outcome.
            return ClusterStatus(rawValue: stackStatus) ?? (stackStatus.hasSuffix("_IN_PROGRESS") ? .updateInProgress : .updateFailed)
        }
    }

    func record(_ stack: StackDescription, region: String, fleetStatus: ComputeFleetStatus) -> ClusterRecord {
        var record = ClusterRecord(
            name: stack.name, region: region, version: stack.tags["parallelcluster:version"] ?? "",
            clusterStatus: Self.clusterStatus(stack.status), computeFleetStatus: fleetStatus,
            creationTime: stack.creationTime, lastUpdatedTime: stack.lastUpdatedTime ?? stack.creationTime,
            provider: .aws)
        record.stackArn = stack.stackId
        record.stackStatus = stack.status
        record.tags = stack.tags
        return record
    }

    func record(named name: String) async throws -> ClusterRecord? {
        let settings = try provider.settings()
        guard let stack = try await CloudFormation(settings: settings).describeStack(name),
            stack.tags["parallelcluster:version"] != nil
        else { return nil }
        return record(stack, region: settings.region, fleetStatus: try await fleetStatus(stack))
    }

    func records() async throws -> [ClusterRecord] {
        let settings = try provider.settings()
        return try await CloudFormation(settings: settings).describeStacks()
            .filter { $0.tags["parallelcluster:version"] != nil }
            .sorted { $0.name < $1.name }
            .map { record($0, region: settings.region, fleetStatus: .unknown) }
    }

    /// The head node's tag; RUNNING for a cluster whose fleet was never stopped, UNKNOWN before the head node exists.
    func fleetStatus(_ stack: StackDescription) async throws -> ComputeFleetStatus {
        guard let head = stack.outputs["HeadNodeInstanceId"] else { return .unknown }
        let tags = try await provider.ec2().describeTags(filters: [EC2Filter("resource-id", [head]), EC2Filter("key", [Self.fleetStatusTag])])
        guard let tag = tags.first?.value else { return .running }
        return ComputeFleetStatus(rawValue: tag) ?? .unknown
    }

    func configuration(of name: String) async throws -> String? {
        try await provider.downloadConfiguration(of: name)
    }

    func configurationURL(of name: String) async -> String {
        do {
            let settings = try provider.settings()
            let bucket = try await provider.configBucket(settings)
            return try await S3Client(settings: settings).presignedGetURL(bucket: bucket, key: provider.configKey(name))
        } catch {
            return ""
        }
    }

    /// Only the compute fleet status is kept (a tag on the head node); the statuses are the stack's own.
    @discardableResult
    func update(_ name: String, _ change: @Sendable (inout ClusterRecord) -> Void) async throws -> ClusterRecord? {
        guard var current = try await record(named: name) else { return nil }
        let before = current.computeFleetStatus
        change(&current)
        if current.computeFleetStatus != before {
            let settings = try provider.settings()
            guard let head = try await CloudFormation(settings: settings).describeStack(name)?.outputs["HeadNodeInstanceId"] else {
                throw AWSProviderError("cluster \(name) has no head node yet; wait for CREATE_COMPLETE")
            }
            try await provider.ec2().createTags(resources: [head], tags: [EC2Tag(Self.fleetStatusTag, current.computeFleetStatus.rawValue)])
            current.lastUpdatedTime = Date()
        }
        return current
    }
}

package struct AWSProviderError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
