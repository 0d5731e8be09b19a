import Foundation
import JSONOutput
import TestSupport
import Testing

@testable import LocalCluster
@testable import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

extension ClustersAsRoot {
    /// The workshop (../shared/seeds) end to end on this machine: every command of it runs verbatim through bash,
    /// with the real AWS CLI against our FSx service (`--endpoint-url`) and a moto server as the S3 bucket, real
    /// Slurm, and the real FUSE mount. Deviations, all for isolation: the cluster mounts the file system at a
    /// MountDir of its own instead of /fsx, the reads go to a /dev/shm file of their own, and the data is test-sized.
    @Suite(.serialized) struct SeedWorkflowTests {
        static let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

        typealias Outcome = ClustersAsRoot.Outcome

        static func bash(_ script: String, environment: [String: String], in directory: String) throws -> Outcome {
            try ClustersAsRoot.run(["/bin/bash", "-c", script], environment: environment, in: directory)
        }

        static func eventually(_ seconds: Double, _ check: () throws -> Bool) rethrows -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try check() { return true }
                usleep(250_000)
            }
            return try check()
        }

        /// Seconds from bash's `time` report ("real\t0m1.234s").
        static func realSeconds(_ report: String) -> Double? {
            guard let line = report.split(separator: "\n").first(where: { $0.hasPrefix("real") }) else { return nil }
            let value = line.dropFirst(4).trimmingCharacters(in: .whitespaces)
            let parts = value.dropLast().split(separator: "m")
            guard parts.count == 2, let minutes = Double(parts[0]), let seconds = Double(parts[1]) else { return nil }
            return minutes * 60 + seconds
        }

        /// Used kilobytes of the OST rows in `lfs df` output.
        static func usedKilobytes(_ df: String) -> Int? {
            df.split(separator: "\n").first { $0.contains("[OST:") }.flatMap { line in
                let columns = line.split(separator: " ", omittingEmptySubsequences: true)
                return columns.count > 2 ? Int(columns[2]) : nil
            }
        }

        /// What each test here starts: the moto server (S3 and SQS), an fsxd of its own on a free port that uses
        /// it, and an environment with the workshop's variables. `stop` deletes the test's cluster and ends the
        /// fsxd it started, by PID.
        struct Bench {
            let root: String
            let work: String
            let endpoint: String
            let bucket: String
            let environment: [String: String]
            let fsxdPid: pid_t

            init(name: String) async throws {
                try #require(LocalClusterRuntime.preconditions() == nil, "\(LocalClusterRuntime.preconditions() ?? "")")
                let moto = try await MotoServer.unchecked.start()
                root = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-\(name)-\(UUID().uuidString)").path
                work = root + "/work"
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                let port = freeLocalPort()
                endpoint = "http://127.0.0.1:\(port)"
                bucket = "\(name)-\(UInt32.random(in: 0...UInt32.max))"
                var environment = ProcessInfo.processInfo.environment
                for key in ["AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ENDPOINT_URL_FSX"] { environment.removeValue(forKey: key) }
                environment["PATH"] = SeedWorkflowTests.binaries + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
                environment["PCLUSTER_STATE_DIR"] = root + "/pcluster"
                environment["AWS_ACCESS_KEY_ID"] = "AKIASEEDWORKFLOW"
                environment["AWS_SECRET_ACCESS_KEY"] = "seed-workflow-secret"
                environment["AWS_REGION"] = "us-east-1"
                environment["AWS_DEFAULT_REGION"] = "us-east-1"
                // The moto server is the S3 (and SQS) of this test; the FSx service and the CLI both use it.
                environment["AWS_ENDPOINT_URL_S3"] = moto.endpoint
                environment["AWS_ENDPOINT_URL_SQS"] = moto.endpoint
                fsxdPid = try ProcessControl.spawn(
                    [SeedWorkflowTests.binaries + "/fsxd", "--port", String(port), "--state-directory", root + "/fsx-state"],
                    environment: environment, logPath: root + "/fsxd.log")
                // pcluster finds the service here; the workshop's aws commands get --endpoint-url.
                environment["AWS_ENDPOINT_URL_FSX"] = endpoint
                environment["CLUSTER_NAME"] = name
                environment["S3_BUCKET_NAME"] = bucket
                environment["SUBNET_ID"] = "subnet-0123456789abcdef0"
                self.environment = environment
                try #require(SeedWorkflowTests.eventually(20) { PortAllocator.isListening(port) }, "fsxd did not start")
            }

            func stop() {
                _ = try? SeedWorkflowTests.bash("pcluster delete-cluster --cluster-name $CLUSTER_NAME --wait", environment: environment, in: work)
                _ = ProcessControl.terminate(fsxdPid, commandContains: "fsxd")
                try? FileManager.default.removeItem(atPath: root)
            }
        }

        @Test(
            .enabled(
                if: getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/fuse"),
                "the local provider runs slurmctld and slurmd and the FSx service mounts with FUSE, which need root"),
            .timeLimit(.minutes(6)))
        func theWorkshopRunsEndToEnd() async throws {
            let bench = try await Bench(name: "seed")
            defer { bench.stop() }
            let (root, work, mountDir, endpoint) = (bench.root, bench.work, bench.root + "/fsx", bench.endpoint)
            let shm = "/dev/shm/fsx-seed-\(getpid())"
            defer { unlink(shm) }
            var environment = bench.environment
            environment["FILE"] = "input.dat"
            let env = environment
            let run = { (script: String) throws -> Outcome in try Self.bash(script, environment: env, in: work) }

            // The bucket with the user's data, and the workshop's file system.
            let payload = Data((0..<(48 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
            try payload.write(to: URL(fileURLWithPath: work + "/input.dat"))
            let uploaded = try run("aws s3 mb s3://$S3_BUCKET_NAME && aws s3 cp input.dat s3://$S3_BUCKET_NAME/$FILE")
            #expect(uploaded.status == 0, "\(uploaded.stderr)")
            let fileSystem = try run(
                "aws fsx create-file-system --file-system-type LUSTRE --storage-capacity 1200 --subnet-ids $SUBNET_ID --lustre-configuration DeploymentType=SCRATCH_2 --endpoint-url \(endpoint) --query FileSystem.FileSystemId --output text"
            )
            let fsId = fileSystem.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(fileSystem.status == 0 && fsId.hasPrefix("fs-"), "\(fileSystem.stderr)")
            environment["FSX_FS_ID"] = fsId
            environment["FSX_ID"] = fsId
            _ = root
            let seeded = environment
            let seed = { (script: String) throws -> Outcome in try Self.bash(script, environment: seeded, in: work) }

            // cluster.yaml: the workshop's config, with this test's MountDir.
            let config = try String(contentsOfFile: Self.repository.path + "/examples/cluster.yaml", encoding: .utf8)
                .replacingOccurrences(of: "MountDir: /fsx", with: "MountDir: \(mountDir)")
            try config.write(toFile: work + "/cluster.yaml", atomically: true, encoding: .utf8)

            // The FileSystemId validator asks the service: an id it does not know is an error at its line.
            let unknown = try Self.bash(
                "pcluster create-cluster --cluster-name $CLUSTER_NAME --cluster-configuration cluster.yaml --dryrun true",
                environment: seeded.merging(["FSX_FS_ID": "fs-0123456789abcdef0"]) { $1 }, in: work)
            let finding = unknown.json?["configurationValidationErrors"]?.arrayValue?.first { $0["level"] == "ERROR" }
            #expect(unknown.status == 1 && finding?["type"] == "ExistingFsxNetworkingValidator", "\(unknown.stdout)")
            #expect(finding?["message"]?.stringValue?.contains("fs-0123456789abcdef0 does not exist (asked the FSx service at \(endpoint))") == true)
            #expect(finding?["location"]?.stringValue?.hasSuffix("cluster.yaml:49:21") == true, "\(String(describing: finding))")
            let known = try seed("pcluster create-cluster --cluster-name $CLUSTER_NAME --cluster-configuration cluster.yaml --dryrun true")
            #expect(known.json?["message"] == "Request would have succeeded, but DryRun flag is set.", "\(known.stdout)")

            // pcluster create-cluster, verbatim; it returns while the cluster is being created, as the original does.
            let created = try seed("pcluster create-cluster --cluster-name $CLUSTER_NAME --cluster-configuration cluster.yaml")
            #expect(created.status == 0, "\(created.stdout)\(created.stderr)")
            #expect(created.json?["cluster"]?["clusterStatus"] == "CREATE_IN_PROGRESS")
            #expect(
                try Self.eventually(120) {
                    try seed("pcluster describe-cluster --cluster-name $CLUSTER_NAME").json?["clusterStatus"]?.stringValue != "CREATE_IN_PROGRESS"
                })
            #expect(try seed("pcluster describe-cluster --cluster-name $CLUSTER_NAME").json?["clusterStatus"] == "CREATE_COMPLETE")
            let listed = try seed("pcluster list-clusters").json?["clusters"]?.arrayValue ?? []
            #expect(listed.contains { $0["clusterName"] == "seed" && $0["clusterStatus"] == "CREATE_COMPLETE" })
            #expect((procFile("/proc/self/mounts")).contains(" \(mountDir) fuse.lustrefs "))

            // The association, with the workshop's arguments.
            let association = try seed(
                """
                aws fsx create-data-repository-association \\
                    --file-system-id $FSX_ID \\
                    --file-system-path "/dra" \\
                    --data-repository-path s3://$S3_BUCKET_NAME \\
                    --s3 AutoImportPolicy='{Events=[NEW,CHANGED,DELETED]},AutoExportPolicy={Events=[NEW,CHANGED,DELETED]}' \\
                    --batch-import-meta-data-on-create \\
                    --region $AWS_REGION --endpoint-url \(endpoint)
                """)
            #expect(association.status == 0, "\(association.stderr)")
            let draId = try #require(association.json?["Association"]?["AssociationId"]?.stringValue, "\(association.stdout)")
            #expect(
                try Self.eventually(60) {
                    try seed("aws fsx describe-data-repository-associations --association-ids \(draId) --endpoint-url \(endpoint)")
                        .json?["Associations"]?.arrayValue?.first?["Lifecycle"] == "AVAILABLE"
                })

            // Lazy loading: the name is there, the data is not.
            #expect(try Self.eventually(10) { try seed("ls \(mountDir)/dra").stdout == "input.dat\n" })
            #expect(
                try seed("lfs hsm_state \(mountDir)/dra/$FILE").stdout
                    == "\(mountDir)/dra/input.dat: (0x0000000d) released exists archived, archive_id:1\n")
            let dfBefore = try seed("lfs df \(mountDir)").stdout
            let first = try seed("time cat \(mountDir)/dra/$FILE > \(shm)")
            #expect(first.status == 0, "\(first.stderr)")
            #expect(FileManager.default.contents(atPath: shm) == payload)
            let second = try seed("time cat \(mountDir)/dra/$FILE > \(shm)")
            #expect(FileManager.default.contents(atPath: shm) == payload)
            let firstSeconds = try #require(Self.realSeconds(first.stderr), "\(first.stderr)")
            let secondSeconds = try #require(Self.realSeconds(second.stderr), "\(second.stderr)")
            // The first read fetched 48 MiB from the bucket; the second comes from the kernel's page cache.
            #expect(secondSeconds < firstSeconds, "first \(firstSeconds) s, second \(secondSeconds) s")
            #expect(
                try seed("lfs hsm_state \(mountDir)/dra/$FILE").stdout == "\(mountDir)/dra/input.dat: (0x00000009) exists archived, archive_id:1\n")
            let dfHuman = try seed("lfs df -h \(mountDir)")
            #expect(dfHuman.status == 0 && dfHuman.stdout.contains("filesystem_summary:"), "\(dfHuman.stdout)\(dfHuman.stderr)")
            let usedBefore = try #require(Self.usedKilobytes(dfBefore), "\(dfBefore)")
            let dfAfter = try seed("lfs df \(mountDir)").stdout
            let usedAfter = try #require(Self.usedKilobytes(dfAfter), "\(dfAfter)")
            #expect(usedAfter - usedBefore >= payload.count / 1024, "\(dfBefore)\n\(dfAfter)")
            let released = try seed("lfs hsm_release \(mountDir)/dra/$FILE")
            #expect(released.status == 0, "\(released.stderr)")
            #expect(
                try seed("lfs hsm_state \(mountDir)/dra/$FILE").stdout
                    == "\(mountDir)/dra/input.dat: (0x0000000d) released exists archived, archive_id:1\n")
            #expect(Self.usedKilobytes(try seed("lfs df \(mountDir)").stdout) == usedBefore)

            // A job on a dynamic compute node reads the data repository and writes a result into it. As over
            // ssh, the head node's shell reads the joined words: the script is quoted once more for it.
            let job = try seed(
                "pcluster ssh --cluster-name $CLUSTER_NAME sbatch --parsable -N 1 --wrap \"'md5sum \(mountDir)/dra/input.dat > \(mountDir)/dra/result.txt; echo \\$SLURMD_NODENAME >> \(mountDir)/dra/result.txt'\""
            )
            let jobId = job.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(job.status == 0 && !jobId.isEmpty, "\(job.stderr)")
            #expect(
                try Self.eventually(90) {
                    try seed("pcluster ssh --cluster-name $CLUSTER_NAME scontrol show job \(jobId)").stdout.contains("JobState=COMPLETED")
                })
            #expect(try seed("pcluster ssh --cluster-name $CLUSTER_NAME scontrol show job \(jobId)").stdout.contains("NodeList=c6i-dy-compute-"))
            let expectedSum = try seed("md5sum < input.dat").stdout.split(separator: " ").first.map(String.init) ?? "?"

            // Auto-export: the result appears in the bucket with the POSIX metadata.
            #expect(try Self.eventually(30) { try seed("aws s3api head-object --bucket $S3_BUCKET_NAME --key result.txt").status == 0 })
            let head = try seed("aws s3api head-object --bucket $S3_BUCKET_NAME --key result.txt").json
            #expect(head?["Metadata"]?["file-permissions"]?.stringValue?.hasPrefix("0100") == true, "\(String(describing: head))")
            let exported = try seed("aws s3 cp s3://$S3_BUCKET_NAME/result.txt -").stdout
            #expect(exported.hasPrefix(expectedSum) && exported.contains("c6i-dy-compute-"), "\(exported)")

            // Auto-import: an object put into the bucket appears under /fsx/dra, released until read.
            let put = try seed("echo 'from the bucket' | aws s3 cp - s3://$S3_BUCKET_NAME/incoming/new.txt")
            #expect(put.status == 0, "\(put.stderr)")
            #expect(try Self.eventually(60) { try seed("cat \(mountDir)/dra/incoming/new.txt").stdout == "from the bucket\n" })

            // The dashboard (pcluster-api with this environment) in headless Chromium: the cluster, and the
            // association with its files' HSM states: input.dat and new.txt restored by their reads, result.txt
            // exported; all three archived, none dirty or released.
            let token = UUID().uuidString
            let api = try APIProcess.start(
                Self.binaries + "/pcluster-api", environment: bench.environment, log: bench.work + "/api.log",
                arguments: ["--dashboard-token", token])
            defer { api.stop() }
            try await api.waitUntilListening()
            let browser = try await onOwnThread { [environment] in
                try runCommandBlocking(
                    [
                        TestPaths.repository.appendingPathComponent(".build/api-tools/bin/python").path,
                        TestPaths.repository.appendingPathComponent("scripts/api/browser_storage.py").path, api.endpoint, token,
                        environment["CLUSTER_NAME"] ?? "", "/dra",
                    ], environment: environment)
            }
            let page = try JSONValue.parse(String(decoding: browser.stdout, as: UTF8.self))
            #expect(browser.status == 0 && page["error"] == nil, "\(page)\n\(browser.stderr)")
            #expect(page["clustersRow"]?.stringValue?.contains("CREATE_COMPLETE") == true, "\(page)")
            let row = page["association"]
            #expect(row?["Association"]?.stringValue == draId && row?["Lifecycle"] == "AVAILABLE", "\(page)")
            #expect(row?["Files"] == "3" && row?["Archived"] == "3" && row?["Dirty"] == "0" && row?["Released"] == "0", "\(page)")
            // Moved since fsxd opened the file system: input.dat and new.txt imported, result.txt exported.
            #expect(Int(row?["Imported"]?.stringValue ?? "") ?? 0 >= 2, "\(page)")
            let exportCount = row?["Exported"]?.stringValue?.split(separator: " ").first.flatMap { Int($0) } ?? 0
            #expect(exportCount >= 1 && row?["Exported"]?.stringValue?.hasSuffix("(0 deleted)") == true, "\(page)")
            #expect(page["fileSystems"]?.arrayValue?.first?.stringValue?.hasPrefix(fsId) == true, "\(page)")
            // The export queue's plot has the file system's line (its depth: nothing left to export by now).
            #expect(page["queuePlot"]?.arrayValue?.first?.stringValue?.hasPrefix("\(fsId): 0 queued") == true, "\(page)")

            // Delete the association (and its data on the file system), then the cluster: nothing is left.
            let deleted = try seed(
                "aws fsx delete-data-repository-association --association-id \(draId) --delete-data-in-file-system --endpoint-url \(endpoint)")
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(
                try Self.eventually(60) {
                    try seed("aws fsx describe-data-repository-associations --association-ids \(draId) --endpoint-url \(endpoint)").stderr
                        .contains("DataRepositoryAssociationNotFound")
                })
            #expect(!FileManager.default.fileExists(atPath: mountDir + "/dra"))
            let queues = try seed("aws sqs list-queues --output text").stdout
            #expect(!queues.contains("fsx-\(draId)"), "\(queues)")
            let notifications = try seed("aws s3api get-bucket-notification-configuration --bucket $S3_BUCKET_NAME").stdout
            #expect(!notifications.contains(draId), "\(notifications)")
            // The bucket keeps the data (the association's data in S3 is never deleted).
            #expect(try seed("aws s3 ls s3://$S3_BUCKET_NAME/ --recursive").stdout.contains("result.txt"))

            let removed = try seed("pcluster delete-cluster --cluster-name $CLUSTER_NAME --wait")
            #expect(
                removed.status == 0 && removed.json?["message"]?.stringValue?.hasPrefix("Successfully deleted cluster") == true,
                "\(removed.stdout)\(removed.stderr)")
            #expect(!(procFile("/proc/self/mounts")).contains(" \(mountDir) "))
            #expect(!FileManager.default.fileExists(atPath: mountDir))
            #expect(try seed("pcluster list-clusters").json?["clusters"]?.arrayValue?.isEmpty == true)
            let fsDeleted = try seed("aws fsx delete-file-system --file-system-id $FSX_ID --endpoint-url \(endpoint)")
            #expect(fsDeleted.status == 0, "\(fsDeleted.stderr)")
            #expect(
                try Self.eventually(30) {
                    try seed("aws fsx describe-file-systems --file-system-ids $FSX_ID --endpoint-url \(endpoint)").stderr.contains(
                        "FileSystemNotFound")
                })
            #expect(!FileManager.default.fileExists(atPath: root + "/fsx-state/filesystems/\(fsId)"))
        }
        /// Without FileSystemId the cluster creates its file system from FsxLustreSettings, with the
        /// DataRepositoryAssociations it lists, and (DeletionPolicy Delete, the default) deletes it with itself.
        @Test(
            .enabled(
                if: getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/fuse"),
                "the local provider runs slurmctld and slurmd and the FSx service mounts with FUSE, which need root"),
            .timeLimit(.minutes(4)))
        func aManagedFileSystemComesAndGoesWithTheCluster() async throws {
            let bench = try await Bench(name: "managed")
            defer { bench.stop() }
            let mountDir = bench.root + "/scratch"
            let run = { (script: String) throws -> Outcome in try Self.bash(script, environment: bench.environment, in: bench.work) }
            #expect(try run("aws s3 mb s3://$S3_BUCKET_NAME && echo hello | aws s3 cp - s3://$S3_BUCKET_NAME/inputs/hello.txt").status == 0)
            let config = try String(contentsOfFile: Self.repository.path + "/examples/cluster.yaml", encoding: .utf8)
                .replacingOccurrences(
                    of: """
                            MountDir: /fsx
                            FsxLustreSettings:
                              FileSystemId: $FSX_FS_ID
                        """,
                    with: """
                            MountDir: \(mountDir)
                            FsxLustreSettings:
                              StorageCapacity: 1200
                              DeploymentType: PERSISTENT_2
                              PerUnitStorageThroughput: 125
                              DataRepositoryAssociations:
                                - Name: inputs
                                  FileSystemPath: /inputs
                                  DataRepositoryPath: s3://\(bench.bucket)/inputs
                                  BatchImportMetaDataOnCreate: true
                                  AutoImportPolicy: [NEW, CHANGED, DELETED]
                        """)
            #expect(config.contains("StorageCapacity: 1200"))
            try config.write(toFile: bench.work + "/managed.yaml", atomically: true, encoding: .utf8)

            let created = try run("pcluster create-cluster --cluster-name $CLUSTER_NAME --cluster-configuration managed.yaml --wait")
            #expect(created.json?["clusterStatus"] == "CREATE_COMPLETE", "\(created.stdout)\(created.stderr)")
            let described = try run("aws fsx describe-file-systems --endpoint-url $AWS_ENDPOINT_URL_FSX").json
            let systems = described?["FileSystems"]?.arrayValue ?? []
            #expect(systems.count == 1)
            let id = try #require(systems.first?["FileSystemId"]?.stringValue)
            #expect(systems.first?["Tags"]?.arrayValue?.contains { $0["Key"] == "parallelcluster:cluster-name" && $0["Value"] == "managed" } == true)
            let associations =
                try run("aws fsx describe-data-repository-associations --endpoint-url $AWS_ENDPOINT_URL_FSX").json?["Associations"]?.arrayValue ?? []
            #expect(associations.map { $0["FileSystemPath"]?.stringValue ?? "" } == ["/inputs"])
            #expect(associations.first?["Lifecycle"] == "AVAILABLE")
            #expect(try run("cat \(mountDir)/inputs/hello.txt").stdout == "hello\n")

            let deleted = try run("pcluster delete-cluster --cluster-name $CLUSTER_NAME --wait")
            #expect(deleted.json?["message"]?.stringValue?.hasPrefix("Successfully deleted cluster") == true, "\(deleted.stdout)\(deleted.stderr)")
            #expect(
                try Self.eventually(30) {
                    try run("aws fsx describe-file-systems --file-system-ids \(id) --endpoint-url $AWS_ENDPOINT_URL_FSX").stderr.contains(
                        "FileSystemNotFound")
                })
            #expect(!FileManager.default.fileExists(atPath: mountDir))
            // The bucket keeps its data.
            #expect(try run("aws s3 ls s3://$S3_BUCKET_NAME/inputs/").stdout.contains("hello.txt"))
        }
    }
}
