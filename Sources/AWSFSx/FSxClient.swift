import AWSCore
import Foundation

/// The FSx API over JSON 1.1 (target prefix `AWSSimbaAPIService_v20180301.`): what the cluster needs of it,
/// plus the local service's mount calls. Works against AWS and against `fsxd`.
public final class FSxClient: Sendable {
    public static let targetPrefix = "AWSSimbaAPIService_v20180301"
    public let client: AWSClient

    public init(settings: AWSSettings) throws(AWSConfigurationError) {
        client = try AWSClient(service: .fsx, settings: settings, wireProtocol: .json11(targetPrefix: Self.targetPrefix))
    }

    func call(_ operation: String, _ input: [String: Any], idempotent: Bool = true) async throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: input, options: [.sortedKeys])
        let answer = try await client.json(operation, body, isIdempotent: idempotent, timeout: 120)
        guard !answer.isEmpty else { return [:] }
        return (try JSONSerialization.jsonObject(with: answer) as? [String: Any]) ?? [:]
    }

    /// The file system's Lifecycle, or nil when there is no such file system.
    public func lifecycle(of fileSystemId: String) async throws -> String? {
        do {
            let answer = try await call("DescribeFileSystems", ["FileSystemIds": [fileSystemId]])
            return ((answer["FileSystems"] as? [[String: Any]])?.first?["Lifecycle"] as? String)
        } catch let error as AWSServiceError where error.code == "FileSystemNotFound" {
            return nil
        }
    }

    /// The file system's Lifecycle and subnets, or nil when there is no such file system.
    public func describe(_ fileSystemId: String) async throws -> (lifecycle: String, subnetIds: [String])? {
        do {
            let answer = try await call("DescribeFileSystems", ["FileSystemIds": [fileSystemId]])
            guard let system = (answer["FileSystems"] as? [[String: Any]])?.first else { return nil }
            return ((system["Lifecycle"] as? String) ?? "", (system["SubnetIds"] as? [String]) ?? [])
        } catch let error as AWSServiceError where error.code == "FileSystemNotFound" {
            return nil
        }
    }

    /// Creates a Lustre file system; returns its id.
    public func createFileSystem(storageCapacity: Int, deploymentType: String, perUnitStorageThroughput: Int?,
                                 subnetId: String, tags: [String: String], clientRequestToken: String) async throws -> String {
        var lustre: [String: Any] = ["DeploymentType": deploymentType]
        if let perUnitStorageThroughput { lustre["PerUnitStorageThroughput"] = perUnitStorageThroughput }
        let answer = try await call("CreateFileSystem", [
            "FileSystemType": "LUSTRE", "StorageCapacity": storageCapacity, "SubnetIds": [subnetId],
            "LustreConfiguration": lustre, "ClientRequestToken": clientRequestToken,
            "Tags": tags.sorted { $0.key < $1.key }.map { ["Key": $0.key, "Value": $0.value] },
        ])
        guard let id = (answer["FileSystem"] as? [String: Any])?["FileSystemId"] as? String else {
            throw AWSTransportError(reason: .malformedResponse, endpoint: client.endpoint.description, detail: "CreateFileSystem answered without a FileSystemId")
        }
        return id
    }

    /// Creates a data repository association; returns its id.
    public func createDataRepositoryAssociation(fileSystemId: String, fileSystemPath: String, dataRepositoryPath: String,
                                                batchImportMetaDataOnCreate: Bool, importedFileChunkSize: Int?,
                                                autoImportEvents: [String], autoExportEvents: [String],
                                                clientRequestToken: String) async throws -> String {
        var input: [String: Any] = [
            "FileSystemId": fileSystemId, "FileSystemPath": fileSystemPath, "DataRepositoryPath": dataRepositoryPath,
            "BatchImportMetaDataOnCreate": batchImportMetaDataOnCreate, "ClientRequestToken": clientRequestToken,
            "S3": ["AutoImportPolicy": ["Events": autoImportEvents], "AutoExportPolicy": ["Events": autoExportEvents]],
        ]
        if let importedFileChunkSize { input["ImportedFileChunkSize"] = importedFileChunkSize }
        let answer = try await call("CreateDataRepositoryAssociation", input)
        guard let id = (answer["Association"] as? [String: Any])?["AssociationId"] as? String else {
            throw AWSTransportError(reason: .malformedResponse, endpoint: client.endpoint.description,
                                    detail: "CreateDataRepositoryAssociation answered without an AssociationId")
        }
        return id
    }

    /// An association's Lifecycle and, when FAILED or MISCONFIGURED, the reason; nil when it does not exist.
    public func associationLifecycle(_ associationId: String) async throws -> (lifecycle: String, message: String?)? {
        do {
            let answer = try await call("DescribeDataRepositoryAssociations", ["AssociationIds": [associationId]])
            guard let association = (answer["Associations"] as? [[String: Any]])?.first,
                  let lifecycle = association["Lifecycle"] as? String else { return nil }
            return (lifecycle, (association["FailureDetails"] as? [String: Any])?["Message"] as? String)
        } catch let error as AWSServiceError where error.code == "DataRepositoryAssociationNotFound" {
            return nil
        }
    }

    public func deleteFileSystem(_ fileSystemId: String) async throws {
        _ = try await call("DeleteFileSystem", ["FileSystemId": fileSystemId], idempotent: false)
    }

    /// Local service only: mounts the file system at `mountPoint` on this machine.
    public func mount(_ fileSystemId: String, at mountPoint: String) async throws {
        _ = try await call("LocalMountFileSystem", ["FileSystemId": fileSystemId, "MountPoint": mountPoint])
    }

    /// Local service only.
    public func unmount(_ mountPoint: String) async throws {
        _ = try await call("LocalUnmountFileSystem", ["MountPoint": mountPoint])
    }
}
