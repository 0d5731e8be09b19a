import Foundation

// The FSx API's JSON 1.1 shapes that this project sends and serves, shared by `FSxClient` and the local
// service (`FSxService`) so the two cannot drift apart. Property names are the wire names, as in AWSSQS.
// Request fields are optional: the service itself says which one is missing, with FSx's error codes.

package struct FSxTag: Codable, Sendable, Hashable {
    package var Key: String
    package var Value: String?
    package init(Key: String, Value: String?) {
        self.Key = Key
        self.Value = Value
    }

    /// Tags from a dictionary, sorted by key (a dictionary has no order of its own).
    package static func list(_ tags: [String: String]) -> [FSxTag] {
        tags.sorted { $0.key < $1.key }.map { FSxTag(Key: $0.key, Value: $0.value) }
    }
}

package struct FSxFilter: Codable, Sendable, Hashable {
    package var Name: String?
    package var Values: [String]?
    package init(Name: String?, Values: [String]?) {
        self.Name = Name
        self.Values = Values
    }
}

package struct FSxFailureDetails: Codable, Sendable, Hashable {
    package var Message: String?
    package init(Message: String?) { self.Message = Message }
}

// MARK: File systems

package struct FSxLustreConfigurationRequest: Codable, Sendable, Hashable {
    package var DeploymentType: String?
    package var PerUnitStorageThroughput: Int?
    package init(DeploymentType: String?, PerUnitStorageThroughput: Int? = nil) {
        self.DeploymentType = DeploymentType
        self.PerUnitStorageThroughput = PerUnitStorageThroughput
    }
}

package struct FSxCreateFileSystemRequest: Codable, Sendable, Hashable {
    package var FileSystemType: String?
    package var StorageCapacity: Int?
    package var StorageType: String?
    package var SubnetIds: [String]?
    package var SecurityGroupIds: [String]?
    package var LustreConfiguration: FSxLustreConfigurationRequest?
    package var Tags: [FSxTag]?
    package var ClientRequestToken: String?
    package init(
        FileSystemType: String?, StorageCapacity: Int?, SubnetIds: [String]?, SecurityGroupIds: [String]? = nil,
        LustreConfiguration: FSxLustreConfigurationRequest? = nil, Tags: [FSxTag]? = nil, ClientRequestToken: String? = nil
    ) {
        self.FileSystemType = FileSystemType
        self.StorageCapacity = StorageCapacity
        self.SubnetIds = SubnetIds
        self.SecurityGroupIds = SecurityGroupIds
        self.LustreConfiguration = LustreConfiguration
        self.Tags = Tags
        self.ClientRequestToken = ClientRequestToken
    }
}

package struct FSxLustreConfiguration: Codable, Sendable, Hashable {
    package var DeploymentType: String
    package var MountName: String
    package var WeeklyMaintenanceStartTime: String
    package var DataCompressionType: String
    package var CopyTagsToBackups: Bool
    package var PerUnitStorageThroughput: Int?
    package init(
        DeploymentType: String, MountName: String, WeeklyMaintenanceStartTime: String, DataCompressionType: String,
        CopyTagsToBackups: Bool, PerUnitStorageThroughput: Int?
    ) {
        self.DeploymentType = DeploymentType
        self.MountName = MountName
        self.WeeklyMaintenanceStartTime = WeeklyMaintenanceStartTime
        self.DataCompressionType = DataCompressionType
        self.CopyTagsToBackups = CopyTagsToBackups
        self.PerUnitStorageThroughput = PerUnitStorageThroughput
    }
}

