import Foundation
import JSONOutput
import LocalCluster
import SlurmHeadNode
import TestSupport
import Testing

extension ClustersAsRoot {
    /// `pcluster-api` on 127.0.0.1 driven by a Python client that signs with botocore (scripts/api/call.py):
    /// a local cluster from create to delete through the API alone, every answer checked against the
    /// original's openapi.yaml and models, and unsigned or wrongly signed requests refused.
    @Suite(.serialized) struct APIServerTests {
        static let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

        struct Answer {
            var status: Int
            var body: JSONValue
        }

        /// The schema of the original's answer to `operation` with `status` (openapi.yaml's responses).
        static func model(_ operation: String, _ status: Int) -> String {
            switch status {
            case 200, 202, 204: return "\(operation)ResponseContent"
            case 400 where ["CreateCluster", "UpdateCluster", "BuildImage"].contains(operation):
                return "\(operation)BadRequestExceptionResponseContent"
            case 400: return "BadRequestExceptionResponseContent"
            case 401: return "UnauthorizedClientErrorResponseContent"
            case 404: return "NotFoundExceptionResponseContent"
            case 409: return "ConflictExceptionResponseContent"
            case 412: return "DryrunOperationExceptionResponseContent"
            case 429: return "LimitExceededExceptionResponseContent"
            default: return "InternalServiceExceptionResponseContent"
            }
        }

