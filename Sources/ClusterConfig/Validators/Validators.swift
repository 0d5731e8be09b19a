/// The validators that need only the file and the instance-type catalogue. Validators that must
/// ask the cloud (does the subnet, key pair, AMI, bucket or KMS key exist) belong to the AWS provider.
public enum Validators {
    public static let all: [Validator] = [
        clusterName, region, deprecatedOs, name, duplicateName, maxCount, computeResourceSize, instanceType,
        instanceArchitectureCompatibility, instancesCPU, instancesEFA, efa, efaPlacementGroup, efaMultiAz,
        placementGroupNaming, keyPair, allowedIps, imdsSecured, dcv, headNodeMemorySize, queueSubnets,
        schedulableMemory, slurmNodePriorities, customSlurmSettings, capacityType, duplicateMountDir,
        overlappingMountDir, sharedStorageName, sharedStorageMountDir, numberOfStorage, fsxS3, fsxDra,
        fsxStorageCapacity, fsxPersistentOptions, fsxBackupOptions, deletionPolicy, ebsVolumeTypeSize,
        ebsVolumeIops, rootVolumeSize, additionalIamPolicy, tagKey, url, s3BucketUri, externalSlurmdbdVsDatabase,
        customSlurmSettingsIncludeFileOnly, databaseUri,
    ]

    public static var names: [String] { all.map(\.name) }

    /// Validators of ours the original does not have, whose findings are advice: they are reported, but at no
    /// `--validation-failure-level` do they refuse a config the original would accept.
    public static let advisory: Set<String> = ["DeprecatedOsValidator", "AllowedIpsValidator", "ImdsSecuredValidator"]

    public static let knownRegions: Set<String> = [
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-south-2",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1",
        "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-gov-east-1", "us-gov-west-1",
    ]

    static func forEachComputeResource(
        _ c: ValidationContext, _ body: (ClusterConfiguration.SlurmQueue, ClusterConfiguration.ComputeResource) -> Void
    ) {
        for q in c.config.scheduling.queues { for cr in q.computeResources { body(q, cr) } }
    }

    static func isValidQueueName(_ s: String) -> Bool {
        guard let first = s.first, ("a"..."z").contains(first) else { return false }
        return s.allSatisfy { ("a"..."z").contains($0) || ($0.isASCII && $0.isNumber) || $0 == "-" }
    }
}
