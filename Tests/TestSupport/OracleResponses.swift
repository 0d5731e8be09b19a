import Foundation

/// The original pcluster (3.16.1, in .build/oracle from scripts/oracle/setup) judging our JSON: its
/// generated models, its openapi.yaml and its key order (scripts/oracle/check_responses.py).
package enum OracleResponses {
    package static var python: String? {
        if let configured = ProcessInfo.processInfo.environment["PCLUSTER_ORACLE_PYTHON"] { return configured }
        let venv = TestPaths.repository.appendingPathComponent(".build/oracle/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    /// The problems the original finds with each document (JSON text) as the named response model.
    package static func problems(_ documents: [(model: String, json: String)]) throws -> [[String]] {
        guard let python else { throw TestSetupError(description: "the original is not installed: run scripts/oracle/setup") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TestPaths.repository.appendingPathComponent("scripts/oracle/check_responses.py").path]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var lines = ""
        // The documents travel as text, so the checker sees their keys in our order.
        for (model, json) in documents {
            let line = try JSONEncoder().encode(["model": model, "document_text": json])
            lines += String(decoding: line, as: UTF8.self) + "\n"
        }
        // Written from a thread of its own: the checker answers line by line while we write.
        let payload = Data(lines.utf8)
        let writer = Thread {
            input.fileHandleForWriting.write(payload)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestSetupError(description: "check_responses.py failed: \(stderr)") }
        return try String(decoding: answer, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode([String].self, from: Data($0.utf8))
        }
    }
}
