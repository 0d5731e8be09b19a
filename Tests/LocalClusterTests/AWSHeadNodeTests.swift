import AWSCore
import ClusterProviders
import Foundation
import JSONOutput
import PClusterCLI
import TestSupport
import Testing

@testable import LocalCluster
@testable import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

extension ClustersAsRoot {
    /// An AWS cluster's head node played by this machine against moto on 127.0.0.1: `pcluster create-cluster`
    /// with PCLUSTER_PROVIDER=aws makes the stack, `pcluster-agent bootstrap --start` runs a real slurmctld with
    /// the slurm.conf for EC2 nodes and the node agent; a job makes Slurm resume two dynamic nodes, which the
    /// agent launches as c6i.32xlarge instances and gives Slurm their addresses; powering them down terminates
    /// them; a fleet stop through pcluster reaches the agent through the stack; with SlurmSettings.Database the
    /// head node runs slurmdbd against a MariaDB of the test's. Needs root (munged, slurmctld, slurmdbd, mariadbd).
    @Suite(.serialized) struct AWSHeadNodeTests {
        static let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

        @Test(
            .enabled(if: getuid() == 0, "the head node runs munged and slurmctld, which need root"),
            .timeLimit(.minutes(5)))
        func slurmScalesEC2NodesThroughTheAgent() async throws {
            let account = try await WorkshopOnMoto.prepare()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-head-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let env = account.environment(home: home)
            let name = "hn\(UInt32.random(in: 0...UInt32.max))"
            let file = home + "/cluster.yaml"
            // Slurm accounting as on AWS: the head node reads the password from Secrets Manager (moto) and runs
            // slurmdbd at its own address against the database the config names (a MariaDB of this test's).
            try #require(MariaDB.missing == nil, "\(MariaDB.missing ?? "")")
            let database = try MariaDB.start(in: home + "/mariadb")
            defer { database.stop() }
            try database.sql("CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'aws-pw'; GRANT ALL ON *.* TO 'slurm'@'127.0.0.1';")
            let secret = try await runCommand(
                [
                    "/usr/bin/env", "aws", "secretsmanager", "create-secret", "--name", "\(name)-db", "--secret-string", "aws-pw", "--region",
                    "us-east-1", "--query", "ARN", "--output", "text",
                ],
                environment: env)
            let arn = String(decoding: secret.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(secret.status == 0 && arn.hasPrefix("arn:"), "\(secret.stderr)")
            func withDatabase(_ text: String) -> String {
                text.replacingOccurrences(
                    of: "  Scheduler: slurm\n",
                    with:
                        "  Scheduler: slurm\n  SlurmSettings:\n    Database:\n      Uri: 127.0.0.1:\(database.port)\n      UserName: slurm\n      PasswordSecretArn: \(arn)\n"
                )
            }
            try withDatabase(WorkshopOnMoto.config(placementGroup: "\(name)-pg")).write(toFile: file, atomically: true, encoding: .utf8)
            let created = await PClusterCLI.run(
                [
                    "create-cluster", "-n", name, "-c", file, "--wait",
                    "--suppress-validators", "type:ExistingFsxNetworkingValidator",
                ], environment: env, providers: StandardProviders(originalVersion: PClusterVersion.original)
            ) { _ in }
            #expect(created.exitCode == 0, "\(created.stdout)")

            let cluster = home + "/cluster"
            let layout = LocalLayout(root: URL(fileURLWithPath: cluster))
            let headNode = HeadNode(layout: layout, agentExecutable: Self.directory.appendingPathComponent("pcluster-agent").path)
            defer {
                // Only what this test started, by the pids it recorded.
                headNode.stopAll()
                // The built binary: a defer cannot await the in-process command.
                _ = try? ClustersAsRoot.run(
                    [Self.directory.appendingPathComponent("pcluster").path, "delete-cluster", "-n", name, "--wait"],
                    environment: env, in: home)
                // On EC2 the head node goes with the stack; here it is this machine, and its slurmd spool is ours.
                try? FileManager.default.removeItem(atPath: layout.spool)
                try? FileManager.default.removeItem(atPath: layout.mungeSocketDirectory)
            }
            let bootstrap = try ClustersAsRoot.run(
                [
                    Self.directory.appendingPathComponent("pcluster-agent").path, "bootstrap",
                    "--cluster-name", name, "--cluster-dir", cluster, "--start",
                    "--controller-address", "127.0.0.1", "--publish-munge-key",
                ], environment: env, in: home)
            #expect(bootstrap.status == 0, "\(bootstrap.stderr)")
            let conf = try String(contentsOfFile: layout.slurmConf, encoding: .utf8)
            #expect(conf.contains("SlurmctldHost=") && conf.contains("(127.0.0.1)") && conf.contains("enable_configless"))
            #expect(!conf.contains("NodeAddr="), "EC2 nodes get their address when they resume")
            // slurmdbd at the head node's address and Slurm's port, the cluster registered in its database.
            #expect(conf.contains("AccountingStorageHost=127.0.0.1") && conf.contains("AccountingStoragePort=6819"))
            #expect(headNode.accountingIsRunning)
            let registered = await ProcessControl.run(
                ["/usr/bin/sacctmgr", "-n", "-P", "list", "cluster", "format=cluster"], environment: layout.daemonEnvironment)
            #expect(registered.output.split(separator: "\n").contains(Substring(name)), "\(registered.output)")

            // The compute nodes' munge key is the head node's, in the cluster's prefix of the config bucket.
            let described = try await JSONValue.parse(PClusterCLI.run(["describe-cluster", "-n", name], environment: env).stdout)
            let url = try #require(described["clusterConfiguration"]?["url"]?.stringValue.flatMap(URL.init(string:)))
            let bucket = url.pathComponents[1]
            let published = try await runCommand(
                ["/usr/bin/env", "aws", "s3", "cp", "s3://\(bucket)/parallelcluster/3.16.1/clusters/\(name)/munge.key", "-"],
                environment: env)
            #expect(published.status == 0 && published.stdout == FileManager.default.contents(atPath: layout.mungeKey), "\(published.stderr)")
            // So is slurm.conf, for login nodes (no slurmd fetches it for them): with that copy alone, Slurm's
            // commands reach this head node, as they do on a login node.
            func publishedConf() async throws -> String {
                let fetched = try await runCommand(
                    ["/usr/bin/env", "aws", "s3", "cp", "s3://\(bucket)/parallelcluster/3.16.1/clusters/\(name)/slurm/slurm.conf", "-"],
                    environment: env)
                return String(decoding: fetched.stdout, as: UTF8.self)
            }
            #expect(try await publishedConf() == conf)
            let loginConf = home + "/login-slurm.conf"
            try await publishedConf().write(toFile: loginConf, atomically: true, encoding: .utf8)
            let fromLogin = await ProcessControl.run(
                ["/usr/bin/sinfo", "-h", "-o", "%P"], environment: ["SLURM_CONF": loginConf, "PATH": "/usr/bin:/bin"])
            #expect(fromLogin.status == 0 && fromLogin.output.contains("c6i"), "\(fromLogin.output)")

            let slurm = layout.daemonEnvironment
            func nodeAddress(_ node: String) -> String? {
                let shown = ProcessControl.run([SlurmTools.scontrol, "show", "node", node], environment: slurm).output
                return shown.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix("NodeAddr=") }.map { String($0.dropFirst(9)) }
            }
            func waitFor(_ what: String, seconds: Double, _ check: () async throws -> Bool) async throws {
                let deadline = Date().addingTimeInterval(seconds)
                while Date() < deadline {
                    if try await check() { return }
                    try await Task.sleep(nanoseconds: 250_000_000)
                }
                Issue.record("timed out waiting for \(what)")
            }

            // A two-node job: Slurm's ResumeProgram is the agent, which launches the instances.
            let submitted = await ProcessControl.run(["/usr/bin/sbatch", "--parsable", "-N", "2", "--wrap", "hostname"], environment: slurm)
            #expect(submitted.status == 0, "\(submitted.output)")
            let jobId = submitted.output.trimmingCharacters(in: .whitespacesAndNewlines)
            try await waitFor("the job in the accounting database", seconds: 30) {
                ProcessControl.run(["/usr/bin/sacct", "-n", "-X", "-P", "-j", jobId, "-o", "JobID"], environment: slurm).output
                    .split(separator: "\n").contains(Substring(jobId))
            }
            let nodes = ["c6i-dy-compute-1", "c6i-dy-compute-2"]
            try await waitFor("two instances", seconds: 60) { try await account.computeInstances(cluster: name).count == 2 }
            let instances = try await account.computeInstances(cluster: name)
            #expect(Set(instances.keys) == Set(nodes))
            #expect(instances.values.allSatisfy { $0.type == "c6i.32xlarge" })
            // Slurm reaches each node at its instance's private address.
            for node in nodes { #expect(nodeAddress(node) == instances[node]?.address, "\(node)") }

            // Powered down (as after ScaledownIdletime): Slurm's SuspendProgram terminates the instances.
            _ = await ProcessControl.run(["/usr/bin/scancel", "--name", "wrap"], environment: slurm)
            _ = await ProcessControl.run(
                [SlurmTools.scontrol, "update", "nodename=c6i-dy-compute-[1-2]", "state=power_down_force", "reason=test"],
                environment: slurm)
            try await waitFor("the instances to terminate", seconds: 60) { try await account.computeInstances(cluster: name).isEmpty }

            // A fleet stop asked of pcluster reaches the head node's agent through the stack, which answers STOPPED.
            let stop = await PClusterCLI.run(["update-compute-fleet", "-n", name, "--status", "STOP_REQUESTED"], environment: env)
            #expect(stop.exitCode == 0, "\(stop.stdout)")
            try await waitFor("the fleet to stop", seconds: 60) {
                (try? await JSONValue.parse(PClusterCLI.run(["describe-compute-fleet", "-n", name], environment: env).stdout))?["status"] == "STOPPED"
            }
            let partition = await ProcessControl.run([SlurmTools.scontrol, "show", "partition", "c6i"], environment: slurm).output
            #expect(partition.contains("State=INACTIVE"), "\(partition)")

            // update-cluster stores a configuration with a third node; the head node's agent finds it and Slurm has
            // the node (slurmctld restarted with the new node set).
            try withDatabase(WorkshopOnMoto.config(placementGroup: "\(name)-pg").replacingOccurrences(of: "MaxCount: 2", with: "MaxCount: 3"))
                .write(toFile: file, atomically: true, encoding: .utf8)
            let updated = await PClusterCLI.run(
                [
                    "update-cluster", "-n", name, "-c", file, "--wait",
                    "--suppress-validators", "type:ExistingFsxNetworkingValidator",
                ], environment: env, providers: StandardProviders(originalVersion: PClusterVersion.original)
            ) { _ in }
            #expect(updated.exitCode == 0, "\(updated.stdout)")
            try await waitFor("the third node in Slurm", seconds: 90) {
                ProcessControl.run([SlurmTools.scontrol, "show", "node", "c6i-dy-compute-3"], environment: slurm).status == 0
            }
            // The agent records the event once its update returns, which is after slurmctld has the node.
            try await waitFor("the agent's UPDATE_APPLIED event", seconds: 30) {
                EventLog(layout: layout).all().contains { $0.status == "UPDATE_APPLIED" }
            }
            // The fleet is still stopped: the restarted slurmctld's partition goes back to inactive.
            try await waitFor("the partition to be inactive again", seconds: 30) {
                ProcessControl.run([SlurmTools.scontrol, "show", "partition", "c6i"], environment: slurm).output.contains("State=INACTIVE")
            }
            #expect(headNode.accountingIsRunning)
            // Login nodes get the new slurm.conf too.
            let republished = try await publishedConf()
            #expect(republished.contains("c6i-dy-compute-[1-3]") || republished.contains("c6i-dy-compute-3"))
        }
    }
}
