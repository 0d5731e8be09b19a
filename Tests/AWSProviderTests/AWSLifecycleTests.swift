import AWSCore
import AWSProvider
import ClusterConfig
import Foundation
import JSONOutput
import PClusterCLI
import TestSupport
import Testing

/// The AWS provider's lifecycle against moto on 127.0.0.1, through the commands a user runs with
/// PCLUSTER_PROVIDER=aws and the node agent as Slurm runs it on the head node: create (a stack that reaches
/// CREATE_COMPLETE), describe / list / instances / stack events, the compute fleet status, an update through
/// a change set, resume and suspend launching and terminating EC2 instances, delete.
struct AWSLifecycleTests {
    static let agent = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pcluster-agent").path

    /// moto's request recorder: what our clients really sent, including what moto does not keep (an
    /// instance's interface type and placement group).
    func recordedRequests(_ account: WorkshopOnMoto, action: String) async throws -> [[String: String]] {
        let file = try #require(account.moto.recording)
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line -> [String: String]? in
            guard let entry = try? JSONValue.parse(String(line)), let raw = entry["body"]?.stringValue else { return nil }
            let body = entry["body_encoded"] == .bool(true) ? Data(base64Encoded: raw).map { String(decoding: $0, as: UTF8.self) } ?? "" : raw
            guard body.hasPrefix("Action=\(action)&") else { return nil }
            var fields: [String: String] = [:]
            for pair in body.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                }
                if parts.count == 2 { fields[parts[0]] = parts[1] }
            }
            return fields
        }
    }

    @Test func theWorkshopClusterFromCreateToDelete() async throws {
        let account = try await WorkshopOnMoto.prepare()
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-aws-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = account.environment(home: home)
        let name = "ws\(UInt32.random(in: 0...UInt32.max))"
        let placementGroup = "\(name)-pg"
        let file = home + "/cluster.yaml"
        try WorkshopOnMoto.config(placementGroup: placementGroup).write(toFile: file, atomically: true, encoding: .utf8)
        // The file system id is a placeholder no endpoint has.
        let suppress = ["--suppress-validators", "type:ExistingFsxNetworkingValidator"]
        func pcluster(_ arguments: [String]) async throws -> (json: JSONValue, status: Int32) {
            let result = await PClusterCLI.run(arguments, environment: env)
            return (try JSONValue.parse(result.stdout.isEmpty ? "{}" : result.stdout), result.exitCode)
        }
        func pcluster(_ arguments: String...) async throws -> (json: JSONValue, status: Int32) { try await pcluster(arguments) }

        // Create: the stack reaches CREATE_COMPLETE and the command says so.
        let created = try await pcluster(["create-cluster", "-n", name, "-c", file, "--wait"] + suppress)
        #expect(created.status == 0, "\(created.json)")
        #expect(created.json["clusterStatus"] == "CREATE_COMPLETE", "\(created.json)")  // describe-cluster's answer, as the original
        let stackArn = try #require(created.json["cloudformationStackArn"]?.stringValue)
        #expect(stackArn.hasPrefix("arn:aws:cloudformation:us-east-1:") && stackArn.contains(":stack/\(name)/"))
        // The stack was asked to roll back on failure (the default), as the request shows.
        let creates = try await recordedRequests(account, action: "CreateStack").filter { $0["StackName"] == name }
        #expect(creates.count == 1 && creates.first?["OnFailure"] == "ROLLBACK", "\(creates.map { $0["OnFailure"] ?? "-" })")
        // A second create of the same name is refused before anything is made.
        let again = try await pcluster(["create-cluster", "-n", name, "-c", file] + suppress)
        #expect(again.status == 1 && (again.json["message"]?.stringValue ?? "").contains("already exists"), "\(again.json)")

        // --rollback-on-failure false keeps a failed stack's resources (OnFailure DO_NOTHING).
        let kept = "\(name)k"
        let keep = try await pcluster(["create-cluster", "-n", kept, "-c", file, "--rollback-on-failure", "false"] + suppress)
        #expect(keep.status == 0, "\(keep.json)")
        #expect(try await recordedRequests(account, action: "CreateStack").first { $0["StackName"] == kept }?["OnFailure"] == "DO_NOTHING")
        await #expect(try pcluster("delete-cluster", "-n", kept, "--wait").json["message"]?.stringValue == "Successfully deleted cluster '\(kept)'.")

        // Read back from the stack (nothing is kept on this machine).
        #expect(!FileManager.default.fileExists(atPath: home + "/state/regions"))
        #expect(!FileManager.default.fileExists(atPath: home + "/state/clusters"))
        let described = try await pcluster("describe-cluster", "-n", name)
        #expect(described.json["clusterStatus"] == "CREATE_COMPLETE" && described.json["cloudFormationStackStatus"] == "CREATE_COMPLETE")
        #expect(described.json["cloudformationStackArn"]?.stringValue == stackArn)
        #expect(described.json["version"] == "3.16.1" && described.json["computeFleetStatus"] == "RUNNING")
        #expect(
            described.json["headNode"]?["instanceType"] == "c6i.2xlarge" && described.json["headNode"]?["state"] == "running", "\(described.json)")
        // The configuration is in the account's ParallelCluster bucket, with the environment's values in it.
        let url = try #require(described.json["clusterConfiguration"]?["url"]?.stringValue)
        #expect(url.contains("-v1-do-not-delete/parallelcluster/3.16.1/clusters/\(name)/configs/cluster-config.yaml"))
        let stored = try await runCommand(["/usr/bin/curl", "-sf", url])
        #expect(stored.status == 0 && String(decoding: stored.stdout, as: UTF8.self).contains("\"SubnetId\": \"\(account.subnet)\""))
        let listed = try await pcluster("list-clusters")
        #expect(
            listed.json["clusters"]?.arrayValue?.contains { $0["clusterName"]?.stringValue == name && $0["clusterStatus"] == "CREATE_COMPLETE" }
                == true)
        let instances = try await pcluster("describe-cluster-instances", "-n", name)
        let heads = instances.json["instances"]?.arrayValue ?? []
        #expect(heads.count == 1 && heads.first?["nodeType"] == "HeadNode", "\(instances.json)")
        let events = try await pcluster("get-cluster-stack-events", "-n", name)
        let eventList = events.json["events"]?.arrayValue ?? []
        #expect(eventList.first?["resourceStatus"] == "CREATE_COMPLETE" && eventList.first?["stackId"]?.stringValue == stackArn, "\(events.json)")
        #expect(eventList.contains { $0["resourceStatus"] == "CREATE_IN_PROGRESS" })

        // What the AWS provider answers, as the original's models and openapi.yaml read it.
        if OracleResponses.python != nil {
            let answers: [(String, [String])] = [
                ("ListClustersResponseContent", ["list-clusters"]), ("DescribeClusterResponseContent", ["describe-cluster", "-n", name]),
                ("DescribeClusterInstancesResponseContent", ["describe-cluster-instances", "-n", name]),
                ("GetClusterStackEventsResponseContent", ["get-cluster-stack-events", "-n", name]),
                ("DescribeComputeFleetResponseContent", ["describe-compute-fleet", "-n", name]),
            ]
            var documents: [(model: String, json: String)] = []
            for (model, args) in answers { documents.append((model, await PClusterCLI.run(args, environment: env).stdout)) }
            for ((model, args), problems) in zip(answers, try await OracleResponses.problems(documents)) {
                #expect(problems.isEmpty, "\(args.joined(separator: " ")) as \(model):\n\(problems.joined(separator: "\n"))")
            }
        }

        // ssh reaches the head node at its address.
        let ssh = try await pcluster("ssh", "-n", name, "--dryrun", "true")
        let headAddress = try #require(described.json["headNode"]?["publicIpAddress"]?.stringValue)
        #expect(ssh.json["command"]?.stringValue == "ssh ec2-user@\(headAddress) ", "\(ssh.json)")

        // Its logs are in CloudWatch Logs, which this build does not read: said, not an empty list.
        let logs = try await pcluster("list-cluster-log-streams", "-n", name)
        #expect(logs.status == 1 && (logs.json["message"]?.stringValue ?? "").contains("CloudWatch Logs"), "\(logs.json)")

        // The compute fleet status lives with the cluster (a tag on its head node).
        let stopped = try await pcluster("update-compute-fleet", "-n", name, "--status", "STOP_REQUESTED")
        #expect(stopped.json["status"] == "STOP_REQUESTED")
        await #expect(try pcluster("describe-compute-fleet", "-n", name).json["status"] == "STOP_REQUESTED")
        _ = try await pcluster("update-compute-fleet", "-n", name, "--status", "START_REQUESTED")

        // An update through a change set: another IAM policy for the head node changes its role.
        let updatedFile = home + "/cluster-updated.yaml"
        try WorkshopOnMoto.config(placementGroup: placementGroup).replacingOccurrences(of: "AmazonS3ReadOnlyAccess", with: "AmazonS3FullAccess")
            .write(toFile: updatedFile, atomically: true, encoding: .utf8)
        let updated = try await pcluster(["update-cluster", "-n", name, "-c", updatedFile, "--wait"] + suppress)
        #expect(updated.status == 0 && updated.json["clusterStatus"] == "UPDATE_COMPLETE", "\(updated.json)")
        await #expect(try pcluster("describe-cluster", "-n", name).json["cloudFormationStackStatus"] == "UPDATE_COMPLETE")
        // The kept configuration is the new one: the same file again is no change.
        let same = try await pcluster(["update-cluster", "-n", name, "-c", updatedFile] + suppress)
        #expect(same.json["message"] == "No changes found in your cluster configuration.", "\(same.json)")

        // The head node's agent state from the stack, then Slurm's resume and suspend programs.
        let directory = home + "/agent"
        let bootstrap = try await runCommand([Self.agent, "bootstrap", "--cluster-name", name, "--cluster-dir", directory], environment: env)
        #expect(bootstrap.status == 0, "\(bootstrap.stderr)")
        let plan = try JSONDecoder().decode(AWSFleetPlan.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/aws-fleet.json")))
        #expect(plan.computeResources.map(\.launchTemplateName) == ["\(name)-c6i-compute"])
        let resume = try await runCommand([Self.agent, "resume", "--cluster-dir", directory, "c6i-dy-compute-[1-2]"], environment: env)
        #expect(resume.status == 0, "\(resume.stderr)")
        let computes = try await pcluster("describe-cluster-instances", "-n", name, "--node-type", "ComputeNode").json["instances"]?.arrayValue ?? []
        #expect(computes.count == 2 && computes.allSatisfy { $0["instanceType"] == "c6i.32xlarge" && $0["queueName"] == "c6i" }, "\(computes)")
        // What was asked of EC2: both nodes in one all-or-nothing call, EFA, the placement group, the launch template.
        let launches = try await recordedRequests(account, action: "RunInstances").filter {
            $0["LaunchTemplate.LaunchTemplateName"] == "\(name)-c6i-compute"
        }
        // One call: a retry of it (moto answers 500 now and then under load) carries the same ClientToken.
        #expect(Set(launches.map { $0["ClientToken"] ?? "" }).count == 1 && launches.allSatisfy { $0["ClientToken"] != nil }, "\(launches)")
        let launch = launches.first ?? [:]
        #expect(launch["MinCount"] == "2" && launch["MaxCount"] == "2" && launch["InstanceType"] == "c6i.32xlarge")
        #expect(launch["NetworkInterface.1.InterfaceType"] == "efa" && launch["Placement.GroupName"] == placementGroup, "\(launch)")
        #expect(launch["NetworkInterface.1.SubnetId"] == account.subnet && launch["LaunchTemplate.Version"] == "$Latest")
        let suspend = try await runCommand([Self.agent, "suspend", "--cluster-dir", directory, "c6i-dy-compute-[1-2]"], environment: env)
        #expect(suspend.status == 0, "\(suspend.stderr)")
        let left = try await pcluster("describe-cluster-instances", "-n", name, "--node-type", "ComputeNode").json["instances"]?.arrayValue ?? []
        #expect(left.isEmpty, "\(left)")

        // Delete: instances the agent made, then the stack, then the configuration.
        _ = try await runCommand([Self.agent, "resume", "--cluster-dir", directory, "c6i-dy-compute-1"], environment: env)
        let deleted = try await pcluster("delete-cluster", "-n", name, "--wait")
        #expect(deleted.status == 0 && deleted.json["message"]?.stringValue == "Successfully deleted cluster '\(name)'.", "\(deleted.json)")
        let gone = try await pcluster("describe-cluster", "-n", name)
        #expect(gone.status == 1 && (gone.json["message"]?.stringValue ?? "").contains("does not exist"), "\(gone.json)")
        let all = try await account.ec2.query(
            "DescribeInstances",
            [
                QueryItem("Filter.1.Name", "tag:parallelcluster:cluster-name"), QueryItem("Filter.1.Value.1", name),
                QueryItem("Filter.2.Name", "instance-state-name"), QueryItem("Filter.2.Value.1", "running"),
            ])
        let survivors = (all.child("reservationSet")?.children("item") ?? []).flatMap { $0.child("instancesSet")?.children("item") ?? [] }.map {
            instance in
            let tags = (instance.child("tagSet")?.children("item") ?? []).map { "\($0.string("key") ?? "")=\($0.string("value") ?? "")" }
            return "\(instance.string("instanceId") ?? "?") launched \(instance.string("launchTime") ?? "?") \(tags.sorted())"
        }
        #expect(survivors.isEmpty, "running after delete: \(survivors)")
        // The configuration object is gone too (the presigned URL describe-cluster gave now finds nothing).
        let status = try await runCommand(["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url])
        #expect(String(decoding: status.stdout, as: UTF8.self) == "404")
    }
}
