import Foundation

// Validators of the configuration's instance types (one of the sections `Validators.all` lists).
extension Validators {
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
                    s.add(
                        .error,
                        "Instance type '\(t)' (\(info.architectures.joined(separator: "/"))) does not match the head node's architecture (\(c.config.headNode.instanceType) is \(head.architecture)); all nodes must share one architecture.",
                        at: cr.path)
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
                s.add(
                    .error,
                    "Instance types of compute resource '\(cr.name)' must have the same number of \(cr.disableSimultaneousMultithreading ? "cores" : "vCPUs") (\(desc)): Slurm sees one node shape per compute resource.",
                    at: cr.path / "Instances")
            }
        }
    }

    static let instancesEFA = Validator("InstancesEFAValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            guard cr.efaEnabled, cr.instanceTypes.count > 1 else { return }
            let lacking = cr.instanceTypes.filter { c.instanceTypes.info(for: $0)?.efaSupported == false }
            if !lacking.isEmpty {
                s.add(
                    .error,
                    "EFA is enabled on compute resource '\(cr.name)' but these instance types do not support it: \(lacking.joined(separator: ", ")).",
                    at: cr.path / "Efa" / "Enabled")
            }
        }
    }

    static let efa = Validator("EfaValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            if cr.gdrSupport && !cr.efaEnabled {
                s.add(
                    .error, "Efa GdrSupport can be used only when Efa is enabled (compute resource '\(cr.name)').", at: cr.path / "Efa" / "GdrSupport"
                )
            }
            // Several instance types are InstancesEFAValidator's job.
            guard cr.instanceTypes.count == 1, let t = cr.instanceTypes.first, let info = c.instanceTypes.info(for: t) else { return }
            if cr.efaEnabled && !info.efaSupported {
                s.add(
                    .error,
                    "Instance type '\(t)' does not support EFA; remove Efa Enabled: true or choose an EFA-capable type (for example c6i.32xlarge or hpc7a.96xlarge).",
                    at: cr.path / "Efa" / "Enabled")
            } else if !cr.efaEnabled && info.efaSupported {
                s.add(
                    .warning,
                    "Instance type '\(t)' supports EFA (Elastic Fabric Adapter) for low-latency inter-node traffic at no extra charge, but it is not enabled on compute resource '\(cr.name)'. Add Efa: {Enabled: true} to use it.",
                    at: cr.path)
            }
        }
    }

    static let efaPlacementGroup = Validator("EfaPlacementGroupValidator") { c, s in
        forEachComputeResource(c) { q, cr in
            guard cr.efaEnabled else { return }
            let pg = cr.placementGroup ?? q.placementGroup
            let explicit = pg.map { $0.enabled != nil || $0.id != nil || $0.name != nil } ?? false
            if !explicit {
                s.add(
                    .error,
                    "EFA is enabled on compute resource '\(cr.name)' of queue '\(q.name)' but its placement group is not set: add Networking: PlacementGroup: Enabled: true to the queue (recommended for EFA) or Enabled: false to opt out explicitly.",
                    at: cr.path / "Efa" / "Enabled")
            } else if pg?.enabled == false && pg?.id == nil && pg?.name == nil {
                s.add(
                    .warning,
                    "Placement group is disabled for EFA-enabled compute resource '\(cr.name)' in queue '\(q.name)'. This is expected with a capacity reservation that has its own placement group; otherwise enabling one may improve network performance.",
                    at: pg!.path)
            }
        }
    }

    static let efaMultiAz = Validator("EfaMultiAzValidator") { c, s in
        for q in c.config.scheduling.queues where q.subnetIds.count > 1 {
            for cr in q.computeResources where cr.efaEnabled {
                s.add(
                    .error,
                    "EFA is enabled on compute resource '\(cr.name)' but queue '\(q.name)' spans \(q.subnetIds.count) subnets; EFA traffic cannot cross Availability Zones, so use one subnet.",
                    at: q.path / "Networking" / "SubnetIds")
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
}
