import ClusterConfig
import Foundation
import JSONOutput
import Provisioning
import TestSupport
import Testing

@testable import PClusterCLI

@Suite("The pcluster command line")
struct CLITests {
    static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("no Package.swift above \(#filePath)")
    }()
    static let example = repoRoot.appendingPathComponent("examples/cluster.yaml").path

    let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-cli-\(UUID().uuidString)")
    var env: [String: String] {
        // The FSx endpoint is a loopback port nothing listens on, so these tests never reach a service this
        // machine may run; the workshop test checks FileSystemId against a real one.
        [
            "SUBNET_ID": "subnet-0123456789abcdef0", "FSX_FS_ID": "fs-0123456789abcdef0", "PCLUSTER_STATE_DIR": stateDir.path, "HOME": "/root",
            "AWS_ENDPOINT_URL_FSX": "http://127.0.0.1:\(Self.closedPort)",
        ]
    }

    func run(_ args: String..., env extra: [String: String] = [:]) async throws -> (json: JSONValue?, result: PClusterCLI.Result) {
        try await run(args, env: extra)
    }

    func run(_ args: [String], env extra: [String: String] = [:]) async throws -> (json: JSONValue?, result: PClusterCLI.Result) {
        let result = await PClusterCLI.run(args, environment: env.merging(extra) { $1 })
        let json = result.stdout.isEmpty ? nil : try JSONValue.parse(result.stdout)
        return (json, result)
    }

    @Test func versionIsJSON() async throws {
        let (json, r) = try await run("version")
        #expect(r.exitCode == 0)
        #expect(json?["version"]?.stringValue == "3.16.1")
        #expect(json?["swiftVersion"]?.stringValue == PClusterVersion.ours)
        #expect(r.stdout.hasPrefix("{\n  \"version\": "))
    }

    /// A loopback port with nothing listening (bound, read back, released).
    static let closedPort = freeLocalPort()

    @Test func seedDryRunGivesWarningsAndNoError() async throws {
        let (json, r) = try await run("create-cluster", "-n", "demo", "-c", Self.example, "--dryrun", "true")
        #expect(r.exitCode == 1)  // as the original: a dry run that would succeed is reported as an error
        #expect(json?["message"] == "Request would have succeeded, but DryRun flag is set.")
        let messages = try #require(json?["validationMessages"]?.arrayValue)
        #expect(messages.allSatisfy { $0["level"] == "WARNING" })
        #expect(
            Set(messages.compactMap { $0["type"]?.stringValue })
                == ["DeprecatedOsValidator", "DcvValidator", "ImdsSecuredValidator", "ExistingFsxNetworkingValidator"])
        // The FileSystemId could not be asked about, and the warning says so where it is.
        let unchecked = messages.first { $0["type"] == "ExistingFsxNetworkingValidator" }
        #expect(
            unchecked?["message"]
                == .string(
                    "Could not check the FSx file systems with the FSx service at http://127.0.0.1:\(Self.closedPort): nothing listens at http://127.0.0.1:\(Self.closedPort)"
                ))
        #expect(unchecked?["location"]?.stringValue?.hasSuffix("cluster.yaml:49:21") == true)
        #expect(messages.allSatisfy { $0["location"]?.stringValue?.hasPrefix(Self.example + ":") == true })
    }

    /// The issue's acceptance case: four problems in the workshop config, all reported in one run.
    @Test func fourProblemsInTheWorkshopConfigAllAtOnce() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-four-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "MinCount: 0", with: "MinCount: 3")
            .replacingOccurrences(of: "- Name: c6i", with: "- Name: C6I")
            .replacingOccurrences(of: "InstanceType: c6i.32xlarge", with: "InstanceType: t3.micro\n          MaxCont: 4")
        let file = dir.appendingPathComponent("cluster.yaml")
        try broken.write(to: file, atomically: true, encoding: .utf8)
        let (json, r) = try await run("create-cluster", "-n", "demo", "-c", file.path, "--dryrun", "true")
        #expect(r.exitCode == 1)
        #expect(json?["message"] == "Invalid cluster configuration.")
        let errors = try #require(json?["configurationValidationErrors"]?.arrayValue).filter { $0["level"] == "ERROR" }
        let byType = Dictionary(grouping: errors, by: { $0["type"]?.stringValue ?? "" })
        let lines = broken.components(separatedBy: "\n")
        func line(of needle: String) -> Int { (lines.firstIndex { $0.contains(needle) } ?? -1) + 1 }
        #expect(byType["NameValidator"]?.first?["location"] == .string("\(file.path):\(line(of: "- Name: C6I")):13"))
        #expect(byType["ComputeResourceSizeValidator"]?.first?["location"] == .string("\(file.path):\(line(of: "MaxCount: 2")):21"))
        #expect(byType["ConfigSchemaValidator"]?.first?["location"] == .string("\(file.path):\(line(of: "MaxCont")):11"))
        #expect(byType["EfaValidator"]?.first?["location"] == .string("\(file.path):\(line(of: "GdrSupport") - 1):22"))
        #expect(errors.count == 4, "\(errors)")
    }

    @Test func theAWSProvidersTemplateFromADryRun() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-template-\(UUID().uuidString).json").path
        defer { unlink(file) }
        let (json, r) = try await run(
            "create-cluster", "-n", "demo", "-c", Self.example, "--provider", "aws", "--dryrun", "true", "--template-output", file)
        #expect(r.exitCode == 1 && json?["message"] == "Request would have succeeded, but DryRun flag is set.")
        let template = try JSONValue.parse(String(contentsOfFile: file, encoding: .utf8))
        #expect(template["Resources"]?["HeadNode"]?["Type"] == "AWS::EC2::Instance")
        // --template-output needs a dry run.
        let (alone, _) = try await run("create-cluster", "-n", "demo", "-c", Self.example, "--template-output", file)
        #expect(alone?["message"] == "Bad Request: --template-output goes with --dryrun true.")
    }

    /// Our advice (here ImdsSecuredValidator) is reported but refuses nothing the original accepts, at any level.
    @Test func ourAdviceNeverRefusesAConfig() async throws {
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "Os: alinux2\n", with: "Os: alinux2023\n")
            .replacingOccurrences(of: "Enabled: true\n    Port: 8443\n    AllowedIps: 0.0.0.0/0\n", with: "Enabled: false\n")
        #expect(!text.contains("AllowedIps: 0.0.0.0/0"))
        try FileManager.default.createDirectory(at: stateDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: stateDir) }
        let file = stateDir.appendingPathComponent("advised.yaml").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        for level in ["INFO", "WARNING"] {
            let (json, _) = try await run(
                "create-cluster", "-n", "advised", "-c", file, "--dryrun", "true", "--validation-failure-level", level,
                "--suppress-validators", "type:ExistingFsxNetworkingValidator")
            #expect(
                json?["message"] == "Request would have succeeded, but DryRun flag is set.", "\(level): \(json.map { JSONPrinter.render($0) } ?? "")")
            #expect(json?["validationMessages"]?.arrayValue?.contains { $0["type"] == "ImdsSecuredValidator" } == true)
        }
    }

    @Test func failureLevelWarningTurnsWarningsIntoARejection() async throws {
        let (json, r) = try await run("create-cluster", "-n", "demo", "-c", Self.example, "--dryrun", "true", "--validation-failure-level", "WARNING")
        #expect(r.exitCode == 1)
        #expect(json?["message"] == "Invalid cluster configuration.")
        #expect(json?["configurationValidationErrors"]?.arrayValue?.count == 5)
        let (quiet, _) = try await run(
            "create-cluster", "-n", "demo", "-c", Self.example, "--dryrun", "true", "--validation-failure-level", "WARNING",
            "--suppress-validators", "type:DeprecatedOsValidator", "type:DcvValidator", "--suppress-validators", "type:ImdsSecuredValidator",
            "type:ExistingFsxNetworkingValidator")
        #expect(quiet?["message"] == "Request would have succeeded, but DryRun flag is set.")
        #expect(quiet?["validationMessages"] == nil)
    }

    @Test func badConfigFileGetsOneJSONErrorNotACrash() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tabbed = dir.appendingPathComponent("tab.yaml")
        try "Image:\n\tOs: alinux2023\n".write(to: tabbed, atomically: true, encoding: .utf8)
        // A file that is not there is refused as the original's argparse refuses it, before anything else.
        let missing = dir.appendingPathComponent("missing.yaml").path
        let (gone, gr) = try await run("create-cluster", "-n", "demo", "-c", missing, "--dryrun", "true")
        #expect(gr.exitCode == 1 && gone == ["message": .string("Bad Request: File not found: '\(missing)'")])
        for path in [tabbed.path, dir.path] {
            let (json, r) = try await run("create-cluster", "-n", "demo", "-c", path, "--dryrun", "true")
            #expect(r.exitCode == 1)
            let errors = try #require(json?["configurationValidationErrors"]?.arrayValue)
            #expect(errors.count == 1)
            #expect(errors[0]["location"]?.stringValue?.hasPrefix(path) == true)
        }
    }

    @Test func queryAppliesToOutputAndBadQueriesAreReported() async throws {
        // The original's CLI-only commands (version, ssh, configure, ...) take no --query.
        let r = await PClusterCLI.run(["version", "--query", "version"], environment: env)
        #expect(r.exitCode == 1 && r.stdout.hasSuffix("Invalid arguments ['--query', 'version']\n"))
        let (bad, r2) = try await run("list-clusters", "--query", "clusters[")
        #expect(r2.exitCode == 1)
        #expect(bad?["message"] == "Invalid query string.")
        let (_, empty) = try await run("list-clusters", "--query", "clusters")
        #expect(empty.exitCode == 0 && empty.stdout.isEmpty)  // an empty result prints nothing, as the original
    }

    @Test func usageErrorsExitTwoOnStderr() async throws {
        let (_, r) = try await run("create-cluster", "-n", "demo")
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("cluster-configuration"))
        // A boolean that is not one is the original's Bad Request (exit 1), not a usage error; so is "yes".
        for word in ["maybe", "yes", "1"] {
            let (json, r2) = try await run("create-cluster", "-n", "demo", "-c", Self.example, "--dryrun", word)
            #expect(r2.exitCode == 1 && json?["message"] == "Bad Request: Wrong type, expected 'boolean' for parameter 'dryrun'")
        }
        let (_, spelled) = try await run("create-cluster", "-n", "demo", "-c", Self.example, "--dryrun", "True")
        #expect(spelled.exitCode == 1 && spelled.stdout.contains("Request would have succeeded"))
        let (_, r3) = try await run("no-such-command")
        #expect(r3.exitCode == 2)
    }

    @Test func allTwentySixCommandsExistWithTheirAliases() async throws {
        let names = PCluster.configuration.subcommands.compactMap { $0.configuration.commandName }
        #expect(names.count == 26)
        #expect(Set(names).count == 26)
        let help = await PClusterCLI.run(["--help"], environment: env)
        for n in names { #expect(help.stdout.contains(n), "\(n) missing from help") }
        for name in names where name != "version" {
            let r = await PClusterCLI.run([name, "--help"], environment: env)
            #expect(r.exitCode == 0 && r.stdout.contains("--debug") && r.stdout.contains("--query"), "\(name)")
        }
    }

    /// Before anything else, as the original: the cluster name's pattern and the region.
    @Test func badNamesAndRegionsAreRefusedFirst() async throws {
        for args in [["describe-cluster", "-n", "1bad"], ["create-cluster", "-n", "a_b", "-c", Self.example, "--dryrun", "true"]] {
            let (json, r) = try await run(args)
            #expect(r.exitCode == 1 && json?["message"]?.stringValue?.hasSuffix("does not match '^[a-zA-Z][a-zA-Z0-9-]+$' - 'cluster-name'") == true)
        }
        for args in [["list-clusters", "-r", "xx-foo-1"], ["describe-cluster", "-n", "abcde", "-r", "xx-foo-1"]] {
            let (json, r) = try await run(args)
            #expect(r.exitCode == 1 && json?["message"] == "Bad Request: invalid or unsupported region 'xx-foo-1'")
        }
        let (_, viaEnvironment) = try await run("list-clusters", env: ["AWS_DEFAULT_REGION": "xx-foo-1"])
        #expect(viaEnvironment.exitCode == 1)
    }

    @Test func commandsOnAMissingClusterAnswerJSONErrors() async throws {
        // The original's answers, word for word (taken from it against moto).
        let missing = "Cluster 'ghost' does not exist or belongs to an incompatible ParallelCluster major version."
        let cases: [([String], String)] = [
            (["describe-cluster", "-n", "ghost"], missing),
            (
                ["delete-cluster", "-n", "ghost"],
                missing + " In case you have running instances belonging to a deleted cluster please use the DeleteClusterInstances API."
            ),
            (["describe-compute-fleet", "-n", "ghost"], missing), (["update-compute-fleet", "-n", "ghost", "--status", "STOP_REQUESTED"], missing),
            (["delete-cluster-instances", "-n", "ghost"], missing + " To force the deletion of all compute nodes, please use the `force` param."),
            (["list-cluster-log-streams", "-n", "ghost"], missing), (["get-cluster-log-events", "-n", "ghost", "--log-stream-name", "x"], missing),
            (["get-cluster-stack-events", "-n", "ghost"], missing), (["update-cluster", "-n", "ghost", "-c", Self.example], missing),
        ]
        for (args, message) in cases {
            let result = await PClusterCLI.run(args, environment: env)
            #expect(result.exitCode == 1, "\(args)")
            #expect(try JSONValue.parse(result.stdout)["message"]?.stringValue == message, "\(args)")
        }
        let instances = await PClusterCLI.run(["describe-cluster-instances", "-n", "ghost"], environment: env)
        #expect(instances.exitCode == 0 && instances.stdout == "{\n  \"instances\": []\n}\n")
        let own: [([String], String)] = [
            (["ssh", "-n", "ghost"], "ERROR: Unable to connect to the cluster ghost.\nUnable to retrieve head node information.\n"),
            (["dcv-connect", "-n", "ghost"], "ERROR: Unable to connect to the cluster.\nUnable to retrieve head node information.\n"),
            (["export-cluster-logs", "-n", "ghost"], "ERROR: Unable to export cluster's logs.\nStack with id ghost does not exist\n"),
        ]
        for (args, stderr) in own {
            let result = await PClusterCLI.run(args, environment: env)
            #expect(result.exitCode == 1 && result.stdout.isEmpty && result.stderr == stderr, "\(args): \(result.stderr)")
        }
        for args in [
            ["list-images", "--image-status", "AVAILABLE"], ["describe-image", "-i", "img-x"], ["build-image", "-c", Self.example, "-i", "img-x"],
            ["list-official-images"],
        ] {
            let result = await PClusterCLI.run(args, environment: env)
            #expect(result.exitCode == 1, "\(args)")
            #expect((try JSONValue.parse(result.stdout))["message"]?.stringValue?.contains("not available") == true)
        }
    }

    /// With AWS out of reach (an endpoint nothing listens on), the AWS provider says so and makes nothing,
    /// whether chosen by flag or by PCLUSTER_PROVIDER; the region comes from the config.
    @Test func theAWSProviderWithoutAWSFailsClearlyAndCreatesNothing() async throws {
        let unreachable = [
            "AWS_ENDPOINT_URL": "http://127.0.0.1:\(Self.closedPort)", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret",
        ]
        let (json, r) = try await run("create-cluster", "-n", "demo", "-c", Self.example, "--provider", "aws", env: unreachable)
        #expect(r.exitCode == 1)
        #expect(
            json?["message"]?.stringValue?.contains("Cannot tell whether cluster 'demo' exists: Cannot reach http://127.0.0.1:\(Self.closedPort)")
                == true,
            "\(String(describing: json))")
        #expect(!FileManager.default.fileExists(atPath: stateDir.appendingPathComponent("regions/us-east-1/demo").path))
        let viaEnvironment = await PClusterCLI.run(
            ["describe-cluster", "-n", "demo"],
            environment: env.merging(unreachable.merging(["PCLUSTER_PROVIDER": "aws", "AWS_REGION": "us-east-1"]) { $1 }) { $1 })
        #expect(
            viaEnvironment.exitCode == 1 && viaEnvironment.stdout.contains("Cannot reach http://127.0.0.1:\(Self.closedPort)"),
            "\(viaEnvironment.stdout)")
        let listed = await PClusterCLI.run(["list-clusters"], environment: env.merging(["PCLUSTER_PROVIDER": "gcp"]) { $1 })
        #expect(listed.exitCode == 1 && listed.stdout.contains("unknown provider 'gcp' in PCLUSTER_PROVIDER"), "\(listed.stdout)")
        let (unknown, _) = try await run("create-cluster", "-n", "demo", "-c", Self.example, "--provider", "gcp")
        #expect(unknown?["message"]?.stringValue?.contains("unknown provider 'gcp'") == true)
        #expect(!FileManager.default.fileExists(atPath: stateDir.appendingPathComponent("regions/us-east-1/demo").path))
    }

    @Test func aHalfCreatedClusterIsDeletedCleanly() async throws {
        defer { try? FileManager.default.removeItem(at: stateDir) }
        let store = ClusterStore(root: stateDir)
        let now = Date()
        // As a crash during create would leave it: a record and a directory, no processes.
        try store.save(
            ClusterRecord(
                name: "half", region: "us-east-1", version: PClusterVersion.original, clusterStatus: .createInProgress,
                computeFleetStatus: .running, creationTime: now, lastUpdatedTime: now, provider: .local),
            configuration: "Region: us-east-1\n")
        let (described, _) = try await run("describe-cluster", "-n", "half")
        #expect(described?["failures"]?.arrayValue?.first?["failureCode"] == "HeadNodeDown")
        let (json, r) = try await run("delete-cluster", "-n", "half")
        #expect(r.exitCode == 0 && json?["cluster"]?["clusterStatus"] == "DELETE_IN_PROGRESS")
        #expect(!FileManager.default.fileExists(atPath: stateDir.appendingPathComponent("regions/us-east-1/half").path))
        let (_, again) = try await run("delete-cluster", "-n", "half")
        #expect(again.exitCode == 1)
    }

    @Test func updateDryRunShowsTheChangeSetWithPolicies() async throws {
        defer { try? FileManager.default.removeItem(at: stateDir) }
        let store = ClusterStore(root: stateDir)
        let now = Date()
        let current = try String(contentsOfFile: Self.example, encoding: .utf8)
        try store.save(
            ClusterRecord(
                name: "demo", region: "us-east-1", version: PClusterVersion.original, clusterStatus: .createComplete,
                computeFleetStatus: .running, creationTime: now, lastUpdatedTime: now, provider: .local),
            configuration: current)
        let newConfig = stateDir.appendingPathComponent("new.yaml")
        try current.replacingOccurrences(of: "MaxCount: 2", with: "MaxCount: 4").write(to: newConfig, atomically: true, encoding: .utf8)
        let (json, r) = try await run("update-cluster", "-n", "demo", "-c", newConfig.path, "--dryrun", "true")
        #expect(r.exitCode == 1)
        #expect(json?["message"] == "Request would have succeeded, but DryRun flag is set.")
        let change = try #require(json?["changeSet"]?.arrayValue?.first)
        #expect(change["parameter"] == "Scheduling.SlurmQueues[c6i].ComputeResources[compute].MaxCount")
        #expect(change["currentValue"] == "2" && change["requestedValue"] == "4" && change["updatePolicy"] == "MAX_COUNT")

        try current.replacingOccurrences(of: "c6i.2xlarge", with: "c6i.4xlarge").write(to: newConfig, atomically: true, encoding: .utf8)
        let (rejected, _) = try await run("update-cluster", "-n", "demo", "-c", newConfig.path, "--dryrun", "true")
        let error = try #require(rejected?["updateValidationErrors"]?.arrayValue?.first)
        #expect(error["parameter"] == "HeadNode.InstanceType")
        #expect(error["message"]?.stringValue?.contains("new cluster") == true)

        let (list, lr) = try await run("list-clusters", "--query", "clusters[*].clusterName")
        #expect(lr.exitCode == 0 && list == ["demo"])
        let (described, _) = try await run("describe-cluster", "-n", "demo")
        #expect(described?["cloudFormationStackStatus"] == "CREATE_COMPLETE")
        #expect(described?["computeFleetStatus"] == "RUNNING")
    }

    /// The configure wizard, answered through stdin as a user at a terminal would.
    @Test func configureWritesAConfigThatValidates() async throws {
        defer { try? FileManager.default.removeItem(at: stateDir) }
        try FileManager.default.createDirectory(at: stateDir, withIntermediateDirectories: true)
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pcluster")
        func configure(_ path: String, answers: String) throws -> (Int32, String, String) {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["configure", "-c", path]
            process.environment = env
            let input = Pipe(), output = Pipe(), errors = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            input.fileHandleForWriting.write(Data(answers.utf8))
            try input.fileHandleForWriting.close()
            let out = output.fileHandleForReading.readDataToEndOfFile()
            let err = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
        }
        let path = stateDir.appendingPathComponent("wizard.yaml").path
        // Region, OS, head type, queue, a wrong then a right compute type, static, a too-small then a good max, subnet.
        let (code, out, err) = try configure(path, answers: "eu-west-1\n\nt3.large\ncpu\nnot.a.type\nc5.2xlarge\n1\n0\n3\n\n")
        #expect(code == 0, "\(out)\(err)")
        #expect(err.contains("'not.a.type' is not an EC2 instance type"))
        #expect(err.contains("give at least 1"))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("Region: eu-west-1") && text.contains("Os: alinux2023") && text.contains("InstanceType: c5.2xlarge"))
        #expect(text.contains("MinCount: 1") && text.contains("MaxCount: 3") && text.contains("- Name: cpu"))
        let validated = await PClusterCLI.run(["create-cluster", "-n", "wiz", "-c", path, "--dryrun", "true"], environment: env)
        #expect(validated.stdout.contains("Request would have succeeded"), "\(validated.stdout)")
        // No input at all aborts with nothing written, as the original; Enter to every question takes the defaults.
        let defaults = stateDir.appendingPathComponent("defaults.yaml").path
        #expect(try configure(defaults, answers: "").0 == 1)
        #expect(!FileManager.default.fileExists(atPath: defaults))
        #expect(try configure(defaults, answers: String(repeating: "\n", count: 20)).0 == 0)
        await #expect(
            PClusterCLI.run(["create-cluster", "-n", "wiz", "-c", defaults, "--dryrun", "true"], environment: env).stdout.contains(
                "Request would have succeeded"))
        let (again, message, _) = try configure(defaults, answers: "")
        #expect(again == 1 && message.contains("already exists"))
    }

    /// The real binary, as users and scripts run it: exit codes and streams.
    @Test func theBuiltBinaryBehavesTheSame() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pcluster")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "pcluster not built at \(binary.path)")
        func exec(_ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = binary
            p.arguments = args
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let (code, out) = try exec(["create-cluster", "-n", "demo", "-c", Self.example, "--dryrun", "true"])
        #expect(code == 1)
        #expect(out.contains("\"DeprecatedOsValidator\""))
        #expect(try exec(["version"]).0 == 0)
        #expect(try exec(["create-cluster"]).0 == 2)
    }
}
