import AWSCore
import Foundation

/// The FSx API over JSON 1.1 (target prefix `AWSSimbaAPIService_v20180301.`): what the cluster needs of it,
/// plus the local service's mount calls. Works against AWS and against `fsxd`.
package final class FSxClient: Sendable {
    package static let targetPrefix = "AWSSimbaAPIService_v20180301"
    package let client: AWSClient

    package init(settings: AWSSettings) throws(AWSConfigurationError) {
        client = try AWSClient(service: .fsx, settings: settings, wireProtocol: .json11(targetPrefix: Self.targetPrefix))
    }

    package func call<Answer: Decodable>(
        _ operation: String, _ input: some Encodable, idempotent: Bool = true,
        as _: Answer.Type = FSxEmptyAnswer.self
    ) async throws -> Answer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let answer = try await client.json(operation, try encoder.encode(input), isIdempotent: idempotent, timeout: 120)
        do {
            return try JSONDecoder().decode(Answer.self, from: answer.isEmpty ? Data("{}".utf8) : answer)
        } catch {
            throw AWSTransportError(
                reason: .malformedResponse, endpoint: client.endpoint.description,
                detail: "\(operation) answered a body that is not its FSx shape: \(error)")
        }
    }

    /// The file system's Lifecycle, or nil when there is no such file system.
    package func lifecycle(of fileSystemId: String) async throws -> String? {
        try await describe(fileSystemId)?.lifecycle
    }

    /// The file system's Lifecycle and subnets, or nil when there is no such file system.
    package func describe(_ fileSystemId: String) async throws -> (lifecycle: String, subnetIds: [String])? {
        do {
            let answer = try await call(
                "DescribeFileSystems", FSxDescribeFileSystemsRequest(FileSystemIds: [fileSystemId]),
                as: FSxDescribeFileSystemsAnswer.self)
            guard let system = answer.FileSystems.first else { return nil }
            return (system.Lifecycle ?? "", system.SubnetIds ?? [])
        } catch let error as AWSServiceError where error.code == "FileSystemNotFound" {
            return nil
        }
    }

    /// Creates a Lustre file system; returns its id.
    package func createFileSystem(
        storageCapacity: Int, deploymentType: String, perUnitStorageThroughput: Int?,
        subnetId: String, tags: [String: String], clientRequestToken: String
    ) async throws -> String {
        let request = FSxCreateFileSystemRequest(
            FileSystemType: "LUSTRE", StorageCapacity: storageCapacity, SubnetIds: [subnetId],
            LustreConfiguration: FSxLustreConfigurationRequest(DeploymentType: deploymentType, PerUnitStorageThroughput: perUnitStorageThroughput),
            Tags: FSxTag.list(tags), ClientRequestToken: clientRequestToken)
        return try await call("CreateFileSystem", request, as: FSxFileSystemAnswer.self).FileSystem.FileSystemId
    }

    /// Creates a data repository association; returns its id.
    package func createDataRepositoryAssociation(
        fileSystemId: String, fileSystemPath: String, dataRepositoryPath: String,
        batchImportMetaDataOnCreate: Bool, importedFileChunkSize: Int?,
        autoImportEvents: [String], autoExportEvents: [String],
        clientRequestToken: String
    ) async throws -> String {
        let request = FSxCreateAssociationRequest(
            FileSystemId: fileSystemId, FileSystemPath: fileSystemPath, DataRepositoryPath: dataRepositoryPath,
            BatchImportMetaDataOnCreate: batchImportMetaDataOnCreate, ImportedFileChunkSize: importedFileChunkSize,
            S3: FSxS3Configuration(
                AutoImportPolicy: FSxEventPolicy(Events: autoImportEvents), AutoExportPolicy: FSxEventPolicy(Events: autoExportEvents)),
            ClientRequestToken: clientRequestToken)
        return try await call("CreateDataRepositoryAssociation", request, as: FSxAssociationAnswer.self).Association.AssociationId
    }

    /// An association's Lifecycle and, when FAILED or MISCONFIGURED, the reason; nil when it does not exist.
    package func associationLifecycle(_ associationId: String) async throws -> (lifecycle: String, message: String?)? {
        do {
            let answer = try await call(
                "DescribeDataRepositoryAssociations", FSxDescribeAssociationsRequest(AssociationIds: [associationId]),
                as: FSxDescribeAssociationsAnswer.self)
            guard let association = answer.Associations.first, let lifecycle = association.Lifecycle else { return nil }
            return (lifecycle, association.FailureDetails?.Message)
        } catch let error as AWSServiceError where error.code == "DataRepositoryAssociationNotFound" {
            return nil
        }
    }

    package func deleteFileSystem(_ fileSystemId: String) async throws {
        _ = try await call("DeleteFileSystem", FSxDeleteFileSystemRequest(FileSystemId: fileSystemId), idempotent: false)
    }

    /// Local service only: mounts the file system at `mountPoint` on this machine.
    package func mount(_ fileSystemId: String, at mountPoint: String) async throws {
        _ = try await call("LocalMountFileSystem", FSxLocalMountRequest(FileSystemId: fileSystemId, MountPoint: mountPoint))
    }

    /// Local service only.
    package func unmount(_ mountPoint: String) async throws {
        _ = try await call("LocalUnmountFileSystem", FSxLocalMountRequest(FileSystemId: nil, MountPoint: mountPoint))
    }
}
