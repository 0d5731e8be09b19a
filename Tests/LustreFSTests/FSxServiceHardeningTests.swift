import AWSCore
import AWSS3
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The FSx service against callers who get things wrong on purpose or by accident: requests that would reach
/// outside the service's business, the same ClientRequestToken many times at once, a service killed while it
/// creates, and clients that send too slowly or too much.
@Suite(.serialized, .ownThreads) struct FSxServiceHardeningTests {
    typealias Service = FSxServiceTests.Service

    /// A client for calls the AWS CLI cannot make as they are (it loads `file://` values as parameter files).
    static func client(_ service: Service) throws -> AWSClient {
        let settings = AWSSettings(
            region: "us-east-1",
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIAFSXLOCALTEST", secretAccessKey: "fsx-local-secret")),
            environment: ["AWS_ENDPOINT_URL_FSX": service.endpoint])
        return try AWSClient(service: .fsx, settings: settings, wireProtocol: .json11(targetPrefix: "AWSSimbaAPIService_v20180301"))
    }

    /// The call's answer as a JSON object, or the service's error code and message.
    static func call(_ client: AWSClient, _ operation: String, _ body: [String: Any]) async -> Result<[String: Any], AWSServiceError> {
        await send(client, operation, try! JSONSerialization.data(withJSONObject: body)).map {
            (try? JSONSerialization.jsonObject(with: $0) as? [String: Any]) ?? [:]
        }
    }

    static func send(_ client: AWSClient, _ operation: String, _ body: Data) async -> Result<Data, AWSServiceError> {
        do {
            return .success(try await client.json(operation, body))
        } catch let error as AWSServiceError {
            return .failure(error)
        } catch {
            return .failure(AWSServiceError(service: "fsx", operation: operation, code: "Unexpected", message: "\(error)", statusCode: 0))
        }
    }

    /// The association id of a CreateDataRepositoryAssociation answer, or the error's code and message.
    static func associationId(_ answer: Result<Data, AWSServiceError>) -> String {
        switch answer {
        case .success(let data):
            let object = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
            return ((object["Association"] as? [String: Any])?["AssociationId"] as? String) ?? "none"
        case .failure(let error): return "\(error.code): \(error.message)"
        }
    }

    static func createFileSystem(_ client: AWSClient, token: String? = nil) async throws -> String {
        var body: [String: Any] = ["FileSystemType": "LUSTRE", "StorageCapacity": 1200, "SubnetIds": ["subnet-0123456789abcdef0"]]
        if let token { body["ClientRequestToken"] = token }
        let created = try await call(client, "CreateFileSystem", body).get()
        return try #require((created["FileSystem"] as? [String: Any])?["FileSystemId"] as? String)
    }

    @Test func theAPIReachesOnlyS3AndPlacesMountsWhereNothingIsHidden() async throws {
        let service = try await FSxServiceTests.start()
        defer { service.stop() }
        let client = try Self.client(service)
        let id = try await Self.createFileSystem(client)
        // A local directory as a repository is an administrator's tool, never the API's.
        let local = await Self.call(
            client, "CreateDataRepositoryAssociation",
            ["FileSystemId": id, "FileSystemPath": "/etc", "DataRepositoryPath": "file:///etc"])
        guard case .failure(let refusal) = local else { Issue.record("file:///etc was accepted"); return }
        #expect(refusal.code == "BadRequest" && refusal.message.contains("is not an S3 path"))
        let associations = try await Self.call(client, "DescribeDataRepositoryAssociations", [:]).get()
        #expect((associations["Associations"] as? [Any])?.isEmpty == true)
        let report = await Self.call(
            client, "CreateDataRepositoryTask",
            [
                "FileSystemId": id, "Type": "EXPORT_TO_REPOSITORY",
                "Report": [
                    "Enabled": true, "Path": "file://\(service.scratch.path)/reports", "Format": "REPORT_CSV_20191124",
                    "Scope": "FAILED_FILES_ONLY",
                ],
            ])
        guard case .failure(let reportRefusal) = report else { Issue.record("a file:// report path was accepted"); return }
        #expect(reportRefusal.message.contains("Report.Path"))
        #expect(!FileManager.default.fileExists(atPath: service.scratch.path + "/reports"))

        // Mount points: never over files that are there, never with '..', never the service's own state.
        let full = service.scratch.sub("full")
        FileManager.default.createFile(atPath: full + "/precious", contents: Data("keep\n".utf8))
        for (mountPoint, expected) in [
            (full, "is not empty"), (service.scratch.path + "/a/../full", "'..'"),
            (service.scratch.path + "/state/filesystems", "state directory"),
            (full + "/precious", "is not a directory"),
        ] {
            let answer = await Self.call(client, "LocalMountFileSystem", ["FileSystemId": id, "MountPoint": mountPoint])
            guard case .failure(let error) = answer else { Issue.record("\(mountPoint) was mounted"); continue }
            #expect(error.message.contains(expected), "\(mountPoint): \(error.message)")
        }
        #expect(FileManager.default.contents(atPath: full + "/precious") == Data("keep\n".utf8))
    }