package struct FSxFileSystem: Codable, Sendable, Hashable {
    package var OwnerId: String?
    package var CreationTime: Double?
    package var FileSystemId: String
    package var FileSystemType: String?
    package var Lifecycle: String?
    package var StorageCapacity: Int?
    package var StorageType: String?
    package var VpcId: String?
    package var SubnetIds: [String]?
    package var NetworkInterfaceIds: [String]?
    package var DNSName: String?
    package var ResourceARN: String?
    package var Tags: [FSxTag]?
    package var LustreConfiguration: FSxLustreConfiguration?
    package var FileSystemTypeVersion: String?
    package init(
        OwnerId: String?, CreationTime: Double?, FileSystemId: String, FileSystemType: String?, Lifecycle: String?,
        StorageCapacity: Int?, StorageType: String?, VpcId: String?, SubnetIds: [String]?, NetworkInterfaceIds: [String]?,
        DNSName: String?, ResourceARN: String?, Tags: [FSxTag]?, LustreConfiguration: FSxLustreConfiguration?,
        FileSystemTypeVersion: String?
    ) {
        self.OwnerId = OwnerId
        self.CreationTime = CreationTime
        self.FileSystemId = FileSystemId
        self.FileSystemType = FileSystemType
        self.Lifecycle = Lifecycle
        self.StorageCapacity = StorageCapacity
        self.StorageType = StorageType
        self.VpcId = VpcId
        self.SubnetIds = SubnetIds
        self.NetworkInterfaceIds = NetworkInterfaceIds
        self.DNSName = DNSName
        self.ResourceARN = ResourceARN
        self.Tags = Tags
        self.LustreConfiguration = LustreConfiguration
        self.FileSystemTypeVersion = FileSystemTypeVersion
    }
}

package struct FSxFileSystemAnswer: Codable, Sendable, Hashable {
    package var FileSystem: FSxFileSystem
    package init(FileSystem: FSxFileSystem) { self.FileSystem = FileSystem }
}

package struct FSxDescribeFileSystemsRequest: Codable, Sendable, Hashable {
    package var FileSystemIds: [String]?
    package var MaxResults: Int?
    package var NextToken: String?
    package init(FileSystemIds: [String]?, MaxResults: Int? = nil, NextToken: String? = nil) {
        self.FileSystemIds = FileSystemIds
        self.MaxResults = MaxResults
        self.NextToken = NextToken
    }
}

package struct FSxDescribeFileSystemsAnswer: Codable, Sendable, Hashable {
    package var FileSystems: [FSxFileSystem]
    package var NextToken: String?
    package init(FileSystems: [FSxFileSystem], NextToken: String?) {
        self.FileSystems = FileSystems
        self.NextToken = NextToken
    }
}

package struct FSxDeleteFileSystemRequest: Codable, Sendable, Hashable {
    package var FileSystemId: String?
    package var ClientRequestToken: String?
    package init(FileSystemId: String?, ClientRequestToken: String? = nil) {
        self.FileSystemId = FileSystemId
        self.ClientRequestToken = ClientRequestToken
    }
}

package struct FSxDeleteFileSystemAnswer: Codable, Sendable, Hashable {
    package var FileSystemId: String
    package var Lifecycle: String
    package init(FileSystemId: String, Lifecycle: String) {
        self.FileSystemId = FileSystemId
        self.Lifecycle = Lifecycle
    }
}

package struct FSxListTagsRequest: Codable, Sendable, Hashable {
    package var ResourceARN: String?
    package init(ResourceARN: String?) { self.ResourceARN = ResourceARN }
}

package struct FSxListTagsAnswer: Codable, Sendable, Hashable {
    package var Tags: [FSxTag]
    package init(Tags: [FSxTag]) { self.Tags = Tags }
}

// MARK: Data repository associations

package struct FSxEventPolicy: Codable, Sendable, Hashable {
    package var Events: [String]?
    package init(Events: [String]?) { self.Events = Events }
}

package struct FSxS3Configuration: Codable, Sendable, Hashable {
    package var AutoImportPolicy: FSxEventPolicy?
    package var AutoExportPolicy: FSxEventPolicy?
    package init(AutoImportPolicy: FSxEventPolicy?, AutoExportPolicy: FSxEventPolicy?) {
        self.AutoImportPolicy = AutoImportPolicy
        self.AutoExportPolicy = AutoExportPolicy
    }
}

