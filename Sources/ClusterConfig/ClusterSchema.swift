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

    // MARK: String checks

    static func id(_ prefix: String, _ lengths: [Int]) -> StringCheck {
        { s in
            let p = prefix + "-"
            let rest = s.dropFirst(p.count)
            if s.hasPrefix(p), lengths.contains(rest.count),
                rest.allSatisfy({ ($0.isASCII && $0.isNumber) || ("a"..."z").contains($0) })
            {
                return nil
            }
            let shape = lengths.map { "\(p) followed by \($0) lowercase letters or digits" }.joined(separator: ", or ")
            return "'\(s)' is not a valid id (expected \(shape))"
        }
    }

    static let cidrOrPrefixList: StringCheck = { s in
        if s.hasPrefix("pl-") { return nil }
        return IPv4CIDR(s) == nil ? "'\(s)' is not an IPv4 CIDR block such as 203.0.113.0/24 (or a prefix list id pl-...)" : nil
    }

    static func arn(_ marker: String, _ what: String) -> StringCheck {
        { s in
            s.hasPrefix("arn:") && s.contains(marker) ? nil : "'\(s)' is not a valid \(what) ARN (arn:PARTITION:...\(marker)...)"
        }
    }

    static func maxLength(_ n: Int) -> StringCheck {
        { s in s.count > n ? "is \(s.count) characters long; at most \(n) are allowed" : nil }
    }

    static let filePath: StringCheck = { s in
        if s.isEmpty { return "a path cannot be empty" }
        if s.contains("\\") || s.contains("\0") { return "'\(s)' is not a valid path (no backslashes or NUL)" }
        if s.split(separator: "/").contains(where: { $0 == ".." }) { return "'\(s)' must not contain '..'" }
        return nil
    }

    static let s3Uri: StringCheck = { s in
        s.hasPrefix("s3://") && s.count > 5 ? nil : "'\(s)' is not an S3 URI (s3://bucket/prefix)"
    }

    static let httpUrl: StringCheck = { s in
        s.hasPrefix("http://") || s.hasPrefix("https://") ? nil : "'\(s)' must start with http:// or https://"
    }

    static let weeklyTime: StringCheck = { s in
        let p = s.split(separator: ":", omittingEmptySubsequences: false)
        if p.count == 3, let d = Int(p[0]), (1...7).contains(d), p[1].count == 2, let h = Int(p[1]), (0...23).contains(h),
            p[2].count == 2, let m = Int(p[2]), (0...59).contains(m)
        {
            return nil
        }
        return "'\(s)' must be d:HH:MM (day 1-7, hour 00-23, minute 00-59)"
    }

    static let dailyTime: StringCheck = { s in
        let p = s.split(separator: ":", omittingEmptySubsequences: false)
        if p.count == 2, p[0].count == 2, let h = Int(p[0]), (0...23).contains(h), p[1].count == 2, let m = Int(p[1]), (0...59).contains(m) {
            return nil
        }
        return "'\(s)' must be HH:MM"
    }

    static let bucketName: StringCheck = { s in
        s.allSatisfy({ ("a"..."z").contains($0) || ($0.isASCII && $0.isNumber) || "-.*".contains($0) })
            ? nil
            : "'\(s)' is not a valid bucket name (lowercase letters, digits, '-', '.', '*')"
    }

    static let scheduler: StringCheck = { s in
        switch s {
        case "slurm": return nil
        case "awsbatch": return "the awsbatch scheduler is not supported by this pcluster; use 'slurm' (AWS Batch clusters need the original tool)"
        default: return "must be 'slurm', found '\(s)'" + (s.lowercased() == "slurm" ? ". Did you mean 'slurm'?" : "")
        }
    }

    // MARK: Building blocks

    static func f(_ name: String, _ type: SchemaType, required: Bool = false, _ policy: UpdatePolicy? = nil) -> FieldSchema {
        FieldSchema(name, type, required: required, policy: policy)
    }
    static func obj(_ fields: [FieldSchema], exclusive: [[String]] = [], oneRequired: [[String]] = []) -> SchemaType {
        .object(ObjectSchema(fields, exclusive: exclusive, oneRequired: oneRequired))
    }
    static let str = SchemaType.string()
    static let bool = SchemaType.boolean
    static let int = SchemaType.integer()
    static func strings(min: Int? = nil, max: Int? = nil, _ check: StringCheck? = nil) -> SchemaType {
        .list(.string(check), min: min, max: max)
    }

    static func tags(_ policy: UpdatePolicy) -> SchemaType {
        .list(
            obj([
                f("Key", .string(maxLength(128)), required: true, .unsupported),
                f("Value", .string(maxLength(256)), required: true, policy),
            ]), max: 40, key: "Key")
    }

    static func customAction(_ policy: UpdatePolicy) -> SchemaType {
        .oneOrList(ObjectSchema([f("Script", .string(), required: true, policy), f("Args", strings(), policy)]))
    }

    static func proxy(_ policy: UpdatePolicy) -> SchemaType { obj([f("HttpProxyAddress", .string(httpUrl), policy)]) }

    static let placementGroup = obj([f("Enabled", bool), f("Id", str), f("Name", str)], exclusive: [["Id", "Name"]])

    static let capacityReservationTarget = obj(
        [
            f("CapacityReservationId", .string(id("cr", [17]))),
            f("CapacityReservationResourceGroupArn", .string(arn(":resource-groups:", "resource group"))),
        ], exclusive: [["CapacityReservationId", "CapacityReservationResourceGroupArn"]])

    static func rootVolume(_ policy: UpdatePolicy) -> SchemaType {
        obj([
            f("Size", .integer(min: 1), policy), f("Encrypted", bool, policy),
            f("VolumeType", .enumeration(["gp2", "gp3", "io1", "io2", "sc1", "st1", "standard"]), policy),
            f("Iops", .integer(min: 0), policy), f("Throughput", .integer(min: 0), policy),
            f("DeleteOnTermination", bool, policy),
        ])
    }

    static let healthChecks = obj([f("Gpu", obj([f("Enabled", bool)]))])

    static func iam(instanceProfilePolicy: UpdatePolicy, withS3: Bool) -> SchemaType {
        var fields = [
            f("InstanceRole", .string(arn(":role/", "IAM role")), .supported),
            f("InstanceProfile", .string(arn(":instance-profile/", "IAM instance profile")), instanceProfilePolicy),
            f("AdditionalIamPolicies", .list(obj([f("Policy", .string(arn(":policy/", "IAM policy")), required: true)]), key: "Policy"), .supported),
        ]
        if withS3 {
            fields.append(
                f(
                    "S3Access",
                    .list(
                        obj([
                            f("BucketName", .string(bucketName), required: true), f("KeyName", str),
                            f("EnableWriteAccess", bool),
                        ]), key: "BucketName"), .supported))
        }
        return obj(
            fields,
            exclusive: [["InstanceRole", "InstanceProfile"], ["InstanceProfile", "AdditionalIamPolicies"], ["InstanceProfile", "S3Access"]])
    }

    // MARK: Sections

    static let image = obj([
        f("Os", .enumeration(supportedOses), required: true, .unsupported),
        f("CustomAmi", .string(id("ami", [8, 17])), .unsupported),
    ])

    static let dcv = obj([
        f("Enabled", bool, .unsupported), f("Port", .integer(min: 1, max: 65535), .unsupported),
        f("AllowedIps", .string(cidrOrPrefixList), .supported),
    ])

    static let headNode = obj([
        f("InstanceType", str, required: true, .unsupported),
        f("DisableSimultaneousMultithreading", bool, .unsupported),
        f(
            "Networking",
            obj(
                [
                    f("SubnetId", .string(id("subnet", [8, 17])), required: true, .unsupported),
                    f("ElasticIp", str, .unsupported),
                    f("SecurityGroups", strings(max: 5, id("sg", [8, 17])), .supported),
                    f("AdditionalSecurityGroups", strings(max: 5, id("sg", [8, 17])), .supported),
                    f("Proxy", proxy(.unsupported)),
                ], exclusive: [["SecurityGroups", "AdditionalSecurityGroups"]]), required: true, .unsupported),
        f("Ssh", obj([f("KeyName", str, .unsupported), f("AllowedIps", .string(cidrOrPrefixList), .supported)]), .supported),
        f(
            "LocalStorage",
            obj([
                f("RootVolume", rootVolume(.unsupported)),
                f("EphemeralVolume", obj([f("MountDir", .string(filePath))])),
            ]), .unsupported),
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
        f("Image", obj([f("CustomAmi", .string(id("ami", [8, 17])))]), .unsupported),
    ])

    static let computeResource = obj(
        [
            f("Name", str, required: true, .unsupported),
            f("InstanceType", str, .computeFleetStop),
            f("Instances", .list(obj([f("InstanceType", str, required: true)]), min: 1, key: "InstanceType"), .computeFleetStopOnRemove),
            f("MinCount", .integer(min: 0), .resizeUpdateStrategyOnRemove),
            f("MaxCount", .integer(min: 1), .maxCount),
            f("SpotPrice", .number(min: 0), .queueUpdateStrategy),
            f("Efa", obj([f("Enabled", bool), f("GdrSupport", bool)]), .queueUpdateStrategy),
            f("DisableSimultaneousMultithreading", bool, .computeFleetStop),
            f("SchedulableMemory", .integer(min: 1), .queueUpdateStrategy),
            f("CapacityReservationTarget", capacityReservationTarget, .queueUpdateStrategy),
            f("Networking", obj([f("PlacementGroup", placementGroup)]), .managedPlacementGroup),
            f("HealthChecks", healthChecks, .supported),
            f("CustomSlurmSettings", .freeMapping, .supported),
            f("Tags", tags(.queueUpdateStrategy), .queueUpdateStrategy),
            f("StaticNodePriority", .integer(min: 1, max: 4_294_967_295), .supported),
            f("DynamicNodePriority", .integer(min: 1, max: 4_294_967_295), .supported),
            f(
                "LaunchTemplateOverrides", obj([f("LaunchTemplateId", str, required: true), f("Version", .integer(min: 1), required: true)]),
                .queueUpdateStrategy),
        ], exclusive: [["InstanceType", "Instances"]], oneRequired: [["InstanceType", "Instances"]])

    static let slurmQueue = obj([
        f("Name", str, required: true, .unsupported),
        f("CapacityType", .enumeration(["ONDEMAND", "SPOT", "CAPACITY_BLOCK"]), .queueUpdateStrategy),
        f(
            "AllocationStrategy",
            .enumeration(["lowest-price", "capacity-optimized", "price-capacity-optimized", "prioritized", "capacity-optimized-prioritized"]),
            .queueUpdateStrategy),
        f(
            "ComputeSettings",
            obj([
                f(
                    "LocalStorage",
                    obj([
                        f("RootVolume", rootVolume(.queueUpdateStrategy)),
                        f("EphemeralVolume", obj([f("MountDir", .string(filePath))])),
                    ]))
            ]), .queueUpdateStrategy),
        f(
            "CustomActions", obj([f("OnNodeStart", customAction(.queueUpdateStrategy)), f("OnNodeConfigured", customAction(.queueUpdateStrategy))]),
            .queueUpdateStrategy),
        f("Iam", iam(instanceProfilePolicy: .computeFleetStop, withS3: true), .supported),
        f("Image", obj([f("CustomAmi", .string(id("ami", [8, 17])))]), .queueUpdateStrategy),
        f("CapacityReservationTarget", capacityReservationTarget, .queueUpdateStrategy),
        f(
            "Networking",
            obj(
                [
                    f("SubnetIds", strings(min: 1, id("subnet", [8, 17])), .managedFsx),
                    f("AssignPublicIp", bool, .unsupported),
                    f("PlacementGroup", placementGroup, .managedPlacementGroup),
                    f("Proxy", proxy(.queueUpdateStrategy)),
                    f("SecurityGroups", strings(max: 5, id("sg", [8, 17])), .supported),
                    f("AdditionalSecurityGroups", strings(max: 5, id("sg", [8, 17])), .supported),
                ], exclusive: [["SecurityGroups", "AdditionalSecurityGroups"]]), required: true, .queueUpdateStrategy),
        f("ComputeResources", .list(computeResource, min: 1, key: "Name"), required: true, .resizeUpdateStrategyOnRemove),
        f("HealthChecks", healthChecks, .supported),
        f("CustomSlurmSettings", .freeMapping, .supported),
        f("Tags", tags(.queueUpdateStrategy), .queueUpdateStrategy),
        f("JobExclusiveAllocation", bool, .supported),
    ])

    static let slurmSettings = obj(
        [
            f("ScaledownIdletime", .integer(min: -1), .computeFleetStop),
            f("Dns", obj([f("DisableManagedDns", bool), f("HostedZoneId", str), f("UseEc2Hostnames", bool)]), .unsupported),
            f("QueueUpdateStrategy", .enumeration(["COMPUTE_FLEET_STOP", "DRAIN", "TERMINATE"]), .ignored),
            f("EnableMemoryBasedScheduling", bool, .computeFleetStop),
            f(
                "Database",
                obj([
                    f("Uri", str, required: true), f("UserName", str, required: true),
                    f("PasswordSecretArn", .string(arn(":secret", "Secrets Manager secret")), required: true),
                    f(
                        "DatabaseName",
                        .string({ s in
                            s.count >= 1 && s.count <= 64 && s.allSatisfy({ ("a"..."z").contains($0) || ($0.isASCII && $0.isNumber) || $0 == "_" })
                                ? nil
                                : "'\(s)' must be 1-64 lowercase letters, digits or '_'"
                        }), .supported),
                ]), .computeFleetStop),
            f("ExternalSlurmdbd", obj([f("Host", str, required: true), f("Port", .integer(min: 1, max: 65535))]), .supported),
            f("CustomSlurmSettings", .list(.freeMapping), .supported),
            f("CustomSlurmSettingsIncludeFile", str, .supported),
            f("MungeKeySecretArn", .string(arn(":secret", "Secrets Manager secret")), .computeAndLoginNodesStop),
        ], exclusive: [["Database", "ExternalSlurmdbd"], ["CustomSlurmSettings", "CustomSlurmSettingsIncludeFile"]])

    static let scheduling = obj([
        f("Scheduler", .string(scheduler), required: true, .unsupported),
        f("ScalingStrategy", .enumeration(["all-or-nothing", "best-effort", "greedy-all-or-nothing"]), .supported),
        f("SlurmSettings", slurmSettings, .ignored),
        f("SlurmQueues", .list(slurmQueue, min: 1, key: "Name"), required: true, .resizeUpdateStrategyOnRemove),
    ])

    static let dataRepositoryAssociation = obj([
        f("Name", str, required: true, .unsupported),
        f("BatchImportMetaDataOnCreate", bool, .unsupported),
        f("DataRepositoryPath", .string(s3Uri), required: true, .unsupported),
        f(
            "FileSystemPath",
            .string({ s in
                s.hasPrefix("/") && s.count <= 4096 && !s.contains(where: { "\r\n\0\u{85}\u{2028}\u{2029}".contains($0) })
                    ? nil
                    : "'\(s)' must be an absolute path (starting with '/') of at most 4096 characters"
            }), required: true, .unsupported),
        f("ImportedFileChunkSize", .integer(min: 1, max: 512_000), .supported),
        f("AutoExportPolicy", .list(.enumeration(s3Events), max: 3), .supported),
        f("AutoImportPolicy", .list(.enumeration(s3Events), max: 3), .supported),
    ])

    static let fsxLustreSettings = obj([
        f("StorageCapacity", .integer(min: 1), .unsupported),
        f("DeploymentType", .enumeration(["SCRATCH_1", "SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2"]), .unsupported),
        f("ImportedFileChunkSize", .integer(min: 1, max: 512_000), .unsupported),
        f("ExportPath", .string(s3Uri), .unsupported),
        f("ImportPath", .string(s3Uri), .unsupported),
        f("WeeklyMaintenanceStartTime", .string(weeklyTime), .supported),
        f("AutomaticBackupRetentionDays", .integer(min: 0, max: 90), .supported),
        f("CopyTagsToBackups", bool, .unsupported),
        f("DailyAutomaticBackupStartTime", .string(dailyTime), .supported),
        f("PerUnitStorageThroughput", .integer(allowed: [12, 40, 50, 100, 125, 200, 250, 500, 1000]), .unsupported),
        f(
            "BackupId",
            .string({ s in
                s.hasPrefix("backup-") && s.count >= 15 && s.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase })
                    ? nil
                    : "'\(s)' is not a backup id (backup- followed by at least 8 hex digits)"
            }), .unsupported),
        f("KmsKeyId", str, .unsupported),
        f("FileSystemId", .string(id("fs", [17])), .unsupported),
        f("AutoImportPolicy", .enumeration(["NEW", "NEW_CHANGED", "NEW_CHANGED_DELETED"]), .unsupported),
        f("DriveCacheType", .enumeration(["READ"]), .unsupported),
        f("DataCompressionType", .enumeration(["LZ4"]), .supported),
        f("StorageType", .enumeration(["HDD", "SSD"]), .unsupported),
        f("DeletionPolicy", .enumeration(deletionPolicies), .supported),
        f("DataRepositoryAssociations", .list(dataRepositoryAssociation, max: 8, key: "Name"), .supported),
    ])

    static let sharedStorage = obj([
        f("MountDir", .string(filePath), required: true, .sharedStorageUpdatePolicy),
        f("Name", .string(), required: true, .unsupported),
        f("StorageType", .enumeration(["Ebs", "FsxLustre", "FsxOpenZfs", "FsxOntap", "Efs", "FileCache"]), required: true, .unsupported),
        f(
            "EbsSettings",
            obj([
                f("VolumeType", .enumeration(["gp2", "gp3", "io1", "io2", "sc1", "st1", "standard"]), .unsupported),
                f("Iops", .integer(min: 0), .supported), f("Size", .integer(min: 1), .unsupported),
                f("KmsKeyId", str, .unsupported), f("Throughput", .integer(min: 0), .supported),
                f("Encrypted", bool, .unsupported), f("SnapshotId", .string(id("snap", [8, 17])), .unsupported),
                f("VolumeId", .string(id("vol", [8, 17])), .unsupported),
                f(
                    "Raid", obj([f("Type", .integer(allowed: [0, 1]), required: true), f("NumberOfVolumes", .integer(min: 2, max: 5))]), .unsupported),
                f("DeletionPolicy", .enumeration(deletionPolicies + ["Snapshot"]), .supported),
            ]), .ignored),
        f(
            "EfsSettings",
            obj([
                f("Encrypted", bool, .unsupported), f("KmsKeyId", str, .unsupported),
                f("PerformanceMode", .enumeration(["generalPurpose", "maxIO"]), .unsupported),
                f("ThroughputMode", .enumeration(["provisioned", "bursting"]), .supported),
                f("ProvisionedThroughput", .integer(min: 1, max: 1024), .supported),
                f("FileSystemId", .string(id("fs", [8, 17])), .unsupported),
                f("DeletionPolicy", .enumeration(deletionPolicies), .supported),
                f("AccessPointId", .string(id("fsap", [17])), .unsupported),
                f("EncryptionInTransit", bool, .unsupported), f("IamAuthorization", bool, .unsupported),
            ]), .ignored),
        f("FsxLustreSettings", fsxLustreSettings, .ignored),
        f("FsxOpenZfsSettings", obj([f("VolumeId", .string(id("fsvol", [17])), required: true)]), .unsupported),
        f("FsxOntapSettings", obj([f("VolumeId", .string(id("fsvol", [17])), required: true)]), .unsupported),
        f("FileCacheSettings", obj([f("FileCacheId", .string(id("fc", [17])), required: true)]), .unsupported),
    ])

    static let loginNodes = obj([
        f(
            "Pools",
            .list(
                obj([
                    f("Name", str, required: true), f("InstanceType", str, required: true),
                    f("Image", obj([f("CustomAmi", .string(id("ami", [8, 17])))])),
                    f(
                        "Networking",
                        obj(
                            [
                                f("SubnetIds", strings(min: 1, max: 1, id("subnet", [8, 17]))),
                                f("SecurityGroups", strings(max: 5, id("sg", [8, 17]))),
                                f("AdditionalSecurityGroups", strings(max: 5, id("sg", [8, 17]))),
                                f("Proxy", proxy(.loginNodesPoolStop)),
                            ], exclusive: [["SecurityGroups", "AdditionalSecurityGroups"]]), required: true),
                    f("Count", .integer(min: 0, max: 3000), .supported),
                    f("Dcv", dcv, .unsupported),
                    f("Ssh", obj([f("KeyName", str), f("AllowedIps", .string(cidrOrPrefixList))])),
                    f(
                        "CustomActions",
                        obj([
                            f("OnNodeStart", customAction(.unsupported)), f("OnNodeConfigured", customAction(.unsupported)),
                            f("OnNodeUpdated", customAction(.supported)),
                        ]), .ignored),
                    f("Iam", iam(instanceProfilePolicy: .loginNodesPoolStop, withS3: false)),
                    f("GracetimePeriod", .integer(min: 3, max: 120), .supported),
                ]), min: 1, max: 10, key: "Name"), .loginNodesPoolStop)
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
        f("PasswordSecretArn", .string(arn(":", "secret")), required: true),
        f("DomainReadOnlyUser", str, required: true), f("LdapTlsCaCert", str),
        f("LdapTlsReqCert", .enumeration(["never", "allow", "try", "demand", "hard"])),
        f("LdapAccessFilter", str), f("GenerateSshKeysForUsers", bool), f("AdditionalSssdConfigs", .freeMapping),
    ])

    static let devSettings = obj([
        f("ClusterTemplate", str), f("InstanceTypesData", str), f("NodePackage", str), f("AwsBatchCliPackage", str),
        f("Cookbook", obj([f("ChefCookbook", str), f("ExtraChefAttributes", str)]), .ignored),
        f("AmiSearchFilters", obj([f("Tags", tags(.unsupported)), f("Owner", str), f("NamePrefix", str)]), .unsupported),
        f(
            "Timeouts",
            obj([
                f("HeadNodeBootstrapTimeout", .integer(min: 1), .unsupported), f("ComputeNodeBootstrapTimeout", .integer(min: 1)),
                f("ComputeInstanceInfoTimeout", .integer(min: 1)),
            ])),
        f("ComputeStartupTimeMetricEnabled", bool), f("EfaInterfaceType", str, .queueUpdateStrategy),
    ])

    public static let cluster = ObjectSchema([
        f("Region", str, .unsupported),
        f("Image", image, required: true, .unsupported),
        f("HeadNode", headNode, required: true, .supported),
        f("Scheduling", scheduling, required: true, .unsupported),
        f("SharedStorage", .list(sharedStorage, key: "Name"), .sharedStorageUpdatePolicy),
        f("LoginNodes", loginNodes, .loginNodesStop),
        f("Monitoring", monitoring, .ignored),
        f("AdditionalPackages", obj([f("IntelSoftware", obj([f("IntelHpcPlatform", bool)]))]), .unsupported),
        f("Tags", tags(.supported), .supported),
        f(
            "Iam",
            obj([
                f("Roles", obj([f("LambdaFunctionsRole", .string(arn(":role/", "IAM role")))]), .supported),
                f("PermissionsBoundary", .string(arn(":policy/", "IAM policy")), .supported),
                f("ResourcePrefix", str, .unsupported),
            ]), .ignored),
        f("DirectoryService", directoryService, .computeAndLoginNodesStop),
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
                        f("SecurityGroupIds", strings(min: 1, max: 5), required: true),
                        f("SubnetIds", strings(min: 1, max: 16), required: true),
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
