import AWSFSx
import DataRepository
import Foundation
import LustreFS

/// The FSx API's data repository association calls, on the file systems the service owns.
extension FSxService {
    // MARK: Associations

    static func events(_ policy: FSxEventPolicy?, _ name: String) throws -> Set<RepositoryEventType>? {
        guard let policy else { return nil }
        let names = policy.Events ?? []
        guard names.count <= 3 else { throw FSxError.badRequest("\(name).Events takes at most 3 events.") }
        return Set(
            try names.map { event in
                guard let value = RepositoryEventType(rawValue: event) else {
                    throw FSxError.badRequest("\(name).Events: '\(event)' is not one of NEW, CHANGED, DELETED.")
                }
                return value
            })
    }

    func describe(_ association: Association, fileSystem: String) -> FSxAssociation {
        FSxAssociation(
            AssociationId: association.id, FileSystemId: fileSystem, Lifecycle: association.lifecycle.rawValue,
            ResourceARN: "arn:aws:fsx:\(region):\(accountId):association/\(fileSystem)/\(association.id)",
            FileSystemPath: association.fileSystemPath, DataRepositoryPath: association.dataRepositoryPath,
            BatchImportMetaDataOnCreate: association.batchImportMetaDataOnCreate,
            ImportedFileChunkSize: association.importedFileChunkSize,
            S3: FSxS3Configuration(
                AutoImportPolicy: FSxEventPolicy(Events: association.autoImport.map(\.rawValue).sorted()),
                AutoExportPolicy: FSxEventPolicy(Events: association.autoExport.map(\.rawValue).sorted())),
            Tags: FSxTag.list(association.tags), CreationTime: association.creationTime.timeIntervalSince1970,
            FailureDetails: association.failureMessage.map { FSxFailureDetails(Message: $0) })
    }

    /// Every association of every file system, with the file system it belongs to.
    func allAssociations() -> [(fs: String, association: Association)] {
        state.fileSystems.flatMap { record in
            (open[record.id]?.associations() ?? []).map { (record.id, $0) }
        }
    }

    func owner(ofAssociation id: String) throws -> (String, FileSystem) {
        guard let found = allAssociations().first(where: { $0.association.id == id }), let fs = open[found.fs] else {
            throw FSxError("DataRepositoryAssociationNotFound", "Data repository association '\(id)' does not exist.")
        }
        return (found.fs, fs)
    }

    /// Only S3 through the API, as FSx: a `file://` repository would let anyone holding API keys expose a
    /// local directory (with root's rights to read it) to every user of the mount. Local directory
    /// repositories stay an administrator's tool (`fsx-admin create-association`).
    static func checkS3Path(_ path: String, field: String) throws {
        guard path.hasPrefix("s3://") else {
            throw FSxError.badRequest("\(field) '\(path)' is not an S3 path: this API takes s3://bucket/prefix/ only.")
        }
    }

    func createAssociation(_ input: FSxCreateAssociationRequest) async throws -> FSxAssociationAnswer {
        let fsId = try Self.required(input.FileSystemId, "FileSystemId")
        _ = try record(fsId)
        let fs = try await ready(fsId)
        var tags: [String: String] = [:]
        for tag in try Self.tags(input.Tags) { tags[tag.Key] = tag.Value ?? "" }
        var request = AssociationRequest(
            fileSystemPath: try Self.required(input.FileSystemPath, "FileSystemPath"),
            dataRepositoryPath: try Self.required(input.DataRepositoryPath, "DataRepositoryPath"),
            batchImportMetaDataOnCreate: input.BatchImportMetaDataOnCreate ?? false,
            importedFileChunkSize: input.ImportedFileChunkSize ?? 1024,
            autoImport: try Self.events(input.S3?.AutoImportPolicy, "AutoImportPolicy") ?? [],
            autoExport: try Self.events(input.S3?.AutoExportPolicy, "AutoExportPolicy") ?? [], tags: tags)
        try Self.checkS3Path(request.dataRepositoryPath, field: "DataRepositoryPath")
        request.clientRequestToken = input.ClientRequestToken
        return FSxAssociationAnswer(Association: describe(try await fs.createAssociation(request), fileSystem: fsId))
    }

