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
        /// A failure's HTTP status for the API (nil: 400, BadRequestException).
        package var status: Int? = nil
    }

    /// Runs one invocation in-process: parses, executes, applies `--query`, renders JSON.
    package static func run(
        _ arguments: [String], environment: [String: String], providers: any ProviderDirectory,
        progress: (@Sendable (String) -> Void)? = nil, terminalColumns: Int? = nil
    ) async -> Result {
        // The line as the original's argparse reads it. For ssh only what comes before the command to run
        // is pcluster's (`ssh -n demo sinfo -h` is sinfo's -h); the rest goes to the head node as written.
        let given = arguments
        let ownCount = given.first == "ssh" ? sshCommandStart(given) : given.count
        let columns = environment["COLUMNS"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? terminalColumns ?? 80
        let arguments: [String]
        let verdict = Argparse.parse(Array(given.prefix(ownCount)), columns: columns)
        guard case .accepted(let line) = verdict else { return answer(verdict) }
        arguments = line + given.dropFirst(ownCount)
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
            outcome = .failure(message: "\(error)", status: 500)
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
        if let text = outcome.text { stdout = text }
        return Result(stdout: stdout, stderr: stderr, exitCode: outcome.exitCode, exec: outcome.exec, status: outcome.status)
    }

    /// What is printed for a line argparse does not let through.
    static func answer(_ verdict: ArgparseVerdict) -> Result {
        switch verdict {
        case .accepted: return Result(stdout: "", stderr: "", exitCode: 0)
        case .help(let name):
            // Our help text, in the shape swift-argument-parser writes it.
            guard let name, let sub = PCluster.configuration.subcommands.first(where: { $0.configuration.commandName == name }) else {
                return Result(stdout: PCluster.helpMessage() + "\n", stderr: "", exitCode: 0)
            }
            return Result(stdout: PCluster.helpMessage(for: sub) + "\n", stderr: "", exitCode: 0)
        case .usageError(let text): return Result(stdout: "", stderr: text, exitCode: 2)
        case .invalidArguments(let text): return Result(stdout: text, stderr: "", exitCode: 1)
        case .badRequest(let message): return Result(stdout: JSONPrinter.render(["message": .string(message)]) + "\n", stderr: "", exitCode: 1)
        }
    }

    /// Index of the first argument of `pcluster ssh ...` that belongs to the command run on the head node.
    /// (ssh's own options are the original's: its parser's, from `ArgparseSpec`; whatever else comes first
    /// starts the command, as ssh options such as `-i key` do.)
    static func sshCommandStart(_ arguments: [String]) -> Int {
        let options = (ArgparseSpec.command("ssh")?.actions ?? []).flatMap { action in action.optionStrings.map { ($0, action.arity) } }
        func takesValue(_ option: String) -> Bool { options.contains { $0.0 == option && $0.1 == .one } }
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            let name = String(argument.prefix { $0 != "=" })
            // Exact, `--x=v`, or an unambiguous prefix of a long option (`--cluster-n demo`).
            let matches = options.filter { $0.0 == name || (name.hasPrefix("--") && name.count > 2 && $0.0.hasPrefix(name)) }
            if let (option, _) = matches.first(where: { $0.0 == name }) ?? (matches.count == 1 ? matches.first : nil) {
                index += takesValue(option) && !argument.contains("=") ? 2 : 1
                continue
            }
            // argparse's glued short options (`-ndemo`).
            if !argument.hasPrefix("--"), argument.count > 2, takesValue(String(argument.prefix(2))) {
                index += 1
                continue
            }
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
