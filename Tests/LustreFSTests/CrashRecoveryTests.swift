import AWSCore
import AWSS3
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of the process running the core in the middle of a restore, an export and a write, then a new
/// process on the same directory: no file claims data it does not have, nothing written locally is lost, and
/// the interrupted work finishes. Runs the real `fsx-admin` binary against a moto S3 on 127.0.0.1.
@Suite(.serialized) struct CrashRecoveryTests {
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fsx-admin").path

    struct Admin {
        let directory: String
        let environment: [String: String]

        func arguments(_ command: [String]) -> [String] {
            [CrashRecoveryTests.binary] + [command[0], "--fs-dir", directory] + command.dropFirst()
        }

        /// Runs a command to the end; returns its status and output.
        func run(_ command: String..., input: Data? = nil) async throws -> (status: Int32, stdout: Data, stderr: String) {
            try await runCommand(arguments(command), environment: environment, input: input)
        }

        /// Starts a command and returns the process (to kill it).
        func start(_ command: String..., stdin: Pipe? = nil) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CrashRecoveryTests.binary)
            process.arguments = Array(arguments(command).dropFirst())
            process.environment = environment
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            if let stdin { process.standardInput = stdin }
            try process.run()
            return process
        }
    }

    static func setUp() async throws -> (Admin, S3Client, String, Scratch) {
        let moto = try await MotoServer.unchecked.start()
        let s3 = try S3Client(settings: moto.settings())
        let bucket = "lfs-crash-\(UInt32.random(in: 0...UInt32.max))"
        try await s3.createBucket(bucket)
        let scratch = Scratch()
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ENDPOINT_URL"] = moto.endpoint
        environment["AWS_ACCESS_KEY_ID"] = moto.credentials.accessKeyId
        environment["AWS_SECRET_ACCESS_KEY"] = moto.credentials.secretAccessKey
        environment["AWS_REGION"] = "us-east-1"
        environment.removeValue(forKey: "AWS_PROFILE")
        return (Admin(directory: scratch.path + "/fs", environment: environment), s3, bucket, scratch)
    }

    /// The cache files of inodes (in the data cache's buckets) and their allocated bytes.
    static func cacheFiles(_ directory: String) -> [String: Int64] {
        var result: [String: Int64] = [:]
        guard let walker = FileManager.default.enumerator(atPath: directory + "/data") else { return result }
        while let name = walker.nextObject() as? String {
            guard name.contains("/") else { continue }
            var info = stat()
            let path = directory + "/data/" + name
            if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG { result[name] = Int64(info.st_blocks) * 512 }
        }
        return result
    }

    /// Polls `condition` every 2 ms on a thread of its own and runs `then` there as soon as it holds (or the
    /// time is up): a kill meant to land mid-transfer must not wait for a cooperative thread on a loaded machine.
    static func waitUntil(
        _ seconds: Double, _ condition: @escaping @Sendable () -> Bool, then action: @escaping @Sendable () -> Void = {}
    ) async -> Bool {
        (try? await onOwnThread { () -> Bool in
            let deadline = Date().addingTimeInterval(seconds)
            var held = false
            while Date() < deadline {
                if condition() {
                    held = true
                    break
                }
                usleep(2_000)
            }
            action()
            return held
        }) ?? false
    }

    @Test func killedMidRestoreLeavesTheFileReleasedAndReadsAfterwards() async throws {
        let (admin, s3, bucket, scratch) = try await Self.setUp()
        _ = scratch
        let payload = randomBytes(192 << 20)
        _ = try await s3.putObject(
            bucket: bucket, key: "big.bin", data: payload,
            metadata: ["file-permissions": "0100644", "file-owner": "0", "file-group": "0"])
        let created = try await admin.run(
            "create-association", "--file-system-path", "/dra", "--data-repository-path", "s3://\(bucket)", "--batch-import")
        #expect(created.status == 0, "\(created.stderr)")

        let reader = try admin.start("cat", "/dra/big.bin")
        let (size, pid) = (Int64(payload.count), reader.processIdentifier)
        let caught = await Self.waitUntil(20) {
            Self.cacheFiles(admin.directory).values.contains { $0 > 0 && $0 < size }
        } then: {
            kill(pid, SIGKILL)
        }
        await reader.exited()
        #expect(caught, "the restore was not caught in progress")

        // A new process: the partial data is gone and the file says released.
        let state = try await admin.run("hsm_state", "/dra/big.bin")
        #expect(String(decoding: state.stdout, as: UTF8.self) == "/dra/big.bin: (0x0000000d) released exists archived, archive_id:1\n")
        #expect(Self.cacheFiles(admin.directory).isEmpty)
        #expect(String(decoding: try await admin.run("df").stdout, as: UTF8.self).contains(" used 0 "))
        let read = try await admin.run("cat", "/dra/big.bin")
        #expect(read.status == 0 && read.stdout == payload, "\(read.stderr)")
        let after = try await admin.run("hsm_state", "/dra/big.bin")
        #expect(String(decoding: after.stdout, as: UTF8.self) == "/dra/big.bin: (0x00000009) exists archived, archive_id:1\n")
    }

    @Test func killedMidExportResumesAndLeavesNoPartialUpload() async throws {
        let (admin, s3, bucket, scratch) = try await Self.setUp()
        _ = scratch
        let created = try await admin.run(
            "create-association", "--file-system-path", "/dra", "--data-repository-path", "s3://\(bucket)/out",
            "--auto-export", "NEW,CHANGED,DELETED")
        #expect(created.status == 0, "\(created.stderr)")
        // The export must be caught while its multipart upload is open; on a loaded machine a small file can
        // finish first, so each miss retries with a new file twice the size.
        var payload = Data()
        var name = ""
        var inProgress = false
        for (attempt, size) in [96 << 20, 192 << 20, 384 << 20].enumerated() where !inProgress {
            payload = randomBytes(size)
            name = "result-\(attempt).dat"
            let written = try await admin.run("write", "/dra/\(name)", input: payload)
            #expect(written.status == 0, "\(written.stderr)")
            #expect(String(decoding: try await admin.run("hsm_state", "/dra/\(name)").stdout, as: UTF8.self) == "/dra/\(name): (0x00000000)\n")
            let exporter = try admin.start("export")
            let key = "out/\(name)"
            let deadline = Date().addingTimeInterval(30)
            var seen = false
            while Date() < deadline && exporter.isRunning {
                if try await s3.listMultipartUploads(bucket: bucket, prefix: key).contains(where: { $0.key == key }) { seen = true; break }
                try await Task.sleep(nanoseconds: 2_000_000)
            }
            kill(exporter.processIdentifier, SIGKILL)
            await exporter.exited()
            // A listing answered late can show an upload the process completed before the kill landed; only an
            // upload still open after the process is dead proves the export was interrupted.
            let stillOpen = try await s3.listMultipartUploads(bucket: bucket, prefix: key).contains(where: { $0.key == key })
            inProgress = seen && stillOpen
        }
        #expect(inProgress, "the export was not caught in progress")

        // Not archived (the state does not claim a copy that is not there); the data is intact locally.
        #expect(String(decoding: try await admin.run("hsm_state", "/dra/\(name)").stdout, as: UTF8.self) == "/dra/\(name): (0x00000000)\n")
        #expect(try await admin.run("cat", "/dra/\(name)").stdout == payload)
        // The next process aborts the abandoned upload and finishes the export from its queue.
        let resumed = try await admin.run("export")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
        let object = try await s3.getObject(bucket: bucket, key: "out/\(name)", maxBytes: 512 << 20)
        #expect(object.body == payload)
        #expect(object.head.metadata["file-permissions"] == "0100644")
        #expect(
            String(decoding: try await admin.run("hsm_state", "/dra/\(name)").stdout, as: UTF8.self)
                == "/dra/\(name): (0x00000009) exists archived, archive_id:1\n")
    }

    @Test func killedMidWriteKeepsWhatReachedTheFileSystem() async throws {
        let (admin, _, bucket, scratch) = try await Self.setUp()
        _ = scratch
        _ = try await admin.run(
            "create-association", "--file-system-path", "/dra", "--data-repository-path", "s3://\(bucket)",
            "--auto-export", "NEW,CHANGED")
        let input = Pipe()
        let writer = try admin.start("write", "/dra/log.txt", stdin: input)
        let chunk = randomBytes(3 << 20)
        input.fileHandleForWriting.write(chunk)
        let (size, pid) = (Int64(chunk.count), writer.processIdentifier)
        let landed = await Self.waitUntil(20) {
            Self.cacheFiles(admin.directory).values.contains { $0 >= size }
        } then: {
            kill(pid, SIGKILL)
        }
        await writer.exited()
        try? input.fileHandleForWriting.close()
        #expect(landed)
        // The MDT had not heard of the size yet; recovery takes it from the local data.
        let listing = String(decoding: try await admin.run("ls", "/dra").stdout, as: UTF8.self)
        #expect(listing == "100644 \(getuid()) \(getgid()) \(chunk.count) log.txt\n")
        // And the export its last close would have queued is queued by the recovery.
        #expect(try await admin.run("export").status == 0)
        #expect(
            String(decoding: try await admin.run("hsm_state", "/dra/log.txt").stdout, as: UTF8.self)
                == "/dra/log.txt: (0x00000009) exists archived, archive_id:1\n")
        #expect(try await admin.run("cat", "/dra/log.txt").stdout == chunk)
    }
}
