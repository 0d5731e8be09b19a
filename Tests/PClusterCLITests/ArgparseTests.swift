import Foundation
import TestSupport
import Testing

@testable import PClusterCLI

/// Command lines as the original's argparse reads them: the line handed on, or the original's own answer
/// (usage and error on stderr with exit 2, unknown arguments on stdout with exit 1, JSON for values its
/// type functions refuse), byte for byte, at several terminal widths.
@Suite struct ArgparseTests {
    @Test func acceptedLinesAreRewrittenIntoPlainLongOptions() {
        #expect(
            Argparse.parse(["describe-cluster-instances", "--cluster-n", "abcde", "--node", "HeadNode", "-rus-east-1"], columns: 80)
                == .accepted(["describe-cluster-instances", "--cluster-name=abcde", "--node-type=HeadNode", "--region=us-east-1"]))
        #expect(
            Argparse.parse(["describe-cluster", "-n=abcde", "--debug"], columns: 80)
                == .accepted(["describe-cluster", "--cluster-name=abcde", "--debug"]))
        #expect(
            Argparse.parse(["list-clusters", "--cluster-status", "CREATE_FAILED", "UPDATE_FAILED"], columns: 80)
                == .accepted(["list-clusters", "--cluster-status", "CREATE_FAILED", "UPDATE_FAILED"]))
        // A value that looks like an option is taken when glued to its option.
        #expect(
            Argparse.parse(["describe-cluster", "-n", "abcde", "--query=-x"], columns: 80)
                == .accepted(["describe-cluster", "--cluster-name=abcde", "--query=-x"]))
        #expect(Argparse.parse(["describe-cluster", "-h"], columns: 80) == .help(command: "describe-cluster"))
        #expect(Argparse.parse(["create-cluster", "-n", "abcde", "-c", "/dev/null", "--provider", "aws"], columns: 80).isAccepted)
    }

    /// Lines the original refuses before it does any work, and a few it accepts.
    static var corpus: [[String]] {
        var lines: [[String]] = [[], ["nosuch"], ["--bogus", "version"], ["version", "--query", "x"], ["version", "extra"]]
        for command in ArgparseSpec.original {
            let name = command.name
            let required = command.actions.filter(\.required)
            func value(_ action: ArgparseAction) -> String {
                if case .file = action.conversion { return "/dev/null" }
                if case .boolean = action.conversion { return "true" }
                if case .integer = action.conversion { return "3" }
                if case .iso8601 = action.conversion { return "2026-11-28" }
                return action.choices?.first ?? (action.dest.hasSuffix("name") || action.dest == "image_id" ? "abcde" : "x")
            }
            let minimal = required.flatMap { [$0.optionStrings[0], value($0)] }
            lines.append([name])
            lines.append([name] + minimal)
            lines.append([name] + minimal + ["--bogus", "word"])
            lines.append([name] + minimal + ["--debug=yes"])
            lines.append([name] + minimal + ["--"])
            for action in required { lines.append([name] + minimal.filter { !action.optionStrings.contains($0) && $0 != value(action) }) }
            for action in command.actions where action.arity == .one || action.arity == .oneOrMore {
                lines.append([name] + minimal + [action.optionStrings.last!])
                lines.append([name] + minimal + [action.optionStrings.last!, "--debug"])
                if action.choices != nil { lines.append([name] + minimal + [action.optionStrings.last!, "it's-wrong"]) }
                switch action.conversion {
                case .boolean, .integer, .number, .iso8601: lines.append([name] + minimal + [action.optionStrings.last!, "maybe"])
                case .pattern: lines.append([name] + [action.optionStrings.last!, "1_bad"] + minimal)
                case .file: lines.append([name] + [action.optionStrings.last!, "/nonexistent/cluster.yaml"] + minimal)
                case .text, .filters: break
                }
            }
            let longs = command.actions.flatMap(\.optionStrings).filter { $0.hasPrefix("--") }
            for length in [3, 4, 5] {
                let prefixes = Set(longs.map { String($0.prefix(length)) })
                for prefix in prefixes.sorted() where !longs.contains(prefix) { lines.append([name] + minimal + [prefix, "v"]) }
            }
        }
        return lines
    }

    @Test(.enabled(if: OracleResponses.python != nil, "the original is not installed: run scripts/oracle/setup"))
    func theOriginalsAnswersToTheCorpus() async throws {
        var cases: [(args: [String], columns: Int)] = []
        for args in Self.corpus {
            for columns in [80, 52, 200] { cases.append((args, columns)) }
        }
        let requests = try cases.map { c in
            String(decoding: try JSONSerialization.data(withJSONObject: ["args": c.args, "columns": c.columns]), as: UTF8.self)
        }
        let answers = try await OracleResponses.answers(script: "argparse_answers.py", lines: requests)
        try #require(answers.count == cases.count)
        var agreed = 0
        for (c, line) in zip(cases, answers) {
            let theirs = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let verdict = Argparse.parse(c.args, columns: c.columns)
            if theirs["accepted"] as? Bool == true {
                #expect(verdict.isAccepted, "\(c.args) at \(c.columns) columns: the original accepts it, we answer \(verdict)")
                if verdict.isAccepted { agreed += 1 }
                continue
            }
            if case .help = verdict {
                // Help texts are our own; that it is help, and exit 0, is the original's.
                #expect(theirs["code"] as? Int == 0 && (theirs["stdout"] as? String)?.hasPrefix("usage: ") == true, "\(c.args)")
                agreed += 1
                continue
            }
            let ours = PClusterCLI.answer(verdict)
            let same =
                !verdict.isAccepted && ours.stdout == theirs["stdout"] as? String && ours.stderr == theirs["stderr"] as? String
                && Int(ours.exitCode) == theirs["code"] as? Int
            #expect(
                same,
                "\(c.args) at \(c.columns) columns:\nours (\(ours.exitCode)):\n\(ours.stdout)\(ours.stderr)\ntheirs (\(theirs["code"] ?? "")):\n\(theirs["stdout"] ?? "")\(theirs["stderr"] ?? "")"
            )
            if same { agreed += 1 }
        }
        print("argparse corpus: \(agreed) of \(cases.count) lines answered as the original answers them")
    }
}

extension ArgparseVerdict {
    var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}
