/// The cluster configuration as typed values, read from a document that passed the schema check.
/// Defaults are the original's. Every part keeps its `path` so findings can point into the file.
public struct ClusterConfiguration: Sendable {
    public var region: String?
    public var os: String
    public var customAmi: String?
    public var headNode: HeadNode
    public var scheduling: Scheduling
    public var sharedStorage: [SharedStorage]
    public var loginNodePools: [LoginNodePool]
    public var tags: [Tag]
    public var imdsSupport: String
    public var customS3Bucket: String?
    public var directoryServiceDomain: String?
    /// The whole document, for sections read directly (DevSettings, Monitoring...).
    public var document: ConfigNode

    public struct Tag: Sendable, Hashable { public var key: String; public var value: String; public var path: ConfigPath }

    public struct CustomAction: Sendable, Hashable { public var script: String; public var args: [String]; public var path: ConfigPath }

    public struct RootVolume: Sendable, Hashable {
        public var size: Int?
        public var volumeType: String?
        public var iops: Int?
        public var throughput: Int?
        public var encrypted: Bool?
        public var path: ConfigPath
    }

    public struct PlacementGroup: Sendable, Hashable {
        public var enabled: Bool?
        public var id: String?
        public var name: String?
        public var path: ConfigPath
    }

    public struct HeadNode: Sendable {
        public var instanceType: String
        public var subnetId: String
        public var securityGroups: [String]
        public var additionalSecurityGroups: [String]
        public var keyName: String?
        public var sshAllowedIps: String?
        public var dcvEnabled: Bool
        public var dcvPort: Int
        public var dcvAllowedIps: String
        public var imdsSecured: Bool
        public var disableSimultaneousMultithreading: Bool
        public var rootVolume: RootVolume?
        public var ephemeralMountDir: String?
        public var additionalIamPolicies: [(arn: String, path: ConfigPath)]
        public var customActions: [CustomAction]
        public var path: ConfigPath
    }

    public struct Scheduling: Sendable {
        public var scheduler: String
        public var scalingStrategy: String
        public var scaledownIdletime: Int
        public var queueUpdateStrategy: String
        public var enableMemoryBasedScheduling: Bool
        public var customSlurmSettings: [[(key: String, value: String)]]
        public var customSlurmSettingsIncludeFile: String?
        public var database: SlurmDatabase?
        public var hasDatabase: Bool { database != nil }
        public var hasExternalSlurmdbd: Bool
        public var queues: [SlurmQueue]
        public var path: ConfigPath
    }

    /// `SlurmSettings.Database`: the MySQL/MariaDB that the cluster's slurmdbd keeps Slurm's accounting in.
    public struct SlurmDatabase: Sendable {
        /// `host:port` (no scheme), as the original takes it.
        public var uri: String
        public var userName: String
        public var passwordSecretArn: String
        /// nil: the original's default, the cluster's name (slurm_acct_db by Slurm's own default is not used).
        public var databaseName: String?
        public var path: ConfigPath
    }

    public struct SlurmQueue: Sendable {
        public var name: String
        public var capacityType: String
        public var allocationStrategy: String?
        public var subnetIds: [String]
        public var placementGroup: PlacementGroup?
        public var securityGroups: [String]
        public var additionalSecurityGroups: [String]
        public var computeResources: [ComputeResource]
        public var customSlurmSettings: [(key: String, value: String)]
        public var jobExclusiveAllocation: Bool
        public var rootVolume: RootVolume?
        public var customActions: [CustomAction]
        public var additionalIamPolicies: [(arn: String, path: ConfigPath)]
        public var tags: [Tag]
        public var path: ConfigPath
    }

    public struct ComputeResource: Sendable {
        public var name: String
        /// `InstanceType`, or the list under `Instances`.
        public var instanceTypes: [String]
        public var usesInstancesList: Bool
        public var minCount: Int
        public var maxCount: Int
        public var spotPrice: Double?
        public var efaEnabled: Bool
        public var efaConfigured: Bool
        public var gdrSupport: Bool
        public var disableSimultaneousMultithreading: Bool
        public var schedulableMemory: Int?
        public var placementGroup: PlacementGroup?
        public var hasCapacityReservation: Bool
        public var staticNodePriority: Int
        public var dynamicNodePriority: Int
        public var customSlurmSettings: [(key: String, value: String)]
        public var tags: [Tag]
        public var path: ConfigPath

