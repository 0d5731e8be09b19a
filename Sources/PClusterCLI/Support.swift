import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

/// What a command produced: a JSON document for stdout (nil prints nothing, like the original
/// for an empty result), text for stderr, and the exit code.
package struct CommandOutcome: Sendable {
    package var json: JSONValue?
    /// Plain text for stdout instead of JSON (what the original prints itself, as dcv-connect's URL).
    package var text: String? = nil
    package var stderr: String = ""
    package var exitCode: Int32
    /// A program to replace pcluster with (ssh: a shell or command on the head node).
    package var exec: ExecPlan?
    /// The HTTP status the original's API answers a failure with, where it is not 400 (BadRequestException):
    /// 404 NotFound, 409 Conflict, 412 DryrunOperation, 500 InternalServiceException. The CLI exits 1 for all.
    package var status: Int?

    package static func ok(_ json: JSONValue) -> CommandOutcome { CommandOutcome(json: json, exitCode: 0) }
    package static func failure(_ json: JSONValue, status: Int? = nil) -> CommandOutcome {
        CommandOutcome(json: json, exitCode: 1, status: status)
    }
    package static func failure(message: String, status: Int? = nil) -> CommandOutcome { failure(["message": .string(message)], status: status) }
}

/// A program for the caller to exec in place of pcluster, with its arguments and environment.
package struct ExecPlan: Sendable, Equatable {
    package var path: String
    package var arguments: [String]
    package var environment: [String: String]
}