    @Test func oneClientRequestTokenMakesOneResourceWhateverTheConcurrency() async throws {
        var service = try await FSxServiceTests.start()
        defer { service.stop() }
        let client = try Self.client(service)
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<30 { group.addTask { try await Self.createFileSystem(client, token: "one-token") } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        let listed = try await Self.call(client, "DescribeFileSystems", [:]).get()
        #expect((listed["FileSystems"] as? [Any])?.count == 1)
        let id = try #require(ids.first)

        let moto = service.moto
        let bucket = "fsx-token-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await runCommand(["aws", "s3", "mb", "s3://\(bucket)", "--endpoint-url", moto.endpoint], environment: service.environment)
        let request: [String: Any] = [
            "FileSystemId": id, "FileSystemPath": "/dra", "DataRepositoryPath": "s3://\(bucket)/",
            "ClientRequestToken": "dra-token",
        ]
        let requestBody = try JSONSerialization.data(withJSONObject: request)
        let associationIds = await withTaskGroup(of: String.self) { group in
            for _ in 0..<12 { group.addTask { Self.associationId(await Self.send(client, "CreateDataRepositoryAssociation", requestBody)) } }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(associationIds).count == 1 && associationIds.first?.hasPrefix("dra-") == true, "\(associationIds)")
        // Without a token, two requests for one path: one association, and the other an FSx error, not a 500.
        let untokened = try JSONSerialization.data(withJSONObject: [
            "FileSystemId": id, "FileSystemPath": "/other",
            "DataRepositoryPath": "s3://\(bucket)-missing/",
        ])
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<2 { group.addTask { Self.associationId(await Self.send(client, "CreateDataRepositoryAssociation", untokened)) } }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        let failures = outcomes.filter { !$0.hasPrefix("dra-") }
        #expect(failures.count == 1 && failures.first?.hasPrefix("BadRequest: FileSystemPath /other overlaps") == true, "\(outcomes)")
        // The same token with another request is refused; after a restart the token still names its association.
        var other = request
        other["FileSystemPath"] = "/elsewhere"
        let mismatch = await Self.call(client, "CreateDataRepositoryAssociation", other)
        guard case .failure(let error) = mismatch else { Issue.record("a reused token made a second association"); return }
        #expect(error.code == "IncompatibleParameterError")
        service.stop()
        service = try await FSxServiceTests.start(scratch: service.scratch, port: service.port)
        let again = try await Self.call(try Self.client(service), "CreateDataRepositoryAssociation", request).get()
        #expect((again["Association"] as? [String: Any])?["AssociationId"] as? String == associationIds.first)
        #expect(try await Self.createFileSystem(try Self.client(service), token: "one-token") == id)
    }

    /// kill -9 of the service while file systems are being created, three times: after each restart every file
    /// system directory has a record (the startup sweep removes and reports any that does not), and every
    /// record opens.
    @Test func aServiceKilledWhileCreatingLeavesNoDirectoryWithoutARecord() async throws {
        let scratch = Scratch()
        let port = freeLocalPort()
        var service = try await FSxServiceTests.start(scratch: scratch, port: port)
        defer { service.stop() }
        for trial in 0..<3 {
            let client = try Self.client(service)
            let creates = Task {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<8 { group.addTask { _ = try? await Self.createFileSystem(client, token: "trial-\(trial)-\(index)") } }
                }
            }
            try await Task.sleep(nanoseconds: UInt64.random(in: 5_000_000...120_000_000))
            kill(service.process.processIdentifier, SIGKILL)
            await service.process.exited()
            await creates.value
            // A directory the killed service may have been making, with no record: the sweep's to remove.
            let stray = scratch.path + "/state/filesystems/fs-0000000000000dead"
            try FileManager.default.createDirectory(atPath: stray, withIntermediateDirectories: true)
            let log = scratch.path + "/fsxd-\(trial).log"
            service = try await FSxServiceTests.start(scratch: scratch, port: port, log: log)
            let listed = try await Self.call(try Self.client(service), "DescribeFileSystems", [:]).get()
            let records = Set(((listed["FileSystems"] as? [[String: Any]]) ?? []).compactMap { $0["FileSystemId"] as? String })
            let directories = Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/state/filesystems"))
            #expect(directories == records, "trial \(trial): directories \(directories.sorted()), records \(records.sorted())")
            #expect(!FileManager.default.fileExists(atPath: stray))
            let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(said.contains("fs-0000000000000dead") && said.contains("no file system record owns it"))
            let lifecycles = ((listed["FileSystems"] as? [[String: Any]]) ?? []).compactMap { $0["Lifecycle"] as? String }
            #expect(lifecycles.allSatisfy { $0 == "AVAILABLE" })
        }
    }

