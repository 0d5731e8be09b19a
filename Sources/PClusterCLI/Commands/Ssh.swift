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
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        let shell: [String: String]
        switch await provider.headNodeShell(of: clusterName) {
        case nil:
            return .failure(message: provider.headNodeDownAdvice(of: clusterName))
        case .ssh(let user, let host):
            // As the original: ssh to the head node with the arguments given.
            let plan = ExecPlan(path: "/usr/bin/ssh", arguments: ["\(user)@\(host)"] + sshArguments, environment: env.variables)
            if dryrun?.value == true { return .ok(["command": .string(([plan.path] + plan.arguments).joined(separator: " "))]) }
            var outcome = CommandOutcome(json: nil, exitCode: 0)
            outcome.exec = plan
            return outcome
        case .local(let environment):
            shell = environment
        }
        var environment = env.variables.merging(shell) { $1 }
        environment["PCLUSTER_CLUSTER_NAME"] = clusterName
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" + (env.variables["PATH"].map { ":" + $0 } ?? "")
        let plan: ExecPlan
        switch sshArguments.count {
        case 0: plan = ExecPlan(path: "/bin/bash", arguments: ["-l"], environment: environment)
        // One argument may be a shell line ("squeue; sinfo"), as ssh would run it.
        case 1: plan = ExecPlan(path: "/bin/sh", arguments: ["-c", sshArguments[0]], environment: environment)
        // Several are a command and its arguments, kept apart (so --wrap 'srun hostname' stays one argument).
        default: plan = ExecPlan(path: "/usr/bin/env", arguments: sshArguments, environment: environment)
        }
        if dryrun?.value == true {
            var o: JSONObject = ["command": .string(([plan.path] + plan.arguments).joined(separator: " "))]
            if let conf = shell["SLURM_CONF"] { o["SLURM_CONF"] = .string(conf) }
            return .ok(.object(o))
        }
        var outcome = CommandOutcome(json: nil, exitCode: 0)
        outcome.exec = plan
        return outcome
    }
}