        public var dynamicCount: Int { max(0, maxCount - minCount) }
    }

    public struct DataRepositoryAssociation: Sendable, Hashable {
        public var name: String
        public var dataRepositoryPath: String
        public var fileSystemPath: String
        public var batchImportMetaDataOnCreate: Bool
        public var importedFileChunkSize: Int
        public var autoExportPolicy: [String]
        public var autoImportPolicy: [String]
        public var path: ConfigPath
    }

    public struct FsxLustreSettings: Sendable {
        public var fileSystemId: String?
        public var storageCapacity: Int?
        public var deploymentType: String
        public var storageType: String
        public var perUnitStorageThroughput: Int?
        public var importPath: String?
        public var exportPath: String?
        public var importedFileChunkSize: Int?
        public var autoImportPolicy: String?
        public var driveCacheType: String?
        public var backupId: String?
        public var automaticBackupRetentionDays: Int?
        public var dailyAutomaticBackupStartTime: String?
        public var copyTagsToBackups: Bool?
        public var deletionPolicy: String
        public var dataRepositoryAssociations: [DataRepositoryAssociation]
        public var path: ConfigPath
    }

    public struct EbsSettings: Sendable {
        public var volumeType: String
        public var size: Int?
        public var iops: Int?
        public var throughput: Int?
        public var volumeId: String?
        public var snapshotId: String?
        public var raidType: Int?
        public var deletionPolicy: String
        public var path: ConfigPath
    }

    public struct SharedStorage: Sendable {
        public var name: String
        public var storageType: String
        public var mountDir: String
        public var ebs: EbsSettings?
        public var efsFileSystemId: String?
        public var efsDeletionPolicy: String?
        public var fsxLustre: FsxLustreSettings?
        public var path: ConfigPath

        /// True when the storage already exists and the cluster only mounts it.
        public var isExisting: Bool {
            switch storageType {
            case "Ebs": return ebs?.volumeId != nil
            case "Efs": return efsFileSystemId != nil
            case "FsxLustre": return fsxLustre?.fileSystemId != nil
            default: return true  // Ontap, OpenZfs and File Cache volumes are always existing ones
            }
        }
    }

    public struct LoginNodePool: Sendable {
        public var name: String
        public var instanceType: String
        public var count: Int
        public var sshAllowedIps: String?
        public var path: ConfigPath
        public var subnetIds: [String] = []
        public var securityGroups: [String] = []
        public var additionalSecurityGroups: [String] = []
        public var customAmi: String?
        public var additionalIamPolicies: [(arn: String, path: ConfigPath)] = []
        /// Minutes a terminating login node waits before it goes (the original's default is 10).
        public var gracetimePeriod: Int = 10
    }
}

// MARK: - Reading the model from a checked document

extension ClusterConfiguration {
    /// Builds the model. Reading never fails: a value that is absent or of the wrong shape reads
    /// as its default (the schema checker reports the shape problem separately).
    public init(checked doc: ConfigDocument) {
        let root = doc.root
        let r = ConfigPath.root
        region = root["Region"]?.string
        os = root["Image"]?["Os"]?.string ?? ""
        customAmi = root["Image"]?["CustomAmi"]?.string
        headNode = Self.readHeadNode(root["HeadNode"], r / "HeadNode")
        scheduling = Self.readScheduling(root["Scheduling"], r / "Scheduling")
        sharedStorage = Self.items(root["SharedStorage"]).enumerated().map { Self.readStorage($1, r / "SharedStorage" / $0) }
        loginNodePools = Self.items(root["LoginNodes"]?["Pools"]).enumerated().map { i, n in
            LoginNodePool(
                name: n["Name"]?.string ?? "", instanceType: n["InstanceType"]?.string ?? "",
                count: n["Count"]?.int ?? 1, sshAllowedIps: n["Ssh"]?["AllowedIps"]?.string,
                path: r / "LoginNodes" / "Pools" / i, subnetIds: Self.strings(n["Networking"]?["SubnetIds"]),
                securityGroups: Self.strings(n["Networking"]?["SecurityGroups"]),
                additionalSecurityGroups: Self.strings(n["Networking"]?["AdditionalSecurityGroups"]),
                customAmi: n["Image"]?["CustomAmi"]?.string,
                additionalIamPolicies: Self.readPolicies(n["Iam"], r / "LoginNodes" / "Pools" / i / "Iam"),
                gracetimePeriod: n["GracetimePeriod"]?.int ?? 10)
        }
        tags = Self.readTags(root["Tags"], r / "Tags")
        imdsSupport = root["Imds"]?["ImdsSupport"]?.string ?? "v2.0"
        customS3Bucket = root["CustomS3Bucket"]?.string
        directoryServiceDomain = root["DirectoryService"]?["DomainName"]?.string
        document = root
    }

