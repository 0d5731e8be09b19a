import Foundation

/// Validators that must ask where the cluster will run whether what the config names exists: the local
/// services for the local provider, AWS for the AWS provider. They run after the file's own validators,
/// concurrently, each with a time limit; one that cannot get an answer says so as a warning instead of
/// holding up or failing the request.

/// What a file system lookup found.
public enum FileSystemLookup: Sendable, Equatable {
    case notFound
    /// `subnetIds`: where its network interfaces are (empty when the answer does not say).
    case found(lifecycle: String, subnetIds: [String] = [])
}

/// An instance type as the region offers it.
public struct OfferedInstanceType: Sendable, Equatable {
    public var name: String
    public var efaSupported: Bool
    public var placementGroupStrategies: [String]
    public var architectures: [String]

    public init(name: String, efaSupported: Bool, placementGroupStrategies: [String], architectures: [String]) {
        self.name = name
        self.efaSupported = efaSupported
        self.placementGroupStrategies = placementGroupStrategies
        self.architectures = architectures
    }
}

/// The questions resource validators ask. A provider answers those it can; `nil` from a default
/// implementation means "cannot be asked here", and the validator stays silent.
public protocol ResourceInventory: Sendable {
    /// Where the answers come from, for messages ("the FSx service at http://127.0.0.1:7800").
    var source: String { get }
    func fileSystem(_ id: String) async throws -> FileSystemLookup?
    /// The VPC of each subnet that exists (missing ones are absent).
    func subnetVpcs(_ ids: [String]) async throws -> [String: String]?
    /// The VPC of each security group that exists.
    func securityGroupVpcs(_ ids: [String]) async throws -> [String: String]?
    func keyPairExists(_ name: String) async throws -> Bool?
    /// The image's architecture ("x86_64", "arm64"), `.some(nil)` when it does not exist.
    func imageArchitecture(_ id: String) async throws -> String??
    /// The instance types among `names` the region offers, with what they support (missing ones are absent).
    func instanceTypes(_ names: [String]) async throws -> [String: OfferedInstanceType]?
    func bucketExists(_ name: String) async throws -> Bool?
    /// An image's tags (`.some(nil)`: there is no such image).
    func imageTags(_ id: String) async throws -> [String: String]??
    /// Whether a Secrets Manager secret can be described.
    func secret(_ arn: String) async throws -> SecretLookup?
}

public enum SecretLookup: Sendable, Equatable {
    case readable
    case notFound
    case accessDenied
    /// Another error of the service, by its code.
    case failed(String)
}

extension ResourceInventory {
    public func fileSystem(_ id: String) async throws -> FileSystemLookup? { nil }
    public func subnetVpcs(_ ids: [String]) async throws -> [String: String]? { nil }
    public func securityGroupVpcs(_ ids: [String]) async throws -> [String: String]? { nil }
    public func keyPairExists(_ name: String) async throws -> Bool? { nil }
    public func imageArchitecture(_ id: String) async throws -> String?? { nil }
    public func instanceTypes(_ names: [String]) async throws -> [String: OfferedInstanceType]? { nil }
    public func bucketExists(_ name: String) async throws -> Bool? { nil }
    public func imageTags(_ id: String) async throws -> [String: String]?? { nil }
    public func secret(_ arn: String) async throws -> SecretLookup? { nil }
}

/// A finding of a resource validator, placed at a path of the document.
public struct ResourceFinding: Sendable {
    public var level: ValidationLevel
    public var message: String
    public var path: ConfigPath

    public init(_ level: ValidationLevel, _ message: String, at path: ConfigPath) {
        self.level = level
        self.message = message
        self.path = path
    }
}

public struct ResourceValidator: Sendable {
    public let name: String
    /// What the validator would check, for the "could not check" warning.
    public let subject: String
    /// Where the warning goes when the check cannot be made.
    let anchor: @Sendable (ClusterConfiguration) -> ConfigPath?
    let run: @Sendable (ClusterConfiguration, any ResourceInventory) async throws -> [ResourceFinding]

    public init(
        _ name: String, subject: String, anchor: @escaping @Sendable (ClusterConfiguration) -> ConfigPath?,
        _ run: @escaping @Sendable (ClusterConfiguration, any ResourceInventory) async throws -> [ResourceFinding]
    ) {
        self.name = name
        self.subject = subject
        self.anchor = anchor
        self.run = run
    }
}

public enum ResourceValidators {
    public static let all: [ResourceValidator] = [
        existingFsx, subnets, securityGroups, keyPair, customAmi, customAmiTag, amiOsCompatible, instanceTypes, buckets,
        passwordSecretArn,
    ]

