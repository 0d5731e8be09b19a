import Foundation
import JSONOutput
import TestSupport
import Testing

@testable import LocalCluster
@testable import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

/// The suites that run clusters as root, one at a time: each starts slurmctld, slurmd processes, an FSx
/// service and FUSE mounts, and two of them side by side on two cores make their timing checks flaky.
@Suite(.serialized, .ownThreads) enum ClustersAsRoot {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: JSONValue? { try? JSONValue.parse(stdout) }
    }

    /// A program started by `start`, with its output going to files.
    struct Running {
        let pid: pid_t
        let out: String
        let err: String

        /// Waits for the program with our own waitpid and returns what it printed.
        func wait() -> Outcome {
            defer {
                unlink(out)
                unlink(err)
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            return Outcome(
                status: code, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        }
    }

    /// Starts a program in `directory` with its output in files: Foundation's Process can miss the exit of a
    /// program whose children (the cluster's daemons) outlive it, and they would hold a pipe open.
    static func start(_ arguments: [String], environment: [String: String], in directory: String) throws -> Running {
        let out = directory + "/.out-\(UUID().uuidString)"
        let err = directory + "/.err-\(UUID().uuidString)"
        let pid = try ProcessControl.spawn(["/usr/bin/env", "-C", directory] + arguments, environment: environment, newSession: false) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        return Running(pid: pid, out: out, err: err)
    }

    /// Runs a program in `directory` to its end (see `start`).
    static func run(_ arguments: [String], environment: [String: String], in directory: String) throws -> Outcome {
        try start(arguments, environment: environment, in: directory).wait()
    }
}

extension ClustersAsRoot {
    /// The seed's cluster on this machine with real Slurm: create, a two-node job on dynamic nodes, scale-down
    /// after ScaledownIdletime, a static node replaced after its slurmd dies, two clusters at once, and a
    /// delete that leaves no process, port or file. Needs root (munged, slurmctld, slurmd); scripts/test
    /// installs slurm-wlm and munge.
    @Suite(.serialized) struct LocalClusterIntegrationTests {
        static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pcluster").path

        let state: URL
        let work: URL
        var environment: [String: String]
        /// This test's own FSx service (not the machine's on 7800), which the clusters mount their /fsx from.
        var fsxdPid: pid_t?

        init() throws {
            state = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-it-\(UUID().uuidString)")
            work = state.appendingPathComponent("work")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            var environment = ProcessInfo.processInfo.environment
            environment["PCLUSTER_STATE_DIR"] = state.path
            environment["SUBNET_ID"] = "subnet-0123456789abcdef0"
            environment["AWS_ACCESS_KEY_ID"] = "AKIALOCALCLUSTER"
            environment["AWS_SECRET_ACCESS_KEY"] = "local-cluster-secret"
            environment["AWS_REGION"] = "us-east-1"
            environment["AWS_DEFAULT_REGION"] = "us-east-1"
            environment.removeValue(forKey: "AWS_ENDPOINT_URL")
            environment.removeValue(forKey: "AWS_PROFILE")
            self.environment = environment
        }

        /// Starts fsxd on a free port and creates the seed's file system there; FSX_FS_ID names it.
        mutating func startFileSystemService() throws {
            let port = try PortAllocator.allocate(1, avoiding: []).first!
            let fsxd = (Self.binary as NSString).deletingLastPathComponent + "/fsxd"
            fsxdPid = try ProcessControl.spawn(
                [fsxd, "--port", String(port), "--state-directory", state.appendingPathComponent("fsx").path],
                environment: environment, logPath: work.appendingPathComponent("fsxd.log").path)
            environment["AWS_ENDPOINT_URL_FSX"] = "http://127.0.0.1:\(port)"
            guard eventually(20, { PortAllocator.isListening(port) }) else { throw LocalClusterError("fsxd did not start") }
            let created = ProcessControl.run(
                [
                    "/usr/bin/env", "aws", "fsx", "create-file-system", "--file-system-type", "LUSTRE",
                    "--storage-capacity", "1200", "--subnet-ids", "subnet-0123456789abcdef0",
                    "--endpoint-url", "http://127.0.0.1:\(port)", "--query", "FileSystem.FileSystemId",
                    "--output", "text",
                ], environment: environment)
            let id = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
            guard created.status == 0, id.hasPrefix("fs-") else { throw LocalClusterError("create-file-system failed: \(created.output)") }
            environment["FSX_FS_ID"] = id
        }

        /// Runs the built pcluster in `work`.
        @discardableResult
        func pcluster(_ arguments: String...) throws -> ClustersAsRoot.Outcome { try runPcluster(arguments) }

        func runPcluster(_ arguments: [String]) throws -> ClustersAsRoot.Outcome {
            try ClustersAsRoot.run([Self.binary] + arguments, environment: environment, in: work.path)
        }

        /// Polls `check` every 0.5 s until it returns true or `seconds` pass.
        func eventually(_ seconds: Double, _ check: () throws -> Bool) rethrows -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try check() { return true }
                usleep(500_000)
            }
            return try check()
        }

        func config(_ name: String, replacing: [(String, String)]) throws -> String {
            var text = try String(contentsOfFile: Self.repository.appendingPathComponent("examples/cluster.yaml").path, encoding: .utf8)
            for (old, new) in replacing { text = text.replacingOccurrences(of: old, with: new) }
            let path = work.appendingPathComponent("\(name).yaml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// What a failed expectation needs to be understood after the state directory is gone: the agent's
        /// events, and the ends of slurmctld's and each slurmd's log.
        func diagnostics(_ cluster: String) -> String {
            let layout = LocalLayout(root: state.appendingPathComponent("regions/us-east-1/\(cluster)"))
            func tail(_ path: String, _ lines: Int = 25) -> String {
                "--- \((path as NSString).lastPathComponent)\n" + (lastLines(ofFile: path, lines) ?? "(no \(path))")
            }
            var parts = [tail(layout.events, 40), tail(layout.slurmctldLog)]
            let logs = (try? FileManager.default.contentsOfDirectory(atPath: (layout.slurmctldLog as NSString).deletingLastPathComponent)) ?? []
            for log in logs.sorted() where log.hasPrefix("slurmd-") {
                parts.append(tail(((layout.slurmctldLog as NSString).deletingLastPathComponent as NSString).appendingPathComponent(log), 15))
            }
            return parts.joined(separator: "\n")
        }

        func jobState(_ cluster: String, _ id: String) throws -> String {
            let show = try pcluster("ssh", "-n", cluster, "scontrol", "show", "job", id)
            return show.stdout.range(of: "JobState=[A-Z_]+", options: .regularExpression).map { String(show.stdout[$0].dropFirst(9)) } ?? "?"
        }

        func sinfo(_ cluster: String) throws -> [String: String] {
            let out = try pcluster("ssh", "-n", cluster, "sinfo", "-h", "-N", "-o", "'%N %t'").stdout
            var states: [String: String] = [:]
            for line in out.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2 { states[String(parts[0])] = String(parts[1]) }
            }
            return states
        }

        @Test(
            .enabled(if: getuid() == 0, "the local provider runs munged, slurmctld and slurmd, which need root"),
            .timeLimit(.minutes(6)))
        func theSeedClusterRunsAJobScalesDownAndDeletesCleanly() throws {
            try #require(LocalClusterRuntime.preconditions() == nil, "\(LocalClusterRuntime.preconditions() ?? "")")
            var test = self
            try test.startFileSystemService()
            try test.run()
        }

        func run() throws {
            defer {
                _ = try? pcluster("delete-cluster", "-n", "demo", "--wait")
                _ = try? pcluster("delete-cluster", "-n", "other", "--wait")
                if let fsxdPid { _ = ProcessControl.terminate(fsxdPid, commandContains: "fsxd") }
                try? FileManager.default.removeItem(at: state)
            }
            // The seed's config with a one-minute ScaledownIdletime, and a second cluster with a static node;
            // each mounts the file system at a MountDir of its own.
            let demoMount = work.appendingPathComponent("fsx-demo").path
            let demo = try config(
                "demo",
                replacing: [
                    ("Scheduling:\n", "Scheduling:\n  SlurmSettings:\n    ScaledownIdletime: 1\n"),
                    ("MountDir: /fsx", "MountDir: \(demoMount)"),
                ])
            let other = try config(
                "other",
                replacing: [
                    ("MinCount: 0", "MinCount: 1"), ("MaxCount: 2", "MaxCount: 1"),
                    ("MountDir: /fsx", "MountDir: \(work.appendingPathComponent("fsx-other").path)"),
                ])

            let created = try pcluster("create-cluster", "-n", "demo", "-c", demo, "--wait")
            #expect(created.status == 0, "\(created.stdout)\(created.stderr)")
            #expect(created.json?["clusterStatus"] == "CREATE_COMPLETE")  // describe-cluster's answer, as the original
            #expect(created.stderr.contains("[demo] cluster status: CREATE_COMPLETE"))
            let duplicate = try pcluster("create-cluster", "-n", "demo", "-c", demo)
            #expect(duplicate.status == 1 && duplicate.json?["message"]?.stringValue?.contains("already exists") == true)

            let second = try pcluster("create-cluster", "-n", "other", "-c", other, "--wait")
            #expect(second.json?["clusterStatus"] == "CREATE_COMPLETE", "\(second.stdout)\(second.stderr)\n\(diagnostics("other"))")
            #expect(try sinfo("other")["c6i-st-compute-1"] == "idle")  // the static node is up at create

            let described = try pcluster("describe-cluster", "-n", "demo").json
            #expect(described?["headNode"]?["state"] == "running")
            #expect(described?["headNode"]?["instanceId"]?.stringValue?.range(of: "^i-[0-9a-f]{17}$", options: .regularExpression) != nil)
            #expect(described?["failures"] == nil)
            // The stack's tags, as the original lists them: the config's and the version.
            #expect(described?["tags"]?.arrayValue?.contains(["key": "parallelcluster:version", "value": "3.16.1"]) == true)
            #expect(try sinfo("demo") == ["c6i-dy-compute-1": "idle~", "c6i-dy-compute-2": "idle~"])

            // The issue's job, verbatim, on powered-down dynamic nodes.
            let submitted = try pcluster("ssh", "-n", "demo", "sbatch", "-N", "2", "--wrap", "'srun hostname'")
            let jobId = try #require(
                submitted.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) },
                "\(submitted.stdout)\(submitted.stderr)")
            #expect(try eventually(120) { try jobState("demo", jobId) == "COMPLETED" })
            let job = try pcluster("ssh", "-n", "demo", "scontrol", "show", "job", jobId).stdout
            #expect(job.contains(" NodeList=c6i-dy-compute-[1-2]"))
            // One argument is one shell line on the head node, as over ssh.
            let both = try pcluster("ssh", "-n", "demo", "squeue; sinfo").stdout
            #expect(both.contains("JOBID") && both.contains("AVAIL"), "\(both)")
            let output = try String(contentsOf: work.appendingPathComponent("slurm-\(jobId).out"), encoding: .utf8)
            // Each node answers with its own name (its own UTS namespace), as an EC2 node would.
            #expect(output.split(separator: "\n").sorted() == ["c6i-dy-compute-1", "c6i-dy-compute-2"], "\(output)")
            let instances = try pcluster("describe-cluster-instances", "-n", "demo", "--node-type", "ComputeNode").json
            #expect(instances?["instances"]?.arrayValue?.count == 2)

            // SharedStorage: the FSx file system is mounted at MountDir, and jobs on compute nodes see it.
            let mounts = { procFile("/proc/self/mounts") }
            #expect(mounts().contains(" \(demoMount) fuse.lustrefs "))
            try "shared\n".write(toFile: demoMount + "/hello.txt", atomically: false, encoding: .utf8)
            let reader = try pcluster("ssh", "-n", "demo", "sbatch", "-N", "2", "--wrap", "'srun cat \(demoMount)/hello.txt'")
            let readerId = try #require(reader.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
            // Up to 2 minutes: the suite's POSIX differential test keeps this machine's cores busy meanwhile.
            #expect(try eventually(120) { try jobState("demo", readerId) == "COMPLETED" }, "state \((try? jobState("demo", readerId)) ?? "unknown")")
            #expect(try String(contentsOf: work.appendingPathComponent("slurm-\(readerId).out"), encoding: .utf8) == "shared\nshared\n")

            // More nodes than MaxCount: Slurm refuses at submit, with its reason.
            let tooMany = try pcluster("ssh", "-n", "demo", "sbatch", "-N", "3", "--wrap", "true")
            #expect(tooMany.status != 0 && tooMany.stderr.contains("Node count specification invalid"), "\(tooMany.stderr)")

            // A static node whose slurmd dies is relaunched by the agent.
            let otherLayout = LocalLayout(root: state.appendingPathComponent("regions/us-east-1/other"))
            let staticPid = try #require(ProcessControl.readPid(otherLayout.slurmdPid("c6i-st-compute-1")))
            kill(staticPid, SIGKILL)
            #expect(
                try eventually(30) {
                    guard let pid = ProcessControl.readPid(otherLayout.slurmdPid("c6i-st-compute-1")), pid != staticPid else { return false }
                    let alive = ProcessControl.isAlive(pid, commandContains: "slurmd")
                    return try alive && sinfo("other")["c6i-st-compute-1"] == "idle"
                })

            // Stopping the fleet stops every compute node; a dead agent is reported, and starting the fleet
            // brings back the agent and the static node.
            try pcluster("update-compute-fleet", "-n", "other", "--status", "STOP_REQUESTED")
            #expect(try eventually(20) { try pcluster("describe-compute-fleet", "-n", "other").json?["status"] == "STOPPED" })
            #expect(
                try pcluster("describe-cluster-instances", "-n", "other", "--node-type", "ComputeNode").json?["instances"]?.arrayValue?.isEmpty
                    == true)
            let agentPid = try #require(ProcessControl.readPid(otherLayout.agentPid))
            kill(agentPid, SIGKILL)
            #expect(
                try eventually(5) {
                    try pcluster("describe-cluster", "-n", "other").json?["failures"]?.arrayValue?.first?["failureCode"] == "HeadNodeDown"
                })
            try pcluster("update-compute-fleet", "-n", "other", "--status", "START_REQUESTED")
            let restarted = try eventually(45) {
                let running = try pcluster("describe-compute-fleet", "-n", "other").json?["status"] == "RUNNING"
                return try running && sinfo("other")["c6i-st-compute-1"] == "idle"
            }
            let nodes = restarted ? "" : try pcluster("ssh", "-n", "other", "sinfo", "-N", "-l").stdout
            let history = restarted ? "" : try pcluster("get-cluster-stack-events", "-n", "other").stdout.prefix(4000)
            #expect(restarted, "\(nodes)\n\(history)")
            #expect(try pcluster("describe-cluster", "-n", "other").json?["failures"] == nil)

            // After ScaledownIdletime (1 minute) the dynamic nodes power down and their slurmd processes end.
            let scaledDown = try eventually(150) { try sinfo("demo").values.allSatisfy { $0 == "idle~" } }
            #expect(scaledDown, "\((try? sinfo("demo")) ?? [:])")
            #expect(
                try eventually(10) {
                    try pcluster("describe-cluster-instances", "-n", "demo", "--node-type", "ComputeNode").json?["instances"]?.arrayValue?.isEmpty
                        == true
                })
            let events = try pcluster("get-cluster-stack-events", "-n", "demo").json?["events"]?.arrayValue ?? []
            // A node's launch and power-down, in CloudFormation's statuses (the API's), named in the reason.
            let said = { (status: String, word: String) in
                events.contains { $0["resourceStatus"]?.stringValue == status && $0["resourceStatusReason"]?.stringValue?.hasPrefix(word) == true }
            }
            #expect(said("DELETE_IN_PROGRESS", "SUSPEND") && said("CREATE_COMPLETE", "LAUNCHED"), "\(events)")

            // Delete leaves no process, port or file of the cluster.
            let layout = LocalLayout(root: state.appendingPathComponent("regions/us-east-1/demo"))
            let spec = try LocalClusterRuntime(store: .init(root: state), agentExecutable: "").loadSpec("demo")
            let pids = [layout.slurmctldPid, layout.mungePid, layout.agentPid].compactMap(ProcessControl.readPid)
            #expect(pids.count == 3)
            let deleted = try pcluster("delete-cluster", "-n", "demo", "--wait")
            #expect(deleted.status == 0 && deleted.json?["message"] == "Successfully deleted cluster 'demo'.")
            #expect(pids.allSatisfy { !ProcessControl.isAlive($0) })
            #expect(([spec.controllerPort] + spec.nodes.map(\.port)).allSatisfy(PortAllocator.isFree))
            #expect(!FileManager.default.fileExists(atPath: layout.root.path))
            #expect(!mounts().contains(" \(demoMount) "))
            #expect(!FileManager.default.fileExists(atPath: layout.spool))
            #expect(try pcluster("describe-cluster", "-n", "demo").status == 1)
            // The other cluster was untouched by all of this; its logs export to an archive.
            #expect(try pcluster("describe-cluster", "-n", "other").json?["headNode"]?["state"] == "running")
            let archive = work.appendingPathComponent("other-logs.tar.gz").path
            #expect(try pcluster("export-cluster-logs", "-n", "other", "--output-file", archive).json?["path"]?.stringValue == archive)
            let listing = ProcessControl.run(["/bin/tar", "-tzf", archive]).output
            #expect(listing.contains("other-logs/slurmctld.log") && listing.contains("other-logs/cluster-events.log"))
            let streams = try pcluster("list-cluster-log-streams", "-n", "other").json?["logStreams"]?.arrayValue ?? []
            #expect(streams.contains { $0["logStreamName"] == "slurmd-c6i-st-compute-1" })
            let lines = try pcluster("get-cluster-log-events", "-n", "other", "--log-stream-name", "slurmctld", "--limit", "3").json
            #expect(lines?["events"]?.arrayValue?.count == 3)

            // What a running local cluster answers, as the original's models and openapi.yaml read it.
            if OracleResponses.python != nil {
                let answers: [(String, [String])] = [
                    ("ListClustersResponseContent", ["list-clusters"]),
                    ("DescribeClusterResponseContent", ["describe-cluster", "-n", "other"]),
                    ("DescribeClusterInstancesResponseContent", ["describe-cluster-instances", "-n", "other"]),
                    ("DescribeComputeFleetResponseContent", ["describe-compute-fleet", "-n", "other"]),
                    ("GetClusterStackEventsResponseContent", ["get-cluster-stack-events", "-n", "other"]),
                    ("ListClusterLogStreamsResponseContent", ["list-cluster-log-streams", "-n", "other"]),
                    (
                        "GetClusterLogEventsResponseContent",
                        ["get-cluster-log-events", "-n", "other", "--log-stream-name", "slurmctld", "--limit", "5"]
                    ),
                ]
                var documents: [(model: String, json: String)] = []
                for (model, args) in answers { documents.append((model, try runPcluster(args).stdout)) }
                for ((model, args), problems) in zip(answers, try OracleResponses.blockingProblems(documents)) {
                    #expect(problems.isEmpty, "\(args.joined(separator: " ")) as \(model):\n\(problems.joined(separator: "\n"))")
                }
            }
        }

        /// A static node whose launch fails (here its port is taken by another program) is down with the
        /// failure's code, and the agent launches it again once it can, instead of leaving it down until Slurm's
        /// 30-minute ResumeTimeout.
        @Test(
            .enabled(if: getuid() == 0, "the local provider runs munged, slurmctld and slurmd, which need root"),
            .timeLimit(.minutes(4)))
        func aStaticNodeWhoseLaunchFailsIsLaunchedAgain() throws {
            try #require(LocalClusterRuntime.preconditions() == nil, "\(LocalClusterRuntime.preconditions() ?? "")")
            defer {
                _ = try? pcluster("delete-cluster", "-n", "retry", "--wait")
                try? FileManager.default.removeItem(at: state)
            }
            let seed = try String(contentsOfFile: Self.repository.appendingPathComponent("examples/cluster.yaml").path, encoding: .utf8)
            let storage = try #require(seed.range(of: "SharedStorage:"))
            let withoutStorage = String(seed[..<storage.lowerBound])
            let path = work.appendingPathComponent("retry.yaml").path
            try withoutStorage.replacingOccurrences(of: "MinCount: 0", with: "MinCount: 1").write(toFile: path, atomically: true, encoding: .utf8)
            let created = try pcluster("create-cluster", "-n", "retry", "-c", path, "--wait")
            #expect(created.json?["clusterStatus"] == "CREATE_COMPLETE", "\(created.stdout)\(created.stderr)\n\(diagnostics("retry"))")
            let spec = try LocalClusterRuntime(store: .init(root: state), agentExecutable: "").loadSpec("retry")
            let port = try #require(spec.node("c6i-st-compute-1")?.port)

            try pcluster("update-compute-fleet", "-n", "retry", "--status", "STOP_REQUESTED")
            #expect(try eventually(30) { try pcluster("describe-compute-fleet", "-n", "retry").json?["status"] == "STOPPED" })
            let squatter = try #require(Self.listen(on: port), "cannot listen on 127.0.0.1:\(port)")
            var closed = false
            defer { if !closed { close(squatter) } }
            try pcluster("update-compute-fleet", "-n", "retry", "--status", "START_REQUESTED")
            let reason = { try self.pcluster("ssh", "-n", "retry", "sinfo", "-h", "-N", "-n", "c6i-st-compute-1", "-o", "'%t %E'").stdout }
            let eventsPath = LocalLayout(root: state.appendingPathComponent("regions/us-east-1/retry")).events
            let events = { (try? String(contentsOfFile: eventsPath, encoding: .utf8)) ?? "" }
            // Slurm shows `(Code:LaunchFailure)Failure when resuming nodes: port N ...` only until the agent's next
            // pass powers the node down to retry, so the lasting record is the agent's events.
            #expect(
                eventually(60) { events().contains("\"RESUME_FAILED\"") && events().contains("port \(port) of c6i-st-compute-1") },
                "\((try? reason()) ?? "")\n\(diagnostics("retry"))")
            #expect(eventually(30) { events().contains("\"status\":\"RETRY\"") }, "\(diagnostics("retry"))")
            // What Slurm showed meanwhile, from slurmctld's log.
            let controllerLog =
                (try? String(contentsOfFile: LocalLayout(root: state.appendingPathComponent("regions/us-east-1/retry")).slurmctldLog, encoding: .utf8))
                ?? ""
            #expect(controllerLog.contains("(Code:LaunchFailure)Failure when resuming nodes: port \(port) of c6i-st-compute-1"))
            close(squatter)
            closed = true
            #expect(try eventually(90) { try sinfo("retry")["c6i-st-compute-1"] == "idle" }, "\((try? reason()) ?? "")\n\(diagnostics("retry"))")
        }

        /// The seed's config without its SharedStorage (no FSx service needed), written as `<name>.yaml`.
        func withoutSharedStorage(_ name: String) throws -> String {
            let seed = try String(contentsOfFile: Self.repository.appendingPathComponent("examples/cluster.yaml").path, encoding: .utf8)
            let storage = try #require(seed.range(of: "SharedStorage:"))
            let path = work.appendingPathComponent("\(name).yaml").path
            try String(seed[..<storage.lowerBound]).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// After kill -9 of every process the cluster recorded (agent, slurmctld, munged, slurmd), a running job's
        /// slurmstepd and its processes are orphans no pid file names; `delete-cluster --wait` still ends them
        /// all (they are in the cluster's cgroup) before it returns. slurmctld and slurmd listen on loopback only.
        @Test(
            .enabled(if: getuid() == 0, "the local provider runs munged, slurmctld and slurmd, which need root"),
            .timeLimit(.minutes(3)))
        func deleteAfterEveryDaemonWasKilledEndsTheJobsProcessesToo() throws {
            try #require(LocalClusterRuntime.preconditions() == nil, "\(LocalClusterRuntime.preconditions() ?? "")")
            defer {
                _ = try? pcluster("delete-cluster", "-n", "crashed", "--wait")
                try? FileManager.default.removeItem(at: state)
            }
            let path = try withoutSharedStorage("crashed")
            let created = try pcluster("create-cluster", "-n", "crashed", "-c", path, "--wait")
            #expect(created.json?["clusterStatus"] == "CREATE_COMPLETE", "\(created.stdout)\(created.stderr)")
            let layout = LocalLayout(root: state.appendingPathComponent("regions/us-east-1/crashed"))
            let spec = try LocalClusterRuntime(store: .init(root: state), agentExecutable: "").loadSpec("crashed")

            // A job whose process is easy to find: a sleep of a length nothing else uses.
            let marker = String(7000 + Int.random(in: 0..<999))
            let submitted = try pcluster("ssh", "-n", "crashed", "sbatch", "--wrap", "'sleep \(marker)'")
            #expect(submitted.stdout.contains("Submitted batch job"), "\(submitted.stdout)\(submitted.stderr)")
            func jobProcesses() -> [pid_t] {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
                return entries.compactMap { pid_t($0) }.filter { pid in
                    guard let data = try? FileHandle(forReadingAtPath: "/proc/\(pid)/cmdline")?.readToEnd() else { return false }
                    let command = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
                    return command.hasPrefix("sleep \(marker)") && ProcessControl.isAlive(pid)
                }
            }
            #expect(eventually(60) { !jobProcesses().isEmpty }, "\(diagnostics("crashed"))")

            // Loopback only: slurmctld's port and the node's port are bound to 127.0.0.1 (0100007F in /proc/net/tcp).
            let listening = (procFile("/proc/net/tcp")).split(separator: "\n").compactMap { line -> (String, Int)? in
                let fields = line.split(separator: " ")
                guard fields.count > 3, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                    let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16)
                else { return nil }
                return (String(fields[1][..<colon]), port)
            }
            let ports = [spec.controllerPort] + spec.nodes.map(\.port)
            let ours = listening.filter { ports.contains($0.1) }
            #expect(ours.contains { $0.1 == spec.controllerPort } && ours.allSatisfy { $0.0 == "0100007F" }, "\(ours)")

            var recorded = [layout.agentPid, layout.slurmctldPid, layout.mungePid].compactMap { ProcessControl.readPid($0) }
            recorded += InstanceRegistry(layout: layout).read().compactMap(\.pid)
            for pid in recorded { kill(pid, SIGKILL) }
            #expect(eventually(10) { recorded.allSatisfy { !ProcessControl.isAlive($0) } })
            #expect(!jobProcesses().isEmpty, "the job should have outlived its daemons, or this test proves nothing")

            let deleted = try pcluster("delete-cluster", "-n", "crashed", "--wait")
            #expect(deleted.status == 0, "\(deleted.stdout)\(deleted.stderr)")
            #expect(jobProcesses().isEmpty, "processes of the job outlived delete-cluster: \(jobProcesses())")
            if let cgroup = layout.cgroup { #expect(!FileManager.default.fileExists(atPath: cgroup.path)) }
            #expect(!FileManager.default.fileExists(atPath: layout.root.path))
        }

        /// kill -9 of slurmctld while jobs run on a node it powered up, then the fleet restart that brings it back:
        /// the jobs go on running and complete, and no node drains with "Duplicate jobid" (slurmctld had saved
        /// the node as still booting and its jobs as configuring, and would launch them a second time; the agent
        /// makes it save its job and node state once nodes are up).
        @Test(
            .enabled(if: getuid() == 0, "the local provider runs munged, slurmctld and slurmd, which need root"),
            .timeLimit(.minutes(4)))
        func aRestartedSlurmctldKeepsTheJobsThatRan() throws {
            try #require(LocalClusterRuntime.preconditions() == nil, "\(LocalClusterRuntime.preconditions() ?? "")")
            defer {
                _ = try? pcluster("delete-cluster", "-n", "restart", "--wait")
                try? FileManager.default.removeItem(at: state)
            }
            let path = try withoutSharedStorage("restart")
            let created = try pcluster("create-cluster", "-n", "restart", "-c", path, "--wait")
            #expect(created.json?["clusterStatus"] == "CREATE_COMPLETE", "\(created.stdout)\(created.stderr)")
            var ids: [String] = []
            for _ in 0..<6 {
                let submitted = try pcluster("ssh", "-n", "restart", "sbatch", "-n", "1", "--wrap", "'sleep 45'")
                ids.append(submitted.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "?")
            }
            #expect(try eventually(60) { try ids.allSatisfy { try jobState("restart", $0) == "RUNNING" } }, "\(diagnostics("restart"))")
            // One manage pass (5 s) for the agent to see the node up, and slurmctld's own save delay.
            Thread.sleep(forTimeInterval: 12)
            let layout = LocalLayout(root: state.appendingPathComponent("regions/us-east-1/restart"))
            let controller = try #require(ProcessControl.readPid(layout.slurmctldPid))
            kill(controller, SIGKILL)
            #expect(eventually(10) { !ProcessControl.isAlive(controller) })
            try pcluster("update-compute-fleet", "-n", "restart", "--status", "START_REQUESTED")
            #expect(
                try eventually(90) { try ids.allSatisfy { try jobState("restart", $0) == "COMPLETED" } },
                "\(ids.map { (try? jobState("restart", $0)) ?? "?" })\n\(diagnostics("restart"))")
            let controllerLog = (try? String(contentsOfFile: layout.slurmctldLog, encoding: .utf8)) ?? ""
            #expect(!controllerLog.contains("Duplicate jobid"), "\(diagnostics("restart"))")
        }

        /// kill -9 of a random process of the cluster (munged, slurmctld, the agent, a slurmd) at a random moment
        /// of its creation and of a scale-up, then of `delete-cluster --wait` itself or of a cluster process while
        /// it runs: the delete (or a second one, after the first was killed) succeeds and leaves no process, no
        /// cgroup, no listening port and no file of the cluster. CHAOS_TRIALS sets the number of trials
        /// (benchmarks/chaos.sh runs 100).
        @Test(
            .enabled(if: getuid() == 0, "the local provider runs munged, slurmctld and slurmd, which need root"),
            .timeLimit(.minutes(60)))
        func killedAtRandomWhileCreatingAndScalingTheClusterIsStillDeletedWhole() throws {
            try #require(LocalClusterRuntime.preconditions() == nil, "\(LocalClusterRuntime.preconditions() ?? "")")
            let trials = Int(ProcessInfo.processInfo.environment["CHAOS_TRIALS"] ?? "") ?? 1
            defer { try? FileManager.default.removeItem(at: state) }
            let path = try withoutSharedStorage("chaos")
            let layout = LocalLayout(root: state.appendingPathComponent("regions/us-east-1/chaos"))
            var failures: [String] = []
            for trial in 0..<trials {
                defer { _ = try? pcluster("delete-cluster", "-n", "chaos", "--wait") }
                // A random member of the cluster's cgroup, at a random moment.
                func killOneAtRandom(within seconds: Double) -> String {
                    usleep(UInt32.random(in: 0...UInt32(seconds * 1_000_000)))
                    guard let victim = layout.cgroup?.members().randomElement() else { return "nothing to kill yet" }
                    let command = String(
                        decoding: (try? FileHandle(forReadingAtPath: "/proc/\(victim)/cmdline")?.readToEnd())?
                            .prefix(60).map { $0 == 0 ? 32 : $0 } ?? [], as: UTF8.self)
                    kill(victim, SIGKILL)
                    return "killed \(command.split(separator: " ").first.map(String.init) ?? "?")"
                }
                let created = DispatchSemaphore(value: 0)
                let creating = Thread {
                    _ = try? self.pcluster("create-cluster", "-n", "chaos", "-c", path, "--wait")
                    created.signal()
                }
                creating.start()
                let first = killOneAtRandom(within: 1.5)
                _ = created.wait(timeout: .now() + 120)
                var second = "no scale-up (create failed)"
                if (try? pcluster("describe-cluster", "-n", "chaos").json?["clusterStatus"]) == "CREATE_COMPLETE" {
                    _ = try? pcluster("ssh", "-n", "chaos", "sbatch", "-N", "2", "--wrap", "'sleep 30'")
                    second = killOneAtRandom(within: 3)
                }
                let spec = try? LocalClusterRuntime(store: .init(root: state), agentExecutable: "").loadSpec("chaos")
                // The third fault lands on the delete: the delete-cluster process itself (then a second delete
                // must finish the job) or a member of the cluster (the delete must not mind).
                let deleting = try ClustersAsRoot.start(
                    [Self.binary, "delete-cluster", "-n", "chaos", "--wait"],
                    environment: environment, in: work.path)
                let third: String
                if Bool.random() {
                    usleep(UInt32.random(in: 0...1_000_000))
                    kill(deleting.pid, SIGKILL)
                    third = "killed delete-cluster"
                } else {
                    third = killOneAtRandom(within: 1)
                }
                var deleted = deleting.wait()
                var problems: [String] = []
                if deleted.status == 128 + SIGKILL {
                    deleted = try pcluster("delete-cluster", "-n", "chaos", "--wait")
                    // The killed delete may have finished before the signal landed.
                    if deleted.status != 0 && deleted.stdout.contains("does not exist") { deleted.status = 0 }
                }
                if deleted.status != 0 { problems.append("delete-cluster: \(deleted.stdout)\(deleted.stderr)") }
                let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }.filter { pid in
                    let command = String(decoding: (try? FileHandle(forReadingAtPath: "/proc/\(pid)/cmdline")?.readToEnd()) ?? Data(), as: UTF8.self)
                    return command.contains(layout.root.path) && ProcessControl.isAlive(pid)
                }
                if !leftovers.isEmpty { problems.append("processes left: \(leftovers)") }
                if let cgroup = layout.cgroup, FileManager.default.fileExists(atPath: cgroup.path) { problems.append("cgroup left: \(cgroup.path)") }
                if FileManager.default.fileExists(atPath: layout.root.path) { problems.append("cluster directory left") }
                let ports = spec.map { [$0.controllerPort] + $0.nodes.map(\.port) } ?? []
                let busy = ports.filter { !PortAllocator.isFree($0) }
                if !busy.isEmpty { problems.append("ports still in use: \(busy)") }
                print(
                    "chaos cluster trial \(trial): create (\(first)), scale (\(second)), delete (\(third)): \(problems.isEmpty ? "deleted whole" : problems.joined(separator: "; "))"
                )
                if !problems.isEmpty { failures.append("trial \(trial): \(problems.joined(separator: "; "))") }
            }
            print("chaos cluster: trials \(trials), failures \(failures.count)")
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        }

        /// A socket listening on 127.0.0.1:`port`, or nil.
        static func listen(on port: Int) -> Int32? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, Glibc.listen(fd, 1) == 0 else {
                close(fd)
                return nil
            }
            return fd
        }
    }
}
