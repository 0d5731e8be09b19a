import Foundation

/// Validators that must ask where the cluster will run whether what the config names exists: the local
/// services for the local provider, AWS for the AWS provider. They run after the file's own validators,
/// concurrently, each with a time limit; one that cannot get an answer says so as a warning instead of
/// holding up or failing the request.

/// What a file system lookup found.
public enum FileSystemLookup: Sendable, Equatable {
    case notFound
    case found(lifecycle: String)
}

/// The questions resource validators ask. A provider answers those it can; `nil` from a default
/// implementation means "cannot be asked here", and the validator stays silent.
public protocol ResourceInventory: Sendable {
    /// Where the answers come from, for messages ("the FSx service at http://127.0.0.1:7800").
    var source: String { get }
    func fileSystem(_ id: String) async throws -> FileSystemLookup?
}

extension ResourceInventory {
    public func fileSystem(_ id: String) async throws -> FileSystemLookup? { nil }
}

/// A finding of a resource validator, placed at a path of the document.
public struct ResourceFinding: Sendable {
    public var level: ValidationLevel
    public var message: String
    public var path: ConfigPath

    public init(_ level: ValidationLevel, _ message: String, at path: ConfigPath) {
        self.level = level
        self.message = message
        self.path = path
    }
}

public struct ResourceValidator: Sendable {
    public let name: String
    /// What the validator would check, for the "could not check" warning.
    public let subject: String
    /// Where the warning goes when the check cannot be made.
    let anchor: @Sendable (ClusterConfiguration) -> ConfigPath?
    let run: @Sendable (ClusterConfiguration, any ResourceInventory) async throws -> [ResourceFinding]

    public init(_ name: String, subject: String, anchor: @escaping @Sendable (ClusterConfiguration) -> ConfigPath?,
                _ run: @escaping @Sendable (ClusterConfiguration, any ResourceInventory) async throws -> [ResourceFinding]) {
        self.name = name
        self.subject = subject
        self.anchor = anchor
        self.run = run
    }
}

public enum ResourceValidators {
    public static let all: [ResourceValidator] = [existingFsx]

    /// Each FsxLustre FileSystemId names a file system that exists and is AVAILABLE (the original's
    /// ExistingFsxNetworkingValidator also describes the file systems first).
    static let existingFsx = ResourceValidator("ExistingFsxNetworkingValidator", subject: "the FSx file systems",
                                               anchor: { config in existingFileSystems(config).first?.path }) { config, inventory in
        try await withThrowingTaskGroup(of: ResourceFinding?.self) { group in
            for (id, path) in existingFileSystems(config) {
                group.addTask {
                    switch try await inventory.fileSystem(id) {
                    case .notFound?:
                        return ResourceFinding(.error, "FSx file system \(id) does not exist (asked \(inventory.source)); create it first or correct FileSystemId.", at: path)
                    case .found(let lifecycle)? where lifecycle != "AVAILABLE":
                        return ResourceFinding(.error, "FSx file system \(id) is \(lifecycle); it must be AVAILABLE to be mounted.", at: path)
                    default:
                        return nil
                    }
                }
            }
            var findings: [ResourceFinding] = []
            for try await finding in group { if let finding { findings.append(finding) } }
            return findings
        }
    }

    static func existingFileSystems(_ config: ClusterConfiguration) -> [(id: String, path: ConfigPath)] {
        config.sharedStorage.compactMap { storage in
            guard storage.storageType == "FsxLustre", let settings = storage.fsxLustre, let id = settings.fileSystemId else { return nil }
            return (id, settings.path / "FileSystemId")
        }
    }
}

extension ConfigValidation {
    /// Runs the resource validators against `inventory`, each within `timeout` seconds, and returns their
    /// findings as messages (sorted with the rest by the caller).
    public static func validateResources(document: ConfigDocument, config: ClusterConfiguration, inventory: any ResourceInventory,
                                         suppression: ValidatorSuppression = ValidatorSuppression(),
                                         validators: [ResourceValidator] = ResourceValidators.all,
                                         timeout: Double = 15) async -> [ValidationMessage] {
        await withTaskGroup(of: [ValidationMessage].self) { group in
            for validator in validators where !suppression.suppresses(validator.name) {
                group.addTask {
                    let outcome = await withTaskGroup(of: Result<[ResourceFinding], any Error>?.self) { race in
                        race.addTask {
                            do { return .success(try await validator.run(config, inventory)) } catch { return .failure(error) }
                        }
                        race.addTask {
                            try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                            return nil
                        }
                        let first = await race.next() ?? nil
                        race.cancelAll()
                        return first
                    }
                    switch outcome {
                    case .success(let findings)?:
                        return findings.map {
                            ValidationMessage(level: $0.level, type: validator.name, message: $0.message, location: document.location(of: $0.path))
                        }
                    case .failure(let error)?:
                        return [ValidationMessage(level: .warning, type: validator.name,
                                                  message: "Could not check \(validator.subject) with \(inventory.source): \(error)",
                                                  location: validator.anchor(config).flatMap { document.location(of: $0) })]
                    case nil:
                        return [ValidationMessage(level: .warning, type: validator.name,
                                                  message: "Could not check \(validator.subject) with \(inventory.source): no answer within \(String(format: "%g", timeout)) s.",
                                                  location: validator.anchor(config).flatMap { document.location(of: $0) })]
                    }
                }
            }
            var messages: [ValidationMessage] = []
            for await found in group { messages += found }
            return messages
        }
    }
}
