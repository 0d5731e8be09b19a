import Foundation

// Validators of the configuration's names and counts (one of the sections `Validators.all` lists).
extension Validators {
    static let clusterName = Validator("ClusterNameValidator") { c, s in
        guard let name = c.clusterName else { return }
        let limit = c.config.scheduling.hasDatabase ? 40 : 60
        let ok =
            name.first.map { $0.isASCII && $0.isLetter } == true
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        if !ok {
            s.add(.error, "Invalid cluster name '\(name)': it must start with a letter and contain only letters, digits and hyphens.", at: .root)
        } else if name.count > limit {
            s.add(
                .error, "Invalid cluster name '\(name)': at most \(limit) characters\(limit == 40 ? " when Slurm accounting is configured" : "").",
                at: .root)
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
            s.add(
                .warning,
                "Os '\(c.config.os)' is end of life (\(why)): it gets no security updates and the original pcluster refuses it. Consider alinux2023, ubuntu2404 or rocky9.",
                at: .root / "Image" / "Os")
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
                s.add(
                    .error,
                    "Invalid \(what) name '\(n)': it must begin with a lowercase letter and contain only lowercase letters, digits and hyphens (Slurm node names are built from it).\(hint)",
                    at: path)
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
            s.add(
                .error, "Invalid number of queues (\(queues.count)) specified. Up to 50 queues are supported.",
                at: c.config.scheduling.path / "SlurmQueues")
        }
        for q in queues where q.computeResources.count > 50 {
            s.add(
                .error, "Invalid number of compute resources (\(q.computeResources.count)) in queue '\(q.name)'. Up to 50 per queue are supported.",
                at: q.path / "ComputeResources")
        }
        // The original also caps the whole cluster at 50 compute resources; that limit comes from
        // its CloudFormation template size, not from Slurm, so it is not enforced here.
    }

    static let computeResourceSize = Validator("ComputeResourceSizeValidator") { c, s in
        forEachComputeResource(c) { q, cr in
            if cr.maxCount < cr.minCount {
                s.add(
                    .error,
                    "MaxCount (\(cr.maxCount)) must be greater than or equal to MinCount (\(cr.minCount)) in compute resource '\(cr.name)' of queue '\(q.name)'.",
                    at: cr.path / "MaxCount")
            }
            if q.capacityType == "CAPACITY_BLOCK" {
                if cr.minCount != cr.maxCount {
                    s.add(
                        .error, "MaxCount must equal MinCount when using a Capacity Block reservation (compute resource '\(cr.name)').",
                        at: cr.path / "MaxCount")
                }
                if cr.minCount == 0 {
                    s.add(
                        .error, "MinCount must be greater than 0 when using a Capacity Block reservation (compute resource '\(cr.name)').",
                        at: cr.path / "MinCount")
                }
            }
        }
    }
}
