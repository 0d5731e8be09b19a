import ClusterConfig
import Foundation
import Testing

/// The resource validators against inventories written for the test (the providers' real ones are
/// exercised by the cluster integration tests): findings at the FileSystemId's line and column, a failing or
/// silent inventory turned into a warning, suppression by name.
struct ResourceValidationTests {
    struct Inventory: ResourceInventory {
        var fileSystems: [String: String] = [:]
        var failure: String?
        var delay: Double = 0
        var source: String { "the test inventory" }

        var fileSystemSubnets: [String] = []
        var subnets: [String: String]? = nil
        var securityGroups: [String: String]? = nil
        var offered: [String: OfferedInstanceType]? = nil
        var buckets: Set<String>? = nil
        var images: [String: String]? = nil
        var imageOsTags: [String: String] = [:]

        func fileSystem(_ id: String) async throws -> FileSystemLookup? {
            if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
            if let failure { throw Failure(description: failure) }
            return fileSystems[id].map { .found(lifecycle: $0, subnetIds: fileSystemSubnets) } ?? .notFound
        }
        func subnetVpcs(_ ids: [String]) async throws -> [String: String]? { subnets.map { all in all.filter { ids.contains($0.key) } } }
        func securityGroupVpcs(_ ids: [String]) async throws -> [String: String]? {
            securityGroups.map { all in all.filter { ids.contains($0.key) } }
        }
        func instanceTypes(_ names: [String]) async throws -> [String: OfferedInstanceType]? {
            offered.map { all in all.filter { names.contains($0.key) } }
        }
        func bucketExists(_ name: String) async throws -> Bool? { buckets.map { $0.contains(name) } }
        func imageArchitecture(_ id: String) async throws -> String?? { images.map { $0[id] } }
        func imageTags(_ id: String) async throws -> [String: String]?? {
            guard let images else { return nil }
            guard images[id] != nil else { return .some(nil) }
            var tags = ["parallelcluster:version": "3.16.1", "parallelcluster:os": "alinux2"]
            tags["parallelcluster:os"] = imageOsTags[id] ?? tags["parallelcluster:os"]
            return .some(tags)
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The in-memory inventory answers at once; the long timeout only keeps a machine loaded by the rest of the
    /// suite from turning a slow scheduling of its answer into a "could not check" warning.
    static let inMemoryTimeout: Double = 120

    func check(
        _ inventory: Inventory, env: [String: String] = Fixtures.env, timeout: Double = Self.inMemoryTimeout,
        suppression: ValidatorSuppression = ValidatorSuppression(), text: String = Fixtures.exampleConfigText
    ) async throws -> [ValidationMessage] {
        let result = try Fixtures.validate(text, env: env)
        let config = try #require(result.config)
        let document = try #require(result.document)
        return await ConfigValidation.validateResources(
            document: document, config: config, inventory: inventory,
            suppression: suppression, timeout: timeout)
    }

    /// Line and column of `FileSystemId:`'s value in examples/cluster.yaml.
    var fileSystemIdLocation: (Int, Int) {
        let lines = Fixtures.exampleConfigText.split(separator: "\n", omittingEmptySubsequences: false)
        let index = lines.firstIndex { $0.contains("FileSystemId:") }!
        return (index + 1, lines[index].range(of: "$")!.lowerBound.utf16Offset(in: lines[index]) + 1)
    }

    @Test func anExistingAvailableFileSystemPasses() async throws {
        #expect(try await check(Inventory(fileSystems: ["fs-0123456789abcdef0": "AVAILABLE"])).isEmpty)
    }

    @Test func aMissingFileSystemIsAnErrorAtItsId() async throws {
        let messages = try await check(Inventory())
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.level == .error && message.type == "ExistingFsxNetworkingValidator")
        #expect(message.message.contains("fs-0123456789abcdef0 does not exist (asked the test inventory)"))
        #expect(message.location?.line == fileSystemIdLocation.0 && message.location?.column == fileSystemIdLocation.1)
    }

    @Test func aFileSystemBeingCreatedIsAnError() async throws {
        let messages = try await check(Inventory(fileSystems: ["fs-0123456789abcdef0": "CREATING"]))
        #expect(messages.map(\.message) == ["FSx file system fs-0123456789abcdef0 is CREATING; it must be AVAILABLE to be mounted."])
    }

