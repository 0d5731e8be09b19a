import Foundation

/// A cluster's status as the original reports it (describe-cluster's clusterStatus, list-clusters' filter).
package enum ClusterStatus: String, Codable, Sendable, CaseIterable {
    case createInProgress = "CREATE_IN_PROGRESS", createFailed = "CREATE_FAILED", createComplete = "CREATE_COMPLETE"
    case deleteInProgress = "DELETE_IN_PROGRESS", deleteFailed = "DELETE_FAILED", deleteComplete = "DELETE_COMPLETE"
    case updateInProgress = "UPDATE_IN_PROGRESS", updateComplete = "UPDATE_COMPLETE", updateFailed = "UPDATE_FAILED"

    package var isFailed: Bool { self == .createFailed || self == .updateFailed || self == .deleteFailed }
    package var isDeleting: Bool { self == .deleteInProgress || self == .deleteFailed || self == .deleteComplete }
    package var isComplete: Bool { self == .createComplete || self == .updateComplete || self == .deleteComplete }
}

/// The compute fleet's status as the original reports it (describe-compute-fleet, update-compute-fleet).
package enum ComputeFleetStatus: String, Codable, Sendable, CaseIterable {
    case startRequested = "START_REQUESTED", starting = "STARTING", running = "RUNNING", protected = "PROTECTED"
    case stopRequested = "STOP_REQUESTED", stopping = "STOPPING", stopped = "STOPPED", unknown = "UNKNOWN"
    case enabled = "ENABLED", disabled = "DISABLED"

    /// Stopped or on its way there: what an update that needs the fleet stopped accepts.
    package var isStopped: Bool { self == .stopped || self == .stopRequested || self == .stopping }
}

