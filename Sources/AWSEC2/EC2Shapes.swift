import AWSCore
import Foundation

// The EC2 requests and answers the providers use, typed. EC2 speaks its own query protocol (numbered
// `Name.N.Field` parameters, `<set><item>` answers), which no Codable coder here writes, so each request
// renders its own parameters and each answer reads its own items.

/// A Describe* filter: `Filter.N.Name` with its values.
package struct EC2Filter: Sendable, Equatable {
    package var name: String
    package var values: [String]

    package init(_ name: String, _ values: [String]) {
        self.name = name
        self.values = values
    }

    static func items(_ filters: [EC2Filter]) -> [QueryItem] {
        filters.enumerated().flatMap { index, filter in
            [QueryItem("Filter.\(index + 1).Name", filter.name)]
                + filter.values.enumerated().map { QueryItem("Filter.\(index + 1).Value.\($0.offset + 1)", $0.element) }
        }
    }
}

package struct EC2Tag: Sendable, Equatable, Codable {
    package var key: String
    package var value: String

    package init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }

    /// A resource's `<tagSet>` as key → value.
    static func dictionary(in item: XMLElement) -> [String: String] {
        var tags: [String: String] = [:]
        for tag in item.child("tagSet")?.children("item") ?? [] {
            if let key = tag.string("key") { tags[key] = tag.string("value") ?? "" }
        }
        return tags
    }
}

/// A tag as DescribeTags lists it, with the resource it is on.
package struct EC2ResourceTag: Sendable, Equatable {
    package var resourceId: String
    package var key: String
    package var value: String
}

/// An instance as DescribeInstances reports it.
package struct EC2Instance: Sendable, Equatable {
    package var instanceId: String
    package var instanceType: String
    /// pending, running, stopping, stopped, shutting-down, terminated.
    package var state: String
    package var privateIpAddress: String?
    package var publicIpAddress: String?
    package var launchTime: Date?
    package var tags: [String: String]
    package var placementGroup: String?
    /// Each network interface's type: "interface", or "efa".
    package var networkInterfaceTypes: [String]

    init(_ item: XMLElement) {
        instanceId = item.string("instanceId") ?? ""
        instanceType = item.string("instanceType") ?? ""
        state = item.child("instanceState")?.string("name") ?? ""
        privateIpAddress = item.string("privateIpAddress").flatMap { $0.isEmpty ? nil : $0 }
        publicIpAddress = item.string("ipAddress").flatMap { $0.isEmpty ? nil : $0 }
        launchTime = item.date("launchTime")
        tags = EC2Tag.dictionary(in: item)
        placementGroup = item.child("placement")?.string("groupName").flatMap { $0.isEmpty ? nil : $0 }
        networkInterfaceTypes = (item.child("networkInterfaceSet")?.children("item") ?? []).map { $0.string("interfaceType") ?? "interface" }
    }
}

package struct EC2Image: Sendable, Equatable {
    package var imageId: String
    package var name: String?
    package var creationDate: String
    package var architecture: String?
    package var tags: [String: String]
}

/// What DescribeInstanceTypes says of a type that the validators need.
package struct EC2InstanceTypeInfo: Sendable, Equatable {
    package var name: String
    package var efaSupported: Bool
    package var placementGroupStrategies: [String]
    package var architectures: [String]
}

