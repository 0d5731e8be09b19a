import Foundation

/// The original pcluster (3.16.1, in .build/oracle from scripts/oracle/setup) judging our JSON: its
/// generated models, its openapi.yaml and its key order (scripts/oracle/check_responses.py).
package enum OracleResponses {
    /// The original's openapi.yaml, in the oracle's environment.
    package static var specPath: String? {
        let lib = TestPaths.repository.appendingPathComponent(".build/oracle/lib")
        guard let version = try? FileManager.default.contentsOfDirectory(atPath: lib.path).first(where: { $0.hasPrefix("python3") }) else {
            return nil
        }
        let path = lib.appendingPathComponent("\(version)/site-packages/pcluster/api/openapi/openapi.yaml").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    package static var python: String? {
        if let configured = ProcessInfo.processInfo.environment["PCLUSTER_ORACLE_PYTHON"] { return configured }
        let venv = TestPaths.repository.appendingPathComponent(".build/oracle/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    /// The problems the original finds with each document (JSON text) as the named response model.
    /// Runs the checker on a thread of its own: blocking on a process would starve Swift's cooperative pool.
    package static func problems(_ documents: [(model: String, json: String)]) async throws -> [[String]] {
        let documents = documents.map { Document(model: $0.model, json: $0.json) }
        return try await onOwnThread { try blockingProblems(documents.map { ($0.model, $0.json) }) }
    }

    struct Document: Sendable {
        let model: String
        let json: String
    }

    /// The same, for tests that already run their commands synchronously.
    package static func blockingProblems(_ documents: [(model: String, json: String)]) throws -> [[String]] {
        // The documents travel as text, so the checker sees their keys in our order.
        let lines = try documents.map { model, json in
            String(decoding: try JSONEncoder().encode(["model": model, "document_text": json]), as: UTF8.self)
        }
        return try blockingAnswers(script: "check_responses.py", lines: lines).map {
            try JSONDecoder().decode([String].self, from: Data($0.utf8))
        }
    }

    /// One of the oracle scripts (scripts/oracle/NAME) with the original's Python: each line in, one answer
    /// line out. On a thread of its own.
    package static func answers(script: String, lines: [String]) async throws -> [String] {
        try await onOwnThread { try blockingAnswers(script: script, lines: lines) }
    }

    static func blockingAnswers(script: String, lines: [String]) throws -> [String] {
        guard let python else { throw TestSetupError(description: "the original is not installed: run scripts/oracle/setup") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TestPaths.repository.appendingPathComponent("scripts/oracle/\(script)").path]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Written from a thread of its own: the script answers line by line while we write.
        let payload = Data(lines.map { $0 + "\n" }.joined().utf8)
        let writer = Thread {
            input.fileHandleForWriting.write(payload)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestSetupError(description: "\(script) failed: \(stderr)") }
        return String(decoding: answer, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// Runs `python3 -c script` with `input` on its stdin, on a thread of its own, and returns its stdout.
package func python(_ script: String, input: Data) async throws -> Data {
    try await onOwnThread {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return output
    }
}