/// What is known about one cluster, kept on disk so every `pcluster` invocation (and a restarted
/// node agent) sees the same truth.
package struct ClusterRecord: Codable, Sendable, Equatable {
    package var name: String
    package var region: String
    package var version: String
    package var clusterStatus: ClusterStatus
    package var computeFleetStatus: ComputeFleetStatus
    package var creationTime: Date
    package var lastUpdatedTime: Date
    package var provider: ProviderKind
    /// The CloudFormation stack (AWS provider): its id and raw status, which describe-cluster reports beside
    /// the cluster status derived from it.
    package var stackArn: String?
    package var stackStatus: String?
    package var tags: [String: String]?

    /// The region of a local cluster when neither the request, the environment nor the config names one.
    package static let defaultRegion = "us-east-1"

    package init(
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

/// A directory per cluster under the state root, one tree per region as the original's clusters live in one
/// CloudFormation namespace per region: `regions/<region>/<name>/` holds `cluster.json` (the record) and
/// `cluster-config.yaml` (the configuration the cluster runs with). Clusters made before regions scoped the
/// store stay where they are, in `clusters/<name>/`, and are found by the region in their record.
package struct ClusterStore: Sendable {
    package let root: URL
    /// The region this view of the store holds; nil: every region's, and a name must then be in one region
    /// only to be found.
    package let region: String?

    package init(root: URL, region: String? = nil) {
        self.root = root
        self.region = region
    }

    /// The same store, seen from one region (nil: all of them).
    package func scoped(to region: String?) -> ClusterStore { ClusterStore(root: root, region: region) }

    /// The store and region of the cluster whose files are in `clusterDirectory` (what the node agent is given).
    package static func holding(clusterDirectory: URL) -> ClusterStore {
        let parent = clusterDirectory.deletingLastPathComponent()
        if parent.deletingLastPathComponent().lastPathComponent == "regions" {
            return ClusterStore(root: parent.deletingLastPathComponent().deletingLastPathComponent(), region: parent.lastPathComponent)
        }
        return ClusterStore(root: parent.deletingLastPathComponent())
    }

    /// `PCLUSTER_STATE_DIR`, else /var/lib/pcluster-swift for root, else ~/.pcluster-swift.
    package static func defaultStore(environment: [String: String]) -> ClusterStore {
        if let dir = environment["PCLUSTER_STATE_DIR"], !dir.isEmpty { return ClusterStore(root: URL(fileURLWithPath: dir)) }
        if getuid() == 0 { return ClusterStore(root: URL(fileURLWithPath: "/var/lib/pcluster-swift")) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return ClusterStore(root: URL(fileURLWithPath: home).appendingPathComponent(".pcluster-swift"))
    }

    /// Where a new cluster of this name and region keeps its files.
    package func directory(name: String, region: String) -> URL {
        root.appendingPathComponent("regions").appendingPathComponent(region).appendingPathComponent(name)
    }

    var legacyClusters: URL { root.appendingPathComponent("clusters") }

    /// Every cluster directory in this view, with the region it belongs to.
    package func directories() -> [(region: String, directory: URL)] {
        let fm = FileManager.default
        var found: [(String, URL)] = []
        let regions = root.appendingPathComponent("regions")
        let regionNames = region.map { [$0] } ?? ((try? fm.contentsOfDirectory(atPath: regions.path)) ?? []).sorted()
        for regionName in regionNames {
            let dir = regions.appendingPathComponent(regionName)
            for name in ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
                found.append((regionName, dir.appendingPathComponent(name)))
            }
        }
        for name in ((try? fm.contentsOfDirectory(atPath: legacyClusters.path)) ?? []).sorted() {
            let dir = legacyClusters.appendingPathComponent(name)
            guard let legacy = try? Self.read(dir, name: name), region == nil || legacy.region == region else { continue }
            found.append((legacy.region, dir))
        }
        return found
    }

    /// The directory of the cluster called `name` in this view; nil when there is none. Without a region, a
    /// name that clusters of several regions share is an error naming them.
    package func locate(_ name: String) throws -> URL? {
        // The common case, without listing anything: this region's own directory.
        if let region, case let dir = directory(name: name, region: region), FileManager.default.fileExists(atPath: dir.path) { return dir }
        let matches = directories().filter { $0.directory.lastPathComponent == name }
        if matches.count > 1 {
            let regions = matches.map(\.region).joined(separator: ", ")
            throw StoreError(message: "clusters named '\(name)' exist in regions \(regions): choose one with --region or AWS_DEFAULT_REGION")
        }
        return matches.first?.directory
    }

    /// Where the cluster's files are, or will be when it is made in this view's region.
    package func directoryForCluster(_ name: String) -> URL {
        (try? locate(name)).flatMap { $0 } ?? directory(name: name, region: region ?? ClusterRecord.defaultRegion)
    }

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

    static func read(_ dir: URL, name: String) throws -> ClusterRecord? {
        let file = dir.appendingPathComponent("cluster.json")
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        do {
            return try decoder.decode(ClusterRecord.self, from: Data(contentsOf: file))
        } catch {
            throw StoreError(message: "the record of cluster '\(name)' at \(file.path) is unreadable: \(error.localizedDescription)")
        }
    }

    package func record(named name: String) throws -> ClusterRecord? {
        guard let dir = try locate(name) else { return nil }
        return try Self.read(dir, name: name)
    }

    package func configurationPath(of name: String) -> String {
        directoryForCluster(name).appendingPathComponent("cluster-config.yaml").path
    }

    package func list() throws -> [ClusterRecord] {
        try directories().compactMap { try Self.read($0.directory, name: $0.directory.lastPathComponent) }
    }

    /// Writes the record (and optionally the config) atomically: a crash leaves the old or the new file, never half of one.
    package func save(_ record: ClusterRecord, configuration: String? = nil) throws {
        let existing = try scoped(to: record.region).locate(record.name)
        let dir = existing ?? directory(name: record.name, region: record.region)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if let configuration {
            try Data(configuration.utf8).write(to: dir.appendingPathComponent("cluster-config.yaml"), options: .atomic)
        }
        try Self.encoder.encode(record).write(to: dir.appendingPathComponent("cluster.json"), options: .atomic)
    }

    /// Reads, changes and writes a record under an exclusive lock, so pcluster and the node agent never
    /// overwrite each other's changes. Returns the new record; nil when the cluster does not exist.
    @discardableResult
    package func update(_ name: String, _ change: (inout ClusterRecord) -> Void) throws -> ClusterRecord? {
        guard let dir = try locate(name) else { return nil }
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
    package func remove(_ name: String) throws {
        guard let dir = try locate(name) else { return }
        let record = "cluster.json"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for entry in entries where entry != record {
            try FileManager.default.removeItem(at: dir.appendingPathComponent(entry))
        }
        try FileManager.default.removeItem(at: dir)
        // An emptied region's directory goes too; another cluster arriving meanwhile keeps it (rmdir fails).
        rmdir(dir.deletingLastPathComponent().path)
    }

    package struct StoreError: Error, CustomStringConvertible {
        package init(message: String) { self.message = message }
        package let message: String
        package var description: String { message }
    }
}

/// The local provider's catalog: the store's records and configuration files.
package struct StoreCatalog: ClusterCatalog {
    package let store: ClusterStore

    package init(store: ClusterStore) { self.store = store }

    package func record(named name: String) throws -> ClusterRecord? { try store.record(named: name) }
    package func records() throws -> [ClusterRecord] { try store.list() }
    package func configuration(of name: String) throws -> String? {
        let path = store.configurationPath(of: name)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try String(contentsOfFile: path, encoding: .utf8)
    }
    package func configurationURL(of name: String) -> String { "file://" + store.configurationPath(of: name) }
    @discardableResult
    package func update(_ name: String, _ change: @Sendable (inout ClusterRecord) -> Void) async throws -> ClusterRecord? {
        try store.update(name, change)
    }
}
