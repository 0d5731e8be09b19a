import ArgumentParser
import Foundation
import JSONOutput
import Provisioning

struct PCluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcluster",
        abstract: "pcluster turns a ParallelCluster configuration into a running Slurm cluster.",
        discussion: "By default clusters run on this machine (the local provider). Output is JSON, as in AWS ParallelCluster.",
        subcommands: [
            ListClusters.self, CreateCluster.self, DeleteCluster.self, DescribeCluster.self, UpdateCluster.self,
            DescribeComputeFleet.self, UpdateComputeFleet.self, DeleteClusterInstances.self, DescribeClusterInstances.self,
            ListClusterLogStreams.self, GetClusterLogEvents.self, GetClusterStackEvents.self, ListImages.self,
            BuildImage.self, DeleteImage.self, DescribeImage.self, ListImageLogStreams.self, GetImageLogEvents.self,
            GetImageStackEvents.self, ListOfficialImages.self, Configure.self, DcvConnect.self, ExportClusterLogs.self,
            ExportImageLogs.self, Ssh.self, Version.self,
        ])
}

package enum PClusterCLI {
    package struct Result: Sendable {
        package var stdout: String
        package var stderr: String
        package var exitCode: Int32
        /// When set, the caller replaces itself with this program (after writing stdout and stderr).
        package var exec: ExecPlan? = nil
    }

    /// Runs one invocation in-process: parses, executes, applies `--query`, renders JSON.
    package static func run(
        _ arguments: [String], environment: [String: String], providers: any ProviderDirectory,
        progress: (@Sendable (String) -> Void)? = nil
    ) async -> Result {
        let arguments = ArgparseConventions.normalize(arguments)
        // `pcluster SUBCOMMAND --help` shows that subcommand's help (with its flags), as argparse does.
        // (For ssh only what comes before the command to run counts: `ssh -n demo sinfo -h` is sinfo's -h.)
        let ownArguments = arguments.first == "ssh" ? Array(arguments.prefix(sshCommandStart(arguments))) : arguments
        if ownArguments.contains("--help") || ownArguments.contains("-h"), let first = arguments.first,
            let sub = PCluster.configuration.subcommands.first(where: { $0.configuration.commandName == first })
        {
            return Result(stdout: PCluster.helpMessage(for: sub) + "\n", stderr: "", exitCode: 0)
        }
        if let refusal = BooleanOptions.refusal(Array(ownArguments.dropFirst())) {
            return Result(stdout: JSONPrinter.render(refusal) + "\n", stderr: "", exitCode: 1)
        }
        let parsed: ParsableCommand
        do {
            parsed = try PCluster.parseAsRoot(arguments)
        } catch {
            let code = PCluster.exitCode(for: error)
            let text = PCluster.fullMessage(for: error)
            if code == .success { return Result(stdout: text + "\n", stderr: "", exitCode: 0) }
            // argparse (the original's parser) exits 2 on a usage error; scripts may test for it.
            return Result(stdout: "", stderr: text + "\n", exitCode: 2)
        }
        guard let command = parsed as? PClusterCommand else {
            return Result(stdout: PCluster.helpMessage() + "\n", stderr: "", exitCode: 0)
        }
        let started = Date()
        var env = CommandEnvironment(variables: environment, providers: providers)
        if let progress { env.progress = progress }
        var outcome: CommandOutcome
        do {
            outcome = try await command.execute(in: env)
        } catch {
            outcome = .failure(message: "\(error)")
        }
        if let json = outcome.json { outcome.json = ResponseOrder.apply(json, command: arguments.first ?? "") }
        var stderr = outcome.stderr
        if command.common.debug {
            stderr += "DEBUG pcluster \(arguments.joined(separator: " "))\n"
            stderr += "DEBUG state directory: \(env.store.root.path)\n"
            stderr += String(format: "DEBUG finished in %.1f ms with exit code %d\n", Date().timeIntervalSince(started) * 1000, outcome.exitCode)
        }
        if let q = command.common.query, outcome.exitCode == 0, let json = outcome.json {
            do {
                outcome.json = try JMESPath(q).search(json)
            } catch let e as JMESPath.ParseError {
                outcome = .failure(["message": "Invalid query string.", "query": .string(q), "detail": .string(e.description)])
            } catch {
                outcome = .failure(["message": "Invalid query string.", "query": .string(q), "detail": .string("\(error)")])
            }
        }
        var stdout = ""
        if let json = outcome.json, isTruthy(json) { stdout = JSONPrinter.render(json) + "\n" }
        return Result(stdout: stdout, stderr: stderr, exitCode: outcome.exitCode, exec: outcome.exec)
    }

    /// Index of the first argument of `pcluster ssh ...` that belongs to the command run on the head node.
    static func sshCommandStart(_ arguments: [String]) -> Int {
        let withValue: Set<String> = ["-n", "--cluster-name", "-r", "--region", "--dryrun", "--query"]
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if withValue.contains(argument) { index += 2; continue }
            if argument == "--debug" || argument == "--help" || argument == "-h" { index += 1; continue }
            if argument.hasPrefix("--") && argument.contains("=") { index += 1; continue }
            // argparse's glued short options (`-ndemo`) and unambiguous long prefixes (`--cluster-n demo`) are its own too.
            if !argument.hasPrefix("--"), argument.count > 2, argument.hasPrefix("-n") || argument.hasPrefix("-r") { index += 1; continue }
            if argument.count > 3, argument.hasPrefix("--"), withValue.contains(where: { $0.hasPrefix(argument) }) { index += 2; continue }
            return index
        }
        return arguments.count
    }

    /// The original prints nothing for an empty result (Python's `if ret:`).
    static func isTruthy(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        }
    }
}