package struct FSxCreateAssociationRequest: Codable, Sendable, Hashable {
    package var FileSystemId: String?
    package var FileSystemPath: String?
    package var DataRepositoryPath: String?
    package var BatchImportMetaDataOnCreate: Bool?
    package var ImportedFileChunkSize: Int?
    package var S3: FSxS3Configuration?
    package var Tags: [FSxTag]?
    package var ClientRequestToken: String?
    package init(
        FileSystemId: String?, FileSystemPath: String?, DataRepositoryPath: String?, BatchImportMetaDataOnCreate: Bool?,
        ImportedFileChunkSize: Int?, S3: FSxS3Configuration?, Tags: [FSxTag]? = nil, ClientRequestToken: String?
    ) {
        self.FileSystemId = FileSystemId
        self.FileSystemPath = FileSystemPath
        self.DataRepositoryPath = DataRepositoryPath
        self.BatchImportMetaDataOnCreate = BatchImportMetaDataOnCreate
        self.ImportedFileChunkSize = ImportedFileChunkSize
        self.S3 = S3
        self.Tags = Tags
        self.ClientRequestToken = ClientRequestToken
    }
}

package struct FSxAssociation: Codable, Sendable, Hashable {
    package var AssociationId: String
    package var FileSystemId: String?
    package var Lifecycle: String?
    package var ResourceARN: String?
    package var FileSystemPath: String?
    package var DataRepositoryPath: String?
    package var BatchImportMetaDataOnCreate: Bool?
    package var ImportedFileChunkSize: Int?
    package var S3: FSxS3Configuration?
    package var Tags: [FSxTag]?
    package var CreationTime: Double?
    package var FailureDetails: FSxFailureDetails?
    package init(
        AssociationId: String, FileSystemId: String?, Lifecycle: String?, ResourceARN: String?, FileSystemPath: String?,
        DataRepositoryPath: String?, BatchImportMetaDataOnCreate: Bool?, ImportedFileChunkSize: Int?,
        S3: FSxS3Configuration?, Tags: [FSxTag]?, CreationTime: Double?, FailureDetails: FSxFailureDetails?
    ) {
        self.AssociationId = AssociationId
        self.FileSystemId = FileSystemId
        self.Lifecycle = Lifecycle
        self.ResourceARN = ResourceARN
        self.FileSystemPath = FileSystemPath
        self.DataRepositoryPath = DataRepositoryPath
        self.BatchImportMetaDataOnCreate = BatchImportMetaDataOnCreate
        self.ImportedFileChunkSize = ImportedFileChunkSize
        self.S3 = S3
        self.Tags = Tags
        self.CreationTime = CreationTime
        self.FailureDetails = FailureDetails
    }
}

package struct FSxAssociationAnswer: Codable, Sendable, Hashable {
    package var Association: FSxAssociation
    package init(Association: FSxAssociation) { self.Association = Association }
}

package struct FSxDescribeAssociationsRequest: Codable, Sendable, Hashable {
    package var AssociationIds: [String]?
    package var Filters: [FSxFilter]?
    package var MaxResults: Int?
    package var NextToken: String?
    package init(AssociationIds: [String]?, Filters: [FSxFilter]? = nil, MaxResults: Int? = nil, NextToken: String? = nil) {
        self.AssociationIds = AssociationIds
        self.Filters = Filters
        self.MaxResults = MaxResults
        self.NextToken = NextToken
    }
}

package struct FSxDescribeAssociationsAnswer: Codable, Sendable, Hashable {
    package var Associations: [FSxAssociation]
    package var NextToken: String?
    package init(Associations: [FSxAssociation], NextToken: String?) {
        self.Associations = Associations
        self.NextToken = NextToken
    }
}

package struct FSxUpdateAssociationRequest: Codable, Sendable, Hashable {
    package var AssociationId: String?
    package var ImportedFileChunkSize: Int?
    package var S3: FSxS3Configuration?
    package var ClientRequestToken: String?
}

