import AWSFSx
import DataRepository
import Foundation
import LustreFS
import LustreMount
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// An FSx API error: the code the AWS CLI prints (`__type`), the message, and the HTTP status.
package struct FSxError: Error, Sendable, CustomStringConvertible {
    package var code: String
    package var message: String
    package var status: Int

    package init(_ code: String, _ message: String, status: Int = 400) {
        self.code = code
        self.message = message
        self.status = status
    }

    package var description: String { "\(code): \(message)" }

    static func badRequest(_ message: String) -> FSxError { FSxError("BadRequest", message) }
}

/// One file system the service owns: what CreateFileSystem was given, and where its data lives.
struct FileSystemRecord: Codable, Sendable {
    var id: String
    var creationTime: Double
    var storageCapacity: Int
    var deploymentType: String
    var perUnitStorageThroughput: Int?
    var subnetIds: [String]
    var securityGroupIds: [String]
    var tags: [[String: String]]
    var mountName: String
    var clientRequestToken: String?
    var requestFingerprint: String?

    /// The tags as FSx describes them (kept as Key/Value dictionaries in the state file it has always had).
    var fsxTags: [FSxTag] { tags.map { FSxTag(Key: $0["Key"] ?? "", Value: $0["Value"] ?? "") } }
}

/// A mount the service made for a cluster (`LocalMountFileSystem`), remade when the service restarts.
struct MountRecord: Codable, Sendable {
    var fileSystemId: String
    var mountPoint: String
}

struct ServiceState: Codable, Sendable {
    var fileSystems: [FileSystemRecord] = []
    var mounts: [MountRecord]? = []
}

