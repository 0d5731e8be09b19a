/// What validation and Slurm rendering need to know about an EC2 instance type.
public struct InstanceTypeInfo: Sendable, Hashable {
    public var name: String
    public var vcpus: Int
    public var cores: Int
    public var threadsPerCore: Int
    public var memoryMiB: Int
    public var efaSupported: Bool
    public var gpus: Int
    public var gpuManufacturer: String
    public var architectures: [String]
    public var maxNetworkCards: Int
    public var placementGroupStrategies: [String]
    public var burstable: Bool

    public var architecture: String { architectures.first ?? "x86_64" }
}

/// The seam for instance-type facts: the shipped catalogue answers offline; the AWS provider
/// will answer from DescribeInstanceTypes.
public protocol InstanceTypeProvider: Sendable {
    func info(for instanceType: String) -> InstanceTypeInfo?
    var allNames: [String] { get }
}

/// The instance types known offline, generated from EC2 DescribeInstanceTypes data by
/// scripts/generate-instance-types.py and parsed on first use.
public struct InstanceTypeCatalogue: InstanceTypeProvider {
    public static let shipped = InstanceTypeCatalogue(table: embeddedTable)

    let types: [String: InstanceTypeInfo]
    public let allNames: [String]

    public init(table: String) {
        var types: [String: InstanceTypeInfo] = [:]
        types.reserveCapacity(1400)
        // Split on bytes: this runs on every invocation that validates, so it must be cheap.
        for line in table.utf8.split(separator: UInt8(ascii: "\n")) {
            let c = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard c.count >= 12 else { continue }
            types[c[0]] = InstanceTypeInfo(
                name: c[0], vcpus: Int(c[1]) ?? 0, cores: Int(c[2]) ?? 0, threadsPerCore: Int(c[3]) ?? 1,
                memoryMiB: Int(c[4]) ?? 0, efaSupported: c[5] == "1", gpus: Int(c[6]) ?? 0, gpuManufacturer: c[7],
                architectures: c[8].split(separator: ",").map(String.init), maxNetworkCards: Int(c[9]) ?? 1,
                placementGroupStrategies: c[10].split(separator: ",").map(String.init), burstable: c[11] == "1")
        }
        self.types = types
        self.allNames = types.keys.sorted()
    }

    public func info(for instanceType: String) -> InstanceTypeInfo? { types[instanceType] }
}
