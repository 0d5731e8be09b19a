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

        func fileSystem(_ id: String) async throws -> FileSystemLookup? {
            if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
            if let failure { throw Failure(description: failure) }
            return fileSystems[id].map { .found(lifecycle: $0) } ?? .notFound
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    func check(_ inventory: Inventory, env: [String: String] = Fixtures.env, timeout: Double = 5,
               suppression: ValidatorSuppression = ValidatorSuppression()) async throws -> [ValidationMessage] {
        let result = try Fixtures.validate(Fixtures.exampleConfigText, env: env)
        let config = try #require(result.config)
        let document = try #require(result.document)
        return await ConfigValidation.validateResources(document: document, config: config, inventory: inventory,
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
        let started = Date()
        let silent = try await check(Inventory(delay: 30), timeout: 0.5)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(silent.map(\.message) == ["Could not check the FSx file systems with the test inventory: no answer within 0.5 s."])
    }

    @Test func suppressedByName() async throws {
        let suppression = try ValidatorSuppression(arguments: ["type:ExistingFsxNetworkingValidator"])
        #expect(try await check(Inventory(), suppression: suppression).isEmpty)
    }
}