    func describeAssociations(_ input: FSxDescribeAssociationsRequest) async throws -> FSxDescribeAssociationsAnswer {
        var found = allAssociations()
        if let ids = input.AssociationIds {
            found = try ids.map { id in
                guard let match = found.first(where: { $0.association.id == id }) else {
                    throw FSxError("DataRepositoryAssociationNotFound", "Data repository association '\(id)' does not exist.")
                }
                return match
            }
        }
        for filter in input.Filters ?? [] {
            let name = filter.Name ?? ""
            let values = filter.Values ?? []
            switch name {
            case "file-system-id": found = found.filter { values.contains($0.fs) }
            case "data-repository-type":
                found = found.filter { entry in values.contains { $0 == "S3" } == (entry.association.location.scheme == .s3) }
            default: throw FSxError.badRequest("Filter '\(name)' is not one of file-system-id, data-repository-type.")
            }
        }
        let (page, next) = try Self.page(found, maxResults: input.MaxResults, nextToken: input.NextToken)
        return FSxDescribeAssociationsAnswer(Associations: page.map { describe($0.association, fileSystem: $0.fs) }, NextToken: next)
    }

    func updateAssociation(_ input: FSxUpdateAssociationRequest) async throws -> FSxAssociationAnswer {
        let id = try Self.required(input.AssociationId, "AssociationId")
        let (fsId, fs) = try owner(ofAssociation: id)
        let updated = try await fs.updateAssociation(
            id, importedFileChunkSize: input.ImportedFileChunkSize,
            autoImport: try Self.events(input.S3?.AutoImportPolicy, "AutoImportPolicy"),
            autoExport: try Self.events(input.S3?.AutoExportPolicy, "AutoExportPolicy"))
        return FSxAssociationAnswer(Association: describe(updated, fileSystem: fsId))
    }

    /// Each available association's HSM state counts (the dashboard's storage page).
    func describeHsmStates(_ input: FSxLocalHsmStatesRequest) async throws -> FSxLocalHsmStatesAnswer {
        var states: [FSxLocalHsmStates] = []
        for entry in allAssociations() where input.FileSystemId == nil || entry.fs == input.FileSystemId {
            guard entry.association.lifecycle == .available, let fs = open[entry.fs] else { continue }
            let id = entry.association.id
            let counts: HSMCounts
            if let cached = hsmCountCache[id], ContinuousClock.now - cached.at < .seconds(5) {
                counts = cached.counts
            } else {
                counts = try await fs.hsmCounts(association: id)
                hsmCountCache[id] = (ContinuousClock.now, counts)
            }
            let queued = try await fs.queuedExports()
            let moved = fs.transfers(association: entry.association.id)
            states.append(
                FSxLocalHsmStates(
                    AssociationId: entry.association.id, FileSystemId: entry.fs, FileSystemPath: entry.association.fileSystemPath,
                    Files: counts.files, Released: counts.released, Archived: counts.archived, Dirty: counts.dirty, Lost: counts.lost,
                    FileSystemQueuedExports: queued, Imported: moved.imported, Exported: moved.exported,
                    DeletedFromRepository: moved.deleted))
        }
        return FSxLocalHsmStatesAnswer(Associations: states)
    }

    func deleteAssociation(_ input: FSxDeleteAssociationRequest) async throws -> FSxDeleteAssociationAnswer {
        let id = try Self.required(input.AssociationId, "AssociationId")
        let (_, fs) = try owner(ofAssociation: id)
        let deleteData = input.DeleteDataInFileSystem ?? false
        let deleting = try await fs.deleteAssociation(id, deleteData: deleteData)
        return FSxDeleteAssociationAnswer(AssociationId: id, Lifecycle: deleting.lifecycle.rawValue, DeleteDataInFileSystem: deleteData)
    }
}