    /// The original's PasswordSecretArnValidator for `SlurmSettings.Database`: a Secrets Manager secret that
    /// exists (DescribeSecret), with its words and levels.
    static let passwordSecretArn = ResourceValidator(
        "PasswordSecretArnValidator", subject: "the database password secret",
        anchor: { $0.scheduling.database.map { $0.path / "PasswordSecretArn" } }
    ) { config, inventory in
        guard let database = config.scheduling.database else { return [] }
        let arn = database.passwordSecretArn
        let at = database.path / "PasswordSecretArn"
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count > 5, parts[2] == "secretsmanager", parts[5] == "secret" else {
            return [ResourceFinding(.error, "The secret \(arn) is not supported in region \(config.region ?? "us-east-1").", at: at)]
        }
        switch try await inventory.secret(arn) {
        case nil, .readable?: return []
        case .notFound?: return [ResourceFinding(.error, "The secret \(arn) does not exist.", at: at)]
        case .accessDenied?:
            return [
                ResourceFinding(
                    .warning,
                    "Cannot validate secret \(arn) due to lack of permissions. Please refer to ParallelCluster official documentation for more information.",
                    at: at)
            ]
        case .failed?:
            return [
                ResourceFinding(
                    .warning, "Cannot validate secret \(arn). Please refer to ParallelCluster official documentation for more information.", at: at)
            ]
        }
    }

    /// Every instance type of the config with where it is written.
    static func instanceTypePaths(
        _ config: ClusterConfiguration
    ) -> [(type: String, path: ConfigPath, queue: ClusterConfiguration.SlurmQueue?, resource: ClusterConfiguration.ComputeResource?)] {
        var found: [(String, ConfigPath, ClusterConfiguration.SlurmQueue?, ClusterConfiguration.ComputeResource?)] =
            [(config.headNode.instanceType, config.headNode.path / "InstanceType", nil, nil)]
        for queue in config.scheduling.queues {
            for resource in queue.computeResources {
                for (index, type) in resource.instanceTypes.enumerated() {
                    let path = resource.usesInstancesList ? resource.path / "Instances" / index / "InstanceType" : resource.path / "InstanceType"
                    found.append((type, path, queue, resource))
                }
            }
        }
        return found
    }

    /// The instance types are offered in the region, and support what the config asks of them: EFA and
    /// cluster placement groups. (The file's own EfaValidator already knows the catalogue's types; this one
    /// reports EFA only for types the catalogue lacks, so a finding is not said twice.)
    static let instanceTypes = ResourceValidator(
        "InstanceTypeValidator", subject: "the instance types",
        anchor: { $0.headNode.path / "InstanceType" }
    ) { config, inventory in
        let wanted = instanceTypePaths(config)
        guard let offered = try await inventory.instanceTypes(Array(Set(wanted.map(\.type))).sorted()) else { return [] }
        var findings: [ResourceFinding] = []
        var reported = Set<String>()
        for (type, path, queue, resource) in wanted {
            guard let info = offered[type] else {
                if reported.insert("offer \(type) \(path)").inserted {
                    findings.append(
                        ResourceFinding(.error, "Instance type \(type) is not offered in this region (asked \(inventory.source)).", at: path))
                }
                continue
            }
            guard let queue, let resource else { continue }
            if resource.efaEnabled, !info.efaSupported, InstanceTypeCatalogue.shipped.info(for: type) == nil {
                findings.append(
                    ResourceFinding(
                        .error, "Instance type \(type) does not support EFA (asked \(inventory.source)); disable Efa or choose a type that has it.",
                        at: path))
            }
            let group = resource.placementGroup ?? queue.placementGroup
            if group?.enabled == true, group?.name == nil, group?.id == nil, !info.placementGroupStrategies.contains("cluster") {
                findings.append(
                    ResourceFinding(
                        .error,
                        "Instance type \(type) cannot be placed in a cluster placement group (it supports \(info.placementGroupStrategies.isEmpty ? "none" : info.placementGroupStrategies.joined(separator: ", "))); disable PlacementGroup for \(queue.name)/\(resource.name).",
                        at: path))
            }
        }
        return findings
    }

