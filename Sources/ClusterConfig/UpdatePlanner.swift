import JSONOutput

/// One difference between the running cluster's config and the requested one.
public struct ConfigChange: Sendable {
    /// The original's notation: keyed lists by name, e.g. `Scheduling.SlurmQueues[c6i].ComputeResources[compute].MaxCount`.
    public var parameter: String
    public var currentValue: JSONValue
    public var requestedValue: JSONValue
    public var policy: UpdatePolicy
    /// Why the change cannot be applied now; nil when it can.
    public var blockedReason: String?
    public var location: SourceLocation?
}

/// What the update policies need to know about the running cluster.
public struct UpdateConditions: Sendable {
    public var computeFleetStopped: Bool
    public var loginNodesStopped: Bool

    public init(computeFleetStopped: Bool, loginNodesStopped: Bool = true) {
        self.computeFleetStopped = computeFleetStopped
        self.loginNodesStopped = loginNodesStopped
    }
}

/// Computes the change set between two configs and judges each change by its field's update policy.
public struct UpdatePlanner {
    let conditions: UpdateConditions
    let queueUpdateStrategy: String
    let requested: ConfigDocument
    var changes: [ConfigChange] = []

    public static func plan(current: ConfigDocument, requested: ConfigDocument, conditions: UpdateConditions) -> [ConfigChange] {
        let strategy = requested.root["Scheduling"]?["SlurmSettings"]?["QueueUpdateStrategy"]?.string ?? "COMPUTE_FLEET_STOP"
        var planner = UpdatePlanner(conditions: conditions, queueUpdateStrategy: strategy, requested: requested)
        planner.compareObject(current.root, requested.root, ClusterSchema.cluster, label: "", path: .root, inherited: .unsupported)
        return planner.changes
    }

    mutating func compareObject(
        _ old: ConfigNode?, _ new: ConfigNode?, _ schema: ObjectSchema, label: String, path: ConfigPath, inherited: UpdatePolicy
    ) {
        for field in schema.fields {
            let o = old?[field.name], n = new?[field.name]
            if o == nil && n == nil { continue }
            let policy = field.policy ?? inherited
            let childLabel = label.isEmpty ? field.name : "\(label).\(field.name)"
            compare(o, n, field.type, label: childLabel, path: path / field.name, policy: policy)
        }
    }

    mutating func compare(_ old: ConfigNode?, _ new: ConfigNode?, _ type: SchemaType, label: String, path: ConfigPath, policy: UpdatePolicy) {
        switch type {
        // A section on one side only (added or removed) is compared field by field, as the original does,
        // so each field's own policy applies: adding `SlurmSettings: {ScaledownIdletime: 20}` needs the fleet stopped.
        case .object(let schema) where (old == nil || old?.mapping != nil) && (new == nil || new?.mapping != nil):
            compareObject(old, new, schema, label: label, path: path, inherited: policy)
        case .list(let item, _, _, let key?) where old?.sequence != nil || new?.sequence != nil:
            guard case .object(let itemSchema) = item else { fallthrough }
            let olds = old?.sequence?.items ?? [], news = new?.sequence?.items ?? []
            func id(_ n: ConfigNode) -> String { n[key]?.string ?? "" }
            for (i, n) in news.enumerated() {
                let itemLabel = "\(label)[\(id(n))]"
                if let o = olds.first(where: { id($0) == id(n) }) {
                    compareObject(o, n, itemSchema, label: itemLabel, path: path / i, inherited: policy)
                } else {
                    record(label, .null, n.jsonValue, policy, path / i, kind: .added)
                }
            }
            for o in olds where !news.contains(where: { id($0) == id(o) }) {
                record(label, o.jsonValue, .null, policy, path, kind: .removed)
            }
        default:
            let ov = old?.jsonValue ?? .null, nv = new?.jsonValue ?? .null
            if ov != nv { record(label, ov, nv, policy, path, kind: .changed) }
        }
    }

    enum Kind { case added, removed, changed }

    mutating func record(_ label: String, _ current: JSONValue, _ requested: JSONValue, _ policy: UpdatePolicy, _ path: ConfigPath, kind: Kind) {
        let reason = judge(policy, current, requested, kind: kind)
        changes.append(
            ConfigChange(
                parameter: label, currentValue: current, requestedValue: requested, policy: policy,
                blockedReason: reason, location: requested.isNull && kind == .removed ? nil : self.requested.location(of: path)))
    }

    func judge(_ policy: UpdatePolicy, _ current: JSONValue, _ requested: JSONValue, kind: Kind) -> String? {
        let fleet = conditions.computeFleetStopped
        let strategyAllows = queueUpdateStrategy != "COMPUTE_FLEET_STOP"
        let stopFleet = "Stop the compute fleet first (pcluster update-compute-fleet --status STOP_REQUESTED)"
        switch policy {
        case .ignored, .supported:
            return nil
        case .unsupported, .readOnlyResourceBucket:
            return "This setting cannot be changed on an existing cluster; create a new cluster to change it."
        case .computeFleetStop, .computeAndLoginNodesStop:
            if policy == .computeAndLoginNodesStop && !conditions.loginNodesStopped { return "Stop the login nodes and the compute fleet first." }
            return fleet ? nil : "\(stopFleet)."
        case .queueUpdateStrategy, .managedPlacementGroup, .managedFsx, .sharedStorageUpdatePolicy:
            return fleet || strategyAllows ? nil : "\(stopFleet), or set SlurmSettings QueueUpdateStrategy to DRAIN or TERMINATE."
        case .maxCount:
            if let c = current.intValue, let r = requested.intValue, r >= c { return nil }
            if current.isNull, (requested.intValue ?? 10) >= 10 { return nil }
            return fleet || queueUpdateStrategy == "TERMINATE"
                ? nil : "Decreasing MaxCount needs the compute fleet stopped or QueueUpdateStrategy TERMINATE. \(stopFleet)."
        case .resizeUpdateStrategyOnRemove, .computeFleetStopOnRemove:
            if kind == .added { return nil }
            if kind == .changed && policy == .resizeUpdateStrategyOnRemove {
                return fleet || strategyAllows ? nil : "\(stopFleet), or set QueueUpdateStrategy to DRAIN or TERMINATE."
            }
            return fleet || (policy == .resizeUpdateStrategyOnRemove && queueUpdateStrategy == "TERMINATE")
                ? nil : "Removing it needs the compute fleet stopped. \(stopFleet)."
        case .headNodeStop:
            return "Stop the head node first."
        case .loginNodesStop, .loginNodesPoolStop:
            return conditions.loginNodesStopped ? nil : "Stop the login nodes first (set their Count to 0 and update)."
        }
    }
}
