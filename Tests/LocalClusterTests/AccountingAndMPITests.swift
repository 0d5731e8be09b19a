import Foundation
import JSONOutput
import TestSupport
import Testing

@testable import LocalCluster
@testable import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

extension ClustersAsRoot {
    /// A cluster as an HPC user meets it: `SlurmSettings.Database` against a MariaDB this test starts (the
    /// password in Secrets Manager on moto), jobs read back with `sacct`, compute nodes that answer with their
    /// own names, a login node, and one MPI program across two nodes, with srun's PMIx and with mpirun. Needs root, Debian's
    /// mariadb-server, slurmdbd and openmpi (scripts/test installs them).
    @Suite(.serialized) struct AccountingAndMPITests {
        static let binary = ClustersAsRoot.LocalClusterIntegrationTests.binary
        static let repository = ClustersAsRoot.LocalClusterIntegrationTests.repository

        @Test(
            .enabled(if: getuid() == 0, "the local provider runs munged, slurmctld, slurmdbd and slurmd, which need root"),
            .timeLimit(.minutes(6)))
        func accountingRecordsJobsAndMPIRunsAcrossNodes() async throws {
            try #require(LocalClusterRuntime.preconditions() == nil, "\(LocalClusterRuntime.preconditions() ?? "")")
            try #require(MariaDB.missing == nil, "\(MariaDB.missing ?? "")")
            try #require(
                FileManager.default.isExecutableFile(atPath: "/usr/bin/mpicc"), "mpicc is missing: apt-get install libopenmpi-dev openmpi-bin")
            let moto = try await MotoServer.unchecked.start()
            try await onOwnThread { try Self.run(moto: moto) }
        }