    /// Every S3 bucket the config names, with where: data repository paths, import/export paths, CustomS3Bucket.
    static func bucketPaths(_ config: ClusterConfiguration) -> [(bucket: String, path: ConfigPath)] {
        func bucket(_ url: String?) -> String? {
            guard let url, url.hasPrefix("s3://") else { return nil }
            let name = url.dropFirst(5).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            return name.isEmpty ? nil : name
        }
        var found: [(String, ConfigPath)] = []
        if let name = config.customS3Bucket { found.append((name, .root / "CustomS3Bucket")) }
        for storage in config.sharedStorage {
            guard let settings = storage.fsxLustre else { continue }
            if let name = bucket(settings.importPath) { found.append((name, settings.path / "ImportPath")) }
            if let name = bucket(settings.exportPath) { found.append((name, settings.path / "ExportPath")) }
            for association in settings.dataRepositoryAssociations {
                if let name = bucket(association.dataRepositoryPath) {
                    found.append((name, association.path / "DataRepositoryPath"))
                }
            }
        }
        return found
    }

    /// The buckets exist (and this account may see them).
    static let buckets = ResourceValidator(
        "S3BucketValidator", subject: "the S3 buckets",
        anchor: { bucketPaths($0).first?.path }
    ) { config, inventory in
        var findings: [ResourceFinding] = []
        var known: [String: Bool] = [:]
        for (name, path) in bucketPaths(config) {
            if known[name] == nil { known[name] = try await inventory.bucketExists(name) }
            if known[name] == false {
                findings.append(
                    ResourceFinding(.error, "S3 bucket \(name) does not exist or this account cannot see it (asked \(inventory.source)).", at: path))
            }
        }
        return findings
    }

    /// Every subnet of the config with where it is written.
    static func subnetPaths(_ config: ClusterConfiguration) -> [(id: String, path: ConfigPath)] {
        var found: [(String, ConfigPath)] = []
        if !config.headNode.subnetId.isEmpty { found.append((config.headNode.subnetId, config.headNode.path / "Networking" / "SubnetId")) }
        for queue in config.scheduling.queues {
            for (index, id) in queue.subnetIds.enumerated() { found.append((id, queue.path / "Networking" / "SubnetIds" / index)) }
        }
        // As the original's SubnetsValidator: the login node pools' subnets too.
        for pool in config.loginNodePools {
            for (index, id) in pool.subnetIds.enumerated() { found.append((id, pool.path / "Networking" / "SubnetIds" / index)) }
        }
        return found
    }

    /// The subnets exist and are all in one VPC (the cluster's security groups live in one VPC).
    static let subnets = ResourceValidator(
        "SubnetsValidator", subject: "the subnets",
        anchor: { subnetPaths($0).first?.path }
    ) { config, inventory in
        let wanted = subnetPaths(config)
        guard !wanted.isEmpty, let vpcs = try await inventory.subnetVpcs(Array(Set(wanted.map(\.id))).sorted()) else { return [] }
        var findings: [ResourceFinding] = []
        for (id, path) in wanted where vpcs[id] == nil {
            findings.append(ResourceFinding(.error, "Subnet \(id) does not exist (asked \(inventory.source)).", at: path))
        }
        let distinct = Set(vpcs.values)
        if distinct.count > 1, let first = wanted.first {
            findings.append(
                ResourceFinding(
                    .error,
                    "The subnets are in different VPCs (\(distinct.sorted().joined(separator: ", "))); a cluster's subnets must share one VPC.",
                    at: first.path))
        }
        return findings
    }

    static func securityGroupPaths(_ config: ClusterConfiguration) -> [(id: String, path: ConfigPath)] {
        var found: [(String, ConfigPath)] = []
        let head = config.headNode
        for (index, id) in head.securityGroups.enumerated() { found.append((id, head.path / "Networking" / "SecurityGroups" / index)) }
        for (index, id) in head.additionalSecurityGroups.enumerated() {
            found.append((id, head.path / "Networking" / "AdditionalSecurityGroups" / index))
        }
        for queue in config.scheduling.queues {
            for (index, id) in queue.securityGroups.enumerated() { found.append((id, queue.path / "Networking" / "SecurityGroups" / index)) }
            for (index, id) in queue.additionalSecurityGroups.enumerated() {
                found.append((id, queue.path / "Networking" / "AdditionalSecurityGroups" / index))
            }
        }
        for pool in config.loginNodePools {
            for (index, id) in pool.securityGroups.enumerated() { found.append((id, pool.path / "Networking" / "SecurityGroups" / index)) }
            for (index, id) in pool.additionalSecurityGroups.enumerated() {
                found.append((id, pool.path / "Networking" / "AdditionalSecurityGroups" / index))
            }
        }
        return found
    }