    /// Signed requests whose body does not fit the operation's shape get a BadRequest that names the field
    /// (with its path inside the request), or a SerializationException for a body that is not a JSON object;
    /// nothing is created.
    @Test func requestsOfTheWrongShapeAreRefusedByField() async throws {
        let service = try await FSxServiceTests.start()
        defer { service.stop() }
        let client = try Self.client(service)
        let id = try await Self.createFileSystem(client)
        let cases: [(operation: String, body: String, code: String, message: String)] = [
            ("DescribeFileSystems", "[1, 2]", "SerializationException", "not a JSON object"),
            ("DescribeFileSystems", "{\"MaxResults\": 1", "SerializationException", "not a JSON object"),
            ("DescribeFileSystems", "{\"FileSystemIds\": \"\(id)\"}", "BadRequest", "FileSystemIds must be a list."),
            (
                "CreateDataRepositoryTask", "{\"FileSystemId\": \"\(id)\", \"Type\": \"EXPORT_TO_REPOSITORY\", \"Report\": {\"Enabled\": \"yes\"}}",
                "BadRequest", "Report.Enabled must be a boolean."
            ),
            (
                "CreateDataRepositoryAssociation",
                "{\"FileSystemId\": \"\(id)\", \"FileSystemPath\": \"/a\", \"DataRepositoryPath\": \"s3://b/a/\", "
                    + "\"Tags\": [{\"Key\": \"k\", \"Value\": \"v\"}, {\"Value\": \"x\"}]}", "BadRequest", "Tags[1].Key is required."
            ),
            (
                "CreateDataRepositoryAssociation",
                "{\"FileSystemId\": \"\(id)\", \"FileSystemPath\": \"/a\", \"DataRepositoryPath\": \"s3://b/a/\", "
                    + "\"ImportedFileChunkSize\": 1.5}", "BadRequest", "a field holds a value of the wrong kind"
            ),
            ("CreateFileSystem", "{\"FileSystemType\": \"LUSTRE\", \"SubnetIds\": [\"subnet-1\"]}", "BadRequest", "StorageCapacity is required."),
        ]
        for (operation, body, code, message) in cases {
            switch await Self.send(client, operation, Data(body.utf8)) {
            case .success(let answer):
                Issue.record("\(operation) \(body) was accepted: \(String(decoding: answer, as: UTF8.self))")
            case .failure(let error):
                #expect(error.code == code && error.message.contains(message), "\(operation) \(body): \(error.code) \(error.message)")
            }
        }
        let associations = try await Self.call(client, "DescribeDataRepositoryAssociations", [:]).get()
        #expect((associations["Associations"] as? [Any])?.isEmpty == true)
        let systems = try await Self.call(client, "DescribeFileSystems", [:]).get()
        #expect((systems["FileSystems"] as? [Any])?.count == 1)
    }