    @Test func anInventoryThatFailsOrHangsGivesAWarning() async throws {
        let failed = try await check(Inventory(failure: "connection refused"))
        #expect(failed.map(\.level) == [.warning])
        #expect(failed.first?.message == "Could not check the FSx file systems with the test inventory: connection refused")
        #expect(failed.first?.location?.line == fileSystemIdLocation.0)
        // The inventory would answer after 30 s; this message can only come from the 0.5 s limit (no clock
        // is asserted: the suite's load once stretched the whole check to 54 s).
        let silent = try await check(Inventory(delay: 30), timeout: 0.5)
        #expect(silent.map(\.message) == ["Could not check the FSx file systems with the test inventory: no answer within 0.5 s."])
    }

    @Test func suppressedByName() async throws {
        let suppression = try ValidatorSuppression(arguments: ["type:ExistingFsxNetworkingValidator"])
        #expect(try await check(Inventory(), suppression: suppression).isEmpty)
    }

    /// The workshop's FSx file system in another VPC than the cluster's subnet: unreachable, said at its id.
    @Test func aFileSystemInAnotherVpcIsUnreachable() async throws {
        var inventory = Inventory(fileSystems: ["fs-0123456789abcdef0": "AVAILABLE"])
        inventory.fileSystemSubnets = ["subnet-fsx"]
        inventory.subnets = ["subnet-0123456789abcdef0": "vpc-cluster", "subnet-fsx": "vpc-storage"]
        let messages = try await check(inventory)
        #expect(messages.map(\.type) == ["ExistingFsxNetworkingValidator"], "\(messages)")
        #expect(messages.first?.message.contains("is in vpc-storage, the cluster in vpc-cluster") == true)
        #expect(messages.first?.location?.line == fileSystemIdLocation.0)
        inventory.subnets?["subnet-fsx"] = "vpc-cluster"
        #expect(try await check(inventory).isEmpty)
    }

    /// A login node pool's subnet and security group are checked with the cluster's, each at its own line.
    @Test func aLoginPoolsMissingSubnetAndSecurityGroupAreErrorsAtTheirLines() async throws {
        let text =
            Fixtures.exampleConfigText + """
                LoginNodes:
                  Pools:
                    - Name: login
                      InstanceType: t3.medium
                      Count: 1
                      Networking:
                        SubnetIds:
                          - subnet-0000000000000beef
                        AdditionalSecurityGroups:
                          - sg-0000000000000beef

                """
        var inventory = Inventory(fileSystems: ["fs-0123456789abcdef0": "AVAILABLE"])
        inventory.subnets = ["subnet-0123456789abcdef0": "vpc-cluster"]
        inventory.securityGroups = [:]
        let messages = try await check(inventory, text: text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        func line(_ needle: String) -> Int { (lines.firstIndex { $0.contains(needle) } ?? -2) + 1 }
        #expect(
            messages.contains {
                $0.type == "SubnetsValidator" && $0.message.contains("subnet-0000000000000beef")
                    && $0.location?.line == line("- subnet-0000000000000beef")
            }, "\(messages)")
        #expect(
            messages.contains { $0.type == "SecurityGroupsValidator" && $0.location?.line == line("- sg-0000000000000beef") }, "\(messages)")
    }