        @Test(
            .enabled(if: getuid() == 0, "the local provider runs munged, slurmctld and slurmd, which need root"),
            .timeLimit(.minutes(6)))
        func aLocalClusterFromCreateToDeleteThroughTheAPI() async throws {
            try #require(LocalClusterRuntime.preconditions() == nil, "\(LocalClusterRuntime.preconditions() ?? "")")
            let state = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-api-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
            let environment = APIProcess.environment(state: state.path, keyId: "AKIAAPISERVERTEST", secret: "api-server-secret")
            let port = try PortAllocator.allocate(1, avoiding: []).first!
            let token = UUID().uuidString
            let server = try ProcessControl.spawn(
                [Self.directory.appendingPathComponent("pcluster-api").path, "--port", String(port), "--dashboard-token", token],
                environment: environment, logPath: state.appendingPathComponent("api.log").path)
            let name = "apidemo"
            defer {
                // What this test made, by the pids and names it knows.
                _ = try? ClustersAsRoot.run(
                    [Self.directory.appendingPathComponent("pcluster").path, "delete-cluster", "-n", name, "--wait"],
                    environment: environment, in: state.path)
                _ = ProcessControl.terminate(server, commandContains: "pcluster-api")
                try? FileManager.default.removeItem(at: state)
            }
            let deadline = Date().addingTimeInterval(30)
            while !PortAllocator.isListening(port) && Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
            try #require(PortAllocator.isListening(port), "pcluster-api did not listen on \(port)")

            var checked: [(operation: String, answer: Answer)] = []
            func call(
                _ operation: String, _ method: String, _ path: String, query: [String] = [], body: JSONValue? = nil,
                signing: [String: String] = [:], unsigned: Bool = false
            ) async throws -> Answer {
                var arguments = [
                    "python3", Self.repository.appendingPathComponent("scripts/api/call.py").path, "http://127.0.0.1:\(port)", method, path,
                ]
                for item in query { arguments += ["--query", item] }
                if let body { arguments += ["--body", JSONPrinter.render(body, indent: 0)] }
                if unsigned { arguments.append("--unsigned") }
                let (line, env) = (arguments, environment.merging(signing) { $1 })
                let result = try await runCommand(line, environment: env)
                let printed = try JSONValue.parse(String(decoding: result.stdout, as: UTF8.self))
                let answer = Answer(status: printed["status"]?.intValue ?? 0, body: printed["body"] ?? .null)
                checked.append((operation, answer))
                return answer
            }

            // The workshop's config as a user sends it: the YAML text in the body, values filled in.
            // Its DCV port on a free one: the machine's own 8443 may be a quick start's desktop.
            let dcvPort = try PortAllocator.allocate(1, avoiding: [port]).first!
            let configuration = try String(contentsOf: Self.repository.appendingPathComponent("examples/cluster.yaml"), encoding: .utf8)
                .replacingOccurrences(of: "$SUBNET_ID", with: "subnet-0123456789abcdef0")
                .replacingOccurrences(of: "Port: 8443", with: "Port: \(dcvPort)")
                .components(separatedBy: "SharedStorage:").first!
            let request: JSONValue = ["clusterName": .string(name), "clusterConfiguration": .string(configuration)]

            // Refused before anything runs: unsigned, signed with a wrong secret.
            let unsigned = try await call("ListClusters", "GET", "/v3/clusters", unsigned: true)
            #expect(unsigned.status == 401 && unsigned.body["message"] == "Missing Authentication Token", "\(unsigned)")
            let forged = try await call("CreateCluster", "POST", "/v3/clusters", body: request, signing: ["AWS_SECRET_ACCESS_KEY": "not-the-secret"])
            #expect(forged.status == 401, "\(forged)")

            // A dry run: 412 with the original's message and its validation messages; nothing made.
            let dry = try await call("CreateCluster", "POST", "/v3/clusters", query: ["dryrun=true"], body: request)
            #expect(dry.status == 412 && dry.body["message"] == "Request would have succeeded, but DryRun flag is set.", "\(dry)")
            #expect(try await call("ListClusters", "GET", "/v3/clusters").body["clusters"] == [])
            // A bad configuration: 400 with each finding at its line.
            let bad = try await call(
                "CreateCluster", "POST", "/v3/clusters",
                body: [
                    "clusterName": .string(name),
                    "clusterConfiguration": .string(configuration.replacingOccurrences(of: "MaxCount: 2", with: "MaxCount: -1")),
                ])
            #expect(bad.status == 400 && bad.body["configurationValidationErrors"]?.arrayValue?.isEmpty == false, "\(bad)")

            // Create returns at once (202, CREATE_IN_PROGRESS or already complete); the cluster comes up.
            let created = try await call("CreateCluster", "POST", "/v3/clusters", body: request)
            #expect(created.status == 202 && created.body["cluster"]?["clusterName"] == .string(name), "\(created)")
            let again = try await call("CreateCluster", "POST", "/v3/clusters", body: request)
            #expect(again.status == 409, "\(again)")
            var described = try await call("DescribeCluster", "GET", "/v3/clusters/\(name)")
            for _ in 0..<120 where described.body["clusterStatus"] == "CREATE_IN_PROGRESS" {
                try await Task.sleep(nanoseconds: 500_000_000)
                described = try await call("DescribeCluster", "GET", "/v3/clusters/\(name)")
            }
            #expect(described.status == 200 && described.body["clusterStatus"] == "CREATE_COMPLETE", "\(described)")
            let listed = try await call("ListClusters", "GET", "/v3/clusters", query: ["clusterStatus=CREATE_COMPLETE"])
            #expect(listed.body["clusters"]?.arrayValue?.map { $0["clusterName"] } == [.string(name)], "\(listed)")
            let instances = try await call("DescribeClusterInstances", "GET", "/v3/clusters/\(name)/instances")
            #expect(instances.body["instances"]?.arrayValue?.first?["nodeType"] == "HeadNode", "\(instances)")
            let events = try await call("GetClusterStackEvents", "GET", "/v3/clusters/\(name)/stackevents")
            #expect(events.status == 200 && events.body["events"]?.arrayValue?.isEmpty == false, "\(events)")
            let streams = try await call("ListClusterLogStreams", "GET", "/v3/clusters/\(name)/logstreams")
            #expect(streams.status == 200, "\(streams)")
            if let stream = streams.body["logStreams"]?.arrayValue?.first?["logStreamName"]?.stringValue {
                let events = try await call("GetClusterLogEvents", "GET", "/v3/clusters/\(name)/logstreams/\(stream)", query: ["limit=5"])
                #expect(events.status == 200, "\(events)")
            }
            #expect(try await call("DescribeCluster", "GET", "/v3/clusters/nosuch").status == 404)

            // The dashboard in headless Chromium: the cluster in the list, its page (status, head node, Slurm's
            // nodes and queue), the fleet stopped and started with its buttons, a bad config's dry run showing
            // each finding at its line and column of the body's clusterConfiguration.
            try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "scripts/test installs chromium-driver")
            let badFile = state.appendingPathComponent("bad.yaml").path
            try configuration.replacingOccurrences(of: "MaxCount: 2", with: "MaxCount: -1").write(toFile: badFile, atomically: true, encoding: .utf8)
            let browser = try await onOwnThread { [environment] in
                try runCommandBlocking(
                    [
                        Self.repository.appendingPathComponent(".build/api-tools/bin/python").path,
                        Self.repository.appendingPathComponent("scripts/api/browser.py").path, "http://127.0.0.1:\(port)", token, name, badFile,
                    ], environment: environment)
            }
            let shown = try JSONValue.parse(String(decoding: browser.stdout, as: UTF8.self))
            #expect(browser.status == 0 && shown["error"] == nil, "\(shown)\n\(browser.stderr)")
            #expect(shown["clustersRow"]?.stringValue?.contains("CREATE_COMPLETE") == true, "\(shown)")
            #expect(shown["status"] == "CREATE_COMPLETE" && shown["instances"]?.arrayValue?.count == 1, "\(shown)")
            #expect(
                shown["nodes"]?.arrayValue?.compactMap(\.stringValue).map { $0.split(separator: " ").first.map(String.init) ?? "" }
                    == ["c6i-dy-compute-1", "c6i-dy-compute-2"], "\(shown)")
            #expect(shown["queues"]?.arrayValue?.first?.stringValue?.hasPrefix("c6i") == true, "\(shown)")
            #expect(shown["stopped"] == "STOPPED" && shown["started"] == "RUNNING", "\(shown)")
            // The cluster's logs: its streams, and the last lines of slurmctld's.
            #expect(shown["logStreams"]?.arrayValue?.isEmpty == false && (shown["logLines"]?.intValue ?? 0) > 0, "\(shown)")
            let findings = shown["findings"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let maxLine = (configuration.components(separatedBy: "\n").firstIndex { $0.contains("MaxCount: 2") } ?? -2) + 1
            #expect(
                findings.contains { $0.hasPrefix("ERROR clusterConfiguration:\(maxLine):") && $0.contains("MaxCount must be at least 1") },
                "\(findings)")
            // Without the token the dashboard's questions are refused like the API's.
            let refused = try await call("ListClusters", "GET", "/dashboard/clusters/\(name)/slurm", unsigned: true)
            #expect(refused.status == 401, "\(refused)")

