import AWSCore
import AWSFSx
import ClusterConfig
import Foundation
import Provisioning
import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

/// What a local cluster attached at one MountDir, so delete-cluster undoes exactly that.
package struct SharedMount: Codable, Sendable, Hashable {
    package var name: String
    package var storageType: String
    package var mountDir: String
    package var fileSystemId: String?
    /// Created by this cluster (no FileSystemId in the config): deleted with it when DeletionPolicy is Delete.
    package var managed: Bool
    package var deleteWithCluster: Bool
    /// The directory did not exist before: removed at delete when empty.
    package var createdDirectory: Bool
    /// Mounted at MountDir: false only while a managed file system is being set up (nil in records
    /// written before this field existed, all of them mounted).
    package var mounted: Bool?
}

/// Shared storage on one machine. FsxLustre is mounted by the local FSx service (`fsxd` on 127.0.0.1:7800,
/// started when first needed) at MountDir, where every compute node's jobs see it; without a FileSystemId
/// the cluster creates a file system from FsxLustreSettings. Ebs and Efs become plain directories.
package enum LocalSharedStorage {
    package static let defaultEndpoint = "http://127.0.0.1:7800"

    /// The FSx endpoint: AWS_ENDPOINT_URL_FSX (or the profile's), else the local service.
    static func settings(_ environment: [String: String]) throws -> AWSSettings {
        var environment = environment
        if environment["AWS_ENDPOINT_URL_FSX"] == nil { environment["AWS_ENDPOINT_URL_FSX"] = defaultEndpoint }
        if environment["AWS_REGION"] == nil && environment["AWS_DEFAULT_REGION"] == nil { environment["AWS_REGION"] = "us-east-1" }
        return try AWSSettings.resolve(environment: environment)
    }

    /// Starts `fsxd` (beside the agent) when nothing listens on the local endpoint yet.
    static func ensureService(fsxd: String, endpoint: String, environment: [String: String], logPath: String) async throws {
        guard endpoint == defaultEndpoint, !PortAllocator.isListening(7800) else { return }
        guard FileManager.default.isExecutableFile(atPath: fsxd) else {
            throw LocalClusterError(
                "the local FSx service is not running on 127.0.0.1:7800 and \(fsxd) is missing; build it with `swift build --product fsxd`")
        }
        _ = try ProcessControl.spawn([fsxd, "--port", "7800"], environment: environment, logPath: logPath)
        let deadline = Date().addingTimeInterval(20)
        while !PortAllocator.isListening(7800) {
            guard Date() < deadline else { throw LocalClusterError("the local FSx service did not start (see \(logPath))") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Attaches every SharedStorage of the config; on failure, detaches what was attached and throws.
    static func attach(
        _ config: ClusterConfiguration, cluster: String, creation: RequestTokens, fsxd: String, environment: [String: String],
        logPath: String, progress: (String) -> Void
    ) async throws -> [SharedMount] {
        var attached: [SharedMount] = []
        do {
            for storage in config.sharedStorage {
                let existed = FileManager.default.fileExists(atPath: storage.mountDir)
                switch storage.storageType {
                case "FsxLustre":
                    let settings = try settings(environment)
                    try await ensureService(
                        fsxd: fsxd, endpoint: environment["AWS_ENDPOINT_URL_FSX"] ?? defaultEndpoint,
                        environment: environment, logPath: logPath)
                    let client = try FSxClient(settings: settings)
                    let lustre = storage.fsxLustre
                    var id = lustre?.fileSystemId
                    var managed = false
                    if let existing = id {
                        let lifecycle = try await client.lifecycle(of: existing)
                        guard let lifecycle else {
                            throw LocalClusterError(
                                "SharedStorage \(storage.name): FSx file system \(existing) does not exist (create it with `aws fsx create-file-system ... --endpoint-url \(defaultEndpoint)`)"
                            )
                        }
                        guard lifecycle == "AVAILABLE" else {
                            throw LocalClusterError("SharedStorage \(storage.name): FSx file system \(existing) is \(lifecycle), not AVAILABLE")
                        }
                    } else {
                        progress("shared storage \(storage.name): creating an FSx for Lustre file system")
                        let capacity = lustre?.storageCapacity ?? 1200
                        let deployment = lustre?.deploymentType ?? "SCRATCH_2"
                        let subnet = config.headNode.subnetId.isEmpty ? "subnet-00000000000000000" : config.headNode.subnetId
                        let throughput = lustre?.perUnitStorageThroughput
                        id = try await client.createFileSystem(
                            storageCapacity: capacity, deploymentType: deployment,
                            perUnitStorageThroughput: throughput, subnetId: subnet,
                            tags: ["parallelcluster:cluster-name": cluster, "Name": storage.name],
                            clientRequestToken: creation.token(storage.name))
                        managed = true
                        let created = id!
                        // Attached from here on, so a failure below deletes it with the rest.
                        attached.append(
                            SharedMount(
                                name: storage.name, storageType: storage.storageType, mountDir: storage.mountDir,
                                fileSystemId: created, managed: true, deleteWithCluster: true,
                                createdDirectory: false, mounted: false))
                        try await associate(
                            lustre, fileSystem: created, creation: creation, storage: storage.name, client: client, progress: progress)
                        attached.removeLast()
                    }
                    let fileSystem = id!
                    progress("shared storage \(storage.name): mounting \(fileSystem) on \(storage.mountDir)")
                    try await client.mount(fileSystem, at: storage.mountDir)
                    attached.append(
                        SharedMount(
                            name: storage.name, storageType: storage.storageType, mountDir: storage.mountDir,
                            fileSystemId: fileSystem, managed: managed,
                            deleteWithCluster: managed && (lustre?.deletionPolicy ?? "Delete") == "Delete",
                            createdDirectory: !existed))
                default:
                    // Ebs and Efs (and the other kinds) on one machine: a directory every node shares.
                    try FileManager.default.createDirectory(atPath: storage.mountDir, withIntermediateDirectories: true)
                    attached.append(
                        SharedMount(
                            name: storage.name, storageType: storage.storageType, mountDir: storage.mountDir,
                            fileSystemId: nil, managed: false, deleteWithCluster: false, createdDirectory: !existed))
                }
            }
            return attached
        } catch {
            _ = await detach(attached, environment: environment)
            throw error
        }
    }

    /// The managed file system's associations: DataRepositoryAssociations, or the older ImportPath (linked at
    /// "/", imported at creation, auto-import per AutoImportPolicy; ExportPath exports only through tasks, as
    /// on FSx). Waits until each is AVAILABLE, as the original's stack waits for its association resources.
    static func associate(
        _ lustre: ClusterConfiguration.FsxLustreSettings?, fileSystem: String, creation: RequestTokens, storage: String,
        client: FSxClient, progress: (String) -> Void
    ) async throws {
        guard let lustre else { return }
        var requests: [(name: String, path: String, repository: String, batch: Bool, chunk: Int?, imports: [String], exports: [String])] = []
        for dra in lustre.dataRepositoryAssociations {
            requests.append(
                (
                    dra.name, dra.fileSystemPath, dra.dataRepositoryPath, dra.batchImportMetaDataOnCreate,
                    dra.importedFileChunkSize, dra.autoImportPolicy, dra.autoExportPolicy
                ))
        }
        if let importPath = lustre.importPath {
            let events: [String] =
                switch lustre.autoImportPolicy {
                case "NEW": ["NEW"]
                case "NEW_CHANGED": ["NEW", "CHANGED"]
                case "NEW_CHANGED_DELETED": ["NEW", "CHANGED", "DELETED"]
                default: []
                }
            requests.append(("ImportPath", "/", importPath, true, lustre.importedFileChunkSize, events, []))
        }
        for request in requests {
            progress("shared storage \(storage): linking \(request.path) to \(request.repository)")
            let association = try await client.createDataRepositoryAssociation(
                fileSystemId: fileSystem, fileSystemPath: request.path, dataRepositoryPath: request.repository,
                batchImportMetaDataOnCreate: request.batch, importedFileChunkSize: request.chunk,
                autoImportEvents: request.imports, autoExportEvents: request.exports,
                clientRequestToken: creation.token(storage, request.name))
            let deadline = Date().addingTimeInterval(600)
            while true {
                let state = try await client.associationLifecycle(association)
                if state?.lifecycle == "AVAILABLE" { break }
                if let state, ["FAILED", "MISCONFIGURED"].contains(state.lifecycle) || Date() > deadline {
                    throw LocalClusterError(
                        "SharedStorage \(storage): the association of \(request.path) with \(request.repository) is \(state.lifecycle)\(state.message.map { ": \($0)" } ?? "")"
                    )
                }
                if state == nil {
                    throw LocalClusterError("SharedStorage \(storage): the association of \(request.path) with \(request.repository) vanished")
                }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
        }
    }

    /// Undoes `attach`: unmounts, deletes managed file systems whose policy says so, removes empty
    /// directories it created. Returns what could not be undone.
    static func detach(_ mounts: [SharedMount], environment: [String: String]) async -> [String] {
        var problems: [String] = []
        for mount in mounts.reversed() {
            if let id = mount.fileSystemId {
                do {
                    let client = try FSxClient(settings: try settings(environment))
                    if mount.mounted ?? true { try await client.unmount(mount.mountDir) }
                    if mount.deleteWithCluster { try await client.deleteFileSystem(id) }
                } catch {
                    problems.append("\(mount.mountDir) (\(id)): \(error)")
                    continue
                }
            }
            if mount.createdDirectory { rmdir(mount.mountDir) }
        }
        return problems
    }
}

/// ClientRequestTokens for what one creation of a cluster asks the FSx service to make: the same for a retry
/// within that creation, different for a cluster of the same name in another region or made again later
/// (which must not be handed the file system an earlier one retained). FSx takes at most 63 characters of
/// letters, digits and hyphens, so the parts are hashed.
struct RequestTokens: Sendable {
    let creation: String

    init(record: ClusterRecord) {
        creation = "\(record.region)/\(record.name)/\(record.creationTime.timeIntervalSince1970)"
    }

    func token(_ parts: String...) -> String {
        var hash: UInt64 = 14695981039346656037
        for byte in ([creation] + parts).joined(separator: "/").utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        return "pcluster-" + String(hash, radix: 16)
    }
}
