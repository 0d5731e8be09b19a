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
        ebsVolumeIops, rootVolumeSize, additionalIamPolicy, tagKey, url,
    ]

    public static var names: [String] { all.map(\.name) }

    static let knownRegions: Set<String> = [
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-south-2",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1",
        "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-gov-east-1", "us-gov-west-1",
    ]

    static func forEachComputeResource(_ c: ValidationContext, _ body: (ClusterConfiguration.SlurmQueue, ClusterConfiguration.ComputeResource) -> Void) {
        for q in c.config.scheduling.queues { for cr in q.computeResources { body(q, cr) } }
    }

    static func isValidQueueName(_ s: String) -> Bool {
        guard let first = s.first, ("a"..."z").contains(first) else { return false }
        return s.allSatisfy { ("a"..."z").contains($0) || ($0.isASCII && $0.isNumber) || $0 == "-" }
    }

    // MARK: Names and counts

    static let clusterName = Validator("ClusterNameValidator") { c, s in
        guard let name = c.clusterName else { return }
        let limit = c.config.scheduling.hasDatabase ? 40 : 60
        let ok = name.first.map { $0.isASCII && $0.isLetter } == true
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        if !ok {
            s.add(.error, "Invalid cluster name '\(name)': it must start with a letter and contain only letters, digits and hyphens.", at: .root)
        } else if name.count > limit {
            s.add(.error, "Invalid cluster name '\(name)': at most \(limit) characters\(limit == 40 ? " when Slurm accounting is configured" : "").", at: .root)
        }
    }

    static let region = Validator("RegionValidator") { c, s in
        guard let r = c.region else { return }
        if !knownRegions.contains(r) {
            var msg = "Region '\(r)' is not a known AWS region."
            if let g = Suggest.closest(to: r, in: knownRegions.sorted()) { msg += " Did you mean '\(g)'?" }
            s.add(.error, msg, at: .root / "Region")
        }
    }

    static let deprecatedOs = Validator("DeprecatedOsValidator") { c, s in
        if let why = ClusterSchema.endOfLifeOses[c.config.os] {
            s.add(.warning, "Os '\(c.config.os)' is end of life (\(why)): it gets no security updates and the original pcluster refuses it. Consider alinux2023, ubuntu2404 or rocky9.", at: .root / "Image" / "Os")
        }
    }

    static let name = Validator("NameValidator") { c, s in
        var named: [(String, ConfigPath, String)] = []
        for q in c.config.scheduling.queues {
            named.append((q.name, q.path / "Name", "queue"))
            for cr in q.computeResources { named.append((cr.name, cr.path / "Name", "compute resource")) }
        }
        for p in c.config.loginNodePools { named.append((p.name, p.path / "Name", "login node pool")) }
        for (n, path, what) in named {
            if n == "default" {
                s.add(.error, "It is forbidden to use 'default' as a \(what) name.", at: path)
            } else if !isValidQueueName(n) {
                let hint = isValidQueueName(n.lowercased()) ? " Did you mean '\(n.lowercased())'?" : ""
                s.add(.error, "Invalid \(what) name '\(n)': it must begin with a lowercase letter and contain only lowercase letters, digits and hyphens (Slurm node names are built from it).\(hint)", at: path)
            } else if n.count > 25 {
                s.add(.error, "Invalid \(what) name '\(n)': at most 25 characters.", at: path)
            }
        }
    }

    static func duplicates<T>(_ items: [T], _ key: (T) -> String) -> [(T, String)] {
        var seen: Set<String> = []
        var out: [(T, String)] = []
        for i in items {
            let k = key(i)
            if !seen.insert(k).inserted { out.append((i, k)) }
        }
        return out
    }

    static let duplicateName = Validator("DuplicateNameValidator") { c, s in
        for (q, n) in duplicates(c.config.scheduling.queues, { $0.name }) {
            s.add(.error, "Queue name '\(n)' is used more than once; queue names must be unique.", at: q.path / "Name")
        }
        for q in c.config.scheduling.queues {
            for (cr, n) in duplicates(q.computeResources, { $0.name }) {
                s.add(.error, "Compute resource name '\(n)' is used more than once in queue '\(q.name)'.", at: cr.path / "Name")
            }
            for cr in q.computeResources where cr.usesInstancesList {
                for (_, t) in duplicates(cr.instanceTypes, { $0 }) {
                    s.add(.error, "Instance type '\(t)' is listed more than once in compute resource '\(cr.name)'.", at: cr.path / "Instances")
                }
            }
        }
        for (st, n) in duplicates(c.config.sharedStorage, { $0.name }) {
            s.add(.error, "Shared storage name '\(n)' is used more than once.", at: st.path / "Name")
        }
        for (p, n) in duplicates(c.config.loginNodePools, { $0.name }) {
            s.add(.error, "Login node pool name '\(n)' is used more than once.", at: p.path / "Name")
        }
    }

    static let maxCount = Validator("MaxCountValidator") { c, s in
        let queues = c.config.scheduling.queues
        if queues.count > 50 {
            s.add(.error, "Invalid number of queues (\(queues.count)) specified. Up to 50 queues are supported.", at: c.config.scheduling.path / "SlurmQueues")
        }
        for q in queues where q.computeResources.count > 50 {
            s.add(.error, "Invalid number of compute resources (\(q.computeResources.count)) in queue '\(q.name)'. Up to 50 per queue are supported.", at: q.path / "ComputeResources")
        }
        // The original also caps the whole cluster at 50 compute resources; that limit comes from
        // its CloudFormation template size, not from Slurm, so it is not enforced here.
    }

    static let computeResourceSize = Validator("ComputeResourceSizeValidator") { c, s in
        forEachComputeResource(c) { q, cr in
            if cr.maxCount < cr.minCount {
                s.add(.error, "MaxCount (\(cr.maxCount)) must be greater than or equal to MinCount (\(cr.minCount)) in compute resource '\(cr.name)' of queue '\(q.name)'.", at: cr.path / "MaxCount")
            }
            if q.capacityType == "CAPACITY_BLOCK" {
                if cr.minCount != cr.maxCount {
                    s.add(.error, "MaxCount must equal MinCount when using a Capacity Block reservation (compute resource '\(cr.name)').", at: cr.path / "MaxCount")
                }
                if cr.minCount == 0 {
                    s.add(.error, "MinCount must be greater than 0 when using a Capacity Block reservation (compute resource '\(cr.name)').", at: cr.path / "MinCount")
                }
            }
        }
    }

    // MARK: Instance types

    static func checkType(_ t: String, _ at: ConfigPath, _ c: ValidationContext, _ s: inout FindingSink) {
        guard c.instanceTypes.info(for: t) == nil else { return }
        var msg = "Instance type '\(t)' is not a known EC2 instance type."
        if let g = Suggest.closest(to: t, in: c.instanceTypes.allNames) { msg += " Did you mean '\(g)'?" }
        s.add(.error, msg, at: at)
    }

    static let instanceType = Validator("InstanceTypeValidator") { c, s in
        checkType(c.config.headNode.instanceType, c.config.headNode.path / "InstanceType", c, &s)
        forEachComputeResource(c) { _, cr in
            for (i, t) in cr.instanceTypes.enumerated() {
                checkType(t, cr.usesInstancesList ? cr.path / "Instances" / i / "InstanceType" : cr.path / "InstanceType", c, &s)
            }
        }
        for p in c.config.loginNodePools { checkType(p.instanceType, p.path / "InstanceType", c, &s) }
    }

    static let instanceArchitectureCompatibility = Validator("InstanceArchitectureCompatibilityValidator") { c, s in
        guard let head = c.instanceTypes.info(for: c.config.headNode.instanceType) else { return }
        forEachComputeResource(c) { _, cr in
            for t in cr.instanceTypes {
                guard let info = c.instanceTypes.info(for: t) else { continue }
                if !info.architectures.contains(head.architecture) {
                    s.add(.error, "Instance type '\(t)' (\(info.architectures.joined(separator: "/"))) does not match the head node's architecture (\(c.config.headNode.instanceType) is \(head.architecture)); all nodes must share one architecture.", at: cr.path)
                }
            }
        }
    }

    static let instancesCPU = Validator("InstancesCPUValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            let infos = cr.instanceTypes.compactMap { c.instanceTypes.info(for: $0) }
            guard infos.count > 1 else { return }
            let counts = Set(infos.map { cr.disableSimultaneousMultithreading ? $0.cores : $0.vcpus })
            if counts.count > 1 {
                let desc = infos.map { "\($0.name)=\(cr.disableSimultaneousMultithreading ? $0.cores : $0.vcpus)" }.joined(separator: ", ")
                s.add(.error, "Instance types of compute resource '\(cr.name)' must have the same number of \(cr.disableSimultaneousMultithreading ? "cores" : "vCPUs") (\(desc)): Slurm sees one node shape per compute resource.", at: cr.path / "Instances")
            }
        }
    }

    static let instancesEFA = Validator("InstancesEFAValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            guard cr.efaEnabled, cr.instanceTypes.count > 1 else { return }
            let lacking = cr.instanceTypes.filter { c.instanceTypes.info(for: $0)?.efaSupported == false }
            if !lacking.isEmpty {
                s.add(.error, "EFA is enabled on compute resource '\(cr.name)' but these instance types do not support it: \(lacking.joined(separator: ", ")).", at: cr.path / "Efa" / "Enabled")
            }
        }
    }

    static let efa = Validator("EfaValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            if cr.gdrSupport && !cr.efaEnabled {
                s.add(.error, "Efa GdrSupport can be used only when Efa is enabled (compute resource '\(cr.name)').", at: cr.path / "Efa" / "GdrSupport")
            }
            // Several instance types are InstancesEFAValidator's job.
            guard cr.instanceTypes.count == 1, let t = cr.instanceTypes.first, let info = c.instanceTypes.info(for: t) else { return }
            if cr.efaEnabled && !info.efaSupported {
                s.add(.error, "Instance type '\(t)' does not support EFA; remove Efa Enabled: true or choose an EFA-capable type (for example c6i.32xlarge or hpc7a.96xlarge).", at: cr.path / "Efa" / "Enabled")
            } else if !cr.efaEnabled && info.efaSupported {
                s.add(.warning, "Instance type '\(t)' supports EFA (Elastic Fabric Adapter) for low-latency inter-node traffic at no extra charge, but it is not enabled on compute resource '\(cr.name)'. Add Efa: {Enabled: true} to use it.", at: cr.path)
            }
        }
    }

    static let efaPlacementGroup = Validator("EfaPlacementGroupValidator") { c, s in
        forEachComputeResource(c) { q, cr in
            guard cr.efaEnabled else { return }
            let pg = cr.placementGroup ?? q.placementGroup
            let explicit = pg.map { $0.enabled != nil || $0.id != nil || $0.name != nil } ?? false
            if !explicit {
                s.add(.error, "EFA is enabled on compute resource '\(cr.name)' of queue '\(q.name)' but its placement group is not set: add Networking: PlacementGroup: Enabled: true to the queue (recommended for EFA) or Enabled: false to opt out explicitly.", at: cr.path / "Efa" / "Enabled")
            } else if pg?.enabled == false && pg?.id == nil && pg?.name == nil {
                s.add(.warning, "Placement group is disabled for EFA-enabled compute resource '\(cr.name)' in queue '\(q.name)'. This is expected with a capacity reservation that has its own placement group; otherwise enabling one may improve network performance.", at: pg!.path)
            }
        }
    }

    static let efaMultiAz = Validator("EfaMultiAzValidator") { c, s in
        for q in c.config.scheduling.queues where q.subnetIds.count > 1 {
            for cr in q.computeResources where cr.efaEnabled {
                s.add(.error, "EFA is enabled on compute resource '\(cr.name)' but queue '\(q.name)' spans \(q.subnetIds.count) subnets; EFA traffic cannot cross Availability Zones, so use one subnet.", at: q.path / "Networking" / "SubnetIds")
            }
        }
    }

    static let placementGroupNaming = Validator("PlacementGroupNamingValidator") { c, s in
        var groups: [ClusterConfiguration.PlacementGroup] = []
        for q in c.config.scheduling.queues {
            if let pg = q.placementGroup { groups.append(pg) }
            for cr in q.computeResources { if let pg = cr.placementGroup { groups.append(pg) } }
        }
        for pg in groups where pg.enabled == false && (pg.id != nil || pg.name != nil) {
            s.add(.error, "PlacementGroup Name/Id cannot be set together with Enabled: false.", at: pg.path / "Enabled")
        }
    }

    // MARK: Access and security

    static let keyPair = Validator("KeyPairValidator") { c, s in
        if c.config.headNode.keyName == nil {
            s.add(.warning, "No Ssh KeyName is set on the head node: you will not be able to SSH into it with a key pair.", at: c.config.headNode.path)
        }
    }

    static let allowedIps = Validator("AllowedIpsValidator") { c, s in
        let h = c.config.headNode
        if let ssh = h.sshAllowedIps, IPv4CIDR(ssh)?.isEverything == true {
            s.add(.warning, "Ssh AllowedIps is \(ssh): SSH on the head node is open to the whole internet. Restrict it to your network's CIDR.", at: h.path / "Ssh" / "AllowedIps")
        }
        if h.dcvEnabled, IPv4CIDR(h.dcvAllowedIps)?.isEverything == true {
            let explicit = c.document.root["HeadNode"]?["Dcv"]?["AllowedIps"] != nil
            s.add(.warning, "Dcv AllowedIps is \(h.dcvAllowedIps)\(explicit ? "" : " (the default)"): the DCV remote desktop on port \(h.dcvPort) is open to the whole internet. Restrict it to your network's CIDR.", at: explicit ? h.path / "Dcv" / "AllowedIps" : h.path / "Dcv")
        }
        for p in c.config.loginNodePools {
            if let ssh = p.sshAllowedIps, IPv4CIDR(ssh)?.isEverything == true {
                s.add(.warning, "Ssh AllowedIps is \(ssh) on login node pool '\(p.name)': open to the whole internet.", at: p.path / "Ssh" / "AllowedIps")
            }
        }
    }

    static let imdsSecured = Validator("ImdsSecuredValidator") { c, s in
        if !c.config.headNode.imdsSecured {
            s.add(.warning, "Imds Secured is false: every user on the head node can read the instance role's credentials from the instance metadata service. Leave it true unless a tool needs IMDS access.", at: c.config.headNode.path / "Imds" / "Secured")
        }
        if c.config.imdsSupport == "v1.0" {
            s.add(.warning, "ImdsSupport v1.0 allows IMDSv1, which is open to SSRF credential theft; prefer v2.0.", at: .root / "Imds" / "ImdsSupport")
        }
    }

    static let dcv = Validator("DcvValidator") { c, s in
        let h = c.config.headNode
        guard h.dcvEnabled else { return }
        if h.instanceType.contains("micro") || h.instanceType.contains("nano") {
            s.add(.warning, "DCV on '\(h.instanceType)' may make the instance unstable: the desktop packages need at least 1.7 GB of memory.", at: h.path / "InstanceType")
        }
        if let info = c.instanceTypes.info(for: h.instanceType), info.gpus == 0, ["rocky9", "rhel9"].contains(c.config.os) {
            s.add(.error, "DCV on \(c.config.os) needs a GPU instance type for the head node; '\(h.instanceType)' has none.", at: h.path / "Dcv" / "Enabled")
        }
        if h.dcvPort == 22 || h.dcvPort < 1024 && h.dcvPort != 443 {
            s.add(.warning, "Dcv Port \(h.dcvPort) is a privileged or reserved port; the default is 8443.", at: h.path / "Dcv" / "Port")
        }
    }

    static let headNodeMemorySize = Validator("HeadNodeMemorySizeValidator") { c, s in
        guard let info = c.instanceTypes.info(for: c.config.headNode.instanceType) else { return }
        if info.memoryMiB < 4096 {
            s.add(.warning, "Head node instance type '\(info.name)' has \(info.memoryMiB) MiB of memory; slurmctld, the node agent and shared storage services want at least 4 GiB.", at: c.config.headNode.path / "InstanceType")
        }
    }

    static let queueSubnets = Validator("QueueSubnetsValidator") { c, s in
        for q in c.config.scheduling.queues {
            for (_, sub) in duplicates(q.subnetIds, { $0 }) {
                s.add(.error, "Subnet '\(sub)' is listed more than once in queue '\(q.name)'.", at: q.path / "Networking" / "SubnetIds")
            }
        }
    }

    // MARK: Slurm

    static let schedulableMemory = Validator("SchedulableMemoryValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            guard let mem = cr.schedulableMemory else { return }
            for t in cr.instanceTypes {
                guard let info = c.instanceTypes.info(for: t) else { continue }
                if mem > info.memoryMiB {
                    s.add(.error, "SchedulableMemory (\(mem) MiB) is more than the memory of '\(t)' (\(info.memoryMiB) MiB).", at: cr.path / "SchedulableMemory")
                }
            }
            if !c.config.scheduling.enableMemoryBasedScheduling {
                s.add(.info, "SchedulableMemory is set on compute resource '\(cr.name)' but EnableMemoryBasedScheduling is false, so Slurm will not use it.", at: cr.path / "SchedulableMemory")
            }
        }
    }

    static let slurmNodePriorities = Validator("SlurmNodePrioritiesWarningValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            if cr.minCount > 0, cr.dynamicCount > 0, cr.staticNodePriority > cr.dynamicNodePriority {
                s.add(.warning, "StaticNodePriority (\(cr.staticNodePriority)) is higher than DynamicNodePriority (\(cr.dynamicNodePriority)) in compute resource '\(cr.name)': Slurm prefers lower weights, so dynamic nodes will be powered up while static ones sit idle.", at: cr.path / "StaticNodePriority")
            }
        }
    }

    /// Settings the cluster itself writes into slurm.conf; overriding them breaks scaling.
    static let managedSlurmSettings: Set<String> = [
        "slurmctldhost", "controlmachine", "controladdr", "clustername", "slurmctldport", "slurmdport", "slurmuser",
        "resumeprogram", "suspendprogram", "resumefailprogram", "resumetimeout", "suspendtimeout", "resumerate",
        "suspendrate", "suspendtime", "suspendexcnodes", "suspendexcparts", "selecttype", "nodename", "partitionname",
        "nodeset", "authtype", "statesavelocation", "slurmdspooldir", "treewidth", "privatedata", "returntoservice",
        "communicationparameters", "include", "slurmctldpidfile", "slurmdpidfile",
    ]

    static let customSlurmSettings = Validator("CustomSlurmSettingsValidator") { c, s in
        let sched = c.config.scheduling
        for (i, group) in sched.customSlurmSettings.enumerated() {
            for (k, _) in group where managedSlurmSettings.contains(k.lowercased()) {
                s.add(.error, "CustomSlurmSettings cannot set '\(k)': the cluster manages it.", at: sched.path / "SlurmSettings" / "CustomSlurmSettings" / i / k)
            }
        }
        for q in sched.queues {
            for (k, _) in q.customSlurmSettings where managedSlurmSettings.contains(k.lowercased()) {
                s.add(.error, "CustomSlurmSettings of queue '\(q.name)' cannot set '\(k)': the cluster manages it.", at: q.path / "CustomSlurmSettings" / k)
            }
            for cr in q.computeResources {
                for (k, _) in cr.customSlurmSettings where ["nodename", "nodeaddr", "nodehostname", "state", "port"].contains(k.lowercased()) {
                    s.add(.error, "CustomSlurmSettings of compute resource '\(cr.name)' cannot set '\(k)': the cluster manages it.", at: cr.path / "CustomSlurmSettings" / k)
                }
            }
        }
    }

    static let capacityType = Validator("CapacityTypeValidator") { c, s in
        for q in c.config.scheduling.queues {
            for cr in q.computeResources {
                if q.capacityType == "CAPACITY_BLOCK" && !cr.hasCapacityReservation
                    && c.document.root.deepest(q.path / "CapacityReservationTarget").complete == false {
                    s.add(.error, "Queue '\(q.name)' uses CapacityType CAPACITY_BLOCK, so compute resource '\(cr.name)' needs a CapacityReservationTarget.", at: cr.path)
                }
                if let price = cr.spotPrice, q.capacityType != "SPOT" {
                    s.add(.warning, "SpotPrice \(price) is set on compute resource '\(cr.name)' but queue '\(q.name)' is \(q.capacityType), so it has no effect.", at: cr.path / "SpotPrice")
                }
            }
        }
    }

    // MARK: Shared storage

    static func normalized(_ dir: String) -> String {
        var d = dir.hasPrefix("/") ? dir : "/" + dir
        while d.count > 1 && d.hasSuffix("/") { d.removeLast() }
        return d
    }

    static let duplicateMountDir = Validator("DuplicateMountDirValidator") { c, s in
        var seen: [String: String] = [:]
        for st in c.config.sharedStorage {
            let d = normalized(st.mountDir)
            if let other = seen[d] {
                s.add(.error, "Mount directory '\(d)' is used by both '\(other)' and '\(st.name)'; each shared storage needs its own.", at: st.path / "MountDir")
            } else {
                seen[d] = st.name
            }
        }
        if let eph = c.config.headNode.ephemeralMountDir, let other = seen[normalized(eph)] {
            s.add(.warning, "Mount directory '\(normalized(eph))' of shared storage '\(other)' clashes with the head node's ephemeral volume.", at: c.config.headNode.path / "LocalStorage" / "EphemeralVolume" / "MountDir")
        }
    }

    static let overlappingMountDir = Validator("OverlappingMountDirValidator") { c, s in
        let dirs = c.config.sharedStorage.map { ($0, normalized($0.mountDir)) }
        for (i, (a, da)) in dirs.enumerated() {
            for (b, db) in dirs[(i + 1)...] where da != db && (db.hasPrefix(da + "/") || da.hasPrefix(db + "/") || da == "/" || db == "/") {
                s.add(.error, "Mount directories '\(da)' (\(a.name)) and '\(db)' (\(b.name)) overlap; one would hide the other.", at: b.path / "MountDir")
            }
        }
    }

    static let sharedStorageName = Validator("SharedStorageNameValidator") { c, s in
        for st in c.config.sharedStorage {
            if st.name == "default" {
                s.add(.error, "It is forbidden to use 'default' as a shared storage name.", at: st.path / "Name")
            } else if st.name.count > 30 {
                s.add(.error, "Invalid shared storage name '\(st.name)': at most 30 characters.", at: st.path / "Name")
            } else if !st.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || "+-=._:/".contains($0) }) {
                s.add(.error, "Invalid shared storage name '\(st.name)': use letters, digits, spaces and + - = . _ : / only.", at: st.path / "Name")
            }
        }
    }

    static let reservedDirs: Set<String> = ["/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media", "/mnt", "/opt",
                                            "/opt/parallelcluster", "/opt/slurm", "/proc", "/root", "/run", "/sbin", "/srv", "/sys",
                                            "/tmp", "/usr", "/var", "/var/log"]

    static let sharedStorageMountDir = Validator("SharedStorageMountDirValidator") { c, s in
        for st in c.config.sharedStorage {
            let d = normalized(st.mountDir)
            if d == "/home" && st.storageType != "FileCache" { continue }  // a shared /home is a supported setup
            if reservedDirs.contains(d) {
                s.add(.error, "Mount directory '\(d)' of '\(st.name)' is a system directory; choose another (for example /shared or /fsx).", at: st.path / "MountDir")
            }
        }
    }

    static let numberOfStorage = Validator("NumberOfStorageValidator") { c, s in
        let st = c.config.sharedStorage
        let ebs = st.filter { $0.storageType == "Ebs" && $0.ebs?.raidType == nil }
        if ebs.count > 5 { s.add(.error, "Too many Ebs shared storage (\(ebs.count)); up to 5 are supported.", at: ebs[5].path) }
        let raid = st.filter { $0.storageType == "Ebs" && $0.ebs?.raidType != nil }
        if raid.count > 1 { s.add(.error, "Too many RAID shared storage (\(raid.count)); only 1 is supported.", at: raid[1].path) }
        for (type, label) in [("Efs", "Efs"), ("FsxLustre", "FsxLustre")] {
            let new = st.filter { $0.storageType == type && !$0.isExisting }
            if new.count > 1 { s.add(.error, "Too many new \(label) file systems (\(new.count)); only one can be created with the cluster. Mount the others by id.", at: new[1].path) }
            let existing = st.filter { $0.storageType == type && $0.isExisting }
            if existing.count > 20 { s.add(.error, "Too many existing \(label) file systems (\(existing.count)); up to 20 are supported.", at: existing[20].path) }
        }
        let fsx = st.filter { ["FsxOntap", "FsxOpenZfs", "FileCache"].contains($0.storageType) }
        if fsx.count > 20 { s.add(.error, "Too many FSx ONTAP / OpenZFS / File Cache storages (\(fsx.count)); up to 20 are supported.", at: fsx[20].path) }
        for x in st {
            let settingsKey: [String: String] = ["Ebs": "EbsSettings", "Efs": "EfsSettings", "FsxLustre": "FsxLustreSettings",
                                                 "FsxOntap": "FsxOntapSettings", "FsxOpenZfs": "FsxOpenZfsSettings", "FileCache": "FileCacheSettings"]
            let node = c.document.root.deepest(x.path).node
            for (type, key) in settingsKey where type != x.storageType && node[key] != nil {
                s.add(.error, "\(key) does not belong to StorageType \(x.storageType) in '\(x.name)'.", at: x.path / key)
            }
            if ["FsxOntap", "FsxOpenZfs", "FileCache"].contains(x.storageType), let key = settingsKey[x.storageType], node[key] == nil {
                s.add(.error, "StorageType \(x.storageType) needs \(key) in '\(x.name)'.", at: x.path)
            }
        }
    }

    // MARK: FSx for Lustre

    static func forEachFsx(_ c: ValidationContext, _ body: (ClusterConfiguration.SharedStorage, ClusterConfiguration.FsxLustreSettings) -> Void) {
        for st in c.config.sharedStorage where st.storageType == "FsxLustre" {
            if let f = st.fsxLustre { body(st, f) }
        }
    }

    /// Fields that only make sense when the cluster creates the file system.
    static let creationOnlyFsxFields = ["StorageCapacity", "DeploymentType", "ImportedFileChunkSize", "ExportPath", "ImportPath",
                                        "WeeklyMaintenanceStartTime", "AutomaticBackupRetentionDays", "CopyTagsToBackups",
                                        "DailyAutomaticBackupStartTime", "PerUnitStorageThroughput", "BackupId", "KmsKeyId",
                                        "AutoImportPolicy", "DriveCacheType", "DataCompressionType", "StorageType",
                                        "DataRepositoryAssociations", "DeletionPolicy"]

    static let fsxS3 = Validator("FsxS3Validator") { c, s in
        forEachFsx(c) { st, f in
            if f.exportPath != nil && f.importPath == nil {
                s.add(.error, "ExportPath needs ImportPath in '\(st.name)'.", at: f.path / "ExportPath")
            }
            if f.importedFileChunkSize != nil && f.importPath == nil {
                s.add(.error, "ImportedFileChunkSize needs ImportPath in '\(st.name)'.", at: f.path / "ImportedFileChunkSize")
            }
            if f.autoImportPolicy != nil && f.importPath == nil {
                s.add(.error, "AutoImportPolicy needs ImportPath in '\(st.name)'.", at: f.path / "AutoImportPolicy")
            }
            if let imp = f.importPath, let exp = f.exportPath {
                let bucket = { (u: String) in u.dropFirst(5).split(separator: "/").first.map(String.init) ?? "" }
                if bucket(imp) != bucket(exp) {
                    s.add(.error, "ImportPath and ExportPath must be in the same bucket in '\(st.name)'.", at: f.path / "ExportPath")
                }
            }
            if f.fileSystemId != nil {
                let node = c.document.root.deepest(f.path).node
                for k in creationOnlyFsxFields where node[k] != nil {
                    s.add(.error, "\(k) cannot be used with FileSystemId in '\(st.name)': it configures a new file system, and FileSystemId mounts an existing one.", at: f.path / k)
                }
            }
        }
    }

    static let fsxDra = Validator("FsxDraValidator") { c, s in
        forEachFsx(c) { st, f in
            let dras = f.dataRepositoryAssociations
            guard !dras.isEmpty else { return }
            if f.importPath != nil || f.exportPath != nil {
                s.add(.error, "DataRepositoryAssociations cannot be used with ImportPath or ExportPath on the same file system ('\(st.name)').", at: f.path / "DataRepositoryAssociations")
            }
            if f.deploymentType != "PERSISTENT_2" {
                s.add(.error, "DataRepositoryAssociations need DeploymentType PERSISTENT_2 ('\(st.name)' is \(f.deploymentType)).", at: f.path / "DataRepositoryAssociations")
            }
            for (d, n) in duplicates(dras, { $0.name }) {
                s.add(.error, "Data repository association name '\(n)' is used more than once.", at: d.path / "Name")
            }
            let paths = dras.map { ($0, normalized($0.fileSystemPath)) }
            for (i, (a, pa)) in paths.enumerated() {
                for (b, pb) in paths[(i + 1)...] where pa == pb || pb.hasPrefix(pa + "/") || pa.hasPrefix(pb + "/") || pa == "/" || pb == "/" {
                    s.add(.error, "FileSystemPath '\(pb)' of '\(b.name)' overlaps '\(pa)' of '\(a.name)'; data repository associations may not nest.", at: b.path / "FileSystemPath")
                }
            }
        }
    }

    static let fsxStorageCapacity = Validator("FsxStorageCapacityValidator") { c, s in
        forEachFsx(c) { st, f in
            guard f.fileSystemId == nil else { return }
            guard let cap = f.storageCapacity else {
                if f.backupId == nil {
                    s.add(.error, "'\(st.name)' creates a new FSx for Lustre file system, so StorageCapacity is required (or give FileSystemId to mount an existing one).", at: f.path)
                }
                return
            }
            let ok: Bool
            let rule: String
            switch (f.deploymentType, f.storageType) {
            case ("SCRATCH_1", _):
                ok = cap == 1200 || cap == 2400 || cap % 3600 == 0; rule = "1200, 2400 or a multiple of 3600 GiB"
            case (_, "HDD"):
                let unit = f.perUnitStorageThroughput == 12 ? 6000 : 1800
                ok = cap % unit == 0; rule = "a multiple of \(unit) GiB for HDD at this throughput"
            default:
                ok = cap == 1200 || cap % 2400 == 0; rule = "1200 or a multiple of 2400 GiB"
            }
            if !ok {
                s.add(.error, "StorageCapacity \(cap) is not valid for \(f.deploymentType) \(f.storageType): use \(rule).", at: f.path / "StorageCapacity")
            }
        }
    }

    static let fsxPersistentOptions = Validator("FsxPersistentOptionsValidator") { c, s in
        forEachFsx(c) { st, f in
            guard f.fileSystemId == nil else { return }
            let persistent = f.deploymentType.hasPrefix("PERSISTENT")
            if persistent && f.perUnitStorageThroughput == nil {
                s.add(.error, "PerUnitStorageThroughput is required for \(f.deploymentType) in '\(st.name)'.", at: f.path)
            }
            if !persistent && f.perUnitStorageThroughput != nil {
                s.add(.error, "PerUnitStorageThroughput applies only to PERSISTENT deployment types ('\(st.name)' is \(f.deploymentType)).", at: f.path / "PerUnitStorageThroughput")
            }
            if let t = f.perUnitStorageThroughput, persistent {
                let allowed: [Int]
                switch (f.deploymentType, f.storageType) {
                case (_, "HDD"): allowed = [12, 40]
                case ("PERSISTENT_1", _): allowed = [50, 100, 200]
                default: allowed = [125, 250, 500, 1000]
                }
                if !allowed.contains(t) {
                    s.add(.error, "PerUnitStorageThroughput \(t) is not valid for \(f.deploymentType) \(f.storageType): use one of \(allowed.map(String.init).joined(separator: ", ")).", at: f.path / "PerUnitStorageThroughput")
                }
            }
            if f.storageType == "HDD" && f.deploymentType != "PERSISTENT_1" {
                s.add(.error, "StorageType HDD needs DeploymentType PERSISTENT_1.", at: f.path / "StorageType")
            }
            if f.driveCacheType != nil && f.storageType != "HDD" {
                s.add(.error, "DriveCacheType applies only to StorageType HDD.", at: f.path / "DriveCacheType")
            }
        }
    }

    static let fsxBackupOptions = Validator("FsxBackupOptionsValidator") { c, s in
        forEachFsx(c) { st, f in
            guard f.fileSystemId == nil else { return }
            let persistent = f.deploymentType.hasPrefix("PERSISTENT")
            for (key, set) in [("AutomaticBackupRetentionDays", f.automaticBackupRetentionDays != nil),
                               ("DailyAutomaticBackupStartTime", f.dailyAutomaticBackupStartTime != nil),
                               ("CopyTagsToBackups", f.copyTagsToBackups != nil)] where set && !persistent {
                s.add(.error, "\(key) needs a PERSISTENT deployment type ('\(st.name)' is \(f.deploymentType)).", at: f.path / key)
            }
            if f.backupId != nil, f.importPath != nil || f.storageCapacity != nil {
                s.add(.error, "BackupId restores a file system from a backup and cannot be combined with StorageCapacity or ImportPath.", at: f.path / "BackupId")
            }
        }
    }

    static let deletionPolicy = Validator("DeletionPolicyValidator") { c, s in
        for st in c.config.sharedStorage where !st.isExisting {
            let policy = st.fsxLustre?.deletionPolicy ?? st.efsDeletionPolicy ?? st.ebs?.deletionPolicy
            if policy == "Retain" {
                s.add(.info, "The DeletionPolicy of '\(st.name)' is Retain: it will outlive the cluster and keep costing money until you delete it yourself.", at: st.path)
            }
        }
    }

    // MARK: EBS and root volumes

    static let ebsSizeRanges: [String: ClosedRange<Int>] = ["gp2": 1...16384, "gp3": 1...16384, "io1": 4...16384, "io2": 4...65536,
                                                            "sc1": 125...16384, "st1": 125...16384, "standard": 1...1024]

    static let ebsVolumeTypeSize = Validator("EbsVolumeTypeSizeValidator") { c, s in
        for st in c.config.sharedStorage {
            guard let e = st.ebs, let size = e.size, let range = ebsSizeRanges[e.volumeType] else { continue }
            if !range.contains(size) {
                s.add(.error, "Size \(size) GiB is out of range for \(e.volumeType) volumes (\(range.lowerBound)-\(range.upperBound) GiB).", at: e.path / "Size")
            }
        }
    }

    static func checkIops(_ type: String, _ iops: Int?, _ size: Int?, _ path: ConfigPath, _ s: inout FindingSink) {
        guard let iops else { return }
        let limits: [String: (ClosedRange<Int>, Int)] = ["io1": (100...64000, 50), "io2": (100...256000, 1000), "gp3": (3000...16000, 500)]
        guard let (range, ratio) = limits[type] else {
            s.add(.error, "Iops can only be set for io1, io2 and gp3 volumes, not \(type).", at: path / "Iops")
            return
        }
        if !range.contains(iops) {
            s.add(.error, "Iops \(iops) is out of range for \(type) volumes (\(range.lowerBound)-\(range.upperBound)).", at: path / "Iops")
        } else if let size, iops > size * ratio {
            s.add(.error, "Iops \(iops) is more than \(ratio) per GiB of a \(size) GiB \(type) volume (at most \(size * ratio)).", at: path / "Iops")
        }
    }

    static let ebsVolumeIops = Validator("EbsVolumeIopsValidator") { c, s in
        for st in c.config.sharedStorage {
            if let e = st.ebs { checkIops(e.volumeType, e.iops, e.size, e.path, &s) }
        }
        if let r = c.config.headNode.rootVolume { checkIops(r.volumeType ?? "gp3", r.iops, r.size, r.path, &s) }
    }

    static let rootVolumeSize = Validator("RootVolumeSizeValidator") { c, s in
        var volumes: [ClusterConfiguration.RootVolume] = []
        if let r = c.config.headNode.rootVolume { volumes.append(r) }
        for q in c.config.scheduling.queues { if let r = q.rootVolume { volumes.append(r) } }
        for r in volumes {
            guard let size = r.size else { continue }
            if size < 35 {
                s.add(.error, "Root volume Size \(size) GiB is smaller than the ParallelCluster images (35 GiB).", at: r.path / "Size")
            }
        }
    }

    // MARK: IAM, tags, URLs

    static func partition(for region: String?) -> String {
        guard let region else { return "aws" }
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        return "aws"
    }

    static let additionalIamPolicy = Validator("AdditionalIamPolicyValidator") { c, s in
        var all = c.config.headNode.additionalIamPolicies
        for q in c.config.scheduling.queues { all += q.additionalIamPolicies }
        let expected = partition(for: c.region)
        for (arn, path) in all {
            let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count > 1, parts[1] != expected {
                s.add(.error, "Policy '\(arn)' is in partition '\(parts[1])' but region \(c.region ?? "") is in '\(expected)'.", at: path)
            }
            if arn.hasSuffix(":policy/AdministratorAccess") {
                s.add(.warning, "Policy '\(arn)' gives every cluster node full control of the AWS account.", at: path)
            }
        }
        for (d, arn) in duplicates(c.config.headNode.additionalIamPolicies, { $0.arn }) {
            s.add(.error, "Policy '\(arn)' is listed more than once.", at: d.path)
        }
    }

    static let tagKey = Validator("TagKeyValidator") { c, s in
        var tags = c.config.tags
        for q in c.config.scheduling.queues {
            tags += q.tags
            for cr in q.computeResources { tags += cr.tags }
        }
        for t in tags where t.key.hasPrefix("parallelcluster:") {
            s.add(.error, "Tag key '\(t.key)' uses the reserved prefix 'parallelcluster:'.", at: t.path / "Key")
        }
        for (t, k) in duplicates(c.config.tags, { $0.key }) {
            s.add(.error, "Tag key '\(k)' is used more than once.", at: t.path / "Key")
        }
    }

    static let url = Validator("UrlValidator") { c, s in
        var actions = c.config.headNode.customActions
        for q in c.config.scheduling.queues { actions += q.customActions }
        for a in actions {
            let scheme = a.script.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if a.script.contains("://"), !["s3", "https"].contains(scheme) {
                s.add(.error, "Script '\(a.script)' must be an s3:// or https:// URL.", at: a.path)
            } else if !a.script.contains("://") && !a.script.hasPrefix("/") {
                s.add(.error, "Script '\(a.script)' must be an s3:// or https:// URL or an absolute path.", at: a.path)
            }
        }
    }
}