/// The world a command runs in, passed explicitly so tests run commands in-process.
package struct CommandEnvironment: Sendable {
    package var variables: [String: String]
    package var store: ClusterStore
    /// The providers this build has (the CLI knows none by type).
    package var providers: any ProviderDirectory
    /// Progress lines of --wait, shown as they happen (stderr by default).
    package var progress: @Sendable (String) -> Void

    package init(
        variables: [String: String],
        providers: any ProviderDirectory,
        progress: @escaping @Sendable (String) -> Void = { line in
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    ) {
        self.variables = variables
        self.store = ClusterStore.defaultStore(environment: variables)
        self.providers = providers
        self.progress = progress
    }

    /// What a provider reports while it works on `cluster`: shown, prefixed with the cluster's name, with
    /// --wait; dropped without it.
    func progress(of cluster: String, shown: Bool) -> @Sendable (String) -> Void {
        guard shown else { return { _ in } }
        let show = progress
        return { line in show("[\(cluster)] \(line)") }
    }
}

/// Every subcommand: parsed by ArgumentParser, executed into a `CommandOutcome`.
protocol PClusterCommand: AsyncParsableCommand {
    var common: CommonOptions { get }
    func execute(in env: CommandEnvironment) async throws -> CommandOutcome
}

/// `--debug` and `--query`, which every command of the original accepts.
struct CommonOptions: ParsableArguments {
    @Flag(name: .long, help: "Turn on debug logging.")
    var debug = false

    @Option(name: .long, help: "JMESPath query to perform on the output.")
    var query: String?
}

/// The original takes booleans as `--flag true|false`.
struct BoolArgument: ExpressibleByArgument, Sendable {
    let value: Bool
    init?(argument: String) {
        guard BooleanSpellings.all.contains(argument) else { return nil }
        value = BooleanSpellings.truths.contains(argument)
    }
    static var defaultCompletionKind: CompletionKind { .list(["true", "false"]) }
}

enum FailureLevelArgument: String, ExpressibleByArgument, CaseIterable {
    case INFO, WARNING, ERROR
    var level: ValidationLevel { ValidationLevel(name: rawValue)! }
}

enum ClusterStatusArgument: String, ExpressibleByArgument, CaseIterable {
    case CREATE_IN_PROGRESS, CREATE_FAILED, CREATE_COMPLETE, DELETE_IN_PROGRESS, DELETE_FAILED, UPDATE_IN_PROGRESS, UPDATE_COMPLETE, UPDATE_FAILED
}

enum FleetStatusArgument: String, ExpressibleByArgument, CaseIterable {
    case START_REQUESTED, STOP_REQUESTED, ENABLED, DISABLED
    var fleetStatus: ComputeFleetStatus { ComputeFleetStatus(rawValue: rawValue)! }
}

enum NodeTypeArgument: String, ExpressibleByArgument, CaseIterable {
    case HeadNode, ComputeNode, LoginNode
}

enum ImageStatusArgument: String, ExpressibleByArgument, CaseIterable {
    case AVAILABLE, PENDING, FAILED
}

package enum PClusterVersion {
    /// The original's version this tool matches: what `version` prints and clusters record, so
    /// scripts that compare versions keep working.
    package static let original = "3.16.1"
    /// This implementation's own version, printed by `version` as a separate field.
    package static let ours = "0.1.0"
}

extension ValidationMessage {
    var json: JSONValue {
        var o: JSONObject = ["level": .string(level.description), "type": .string(type), "message": .string(message)]
        if let location { o["location"] = .string(location.description) }
        return .object(o)
    }
}

enum Responses {
    /// The original's answer for a cluster that is not there, command by command: JSON for API
    /// commands (describe-cluster-instances answers an empty list), `ERROR:` lines on stderr for the
    /// commands it runs itself (ssh, dcv-connect, export-cluster-logs).
    static func notFound(_ name: String, command: String) -> CommandOutcome {
        let missing = "Cluster '\(name)' does not exist or belongs to an incompatible ParallelCluster major version."
        switch command {
        case "describe-cluster-instances":
            return .ok(["instances": []])
        case "delete-cluster":
            return .failure(
                message: missing + " In case you have running instances belonging to a deleted cluster please use the DeleteClusterInstances API.",
                status: 404)
        case "delete-cluster-instances":
            return .failure(message: missing + " To force the deletion of all compute nodes, please use the `force` param.", status: 404)
        case "ssh":
            return CommandOutcome(
                json: nil, stderr: "ERROR: Unable to connect to the cluster \(name).\nUnable to retrieve head node information.\n", exitCode: 1)
        case "dcv-connect":
            return CommandOutcome(
                json: nil, stderr: "ERROR: Unable to connect to the cluster.\nUnable to retrieve head node information.\n", exitCode: 1)
        case "export-cluster-logs":
            return CommandOutcome(json: nil, stderr: "ERROR: Unable to export cluster's logs.\nStack with id \(name) does not exist\n", exitCode: 1)
        default:
            return .failure(message: missing, status: 404)
        }
    }

    /// Records a failed status; what to add to the failure's message when that could not be recorded either.
    static func statusNotRecorded(_ record: () async throws -> ClusterRecord?) async -> String {
        do {
            _ = try await record()
            return ""
        } catch {
            return " (and its status could not be recorded as failed: \(error))"
        }
    }

    /// For commands whose backend is a later piece of work: a clear refusal, never a pretend success.
    static func unavailable(_ command: String, _ what: String) -> CommandOutcome {
        .failure(message: "\(command) is not available yet: \(what)")
    }
}

extension CommandEnvironment {
    /// --region, then AWS_DEFAULT_REGION, then AWS_REGION (the original reads the first two).
    /// The region a request is for: --region, else what the AWS configuration names (nil when neither does;
    /// a local cluster is then looked up in every region).
    func region(_ flag: String?) -> String? {
        flag ?? providers.configuredRegion(environment: variables)
    }
}

/// How the original writes a config value into a change set: Python's `str()` of what its YAML reader
/// made of it, and `-` for nothing.
enum PythonText {
    static func str(_ value: JSONValue) -> String {
        switch value {
        case .null: return "-"
        case .string(let s): return s
        default: return repr(value)
        }
    }

    static func repr(_ value: JSONValue) -> String {
        switch value {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e16 ? String(format: "%.1f", d) : "\(d)"
        case .string(let s):
            let quote = s.contains("'") && !s.contains("\"") ? "\"" : "'"
            var out = quote
            for c in s {
                switch c {
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case Character(quote): out += "\\" + quote
                default: out.append(c)
                }
            }
            return out + quote
        case .array(let items): return "[" + items.map(repr).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.entries.map { repr(.string($0.key)) + ": " + repr($0.value) }.joined(separator: ", ") + "}"
        }
    }
}
