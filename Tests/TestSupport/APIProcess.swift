import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `pcluster-api` of the test's own on a free port of 127.0.0.1, under child-of.py so it goes with the test
/// process even if that crashes; `stop()` ends it by its pid.
package final class APIProcess: @unchecked Sendable {
    package let port: Int
    private let process: Process

    private init(port: Int, process: Process) {
        self.port = port
        self.process = process
    }

    /// The environment of a server (and its signing clients) of a test's own: this process's, with its state
    /// under `state`, static keys (the ones the server accepts and the clients sign with) and no AWS endpoint
    /// or profile of the machine's.
    package static func environment(state: String, keyId: String, secret: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["PCLUSTER_STATE_DIR"] = state
        environment["HOME"] = state
        environment["AWS_ACCESS_KEY_ID"] = keyId
        environment["AWS_SECRET_ACCESS_KEY"] = secret
        environment["AWS_REGION"] = "us-east-1"
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        for key in ["AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"] { environment.removeValue(forKey: key) }
        return environment
    }

    package var endpoint: String { "http://127.0.0.1:\(port)" }
    package var isRunning: Bool { process.isRunning }

    package static func start(_ binary: String, environment: [String: String], log: String, arguments: [String] = []) throws -> APIProcess {
        let port = freeLocalPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.childOf, String(getpid()), "--", binary, "--port", String(port)] + arguments
        process.environment = environment
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = FileHandle(forWritingAtPath: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return APIProcess(port: port, process: process)
    }

    /// Waits (without holding a cooperative thread) until the server accepts connections.
    package func waitUntilListening(seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !canConnect(port: port) {
            guard Date() < deadline, process.isRunning else { throw TestSetupError(description: "pcluster-api did not listen on \(port)") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// SIGTERM to the wrapper, which stops the server; SIGKILL after 15 s. (Not `waitUntilExit`, which spins
    /// off the main thread.)
    package func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