    /// A head sent too slowly is cut at the header timeout; a 20 MB header line gets an AWS-style 431; a body
    /// that stalls gets a 408 at the body timeout (a body stalled past the header timeout, which is also the
    /// idle timeout, would be cut without one). Normal requests go on being served.
    @Test func slowAndOversizedRequestsAreAnsweredAndCut() async throws {
        let service = try await FSxServiceTests.start(arguments: ["--header-timeout", "4", "--body-timeout", "2"])
        defer { service.stop() }
        let script = """
            import socket, sys, time
            port = int(sys.argv[1])
            def read_all(s, limit):
                s.settimeout(limit)
                data = b''
                try:
                    while True:
                        chunk = s.recv(65536)
                        if not chunk: break
                        data += chunk
                except Exception as e:
                    data += ('<%s>' % type(e).__name__).encode()
                return data
            s = socket.create_connection(('127.0.0.1', port))
            s.sendall(b'POST / HTTP/1.1\\r\\nHost: x\\r\\nX-Amz-Target: AWSSimbaAPIService_v20180301.DescribeFileSystems\\r\\n')
            start = time.time()
            data = read_all(s, 15)
            print('slow-head %.1f %r' % (time.time() - start, data[:40]))
            s = socket.create_connection(('127.0.0.1', port))
            try:
                s.sendall(b'POST / HTTP/1.1\\r\\nHost: x\\r\\nX-Big: ' + b'a' * (20 << 20) + b'\\r\\n\\r\\n')
            except OSError:
                pass
            print('big-header %r' % read_all(s, 10)[:200])
            s = socket.create_connection(('127.0.0.1', port))
            s.sendall(b'POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100\\r\\n\\r\\n{"a":')
            start = time.time()
            data = read_all(s, 15)
            print('slow-body %.1f %r' % (time.time() - start, data[:500]))
            """
        let result = try await runCommand(["python3", "-c", script, String(service.port)])
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines) \(result.stderr)")
        guard lines.count == 3 else { return }
        let slowHead = lines[0].split(separator: " ")
        #expect(slowHead.count >= 3 && (3.5...8).contains(Double(slowHead[1]) ?? 99) && slowHead[2] == "b''", "\(lines[0])")
        #expect(lines[1].contains("431") && lines[1].contains("RequestHeaderFieldsTooLarge"), "\(lines[1])")
        let slowBody = lines[2].split(separator: " ")
        #expect(
            slowBody.count >= 3 && (Double(slowBody[1]) ?? 99) < 8 && lines[2].contains("408") && lines[2].contains("RequestTimeout"),
            "\(lines[2])")
        // Still serving.
        #expect((try await service.json(["describe-file-systems"])["FileSystems"] as? [Any]) != nil)
    }
}