        static func run(moto: MotoServer.Running) throws {
            let state = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-acct-\(UUID().uuidString)")
            let work = state.appendingPathComponent("work")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            var database = try MariaDB.start(in: state.appendingPathComponent("mariadb").path)
            defer {
                database.stop()
                try? FileManager.default.removeItem(at: state)
            }
            try database.sql("CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 's3cret-pw'; GRANT ALL ON *.* TO 'slurm'@'127.0.0.1';")

            var environment = ProcessInfo.processInfo.environment
            environment["PCLUSTER_STATE_DIR"] = state.path
            environment["AWS_ACCESS_KEY_ID"] = moto.credentials.accessKeyId
            environment["AWS_SECRET_ACCESS_KEY"] = moto.credentials.secretAccessKey
            environment["AWS_REGION"] = "us-east-1"
            environment["AWS_DEFAULT_REGION"] = "us-east-1"
            environment["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = moto.endpoint
            environment.removeValue(forKey: "AWS_ENDPOINT_URL")
            environment.removeValue(forKey: "AWS_PROFILE")
            let secretName = "slurmdb-\(UUID().uuidString.prefix(8))"
            let secret = ProcessControl.run(
                [
                    "/usr/bin/env", "aws", "secretsmanager", "create-secret", "--name", secretName, "--secret-string", "s3cret-pw",
                    "--endpoint-url", moto.endpoint, "--query", "ARN", "--output", "text",
                ], environment: environment)
            let arn = secret.output.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(secret.status == 0 && arn.hasPrefix("arn:aws:secretsmanager:"), "\(secret.output)")

            func pcluster(_ arguments: String...) throws -> ClustersAsRoot.Outcome {
                try ClustersAsRoot.run([binary] + arguments, environment: environment, in: work.path)
            }
            func eventually(_ seconds: Double, _ check: () throws -> Bool) rethrows -> Bool {
                let deadline = Date().addingTimeInterval(seconds)
                while Date() < deadline {
                    if try check() { return true }
                    usleep(300_000)
                }
                return try check()
            }
            let name = "acct-\(UUID().uuidString.prefix(6).lowercased())"
            func submit(_ arguments: String...) throws -> String {
                let submitted = try ClustersAsRoot.run(
                    [binary, "ssh", "-n", name, "sbatch", "--parsable"] + arguments, environment: environment, in: work.path)
                let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                try #require(submitted.status == 0 && Int(id) != nil, "\(submitted.stdout)\(submitted.stderr)")
                return id
            }
            func finished(_ id: String) throws -> Bool {
                try pcluster("ssh", "-n", name, "squeue", "-h", "-j", id).stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            }
            /// sacct's rows of a job (allocation first, then its steps): JobID|State|NodeList|ExitCode.
            func accounted(_ id: String) throws -> [[String]] {
                try pcluster("ssh", "-n", name, "sacct", "-n", "-P", "-j", id, "--format=JobID,State,NodeList,ExitCode").stdout
                    .split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
            }

            // The database as the original's users write it: host:port, a user, the password's secret.
            let config = work.appendingPathComponent("cluster.yaml").path
            try """
            Region: us-east-1
            Image:
              Os: alinux2023
            HeadNode:
              InstanceType: c6i.2xlarge
              Networking:
                SubnetId: subnet-0123456789abcdef0
            Scheduling:
              Scheduler: slurm
              SlurmSettings:
                Database:
                  Uri: 127.0.0.1:\(database.port)
                  UserName: slurm
                  PasswordSecretArn: \(arn)
              SlurmQueues:
                - Name: mpi
                  ComputeResources:
                    - Name: cr
                      Instances:
                        - InstanceType: c6i.large
                      MinCount: 0
                      MaxCount: 2
                  Networking:
                    SubnetIds:
                      - subnet-0123456789abcdef0
            LoginNodes:
              Pools:
                - Name: login
                  InstanceType: c6i.large
                  Count: 1
                  Networking:
                    SubnetIds:
                      - subnet-0123456789abcdef0

            """.write(toFile: config, atomically: true, encoding: .utf8)
            defer { _ = try? pcluster("delete-cluster", "-n", name, "--wait") }
            let created = try pcluster("create-cluster", "-n", name, "-c", config, "--wait")
            try #require(created.json?["clusterStatus"] == "CREATE_COMPLETE", "\(created.stdout)\(created.stderr)")
            #expect(created.stderr.contains("starting slurmdbd"), "\(created.stderr)")
            let layout = LocalLayout(root: state.appendingPathComponent("regions/us-east-1/\(name)"))
            // The password is in slurmdbd.conf alone, readable by root alone.
            var info = stat()
            #expect(stat(layout.slurmdbdConf, &info) == 0 && info.st_mode & 0o777 == 0o600)
            #expect(!((try? String(contentsOfFile: layout.spec, encoding: .utf8)) ?? "s3cret-pw").contains("s3cret-pw"))
            // The cluster registered itself with its slurmdbd; the database is named after the cluster.
            let clusters = try pcluster("ssh", "-n", name, "sacctmgr", "-n", "-P", "list", "cluster", "format=cluster").stdout
            #expect(clusters.split(separator: "\n").contains(Substring(name)), "\(clusters)")
            #expect(try database.sql("SHOW DATABASES").split(separator: "\n").contains(Substring(name.replacingOccurrences(of: "-", with: "_"))))

            // The login node: its pool is active, and a shell there has its own name and the cluster's Slurm.
            let described = try pcluster("describe-cluster", "-n", name).json
            #expect(
                described?["loginNodes"]
                    == [
                        [
                            "status": "active", "poolName": "login", "address": "127.0.0.1", "scheme": "internal", "healthyNodes": 1,
                            "unhealthyNodes": 0,
                        ]
                    ], "\(described?["loginNodes"] ?? .null)")
            if OracleResponses.python != nil {
                // As the original's model and openapi.yaml read it, key order included.
                let text = try pcluster("describe-cluster", "-n", name).stdout
                #expect(try OracleResponses.blockingProblems([("DescribeClusterResponseContent", text)]) == [[]])
            }
            let logins = try pcluster("describe-cluster-instances", "-n", name, "--node-type", "LoginNode").json?["instances"]?.arrayValue
            #expect(logins?.count == 1 && logins?.first?["nodeType"] == "LoginNode")
            let agent = (binary as NSString).deletingLastPathComponent + "/pcluster-agent"
            let onLogin = try ClustersAsRoot.run(
                [agent, "login", "-n", name, "--", "hostname; sbatch --parsable -o fromlogin.out --wrap hostname"],
                environment: environment, in: work.path)
            let loginLines = onLogin.stdout.split(separator: "\n").map(String.init)
            #expect(onLogin.status == 0 && loginLines.first == "login-1" && loginLines.count == 2, "\(onLogin.stdout)\(onLogin.stderr)")
            let fromLogin = loginLines.last ?? ""

            // Jobs: each node answers with its own name; a failing job keeps its exit code.
            let hostnames = try submit("-N", "2", "-o", "hostnames.out", "--wrap", "'srun hostname'")
            let failing = try submit("--wrap", "'exit 3'")
            #expect(try eventually(90) { try finished(hostnames) && finished(failing) && finished(fromLogin) })
            #expect(
                (try? String(contentsOfFile: work.appendingPathComponent("fromlogin.out").path, encoding: .utf8))?.hasPrefix("mpi-dy-cr-") == true)
            let names = try String(contentsOfFile: work.appendingPathComponent("hostnames.out").path, encoding: .utf8)
            #expect(names.split(separator: "\n").sorted() == ["mpi-dy-cr-1", "mpi-dy-cr-2"], "\(names)")

