import AWSCore
import AWSS3
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 of fsxd at random moments of association creates (with a batch import and an event feed) and
/// deletes, then a restart and a consistency check: every association ends AVAILABLE with all its files
/// imported, the bucket's notification entries and the SQS queues are exactly those of the live associations
/// with auto-import, and no file system directory lacks a record. CHAOS_TRIALS sets the number of trials
/// (benchmarks/chaos.sh runs 100 and more); each trial prints what it did.
@Suite(.serialized, .ownThreads) struct FSxChaosTests {
    static var trials: Int { trials(default: 4) }

    /// CHAOS_TRIALS when set, else the suite's default for this fault.
    static func trials(default value: Int) -> Int { Int(ProcessInfo.processInfo.environment["CHAOS_TRIALS"] ?? "") ?? value }

    @Test(.enabled(if: getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0), .timeLimit(.minutes(40)))
    func killedDuringAssociationWorkTheServiceComesBackConsistent() async throws {
        let moto = try await MotoServer.dedicated()
        defer { moto.stop() }
        let scratch = Scratch()
        let port = freeLocalPort()
        var service = try await FSxServiceTests.start(scratch: scratch, port: port, moto: moto)
        defer { service.stop() }
        let s3 = try S3Client(settings: moto.settings())
        let bucket = "fsx-chaos-\(UInt32.random(in: 0...UInt32.max))"
        try await s3.createBucket(bucket)
        let objects = 120
        let id = try await FSxServiceHardeningTests.createFileSystem(try FSxServiceHardeningTests.client(service))
        let mountPoint = scratch.path + "/fsx"
        _ = try await FSxServiceHardeningTests.call(
            try FSxServiceHardeningTests.client(service), "LocalMountFileSystem",
            ["FileSystemId": id, "MountPoint": mountPoint]
        ).get()
        var failures: [String] = []
        var live: [String: String] = [:]  // association id → its directory
        for trial in 0..<Self.trials {
            let client = try FSxServiceHardeningTests.client(service)
            let action: String
            let request: Task<Void, Never>
            // Creates until three associations live, then deletes (a file system holds at most eight).
            if live.count >= 3 || (trial % 3 == 2 && !live.isEmpty), let victim = live.keys.sorted().first {
                action = "delete \(victim)"
                request = Task {
                    _ = await FSxServiceHardeningTests.call(
                        client, "DeleteDataRepositoryAssociation",
                        ["AssociationId": victim, "DeleteDataInFileSystem": false])
                }
            } else {
                let prefix = "t\(trial)/"
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<objects {
                        group.addTask { _ = try await s3.putObject(bucket: bucket, key: "\(prefix)f\(index)", data: Data("\(index)".utf8)) }
                    }
                    try await group.waitForAll()
                }
                action = "create /t\(trial)"
                request = Task {
                    _ = await FSxServiceHardeningTests.call(
                        client, "CreateDataRepositoryAssociation",
                        [
                            "FileSystemId": id, "FileSystemPath": "/t\(trial)", "DataRepositoryPath": "s3://\(bucket)/\(prefix)",
                            "BatchImportMetaDataOnCreate": true, "ClientRequestToken": "chaos-\(trial)",
                            "S3": ["AutoImportPolicy": ["Events": ["NEW", "CHANGED", "DELETED"]]],
                        ])
                }
            }
            let delay = UInt64.random(in: 0...400_000_000)
            try await Task.sleep(nanoseconds: delay)
            kill(service.process.processIdentifier, SIGKILL)
            await service.process.exited()
            await request.value
            service = try await FSxServiceTests.start(scratch: scratch, port: port, moto: moto)
            let restarted = try FSxServiceHardeningTests.client(service)
            // Settle: nothing CREATING or DELETING.
            var associations: [[String: Any]] = []
            let deadline = Date().addingTimeInterval(60)
            repeat {
                associations =
                    (try await FSxServiceHardeningTests.call(restarted, "DescribeDataRepositoryAssociations", [:]).get()["Associations"]
                        as? [[String: Any]]) ?? []
                if associations.allSatisfy({ !["CREATING", "DELETING"].contains($0["Lifecycle"] as? String ?? "") }) { break }
                try await Task.sleep(nanoseconds: 200_000_000)
            } while Date() < deadline
            var problems: [String] = []
            live = [:]
            for association in associations {
                let dra = association["AssociationId"] as? String ?? "?"
                let path = association["FileSystemPath"] as? String ?? "?"
                let lifecycle = association["Lifecycle"] as? String ?? "?"
                if lifecycle != "AVAILABLE" { problems.append("\(dra) is \(lifecycle): \(association["FailureDetails"] ?? "")") }
                live[dra] = path
                let names = (try? FileManager.default.contentsOfDirectory(atPath: mountPoint + path)) ?? []
                if names.count != objects { problems.append("\(path) has \(names.count) of \(objects) files") }
            }
            let entries = Set(try await s3.getBucketNotificationConfiguration(bucket: bucket).targets.compactMap(\.id))
            let expected = Set(live.keys.map { "fsx-\($0)" })
            if entries != expected { problems.append("notification entries \(entries.sorted()) instead of \(expected.sorted())") }
            let queues = try await runCommand(
                [
                    "aws", "sqs", "list-queues", "--endpoint-url", moto.endpoint, "--output", "text",
                    "--query", "QueueUrls[]",
                ], environment: service.environment)
            let queueNames = Set(
                String(decoding: queues.stdout, as: UTF8.self).split(whereSeparator: { $0 == "\t" || $0 == "\n" })
                    .map { String($0.split(separator: "/").last ?? "") }.filter { $0.hasPrefix("fsx-dra-") })
            if queueNames != expected { problems.append("queues \(queueNames.sorted()) instead of \(expected.sorted())") }
            let directories = Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/state/filesystems"))
            if directories != [id] { problems.append("file system directories \(directories.sorted())") }
            print(
                "chaos fsxd trial \(trial): \(action), killed after \(delay / 1_000_000) ms: \(problems.isEmpty ? "consistent" : problems.joined(separator: "; "))"
            )
            if !problems.isEmpty { failures.append("trial \(trial) (\(action), \(delay / 1_000_000) ms): \(problems.joined(separator: "; "))") }
        }
        print("chaos fsxd: trials \(Self.trials), failures \(failures.count)")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
