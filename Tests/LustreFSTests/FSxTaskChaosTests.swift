import AWSCore
import AWSS3
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 of fsxd, the process that serves the mount, at random moments of data repository tasks (an import
/// of a bucket that changed: new, rewritten and deleted objects; an export of files written through the
/// mount; a release of restored files) and of restores (readers of every released file at once). After each kill the service is started again and checked against
/// a model of what the bucket and the mount must hold:
/// - no task is left PENDING or EXECUTING (an interrupted one is FAILED and says why), and the same task run
///   again succeeds;
/// - a file whose restore was cut off is released again (no partial data taken for the file) and reads whole;
/// - the mount lists exactly the bucket's objects, and every file reads the bytes the model says;
/// - no file claims a copy it does not have: a file whose HSM state says archived and not dirty has exactly
///   its object's bytes in the bucket, and a released file has such a copy;
/// - no multipart upload is left open.
/// CHAOS_TRIALS sets the number of trials (benchmarks/chaos.sh runs 100 and more).
@Suite(.serialized, .ownThreads) struct FSxTaskChaosTests {
    static let lfs = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lfs").path

    /// The HSM flags `lfs hsm_state` prints for `path`, or nil when it fails.
    static func hsmFlags(_ path: String) async -> UInt32? {
        guard let result = try? await runCommand([lfs, "hsm_state", path]), result.status == 0,
            let open = String(decoding: result.stdout, as: UTF8.self).range(of: "(0x")
        else { return nil }
        let text = String(decoding: result.stdout, as: UTF8.self)
        return UInt32(text[open.upperBound...].prefix(8), radix: 16)
    }

    /// Tasks of three kinds, and restores: readers of released files through the mount.
    enum Action: String, CaseIterable { case importChanges = "import", export, release, restore }

    @Test(.enabled(if: getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0), .timeLimit(.minutes(40)))
    func killedDuringTasksTheMountComesBackConsistent() async throws {
        let trials = FSxChaosTests.trials(default: 4)
        let moto = try await MotoServer.unchecked.start()
        let scratch = Scratch()
        let port = freeLocalPort()
        var service = try await FSxServiceTests.start(scratch: scratch, port: port, moto: moto)
        defer { service.stop() }
        let s3 = try S3Client(settings: moto.settings())
        let bucket = "fsx-task-chaos-\(UInt32.random(in: 0...UInt32.max))"
        try await s3.createBucket(bucket)
        // The model: every object of the association's prefix, by file name.
        var model: [String: Data] = [:]
        for index in 0..<40 {
            let name = "f\(index)"
            model[name] = randomBytes(Int.random(in: 1...(96 << 10)))
            _ = try await s3.putObject(bucket: bucket, key: "d/\(name)", data: model[name]!)
        }
        let id = try await FSxServiceHardeningTests.createFileSystem(try FSxServiceHardeningTests.client(service))
        let mountPoint = scratch.path + "/fsx"
        let directory = mountPoint + "/d"
        _ = try await FSxServiceHardeningTests.call(
            try FSxServiceHardeningTests.client(service), "LocalMountFileSystem",
            ["FileSystemId": id, "MountPoint": mountPoint]
        ).get()
        _ = try await FSxServiceHardeningTests.call(
            try FSxServiceHardeningTests.client(service), "CreateDataRepositoryAssociation",
            [
                "FileSystemId": id, "FileSystemPath": "/d", "DataRepositoryPath": "s3://\(bucket)/d/",
                "BatchImportMetaDataOnCreate": true,
            ]
        ).get()
        let client = try FSxServiceHardeningTests.client(service)
        #expect(await Self.settle(client), "the association did not become AVAILABLE")

        var failures: [String] = []
        var tasksBefore = 0
        for trial in 0..<trials {
            let action = Action.allCases[trial % Action.allCases.count]
            // The change the task is to carry, made before the task starts.
            switch action {
            case .importChanges:
                let names = model.keys.sorted()
                for name in names.shuffled().prefix(4) {
                    model[name] = randomBytes(Int.random(in: 1...(96 << 10)))
                    _ = try await s3.putObject(bucket: bucket, key: "d/\(name)", data: model[name]!)
                }
                for name in names.shuffled().prefix(3) where model[name] != nil {
                    model[name] = nil
                    try await s3.deleteObject(bucket: bucket, key: "d/\(name)")
                }
                for index in 0..<6 {
                    let name = "t\(trial)-n\(index)"
                    model[name] = randomBytes(Int.random(in: 1...(96 << 10)))
                    _ = try await s3.putObject(bucket: bucket, key: "d/\(name)", data: model[name]!)
                }
            case .export:
                for index in 0..<6 {
                    let name = "t\(trial)-w\(index)"
                    model[name] = randomBytes(Int.random(in: 1...(2 << 20)))
                    try model[name]!.write(to: URL(fileURLWithPath: directory + "/" + name))
                }
            case .release:
                for name in model.keys.sorted() { _ = FileManager.default.contents(atPath: directory + "/" + name) }
            case .restore:
                _ = try? await runCommand([Self.lfs, "hsm_release"] + model.keys.sorted().map { directory + "/" + $0 })
            }
            let kind = [
                "import": "IMPORT_METADATA_FROM_REPOSITORY", "export": "EXPORT_TO_REPOSITORY",
                "release": "RELEASE_DATA_FROM_FILESYSTEM",
            ][action.rawValue]
            let request: [String: Any] = ["FileSystemId": id, "Type": kind ?? "", "Paths": ["/d"], "Report": ["Enabled": false]]
            let first = try FSxServiceHardeningTests.client(service)
            let body = try JSONSerialization.data(withJSONObject: request)
            let started = Task { if kind != nil { _ = await FSxServiceHardeningTests.send(first, "CreateDataRepositoryTask", body) } }
            // Readers of every (released) file at once, for a restore trial.
            var readers: [Process] = []
            if action == .restore {
                for name in model.keys.sorted() {
                    let reader = Process()
                    reader.executableURL = URL(fileURLWithPath: "/bin/cat")
                    reader.arguments = [directory + "/" + name]
                    reader.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                    reader.standardError = FileHandle(forWritingAtPath: "/dev/null")
                    try reader.run()
                    readers.append(reader)
                }
            }
            // Tasks and restores of this size take a few hundred milliseconds; most kills land before or while
            // one runs.
            let delay = UInt64.random(in: 0...200_000_000)
            try await Task.sleep(nanoseconds: delay)
            kill(service.process.processIdentifier, SIGKILL)
            await service.process.exited()
            _ = await started.value
            // The readers end with ENOTCONN once the mount's daemon is gone; a kill makes sure.
            for reader in readers {
                kill(reader.processIdentifier, SIGKILL)
                await reader.exited()
            }
            service = try await FSxServiceTests.start(scratch: scratch, port: port, moto: moto)
            let restarted = try FSxServiceHardeningTests.client(service)

            var problems: [String] = []
            let tasks =
                (try await FSxServiceHardeningTests.call(restarted, "DescribeDataRepositoryTasks", [:]).get()["DataRepositoryTasks"]
                    as? [[String: Any]]) ?? []
            let unfinished = tasks.filter { ["PENDING", "EXECUTING"].contains($0["Lifecycle"] as? String ?? "") }
            if !unfinished.isEmpty { problems.append("\(unfinished.count) tasks still PENDING or EXECUTING after the restart") }
            for task in tasks
            where task["Lifecycle"] as? String == "FAILED" && ((task["FailureDetails"] as? [String: Any])?["Message"] as? String ?? "").isEmpty {
                problems.append("task \(task["TaskId"] ?? "?") FAILED without saying why")
            }
            // Where the kill landed: before the task was recorded, while it ran, or after it ended.
            var landed = tasks.count > tasksBefore ? (tasks.last?["Lifecycle"] as? String ?? "?") : "no task"
            tasksBefore = tasks.count + (kind == nil ? 0 : 1)
            if action == .restore {
                var restored = 0
                for name in model.keys where await Self.hsmFlags(directory + "/" + name).map({ $0 & 0x4 == 0 }) == true { restored += 1 }
                landed = "\(restored) of \(model.count) files restored"
            }
            // The same task again, to its end (a restore trial reads every file below).
            if kind != nil {
                switch await FSxServiceHardeningTests.call(restarted, "CreateDataRepositoryTask", request) {
                case .success(let answer):
                    let taskId = (answer["DataRepositoryTask"] as? [String: Any])?["TaskId"] as? String ?? "?"
                    let lifecycle = await Self.finish(restarted, task: taskId)
                    if lifecycle != "SUCCEEDED" { problems.append("the \(action.rawValue) task run again ended \(lifecycle)") }
                case .failure(let error):
                    problems.append("the \(action.rawValue) task could not be created again: \(error.code) \(error.message)")
                }
            }
            problems += try await Self.inconsistencies(s3: s3, bucket: bucket, directory: directory, model: model, action: action)
            print(
                "chaos fsxd task trial \(trial): \(action.rawValue), killed after \(delay / 1_000_000) ms (\(landed)): \(problems.isEmpty ? "consistent" : problems.joined(separator: "; "))"
            )
            if !problems.isEmpty {
                failures.append("trial \(trial) (\(action.rawValue), \(delay / 1_000_000) ms): \(problems.joined(separator: "; "))")
            }
        }
        print("chaos fsxd task: trials \(trials), failures \(failures.count)")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// Waits until no association is CREATING; true when all are AVAILABLE.
    static func settle(_ client: AWSClient) async -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let associations =
                ((try? await FSxServiceHardeningTests.call(client, "DescribeDataRepositoryAssociations", [:]).get())?["Associations"]
                    as? [[String: Any]]) ?? []
            if !associations.isEmpty && associations.allSatisfy({ $0["Lifecycle"] as? String == "AVAILABLE" }) { return true }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        return false
    }

    /// Polls a task until it ends (at most two minutes); returns its lifecycle.
    static func finish(_ client: AWSClient, task: String) async -> String {
        let deadline = Date().addingTimeInterval(120)
        var lifecycle = "?"
        while Date() < deadline {
            let described = try? await FSxServiceHardeningTests.call(client, "DescribeDataRepositoryTasks", ["TaskIds": [task]]).get()
            lifecycle = ((described?["DataRepositoryTasks"] as? [[String: Any]])?.first?["Lifecycle"] as? String) ?? "?"
            if ["SUCCEEDED", "FAILED", "CANCELED"].contains(lifecycle) { return lifecycle }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        return lifecycle
    }

    /// What the bucket and the mount say that the model and the HSM rules do not.
    static func inconsistencies(s3: S3Client, bucket: String, directory: String, model: [String: Data], action: Action) async throws -> [String] {
        var problems: [String] = []
        let keys = Set(try await s3.listAllObjects(bucket: bucket, prefix: "d/").objects.map { String($0.key.dropFirst(2)) })
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        if keys != Set(model.keys) { problems.append("bucket has \(keys.symmetricDifference(model.keys).sorted()) against the model") }
        if names != Set(model.keys) { problems.append("mount has \(names.symmetricDifference(model.keys).sorted()) against the model") }
        for name in model.keys.sorted() where names.contains(name) {
            let path = directory + "/" + name
            guard let flags = await hsmFlags(path) else { problems.append("\(name): no HSM state"); continue }
            let (dirty, released, archived) = (flags & 0x2 != 0, flags & 0x4 != 0, flags & 0x8 != 0)
            if archived && !dirty && keys.contains(name) {
                let object = try await s3.getObject(bucket: bucket, key: "d/\(name)", maxBytes: 8 << 20).body
                if object != model[name] { problems.append("\(name) says archived (0x\(String(flags, radix: 16))) but its object differs") }
            }
            if released && (dirty || !archived) { problems.append("\(name) is released without an archived copy (0x\(String(flags, radix: 16)))") }
            if action == .release && !released { problems.append("\(name) not released after the release task (0x\(String(flags, radix: 16)))") }
            if action == .export && (dirty || !archived) {
                problems.append("\(name) not archived after the export task (0x\(String(flags, radix: 16)))")
            }
            if FileManager.default.contents(atPath: path) != model[name] { problems.append("\(name) reads other bytes than the model") }
        }
        let uploads = try await s3.listMultipartUploads(bucket: bucket)
        if !uploads.isEmpty { problems.append("\(uploads.count) multipart uploads left open") }
        return problems
    }
}