            // MPI across the two nodes: srun with PMIx, and mpirun inside an allocation.
            let program = work.appendingPathComponent("hello").path
            let compiled = ProcessControl.run(
                ["/usr/bin/mpicc", "-o", program, repository.appendingPathComponent("benchmarks/mpi/hello.c").path])
            try #require(compiled.status == 0, "\(compiled.output)")
            let pmix = try submit("-N", "2", "-n", "4", "-o", "pmix.out", "--wrap", "'srun --mpi=pmix \(program)'")
            // After the first: two MPI jobs at once on the same two local nodes share this machine's /tmp, where
            // Open MPI keeps its per-host session directory, and one job's cleanup has failed the other's shared
            // memory setup (open(2): ENOENT, then a segfault).
            let mpirun = try submit(
                "-N", "2", "-n", "4", "--dependency=afterany:\(pmix)", "-o", "mpirun.out", "--wrap", "'mpirun --allow-run-as-root \(program)'")
            #expect(try eventually(120) { try finished(pmix) && finished(mpirun) })
            for output in ["pmix.out", "mpirun.out"] {
                let text = (try? String(contentsOfFile: work.appendingPathComponent(output).path, encoding: .utf8)) ?? ""
                let ranks = text.split(separator: "\n").filter { $0.hasPrefix("rank ") }.sorted()
                // Block distribution: ranks 0 and 1 on the first node, 2 and 3 on the second; all four summed.
                #expect(
                    ranks == [
                        "rank 0 of 4 on mpi-dy-cr-1 sum 6", "rank 1 of 4 on mpi-dy-cr-1 sum 6",
                        "rank 2 of 4 on mpi-dy-cr-2 sum 6", "rank 3 of 4 on mpi-dy-cr-2 sum 6",
                    ], "\(output): \(text)")
            }

            // sacct reads them back from the database: state, node list, exit code.
            #expect(
                try eventually(30) {
                    try accounted(hostnames).first == [hostnames, "COMPLETED", "mpi-dy-cr-[1-2]", "0:0"]
                        && accounted(failing).first?[1] == "FAILED" && accounted(failing).first?[3] == "3:0"
                        && accounted(pmix).first == [pmix, "COMPLETED", "mpi-dy-cr-[1-2]", "0:0"]
                }, "\((try? accounted(hostnames)) ?? []) \((try? accounted(failing)) ?? []) \((try? accounted(pmix)) ?? [])")
            #expect(try accounted(pmix).contains { $0.first == "\(pmix).0" && $0[1] == "COMPLETED" })

            // The database goes away: jobs still run, and their records arrive once it is back (slurmdbd and
            // slurmctld keep them meanwhile).
            database.stop()
            let during = try submit("-o", "during.out", "--wrap", "hostname")
            #expect(try eventually(60) { try finished(during) })
            #expect(try String(contentsOfFile: work.appendingPathComponent("during.out").path, encoding: .utf8) == "mpi-dy-cr-1\n")
            try database.restart()
            #expect(try eventually(90) { try accounted(during).first == [during, "COMPLETED", "mpi-dy-cr-1", "0:0"] })

            // update-cluster to another database (DatabaseName may change with the fleet running): slurmdbd and
            // slurmctld restart, the cluster registers itself there, and new jobs are recorded there.
            let renamed = try String(contentsOfFile: config, encoding: .utf8)
                .replacingOccurrences(of: "      UserName: slurm\n", with: "      UserName: slurm\n      DatabaseName: accounting_two\n")
            try renamed.write(toFile: config, atomically: true, encoding: .utf8)
            let updated = try pcluster("update-cluster", "-n", name, "-c", config, "--wait")
            #expect(updated.status == 0, "\(updated.stdout)\(updated.stderr)")
            #expect(try database.sql("SHOW DATABASES").split(separator: "\n").contains("accounting_two"))
            let afterUpdate = try submit("--wrap", "true")
            #expect(try eventually(60) { try accounted(afterUpdate).first?[1] == "COMPLETED" })

            // Removing the Database (its update policy wants the fleet stopped) stops slurmdbd and takes
            // accounting out of slurm.conf.
            let dbd = try #require(ProcessControl.readPid(layout.slurmdbdPid))
            #expect(try pcluster("update-compute-fleet", "-n", name, "--status", "STOP_REQUESTED").status == 0)
            #expect(try eventually(30) { try pcluster("describe-compute-fleet", "-n", name).json?["status"] == "STOPPED" })
            let settings = try #require(renamed.range(of: "  SlurmSettings:\n"))
            let queues = try #require(renamed.range(of: "  SlurmQueues:\n"))
            try (String(renamed[..<settings.lowerBound]) + String(renamed[queues.lowerBound...]))
                .write(toFile: config, atomically: true, encoding: .utf8)
            let removed = try pcluster("update-cluster", "-n", name, "-c", config, "--wait")
            #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
            #expect(!ProcessControl.isAlive(dbd, commandContains: "slurmdbd"))
            #expect(!FileManager.default.fileExists(atPath: layout.slurmdbdConf))
            #expect(try !String(contentsOfFile: layout.slurmConf, encoding: .utf8).contains("AccountingStorageType=accounting_storage/slurmdbd"))

            // Delete stops the login node too; the databases and their records stay, as the original leaves them.
            let login = try #require(ProcessControl.readPid(layout.loginNodePid("login-1")))
            #expect(try pcluster("delete-cluster", "-n", name, "--wait").status == 0)
            #expect(!ProcessControl.isAlive(login, commandContains: "login-node"))
            #expect(try database.sql("SHOW DATABASES").split(separator: "\n").contains(Substring(name.replacingOccurrences(of: "-", with: "_"))))
        }
    }
}
