import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct Ssh: ExistingClusterCommand {
    static let configuration = CommandConfiguration(commandName: "ssh", abstract: "Connects to the head node instance using SSH.")
    static let providerWork = "a shell on the head node"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "Print the command instead of running it (true|false).") var dryrun: BoolArgument?
    @Argument(parsing: .captureForPassthrough, help: "Arguments passed to ssh (or the command to run on the head node).") var sshArguments: [String] =
        []
    @OptionGroup var common: CommonOptions
}

extension Ssh {
    /// As the original: ssh to the head node with every extra argument quoted for the shell that runs
    /// the line, so ssh receives them as given and joins the command's words for the remote shell.
    /// `sbatch --wrap "'srun hostname'"` therefore wraps `srun hostname`, and `"squeue; sinfo"` runs both.
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        switch await provider.headNodeShell(of: clusterName) {
        case nil:
            return .failure(message: provider.headNodeDownAdvice(of: clusterName))
        case .ssh(let user, let host):
            if dryrun?.value == true { return .ok(["command": .string(SshLine.original(user: user, host: host, arguments: sshArguments))]) }
            var outcome = CommandOutcome(json: nil, exitCode: 0)
            outcome.exec = ExecPlan(path: "/usr/bin/ssh", arguments: ["\(user)@\(host)"] + sshArguments, environment: env.variables)
            return outcome
        case .local(let shell):
            // The head node is this machine: no ssh hop. Its shell runs the words ssh would have sent.
            if dryrun?.value == true {
                let user = env.variables["USER"] ?? NSUserName()
                return .ok(["command": .string(SshLine.original(user: user, host: "127.0.0.1", arguments: sshArguments))])
            }
            var environment = env.variables.merging(shell) { $1 }
            environment["PCLUSTER_CLUSTER_NAME"] = clusterName
            environment["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" + (env.variables["PATH"].map { ":" + $0 } ?? "")
            let words = SshLine.remoteCommand(sshArguments)
            var outcome = CommandOutcome(json: nil, exitCode: 0)
            outcome.exec =
                words.isEmpty
                ? ExecPlan(path: "/bin/bash", arguments: ["-l"], environment: environment)
                : ExecPlan(path: "/bin/bash", arguments: ["-c", words.joined(separator: " ")], environment: environment)
            return outcome
        }
    }
}

/// ssh's command line, as the original builds it and as ssh reads it.
enum SshLine {
    /// `ssh USER@HOST ARGS`, each argument quoted as Python's shlex.quote does (the original's format,
    /// trailing space included when there are no arguments).
    static func original(user: String, host: String, arguments: [String]) -> String {
        "ssh \(user)@\(host) " + arguments.map(quote).joined(separator: " ")
    }

    static func quote(_ s: String) -> String {
        if s.isEmpty { return "''" }
        let safe = s.unicodeScalars.allSatisfy { c in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || "_@%+=:,./-".unicodeScalars.contains(c))
        }
        return safe ? s : "'" + s.replacingOccurrences(of: "'", with: "'\"'\"'") + "'"
    }

    /// OpenSSH's options that take a value (its getopt string); the others are flags.
    static let optionsWithValue = Set("BbcDEeFIiJLlmOoPpQRSWw")

    /// The words ssh sends as the remote command: what follows its own options (`-i key`, `-L ...`,
    /// `-o Opt=v`, `-tt`), up to a `--`.
    static func remoteCommand(_ arguments: [String]) -> [String] {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { return Array(arguments[(index + 1)...]) }
            guard argument.hasPrefix("-"), argument.count > 1 else { break }
            // A cluster of flags may end with an option whose value is the next argument (`-vi key`).
            var takesNext = false
            for (offset, letter) in argument.dropFirst().enumerated() where optionsWithValue.contains(letter) {
                takesNext = offset == argument.count - 2
                break
            }
            index += takesNext ? 2 : 1
        }
        return index < arguments.count ? Array(arguments[index...]) : []
    }
}