/// A launch template by name and version ("$Latest", "$Default" or a number).
package struct EC2LaunchTemplateReference: Sendable, Equatable {
    package var name: String
    package var version: String

    package init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// RunInstances from a launch template, with the primary network interface given per launch (the subnet is
/// chosen per launch) and the instances' tags.
package struct RunInstancesRequest: Sendable, Equatable {
    package var launchTemplate: EC2LaunchTemplateReference
    package var instanceType: String
    package var minCount: Int
    package var maxCount: Int
    package var subnetId: String
    package var securityGroupIds: [String]
    package var efa: Bool
    package var placementGroup: String?
    package var spot: Bool
    package var tags: [EC2Tag]

    package init(
        launchTemplate: EC2LaunchTemplateReference, instanceType: String, minCount: Int, maxCount: Int, subnetId: String,
        securityGroupIds: [String], efa: Bool, placementGroup: String?, spot: Bool, tags: [EC2Tag]
    ) {
        self.launchTemplate = launchTemplate
        self.instanceType = instanceType
        self.minCount = minCount
        self.maxCount = maxCount
        self.subnetId = subnetId
        self.securityGroupIds = securityGroupIds
        self.efa = efa
        self.placementGroup = placementGroup
        self.spot = spot
        self.tags = tags
    }

    package var queryItems: [QueryItem] {
        var items = [
            QueryItem("LaunchTemplate.LaunchTemplateName", launchTemplate.name),
            QueryItem("LaunchTemplate.Version", launchTemplate.version),
            QueryItem("InstanceType", instanceType),
            QueryItem("MinCount", String(minCount)),
            QueryItem("MaxCount", String(maxCount)),
            QueryItem("NetworkInterface.1.DeviceIndex", "0"),
            QueryItem("NetworkInterface.1.SubnetId", subnetId),
            QueryItem("NetworkInterface.1.DeleteOnTermination", "true"),
        ]
        if efa {
            items.append(QueryItem("NetworkInterface.1.InterfaceType", "efa"))
            items.append(QueryItem("NetworkInterface.1.NetworkCardIndex", "0"))
        }
        for (index, group) in securityGroupIds.enumerated() {
            items.append(QueryItem("NetworkInterface.1.SecurityGroupId.\(index + 1)", group))
        }
        if let placementGroup { items.append(QueryItem("Placement.GroupName", placementGroup)) }
        if spot { items.append(QueryItem("InstanceMarketOptions.MarketType", "spot")) }
        return items + EC2Client.instanceTagSpecification(tags)
    }
}

/// An instant fleet (CreateFleet Type=instant) from one launch template with overrides.
package struct CreateFleetRequest: Sendable, Equatable {
    package struct Override: Sendable, Equatable {
        package var instanceType: String
        package var subnetId: String
        package var placementGroup: String?

        package init(instanceType: String, subnetId: String, placementGroup: String?) {
            self.instanceType = instanceType
            self.subnetId = subnetId
            self.placementGroup = placementGroup
        }
    }

    package var launchTemplate: EC2LaunchTemplateReference
    package var overrides: [Override]
    package var totalCapacity: Int
    package var spot: Bool
    /// All or nothing: the whole capacity in one instance type and one zone.
    package var minTargetCapacity: Int?
    package var tags: [EC2Tag]

    package init(
        launchTemplate: EC2LaunchTemplateReference, overrides: [Override], totalCapacity: Int, spot: Bool, minTargetCapacity: Int?,
        tags: [EC2Tag]
    ) {
        self.launchTemplate = launchTemplate
        self.overrides = overrides
        self.totalCapacity = totalCapacity
        self.spot = spot
        self.minTargetCapacity = minTargetCapacity
        self.tags = tags
    }

    package var queryItems: [QueryItem] {
        let market = spot ? "spot" : "on-demand"
        var items = [
            QueryItem("Type", "instant"),
            QueryItem("TargetCapacitySpecification.TotalTargetCapacity", String(totalCapacity)),
            QueryItem("TargetCapacitySpecification.DefaultTargetCapacityType", market),
            QueryItem("LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateName", launchTemplate.name),
            QueryItem("LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version", launchTemplate.version),
        ]
        for (offset, override) in overrides.enumerated() {
            let prefix = "LaunchTemplateConfigs.1.Overrides.\(offset + 1)"
            items.append(QueryItem("\(prefix).InstanceType", override.instanceType))
            items.append(QueryItem("\(prefix).SubnetId", override.subnetId))
            if let group = override.placementGroup { items.append(QueryItem("\(prefix).Placement.GroupName", group)) }
        }
        let options = spot ? "SpotOptions" : "OnDemandOptions"
        items.append(QueryItem("\(options).AllocationStrategy", spot ? "capacity-optimized" : "lowest-price"))
        if let minTargetCapacity {
            items += [
                QueryItem("\(options).SingleInstanceType", "true"), QueryItem("\(options).SingleAvailabilityZone", "true"),
                QueryItem("\(options).MinTargetCapacity", String(minTargetCapacity)),
            ]
        }
        return items + EC2Client.instanceTagSpecification(tags)
    }
}

/// What an instant fleet launched, and the capacity errors it reports beside it.
package struct CreateFleetResult: Sendable, Equatable {
    package struct Failure: Sendable, Equatable {
        package var code: String
        package var message: String
    }

    package var instanceIds: [String]
    package var errors: [Failure]
}