/// The endpoint stops answering with its connections open (its process SIGSTOPped) while files are read
/// through the mount: readers get EIO within the read timeout, a killed reader goes at once, cached data and
/// metadata keep working, reads succeed again once it answers, and SIGTERM unmounts within seconds.
@Suite(.serialized, .ownThreads) struct FrozenEndpointTests {
    @Test(.enabled(if: getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0), .timeLimit(.minutes(40)))
    func readsAreBoundedAndInterruptibleWhileTheEndpointIsFrozen() async throws {
        let moto = try await MotoServer.dedicated()
        defer { moto.stop() }
        let frozen = try #require(moto.serverPid)
        var service = try await FSxServiceTests.start(arguments: ["--read-timeout", "6"], moto: moto)
        defer {
            kill(frozen, SIGCONT)
            service.stop()
        }
        let s3 = try S3Client(settings: moto.settings())
        let bucket = "fsx-frozen-\(UInt32.random(in: 0...UInt32.max))"
        try await s3.createBucket(bucket)
        let big = randomBytes(24 << 20)
        for name in ["big1.bin", "big2.bin", "big3.bin"] { _ = try await s3.putObject(bucket: bucket, key: name, data: big) }
        // One released file per trial (a file read before is in the kernel's page cache, which needs no endpoint).
        let trials = FSxChaosTests.trials(default: 2)
        let pieces = (0..<trials).map { _ in randomBytes(1 << 20) }
        for (index, piece) in pieces.enumerated() { _ = try await s3.putObject(bucket: bucket, key: "r\(index).bin", data: piece) }
        _ = try await s3.putObject(bucket: bucket, key: "small.txt", data: Data("small\n".utf8))
        let created = try await service.json([
            "create-file-system", "--file-system-type", "LUSTRE", "--storage-capacity", "1200",
            "--subnet-ids", "subnet-0123456789abcdef0",
        ])
        let id = try #require((created["FileSystem"] as? [String: Any])?["FileSystemId"] as? String)
        _ = try await service.json([
            "create-data-repository-association", "--file-system-id", id, "--file-system-path", "/dra",
            "--data-repository-path", "s3://\(bucket)", "--batch-import-meta-data-on-create",
        ])
        let client = try FSxServiceHardeningTests.client(service)
        let mountPoint = service.scratch.path + "/fsx"
        _ = try await FSxServiceHardeningTests.call(client, "LocalMountFileSystem", ["FileSystemId": id, "MountPoint": mountPoint]).get()
        let dra = mountPoint + "/dra"
        #expect(try await eventually(30) { FileManager.default.contents(atPath: dra + "/small.txt") == Data("small\n".utf8) })

        // A reader of a released file: EIO once nothing arrived for the read timeout (6 s), not minutes later;
        // once the endpoint answers, the file reads whole and is released again for the next trial.
        var longest = 0.0
        var failures: [String] = []
        for trial in 0..<trials {
            kill(frozen, SIGSTOP)
            let reader = try Reader(dra + "/r\(trial).bin")
            try await Task.sleep(nanoseconds: 500_000_000)
            // Meanwhile metadata and local data answer at once.
            let quick = Date()
            let small = FileManager.default.contents(atPath: dra + "/small.txt")
            let size = try? FileManager.default.attributesOfItem(atPath: dra + "/big2.bin")[.size] as? Int
            let quickWait = Date().timeIntervalSince(quick)
            let outcome = reader.wait(upTo: 30)
            longest = max(longest, outcome.waited)
            let errors = reader.errors
            kill(frozen, SIGCONT)
            // Past the half second in which a read of a file just failed for a stall fails at once.
            try await Task.sleep(nanoseconds: 700_000_000)
            var problems: [String] = []
            if small != Data("small\n".utf8) || size != big.count || quickWait >= 2 { problems.append("cached data or metadata took \(quickWait) s") }
            // Bounded by the read timeout, not by the endpoint: at least the timeout, and well short of the 30 s
            // wait (a busy machine's scheduling adds seconds to the watchdog's tick).
            if !(outcome.exited && outcome.status != 0 && outcome.waited >= 5 && outcome.waited < 20 && errors.contains("Input/output error")) {
                problems.append("reader: exited \(outcome.exited) status \(outcome.status) after \(outcome.waited) s: \(errors)")
            }
            if FileManager.default.contents(atPath: dra + "/r\(trial).bin") != pieces[trial] {
                problems.append("r\(trial).bin did not read whole afterwards")
            }
            print(
                "chaos frozen endpoint trial \(trial): reader waited \(String(format: "%.1f", outcome.waited)) s: \(problems.isEmpty ? "EIO in time" : problems.joined(separator: "; "))"
            )
            if !problems.isEmpty { failures.append("trial \(trial): \(problems.joined(separator: "; "))") }
        }
        print("chaos frozen endpoint: trials \(trials), failures \(failures.count), longest wait \(String(format: "%.1f", longest)) s")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        kill(frozen, SIGSTOP)

        // kill -9 of a waiting reader takes effect at once (the kernel's interrupt reaches the waiting read).
        // Timed from the kill, against the read timeout (6 s) a missed interrupt would wait for; the margin is for
        // a loaded machine, where the kill, the interrupt and the reaping each take their turn.
        let victim = try Reader(dra + "/big2.bin")
        try await Task.sleep(nanoseconds: 700_000_000)
        let killedAt = Date()
        kill(victim.pid, SIGKILL)
        let killed = victim.wait(upTo: 10)
        let gone = Date().timeIntervalSince(killedAt)
        #expect(killed.exited && gone < 3, "a killed reader took \(gone) s to go")

        kill(frozen, SIGCONT)

        // Frozen again, a reader waiting: SIGTERM to the service unmounts within seconds and the reader is released.
        kill(frozen, SIGSTOP)
        let stuck = try Reader(dra + "/big3.bin")
        try await Task.sleep(nanoseconds: 700_000_000)
        let stopping = Date()
        kill(service.process.processIdentifier, SIGTERM)
        while service.process.isRunning && Date().timeIntervalSince(stopping) < 20 { usleep(50_000) }
        #expect(
            !service.process.isRunning && Date().timeIntervalSince(stopping) < 12,
            "fsxd took \(Date().timeIntervalSince(stopping)) s to stop")
        let released = stuck.wait(upTo: 10)
        #expect(released.exited && released.status != 0)
        kill(frozen, SIGCONT)
        let mounts = procFile("/proc/self/mounts")
        #expect(!mounts.contains(" \(mountPoint) "))
    }
}

/// `cat FILE > /dev/null` in a process of its own, with its error output kept.
final class Reader: @unchecked Sendable {
    let process = Process()
    let errorPipe = Pipe()
    let started = Date()
    var pid: pid_t { process.processIdentifier }

    init(_ path: String) throws {
        process.executableURL = URL(fileURLWithPath: "/bin/cat")
        process.arguments = [path]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = errorPipe
        try process.run()
    }

    var errors: String {
        String(decoding: errorPipe.fileHandleForReading.availableData, as: UTF8.self)
    }

    /// Waits up to `seconds` for the process to end.
    func wait(upTo seconds: Double) -> (exited: Bool, status: Int32, waited: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let exited = !process.isRunning
        return (exited, exited ? process.terminationStatus : -1, Date().timeIntervalSince(started))
    }
}
