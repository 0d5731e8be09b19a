import Foundation

/// A cluster's status as the original reports it (describe-cluster's clusterStatus, list-clusters' filter).
public enum ClusterStatus: String, Codable, Sendable, CaseIterable {
    case createInProgress = "CREATE_IN_PROGRESS", createFailed = "CREATE_FAILED", createComplete = "CREATE_COMPLETE"
    case deleteInProgress = "DELETE_IN_PROGRESS", deleteFailed = "DELETE_FAILED", deleteComplete = "DELETE_COMPLETE"
    case updateInProgress = "UPDATE_IN_PROGRESS", updateComplete = "UPDATE_COMPLETE", updateFailed = "UPDATE_FAILED"

    public var isFailed: Bool { self == .createFailed || self == .updateFailed || self == .deleteFailed }
    public var isDeleting: Bool { self == .deleteInProgress || self == .deleteFailed || self == .deleteComplete }
    public var isComplete: Bool { self == .createComplete || self == .updateComplete || self == .deleteComplete }
}

/// The compute fleet's status as the original reports it (describe-compute-fleet, update-compute-fleet).
public enum ComputeFleetStatus: String, Codable, Sendable, CaseIterable {
    case startRequested = "START_REQUESTED", starting = "STARTING", running = "RUNNING", protected = "PROTECTED"
    case stopRequested = "STOP_REQUESTED", stopping = "STOPPING", stopped = "STOPPED", unknown = "UNKNOWN"
    case enabled = "ENABLED", disabled = "DISABLED"

    /// Stopped or on its way there: what an update that needs the fleet stopped accepts.
    public var isStopped: Bool { self == .stopped || self == .stopRequested || self == .stopping }
}

/// What is known about one cluster, kept on disk so every `pcluster` invocation (and a restarted
/// node agent) sees the same truth.
public struct ClusterRecord: Codable, Sendable, Equatable {
    public var name: String
    public var region: String
    public var version: String
    public var clusterStatus: ClusterStatus
    public var computeFleetStatus: ComputeFleetStatus
    public var creationTime: Date
    public var lastUpdatedTime: Date
    public var provider: ProviderKind
    /// The CloudFormation stack (AWS provider): its id and raw status, which describe-cluster reports beside
    /// the cluster status derived from it.
    public var stackArn: String?
    public var stackStatus: String?
    public var tags: [String: String]?

    public init(
        name: String, region: String, version: String, clusterStatus: ClusterStatus, computeFleetStatus: ComputeFleetStatus,
        creationTime: Date, lastUpdatedTime: Date, provider: ProviderKind
    ) {
        self.name = name
        self.region = region
        self.version = version
        self.clusterStatus = clusterStatus
        self.computeFleetStatus = computeFleetStatus
        self.creationTime = creationTime
        self.lastUpdatedTime = lastUpdatedTime
        self.provider = provider
    }
}

/// A directory per cluster under the state root: `cluster.json` (the record) and
/// `cluster-config.yaml` (the configuration the cluster runs with).
public struct ClusterStore: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// `PCLUSTER_STATE_DIR`, else /var/lib/pcluster-swift for root, else ~/.pcluster-swift.
    public static func defaultStore(environment: [String: String]) -> ClusterStore {
        if let dir = environment["PCLUSTER_STATE_DIR"], !dir.isEmpty { return ClusterStore(root: URL(fileURLWithPath: dir)) }
        if getuid() == 0 { return ClusterStore(root: URL(fileURLWithPath: "/var/lib/pcluster-swift")) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return ClusterStore(root: URL(fileURLWithPath: home).appendingPathComponent(".pcluster-swift"))
    }

    func directory(_ name: String) -> URL { root.appendingPathComponent("clusters").appendingPathComponent(name) }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    public func record(named name: String) throws -> ClusterRecord? {
        let file = directory(name).appendingPathComponent("cluster.json")
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        do {
            return try Self.decoder.decode(ClusterRecord.self, from: Data(contentsOf: file))
        } catch {
            throw StoreError(message: "the record of cluster '\(name)' at \(file.path) is unreadable: \(error.localizedDescription)")
        }
    }

    public func configurationPath(of name: String) -> String { directory(name).appendingPathComponent("cluster-config.yaml").path }

    public func list() throws -> [ClusterRecord] {
        let dir = root.appendingPathComponent("clusters")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return try names.sorted().compactMap { try record(named: $0) }
    }

    /// Writes the record (and optionally the config) atomically: a crash leaves the old or the new file, never half of one.
    public func save(_ record: ClusterRecord, configuration: String? = nil) throws {
        let dir = directory(record.name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if let configuration {
            try Data(configuration.utf8).write(to: dir.appendingPathComponent("cluster-config.yaml"), options: .atomic)
        }
        try Self.encoder.encode(record).write(to: dir.appendingPathComponent("cluster.json"), options: .atomic)
    }

    /// Reads, changes and writes a record under an exclusive lock, so pcluster and the node agent never
    /// overwrite each other's changes. Returns the new record; nil when the cluster does not exist.
    @discardableResult
    public func update(_ name: String, _ change: (inout ClusterRecord) -> Void) throws -> ClusterRecord? {
        let dir = directory(name)
        guard FileManager.default.fileExists(atPath: dir.path) else { return nil }
        return try FileLock.withExclusiveLock(dir.appendingPathComponent("cluster.lock").path) {
            guard var record = try record(named: name) else { return nil }
            change(&record)
            record.lastUpdatedTime = Date()
            try save(record)
            return record
        }
    }

    /// Removes a cluster's directory, its record last: a removal cut short (the process killed) leaves the
    /// cluster listed, so deleting it again finishes the job instead of leaving files nobody owns.
    public func remove(_ name: String) throws {
        let dir = directory(name)
        let record = "cluster.json"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for entry in entries where entry != record {
            try FileManager.default.removeItem(at: dir.appendingPathComponent(entry))
        }
        try FileManager.default.removeItem(at: dir)
    }

    public struct StoreError: Error, CustomStringConvertible {
        public init(message: String) { self.message = message }
        public let message: String
        public var description: String { message }
    }
}

/// The local provider's catalog: the store's records and configuration files.
public struct StoreCatalog: ClusterCatalog {
    public let store: ClusterStore

    public init(store: ClusterStore) { self.store = store }

    public func record(named name: String) throws -> ClusterRecord? { try store.record(named: name) }
    public func records() throws -> [ClusterRecord] { try store.list() }
    public func configuration(of name: String) throws -> String? {
        let path = store.configurationPath(of: name)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try String(contentsOfFile: path, encoding: .utf8)
    }
    public func configurationURL(of name: String) -> String { "file://" + store.configurationPath(of: name) }
    @discardableResult
    public func update(_ name: String, _ change: @Sendable (inout ClusterRecord) -> Void) async throws -> ClusterRecord? {
        try store.update(name, change)
    }
}