            // The fleet stopped (204, which HTTP sends without a body), then an update that needs it stopped: a
            // third node.
            let stop = try await call("UpdateComputeFleet", "PATCH", "/v3/clusters/\(name)/computefleet", body: ["status": "STOP_REQUESTED"])
            #expect(stop.status == 204 && stop.body == .null, "\(stop)")
            var fleet = try await call("DescribeComputeFleet", "GET", "/v3/clusters/\(name)/computefleet")
            for _ in 0..<60 where fleet.body["status"] != "STOPPED" {
                try await Task.sleep(nanoseconds: 500_000_000)
                fleet = try await call("DescribeComputeFleet", "GET", "/v3/clusters/\(name)/computefleet")
            }
            #expect(fleet.body["status"] == "STOPPED", "\(fleet)")
            let update: JSONValue = ["clusterConfiguration": .string(configuration.replacingOccurrences(of: "MaxCount: 2", with: "MaxCount: 3"))]
            let updated = try await call("UpdateCluster", "PUT", "/v3/clusters/\(name)", body: update)
            #expect(updated.status == 202 && updated.body["changeSet"]?.arrayValue?.count == 1, "\(updated)")
            described = try await call("DescribeCluster", "GET", "/v3/clusters/\(name)")
            for _ in 0..<120 where described.body["clusterStatus"] == "UPDATE_IN_PROGRESS" {
                try await Task.sleep(nanoseconds: 500_000_000)
                described = try await call("DescribeCluster", "GET", "/v3/clusters/\(name)")
            }
            #expect(described.body["clusterStatus"] == "UPDATE_COMPLETE", "\(described)")
            let unchanged = try await call("UpdateCluster", "PUT", "/v3/clusters/\(name)", body: update)
            #expect(unchanged.status == 400, "\(unchanged)")