    /// The security groups exist and are in the subnets' VPC.
    static let securityGroups = ResourceValidator(
        "SecurityGroupsValidator", subject: "the security groups",
        anchor: { securityGroupPaths($0).first?.path }
    ) { config, inventory in
        let wanted = securityGroupPaths(config)
        guard !wanted.isEmpty, let vpcs = try await inventory.securityGroupVpcs(Array(Set(wanted.map(\.id))).sorted()) else { return [] }
        let subnetVpc = try await inventory.subnetVpcs([config.headNode.subnetId])?[config.headNode.subnetId]
        var findings: [ResourceFinding] = []
        for (id, path) in wanted {
            guard let vpc = vpcs[id] else {
                findings.append(ResourceFinding(.error, "Security group \(id) does not exist (asked \(inventory.source)).", at: path))
                continue
            }
            if let subnetVpc, vpc != subnetVpc {
                findings.append(ResourceFinding(.error, "Security group \(id) is in \(vpc), not in the subnets' VPC \(subnetVpc).", at: path))
            }
        }
        return findings
    }

    /// The head node's key pair exists.
    static let keyPair = ResourceValidator(
        "KeyPairValidator", subject: "the key pair",
        anchor: { $0.headNode.keyName == nil ? nil : $0.headNode.path / "Ssh" / "KeyName" }
    ) { config, inventory in
        guard let name = config.headNode.keyName, let exists = try await inventory.keyPairExists(name), !exists else { return [] }
        return [
            ResourceFinding(
                .error, "Key pair '\(name)' does not exist in the region (asked \(inventory.source)); create or import it first.",
                at: config.headNode.path / "Ssh" / "KeyName")
        ]
    }

    /// A custom AMI exists, and its architecture is one every instance type of the cluster runs.
    static let customAmi = ResourceValidator(
        "AmiValidator", subject: "the custom AMI",
        anchor: { $0.customAmi == nil ? nil : .root / "Image" / "CustomAmi" }
    ) { config, inventory in
        guard let id = config.customAmi, let lookup = try await inventory.imageArchitecture(id) else { return [] }
        guard let architecture = lookup else {
            return [
                ResourceFinding(
                    .error, "Image \(id) does not exist or is not shared with this account (asked \(inventory.source)).",
                    at: .root / "Image" / "CustomAmi")
            ]
        }
        var findings: [ResourceFinding] = []
        var seen = Set<String>()
        for (type, path, _, _) in instanceTypePaths(config) where seen.insert(type).inserted {
            guard let supported = InstanceTypeCatalogue.shipped.info(for: type)?.architectures, !supported.contains(architecture) else { continue }
            findings.append(
                ResourceFinding(
                    .error,
                    "Image \(id) is built for \(architecture), which instance type \(type) does not run (it runs \(supported.joined(separator: ", "))).",
                    at: path))
        }
        return findings
    }

    /// As the original: an image pcluster built carries its version in a tag; one without it may not boot a
    /// cluster node, one of another version will not.
    static let customAmiTag = ResourceValidator(
        "CustomAmiTagValidator", subject: "the custom AMI's tags",
        anchor: { $0.customAmi == nil ? nil : .root / "Image" / "CustomAmi" }
    ) { config, inventory in
        guard let id = config.customAmi, let lookup = try await inventory.imageTags(id), let tags = lookup else { return [] }
        let current = "3.16.1"
        guard let version = tags["parallelcluster:version"] else {
            return [
                ResourceFinding(
                    .warning,
                    "The custom AMI may not have been created by pcluster. You can ignore this warning if the AMI is shared or copied from another pcluster AMI. If the AMI is indeed not created by pcluster, cluster creation will fail. If the cluster creation fails, please go to https://docs.aws.amazon.com/parallelcluster/latest/ug/troubleshooting.html#troubleshooting-stack-creation-failures for troubleshooting.",
                    at: .root / "Image" / "CustomAmi")
            ]
        }
        guard version == current else {
            return [
                ResourceFinding(
                    .error,
                    "The custom AMI was created with pcluster \(version), but is trying to be used with pcluster \(current). Please either use an AMI created with \(current) or change your ParallelCluster to \(version)",
                    at: .root / "Image" / "CustomAmi")
            ]
        }
        return []
    }

    /// As the original: the OS an image pcluster built names in its tag must be Image.Os; an image without the
    /// tag cannot be checked, and the user is told so.
    static let amiOsCompatible = ResourceValidator(
        "AmiOsCompatibleValidator", subject: "the custom AMI's OS",
        anchor: { $0.customAmi == nil ? nil : .root / "Image" / "CustomAmi" }
    ) { config, inventory in
        guard let id = config.customAmi, let lookup = try await inventory.imageTags(id), let tags = lookup else { return [] }
        guard let os = tags["parallelcluster:os"] else {
            return [
                ResourceFinding(
                    .warning,
                    "Could not check node AMI \(id) OS and cluster OS \(config.os) compatibility, please make sure they are compatible before cluster creation and update operations.",
                    at: .root / "Image" / "CustomAmi")
            ]
        }
        guard os == config.os else {
            return [
                ResourceFinding(
                    .error, "The OS of node AMI \(id) is \(os), it is not compatible with cluster OS \(config.os).", at: .root / "Image" / "CustomAmi"
                )
            ]
        }
        return []
    }