    static func items(_ node: ConfigNode?) -> [ConfigNode] { node?.sequence?.items ?? [] }
    static func strings(_ node: ConfigNode?) -> [String] { items(node).compactMap(\.string) }

    static func readTags(_ node: ConfigNode?, _ path: ConfigPath) -> [Tag] {
        items(node).enumerated().map { i, n in Tag(key: n["Key"]?.string ?? "", value: n["Value"]?.string ?? "", path: path / i) }
    }

    static func readSettings(_ node: ConfigNode?) -> [(key: String, value: String)] {
        (node?.mapping?.entries ?? []).map { ($0.key, $0.value.string ?? "") }
    }

    static func readPolicies(_ node: ConfigNode?, _ path: ConfigPath) -> [(arn: String, path: ConfigPath)] {
        items(node?["AdditionalIamPolicies"]).enumerated().map { i, n in
            (n["Policy"]?.string ?? "", path / "AdditionalIamPolicies" / i / "Policy")
        }
    }

    static func readActions(_ node: ConfigNode?, _ path: ConfigPath) -> [CustomAction] {
        var out: [CustomAction] = []
        for event in ["OnNodeStart", "OnNodeConfigured", "OnNodeUpdated"] {
            guard let n = node?[event] else { continue }
            if let seq = n["Sequence"]?.sequence {
                for (i, item) in seq.items.enumerated() {
                    out.append(
                        CustomAction(
                            script: item["Script"]?.string ?? "", args: strings(item["Args"]), path: path / event / "Sequence" / i / "Script"))
                }
            } else {
                out.append(CustomAction(script: n["Script"]?.string ?? "", args: strings(n["Args"]), path: path / event / "Script"))
            }
        }
        return out
    }

    static func readRootVolume(_ node: ConfigNode?, _ path: ConfigPath) -> RootVolume? {
        guard let node else { return nil }
        return RootVolume(
            size: node["Size"]?.int, volumeType: node["VolumeType"]?.string, iops: node["Iops"]?.int,
            throughput: node["Throughput"]?.int, encrypted: node["Encrypted"]?.bool, path: path)
    }

    static func readPlacementGroup(_ node: ConfigNode?, _ path: ConfigPath) -> PlacementGroup? {
        guard let node else { return nil }
        return PlacementGroup(enabled: node["Enabled"]?.bool, id: node["Id"]?.string, name: node["Name"]?.string, path: path)
    }

    static func readHeadNode(_ n: ConfigNode?, _ p: ConfigPath) -> HeadNode {
        let dcv = n?["Dcv"]
        return HeadNode(
            instanceType: n?["InstanceType"]?.string ?? "",
            subnetId: n?["Networking"]?["SubnetId"]?.string ?? "",
            securityGroups: strings(n?["Networking"]?["SecurityGroups"]),
            additionalSecurityGroups: strings(n?["Networking"]?["AdditionalSecurityGroups"]),
            keyName: n?["Ssh"]?["KeyName"]?.string,
            sshAllowedIps: n?["Ssh"]?["AllowedIps"]?.string,
            dcvEnabled: dcv?["Enabled"]?.bool ?? false,
            dcvPort: dcv?["Port"]?.int ?? 8443,
            dcvAllowedIps: dcv?["AllowedIps"]?.string ?? "0.0.0.0/0",
            imdsSecured: n?["Imds"]?["Secured"]?.bool ?? true,
            disableSimultaneousMultithreading: n?["DisableSimultaneousMultithreading"]?.bool ?? false,
            rootVolume: readRootVolume(n?["LocalStorage"]?["RootVolume"], p / "LocalStorage" / "RootVolume"),
            ephemeralMountDir: n?["LocalStorage"]?["EphemeralVolume"]?["MountDir"]?.string,
            additionalIamPolicies: readPolicies(n?["Iam"], p / "Iam"),
            customActions: readActions(n?["CustomActions"], p / "CustomActions"),
            path: p)
    }

