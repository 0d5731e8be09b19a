import Foundation

// Validators of the configuration's Slurm settings (one of the sections `Validators.all` lists).
extension Validators {
    static let schedulableMemory = Validator("SchedulableMemoryValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            guard let mem = cr.schedulableMemory else { return }
            for t in cr.instanceTypes {
                guard let info = c.instanceTypes.info(for: t) else { continue }
                if mem > info.memoryMiB {
                    s.add(
                        .error, "SchedulableMemory (\(mem) MiB) is more than the memory of '\(t)' (\(info.memoryMiB) MiB).",
                        at: cr.path / "SchedulableMemory")
                }
            }
            if !c.config.scheduling.enableMemoryBasedScheduling {
                s.add(
                    .info,
                    "SchedulableMemory is set on compute resource '\(cr.name)' but EnableMemoryBasedScheduling is false, so Slurm will not use it.",
                    at: cr.path / "SchedulableMemory")
            }
        }
    }

    static let slurmNodePriorities = Validator("SlurmNodePrioritiesWarningValidator") { c, s in
        forEachComputeResource(c) { _, cr in
            if cr.minCount > 0, cr.dynamicCount > 0, cr.staticNodePriority > cr.dynamicNodePriority {
                s.add(
                    .warning,
                    "StaticNodePriority (\(cr.staticNodePriority)) is higher than DynamicNodePriority (\(cr.dynamicNodePriority)) in compute resource '\(cr.name)': Slurm prefers lower weights, so dynamic nodes will be powered up while static ones sit idle.",
                    at: cr.path / "StaticNodePriority")
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
                s.add(
                    .error, "CustomSlurmSettings cannot set '\(k)': the cluster manages it.",
                    at: sched.path / "SlurmSettings" / "CustomSlurmSettings" / i / k)
            }
        }
        for q in sched.queues {
            for (k, _) in q.customSlurmSettings where managedSlurmSettings.contains(k.lowercased()) {
                s.add(
                    .error, "CustomSlurmSettings of queue '\(q.name)' cannot set '\(k)': the cluster manages it.",
                    at: q.path / "CustomSlurmSettings" / k)
            }
            for cr in q.computeResources {
                for (k, _) in cr.customSlurmSettings where ["nodename", "nodeaddr", "nodehostname", "state", "port"].contains(k.lowercased()) {
                    s.add(
                        .error, "CustomSlurmSettings of compute resource '\(cr.name)' cannot set '\(k)': the cluster manages it.",
                        at: cr.path / "CustomSlurmSettings" / k)
                }
            }
        }
    }

    static let capacityType = Validator("CapacityTypeValidator") { c, s in
        for q in c.config.scheduling.queues {
            for cr in q.computeResources {
                if q.capacityType == "CAPACITY_BLOCK" && !cr.hasCapacityReservation
                    && c.document.root.deepest(q.path / "CapacityReservationTarget").complete == false
                {
                    s.add(
                        .error,
                        "Queue '\(q.name)' uses CapacityType CAPACITY_BLOCK, so compute resource '\(cr.name)' needs a CapacityReservationTarget.",
                        at: cr.path)
                }
                if let price = cr.spotPrice, q.capacityType != "SPOT" {
                    s.add(
                        .warning,
                        "SpotPrice \(price) is set on compute resource '\(cr.name)' but queue '\(q.name)' is \(q.capacityType), so it has no effect.",
                        at: cr.path / "SpotPrice")
                }
            }
        }
    }
}
