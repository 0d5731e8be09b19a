import DataRepository
import Foundation
import HSM

#if canImport(Glibc)
import Glibc
#endif

/// A data repository task as FSx describes it.
package struct DataRepositoryTask: Codable, Sendable, Hashable {
    package enum Kind: String, Codable, Sendable {
        case exportToRepository = "EXPORT_TO_REPOSITORY"
        case importMetadata = "IMPORT_METADATA_FROM_REPOSITORY"
        case releaseData = "RELEASE_DATA_FROM_FILESYSTEM"
    }
    package enum Lifecycle: String, Codable, Sendable {
        case pending = "PENDING", executing = "EXECUTING", failed = "FAILED", succeeded = "SUCCEEDED"
        case canceled = "CANCELED", canceling = "CANCELING"
    }
    package struct Report: Codable, Sendable, Hashable {
        package var enabled: Bool
        /// s3://bucket/prefix (or file:///dir) under which `task-<id>/failures.csv` is written.
        package var path: String?
        package init(enabled: Bool, path: String? = nil) {
            self.enabled = enabled
            self.path = path
        }
    }

    package var id: String
    package var kind: Kind
    package var lifecycle: Lifecycle
    package var paths: [String]
    package var report: Report
    /// RELEASE_DATA_FROM_FILESYSTEM: only files not accessed for this many days.
    package var releaseAfterDays: Int?
    package var creationTime: Date
    package var startTime: Date?
    package var endTime: Date?
    package var failureMessage: String?
    package var totalCount: Int64 = 0
    package var succeededCount: Int64 = 0
    package var failedCount: Int64 = 0
    package var releasedBytes: Int64 = 0
    package var lastUpdatedTime: Date?
    package var tags: [String: String] = [:]
    /// Where the failure report was written.
    package var reportLocation: String?
}

package struct TaskError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable { case badRequest = "BadRequest", notFound = "DataRepositoryTaskNotFound", ended = "DataRepositoryTaskEnded" }
    package var code: Code
    package var message: String
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    package var description: String { message }
}

extension FileSystem {
    func saveTask(_ task: DataRepositoryTask) async throws {
        let document = String(decoding: try JSONEncoder().encode(task), as: UTF8.self)
        try await store.write { db in
            try db.saveDocument(document, id: task.id, .task)
        }
        recordsChanged.fire()
    }

    package func tasks() async throws -> [DataRepositoryTask] {
        let documents = try await store.read { db in try db.documents(.task) }
        return documents.compactMap { document in
            do {
                return try JSONDecoder().decode(DataRepositoryTask.self, from: Data(document.utf8))
            } catch {
                logger.error("a data repository task record in the MDT cannot be read and is ignored: \(error)")
                return nil
            }
        }
    }

    package func task(_ id: String) async throws -> DataRepositoryTask {
        guard let found = try await tasks().first(where: { $0.id == id }) else {
            throw TaskError(.notFound, "data repository task \(id) does not exist")
        }
        return found
    }

    func failInterruptedTasks(_ db: MetadataTransaction) throws {
        for document in try db.documents(.task) {
            guard var task = try? JSONDecoder().decode(DataRepositoryTask.self, from: Data(document.utf8)) else { continue }
            switch task.lifecycle {
            case .executing, .pending:
                task.lifecycle = .failed
                task.failureMessage = "the file system stopped before the task finished; create it again"
            case .canceling:
                task.lifecycle = .canceled
            default:
                continue
            }
            task.endTime = Date()
            let updated = String(decoding: try JSONEncoder().encode(task), as: UTF8.self)
            try db.saveDocument(updated, id: task.id, .task)
        }
    }

    /// CreateDataRepositoryTask: checks the request, records the task PENDING and runs it after the tasks
    /// before it (one at a time).
    package func createTask(
        kind: DataRepositoryTask.Kind, paths: [String], report: DataRepositoryTask.Report,
        releaseAfterDays: Int? = nil, tags: [String: String] = [:]
    ) async throws -> DataRepositoryTask {
        guard paths.count <= 100 else { throw TaskError(.badRequest, "Paths has \(paths.count) entries; at most 100 are allowed") }
        for path in paths where path.utf8.count > 4096 || path.contains("\u{0}") {
            throw TaskError(.badRequest, "the path '\(path.prefix(64))' is not valid")
        }
        if report.enabled {
            guard let location = report.path else { throw TaskError(.badRequest, "Report.Path is required when the report is enabled") }
            if case .failure(let error) = RepositoryLocation.parse(location) {
                throw TaskError(.badRequest, "Report.Path: \(error.message)")
            }
        }
        if let days = releaseAfterDays, days < 0 {
            throw TaskError(.badRequest, "DurationSinceLastAccess must not be negative")
        }
        if kind == .releaseData || kind == .exportToRepository || kind == .importMetadata {
            guard !associations().isEmpty else {
                throw TaskError(.badRequest, "the file system has no data repository association")
            }
        }
        let task = DataRepositoryTask(
            id: ResourceId.make("task"), kind: kind, lifecycle: .pending, paths: paths, report: report,
            releaseAfterDays: releaseAfterDays, creationTime: Date(), tags: tags)
        try await saveTask(task)
        let runner = Task { await self.taskSerial.run { await self.execute(task.id) } }
        background.withLock { $0.background.append(runner) }
        return task
    }

