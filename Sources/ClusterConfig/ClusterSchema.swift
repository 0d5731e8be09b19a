import Foundation

/// The ParallelCluster v3 configuration format with `Scheduler: slurm`: every section and field,
/// with types, enumerations, ranges, patterns, mutually exclusive fields and update policies.
/// Field names, limits and policies follow the original's format so existing files load unchanged.
public enum ClusterSchema {
    public static let supportedOses = ["alinux2", "alinux2023", "ubuntu2004", "ubuntu2204", "ubuntu2404", "rhel8", "rocky8", "rhel9", "rocky9"]
    public static let endOfLifeOses: [String: String] = [
        "alinux2": "Amazon Linux 2 reached end of life in June 2026",
        "ubuntu2004": "Ubuntu 20.04 reached end of standard support in May 2025",
    ]
    static let deletionPolicies = ["Delete", "Retain"]
    static let s3Events = ["NEW", "CHANGED", "DELETED"]

    // MARK: String checks (the original's patterns, as Python's re.match reads them)

    static func pattern(_ regex: String, _ expected: String) -> StringCheck {
        // The patterns are constants of this file; the oracle tests exercise each.
        let re = try! NSRegularExpression(pattern: regex)
        return { s in
            re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil ? nil : "'\(s)' is not \(expected)"
        }
    }

    static func id(_ prefix: String, _ lengths: [Int], hex: Bool = false) -> StringCheck {
        let chars = hex ? "[0-9a-f]" : "[0-9a-z]"
        let alternatives = lengths.map { "^\(prefix)-\(chars){\($0)}$" }.joined(separator: "|")
        let shape = lengths.map { "\(prefix)- followed by \($0) \(hex ? "hex digits" : "lowercase letters or digits")" }
        return pattern(alternatives, "a valid id (expected \(shape.joined(separator: ", or ")))")
    }

    static let cidrOrPrefixList = pattern(
        #"^(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])(\/([0-9]|[1-2][0-9]|3[0-2]))$|^pl-[a-zA-Z0-9]"#,
        "an IPv4 CIDR block such as 203.0.113.0/24 or a prefix list id (pl-...)")

    static func arn(_ marker: String, _ what: String) -> StringCheck {
        pattern("^arn:.*" + NSRegularExpression.escapedPattern(for: marker), "a valid \(what) ARN (arn:PARTITION:...\(marker)...)")
    }

    static func maxLength(_ n: Int) -> StringCheck {
        { s in s.unicodeScalars.count > n ? "is \(s.unicodeScalars.count) characters long; at most \(n) are allowed" : nil }
    }

