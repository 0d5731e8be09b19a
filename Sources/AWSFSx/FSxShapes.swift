import Foundation

// The FSx API's JSON 1.1 shapes that this project sends and serves, shared by `FSxClient` and the local
// service (`FSxService`) so the two cannot drift apart. Property names are the wire names, as in AWSSQS.
// Request fields are optional: the service itself says which one is missing, with FSx's error codes.

public struct FSxTag: Codable, Sendable, Hashable {
    public var Key: String
    public var Value: String?
    public init(Key: String, Value: String?) {
        self.Key = Key
        self.Value = Value
    }

    /// Tags from a dictionary, sorted by key (a dictionary has no order of its own).
    public static func list(_ tags: [String: String]) -> [FSxTag] {
        tags.sorted { $0.key < $1.key }.map { FSxTag(Key: $0.key, Value: $0.value) }
    }
}

public struct FSxFilter: Codable, Sendable, Hashable {
    public var Name: String?
    public var Values: [String]?
    public init(Name: String?, Values: [String]?) {
        self.Name = Name
        self.Values = Values
    }
}

public struct FSxFailureDetails: Codable, Sendable, Hashable {
    public var Message: String?
    public init(Message: String?) { self.Message = Message }
}

// MARK: File systems

public struct FSxLustreConfigurationRequest: Codable, Sendable, Hashable {
    public var DeploymentType: String?
    public var PerUnitStorageThroughput: Int?
    public init(DeploymentType: String?, PerUnitStorageThroughput: Int? = nil) {
        self.DeploymentType = DeploymentType
        self.PerUnitStorageThroughput = PerUnitStorageThroughput
    }
}