            // dcv-connect: the head node's desktop in the browser, through a one-time URL on the config's
            // HeadNode.Dcv.Port. The URL works once; a token it did not issue connects to nothing.
            let dcv = try ClustersAsRoot.run(
                [Self.directory.appendingPathComponent("pcluster").path, "dcv-connect", "-n", name, "--show-url"], environment: environment,
                in: state.path)
            let lines = dcv.stdout.split(separator: "\n").map(String.init)
            #expect(dcv.status == 0 && lines.first == "Please use the following one-time URL in your browser within 30 seconds:", "\(dcv)")
            let url = lines.last ?? ""
            #expect(url.hasPrefix("http://127.0.0.1:\(dcvPort)/vnc.html?"), "\(url)")
            func desktop(_ url: String, refused: Bool) async throws -> JSONValue {
                let line =
                    [
                        Self.repository.appendingPathComponent(".build/api-tools/bin/python").path,
                        Self.repository.appendingPathComponent("scripts/api/browser_desktop.py").path, url,
                    ] + (refused ? ["--expect-refused"] : [])
                let result = try await runCommand(line, environment: environment)
                return try JSONValue.parse(String(decoding: result.stdout, as: UTF8.self))
            }
            let connected = try await desktop(url, refused: false)
            #expect(connected["connected"] == true && connected["canvas"] == [1280, 800], "\(connected)")
            // One-time: the same URL again connects to nothing.
            let reused = try await desktop(url, refused: true)
            #expect(reused["connected"] == false && reused["error"] == nil, "\(reused)")
            let forgedURL = url.replacingOccurrences(of: #"token%3D[0-9a-f]+"#, with: "token%3D0123456789abcdef", options: .regularExpression)
            let stranger = try await desktop(forgedURL, refused: true)
            #expect(stranger["connected"] == false && stranger["error"] == nil, "\(stranger)")
            // Only websockify listens, on 127.0.0.1; the VNC server is on a socket only root can reach.
            let desktopPids = ((try? FileManager.default.contentsOfDirectory(atPath: state.path + "/regions/us-east-1/\(name)/desktop")) ?? [])
                .filter { $0.hasSuffix(".pid") }
                .compactMap { ProcessControl.readPid(state.path + "/regions/us-east-1/\(name)/desktop/" + $0) }
            #expect(desktopPids.count == 4, "\(desktopPids)")

            // Delete returns at once (202, DELETE_IN_PROGRESS); then the cluster is gone.
            let deleted = try await call("DeleteCluster", "DELETE", "/v3/clusters/\(name)")
            #expect(deleted.status == 202 && deleted.body["cluster"]?["clusterStatus"] == "DELETE_IN_PROGRESS", "\(deleted)")
            var gone = try await call("DescribeCluster", "GET", "/v3/clusters/\(name)")
            for _ in 0..<120 where gone.status == 200 {
                try await Task.sleep(nanoseconds: 500_000_000)
                gone = try await call("DescribeCluster", "GET", "/v3/clusters/\(name)")
            }
            #expect(gone.status == 404, "\(gone)")
            // The desktop went with it (its processes were in the cluster's cgroup).
            #expect(desktopPids.allSatisfy { !ProcessControl.isAlive($0) } && !PortAllocator.isListening(dcvPort), "\(desktopPids)")

            // Every answer above, as the original's openapi.yaml and models read it.
            checked.removeAll { $0.answer.status == 204 }
            let documents = checked.map { (model: Self.model($0.operation, $0.answer.status), json: JSONPrinter.render($0.answer.body, indent: 0)) }
            for ((operation, answer), problems) in zip(checked, try await OracleResponses.problems(documents)) {
                #expect(problems.isEmpty, "\(operation) \(answer.status): \(problems.joined(separator: "\n"))")
            }
        }
    }
}