    static func readScheduling(_ n: ConfigNode?, _ p: ConfigPath) -> Scheduling {
        let s = n?["SlurmSettings"]
        return Scheduling(
            scheduler: n?["Scheduler"]?.string ?? "slurm",
            scalingStrategy: n?["ScalingStrategy"]?.string ?? "all-or-nothing",
            scaledownIdletime: s?["ScaledownIdletime"]?.int ?? 10,
            queueUpdateStrategy: s?["QueueUpdateStrategy"]?.string ?? "COMPUTE_FLEET_STOP",
            enableMemoryBasedScheduling: s?["EnableMemoryBasedScheduling"]?.bool ?? false,
            customSlurmSettings: items(s?["CustomSlurmSettings"]).map { readSettings($0) },
            customSlurmSettingsIncludeFile: s?["CustomSlurmSettingsIncludeFile"]?.string,
            database: s?["Database"].map { db in
                SlurmDatabase(
                    uri: db["Uri"]?.string ?? "", userName: db["UserName"]?.string ?? "",
                    passwordSecretArn: db["PasswordSecretArn"]?.string ?? "", databaseName: db["DatabaseName"]?.string,
                    path: p / "SlurmSettings" / "Database")
            },
            hasExternalSlurmdbd: s?["ExternalSlurmdbd"] != nil,
            queues: items(n?["SlurmQueues"]).enumerated().map { readQueue($1, p / "SlurmQueues" / $0) },
            path: p)
    }

    static func readQueue(_ n: ConfigNode, _ p: ConfigPath) -> SlurmQueue {
        let net = n["Networking"]
        return SlurmQueue(
            name: n["Name"]?.string ?? "",
            capacityType: n["CapacityType"]?.string ?? "ONDEMAND",
            allocationStrategy: n["AllocationStrategy"]?.string,
            subnetIds: strings(net?["SubnetIds"]),
            placementGroup: readPlacementGroup(net?["PlacementGroup"], p / "Networking" / "PlacementGroup"),
            securityGroups: strings(net?["SecurityGroups"]),
            additionalSecurityGroups: strings(net?["AdditionalSecurityGroups"]),
            computeResources: items(n["ComputeResources"]).enumerated().map { readComputeResource($1, p / "ComputeResources" / $0) },
            customSlurmSettings: readSettings(n["CustomSlurmSettings"]),
            jobExclusiveAllocation: n["JobExclusiveAllocation"]?.bool ?? false,
            rootVolume: readRootVolume(n["ComputeSettings"]?["LocalStorage"]?["RootVolume"], p / "ComputeSettings" / "LocalStorage" / "RootVolume"),
            customActions: readActions(n["CustomActions"], p / "CustomActions"),
            additionalIamPolicies: readPolicies(n["Iam"], p / "Iam"),
            tags: readTags(n["Tags"], p / "Tags"),
            path: p)
    }