    package func cancelTask(_ id: String) async throws -> DataRepositoryTask {
        var task = try await self.task(id)
        switch task.lifecycle {
        case .pending:
            task.lifecycle = .canceled
            task.endTime = Date()
        case .executing:
            task.lifecycle = .canceling
        default:
            throw TaskError(.ended, "data repository task \(id) already ended (\(task.lifecycle.rawValue))")
        }
        try await saveTask(task)
        return task
    }

    /// Waits until a task ended (SUCCEEDED, FAILED or CANCELED).
    package func waitForTask(_ id: String, timeout: Double = 300) async throws -> DataRepositoryTask {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let seen = recordsChanged.current
            let task = try await self.task(id)
            if [.succeeded, .failed, .canceled].contains(task.lifecycle) || Date() >= deadline { return task }
            try Task.checkCancellation()
            await recordsChanged.wait(after: seen, until: deadline)
        }
    }

    struct TaskFailure { var path: String; var code: String }

    func execute(_ id: String) async {
        guard var task = try? await self.task(id), task.lifecycle == .pending else { return }
        task.lifecycle = .executing
        task.startTime = Date()
        await logFailure(of: "recording task \(id) as EXECUTING") { try await saveTask(task) }
        var failures: [TaskFailure] = []
        do {
            switch task.kind {
            case .exportToRepository: try await runExport(&task, &failures)
            case .releaseData: try await runRelease(&task, &failures)
            case .importMetadata: try await runImport(&task, &failures)
            }
            let latest = try await self.task(id)
            task.lifecycle = latest.lifecycle == .canceling ? .canceled : .succeeded
        } catch let error as TaskError {
            task.lifecycle = .failed
            task.failureMessage = error.message
        } catch {
            task.lifecycle = .failed
            task.failureMessage = "\(error)"
        }
        if task.report.enabled, let base = task.report.path {
            do {
                task.reportLocation = try await writeReport(task, failures, under: base)
            } catch {
                task.failureMessage = (task.failureMessage.map { $0 + "; " } ?? "") + "the report could not be written: \(error)"
            }
        }
        task.endTime = Date()
        task.lastUpdatedTime = Date()
        await logFailure(of: "recording task \(id) as \(task.lifecycle.rawValue)") { try await saveTask(task) }
    }

    func isCanceling(_ id: String) async -> Bool {
        (try? await task(id).lifecycle) == .canceling
    }

    /// The inodes under the task's paths ("/" or none: everything), each once.
    func inodes(under paths: [String]) async throws -> [(path: String, inode: Inode)] {
        let roots =
            paths.isEmpty
            ? ["/"]
            : paths.map { path -> String in
                let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
                return "/" + trimmed.split(separator: "/").joined(separator: "/")
            }
        var seen = Set<InodeNumber>()
        var result: [(String, Inode)] = []
        for root in roots {
            let start: Inode
            do {
                start = try await resolve(root)
            } catch {
                throw TaskError(.badRequest, "the path \(root) does not exist in the file system")
            }
            let members = try await store.read { db -> [(String, Inode)] in
                try db.subtree(start.ino).compactMap { inode in
                    guard let path = try db.path(of: inode.ino) else { return nil }
                    return (path, inode)
                }
            }
            for (path, inode) in members where seen.insert(inode.ino).inserted { result.append((path, inode)) }
        }
        return result
    }

    func runExport(_ task: inout DataRepositoryTask, _ failures: inout [TaskFailure]) async throws {
        let candidates = try await inodes(under: task.paths).filter { path, inode in
            guard inode.type != .directory || inode.archivedEtag == nil || inode.archivedMetaVersion != inode.metaVersion else { return false }
            guard association(containing: path, type: inode.type) != nil else { return false }
            if inode.type == .regular {
                // Only what changed since the last export.
                return inode.archivedEtag == nil || inode.hsm.flags.contains(.dirty) || inode.archivedDataVersion != inode.dataVersion
                    || inode.archivedMetaVersion != inode.metaVersion
            }
            return inode.archivedEtag == nil || inode.archivedMetaVersion != inode.metaVersion
        }
        task.totalCount = Int64(candidates.count)
        try await saveTask(task)
        let id = task.id
        let results = Locked<[(String, String?)]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for (path, inode) in candidates {
                if await isCanceling(id) { break }
                if running >= options.exportConcurrency {
                    try await group.next()
                    running -= 1
                }
                group.addTask {
                    do {
                        switch try await self.sync(inode.ino, forced: true) {
                        case .exported, .unchanged: results.withLock { $0.append((path, nil)) }
                        case .skipped(let why): results.withLock { $0.append((path, why == "PathSizeTooLong" ? why : "FileNotExported")) }
                        }
                    } catch let error as RepositoryError {
                        results.withLock { $0.append((path, error.code.rawValue)) }
                    } catch {
                        results.withLock { $0.append((path, "S3AccessDenied")) }
                    }
                }
                running += 1
            }
            try await group.waitForAll()
        }
        for (path, code) in results.withLock({ $0 }) {
            if let code {
                task.failedCount += 1
                failures.append(TaskFailure(path: path, code: code))
            } else {
                task.succeededCount += 1
            }
        }
    }

    func runRelease(_ task: inout DataRepositoryTask, _ failures: inout [TaskFailure]) async throws {
        let cutoff = task.releaseAfterDays.map { nowNanoseconds() - Int64($0) * 86_400 * 1_000_000_000 }
        let candidates = try await inodes(under: task.paths).filter { path, inode in
            guard inode.type == .regular, !inode.isReleased, association(containing: path, type: .regular) != nil else { return false }
            // Only exported files are released.
            guard inode.hsm.flags.contains(.archived) else { return false }
            if let cutoff { return max(inode.atime, inode.ctime, inode.mtime) <= cutoff }
            return true
        }
        task.totalCount = Int64(candidates.count)
        for (path, inode) in candidates {
            if await isCanceling(task.id) { break }
            do {
                try await hsmRelease(inode.ino)
                task.succeededCount += 1
                task.releasedBytes += inode.size
            } catch let error as FileSystemError {
                task.failedCount += 1
                failures.append(TaskFailure(path: path, code: error.errno == EBUSY ? "ResourceBusy" : "FileNotReleasable"))
            }
        }
    }

    func runImport(_ task: inout DataRepositoryTask, _ failures: inout [TaskFailure]) async throws {
        var targets: [(Association, String?)] = []
        let all = associations().filter { $0.lifecycle != .failed && $0.lifecycle != .deleting }
        if task.paths.isEmpty || task.paths.contains("/") {
            targets = all.map { ($0, nil) }
        } else {
            for path in task.paths {
                if path.hasPrefix("s3://") || path.hasPrefix("file://") {
                    guard case .success(let location) = RepositoryLocation.parse(path),
                        let association = all.first(where: { $0.location.root == location.root && location.prefix.hasPrefix($0.location.prefix) })
                    else { throw TaskError(.badRequest, "\(path) is not in the data repository of any association") }
                    let sub = String(location.prefix.dropFirst(association.location.prefix.count))
                    targets.append((association, sub.isEmpty ? nil : sub))
                } else {
                    let normalized = "/" + path.split(separator: "/").joined(separator: "/")
                    if let association = all.first(where: { AssociationRules.overlaps($0.fileSystemPath, normalized) }) {
                        let base = association.fileSystemPath == "/" ? "" : association.fileSystemPath
                        let sub = normalized.count > base.count ? String(normalized.dropFirst(base.count + 1)) : ""
                        targets.append((association, sub.isEmpty ? nil : sub))
                    } else {
                        throw TaskError(.badRequest, "\(path) is not under any data repository association")
                    }
                }
            }
        }
        for (association, sub) in targets {
            if await isCanceling(task.id) { break }
            let report = try await reconcile(association.id, allowed: [.new, .changed, .deleted], subpath: sub)
            task.totalCount += Int64(
                report.created + report.updated + report.deleted + report.skipped.count + report.failed.count + report.conflicts.count)
            task.succeededCount += Int64(report.created + report.updated + report.deleted)
            task.failedCount += Int64(report.skipped.count + report.failed.count + report.conflicts.count)
            for (key, why) in report.skipped {
                failures.append(TaskFailure(path: key, code: why == "PathSizeTooLong" ? why : "InvalidPath"))
            }
            for (key, code) in report.failed { failures.append(TaskFailure(path: key, code: code)) }
            for path in report.conflicts { failures.append(TaskFailure(path: path, code: "ResourceBusy")) }
            try await saveTask(task)
        }
    }

    /// `FilePath,FileStatus,ErrorCode` per failed file at `<report path>/task-<id>/failures.csv`.
    func writeReport(_ task: DataRepositoryTask, _ failures: [TaskFailure], under base: String) async throws -> String {
        let location = try RepositoryLocation.parse(base).get()
        let repository = try repositories.repository(for: location)
        let key = location.prefix + "task-\(task.id)/failures.csv"
        var csv = ""
        for failure in failures {
            csv += "\(Self.csvField(failure.path)),failed,\(failure.code)\n"
        }
        _ = try await repository.write(key: key, data: Data(csv.utf8), userMetadata: [:])
        switch location.scheme {
        case .s3: return "s3://\(location.root)/\(key)"
        case .file: return "file://\(location.root)/\(key)"
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(",") || text.contains("\"") || text.contains("\n") else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
