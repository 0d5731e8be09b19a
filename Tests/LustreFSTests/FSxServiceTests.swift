import AWSCore
import AWSS3
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The FSx API served by `fsxd` on 127.0.0.1, driven by the real AWS CLI: file systems, the seed's
/// create-data-repository-association command, describes whose output matches botocore's model of FSx,
/// AWS-style errors, SigV4 refusals, and state that survives a restart.
@Suite(.serialized, .ownThreads) struct FSxServiceTests {
    static let fsxd = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fsxd").path

    struct Service {
        let scratch: Scratch
        let port: Int
        let environment: [String: String]
        var process: Process
        let moto: MotoServer.Running

        var endpoint: String { "http://127.0.0.1:\(port)" }

        func aws(_ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
            let result = try await runCommand(
                ["aws", "fsx"] + arguments + ["--endpoint-url", endpoint, "--output", "json"], environment: environment)
            return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
        }

        func json(_ arguments: [String]) async throws -> [String: Any] {
            let result = try await aws(arguments)
            guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any] else {
                throw TestSetupError(description: "aws fsx \(arguments.joined(separator: " ")) failed: \(result.err)")
            }
            return object
        }

        func stop() {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// Starts fsxd; `endpoint` (S3 and SQS) is the moto server's unless given (a relay in front of it).
    static func start(
        scratch: Scratch? = nil, port: Int? = nil, arguments: [String] = [], log: String? = nil,
        moto given: MotoServer.Running? = nil, endpoint: String? = nil
    ) async throws -> Service {
        let moto: MotoServer.Running
        if let given { moto = given } else { moto = try await MotoServer.unchecked.start() }
        let scratch = scratch ?? Scratch()
        let port = port ?? freeLocalPort()
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = "AKIAFSXLOCALTEST"
        environment["AWS_SECRET_ACCESS_KEY"] = "fsx-local-secret"
        environment["AWS_REGION"] = "us-east-1"
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment["AWS_ENDPOINT_URL_S3"] = endpoint ?? moto.endpoint
        environment["AWS_ENDPOINT_URL_SQS"] = endpoint ?? moto.endpoint
        environment.removeValue(forKey: "AWS_ENDPOINT_URL")
        environment.removeValue(forKey: "AWS_PROFILE")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: fsxd)
        process.arguments = ["--port", String(port), "--state-directory", scratch.path + "/state"] + arguments
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        if let log {
            FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: log)
        } else {
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !canConnect(port: port) {
            guard Date() < deadline, process.isRunning else { throw TestSetupError(description: "fsxd did not start") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return Service(scratch: scratch, port: port, environment: environment, process: process, moto: moto)
    }

    /// Keys of an output shape that botocore's FSx model does not know, and required keys it misses.
    static func modelProblems(_ operation: String, _ output: String) async throws -> String {
        let script = """
            import json, sys, botocore.session
            model = botocore.session.get_session().get_service_model('fsx')
            shape = model.operation_model(sys.argv[1]).output_shape
            problems = []
            def check(value, shape, where):
                if shape.type_name == 'structure':
                    for key in value:
                        if key not in shape.members: problems.append(f'{where}.{key} unknown')
                    for key in shape.required_members:
                        if key not in value: problems.append(f'{where}.{key} missing')
                    for key, item in value.items():
                        if key in shape.members: check(item, shape.members[key], f'{where}.{key}')
                elif shape.type_name == 'list':
                    for index, item in enumerate(value): check(item, shape.member, f'{where}[{index}]')
            check(json.loads(sys.stdin.read()), shape, sys.argv[1])
            print('\\n'.join(problems))
            """
        let result = try await runCommand(["python3", "-c", script, operation], input: Data(output.utf8))
        guard result.status == 0 else { throw TestSetupError(description: result.stderr) }
        return String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func theSeedsAssociationCommandAgainstTheService() async throws {
        var service = try await Self.start()
        defer { service.stop() }
        let s3 = try S3Client(settings: service.moto.settings())
        let bucket = "fsx-seed-\(UInt32.random(in: 0...UInt32.max))"
        try await s3.createBucket(bucket)
        _ = try await s3.putObject(
            bucket: bucket, key: "data/hello.txt", data: Data("hello\n".utf8),
            metadata: ["file-permissions": "0100644", "file-owner": "1000", "file-group": "1000"])

        let created = try await service.json([
            "create-file-system", "--file-system-type", "LUSTRE", "--storage-capacity", "1200",
            "--subnet-ids", "subnet-0123456789abcdef0", "--lustre-configuration", "DeploymentType=SCRATCH_2",
            "--tags", "Key=Name,Value=seed", "--client-request-token", "token-1",
        ])
        let fileSystem = try #require(created["FileSystem"] as? [String: Any])
        let id = try #require(fileSystem["FileSystemId"] as? String)
        #expect(id.range(of: "^fs-[0-9a-f]{17}$", options: .regularExpression) != nil)
        #expect(fileSystem["Lifecycle"] as? String == "AVAILABLE")
        // The same ClientRequestToken returns the same file system; with other parameters it is refused.
        let again = try await service.json([
            "create-file-system", "--file-system-type", "LUSTRE", "--storage-capacity", "1200",
            "--subnet-ids", "subnet-0123456789abcdef0", "--lustre-configuration", "DeploymentType=SCRATCH_2",
            "--tags", "Key=Name,Value=seed", "--client-request-token", "token-1",
        ])
        #expect((again["FileSystem"] as? [String: Any])?["FileSystemId"] as? String == id)
        let mismatch = try await service.aws([
            "create-file-system", "--file-system-type", "LUSTRE", "--storage-capacity", "2400",
            "--subnet-ids", "subnet-0123456789abcdef0", "--client-request-token", "token-1",
        ])
        #expect(mismatch.status != 0 && mismatch.err.contains("IncompatibleParameterError"))
        let badCapacity = try await service.aws([
            "create-file-system", "--file-system-type", "LUSTRE", "--storage-capacity", "1000",
            "--subnet-ids", "subnet-0123456789abcdef0",
        ])
        #expect(badCapacity.err.contains("(InvalidParameterValue) when calling the CreateFileSystem operation: StorageCapacity 1000 GiB"))
        let persistent = try await service.aws([
            "create-file-system", "--file-system-type", "LUSTRE", "--storage-capacity", "1200",
            "--subnet-ids", "subnet-0123456789abcdef0", "--lustre-configuration", "DeploymentType=PERSISTENT_2",
        ])
        #expect(persistent.err.contains("InvalidPerUnitStorageThroughput"))

        // The seed's command, verbatim but for the endpoint and the bucket.
        let association = try await service.json([
            "create-data-repository-association", "--file-system-id", id, "--file-system-path", "/dra",
            "--data-repository-path", "s3://\(bucket)",
            "--s3", "AutoImportPolicy={Events=[NEW,CHANGED,DELETED]},AutoExportPolicy={Events=[NEW,CHANGED,DELETED]}",
            "--batch-import-meta-data-on-create", "--region", "us-east-1",
        ])
        let draId = try #require((association["Association"] as? [String: Any])?["AssociationId"] as? String)
        #expect(draId.range(of: "^dra-[0-9a-f]{17}$", options: .regularExpression) != nil)
        var lifecycle = ""
        for _ in 0..<200 {
            let described = try await service.json(["describe-data-repository-associations", "--filters", "Name=file-system-id,Values=\(id)"])
            lifecycle = ((described["Associations"] as? [[String: Any]])?.first?["Lifecycle"] as? String) ?? ""
            if lifecycle == "AVAILABLE" { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(lifecycle == "AVAILABLE")
        // Outputs match the CLI's own model of FSx: no unknown keys, no missing required ones.
        let describedFS = try await service.aws(["describe-file-systems"])
        #expect(try await Self.modelProblems("DescribeFileSystems", describedFS.out) == "")
        let describedDRA = try await service.aws(["describe-data-repository-associations"])
        #expect(try await Self.modelProblems("DescribeDataRepositoryAssociations", describedDRA.out) == "")
        // The bucket notification entry of the association exists.
        let notification = try await s3.getBucketNotificationConfiguration(bucket: bucket)
        #expect(notification.targets.map(\.id) == ["fsx-\(draId)"])
        // Errors the CLI prints cleanly.
        let overlap = try await service.aws([
            "create-data-repository-association", "--file-system-id", id, "--file-system-path", "/dra/sub",
            "--data-repository-path", "s3://\(bucket)/other/",
        ])
        #expect(
            overlap.err.contains("(BadRequest) when calling the CreateDataRepositoryAssociation operation: FileSystemPath /dra/sub overlaps /dra"))
        let missing = try await service.aws(["describe-file-systems", "--file-system-ids", "fs-00000000000000000"])
        #expect(missing.err.contains("(FileSystemNotFound)"))
        let noDRA = try await service.aws(["delete-data-repository-association", "--association-id", "dra-00000000000000000"])
        #expect(noDRA.err.contains("(DataRepositoryAssociationNotFound)"))

        // A task through the API.
        let task = try await service.json([
            "create-data-repository-task", "--file-system-id", id, "--type", "EXPORT_TO_REPOSITORY",
            "--report", "Enabled=false",
        ])
        let taskId = try #require((task["DataRepositoryTask"] as? [String: Any])?["TaskId"] as? String)
        #expect(taskId.hasPrefix("task-"))
        let tasks = try await service.aws(["describe-data-repository-tasks", "--task-ids", taskId])
        #expect(try await Self.modelProblems("DescribeDataRepositoryTasks", tasks.out) == "")

        // State survives a restart of the service.
        service.stop()
        service = try await Self.start(scratch: service.scratch, port: service.port)
        let afterRestart = try await service.json(["describe-data-repository-associations", "--association-ids", draId])
        #expect((afterRestart["Associations"] as? [[String: Any]])?.first?["FileSystemPath"] as? String == "/dra")

        // Delete the association (its notification entry goes) and the file system.
        _ = try await service.json(["delete-data-repository-association", "--association-id", draId, "--no-delete-data-in-file-system"])
        #expect(try await eventually { try await s3.getBucketNotificationConfiguration(bucket: bucket).targets.isEmpty })
        let deleted = try await service.json(["delete-file-system", "--file-system-id", id])
        #expect(deleted["Lifecycle"] as? String == "DELETING")
        #expect((try await service.json(["describe-file-systems"])["FileSystems"] as? [Any])?.isEmpty == true)
    }

    @Test(.enabled(if: getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0))
    func theServiceMountsItsFileSystemsAndUnmountsThemOnDelete() async throws {
        let service = try await Self.start()
        defer { service.stop() }
        let s3 = try S3Client(settings: service.moto.settings())
        let bucket = "fsx-mount-\(UInt32.random(in: 0...UInt32.max))"
        try await s3.createBucket(bucket)
        _ = try await s3.putObject(bucket: bucket, key: "input.txt", data: Data("lazy\n".utf8))
        let created = try await service.json([
            "create-file-system", "--file-system-type", "LUSTRE", "--storage-capacity", "1200",
            "--subnet-ids", "subnet-0123456789abcdef0",
        ])
        let id = try #require((created["FileSystem"] as? [String: Any])?["FileSystemId"] as? String)
        _ = try await service.json([
            "create-data-repository-association", "--file-system-id", id, "--file-system-path", "/dra",
            "--data-repository-path", "s3://\(bucket)", "--batch-import-meta-data-on-create",
        ])
        // The local provider's mount call (not part of the FSx API), signed like every other request.
        let settings = AWSSettings(
            region: "us-east-1",
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIAFSXLOCALTEST", secretAccessKey: "fsx-local-secret")),
            environment: ["AWS_ENDPOINT_URL_FSX": service.endpoint])
        let client = try AWSClient(service: .fsx, settings: settings, wireProtocol: .json11(targetPrefix: "AWSSimbaAPIService_v20180301"))
        let mountPoint = service.scratch.path + "/fsx"
        _ = try await client.json("LocalMountFileSystem", Data("{\"FileSystemId\":\"\(id)\",\"MountPoint\":\"\(mountPoint)\"}".utf8))
        #expect(try await eventually { FileManager.default.contents(atPath: mountPoint + "/dra/input.txt") == Data("lazy\n".utf8) })
        let mounts = { procFile("/proc/self/mounts") }
        #expect(mounts().contains(" \(mountPoint) fuse.lustrefs "))
        // Deleting the file system unmounts it first.
        _ = try await service.json(["delete-file-system", "--file-system-id", id])
        #expect(!mounts().contains(" \(mountPoint) "))
    }

    @Test func unsignedExpiredAndWronglySignedRequestsAreRefused() async throws {
        let service = try await Self.start()
        defer { service.stop() }
        func post(_ headers: [String: String], body: String = "{}") async throws -> (status: Int32, out: String) {
            var arguments = [
                "curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "\(service.endpoint)/",
                "-H", "X-Amz-Target: AWSSimbaAPIService_v20180301.DescribeFileSystems",
                "-H", "Content-Type: application/x-amz-json-1.1", "--data", body,
            ]
            for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
            let result = try await runCommand(arguments)
            return (result.status, String(decoding: result.stdout, as: UTF8.self))
        }
        let unsigned = try await post([:])
        #expect(unsigned.out.hasSuffix("403") && unsigned.out.contains("MissingAuthenticationTokenException"))
        // Signed 20 minutes ago with the right key: expired.
        func signed(at date: Date, secret: String) -> [String: String] {
            var request = SignableRequest(
                method: "POST", host: "127.0.0.1:\(service.port)", path: "/",
                headers: [
                    ("X-Amz-Target", "AWSSimbaAPIService_v20180301.DescribeFileSystems"),
                    ("Content-Type", "application/x-amz-json-1.1"),
                ])
            let signer = SigV4Signer(
                credentials: AWSCredentials(accessKeyId: "AKIAFSXLOCALTEST", secretAccessKey: secret),
                region: "us-east-1", service: "fsx")
            signer.sign(&request, payload: .of(Data("{}".utf8)), date: date)
            return Dictionary(
                request.headers.filter { ["authorization", "x-amz-date"].contains($0.name.lowercased()) }
                    .map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        }
        let expired = try await post(signed(at: Date().addingTimeInterval(-1200), secret: "fsx-local-secret"))
        #expect(expired.out.hasSuffix("403") && expired.out.contains("Signature expired"))
        let wrong = try await post(signed(at: Date(), secret: "not-the-secret"))
        #expect(wrong.out.contains("InvalidSignatureException") && wrong.out.contains("does not match"))
        let good = try await post(signed(at: Date(), secret: "fsx-local-secret"))
        #expect(good.out.hasSuffix("200") && good.out.contains("\"FileSystems\""))
        // A body changed after signing no longer matches.
        let tampered = try await post(signed(at: Date(), secret: "fsx-local-secret"), body: "{\"MaxResults\": 1}")
        #expect(tampered.out.contains("InvalidSignatureException"))
        let unknownKey = try await runCommand(
            ["aws", "fsx", "describe-file-systems", "--endpoint-url", service.endpoint],
            environment: service.environment.merging(["AWS_ACCESS_KEY_ID": "AKIAUNKNOWN"]) { $1 })
        #expect(unknownKey.stderr.contains("UnrecognizedClientException"))
    }
}