    /// Each FsxLustre FileSystemId names a file system that exists and is AVAILABLE (the original's
    /// ExistingFsxNetworkingValidator also describes the file systems first).
    static let existingFsx = ResourceValidator(
        "ExistingFsxNetworkingValidator", subject: "the FSx file systems",
        anchor: { config in existingFileSystems(config).first?.path }
    ) { config, inventory in
        try await withThrowingTaskGroup(of: ResourceFinding?.self) { group in
            for (id, path) in existingFileSystems(config) {
                group.addTask {
                    switch try await inventory.fileSystem(id) {
                    case .notFound?:
                        return ResourceFinding(
                            .error, "FSx file system \(id) does not exist (asked \(inventory.source)); create it first or correct FileSystemId.",
                            at: path)
                    case .found(let lifecycle, _)? where lifecycle != "AVAILABLE":
                        return ResourceFinding(.error, "FSx file system \(id) is \(lifecycle); it must be AVAILABLE to be mounted.", at: path)
                    case .found(_, let subnets)? where !subnets.isEmpty:
                        // Reachable: the file system's interfaces are in the cluster's VPC (Lustre does not cross VPCs
                        // without peering, which this check cannot see).
                        let head = config.headNode.subnetId
                        guard let vpcs = try await inventory.subnetVpcs(Array(Set(subnets + [head])).sorted()),
                            let clusterVpc = vpcs[head], let fsVpc = subnets.compactMap({ vpcs[$0] }).first, fsVpc != clusterVpc
                        else { return nil }
                        return ResourceFinding(
                            .error,
                            "FSx file system \(id) is in \(fsVpc), the cluster in \(clusterVpc): the nodes cannot reach it. Use a file system in the cluster's VPC (or peer the VPCs and suppress this validator).",
                            at: path)
                    default:
                        return nil
                    }
                }
            }
            var findings: [ResourceFinding] = []
            for try await finding in group { if let finding { findings.append(finding) } }
            return findings
        }
    }

    static func existingFileSystems(_ config: ClusterConfiguration) -> [(id: String, path: ConfigPath)] {
        config.sharedStorage.compactMap { storage in
            guard storage.storageType == "FsxLustre", let settings = storage.fsxLustre, let id = settings.fileSystemId else { return nil }
            return (id, settings.path / "FileSystemId")
        }
    }
}

extension ConfigValidation {
    /// Runs the resource validators against `inventory`, each within `timeout` seconds, and returns their
    /// findings as messages (sorted with the rest by the caller).
    public static func validateResources(
        document: ConfigDocument, config: ClusterConfiguration, inventory: any ResourceInventory,
        suppression: ValidatorSuppression = ValidatorSuppression(),
        validators: [ResourceValidator] = ResourceValidators.all,
        timeout: Double = 15
    ) async -> [ValidationMessage] {
        await withTaskGroup(of: [ValidationMessage].self) { group in
            for validator in validators where !suppression.suppresses(validator.name) {
                group.addTask {
                    let outcome = await withTaskGroup(of: Result<[ResourceFinding], any Error>?.self) { race in
                        race.addTask {
                            do { return .success(try await validator.run(config, inventory)) } catch { return .failure(error) }
                        }
                        race.addTask {
                            try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                            return nil
                        }
                        let first = await race.next() ?? nil
                        race.cancelAll()
                        return first
                    }
                    switch outcome {
                    case .success(let findings)?:
                        return findings.map {
                            ValidationMessage(level: $0.level, type: validator.name, message: $0.message, location: document.location(of: $0.path))
                        }
                    case .failure(let error)?:
                        return [
                            ValidationMessage(
                                level: .warning, type: validator.name,
                                message: "Could not check \(validator.subject) with \(inventory.source): \(error)",
                                location: validator.anchor(config).flatMap { document.location(of: $0) })
                        ]
                    case nil:
                        return [
                            ValidationMessage(
                                level: .warning, type: validator.name,
                                message:
                                    "Could not check \(validator.subject) with \(inventory.source): no answer within \(String(format: "%g", timeout)) s.",
                                location: validator.anchor(config).flatMap { document.location(of: $0) })
                        ]
                    }
                }
            }
            var messages: [ValidationMessage] = []
            for await found in group { messages += found }
            return messages
        }
    }
}
