import ClusterConfig
import Foundation
import TestSupport
import Testing

/// The original pcluster (3.16.1, installed by scripts/oracle/setup) as the oracle of what a config
/// may say: scripts/oracle/config_corpus.py writes configs that set every field of the original's
/// schema to valid values and to values just outside its range, pattern, enum and type, drops
/// required fields, misspells keys, uses fields the original removed, and combines those at random;
/// the original judges each. Here our schema check judges the same files, and both must agree on
/// accepted or refused and on which field paths are wrong.
///
/// The suite runs a sample; `scripts/config-corpus` runs the whole corpus through this same test
/// (CONFIG_CORPUS_SAMPLE=0) and prints the agreement.
@Suite struct OracleSchemaTests {
    static var python: String? { OracleResponses.python }

    struct Verdict: Decodable {
        let file: String
        let `case`: String
        let valid: Bool
        let paths: [String]
    }

    @Test(.enabled(if: python != nil, "the original is not installed: run scripts/oracle/setup"), .timeLimit(.minutes(30)))
    func schemaVerdictsMatchTheOriginal() async throws {
        // Seconds of a Python process and of judging: on a thread of its own, off the cooperative pool.
        let (judged, wanted, unknown) = try await onOwnThread { try Self.judgeTheCorpus() }
        #expect(judged >= wanted)
        #expect(unknown.isEmpty, "\(unknown.count) configs judged differently from the original, e.g.\n\(unknown.prefix(20).joined(separator: "\n"))")
    }

    /// How many configs were judged, how many there had to be at least, and the disagreements not known.
    static func judgeTheCorpus() throws -> (Int, Int, [String]) {
        let environment = ProcessInfo.processInfo.environment
        let sample = environment["CONFIG_CORPUS_SAMPLE"] ?? "300"
        let seed = environment["CONFIG_CORPUS_SEED"] ?? "1"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-corpus-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try generate(into: directory, sample: sample, seed: seed)
        let verdicts = try JSONDecoder().decode(
            [Verdict].self, from: Data(contentsOf: directory.appendingPathComponent("verdicts.json")))
        let deviations = try KnownDeviation.load()

        var agreed = 0
        var known: [String] = []
        var unknown: [String] = []
        for verdict in verdicts {
            let ours = judge(directory.appendingPathComponent(verdict.file).path)
            // A crash of the original refuses the file; only the verdict can be compared then.
            let originalCrashed = verdict.paths.contains { $0.hasPrefix("<crash") }
            if ours.valid == verdict.valid && (originalCrashed || ours.paths == Set(verdict.paths)) {
                agreed += 1
                continue
            }
            let line =
                "\(verdict.file) \(verdict.case)\n    original: \(verdict.valid ? "accepts" : "refuses \(verdict.paths.sorted())")"
                + "\n    ours:     \(ours.valid ? "accepts" : "refuses \(ours.paths.sorted())")"
            if originalCrashed && ours.valid {
                known.append(line + "\n    known: the original crashes on this input (a Python exception in its schema); we accept it")
            } else if let deviation = deviations.first(where: { verdict.case.contains($0.pattern) }) {
                known.append(line + "\n    known: \(deviation.reason)")
            } else {
                unknown.append(line)
            }
        }
        let share = Double(agreed) / Double(max(verdicts.count, 1)) * 100
        print(
            "config corpus: \(verdicts.count) configs (\(verdicts.filter(\.valid).count) accepted by the original), "
                + "agreement \(agreed)/\(verdicts.count) = \(String(format: "%.2f", share))%, "
                + "\(known.count) known deviations, \(unknown.count) other disagreements")
        for line in known + unknown { print(line) }
        return (verdicts.count, sample == "0" ? 1000 : 1, unknown)
    }

    /// Our verdict: the schema's errors only, as the original's schema (validators are suppressible there, and here).
    static func judge(_ path: String) -> (valid: Bool, paths: Set<String>) {
        var suppression = ValidatorSuppression()
        suppression.all = true
        do {
            let result = try ConfigValidation.validate(
                path: path, environment: [:], clusterName: "demo", region: nil, suppression: suppression)
            let errors = result.messages.filter { $0.type == SchemaChecker.validatorName && $0.level == .error }
            return (errors.isEmpty, Set(errors.map { $0.path?.description ?? "<no path: \($0.message)>" }))
        } catch {
            return (false, ["<unreadable: \(error)>"])
        }
    }

    static func generate(into directory: URL, sample: String, seed: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python!)
        process.arguments = [
            TestPaths.repository.appendingPathComponent("scripts/oracle/config_corpus.py").path,
            "--out", directory.path, "--sample", sample, "--seed", seed,
        ]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError(description: "config_corpus.py failed: \(message)")
        }
    }
}

/// A documented difference from the original: cases whose description contains `pattern` may disagree.
/// The list lives in scripts/oracle/known-deviations, one `pattern<TAB>reason` per line; README says why.
struct KnownDeviation {
    let pattern: String
    let reason: String

    static func load() throws -> [KnownDeviation] {
        let text = try String(
            contentsOf: TestPaths.repository.appendingPathComponent("scripts/oracle/known-deviations"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let tab = line.firstIndex(of: "\t") else { return nil }
            return KnownDeviation(pattern: String(line[..<tab]), reason: String(line[line.index(after: tab)...]))
        }
    }
}
