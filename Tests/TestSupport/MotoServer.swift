import AWSCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

package enum TestPaths {
    package static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    package static let childOf = repository.appendingPathComponent("Tests/Support/child-of.py").path
    package static let tcpRelay = repository.appendingPathComponent("Tests/Support/tcp-relay.py").path
}

/// An endpoint the test can take away and give back: a relay process on its own port in front of a server.
/// `refuse()` kills the relay (open connections drop, new ones are refused), `restore()` starts it again on
/// the same port; the server behind it keeps its state throughout.
package final class TCPRelay: @unchecked Sendable {
    package let port: Int
    let upstream: Int
    private var process: Process?

    package init(upstream: Int) throws {
        self.port = freeLocalPort()
        self.upstream = upstream
        try restore()
    }

    package var endpoint: String { "http://127.0.0.1:\(port)" }

    package func restore() throws {
        guard process == nil else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.tcpRelay, String(getpid()), String(port), String(upstream)]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !canConnect(port: port) {
            guard Date() < deadline, process.isRunning else { throw TestSetupError(description: "the relay did not listen on \(port)") }
            usleep(20_000)
        }
        self.process = process
    }

    package func refuse() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit { refuse() }
}

/// A free TCP port on 127.0.0.1 (bound to 0, read back, released).
package func freeLocalPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

package func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// A /proc file whole: Foundation's String(contentsOfFile:) and FileManager stop at 4 KiB of a file whose
/// size reads 0, and /proc/self/mounts or /proc/net/tcp are often longer.
package func procFile(_ path: String) -> String {
    String(decoding: (try? FileHandle(forReadingAtPath: path)?.readToEnd()) ?? Data(), as: UTF8.self)
}

/// The last `count` lines of a text file (a daemon's log, for a failure's message); nil when it cannot be read.
package func lastLines(ofFile path: String, _ count: Int) -> String? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return text.split(separator: "\n").suffix(count).joined(separator: "\n")
}

package struct TestSetupError: Error, CustomStringConvertible {
    package let description: String
    package init(description: String) { self.description = description }
}