    /// A directory for a mount or a scratch volume: no '.' at the start of a component, no backslashes.
    static let mountDir = pattern(
        #"^\/?[^\/.\\][^\/\\]*(\/[^\/.\\][^\/]*)*$"#, "a valid directory (no '.' at the start of a component, no backslashes)")

    static let weeklyTime = pattern(#"^[1-7]:([01]\d|2[0-3]):([0-5]\d)$"#, "a weekly time d:HH:MM (day 1-7); quote it, or YAML reads it as a number")
    static let dailyTime = pattern(#"^([01]\d|2[0-3]):([0-5]\d)$"#, "a daily time HH:MM; quote it, or YAML reads it as a number")
    static let bucketName = pattern(#"^[\*a-z0-9\-\.]+$"#, "a valid bucket name (lowercase letters, digits, '-', '.', '*')")

    static let scheduler: StringCheck = { s in
        switch s {
        case "slurm": return nil
        case "awsbatch": return "the awsbatch scheduler is not supported (the original dropped it too); use 'slurm'"
        default: return "must be 'slurm', found '\(s)'" + (s.lowercased() == "slurm" ? ". Did you mean 'slurm'?" : "")
        }
    }

    // MARK: Field checks and rules between fields (the original's @validates and @validates_schema)

    /// Tags: no reserved `parallelcluster:` keys, no key twice.
    static let tagRules: NodeCheck = { node in
        var seen = Set<String>()
        for tag in node.sequence?.items ?? [] {
            let key = tag["Key"]?.string ?? ""
            if key.hasPrefix("parallelcluster:") && key != "parallelcluster:custom_resource" {
                return "the tag key prefix 'parallelcluster:' is reserved and cannot be used"
            }
            if !seen.insert(key).inserted { return "duplicate tag key '\(key)'; tag keys must be unique within the Tags section" }
        }
        return nil
    }

    static func set(_ m: ConfigNode.Mapping, _ key: String) -> Bool { m[key]?.isTruthy ?? false }

    // MARK: Building blocks

    static func f(
        _ name: String, _ type: SchemaType, required: Bool = false, _ policy: UpdatePolicy? = nil, check: NodeCheck? = nil
    ) -> FieldSchema {
        FieldSchema(name, type, required: required, policy: policy, check: check)
    }
    static func obj(_ fields: [FieldSchema], exclusive: [[String]] = [], oneRequired: [[String]] = [], rules: [ObjectRule] = []) -> SchemaType {
        .object(ObjectSchema(fields, exclusive: exclusive, oneRequired: oneRequired, rules: rules))
    }
    static let str = SchemaType.string()
    static let bool = SchemaType.boolean
    static let int = SchemaType.integer()
    static func strings(min: Int? = nil, max: Int? = nil, _ check: StringCheck? = nil) -> SchemaType {
        .list(.string(check), min: min, max: max)
    }
    static let subnetIds = strings(min: 1, id("subnet", [8, 17]))
    static let securityGroups = strings(id("sg", [8, 17]))

    static func tags(_ policy: UpdatePolicy) -> SchemaType {
        .list(
            obj([
                f("Key", .string(maxLength(128)), required: true, .unsupported),
                f("Value", .string(maxLength(256)), required: true, policy),
            ]), key: "Key")
    }

    static func customAction(_ policy: UpdatePolicy) -> SchemaType {
        .customAction(ObjectSchema([f("Script", .string(), required: true, policy), f("Args", strings(), policy)]))
    }

    static func proxy(_ policy: UpdatePolicy) -> SchemaType { obj([f("HttpProxyAddress", str, policy)]) }

    /// Security groups replace the defaults or add to them, not both.
    static let oneKindOfSecurityGroups: [[String]] = [["SecurityGroups", "AdditionalSecurityGroups"]]

    static let placementGroup = obj([f("Enabled", bool), f("Id", str), f("Name", str)])

    static let capacityReservationTarget = obj(
        [f("CapacityReservationId", str), f("CapacityReservationResourceGroupArn", str)],
        rules: [
            { m in
                set(m, "CapacityReservationId") != set(m, "CapacityReservationResourceGroupArn")
                    ? nil : "give either CapacityReservationId or CapacityReservationResourceGroupArn"
            }
        ])

    static let volumeTypes = ["standard", "io1", "io2", "gp2", "st1", "sc1", "gp3"]

    static let headNodeRootVolume = obj([
        f("VolumeType", .enumeration(volumeTypes)), f("Iops", int), f("Size", int), f("Throughput", int),
        f("Encrypted", bool), f("DeleteOnTermination", bool),
    ])

    static let queueRootVolume = obj([
        f("Size", int, .queueUpdateStrategy), f("Encrypted", bool, .queueUpdateStrategy), f("VolumeType", str, .queueUpdateStrategy),
        f("Iops", int, .queueUpdateStrategy), f("Throughput", int, .queueUpdateStrategy),
    ])

    static let healthChecks = obj([f("Gpu", obj([f("Enabled", bool)]))])

    static func iam(instanceProfilePolicy: UpdatePolicy, withS3: Bool) -> SchemaType {
        var fields = [
            f("InstanceRole", .string(arn(":role/", "IAM role")), .supported),
            f("AdditionalIamPolicies", .list(obj([f("Policy", .string(arn(":policy/", "IAM policy")), required: true)]), key: "Policy"), .supported),
            f("InstanceProfile", .string(arn(":instance-profile/", "IAM instance profile")), instanceProfilePolicy),
        ]
        var rules: [ObjectRule] = [
            { m in
                ["InstanceRole", "InstanceProfile", "AdditionalIamPolicies"].filter { set(m, $0) }.count > 1
                    ? "use one of InstanceRole, InstanceProfile and AdditionalIamPolicies" : nil
            }
        ]
        if withS3 {
            fields.insert(
                f(
                    "S3Access",
                    .list(
                        obj([f("BucketName", .string(bucketName), required: true), f("KeyName", str), f("EnableWriteAccess", bool)]),
                        key: "BucketName"), .supported), at: 2)
            rules.append { m in set(m, "S3Access") && set(m, "InstanceRole") ? "S3Access can not be configured when InstanceRole is set" : nil }
            rules.append { m in
                set(m, "S3Access") && set(m, "InstanceProfile") ? "S3Access can not be configured when InstanceProfile is set" : nil
            }
        }
        return obj(fields, rules: rules)
    }

    /// A field the original cannot do without once its section is there: it fails with a Python
    /// error (a required argument of its model) where this reports the missing key.
    static func needed(_ key: String) -> ObjectRule {
        { m in m[key] == nil ? RuleProblem("\(key) is required in this section", field: key) : nil }
    }

    /// A node group's own image: the original needs CustomAmi once the section is there.
    static let nodeImage = obj([f("CustomAmi", .string(id("ami", [8, 17])))], rules: [needed("CustomAmi")])

    // MARK: Sections

    static let image = obj([
        f("Os", .enumeration(supportedOses), required: true, .unsupported),
        f("CustomAmi", .string(id("ami", [8, 17])), .unsupported),
    ])

    static let dcv = obj(
        [
            f("Enabled", bool, .unsupported), f("Port", int, .unsupported), f("AllowedIps", .string(cidrOrPrefixList), .supported),
        ], rules: [needed("Enabled")])

    static let headNode = obj([
        f("InstanceType", str, required: true, .unsupported),
        f("DisableSimultaneousMultithreading", bool, .unsupported),
        f(
            "Networking",
            obj(
                [
                    f("AdditionalSecurityGroups", securityGroups, .supported),
                    f("SecurityGroups", securityGroups, .supported),
                    f("SubnetId", .string(id("subnet", [8, 17])), required: true, .unsupported),
                    f("ElasticIp", .any, .unsupported),
                    f("Proxy", proxy(.unsupported)),
                ], exclusive: oneKindOfSecurityGroups), required: true, .unsupported),
        f("Ssh", obj([f("KeyName", str, .unsupported), f("AllowedIps", .string(cidrOrPrefixList), .supported)]), .supported),
        f(
            "LocalStorage",
            obj([f("RootVolume", headNodeRootVolume), f("EphemeralVolume", obj([f("MountDir", .string(mountDir))]))]),
            .unsupported),
        f("SharedStorageType", .enumeration(["Ebs", "Efs"]), .unsupported),
        f("SharedStorageEfsSettings", obj([f("Encrypted", bool)]), .unsupported),
        f("Dcv", dcv, .unsupported),
        f(
            "CustomActions",
            obj([
                f("OnNodeStart", customAction(.unsupported)), f("OnNodeConfigured", customAction(.unsupported)),
                f("OnNodeUpdated", customAction(.supported)),
            ]), .ignored),
        f("Iam", iam(instanceProfilePolicy: .unsupported, withS3: true), .supported),
        f("Imds", obj([f("Secured", bool)]), .unsupported),
        f("Image", nodeImage, .unsupported),
    ])

    static let computeResource = obj(
        [
            f("Name", str, required: true, .unsupported),
            f("InstanceType", str, .computeFleetStop),
            f(
                "Instances", .list(obj([f("InstanceType", str, required: true)]), key: "InstanceType"), .computeFleetStopOnRemove,
                check: { node in
                    var seen = Set<String>()
                    for item in node.sequence?.items ?? [] {
                        let type = item["InstanceType"]?.string ?? ""
                        if !seen.insert(type).inserted { return "instance type \(type) appears twice; list each once" }
                    }
                    return nil
                }),
            f("MaxCount", .integer(min: 1), .maxCount),
            f("MinCount", .integer(min: 0), .resizeUpdateStrategyOnRemove),
            f("SpotPrice", .number(min: 0), .queueUpdateStrategy),
            f("Efa", obj([f("Enabled", bool), f("GdrSupport", bool)]), .queueUpdateStrategy),
            f("DisableSimultaneousMultithreading", bool, .computeFleetStop),
            f("SchedulableMemory", int, .queueUpdateStrategy),
            f("CapacityReservationTarget", capacityReservationTarget, .queueUpdateStrategy),
            f("Networking", obj([f("PlacementGroup", placementGroup)]), .managedPlacementGroup),
            f("HealthChecks", healthChecks, .supported),
            f("CustomSlurmSettings", .freeMapping, .supported),
            f("Tags", tags(.queueUpdateStrategy), .queueUpdateStrategy, check: tagRules),
            f("StaticNodePriority", .integer(min: 1, max: 4_294_967_295), .supported),
            f("DynamicNodePriority", .integer(min: 1, max: 4_294_967_295), .supported),
            f(
                "LaunchTemplateOverrides", obj([f("LaunchTemplateId", str, required: true), f("Version", .integer(min: 1), required: true)]),
                .queueUpdateStrategy),
        ],
        rules: [
            // Present, not merely set: the original fails on `InstanceType: ""` next to Instances, or `Instances: []` next to InstanceType.
            { m in m["InstanceType"] != nil && m["Instances"] != nil ? "give either InstanceType or Instances, not both" : nil },
            { m in
                set(m, "Instances") || set(m, "InstanceType") || (m["CapacityReservationTarget"]?["CapacityReservationId"]?.isTruthy ?? false)
                    ? nil : "give Instances, InstanceType or CapacityReservationTarget.CapacityReservationId"
            },
        ])

    static let slurmQueue = obj(
        [
            f("Name", str, required: true, .unsupported),
            f("CapacityType", .enumeration(["CAPACITY_BLOCK", "ONDEMAND", "SPOT"]), .queueUpdateStrategy),
            f(
                "ComputeSettings",
                obj([f("LocalStorage", obj([f("RootVolume", queueRootVolume), f("EphemeralVolume", obj([f("MountDir", .string(mountDir))]))]))]),
                .queueUpdateStrategy),
            f(
                "CustomActions",
                obj([f("OnNodeStart", customAction(.queueUpdateStrategy)), f("OnNodeConfigured", customAction(.queueUpdateStrategy))]),
                .queueUpdateStrategy),
            f("Iam", iam(instanceProfilePolicy: .computeFleetStop, withS3: true), .supported),
            f("Image", nodeImage, .queueUpdateStrategy),
            f("CapacityReservationTarget", capacityReservationTarget, .queueUpdateStrategy),
            f(
                "AllocationStrategy",
                .enumeration(["lowest-price", "capacity-optimized", "price-capacity-optimized", "prioritized", "capacity-optimized-prioritized"]),
                .queueUpdateStrategy),
            f("ComputeResources", .list(computeResource, key: "Name"), .resizeUpdateStrategyOnRemove),
            f(
                "Networking",
                obj(
                    [
                        f("AdditionalSecurityGroups", securityGroups, .supported),
                        f("SecurityGroups", securityGroups, .supported),
                        f("AssignPublicIp", bool, .unsupported),
                        f("SubnetIds", subnetIds, required: true, .managedFsx),
                        f("PlacementGroup", placementGroup, .managedPlacementGroup),
                        f("Proxy", proxy(.queueUpdateStrategy)),
                    ], exclusive: oneKindOfSecurityGroups), required: true, .queueUpdateStrategy),
            f("HealthChecks", healthChecks, .supported),
            f("CustomSlurmSettings", .freeMapping, .supported),
            f("Tags", tags(.queueUpdateStrategy), .queueUpdateStrategy, check: tagRules),
            f("JobExclusiveAllocation", bool, .supported),
        ], rules: [needed("ComputeResources")])

    static let slurmSettings = obj([
        f("ScaledownIdletime", .integer(min: -1), .computeFleetStop),
        f("Dns", obj([f("DisableManagedDns", bool), f("HostedZoneId", str), f("UseEc2Hostnames", bool)]), .unsupported),
        f("QueueUpdateStrategy", .enumeration(["DRAIN", "COMPUTE_FLEET_STOP", "TERMINATE"]), .ignored),
        f("EnableMemoryBasedScheduling", bool, .computeFleetStop),
        f(
            "Database",
            obj([
                f("Uri", str, required: true), f("UserName", str, required: true),
                f("PasswordSecretArn", .string(arn(":secret", "Secrets Manager secret")), required: true),
                f("DatabaseName", .string(pattern(#"^[0-9a-z_]{1,64}$"#, "1-64 lowercase letters, digits or '_'")), .supported),
            ]), .computeFleetStop),
        f("CustomSlurmSettings", .list(.freeMapping), .supported),
        f("CustomSlurmSettingsIncludeFile", str, .supported),
        f("MungeKeySecretArn", str, .computeAndLoginNodesStop),
        f("ExternalSlurmdbd", obj([f("Host", str, required: true), f("Port", int)]), .supported),
    ])

    static let scheduling = obj([
        f("Scheduler", .string(scheduler), required: true, .unsupported),
        f("ScalingStrategy", .enumeration(["all-or-nothing", "best-effort", "greedy-all-or-nothing"]), .supported),
        f("SlurmSettings", slurmSettings, .ignored),
        f("SlurmQueues", .list(slurmQueue, key: "Name"), required: true, .resizeUpdateStrategyOnRemove),
    ])

    static let fileImportChunk = SchemaType.integer(min: 1, max: 512_000)

    static let dataRepositoryAssociation = obj([
        f("Name", str, required: true, .unsupported),
        f("BatchImportMetaDataOnCreate", bool, .unsupported),
        f("DataRepositoryPath", str, required: true, .unsupported),
        f(
            "FileSystemPath", .string(pattern("^[^\\u0000\\u0085\\u2028\\u2029\\r\\n]{1,4096}$", "a path of 1 to 4096 characters on one line")),
            required: true, .unsupported),
        f("ImportedFileChunkSize", fileImportChunk, .supported),
        f("AutoExportPolicy", .list(.enumeration(s3Events), max: 3), .supported),
        f("AutoImportPolicy", .list(.enumeration(s3Events), max: 3), .supported),
    ])

    /// What FileSystemId and BackupId leave no room for: the file system exists (or comes from the backup).
    static let existingFsxRules: [ObjectRule] = [
        { m in
            guard m["FileSystemId"] != nil else { return nil }
            let others = m.entries.map(\.key).filter { $0 != "FileSystemId" }
            return others.isEmpty ? nil : "\(others.joined(separator: ", ")) would be ignored: FileSystemId names an existing file system"
        },
        { m in
            guard m["BackupId"] != nil else { return nil }
            let unsupported = [
                "DeploymentType", "PerUnitStorageThroughput", "StorageCapacity", "ImportPath", "ExportPath", "ImportedFileChunkSize", "KmsKeyId",
            ]
            let found = m.entries.map(\.key).filter { unsupported.contains($0) }
            return found.isEmpty ? nil : "\(found.joined(separator: ", ")) cannot be used with BackupId"
        },
    ]

    static let fsxLustreSettings = obj(
        [
            f("StorageCapacity", int, .unsupported),
            f("DeploymentType", .enumeration(["SCRATCH_1", "SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2"]), .unsupported),
            f("ImportedFileChunkSize", fileImportChunk, .unsupported),
            f("ExportPath", str, .unsupported),
            f("ImportPath", str, .unsupported),
            f("WeeklyMaintenanceStartTime", .string(weeklyTime), .supported),
            f("AutomaticBackupRetentionDays", .integer(min: 0, max: 90), .supported),
            f("CopyTagsToBackups", bool, .unsupported),
            f("DailyAutomaticBackupStartTime", .string(dailyTime), .supported),
            f("PerUnitStorageThroughput", int, .unsupported),
            f("BackupId", .string(pattern("^(backup-[0-9a-f]{8,})$", "a backup id (backup- followed by at least 8 hex digits)")), .unsupported),
            f("KmsKeyId", str, .unsupported),
            f("FileSystemId", .string(id("fs", [17])), .unsupported),
            f("AutoImportPolicy", .enumeration(["NEW", "NEW_CHANGED", "NEW_CHANGED_DELETED"]), .unsupported),
            f("DriveCacheType", .enumeration(["READ"]), .unsupported),
            f("DataCompressionType", .enumeration(["LZ4"]), .supported),
            f("StorageType", .enumeration(["HDD", "SSD"]), .unsupported),
            f("DeletionPolicy", .enumeration(deletionPolicies), .supported),
            f("DataRepositoryAssociations", .list(dataRepositoryAssociation, key: "Name"), .supported),
        ], rules: existingFsxRules)

    static let efsSettings = obj(
        [
            f("Encrypted", bool, .unsupported), f("KmsKeyId", str, .unsupported),
            f("PerformanceMode", .enumeration(["generalPurpose", "maxIO"]), .unsupported),
            f("ThroughputMode", .enumeration(["provisioned", "bursting"]), .supported),
            f("ProvisionedThroughput", .integer(min: 1, max: 1024), .supported),
            f("FileSystemId", .string(id("fs", [8, 17])), .unsupported),
            f("DeletionPolicy", .enumeration(deletionPolicies), .supported),
            f("AccessPointId", .string(id("fsap", [17])), .unsupported),
            f("EncryptionInTransit", bool, .unsupported), f("IamAuthorization", bool, .unsupported),
        ],
        rules: [
            { m in
                guard m["FileSystemId"] != nil else { return nil }
                let kept: Set = ["EncryptionInTransit", "IamAuthorization", "FileSystemId", "AccessPointId"]
                let others = m.entries.map(\.key).filter { !kept.contains($0) }
                return others.isEmpty ? nil : "\(others.joined(separator: ", ")) would be ignored: FileSystemId names an existing file system"
            },
            { m in
                let provisioned = m["ThroughputMode"]?.string == "provisioned"
                let throughput = set(m, "ProvisionedThroughput")
                if !provisioned && throughput {
                    return RuleProblem("ProvisionedThroughput needs ThroughputMode: provisioned", field: "ThroughputMode")
                }
                if provisioned && !throughput {
                    return RuleProblem("ThroughputMode provisioned needs ProvisionedThroughput", field: "ProvisionedThroughput")
                }
                return nil
            },
        ])

    static let storageSettings = [
        ("Ebs", "EbsSettings"), ("Efs", "EfsSettings"), ("FsxLustre", "FsxLustreSettings"), ("FsxOpenZfs", "FsxOpenZfsSettings"),
        ("FsxOntap", "FsxOntapSettings"), ("FileCache", "FileCacheSettings"),
    ]

    static let sharedStorage = obj(
        [
            f(
                "MountDir", .string(mountDir), required: true, .sharedStorageUpdatePolicy,
                check: { node in
                    let dir = node.string ?? ""
                    return dir == "NONE" || dir == "/NONE" ? "\(dir) cannot be used as a shared directory" : nil
                }),
            f("Name", str, required: true, .unsupported),
            f("StorageType", .enumeration(["Ebs", "FsxLustre", "FsxOpenZfs", "FsxOntap", "Efs", "FileCache"]), required: true, .unsupported),
            f(
                "EbsSettings",
                obj([
                    f("VolumeType", .enumeration(volumeTypes), .unsupported),
                    f("Iops", int, .supported), f("Size", int, .unsupported),
                    f("KmsKeyId", str, .unsupported), f("Throughput", int, .supported),
                    f("Encrypted", bool, .unsupported), f("SnapshotId", .string(id("snap", [8, 17])), .unsupported),
                    f("VolumeId", .string(id("vol", [8, 17])), .unsupported),
                    f(
                        "Raid", obj([f("Type", .integer(allowed: [0, 1]), required: true), f("NumberOfVolumes", .integer(min: 2, max: 5))]),
                        .unsupported),
                    f("DeletionPolicy", .enumeration(deletionPolicies + ["Snapshot"]), .supported),
                ]), .ignored),
            f("EfsSettings", efsSettings, .ignored),
            f("FsxLustreSettings", fsxLustreSettings, .ignored),
            f("FsxOpenZfsSettings", obj([f("VolumeId", .string(id("fsvol", [17], hex: true)), required: true)]), .unsupported),
            f("FsxOntapSettings", obj([f("VolumeId", .string(id("fsvol", [17], hex: true)), required: true)]), .unsupported),
            f(
                "FileCacheSettings",
                obj([
                    f(
                        "FileCacheId", .string(pattern("^(fc-[0-9a-f]{8,18})$", "a file cache id (fc- followed by 8 to 18 hex digits)")),
                        required: true)
                ]),
                .unsupported),
        ],
        rules: [
            { m in
                storageSettings.filter { set(m, $0.1) }.count > 1 ? "give only one *Settings section per SharedStorage item" : nil
            },
            { m in
                let type = m["StorageType"]?.string ?? ""
                let wrong = storageSettings.first { set(m, $0.1) && $0.0 != type }
                return wrong.map { RuleProblem("\($0.1) does not go with StorageType \(type)") }
            },
        ])

    static let loginNodes = obj([
        f(
            "Pools",
            .list(
                obj([
                    f("Name", str, required: true), f("InstanceType", str, required: true),
                    f("Image", nodeImage),
                    f(
                        "Networking",
                        obj(
                            [
                                f("AdditionalSecurityGroups", securityGroups),
                                f("SecurityGroups", securityGroups),
                                f("SubnetIds", strings(min: 1, max: 1, id("subnet", [8, 17])), required: true),
                                f("Proxy", proxy(.loginNodesPoolStop)),
                            ], exclusive: oneKindOfSecurityGroups), required: true),
                    f("Count", .integer(min: 0), required: true, .supported),
                    f("Dcv", dcv, .unsupported),
                    f("Ssh", obj([f("AllowedIps", .string(cidrOrPrefixList))])),
                    f(
                        "CustomActions",
                        obj([
                            f("OnNodeStart", customAction(.unsupported)), f("OnNodeConfigured", customAction(.unsupported)),
                            f("OnNodeUpdated", customAction(.supported)),
                        ]), .ignored),
                    f("Iam", iam(instanceProfilePolicy: .loginNodesPoolStop, withS3: false)),
                    f("GracetimePeriod", .integer(min: 3, max: 120), .supported),
                ]), key: "Name"), required: true, .loginNodesPoolStop)
    ])

    static let monitoring = obj([
        f("DetailedMonitoring", bool, .computeFleetStop),
        f(
            "Logs",
            obj([
                f(
                    "CloudWatch",
                    obj([
                        f("Enabled", bool, .unsupported),
                        f(
                            "RetentionInDays", .integer(allowed: [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]),
                            .supported),
                        f("DeletionPolicy", .enumeration(deletionPolicies), .supported),
                    ])),
                f("Rotation", obj([f("Enabled", bool)])),
            ]), .unsupported),
        f("Dashboards", obj([f("CloudWatch", obj([f("Enabled", bool)]))]), .supported),
        f("Alarms", obj([f("Enabled", bool)]), .supported),
    ])

    static let directoryService = obj([
        f("DomainName", str, required: true), f("DomainAddr", str, required: true),
        f(
            "PasswordSecretArn",
            .string(pattern(#"^arn:.*:(secretsmanager:.*:.*:secret:|ssm:.*:.*:parameter\/).*$"#, "a Secrets Manager secret or SSM parameter ARN")),
            required: true),
        f("DomainReadOnlyUser", str, required: true), f("LdapTlsCaCert", str),
        f("LdapTlsReqCert", .enumeration(["never", "allow", "try", "demand", "hard"])),
        f("LdapAccessFilter", str), f("GenerateSshKeysForUsers", bool), f("AdditionalSssdConfigs", .freeMapping),
    ])

    static let devSettings = obj([
        f(
            "Cookbook",
            obj([
                f("ChefCookbook", str),
                f(
                    "ExtraChefAttributes", str,
                    check: { node in
                        guard let text = node.string, !text.isEmpty else { return nil }
                        return (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) == nil
                            ? "'\(text)' is not valid JSON" : nil
                    }),
            ]), .ignored),
        f("NodePackage", str), f("ClusterTemplate", str),
        f("AmiSearchFilters", obj([f("Tags", tags(.unsupported)), f("Owner", str), f("NamePrefix", str)]), .unsupported),
        f("InstanceTypesData", str),
        f(
            "Timeouts",
            obj([
                f("HeadNodeBootstrapTimeout", .integer(min: 1), .unsupported), f("ComputeNodeBootstrapTimeout", .integer(min: 1)),
                f("ComputeInstanceInfoTimeout", .integer(min: 1)),
            ])),
        f("ComputeStartupTimeMetricEnabled", bool), f("EfaInterfaceType", str, .queueUpdateStrategy),
    ])

    public static let cluster = ObjectSchema([
        f("LoginNodes", loginNodes, .loginNodesStop),
        f("Image", image, required: true, .unsupported),
        f("HeadNode", headNode, required: true, .supported),
        f("Scheduling", scheduling, required: true, .unsupported),
        f("SharedStorage", .list(sharedStorage, key: "Name"), .sharedStorageUpdatePolicy),
        f("Monitoring", monitoring, .ignored),
        f("AdditionalPackages", obj([f("IntelSoftware", obj([f("IntelHpcPlatform", bool)]))]), .unsupported),
        f("Tags", tags(.supported), .supported, check: tagRules),
        f(
            "Iam",
            obj([
                f("Roles", obj([f("LambdaFunctionsRole", str)]), .supported),
                f("PermissionsBoundary", .string(arn(":policy/", "IAM policy")), .supported),
                f("ResourcePrefix", str, .unsupported),
            ]), .ignored),
        f("DirectoryService", directoryService, .computeAndLoginNodesStop),
        f("Region", str, .unsupported),
        f("Imds", obj([f("ImdsSupport", .enumeration(["v1.0", "v2.0"]))]), .unsupported),
        f("CustomS3Bucket", str, .readOnlyResourceBucket),
        f("AdditionalResources", str, .supported),
        f("DevSettings", devSettings, .supported),
        f(
            "DeploymentSettings",
            obj([
                f(
                    "LambdaFunctionsVpcConfig",
                    obj([
                        f("SecurityGroupIds", strings(min: 1, max: 5, id("sg", [8, 17])), required: true),
                        f("SubnetIds", strings(min: 1, max: 16, id("subnet", [8, 17])), required: true),
                    ])),
                f("DisableSudoAccessForDefaultUser", bool, .computeAndLoginNodesStop),
                f("DefaultUserHome", .enumeration(["Shared", "Local"])),
            ]), .unsupported),
    ])
}

/// An IPv4 network in CIDR notation.
public struct IPv4CIDR: Sendable, Equatable {
    public let address: UInt32
    public let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), (0...32).contains(prefix) else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for o in octets {
            guard !o.isEmpty, o.count <= 3, o.allSatisfy({ $0.isASCII && $0.isNumber }), let b = UInt32(o), b <= 255 else { return nil }
            value = value << 8 | b
        }
        self.address = value
        self.prefix = prefix
    }

    /// True for 0.0.0.0/0: anyone on the internet.
    public var isEverything: Bool { prefix == 0 }
}
