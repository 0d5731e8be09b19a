import ClusterConfig
import Foundation
import JSONOutput
import Provisioning
import TestSupport
import Testing

@testable import PClusterCLI

/// Our JSON as the original's own response models and openapi.yaml read it: what commands print
/// without a running cluster (records, dry runs, refusals). The local cluster's and the AWS provider's
/// outputs are checked where those clusters run.
@Suite struct ResponseModelTests {
    let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-models-\(UUID().uuidString)")
    var env: [String: String] {
        [
            "SUBNET_ID": "subnet-0123456789abcdef0", "FSX_FS_ID": "fs-0123456789abcdef0", "PCLUSTER_STATE_DIR": stateDir.path, "HOME": "/root",
            "AWS_ENDPOINT_URL_FSX": "http://127.0.0.1:\(freeLocalPort())",
        ]
    }

    @Test(.enabled(if: OracleResponses.python != nil, "the original is not installed: run scripts/oracle/setup"))
    func outputsLoadWithTheOriginalsModels() async throws {
        defer { try? FileManager.default.removeItem(at: stateDir) }
        let example = CLITests.example
        let current = try String(contentsOfFile: example, encoding: .utf8)
        // Five characters at least: the original's generated models refuse shorter names (its spec does not).
        let now = Date()
        try ClusterStore(root: stateDir).save(
            ClusterRecord(
                name: "demo-cluster", region: "us-east-1", version: PClusterVersion.original, clusterStatus: .createComplete,
                computeFleetStatus: .running, creationTime: now, lastUpdatedTime: now, provider: .local),
            configuration: current)
        let bigger = stateDir.appendingPathComponent("bigger.yaml")
        try current.replacingOccurrences(of: "MaxCount: 2", with: "MaxCount: 4").write(to: bigger, atomically: true, encoding: .utf8)
        let headChange = stateDir.appendingPathComponent("head.yaml")
        try current.replacingOccurrences(of: "c6i.2xlarge", with: "c6i.4xlarge").write(to: headChange, atomically: true, encoding: .utf8)
        let broken = stateDir.appendingPathComponent("broken.yaml")
        try current.replacingOccurrences(of: "MaxCount: 2", with: "MaxCont: 2").write(to: broken, atomically: true, encoding: .utf8)

        let cases: [(String, [String])] = [
            ("ListClustersResponseContent", ["list-clusters"]),
            ("DescribeClusterResponseContent", ["describe-cluster", "-n", "demo-cluster"]),
            ("DescribeComputeFleetResponseContent", ["describe-compute-fleet", "-n", "demo-cluster"]),
            ("DescribeClusterInstancesResponseContent", ["describe-cluster-instances", "-n", "demo-cluster"]),
            ("DryrunOperationExceptionResponseContent", ["create-cluster", "-n", "other", "-c", example, "--dryrun", "true"]),
            ("CreateClusterBadRequestExceptionResponseContent", ["create-cluster", "-n", "other", "-c", broken.path, "--dryrun", "true"]),
            ("DryrunOperationExceptionResponseContent", ["update-cluster", "-n", "demo-cluster", "-c", bigger.path, "--dryrun", "true"]),
            ("UpdateClusterBadRequestExceptionResponseContent", ["update-cluster", "-n", "demo-cluster", "-c", headChange.path, "--dryrun", "true"]),
            ("NotFoundExceptionResponseContent", ["describe-cluster", "-n", "ghost"]),
            ("BadRequestExceptionResponseContent", ["describe-cluster", "-n", "1bad"]),
        ]
        var documents: [(model: String, json: String)] = []
        for (model, args) in cases {
            let result = await PClusterCLI.run(args, environment: env)
            #expect(!result.stdout.isEmpty, "\(args): \(result.stderr)")
            documents.append((model, result.stdout))
        }
        let problems = try await OracleResponses.problems(documents)
        for ((model, args), found) in zip(cases, problems) {
            #expect(found.isEmpty, "\(args.joined(separator: " ")) as \(model):\n\(found.joined(separator: "\n"))")
        }
    }

    /// Change sets carry values as the original writes them: Python's str() of the YAML value, `-` for none.
    @Test func changeSetValuesAreWrittenAsPythonWritesThem() async throws {
        let values: [JSONValue] = [
            2, true, .null, "x", ["a", "b'c", "d\"e"], ["Name": "q2", "Max": 1.5, "On": false, "Sub": [1, 2]], 2.0, 0.1, [:], [],
        ]
        let output = try await python(
            "import json, sys; print(json.dumps(['-' if v is None else str(v) for v in json.load(sys.stdin)]))",
            input: Data(JSONPrinter.render(.array(values), indent: nil).utf8))
        let expected = try JSONDecoder().decode([String].self, from: output)
        #expect(values.map(PythonText.str) == expected)
    }
}