    static func readComputeResource(_ n: ConfigNode, _ p: ConfigPath) -> ComputeResource {
        let list = items(n["Instances"]).compactMap { $0["InstanceType"]?.string }
        let efa = n["Efa"]
        return ComputeResource(
            name: n["Name"]?.string ?? "",
            instanceTypes: n["InstanceType"]?.string.map { [$0] } ?? list,
            usesInstancesList: n["Instances"] != nil,
            minCount: n["MinCount"]?.int ?? 0,
            maxCount: n["MaxCount"]?.int ?? 10,
            spotPrice: n["SpotPrice"]?.double,
            efaEnabled: efa?["Enabled"]?.bool ?? false,
            efaConfigured: efa?["Enabled"] != nil,
            gdrSupport: efa?["GdrSupport"]?.bool ?? false,
            disableSimultaneousMultithreading: n["DisableSimultaneousMultithreading"]?.bool ?? false,
            schedulableMemory: n["SchedulableMemory"]?.int,
            placementGroup: readPlacementGroup(n["Networking"]?["PlacementGroup"], p / "Networking" / "PlacementGroup"),
            hasCapacityReservation: n["CapacityReservationTarget"] != nil,
            staticNodePriority: n["StaticNodePriority"]?.int ?? 1,
            dynamicNodePriority: n["DynamicNodePriority"]?.int ?? 1000,
            customSlurmSettings: readSettings(n["CustomSlurmSettings"]),
            tags: readTags(n["Tags"], p / "Tags"),
            path: p)
    }

    static func readStorage(_ n: ConfigNode, _ p: ConfigPath) -> SharedStorage {
        var s = SharedStorage(
            name: n["Name"]?.string ?? "", storageType: n["StorageType"]?.string ?? "",
            mountDir: n["MountDir"]?.string ?? "", path: p)
        if let e = n["EbsSettings"] ?? (s.storageType == "Ebs" ? ConfigNode.mapping(.init(entries: [], mark: n.mark)) : nil) {
            s.ebs = EbsSettings(
                volumeType: e["VolumeType"]?.string ?? "gp3", size: e["Size"]?.int, iops: e["Iops"]?.int,
                throughput: e["Throughput"]?.int, volumeId: e["VolumeId"]?.string, snapshotId: e["SnapshotId"]?.string,
                raidType: e["Raid"]?["Type"]?.int, deletionPolicy: e["DeletionPolicy"]?.string ?? "Delete",
                path: p / "EbsSettings")
        }
        s.efsFileSystemId = n["EfsSettings"]?["FileSystemId"]?.string
        s.efsDeletionPolicy = n["EfsSettings"]?["DeletionPolicy"]?.string
        if let f = n["FsxLustreSettings"] ?? (s.storageType == "FsxLustre" ? ConfigNode.mapping(.init(entries: [], mark: n.mark)) : nil) {
            let fp = p / "FsxLustreSettings"
            s.fsxLustre = FsxLustreSettings(
                fileSystemId: f["FileSystemId"]?.string, storageCapacity: f["StorageCapacity"]?.int,
                deploymentType: f["DeploymentType"]?.string ?? "SCRATCH_2", storageType: f["StorageType"]?.string ?? "SSD",
                perUnitStorageThroughput: f["PerUnitStorageThroughput"]?.int, importPath: f["ImportPath"]?.string,
                exportPath: f["ExportPath"]?.string, importedFileChunkSize: f["ImportedFileChunkSize"]?.int,
                autoImportPolicy: f["AutoImportPolicy"]?.string, driveCacheType: f["DriveCacheType"]?.string,
                backupId: f["BackupId"]?.string, automaticBackupRetentionDays: f["AutomaticBackupRetentionDays"]?.int,
                dailyAutomaticBackupStartTime: f["DailyAutomaticBackupStartTime"]?.string, copyTagsToBackups: f["CopyTagsToBackups"]?.bool,
                deletionPolicy: f["DeletionPolicy"]?.string ?? "Delete",
                dataRepositoryAssociations: items(f["DataRepositoryAssociations"]).enumerated().map { i, d in
                    DataRepositoryAssociation(
                        name: d["Name"]?.string ?? "", dataRepositoryPath: d["DataRepositoryPath"]?.string ?? "",
                        fileSystemPath: d["FileSystemPath"]?.string ?? "",
                        batchImportMetaDataOnCreate: d["BatchImportMetaDataOnCreate"]?.bool ?? false,
                        importedFileChunkSize: d["ImportedFileChunkSize"]?.int ?? 1024,
                        autoExportPolicy: strings(d["AutoExportPolicy"]), autoImportPolicy: strings(d["AutoImportPolicy"]),
                        path: fp / "DataRepositoryAssociations" / i)
                },
                path: fp)
        }
        return s
    }
}