/// The FSx API on the file system core: file systems, data repository associations and tasks, in the
/// FSx JSON 1.1 shapes. Holds every file system it created open (their data movers run here) and keeps
/// its records under `stateDirectory` (root-only), so it comes back as it was after a restart.
package actor FSxService {
    package let stateDirectory: String
    let repositories: any RepositoryFactory
    let region: String
    let accountId = "123456789012"
    var state: ServiceState
    var open: [String: FileSystem] = [:]
    var mounted: [String: FuseMount] = [:]
    /// Each association's HSM counts, reused for 5 s: a dashboard asks every 3 s, and the count is a query over
    /// the association's whole subtree.
    var hsmCountCache: [String: (at: ContinuousClock.Instant, counts: HSMCounts)] = [:]
    /// Mount points whose unmount is in progress (the kernel letting go, requests ending).
    var unmounting: Set<String> = []
    /// Background work of the file systems (event feeds, sweeps, exports); off for tests that drive it.
    let background: Bool
    /// File systems whose record is saved and whose core is being opened: every request for one of them
    /// (a retry with the same ClientRequestToken included) waits for the same outcome.
    var openings: [String: Task<Void, any Error>] = [:]
    /// What the startup sweep removed: file system directories without a record (a crash between the two).
    package private(set) var reconciled: [String] = []

    /// Seconds a restore may receive nothing before its readers get EIO (`FileSystemOptions.readStallSeconds`).
    let readStallSeconds: Double

    package init(
        stateDirectory: String, repositories: any RepositoryFactory, region: String, background: Bool = true,
        readStallSeconds: Double = 60
    ) throws {
        self.stateDirectory = stateDirectory
        self.readStallSeconds = readStallSeconds
        self.repositories = repositories
        self.region = region
        self.background = background
        try FileManager.default.createDirectory(
            atPath: stateDirectory + "/filesystems", withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        chmod(stateDirectory, 0o700)
        let file = stateDirectory + "/service.json"
        if let data = FileManager.default.contents(atPath: file) {
            state = try JSONDecoder().decode(ServiceState.self, from: data)
        } else {
            state = ServiceState()
        }
        reconciled = Self.removeUnrecordedFileSystems(in: stateDirectory + "/filesystems", recorded: Set(state.fileSystems.map(\.id)))
    }

    /// A file system directory whose record was never saved (the service was killed while creating it) is
    /// removed, and said on standard error: a restart leaves nothing on disk that no record owns.
    static func removeUnrecordedFileSystems(in directory: String, recorded: Set<String>) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var removed: [String] = []
        for entry in entries.sorted() where !recorded.contains(entry) {
            do {
                try FileManager.default.removeItem(atPath: directory + "/" + entry)
                removed.append(entry)
                FileHandle.standardError.write(
                    Data("fsxd: removed \(directory)/\(entry): no file system record owns it (a create that did not finish)\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("fsxd: cannot remove \(directory)/\(entry), which no record owns: \(error)\n".utf8))
            }
        }
        return removed
    }

    /// Opens every file system of the state and remakes its mounts (after a restart).
    package func start() async throws {
        for record in state.fileSystems where open[record.id] == nil {
            open[record.id] = try await openFileSystem(record)
        }
        for mount in state.mounts ?? [] where mounted[mount.mountPoint] == nil {
            if let fs = open[mount.fileSystemId] {
                do {
                    mounted[mount.mountPoint] = try FuseMount.mount(fs, at: mount.mountPoint)
                } catch {
                    FileHandle.standardError.write(Data("fsxd: cannot mount \(mount.fileSystemId) on \(mount.mountPoint) again: \(error)\n".utf8))
                }
            }
        }
    }

    /// Unmounts (the records stay, so a restart mounts again) and closes every file system.
    package func stop() async {
        let mounts = Array(mounted.values)
        mounted.removeAll()
        await withTaskGroup(of: Void.self) { group in
            for mount in mounts { group.addTask { await mount.unmountWithoutBlocking() } }
        }
        for fs in open.values { await fs.close() }
        open.removeAll()
    }

    /// The open file system with this id (the mount and the cluster use it).
    package func fileSystem(_ id: String) throws -> FileSystem {
        guard let fs = open[id] else { throw FSxError("FileSystemNotFound", "File system '\(id)' does not exist.") }
        return fs
    }

    /// The file system once its creation finished: waits for an opening in progress (a concurrent request with
    /// the same ClientRequestToken, or one that names the id it was just given).
    func ready(_ id: String) async throws -> FileSystem {
        if let opening = openings[id] { try await opening.value }
        return try fileSystem(id)
    }

    /// Opens a file system whose record is saved; if the core cannot be opened the record and its directory go
    /// again, so a failed create leaves nothing behind.
    func finishOpening(_ record: FileSystemRecord) async throws {
        defer { openings[record.id] = nil }
        do {
            open[record.id] = try await openFileSystem(record)
        } catch {
            state.fileSystems.removeAll { $0.id == record.id }
            do { try save() } catch {
                // The record stays on disk; the next start finds its directory gone and drops it again.
                FileHandle.standardError.write(Data("fsxd: cannot drop the record of \(record.id), whose creation failed: \(error)\n".utf8))
            }
            try? FileManager.default.removeItem(atPath: "\(stateDirectory)/filesystems/\(record.id)")
            throw error
        }
    }

    func openFileSystem(_ record: FileSystemRecord) async throws -> FileSystem {
        var options = FileSystemOptions(capacityBytes: Int64(record.storageCapacity) << 30)
        options.background = background
        options.readStallSeconds = readStallSeconds
        return try await FileSystem.open(
            directory: "\(stateDirectory)/filesystems/\(record.id)", options: options,
            repositories: repositories)
    }

    func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(state)
        let file = stateDirectory + "/service.json"
        let temporary = file + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]),
            rename(temporary, file) == 0
        else {
            throw FSxError("InternalServerError", "the service cannot write its state in \(stateDirectory)", status: 500)
        }
    }

    // MARK: Dispatch

    /// Runs one operation (the part of X-Amz-Target after the prefix) on a JSON body; returns the JSON answer.
    package func handle(operation: String, body: Data) async -> (status: Int, body: Data) {
        do {
            let output: Data
            switch operation {
            case "CreateFileSystem": output = try Self.encode(await createFileSystem(Self.decode(body, for: operation)))
            case "DescribeFileSystems": output = try Self.encode(await describeFileSystems(Self.decode(body, for: operation)))
            case "DeleteFileSystem": output = try Self.encode(await deleteFileSystem(Self.decode(body, for: operation)))
            case "CreateDataRepositoryAssociation": output = try Self.encode(await createAssociation(Self.decode(body, for: operation)))
            case "DescribeDataRepositoryAssociations": output = try Self.encode(await describeAssociations(Self.decode(body, for: operation)))
            case "UpdateDataRepositoryAssociation": output = try Self.encode(await updateAssociation(Self.decode(body, for: operation)))
            case "DeleteDataRepositoryAssociation": output = try Self.encode(await deleteAssociation(Self.decode(body, for: operation)))
            case "CreateDataRepositoryTask": output = try Self.encode(await createTask(Self.decode(body, for: operation)))
            case "DescribeDataRepositoryTasks": output = try Self.encode(await describeTasks(Self.decode(body, for: operation)))
            case "CancelDataRepositoryTask": output = try Self.encode(await cancelTask(Self.decode(body, for: operation)))
            case "ListTagsForResource": output = try Self.encode(listTags(Self.decode(body, for: operation)))
            case "LocalMountFileSystem": output = try Self.encode(await mountFileSystem(Self.decode(body, for: operation)))
            case "LocalUnmountFileSystem": output = try Self.encode(await unmountFileSystem(Self.decode(body, for: operation)))
            case "LocalDescribeHsmStates": output = try Self.encode(await describeHsmStates(Self.decode(body, for: operation)))
            default:
                throw FSxError("UnknownOperationException", "The operation \(operation) is not supported by this FSx service.")
            }
            return (200, output)
        } catch let error as FSxError {
            return (error.status, Self.errorBody(error))
        } catch let error as AssociationError {
            return (400, Self.errorBody(FSxError(error.code.rawValue, error.message)))
        } catch let error as TaskError {
            return (400, Self.errorBody(FSxError(error.code.rawValue, error.message)))
        } catch {
            return (500, Self.errorBody(FSxError("InternalServerError", "\(error)", status: 500)))
        }
    }

    /// `{"__type": ..., "Message": ...}` with `__type` first, as AWS writes it. Put together from two encoded
    /// strings because a JSON encoder orders keys either sorted (Message first) or not at all.
    package static func errorBody(_ error: FSxError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let code = try? encoder.encode(error.code), let message = try? encoder.encode(error.message) else { return Data() }
        return Data("{\"__type\":".utf8) + code + Data(",\"Message\":".utf8) + message + Data("}".utf8)
    }

    // MARK: File systems

    /// StorageCapacity rules of FSx for Lustre on SSD (GiB).
    static func checkCapacity(_ capacity: Int, deployment: String) throws {
        let valid: Bool
        switch deployment {
        case "SCRATCH_1": valid = capacity == 1200 || capacity == 2400 || (capacity > 0 && capacity % 3600 == 0)
        default: valid = capacity == 1200 || (capacity > 0 && capacity % 2400 == 0)
        }
        guard valid else {
            let rule = deployment == "SCRATCH_1" ? "1200, 2400, or a multiple of 3600" : "1200, or a multiple of 2400"
            throw FSxError("InvalidParameterValue", "StorageCapacity \(capacity) GiB is not valid for \(deployment): use \(rule) GiB.")
        }
    }

    func createFileSystem(_ input: FSxCreateFileSystemRequest) async throws -> FSxFileSystemAnswer {
        guard try Self.required(input.FileSystemType, "FileSystemType") == "LUSTRE" else {
            throw FSxError.badRequest("This service creates FileSystemType LUSTRE only.")
        }
        let capacity = try Self.required(input.StorageCapacity, "StorageCapacity")
        guard let subnets = input.SubnetIds, !subnets.isEmpty else {
            throw FSxError("InvalidNetworkSettings", "SubnetIds needs one subnet.")
        }
        let deployment = input.LustreConfiguration?.DeploymentType ?? "SCRATCH_1"
        guard ["SCRATCH_1", "SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2"].contains(deployment) else {
            throw FSxError.badRequest("DeploymentType '\(deployment)' is not one of SCRATCH_1, SCRATCH_2, PERSISTENT_1, PERSISTENT_2.")
        }
        guard subnets.count == 1 else {
            throw FSxError("InvalidNetworkSettings", "A \(deployment) file system takes exactly one subnet.")
        }
        try Self.checkCapacity(capacity, deployment: deployment)
        let throughput = input.LustreConfiguration?.PerUnitStorageThroughput
        switch deployment {
        case "PERSISTENT_1":
            guard let throughput, [50, 100, 200].contains(throughput) else {
                throw FSxError("InvalidPerUnitStorageThroughput", "PERSISTENT_1 needs PerUnitStorageThroughput 50, 100 or 200.")
            }
        case "PERSISTENT_2":
            guard let throughput, [125, 250, 500, 1000].contains(throughput) else {
                throw FSxError("InvalidPerUnitStorageThroughput", "PERSISTENT_2 needs PerUnitStorageThroughput 125, 250, 500 or 1000.")
            }
        default:
            if throughput != nil {
                throw FSxError("IncompatibleParameterError", "PerUnitStorageThroughput applies to PERSISTENT deployment types only.")
            }
        }
        let tags = try Self.tags(input.Tags)
        let token = input.ClientRequestToken
        // Built from sorted text: the fingerprint must not depend on the order the tags came in.
        let tagText = tags.map { "\($0.Key)=\($0.Value ?? "")" }.sorted().joined(separator: ",")
        let fingerprint = "\(capacity)|\(deployment)|\(throughput ?? 0)|\(subnets.joined(separator: ","))|\(tagText)"
        // The token's check and the record's insertion happen with no suspension in between (this is an
        // actor), so concurrent calls with one token make one file system.
        if let token, let earlier = state.fileSystems.first(where: { $0.clientRequestToken == token }) {
            guard earlier.requestFingerprint == fingerprint else {
                throw FSxError("IncompatibleParameterError", "ClientRequestToken '\(token)' was used with different parameters.")
            }
            _ = try await ready(earlier.id)
            return FSxFileSystemAnswer(FileSystem: describe(try record(earlier.id)))
        }
        guard state.fileSystems.count < 100 else {
            throw FSxError("ServiceLimitExceeded", "This service holds at most 100 file systems.")
        }
        let id = ResourceId.make("fs")
        let record = FileSystemRecord(
            id: id, creationTime: Date().timeIntervalSince1970, storageCapacity: capacity,
            deploymentType: deployment, perUnitStorageThroughput: throughput, subnetIds: subnets,
            securityGroupIds: input.SecurityGroupIds ?? [], tags: tags.map { ["Key": $0.Key, "Value": $0.Value ?? ""] },
            mountName: String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 36),
            clientRequestToken: token, requestFingerprint: fingerprint)
        // The record is saved before its directory exists: a crash in between leaves a record that the next
        // start opens (making the directory), never a directory without a record.
        state.fileSystems.append(record)
        do {
            try save()
        } catch {
            state.fileSystems.removeAll { $0.id == id }
            throw error
        }
        let opening = Task { try await self.finishOpening(record) }
        openings[id] = opening
        try await opening.value
        return FSxFileSystemAnswer(FileSystem: describe(record))
    }

    func describe(_ record: FileSystemRecord) -> FSxFileSystem {
        let lustre = FSxLustreConfiguration(
            DeploymentType: record.deploymentType, MountName: record.mountName,
            WeeklyMaintenanceStartTime: "1:05:00", DataCompressionType: "NONE",
            CopyTagsToBackups: false, PerUnitStorageThroughput: record.perUnitStorageThroughput)
        return FSxFileSystem(
            OwnerId: accountId, CreationTime: record.creationTime, FileSystemId: record.id, FileSystemType: "LUSTRE",
            Lifecycle: open[record.id] == nil ? "CREATING" : "AVAILABLE", StorageCapacity: record.storageCapacity, StorageType: "SSD",
            VpcId: "vpc-0local00000000000", SubnetIds: record.subnetIds, NetworkInterfaceIds: [],
            DNSName: "\(record.id).fsx.\(region).amazonaws.com",
            ResourceARN: "arn:aws:fsx:\(region):\(accountId):file-system/\(record.id)",
            Tags: record.fsxTags, LustreConfiguration: lustre, FileSystemTypeVersion: "2.15")
    }

    func record(_ id: String) throws -> FileSystemRecord {
        guard let record = state.fileSystems.first(where: { $0.id == id }) else {
            throw FSxError("FileSystemNotFound", "File system '\(id)' does not exist.")
        }
        return record
    }

    func describeFileSystems(_ input: FSxDescribeFileSystemsRequest) async throws -> FSxDescribeFileSystemsAnswer {
        var records = state.fileSystems
        if let ids = input.FileSystemIds {
            records = try ids.map { try record($0) }
        }
        let (page, next) = try Self.page(records, maxResults: input.MaxResults, nextToken: input.NextToken)
        return FSxDescribeFileSystemsAnswer(FileSystems: page.map { describe($0) }, NextToken: next)
    }

    func deleteFileSystem(_ input: FSxDeleteFileSystemRequest) async throws -> FSxDeleteFileSystemAnswer {
        let id = try Self.required(input.FileSystemId, "FileSystemId")
        let record = try record(id)
        _ = try await ready(id)
        for mount in (state.mounts ?? []).filter({ $0.fileSystemId == id }) {
            _ = try await unmountFileSystem(FSxLocalMountRequest(FileSystemId: id, MountPoint: mount.mountPoint))
        }
        if let fs = open.removeValue(forKey: id) {
            // Associations' queues and bucket notification entries go with the file system.
            for association in fs.associations() {
                do {
                    _ = try await fs.deleteAssociation(association.id, deleteData: false)
                    _ = try await fs.waitForAssociation(association.id, timeout: 30, until: { _ in false })
                } catch {
                    // The file system goes anyway; what is left is the association's queue or bucket notification.
                    FileHandle.standardError.write(
                        Data("fsxd: deleting \(id): association \(association.id) was not cleaned up: \(error)\n".utf8))
                }
            }
            await fs.close()
        }
        try? FileManager.default.removeItem(atPath: "\(stateDirectory)/filesystems/\(record.id)")
        state.fileSystems.removeAll { $0.id == id }
        try save()
        return FSxDeleteFileSystemAnswer(FileSystemId: id, Lifecycle: "DELETING")
    }
}

/// The service in a ServiceGroup, listed before the HTTP server: it runs until the group shuts down, and then
/// (after the server, shut down first, stopped taking requests) unmounts and closes every file system.
extension FSxService: Service {
    package nonisolated func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }
}
