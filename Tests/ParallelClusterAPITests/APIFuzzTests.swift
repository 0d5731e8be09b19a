import Foundation
import JSONOutput
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// schemathesis against `pcluster-api` from the original's openapi.yaml (scripts/api/fuzz.py): 25 valid and
/// 25 invalid requests per operation, each signed by botocore. No 5xx, no status or body outside the spec, no
/// crash; every request authenticated (a 401 would mean our SigV4 check and botocore's signing disagree).
struct APIFuzzTests {
    static let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

    @Test(.timeLimit(.minutes(10))) func theSpecsFuzzerFindsNothing() async throws {
        let python = TestPaths.repository.appendingPathComponent(".build/api-tools/bin/python").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "scripts/api/setup installs schemathesis (the test command runs it)")
        let spec = try #require(OracleResponses.specPath, "the original's openapi.yaml comes with scripts/oracle/setup")
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-api-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: state) }
        let environment = APIProcess.environment(state: state.path, keyId: "AKIAAPIFUZZ", secret: "api-fuzz-secret")

        let server = try APIProcess.start(
            Self.directory.appendingPathComponent("pcluster-api").path, environment: environment, log: state.appendingPathComponent("api.log").path)
        defer { server.stop() }
        try await server.waitUntilListening()

        let env = environment
        let fuzz = try await onOwnThread {
            try runCommandBlocking(
                [python, TestPaths.repository.appendingPathComponent("scripts/api/fuzz.py").path, server.endpoint, spec, "--examples", "25"],
                environment: env)
        }
        let report = try JSONValue.parse(String(decoding: fuzz.stdout, as: UTF8.self))
        #expect(fuzz.status == 0 && report["failures"] == [], "\(String(decoding: fuzz.stdout, as: UTF8.self))\n\(fuzz.stderr)")
        #expect(report["operations"] == 20 && report["requests"] == 1000, "\(report)")
        let statuses = report["statuses"]?.objectValue ?? [:]
        #expect(statuses.keys.allSatisfy { ["200", "400", "404"].contains($0) }, "\(statuses)")
        #expect(server.isRunning, "pcluster-api died under the fuzzer; see \(state.path)/api.log")
    }
}