/// The original's boolean options take only true or false (in three spellings) and refuse anything
/// else with its own message, not a usage error.
enum BooleanOptions {
    static let names: Set<String> = ["--dryrun", "--force", "--force-update", "--rollback-on-failure", "--start-from-head", "--keep-s3-objects"]
    static let spellings: Set<String> = ["true", "True", "TRUE", "false", "False", "FALSE"]

    static func refusal(_ arguments: [String]) -> JSONValue? {
        for (index, argument) in arguments.enumerated() {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard names.contains(parts[0]) else { continue }
            let value = parts.count == 2 ? parts[1] : index + 1 < arguments.count ? arguments[index + 1] : nil
            guard let value, !spellings.contains(value) else { continue }
            let parameter = parts[0].dropFirst(2).replacingOccurrences(of: "-", with: "_")
            return ["message": .string("Bad Request: Wrong type, expected 'boolean' for parameter '\(parameter)'")]
        }
        return nil
    }
}

/// What argparse (the original's parser) accepts and swift-argument-parser does not: a long option
/// written as any unambiguous prefix (`--cluster-n`), and a short option's value glued to it (`-ndemo`).
/// Rewritten into the full forms before parsing, from the options the subcommand's help lists.
enum ArgparseConventions {
    static func normalize(_ arguments: [String]) -> [String] {
        guard let first = arguments.first,
            let sub = PCluster.configuration.subcommands.first(where: { $0.configuration.commandName == first })
        else { return arguments }
        let help = PCluster.helpMessage(for: sub)
        let longs = Set(matches(#"--[a-z0-9][a-z0-9-]*"#, in: help))
        // Short options shown with a value: "-n, --cluster-name <cluster-name>".
        let shortsWithValue = Set(
            matches(#"(?m)^\s+-[a-zA-Z], --[a-z0-9-]+ <"#, in: help).map { String($0.trimmingCharacters(in: .whitespaces).prefix(2)) })
        // ssh passes everything from its command on; only pcluster's own options are rewritten.
        let end = first == "ssh" ? PClusterCLI.sshCommandStart(arguments) : arguments.count
        var out = [first]
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            defer { index += 1 }
            guard index < end else { out.append(argument); continue }
            if argument == "--" { out += arguments[index...]; index = arguments.count; break }
            if argument.hasPrefix("--") {
                let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
                if !longs.contains(parts[0]) {
                    let candidates = longs.filter { $0.hasPrefix(parts[0]) }
                    if candidates.count == 1, let full = candidates.first {
                        out.append(parts.count == 2 ? "\(full)=\(parts[1])" : full)
                        continue
                    }
                }
                out.append(argument)
                // An option's value is not an option, whatever it looks like.
                if parts.count == 1, index + 1 < end, !["--debug", "--help", "--wait"].contains(parts[0]) {
                    index += 1
                    out.append(arguments[index])
                }
            } else if argument.count > 2, argument.hasPrefix("-"), shortsWithValue.contains(String(argument.prefix(2))) {
                out += [String(argument.prefix(2)), String(argument.dropFirst(2))]
            } else {
                out.append(argument)
                if shortsWithValue.contains(argument), index + 1 < end {
                    index += 1
                    out.append(arguments[index])
                }
            }
        }
        return out
    }

    static func matches(_ pattern: String, in text: String) -> [String] {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return [] }
        return re.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    }
}