package struct FSxDeleteAssociationRequest: Codable, Sendable, Hashable {
    package var AssociationId: String?
    package var DeleteDataInFileSystem: Bool?
    package var ClientRequestToken: String?
}

package struct FSxDeleteAssociationAnswer: Codable, Sendable, Hashable {
    package var AssociationId: String
    package var Lifecycle: String
    package var DeleteDataInFileSystem: Bool
    package init(AssociationId: String, Lifecycle: String, DeleteDataInFileSystem: Bool) {
        self.AssociationId = AssociationId
        self.Lifecycle = Lifecycle
        self.DeleteDataInFileSystem = DeleteDataInFileSystem
    }
}

// MARK: Data repository tasks

package struct FSxTaskReport: Codable, Sendable, Hashable {
    package var Enabled: Bool?
    package var Path: String?
    package var Format: String?
    package var Scope: String?
    package init(Enabled: Bool?, Path: String? = nil, Format: String? = nil, Scope: String? = nil) {
        self.Enabled = Enabled
        self.Path = Path
        self.Format = Format
        self.Scope = Scope
    }
}

package struct FSxDuration: Codable, Sendable, Hashable {
    package var Unit: String?
    package var Value: Int?
    package init(Unit: String?, Value: Int?) {
        self.Unit = Unit
        self.Value = Value
    }
}

package struct FSxReleaseConfiguration: Codable, Sendable, Hashable {
    package var DurationSinceLastAccess: FSxDuration?
    package init(DurationSinceLastAccess: FSxDuration?) { self.DurationSinceLastAccess = DurationSinceLastAccess }
}

package struct FSxCreateTaskRequest: Codable, Sendable, Hashable {
    package var `Type`: String?
    package var FileSystemId: String?
    package var Paths: [String]?
    package var Report: FSxTaskReport?
    package var ReleaseConfiguration: FSxReleaseConfiguration?
    package var Tags: [FSxTag]?
    package var ClientRequestToken: String?
}

package struct FSxTaskStatus: Codable, Sendable, Hashable {
    package var TotalCount: Int64
    package var SucceededCount: Int64
    package var FailedCount: Int64
    package var LastUpdatedTime: Double
    package var ReleasedCapacity: Int64
    package init(TotalCount: Int64, SucceededCount: Int64, FailedCount: Int64, LastUpdatedTime: Double, ReleasedCapacity: Int64) {
        self.TotalCount = TotalCount
        self.SucceededCount = SucceededCount
        self.FailedCount = FailedCount
        self.LastUpdatedTime = LastUpdatedTime
        self.ReleasedCapacity = ReleasedCapacity
    }
}

package struct FSxTask: Codable, Sendable, Hashable {
    package var TaskId: String
    package var Lifecycle: String
    package var `Type`: String
    package var CreationTime: Double
    package var FileSystemId: String
    package var Paths: [String]
    package var ResourceARN: String
    package var Status: FSxTaskStatus
    package var Report: FSxTaskReport
    package var Tags: [FSxTag]
    package var StartTime: Double?
    package var EndTime: Double?
    package var FailureDetails: FSxFailureDetails?
    package var ReleaseConfiguration: FSxReleaseConfiguration?
    package init(
        TaskId: String, Lifecycle: String, Type: String, CreationTime: Double, FileSystemId: String, Paths: [String],
        ResourceARN: String, Status: FSxTaskStatus, Report: FSxTaskReport, Tags: [FSxTag], StartTime: Double?,
        EndTime: Double?, FailureDetails: FSxFailureDetails?, ReleaseConfiguration: FSxReleaseConfiguration?
    ) {
        self.TaskId = TaskId
        self.Lifecycle = Lifecycle
        self.Type = Type
        self.CreationTime = CreationTime
        self.FileSystemId = FileSystemId
        self.Paths = Paths
        self.ResourceARN = ResourceARN
        self.Status = Status
        self.Report = Report
        self.Tags = Tags
        self.StartTime = StartTime
        self.EndTime = EndTime
        self.FailureDetails = FailureDetails
        self.ReleaseConfiguration = ReleaseConfiguration
    }
}