/// One moto server for the whole test process, started with signature checking on: its first three
/// (unchecked) requests create an IAM user with an allow-all policy and an access key, and every later
/// request must be signed with that key. Stopped by PID through child-of.py when the test process ends.
package actor MotoServer {
    package static let shared = MotoServer(checksSignatures: true)
    /// A second server with signature checking off, only for what moto 5.2's checker cannot verify although
    /// the request is right: it rebuilds the URL with "/" and non-ASCII characters decoded in the query (so a
    /// ListObjectsV2 prefix "a/" fails for the AWS CLI too), and it answers presigned URLs with HTTP 500.
    package static let unchecked = MotoServer(checksSignatures: false)
    /// An unchecked server that records every request (to a file removed when the test process ends), for
    /// tests that check what was sent where moto keeps less than EC2 would (an instance's EFA interface, its
    /// placement group). Its own server, so other tests' traffic stays out of the recording.
    package static let recording = MotoServer(checksSignatures: false, records: true)

    /// One recording server per test process, so one file, named after the process.
    static var recordingPath: String { FileManager.default.temporaryDirectory.appendingPathComponent("moto-recording-\(getpid())").path }

    package let checksSignatures: Bool
    let records: Bool
    init(checksSignatures: Bool, records: Bool = false) {
        self.checksSignatures = checksSignatures
        self.records = records
    }

    package struct Running: Sendable {
        package let port: Int
        package let pid: Int32
        package let credentials: AWSCredentials
        /// The recorder's file (the `recording` server only).
        package var recording: String? = nil
        package var endpoint: String { "http://127.0.0.1:\(port)" }

        /// moto's own process (`pid` is child-of.py's, which watches it): the one to SIGSTOP to freeze the endpoint.
        package var serverPid: pid_t? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return nil }
            return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.first
        }

        /// Ends a dedicated server (child-of.py stops moto by its pid).
        package func stop() {
            if let server = serverPid { kill(server, SIGCONT) }
            kill(pid, SIGTERM)
        }

        package func settings(region: String = "us-east-1", secret: String? = nil, retry: RetryPolicy = RetryPolicy()) -> AWSSettings {
            var credentials = self.credentials
            if let secret { credentials.secretAccessKey = secret }
            return AWSSettings(
                region: region, credentials: StaticCredentialProvider(credentials),
                environment: ["AWS_ENDPOINT_URL": endpoint], retry: retry, requestTimeout: 60)
        }
    }

    /// A server of the caller's own (unchecked), for a test that stops, freezes or restarts it; the caller ends
    /// it with `stop()`.
    package static func dedicated() async throws -> Running {
        try await launch(checksSignatures: false, recording: nil)
    }

    private var running: Running?
    private var starting: Task<Running, any Error>?

    package func start() async throws -> Running {
        if let running { return running }
        if let starting { return try await starting.value }
        let checks = checksSignatures
        let recording = records ? Self.recordingPath : nil
        if records { atexit { unlink(MotoServer.recordingPath) } }
        let task = Task { try await Self.launch(checksSignatures: checks, recording: recording) }
        starting = task
        let value = try await task.value
        running = value
        return value
    }

    private static func launch(checksSignatures: Bool, recording: String?) async throws -> Running {
        guard let motoPath = which("moto_server") else {
            throw TestSetupError(description: "moto_server is not installed: pip install 'moto[server]'")
        }
        let port = freeLocalPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.childOf, String(getpid()), "--", motoPath, "-H", "127.0.0.1", "-p", String(port)]
        var environment = ProcessInfo.processInfo.environment
        if checksSignatures {
            environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        } else {
            environment.removeValue(forKey: "INITIAL_NO_AUTH_ACTION_COUNT")
        }
        if let recording {
            // moto's request recorder keeps every request it serves: what a client really sent.
            environment["MOTO_ENABLE_RECORDING"] = "True"
            environment["MOTO_RECORDER_FILEPATH"] = recording
        }
        process.environment = environment
        let log = FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !canConnect(port: port) {
            guard Date() < deadline, process.isRunning else {
                throw TestSetupError(description: "moto_server did not start listening on 127.0.0.1:\(port)")
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let credentials =
            checksSignatures
            ? try await createUser(endpoint: "http://127.0.0.1:\(port)")
            : AWSCredentials(accessKeyId: "AKIAUNCHECKED", secretAccessKey: "unchecked", source: "unchecked moto")
        return Running(port: port, pid: process.processIdentifier, credentials: credentials, recording: recording)
    }

    /// The three unchecked calls: CreateUser, CreateAccessKey, PutUserPolicy (allow everything).
    private static func createUser(endpoint: String) async throws -> AWSCredentials {
        let bootstrap = AWSSettings(
            region: "us-east-1",
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "bootstrap", secretAccessKey: "bootstrap")),
            environment: ["AWS_ENDPOINT_URL": endpoint], retry: RetryPolicy(maxAttempts: 1))
        let iam = try AWSClient(service: .iam, settings: bootstrap, wireProtocol: .query(version: "2010-05-08"))
        _ = try await iam.query("CreateUser", [QueryItem("UserName", "tester")], isIdempotent: false)
        let key = try await iam.query("CreateAccessKey", [QueryItem("UserName", "tester")], isIdempotent: false)
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try await iam.query(
            "PutUserPolicy",
            [
                QueryItem("UserName", "tester"), QueryItem("PolicyName", "all"),
                QueryItem("PolicyDocument", policy),
            ], isIdempotent: false)
        guard let access = key.path("CreateAccessKeyResult", "AccessKey"),
            let id = access.string("AccessKeyId"), let secret = access.string("SecretAccessKey")
        else {
            throw TestSetupError(description: "CreateAccessKey answered without a key")
        }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, source: "moto test user")
    }
}

package func which(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs a command and returns its exit status, standard output and standard error, waiting on a thread of its
/// own (see `onOwnThread`): the whole suite shares the cooperative pool's two threads, and a test that held one
/// for a command's whole run starved every other test's tasks (CI timed out waiting for exports that were
/// not scheduled).
package func runCommand(
    _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil
) async throws -> (status: Int32, stdout: Data, stderr: String) {
    try await onOwnThread { try runCommandBlocking(arguments, environment: environment, input: input) }
}

/// `runCommand` on the calling thread, for code that is already on a thread of its own.
package func runCommandBlocking(
    _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil
) throws -> (status: Int32, stdout: Data, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let inPipe = Pipe()
    process.standardInput = inPipe
    try process.run()
    if let input { inPipe.fileHandleForWriting.write(input) }
    try inPipe.fileHandleForWriting.close()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, stdout, String(decoding: stderr, as: UTF8.self))
}