    /// Instance types the region does not offer, and one that cannot go in the queue's cluster placement group.
    @Test func instanceTypesTheRegionLacksOrThatCannotBePlaced() async throws {
        let c6i = OfferedInstanceType(
            name: "c6i.32xlarge", efaSupported: true, placementGroupStrategies: ["cluster", "spread"], architectures: ["x86_64"])
        var inventory = Inventory(fileSystems: ["fs-0123456789abcdef0": "AVAILABLE"])
        inventory.offered = ["c6i.32xlarge": c6i]
        let missingHead = try await check(inventory)
        #expect(missingHead.map(\.type) == ["InstanceTypeValidator"])
        #expect(missingHead.first?.message == "Instance type c6i.2xlarge is not offered in this region (asked the test inventory).")
        let lines = Fixtures.exampleConfigText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(missingHead.first?.location?.line == lines.firstIndex { $0.contains("InstanceType: c6i.2xlarge") }! + 1)
        inventory.offered?["c6i.2xlarge"] = OfferedInstanceType(
            name: "c6i.2xlarge", efaSupported: false, placementGroupStrategies: ["cluster"], architectures: ["x86_64"])
        #expect(try await check(inventory).isEmpty)
        inventory.offered?["c6i.32xlarge"]?.placementGroupStrategies = ["spread"]
        let unplaceable = try await check(inventory)
        #expect(
            unplaceable.first?.message.hasPrefix("Instance type c6i.32xlarge cannot be placed in a cluster placement group") == true, "\(unplaceable)"
        )
        #expect(unplaceable.first?.location?.line == lines.firstIndex { $0.contains("InstanceType: c6i.32xlarge") }! + 1)
    }

    /// A data repository association's bucket that does not exist, at its DataRepositoryPath.
    @Test func aMissingBucketIsAnErrorAtItsPath() async throws {
        // A file system the cluster creates, with one association.
        let text =
            (Fixtures.exampleConfigText
            + "      DataRepositoryAssociations:\n        - Name: data\n          DataRepositoryPath: s3://no-such-bucket/data\n          FileSystemPath: /data\n")
            .replacingOccurrences(
                of: "      FileSystemId: $FSX_FS_ID\n",
                with: "      StorageCapacity: 1200\n      DeploymentType: PERSISTENT_2\n      PerUnitStorageThroughput: 125\n")
        let result = try Fixtures.validate(text, env: Fixtures.env)
        let config = try #require(result.config, "\(result.messages)")
        var inventory = Inventory()
        inventory.buckets = ["other-bucket"]
        let messages = await ConfigValidation.validateResources(
            document: try #require(result.document), config: config, inventory: inventory, timeout: Self.inMemoryTimeout)
        #expect(messages.map(\.type) == ["S3BucketValidator"], "\(messages)")
        #expect(messages.first?.message.hasPrefix("S3 bucket no-such-bucket does not exist") == true)
        #expect(
            messages.first?.location?.line == text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex {
                $0.contains("DataRepositoryPath:")
            }! + 1)
    }

    /// A CustomAmi for arm64 under x86_64 instance types: one finding per instance type, at its InstanceType.
    @Test func aCustomAmiOfAnotherArchitecture() async throws {
        let text = Fixtures.exampleConfigText.replacingOccurrences(
            of: "Image:\n  Os: alinux2\n", with: "Image:\n  Os: alinux2\n  CustomAmi: ami-0123456789abcdef0\n")
        let result = try Fixtures.validate(text, env: Fixtures.env)
        let config = try #require(result.config, "\(result.messages)")
        var inventory = Inventory(fileSystems: ["fs-0123456789abcdef0": "AVAILABLE"])
        inventory.images = ["ami-0123456789abcdef0": "arm64"]
        let messages = await ConfigValidation.validateResources(
            document: try #require(result.document), config: config, inventory: inventory, timeout: Self.inMemoryTimeout)
        #expect(messages.map(\.type) == ["AmiValidator", "AmiValidator"], "\(messages)")
        #expect(
            messages.first?.message
                == "Image ami-0123456789abcdef0 is built for arm64, which instance type c6i.2xlarge does not run (it runs x86_64).")
        inventory.images = ["ami-0123456789abcdef0": "x86_64"]
        #expect(
            await ConfigValidation.validateResources(
                document: try #require(result.document), config: config, inventory: inventory, timeout: Self.inMemoryTimeout
            )
            .isEmpty)
        inventory.imageOsTags = ["ami-0123456789abcdef0": "ubuntu2204"]
        let otherOs = await ConfigValidation.validateResources(
            document: try #require(result.document), config: config, inventory: inventory, timeout: Self.inMemoryTimeout)
        #expect(otherOs.map(\.type) == ["AmiOsCompatibleValidator"] && otherOs.map(\.level) == [.error], "\(otherOs)")
        #expect(otherOs.first?.message == "The OS of node AMI ami-0123456789abcdef0 is ubuntu2204, it is not compatible with cluster OS alinux2.")
        inventory.imageOsTags = [:]
        inventory.images = [:]
        let missing = await ConfigValidation.validateResources(
            document: try #require(result.document), config: config, inventory: inventory, timeout: Self.inMemoryTimeout)
        #expect(missing.first?.message.hasPrefix("Image ami-0123456789abcdef0 does not exist") == true)
    }
}