package struct FSxTaskAnswer: Codable, Sendable, Hashable {
    package var DataRepositoryTask: FSxTask
    package init(DataRepositoryTask: FSxTask) { self.DataRepositoryTask = DataRepositoryTask }
}

package struct FSxDescribeTasksRequest: Codable, Sendable, Hashable {
    package var TaskIds: [String]?
    package var Filters: [FSxFilter]?
    package var MaxResults: Int?
    package var NextToken: String?
}

package struct FSxDescribeTasksAnswer: Codable, Sendable, Hashable {
    package var DataRepositoryTasks: [FSxTask]
    package var NextToken: String?
    package init(DataRepositoryTasks: [FSxTask], NextToken: String?) {
        self.DataRepositoryTasks = DataRepositoryTasks
        self.NextToken = NextToken
    }
}

package struct FSxCancelTaskRequest: Codable, Sendable, Hashable {
    package var TaskId: String?
}

package struct FSxCancelTaskAnswer: Codable, Sendable, Hashable {
    package var Lifecycle: String
    package var TaskId: String
    package init(Lifecycle: String, TaskId: String) {
        self.Lifecycle = Lifecycle
        self.TaskId = TaskId
    }
}

// MARK: The local service's mount calls (not FSx operations)

package struct FSxLocalMountRequest: Codable, Sendable, Hashable {
    package var FileSystemId: String?
    package var MountPoint: String?
    package init(FileSystemId: String?, MountPoint: String?) {
        self.FileSystemId = FileSystemId
        self.MountPoint = MountPoint
    }
}

package struct FSxLocalMountAnswer: Codable, Sendable, Hashable {
    package var FileSystemId: String
    package var MountPoint: String
    package init(FileSystemId: String, MountPoint: String) {
        self.FileSystemId = FileSystemId
        self.MountPoint = MountPoint
    }
}

/// The local service's HSM state counts per association (not an FSx operation: FSx keeps these in Lustre,
/// where `lfs hsm_state` reads them file by file).
package struct FSxLocalHsmStatesRequest: Codable, Sendable, Hashable {
    package var FileSystemId: String?
    package init(FileSystemId: String? = nil) { self.FileSystemId = FileSystemId }
}

package struct FSxLocalHsmStates: Codable, Sendable, Hashable {
    package var AssociationId: String
    package var FileSystemId: String
    package var FileSystemPath: String
    package var Files: Int
    package var Released: Int
    package var Archived: Int
    package var Dirty: Int
    package var Lost: Int
    /// The association's file system's export queue (its depth, for the dashboard's plot).
    package var FileSystemQueuedExports: Int
    /// Since fsxd opened the file system: entries imported, objects exported, objects deleted from the repository.
    package var Imported: Int = 0
    package var Exported: Int = 0
    package var DeletedFromRepository: Int = 0
    package init(
        AssociationId: String, FileSystemId: String, FileSystemPath: String, Files: Int, Released: Int, Archived: Int, Dirty: Int, Lost: Int,
        FileSystemQueuedExports: Int, Imported: Int = 0, Exported: Int = 0, DeletedFromRepository: Int = 0
    ) {
        self.FileSystemQueuedExports = FileSystemQueuedExports
        self.Imported = Imported
        self.Exported = Exported
        self.DeletedFromRepository = DeletedFromRepository
        self.AssociationId = AssociationId
        self.FileSystemId = FileSystemId
        self.FileSystemPath = FileSystemPath
        self.Files = Files
        self.Released = Released
        self.Archived = Archived
        self.Dirty = Dirty
        self.Lost = Lost
    }
}

package struct FSxLocalHsmStatesAnswer: Codable, Sendable, Hashable {
    package var Associations: [FSxLocalHsmStates]
    package init(Associations: [FSxLocalHsmStates]) { self.Associations = Associations }
}

/// An answer with nothing in it (calls whose caller needs only success).
package struct FSxEmptyAnswer: Codable, Sendable, Hashable {
    package init() {}
}
