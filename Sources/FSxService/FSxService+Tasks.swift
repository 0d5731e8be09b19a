import AWSFSx
import DataRepository
import Foundation
import LustreFS

/// The FSx API's data repository task calls, and ListTagsForResource.
extension FSxService {
    // MARK: Tasks

    func describe(_ task: DataRepositoryTask, fileSystem: String) -> FSxTask {
        FSxTask(
            TaskId: task.id, Lifecycle: task.lifecycle.rawValue, Type: task.kind.rawValue,
            CreationTime: task.creationTime.timeIntervalSince1970, FileSystemId: fileSystem, Paths: task.paths,
            ResourceARN: "arn:aws:fsx:\(region):\(accountId):task/\(task.id)",
            Status: FSxTaskStatus(
                TotalCount: task.totalCount, SucceededCount: task.succeededCount, FailedCount: task.failedCount,
                LastUpdatedTime: (task.lastUpdatedTime ?? task.creationTime).timeIntervalSince1970,
                ReleasedCapacity: task.releasedBytes),
            Report: task.report.path.map {
                FSxTaskReport(Enabled: task.report.enabled, Path: $0, Format: "REPORT_CSV_20191124", Scope: "FAILED_FILES_ONLY")
            }
                ?? FSxTaskReport(Enabled: task.report.enabled),
            Tags: FSxTag.list(task.tags), StartTime: task.startTime?.timeIntervalSince1970, EndTime: task.endTime?.timeIntervalSince1970,
            FailureDetails: task.failureMessage.map { FSxFailureDetails(Message: $0) },
            ReleaseConfiguration: task.releaseAfterDays.map { FSxReleaseConfiguration(DurationSinceLastAccess: FSxDuration(Unit: "DAYS", Value: $0)) }
        )
    }

    func createTask(_ input: FSxCreateTaskRequest) async throws -> FSxTaskAnswer {
        let fsId = try Self.required(input.FileSystemId, "FileSystemId")
        let fs = try fileSystem(fsId)
        let typeName = try Self.required(input.Type, "Type")
        guard let kind = DataRepositoryTask.Kind(rawValue: typeName) else {
            throw FSxError.badRequest(
                "Type '\(typeName)' is not one of EXPORT_TO_REPOSITORY, IMPORT_METADATA_FROM_REPOSITORY, RELEASE_DATA_FROM_FILESYSTEM.")
        }
        guard let report = input.Report, let enabled = report.Enabled else {
            throw FSxError.badRequest("Report with Enabled is required.")
        }
        if let scope = report.Scope, scope != "FAILED_FILES_ONLY" {
            throw FSxError.badRequest("Report.Scope must be FAILED_FILES_ONLY.")
        }
        var days: Int?
        if let duration = input.ReleaseConfiguration?.DurationSinceLastAccess {
            guard (duration.Unit ?? "DAYS") == "DAYS" else { throw FSxError.badRequest("DurationSinceLastAccess.Unit must be DAYS.") }
            days = duration.Value
        }
        if let path = report.Path { try Self.checkS3Path(path, field: "Report.Path") }
        var tags: [String: String] = [:]
        for tag in try Self.tags(input.Tags) { tags[tag.Key] = tag.Value ?? "" }
        let task = try await fs.createTask(
            kind: kind, paths: input.Paths ?? [], report: .init(enabled: enabled, path: report.Path),
            releaseAfterDays: days, tags: tags)
        return FSxTaskAnswer(DataRepositoryTask: describe(task, fileSystem: fsId))
    }

    func allTasks() async throws -> [(fs: String, task: DataRepositoryTask)] {
        var result: [(String, DataRepositoryTask)] = []
        for record in state.fileSystems {
            guard let fs = open[record.id] else { continue }
            result += try await fs.tasks().map { (record.id, $0) }
        }
        return result
    }

    func describeTasks(_ input: FSxDescribeTasksRequest) async throws -> FSxDescribeTasksAnswer {
        var found = try await allTasks()
        if let ids = input.TaskIds {
            found = try ids.map { id in
                guard let match = found.first(where: { $0.task.id == id }) else {
                    throw FSxError("DataRepositoryTaskNotFound", "Data repository task '\(id)' does not exist.")
                }
                return match
            }
        }
        for filter in input.Filters ?? [] {
            let values = filter.Values ?? []
            switch filter.Name ?? "" {
            case "file-system-id": found = found.filter { values.contains($0.fs) }
            case "task-lifecycle": found = found.filter { values.contains($0.task.lifecycle.rawValue) }
            default: throw FSxError.badRequest("Filter '\(filter.Name ?? "")' is not one of file-system-id, task-lifecycle.")
            }
        }
        let (page, next) = try Self.page(found, maxResults: input.MaxResults, nextToken: input.NextToken)
        return FSxDescribeTasksAnswer(DataRepositoryTasks: page.map { describe($0.task, fileSystem: $0.fs) }, NextToken: next)
    }

    func cancelTask(_ input: FSxCancelTaskRequest) async throws -> FSxCancelTaskAnswer {
        let id = try Self.required(input.TaskId, "TaskId")
        guard let found = try await allTasks().first(where: { $0.task.id == id }), let fs = open[found.fs] else {
            throw FSxError("DataRepositoryTaskNotFound", "Data repository task '\(id)' does not exist.")
        }
        let task = try await fs.cancelTask(id)
        return FSxCancelTaskAnswer(Lifecycle: task.lifecycle.rawValue, TaskId: id)
    }

    func listTags(_ input: FSxListTagsRequest) throws -> FSxListTagsAnswer {
        let arn = try Self.required(input.ResourceARN, "ResourceARN")
        guard let id = arn.split(separator: "/").last.map(String.init), let record = state.fileSystems.first(where: { $0.id == id }) else {
            throw FSxError("ResourceNotFound", "Resource '\(arn)' does not exist.")
        }
        return FSxListTagsAnswer(Tags: record.fsxTags)
    }
}