public struct FSxCreateFileSystemRequest: Codable, Sendable, Hashable {
    public var FileSystemType: String?
    public var StorageCapacity: Int?
    public var StorageType: String?
    public var SubnetIds: [String]?
    public var SecurityGroupIds: [String]?
    public var LustreConfiguration: FSxLustreConfigurationRequest?
    public var Tags: [FSxTag]?
    public var ClientRequestToken: String?
    public init(
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

public struct FSxLustreConfiguration: Codable, Sendable, Hashable {
    public var DeploymentType: String
    public var MountName: String
    public var WeeklyMaintenanceStartTime: String
    public var DataCompressionType: String
    public var CopyTagsToBackups: Bool
    public var PerUnitStorageThroughput: Int?
    public init(
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

public struct FSxFileSystem: Codable, Sendable, Hashable {
    public var OwnerId: String?
    public var CreationTime: Double?
    public var FileSystemId: String
    public var FileSystemType: String?
    public var Lifecycle: String?
    public var StorageCapacity: Int?
    public var StorageType: String?
    public var VpcId: String?
    public var SubnetIds: [String]?
    public var NetworkInterfaceIds: [String]?
    public var DNSName: String?
    public var ResourceARN: String?
    public var Tags: [FSxTag]?
    public var LustreConfiguration: FSxLustreConfiguration?
    public var FileSystemTypeVersion: String?
    public init(
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

public struct FSxFileSystemAnswer: Codable, Sendable, Hashable {
    public var FileSystem: FSxFileSystem
    public init(FileSystem: FSxFileSystem) { self.FileSystem = FileSystem }
}

public struct FSxDescribeFileSystemsRequest: Codable, Sendable, Hashable {
    public var FileSystemIds: [String]?
    public var MaxResults: Int?
    public var NextToken: String?
    public init(FileSystemIds: [String]?, MaxResults: Int? = nil, NextToken: String? = nil) {
        self.FileSystemIds = FileSystemIds
        self.MaxResults = MaxResults
        self.NextToken = NextToken
    }
}

public struct FSxDescribeFileSystemsAnswer: Codable, Sendable, Hashable {
    public var FileSystems: [FSxFileSystem]
    public var NextToken: String?
    public init(FileSystems: [FSxFileSystem], NextToken: String?) {
        self.FileSystems = FileSystems
        self.NextToken = NextToken
    }
}

public struct FSxDeleteFileSystemRequest: Codable, Sendable, Hashable {
    public var FileSystemId: String?
    public var ClientRequestToken: String?
    public init(FileSystemId: String?, ClientRequestToken: String? = nil) {
        self.FileSystemId = FileSystemId
        self.ClientRequestToken = ClientRequestToken
    }
}

public struct FSxDeleteFileSystemAnswer: Codable, Sendable, Hashable {
    public var FileSystemId: String
    public var Lifecycle: String
    public init(FileSystemId: String, Lifecycle: String) {
        self.FileSystemId = FileSystemId
        self.Lifecycle = Lifecycle
    }
}

public struct FSxListTagsRequest: Codable, Sendable, Hashable {
    public var ResourceARN: String?
    public init(ResourceARN: String?) { self.ResourceARN = ResourceARN }
}

public struct FSxListTagsAnswer: Codable, Sendable, Hashable {
    public var Tags: [FSxTag]
    public init(Tags: [FSxTag]) { self.Tags = Tags }
}

// MARK: Data repository associations

public struct FSxEventPolicy: Codable, Sendable, Hashable {
    public var Events: [String]?
    public init(Events: [String]?) { self.Events = Events }
}

public struct FSxS3Configuration: Codable, Sendable, Hashable {
    public var AutoImportPolicy: FSxEventPolicy?
    public var AutoExportPolicy: FSxEventPolicy?
    public init(AutoImportPolicy: FSxEventPolicy?, AutoExportPolicy: FSxEventPolicy?) {
        self.AutoImportPolicy = AutoImportPolicy
        self.AutoExportPolicy = AutoExportPolicy
    }
}

public struct FSxCreateAssociationRequest: Codable, Sendable, Hashable {
    public var FileSystemId: String?
    public var FileSystemPath: String?
    public var DataRepositoryPath: String?
    public var BatchImportMetaDataOnCreate: Bool?
    public var ImportedFileChunkSize: Int?
    public var S3: FSxS3Configuration?
    public var Tags: [FSxTag]?
    public var ClientRequestToken: String?
    public init(
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

public struct FSxAssociation: Codable, Sendable, Hashable {
    public var AssociationId: String
    public var FileSystemId: String?
    public var Lifecycle: String?
    public var ResourceARN: String?
    public var FileSystemPath: String?
    public var DataRepositoryPath: String?
    public var BatchImportMetaDataOnCreate: Bool?
    public var ImportedFileChunkSize: Int?
    public var S3: FSxS3Configuration?
    public var Tags: [FSxTag]?
    public var CreationTime: Double?
    public var FailureDetails: FSxFailureDetails?
    public init(
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

public struct FSxAssociationAnswer: Codable, Sendable, Hashable {
    public var Association: FSxAssociation
    public init(Association: FSxAssociation) { self.Association = Association }
}

public struct FSxDescribeAssociationsRequest: Codable, Sendable, Hashable {
    public var AssociationIds: [String]?
    public var Filters: [FSxFilter]?
    public var MaxResults: Int?
    public var NextToken: String?
    public init(AssociationIds: [String]?, Filters: [FSxFilter]? = nil, MaxResults: Int? = nil, NextToken: String? = nil) {
        self.AssociationIds = AssociationIds
        self.Filters = Filters
        self.MaxResults = MaxResults
        self.NextToken = NextToken
    }
}

public struct FSxDescribeAssociationsAnswer: Codable, Sendable, Hashable {
    public var Associations: [FSxAssociation]
    public var NextToken: String?
    public init(Associations: [FSxAssociation], NextToken: String?) {
        self.Associations = Associations
        self.NextToken = NextToken
    }
}

public struct FSxUpdateAssociationRequest: Codable, Sendable, Hashable {
    public var AssociationId: String?
    public var ImportedFileChunkSize: Int?
    public var S3: FSxS3Configuration?
    public var ClientRequestToken: String?
}

public struct FSxDeleteAssociationRequest: Codable, Sendable, Hashable {
    public var AssociationId: String?
    public var DeleteDataInFileSystem: Bool?
    public var ClientRequestToken: String?
}

public struct FSxDeleteAssociationAnswer: Codable, Sendable, Hashable {
    public var AssociationId: String
    public var Lifecycle: String
    public var DeleteDataInFileSystem: Bool
    public init(AssociationId: String, Lifecycle: String, DeleteDataInFileSystem: Bool) {
        self.AssociationId = AssociationId
        self.Lifecycle = Lifecycle
        self.DeleteDataInFileSystem = DeleteDataInFileSystem
    }
}

// MARK: Data repository tasks

public struct FSxTaskReport: Codable, Sendable, Hashable {
    public var Enabled: Bool?
    public var Path: String?
    public var Format: String?
    public var Scope: String?
    public init(Enabled: Bool?, Path: String? = nil, Format: String? = nil, Scope: String? = nil) {
        self.Enabled = Enabled
        self.Path = Path
        self.Format = Format
        self.Scope = Scope
    }
}

public struct FSxDuration: Codable, Sendable, Hashable {
    public var Unit: String?
    public var Value: Int?
    public init(Unit: String?, Value: Int?) {
        self.Unit = Unit
        self.Value = Value
    }
}

public struct FSxReleaseConfiguration: Codable, Sendable, Hashable {
    public var DurationSinceLastAccess: FSxDuration?
    public init(DurationSinceLastAccess: FSxDuration?) { self.DurationSinceLastAccess = DurationSinceLastAccess }
}

public struct FSxCreateTaskRequest: Codable, Sendable, Hashable {
    public var `Type`: String?
    public var FileSystemId: String?
    public var Paths: [String]?
    public var Report: FSxTaskReport?
    public var ReleaseConfiguration: FSxReleaseConfiguration?
    public var Tags: [FSxTag]?
    public var ClientRequestToken: String?
}

public struct FSxTaskStatus: Codable, Sendable, Hashable {
    public var TotalCount: Int64
    public var SucceededCount: Int64
    public var FailedCount: Int64
    public var LastUpdatedTime: Double
    public var ReleasedCapacity: Int64
    public init(TotalCount: Int64, SucceededCount: Int64, FailedCount: Int64, LastUpdatedTime: Double, ReleasedCapacity: Int64) {
        self.TotalCount = TotalCount
        self.SucceededCount = SucceededCount
        self.FailedCount = FailedCount
        self.LastUpdatedTime = LastUpdatedTime
        self.ReleasedCapacity = ReleasedCapacity
    }
}

public struct FSxTask: Codable, Sendable, Hashable {
    public var TaskId: String
    public var Lifecycle: String
    public var `Type`: String
    public var CreationTime: Double
    public var FileSystemId: String
    public var Paths: [String]
    public var ResourceARN: String
    public var Status: FSxTaskStatus
    public var Report: FSxTaskReport
    public var Tags: [FSxTag]
    public var StartTime: Double?
    public var EndTime: Double?
    public var FailureDetails: FSxFailureDetails?
    public var ReleaseConfiguration: FSxReleaseConfiguration?
    public init(
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

public struct FSxTaskAnswer: Codable, Sendable, Hashable {
    public var DataRepositoryTask: FSxTask
    public init(DataRepositoryTask: FSxTask) { self.DataRepositoryTask = DataRepositoryTask }
}

public struct FSxDescribeTasksRequest: Codable, Sendable, Hashable {
    public var TaskIds: [String]?
    public var Filters: [FSxFilter]?
    public var MaxResults: Int?
    public var NextToken: String?
}

public struct FSxDescribeTasksAnswer: Codable, Sendable, Hashable {
    public var DataRepositoryTasks: [FSxTask]
    public var NextToken: String?
    public init(DataRepositoryTasks: [FSxTask], NextToken: String?) {
        self.DataRepositoryTasks = DataRepositoryTasks
        self.NextToken = NextToken
    }
}

public struct FSxCancelTaskRequest: Codable, Sendable, Hashable {
    public var TaskId: String?
}

public struct FSxCancelTaskAnswer: Codable, Sendable, Hashable {
    public var Lifecycle: String
    public var TaskId: String
    public init(Lifecycle: String, TaskId: String) {
        self.Lifecycle = Lifecycle
        self.TaskId = TaskId
    }
}

// MARK: The local service's mount calls (not FSx operations)

public struct FSxLocalMountRequest: Codable, Sendable, Hashable {
    public var FileSystemId: String?
    public var MountPoint: String?
    public init(FileSystemId: String?, MountPoint: String?) {
        self.FileSystemId = FileSystemId
        self.MountPoint = MountPoint
    }
}

public struct FSxLocalMountAnswer: Codable, Sendable, Hashable {
    public var FileSystemId: String
    public var MountPoint: String
    public init(FileSystemId: String, MountPoint: String) {
        self.FileSystemId = FileSystemId
        self.MountPoint = MountPoint
    }
}

/// An answer with nothing in it (calls whose caller needs only success).
public struct FSxEmptyAnswer: Codable, Sendable, Hashable {
    public init() {}
}
